# tests/cluster/lib.sh: helpers of the multi-process cluster tests. Each
# test sources it, starts coordd processes on loopback ports of its own
# (a base derived from its pid, so parallel tests do not collide), and
# everything it started is killed by pid on exit, whatever happens.
#
#   cl_init NAME            a scratch dir, ports, the exit trap
#   cl_start N [FLAGS...]   N nodes n1..nN, flags added to every coordd
#   cl_node_start I [FLAGS] (re)starts node nI with the flags of cl_start
#                           (and FLAGS); --initial-cluster names n1..nCL_N
#   cl_kill I [SIG]         signal node nI (default KILL), wait for it;
#                           its exit status in CL_STATUS
#   cl_ctl ARGS...          coordctl against every node
#   cl_ctl_node I ARGS...   coordctl against node nI only
#   cl_leader               the index of the leader (waits up to
#                           CL_WAIT_S, default 60 s: room for slow fsyncs)
#   cl_wait_converged       every running node at one applied index with
#                           one state hash (waits up to CL_WAIT_S)
#   cl_wait_log I ERE       until node nI's log has a line matching ERE
#                           (grep -E), up to CL_WAIT_S; fails otherwise
#   cl_http I PATH          GET PATH from node nI's HTTP listener
#   fail MSG                print and exit 1
#   cl_tls_ca DIR NAME      a self-signed EC P-256 CA: DIR/NAME.{key,crt}
#   cl_tls_cert DIR CA NAME CN [SAN]  a certificate signed by DIR/CA for
#                           TLS server and client use, SAN (default
#                           IP:127.0.0.1,DNS:localhost): DIR/NAME.{key,crt}
# Hooks (optional; empty by default):
#   CL_CTL_FLAGS            global flags added to every coordctl call of
#                           cl_ctl, cl_ctl_node, cl_status_of and so
#                           cl_leader (e.g. --cacert/--cert/--key for TLS)
#   cl_node_flags I         a function the test may define: its output is
#                           added to node nI's flags (per-node certificates)
# The tests are bash scripts (for /dev/tcp).
set -u

top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
COORDD=$top_builddir/coordd/coordd
COORDCTL=$top_builddir/tools/coordctl
CL_N=0
CL_FLAGS=""
CL_CTL_FLAGS=${CL_CTL_FLAGS:-}
# Deadlines of the waits: long, since a busy machine's fsync may take
# seconds; a test that passes waits only as long as its event takes.
CL_WAIT_S=${CL_WAIT_S:-60}

fail() {
	echo "FAIL: $*" >&2
	for f in "$CL_DIR"/n*.log; do
		[ -f "$f" ] || continue
		echo "---- last lines of $f" >&2
		tail -20 "$f" >&2
	done
	# Once more at the end: CI shows a failed test's last lines only.
	echo "FAIL (again, after the nodes' logs): $*" >&2
	exit 1
}

# TERM first, so that the nodes stop gracefully (exit 0: coverage builds
# write their counters then); KILL what is still running after 8 s.
cl_cleanup() {
	pids=""
	for f in "$CL_DIR"/n*.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		kill -TERM "$pid" 2>/dev/null && pids="$pids $pid"
	done
	j=0
	for pid in $pids; do
		while kill -0 "$pid" 2>/dev/null && [ $j -lt 160 ]; do
			sleep 0.05
			j=$((j + 1))
		done
	done
	for pid in $pids; do
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	[ -n "${CL_KEEP:-}" ] || rm -rf "$CL_DIR"
	[ -z "${CL_PORT_SLOT:-}" ] || rm -rf "$CL_PORT_SLOT"
}

# 40 ports per test, in 10000..29999: below Linux's ephemeral range
# (32768..60999), where outgoing connections take their ports. The slot
# (of 500) starts from the pid, and is claimed with an atomic mkdir, so
# two tests running at once never share ports (two pids equal modulo 500
# used to, now and then: "Address already in use"). A slot whose owner
# died before its cleanup is taken over.
cl_claim_ports() {
	local d=${TMPDIR:-/tmp}/coord-test-ports s n=0 p

	mkdir -p "$d"
	s=$(( $$ % 500 ))
	while [ $n -lt 1000 ]; do
		n=$((n + 1))
		if mkdir "$d/$s" 2>/dev/null; then
			echo $$ >"$d/$s/pid"
			CL_PORT_SLOT="$d/$s"
			CL_BASE=$(( 10000 + s * 40 ))
			return 0
		fi
		p=$(cat "$d/$s/pid" 2>/dev/null || true)
		if [ -n "$p" ] && ! kill -0 "$p" 2>/dev/null; then
			rm -rf "$d/$s"
			continue
		fi
		s=$(( (s + 1) % 500 ))
	done
	echo "FAIL: no free port slot in $d" >&2
	exit 1
}

cl_init() {
	CL_DIR=$(mktemp -d "${TMPDIR:-/tmp}/coord-$1.XXXXXX")
	CL_PORT_SLOT=""
	trap cl_cleanup EXIT
	cl_claim_ports
	trap 'exit 1' INT TERM
	[ -x "$COORDD" ] || fail "no $COORDD"
	[ -x "$COORDCTL" ] || fail "no $COORDCTL"
}

