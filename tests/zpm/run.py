#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""zpm's suite: the zpm binary against the file system and against a small
fake Swift/ZeroCloud server (http.server on loopback, in this process), so
that auth, deploy and execute are tested without the real server.  Prints TAP.

Environment:
  ZPM        the zpm binary (default: <repo>/build/src/cli/zpm)
  ZVAPP      the zvapp binary (default: next to zpm); for the wordcount
             comparison of system.map semantics (--dry-run), skipped if absent
  ZPM_ONLY   optional substring: run only the cases whose name has it
"""

import ast
import gzip
import http.server
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import urllib.parse
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from taprun import case, check, run  # noqa: E402  (the shared harness)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
ZPM = os.path.abspath(os.environ.get("ZPM") or os.path.join(REPO, "build", "src", "cli", "zpm"))
ZVAPP = os.path.abspath(os.environ.get("ZVAPP") or os.path.join(os.path.dirname(ZPM), "zvapp"))
ONLY = os.environ.get("ZPM_ONLY", "")
EXAMPLE = os.path.join(REPO, "examples", "wordcount")
SEED_001 = "/work/shared/seeds/001_049bdc4706d8658c.txt"

# zpmlib.zpm.NO_AUTH_MSG of the seed document 001, word for word.
NO_AUTH_MSG = (
    'Auth version 1.0 requires ST_AUTH, ST_USER, and ST_KEY environment variables\n'
    'to be set or overridden with -A, -U, or -K.\n'
    '\n'
    'Auth version 2.0 requires OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, and\n'
    'OS_TENANT_NAME OS_TENANT_ID to be set or overridden with --os-auth-url,\n'
    '--os-username, --os-password, --os-tenant-name or os-tenant-id. Note:\n'
    'adding "-V 2" is necessary for this.')

COLUMNS = ["Node", "Status", "Retcode", "NodeT", "SysT", "UserT", "DiskReads", "DiskBytesR",
           "DiskWrites", "DiskBytesW", "NetworkReads", "NetworkBytesR", "NetworkWrites",
           "NetworkBytesW"]

WORK = tempfile.mkdtemp(prefix="zpm-test-", dir="/tmp")




def fresh(name):
    d = os.path.join(WORK, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def put(root, path, data):
    p = os.path.join(root, path)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    return p


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ST_", "OS_"))}
    env.update(extra)
    return env


def zpm(*args, cwd=None, env=None, timeout=60):
    p = subprocess.run([ZPM] + [str(a) for a in args], capture_output=True, text=True, cwd=cwd,
                       env=env if env is not None else clean_env(), timeout=timeout)
    return p


def expect(p, rc, what=""):
    check(p.returncode == rc, "%sexit %d (expected %d)\nstdout: %s\nstderr: %s"
          % (what, p.returncode, rc, p.stdout, p.stderr))


# --- the fake Swift / ZeroCloud ---------------------------------------------

class Swift:
    """Account AUTH_test; v1 user test:tester key testing; v2 tenant test,
    user tester, password testing.  Objects in memory; every request logged."""

    def __init__(self):
        self.lock = threading.Lock()
        self.containers = {}          # name -> {obj: (content_type, bytes)}
        self.log = []                 # (method, path, query, headers, body)
        self.job = None               # (status, headers, body) of the next POST
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        srv.daemon_threads = True
        self.server = srv
        self.url = "http://127.0.0.1:%d" % srv.server_address[1]
        self.storage = self.url + "/v1/AUTH_test"
        threading.Thread(target=srv.serve_forever, daemon=True).start()

    def reset(self):
        with self.lock:
            self.containers = {}
            self.log = []
            self.job = None

    def v1_env(self):
        return clean_env(ST_AUTH=self.url + "/auth/v1.0", ST_USER="test:tester", ST_KEY="testing")

    def v2_env(self):
        return clean_env(OS_AUTH_URL=self.url + "/v2.0", OS_TENANT_NAME="test", OS_USERNAME="tester",
                         OS_PASSWORD="testing")

    def requests(self, method=None):
        with self.lock:
            return [r for r in self.log if method is None or r[0] == method]

    def handler(self):
        swift = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def reply(self, status, headers=None, body=b""):
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do(self):
                u = urllib.parse.urlsplit(self.path)
                path = urllib.parse.unquote(u.path)
                q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                with swift.lock:
                    swift.log.append((self.command, path, q, dict(self.headers), body))
                if path == "/auth/v1.0" and self.command == "GET":
                    if (self.headers.get("X-Auth-User"), self.headers.get("X-Auth-Key")) != \
                            ("test:tester", "testing"):
                        return self.reply(401, body=b"Unauthorized")
                    return self.reply(200, {"X-Auth-Token": "AUTH_tkv1", "X-Storage-Url": swift.storage})
                if path == "/v2.0/tokens" and self.command == "POST":
                    a = json.loads(body)["auth"]
                    if (a.get("tenantName"), a["passwordCredentials"]["username"],
                            a["passwordCredentials"]["password"]) != ("test", "tester", "testing"):
                        return self.reply(401, body=b"Unauthorized")
                    doc = {"access": {"token": {"id": "AUTH_tkv2"}, "serviceCatalog": [
                        {"type": "identity", "endpoints": [{"publicURL": swift.url + "/v2.0"}]},
                        {"type": "object-store", "endpoints": [{"publicURL": swift.storage}]}]}}
                    return self.reply(200, {"Content-Type": "application/json"}, json.dumps(doc).encode())
                if not path.startswith("/v1/AUTH_test"):
                    return self.reply(404, body=b"Not Found")
                if self.headers.get("X-Auth-Token") not in ("AUTH_tkv1", "AUTH_tkv2"):
                    return self.reply(401, body=b"Unauthorized")
                parts = path[len("/v1/AUTH_test"):].lstrip("/").split("/", 1)
                cont = parts[0]
                obj = parts[1] if len(parts) > 1 else ""
                with swift.lock:
                    return self.route(cont, obj, q, body)

            def route(self, cont, obj, q, body):
                m = self.command
                if not cont:
                    if m == "POST" and self.headers.get("X-Zerovm-Execute") == "1.0":
                        status, headers, out = swift.job or (200, {}, b"")
                        return self.reply(status, headers, out)
                    return self.reply(405)
                c = swift.containers.get(cont)
                if not obj:
                    if m == "PUT":
                        swift.containers.setdefault(cont, {})
                        return self.reply(201)
                    if c is None:
                        return self.reply(404, body=b"" if m == "HEAD" else b"Not Found")
                    if m == "HEAD":
                        return self.reply(204, {"X-Container-Object-Count": str(len(c))})
                    if m == "GET":
                        names = sorted(o for o in c if o.startswith(q.get("prefix", "")))
                        names = names[:int(q["limit"])] if "limit" in q else names
                        if not names:
                            return self.reply(204)
                        return self.reply(200, {"Content-Type": "text/plain"},
                                          "".join(n + "\n" for n in names).encode())
                    return self.reply(405)
                if c is None:
                    return self.reply(404, body=b"Not Found")
                if m == "PUT":
                    c[obj] = (self.headers.get("Content-Type"), body)
                    return self.reply(201)
                if m in ("GET", "HEAD"):
                    if obj not in c:
                        return self.reply(404, body=b"Not Found")
                    return self.reply(200, {"Content-Type": c[obj][0]}, c[obj][1])
                return self.reply(405)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do

        return H


SWIFT = None


def swift():
    global SWIFT
    if SWIFT is None:
        SWIFT = Swift()
    SWIFT.reset()
    return SWIFT


HELLO_HEADERS = {
    "X-Nexe-System": "hello",
    "X-Nexe-Status": "ok",
    "X-Nexe-Retcode": "0",
    "X-Nexe-Etag": "disabled",
    "X-Nexe-Validation": "0",
    "X-Nexe-Cdr-Line": "3.920, 3.913, 0.11 3.37 1025 75943644 2 20 0 0 0 0",
    "Content-Type": "text/plain",
}


def project(root, yaml_text, files):
    put(root, "zapp.yaml", yaml_text)
    for name, text in files.items():
        put(root, name, text)
    return root


HELLO_YAML = """\
execution:
  groups:
    - name: "hello"
      path: file://python2.7:python
      args: "hello.py"
      devices:
      - name: python2.7
      - name: stdout
