#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# bench/wasm/run.sh: the wasm engine's compute benchmark, native and wasm
# side by side in one run.
#
#   sha256, matmul, nbody, wordcount (bench/wasm/*.c), each built
#     natively   gcc -O2
#     as wasm    clang-16 --target=wasm32-wasi -O2
#   and run interleaved in several rounds (hyperfine -N): native, wasm through
#   `zerovm MANIFEST` (when zerovm runs .wasm programs), and wasm "in-process"
#   through the stand-in host (wasm2c + gcc -O2 -shared -fPIC + dlopen,
#   bench/wasm/host_standin.c, a minimal WASI), with the checksums compared.
#   + start-up: the cached wasm hello through zerovm, next to the static native
#     hello (bench/hello.c) through zerovm and bare, and the stand-in
#   + instantiation inside the process (the stand-in times Z_prog_instantiate)
#   + compile time of a cache miss (fresh ZEROVM_CACHE_DIR; and the stand-in's
#     wasm2c + gcc time for the same module)
#   + --flags: which gcc flags make wasm2c code fast (stand-in only)
#
# usage: bench/wasm/run.sh [--quick] [--rounds N] [--runs N] [--flags]
#                          [--no-zerovm] [--keep] [--report DIR]
#
#   --rounds N   passes over all programs; the samples are merged (default 5)
#   --runs N     samples per command and round for the compute set (default 1,
#                so native and wasm runs alternate)
#   --quick      --rounds 2 --runs 1, 30 hello runs per round, 200 instantiations,
#                one cache miss per program (default 3)
#   --flags      also compile the stand-in with other gcc flags and time them
#   --no-zerovm  do not use zerovm even if it runs .wasm programs
#   --keep       keep the work directory (its report.txt is the printed report)
#   --report DIR print the report of a kept work directory again
#
# Environment: ZEROVM (default build/src/cli/zerovm), CC (gcc), WASM_CC
# (clang-16), WASM2C (wasm2c), WASM_RT (/usr/src/wasm2c).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SRC=$ROOT/bench/wasm
ZEROVM=${ZEROVM:-$ROOT/build/src/cli/zerovm}
CC=${CC:-gcc}
WASM_CC=${WASM_CC:-clang-16}
WASM2C=${WASM2C:-wasm2c}
WASM_RT=${WASM_RT:-/usr/src/wasm2c}
PY=/usr/bin/python3
ROUNDS=5 RUNS=1 HELLO_RUNS=100 INST_ITERS=1000 COLD_RUNS=3 FLAGS=0 USE_ZVM=1 KEEP=0 REPORT_DIR=
PROGS=(sha256 matmul nbody wordcount)

while [ $# -gt 0 ]; do
    case $1 in
    --rounds) ROUNDS=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    --quick) ROUNDS=2 RUNS=1 HELLO_RUNS=30 INST_ITERS=200 COLD_RUNS=1 ;;
    --flags) FLAGS=1 ;;
    --no-zerovm) USE_ZVM=0 ;;
    --keep) KEEP=1 ;;
    --report) REPORT_DIR=$2; shift ;;
    -h|--help) sed -n '3,35p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done

