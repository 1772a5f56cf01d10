#!/bin/bash
# tests/cluster/budget.sh: an unauthenticated client must not be able to
# make coordd use gigabytes (issue 12; issue 14 section 5). Against the
# leader of a 3-node cluster with small budgets (--max-input-buffer-bytes
# and --max-output-buffer-bytes 16 MiB, --frame-timeout-ms 4000,
# --slow-reader-ms 3000), all at once:
# - 1000 connections that send, before HELLO, a frame header announcing
#   2 MiB and 64 KiB of it: each is closed at once ("frame too large ...
#   before HELLO", counted by coord_client_hello_frame_refused_total);
# - 1000 connections that say HELLO, announce a frame just under
#   --max-frame-bytes and send 256 KiB of it (256 MiB in all, were it
#   buffered): reading pauses once the input budget is spent, and the
#   unfinished frames are closed after --frame-timeout-ms;
# - 8 connections that each create 100 watches from revision 1 over 8 MiB
#   of history and never read: their watches stop at 4 MiB of pending
#   output, the slowest readers are closed when the output budget is
#   spent, the others after --slow-reader-ms;
# while a well-behaved client keeps writing and reading through the same
# node. Checked: its writes all succeed; the node's RSS never grows by
# more than the two budgets plus 96 MiB over its RSS before the attack;
# every attacker connection is closed (coord_client_connections falls
# back); /metrics counts the pauses and closes.
. "$(dirname "$0")/lib.sh"
cl_init budget
RAW=$top_builddir/tests/cluster/raw_client
[ -x "$RAW" ] || fail "no $RAW (make check builds it)"
# ASan keeps freed memory in a quarantine of 256 MiB by default: that is
# not what this test measures.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8"
ulimit -n 8192 2>/dev/null || true

MIB=1048576
BUDGET=$((16 * MIB))
cl_start 3 --max-input-buffer-bytes $BUDGET --max-output-buffer-bytes $BUDGET \
	--frame-timeout-ms 4000 --slow-reader-ms 3000 --max-connections 3000
l=$(cl_leader)
PORT=$(cl_port "$l" 0)
PID=$(cl_pid "$l")

metric() { # NAME: its value in the leader's /metrics
	cl_http "$l" /metrics | sed -n "s/^$1 \([0-9]*\).*/\1/p"
}
rss_kb() {
	sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$PID/status"
}

# 8 MiB of history under h/ (16 values of 500 KB).
steps=""
for i in $(seq 1 16); do steps="$steps put h/$i 500000"; done
# shellcheck disable=SC2086
OUT=$("$RAW" 127.0.0.1 "$PORT" hello $steps 2>&1) || fail "history: $OUT"
[ "$(printf '%s\n' "$OUT" | grep -c '^reply PUT .*code=0 ')" = 16 ] ||
	fail "history not written: $OUT"
conns0=$(metric coord_client_connections)
rss0=$(rss_kb)
[ -n "$rss0" ] || fail "no RSS of n$l"

# The RSS of the leader, sampled until $CL_DIR/stop: the largest in rss.max.
echo "$rss0" >"$CL_DIR/rss.max"
sampler() {
	max=$rss0
	while [ ! -e "$CL_DIR/stop" ]; do
		r=$(rss_kb)
		[ -n "$r" ] && [ "$r" -gt "$max" ] && { max=$r; echo "$max" >"$CL_DIR/rss.max"; }
		sleep 0.05
	done
}
sampler &
sampler_pid=$!

# The well-behaved client (lib.sh), through the attacked node.
cl_good_start "$l"
stop_bg() {
	touch "$CL_DIR/stop"
	cl_good_stop
	wait "$sampler_pid" 2>/dev/null
}
trap 'stop_bg; cl_cleanup' EXIT

# The attack, all at once. Each attacker waits up to 120 s for the server
# to close its connections (it stops as soon as all are): under the
# sanitizers on a loaded machine, the 1,000 HELLOs alone took over 30 s.
"$RAW" 127.0.0.1 "$PORT" attack 1000 $((2 * MIB)) 65536 0 120000 >"$CL_DIR/pre.out" 2>&1 &
pre_pid=$!
"$RAW" 127.0.0.1 "$PORT" attack 1000 $((2 * MIB - 16)) 262144 1 120000 >"$CL_DIR/post.out" 2>&1 &
post_pid=$!
watch_pids=""
for i in $(seq 1 8); do
	"$RAW" 127.0.0.1 "$PORT" hello watchfrom 100 1 sleep 120000 >/dev/null 2>&1 &
	watch_pids="$watch_pids $!"
