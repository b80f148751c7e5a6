#!/usr/bin/env bash
# Runs a bench tool (bench/notify, bench/process, bench/remind,
# bench/welcome) once per store in STORES (default "embedded redis"),
# against a private redis-server started here on a free port (appendfsync
# always, as wecomply's default store.redis_durability = "fsync"
# requires), with the tool's flags after its name. With BEFORE=<revision>,
# that revision's server runs first on each store, then this tree's:
# before and after side by side, close together on a shared machine.
#
#   bench/stores.sh remind -members 100000
#   BEFORE=main bench/stores.sh process -events 10000
set -euo pipefail
tool=${1:?usage: bench/stores.sh notify|process|remind|welcome [flags]}
shift
cd "$(dirname "$0")/.."
STORES=${STORES:-"embedded redis"}
BEFORE=${BEFORE:-}
work=$(mktemp -d)
redis_pid=""
cleanup() { [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/wecomply-after" .
go build -o "$work/$tool" "./bench/$tool"
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

echo "# $(date -u +%FT%TZ) $(nproc) cores, $(go version | cut -d' ' -f3), bench/$tool $*"
rc=0
for s in $STORES; do
	for v in $versions; do
		[ "$versions" = after ] || echo "## $v $s $(date -u +%T) $(uptime | sed 's/.*load/load/')"
		"$work/$tool" -bin "$work/wecomply-$v" -store "$s" -redis "redis://127.0.0.1:$port/0" "$@" || rc=1
	done
done
exit $rc
