#!/bin/bash
# tests/cluster/fence_example.sh: the example resource server
# fencing/examples/fenced_kv, which admits writes only through
# libcoordfence. Writes with token 5, then 7, are applied; a stale 6 is
# refused ("STALE 7") and the value stays 7's, also after a restart of
# the server (the fence store and the values are on disk). An equal
# token is admitted again; bad requests, a line over the limit and a
# connection over the limit get "ERR ..." and change nothing; bad
# arguments and a second server on one store are refused at start; a
# value that cannot be stored is "ERR storage: ..." and changes no value;
# TERM with a client connected exits 0.
. "$(dirname "$0")/lib.sh"
cl_init fence_example
KV=$top_builddir/fencing/examples/fenced_kv
[ -x "$KV" ] || fail "no $KV"

# Starts fenced_kv as "node" kv (its log nkv.log, its pid nkv.pid: the
# cleanup of lib.sh stops it) and waits for its port.
kv_start() {
	: >"$CL_DIR/nkv.log"
	"$KV" "$CL_DIR/kvdata" >>"$CL_DIR/nkv.log" 2>&1 &
	echo $! >"$CL_DIR/nkv.pid"
	cl_wait_log kv 'listening port=[0-9]+' || fail "fenced_kv did not start"
	PORT=$(sed -n 's/.*listening port=\([0-9]*\).*/\1/p' "$CL_DIR/nkv.log")
}

# One request on a connection of its own; prints the reply line. The
# request is sent as it is, with a newline unless NONL is set.
req() {
	exec 3<>"/dev/tcp/127.0.0.1/$PORT" || fail "no fenced_kv on $PORT"
	if [ -n "${NONL:-}" ]; then
		printf '%s' "$1" >&3
	else
		printf '%s\n' "$1" >&3
	fi
	IFS= read -r -t "$CL_WAIT_S" line <&3 || line="(no reply)"
	exec 3<&-
	echo "$line"
}

expect() { # REQUEST REPLY
	got=$(req "$1")
	[ "$got" = "$2" ] || fail "'${1:0:60}': got '$got', want '$2'"
	echo "${1:0:60} -> $got"
}

kv_start
expect "WRITE job-lock 5 k five" "OK"
expect "WRITE job-lock 7 k seven" "OK"
expect "WRITE job-lock 6 k six" "STALE 7"
expect "READ k" "VALUE seven"
# The holder of 7 writes again; another lock's tokens are its own.
expect "WRITE job-lock 7 k2 again" "OK"
expect "WRITE other-lock 1 k3 one" "OK"
# Bad input changes nothing.
expect "WRITE job-lock 0 k zero" "ERR invalid argument"
expect "WRITE job-lock 8x k bad" "ERR bad resource, token, key or value"
expect "WRITE job-lock 8 k" "ERR unknown or malformed request"
expect "DELETE k" "ERR unknown or malformed request"
expect "WRITE job-lock 9 k v extra" "ERR unknown or malformed request"
# A NUL byte inside a line (bash cannot hold one in a variable).
exec 3<>"/dev/tcp/127.0.0.1/$PORT" || fail "no fenced_kv on $PORT"
printf 'READ k\000x\nREAD k\n' >&3
IFS= read -r -t "$CL_WAIT_S" l1 <&3 || l1="(no reply)"
IFS= read -r -t "$CL_WAIT_S" l2 <&3 || l2="(no reply)"
exec 3<&-
[ "$l1" = "ERR unknown or malformed request" ] || fail "NUL byte: '$l1'"
[ "$l2" = "VALUE seven" ] || fail "after a NUL byte, the connection: '$l2'"
expect "WRITE job-lock 9 k $(head -c 1100 /dev/zero | tr '\0' v)" \
	"ERR bad resource, token, key or value"