done
wait "$pre_pid" || fail "raw_client attack (before HELLO) failed: $(cat "$CL_DIR/pre.out")"
wait "$post_pid" || fail "raw_client attack (after HELLO) failed: $(cat "$CL_DIR/post.out")"
grep -q '^attack opened=1000 closed=1000 open=0$' "$CL_DIR/pre.out" ||
	fail "before HELLO: not every connection closed: $(cat "$CL_DIR/pre.out")"
grep -q '^attack opened=1000 closed=1000 open=0$' "$CL_DIR/post.out" ||
	fail "after HELLO: not every connection closed: $(cat "$CL_DIR/post.out")"

# Every attacker connection closed by the server (the watch clients
# never read, so they cannot see it: the server's count says it).
dl=$(cl_deadline "$CL_WAIT_S")
while :; do
	c=$(metric coord_client_connections)
	[ -n "$c" ] && [ "$c" -le "$((conns0 + 1))" ] && break
	[ "$(date +%s)" -lt "$dl" ] || fail "attacker connections still open: $c (before: $conns0)"
	sleep 0.1
done
# Every watch client is closed for its output: by the budget at once, or
# by the slow-reader deadline a little later. Waited for before the watch
# clients are ended: on a busy machine one may connect only after the
# connection count above fell back, and its close must still be seen.
dl=$(cl_deadline "$CL_WAIT_S")
while :; do
	closed_out=$(( $(metric coord_client_output_budget_closed_total) + $(metric coord_client_slow_reader_closed_total) ))
	[ "$closed_out" -ge 8 ] && break
	[ "$(date +%s)" -lt "$dl" ] || fail "only $closed_out watch clients closed for their output"
	sleep 0.1
done
for p in $watch_pids; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
# At least 3 rounds of the well-behaved client (started before the
# attack; on a loaded machine its rounds take seconds each).
cl_good_wait 3
stop_bg

cl_running "$l" || fail "n$l is gone"
rss_max=$(cat "$CL_DIR/rss.max")
grown=$(( (rss_max - rss0) * 1024 ))
# The slack beyond the budgets: the 2,000 attacker connections' own
# structures and libevent buffers, under ASan's redzones (64 MiB was
# outgrown by 1 to 10 MiB on a loaded machine). Still half of what the
# unfinished frames alone would hold without the input budget (256 MiB).
limit=$(( 2 * BUDGET + 96 * MIB ))
echo "RSS of n$l: $((rss0 / 1024)) MiB before, $((rss_max / 1024)) MiB at most (grown $((grown / MIB)) MiB, limit $((limit / MIB)) MiB)"
[ "$grown" -le "$limit" ] || fail "RSS grew by $((grown / MIB)) MiB, over $((limit / MIB)) MiB"
cl_good_check 3

# What /metrics and the log say.
[ "$(metric coord_client_hello_frame_refused_total)" -ge 1000 ] ||
	fail "hello-sized frames refused: $(metric coord_client_hello_frame_refused_total)"
n=$(grep -c "frame too large (length $((2 * MIB)), limit 4096 before HELLO)" "$CL_DIR/n$l.log")
[ "$n" -ge 1000 ] || fail "only $n 'before HELLO' closes logged"
[ "$(metric coord_client_input_paused_total)" -ge 1 ] || fail "no connection paused for the input budget"
grep -q "input budget spent" "$CL_DIR/n$l.log" || fail "no 'input budget spent' logged"
[ "$(metric coord_client_frame_timeouts_total)" -ge 1 ] || fail "no frame timeout"
grep -q "frame unfinished after 4000 ms" "$CL_DIR/n$l.log" || fail "no frame timeout logged"
[ "$(metric coord_client_input_buffered_bytes)" -lt $MIB ] || fail "input still buffered: $(metric coord_client_input_buffered_bytes)"
[ "$(metric coord_client_output_buffered_bytes)" -lt $MIB ] || fail "output still buffered: $(metric coord_client_output_buffered_bytes)"
[ "$(metric coord_client_input_paused_connections)" = 0 ] || fail "connections still paused"
cl_ctl put after yes >/dev/null || fail "put after the attack"
cl_wait_converged >/dev/null
grep -l "AddressSanitizer\|runtime error\|LeakSanitizer" "$CL_DIR"/n*.log &&
	fail "a sanitizer spoke"
echo "PASS: budget ($(cat "$CL_DIR/good.n") good rounds; RSS grew $((grown / MIB)) MiB)"
