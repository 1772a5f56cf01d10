#!/bin/bash
# tests/fault/schedule.sh: what the fault suite is asked to inject is what
# it injects.
# - `tests/fault/run --nemesis all --workload all --dry-run` expands to
#   every nemesis kind, clock included exactly when libfaketime is
#   installed (run once left clock out whatever was installed), and to
#   every workload run.sh knows;
# - a misspelt kind is refused (it would inject nothing);
# - a `--schedule cycle` run too short for one turn of its kinds fails,
#   naming the kinds that never took effect (coverage cannot shrink
#   unseen), while its checker passes.
set -u
here=$(cd "$(dirname "$0")" && pwd)
status=0
fail() { echo "FAIL: $*"; status=1; }

out=$(bash "$here/run" --time 5 --workload all --nemesis all --dry-run) ||
	fail "run --dry-run exit $?"
echo "$out"
kinds=$(echo "$out" | sed -n 's/^run: dry run: .*, nemesis \([a-z,]*\), .*/\1/p')
want=kill,pause,partition
# Found independently of run.sh's own lookup.
[ -n "$(find /usr/lib -path '*/faketime/libfaketime.so.1' 2>/dev/null)" ] && want=$want,clock
want=$want,disk,crash,member,transfer
[ "$kinds" = "$want" ] || fail "--nemesis all gave '$kinds', want '$want'"
workloads=$(echo "$out" | sed -n 's/^run: dry run: workloads \([a-z ]*\), nemesis .*/\1/p')
for w in register watch lock job session semaphore election churn; do
	case " $workloads " in *" $w "*) ;; *) fail "--workload all lacks $w: '$workloads'" ;; esac
done

if bash "$here/run.sh" register --nemesis kill,paus --dry-run >/dev/null 2>&1; then
	fail "run.sh took the unknown nemesis 'paus'"
fi

# One second of workload cannot fit a turn of eight kinds.
out=$(bash "$here/run.sh" register --duration 1 --nemesis all --schedule cycle --seed 31 2>&1)
st=$?
dir=$(echo "$out" | sed -n 's/^run.sh: kept //p')
[ -n "$dir" ] && rm -rf "$dir"
echo "$out" | grep '^run.sh: \(took effect\|no fault\)\|^FAIL'
[ "$st" -eq 1 ] || fail "a 1 s cycle run exit $st, want 1"
echo "$out" | grep -q '^run.sh: no fault of kind(s) .* took effect in 1s (--schedule cycle' ||
	fail "a 1 s cycle run did not name the kinds missing"
echo "$out" | grep -q '^FAIL: checker exit 0, workload exit 0, nemesis exit 1;' ||
	fail "a 1 s cycle run failed for another reason"
[ "$status" -eq 0 ] && echo "PASS"
exit $status
