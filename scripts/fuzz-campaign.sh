#!/usr/bin/env bash
# A long fuzz campaign (not part of the test command; see docs/fuzzing.md and
# docs/hardening.md). Every target runs for an execution budget (default
# 10,000,000 executions) with a fixed seed (default 1, so a campaign can be
# repeated), starting from the committed inputs (fuzz/seeds/<target>/,
# fuzz/regressions/<target>/, read only) and a persistent local corpus
# (fuzz/corpus/<target>/, not committed). As in scripts/fuzz-smoke.sh, the
# address-space randomisation and std's HashMap keys are fixed where the
# machine allows, so the same seed does the same thing.
#
# The figures of each target (executions, executions per second, coverage
# and features, corpus size, peak RSS, crashes, wall time) are appended to a
# results file as a Markdown table row. A crash, leak or timeout stops that
# target; its input is copied into fuzz/regressions/<target>/ (the regression
# corpus the test command replays) and the campaign goes on with the next
# target.
#
#   FUZZ_RUNS       executions per target (default 10000000)
#   FUZZ_SECONDS    a time budget per target instead of FUZZ_RUNS (default unset)
#   FUZZ_SEED       libFuzzer seed (default 1; "random" for a random one per target)
#   FUZZ_JOBS       parallel fuzzing processes per target (default 1; libFuzzer -fork)
#   FUZZ_SANITIZER  sanitizer for cargo fuzz -s (default address; "none" is faster)
#   FUZZ_TARGETS    space-separated subset of targets (default: every target)
#   FUZZ_TARGET_DIR cargo target directory (default fuzz/target)
#   FUZZ_RESULTS    results file (default fuzz/campaign-results.md)
#   FUZZ_NICE       nice level of the fuzzers (default 19: the machine is shared)
#
# Exits non-zero when any target found something; commit the new regression
# inputs together with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${FUZZ_RUNS:-10000000}"
jobs="${FUZZ_JOBS:-1}"
sanitizer="${FUZZ_SANITIZER:-address}"
results="${FUZZ_RESULTS:-fuzz/campaign-results.md}"
niceness="${FUZZ_NICE:-19}"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$PWD/fuzz/target}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_odr_violation=0}"
triple="$(rustc -vV | sed -n 's/^host: //p')"

if ! command -v cargo-fuzz >/dev/null; then
    cargo install cargo-fuzz --locked
fi
targets="${FUZZ_TARGETS:-$(cargo fuzz list)}"
# Same build flags as scripts/fuzz-smoke.sh, so the two share one build; only the
# chosen targets when FUZZ_TARGETS names some.
if [ -n "${FUZZ_TARGETS:-}" ]; then
    for t in $targets; do
        nice -n "$niceness" cargo fuzz build -s "$sanitizer" --codegen-units 16 "$t"
    done
else
    nice -n "$niceness" cargo fuzz build -s "$sanitizer" --codegen-units 16
fi
bin_dir="$CARGO_TARGET_DIR/$triple/release"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Determinism, as in fuzz-smoke.sh: fixed HashMap keys, no address-space randomisation.
wrap=(nice -n "$niceness")
if cc -shared -fPIC -O2 -o "$scratch/fixed_getrandom.so" fuzz/support/fixed_getrandom.c 2>/dev/null; then
    wrap+=(env LD_PRELOAD="$scratch/fixed_getrandom.so")
fi
if setarch "$(uname -m)" -R true 2>/dev/null; then
    wrap=(setarch "$(uname -m)" -R "${wrap[@]}")
fi

if [ ! -s "$results" ]; then
    mkdir -p "$(dirname "$results")"
    {
        echo "| date | commit | target | sanitizer | seed | executions | exec/s | cov | ft | corpus | peak RSS MB | crashes | seconds |"
        echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    } >"$results"
fi
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"

# stat NAME LOG: the value of libFuzzer's final `stat::NAME:` line.
stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -n 1; }

found=()
start=$(date +%s)
for t in $targets; do
    mkdir -p "fuzz/corpus/$t" "fuzz/seeds/$t" "fuzz/artifacts/$t"
    dirs=("fuzz/corpus/$t" "fuzz/seeds/$t")
    [ -d "fuzz/regressions/$t" ] && dirs+=("fuzz/regressions/$t")
    seed="${FUZZ_SEED:-1}"
    if [ "$seed" = random ]; then
        seed="$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')"
    fi
    budget=(-runs="$runs")
    what="$runs runs"
    if [ -n "${FUZZ_SECONDS:-}" ]; then
        budget=(-max_total_time="$FUZZ_SECONDS")
        what="${FUZZ_SECONDS}s"
    fi
    parallel=()
    if [ "$jobs" -gt 1 ]; then
        parallel=(-fork="$jobs")
    fi
    before=$(find "fuzz/artifacts/$t" -type f | sort)
    log="$scratch/$t.log"
    echo "== $t: $what, seed $seed, corpus $(find "${dirs[@]}" -type f | wc -l) inputs"
    t0=$(date +%s)
    status=0
    "${wrap[@]}" "$bin_dir/$t" -seed="$seed" "${budget[@]}" "${parallel[@]}" \
        -artifact_prefix="fuzz/artifacts/$t/" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 "${dirs[@]}" >"$log" 2>&1 || status=$?
    secs=$(($(date +%s) - t0))
    crashes=0
    if [ "$status" -ne 0 ]; then
        echo "!! $t FAILED (seed $seed); end of its log:" >&2
        tail -n 40 "$log" >&2
        mkdir -p "fuzz/regressions/$t"
        while IFS= read -r input; do
            [ -n "$input" ] || continue
            if ! grep -qxF "$input" <<<"$before"; then
                cp "$input" "fuzz/regressions/$t/"
                crashes=$((crashes + 1))
                echo "   new regression input: fuzz/regressions/$t/$(basename "$input")" >&2
            fi
        done < <(find "fuzz/artifacts/$t" -type f | sort)
        [ "$crashes" -gt 0 ] || crashes=1
        found+=("$t")
    fi
    execs=$(stat number_of_executed_units "$log")
    rate=$(stat average_exec_per_sec "$log")
    rss=$(stat peak_rss_mb "$log")
    # The last status line: `#N DONE cov: C ft: F corp: U/…` (or the last pulse).
    last=$(grep -E '^#[0-9]+[[:space:]]' "$log" | tail -n 1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
    row="| $(date -u +%Y-%m-%d) | $commit | \`$t\` | $sanitizer | $seed | ${execs:-?} | ${rate:-?} | ${cov:-?} | ${ft:-?} | ${corp:-?} | ${rss:-?} | $crashes | $secs |"
    echo "$row" >>"$results"
    echo "$row"
done

echo "== fuzz campaign took $(($(date +%s) - start))s for $(echo $targets | wc -w) targets; figures in $results"
if [ "${#found[@]}" -ne 0 ]; then
    echo "fuzz-campaign: found problems in: ${found[*]}" >&2
    exit 1
fi
echo "fuzz-campaign: no target crashed"
