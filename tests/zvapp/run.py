#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""zvapp's suite: jobs run end to end through the zvapp binary (and so
libzvmjob and zerovm).  Prints TAP.

Environment:
  ZVAPP               the zvapp binary (default: <repo>/build/src/cli/zvapp)
  ZEROVM              the zerovm binary (default: next to zvapp)
  WORDCOUNT_WASM_DIR  mapper.wasm and reducer.wasm of examples/wordcount/wasm
                      (built by meson); empty: the wasm case is skipped
  ZVAPP_ONLY          optional substring: run only the cases whose name has it

Every zvapp run is bounded (OUTER seconds) so that a hang is a failure, not
a stuck suite; no case asserts how long anything took.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from taprun import Fail, case, check, run  # noqa: E402  (the shared harness)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
ZVAPP = os.path.abspath(os.environ.get("ZVAPP") or os.path.join(REPO, "build", "src", "cli", "zvapp"))
ZEROVM = os.path.abspath(os.environ.get("ZEROVM") or os.path.join(os.path.dirname(ZVAPP), "zerovm"))
WASM_DIR = os.environ.get("WORDCOUNT_WASM_DIR", "")
ONLY = os.environ.get("ZVAPP_ONLY", "")
EXAMPLE = os.path.join(REPO, "examples", "wordcount")
OUTER = 240

WORDCOUNT = (" 104 mapreduce-data/mrdata1.txt\n"
             " 101 mapreduce-data/mrdata2.txt\n"
             "  69 mapreduce-data/mrdata3.txt\n"
             " 274 total\n")

WORK = tempfile.mkdtemp(prefix="zvapp-test-", dir="/tmp")
os.chmod(WORK, 0o755)

COLUMNS = ["Node", "Status", "Retcode", "NodeT", "SysT", "UserT", "DiskReads", "DiskBytesR",
           "DiskWrites", "DiskBytesW", "NetworkReads", "NetworkBytesR", "NetworkWrites",
           "NetworkBytesW"]





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


def app(root, job, files):
    """An app directory: boot/system.map and the given files."""
    d = os.path.join(root, "app")
    put(d, "boot/system.map", json.dumps(job) if not isinstance(job, str) else job)
    for name, text in files.items():
        put(d, name, text)
    return d


def zvapp(*args, timeout=OUTER):
    cmd = [ZVAPP, "--zerovm", ZEROVM] + [str(a) for a in args]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Fail("zvapp did not finish within %d s (hang): %s" % (timeout, " ".join(cmd)))
    return p


def py(name, args=""):
    """A group running a python script of the app."""
    return {"name": name, "exec": {"path": "file://python3:python3", "args": (name + ".py " + args).strip()}}


def parse_output(out):
    """Reports (name -> dict), summary rows (name -> dict), and the rest."""
    lines = out.split("\n")
    reports, rows, i = {}, {}, 0
    while i < len(lines) and lines[i].startswith("Node: "):
        m = re.match(r"Node: (\S+) id: (\d+)$", lines[i])
        check(m, "report header: %r" % lines[i])
        acct = lines[i + 5].split()
        reports[m.group(1)] = {"id": int(m.group(2)), "validator": lines[i + 1],
                               "daemon": lines[i + 2], "rc": int(lines[i + 3]),
                               "etags": lines[i + 4], "acct": acct, "state": lines[i + 6]}
        i += 7
    check(i < len(lines) and lines[i] == "Execution summary:", "no summary after the reports")
    head = lines[i + 1].split()
    check(head == COLUMNS, "summary columns: %r" % head)
    i += 2
    while not lines[i].startswith("Total time: "):
        cells = re.split(r"\s{2,}", lines[i].strip())
        check(len(cells) == len(COLUMNS), "summary row: %r" % lines[i])
        rows[cells[0]] = dict(zip(COLUMNS, cells))
        i += 1
    check(re.match(r"Total time: \d+\.\d{3}$", lines[i]), "total time line: %r" % lines[i])
    return reports, rows, "\n".join(lines[i + 1:])


