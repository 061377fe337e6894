#!/bin/bash
# The supervisor reaches the program's memory only through files bound to
# the notification it serves (/proc/<tid>/mem and maps, opened and then
# checked with NOTIF_ID_VALID), never by pid (process_vm_readv/writev,
# which a recycled pid would receive).  strace watches the supervisor (not
# the jail) while a program copies a channel.  Prints TAP.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
: "${PROBE:?PROBE must name tests/helpers/probe}"
STRACE=$(command -v strace) || { echo "strace is required (scripts/install-deps.sh)"; exit 1; }

head -c 5000 /dev/urandom > "$WORK/in.bin"
printf '[args]\nargs = probe cat /dev/input /dev/output\n' > "$WORK/nv"
manifest "$WORK/m" "$PROBE" 20 67108864 \
    "/dev/stdout,/dev/stdout,0,0,0,0,100,65536" \
    "$WORK/nv,/dev/nvram,0,0,100,65536,0,0" \
    "$WORK/in.bin,/dev/input,0,0,100,65536,0,0" \
    "$WORK/out.bin,/dev/output,0,0,0,0,100,65536"
RC=0
# LeakSanitizer cannot run under ptrace (an ASan build would exit 1).
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" timeout 60 "$STRACE" -o "$WORK/trace" -e trace=process_vm_readv,process_vm_writev,openat \
    "$ZEROVM" "$WORK/m" > "$WORK/out" 2> "$WORK/err" || RC=$?
is "$RC $(tail -n 1 "$WORK/out")" "0 ok" "copy under strace: the session ran"
cmp -s "$WORK/in.bin" "$WORK/out.bin"
ok $? "copy under strace: the bytes arrived through the program's memory"
is "$(grep -c process_vm_ "$WORK/trace")" 0 "the supervisor never copies by pid (process_vm_readv/writev)"
grep -q 'openat(AT_FDCWD, "/proc/[0-9]*/mem", O_RDWR|O_CLOEXEC)' "$WORK/trace"
ok $? "the supervisor copies through /proc/<tid>/mem"
done_testing
