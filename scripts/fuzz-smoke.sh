#!/usr/bin/env bash
# Fuzz smoke test: runs every cargo-fuzz target in fuzz/ for a bounded time.
#
#   FUZZ_SECONDS   seconds per target (default 20)
#   FUZZ_SANITIZER sanitizer for cargo fuzz -s (default address; "none" is faster)
#   FUZZ_TARGETS   space-separated subset of targets (default: every target of
#                  `cargo fuzz list`)
#   FUZZ_TARGET_DIR cargo target directory (default fuzz/target)
#
# Works on the stable toolchain (RUSTC_BOOTSTRAP=1 unlocks the -Z flags cargo
# fuzz needs). Each target starts from its committed seed corpus
# (fuzz/seeds/<target>/, read only) plus a scratch corpus that is thrown away.
# Exits non-zero when any target crashes, leaks, times out or fails to build;
# the crashing input is kept in fuzz/artifacts/<target>/ and the end of the
# fuzzer's log is printed.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${FUZZ_SECONDS:-20}"
sanitizer="${FUZZ_SANITIZER:-address}"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$PWD/fuzz/target}"

if [ ! -f fuzz/Cargo.toml ]; then
    echo "fuzz-smoke: no fuzz/Cargo.toml" >&2
    exit 1
fi
if ! command -v cargo-fuzz >/dev/null; then
    cargo install cargo-fuzz --locked
fi

start=$(date +%s)
targets="${FUZZ_TARGETS:-$(cargo fuzz list)}"
if [ -z "$targets" ]; then
    echo "fuzz-smoke: no fuzz targets found" >&2
    exit 1
fi
echo "== building fuzz targets (sanitizer: $sanitizer)"
if ! cargo fuzz build -s "$sanitizer"; then
    echo "fuzz-smoke: FAILED to build the fuzz targets" >&2
    exit 1
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=()
for t in $targets; do
    echo "== fuzz $t for ${secs}s"
    mkdir -p "$scratch/$t" "fuzz/seeds/$t"
    log="$scratch/$t.log"
    if cargo fuzz run -s "$sanitizer" "$t" "$scratch/$t" "fuzz/seeds/$t" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        >"$log" 2>&1; then
        grep -E '^(Done|#[0-9]+ +DONE)|stat::number_of_executed_units' "$log" | tail -n 2 || true
    else
        echo "!! fuzz target $t FAILED; end of its log:" >&2
        tail -n 40 "$log" >&2
        failed+=("$t")
    fi
done

echo "== fuzz smoke took $(( $(date +%s) - start ))s for $(echo $targets | wc -w) targets"
if [ "${#failed[@]}" -ne 0 ]; then
    echo "fuzz-smoke: FAILED targets: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz-smoke: all targets ran without a crash"
