#!/bin/bash
# tests/fault/clock.sh: clock faults through libfaketime on a 3-node
# cluster (tests/fault/run.sh), 20 s each:
# - the session workload with every node's clocks 0.9 % fast, inside
#   the 1 % --lease-drift-ppm allowance, under kill -9, pauses and
#   partitions: no session ended before its client's deadline;
# - the lock workload with wall-clock steps of up to an hour on random
#   nodes, with kill -9, pauses and partitions.
# Skipped (77) without libfaketime.
here=$(dirname "$0")
bash "$here/run.sh" session --duration 20 --clock-rate 9000 || exit $?
exec bash "$here/run.sh" lock --duration 20 --nemesis clock,kill,pause,partition