say() { printf '%s\n' "$*" >&2; }
die() { printf 'bench/wasm/run.sh: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }
now_ns() { date +%s%N; }

# ---- report (a function: --report DIR prints a kept run again) -------------------
# meta.env in the work dir holds what the report needs besides the raw files.
report() { # DIR
    (
        set -a
        # shellcheck disable=SC1091
        . "$1/meta.env"
        set +a
        W=$1 "$PY" - <<'EOF'
import glob, json, os, statistics as st
e = os.environ
W = e["W"]
progs = e["PROG_LIST"].split()
zvm = e["ZVM"] == "1"

def merged(pattern, field="times"):
    s = {}
    for f in sorted(glob.glob(os.path.join(W, pattern))):
        for r in json.load(open(f))["results"]:
            # hyperfine 1.15 keeps only the mean user and system times of a command
            v = r[field] if field != "cpu" else [r["user"] + r["system"]] * len(r["times"])
            s.setdefault(r["command"], []).extend(v)
    return s

cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"run: {e['DATE_UTC']}")
print(f"machine: {os.cpu_count()} CPUs, {cpu}, kernel {os.uname().release}; "
      f"load {e['LOAD_BEFORE']} -> {e['LOAD_AFTER']}")
print(f"tools: {e['V_CC']}; {e['V_WCC']}; wasm2c {e['V_W2C']}; {e['V_HF']}")
print(f"samples: {e['ROUNDS']} rounds x {e['RUNS']} runs per compute command, "
      f"{e['ROUNDS']} x {e['HELLO_RUNS']} per hello command")
print()
if not zvm:
    print(f"zerovm path NOT measured: {e['ZVM_WHY']}")
    print()
else:
    print(f"zerovm: sha256 {e['ZVM_SHA_BEFORE']}…")
    if e["ZVM_SHA_AFTER"] != e["ZVM_SHA_BEFORE"]:
        print(f"WARNING: zerovm was rebuilt during the run (now {e['ZVM_SHA_AFTER']}…): rows mix versions")
    print()

check = {}
for l in open(os.path.join(W, "check.tsv")):
    p, seq, zeq, out = l.rstrip("\n").split("\t", 3)
    check[p] = (seq, zeq, out)

s = merged("hf.[a-z]*.[0-9]*.json")
c = merged("hf.[a-z]*.[0-9]*.json", "cpu")
ms = lambda k: st.mean(s[k]) * 1e3
sd = lambda k: (st.stdev(s[k]) * 1e3 if len(s[k]) > 1 else 0.0)
cms = lambda k: st.mean(c[k]) * 1e3
print("## compute set: native gcc -O2 vs wasm (clang-16 -O2 -> wasm2c -> gcc -O2 -shared -fPIC)")
print("   ms = mean wall time ± sd; ratio = native / wasm from the same run (goal >= 0.85):")
print("   'wall' from the wall-time means, 'cpu' from the user+sys means (less hurt by other load)")
hdr = f"{'program':<10} {'native ms':>13}"
if zvm:
    hdr += f" {'wasm zerovm ms':>14} {'wall':>5} {'cpu':>5}"
hdr += f" {'wasm in-proc ms':>15} {'wall':>5} {'cpu':>5}  checksums equal"
print(hdr)
ok_all = True
for p in progs:
    n = f"{p}.native"
    line = f"{p:<10} {ms(n):7.0f} ±{sd(n):4.0f}"
    ratios = []
    cols = ([f"{p}.zerovm"] if zvm else []) + [f"{p}.standin"]
    for k in cols:
        if k in s:
            line += f" {ms(k):8.0f} ±{sd(k):4.0f} {ms(n)/ms(k):5.2f} {cms(n)/cms(k):5.2f}"
        else:
            line += f" {'failed':>14} {'-':>5} {'-':>5}"
    if cols[0] in s:
        ratios = [ms(n) / ms(cols[0]), cms(n) / cms(cols[0])]
        ok_all &= all(r >= 0.85 for r in ratios)
    else:
        ok_all = False
    seq, zeq, _ = check[p]
    eq = "yes" if seq == "yes" and zeq in ("yes", "-") else "NO"
    line += f"  {eq}" + ("" if zvm else " (stand-in)")
    if zvm:
        line += f" (zerovm: {zeq}, in-proc: {seq})"
    print(line)
for l in open(os.path.join(W, "zfail.tsv")):
    p, why = l.rstrip("\n").split("\t", 1)
    print(f"  zerovm failed on {p}.wasm: {why}")
print(f"goal: wasm >= 0.85x native on each ({'zerovm' if zvm else 'stand-in'} column, wall and cpu): "
      f"{'met' if ok_all else 'NOT met'}")
print()
for p in progs:
    print(f"  {p}: {check[p][2]}")
print()

print("## start-up: hello")
hello = ["hello.bare", "hello.native.zerovm", "hello.wasm.zerovm", "hello.wasm.standin"]
what = {"hello.bare": "static native hello, bare",
        "hello.native.zerovm": "static native hello through zerovm",
        "hello.wasm.zerovm": "wasm hello through zerovm (cached)",
        "hello.wasm.standin": "wasm hello, stand-in process (dlopen+run)"}
for k in hello:
    if k in s:
        med = st.median(s[k]) * 1e3
        print(f"  {what[k]:<44} {ms(k):7.2f} ms ± {sd(k):5.2f}  (median {med:.2f})")
if zvm:
    z = ms("hello.wasm.zerovm")
    print(f"goal: cached wasm hello through zerovm <= 2 ms: {'met' if z <= 2 else 'NOT met'} ({z:.2f} ms)")
print()

print("## instantiation inside the process (stand-in host, clock_gettime)")
for p in ["hello"] + progs:
    print(f"  {p}:")
    for l in open(os.path.join(W, f"inst.{p}.txt")):
        print("    " + l.rstrip())
inst = next(l for l in open(os.path.join(W, "inst.hello.txt")) if l.startswith("Z_prog_instantiate"))
mean = float(inst.split("mean")[1].split()[0])
print(f"goal: instantiation <= 100 us (stand-in, hello, mean): {'met' if mean <= 100 else 'NOT met'} ({mean:.1f} us)")
print()

print("## compile time of a cache miss")
cold = {}
if os.path.exists(os.path.join(W, "cold.tsv")):
    for l in open(os.path.join(W, "cold.tsv")):
        p, t = l.split()
        cold.setdefault(p, []).append(int(t))
def cached_ms(p):
    k = "hello.wasm.zerovm" if p == "hello" else f"{p}.zerovm"
    return ms(k) if k in s else None
print(f"  {'program':<10} {'wasm bytes':>10} {'stand-in wasm2c ms':>19} {'stand-in gcc ms':>16}"
      + (f" {'zerovm miss ms':>15} {'cached ms':>10} {'compile ms':>11}" if cold else ""))
for l in open(os.path.join(W, "compile.tsv")):
    p, size, c2c, cgcc = l.split()
    line = f"  {p:<10} {int(size):>10} {int(c2c):>19} {int(cgcc):>16}"
    if p in cold and cached_ms(p) is not None:
        m = st.mean(cold[p])
        line += f" {m:>15.0f} {cached_ms(p):>10.1f} {m - cached_ms(p):>11.0f}"
    print(line)
if cold:
    print(f"  (zerovm miss: mean of {e['COLD_RUNS']} runs, each from an empty ZEROVM_CACHE_DIR"
          " (wall, with date(1) around it); cached: the mean of the timed runs above;"
          " compile = the difference)")
    if e["CACHE_HONOURED"] != "yes":
        print("  WARNING: zerovm left the fresh cache directory empty: it does not honour"
              " ZEROVM_CACHE_DIR, so these were not cache misses")

if e["FLAGS"] == "1":
    print()
    print("## gcc flags for the wasm2c object (stand-in; ratio = native gcc -O2 / this; +fpload: -O2 with")
    print("   the wasm2c loads' asm barrier using an SSE register for f32/f64, see run.sh)")
    comp = {}
    for l in open(os.path.join(W, "flags.tsv")):
        p, fl, t, same = l.rstrip("\n").split("\t")
        comp[(p, fl)] = (int(t), same)
    for p in progs:
        f = merged(f"flags.{p}.[0-9]*.json")
        fc = merged(f"flags.{p}.[0-9]*.json", "cpu")
        base = st.mean(f["native -O2"])
        cbase = st.mean(fc["native -O2"])
        print(f"  {p}:")
        for k, v in f.items():
            fl = k[5:] if k.startswith("wasm ") else None
            c = (f"  gcc {comp[(p, fl)][0]:>5} ms  checksum same: {comp[(p, fl)][1]}"
                 if fl and (p, fl) in comp else "")
            print(f"    {k:<52} {st.mean(v)*1e3:6.0f} ms  ratio wall {base/st.mean(v):5.2f}"
                  f" cpu {cbase/st.mean(fc[k]):5.2f}{c}")
EOF
    ) | tee "$1/report.txt"
}

