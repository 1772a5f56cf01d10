#!/bin/bash
# tests/fault/run.sh: one Jepsen-style run. Starts a coordd cluster, runs a
# workload (tests/fault/workload) against it while a nemesis injects
# faults, heals everything, and judges the history with the workload's
# checker. Prints the faults injected, the checker's verdict and where the
# run's files are; exits 0 only when the checker passed.
#
#   run.sh WORKLOAD [--nodes 3|5] [--duration S] [--nemesis LIST|all]
#          [--schedule random|cycle] [--seed N] [--clients N] [--keys N]
#          [--clock-rate PPM] [--keep] [--dry-run]
#
# WORKLOAD: register (check_register.py), watch (check_watch.py), lock
# (tests/fault/lock_workload against a fencing/examples/fenced_kv resource
# started in the workload's namespace; check_lock.py) or job
# (tests/fault/job_workload: an enqueuer and --clients workers on one
# queue, against the same resource; check_job.py) or session
# (tests/fault/session_workload: --clients clients holding sessions and
# locks, an observer of the sessions' ends; check_session.py) or
# semaphore (tests/fault/sem_workload: --clients clients on a semaphore
# of 2 permits, fenced puts read back at the end; check_sem.py) or
# election (tests/fault/election_workload: 4 candidates, 2 observers and
# a closer on one election, against the same resource as lock;
# check_election.py) or churn (the session workload while the
# leadership is transferred every 300-500 ms, nodes with an election
# timeout of 500 ms; check_session.py; with --nemesis none, the churn
# alone, it also demands expiries within 2 election timeouts of the
# deadline and no live session expired).
# LIST: comma-separated faults, one at a time with a heal between:
#   kill       kill -9 of a random node, restarted 0.5-2 s later
#   pause      SIGSTOP of a random node (the leader half the time), SIGCONT
#              0.5-3 s later
#   partition  (network namespaces only) one of: the leader isolated, a
#              random node isolated, a random minority cut from the
#              majority, a bridge (two halves that share one node)
#   clock      (libfaketime) a step of a random node's wall clock
#              (CLOCK_REALTIME only) by 1-60 min forward or back, stepped
#              back 1-4 s later
#   disk       (coordd built with --enable-failpoints) a random node
#              restarted with store.sync=error#N: its Nth sync fails and
#              it stops itself; restarted without 1-4 s later
#   crash      (failpoints) a random node restarted with
#              node.after_persist=crash#N, node.after_send=crash#N or
#              snapshot.install=crash: it _exit()s there; restarted
#              without 1-4 s later
#   member     a random node (the leader a third of the time) removed
#              (coordctl member remove), stopped, its data dir wiped,
#              added back (coordctl member add) and started with --join
#   transfer   the leadership moved to a random follower
#              (TRANSFER_LEADER; the nodes run with --transfer-interval-ms 0)
# none: no fault. all: kill,pause,partition, clock when libfaketime is
# installed, disk,crash,member,transfer. default: kill,pause,partition.
# Partitions are left out without namespaces, disk and crash without
# failpoints in coordd; the output says so.
#
# --schedule: random (the default) draws each fault's kind from LIST;
# cycle injects the kinds in turn, in an order drawn from the seed at
# each turn of the cycle, and a fault that did not take effect (a node
# that did not reach its failpoint, a member removal refused, a transfer
# without a leader or refused) is tried again later in the same turn.
# Either way the output counts the faults that took effect per kind; with
# cycle a run in which a kind it asked for never took effect fails (the
# duration was too short for one turn), so that coverage cannot shrink
# unseen. --dry-run prints the workload, the nemesis list (all expanded)
# and the schedule, and exits.
#
# --clock-rate PPM: every node's clocks (CLOCK_MONOTONIC and
# CLOCK_REALTIME, and its sleeps and waits) run 1 + PPM/1,000,000 times as
# fast as the clients' (negative: slower), from each start of the node,
# through libfaketime (FAKETIME="+0 xRATE"). Not with the clock nemesis,
# which keeps CLOCK_MONOTONIC untouched (FAKETIME_DONT_FAKE_MONOTONIC=1)
# and steps CLOCK_REALTIME at run time through a timestamp file
# (FAKETIME_TIMESTAMP_FILE, read at every call: FAKETIME_NO_CACHE=1);
# libfaketime cannot change a rate at run time without a step back of
# CLOCK_MONOTONIC. Without libfaketime either exits 77 (skipped).
#
# Network: as root with `ip netns`, each node runs in a network namespace
# of its own, joined to a bridge in one more namespace where the workload
# runs; nothing is routed out of them. A partition is a blackhole route
# on both sides of each cut pair: packets are dropped where they leave, so
# established connections stall and new ones fail, as with packet loss.
# Without namespaces (not root, no `ip`, or FAULT_LOOPBACK=1), the nodes
# run on loopback and partitions are left out; the output says so.
#
# Everything it starts is ended by PID, and its namespaces deleted, on
# exit; --keep keeps the run's directory (logs, data, history).
set -u

