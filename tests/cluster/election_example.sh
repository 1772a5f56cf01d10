#!/bin/bash
# tests/cluster/election_example.sh: the C program of docs/recipes.md
# ("Leader election for a service", tests/cluster/election_example.c):
# the first instance leads and its fenced put applies; the second waits;
# SIGTERM to the first resigns (exit 0) and the second leads with a
# larger token and writes; stopping every node puts the second in
# jeopardy (it stops, resigns, exits 1).
# shellcheck source=tests/cluster/election_lib.sh
. "$(dirname "$0")/election_lib.sh"
cl_init election_example
EX=$top_builddir/tests/cluster/election_example
[ -x "$EX" ] || fail "no $EX"
lk_start
D=$CL_DIR
"$EX" "$(cl_endpoints)" web host-a >"$D/a.out" 2>&1 &
A=$!
lk_bg "$A"
el_wait_line "$D/a.out" '^put COORD_OK$'
tok_a=$(awk '/^leader token/ {print $3}' "$D/a.out")
"$EX" "$(cl_endpoints)" web host-b >"$D/b.out" 2>&1 &
B=$!
lk_bg "$B"
el_wait_candidates web 1
[ "$(cl_ctl get web/owner | sed -n 2p)" = host-a ] || fail "web/owner: $(cl_ctl get web/owner)"
kill -TERM "$A"
lk_wait_exit "$A"
[ "$LK_STATUS" -eq 0 ] || fail "A exited $LK_STATUS: $(cat "$D/a.out")"
grep -q '^resigned COORD_OK$' "$D/a.out" || fail "A: $(cat "$D/a.out")"
el_wait_line "$D/b.out" '^put COORD_OK$'
tok_b=$(awk '/^leader token/ {print $3}' "$D/b.out")
[ "$tok_b" -gt "$tok_a" ] || fail "B's token $tok_b is not above A's $tok_a"
[ "$(cl_ctl get web/owner | sed -n 2p)" = host-b ] || fail "web/owner: $(cl_ctl get web/owner)"
for i in 1 2 3; do kill -STOP "$(cl_pid "$i")"; done
el_wait_line "$D/b.out" '^jeopardy$'
for i in 1 2 3; do kill -CONT "$(cl_pid "$i")"; done
lk_wait_exit "$B"
[ "$LK_STATUS" -eq 1 ] || fail "B exited $LK_STATUS: $(cat "$D/b.out")"
echo "election_example: $tok_a then $tok_b; jeopardy stopped the second"