meta:
  Version: "1"
  name: "hello"
  Author-email: ""
  Summary: ""
help:
  description: "says hello"
  args: [["name", "Your name"]]
bundling: ["hello.py"]
"""


def hello_zapp(name="hello-app", ui=False):
    d = fresh(name)
    yaml_text = HELLO_YAML
    files = {"hello.py": "print('Hello from ZeroVM!')\n"}
    if ui:
        yaml_text += 'ui: ["index.html.tmpl", "style.css"]\n'
        files["index.html.tmpl"] = ("<title>{{ zapp.meta.name }}</title>\n"
                                    "<p>{{ zapp.help.description }}</p>\n"
                                    "<script>var storage = {{ auth_opts.storage_url | tojson }};\n"
                                    "var user = '{{ auth_opts.user }}'; var key = '{{ auth_opts.key }}';\n"
                                    "var args = {{ zapp.help.args }};</script>\n")
        files["style.css"] = "body { color: black; }\n"
    project(d, yaml_text, files)
    p = zpm("bundle", cwd=d)
    expect(p, 0, "bundle: ")
    return d, os.path.join(d, "hello.zapp")


def members(path):
    with tarfile.open(path) as t:
        return t.getnames()


def member(path, name):
    with tarfile.open(path) as t:
        return t.extractfile(name).read()


def parse_summary(out):
    """Rows (name -> list of cells), total time, and the text after."""
    lines = out.split("\n")
    i = lines.index("Execution summary:")
    check(lines[i + 1].split() == COLUMNS, "summary columns: %r" % lines[i + 1])
    rows = {}
    j = i + 2
    while not lines[j].startswith("Total time: "):
        cells = re.split(r"\s{2,}", lines[j].strip())
        rows[cells[0]] = cells
        j += 1
    return rows, lines[j][len("Total time: "):], "\n".join(lines[j + 1:])


# --- command line ----------------------------------------------------------------

@case
def no_command():
    """no command: usage on stderr, exit 2; unknown command or option: exit 2"""
    p = zpm()
    expect(p, 2)
    check(p.stderr.startswith("usage: zpm") and p.stdout == "", p.stderr)
    expect(zpm("frobnicate"), 2)
    expect(zpm("bundle", "--nope"), 2)
    expect(zpm("-l", "loud", "version"), 2)


@case
def version_and_help():
    """version, --version, help, help CMD, CMD --help"""
    for args in (["version"], ["--version"], ["-l", "debug", "version"]):
        p = zpm(*args)
        expect(p, 0)
        check(re.fullmatch(r"zpm version \d+\.\d+\.\d+\n", p.stdout), p.stdout)
    p = zpm("help")
    expect(p, 0)
    check(p.stdout.startswith("usage: zpm") and "deploy TARGET ZAPP" in p.stdout, p.stdout)
    for cmd in ("new", "bundle", "deploy", "execute", "auth"):
        p = zpm("help", cmd)
        expect(p, 0)
        check(p.stdout.startswith("usage: zpm " + cmd), p.stdout)
        p2 = zpm(cmd, "--help")
        expect(p2, 0)
        check(p2.stdout == p.stdout, p2.stdout)
    expect(zpm("help", "nope"), 2)


# --- new ------------------------------------------------------------------------

@case
def new_project():
    """new: zapp.yaml with meta.name = the directory's name, 'Created' lines, refusal to overwrite"""
    d = fresh("new1")
    p = zpm("new", cwd=d)
    expect(p, 0)
    check(p.stdout == "Created './zapp.yaml'\n", p.stdout)
    text = open(os.path.join(d, "zapp.yaml")).read()
    check('name: "new1"' in text and "path: file://python2.7:python" in text and "bundling: []" in text,
          text)
    check("ui:" not in text, text)
    p = zpm("new", cwd=d)
    expect(p, 1)
    check(p.stderr == "Error: './zapp.yaml' already exists!\n", p.stderr)
    check(open(os.path.join(d, "zapp.yaml")).read() == text, "zapp.yaml changed")
    # a directory argument, created if missing
    p = zpm("new", "sub/proj", cwd=d)
    expect(p, 0)
    check(p.stdout == "Created 'sub/proj/zapp.yaml'\n", p.stdout)
    check('name: "proj"' in open(os.path.join(d, "sub/proj/zapp.yaml")).read(), "meta.name")
    expect(zpm("new", "--template", "ruby", cwd=d), 2)


