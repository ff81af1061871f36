#!/usr/bin/env bash
# The short CPU check of docs/trainer.md: MobileNet-V2 (width 0.25) on Fashion-MNIST, a
# 300-batch baseline, then 300-batch fine-tunes from it with each method, compared against
# the baseline's densities through a calibration file. Usage:
#   scripts/train_fmnist_demo.sh [OUT_DIR] [CALIB_JSON]
# OUT_DIR defaults to runs/fmnist-demo; CALIB_JSON to the test fixture (not a simulation).
# Re-running continues unfinished runs (--resume) and leaves finished ones alone.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${ACTSPARSE_BUILD_DIR:-build}/bin/actsparse
OUT=${1:-runs/fmnist-demo}
CALIB=${2:-tests/trainer/data/calib-mobilenetv2-fmnist-w0.25.json}
THREADS=${ACTSPARSE_THREADS:-2}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
mkdir -p "$OUT"
common=(--net mobilenetv2-fmnist --width 0.25 --epochs 1 --limit-batches 300
        --threads "$THREADS" --seed 1 --resume)
run() {  # run NAME ARGS...: skips a run whose summary exists
    local name=$1
    shift
    [ -f "$OUT/$name/summary.json" ] || "$BIN" train "${common[@]}" --out "$OUT/$name" "$@"
}
run baseline --method baseline --calibration "$CALIB"
ft=(--init "$OUT/baseline" --baseline-run "$OUT/baseline" --calibration "$CALIB")
run baseline-ft --method baseline "${ft[@]}"
run sparsity-targeting --method sparsity-targeting "${ft[@]}"
run proposed-hoyer --method proposed-hoyer "${ft[@]}"
run proposed-hybrid --method proposed-hybrid "${ft[@]}"
for r in baseline baseline-ft sparsity-targeting proposed-hoyer proposed-hybrid; do
    python3 - "$OUT/$r/summary.json" "$r" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
p = s["predicted"] or {}
print("%-20s test acc %6.2f%%  mean density %.3f  energy %s  speedup %s" % (
    sys.argv[2], 100 * s["test"]["accuracy"], s["test"]["mean_density"],
    "%.1f%%" % (100 * p["energy_ratio"]) if "energy_ratio" in p else "-",
    "%.3fx" % p["speedup"] if "speedup" in p else "-"))
PY
done
