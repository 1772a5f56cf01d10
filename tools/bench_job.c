/*
 * tools/bench_job.c: coord-bench job-cycles -- job queue throughput on a
 * running cluster, a thread with a synchronous libcoord client per
 * worker:
 *
 *   1. enqueue: --clients threads enqueue --jobs jobs (--val-size bytes
 *      each) into one fresh queue as fast as they are answered:
 *      "RESULT workload=job-enqueue ... ops_per_s=...";
 *   2. cycles: --clients workers, each its own session (TTL --ttl-ms),
 *      claim -> complete (fenced by the claim token, a result of
 *      --val-size bytes) until the queue is empty or --seconds pass:
 *      "RESULT workload=job-cycles ... ops_per_s=... claim_p50_ms ...".
 *
 * scripts/bench-compare sets job-cycles beside etcd's lock-contended
 * cycles/s with 16 clients in the same run (etcd has no job queue: a lock
 * cycle per claim is the nearest thing).
 */
#include "tools/bench_job.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libcoord/coord.h"
#include "tools/bench_util.h"

struct jb_opts {
	const char *endpoints;
	int clients;
	long jobs;
	double seconds;
	unsigned ttl_ms;
	size_t val_size;
	const char *label;
	const char *cpu_pids;
};

struct jb_worker {
	struct jb_bench *b;
	int id;
	pthread_t th;
	uint64_t ops, errors;
	uint64_t *claim_ns, *cycle_ns;
	size_t n_lat, cap_lat;
	char last_err[256];
};

struct jb_bench {
	struct jb_opts o;
	char queue[96];
	uint8_t *val;
	bool cycles;                /* phase 2 */
	atomic_long next_job;       /* phase 1: jobs handed out */
	atomic_int stop;
	uint64_t t_end_ns;          /* phase 2's deadline */
	struct jb_worker *w;
};

static void jb_err(struct jb_worker *w, struct coord_client *c, int code,
		   const char *what)
{
	w->errors++;
	snprintf(w->last_err, sizeof(w->last_err), "%s: %s (%s)", what,
		 coord_strerror(code), c != NULL ? coord_errmsg(c) : "");
}

static void jb_lat(struct jb_worker *w, uint64_t claim, uint64_t cycle)
{
	if (w->n_lat == w->cap_lat) {
		w->cap_lat = w->cap_lat ? w->cap_lat * 2 : 4096;
		w->claim_ns = bench_xrealloc(w->claim_ns,
					     w->cap_lat * sizeof(*w->claim_ns));
		w->cycle_ns = bench_xrealloc(w->cycle_ns,
					     w->cap_lat * sizeof(*w->cycle_ns));
	}
	w->claim_ns[w->n_lat] = claim;
	w->cycle_ns[w->n_lat] = cycle;
	w->n_lat++;
}

static void enqueue_loop(struct jb_worker *w, struct coord_client *c)
{
	struct jb_bench *b = w->b;

	while (atomic_fetch_add(&b->next_job, 1) < b->o.jobs) {
		uint64_t t0 = bench_mono_ns();
		int rc = coord_job_enqueue(c, b->queue, strlen(b->queue),
					   b->val, b->o.val_size, NULL, NULL,
					   NULL);

		if (rc != COORD_OK) {
			jb_err(w, c, rc, "enqueue");
			continue;
		}
		w->ops++;
		jb_lat(w, bench_mono_ns() - t0, bench_mono_ns() - t0);
	}
}

static void cycle_loop(struct jb_worker *w, struct coord_client *c)
{
	struct jb_bench *b = w->b;
	struct coord_job_claim_opts o = { false, 0 };
	struct coord_session *s;
	int rc = coord_session_open(c, b->o.ttl_ms, &s);

	if (rc != COORD_OK) {
		jb_err(w, c, rc, "session open");
		return;
	}
	while (!atomic_load(&b->stop) && bench_mono_ns() < b->t_end_ns) {
		struct coord_job *j;
		uint64_t t0 = bench_mono_ns(), t1;

		rc = coord_job_claim(s, b->queue, strlen(b->queue), &o, &j);
		if (rc == COORD_ENOJOBS)
			break;      /* drained */
		if (rc != COORD_OK) {
			jb_err(w, c, rc, "claim");
			if (coord_session_state(s) == COORD_SESSION_LOST)
				break;
			continue;
		}
		t1 = bench_mono_ns();
		rc = coord_job_complete(j, b->val, b->o.val_size);
		if (rc != COORD_OK) {
			jb_err(w, c, rc, "complete");
			continue;
		}
		w->ops++;
		jb_lat(w, t1 - t0, bench_mono_ns() - t0);
	}
	coord_session_close(s);
}

static void *jb_main(void *arg)
{
	struct jb_worker *w = arg;
	struct jb_bench *b = w->b;
	struct coord_options co;
	struct coord_client *c = NULL;
	char eps[4096];
	int rc;

	memset(&co, 0, sizeof(co));
	co.name = "coord-bench";
	bench_rotate_endpoints(b->o.endpoints, w->id, eps, sizeof(eps));
	rc = coord_client_new(eps, &co, &c);
	if (rc != COORD_OK) {
		jb_err(w, c, rc, "client");
		coord_client_free(c);
		return NULL;
	}
	if (b->cycles)
		cycle_loop(w, c);
	else
		enqueue_loop(w, c);
	coord_client_free(c);
	return NULL;
}

