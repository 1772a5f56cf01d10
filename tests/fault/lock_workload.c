/*
 * tests/fault/lock_workload.c: the lock + fencing workload of the fault
 * suite (docs/fault-testing.md). N client processes share one lock "lk"
 * and one resource guarded by it; each writes what it saw to a history
 * that check_lock.py judges.
 *
 *   lock_workload ENDPOINTS OUT RESOURCE_PORT [--clients N]
 *                 [--duration-ms N] [--timeout-ms N] [--ttl-ms N]
 *                 [--pause-pct N] [--seed N]
 *
 * Each client is a process of its own with libcoord's synchronous API
 * (its session is kept alive only while it is inside a call, so a client
 * that sleeps stops its keepalives as a paused process would). A cycle:
 * open a session if it has none; acquire "lk" (wait); with probability
 * --pause-pct sleep 1.5 TTL (its session expires on the servers and the
 * next waiter is granted); a fenced put of "lk/res" carrying the token
 * (through coord_put_fenced, never refused locally: the server must
 * judge it); a write of the token to the resource, fencing/examples/
 * fenced_kv on 127.0.0.1:RESOURCE_PORT (libcoordfence admits it or
 * says STALE); release.
 *
 * History: one JSON object a line, {"us": CLOCK_MONOTONIC microseconds
 * (one clock for every process of the machine), "p": process, "t":
 * "invoke" | "ok" | "fail" | "info", "f": "acquire" | "put" | "write" |
 * "release", "token", "rev" (a put's revision), "code"}. A process whose
 * session was lost continues as a new process number. Lines are written
 * by each child into OUT.N, then concatenated into OUT (the checker
 * orders them by "us").
 *
 * Exit: 0 when the history was written, 1 when the workload could not
 * run (no cluster, no resource).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libcoord/coord.h"
#include "tests/fault/wl_util.h"

#define CLIENTS_MAX 32
#define LOCK_NAME "lk"

static const char *endpoints;
static unsigned timeout_ms = 5000;
static unsigned duration_ms = 10000;
static unsigned ttl_ms = 2000;
static unsigned pause_pct = 10;
static unsigned n_clients = 5;
static unsigned resource_port;
static unsigned seed = 1;
static uint64_t rng = 1;
static FILE *out;
static uint64_t end_us;

static unsigned arg_uint(const char *s, unsigned lo, unsigned hi)
{
	return wl_arg_uint("lock_workload", s, lo, hi);
}

static void rec(uint64_t p, const char *t, const char *f, uint64_t token,
		uint64_t rev, coord_err_t code)
{
	wl_rec(out, p, t, f, token, rev, code);
}

static int resource_fd = -1;

static void child(unsigned slot)
{
	struct coord_options o = { .request_timeout_ms = timeout_ms,
				   .name = "lock-workload" };
	struct coord_lock_opts lo = { .wait = true,
				      .timeout_ms = timeout_ms };
	struct coord_client *c = NULL;
	struct coord_session *s = NULL;
	uint64_t p = slot;
	coord_err_t rc;

	rng += slot * 7919u;
	rc = coord_client_new(endpoints, &o, &c);
	if (rc != COORD_OK) {
		fprintf(stderr, "lock_workload: client %u: %s\n", slot,
			coord_strerror(rc));
		exit(1);
	}
	while (wl_now_us() < end_us) {
		struct coord_fence fence = { .lock = LOCK_NAME,
					     .lock_len = strlen(LOCK_NAME) };
		struct coord_lock *l = NULL;
		char value[64];
		uint64_t token, rev = 0;

		if (s == NULL && coord_session_open(c, ttl_ms, &s) != COORD_OK) {
			s = NULL;
			wl_sleep_ms(100);
			continue;
		}
		rec(p, "invoke", "acquire", 0, 0, COORD_OK);
		rc = coord_lock_acquire(s, LOCK_NAME, strlen(LOCK_NAME), &lo, &l);
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
		rec(p, "invoke", "put", token, 0, COORD_OK);
		rc = coord_put_fenced(c, &fence, 1, LOCK_NAME "/res",
				      strlen(LOCK_NAME "/res"), value,
				      strlen(value), &rev);
		rec(p, rc == COORD_OK ? "ok" : wl_error_type(rc), "put", token,
		    rev, rc);
		rec(p, "invoke", "write", token, 0, COORD_OK);
		rc = wl_resource_write(&resource_fd, resource_port, LOCK_NAME,
				       token, "res", value);
		rec(p, wl_resource_outcome(rc), "write", token, 0, rc);
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
	if (resource_fd >= 0)
		close(resource_fd);
}

static void usage(void)
{
	fprintf(stderr, "usage: lock_workload ENDPOINTS OUT RESOURCE_PORT "
		"[--clients N] [--duration-ms N] [--timeout-ms N] "
		"[--ttl-ms N] [--pause-pct N] [--seed N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const struct wl_opt opts[] = {
		{ "--clients", &n_clients, 1, CLIENTS_MAX },
		{ "--duration-ms", &duration_ms, 1, 3600000 },
		{ "--timeout-ms", &timeout_ms, 100, 600000 },
		{ "--ttl-ms", &ttl_ms, 100, 600000 },
		{ "--pause-pct", &pause_pct, 0, 100 },
		{ "--seed", &seed, 1, 4000000000u },
	};
	if (argc < 4)
		usage();
	endpoints = argv[1];
	resource_port = arg_uint(argv[3], 1, 65535);
	wl_parse_opts(argv[0], argc, argv, 4, opts,
		      sizeof(opts) / sizeof(opts[0]), usage);
	rng = seed;
	end_us = wl_now_us() + (uint64_t)duration_ms * 1000u;
	return wl_run_clients(n_clients, argv[2], &out, child);
}
