/*
 * tests/fault/election_workload.c: the election workload of the fault
 * suite (docs/fault-testing.md). Candidate processes campaign for one
 * election "el"; its leader proclaims values and writes, fenced by its
 * token, to coord (the key "elres", COORD_FENCE_ELECTION) and to a
 * resource (fencing/examples/fenced_kv, resource "el": an election's
 * tokens rise strictly, so libcoordfence's rule fits it); observers
 * record every change of the election. check_election.py judges the
 * history.
 *
 *   election_workload ENDPOINTS OUT RESOURCE_PORT [--candidates N]
 *                     [--observers N] [--duration-ms N] [--timeout-ms N]
 *                     [--ttl-ms N] [--pause-pct N] [--seed N]
 *
 * A put "elbegin" before any process starts gives the revision B every
 * observer starts at (coord_election_observe() from B, across
 * reconnects). A candidate (libcoord's synchronous API: keepalives only
 * inside a call): open a session (TTL --ttl-ms) if it has none; campaign
 * with value "p<P>" (at most --timeout-ms); once elected, with
 * probability --pause-pct sleep 1.5 TTL (its session expires on the
 * servers and the next candidate is elected); then 2-4 rounds of: a
 * proclaim "p<P>-<I>", a fenced put of "elres" = "p<P>-t<TOKEN>" through
 * coord_put_fenced() (never refused locally: the servers judge it), a
 * write of the token to the resource, and 50-150 ms of the client's
 * loop; resign.
 *
 * The closer (the last process) campaigns with value "closing" once the
 * duration is over and, elected, proclaims "end" (again until both
 * succeed, at most a minute); it reads the election's changes back from
 * B up to that proclaim (the "final" lines), then resigns. Each observer
 * runs until it has seen a proclaim "end", or two minutes past the
 * duration. Candidates stop campaigning at the end of the duration, but
 * a campaign sent before may be applied after the closer's (a retry on
 * a new connection): the read-back's range ends at the closer's.
 *
 * History: one JSON object a line, {"us": CLOCK_MONOTONIC microseconds,
 * "p": process, "t": "invoke" | "ok" | "fail" | "info", "f": "campaign"
 * (with "session" and, elected, "token") | "proclaim" ("value") | "put"
 * ("rev") | "write" | "resign", "token", "code"}; per change an observer
 * saw {"f": "obs", "p", "session", "token", "rev", "value"} and the
 * read-back {"f": "final", ...} alike; {"f": "obs-end", "p", "code"}
 * when an observation ended on its own (code) or missed the end ("code":
 * "COORD_ETIMEDOUT"); {"f": "begin", "rev": B}. A candidate whose
 * session was lost continues as a new process number.
 *
 * Exit: 0 when the history was written, 1 when the workload could not
 * run (no cluster, no resource, the closer never elected or its
 * read-back short).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libcoord/coord.h"
#include "tests/fault/wl_util.h"

#define PROCS_MAX 32
#define ELECTION "el"
#define RES_KEY "elres"
#define CLOSING_VALUE "closing"
#define END_VALUE "end"
#define END_WAIT_MS 60000

static const char *endpoints;
static unsigned timeout_ms = 5000;
static unsigned duration_ms = 10000;
static unsigned ttl_ms = 2000;
static unsigned pause_pct = 10;
static unsigned n_candidates = 4;
static unsigned n_observers = 2;
static unsigned resource_port;
static unsigned seed = 1;
static uint64_t rng = 1;
static uint64_t begin_rev;
static FILE *out;
static uint64_t end_us;

static void rec(uint64_t p, const char *t, const char *f, uint64_t token,
		uint64_t rev, coord_err_t code)
{
	wl_rec(out, p, t, f, token, rev, code);
}

/* The campaign's and the proclaim's lines: with the session and value. */
static void rec_leader(uint64_t p, const char *t, const char *f,
		       uint64_t session, uint64_t token, const char *value,
		       coord_err_t code)
{
	fprintf(out, "{\"us\":%" PRIu64 ",\"p\":%" PRIu64 ",\"t\":\"%s\","
		"\"f\":\"%s\",\"session\":%" PRIu64 ",\"token\":%" PRIu64
		",\"value\":\"%s\",\"code\":\"%s\"}\n", wl_now_us(), p, t, f,
		session, token, value, coord_error_name(code));
	fflush(out);
}

