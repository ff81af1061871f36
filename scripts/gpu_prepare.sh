#!/usr/bin/env bash
# Fills device-carry/ (CARRY) for scripts/gpu_table1.sh, on this Debian machine:
#   debs/   Debian's packages the GPU machine's trainer build needs and lacks (headers of
#           nlohmann-json, yaml-cpp, CLI11, zlib, libjpeg, libpng; apt-get download, no install):
#           gpu_table1.sh unpacks them into a scratch folder there, never into /;
#   data/   the CIFAR-10 JPEG archive (ARCHIVE, default ../shared/data/cifar10-jpeg.tar.gz);
#   calib/  NET-wWIDTH-{skip,gate}.json for every network, made here with the simulator (the
#           GPU machine has no SystemC). CALIB_ARGS adds calibrate flags (a smaller sweep).
# Then, with the device tool: run(command="scripts/gpu_table1.sh $OUT", carry=["device-carry"]).
# Environment: NETS ("NET:WIDTH ...", as gpu_table1.sh), JOBS (calibrate workers), CARRY.
# Re-runs keep what exists (calibrations are also cached point by point).
set -euo pipefail
cd "$(dirname "$0")/.."
CARRY=${CARRY:-device-carry}
NETS=${NETS:-"mobilenetv2-cifar:1 squeezenet-cifar:1 inceptionv3-cifar:0.25"}
ARCHIVE=${ARCHIVE:-../shared/data/cifar10-jpeg.tar.gz}
BIN=${ACTSPARSE_BUILD_DIR:-build}/bin/actsparse
JOBS=${JOBS:-$(nproc)}
CALIB_ARGS=${CALIB_ARGS:-}
die() { echo "gpu_prepare.sh: $*" >&2; exit 2; }
[ -x "$BIN" ] || die "$BIN: not built (./run.sh builds it)"
[ -f "$ARCHIVE" ] || die "$ARCHIVE: missing (ARCHIVE=PATH)"
mkdir -p "$CARRY/debs" "$CARRY/data" "$CARRY/calib"

DEBS=(nlohmann-json3-dev libyaml-cpp-dev libyaml-cpp0.7 libcli11-dev zlib1g-dev
      libjpeg62-turbo libjpeg62-turbo-dev libpng-dev libpng16-16)
missing=()
for d in "${DEBS[@]}"; do compgen -G "$CARRY/debs/${d}_*.deb" >/dev/null || missing+=("$d"); done
if ((${#missing[@]})); then
    (cd "$CARRY/debs" && apt-get download "${missing[@]}") >&2
fi
cp -u "$ARCHIVE" "$CARRY/data/cifar10-jpeg.tar.gz"

for nw in $NETS; do
    net=${nw%%:*} width=${nw#*:}
    for mode in skip gate; do
        out=$CARRY/calib/$net-w$width-$mode.json
        [ -f "$out" ] && continue
        echo "gpu_prepare: calibrate $net width $width ($mode)" >&2
        # shellcheck disable=SC2086  # CALIB_ARGS is a list of flags
        "$BIN" calibrate --net "$net" --width "$width" --zero-mode "$mode" --jobs "$JOBS" \
            --out "$out" --report none --quiet $CALIB_ARGS
    done
done
du -sh "$CARRY" >&2
echo "device-carry ready: run scripts/gpu_table1.sh \$OUT there with carry [\"$CARRY\"]" >&2
