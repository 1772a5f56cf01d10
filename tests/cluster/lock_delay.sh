#!/bin/bash
# tests/cluster/lock_delay.sh: lock-delay end to end. A holder that took
# the lock with --lock-delay 2 is stopped (SIGSTOP) past its TTL: its
# session expires, and the queued waiter is not granted while `lock
# status` shows no holder and lock-delay left; when the delay ends the
# leader's QUEUE_KICK grants it, with a larger token. Each node read every
# queue for its kick timers at most once per leader change
# (coord_queue_wake_scans_total): applied commands kept them.
# shellcheck source=tests/cluster/lock_lib.sh
. "$(dirname "$0")/lock_lib.sh"
cl_init lock_delay
lk_start
D=$CL_DIR

lk_holder_and_waiter job --lock-delay 2
A=$LK_A
B=$LK_B
tok_a=$LK_TOK_A

# A's session expires; B waits out the delay with nobody holding.
kill -STOP "$A"
dl=$(cl_deadline "$CL_WAIT_S")
until cl_ctl lock status job >"$D/st" 2>&1 &&
	grep -Eq '0 holder\(s\), 1 waiter\(s\), lock-delay left [1-9][0-9]* ms' "$D/st"; do
	[ -e "$D/b.tok" ] && fail "B was granted before the lock-delay showed: $(cat "$D/st")"
	[ "$(date +%s)" -lt "$dl" ] || fail "no lock-delay after A's expiry: $(cat "$D/st")"
	sleep 0.05
done
lk_wait_file "$D/b.tok"
tok_b=$(cat "$D/b.tok")
[ "$tok_b" -gt "$tok_a" ] || fail "B's token $tok_b is not above A's $tok_a"
lk_wait_exit "$B"
[ "$LK_STATUS" -eq 0 ] || fail "B exited $LK_STATUS: $(cat "$D/b.out")"

kicks=0
for i in 1 2 3; do
	cl_http "$i" /metrics >"$D/m$i" || fail "n$i: no /metrics"
	k=$(awk '$1 == "coord_queue_kicks_total" { print $2 }' "$D/m$i")
	s=$(awk '$1 == "coord_queue_wake_scans_total" { print $2 }' "$D/m$i")
	c=$(awk '$1 == "coord_raft_leader_changes_total" { print $2 }' "$D/m$i")
	if [ -z "$k" ] || [ -z "$s" ] || [ -z "$c" ]; then fail "n$i: metrics missing"; fi
	[ "$s" -le "$c" ] ||
		fail "n$i read every queue $s times in $c leader changes"
	kicks=$((kicks + k))
done
[ "$kicks" -ge 1 ] || fail "B was granted without a QUEUE_KICK"
echo "lock_delay: $tok_a expired, $tok_b granted after the delay by a kick ($kicks kick(s))"
