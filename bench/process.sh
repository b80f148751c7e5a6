#!/usr/bin/env bash
# Events/s processed end to end with the policy on (issue 10): EVENTS
# preloaded events of a realistic mix drained by a real `wecomply serve`,
# with its peak RSS and a CPU profile's top, on the embedded store and on
# Redis (appendfsync always).
#
#   bench/process.sh                 # EVENTS=30000 MEMBERS=2000
#   bench/process.sh -workers 32     # more flags for bench/process
exec "$(dirname "$0")/stores.sh" process -events "${EVENTS:-30000}" -members "${MEMBERS:-2000}" "$@"