# --- the seed's MapReduce wordcount ---------------------------------------

@case
def wordcount_python():
    """examples/wordcount (python mapper/reducer) prints the seed's result"""
    env = dict(os.environ, ZVAPP=ZVAPP, ZEROVM=ZEROVM)
    p = subprocess.run([os.path.join(EXAMPLE, "run.sh")], capture_output=True, text=True,
                       env=env, timeout=OUTER)
    check(p.returncode == 0, "run.sh exit %d: %s" % (p.returncode, p.stderr))
    check(p.stdout == WORDCOUNT, "output %r" % p.stdout)


@case
def wordcount_wasm():
    """examples/wordcount with the C mapper/reducer (wasm) prints the same"""
    if not WASM_DIR:
        return "SKIP mapper.wasm/reducer.wasm not built (no clang for wasm32-wasi)"
    env = dict(os.environ, ZVAPP=ZVAPP, ZEROVM=ZEROVM, WORDCOUNT_WASM_DIR=WASM_DIR)
    p = subprocess.run([os.path.join(EXAMPLE, "run.sh"), "--wasm"], capture_output=True,
                       text=True, env=env, timeout=600)
    check(p.returncode == 0, "run.sh --wasm exit %d: %s" % (p.returncode, p.stderr))
    check(p.stdout == WORDCOUNT, "output %r" % p.stdout)


@case
def wordcount_full_output():
    """wordcount: reports, then the summary, then the immediate output; the
    table's numbers are the reports' (and their sums agree)"""
    d = fresh("wcfull")
    for i in (1, 2, 3):
        shutil.copy(os.path.join(EXAMPLE, "mrdata%d.txt" % i), put(d, "storage/local/mapreduce-data/x", ""))
        os.rename(os.path.join(d, "storage/local/mapreduce-data/x"),
                  os.path.join(d, "storage/local/mapreduce-data/mrdata%d.txt" % i))
    a = app(d, open(os.path.join(EXAMPLE, "job.json")).read(),
            {"mapper.py": open(os.path.join(EXAMPLE, "mapper.py")).read(),
             "reducer.py": open(os.path.join(EXAMPLE, "reducer.py")).read()})
    p = zvapp("--storage", os.path.join(d, "storage"), a)
    check(p.returncode == 0, "exit %d: %s" % (p.returncode, p.stderr))
    reports, rows, rest = parse_output(p.stdout)
    check(list(reports) == ["map-1", "map-2", "map-3", "reduce"], "nodes %r" % list(reports))
    check([r["id"] for r in reports.values()] == [1, 2, 3, 4], "ids")
    check(list(rows) == list(reports), "table rows in node order")
    check(rest == WORDCOUNT, "immediate output %r" % rest)
    sums = [0] * 8
    for name, r in reports.items():
        row = rows[name]
        check(r["state"] == "ok" and row["Status"] == "ok", "state of %s" % name)
        check(int(row["Retcode"]) == r["rc"] == 0, "retcode of %s" % name)
        check(row["SysT"] == r["acct"][0] and row["UserT"] == r["acct"][1], "times of %s" % name)
        for k in range(8):
            check(int(row[COLUMNS[6 + k]]) == int(r["acct"][2 + k]), "%s of %s" % (COLUMNS[6 + k], name))
            sums[k] += int(row[COLUMNS[6 + k]])
    # Each mapper read its object; each wrote one line; the reducer read them all.
    sizes = [os.path.getsize(os.path.join(EXAMPLE, "mrdata%d.txt" % i)) for i in (1, 2, 3)]
    for i in (1, 2, 3):
        check(int(rows["map-%d" % i]["DiskBytesR"]) >= sizes[i - 1], "map-%d read its object" % i)
    mapped = sum(int(rows["map-%d" % i]["DiskBytesW"]) for i in (1, 2, 3))
    check(int(rows["reduce"]["DiskBytesR"]) >= mapped, "reducer read what the mappers wrote")
    check(int(rows["reduce"]["DiskBytesW"]) == len(WORDCOUNT), "reducer wrote the result")
    check(sums[1] == sum(int(r["acct"][3]) for r in reports.values()), "sum of bytes read")


