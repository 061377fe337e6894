#!/bin/sh
# README command 1: install what is needed, build, and run the main job
# (examples/demo: a sandboxed python3 script between two channels).
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" -eq 0 ]; then scripts/install-deps.sh; else sudo scripts/install-deps.sh; fi
[ -f build/build.ninja ] || meson setup build
ninja -C build
exec examples/demo/run.sh build/src/cli/zerovm
