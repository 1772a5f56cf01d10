#!/bin/bash
# tests/fault/election.sh: the election workload (4 candidates, 2
# observers), with leaders that pause past their TTL themselves, for 45 s
# on a 3-node cluster (tests/fault/run.sh) under every nemesis in turn
# (--nemesis all --schedule cycle: kill -9, pauses, partitions, wall-clock
# steps, failing syncs, crashes at failpoints, member removal and re-add,
# leader transfer; the run fails unless each took effect at least once),
# seed 1717, judged by check_election.py.
exec bash "$(dirname "$0")/run.sh" election --duration 45 --nemesis all --schedule cycle --seed 1717
