#!/bin/bash
# tests/cluster/election_jeopardy.sh: libcoord's "leadership lost"
# callback follows the session's states: with every node stopped
# (SIGSTOP), no keepalive is answered, and the leader's `coordctl elect`
# (which prints what the callback tells) says "in jeopardy" first, then
# "lost", each once, and exits 1 saying "leadership lost".
# shellcheck source=tests/cluster/election_lib.sh
. "$(dirname "$0")/election_lib.sh"
cl_init election_jeopardy
lk_start
D=$CL_DIR

"$COORDCTL" --endpoints "$(cl_endpoints)" elect --ttl 2 svc host-a >"$D/a.out" 2>&1 &
A=$!
lk_bg "$A"
el_wait_line "$D/a.out" '^elected svc token '
for i in 1 2 3; do kill -STOP "$(cl_pid "$i")"; done
el_wait_line "$D/a.out" 'leadership of svc \(token [0-9]+\) lost$'
for i in 1 2 3; do kill -CONT "$(cl_pid "$i")"; done
lk_wait_exit "$A"
[ "$LK_STATUS" -eq 1 ] || fail "A exited $LK_STATUS, not 1: $(cat "$D/a.out")"
[ "$(grep -c 'in jeopardy' "$D/a.out")" -eq 1 ] || fail "jeopardy told not once: $(cat "$D/a.out")"
[ "$(grep -c ') lost$' "$D/a.out")" -eq 1 ] || fail "lost told not once: $(cat "$D/a.out")"
first=$(grep -n 'in jeopardy' "$D/a.out" | cut -d: -f1)
second=$(grep -n ') lost$' "$D/a.out" | cut -d: -f1)
[ "$first" -lt "$second" ] || fail "lost before jeopardy: $(cat "$D/a.out")"
grep -q 'leadership lost: svc' "$D/a.out" || fail "no leadership lost: $(cat "$D/a.out")"
echo "election_jeopardy: the callback told jeopardy, then lost"
