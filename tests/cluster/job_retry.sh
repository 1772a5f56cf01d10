#!/bin/bash
# tests/cluster/job_retry.sh: a retried JOB_ENQUEUE, JOB_CLAIM and
# JOB_COMPLETE (exactly once: the same client id and sequence, sent again
# on a new connection after the first send applied and its reply was never
# read) apply once: the enqueue answers the same job id and adds no job,
# the claim answers the same claim token and claims nothing more, the
# complete answers OK and completes nothing more; the revision does not
# move for any retry.
. "$(dirname "$0")/lock_client_lib.sh"
lc_init job_retry
cl_start 3 --heartbeat-ms 50 --election-ms 300
out=$("$LOCK_CLIENT" jobretry 127.0.0.1 "$(lc_leader_port)" jr) ||
	fail "lock_client jobretry: $out"
echo "$out"
has() { echo "$out" | grep -Eq "$1" || fail "no '$1' in the output"; }
has '^enqueue retry code=COORD_OK job=[1-9][0-9]* token=0 revision_moved=0$'
has '^claim retry code=COORD_OK job=[1-9][0-9]* token=[1-9][0-9]* revision_moved=0$'
has '^complete retry code=COORD_OK job=0 token=0 revision_moved=0$'
# Retried once more after the session ended, from a connection it was
# never attached to: the first reply, nothing applied (the server used to
# answer COORD_ESESSION before looking at the client table).
has '^complete after close code=COORD_OK revision_moved=0$'
has '^list code=COORD_OK pending=0 claimed=0 done=1 done_token_matches=1$'
echo "PASS: job_retry"
