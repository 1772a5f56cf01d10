# tests/cluster/lock_lib.sh: what the lock tests (lock_*.sh) share, on
# top of lib.sh: their client, tests/cluster/lock_client, run in the
# background with its output in a file, killed by pid on exit.
#
#   lk_init NAME            cl_init NAME, and the exit trap that kills
#                           the clients lk_bg started
#   lk_bg OUT ARGS...       lock_client ARGS... in the background, its
#                           output in $CL_DIR/OUT; its pid in LK_PID
#   lk_wait OUT ERE [S]     until $CL_DIR/OUT has a line matching ERE
#                           (up to S seconds, default CL_WAIT_S)
#   lk_leader               the index of the leader (as cl_leader, faster)
#   lk_leader_port          the client port of the leader
#   lk_wait_waiters PORT NAME N  until lock NAME has N waiters (asking
#                           the node of client port PORT)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LOCK_CLIENT=$top_builddir/tests/cluster/lock_client
LK_PIDS=""

lk_cleanup() {
	for p in $LK_PIDS; do
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	cl_cleanup
}

lk_init() {
	cl_init "$1"
	trap lk_cleanup EXIT
	[ -x "$LOCK_CLIENT" ] || fail "no $LOCK_CLIENT (make check builds it)"
}

lk_bg() {
	out=$1
	shift
	"$LOCK_CLIENT" "$@" >"$CL_DIR/$out" 2>&1 &
	LK_PID=$!
	LK_PIDS="$LK_PIDS $LK_PID"
}

lk_wait() {
	dl=$(cl_deadline "${3:-$CL_WAIT_S}")
	until grep -Eq "$2" "$CL_DIR/$1"; do
		[ "$(date +%s)" -lt "$dl" ] ||
			fail "$1: no line matching '$2' in ${3:-$CL_WAIT_S} s: $(cat "$CL_DIR/$1")"
		sleep 0.02
	done
}

# lk_leader: the index of the leader, like cl_leader, but by STATUS
# requests of lock_client (no waiting on a node that is down).
lk_leader() {
	ports=""
	for i in $(seq 1 "$CL_N"); do
		ports="$ports${ports:+,}$(cl_port "$i" 0)"
	done
	i=$("$LOCK_CLIENT" leader 127.0.0.1 "$ports") || fail "no leader within 60 s"
	echo "$i"
}

lk_leader_port() {
	cl_port "$(lk_leader)" 0
}

# lk_wait_waiters PORT NAME N: until lock NAME has N waiters (asking
# the node of client port PORT).
lk_wait_waiters() {
	dl=$(cl_deadline "$CL_WAIT_S")
	until "$LOCK_CLIENT" status 127.0.0.1 "$1" "$2" 2>/dev/null |
		grep -q "waiters=$3\$"; do
		[ "$(date +%s)" -lt "$dl" ] || fail "lock $2 never had $3 waiters"
		sleep 0.05
	done
}
