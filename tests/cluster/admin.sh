#!/bin/bash
# tests/cluster/admin.sh: issue 14 section 4, the attacks on admin
# requests (MEMBER_ADD/REMOVE/PROMOTE, TRANSFER_LEADER, COMPACT,
# ALARM_DISARM):
# 1. From an address not in --admin-addrs (here 127.0.0.2 only; the
#    clients come from 127.0.0.1) every admin request is COORD_EPERM,
#    logged, and changes nothing; plain writes go on.
# 2. As an admin (the default, loopback): three dead members added and
#    promoted (the reproduced attack: six voters, three alive) are never
#    made voters (COORD_EUNSAFE: not caught up); with a follower down,
#    removing the other follower (which would leave one of two voters
#    reachable) is COORD_EUNSAFE; a second TRANSFER_LEADER asked of one
#    node within --transfer-interval-ms is COORD_ERATELIMITED.
# 3. With --client-cert-auth --admin-names admin.example, a certificate
#    of the CA without that name gets COORD_EPERM, one with it as a DNS
#    SAN is served.
. "$(dirname "$0")/lib.sh"
cl_init admin
RAW=$top_builddir/tests/cluster/raw_client
[ -x "$RAW" ] || fail "no $RAW (make check builds it)"
voters() {
	cl_ctl --json member list | grep -o '"learner":false' | wc -l
}

# 1.
cl_start 3 --admin-addrs 127.0.0.2
l=$(cl_leader)
LPORT=$(cl_port "$l" 0)
out=$(cl_ctl member add evil 127.0.0.1:9 2>&1) && fail "member add by a non-admin: $out"
echo "$out" | grep -q "not allowed" || fail "member add by a non-admin: $out"
out=$(cl_ctl member remove "n$l" 2>&1) && fail "member remove by a non-admin: $out"
out=$(cl_ctl alarm disarm 2>&1) && fail "alarm disarm by a non-admin: $out"
echo "$out" | grep -q "not allowed" || fail "alarm disarm by a non-admin: $out"
out=$("$RAW" 127.0.0.1 "$LPORT" hello compact 1 transfer 0)
[ "$(echo "$out" | grep -c 'code=25 COORD_EPERM')" -eq 2 ] ||
	fail "compact and transfer by a non-admin: $out"
cl_wait_log "$l" "refused: not an admin \(its address is not in --admin-addrs\)" ||
	fail "no log line for a refused admin request"
[ "$(cl_ctl --json member list | grep -o '"id"' | wc -l)" -eq 3 ] ||
	fail "the member list changed: $(cl_ctl member list)"
[ "$(cl_leader)" = "$l" ] || fail "the leadership moved"
cl_ctl put plain yes >/dev/null || fail "a plain write was refused"
for i in 1 2 3; do cl_kill "$i" TERM; done
rm -rf "$CL_DIR"/n[123].data

# 2.
cl_start 3 --transfer-interval-ms 600000
for d in d1 d2 d3; do
	# Nothing listens there: these members never catch up.
	cl_ctl member add "$d" 127.0.0.1:9 --learner >/dev/null || fail "member add $d"
	out=$(cl_ctl member promote "$d" 2>&1) && fail "dead $d promoted: $out"
	echo "$out" | grep -q "quorum" || fail "member promote $d: $out"
done
[ "$(voters)" -eq 3 ] || fail "voters: $(cl_ctl member list)"
cl_ctl put with-dead-learners yes >/dev/null || fail "no write with three dead learners"
for d in d1 d2 d3; do
	cl_ctl member remove "$d" >/dev/null || fail "member remove $d (a learner)"
done
l=$(cl_leader)
f1=$(( l % 3 + 1 ))
f2=$(( f1 % 3 + 1 ))
cl_kill "$f1" TERM
out=$(cl_ctl member remove "n$f2" 2>&1) && fail "removed n$f2 with n$f1 down: $out"
echo "$out" | grep -q "quorum" || fail "member remove n$f2: $out"
cl_ctl put one-down yes >/dev/null || fail "no write with n$f1 down"
cl_node_start "$f1"
cl_wait_converged >/dev/null
l=$(cl_leader)
out=$("$RAW" 127.0.0.1 "$(cl_port "$l" 0)" hello transfer 0 transfer 0)
echo "$out" | grep -q 'reply TRANSFER_LEADER .*code=0 COORD_OK' ||
	fail "a first transfer was refused: $out"
echo "$out" | grep -q 'code=27 COORD_ERATELIMITED' ||
	fail "a second transfer within the interval was served: $out"
for i in 1 2 3; do cl_kill "$i" TERM; done
rm -rf "$CL_DIR"/n[123].data

# 3.
P=$CL_DIR/pki
mkdir -p "$P"
cl_tls_ca "$P" ca
cl_tls_cert "$P" ca node node
cl_tls_cert "$P" ca user user "DNS:user.example"
cl_tls_cert "$P" ca admin operator "DNS:admin.example"
CL_CTL_FLAGS="--cacert $P/ca.crt --cert $P/admin.crt --key $P/admin.key"
CL_N=1
cl_node_start 1 --cert-file "$P/node.crt" --key-file "$P/node.key" \
	--trusted-ca-file "$P/ca.crt" --client-cert-auth --admin-names admin.example
l=$(cl_leader)
out=$("$COORDCTL" --endpoints "127.0.0.1:$(cl_port 1 0)" --cacert "$P/ca.crt" \
	--cert "$P/user.crt" --key "$P/user.key" member add d4 127.0.0.1:9 --learner 2>&1) &&
	fail "member add with a certificate not named in --admin-names: $out"
echo "$out" | grep -q "not allowed" || fail "member add by user.example: $out"
cl_wait_log 1 "refused: not an admin \(no name of its certificate is in --admin-names\)" ||
	fail "no log line for the refused certificate"
cl_ctl member add d4 127.0.0.1:9 --learner >/dev/null ||
	fail "member add with the admin.example certificate"
echo "PASS: admin"
