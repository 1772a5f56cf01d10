/*
 * tests/fault/workload.c: the client side of the fault suite. Runs one
 * workload against a cluster through libcoord's asynchronous API, on one
 * event loop, and writes what the clients saw as a history, one JSON
 * object a line, in the order the loop saw it (a total real-time order):
 * the checkers (check_register.py, check_watch.py) read it.
 *
 *   workload register ENDPOINTS OUT [--clients N] [--keys N]
 *            [--duration-ms N] [--timeout-ms N] [--seed N]
 *   workload watch ENDPOINTS OUT [--clients N] [--watchers N] [--keys N]
 *            [--duration-ms N] [--timeout-ms N] [--seed N]
 *
 * register: N processes, each with one operation open at a time -- a
 * linearizable read, a write of a value never written before, or a
 * compare-and-set from the last value it saw of that key -- on keys r/0..
 * A request that fails with an unknown outcome (a timeout: it may or may
 * not have been applied) ends "info" and its process is retired: the next
 * operation of that client is a new process, as Jepsen numbers them.
 *
 * watch: N writers put unique values to w/0.., and M watchers (each its
 * own client) watch the prefix w/ from the revision of a first put
 * "w/begin". After the duration a last put "w/end" is retried until it
 * is acknowledged; each watcher must then see it (libcoord resumes a
 * watch across reconnects and leader changes), within the timeout.
 *
 * Exit: 0 when the history was written (whatever it shows: judging it is
 * the checkers' job), 1 when the workload itself could not run (no
 * cluster, w/begin or w/end never acknowledged, a watcher that never
 * reached w/end -- the last two are also recorded for the checker).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "libcoord/coord.h"
#include "tests/fault/wl_util.h"

#define CLIENTS_MAX 64
#define KEYS_MAX 64
#define VALUE_BYTES 48

static struct event_base *base;
static FILE *out;
static const char *endpoints;
static unsigned timeout_ms = 5000;
static unsigned duration_ms = 10000;
static unsigned n_clients = 5;
static unsigned n_watchers = 3;
static unsigned n_keys = 4;
static uint64_t rng = 1;
static bool stopping;
static bool closing;        /* freeing the clients: callbacks record nothing */
static unsigned outstanding;

static uint64_t now_ms(void)
{
	return wl_now_us() / 1000u;
}

static unsigned arg_uint(const char *s, unsigned lo, unsigned hi)
{
	return wl_arg_uint("workload", s, lo, hi);
}

/* Writes s[0..len) as a JSON string (null when s is NULL). */
static void json_str(const void *s, size_t len)
{
	const unsigned char *p = s;

	if (s == NULL) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '"' || p[i] == '\\')
			fprintf(out, "\\%c", p[i]);
		else if (p[i] < 0x20 || p[i] >= 0x7f)
			fprintf(out, "\\u%04x", p[i]);
		else
			fputc(p[i], out);
	}
	fputc('"', out);
}

static struct coord_client *client_new(const char *name)
{
	struct coord_options o = { .request_timeout_ms = timeout_ms,
				   .name = name };
	struct coord_client *c = NULL;
	int rc = coord_client_new_async(base, endpoints, &o, &c);

	if (rc != COORD_OK) {
		fprintf(stderr, "workload: client: %s\n", coord_strerror(rc));
		exit(1);
	}
	return c;
}

/* ---------------------------------------------------------------------- */
/* register */

enum reg_f { REG_READ, REG_WRITE, REG_CAS };
static const char *const reg_f_name[] = { "read", "write", "cas" };

struct reg_proc {
	unsigned slot;
	uint64_t id;            /* process number in the history */
	struct coord_client *c;
	enum reg_f f;
	unsigned key;
	char from[VALUE_BYTES], to[VALUE_BYTES];
	uint64_t n;             /* operations started */
	/* The last value this client saw per key ("" none yet). */
	char seen[KEYS_MAX][VALUE_BYTES];
};

