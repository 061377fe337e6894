#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# bench/wordcount/run.sh: the seed's MapReduce wordcount over 100 generated
# files of 1 MiB, run by zvapp (python mapper/reducer, and the C ones
# compiled to wasm) against `wc -w` over the same files.
#
#   1. generate the files (deterministic words; storage stand-in layout)
#   2. run each once for its result (and warm caches: page cache, the wasm
#      engine's compile cache)
#   3. time with hyperfine: wc -w, zvapp python, zvapp wasm, and two jobs of the
#      same shape (100 mappers streaming to 1 reducer) whose programs do
#      nothing: python3 running a script `pass`, and an empty wasm module.  Their time is
#      what starting the sandboxes (and zvapp's plan) costs, so
#      trivial / full is the share of the job spent starting sandboxes.
#   4. check that every run found the same total, print the table
#
# usage: bench/wordcount/run.sh [--files N] [--mib M] [--runs N] [--keep]
#   --runs N   timed runs of each command (hyperfine, after one warm-up; default 5)
# Environment: ZVAPP (default build/src/cli/zvapp), ZEROVM (default next to it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
files=100 mib=1 keep=0 runs=5
while [ $# -gt 0 ]; do
    case $1 in
    --files) files=$2; shift ;;
    --mib) mib=$2; shift ;;
    --runs) runs=$2; shift ;;
    --keep) keep=1 ;;
    *) echo "usage: $0 [--files N] [--mib M] [--runs N] [--keep]" >&2; exit 2 ;;
    esac
    shift
done
for tool in hyperfine bc clang-16; do
    command -v "$tool" >/dev/null || { echo "$0: needs $tool (apt-get install $tool)" >&2; exit 1; }
done
zvapp=${ZVAPP:-$repo/build/src/cli/zvapp}
export ZEROVM=${ZEROVM:-$(dirname "$zvapp")/zerovm}
ex=$repo/examples/wordcount
work=$(mktemp -d /tmp/zvapp-bench.XXXXXX)
[ "$keep" = 1 ] && echo "work directory: $work" || trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
data=$work/storage/local/mapreduce-data
mkdir -p "$data" "$work/storage/local/mapreduce-app" "$work/app/boot" "$work/trivial/boot"

# 1. Data: N files of M MiB of words drawn from a fixed vocabulary.
python3 - "$data" "$files" "$mib" <<'PY'
import random, sys
out, n, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(2013)
vocab = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod "
         "tempor incididunt ut labore et dolore magna aliqua zerovm sandbox channel "
         "manifest nvram report mapper reducer stream object container account").split()
size = mib << 20
for i in range(1, n + 1):
    words, total = [], 0
    while total < size:
        line = " ".join(rng.choice(vocab) for _ in range(rng.randint(8, 14))) + "\n"
        words.append(line)
        total += len(line)
    text = "".join(words)[:size]
    text = text[:text.rstrip().rfind(" ")] + "\n" if not text.endswith("\n") else text
    with open("%s/data%03d.txt" % (out, i), "w") as f:
        f.write(text)
PY
du -sh "$data" | awk '{print "data: " $1 " in '"$files"' files"}'

# The apps: python (the example's job and scripts) and trivial ones.
cp "$ex/job.json" "$work/app/boot/system.map"
cp "$ex/mapper.py" "$ex/reducer.py" "$work/app/"
cp "$ex/job.json" "$work/trivial/boot/system.map"
echo 'pass' > "$work/trivial/mapper.py"
echo 'pass' > "$work/trivial/reducer.py"
for p in mapper reducer; do
    clang-16 --target=wasm32-wasi -O2 -o "$work/storage/local/mapreduce-app/$p.wasm" "$ex/wasm/$p.c"
done
echo 'int main(void) { return 0; }' > "$work/empty.c"
clang-16 --target=wasm32-wasi -O2 -o "$work/storage/local/mapreduce-app/empty.wasm" "$work/empty.c"
sed 's/mapper.wasm/empty.wasm/; s/reducer.wasm/empty.wasm/' "$ex/job-wasm.json" > "$work/job-empty.json"

# The commands (each prints the total it found, "-" for the no-op jobs).
cat > "$work/cmds.sh" <<CMDS
run_wc()      { (cd "$data" && wc -w ./*.txt) | tail -1 | awk '{print \$1}'; }
run_python()  { "$zvapp" -q --storage "$work/storage" "$work/app" | tail -1 | awk '{print \$1}'; }
run_wasm()    { "$zvapp" -q --storage "$work/storage" "$ex/job-wasm.json" | tail -1 | awk '{print \$1}'; }
run_tpython() { "$zvapp" -q --storage "$work/storage" "$work/trivial" >/dev/null; echo -; }
run_twasm()   { "$zvapp" -q --storage "$work/storage" "$work/job-empty.json" >/dev/null; echo -; }
CMDS
. "$work/cmds.sh"
names="run_wc run_wasm run_python run_twasm run_tpython"

# 2-3. Results first (and warm caches: page cache, the wasm compile cache),
# then hyperfine: one warm-up and $runs timed runs of each.
declare -A result secs sds
for f in $names; do result[$f]=$($f); done
wc_total=${result[run_wc]}
status=0
for f in run_python run_wasm; do
    if [ "${result[$f]}" != "$wc_total" ]; then
        echo "MISMATCH: $f counted ${result[$f]} words, wc -w $wc_total" >&2
        status=1
    fi
done
args=()
for f in $names; do args+=(-n "$f" "bash -c '. $work/cmds.sh; $f >/dev/null'"); done
hyperfine -N --warmup 1 --runs "$runs" --export-json "$work/hyperfine.json" "${args[@]}" >/dev/null
while read -r name mean sd; do secs[$name]=$mean; sds[$name]=$sd; done < <(python3 - "$work/hyperfine.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(r["command"], r["mean"], r["stddev"] or 0)
PY
)

# 4. Report.
printf '\n%-34s %16s %8s %12s\n' "run (${files} files x ${mib} MiB)" "seconds (mean±sd)" "vs wc" "words"
row() { printf '%-34s %9.3f ±%5.3f %7.2fx %12s\n' "$1" "${secs[$2]}" "${sds[$2]}" "$(echo "${secs[$2]} / ${secs[run_wc]}" | bc -l)" "$3"; }
row "wc -w" run_wc "$wc_total"
row "zvapp wasm (C mapper/reducer)" run_wasm "${result[run_wasm]}"
row "zvapp python (seed's scripts)" run_python "${result[run_python]}"
row "zvapp, same job, wasm no-op" run_twasm "-"
row "zvapp, same job, python3 pass" run_tpython "-"
share=$(echo "100 * ${secs[run_tpython]} / ${secs[run_python]}" | bc -l)
wshare=$(echo "100 * ${secs[run_twasm]} / ${secs[run_wasm]}" | bc -l)
ratio=$(echo "${secs[run_wasm]} / ${secs[run_wc]}" | bc -l)
printf '\n%d runs each (hyperfine); nodes: %d mappers + 1 reducer, one component (started together), on %d CPUs; LANG=%s\n' \
    "$runs" "$files" "$(nproc)" "${LANG:-}"
printf 'python: %.0f%% of the job is starting sandboxes (no-op job / full job)\n' "$share"
printf 'wasm:   %.0f%% of the job is starting sandboxes\n' "$wshare"
if (( $(echo "$ratio <= 1.5" | bc -l) )); then
    printf 'goal wasm within 1.5x of wc -w: met (%.2fx)\n' "$ratio"
else
    printf 'goal wasm within 1.5x of wc -w: NOT met (%.2fx)\n' "$ratio"
fi
exit $status