@case
def new_with_ui():
    """new --with-ui: zapp.yaml, index.html.tmpl, style.css, zerocloud.js; nothing written if one exists"""
    d = fresh("new2")
    p = zpm("new", "--with-ui", "app", cwd=d)
    expect(p, 0)
    files = ["zapp.yaml", "index.html.tmpl", "style.css", "zerocloud.js"]
    check(p.stdout == "".join("Created 'app/%s'\n" % f for f in files), p.stdout)
    for f in files:
        check(os.path.getsize(os.path.join(d, "app", f)) > 0, f)
    check('ui: ["index.html.tmpl", "style.css", "zerocloud.js"]' in open(os.path.join(d, "app/zapp.yaml")).read(),
          "ui section")
    # one existing file: refused before anything is written
    e = fresh("new3")
    put(e, "style.css", "mine\n")
    p = zpm("new", "--with-ui", cwd=e)
    expect(p, 1)
    check(p.stderr == "Error: './style.css' already exists!\n", p.stderr)
    check(sorted(os.listdir(e)) == ["style.css"], os.listdir(e))
    # the project bundles once a group is named (the template is valid otherwise)
    y = os.path.join(d, "app", "zapp.yaml")
    text = open(y).read()
    open(y, "w").write(text.replace('- name: ""', '- name: "app"'))
    p = zpm("bundle", cwd=os.path.join(d, "app"))
    expect(p, 0)
    check(members(os.path.join(d, "app", "app.zapp")) ==
          ["boot/system.map", "zapp.yaml", "index.html.tmpl", "style.css", "zerocloud.js"],
          members(os.path.join(d, "app", "app.zapp")))


