/*
 * tests/fault/sem_workload.c: the semaphore workload of the fault suite
 * (docs/fault-testing.md). N client processes share one semaphore "sm"
 * of --permits permits and one resource guarded by it: the key "sres",
 * written with coord's fenced puts of kind semaphore (COORD_FENCE_SEM),
 * which the servers apply only while the permit is held. check_sem.py
 * judges the history.
 *
 *   sem_workload ENDPOINTS OUT [--clients N] [--permits N]
 *                [--duration-ms N] [--timeout-ms N] [--ttl-ms N]
 *                [--pause-pct N] [--seed N]
 *
 * Not fencing/examples/fenced_kv: libcoordfence admits a token when it is
 * at least the highest it saw, which fits a lock, not N holders whose
 * tokens interleave (docs/locks-and-fencing.md, "Semaphores"). The
 * resource's own acceptance log is then the key's history: every put the
 * servers accepted, at its revision.
 *
 * Each client is a process of its own with libcoord's synchronous API
 * (its session is kept alive only while it is inside a call). A cycle:
 * open a session (TTL --ttl-ms) if it has none; acquire a permit (wait,
 * at most --timeout-ms); with probability --pause-pct sleep 1.5 TTL (its
 * session expires on the servers and its permit goes to the next
 * waiter); 2-4 fenced puts of "sres" = "p<P>-t<TOKEN>" through
 * coord_put_fenced() (never refused locally: the servers judge them),
 * running the client's loop 50-150 ms between them; release.
 *
 * Before the clients start, a put "sres" = "begin" (revision B); after
 * they all stopped, a put "sres" = "end" retried until acknowledged
 * (revision E), then a watch of "sres" from B reads every accepted write
 * back up to E, into the history.
 *
 * History: one JSON object a line, {"us": CLOCK_MONOTONIC microseconds,
 * "p": process (clients from 1), "t": "invoke" | "ok" | "fail" | "info",
 * "f": "acquire" | "put" | "release", "token", "rev" (a put's revision),
 * "code"}; a line {"f": "config", "permits": N, "begin": B}; the
 * read-back {"f": "log", "rev", "value"} per write of "sres" in (B, E),
 * and last {"f": "log-end", "rev": E}. A process whose session was lost
 * continues as a new process number.
 *
 * Exit: 0 when the history was written, 1 when the workload could not
 * run (no cluster, a marker never acknowledged, the read-back short).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libcoord/coord.h"
#include "tests/fault/wl_util.h"

#define CLIENTS_MAX 32
#define SEM_NAME "sm"
#define RES_KEY "sres"
#define MARKER_MS 60000
#define READBACK_MS 60000

static const char *endpoints;
static unsigned timeout_ms = 5000;
static unsigned duration_ms = 10000;
static unsigned ttl_ms = 2000;
static unsigned pause_pct = 10;
static unsigned n_clients = 6;
static unsigned permits = 2;
static unsigned seed = 1;
static uint64_t rng = 1;
static FILE *out;
static uint64_t end_us;

static void rec(uint64_t p, const char *t, const char *f, uint64_t token,
		uint64_t rev, coord_err_t code)
{
	wl_rec(out, p, t, f, token, rev, code);
}

static void child(unsigned slot)
{
	struct coord_sem_opts so = { .wait = true, .timeout_ms = timeout_ms };
	struct coord_client *c = wl_client(endpoints, timeout_ms,
					   "sem-workload");
	struct coord_session *s = NULL;
	uint64_t p = slot + 1;
	coord_err_t rc;

	rng = seed + slot * 7919u;
	while (wl_now_us() < end_us) {
		struct coord_fence fence = { .lock = SEM_NAME,
					     .lock_len = strlen(SEM_NAME),
					     .kind = COORD_FENCE_SEM };
		struct coord_lock *l = NULL;
		unsigned puts;
		char value[64];
		uint64_t token;

		if (s == NULL && coord_session_open(c, ttl_ms, &s) != COORD_OK) {
			s = NULL;
			wl_sleep_ms(100);
			continue;
		}
		rec(p, "invoke", "acquire", 0, 0, COORD_OK);
		rc = coord_sem_acquire(s, SEM_NAME, strlen(SEM_NAME), permits,
				       &so, &l);
		if (rc != COORD_OK) {
			rec(p, wl_error_type(rc), "acquire", 0, 0, rc);
			goto next;
		}
		token = coord_lock_token(l);
		rec(p, "ok", "acquire", token, 0, COORD_OK);
		if (wl_rnd(&rng) % 100 < pause_pct)
			wl_sleep_ms(ttl_ms * 3 / 2);
		fence.token = token;
		snprintf(value, sizeof(value), "p%" PRIu64 "-t%" PRIu64, p,
			 token);
		puts = 2 + (unsigned)(wl_rnd(&rng) % 3);
		for (unsigned i = 0; i < puts; i++) {
			uint64_t rev = 0;

			if (i > 0)
				coord_client_run(c, 50 + (unsigned)(wl_rnd(&rng) % 101));
			rec(p, "invoke", "put", token, 0, COORD_OK);
			rc = coord_put_fenced(c, &fence, 1, RES_KEY,
					      strlen(RES_KEY), value,
					      strlen(value), &rev);
			rec(p, rc == COORD_OK ? "ok" : wl_error_type(rc), "put",
			    token, rev, rc);
		}
		rec(p, "invoke", "release", token, 0, COORD_OK);
		rc = coord_lock_release(l);
		rec(p, rc == COORD_OK ? "ok" : wl_error_type(rc), "release",
		    token, 0, rc);
next:
		if (wl_session_retire(&s, rc))
			p += n_clients;    /* a new process from here on */
	}
	coord_session_close(s);
	coord_client_free(c);
}