cl_port() { # I KIND(0 client, 1 peer, 2 http)
	echo $(( CL_BASE + ($1 - 1) * 3 + $2 ))
}

cl_cluster() {
	s=""
	for i in $(seq 1 "$CL_N"); do
		s="$s${s:+,}n$i=127.0.0.1:$(cl_port "$i" 1)"
	done
	echo "$s"
}

cl_endpoints() {
	s=""
	for i in $(seq 1 "$CL_N"); do
		s="$s${s:+,}127.0.0.1:$(cl_port "$i" 0)"
	done
	echo "$s"
}

cl_node_start() { # I [EXTRA FLAGS...]
	i=$1
	shift
	# shellcheck disable=SC2086
	"$COORDD" --name "n$i" --data-dir "$CL_DIR/n$i.data" \
		--client-addr "127.0.0.1:$(cl_port "$i" 0)" \
		--peer-addr "127.0.0.1:$(cl_port "$i" 1)" \
		--http-addr "127.0.0.1:$(cl_port "$i" 2)" \
		--initial-cluster "$(cl_cluster)" $CL_FLAGS $(cl_node_flags_ "$i") "$@" \
		>>"$CL_DIR/n$i.log" 2>&1 &
	echo $! >"$CL_DIR/n$i.pid"
}

# The output of the test's cl_node_flags, if it defines one.
cl_node_flags_() {
	if declare -F cl_node_flags >/dev/null; then
		cl_node_flags "$1"
	fi
}

cl_start() {
	CL_N=$1
	shift
	CL_FLAGS="$*"
	for i in $(seq 1 "$CL_N"); do
		cl_node_start "$i"
	done
	cl_leader >/dev/null
}

cl_pid() {
	cat "$CL_DIR/n$1.pid"
}

cl_running() {
	[ -f "$CL_DIR/n$1.pid" ] && kill -0 "$(cl_pid "$1")" 2>/dev/null
}

cl_kill() {
	sig=${2:-KILL}
	pid=$(cl_pid "$1")
	kill "-$sig" "$pid" 2>/dev/null || true
	j=0
	# A graceful stop syncs: 30 s of room on a slow disk.
	while kill -0 "$pid" 2>/dev/null && [ $j -lt 600 ]; do
		sleep 0.05
		j=$((j + 1))
	done
	kill -0 "$pid" 2>/dev/null && fail "n$1 (pid $pid) did not exit"
	wait "$pid" 2>/dev/null
	CL_STATUS=$?
	rm -f "$CL_DIR/n$1.pid"
}

cl_ctl() {
	# shellcheck disable=SC2086
	"$COORDCTL" --endpoints "$(cl_endpoints)" --timeout-ms "${CL_TIMEOUT_MS:-10000}" $CL_CTL_FLAGS "$@"
}

cl_ctl_node() {
	i=$1
	shift
	# shellcheck disable=SC2086
	"$COORDCTL" --endpoints "127.0.0.1:$(cl_port "$i" 0)" --timeout-ms "${CL_TIMEOUT_MS:-10000}" $CL_CTL_FLAGS "$@"
}

# Prints "index leader_id node_id applied hash" of node I, or nothing.
cl_status_of() {
	# shellcheck disable=SC2086
	"$COORDCTL" --endpoints "127.0.0.1:$(cl_port "$1" 0)" --timeout-ms 1000 \
		$CL_CTL_FLAGS --json status 2>/dev/null |
		sed -n 's/.*"id":"\([0-9a-f]*\)".*"leader":"\([0-9a-f]*\)".*"applied_index":\([0-9]*\).*"state_hash":"\([0-9a-f]*\)".*/\1 \2 \3 \4/p'
}

# Wall-clock deadlines: a status call that fails can itself take a while.
cl_deadline() { # SECONDS -> the deadline in epoch seconds
	echo $(( $(date +%s) + $1 ))
}