static struct reg_proc procs[CLIENTS_MAX];

static void reg_line(const struct reg_proc *p, const char *type,
		     const char *read_value, size_t read_len)
{
	char key[16];

	snprintf(key, sizeof(key), "r/%u", p->key);
	fprintf(out, "{\"p\":%" PRIu64 ",\"t\":\"%s\",\"f\":\"%s\",\"k\":",
		p->id, type, reg_f_name[p->f]);
	json_str(key, strlen(key));
	fputs(",\"v\":", out);
	if (p->f == REG_READ)
		json_str(read_value, read_len);
	else if (p->f == REG_WRITE)
		json_str(p->to, strlen(p->to));
	else {
		fputc('[', out);
		json_str(p->from, strlen(p->from));
		fputc(',', out);
		json_str(p->to, strlen(p->to));
		fputc(']', out);
	}
	fputs("}\n", out);
}

static void reg_next(struct reg_proc *p);

static void reg_next_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	reg_next(arg);
}

/* Ends p's operation: type "ok", "fail" or "info"; schedules the next. */
static void reg_done(struct reg_proc *p, const char *type,
		     const char *read_value, size_t read_len)
{
	struct timeval tv = { 0, (long)(wl_rnd(&rng) % 5000) };

	if (closing)
		return;
	reg_line(p, type, read_value, read_len);
	if (strcmp(type, "info") == 0)
		p->id += n_clients;     /* a new process from here on */
	outstanding--;
	if (!stopping)
		event_base_once(base, -1, EV_TIMEOUT, reg_next_cb, p, &tv);
}

static void reg_read_cb(void *arg, coord_err_t code, const struct coord_kvs *r)
{
	struct reg_proc *p = arg;

	if (code != COORD_OK) {
		/* A read changes nothing: an error is a read that did not
		 * happen. */
		reg_done(p, "fail", NULL, 0);
		return;
	}
	if (r->n == 0) {
		p->seen[p->key][0] = '\0';
		reg_done(p, "ok", NULL, 0);
		return;
	}
	snprintf(p->seen[p->key], VALUE_BYTES, "%.*s",
		 (int)r->kvs[0].value_len, (const char *)r->kvs[0].value);
	reg_done(p, "ok", (const char *)r->kvs[0].value, r->kvs[0].value_len);
}

/* A write or cas that failed: outcome unknown unless the code says it
 * was never applied -- the txn's own "compare did not hold", and
 * libcoord's COORD_ENOLEADER and COORD_EUNAVAILABLE (coord.h: nothing
 * was applied), which are recorded "fail" so that the checker holds
 * libcoord to that promise; every other error code is unknown ("info"),
 * which a checker always accepts (it only widens the search). */
static const char *reg_error_type(coord_err_t code)
{
	return code == COORD_ENOLEADER || code == COORD_EUNAVAILABLE ? "fail"
								      : "info";
}

static void reg_write_cb(void *arg, coord_err_t code, uint64_t revision)
{
	struct reg_proc *p = arg;

	(void)revision;
	if (code == COORD_OK) {
		snprintf(p->seen[p->key], VALUE_BYTES, "%s", p->to);
		reg_done(p, "ok", NULL, 0);
	} else {
		reg_done(p, reg_error_type(code), NULL, 0);
	}
}

static void reg_cas_cb(void *arg, coord_err_t code,
		       const struct coord_txn_result *r)
{
	struct reg_proc *p = arg;

	if (code != COORD_OK) {
		reg_done(p, reg_error_type(code), NULL, 0);
		return;
	}
	if (r->succeeded)
		snprintf(p->seen[p->key], VALUE_BYTES, "%s", p->to);
	else
		p->seen[p->key][0] = '\0';
	reg_done(p, r->succeeded ? "ok" : "fail", NULL, 0);
}

