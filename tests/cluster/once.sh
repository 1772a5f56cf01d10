#!/bin/bash
# tests/cluster/once.sh: exactly-once with more live clients than the
# client table holds (coordd/fsm/fsm.h, docs/protocol.md "Exactly once").
#
# 1. A 3-node cluster with --max-clients 4 and --client-retry-horizon-ms 0:
#    12 libcoord clients (tests/cluster/once_client) each keep 4 puts in
#    flight on a key of their own while their registrations evict each
#    other; in the middle the leader is stopped, 8 registrations on the
#    new leader evict every client, and the old leader is killed -9. Each
#    key's version counts the puts applied to it: it must lie between the
#    puts acknowledged and those plus the ones whose outcome is unknown --
#    above, a put was applied twice. The servers must have refused
#    forgotten ids (COORD_ECLIENTGONE in /metrics), so eviction happened.
# 2. A put from an id nobody registered, at sequence 1, is refused with
#    COORD_ECLIENTGONE and writes nothing.
# 3. Restarted with a 10-minute horizon, a full table of recently active
#    clients refuses new registrations (COORD_ECLIENTSFULL) instead of
#    evicting them, and one connection gets COORD_EREGISTERRATE after
#    COORD_CLIENT_REGISTER_BURST (8) registrations.
. "$(dirname "$0")/lib.sh"
cl_init once
ONCE=$top_builddir/tests/cluster/once_client
RAW=$top_builddir/tests/cluster/raw_client
[ -x "$ONCE" ] && [ -x "$RAW" ] || fail "no $ONCE or $RAW (make check builds them)"

cl_start 3 --max-clients 4 --client-retry-horizon-ms 0 \
	--election-ms 1000 --heartbeat-ms 100

# 1. The load, with a leader kill in the middle.
"$ONCE" "$(cl_endpoints)" 12 4 60 once "$CL_DIR/stop" \
	>"$CL_DIR/once.out" 2>"$CL_DIR/once.err" &
once_pid=$!
# Wait until puts are being acknowledged (the first keys exist).
dl=$(cl_deadline 30)
until [ "$(cl_ctl get once/ --prefix --count-only 2>/dev/null)" = 12 ]; do
	[ "$(date +%s)" -lt "$dl" ] || fail "the clients wrote nothing in 30 s"
	sleep 0.1
done
# The leader stops (SIGSTOP) with requests in flight, some of them
# already replicated; the others elect a leader, which applies those, and
# 8 registrations on it evict every client in the table; then the old
# leader is killed -9, so the clients' connections break: the requests
# they had sent have an unknown outcome -- some were applied -- and their
# ids are gone. libcoord must report those as COORD_ETIMEDOUT, never send
# them again under a new id (which would apply them twice).
l=$(cl_leader)
kill -STOP "$(cl_pid "$l")"
nl=""
dl=$(cl_deadline 20)
while [ -z "$nl" ]; do
	[ "$(date +%s)" -lt "$dl" ] || fail "no new leader 20 s after stopping n$l"
	for i in 1 2 3; do
		[ "$i" = "$l" ] && continue
		set -- $(cl_status_of "$i")
		[ $# -eq 4 ] && [ "$1" = "$2" ] && nl=$i
	done
	sleep 0.05
done
out=$("$RAW" 127.0.0.1 "$(cl_port "$nl" 0)" hello register 8)
[ "$(echo "$out" | grep -c 'REGISTER_CLIENT.*code=0 COORD_OK client=')" = 8 ] ||
	fail "8 registrations on the new leader: $out"
cl_kill "$l" KILL
cl_node_start "$l"
# Let them run on until every client has written again.
sleep 3
touch "$CL_DIR/stop"
wait "$once_pid"
rc=$?
cat "$CL_DIR/once.out"
[ $rc -eq 0 ] || fail "once_client: exit $rc: $(tail -3 "$CL_DIR/once.out") $(cat "$CL_DIR/once.err")"
grep -q '^total acked=[1-9]' "$CL_DIR/once.out" || fail "no put was acknowledged"
grep -q '^total .* unknown=[1-9]' "$CL_DIR/once.out" ||
	fail "no request had an unknown outcome: the test did not test that"
gone=0
for i in 1 2 3; do
	n=$(cl_http "$i" /metrics | sed -n 's/^coord_request_errors_total{code="COORD_ECLIENTGONE"} \([0-9]*\).*/\1/p')
	gone=$((gone + ${n:-0}))
done
echo "COORD_ECLIENTGONE replies: $gone"
[ "$gone" -gt 0 ] || fail "no client was evicted: the test did not test eviction"
cl_wait_converged >/dev/null

# 2. An id nobody registered, sequence 1: refused, nothing written.
l=$(cl_leader)
out=$("$RAW" 127.0.0.1 "$(cl_port "$l" 0)" hello putc 999999 1 once/ghost)
echo "$out" | grep -q '^reply PUT id=2 code=23 COORD_ECLIENTGONE$' ||
	fail "an unregistered id's sequence 1: $out"
[ "$(cl_ctl get once/ghost --prefix --count-only)" = 0 ] ||
	fail "an unregistered id's put was applied"

# 3. A horizon of 10 minutes: the table (4 clients active seconds ago) is
# full; registrations are refused, then rate-limited on the connection.
for i in 1 2 3; do
	cl_kill "$i" TERM
done
for i in 1 2 3; do
	cl_node_start "$i" --client-retry-horizon-ms 600000
done
l=$(cl_leader)
out=$("$RAW" 127.0.0.1 "$(cl_port "$l" 0)" hello register 10)
echo "$out"
[ "$(echo "$out" | grep -c 'REGISTER_CLIENT.*code=32 COORD_ECLIENTSFULL$')" = 8 ] ||
	fail "a full table of recent clients did not refuse 8 registrations"
[ "$(echo "$out" | grep -c 'REGISTER_CLIENT.*code=33 COORD_EREGISTERRATE$')" = 2 ] ||
	fail "the 9th and 10th registrations on one connection were not rate-limited"
grep -q "REGISTER_CLIENT refused: the client table is full" "$CL_DIR/n$l.log" ||
	fail "no log line for the full table"
grep -q "REGISTER_CLIENT refused: more than 8 at once" "$CL_DIR/n$l.log" ||
	fail "no log line for the rate limit"
echo "PASS: once"
