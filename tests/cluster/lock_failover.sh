#!/bin/bash
# tests/cluster/lock_failover.sh: kill -9 the leader during lock traffic,
# 5 times (issue 8, Tests). Four libcoord clients (lock_client cycle)
# cycle on lock "fo": acquire -> a fenced put of fo/data -> release, each
# logging its grants (session, token, when the acquire returned, when the
# release was sent). Each round kills the leader, waits for a new one,
# restarts the killed node, and waits until every client has completed
# another cycle: the queues survived the failover.
#
# Checked from the history (lk_check_history below; fed a bad history
# first, to show that it can fail):
# - a token is granted to one session only, and ordered by token, each
#   grant starts (its acquire returned) after the previous one ended (its
#   release was sent): no two sessions held the lock at once;
# - every fenced put made while holding succeeded (none COORD_EFENCED),
#   and fo/data ends with the value of a put made with the newest token;
# - no client's session ended: their keepalives kept flowing.
. "$(dirname "$0")/lock_client_lib.sh"
lc_init lock_failover
TTL=5000
CLIENTS=4

# lk_check_history FILE...: the cycle lines of the files; prints the
# first violation and fails (exit 1), or prints "history ok: N grants".
lk_check_history() {
	grep -h '^cycle ' "$@" | sed 's/[a-z_]*=//g' | sort -n -k3 | awk '
	{
		s = $2; t = $3; a = $4; p = $5; r = $7
		if (t in sess && sess[t] != s) {
			print "token " t " granted to sessions " sess[t] " and " s
			bad = 1; exit 1
		}
		if (!(t in sess)) {
			n++; order[n] = t; sess[t] = s; start[t] = a; end[t] = r
		}
		if (a < start[t]) start[t] = a
		if (r > end[t]) end[t] = r
		if (p == "COORD_EFENCED" || p == "COORD_ELOCK_LOST") {
			print "token " t ": a fenced put while holding: " p
			bad = 1; exit 1
		}
		if (p == "COORD_OK") last_put = s ":" t
	}
	END {
		if (bad) exit 1
		for (i = 2; i <= n; i++) {
			u = order[i - 1]; v = order[i]
			if (end[u] > start[v]) {
				print "token " u " (session " sess[u] ") held until " end[u] \
				    " us, token " v " (session " sess[v] ") from " start[v] " us"
				exit 1
			}
		}
		print "history ok: " n " grants, last put " last_put
	}'
}

# The checker fails on overlapping holds and on a token granted twice.
printf '%s\n' "cycle session=1 token=10 acq_us=100 put=COORD_OK put_us=150 rel_us=300 rel=COORD_OK" \
	"cycle session=2 token=12 acq_us=200 put=COORD_OK put_us=250 rel_us=400 rel=COORD_OK" \
	>"$CL_DIR/bad1"
lk_check_history "$CL_DIR/bad1" >/dev/null && fail "the checker passed overlapping holds"
printf '%s\n' "cycle session=1 token=10 acq_us=100 put=COORD_OK put_us=150 rel_us=200 rel=COORD_OK" \
	"cycle session=2 token=10 acq_us=300 put=COORD_OK put_us=350 rel_us=400 rel=COORD_OK" \
	>"$CL_DIR/bad2"
lk_check_history "$CL_DIR/bad2" >/dev/null && fail "the checker passed one token granted to two sessions"
printf '%s\n' "cycle session=1 token=10 acq_us=100 put=COORD_OK put_us=150 rel_us=200 rel=COORD_OK" \
	"cycle session=2 token=12 acq_us=300 put=COORD_EFENCED put_us=350 rel_us=400 rel=COORD_OK" \
	>"$CL_DIR/bad3"
lk_check_history "$CL_DIR/bad3" >/dev/null && fail "the checker passed a refused fenced put"
printf '%s\n' "cycle session=1 token=10 acq_us=100 put=COORD_OK put_us=150 rel_us=200 rel=COORD_OK" \
	"cycle session=2 token=12 acq_us=300 put=COORD_OK put_us=350 rel_us=400 rel=COORD_OK" \
	>"$CL_DIR/good"
lk_check_history "$CL_DIR/good" >/dev/null || fail "the checker failed a good history"

cl_start 3 --heartbeat-ms 100 --election-ms 500
EP=$(cl_endpoints)
for i in $(seq 1 $CLIENTS); do
	lc_bg "c$i.out" cycle "$EP" fo "$TTL" "$CL_DIR/stop"
done

cycles() { # the cycles client I has logged
	grep -c '^cycle ' "$CL_DIR/c$1.out"
}

# Until every client has completed a cycle more than in its entry of $@.
wait_progress() {
	dl=$(cl_deadline "$CL_WAIT_S")
	for i in $(seq 1 $CLIENTS); do
		eval "b=\${$i}"
		until [ "$(cycles "$i")" -gt "$b" ]; do
			[ "$(date +%s)" -lt "$dl" ] ||
				fail "client $i made no cycle in $CL_WAIT_S s: $(tail -3 "$CL_DIR/c$i.out"); lock fo: $("$LOCK_CLIENT" status 127.0.0.1 "$(lc_leader_port)" fo)"
			grep -q '^lost' "$CL_DIR/c$i.out" &&
				fail "client $i lost its session: $(grep '^lost' "$CL_DIR/c$i.out")"
			sleep 0.05
		done
	done
}

counts() {
	for i in $(seq 1 $CLIENTS); do printf '%s ' "$(cycles "$i")"; done
}

wait_progress $(counts)
for round in 1 2 3 4 5; do
	l=$(lc_leader)
	before=$(counts)
	t0=$(date +%s%N)
	cl_kill "$l" KILL
	nl=$(lc_leader)
	t1=$(date +%s%N)
	cl_node_start "$l"
	wait_progress $before
	t2=$(date +%s%N)
	echo "round $round: killed leader n$l, n$nl leads after $(( (t1 - t0) / 1000000 )) ms, every client cycled again after $(( (t2 - t0) / 1000000 )) ms; cycles per client: $(counts)"
done
touch "$CL_DIR/stop"
for p in $LC_PIDS; do
	wait "$p" || fail "a client exited with an error: $(grep -h '^lost' "$CL_DIR"/c*.out)"
done
grep -h '^lost' "$CL_DIR"/c*.out && fail "a session whose keepalives flowed ended"
grep -h '^acquire code=' "$CL_DIR"/c*.out | sort | uniq -c
hist=$(lk_check_history "$CL_DIR"/c*.out) || fail "history: $hist"
echo "$hist"
last=${hist##* }
v=$(cl_ctl get fo/data | sed -n 2p)
echo "fo/data = $v"
[ "${v##*:}" -ge "${last##*:}" ] ||
	fail "fo/data holds token ${v##*:}, older than the last acknowledged put's ${last##*:}"
grep -h "^cycle session=${v%%:*} token=${v##*:} " "$CL_DIR"/c*.out >/dev/null ||
	fail "fo/data = $v is no grant of the history"
cl_wait_converged >/dev/null
echo "PASS: lock_failover"
