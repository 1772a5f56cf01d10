#!/bin/bash
# tests/cluster/election_retry.sh: a retried campaign after a dropped
# reply queues once and is elected once (exactly once; issue 9), as
# lock_retry.sh for a lock. On election "er", led by another session: a
# session's ELECTION_CAMPAIGN is applied, its connection closed before the
# reply is read; a new connection attaches the session and sends the same
# (client id, sequence): the answer is the first one (queued), the
# revision does not move, one candidate queues; when the leader resigns,
# it is elected once, pushed once on the connection the retry came on. On
# "er/free", which nobody leads, the retry answers the first election's
# token and the session leads with it.
. "$(dirname "$0")/lock_client_lib.sh"
lc_init election_retry
cl_start 3 --heartbeat-ms 50 --election-ms 300
out=$("$LOCK_CLIENT" retry-elect 127.0.0.1 "$(lc_leader_port)" er) ||
	fail "lock_client retry-elect: $out"
echo "$out"
has() { echo "$out" | grep -Eq "$1" || fail "no '$1' in the output"; }
has '^er attach code=COORD_OK$'
has '^er retry code=COORD_OK granted=0 token=0$'
has '^er revision_moved=0$'
has '^er status code=COORD_OK holders=1 waiters=1$'
has '^er holder release code=COORD_OK$'
has '^er pushed grants=1$'
has '^er status code=COORD_OK holders=1 waiters=0$'
has '^er/free attach code=COORD_OK$'
has '^er/free retry code=COORD_OK granted=1 token=[1-9]'
has '^er/free revision_moved=0$'
has '^er/free status code=COORD_OK holders=1 waiters=0$'
tok=$(echo "$out" | sed -n 's/^er\/free retry .* token=//p')
echo "$out" | grep -q "^holder session=[0-9]* token=$tok$" ||
	fail "the free election's leader has not the retried reply's token $tok"
echo "PASS: election_retry"
