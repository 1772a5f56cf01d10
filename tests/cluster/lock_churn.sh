#!/bin/bash
# tests/cluster/lock_churn.sh: leases end on time under election churn
# (DESIGN.md, Leases: no fresh full TTL on a leader change; issue 8).
#
# TTL 1000 ms, election timeout 300 ms. For 10 x TTL the leadership is
# transferred (TRANSFER_LEADER) every TTL/3. Meanwhile:
# - sessions whose client sends no keepalive (lock_client expiry, one
#   after the other) must each be expired within TTL + 2 x the election
#   timeout of their SESSION_OPEN's reply (docs/consistency.md);
# - two libcoord clients holding a lock each keep their sessions alive
#   through it all: their locks are never lost and their releases
#   succeed at the end.
. "$(dirname "$0")/lock_client_lib.sh"
lc_init lock_churn
RAW=$top_builddir/tests/cluster/raw_client
[ -x "$RAW" ] || fail "no $RAW"
TTL=1000
ELECTION=300
BOUND=$((TTL + 2 * ELECTION))
cl_start 3 --heartbeat-ms 50 --election-ms "$ELECTION" \
	--admin-addrs loopback --transfer-interval-ms 0
EP=$(cl_endpoints)
lc_bg h1.out hold "$EP" churn/1 "$TTL" "$CL_DIR/go"
lc_bg h2.out hold "$EP" churn/2 "$TTL" "$CL_DIR/go"
lc_wait h1.out '^granted token='
lc_wait h2.out '^granted token='

# The churn: every TTL/3, TRANSFER_LEADER (to any other member) sent to
# every node at once -- the leader moves, the followers refuse. The
# pacing is the workload's rate, not a wait for an event.
(
	t0=$(( $(date +%s%N) / 1000000 ))
	k=0
	while [ "$k" -lt 30 ]; do
		for i in 1 2 3; do
			"$RAW" 127.0.0.1 "$(cl_port "$i" 0)" hello transfer 0 2>&1 |
				grep '^reply TRANSFER_LEADER' &
		done
		wait
		k=$((k + 1))
		left=$(( t0 + k * TTL / 3 - $(date +%s%N) / 1000000 ))
		[ "$left" -gt 0 ] && sleep "$(printf '%d.%03d' $((left / 1000)) $((left % 1000)))"
	done >"$CL_DIR/churn.out"
	touch "$CL_DIR/churn.done"
) &
churn=$!
LC_PIDS="$LC_PIDS $churn"

# Sessions without keepalives, opened one after the other while the
# leadership moves; each opened on the node that leads then.
PORTS=$(cl_port 1 0),$(cl_port 2 0),$(cl_port 3 0)
n=0
while [ ! -e "$CL_DIR/churn.done" ]; do
	out=$("$LOCK_CLIENT" expiry 127.0.0.1 "$PORTS" "$TTL" 2>&1)
	[ -e "$CL_DIR/churn.done" ] && break     # (it ended after the churn)
	case $out in
	"expired after_ms="*" code=COORD_ESESSION_EXPIRED") ;;
	*) fail "a session without keepalives under churn: $out" ;;
	esac
	ms=${out#expired after_ms=}
	ms=${ms%% *}
	echo "session without keepalives expired $ms ms after its open (bound $BOUND ms)"
	[ "$ms" -le "$BOUND" ] || fail "expired after $ms ms, over TTL + 2 x election timeout ($BOUND ms)"
	[ "$ms" -ge "$((TTL - 100))" ] || fail "expired after $ms ms, before its TTL"
	n=$((n + 1))
done
wait "$churn"
moves=$(grep -c 'code=0 COORD_OK' "$CL_DIR/churn.out")
leaders=$(cat "$CL_DIR"/n*.log | grep -c 'role=leader')
echo "transfers done: $moves, leaderships taken: $leaders, sessions expired on time: $n"
[ "$moves" -ge 15 ] || fail "only $moves transfers in 10 x TTL"
[ "$n" -ge 3 ] || fail "only $n sessions were measured under churn"

# The live sessions lived through it.
touch "$CL_DIR/go"
lc_wait h1.out '^released code='
lc_wait h2.out '^released code='
cat "$CL_DIR/h1.out" "$CL_DIR/h2.out"
grep -q '^lost' "$CL_DIR/h1.out" "$CL_DIR/h2.out" && fail "a live session lost its lock under churn"
grep -q '^released code=COORD_OK$' "$CL_DIR/h1.out" || fail "h1's release"
grep -q '^released code=COORD_OK$' "$CL_DIR/h2.out" || fail "h2's release"
echo "PASS: lock_churn"
