#!/bin/bash
# tests/cluster/tls.sh: a 3-node cluster with TLS on the client listeners
# (client certificates required) and on the peer listeners (both sides
# verified). Certificates are made here with the openssl CLI (EC P-256):
# a CA, one certificate per node (CN 127.0.0.1, SAN IP 127.0.0.1, DNS
# localhost and DNS nI, the member it is), a client certificate, and a second, untrusted CA with a
# client and a "member" certificate of its own. Checks:
#   - the cluster elects a leader over TLS peers, and converges;
#   - coordctl with --cacert/--cert/--key can put, get and status;
#   - refused: a client without a certificate, a client whose
#     certificate comes from the untrusted CA, a plain-TCP client, a
#     TLS 1.1 client (openssl s_client), and n1 logs each refusal with
#     its reason (the cluster runs at --log-level debug: see tls_strict.sh);
#   - an impostor member (a coordd named n3, with a certificate from the
#     untrusted CA, dialing n1 and n2) is refused: the leader and its term
#     stay, writes go on, the impostor's attempts show in the logs.
# Every wait is bounded by 10 s.
. "$(dirname "$0")/lib.sh"
cl_init tls
command -v openssl >/dev/null 2>&1 || { echo "SKIP: no openssl"; exit 77; }

P=$CL_DIR/pki
cl_tls_ca "$P" ca
cl_tls_ca "$P" evil
for i in 1 2 3; do
	cl_tls_cert "$P" ca "n$i" 127.0.0.1 "IP:127.0.0.1,DNS:localhost,DNS:n$i"
done
cl_tls_cert "$P" ca client client
cl_tls_cert "$P" evil evilclient client
cl_tls_cert "$P" evil evilpeer 127.0.0.1
# The impostor trusts both CAs: it can verify the cluster, so the only
# reason for a refusal is its own certificate.
cat "$P/ca.crt" "$P/evil.crt" >"$P/both.crt"

cl_node_flags() {
	echo "--cert-file $P/n$1.crt --key-file $P/n$1.key" \
		"--trusted-ca-file $P/ca.crt --client-cert-auth" \
		"--peer-cert-file $P/n$1.crt --peer-key-file $P/n$1.key" \
		"--peer-trusted-ca-file $P/ca.crt"
}
CL_CTL_FLAGS="--cacert $P/ca.crt --cert $P/client.crt --key $P/client.key"

# The leader is elected over TLS peers (cl_start waits for it).
cl_start 3 --log-level debug
l=$(cl_leader)
for i in 1 2 3; do
	grep -q "connected to=" "$CL_DIR/n$i.log" ||
		fail "n$i never connected to a peer"
done

# A well-behaved client.
cl_ctl put tls-key tls-value >/dev/null || fail "put over TLS"
[ "$(cl_ctl get tls-key | sed -n 2p)" = tls-value ] || fail "get over TLS"
for i in 1 2 3; do
	cl_ctl_node "$i" status >/dev/null || fail "status of n$i over TLS"
	v=$(cl_ctl_node "$i" get tls-key | sed -n 2p)
	[ "$v" = tls-value ] || fail "get on n$i over TLS gave '$v'"
done
cl_wait_converged >/dev/null

# refused WHAT ARGS...: coordctl with ARGS (instead of the good flags)
# must fail, quickly.
refused() {
	what=$1
	shift
	if "$COORDCTL" --endpoints "127.0.0.1:$(cl_port 1 0)" --timeout-ms 1000 \
		"$@" put refused-key "$what" >"$CL_DIR/refused.out" 2>&1; then
		fail "$what: coordctl succeeded"
	fi
}
refused "no client certificate" --cacert "$P/ca.crt"
refused "untrusted client certificate" --cacert "$P/ca.crt" \
	--cert "$P/evilclient.crt" --key "$P/evilclient.key"
refused "plain TCP"
# n1 logged each refusal with OpenSSL's reason. (At --log-level debug:
# at the default level these lines are not written -- see tls_strict.sh.)
logged() {
	grep -q "client addr=127.0.0.1:[0-9]* closed: tls: .*$1" "$CL_DIR/n1.log" ||
		fail "n1 did not log a refusal for $2 ('$1')"
}
logged "peer did not return a certificate" "no client certificate"
logged "certificate verify failed" "an untrusted client certificate"
logged "wrong version number" "plain TCP"
# And nothing of theirs was written.
n=$(cl_ctl get refused-key --count-only)
[ "$n" = 0 ] || fail "a refused client wrote refused-key ($n)"

# A raw plain-TCP client that sends a HELLO-shaped frame gets no frame
# back (a frame would start with a 0 byte; a TLS alert starts 0x15).
exec 3<>"/dev/tcp/127.0.0.1/$(cl_port 1 0)" || fail "connect to n1"
printf '\000\000\000\006\223\001\001\001\304\000' >&3
first=$(timeout 5 head -c 1 <&3 2>/dev/null | od -An -tx1 | tr -d ' \n')
exec 3<&-
[ "$first" != 00 ] || fail "a plain-TCP client got a frame back"

