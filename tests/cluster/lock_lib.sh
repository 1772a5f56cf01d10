# tests/cluster/lock_lib.sh: what the lock tests share, on top of lib.sh.
#   lk_start        a 3-node cluster (cl_start 3) with short timeouts
#                   (heartbeat 50 ms, election 300 ms: TTLs from 600 ms)
#   lk_wait_file F  until file F exists and is not empty (CL_WAIT_S)
#   lk_wait_exit PID  until process PID has exited; its status in LK_STATUS
#   lk_wait_queued LOCK N  until `lock status LOCK` shows N waiter(s)
#   lk_bg PID       a background coordctl to stop (CONT, then TERM, which
#                   it passes on to its command) when the test exits
#   lk_holder_and_waiter LOCK [FLAGS...]  A takes LOCK with --ttl 1 and
#                   FLAGS, writes its token to $CL_DIR/a.tok and sleeps;
#                   B (--ttl 5) queues behind it and, once granted, writes
#                   its token to $CL_DIR/b.tok and exits 0. Sets LK_A and
#                   LK_B (their PIDs, under lk_bg) and LK_TOK_A.
# shellcheck source=tests/cluster/lib.sh
. "$(dirname "$0")/lib.sh"

LK_PIDS=""

lk_bg() {
	LK_PIDS="$LK_PIDS $1"
}

lk_cleanup() {
	for p in $LK_PIDS; do
		kill -CONT "$p" 2>/dev/null
		kill -TERM "$p" 2>/dev/null
	done
	cl_cleanup
}

lk_start() {
	trap lk_cleanup EXIT
	cl_start 3 --heartbeat-ms 50 --election-ms 300
}

lk_wait_file() {
	dl=$(cl_deadline "$CL_WAIT_S")
	while [ ! -s "$1" ]; do
		[ "$(date +%s)" -lt "$dl" ] || fail "no $1 within $CL_WAIT_S s"
		sleep 0.05
	done
}

lk_wait_exit() {
	dl=$(cl_deadline "$CL_WAIT_S")
	while kill -0 "$1" 2>/dev/null; do
		[ "$(date +%s)" -lt "$dl" ] || fail "pid $1 still runs after $CL_WAIT_S s"
		sleep 0.05
	done
	wait "$1"
	LK_STATUS=$?
}

lk_wait_queued() {
	dl=$(cl_deadline "$CL_WAIT_S")
	until cl_ctl lock status "$1" | grep -q "$2 waiter"; do
		[ "$(date +%s)" -lt "$dl" ] ||
			fail "not $2 waiter(s) on $1: $(cl_ctl lock status "$1" 2>&1)"
		sleep 0.05
	done
}

lk_holder_and_waiter() {
	lock=$1
	shift
	"$COORDCTL" --endpoints "$(cl_endpoints)" lock "$lock" --ttl 1 "$@" -- sh -c \
		"echo \$COORD_FENCING_TOKEN >$CL_DIR/a.tok; exec sleep 600" \
		>"$CL_DIR/a.out" 2>&1 &
	LK_A=$!
	lk_bg "$LK_A"
	lk_wait_file "$CL_DIR/a.tok"
	LK_TOK_A=$(cat "$CL_DIR/a.tok")
	"$COORDCTL" --endpoints "$(cl_endpoints)" lock "$lock" --ttl 5 -- sh -c \
		"echo \$COORD_FENCING_TOKEN >$CL_DIR/b.tok" >"$CL_DIR/b.out" 2>&1 &
	LK_B=$!
	lk_bg "$LK_B"
	lk_wait_queued "$lock" 1
}
