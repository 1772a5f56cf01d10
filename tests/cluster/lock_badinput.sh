#!/bin/bash
# tests/cluster/lock_badinput.sh: refused lock and session requests get
# their named error and change nothing -- neither the revision nor the
# holder and queue of the lock involved (docs/protocol.md, errors); a
# session is usable only on the connection that opened or attached it
# (SESSION_KEEPALIVE_MANY answers each other session COORD_ESESSION, and
# a list over COORD_KEEPALIVE_SESSIONS_MAX is malformed),
# and an ATTACH with a wrong secret is refused and logged
# (docs/security.md). Elections and job queues refuse a request without
# a name (COORD_EINVAL) and an election value over 64 KiB
# (COORD_EVALUETOOBIG), changing nothing.
#
# The nodes allow 4 sessions, 1 waiter per lock and 2 locks per session,
# so that each limit is reached with a few requests.
. "$(dirname "$0")/lock_client_lib.sh"
lc_init lock_badinput
cl_start 3 --heartbeat-ms 50 --election-ms 300 --max-sessions 4 \
	--max-waiters-per-lock 1 --max-locks-per-session 2
l=$(lc_leader)
out=$("$LOCK_CLIENT" bad 127.0.0.1 "$(cl_port "$l" 0)") ||
	fail "lock_client bad: $out"
echo "$out"
want() { # CASE CODE
	echo "$out" | grep -q "^$1 code=$2 changed=0\$" ||
		fail "$1: want $2, nothing changed; got: $(echo "$out" | grep "^$1 ")"
}
echo "$out" | grep -q '^check-unknown code=COORD_OK current=0 token=0$' ||
	fail "LOCK_CHECK of an unknown lock"
want check-unknown COORD_OK
echo "$out" | grep -q '^status-unknown code=COORD_OK holders=0 waiters=0$' ||
	fail "LOCK_STATUS of an unknown lock"
want release-unknown COORD_ENOTHOLDER
want release-wrong-token COORD_ENOTHOLDER
want release-old-token COORD_ENOTHOLDER
want release-non-holder COORD_ENOTHOLDER
want cancel-not-waiting COORD_ENOTFOUND
want acquire-nowait-held COORD_EBUSY
want acquire-no-session COORD_ESESSION
# TTL 0 and negative TTLs are not even valid requests (docs/protocol.md:
# ttl_ms >= 1, unsigned); libcoord refuses 0 itself with COORD_ETTL.
want ttl-zero COORD_EMALFORMED
want ttl-negative COORD_EMALFORMED
want lease-ttl-zero COORD_EMALFORMED
want ttl-short COORD_ETTL
want ttl-huge COORD_ETTL
want ttl-max COORD_ETTL
want foreign-acquire COORD_ESESSION
want foreign-release COORD_ESESSION
want foreign-keepalive COORD_ESESSION
want foreign-close COORD_ESESSION
want attach-wrong-secret COORD_EPERM
want keepalive-after-wrong-secret COORD_ESESSION
want keepalive-many-foreign COORD_OK
echo "$out" | grep -q '^keepalive-many-foreign results=COORD_ESESSION/0,COORD_ESESSION/0,COORD_ESESSION/0$' ||
	fail "SESSION_KEEPALIVE_MANY of sessions not the connection's: $(echo "$out" | grep '^keepalive-many-foreign ')"
echo "$out" | grep -q '^keepalive-many-own results=COORD_OK/60000,COORD_OK/60000,COORD_ESESSION/0$' ||
	fail "SESSION_KEEPALIVE_MANY of the connection's sessions: $(echo "$out" | grep '^keepalive-many-own ')"
grep -q '^keepalive-many-own code=COORD_OK$' <<<"$out" || fail "SESSION_KEEPALIVE_MANY refused"
want keepalive-many-too-long COORD_EMALFORMED
# Elections and job queues: no name, a value over 64 KiB.
want campaign-no-name COORD_EINVAL
want campaign-value-too-big COORD_EVALUETOOBIG
want proclaim-value-too-big COORD_EVALUETOOBIG
want observe-no-name COORD_EINVAL
want enqueue-no-queue COORD_EINVAL
want claim-no-queue COORD_EINVAL
want too-many-waiters COORD_ETOOMANYWAITERS
want too-many-locks COORD_ETOOMANYLOCKS
want too-many-sessions COORD_ETOOMANYSESSIONS
echo "$out" | grep -q '^release-holder code=COORD_OK$' ||
	fail "the holder's release after the refusals"
echo "$out" | grep -q '^after holder=s2 waiters=0 token_rose=1$' ||
	fail "the waiter was not granted after the refusals"
grep -q 'SESSION_ATTACH [0-9]* refused: wrong secret' "$CL_DIR/n$l.log" ||
	fail "no warning for the wrong secret in n$l.log"
"$LOCK_CLIENT" hold "$(cl_endpoints)" L 0 "$CL_DIR/go" >"$CL_DIR/zero.out" 2>&1 &&
	fail "libcoord opened a session of TTL 0"
grep -q '^session code=COORD_ETTL$' "$CL_DIR/zero.out" ||
	fail "libcoord's session of TTL 0: $(cat "$CL_DIR/zero.out")"
cl_wait_converged >/dev/null
echo "PASS: lock_badinput"