static void reg_next(struct reg_proc *p)
{
	char key[16];
	uint64_t roll = wl_rnd(&rng) % 100;
	int rc;

	if (stopping)
		return;
	p->key = (unsigned)(wl_rnd(&rng) % n_keys);
	p->n++;
	snprintf(key, sizeof(key), "r/%u", p->key);
	snprintf(p->to, sizeof(p->to), "c%u-%" PRIu64, p->slot, p->n);
	snprintf(p->from, sizeof(p->from), "%s", p->seen[p->key]);
	/* A cas needs a value to start from: without one, read first. */
	if (roll < 45 || (roll >= 75 && p->from[0] == '\0'))
		p->f = REG_READ;
	else if (roll < 75)
		p->f = REG_WRITE;
	else
		p->f = REG_CAS;
	reg_line(p, "invoke", NULL, 0);
	outstanding++;
	if (p->f == REG_READ) {
		rc = coord_get_async(p->c, key, strlen(key), NULL, reg_read_cb,
				     p);
	} else if (p->f == REG_WRITE) {
		rc = coord_put_async(p->c, key, strlen(key), p->to,
				     strlen(p->to), reg_write_cb, p);
	} else {
		struct coord_compare cmp = {
			.key = key, .key_len = strlen(key),
			.target = COORD_CMP_VALUE, .op = COORD_CMP_EQUAL,
			.value = p->from, .value_len = strlen(p->from),
		};
		struct coord_op put = {
			.type = COORD_OP_PUT, .key = key,
			.key_len = strlen(key), .value = p->to,
			.value_len = strlen(p->to),
		};

		rc = coord_txn_async(p->c, &cmp, 1, &put, 1, NULL, 0,
				     reg_cas_cb, p);
	}
	if (rc != COORD_OK) {
		/* Refused before sending: it never happened. */
		reg_done(p, "fail", NULL, 0);
	}
}

static void reg_run(void)
{
	for (unsigned i = 0; i < n_clients; i++) {
		char name[32];

		snprintf(name, sizeof(name), "fault-reg-%u", i);
		procs[i].slot = i;
		procs[i].id = i;
		procs[i].c = client_new(name);
		reg_next(&procs[i]);
	}
}

/* ---------------------------------------------------------------------- */
/* watch */

struct writer {
	unsigned slot;
	struct coord_client *c;
	char key[16];
	char value[VALUE_BYTES];
	uint64_t n;
};

struct watcher {
	unsigned slot;
	struct coord_client *c;
	struct coord_watch *w;
	uint64_t last_rev;
	bool ended;
};

static struct writer writers[CLIENTS_MAX];
static struct watcher watchers[CLIENTS_MAX];
static struct coord_client *marker_client;
static uint64_t rev_begin, rev_end;
static bool marker_done;

static void put_line(const char *type, unsigned p, const char *key,
		     const char *value, uint64_t rev)
{
	fprintf(out, "{\"t\":\"%s\",\"f\":\"put\",\"p\":%u,\"k\":", type, p);
	json_str(key, strlen(key));
	fputs(",\"v\":", out);
	json_str(value, strlen(value));
	if (rev)
		fprintf(out, ",\"rev\":%" PRIu64, rev);
	fputs("}\n", out);
}

static void writer_next(struct writer *wr);

static void writer_next_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	writer_next(arg);
}

static void writer_cb(void *arg, coord_err_t code, uint64_t revision)
{
	struct writer *wr = arg;
	struct timeval tv = { 0, (long)(wl_rnd(&rng) % 5000) };

	if (closing)
		return;
	put_line(code == COORD_OK ? "ok" : "info", wr->slot, wr->key,
		 wr->value, code == COORD_OK ? revision : 0);
	outstanding--;
	if (!stopping)
		event_base_once(base, -1, EV_TIMEOUT, writer_next_cb, wr, &tv);
}

