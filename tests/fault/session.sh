#!/bin/bash
# tests/fault/session.sh: the session workload, with clients that stop
# their keepalives for 1.5 TTL themselves, for 45 s on a 3-node cluster
# (tests/fault/run.sh) under every nemesis in turn (--nemesis all
# --schedule cycle: kill -9, pauses, partitions, wall-clock steps, failing
# syncs, crashes at failpoints, member removal and re-add, leader
# transfer; the run fails unless each took effect at least once), seed
# 1005, judged by check_session.py.
exec bash "$(dirname "$0")/run.sh" session --duration 45 --nemesis all --schedule cycle --seed 1005
