#!/bin/bash
# tests/fault/disk.sh: the register workload for 15 s (seed 11) on a
# 3-node cluster (tests/fault/run.sh) under the failpoint nemeses: nodes
# restarted with a failing fdatasync (disk: they stop themselves) or a
# crash after persisting, after sending, or half-way through a snapshot
# install (crash). Skipped (77) when coordd has no failpoints.
here=$(dirname "$0")
top_builddir=${top_builddir:-$here/../../_build}
nm "$top_builddir/coordd/coordd" 2>/dev/null | grep -q ' failpoint_hit$' ||
	{ echo "SKIP: coordd has no failpoints (./configure --enable-failpoints)"; exit 77; }
exec bash "$here/run.sh" register --duration 15 --nemesis disk,crash --seed 11