# --- dry run: count, wildcards, connect ----------------------------------

@case
def dry_run_expansion():
    """--dry-run: count, wildcard inputs in listing order, wildcard outputs, connect"""
    d = fresh("dry")
    for n in ("b", "a", "c"):
        put(d, "storage/acct/data/in-%s.txt" % n, n)
    put(d, "storage/acct/data/other.bin", "x")
    job = [
        {"name": "map", "exec": {"path": "file://python3:python3", "args": "m.py"},
         "devices": [{"name": "input", "path": "swift://~/data/in-*.txt"},
                     {"name": "output", "path": "swift://~/out/res-*.txt"}],
         "connect": ["red"]},
        {"name": "red", "count": 2, "exec": {"path": "file://python3:python3"},
         "devices": [{"name": "stdout", "path": "swift://~/out/log-*"}], "connect": ["one"]},
        {"name": "one", "exec": {"path": "file://python2.7:python", "env": {"K": "v"}},
         "devices": [{"name": "stdin", "path": "swift://acct/data/other.bin"}]},
    ]
    jf = put(d, "job.json", json.dumps(job))
    p = zvapp("--storage", os.path.join(d, "storage"), "--account", "acct", "--dry-run", jf)
    check(p.returncode == 0, "exit %d: %s" % (p.returncode, p.stderr))
    nodes = json.loads(p.stdout)
    names = [n["name"] for n in nodes]
    check(names == ["map-1", "map-2", "map-3", "red-1", "red-2", "one"], "names %r" % names)
    check([n["id"] for n in nodes] == [1, 2, 3, 4, 5, 6], "ids")
    ins = [n["devices"][0]["path"] for n in nodes[:3]]
    check(ins == ["swift://acct/data/in-%s.txt" % c for c in "abc"], "inputs %r" % ins)
    outs = [n["devices"][1]["path"] for n in nodes[:3]]
    check(outs == ["swift://acct/out/res-%s.txt" % c for c in "abc"], "outputs take the capture %r" % outs)
    logs = [n["devices"][0]["path"] for n in nodes[3:5]]
    check(logs == ["swift://acct/out/log-red-1", "swift://acct/out/log-red-2"], "outputs take the node name %r" % logs)
    for n in nodes[:3]:
        check(n["connect"] == ["red-1", "red-2"], "map connects to every red node")
        check(n["attach"] == "input", "map attached to its input")
    for n in nodes[3:5]:
        check(n["in"] == ["map-1", "map-2", "map-3"], "red reads every map node")
        check(n["connect"] == ["one"], "red connects to one")
    check(nodes[5]["in"] == ["red-1", "red-2"], "one reads both red nodes")
    check(nodes[5]["exec"]["name"] == "python" and nodes[5]["exec"]["env"] == {"K": "v"}, "exec of one")
    check(not os.path.exists(os.path.join(d, "storage/acct/out")), "a dry run writes nothing")


@case
def connect_to_node_and_self():
    """connect names a node or a group; a node never connects to itself"""
    d = fresh("conn")
    job = [{"name": "w", "count": 2, "exec": {"path": "file://python3:python3"}, "connect": ["w", "x-2"]},
           {"name": "x", "count": 2, "exec": {"path": "file://python3:python3"}}]
    p = zvapp("--storage", d, "-n", put(d, "j.json", json.dumps(job)))
    check(p.returncode == 0, p.stderr)
    nodes = {n["name"]: n for n in json.loads(p.stdout)}
    check(nodes["w-1"]["connect"] == ["w-2", "x-2"], "w-1: %r" % nodes["w-1"]["connect"])
    check(nodes["w-2"]["connect"] == ["w-1", "x-2"], "w-2: %r" % nodes["w-2"]["connect"])
    check(nodes["x-1"]["in"] == [], "x-1 reads nothing")


