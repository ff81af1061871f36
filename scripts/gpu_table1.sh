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
# seconds for all training, default 400, so that the build and the packing fit the device
# tool's 600 s per command: each network's reproduce.sh is stopped at the budget and what
# finished is packed; a later call resumes), PACK_ONLY ("NET ...": no build, no training, pack
# these networks' runs from WORK: the second call when the first return was full), BASE_EPOCHS (15), TUNE_EPOCHS
# (2), SCALES ("1 0.3"), BASE_BATCHES/TUNE_BATCHES/EVAL_BATCHES (0 = all), THREADS (4 per
# network), BUILD_DIR (build-gpu), WORK (/tmp/actsparse-gpu), SKIP_BUILD (1: use BUILD_DIR as
# it is). Exit 2 with one line when an input is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-${OUT:-runs/gpu-table1}}
CARRY=${CARRY:-device-carry}
DEVICE=${DEVICE:-cuda}
NETS=${NETS:-"mobilenetv2-cifar:1 squeezenet-cifar:1 inceptionv3-cifar:0.25"}
BUDGET_S=${BUDGET_S:-400}
BUILD_DIR=${BUILD_DIR:-build-gpu}
WORK=${WORK:-/tmp/actsparse-gpu}
THREADS=${THREADS:-4}
export BASE_EPOCHS=${BASE_EPOCHS:-15} TUNE_EPOCHS=${TUNE_EPOCHS:-2} SCALES=${SCALES:-"1 0.3"}
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
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    ROOT=$WORK/root
    mkdir -p "$ROOT"
    if compgen -G "$CARRY/debs/*.deb" >/dev/null; then
        for f in "$CARRY"/debs/*.deb; do dpkg -x "$f" "$ROOT"; done
    fi
    LIBDIR=$ROOT/usr/lib/x86_64-linux-gnu
    export CPATH=$ROOT/usr/include${CPATH:+:$CPATH}
    export LIBRARY_PATH=$LIBDIR${LIBRARY_PATH:+:$LIBRARY_PATH}
    export LD_LIBRARY_PATH=$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
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
    # First with data-parallel training over c10d (NCCL on a GPU: issue 15 wants its build
    # checked there); if that does not compile against this LibTorch, without it (one rank),
    # the failure kept in build.log.
    C10D=(-DACTSPARSE_C10D=ON -DACTSPARSE_C10D_NCCL=OFF)
    [ "$DEVICE" != cpu ] && C10D=(-DACTSPARSE_C10D=ON -DACTSPARSE_C10D_NCCL=ON)
    : >"$OUT/build.log"
    if ! configure_and_build "${C10D[@]}"; then
        log "the build with ${C10D[*]} failed (build.log); again without c10d"
        configure_and_build -DACTSPARSE_C10D=OFF -DACTSPARSE_C10D_NCCL=OFF ||
            { tail -30 "$OUT/build.log" >&2; die "build failed (log: $OUT/build.log)"; }
    fi
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
for nw in $NETS_TRAIN; do
    net=${nw%%:*} width=${nw#*:}
    dir=$WORK/runs/$net
    mkdir -p "$dir"
    for mode in skip gate; do cp "$CARRY/calib/$net-w$width-$mode.json" "$dir/calib-$mode.json"; done
    log "train $net at width $width on $DEVICE"
    ACTSPARSE_BUILD_DIR=$BUILD_DIR NET=$net WIDTH=$width DEVICE=$DEVICE STOP_AFTER=train \
        DATASET=cifar10 DATA=$DATA THREADS=$THREADS \
        timeout --signal=INT --kill-after=30 "$BUDGET_S" scripts/reproduce.sh "$net" "$dir" \
        >"$dir/stdout.log" 2>&1 &
    pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
log "training ended (status $status: 0 = every network chose its runs)"

# 4. Packing: per network one tar.gz of what the CPU side needs: its calibrations, logs and
# the chosen runs' summaries, configs, logs and weights (every finished run when the budget
# stopped the search; never checkpoints). The device tool returns at most 8 files of 16 MiB,
# 64 MiB in all: a network that no longer fits is left for a second call with PACK_ONLY=NET
# (WORK survives while the machine stays warm).
pack_net() {  # pack_net NET: prints the packed bytes
    local net=$1 dir=$WORK/runs/$1 runs=() files=()
    if [ -f "$dir/chosen-runs.txt" ]; then
        while read -r r; do runs+=("$(basename "$r")"); done <"$dir/chosen-runs.txt"
    else
        for r in "$dir"/*/summary.json; do [ -f "$r" ] && runs+=("$(basename "$(dirname "$r")")"); done
    fi
    for f in calib-skip.json calib-gate.json reproduce.log stdout.log chosen-runs.txt; do
        [ -f "$dir/$f" ] && files+=("$f")
    done
    for r in "${runs[@]}"; do
        for f in summary.json config.json log.jsonl model.safetensors; do
            [ -f "$dir/$r/$f" ] && files+=("$r/$f")
        done
    done
    tar -czf "$OUT/$net.tar.gz" -C "$dir" "${files[@]}"
    stat -c %s "$OUT/$net.tar.gz"
}
LIMIT=$((60 * 1024 * 1024))
used=0
for nw in ${PACK_ONLY:-$NETS}; do
    net=${nw%%:*}
    [ -d "$WORK/runs/$net" ] || { log "not packed: $net (no runs)"; continue; }
    size=$(pack_net "$net")
    if [ $((used + size)) -gt "$LIMIT" ]; then
        rm -f "$OUT/$net.tar.gz"
        log "not packed: $net ($((size / 1024)) KiB over the 64 MiB return; next call: PACK_ONLY=$net)"
        continue
    fi
    used=$((used + size))
    if [ "$size" -gt $((16 * 1024 * 1024 - 4096)) ]; then
        split -b 15m -d "$OUT/$net.tar.gz" "$OUT/$net.tar.gz.part"
        rm "$OUT/$net.tar.gz"
    fi
    log "packed $net ($((size / 1024)) KiB)"
done
ls -l "$OUT" >&2
exit "$status"
