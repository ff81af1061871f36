#!/usr/bin/env bash
# Builds the SystemC/Torch-free core, the cycle-level hw, the tlm and the calibration test
# suites with AddressSanitizer + UBSan (-DACTSPARSE_SANITIZE=address,undefined, every finding
# fatal) into build-asan/ and runs them; exits non-zero on any test failure or sanitizer
# report. Used by .ci/run after ./test.sh; see docs/reliability.md for its figures.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD_DIR=${ACTSPARSE_ASAN_BUILD_DIR:-build-asan}
JOBS=${ACTSPARSE_JOBS:-$(nproc)}
SUITES=(core_tests hw_tests hw_fidelity_tests hw_v2_tests tlm_tests calibration_tests
        calibration_tlm_tests)
start=$(date +%s)
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
    # RelWithDebInfo-like: optimised (the simulator is slow at -O0) with line numbers in reports.
    # Stack redzones off (--param=asan-stack=0): SystemC switches between its processes'
    # stacks with QuickThreads, which ASan cannot follow (Debian's libsystemc has no fiber
    # annotations), and tlm_tests then reports stale stack poison as overflows in test code.
    # Heap, global and use-after-free checks, LeakSanitizer and UBSan stay on.
    cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_CXX_FLAGS_RELEASE="-O1 -g --param=asan-stack=0" \
        -DACTSPARSE_SANITIZE=address,undefined -DACTSPARSE_WITH_TORCH=OFF \
        -DACTSPARSE_BUILD_BENCH=OFF >&2
fi
cmake --build "$BUILD_DIR" -j "$JOBS" --target "${SUITES[@]}" >&2
built=$(date +%s)
# detect_leaks: LeakSanitizer needs ptrace-like access that some containers deny; it is on
# by default and turned off only where it cannot run (ACTSPARSE_ASAN_LEAKS=0).
export ASAN_OPTIONS="abort_on_error=0:detect_leaks=${ACTSPARSE_ASAN_LEAKS:-1}:detect_stack_use_after_return=0:strict_string_checks=1:check_initialization_order=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1
fails=0
for s in "${SUITES[@]}"; do
    t0=$(date +%s)
    if "$BUILD_DIR/bin/$s" --gtest_brief=1 >"$BUILD_DIR/$s.log" 2>&1; then
        echo "sanitize: $s passed ($(($(date +%s) - t0)) s)"
    else
        echo "sanitize: $s FAILED ($(($(date +%s) - t0)) s); last lines of $BUILD_DIR/$s.log:"
        tail -40 "$BUILD_DIR/$s.log"
        fails=$((fails + 1))
    fi
done
echo "sanitize: build $((built - start)) s, tests $(($(date +%s) - built)) s, $fails suites failed"
[ "$fails" -eq 0 ]
