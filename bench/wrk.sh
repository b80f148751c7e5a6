#!/usr/bin/env bash
# Callback ingress throughput with wrk (issue 10): wecomply's durable
# callback route beside a plain Gin route (bench/plain: verify, silenceper
# decrypt, encoding/xml, nothing kept), interleaved for ROUNDS rounds on
# the same machine, medians and ratios against the plain route.
#
#   bench/wrk.sh                                   # ROUNDS=3 DURATION=5s CONNECTIONS=32
#   CASES="plain embedded" ROUNDS=1 bench/wrk.sh
#   PROFILE="embedded before-embedded" bench/wrk.sh # also a 4 s CPU profile of those cases, last round
#                                                   # (a BEFORE revision needs server.debug_listen: 1eb1e4a or later)
#   BEFORE=HEAD~3 bench/wrk.sh                      # adds before-embedded, before-redis-… built from that revision
#   CASES="plain redis-none redis-fsync" bench/wrk.sh  # redis-none: a bound, not a configuration to run
#   CASES="plain plain-log plain-redis-fsync embedded redis-fsync" bench/wrk.sh  # what durability alone costs
#
# Cases: plain (bench/plain), baseline (wecomply's own baseline_route:
# verify, decrypt, decode, nothing kept), embedded, redis-fsync (the
# default store.redis_durability, Redis with appendfsync always),
# redis-everysec, and redis-none: Redis persisting nothing (appendonly no,
# store.redis_durability = "trust"), which loses every callback Redis held
# if it stops, so not a configuration to run; it is in the list as an
# upper bound, what the Redis store's route gets when Redis's persistence
# costs nothing (issue 10's note). plain-log, plain-redis-fsync and
# plain-redis-none are the plain route keeping each message before its 200
# in the plainest way (bench/plain -log, -redis: one group-committed
# fdatasynced file; one pipelined RPUSH to Redis with appendfsync always,
# or with no persistence), less work than any exactly-once route: what
# durability alone costs on this machine, a yardstick too. Every run gets
# N distinct, freshly signed text callbacks, a fresh server and an empty
# store; the workers run (no wecom.secret, so nothing is sent). wrk runs
# one thread, leaving the server the rest of this machine's cores. Peak
# RSS is the server's VmHWM at the end of its run. Needs wrk and
# redis-server (installed from Debian's packages if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-32}
N=${N:-200000}
BEFORE=${BEFORE:-}
if [ -n "$BEFORE" ]; then
	CASES=${CASES:-"plain baseline before-embedded embedded before-redis-fsync redis-fsync before-redis-everysec redis-everysec"}
else
	CASES=${CASES:-"plain baseline embedded redis-fsync redis-everysec"}
fi
PROFILE=${PROFILE:-}
OUT=${OUT:-} # a directory to keep profiles and logs in
EXTRA_CONFIG=${EXTRA_CONFIG:-}

need() { command -v "$1" >/dev/null || { echo "installing $2" >&2; apt-get install -y "$2" >/dev/null; }; }
need wrk wrk
need redis-server redis-server

work=$(mktemp -d)
[ -n "$OUT" ] || OUT=$work
mkdir -p "$OUT"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/wecomply" .
if [ -n "$BEFORE" ]; then
	git worktree add --detach "$work/before-src" "$BEFORE" >/dev/null 2>&1
	(cd "$work/before-src" && go build -o "$work/wecomply-before" .)
	git worktree remove --force "$work/before-src"
fi
go build -o "$work/plain" ./bench/plain
go build -o "$work/wrkgen" ./bench/wrkgen

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
token=BenchToken123
key=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG
corp=wwbenchcorp0001

declare -A redis_port
for fsync in always everysec none; do
	p=$(free_port)
	mkdir -p "$work/redis-$fsync"
	aof=(--appendonly yes --appendfsync "$fsync")
	[ "$fsync" != none ] || aof=(--appendonly no)
	redis-server --port "$p" --bind 127.0.0.1 --dir "$work/redis-$fsync" --save "" "${aof[@]}" \
		--logfile "$work/redis-$fsync/log" --daemonize no &
	pids+=("$!")
	redis_port[$fsync]=$p
done

write_config() { # file port backend durability redis_port baseline debug_port
	local debug_line=""
	[ -z "$7" ] || debug_line="debug_listen = \"$7\""
	cat >"$1" <<TOML
[server]
listen = "127.0.0.1:$2"
baseline_route = $6
$debug_line
[log]
level = "warn"
[wecom]
corp_id = "$corp"
[[wecom.callback]]
path = "/wecom/callback"
token = "$token"
encoding_aes_key = "$key"
[store]
backend = "$3"
path = "$work/store-$RANDOM$RANDOM/wecomply.db"
redis_url = "redis://127.0.0.1:$5/0"
redis_durability = "$4"
$EXTRA_CONFIG
TOML
}

# wait_busy PID: returns once PID uses half a core or more over a tenth
# of a second (its clock ticks, utime + stime, are a hundredth of a
# second), or after 10 s.
wait_busy() {
	local prev now
	prev=$(awk '{print $14 + $15}' "/proc/$1/stat")
	for _ in $(seq 100); do
		sleep 0.1
		now=$(awk '{print $14 + $15}' "/proc/$1/stat")
		[ $((now - prev)) -lt 5 ] || return 0
		prev=$now
	done
}

