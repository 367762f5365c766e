#!/usr/bin/env bash
# Dual-hub failover benchmark (a measurement, not a test): seed 003's dual hub, single DMVPN
# layout in network namespaces; a 10 ms ping from the host behind spoke 1 to the hosts behind
# spokes 2 and 3 while the primary hub dies (power cut: NBMA link down, dmvpn and FRR
# killed). Prints, per run, how long traffic stopped with FRR BGP (timers 3/9 s) and with NHRP
# alone (device routes into the tunnel, NHS failover, registration timeout 5 s). Method:
# crates/lab/examples/failover.rs. Run as root; installs iproute2, iputils-ping and frr when
# missing. Extra arguments go to the benchmark (default: --mode both --runs 3).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
    echo "bench-failover: the lab builds network namespaces and TUN devices; run it as root" >&2
    exit 2
fi
need=()
command -v ip >/dev/null || need+=(iproute2)
command -v ping >/dev/null || need+=(iputils-ping)
[ -x /usr/lib/frr/bgpd ] && command -v vtysh >/dev/null || need+=(frr)
if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
fi
target="${CARGO_TARGET_DIR:-target}"
cargo build --release --quiet -p dmvpn
cargo build --release --quiet -p dmvpn-lab --example failover
if [ $# -eq 0 ]; then set -- --mode both --runs 3; fi
exec "$target/release/examples/failover" --exe "$target/release/dmvpn" "$@"