# --- bundle ---------------------------------------------------------------------

BUNDLE_YAML = r"""
execution:
  groups:
    - name: "map"
      path: file://python2.7:python
      args: 'mapper.py "foo\\, \nbar"'
      devices:
      - name: python2.7
      - name: stdout
      - name: input
        path: "swift://~/data/*.txt"
      connect: ["reduce"]
      env:
        LANG: C.UTF-8
        LEVEL: 3
    - name: "reduce"
      path: swift://~/apps/bin/reducer
      args: ""
      count: 2
      devices:
      - name: stdout
        content_type: text/plain
meta:
  name: "mr"
bundling: ["*.py", "lib", "missing*.txt"]
ui: ["index.html", "nothing.css"]
"""


@case
def bundle_members_and_order():
    """bundle: gzip tar with boot/system.map, zapp.yaml, bundling matches, then ui matches; warnings"""
    d = fresh("bundle1")
    project(d, BUNDLE_YAML, {"reducer.py": "r\n", "mapper.py": "m\n", "lib/b.py": "b\n", "lib/a/x.py": "x\n",
                             "index.html": "<html></html>\n", "other.txt": "not bundled\n"})
    p = zpm("bundle", cwd=d)
    expect(p, 0)
    check(p.stdout == "created mr.zapp\n", p.stdout)
    check("pattern 'missing*.txt' in section 'bundling' matched no files" in p.stderr, p.stderr)
    check("pattern 'nothing.css' in section 'ui' matched no files" in p.stderr, p.stderr)
    z = os.path.join(d, "mr.zapp")
    check(open(z, "rb").read(2) == b"\x1f\x8b", "not gzip")
    names = members(z)
    want = ["boot/system.map", "zapp.yaml", "mapper.py", "reducer.py", "lib", "lib/a", "lib/a/x.py",
            "lib/b.py", "index.html"]
    check(names == want, "members %r" % names)
    check(member(z, "zapp.yaml").decode() == BUNDLE_YAML, "zapp.yaml differs")
    check(member(z, "lib/a/x.py") == b"x\n", "content")
    # a second bundle replaces the first and never contains itself
    put(d, "zapp.yaml", BUNDLE_YAML.replace('bundling: ["*.py"', 'bundling: ["*", "*.py"'))
    p = zpm("bundle", cwd=os.path.join(d, "lib", "a"))     # found by walking up
    expect(p, 0)
    names = members(z)
    check("mr.zapp" not in names and names.count("mapper.py") == 1, names)
    check(not [f for f in os.listdir(d) if ".tmp-" in f], os.listdir(d))


@case
def bundle_system_map():
    """bundle: system.map from zapp.yaml (exec.args escaping as in the spec, exec.name, env, other keys)"""
    d = fresh("bundle2")
    project(d, BUNDLE_YAML, {"mapper.py": "m\n"})
    expect(zpm("bundle", cwd=d), 0)
    job = json.loads(member(os.path.join(d, "mr.zapp"), "boot/system.map"))
    check(len(job) == 2, job)
    m, r = job
    check(m["exec"]["args"] == r"mapper.py foo\x5c\x2c\x20\x5cnbar", m["exec"]["args"])
    check(m["exec"]["path"] == "file://python2.7:python" and m["exec"]["name"] == "python", m)
    check(m["exec"]["env"] == {"LANG": "C.UTF-8", "LEVEL": "3"}, m["exec"])
    check("path" not in m and "args" not in m and "env" not in m, m)
    check(m["connect"] == ["reduce"] and m["devices"][2] == {"name": "input", "path": "swift://~/data/*.txt"}, m)
    check(r["exec"] == {"path": "swift://~/apps/bin/reducer", "args": "", "name": "bin/reducer"}, r)
    check(r["count"] == 2 and r["devices"] == [{"name": "stdout", "content_type": "text/plain"}], r)


