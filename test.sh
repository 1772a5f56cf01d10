#!/bin/sh
# Runs the whole test suite: installs what is missing, builds with
# ASan+UBSan, -Werror and the failpoints in _build/, and runs `make check`.
set -e
cd "$(dirname "$0")"
sh build-aux/deps.sh
[ -x configure ] || ./autogen.sh >/dev/null
mkdir -p _build
cd _build
# With the failpoints (coordd/failpoint.h): the tests that use them
# (tests/cluster/failpoints.sh, the fault suite's disk nemesis) run here;
# a build without them has none of their code (docs/fault-testing.md).
grep -q -- '--enable-failpoints' config.status 2>/dev/null ||
	../configure --enable-sanitizers --enable-werror --enable-failpoints >/dev/null
make -j"$(nproc)" >/dev/null
status=0
make -j"$(nproc)" check || status=$?
pass=0; fail=0
for f in $(find . -name '*.trs'); do
	while read -r key res rest; do
		[ "$key" = ":test-result:" ] || continue
		case $res in
		PASS|XFAIL|SKIP) pass=$((pass + 1)) ;;
		*) fail=$((fail + 1)) ;;
		esac
	done < "$f"
done
if [ $status -ne 0 ]; then
	find . -name '*.log' -newer Makefile | while read -r log; do
		if grep -qE '^(FAIL|ERROR|not ok)' "$log" 2>/dev/null; then
			echo "==== $log"
			grep -E '^(FAIL|not ok)' "$log" | head -5
			echo "---- its last lines"
			tail -60 "$log"
		fi
	done
	[ $fail -eq 0 ] && fail=1
fi
echo "$pass passed, $fail failed"
exit $status
