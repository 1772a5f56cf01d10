#!/bin/bash
# tests/fault/lock.sh: the lock + fencing workload for 20 s under kill -9,
# pauses and partitions on a 3-node cluster (tests/fault/run.sh), with
# clients that pause past their TTL themselves, judged by check_lock.py.
exec bash "$(dirname "$0")/run.sh" lock --duration 20
