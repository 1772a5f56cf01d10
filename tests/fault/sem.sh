#!/bin/bash
# tests/fault/sem.sh: the semaphore workload (2 permits), with clients
# that pause past their TTL holding a permit themselves, for 45 s on a
# 3-node cluster (tests/fault/run.sh) under every nemesis in turn
# (--nemesis all --schedule cycle: kill -9, pauses, partitions, wall-clock
# steps, failing syncs, crashes at failpoints, member removal and re-add,
# leader transfer; the run fails unless each took effect at least once),
# seed 4242, judged by check_sem.py.
exec bash "$(dirname "$0")/run.sh" semaphore --duration 45 --nemesis all --schedule cycle --seed 4242
