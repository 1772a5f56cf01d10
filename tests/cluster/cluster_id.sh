#!/bin/bash
# tests/cluster/cluster_id.sh: the cluster id (issue 14 §1(d)) and the
# dialer's HELLO deadline (§7), on a plaintext 3-node cluster "A":
#   - the founders derive one id from --initial-cluster and
#     --initial-cluster-token, store it in the data dir and report it in
#     STATUS;
#   - a peer port that accepts and never answers (raw_peer --listen),
#     added as learner n9: the dialers give up after 10 s ("no hello",
#     at warn) and dial again; their HELLOs carry A's id;
#   - "B": a node named n1, like A's, of a cluster with the same member
#     names and another token, pointed at A's n2 and n3: they refuse its
#     HELLOs ("cluster id mismatch", at warn); A's leader and term stay
#     and writes go on;
#   - clients: coordctl --cluster-id of A is served, of B refused
#     (COORD_ECLUSTER) and logged;
#   - restarts: n1 restarted with another token keeps the stored id and
#     rejoins; restarted with another --cluster-id it refuses to start;
#   - a member added at run time: --join without --cluster-id, or with a
#     damaged id file, refuses to start; member add prints the id, and n4
#     started with it catches up.
# Every wait is bounded (CL_WAIT_S, 60 s by default).
. "$(dirname "$0")/lib.sh"
cl_init cluster-id
RAW=$top_builddir/tests/cluster/raw_peer
[ -x "$RAW" ] || fail "no $RAW"

cl_start 3 --initial-cluster-token A
l=$(cl_leader)
cl_ctl put before 1 >/dev/null || fail "put before"
cl_wait_converged >/dev/null

status_field() { # PORT FIELD
	"$COORDCTL" --endpoints "127.0.0.1:$1" --timeout-ms 5000 --json status |
		sed -n "s/.*\"$2\":\"\{0,1\}\([0-9a-f]*\).*/\1/p"
}
# wait_until WHAT COMMAND...: COMMAND succeeds within CL_WAIT_S.
wait_until() {
	what=$1
	shift
	dl=$(cl_deadline "$CL_WAIT_S")
	until "$@"; do
		[ "$(date +%s)" -lt "$dl" ] || fail "$what"
		sleep 0.1
	done
}

cid=$(status_field "$(cl_port 1 0)" cluster_id)
[ -n "$cid" ] && [ "$cid" != 0000000000000000 ] || fail "no cluster id in n1's status"
for i in 1 2 3; do
	[ "$(status_field "$(cl_port "$i" 0)" cluster_id)" = "$cid" ] ||
		fail "n$i is not in cluster $cid"
	[ "$(cat "$CL_DIR/n$i.data/cluster-id")" = "$cid" ] ||
		fail "n$i's data dir does not hold $cid"
	grep -q "cluster_id=$cid stored in" "$CL_DIR/n$i.log" ||
		fail "n$i did not log storing the id"
done

# The dialer's HELLO deadline: learner n9's peer port never answers.
fake=$(cl_port 9 1)
"$RAW" --listen "$fake" >"$CL_DIR/fake.out" 2>&1 &
echo $! >"$CL_DIR/nfake.pid"
wait_until "raw_peer --listen did not start" grep -q listening "$CL_DIR/fake.out"
cl_ctl member add n9 "127.0.0.1:$fake" --learner >/dev/null || fail "member add n9"
redialed() {
	grep '^hello ' "$CL_DIR/fake.out" | sort | uniq -c | awk '$1 >= 2' | grep -q .
}
wait_until "no member dialed n9 again after its HELLO deadline: $(cat "$CL_DIR/fake.out")" redialed
grep -q "peer connection addr=127.0.0.1:$fake: no hello within 10000 ms: closing" \
	"$CL_DIR"/n[123].log || fail "no dialer logged the HELLO deadline"
[ "$(grep '^hello ' "$CL_DIR/fake.out" | grep -vc " cluster=$cid\$")" = 0 ] ||
	fail "a dialer's HELLO lacks the cluster id: $(cat "$CL_DIR/fake.out")"
cl_ctl member remove n9 >/dev/null || fail "member remove n9"

# B's n1 at A's n2 and n3.
term=$(status_field "$(cl_port "$l" 0)" term)
leader=$(status_field "$(cl_port "$l" 0)" leader)
"$COORDD" --name n1 --data-dir "$CL_DIR/nb1.data" \
	--client-addr "127.0.0.1:$(cl_port 6 0)" --peer-addr "127.0.0.1:$(cl_port 6 1)" \
	--http-addr off --initial-cluster-token B \
	--initial-cluster "n1=127.0.0.1:$(cl_port 6 1),n2=127.0.0.1:$(cl_port 2 1),n3=127.0.0.1:$(cl_port 3 1)" \
	>>"$CL_DIR/nb1.log" 2>&1 &
