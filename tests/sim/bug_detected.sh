#!/bin/sh
# tests/sim/bug_detected.sh: proves that raft_sim can fail. Each run below
# has a deliberate bug -- in the core (built with RAFT_BUG_COMMIT_OLD_TERM,
# Raft 5.4.2, or RAFT_BUG_SKIP_VOTE_LOG_CHECK, Raft 5.4.1) or in the
# application (reads served locally, skipping ReadIndex; followers that
# acknowledge entries before persisting them; leaders writing in the
# background that report a write durable as it starts) -- and must end
# with a non-zero exit status and "seeds: N, violations: V" with V > 0.
set -u
dir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/sim
seeds=${SIM_BUG_SEEDS:-500}
out=$(mktemp "${TMPDIR:-/tmp}/bug_detected.XXXXXX") || exit 99
trap 'rm -f "$out"' EXIT
failed=0

expect_violations() {
	name=$1
	shift
	"$@" >"$out" 2>&1
	status=$?
	v=$(sed -n 's/^seeds: [0-9]*, violations: \([0-9]*\)$/\1/p' "$out")
	if [ "$status" -ne 0 ] && [ -n "$v" ] && [ "$v" -gt 0 ]; then
		echo "ok: $name: $v violating seeds, e.g."
		grep -m 1 '^seed [0-9]*: ' "$out"
	else
		echo "FAIL: $name: exit status $status, violations '${v}'"
		tail -n 5 "$out"
		failed=1
	fi
}

expect_violations "core commits an old-term entry by counting" \
	"$dir/raft_sim_bug_commit" --seeds "$seeds"
expect_violations "core grants votes without the log check" \
	"$dir/raft_sim_bug_vote" --seeds "$seeds"
expect_violations "application reads without ReadIndex" \
	"$dir/raft_sim" --seeds 100 --stale-reads
expect_violations "followers acknowledge entries before persisting them" \
	"$dir/raft_sim" --seeds 2000 --early-acks
expect_violations "leaders report background writes durable as they start" \
	"$dir/raft_sim" --seeds 500 --async-ack-early
exit $failed
