#!/bin/sh
# The main job: builds coord (optimised, in _build-run/), starts a 3-node
# cluster on this machine in the background (scripts/local-cluster), shows
# its status, writes and reads a key through different nodes, shows what a
# lock with a fencing token is for (two clients on one lock, the first
# paused past its TTL and fenced out), and says how to stop it.
set -e
cd "$(dirname "$0")"
sh build-aux/deps.sh
[ -x configure ] || ./autogen.sh >/dev/null
mkdir -p _build-run
(
	cd _build-run
	[ -f Makefile ] || ../configure CFLAGS="-O2 -g" >/dev/null
	make -j"$(nproc)" coordd/coordd tools/coordctl >/dev/null
)
scripts/local-cluster start
ctl=_build-run/tools/coordctl
eps=127.0.0.1:2479,127.0.0.1:2489,127.0.0.1:2499
echo
echo "\$ coordctl status"
$ctl --endpoints "$eps" status
echo
echo "\$ coordctl --endpoints 127.0.0.1:2489 put greeting 'hello from coord'"
$ctl --endpoints 127.0.0.1:2489,127.0.0.1:2479,127.0.0.1:2499 put greeting 'hello from coord'
echo "\$ coordctl --endpoints 127.0.0.1:2499 get greeting      # a linearizable read on another node"
$ctl --endpoints 127.0.0.1:2499 get greeting
echo
echo "A lock and its fencing token. Client A takes the lock jobs/nightly (a 2 s"
echo "session TTL) and writes the report with its token:"
demo=local-cluster/demo
mkdir -p "$demo"
rm -f "$demo"/*.err
q="'"
echo "\$ coordctl lock --ttl 2 jobs/nightly -- sh -c ${q}coordctl put --fence jobs/nightly=\$COORD_FENCING_TOKEN report \"written by A\"; sleep 600${q} &"
$ctl --endpoints "$eps" lock --ttl 2 jobs/nightly -- sh -c \
	"$ctl --endpoints $eps put --fence jobs/nightly=\$COORD_FENCING_TOKEN report 'written by A' >/dev/null && exec sleep 600" \
	2>"$demo/a.err" &
a=$!
# Waits (30 s at most) until FILE has a line matching ERE.
wait_for() {
	i=0
	until grep -Eq "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 300 ]; then
			echo "run.sh: no \"$2\" in $1 within 30 s" >&2
			cat "$1" >&2
			exit 1
		fi
		sleep 0.1
	done
}
wait_for "$demo/a.err" "held, fencing token"
i=0
until $ctl --endpoints "$eps" get report 2>/dev/null | grep -q "written by A"; do
	i=$((i + 1))
	[ $i -le 300 ] || { echo "run.sh: A's write did not show within 30 s" >&2; exit 1; }
	sleep 0.1
done
sed 's/^/  /' "$demo/a.err"
t1=$(sed -n 's/.*fencing token \([0-9]*\).*/\1/p' "$demo/a.err")
echo "Client B queues behind A:"
echo "\$ coordctl lock --ttl 2 jobs/nightly -- sh -c ${q}coordctl put --fence jobs/nightly=\$COORD_FENCING_TOKEN report \"written by B\"${q} &"
$ctl --endpoints "$eps" lock --ttl 2 jobs/nightly -- sh -c \
	"$ctl --endpoints $eps put --fence jobs/nightly=\$COORD_FENCING_TOKEN report 'written by B' >/dev/null" \
	2>"$demo/b.err" &
b=$!
echo "\$ kill -STOP $a      # A freezes -- a long GC pause, a VM migration -- past its TTL"
kill -STOP "$a"
wait_for "$demo/b.err" "held, fencing token"
sed 's/^/  /' "$demo/b.err"
t2=$(sed -n 's/.*fencing token \([0-9]*\).*/\1/p' "$demo/b.err")
echo "B holds the lock now, with token $t2 > $t1: coord expired A's session when its"
echo "TTL ran out and granted the lock to the next waiter."
wait "$b"
echo "\$ kill -CONT $a      # A wakes up still believing it holds the lock, and writes with token $t1:"
kill -CONT "$a"
echo "\$ coordctl put --fence jobs/nightly=$t1 report \"written by A, late\""
$ctl --endpoints "$eps" put --fence "jobs/nightly=$t1" report 'written by A, late' 2>&1 | sed 's/^/  /' || true
wait "$a" || true
echo "A's coordctl noticed the loss and stopped its command:"
grep "lock lost\|jeopardy" "$demo/a.err" | sed 's/^/  /'
echo "\$ coordctl get report"
$ctl --endpoints "$eps" get report
echo
echo "The cluster keeps running in the background (data and logs in ./local-cluster)."
echo "Try:   $ctl --endpoints $eps watch greeting"
echo "       $ctl --endpoints $eps lock status jobs/nightly"
echo "Stop:  scripts/local-cluster stop"
