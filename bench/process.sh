#!/usr/bin/env bash
# Events/s processed end to end with the policy on (issue 10): EVENTS
# preloaded events of a realistic mix drained by a real `wecomply serve`,
# with its peak RSS and a CPU profile's top, on the embedded store and on
# Redis (see bench/stores.sh; BEFORE=<revision> runs that revision's
# server first on each store, then this tree's).
#
#   bench/process.sh                         # EVENTS=10000 MEMBERS=1000
#   BEFORE=main bench/process.sh             # before/after, per store
#   bench/process.sh -workers 32             # more flags for bench/process
exec "$(dirname "$0")/stores.sh" process -events "${EVENTS:-10000}" -members "${MEMBERS:-1000}" "$@"
