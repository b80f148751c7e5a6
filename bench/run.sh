#!/usr/bin/env bash
# Callback ingress load test (issue 2): throughput and latency of
#   (a) the embedded store, (b) Redis, (c) the baseline route that verifies and
#   decrypts but persists nothing — all in the same binary, over loopback.
# Each is measured closed-loop (max throughput) and open-loop at RATE req/s.
#
#   bench/run.sh            # DURATION=10s RATE=2000 CONCURRENCY=64 REPEAT=3 by default
#
# Needs redis-server on PATH (a private one is started on a free port).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
RATE=${RATE:-2000}
CONCURRENCY=${CONCURRENCY:-64}
REPEAT=${REPEAT:-3} # closed-loop runs per case (the machine is shared: take the median)
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/wecomply" .
go build -o "$work/load" ./bench/load

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work" --save "" --appendonly yes --appendfsync everysec \
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
TOML
}

# cpu PID: CPU time (user+system) of a process so far, in clock ticks.
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run_case() { # name backend baseline suffix
	write_config "$1" "$2" "$3"
	"$work/wecomply" serve -config "$work/$1.toml" 2>"$work/$1.log" &
	local pid=$!
	local url; url=$(sed -n 's/^listen = "\(.*\)"/http:\/\/\1/p' "$work/$1.toml")
	for _ in $(seq 100); do curl -fs "$url/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
	for rate in $(printf '0 %.0s' $(seq "$REPEAT")) "$RATE"; do
		local s0 r0; s0=$(cpu "$pid"); r0=$(cpu "$redis_pid")
		"$work/load" -config "$work/$1.toml" -suffix "$4" -label "$1" -duration "$DURATION" -concurrency "$CONCURRENCY" -rate "$rate"
		sleep 1 # let the workers drain what was accepted
		echo "    cpu ticks (1/$(getconf CLK_TCK) s): wecomply $(($(cpu "$pid") - s0)), redis-server $(($(cpu "$redis_pid") - r0))"
	done
	kill -TERM "$pid"; wait "$pid" || true
}

echo "# $(date -u +%FT%TZ) $(nproc) cores, $(go version | cut -d' ' -f3), duration $DURATION, concurrency $CONCURRENCY"
run_case embedded embedded false ""
run_case redis redis false ""
run_case baseline embedded true "/baseline"
