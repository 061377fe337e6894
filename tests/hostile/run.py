#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Hostile probes: run each probe (probes/*.c) under zerovm and check both
zerovm's report and the host afterwards.  Prints TAP.

Environment:
  ZEROVM           the zerovm binary (default: <repo>/build/src/cli/zerovm)
  HOSTILE_PROBES   directory holding the probe_* binaries
                   (default: <repo>/build/tests/hostile)
  HOSTILE_ONLY     optional substring: run only the cases whose name has it
  HOSTILE_VERBOSE  non-empty: also show what the probes of passing cases printed

Every case is one TAP line.  A case fails when the report or the host state
is not what the sandbox's design implies.  Failures of cases listed in
KNOWN_BUGS are reported as "not ok ... # TODO <bug>" (they are sandbox
bugs recorded in /tmp/hostile-bugs.txt); once fixed, they simply pass.

Each zerovm run is bounded with timeout(1); temporary files live in one
directory under /tmp (and one under /var/tmp) that is removed at the end.
Cases marked [nobody] run zerovm as uid/gid 65534 through setpriv; they are
skipped when the runner is not root or setpriv is missing.  A zerovm that
cannot start a sandbox here ends the suite with "Bail out!" naming the
missing kernel feature: the security checks never vanish into a skip.
"""

import atexit
import fcntl
import hashlib
import io
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tarfile
import tempfile
import termios
import threading
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import sandbox  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
ZEROVM = os.environ.get("ZEROVM") or os.path.join(REPO, "build", "src", "cli", "zerovm")
PROBES = os.environ.get("HOSTILE_PROBES") or os.path.join(REPO, "build", "tests", "hostile")
ONLY = os.environ.get("HOSTILE_ONLY", "")
VERBOSE = os.environ.get("HOSTILE_VERBOSE", "") not in ("", "0")

NOBODY = 65534
MIB = 1 << 20
SETPRIV = shutil.which("setpriv")
TIMEOUT_BIN = shutil.which("timeout")
PGREP = shutil.which("pgrep")
IS_ROOT = os.geteuid() == 0

# Failing cases that are known sandbox bugs (see /tmp/hostile-bugs.txt):
# case-name prefix -> short description.  A listed case that fails is
# "not ok ... # TODO"; once the bug is fixed it passes as a plain "ok".
KNOWN_BUGS = {
}
# Fixed since they were found (their cases must pass now): BUG 1 exe_link,
# 5 fork_memory (the supervisor measures the whole tree),
# 2 pwrite_offset, 3 fifo_read, 4 memfd_bomb, 6 fstab mountpoint,
# 7 report_forge, 8 nodump (process_vm_* fallback), 9 copy_calls errno,
# 10 bad_pointers semantics (writes through process_vm_writev),
# 11 sockbuf_bomb (socket buffers keep their default size), 12 (no cache of
# /proc/<tid>/mem descriptors any more).


def known_bug(name):
    for prefix, why in KNOWN_BUGS.items():
        if name.startswith(prefix):
            return why
    return None

# ---- temporary space ---------------------------------------------------------

WORK = tempfile.mkdtemp(prefix="zvm-hostile-", dir="/tmp")
os.chmod(WORK, 0o777)
# /tmp is covered by the jail's own tmpfs, so host paths the jail should
# never reach by "climbing" are put under /var/tmp as well.
VARWORK = tempfile.mkdtemp(prefix="zvm-hostile-", dir="/var/tmp" if os.path.isdir("/var/tmp") else None)
os.chmod(VARWORK, 0o777)
_spawned = []  # host processes the runner itself started


def _cleanup():
    for p in _spawned:
        if p.poll() is None:
            p.kill()
            p.wait()
    shutil.rmtree(WORK, ignore_errors=True)
    shutil.rmtree(VARWORK, ignore_errors=True)


atexit.register(_cleanup)


def pattern(n):
    return bytes(ord("a") + i % 26 for i in range(n))


def snapshot(path):
    """What must not change about a host file or directory tree."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    snap = {"mode": st.st_mode, "uid": st.st_uid, "size": st.st_size, "mtime": st.st_mtime_ns}
    if stat.S_ISREG(st.st_mode):
        with open(path, "rb") as f:
            snap["sha256"] = hashlib.sha256(f.read()).hexdigest()
    elif stat.S_ISLNK(st.st_mode):
        snap["target"] = os.readlink(path)
    elif stat.S_ISDIR(st.st_mode):
        snap["entries"] = {n: snapshot(os.path.join(path, n)) for n in sorted(os.listdir(path))}
    return snap


def pids_matching(marker):
    if PGREP:
        out = subprocess.run([PGREP, "-f", marker], capture_output=True, text=True).stdout
        return [int(x) for x in out.split()]
    found = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    if marker.encode() in f.read():
                        found.append(int(d))
            except OSError:
                pass
    return found


# ---- one run of zerovm -------------------------------------------------------


class Result:
    def __init__(self):
        self.status = None      # zerovm's exit status
        self.report = {}        # the JSON report
        self.stdout = ""        # zerovm's own stdout
        self.stderr = ""
        self.out = b""          # what the probe wrote to /dev/stdout
        self.lines = []
        self.wall = 0.0
        self.marker = ""

    @property
    def state(self):
        return self.report.get("exit_state", "<no report>")

    def has(self, prefix):
        return any(line.startswith(prefix) for line in self.lines)

    def count(self, prefix):
        return sum(1 for line in self.lines if line.startswith(prefix))


