/*
 * tests/fault/job_workload.c: the job queue workload of the fault suite
 * (docs/fault-testing.md). One enqueuer and N workers, processes of their
 * own with libcoord's synchronous API, share the queue "jq" and a
 * resource fenced by the claim tokens; each writes what it saw to a
 * history that check_job.py judges.
 *
 *   job_workload ENDPOINTS OUT RESOURCE_PORT [--workers N] [--jobs N]
 *                [--duration-ms N] [--timeout-ms N] [--ttl-ms N]
 *                [--pause-pct N] [--dup-pct N] [--seed N]
 *
 * The enqueuer (process 0) enqueues --jobs jobs spread over the first
 * 70% of the run, job k with the unique key "k<k>" (its payload too). An
 * enqueue whose outcome is unknown is sent again with the same key until
 * one is answered; with probability --dup-pct an earlier key is enqueued
 * once more: both must return the job the key first made.
 *
 * A worker: open a session if it has none; claim the head job (wait, at
 * most 1 s); with probability --pause-pct sleep 1.5 TTL holding the
 * claim (its session expires on the servers, the job goes back to the
 * head of the queue and on to another worker); write its token to the
 * resource, fencing/examples/fenced_kv on 127.0.0.1:RESOURCE_PORT, as
 * resource "job<id>" (libcoordfence admits it or says STALE); complete
 * the job by (id, token) through coord_job_complete_by(), sent whatever
 * its own clock says, so that the servers judge it.
 *
 * At the end, once every worker has stopped and no job is claimed any
 * more (the sessions of the workers ended), the parent lists the queue:
 * one "final" line per pending, claimed, dead and done job with its
 * state and (last) claim token -- the jobs in flight at the end are
 * accounted for there.
 *
 * History: one JSON object a line, {"us": CLOCK_MONOTONIC microseconds,
 * "p": process, "t": "invoke" | "ok" | "fail" | "info", "f": "enqueue" |
 * "claim" | "write" | "complete" | "final", "key", "job", "token",
 * "existed", "paused", "code"} ("final": "state" instead of "t"). A
 * worker whose session was lost continues as a new process number.
 * Lines are written by each child into OUT.N, then concatenated into OUT.
 *
 * Exit: 0 when the history was written, 1 when the workload could not
 * run (no cluster, no resource, no final listing).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libcoord/coord.h"
#include "tests/fault/wl_util.h"

#define WORKERS_MAX 32
#define QUEUE "jq"
#define CLAIM_WAIT_MS 1000
#define ENQUEUE_RETRIES_MAX 20
#define FINAL_WAIT_US (60u * 1000000u)

static const char *endpoints;
static unsigned timeout_ms = 5000;
static unsigned duration_ms = 10000;
static unsigned ttl_ms = 2000;
static unsigned pause_pct = 10;
static unsigned dup_pct = 10;
static unsigned n_workers = 5;
static unsigned n_jobs = 300;
static unsigned resource_port;
static unsigned seed = 1;
static uint64_t rng = 1;
static FILE *out;

static unsigned arg_uint(const char *s, unsigned lo, unsigned hi)
{
	return wl_arg_uint("job_workload", s, lo, hi);
}

struct ev {
	uint64_t p;
	const char *t, *f;
	unsigned key;           /* enqueue: k<key>; 0 otherwise */
	uint64_t job, token;
	bool existed, paused;
	coord_err_t code;
};

static void rec(const struct ev *e)
{
	fprintf(out, "{\"us\":%" PRIu64 ",\"p\":%" PRIu64 ",\"t\":\"%s\","
		"\"f\":\"%s\",\"key\":%u,\"job\":%" PRIu64 ",\"token\":%"
		PRIu64 ",\"existed\":%s,\"paused\":%s,\"code\":\"%s\"}\n",
		wl_now_us(), e->p, e->t, e->f, e->key, e->job, e->token,
		e->existed ? "true" : "false", e->paused ? "true" : "false",
		coord_error_name(e->code));
	fflush(out);
}

/* Definitely not applied: the state machine refused it, or libcoord
 * promises it (coord.h: COORD_ENOLEADER, COORD_EUNAVAILABLE). Else
 * unknown -- COORD_ESESSION too: a complete applied on one connection,
 * its reply lost, and sent again on another after its session ended, is
 * answered COORD_ESESSION (the session is checked before the retry is
 * recognised), though it was applied. */
