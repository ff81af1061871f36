#!/usr/bin/env bash
# The whole pipeline for one network: calibrate (gate and skip), train a baseline, fine-tune
# the three methods from it with a small lambda search for matched accuracy (<= 1 pt top-1
# drop), export real traces and evaluate them on the cycle-level model.
#
#   scripts/reproduce.sh [NET] [OUT]          e.g. scripts/reproduce.sh mobilenetv2-fmnist
#
# Budget knobs (environment): WIDTH (0.5), BASE_EPOCHS (1), BASE_BATCHES (0 = all),
# TUNE_EPOCHS (1), TUNE_BATCHES (0), TUNE_LR (the trainer's fine-tuning default), EVAL_BATCHES
# (0), IMAGES (4), SCALES ("1 0.3 0.1"), CALIB_ARGS (extra `calibrate` flags, e.g. a smaller
# sweep), DATA (the dataset folder; default the trainer's), MAPPING_DENSITY (the reference
# density each layer's one mapping is planned for, in calibrate and evaluate; default the
# tools' 0.5; per-point re-plans the mapping for each point and image),
# DATASET (fashion-mnist), THREADS (all cores), ARCH (eyeriss-v1; eyeriss-v2 or a YAML file:
# calibrate and evaluate on that array), EXTRA_ARCHS (more arrays to evaluate the same runs
# on in skip mode, e.g. eyeriss-v2: each is calibrated into calib-NAME-skip.json and
# evaluated into eval-NAME/, NAME the arch's name or YAML file stem), DEVICE (cpu; cuda trains on a GPU), STOP_AFTER
# (train: stop before evaluate, for a trainer-only build; scripts/gpu_table1.sh). Every step resumes or is skipped when its
# output exists, so an interrupted reproduction continues where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
NET=${1:-mobilenetv2-fmnist}
OUT=${2:-runs/$NET}
BIN=${ACTSPARSE_BUILD_DIR:-build}/bin/actsparse
WIDTH=${WIDTH:-0.5}
BASE_EPOCHS=${BASE_EPOCHS:-1}
BASE_BATCHES=${BASE_BATCHES:-0}
TUNE_EPOCHS=${TUNE_EPOCHS:-1}
TUNE_BATCHES=${TUNE_BATCHES:-0}
TUNE_LR=${TUNE_LR:-}
EVAL_BATCHES=${EVAL_BATCHES:-0}
IMAGES=${IMAGES:-4}
SCALES=${SCALES:-"1 0.3 0.1"}
DATASET=${DATASET:-fashion-mnist}
THREADS=${THREADS:-$(nproc)}
CALIB_ARGS=${CALIB_ARGS:-}
DATA=${DATA:-}
MAPPING_DENSITY=${MAPPING_DENSITY:-}
ARCH=${ARCH:-eyeriss-v1}
EXTRA_ARCHS=${EXTRA_ARCHS:-}
DEVICE=${DEVICE:-cpu}
STOP_AFTER=${STOP_AFTER:-}
case "$STOP_AFTER" in "" | train) ;; *) echo "reproduce.sh: STOP_AFTER: expected train, got '$STOP_AFTER'" >&2; exit 2 ;; esac
MAP_ARGS=()
[ -n "$MAPPING_DENSITY" ] && MAP_ARGS=(--mapping-density "$MAPPING_DENSITY")
export OMP_WAIT_POLICY=passive
mkdir -p "$OUT"
log() { echo "[reproduce $(date +%H:%M:%S)] $*" | tee -a "$OUT/reproduce.log" >&2; }

for mode in skip gate; do
    if [ ! -f "$OUT/calib-$mode.json" ]; then
        log "calibrate $NET ($mode)"
        # shellcheck disable=SC2086  # CALIB_ARGS is a list of flags
        "$BIN" calibrate --net "$NET" --arch "$ARCH" --width "$WIDTH" --zero-mode "$mode" \
            --cache "$OUT/calib-cache" --out "$OUT/calib-$mode.json" --report "$OUT/calib-$mode" \
            "${MAP_ARGS[@]}" $CALIB_ARGS
    fi
done

train() {  # train RUN_DIR ARGS...: runs or resumes a training run until summary.json exists
    local dir=$1
    shift
    [ -f "$dir/summary.json" ] && return 0
    local resume=()
    [ -f "$dir/config.json" ] && resume=(--resume)
    [ -n "$DATA" ] && resume+=(--data "$DATA")
    "$BIN" train --net "$NET" --dataset "$DATASET" --width "$WIDTH" --threads "$THREADS" \
        --device "$DEVICE" --limit-eval-batches "$EVAL_BATCHES" --out "$dir" "${resume[@]}" "$@"
}

