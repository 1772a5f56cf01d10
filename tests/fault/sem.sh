#!/bin/bash
# tests/fault/sem.sh: the semaphore workload (2 permits) for 16 s under
# kill -9, pauses and partitions on a 3-node cluster (tests/fault/run.sh),
# with clients that pause past their TTL holding a permit themselves,
# judged by check_sem.py.
exec bash "$(dirname "$0")/run.sh" semaphore --duration 16 --seed 4242
