/*
 * tools/bench_election.c: coord-bench election-failover, the time from
 * killing the leader's client to the next leader's campaign returning
 * (issue 9's target: within TTL + 100 ms).
 *
 *   election-failover [--endpoints E] [--rounds N (5)]
 *                     [--holder-ttl-ms MS (2000)] [--label L]
 *       Each round: a holder process (coord-bench election-holder)
 *       campaigns with a session of TTL --holder-ttl-ms and, elected,
 *       keeps its session alive; a candidate (a thread, its own session
 *       and client) campaigns and queues (seen in ELECTION_LEADER's
 *       candidates); after a TTL and a random part of a keepalive period
 *       the holder is SIGKILLed (a crash: no resign, no close). from_kill_ms
 *       is the time from the kill to the candidate's campaign returning
 *       elected; minus_ttl_ms = from_kill_ms - TTL. One ROUND line per
 *       round, then a RESULT line with the medians.
 *   election-holder --endpoints E --holder-ttl-ms MS --election NAME
 *       The holder: prints "ELECTED <token> <session>" and keeps alive.
 *   election-churn [--endpoints E] [--rounds N (4000)] [--label L]
 *       One client; each round a new session campaigns (elected at once,
 *       no one else runs), resigns and closes -- the records an election
 *       and a session leave behind. RESULT: the time of a round over the
 *       first and over the last tenth of the rounds, and growth = last /
 *       first. A cost that grows with the rounds before it (a scan that
 *       steps over what they deleted) shows as growth well above 1.
 */
#include "tools/bench_election.h"
#include "tools/bench_util.h"
#include "libcoord/coord.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EB_ROUNDS_MAX 256
#define EB_WAIT_MS 30000            /* for the candidate to queue */

struct eb_opts {
	const char *endpoints;
	int rounds;
	unsigned ttl_ms;
	const char *label;
	const char *election;       /* election-holder */
};

static int eb_client(const struct eb_opts *o, unsigned timeout_ms,
		     struct coord_client **out)
{
	struct coord_options co;
	int rc;

	memset(&co, 0, sizeof(co));
	co.request_timeout_ms = timeout_ms;
	co.name = "coord-bench";
	rc = coord_client_new(o->endpoints, &co, out);
	if (rc != COORD_OK)
		fprintf(stderr, "coord-bench: client: %s (%s)\n",
			coord_strerror(rc), coord_errmsg(*out));
	return rc;
}

static int run_holder(const struct eb_opts *o)
{
	struct coord_client *c;
	struct coord_session *s;
	struct coord_election *e;
	int rc = eb_client(o, 5000, &c);

	if (rc != COORD_OK)
		return 1;
	rc = coord_session_open(c, o->ttl_ms, &s);
	if (rc == COORD_OK)
		rc = coord_election_campaign(s, o->election,
					     strlen(o->election), "holder", 6,
					     0, &e);
	if (rc != COORD_OK) {
		fprintf(stderr, "coord-bench election-holder: %s (%s)\n",
			coord_strerror(rc), coord_errmsg(c));
		coord_client_free(c);
		return 1;
	}
	printf("ELECTED %" PRIu64 " %" PRIu64 "\n", coord_election_token(e),
	       coord_session_id(s));
	fflush(stdout);
	/* Keepalives run inside the loop; the parent kills this process. */
	while (coord_session_state(s) != COORD_SESSION_LOST)
		coord_client_run(c, 1000);
	coord_client_free(c);
	return 1;
}

struct candidate {
	const struct eb_opts *o;
	const char *election;
	int rc;
	uint64_t token;
	uint64_t elected_ns;
	char err[256];
};

static void *candidate_main(void *arg)
{
	struct candidate *x = arg;
	struct coord_client *c;
	struct coord_session *s = NULL;
	struct coord_election *e = NULL;

	x->rc = eb_client(x->o, 5000, &c);
	if (x->rc != COORD_OK)
		return NULL;
	x->rc = coord_session_open(c, 10000, &s);
	if (x->rc == COORD_OK)
		x->rc = coord_election_campaign(
			s, x->election, strlen(x->election), "next", 4,
			x->o->ttl_ms + 2 * EB_WAIT_MS, &e);
	x->elected_ns = bench_mono_ns();
	if (x->rc == COORD_OK) {
		x->token = coord_election_token(e);
		coord_election_resign(e);
	} else {
		snprintf(x->err, sizeof(x->err), "%s (%s)",
			 coord_strerror(x->rc), coord_errmsg(c));
	}
	coord_session_close(s);
	coord_client_free(c);
	return NULL;
}

