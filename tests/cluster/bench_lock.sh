#!/bin/bash
# tests/cluster/bench_lock.sh: coord-bench's lock and session workloads
# (tools/bench_lock.c) on a small 3-node cluster, briefly: each prints its
# RESULT line with work done and no error --
# - lock-contended, lock-uncontended and sem-cycles: cycles, no failed
#   acquire, put or release, no fenced put rejected; lock-contended
#   --cycle combined the same, each cycle's put and release one
#   LOCK_RELEASE_PUT; and with --conns (several clients' sessions on
#   one connection, asynchronous calls) the same;
# - session-churn: opens and closes (also with --conns);
# - expiry-handoff: the waiter is granted after the SIGSTOPped holder's
#   TTL (from the leader's apply of its last keepalive), with a larger
#   token (the tool fails otherwise), the holder expired by the leader's
#   due-time timer;
# - failover-lock: a grant after the leader's kill -9, timed;
# - scale: every session opened, kept alive (none lost), keepalives seen in
#   the leader's /metrics, batched (SESSION_KEEPALIVE_MANY: fewer requests
#   than sessions kept alive, no single SESSION_KEEPALIVE); SIGTERM during
#   its setup ends it at once;
# - bad options: exit status 2.
. "$(dirname "$0")/lib.sh"
cl_init bench_lock
# The coord-bench runs in the background go too, whatever happens.
BG_PIDS=""
trap 'for p in $BG_PIDS; do kill -KILL "$p" 2>/dev/null; done; cl_cleanup' EXIT
cl_start 3
BENCH=$top_builddir/tools/coord-bench
[ -x "$BENCH" ] || fail "no $BENCH"
EPS=$(cl_endpoints)

requests() { # I KIND: requests of KIND node nI took
	cl_http "$1" /metrics | sed -n "s/^coord_requests_total{kind=\"$2\"} //p"
}

# wait_requests I KIND N: until node nI has taken N more requests of KIND
# than now, within CL_WAIT_S.
wait_requests() {
	local base dl
	base=$(requests "$1" "$2")
	dl=$(cl_deadline "$CL_WAIT_S")
	until [ "$(requests "$1" "$2")" -ge $((base + $3)) ] 2>/dev/null; do
		[ "$(date +%s)" -lt "$dl" ] || fail "n$1 took no $3 $2 requests"
		sleep 0.1
	done
}

field() { # LINE KEY
	echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1
}

# run WORKLOAD ARGS...: its RESULT line in LINE (its output in
# $CL_DIR/bench.out); exit status 0 or fail.
run() {
	local wl=$1 out
	shift
	"$BENCH" "$wl" --endpoints "$EPS" "$@" >"$CL_DIR/bench.out" 2>"$CL_DIR/bench.err" ||
		fail "coord-bench $wl: exit $? ($(tail -3 "$CL_DIR/bench.err"))"
	out=$(cat "$CL_DIR/bench.out")
	LINE=$(echo "$out" | grep "^RESULT workload=$wl ") ||
		fail "coord-bench $wl: no RESULT line: $out"
}

positive() { # LINE KEY
	awk -v v="$(field "$1" "$2")" 'BEGIN { exit !(v + 0 > 0) }' ||
		fail "$2 is not positive: $1"
}

equal() { # LINE KEY VALUE
	[ "$(field "$1" "$2")" = "$3" ] || fail "$2 is not $3: $1"
}

for wl in lock-contended lock-uncontended sem-cycles; do
	run "$wl" --clients 4 --seconds 1
	positive "$LINE" ops
	positive "$LINE" acq_p50_ms
	equal "$LINE" errors 0
	equal "$LINE" fence_rejected 0
done

# --cycle combined: the put and the release in one LOCK_RELEASE_PUT
# (coord_lock_put_release()), every cycle of it through the leader.
leader=$(cl_leader)
base=$(requests "$leader" LOCK_RELEASE_PUT)
run lock-contended --clients 4 --seconds 1 --cycle combined
positive "$LINE" ops
equal "$LINE" errors 0
equal "$LINE" fence_rejected 0
equal "$LINE" cycle acquire,put_release
[ "$(requests "$leader" LOCK_RELEASE_PUT)" -ge $((base + $(field "$LINE" ops))) ] ||
	fail "n$leader took fewer LOCK_RELEASE_PUT than cycles: $LINE"

