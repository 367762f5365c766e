#!/usr/bin/env bash
# Soak (issue 16, part 9): 50 spokes (real daemons, IPsec) whose shortcuts form and expire
# continuously (spokes' holdtime 60 s, random pairs pinging), for a bounded time; RSS, file
# descriptors, IKE SAs and shortcuts of the hub and one spoke sampled every 30 s (CSV). The
# curve must stay flat. Not a test: run on demand, as root; the curve goes in the README.
#   usage: scripts/bench-soak.sh [MINUTES [SPOKES]]   (default 30, 50)
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-30}
SPOKES=${2:-50}
[ "$(id -u)" = 0 ] || { echo "bench-soak: needs root (namespaces)" >&2; exit 2; }
cargo build --release -p dmvpn --quiet
BIN=${CARGO_TARGET_DIR:-target}/release/dmvpn
echo "# $(date -u +%Y-%m-%d) $(nproc) cores; $BIN bench soak --spokes $SPOKES --minutes $MINUTES"
"$BIN" bench soak --spokes "$SPOKES" --minutes "$MINUTES" --sample 30 --holdtime 60
