/*
 * tests/cluster/once_client.c: many libcoord clients writing at once, for
 * tests/cluster/once.sh: each keeps INFLIGHT puts in flight on its own key
 * (PREFIX/<i>), one event loop for all, until STOPFILE exists or SECONDS
 * have passed. Every put's outcome is counted: acknowledged, refused (a
 * code that says it was not applied) or unknown (anything else). Then it
 * reads each key's version -- the number of puts applied to it -- and
 * checks acknowledged <= version <= acknowledged + unknown: a version
 * above that is a put applied twice.
 *
 *   once_client ENDPOINTS CLIENTS INFLIGHT SECONDS PREFIX STOPFILE
 *
 * Prints one "client I acked=A refused=R unknown=U version=V" line per
 * client and a "total ..." line; exit 0 when every key checks out, 1
 * otherwise, 2 on usage or setup errors.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "libcoord/coord.h"
#include "proto/errors.h"

#define CLIENTS_MAX 64

struct writer {
	struct coord_client *c;
	char key[64];
	unsigned in_flight;
	uint64_t sent, acked, refused, unknown;
	uint64_t codes[32];
};

static struct writer writers[CLIENTS_MAX];
static size_t n_writers;
static unsigned inflight;
static int stopping;
static uint64_t deadline_ms;
static const char *stopfile;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Codes that say the put was not applied. */
static int not_applied(coord_err_t code)
{
	return code == COORD_ECLIENTSFULL || code == COORD_EREGISTERRATE ||
	       code == COORD_EWINDOW || code == COORD_ENOTLEADER;
}

static void put_next(struct writer *w);

static void put_done(void *arg, coord_err_t code, uint64_t revision)
{
	struct writer *w = arg;

	(void)revision;
	w->in_flight--;
	if (code >= 0 && (size_t)code < sizeof(w->codes) / sizeof(w->codes[0]))
		w->codes[code]++;
	if (code == COORD_OK)
		w->acked++;
	else if (not_applied(code))
		w->refused++;
	else
		w->unknown++;
	if (!stopping)
		put_next(w);
}

static void put_next(struct writer *w)
{
	char v[32];
	int n = snprintf(v, sizeof(v), "%" PRIu64, w->sent + 1);

	if (coord_put_async(w->c, w->key, strlen(w->key), v, (size_t)n,
			    put_done, w) != COORD_OK) {
		w->refused++;
		return;
	}
	w->sent++;
	w->in_flight++;
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct event_base *base = arg;
	unsigned busy = 0;

	(void)fd;
	(void)what;
	if (!stopping && (now_ms() >= deadline_ms ||
			  access(stopfile, F_OK) == 0))
		stopping = 1;
	for (size_t i = 0; i < n_writers; i++)
		busy += writers[i].in_flight;
	if (stopping && busy == 0)
		event_base_loopbreak(base);
}

int main(int argc, char **argv)
{
	struct event_base *base;
	struct event *tick;
	struct timeval tv = { 0, 50 * 1000 };
	struct coord_options opts;
	struct coord_client *reader = NULL;
	uint64_t acked = 0, refused = 0, unknown = 0, applied = 0;
	int bad = 0;

	if (argc != 7) {
		fprintf(stderr, "usage: once_client ENDPOINTS CLIENTS INFLIGHT "
			"SECONDS PREFIX STOPFILE\n");
		return 2;
	}
	n_writers = strtoul(argv[2], NULL, 10);
	inflight = (unsigned)strtoul(argv[3], NULL, 10);
	deadline_ms = now_ms() + 1000u * strtoull(argv[4], NULL, 10);
	stopfile = argv[6];
	if (n_writers == 0 || n_writers > CLIENTS_MAX || inflight == 0)
		return 2;
	base = event_base_new();
	if (base == NULL)
		return 2;
	memset(&opts, 0, sizeof(opts));
	opts.request_timeout_ms = 20000;
	for (size_t i = 0; i < n_writers; i++) {
		struct writer *w = &writers[i];

		snprintf(w->key, sizeof(w->key), "%s/%zu", argv[5], i);
		if (coord_client_new_async(base, argv[1], &opts, &w->c) !=
		    COORD_OK)
			return 2;
		for (unsigned k = 0; k < inflight; k++)
			put_next(w);
	}
	tick = event_new(base, -1, EV_PERSIST, tick_cb, base);
	if (tick == NULL || event_add(tick, &tv) != 0)
		return 2;
	event_base_dispatch(base);
	event_free(tick);
	for (size_t i = 0; i < n_writers; i++)
		coord_client_free(writers[i].c);
	event_base_free(base);

	/* Each key's version is the number of puts applied to it. */
	if (coord_client_new(argv[1], &opts, &reader) != COORD_OK)
		return 2;
	for (size_t i = 0; i < n_writers; i++) {
		struct writer *w = &writers[i];
		struct coord_kvs *r = NULL;
		uint64_t version = 0;
		coord_err_t rc = coord_get(reader, w->key, strlen(w->key), NULL,
					   &r);

		if (rc != COORD_OK) {
			fprintf(stderr, "get %s: %s\n", w->key,
				coord_strerror(rc));
			return 2;
		}
		if (r->n == 1)
			version = r->kvs[0].version;
		coord_kvs_free(r);
		printf("client %zu acked=%" PRIu64 " refused=%" PRIu64
		       " unknown=%" PRIu64 " version=%" PRIu64, i, w->acked,
		       w->refused, w->unknown, version);
		for (size_t c = 1; c < sizeof(w->codes) / sizeof(w->codes[0]);
		     c++)
			if (w->codes[c] > 0)
				printf(" %s=%" PRIu64, coord_error_name(c),
				       w->codes[c]);
		printf("\n");
		if (version < w->acked || version > w->acked + w->unknown) {
			printf("client %zu: version %" PRIu64 " outside "
			       "[acked, acked + unknown]: a put applied %s\n",
			       i, version,
			       version < w->acked ? "never" : "twice");
			bad = 1;
		}
		acked += w->acked;
		refused += w->refused;
		unknown += w->unknown;
		applied += version;
	}
	coord_client_free(reader);
	printf("total acked=%" PRIu64 " refused=%" PRIu64 " unknown=%" PRIu64
	       " applied=%" PRIu64 "\n", acked, refused, unknown, applied);
	return bad;
}
