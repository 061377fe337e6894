#!/bin/sh
# Install the Debian 12 packages zerovm needs to build, test and benchmark.
# wabt (wasm2c) and gcc are also what the wasm engine compiles modules with
# at run time; clang-16 and wasi-libc build the wasm test programs, and
# clang-16 with libclang-rt-16-dev (libFuzzer, ASan, UBSan) the fuzz targets;
# hyperfine times bench/run.sh.
# Run as root (or through sudo).  Idempotent.
set -eu
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: run as root (sudo $0)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# One update per machine boot is enough; apt-get install fails clearly if the
# lists are missing or stale.
if [ ! -e /var/lib/apt/lists/lock ] || [ -z "$(ls /var/lib/apt/lists/ 2>/dev/null | grep -v -e lock -e partial)" ] \
   || [ "${ZVM_APT_UPDATE:-0}" = 1 ]; then
    apt-get update -q
fi
apt-get install -y -q --no-install-recommends \
    gcc libc6-dev meson ninja-build pkg-config \
    libseccomp-dev libarchive-dev libjansson-dev libssl-dev nettle-dev \
    libyaml-dev libcurl4-openssl-dev \
    wabt \
    clang-16 lld-16 wasi-libc libclang-rt-16-dev-wasm32 libclang-rt-16-dev \
    python3 util-linux tar gzip strace hyperfine \
    libmicrohttpd-dev libsqlite3-dev python3-swiftclient
