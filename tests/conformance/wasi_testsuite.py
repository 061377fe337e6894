# SPDX-License-Identifier: Apache-2.0
"""The official WASI preview1 testsuite, run through zerovm; TAP output.

Each test of ../shared/conformance/wasi-testsuite (the folder named by
$ZVM_CONFORMANCE_DIR, else the first `shared/conformance` found above the
source tree) runs as `zerovm --report=json MANIFEST`: its spec's args go to
nvram [args], env to [env] (nothing else), `root` (or `dirs`) to a fresh
copy of the fixture directory mounted at / as a writable image (the
program's WASI preopen "/"); the exit code and, where the spec gives one,
stdout are compared (as the upstream runner does: a spec without `stdout`
does not check it).  The set of tests that pass is compared with wasi-expected.txt (one
line per test: `pass NAME` or `fail NAME reason`): a listed pass that fails
is a regression (not ok); a listed fail that passes is reported so the list
is updated (it only improves).  A module made here, whose output and exit
code are chosen at random per run, proves that zerovm really runs what it
is given.  The score is printed as a TAP comment.

A missing suite folder fails (Bail out!), never skips.

    python3 tests/conformance/wasi_testsuite.py            # build/ of the tree
    WASI_ONLY=fd_readdir WASI_VERBOSE=1 python3 ...       # one test, its output
"""
import glob
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
import sandbox  # noqa: E402

ZEROVM = os.environ.get("ZEROVM", os.path.join(ROOT, "build", "src", "cli", "zerovm"))
WAT2WASM = os.environ.get("WAT2WASM") or shutil.which("wat2wasm")
EXPECTED = os.environ.get("WASI_EXPECTED", os.path.join(HERE, "wasi-expected.txt"))
ONLY = os.environ.get("WASI_ONLY", "")
VERBOSE = os.environ.get("WASI_VERBOSE", "") not in ("", "0")
TIMEOUT_BIN = shutil.which("timeout")
OUTER = 300       # the first run of a module compiles it
PROGRAM_TIMEOUT = 60
MEMORY = 512 << 20
try:
    import pwd
    NOBODY = (pwd.getpwnam("nobody").pw_uid, pwd.getpwnam("nobody").pw_gid)
except (ImportError, KeyError):
    NOBODY = (65534, 65534)


def conformance_dir():
    d = os.environ.get("ZVM_CONFORMANCE_DIR")
    if d:
        return d
    at = ROOT
    while True:
        c = os.path.join(at, "shared", "conformance")
        if os.path.isdir(c):
            return c
        up = os.path.dirname(at)
        if up == at:
            return os.path.join(os.path.dirname(ROOT), "shared", "conformance")
        at = up


def nv(s):
    """nvram's escaping: every character that could end or split a value."""
    out = []
    for ch in s:
        c = ord(ch)
        if ch in '\\", ' or c < 0x20 or c == 0x7f:
            out.append("\\x%02x" % c)
        else:
            out.append(ch)
    return "".join(out)


def load_spec(wasm):
    spec = {"args": [], "env": {}, "root": None, "dirs": [], "stdout": None, "exit_code": 0}
    js = wasm[:-5] + ".json"
    if os.path.exists(js):
        with open(js) as f:
            spec.update(json.load(f))
    return spec


def fresh_tree(src, dst):
    """A writable copy of a fixture directory (the originals are read-only).
    Owned by the caller, whom the jail maps to its user 1000; under root the
    jail's user is nobody, and an overlay cannot copy up a directory whose
    owner has no name in the sandbox (EOVERFLOW), so the copy is nobody's."""
    shutil.copytree(src, dst, symlinks=True)
    owner = NOBODY if os.geteuid() == 0 else None
    for d, dirs, files in os.walk(dst):
        os.chmod(d, 0o777)
        if owner:
            os.lchown(d, *owner)
        for f in files:
            p = os.path.join(d, f)
            if owner:
                os.lchown(p, *owner)
            if not os.path.islink(p):
                os.chmod(p, 0o666)


class Run:
    pass