@case
def bundle_errors():
    """bundle: no zapp.yaml, invalid keys (named), nothing matched, patterns leaving the project"""
    d = fresh("bundle3")
    p = zpm("bundle", cwd=d)
    expect(p, 1)
    check(p.stderr == "Error: no zapp.yaml file found\n", p.stderr)
    bad = [
        (BUNDLE_YAML.replace("      path: file://python2.7:python\n", ""),
         "'execution.groups[0].path' is missing"),
        (BUNDLE_YAML.replace('name: "mr"', "name: [1]"), "'meta.name' must be a string, not a list"),
        (BUNDLE_YAML.replace("count: 2", "count: 0"), "'execution.groups[1].count' must be at least 1"),
        (BUNDLE_YAML.replace("- name: python2.7", "- nam: python2.7"),
         "'execution.groups[0].devices[0].name' is missing"),
        (BUNDLE_YAML.replace("path: swift://~/apps/bin/reducer", "path: /bin/reducer"),
         "'execution.groups[1].path' must be file://"),
        (BUNDLE_YAML.replace('bar"\'', 'bar\''), "'execution.groups[0].args': no closing quotation"),
        ("execution: [", "zapp.yaml:2:"),
    ]
    for text, msg in bad:
        put(d, "zapp.yaml", text)
        p = zpm("bundle", cwd=d)
        expect(p, 1, msg + ": ")
        check(p.stderr.startswith("Error: ") and msg in p.stderr, "%r not in %r" % (msg, p.stderr))
    put(d, "zapp.yaml", BUNDLE_YAML)      # no file matches any pattern
    p = zpm("bundle", cwd=d)
    expect(p, 1)
    check("Error: no file matched the patterns of 'bundling' and 'ui'" in p.stderr, p.stderr)
    check(not os.path.exists(os.path.join(d, "mr.zapp")), "a zapp was left")
    put(d, "zapp.yaml", BUNDLE_YAML.replace('"lib"', '"../x"'))
    p = zpm("bundle", cwd=d)
    expect(p, 1)
    check("pattern '../x' in section 'bundling' leaves the project directory" in p.stderr, p.stderr)


@case
def bundle_dependencies():
    """bundle: Python dependencies are not fetched: a warning, and the bundle is made without them"""
    d = fresh("bundle4")
    project(d, HELLO_YAML + 'dependencies: ["requests", ["six", "1.9"]]\n', {"hello.py": "x\n"})
    p = zpm("bundle", cwd=d)
    expect(p, 0)
    check("'dependencies' (2) are not bundled" in p.stderr, p.stderr)
    check(members(os.path.join(d, "hello.zapp")) == ["boot/system.map", "zapp.yaml", "hello.py"], "members")


@case
def bundle_wordcount():
    """examples/wordcount: zpm bundle gives mapreduce.zapp whose system.map is job.json (plus exec.name)"""
    d = os.path.join(fresh("wordcount"), "app")
    shutil.copytree(EXAMPLE, d)
    for f in os.listdir(d):
        if f.endswith(".zapp"):
            os.unlink(os.path.join(d, f))
    p = zpm("bundle", cwd=d)
    expect(p, 0)
    check(p.stdout == "created mapreduce.zapp\n" and p.stderr == "", p.stdout + p.stderr)
    z = os.path.join(d, "mapreduce.zapp")
    check(members(z) == ["boot/system.map", "zapp.yaml", "mapper.py", "reducer.py"], members(z))
    got = json.loads(member(z, "boot/system.map"))
    want = json.load(open(os.path.join(EXAMPLE, "job.json")))
    for g in got:
        check(g["exec"].pop("name") == "python", g)
    check(got == want, "system.map %s\n!= job.json %s" % (json.dumps(got), json.dumps(want)))
    check(member(z, "mapper.py") == open(os.path.join(EXAMPLE, "mapper.py"), "rb").read(), "mapper.py")
    # Semantics: zvapp expands both into the same nodes.
    if not os.access(ZVAPP, os.X_OK):
        return "SKIP no zvapp for the --dry-run comparison"
    storage = os.path.join(os.path.dirname(d), "storage")
    for i in (1, 2, 3):
        put(storage, "local/mapreduce-data/mrdata%d.txt" % i, open(os.path.join(EXAMPLE, "mrdata%d.txt" % i)).read())
    put(os.path.dirname(d), "map.json", member(z, "boot/system.map"))
    runs = []
    for job in (os.path.join(os.path.dirname(d), "map.json"), os.path.join(EXAMPLE, "job.json")):
        r = subprocess.run([ZVAPP, "--dry-run", "--storage", storage, job], capture_output=True, text=True,
                           timeout=60)
        check(r.returncode == 0, "zvapp --dry-run %s: %s" % (job, r.stderr))
        runs.append(json.loads(r.stdout))
    check(runs[0] == runs[1], "nodes differ:\n%s\n%s" % (runs[0], runs[1]))
    check([n["name"] for n in runs[0]] == ["map-1", "map-2", "map-3", "reduce"], runs[0])


# --- auth -----------------------------------------------------------------------

@case
def auth_message_is_the_seeds():
    """auth with no settings: the seed's NO_AUTH_MSG verbatim after 'Error: ', exit 1"""
    if os.path.exists(SEED_001):
        m = re.search(r"NO_AUTH_MSG = ('.*')$", open(SEED_001).read(), re.M)
        check(m and ast.literal_eval(m.group(1)) == NO_AUTH_MSG, "the test's copy differs from the seed")
    for args, env in ([["auth"], clean_env()],
                      [["auth", "-A", "http://x/auth"], clean_env()],            # incomplete v1
                      [["auth", "-V", "2"], clean_env(ST_AUTH="a", ST_USER="u", ST_KEY="k")]):
        p = zpm(*args, env=env)
        expect(p, 1, "%r: " % args)
        check(p.stderr == "Error: " + NO_AUTH_MSG + "\n", repr(p.stderr))
    p = zpm("auth", "-V", "3", env=clean_env())
    expect(p, 1)
    check("unknown auth version '3'" in p.stderr, p.stderr)


