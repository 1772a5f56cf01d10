#!/bin/bash
# tests/fault/membership.sh: the register workload for 15 s (seed 12) on
# a 3-node cluster (tests/fault/run.sh) while nodes are removed, wiped
# and added back (member) and the leadership is moved (transfer).
exec bash "$(dirname "$0")/run.sh" register --duration 15 --nemesis member,transfer --seed 12