static const char *error_type(coord_err_t code)
{
	switch (code) {
	case COORD_ESTALECLAIM:
	case COORD_EJOBSTATE:
	case COORD_ENOJOB:
	case COORD_ENOJOBS:
	case COORD_ENOLEADER:
	case COORD_EUNAVAILABLE:
	case COORD_EQUEUEFULL:
		return "fail";
	default:
		return "info";
	}
}

static struct coord_client *client(const char *name)
{
	return wl_client(endpoints, timeout_ms, name);
}

/* Enqueues key k until an answer says whether it is queued. */
static void enqueue(struct coord_client *c, unsigned k)
{
	char key[32];
	struct coord_job_enqueue_opts eo = { .unique_key = key };

	eo.unique_key_len = (size_t)snprintf(key, sizeof(key), "k%u", k);
	for (unsigned i = 0; i < ENQUEUE_RETRIES_MAX; i++) {
		struct ev e = { .p = 0, .t = "invoke", .f = "enqueue",
				.key = k };

		rec(&e);
		e.code = coord_job_enqueue(c, QUEUE, strlen(QUEUE), key,
					   eo.unique_key_len, &eo, &e.job,
					   &e.existed);
		e.t = e.code == COORD_OK ? "ok" : error_type(e.code);
		rec(&e);
		if (e.code == COORD_OK)
			return;
		wl_sleep_ms(100);
	}
}

static uint64_t start_us, end_us;

static void enqueuer(void)
{
	struct coord_client *c = client("job-enqueuer");
	uint64_t span = (end_us - start_us) * 7 / 10;

	for (unsigned k = 1; k <= n_jobs && wl_now_us() < end_us; k++) {
		uint64_t at = start_us + span * (k - 1) / n_jobs;

		while (wl_now_us() < at)
			wl_sleep_ms(5);
		enqueue(c, k);
		if (k > 1 && wl_rnd(&rng) % 100 < dup_pct)
			enqueue(c, 1 + (unsigned)(wl_rnd(&rng) % (k - 1)));
	}
	coord_client_free(c);
}

static void worker(unsigned slot)
{
	struct coord_job_claim_opts co = { .wait = true,
					   .timeout_ms = CLAIM_WAIT_MS };
	struct coord_client *c = client("job-worker");
	struct coord_session *s = NULL;
	uint64_t p = slot;
	int fd = -1;

	rng += slot * 7919u;
	while (wl_now_us() < end_us) {
		struct ev e = { .p = p, .t = "invoke", .f = "claim" };
		struct coord_job *j = NULL;
		char resource[32], value[64];
		coord_err_t rc;

		if (s == NULL && coord_session_open(c, ttl_ms, &s) != COORD_OK) {
			s = NULL;
			wl_sleep_ms(100);
			continue;
		}
		rec(&e);
		rc = coord_job_claim(s, QUEUE, strlen(QUEUE), &co, &j);
		e.code = rc;
		if (rc != COORD_OK) {
			e.t = error_type(rc);
			rec(&e);
			goto next;
		}
		e.t = "ok";
		e.job = coord_job_id(j);
		e.token = coord_job_token(j);
		rec(&e);
		coord_job_free(j);    /* the claim stays: by (id, token) now */
		if (wl_rnd(&rng) % 100 < pause_pct) {
			e.paused = true;
			wl_sleep_ms(ttl_ms * 3 / 2);
		}
		snprintf(resource, sizeof(resource), "job%" PRIu64, e.job);
		snprintf(value, sizeof(value), "p%" PRIu64 "-t%" PRIu64, p,
			 e.token);
		e.f = "write";
		e.t = "invoke";
		e.code = COORD_OK;
		rec(&e);
		e.code = wl_resource_write(&fd, resource_port, resource,
					   e.token, resource, value);
		e.t = wl_resource_outcome(e.code);
		rec(&e);
		e.f = "complete";
		e.t = "invoke";
		e.code = COORD_OK;
		rec(&e);
		rc = coord_job_complete_by(s, QUEUE, strlen(QUEUE), e.job,
					   e.token, value, strlen(value));
		e.code = rc;
		e.t = rc == COORD_OK ? "ok" : error_type(rc);
		rec(&e);
next:
		if (coord_session_state(s) == COORD_SESSION_LOST ||
		    rc == COORD_ESESSION || rc == COORD_ESESSION_EXPIRED) {
			coord_session_close(s);
			s = NULL;
			p += n_workers + 1;    /* a new process from here on */
		}
	}
	coord_session_close(s);
	coord_client_free(c);
	if (fd >= 0)
		close(fd);
}

