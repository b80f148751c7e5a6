#!/usr/bin/env bash
# The customer welcome under load (issue: add_external_contact →
# send_welcome_msg at p99 under 500 callbacks/s, target < 1 s): latency,
# missing and failed welcomes, the background's achieved rate and callback
# p99, and the server's peak RSS, on the embedded store and on Redis.
#
#   bench/welcome.sh                          # RATE=500 ADDS=10 DURATION=30s
#   STORES=redis RATE=200 bench/welcome.sh
#
# Needs redis-server on PATH (a private one is started on a free port).
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-500}
ADDS=${ADDS:-10}
DURATION=${DURATION:-30s}
STORES=${STORES:-"embedded redis"}
work=$(mktemp -d)
redis_pid=""
cleanup() { [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/wecomply" .
go build -o "$work/welcome" ./bench/welcome
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --dir "$work" --save "" --appendonly yes --appendfsync everysec \
	--logfile "$work/redis.log" --daemonize no &
redis_pid=$!
sleep 0.5

echo "# $(date -u +%FT%TZ) $(nproc) cores, $(go version | cut -d' ' -f3), rate $RATE/s, adds $ADDS/s, duration $DURATION"
rc=0
for s in $STORES; do
	"$work/welcome" -bin "$work/wecomply" -store "$s" -redis "redis://127.0.0.1:$port/0" \
		-rate "$RATE" -adds "$ADDS" -duration "$DURATION" || rc=1
done
exit $rc
