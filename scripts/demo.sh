#!/bin/sh
# README command 1: install what is needed, build, and run the main jobs:
# examples/demo (a sandboxed python3 script between two channels), then
# examples/wordcount (the seed's MapReduce job, run by zvapp).
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" -eq 0 ]; then scripts/install-deps.sh; else sudo scripts/install-deps.sh; fi
[ -f build/build.ninja ] || meson setup build
ninja -C build
examples/demo/run.sh build/src/cli/zerovm
# The main job: the seed documents' MapReduce wordcount, three mapper nodes
# streaming to a reducer, run by zvapp (reports, summary, then the output).
echo
echo "== zvapp: the seed's MapReduce wordcount (examples/wordcount)"
exec examples/wordcount/run.sh -v build/src/cli/zvapp
