#!/bin/bash
# Tests of `zvsh`: options, zvsh.cfg, @file channels and @NAME=value
# environment, program lookup (tar and directory images, system images,
# paths), the exit status rule, the saved manifest and nvram, and the error
# messages.  Needs ZVSH, ZEROVM and PROBE (tests/helpers/probe); WASM_PROGS
# (optional) is the directory of the wasm test modules.  Prints TAP.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib.sh"
: "${ZVSH:?ZVSH must name the zvsh binary}"
: "${PROBE:?PROBE must name tests/helpers/probe}"
export ZEROVM
export HOME="$WORK/home" TMPDIR="$WORK/tmp"
mkdir -p "$HOME" "$TMPDIR"
cd "$WORK" || exit 1

# zv ARGS...: run zvsh in $WORK; stdout in $WORK/out, stderr in $WORK/err, status in $RC.
zv() {
    RC=0
    timeout 120 "$ZVSH" "$@" > "$WORK/out" 2> "$WORK/err" < /dev/null || RC=$?
}
out() { cat "$WORK/out"; }
err() { cat "$WORK/err"; }

# --- help and usage --------------------------------------------------------
zv --help
is "$RC" 0 "--help exits 0"
missing=""
for opt in --zvm-image --zvm-debug --zvm-trace --zvm-verbosity --zvm-getrc --zvm-save-dir --zvm-config @NAME=VALUE @FILE zvsh.cfg; do
    grep -q -- "$opt" "$WORK/out" || missing="$missing $opt"
done
is "$missing" "" "--help names every option, @ argument and the config file"
zv --zvm-bogus "$PROBE" args
is "$RC" 2 "unknown --zvm option: exit 2"
is "$(err)" "zvsh: unknown option '--zvm-bogus' (see zvsh --help)" "unknown --zvm option: clear message"
zv --zvm-verbosity 9 "$PROBE" args
is "$RC" 2 "bad --zvm-verbosity: exit 2"
zv
is "$RC" 2 "no command: exit 2"

# --- exit status: user_rc | (sandbox_rc << 4) ------------------------------
zv "$PROBE" exit 3
is "$RC" 3 "user 3, sandbox ok: exit 3"
is "$(err)" "" "a clean run prints nothing of zvsh's own"
zv --zvm-getrc "$PROBE" exit 3
is "$RC" 0 "--zvm-getrc: the sandbox's code (0) instead of the program's 3"
printf '[manifest]\nTimeout = 1\n' > zvsh.cfg
zv "$PROBE" spin
is "$RC" 16 "timeout: user 0 | stopped 1 << 4 = 16"
is "$(err)" "zvsh: timeout" "timeout: the exit state on stderr"
zv --zvm-getrc "$PROBE" spin
is "$RC" 1 "timeout with --zvm-getrc: 1"
rm zvsh.cfg

# --- arguments: @file channels and @NAME=value ------------------------------
echo "input data" > in.txt
zv "$PROBE" args "a b" "c,d" @in.txt @NEW.out @GREETING=hi
is "$RC" 0 "@file args: runs"
is "$(out | tr '\n' ' ')" "[$PROBE] [args] [a b] [c,d] [/dev/1.in.txt] [/dev/2.NEW.out] " \
    "argv: the @files replaced by /dev/<k>.<basename>, @NAME=value removed, blanks and commas kept"
[ -f NEW.out ] && [ ! -s NEW.out ]
ok $? "a missing @file is created empty"
zv "$PROBE" cat @in.txt @copy.txt
is "$RC" 0 "@file read and write: runs"
is "$(cat copy.txt)" "input data" "@file: read one channel, wrote the other"
zv "$PROBE" env @GREETING=hello @X_1=2
is "$(out | sort | tr '\n' ' ')" "GREETING=hello X_1=2 " "@NAME=value: exactly the environment"
zv "$PROBE" args @lower=x
is "$(out | tail -1)" "[/dev/1.lower=x]" "@name=value with a lowercase name is a file"

# --- programs in images ----------------------------------------------------
mkdir -p img/bin
cp "$PROBE" img/prog && cp "$PROBE" img/bin/tool && echo "from the image" > img/data.txt
tar -C img -cf app.tar prog bin data.txt
zv --zvm-image app.tar prog args x
is "$RC" 0 "--zvm-image tar: the program is found in it by name"
is "$(out | tr '\n' ' ')" "[prog] [args] [x] " "--zvm-image tar: argv[0] stays the command as typed"
zv --zvm-image app.tar prog ls /
is "$(out | grep -c -e '^data.txt$' -e '^prog$')" 2 "--zvm-image tar: the image is the root by default"
zv --zvm-image app.tar,/app,ro bin/tool cat /app/data.txt /dev/stdout
is "$(out)" "from the image" "--zvm-image tar,/app,ro: a member in a subdirectory, image at /app"
zv --zvm-image img,/d "$PROBE" cat /d/data.txt /dev/stdout
is "$(out)" "from the image" "directory image: read-only at its mountpoint"
zv --zvm-image img,/d,rw prog write /d/new.txt hi
is "$(out)" "ok" "directory image rw: the program found in it by name writes"
[ ! -e img/new.txt ]
ok $? "directory image rw: writes vanish, the host directory is untouched"
zv --zvm-image img,/d,ro "$PROBE" write /d/new.txt hi
is "$(out | grep -c '^ok$')" 0 "directory image ro: a write fails"
zv --zvm-image missing.tar "$PROBE" args
is "$RC" 32 "missing image: exit 2 << 4"
is "$(err)" "zvsh: image 'missing.tar' (--zvm-image): No such file or directory" "missing image: message"
zv --zvm-image app.tar --zvm-image img "$PROBE" args
is "$(err)" "zvsh: images 'app.tar' and 'img' are both mounted at '/' (give one its own mountpoint, e.g. --zvm-image img,/mnt)" \
    "two images at one mountpoint: message"

