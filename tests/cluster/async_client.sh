#!/bin/bash
# tests/cluster/async_client.sh: libcoord's asynchronous API against a
# 3-node cluster (async_client.c): pipelined puts, gets and ranges, txns,
# watches and their cancellation, member list and status, error paths
# (bad endpoints, a dead endpoint, a synchronous call from a callback),
# and a kill -9 of the leader under 16 puts in flight: every
# acknowledged put is readable, none applied twice. The killed node is
# then restarted and must catch up with the others.
. "$(dirname "$0")/lib.sh"
cl_init async_client
cl_start 3
prog=$top_builddir/tests/cluster/async_client
[ -x "$prog" ] || fail "no $prog"

l=$(cl_leader)
# A port of this test's range that nothing listens on.
dead=127.0.0.1:$(cl_port 9 0)
f=$(( l % 3 + 1 ))
"$prog" "$(cl_endpoints)" "$dead" "$(cl_pid "$l")" "127.0.0.1:$(cl_port "$f" 0)" \
	>"$CL_DIR/out" 2>&1 ||
	fail "async_client: $(cat "$CL_DIR/out")"
cat "$CL_DIR/out"
# The program killed the leader: reap it, then bring it back.
cl_kill "$l" KILL
cl_node_start "$l"
cl_wait_converged >/dev/null
v=$(cl_ctl_node "$l" get fo/ctr --serializable 2>&1) || fail "get fo/ctr from the restarted n$l: $v"
echo "PASS: async_client (and n$l caught up after its kill)"
