#!/bin/bash
# tests/cluster/tls_strict.sh: the stricter TLS checks, beyond tls.sh.
#   1. At the default log level (info), a node that refuses a TLS
#      handshake -- a client without a certificate, plain TCP on a TLS
#      port, a peer with a certificate from an untrusted CA -- writes a
#      warn line saying so (DESIGN.md, Bad input: "a log line").
#   2. coordctl (libcoord) refuses a server whose certificate, though
#      signed by the trusted CA, does not name the endpoint it dialed
#      (here: SAN DNS:wrong.example for 127.0.0.1).
. "$(dirname "$0")/lib.sh"
cl_init tls-strict
command -v openssl >/dev/null 2>&1 || { echo "SKIP: no openssl"; exit 77; }

P=$CL_DIR/pki
cl_tls_ca "$P" ca
cl_tls_ca "$P" evil
cl_tls_cert "$P" ca node 127.0.0.1
cl_tls_cert "$P" ca client client
cl_tls_cert "$P" evil evilpeer 127.0.0.1
# A certificate of the trusted CA for another name.
cl_tls_cert "$P" ca wrong wrong.example DNS:wrong.example
failed=0
bad() {
	echo "FAIL: $*" >&2
	failed=1
}
cat "$P/ca.crt" "$P/evil.crt" >"$P/both.crt"
CL_CTL_FLAGS="--cacert $P/ca.crt --cert $P/client.crt --key $P/client.key"
cl_start 1 --cert-file "$P/node.crt" --key-file "$P/node.key" \
	--trusted-ca-file "$P/ca.crt" --client-cert-auth \
	--peer-cert-file "$P/node.crt" --peer-key-file "$P/node.key" \
	--peer-trusted-ca-file "$P/ca.crt"

"$COORDCTL" --endpoints "127.0.0.1:$(cl_port 1 0)" --timeout-ms 1000 \
	--cacert "$P/ca.crt" put k v >/dev/null 2>&1 &&
	fail "a client without a certificate was served"
"$COORDCTL" --endpoints "127.0.0.1:$(cl_port 1 0)" --timeout-ms 1000 \
	put k v >/dev/null 2>&1 && fail "a plain-TCP client was served"
# A peer with an untrusted certificate: s_client on the peer port.
timeout 10 openssl s_client -connect "127.0.0.1:$(cl_port 1 1)" \
	-CAfile "$P/both.crt" -cert "$P/evilpeer.crt" -key "$P/evilpeer.key" \
	</dev/null >/dev/null 2>&1

# 1. (the lines are waited for: the node logs them when it gets to them)
cl_wait_log 1 "level=warn .*addr=127.0.0.1:[0-9]+.*peer did not return a certificate" ||
	bad "no warn line for a client without a certificate"
cl_wait_log 1 "level=warn .*addr=127.0.0.1:[0-9]+.*wrong version number" ||
	bad "no warn line for plain TCP on the TLS client port"
cl_wait_log 1 "level=warn .*peer.*addr=127.0.0.1:[0-9]+.*certificate verify failed" ||
	bad "no warn line for a peer with an untrusted certificate"

# 2. n1 again, now presenting the certificate for wrong.example.
cl_kill 1 TERM
cl_node_start 1 --cert-file "$P/wrong.crt" --key-file "$P/wrong.key"
# (cl_leader would ask through TLS, which now refuses this node: wait for
# it to listen instead.)
j=0
until grep -q "serving clients" "$CL_DIR/n1.log" 2>/dev/null && [ "$(grep -c "serving clients" "$CL_DIR/n1.log")" -ge 2 ]; do
	j=$((j + 1))
	[ $j -lt 1200 ] || fail "n1 did not restart"
	sleep 0.05
done
"$COORDCTL" --endpoints "127.0.0.1:$(cl_port 1 0)" --timeout-ms 2000 \
	$CL_CTL_FLAGS put k v >/dev/null 2>&1 &&
	bad "coordctl accepted a certificate for wrong.example from 127.0.0.1"

[ $failed -eq 0 ] || fail "tls_strict: see above"
echo "PASS: tls_strict"
