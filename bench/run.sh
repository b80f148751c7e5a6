#!/usr/bin/env bash
# Callback ingress load test (issue 2): throughput and latency of
#   (a) the embedded store, (b) Redis, (c) the baseline route that verifies and
#   decrypts but persists nothing — all in the same binary, over loopback.
# Each is measured closed-loop (max throughput) and open-loop at RATE req/s.
#
#   bench/run.sh            # DURATION=10s RATE=2000 CONCURRENCY=64 REPEAT=3 by default
#   CASES=embedded REPEAT=1 bench/run.sh
#
# Needs redis-server on PATH (a private one is started on a free port).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
RATE=${RATE:-2000}
CONCURRENCY=${CONCURRENCY:-64}
REPEAT=${REPEAT:-3} # closed-loop runs per case (the machine is shared: take the median)
CASES=${CASES:-"embedded redis baseline"}
# The Redis server's appendfsync: "always" is what wecomply's default
# store.redis_durability = "fsync" requires; "everysec" runs the server and
# wecomply in "everysec" mode, to compare.
APPENDFSYNC=${APPENDFSYNC:-always}
case $APPENDFSYNC in
always) durability=fsync ;;
everysec) durability=everysec ;;
*) echo "APPENDFSYNC must be always or everysec" >&2; exit 2 ;;
esac
EXTRA_CONFIG=${EXTRA_CONFIG:-} # TOML appended to every config, after its [store] keys: $'batch_delay = "200us"\n[workers]\ncount = 16'

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/wecomply" .
go build -o "$work/load" ./bench/load

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work" --save "" --appendonly yes --appendfsync "$APPENDFSYNC" \
	--logfile "$work/redis.log" --daemonize no &
redis_pid=$!
pids+=("$redis_pid")

write_config() { # name backend baseline
	local port; port=$(free_port)
	cat >"$work/$1.toml" <<TOML
[server]
listen = "127.0.0.1:$port"
baseline_route = $3
[log]
level = "warn"
[wecom]
corp_id = "wwbenchcorp0001"
[[wecom.callback]]
path = "/wecom/callback"
token = "BenchToken123"
encoding_aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
[store]
backend = "$2"
path = "$work/$1/wecomply.db"
redis_url = "redis://127.0.0.1:$redis_port/0"
redis_durability = "$durability"
$EXTRA_CONFIG
TOML
}

# cpu PID: CPU time (user+system) of a process so far, in clock ticks.
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# drain URL: wait until the workers have processed everything accepted, so
# the next run does not compete with a backlog; prints how long it took.
drain() {
	local start=$SECONDS
	for _ in $(seq 600); do
		local q; q=$(curl -fs "$1/metrics" | awk '/^wecomply_queue_entries\{state="(ready|leased)"\}/ {n += $2} END {print n + 0}')
		[ "$q" = "0" ] && { echo "    backlog drained $((SECONDS - start))s after the load ended"; return; }
		sleep 0.5
	done
	echo "    backlog not drained after 300s" >&2
}

run_case() { # name backend baseline suffix
	write_config "$1" "$2" "$3"
	"$work/wecomply" serve -config "$work/$1.toml" 2>"$work/$1.log" &
	local pid=$!
	local url; url=$(sed -n 's/^listen = "\(.*\)"/http:\/\/\1/p' "$work/$1.toml")
	for _ in $(seq 100); do curl -fs "$url/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
	for rate in $(printf '0 %.0s' $(seq "$REPEAT")) "$RATE"; do
		local s0 r0; s0=$(cpu "$pid"); r0=$(cpu "$redis_pid")
		"$work/load" -config "$work/$1.toml" -suffix "$4" -label "$1" -duration "$DURATION" -concurrency "$CONCURRENCY" -rate "$rate"
		drain "$url"
		echo "    cpu ticks (1/$(getconf CLK_TCK) s): wecomply $(($(cpu "$pid") - s0)), redis-server $(($(cpu "$redis_pid") - r0))"
	done
	kill -TERM "$pid"; wait "$pid" || true
}

echo "# $(date -u +%FT%TZ) $(nproc) cores, $(go version | cut -d' ' -f3), duration $DURATION, concurrency $CONCURRENCY, redis appendfsync $APPENDFSYNC"
for c in $CASES; do
	case $c in
	embedded) run_case embedded embedded false "" ;;
	redis) run_case redis redis false "" ;;
	baseline) run_case baseline embedded true "/baseline" ;;
	*) echo "unknown case $c" >&2; exit 2 ;;
	esac
done
