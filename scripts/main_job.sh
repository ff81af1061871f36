#!/usr/bin/env bash
# The built-in default job of ./run.sh: the whole loop, small enough for about 5 minutes on 2
# cores. MobileNet-V2 on Fashion-MNIST at width 0.25 (the network whose layers differ most in
# what a zero saves, so the cost weighting has something to show): calibrate the analytical
# model against the cycle-level simulator (a reduced density sweep, both zero modes), train a
# baseline for 400 steps, fine-tune the three penalties 200 steps each from it at one lambda
# scale, export real activation traces of 2 test images and simulate them, and print the
# Table-I-style results with their verdict: whether proposed-hybrid, within 1 pt of the
# baseline's top-1, is clearly (2 points of energy or more) below sparsity-targeting, and if
# not, why. Everything lands in out/demo/NET/ (re-running skips finished steps). The
# full-size pipeline is scripts/reproduce.sh; docs/results.md holds its results. Every knob
# of reproduce.sh can be overridden from the environment (e.g. DEMO_NET=squeezenet-fmnist).
set -euo pipefail
cd "$(dirname "$0")/.."
export ACTSPARSE_BUILD_DIR=${ACTSPARSE_BUILD_DIR:-build}
NET=${DEMO_NET:-mobilenetv2-fmnist}
OUT=${DEMO_OUT:-out/demo/$NET}
WIDTH=${WIDTH:-0.25} BASE_EPOCHS=${BASE_EPOCHS:-1} BASE_BATCHES=${BASE_BATCHES:-400} TUNE_EPOCHS=${TUNE_EPOCHS:-1} \
    TUNE_BATCHES=${TUNE_BATCHES:-200} TUNE_LR=${TUNE_LR:-0.02} EVAL_BATCHES=${EVAL_BATCHES:-60} \
    IMAGES=${IMAGES:-2} SCALES=${SCALES:-0.15} \
    CALIB_ARGS=${CALIB_ARGS:-"--densities 0.05,0.2,0.5,1 --seeds 1"} \
    scripts/reproduce.sh "$NET" "$OUT"
cat "$OUT/eval/results.md"
