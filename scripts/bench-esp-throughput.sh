#!/usr/bin/env bash
# ESP throughput benchmark (a measurement, not a test). First, TCP through the userspace data
# plane: a two-spoke phase-3 lab in network namespaces per mode (plain GRE, ESP esp-gcm 256,
# ESP esp-aes 256 esp-sha256-hmac); once the spokes' shortcut carries the traffic, iperf3
# sends TCP for 10 s from the host behind spoke 1 to the host behind spoke 2, 3 runs; prints
# Mbit/s per run and the median; the labs are up together and the runs take turns (method:
# crates/lab/examples/esp_throughput.rs). Then the
# crypto alone: single-core ESP encapsulation and decapsulation of 1400-byte packets per
# transform, in memory (crates/esp/examples/esp_seal.rs). Run as root; installs iproute2,
# iputils-ping and iperf3 when missing. Extra arguments go to the lab benchmark (default:
# --modes gre,gcm,cbc --runs 3 --seconds 10).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
    echo "bench-esp-throughput: the lab builds network namespaces and TUN devices; run it as root" >&2
    exit 2
fi
need=()
command -v ip >/dev/null || need+=(iproute2)
command -v ping >/dev/null || need+=(iputils-ping)
command -v iperf3 >/dev/null || need+=(iperf3)
if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
fi
target="${CARGO_TARGET_DIR:-target}"
cargo build --release --quiet -p dmvpn
cargo build --release --quiet -p dmvpn-lab --example esp_throughput
cargo build --release --quiet -p dmvpn-esp --example esp_seal
if [ $# -eq 0 ]; then set -- --modes gre,gcm,cbc --runs 3 --seconds 10; fi
"$target/release/examples/esp_throughput" --exe "$target/release/dmvpn" "$@"
echo
"$target/release/examples/esp_seal"
