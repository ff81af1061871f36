#!/usr/bin/env bash
# Fails when a tracked C++ file is not clang-formatted (the repo's .clang-format).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "check_format: clang-format not installed, skipped" >&2; exit 0; }
bad=$(git ls-files '*.h' '*.cc' | while read -r f; do
    clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || echo "$f"; done)
if [ -n "$bad" ]; then
    echo "check_format: not clang-formatted:" $bad >&2
    exit 1
fi