/* One round; 0, or 1 after printing why it failed. */
static int failover_round(const struct eb_opts *o, const char *prefix, int r,
			  double *from_kill)
{
	char name[160], line[256];
	struct coord_client *q = NULL;
	struct candidate x;
	pthread_t th;
	bool th_started = false;
	uint64_t token = 0, sid = 0, t_kill, deadline;
	FILE *hout = NULL;
	pid_t pid;
	int rc = 1;

	snprintf(name, sizeof(name), "%s/election/%d", prefix, r);
	pid = bench_spawn_holder("election-holder", o->endpoints, o->ttl_ms,
				 "--election", name, &hout);
	if (pid < 0 || hout == NULL) {
		fprintf(stderr, "coord-bench: cannot start the holder\n");
		goto out;
	}
	if (fgets(line, sizeof(line), hout) == NULL ||
	    sscanf(line, "ELECTED %" SCNu64 " %" SCNu64, &token, &sid) != 2) {
		fprintf(stderr, "coord-bench: the holder was not elected\n");
		goto out;
	}
	if (eb_client(o, 5000, &q) != COORD_OK)
		goto out;
	memset(&x, 0, sizeof(x));
	x.o = o;
	x.election = name;
	if (pthread_create(&th, NULL, candidate_main, &x) != 0)
		goto out;
	th_started = true;
	deadline = bench_mono_ns() + (uint64_t)EB_WAIT_MS * 1000000u;
	for (;;) {
		struct coord_leader l;
		uint64_t n = 0;

		if (coord_election_leader(q, name, strlen(name), &l) ==
		    COORD_OK) {
			n = l.candidates;
			coord_leader_clear(&l);
		}
		if (n >= 1)
			break;
		if (bench_mono_ns() > deadline) {
			fprintf(stderr, "coord-bench: the candidate never "
				"queued\n");
			goto out;
		}
		bench_sleep_ms(10);
	}
	/* A few keepalives of the holder, then a crash at a random point
	 * of its keepalive period. */
	bench_sleep_ms(o->ttl_ms + (unsigned)(bench_real_ns() % (o->ttl_ms / 3)));
	t_kill = bench_mono_ns();
	kill(pid, SIGKILL);
	pthread_join(th, NULL);
	th_started = false;
	if (x.rc != COORD_OK) {
		fprintf(stderr, "coord-bench: the candidate: %s\n", x.err);
		goto out;
	}
	if (x.token <= token) {
		fprintf(stderr, "coord-bench: token %" PRIu64 " after %" PRIu64
			": not rising\n", x.token, token);
		goto out;
	}
	*from_kill = (double)(x.elected_ns - t_kill) / 1e6;
	printf("ROUND workload=election-failover round=%d ttl_ms=%u"
	       " from_kill_ms=%.1f minus_ttl_ms=%.1f token_before=%" PRIu64
	       " token_after=%" PRIu64 "\n", r, o->ttl_ms, *from_kill,
	       *from_kill - o->ttl_ms, token, x.token);
	fflush(stdout);
	rc = 0;
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (th_started)
		pthread_join(th, NULL);     /* the holder's death elects it */
	if (hout != NULL)
		fclose(hout);
	coord_client_free(q);
	return rc;
}

static int run_failover(const struct eb_opts *o)
{
	double k[EB_ROUNDS_MAX], m[EB_ROUNDS_MAX];
	char la[16], list[EB_ROUNDS_MAX * 12] = "", prefix[96];
	size_t u = 0;
	int n = 0;

	bench_prefix(prefix, sizeof(prefix));
	bench_loadavg1(la, sizeof(la));
	for (int r = 1; r <= o->rounds; r++) {
		if (failover_round(o, prefix, r, &k[n]) != 0)
			return 1;
		u += (size_t)snprintf(list + u, sizeof(list) - u, "%s%.0f",
				      n ? "," : "", k[n]);
		m[n] = k[n] - o->ttl_ms;
		n++;
	}
	printf("RESULT workload=election-failover ttl_ms=%u rounds=%d"
	       " from_kill_ms=%.1f minus_ttl_ms=%.1f from_kill_list=%s"
	       " label=%s loadavg1=%s\n", o->ttl_ms, n,
	       bench_median(k, (size_t)n), bench_median(m, (size_t)n), list,
	       o->label ? o->label : "-", la);
	return 0;
}

