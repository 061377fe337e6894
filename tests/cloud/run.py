#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""zerocloud's suite: a real server on a free loopback port with a temporary
data directory, driven by Debian's swift client and by raw HTTP
(http.client, so that paths, methods and chunked bodies are exactly what
we send).  Prints TAP.

Environment:
  ZEROCLOUD   the zerocloud binary (default: <repo>/build/src/cli/zerocloud)
  CLOUD_ONLY  optional substring: run only the cases whose name has it

Every server is stopped at the end; every request has a timeout.
"""

import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from taprun import Fail, Skip, case, check, run  # noqa: E402  (the shared harness)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
ZEROCLOUD = os.path.abspath(os.environ.get("ZEROCLOUD") or
                            os.path.join(REPO, "build", "src", "cli", "zerocloud"))
ONLY = os.environ.get("CLOUD_ONLY", "")
WORK = tempfile.mkdtemp(prefix="zerocloud-test-", dir="/tmp")
SWIFT = shutil.which("swift")





def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def h(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return "<%d %r %r>" % (self.status, self.headers, self.body[:200])


class Server:
    servers = []

    def __init__(self, name, config=None, data=None, listen="127.0.0.1", port=None,
                 prefix=()):
        self.name = name
        self.port = port or free_port()
        self.prefix = list(prefix)
        self.listen = listen
        self.connect = {"0.0.0.0": "127.0.0.1"}.get(listen, listen.strip("[]"))
        self.data = data or os.path.join(WORK, name + "-data")
        self.log = os.path.join(WORK, name + ".log")
        self.cfg = None
        if config is not None:
            self.cfg = os.path.join(WORK, name + ".conf")
            with open(self.cfg, "w") as f:
                f.write(config)
        self.proc = None
        self.token = None
        Server.servers.append(self)

    def start(self):
        args = self.prefix + [ZEROCLOUD, "--listen", "%s:%d" % (self.listen, self.port), "--data", self.data]
        if self.cfg:
            args += ["--config", self.cfg]
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=self.logf)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise Fail("server %s exited: %s" % (self.name, open(self.log).read()[-2000:]))
            try:
                if self.req("GET", "/healthcheck", auth=False).status == 200:
                    return self
            except OSError:
                time.sleep(0.05)
        raise Fail("server %s did not start" % self.name)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.logf.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.logf.close()

    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def login(self, user="test:tester", key="testing"):
        r = self.req("GET", "/auth/v1.0", {"X-Auth-User": user, "X-Auth-Key": key}, auth=False)
        check(r.status == 200, "login %s: %r" % (user, r))
        return r.h("x-auth-token")

    def req(self, method, path, headers=None, body=None, auth=True, token=None, chunks=None,
            timeout=30):
        headers = dict(headers or {})
        if auth:
            if token is None:
                if self.token is None:
                    self.token = self.login()
                token = self.token
            headers["X-Auth-Token"] = token
        c = http.client.HTTPConnection(self.connect, self.port, timeout=timeout)
        try:
            c.putrequest(method, path, skip_host=False, skip_accept_encoding=True)
            for k, v in headers.items():
                c.putheader(k, v)
            if chunks is not None:
                c.putheader("Transfer-Encoding", "chunked")
                c.endheaders()
                for ch in chunks:
                    c.send(b"%x\r\n%s\r\n" % (len(ch), ch))
                c.send(b"0\r\n\r\n")
            else:
                if body is not None:
                    if isinstance(body, str):
                        body = body.encode()
                    c.putheader("Content-Length", str(len(body)))
                elif method in ("PUT", "POST") and "Content-Length" not in headers:
                    c.putheader("Content-Length", "0")
                c.endheaders(body)
            r = c.getresponse()
            data = r.read()
            return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        finally:
            c.close()

    def swift(self, *args, user="test:tester", key="testing", cwd=None):
        p = subprocess.run([SWIFT, "-A", self.url() + "/auth/v1.0", "-U", user, "-K", key] +
                           list(args), cwd=cwd or WORK, capture_output=True, timeout=60)
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


USERS = """
[users]
test:tester = testing .admin
test:tester3 = testing3
other:guest = guestkey .admin
"""

main_srv = None


def srv():
    global main_srv
    if main_srv is None:
        main_srv = Server("main", "[limits]\nmax_listing = 100\nmax_object_size = 1000000\n"
                          + USERS).start()
    return main_srv


A = "/v1/AUTH_test"


def md5(b):
    return hashlib.md5(b).hexdigest()

# ---------------------------------------------------------------- cases


@case
def help_and_bad_config():
    p = subprocess.run([ZEROCLOUD, "--help"], capture_output=True, timeout=10)
    check(p.returncode == 0 and b"--listen" in p.stdout and b"--data" in p.stdout, "help: %r" % p)
    bad = os.path.join(WORK, "bad.conf")
    with open(bad, "w") as f:
        f.write("[server]\nlisten = 127.0.0.1:1\n[limits]\nmax_listing = lots\n")
    p = subprocess.run([ZEROCLOUD, "--config", bad], capture_output=True, timeout=10)
    check(p.returncode == 2 and (bad + ":4:").encode() in p.stderr, "bad config: %r" % p)
    with open(bad, "w") as f:
        f.write("[server]\nnonsense here\n")
    p = subprocess.run([ZEROCLOUD, "--config", bad], capture_output=True, timeout=10)
    check(p.returncode == 2 and (bad + ":2:").encode() in p.stderr, "bad line: %r" % p)


@case
def defaults_swift_aio_user():
    # No config at all: test:tester/testing works as in Swift's all-in-one.
    s = Server("defaults").start()
    if SWIFT:
        rc, out, err = s.swift("stat")
        check(rc == 0 and "Account: AUTH_test" in out, "swift stat: %s %s" % (out, err))
    r = s.req("GET", "/auth/v1.0", {"X-Storage-User": "test:tester", "X-Storage-Pass": "testing"},
              auth=False)
    check(r.status == 200 and r.h("x-storage-url").endswith("/v1/AUTH_test"), repr(r))
    s.stop()


def start_fails(args, what, prefix=()):
    """Run zerocloud with args, expecting it to refuse to start: (rc, stderr)."""
    try:
        p = subprocess.run(list(prefix) + [ZEROCLOUD] + args, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=20)
    except subprocess.TimeoutExpired:
        raise Fail("%s: zerocloud started (%s)" % (what, " ".join(args)))
    check(p.returncode != 0, "%s: exit 0: %r" % (what, p))
    return p.returncode, p.stderr.decode(errors="replace")


@case
def builtin_user_loopback_only():
    """the built-in test:tester/testing admin serves only a loopback address:
    without [users], 0.0.0.0, :: and 192.0.2.1 refuse to start, naming
    the address and how to add users; 127.0.0.2, localhost and ::1 serve it;
    with [users] any address serves"""
    port = free_port()
    data = os.path.join(WORK, "loopback-data")
    nousers = os.path.join(WORK, "nousers.conf")
    with open(nousers, "w") as f:
        f.write("[limits]\nmax_listing = 100\n")
    for listen, extra in [("0.0.0.0:%d" % port, []), ("[::]:%d" % port, []),
                          ("192.0.2.1:%d" % port, []),
                          ("0.0.0.0:%d" % port, ["--config", nousers])]:
        rc, err = start_fails(["--listen", listen, "--data", data] + extra, listen)
        check(rc == 2 and "'%s'" % listen in err and "loopback" in err and "[users]" in err
              and "--config" in err, "%s without [users]: %d %s" % (listen, rc, err))
    check(not os.path.exists(data), "data directory made by a server that refused to start")
    for host in ["127.0.0.2", "localhost"] + (["[::1]"] if socket.has_ipv6 and
                                               os.path.exists("/proc/net/if_inet6") else []):
        s = Server("loop-" + host.strip("[]:").replace(".", "-"), listen=host)
        s.start()
        r = s.req("GET", "/auth/v1.0", {"X-Auth-User": "test:tester", "X-Auth-Key": "testing"},
                  auth=False)
        check(r.status == 200, "%s: %r" % (host, r))
        s.stop()
    s = Server("anyaddr", USERS, listen="0.0.0.0").start()
    r = s.req("GET", "/auth/v1.0", {"X-Auth-User": "test:tester3", "X-Auth-Key": "testing3"},
              auth=False)
    check(r.status == 200, "0.0.0.0 with [users]: %r" % r)
    s.stop()


AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


@case
def one_server_per_port_and_data():
    """a second server on a port in use fails at start naming the address
    (no SO_REUSEPORT sharing); one on a data directory in use fails naming
    the directory and the first server's pid (DIR/lock); the lock goes
    with the first server; the same as nobody in a directory of nobody's"""
    def second(args, what):
        rc, err = start_fails(args, what, prefix)
        check(rc == 1, "%s: exit %d: %s" % (what, rc, err))
        return err

    for who, prefix in [("root", []), ("nobody", AS_NOBODY)]:
        if who == "nobody":
            if os.geteuid() != 0:
                raise Fail("the unprivileged half needs root to become nobody")
            # every directory on the way must be searchable by nobody
            check(subprocess.run(AS_NOBODY + ["test", "-x", ZEROCLOUD]).returncode == 0,
                  "nobody cannot run %s" % ZEROCLOUD)
        base = os.path.join(WORK, "lock-" + who)
        os.mkdir(base)
        if who == "nobody":
            os.chmod(WORK, 0o755)
            shutil.chown(base, "nobody", "nogroup")
        data = os.path.join(base, "data")
        first = Server("lock1-" + who, data=data, prefix=prefix).start()
        # the same port, another data directory
        err = second(["--listen", "127.0.0.1:%d" % first.port, "--data",
                      os.path.join(base, "other")], "same port")
        check("address 127.0.0.1:%d is in use" % first.port in err, "same port: %s" % err)
        check(first.req("GET", "/healthcheck", auth=False).status == 200, "first server gone")
        # the same data directory, another port
        lock = os.path.join(data, "lock")
        check(open(lock).read().strip() == str(first.proc.pid), "lock file holds the pid")
        err = second(["--listen", "127.0.0.1:%d" % free_port(), "--data", data], "same data")
        check("data directory '%s'" % os.path.realpath(data) in err and
              "pid %d" % first.proc.pid in err, "same data: %s" % err)
        check(open(lock).read().strip() == str(first.proc.pid), "lock file rewritten")
        first.stop()
        # released with the first server: a new one takes the directory
        again = Server("lock2-" + who, data=data, prefix=prefix).start()
        check(open(lock).read().strip() == str(again.proc.pid), "lock file after restart")
        check(oct(os.stat(lock).st_mode & 0o777) == "0o600", "lock mode")
        if who == "nobody":
            check(os.stat(lock).st_uid != 0, "lock file made by root")
        again.stop()


