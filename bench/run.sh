#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# bench/run.sh: zerovm start-up benchmark, every scenario in one run.
#
#   static hello (gcc -O2 -static): bare | unshare | bwrap | zerovm
#   /usr/bin/python3 -c pass:       bare | zerovm
#   + process-start probes (zerovm -V, empty programs linked like zerovm)
#   + bench/phases: an in-process ladder that prices each step of a jail
#   + as root: the same hello/python rows again as nobody (setpriv)
#
# Prints a table (mean ± sd, ratio and +ms vs bare), the goals met or not,
# and a ranked cost breakdown; writes bench/results/latest.json.
#
# usage: bench/run.sh [--runs N] [--warmup N] [--rounds N] [--quick]
#                     [--no-build] [--no-unpriv] [--perf] [--keep] [--out FILE]
#
#   --runs N     samples per scenario, over all rounds (default 300)
#   --warmup N   warm-up runs per scenario and round (default 5)
#   --rounds N   hyperfine passes over all scenarios; samples are merged, so
#                slow drift of a noisy machine hits every scenario (default 5)
#   --quick      --runs 60 --rounds 2, phases with 60 runs
#   --no-build   do not run ninja before measuring
#   --no-unpriv  skip the setpriv (nobody) rows
#   --perf       also profile 100 zerovm runs with perf (by shared object)
#   --out FILE   JSON output (default bench/results/latest.json)
#   --keep       keep the work directory (programs, manifests, raw hyperfine JSON)
#
# Environment: ZEROVM (binary, default build/src/cli/zerovm), BUILD_DIR
# (default build), CC (default gcc).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
ZEROVM=${ZEROVM:-$BUILD_DIR/src/cli/zerovm}
CC=${CC:-gcc}
PY=/usr/bin/python3          # Debian's python, never a pyenv shim
RUNS=300 WARMUP=5 ROUNDS=5 PHASE_RUNS=200
BUILD=1 UNPRIV=1 PERF=0 KEEP=0
OUT=$BENCH/results/latest.json

while [ $# -gt 0 ]; do
    case $1 in
    --runs) RUNS=$2; shift ;;
    --warmup) WARMUP=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --quick) RUNS=60 ROUNDS=2 PHASE_RUNS=60 ;;
    --no-build) BUILD=0 ;;
    --no-unpriv) UNPRIV=0 ;;
    --perf) PERF=1 ;;
    --keep) KEEP=1 ;;
    --out) OUT=$2; shift ;;
    -h|--help) sed -n '3,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done

