#!/bin/bash
# tests/cluster/sem_chaos.sh: at most N holders, seen from the resource
# (docs/locks-and-fencing.md "Semaphores"). 20 workers loop on
# `coordctl sem pool 3 --ttl 3 -- writer`; each writer makes fenced puts
# (--sem-fence pool=TOKEN) of key "res" = its token. Meanwhile worker
# clients are killed (kill -9: the writer lives on as an orphan with its
# stale token) and paused (SIGSTOP of coordctl and writer past the TTL,
# then SIGCONT). The resource's history is every accepted write, in
# revision order (a watch of "res" from before the first): per token the
# revisions of its first and last accepted write make an interval, and at
# no revision do more than 3 intervals overlap. The checker is shown to
# fail on a made-up history with 4 overlapping tokens first.
# shellcheck source=tests/cluster/lock_client_lib.sh
. "$(dirname "$0")/lock_client_lib.sh"
lc_init sem_chaos
D=$CL_DIR
WORKERS=20
N=3

# sem_max_overlap FILE: FILE has "REV TOKEN" lines of accepted writes;
# prints the largest number of tokens whose [first, last] write
# revisions overlap at one revision.
sem_max_overlap() {
	awk '{ if (!($2 in first)) first[$2] = $1; last[$2] = $1 }
	     END { for (t in first) { print first[t], 1; print last[t] + 0.5, -1 } }' "$1" |
		sort -n -k1,1 -k2,2r |
		awk '{ c += $2; if (c > m) m = c } END { print m + 0 }'
}
printf '%s\n' "10 7" "11 8" "12 9" "13 7" "14 8" "15 9" "16 12" "17 12" >"$D/good.hist"
printf '%s\n' "10 7" "11 8" "12 9" "13 12" "14 7" "15 8" "16 9" >"$D/bad.hist"
[ "$(sem_max_overlap "$D/good.hist")" = 3 ] || fail "checker: good history"
[ "$(sem_max_overlap "$D/bad.hist")" = 4 ] ||
	fail "checker: it does not see 4 holders in a bad history"

cl_start 3 --heartbeat-ms 50 --election-ms 300
EP=$(cl_endpoints)
rev0=$(cl_ctl --json put res start | sed -n 's/.*"revision":\([0-9]*\).*/\1/p')
[ -n "$rev0" ] || fail "no revision from the first put"
"$COORDCTL" --endpoints "$EP" --json watch res --rev "$rev0" >"$D/watch.out" 2>&1 &
LC_PIDS="$LC_PIDS $!"

cat >"$D/writer.sh" <<EOW
#!/bin/bash
# A permit holder: up to 10 fenced puts of its token (none once the test
# stops), its pid and token noted for the test.
echo \$\$ >>"$D/writer.pids"
echo "\$COORD_FENCING_TOKEN" >"$D/tok.\$1"
for i in \$(seq 1 10); do
	[ ! -e "$D/stop" ] || exit 0
	"$COORDCTL" --endpoints "$EP" put --sem-fence "pool=\$COORD_FENCING_TOKEN" \
		res "\$COORD_FENCING_TOKEN" >/dev/null 2>&1 || exit 0
done
EOW
chmod +x "$D/writer.sh"

# Worker SLOT: one coordctl sem after another until $D/stop exists; the
# running one's pid in $D/w.SLOT.
worker() {
	while [ ! -e "$D/stop" ]; do
		"$COORDCTL" --endpoints "$EP" sem pool $N --ttl 3 -- \
			"$D/writer.sh" "$1" >>"$D/w.$1.out" 2>&1 &
		echo $! >"$D/w.$1"
		wait $!
	done
}
for s in $(seq 1 $WORKERS); do
	worker "$s" &
	LC_PIDS="$LC_PIDS $!"
done

# The history so far: "REV TOKEN" per accepted write.
history() {
	sed -n 's/.*"value":"\([0-9]*\)".*"mod_revision":\([0-9]*\).*/\2 \1/p' \
		"$D/watch.out"
}

# Waits until more than $1 writes are in the history (twice CL_WAIT_S:
# 20 clients and their writers on a busy machine).
wait_writes() {
	dl=$(cl_deadline $((2 * CL_WAIT_S)))
	until [ "$(history | wc -l)" -gt "$1" ]; do
		[ "$(date +%s)" -lt "$dl" ] || fail "no new accepted write in $((2 * CL_WAIT_S)) s"
		sleep 0.1
	done
}

