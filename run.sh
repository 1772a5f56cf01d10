#!/bin/sh
# The main job: builds coord (optimised, in _build-run/) and runs it. For
# now coord is its Raft core, so this runs the deterministic cluster
# simulator on one seed, narrating elections, faults and commits, then a
# sweep of seeds with every safety checker on.
set -e
cd "$(dirname "$0")"
sh build-aux/deps.sh
[ -x configure ] || ./autogen.sh >/dev/null
mkdir -p _build-run
cd _build-run
[ -f Makefile ] || ../configure CFLAGS="-O2 -g" >/dev/null
make -j"$(nproc)" tests/sim/raft_sim >/dev/null
./tests/sim/raft_sim --seed "${SEED:-42}" --verbose
./tests/sim/raft_sim --seeds "${SEEDS:-200}"
