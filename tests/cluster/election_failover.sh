#!/bin/bash
# tests/cluster/election_failover.sh: an election's leader client is
# killed (SIGKILL of `coordctl elect -- CMD`): the next candidate is
# elected within TTL + election timeout (+ SLACK_MS for this test's own
# polling and process start on a busy machine) of the kill. Two
# observers (`coordctl elect --observe`) follow every change from the
# start; the second is connected to node n3, which is killed and
# restarted mid-way, so it reconnects to another node and resumes. Each
# observer must see every change of the election's history exactly once,
# in order, with rising revisions and tokens never falling
# (el_check, fed bad histories first -- a gap, a duplicate, a falling
# token -- to show that it can fail). The history is read back at the end
# by a third observe from the start revision.
# shellcheck source=tests/cluster/election_lib.sh
. "$(dirname "$0")/election_lib.sh"
cl_init election_failover
TTL_MS=2000
ELECTION_MS=300
SLACK_MS=1500
lk_start
D=$CL_DIR
EP=$(cl_endpoints)
EP3="127.0.0.1:$(cl_port 3 0),127.0.0.1:$(cl_port 1 0),127.0.0.1:$(cl_port 2 0)"

now_ms() {
	echo $(( $(date +%s%N) / 1000000 ))
}

# The checker fails on bad histories.
cat >"$D/ref.txt" <<'H'
leader e session 7 token 10 revision 10 value a
leader e session 7 token 10 revision 11 value a2
leader e session 8 token 14 revision 14 value b
no leader e token 14 revision 15
H
el_check "$D/ref.txt" "$D/ref.txt" >/dev/null || fail "el_check refused a good history"
sed 2d "$D/ref.txt" >"$D/gap.txt"
sed 2p "$D/ref.txt" >"$D/dup.txt"
sed 's/token 14 revision 14/token 9 revision 14/' "$D/ref.txt" >"$D/bad.txt"
cp "$D/bad.txt" "$D/badref.txt"
for b in gap dup; do
	el_check "$D/$b.txt" "$D/ref.txt" >"$D/$b.why" && fail "el_check passed a history with a $b"
done
el_check "$D/bad.txt" "$D/badref.txt" >"$D/bad.why" && fail "el_check passed a falling token"
grep -q decreasing "$D/bad.why" || fail "falling token: $(cat "$D/bad.why")"

start=$(( $(el_leader e | awk '{print $7}') + 1 ))
"$COORDCTL" --endpoints "$EP" elect --observe e --rev "$start" >"$D/o1.out" 2>&1 &
O1=$!
lk_bg $O1
"$COORDCTL" --endpoints "$EP3" elect --observe e --rev "$start" >"$D/o2.out" 2>&1 &
lk_bg $!

"$COORDCTL" --endpoints "$EP" elect --ttl 2 e a -- sh -c \
	"echo \$\$ >$D/a.pid; echo \$COORD_FENCING_TOKEN >$D/a.tok; exec sleep 600" \
	>"$D/a.out" 2>&1 &
A=$!
lk_wait_file "$D/a.tok"
lk_bg "$(cat "$D/a.pid")"
tok_a=$(cat "$D/a.tok")
mkfifo "$D/b.in"
exec 7<>"$D/b.in"
"$COORDCTL" --endpoints "$EP" elect --ttl 5 e b <"$D/b.in" >"$D/b.out" 2>&1 &
B=$!
lk_bg "$B"
el_wait_line "$D/o1.out" "^leader e session [0-9]+ token $tok_a "

el_wait_candidates e 1
t0=$(now_ms)
kill -KILL "$A"
wait "$A" 2>/dev/null
while ! grep -q '^elected' "$D/b.out"; do
	[ $(( $(now_ms) - t0 )) -lt $(( CL_WAIT_S * 1000 )) ] || fail "B not elected: $(cat "$D/b.out")"
	sleep 0.01
done
took=$(( $(now_ms) - t0 ))
tok_b=$(awk '/^elected/ {print $4}' "$D/b.out")
[ "$tok_b" -gt "$tok_a" ] || fail "B's token $tok_b is not above A's $tok_a"
[ "$took" -le $(( TTL_MS + ELECTION_MS + SLACK_MS )) ] ||
	fail "B elected $took ms after A's kill, over TTL $TTL_MS + election $ELECTION_MS + slack $SLACK_MS"

# The second observer's node goes away and comes back.
cl_kill 3
echo b2 >&7
el_wait_line "$D/b.out" '^coordctl: proclaimed b2$'
cl_node_start 3
"$COORDCTL" --endpoints "$EP" elect --ttl 5 e c >"$D/c.out" 2>&1 &
C=$!
lk_bg "$C"
el_wait_candidates e 1
kill -TERM "$B"
lk_wait_exit "$B"
el_wait_line "$D/c.out" '^elected e token '
kill -TERM "$C"
lk_wait_exit "$C"
el_wait_line "$D/o1.out" '^no leader e '
el_wait_line "$D/o2.out" '^no leader e '

"$COORDCTL" --endpoints "$EP" elect --observe e --rev "$start" --count 5 >"$D/hist.out" 2>&1 ||
	fail "reading the history back: $(cat "$D/hist.out")"
[ "$(grep -c '' "$D/hist.out")" -eq 5 ] || fail "history: $(cat "$D/hist.out")"
for o in o1 o2; do
	el_check "$D/$o.out" "$D/hist.out" >"$D/$o.why" ||
		fail "observer $o: $(cat "$D/$o.why"); saw: $(cat "$D/$o.out"); history: $(cat "$D/hist.out")"
done
grep -q 'value b2$' "$D/o2.out" || fail "o2 missed the proclaim"
# TERM ends an observer, a normal end: exit 0.
kill -TERM "$O1"
wait "$O1"
st=$?
[ "$st" = 0 ] || fail "observer o1: exit $st after TERM: $(tail -3 "$D/o1.out")"
echo "election_failover: B elected ${took} ms after A's kill (TTL ${TTL_MS} ms); 2 observers saw the 5 changes once each, in order"
