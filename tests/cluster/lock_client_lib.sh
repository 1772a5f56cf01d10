# tests/cluster/lock_client_lib.sh: what the lock tests (lock_*.sh) share, on
# top of lib.sh: their client, tests/cluster/lock_client, run in the
# background with its output in a file, killed by pid on exit.
#
#   lc_init NAME            cl_init NAME, and the exit trap that kills
#                           the clients lc_bg started
#   lc_bg OUT ARGS...       lock_client ARGS... in the background, its
#                           output in $CL_DIR/OUT; its pid in LC_PID
#   lc_wait OUT ERE [S]     until $CL_DIR/OUT has a line matching ERE
#                           (up to S seconds, default CL_WAIT_S)
#   lc_leader               the index of the leader (as cl_leader, faster)
#   lc_leader_port          the client port of the leader
#   lc_wait_waiters PORT NAME N  until lock NAME has N waiters (asking
#                           the node of client port PORT)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LOCK_CLIENT=$top_builddir/tests/cluster/lock_client
LC_PIDS=""

lc_cleanup() {
	for p in $LC_PIDS; do
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	cl_cleanup
}

lc_init() {
	cl_init "$1"
	trap lc_cleanup EXIT
	[ -x "$LOCK_CLIENT" ] || fail "no $LOCK_CLIENT (make check builds it)"
}

lc_bg() {
	out=$1
	shift
	"$LOCK_CLIENT" "$@" >"$CL_DIR/$out" 2>&1 &
	LC_PID=$!
	LC_PIDS="$LC_PIDS $LC_PID"
}

lc_wait() {
	dl=$(cl_deadline "${3:-$CL_WAIT_S}")
	until grep -Eq "$2" "$CL_DIR/$1"; do
		[ "$(date +%s)" -lt "$dl" ] ||
			fail "$1: no line matching '$2' in ${3:-$CL_WAIT_S} s: $(cat "$CL_DIR/$1")"
		sleep 0.02
	done
}

# lc_leader: the index of the leader, like cl_leader, but by STATUS
# requests of lock_client (no waiting on a node that is down).
lc_leader() {
	ports=""
	for i in $(seq 1 "$CL_N"); do
		ports="$ports${ports:+,}$(cl_port "$i" 0)"
	done
	i=$("$LOCK_CLIENT" leader 127.0.0.1 "$ports") || fail "no leader within 60 s"
	echo "$i"
}

lc_leader_port() {
	cl_port "$(lc_leader)" 0
}

# lc_wait_waiters PORT NAME N: until lock NAME has N waiters (asking
# the node of client port PORT).
lc_wait_waiters() {
	dl=$(cl_deadline "$CL_WAIT_S")
	until "$LOCK_CLIENT" status 127.0.0.1 "$1" "$2" 2>/dev/null |
		grep -q "waiters=$3\$"; do
		[ "$(date +%s)" -lt "$dl" ] || fail "lock $2 never had $3 waiters"
		sleep 0.05
	done
}
