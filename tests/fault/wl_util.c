/*
 * tests/fault/wl_util.c: see wl_util.h.
 */
#include "tests/fault/wl_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proto/exit.h"

uint64_t wl_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t wl_rnd(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 2685821657736338717ull;
}

unsigned wl_arg_uint(const char *prog, const char *s, unsigned lo,
		     unsigned hi)
{
	char *e;
	unsigned long v = strtoul(s, &e, 10);

	if (*s == '\0' || *e != '\0' || v < lo || v > hi) {
		fprintf(stderr, "%s: %s: not a number in [%u, %u]\n", prog, s,
			lo, hi);
		exit(2);
	}
	return (unsigned)v;
}

void wl_parse_opts(const char *prog, int argc, char **argv, int first,
		   const struct wl_opt *opts, size_t n, void (*usage)(void))
{
	for (int i = first; i < argc; i += 2) {
		size_t k = 0;

		while (k < n && strcmp(argv[i], opts[k].name) != 0)
			k++;
		if (i + 1 >= argc || k == n)
			usage();
		*opts[k].v = wl_arg_uint(prog, argv[i + 1], opts[k].lo,
					 opts[k].hi);
	}
}

struct coord_client *wl_client(const char *endpoints, unsigned timeout_ms,
			       const char *name)
{
	struct coord_options o = { .request_timeout_ms = timeout_ms,
				   .name = name };
	struct coord_client *c = NULL;
	coord_err_t rc = coord_client_new(endpoints, &o, &c);

	if (rc != COORD_OK) {
		fprintf(stderr, "%s: %s\n", name, coord_strerror(rc));
		exit(1);
	}
	return c;
}

void wl_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

coord_err_t wl_resource_write(int *fd, unsigned port, const char *resource,
			      uint64_t token, const char *key,
			      const char *value)
{
	struct sockaddr_in sa;
	char line[512], reply[256];
	const size_t reply_size = sizeof(reply);
	size_t got = 0;
	int n;

	if (*fd < 0) {
		*fd = socket(AF_INET, SOCK_STREAM, 0);
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_port = htons((uint16_t)port);
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (*fd < 0 ||
		    connect(*fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
			goto broken;
	}
	n = snprintf(line, sizeof(line), "WRITE %s %" PRIu64 " %s %s\n",
		     resource, token, key, value);
	if (n < 0 || (size_t)n >= sizeof(line) ||
	    write(*fd, line, (size_t)n) != n)
		goto broken;
	while (got + 1 < reply_size) {
		ssize_t r = read(*fd, reply + got, 1);

		if (r <= 0)
			goto broken;
		if (reply[got] == '\n')
			break;
		got++;
	}
	reply[got] = '\0';
	if (strcmp(reply, "OK") == 0)
		return COORD_OK;
	return strncmp(reply, "STALE ", 6) == 0 ? COORD_EFENCED : COORD_EINVAL;
broken:
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	return COORD_EUNAVAILABLE;
}

const char *wl_resource_outcome(coord_err_t code)
{
	if (code == COORD_OK)
		return "ok";
	return code == COORD_EFENCED ? "fail" : "info";
}

void wl_rec(FILE *out, uint64_t p, const char *t, const char *f,
	    uint64_t token, uint64_t rev, coord_err_t code)
{
	fprintf(out, "{\"us\":%" PRIu64 ",\"p\":%" PRIu64 ",\"t\":\"%s\","
		"\"f\":\"%s\",\"token\":%" PRIu64 ",\"rev\":%" PRIu64
		",\"code\":\"%s\"}\n",
		wl_now_us(), p, t, f, token, rev, coord_error_name(code));
	fflush(out);
}

const char *wl_error_type(coord_err_t code)
{
	switch (code) {
	case COORD_EFENCED:
	case COORD_ENOTHOLDER:
	case COORD_ENOTELECTED:
	case COORD_ENOLEADER:
	case COORD_EUNAVAILABLE:
	case COORD_ESESSION:
	case COORD_ESESSION_EXPIRED:
		return "fail";
	default:
		return "info";
	}
}

bool wl_session_retire(struct coord_session **s, coord_err_t rc)
{
	if (coord_session_state(*s) != COORD_SESSION_LOST &&
	    rc != COORD_ESESSION && rc != COORD_ESESSION_EXPIRED)
		return false;
	coord_session_close(*s);
	*s = NULL;
	return true;
}

uint64_t wl_put_retry(struct coord_client *c, const char *key,
		      const char *value, unsigned deadline_ms)
{
	uint64_t end = wl_now_us() + (uint64_t)deadline_ms * 1000u;
	uint64_t rev = 0;

	while (coord_put(c, key, strlen(key), value, strlen(value), &rev) !=
	       COORD_OK) {
		rev = 0;
		if (wl_now_us() >= end)
			break;
		wl_sleep_ms(100);
	}
	return rev;
}

/* Appends the file at path to out, then removes it. */
static int append(FILE *out, const char *path)
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

int wl_run_clients(unsigned n, const char *path, FILE **out,
		   void (*fn)(unsigned i))
{
	char part[4096];
	int rc = 0;
	pid_t *pids = calloc(n, sizeof(*pids));

	if (pids == NULL)
		return 1;
	for (unsigned i = 0; i < n; i++) {
		snprintf(part, sizeof(part), "%s.%u", path, i);
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("fork");
			n = i;
			rc = 1;
			break;
		}
		if (pids[i] == 0) {
			*out = fopen(part, "w");
			if (*out == NULL) {
				perror(part);
				coord_exit_now(1);
			}
			fn(i);
			coord_exit_now(fclose(*out) == 0 ? 0 : 1);
		}
	}
	for (unsigned i = 0; i < n; i++) {
		int st;

		if (waitpid(pids[i], &st, 0) < 0 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			rc = 1;
	}
	free(pids);
	*out = fopen(path, "w");
	if (*out == NULL) {
		perror(path);
		return 1;
	}
	for (unsigned i = 0; i < n; i++) {
		snprintf(part, sizeof(part), "%s.%u", path, i);
		if (append(*out, part) != 0)
			rc = 1;
	}
	if (fclose(*out) != 0)
		rc = 1;
	*out = NULL;
	return rc;
}
