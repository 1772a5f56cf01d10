#!/bin/bash
# tests/cluster/election_paused.sh: a leader stopped (SIGSTOP) past its
# TTL loses the election: the next candidate is elected with a larger
# token. Resumed, the old leader's proclaim (a line on its stdin, read
# before it looks at its state) is refused with COORD_ENOTELECTED and
# changes nothing, its token no longer fences a write (COORD_EFENCED),
# and its `coordctl elect` says "leadership lost" and exits 1.
# shellcheck source=tests/cluster/election_lib.sh
. "$(dirname "$0")/election_lib.sh"
cl_init election_paused
lk_start
D=$CL_DIR
EP=$(cl_endpoints)

mkfifo "$D/a.in"
exec 7<>"$D/a.in"
"$COORDCTL" --endpoints "$EP" elect --ttl 1 cron host-a <"$D/a.in" >"$D/a.out" 2>&1 &
A=$!
lk_bg "$A"
el_wait_line "$D/a.out" '^elected cron token '
tok_a=$(awk '/^elected/ {print $4}' "$D/a.out")
"$COORDCTL" --endpoints "$EP" elect --ttl 5 cron host-b >"$D/b.out" 2>&1 &
B=$!
lk_bg "$B"
el_wait_candidates cron 1

kill -STOP "$A"
el_wait_line "$D/b.out" '^elected cron token '
tok_b=$(awk '/^elected/ {print $4}' "$D/b.out")
[ "$tok_b" -gt "$tok_a" ] || fail "B's token $tok_b is not above A's $tok_a"
rev=$(el_leader cron | awk '{print $8}')

echo late >&7
kill -CONT "$A"
lk_wait_exit "$A"
[ "$LK_STATUS" -eq 1 ] || fail "A exited $LK_STATUS, not 1: $(cat "$D/a.out")"
grep -q 'proclaim: .*COORD_ENOTELECTED' "$D/a.out" || fail "A's late proclaim: $(cat "$D/a.out")"
grep -q 'proclaimed late' "$D/a.out" && fail "A's late proclaim was applied: $(cat "$D/a.out")"
grep -q 'leadership lost: cron' "$D/a.out" || fail "A did not say leadership lost: $(cat "$D/a.out")"
el_leader cron | grep -Eq "^leader cron session [0-9]+ token $tok_b revision $rev candidates 0 value host-b\$" ||
	fail "the leader changed: $(el_leader cron)"
cl_ctl put --fence-election "cron=$tok_a" owner a >"$D/stale.out" 2>&1 &&
	fail "the paused leader's fenced put (token $tok_a) was applied"
grep -q COORD_EFENCED "$D/stale.out" || fail "stale put: $(cat "$D/stale.out")"
cl_ctl put --fence-election "cron=$tok_b" owner b >/dev/null || fail "B's fenced put was refused"
echo "election_paused: $tok_a then $tok_b; the paused leader's proclaim and write were refused"