workload=${1:-}
shift || true
nodes=3
duration=20
nemesis=kill,pause,partition
seed=$(( $$ % 100000 + 1 ))
clients=6
keys=8
clock_rate=0
keep=
schedule=random
dry_run=
while [ $# -gt 0 ]; do
	case $1 in
	--nodes) nodes=$2; shift ;;
	--duration) duration=$2; shift ;;
	--nemesis) nemesis=$2; shift ;;
	--seed) seed=$2; shift ;;
	--clients) clients=$2; shift ;;
	--keys) keys=$2; shift ;;
	--clock-rate) clock_rate=$2; shift ;;
	--keep) keep=1 ;;
	--schedule) schedule=$2; shift ;;
	--dry-run) dry_run=1 ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
case $workload in
register) checker=check_register.py ;;
watch) checker=check_watch.py ;;
lock) checker=check_lock.py ;;
job) checker=check_job.py ;;
session) checker=check_session.py ;;
semaphore) checker=check_sem.py ;;
election) checker=check_election.py ;;
churn) checker=check_session.py ;;
*) echo "usage: run.sh register|watch|lock|job|session|semaphore|election|churn [--nodes 3|5] [--duration S] [--nemesis kill,pause,partition] [--seed N] [--keep]" >&2; exit 2 ;;
esac
# The job checker needs every done job listed at the end: keep them all.
node_flags=
[ "$workload" = job ] && node_flags="--job-done-kept 1000000"
# churn: fast elections, and transfers asked of the nodes from the
# workload's namespace (or loopback) as often as the churner likes.
churn_election_ms=500
[ "$workload" = churn ] && node_flags="--heartbeat-ms 50 --election-ms $churn_election_ms
	--transfer-interval-ms 0 --admin-addrs loopback,10.213.0.254"
case $nodes in 3|5) ;; *) echo "run.sh: --nodes is 3 or 5" >&2; exit 2 ;; esac
case $schedule in random|cycle) ;; *) echo "run.sh: --schedule is random or cycle" >&2; exit 2 ;; esac
faketime_lib=
for f in /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1; do
	[ -f "$f" ] && { faketime_lib=$f; break; }
done
if [ "$nemesis" = all ]; then
	nemesis=kill,pause,partition
	[ -n "$faketime_lib" ] && nemesis=$nemesis,clock
	nemesis=$nemesis,disk,crash,member,transfer
fi
# A misspelt kind would inject nothing and say nothing: refused.
for k in $(echo "$nemesis" | tr , ' '); do
	case $k in kill|pause|partition|clock|disk|crash|member|transfer|none) ;;
	*) echo "run.sh: unknown nemesis $k (kill, pause, partition, clock, disk, crash," \
		"member, transfer, none or all)" >&2; exit 2 ;;
	esac
done
if [ -n "$dry_run" ]; then
	echo "run.sh: dry run: workload $workload, nemesis $nemesis, schedule $schedule, $nodes nodes, ${duration}s, seed $seed"
	exit 0
fi
case $clock_rate in
-[0-9]*|[0-9]*) [ "${clock_rate#-}" -lt 1000000 ] 2>/dev/null ||
	{ echo "run.sh: --clock-rate is in (-1000000, 1000000) ppm" >&2; exit 2; } ;;
*) echo "run.sh: --clock-rate is a number of ppm" >&2; exit 2 ;;
esac
clock_nemesis=
case ",$nemesis," in *,clock,*) clock_nemesis=1 ;; esac
if [ "$clock_rate" = 0 ] && [ -z "$clock_nemesis" ]; then
	faketime_lib=
else
	[ "$clock_rate" != 0 ] && [ -n "$clock_nemesis" ] &&
		{ echo "run.sh: --clock-rate and the clock nemesis do not combine" >&2; exit 2; }
	[ -n "$faketime_lib" ] ||
		{ echo "run.sh: no libfaketime (Debian: libfaketime); skipped"; exit 77; }
	# The rate as libfaketime reads it: 1 + ppm / 10^6, in decimals.
	clock_x=$(awk -v p="$clock_rate" 'BEGIN { printf "%.6f", 1 + p / 1000000 }')
fi

here=$(cd "$(dirname "$0")" && pwd)
top_builddir=${top_builddir:-$here/../../_build}
COORDD=$top_builddir/coordd/coordd
COORDCTL=$top_builddir/tools/coordctl
WORKLOAD=$top_builddir/tests/fault/workload
LOCK_WORKLOAD=$top_builddir/tests/fault/lock_workload
JOB_WORKLOAD=$top_builddir/tests/fault/job_workload
SESSION_WORKLOAD=$top_builddir/tests/fault/session_workload
FENCED_KV=$top_builddir/fencing/examples/fenced_kv
for b in "$COORDD" "$COORDCTL" "$WORKLOAD" "$LOCK_WORKLOAD" "$JOB_WORKLOAD" "$SESSION_WORKLOAD" \
	"$FENCED_KV"; do
	[ -x "$b" ] || { echo "run.sh: no $b (build first: make check builds the workload)" >&2; exit 2; }
