#!/bin/bash
# Integration tests of `zerovm MANIFEST` with the native engine: the seed's
# example manifest, the demo, exit states, reports, images, nvram, channel
# kinds and the unprivileged path.  Prints TAP.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
: "${PROBE:?PROBE must name tests/helpers/probe}"
IFS=$'\n' read -r -d '' -a STD <<< "$STD_CHANNELS"

# --- the seed's example manifest, paths changed ---------------------------
mkdir -p "$WORK/img/lib/python2.7" && echo "print 'hi'" > "$WORK/img/lib/python2.7/site.py"
tar -C "$WORK/img" -cf "$WORK/python.tar" lib
printf '[args]\nargs = myapp.nexe ls /lib/python2.7\n[fstab]\nchannel=/dev/1.python.tar,mountpoint=/,access=ro,removable=no\n' > "$WORK/nvram.1"
cat > "$WORK/seed.manifest" <<M
Version = 20130611
Timeout = 50
Memory = 4294967296,0
Program = $PROBE
Channel = /dev/stdin,/dev/stdin,0,0,8192,8192,0,0
Channel = /dev/stdout,/dev/stdout,0,0,0,0,8192,8192
Channel = /dev/stderr,/dev/stderr,0,0,0,0,8192,8192
Channel = $WORK/python.tar,/dev/1.python.tar,3,0,8192,8192,8192,8192
Channel = $WORK/nvram.1,/dev/nvram,3,0,8192,8192,8192,8192
M
run "$WORK/seed.manifest" < /dev/null
is "$RC" 0 "seed manifest: zerovm exits 0"
is "$(program_output)" "site.py" "seed manifest: the tar image is the root, listed through nvram args"
is "$(report_line 6)" "ok" "seed manifest: exit state ok"
is "$(report_line 1)" "0" "seed manifest: validator state 0"

# --- the demo: python3 between two channels -------------------------------
out=$("$here/../../examples/demo/run.sh" "$ZEROVM" 2>/dev/null)
demo_rc=$?
is "$demo_rc" 0 "demo: runs"
echo "$out" | grep -q '^70 words, 45 distinct$'
ok $? "demo: python3 wrote the word count to the output channel"
etag=$(echo "$out" | grep '^/dev/input ' | awk '{print $4}')
sum=$(echo "$out" | tail -1 | awk '{print $1}')
is "$etag" "$sum" "demo: /dev/output etag equals md5sum of the file"

# --- exit code, args and env from nvram ----------------------------------
printf '[args]\nargs = probe exit 7\n' > "$WORK/nv-exit"
manifest "$WORK/m-exit" "$PROBE" 5 67108864 "${STD[@]}" "$WORK/nv-exit,/dev/nvram,0,0,64,65536,0,0"
run "$WORK/m-exit"
is "$(report_line 3)" 7 "user return code is the program's exit status"
is "$RC" 0 "zerovm exits 0 when the program ran to its end"

printf '[args]\nargs = probe args a\\x20b c\\x2cd\n[env]\nname=GREETING,value=hello\\x20world\n' > "$WORK/nv-args"
manifest "$WORK/m-args" "$PROBE" 5 67108864 "${STD[@]}" "$WORK/nv-args,/dev/nvram,0,0,64,65536,0,0"
run "$WORK/m-args"
is "$(program_output | tr '\n' ' ')" "[probe] [args] [a b] [c,d] " "nvram args are unescaped into argv"
printf '[args]\nargs = probe env\n[env]\nname=GREETING,value=hello\\x20world\n' > "$WORK/nv-env"
manifest "$WORK/m-env" "$PROBE" 5 67108864 "${STD[@]}" "$WORK/nv-env,/dev/nvram,0,0,64,65536,0,0"
run "$WORK/m-env"
is "$(program_output)" "GREETING=hello world" "the environment is exactly nvram [env]"

# --- bad manifests: refused before anything is touched --------------------
echo precious > "$WORK/keep.txt"
manifest "$WORK/m-bad" "$PROBE" 5 67108864 "${STD[@]}" "$WORK/keep.txt,/dev/output,0,0,0,0,10,100"
echo "Timout = 5" >> "$WORK/m-bad"
run "$WORK/m-bad"
is "$RC" 2 "bad manifest: exit status 2"
is "$(report_line 6)" "bad manifest ($WORK/m-bad:9: unknown key 'Timout')" "bad manifest: reason with file and line"
grep -q "m-bad:9: unknown key 'Timout'" "$WORK/err"
ok $? "bad manifest: the reason is on stderr too"
is "$(cat "$WORK/keep.txt")" precious "bad manifest: an output file is not truncated"

