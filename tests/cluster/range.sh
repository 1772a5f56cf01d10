#!/bin/bash
# tests/cluster/range.sh: RANGE replies are bounded (issue 14 section 8),
# on one node with --max-range-keys 100:
# - a RANGE over 20 MB of values (40 of 500 KB) without a limit is cut to
#   what fits a COORD_RESPONSE_FRAME_BYTES_MAX frame, with `more` set
#   (not refused with COORD_EFRAMETOOBIG);
# - over 150 small keys, no limit or a limit above 100 gives 100 keys and
#   `more`; a limit of 20 gives 20;
# - 10 connections that each read such a 16 MiB reply and stay open do
#   not keep their reply's buffer: the node's RSS grows by less than
#   80 MiB (it held 16 MiB per connection before).
. "$(dirname "$0")/lib.sh"
cl_init range
RAW=$top_builddir/tests/cluster/raw_client
[ -x "$RAW" ] || fail "no $RAW (make check builds it)"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8"

cl_start 1 --max-range-keys 100
PORT=$(cl_port 1 0)
PID=$(cl_pid 1)
rss_kb() {
	sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$PID/status"
}

steps=""
for i in $(seq 1 40); do steps="$steps put r/$i 500000"; done
for i in $(seq 1 150); do steps="$steps put s/$i 10"; done
# shellcheck disable=SC2086
OUT=$("$RAW" 127.0.0.1 "$PORT" hello $steps 2>&1) || fail "writing: $OUT"
[ "$(printf '%s\n' "$OUT" | grep -c '^reply PUT .*code=0 ')" = 190 ] || fail "not written: $OUT"

OUT=$("$RAW" 127.0.0.1 "$PORT" hello range r/ 0 range s/ 0 range s/ 120 range s/ 20 2>&1) ||
	fail "ranges: $OUT"
echo "$OUT"
printf '%s\n' "$OUT" | grep -Eq '^range code=0 n=3[0-3] count=40 more=1$' ||
	fail "20 MB without a limit: not cut to the frame: $OUT"
printf '%s\n' "$OUT" | grep -c '^range code=0 n=100 count=150 more=1$' | grep -qx 2 ||
	fail "150 keys: not cut at --max-range-keys: $OUT"
printf '%s\n' "$OUT" | grep -q '^range code=0 n=20 count=150 more=1$' ||
	fail "limit 20: $OUT"

# 10 connections read a 16 MiB reply each, then idle.
rss0=$(rss_kb)
pids=""
for i in $(seq 1 10); do
	"$RAW" 127.0.0.1 "$PORT" hello range r/ 0 sleep 20000 >"$CL_DIR/big$i.out" 2>&1 &
	pids="$pids $!"
done
dl=$(cl_deadline 60)
for i in $(seq 1 10); do
	until grep -q '^range ' "$CL_DIR/big$i.out"; do
		[ "$(date +%s)" -lt "$dl" ] || fail "reader $i got no reply: $(cat "$CL_DIR/big$i.out")"
		sleep 0.1
	done
	grep -Eq '^range code=0 n=3[0-3] count=40 more=1$' "$CL_DIR/big$i.out" ||
		fail "reader $i: $(cat "$CL_DIR/big$i.out")"
done
rss1=$(rss_kb)
for p in $pids; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
grown=$(( (rss1 - rss0) / 1024 ))
echo "RSS: $((rss0 / 1024)) MiB before, $((rss1 / 1024)) MiB with 10 idle readers of 16 MiB replies"
[ "$grown" -lt 80 ] || fail "RSS grew by $grown MiB: replies kept per connection"
cl_running 1 || fail "n1 is gone"
grep -l "AddressSanitizer\|runtime error\|LeakSanitizer" "$CL_DIR"/n*.log &&
	fail "a sanitizer spoke"
echo "PASS: range"