/* One churn round: a new session campaigns, resigns, closes. */
static int churn_round(struct coord_client *c, const char *name)
{
	struct coord_session *s;
	struct coord_election *e;
	int rc = coord_session_open(c, 10000, &s);

	if (rc != COORD_OK)
		return rc;
	rc = coord_election_campaign(s, name, strlen(name), "v", 1, 5000, &e);
	if (rc == COORD_OK)
		rc = coord_election_resign(e);
	if (rc == COORD_OK)
		return coord_session_close(s);
	coord_session_close(s);
	return rc;
}

static int run_churn(const struct eb_opts *o)
{
	struct coord_client *c;
	char la[16], prefix[96], name[160];
	int slice = o->rounds >= 10 ? o->rounds / 10 : 1;
	uint64_t t0, first_ns = 0, last_from = 0, end;
	double first, last;

	bench_prefix(prefix, sizeof(prefix));
	snprintf(name, sizeof(name), "%s/election-churn", prefix);
	if (eb_client(o, 5000, &c) != COORD_OK)
		return 1;
	t0 = bench_mono_ns();
	for (int r = 0; r < o->rounds; r++) {
		int rc;

		if (r == o->rounds - slice)
			last_from = bench_mono_ns();
		rc = churn_round(c, name);
		if (rc != COORD_OK) {
			fprintf(stderr, "coord-bench election-churn: round %d: "
				"%s (%s)\n", r + 1, coord_strerror(rc),
				coord_errmsg(c));
			coord_client_free(c);
			return 1;
		}
		if (r == slice - 1)
			first_ns = bench_mono_ns() - t0;
	}
	end = bench_mono_ns();
	coord_client_free(c);
	bench_loadavg1(la, sizeof(la));
	first = (double)first_ns / 1e6 / slice;
	last = (double)(end - last_from) / 1e6 / slice;
	printf("RESULT workload=election-churn rounds=%d round_first_ms=%.3f"
	       " round_last_ms=%.3f growth=%.2f rounds_per_s=%.1f label=%s"
	       " loadavg1=%s\n", o->rounds, first, last, last / first,
	       o->rounds / ((double)(end - t0) / 1e9),
	       o->label ? o->label : "-", la);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: coord-bench election-failover [--endpoints E] "
		"[--rounds N] [--holder-ttl-ms MS] [--label L]\n"
		"       coord-bench election-churn [--endpoints E] "
		"[--rounds N] [--label L]\n");
	exit(2);
}

bool bench_election_has(const char *workload)
{
	return strcmp(workload, "election-failover") == 0 ||
	       strcmp(workload, "election-churn") == 0 ||
	       strcmp(workload, "election-holder") == 0;
}

int bench_election(const char *workload, int argc, char **argv)
{
	bool churn = strcmp(workload, "election-churn") == 0;
	struct eb_opts o = { "127.0.0.1:2479", churn ? 4000 : 5, 2000, NULL,
			     NULL };

	for (int i = 0; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (v == NULL)
			usage();
		if (strcmp(argv[i], "--endpoints") == 0)
			o.endpoints = v;
		else if (strcmp(argv[i], "--rounds") == 0)
			o.rounds = atoi(v);
		else if (strcmp(argv[i], "--holder-ttl-ms") == 0)
			o.ttl_ms = (unsigned)atoi(v);
		else if (strcmp(argv[i], "--label") == 0)
			o.label = v;
		else if (strcmp(argv[i], "--election") == 0)
			o.election = v;
		else
			usage();
		i++;
	}
	if (o.rounds < 1 || (!churn && o.rounds > EB_ROUNDS_MAX) ||
	    o.ttl_ms < 300)
		usage();
	if (churn)
		return run_churn(&o);
	if (strcmp(workload, "election-holder") == 0)
		return o.election != NULL ? run_holder(&o) : (usage(), 2);
	return run_failover(&o);
}