# run_one CASE ROUND: one wrk run against a fresh server; appends
# "case round req/s p99_ms rss_mb" to $work/results.
run_one() {
	local c=$1 round=$2 port path=/wecom/callback pid debug_port="" cmd bin=$work/wecomply
	port=$(free_port)
	case " $PROFILE " in *" $c "*) [ "$round" != "$ROUNDS" ] || debug_port=127.0.0.1:$(free_port) ;; esac
	case $c in before-*) bin=$work/wecomply-before; c=${c#before-} ;; esac
	local plain=("$work/plain" -listen "127.0.0.1:$port" -token "$token" -aes-key "$key" -corp-id "$corp")
	case $c in
	plain) cmd=("${plain[@]}") ;;
	plain-log) cmd=("${plain[@]}" -log "$work/plain.log") ;;
	plain-redis-fsync) cmd=("${plain[@]}" -redis "127.0.0.1:${redis_port[always]}") ;;
	plain-redis-none) cmd=("${plain[@]}" -redis "127.0.0.1:${redis_port[none]}") ;;
	baseline) write_config "$work/$c.toml" "$port" embedded fsync "${redis_port[always]}" true "$debug_port"; path=/wecom/callback/baseline ;;
	embedded) write_config "$work/$c.toml" "$port" embedded fsync "${redis_port[always]}" false "$debug_port" ;;
	redis-fsync) write_config "$work/$c.toml" "$port" redis fsync "${redis_port[always]}" false "$debug_port" ;;
	redis-everysec) write_config "$work/$c.toml" "$port" redis everysec "${redis_port[everysec]}" false "$debug_port" ;;
	redis-none) write_config "$work/$c.toml" "$port" redis trust "${redis_port[none]}" false "$debug_port" ;;
	*) echo "unknown case $c" >&2; exit 2 ;;
	esac
	case $c in plain*) ;; *) cmd=("$bin" serve -config "$work/$c.toml") ;; esac
	[ "$bin" = "$work/wecomply" ] || c=before-$c
	"$work/wrkgen" -n "$N" -path "$path" -token "$token" -aes-key "$key" -corp-id "$corp" >"$work/requests.txt"
	"${cmd[@]}" >"$OUT/$c-$round.log" 2>&1 &
	pid=$!
	# (plain-log zero-fills its file before it listens: up to 30 s)
	for _ in $(seq 300); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
	local prof=""
	if [ -n "$debug_port" ]; then
		# wrk reads its requests before it sends any (2 to 3 s for
		# 400,000): profile from when the server gets busy, not from
		# when it starts, or most of the profile is of an idle server.
		(wait_busy "$pid"; curl -fs "http://$debug_port/debug/pprof/profile?seconds=4" -o "$OUT/$c.cpu.pprof") &
		prof=$!
	fi
	REQUESTS=$work/requests.txt wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/wrk.lua "http://127.0.0.1:$port" >"$work/wrk.out" 2>&1 || true
	[ -z "$prof" ] || wait "$prof" || true
	local rss; rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
	kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
	local rps p99 counted=yes
	if grep -q "WRAPPED\|Non-2xx\|Socket errors" "$work/wrk.out"; then
		echo "    $c round $round: not counted:" $(grep "WRAPPED\|Non-2xx\|Socket errors" "$work/wrk.out") >&2
		counted=""
	fi
	rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.out")
	p99=$(awk '/^p99_us/ {printf "%.2f", $2/1000}' "$work/wrk.out")
	printf "  round %d  %-18s %9.0f req/s  p99 %6s ms  peak RSS %4d MB\n" "$round" "$c" "$rps" "$p99" $((rss / 1024))
	[ -z "$counted" ] || echo "$c $round $rps $p99 $((rss / 1024))" >>"$work/results"
	case $c in
	redis-fsync | plain-redis-fsync) redis-cli -p "${redis_port[always]}" flushall >/dev/null ;;
	redis-everysec) redis-cli -p "${redis_port[everysec]}" flushall >/dev/null ;;
	redis-none | plain-redis-none) redis-cli -p "${redis_port[none]}" flushall >/dev/null ;;
	plain-log) rm -f "$work/plain.log" ;;
	esac
}

echo "# $(date -u +%FT%TZ) $(nproc) cores, $(go version | cut -d' ' -f3), $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2), -t1 -c$CONNECTIONS -d$DURATION, $N distinct text callbacks a run"
: >"$work/results"
for round in $(seq "$ROUNDS"); do
	for c in $CASES; do run_one "$c" "$round"; done
done
echo "# medians of $ROUNDS rounds"
python3 - "$work/results" "$CASES" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
cases = sys.argv[2].split()
med = {c: statistics.median(float(r[2]) for r in rows if r[0] == c) for c in cases if any(r[0] == c for r in rows)}
ref = med.get("plain")
for c in cases:
    if c not in med: continue
    p99 = statistics.median(float(r[3]) for r in rows if r[0] == c)
    rss = max(int(r[4]) for r in rows if r[0] == c)
    ratio = f"{med[c]/ref:5.2f}x plain" if ref else ""
    print(f"  {c:18s} {med[c]:9.0f} req/s  {ratio}  p99 {p99:6.2f} ms  peak RSS {rss} MB")
# This machine's speed drifts within minutes: each case against the plain
# run of its own round says more than medians taken apart.
plain = {r[1]: float(r[2]) for r in rows if r[0] == "plain"}
if plain and len(plain) > 1:
    print("# each case / plain of the same round: median (rounds)")
    for c in cases:
        rs = [float(r[2]) / plain[r[1]] for r in rows if r[0] == c and r[1] in plain]
        if c == "plain" or not rs: continue
        print(f"  {c:18s} {statistics.median(rs):5.2f}x  ({', '.join(f'{x:.2f}' for x in rs)})")
PY
[ -z "$PROFILE" ] || echo "# CPU profiles: $OUT/<case>.cpu.pprof (go tool pprof -top $OUT/wecomply[-before] $OUT/<case>.cpu.pprof; set OUT= to keep them)"
[ "$OUT" = "$work" ] || cp "$work"/wecomply* "$OUT/"
