#!/usr/bin/env bash
# The built-in default job of ./run.sh: one MobileNet-V2 (CIFAR) layer at ifmap density 0.4
# through the whole accelerator model, in Eyeriss v1's zero-gating and in zero-skipping, with
# the JSON reports written to out/.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${ACTSPARSE_BUILD_DIR:-build}/bin/actsparse
mkdir -p out
for mode in gate skip; do
    echo "== actsparse simulate --net mobilenetv2-cifar --layer features.4.project --density 0.4 --zero-mode $mode"
    "$BIN" simulate --net mobilenetv2-cifar --layer features.4.project --density 0.4 \
        --zero-mode "$mode" --out "out/simulate-$mode.json"
done
echo "reports: out/simulate-gate.json out/simulate-skip.json"
