#!/usr/bin/env bash
# The fuzz stage of the test command (so of CI). Deterministic: it passes or
# fails on the code, never on luck. Steps:
#   1. the capture reader's regression tests in the debug profile, where
#      overflow checks are on in every crate, pcap-parser included
#      (cargo test -p dmvpn-capture --test regressions);
#   2. build every cargo-fuzz target (address sanitizer, debug assertions and
#      overflow checks on);
#   3. replay: every committed input, fuzz/seeds/<target>/ and
#      fuzz/regressions/<target>/, runs once through its target (libFuzzer
#      -runs=0 over those directories);
#   4. a bounded run per target from the same inputs with a fixed seed and a
#      fixed number of executions (-seed, -runs; no wall-clock limit, no corpus
#      reload), so two runs on the same code do the same thing. Two more
#      sources of chance are removed: address-space randomisation (setarch -R;
#      compared pointers feed libFuzzer's comparison tables) and the random
#      keys of std's HashMap (fuzz/support/fixed_getrandom.c, preloaded into
#      the fuzz binaries only). Where the machine forbids turning address
#      randomisation off, the run goes on without it and says so.
#
#   FUZZ_RUNS       executions of the bounded run, per target (default: the
#                   per-target figures below, chosen to take ~10 s each here)
#   FUZZ_SEED       libFuzzer seed of the bounded run (default 1)
#   FUZZ_SANITIZER  sanitizer for cargo fuzz -s (default address; "none" is faster)
#   FUZZ_TARGETS    space-separated subset of targets (default: every target of
#                   `cargo fuzz list`)
#   FUZZ_TARGET_DIR cargo target directory (default fuzz/target)
#
# Works on the stable toolchain (RUSTC_BOOTSTRAP=1 unlocks the -Z flags cargo
# fuzz needs). The committed directories are only read: new inputs the bounded
# run finds go to a scratch directory that is thrown away. Exits non-zero when
# any step fails; a crashing input is kept in fuzz/artifacts/<target>/ and the
# end of the fuzzer's log is printed. Longer, random campaigns are a separate
# command, scripts/fuzz-campaign.sh (see docs/fuzzing.md).
set -euo pipefail
cd "$(dirname "$0")/.."

seed="${FUZZ_SEED:-1}"
sanitizer="${FUZZ_SANITIZER:-address}"
export RUSTC_BOOTSTRAP=1
fuzz_target_dir="${FUZZ_TARGET_DIR:-$PWD/fuzz/target}"
triple="$(rustc -vV | sed -n 's/^host: //p')"
# cargo fuzz builds with this; the sanitizer runtime wants it at run time too.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_odr_violation=0}"

# Executions of the bounded run per target: 10 s or less each on a 2-core
# machine with the address sanitizer (the engine target is the slowest).
runs_for() {
    if [ -n "${FUZZ_RUNS:-}" ]; then
        echo "$FUZZ_RUNS"
        return
    fi
    case "$1" in
        nhrp_engine) echo 5000 ;;
        ike_engine) echo 7000 ;;
        ike_wire) echo 20000 ;;
        config_parse) echo 3000 ;;
        capture_reader) echo 20000 ;;
        *) echo 30000 ;;
    esac
}

if [ ! -f fuzz/Cargo.toml ]; then
    echo "fuzz-smoke: no fuzz/Cargo.toml" >&2
    exit 1
fi
if ! command -v cargo-fuzz >/dev/null; then
    cargo install cargo-fuzz --locked
fi

start=$(date +%s)

echo "== capture regression tests, debug profile (overflow checks on)"
if ! cargo test -p dmvpn-capture --test regressions; then
    echo "fuzz-smoke: FAILED: the capture regression tests (debug profile)" >&2
    exit 1
fi

export CARGO_TARGET_DIR="$fuzz_target_dir"
targets="${FUZZ_TARGETS:-$(cargo fuzz list)}"
if [ -z "$targets" ]; then
    echo "fuzz-smoke: no fuzz targets found" >&2
    exit 1
fi
echo "== building fuzz targets (sanitizer: $sanitizer)"
# 16 codegen units: the build is most of this stage's time on 2 cores.
if ! cargo fuzz build -s "$sanitizer" --codegen-units 16; then
    echo "fuzz-smoke: FAILED to build the fuzz targets" >&2
    exit 1
fi
bin_dir="$CARGO_TARGET_DIR/$triple/release"
built=$(date +%s)

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=()

# Determinism: fixed HashMap keys, and no address-space randomisation.
wrap=()
if cc -shared -fPIC -O2 -o "$scratch/fixed_getrandom.so" fuzz/support/fixed_getrandom.c; then
    wrap+=(env LD_PRELOAD="$scratch/fixed_getrandom.so")
else
    echo "fuzz-smoke: note: no C compiler for fuzz/support/fixed_getrandom.c; HashMap keys stay random" >&2
fi
if setarch "$(uname -m)" -R true 2>/dev/null; then
    wrap=(setarch "$(uname -m)" -R "${wrap[@]}")
else
    echo "fuzz-smoke: note: address-space randomisation cannot be turned off here; runs may differ slightly" >&2
fi

# The committed input directories of a target (seeds always, regressions when present).
inputs_of() {
    mkdir -p "fuzz/seeds/$1"
    echo "fuzz/seeds/$1"
    if [ -d "fuzz/regressions/$1" ]; then
        echo "fuzz/regressions/$1"
    fi
}

# run_fuzzer TARGET LOG ARGS...: runs the target binary; on failure prints the
# end of its log and records the target.
run_fuzzer() {
    local t="$1" log="$2"
    shift 2
    mkdir -p "fuzz/artifacts/$t"
    if "${wrap[@]}" "$bin_dir/$t" -artifact_prefix="fuzz/artifacts/$t/" -rss_limit_mb=2048 -timeout=10 \
        "$@" >"$log" 2>&1; then
        return 0
    fi
    echo "!! fuzz target $t FAILED; end of its log:" >&2
    tail -n 40 "$log" >&2
    echo "   the input is in fuzz/artifacts/$t/; once fixed, add it to fuzz/regressions/$t/" >&2
    failed+=("$t")
    return 1
}

for t in $targets; do
    if [ ! -x "$bin_dir/$t" ]; then
        echo "fuzz-smoke: no binary for target $t in $bin_dir" >&2
        failed+=("$t")
        continue
    fi
    mapfile -t dirs < <(inputs_of "$t")
    count=$(find "${dirs[@]}" -type f | wc -l)
    mkdir -p "$scratch/$t"

    echo "== replay $t: $count committed inputs (${dirs[*]})"
    run_fuzzer "$t" "$scratch/$t.replay.log" -runs=0 "$scratch/$t" "${dirs[@]}" || continue

    runs=$(runs_for "$t")
    echo "== fuzz $t: $runs runs, seed $seed"
    if run_fuzzer "$t" "$scratch/$t.log" -seed="$seed" -runs="$runs" -reload=0 \
        -print_final_stats=1 "$scratch/$t" "${dirs[@]}"; then
        grep -E '^Done|stat::(new_units_added|peak_rss_mb)' "$scratch/$t.log" | tail -n 3 || true
    fi
done

end=$(date +%s)
echo "== fuzz smoke took $((end - start))s ($((built - start))s tests and build, $((end - built))s replay and runs) for $(echo $targets | wc -w) targets"
if [ "${#failed[@]}" -ne 0 ]; then
    echo "fuzz-smoke: FAILED targets: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz-smoke: every committed input replayed and every bounded run passed"