static const char *state_name(enum coord_job_state st)
{
	switch (st) {
	case COORD_JOB_PENDING: return "pending";
	case COORD_JOB_CLAIMED: return "claimed";
	case COORD_JOB_DONE: return "done";
	default: return "dead";
	}
}

/* Writes a "final" line per job of the queue, once no job is claimed:
 * the workers have stopped, and the sessions of those that could not
 * close theirs have expired. 0 when listed, -1 when the cluster did not
 * answer for FINAL_WAIT_US. */
static int final_listing(void)
{
	static const enum coord_job_state states[] = {
		COORD_JOB_PENDING, COORD_JOB_DEAD, COORD_JOB_DONE,
	};
	struct coord_client *c = client("job-final");
	uint64_t dl = wl_now_us() + FINAL_WAIT_US;
	struct coord_job_list *l = NULL;
	coord_err_t rc;
	int ret = -1;

	for (;;) {
		rc = coord_job_list(c, QUEUE, strlen(QUEUE), COORD_JOB_CLAIMED,
				    0, 1, &l);
		if (rc == COORD_OK && l->claimed == 0)
			break;
		coord_job_list_free(l);
		l = NULL;
		if (wl_now_us() > dl) {
			fprintf(stderr, "job_workload: final listing: %s\n",
				rc == COORD_OK ? "jobs still claimed"
					       : coord_strerror(rc));
			goto out;
		}
		wl_sleep_ms(200);
	}
	coord_job_list_free(l);
	l = NULL;
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		uint64_t cursor = 0;

		do {
			rc = coord_job_list(c, QUEUE, strlen(QUEUE), states[i],
					    cursor, 0, &l);
			if (rc != COORD_OK) {
				if (wl_now_us() > dl)
					goto out;
				wl_sleep_ms(200);
				continue;
			}
			for (size_t k = 0; k < l->n_jobs; k++)
				fprintf(out, "{\"us\":%" PRIu64 ",\"p\":-1,"
					"\"f\":\"final\",\"state\":\"%s\","
					"\"job\":%" PRIu64 ",\"token\":%"
					PRIu64 "}\n", wl_now_us(),
					state_name(states[i]), l->jobs[k].id,
					l->jobs[k].token);
			cursor = l->next;
			coord_job_list_free(l);
			l = NULL;
		} while (rc != COORD_OK || cursor != 0);
	}
	ret = 0;
out:
	coord_job_list_free(l);
	coord_client_free(c);
	return ret;
}

static void usage(void)
{
	fprintf(stderr, "usage: job_workload ENDPOINTS OUT RESOURCE_PORT "
		"[--workers N] [--jobs N] [--duration-ms N] [--timeout-ms N] "
		"[--ttl-ms N] [--pause-pct N] [--dup-pct N] [--seed N]\n");
	exit(2);
}

/* Process 0 enqueues, the others work. */
static void client_main(unsigned i)
{
	if (i == 0)
		enqueuer();
	else
		worker(i);
}

int main(int argc, char **argv)
{
	const struct wl_opt opts[] = {
		{ "--workers", &n_workers, 1, WORKERS_MAX },
		{ "--jobs", &n_jobs, 1, 100000 },
		{ "--duration-ms", &duration_ms, 1, 3600000 },
		{ "--timeout-ms", &timeout_ms, 100, 600000 },
		{ "--ttl-ms", &ttl_ms, 100, 600000 },
		{ "--pause-pct", &pause_pct, 0, 100 },
		{ "--dup-pct", &dup_pct, 0, 100 },
		{ "--seed", &seed, 1, 4000000000u },
	};
	int rc;

	if (argc < 4)
		usage();
	endpoints = argv[1];
	resource_port = arg_uint(argv[3], 1, 65535);
	wl_parse_opts(argv[0], argc, argv, 4, opts,
		      sizeof(opts) / sizeof(opts[0]), usage);
	rng = seed;
	start_us = wl_now_us();
	end_us = start_us + (uint64_t)duration_ms * 1000u;
	rc = wl_run_clients(n_workers + 1, argv[2], &out, client_main);
	out = fopen(argv[2], "a");
	if (out == NULL) {
		perror(argv[2]);
		return 1;
	}
	if (final_listing() != 0)
		rc = 1;
	if (fclose(out) != 0)
		rc = 1;
	return rc;
}
