#!/bin/bash
# tests/cluster/watchidx.sh: watches are indexed by key, and capped per
# node (issue 14 section 9), on one node with --max-watches 50010:
# - 50,000 watches of keys nothing writes cost a write nothing: over 200
#   puts the node reads history for the 3 watches that match, never for
#   the others (coord_watch_reads_total grows by less than 5000; it grew
#   by 50,000 per put before); the put latency with and without them is
#   printed (the figure of docs/performance.md);
# - the watches that do match (one key, a prefix, a range) each get all
#   200 events;
# - watches past --max-watches are refused with COORD_ETOOMANYWATCHES
#   (logged); the connection goes on.
. "$(dirname "$0")/lib.sh"
cl_init watchidx
RAW=$top_builddir/tests/cluster/raw_client
[ -x "$RAW" ] || fail "no $RAW (make check builds it)"

cl_start 1 --max-watches 50010 --max-watches-per-conn 100000
PORT=$(cl_port 1 0)
metric() { # NAME: its value in n1's /metrics
	cl_http 1 /metrics | sed -n "s/^$1 \([0-9]*\).*/\1/p"
}

# (50 puts first: the store's first writes are slower.)
OUT=$("$RAW" 127.0.0.1 "$PORT" hello puts 50 warm puts 200 p/x 2>&1) || fail "puts: $OUT"
p50_0=$(printf '%s\n' "$OUT" | sed -n 's/^puts n=200 p50_us=\([0-9]*\) .*/\1/p')
[ -n "$p50_0" ] || fail "puts: $OUT"

# 50,000 watches of keys nobody writes, held open.
"$RAW" 127.0.0.1 "$PORT" hello watchkeys 50000 nw/ sleep 120000 >"$CL_DIR/holder.out" 2>&1 &
holder=$!
# The watches that match, reading their events.
"$RAW" 127.0.0.1 "$PORT" hello watchone exact p/x watchone prefix p/ \
	watchone range p/ p0 drain 30000 >"$CL_DIR/matcher.out" 2>&1 &
matcher=$!
dl=$(cl_deadline 60)
until grep -q '^watches ' "$CL_DIR/holder.out" &&
	[ "$(grep -c '^reply WATCH_CREATE .*code=0 ' "$CL_DIR/matcher.out")" = 3 ]; do
	[ "$(date +%s)" -lt "$dl" ] || fail "watches not created: $(cat "$CL_DIR/holder.out" "$CL_DIR/matcher.out")"
	sleep 0.1
done
grep -q '^watches created=50000 refused=0$' "$CL_DIR/holder.out" || fail "holder: $(cat "$CL_DIR/holder.out")"

# The node-wide cap: 7 more fit.
OUT=$("$RAW" 127.0.0.1 "$PORT" hello watchkeys 20 cap/ get k 2>&1)
printf '%s\n' "$OUT" | grep -q '^watches created=7 refused=13 COORD_ETOOMANYWATCHES$' ||
	fail "max-watches: $OUT"
printf '%s\n' "$OUT" | grep -q '^reply RANGE .*code=0 ' || fail "max-watches: connection gone: $OUT"
grep -q "watch refused: max-watches (50010) reached on this node" "$CL_DIR/n1.log" ||
	fail "max-watches not logged"

r0=$(metric coord_watch_reads_total)
OUT=$("$RAW" 127.0.0.1 "$PORT" hello puts 200 p/x 2>&1) || fail "puts: $OUT"
p50_1=$(printf '%s\n' "$OUT" | sed -n 's/^puts n=200 p50_us=\([0-9]*\) .*/\1/p')
[ -n "$p50_1" ] || fail "puts: $OUT"
r1=$(metric coord_watch_reads_total)
[ -n "$r0" ] && [ -n "$r1" ] || fail "no coord_watch_reads_total in /metrics ('$r0', '$r1')"
echo "put p50: ${p50_0} us without watches, ${p50_1} us with 50,000 non-matching watches; $((r1 - r0)) watch reads for 200 puts"
[ $((r1 - r0)) -lt 5000 ] || fail "$((r1 - r0)) watch reads for 200 puts: watches not indexed"

kill "$matcher" 2>/dev/null
wait "$matcher" 2>/dev/null
# drain ends on the kill without printing: run it to its end instead.
"$RAW" 127.0.0.1 "$PORT" hello watchone exact p/y watchone prefix p/ \
	watchone range p/ p0 drain 4000 >"$CL_DIR/matcher2.out" 2>&1 &
matcher=$!
until [ "$(grep -c '^reply WATCH_CREATE .*code=0 ' "$CL_DIR/matcher2.out")" = 3 ]; do
	[ "$(date +%s)" -lt "$dl" ] || fail "matchers: $(cat "$CL_DIR/matcher2.out")"
	sleep 0.1
done
OUT=$("$RAW" 127.0.0.1 "$PORT" hello puts 50 p/y 2>&1) || fail "puts: $OUT"
wait "$matcher"
n=$(grep -c '^events watch=[0-9]* n=50$' "$CL_DIR/matcher2.out")
[ "$n" = 3 ] || fail "matching watches: $(cat "$CL_DIR/matcher2.out")"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
cl_running 1 || fail "n1 is gone"
grep -l "AddressSanitizer\|runtime error\|LeakSanitizer" "$CL_DIR"/n*.log &&
	fail "a sanitizer spoke"
echo "PASS: watchidx (put p50 ${p50_0} us without watches, ${p50_1} us with 50,000)"
