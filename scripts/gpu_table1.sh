#!/usr/bin/env bash
# Table I's training half on one GPU (issue 14, item 4): builds the trainer against the
# machine's CUDA LibTorch (pip torch; no SystemC there), trains every network's baseline and
# the three methods' lambda search (scripts/reproduce.sh with STOP_AFTER=train) on CIFAR-10,
# and packs the chosen runs (weights, logs, summaries) for the CPU side, whose
# scripts/gpu_table1_finish.sh exports the traces and simulates them.
#
#   scripts/gpu_prepare.sh                    # on the Debian side: fills device-carry/
#   OUT=... scripts/gpu_table1.sh [OUT]       # on the GPU machine (the device tool's $OUT)
#   scripts/gpu_table1_finish.sh DIR          # back on the Debian side: evaluate
#
# Reads device-carry/ (CARRY): debs/ (Debian's header packages the build needs and the GPU
# machine lacks: unpacked into WORK, never into /), data/cifar10-jpeg.tar.gz and
# calib/NET-wWIDTH-{skip,gate}.json (made by gpu_prepare.sh with the simulator).
# Environment: NETS ("NET:WIDTH ...", default all three at the widths gpu_prepare.sh used),
# DEVICE (cuda; cpu runs the same steps on a CPU build, as the test does), BUDGET_S (wall
# seconds of training, default 400; each network's reproduce.sh is stopped at the budget and
# what finished is packed), DEADLINE_S (540: training also stops this long after the script
# started, so build, training and packing end inside the device tool's 600 s per command
# whatever the build took), PACK_ONLY ("NET ...": no build, no training; pack these networks'
# runs from WORK, the second call when the first return was full), BASE_EPOCHS (10),
# TUNE_EPOCHS (2), SCALES ("1 0.3"), BASE_BATCHES/TUNE_BATCHES/EVAL_BATCHES (0 = all), THREADS
# (4 per network), BUILD_DIR (build-gpu), WORK (/tmp/actsparse-gpu), SKIP_BUILD (1: use
# BUILD_DIR as it is). Exit 2 with one line when an input is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-${OUT:-runs/gpu-table1}}
CARRY=${CARRY:-device-carry}
DEVICE=${DEVICE:-cuda}
NETS=${NETS:-"mobilenetv2-cifar:1 squeezenet-cifar:1 inceptionv3-cifar:0.25"}
BUDGET_S=${BUDGET_S:-400}
DEADLINE_S=${DEADLINE_S:-540}
BUILD_DIR=${BUILD_DIR:-build-gpu}
WORK=${WORK:-/tmp/actsparse-gpu}
THREADS=${THREADS:-4}
export BASE_EPOCHS=${BASE_EPOCHS:-10} TUNE_EPOCHS=${TUNE_EPOCHS:-2} SCALES=${SCALES:-"1 0.3"}
export BASE_BATCHES=${BASE_BATCHES:-0} TUNE_BATCHES=${TUNE_BATCHES:-0} EVAL_BATCHES=${EVAL_BATCHES:-0}
export OMP_WAIT_POLICY=passive
T0=$(date +%s)
log() { echo "[gpu_table1 +$(($(date +%s) - T0))s] $*" >&2; }
die() { echo "gpu_table1.sh: $*" >&2; exit 2; }