/* One leadership: rounds of proclaim, fenced put and resource write. */
static void lead(struct coord_client *c, struct coord_election *e,
		 uint64_t p, uint64_t session, int *fd)
{
	uint64_t token = coord_election_token(e);
	struct coord_fence fence = { .lock = ELECTION,
				     .lock_len = strlen(ELECTION),
				     .token = token,
				     .kind = COORD_FENCE_ELECTION };
	unsigned rounds = 2 + (unsigned)(wl_rnd(&rng) % 3);
	char value[64], put[64];
	coord_err_t rc;

	snprintf(put, sizeof(put), "p%" PRIu64 "-t%" PRIu64, p, token);
	for (unsigned i = 0; i < rounds; i++) {
		uint64_t rev = 0;

		snprintf(value, sizeof(value), "p%" PRIu64 "-%u", p, i);
		rec_leader(p, "invoke", "proclaim", session, token, value,
			   COORD_OK);
		rc = coord_election_proclaim(e, value, strlen(value));
		rec_leader(p, rc == COORD_OK ? "ok" : wl_error_type(rc),
			   "proclaim", session, token, value, rc);
		rec(p, "invoke", "put", token, 0, COORD_OK);
		rc = coord_put_fenced(c, &fence, 1, RES_KEY, strlen(RES_KEY),
				      put, strlen(put), &rev);
		rec(p, rc == COORD_OK ? "ok" : wl_error_type(rc), "put", token,
		    rev, rc);
		rec(p, "invoke", "write", token, 0, COORD_OK);
		rc = wl_resource_write(fd, resource_port, ELECTION, token,
				       "res", put);
		rec(p, wl_resource_outcome(rc), "write", token, 0, rc);
		coord_client_run(c, 50 + (unsigned)(wl_rnd(&rng) % 101));
	}
}

static void candidate(unsigned slot)
{
	struct coord_client *c = wl_client(endpoints, timeout_ms,
					   "election-candidate");
	struct coord_session *s = NULL;
	uint64_t p = slot;
	int fd = -1;
	coord_err_t rc;

	rng = seed + slot * 7919u;
	while (wl_now_us() < end_us) {
		struct coord_election *e = NULL;
		char value[32];
		uint64_t id, token;

		if (s == NULL && coord_session_open(c, ttl_ms, &s) != COORD_OK) {
			s = NULL;
			wl_sleep_ms(100);
			continue;
		}
		id = coord_session_id(s);
		snprintf(value, sizeof(value), "p%" PRIu64, p);
		rec_leader(p, "invoke", "campaign", id, 0, value, COORD_OK);
		rc = coord_election_campaign(s, ELECTION, strlen(ELECTION),
					     value, strlen(value), timeout_ms,
					     &e);
		if (rc != COORD_OK) {
			rec_leader(p, wl_error_type(rc), "campaign", id, 0,
				   value, rc);
			goto next;
		}
		rec_leader(p, "ok", "campaign", id, coord_election_token(e),
			   value, COORD_OK);
		if (wl_rnd(&rng) % 100 < pause_pct)
			wl_sleep_ms(ttl_ms * 3 / 2);
		token = coord_election_token(e);
		lead(c, e, p, id, &fd);
		rec(p, "invoke", "resign", token, 0, COORD_OK);
		rc = coord_election_resign(e);
		rec(p, rc == COORD_OK ? "ok" : wl_error_type(rc), "resign",
		    token, 0, rc);
next:
		if (wl_session_retire(&s, rc))
			p += PROCS_MAX;    /* a new process from here on */
	}
	coord_session_close(s);
	coord_client_free(c);
	if (fd >= 0)
		close(fd);
}

