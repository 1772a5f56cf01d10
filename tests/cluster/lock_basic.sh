#!/bin/bash
# tests/cluster/lock_basic.sh: two `coordctl lock` holders of one lock
# serialize: the second runs its command only after the first released,
# with a larger fencing token; COORD_LOCK and COORD_FENCING_TOKEN reach the
# command; a fenced put with the current token is applied, one with a
# stale token is COORD_EFENCED; coordctl exits with the command's status;
# `lock status` shows the holder and the queued waiter; a waiter with a
# timeout leaves the queue when it passes; --release-put writes with the
# release only after a command that succeeded.
# shellcheck source=tests/cluster/lock_lib.sh
. "$(dirname "$0")/lock_lib.sh"
cl_init lock_basic
lk_start
D=$CL_DIR

# A holds the lock until the test creates $D/release-a.
"$COORDCTL" --endpoints "$(cl_endpoints)" lock job --ttl 5 -- sh -c \
	"echo \$COORD_LOCK \$COORD_FENCING_TOKEN >$D/a.tok; while [ ! -f $D/release-a ]; do sleep 0.05; done" \
	>"$D/a.out" 2>&1 &
A=$!
lk_bg "$A"
lk_wait_file "$D/a.tok"
read -r lock_a tok_a <"$D/a.tok"
[ "$lock_a" = job ] || fail "COORD_LOCK is '$lock_a', not job"
[ "$tok_a" -gt 0 ] || fail "token '$tok_a'"

# B queues behind A; its command writes through the fence of its grant.
"$COORDCTL" --endpoints "$(cl_endpoints)" lock job --ttl 5 -- sh -c \
	"echo \$COORD_FENCING_TOKEN >$D/b.tok; $COORDCTL --endpoints $(cl_endpoints) put --fence job=\$COORD_FENCING_TOKEN owner b >$D/b.put 2>&1; exit 7" \
	>"$D/b.out" 2>&1 &
B=$!
lk_bg "$B"
lk_wait_queued job 1
cl_ctl lock status job | grep -q "holder session .* token $tok_a exclusive" ||
	fail "status does not show A's grant: $(cl_ctl lock status job 2>&1)"
[ -e "$D/b.tok" ] && fail "B ran while A held the lock"

# A third with a timeout gives up, leaves the queue and runs nothing.
if "$COORDCTL" --endpoints "$(cl_endpoints)" lock job --timeout 0.3 -- touch "$D/c.ran" >"$D/c.out" 2>&1; then
	fail "a lock with a timeout ran while held"
fi
grep -q COORD_ETIMEDOUT "$D/c.out" || fail "timeout: $(cat "$D/c.out")"
[ -e "$D/c.ran" ] && fail "the timed-out command ran"
cl_ctl lock status job | grep -q "1 waiter" ||
	fail "the timed-out waiter is still queued: $(cl_ctl lock status job 2>&1)"

# A's token is current: its fenced put is applied.
cl_ctl put --fence "job=$tok_a" owner a >/dev/null || fail "A's fenced put was refused"

touch "$D/release-a"
lk_wait_exit "$A"
[ "$LK_STATUS" -eq 0 ] || fail "A exited $LK_STATUS: $(cat "$D/a.out")"
lk_wait_file "$D/b.tok"
tok_b=$(cat "$D/b.tok")
[ "$tok_b" -gt "$tok_a" ] || fail "B's token $tok_b is not above A's $tok_a"
lk_wait_exit "$B"
[ "$LK_STATUS" -eq 7 ] || fail "B's coordctl exited $LK_STATUS, not its command's 7: $(cat "$D/b.out")"
grep -q OK "$D/b.put" || fail "B's fenced put failed: $(cat "$D/b.put")"

# A's token is stale now: refused, nothing written.
if cl_ctl put --fence "job=$tok_a" owner stale >"$D/stale.out" 2>&1; then
	fail "a put fenced by the stale token $tok_a was applied"
fi
grep -q COORD_EFENCED "$D/stale.out" || fail "stale put: $(cat "$D/stale.out")"

# --release-put KEY VALUE: a command that failed releases only; one that
# succeeded releases with the put (one command), and the lock is free.
cl_ctl lock job --release-put done/job failed -- false >/dev/null 2>&1 &&
	fail "coordctl lock -- false exited 0"
[ "$(cl_ctl get done/job --count-only)" = 0 ] ||
	fail "a failed command's --release-put was written"
cl_ctl lock job --release-put done/job yes -- true >"$D/rp.out" 2>&1 ||
	fail "coordctl lock --release-put: $(cat "$D/rp.out")"
[ "$(cl_ctl get done/job | sed -n 2p)" = yes ] ||
	fail "--release-put not written: $(cl_ctl get done/job 2>&1)"
cl_ctl lock status job | grep -q "0 holder(s), 0 waiter(s)" ||
	fail "the lock is still held after --release-put: $(cl_ctl lock status job 2>&1)"
echo "lock_basic: tokens $tok_a < $tok_b, stale fence refused"