if [ -n "$REPORT_DIR" ]; then
    [ -f "$REPORT_DIR/meta.env" ] || die "$REPORT_DIR is not a kept work directory (no meta.env)"
    report "$REPORT_DIR"
    exit 0
fi

# ---- prerequisites -------------------------------------------------------
missing=()
have "$CC" || missing+=("$CC (apt-get install gcc)")
have "$WASM_CC" || missing+=("$WASM_CC (apt-get install clang-16 lld-16)")
have "$WASM2C" || missing+=("$WASM2C (apt-get install wabt)")
have hyperfine || missing+=("hyperfine (apt-get install hyperfine)")
[ -x "$PY" ] || missing+=("$PY (apt-get install python3)")
[ -f "$WASM_RT/wasm-rt-impl.c" ] && [ -f "$WASM_RT/wasm-rt.h" ] ||
    missing+=("the wasm2c runtime in $WASM_RT (apt-get install wabt; or set WASM_RT)")
if have "$WASM_CC" && ! echo 'int main(void){return 0;}' |
        "$WASM_CC" --target=wasm32-wasi -O2 -x c -o /dev/null - 2>/dev/null; then
    missing+=("wasi-libc for $WASM_CC (apt-get install wasi-libc libclang-rt-16-dev-wasm32)")
