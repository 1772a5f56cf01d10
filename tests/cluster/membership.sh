#!/bin/bash
# tests/cluster/membership.sh: grow a 3-node cluster to 4 and shrink it
# back. The new node (started with --join) is added as a learner, catches
# up by a snapshot (the others compacted their logs), and is promoted to
# voter once caught up; then the leader itself is removed, steps down,
# and the three that remain serve reads and writes.
. "$(dirname "$0")/lib.sh"
cl_init membership
cl_start 3 --snapshot-entries 50

for i in $(seq 1 120); do
	cl_ctl put "m/$i" "$i" >/dev/null || fail "put m/$i"
done

# n4 joins, with the cluster id member add printed.
CL_N=4
out=$(cl_ctl member add n4 "127.0.0.1:$(cl_port 4 1)" --client-addr "127.0.0.1:$(cl_port 4 0)") ||
	fail "member add n4"
cid=$(printf '%s\n' "$out" | sed -n 's/.* --join --cluster-id \([0-9a-f]\{16\}\)$/\1/p')
[ -n "$cid" ] || fail "member add printed no cluster id: $out"
cl_node_start 4 --join --cluster-id "$cid"
j=0
until cl_ctl --json member list | grep -q '"name":"n4"[^}]*"learner":false'; do
	j=$((j + 1))
	[ $j -lt 600 ] || fail "n4 was not promoted to voter within 60 s: $(cl_ctl member list)"
	sleep 0.1
done
set -- $(cl_wait_converged)
echo "4 nodes converged at applied index $1, state hash $2"
grep -q "installed snapshot" "$CL_DIR/n4.log" || fail "n4 did not catch up by snapshot"
[ "$(cl_ctl_node 4 get m/120 --serializable | sed -n 2p)" = 120 ] || fail "n4 lacks m/120"
[ "$(cl_ctl --json member list | grep -o '"id"' | wc -l)" = 4 ] || fail "member list: $(cl_ctl member list)"
# Adding n4 again at its address is a no-op; at another one, refused; a
# name that is no member cannot be promoted.
cl_ctl member add n4 "127.0.0.1:$(cl_port 4 1)" >/dev/null || fail "re-adding n4 as it is"
cl_ctl member add n4 127.0.0.1:9 >/dev/null 2>&1 && fail "n4 re-added at another address"
cl_ctl member promote nobody >/dev/null 2>&1 && fail "a non-member was promoted"
[ "$(cl_ctl --json member list | grep -o '"id"' | wc -l)" = 4 ] || fail "member list changed: $(cl_ctl member list)"
cl_ctl put still-ok yes >/dev/null || fail "put after the refused changes"

# The leader is removed; the rest carry on.
l=$(cl_leader)
cl_ctl member remove "n$l" || fail "member remove n$l"
j=0
while cl_ctl --json member list | grep -q "\"name\":\"n$l\""; do
	j=$((j + 1))
	[ $j -lt 600 ] || fail "n$l still listed 60 s after its removal"
	sleep 0.1
done
cl_kill "$l" TERM
[ "$CL_STATUS" -eq 0 ] || fail "removed n$l exited $CL_STATUS"
l2=$(cl_leader)
[ "$l2" != "$l" ] || fail "the removed node still leads"
cl_ctl put after-remove yes >/dev/null || fail "put after the removal"
[ "$(cl_ctl get after-remove | sed -n 2p)" = yes ] || fail "get after the removal"
[ "$(cl_ctl --json member list | grep -o '"id"' | wc -l)" = 3 ] || fail "member list: $(cl_ctl member list)"
cl_wait_converged >/dev/null
echo "PASS: membership (n4 added and promoted, n$l removed; leader now n$l2)"
