#!/bin/bash
# tests/cluster/failpoints.sh: the failpoints (coordd/failpoint.h,
# docs/fault-testing.md "Failpoints") in a real 3-node cluster, while a
# writer puts w/1, w/2 ... and notes each acknowledged put:
# 0. a bad COORD_FAILPOINTS: coordd refuses to start (exit 2), saying why;
# 1. a follower whose 20th sync fails (store.sync=error#20) stops
#    (exit 1, level=error), the cluster keeps serving, and restarted
#    without the failpoint it has every acknowledged put;
# 2. a node crashing after persisting a Ready (node.after_persist=crash#5),
#    then the leader after sending one (node.after_send=crash#30, while it
#    drops a fifth of its peer messages: net.send=drop@20%) -- made leader
#    by TRANSFER_LEADER, it crashes as leader or on the way there;
# 3. a lagging node crashing half-way through installing a snapshot
#    (snapshot.install=crash), which the next start completes;
# then every node is restarted without failpoints, and every acknowledged
# put is on every node. Skipped (77) when coordd has no failpoints.
. "$(dirname "$0")/lib.sh"
cl_init failpoints
RAW=$top_builddir/tests/cluster/raw_client
[ -x "$RAW" ] || fail "no $RAW (make check builds it)"
if ! nm "$COORDD" 2>/dev/null | grep -q ' failpoint_hit$'; then
	echo "SKIP: $COORDD has no failpoints (./configure --enable-failpoints)"
	exit 77
fi
FP_CRASH=86     # FAILPOINT_CRASH_STATUS