mkdir -p "$OUT" "$WORK"
OUT=$(cd "$OUT" && pwd)
ARCHIVE=$CARRY/data/cifar10-jpeg.tar.gz
[ -f "$ARCHIVE" ] || die "$ARCHIVE: missing (run scripts/gpu_prepare.sh first)"
for nw in $NETS; do
    net=${nw%%:*} width=${nw#*:}
    for mode in skip gate; do
        f=$CARRY/calib/$net-w$width-$mode.json
        [ -f "$f" ] || die "$f: missing (gpu_prepare.sh with NETS=\"$nw\")"
    done
done

# 1. The build. Debian's header packages are unpacked into WORK/root (dpkg -x) and found
# through CMAKE_PREFIX_PATH and the compiler's search paths.
[ -n "${PACK_ONLY:-}" ] && SKIP_BUILD=1
ROOT=$WORK/root
LIBDIR=$ROOT/usr/lib/x86_64-linux-gnu
if [ "${SKIP_BUILD:-0}" != 1 ] && compgen -G "$CARRY/debs/*.deb" >/dev/null; then
    mkdir -p "$ROOT"
    for f in "$CARRY"/debs/*.deb; do dpkg -x "$f" "$ROOT"; done
    # Absolute links in the packages (zlib1g-dev's libz.so -> /lib/.../libz.so.1.2.13) point
    # into this machine's /: to the unpacked file when it travelled, else to the machine's own
    # library of that name (libz.so.1).
    while IFS= read -r link; do
        target=$(readlink "$link")
        case $target in /*) ;; *) continue ;; esac
        if [ -e "$ROOT$target" ]; then
            ln -sf "$ROOT$target" "$link"
        else
            soname=$(basename "$target" | sed -E 's/(\.so\.[0-9]+).*/\1/')
            for d in /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib64 /usr/lib64; do
                [ -e "$d/$soname" ] && { ln -sf "$d/$soname" "$link"; break; }
            done
        fi
    done < <(find "$ROOT" -xtype l)
fi
if [ -d "$ROOT" ]; then
    # jpeglib.h includes jconfig.h, which Debian keeps in the multiarch include folder.
    export CPATH=$ROOT/usr/include:$ROOT/usr/include/x86_64-linux-gnu${CPATH:+:$CPATH}
    export LIBRARY_PATH=$LIBDIR${LIBRARY_PATH:+:$LIBRARY_PATH}
    # The binary finds libyaml-cpp and libjpeg here whether this call built it or not.
    export LD_LIBRARY_PATH=$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    TORCH_PREFIX=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null || true)
    GEN=()
    command -v ninja >/dev/null && GEN=(-G Ninja)
    configure_and_build() {  # configure_and_build CMAKE_ARGS...: output in $OUT/build.log
        log "configure $BUILD_DIR $* (torch at ${TORCH_PREFIX:-the system LibTorch})"
        cmake -S . -B "$BUILD_DIR" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release \
            -DACTSPARSE_WITH_SYSTEMC=OFF -DACTSPARSE_BUILD_TESTS=OFF -DACTSPARSE_BUILD_BENCH=OFF \
            -DCMAKE_PREFIX_PATH="${TORCH_PREFIX:+$TORCH_PREFIX;}$ROOT/usr" "$@" >>"$OUT/build.log" 2>&1 &&
            cmake --build "$BUILD_DIR" --target actsparse -j "$(nproc)" >>"$OUT/build.log" 2>&1
    }
    # Data-parallel training over c10d first with NCCL (on a GPU: issue 15 wants its build
    # checked there; nccl.h comes with pip's nvidia-nccl package), then Gloo alone, then
    # without c10d (one rank). Each failure stays in build.log; c10d.txt says what was built.
    NCCL_INC=$(python3 -c 'import nvidia.nccl as n, os; print(os.path.join(list(n.__path__)[0], "include"))' 2>/dev/null || true)
    [ -n "$NCCL_INC" ] && [ -f "$NCCL_INC/nccl.h" ] && export CPATH=$CPATH:$NCCL_INC
    : >"$OUT/build.log"
    built=""
    attempts=("-DACTSPARSE_C10D=ON -DACTSPARSE_C10D_NCCL=OFF" "-DACTSPARSE_C10D=OFF -DACTSPARSE_C10D_NCCL=OFF")
    [ "$DEVICE" != cpu ] && attempts=("-DACTSPARSE_C10D=ON -DACTSPARSE_C10D_NCCL=ON" "${attempts[@]}")
    for a in "${attempts[@]}"; do
        # shellcheck disable=SC2086  # $a is a list of flags
        if configure_and_build $a; then built=$a; break; fi
        log "the build with $a failed (build.log)"
    done
    [ -n "$built" ] || { tail -30 "$OUT/build.log" >&2; die "build failed (log: $OUT/build.log)"; }
    { echo "built with: $built"; grep -h "trainer: " "$OUT/build.log" | tail -1; } >"$OUT/c10d.txt"
fi
BIN=$BUILD_DIR/bin/actsparse
[ -x "$BIN" ] || die "$BIN: not built"

# 2. The data: the ImageFolder archive, unpacked once (the trainer decodes it and caches the
# tensors on first use).
DATA=$WORK/cifar10
if [ ! -d "$DATA" ]; then
    mkdir -p "$WORK/unpack"
    tar -xzf "$ARCHIVE" -C "$WORK/unpack"
    top=$(dirname "$(find "$WORK/unpack" -maxdepth 3 -type d -name train | head -1)")
    [ -d "$top/test" ] || die "$ARCHIVE: no train/ and test/ folders"
    mv "$top" "$DATA"
fi
export XDG_CACHE_HOME=$WORK/cache
if [ "$DEVICE" != cpu ]; then
    nvidia-smi --query-gpu=name,memory.total --format=csv,noheader >"$OUT/gpu.txt" 2>&1 || true
fi

# 3. Training: one reproduce.sh per network, all at once on the one GPU, each stopped at the
# budget (a later call resumes: every run and step is skipped or continued from its files).
pids=()
[ -n "${PACK_ONLY:-}" ] && NETS_TRAIN="" || NETS_TRAIN=$NETS
budget=$((DEADLINE_S - ($(date +%s) - T0) - 60))
[ "$budget" -gt "$BUDGET_S" ] && budget=$BUDGET_S
if [ -n "$NETS_TRAIN" ] && [ "$budget" -lt 30 ]; then
    log "no time left to train (DEADLINE_S $DEADLINE_S)"
    NETS_TRAIN=""
