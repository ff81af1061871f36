#!/usr/bin/env bash
# The built-in default job of ./run.sh (grows with the pipeline).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${ACTSPARSE_BUILD_DIR:-build}/bin/actsparse
"$BIN" layers --net mobilenetv2-cifar
