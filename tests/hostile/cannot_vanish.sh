#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The security suites cannot vanish: on a machine where the sandbox cannot
# start, the hostile and wasm suites fail with "Bail out!" naming the
# missing kernel feature, instead of printing "1..0 # SKIP" and passing.
# A machine without user namespaces is made here by a user namespace whose
# user.max_user_namespaces is 0 (the sysctl is per namespace). Prints TAP.
# Needs ZEROVM, HOSTILE_PROBES, WASM_PROGS, SUITES (the tests directory).
set -u
. "$(dirname "$0")/../integration/lib.sh"

# no_userns CMD...: run CMD where no user namespace can be created.
no_userns() {
    RC=0
    timeout 120 unshare --user --map-root-user sh -c \
        'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"' sh "$@" \
        > "$WORK/out" 2> "$WORK/err" || RC=$?
}

bails() { # description...: the last run failed with a Bail out! naming user namespaces
    local why=""
    [ "$RC" -ne 0 ] || why="exit status 0"
    grep -q '^Bail out!.*user namespaces' "$WORK/out" || why="$why; no Bail out! naming user namespaces"
    grep -q '^1\.\.0' "$WORK/out" && why="$why; printed an empty plan"
    ok "$([ -z "$why" ] && echo 0 || echo 1)" "$@"
    [ -z "$why" ] || { echo "#   $why"; sed 's/^/#   | /' "$WORK/out" | head -5; }
}

if ! unshare --user --map-root-user sh -c 'echo 0 > /proc/sys/user/max_user_namespaces' 2>/dev/null; then
    echo "Bail out! cannot make a namespace without user namespaces to test in (unshare --user)"
    exit 1
fi

no_userns env HOSTILE_PROBES="$HOSTILE_PROBES" python3 "$SUITES/hostile/run.py"
bails "hostile: no user namespaces is a failure naming the feature (exit $RC)"

no_userns env WASM_PROGS="$WASM_PROGS" WASM_SKIP= python3 "$SUITES/wasm/run.py"
bails "wasm: no user namespaces is a failure naming the feature (exit $RC)"

RC=0
HOSTILE_MIN_CASES=100000 python3 "$SUITES/hostile/run.py" > "$WORK/out" 2>&1 || RC=$?
grep -q '^Bail out! only [0-9]* cases' "$WORK/out"
ok $(( $? == 0 && RC != 0 ? 0 : 1 )) "hostile: fewer cases than the suite had is a failure (exit $RC)"

RC=0
ZEROVM=/nonexistent/zerovm python3 "$SUITES/hostile/run.py" > "$WORK/out" 2>&1 || RC=$?
grep -q '^Bail out! zerovm not found' "$WORK/out"
ok $(( $? == 0 && RC != 0 ? 0 : 1 )) "hostile: a missing zerovm is a failure, not a skip (exit $RC)"

# The Python suites' harness: a skip is a failure under ZVM_TESTS_STRICT=1.
cat > "$WORK/suite.py" <<PY
import sys
sys.path.insert(0, "$SUITES/lib")
from taprun import case, run, Skip
@case
def needs_a_tool():
    raise Skip("the tool is missing")
sys.exit(1 if run() else 0)
PY
RC=0
ZVM_TESTS_STRICT=1 python3 "$WORK/suite.py" > "$WORK/out" 2>&1 || RC=$?
grep -q '^not ok 1 ' "$WORK/out"
ok $(( $? == 0 && RC != 0 ? 0 : 1 )) "taprun: under ZVM_TESTS_STRICT=1 a skip fails (exit $RC)"
RC=0
ZVM_TESTS_STRICT= python3 "$WORK/suite.py" > "$WORK/out" 2>&1 || RC=$?
grep -q '^ok 1 .*# SKIP the tool is missing' "$WORK/out"
ok $(( $? == 0 && RC == 0 ? 0 : 1 )) "taprun: otherwise a skip is reported as one (exit $RC)"

done_testing
