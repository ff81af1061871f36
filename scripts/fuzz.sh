#!/usr/bin/env bash
# Usage: scripts/fuzz.sh [SECONDS] [RUNS]
# Builds the libFuzzer targets of tests/fuzz with clang (ASan + UBSan, every finding fatal)
# into build-fuzz/ and runs each for SECONDS of wall time (default 20) or RUNS executions
# (when given, e.g. 1000000 for the record in docs/reliability.md), starting from its seeds
# (tests/fuzz/corpus/NAME) and regressions (tests/fuzz/regressions/NAME). Prints each target's
# executions; exits non-zero on any crash, leak, timeout or parser exception other than
# InputError. A failing input is kept in build-fuzz/artifacts/NAME/: copy it to
# tests/fuzz/regressions/NAME/ (ctest fuzz.replay.NAME then runs it in every build) and fix.
# FUZZ_TARGETS="trace arch" restricts the targets; CXX_FUZZ picks the compiler (clang++-14);
# FUZZ_SEED=N fixes libFuzzer's seed: with RUNS and a fresh build folder the run is then the
# same every time (CI uses this, so a red CI is never a fuzzing coincidence).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS_EACH=${1:-20}
RUNS=${2:-}
BUILD_DIR=${ACTSPARSE_FUZZ_BUILD_DIR:-build-fuzz}
JOBS=${ACTSPARSE_JOBS:-$(nproc)}
CXX_FUZZ=${CXX_FUZZ:-$(command -v clang++-14 || command -v clang++ || true)}
CC_FUZZ=${CC_FUZZ:-$(command -v clang-14 || command -v clang || true)}
[ -n "$CXX_FUZZ" ] || { echo "fuzz: no clang++ (apt-get install clang-14)" >&2; exit 1; }
read -r -a targets <<<"${FUZZ_TARGETS:-trace safetensors arch calib layer_spec timeloop mapping onnx}"
start=$(date +%s)
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
    CC=$CC_FUZZ CXX=$CXX_FUZZ cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_CXX_FLAGS_RELEASE="-O1 -g" -DACTSPARSE_FUZZ=ON \
        -DACTSPARSE_SANITIZE=address,undefined -DACTSPARSE_WITH_TORCH=OFF \
        -DACTSPARSE_BUILD_BENCH=OFF >&2
fi
cmake --build "$BUILD_DIR" -j "$JOBS" --target "${targets[@]/#/fuzz_}" >&2
built=$(date +%s)
export ASAN_OPTIONS="detect_leaks=${ACTSPARSE_ASAN_LEAKS:-1}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
fails=0
for t in "${targets[@]}"; do
    work="$BUILD_DIR/corpus/$t"
    art="$BUILD_DIR/artifacts/$t"
    mkdir -p "$work" "$art" "tests/fuzz/regressions/$t"
    limit=(-max_total_time="$SECONDS_EACH")
    [ -n "$RUNS" ] && limit=(-runs="$RUNS")
    [ -n "${FUZZ_SEED:-}" ] && limit+=(-seed="$FUZZ_SEED")
    log="$BUILD_DIR/fuzz_$t.log"
    t0=$(date +%s)
    if "$BUILD_DIR/bin/fuzz_$t" "${limit[@]}" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$art/" "$work" "tests/fuzz/corpus/$t" "tests/fuzz/regressions/$t" \
        >"$log" 2>&1; then
        status=ok
    else
        status=FAILED
        fails=$((fails + 1))
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    echo "fuzz: $t $status: ${execs:-?} executions in $(($(date +%s) - t0)) s" \
        "(corpus $(find "$work" -type f | wc -l) inputs)"
    if [ "$status" = FAILED ]; then
        grep -m5 -E 'ERROR|not an InputError|runtime error|SUMMARY' "$log" || tail -20 "$log"
        echo "fuzz: failing input(s): $(ls "$art")"
    fi
done
echo "fuzz: build $((built - start)) s, fuzzing $(($(date +%s) - built)) s, $fails targets failed"
[ "$fails" -eq 0 ]