manifest "$WORK/m-missing-in" "$PROBE" 5 67108864 "${STD[@]}" \
    "$WORK/keep.txt,/dev/output,0,0,0,0,10,100" "$WORK/no-such-input,/dev/input,0,0,10,100,0,0"
run "$WORK/m-missing-in"
is "$RC" 2 "missing input channel: exit status 2"
case "$(report_line 6)" in
"bad manifest (channel '/dev/input': cannot open '$WORK/no-such-input': No such file or directory)") ok 0 "missing input: reason names alias and path";;
*) ok 1 "missing input: reason names alias and path"; echo "#   got: $(report_line 6)";;
esac
is "$(cat "$WORK/keep.txt")" precious "missing input: the output is not truncated"

: > "$WORK/empty.manifest"
run "$WORK/empty.manifest"
is "$RC" 2 "empty manifest refused"
run "$WORK/does-not-exist"
is "$RC" 2 "missing manifest refused"

# --- programs that cannot run ---------------------------------------------
manifest "$WORK/m-nf" /nonexistent/prog 5 67108864 "${STD[@]}"
run "$WORK/m-nf"
is "$RC" 3 "program not found: exit status 3"
is "$(report_line 6)" "program not found (/nonexistent/prog)" "program not found: exit state"
printf '#!/bin/sh\necho hi\n' > "$WORK/script.sh" && chmod 755 "$WORK/script.sh"
manifest "$WORK/m-notelf" "$WORK/script.sh" 5 67108864 "${STD[@]}"
run "$WORK/m-notelf"
is "$RC" 3 "not an ELF program: exit status 3"
is "$(report_line 1)" 1 "not an ELF program: validator state 1"

# --- timeout ---------------------------------------------------------------
printf '[args]\nargs = probe spin\n' > "$WORK/nv-spin"
manifest "$WORK/m-spin" "$PROBE" 1 67108864 "${STD[@]}" "$WORK/nv-spin,/dev/nvram,0,0,64,65536,0,0"
run "$WORK/m-spin"
is "$RC" 1 "endless loop: exit status 1"
is "$(report_line 6)" "timeout" "endless loop: exit state timeout"

# --- zerovm killed: the jail dies with it ---------------------------------
# (the parent-death signal must survive the jail's change of uid)
manifest "$WORK/m-spin30" "$PROBE" 60 67108864 "${STD[@]}" "$WORK/nv-spin,/dev/nvram,0,0,64,65536,0,0"
"$ZEROVM" "$WORK/m-spin30" > /dev/null 2>&1 &
zpid=$!
jail=""
for _ in $(seq 50); do
    jail=$(pgrep -P "$zpid" | head -n 1)
    [ -n "$jail" ] && [ "$(cat /proc/"$jail"/comm 2>/dev/null)" = self ] && break
    sleep 0.1
done
kill -TERM "$zpid"; wait "$zpid" 2>/dev/null
alive=none
for _ in $(seq 50); do
    state=$(awk '/^State:/ {print $2}' /proc/"$jail"/status 2>/dev/null)
    if [ -z "$state" ] || [ "$state" = Z ]; then alive=gone; break; fi
    alive=running; sleep 0.1
done
[ -n "$jail" ] && [ "$alive" = gone ]
ok $? "zerovm killed by SIGTERM: its program does not outlive it ($alive)"
[ -n "$jail" ] && [ "$alive" = running ] && kill -KILL "$jail" 2>/dev/null

# --- quotas and etags through a real program ------------------------------
head -c 100000 /dev/urandom > "$WORK/rand.bin"
printf '[args]\nargs = probe cat /dev/input /dev/output\n' > "$WORK/nv-cat"
manifest "$WORK/m-cat" "$PROBE" 5 67108864 "${STD[@]}" "$WORK/nv-cat,/dev/nvram,0,0,64,65536,0,0" \
    "$WORK/rand.bin,/dev/input,0,1,1000,1000000,0,0" "$WORK/copy.bin,/dev/output,0,1,0,0,1000,1000000"