done
# The semaphore, election and churn workloads' programs (fault10b).
SEM_WORKLOAD=$top_builddir/tests/fault/sem_workload
ELECTION_WORKLOAD=$top_builddir/tests/fault/election_workload
RAW_CLIENT=$top_builddir/tests/cluster/raw_client
for b in "$SEM_WORKLOAD" "$ELECTION_WORKLOAD" "$RAW_CLIENT"; do
	[ -x "$b" ] || { echo "run.sh: no $b (build first: make check builds the workload)" >&2; exit 2; }
done
RANDOM=$seed
dir=$(mktemp -d "${TMPDIR:-/tmp}/coord-fault-$workload.XXXXXX")
ns=cf$$
netns=
wl_pid=
kv_pid=

log() { echo "$(date +%H:%M:%S.%N | cut -c1-12) $*" | tee -a "$dir/nemesis.log"; }

if [ -z "${FAULT_LOOPBACK:-}" ] && [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null &&
	ip netns add "${ns}s" 2>/dev/null; then
	netns=1
fi

# Where node I listens: in namespaces every node has the same ports on
# an address of its own; on loopback one address and ports of its own.
addr() { # I
	if [ -n "$netns" ]; then echo "10.213.0.$1"; else echo 127.0.0.1; fi
}
port() { # I KIND(0 client, 1 peer, 2 http)
	if [ -n "$netns" ]; then echo $(( 2379 + $2 )); else
		echo $(( 30000 + ($$ % 200) * 10 + ($1 - 1) * 3 + $2 )); fi
}
in_ns() { # I|s CMD...: run CMD in node I's namespace (or the switch's)
	w=$1
	shift
	if [ -n "$netns" ]; then
		if [ "$w" = s ]; then ip netns exec "${ns}s" "$@"; else
			ip netns exec "${ns}n$w" "$@"; fi
	else
		"$@"
	fi
}
endpoints() {
	s=""
	for i in $(seq 1 "$nodes"); do s="$s${s:+,}$(addr "$i"):$(port "$i" 0)"; done
	echo "$s"
}
cluster() {
	s=""
	for i in $(seq 1 "$nodes"); do s="$s${s:+,}n$i=$(addr "$i"):$(port "$i" 1)"; done
	echo "$s"
}

# Waits for PID to exit (at most TICKS x 50 ms), then KILLs it and
# reaps it; its exit status in $?.
pid_reap() { # PID TICKS
	j=0
	while kill -0 "$1" 2>/dev/null && [ $j -lt "$2" ]; do
		sleep 0.05
		j=$((j + 1))
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

cleanup() {
	for i in $(seq 1 "$nodes"); do
		[ -f "$dir/n$i.pid" ] || continue
		pid=$(cat "$dir/n$i.pid")
		kill -CONT "$pid" 2>/dev/null
		kill -TERM "$pid" 2>/dev/null
	done
	[ -n "$wl_pid" ] && kill -TERM "$wl_pid" 2>/dev/null
	for i in $(seq 1 "$nodes"); do
		[ -f "$dir/n$i.pid" ] || continue
		pid_reap "$(cat "$dir/n$i.pid")" 100
	done
	[ -n "$wl_pid" ] && { kill -KILL "$wl_pid" 2>/dev/null; wait "$wl_pid" 2>/dev/null; }
	[ -n "$kv_pid" ] && { kill -KILL "$kv_pid" 2>/dev/null; wait "$kv_pid" 2>/dev/null; }
	if [ -n "$netns" ]; then
		for i in $(seq 1 "$nodes"); do ip netns del "${ns}n$i" 2>/dev/null; done
		ip netns del "${ns}s" 2>/dev/null
	fi
	if [ -n "$keep" ]; then echo "run.sh: kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

net_setup() {
	ip -n "${ns}s" link add br0 type bridge || return 1
	ip -n "${ns}s" addr add 10.213.0.254/24 dev br0
	ip -n "${ns}s" link set br0 up
	ip -n "${ns}s" link set lo up
	for i in $(seq 1 "$nodes"); do
		ip netns add "${ns}n$i" || return 1
		ip link add "${ns}v$i" type veth peer name "${ns}e$i" || return 1
		ip link set "${ns}v$i" netns "${ns}s"
		ip link set "${ns}e$i" netns "${ns}n$i"
		ip -n "${ns}s" link set "${ns}v$i" master br0
		ip -n "${ns}s" link set "${ns}v$i" up
		ip -n "${ns}n$i" link set "${ns}e$i" name eth0
		ip -n "${ns}n$i" addr add "10.213.0.$i/24" dev eth0
		ip -n "${ns}n$i" link set eth0 up
		ip -n "${ns}n$i" link set lo up
	done
}

# Starts node I in the background, with its PID in nI.pid: the node's
# own (`ip netns exec` execs it), so that kill -9 and SIGSTOP reach it.
node_start() { # I
	i=$1
	set -- "$COORDD" --name "n$i" --data-dir "$dir/n$i.data" \
		--client-addr "$(addr "$i"):$(port "$i" 0)" \
		--peer-addr "$(addr "$i"):$(port "$i" 1)" \
		--http-addr "$(addr "$i"):$(port "$i" 2)" \
		--initial-cluster "$(cluster)" $node_flags $(nemesis_node_flags "$i")
	# The disk and crash nemeses' failpoints (nemesis_failpoints).
	[ -f "$dir/n$i.failpoints" ] &&
		set -- env COORD_FAILPOINTS="$(cat "$dir/n$i.failpoints")" \
			COORD_FAILPOINTS_SEED="$seed" "$@"
	if [ -n "$faketime_lib" ]; then
		# ASan wants to be the first library; libfaketime comes first.
		if [ -n "$clock_nemesis" ]; then
			[ -f "$dir/n$i.clock" ] || echo "+0" >"$dir/n$i.clock"
			set -- env LD_PRELOAD="$faketime_lib" \
				FAKETIME_TIMESTAMP_FILE="$dir/n$i.clock" \
				FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1 \
				ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "$@"
		else
			set -- env LD_PRELOAD="$faketime_lib" FAKETIME="+0 x$clock_x" \
				ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "$@"
		fi
	fi
	if [ -n "$netns" ]; then
		ip netns exec "${ns}n$i" "$@" >>"$dir/n$i.log" 2>&1 &
	else
		"$@" >>"$dir/n$i.log" 2>&1 &
	fi
	echo $! >"$dir/n$i.pid"
}

running() { [ -f "$dir/n$1.pid" ] && kill -0 "$(cat "$dir/n$1.pid")" 2>/dev/null; }

# The index of the node that says it leads, or nothing: of the running
# nodes whose process's latest "leader=... term=T role=R" log line (one
# per change of leader) has role=leader, the one of the highest term (a
# paused or cut-off old leader says so until it hears of a newer term).
# Read from the logs: asking every node with coordctl (a sanitized
# process per node, in its namespace) took seconds on a loaded machine,
# for every fault that picks the leader.
leader() {
	lb= lt=-1
	for i in $(seq 1 "$nodes"); do
		running "$i" || continue
		ll=$(awk '/ opened data_dir=/ { r = "" } / role=/ { r = $0 } END { print r }' \
			"$dir/n$i.log")
		case $ll in *" role=leader"*) ;; *) continue ;; esac
		lterm=${ll##* term=}
		lterm=${lterm%% *}
		case $lterm in ''|*[!0-9]*) continue ;; esac
		[ "$lterm" -gt "$lt" ] && { lb=$i; lt=$lterm; }
	done
	echo "$lb"
}

wait_leader() { # SECONDS
	dl=$(( $(date +%s) + $1 ))
	while [ "$(date +%s)" -lt "$dl" ]; do
		[ -n "$(leader)" ] && return 0
		sleep 0.1
	done
	return 1
}

# Partitions: a blackhole route on both sides of every cut pair. The
# pairs cut are noted, and only they are healed: an `ip` for each of the
# n x n pairs took seconds on a loaded machine.
cut_pairs=
net_cut() { # I J
	ip -n "${ns}n$1" route add blackhole "10.213.0.$2/32" 2>/dev/null
	ip -n "${ns}n$2" route add blackhole "10.213.0.$1/32" 2>/dev/null
	cut_pairs="$cut_pairs $1:$2"
}
heal_net() {
	for p in $cut_pairs; do
		ip -n "${ns}n${p%:*}" route del blackhole "10.213.0.${p#*:}/32" 2>/dev/null
		ip -n "${ns}n${p#*:}" route del blackhole "10.213.0.${p%:*}/32" 2>/dev/null
	done
	cut_pairs=
}
# Cuts group A (a list of indexes) from everyone else.
cut_group() { # "A..."
	for i in $1; do
		for j in $(seq 1 "$nodes"); do
			case " $1 " in *" $j "*) ;; *) net_cut "$i" "$j" ;; esac
		done
	done
}

