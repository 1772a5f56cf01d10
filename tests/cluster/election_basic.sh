#!/bin/bash
# tests/cluster/election_basic.sh: an election end to end with coordctl
# (issue 9, Elections): the first campaign is elected, the next waits;
# the leader proclaims (lines on its stdin) and its fenced writes apply;
# resigning (SIGTERM) elects the next candidate with a larger token, and
# the old token no longer fences; the last resign leaves no leader. Bad
# input gets named errors and changes nothing: an empty name, an
# oversized value, a write into the reserved key space, a stale fence.
# A campaign that times out while queued fails and leaves the queue.
# `coordctl elect NAME VALUE -- CMD` runs CMD as leader, exits with its
# status and resigns.
# shellcheck source=tests/cluster/election_lib.sh
. "$(dirname "$0")/election_lib.sh"
cl_init election_basic
lk_start
D=$CL_DIR
EP=$(cl_endpoints)

el_leader svc | grep -q '^no leader svc token 0 ' || fail "a leader at start: $(el_leader svc)"

mkfifo "$D/a.in"
exec 7<>"$D/a.in"
"$COORDCTL" --endpoints "$EP" elect --ttl 5 svc host-a <"$D/a.in" >"$D/a.out" 2>&1 &
A=$!
lk_bg "$A"
el_wait_line "$D/a.out" '^elected svc token [0-9]+ session [0-9]+$'
tok_a=$(awk '/^elected/ {print $4}' "$D/a.out")
sess_a=$(awk '/^elected/ {print $6}' "$D/a.out")
el_leader svc | grep -Eq "^leader svc session $sess_a token $tok_a revision $tok_a candidates 0 value host-a\$" ||
	fail "leader after A's campaign: $(el_leader svc)"

"$COORDCTL" --endpoints "$EP" elect --ttl 5 svc host-b >"$D/b.out" 2>&1 &
B=$!
lk_bg "$B"
el_wait_candidates svc 1

# The leader proclaims; the value changes, the token stays.
echo host-a2 >&7
el_wait_line "$D/a.out" '^coordctl: proclaimed host-a2$'
el_leader svc | grep -Eq "^leader svc session $sess_a token $tok_a revision [0-9]+ candidates 1 value host-a2\$" ||
	fail "leader after the proclaim: $(el_leader svc)"
cl_ctl put --fence-election "svc=$tok_a" owner a >/dev/null ||
	fail "the leader's fenced put was refused"

# Bad input: named errors, nothing changes.
rev=$(el_leader svc | awk '{print $8}')
cl_ctl elect --leader "" >"$D/bad1.out" 2>&1 && fail "an empty name was accepted"
grep -q COORD_EINVAL "$D/bad1.out" || fail "empty name: $(cat "$D/bad1.out")"
big=$(head -c 70000 /dev/zero | tr '\0' x)
"$COORDCTL" --endpoints "$EP" elect svc2 "$big" >"$D/bad2.out" 2>&1 && fail "an oversized value was elected"
grep -q COORD_EVALUETOOBIG "$D/bad2.out" || fail "oversized value: $(cat "$D/bad2.out")"
cl_ctl put "$(printf '\377\377coord/election/svc')" forged >"$D/bad3.out" 2>&1 &&
	fail "a put into the reserved key space was applied"
grep -q COORD_EKEYRESERVED "$D/bad3.out" || fail "reserved put: $(cat "$D/bad3.out")"
cl_ctl del "" --prefix >/dev/null || fail "del --prefix failed"
cl_ctl put --fence-election "svc=$((tok_a + 1))" owner x >"$D/bad4.out" 2>&1 &&
	fail "a put fenced by a token that never led was applied"
grep -q COORD_EFENCED "$D/bad4.out" || fail "stale fence: $(cat "$D/bad4.out")"
el_leader svc | grep -Eq "^leader svc session $sess_a token $tok_a revision $rev candidates 1 value host-a2\$" ||
	fail "bad input changed the leader: $(el_leader svc)"
el_leader svc2 | grep -q '^no leader svc2 ' || fail "svc2 has a leader: $(el_leader svc2)"
# A campaign whose timeout passes while queued fails and leaves the
# queue (libcoord's cancel).
"$COORDCTL" --endpoints "$EP" elect --timeout 1 svc host-t >"$D/t.out" 2>&1 && fail "a timed-out campaign succeeded"
grep -q COORD_ETIMEDOUT "$D/t.out" || fail "timed-out campaign: $(cat "$D/t.out")"
el_leader svc | grep -Eq " candidates 1 " || fail "the timed-out candidate stayed queued: $(el_leader svc)"

# A resigns: B is elected, with a larger token; A's token fences no more.
kill -TERM "$A"
lk_wait_exit "$A"
[ "$LK_STATUS" -eq 0 ] || fail "A exited $LK_STATUS: $(cat "$D/a.out")"
el_wait_line "$D/b.out" "^elected svc token [0-9]+ session [0-9]+$"
tok_b=$(awk '/^elected/ {print $4}' "$D/b.out")
[ "$tok_b" -gt "$tok_a" ] || fail "B's token $tok_b is not above A's $tok_a"
el_leader svc | grep -Eq "^leader svc session [0-9]+ token $tok_b revision $tok_b candidates 0 value host-b\$" ||
	fail "leader after A resigned: $(el_leader svc)"
cl_ctl put --fence-election "svc=$tok_a" owner a >"$D/stale.out" 2>&1 &&
	fail "A's fenced put after its resign was applied"
grep -q COORD_EFENCED "$D/stale.out" || fail "A's stale put: $(cat "$D/stale.out")"

kill -TERM "$B"
lk_wait_exit "$B"
[ "$LK_STATUS" -eq 0 ] || fail "B exited $LK_STATUS: $(cat "$D/b.out")"
el_leader svc | grep -q "^no leader svc token 0 " || fail "a leader after the last resign: $(el_leader svc)"

# With a command: it runs as leader with the election and the token in
# its environment; its exit status is coordctl's, and it resigns.
cl_ctl elect job v -- sh -c 'echo "$COORD_ELECTION $COORD_FENCING_TOKEN"; exit 3' >"$D/cmd.out" 2>&1
st=$?
[ "$st" -eq 3 ] || fail "elect -- CMD exited $st: $(cat "$D/cmd.out")"
tok=$(awk '/^elected job/ {print $4}' "$D/cmd.out")
grep -q "^job $tok\$" "$D/cmd.out" || fail "CMD's environment: $(cat "$D/cmd.out")"
el_leader job | grep -q '^no leader job ' || fail "not resigned: $(el_leader job)"
echo "election_basic: tokens $tok_a then $tok_b; bad input refused"
