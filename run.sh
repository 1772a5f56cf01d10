#!/bin/sh
# The main job: builds coord (optimised, in _build-run/), starts a 3-node
# cluster on this machine in the background (scripts/local-cluster), shows
# its status, writes and reads a key through different nodes, and says how
# to stop it.
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
echo "The cluster keeps running in the background (data and logs in ./local-cluster)."
echo "Try:   $ctl --endpoints $eps watch greeting"
echo "Stop:  scripts/local-cluster stop"