@case
def private_modes():
    """everything the store makes is the server's alone: directories 0700,
    files 0600 (account and container databases with their -wal and -shm,
    object files, the lock), whatever the umask"""
    data = os.path.join(WORK, "modes-data")
    old = os.umask(0o022)
    try:
        s = Server("modes", data=data).start()
    finally:
        os.umask(old)
    s.req("PUT", A + "/m")
    check(s.req("PUT", A + "/m/o", body=b"secret").status == 201, "put")
    s.req("POST", A, {"X-Account-Meta-K": "v"})
    seen = {"d": 0, "db": 0, "wal": 0, "obj": 0}
    bad = [] if os.stat(data).st_mode & 0o777 == 0o700 else ["%s (made by the server)" % data]
    for root, dirs, files in os.walk(data):
        for d in dirs:
            m = os.stat(os.path.join(root, d)).st_mode & 0o777
            seen["d"] += 1
            if m != 0o700:
                bad.append("%s %o" % (os.path.join(root, d), m))
        for f in files:
            p = os.path.join(root, f)
            m = os.stat(p).st_mode & 0o777
            seen["db"] += f.endswith(".db")
            seen["wal"] += f.endswith("-wal") or f.endswith("-shm")
            seen["obj"] += "/objects/" in p
            if m != 0o600:
                bad.append("%s %o" % (p, m))
    check(seen["db"] >= 2 and seen["wal"] >= 2 and seen["obj"] >= 1 and seen["d"] > 256,
          "not every kind of file was seen: %r" % seen)
    check(not bad, "not private: %s" % ", ".join(bad[:10]))
    s.stop()


@case
def status_page_and_info():
    s = srv()
    s.req("PUT", A + "/statusc")
    s.req("PUT", A + "/statusc/o1", body=b"x")
    r = s.req("GET", "/", auth=False)
    check(r.status == 200 and b"<html" in r.body and b'id="objects"' in r.body, repr(r))
    check(b"jobs running" in r.body, "no job placeholders")
    r = s.req("GET", "/info", auth=False)
    j = json.loads(r.body)
    check(j["swift"]["container_listing_limit"] == 100, repr(j))


