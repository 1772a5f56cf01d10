#!/bin/bash
# tests/cluster/quota.sh: the keyspace quota (issue 13, docs/quota.md) on
# three members with --quota-bytes 20000:
# 1. The leader proposes QUOTA_SET: every member reports the quota.
# 2. A flood of 500-byte puts reaches it: the puts past it are refused
#    with COORD_ENOSPACE, the NOSPACE alarm is raised on every member
#    (coordctl alarm list, status, /metrics, one log line).
# 3. Under the alarm: a lock acquire and release (coordctl lock -- true),
#    an election won and resigned, a semaphore permit, a session and a
#    lease keepalive, a delete go through; a put does not.
# 4. Deletes and a compaction free space: the alarm clears by itself
#    (under 90 % of the quota) and puts go through again.
# 5. A second flood raises it again; coordctl alarm disarm (an admin's)
#    clears it; the next value past the quota raises it again.
. "$(dirname "$0")/lib.sh"
cl_init quota
RAW=$top_builddir/tests/cluster/raw_client
[ -x "$RAW" ] || fail "no $RAW (make check builds it)"

# The alarm as member I reports it: "NOSPACE" or "".
alarm_of() {
	cl_ctl_node "$1" --json alarm list |
		sed -n 's/.*"alarms":\[\([^]]*\)\].*/\1/p' | tr -d '"'
}
wait_alarm() { # WANT ("NOSPACE" or "")
	dl=$(cl_deadline "$CL_WAIT_S")
	for i in 1 2 3; do
		until [ "$(alarm_of "$i")" = "$1" ]; do
			[ "$(date +%s)" -lt "$dl" ] ||
				fail "n$i alarm: '$(alarm_of "$i")', want '$1'"
			sleep 0.05
		done
	done
}
# Puts of 500 bytes, f$1.. f$2, on one connection to the leader; prints
# how many were refused with COORD_ENOSPACE.
flood() {
	steps="hello"
	for k in $(seq "$1" "$2"); do
		steps="$steps put f$k 500"
	done
	# shellcheck disable=SC2086
	"$RAW" 127.0.0.1 "$(cl_port "$(cl_leader)" 0)" $steps >"$CL_DIR/flood.out"
	grep -c "COORD_ENOSPACE" "$CL_DIR/flood.out"
}
revision() {
	cl_ctl --json status | sed -n 's/^\[{[^}]*"revision":\([0-9]*\).*/\1/p'
}

# 1.
cl_start 3 --quota-bytes 20000
dl=$(cl_deadline "$CL_WAIT_S")
for i in 1 2 3; do
	until cl_ctl_node "$i" --json alarm list | grep -q '"quota_bytes":20000,'; do
		[ "$(date +%s)" -lt "$dl" ] || fail "n$i: no quota: $(cl_ctl_node "$i" --json alarm list)"
		sleep 0.05
	done
done
lease=$(cl_ctl --json lease grant 600 | sed -n 's/.*"lease":\([0-9]*\).*/\1/p')
[ -n "$lease" ] || fail "lease grant"

# 2.
refused=$(flood 1 60)
[ "$refused" -gt 10 ] || fail "refused $refused of 60 puts: $(cat "$CL_DIR/flood.out")"
grep -q "code=0 " "$CL_DIR/flood.out" || fail "no put went through before the quota"
wait_alarm NOSPACE
out=$(cl_ctl put x y 2>&1) && fail "a put under the alarm: $out"
echo "$out" | grep -q "quota" || fail "put under the alarm: $out"
cl_ctl alarm list | grep -q "^alarm:NOSPACE index=[0-9]* keyspace_bytes=[0-9]* quota_bytes=20000$" ||
	fail "alarm list: $(cl_ctl alarm list)"
cl_ctl status | grep -c "alarm:NOSPACE" | grep -qx 3 || fail "status: $(cl_ctl status)"
cl_http 1 /metrics | grep -qx "coord_alarm_nospace 1" || fail "metrics: no coord_alarm_nospace 1"
l=$(cl_leader)
cl_wait_log "$l" "alarm NOSPACE raised index=" || fail "no log line of the alarm"
[ "$(grep -c "alarm NOSPACE raised" "$CL_DIR/n$l.log")" -eq 1 ] ||
	fail "the alarm logged more than once"

# 3.
cl_ctl lock L --ttl 5 -- true || fail "lock acquire/release under the alarm"
cl_ctl elect --ttl 5 E leader-value -- true || fail "election under the alarm"
cl_ctl sem S 2 --ttl 5 -- true || fail "semaphore under the alarm"
cl_ctl lease keepalive "$lease" --once >/dev/null || fail "lease keepalive under the alarm"
cl_ctl session open --ttl 5 >/dev/null || fail "session open under the alarm"
cl_ctl del f1 >/dev/null || fail "delete under the alarm"
[ "$(alarm_of "$l")" = NOSPACE ] || fail "the alarm cleared by a delete"

# 4.
cl_ctl del f --prefix >/dev/null || fail "delete prefix under the alarm"
# A later revision (a lease grant moves it), so that compaction drops the
# tombstones too.
cl_ctl lease grant 600 >/dev/null || fail "lease grant under the alarm"
rev=$(revision)
[ -n "$rev" ] || fail "no revision: $(cl_ctl --json status)"
"$RAW" 127.0.0.1 "$(cl_port "$(cl_leader)" 0)" hello compact "$rev" |
	grep -q "reply COMPACT .*code=0 " || fail "compact $rev"
wait_alarm ""
cl_ctl put x y >/dev/null || fail "a put after the alarm cleared"
cl_http 1 /metrics | grep -qx "coord_alarm_nospace 0" || fail "metrics: no coord_alarm_nospace 0"
cl_wait_log "$l" "alarm NOSPACE cleared" || fail "no log line of the clearing"

# 5.
[ "$(flood 100 160)" -gt 0 ] || fail "the second flood was never refused"
wait_alarm NOSPACE
cl_ctl alarm disarm | grep -qx disarmed || fail "alarm disarm"
wait_alarm ""
refused=$(flood 200 201)
[ "$refused" -eq 2 ] || fail "puts past the quota after a disarm: $(cat "$CL_DIR/flood.out")"
wait_alarm NOSPACE
exit 0