# --conns: the clients' sessions carried by fewer connections, each cycle
# through libcoord's asynchronous acquire and put-and-release
# (coord_lock_put_release_async()), one LOCK_RELEASE_PUT a cycle.
for wl in lock-contended lock-uncontended; do
	base=$(requests "$leader" LOCK_RELEASE_PUT)
	run "$wl" --clients 6 --conns 2 --seconds 1 --cycle combined
	positive "$LINE" ops
	positive "$LINE" acq_p50_ms
	equal "$LINE" errors 0
	equal "$LINE" fence_rejected 0
	equal "$LINE" clients 6
	equal "$LINE" conns 2
	[ "$(requests "$leader" LOCK_RELEASE_PUT)" -ge $((base + $(field "$LINE" ops))) ] ||
		fail "$wl --conns: n$leader took fewer LOCK_RELEASE_PUT than cycles: $LINE"
done

run sem-cycles --clients 8 --seconds 1
equal "$LINE" permits 2
positive "$LINE" ops
equal "$LINE" fence_rejected 0

run session-churn --clients 4 --seconds 1
positive "$LINE" ops
equal "$LINE" errors 0
run session-churn --clients 6 --conns 2 --seconds 1
positive "$LINE" ops
equal "$LINE" errors 0
equal "$LINE" conns 2

# The holder's TTL is 2 s (twice the election timeout: the shortest the
# servers take). The waiter is granted no earlier than the TTL after the
# leader applied the holder's last keepalive -- as the tool estimates that
# time, to within half its LEASE_TTL read.
# The leader's apply time of that keepalive is read back with LEASE_TTL
# after the stop; on a stalled machine the lease may be gone by then
# (handoff_ms -1: unknown, "already expired"): such a round says nothing,
# and one more runs (at most 5 in all).
# The holder's session must also be expired at its due time by the
# leader's timer, not at the next tick -- by whichever node led then (on
# a busy machine the leader may have changed since). A tick that runs
# late past the due time expires it first; such a round says nothing
# either, and one more runs.
timed_total() {
	local i t sum=0
	for i in $(seq 1 "$CL_N"); do
		t=$(cl_http "$i" /metrics | sed -n 's/^coord_lease_expires_timed_total //p')
		sum=$((sum + ${t:-0}))
	done
	echo "$sum"
}
known=0
timed=0
for try in 1 2 3 4 5; do
	before=$(timed_total)
	run expiry-handoff --rounds 1 --holder-ttl-ms 2000
	equal "$LINE" rounds 1
	round=$(grep '^ROUND workload=expiry-handoff round=1 ' "$CL_DIR/bench.out") ||
		fail "no ROUND line: $(cat "$CL_DIR/bench.out")"
	if [ "$(field "$round" handoff_ms)" = "-1.0" ]; then
		echo "expiry-handoff try $try: the holder's lease was gone before its TTL was read: $(cat "$CL_DIR/bench.err")"
		continue
	fi
	known=1
	awk -v h="$(field "$round" handoff_ms)" -v r="$(field "$round" ttl_read_ms)" \
		'BEGIN { exit !(r != "" && h + 0 >= 2000 - r / 2) }' ||
		fail "granted before the holder's TTL: $round"
	[ "$(timed_total)" -gt "$before" ] && { timed=1; break; }
	echo "expiry-handoff try $try: expired by a tick, not the due-time timer"
done
[ "$known" -eq 1 ] ||
	fail "expiry-handoff: 5 rounds, the holder's lease gone before each TTL read"
[ "$timed" -eq 1 ] || fail "no expiry by the due-time timer on any node in 5 rounds"

# scale: 20 sessions over 2 clients, held 3 s; a keepalive every ~3 s each.
l=$(cl_leader)
run scale --sessions 20 --per-client 10 --seconds 3 --leader-pid "$(cl_pid "$l")" \
	--leader-http "127.0.0.1:$(cl_port "$l" 2)"