@case
def auth_versions():
    """auth: v1.0 and v2.0 from the environment or flags; the guess: both -> 1.0, flags before environment"""
    s = swift()
    v1_flags = ["-A", s.url + "/auth/v1.0", "-U", "test:tester", "-K", "testing"]
    v2_flags = ["--os-auth-url", s.url + "/v2.0", "--os-tenant-name", "test", "--os-username", "tester",
                "--os-password", "testing"]
    both = dict(s.v1_env())
    both.update({k: v for k, v in s.v2_env().items() if k.startswith("OS_")})
    cases = [
        ("v1 env", [], s.v1_env(), "AUTH_tkv1"),
        ("v2 env", [], s.v2_env(), "AUTH_tkv2"),
        ("both env", [], both, "AUTH_tkv1"),
        ("v1 flags", v1_flags, clean_env(), "AUTH_tkv1"),
        ("v2 flags", v2_flags, clean_env(), "AUTH_tkv2"),
        ("v2 flags over v1 env", v2_flags, s.v1_env(), "AUTH_tkv2"),
        ("v1 flags over v2 env", v1_flags, s.v2_env(), "AUTH_tkv1"),
        ("-A flag with ST_USER/ST_KEY", ["-A", s.url + "/auth/v1.0"],
         clean_env(ST_USER="test:tester", ST_KEY="testing"), "AUTH_tkv1"),
        ("-V 2 with both", ["-V", "2.0"], both, "AUTH_tkv2"),
        ("--key overrides ST_KEY", ["--key", "testing"], dict(s.v1_env(), ST_KEY="wrong"), "AUTH_tkv1"),
    ]
    for what, flags, env, token in cases:
        p = zpm("auth", *flags, env=env)
        expect(p, 0, what + ": ")
        check(p.stdout == "Auth token: %s\nStorage URL: %s\n" % (token, s.storage), what + ": " + p.stdout)
    p = zpm("auth", env=dict(s.v1_env(), ST_KEY="wrong"))
    expect(p, 1)
    check(p.stderr == "Error: authentication failed: 401 Unauthorized: Unauthorized\n", p.stderr)
    p = zpm("auth", env=clean_env(ST_AUTH="http://127.0.0.1:1/auth/v1.0", ST_USER="u", ST_KEY="k"))
    expect(p, 1)
    check(p.stderr.startswith("Error: authentication failed: GET http://127.0.0.1:1/auth/v1.0 failed"),
          p.stderr)


# --- deploy ---------------------------------------------------------------------

@case
def deploy_new_container():
    """deploy: creates the container, uploads the tar uncompressed and boot/system.map with the image device"""
    s = swift()
    d, z = hello_zapp()
    p = zpm("deploy", "hello-app", z, env=s.v1_env())
    expect(p, 0)
    check(p.stdout == "app deployed to %s/hello-app/\n" % s.storage, p.stdout)
    c = s.containers.get("hello-app")
    check(c is not None and sorted(c) == ["boot/system.map", "hello.zapp"], c and sorted(c))
    ctype, data = c["hello.zapp"]
    check(ctype == "application/x-tar", ctype)
    check(data == gzip.decompress(open(z, "rb").read()), "the tar is not the zapp uncompressed")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as t:
        check(t.getnames() == ["boot/system.map", "zapp.yaml", "hello.py"], t.getnames())
    ctype, data = c["boot/system.map"]
    check(ctype == "application/json", ctype)
    job = json.loads(data)
    check(job[0]["devices"][-1] == {"name": "image", "path": "swift://AUTH_test/hello-app/hello.zapp"}, job)
    check(job[0]["devices"][:-1] == [{"name": "python2.7"}, {"name": "stdout"}], job)
    check([r[0] for r in s.requests()][:4] == ["GET", "HEAD", "PUT", "PUT"], [r[:2] for r in s.requests()])