# --- job errors: the seed's messages --------------------------------------

ERRORS = [
    ("[]", "Config parser cannot resolve any job nodes"),
    ('[{"exec": {"path": "file://python3:python3"}}]', "Must specify node name"),
    ('[{"name": "a"}]', "Must specify exec stanza for a"),
    ('[{"name": "a", "exec": {}}]', "Must specify executable path for a"),
    ('[{"name": "a", "exec": {"path": "http://x/y"}}]', "Invalid path http://x/y in a"),
    ('[{"name": "a", "exec": {"path": "file://python3:python3"}, "devices": '
     '[{"name": "input", "path": "swift://~/c/../x"}]}]', "Invalid path swift://~/c/../x in a"),
    ('[{"name": "a", "exec": {"path": "file://nosuchimage:x"}}]', "Invalid path file://nosuchimage:x in a"),
    ('[{"name": "a", "exec": {"path": "file://python3:python3"}, "devices": '
     '[{"name": "input", "path": "swift://~/data/zz*"}]}]', "No objects found in path swift://~/data/zz*"),
    ('[{"name": "a", "exec": {"path": "file://python3:python3"}, "devices": '
     '[{"name": "input", "path": "swift://~/nocontainer/*"}]}]', "No objects found in path swift://~/nocontainer/*"),
    ('[{"name": "a", "exec": {"path": "file://python3:python3"}, "devices": '
     '[{"name": "input", "path": "swift://~/data/missing"}]}]', "Error 404 Not Found while fetching /local/data/missing"),
    ('[{"name": "a", "exec": {"path": "file://python3:python3"}, "devices": '
     '[{"name": "floppy"}]}]', "Unknown device floppy in a"),
    ('[{"name": "a", "exec": {"path": "file://python3:python3"}, "connect": ["b"]}]', "Invalid connect b in a"),
]


@case
def job_errors():
    """each job error gives the seed's message, exit 1, and runs nothing"""
    d = fresh("errors")
    put(d, "storage/local/data/x.txt", "x")
    for i, (job, msg) in enumerate(ERRORS):
        p = zvapp("--storage", os.path.join(d, "storage"), put(d, "e%d.json" % i, job))
        check(p.returncode == 1, "%s: exit %d" % (msg, p.returncode))
        check(("zvapp: " + msg) in p.stderr, "expected %r, got %r" % (msg, p.stderr))
        check(p.stdout == "", "%s: nothing on stdout: %r" % (msg, p.stdout))


@case
def input_kinds():
    """input: an app dir, a JSON job, a tar with boot/system.map; anything else is refused"""
    d = fresh("kinds")
    job = [dict(py("hello"), devices=[{"name": "stdout"}])]
    a = app(d, job, {"hello.py": "import os\nprint('hello from', sorted(os.listdir('/boot')))\n"})
    for arg in (a,):
        p = zvapp("-q", "--storage", d, arg)
        check(p.returncode == 0 and p.stdout == "hello from ['system.map']\n", "dir: %r %r" % (p.stdout, p.stderr))
    tar = os.path.join(d, "app.tar")
    with tarfile.open(tar, "w") as t:
        t.add(a, arcname=".")
    p = zvapp("-q", "--storage", d, tar)
    check(p.returncode == 0 and p.stdout == "hello from ['system.map']\n", "tar: %r %r" % (p.stdout, p.stderr))
    jj = [{"name": "j", "exec": {"path": "file://python3:python3", "args": "-c print(6*7)"},
           "devices": [{"name": "stdout"}]}]
    p = zvapp("-q", "--storage", d, put(d, "job.json", json.dumps(jj)))
    check(p.returncode == 0 and p.stdout == "42\n", "json: %r %r" % (p.stdout, p.stderr))
    for bad in (put(d, "garbage.txt", "this is not a job\n"), os.path.join(d, "missing"),
                fresh("kinds/emptydir")):
        p = zvapp("--storage", d, bad)
        check(p.returncode == 1 and ("Cannot parse the input file " + bad) in p.stderr,
              "%s: %d %r" % (bad, p.returncode, p.stderr))
    tar2 = os.path.join(d, "nomap.tar")
    with tarfile.open(tar2, "w") as t:
        t.add(os.path.join(a, "hello.py"), arcname="hello.py")
    p = zvapp("--storage", d, tar2)
    check(p.returncode == 1 and "Cannot parse the input file" in p.stderr, "tar without map: %r" % p.stderr)


