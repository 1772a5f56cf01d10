#!/bin/bash
# tests/cluster/tls_names.sh: TLS to peers and clients named by DNS name
# and by bracketed IPv6 address, not only by IPv4 address: peers dial
# "localhost:PORT" and "[::1]:PORT" and check that the certificate names
# that host (SNI and host name check, or the IP SAN), coordctl dials
# "localhost:PORT" and does the same; a certificate that names neither is
# refused.
. "$(dirname "$0")/lib.sh"
cl_init tls-names
j=0   # cl_wait_converged counts in j (set -u)
command -v openssl >/dev/null 2>&1 || { echo "SKIP: no openssl"; exit 77; }

# n2's peer listener on [::1] when this host has IPv6 loopback.
if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
	host2="[::1]"
else
	host2=localhost
fi
peer_host() { if [ "$1" -eq 2 ]; then echo "$host2"; else echo localhost; fi; }
P=$CL_DIR/pki
cl_tls_ca "$P" ca
# One certificate per member, naming it (peers check the member a HELLO
# claims) and the hosts it is dialed at.
for i in 1 2 3; do
	cl_tls_cert "$P" ca "n$i" "n$i" "IP:127.0.0.1,IP:::1,DNS:localhost,DNS:n$i"
done
cl_tls_cert "$P" ca client client
cl_tls_cert "$P" ca other other.example "DNS:other.example"
members="n1=localhost:$(cl_port 1 1),n2=$host2:$(cl_port 2 1),n3=localhost:$(cl_port 3 1)"
cl_node_flags() {
	echo "--peer-addr $(peer_host "$1"):$(cl_port "$1" 1) --initial-cluster $members" \
		"--cert-file $P/n$1.crt --key-file $P/n$1.key" \
		"--peer-cert-file $P/n$1.crt --peer-key-file $P/n$1.key"
}
CL_CTL_FLAGS="--cacert $P/ca.crt --cert $P/client.crt --key $P/client.key"
cl_start 3 --trusted-ca-file "$P/ca.crt" --client-cert-auth \
	--peer-trusted-ca-file "$P/ca.crt"
l=$(cl_leader)
# The peers found each other by name: a write commits on a quorum.
cl_ctl put k v >/dev/null || fail "put over TLS"
cl_wait_converged >/dev/null
for i in 1 2 3; do
	grep -q "connected to=" "$CL_DIR/n$i.log" || fail "n$i connected to no peer"
done
# coordctl by DNS name.
# shellcheck disable=SC2086
out=$("$COORDCTL" --endpoints "localhost:$(cl_port "$l" 0)" --timeout-ms 5000 \
	$CL_CTL_FLAGS get k 2>&1) || fail "get via localhost: $out"
case $out in *v*) ;; *) fail "get via localhost: $out" ;; esac
# A follower restarted with a CA-signed certificate that names another
# host only: the others dial it at localhost and refuse it by name, so
# it receives nothing more (its own dials out still succeed).
f=$(( l % 3 + 1 ))
cl_kill "$f" TERM
[ "$CL_STATUS" -eq 0 ] || fail "n$f exit $CL_STATUS after TERM"
cl_node_start "$f" --peer-cert-file "$P/other.crt" --peer-key-file "$P/other.key"
cl_ctl put after-restart 1 >/dev/null || fail "put after-restart"
sleep 2
# shellcheck disable=SC2086
out=$("$COORDCTL" --endpoints "127.0.0.1:$(cl_port "$f" 0)" --timeout-ms 3000 \
	$CL_CTL_FLAGS get after-restart --serializable 2>&1) || fail "get from n$f: $out"
case $out in
*after-restart*) fail "n$f got entries over a connection to a certificate for other.example: $out" ;;
esac
# Back with its right certificate, it catches up.
cl_kill "$f" TERM
cl_node_start "$f"
cl_wait_converged >/dev/null
# shellcheck disable=SC2086
out=$("$COORDCTL" --endpoints "127.0.0.1:$(cl_port "$f" 0)" --timeout-ms 3000 \
	$CL_CTL_FLAGS get after-restart --serializable 2>&1) || fail "get from n$f: $out"
case $out in *after-restart*) ;; *) fail "n$f did not catch up: $out" ;; esac
echo "PASS: tls_names (peers via localhost and $host2, coordctl via localhost, a wrong name refused)"
