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
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libcoord/coord.h"
#include "tests/fault/wl_util.h"

#define CLIENTS_MAX 32
#define LOCK_NAME "lk"
#define LINE_MAX_ 256

static const char *endpoints;
static unsigned timeout_ms = 5000;
static unsigned duration_ms = 10000;
static unsigned ttl_ms = 2000;
static unsigned pause_pct = 10;
static unsigned n_clients = 5;
static unsigned resource_port;
static uint64_t rng = 1;
static FILE *out;

static unsigned arg_uint(const char *s, unsigned lo, unsigned hi)
{
	return wl_arg_uint("lock_workload", s, lo, hi);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void rec(uint64_t p, const char *t, const char *f, uint64_t token,
		uint64_t rev, coord_err_t code)
{
	fprintf(out, "{\"us\":%" PRIu64 ",\"p\":%" PRIu64 ",\"t\":\"%s\","
		"\"f\":\"%s\",\"token\":%" PRIu64 ",\"rev\":%" PRIu64
		",\"code\":\"%s\"}\n",
		wl_now_us(), p, t, f, token, rev, coord_error_name(code));
	fflush(out);
}

/* Definitely not applied: the servers said so (a fence that did not
 * hold, a holder that was not one), or libcoord promises it (coord.h:
 * COORD_ENOLEADER, COORD_EUNAVAILABLE). Every other error: unknown. */
static const char *error_type(coord_err_t code)
{
	switch (code) {
	case COORD_EFENCED:
	case COORD_ENOTHOLDER:
	case COORD_ENOLEADER:
	case COORD_EUNAVAILABLE:
	case COORD_ESESSION:
	case COORD_ESESSION_EXPIRED:
		return "fail";
	default:
		return "info";
	}
}

/* The resource: one line out, one line back; -1 on a broken connection
 * (closed: the next write dials again). */
static int resource_fd = -1;

static int resource_write(uint64_t p, uint64_t token, char *reply,
			  size_t reply_size)
{
	struct sockaddr_in sa;
	char line[LINE_MAX_];
	size_t got = 0;
	int n;

	if (resource_fd < 0) {
		resource_fd = socket(AF_INET, SOCK_STREAM, 0);
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_port = htons((uint16_t)resource_port);
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (resource_fd < 0 ||
		    connect(resource_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
			goto broken;
	}
	n = snprintf(line, sizeof(line), "WRITE " LOCK_NAME " %" PRIu64
		     " res p%" PRIu64 "-t%" PRIu64 "\n", token, p, token);
	if (write(resource_fd, line, (size_t)n) != n)
		goto broken;
	while (got + 1 < reply_size) {
		ssize_t r = read(resource_fd, reply + got, 1);

		if (r <= 0)
			goto broken;
		if (reply[got] == '\n')
			break;
		got++;
	}
	reply[got] = '\0';
	return 0;
broken:
	if (resource_fd >= 0)
		close(resource_fd);
	resource_fd = -1;
	return -1;
}

static void child(unsigned slot, uint64_t end_us)
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
		char value[64], reply[LINE_MAX_];
		uint64_t token, rev = 0;

		if (s == NULL && coord_session_open(c, ttl_ms, &s) != COORD_OK) {
			s = NULL;
			sleep_ms(100);
			continue;
		}
		rec(p, "invoke", "acquire", 0, 0, COORD_OK);
		rc = coord_lock_acquire(s, LOCK_NAME, strlen(LOCK_NAME), &lo, &l);
		if (rc != COORD_OK) {
			rec(p, error_type(rc), "acquire", 0, 0, rc);
			goto next;
		}
		token = coord_lock_token(l);
		rec(p, "ok", "acquire", token, 0, COORD_OK);
		if (wl_rnd(&rng) % 100 < pause_pct)
			sleep_ms(ttl_ms * 3 / 2);
		fence.token = token;
		snprintf(value, sizeof(value), "p%" PRIu64 "-t%" PRIu64, p,
			 token);
		rec(p, "invoke", "put", token, 0, COORD_OK);
		rc = coord_put_fenced(c, &fence, 1, LOCK_NAME "/res",
				      strlen(LOCK_NAME "/res"), value,
				      strlen(value), &rev);
		rec(p, rc == COORD_OK ? "ok" : error_type(rc), "put", token,
		    rev, rc);
		rec(p, "invoke", "write", token, 0, COORD_OK);
		if (resource_write(p, token, reply, sizeof(reply)) != 0)
			rec(p, "info", "write", token, 0, COORD_EUNAVAILABLE);
		else if (strcmp(reply, "OK") == 0)
			rec(p, "ok", "write", token, 0, COORD_OK);
		else if (strncmp(reply, "STALE ", 6) == 0)
			rec(p, "fail", "write", token, 0, COORD_EFENCED);
		else
			rec(p, "info", "write", token, 0, COORD_EINVAL);
		rec(p, "invoke", "release", token, 0, COORD_OK);
		rc = coord_lock_release(l);
		rec(p, rc == COORD_OK ? "ok" : error_type(rc), "release",
		    token, 0, rc);
next:
		if (coord_session_state(s) == COORD_SESSION_LOST ||
		    rc == COORD_ESESSION || rc == COORD_ESESSION_EXPIRED) {
			coord_session_close(s);
			s = NULL;
			p += n_clients;    /* a new process from here on */
		}
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

/* Appends the file at path to out, then removes it. */
static int append(const char *path)
{
	char buf[4096];
	size_t n;
	FILE *in = fopen(path, "r");

	if (in == NULL)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	fclose(in);
	return unlink(path);
}

int main(int argc, char **argv)
{
	pid_t pids[CLIENTS_MAX];
	char path[4096];
	uint64_t end_us;
	int rc = 0;

	if (argc < 4)
		usage();
	endpoints = argv[1];
	resource_port = arg_uint(argv[3], 1, 65535);
	for (int i = 4; i < argc; i += 2) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--clients") == 0)
			n_clients = arg_uint(argv[i + 1], 1, CLIENTS_MAX);
		else if (strcmp(argv[i], "--duration-ms") == 0)
			duration_ms = arg_uint(argv[i + 1], 1, 3600000);
		else if (strcmp(argv[i], "--timeout-ms") == 0)
			timeout_ms = arg_uint(argv[i + 1], 100, 600000);
		else if (strcmp(argv[i], "--ttl-ms") == 0)
			ttl_ms = arg_uint(argv[i + 1], 100, 600000);
		else if (strcmp(argv[i], "--pause-pct") == 0)
			pause_pct = arg_uint(argv[i + 1], 0, 100);
		else if (strcmp(argv[i], "--seed") == 0)
			rng = arg_uint(argv[i + 1], 1, 4000000000u);
		else
			usage();
	}
	end_us = wl_now_us() + (uint64_t)duration_ms * 1000u;
	for (unsigned i = 0; i < n_clients; i++) {
		snprintf(path, sizeof(path), "%s.%u", argv[2], i);
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("fork");
			return 1;
		}
		if (pids[i] == 0) {
			out = fopen(path, "w");
			if (out == NULL) {
				perror(path);
				_exit(1);
			}
			child(i, end_us);
			_exit(fclose(out) == 0 ? 0 : 1);
		}
	}
	for (unsigned i = 0; i < n_clients; i++) {
		int st;

		if (waitpid(pids[i], &st, 0) < 0 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			rc = 1;
	}
	out = fopen(argv[2], "w");
	if (out == NULL) {
		perror(argv[2]);
		return 1;
	}
	for (unsigned i = 0; i < n_clients; i++) {
		snprintf(path, sizeof(path), "%s.%u", argv[2], i);
		if (append(path) != 0)
			rc = 1;
	}
	if (fclose(out) != 0)
		rc = 1;
	return rc;
}
