#!/bin/bash
# tests/fault/clock.sh: the session workload for 20 s on a 3-node cluster
# (tests/fault/run.sh) with every node's clocks 0.9 % fast through
# libfaketime, inside the 1 % --lease-drift-ppm allowance, under kill -9,
# pauses and partitions: no session ended before its client's deadline.
# (Wall-clock steps, the clock nemesis, are in every workload's run:
# register.sh, lock.sh ...) Skipped (77) without libfaketime.
exec bash "$(dirname "$0")/run.sh" session --duration 20 --clock-rate 9000 --seed 1006
