#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Small-object (1 KiB by default) PUT and GET requests per second against
# zerocloud and against Debian's OpenStack Swift (proxy + account +
# container + object servers with tempauth and memcached, a one-device ring,
# all on loopback in a temporary directory), with the same client
# (swiftbench.c: keep-alive connections, or a new connection per request),
# 1 and 8 concurrent clients.  One run; prints one line per measurement.
#
#   bench/cloud/run.sh [--no-swift]
#
# Environment: ZEROCLOUD (default build/src/cli/zerocloud), SECS (seconds
# per measurement, default 5), SIZE (bytes, default 1024), CC.
# Needs: swift swift-proxy swift-object swift-container swift-account
# memcached (Debian packages) for the Swift half; it is skipped with a
# message when they are missing.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
ZEROCLOUD=${ZEROCLOUD:-$REPO/build/src/cli/zerocloud}
SECS=${SECS:-5}
SIZE=${SIZE:-1024}
CC=${CC:-cc}
WITH_SWIFT=1
[ "${1:-}" = --no-swift ] && WITH_SWIFT=0

T=$(mktemp -d /tmp/zc-bench-XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT

"$CC" -O2 -Wall -Wextra -pthread -o "$T/swiftbench" "$HERE/swiftbench.c"
B=$T/swiftbench

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_http() { # URL
    for _ in $(seq 1 200); do
        curl -s -o /dev/null "$1" && return 0
        sleep 0.1
    done
    echo "bench: $1 did not come up" >&2
    return 1
}

token_of() { # AUTH_URL
    curl -s -i -H 'X-Auth-User: test:tester' -H 'X-Auth-Key: testing' "$1" |
        tr -d '\r' | awk -F': ' 'tolower($1)=="x-auth-token"{print $2}'
}

measure() { # NAME PORT TOKEN
    local name=$1 port=$2 tok=$3 path=/v1/AUTH_test/bench
    curl -s -o /dev/null -X PUT -H "X-Auth-Token: $tok" "http://127.0.0.1:$port$path"
    "$B" 127.0.0.1 "$port" "$tok" "$path" seed 1 30 "$SIZE" >/dev/null
    for conn in keepalive newconn; do
        for conc in 1 8; do
            for op in put get; do
                printf '%-10s %s\n' "$name" "$("$B" 127.0.0.1 "$port" "$tok" "$path" "$op" "$conc" "$SECS" "$SIZE" "$conn")"
            done
        done
    done
}

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) CPUs, ${SIZE}-byte objects, ${SECS}s each"

# ---- zerocloud
ZP=$(free_port)
"$ZEROCLOUD" --listen "127.0.0.1:$ZP" --data "$T/zc-data" 2>"$T/zc.log" &
PIDS+=($!)
wait_http "http://127.0.0.1:$ZP/healthcheck"
measure zerocloud "$ZP" "$(token_of "http://127.0.0.1:$ZP/auth/v1.0")"

# ---- Debian's Swift
if [ "$WITH_SWIFT" = 0 ]; then exit 0; fi
missing=""
for b in swift-proxy-server swift-object-server swift-container-server swift-account-server \
         swift-ring-builder memcached; do
    command -v "$b" >/dev/null || missing="$missing $b"
done
if [ -n "$missing" ]; then
    echo "# swift skipped: missing$missing (apt-get install swift swift-proxy swift-object swift-container swift-account memcached)"
    exit 0
fi
if [ ! -r /etc/swift/swift.conf ]; then
    echo "# swift skipped: /etc/swift/swift.conf (hash path suffix) missing"
    exit 0
fi
S=$T/swift
mkdir -p "$S/node/sdb1"
MP=$(free_port); PP=$(free_port); OP=$(free_port); CP=$(free_port); AP=$(free_port)
(
    cd "$S"
    for r in "account $AP" "container $CP" "object $OP"; do
        set -- $r
        swift-ring-builder "$1.builder" create 6 1 1 >/dev/null
        swift-ring-builder "$1.builder" add "r1z1-127.0.0.1:$2/sdb1" 100 >/dev/null
        swift-ring-builder "$1.builder" rebalance >/dev/null
    done
)
common() { # PORT
    cat <<EOC
[DEFAULT]
devices = $S/node
mount_check = false
bind_ip = 127.0.0.1
bind_port = $1
workers = auto
swift_dir = $S
user = $(id -un)
log_level = WARNING
EOC
}
for kind in object container account; do
    case $kind in object) port=$OP;; container) port=$CP;; account) port=$AP;; esac
    { common "$port"; printf '[pipeline:main]\npipeline = %s-server\n[app:%s-server]\nuse = egg:swift#%s\n' "$kind" "$kind" "$kind"; } > "$S/$kind-server.conf"
done
{ common "$PP"; cat <<EOC
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache tempauth proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$MP
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
EOC
} > "$S/proxy-server.conf"
memcached -u "$(id -un)" -l 127.0.0.1 -p "$MP" -U 0 &
PIDS+=($!)
for kind in account container object proxy; do
    "swift-$kind-server" "$S/$kind-server.conf" >"$S/$kind.log" 2>&1 &
    PIDS+=($!)
done
wait_http "http://127.0.0.1:$PP/healthcheck"
for port in $OP $CP $AP; do wait_http "http://127.0.0.1:$port/"; done
measure swift "$PP" "$(token_of "http://127.0.0.1:$PP/auth/v1.0")"