def run_module(work, wasm, args=(), env=None, root=None):
    """One zerovm run of `wasm` in directory `work`: stdout bytes, exit code
    and the report."""
    shutil.copyfile(wasm, os.path.join(work, "prog.wasm"))
    name = os.path.basename(wasm)
    nvram = "[args]\nargs = " + " ".join(nv(a) for a in [name, *args]) + "\n"
    if env:
        nvram += "[env]\n" + "".join(f"name={nv(k)},value={nv(v)}\n" for k, v in env.items())
    channels = [
        f"Channel = /dev/null,/dev/stdin,0,0,8192,8192,0,0",
        f"Channel = {work}/stdout,/dev/stdout,0,0,0,0,100000,67108864",
        f"Channel = {work}/stderr,/dev/stderr,0,0,0,0,100000,67108864",
        f"Channel = {work}/nvram,/dev/nvram,0,0,100,100000,0,0",
    ]
    if root:
        nvram += "[fstab]\nchannel=/dev/image,mountpoint=/,access=rw\n"
        channels.append(f"Channel = {root},/dev/image,3,0,1,1,0,0")
    with open(os.path.join(work, "nvram"), "w") as f:
        f.write(nvram)
    with open(os.path.join(work, "manifest"), "w") as f:
        f.write("\n".join(["Version = 20130611", f"Timeout = {PROGRAM_TIMEOUT}",
                           f"Memory = {MEMORY},0", f"Program = {work}/prog.wasm"] + channels) + "\n")
    cmd = [TIMEOUT_BIN, "-k", "5", str(OUTER), ZEROVM, "--report=json", os.path.join(work, "manifest")]
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, cwd=work,
                       env=dict(os.environ, ZEROVM_CACHE_DIR=CACHE))
    r = Run()
    r.status = p.returncode
    r.stderr = p.stderr.decode(errors="replace")
    try:
        r.report = json.loads(p.stdout.decode(errors="replace").rstrip("\n").split("\n")[-1])
    except (ValueError, IndexError):
        r.report = {}
    try:
        with open(os.path.join(work, "stdout"), "rb") as f:
            r.out = f.read()
    except FileNotFoundError:
        r.out = b""
    try:
        with open(os.path.join(work, "stderr"), "rb") as f:
            r.err = f.read()
    except FileNotFoundError:
        r.err = b""
    r.state = r.report.get("exit_state", "<no report>")
    r.rc = r.report.get("user_rc")
    return r


def verdict(r, want_out, want_rc):
    """None when the run is what the spec says, else why not."""
    if r.status in (124, 137):
        return f"zerovm did not return within {OUTER} s"
    if r.status is not None and r.status < 0:
        return f"zerovm died of signal {-r.status}"
    if not r.report:
        return "no report: " + r.stderr.strip()[-200:]
    # A Rust test's panic (or a C assert) says what went wrong on stderr.
    said = [l for l in r.err.decode(errors="replace").splitlines()
            if l.strip() and "RUST_BACKTRACE" not in l and "panicked at" not in l]
    said = (": " + " ".join(said[-1].split())[:160]) if said else ""
    if r.state != "ok":
        return f"exit state '{r.state}'{said}"
    if r.rc != want_rc:
        return f"exit code {r.rc}, expected {want_rc}{said}"
    if want_out is not None and r.out != want_out:
        return f"stdout {r.out[:120]!r}, expected {want_out[:120]!r}"
    return None


def random_module(work):
    """A module of our own making: prints a random line, exits with a random
    code.  A runtime that ignored its module could not match it."""
    word = "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(24))
    text = f"zerovm-{word}\n".encode()
    code = random.randint(1, 125)
    data = "".join("\\%02x" % b for b in text)
    wat = f"""(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "{data}")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const {len(text)}))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))
    (call $proc_exit (i32.const {code}))))
"""
    src = os.path.join(work, "random.wat")
    out = os.path.join(work, "random.wasm")
    with open(src, "w") as f:
        f.write(wat)
    subprocess.run([WAT2WASM, src, "-o", out], check=True, capture_output=True)
    return out, text, code


def read_expected():
    exp = {}
    with open(EXPECTED) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 2)
            if len(parts) < 2 or parts[0] not in ("pass", "fail") or (parts[0] == "fail" and len(parts) < 3):
                sandbox.bail(f"{EXPECTED}:{n}: expected 'pass NAME' or 'fail NAME reason'")
            exp[parts[1]] = parts[0]
    return exp