# 2048 bytes (FKV_LINE_MAX) and no newline: all of it is read before the
# server answers and closes (unread bytes would make its close a reset).
long="WRITE job-lock 9 k $(head -c 2029 /dev/zero | tr '\0' v)"
NONL=1 expect "$long" "ERR line too long"
expect "READ k" "VALUE seven"

# Refused at start, with a message and a non-zero status: no arguments,
# a DIR that cannot be one, a bad ENDPOINTS, and a second server on the
# fence store of the running one.
kv_refused() { # STATUS MESSAGE ARGS...
	want=$1 msg=$2
	shift 2
	"$KV" "$@" >"$CL_DIR/refused.out" 2>&1 &
	pid=$!
	wait "$pid"
	st=$?
	[ "$st" = "$want" ] || fail "fenced_kv $*: exit $st, not $want: $(cat "$CL_DIR/refused.out")"
	grep -qF -- "$msg" "$CL_DIR/refused.out" ||
		fail "fenced_kv $*: no '$msg' in: $(cat "$CL_DIR/refused.out")"
}
kv_refused 2 "usage: fenced_kv DIR"
kv_refused 1 "fenced_kv: /dev/null/kv: Not a directory" /dev/null/kv
kv_refused 1 "fenced_kv: no libcoord client for ," "$CL_DIR/kv2" 0 ,
kv_refused 1 "fence store is open in another process or handle" "$CL_DIR/kvdata" 0
expect "READ k" "VALUE seven"

# After a restart: the same tokens, the same values.
kill -TERM "$(cat "$CL_DIR/nkv.pid")"
wait "$(cat "$CL_DIR/nkv.pid")" 2>/dev/null
kv_start
expect "WRITE job-lock 6 k six" "STALE 7"
expect "READ k" "VALUE seven"
expect "READ k2" "VALUE again"
expect "READ nokey" "NOTFOUND"

# 32 connections (each answered, so accepted), then one more: refused.
for i in $(seq 1 32); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$PORT" || fail "connection $i"
	fds="${fds:-} $fd"
	printf 'READ k\n' >&"$fd"
	IFS= read -r -t "$CL_WAIT_S" line <&"$fd"
	[ "$line" = "VALUE seven" ] || fail "connection $i: '$line'"
done
# (It sends nothing: the server answers at accept and closes.)
NONL=1 expect "" "ERR too many connections"
for fd in $fds; do exec {fd}<&-; done
expect "READ k" "VALUE seven"

# The value file cannot be written (a directory is in the way of
# kv.tmp): "ERR storage: ...", the value stays -- for a key that exists
# and for a new one -- while the token is admitted (on disk first); the
# writer, with no "OK", writes again with the same token once the disk
# is back, and that is admitted.
mkdir "$CL_DIR/kvdata/kv.tmp"
expect "WRITE job-lock 8 k eight" "ERR storage: Is a directory"
expect "WRITE job-lock 8 newkey one" "ERR storage: Is a directory"
expect "READ k" "VALUE seven"
expect "READ newkey" "NOTFOUND"
expect "WRITE job-lock 7 k seven-again" "STALE 8"
rmdir "$CL_DIR/kvdata/kv.tmp"
expect "WRITE job-lock 8 k eight" "OK"
expect "READ k" "VALUE eight"

# TERM with a client connected: the server closes it and exits 0.
exec 3<>"/dev/tcp/127.0.0.1/$PORT" || fail "no fenced_kv on $PORT"
printf 'READ k\n' >&3
IFS= read -r -t "$CL_WAIT_S" line <&3 || line="(no reply)"
[ "$line" = "VALUE eight" ] || fail "before TERM: '$line'"
kpid=$(cat "$CL_DIR/nkv.pid")
kill -TERM "$kpid"
wait "$kpid"
st=$?
[ "$st" = 0 ] || fail "fenced_kv: exit $st after TERM with a client connected"
IFS= read -r -t "$CL_WAIT_S" line <&3 && fail "after TERM, the server said '$line'"
exec 3<&-
rm -f "$CL_DIR/nkv.pid"
echo "PASS: fence_example"
