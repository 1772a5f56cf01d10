#!/bin/bash
# tests/cluster/lock_paused.sh: a holder stopped (SIGSTOP) past its TTL
# loses the lock: the waiter is granted with a larger token; resumed, the
# old holder's token is refused on a fenced put (COORD_EFENCED), and its
# `coordctl lock` stops its command and says "lock lost".
# shellcheck source=tests/cluster/lock_lib.sh
. "$(dirname "$0")/lock_lib.sh"
cl_init lock_paused
lk_start
D=$CL_DIR

lk_holder_and_waiter job
A=$LK_A
B=$LK_B
tok_a=$LK_TOK_A

# A's coordctl stops keeping its session alive; its TTL runs out.
kill -STOP "$A"
lk_wait_file "$D/b.tok"
tok_b=$(cat "$D/b.tok")
[ "$tok_b" -gt "$tok_a" ] || fail "B's token $tok_b is not above A's $tok_a"
lk_wait_exit "$B"
[ "$LK_STATUS" -eq 0 ] || fail "B exited $LK_STATUS: $(cat "$D/b.out")"

kill -CONT "$A"
if cl_ctl put --fence "job=$tok_a" owner a >"$D/stale.out" 2>&1; then
	fail "the paused holder's fenced put (token $tok_a) was applied"
fi
grep -q COORD_EFENCED "$D/stale.out" || fail "stale put: $(cat "$D/stale.out")"
lk_wait_exit "$A"
[ "$LK_STATUS" -eq 143 ] || fail "A exited $LK_STATUS, not 143 (its command's SIGTERM): $(cat "$D/a.out")"
grep -q "lock lost" "$D/a.out" || fail "A did not say lock lost: $(cat "$D/a.out")"
echo "lock_paused: $tok_a then $tok_b; the paused holder was fenced out and told"
