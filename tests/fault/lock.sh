#!/bin/bash
# tests/fault/lock.sh: the lock + fencing workload, with clients that
# pause past their TTL themselves, for 45 s on a 3-node cluster
# (tests/fault/run.sh) under every nemesis in turn (--nemesis all
# --schedule cycle: kill -9, pauses, partitions, wall-clock steps, failing
# syncs, crashes at failpoints, member removal and re-add, leader
# transfer; the run fails unless each took effect at least once), seed
# 1003, judged by check_lock.py.
exec bash "$(dirname "$0")/run.sh" lock --duration 45 --nemesis all --schedule cycle --seed 1003
