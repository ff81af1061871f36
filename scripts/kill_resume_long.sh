#!/usr/bin/env bash
# Usage: scripts/kill_resume_long.sh [KILLS] [BUILD_DIR]
# The long version of ctest's reliability.kill_calibrate / reliability.kill_train: KILLS
# (default 200) SIGKILLs of each job at random moments, each followed by the file checks and
# a resume that must end with the uninterrupted run's result (tests/reliability/
# kill_resume_test.sh). The train part needs a build with LibTorch. KILL_SEED=N repeats a
# sequence. About 5 s per calibrate kill and 4 s per train kill on 2 cores.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
KILLS=${1:-200}
BIN=${2:-${ACTSPARSE_BUILD_DIR:-build}}/bin/actsparse
[ -x "$BIN" ] || { echo "no $BIN: build first (./test.sh)" >&2; exit 1; }
bash tests/reliability/kill_resume_test.sh calibrate "$BIN" "$KILLS" | tail -3
if ! "$BIN" --help 2>&1 | grep -q 'train.*unavailable'; then
    bash tests/reliability/kill_resume_test.sh train "$BIN" "$KILLS" | tail -3
else
    echo "train: skipped (this build has no LibTorch)"
fi
