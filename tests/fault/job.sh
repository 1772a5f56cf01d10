#!/bin/bash
# tests/fault/job.sh: the job queue workload, with workers that pause past
# their TTL holding a claim themselves, for 45 s on a 3-node cluster
# (tests/fault/run.sh) under every nemesis in turn (--nemesis all
# --schedule cycle: kill -9, pauses, partitions, wall-clock steps, failing
# syncs, crashes at failpoints, member removal and re-add, leader
# transfer; the run fails unless each took effect at least once), seed
# 1004, judged by check_job.py.
exec bash "$(dirname "$0")/run.sh" job --duration 45 --nemesis all --schedule cycle --seed 1004
