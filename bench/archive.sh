#!/usr/bin/env bash
# The session archive's numbers for issue 11, on the embedded (bbolt)
# backend and on PostgreSQL, in one process (bench/archive): messages
# stored per second by the whole puller path from the fake archive
# (Workers 1 and GOMAXPROCS, with a CPU profile's top), the bulk load of
# N realistic messages, search p50/p95/p99 through archive.Archive.Search
# (a person, a 30-day window, two terms), bytes on disk per message and
# peak RSS. PostgreSQL databases are created on PG (an admin DSN, default
# the machine's 127.0.0.1:5432, user postgres) and dropped at the end.
#
#   bench/archive.sh                          # N=1000000 PULL=50000 QUERIES=200, both backends
#   N=100000 bench/archive.sh -backend embedded
#   TAGS=msgaudit bench/archive.sh ...       # the production build: the RSA step in OpenSSL
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -tags "${TAGS:-}" -o "$work/archive" ./bench/archive
case ",${TAGS:-}," in
*,msgaudit,*)
	# The msgaudit build links the SDK's .so, which the silenceper module ships.
	msgaudit_lib="$(go list -m -f '{{.Dir}}' github.com/silenceper/wechat/v2)/work/msgaudit/lib"
	export LD_LIBRARY_PATH="$msgaudit_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
	;;
esac
exec_args=(-n "${N:-1000000}" -pull "${PULL:-50000}" -queries "${QUERIES:-200}" -dir "$work")
[ -n "${PG:-}" ] && exec_args+=(-pg "$PG")
echo "# bench/archive.sh: build tags \"${TAGS:-}\""
"$work/archive" "${exec_args[@]}" "$@"
