#!/usr/bin/env bash
# The CPU half of scripts/gpu_table1.sh: unpacks what the GPU machine returned (NET.tar.gz, or
# NET.tar.gz.partNN pieces) into OUT/NET, points the runs at this machine's copy of the data,
# and evaluates the chosen runs on the cycle-level model: eyeriss-v1 (gate and skip, with the
# calibrations gpu_prepare.sh made, from CARRY/calib) and, unless V2=0, the v2-class array in
# skip mode (calibrated here first). Resumable: unpacked runs, exported traces and results are
# kept. Exit 1 when a network could not be evaluated (each is named on stderr).
#
#   scripts/gpu_table1_finish.sh FROM_DIR [OUT]      (OUT default runs/table1)
#
# Environment: DATA (the dataset here; default ../shared/data/cifar10-jpeg.tar.gz), IMAGES (4),
# JOBS (calibrate workers), V2 (1), CARRY (device-carry).
set -euo pipefail
cd "$(dirname "$0")/.."
FROM=${1:?usage: scripts/gpu_table1_finish.sh FROM_DIR [OUT]}
OUT=${2:-runs/table1}
DATA=${DATA:-../shared/data/cifar10-jpeg.tar.gz}
IMAGES=${IMAGES:-4}
JOBS=${JOBS:-$(nproc)}
V2=${V2:-1}
CARRY=${CARRY:-device-carry}
BIN=${ACTSPARSE_BUILD_DIR:-build}/bin/actsparse
die() { echo "gpu_table1_finish.sh: $*" >&2; exit 2; }
[ -d "$FROM" ] || die "$FROM: no such folder"
[ -e "$DATA" ] || die "$DATA: no such dataset (DATA=PATH)"
DATA=$(realpath "$DATA")
shopt -s nullglob
nets=()
for f in "$FROM"/*.tar.gz "$FROM"/*.tar.gz.part00; do
    f=${f%.part00}
    net=$(basename "$f" .tar.gz)
    case " ${nets[*]} " in *" $net "*) continue ;; esac
    nets+=("$net")
    mkdir -p "$OUT/$net"
    if [ -e "$f" ]; then
        tar -xzf "$f" -C "$OUT/$net"
    else
        cat "$f".part* | tar -xz -C "$OUT/$net"
    fi
done
((${#nets[@]})) || die "$FROM: no NET.tar.gz from scripts/gpu_table1.sh"

failed=0
for net in "${nets[@]}"; do
    dir=$OUT/$net
    if [ ! -f "$dir/chosen-runs.txt" ] || [ ! -f "$dir/baseline/config.json" ]; then
        echo "gpu_table1_finish.sh: $net: no chosen runs (no finished baseline came back)" >&2
        failed=1
        continue
    fi
    [ -f "$dir/search-unfinished.txt" ] &&
        echo "gpu_table1_finish.sh: $net: the lambda search was cut by the budget; runs picked among the finished ones" >&2
    # The calibrations gpu_prepare.sh made at this run's width (NET-wWIDTH-MODE.json).
    for mode in skip gate; do
        [ -f "$dir/calib-$mode.json" ] && continue
        found=$(python3 - "$dir/baseline/config.json" "$CARRY/calib" "$net" "$mode" <<'PY'
import glob, json, os, sys
config, folder, net, mode = sys.argv[1:]
width = float(json.load(open(config))["options"]["width"])
for f in glob.glob(os.path.join(folder, "%s-w*-%s.json" % (net, mode))):
    w = os.path.basename(f)[len(net) + 2:-len(mode) - 6]
    try:
        if float(w) == width:
            print(f)
    except ValueError:
        pass
PY
)
        [ -n "$found" ] || { echo "gpu_table1_finish.sh: $net: no $CARRY/calib/$net-w*-$mode.json at the run's width" >&2; failed=1; continue 2; }
        cp "$found" "$dir/calib-$mode.json"
    done
    runs=()
    while read -r r; do
        r=$dir/$(basename "$r")
        # The run was trained on the GPU machine's copy of the data: point it at this one
        # (and at this machine's cache).
        python3 - "$r/config.json" "$DATA" <<'PY'
import json, sys
path, data = sys.argv[1], sys.argv[2]
c = json.load(open(path))
c.setdefault("options", {})["data"] = data
c["options"]["data_cache"] = ""
json.dump(c, open(path, "w"), indent=2)
PY
        runs+=("$r")
    done <"$dir/chosen-runs.txt"
    "$BIN" evaluate --runs "${runs[@]}" --arch eyeriss-v1 --zero-mode both --images "$IMAGES" \
        --calibration "$dir/calib-skip.json" --calibration "$dir/calib-gate.json" \
        --out "$dir/eval-v1"
    echo "$net: $dir/eval-v1/results.md" >&2
    if [ "$V2" = 1 ]; then
        width=$(python3 - "$dir/baseline/config.json" <<'PY'
import json, sys
print(json.load(open(sys.argv[1]))["options"]["width"])
PY
)
        [ -f "$dir/calib-v2-skip.json" ] ||
            "$BIN" calibrate --net "$net" --width "$width" --arch eyeriss-v2 --zero-mode skip \
                --jobs "$JOBS" --out "$dir/calib-v2-skip.json" --report none --quiet
        "$BIN" evaluate --runs "${runs[@]}" --arch eyeriss-v2 --zero-mode skip --images "$IMAGES" \
            --calibration "$dir/calib-v2-skip.json" --out "$dir/eval-v2"
        echo "$net: $dir/eval-v2/results.md" >&2
    fi
done
exit "$failed"