fi
for nw in $NETS_TRAIN; do
    net=${nw%%:*} width=${nw#*:}
    dir=$WORK/runs/$net
    mkdir -p "$dir"
    for mode in skip gate; do cp "$CARRY/calib/$net-w$width-$mode.json" "$dir/calib-$mode.json"; done
    log "train $net at width $width on $DEVICE for at most $budget s"
    ACTSPARSE_BUILD_DIR=$BUILD_DIR NET=$net WIDTH=$width DEVICE=$DEVICE STOP_AFTER=train \
        DATASET=cifar10 DATA=$DATA THREADS=$THREADS \
        timeout --signal=INT --kill-after=20 "$budget" scripts/reproduce.sh "$net" "$dir" \
        >"$dir/stdout.log" 2>&1 &
    pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
log "training ended (status $status: 0 = every network chose its runs)"

# 4. Packing: per network one tar.gz of what the CPU side needs: logs and the chosen runs'
# summaries, configs, logs and weights (never checkpoints; the calibrations stay in
# device-carry/calib on the CPU side). When the budget stopped a search before it chose, the
# runs are picked here by reproduce.sh's rule among the finished ones (per method the
# strongest scale within 1 pt of the baseline's validation top-1, else the most accurate),
# written to chosen-runs.txt and flagged in search-unfinished.txt. The device tool returns at
# most 8 files of 16 MiB, 64 MiB in all, and keeps the machine warm only 30 s after a call: a
# network that does not fit is left for an immediate second call with PACK_ONLY=NET.
choose_finished() {  # choose_finished DIR: writes DIR/chosen-runs.txt from the finished runs
    python3 - "$1" <<'PY'
import json, os, sys
d = sys.argv[1]
def val(run):
    lines = open(os.path.join(d, run, "log.jsonl")).read().splitlines()
    return json.loads(lines[-1])["val"]["accuracy"]
done = sorted(r for r in os.listdir(d) if os.path.isfile(os.path.join(d, r, "summary.json")))
if "baseline" not in done:
    sys.exit(0)
base = val("baseline")
chosen = ["baseline"]
for method in ("sparsity-targeting", "proposed-hoyer", "proposed-hybrid"):
    runs = [(float(r.rsplit("-x", 1)[1]), r) for r in done if r.startswith(method + "-x")]
    if not runs:
        continue
    ok = sorted([sr for sr in runs if base - val(sr[1]) <= 0.01], reverse=True)
    chosen.append(ok[0][1] if ok else max(runs, key=lambda sr: val(sr[1]))[1])
open(os.path.join(d, "chosen-runs.txt"), "w").write("".join(os.path.join(d, r) + "\n" for r in chosen))
open(os.path.join(d, "search-unfinished.txt"), "w").write("the budget stopped the lambda search\n")
PY
}
pack_net() {  # pack_net NET: packs OUT/NET.tar.gz and prints its bytes
    local net=$1 dir=$WORK/runs/$1 runs=() files=() f r
    [ -f "$dir/chosen-runs.txt" ] || choose_finished "$dir" || return 1
    [ -f "$dir/chosen-runs.txt" ] || return 1
    while read -r r; do runs+=("$(basename "$r")"); done <"$dir/chosen-runs.txt"
    for f in reproduce.log stdout.log chosen-runs.txt search-unfinished.txt; do
        [ -f "$dir/$f" ] && files+=("$f")
    done
    for r in "${runs[@]}"; do
        for f in summary.json config.json log.jsonl model.safetensors; do
            [ -f "$dir/$r/$f" ] && files+=("$r/$f")
        done
    done
    tar -czf "$OUT/$net.tar.gz" -C "$dir" "${files[@]}" || return 1
    stat -c %s "$OUT/$net.tar.gz"
}
MIB=$((1024 * 1024))
for nw in ${PACK_ONLY:-$NETS}; do
    net=${nw%%:*}
    [ -d "$WORK/runs/$net" ] || { log "not packed: $net (no runs)"; continue; }
    if ! size=$(pack_net "$net"); then
        rm -f "$OUT/$net.tar.gz"
        log "not packed: $net (no finished baseline, or tar failed)"
        continue
    fi
    others=$(find "$OUT" -maxdepth 1 -type f ! -name "$net.tar.gz" -printf '%s\n' | awk '{s += $1} END {print s + 0}')
    nfiles=$(find "$OUT" -maxdepth 1 -type f ! -name "$net.tar.gz" | wc -l)
    parts=$(((size + 15 * MIB - 1) / (15 * MIB)))
    if [ $((others + size)) -gt $((64 * MIB - 64 * 1024)) ] || [ $((nfiles + parts)) -gt 8 ]; then
        rm -f "$OUT/$net.tar.gz"
        log "not packed: $net ($((size / 1024)) KiB does not fit the 64 MiB / 8-file return; call again at once with PACK_ONLY=$net)"
        continue
    fi
    if [ "$size" -gt $((16 * MIB - 4096)) ]; then
        split -b 15m -d "$OUT/$net.tar.gz" "$OUT/$net.tar.gz.part"
        rm "$OUT/$net.tar.gz"
    fi
    log "packed $net ($((size / 1024)) KiB)"
done
ls -l "$OUT" >&2
exit "$status"
