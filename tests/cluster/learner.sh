#!/bin/bash
# tests/cluster/learner.sh: a member added with --learner catches up and
# serves (stale-allowed) reads but stays a learner -- never promoted by
# the leader -- until `member promote`, after which it counts in the
# quorum.
. "$(dirname "$0")/lib.sh"
cl_init learner
j=0   # cl_wait_converged counts in j (set -u)
cl_start 3
for i in $(seq 1 20); do
	cl_ctl put "l/$i" "$i" >/dev/null || fail "put l/$i"
done
members() { cl_ctl --json member list; }

CL_N=4
out=$(cl_ctl member add n4 "127.0.0.1:$(cl_port 4 1)" --client-addr "127.0.0.1:$(cl_port 4 0)" \
	--learner) || fail "member add n4 --learner"
cl_node_start 4 --join --cluster-id "$(printf '%s\n' "$out" | sed -n 's/.*--cluster-id //p')"
members | grep -q '"name":"n4"[^}]*"learner":true' || fail "n4 not a learner: $(members)"
cl_wait_converged >/dev/null
[ "$(cl_ctl_node 4 get l/20 --serializable | sed -n 2p)" = 20 ] || fail "learner n4 lacks l/20"
# Caught up, it is still a learner after a while (the leader promotes
# only members added without --learner).
sleep 1.5
members | grep -q '"name":"n4"[^}]*"learner":true' || fail "learner n4 promoted by itself: $(members)"

cl_ctl member promote n4 >/dev/null || fail "member promote n4"
j=0
until members | grep -q '"name":"n4"[^}]*"learner":false'; do
	j=$((j + 1))
	[ $j -lt 600 ] || fail "n4 not a voter 60 s after promote: $(members)"
	sleep 0.1
done
# A voter now, n4 counts in the quorum: with n4 and one of the first
# three stopped, 2 of 4 voters are left and a write cannot commit (as a
# learner, n4's absence would not matter: 2 of 3).
l=$(cl_leader)
f=$(( l % 3 + 1 ))
cl_kill 4 TERM
cl_kill "$f" TERM
CL_TIMEOUT_MS=2000 cl_ctl put no-quorum x >/dev/null 2>&1 &&
	fail "a write committed with 2 of 4 voters"
cl_node_start 4
cl_ctl put after-promote yes >/dev/null || fail "put with n4 back (3 of 4)"
cl_node_start "$f"
cl_wait_converged >/dev/null
[ "$(cl_ctl_node 4 get after-promote --serializable | sed -n 2p)" = yes ] ||
	fail "n4 lacks after-promote"
# The configuration holds at most 16 members (RAFT_NODES_MAX): learners
# that never run fill it to 16; a 17th is refused before anything changes.
for i in $(seq 1 12); do
	cl_ctl member add "ghost$i" "127.0.0.1:$((CL_BASE + 30 + i))" --learner >/dev/null ||
		fail "adding learner ghost$i"
done
cl_ctl member add ghost13 127.0.0.1:9 --learner >/dev/null 2>&1 &&
	fail "a 17th member was added"
[ "$(cl_ctl --json member list | grep -o '"id"' | wc -l)" = 16 ] ||
	fail "member list: $(cl_ctl member list)"
cl_ctl put after-full yes >/dev/null || fail "put with 16 members"
# Refused before the member table changed: nobody dials ghost13.
! grep -q "peer ghost13" "$CL_DIR"/n*.log || fail "ghost13 reached the member table"
echo "PASS: learner (n4 a learner until promoted, then a voter)"