sleep_ms() { sleep "$(( $1 / 1000 )).$(printf %03d $(( $1 % 1000 )))"; }
# How long a fault lasts, and the wait between two: the draw's MS, halved
# with --schedule cycle, so that a turn of every kind fits a short run.
# (Not a pause's: a pause is there to outlast the election timeout; nor
# a failpoint's, which lasts until it is reached.)
hold_pct=100
[ "$schedule" = cycle ] && hold_pct=50
hold_ms() { sleep_ms $(( $1 * hold_pct / 100 )); } # MS

# ---- nemeses: disk, crash (failpoints), member, transfer ----------------
# (tracker issue 10; docs/fault-testing.md.) Each is a function called
# from fault_once's case; their counts are printed after the others'.
RAW_CLIENT=$top_builddir/tests/cluster/raw_client
disks=0 crashes=0 members=0 transfers=0
has_failpoints=
nm "$COORDD" 2>/dev/null | grep -q ' failpoint_hit$' && has_failpoints=1
case ",$nemesis," in
*,disk,*|*,crash,*) [ -n "$has_failpoints" ] || echo "run.sh: coordd has no failpoints" \
	"(./configure --enable-failpoints): the disk and crash nemeses are left out" ;;
esac

# Extra flags of node I: --join (and the cluster id) once the member
# nemesis re-added it; no rate limit on transfers for the transfer
# nemesis; the nemesis's address may make admin requests.
nemesis_node_flags() { # I
	[ -f "$dir/n$1.join" ] && cat "$dir/n$1.join"
	case ",$nemesis," in *,transfer,*) echo "--transfer-interval-ms 0" ;; esac
	# Admin requests come from the switch's address (default: loopback).
	case ",$nemesis," in *,member,*|*,transfer,*)
		[ -n "$netns" ] && echo "--admin-addrs 10.213.0.254" ;;
	esac
}

