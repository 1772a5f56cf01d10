#!/bin/bash
# tests/cluster/fence_online.sh: the online check of libcoordfence
# (coordfence_admit_online(), fencing/online.c) through the example
# resource fenced_kv started with coordd's endpoints. A holder of a lock
# writes with its token (OK); once it released the lock, the same token --
# still the newest this resource has seen, so the fence store alone would
# admit it -- is refused because coordd says it is no longer the current
# grant (NOTCURRENT); the next holder's larger token is admitted; with no
# coordd reachable a write is refused (ERR) and nothing changes.
. "$(dirname "$0")/lib.sh"
cl_init fence_online
KV=$top_builddir/fencing/examples/fenced_kv
[ -x "$KV" ] || fail "no $KV"
cl_start 1 --heartbeat-ms 50 --election-ms 300

: >"$CL_DIR/nkv.log"
"$KV" "$CL_DIR/kvdata" 0 "$(cl_endpoints)" >>"$CL_DIR/nkv.log" 2>&1 &
echo $! >"$CL_DIR/nkv.pid"
cl_wait_log kv 'listening port=[0-9]+' || fail "fenced_kv did not start"
PORT=$(sed -n 's/.*listening port=\([0-9]*\).*/\1/p' "$CL_DIR/nkv.log")

req() {
	exec 3<>"/dev/tcp/127.0.0.1/$PORT" || fail "no fenced_kv on $PORT"
	printf '%s\n' "$1" >&3
	IFS= read -r -t "$CL_WAIT_S" line <&3 || line="(no reply)"
	exec 3<&-
	echo "$line"
}

expect() { # REQUEST REPLY-ERE
	got=$(req "$1")
	[[ $got =~ $2 ]] || fail "'$1': got '$got', want /$2/"
	echo "$1 -> $got"
}

# Holds lock job until $CL_DIR/$1.done exists; its token goes to
# $CL_DIR/$1.tok. Its pid in n$1.pid (cleaned up by lib.sh).
hold() {
	cl_ctl lock --ttl 1 job -- sh -c \
		"echo \$COORD_FENCING_TOKEN >'$CL_DIR/$1.tok.new' && mv '$CL_DIR/$1.tok.new' '$CL_DIR/$1.tok' && while [ ! -e '$CL_DIR/$1.done' ]; do sleep 0.05; done" \
		>>"$CL_DIR/n$1.log" 2>&1 &
	echo $! >"$CL_DIR/n$1.pid"
	d=$(cl_deadline "$CL_WAIT_S")
	until [ -s "$CL_DIR/$1.tok" ]; do
		[ "$(date +%s)" -lt "$d" ] || fail "holder $1 got no token"
		sleep 0.05
	done
}

release() {
	touch "$CL_DIR/$1.done"
	wait "$(cat "$CL_DIR/n$1.pid")" || fail "holder $1 failed: $(cat "$CL_DIR/n$1.log")"
	rm -f "$CL_DIR/n$1.pid"
}

hold a
t1=$(cat "$CL_DIR/a.tok")
expect "WRITE job $t1 k one" '^OK$'
release a
# t1 is the newest token fenced_kv has seen, but no longer coordd's.
expect "WRITE job $t1 k late" '^NOTCURRENT$'
expect "READ k" '^VALUE one$'

hold b
t2=$(cat "$CL_DIR/b.tok")
[ "$t2" -gt "$t1" ] || fail "token $t2 after $t1"
expect "WRITE job $t2 k two" '^OK$'
expect "WRITE job $t1 k stale" '^(STALE|NOTCURRENT)'
release b

# coordd gone: the check cannot be made, the write is refused.
cl_kill 1 TERM
expect "WRITE job $t2 k three" '^ERR '
expect "READ k" '^VALUE two$'
echo "fence_online: ok"
