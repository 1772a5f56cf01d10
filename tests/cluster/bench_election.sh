#!/bin/bash
# tests/cluster/bench_election.sh: coord-bench election-failover and
# election-churn (tools/bench_election.c) on a small 3-node cluster,
# briefly. election-failover: 2 rounds
# with a 1 s TTL print their ROUND lines and a RESULT line (the tool
# fails unless each next leader's token is above the killed one's and
# its campaign returns elected); a bad option exits 2.
. "$(dirname "$0")/lib.sh"
cl_init bench_election
cl_start 3 --heartbeat-ms 50 --election-ms 300
BENCH=$top_builddir/tools/coord-bench
[ -x "$BENCH" ] || fail "no $BENCH"
out=$("$BENCH" election-failover --endpoints "$(cl_endpoints)" --rounds 2 \
	--holder-ttl-ms 1000 --label test 2>&1) || fail "election-failover: $out"
echo "$out"
[ "$(echo "$out" | grep -c '^ROUND workload=election-failover ')" -eq 2 ] || fail "not 2 rounds"
echo "$out" | grep -Eq '^RESULT workload=election-failover ttl_ms=1000 rounds=2 from_kill_ms=[0-9.]+ ' ||
	fail "no RESULT line"
"$BENCH" election-failover --rounds 0 >/dev/null 2>&1
[ $? -eq 2 ] || fail "--rounds 0 did not exit 2"
# election-churn: 30 rounds of campaign, resign and session close, and
# their RESULT line (the tool fails on any error of a round).
out=$("$BENCH" election-churn --endpoints "$(cl_endpoints)" --rounds 30 \
	--label test 2>&1) || fail "election-churn: $out"
echo "$out"
echo "$out" | grep -Eq '^RESULT workload=election-churn rounds=30 round_first_ms=[0-9.]+ round_last_ms=[0-9.]+ growth=[0-9.]+ ' ||
	fail "no election-churn RESULT line"
"$BENCH" election-churn --rounds 0 >/dev/null 2>&1
[ $? -eq 2 ] || fail "election-churn --rounds 0 did not exit 2"
echo "bench_election: ok"