ctl() { in_ns s "$COORDCTL" --endpoints "$(endpoints)" --timeout-ms 5000 "$@"; }

# Stops node I with SIG, waits (30 s, then KILL); its exit status.
node_stop() { # I SIG
	kill "-$2" "$(cat "$dir/n$1.pid")" 2>/dev/null
	pid_reap "$(cat "$dir/n$1.pid")" 600
	echo $?
}

# disk|crash: node I restarted with a failpoint, for 1-4 s once it
# serves (a loaded machine may take seconds to start a sanitized coordd:
# counted from the restart, the window could close before the node did
# anything); it stops itself if the point is reached (status 1 for a
# failed sync, 86 for a crash), and is restarted without it either way.
# With --schedule cycle the Nth hit is one of the first 10, not 40: a
# light workload syncs a few times a second, and a failpoint not reached
# is a turn of the cycle spent for nothing.
fp_hits=40 fp_points=3
[ "$schedule" = cycle ] && fp_hits=10 fp_points=2
nemesis_failpoints() { # KIND I
	if [ "$1" = disk ]; then
		spec="store.sync=error#$(( 1 + RANDOM % fp_hits ))"
		disks=$((disks + 1))
	else
		# (With --schedule cycle no snapshot.install: a node is seldom
		# sent a snapshot in a short run, and the turn would wait.)
		case $(( RANDOM % fp_points )) in
		0) spec="node.after_persist=crash#$(( 1 + RANDOM % fp_hits ))" ;;
		1) spec="node.after_send=crash#$(( 1 + RANDOM % fp_hits ))" ;;
		2) spec="snapshot.install=crash" ;;
		esac
		crashes=$((crashes + 1))
	fi
	node_stop "$2" TERM >/dev/null
	echo "$spec" >"$dir/n$2.failpoints"
	log "$1: n$2 restarted with COORD_FAILPOINTS=$spec"
	served=$(grep -c ' serving clients=' "$dir/n$2.log")
	node_start "$2"
	rm -f "$dir/n$2.failpoints"
	dl=$(( $(date +%s) + 30 ))
	while running "$2" && [ "$(grep -c ' serving clients=' "$dir/n$2.log")" -le "$served" ] &&
		[ "$(date +%s)" -lt "$dl" ]; do
		sleep 0.05
	done
	dl=$(( $(date +%s%N) / 1000000 + 1000 + RANDOM % 3000 ))
	# With --schedule cycle the fault is the failpoint reached, and a
	# loaded machine may take seconds to reach it: up to 10 s, restarted
	# without as soon as it stopped.
	[ "$schedule" = cycle ] && dl=$(( $(date +%s%N) / 1000000 + 10000 ))
	while running "$2" && [ $(( $(date +%s%N) / 1000000 )) -lt "$dl" ]; do
		sleep 0.05
	done
	if running "$2"; then
		log "$1: n$2 did not reach the failpoint; restarted without"
		node_stop "$2" TERM >/dev/null
	else
		took=1
		wait "$(cat "$dir/n$2.pid")" 2>/dev/null
		st=$?
		log "$1: n$2 stopped itself (exit $st): $(grep -o 'failpoint point=[^ ]* action=[a-z]* hit=[0-9]*' \
			"$dir/n$2.log" | tail -1); restarted without"
	fi
	node_start "$2"
}

# member: node I (the leader a third of the time) removed, killed, its
# data wiped, added back as a new member, and started with --join.
nemesis_member() { # I
	v=$1
	if [ $((RANDOM % 3)) -eq 0 ]; then
		l=$(leader)
		[ -n "$l" ] && v=$l
	fi
	members=$((members + 1))
	log "member: remove n$v"
	if ! out=$(ctl member remove "n$v" 2>&1); then
		log "member: remove n$v refused: $out"
		return
	fi
	took=1
	# Asked of the others: the removed node may never learn that its
	# removal committed, and listed itself for the whole 30 s (seen).
	others=
	for i in $(seq 1 "$nodes"); do
		[ "$i" = "$v" ] || others="$others${others:+,}$(addr "$i"):$(port "$i" 0)"
	done
	dl=$(( $(date +%s) + 30 ))
	while in_ns s "$COORDCTL" --endpoints "$others" --timeout-ms 5000 --json member list 2>/dev/null |
		grep -q "\"name\":\"n$v\"" &&
		[ "$(date +%s)" -lt "$dl" ]; do
		sleep 0.1
	done
	node_stop "$v" TERM >/dev/null
	rm -rf "$dir/n$v.data" "$dir/n$v.join"
	log "member: n$v stopped and wiped; add n$v"
	dl=$(( $(date +%s) + 60 ))
	until out=$(ctl member add "n$v" "$(addr "$v"):$(port "$v" 1)" \
		--client-addr "$(addr "$v"):$(port "$v" 0)" 2>&1); do
		[ "$(date +%s)" -lt "$dl" ] || { log "member: add n$v failed: $out"; return; }
		sleep 0.5
	done
	cid=$(printf '%s\n' "$out" | sed -n 's/.* --join --cluster-id \([0-9a-f]\{16\}\)$/\1/p')
	echo "--join --cluster-id $cid" >"$dir/n$v.join"
	log "member: n$v added (learner until caught up), started with --join"
	node_start "$v"
}

