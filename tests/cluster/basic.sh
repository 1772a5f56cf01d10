#!/bin/bash
# tests/cluster/basic.sh: a 3-node cluster on loopback -- writes and
# linearizable reads through every node (a write through a follower goes
# to the leader), serializable reads, a txn, HTTP /health and /metrics,
# convergence of the state hashes, and a graceful stop (SIGTERM: exit 0,
# leadership handed over first); a second signal stops at once (exit 0).
. "$(dirname "$0")/lib.sh"
cl_init basic
cl_start 3

for i in 1 2 3; do
	cl_ctl_node_all=$(echo "127.0.0.1:$(cl_port "$i" 0),$(cl_endpoints)")
	"$COORDCTL" --endpoints "$cl_ctl_node_all" put "k$i" "v$i" >/dev/null ||
		fail "put through n$i"
done
for i in 1 2 3; do
	for k in 1 2 3; do
		v=$(cl_ctl_node "$i" get "k$k" | sed -n 2p)
		[ "$v" = "v$k" ] || fail "linearizable get k$k on n$i gave '$v'"
	done
done
n=$(cl_ctl get k --prefix --count-only)
[ "$n" = 3 ] || fail "count of prefix k: $n"

# A txn: compare-and-swap that succeeds, then one that fails.
out=$(printf 'value("k1") = "v1"\n\nput k1 swapped\n\nput k1 lost\n' | cl_ctl txn | head -1)
[ "$out" = SUCCESS ] || fail "cas 1: $out"
out=$(printf 'value("k1") = "v1"\n\nput k1 again\n\nget k1\n' | cl_ctl txn | head -1)
[ "$out" = FAILURE ] || fail "cas 2: $out"
[ "$(cl_ctl get k1 | sed -n 2p)" = swapped ] || fail "k1 after cas"

# Serializable reads on every node converge to the same value.
set -- $(cl_wait_converged)
for i in 1 2 3; do
	v=$(cl_ctl_node "$i" get k1 --serializable | sed -n 2p)
	[ "$v" = swapped ] || fail "serializable get on n$i: '$v'"
done

# HTTP.
for i in 1 2 3; do
	body=$(cl_http "$i" /health)
	echo "$body" | grep -q '"health":true' || fail "/health of n$i: $body"
done
metrics=$(cl_http 1 /metrics)
for m in coord_raft_term coord_raft_commit_index coord_fsync_seconds_count \
	coord_requests_total coord_client_connections coord_ready_batch_entries_max \
	coord_ready_batch_entries_bucket coord_proposals_committed_total \
	coord_raft_leader_changes_total coord_raft_applied_index \
	coord_store_cache_hits_total coord_store_cache_misses_total \
	coord_store_writes_deferred_total coord_store_flushes_total; do
	echo "$metrics" | grep -q "^$m" || fail "/metrics lacks $m"
done

# Graceful stop of the leader: exit 0, another node leads, no write lost.
l=$(cl_leader)
pid=$(cl_pid "$l")
kill -TERM "$pid"
j=0
while kill -0 "$pid" 2>/dev/null && [ $j -lt 600 ]; do sleep 0.05; j=$((j + 1)); done
kill -0 "$pid" 2>/dev/null && fail "n$l did not stop within 10 s of SIGTERM"
wait "$pid"
st=$?
[ "$st" -eq 0 ] || fail "n$l exited $st after SIGTERM"
rm -f "$CL_DIR/n$l.pid"
grep -q "transferring leadership" "$CL_DIR/n$l.log" || fail "n$l did not hand over leadership"
l2=$(cl_leader)
[ "$l2" != "$l" ] || fail "the stopped node still leads"
[ "$(cl_ctl get k1 | sed -n 2p)" = swapped ] || fail "k1 after the stop"
cl_ctl put after-stop yes >/dev/null || fail "put after the stop"
# A second signal stops at once (coordd.1, SIGNALS): TERM and INT
# delivered together to a stopped node -- the graceful stop begins, the
# second ends it -- and it exits 0. (No third signal: once the loop has
# ended, coordd's handlers are gone and one would kill it.)
for i in 1 2 3; do
	[ "$i" = "$l" ] && continue
	pid=$(cl_pid "$i")
	kill -STOP "$pid"
	kill -TERM "$pid"
	kill -INT "$pid"
	break
done
cl_kill "$i" CONT
[ "$CL_STATUS" -eq 0 ] || fail "n$i exited $CL_STATUS after two signals"
grep -q "stopping: second signal" "$CL_DIR/n$i.log" ||
	fail "n$i did not stop at the second signal: $(tail -3 "$CL_DIR/n$i.log")"
for i in 1 2 3; do
	[ "$i" = "$l" ] && continue
	cl_running "$i" || continue
	cl_kill "$i" TERM
done
echo "PASS: basic"
