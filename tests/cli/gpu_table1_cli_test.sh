#!/usr/bin/env bash
# scripts/gpu_table1.sh and gpu_table1_finish.sh on the CPU (DEVICE=cpu, the build given,
# SKIP_BUILD=1) at a tiny budget: a generated CIFAR-shaped ImageFolder archive of PNGs,
# squeezenet-cifar at width 0.125, calibrations made here as gpu_prepare.sh makes them; the
# device half trains and packs, the CPU half unpacks and evaluates on eyeriss-v1. Also: a
# missing calibration is exit 2 with one line. Exit 77 (skipped) without python3.
set -euo pipefail
BIN=$1
SRC=$2
command -v python3 >/dev/null || exit 77
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/build/bin" "$T/carry/data" "$T/carry/calib"
ln -s "$BIN" "$T/build/bin/actsparse"
fail() {
    echo "FAIL: $*"
    tail -30 "$T/stderr" "$T"/work/runs/*/stdout.log 2>/dev/null || true
    exit 1
}

# 10 classes, 24 training and 4 test images each: 32x32 RGB PNGs (stdlib zlib), tar.gz.
python3 "$SRC/tests/cli/make_image_folder.py" "$T/carry/data/cifar10-jpeg.tar.gz" 24 4
for mode in skip gate; do
    "$BIN" calibrate --net squeezenet-cifar --width 0.125 --zero-mode "$mode" --densities 0.3,1 \
        --seeds 1 --patterns uniform --validate-densities none --jobs 2 --cache "$T/cache" \
        --out "$T/carry/calib/squeezenet-cifar-w0.125-$mode.json" --report none --quiet \
        2>>"$T/stderr" || fail "calibrate $mode"
done

gpu() {
    env DEVICE=cpu SKIP_BUILD=1 BUILD_DIR="$T/build" CARRY="$T/carry" WORK="$T/work" \
        NETS="squeezenet-cifar:0.125" BUDGET_S=400 BASE_EPOCHS=1 TUNE_EPOCHS=1 SCALES="0.3" \
        BASE_BATCHES=2 TUNE_BATCHES=1 EVAL_BATCHES=1 THREADS=2 "$@"
}
gpu bash "$SRC/scripts/gpu_table1.sh" "$T/out" 2>>"$T/stderr" || fail "gpu_table1.sh failed"
[ -f "$T/out/squeezenet-cifar.tar.gz" ] || fail "nothing packed"
tar -tzf "$T/out/squeezenet-cifar.tar.gz" >"$T/list"
for f in chosen-runs.txt baseline/model.safetensors baseline/summary.json \
    proposed-hybrid-x0.3/model.safetensors; do
    grep -qx "$f" "$T/list" || fail "$f not packed: $(cat "$T/list")"
done
grep -q 'checkpoint\|calib-' "$T/list" && fail "checkpoints or calibrations packed"
compgen -G "$T/work/cache/actsparse/data/images-*.bin" >/dev/null || fail "no decoded-image cache"
echo "ok   gpu_table1.sh trains and packs on the CPU"

# A second call packs what the first trained, without building or training.
gpu env PACK_ONLY=squeezenet-cifar SKIP_BUILD=0 bash "$SRC/scripts/gpu_table1.sh" "$T/out3" \
    2>"$T/pack.err" || fail "PACK_ONLY: $(cat "$T/pack.err")"
grep -q "train \|configure" "$T/pack.err" && fail "PACK_ONLY trained or built: $(cat "$T/pack.err")"
cmp -s <(tar -tzf "$T/out3/squeezenet-cifar.tar.gz") "$T/list" || fail "PACK_ONLY packed other files"
echo "ok   PACK_ONLY packs again without building or training"

# A search the budget cut (no chosen-runs.txt, one method without a finished run): the
# finished runs are picked and flagged.
runs=$T/work/runs/squeezenet-cifar
mv "$runs/chosen-runs.txt" "$T/chosen.txt"
mv "$runs/proposed-hoyer-x0.3" "$T/hoyer"
gpu env PACK_ONLY=squeezenet-cifar bash "$SRC/scripts/gpu_table1.sh" "$T/out4" 2>"$T/pack.err" ||
    fail "PACK_ONLY after a cut search: $(cat "$T/pack.err")"
tar -tzf "$T/out4/squeezenet-cifar.tar.gz" >"$T/list4"
grep -qx search-unfinished.txt "$T/list4" || fail "a cut search is not flagged"
[ "$(wc -l <"$runs/chosen-runs.txt")" = 3 ] || fail "chosen among finished: $(cat "$runs/chosen-runs.txt")"
grep -q proposed-hoyer "$T/list4" && fail "an unfinished run packed"
rm "$runs/chosen-runs.txt" "$runs/search-unfinished.txt"
mv "$T/chosen.txt" "$runs/chosen-runs.txt"
mv "$T/hoyer" "$runs/proposed-hoyer-x0.3"
echo "ok   a cut search packs the finished runs, flagged"

# A calibration missing: one line, exit 2, before anything runs.
mv "$T/carry/calib/squeezenet-cifar-w0.125-gate.json" "$T/gate.json"
set +e
gpu bash "$SRC/scripts/gpu_table1.sh" "$T/out2" >/dev/null 2>"$T/err"
rc=$?
set -e
[ "$rc" = 2 ] || fail "missing calibration: exit $rc"
[ "$(wc -l <"$T/err")" = 1 ] && grep -q 'squeezenet-cifar-w0.125-gate.json: missing' "$T/err" ||
    fail "missing calibration: $(cat "$T/err")"
echo "ok   a missing calibration is exit 2: $(cat "$T/err")"
mv "$T/gate.json" "$T/carry/calib/squeezenet-cifar-w0.125-gate.json"

# The CPU half: unpack, re-point the data, evaluate the chosen runs on eyeriss-v1.
env ACTSPARSE_BUILD_DIR="$T/build" CARRY="$T/carry" DATA="$T/carry/data/cifar10-jpeg.tar.gz" IMAGES=1 V2=0 \
    XDG_CACHE_HOME="$T/work/cache" bash "$SRC/scripts/gpu_table1_finish.sh" "$T/out" "$T/table1" \
    2>>"$T/stderr" || fail "gpu_table1_finish.sh failed"
md=$T/table1/squeezenet-cifar/eval-v1/results.md
[ -f "$md" ] || fail "no results.md"
for m in baseline sparsity-targeting proposed-hoyer proposed-hybrid; do
    [ "$(grep -c "^| ${m}[ |]" "$md")" = 2 ] || fail "$m not in both tables of $md"
done
echo "ok   gpu_table1_finish.sh evaluates the returned runs"
