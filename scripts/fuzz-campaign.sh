#!/usr/bin/env bash
# A longer, random fuzz campaign (not part of the test command; see
# docs/fuzzing.md). Every target runs for a time budget with a random seed
# (printed, so a run can be repeated with FUZZ_SEED), starting from the
# committed inputs (fuzz/seeds/<target>/, fuzz/regressions/<target>/, read
# only) and a persistent local corpus (fuzz/corpus/<target>/, not committed).
# A crash, leak or timeout stops that target; its input is copied into
# fuzz/regressions/<target>/ so that the fuzz stage of the test command
# replays it from then on, and the campaign goes on with the next target.
#
#   FUZZ_SECONDS    time budget per target (default 600)
#   FUZZ_RUNS       execution budget per target instead of time (default unset)
#   FUZZ_SEED       libFuzzer seed (default: a random one per target)
#   FUZZ_JOBS       parallel fuzzing processes per target (default 1)
#   FUZZ_SANITIZER  sanitizer for cargo fuzz -s (default address)
#   FUZZ_TARGETS    space-separated subset of targets (default: every target)
#   FUZZ_TARGET_DIR cargo target directory (default fuzz/target)
#
# Exits non-zero when any target found something; commit the new regression
# inputs together with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${FUZZ_SECONDS:-600}"
jobs="${FUZZ_JOBS:-1}"
sanitizer="${FUZZ_SANITIZER:-address}"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$PWD/fuzz/target}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_odr_violation=0}"
triple="$(rustc -vV | sed -n 's/^host: //p')"

if ! command -v cargo-fuzz >/dev/null; then
    cargo install cargo-fuzz --locked
fi
targets="${FUZZ_TARGETS:-$(cargo fuzz list)}"
# Same build flags as scripts/fuzz-smoke.sh, so the two share one build.
cargo fuzz build -s "$sanitizer" --codegen-units 16
bin_dir="$CARGO_TARGET_DIR/$triple/release"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
found=()
start=$(date +%s)
for t in $targets; do
    mkdir -p "fuzz/corpus/$t" "fuzz/seeds/$t" "fuzz/artifacts/$t"
    dirs=("fuzz/corpus/$t" "fuzz/seeds/$t")
    [ -d "fuzz/regressions/$t" ] && dirs+=("fuzz/regressions/$t")
    seed="${FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"
    budget=(-max_total_time="$secs")
    what="${secs}s"
    if [ -n "${FUZZ_RUNS:-}" ]; then
        budget=(-runs="$FUZZ_RUNS")
        what="$FUZZ_RUNS runs"
    fi
    parallel=()
    if [ "$jobs" -gt 1 ]; then
        parallel=(-fork="$jobs")
    fi
    before=$(find "fuzz/artifacts/$t" -type f | sort)
    log="$scratch/$t.log"
    echo "== $t: $what, seed $seed, corpus $(find "${dirs[@]}" -type f | wc -l) inputs"
    if "$bin_dir/$t" -seed="$seed" "${budget[@]}" "${parallel[@]}" \
        -artifact_prefix="fuzz/artifacts/$t/" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 "${dirs[@]}" >"$log" 2>&1; then
        grep -E 'stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)|^#[0-9]+ +DONE' \
            "$log" | tail -n 5 || true
        continue
    fi
    echo "!! $t FAILED (seed $seed); end of its log:" >&2
    tail -n 40 "$log" >&2
    mkdir -p "fuzz/regressions/$t"
    while IFS= read -r input; do
        [ -n "$input" ] || continue
        if ! grep -qxF "$input" <<<"$before"; then
            cp "$input" "fuzz/regressions/$t/"
            echo "   new regression input: fuzz/regressions/$t/$(basename "$input")" >&2
        fi
    done < <(find "fuzz/artifacts/$t" -type f | sort)
    found+=("$t")
done

echo "== fuzz campaign took $(($(date +%s) - start))s for $(echo $targets | wc -w) targets"
if [ "${#found[@]}" -ne 0 ]; then
    echo "fuzz-campaign: found problems in: ${found[*]}" >&2
    exit 1
fi
echo "fuzz-campaign: no target crashed"
