#!/bin/bash
# tests/fault/watch.sh: the watch workload for 20 s under kill -9, pauses and
# partitions on a 3-node cluster (tests/fault/run.sh), judged by its checker.
exec bash "$(dirname "$0")/run.sh" watch --duration 20
