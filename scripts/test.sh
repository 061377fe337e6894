#!/bin/sh
# README command 2: install what is needed, build twice (normal with
# warnings as errors, and ASan+UBSan) and run every test in both builds,
# then build the fuzz targets (clang-16, libFuzzer+ASan+UBSan) and give
# each a short run (suite fuzz, ZVM_FUZZ_SECONDS each, 10 by default).
# Ends with one summary line "N passed, N failed".
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" -eq 0 ]; then scripts/install-deps.sh; else sudo scripts/install-deps.sh; fi

setup() { # dir, options...
    dir=$1; shift
    if [ -f "$dir/build.ninja" ]; then
        meson configure "$dir" "$@" >/dev/null
    else
        meson setup "$dir" "$@"
    fi
    ninja -C "$dir"
}

setup build -Dwerror=true
setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true
if [ ! -f build-fuzz/build.ninja ]; then
    CC=clang-16 meson setup build-fuzz -Dfuzz=true -Dtests=false -Dwerror=true
fi
setup build-fuzz -Dfuzz_seconds="${ZVM_FUZZ_SECONDS:-10}"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Every tool the suites use was installed above: a case that would skip for
# a missing one fails instead (tests/lib/sandbox.py).
export ZVM_TESTS_STRICT=1

failed=0
meson test -C build --print-errorlogs || failed=1
# All but the wasm suite under ASan: wasm2c's runtime finds out-of-bounds
# accesses by SIGSEGV on guard pages, which ASan's own SEGV handling takes
# (docs/security.md, "Known limits"). The unit tests of wasi.c run here.
meson test -C build-asan --print-errorlogs --no-suite wasm || failed=1
# One target at a time: each is a CPU-bound loop for its whole run.
meson test -C build-fuzz --print-errorlogs --suite fuzz --num-processes 1 || failed=1

# One line for CI: counts of test programs over the three builds.
count() { grep -c "\"result\": \"$2\"" "$1/meson-logs/testlog.json" 2>/dev/null || true; }
pass=0 fail=0 skip=0
for b in build build-asan build-fuzz; do
    pass=$(( pass + $(count $b OK) ))
    fail=$(( fail + $(count $b FAIL) + $(count $b ERROR) + $(count $b TIMEOUT) ))
    skip=$(( skip + $(count $b SKIP) ))
done
echo "$pass passed, $fail failed, $skip skipped"
exit "$failed"
