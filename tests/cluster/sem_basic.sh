#!/bin/bash
# tests/cluster/sem_basic.sh: semaphores end to end (docs/protocol.md,
# docs/locks-and-fencing.md "Semaphores").
#  - Bad input gets its named error and changes nothing (neither the
#    revision nor the semaphore's N, holders and queue): N = 0 and N above
#    COORD_SEM_PERMITS_MAX (COORD_EPERMITS), a mismatched N from another
#    session or the holder (COORD_ESEMPERMITS), a wrong token, a release by
#    a non-holder or of an unknown semaphore (COORD_ENOTHOLDER), a cancel
#    without a wait (COORD_ENOTFOUND), another connection's session
#    (COORD_ESESSION), a fence with a wrong token or of the wrong kind
#    (COORD_EFENCED); the permit's own fence is accepted until released.
#  - A retried SEM_ACQUIRE (same client id and sequence, after the reply
#    was lost) queues once and is granted once (exactly once).
#  - libcoord (lock_client semlib): permits, try (COORD_EBUSY), a timed
#    wait (COORD_ETIMEDOUT, no waiter left), fenced puts through a permit
#    handle, an async acquire granted when a permit is released.
#  - coordctl sem NAME N -- CMD runs CMD with a permit (COORD_SEM and
#    COORD_FENCING_TOKEN exported, a --sem-fence put accepted), the third
#    of N = 2 waits until one ends, a mismatched N fails with
#    COORD_ESEMPERMITS, and `coordctl sem status` lists holders and waiters.
# shellcheck source=tests/cluster/lock_client_lib.sh
. "$(dirname "$0")/lock_client_lib.sh"
lc_init sem_basic
cl_start 3 --heartbeat-ms 50 --election-ms 300
port=$(lc_leader_port)

out=$("$LOCK_CLIENT" sembad 127.0.0.1 "$port") || fail "lock_client sembad: $out"
echo "$out"
want() { # CASE CODE
	echo "$out" | grep -q "^$1 code=$2 changed=0\$" ||
		fail "$1: want $2, nothing changed; got: $(echo "$out" | grep "^$1 ")"
}
want sem-permits-zero COORD_EPERMITS
want sem-permits-huge COORD_EPERMITS
want sem-mismatched-n COORD_ESEMPERMITS
want sem-mismatched-n-holder COORD_ESEMPERMITS
want sem-release-wrong-token COORD_ENOTHOLDER
want sem-release-non-holder COORD_ENOTHOLDER
want sem-cancel-not-waiting COORD_ENOTFOUND
want sem-release-unknown COORD_ENOTHOLDER
want sem-acquire-no-session COORD_ESESSION
want sem-foreign-acquire COORD_ESESSION
want sem-foreign-release COORD_ESESSION
want sem-empty-name COORD_EINVAL
want sem-fence-wrong-token COORD_EFENCED
want sem-fence-as-lock COORD_EFENCED
want sem-fence-released COORD_EFENCED
has() { echo "$out" | grep -Eq "$1" || fail "no '$1' in the output"; }
has '^sem-status permits=2 holders=1$'
has '^sem-fence-held code=COORD_OK$'
has '^sem-release-holder code=COORD_OK$'
has '^sem-after permits=0 holders=0$'

out=$("$LOCK_CLIENT" semretry 127.0.0.1 "$(lc_leader_port)" rt) ||
	fail "lock_client semretry: $out"
echo "$out"
has '^rt attach code=COORD_OK$'
has '^rt retry code=COORD_OK granted=0 token=0$'
has '^rt revision_moved=0$'
has '^rt status code=COORD_OK holders=1 waiters=1$'
has '^rt holder release code=COORD_OK$'
has '^rt pushed grants=1$'
has '^rt status code=COORD_OK holders=1 waiters=0$'
has '^rt/free retry code=COORD_OK granted=1 token=[1-9]'
has '^rt/free revision_moved=0$'
has '^rt/free status code=COORD_OK holders=1 waiters=0$'

