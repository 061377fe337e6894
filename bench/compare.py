#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""bench/compare.py: the start-up cost of a change, two zerovm binaries
measured in one interleaved run.

    bench/compare.py [--runs N] [--out FILE] OLD_ZEROVM NEW_ZEROVM

For each scenario (a static hello, /usr/bin/python3 -c pass) the two
binaries run alternately, N times each, with the same manifest, so slow
drift of a noisy machine hits both alike. Wall time is taken around each
run; CPU time (user + system of zerovm and everything it started) from
the children's rusage. Prints medians, the NEW/OLD ratio and the
difference in ms, and writes the samples as JSON (default
bench/results/compare.json).

Build the old binary from a clean checkout of the base commit, e.g.
    git worktree add /tmp/base BASE && meson setup /tmp/base/build /tmp/base
    ninja -C /tmp/base/build src/cli/zerovm
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"  # Debian's python, never a pyenv shim


def manifest(work, name, program, args, memory):
    nvram = os.path.join(work, name + ".nvram")
    with open(nvram, "w") as f:
        f.write("[args]\nargs = %s\n" % " ".join([os.path.basename(program)] + args))
    path = os.path.join(work, name + ".manifest")
    with open(path, "w") as f:
        f.write("Version = 20130611\nTimeout = 30\nMemory = %d,0\n" % memory)
        f.write("Program = %s\n" % program)
        f.write("Channel = /dev/stdin,/dev/stdin,0,0,8192,8192,0,0\n")
        f.write("Channel = /dev/stdout,/dev/stdout,0,0,0,0,8192,8192\n")
        f.write("Channel = /dev/stderr,/dev/stderr,0,0,0,0,8192,8192\n")
        f.write("Channel = %s,/dev/nvram,3,0,8192,8192,0,0\n" % nvram)
    return path


def one(zerovm, man):
    """(wall s, cpu s) of one run; a failed run stops the benchmark."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    p = subprocess.run([zerovm, man], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit("%s %s: exit %d: %s" % (zerovm, man, p.returncode, p.stderr.decode()[:300]))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "compare.json"))
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="zvm-compare-")
    try:
        hello = os.path.join(work, "hello")
        subprocess.run(["gcc", "-O2", "-static", "-o", hello, os.path.join(HERE, "hello.c")],
                       check=True)
        scenarios = [("static hello", manifest(work, "hello", hello, [], 256 << 20))]
        if os.path.exists(PY):
            scenarios.append(("python3 -c pass", manifest(work, "python", PY, ["-c", "pass"], 1 << 30)))
        results = {}
        print("%-16s %12s %12s %8s %9s" % ("scenario", "old ms", "new ms", "ratio", "+ms"))
        for name, man in scenarios:
            for _ in range(a.warmup):
                one(a.old, man)
                one(a.new, man)
            s = {"old": {"wall": [], "cpu": []}, "new": {"wall": [], "cpu": []}}
            for i in range(a.runs):
                order = ("old", "new") if i % 2 == 0 else ("new", "old")
                for which in order:
                    w, c = one(a.old if which == "old" else a.new, man)
                    s[which]["wall"].append(w)
                    s[which]["cpu"].append(c)
            results[name] = s
            for kind in ("wall", "cpu"):
                o = statistics.median(s["old"][kind]) * 1e3
                n = statistics.median(s["new"][kind]) * 1e3
                print("%-16s %12.2f %12.2f %7.2fx %+8.2f" % (name + " " + kind, o, n, n / o, n - o))
        os.makedirs(os.path.dirname(a.out), exist_ok=True)
        with open(a.out, "w") as f:
            json.dump({"old": a.old, "new": a.new, "runs": a.runs, "samples": results}, f)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
