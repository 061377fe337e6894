#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""zerocloud's compute suite: real servers on free loopback ports with
temporary data directories, jobs run by the real `zerovm` (found next to
zerocloud), driven by Debian's swift client, by zpm, and by raw HTTP
(http.client).  Prints TAP.

Cases: the seed's MapReduce wordcount end to end (swift upload, zpm bundle,
deploy, execute), POSTed JSON jobs, tar images and #! scripts, a wasm
module, X-Zerovm-Source, open/1.0 apps with templates, api/1.0 endpoints
with Zerovm-Suid, message/http answers, chaining and its limit, container
listings as SQLite, outputs committed only on success, the CGI variables
(never a token), the X-Nexe-* headers, every error of the spec, another
account's objects (403), hostile inputs (bad JSON, a tar bomb), the pool
(503), a timeout, the status page.  No timing assertions.

Environment:
  ZEROCLOUD      the zerocloud binary (default: <repo>/build/src/cli/zerocloud)
  ZPM            the zpm binary (default: next to zerocloud)
  COMPUTE_ONLY   optional substring: run only the cases whose name has it
"""

import gzip
import hashlib
import http.client
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from taprun import Fail, Skip, case, check, run  # noqa: E402  (the shared harness)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
ZEROCLOUD = os.path.abspath(os.environ.get("ZEROCLOUD") or
                            os.path.join(REPO, "build", "src", "cli", "zerocloud"))
ZPM = os.path.abspath(os.environ.get("ZPM") or os.path.join(os.path.dirname(ZEROCLOUD), "zpm"))
ONLY = os.environ.get("COMPUTE_ONLY", "")
WORK = tempfile.mkdtemp(prefix="zerocloud-compute-", dir="/tmp")
SWIFT = shutil.which("swift")
CLANG = shutil.which("clang-16") or shutil.which("clang")
WORDCOUNT = os.path.join(REPO, "examples", "wordcount")
EXPECTED = (" 104 mapreduce-data/mrdata1.txt\n"
            " 101 mapreduce-data/mrdata2.txt\n"
            "  69 mapreduce-data/mrdata3.txt\n"
            " 274 total\n")






def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def md5(b):
    return hashlib.md5(b).hexdigest()


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def h(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return "<%d %r %r>" % (self.status, self.headers, self.body[:300])


USERS = """
[users]
test:tester = testing .admin
test:tester3 = testing3
other:guest = guestkey .admin
"""


class Server:
    servers = []

    def __init__(self, name, compute="", env=None):
        self.name = name
        self.env = env
        self.port = free_port()
        self.data = os.path.join(WORK, name + "-data")
        self.log = os.path.join(WORK, name + ".log")
        self.cfg = os.path.join(WORK, name + ".conf")
        with open(self.cfg, "w") as f:
            f.write(USERS + "[compute]\n" + compute)
        self.proc = None
        self.tokens = {}
        Server.servers.append(self)

    def start(self):
        args = [ZEROCLOUD, "--listen", "127.0.0.1:%d" % self.port, "--data", self.data,
                "--config", self.cfg]
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=self.logf,
                                     env=dict(os.environ, **self.env) if self.env else None)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise Fail("server %s exited: %s" % (self.name, open(self.log).read()[-2000:]))
            try:
                if self.req("GET", "/healthcheck", auth=None).status == 200:
                    return self
            except OSError:
                time.sleep(0.05)
        raise Fail("server %s did not start" % self.name)

    def stop(self):
        global main_srv
        if self is main_srv:
            main_srv = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.logf.close()

    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def token(self, user="test:tester", key="testing"):
        if user not in self.tokens:
            r = self.req("GET", "/auth/v1.0", {"X-Auth-User": user, "X-Auth-Key": key},
                         auth=None)
            check(r.status == 200, "login %s: %r" % (user, r))
            self.tokens[user] = r.h("x-auth-token")
        return self.tokens[user]

    def req(self, method, path, headers=None, body=None, auth="test:tester", timeout=120):
        headers = dict(headers or {})
        if auth:
            keys = {"test:tester": "testing", "test:tester3": "testing3",
                    "other:guest": "guestkey"}
            headers["X-Auth-Token"] = self.token(auth, keys[auth])
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.putrequest(method, path, skip_host=False, skip_accept_encoding=True)
            for k, v in headers.items():
                c.putheader(k, v)
            if body is not None:
                if isinstance(body, str):
                    body = body.encode()
                c.putheader("Content-Length", str(len(body)))
            elif method in ("PUT", "POST"):
                c.putheader("Content-Length", "0")
            c.endheaders(body)
            r = c.getresponse()
            data = r.read()
            return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        finally:
            c.close()

    def put(self, path, data, headers=None, auth="test:tester"):
        r = self.req("PUT", path, headers, data, auth=auth)
        check(r.status == 201, "PUT %s: %r" % (path, r))

    def container(self, path, headers=None, auth="test:tester"):
        r = self.req("PUT", path, headers, auth=auth)
        check(r.status in (201, 202), "PUT %s: %r" % (path, r))

    def post_job(self, job, headers=None, auth="test:tester", account="AUTH_test"):
        h = {"X-Zerovm-Execute": "1.0", "Content-Type": "application/json"}
        h.update(headers or {})
        body = job if isinstance(job, (bytes, str)) else json.dumps(job)
        return self.req("POST", "/v1/" + account, h, body, auth=auth)

    def swift(self, *args, user="test:tester", key="testing", cwd=None):
        p = subprocess.run([SWIFT, "-A", self.url() + "/auth/v1.0", "-U", user, "-K", key] +
                           list(args), cwd=cwd or WORK, capture_output=True, timeout=120)
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


main_srv = None


def srv():
    global main_srv
    if main_srv is None:
        main_srv = Server("main").start()
    return main_srv


A = "/v1/AUTH_test"


def py_group(name, code_args, devices=None, extra=None):
    g = {"name": name, "exec": {"path": "file://python3:python3", "args": code_args},
         "devices": [{"name": "python3"}, {"name": "stdout"}] + (devices or [])}
    g.update(extra or {})
    return g


def tar_bytes(members, gz=False):
    """members: {name: bytes}; a tar (gzip'd) in memory."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gz else "w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in members.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def nexe(r):
    return {k: r.h("x-nexe-" + k) for k in
            ("system", "status", "retcode", "etag", "validation", "cdr-line", "error")}


def swift_needed():
    if not SWIFT:
        raise Skip("the swift client is not installed (python3-swiftclient)")


# ---------------------------------------------------------------- cases


@case
def wordcount_with_swift_and_zpm():
    """the seed's MapReduce: swift upload, zpm bundle, deploy, execute prints the four lines"""
    swift_needed()
    s = srv()
    app = os.path.join(WORK, "wordcount")
    shutil.copytree(WORDCOUNT, app)
    rc, out, err = s.swift("upload", "mapreduce-data", "mrdata1.txt", "mrdata2.txt",
                           "mrdata3.txt", cwd=app)
    check(rc == 0, "swift upload: %s %s" % (out, err))
    env = dict(os.environ, ST_AUTH=s.url() + "/auth/v1.0", ST_USER="test:tester",
               ST_KEY="testing")
    for k in ("OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_TENANT_NAME"):
        env.pop(k, None)

    def zpm(*args):
        return subprocess.run([ZPM] + list(args), cwd=app, env=env, capture_output=True,
                              text=True, timeout=300)
    p = zpm("bundle")
    check(p.returncode == 0 and "created mapreduce.zapp" in p.stdout, "bundle: %r" % p)
    p = zpm("deploy", "mapreduce-app", "mapreduce.zapp")
    check(p.returncode == 0 and "app deployed to" in p.stdout, "deploy: %r" % p)
    p = zpm("execute", "mapreduce.zapp", "--container", "mapreduce-app")
    check(p.returncode == 0 and p.stdout == EXPECTED, "execute --container: %r" % p)
    p = zpm("execute", "mapreduce.zapp")
    check(p.returncode == 0 and p.stdout == EXPECTED, "execute (the zapp POSTed): %r" % p)
    p = zpm("execute", "-s", "mapreduce.zapp", "--container", "mapreduce-app")
    check(p.returncode == 0 and p.stdout.endswith(EXPECTED), "execute -s: %r" % p)
    lines = p.stdout.splitlines()
    check(lines[0] == "Execution summary:" and lines[1].split()[:3] == ["Node", "Status", "Retcode"],
          "summary head: %r" % lines[:2])
    rows = [l.split() for l in lines[2:6]]
    check([r[:3] for r in rows] == [["map-1", "ok", "0"], ["map-2", "ok", "0"],
                                    ["map-3", "ok", "0"], ["reduce", "ok", "0"]],
          "summary rows: %r" % rows)
    check(lines[6].startswith("Total time: "), "total: %r" % lines[6])


@case
def post_json_job():
    """the seed's 3.3.4: a JSON job reading an object, the app tar as image"""
    s = srv()
    s.container(A + "/example")
    s.put(A + "/example/data1.csv", b"id,name,email,balance\n1,Alice,a@x,1000\n2,Bob,b@x,-500\n")
    main = b"import csv\nwith open('/dev/input') as fp:\n" \
           b"    for id, name, email, balance in csv.reader(fp):\n" \
           b"        print('%(name)s: %(balance)s' % dict(name=name, balance=balance))\n"
    s.put(A + "/example/example.tar", tar_bytes({"main.py": main}))
    job = [{"name": "example", "exec": {"path": "file://python2.7:python", "args": "main.py"},
            "devices": [{"name": "python2.7"}, {"name": "stdout"},
                        {"name": "input", "path": "swift://~/example/data1.csv"},
                        {"name": "image", "path": "swift://~/example/example.tar"}]}]
    r = s.post_job(job)
    check(r.status == 200 and r.body == b"name: balance\nAlice: 1000\nBob: -500\n", repr(r))
    check(r.h("content-type") == "text/html", "default type: %r" % r.h("content-type"))
    n = nexe(r)
    check(n["system"] == "example" and n["status"] == "ok" and n["retcode"] == "0" and
          n["validation"] == "0" and n["error"] is None, repr(n))


@case
def post_tar_image():
    """the seed's 3.3.3: a tar with boot/system.map, main.py, mymath.py (plain and gzip)"""
    s = srv()
    smap = json.dumps([{"name": "example",
                        "exec": {"path": "file://python2.7:python", "args": "main.py"},
                        "devices": [{"name": "python2.7"}, {"name": "stdout"}]}]).encode()
    members = {"boot/system.map": smap,
               "mymath.py": b"def add(a, b):\n    return a + b\n",
               "main.py": b"import mymath\na = 5\nb = 6\n"
                          b"print('%s + %s = %s' % (a, b, mymath.add(a, b)))\n"}
    for ct, gz in (("application/x-tar", False), ("application/x-gzip", True)):
        r = s.req("POST", A, {"X-Zerovm-Execute": "1.0", "Content-Type": ct},
                  tar_bytes(members, gz))
        check(r.status == 200 and r.body == b"5 + 6 = 11\n", "%s: %r" % (ct, r))


@case
def image_cache_bounded():
    """[compute] image_cache_max: the trees POSTed tars leave in zerovm's cache are pruned to the bound"""
    cache = os.path.join(WORK, "bounded-cache")
    os.mkdir(cache, 0o700)
    s = Server("bounded", "image_cache_max = 1\n", env={"ZEROVM_CACHE_DIR": cache}).start()
    smap = json.dumps([{"name": "example",
                        "exec": {"path": "file://python2.7:python", "args": "main.py"},
                        "devices": [{"name": "python2.7"}, {"name": "stdout"}]}]).encode()
    for i in range(3):
        r = s.req("POST", A, {"X-Zerovm-Execute": "1.0", "Content-Type": "application/x-tar"},
                  tar_bytes({"boot/system.map": smap, "main.py": b"print(%d)\n" % i}))
        check(r.status == 200 and r.body == b"%d\n" % i, "job %d: %r" % (i, r))
    trees = [n for n in os.listdir(os.path.join(cache, "images")) if not n.startswith(".")]
    check(len(trees) == 1, "three distinct images with room for none but the one in use: %r" % trees)
    s.stop()


@case
def post_script():
    """the seed's 3.3.2: a #! script, stdout as text/plain; shebang arguments"""
    s = srv()
    script = b"#!file://python2.7:python\nimport sys\nprint('Hello from ZeroVM!')\n" \
             b"print(\"sys.platform is '%s'\" % sys.platform)\n"
    r = s.req("POST", A, {"X-Zerovm-Execute": "1.0", "Content-Type": "application/python"},
              script)
    check(r.status == 200 and r.body == b"Hello from ZeroVM!\nsys.platform is 'linux'\n",
          repr(r))
    check(r.h("content-type") == "text/plain" and r.h("x-nexe-system") == "script", repr(r))
    r = s.req("POST", A, {"X-Zerovm-Execute": "1.0", "Content-Type": "text/x-python"},
              b"#!file://python3:python3 -S\nimport sys\nprint(sys.argv, sys.flags.no_site)\n")
    check(r.status == 200 and r.body == b"['script'] 1\n", repr(r))
    # non-zero exit: status stays 200, only X-Nexe-Retcode says it
    r = s.req("POST", A, {"X-Zerovm-Execute": "1.0", "Content-Type": "text/plain"},
              b"#!file://python3:python3\nimport sys\nprint('partial')\nsys.exit(3)\n")
    check(r.status == 200 and r.h("x-nexe-retcode") == "3" and r.h("x-nexe-status") == "ok" and
          r.body == b"partial\n", repr(r))


def build_wasm(name, source):
    if not CLANG:
        raise Skip("no clang to build a wasm module")
    src = os.path.join(WORK, name + ".c")
    out = os.path.join(WORK, name + ".wasm")
    with open(src, "w") as f:
        f.write(source)
    p = subprocess.run([CLANG, "--target=wasm32-wasi", "-O2", "-o", out, src],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise Skip("clang cannot build for wasm32-wasi: %s" % p.stderr[:200])
    return open(out, "rb").read()


@case
def wasm_module_job():
    """a wasm module stored as an object, run by a job (swift:// exec path)"""
    s = srv()
    wasm = build_wasm("hello", '#include <stdio.h>\n#include <stdlib.h>\n'
                      'int main(int c, char **v) { const char *g = getenv("GREETING");\n'
                      '  printf("%s from wasm, argv0=%s\\n", g ? g : "?", v[0]); return 0; }\n')
    s.container(A + "/wasm")
    s.put(A + "/wasm/hello.wasm", wasm)
    job = {"name": "hello", "exec": {"path": "swift://~/wasm/hello.wasm",
                                     "env": {"GREETING": "hello"}},
           "devices": [{"name": "stdout", "content_type": "text/plain"}]}
    r = s.post_job(job)
    check(r.status == 200 and r.body == b"hello from wasm, argv0=hello.wasm\n" and
          r.h("content-type") == "text/plain", repr(r))


@case
def zerovm_source():
    """X-Zerovm-Source: the script (or job) from an object, the body as stdin"""
    s = srv()
    s.container(A + "/src")
    s.put(A + "/src/upper.py", b"#!file://python3:python3\nimport sys\n"
                               b"sys.stdout.write(sys.stdin.read().upper())\n")
    r = s.req("POST", A, {"X-Zerovm-Execute": "1.0", "X-Zerovm-Source": "swift://~/src/upper.py",
                          "Content-Type": "text/plain"}, b"shout this")
    check(r.status == 200 and r.body == b"SHOUT THIS", repr(r))
    job = [py_group("cat", "-c import\\x20sys;sys.stdout.write(sys.stdin.read()[::-1])",
                    [{"name": "stdin"}])]
    s.put(A + "/src/job.json", json.dumps(job).encode(), {"Content-Type": "application/json"})
    r = s.req("POST", A, {"X-Zerovm-Execute": "1.0", "X-Zerovm-Source": "swift://~/src/job.json",
                          "Content-Type": "application/octet-stream"}, b"abc")
    check(r.status == 200 and r.body == b"cba", repr(r))
    r = s.req("POST", A, {"X-Zerovm-Execute": "1.0", "X-Zerovm-Source": "swift://~/src/nope.py"},
              b"")
    check(r.status == 404 and b"Error 404 Not Found while fetching /AUTH_test/src/nope.py" in r.body,
          repr(r))


PRETTY = b"""import json, os, pprint, sys
with open('/dev/input') as fp:
    data = json.load(fp)
print(pprint.pformat(data, width=int(sys.argv[1])))
print('ARG=' + os.environ.get('ARG', '-'))
print('LOCAL=' + os.environ['LOCAL_PATH_INFO'] + ' ' + os.environ['LOCAL_CONTENT_TYPE'] +
      ' ' + os.environ['LOCAL_HTTP_X_OBJECT_META_COLOR'])
"""


@case
def open_registered_app():
    """open/1.0: the app registered for application/json, {.object_path} and {.k=default}"""
    s = srv()
    s.container(A + "/example")
    data = {"type": "GeometryCollection", "geometries": [{"type": "Point",
                                                          "coordinates": [100.0, 0.0]}]}
    s.put(A + "/example/data.json", json.dumps(data).encode(),
          {"Content-Type": "application/json", "X-Object-Meta-Color": "blue"})
    s.put(A + "/example/prettyprint.tar", tar_bytes({"prettyprint.py": PRETTY}))
    s.container(A + "/.zvm")
    config = json.dumps([{"name": "prettyprint",
                          "exec": {"path": "file://python2.7:python",
                                   "args": "prettyprint.py {.width=30}",
                                   "env": {"ARG": "{.arg}"}},
                          "devices": [{"name": "python2.7"}, {"name": "stdout"},
                                      {"name": "input", "path": "{.object_path}"},
                                      {"name": "image",
                                       "path": "swift://~/example/prettyprint.tar"}]}])
    s.put(A + "/.zvm/application/json/config", config.encode())
    narrow = pprint_text(data, 30)
    r = s.req("GET", A + "/example/data.json", {"X-Zerovm-Execute": "open/1.0"})
    tail = "ARG=\nLOCAL=/AUTH_test/example/data.json application/json blue\n"
    check(r.status == 200 and r.body.decode() == narrow + tail, repr(r))
    # the /open/ form, with query arguments; a hostile value stays a string
    r = s.req("GET", "/open/AUTH_test/example/data.json?width=200&arg=%22%7D%5D%2C%7B")
    wide = pprint_text(data, 200)
    check(r.status == 200 and r.body.decode() == wide + tail.replace("ARG=", 'ARG="}],{'),
          repr(r))
    # an object that is an app itself (a tar with a map) runs, the body as its stdin
    smap = json.dumps([py_group("self", "-c import\\x20sys;print('app\\x20got',sys.stdin.read())",
                                [{"name": "stdin"}])]).encode()
    s.put(A + "/example/self.zapp", tar_bytes({"boot/system.map": smap}),
          {"Content-Type": "application/x-tar"})
    r = s.req("POST", "/open/AUTH_test/example/self.zapp", body=b"input")
    check(r.status == 200 and r.body == b"app got input\n", "app object: %r" % r)
    # no app for the type; the object missing
    s.put(A + "/example/notes.txt", b"x", {"Content-Type": "text/plain"})
    r = s.req("GET", "/open/AUTH_test/example/notes.txt")
    check(r.status == 404 and b"No application registered for text/plain" in r.body, repr(r))
    r = s.req("GET", "/open/AUTH_test/example/missing.json")
    check(r.status == 404, repr(r))
    # without the header a GET is a plain GET
    r = s.req("GET", A + "/example/data.json")
    check(r.status == 200 and json.loads(r.body) == data, repr(r))


def pprint_text(data, width):
    import pprint
    return pprint.pformat(data, width=width) + "\n"


API_APP = r'''
import json, os, sqlite3, sys
path = os.environ['PATH_INFO']
method = os.environ['REQUEST_METHOD']

def resp(code, reason, body, ctype='text/plain', extra=None):
    head = 'HTTP/1.1 %d %s\r\n' % (code, reason)
    for k, v in (extra or {}).items():
        head += '%s: %s\r\n' % (k, v)
    head += 'Content-Type: %s\r\nContent-Length: %d\r\n\r\n' % (ctype, len(body))
    sys.stdout.write(head + body)

def job(name, args, env, devices):
    return json.dumps([{'name': name,
        'exec': {'path': 'file://python3:python3', 'args': args, 'env': env},
        'devices': [{'name': 'stdout', 'content_type': 'message/http'},
                    {'name': 'image', 'path': 'swift://~/api-app/api.zapp'}] + devices}])

if path.endswith('/env'):
    resp(200, 'OK', json.dumps(dict(os.environ)), 'application/json', {'X-App': 'yes'})
elif path.endswith('/count'):
    db = sqlite3.connect('/dev/input')
    n = db.execute('SELECT count(*) FROM object WHERE deleted=0').fetchone()[0]
    names = [r[0] for r in db.execute('SELECT name FROM object WHERE deleted=0 ORDER BY name')]
    resp(200, 'OK', '%d %s' % (n, ','.join(names)))
elif '/save/' in path and method == 'POST':
    name = path.rsplit('/', 1)[1]
    data = sys.stdin.read()
    resp(200, 'OK', job('save', 'save.py', {'DATA': data},
                        [{'name': 'output', 'path': 'swift://~/api-store/' + name,
                          'content_type': 'text/plain'}]),
         'application/json', {'X-Zerovm-Execute': '1.0'})
elif path.endswith('/loop'):
    resp(200, 'OK', job('again', 'api.py', {}, [{'name': 'input', 'path': 'swift://~/api-store'}]),
         'application/json', {'X-Zerovm-Execute': '1.0'})
else:
    resp(404, 'Not Found', 'no route for %s %s\n' % (method, path))
'''

SAVE_PY = r'''
import os, sys
with open('/dev/output', 'w') as fp:
    fp.write(os.environ['DATA'])
body = 'saved %d bytes\n' % len(os.environ['DATA'])
sys.stdout.write('HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\n\r\n' + body)
'''


def api_setup(s):
    smap = json.dumps([{"name": "api", "exec": {"path": "file://python3:python3", "args": "api.py"},
                        "devices": [{"name": "stdin"},
                                    {"name": "stdout", "content_type": "message/http"},
                                    {"name": "input", "path": "swift://~/api-store"}]}]).encode()
    s.container(A + "/api-app")
    s.container(A + "/api-store")
    s.put(A + "/api-app/api.zapp", tar_bytes({"boot/system.map": smap,
                                              "api.py": API_APP.encode(),
                                              "save.py": SAVE_PY.encode()}))
    s.put(A + "/api-store/first", b"1")
    s.container(A + "/api", {"X-Container-Meta-Rest-Endpoint":
                             "swift://AUTH_test/api-app/api.zapp"})


@case
def api_endpoint_and_message_http():
    """api/1.0: the container's endpoint app, message/http answers, the CGI variables"""
    s = srv()
    api_setup(s)
    r = s.req("GET", "/api/AUTH_test/api/env?q=1&x=a%20b",
              {"Accept": "text/html", "Cookie": "secret=1", "X-Custom": "v, w"})
    check(r.status == 200 and r.h("x-app") == "yes" and r.h("content-type") == "application/json",
          repr(r))
    env = json.loads(r.body)
    want = {"GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "GET",
            "PATH_INFO": "/AUTH_test/api/env", "QUERY_STRING": "q=1&x=a%20b",
            "REQUEST_URI": "/api/AUTH_test/api/env?q=1&x=a%20b", "SCRIPT_NAME": "/api",
            "SCRIPT_FILENAME": "swift://AUTH_test/api-app/api.zapp",
            "REMOTE_USER": "test:tester", "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": str(s.port), "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_ACCEPT": "text/html", "HTTP_X_CUSTOM": "v, w",
            "HTTP_HOST": "127.0.0.1:%d" % s.port}
    for k, v in want.items():
        check(env.get(k) == v, "%s: %r, want %r" % (k, env.get(k), v))
    check(env.get("SERVER_SOFTWARE", "").startswith("zerocloud/"), repr(env))
    token = s.token()
    for k, v in env.items():
        check(token not in v, "the token reached the program in %s" % k)
    for k in ("HTTP_X_AUTH_TOKEN", "HTTP_COOKIE", "HTTP_X_STORAGE_TOKEN"):
        check(k not in env, "%s given to the program" % k)
    # the header form on /v1/
    r = s.req("GET", A + "/api/env", {"X-Zerovm-Execute": "api/1.0"})
    check(r.status == 200 and json.loads(r.body)["PATH_INFO"] == "/AUTH_test/api/env", repr(r))
    r = s.req("DELETE", "/api/AUTH_test/api/some/where")
    check(r.status == 404 and r.body == b"no route for DELETE /AUTH_test/api/some/where\n", repr(r))
    # no endpoint configured
    s.container(A + "/plain")
    r = s.req("GET", "/api/AUTH_test/plain/x")
    check(r.status == 404 and b"No API endpoint configured for container plain" in r.body,
          repr(r))


@case
def container_listing_as_sqlite():
    """a container as a readable device: Swift's object table, queried with sqlite3"""
    s = srv()
    api_setup(s)
    s.put(A + "/api-store/second", b"22")
    r = s.req("GET", "/api/AUTH_test/api/count")
    check(r.status == 200 and r.body.startswith(b"2 ") and b"first,second" in r.body, repr(r))
    # a container device on an output is refused
    job = [py_group("w", "-c pass", [{"name": "output", "path": "swift://~/api-store"}])]
    r = s.post_job(job)
    check(r.status == 400 and b"needs an object, not a container" in r.body, repr(r))


@case
def chaining_and_its_limit():
    """an answer with X-Zerovm-Execute + application/json runs as the next job; the limit"""
    s = srv()
    api_setup(s)
    r = s.req("POST", "/api/AUTH_test/api/save/note1", body=b"remember this")
    check(r.status == 201 and r.body == b"saved 13 bytes\n", repr(r))
    check(r.h("x-nexe-system") == "save" and r.h("x-zerovm-execute") is None, repr(r))
    r = s.req("GET", A + "/api-store/note1")
    check(r.status == 200 and r.body == b"remember this" and
          r.h("content-type") == "text/plain" and r.h("etag") == md5(b"remember this"), repr(r))
    r = s.req("GET", "/api/AUTH_test/api/loop")
    check(r.status == 500 and b"Too many chained jobs (limit 8)" in r.body, repr(r))


@case
def suid_for_anonymous():
    """X-Container-Meta-Zerovm-Suid lets anonymous users run the endpoint app (Snakebin)"""
    s = srv()
    api_setup(s)
    r = s.req("GET", "/api/AUTH_test/api/count", auth=None)
    check(r.status == 401, "anonymous without Suid: %r" % r)
    r = s.req("GET", "/api/AUTH_test/api/count", auth="other:guest")
    check(r.status == 403, "another account without Suid: %r" % r)
    for c in ("api", "api-app", "api-store"):
        r = s.req("POST", A + "/" + c, {"X-Container-Meta-Zerovm-Suid": ".r:*,.rlistings"})
        check(r.status == 204, repr(r))
    r = s.req("GET", "/api/AUTH_test/api/count", auth=None)
    check(r.status == 200 and b"first" in r.body, "anonymous with Suid: %r" % r)
    r = s.req("POST", "/api/AUTH_test/api/save/anon", body=b"from anonymous", auth=None)
    check(r.status == 401 and b"/AUTH_test/api-store/anon" in r.body,
          "anonymous save with a read grant only: %r" % r)
    r = s.req("POST", A + "/api-store", {"X-Container-Meta-Zerovm-Suid-Write": ".r:*"})
    check(r.status == 204, repr(r))
    r = s.req("POST", "/api/AUTH_test/api/save/anon", body=b"from anonymous", auth=None)
    check(r.status == 201, "anonymous save: %r" % r)
    check(s.req("GET", A + "/api-store/anon").body == b"from anonymous", "not saved")
    env = json.loads(s.req("GET", "/api/AUTH_test/api/env", auth=None).body)
    check("REMOTE_USER" not in env, repr(env))
    # Suid is for the endpoint only: an anonymous POSTed job is still refused
    r = s.post_job([py_group("x", "-c pass")], auth=None)
    check(r.status == 401, repr(r))
    # and it does not open a container without it
    s.container(A + "/closed")
    s.put(A + "/closed/secret", b"s")
    r = s.req("POST", A + "/api-app", {"X-Container-Meta-Zerovm-Suid": ""})
    r = s.req("GET", "/api/AUTH_test/api/count", auth=None)
    check(r.status == 401 and b"/AUTH_test/api-app/api.zapp" in r.body,
          "the app's container lost its Suid: %r" % r)
    for c in ("api", "api-store"):
        s.req("POST", A + "/" + c, {"X-Container-Meta-Zerovm-Suid": "",
                                    "X-Container-Meta-Zerovm-Suid-Write": ""})


@case
def suid_read_is_not_write():
    """a Zerovm-Suid read grant lets another user's job read the owner's
    container, not write it: writes need X-Container-Meta-Zerovm-Suid-Write"""
    s = srv()
    api_setup(s)
    for c in ("api", "api-app", "api-store"):
        r = s.req("POST", A + "/" + c, {"X-Container-Meta-Zerovm-Suid": "other:guest"})
        check(r.status == 204, repr(r))
    try:
        r = s.req("GET", "/api/AUTH_test/api/count", auth="other:guest")
        check(r.status == 200 and b"first" in r.body, "read through the grant: %r" % r)
        r = s.req("POST", "/api/AUTH_test/api/save/guest", body=b"from guest", auth="other:guest")
        check(r.status == 403 and
              b"Error 403 Forbidden while fetching /AUTH_test/api-store/guest" in r.body,
              "write through a read grant: %r" % r)
        check(s.req("GET", A + "/api-store/guest").status == 404, "the guest wrote here")
        # a write grant for someone else grants nothing to this user
        r = s.req("POST", A + "/api-store", {"X-Container-Meta-Zerovm-Suid-Write": "test:tester3"})
        check(r.status == 204, repr(r))
        r = s.req("POST", "/api/AUTH_test/api/save/guest", body=b"from guest", auth="other:guest")
        check(r.status == 403, "another user's write grant: %r" % r)
        r = s.req("POST", A + "/api-store", {"X-Container-Meta-Zerovm-Suid-Write": "other:guest"})
        check(r.status == 204, repr(r))
        r = s.req("POST", "/api/AUTH_test/api/save/guest", body=b"from guest", auth="other:guest")
        check(r.status == 201, "write with the write grant: %r" % r)
        check(s.req("GET", A + "/api-store/guest").body == b"from guest", "not saved")
    finally:
        for c in ("api", "api-app", "api-store"):
            s.req("POST", A + "/" + c, {"X-Container-Meta-Zerovm-Suid": "",
                                        "X-Container-Meta-Zerovm-Suid-Write": ""})


@case
def suid_is_per_account():
    """another account's endpoint cannot borrow this account's Zerovm-Suid to read or write"""
    s = srv()
    api_setup(s)
    for c in ("api", "api-app", "api-store"):
        r = s.req("POST", A + "/" + c, {"X-Container-Meta-Zerovm-Suid": ".r:*,.rlistings"})
        check(r.status == 204, repr(r))
    # the other account's app: reads this account's store, writes into it
    O = "/v1/AUTH_other"
    smap = json.dumps([{"name": "evil", "exec": {"path": "file://python3:python3",
                                                  "args": "-c import\\x20sys;"
                                                          "sys.stdout.write(open('/dev/input').read());"
                                                          "open('/dev/output','w').write('pwned')"},
                        "devices": [{"name": "stdout"},
                                    {"name": "input", "path": "swift://AUTH_test/api-store/first"},
                                    {"name": "output", "path": "swift://AUTH_test/api-store/pwned"}]}
                       ]).encode()
    r = s.req("PUT", O + "/evil-app", auth="other:guest")
    check(r.status in (201, 202), repr(r))
    r = s.req("PUT", O + "/evil-app/app.zapp", body=tar_bytes({"boot/system.map": smap}),
              auth="other:guest")
    check(r.status == 201, repr(r))
    r = s.req("PUT", O + "/evil", {"X-Container-Meta-Rest-Endpoint":
                                   "swift://AUTH_other/evil-app/app.zapp",
                                   "X-Container-Meta-Zerovm-Suid": ".r:*"}, auth="other:guest")
    check(r.status in (201, 202), repr(r))
    r = s.req("POST", O + "/evil-app", {"X-Container-Meta-Zerovm-Suid": ".r:*"}, auth="other:guest")
    r = s.req("GET", "/api/AUTH_other/evil/x", auth=None)
    check(r.status in (401, 403) and b"AUTH_test/api-store" in r.body,
          "another account's endpoint used this account's Suid: %r" % r)
    check(s.req("GET", A + "/api-store/pwned").status == 404, "the other account wrote here")
    for c in ("api", "api-app", "api-store"):
        s.req("POST", A + "/" + c, {"X-Container-Meta-Zerovm-Suid": ""})


@case
def outputs_only_on_success():
    """an output object is stored (MD5 ETag, device content type) only when the job succeeded"""
    s = srv()
    s.container(A + "/out")
    ok = [py_group("w", "-c open('/dev/output','w').write('result\\x20data')",
                   [{"name": "output", "path": "swift://~/out/good.txt",
                     "content_type": "text/x-result"}])]
    r = s.post_job(ok)
    check(r.status == 200 and r.h("x-nexe-retcode") == "0", repr(r))
    r = s.req("GET", A + "/out/good.txt")
    check(r.status == 200 and r.body == b"result data" and r.h("etag") == md5(b"result data") and
          r.h("content-type") == "text/x-result", repr(r))
    bad = [py_group("w", "-c open('/dev/output','w').write('x');import\\x20sys;sys.exit(1)",
                    [{"name": "output", "path": "swift://~/out/bad.txt"}])]
    r = s.post_job(bad)
    check(r.status == 200 and r.h("x-nexe-retcode") == "1", repr(r))
    check(s.req("GET", A + "/out/bad.txt").status == 404, "a failed job's output was stored")
    r = s.post_job([py_group("w", "-c pass", [{"name": "output",
                                                 "path": "swift://~/no-such-cont/x"}])])
    check(r.status == 404 and b"Error 404 Not Found while fetching /AUTH_test/no-such-cont" in r.body,
          repr(r))


@case
def no_host_paths_in_answers():
    """failing jobs (missing objects, bad programs, bad images, bad tars, a
    crash) name objects and channels, never a host path, in headers and bodies"""
    s = srv()
    s.container(A + "/leak")
    s.put(A + "/leak/text", b"hello")
    s.put(A + "/leak/notatar", b"not a tar at all" * 100)
    s.put(A + "/leak/prog", b"\x7fELF garbage" * 10)
    s.put(A + "/leak/emptydb", b"")
    jobs = [
        [py_group("a", "-c pass", [{"name": "input", "path": "swift://~/leak/nope"}])],
        [{"name": "a", "exec": {"path": "swift://~/leak/nope"}, "devices": [{"name": "stdout"}]}],
        [{"name": "a", "exec": {"path": "swift://~/leak/prog"}, "devices": [{"name": "stdout"}]}],
        [{"name": "a", "exec": {"path": "swift://~/leak/text"}, "devices": [{"name": "stdout"}]}],
        [py_group("a", "-c pass", [{"name": "image", "path": "swift://~/leak/notatar"}])],
        [py_group("a", "-c pass", [{"name": "image", "path": "swift://~/leak/text"},
                                   {"name": "input", "path": "swift://~/leak/notatar"}])],
        [py_group("a", "-c import\\x20os;os.abort()",
                  [{"name": "input", "path": "swift://~/leak/text"}])],
        [py_group("a", "-c pass", [{"name": "output", "path": "swift://~/leak"}])],
    ]
    answers = [s.post_job(j) for j in jobs]
    smap = json.dumps([py_group("t", "-c pass")]).encode()
    for members in ({"boot/system.map": smap, "../evil": b"x"},
                    {"boot/system.map": b"[{not json"}, {"main.py": b"print(1)"}):
        answers.append(s.req("POST", A, {"X-Zerovm-Execute": "1.0",
                                         "Content-Type": "application/x-tar"},
                             tar_bytes(members)))
    answers.append(s.req("POST", A, {"X-Zerovm-Execute": "1.0",
                                     "Content-Type": "application/x-tar"}, b"garbage" * 300))
    answers.append(s.req("POST", A, {"X-Zerovm-Execute": "1.0", "Content-Type": "text/plain"},
                         b"#!swift://~/leak/prog\n"))
    failed = [r for r in answers if r.status >= 400]
    check(len(failed) >= 10, "too few failures to judge: %r" % answers)
    data = os.path.realpath(s.data)
    for r in answers:
        text = " ".join("%s: %s" % kv for kv in r.headers.items()) + " " + \
            r.body.decode(errors="replace")
        for bad in (data, s.data, WORK, "/tmp/", "/proc/", "/jobs/req-"):
            check(bad not in text, "host path %r in an answer: %r" % (bad, r))
    check(any("swift://AUTH_test/leak/prog" in (r.h("x-nexe-status") or "") for r in answers),
          "a bad program is named by its object: %r" % answers)


@case
def wildcard_scan_stops_at_the_deadline():
    """a wildcard over a container of many objects stops at the request's
    deadline ([compute] timeout_ms tiny): 504 naming the listing"""
    s = Server("scan", "timeout_ms = 0\n").start()
    s.container(A + "/many")
    names = ["obj%05d" % i for i in range(1100)]

    def put_some(part):
        for n in part:
            s.put(A + "/many/" + n, b"x")
    threads = [threading.Thread(target=put_some, args=(names[k::4],)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    s.put(A + "/many/zz-wanted", b"y")
    job = [py_group("w", "-c pass", [{"name": "input", "path": "swift://~/many/zz-*"}])]
    r = s.post_job(job)
    check(r.status == 504 and
          b"Listing /AUTH_test/many stopped at the request's deadline" in r.body, repr(r))
    s.stop()
    # with a real deadline the same expansion goes through the whole listing
    with open(s.cfg, "w") as f:
        f.write(USERS + "[compute]\n")
    s.tokens = {}
    s.start()
    r = s.post_job(job)
    check(r.status == 200 and r.h("x-nexe-system") == "w", repr(r))
    s.stop()


@case
def nexe_headers_two_nodes():
    """X-Nexe-* for a 2-node job: comma-joined in node order, the Cdr-Line format"""
    s = srv()
    job = [py_group("first", "-c print('one')"),
           py_group("second", "-c import\\x20sys;print('two');sys.exit(4)")]
    r = s.post_job(job)
    check(r.status == 200 and r.body == b"one\ntwo\n", repr(r))
    n = nexe(r)
    check(n["system"] == "first,second" and n["status"] == "ok,ok" and n["retcode"] == "0,4" and
          n["etag"] == "disabled,disabled" and n["validation"] == "0,0" and n["error"] is None,
          repr(n))
    acc = r"\d+\.\d\d \d+\.\d\d" + r" \d+" * 8
    check(re.fullmatch(r"\d+\.\d{3}, \d+\.\d{3}, " + acc + r",\d+\.\d{3}, " + acc, n["cdr-line"]),
          "cdr: %r" % n["cdr-line"])


@case
def spec_errors():
    """413, 422 (Etag, unparseable), 400 (no map, unsupported type, job errors), 404"""
    s = srv()
    big = json.dumps([py_group("x", "-c pass", extra={"pad": "p" * 70000})])
    r = s.post_job(big)
    check(r.status == 413, "413: %r" % r)
    good = json.dumps([py_group("x", "-c pass")])
    r = s.post_job(good, {"Etag": "0" * 32})
    check(r.status == 422, "etag: %r" % r)
    r = s.post_job(good, {"Etag": md5(good.encode())})
    check(r.status == 200, "right etag: %r" % r)
    r = s.post_job(b"[{not json")
    check(r.status == 422 and r.body == b"Could not parse system map\n", "parse: %r" % r)
    r = s.req("POST", A, {"X-Zerovm-Execute": "1.0", "Content-Type": "application/x-tar"},
              tar_bytes({"main.py": b"print(1)\n"}))
    check(r.status == 400 and r.body == b"System boot map was not found in request\n",
          "no map: %r" % r)
    r = s.req("POST", A, {"X-Zerovm-Execute": "1.0", "Content-Type": "application/x-tar"},
              b"this is not a tar archive at all" * 40)
    check(r.status == 422, "corrupt tar: %r" % r)
    # a hostile member: refused by name, without the server's own paths
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        ti = tarfile.TarInfo("etc")
        ti.type, ti.linkname = tarfile.SYMTYPE, "/etc"
        t.addfile(ti)
        smap = json.dumps([py_group("x", "-c pass")]).encode()
        ti = tarfile.TarInfo("boot/system.map")
        ti.size = len(smap)
        t.addfile(ti, io.BytesIO(smap))
    r = s.req("POST", A, {"X-Zerovm-Execute": "1.0", "Content-Type": "application/x-tar"},
              buf.getvalue())
    check(r.status == 422 and r.body == b"Could not read the image: symlink 'etc' -> '/etc': "
          b"target is absolute\n", "hostile member: %r" % r)
    r = s.req("POST", A, {"X-Zerovm-Execute": "1.0", "Content-Type": "application/python"},
              b"print('no shebang')\n")
    check(r.status == 400 and r.body == b"Unsupported Content-Type\n", "unsupported: %r" % r)
    seed = [
        ([{"exec": {"path": "file://python3:python3"}}], "Must specify node name"),
        ([{"name": "n"}], "Must specify exec stanza for n"),
        ([{"name": "n", "exec": {}}], "Must specify executable path for n"),
        ([{"name": "n", "exec": {"path": "http://x/y"}}], "Invalid path http://x/y in n"),
        ([], "Config parser cannot resolve any job nodes"),
        ([py_group("m", "-c pass", [{"name": "input", "path": "swift://~/example/*.none"}])],
         "No objects found in path swift://~/example/*.none"),
    ]
    for job, msg in seed:
        r = s.post_job(job)
        check(r.status == 400 and r.body == (msg + "\n").encode(), "%s: %r" % (msg, r))
    r = s.post_job([py_group("m", "-c pass", [{"name": "input", "path": "swift://~/example/x"}])])
    check(r.status == 404 and r.body == b"Error 404 Not Found while fetching /AUTH_test/example/x\n",
          "404: %r" % r)
    # the ClusterController's 501, and a version it does not know
    r = s.req("GET", A, {"X-Zerovm-Execute": "1.0"})
    check(r.status == 501, "GET with X-Zerovm-Execute: %r" % r)
    r = s.req("POST", A, {"X-Zerovm-Execute": "9.9"}, b"x")
    check(r.status == 400, "unknown version: %r" % r)


@case
def who_may_execute():
    """only the account's owner executes: 401 anonymous, 403 other users"""
    s = srv()
    job = [py_group("x", "-c print(1)")]
    check(s.post_job(job, auth=None).status == 401, "anonymous")
    check(s.post_job(job, auth="test:tester3").status == 403, "a non-admin user")
    check(s.post_job(job, auth="other:guest").status == 403, "another account's admin")
    r = s.post_job(job, auth="other:guest", account="AUTH_other")
    check(r.status == 200 and r.body == b"1\n", "the other account's own: %r" % r)
    r = s.req("POST", A, {"X-Zerovm-Execute": "1.0", "X-Auth-Token": "AUTH_tkbogus"}, b"x",
              auth=None)
    check(r.status == 401, "bad token: %r" % r)


@case
def another_accounts_objects():
    """a job asking for another account's objects gets 403, unless its ACLs allow"""
    s = srv()
    o = "/v1/AUTH_other"
    s.container(o + "/private", auth="other:guest")
    s.put(o + "/private/secret.txt", b"top secret\n", auth="other:guest")
    read = [py_group("r", "-c print(open('/dev/input').read(),end='')",
                     [{"name": "input", "path": "swift://AUTH_other/private/secret.txt"}])]
    r = s.post_job(read)
    check(r.status == 403 and
          r.body == b"Error 403 Forbidden while fetching /AUTH_other/private/secret.txt\n", repr(r))
    wild = [py_group("r", "-c pass", [{"name": "input", "path": "swift://AUTH_other/private/*"}])]
    check(s.post_job(wild).status == 403, "listing another account")
    lst = [py_group("r", "-c pass", [{"name": "input", "path": "swift://AUTH_other/private"}])]
    check(s.post_job(lst).status == 403, "another account's container as SQLite")
    write = [py_group("w", "-c pass", [{"name": "output",
                                          "path": "swift://AUTH_other/private/planted"}])]
    check(s.post_job(write).status == 403, "writing another account")
    r = s.req("POST", o + "/private", {"X-Container-Read": "test"}, auth="other:guest")
    check(r.status == 204, repr(r))
    r = s.post_job(read)
    check(r.status == 200 and r.body == b"top secret\n", "granted read: %r" % r)
    check(s.post_job(write).status == 403, "read access is not write access")
    check(s.req("GET", o + "/private/planted", auth="other:guest").status == 404, "planted")


@case
def hostile_inputs():
    """bad JSON shapes, hostile names and paths: clean 4xx, the server lives"""
    s = srv()
    cases = [b"", b"null", b"42", b'"str"', b"[[[[[[[[[[]]]]]]]]]]", b"[1,2,3]",
             b'[{"name":"a","exec":{"path":"file://python3:python3"},"count":-1}]',
             b'[{"name":"a","exec":{"path":"file://python3:python3"},"count":1e99}]',
             b'[{"name":"../x","exec":{"path":"file://python3:python3"}}]',
             b'[{"name":"a","exec":{"path":"swift://~/../../etc/passwd"}}]',
             b'[{"name":"a","exec":{"path":"file://python3:python3"},'
             b'"devices":[{"name":"input","path":"swift://~/c/a,b"}]}]',
             b'[{"name":"a","exec":{"path":"file://python3:python3"},'
             b'"devices":[{"name":"rootfs"}]}]',
             b'[{"name":"a","exec":{"path":"file://python3:python3"},"connect":["zz"]}]',
             b'[{"name":"a","exec":{"path":"file://nosuch:x"}}]',
             b"[" * 5000 + b"]" * 5000]
    for body in cases:
        r = s.post_job(body)
        check(400 <= r.status < 500, "%r: %r" % (body[:60], r))
    # more nodes than allowed
    r = s.post_job([py_group("many", "-c pass", extra={"count": 1000})])
    check(r.status == 413 and b"Too many nodes" in r.body, repr(r))
    # counted before expanding: a self-connected group of 100000 would take
    # the expansion (cubic in the streams) hours of a pool slot
    r = s.post_job([py_group("huge", "-c pass", extra={"count": 100000, "connect": ["huge"]})])
    check(r.status == 413 and b"Too many nodes: 100000" in r.body, repr(r))
    check(s.req("GET", "/healthcheck", auth=None).status == 200, "server died")


class Zeros(io.RawIOBase):
    def __init__(self, n):
        self.left = n

    def readable(self):
        return True

    def readinto(self, b):
        n = min(len(b), self.left)
        b[:n] = bytes(n)
        self.left -= n
        return n


@case
def tar_bomb_refused():
    """a gzip tar expanding past a node's memory is refused before anything is unpacked"""
    s = Server("bomb", "memory = 67108864\n").start()
    smap = json.dumps([py_group("x", "-c print(1)")]).encode()
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=1) as gz:
        with tarfile.open(fileobj=gz, mode="w|", format=tarfile.USTAR_FORMAT) as t:
            ti = tarfile.TarInfo("boot/system.map")
            ti.size = len(smap)
            t.addfile(ti, io.BytesIO(smap))
            ti = tarfile.TarInfo("zeros")
            ti.size = 256 << 20
            t.addfile(ti, Zeros(ti.size))
    body = buf.getvalue()
    check(len(body) < 2 << 20, "the bomb is %d bytes" % len(body))
    r = s.req("POST", A, {"X-Zerovm-Execute": "1.0", "Content-Type": "application/x-gzip"}, body)
    check(r.status == 413 and b"expands past" in r.body, repr(r))
    # a header alone claiming 7 GiB
    hdr = tarfile.TarInfo("huge")
    hdr.size = 7 << 30
    mh = tarfile.TarInfo("boot/system.map")
    mh.size = len(smap)
    body = (mh.tobuf(tarfile.USTAR_FORMAT) + smap + bytes(-len(smap) % 512) +
            hdr.tobuf(tarfile.USTAR_FORMAT))
    r = s.req("POST", A, {"X-Zerovm-Execute": "1.0", "Content-Type": "application/x-tar"}, body)
    check(r.status == 413, repr(r))
    # The server removes a request's directory when the connection is done
    # with it, which may be just after the client has read the answer.
    jobs = os.path.join(s.data, "jobs")
    deadline = time.monotonic() + 10
    while os.listdir(jobs) and time.monotonic() < deadline:
        time.sleep(0.05)
    check(not os.listdir(jobs), "request directories left behind")
    s.stop()


@case
def pool_full_503_and_status_page():
    """pool = 1, queue = 0: a second execution while one runs gets 503; live counts"""
    s = Server("pool", "pool = 1\nqueue = 0\n").start()
    sleeper = b"#!file://python3:python3\nimport time\ntime.sleep(4)\nprint('slept')\n"
    out = {}

    def first():
        out["r"] = s.req("POST", A, {"X-Zerovm-Execute": "1.0", "Content-Type": "text/plain"},
                         sleeper)
    t = threading.Thread(target=first)
    t.start()
    running = None
    for _ in range(400):
        page = s.req("GET", "/", auth=None).body.decode()
        running = re.search(r'id="jobs-running">(\d+)<', page).group(1)
        if running == "1":
            break
        time.sleep(0.01)
    check(running == "1", "the first job never showed as running")
    r = s.req("POST", A, {"X-Zerovm-Execute": "1.0", "Content-Type": "text/plain"},
              b"#!file://python3:python3\nprint(2)\n")
    check(r.status == 503 and r.h("retry-after") == "1", "second: %r" % r)
    t.join(120)
    # a client that stalls in its upload holds no slot
    stalled = socket.create_connection(("127.0.0.1", s.port), timeout=30)
    stalled.sendall(("POST /v1/AUTH_test HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\n"
                     "X-Zerovm-Execute: 1.0\r\nContent-Type: text/plain\r\n"
                     "Content-Length: 1000\r\n\r\n#!file://python3:python3\n"
                     % s.token()).encode())
    time.sleep(0.2)
    r = s.req("POST", A, {"X-Zerovm-Execute": "1.0", "Content-Type": "text/plain"},
              b"#!file://python3:python3\nprint('not pinned')\n")
    stalled.close()
    check(r.status == 200 and r.body == b"not pinned\n", "with a stalled upload: %r" % r)
    check(out["r"].status == 200 and out["r"].body == b"slept\n", repr(out["r"]))
    page = s.req("GET", "/", auth=None).body.decode()
    check('id="jobs-running">0<' in page and 'id="jobs-finished">2<' in page, page)
    r = s.req("POST", A, {"X-Zerovm-Execute": "1.0", "Content-Type": "text/plain"},
              b"#!file://python3:python3\nprint(3)\n")
    check(r.status == 200 and r.body == b"3\n", "after the first: %r" % r)
    s.stop()


@case
def timeout_is_5xx():
    """a job past the request's timeout is stopped: 504 with X-Nexe-Error"""
    s = Server("timeout", "timeout = 2\n").start()
    r = s.req("POST", A, {"X-Zerovm-Execute": "1.0", "Content-Type": "text/plain"},
              b"#!file://python3:python3\nimport time\ntime.sleep(60)\n")
    check(r.status == 504 and r.h("x-nexe-error") and r.h("x-nexe-system") == "script", repr(r))
    s.stop()


@case
def body_limits():
    """max_request bounds any body (413, announced or streamed)"""
    s = Server("limits", "max_request = 1000\n").start()
    r = s.req("POST", A, {"X-Zerovm-Execute": "1.0", "Content-Type": "text/plain"},
              b"#!file://python3:python3\n" + b"#" * 2000)
    check(r.status == 413, repr(r))
    s.stop()


@case
def servers_stop_cleanly():
    """every server stops on SIGTERM with status 0 and no sanitizer report in its log"""
    for s in Server.servers:
        s.stop()
        if s.proc is None:
            continue
        log = open(s.log, errors="replace").read()
        check(s.proc.returncode == 0, "server %s exited %s: %s" % (s.name, s.proc.returncode,
                                                                   log[-3000:]))
        for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            check(bad not in log, "server %s: %s" % (s.name, log[log.find(bad) - 200:][:3000]))
        check(not os.listdir(os.path.join(s.data, "jobs")),
              "server %s left request directories" % s.name)


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