out=$("$LOCK_CLIENT" semlib "$(cl_endpoints)" lib) || fail "lock_client semlib: $out"
echo "$out"
has '^p1 code=COORD_OK permits=2$'
has '^p2 code=COORD_OK above=1$'
has '^try code=COORD_EBUSY$'
has '^timed code=COORD_ETIMEDOUT$'
has '^status code=COORD_OK permits=2 holders=2 waiters=0$'
has '^mismatched code=COORD_ESEMPERMITS$'
has '^zero code=COORD_EPERMITS$'
has '^put code=COORD_OK$'
has '^release code=COORD_OK$'
has '^async code=COORD_OK token=[1-9]'
has '^p3 held=1$'

# coordctl sem: two CMDs hold permits of "pool" (N = 2); a third waits.
D=$CL_DIR
for w in a b; do
	"$COORDCTL" --endpoints "$(cl_endpoints)" sem pool 2 --ttl 5 -- sh -c \
		"echo \$COORD_SEM \$COORD_FENCING_TOKEN >$D/$w.tok; while [ ! -e $D/$w.go ]; do sleep 0.05; done" \
		>"$D/$w.out" 2>&1 &
	LC_PIDS="$LC_PIDS $!"
	eval "pid_$w=$!"
done
dl=$(cl_deadline "$CL_WAIT_S")
until [ -s "$D/a.tok" ] && [ -s "$D/b.tok" ]; do
	[ "$(date +%s)" -lt "$dl" ] || fail "a and b did not both get a permit"
	sleep 0.05
done
"$COORDCTL" --endpoints "$(cl_endpoints)" sem pool 2 --ttl 5 -- sh -c \
	"echo \$COORD_FENCING_TOKEN >$D/c.tok" >"$D/c.out" 2>&1 &
pid_c=$!
LC_PIDS="$LC_PIDS $pid_c"
dl=$(cl_deadline "$CL_WAIT_S")
until cl_ctl sem status pool | grep -q '2 holder(s), 1 waiter(s)'; do
	[ "$(date +%s)" -lt "$dl" ] ||
		fail "not 2 holders and 1 waiter: $(cl_ctl sem status pool 2>&1)"
	sleep 0.05
done
[ ! -e "$D/c.tok" ] || fail "a third CMD ran beside two holders of N = 2"
cl_ctl sem status pool
read -r name tok_a <"$D/a.tok"
[ "$name" = pool ] || fail "COORD_SEM is '$name'"
cl_ctl put --sem-fence "pool=$tok_a" owner a >/dev/null ||
	fail "a --sem-fence put with a held permit's token was refused"
cl_ctl --json sem status pool | grep -q '"permits":2' || fail "sem status --json"
if cl_ctl sem other 0 -- true >"$D/zero.out" 2>&1; then
	fail "coordctl sem with N = 0 ran"
fi
grep -q COORD_EPERMITS "$D/zero.out" || fail "N = 0: $(cat "$D/zero.out")"
if cl_ctl sem pool 3 -- true >"$D/mis.out" 2>&1; then
	fail "coordctl sem with a mismatched N ran"
fi
grep -q COORD_ESEMPERMITS "$D/mis.out" || fail "mismatched N: $(cat "$D/mis.out")"
touch "$D/a.go"
dl=$(cl_deadline "$CL_WAIT_S")
while kill -0 "$pid_c" 2>/dev/null; do
	[ "$(date +%s)" -lt "$dl" ] || fail "the waiting CMD never ran"
	sleep 0.05
done
wait "$pid_a" || fail "a exited $?: $(cat "$D/a.out")"
wait "$pid_c" || fail "c exited $?: $(cat "$D/c.out")"
tok_c=$(cat "$D/c.tok")
[ "$tok_c" -gt "$tok_a" ] || fail "c's token $tok_c is not above a's $tok_a"
if cl_ctl put --sem-fence "pool=$tok_a" owner a >"$D/stale.out" 2>&1; then
	fail "a released permit's fenced put was applied"
fi
grep -q COORD_EFENCED "$D/stale.out" || fail "stale put: $(cat "$D/stale.out")"
touch "$D/b.go"
wait "$pid_b" || fail "b exited $?: $(cat "$D/b.out")"
cl_ctl sem status pool | grep -q '0 permit(s), 0 holder(s), 0 waiter(s)' ||
	fail "pool not empty at the end: $(cl_ctl sem status pool)"
echo "PASS: sem_basic"