cl_leader() {
	dl=$(cl_deadline "$CL_WAIT_S")
	while [ "$(date +%s)" -lt "$dl" ]; do
		for i in $(seq 1 "$CL_N"); do
			cl_running "$i" || continue
			set -- $(cl_status_of "$i")
			if [ $# -eq 4 ] && [ "$1" = "$2" ]; then
				echo "$i"
				return 0
			fi
		done
		sleep 0.05
	done
	fail "no leader within $CL_WAIT_S s"
}

cl_wait_converged() {
	dl=$(cl_deadline "$CL_WAIT_S")
	while [ "$(date +%s)" -lt "$dl" ]; do
		seen=""
		ok=1
		for i in $(seq 1 "$CL_N"); do
			cl_running "$i" || continue
			set -- $(cl_status_of "$i")
			[ $# -eq 4 ] || { ok=0; break; }
			if [ -z "$seen" ]; then
				seen="$3 $4"
			elif [ "$seen" != "$3 $4" ]; then
				ok=0
				break
			fi
		done
		[ $ok -eq 1 ] && [ -n "$seen" ] && { echo "$seen"; return 0; }
		sleep 0.05
	done
	for i in $(seq 1 "$CL_N"); do
		cl_running "$i" && echo "n$i: id leader applied hash: $(cl_status_of "$i")" >&2
	done
	fail "nodes did not converge within $CL_WAIT_S s"
}

cl_wait_log() { # I ERE
	dl=$(cl_deadline "$CL_WAIT_S")
	until grep -Eq "$2" "$CL_DIR/n$1.log"; do
		[ "$(date +%s)" -lt "$dl" ] || return 1
		sleep 0.05
	done
}

cl_http() {
	exec 3<>"/dev/tcp/127.0.0.1/$(cl_port "$1" 2)" || return 1
	printf 'GET %s HTTP/1.0\r\n\r\n' "$2" >&3
	cat <&3
	exec 3<&-
}

cl_tls_ca() {
	mkdir -p "$1"
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		-nodes -keyout "$1/$2.key" -out "$1/$2.crt" -days 2 \
		-subj "/CN=coord test $2" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		>/dev/null 2>&1 || fail "openssl: CA $2"
}

cl_tls_cert() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1/$3.key" -out "$1/$3.csr" -subj "/CN=$4" \
		>/dev/null 2>&1 || fail "openssl: request $3"
	printf '%s\n' "basicConstraints=CA:FALSE" \
		"keyUsage=critical,digitalSignature" \
		"extendedKeyUsage=serverAuth,clientAuth" \
		"subjectAltName=${5:-IP:127.0.0.1,DNS:localhost}" >"$1/$3.ext"
	openssl x509 -req -in "$1/$3.csr" -CA "$1/$2.crt" -CAkey "$1/$2.key" \
		-CAcreateserial -out "$1/$3.crt" -days 2 -extfile "$1/$3.ext" \
		>/dev/null 2>&1 || fail "openssl: sign $3"
}

# cl_good_start [I]: a well-behaved client in the background until
# cl_good_stop: each round a put and a linearizable get of its value,
# through node nI (default: every endpoint). Failures go to
# $CL_DIR/good.err, the rounds done to $CL_DIR/good.n. cl_good_check MIN
# fails unless good.err is empty and at least MIN rounds were done.
cl_good_start() {
	: >"$CL_DIR/good.err"
	echo 0 >"$CL_DIR/good.n"
	rm -f "$CL_DIR/good.stop"
	cl_good_loop_ "${1:-}" &
	CL_GOOD_PID=$!
}

cl_good_ctl_() { # I|"" ARGS...
	node=$1
	shift
	if [ -n "$node" ]; then cl_ctl_node "$node" "$@"; else cl_ctl "$@"; fi
}

cl_good_loop_() {
	n=0
	while [ ! -e "$CL_DIR/good.stop" ]; do
		n=$((n + 1))
		# A busy node may take seconds to answer a HELLO: the whole
		# request budget for the dial too. 30 s: under the
		# sanitizers on a loaded machine, a HELLO queued behind
		# budget.sh's 2,000 attacking connections once waited more
		# than 10 s.
		if ! CL_TIMEOUT_MS=30000 CL_CTL_FLAGS="$CL_CTL_FLAGS --dial-timeout-ms 30000" \
			cl_good_ctl_ "$1" put "good/$n" "$n" >/dev/null 2>>"$CL_DIR/good.err"; then
			echo "put good/$n failed" >>"$CL_DIR/good.err"
		else
			v=$(CL_TIMEOUT_MS=30000 CL_CTL_FLAGS="$CL_CTL_FLAGS --dial-timeout-ms 30000" \
				cl_good_ctl_ "$1" get "good/$n" 2>>"$CL_DIR/good.err" | sed -n 2p)
			[ "$v" = "$n" ] || echo "get good/$n gave '$v'" >>"$CL_DIR/good.err"
		fi
		echo "$n" >"$CL_DIR/good.n"
		sleep 0.05
	done
}

# cl_good_wait MIN: until the client has done MIN rounds (at most
# CL_WAIT_S: cl_good_check then says how many it did).
cl_good_wait() {
	local dl
	dl=$(cl_deadline "$CL_WAIT_S")
	while [ "$(cat "$CL_DIR/good.n")" -lt "$1" ] && [ "$(date +%s)" -lt "$dl" ]; do
		sleep 0.1
	done
}

cl_good_stop() {
	[ -n "${CL_GOOD_PID:-}" ] || return 0
	touch "$CL_DIR/good.stop"
	wait "$CL_GOOD_PID" 2>/dev/null
	CL_GOOD_PID=""
}

cl_good_check() {
	[ -s "$CL_DIR/good.err" ] && fail "the well-behaved client failed: $(head -5 "$CL_DIR/good.err")"
	[ "$(cat "$CL_DIR/good.n")" -ge "$1" ] || fail "the well-behaved client made only $(cat "$CL_DIR/good.n") rounds"
}
