#!/usr/bin/env bash
# The main job: builds dmvpn and runs the lab demo (a hub and spokes in network namespaces,
# spoke-to-spoke tunnel creation as in Cisco's walk-through). Installs what the lab needs
# (iproute2, iputils-ping, tcpdump to show what crosses the internet segment) when missing. Run as root. Extra arguments go to `dmvpn lab`
# (default: --spokes 3 --phase 3).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
    echo "demo: the lab builds network namespaces and TUN devices; run it as root" >&2
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
cargo build --release -p dmvpn --quiet
if [ $# -eq 0 ]; then set -- --spokes 3 --phase 3; fi
exec target/release/dmvpn lab "$@"
