#!/usr/bin/env bash
# Hub restart storm (issue 16, part 2), with real daemons: N spokes in network namespaces
# (IPsec on), every one registered; then the hub's daemon is killed (SIGKILL) and started
# again, and the time until every spoke is registered and protected again is measured, with
# the restarted hub's CPU seconds and the Registration Requests it received.
# Not a test: run on demand, as root. Figures go in the README.
#   usage: scripts/bench-restart-storm.sh [SPOKES [REGISTRATION_TIMEOUT_S]]   (default 200, 10)
set -euo pipefail
cd "$(dirname "$0")/.."
SPOKES=${1:-200}
RT=${2:-10}
[ "$(id -u)" = 0 ] || { echo "bench-restart-storm: needs root (namespaces)" >&2; exit 2; }
cargo build --release -p dmvpn --quiet
BIN=${CARGO_TARGET_DIR:-target}/release/dmvpn
echo "# $(date -u +%Y-%m-%d) $(nproc) cores; $BIN bench storm --spokes $SPOKES --registration-timeout $RT"
"$BIN" bench storm --spokes "$SPOKES" --registration-timeout "$RT" --json