# A holder now: the slot of a worker whose writer runs (its token file
# is there and its coordctl has a child).
pick_holder() {
	dl=$(cl_deadline "$CL_WAIT_S")
	while :; do
		for s in $(shuf -i 1-$WORKERS); do
			p=$(cat "$D/w.$s" 2>/dev/null) || continue
			kids=$(pgrep -P "$p") || continue
			[ -s "$D/tok.$s" ] || continue
			echo "$s $p $kids"
			return
		done
		[ "$(date +%s)" -lt "$dl" ] || fail "no holder found"
		sleep 0.1
	done
}

# Until TOKEN is no holder of the semaphore any more (its session ended).
wait_not_holder() {
	dl=$(cl_deadline "$CL_WAIT_S")
	while cl_ctl --json sem status pool | grep -q "\"token\":$1[,}]"; do
		[ "$(date +%s)" -lt "$dl" ] || fail "token $1 still holds after $CL_WAIT_S s"
		sleep 0.1
	done
}

max_seen=0
wait_writes 5
for round in 1 2 3 4 5 6; do
	read -r slot pid kids < <(pick_holder)
	tok=$(cat "$D/tok.$slot")
	n=$(history | wc -l)
	echo "round $round at $(date +%T.%N | cut -c1-12)"
	if [ $((round % 2)) = 1 ]; then
		echo "round $round: kill -9 worker $slot (pid $pid, token $tok)"
		kill -KILL "$pid" 2>/dev/null || true
		wait_not_holder "$tok"
	else
		echo "round $round: pause worker $slot (pid $pid $kids, token $tok) past its TTL"
		kill -STOP "$pid" $kids 2>/dev/null || true
		wait_not_holder "$tok"
		kill -CONT "$pid" $kids 2>/dev/null || true
	fi
	h=$(cl_ctl sem status pool | sed -n 's/.* \([0-9]*\) holder(s).*/\1/p')
	[ "${h:-0}" -le $N ] || fail "sem status lists $h holders"
	wait_writes "$n"
done

touch "$D/stop"
# Every worker loop ends once its coordctl does (the waiters get their
# permits in turn, and their writers stop at once).
for p in $LC_PIDS; do
	[ "$(ps -o comm= -p "$p" 2>/dev/null)" = bash ] || continue
	dl=$(cl_deadline "$CL_WAIT_S")
	while kill -0 "$p" 2>/dev/null; do
		[ "$(date +%s)" -lt "$dl" ] || fail "a worker loop did not end"
		sleep 0.1
	done
done
# Orphaned writers end after their next (refused) put.
dl=$(cl_deadline "$CL_WAIT_S")
for p in $(cat "$D/writer.pids"); do
	while kill -0 "$p" 2>/dev/null; do
		[ "$(date +%s)" -lt "$dl" ] || fail "writer $p still runs"
		sleep 0.1
	done
done
cl_ctl put res end >/dev/null || fail "the end marker"
dl=$(cl_deadline "$CL_WAIT_S")
until grep -q '"value":"end"' "$D/watch.out"; do
	[ "$(date +%s)" -lt "$dl" ] || fail "the watch did not see the end marker"
	sleep 0.1
done
history >"$D/history"
writes=$(wc -l <"$D/history")
tokens=$(awk '{ print $2 }' "$D/history" | sort -u | wc -l)
max=$(sem_max_overlap "$D/history")
refused=$(cat "$D"/w.*.out | grep -c 'lost' || true)
echo "history: $writes accepted writes by $tokens permits, at most $max overlapping; $refused 'sem lost' reports"
[ "$max" -le $N ] || fail "$max permits wrote at once (N = $N)"
[ "$max" -ge 2 ] || fail "never two permits writing at once: the test did not exercise N"
[ "$tokens" -ge 10 ] || fail "only $tokens permits wrote"
cl_ctl sem status pool | grep -q '0 holder(s), 0 waiter(s)' ||
	fail "pool not empty at the end: $(cl_ctl sem status pool)"
echo "PASS: sem_chaos"
