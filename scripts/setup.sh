#!/usr/bin/env bash
# Shared set-up for ./run.sh and ./test.sh: installs missing Debian packages (apt only),
# then configures and builds into build/. Idempotent: does nothing slow when all is there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ACTSPARSE_PACKAGES=(
    g++ cmake make pkg-config
    libsystemc-dev          # SystemC 2.3.4 + TLM-2.0 (pkg-config systemc)
    libtorch-dev            # LibTorch 1.13 CPU (find_package(Torch))
    nlohmann-json3-dev libyaml-cpp-dev libcli11-dev zlib1g-dev
    googletest libgtest-dev libbenchmark-dev
    gnuplot-nox             # figures of calibration/evaluation reports
    dataset-fashion-mnist   # the default dataset, /usr/share/datasets/fashion-mnist
    python3-numpy           # checks the docs' Python trace reader
    libonnx-dev libprotobuf-dev  # ONNX models (--onnx): the generated protobuf classes
    libgloo-dev             # Gloo headers: data-parallel training over torch c10d
    libjpeg62-turbo-dev libpng-dev libarchive-dev  # ImageFolder datasets (JPEG, PNG, .tar.gz)
)

missing=()
for p in "${ACTSPARSE_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q >&2
    $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

BUILD_DIR=${ACTSPARSE_BUILD_DIR:-build}
JOBS=${ACTSPARSE_JOBS:-$(nproc)}
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
    cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release ${ACTSPARSE_CMAKE_ARGS:-} >&2
fi
cmake --build "$BUILD_DIR" -j "$JOBS" >&2
