# SPDX-License-Identifier: Apache-2.0
"""The small TAP harness of the Python suites (zvapp, zpm, cloud).

A suite marks its cases with @case, fails them with check() (or any
exception), skips them by raising Skip or returning a string starting
with "SKIP", and ends with `sys.exit(run(only))` after its own set-up.
Each case prints "ok N - <docstring, or name>"; a failing one prints
"not ok" and its message or traceback as "#" lines.  Under
ZVM_TESTS_STRICT=1 (scripts/test.sh, after installing every tool the
suites use) a skip is a failure: nothing vanishes on the machine of record.
"""
import os
import re
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sandbox  # noqa: E402

results = []


def case(fn):
    results.append(fn)
    return fn


class Fail(Exception):
    pass


class Skip(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def run(only=""):
    """Run the cases whose name contains `only`; the number that failed."""
    cases = [c for c in results if only in c.__name__]
    print("1..%d" % len(cases))
    failed = 0
    for i, c in enumerate(cases, 1):
        desc = re.sub(r"\s+", " ", (c.__doc__ or c.__name__).strip())
        try:
            r = c()
            if isinstance(r, str) and r.startswith("SKIP"):
                raise Skip(r[4:].strip())
            print("ok %d - %s" % (i, desc))
        except Skip as e:
            if sandbox.strict():
                failed += 1
                print("not ok %d - %s" % (i, desc))
                print("#   skipped under ZVM_TESTS_STRICT=1: %s" % e)
            else:
                print("ok %d - %s # SKIP %s" % (i, desc, e))
        except Fail as e:
            failed += 1
            print("not ok %d - %s" % (i, desc))
            for line in str(e).splitlines():
                print("#   " + line)
        except Exception:
            failed += 1
            print("not ok %d - %s" % (i, desc))
            for line in traceback.format_exc().splitlines():
                print("#   " + line)
        sys.stdout.flush()
    return failed
