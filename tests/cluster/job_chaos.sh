#!/bin/bash
# tests/cluster/job_chaos.sh: 1,000 jobs, 10 `coordctl job worker`s on a
# 3-node cluster, workers killed (kill -9) and paused (SIGSTOP past their
# session's 3 s TTL, then SIGCONT) at random and restarted: every job ends
# done exactly once, by an accepted fenced complete (job_check.sh: none
# lost, none completed twice, none done under another claim than the
# accepted complete's); the queue ends with nothing pending, claimed or
# dead. The checker is first shown failing on bad histories (a lost job,
# a double complete, a complete under a stale token).
# shellcheck source=tests/cluster/lock_lib.sh
. "$(dirname "$0")/lock_lib.sh"
# shellcheck source=tests/cluster/job_check.sh
. "$(dirname "$0")/job_check.sh"
cl_init job_chaos
D=$CL_DIR
N=${JOB_CHAOS_N:-1000}
W=10

# The checker on bad histories.
printf '1\n2\n' >"$D/bad.enq"
printf 'job 1 token 5 completed\n' >"$D/bad1.log"
printf '1 5\n' >"$D/bad1.done"
job_check "$D/bad.enq" "$D/bad1.log" "$D/bad1.done" 2>"$D/bad1.err" &&
	fail "the checker passed a lost job"
grep -q "lost: job 2" "$D/bad1.err" || fail "lost job: $(cat "$D/bad1.err")"
printf 'job 1 token 5 completed\njob 1 token 9 completed\njob 2 token 7 completed\n' >"$D/bad2.log"
printf '1 9\n2 7\n' >"$D/bad2.done"
job_check "$D/bad.enq" "$D/bad2.log" "$D/bad2.done" 2>"$D/bad2.err" &&
	fail "the checker passed a double complete"
grep -q "completed twice: job 1" "$D/bad2.err" || fail "double: $(cat "$D/bad2.err")"
printf 'job 1 token 5 completed\njob 2 token 7 completed\n' >"$D/bad3.log"
printf '1 6\n2 7\n' >"$D/bad3.done"
job_check "$D/bad.enq" "$D/bad3.log" "$D/bad3.done" 2>"$D/bad3.err" &&
	fail "the checker passed a complete under a stale token"
printf '1 5\n2 7\n' >"$D/good.done"
job_check "$D/bad.enq" "$D/bad3.log" "$D/good.done" ||
	fail "the checker refused a good history"

trap lk_cleanup EXIT
cl_start 3 --heartbeat-ms 50 --election-ms 300 --job-done-kept $((2 * N))

seq 1 "$N" | sed 's/^/p-/' | cl_ctl job enqueue jq --lines >"$D/enq" ||
	fail "enqueue: $(tail -3 "$D/enq")"
[ "$(wc -l <"$D/enq")" -eq "$N" ] || fail "enqueued $(wc -l <"$D/enq") of $N"

declare -a WP
start_worker() { # I
	"$COORDCTL" --endpoints "$(cl_endpoints)" job worker jq --ttl 3 -- \
		sh -c 'read -r p; echo "$p-$COORD_FENCING_TOKEN"' \
		>>"$D/w$1.log" 2>>"$D/w$1.err" &
	WP[$1]=$!
	disown "${WP[$1]}"      # no "Killed" from bash for kill -9
	lk_bg "${WP[$1]}"
}
for i in $(seq 0 $((W - 1))); do
	start_worker "$i"
done

kills=0 pauses=0 done_n=0 t0=$(date +%s)
# A bound for a busy machine (the drain took 79 s at a load of 24-35
# without sanitizers).
dl=$(cl_deadline $((5 * CL_WAIT_S)))
while :; do
	done_n=$(cl_ctl --json job list jq --limit 1 | sed -n 's/.*"done":\([0-9]*\).*/\1/p')
	[ "${done_n:-0}" -ge "$N" ] && break
	[ "$(date +%s)" -lt "$dl" ] || fail "$done_n of $N jobs done within $((5 * CL_WAIT_S)) s: $(cl_ctl job list jq)"
	r=$((RANDOM % W))
	# A pause and a kill first, then at random.
	act=$((RANDOM % 4))
	[ "$pauses" -eq 0 ] && act=1
	[ "$pauses" -gt 0 ] && [ "$kills" -eq 0 ] && act=0
	case $act in
	0)
		kill -9 "${WP[$r]}" 2>/dev/null && kills=$((kills + 1))
		;;
	1)
		if kill -STOP "${WP[$r]}" 2>/dev/null; then
			pauses=$((pauses + 1))
			# Past the 3 s TTL and the drift allowance, while the
			# loop goes on.
			(sleep 3.6; kill -CONT "${WP[$r]}" 2>/dev/null) &
		fi
		;;
	esac
	for i in $(seq 0 $((W - 1))); do
		kill -0 "${WP[$i]}" 2>/dev/null || start_worker "$i"
	done
	sleep 0.3
done
[ "$kills" -gt 0 ] && [ "$pauses" -gt 0 ] ||
	fail "no chaos: $kills kills, $pauses pauses (raise JOB_CHAOS_N)"

counts=$(cl_ctl --json job list jq --limit 1)
echo "$counts" | grep -q "\"pending\":0,\"claimed\":0,\"dead\":0,\"done\":$N," ||
	fail "final counts: $counts"
for p in "${WP[@]}"; do
	kill -TERM "$p" 2>/dev/null
done
job_done_list jq >"$D/done" || fail "job list"
cat "$D"/w*.log >"$D/all.log"
job_check "$D/enq" "$D/all.log" "$D/done" || fail "the history fails the check"
completed=$(grep -c ' completed$' "$D/all.log")
lost=$(cat "$D"/w*.err | grep -c 'claim lost')
refused=$(grep -c 'refused$' "$D/all.log")
echo "jobs=$N drained_in_s=$(($(date +%s) - t0)) kills=$kills pauses=$pauses logged_completes=$completed claims_lost=$lost completes_refused=$refused"
echo "PASS: job_chaos"
