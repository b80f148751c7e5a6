#!/usr/bin/env bash
# One reminder run over MEMBERS people, 30% open (issue 5): wall time,
# send calls and the server's peak RSS, on the embedded store and on Redis.
# More flags of bench/remind follow, e.g. the share due at the run:
#
#   bench/remind.sh              # MEMBERS=100000, every open one due
#   bench/remind.sh -due 0.01    # 1% of the members due, 29% open but reminded the day before
exec "$(dirname "$0")/stores.sh" remind -members "${MEMBERS:-100000}" "$@"