class Ctx:
    """One case: its directory, its runs, and the checks that failed."""

    counter = 0

    def __init__(self, name, nobody=False):
        Ctx.counter += 1
        self.name = name
        self.nobody = nobody
        slug = "".join(c if c.isalnum() else "-" for c in name)[:40]
        self.dir = os.path.join(WORK, f"{Ctx.counter:03d}-{slug}")
        os.mkdir(self.dir)
        os.chmod(self.dir, 0o777)
        self.failures = []
        self.notes = []

    # -- checks --
    def check(self, cond, msg):
        if not cond:
            self.failures.append(msg)
        return cond

    def note(self, msg):
        self.notes.append(msg)

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, data, mode=0o666):
        p = self.path(name)
        with open(p, "wb") as f:
            f.write(data)
        os.chmod(p, mode)
        return p

    def read(self, name):
        try:
            with open(self.path(name), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def give_to_nobody(self):
        """In a [nobody] case the files are the caller's own, as they would
        be for a user running zerovm (sentinels excepted: "someone else's")."""
        if not self.nobody:
            return
        for root, dirs, files in os.walk(self.dir):
            for n in dirs + files:
                p = os.path.join(root, n)
                if not n.startswith("sentinel") and not os.path.islink(p):
                    os.chown(p, NOBODY, NOBODY)

    # -- the run --
    def run(self, probe, args=(), *, timeout=5, memory=64 * MIB, channels=(), env=(),
            fstab=(), stdout_uri=None, outer=60, text_report=False, pass_fds=(), during=None,
            wrap=(), prog_dir=None):
        """Run probe_<probe> under zerovm.  channels: extra manifest Channel
        lines (uri,alias,...).  during(r): called while zerovm runs (r.marker
        is set).  prog_dir: where the program is (default: the case's
        directory).  Returns a Result."""
        r = Result()
        prog = os.path.join(prog_dir or self.dir, "probe_" + probe)
        if not os.path.exists(prog):  # a case may have put it there itself
            shutil.copyfile(os.path.join(PROBES, "probe_" + probe), prog)
            os.chmod(prog, 0o755)
        r.marker = f"zvmh{os.getpid()}-{Ctx.counter}-{probe}"
        nvram = "[args]\nargs = " + " ".join([r.marker, *args]) + "\n"
        if env:
            nvram += "[env]\n" + "".join(f"name={k},value={v}\n" for k, v in env)
        if fstab:
            nvram += "[fstab]\n" + "".join(f"channel={c},mountpoint={m},access={a}\n" for c, m, a in fstab)
        self.write("nvram", nvram.encode(), 0o644)
        out_uri = stdout_uri or self.path("stdout.txt")
        lines = [
            "Version = 20130611",
            f"Timeout = {timeout}",
            f"Memory = {memory},0",
            f"Program = {prog}",
            "Channel = /dev/stdin,/dev/stdin,0,0,8192,8192,0,0",
            f"Channel = {out_uri},/dev/stdout,0,0,0,0,100000,1048576",
            f"Channel = {self.path('stderr.txt')},/dev/stderr,0,0,0,0,100000,1048576",
            f"Channel = {self.path('nvram')},/dev/nvram,0,0,100,100000,0,0",
        ] + [f"Channel = {c}" for c in channels]
        manifest = self.write("manifest", ("\n".join(lines) + "\n").encode(), 0o644)
        self.give_to_nobody()
        cmd = [ZEROVM] if text_report else [ZEROVM, "--report=json"]
        cmd.append(manifest)
        if self.nobody:
            cmd = [SETPRIV, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"] + cmd
        cmd = list(wrap) + cmd
        cmd = [TIMEOUT_BIN, "-k", "5", str(outer)] + cmd
        envv = dict(os.environ, ZEROVM_CACHE_DIR=self.path("cache"))
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=envv, cwd=self.dir, pass_fds=pass_fds)
        try:
            if during:
                during(r)
        finally:
            out, err = p.communicate()
        r.wall = time.monotonic() - t0
        r.status = p.returncode
        r.stdout = out.decode(errors="replace")
        r.stderr = err.decode(errors="replace")
        if not text_report:
            r.report = parse_json_report(r.stdout)
        r.out = (self.read("stdout.txt") or b"") if stdout_uri is None else out
        r.lines = r.out.decode(errors="replace").splitlines()
        self.last = r
        if r.status == 124 or r.status == 137:
            self.failures.append(f"zerovm did not return within {outer} s (killed by timeout(1))")
        return r

    # -- common expectations --
    def expect_state(self, r, state, user_rc=None):
        self.check(r.state == state, f"exit state '{r.state}', expected '{state}'")
        if user_rc is not None:
            self.check(r.report.get("user_rc") == user_rc,
                       f"user_rc {r.report.get('user_rc')}, expected {user_rc}")

    def expect_clean(self, r, done=True):
        """No ESCAPED/WRONGERR/FAIL line; DONE printed when done."""
        for line in r.lines:
            if line.startswith(("ESCAPED", "WRONGERR", "FAIL")):
                self.failures.append("probe: " + line)
        if done:
            self.check(r.has("DONE"), "the probe did not reach DONE")

    def expect_killed(self, r, what):
        self.expect_state(r, "killed by signal 31")
        self.check(r.report.get("signal") == 31, f"signal {r.report.get('signal')}, expected 31")
        self.check(r.status == 1, f"zerovm exit status {r.status}, expected 1")
        self.check(r.has("TRY " + what), f"probe never reached 'TRY {what}'")
        self.expect_clean(r, done=False)

    def expect_no_leftovers(self, r):
        pids = pids_matching(r.marker)
        if pids:
            time.sleep(1)
            late = pids_matching(r.marker)
            self.failures.append(f"processes left behind after zerovm returned: {pids}"
                                 + (f" (still there 1 s later: {late})" if late else " (gone 1 s later)"))
            for pid in late:  # they are ours: started by this run
                try:
                    os.kill(pid, 9)
                except OSError:
                    pass

    def expect_unchanged(self, path, before, what=None):
        after = snapshot(path)
        self.check(after == before, f"host {what or path} changed: {before} -> {after}")

    def expect_absent(self, path):
        self.check(not os.path.lexists(path), f"host file {path} was created")


def parse_json_report(stdout):
    """The report is the last line; fall back to the last '{"validator"'."""
    lines = stdout.rstrip("\n").split("\n")
    try:
        return json.loads(lines[-1])
    except (ValueError, IndexError):
        pass
    i = stdout.rfind('{"validator"')
    if i >= 0:
        try:
            return json.loads(stdout[i:].strip())
        except ValueError:
            pass
    return {}


# ---- cases -------------------------------------------------------------------

CASES = []  # (name, function, nobody)


def case(name, nobody_too=False):
    def deco(fn):
        CASES.append((name, fn, False))
        if nobody_too:
            CASES.append((name + " [nobody]", fn, True))
        return fn
    return deco


def output_channel(ctx, name="output.txt", alias="/dev/output", type_=0, put_size=100,
                   puts=1000, gets=0, get_size=0, etag=0):
    return f"{ctx.path(name)},{alias},{type_},{etag},{gets},{get_size},{puts},{put_size}"


def input_channel(ctx, data, name="input.txt", alias="/dev/input", type_=0, gets=100000,
                  get_size=1 << 24, etag=0):
    ctx.write(name, data, 0o644)
    return f"{ctx.path(name)},{alias},{type_},{etag},{gets},{get_size},0,0"


def sentinel(ctx, name="sentinel.txt", data=b"TOP-SECRET-SENTINEL-0123456789\n"):
    p = ctx.write(name, data, 0o666)  # writable by anyone: only isolation protects it
    return p, snapshot(p)


# 1. reading undeclared host files
@case("read_host: /etc/passwd, /etc/shadow, sentinel, /root, /home unreadable", nobody_too=True)
def _(ctx):
    sp, before = sentinel(ctx)
    r = ctx.run("read_host", [sp])
    ctx.expect_state(r, "ok", 0)
    ctx.expect_clean(r)
    ctx.check(r.count("BLOCKED") >= 13, f"only {r.count('BLOCKED')} BLOCKED lines")
    ctx.check(b"TOP-SECRET" not in r.out, "the sentinel's content reached the program")
    ctx.expect_unchanged(sp, before)


# 2. writing outside the channels
@case("write_host: sentinel, new files next to it and in / stay off the host", nobody_too=True)
def _(ctx):
    sp, before = sentinel(ctx)
    newfile = ctx.path("newfile")
    rootfile = f"/zvm-hostile-{os.getpid()}"
    ctx.check(not os.path.exists(rootfile), f"{rootfile} exists before the run")
    r = ctx.run("write_host", [sp, newfile, rootfile])
    ctx.expect_state(r, "ok", 0)
    ctx.expect_clean(r)
    ctx.expect_unchanged(sp, before)
    ctx.expect_absent(newfile)
    for p in (rootfile, rootfile + ".renamed"):
        ctx.expect_absent(p)
        if os.path.lexists(p):  # an escape: do not leave it in the host's /
            os.unlink(p)


# 3. write quota
@case("quota_write over: write(put_size+1) -> EDQUOT, output empty", nobody_too=True)
def _(ctx):
    r = ctx.run("quota_write", ["over", "100"], channels=[output_channel(ctx, put_size=100)])
    ctx.expect_state(r, "quota exceeded (/dev/output)", 0)
    ctx.expect_clean(r)
    ctx.check(r.count("BLOCKED write put_size+1") == 2, "write(put_size+1) was not refused twice")
    ctx.check(ctx.read("output.txt") == b"", f"output is {ctx.read('output.txt')!r}, expected empty")


@case("quota_write fill: exactly put_size bytes, then EDQUOT")
def _(ctx):
    r = ctx.run("quota_write", ["fill", "100"], channels=[output_channel(ctx, put_size=100)])
    ctx.expect_state(r, "quota exceeded (/dev/output)", 0)
    ctx.expect_clean(r)
    ctx.check(r.has("OK write put_size: 100"), "the exact fill did not succeed")
    ctx.check(r.count("BLOCKED write") == 2, "writes past put_size were not refused")
    ctx.check(ctx.read("output.txt") == pattern(100), "output is not exactly put_size bytes")


@case("quota_write puts: the puts count limits writes")
def _(ctx):
    r = ctx.run("quota_write", ["puts", "1000", "5"],
                channels=[output_channel(ctx, put_size=1000, puts=5)])
    ctx.expect_state(r, "quota exceeded (/dev/output)", 0)
    ctx.expect_clean(r)
    ctx.check(r.has("BLOCKED write past puts"), "writes past puts were not refused")
    ctx.check(ctx.read("output.txt") == pattern(5), f"output {ctx.read('output.txt')!r}, expected 5 bytes")


# 4. read quota
@case("quota_read size: at most get_size bytes, then EDQUOT", nobody_too=True)
def _(ctx):
    data = pattern(1000)
    r = ctx.run("quota_read", ["size", "100"],
                channels=[input_channel(ctx, data, get_size=100),
                          output_channel(ctx, put_size=10000)])
    ctx.expect_state(r, "quota exceeded (/dev/input)", 0)
    ctx.expect_clean(r)
    ctx.check(r.has("BLOCKED read past the limit: EDQUOT"), "reads past get_size were not refused")
    ctx.check(ctx.read("output.txt") == data[:100], "the bytes read are not exactly the first get_size")
    ctx.check(r.report.get("accounting", {}).get("read_bytes") == 100,
              f"accounting read_bytes {r.report.get('accounting', {}).get('read_bytes')}, expected 100")


@case("quota_read gets: at most gets reads, then EDQUOT")
def _(ctx):
    data = pattern(1000)
    r = ctx.run("quota_read", ["gets", "3"],
                channels=[input_channel(ctx, data, gets=3, get_size=1000),
                          output_channel(ctx, put_size=10000)])
    ctx.expect_state(r, "quota exceeded (/dev/input)", 0)
    ctx.expect_clean(r)
    ctx.check(ctx.read("output.txt") == data[:30], "not exactly 3 reads of 10 bytes came through")


# 5. quota bypasses
@case("quota_dup: dup/dup2/dup3/F_DUPFD/reopen share the counters", nobody_too=True)
def _(ctx):
    r = ctx.run("quota_dup", channels=[output_channel(ctx, put_size=10)])
    ctx.expect_state(r, "quota exceeded (/dev/output)", 0)
    ctx.expect_clean(r)
    ctx.check(r.count("BLOCKED") == 8, f"{r.count('BLOCKED')} of 8 duplicate writes refused")
    ctx.check(r.has("OK last 4 bytes"), "the last 4 bytes did not fit")
    ctx.check(ctx.read("output.txt") == b"aaaaaacccc", f"output {ctx.read('output.txt')!r}")


@case("fd_tables: each process has its own descriptors: close, dup, dup2, CLOEXEC, exec", nobody_too=True)
def _(ctx):
    r = ctx.run("fd_tables", channels=[output_channel(ctx, put_size=1000)])
    ctx.expect_state(r, "ok", 0)
    ctx.expect_clean(r)
    ctx.check(r.count("OK ") == 21 and b"FAIL" not in r.out, f"{r.count('OK ')} of 21 checks passed")
    ctx.check(r.has("DONE"), "the exec'd program did not finish")
    ctx.check(ctx.read("output.txt") == b"child-out|dup-one|over-pipe|thread|spawned|kept|", f"output {ctx.read('output.txt')!r}")


@case("channel_resize: ftruncate/fallocate/copies follow the channel rules (EDQUOT)", nobody_too=True)
def _(ctx):
    r = ctx.run("channel_resize", channels=[
        output_channel(ctx, put_size=100),
        output_channel(ctx, name="random.txt", alias="/dev/random-out", type_=2, put_size=100),
        output_channel(ctx, name="spent.txt", alias="/dev/spent", puts=2, put_size=100)])
    ctx.expect_state(r, "quota exceeded (/dev/random-out)", 0)
    ctx.expect_clean(r)
    ctx.check(r.count("BLOCKED") == 9, f"{r.count('BLOCKED')} of 9 refusals with the right errno")
    ctx.check(r.count("OK ") == 2, "a resize within put_size failed")
    ctx.check(len(ctx.read("random.txt")) == 64, f"random output is {len(ctx.read('random.txt'))} bytes")
    ctx.check(ctx.read("output.txt") == b"" and ctx.read("spent.txt") == b"ab", "bytes were copied")


@case("alias_paths: other paths to the alias, /proc/self/fd, /dev/fd/1 do not bypass the quota", nobody_too=True)
def _(ctx):
    r = ctx.run("alias_paths", channels=[output_channel(ctx, put_size=10)])
    ctx.expect_state(r, "quota exceeded (/dev/output)", 0)
    ctx.expect_clean(r)
    ctx.check(r.has("OK openat2 of /dev/null"), "openat2 of a path that is no alias failed")
    ctx.check(ctx.read("output.txt") == b"0123456789", f"output {ctx.read('output.txt')!r}")


@case("mmap_channel: mmap of channel descriptors fails")
def _(ctx):
    data = b"INPUT-DATA-" * 500
    r = ctx.run("mmap_channel", channels=[input_channel(ctx, data), output_channel(ctx, put_size=100)])
    ctx.expect_state(r, "ok", 0)
    ctx.expect_clean(r)
    ctx.check(r.count("BLOCKED mmap") == 6, "not every mmap was refused")
    ctx.check(ctx.read("output.txt") == b"", "bytes reached the output")
    ctx.check(ctx.read("input.txt") == data, "the input changed")


@case("copy_calls: sendfile/splice/tee/vmsplice/copy_file_range on channels fail")
def _(ctx):
    r = ctx.run("copy_calls", channels=[input_channel(ctx, b"INPUT" * 100),
                                        output_channel(ctx, put_size=10)])
    ctx.expect_state(r, "ok", 0)
    ctx.expect_clean(r)
    ctx.check(r.count("BLOCKED") == 8, f"{r.count('BLOCKED')} of 8 copies refused")
    ctx.check(ctx.read("output.txt") == b"", f"output {ctx.read('output.txt')!r}")


@case("copy_calls errno: copies on channels fail with EINVAL, as documented")
def _(ctx):
    r = ctx.run("copy_calls", channels=[input_channel(ctx, b"INPUT" * 100),
                                        output_channel(ctx, put_size=10)])
    for line in r.lines:
        if line.startswith("BLOCKED") and not line.endswith(": EINVAL"):
            ctx.failures.append("probe: " + line)
    ctx.check(r.count("BLOCKED") == 8, f"{r.count('BLOCKED')} of 8 copies refused")


@case("pwrite_offset: a huge offset on a random-write channel cannot grow the host file")
def _(ctx):
    r = ctx.run("pwrite_offset", ["100"],
                channels=[output_channel(ctx, type_=3, put_size=100, puts=100, gets=100, get_size=100)])
    ctx.expect_clean(r)
    size = os.path.getsize(ctx.path("output.txt"))
    ctx.check(size <= 100, f"host output file is {size} bytes, put_size is 100")
    if size <= 1 << 20:
        ctx.check(ctx.read("output.txt") == b"\0" * 10 + b"HELLO", f"output {ctx.read('output.txt')[:40]!r}")


@case("writev_many: vectored writes cannot pass put_size")
def _(ctx):
    r = ctx.run("writev_many", channels=[output_channel(ctx, put_size=1000, puts=1000)])
    ctx.expect_clean(r)
    ctx.check(r.has("BLOCKED writev 1024 x 1 byte over put_size: EDQUOT"), "1024 x 1 byte was not refused")
    ctx.check(r.count("BLOCKED") == 5, f"{r.count('BLOCKED')} of 5 bad writevs refused")
    ctx.check(ctx.read("output.txt") == b"".join(bytes([97 + i]) * 10 for i in range(10)),
              f"output {ctx.read('output.txt')!r}")


@case("lseek_seq: lseek/pread/pwrite on sequential channels fail with ESPIPE")
def _(ctx):
    r = ctx.run("lseek_seq", channels=[input_channel(ctx, b"ABCDEFGHIJKLMNOP"),
                                       output_channel(ctx, put_size=100)])
    ctx.expect_state(r, "ok", 0)
    ctx.expect_clean(r)
    ctx.check(r.count("BLOCKED") == 7, f"{r.count('BLOCKED')} of 7 refused")
    ctx.check(ctx.read("output.txt") == b"first|thirdABCD", f"output {ctx.read('output.txt')!r}")


# 6-9. processes, memory, time
@case("forkbomb: RLIMIT_NPROC stops it, nothing left behind", nobody_too=True)
def _(ctx):
    r = ctx.run("forkbomb", timeout=10)
    ctx.expect_state(r, "ok", 0)
    ctx.expect_clean(r)
    ctx.expect_no_leftovers(r)


@case("membomb: malloc+touch ends at Memory", nobody_too=True)
def _(ctx):
    r = ctx.run("membomb", ["4096"], memory=64 * MIB, timeout=20)
    if r.state == "memory limit":
        pass
    else:
        ctx.expect_state(r, "ok", 1)
        ctx.check(r.has("BLOCKED malloc: ENOMEM"), "the program never saw ENOMEM")
    ctx.expect_clean(r, done=False)
    for line in r.lines:
        if line.startswith("INFO allocated"):
            ctx.check(int(line.split()[4]) <= 64, line)
    ctx.expect_no_leftovers(r)


@case("memfd_bomb: memfd pages are bounded by Memory")
def _(ctx):
    r = ctx.run("memfd_bomb", [str(64 * MIB)], memory=64 * MIB, timeout=20)
    ctx.expect_clean(r, done=r.state == "ok")
    ctx.note(next((l for l in r.lines if l.startswith("INFO memfd")), "no INFO line"))


@case("sockbuf_bomb: bytes queued in socketpairs are bounded by Memory")
def _(ctx):
    r = ctx.run("sockbuf_bomb", [str(64 * MIB)], memory=64 * MIB, timeout=20)
    ctx.expect_clean(r, done=r.state == "ok")
    ctx.note(next((l for l in r.lines if l.startswith("INFO")), "no INFO line"))


SIGPENDING_LIMIT = 128  # ZVM_SIGPENDING_LIMIT (src/engine/native/native.h)


@case("kbudget inotify: no inotify instance (a budget of the caller, a side channel on /dev/self)",
      nobody_too=True)
def _(ctx):
    r = ctx.run("kbudget", ["inotify"])
    ctx.expect_state(r, "ok", 0)
    ctx.expect_clean(r)
    ctx.check(r.has("BLOCKED inotify_init1: ENOSYS"), "inotify_init1 was not refused with ENOSYS")


def sigpending_case(mode, what):
    @case(f"kbudget {mode}: {what} stop at RLIMIT_SIGPENDING", nobody_too=True)
    def _(ctx):
        r = ctx.run("kbudget", [mode, str(SIGPENDING_LIMIT)])
        ctx.expect_state(r, "ok", 0)
        ctx.expect_clean(r)
        ctx.check(r.has(f"BLOCKED {what} at"), f"{what}: never refused with EAGAIN")
        ctx.note(next((l for l in r.lines if l.startswith("INFO")), "no INFO line"))


sigpending_case("timers", "POSIX timers")
sigpending_case("sigqueue", "queued signals")


@case("kbudget pipesz: F_SETPIPE_SZ cannot grow a pipe past 64 KiB", nobody_too=True)
def _(ctx):
    r = ctx.run("kbudget", ["pipesz"])
    ctx.expect_state(r, "ok", 0)
    ctx.expect_clean(r)
    ctx.check(r.has("BLOCKED F_SETPIPE_SZ 1 MiB: EPERM"), "F_SETPIPE_SZ 1 MiB was not refused")
    ctx.check(r.count("OK F_SETPIPE_SZ") == 2, "shrinking a pipe and growing it back failed")


def jail_socket_bytes(pid):
    """Bytes the unix sockets of pid's network namespace hold (their
    wmem_alloc: queued skbs, truesize), read from outside with ss."""
    out = subprocess.run(["nsenter", f"--net=/proc/{pid}/ns/net", "ss", "-x", "-a", "-m"],
                         capture_output=True, text=True, check=True).stdout
    total = 0
    for word in out.replace("(", ",").replace(")", ",").split(","):
        if word.startswith("t") and word[1:].isdigit():
            total += int(word[1:])
    return total


def jail_pipe_bytes(pids):
    """Bytes queued in the pipes that pids hold, read from outside: each
    distinct pipe reopened through /proc/<pid>/fd and asked FIONREAD."""
    seen, total = set(), 0
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            path = f"/proc/{pid}/fd/{fd}"
            try:
                link = os.readlink(path)
                if not link.startswith("pipe:") or link in seen:
                    continue
                seen.add(link)
                f = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                buf = bytearray(4)
                fcntl.ioctl(f, termios.FIONREAD, buf)
                total += int.from_bytes(buf, sys.byteorder)
            finally:
                os.close(f)
    return total


def kernel_buffer_case(kind, what, forks=4):
    """FORKS processes fill socketpairs (both ways), pipes, or socketpairs
    whose writing end they close, until refused; while they hold them, what
    the kernel holds is measured from outside and must stay within the
    budget, Memory / 2 (src/engine/native/kbuf.c)."""
    @case(f"sockbuf_bomb {kind}: {what} filled by {forks} processes hold at most Memory / 2",
          nobody_too=True)
    def _(ctx):
        memory = 64 * MIB
        fifo = ctx.path("go")
        os.mkfifo(fifo, 0o666)
        measured = {}

        def measure(r):
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and b"FULL" not in (ctx.read("stdout.txt") or b""):
                time.sleep(0.05)
            pids = pids_matching(r.marker)
            if pids and IS_ROOT:
                measured["held"] = (jail_pipe_bytes(pids) if kind == "pipe"
                                    else jail_socket_bytes(min(pids)))
            while time.monotonic() < deadline + 30:  # let the probe go
                try:
                    go = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
                except OSError:  # no reader (yet, or any more)
                    if not pids_matching(r.marker):
                        break
                    time.sleep(0.05)
                    continue
                os.write(go, b"x")
                os.close(go)
                break

        r = ctx.run("sockbuf_bomb", [str(memory), str(forks), kind], memory=memory, timeout=30,
                    outer=90, channels=[f"{fifo},/dev/go,0,0,10,10,0,0"], during=measure)
        ctx.expect_state(r, "ok", 0)
        ctx.expect_clean(r)
        ctx.check(r.has("FULL"), "the probe never held its buffers")
        ctx.note(next((l for l in r.lines if l.startswith("INFO")), "no INFO line"))
        if not IS_ROOT:
            ctx.note("not root: the kernel's side was not measured")
            return
        ctx.check("held" in measured, "the jail's processes were not found to measure")
        if kind == "half":
            return  # closed sockets are in no table ss reads: the probe's count above
        held = measured.get("held", 0)
        ctx.note(f"the kernel holds {held >> 10} KiB in the jail's {kind}s (measured outside)")
        ctx.check(held <= memory // 2,
                  f"the jail's {kind}s hold {held >> 10} KiB, more than Memory / 2")


kernel_buffer_case("socket", "socketpairs (both ways)")
kernel_buffer_case("pipe", "pipes")
kernel_buffer_case("half", "socketpairs with the writer closed")


@case("tmpfs_fill: files in / and /tmp are bounded by Memory")
def _(ctx):
    r = ctx.run("tmpfs_fill", [str(64 * MIB)], memory=64 * MIB, timeout=20)
    ctx.expect_clean(r, done=r.state == "ok")
    ctx.note(next((l for l in r.lines if l.startswith("INFO /tmp took")), "no INFO line"))


@case("fork_memory: processes together stay within Memory")
def _(ctx):
    r = ctx.run("fork_memory", [str(64 * MIB), "8"], memory=64 * MIB, timeout=20)
    ctx.expect_clean(r, done=r.state == "ok")
    ctx.note(next((l for l in r.lines if l.startswith("INFO")), "no INFO line"))
    ctx.expect_no_leftovers(r)


@case("spin: endless loop ends in 'timeout'", nobody_too=True)
def _(ctx):
    r = ctx.run("spin", timeout=2, outer=30)
    ctx.expect_state(r, "timeout")
    ctx.check(r.status == 1, f"zerovm exit status {r.status}, expected 1")
    ctx.check(r.status not in (124, 137), "zerovm outlived its outer bound (timeout(1) killed it)")
    ctx.note(f"wall {r.wall:.2f} s for Timeout 2")
    ctx.expect_no_leftovers(r)


@case("orphan: a signal-ignoring daemonized child does not survive the program", nobody_too=True)
def _(ctx):
    r = ctx.run("orphan", timeout=10)
    ctx.expect_state(r, "ok", 0)
    ctx.expect_clean(r)
    ctx.expect_no_leftovers(r)


@case("fork_kill: processes killed while their fork waits on the supervisor", nobody_too=True)
def _(ctx):
    r = ctx.run("fork_kill", ["300"], timeout=60)
    ctx.expect_state(r, "ok", 0)
    ctx.check(r.has("OK 300 of 300 forking children killed and reaped"),
              "not every forking child was killed and reaped")
    ctx.expect_no_leftovers(r)


@case("fifo_read: a FIFO channel without a writer cannot keep zerovm past Timeout")
def _(ctx):
    fifo = ctx.path("fifo")
    os.mkfifo(fifo, 0o666)
    r = ctx.run("fifo_read", timeout=2, outer=20,
                channels=[f"{fifo},/dev/fifo,0,0,10,10,0,0"])
    ctx.check(r.status != 124 and r.status != 137, "zerovm hung in the FIFO (timeout(1) killed it)")
    if r.status not in (124, 137):
        ctx.expect_state(r, "timeout")
    ctx.note(f"wall {r.wall:.2f} s for Timeout 2")


# 10. network
@case("net_connect: no socket to an undeclared loopback listener", nobody_too=True)
def _(ctx):
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.bind(("127.0.0.1", 0))
    lst.listen(8)
    port = lst.getsockname()[1]
    try:
        r = ctx.run("net_connect", [str(port)])
        lst.setblocking(False)
        connected = True
        try:
            conn, _ = lst.accept()
            conn.close()
        except BlockingIOError:
            connected = False
    finally:
        lst.close()
    ctx.expect_state(r, "ok", 0)
    ctx.expect_clean(r)
    ctx.check(r.count("BLOCKED socket") == 3, "socket() was not refused for IPv4, IPv6 and UDP")
    ctx.check(not connected, "the host listener saw a connection")


@case("tcp_echo: a declared tcp: channel works and counts as network")
def _(ctx):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(20)
    got = bytearray()

    def serve():
        try:
            conn, _ = srv.accept()
        except OSError:
            return
        conn.settimeout(10)
        try:
            while len(got) < 16:
                b = conn.recv(16 - len(got))
                if not b:
                    break
                got.extend(b)
            conn.sendall(bytes(got))
            conn.recv(1)  # until the jail side closes
        except OSError:
            pass
        conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    port = srv.getsockname()[1]
    r = ctx.run("tcp_echo", channels=[f"tcp:127.0.0.1:{port},/dev/net,0,0,100,1000,100,1000"])
    t.join(15)
    srv.close()
    ctx.expect_state(r, "ok", 0)
    ctx.expect_clean(r)
    ctx.check(r.has("ECHO hello-from-jail"), "no echo came back")
    ctx.check(bytes(got) == b"hello-from-jail\n", f"server received {bytes(got)!r}")
    a = r.report.get("accounting", {})
    ctx.check(a.get("net_writes") == 1 and a.get("net_write_bytes") == 16,
              f"net writes {a.get('net_writes')}/{a.get('net_write_bytes')}, expected 1/16")
    ctx.check(a.get("net_reads", 0) >= 1 and a.get("net_read_bytes") == 16,
              f"net reads {a.get('net_reads')}/{a.get('net_read_bytes')}, expected >=1/16")


@case("sockets: AF_PACKET, raw, netlink, vsock, alg, abstract unix fail; socketpair works")
def _(ctx):
    r = ctx.run("sockets")
    ctx.expect_state(r, "ok", 0)
    ctx.expect_clean(r)
    ctx.check(r.count("BLOCKED") == 8, f"{r.count('BLOCKED')} of 8 sockets refused")
    ctx.check(r.has("OK socketpair works"), "socketpair does not work")


# 11, 12, 15, 16, 19. system calls that kill
def killed_cases(probe, modes, label, nobody_modes=()):
    for mode in modes:
        def fn(ctx, mode=mode):
            r = ctx.run(probe, [mode])
            ctx.expect_killed(r, mode)
            ctx.expect_no_leftovers(r)
        name = f"{probe} {mode}: {label}"
        CASES.append((name, fn, False))
        if mode in nobody_modes:
            CASES.append((name + " [nobody]", fn, True))


killed_cases("ptrace", ["traceme", "attach_parent", "attach_child", "seize_1", "process_vm_readv",
                        "process_vm_writev"], "killed by SIGSYS", nobody_modes=["traceme"])
killed_cases("ns_escape", ["mount_tmpfs", "umount_proc", "unshare_user", "unshare_mnt", "unshare_net",
                           "setns_mnt", "clone_newuser", "clone_newns", "clone_newpid", "chroot",
                           "pivot_root", "open_tree", "fsopen", "move_mount", "mount_setattr"],
             "killed by SIGSYS", nobody_modes=["unshare_user", "mount_tmpfs"])


@case("ns_escape clone3: CLONE_NEWUSER via clone3 fails with ENOSYS")
def _(ctx):
    r = ctx.run("ns_escape", ["clone3"])
    ctx.expect_state(r, "ok", 0)
    ctx.expect_clean(r)
    ctx.check(r.has("BLOCKED clone3 CLONE_NEWUSER: ENOSYS"), "clone3 did not fail with ENOSYS")


killed_cases("modules", ["init_module", "finit_module", "delete_module"], "killed by SIGSYS")
killed_cases("kernel_iface", ["bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "keyctl",
                              "add_key", "request_key", "kexec_load", "kexec_file_load", "pidfd_getfd",
                              "kcmp", "personality", "modify_ldt", "fanotify_init", "syslog", "reboot",
                              "swapon", "iopl", "ioperm", "acct", "settimeofday", "open_by_handle_at",
                              "name_to_handle_at", "sethostname"], "killed by SIGSYS",
             nobody_modes=["bpf", "io_uring_setup"])
@case("odd_syscalls unknown: unknown numbers fail with ENOSYS")
def _(ctx):
    r = ctx.run("odd_syscalls", ["unknown"])
    ctx.expect_state(r, "ok", 0)
    ctx.expect_clean(r)
    ctx.check(r.count("BLOCKED") == 3, f"{r.count('BLOCKED')} of 3 refused with ENOSYS")


killed_cases("odd_syscalls", ["highbits"], "upper bits of the number do not hide ptrace")
killed_cases("int80", ["int80", "int80_setuid", "x32"], "foreign ABI killed by SIGSYS")


# 13. signals
@case("kill_all: kill(-1)/kill(1) reach only the sandbox", nobody_too=True)
def _(ctx):
    sleeper = subprocess.Popen(["sleep", "60"], stdin=subprocess.DEVNULL)
    _spawned.append(sleeper)
    r = ctx.run("kill_all")
    ctx.expect_state(r, "killed by signal 9")
    ctx.expect_clean(r, done=False)
    ctx.check(r.has("ALIVE"), "the program did not survive its own kill(-1)")
    ctx.check(r.report.get("signal") == 9, "no complete report")
    ctx.check(sleeper.poll() is None, "a host process of the runner was killed")
    sleeper.kill()
    sleeper.wait()


@case("pid1 kill: kill(getpid(), SIGKILL) ends the program with signal 9", nobody_too=True)
def _(ctx):
    r = ctx.run("pid1", ["kill"])
    ctx.expect_state(r, "killed by signal 9")
    ctx.check(r.report.get("signal") == 9, f"signal {r.report.get('signal')}, expected 9")
    ctx.check(r.has("TRY kill"), "the probe never reached its kill")
    ctx.expect_clean(r, done=False)


@case("pid1 abort: abort() ends the program with SIGABRT (6)", nobody_too=True)
def _(ctx):
    r = ctx.run("pid1", ["abort"])
    ctx.expect_state(r, "killed by signal 6")
    ctx.check(r.report.get("signal") == 6, f"signal {r.report.get('signal')}, expected 6")
    ctx.expect_clean(r, done=False)


@case("pid1 exit3: the program's exit code 3 is the report's", nobody_too=True)
def _(ctx):
    r = ctx.run("pid1", ["exit3"])
    ctx.expect_state(r, "ok", 3)
    ctx.expect_clean(r)


@case("pid1 xcpu: a program that sends itself SIGXCPU is not reported as a timeout", nobody_too=True)
def _(ctx):
    r = ctx.run("pid1", ["xcpu"])
    ctx.expect_state(r, "killed by signal 24")
    ctx.check(r.report.get("signal") == 24, f"signal {r.report.get('signal')}, expected 24")
    ctx.expect_clean(r, done=False)


@case("pid1 sigq: signals queued on the init stay within the sandbox's budget", nobody_too=True)
def _(ctx):
    r = ctx.run("pid1", ["sigq"], timeout=20, outer=60)
    ctx.expect_state(r, "ok", 0)
    ctx.expect_clean(r)
    got = [l for l in r.lines if l.startswith("INFO init SigQ limit ")]
    ctx.check(got, "no SigQ line from the probe")
    if got:
        limit, most = int(got[0].split()[4].rstrip(",")), int(got[0].split()[-1])
        ctx.check(limit == 128, f"the init's RLIMIT_SIGPENDING is {limit}, not the sandbox's 128")
        ctx.check(most <= 128, f"{most} signals were queued on the init")


@case("pid1 reap: orphans are reaped by the jail's init (no zombies)", nobody_too=True)
def _(ctx):
    r = ctx.run("pid1", ["reap"], timeout=20, outer=60)
    ctx.expect_state(r, "ok", 0)
    ctx.expect_clean(r)
    ctx.check(r.has("OK 200 orphans made"), "the orphans could not all be made")
    ctx.check(r.has("OK no zombie"), "orphans were left as zombies")
    ctx.check(r.has("INFO getpid() = 2"), "the program is not pid 2 under an init")
    ctx.expect_no_leftovers(r)


@case("groups: the caller's supplementary groups do not enter the jail (root)")
def _(ctx):
    if not IS_ROOT or not SETPRIV:
        ctx.note("not root: an unprivileged caller keeps its groups (docs/architecture.md)")
        return
    img = os.path.join(ctx.dir, "img")
    os.mkdir(img)
    os.chmod(img, 0o755)
    ctx.write("img/open.txt", b"open\n", 0o644)
    secret = ctx.write("img/secret.txt", b"TOP-SECRET-GROUP\n", 0o640)
    adm = 4  # a group the runner gives itself below, as a caller's supplementary group
    os.chown(secret, 0, adm)
    r = ctx.run("groups", ["/img"], fstab=[("/dev/img", "/img", "ro")],
                channels=[f"{img},/dev/img,3,0,1,1,0,0"],
                wrap=[SETPRIV, f"--groups={adm}", "--"])
    ctx.expect_state(r, "ok", 0)
    ctx.expect_clean(r)
    ctx.check(r.has("OK no supplementary group"), "a supplementary group entered the jail")
    ctx.check(r.count("BLOCKED") == 1, "the group's file was readable")


@case("exec_drop: a file dropped in /tmp or / cannot be executed (noexec)", nobody_too=True)
def _(ctx):
    r = ctx.run("exec_drop")
    ctx.expect_state(r, "ok", 0)
    ctx.expect_clean(r)
    ctx.check(r.has("OK wrote /tmp/dropped") and r.has("OK wrote /dropped"), "the writable root was not written")
    ctx.check(r.count("BLOCKED") == 4, f"{r.count('BLOCKED')} of 4 refused")
    ctx.check(r.has("OK re-exec"), "the program's own image did not run again")


@case("exec_drop root image: under a read-only / image, /tmp is noexec")
def _(ctx):
    img = os.path.join(ctx.dir, "rootimg")
    os.makedirs(img)
    os.chmod(img, 0o755)
    r = ctx.run("exec_drop", fstab=[("/dev/root", "/", "ro")], channels=[f"{img},/dev/root,3,0,1,1,0,0"])
    ctx.expect_state(r, "ok", 0)
    ctx.expect_clean(r)
    ctx.check(r.has("OK wrote /tmp/dropped"), "/tmp was not written")
    ctx.check(r.count("BLOCKED") == 2, f"{r.count('BLOCKED')} of 2 refused")
    ctx.check(r.has("OK re-exec"), "the program's own image did not run again")


# 14. /proc
@case("host_proc (dynamic): /proc/1 is the init, few pids, /proc writes fail")
def _(ctx):
    host = socket.gethostname()
    r = ctx.run("host_proc", ["ZVM_MARKER=hostile-env-42"], env=[("ZVM_MARKER", "hostile-env-42")])
    ctx.expect_state(r, "ok", 0)
    ctx.expect_clean(r)
    ctx.check(r.count("OK") == 3, f"{r.count('OK')} of 3 /proc facts as expected")
    ctx.check(r.count("BLOCKED") >= 9, f"only {r.count('BLOCKED')} /proc attacks refused")
    ctx.check(socket.gethostname() == host, "the host name changed")


def host_file(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def info(r, tag):
    """The text of the probe's 'INFO <tag> <len> <text>' line, or None."""
    for line in r.lines:
        if line.startswith(f"INFO {tag} "):
            parts = line.split(" ", 3)
            return parts[3] if len(parts) > 3 else ""
    return None


def info_len(r, tag):
    """The length of the file the probe showed, or None."""
    for line in r.lines:
        if line.startswith(f"INFO {tag} "):
            n = line.split(" ")[2]
            return int(n) if n.isdigit() else None
    return None


def proc_view_case(ctx, prog_dir=None):
    memory = 64 * MIB
    img = ctx.path("dirimg")
    os.mkdir(img)
    ctx.write("dirimg/file.txt", b"dir image\n")
    rwimg = ctx.path("rwimg")
    os.mkdir(rwimg)
    tar = ctx.path("img.tar")
    build_tar(tar, [("hello.txt", "file", b"hello\n")])
    for d in (img, rwimg):
        os.chmod(d, 0o777)
    # Read before the run: the host's uptime then is less than any it has
    # during the run, the sandbox's starts near zero.
    host_uptime = float(host_file("/proc/uptime").split()[0])
    r = ctx.run("proc_view", memory=memory, prog_dir=prog_dir,
                fstab=[("/dev/dirimg", "/data", "ro"), ("/dev/rwimg", "/rw", "rw"),
                       ("/dev/tarimg", "/img", "ro")],
                channels=[f"{img},/dev/dirimg,3,0,1,1,0,0", f"{rwimg},/dev/rwimg,3,0,1,1,0,0",
                          f"{tar},/dev/tarimg,3,0,1,1,0,0"])
    ctx.expect_state(r, "ok", 0)
    ctx.expect_clean(r)
    out = "\n".join(r.lines)
    # the kernel command line and boot_id
    host_cmdline = host_file("/proc/cmdline").strip()
    ctx.check(info(r, "cmdline") is not None, "no /proc/cmdline line")
    ctx.check(not host_cmdline or host_cmdline not in out, "the host's kernel command line is visible")
    host_boot_id = host_file("/proc/sys/kernel/random/boot_id").strip()
    seen_boot_id = (info(r, "boot_id") or "").replace("\\x0a", "").strip()
    ctx.check(len(seen_boot_id) == 36, f"boot_id is '{seen_boot_id}'")
    ctx.check(host_boot_id not in out, "the host's boot_id is visible")
    # memory: the sandbox's Memory, never the host's
    host_mem = [l.split()[1] for l in host_file("/proc/meminfo").splitlines() if l.startswith("MemTotal:")]
    meminfo = (info(r, "meminfo") or "").split("\\x0a")
    total = [l.split()[1] for l in meminfo if l.startswith("MemTotal:")]
    ctx.check(total == [str(memory // 1024)], f"MemTotal {total}, expected {memory // 1024}")
    ctx.check(not host_mem or host_mem[0] not in (info(r, "meminfo") or ""), "host MemTotal in meminfo")
    si = next((l for l in r.lines if l.startswith("INFO sysinfo ")), "")
    fields = dict(kv.split("=", 1) for kv in si.split() if "=" in kv)
    ctx.check(fields.get("totalram") == str(memory), f"sysinfo totalram {fields.get('totalram')}")
    ctx.check(fields.get("swap") == "0", f"sysinfo totalswap {fields.get('swap')}")
    ctx.check(fields.get("procs", "").isdigit() and 0 < int(fields["procs"]) < 10,
              f"sysinfo procs {fields.get('procs')} (the host's count?)")
    # the init (pid 1), the probe and its child: every process ps shows inside
    ctx.check(r.has("INFO sysinfo2 procs=3"), "sysinfo procs with the init and two processes is not 3")
    ctx.check(fields.get("uptime", "").isdigit() and int(fields["uptime"]) < host_uptime,
              f"sysinfo uptime {fields.get('uptime')}, host {host_uptime}")
    up = (info(r, "uptime") or "0").split()[0]
    ctx.check(float(up) < host_uptime, f"/proc/uptime {up} is the host's ({host_uptime})")
    # CPU, interrupt and disk statistics
    host_btime = [l for l in host_file("/proc/stat").splitlines() if l.startswith("btime")]
    stat = (info(r, "stat") or "").split("\\x0a")
    ctx.check(host_btime and host_btime[0] not in stat, "the host's btime is visible")
    cpu = [l for l in stat if l.startswith("cpu ")]
    ctx.check(cpu and set(cpu[0].split()[1:]) == {"0"}, f"cpu times {cpu}")
    ctx.check((info(r, "loadavg") or "").startswith("0.00 0.00 0.00"), f"loadavg {info(r, 'loadavg')}")
    intr = (info(r, "interrupts") or "").split("\\x0a")
    ctx.check(len([l for l in intr if l.strip()]) <= 1, f"/proc/interrupts has {len(intr)} lines")
    for tag in ("diskstats", "zoneinfo"):
        ctx.check(info_len(r, tag) == 0 or (info(r, tag) or "").startswith("ENOENT"),
                  f"/proc/{tag} is not empty: {(info(r, tag) or '')[:80]}")
    host_dev = [l.split()[2] for l in host_file("/proc/diskstats").splitlines() if len(l.split()) > 2]
    parts = info(r, "partitions") or ""
    ctx.check(not any(f" {d}\\x0a" in parts or parts.endswith(f" {d}") for d in host_dev),
              "host disks in /proc/partitions")
    swaps = (info(r, "swaps") or "").split("\\x0a")
    ctx.check(len([l for l in swaps if l.strip()]) <= 1, "host swap in /proc/swaps")
    cpuinfo = info(r, "cpuinfo") or ""
    nproc = [l.split()[2] for l in r.lines if l.startswith("INFO nproc ")]
    ctx.check(nproc and cpuinfo.count("processor\\x09:") == int(nproc[0]),
              f"cpuinfo shows {cpuinfo.count('processor')} CPUs, the jail {nproc}")
    ctx.check("cpu MHz" not in cpuinfo, "cpuinfo shows the host's clock")
    # masked paths and writes
    ctx.check(r.count("OK /proc/") == 14, f"{r.count('OK /proc/')} of 14 masked paths empty")
    ctx.check(r.count("BLOCKED") == 7, f"{r.count('BLOCKED')} of 7 writes refused")
    # mountinfo: no path of the caller, no cache hash
    mounts = [l[len("MOUNTINFO "):] for l in r.lines if l.startswith("MOUNTINFO ")]
    ctx.check(len(mounts) >= 5, f"only {len(mounts)} mountinfo lines")
    import re
    for line in mounts:
        for host in (ctx.dir, WORK, VARWORK, ctx.path("cache"), os.path.dirname(ctx.dir)):
            if host in line:
                ctx.failures.append(f"mountinfo shows the host path {host}: {line}")
                break
        if re.search(r"[0-9a-f]{32}", line):
            ctx.failures.append(f"mountinfo shows a hash: {line}")
    ctx.check(any(" /data " in l for l in mounts) and any(" /img " in l for l in mounts),
              "the images are not in mountinfo")


@case("proc_view: /proc and sysinfo show the sandbox (Memory, its CPUs, its age), no host data, "
      "mountinfo no host path", nobody_too=True)
def _(ctx):
    proc_view_case(ctx)


@case("proc_view: mountinfo names no path of a program in a directory closed to the jail's user")
def _(ctx):
    closed = ctx.path("closed")
    os.mkdir(closed, 0o700)  # root's: the jail's outside user (nobody) cannot search it
    proc_view_case(ctx, prog_dir=closed)


# 18. credentials
@case("creds: setuid(0)/capset/chown fail, CapEff 0, NoNewPrivs 1", nobody_too=True)
def _(ctx):
    r = ctx.run("creds")
    ctx.expect_state(r, "ok", 0)
    ctx.expect_clean(r)
    ctx.check(r.count("BLOCKED") == 13, f"{r.count('BLOCKED')} of 13 identity changes refused")
    ctx.check(r.count("OK") == 8, f"{r.count('OK')} of 8 status fields as expected")


# 20. descriptors
@case("fd_limit: no real fd in the virtual range; virtual table bounded")
def _(ctx):
    r = ctx.run("fd_limit", timeout=20)
    ctx.expect_state(r, "ok", 0)
    ctx.expect_clean(r)
    ctx.check(r.count("BLOCKED") == 8, f"{r.count('BLOCKED')} of 8 refused")


@case("fd_leak: no descriptor of zerovm or its caller reaches the program", nobody_too=True)
def _(ctx):
    leak = os.open(ctx.path("runner-secret"), os.O_CREAT | os.O_RDWR, 0o600)
    try:
        r = ctx.run("fd_leak", pass_fds=(leak,))
    finally:
        os.close(leak)
    ctx.expect_state(r, "ok", 0)
    ctx.expect_clean(r)
    ctx.check(r.count("OK") == 4, f"{r.count('OK')} of 4 descriptor checks as expected")


# 22. identity
@case("identity: hostname zerovm, uid 1000, only lo", nobody_too=True)
def _(ctx):
    r = ctx.run("identity", [socket.gethostname()])
    ctx.expect_state(r, "ok", 0)
    ctx.expect_clean(r)
    ctx.check(r.count("OK") == 3, f"{r.count('OK')} of 3 identity checks as expected")


# 23. bulk data
@case("big_copy: 10 MiB input -> output, identical, etags = md5sum", nobody_too=True)
def _(ctx):
    data = os.urandom(10 * MIB)
    md5 = hashlib.md5(data).hexdigest()
    r = ctx.run("big_copy", timeout=30, channels=[
        input_channel(ctx, data, etag=1, gets=1000000, get_size=16 * MIB),
        output_channel(ctx, etag=1, puts=1000000, put_size=16 * MIB)])
    ctx.expect_state(r, "ok", 0)
    ctx.expect_clean(r)
    out = ctx.read("output.txt")
    ctx.check(out == data, f"output differs ({len(out or b'')} bytes)")
    etags = r.report.get("etags", {})
    ctx.check(etags.get("/dev/output") == md5, f"output etag {etags.get('/dev/output')}, md5 {md5}")
    ctx.check(etags.get("/dev/input") == md5, f"input etag {etags.get('/dev/input')}, md5 {md5}")
    a = r.report.get("accounting", {})
    ctx.check(a.get("read_bytes") == len(data), f"read_bytes {a.get('read_bytes')}")
    ctx.check(a.get("write_bytes", 0) >= len(data), f"write_bytes {a.get('write_bytes')}")
    ctx.note(f"wall {r.wall:.2f} s")


# /proc/self/exe
@case("exe_link: the program's host file cannot be changed through /proc/self/exe", nobody_too=True)
def _(ctx):
    prog = ctx.path("probe_exe_link")
    shutil.copyfile(os.path.join(PROBES, "probe_exe_link"), prog)
    os.chmod(prog, 0o755)
    if ctx.nobody:
        os.chown(prog, NOBODY, NOBODY)  # a user running its own program
    before = snapshot(prog)
    r = ctx.run("exe_link")
    ctx.expect_state(r, "ok", 0)
    ctx.expect_clean(r)
    after = snapshot(prog)
    for k in ("mode", "uid", "size", "sha256", "mtime"):
        ctx.check(after.get(k) == before.get(k), f"host program's {k} changed: {before.get(k)} -> {after.get(k)}")


# 17. images
def make_link_image(ctx, sp):
    img = ctx.path("img")
    os.mkdir(img)
    with open(os.path.join(img, "file.txt"), "w") as f:
        f.write("image-content\n")
    os.symlink("/etc", os.path.join(img, "etc-link"))
    os.symlink("../../../..", os.path.join(img, "up"))
    os.symlink(sp, os.path.join(img, "abs-sentinel"))
    os.symlink(ctx.dir, os.path.join(img, "hostdir"))
    os.symlink(ctx.dir, os.path.join(img, "sub"))
    for root, dirs, files in os.walk(img):
        for n in dirs + files:
            p = os.path.join(root, n)
            if not os.path.islink(p):
                os.chmod(p, 0o777 if os.path.isdir(p) else 0o666)
    os.chmod(img, 0o777)
    return img


def image_links_case(access):
    def fn(ctx):
        sp, before = sentinel(ctx)
        img = make_link_image(ctx, sp)
        ctx.give_to_nobody()
        img_before = snapshot(img)
        etc_before = snapshot("/etc/passwd")
        r = ctx.run("image_links", [ctx.dir], fstab=[("/dev/img", "/data", access)],
                    channels=[f"{img},/dev/img,3,0,1,1,0,0",
                              output_channel(ctx, "aliasout.txt", "/data/sub/out", put_size=100)])
        ctx.expect_state(r, "ok", 0)
        ctx.expect_clean(r)
        ctx.check(r.has("OK read /data/file.txt"), "the image's own file is unreadable")
        ctx.check(r.has("OK alias /data/sub/out"), "the alias under a symlink does not work")
        ctx.check(ctx.read("aliasout.txt") == b"via-alias", f"alias output {ctx.read('aliasout.txt')!r}")
        ctx.expect_unchanged(sp, before)
        ctx.expect_unchanged(img, img_before, "image directory")
        ctx.expect_unchanged("/etc/passwd", etc_before)
        ctx.expect_absent(ctx.path("evil"))
        ctx.expect_absent("/etc/zvm-evil")
    return fn


CASES.append(("image_links ro: symlinks in a directory image stay inside the jail", image_links_case("ro"), False))
CASES.append(("image_links rw: symlinks in a writable directory image stay inside the jail",
              image_links_case("rw"), False))
CASES.append(("image_links ro: symlinks in a directory image stay inside the jail [nobody]",
              image_links_case("ro"), True))


def build_tar(path, members):
    """members: (name, kind, data_or_target)."""
    with tarfile.open(path, "w") as tf:
        for name, kind, val in members:
            ti = tarfile.TarInfo(name)
            ti.mtime = 1370908800
            if kind == "file":
                ti.size = len(val)
                ti.mode = 0o644
                tf.addfile(ti, io.BytesIO(val))
            elif kind == "dir":
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
                tf.addfile(ti)
            elif kind == "sym":
                ti.type = tarfile.SYMTYPE
                ti.linkname = val
                tf.addfile(ti)
            elif kind == "hard":
                ti.type = tarfile.LNKTYPE
                ti.linkname = val
                tf.addfile(ti)
    os.chmod(path, 0o644)


@case("image_tar: a benign tar image mounts read-only with its relative link")
def _(ctx):
    tar = ctx.path("good.tar")
    build_tar(tar, [("hello.txt", "file", b"hello\n"), ("sub", "dir", None),
                    ("sub/x.txt", "file", b"x"), ("link-to-hello", "sym", "hello.txt")])
    r = ctx.run("image_tar", fstab=[("/dev/img", "/img", "ro")],
                channels=[f"{tar},/dev/img,3,0,1,1,0,0"])
    ctx.expect_state(r, "ok", 0)
    ctx.expect_clean(r)
    ctx.check(r.has("FILE /img/hello.txt 6") and r.has("FILE /img/sub/x.txt 1"), "files missing")
    ctx.check(r.has("OK read through the relative link: hello"), "the relative link does not work")
    ctx.check(r.has("BLOCKED create in the read-only image"), "the image is writable")


def hostile_tar_case(kind):
    def fn(ctx):
        target = os.path.join(VARWORK, f"tar-{Ctx.counter}")
        os.mkdir(target)
        os.chmod(target, 0o777)
        target_before = snapshot(target)
        etc_before = snapshot("/etc/passwd")
        members = {
            "dotdot": [("ok.txt", "file", b"ok"), ("../../../../../../.." + target + "/dotdot.txt", "file", b"PWNED")],
            "absolute": [(target + "/abs.txt", "file", b"PWNED")],
            "symlink-out": [("lnk", "sym", target), ("lnk/pwned.txt", "file", b"PWNED")],
            "symlink-climb": [("up", "sym", "../../../../../../../.."),
                              ("up" + target + "/climb.txt", "file", b"PWNED")],
            "hardlink-etc": [("hl", "hard", "/etc/passwd")],
            "hardlink-dotdot": [("hl", "hard", "../../../../../../etc/passwd")],
            "symlink-late-dotdot": [("d", "dir", None), ("d/l", "sym", "x/../../../..")],
        }[kind]
        tar = ctx.path("bad.tar")
        build_tar(tar, members)
        r = ctx.run("image_tar", fstab=[("/dev/img", "/img", "ro")],
                    channels=[f"{tar},/dev/img,3,0,1,1,0,0"])
        ctx.check(r.status == 2 and r.state.startswith("bad manifest"),
                  f"hostile archive accepted: status {r.status}, state '{r.state}'")
        ctx.expect_unchanged(target, target_before, "target directory")
        ctx.expect_unchanged("/etc/passwd", etc_before)
        ctx.check(not r.has("FILE") and not r.has("LINK"), "the program ran with the hostile image")
    return fn


for _k in ["dotdot", "absolute", "symlink-out", "symlink-climb", "hardlink-etc", "hardlink-dotdot",
           "symlink-late-dotdot"]:
    CASES.append((f"image_tar {_k}: hostile archive refused, nothing written outside",
                  hostile_tar_case(_k), False))


@case("fstab mountpoint with '..': cannot create or mount host directories", nobody_too=True)
def _(ctx):
    img = ctx.path("img")
    os.mkdir(img)
    os.chmod(img, 0o777)
    target = os.path.join(VARWORK, f"mp-{Ctx.counter}")
    os.mkdir(target)
    os.chmod(target, 0o777)
    before = snapshot(target)
    r = ctx.run("image_tar", fstab=[("/dev/img", "/../../.." + target + "/made", "ro")],
                channels=[f"{img},/dev/img,3,0,1,1,0,0"])
    ctx.expect_unchanged(target, before, "directory outside the jail")
    ctx.check(r.status == 2, f"mountpoint with '..' accepted: status {r.status}, state '{r.state}'")


def disk_flushes(path):
    """Flush requests the disk holding `path` has completed (field 16 of
    its /sys/dev/block stat), or None where that cannot be read."""
    st = os.stat(path)
    try:
        with open(f"/sys/dev/block/{os.major(st.st_dev)}:{os.minor(st.st_dev)}/stat") as f:
            fields = f.read().split()
        return int(fields[15]) if len(fields) >= 17 else None
    except OSError:
        return None


@case("fsync_host (dynamic): fsync of a host file the jail shows flushes no host disk", nobody_too=True)
def _(ctx):
    libc = "/usr/lib/x86_64-linux-gnu/libc.so.6"
    before = disk_flushes(libc)
    r = ctx.run("fsync_host")
    after = disk_flushes(libc)
    ctx.expect_state(r, "ok", 0)
    ctx.expect_clean(r)
    ctx.check(r.has("INFO 600 of 600 fsync/fdatasync returned 0"), "fsync of a real file did not return 0")
    ctx.check(r.count("BLOCKED") == 2, f"{r.count('BLOCKED')} of 2 bad descriptors EBADF")
    if before is None or after is None:
        ctx.note(f"no flush counter for the disk of {libc}: the flush count is not checked here")
    else:
        # 600 calls made about 600 flushes before; a few may come from others
        ctx.check(after - before < 100, f"the host disk completed {after - before} flushes during the run")


@case("dyn_usr (dynamic): the host /usr is read-only and nosuid inside")
def _(ctx):
    victim = "/usr/bin/true" if os.path.exists("/usr/bin/true") else "/usr/bin/env"
    before = snapshot(victim)
    r = ctx.run("dyn_usr", [victim])
    ctx.expect_state(r, "ok", 0)
    ctx.expect_clean(r)
    ctx.check(r.count("BLOCKED") == 10, f"{r.count('BLOCKED')} of 10 /usr attacks refused")
    ctx.check(r.count("OK") == 2, f"{r.count('OK')} of 2 facts as expected")
    ctx.expect_unchanged(victim, before)
    ctx.expect_absent("/usr/zvm-hostile")


@case("seccomp_stack: a filter of our own cannot loosen the sandbox's")
def _(ctx):
    r = ctx.run("seccomp_stack", channels=[output_channel(ctx, put_size=4)])
    ctx.expect_state(r, "quota exceeded (/dev/output)", 0)
    ctx.expect_clean(r)
    ctx.check(r.count("BLOCKED") == 3, f"{r.count('BLOCKED')} of 3 refused")
    ctx.check(ctx.read("output.txt") == b"1234", f"output {ctx.read('output.txt')!r}")
    # two of its own so far (prctl, seccomp TSYNC): two more, then ENOMEM
    ctx.check(r.has("INFO 2 more filters, then ENOMEM"),
              "own filters are not bounded at 4 a process: "
              + "; ".join(l for l in r.lines if "more filters" in l))


def nodump_case(mode):
    def fn(ctx):
        data = b"0123456789ABCDEF"
        r = ctx.run("nodump", [mode], channels=[input_channel(ctx, data), output_channel(ctx, put_size=100)])
        ctx.expect_state(r, "ok", 0)
        ctx.expect_clean(r)
        ctx.check(ctx.read("output.txt") == data, f"output {ctx.read('output.txt')!r}")
    return fn


for _m in ["prctl", "xonly"]:
    for _nobody in (False, True):
        CASES.append((f"nodump {_m}: a non-dumpable program's channel I/O still works exactly"
                      + (" [nobody]" if _nobody else ""), nodump_case(_m), _nobody))


@case("bad_pointers: bad buffers, paths and iovecs do not confuse the supervisor")
def _(ctx):
    r = ctx.run("bad_pointers", channels=[output_channel(ctx, put_size=100)])
    ctx.expect_state(r, "ok", 0)
    ctx.expect_clean(r)
    ctx.check(ctx.read("output.txt") == b"still-fine\n", f"output {ctx.read('output.txt')!r}")


@case("bad_pointers semantics: the supervisor refuses what the kernel would (EFAULT)")
def _(ctx):
    r = ctx.run("bad_pointers", channels=[output_channel(ctx, put_size=100)])
    for line in r.lines:
        if line.startswith("DEVIATION"):
            ctx.failures.append("probe: " + line)
    ctx.check(r.has("DONE"), "the probe did not reach DONE")


@case("threads_race: concurrent writers from threads and processes cannot pass put_size")
def _(ctx):
    r = ctx.run("threads_race", timeout=30, channels=[output_channel(ctx, put_size=1000, puts=100000)])
    ctx.expect_state(r, "quota exceeded (/dev/output)", 0)
    ctx.expect_clean(r)
    out = ctx.read("output.txt") or b""
    ctx.check(len(out) == 1000, f"host output is {len(out)} bytes, put_size 1000")
    ctx.check(r.has("INFO writers saw 1000 bytes succeed"),
              "the writers' count differs: " + next((l for l in r.lines if l.startswith("INFO")), "?"))
    ctx.expect_no_leftovers(r)


def report_forge_case(fmt):
    def fn(ctx):
        r = ctx.run("report_forge", [fmt], stdout_uri="/dev/stdout", text_report=(fmt == "text"))
        if fmt == "json":
            last = r.stdout.rstrip("\n").split("\n")[-1]
            try:
                rep = json.loads(last)
            except ValueError:
                rep = None
            ctx.check(rep is not None, f"the report's line is not JSON: {last[:120]!r}")
            ctx.check(rep is not None and rep.get("user_rc") == 7,
                      f"report says user_rc {rep and rep.get('user_rc')}, expected 7")
        else:
            lines = r.stdout.rstrip("\n").split("\n")
            ctx.check(len(lines) >= 6 and lines[-6] == "0" and lines[-4] == "7",
                      f"the last 6 lines are not the true report: {lines[-6:]!r}")
        ctx.check(r.status == 0, f"zerovm exit status {r.status}")
    return fn


CASES.append(("report_forge json: program output cannot glue onto the JSON report", report_forge_case("json"), False))
CASES.append(("report_forge text: program output cannot shift the text report", report_forge_case("text"), False))


# ---- main --------------------------------------------------------------------


def preflight():
    ctx = Ctx("preflight")
    r = ctx.run("identity", [socket.gethostname()])
    if r.state != "ok":
        return f"zerovm cannot run a probe here: status {r.status}, state '{r.state}', {r.stderr.strip()[:200]}"
    return None


def main():
    for need, what in ((ZEROVM, "zerovm"), (PROBES, "probe directory")):
        if not os.path.exists(need):
            sandbox.bail(f"{what} not found at {need}")
    if not TIMEOUT_BIN:
        sandbox.bail("timeout(1) is missing")
    why = preflight()
    if why:
        sandbox.cannot_run(why)
    if IS_ROOT and not SETPRIV:
        sandbox.bail("setpriv is missing: the [nobody] cases cannot run")
    cases = [c for c in CASES if ONLY in c[0]]
    # The suite's size only grows: meson gives the count it had when the
    # last case was added, and fewer cases means some were lost.
    least = int(os.environ.get("HOSTILE_MIN_CASES", "0"))
    if not ONLY and len(cases) < least:
        sandbox.bail(f"only {len(cases)} cases, the suite has at least {least}")
    print(f"1..{len(cases)}", flush=True)
    failed = 0
    for i, (name, fn, nobody) in enumerate(cases, 1):
        if nobody and not (IS_ROOT and SETPRIV):
            print(f"ok {i} - {name} # SKIP needs root and setpriv to run zerovm as nobody", flush=True)
            continue
        ctx = Ctx(name, nobody)
        try:
            fn(ctx)
        except Exception:  # a broken case is a failure, not a crash of the suite
            ctx.failures.append("runner error: " + traceback.format_exc().replace("\n", " | "))
        bug = known_bug(name)
        if ctx.failures:
            directive = f" # TODO known bug: {bug}" if bug else ""
            if not bug:
                failed += 1
            print(f"not ok {i} - {name}{directive}", flush=True)
            for f in ctx.failures:
                print(f"#   {f}")
            last = getattr(ctx, "last", None)
            if last is not None:
                print(f"#   report: status {last.status}, {json.dumps(last.report)[:400]}")
                for line in last.lines[:40]:
                    print(f"#   | {line[:200]}")
                if last.stderr.strip():
                    print(f"#   stderr: {last.stderr.strip()[:300]}")
        else:
            print(f"ok {i} - {name}", flush=True)
            last = getattr(ctx, "last", None)
            if VERBOSE and last is not None:
                print(f"#   state '{last.state}', status {last.status}, wall {last.wall:.2f} s")
                for line in last.lines[:40]:
                    print(f"#   | {line[:200]}")
        for n in ctx.notes:
            print(f"#   {n}")
        shutil.rmtree(ctx.dir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