@case
def args_env_local():
    """exec.args (nvram escapes), exec.env, LOCAL_* of the attached object, argv[0]"""
    d = fresh("argsenv")
    put(d, "storage/local/c/obj.txt", "12345")
    job = [{"name": "e", "exec": {"path": "file://python2.7:python", "args": r"e.py a\x20b c\x2cd",
                                  "env": {"GREETING": "hi there", "EQ": "a=b"}},
            "devices": [{"name": "stdout"}, {"name": "stdin", "path": "swift://~/c/obj.txt"}]}]
    src = ("import os, sys\n"
           "print(sys.argv)\n"
           "print(os.environ['GREETING'], os.environ['EQ'])\n"
           "print(os.environ['LOCAL_OBJECT'], os.environ['LOCAL_PATH_INFO'],"
           " os.environ['LOCAL_CONTENT_LENGTH'], os.environ['LOCAL_CONTENT_TYPE'])\n"
           "print(sys.stdin.read())\n")
    a = app(d, job, {"e.py": src})
    p = zvapp("-q", "--storage", os.path.join(d, "storage"), a)
    check(p.returncode == 0, p.stderr)
    want = ("['e.py', 'a b', 'c,d']\nhi there a=b\non /local/c/obj.txt 5 text/plain\n12345\n")
    check(p.stdout == want, "got %r" % p.stdout)


@case
def sysimages_option():
    """--sysimages names system images; the name picks the image, the part after ':' is argv[0]"""
    d = fresh("sysimg")
    table = put(d, "images", "# mine\nsnake = /usr/bin/python3\n")
    job = [{"name": "s", "exec": {"path": "file://snake:serpent", "args": "-c import\\x20sys;print(sys.argv[0]\\x20if\\x20sys.argv[0]\\x20else\\x20'-c')"},
            "devices": [{"name": "stdout"}]}]
    jf = put(d, "j.json", json.dumps(job))
    p = zvapp("-q", "--storage", d, "--sysimages", table, jf)
    check(p.returncode == 0 and p.stdout == "-c\n", "custom image: %r %r" % (p.stdout, p.stderr))
    p = zvapp("-q", "--storage", d, "--sysimages", table,
              put(d, "k.json", json.dumps([{"name": "s", "exec": {"path": "file://python3:python3"}}])))
    check(p.returncode == 1 and "Invalid path file://python3:python3 in s" in p.stderr,
          "a replaced table has no python3: %r" % p.stderr)


# --- streams: nobody is left blocked ---------------------------------------

@case
def early_exit_writer():
    """a writer that exits at once (never opening its stream): the reader sees end of data"""
    d = fresh("early_w")
    job = [dict(py("w"), connect=["r"]), dict(py("r"), devices=[{"name": "stdout"}])]
    a = app(d, job, {"w.py": "import sys\nsys.exit(0)\n",
                     "r.py": "data = open('/dev/in/w').read()\nprint('got %d bytes' % len(data))\n"})
    p = zvapp("-q", "--storage", d, a)
    check(p.returncode == 0 and p.stdout == "got 0 bytes\n", "%d %r %r" % (p.returncode, p.stdout, p.stderr))


