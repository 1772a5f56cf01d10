#!/bin/bash
# tests/cluster/lease_keys.sh: keys attached to a lease, from coordctl, on
# 3 nodes with --max-range-keys 3 (so a listing takes pages):
# - `put --lease ID`, and a txn's `put k v --lease ID`, attach a key; a
#   lease that does not exist is COORD_ELEASE and nothing is written;
# - `lease ttl ID --keys` lists exactly the attached keys in key order,
#   across pages of 3, through the leader and through a follower; a key
#   re-put without the lease is no longer listed;
# - revoking the lease deletes its keys and nothing else; listing it
#   then is COORD_ELEASE;
# - LEASE_LIST on every node lists the granted leases, and not once they
#   are revoked.
. "$(dirname "$0")/lib.sh"
cl_init lease_keys
cl_start 3 --max-range-keys 3
cl_wait_converged 3

id=$(cl_ctl --json lease grant 60 | sed -n 's/.*"lease":\([0-9]*\).*/\1/p')
[ -n "$id" ] || fail "no lease granted"
for k in k/5 k/1 k/7 k/2 k/4 k/3 k/6; do
	cl_ctl put --lease "$id" "$k" "v$k" >/dev/null || fail "put --lease $k"
done
cl_ctl put k/4 unleased >/dev/null || fail "re-put k/4"
# A put inside a transaction attaches too.
printf '\nput k/8 v8 --lease %s\n\n' "$id" | cl_ctl txn | grep -q SUCCESS ||
	fail "txn put --lease"
cl_ctl put other x >/dev/null || fail "put other"

if cl_ctl put --lease 999999 k/x y >"$CL_DIR/bad.out" 2>&1; then
	fail "a put with a lease that does not exist was applied"
fi
grep -q COORD_ELEASE "$CL_DIR/bad.out" || fail "bad lease: $(cat "$CL_DIR/bad.out")"
[ -z "$(cl_ctl get k/x)" ] || fail "k/x was written"

want=$(printf 'k/%s\n' 1 2 3 5 6 7 8)
for i in 1 2 3; do
	got=$(cl_ctl_node "$i" lease ttl "$id" --keys | tail -n +2)
	[ "$got" = "$want" ] || fail "node $i lists '$got', not '$want'"
done
json=$(cl_ctl --json lease ttl "$id" --keys)
echo "$json" | grep -q '"keys":\["k/1","k/2","k/3","k/5","k/6","k/7","k/8"\]}$' ||
	fail "json: $json"

# LEASE_LIST (no client sends it; raw_client does): every node lists
# both leases, after a linearizable read, and no longer the revoked one.
RAW=$top_builddir/tests/cluster/raw_client
id2=$(cl_ctl --json lease grant 60 | sed -n 's/.*"lease":\([0-9]*\).*/\1/p')
[ -n "$id2" ] || fail "no second lease granted"
leases_on() { # I: node nI's LEASE_LIST, comma-separated
	out=$("$RAW" 127.0.0.1 "$(cl_port "$1" 0)" hello leases) ||
		fail "raw_client leases on n$1"
	echo "$out" | grep -q '^reply LEASE_LIST id=2 code=0 COORD_OK leases=' ||
		fail "n$1: LEASE_LIST: $out"
	echo "$out" | sed -n 's/^reply LEASE_LIST .* leases=//p'
}
for i in 1 2 3; do
	got=",$(leases_on "$i"),"
	case $got in *",$id,"*) ;; *) fail "n$i lists leases $got, not $id" ;; esac
	case $got in *",$id2,"*) ;; *) fail "n$i lists leases $got, not $id2" ;; esac
done
cl_ctl lease revoke "$id2" >/dev/null || fail "revoke $id2"
cl_ctl lease revoke "$id" >/dev/null || fail "revoke"
for i in 1 2 3; do
	got=",$(leases_on "$i"),"
	case $got in *",$id,"* | *",$id2,"*) fail "n$i lists revoked leases: $got" ;; esac
done
[ "$(cl_ctl get k/ --prefix --keys-only)" = k/4 ] ||
	fail "after revoke: $(cl_ctl get k/ --prefix --keys-only)"
[ -n "$(cl_ctl get other)" ] || fail "an unattached key went with the lease"
if cl_ctl lease ttl "$id" --keys >"$CL_DIR/gone.out" 2>&1; then
	fail "listing a revoked lease succeeded: $(cat "$CL_DIR/gone.out")"
fi
grep -q COORD_ELEASE "$CL_DIR/gone.out" || fail "revoked: $(cat "$CL_DIR/gone.out")"
grep -l "AddressSanitizer\|runtime error\|LeakSanitizer" "$CL_DIR"/n*.log &&
	fail "a sanitizer spoke"
echo "PASS: lease_keys"