# The node id (hex) of node I, from its status.
node_id() { # I
	in_ns s "$COORDCTL" --endpoints "$(addr "$1"):$(port "$1" 0)" \
		--timeout-ms 1000 --json status 2>/dev/null |
		sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p'
}

# transfer: the leadership to a random follower; waits up to 5 s for it.
nemesis_transfer() {
	r=$(( RANDOM % (nodes - 1) ))     # drawn whatever happens next
	l=$(leader)
	[ -n "$l" ] || { log "transfer: no leader"; return; }
	t=$(( (l + r) % nodes + 1 ))
	transfers=$((transfers + 1))
	log "transfer: leadership n$l -> n$t"
	r=$(in_ns s "$RAW_CLIENT" "$(addr "$l")" "$(port "$l" 0)" hello transfer "$(node_id "$t")" 2>&1 |
		sed -n 's/^reply TRANSFER_LEADER //p')
	dl=$(( $(date +%s) + 5 ))
	while [ "$(leader)" != "$t" ] && [ "$(date +%s)" -lt "$dl" ]; do sleep 0.1; done
	log "transfer: ${r:-no reply}; leader now n$(leader)"
	case $r in *COORD_OK*) took=1 ;; esac
}
# ---- end of nemeses: disk, crash, member, transfer ----------------------

kills=0 pauses=0 partitions=0 clocks=0
# The kinds this run injects: those asked for, less partition without
# namespaces and disk, crash without failpoints in coordd (said above).
avail=()
for k in $(echo "$nemesis" | tr , ' '); do
	case $k in
	none) continue ;;
	partition) [ -n "$netns" ] || continue ;;
	disk|crash) [ -n "$has_failpoints" ] || continue ;;
	esac
	avail+=("$k")
done
# Per kind, the faults that took effect.
declare -A injected
for k in "${avail[@]}"; do injected[$k]=0; done
# --schedule cycle: the kinds left in this turn of the cycle.
queue=()

# The next fault's kind in $kind. Every draw is made here, in run.sh's
# own shell, not inside $(...): a subshell's RANDOM is reseeded, so the
# kinds would not follow the seed.
next_kind() {
	if [ "$schedule" = random ]; then
		kind=${avail[RANDOM % ${#avail[@]}]}
		return
	fi
	if [ ${#queue[@]} -eq 0 ]; then
		# A new turn: every kind once, shuffled (Fisher-Yates).
		queue=("${avail[@]}")
		for ((qi = ${#queue[@]} - 1; qi > 0; qi--)); do
			qj=$(( RANDOM % (qi + 1) ))
			qt=${queue[qi]}
			queue[qi]=${queue[qj]}
			queue[qj]=$qt
		done
	fi
	kind=${queue[0]}
	queue=("${queue[@]:1}")
}

fault_once() {
	[ ${#avail[@]} -gt 0 ] || { sleep 0.2; return 0; }
	next_kind
	victim=$(( RANDOM % nodes + 1 ))
	# Set by each fault once it took effect.
	took=
	case $kind in
	kill)
		log "kill -9 n$victim"
		kill -KILL "$(cat "$dir/n$victim.pid")" 2>/dev/null
		wait "$(cat "$dir/n$victim.pid")" 2>/dev/null
		hold_ms $(( 500 + RANDOM % 1500 ))
		log "restart n$victim"
		node_start "$victim"
		kills=$((kills + 1))
		took=1
		;;
	pause)
		if [ $((RANDOM % 2)) -eq 0 ]; then
			l=$(leader)
			[ -n "$l" ] && victim=$l
		fi
		log "pause n$victim"
		kill -STOP "$(cat "$dir/n$victim.pid")" 2>/dev/null
		sleep_ms $(( 500 + RANDOM % 2500 ))
		log "resume n$victim"
		kill -CONT "$(cat "$dir/n$victim.pid")" 2>/dev/null
		pauses=$((pauses + 1))
		took=1
		;;
	partition)
		case $(( RANDOM % 4 )) in
		0)	l=$(leader)
			[ -n "$l" ] && victim=$l
			log "partition: n$victim (leader) isolated"
			cut_group "$victim" ;;
		1)	log "partition: n$victim isolated"
			cut_group "$victim" ;;
		2)	minority=""
			while [ $(echo $minority | wc -w) -lt $(( (nodes - 1) / 2 )) ]; do
				m=$(( RANDOM % nodes + 1 ))
				case " $minority " in *" $m "*) ;; *) minority="$minority $m" ;; esac
			done
			log "partition: {${minority# }} from the majority"
			cut_group "$minority" ;;
		3)	# A bridge: the middle node sees both halves.
			half=$(( nodes / 2 ))
			mid=$(( half + 1 ))
			log "partition: bridge through n$mid"
			for i in $(seq 1 "$half"); do
				for j in $(seq $((mid + 1)) "$nodes"); do net_cut "$i" "$j"; done
			done ;;
		esac
		hold_ms $(( 1000 + RANDOM % 3000 ))
		log "heal"
		heal_net
		partitions=$((partitions + 1))
		took=1
		;;
	clock)
		if [ $((RANDOM % 2)) -eq 0 ]; then
			l=$(leader)
			[ -n "$l" ] && victim=$l
		fi
		step=$(( (60 + RANDOM % 3541) * (RANDOM % 2 * 2 - 1) ))
		log "clock: n$victim's wall clock stepped ${step}s"
		echo "$( [ $step -ge 0 ] && echo +)$step" >"$dir/n$victim.clock"
		hold_ms $(( 1000 + RANDOM % 3000 ))
		log "clock: n$victim's wall clock stepped back"
		echo "+0" >"$dir/n$victim.clock"
		clocks=$((clocks + 1))
		took=1
		;;
	# fail10's nemeses (functions above).
	disk|crash) nemesis_failpoints "$kind" "$victim" ;;
	member) nemesis_member "$victim" ;;
	transfer) nemesis_transfer ;;
	esac
	if [ -n "$took" ]; then
		injected[$kind]=$(( ${injected[$kind]} + 1 ))
	elif [ "$schedule" = cycle ]; then
		# Tried again, with new draws, after the rest of this turn.
		queue+=("$kind")
	fi
	hold_ms $(( 300 + RANDOM % 1200 ))
}