# TLS versions: 1.1 is refused; 1.2 and 1.3 with the client cert work
# (so the s_client command itself is sound). SECLEVEL=0 lets OpenSSL 3
# offer TLS 1.1 at all, so any refusal comes from the server.
s_client() {
	timeout 10 openssl s_client -connect "127.0.0.1:$(cl_port 1 0)" \
		-CAfile "$P/ca.crt" -cert "$P/client.crt" -key "$P/client.key" \
		-verify_return_error "$@" </dev/null >"$CL_DIR/s_client.out" 2>&1
}
s_client -tls1_2 || fail "openssl s_client -tls1_2 could not connect"
s_client -tls1_3 || fail "openssl s_client -tls1_3 could not connect"
if s_client -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'; then
	fail "openssl s_client -tls1_1 connected"
fi
grep -Eqi "protocol version|unsupported protocol" "$CL_DIR/s_client.out" ||
	fail "TLS 1.1: not refused for its version: $(tail -3 "$CL_DIR/s_client.out")"
logged "unsupported protocol" "TLS 1.1"

# The cluster was not disturbed by any of it.
cl_ctl put after-refusals yes >/dev/null || fail "put after the refusals"

# An impostor: a coordd calling itself n3, with a certificate from the
# untrusted CA, its own ports (node 4's) and data, dialing n1 and n2.
set -- $(cl_status_of "$l")
leader_id=$2
term=$("$COORDCTL" --endpoints "127.0.0.1:$(cl_port "$l" 0)" $CL_CTL_FLAGS \
	--json status | sed -n 's/.*"term":\([0-9]*\).*/\1/p')
[ -n "$term" ] || fail "no term in the status of n$l"
# Peer hellos accepted so far (a debug line each): none may come from the
# impostor.
declare -a hellos
for i in 1 2; do
	hellos[$i]=$(grep -c " is node=" "$CL_DIR/n$i.log")
done
imp_cluster="n1=127.0.0.1:$(cl_port 1 1),n2=127.0.0.1:$(cl_port 2 1),n3=127.0.0.1:$(cl_port 4 1)"
"$COORDD" --name n3 --data-dir "$CL_DIR/n4.data" \
	--client-addr "127.0.0.1:$(cl_port 4 0)" \
	--peer-addr "127.0.0.1:$(cl_port 4 1)" \
	--http-addr "127.0.0.1:$(cl_port 4 2)" \
	--initial-cluster "$imp_cluster" --election-ms 300 --heartbeat-ms 50 \
	--peer-cert-file "$P/evilpeer.crt" --peer-key-file "$P/evilpeer.key" \
	--peer-trusted-ca-file "$P/both.crt" --log-level debug \
	>>"$CL_DIR/n4.log" 2>&1 &
echo $! >"$CL_DIR/n4.pid"

# The impostor keeps dialing and campaigning (a term far above the
# cluster's soon, with --election-ms 300) for 3 s while writes go on.
for j in $(seq 1 6); do
	sleep 0.5
	kill -0 "$(cat "$CL_DIR/n4.pid")" 2>/dev/null || fail "the impostor exited: $(tail -5 "$CL_DIR/n4.log")"
	cl_ctl put "during-impostor-$j" yes >/dev/null || fail "put $j with the impostor around"
done
set -- $(cl_status_of "$l")
[ "${2:-}" = "$leader_id" ] || fail "the leader changed with the impostor around"
term2=$("$COORDCTL" --endpoints "127.0.0.1:$(cl_port "$l" 0)" $CL_CTL_FLAGS \
	--json status | sed -n 's/.*"term":\([0-9]*\).*/\1/p')
[ "$term2" = "$term" ] || fail "the term moved from $term to $term2 with the impostor around"
# The impostor did try (it dialed and was refused)...
grep -Eq "cannot reach peer=n[12]|lost connection to=n[12]" "$CL_DIR/n4.log" ||
	fail "the impostor never tried to reach n1 or n2"
grep -qi "tls" "$CL_DIR/n4.log" || fail "the impostor's log shows no TLS refusal"
# ...and n1 and n2 refused its certificate, and never took it for n3.
for i in 1 2; do
	grep -q "peer connection addr=127.0.0.1:[0-9]* closed: tls: .*certificate verify failed" \
		"$CL_DIR/n$i.log" || fail "n$i did not log refusing the impostor"
	n=$(grep -c " is node=" "$CL_DIR/n$i.log")
	[ "$n" = "${hellos[$i]}" ] ||
		fail "n$i accepted a peer hello while the impostor ran"
done
kill -KILL "$(cat "$CL_DIR/n4.pid")" 2>/dev/null
wait "$(cat "$CL_DIR/n4.pid")" 2>/dev/null
rm -f "$CL_DIR/n4.pid"
cl_ctl put after-impostor yes >/dev/null || fail "put after the impostor"
set -- $(cl_wait_converged)
echo "PASS: tls"
