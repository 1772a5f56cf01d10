#!/bin/bash
# tests/cluster/snapshot.sh: a node down while the others write far past
# their log compaction (--snapshot-entries 50) catches up, once
# restarted, by a snapshot streamed in chunks; then follows new writes.
. "$(dirname "$0")/lib.sh"
cl_init snapshot
cl_start 3 --snapshot-entries 50

l=$(cl_leader)
f=$(( l % 3 + 1 ))
cl_ctl put before yes >/dev/null || fail "put before"
cl_wait_converged >/dev/null
cl_kill "$f" KILL
for i in $(seq 1 150); do
	cl_ctl put "bulk/$i" "value-$i" >/dev/null || fail "put bulk/$i"
done
grep -q "coord_snapshots_made_total [1-9]" <(cl_http "$l" /metrics) ||
	fail "the leader did not compact its log"
cl_node_start "$f"
set -- $(cl_wait_converged)
echo "n$f converged at applied index $1, state hash $2"
grep -q "installed snapshot" "$CL_DIR/n$f.log" || fail "n$f did not install a snapshot"
grep -q "coord_snapshots_installed_total 1" <(cl_http "$f" /metrics) ||
	fail "n$f reports no installed snapshot"
[ "$(cl_ctl_node "$f" get bulk/150 --serializable | sed -n 2p)" = value-150 ] ||
	fail "n$f lacks bulk/150"
cl_ctl put after yes >/dev/null || fail "put after"
cl_wait_converged >/dev/null
[ "$(cl_ctl_node "$f" get after --serializable | sed -n 2p)" = yes ] ||
	fail "n$f does not follow new writes"
echo "PASS: snapshot"
