#!/bin/bash
# tests/cluster/route.sh: writes through any member, and failing fast
# with the reason.
# - Every member, founding members included, publishes its client address
#   into the member table: `coordctl member list` through any node names
#   every member's client address.
# - A client given only a follower's endpoint writes: the follower names
#   the leader, libcoord finds the leader's client address in the member
#   table and goes there -- well within the request timeout.
# - Nothing listening: COORD_EUNAVAILABLE ("not applied") at once, with
#   each endpoint's reason.
# - A cluster that lost its quorum: COORD_ENOLEADER, not a timeout.
# - scripts/bench-compare without an etcd kit says so and stops.
. "$(dirname "$0")/lib.sh"
cl_init route
cl_start 3

# Every member's entry carries its client address.
dl=$(cl_deadline 20)
while :; do
	out=$(cl_ctl member list 2>&1)
	ok=1
	for i in 1 2 3; do
		echo "$out" | grep -q "n$i, 127.0.0.1:$(cl_port "$i" 1), 127.0.0.1:$(cl_port "$i" 0), voter" || ok=0
	done
	[ $ok -eq 1 ] && break
	[ "$(date +%s)" -lt "$dl" ] || fail "member list incomplete after 20 s: $out"
	sleep 0.1
done
# ... the same through each node (the table is replicated).
for i in 1 2 3; do
	n=$(cl_ctl_node "$i" member list | grep -c ", 127.0.0.1:[0-9]*, voter$")
	[ "$n" = 3 ] || fail "member list through n$i: $n members with a client address"
done

# A write with a follower's endpoint only.
l=$(cl_leader)
f=$(( l % 3 + 1 ))
t0=$(date +%s%N)
cl_ctl_node "$f" put via-follower yes >/dev/null 2>"$CL_DIR/err" ||
	fail "put through follower n$f alone: $(cat "$CL_DIR/err")"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -lt 5000 ] || fail "put through follower n$f alone took $ms ms"
[ "$(cl_ctl_node "$l" get via-follower | sed -n 2p)" = yes ] ||
	fail "the write through n$f is not on the leader"
echo "put through follower n$f alone: $ms ms"

# Nothing listening: not applied, said at once, with the reason.
t0=$(date +%s%N)
"$COORDCTL" --endpoints "127.0.0.1:1" put a b >/dev/null 2>"$CL_DIR/err" &&
	fail "put to a dead endpoint succeeded"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
grep -q "\[COORD_EUNAVAILABLE\]" "$CL_DIR/err" || fail "dead endpoint: $(cat "$CL_DIR/err")"
grep -q "127.0.0.1:1: Connection refused" "$CL_DIR/err" || fail "dead endpoint, no reason: $(cat "$CL_DIR/err")"
[ "$ms" -lt 3000 ] || fail "dead endpoint reported after $ms ms"
echo "dead endpoint: COORD_EUNAVAILABLE after $ms ms"

# No quorum: two of three members down; the survivor knows no leader.
s=$f
for i in 1 2 3; do
	[ "$i" = "$s" ] || cl_kill "$i"
done
dl=$(cl_deadline 30)
while :; do
	set -- $(cl_status_of "$s")
	[ $# -eq 4 ] && [ "$2" = 0000000000000000 ] && break
	[ "$(date +%s)" -lt "$dl" ] || fail "n$s still names a leader after 30 s"
	sleep 0.1
done
"$COORDCTL" --endpoints "127.0.0.1:$(cl_port "$s" 0)" --timeout-ms 2000 \
	put no-quorum x >/dev/null 2>"$CL_DIR/err" && fail "put without a quorum succeeded"
grep -q "\[COORD_ENOLEADER\]" "$CL_DIR/err" || fail "no quorum: $(cat "$CL_DIR/err")"

# bench-compare takes the etcd kit only from where it is told.
src=$(cd "$(dirname "$0")/../.." && pwd)
ETCD_KIT=$CL_DIR/no-kit timeout 20 bash "$src/scripts/bench-compare" >/dev/null 2>"$CL_DIR/err"
st=$?
[ $st -eq 2 ] || fail "bench-compare without a kit: exit $st: $(cat "$CL_DIR/err")"
grep -q "no etcd kit at $CL_DIR/no-kit" "$CL_DIR/err" || fail "bench-compare: $(cat "$CL_DIR/err")"
echo "PASS: route"
