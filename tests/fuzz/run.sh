#!/bin/sh
# tests/fuzz/run.sh: builds the libFuzzer targets of tests/fuzz/ with clang
# (-fsanitize=fuzzer,address,undefined) and runs each for an equal share
# of SECONDS (default 60), starting from the seed corpus in
# tests/fuzz/corpus/<target>/. Exits non-zero when a target crashes (a
# sanitizer report, a broken round trip, an allocation over
# -malloc_limit_mb): the input is saved as $FUZZ_BUILD/crash-<target>-*.
#
#   sh tests/fuzz/run.sh [SECONDS]      build, run, print execs/s per target
#   sh tests/fuzz/run.sh --corpus       regenerate tests/fuzz/corpus/
#   sh tests/fuzz/run.sh --build        only build
#
# FUZZ_BUILD: the build folder (default _build-fuzz at the top).
# Needs clang and libFuzzer: Debian's clang and libclang-rt-14-dev
# (build-aux/deps.sh installs them).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${FUZZ_BUILD:-$top/_build-fuzz}
cc=${FUZZ_CC:-clang}
targets="frame request response push peer cmd entry reply events"
mode=run
seconds=60
case ${1:-} in
--corpus) mode=corpus ;;
--build) mode=build ;;
'') ;;
*) seconds=$1 ;;
esac

if ! command -v "$cc" >/dev/null 2>&1; then
	echo "fuzz: $cc not found: apt-get install clang libclang-rt-14-dev" >&2
	exit 1
fi
mkdir -p "$out/obj"
msgpack_cflags=$(pkg-config --cflags msgpack)
msgpack_libs=$(pkg-config --libs msgpack)
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
cflags="-g -O1 -std=gnu11 -D_GNU_SOURCE -I$top $msgpack_cflags $san"

# proto/ and the samples, once, instrumented for coverage feedback.
objs=""
for src in proto/arena.c proto/assert.c proto/buf.c proto/codec.c \
	proto/errors.c proto/frame.c proto/peer.c proto/wire.c \
	proto/wire_io.c tests/unit/test_wire_samples.c; do
	obj=$out/obj/$(echo "$src" | tr / _).o
	if [ ! -f "$obj" ] || [ "$top/$src" -nt "$obj" ] ||
		[ -n "$(find "$top/proto" -name '*.h' -newer "$obj")" ]; then
		$cc $cflags -fsanitize=fuzzer-no-link -c "$top/$src" -o "$obj"
	fi
	objs="$objs $obj"
done

if [ "$mode" = corpus ]; then
	$cc $cflags $objs "$top/tests/fuzz/gen_corpus.c" $msgpack_libs \
		-o "$out/gen_corpus"
	rm -rf "$top/tests/fuzz/corpus"
	"$out/gen_corpus" "$top/tests/fuzz/corpus"
	echo "fuzz: corpus written to tests/fuzz/corpus/"
	exit 0
fi

for t in $targets; do
	$cc $cflags -fsanitize=fuzzer $objs "$top/tests/fuzz/fuzz_$t.c" \
		$msgpack_libs -o "$out/fuzz_$t"
done
[ "$mode" = build ] && exit 0

n=$(echo $targets | wc -w)
each=$((seconds / n))
[ "$each" -ge 1 ] || each=1
status=0
total_execs=0
for t in $targets; do
	# New inputs go to a scratch corpus; the kept seeds are only read.
	work=$out/corpus/$t
	mkdir -p "$work"
	log=$out/fuzz_$t.log
	rc=0
	"$out/fuzz_$t" -max_total_time="$each" -max_len=65536 \
		-malloc_limit_mb=64 -rss_limit_mb=1024 -timeout=10 \
		-print_final_stats=1 -artifact_prefix="$out/crash-$t-" \
		"$work" "$top/tests/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	total_execs=$((total_execs + ${execs:-0}))
	if [ "$rc" -ne 0 ]; then
		echo "fuzz: $t: CRASH (exit $rc) after ${execs:-?} execs; log $log"
		grep -E 'ERROR|runtime error|SUMMARY|Test unit written' "$log" | head -20
		status=1
	else
		echo "fuzz: $t: ok, ${execs:-?} execs in ${each}s (${rate:-?}/s), coverage ${cov:-?} edges"
	fi
done
echo "fuzz: $n targets, $total_execs execs, $([ $status -eq 0 ] && echo 'no crash' || echo 'CRASHED')"
exit $status
