#!/usr/bin/env bash
# Installs what the tests need, then runs every test:
#   1. the written rules: cargo fmt --check, cargo clippy (all targets, warnings denied,
#      with the workspace lints of Cargo.toml), cargo doc (warnings denied);
#   2. cargo test for the whole workspace (unit, property, capture/tshark, simulator,
#      node core, and the network-namespace tests of the data plane, daemon and lab, which
#      need root);
#   3. the fuzz stage: every committed corpus and regression input replayed through its
#      target, then a bounded run with fixed seeds (scripts/fuzz-smoke.sh);
#   4. the FRR nhrpd interop matrix in the kernel-lab VM (scripts/interop.sh).
# Exits non-zero when any test fails. Usage (as root): scripts/test-all.sh
# CI calls it through .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
export DMVPN_REQUIRE_SHARED="${DMVPN_REQUIRE_SHARED:-1}"
export DMVPN_REQUIRE_ROOT="${DMVPN_REQUIRE_ROOT:-1}"
export CARGO_TERM_COLOR=never

if [ "$(id -u)" != 0 ]; then
    echo "test-all: the namespace and VM tests need root; run it as root (sudo $0)" >&2
    exit 2
fi

# System packages the tests use.
need=()
command -v tshark >/dev/null || need+=(tshark)
command -v ip >/dev/null || need+=(iproute2)
command -v ping >/dev/null || need+=(iputils-ping)
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v nft >/dev/null || need+=(nftables)
command -v python3 >/dev/null || need+=(python3)
# FRR's zebra, bgpd and ospfd run over our tunnels in the routing tests (not as a service).
[ -x /usr/lib/frr/bgpd ] && [ -x /usr/lib/frr/ospfd ] && command -v vtysh >/dev/null || need+=(frr)
if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections || true
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
fi

stage() { echo; echo "== $* ($(date -u +%H:%M:%S))"; }

stage "rules: cargo fmt --check"
cargo fmt --all -- --check

stage "rules: cargo clippy (all targets, -D warnings)"
cargo clippy --workspace --all-targets -- -D warnings 2>&1

stage "rules: cargo doc (warnings denied)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps 2>&1

stage "cargo test (workspace, release)"
cargo test --workspace --release --no-fail-fast 2>&1

stage "fuzz smoke (every target, bounded)"
scripts/fuzz-smoke.sh

stage "FRR interop matrix (kernel-lab VM)"
scripts/interop.sh

stage "all tests passed"