echo $! >"$CL_DIR/nb1.pid"
wait_until "B's n1 did not start" grep -qs "cluster_id=[0-9a-f]* stored in" "$CL_DIR/nb1.log"
bid=$(sed -n 's/.*cluster_id=\([0-9a-f]*\) stored in.*/\1/p' "$CL_DIR/nb1.log")
[ -n "$bid" ] && [ "$bid" != "$cid" ] || fail "B's id '$bid' is A's"
refused3() {
	[ "$(grep -c "peer addr=127.0.0.1:[0-9]* refused: cluster id mismatch: peer [0-9]* is in cluster $bid, we are in $cid" \
		"$CL_DIR/n$1.log")" -ge 3 ]
}
for i in 2 3; do
	wait_until "n$i did not refuse B's n1 three times" refused3 "$i"
done
cl_ctl put during-b 1 >/dev/null || fail "no write while B's n1 knocks"
[ "$(status_field "$(cl_port "$l" 0)" leader)" = "$leader" ] || fail "B's n1 moved A's leader"
[ "$(status_field "$(cl_port "$l" 0)" term)" = "$term" ] || fail "B's n1 moved A's term"
[ "$(cl_ctl --json member list | grep -o '"id"' | wc -l)" = 3 ] ||
	fail "A's members changed: $(cl_ctl member list)"
cl_kill b1 TERM

# Clients that name a cluster.
[ "$(cl_ctl_node 1 --cluster-id "$cid" get before | sed -n 2p)" = 1 ] ||
	fail "a client naming A's id was not served"
cl_ctl_node 1 --timeout-ms 2000 --dial-timeout-ms 1000 --cluster-id "$bid" get before \
	>"$CL_DIR/ctl.out" 2>&1 && fail "a client naming B's id was served"
grep -q "client addr=127.0.0.1:[0-9]*: hello refused: cluster id mismatch: client expects $bid, server is in $cid" \
	"$CL_DIR/n1.log" || fail "n1 did not log refusing a client of B: $(cat "$CL_DIR/ctl.out")"

# n1 restarted: another token derives another id, the data dir's wins;
# another --cluster-id refuses to start.
cl_kill 1 TERM
cl_node_start 1 --initial-cluster-token A --cluster-id 1234
wait "$(cl_pid 1)" && fail "n1 started with --cluster-id 1234"
grep -q "cannot start: data dir .*n1.data belongs to cluster $cid, not to --cluster-id 0000000000001234" \
	"$CL_DIR/n1.log" || fail "n1 did not say why it refused to start"
cl_node_start 1 --initial-cluster-token other
wait_until "n1 did not take the stored id" \
	grep -q "cluster_id=$cid from .*n1.data/cluster-id (the flags derive [0-9a-f]*: the data dir wins)" "$CL_DIR/n1.log"
cl_ctl put after-restart 1 >/dev/null || fail "put after n1's restart"
cl_wait_converged >/dev/null
[ "$(status_field "$(cl_port 1 0)" cluster_id)" = "$cid" ] || fail "n1 came back in another cluster"

# A member added at run time: the id comes from member add.
cl_node_start 5 --join
wait "$(cl_pid 5)" && fail "n5 joined without --cluster-id"
grep -q "cannot start: --join needs --cluster-id" "$CL_DIR/n5.log" ||
	fail "n5 did not say it needs --cluster-id"
[ -e "$CL_DIR/n5.data/cluster-id" ] && fail "n5 stored a cluster id"
# A damaged id file refuses to start too.
mkdir -p "$CL_DIR/n5.data"
printf 'not an id\n' >"$CL_DIR/n5.data/cluster-id"
cl_node_start 5 --join --cluster-id "$cid"
wait "$(cl_pid 5)" && fail "n5 started with a damaged cluster-id file"
grep -q "cannot start: .*n5.data/cluster-id is damaged" "$CL_DIR/n5.log" ||
	fail "n5 did not name its damaged cluster-id file"
out=$(cl_ctl member add n4 "127.0.0.1:$(cl_port 4 1)" --client-addr "127.0.0.1:$(cl_port 4 0)") ||
	fail "member add n4"
printf '%s\n' "$out" | grep -q "^start it with: --name n4 --peer-addr 127.0.0.1:$(cl_port 4 1) --join --cluster-id $cid\$" ||
	fail "member add did not print the id: $out"
CL_N=4
cl_node_start 4 --join --cluster-id "$cid"
cl_ctl put after-join 1 >/dev/null || fail "put after n4 joined"
cl_wait_converged >/dev/null
[ "$(cl_ctl_node 4 get after-join --serializable | sed -n 2p)" = 1 ] || fail "n4 lacks after-join"
[ "$(status_field "$(cl_port 4 0)" cluster_id)" = "$cid" ] || fail "n4 is not in $cid"
echo "PASS: cluster_id (one id per cluster, stored and required in both HELLOs; B refused, A undisturbed; the dialer's HELLO deadline; a joined member)"
