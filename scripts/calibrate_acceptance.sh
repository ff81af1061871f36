#!/usr/bin/env bash
# The calibration acceptance runs (docs/calibration.md, "Results"): squeezenet-cifar and
# mobilenetv2-cifar in skip and gate mode with the default sweep and 2 workers, each with an
# empty cache, then a cached re-run. Prints wall/CPU time and the validation summary.
#
#   scripts/calibrate_acceptance.sh [OUT]      (default runs/calibration-acceptance)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${ACTSPARSE_BUILD_DIR:-build}/bin/actsparse
OUT=${1:-runs/calibration-acceptance}
JOBS=${JOBS:-2}
mkdir -p "$OUT"
for net in squeezenet-cifar mobilenetv2-cifar; do
    for mode in skip gate; do
        tag=$net-$mode
        rm -rf "$OUT/$tag-cache"
        echo "== $tag (load $(cut -d' ' -f1-3 /proc/loadavg))"
        /usr/bin/time -f "time: wall %e s, user %U s" "$BIN" calibrate --net "$net" \
            --zero-mode "$mode" --jobs "$JOBS" --cache "$OUT/$tag-cache" \
            --out "$OUT/$tag.json" --report "$OUT/$tag-report" 2>"$OUT/$tag.log"
        tail -1 "$OUT/$tag.log"
    done
done
echo "== cached re-run of squeezenet-cifar skip"
/usr/bin/time -f "time: wall %e s, user %U s" "$BIN" calibrate --net squeezenet-cifar \
    --zero-mode skip --jobs "$JOBS" --cache "$OUT/squeezenet-cifar-skip-cache" \
    --out "$OUT/squeezenet-cifar-skip.json" --report "$OUT/squeezenet-cifar-skip-report" --quiet
