#!/bin/bash
# tests/cluster/diskfull.sh: a member whose own disk fills (issue 13,
# docs/quota.md "Disk space"). A single member's data dir is a 100 MiB
# tmpfs mounted by the test (skipped, exit 77, where mount is not
# permitted), its keyspace quota off; 100 KB puts fill it:
# 1. the member stops (exit status 1), and logs the reason -- "No space
#    left on device" -- once;
# 2. after the filesystem grows (remount, 200 MiB) it restarts, and every
#    put it acknowledged is there, whole.
. "$(dirname "$0")/lib.sh"
cl_init diskfull
RAW=$top_builddir/tests/cluster/raw_client
[ -x "$RAW" ] || fail "no $RAW (make check builds it)"
MNT=$CL_DIR/n1.data
mkdir -p "$MNT"
if ! mount -t tmpfs -o size=100m,mode=700 tmpfs "$MNT" 2>/dev/null; then
	echo "SKIP: cannot mount a tmpfs here"
	exit 77
fi
df_cleanup() {
	keep=${CL_KEEP:-}
	CL_KEEP=1
	cl_cleanup
	umount "$MNT" 2>/dev/null || umount -l "$MNT"
	[ -n "$keep" ] || rm -rf "$CL_DIR"
}
trap df_cleanup EXIT

# 1.
cl_start 1 --quota-bytes 0
steps="hello"
for k in $(seq 1 700); do
	steps="$steps put k$k 100000"
done
# shellcheck disable=SC2086
"$RAW" 127.0.0.1 "$(cl_port 1 0)" $steps >"$CL_DIR/flood.out" 2>&1
acked=$(grep -c "^reply PUT .*code=0 " "$CL_DIR/flood.out")
[ "$acked" -gt 100 ] || fail "only $acked puts acknowledged"
[ "$acked" -lt 700 ] || fail "the disk never filled"
dl=$(cl_deadline "$CL_WAIT_S")
while cl_running 1; do
	[ "$(date +%s)" -lt "$dl" ] || fail "n1 still runs on a full disk"
	sleep 0.05
done
pid_status=0
wait "$(cat "$CL_DIR/n1.pid")" 2>/dev/null || pid_status=$?
rm -f "$CL_DIR/n1.pid"
[ "$pid_status" -eq 1 ] || fail "n1 exited with status $pid_status"
[ "$(grep -c "No space left on device" "$CL_DIR/n1.log")" -eq 1 ] ||
	fail "the reason logged $(grep -c "No space left on device" "$CL_DIR/n1.log") times"
grep -q "the store failed .*: stopping; restart recovers" "$CL_DIR/n1.log" ||
	fail "no stop line"

# 2.
mount -o remount,size=200m "$MNT" || fail "remount"
cl_node_start 1 --quota-bytes 0
cl_leader >/dev/null
cl_ctl get k --prefix --keys-only | sort >"$CL_DIR/keys.got"
seq 1 "$acked" | sed 's/^/k/' | sort >"$CL_DIR/keys.want"
missing=$(comm -23 "$CL_DIR/keys.want" "$CL_DIR/keys.got" | wc -l)
[ "$missing" -eq 0 ] || fail "$missing acknowledged puts lost: $(comm -23 "$CL_DIR/keys.want" "$CL_DIR/keys.got" | head -5)"
[ "$(cl_ctl get "k$acked" | sed -n 2p | tr -d '\n' | wc -c)" -eq 100000 ] ||
	fail "k$acked is not whole"
cl_ctl put after-restart yes >/dev/null || fail "no write after the restart"
exit 0