# --- python3 from the host's system image ----------------------------------
printf 'import sys\nprint(sum(range(10)), sys.argv[1:])\nprint(open(sys.argv[1]).read().strip())\n' > script.py
zv python3 @script.py @in.txt
is "$RC" 0 "zvsh python3 @script.py: runs"
is "$(out | tr '\n' '|')" "45 ['/dev/2.in.txt']|input data|" "zvsh python3 @script.py: the script ran and read its @file"

# --- missing program ------------------------------------------------------
zv no-such-program
is "$RC" 48 "missing program: exit 3 << 4"
is "$(err)" "zvsh: program 'no-such-program' not found (not in any --zvm-image, not a system image, no such file)" \
    "missing program: message"
zv --zvm-getrc ./no/such
is "$RC" 3 "missing program with --zvm-getrc: 3"

# --- saved manifest and nvram ---------------------------------------------
zv --zvm-save-dir saved --zvm-verbosity 2 --zvm-image app.tar,/app "$PROBE" args "x y" @in.txt @K=v
is "$RC" 0 "--zvm-save-dir: runs"
ls saved > "$WORK/ls"
is "$(tr '\n' ' ' < "$WORK/ls")" "manifest.1 nvram.1 report.1 " "--zvm-save-dir: manifest.1, nvram.1 (and report.1) kept"
want_manifest="Node = 1
Version = 20130611
Timeout = 50
Memory = 4294967296,0
Program = $PROBE
Channel = /dev/stdin,/dev/stdin,0,0,4294967296,4294967296,0,0
Channel = /dev/stdout,/dev/stdout,0,0,0,0,4294967296,4294967296
Channel = /dev/stderr,/dev/stderr,0,0,0,0,4294967296,4294967296
Channel = $WORK/in.txt,/dev/1.in.txt,3,0,4294967296,4294967296,4294967296,4294967296
Channel = $WORK/app.tar,/dev/2.app.tar,3,0,4294967296,4294967296,0,0
Channel = $PROBE,/dev/self,3,0,4294967296,4294967296,0,0
Channel = $WORK/saved/nvram.1,/dev/nvram,3,0,4294967296,4294967296,0,0"
is "$(cat saved/manifest.1)" "$want_manifest" "--zvm-save-dir: the manifest"
want_nvram="[args]
args = $PROBE args x\\x20y /dev/1.in.txt
[env]
name=K,value=v
[fstab]
channel=/dev/2.app.tar,mountpoint=/app,access=ro,removable=no
[mapping]
channel=/dev/stdin,mode=char
channel=/dev/stdout,mode=file
channel=/dev/stderr,mode=file
[debug]
verbosity=2"
is "$(cat saved/nvram.1)" "$want_nvram" "--zvm-save-dir: the nvram"
zv "$PROBE" args
is "$(ls "$TMPDIR" | wc -l)" 0 "without --zvm-save-dir no working file is left"

# --- --zvm-trace and --zvm-debug ------------------------------------------
zv --zvm-trace "$PROBE" exit 0
grep -q "^Program = $PROBE\$" "$WORK/err" && grep -q '^args = ' "$WORK/err"
ok $? "--zvm-trace: manifest and nvram on stderr"
zv --zvm-debug "$PROBE" write /dev/debug "debug text"
is "$(cat zvsh.log 2>/dev/null)" "debug text" "--zvm-debug: /dev/debug is written to ./zvsh.log"

