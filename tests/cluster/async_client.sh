#!/bin/bash
# tests/cluster/async_client.sh: libcoord's asynchronous API against a
# 3-node cluster (async_client.c): pipelined puts, gets and ranges, txns,
# watches and their cancellation, member list and status, error paths
# (bad endpoints, a dead endpoint, a synchronous call from a callback),
# and a kill -9 of the leader under 16 puts in flight: every
# acknowledged put is readable, none applied twice. The killed node is
# then restarted and must catch up with the others; a coordctl watch on
# the leader survives its graceful stop (TERM) without a gap; a client
# forgotten by the servers (--client-idle-ms) writes again exactly once;
# COMPACT makes older reads, watch and election observe starts
# COORD_ECOMPACTED, and
# TRANSFER_LEADER moves the leadership.
. "$(dirname "$0")/lib.sh"
cl_init async_client
cl_start 3 --max-watches-per-conn 8 --client-idle-ms 1000
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

killed=$l
# A watcher connected to the leader when it stops gracefully (TERM): the
# leader closes the connection, the watcher resumes on another node and
# misses nothing.
l=$(cl_leader)
"$COORDCTL" --endpoints "127.0.0.1:$(cl_port "$l" 0),$(cl_endpoints)" \
	watch g/ --prefix --rev 1 >"$CL_DIR/watch.out" 2>"$CL_DIR/watch.err" &
watcher=$!
# From revision 1: the puts below are seen however late the watch starts.
cl_ctl put g/1 one >/dev/null || fail "put g/1"
cl_kill "$l" TERM
[ "$CL_STATUS" -eq 0 ] || fail "n$l: exit $CL_STATUS after TERM"
cl_ctl put g/2 two >/dev/null || fail "put g/2 after the leader stopped"
j=0
until grep -qx "g/2" "$CL_DIR/watch.out" || [ $j -ge 600 ]; do sleep 0.1; j=$((j + 1)); done
kill "$watcher"
wait "$watcher" 2>/dev/null
[ "$(grep -x "g/[0-9]" "$CL_DIR/watch.out" | tr '\n' ' ')" = "g/1 g/2 " ] ||
	fail "the watcher across a graceful leader stop saw: $(cat "$CL_DIR/watch.out") / $(cat "$CL_DIR/watch.err")"
# A client idle past --client-idle-ms, forgotten by the expiry the next
# leader proposes, writes again: once, under a new client id.
cl_node_start "$l"
cl_wait_converged >/dev/null
l=$(cl_leader)
"$prog" gone "$(cl_endpoints)" "$(cl_pid "$l")" >"$CL_DIR/gone.out" 2>&1 ||
	fail "async_client gone: $(cat "$CL_DIR/gone.out")"
# ... and a server did answer COORD_ECLIENTGONE (else the retry path above
# went untried).
gone=0
for i in 1 2 3; do
	cl_running "$i" || continue
	n=$(cl_http "$i" /metrics | sed -n 's/^coord_request_errors_total{code="COORD_ECLIENTGONE"} \([0-9]*\).*/\1/p')
	gone=$((gone + ${n:-0}))
done
[ "$gone" -ge 1 ] || fail "no node answered COORD_ECLIENTGONE"
cl_kill "$l" TERM
[ "$CL_STATUS" -eq 0 ] || fail "n$l: exit $CL_STATUS after TERM"

# COMPACT and TRANSFER_LEADER (by hand: libcoord has no call for them),
# every node up. Last: the leaders they make would not propose the
# expiry the step above needs at once.
cl_node_start "$l"
cl_wait_converged >/dev/null
"$prog" admin "$(cl_endpoints)" >"$CL_DIR/admin.out" 2>&1 ||
	fail "async_client admin: $(cat "$CL_DIR/admin.out")"
echo "PASS: async_client (n$killed caught up after its kill)"