@case
def auth_errors():
    s = srv()
    r = s.req("GET", "/auth/v1.0", {"X-Auth-User": "test:tester", "X-Auth-Key": "wrong"},
              auth=False)
    check(r.status == 401, "wrong key: %r" % r)
    r = s.req("GET", "/auth/v1.0", {"X-Auth-User": "nobody:x", "X-Auth-Key": "testing"},
              auth=False)
    check(r.status == 401, "unknown user: %r" % r)
    r = s.req("GET", "/auth/v1.0", auth=False)
    check(r.status == 401, "no credentials: %r" % r)
    r = s.req("GET", "/auth/v1.0", {"X-Auth-User": "test:tester", "X-Auth-Key": "testing"},
              auth=False)
    check(r.status == 200 and r.h("x-auth-token").startswith("AUTH_tk") and
          r.h("x-storage-url") == s.url() + "/v1/AUTH_test" and
          int(r.h("x-auth-token-expires")) > 0, repr(r))
    # A login while the user's token is valid gets that token again (as
    # tempauth does): logging in in a loop cannot fill the token table.
    first = r.h("x-auth-token")
    for _ in range(50):
        r = s.req("GET", "/auth/v1.0", {"X-Auth-User": "test:tester", "X-Auth-Key": "testing"},
                  auth=False)
        check(r.status == 200 and r.h("x-auth-token") == first,
              "a second login got another token: %r" % r)
    for path in (A, A + "/c", A + "/c/o"):
        r = s.req("GET", path, auth=False)
        check(r.status == 401, "no token %s: %r" % (path, r))
        r = s.req("GET", path, token="AUTH_tkbogus")
        check(r.status == 401, "bad token %s: %r" % (path, r))
    # Another account's owner is not this account's owner.
    t = s.login("other:guest", "guestkey")
    r = s.req("HEAD", A, token=t)
    check(r.status == 403, "other account: %r" % r)
    r = s.req("PUT", A + "/stolen", token=t)
    check(r.status == 403, "other account put: %r" % r)


@case
def swift_client():
    if not SWIFT:
        raise Skip("swift client (python3-swiftclient) not installed")
    s = srv()
    d = os.path.join(WORK, "up")
    os.makedirs(os.path.join(d, "dir", "sub"), exist_ok=True)
    files = {"a.txt": b"alpha\n", "dir/b.txt": b"bravo" * 1000, "dir/sub/c.bin": os.urandom(70000),
             "d.txt": b""}
    for name, data in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    rc, out, err = s.swift("post", "sw")
    check(rc == 0, "post: %s" % err)
    rc, out, err = s.swift("upload", "sw", *files.keys(), cwd=d)
    check(rc == 0, "upload: %s %s" % (out, err))
    rc, out, err = s.swift("list", "sw")
    check(out.split() == sorted(files), "list: %r" % out)
    rc, out, err = s.swift("list", "sw", "--prefix", "dir/")
    check(out.split() == ["dir/b.txt", "dir/sub/c.bin"], "prefix: %r" % out)
    rc, out, err = s.swift("list", "sw", "--delimiter", "/")
    check(out.split() == ["a.txt", "d.txt", "dir/"], "delimiter: %r" % out)
    rc, out, err = s.swift("list", "sw", "--prefix", "dir/", "--delimiter", "/")
    check(out.split() == ["dir/b.txt", "dir/sub/"], "prefix+delimiter: %r" % out)
    dl = os.path.join(WORK, "down")
    os.makedirs(dl, exist_ok=True)
    rc, out, err = s.swift("download", "sw", "-D", dl)
    check(rc == 0, "download: %s %s" % (out, err))
    for name, data in files.items():
        with open(os.path.join(dl, name), "rb") as f:
            check(f.read() == data, "downloaded %s differs" % name)
    rc, out, err = s.swift("post", "-m", "Color:blue", "sw", "a.txt")
    check(rc == 0, "post meta: %s" % err)
    rc, out, err = s.swift("stat", "sw", "a.txt")
    check("Meta Color: blue" in out and "Content Length: 6" in out, "stat object: %s" % out)
    rc, out, err = s.swift("post", "-m", "Owner:me", "sw")
    rc, out, err = s.swift("stat", "sw")
    check("Meta Owner: me" in out and "Objects: 4" in out, "stat container: %s" % out)
    rc, out, err = s.swift("stat")
    check("Containers:" in out, "stat account: %s" % out)
    rc, out, err = s.swift("delete", "sw", "a.txt")
    check(rc == 0, "delete: %s" % err)
    rc, out, err = s.swift("list", "sw")
    check("a.txt" not in out.split(), "deleted still listed: %r" % out)
    rc, out, err = s.swift("delete", "sw")
    check(rc == 0, "delete container: %s %s" % (out, err))
    rc, out, err = s.swift("list")
    check("sw" not in out.split(), "container still listed: %r" % out)


@case
def account_api():
    s = srv()
    s.req("PUT", A + "/acc1")
    s.req("PUT", A + "/acc1/x", body=b"12345")
    r = s.req("HEAD", A)
    check(r.status == 204 and int(r.h("x-account-container-count")) >= 1 and
          int(r.h("x-account-object-count")) >= 1 and int(r.h("x-account-bytes-used")) >= 5,
          repr(r))
    r = s.req("GET", A)
    check(r.status == 200 and b"acc1\n" in r.body, repr(r))
    r = s.req("GET", A + "?format=json")
    j = json.loads(r.body)
    e = [x for x in j if x["name"] == "acc1"][0]
    check(e["count"] == 1 and e["bytes"] == 5, repr(e))
    r = s.req("GET", A, {"Accept": "application/json"})
    check(r.h("content-type").startswith("application/json"), repr(r))
    r = s.req("GET", A + "?format=xml")
    check(r.body.startswith(b"<?xml") and b"<name>acc1</name>" in r.body, repr(r))
    r = s.req("POST", A, {"X-Account-Meta-Team": "blue"})
    check(r.status == 204, repr(r))
    r = s.req("HEAD", A)
    check(r.h("x-account-meta-team") == "blue", repr(r))
    r = s.req("POST", A, {"X-Remove-Account-Meta-Team": "x"})
    r = s.req("HEAD", A)
    check(r.h("x-account-meta-team") is None, repr(r))
    r = s.req("PUT", A)
    check(r.status == 405, "account PUT: %r" % r)


