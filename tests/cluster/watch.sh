#!/bin/bash
# tests/cluster/watch.sh: a watch on a prefix, connected to the leader,
# across a kill -9 of that leader: the client reconnects to another node
# and resumes from the revision after the last it delivered, so it sees
# every acknowledged write exactly once, in revision order, and nothing
# else.
. "$(dirname "$0")/lib.sh"
cl_init watch
cl_start 3

l=$(cl_leader)
# The watcher talks to the leader first; the kill breaks its connection.
"$COORDCTL" --endpoints "127.0.0.1:$(cl_port "$l" 0),$(cl_endpoints)" \
	watch w/ --prefix --rev 1 >"$CL_DIR/watch.out" 2>"$CL_DIR/watch.err" &
watcher=$!
# From revision 1: the puts below are seen however late the watch starts.
for i in $(seq 1 20); do cl_ctl put "w/$i" "$i" >/dev/null || fail "put w/$i"; done
cl_kill "$l" KILL
for i in $(seq 21 40); do cl_ctl put "w/$i" "$i" >/dev/null || fail "put w/$i"; done
cl_node_start "$l"
for i in $(seq 41 50); do cl_ctl put "w/$i" "$i" >/dev/null || fail "put w/$i"; done
# Wait until the last event arrived (at most 60 s).
j=0
while ! grep -qx "w/50" "$CL_DIR/watch.out" && [ $j -lt 1200 ]; do sleep 0.05; j=$((j + 1)); done
# TERM ends the watch, a normal end: exit 0, nothing on stderr.
kill -TERM "$watcher"
wait "$watcher"
st=$?
[ "$st" = 0 ] || fail "coordctl watch: exit $st after TERM: $(cat "$CL_DIR/watch.err")"
[ ! -s "$CL_DIR/watch.err" ] || fail "coordctl watch said: $(cat "$CL_DIR/watch.err")"
# The output is "PUT\nKEY\nVALUE" per event: keys in order, once each.
grep -x "w/[0-9]*" "$CL_DIR/watch.out" >"$CL_DIR/keys"
seq 1 50 | sed 's|^|w/|' >"$CL_DIR/want"
diff "$CL_DIR/want" "$CL_DIR/keys" >/dev/null ||
	fail "watch saw $(wc -l <"$CL_DIR/keys") events, not w/1..w/50 once each in order: $(diff "$CL_DIR/want" "$CL_DIR/keys" | head -5)"
echo "PASS: watch (50 events across a leader kill, once each, in order)"
