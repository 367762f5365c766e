#!/usr/bin/env bash
# IKE SA setup rate on a hub (a measurement, not a test): one responder IKEv2 engine with a
# wildcard pre-shared key and 2000 initiator engines (distinct spoke addresses) in one
# process, datagrams moved in memory (no sockets). Prints, per DH group (19, 31, 14) and
# cipher (AES-GCM-256, AES-CBC-256 + HMAC-SHA-256), the IKE SAs (IKE_SA_INIT + IKE_AUTH
# with the first Child SA) the responder sets up per CPU-second, counting its own calls
# only. Method: crates/ike/examples/ike_rate.rs. Extra arguments go to the benchmark
# (--sas N, --rounds R, --groups 19,31,14, --ciphers gcm,cbc).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
cargo build --release --quiet -p dmvpn-ike --example ike_rate
exec "$target/release/examples/ike_rate" "$@"
