#!/usr/bin/env bash
# Runs a bench tool that takes -bin, -members and -store (bench/notify,
# bench/remind) on the embedded store and on a Redis started here.
#
#   bench/members.sh notify|remind        # MEMBERS=100000
set -euo pipefail
tool=${1:?usage: bench/members.sh notify|remind}
cd "$(dirname "$0")/.."
MEMBERS=${MEMBERS:-100000}
work=$(mktemp -d)
redis_pid=""
cleanup() { [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/wecomply" .
go build -o "$work/$tool" "./bench/$tool"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --dir "$work" --save "" --appendonly yes --appendfsync everysec \
	--logfile "$work/redis.log" --daemonize no &
redis_pid=$!
sleep 0.5

echo "# $(date -u +%FT%TZ) $(nproc) cores, $(go version | cut -d' ' -f3), $MEMBERS members, bench/$tool"
"$work/$tool" -bin "$work/wecomply" -members "$MEMBERS" -store embedded
"$work/$tool" -bin "$work/wecomply" -members "$MEMBERS" -store redis -redis "redis://127.0.0.1:$port/0"