fi
if [ ${#missing[@]} -gt 0 ]; then
    say "bench/wasm/run.sh: missing prerequisites:"
    for m in "${missing[@]}"; do say "  - $m"; done
    exit 1
fi

W=$(mktemp -d /tmp/zvm-wasm-bench.XXXXXX)
if [ "$KEEP" = 1 ]; then trap 'say "kept $W"' EXIT; else trap 'rm -rf "$W"' EXIT; fi
chmod 755 "$W"
# (variables written to meta.env through ${!v} below)
# shellcheck disable=SC2034
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- build ----------------------------------------------------------------
say "building in $W"
RT_CFLAGS=(-I"$WASM_RT")
# the runtime, with wasm_rt_free_memory renamed (host_standin.c has a fixed one)
"$CC" -O2 "${RT_CFLAGS[@]}" -Dwasm_rt_free_memory=wasm_rt_free_memory_stock \
    -c -o "$W/wasm-rt-impl.o" "$WASM_RT/wasm-rt-impl.c"
"$CC" -O2 -Wall "${RT_CFLAGS[@]}" -o "$W/host_standin" "$SRC/host_standin.c" \
    "$W/wasm-rt-impl.o" -rdynamic -ldl
"$CC" -O2 -static -o "$W/hello_static" "$ROOT/bench/hello.c" ||
    die "cannot build a static bench/hello.c (is libc6-dev installed?)"

# The glue: the entry points host_standin.c calls, exported even when the
# module is compiled with -fvisibility=hidden.
glue() { # HEADER
    cat <<GLUE
#include <stddef.h>
#include "$1"
#define EXPORT __attribute__((visibility("default")))
EXPORT const size_t zvm_bench_instance_size = sizeof(Z_prog_instance_t);
EXPORT void zvm_bench_init_module(void) { Z_prog_init_module(); }
EXPORT void zvm_bench_instantiate(void *i, void *w) { Z_prog_instantiate(i, w); }
EXPORT void zvm_bench_free(void *i) { Z_prog_free(i); }
EXPORT void zvm_bench_start(void *i) { Z_progZ__start(i); }
EXPORT wasm_rt_memory_t *zvm_bench_memory(void *i) { return Z_progZ_memory(i); }
GLUE
}

# stand-in compile of one module: wasm2c, then gcc; records the times (ms)
standin_so() { # NAME WASM OUT.so [gcc flags...]   -> sets C2C_MS CGCC_MS
    local wasm=$2 out=$3; shift 3          # $1, the program's name, is for the reader
    local base=${out%.so} t0 t1 t2
    t0=$(now_ns)
    "$WASM2C" --module-name=prog -o "$base.c" "$wasm"
    glue "$(basename "$base").h" >"$base.glue.c"
    if [ "${FPLOAD_PATCH:-0}" = 1 ]; then
        # wasm2c's loads end in asm("" :: "r"(result)) so that a load whose
        # value is unused still happens (and traps out of bounds); for a
        # double, "r" moves the value through a general register.  Ask for an
        # SSE register ("x") for f32/f64 instead.
        sed -i 's/^\( *\)wasm_asm("" ::"r"(result));/\1if (__builtin_types_compatible_p(t1, f32) || __builtin_types_compatible_p(t1, f64)) wasm_asm("" ::"x"(result)); else wasm_asm("" ::"r"(result));/' "$base.c"
        grep -q '"x"(result)' "$base.c" || die "the FP-load patch did not apply to $base.c"
    fi
    t1=$(now_ns)
    "$CC" "$@" -shared -fPIC "${RT_CFLAGS[@]}" -I"$(dirname "$base")" -o "$out" \
        "$base.c" "$base.glue.c" -lm
    t2=$(now_ns)
    C2C_MS=$(( (t1 - t0) / 1000000 )) CGCC_MS=$(( (t2 - t1) / 1000000 ))
}

: >"$W/compile.tsv"
for p in "${PROGS[@]}" hello; do
    "$CC" -O2 -o "$W/$p.native" "$SRC/$p.c" -lm
    "$WASM_CC" --target=wasm32-wasi -O2 -o "$W/$p.wasm" "$SRC/$p.c"
    mkdir -p "$W/so"
    standin_so "$p" "$W/$p.wasm" "$W/so/$p.so" -O2
    printf '%s\t%s\t%s\t%s\n' "$p" "$(stat -c %s "$W/$p.wasm")" "$C2C_MS" "$CGCC_MS" >>"$W/compile.tsv"
done

# ---- zerovm: does it run .wasm programs? ------------------------------------
manifest() { # FILE PROGRAM
    {
        echo "Version = 20130611"
        echo "Timeout = 120"
        echo "Memory = 1073741824,0"
        echo "Program = $2"
        echo "Channel = /dev/stdin,/dev/stdin,0,0,8192,8192,0,0"
        echo "Channel = /dev/stdout,/dev/stdout,0,0,0,0,65536,67108864"
        echo "Channel = /dev/stderr,/dev/stderr,0,0,0,0,65536,67108864"
    } >"$1"
}
ZVM=0
ZVM_WHY=""
manifest "$W/hello_static.manifest" "$W/hello_static"
for p in "${PROGS[@]}" hello; do manifest "$W/$p.manifest" "$W/$p.wasm"; done
chmod 644 "$W"/*.manifest "$W"/*.wasm
if [ "$USE_ZVM" = 0 ]; then
    ZVM_WHY="--no-zerovm"
elif [ ! -x "$ZEROVM" ]; then
    ZVM_WHY="no zerovm binary at $ZEROVM"
else
    mkdir -p "$W/cache.probe"
    if out=$(ZEROVM_CACHE_DIR=$W/cache.probe "$ZEROVM" "$W/hello.manifest" 2>"$W/zvm.probe.err") &&
       [ "$(tail -n 1 <<<"$out")" = ok ] && grep -qx hello <<<"$out"; then
        ZVM=1
    else
        ZVM_WHY="zerovm does not run .wasm programs yet: $(tr '\n' ' ' <<<"$out" | tail -c 200) $(head -c 300 "$W/zvm.probe.err")"
    fi
fi
# shellcheck disable=SC2034
ZVM_SHA_BEFORE=$( [ -x "$ZEROVM" ] && sha256sum "$ZEROVM" | cut -c1-12 || echo -)
[ "$ZVM" = 1 ] && say "zerovm runs .wasm programs: measuring the zerovm path" ||
    say "zerovm path not measured ($ZVM_WHY); wasm runs through the stand-in only"

# ---- correctness, and the compile time of a cache miss ------------------------
# cold.tsv: program, time of a zerovm run from an empty cache (ms), COLD_RUNS lines each
: >"$W/check.tsv"
: >"$W/cold.tsv"
# zfail.tsv: programs zerovm could not run (not timed through zerovm), and why
: >"$W/zfail.tsv"
zvm_ok() { ! grep -q "^$1	" "$W/zfail.tsv"; }
for p in "${PROGS[@]}" hello; do
    nat=$("$W/$p.native")
    std=$("$W/host_standin" "$W/so/$p.so")
    zeq=-
    if [ "$ZVM" = 1 ]; then
        mkdir -p "$W/cache.cold.$p"
        t0=$(now_ns)
        if zout=$(ZEROVM_CACHE_DIR=$W/cache.cold.$p "$ZEROVM" "$W/$p.manifest" 2>"$W/zvm.$p.err") &&
           [ "$(tail -n 1 <<<"$zout")" = ok ]; then
            t1=$(now_ns)
            printf '%s\t%s\n' "$p" $(( (t1 - t0) / 1000000 )) >>"$W/cold.tsv"
            grep -qxF -- "$nat" <<<"$zout" && zeq=yes || zeq=no
            # more cache misses, each from its own empty cache directory
            for k in $(seq 2 "$COLD_RUNS"); do
                mkdir -p "$W/cache.cold.$p.$k"
                t0=$(now_ns)
                ZEROVM_CACHE_DIR=$W/cache.cold.$p.$k \
                    "$ZEROVM" "$W/$p.manifest" >/dev/null 2>&1 || true
                t1=$(now_ns)
                printf '%s\t%s\n' "$p" $(( (t1 - t0) / 1000000 )) >>"$W/cold.tsv"
            done
            rm -rf "$W/cache.cold.$p".*
            # fill the shared cache used by the timed runs
            ZEROVM_CACHE_DIR=$W/cache "$ZEROVM" "$W/$p.manifest" >/dev/null 2>&1 || true
        else
            why=$(cat "$W/zvm.$p.err" - <<<"$(tail -n 1 <<<"$zout")" | tr '\n\t' '  ' | head -c 300)
            printf '%s\t%s\n' "$p" "$why" >>"$W/zfail.tsv"
            say "zerovm failed on $p.wasm: $why"
            zeq=failed
        fi
    fi
    [ "$nat" = "$std" ] && seq=yes || seq=no
    printf '%s\t%s\t%s\t%s\n' "$p" "$seq" "$zeq" "$nat" >>"$W/check.tsv"
done
# the timed runs use the filled cache
[ "$ZVM" = 1 ] && export ZEROVM_CACHE_DIR=$W/cache
# shellcheck disable=SC2034
CACHE_HONOURED=unknown
if [ "$ZVM" = 1 ]; then
    # shellcheck disable=SC2034
    [ -n "$(find "$W/cache.probe" -mindepth 1 -print -quit 2>/dev/null)" ] && CACHE_HONOURED=yes ||
        CACHE_HONOURED=no
fi

# ---- instantiation inside the process (stand-in) --------------------------------
say "instantiation: $INST_ITERS x instantiate/free per module (stand-in host)"
for p in hello "${PROGS[@]}"; do
    n=$INST_ITERS; r=$INST_ITERS
    [ "$p" != hello ] && { n=$(( INST_ITERS / 5 )); r=0; }
    "$W/host_standin" -t "$n" -r "$r" "$W/so/$p.so" >"$W/inst.$p.txt"
done

# hyperfine, retried twice: zerovm may be rebuilt under us by a concurrent
# ninja (a half-written binary fails with EACCES/ETXTBSY for a moment).
hf() { # JSON [hyperfine options and commands...]
    local json=$1 try; shift
    for try in 1 2 3; do
        if hyperfine -N --style none --output=null --export-json "$json" "$@" \
               >/dev/null 2>>"$W/hyperfine.log"; then
            return 0
        fi
        say "  hyperfine failed (try $try/3): $(grep -i 'error' "$W/hyperfine.log" | tail -n 1)"
        sleep 10
    done
    return 1
}

# ---- timed runs ------------------------------------------------------------------
# Every round: each compute program (native, zerovm, stand-in back to back),
# then the hello set.  Samples of all rounds are merged.
for r in $(seq 1 "$ROUNDS"); do
    say "round $r/$ROUNDS"
    for p in "${PROGS[@]}"; do
        args=(-n "$p.native" "$W/$p.native")
        [ "$ZVM" = 1 ] && zvm_ok "$p" && args+=(-n "$p.zerovm" "$ZEROVM $W/$p.manifest")
        args+=(-n "$p.standin" "$W/host_standin $W/so/$p.so")
        hf "$W/hf.$p.$r.json" --warmup 0 --runs "$RUNS" "${args[@]}" || die "hyperfine failed ($p, round $r)"
    done
    args=(-n hello.bare "$W/hello_static")
    [ "$ZVM" = 1 ] && args+=(-n hello.native.zerovm "$ZEROVM $W/hello_static.manifest")
    [ "$ZVM" = 1 ] && zvm_ok hello && args+=(-n hello.wasm.zerovm "$ZEROVM $W/hello.manifest")
    args+=(-n hello.wasm.standin "$W/host_standin $W/so/hello.so")
    hf "$W/hf.hello.$r.json" --warmup 5 --runs "$HELLO_RUNS" "${args[@]}" || die "hyperfine failed (hello, round $r)"
done

# ---- gcc flags for wasm2c code (stand-in) ------------------------------------------
# -O2 is the stand-in's; "-O2 -fvisibility=hidden -fno-strict-aliasing" is what
# src/engine/wasm/cache.c uses.  -march=x86-64-v3 and native allow FMA, which
# gcc contracts a*b+c into by default: wrong for wasm (the checksum shows it).
# "+fpload" is -O2 with the wasm2c output patched (see standin_so).
FLAGSETS=("-O2" "-O2 -fvisibility=hidden -fno-strict-aliasing" "-O3" "-O1" "-O2 -fno-plt"
          "-O2 -march=x86-64-v3" "-O2 -march=x86-64-v3 -ffp-contract=off" "+fpload")
: >"$W/flags.tsv"
if [ "$FLAGS" = 1 ]; then
    for p in "${PROGS[@]}"; do
        say "flags: $p"
        args=(-n "native -O2" "$W/$p.native")
        "$CC" -O2 -fno-tree-vectorize -o "$W/$p.novec" "$SRC/$p.c" -lm
        args+=(-n "native -O2 -fno-tree-vectorize" "$W/$p.novec")
        "$WASM_CC" -O2 -o "$W/$p.clang" "$SRC/$p.c" -lm
        args+=(-n "native clang-16 -O2" "$W/$p.clang")
        for i in "${!FLAGSETS[@]}"; do
            mkdir -p "$W/flags$i"
            if [ "${FLAGSETS[$i]}" = +fpload ]; then
                FPLOAD_PATCH=1 standin_so "$p" "$W/$p.wasm" "$W/flags$i/$p.so" -O2
            else
                # shellcheck disable=SC2086
                standin_so "$p" "$W/$p.wasm" "$W/flags$i/$p.so" ${FLAGSETS[$i]}
            fi
            same=yes
            [ "$("$W/host_standin" "$W/flags$i/$p.so")" = "$("$W/$p.native")" ] || same=NO
            printf '%s\t%s\t%s\t%s\n' "$p" "${FLAGSETS[$i]}" "$CGCC_MS" "$same" >>"$W/flags.tsv"
            args+=(-n "wasm ${FLAGSETS[$i]}" "$W/host_standin $W/flags$i/$p.so")
        done
        for r in $(seq 1 "$ROUNDS"); do
            hf "$W/flags.$p.$r.json" --warmup 0 --runs "$RUNS" "${args[@]}" || die "hyperfine failed (flags $p)"
        done
    done
fi

# ---- report ------------------------------------------------------------------------
# shellcheck disable=SC2034
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
# shellcheck disable=SC2034
ZVM_SHA_AFTER=$( [ -x "$ZEROVM" ] && sha256sum "$ZEROVM" | cut -c1-12 || echo -)
for v in ZVM_SHA_BEFORE ZVM_SHA_AFTER ZVM CACHE_HONOURED ZVM_WHY ROUNDS RUNS HELLO_RUNS FLAGS COLD_RUNS \
         LOAD_BEFORE LOAD_AFTER; do
    printf '%s=%q\n' "$v" "${!v}"
done >"$W/meta.env"
{
    printf 'PROG_LIST=%q\n' "${PROGS[*]}"
    printf 'DATE_UTC=%q\n' "$(date -u +%Y-%m-%dT%H:%MZ)"
    printf 'V_CC=%q\n' "$("$CC" --version | head -1)"
    printf 'V_WCC=%q\n' "$("$WASM_CC" --version | head -1)"
    printf 'V_W2C=%q\n' "$("$WASM2C" --version | head -1)"
    printf 'V_HF=%q\n' "$(hyperfine --version | head -1)"
} >>"$W/meta.env"
report "$W"
n=$(grep -c 'Warning' "$W/hyperfine.log" 2>/dev/null || true)
[ "${n:-0}" -gt 0 ] && say "hyperfine printed $n warnings (outliers on a noisy machine; --keep to read them)"
exit 0