static void writer_next(struct writer *wr)
{
	if (stopping)
		return;
	wr->n++;
	snprintf(wr->key, sizeof(wr->key), "w/%u",
		 (unsigned)(wl_rnd(&rng) % n_keys));
	snprintf(wr->value, sizeof(wr->value), "c%u-%" PRIu64, wr->slot,
		 wr->n);
	put_line("invoke", wr->slot, wr->key, wr->value, 0);
	outstanding++;
	if (coord_put_async(wr->c, wr->key, strlen(wr->key), wr->value,
			    strlen(wr->value), writer_cb, wr) != COORD_OK) {
		put_line("fail", wr->slot, wr->key, wr->value, 0);
		outstanding--;
	}
}

static void watch_cb(void *arg, coord_err_t code,
		     const struct coord_event *ev, size_t n)
{
	struct watcher *w = arg;

	if (closing)
		return;
	if (code != COORD_OK) {
		fprintf(out, "{\"t\":\"watch-end\",\"w\":%u,\"code\":%d}\n",
			w->slot, (int)code);
		w->ended = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "{\"t\":\"event\",\"w\":%u,\"type\":\"%s\","
			"\"rev\":%" PRIu64 ",\"k\":", w->slot,
			ev[i].type == COORD_EVENT_PUT ? "put" : "delete",
			ev[i].kv.mod_revision);
		json_str(ev[i].kv.key, ev[i].kv.key_len);
		fputs(",\"v\":", out);
		json_str(ev[i].kv.value, ev[i].kv.value_len);
		fputs("}\n", out);
		w->last_rev = ev[i].kv.mod_revision;
	}
}

static void marker_cb(void *arg, coord_err_t code, uint64_t revision)
{
	uint64_t *rev = arg;

	if (code == COORD_OK)
		*rev = revision;
	marker_done = true;
}

/* Puts key = value until it is acknowledged (every try unique), within
 * ms; its revision, or 0. Each try is in the history as a writer p 999. */
static uint64_t marker_put(const char *key, unsigned ms)
{
	uint64_t end = now_ms() + ms;
	unsigned tries = 0;

	while (now_ms() < end) {
		uint64_t rev = 0;
		char value[VALUE_BYTES];

		snprintf(value, sizeof(value), "marker-%u", ++tries);
		put_line("invoke", 999, key, value, 0);
		marker_done = false;
		if (coord_put_async(marker_client, key, strlen(key), value,
				    strlen(value), marker_cb, &rev) != COORD_OK)
			return 0;
		while (!marker_done)
			event_base_loop(base, EVLOOP_ONCE);
		put_line(rev ? "ok" : "info", 999, key, value, rev);
		if (rev)
			return rev;
	}
	return 0;
}

static int watch_run(void)
{
	marker_client = client_new("fault-watch-marker");
	rev_begin = marker_put("w/begin", 60000);
	if (rev_begin == 0) {
		fprintf(stderr, "workload: w/begin was never acknowledged\n");
		return 1;
	}
	fprintf(out, "{\"t\":\"begin\",\"rev\":%" PRIu64 "}\n", rev_begin);
	for (unsigned i = 0; i < n_watchers; i++) {
		char name[32];
		int rc;

		snprintf(name, sizeof(name), "fault-watcher-%u", i);
		watchers[i].slot = i;
		watchers[i].c = client_new(name);
		rc = coord_watch_create(watchers[i].c, "w/", 2, COORD_PREFIX,
					rev_begin, false, watch_cb,
					&watchers[i], &watchers[i].w);
		if (rc != COORD_OK) {
			fprintf(stderr, "workload: watch: %s\n",
				coord_strerror(rc));
			return 1;
		}
	}
	for (unsigned i = 0; i < n_clients; i++) {
		char name[32];

		snprintf(name, sizeof(name), "fault-writer-%u", i);
		writers[i].slot = i;
		writers[i].c = client_new(name);
		writer_next(&writers[i]);
	}
	return 0;
}

