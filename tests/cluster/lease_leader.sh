#!/bin/bash
# tests/cluster/lease_leader.sh: two promises of docs/consistency.md
# ("Time") about the lease timer across leader changes, each with a
# session whose client sends no keepalive (lock_client expiry):
# - a leader that steps down stops expiring: the session is opened on
#   leader A, A hands the leadership on at once (TRANSFER_LEADER); the
#   session is expired by the new leader, never by A (A's
#   coord_lease_expires_total stays 0), and not before its TTL;
# - a restarted member counts each lease from when it learnt of it
#   (later, never earlier): the session is opened on the leader, a
#   follower B is killed (-9) a second later, restarted and made leader
#   before the TTL (20 s, room for a slow restart) ends; B expires the session, no earlier than TTL after
#   B was killed (it cannot know when the keepalives it did not apply
#   came).
. "$(dirname "$0")/lock_client_lib.sh"
lc_init lease_leader
RAW=$top_builddir/tests/cluster/raw_client
[ -x "$RAW" ] || fail "no $RAW"
cl_start 3 --heartbeat-ms 50 --election-ms 300 \
	--admin-addrs loopback --transfer-interval-ms 0
PORTS=$(cl_port 1 0),$(cl_port 2 0),$(cl_port 3 0)

now_rt_ms() {
	echo $(( $(date +%s%N) / 1000000 ))
}

metric() { # I NAME: node nI's /metrics value of NAME
	cl_http "$1" /metrics | sed -n "s/^$2 //p"
}

# wait_sessions I N: until node nI has N live sessions.
wait_sessions() {
	dl=$(cl_deadline "$CL_WAIT_S")
	until [ "$(metric "$1" coord_sessions)" = "$2" ]; do
		[ "$(date +%s)" -lt "$dl" ] || fail "n$1 has not $2 sessions"
		sleep 0.02
	done
}

# transfer I TO: TRANSFER_LEADER (to node id TO, hex; 0: any) sent to nI.
transfer() {
	"$RAW" 127.0.0.1 "$(cl_port "$1" 0)" hello transfer "$2" 2>&1 |
		grep -q '^reply TRANSFER_LEADER .*COORD_OK' ||
		fail "TRANSFER_LEADER to n$1 refused"
}

# wait_leader_not I: until a node other than nI leads; its index.
wait_leader_not() {
	dl=$(cl_deadline "$CL_WAIT_S")
	while [ "$(date +%s)" -lt "$dl" ]; do
		l=$(lc_leader)
		[ "$l" != "$1" ] && { echo "$l"; return 0; }
		sleep 0.02
	done
	fail "n$1 still leads"
}

# expired OUT: "AFTER_MS OPENED_RT_MS" of lock_client expiry's output.
expired() {
	lc_wait "$1" '^expired after_ms=[0-9]+ opened_rt_ms=[0-9]+ code=COORD_ESESSION_EXPIRED$' 60
	sed -n 's/^expired after_ms=\([0-9]*\) opened_rt_ms=\([0-9]*\) .*/\1 \2/p' "$CL_DIR/$1"
}

# --- A leader that steps down stops expiring. The TTL (5 s) leaves room
# for a slow transfer: A must have stepped down before it ends.
TTL=5000
a=$(lc_leader)
lc_bg a.out expiry 127.0.0.1 "$PORTS" "$TTL"
wait_sessions "$a" 1
transfer "$a" 0
l=$(wait_leader_not "$a")
t_new=$(now_rt_ms)
set -- $(expired a.out)
[ "$t_new" -lt $(($2 + TTL)) ] ||
	fail "n$a stepped down only $((t_new - $2)) ms after the open, past the TTL: too slow to tell"

[ "$1" -ge "$TTL" ] || fail "expired $1 ms after its open, before its TTL"
[ "$(metric "$a" coord_lease_expires_total)" = 0 ] ||
	fail "n$a expired a lease after it stepped down: $(metric "$a" coord_lease_expires_total)"
[ "$(metric "$l" coord_lease_expires_total)" -ge 1 ] ||
	fail "the new leader n$l did not expire the session"
echo "step-down: n$a led at the open, n$l expired the session $1 ms after it"

# --- A restarted member counts each lease from when it learnt of it.
# The TTL leaves room for a slow restart: B must lead before it ends.
TTL=20000
l=$(lc_leader)
b=$(( l % 3 + 1 ))
set -- $(cl_status_of "$b")
b_id=$1
lc_bg b.out expiry 127.0.0.1 "$PORTS" "$TTL"
wait_sessions "$l" 1
sleep 1     # the workload's pacing: the kill comes a second into the TTL
t_kill=$(now_rt_ms)
cl_kill "$b" KILL
cl_node_start "$b"
# TRANSFER_LEADER to B (raft waits for it to catch up), again until B
# leads: the first may come before B is back.
dl=$(cl_deadline "$CL_WAIT_S")
until [ "$(lc_leader)" = "$b" ]; do
	[ "$(date +%s)" -lt "$dl" ] || fail "n$b did not take the leadership"
	"$RAW" 127.0.0.1 "$(cl_port "$(lc_leader)" 0)" hello transfer "$b_id" >/dev/null 2>&1
	sleep 0.2
done
t_led=$(now_rt_ms)
set -- $(expired b.out)
after=$1
opened=$2
# The case needs B to lead before the session's TTL ran out on the old
# leader (else the old leader expired it).
[ "$t_led" -lt $((opened + TTL)) ] ||
	fail "n$b led only $((t_led - opened)) ms after the open, past the TTL: too slow to tell"
[ "$(metric "$b" coord_lease_expires_total)" -ge 1 ] ||
	fail "the restarted n$b did not expire the session"
[ $((opened + after)) -ge $((t_kill + TTL)) ] ||
	fail "n$b expired the session $((opened + after - t_kill)) ms after its restart began, under the TTL ($TTL ms): counted from before it learnt of it"
echo "restart: n$b killed $((t_kill - opened)) ms after the open, led at $((t_led - opened)) ms, expired the session at $after ms (>= $((t_kill - opened + TTL)))"
echo "lease_leader: ok"
