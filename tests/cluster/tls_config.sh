#!/bin/bash
# tests/cluster/tls_config.sh: TLS settings that used to fail open, TLS
# session resumption, and who may read a node's files (issue 14 §12, §14,
# §15). Checks:
#   - coordd refuses to start when a TLS flag comes without the rest of
#     its set (--client-cert-auth --trusted-ca-file without --cert-file;
#     peer CA and key without --peer-cert-file), naming what is missing,
#     and when its key is not the certificate's;
#   - a TLS session is resumed (openssl s_client -sess_out, -sess_in) on
#     the client listener under --client-cert-auth and on the peer
#     listener -- the handshake used to abort ("session id context
#     uninitialized");
#   - a key file others may read is started with, and said at warn;
#   - the data dir is 0700 and nothing in it is open to group or others;
#   - coordctl with --cert/--key but no --cacert refuses to connect rather
#     than send in plaintext (against a plaintext node that would take it);
#     a certificate without its key, or one that cannot be loaded, is
#     refused before connecting.
. "$(dirname "$0")/lib.sh"
cl_init tls-config
command -v openssl >/dev/null 2>&1 || { echo "SKIP: no openssl"; exit 77; }

P=$CL_DIR/pki
cl_tls_ca "$P" ca
cl_tls_cert "$P" ca n1 n1 "IP:127.0.0.1,DNS:localhost,DNS:n1"
cl_tls_cert "$P" ca client client
chmod 644 "$P/n1.key"

# refused WHAT WANT FLAGS...: coordd exits 2 at once, saying WANT.
refused() {
	what=$1
	want=$2
	shift 2
	if timeout 20 "$COORDD" --name n1 --data-dir "$CL_DIR/refused.data" \
		"$@" >"$CL_DIR/refused.out" 2>&1; then
		fail "$what: coordd started"
	fi
	grep -q -- "$want" "$CL_DIR/refused.out" ||
		fail "$what: not said: $(cat "$CL_DIR/refused.out")"
	[ ! -e "$CL_DIR/refused.data" ] || fail "$what: a data dir was made"
}
refused "client CA without a certificate" "the client listener would be plaintext" \
	--client-cert-auth --trusted-ca-file "$P/ca.crt"
refused "peer CA and key without a certificate" "peers would be plaintext" \
	--peer-trusted-ca-file "$P/ca.crt" --peer-key-file "$P/n1.key"
refused "the key of another certificate" "TLS: loading key $P/client.key: .*key values mismatch" \
	--cert-file "$P/n1.crt" --key-file "$P/client.key"

TLS=1
cl_node_flags() {
	[ "$TLS" = 1 ] || return 0
	echo "--cert-file $P/n1.crt --key-file $P/n1.key" \
		"--trusted-ca-file $P/ca.crt --client-cert-auth" \
		"--peer-cert-file $P/n1.crt --peer-key-file $P/n1.key" \
		"--peer-trusted-ca-file $P/ca.crt"
}
CL_CTL_FLAGS="--cacert $P/ca.crt --cert $P/client.crt --key $P/client.key"
cl_start 1
cl_ctl put k v >/dev/null || fail "put over TLS"

# resumed PORT CERT: a TLS 1.2 session saved, then resumed.
resumed() {
	for step in "-sess_out" "-sess_in"; do
		timeout 20 openssl s_client -connect "127.0.0.1:$1" -tls1_2 \
			-CAfile "$P/ca.crt" -cert "$P/$2.crt" -key "$P/$2.key" \
			-verify_return_error "$step" "$CL_DIR/sess-$1.pem" \
			</dev/null >"$CL_DIR/s_client.out" 2>&1 ||
			fail "s_client $step on port $1: $(tail -5 "$CL_DIR/s_client.out")"
	done
	grep -q "^Reused, TLSv1.2" "$CL_DIR/s_client.out" ||
		fail "port $1: the session was not resumed: $(grep -i -m3 'new,\|reused\|error' "$CL_DIR/s_client.out")"
}
resumed "$(cl_port 1 0)" client
resumed "$(cl_port 1 1)" n1

grep -q "level=warn.*key file $P/n1.key is readable by group or others (mode 644)" \
	"$CL_DIR/n1.log" || fail "no warning for a key file of mode 644"
mode=$(stat -c %a "$CL_DIR/n1.data")
[ "$mode" = 700 ] || fail "the data dir has mode $mode"
open=$(find "$CL_DIR/n1.data" -perm /077 | head -3)
[ -z "$open" ] || fail "open to group or others: $open"

# The same node in plaintext: coordctl with a certificate but no CA.
cl_kill 1 TERM
TLS=0
CL_CTL_FLAGS=""
cl_node_start 1
cl_leader >/dev/null
if out=$(cl_ctl --cert "$P/client.crt" --key "$P/client.key" put plain v 2>&1); then
	fail "coordctl sent with --cert/--key and no --cacert: $out"
fi
case $out in
*plaintext*) ;;
*) fail "coordctl did not say why: $out" ;;
esac
[ "$(cl_ctl get plain --count-only)" = 0 ] || fail "the plaintext put was applied"
# A certificate without its key, and one that cannot be loaded: the
# client refuses before it connects, saying which, and writes nothing.
ctl_refused() { # WHAT WANT FLAGS...
	what=$1
	want=$2
	shift 2
	if out=$(cl_ctl "$@" put "$what" v 2>&1); then
		fail "coordctl $what: sent: $out"
	fi
	case $out in
	*"$want"*) ;;
	*) fail "coordctl $what: did not say '$want': $out" ;;
	esac
	[ "$(cl_ctl get "$what" --count-only)" = 0 ] || fail "$what: the put was applied"
}
ctl_refused nokey "a client certificate needs both cert and key" \
	--cacert "$P/ca.crt" --cert "$P/client.crt"
ctl_refused badcert "cannot load certificate $CL_DIR/none.crt" \
	--cacert "$P/ca.crt" --cert "$CL_DIR/none.crt" --key "$P/client.key"
echo "PASS: tls_config (partial TLS sets refused, sessions resumed, private files, client certificates checked)"
