#!/usr/bin/env bash
# Installs what the tests need, then runs every test. Exits non-zero when any test fails.
# Usage: scripts/test-all.sh        (as root; CI calls it through .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."
export DMVPN_REQUIRE_SHARED="${DMVPN_REQUIRE_SHARED:-1}"
export CARGO_TERM_COLOR=never

# System packages the tests use.
need=()
command -v tshark >/dev/null || need+=(tshark)
command -v ip >/dev/null || need+=(iproute2)
command -v ping >/dev/null || need+=(iputils-ping)
command -v tcpdump >/dev/null || need+=(tcpdump)
if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections || true
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
fi

echo "== cargo test (workspace)"
cargo test --workspace --release 2>&1

echo "== fuzz smoke (bounded)"
scripts/fuzz-smoke.sh
