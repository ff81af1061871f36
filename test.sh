#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test through ctest.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
export OMP_WAIT_POLICY=passive
ctest --test-dir "${ACTSPARSE_BUILD_DIR:-build}" --output-on-failure -j "${ACTSPARSE_JOBS:-$(nproc)}" "$@"