def main():
    global CACHE
    suite = os.path.join(conformance_dir(), "wasi-testsuite")
    if not os.path.isdir(os.path.join(suite, "tests")):
        sandbox.bail(f"the WASI testsuite is missing: {suite} (set ZVM_CONFORMANCE_DIR)")
    if not os.access(ZEROVM, os.X_OK):
        sandbox.bail(f"zerovm not found at {ZEROVM}")
    if not WAT2WASM:
        sandbox.bail("wat2wasm (wabt) is missing: cannot build the random module")
    if not TIMEOUT_BIN:
        sandbox.bail("timeout(1) is missing")
    wasms = sorted(glob.glob(os.path.join(suite, "tests", "*", "testsuite", "wasm32-wasip1", "*.wasm")))
    names = {w: os.path.basename(os.path.dirname(os.path.dirname(os.path.dirname(w)))) + "/" +
             os.path.basename(w)[:-5] for w in wasms}
    expected = read_expected()
    total = len(wasms)
    selected = [w for w in wasms if ONLY in names[w]]
    work_all = tempfile.mkdtemp(prefix="zvm-wasi-ts-", dir="/tmp")
    os.chmod(work_all, 0o755)
    CACHE = os.path.join(work_all, "cache")
    os.mkdir(CACHE, 0o700)
    print(f"1..{len(selected) + 2}", flush=True)
    n = 0
    failed = 0
    passed = []
    improved = []
    try:
        # The module of our own: random output and exit code.
        n += 1
        w = os.path.join(work_all, "own")
        os.mkdir(w)
        mod, text, code = random_module(w)
        r = run_module(w, mod)
        why = verdict(r, text, code)
        if why:
            failed += 1
            print(f"not ok {n} - a module of our own (random output and exit code {code})\n#   {why}")
        else:
            print(f"ok {n} - a module of our own (random output and exit code {code})")

        for i, wasm in enumerate(selected):
            n += 1
            name = names[wasm]
            spec = load_spec(wasm)
            work = os.path.join(work_all, f"t{i}")
            os.mkdir(work)
            os.chmod(work, 0o755)
            dirs = ([spec["root"]] if spec.get("root") else []) + list(spec.get("dirs") or [])
            root = None
            why = None
            if len(dirs) > 1:
                why = "more than one preopened directory (zerovm preopens one, '/')"
            elif dirs:
                root = os.path.join(work, "root")
                fresh_tree(os.path.join(os.path.dirname(wasm), dirs[0]), root)
            if why is None:
                r = run_module(work, wasm, spec.get("args") or [], spec.get("env") or {}, root)
                out = spec.get("stdout")
                why = verdict(r, None if out is None else out.encode(), spec.get("exit_code", 0))
                if VERBOSE or (why and name in expected and expected[name] == "pass"):
                    for line in (r.out + r.err).decode(errors="replace").splitlines()[-30:]:
                        print("#   | " + line)
            want = expected.get(name)
            if why is None:
                passed.append(name)
                if want != "pass":
                    improved.append(name)
                    print(f"ok {n} - {name} # passes now, listed as {want or 'missing'}: "
                          f"update {os.path.basename(EXPECTED)}")
                else:
                    print(f"ok {n} - {name}")
            elif want == "pass":
                failed += 1
                print(f"not ok {n} - {name} (a regression: listed as pass)\n#   {why}")
            else:
                print(f"not ok {n} - {name} # TODO known failure: {why}")
            sys.stdout.flush()

        # The list itself: every test named once, nothing stale.
        n += 1
        unknown = sorted(set(expected) - set(names.values()))
        unlisted = sorted(set(names.values()) - set(expected))
        if unknown or unlisted:
            failed += 1
            print(f"not ok {n} - {os.path.basename(EXPECTED)} names every test of the suite once")
            for u in unknown:
                print(f"#   listed but not in the suite: {u}")
            for u in unlisted:
                print(f"#   in the suite but not listed: {u}")
        else:
            print(f"ok {n} - {os.path.basename(EXPECTED)} names every test of the suite once")
    finally:
        shutil.rmtree(work_all, ignore_errors=True)
    if ONLY:
        print(f"# score: {len(passed)}/{len(selected)} of the selected tests (WASI_ONLY={ONLY})")
    else:
        print(f"# score: {len(passed)}/{total}")
    if improved:
        print(f"# now passing, listed as fail: {' '.join(improved)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