@case
def early_exit_reader():
    """a reader that exits at once: the writer (8 MiB into its stream) is not blocked; the job fails"""
    d = fresh("early_r")
    put(d, "storage/local/out/keep.txt", "old\n")
    job = [dict(py("w"), connect=["r"], devices=[{"name": "output", "path": "swift://~/out/keep.txt"}]),
           dict(py("r"))]
    a = app(d, job, {"w.py": "open('/dev/output','w').write('new\\n')\n"
                             "f = open('/dev/out/r', 'w')\n"
                             "for i in range(128): f.write('x' * 65536)\n"
                             "f.close()\n",
                     "r.py": "import sys\nsys.exit(3)\n"})
    p = zvapp("--storage", os.path.join(d, "storage"), a)
    check(p.returncode == 1, "exit %d: %s" % (p.returncode, p.stderr))
    reports, rows, _ = parse_output(p.stdout)
    check(reports["r"]["rc"] == 3, "reader's return code %r" % reports["r"]["rc"])
    check(open(os.path.join(d, "storage/local/out/keep.txt")).read() == "old\n", "existing object kept")
    check(os.listdir(os.path.join(d, "storage/local/out")) == ["keep.txt"], "no temporary left")


@case
def dead_writer_blocked_reader():
    """a writer whose program cannot start at all: its reader, blocked opening the stream, is released"""
    d = fresh("deadw")
    put(d, "storage/local/bin/notaprogram", "just text\n")
    job = [{"name": "w", "exec": {"path": "swift://~/bin/notaprogram"}, "connect": ["r"]},
           dict(py("r"), devices=[{"name": "stdout"}])]
    a = app(d, job, {"r.py": "print(len(open('/dev/in/w').read()))\n"})
    p = zvapp("--storage", os.path.join(d, "storage"), a)
    check(p.returncode == 1, "exit %d" % p.returncode)
    reports, rows, rest = parse_output(p.stdout)
    check(reports["r"]["state"] == "ok" and rest == "0\n", "reader: %r %r" % (reports["r"], rest))
    check(reports["w"]["state"] != "ok", "writer: %r" % reports["w"])


@case
def pipeline_larger_than_jobs():
    """--jobs 1 with a pipeline of 4 nodes: the component starts whole, no deadlock"""
    d = fresh("pipe")
    job = [dict(py("src"), count=3, connect=["sink"]), dict(py("sink"), devices=[{"name": "stdout"}])]
    a = app(d, job, {"src.py": "import os\nf = open('/dev/out/sink', 'w')\n"
                               "f.write(os.environ.get('N', 'x') * 200000)\nf.close()\n",
                     "sink.py": "import os\nprint(sorted((n, len(open('/dev/in/' + n).read())) for n in os.listdir('/dev/in')))\n"})
    p = zvapp("-q", "--jobs", "1", "--storage", d, a)
    want = "[('src-1', 200000), ('src-2', 200000), ('src-3', 200000)]\n"
    check(p.returncode == 0 and p.stdout == want, "%d %r %r" % (p.returncode, p.stdout, p.stderr))


@case
def many_independent_nodes():
    """10 independent nodes with --jobs 2: all run, immediate outputs in node order"""
    d = fresh("many")
    job = [dict(py("n"), count=10, devices=[{"name": "stdout"}])]
    a = app(d, job, {"n.py": "import sys\nprint(sys.argv[0], end=' ')\n"})
    p = zvapp("--jobs", "2", "--storage", d, a)
    check(p.returncode == 0, p.stderr)
    reports, rows, rest = parse_output(p.stdout)
    check(list(rows) == ["n-%d" % i for i in range(1, 11)], "rows %r" % list(rows))
    check(rest == "n.py " * 10, "outputs %r" % rest)


# --- outputs: atomic, only for a successful job ---------------------------

