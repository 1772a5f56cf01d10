#!/bin/bash
# tests/cluster/bench_job.sh: coord-bench job-cycles (tools/bench_job.c)
# on a small 3-node cluster, briefly: the enqueue phase enqueues every job
# asked for, the cycles phase claims and completes every one of them
# (drained before its deadline), with no error; bad options exit 2.
. "$(dirname "$0")/lib.sh"
cl_init bench_job
trap cl_cleanup EXIT
cl_start 3
BENCH=$top_builddir/tools/coord-bench
[ -x "$BENCH" ] || fail "no $BENCH"
out=$("$BENCH" job-cycles --endpoints "$(cl_endpoints)" --clients 4 --jobs 200 \
	--seconds 120 --val-size 32 2>"$CL_DIR/bench.err") ||
	fail "job-cycles failed: $out $(cat "$CL_DIR/bench.err")"
echo "$out"
echo "$out" | grep -q '^RESULT workload=job-enqueue clients=4 ops=200 .* errors=0 ' ||
	fail "enqueue: $out"
echo "$out" | grep -q '^RESULT workload=job-cycles clients=4 ops=200 .* errors=0 ' ||
	fail "cycles: $out"
"$BENCH" job-cycles --clients 0 >/dev/null 2>&1
[ $? -eq 2 ] || fail "bad options did not exit 2"
echo "PASS: bench_job"