@case
def deploy_non_empty():
    """deploy: a non-empty container is refused without --force (the spec's message); --force deploys"""
    s = swift()
    d, z = hello_zapp()
    s.containers["busy"] = {"other": ("text/plain", b"x")}
    p = zpm("deploy", "busy", z, env=s.v1_env())
    expect(p, 1)
    check(p.stderr == "Error: Target container ('busy') is not empty. Deploying to a non-empty container can "
          "cause consistency problems with overwritten objects. Specify the flag `--force/-f` to "
          "overwrite anyway.\n", p.stderr)
    check(sorted(s.containers["busy"]) == ["other"], "something was uploaded")
    p = zpm("deploy", "--force", "busy", z, env=s.v1_env())
    expect(p, 0)
    check(sorted(s.containers["busy"]) == ["boot/system.map", "hello.zapp", "other"], s.containers["busy"])
    # an empty existing container needs no --force; a prefix goes into the paths
    s.containers["empty"] = {}
    p = zpm("deploy", "empty/v1/", z, env=s.v1_env())
    expect(p, 0)
    check(sorted(s.containers["empty"]) == ["v1/boot/system.map", "v1/hello.zapp"], s.containers["empty"])
    job = json.loads(s.containers["empty"]["v1/boot/system.map"][1])
    check(job[0]["devices"][-1]["path"] == "swift://AUTH_test/empty/v1/hello.zapp", job)
    p = zpm("deploy", "x", os.path.join(d, "hello.py"), env=s.v1_env())
    expect(p, 1)
    check(p.stderr.startswith("Error: ") and "hello.py" in p.stderr, p.stderr)
    expect(zpm("deploy", "only-target", env=s.v1_env()), 2)


@case
def deploy_ui_without_credentials():
    """deploy: UI files uploaded, .tmpl rendered with zapp meta and storage URL, never the credentials"""
    s = swift()
    d, z = hello_zapp("ui-app", ui=True)
    check(members(z) == ["boot/system.map", "zapp.yaml", "hello.py", "index.html.tmpl", "style.css"], members(z))
    p = zpm("deploy", "web", z, env=s.v1_env())
    expect(p, 0)
    check(p.stdout == "app deployed to %s/web/index.html\n" % s.storage, p.stdout)
    c = s.containers["web"]
    check(sorted(c) == ["boot/system.map", "hello.zapp", "index.html", "style.css"], sorted(c))
    ctype, html = c["index.html"]
    html = html.decode()
    check(ctype == "text/html", ctype)
    check("<title>hello</title>" in html and "<p>says hello</p>" in html, html)
    check('var storage = "%s";' % s.storage in html, html)
    check('var args = [["name","Your name"]];' in html, html)
    check("tester" not in html and "testing" not in html and "AUTH_tk" not in html, "credentials in " + html)
    check("var user = ''; var key = '';" in html, html)
    check("'auth_opts.key' is not written into UI files" in p.stderr, p.stderr)
    check(c["style.css"] == ("text/css", b"body { color: black; }\n"), c["style.css"])


# --- execute --------------------------------------------------------------------

@case
def execute_zapp():
    """execute ZAPP: POSTs the tar with X-Auth-Token and X-Zerovm-Execute: 1.0, prints the job's output"""
    s = swift()
    d, z = hello_zapp()
    s.job = (200, HELLO_HEADERS, b"Hello from ZeroVM!\n")
    p = zpm("execute", z, env=s.v1_env())
    expect(p, 0)
    check(p.stdout == "Hello from ZeroVM!\n", p.stdout)
    posts = s.requests("POST")
    check(len(posts) == 1, posts)
    _, path, _, headers, body = posts[0]
    check(path == "/v1/AUTH_test", path)
    check(headers.get("X-Auth-Token") == "AUTH_tkv1" and headers.get("X-Zerovm-Execute") == "1.0", headers)
    check(headers.get("Content-Type") == "application/x-tar", headers)
    check(body == gzip.decompress(open(z, "rb").read()), "the body is not the zapp's tar")


@case
def execute_summary():
    """execute -s: the summary table from X-Nexe-* (the spec's example row and total), then the output"""
    s = swift()
    d, z = hello_zapp()
    s.job = (200, HELLO_HEADERS, b"Hello from ZeroVM!\n")
    p = zpm("execute", "--summary", z, env=s.v2_env())
    expect(p, 0)
    rows, total, rest = parse_summary(p.stdout)
    check(p.stdout.startswith("Execution summary:\n"), p.stdout)
    check(rows == {"hello": "hello ok 0 3.913 0.11 3.37 1025 75943644 2 20 0 0 0 0".split()}, rows)
    check(total == "3.920", total)
    check(rest == "Hello from ZeroVM!\n", repr(rest))
    # several nodes, one failing: the output is printed, then the error; exit 1
    s.job = (200, {"X-Nexe-System": "map-1,map-2,reduce", "X-Nexe-Status": "ok,ok,ok",
                   "X-Nexe-Retcode": "0,0,3",
                   "X-Nexe-Cdr-Line": "1.500, 0.500, 0.01 0.02 1 10 1 5 0 0 0 0,0.600, 0.03 0.04 2 20 2 6 0 0 0 0,"
                                      "0.700, 0.05 0.06 3 30 3 7 1 2 3 4"}, b"partial\n")
    p = zpm("execute", "-s", z, env=s.v1_env())
    expect(p, 1)
    rows, total, rest = parse_summary(p.stdout)
    check(rows["map-2"] == "map-2 ok 0 0.600 0.03 0.04 2 20 2 6 0 0 0 0".split(), rows)
    check(rows["reduce"] == "reduce ok 3 0.700 0.05 0.06 3 30 3 7 1 2 3 4".split(), rows)
    check(total == "1.500" and rest == "partial\n", (total, rest))
    check(p.stderr == "Error: the job failed: node 'reduce' ended 'ok' with return code 3\n", p.stderr)


