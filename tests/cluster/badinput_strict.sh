#!/bin/bash
# tests/cluster/badinput_strict.sh: what docs/protocol.md and DESIGN.md
# ("Bad input") promise beyond badinput.sh. Every check runs, each failure
# is named, and the test fails if any did.
#   1. A well-framed but malformed message whose kind cannot be read (not
#      an array, an array longer than the frame, an invalid msgpack byte)
#      gets COORD_EMALFORMED and the connection goes on.
#   2. A kind nobody knows gets COORD_EUNKNOWNMSG with its request_id and
#      the connection goes on.
#   3. A truncated frame followed by a close is logged.
#   4. A key or value over its limit is logged (and never proposed).
#   5. A connection that never says HELLO is closed after 10 s (and
#      logged), so silent sockets cannot hold connection slots.
. "$(dirname "$0")/lib.sh"
cl_init badinput-strict
RAW=$top_builddir/tests/cluster/raw_client
[ -x "$RAW" ] || fail "no $RAW (make check builds it)"
cl_start 3 --max-key-bytes 64 --max-value-bytes 1024 --max-frame-bytes 4096
l=$(cl_leader)
LPORT=$(cl_port "$l" 0)
failed=0
bad() {
	echo "FAIL: $*" >&2
	failed=1
}
raw() {
	OUT=$("$RAW" 127.0.0.1 "$LPORT" "$@" 2>&1)
}
expect() {
	printf '%s\n' "$OUT" | grep -Eq "$2" ||
		bad "$1: expected /$2/, raw_client said: $(printf '%s' "$OUT" | tr '\n' '|')"
}
count() { # REGEX: matching lines in every node's log
	cat "$CL_DIR"/n[123].log | grep -Eic -- "$1"
}

# 1.
for body in c1c1c1 81a16101 9902070000; do
	raw hello frame "$body" recv get key
	expect "malformed $body" '^reply [^ ]+ id=[0-9]+ code=5 COORD_EMALFORMED$'
	expect "malformed $body: connection goes on" '^reply RANGE id=2 code=0 '
done
# 2.
raw hello frame 926305 recv get key
expect "unknown kind 99" '^reply \?99 id=5 code=18 COORD_EUNKNOWNMSG$'
expect "unknown kind 99: connection goes on" '^reply RANGE id=2 code=0 '
# 3.
before=$(count "level=(info|warn|error) .*addr=127\.0\.0\.1:[0-9]+")
raw hello send 000000649902
wait_count() { # REGEX ABOVE: until count REGEX > ABOVE (CL_WAIT_S at most)
	dl=$(cl_deadline "$CL_WAIT_S")
	while [ "$(count "$1")" -le "$2" ]; do
		[ "$(date +%s)" -lt "$dl" ] || return 1
		sleep 0.05
	done
}
wait_count "level=(info|warn|error) .*addr=127\.0\.0\.1:[0-9]+" "$before" ||
	bad "a truncated frame then close was not logged"
# 4.
raw hello putk 65 3
expect "key over" '^reply PUT id=2 code=8 COORD_EKEYTOOBIG$'
raw hello put bigv 1025
expect "value over" '^reply PUT id=2 code=9 COORD_EVALUETOOBIG$'
wait_count "key too large|KEYTOOBIG" 0 || bad "a key over --max-key-bytes was not logged"
wait_count "value too large|VALUETOOBIG" 0 || bad "a value over --max-value-bytes was not logged"
# 5.
raw sleep 10500 eof
expect "silent connection" '^closed$'
[ "$(count "no hello within")" -gt 0 ] || bad "a silent connection was not logged"

[ $failed -eq 0 ] || fail "badinput_strict: see above"
echo "PASS: badinput_strict"
