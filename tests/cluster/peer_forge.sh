#!/bin/bash
# tests/cluster/peer_forge.sh: the peer-port attacks of issue 14 on a
# plaintext 3-node cluster, sent by tests/cluster/raw_peer:
#   - a forged leader (§1): a HELLO from "evil", a member of nothing, then
#     an APPEND of term+1 that would put /app/config on every node. Each
#     node refuses the HELLO at warn ("not a member") and closes; no node
#     applies the entry, the leader and the term stay.
#   - a term no node could increment (§2): a HELLO claiming a member's id
#     (plaintext peers are not authenticated, so this one is accepted) and
#     a HEARTBEAT of term 2^62 to every node. Each node drops it as
#     malformed (a warn line), the term stays where it was, and writes go
#     on -- before the fix the cluster stopped for good.
#   - a member on its own accepted connection: a second HELLO, and a
#     message naming another member as its sender, close it at warn;
#     nothing reaches Raft (no node takes the message's term).
#   - a PUBLISH naming another member than its sender is refused at
#     warn; the member table stays.
#   - a second connection with the leader's id, closed: the follower
#     keeps its leader (it dropped it before, and campaigned).
#   - snapshot chunks (§10), well-formed as the store stages them: 20 MiB
#     from a member that is not the leader are ignored ("not from the
#     leader"); 20 MiB claiming the leader's id stop at
#     --max-snapshot-bytes (4 MiB here: the stream is dropped, at warn);
#     the follower's data dir grows by less than 12 MiB (the 40 MiB
#     were staged before); a stream that stops sending is dropped after
#     5 election timeouts.
# Every wait is bounded (cl_leader, cl_wait_converged: 20 s; raw_peer 5 s;
# the stalled stream: 30 s).
. "$(dirname "$0")/lib.sh"
cl_init peer-forge
RAW=$top_builddir/tests/cluster/raw_peer
[ -x "$RAW" ] || fail "no $RAW"

cl_start 3 --max-snapshot-bytes 4194304
l=$(cl_leader)
cl_ctl put before forge >/dev/null || fail "put before"
cl_wait_converged >/dev/null

status_field() { # I FIELD
	cl_ctl_node "$1" --json status | sed -n "s/.*\"$2\":\"\{0,1\}\([0-9a-f]*\).*/\1/p"
}
term=$(status_field "$l" term)
last=$(status_field "$l" commit_index)
leader=$(status_field "$l" leader)
cid=$(status_field "$l" cluster_id)
[ -n "$term" ] && [ -n "$last" ] || fail "no term or commit in the status of n$l"
# The forgeries carry the cluster's real id (STATUS tells anyone who
# reaches the client port): refused for the member, not for the id.
[ -n "$cid" ] && [ "$cid" != 0000000000000000 ] || fail "no cluster id in the status of n$l"

# raw PORT STEPS...: raw_peer's output in $OUT.
raw() {
	port=$1
	shift
	OUT=$("$RAW" 127.0.0.1 "$port" "$@" 2>"$CL_DIR/raw.err")
	rc=$?
	[ $rc -eq 0 ] || fail "raw_peer $*: exit $rc: $OUT $(cat "$CL_DIR/raw.err")"
}

# §1: the forged leader. Each node's last entry is the leader's (term
# $term, index $last): the APPEND fits every log.
declare -a outs
for i in 1 2 3; do
	raw "$(cl_port "$i" 1)" hello evil "n$i" "$cid" \
		append evil "n$i" $((term + 1)) "$last" "$term" $((last + 1)) \
		/app/config attacker-controlled eof
	outs[$i]=$OUT
done
cl_ctl put after-forged-leader yes >/dev/null || fail "put after the forged leader"
cl_wait_converged >/dev/null
for i in 1 2 3; do
	n=$(cl_ctl_node "$i" get /app/config --serializable --count-only)
	[ "$n" = 0 ] || fail "n$i applied the forged entry"
	[ "${outs[$i]}" = closed ] ||
		fail "n$i did not close on evil: $(printf '%s' "${outs[$i]}" | tr '\n' '|')"
	grep -q "peer addr=127.0.0.1:[0-9]* refused: node=[0-9a-f]* is not a member" \
		"$CL_DIR/n$i.log" || fail "n$i did not log refusing evil's hello"
