#!/usr/bin/env bash
# One notice to MEMBERS people (issue 3): API calls, wall time and the
# server's peak RSS, on the embedded store and on Redis.
#
#   bench/notify.sh            # MEMBERS=100000
exec "$(dirname "$0")/stores.sh" notify -members "${MEMBERS:-100000}"
