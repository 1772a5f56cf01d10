#!/bin/bash
# tests/cluster/startup.sh: coordd's refusals at start -- bad flags (exit
# 2), listeners that cannot be bound, TLS files that cannot be loaded or do
# not match, a data dir that cannot be opened (exit 1, the reason logged)
# -- and --help (exit 0); then, on a running cluster, an IPv6 client
# listener, the HTTP listener's 404, and a second SIGTERM during a
# graceful stop ending it at once with exit 0.
. "$(dirname "$0")/lib.sh"
cl_init startup

# Runs coordd with ARGS, expecting exit status WANT and TEXT in its
# output: expect WANT TEXT ARGS...
expect() {
	want=$1
	text=$2
	shift 2
	out=$(timeout 20 "$COORDD" --data-dir "$CL_DIR/x.data" "$@" 2>&1)
	rc=$?
	[ "$rc" -eq "$want" ] || fail "coordd $*: exit $rc, want $want: $out"
	case $out in
	*"$text"*) ;;
	*) fail "coordd $*: no \"$text\" in: $out" ;;
	esac
}

expect 0 "usage: coordd [flags]" --help
expect 2 "coordd: unknown flag \"--bogus\"" --bogus
expect 2 "must be at least twice" --heartbeat-ms 600
expect 1 "client address \"nonsense\": not host:port" --client-addr nonsense
expect 1 "peer address \"127.0.0.1\": not host:port" --peer-addr 127.0.0.1 \
	--client-addr "127.0.0.1:$(cl_port 5 0)"
expect 1 "--http-addr \"nohost\": not host:port" \
	--client-addr "127.0.0.1:$(cl_port 5 0)" \
	--peer-addr "127.0.0.1:$(cl_port 5 1)" --http-addr nohost

# A data dir that is a regular file: the node cannot open its store.
: >"$CL_DIR/file"
expect 1 "cannot open the node" --data-dir "$CL_DIR/file" \
	--client-addr "127.0.0.1:$(cl_port 5 0)" \
	--peer-addr "127.0.0.1:$(cl_port 5 1)" --http-addr off

# TLS material that cannot be used.
tls=$CL_DIR/tls
cl_tls_ca "$tls" ca
cl_tls_cert "$tls" ca a "coord a"
cl_tls_cert "$tls" ca b "coord b"
addrs="--client-addr 127.0.0.1:$(cl_port 5 0) --peer-addr 127.0.0.1:$(cl_port 5 1) --http-addr off"
# shellcheck disable=SC2086
{
	expect 1 "TLS: loading certificate $tls/none.crt" $addrs \
		--cert-file "$tls/none.crt" --key-file "$tls/a.key"
	expect 1 "TLS: loading key $tls/none.key" $addrs \
		--cert-file "$tls/a.crt" --key-file "$tls/none.key"
	expect 1 "key values mismatch" $addrs \
		--cert-file "$tls/a.crt" --key-file "$tls/b.key"
	expect 1 "TLS: loading CA $tls/none.crt" $addrs \
		--cert-file "$tls/a.crt" --key-file "$tls/a.key" \
		--trusted-ca-file "$tls/none.crt" --client-cert-auth
	expect 1 "key values mismatch" $addrs \
		--peer-cert-file "$tls/a.crt" --peer-key-file "$tls/b.key" \
		--peer-trusted-ca-file "$tls/ca.crt"
	expect 1 "TLS: loading CA $tls/none.crt" $addrs \
		--peer-cert-file "$tls/a.crt" --peer-key-file "$tls/a.key" \
		--peer-trusted-ca-file "$tls/none.crt"
}

# Ports held by a running node cannot be bound again.
cl_start 3
l=$(cl_leader)
expect 1 "client listener on 127.0.0.1:$(cl_port 1 0)" --name n1 \
	--client-addr "127.0.0.1:$(cl_port 1 0)"
expect 1 "peer listener on 127.0.0.1:$(cl_port 1 1)" --name n1 \
	--client-addr "127.0.0.1:$(cl_port 5 0)" \
	--peer-addr "127.0.0.1:$(cl_port 1 1)"
expect 1 "http listener on 127.0.0.1:$(cl_port 1 2): Address already in use" --name n1 \
	--client-addr "127.0.0.1:$(cl_port 5 0)" \
	--peer-addr "127.0.0.1:$(cl_port 5 1)" \
	--http-addr "127.0.0.1:$(cl_port 1 2)"

# The HTTP listener serves /health and /metrics, and 404 elsewhere.
cl_http 1 /health | grep -q '"health":true' || fail "/health: $(cl_http 1 /health)"
cl_http 1 /nope | head -1 | grep -q " 404 " || fail "/nope: $(cl_http 1 /nope | head -1)"

# A client listener on IPv6 loopback, if this host has one.
if ! python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
	echo "note: no IPv6 loopback, skipping the [::1] listener"
else
	v6=$(( l % 3 + 1 ))
	cl_kill "$v6" TERM
	[ "$CL_STATUS" -eq 0 ] || fail "n$v6 exit $CL_STATUS after TERM"
	cl_node_start "$v6" --client-addr "[::1]:$(cl_port "$v6" 0)"
	cl_ctl put v6key v6val >/dev/null || fail "put v6key"
	# A follower behind [::1] answers status and serializable reads.
	j=0
	until out=$("$COORDCTL" --endpoints "[::1]:$(cl_port "$v6" 0)" \
		--timeout-ms 2000 get v6key --serializable 2>&1) &&
		case $out in *v6val*) true ;; *) false ;; esac; do
		j=$((j + 1))
		[ $j -lt 300 ] || fail "get over [::1]: $out"
		sleep 0.2
	done
	out=$("$COORDCTL" --endpoints "[::1]:$(cl_port "$v6" 0)" --json status 2>&1) ||
		fail "status over [::1]: $out"
	case $out in *'"name":"n'$v6'"'*) ;; *) fail "status over [::1]: $out" ;; esac
fi

# Two TERMs: the second ends the graceful stop at once, with exit 0.
cl_put_ok() { cl_ctl put "$1" "$2" >/dev/null || fail "put $1"; }
cl_put_ok before-stop 1
l=$(cl_leader)
pid=$(cl_pid "$l")
kill -TERM "$pid"
kill -TERM "$pid"
j=0
while kill -0 "$pid" 2>/dev/null && [ $j -lt 600 ]; do sleep 0.05; j=$((j + 1)); done
kill -0 "$pid" 2>/dev/null && fail "n$l still running 5 s after two TERMs"
wait "$pid"
st=$?
rm -f "$CL_DIR/n$l.pid"
[ "$st" -eq 0 ] || fail "n$l: exit $st after two TERMs"
grep -q "second signal\|graceful stop complete" "$CL_DIR/n$l.log" ||
	fail "n$l logged no stop"
echo "PASS: startup"