@case
def container_api():
    s = srv()
    r = s.req("PUT", A + "/cont")
    check(r.status == 201, repr(r))
    r = s.req("PUT", A + "/cont")
    check(r.status == 202, repr(r))
    r = s.req("GET", A + "/cont")
    check(r.status == 204, "empty text listing: %r" % r)
    r = s.req("GET", A + "/cont?format=json")
    check(r.status == 200 and json.loads(r.body) == [], repr(r))
    names = ["a", "b/1", "b/2", "b/c/3", "c", "d\u00e9", "e f"]
    for n in names:
        q = n.replace(" ", "%20").encode().decode()
        r = s.req("PUT", A + "/cont/" + urlq(n), {"Content-Type": "text/x-test"}, body=n)
        check(r.status == 201, "put %s: %r" % (n, r))
    r = s.req("HEAD", A + "/cont")
    check(r.status == 204 and r.h("x-container-object-count") == str(len(names)) and
          r.h("x-container-bytes-used") == str(sum(len(n.encode()) for n in names)), repr(r))
    r = s.req("GET", A + "/cont")
    check(r.body.decode().split("\n")[:-1] == names, "text: %r" % r.body)
    j = json.loads(s.req("GET", A + "/cont?format=json").body)
    check([x["name"] for x in j] == names, repr(j))
    check(j[0]["hash"] == md5(b"a") and j[0]["bytes"] == 1 and
          j[0]["content_type"] == "text/x-test" and "last_modified" in j[0], repr(j[0]))

    def names_of(q):
        r = s.req("GET", A + "/cont?format=json&" + q)
        check(r.status == 200, "%s: %r" % (q, r))
        return [x.get("name", x.get("subdir")) for x in json.loads(r.body)]
    check(names_of("prefix=b/") == ["b/1", "b/2", "b/c/3"], "prefix")
    check(names_of("delimiter=/") == ["a", "b/", "c", "d\u00e9", "e f"], names_of("delimiter=/"))
    check(names_of("prefix=b/&delimiter=/") == ["b/1", "b/2", "b/c/"], "prefix+delim")
    check(names_of("marker=b/2") == ["b/c/3", "c", "d\u00e9", "e f"], "marker")
    check(names_of("end_marker=b/2") == ["a", "b/1"], "end_marker")
    check(names_of("limit=2") == ["a", "b/1"], "limit")
    check(names_of("limit=2&marker=b/1") == ["b/2", "b/c/3"], "limit+marker")
    check(names_of("prefix=e%20") == ["e f"], "encoded prefix")
    r = s.req("GET", A + "/cont?limit=101")
    check(r.status == 412, "limit over max: %r" % r)
    r = s.req("GET", A + "/cont?format=xml")
    check(b'<container name="cont">' in r.body and b"<subdir" not in r.body, repr(r))
    # metadata and ACL headers
    r = s.req("POST", A + "/cont", {"X-Container-Meta-Color": "red"})
    check(r.status == 204, repr(r))
    r = s.req("HEAD", A + "/cont")
    check(r.h("x-container-meta-color") == "red", repr(r))
    r = s.req("POST", A + "/cont", {"X-Remove-Container-Meta-Color": "1"})
    check(s.req("HEAD", A + "/cont").h("x-container-meta-color") is None, "meta removal")
    r = s.req("POST", A + "/nosuch", {"X-Container-Meta-Color": "red"})
    check(r.status == 404, "post missing: %r" % r)
    # delete: 409 when not empty, 404 when missing
    r = s.req("DELETE", A + "/cont")
    check(r.status == 409, "non-empty delete: %r" % r)
    r = s.req("DELETE", A + "/nosuch")
    check(r.status == 404, "missing delete: %r" % r)
    r = s.req("HEAD", A + "/nosuch")
    check(r.status == 404, "missing head: %r" % r)
    for n in names:
        check(s.req("DELETE", A + "/cont/" + urlq(n)).status == 204, "delete %s" % n)
    r = s.req("DELETE", A + "/cont")
    check(r.status == 204, "empty delete: %r" % r)
    check(s.req("HEAD", A + "/cont").status == 404, "deleted container still there")
    # and it can be created again, empty
    check(s.req("PUT", A + "/cont").status == 201, "re-create")
    check(s.req("HEAD", A + "/cont").h("x-container-object-count") == "0", "re-created not empty")


def urlq(s):
    import urllib.parse
    return urllib.parse.quote(s, safe="/")