struct observation {
	uint64_t p;
	const char *kind;           /* "obs" or "final" */
	uint64_t until_token;       /* final: stop at this leader's "end" */
	bool done;                  /* saw the end (or its observe ended) */
	coord_err_t code;
};

static void observe_cb(void *arg, coord_err_t code,
		       const struct coord_leader *l)
{
	struct observation *o = arg;

	if (code != COORD_OK) {
		o->code = code;
		o->done = true;
		return;
	}
	fprintf(out, "{\"us\":%" PRIu64 ",\"p\":%" PRIu64 ",\"f\":\"%s\","
		"\"session\":%" PRIu64 ",\"token\":%" PRIu64 ",\"rev\":%"
		PRIu64 ",\"value\":\"%.*s\"}\n", wl_now_us(), o->p, o->kind,
		l->session, l->token, l->revision, (int)l->value_len,
		(const char *)l->value);
	fflush(out);
	if (l->session != 0 && l->value_len == strlen(END_VALUE) &&
	    memcmp(l->value, END_VALUE, l->value_len) == 0 &&
	    (o->until_token == 0 || l->token == o->until_token))
		o->done = true;
}

/* Observes the election from begin_rev until o is done or deadline_us:
 * 0 when it was done, else 1 (recorded as an "obs-end" line). */
static int observe(struct coord_client *c, struct observation *o,
		   uint64_t deadline_us)
{
	struct coord_watch *w = NULL;
	coord_err_t rc;

	rc = coord_election_observe(c, ELECTION, strlen(ELECTION), begin_rev,
				    observe_cb, o, &w);
	if (rc != COORD_OK) {
		o->code = rc;
		o->done = true;
	}
	while (!o->done && wl_now_us() < deadline_us)
		coord_client_run(c, 100);
	if (w != NULL && o->code == COORD_OK)
		coord_watch_cancel(c, w);
	if (!o->done || o->code != COORD_OK) {
		fprintf(out, "{\"us\":%" PRIu64 ",\"p\":%" PRIu64 ",\"f\":"
			"\"obs-end\",\"code\":\"%s\"}\n", wl_now_us(), o->p,
			coord_error_name(o->done ? o->code : COORD_ETIMEDOUT));
		fflush(out);
		return 1;
	}
	return 0;
}

static void observer(unsigned slot)
{
	struct coord_client *c = wl_client(endpoints, timeout_ms,
					   "election-observer");
	struct observation o = { .p = slot, .kind = "obs" };

	observe(c, &o, end_us + 2 * END_WAIT_MS * 1000ull);
	coord_client_free(c);
}

/* After the duration: elected with value "end" (no one after it), then
 * the changes read back up to its own, then resigned. */
