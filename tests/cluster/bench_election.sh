#!/bin/bash
# tests/cluster/bench_election.sh: coord-bench election-failover
# (tools/bench_election.c) on a small 3-node cluster, briefly: 2 rounds
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
echo "bench_election: ok"
