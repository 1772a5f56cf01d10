#!/bin/bash
# tests/cluster/install.sh: issue 11 section 4. `make install` into a
# DESTDIR gives a coordd that starts as it is (raft/, proto/ and coordd/
# are linked in statically: it needs no library of coord, so no
# ldconfig), a coordctl and a libcoord.so, and only the public files:
# coord.h, coord_errors.h (self-contained: the whole error table),
# libcoord.pc, the man pages. A 1-node cluster of the installed coordd
# serves the installed coordctl, and a program built against the
# installed coord.h through pkg-config (tests/cluster/install_prog.c)
# writes and reads through the installed libcoord. Beside them
# libcoordfence (coordfence.h, libcoordfence.pc, exporting coordfence_*
# only), and a program built against it the same way
# (tests/cluster/install_fence.c) admits and refuses tokens.
. "$(dirname "$0")/lib.sh"
cl_init install
INST=$CL_DIR/inst
srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}

# The build's own install, without the parent make's flags (-j, -n...).
MAKEFLAGS= MFLAGS= MAKELEVEL= make -s -C "$top_builddir" install \
	DESTDIR="$INST" >"$CL_DIR/install.log" 2>&1 ||
	fail "make install: $(tail -20 "$CL_DIR/install.log")"
prefix=$(sed -n 's/^prefix=//p' "$top_builddir/libcoord/libcoord.pc")
libdir=$(sed -n 's/^libdir=//p' "$top_builddir/libcoord/libcoord.pc" |
	sed "s|\${exec_prefix}|$prefix|; s|\${prefix}|$prefix|")
bindir=$prefix/bin
ROOT=$INST$prefix

# Only public files: no internal library or header.
files=$(cd "$ROOT" && find . -type f -o -type l | sed 's|^\./||' | sort | tr '\n' ' ')
echo "installed: $files"
for f in $files; do
	case $f in
	bin/coordd | bin/coordctl | include/coord.h | include/coord_errors.h | \
		lib*/libcoord.la | lib*/libcoord.so* | lib*/pkgconfig/libcoord.pc | \
		include/coordfence.h | lib*/libcoordfence.la | lib*/libcoordfence.so* | \
		lib*/pkgconfig/libcoordfence.pc | \
		share/man/man1/coordd.1 | share/man/man1/coordctl.1) ;;
	*) fail "make install installed $f" ;;
	esac
done
# coordd needs no library of coord (one that is not installed, or not yet
# known to the loader before ldconfig, would stop it from starting).
needed=$(readelf -d "$INST$bindir/coordd" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p')
case " $(echo $needed) " in
*" libcoord"*) fail "the installed coordd needs a library of coord: $needed" ;;
esac
# libcoord exports its API (coord_*) and nothing of proto/.
leaked=$(nm -D --defined-only "$INST$libdir/libcoord.so" | awk '$2 == "T" && $3 !~ /^coord_/ { print $3 }' | head -5)
[ -z "$leaked" ] || fail "libcoord.so exports internal symbols: $leaked"
# libcoordfence exports coordfence_* only (not crc32c's store_ symbols).
leaked=$(nm -D --defined-only "$INST$libdir/libcoordfence.so" | awk '$2 == "T" && $3 !~ /^coordfence_/ { print $3 }' | head -5)
[ -z "$leaked" ] || fail "libcoordfence.so exports internal symbols: $leaked"
# The installed headers compile on their own, outside the source tree.
grep -q '#include "\(proto\|fencing\|coordd\)/' "$INST$prefix/include/coord.h" \
	"$INST$prefix/include/coord_errors.h" "$INST$prefix/include/coordfence.h" &&
	fail "an installed header includes proto/"

# A 1-node cluster of the installed coordd, with loader paths for nothing
# but the installed libcoord (for coordctl and the program).
COORDD=$INST$bindir/coordd
COORDCTL=$INST$bindir/coordctl
export LD_LIBRARY_PATH=$INST$libdir
cl_start 1
l=$(cl_leader)
cl_ctl put installed yes >/dev/null || fail "the installed coordctl cannot write"
[ "$(cl_ctl get installed | sed -n 2p)" = yes ] || fail "the installed coordctl cannot read"

# A program of a libcoord user, through pkg-config on the installed .pc.
# The build's compiler flags come along (a sanitized libcoord needs a
# sanitized program), never its include paths.
export PKG_CONFIG_PATH=$INST$libdir/pkgconfig PKG_CONFIG_SYSROOT_DIR=$INST
cflags=$(pkg-config --cflags libcoord) || fail "pkg-config --cflags libcoord"
libs=$(pkg-config --libs libcoord) || fail "pkg-config --libs libcoord"
# shellcheck disable=SC2086
${COORD_TEST_CC:-cc} $COORD_TEST_CFLAGS $cflags -o "$CL_DIR/install_prog" \
	"$srcdir/tests/cluster/install_prog.c" $libs $COORD_TEST_LDFLAGS \
	>"$CL_DIR/cc.log" 2>&1 || fail "building against the installed coord.h: $(cat "$CL_DIR/cc.log")"
out=$("$CL_DIR/install_prog" "127.0.0.1:$(cl_port "$l" 0)" prog-key prog-value 2>&1) ||
	fail "install_prog: $out"
echo "$out"

# A program of a libcoordfence user, the same way, on a fence store of
# its own.
cflags=$(pkg-config --cflags libcoordfence) || fail "pkg-config --cflags libcoordfence"
libs=$(pkg-config --libs libcoordfence) || fail "pkg-config --libs libcoordfence"
# shellcheck disable=SC2086
${COORD_TEST_CC:-cc} $COORD_TEST_CFLAGS $cflags -o "$CL_DIR/install_fence" \
	"$srcdir/tests/cluster/install_fence.c" $libs $COORD_TEST_LDFLAGS \
	>"$CL_DIR/cc.log" 2>&1 || fail "building against the installed coordfence.h: $(cat "$CL_DIR/cc.log")"
out=$("$CL_DIR/install_fence" "$CL_DIR/fence" 2>&1) || fail "install_fence: $out"
echo "$out"
echo "PASS: install (coordd needs: $(echo $needed))"
