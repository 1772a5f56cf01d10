#!/bin/bash
# tests/fault/checkers.sh: each checker of the fault suite on known
# histories (tests/fault/histories): every *_good_* must pass (exit 0) and
# every *_bad_* must be caught (exit 1) -- proof that a checker can fail;
# where NAME.expect exists, the output must hold each of its lines.
set -u
src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/fault
status=0
n=0
# NAME.expect beside a history: lines its checker's output must hold
# (e.g. the smallest failing set of a register history). Prints the
# first missing one.
expect_lines() {
	local line
	[ -f "$1" ] || return 0
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		grep -qF -- "$line" "$2" || { echo "$line"; return 1; }
	done <"$1"
}
for h in "$src"/histories/*.jsonl; do
	name=$(basename "$h" .jsonl)
	case $name in
	reg_*) checker=check_register.py ;;
	watch_*) checker=check_watch.py ;;
	lock_*) checker=check_lock.py ;;
	job_*) checker=check_job.py ;;
	session_*) checker=check_session.py ;;
	sem_*) checker=check_sem.py ;;
	election_*) checker=check_election.py ;;
	*) echo "FAIL: $name: no checker for it"; status=1; continue ;;
	esac
	case $name in
	*_good_*) want=0 ;;
	*_bad_*) want=1 ;;
	*) echo "FAIL: $name: neither good nor bad"; status=1; continue ;;
	esac
	python3 "$src/$checker" "$h" >/tmp/checkers.$$.out 2>&1
	got=$?
	if [ "$got" -ne "$want" ]; then
		echo "FAIL: $name: $checker exit $got, want $want"
		cat /tmp/checkers.$$.out
		status=1
	elif ! missing=$(expect_lines "$src/histories/$name.expect" /tmp/checkers.$$.out); then
		echo "FAIL: $name: $checker did not say: $missing"
		cat /tmp/checkers.$$.out
		status=1
	else
		echo "ok $name ($(head -1 /tmp/checkers.$$.out))"
	fi
	n=$((n + 1))
done
rm -f /tmp/checkers.$$.out
[ "$n" -gt 0 ] || { echo "FAIL: no histories"; exit 1; }
exit $status
