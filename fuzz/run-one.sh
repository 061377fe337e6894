#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# One fuzz target as a test (meson test --suite fuzz): every seed of its
# corpus, then SECONDS of new inputs, under ASan and UBSan.  New inputs go
# to a temporary directory (the seed corpus in the tree is not touched);
# a crash leaves its input as crash-* next to the target and fails.
#   run-one.sh TARGET_BINARY SEED_DIR SECONDS
set -eu
exe=$1 seeds=$2 seconds=$3
name=$(basename "$exe")
work=$(mktemp -d "${TMPDIR:-/tmp}/zvm-$name.XXXXXX")
trap 'rm -rf "$work"' EXIT
artifacts=$(dirname "$exe")/artifacts/$name
mkdir -p "$artifacts"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
rc=0
"$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$work" "$seeds" || rc=$?
exit "$rc"
