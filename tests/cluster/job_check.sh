# tests/cluster/job_check.sh: the history checker of the job queue tests
# (sourced). job_check ENQUEUED LOGS DONE checks a run of a queue:
#   ENQUEUED  the ids enqueue printed, one per line
#   LOGS      the workers' outputs: "job ID token T completed" for each
#             complete the server accepted (more lines are ignored)
#   DONE      "ID TOKEN" per done job, from `job list --state done`
# and fails (returns 1, saying why on stderr) when a job is lost (enqueued,
# not done), completed twice (two accepted completes, or two done
# entries), done without being enqueued, or done under another claim
# than the accepted complete's token. A kill -9 may land after the server
# accepted a complete and before the worker printed it: a done job with no
# logged complete is fine, one logged with another token is not.
job_check() {
	awk -v enq="$1" -v done="$3" '
	BEGIN {
		bad = 0
		while ((getline l < enq) > 0)
			if (l ~ /^[0-9]+$/) { e[l] = 1; ne++ }
		while ((getline l < done) > 0) {
			split(l, f, " ")
			if (f[1] in d) { print "completed twice (done twice): job " f[1] > "/dev/stderr"; bad = 1 }
			d[f[1]] = f[2]
		}
	}
	$1 == "job" && $3 == "token" && $5 == "completed" {
		if ($2 in c) { print "completed twice: job " $2 " tokens " c[$2] " and " $4 > "/dev/stderr"; bad = 1 }
		c[$2] = $4
	}
	END {
		for (j in e) if (!(j in d)) { print "lost: job " j " is not done" > "/dev/stderr"; bad = 1 }
		for (j in d) if (!(j in e)) { print "done but never enqueued: job " j > "/dev/stderr"; bad = 1 }
		for (j in c) if ((j in d) && c[j] != d[j]) { print "job " j ": accepted complete under token " c[j] " but done under " d[j] > "/dev/stderr"; bad = 1 }
		if (ne == 0) { print "no enqueued jobs" > "/dev/stderr"; bad = 1 }
		exit bad
	}' $2
}

# job_done_list QUEUE: "ID TOKEN" of every done job (all pages).
job_done_list() {
	cur=0
	while :; do
		out=$(cl_ctl --json job list "$1" --state done --cursor "$cur") || return 1
		echo "$out" | tr '{' '\n' | sed -n 's/^"job":\([0-9]*\),"attempts":[0-9]*,"session":[0-9]*,"token":\([0-9]*\)}.*/\1 \2/p'
		cur=$(echo "$out" | sed -n 's/.*"next":\([0-9]*\)}$/\1/p')
		[ "${cur:-0}" -ne 0 ] || return 0
	done
}
