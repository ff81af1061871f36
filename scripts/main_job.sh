#!/usr/bin/env bash
# The built-in default job of ./run.sh: the whole loop, small enough for minutes on 2 cores.
# SqueezeNet on Fashion-MNIST at width 0.25: calibrate the analytical model against the
# cycle-level simulator (a reduced density sweep, both zero modes), train a baseline for 300
# steps, fine-tune the three penalties 100 steps each from it, export real activation traces
# of 2 test images and simulate them, and print the Table-I-style results. Everything lands
# in out/demo/ (re-running skips finished steps). The full-size pipeline is
# scripts/reproduce.sh; docs/results.md holds its results.
set -euo pipefail
cd "$(dirname "$0")/.."
export ACTSPARSE_BUILD_DIR=${ACTSPARSE_BUILD_DIR:-build}
WIDTH=${WIDTH:-0.25} BASE_EPOCHS=1 BASE_BATCHES=${BASE_BATCHES:-300} TUNE_EPOCHS=1 \
    TUNE_BATCHES=${TUNE_BATCHES:-100} EVAL_BATCHES=${EVAL_BATCHES:-20} IMAGES=${IMAGES:-2} \
    SCALES=${SCALES:-0.3} CALIB_ARGS=${CALIB_ARGS:-"--densities 0.05,0.2,0.5,1 --seeds 1"} \
    scripts/reproduce.sh squeezenet-fmnist "${DEMO_OUT:-out/demo}"
cat "${DEMO_OUT:-out/demo}/eval/results.md"