/* Runs one phase; prints its RESULT line. */
static int run_phase(struct jb_bench *b, bool cycles)
{
	const char *last = "";
	uint64_t ops = 0, errors = 0, *l1 = NULL, *l2 = NULL, t0, t1;
	double secs, cpu0 = 0, cpu1 = 0;
	size_t n = 0;
	char la[16];

	b->cycles = cycles;
	b->w = calloc((size_t)b->o.clients, sizeof(*b->w));
	if (b->w == NULL)
		return 1;
	bench_loadavg1(la, sizeof(la));
	if (b->o.cpu_pids != NULL)
		cpu0 = bench_pids_cpu_s(b->o.cpu_pids);
	t0 = bench_mono_ns();
	b->t_end_ns = t0 + (uint64_t)(b->o.seconds * 1e9);
	for (int i = 0; i < b->o.clients; i++) {
		b->w[i].b = b;
		b->w[i].id = i;
		if (pthread_create(&b->w[i].th, NULL, jb_main, &b->w[i]) != 0) {
			fprintf(stderr, "coord-bench: cannot start thread\n");
			exit(1);
		}
	}
	for (int i = 0; i < b->o.clients; i++)
		pthread_join(b->w[i].th, NULL);
	t1 = bench_mono_ns();
	if (b->o.cpu_pids != NULL)
		cpu1 = bench_pids_cpu_s(b->o.cpu_pids);
	secs = (double)(t1 - t0) / 1e9;
	for (int i = 0; i < b->o.clients; i++) {
		struct jb_worker *w = &b->w[i];

		ops += w->ops;
		errors += w->errors;
		l1 = bench_xrealloc(l1, (n + w->n_lat + 1) * sizeof(*l1));
		l2 = bench_xrealloc(l2, (n + w->n_lat + 1) * sizeof(*l2));
		if (w->n_lat > 0) {
			memcpy(l1 + n, w->claim_ns, w->n_lat * sizeof(*l1));
			memcpy(l2 + n, w->cycle_ns, w->n_lat * sizeof(*l2));
		}
		n += w->n_lat;
		if (w->last_err[0] != '\0')
			last = w->last_err;
		free(w->claim_ns);
		free(w->cycle_ns);
	}
	bench_sort_u64(l1, n);
	bench_sort_u64(l2, n);
	printf("RESULT workload=%s clients=%d ops=%" PRIu64 " seconds=%.2f"
	       " ops_per_s=%.1f", cycles ? "job-cycles" : "job-enqueue",
	       b->o.clients, ops, secs, secs > 0 ? (double)ops / secs : 0.0);
	if (cycles)
		printf(" claim_p50_ms=%.2f claim_p99_ms=%.2f cycle_p50_ms=%.2f"
		       " cycle_p99_ms=%.2f", bench_pct_ms(l1, n, 0.5),
		       bench_pct_ms(l1, n, 0.99), bench_pct_ms(l2, n, 0.5),
		       bench_pct_ms(l2, n, 0.99));
	else
		printf(" p50_ms=%.2f p99_ms=%.2f", bench_pct_ms(l1, n, 0.5),
		       bench_pct_ms(l1, n, 0.99));
	printf(" errors=%" PRIu64 " val_size=%zu label=%s coord_cpu_s=%.2f"
	       " loadavg1=%s\n", errors, b->o.val_size,
	       b->o.label ? b->o.label : "-", cpu1 - cpu0, la);
	fflush(stdout);
	if (last[0] != '\0')
		fprintf(stderr, "last error: %s\n", last);
	free(l1);
	free(l2);
	free(b->w);
	b->w = NULL;
	return ops > 0 ? 0 : 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: coord-bench job-cycles [--endpoints H:P,...] "
		"[--clients N (16)] [--jobs N (20000)] [--seconds S (10)]\n"
		"       [--ttl-ms MS (10000)] [--val-size B (256)] "
		"[--label L] [--cpu-pids P,P]\n");
}

int bench_job(int argc, char **argv)
{
	struct jb_bench b;
	int rc;

	memset(&b, 0, sizeof(b));
	b.o.endpoints = "127.0.0.1:2479";
	b.o.clients = 16;
	b.o.jobs = 20000;
	b.o.seconds = 10;
	b.o.ttl_ms = 10000;
	b.o.val_size = 256;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (v == NULL) {
			usage(stderr);
			return 2;
		}
		i++;
		if (strcmp(a, "--endpoints") == 0)
			b.o.endpoints = v;
		else if (strcmp(a, "--clients") == 0)
			b.o.clients = atoi(v);
		else if (strcmp(a, "--jobs") == 0)
			b.o.jobs = atol(v);
		else if (strcmp(a, "--seconds") == 0)
			b.o.seconds = atof(v);
		else if (strcmp(a, "--ttl-ms") == 0)
			b.o.ttl_ms = (unsigned)atol(v);
		else if (strcmp(a, "--val-size") == 0)
			b.o.val_size = (size_t)atol(v);
		else if (strcmp(a, "--label") == 0)
			b.o.label = v;
		else if (strcmp(a, "--cpu-pids") == 0)
			b.o.cpu_pids = v;
		else {
			usage(stderr);
			return 2;
		}
	}
	if (b.o.clients < 1 || b.o.jobs < 1 || b.o.seconds <= 0 ||
	    b.o.val_size > 65536) {
		usage(stderr);
		return 2;
	}
	bench_prefix(b.queue, sizeof(b.queue));
	strncat(b.queue, "/jobs", sizeof(b.queue) - strlen(b.queue) - 1);
	b.val = bench_value(b.o.val_size);
	rc = run_phase(&b, false);
	if (rc == 0)
		rc = run_phase(&b, true);
	free(b.val);
	return rc;
}
