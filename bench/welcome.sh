#!/usr/bin/env bash
# The customer welcome under load (issue: add_external_contact →
# send_welcome_msg at p99 under 500 callbacks/s, target < 1 s): latency,
# missing and failed welcomes, the background's achieved rate and callback
# p99, and the server's peak RSS, on the embedded store and on Redis.
#
#   bench/welcome.sh                          # RATE=500 ADDS=10 DURATION=30s
#   STORES=redis RATE=200 bench/welcome.sh
#
# Needs redis-server on PATH (a private one is started on a free port).
exec "$(dirname "$0")/stores.sh" welcome -rate "${RATE:-500}" -adds "${ADDS:-10}" -duration "${DURATION:-30s}"
