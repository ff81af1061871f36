#!/usr/bin/env bash
# Installs what is missing, builds, and runs the main job on a built-in default.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
exec scripts/main_job.sh "$@"
