#!/bin/bash
# tests/fault/election.sh: the election workload (4 candidates, 2
# observers) for 16 s under kill -9, pauses and partitions on a 3-node
# cluster (tests/fault/run.sh), with leaders that pause past their TTL
# themselves, judged by check_election.py.
exec bash "$(dirname "$0")/run.sh" election --duration 16 --seed 1717
