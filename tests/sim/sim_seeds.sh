#!/bin/sh
# tests/sim/sim_seeds.sh: raft_sim over seeds 1..2000 (SIM_SEEDS overrides).
# Every seed runs the full fault schedule, the checkers after every step and
# the liveness check after healing; the exit status is raft_sim's.
set -u
bin=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/sim/raft_sim
exec "$bin" --seeds "${SIM_SEEDS:-2000}"