@case
def object_api():
    s = srv()
    s.req("PUT", A + "/obj")
    data = bytes(range(256)) * 10
    r = s.req("PUT", A + "/obj/o1", {"Content-Type": "application/x-thing",
                                      "X-Object-Meta-Kind": "test", "ETag": md5(data)},
              body=data)
    check(r.status == 201 and r.h("etag") == md5(data) and r.h("last-modified"), repr(r))
    r = s.req("GET", A + "/obj/o1")
    check(r.status == 200 and r.body == data and r.h("content-type") == "application/x-thing" and
          r.h("etag") == md5(data) and r.h("x-object-meta-kind") == "test" and
          r.h("x-timestamp") and r.h("last-modified"), repr(r))
    r = s.req("HEAD", A + "/obj/o1")
    check(r.status == 200 and r.h("content-length") == str(len(data)) and r.body == b"", repr(r))
    # ETag mismatch: 422 and nothing stored
    r = s.req("PUT", A + "/obj/o2", {"ETag": "0" * 32}, body=b"hello")
    check(r.status == 422, "etag mismatch: %r" % r)
    check(s.req("HEAD", A + "/obj/o2").status == 404, "o2 stored despite 422")
    # no length: 411
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
    c.putrequest("PUT", A + "/obj/o3")
    c.putheader("X-Auth-Token", s.token)
    c.endheaders()
    resp = c.getresponse()
    check(resp.status == 411, "no length: %d" % resp.status)
    c.close()
    # content type guessed from the name
    s.req("PUT", A + "/obj/page.html", body=b"<p>")
    check(s.req("HEAD", A + "/obj/page.html").h("content-type") == "text/html", "guess")
    # chunked
    chunks = [os.urandom(1000), os.urandom(70000), b"tail"]
    whole = b"".join(chunks)
    r = s.req("PUT", A + "/obj/chunked", chunks=chunks)
    check(r.status == 201 and r.h("etag") == md5(whole), "chunked: %r" % r)
    check(s.req("GET", A + "/obj/chunked").body == whole, "chunked content")
    # ranges
    for rng, status, want in [("bytes=0-9", 206, data[0:10]), ("bytes=10-", 206, data[10:]),
                              ("bytes=-5", 206, data[-5:]), ("bytes=100-99999", 206, data[100:]),
                              ("bytes=5000-", 416, None), ("bytes=-0", 416, None),
                              ("bytes=x-y", 200, data), ("bytes=0-1,5-6", 200, data)]:
        r = s.req("GET", A + "/obj/o1", {"Range": rng})
        check(r.status == status, "range %s: %r" % (rng, r))
        if want is not None:
            check(r.body == want, "range %s body" % rng)
        if status == 206:
            check(r.h("content-range").startswith("bytes ") and
                  r.h("content-range").endswith("/%d" % len(data)), repr(r.headers))
        if status == 416:
            check(r.h("content-range") == "bytes */%d" % len(data), repr(r.headers))
    # conditionals
    r = s.req("GET", A + "/obj/o1", {"If-None-Match": '"%s"' % md5(data)})
    check(r.status == 304, "if-none-match: %r" % r)
    r = s.req("GET", A + "/obj/o1", {"If-None-Match": "abc"})
    check(r.status == 200, "if-none-match other: %r" % r)
    r = s.req("GET", A + "/obj/o1", {"If-Match": "abc"})
    check(r.status == 412, "if-match: %r" % r)
    r = s.req("GET", A + "/obj/o1", {"If-Match": md5(data)})
    check(r.status == 200, "if-match ok: %r" % r)
    r = s.req("PUT", A + "/obj/o1", {"If-None-Match": "*"}, body=b"new")
    check(r.status == 412, "put if-none-match: %r" % r)
    # POST replaces metadata
    r = s.req("POST", A + "/obj/o1", {"X-Object-Meta-Other": "yes"})
    check(r.status == 202, repr(r))
    r = s.req("HEAD", A + "/obj/o1")
    check(r.h("x-object-meta-other") == "yes" and r.h("x-object-meta-kind") is None, repr(r))
    check(s.req("POST", A + "/obj/none", {"X-Object-Meta-A": "b"}).status == 404, "post 404")
    # COPY and X-Copy-From
    r = s.req("COPY", A + "/obj/o1", {"Destination": "obj/o1copy", "X-Object-Meta-New": "1"})
    check(r.status == 201 and r.h("x-copied-from") == "obj/o1", "COPY: %r" % r)
    r = s.req("GET", A + "/obj/o1copy")
    check(r.body == data and r.h("x-object-meta-other") == "yes" and
          r.h("x-object-meta-new") == "1", "copy content: %r" % r)
    r = s.req("PUT", A + "/obj/o1copy2", {"X-Copy-From": "/obj/o1"})
    check(r.status == 201 and s.req("GET", A + "/obj/o1copy2").body == data, "x-copy-from")
    r = s.req("COPY", A + "/obj/none", {"Destination": "obj/x"})
    check(r.status == 404, "copy missing: %r" % r)
    r = s.req("COPY", A + "/obj/o1", {"Destination": "nocontainer/x"})
    check(r.status == 404, "copy to missing container: %r" % r)
    r = s.req("COPY", A + "/obj/o1")
    check(r.status == 412, "copy without destination: %r" % r)
    # overwrite, then DELETE, then 404
    r = s.req("PUT", A + "/obj/o1", body=b"v2")
    check(r.status == 201 and s.req("GET", A + "/obj/o1").body == b"v2", "overwrite")
    check(s.req("DELETE", A + "/obj/o1").status == 204, "delete")
    check(s.req("GET", A + "/obj/o1").status == 404, "get after delete")
    check(s.req("DELETE", A + "/obj/o1").status == 404, "delete twice")
    check(s.req("PUT", A + "/nocont/o", body=b"x").status == 404, "put into missing container")
    check(s.req("GET", A + "/nocont/o").status == 404, "get from missing container")
    # metadata limits
    r = s.req("PUT", A + "/obj/m", {"X-Object-Meta-" + "k" * 200: "v"}, body=b"x")
    check(r.status == 400, "long meta name: %r" % r)
    r = s.req("PUT", A + "/obj/m", {"X-Object-Meta-K": "v" * 300}, body=b"x")
    check(r.status == 400, "long meta value: %r" % r)
    # size limit (max_object_size = 1000000 here)
    # (announced with Expect: 100-continue, as curl does, so the 413 comes
    # before the body is sent)
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
    c.putrequest("PUT", A + "/obj/big")
    c.putheader("X-Auth-Token", s.token)
    c.putheader("Content-Length", "1000001")
    c.putheader("Expect", "100-continue")
    c.endheaders()
    resp = c.getresponse()
    check(resp.status == 413, "too large: %d" % resp.status)
    c.close()
    try:
        r = s.req("PUT", A + "/obj/bigchunked", chunks=[b"x" * 600000, b"y" * 600000])
        check(r.status != 201, "chunked too large accepted: %r" % r)
    except (OSError, http.client.HTTPException):
        pass  # the server drops the connection
    check(s.req("HEAD", A + "/obj/bigchunked").status == 404, "partial chunked object visible")


@case
def acls():
    s = srv()
    check(s.req("PUT", A + "/pub").status == 201, "create")
    s.req("PUT", A + "/pub/o", body=b"public")
    guest = s.login("other:guest", "guestkey")
    t3 = s.login("test:tester3", "testing3")
    # nothing granted yet
    check(s.req("GET", A + "/pub/o", auth=False).status == 401, "anonymous read")
    check(s.req("GET", A + "/pub/o", token=guest).status == 403, "guest read")
    check(s.req("GET", A + "/pub", token=t3).status == 403, "non-admin same account")
    # .r:* : anonymous object reads, but no listing
    r = s.req("POST", A + "/pub", {"X-Container-Read": ".r:*"})
    check(r.status == 204, repr(r))
    r = s.req("GET", A + "/pub/o", auth=False)
    check(r.status == 200 and r.body == b"public", "anonymous .r:* read: %r" % r)
    check(s.req("GET", A + "/pub", auth=False).status == 401, "listing without .rlistings")
    check(s.req("PUT", A + "/pub/o2", body=b"x", auth=False).status == 401, "anonymous write")
    check(s.req("DELETE", A + "/pub/o", token=guest).status == 403, "guest delete")
    # .rlistings
    s.req("POST", A + "/pub", {"X-Container-Read": ".r:*,.rlistings"})
    r = s.req("GET", A + "/pub", auth=False)
    check(r.status == 200 and r.body == b"o\n", "anonymous listing: %r" % r)
    r = s.req("HEAD", A + "/pub", auth=False)
    check(r.status == 204 and r.h("x-container-read") is None, "ACL shown to non-owner: %r" % r)
    # account and account:user in ACLs
    s.req("POST", A + "/pub", {"X-Container-Read": "other:guest",
                                "X-Container-Write": "test:tester3"})
    check(s.req("GET", A + "/pub/o", auth=False).status == 401, "anonymous after .r removed")
    check(s.req("GET", A + "/pub/o", token=guest).status == 200, "guest granted read")
    check(s.req("PUT", A + "/pub/g", body=b"g", token=guest).status == 403, "guest write")
    check(s.req("PUT", A + "/pub/t3", body=b"t", token=t3).status == 201, "tester3 write")
    check(s.req("GET", A + "/pub/t3", token=t3).status == 403, "tester3 read not granted")
    s.req("POST", A + "/pub", {"X-Container-Write": "other"})
    check(s.req("PUT", A + "/pub/g", body=b"g", token=guest).status == 201, "account in ACL")
    # only the owner changes ACLs or deletes the container
    check(s.req("POST", A + "/pub", {"X-Container-Read": ".r:*"}, token=guest).status == 403,
          "guest changes ACL")
    check(s.req("DELETE", A + "/pub", token=t3).status == 403, "tester3 deletes container")
    check(s.req("GET", A, token=t3).status == 403, "tester3 lists account")
    r = s.req("POST", A + "/pub", {"X-Container-Read": ".bogus"})
    check(r.status == 400, "bad ACL: %r" % r)


