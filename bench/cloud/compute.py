#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Executions per second of zerocloud's compute half: POSTs of a trivial
`#!file://python3:python3` script, and of a job running a wasm hello module
(stored as an object, built with clang --target=wasm32-wasi), by 1 and 4
concurrent clients on keep-alive connections, each for SECS seconds after a
warm-up (the wasm module is compiled once, then cached).  One run; prints
one line per measurement and checks every answer.

    bench/cloud/compute.py

Environment: ZEROCLOUD (default build/src/cli/zerocloud), SECS (default 5),
CLANG (default clang-16).  The server runs with its defaults (a pool of
2 x CPUs executions) on a free loopback port and a temporary data directory.
"""

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
ZEROCLOUD = os.environ.get("ZEROCLOUD") or os.path.join(REPO, "build", "src", "cli", "zerocloud")
SECS = float(os.environ.get("SECS", "5"))
CLANG = os.environ.get("CLANG") or shutil.which("clang-16") or shutil.which("clang")

SCRIPT = b"#!file://python3:python3\nprint('hello')\n"
HELLO_C = '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n'
WASM_JOB = json.dumps([{"name": "hello", "exec": {"path": "swift://~/bench/hello.wasm"},
                        "devices": [{"name": "stdout"}]}]).encode()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def request(conn, method, path, headers, body=None):
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    return r.status, r.read()


def measure(port, token, ctype, body, clients):
    headers = {"X-Auth-Token": token, "X-Zerovm-Execute": "1.0", "Content-Type": ctype}
    done = [0] * clients
    errors = []
    stop = time.monotonic() + SECS

    def client(i):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while time.monotonic() < stop:
            st, out = request(c, "POST", "/v1/AUTH_test", headers, body)
            if st != 200 or out != b"hello\n":
                errors.append((st, out[:200]))
                return
            done[i] += 1
        c.close()
    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    if errors:
        raise SystemExit("bench: bad answer %r" % (errors[0],))
    return sum(done) / elapsed


def main():
    work = tempfile.mkdtemp(prefix="zc-compute-bench-")
    port = free_port()
    log = open(os.path.join(work, "log"), "wb")
    srv = subprocess.Popen([ZEROCLOUD, "--listen", "127.0.0.1:%d" % port, "--data",
                            os.path.join(work, "data")], stdout=log, stderr=log)
    try:
        for _ in range(200):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                request(c, "GET", "/healthcheck", {})
                break
            except OSError:
                time.sleep(0.05)
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.request("GET", "/auth/v1.0", headers={"X-Auth-User": "test:tester",
                                                "X-Auth-Key": "testing"})
        r = c.getresponse()
        r.read()
        token = r.getheader("X-Auth-Token")
        h = {"X-Auth-Token": token}
        request(c, "PUT", "/v1/AUTH_test/bench", h, b"")
        cases = [("python3 script", "text/x-python", SCRIPT)]
        if CLANG:
            src, mod = os.path.join(work, "hello.c"), os.path.join(work, "hello.wasm")
            open(src, "w").write(HELLO_C)
            p = subprocess.run([CLANG, "--target=wasm32-wasi", "-O2", "-o", mod, src],
                               capture_output=True)
            if p.returncode == 0:
                st, _ = request(c, "PUT", "/v1/AUTH_test/bench/hello.wasm", h,
                                open(mod, "rb").read())
                assert st == 201, st
                cases.append(("wasm hello job", "application/json", WASM_JOB))
            else:
                print("bench: no wasm32-wasi target, wasm skipped", file=sys.stderr)
        print("# zerocloud compute, %s, %d CPUs, %.0f s per line" %
              (time.strftime("%Y-%m-%d"), os.cpu_count(), SECS))
        for name, ctype, body in cases:
            st, out = request(c, "POST", "/v1/AUTH_test",
                              dict(h, **{"X-Zerovm-Execute": "1.0", "Content-Type": ctype}), body)
            assert st == 200 and out == b"hello\n", (st, out)
            for clients in (1, 4):
                rate = measure(port, token, ctype, body, clients)
                print("%-16s clients=%d  %7.1f executions/s  (%.1f ms each per client)" %
                      (name, clients, rate, 1000.0 * clients / rate))
    finally:
        srv.terminate()
        srv.wait()
        log.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
