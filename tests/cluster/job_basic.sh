#!/bin/bash
# tests/cluster/job_basic.sh: coordctl job on a 3-node cluster.
# - enqueue returns the id; a unique key already kept returns that id
#   ("existed") and adds nothing;
# - claim (FIFO) prints the claim; bad input gets named errors and
#   changes nothing (both jobs and the queue read the same before and
#   after -- not the revision: the keepalives of the session that each
#   refused coordctl attaches move it): a wrong token
#   (COORD_ESTALECLAIM), a complete of an unclaimed job (COORD_EJOBSTATE),
#   an unknown job or queue (COORD_ENOJOB), an oversized payload
#   (COORD_EVALUETOOBIG); the right token completes it (inspect: done,
#   with the result);
# - a claim whose session ends goes back to the head with one attempt
#   more (the claim's coordctl exits leaving its 1 s session to expire);
# - job worker: exit 0 completes with CMD's stdout (COORD_FENCING_TOKEN
#   and the payload reach CMD), a failing CMD fails the job until its max
#   attempts move it to the dead list;
# - claim --wait --timeout gives up with COORD_ETIMEDOUT.
# shellcheck source=tests/cluster/lock_lib.sh
. "$(dirname "$0")/lock_lib.sh"
cl_init job_basic
lk_start
D=$CL_DIR
field() { sed -n "s/.*\"$1\":\"\{0,1\}\([0-9a-z]*\).*/\1/p"; }
state() {
	cl_ctl --json job inspect q "$a"
	cl_ctl --json job inspect q "$b"
	cl_ctl --json job list q --state pending
}

a=$(cl_ctl job enqueue q pa) || fail "enqueue"
b=$(cl_ctl job enqueue q pb --unique kb) || fail "enqueue --unique"
again=$(cl_ctl job enqueue q other --unique kb) || fail "enqueue again"
[ "$again" = "$b (existed)" ] || fail "a kept unique key gave '$again', not '$b (existed)'"
cl_ctl job list q | grep -q "2 pending, 0 claimed" || fail "list: $(cl_ctl job list q)"

cl_ctl --json job claim q --ttl 30 >"$D/c1" || fail "claim"
[ "$(field job <"$D/c1")" = "$a" ] || fail "the first claim is not job $a: $(cat "$D/c1")"
grep -q '"payload":"pa"' "$D/c1" || fail "payload: $(cat "$D/c1")"
tok=$(field token <"$D/c1") sess=$(field session <"$D/c1") sec=$(field secret <"$D/c1")

s0=$(state)
expect_err() { # CODE ARGS...
	code=$1
	shift
	if cl_ctl "$@" >"$D/err" 2>&1; then
		fail "'$*' succeeded"
	fi
	grep -q "\[$code\]" "$D/err" || fail "'$*': not $code: $(cat "$D/err")"
}
S=(--session "$sess" --secret "$sec")
expect_err COORD_ESTALECLAIM job complete q "$a" $((tok + 1)) "${S[@]}"
expect_err COORD_EJOBSTATE job complete q "$b" "$tok" "${S[@]}"
expect_err COORD_ENOJOB job complete q 999999 "$tok" "${S[@]}"
expect_err COORD_ENOJOB job complete nosuchqueue "$a" "$tok" "${S[@]}"
expect_err COORD_ENOJOB job inspect nosuchqueue "$a"
expect_err COORD_ESTALECLAIM job fail q "$a" $((tok + 1)) "${S[@]}"
head -c 65537 /dev/zero | tr '\0' x >"$D/big"
expect_err COORD_EVALUETOOBIG job enqueue q - <"$D/big"
[ "$(state)" = "$s0" ] || fail "a refused request changed the queue: $s0 -> $(state)"
cl_ctl job list q | grep -q "1 pending, 1 claimed" || fail "list: $(cl_ctl job list q)"

cl_ctl job complete q "$a" "$tok" "${S[@]}" --result ra >/dev/null || fail "complete"
cl_ctl --json job inspect q "$a" | grep -q '"state":"done".*"result":"ra"' ||
	fail "inspect: $(cl_ctl --json job inspect q "$a")"

# b's claim ends with its session (1 s TTL): back to pending, 1 attempt.
cl_ctl --json job claim q --ttl 1 >"$D/c2" || fail "claim b"
[ "$(field job <"$D/c2")" = "$b" ] || fail "claimed $(cat "$D/c2"), not $b"
dl=$(cl_deadline "$CL_WAIT_S")
until cl_ctl --json job inspect q "$b" | grep -q '"state":"pending","attempts":1'; do
	[ "$(date +%s)" -lt "$dl" ] || fail "b not back: $(cl_ctl --json job inspect q "$b")"
	sleep 0.1
done

# A worker completes b with its CMD's stdout, the claim token in its env.
cl_ctl job worker q --until-empty -- sh -c 'read -r p; echo "$p:$COORD_FENCING_TOKEN:$COORD_JOB_ID"' >"$D/w1" ||
	fail "worker: $(cat "$D/w1")"
grep -q "^job $b token [0-9]* completed$" "$D/w1" || fail "worker: $(cat "$D/w1")"
wtok=$(sed -n "s/^job $b token \([0-9]*\) completed$/\1/p" "$D/w1")
cl_ctl --json job inspect q "$b" | grep -q "\"result\":\"pb:$wtok:$b\\\\u000a\"" ||
	fail "result: $(cl_ctl --json job inspect q "$b")"

# A failing CMD: the job fails twice, then is dead (max 2 attempts).
d=$(cl_ctl job enqueue q pd --max-attempts 2) || fail "enqueue d"
cl_ctl job worker q --until-empty -- sh -c 'exit 3' >"$D/w2" 2>&1 || fail "worker 2: $(cat "$D/w2")"
grep -q "^job $d token [0-9]* failed (exit 3)$" "$D/w2" || fail "worker 2: $(cat "$D/w2")"
grep -q "^job $d token [0-9]* dead (exit 3)$" "$D/w2" || fail "worker 2: $(cat "$D/w2")"
cl_ctl job list q --state dead | grep -q "job $d dead attempts 2" ||
	fail "dead list: $(cl_ctl job list q --state dead)"

expect_err COORD_ETIMEDOUT job claim q --wait --timeout 0.3
expect_err COORD_ENOJOBS job claim q
echo "PASS: job_basic"