@case
def execute_container():
    """execute --container C: fetches C/boot/system.map and POSTs it as JSON"""
    s = swift()
    d, z = hello_zapp()
    expect(zpm("deploy", "app", z, env=s.v1_env()), 0)
    stored = s.containers["app"]["boot/system.map"][1]
    s.job = (200, HELLO_HEADERS, b"Hello from ZeroVM!\n")
    p = zpm("execute", "hello.zapp", "--container", "app", env=s.v1_env())
    expect(p, 0)
    check(p.stdout == "Hello from ZeroVM!\n", p.stdout)
    _, _, _, headers, body = s.requests("POST")[0]
    check(headers.get("Content-Type") == "application/json" and body == stored, (headers, body))
    p = zpm("execute", "hello.zapp", "--container", "nothing-here", env=s.v1_env())
    expect(p, 1)
    check(p.stderr.startswith("Error: cannot fetch 'nothing-here/boot/system.map': 404 Not Found"), p.stderr)
    # deploy --execute -s: deploy, then execute from the container
    s.containers.clear()
    p = zpm("deploy", "app2", z, "--execute", "-s", env=s.v1_env())
    expect(p, 0)
    check(p.stdout.startswith("app deployed to %s/app2/\nExecution summary:\n" % s.storage), p.stdout)
    check(p.stdout.endswith("Total time: 3.920\nHello from ZeroVM!\n"), p.stdout)


@case
def execute_errors():
    """execute: an HTTP error is 'Error: execution failed: ...' and exit 1; a local non-zapp is refused"""
    s = swift()
    d, z = hello_zapp()
    s.job = (400, {"X-Nexe-Error": "bad map"}, b"Must specify node name\n")
    p = zpm("execute", z, env=s.v1_env())
    expect(p, 1)
    check(p.stderr == "Error: execution failed: 400 Bad Request: Must specify node name: bad map\n", p.stderr)
    check(p.stdout == "", p.stdout)
    s.reset()
    p = zpm("execute", os.path.join(d, "hello.py"), env=s.v1_env())
    expect(p, 1)
    check(p.stderr.startswith("Error: cannot read the zapp '") and "hello.py" in p.stderr, p.stderr)
    check(not s.requests(), "a request was sent")
    p = zpm("execute", os.path.join(d, "missing.zapp"), env=s.v1_env())
    expect(p, 1)
    expect(zpm("execute", env=s.v1_env()), 2)


@case
def execute_hostile_zapps():
    """execute: a zapp with a hostile member is refused, naming the member, before any request"""
    s = swift()
    d = fresh("hostile-zapps")

    def zapp(name, *infos):
        path = os.path.join(d, name)
        with tarfile.open(path, "w:gz") as t:
            t.addfile(tarfile.TarInfo("zapp.yaml"), io.BytesIO(b""))
            for info in infos:
                t.addfile(info, io.BytesIO(b"x" * info.size) if info.isfile() else None)
        return path

    def info(name, **kw):
        i = tarfile.TarInfo(name)
        for k, v in kw.items():
            setattr(i, k, v)
        return i

    cases = [
        ("dotdot.zapp", [info("../evil", size=1)], "member '../evil' climbs out of the image"),
        ("abs.zapp", [info("/etc/evil", size=1)], "member '/etc/evil' is absolute"),
        ("dev.zapp", [info("dev/null", type=tarfile.CHRTYPE, devmajor=1, devminor=3)],
         "member 'dev/null' is a character device"),
        ("link.zapp", [info("etc", type=tarfile.SYMTYPE, linkname="/etc")],
         "symlink 'etc' -> '/etc': target is absolute"),
        ("hard.zapp", [info("h", type=tarfile.LNKTYPE, linkname="../x")],
         "hardlink 'h' -> '../x': target climbs out of the image"),
    ]
    for name, infos, want in cases:
        z = zapp(name, *infos)
        p = zpm("execute", z, env=s.v1_env())
        expect(p, 1, name)
        check(p.stderr == "Error: cannot read the zapp '%s': %s\n" % (z, want), p.stderr)
    check(not s.requests(), "a request was sent")


def main():
    failed = run(ONLY)
    shutil.rmtree(WORK, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