static void closer(unsigned slot)
{
	struct coord_client *c = wl_client(endpoints, timeout_ms,
					   "election-closer");
	struct observation o = { .p = slot, .kind = "final" };
	uint64_t until = end_us + END_WAIT_MS * 1000ull;
	struct coord_session *s = NULL;
	struct coord_election *e = NULL;
	coord_err_t rc = COORD_ETIMEDOUT;

	while (wl_now_us() < end_us)
		wl_sleep_ms(100);
	while (e == NULL && wl_now_us() < until) {
		if (s == NULL && coord_session_open(c, ttl_ms, &s) != COORD_OK) {
			s = NULL;
			wl_sleep_ms(100);
			continue;
		}
		rec_leader(slot, "invoke", "campaign", coord_session_id(s), 0,
			   CLOSING_VALUE, COORD_OK);
		rc = coord_election_campaign(s, ELECTION, strlen(ELECTION),
					     CLOSING_VALUE,
					     strlen(CLOSING_VALUE), timeout_ms,
					     &e);
		rec_leader(slot, rc == COORD_OK ? "ok" : wl_error_type(rc),
			   "campaign", coord_session_id(s),
			   rc == COORD_OK ? coord_election_token(e) : 0,
			   CLOSING_VALUE, rc);
		if (rc == COORD_OK) {
			/* "end" only ever comes from an elected closer. */
			rec_leader(slot, "invoke", "proclaim",
				   coord_session_id(s),
				   coord_election_token(e), END_VALUE, COORD_OK);
			rc = coord_election_proclaim(e, END_VALUE,
						     strlen(END_VALUE));
			rec_leader(slot, rc == COORD_OK ? "ok"
							: wl_error_type(rc),
				   "proclaim", coord_session_id(s),
				   coord_election_token(e), END_VALUE, rc);
			if (rc != COORD_OK) {
				coord_election_resign(e);
				e = NULL;
			}
		}
		if (rc != COORD_OK && wl_session_retire(&s, rc))
			slot += PROCS_MAX;
	}
	if (e == NULL) {
		fprintf(stderr, "election_workload: the closer was never "
			"elected: %s\n", coord_strerror(rc));
		exit(1);
	}
	o.p = slot;
	o.until_token = coord_election_token(e);
	if (observe(c, &o, wl_now_us() + END_WAIT_MS * 1000ull) != 0) {
		fprintf(stderr, "election_workload: the read-back did not "
			"reach the closer's leadership: %s\n",
			coord_strerror(o.code));
		exit(1);
	}
	coord_election_resign(e);
	coord_session_close(s);
	coord_client_free(c);
}

static void process_main(unsigned i)
{
	if (i < n_observers)
		observer(i);
	else if (i < n_observers + n_candidates)
		candidate(i);
	else
		closer(i);
}

static void usage(void)
{
	fprintf(stderr, "usage: election_workload ENDPOINTS OUT "
		"RESOURCE_PORT [--candidates N] [--observers N] "
		"[--duration-ms N] [--timeout-ms N] [--ttl-ms N] "
		"[--pause-pct N] [--seed N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const struct wl_opt opts[] = {
		{ "--candidates", &n_candidates, 1, PROCS_MAX / 2 },
		{ "--observers", &n_observers, 1, PROCS_MAX / 2 - 1 },
		{ "--duration-ms", &duration_ms, 1, 3600000 },
		{ "--timeout-ms", &timeout_ms, 100, 600000 },
		{ "--ttl-ms", &ttl_ms, 100, 600000 },
		{ "--pause-pct", &pause_pct, 0, 100 },
		{ "--seed", &seed, 1, 4000000000u },
	};
	struct coord_client *c;
	int rc;

	if (argc < 4)
		usage();
	endpoints = argv[1];
	resource_port = wl_arg_uint("election_workload", argv[3], 1, 65535);
	wl_parse_opts(argv[0], argc, argv, 4, opts,
		      sizeof(opts) / sizeof(opts[0]), usage);
	c = wl_client(endpoints, timeout_ms, "election-marker");
	begin_rev = wl_put_retry(c, "elbegin", "b", END_WAIT_MS);
	coord_client_free(c);
	if (begin_rev == 0) {
		fprintf(stderr, "election_workload: the begin marker was never "
			"acknowledged\n");
		return 1;
	}
	end_us = wl_now_us() + (uint64_t)duration_ms * 1000u;
	rc = wl_run_clients(n_observers + n_candidates + 1, argv[2], &out,
			    process_main);
	out = fopen(argv[2], "a");
	if (out == NULL) {
		perror(argv[2]);
		return 1;
	}
	fprintf(out, "{\"us\":0,\"p\":0,\"f\":\"begin\",\"rev\":%" PRIu64
		"}\n", begin_rev);
	return fclose(out) != 0 || rc != 0;
}
