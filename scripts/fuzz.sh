#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Run one libFuzzer target of fuzz/ for SECONDS (builds build-fuzz with
# clang-16 first when needed):
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer options...]
#   scripts/fuzz.sh list
# TARGET is a name of fuzz/meson.build (manifest, nvram, job, zapp,
# zvsh_cfg, cloud_config, tar, cloud_names, cloud_listing, wasi_path).
# The corpus grows in build-fuzz/corpus/TARGET (kept between runs; the
# seeds of fuzz/corpus/TARGET are read too); crashes are written to
# build-fuzz/artifacts/TARGET/.  Ends with libFuzzer's final statistics.
set -eu
cd "$(dirname "$0")/.."
targets="manifest nvram job zapp zvsh_cfg cloud_config tar cloud_names cloud_listing wasi_path"
if [ "${1:-}" = list ]; then
    echo "$targets"
    exit 0
fi
if [ $# -lt 2 ]; then
    echo "usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer options...] (targets: $targets)" >&2
    exit 2
fi
target=$1 seconds=$2
shift 2
case " $targets " in
*" $target "*) ;;
*) echo "fuzz.sh: unknown target '$target' (one of: $targets)" >&2; exit 2 ;;
esac
case $seconds in
''|*[!0-9]*) echo "fuzz.sh: SECONDS must be a number, not '$seconds'" >&2; exit 2 ;;
esac
CC_FUZZ=${CC_FUZZ:-clang-16}
if ! command -v "$CC_FUZZ" >/dev/null; then
    echo "fuzz.sh: $CC_FUZZ not found (scripts/install-deps.sh installs clang-16 and libclang-rt-16-dev)" >&2
    exit 1
fi
if [ ! -f build-fuzz/build.ninja ]; then
    CC=$CC_FUZZ meson setup build-fuzz -Dfuzz=true -Dtests=false >/dev/null
fi
ninja -C build-fuzz "fuzz/fuzz_$target" >/dev/null
mkdir -p "build-fuzz/corpus/$target" "build-fuzz/artifacts/$target"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
exec "build-fuzz/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$target/" \
    "$@" "build-fuzz/corpus/$target" "fuzz/corpus/$target"
