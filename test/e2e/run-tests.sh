#!/bin/sh
# The end-to-end suites, in two runs:
# - most suites two at a time: each starts whole systems, but spends most of its time waiting on them
#   (clock-driven lifecycles, deployments, polls: the machine is about a quarter busy with one suite at a time);
# - then the two whose subject is timing under stress, one at a time on an otherwise quiet machine: the kill
#   storm (every process killed every 10 s for 3 minutes) and the outages (503 within 2 s, recovery with no restart).
# With arguments (a test path pattern, -t …), one run of what they select, one suite at a time.
export NODE_OPTIONS='--experimental-vm-modules --no-warnings'
if [ "$#" -gt 0 ]; then exec jest --runInBand "$@"; fi
SERIAL='kill-storm|outage'
jest --maxWorkers=2 --testPathIgnorePatterns "$SERIAL"
paired=$?
jest --runInBand --testPathPatterns "$SERIAL"
serial=$?
[ "$paired" -eq 0 ] && [ "$serial" -eq 0 ]
