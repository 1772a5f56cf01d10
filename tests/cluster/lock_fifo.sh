#!/bin/bash
# tests/cluster/lock_fifo.sh: 1,000 sessions waiting on one lock are
# granted exactly once each, in the order they queued, with rising
# tokens (DESIGN.md, Locks: FIFO per lock; coordd/fsm/queue.c).
# One connection holds them all; each grantee releases as soon as its
# grant is pushed; at the end every session still lives. Default
# timeouts (election 1 s: requests get 2 s): a queue of 1,000 is one
# record rewritten by every acquire, slow under the sanitizers.
. "$(dirname "$0")/lock_client_lib.sh"
lc_init lock_fifo
cl_start 3 --max-sessions 2000
# TTL 120 s: queueing 1,000 acquires (no keepalives meanwhile) took over
# 30 s under the sanitizers on a loaded machine.
out=$("$LOCK_CLIENT" fifo 127.0.0.1 "$(lc_leader_port)" ff 1000 120000) ||
	fail "lock_client fifo: $out"
echo "$out"
echo "$out" | grep -q '^fifo granted=1000 in_order=1 twice=0 tokens_rising=1 failed=0$' ||
	fail "not 1,000 grants, once each, in FIFO order"
echo "$out" | grep -q '^status code=COORD_OK holders=0 waiters=0$' ||
	fail "the lock is not free at the end"
cl_wait_converged >/dev/null
echo "PASS: lock_fifo"
