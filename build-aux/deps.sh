#!/bin/sh
# Installs the Debian packages coord needs to build and test, when missing.
set -e
pkgs="build-essential autoconf automake libtool pkg-config libevent-dev libmsgpack-dev libleveldb-dev libssl-dev check gcovr python3 openssl clang libclang-rt-14-dev iproute2 libfaketime"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages:$missing (run as root, or apt-get install them)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
