#!/usr/bin/env bash
# One reminder run over MEMBERS people, 30% open (issue 5): wall time,
# send calls and the server's peak RSS, on the embedded store and on Redis.
#
#   bench/remind.sh            # MEMBERS=100000
exec "$(dirname "$0")/stores.sh" remind -members "${MEMBERS:-100000}"
