#!/usr/bin/env bash
# First-packet benchmark (a measurement, not a test): a fresh two-spoke phase-3 lab in
# network namespaces per run, with IPsec (IKEv2 + ESP) and without (plain GRE); the host
# behind spoke 1 pings the host behind spoke 2 every 10 ms. Prints, per run, from the first
# echo request: the first IKE packet between the spokes, the first ESP (GRE) packet sent
# straight from spoke 1 to spoke 2 on the internet segment, when the echoes stop crossing
# the hub (requests, then both directions) and the echoes lost; then min/median/max.
# Method: crates/lab/examples/first_packet.rs. Run as root; installs iproute2, iputils-ping
# and tcpdump when missing. Extra arguments go to the benchmark (default: --mode both
# --runs 5; also --count ECHOES, --save-captures DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
    echo "bench-ipsec-first-packet: the lab builds network namespaces and TUN devices; run it as root" >&2
    exit 2
fi
need=()
command -v ip >/dev/null || need+=(iproute2)
command -v ping >/dev/null || need+=(iputils-ping)
command -v tcpdump >/dev/null || need+=(tcpdump)
if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
fi
target="${CARGO_TARGET_DIR:-target}"
cargo build --release --quiet -p dmvpn
cargo build --release --quiet -p dmvpn-lab --example first_packet
if [ $# -eq 0 ]; then set -- --mode both --runs 5; fi
exec "$target/release/examples/first_packet" --exe "$target/release/dmvpn" "$@"
