#!/bin/bash
# tests/cluster/lock_retry.sh: a retried acquire after a dropped reply
# queues once and gets one token (exactly once, DESIGN.md; issue 8).
#
# On lock "rt", held by another session: a session's LOCK_ACQUIRE (wait)
# is applied, its connection closed before the reply is read; a new
# connection attaches the session and sends the same (client id,
# sequence): the answer is the first one (queued), the revision does not
# move, the queue holds that session once; when the holder releases, it
# is granted once, pushed once on the connection the retry came on. On
# the free lock "rt/free" the same: the retry answers the first grant's
# token, and the lock has one holder with it.
. "$(dirname "$0")/lock_client_lib.sh"
lc_init lock_retry
cl_start 3 --heartbeat-ms 50 --election-ms 300
out=$("$LOCK_CLIENT" retry 127.0.0.1 "$(lc_leader_port)" rt) ||
	fail "lock_client retry: $out"
echo "$out"
has() { echo "$out" | grep -Eq "$1" || fail "no '$1' in the output"; }
has '^rt attach code=COORD_OK$'
has '^rt retry code=COORD_OK granted=0 token=0$'
has '^rt revision_moved=0$'
has '^rt status code=COORD_OK holders=1 waiters=1$'
has '^rt holder release code=COORD_OK$'
has '^rt pushed grants=1$'
has '^rt status code=COORD_OK holders=1 waiters=0$'
has '^rt/free attach code=COORD_OK$'
has '^rt/free retry code=COORD_OK granted=1 token=[1-9]'
has '^rt/free revision_moved=0$'
has '^rt/free status code=COORD_OK holders=1 waiters=0$'
tok=$(echo "$out" | sed -n 's/^rt\/free retry .* token=//p')
echo "$out" | grep -q "^holder session=[0-9]* token=$tok$" ||
	fail "the free lock's holder has not the retried reply's token $tok"
echo "PASS: lock_retry"