clock_note=
[ "$clock_rate" != 0 ] && clock_note=", node clocks at x$clock_x (libfaketime)"
if [ -n "$netns" ]; then
	net_setup || { echo "run.sh: could not set up the namespaces" >&2; exit 1; }
	echo "run.sh: $workload, $nodes nodes in network namespaces ${ns}n1..${ns}n$nodes, seed $seed, nemesis $nemesis ($schedule), ${duration}s$clock_note"
else
	echo "run.sh: $workload, $nodes nodes on loopback (no network namespaces: not root or no ip; partitions left out), seed $seed, nemesis $nemesis ($schedule), ${duration}s$clock_note"
fi
for i in $(seq 1 "$nodes"); do node_start "$i"; done
wait_leader 60 || { echo "run.sh: no leader within 60 s"; tail -5 "$dir"/n*.log; exit 1; }

if [ "$workload" = lock ] || [ "$workload" = job ] || [ "$workload" = election ]; then
	# The resource the lock (the claims) guards, beside the clients.
	mkdir -p "$dir/resource"
	# Started as the nodes are, so that $! is fenced_kv itself (`ip
	# netns exec` execs it) and cleanup's kill reaches it.
	if [ -n "$netns" ]; then
		ip netns exec "${ns}s" "$FENCED_KV" "$dir/resource" 0 >"$dir/resource.log" 2>&1 &
	else
		"$FENCED_KV" "$dir/resource" 0 >"$dir/resource.log" 2>&1 &
	fi
	kv_pid=$!
	dl=$(( $(date +%s) + 30 ))
	until kv_port=$(sed -n 's/.*listening port=\([0-9]*\).*/\1/p' "$dir/resource.log") &&
		[ -n "$kv_port" ]; do
		[ "$(date +%s)" -lt "$dl" ] && kill -0 "$kv_pid" 2>/dev/null ||
			{ echo "run.sh: fenced_kv did not start: $(cat "$dir/resource.log")"; exit 1; }
		sleep 0.1
	done
fi
if [ "$workload" = lock ]; then
	set -- "$LOCK_WORKLOAD" "$(endpoints)" "$dir/history.jsonl" "$kv_port" \
		--clients "$clients" --duration-ms "$((duration * 1000))" \
		--timeout-ms 5000 --ttl-ms 2000 --pause-pct 10 --seed "$seed"
elif [ "$workload" = job ]; then
	set -- "$JOB_WORKLOAD" "$(endpoints)" "$dir/history.jsonl" "$kv_port" \
		--workers "$clients" --jobs $((duration * 15)) \
		--duration-ms "$((duration * 1000))" --timeout-ms 5000 \
		--ttl-ms 2000 --pause-pct 10 --dup-pct 10 --seed "$seed"
elif [ "$workload" = session ]; then
	set -- "$SESSION_WORKLOAD" "$(endpoints)" "$dir/history.jsonl" \
		--clients "$clients" --duration-ms "$((duration * 1000))" \
		--timeout-ms 5000 --ttl-ms 2000 --pause-pct 10 --seed "$seed"
