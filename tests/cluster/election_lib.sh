# tests/cluster/election_lib.sh: what the election tests share, on top of
# lock_lib.sh (a 3-node cluster with short timeouts, lk_wait_*, lk_bg).
#   el_wait_line F ERE   until file F has a line matching ERE (CL_WAIT_S)
#   el_leader NAME       `coordctl elect --leader NAME`'s line
#   el_wait_candidates NAME N  until N candidates queue behind the leader
#   el_check FILE REF    the observer checker: FILE (an observer's lines,
#                        `elect --observe`) is exactly REF's changes, once
#                        each and in order (no gap, no duplicate), with
#                        revisions rising and tokens never falling (a new
#                        leader's above every earlier one); prints the
#                        first violation and returns 1, else 0.
# shellcheck source=tests/cluster/lock_lib.sh
. "$(dirname "$0")/lock_lib.sh"

el_wait_line() {
	dl=$(cl_deadline "$CL_WAIT_S")
	until grep -Eq "$2" "$1" 2>/dev/null; do
		[ "$(date +%s)" -lt "$dl" ] ||
			fail "no line /$2/ in $1 within $CL_WAIT_S s: $(cat "$1" 2>&1)"
		sleep 0.05
	done
}

el_leader() {
	cl_ctl elect --leader "$1"
}

el_wait_candidates() {
	dl=$(cl_deadline "$CL_WAIT_S")
	until el_leader "$1" | grep -q " candidates $2 "; do
		[ "$(date +%s)" -lt "$dl" ] ||
			fail "not $2 candidate(s) on $1: $(el_leader "$1" 2>&1)"
		sleep 0.05
	done
}

el_check() {
	awk -v ref="$2" '
	function parse(line, a,   n, f, i) {
		n = split(line, f, " ")
		a["rev"] = ""; a["tok"] = ""; a["sess"] = 0
		for (i = 1; i < n; i++) {
			if (f[i] == "revision") a["rev"] = f[i + 1] + 0
			if (f[i] == "token") a["tok"] = f[i + 1] + 0
			if (f[i] == "session") a["sess"] = f[i + 1] + 0
		}
	}
	BEGIN {
		while ((getline l < ref) > 0)
			if (l ~ /^(leader|no leader) /) want[++nw] = l
	}
	/^(leader|no leader) / {
		n++
		if (n > nw) { print "change " n " is extra (a duplicate?): " $0; bad = 1; exit 1 }
		if ($0 != want[n]) { print "change " n " is \"" $0 "\", the history has \"" want[n] "\" (a gap or a duplicate)"; bad = 1; exit 1 }
		parse($0, c)
		if (n > 1 && c["rev"] <= lastrev) { print "revision " c["rev"] " after " lastrev; bad = 1; exit 1 }
		if (c["tok"] < maxtok) { print "token " c["tok"] " after " maxtok " (decreasing)"; bad = 1; exit 1 }
		if (c["sess"] != 0 && (c["sess"] != lastsess || c["tok"] != lasttok) && c["tok"] <= maxtok && n > 1 && lastsess != c["sess"]) {
			print "a new leader with token " c["tok"] ", not above " maxtok; bad = 1; exit 1
		}
		lastrev = c["rev"]; lastsess = c["sess"]; lasttok = c["tok"]
		if (c["tok"] > maxtok) maxtok = c["tok"]
	}
	END {
		if (bad) exit 1
		if (n < nw) { print "only " n " of " nw " changes (a gap at the end)"; exit 1 }
	}' "$1"
}