run "$WORK/m-cat"
cmp -s "$WORK/rand.bin" "$WORK/copy.bin"
ok $? "100 kB copied through two channels unchanged"
is "$(report_line 4)" "/dev/input $(md5sum < "$WORK/rand.bin" | cut -d' ' -f1) /dev/output $(md5sum < "$WORK/copy.bin" | cut -d' ' -f1)" "etags are the MD5 of the bytes that passed"
set -- $(report_line 5)
is "$4 $6" "100000 100000" "accounting counts the bytes read and written"

manifest "$WORK/m-quota" "$PROBE" 5 67108864 "${STD[@]}" "$WORK/nv-cat,/dev/nvram,0,0,64,65536,0,0" \
    "$WORK/rand.bin,/dev/input,0,0,1000,1000000,0,0" "$WORK/short.bin,/dev/output,0,0,0,0,1000,50000"
run "$WORK/m-quota"
is "$(report_line 6)" "quota exceeded (/dev/output)" "write past put_size: exit state quota exceeded"
is "$(stat -c %s "$WORK/short.bin")" 0 "write past put_size: the 64 KiB write was refused whole, nothing reached the host"
is "$(program_output)" "write /dev/output: Disk quota exceeded" "write past put_size: the program saw EDQUOT"

printf '[args]\nargs = probe readn /dev/zero 1000\n' > "$WORK/nv-zero"
manifest "$WORK/m-zero" "$PROBE" 5 67108864 "${STD[@]}" "$WORK/nv-zero,/dev/nvram,0,0,64,65536,0,0" \
    "/dev/zero,/dev/zero,0,0,100,4096,0,0"
run "$WORK/m-zero"
is "$(program_output)" "total 4096 end Disk quota exceeded" "character device channel: exactly get_size bytes, then EDQUOT"

mkfifo "$WORK/fifo"
( printf 'through a pipe\n' > "$WORK/fifo" ) &
printf '[args]\nargs = probe cat /dev/pipe /dev/stdout\n' > "$WORK/nv-fifo"
manifest "$WORK/m-fifo" "$PROBE" 10 67108864 "${STD[@]}" "$WORK/nv-fifo,/dev/nvram,0,0,64,65536,0,0" \
    "$WORK/fifo,/dev/pipe,0,0,100,4096,0,0"
run "$WORK/m-fifo"
wait
is "$(program_output)" "through a pipe" "FIFO channel: opened on first use and read"

# --- images ----------------------------------------------------------------
mkdir -p "$WORK/tree/sub" && echo data > "$WORK/tree/sub/file.txt"
tar -C "$WORK/tree" -cf "$WORK/data.tar" .
for access in ro rw; do
    printf '[args]\nargs = probe write /data/sub/new.txt x\n[fstab]\nchannel=/dev/data.tar,mountpoint=/data,access=%s\n' $access > "$WORK/nv-img"
    manifest "$WORK/m-img" "$PROBE" 5 67108864 "${STD[@]}" "$WORK/nv-img,/dev/nvram,0,0,64,65536,0,0" \
        "$WORK/data.tar,/dev/data.tar,3,0,100,100000,0,0"
    run "$WORK/m-img"
    if [ $access = ro ]; then
        is "$(program_output)" "write /data/sub/new.txt: Read-only file system" "ro image: writes fail"
    else
        is "$(program_output)" "ok" "rw image: writes succeed inside"
    fi
done
printf '[args]\nargs = probe cat /data/sub/file.txt /dev/stdout\n[fstab]\nchannel=/dev/data.tar,mountpoint=/data,access=ro\n' > "$WORK/nv-img2"
manifest "$WORK/m-img2" "$PROBE" 5 67108864 "${STD[@]}" "$WORK/nv-img2,/dev/nvram,0,0,64,65536,0,0" \
    "$WORK/data.tar,/dev/data.tar,3,0,100,100000,0,0"
run "$WORK/m-img2"
is "$(program_output)" "data" "tar image: a member is readable at its mountpoint"
printf '[args]\nargs = probe cat /data/sub/file.txt /dev/stdout\n[fstab]\nchannel=/dev/tree,mountpoint=/data,access=ro\n' > "$WORK/nv-dir"
manifest "$WORK/m-dir" "$PROBE" 5 67108864 "${STD[@]}" "$WORK/nv-dir,/dev/nvram,0,0,64,65536,0,0" \
    "$WORK/tree,/dev/tree,3,0,100,100000,0,0"
