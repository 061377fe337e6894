#!/bin/sh
# The main job on the embedded defaults: a python3 script counts the words of
# an input channel and writes an output channel, sandboxed by the native
# engine; then the report.  Usage: examples/demo/run.sh [path/to/zerovm]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
zerovm=${1:-${ZEROVM:-$here/../../build/src/cli/zerovm}}
python=/usr/bin/python3
work=$(mktemp -d /tmp/zerovm-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"

cat > "$work/nvram" <<NVRAM
[args]
args = python3 /app/wordcount.py
[env]
name=LANG,value=C.UTF-8
NVRAM
cat > "$work/manifest" <<MANIFEST
Version = 20130611
Timeout = 30
Memory = 536870912,0
Program = $python
Channel = /dev/stdin,/dev/stdin,0,0,1024,1048576,0,0
Channel = /dev/stdout,/dev/stdout,0,0,0,0,1024,1048576
Channel = /dev/stderr,/dev/stderr,0,0,0,0,1024,1048576
Channel = $here/wordcount.py,/app/wordcount.py,3,0,1024,1048576,0,0
Channel = $here/input.txt,/dev/input,0,1,1024,1048576,0,0
Channel = $work/output.txt,/dev/output,0,1,0,0,1024,1048576
Channel = $work/nvram,/dev/nvram,0,0,64,65536,0,0
MANIFEST

echo "== manifest ($work/manifest)"
cat "$work/manifest"
echo "== running: $zerovm $work/manifest"
status=0
"$zerovm" "$work/manifest" > "$work/report" || status=$?
echo "== output channel (/dev/output -> $work/output.txt)"
cat "$work/output.txt"
echo "== report (validator, daemon, user rc, etags, accounting, exit state)"
cat "$work/report"
echo "== md5sum of the output file (equals the /dev/output etag)"
md5sum "$work/output.txt"
exit "$status"
