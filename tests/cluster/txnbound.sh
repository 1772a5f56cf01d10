#!/bin/bash
# tests/cluster/txnbound.sh: issue 14 section 3. A TXN of 1.4 KB with 128
# range ops over the whole keyspace made every replica collect, encode and
# store 128 times the keyspace (and crash-loop under a memory limit). Here
# the keyspace is 0.9 MiB (64 keys of 14 KiB) and the TXN (from
# tests/cluster/raw_client, with a client id, so its reply goes to the
# client table) asks for 128 copies of it: every replica refuses it with
# COORD_EREPLYTOOBIG (proto/limits.h COORD_APPLY_REPLY_BYTES_MAX), its peak
# RSS (VmHWM) grows by less than 64 MiB (without the bound: by 400 MiB
# and more), the replicas agree, and a node killed and restarted afterwards
# comes back to the same state. A TXN with one such range still succeeds.
. "$(dirname "$0")/lib.sh"
cl_init txnbound
RAW=$top_builddir/tests/cluster/raw_client
[ -x "$RAW" ] || fail "no $RAW (make check builds it)"

cl_start 3
l=$(cl_leader)
LPORT=$(cl_port "$l" 0)

steps="hello"
for i in $(seq 10 73); do
	steps="$steps put t/$i 14336"
done
# shellcheck disable=SC2086
out=$("$RAW" 127.0.0.1 "$LPORT" $steps)
[ "$(echo "$out" | grep -c 'reply PUT .*COORD_OK')" -eq 64 ] ||
	fail "filling the keyspace: $out"
cl_wait_converged >/dev/null || fail "no convergence after the puts"

hwm() { # I -> VmHWM of node nI in KiB
	sed -n 's/^VmHWM:[^0-9]*\([0-9]*\).*/\1/p' "/proc/$(cl_pid "$1")/status"
}
declare -A before
for i in 1 2 3; do
	before[$i]=$(hwm "$i")
done

out=$("$RAW" 127.0.0.1 "$LPORT" hello rangetxn 128 t/)
echo "$out" | grep -q 'reply TXN .*COORD_EREPLYTOOBIG' ||
	fail "the 128-range TXN was not refused with COORD_EREPLYTOOBIG: $out"
cl_wait_converged >/dev/null || fail "no convergence after the TXN"
for i in 1 2 3; do
	cl_running "$i" || fail "n$i died applying the TXN"
	grown=$(( $(hwm "$i") - ${before[$i]} ))
	echo "n$i: peak RSS grew by $grown KiB"
	[ "$grown" -lt $((64 * 1024)) ] ||
		fail "n$i: peak RSS grew by $grown KiB applying the TXN"
done

# One range over the keyspace is within the limit.
out=$("$RAW" 127.0.0.1 "$LPORT" hello rangetxn 1 t/)
echo "$out" | grep -q 'reply TXN .*COORD_OK' ||
	fail "a TXN of one range was refused: $out"

# A replica killed after the TXN restarts and catches up cleanly.
f=$(( l % 3 + 1 ))
cl_kill "$f"
cl_node_start "$f"
cl_wait_converged >/dev/null || fail "n$f did not come back after a restart"
cl_ctl put after restart >/dev/null || fail "no write after the restart"
cl_wait_converged >/dev/null || fail "no convergence after the restart"
echo "ok"