@case
def token_expiry_and_slow_client():
    s = Server("expiry", "[auth]\ntoken_ttl = 2\n[limits]\ntimeout = 2\n").start()
    t = s.login()
    check(s.req("HEAD", A, token=t).status == 204, "fresh token")
    # a client that sends half a request and stops: the server goes on
    slow = socket.create_connection(("127.0.0.1", s.port))
    slow.sendall(b"GET /info HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    t0 = time.time()
    check(s.req("GET", "/info", auth=False).status == 200, "served while a client is slow")
    time.sleep(3)
    check(s.req("HEAD", A, token=t).status == 401, "expired token accepted")
    slow.settimeout(5)
    try:
        closed = slow.recv(100) == b""
    except ConnectionResetError:
        closed = True
    except socket.timeout:
        closed = False
    slow.close()
    check(closed and time.time() - t0 < 8, "slow client not timed out")
    s.stop()


@case
def hostile_names():
    """hostile object and container names: traversal stays a name, bad
    bytes and lengths are refused, huge headers do not kill the server"""
    # The data directory sits eight levels down a directory of this case's
    # own, deeper than any "../" below climbs: a name that escaped DIR would
    # land in that directory, where nothing else writes (unlike /tmp).
    jail = os.path.join(WORK, "hostile")
    data = os.path.join(jail, *["d%d" % i for i in range(8)], "data")
    s = Server("hostile", "[limits]\nmax_listing = 100\n" + USERS, data=data).start()
    s.req("PUT", A + "/h")
    # traversal in object names: stored under a hash, read back as sent
    for name in ["../../etc/passwd", "../../../../../../tmp/zc-escape", "./x/../y", "..", "a//b"]:
        r = s.req("PUT", A + "/h/" + name, body=name)
        check(r.status == 201, "put %r: %r" % (name, r))
        r = s.req("GET", A + "/h/" + name)
        check(r.status == 200 and r.body == name.encode(), "get %r: %r" % (name, r))
    r = s.req("PUT", A + "/h/%2e%2e%2f%2e%2e%2fetc%2fpasswd", body=b"enc")
    check(r.status == 201, repr(r))
    r = s.req("GET", A + "/h/..%2F..%2Fetc%2Fpasswd")
    check(r.status == 200 and r.body == b"enc", "encoded traversal is one name: %r" % r)
    ancestors = {os.path.dirname(data)}
    while len(min(ancestors, key=len)) > len(jail):
        ancestors.add(os.path.dirname(min(ancestors, key=len)))
    escaped = [os.path.join(r, n) for r, ds, fs in os.walk(jail) for n in ds + fs
               if os.path.join(r, n) not in ancestors | {data} and
               not os.path.join(r, n).startswith(data + "/")]
    check(not escaped and not os.path.exists("/tmp/zc-escape"),
          "something escaped the data directory: %r" % escaped)
    for root, dirs, files in os.walk(s.data):
        for f in files:
            check("passwd" not in f and "escape" not in f, "raw name on disk: %s" % f)
    # a container name cannot hold '/' even encoded; traversal as container
    check(s.req("PUT", A + "/a%2Fb").status == 400, "container with %2F")
    check(s.req("PUT", A + "/..%2F..%2Fx").status == 400, "container traversal")
    # NUL, bad escapes, bad UTF-8
    check(s.req("PUT", A + "/h/a%00b", body=b"x").status == 400, "NUL in name")
    check(s.req("PUT", A + "/h/a%zzb", body=b"x").status == 400, "bad escape")
    check(s.req("PUT", A + "/h/a%ffb", body=b"x").status == 412, "bad UTF-8")
    check(s.req("GET", A + "/h?prefix=%00").status == 400, "NUL in query")
    # lengths: object 1024 bytes ok, 1025 not; container 256 / 257
    check(s.req("PUT", A + "/h/" + "o" * 1024, body=b"x").status == 201, "1024-byte name")
    check(s.req("PUT", A + "/h/" + "o" * 1025, body=b"x").status == 400, "1025-byte name")
    check(s.req("PUT", A + "/" + "c" * 256).status == 201, "256-byte container")
    check(s.req("PUT", A + "/" + "c" * 257).status == 400, "257-byte container")
    # huge headers: refused, and the server lives on
    try:
        r = s.req("GET", A + "/h", {"X-Big": "b" * 100000})
        check(r.status in (400, 413, 431), "huge header: %r" % r)
    except (OSError, http.client.HTTPException):
        pass
    try:
        hs = {"X-H%d" % i: "v" * 100 for i in range(400)}
        r = s.req("GET", A + "/h", hs)
        check(r.status in (400, 413, 431), "many headers: %r" % r)
    except (OSError, http.client.HTTPException):
        pass
    check(s.req("GET", "/healthcheck", auth=False).status == 200, "server died")
    # unknown paths and methods
    check(s.req("GET", "/nothing/here").status == 404, "unknown root")
    check(s.req("PATCH", A + "/h/x").status == 405, "PATCH")
    check(s.req("GET", "/v1/").status == 400, "empty account")
    s.stop()


@case
def compute_seam():
    """compute requests reach the compute half, after authentication
    (compute.py runs jobs; here only what needs no zerovm)"""
    s = srv()
    r = s.req("POST", A, {"X-Zerovm-Execute": "1.0", "Content-Type": "application/json"},
              body=b"{not json")
    check(r.status == 422 and b"Could not parse system map" in r.body, repr(r))
    r = s.req("POST", A, {"X-Zerovm-Execute": "1.0", "Content-Type": "application/json"},
              body=b"[]", auth=False)
    check(r.status == 401, "anonymous: %r" % r)
    r = s.req("GET", "/open/AUTH_test/c/o")
    check(r.status == 404, repr(r))
    r = s.req("POST", "/api/AUTH_test/c/path", body=b"x")
    check(r.status == 404 and b"No API endpoint configured for container c" in r.body, repr(r))
    r = s.req("GET", A + "/c/o", {"X-Zerovm-Execute": "open/1.0"})
    check(r.status == 404, repr(r))
    r = s.req("GET", A, {"X-Zerovm-Execute": "1.0"})
    check(r.status == 501, "the ClusterController's 501: %r" % r)


@case
def request_log():
    s = srv()
    s.req("PUT", A + "/logc")
    s.req("PUT", A + "/logc/obj", body=b"12345")
    time.sleep(0.2)
    log = open(s.log).read()
    check("PUT /v1/AUTH_test/logc/obj 201 5 " in log, "no log line: %s" % log[-500:])
    check("GET /auth/v1.0 200" in log, "no auth log line")


@case
def concurrent_and_crash():
    """Clients PUT objects in a loop; the server is killed with SIGKILL
    midway and restarted on the same data: every object acknowledged with
    201 is there with its MD5, and any object visible is complete."""
    s = Server("crash").start()
    s.req("PUT", A + "/crash")
    sent = {}      # name -> md5 of what was sent (acknowledged or not)
    acked = {}     # name -> md5, 201 received
    later = {}     # name -> md5s of overwrites sent after
    lock = threading.Lock()
    stop = threading.Event()

    def client(k):
        rnd = random.Random(k)
        i = 0
        while not stop.is_set():
            name = "w%d/obj%05d" % (k, i)
            i += 1
            data = rnd.randbytes(rnd.choice([0, 1, 100, 4096, 65536, 300000]))
            with lock:
                sent[name] = md5(data)
            try:
                r = s.req("PUT", A + "/crash/" + name, body=data, timeout=10)
            except (OSError, http.client.HTTPException):
                return
            if r.status == 201:
                check(r.h("etag") == md5(data), "etag")
                with lock:
                    acked[name] = md5(data)
            # overwrite some, so that versions are replaced too: an
            # overwrite killed before its 201 may or may not have replaced
            # the acknowledged version
            if i % 7 == 0:
                data = rnd.randbytes(1000)
                with lock:
                    later.setdefault(name, set()).add(md5(data))
                try:
                    r = s.req("PUT", A + "/crash/" + name, body=data, timeout=10)
                except (OSError, http.client.HTTPException):
                    return
                if r.status == 201:
                    with lock:
                        acked[name] = md5(data)
    threads = [threading.Thread(target=client, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    time.sleep(2.0)
    s.kill9()
    stop.set()
    for t in threads:
        t.join(30)
    check(len(acked) > 50, "too few objects acknowledged (%d)" % len(acked))
    s.token = None
    s.start()
    for name, h in sorted(acked.items()):
        r = s.req("GET", A + "/crash/" + name)
        check(r.status == 200 and (md5(r.body) == h or md5(r.body) in later.get(name, ())),
              "acknowledged %s lost or wrong after kill -9: %d %s" % (name, r.status,
                                                                     md5(r.body)))
    # every listed object is whole, and the counts agree with the listing
    listed, marker = [], ""
    while True:
        j = json.loads(s.req("GET", A + "/crash?format=json&marker=" + urlq(marker)).body
                       or b"[]")
        if not j:
            break
        listed += j
        marker = j[-1]["name"]
    for e in listed:
        r = s.req("GET", A + "/crash/" + e["name"])
        check(r.status == 200 and md5(r.body) == e["hash"] and len(r.body) == e["bytes"],
              "partial object %s" % e["name"])
        check(e["hash"] == sent.get(e["name"]) or e["hash"] in later.get(e["name"], ()),
              "object %s holds what was never sent" % e["name"])
    r = s.req("HEAD", A + "/crash")
    check(int(r.h("x-container-object-count")) == len(listed), "count mismatch after crash")
    check(int(r.h("x-container-bytes-used")) == sum(e["bytes"] for e in listed), "bytes")
    check(not os.listdir(os.path.join(s.data, "tmp")), "tmp not cleaned")
    print("# crash: %d acknowledged, %d listed after kill -9" % (len(acked), len(listed)))
    s.stop()

def login_from(srv, src, user, key):
    """GET /auth/v1.0 from source address src (any 127/8 address is ours)."""
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30, source_address=(src, 0))
    try:
        c.request("GET", "/auth/v1.0", headers={"X-Auth-User": user, "X-Auth-Key": key})
        r = c.getresponse()
        return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        c.close()


@case
def login_rate_limit():
    """failed logins: 429 with Retry-After past the limit per address and per
    user, whatever the key; other clients and users log in"""
    s = Server("logins", "[limits]\nlogin_failures = 5\nlogin_failures_per_user = 8\n"
               "login_window = 3600\n" + USERS).start()
    for i in range(5):
        r = login_from(s, "127.0.0.2", "test:tester", "wrong%d" % i)
        check(r.status == 401, "failure %d: %r" % (i, r))
    r = login_from(s, "127.0.0.2", "test:tester", "wrong")
    check(r.status == 429 and 0 < int(r.h("retry-after")) <= 3600, "6th try: %r" % r)
    r = login_from(s, "127.0.0.2", "test:tester", "testing")
    check(r.status == 429, "the right key from a blocked address: %r" % r)
    r = login_from(s, "127.0.0.2", "other:guest", "guestkey")
    check(r.status == 429, "another user from a blocked address: %r" % r)
    r = login_from(s, "127.0.0.1", "test:tester", "testing")
    check(r.status == 200, "another address: %r" % r)
    # per user: failures for test:tester3 spread over addresses
    for i in range(8):
        r = login_from(s, "127.0.0.%d" % (10 + i // 2), "test:tester3", "wrong")
        check(r.status == 401, "user failure %d: %r" % (i, r))
    r = login_from(s, "127.0.0.30", "test:tester3", "testing3")
    check(r.status == 429 and int(r.h("retry-after")) > 0, "blocked user: %r" % r)
    r = login_from(s, "127.0.0.30", "other:guest", "guestkey")
    check(r.status == 200, "another user from a fresh address: %r" % r)
    s.stop()



def put_get_each(s, names, tag):
    """PUT one object in each container of names and GET it back; the
    first failure as a message, else None."""
    for c in names:
        r = s.req("PUT", A + "/" + c)
        if r.status not in (201, 202):
            return "PUT container %s: %r" % (c, r)
        body = ("%s %s" % (tag, c)).encode()
        r = s.req("PUT", A + "/" + c + "/obj", body=body)
        if r.status != 201:
            return "PUT object in %s: %r" % (c, r)
        r = s.req("GET", A + "/" + c + "/obj")
        if r.status != 200 or r.body != body:
            return "GET object in %s: %r" % (c, r)
    return None


@case
def many_containers():
    """1100 containers, more than the default bound of open handles (1024):
    a PUT and a GET in each, then each object again (every handle has been
    evicted and reopened by then), and the server lives on"""
    s = Server("many", "[server]\nfsync = no\n").start()
    names = ["m%04d" % i for i in range(1100)]
    err = put_get_each(s, names, "first")
    check(err is None, err)
    for c in names[:200]:
        r = s.req("GET", A + "/" + c + "/obj")
        check(r.status == 200 and r.body == ("first %s" % c).encode(),
              "GET again in %s: %r" % (c, r))
    r = s.req("HEAD", A)
    check(r.status == 204 and r.h("x-account-container-count") == "1100", repr(r))
    s.stop()
    check(s.proc.returncode == 0, "server exit %r: %s" % (s.proc.returncode,
                                                           open(s.log).read()[-3000:]))


@case
def many_containers_concurrent():
    """[limits] open_containers = 8: six clients at once, each over its own
    40 containers and a shared one, so handles are evicted while others
    hold them; every answer right, the server's exit clean"""
    s = Server("manyc", "[server]\nfsync = no\n[limits]\nopen_containers = 8\n").start()
    errors = []

    def client(k):
        try:
            names = ["c%d-%02d" % (k, i) for i in range(40)]
            for rnd in range(2):
                e = put_get_each(s, names + ["shared"], "r%d k%d" % (rnd, k))
                if e and not e.startswith("GET object in shared"):
                    errors.append(e)
                    return
        except Exception as e:  # noqa: BLE001  (reported below)
            errors.append("client %d: %r" % (k, e))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(not errors, "; ".join(errors[:5]))
    r = s.req("HEAD", A)
    check(r.status == 204 and r.h("x-account-container-count") == str(6 * 40 + 1), repr(r))
    s.stop()
    check(s.proc.returncode == 0, "server exit %r: %s" % (s.proc.returncode,
                                                           open(s.log).read()[-3000:]))


def flood(port, head, total, chunked=False, src="127.0.0.1"):
    """Send head, then `total` body bytes (chunked or not) while reading the
    answer; stop at the end, or when the server closes or resets.  Returns
    (bytes of body sent, answer bytes, closed by the server)."""
    import select
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    s.sendall(head)
    s.setblocking(False)
    piece = b"x" * 65536
    if chunked:
        piece = b"%x\r\n%s\r\n" % (len(piece), piece)
    sent, answer, closed = 0, b"", False
    deadline = time.time() + 120  # a guard against a hang, not a measure
    while sent < total and time.time() < deadline:
        rd, wr, _ = select.select([s], [s], [], 1)
        try:
            if rd:
                d = s.recv(65536)
                if not d:
                    closed = True
                    break
                answer += d
            if wr:
                sent += s.send(piece)
        except BlockingIOError:
            pass
        except OSError:
            closed = True
            break
    if not closed:
        # the body went out whole: read the answer, if any, to its end
        s.setblocking(True)
        s.settimeout(30)
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    break
                answer += d
        except OSError:
            pass
    s.close()
    return sent, answer, closed


def logged_bytes(srv, method, path, status):
    """Bytes in + out of the request's log line (the server's own count)."""
    time.sleep(0.2)
    pat = " %s %s %d " % (method, path, status)
    lines = [l for l in open(srv.log).read().splitlines() if pat in l]
    check(lines, "no log line for%s" % pat)
    return int(lines[-1].split(pat)[1].split()[0])


@case
def bodies_after_a_refusal():
    """a refused request with a huge body gets its answer and a closed
    connection; the server reads a bounded part of the body"""
    s = srv()
    s.req("PUT", A + "/floodc")
    total = 256 << 20
    # refused on the headers (bad token, 401): answered, nothing more read
    head = ("PUT %s/floodc/o HTTP/1.1\r\nHost: x\r\nX-Auth-Token: AUTH_tkbogus\r\n"
            "Content-Length: %d\r\n\r\n" % (A, total)).encode()
    sent, answer, closed = flood(s.port, head, total)
    check(answer.startswith(b"HTTP/1.1 401") and b"Connection: close" in answer,
          "401 answer: %r" % answer[:200])
    check(closed and sent < total // 8, "the server read on: %d of %d sent" % (sent, total))
    check(logged_bytes(s, "PUT", A + "/floodc/o", 401) < 4096, "bytes counted")
    # a buffered body (object POST) announced too long: 413 before it is read
    head = ("POST %s/floodc/o HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\n"
            "Content-Length: %d\r\n\r\n" % (A, s.login(), total)).encode()
    sent, answer, closed = flood(s.port, head, total)
    check(answer.startswith(b"HTTP/1.1 413") and b"Connection: close" in answer,
          "413 answer: %r" % answer[:200])
    check(closed and sent < total // 8, "the server read on: %d of %d sent" % (sent, total))
    check(logged_bytes(s, "POST", A + "/floodc/o", 413) < 4096, "bytes counted")
    # refused midway (a chunked body past the 64 KiB a POST buffers): at most
    # 64 KiB more are read, then the connection closes
    head = ("POST %s/floodc/o3 HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\n"
            "Transfer-Encoding: chunked\r\n\r\n" % (A, s.login())).encode()
    sent, answer, closed = flood(s.port, head, total, chunked=True)
    check(closed and sent < total // 8, "the server read on: %d of %d sent" % (sent, total))
    check(logged_bytes(s, "POST", A + "/floodc/o3", 413) <= 3 * 65536 + 8192, "bytes counted")
    check(s.req("GET", "/healthcheck", auth=False).status == 200, "server alive")



def main():
    if not os.access(ZEROCLOUD, os.X_OK):
        print("Bail out! zerocloud not built (%s)" % ZEROCLOUD)
        return 1
    failed = run(ONLY)
    for s in Server.servers:
        try:
            s.stop()
        except Exception:
            pass
    if failed == 0:
        shutil.rmtree(WORK, ignore_errors=True)
    else:
        print("# logs and data kept in %s" % WORK)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