# --- zvsh.cfg --------------------------------------------------------------
cat > zvsh.cfg <<CFG
# the original crashed on [fstab] entries and on Node
[manifest]
Node = 7
Memory = 268435456
Timeout = 20
[limits]
writes = 4294967296
[env]
FROM_CFG = yes
[fstab]
app.tar = /cfgimg ro
CFG
zv --zvm-save-dir saved2 "$PROBE" cat /cfgimg/data.txt /dev/stdout
is "$RC" 0 "zvsh.cfg with [fstab] and Node: runs"
is "$(out)" "from the image" "zvsh.cfg [fstab]: the image is mounted"
[ -f saved2/manifest.7 ] && grep -q '^Node = 7$' saved2/manifest.7 && grep -q '^Memory = 268435456,0$' saved2/manifest.7
ok $? "zvsh.cfg Node and Memory: manifest.7 with 'Node = 7' and the memory"
grep -q '^name=FROM_CFG,value=yes$' saved2/nvram.7
ok $? "zvsh.cfg [env]: into nvram [env]"
printf '[manifest]\ngarbage\n' > zvsh.cfg
zv "$PROBE" args
is "$RC" 32 "bad zvsh.cfg line: exit 2 << 4"
is "$(err)" "zvsh: zvsh.cfg:2: expected 'key = value', got 'garbage'" "bad zvsh.cfg line: message with file and line"
printf '[manifest]\nMemory = lots\n' > zvsh.cfg
zv "$PROBE" args
is "$(err)" "zvsh: zvsh.cfg:2: bad Memory 'lots' (bytes, 1048576..4294967296)" "bad zvsh.cfg value: message"
printf '[fstab]\nnope.tar = / ro\n' > zvsh.cfg
zv "$PROBE" args
is "$(err)" "zvsh: image 'nope.tar' ($WORK/zvsh.cfg): No such file or directory" "zvsh.cfg image missing: message"
printf '[limits]\nreads = 1\n' > "$HOME/.zvsh.cfg"
rm zvsh.cfg
zv --zvm-save-dir saved3 "$PROBE" args
grep -q '^Channel = /dev/stdin,/dev/stdin,0,0,1,4294967296,0,0$' saved3/manifest.1
ok $? "~/.zvsh.cfg is read when ./zvsh.cfg is absent"
rm "$HOME/.zvsh.cfg"

# --- a ./zvsh.cfg from an untrusted checkout stays inside it ---------------
mkdir -p secret checkout/inside
echo "host secret" > secret/key
echo "inside" > checkout/inside/key
ln -s ../secret checkout/out-link
ln -s inside checkout/in-link
cd checkout || exit 1
for img in "$WORK/secret" ../secret out-link; do
    printf '[fstab]\n%s = /s ro\n' "$img" > zvsh.cfg
    zv "$PROBE" cat /s/key /dev/stdout
    is "$RC" 32 "./zvsh.cfg [fstab] '$img' (outside its directory): exit 2 << 4"
    is "$(err)" "zvsh: zvsh.cfg:2: image '$img' is outside the directory of zvsh.cfg, which was found in the current directory (name the file with --zvm-config to use host paths)" \
        "./zvsh.cfg [fstab] '$img': refused, naming the image"
    is "$(out)" "" "./zvsh.cfg [fstab] '$img': the secret is not shown"
done
printf '[fstab]\nin-link = /s ro\n' > zvsh.cfg
zv "$PROBE" cat /s/key /dev/stdout
is "$RC:$(out)" "0:inside" "./zvsh.cfg [fstab]: a symlink staying inside its directory is fine"
printf '[fstab]\n%s = /s ro\n' "$WORK/secret" > zvsh.cfg
zv --zvm-config zvsh.cfg "$PROBE" cat /s/key /dev/stdout
is "$RC:$(out)" "0:host secret" "--zvm-config FILE: named explicitly, its [fstab] may name a host path"
zv --zvm-config missing.cfg "$PROBE" args
is "$RC:$(err)" "32:zvsh: cannot read 'missing.cfg': No such file or directory" "--zvm-config: a missing file is an error"
mv zvsh.cfg "$HOME/.zvsh.cfg"
zv "$PROBE" cat /s/key /dev/stdout
is "$RC:$(out)" "0:host secret" "~/.zvsh.cfg (the user's own) may name a host path"
rm "$HOME/.zvsh.cfg"
cd "$WORK" || exit 1

# --- the zerovm binary -----------------------------------------------------
ZEROVM=/nonexistent/zerovm zv "$PROBE" args
is "$RC" 64 "zerovm missing: exit 4 << 4"
is "$(err)" "zvsh: cannot run '/nonexistent/zerovm': No such file or directory" "zerovm missing: message"

ZEROVM= zv "$PROBE" exit 5
is "$RC" 5 "without ZEROVM, the zerovm next to zvsh is run"

# --- wasm modules are just files -------------------------------------------
if [ -n "${WASM_PROGS:-}" ] && [ -f "$WASM_PROGS/args_env.wasm" ]; then
    zv "$WASM_PROGS/args_env.wasm" @in.txt @ZVM_GREETING=hi
    is "$RC" 17 "wasm module: runs, its exit code 17"
    grep -q '^argv\[1\]=/dev/1.in.txt$' "$WORK/out" && grep -q '^getenv ZVM_GREETING=hi$' "$WORK/out"
    ok $? "wasm module: @file alias and @NAME=value"
    # A 32-bit code 8 bits cannot hold is never success (256 & 0xff would be 0).
    zv "$WASM_PROGS/exit_code.wasm" proc_exit 256
    is "$RC" 255 "wasm proc_exit(256): 255, not 0"
    zv "$WASM_PROGS/exit_code.wasm" proc_exit 255
    is "$RC" 255 "wasm proc_exit(255): 255"
else
    for i in 1 2 3 4; do skip "wasm test modules not built"; done
fi

done_testing
