#!/usr/bin/env bash
# scripts/reproduce.sh end to end at a tiny budget (SqueezeNet-Fashion-MNIST, width 0.125, a
# few steps): calibrate both modes, baseline, the three methods with a two-step lambda
# search, evaluate; then a re-run that must redo nothing. Exit 77 (skipped) without the
# Fashion-MNIST files or python3.
set -euo pipefail
BIN=$1
SRC=$2
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || exit 77
command -v python3 >/dev/null || exit 77
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/build/bin"
ln -s "$BIN" "$T/build/bin/actsparse"
run() {
    env ACTSPARSE_BUILD_DIR="$T/build" WIDTH=0.125 BASE_EPOCHS=1 BASE_BATCHES=12 TUNE_EPOCHS=1 \
        TUNE_BATCHES=4 EVAL_BATCHES=2 IMAGES=1 SCALES="0.3 0.1" THREADS=2 EXTRA_ARCHS=eyeriss-v2 \
        CALIB_ARGS="--densities 0.2,1 --seeds 1 --patterns uniform --validate-densities 0.5 --validate-patterns uniform" \
        bash "$SRC/scripts/reproduce.sh" squeezenet-fmnist "$T/out" 2>>"$T/stderr"
}
fail() { echo "FAIL: $*"; cat "$T/out/reproduce.log" || true; tail -20 "$T/stderr"; exit 1; }
run || fail "reproduce.sh failed"
md=$T/out/eval/results.md
[ -f "$md" ] && [ -f "$T/out/eval/results.json" ] || fail "no results"
for mode in gate skip; do
    grep -q "## squeezenet-fmnist ($mode)" "$md" || fail "no $mode table"
done
for m in baseline sparsity-targeting proposed-hoyer proposed-hybrid; do
    [ "$(grep -c "^| $m[ |]" "$md")" = 2 ] || fail "$m not in both tables"
    [ "$m" = baseline ] || grep -q "$m: chose " "$T/out/reproduce.log" || fail "$m: no choice logged"
done
grep -q "## squeezenet-fmnist (skip)" "$T/out/eval-eyeriss-v2/results.md" || fail "no v2 results"
grep -q -- "--arch eyeriss-v2" "$T/out/eval-eyeriss-v2/results.md" || fail "v2 results not on v2"
for f in calib-skip.json calib-gate.json calib-eyeriss-v2-skip.json baseline/summary.json \
    baseline/model.safetensors; do
    [ -f "$T/out/$f" ] || fail "missing $f"
done
# Each method's choice is logged with the validation accuracy it was chosen on.
[ "$(grep -c ': chose ' "$T/out/reproduce.log")" = 3 ] || fail "lambda choices not logged"
# A re-run redoes nothing: no run folder changes.
before=$(find "$T/out" -name summary.json -newer "$md" | wc -l)
stamp=$(stat -c %Y "$T/out/baseline/summary.json")
run || fail "re-run failed"
[ "$(grep -c "up to date" "$T/out/reproduce.log")" = 2 ] || fail "evaluate was not skipped on the re-run"
[ "$(stat -c %Y "$T/out/baseline/summary.json")" = "$stamp" ] || fail "baseline retrained"
[ "$(find "$T/out" -name summary.json -newer "$md" | wc -l)" = "$before" ] || fail "runs redone"
echo "reproduce.sh: OK"