say() { printf '%s\n' "$*" >&2; }
skip() { printf 'skip: %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

# ---- prerequisites ------------------------------------------------------
have "$CC" || die "no C compiler ($CC); needed for the static hello"
[ -x "$PY" ] || die "$PY is missing (used for the report and as the python measured)"
if [ "$BUILD" = 1 ]; then
    if have ninja && [ -d "$BUILD_DIR" ]; then
        say "building zerovm (ninja -C $BUILD_DIR)"
        if ! ninja -C "$BUILD_DIR" >/dev/null 2>&1; then
            say "full build failed; building the zerovm target only"
            ninja -C "$BUILD_DIR" src/cli/zerovm >/dev/null || die "cannot build zerovm"
        fi
    else
        skip "ninja or $BUILD_DIR missing: using $ZEROVM as it is"
    fi
fi
[ -x "$ZEROVM" ] || die "no zerovm binary at $ZEROVM (build it or set ZEROVM)"
HAVE_HF=1; have hyperfine || { HAVE_HF=0; skip "hyperfine not found: no scenario table, phases only"; }

# A work directory that nobody (uid 65534, the setpriv rows) can read: 755 / 644.
W=$(mktemp -d /tmp/zvm-bench.XXXXXX)
if [ "$KEEP" = 1 ]; then trap 'say "kept $W"' EXIT; else trap 'rm -rf "$W"' EXIT; fi
chmod 755 "$W"

# ---- programs -----------------------------------------------------------
say "compiling the benchmark programs in $W"
"$CC" -O2 -static -o "$W/hello" "$BENCH/hello.c" || die "cannot build a static hello (is libc6-dev installed?)"
"$CC" -O2 -static -o "$W/pause" "$BENCH/pause.c" || die "cannot build bench/pause.c"
[ "$("$W/hello")" = hello ] || die "the static hello does not print hello"

# zerovm's own libraries, to price process start-up with the same DT_NEEDED set
ZLIBS=()
while read -r lib; do ZLIBS+=("-l:$lib"); done < <(readelf -d "$ZEROVM" 2>/dev/null |
    sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | grep -v '^libc\.so')
"$CC" -O2 -o "$W/stub_libc" "$BENCH/startstub.c"
"$CC" -O2 -o "$W/stub_seccomp" "$BENCH/startstub.c" -Wl,--no-as-needed -lseccomp || rm -f "$W/stub_seccomp"
"$CC" -O2 -o "$W/stub_zvmlibs" "$BENCH/startstub.c" -Wl,--no-as-needed "${ZLIBS[@]}" || rm -f "$W/stub_zvmlibs"
"$CC" -O2 -o "$W/stub_archive" "$BENCH/startstub.c" -Wl,--no-as-needed -larchive 2>/dev/null || rm -f "$W/stub_archive"
"$CC" -O2 -o "$W/stub_crypto" "$BENCH/startstub.c" -Wl,--no-as-needed -lcrypto 2>/dev/null || rm -f "$W/stub_crypto"

# phases, linked with zerovm's engine when its static libraries are there
# (for zvm__seccomp_load), else alone; either way with zerovm's libraries so
# its fork() copies a process of zerovm's size.
PHASES_LINKED=false
if [ -f "$BUILD_DIR/src/engine/libzvmengine.a" ] && [ -f "$BUILD_DIR/src/lib/libzvm.a" ] &&
   "$CC" -O2 -std=gnu17 -I"$ROOT/include" -DHAVE_ZVM_SECCOMP -o "$W/phases" "$BENCH/phases.c" \
       "$BUILD_DIR/src/engine/libzvmengine.a" "$BUILD_DIR/src/lib/libzvm.a" \
       -Wl,--no-as-needed "${ZLIBS[@]}" -lm 2>"$W/phases.cc.log"; then
    PHASES_LINKED=true
elif "$CC" -O2 -std=gnu17 -o "$W/phases" "$BENCH/phases.c" -Wl,--no-as-needed "${ZLIBS[@]}" -lm; then
    skip "phases not linked with libzvmengine (see below): no seccomp build timing"
    sed 's/^/  /' "$W/phases.cc.log" >&2 || true
else
    rm -f "$W/phases"; skip "cannot compile bench/phases.c"
fi

# ---- manifests ------------------------------------------------------------
manifest() { # FILE PROGRAM MEMORY [extra channel lines...]
    local f=$1 prog=$2 mem=$3; shift 3
    {
        echo "Version = 20130611"
        echo "Timeout = 10"
        echo "Memory = $mem,0"
        echo "Program = $prog"
        for ch in "$@"; do echo "Channel = $ch"; done
    } >"$f"
}
STDIN=/dev/stdin,/dev/stdin,0,0,8192,8192,0,0
STDOUT=/dev/stdout,/dev/stdout,0,0,0,0,8192,8192
STDERR=/dev/stderr,/dev/stderr,0,0,0,0,8192,8192
manifest "$W/hello.manifest" "$W/hello" 268435456 $STDIN $STDOUT $STDERR
manifest "$W/hello_1ch.manifest" "$W/hello" 268435456 $STDOUT
manifest "$W/pause.manifest" "$W/pause" 268435456 $STDIN $STDOUT $STDERR
printf '[args]\nargs = python3 -c pass\n' >"$W/py.nvram"
manifest "$W/py.manifest" "$PY" 1073741824 $STDIN $STDOUT $STDERR "$W/py.nvram,/dev/nvram,3,0,8192,8192,0,0"
chmod 644 "$W"/*.manifest "$W/py.nvram"

# ---- scenarios --------------------------------------------------------------
NAMES=() CMDS=()
add() { # NAME CMD...   (checked first: exit status 0, and EXPECT in the output if set)
    local name=$1; shift
    local out
    if ! out=$("$@" 2>"$W/check.err"); then
        skip "$name: '$*' failed: $(head -c 300 "$W/check.err")"
        return 1
    fi
    if [ -n "${EXPECT:-}" ] && ! grep -q -- "$EXPECT" <<<"$out"; then
        skip "$name: '$*' did not print '$EXPECT'"
        return 1
    fi
    NAMES+=("$name")
    CMDS+=("$*")
}
UNSHARE_CMD="" BWRAP_CMD=""
EXPECT=hello add hello_bare "$W/hello" || die "the bare hello cannot be run"
if have unshare; then
    for u in "unshare -Umpfniu -r" "unshare -Umpfniu --map-root-user" "unshare -Umpf -r"; do
        if $u "$W/hello" >/dev/null 2>&1; then UNSHARE_CMD=$u; break; fi
    done
    if [ -n "$UNSHARE_CMD" ]; then
        EXPECT=hello add hello_unshare $UNSHARE_CMD "$W/hello" || UNSHARE_CMD=""
    else
        skip "unshare cannot create the namespaces here"
    fi
else
    skip "unshare (util-linux) not found"
fi
if have bwrap; then
    BWRAP_CMD="bwrap --unshare-all --ro-bind / / --dev /dev --proc /proc"
    EXPECT=hello add hello_bwrap $BWRAP_CMD "$W/hello" || BWRAP_CMD=""
    EXPECT=hello add hello_bwrap_min bwrap --unshare-all --ro-bind "$W/hello" /hello /hello || true
else
    skip "bwrap (bubblewrap) not found"
fi
EXPECT=hello add hello_zerovm "$ZEROVM" "$W/hello.manifest" || true
EXPECT=hello add hello_zerovm_1ch "$ZEROVM" "$W/hello_1ch.manifest" || true
add py_bare "$PY" -c pass || true
EXPECT=ok add py_zerovm "$ZEROVM" "$W/py.manifest" || true
add zerovm_version "$ZEROVM" -V || true
for s in stub_libc stub_seccomp stub_archive stub_crypto stub_zvmlibs; do
    [ -x "$W/$s" ] && add "$s" "$W/$s" || true
done
IS_ROOT=false; [ "$(id -u)" = 0 ] && IS_ROOT=true
UNPRIV_DONE=false
if [ "$UNPRIV" = 1 ] && $IS_ROOT; then
    if have setpriv && setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
        SP="setpriv --reuid=65534 --regid=65534 --clear-groups"
        EXPECT=hello add u_hello_bare $SP "$W/hello" && UNPRIV_DONE=true
        [ -n "$UNSHARE_CMD" ] && { EXPECT=hello add u_hello_unshare $SP $UNSHARE_CMD "$W/hello" || true; }
        [ -n "$BWRAP_CMD" ] && { EXPECT=hello add u_hello_bwrap $SP $BWRAP_CMD "$W/hello" || true; }
        EXPECT=hello add u_hello_zerovm $SP "$ZEROVM" "$W/hello.manifest" || true
        add u_py_bare $SP "$PY" -c pass || true
        EXPECT=ok add u_py_zerovm $SP "$ZEROVM" "$W/py.manifest" || true
    else
        skip "setpriv missing or not working: no unprivileged rows"
    fi
elif [ "$UNPRIV" = 1 ]; then
    say "not root: the main table is already unprivileged"
fi

# ---- measure ----------------------------------------------------------------
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
awk '{ exit !($1 > 0.5) }' /proc/loadavg &&
    say "warning: load average is $LOAD_BEFORE; other work on the machine will show in the numbers"
if [ "$HAVE_HF" = 1 ] && [ ${#NAMES[@]} -gt 0 ]; then
    per=$(( (RUNS + ROUNDS - 1) / ROUNDS ))
    [ "$per" -lt 2 ] && per=2
    for r in $(seq 1 "$ROUNDS"); do
        say "hyperfine round $r/$ROUNDS: ${#NAMES[@]} scenarios x $per runs (+$WARMUP warm-up)"
        args=()
        for i in "${!NAMES[@]}"; do args+=(-n "${NAMES[$i]}" "${CMDS[$i]}"); done
        hyperfine -N --style none --warmup "$WARMUP" --runs "$per" --output=null \
            --export-json "$W/hf.$r.json" "${args[@]}" >/dev/null 2>>"$W/hyperfine.log" ||
            { cat "$W/hyperfine.log" >&2; die "hyperfine failed in round $r"; }
    done
fi

if [ -s "$W/hyperfine.log" ]; then
    n=$(grep -c 'Warning' "$W/hyperfine.log" || true)
    say "hyperfine printed $n warnings (outliers: a noisy machine; --keep to read them)"
fi

if [ -x "$W/phases" ]; then
    say "phases: in-process ladder, $PHASE_RUNS runs per rung"
    "$W/phases" -n "$PHASE_RUNS" -w 20 -z "$ZEROVM" -c "$W/pause.manifest" -P "$W/pause" \
        "$W/hello" >"$W/phases.json" || { skip "phases failed"; rm -f "$W/phases.json"; }
fi

# Supervisor notifications per run (strace sees the jailed child's calls
# too), and how many system calls python makes (each pays for the filters).
if have strace && $IS_ROOT; then
    for k in hello py; do
        strace -f -qq -e trace=ioctl -o "$W/strace.$k" "$ZEROVM" "$W/$k.manifest" >/dev/null 2>&1 || true
        grep -c 'SECCOMP_IOCTL_NOTIF_RECV, {id=' "$W/strace.$k" >"$W/count.notify_$k.txt" 2>/dev/null || true
    done
    strace -f -qq -c -o "$W/strace.pycount" "$PY" -c pass >/dev/null 2>&1 &&
        awk '$NF == "total" { print $4 }' "$W/strace.pycount" >"$W/count.syscalls_py.txt" || true
else
    skip "strace missing or not root: no notification counts"
fi

# zerovm's own timeline: `perf trace` (much lighter than strace) on a few
# runs; report.py turns the syscall timestamps into phases.
TRACE_RUNS=${TRACE_RUNS:-20}
if have perf && $IS_ROOT && perf trace -o "$W/trace.check" -- true >/dev/null 2>&1; then
    say "perf trace: zerovm timeline, $TRACE_RUNS runs each of hello and python"
    for k in hello py; do
        for i in $(seq 1 "$TRACE_RUNS"); do
            perf trace -o "$W/trace.$k.$i.txt" -- "$ZEROVM" "$W/$k.manifest" >/dev/null 2>&1 || true
        done
    done
    for i in $(seq 1 "$TRACE_RUNS"); do  # bare python, traced the same way
        perf trace -o "$W/trace.pybare.$i.txt" -- "$PY" -c pass >/dev/null 2>&1 || true
    done
else
    skip "perf trace unavailable (needs perf and root): no zerovm timeline"
fi

if [ "$PERF" = 1 ]; then
    if have perf; then
        say "perf: profiling 100 zerovm runs of the hello"
        if perf record -q -g -F 10000 -o "$W/perf.data" -- bash -c \
            "for i in \$(seq 100); do '$ZEROVM' '$W/hello.manifest' >/dev/null; done" >/dev/null 2>&1; then
            perf report -i "$W/perf.data" --stdio --no-children -g none --sort comm,dso 2>/dev/null |
                grep -v '^#' | grep -v '^$' | head -20 >"$W/perf-dso.txt" || true
            # inclusive ("children") time of the zerovm process by function
            perf report -i "$W/perf.data" --stdio --children -g none --comm zerovm --sort sym 2>/dev/null |
                grep -v '^#' | grep -v '^$' | head -45 >"$W/perf-zerovm.txt" || true
        else
            skip "perf record failed"
        fi
    else
        skip "perf not found"
    fi
fi

# ---- metadata and report -----------------------------------------------------
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
cmds_json=$(for i in "${!NAMES[@]}"; do printf '%s\t%s\n' "${NAMES[$i]}" "${CMDS[$i]}"; done)
ver() { "$@" 2>&1 | head -1 || true; }
ZEROVM="$ZEROVM" W="$W" RUNS="$RUNS" ROUNDS="$ROUNDS" WARMUP="$WARMUP" PHASE_RUNS="$PHASE_RUNS" \
PHASES_LINKED="$PHASES_LINKED" IS_ROOT="$IS_ROOT" UNPRIV_DONE="$UNPRIV_DONE" \
UNSHARE_CMD="$UNSHARE_CMD" BWRAP_CMD="$BWRAP_CMD" CMDS_TSV="$cmds_json" \
LOAD_BEFORE="$LOAD_BEFORE" LOAD_AFTER="$LOAD_AFTER" \
V_HF="$(ver hyperfine --version)" V_BWRAP="$(ver bwrap --version)" V_UNSHARE="$(ver unshare --version)" \
V_PY="$(ver "$PY" --version)" V_CC="$(ver "$CC" --version)" \
"$PY" - <<'EOF'
import hashlib, json, os, platform, subprocess, time
e = os.environ
def sh(*a):
    try:
        return subprocess.run(a, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""
cpu = ""
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip(); break
except OSError:
    pass
debian = ""
try:
    debian = open("/etc/debian_version").read().strip()
except OSError:
    pass
z = e["ZEROVM"]
meta = {
    "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "kernel": platform.release(),
    "cpus": os.cpu_count(),
    "cpu": cpu,
    "virt": sh("systemd-detect-virt") or None,
    "debian": debian,
    "root": e["IS_ROOT"] == "true",
    "zerovm": z,
    "zerovm_sha256": hashlib.sha256(open(z, "rb").read()).hexdigest(),
    "zerovm_mtime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(os.stat(z).st_mtime)),
    "runs_total": int(e["RUNS"]), "rounds": int(e["ROUNDS"]), "warmup": int(e["WARMUP"]),
    "phase_runs": int(e["PHASE_RUNS"]),
    "phases_linked_with_engine": e["PHASES_LINKED"] == "true",
    "unprivileged_rows": e["UNPRIV_DONE"] == "true",
    "unshare": e["UNSHARE_CMD"], "bwrap": e["BWRAP_CMD"],
    "loadavg_before": e["LOAD_BEFORE"], "loadavg_after": e["LOAD_AFTER"],
    "versions": {"hyperfine": e["V_HF"], "bwrap": e["V_BWRAP"], "unshare": e["V_UNSHARE"],
                 "python": e["V_PY"], "cc": e["V_CC"]},
    "commands": dict(l.split("\t", 1) for l in e["CMDS_TSV"].splitlines() if "\t" in l),
}
json.dump(meta, open(os.path.join(e["W"], "meta.json"), "w"), indent=2)
EOF
"$PY" "$BENCH/report.py" "$W" "$OUT"
