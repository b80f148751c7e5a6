#!/usr/bin/env bash
# Events/s processed end to end with the policy on (issue 10): EVENTS
# preloaded events of a realistic mix drained by a real `wecomply serve`,
# with its peak RSS and a CPU profile's top, on the embedded store and on
# a private redis-server (appendfsync always, as store.redis_durability =
# "fsync" requires). With BEFORE=<revision>, that revision's server runs
# first on each store, then this tree's: before and after side by side,
# close together on a shared machine.
#
#   bench/process.sh                         # EVENTS=10000 MEMBERS=1000
#   BEFORE=main bench/process.sh             # before/after, per store
#   bench/process.sh -workers 32             # more flags for bench/process
set -euo pipefail
cd "$(dirname "$0")/.."
STORES=${STORES:-"embedded redis"}
BEFORE=${BEFORE:-}
work=$(mktemp -d)
redis_pid=""
cleanup() { [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/wecomply-after" .
go build -o "$work/process" ./bench/process
versions=after
if [ -n "$BEFORE" ]; then
	git worktree add --detach "$work/before-src" "$BEFORE" >/dev/null 2>&1
	(cd "$work/before-src" && go build -o "$work/wecomply-before" .)
	git worktree remove --force "$work/before-src"
	versions="before after"
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --dir "$work" --save "" --appendonly yes --appendfsync always \
	--logfile "$work/redis.log" --daemonize no &
redis_pid=$!
for _ in $(seq 100); do
	redis-cli -p "$port" ping >/dev/null 2>&1 && break
	sleep 0.05
done

echo "# $(date -u +%FT%TZ) $(nproc) cores, $(go version | cut -d' ' -f3), bench/process $*"
rc=0
for s in $STORES; do
	for v in $versions; do
		echo "## $v $s $(date -u +%T) $(uptime | sed 's/.*load/load/')"
		"$work/process" -bin "$work/wecomply-$v" -store "$s" -redis "redis://127.0.0.1:$port/0" \
			-events "${EVENTS:-10000}" -members "${MEMBERS:-1000}" "$@" || rc=1
	done
done
exit $rc
