#!/bin/bash
# tests/cluster/limits.sh: the HTTP listener's limits (issue 14 section
# 13) and idle timeouts (section 7), on a 3-node cluster with
# --http-timeout-ms 1000 --max-http-connections 4 --metrics-no-state
# --conn-idle-ms 1000 --peer-idle-ms 1000:
# - a request head over 8 KiB is answered 431, a request with a body 413
#   (a Content-Length of zeros is none), a POST 405, a head without a
#   request line 400 (and nothing is read beyond the head);
# - a request whose sender then closes its side still gets the reply;
# - a connection that sends nothing is closed after --http-timeout-ms;
# - 10 connections at once: at most 4 served, the rest closed at accept
#   (coord_http_refused_total, logged);
# - /metrics has no state hash and no per-kind counters;
# - a HELLO'd client connection silent for --conn-idle-ms is closed
#   (logged), one holding a watch is not;
# - an accepted peer connection silent for --peer-idle-ms is closed
#   (the followers' connections to each other carry nothing), and the
#   cluster goes on.
. "$(dirname "$0")/lib.sh"
cl_init limits
RAW=$top_builddir/tests/cluster/raw_client
[ -x "$RAW" ] || fail "no $RAW (make check builds it)"

cl_start 3 --http-timeout-ms 1000 --max-http-connections 4 --metrics-no-state \
	--conn-idle-ms 1000 --peer-idle-ms 1000
l=$(cl_leader)
f=$(( l % 3 + 1 ))
HPORT=$(cl_port "$f" 2)

# http_raw BYTES...: sends printf's output of the arguments to n$f's HTTP
# port, prints the status line of the answer.
http_raw() {
	exec 3<>"/dev/tcp/127.0.0.1/$HPORT" || fail "no HTTP listener"
	# shellcheck disable=SC2059
	printf "$@" >&3 2>/dev/null
	head -1 <&3 | tr -d '\r'
	exec 3<&-
}

big=$(head -c 9000 /dev/zero | tr '\0' a)
st=$(http_raw 'GET /metrics HTTP/1.0\r\nX-Big: %s\r\n\r\n' "$big")
[ "$st" = "HTTP/1.0 431 Request Header Fields Too Large" ] || fail "9000-byte header: '$st'"
grep -q "http connection: request head over 8192 bytes: answered 431" "$CL_DIR/n$f.log" ||
	fail "431 not logged"
st=$(http_raw 'GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789')
[ "$st" = "HTTP/1.0 413 Payload Too Large" ] || fail "a body: '$st'"
st=$(http_raw 'POST /metrics HTTP/1.0\r\n\r\n')
[ "$st" = "HTTP/1.0 405 Method Not Allowed" ] || fail "POST: '$st'"
st=$(http_raw 'GET /health?x=1 HTTP/1.1\r\nHost: x\r\n\r\n')
[ "$st" = "HTTP/1.0 200 OK" ] || fail "GET /health: '$st'"
st=$(http_raw 'GET /health HTTP/1.1\r\nContent-Length: 000\r\n\r\n')
[ "$st" = "HTTP/1.0 200 OK" ] || fail "a zero Content-Length: '$st'"
st=$(http_raw 'NONSENSE\r\n\r\n')
[ "$st" = "HTTP/1.0 400 Bad Request" ] || fail "no request line: '$st'"

# A client that closes its sending side after the request still gets
# the reply.
req=$(printf 'GET /health HTTP/1.0\r\n\r\n' | od -An -tx1 | tr -d ' \n')
OUT=$("$RAW" 127.0.0.1 "$HPORT" send "$req" shutwr recvline 2>&1)
[ "$OUT" = "line: HTTP/1.0 200 OK" ] || fail "half-closed request: '$OUT'"

# Silent: closed after --http-timeout-ms (the read ends well before 10 s).
exec 3<>"/dev/tcp/127.0.0.1/$HPORT" || fail "no HTTP listener"
t0=$(date +%s)
timeout 10 cat <&3 >/dev/null
t1=$(date +%s)
exec 3<&-
[ $((t1 - t0)) -lt 8 ] || fail "a silent HTTP connection stayed $((t1 - t0)) s"

# 10 connections at once, saying nothing: 4 are served (until their
# timeout), 6 closed at accept.
metric() { # NAME: its value in n$f's /metrics
	cl_http "$f" /metrics | sed -n "s/^$1 \([0-9]*\).*/\1/p"
}
OUT=$("$RAW" 127.0.0.1 "$HPORT" attack 10 0 0 0 5000 2>&1) || fail "http attack: $OUT"
[ "$OUT" = "attack opened=10 closed=10 open=0" ] || fail "http attack: $OUT"
[ "$(metric coord_http_refused_total)" -ge 6 ] || fail "coord_http_refused_total: $(metric coord_http_refused_total)"
grep -q "refused http connection: max-http-connections (4) reached" "$CL_DIR/n$f.log" ||
	fail "no HTTP refusal logged"

# --metrics-no-state.
m=$(cl_http "$f" /metrics)
printf '%s\n' "$m" | grep -q '^coord_raft_term ' || fail "/metrics: $m"
printf '%s\n' "$m" | grep -q 'coord_state_hash\|coord_requests_total' &&
	fail "/metrics shows the state hash or the per-kind counters"

# Idle client connections: closed after --conn-idle-ms, unless watching.
IDLE_RE="client connection addr=127.0.0.1:[0-9]*: idle for 1000 ms: closing"
mark=$(grep -c "$IDLE_RE" "$CL_DIR/n$f.log")
OUT=$("$RAW" 127.0.0.1 "$(cl_port "$f" 0)" hello eof 2>&1)
printf '%s\n' "$OUT" | tail -1 | grep -q '^closed$' || fail "idle client not closed: $OUT"
[ "$(grep -c "$IDLE_RE" "$CL_DIR/n$f.log")" -gt "$mark" ] || fail "idle close not logged"
OUT=$("$RAW" 127.0.0.1 "$(cl_port "$f" 0)" hello watch 1 eof 2>&1)
printf '%s\n' "$OUT" | tail -1 | grep -q '^timeout$' || fail "a watching client was closed: $OUT"

# Idle peer connections (the followers' to each other) closed; the
# cluster goes on.
dl=$(cl_deadline 20)
until grep -q "peer connection addr=127.0.0.1:[0-9]*: idle for 1000 ms: closing" "$CL_DIR"/n*.log; do
	[ "$(date +%s)" -lt "$dl" ] || fail "no idle peer connection closed"
	sleep 0.1
done
cl_ctl put after yes >/dev/null || fail "put afterwards"
[ "$(cl_ctl get after | sed -n 2p)" = yes ] || fail "get afterwards"
cl_wait_converged >/dev/null
grep -l "AddressSanitizer\|runtime error\|LeakSanitizer" "$CL_DIR"/n*.log &&
	fail "a sanitizer spoke"
echo "PASS: limits"
