#!/bin/bash
# tests/fault/replay.sh: a seed replays its faults. Two 10 s runs of the
# register workload with seed 4006 under kill, pauses and partitions
# (tests/fault/run.sh): the first three faults (as many as both runs
# had) are the same kinds in the same order, the kills of the same nodes
# (a pause's or a partition's victim may be "the leader", which the seed
# does not choose).
here=$(dirname "$0")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/coord-fault-replay.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for r in 1 2; do
	bash "$here/run.sh" register --duration 10 --seed 4006 >"$tmp/run$r.out" 2>&1 ||
		{ cat "$tmp/run$r.out"; exit 1; }
	# The faults, without their times and leader-dependent victims.
	sed -n 's/^[0-9:.]* \(kill -9 n[0-9]*\|pause\|partition\).*/\1/p' "$tmp/run$r.out" |
		head -3 >"$tmp/faults$r"
done
# A loaded machine may fit fewer faults in (a kill waits for the node's
# exit): the runs are compared as far as both went, at least one fault.
[ "$(wc -l <"$tmp/faults1")" -ge 1 ] || { echo "FAIL: no fault in 10 s"; cat "$tmp/run1.out"; exit 1; }
n=$(wc -l <"$tmp/faults1")
[ "$(wc -l <"$tmp/faults2")" -ge "$n" ] || n=$(wc -l <"$tmp/faults2")
if [ "$(head -"$n" "$tmp/faults1")" != "$(head -"$n" "$tmp/faults2")" ]; then
	echo "FAIL: seed 4006 gave other faults:"
	paste "$tmp/faults1" "$tmp/faults2"
	exit 1
fi
echo "PASS: seed 4006 replayed its first $n faults: $(head -"$n" "$tmp/faults1" | tr '\n' ';')"