struct readback {
	uint64_t last_rev;
	coord_err_t code;
};

static void readback_cb(void *arg, coord_err_t code,
			const struct coord_event *ev, size_t n)
{
	struct readback *rb = arg;

	if (code != COORD_OK) {
		rb->code = code;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		rb->last_rev = ev[i].kv.mod_revision;
		if (ev[i].type != COORD_EVENT_PUT)
			continue;
		fprintf(out, "{\"us\":%" PRIu64 ",\"p\":0,\"f\":\"log\","
			"\"rev\":%" PRIu64 ",\"value\":\"%.*s\"}\n",
			wl_now_us(), ev[i].kv.mod_revision,
			(int)ev[i].kv.value_len,
			(const char *)ev[i].kv.value);
	}
}

/* After the clients stopped: the marker "end", then every write of the
 * resource from begin up to it, appended to the history at path. */
static int read_back(struct coord_client *c, const char *path,
		     uint64_t begin)
{
	struct readback rb = { 0, COORD_OK };
	struct coord_watch *w = NULL;
	uint64_t end_rev, until;
	coord_err_t rc;

	end_rev = wl_put_retry(c, RES_KEY, "end", MARKER_MS);
	if (end_rev == 0) {
		fprintf(stderr, "sem_workload: the end marker was never "
			"acknowledged\n");
		return 1;
	}
	out = fopen(path, "a");
	if (out == NULL) {
		perror(path);
		return 1;
	}
	rc = coord_watch_create(c, RES_KEY, strlen(RES_KEY), 0, begin + 1,
				false, readback_cb, &rb, &w);
	until = wl_now_us() + READBACK_MS * 1000ull;
	while (rc == COORD_OK && rb.code == COORD_OK && rb.last_rev < end_rev &&
	       wl_now_us() < until)
		coord_client_run(c, 100);
	if (rc == COORD_OK)
		coord_watch_cancel(c, w);
	fprintf(out, "{\"us\":%" PRIu64 ",\"p\":0,\"f\":\"log-end\",\"rev\":%"
		PRIu64 "}\n", wl_now_us(), end_rev);
	if (fclose(out) != 0 || rb.last_rev < end_rev) {
		fprintf(stderr, "sem_workload: the read-back stopped at "
			"revision %" PRIu64 " of %" PRIu64 ": %s\n",
			rb.last_rev, end_rev,
			coord_strerror(rc != COORD_OK ? rc : rb.code));
		return 1;
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: sem_workload ENDPOINTS OUT [--clients N] "
		"[--permits N] [--duration-ms N] [--timeout-ms N] "
		"[--ttl-ms N] [--pause-pct N] [--seed N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const struct wl_opt opts[] = {
		{ "--clients", &n_clients, 1, CLIENTS_MAX },
		{ "--permits", &permits, 1, CLIENTS_MAX },
		{ "--duration-ms", &duration_ms, 1, 3600000 },
		{ "--timeout-ms", &timeout_ms, 100, 600000 },
		{ "--ttl-ms", &ttl_ms, 100, 600000 },
		{ "--pause-pct", &pause_pct, 0, 100 },
		{ "--seed", &seed, 1, 4000000000u },
	};
	struct coord_client *c;
	uint64_t begin;
	int rc;

	if (argc < 3)
		usage();
	endpoints = argv[1];
	wl_parse_opts(argv[0], argc, argv, 3, opts,
		      sizeof(opts) / sizeof(opts[0]), usage);
	c = wl_client(endpoints, timeout_ms, "sem-workload-marker");
	begin = wl_put_retry(c, RES_KEY, "begin", MARKER_MS);
	if (begin == 0) {
		fprintf(stderr, "sem_workload: the begin marker was never "
			"acknowledged\n");
		return 1;
	}
	end_us = wl_now_us() + (uint64_t)duration_ms * 1000u;
	rc = wl_run_clients(n_clients, argv[2], &out, child);
	/* The config line goes last in the file; the checker orders lines
	 * by "us" and takes it from anywhere. */
	out = fopen(argv[2], "a");
	if (out == NULL) {
		perror(argv[2]);
		return 1;
	}
	fprintf(out, "{\"us\":0,\"p\":0,\"f\":\"config\",\"permits\":%u,"
		"\"begin\":%" PRIu64 "}\n", permits, begin);
	if (fclose(out) != 0)
		return 1;
	rc |= read_back(c, argv[2], begin);
	coord_client_free(c);
	return rc;
}