done
[ "$(status_field "$l" leader)" = "$leader" ] || fail "the leader changed"
[ "$(status_field "$l" term)" = "$term" ] || fail "the term moved"

# §2: term 2^62 from a member's id (n1's to n2 and n3, n2's to n1).
big=4611686018427387904
for i in 1 2 3; do
	from=n$((i % 3 + 1))
	raw "$(cl_port "$i" 1)" hello "$from" "n$i" "$cid" recv \
		heartbeat "$from" "n$i" "$big" 0 sleep 200
	case $OUT in
	hello*) ;;
	*) fail "n$i did not answer a member's hello: $(printf '%s' "$OUT" | tr '\n' '|')" ;;
	esac
done
for i in 1 2 3; do
	grep -q "dropped a malformed peer message type=heartbeat.*: invalid argument" \
		"$CL_DIR/n$i.log" || fail "n$i did not drop the term-2^62 heartbeat"
done
cl_ctl put after-huge-term yes >/dev/null || fail "no write after the term-2^62 heartbeat"
cl_wait_converged >/dev/null
for i in 1 2 3; do
	t=$(status_field "$i" term)
	[ -n "$t" ] && [ "$t" -lt 1000 ] || fail "n$i is at term '$t'"
done
# On an accepted connection a member speaks only as itself, once: a
# second HELLO, and a RAFT message naming another sender, close it (at
# warn) before anything reaches Raft.
# The sender is never the leader: its connection's close would tell the
# follower that its leader's connection broke (and start an election).
l=$(cl_leader)
term=$(status_field "$l" term)
for i in 1 2 3; do
	for j in 1 2 3; do
		[ "$j" != "$i" ] && [ "$j" != "$l" ] && break
	done
	from=n$j
	other=n$((6 - i - j))
	raw "$(cl_port "$i" 1)" hello "$from" "n$i" "$cid" recv \
		hello "$from" "n$i" "$cid" eof
	[ "$(printf '%s\n' "$OUT" | tail -1)" = closed ] ||
		fail "n$i took a second hello: $(printf '%s' "$OUT" | tr '\n' '|')"
	grep -q "peer addr=127.0.0.1:[0-9]*: a second hello: closing" \
		"$CL_DIR/n$i.log" || fail "n$i did not log the second hello"
	raw "$(cl_port "$i" 1)" hello "$from" "n$i" "$cid" recv \
		heartbeat "$other" "n$i" $((term + 5)) 0 eof
	[ "$(printf '%s\n' "$OUT" | tail -1)" = closed ] ||
		fail "n$i took $other's heartbeat from $from: $(printf '%s' "$OUT" | tr '\n' '|')"
	grep -q "peer addr=127.0.0.1:[0-9]*: message from=[0-9a-f]* on the connection of [0-9a-f]*: closing" \
		"$CL_DIR/n$i.log" || fail "n$i did not log the message of another sender"
done
cl_ctl put after-impersonation yes >/dev/null || fail "put after the impersonations"
# (The forged heartbeat's term: reached by no node.)
for i in 1 2 3; do
	t=$(status_field "$i" term)
	[ -n "$t" ] && [ "$t" -lt $((term + 5)) ] || fail "n$i is at term '$t' (was $term)"