elif [ "$workload" = churn ]; then
	# Under the churn alone, the expiry bound of docs/consistency.md
	# ("Leases"): within 2 election timeouts of the deadline.
	slack=0
	[ "$nemesis" = none ] && slack=$((2 * churn_election_ms))
	set -- "$SESSION_WORKLOAD" "$(endpoints)" "$dir/history.jsonl" \
		--clients "$clients" --duration-ms "$((duration * 1000))" \
		--timeout-ms 5000 --ttl-ms 2000 --pause-pct 20 --seed "$seed" \
		--expiry-slack-ms "$slack"
elif [ "$workload" = semaphore ]; then
	set -- "$SEM_WORKLOAD" "$(endpoints)" "$dir/history.jsonl" \
		--clients "$clients" --permits 2 --duration-ms "$((duration * 1000))" \
		--timeout-ms 5000 --ttl-ms 2000 --pause-pct 10 --seed "$seed"
elif [ "$workload" = election ]; then
	set -- "$ELECTION_WORKLOAD" "$(endpoints)" "$dir/history.jsonl" "$kv_port" \
		--candidates 4 --observers 2 --duration-ms "$((duration * 1000))" \
		--timeout-ms 5000 --ttl-ms 2000 --pause-pct 10 --seed "$seed"
else
	set -- "$WORKLOAD" "$workload" "$(endpoints)" "$dir/history.jsonl" \
		--clients "$clients" --keys "$keys" --duration-ms "$((duration * 1000))" \
		--timeout-ms 5000 --seed "$seed"
fi
if [ -n "$netns" ]; then
	ip netns exec "${ns}s" "$@" >"$dir/workload.log" 2>&1 &
else
	"$@" >"$dir/workload.log" 2>&1 &
fi
wl_pid=$!

# --- fault10b: the churn workload's churner -------------------------
# Every 300-500 ms, TRANSFER_LEADER (to any other member) sent to every
# node at once: the leader hands on, the followers refuse. It stops when
# the workload does; its replies are in churn.log.
churn_pid=
if [ "$workload" = churn ]; then
	(
		while kill -0 "$wl_pid" 2>/dev/null; do
			for i in $(seq 1 "$nodes"); do
				in_ns s "$RAW_CLIENT" "$(addr "$i")" "$(port "$i" 0)" \
					hello transfer 0 2>&1 | grep '^reply TRANSFER_LEADER' &
			done
			wait
			sleep_ms $(( 300 + RANDOM % 200 ))
		done
	) >"$dir/churn.log" 2>&1 &
	churn_pid=$!
fi
# --- end of fault10b ------------------------------------------------

end=$(( $(date +%s) + duration ))
while [ "$(date +%s)" -lt "$end" ] && kill -0 "$wl_pid" 2>/dev/null; do
	fault_once
done
log "heal all"
heal_net 2>/dev/null
for i in $(seq 1 "$nodes"); do
	[ -n "$clock_nemesis" ] && echo "+0" >"$dir/n$i.clock"
done
for i in $(seq 1 "$nodes"); do
	if running "$i"; then kill -CONT "$(cat "$dir/n$i.pid")"; else node_start "$i"; fi
done
wait "$wl_pid"
wl_status=$?
wl_pid=
echo "run.sh: faults: $kills kills, $pauses pauses, $partitions partitions, $clocks clock steps"
echo "run.sh: faults: $disks failing syncs, $crashes failpoint crashes, $members member changes, $transfers leader transfers"
# Per kind asked (and available), the faults that took effect; with
# --schedule cycle, every kind at least once or the run fails.
took_list= missing=
for k in "${avail[@]}"; do
	took_list="$took_list $k=${injected[$k]}"
	[ "${injected[$k]}" -gt 0 ] || missing="$missing $k"
done
[ ${#avail[@]} -gt 0 ] && echo "run.sh: took effect:$took_list"
nemesis_status=0
if [ -n "$missing" ]; then
	if [ "$schedule" = cycle ]; then
		echo "run.sh: no fault of kind(s)$missing took effect in ${duration}s (--schedule cycle: each kind asked must)"
		nemesis_status=1
	else
		echo "run.sh: note: no fault of kind(s)$missing took effect (random schedule)"
	fi
fi
cat "$dir/workload.log"
echo "run.sh: history: $(wc -l <"$dir/history.jsonl") lines," \
	"$(grep -c '"t":"ok"' "$dir/history.jsonl") ok," \
	"$(grep -c '"t":"info"' "$dir/history.jsonl") unknown outcome"
# --- fault10b: the churner's count --------------------------------
if [ -n "$churn_pid" ]; then
	wait "$churn_pid"
	echo "run.sh: churn: $(grep -c 'COORD_OK' "$dir/churn.log") leader transfers" \
		"done, $(cat "$dir"/n*.log | grep -c 'role=leader') leaderships taken"
fi
# --- end of fault10b ------------------------------------------------
python3 "$here/$checker" "$dir/history.jsonl"
verdict=$?
if [ $verdict -ne 0 ] || [ $wl_status -ne 0 ] || [ $nemesis_status -ne 0 ]; then
	keep=1
	echo "FAIL: checker exit $verdict, workload exit $wl_status, nemesis exit $nemesis_status; replay with --seed $seed"
	exit 1
fi
exit 0
