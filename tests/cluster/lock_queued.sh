#!/bin/bash
# tests/cluster/lock_queued.sh: the queued-waiter case of etcd 3.4.3's
# Jepsen analysis -- a waiter's session runs out while it is queued; it
# must never be told it holds the lock (DESIGN.md, Locks: "liveness is
# re-verified on grant"; coordd/api/lock.c, coordd/fsm/queue.c).
#
# A holds lock "lk"; behind it wait B1 (the wire by hand: it reports
# exactly what the server pushes), B2 (libcoord) and C
# (libcoord), in that order. B1 and B2 are stopped (SIGSTOP) past their
# TTL, but within the drift allowance (--lease-drift-ms), so the leader's
# lease timer has not expired them yet when A releases: the grant that
# A's release makes must skip them. C must be granted, with a larger
# token than A's; resumed, B1 must have been pushed SESSION_LOST, never a
# GRANT, and B2's acquire must fail with COORD_ESESSION_EXPIRED (or
# COORD_ESESSION), never succeed.
. "$(dirname "$0")/lock_client_lib.sh"
lc_init lock_queued
TTL=1000
# The drift allowance (3 s, no rate part) leaves 3 s between a TTL's
# end and the leader's expiry: A releases in that window.
cl_start 3 --heartbeat-ms 100 --election-ms 500 --lease-drift-ms 3000 --lease-drift-ppm 0
EP=$(cl_endpoints)
LP=$(lc_leader_port)

lc_bg a.out hold "$EP" lk "$TTL" "$CL_DIR/go.a"
lc_wait a.out '^granted token='
ta=$(sed -n 's/^granted token=//p' "$CL_DIR/a.out")
lc_bg b1.out rawwait 127.0.0.1 "$LP" lk "$TTL"
b1=$LC_PID
lc_wait b1.out '^queued session='
lc_bg b2.out hold "$EP" lk "$TTL" "$CL_DIR/go.b2"
b2=$LC_PID
lc_wait_waiters "$LP" lk 2
lc_bg c.out hold "$EP" lk "$TTL" "$CL_DIR/go.c"
# The queue: B1, B2, C.
lc_wait_waiters "$LP" lk 3
"$LOCK_CLIENT" status 127.0.0.1 "$LP" lk

# B1 and B2 stop; their TTL (B2's counted from its last keepalive, at
# most TTL/3 before) runs out; 500 ms after it, A releases -- 2.5 s
# before the leader's timer would expire them.
kill -STOP "$b1" "$b2"
sleep "$(( TTL * 3 / 2 / 1000 )).$(( TTL * 3 / 2 % 1000 ))"
touch "$CL_DIR/go.a"
lc_wait a.out '^released code=COORD_OK$'
lc_wait c.out '^granted token='
tc=$(sed -n 's/^granted token=//p' "$CL_DIR/c.out")
sc=$(sed -n 's/^session //p' "$CL_DIR/c.out")
echo "A's token $ta, C's token $tc"
[ "$tc" -gt "$ta" ] || fail "C's token $tc is not above A's $ta"
st=$("$LOCK_CLIENT" status 127.0.0.1 "$LP" lk)
echo "$st"
echo "$st" | grep -q "^holder session=$sc token=$tc$" ||
	fail "C is not the holder: $st"
echo "$st" | grep -q 'waiters=0$' || fail "the stopped waiters still queue: $st"

# Resumed, the stopped waiters learn that their session ended.
kill -CONT "$b1" "$b2"
lc_wait b1.out '^pushed '
lc_wait b2.out '^acquire code='
cat "$CL_DIR/b1.out" "$CL_DIR/b2.out"
grep -q '^pushed GRANT' "$CL_DIR/b1.out" &&
	fail "B1's session had run out, and the server pushed it a grant"
grep -q '^pushed SESSION_LOST code=COORD_ESESSION_EXPIRED$' "$CL_DIR/b1.out" ||
	fail "B1 was not told its session expired"
grep -Eq '^acquire code=COORD_ESESSION(_EXPIRED)?$' "$CL_DIR/b2.out" ||
	fail "B2's acquire did not fail with COORD_ESESSION_EXPIRED"
grep -q '^granted' "$CL_DIR/b2.out" && fail "B2 was granted the lock"
touch "$CL_DIR/go.c"
lc_wait c.out '^released code=COORD_OK$'
echo "PASS: lock_queued"