# fp_start I SPEC: (re)starts nI with COORD_FAILPOINTS=SPEC (fixed seed).
fp_start() {
	COORD_FAILPOINTS=$2 COORD_FAILPOINTS_SEED=7 cl_node_start "$1"
}
# fp_wait_exit I STATUS: until nI exits, with STATUS.
fp_wait_exit() {
	dl=$(cl_deadline "$CL_WAIT_S")
	while cl_running "$1"; do
		[ "$(date +%s)" -lt "$dl" ] || fail "n$1 still runs"
		sleep 0.05
	done
	st=0
	wait "$(cl_pid "$1")" 2>/dev/null || st=$?
	rm -f "$CL_DIR/n$1.pid"
	[ "$st" -eq "$2" ] || fail "n$1 exited with status $st, not $2"
}
acked() { wc -l <"$CL_DIR/acked"; }
# wait_acked N: until N more puts were acknowledged than now (failing
# only when none was for CL_WAIT_S: a busy disk makes puts slow).
wait_acked() {
	want=$(( $(acked) + $1 ))
	last=$(acked)
	dl=$(cl_deadline "$CL_WAIT_S")
	while [ "$(acked)" -lt "$want" ]; do
		[ "$(acked)" -eq "$last" ] || { last=$(acked); dl=$(cl_deadline "$CL_WAIT_S"); }
		[ "$(date +%s)" -lt "$dl" ] || fail "the cluster stopped serving ($(acked) puts)"
		sleep 0.05
	done
}
# follower: a running node that does not lead.
follower() {
	l=$(cl_leader)
	for i in 1 2 3; do
		[ "$i" != "$l" ] && cl_running "$i" && { echo "$i"; return; }
	done
}
# caught_up I: until nI applied what the leader had applied when asked
# (the writer keeps the indexes moving: no waiting for them to agree).
caught_up() {
	set -- "$1" $(cl_status_of "$(cl_leader)")
	dl=$(cl_deadline "$CL_WAIT_S")
	while :; do
		set -- "$1" "$2" "$3" "$4" "$5" $(cl_status_of "$1")
		[ $# -eq 9 ] && [ "$8" -ge "$4" ] && return 0
		[ "$(date +%s)" -lt "$dl" ] || fail "n$1 did not catch up to applied index $4"
		set -- "$1" "$2" "$3" "$4" "$5"
		sleep 0.1
	done
}
# make_leader I: TRANSFER_LEADER to nI until it leads (or it exited).
make_leader() {
	id=$(cl_status_of "$1" | cut -d' ' -f1)
	dl=$(cl_deadline "$CL_WAIT_S")
	while cl_running "$1" && [ "$(cl_leader)" != "$1" ]; do
		[ "$(date +%s)" -lt "$dl" ] || fail "n$1 never led"
		[ -n "$id" ] || id=$(cl_status_of "$1" | cut -d' ' -f1)
		"$RAW" 127.0.0.1 "$(cl_port "$(cl_leader)" 0)" hello transfer "$id" >/dev/null 2>&1
		sleep 0.2
	done
}

# 0.
COORD_FAILPOINTS="store.sync=boom" "$COORDD" --name n1 --data-dir "$CL_DIR/bad.data" \
	--client-addr "127.0.0.1:$(cl_port 1 0)" --peer-addr "127.0.0.1:$(cl_port 1 1)" \
	--initial-cluster "n1=127.0.0.1:$(cl_port 1 1)" >"$CL_DIR/bad.log" 2>&1
st=$?
[ "$st" -eq 2 ] || fail "a bad COORD_FAILPOINTS: exit $st"
grep -q "level=error .*cannot start: COORD_FAILPOINTS: unknown action 'boom' for store.sync" \
	"$CL_DIR/bad.log" || fail "a bad COORD_FAILPOINTS: $(cat "$CL_DIR/bad.log")"

cl_start 3 --snapshot-entries 20
: >"$CL_DIR/acked"
(
	k=0
	while [ ! -e "$CL_DIR/writer.stop" ]; do
		k=$((k + 1))
		CL_TIMEOUT_MS=5000 cl_ctl put "w/$k" "$k" >/dev/null 2>&1 &&
			echo "$k" >>"$CL_DIR/acked"
	done
) &
writer=$!
trap 'kill -TERM "$writer" 2>/dev/null; cl_cleanup' EXIT
wait_acked 5

# 1.
f=$(follower)
cl_kill "$f" TERM
fp_start "$f" "store.sync=error#20"
fp_wait_exit "$f" 1
grep -q "level=error .*failpoint point=store.sync action=error hit=20" "$CL_DIR/n$f.log" ||
	fail "n$f did not log the failed sync"
grep -q "level=error .*the store failed .*: stopping" "$CL_DIR/n$f.log" ||
	fail "n$f did not log its stop"
wait_acked 5
cl_node_start "$f"
caught_up "$f"
echo "1. n$f stopped on its failed sync; $(acked) puts acknowledged"

# 2.
f=$(follower)
cl_kill "$f" TERM
fp_start "$f" "node.after_persist=crash#5"
fp_wait_exit "$f" "$FP_CRASH"
grep -q "level=error .*failpoint point=node.after_persist action=crash hit=5" "$CL_DIR/n$f.log" ||
	fail "n$f did not log its crash"
cl_node_start "$f"
wait_acked 5
l=$(cl_leader)
cl_kill "$l" TERM
fp_start "$l" "node.after_send=crash#30,net.send=drop@20%"
make_leader "$l"
fp_wait_exit "$l" "$FP_CRASH"
grep -q "level=error .*failpoint point=node.after_send action=crash hit=30" "$CL_DIR/n$l.log" ||
	fail "n$l did not log its crash"
role=$(grep -o 'role=[a-z]*' "$CL_DIR/n$l.log" | tail -1)
cl_node_start "$l"
wait_acked 5
caught_up "$l"
echo "2. crashes after persist (n$f) and after send (n$l, $role); $(acked) puts acknowledged"

# 3. n$f misses 50 puts (the others compact past them).
f=$(follower)
cl_kill "$f" TERM
wait_acked 50
fp_start "$f" "snapshot.install=crash"
fp_wait_exit "$f" "$FP_CRASH"
grep -q "level=error .*failpoint point=snapshot.install action=crash" "$CL_DIR/n$f.log" ||
	fail "n$f did not crash installing the snapshot"
cl_node_start "$f"

touch "$CL_DIR/writer.stop"
wait "$writer"
set -- $(cl_wait_converged)
grep -q "installed snapshot" "$CL_DIR/n$f.log" || fail "n$f did not install a snapshot"
sort -n "$CL_DIR/acked" | sed 's|^|w/|' | sort >"$CL_DIR/want"
for i in 1 2 3; do
	cl_ctl_node "$i" get w/ --prefix --keys-only --serializable | sort >"$CL_DIR/got$i" ||
		fail "get on n$i"
	lost=$(comm -23 "$CL_DIR/want" "$CL_DIR/got$i" | wc -l)
	[ "$lost" -eq 0 ] || fail "n$i lost $lost acknowledged puts: $(comm -23 "$CL_DIR/want" "$CL_DIR/got$i" | head -5)"
done
echo "PASS: failpoints ($(acked) acknowledged puts on every node; applied index $1)"