equal "$LINE" sessions 20
equal "$LINE" clients 2
equal "$LINE" lost 0
positive "$LINE" keepalive_req_per_s
positive "$LINE" keepalive_cmds_per_s
positive "$LINE" leader_rss_mib
# One SESSION_KEEPALIVE_MANY per client and period carries its 10
# sessions: fewer requests than sessions kept alive.
awk -v r="$(field "$LINE" keepalive_req_per_s)" -v k="$(field "$LINE" keepalives_per_s)" \
	'BEGIN { exit !(r * 3 < k) }' ||
	fail "keepalives not batched (requests/s vs sessions/s): $LINE"
[ "$(requests "$l" SESSION_KEEPALIVE)" = 0 ] ||
	fail "single SESSION_KEEPALIVEs sent: $(requests "$l" SESSION_KEEPALIVE)"


# SIGTERM while scale still opens its sessions ends the setup: exit 1,
# said on stderr, at once rather than after opening them all.
"$BENCH" scale --endpoints "$EPS" --sessions 100000 --per-client 50000 \
	>"$CL_DIR/sc.out" 2>"$CL_DIR/sc.err" &
spid=$!
BG_PIDS="$BG_PIDS $spid"
wait_requests "$l" SESSION_OPEN 10
kill -TERM "$spid"
dl=$(cl_deadline "$CL_WAIT_S")
while kill -0 "$spid" 2>/dev/null; do
	if [ "$(date +%s)" -ge "$dl" ]; then
		kill -KILL "$spid"
		wait "$spid"
		BG_PIDS=""
		fail "scale went on after SIGTERM during its setup"
	fi
	sleep 0.1
done
wait "$spid"
rc=$?
BG_PIDS=""      # reaped: its pid is no longer ours
[ $rc -eq 1 ] || fail "scale stopped during its setup: exit $rc, want 1"
grep -q 'stopped during the setup' "$CL_DIR/sc.err" ||
	fail "scale stopped during its setup: $(cat "$CL_DIR/sc.err")"
grep -q '^RESULT' "$CL_DIR/sc.out" && fail "scale reported: $(cat "$CL_DIR/sc.out")"

# failover-lock: kill -9 the leader under lock traffic; the next grant of
# an acquire sent after the kill is timed.
kills=$CL_DIR/kills
: >"$kills"
"$BENCH" failover-lock --endpoints "$EPS" --clients 2 --kill-log "$kills" \
	>"$CL_DIR/fo.out" 2>"$CL_DIR/fo.err" &
bpid=$!
BG_PIDS="$BG_PIDS $bpid"
# Lock traffic first.
wait_requests "$l" LOCK_RELEASE 6
date +%s%N >>"$kills"
cl_kill "$l"
# Grants under the new leader: each client has at most one cycle that
# straddles the kill, so a few releases on the new leader mean an acquire
# sent after the kill was granted.
wait_requests "$(cl_leader)" LOCK_RELEASE 6
kill -TERM "$bpid"
wait "$bpid"
rc=$?
BG_PIDS=""
[ $rc -eq 0 ] || fail "coord-bench failover-lock: exit $rc ($(tail -3 "$CL_DIR/fo.err"))"
round=$(grep '^ROUND workload=failover-lock round=1 ' "$CL_DIR/fo.out") ||
	fail "no ROUND line: $(cat "$CL_DIR/fo.out")"
positive "$round" lock_ms

# Bad options: usage errors, nothing run.
for args in "lock-contended --bogus 1" "failover-lock --clients 2" \
	"scale --sessions 0" "lock-holder --holder-ttl-ms 2000" "lock-contended --clients" \
	"lock-uncontended --conns 2" "sem-cycles --conns 2 --cycle combined" \
	"lock-contended --clients 2 --conns 3 --cycle combined"; do
	# shellcheck disable=SC2086
	"$BENCH" $args --endpoints "$EPS" >/dev/null 2>&1
	rc=$?
	[ $rc -eq 2 ] || fail "coord-bench $args: exit $rc, want 2"
done
echo "bench_lock: ok"
