#!/bin/sh
# The seed documents' MapReduce wordcount, run by zvapp on this machine.
# Sets up the storage stand-in (swift://~/mapreduce-data/mrdata{1,2,3}.txt
# = <storage>/local/mapreduce-data/...), makes the app (boot/system.map =
# job.json, mapper.py, reducer.py, as `zpm bundle` would) and runs it: three
# mapper nodes (one per object) stream their counts to one reducer node.
#
# Usage: examples/wordcount/run.sh [--wasm] [-v] [path/to/zvapp]
#   --wasm   the same job with the C mapper and reducer built for wasm32-wasi
#            (needs clang-16 with wasi-libc; or $WORDCOUNT_WASM_DIR holding
#            mapper.wasm and reducer.wasm)
#   -v       also print every node's report and the execution summary
# Prints the reducer's output (the job's immediate output):
#    104 mapreduce-data/mrdata1.txt
#    101 mapreduce-data/mrdata2.txt
#     69 mapreduce-data/mrdata3.txt
#    274 total
set -eu
here=$(cd "$(dirname "$0")" && pwd)
wasm=0 quiet=-q
while [ $# -gt 0 ]; do
    case $1 in
    --wasm) wasm=1 ;;
    -v) quiet= ;;
    *) break ;;
    esac
    shift
done
zvapp=${1:-${ZVAPP:-$here/../../build/src/cli/zvapp}}
work=$(mktemp -d /tmp/zvapp-wordcount.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"

# The storage stand-in: the account "local" (what "~" means by default).
mkdir -p "$work/storage/local/mapreduce-data" "$work/storage/local/mapreduce-app"
cp "$here"/mrdata1.txt "$here"/mrdata2.txt "$here"/mrdata3.txt "$work/storage/local/mapreduce-data/"

if [ "$wasm" = 1 ]; then
    if [ -n "${WORDCOUNT_WASM_DIR:-}" ]; then
        cp "$WORDCOUNT_WASM_DIR/mapper.wasm" "$WORDCOUNT_WASM_DIR/reducer.wasm" \
           "$work/storage/local/mapreduce-app/"
    else
        for p in mapper reducer; do
            clang-16 --target=wasm32-wasi -O2 -o "$work/storage/local/mapreduce-app/$p.wasm" \
                "$here/wasm/$p.c"
        done
    fi
    "$zvapp" $quiet --storage "$work/storage" "$here/job-wasm.json"
    exit
fi
# The app: what `zpm bundle` puts in mapreduce.zapp.
mkdir -p "$work/app/boot"
cp "$here/job.json" "$work/app/boot/system.map"
cp "$here/mapper.py" "$here/reducer.py" "$work/app/"
"$zvapp" $quiet --storage "$work/storage" "$work/app"