done
# A second connection with the leader's id, closed: the follower keeps
# its leader (its own connection from the leader is still up). Before,
# any such close made it drop the leader and campaign. The marker: a
# refused hello on a later connection, logged after the close was read.
l=$(cl_leader)
f=$(( l % 3 + 1 ))
broke0=$(grep -c "connection to leader=[0-9a-f]* broke" "$CL_DIR/n$f.log")
refused0=$(grep -c "refused: node=[0-9a-f]* is not a member" "$CL_DIR/n$f.log")
raw "$(cl_port "$f" 1)" hello "n$l" "n$f" "$cid" eof
raw "$(cl_port "$f" 1)" hello evil "n$f" "$cid" eof
dl=$(cl_deadline "$CL_WAIT_S")
until [ "$(grep -c "refused: node=[0-9a-f]* is not a member" "$CL_DIR/n$f.log")" -gt "$refused0" ]; do
	[ "$(date +%s)" -lt "$dl" ] || fail "n$f did not log refusing evil's hello"
	sleep 0.1
done
[ "$(grep -c "connection to leader=[0-9a-f]* broke" "$CL_DIR/n$f.log")" -eq "$broke0" ] ||
	fail "n$f dropped its leader when a duplicate of its connection closed"
# A member publishes only itself: a PUBLISH naming another member, sent
# to the leader on a follower's connection, is refused at warn and the
# member table keeps that member's addresses.
l=$(cl_leader)
f=$(( l % 3 + 1 ))
o=$(( f % 3 + 1 ))
[ "$o" != "$l" ] || o=$(( o % 3 + 1 ))
raw "$(cl_port "$l" 1)" hello "n$f" "n$l" "$cid" recv \
	publish "n$o" forged.invalid:1 forged.invalid:2 sleep 200
cl_wait_log "$l" "member publish from=[0-9a-f]* refused: it names id=[0-9a-f]* name=n$o\$" ||
	fail "n$l did not refuse the forged publish"
cl_ctl put after-publish yes >/dev/null || fail "put after the forged publish"
members=$(cl_ctl member list)
case $members in
*forged*) fail "the forged publish changed the members: $members" ;;
esac
printf '%s\n' "$members" | grep -q "n$o.*127.0.0.1:$(cl_port "$o" 0)" ||
	fail "n$o's client address is gone: $members"
# §10: snapshot chunks to a follower.
l=$(cl_leader)
f=$(( l % 3 + 1 ))
o=$(( f % 3 + 1 ))
[ "$o" != "$l" ] || o=$(( o % 3 + 1 ))
before=$(du -sk "$CL_DIR/n$f.data" | cut -f1)
raw "$(cl_port "$f" 1)" hello "n$o" "n$f" "$cid" recv chunks 20 100000 1 1048576 sleep 200
# The capped stream and then the stalled one (2 chunks, never the last)
# on one connection: its close makes n$f forget its leader until the
# next heartbeat ("connection to leader broke"), and a stream on a
# connection of its own sent in that window was ignored as not from
# the leader.
raw "$(cl_port "$f" 1)" hello "n$l" "n$f" "$cid" recv chunks 20 100001 1 1048576 \
	chunks 2 100002 1 1048576
after=$(du -sk "$CL_DIR/n$f.data" | cut -f1)
[ $((after - before)) -lt 12288 ] ||
	fail "n$f's data dir grew by $((after - before)) KiB from forged chunks"
grep -q "ignored a snapshot chunk from=[0-9a-f]* index=100000 offset=0: not from the leader" \
	"$CL_DIR/n$f.log" || fail "n$f did not ignore chunks from n$o"
grep -q "dropped a snapshot stream from=[0-9a-f]* index=100001: over 4194304 bytes" \
	"$CL_DIR/n$f.log" || fail "n$f did not cap the leader's stream"
dl=$(cl_deadline 30)
until grep -q "dropped a stalled snapshot stream from=[0-9a-f]* index=100002" "$CL_DIR/n$f.log"; do
	[ "$(date +%s)" -lt "$dl" ] || fail "n$f kept a stalled snapshot stream"
	sleep 0.2
done
cl_ctl put after-chunks yes >/dev/null || fail "put after the chunks"
cl_wait_converged >/dev/null
echo "PASS: peer_forge (a forged leader refused, a term-2^62 heartbeat dropped, a second hello, another's message and another's publish refused, snapshot chunks only from the leader, capped, stalls dropped)"
