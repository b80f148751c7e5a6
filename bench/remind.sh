#!/usr/bin/env bash
# One reminder run over MEMBERS people, 30% open (issue 5): wall time, send calls and the
# server's peak RSS, on the embedded store and on Redis.
#
#   bench/remind.sh            # MEMBERS=100000
set -euo pipefail
cd "$(dirname "$0")/.."
MEMBERS=${MEMBERS:-100000}
work=$(mktemp -d)
redis_pid=""
cleanup() { [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/wecomply" .
go build -o "$work/remind" ./bench/remind
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --dir "$work" --save "" --appendonly yes --appendfsync everysec \
	--logfile "$work/redis.log" --daemonize no &
redis_pid=$!
sleep 0.5

echo "# $(date -u +%FT%TZ) $(nproc) cores, $(go version | cut -d' ' -f3), $MEMBERS members"
"$work/remind" -bin "$work/wecomply" -members "$MEMBERS" -store embedded
"$work/remind" -bin "$work/wecomply" -members "$MEMBERS" -store redis -redis "redis://127.0.0.1:$port/0"
