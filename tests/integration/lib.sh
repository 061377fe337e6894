# Shared by the integration scripts: TAP output, temp dirs, manifests.
# Needs ZEROVM (the binary) and PROBE (tests/helpers/probe) in the environment.
set -u
: "${ZEROVM:?ZEROVM must name the zerovm binary}"
TAP_N=0
TAP_FAILED=0
WORK=$(mktemp -d /tmp/zvm-it.XXXXXX)
chmod 755 "$WORK"
trap 'rm -rf "$WORK"' EXIT

ok() { # cond-status description...
    local status=$1; shift
    TAP_N=$((TAP_N + 1))
    if [ "$status" -eq 0 ]; then
        echo "ok $TAP_N - $*"
    else
        TAP_FAILED=$((TAP_FAILED + 1))
        echo "not ok $TAP_N - $*"
    fi
}

is() { # got want description...
    local got=$1 want=$2; shift 2
    if [ "$got" = "$want" ]; then ok 0 "$@"; else
        ok 1 "$@"
        printf '#   got:  %s\n#   want: %s\n' "$got" "$want" | head -20
    fi
}

skip() {
    TAP_N=$((TAP_N + 1))
    echo "ok $TAP_N # SKIP $*"
}

done_testing() {
    echo "1..$TAP_N"
    [ "$TAP_FAILED" -eq 0 ]
}

# manifest FILE PROGRAM TIMEOUT MEMORY [channel lines...]
manifest() {
    local file=$1 program=$2 timeout=$3 memory=$4; shift 4
    {
        echo "Version = 20130611"
        echo "Timeout = $timeout"
        echo "Memory = $memory,0"
        echo "Program = $program"
        for c in "$@"; do echo "Channel = $c"; done
    } > "$file"
}

STD_CHANNELS="/dev/stdin,/dev/stdin,0,0,1024,1048576,0,0
/dev/stdout,/dev/stdout,0,0,0,0,1024,1048576
/dev/stderr,/dev/stderr,0,0,0,0,1024,1048576"

# Run zerovm on a manifest: stdout to $WORK/out, stderr to $WORK/err, status in $RC.
run() {
    RC=0
    timeout 120 "$ZEROVM" "$@" > "$WORK/out" 2> "$WORK/err" || RC=$?
}

# Line N of the report (the last six lines of stdout).
report_line() {
    tail -n 6 "$WORK/out" | sed -n "${1}p"
}

program_output() {
    head -n -6 "$WORK/out"
}
