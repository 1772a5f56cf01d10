#!/bin/bash
# tests/cluster/fds.sh: file descriptors as an attacker spends them
# (issue 14 section 7), against one node started under `ulimit -n 300`
# with --max-connections 10000:
# - the client cap is derived from RLIMIT_NOFILE at start (logged): a
#   flood of 200 connections gets at most 300 - NET_FDS_RESERVED (44)
#   served, the rest closed at accept;
# - out of descriptors (its limit lowered to what it holds, with
#   prlimit), accept fails with EMFILE: the listeners rest instead of
#   spinning (under half a second of CPU in two seconds, "accept failed"
#   logged at most once a second), and they accept again once
#   descriptors are back;
# - at most NET_PEER_INS_MAX (64) accepted peer connections: 100 at once
#   leave at least 36 closed at accept (coord_peer_refused_total).
. "$(dirname "$0")/lib.sh"
cl_init fds
RAW=$top_builddir/tests/cluster/raw_client
[ -x "$RAW" ] || fail "no $RAW (make check builds it)"
command -v prlimit >/dev/null || fail "no prlimit (util-linux)"

CL_N=1
CL_FLAGS="--max-connections 10000"
(ulimit -n 300 && cl_node_start 1) || fail "ulimit -n 300"
cl_leader >/dev/null
PID=$(cl_pid 1)
PORT=$(cl_port 1 0)
metric() { # NAME: its value in n1's /metrics
	cl_http 1 /metrics | sed -n "s/^$1 \([0-9]*\).*/\1/p"
}

# The cap, derived and logged at start.
grep -q -- "--max-connections 10000 does not fit RLIMIT_NOFILE 300 (256 kept for the store, peers and HTTP): serving at most 44 client connections" "$CL_DIR/n1.log" ||
	fail "no derived cap logged"
OUT=$("$RAW" 127.0.0.1 "$PORT" flood 200 500 2>&1) || fail "flood: $OUT"
set -- $(printf '%s\n' "$OUT" | sed -n 's/^flood served=\([0-9]*\) closed=\([0-9]*\) silent=\([0-9]*\)$/\1 \2 \3/p')
[ $# -eq 3 ] || fail "flood: $OUT"
[ "$1" -ge 1 ] && [ "$1" -le 44 ] || fail "flood: $1 connections served (cap 44)"
[ "$2" -ge 156 ] || fail "flood: only $2 connections closed at accept"
grep -q "accept failed" "$CL_DIR/n1.log" && fail "EMFILE reached with the derived cap"
cl_ctl_node 1 put k v >/dev/null || fail "put after the flood"

# Out of descriptors: the limit lowered to what the node holds now.
cpu_ticks() { # utime + stime of PID, in clock ticks
	awk '{ print $14 + $15 }' "/proc/$PID/stat"
}
held=$(ls "/proc/$PID/fd" | wc -l)
prlimit --pid "$PID" --nofile="$held": || fail "prlimit"
lines0=$(grep -c "accept failed" "$CL_DIR/n1.log")
"$RAW" 127.0.0.1 "$PORT" flood 20 3000 >"$CL_DIR/flood2.out" 2>&1 &
flood_pid=$!
# Wait for the first failure, then measure two seconds.
dl=$(cl_deadline 10)
until grep -q "accept failed: Too many open files" "$CL_DIR/n1.log"; do
	[ "$(date +%s)" -lt "$dl" ] || fail "no EMFILE logged"
	sleep 0.05
done
t0=$(cpu_ticks)
sleep 2
t1=$(cpu_ticks)
lines=$(( $(grep -c "accept failed" "$CL_DIR/n1.log") - lines0 ))
hz=$(getconf CLK_TCK)
echo "EMFILE: $((t1 - t0)) ticks of CPU (of $((2 * hz))) in 2 s, $lines 'accept failed' lines"
[ $((t1 - t0)) -lt $((hz / 2)) ] || fail "accept spins: $((t1 - t0)) ticks of CPU in 2 s"
[ "$lines" -le 4 ] || fail "$lines 'accept failed' lines in about 2 s"
prlimit --pid "$PID" --nofile=300: || fail "prlimit back"
wait "$flood_pid"
cl_ctl_node 1 put k2 v2 >/dev/null || fail "put after EMFILE: the listener did not come back"
[ "$(metric coord_accept_errors_total)" -ge 1 ] || fail "coord_accept_errors_total"

# The peer port: 100 connections that never say HELLO.
OUT=$("$RAW" 127.0.0.1 "$(cl_port 1 1)" attack 100 100 10 0 1500 2>&1) || fail "peer attack: $OUT"
closed=$(printf '%s\n' "$OUT" | sed -n 's/^attack opened=100 closed=\([0-9]*\) .*/\1/p')
[ -n "$closed" ] && [ "$closed" -ge 36 ] || fail "peer attack: $OUT"
[ "$(metric coord_peer_refused_total)" -ge 36 ] || fail "coord_peer_refused_total: $(metric coord_peer_refused_total)"
grep -q "refused peer addr=127.0.0.1:[0-9]*: 64 peer connections open" "$CL_DIR/n1.log" || fail "no peer refusal logged"
cl_ctl_node 1 put k3 v3 >/dev/null || fail "put after the peer attack"
cl_running 1 || fail "n1 is gone"
grep -l "AddressSanitizer\|runtime error\|LeakSanitizer" "$CL_DIR"/n*.log &&
	fail "a sanitizer spoke"
echo "PASS: fds"