/* After the writers stopped: w/end, then every watcher up to it. */
static int watch_finish(void)
{
	uint64_t end;
	int rc = 0;

	rev_end = marker_put("w/end", 120000);
	if (rev_end == 0) {
		fprintf(stderr, "workload: w/end was never acknowledged\n");
		return 1;
	}
	fprintf(out, "{\"t\":\"end\",\"rev\":%" PRIu64 "}\n", rev_end);
	end = now_ms() + 120000;
	for (;;) {
		bool all = true;

		for (unsigned i = 0; i < n_watchers; i++)
			if (!watchers[i].ended &&
			    watchers[i].last_rev < rev_end)
				all = false;
		if (all || now_ms() >= end)
			break;
		event_base_loop(base, EVLOOP_ONCE);
	}
	for (unsigned i = 0; i < n_watchers; i++) {
		if (watchers[i].last_rev < rev_end) {
			fprintf(stderr, "workload: watcher %u stopped at "
				"revision %" PRIu64 " of %" PRIu64 "\n", i,
				watchers[i].last_rev, rev_end);
			rc = 1;
		}
	}
	return rc;
}

/* ---------------------------------------------------------------------- */

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	stopping = true;
}

static void usage(void)
{
	fprintf(stderr, "usage: workload register|watch ENDPOINTS OUT "
		"[--clients N] [--watchers N] [--keys N] [--duration-ms N] "
		"[--timeout-ms N] [--seed N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct timeval tv;
	bool watch;
	uint64_t end;
	int rc = 0;

	if (argc < 4)
		usage();
	if (strcmp(argv[1], "register") == 0)
		watch = false;
	else if (strcmp(argv[1], "watch") == 0)
		watch = true;
	else
		usage();
	endpoints = argv[2];
	for (int i = 4; i < argc; i += 2) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--clients") == 0)
			n_clients = arg_uint(argv[i + 1], 1, CLIENTS_MAX);
		else if (strcmp(argv[i], "--watchers") == 0)
			n_watchers = arg_uint(argv[i + 1], 1, CLIENTS_MAX);
		else if (strcmp(argv[i], "--keys") == 0)
			n_keys = arg_uint(argv[i + 1], 1, KEYS_MAX);
		else if (strcmp(argv[i], "--duration-ms") == 0)
			duration_ms = arg_uint(argv[i + 1], 1, 3600000);
		else if (strcmp(argv[i], "--timeout-ms") == 0)
			timeout_ms = arg_uint(argv[i + 1], 100, 600000);
		else if (strcmp(argv[i], "--seed") == 0)
			rng = arg_uint(argv[i + 1], 1, 4000000000u);
		else
			usage();
	}
	out = fopen(argv[3], "w");
	if (out == NULL) {
		perror(argv[3]);
		return 1;
	}
	base = event_base_new();
	if (base == NULL)
		return 1;
	if (watch ? watch_run() != 0 : (reg_run(), false)) {
		rc = 1;
		goto out;
	}
	tv.tv_sec = duration_ms / 1000;
	tv.tv_usec = (long)(duration_ms % 1000) * 1000;
	event_base_once(base, -1, EV_TIMEOUT, stop_cb, NULL, &tv);
	while (!stopping)
		event_base_loop(base, EVLOOP_ONCE);
	/* Let every open request end (libcoord bounds each by its timeout);
	 * what is still open after that stays open in the history, which
	 * the checkers read as an unknown outcome. */
	end = now_ms() + timeout_ms + 5000;
	while (outstanding > 0 && now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
	if (watch)
		rc = watch_finish();
out:
	closing = true;
	for (unsigned i = 0; i < CLIENTS_MAX; i++) {
		coord_client_free(procs[i].c);
		coord_client_free(writers[i].c);
		coord_client_free(watchers[i].c);
	}
	coord_client_free(marker_client);
	event_base_free(base);
	if (fclose(out) != 0) {
		perror(argv[3]);
		rc = 1;
	}
	return rc;
}
