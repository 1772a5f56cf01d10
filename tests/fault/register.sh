#!/bin/bash
# tests/fault/register.sh: the register workload (reads, writes, cas) for
# 45 s on a 3-node cluster (tests/fault/run.sh) under every nemesis in
# turn (--nemesis all --schedule cycle: kill -9, pauses, partitions, wall-
# clock steps, failing syncs, crashes at failpoints, member removal and
# re-add, leader transfer; the run fails unless each took effect at least
# once), seed 1001, judged by check_register.py.
exec bash "$(dirname "$0")/run.sh" register --duration 45 --nemesis all --schedule cycle --seed 1001