run "$WORK/m-dir"
is "$(program_output)" "data" "directory image: the host directory is visible read-only"
[ ! -e "$WORK/tree/sub/new.txt" ]
ok $? "images: nothing written inside reached the host tree"

# --- the image cache's bound -------------------------------------------------
mkdir -m 700 "$WORK/bounded"
ZEROVM_CACHE_DIR="$WORK/bounded" run "$WORK/m-img2"
echo more > "$WORK/tree/sub/more.txt" && tar -C "$WORK/tree" -cf "$WORK/data.tar" .
ZEROVM_CACHE_DIR="$WORK/bounded" run --image-cache-max=0 "$WORK/m-img2"
is "$(program_output):$(ls "$WORK/bounded/images" | wc -l)" "data:1" \
    "--image-cache-max=0: a new tree leaves only itself (the one in use) in the cache"
run --image-cache-max=lots "$WORK/m-img2"
is "$RC:$(cat "$WORK/err")" "2:zerovm: bad --image-cache-max 'lots' (bytes, a decimal number)" \
    "--image-cache-max: a bad value is a usage error naming it"

# --- json report -------------------------------------------------------------
run --report=json "$WORK/m-exit"
echo "$(tail -n 1 "$WORK/out")" | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["user_rc"] == 7 and r["exit_state"] == "ok" and r["validator"] == 0, r
assert r["engine"] == "native" and r["exit_status"] == 0, r
assert set(r["accounting"]) >= {"sys_time", "user_time", "reads", "write_bytes", "net_reads"}, r
'
ok $? "--report=json gives the same facts as one object"

# --- a delegated cgroup v2 (a stand-in directory: the kernel refuses it
# for CLONE_INTO_CGROUP, so the run must fall back to rlimits alone) -------
if grep -q '^0::' /proc/self/cgroup; then
    cgbase="$WORK/cg$(sed -n 's/^0:://p' /proc/self/cgroup)"
    mkdir -p "$cgbase"
    RC=0
    ZVM_CGROUP_ROOT="$WORK/cg" timeout 60 "$ZEROVM" "$WORK/m-exit" > "$WORK/out" 2> "$WORK/err" || RC=$?
    is "$(ls "$cgbase")" "" "cgroup: none is made where memory and pids are not delegated"
    echo "memory pids" > "$cgbase/cgroup.subtree_control"
    RC=0
    ZVM_CGROUP_ROOT="$WORK/cg" timeout 60 "$ZEROVM" "$WORK/m-exit" > "$WORK/out" 2> "$WORK/err" || RC=$?
    sandbox_cg=$(ls -d "$cgbase"/zerovm-* 2>/dev/null | head -1)
    is "$(cat "$sandbox_cg/memory.max" 2>/dev/null)" 67108864 "cgroup: the sandbox's own child gets memory.max = Memory"
    is "$(cat "$sandbox_cg/pids.max" 2>/dev/null)" 64 "cgroup: and pids.max"
    is "$RC $(report_line 3)" "0 7" "cgroup: a cgroup the kernel refuses falls back to rlimits, the run goes on"
else
    skip "no cgroup v2 line in /proc/self/cgroup"
    skip "no cgroup v2 line"; skip "no cgroup v2 line"; skip "no cgroup v2 line"
fi

# --- as an ordinary user ------------------------------------------------------
if command -v setpriv >/dev/null && [ "$(id -u)" -eq 0 ]; then
    chmod 1777 "$WORK"; chmod 644 "$WORK"/nv-cat "$WORK/rand.bin" "$WORK/m-cat"
    rm -f "$WORK/copy.bin"
    RC=0
    ZVM_CACHE_DIR= setpriv --reuid=65534 --regid=65534 --clear-groups -- \
        timeout 60 "$ZEROVM" "$WORK/m-cat" > "$WORK/out" 2> "$WORK/err" || RC=$?
    is "$RC" 0 "as nobody: zerovm runs unprivileged" || cat "$WORK/err" | sed 's/^/# /' 
    cmp -s "$WORK/rand.bin" "$WORK/copy.bin" 2>/dev/null
    ok $? "as nobody: the copy through channels is complete (output written with nobody's rights)"
else
    skip "setpriv missing or not root: unprivileged run not tested"
    skip "setpriv missing or not root"
fi

done_testing
