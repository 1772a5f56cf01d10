#!/bin/bash
# tests/cluster/peer_tls_identity.sh: with peer TLS, a peer is the member
# its certificate names (issue 14 §1(a), issue 11 §6). One certificate
# per member from one CA, each naming its member (DNS SAN nI) and the
# shared host 127.0.0.1 -- so an address names no member here, only the
# name does. Checks:
#   - a certificate of the cluster's CA for "evil" cannot claim n2 in a
#     peer HELLO (sent through openssl s_client by tests/cluster/raw_peer
#     --emit): n1 logs the refusal at warn and closes;
#   - a member restarted with another member's valid certificate is
#     refused both ways (the others log it), receives nothing more and
#     disturbs nothing: the leader and its term stay, writes go on;
#   - back with its own certificate, it catches up.
# Every wait is bounded (20 s).
. "$(dirname "$0")/lib.sh"
cl_init peer-tls-id
command -v openssl >/dev/null 2>&1 || { echo "SKIP: no openssl"; exit 77; }
RAW=$top_builddir/tests/cluster/raw_peer
[ -x "$RAW" ] || fail "no $RAW"

P=$CL_DIR/pki
cl_tls_ca "$P" ca
for i in 1 2 3; do
	cl_tls_cert "$P" ca "n$i" "n$i" "IP:127.0.0.1,DNS:localhost,DNS:n$i"
done
cl_tls_cert "$P" ca evil evil "IP:127.0.0.1,DNS:evil"
cl_node_flags() {
	echo "--peer-cert-file $P/n$1.crt --peer-key-file $P/n$1.key" \
		"--peer-trusted-ca-file $P/ca.crt"
}
cl_start 3
l=$(cl_leader)
cl_ctl put before 1 >/dev/null || fail "put before"
cl_wait_converged >/dev/null

# wait_log I REGEX WHAT: node nI's log matches within 20 s.
wait_log() {
	dl=$(cl_deadline 20)
	until grep -Eq "$2" "$CL_DIR/n$1.log"; do
		[ "$(date +%s)" -lt "$dl" ] || fail "n$1 did not log $3"
		sleep 0.1
	done
}

# "evil" claims to be n2 in its HELLO to n1, with the cluster's real id
# (STATUS gives it to anyone): refused for its certificate.
cid=$(cl_ctl_node 1 --json status | sed -n 's/.*"cluster_id":"\([0-9a-f]*\)".*/\1/p')
[ -n "$cid" ] || fail "no cluster id in the status of n1"
"$RAW" --emit hello n2 n1 "$cid" |
	timeout 20 openssl s_client -connect "127.0.0.1:$(cl_port 1 1)" \
		-cert "$P/evil.crt" -key "$P/evil.key" -CAfile "$P/ca.crt" \
		-quiet >"$CL_DIR/s_client.out" 2>&1
wait_log 1 "peer addr=127.0.0.1:[0-9]+ refused: its certificate does not name member=n2" \
	"refusing evil's certificate for n2"

# A follower restarted with the certificate of the third member.
f=$(( l % 3 + 1 ))
o=$(( f % 3 + 1 ))
[ "$o" != "$l" ] || o=$(( o % 3 + 1 ))
set -- $(cl_status_of "$l")
leader_id=$2
term=$(cl_ctl_node "$l" --json status | sed -n 's/.*"term":\([0-9]*\).*/\1/p')
cl_kill "$f" TERM
cl_node_start "$f" --peer-cert-file "$P/n$o.crt" --peer-key-file "$P/n$o.key"
for i in 1 2 3; do
	[ "$i" = "$f" ] && continue
	wait_log "$i" "refused: its certificate does not name member=n$f" \
		"refusing n$f with n$o's certificate"
done
cl_ctl put after-restart 1 >/dev/null || fail "put after-restart"
# Long enough for a heartbeat round or two to bring it over, had n$f
# been let in.
sleep 2
out=$(cl_ctl_node "$f" get after-restart --serializable --count-only 2>&1)
[ "$out" = 0 ] || fail "n$f with n$o's certificate got entries ($out)"
set -- $(cl_status_of "$l")
[ "${2:-}" = "$leader_id" ] || fail "the leader changed"
t=$(cl_ctl_node "$l" --json status | sed -n 's/.*"term":\([0-9]*\).*/\1/p')
[ "$t" = "$term" ] || fail "the term moved from $term to $t"

# With its own certificate it catches up.
cl_kill "$f" TERM
cl_node_start "$f"
cl_wait_converged >/dev/null
out=$(cl_ctl_node "$f" get after-restart --serializable --count-only 2>&1)
[ "$out" = 1 ] || fail "n$f did not catch up ($out)"
echo "PASS: peer_tls_identity (a certificate speaks only for the member it names)"