log "train baseline"
train "$OUT/baseline" --method baseline --epochs "$BASE_EPOCHS" --limit-batches "$BASE_BATCHES"
# Matched accuracy is decided on the validation split (the last epoch's val accuracy in
# log.jsonl), never on the test set the table reports.
val_acc() { python3 -c "import json;print(json.loads(open('$1/log.jsonl').read().splitlines()[-1])['val']['accuracy'])"; }
test_acc() { python3 -c "import json;print(json.load(open('$1/summary.json'))['test']['accuracy'])"; }
BASE_ACC=$(val_acc "$OUT/baseline")
log "baseline val top-1 $BASE_ACC, test top-1 $(test_acc "$OUT/baseline")"

RUNS=("$OUT/baseline")
for method in sparsity-targeting proposed-hoyer proposed-hybrid; do
    chosen=""
    # The strongest penalty whose accuracy stays within 1 pt of the baseline (the search
    # goes from strong to weak and stops at the first that qualifies).
    for scale in $SCALES; do
        dir="$OUT/$method-x$scale"
        l2=$(python3 -c "print(0.5*$scale)")
        l1=$(python3 -c "print(0.25*$scale)")
        args=(--method "$method" --init "$OUT/baseline" --baseline-run "$OUT/baseline"
              --epochs "$TUNE_EPOCHS" --limit-batches "$TUNE_BATCHES" --lambda2 "$l2")
        [ "$method" = proposed-hybrid ] && args+=(--lambda1 "$l1")
        [ -n "$TUNE_LR" ] && args+=(--lr "$TUNE_LR")
        # Every method gets the calibration: the proposed ones weight their penalty by it,
        # and all predict their costs relative to the baseline with it.
        args+=(--calibration "$OUT/calib-skip.json")
        log "train $method lambda scale $scale"
        train "$dir" "${args[@]}"
        a=$(val_acc "$dir")
        log "$method x$scale: val top-1 $a (baseline $BASE_ACC), test top-1 $(test_acc "$dir")"
        if python3 -c "import sys; sys.exit(0 if $BASE_ACC - $a <= 0.01 else 1)"; then
            chosen=$dir
            break
        fi
        chosen=$dir  # the weakest tried, if none qualifies (reported as such)
    done
    log "$method: chose $chosen"
    RUNS+=("$chosen")
done

if [ "$STOP_AFTER" = train ]; then
    printf '%s\n' "${RUNS[@]}" >"$OUT/chosen-runs.txt"
    log "stopped after training (STOP_AFTER=train): chosen runs in $OUT/chosen-runs.txt"
    exit 0
fi
# evaluate ARCH ZERO_MODE EVAL_DIR CALIBRATION...: skipped when EVAL_DIR/results.json is newer
# than every run's summary, every calibration and the actsparse binary, and was made by the
# same command.
evaluate() {
    local arch=$1 mode=$2 dir=$3
    shift 3
    local args=(--runs "${RUNS[@]}" --arch "$arch" --zero-mode "$mode" --images "$IMAGES"
                "${MAP_ARGS[@]}")
    local c inputs=()
    for c in "$@"; do args+=(--calibration "$c"); inputs+=("$c"); done
    for c in "${RUNS[@]}"; do inputs+=("$c/summary.json"); done
    inputs+=("$BIN")  # a rebuilt simulator may simulate differently
    if [ -f "$dir/results.json" ] && [ "$(cat "$dir/.args" 2>/dev/null)" = "${args[*]}" ]; then
        local fresh=1
        for c in "${inputs[@]}"; do [ "$c" -nt "$dir/results.json" ] && fresh=0; done
        if [ "$fresh" = 1 ]; then
            log "evaluate on $arch: up to date ($dir/results.md)"
            return 0
        fi
    fi
    log "evaluate on $arch ($mode) ${RUNS[*]}"
    "$BIN" evaluate "${args[@]}" --out "$dir"
    printf '%s' "${args[*]}" >"$dir/.args"
    log "done: $dir/results.md"
}
evaluate "$ARCH" both "$OUT/eval" "$OUT/calib-skip.json" "$OUT/calib-gate.json"
for arch in $EXTRA_ARCHS; do
    name=$(basename "$arch")
    name=${name%.yaml}
    name=${name%.yml}
    if [ ! -f "$OUT/calib-$name-skip.json" ]; then
        log "calibrate $NET on $arch (skip)"
        # shellcheck disable=SC2086  # CALIB_ARGS is a list of flags
        "$BIN" calibrate --net "$NET" --arch "$arch" --width "$WIDTH" --zero-mode skip \
            --cache "$OUT/calib-cache" --out "$OUT/calib-$name-skip.json" \
            --report "$OUT/calib-$name-skip" "${MAP_ARGS[@]}" $CALIB_ARGS
    fi
    evaluate "$arch" skip "$OUT/eval-$name" "$OUT/calib-$name-skip.json"
done
