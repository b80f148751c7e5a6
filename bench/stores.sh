#!/usr/bin/env bash
# Runs a bench tool (bench/notify, bench/process, bench/remind,
# bench/welcome) once per store in STORES (default "embedded redis"),
# against a private redis-server started here on a free port (appendfsync
# always, as wecomply's default store.redis_durability = "fsync"
# requires), with the tool's flags after its name. With BEFORE=<revision>,
# that revision's server runs first on each store, then this tree's:
# before and after side by side, close together on a shared machine.
# ROUNDS=N repeats all that N times, interleaved, and sums up bench/process's
# events/s: a median per store and version, and after ÷ before per round
# (this VM's speed drifts by a third within minutes: a single pair can
# mislead).
#
#   bench/stores.sh remind -members 100000
#   BEFORE=main bench/stores.sh process -events 10000
#   ROUNDS=3 BEFORE=main bench/stores.sh process -profile 0
set -euo pipefail
tool=${1:?usage: bench/stores.sh notify|process|remind|welcome [flags]}
shift
cd "$(dirname "$0")/.."
STORES=${STORES:-"embedded redis"}
BEFORE=${BEFORE:-}
ROUNDS=${ROUNDS:-1}
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

# fresh_redis empties Redis and rewrites its append-only file, so that
# each run starts alike: without the rewrite, the next run began with the
# last one's file, and Redis's automatic rewrite (the file doubled) fell
# in the middle of it (in three ROUNDS=3 runs, the first round's "after"
# on Redis was the slowest of its round's three each time).
fresh_redis() {
	redis-cli -p "$port" flushall >/dev/null
	redis-cli -p "$port" bgrewriteaof >/dev/null
	for _ in $(seq 600); do
		redis-cli -p "$port" info persistence | grep -q '^aof_rewrite_in_progress:0' &&
			redis-cli -p "$port" info persistence | grep -q '^aof_rewrite_scheduled:0' && return
		sleep 0.1
	done
}

echo "# $(date -u +%FT%TZ) $(nproc) cores, $(go version | cut -d' ' -f3), bench/$tool $*, $ROUNDS round(s)"
rc=0
for round in $(seq "$ROUNDS"); do
	for s in $STORES; do
		for v in $versions; do
			[ "$versions" = after ] && [ "$ROUNDS" = 1 ] || echo "## round $round: $v $s $(date -u +%T) $(uptime | sed 's/.*load/load/')"
			"$work/$tool" -bin "$work/wecomply-$v" -store "$s" -redis "redis://127.0.0.1:$port/0" "$@" | tee "$work/out-$s-$v-$round" || rc=1
			fresh_redis
		done
	done
done
# With several rounds or a before, sum up the rate the tool reports
# (bench/process: events/s=): each store's median per version, and
# after ÷ before of each round, whose pairs ran a minute apart.
if [ "$ROUNDS" != 1 ] || [ -n "$BEFORE" ]; then
	python3 - "$work" "$STORES" "$versions" "$ROUNDS" <<'PY'
import os, re, statistics, sys
work, stores, versions, rounds = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), int(sys.argv[4])
def rate(s, v, r):
    try:
        m = re.search(r"events/s=([0-9.]+)", open(os.path.join(work, f"out-{s}-{v}-{r}")).read())
    except OSError:
        return None
    return float(m.group(1)) if m else None
if all(rate(s, v, r) is None for s in stores for v in versions for r in range(1, rounds + 1)):
    sys.exit(0)  # a tool that reports no events/s
print(f"# medians of {rounds} round(s)")
for s in stores:
    med = {}
    for v in versions:
        xs = [x for x in (rate(s, v, r) for r in range(1, rounds + 1)) if x is not None]
        if xs:
            med[v] = statistics.median(xs)
            print(f"  {s:9s} {v:6s} events/s {med[v]:7.0f}  (rounds: {', '.join(f'{x:.0f}' for x in xs)})")
    if len(versions) == 2:
        ratios = [a / b for a, b in ((rate(s, "after", r), rate(s, "before", r)) for r in range(1, rounds + 1)) if a and b]
        if ratios:
            print(f"  {s:9s} after/before {statistics.median(ratios):.2f}x median  (rounds: {', '.join(f'{x:.2f}' for x in ratios)})")
PY
fi
exit $rc