@case
def outputs_atomic():
    """an output appears only when the job succeeded, and not before the job ends"""
    d = fresh("atomic")
    st = os.path.join(d, "storage")
    target = put(st, "local/out/result.txt", "old\n")
    job = [dict(py("w"), devices=[{"name": "output", "path": "swift://~/out/result.txt"},
                                  {"name": "stdout", "path": "swift://~/out/stdout-*.txt"}])]
    a = app(d, job, {"w.py": "import time\nopen('/dev/output','w').write('new\\n')\n"
                             "print('done')\ntime.sleep(2)\n"})
    proc = subprocess.Popen([ZVAPP, "--zerovm", ZEROVM, "-q", "--storage", st, a],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen_during = []
    while proc.poll() is None:
        seen_during.append(open(target).read())
        time.sleep(0.1)
    out, err = proc.communicate(timeout=OUTER)
    check(proc.returncode == 0, err)
    check(all(s == "old\n" for s in seen_during), "the object changed during the job: %r" % set(seen_during))
    check(open(target).read() == "new\n", "committed output")
    check(open(os.path.join(st, "local/out/stdout-w.txt")).read() == "done\n", "stdout object (wildcard = node name)")
    check(sorted(os.listdir(os.path.join(st, "local/out"))) == ["result.txt", "stdout-w.txt"], "no temporaries")


@case
def failed_job_stores_nothing():
    """a node failing makes the job fail: no new object, an existing one untouched; its stderr is shown"""
    d = fresh("failjob")
    st = os.path.join(d, "storage")
    put(st, "local/out/a.txt", "old a\n")
    job = [dict(py("ok"), devices=[{"name": "output", "path": "swift://~/out/a.txt"}]),
           dict(py("ok2"), devices=[{"name": "output", "path": "swift://~/out/b.txt"}]),
           dict(py("bad"))]
    a = app(d, job, {"ok.py": "open('/dev/output','w').write('new a\\n')\n",
                     "ok2.py": "open('/dev/output','w').write('new b\\n')\n",
                     "bad.py": "import sys\nprint('bad node says why', file=sys.stderr)\nraise SystemExit(1)\n"})
    p = zvapp("--storage", st, a)
    check(p.returncode == 1, "exit %d" % p.returncode)
    check("the job failed" in p.stderr, p.stderr)
    check("zvapp: node bad: stderr:\nbad node says why\n" in p.stderr, "the failed node's stderr: %r" % p.stderr)
    check(open(os.path.join(st, "local/out/a.txt")).read() == "old a\n", "existing object kept")
    check(os.listdir(os.path.join(st, "local/out")) == ["a.txt"], "no new object, no temporary: %r"
          % os.listdir(os.path.join(st, "local/out")))
    reports, rows, _ = parse_output(p.stdout)
    check(rows["bad"]["Retcode"] == "1" and rows["ok"]["Retcode"] == "0", "retcodes in the table")


@case
def timeout_node():
    """a node past its Timeout: exit state timeout in report and table, job fails"""
    d = fresh("timeout")
    a = app(d, [py("slow")], {"slow.py": "import time\ntime.sleep(60)\n"})
    p = zvapp("--timeout", "1", "--storage", d, a)
    check(p.returncode == 1, "exit %d" % p.returncode)
    reports, rows, _ = parse_output(p.stdout)
    check(reports["slow"]["state"] == "timeout" and rows["slow"]["Status"] == "timeout",
          "state %r" % reports["slow"]["state"])


@case
def save_dir_keeps_work_files():
    """--zvm-save-dir keeps manifest.N, nvram.N and report.N"""
    d = fresh("save")
    a = app(d, [dict(py("n"), count=2)], {"n.py": "pass\n"})
    save = os.path.join(d, "saved")
    p = zvapp("--zvm-save-dir", save, "--storage", d, a)
    check(p.returncode == 0, p.stderr)
    files = set(os.listdir(save))
    for f in ("manifest.1", "manifest.2", "nvram.1", "nvram.2", "report.1", "report.2"):
        check(f in files, "%s missing in %r" % (f, sorted(files)))
    m = open(os.path.join(save, "manifest.1")).read()
    check("Program = /usr/bin/python3" in m and ",/dev/image,1," in m and ",/dev/nvram," in m, m)
    nv = open(os.path.join(save, "nvram.1")).read()
    check("channel=/dev/image,mountpoint=/,access=ro" in nv and "args = python3 n.py" in nv, nv)


def main():
    failed = run(ONLY)
    shutil.rmtree(WORK, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
