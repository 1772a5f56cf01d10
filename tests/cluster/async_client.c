/*
 * tests/cluster/async_client.c: libcoord's asynchronous API against a real
 * cluster, for async_client.sh. Usage:
 *   async_client ENDPOINTS DEAD_ENDPOINT LEADER_PID FOLLOWER
 *   async_client gone ENDPOINTS LEADER_PID      (see gone_main())
 *   async_client admin ENDPOINTS                (see phase_admin(); every
 *                                               node up)
 * ENDPOINTS: every node's client address; DEAD_ENDPOINT: a loopback port
 * nobody listens on; LEADER_PID: the leader's coordd, killed (SIGKILL)
 * in the middle of the failover phase; FOLLOWER: the client address of a
 * node that is not the leader (a watch through it spans the kill).
 * Prints "ok PHASE" per phase and exits 0, or prints "FAIL: ..." and
 * exits 1 at the first broken rule.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <event2/event.h>

#include "libcoord/coord.h"
#include "proto/arena.h"
#include "proto/buf.h"
#include "proto/frame.h"
#include "proto/limits.h"
#include "proto/wire.h"

static struct event_base *base;
static const char *endpoints;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2),
						      noreturn));

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

#define CHECK(cond, ...)                                                     \
	do {                                                                 \
		if (!(cond))                                                 \
			fail(__VA_ARGS__);                                   \
	} while (0)

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Runs the loop until *done reaches want, or fails after ms. */
static void run_until(const int *done, int want, unsigned ms, const char *what)
{
	uint64_t end = now_ms() + ms;

	while (*done < want) {
		CHECK(now_ms() < end, "%s: %d of %d callbacks within %u ms",
		      what, *done, want, ms);
		event_base_loop(base, EVLOOP_ONCE);
	}
}

/* Runs the loop for ms, whatever happens. */
static void run_for(unsigned ms)
{
	uint64_t end = now_ms() + ms;

	while (now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
}

static struct coord_client *async_client(unsigned timeout_ms)
{
	struct coord_options o = { .request_timeout_ms = timeout_ms,
				   .name = "async_client" };
	struct coord_client *c = NULL;
	int rc = coord_client_new_async(base, endpoints, &o, &c);

	CHECK(rc == COORD_OK, "coord_client_new_async: %s",
	      coord_strerror(rc));
	return c;
}

/* ---------------------------------------------------------------------- */
/* Callback records. */

struct put_rec {
	int *done;
	int code;
	uint64_t revision;
	bool called;
};

static void put_cb(void *arg, coord_err_t code, uint64_t revision)
{
	struct put_rec *p = arg;

	CHECK(!p->called, "a put callback ran twice");
	p->called = true;
	p->code = code;
	p->revision = revision;
	(*p->done)++;
}

struct get_rec {
	int *done;
	int code;
	size_t n;
	uint64_t count, revision, version, mod_revision, create_revision;
	bool more;
	char value[64];
	size_t value_len;
	char key0[64], key_last[64];
};

static void get_cb(void *arg, coord_err_t code, const struct coord_kvs *r)
{
	struct get_rec *g = arg;

	g->code = code;
	if (code == COORD_OK) {
		CHECK(r != NULL, "get: COORD_OK without a result");
		g->n = r->n;
		g->count = r->count;
		g->more = r->more;
		g->revision = r->revision;
		if (r->n > 0) {
			const struct coord_kv *a = &r->kvs[0];
			const struct coord_kv *z = &r->kvs[r->n - 1];

			CHECK(a->value[a->value_len] == '\0' &&
			      a->key[a->key_len] == '\0',
			      "get: bytes not NUL-terminated");
			snprintf(g->value, sizeof(g->value), "%s",
				 (const char *)a->value);
			g->value_len = a->value_len;
			g->version = a->version;
			g->mod_revision = a->mod_revision;
			g->create_revision = a->create_revision;
			snprintf(g->key0, sizeof(g->key0), "%s",
				 (const char *)a->key);
			snprintf(g->key_last, sizeof(g->key_last), "%s",
				 (const char *)z->key);
		}
	} else {
		CHECK(r == NULL, "get: an error with a result");
	}
	(*g->done)++;
}

static void get_one(struct coord_client *c, const char *key,
		    const struct coord_get_opts *o, struct get_rec *g)
{
	int done = 0;
	int rc;

	memset(g, 0, sizeof(*g));
	g->done = &done;
	rc = coord_get_async(c, key, strlen(key), o, get_cb, g);
	CHECK(rc == COORD_OK, "coord_get_async %s: %s", key,
	      coord_strerror(rc));
	run_until(&done, 1, 15000, "get");
}

static uint64_t put_one(struct coord_client *c, const char *key,
			const char *value)
{
	int done = 0;
	struct put_rec p = { .done = &done };
	int rc = coord_put_async(c, key, strlen(key), value, strlen(value),
				 put_cb, &p);

	CHECK(rc == COORD_OK, "coord_put_async %s: %s", key,
	      coord_strerror(rc));
	run_until(&done, 1, 15000, "put");
	CHECK(p.code == COORD_OK, "put %s: %s (%s)", key,
	      coord_strerror(p.code), coord_errmsg(c));
	CHECK(p.revision > 0, "put %s: revision 0", key);
	return p.revision;
}

/* ---------------------------------------------------------------------- */

static void phase_errors(const char *dead)
{
	struct coord_client *c = NULL;
	struct coord_options o = { .request_timeout_ms = 300,
				   .dial_timeout_ms = 200 };
	char many[17 * 16 + 1] = "";
	char longep[200];
	int done = 0, rc;
	struct put_rec p = { .done = &done };
	struct coord_status st;
	uint64_t t0;

	/* Endpoint lists the library cannot use. */
	static const char *const bad[] = { "", ",", "a:1,,b:2", ",a:1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = coord_client_new_async(base, bad[i], NULL, &c);
		CHECK(rc == COORD_EINVAL, "endpoints \"%s\": %s, not EINVAL",
		      bad[i], coord_strerror(rc));
		CHECK(c != NULL && strstr(coord_errmsg(c), "want host:port"),
		      "endpoints \"%s\": no message", bad[i]);
		coord_client_free(c);
	}
	rc = coord_client_new_async(base, NULL, NULL, &c);
	CHECK(rc == COORD_EINVAL, "NULL endpoints: %s", coord_strerror(rc));
	coord_client_free(c);
	for (int i = 0; i < 17; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
			 "%s127.0.0.1:%d", i ? "," : "", 1000 + i);
	rc = coord_client_new_async(base, many, NULL, &c);
	CHECK(rc == COORD_EINVAL, "17 endpoints: %s", coord_strerror(rc));
	coord_client_free(c);
	memset(longep, 'h', sizeof(longep));
	snprintf(longep + 150, sizeof(longep) - 150, ":1");
	rc = coord_client_new_async(base, longep, NULL, &c);
	CHECK(rc == COORD_EINVAL, "a 152-byte endpoint: %s", coord_strerror(rc));
	coord_client_free(c);
	coord_client_free(NULL);

	/* TLS files that do not exist. */
	o.cacert = "/nonexistent/ca.crt";
	rc = coord_client_new_async(base, dead, &o, &c);
	CHECK(rc == COORD_EINVAL && strstr(coord_errmsg(c), "cannot load CA"),
	      "missing CA: %s / %s", coord_strerror(rc), coord_errmsg(c));
	coord_client_free(c);
	o.cacert = NULL;

	/* A dead endpoint: refused, and said so within the dial round --
	 * COORD_EUNAVAILABLE (never sent, so not applied), not a timeout,
	 * long before the 30 s request timeout (the bound leaves room for a
	 * slow machine). */
	o.request_timeout_ms = 30000;
	rc = coord_client_new_async(base, dead, &o, &c);
	CHECK(rc == COORD_OK, "client for the dead endpoint");
	t0 = now_ms();
	CHECK(coord_put_async(c, "k", 1, "v", 1, put_cb, &p) == COORD_OK,
	      "put_async to the dead endpoint");
	run_until(&done, 1, 20000, "put to a dead endpoint");
	CHECK(p.code == COORD_EUNAVAILABLE, "put to a dead endpoint: %s",
	      coord_strerror(p.code));
	CHECK(now_ms() - t0 < 10000, "EUNAVAILABLE after %" PRIu64 " ms",
	      now_ms() - t0);
	CHECK(strstr(coord_errmsg(c), "Connection refused") != NULL &&
	      strstr(coord_errmsg(c), dead) != NULL,
	      "errmsg \"%s\"", coord_errmsg(c));
	/* A second request after the failed round gets a round of its own
	 * (not the backoff's wait), and the same answer. */
	done = 0;
	p.called = false;
	t0 = now_ms();
	CHECK(coord_put_async(c, "k", 1, "v", 1, put_cb, &p) == COORD_OK,
	      "second put_async to the dead endpoint");
	run_until(&done, 1, 20000, "second put to a dead endpoint");
	CHECK(p.code == COORD_EUNAVAILABLE && now_ms() - t0 < 10000,
	      "second put to a dead endpoint: %s after %" PRIu64 " ms",
	      coord_strerror(p.code), now_ms() - t0);
	coord_client_free(c);

	/* An endpoint that does not resolve (no such service). */
	rc = coord_client_new_async(base, "127.0.0.1:no-such-port", &o, &c);
	CHECK(rc == COORD_OK, "client for an unresolvable endpoint");
	done = 0;
	p.called = false;
	CHECK(coord_put_async(c, "k", 1, "v", 1, put_cb, &p) == COORD_OK,
	      "put_async to an unresolvable endpoint");
	run_until(&done, 1, 20000, "put to an unresolvable endpoint");
	CHECK(p.code == COORD_EUNAVAILABLE &&
	      strstr(coord_errmsg(c), "cannot resolve") != NULL,
	      "unresolvable: %s (%s)", coord_strerror(p.code),
	      coord_errmsg(c));
	coord_client_free(c);
	o.request_timeout_ms = 300;

	/* Status of a dead node: an error, with the reason in errmsg. */
	rc = coord_client_new(endpoints, &o, &c);
	CHECK(rc == COORD_OK, "sync client");
	rc = coord_status(c, dead, &st);
	CHECK(rc != COORD_OK, "status of a dead endpoint succeeded");
	CHECK(strcmp(st.endpoint, dead) == 0, "status names %s", st.endpoint);
	CHECK(coord_errmsg(c)[0] != '\0', "status: no errmsg");
	rc = coord_status(c, "", &st);
	CHECK(rc == COORD_EINVAL, "status of \"\": %s", coord_strerror(rc));
	coord_client_free(c);
	CHECK(strcmp(coord_strerror(-12345), "") != 0, "strerror of junk");
	printf("ok errors\n");
}

/* ---------------------------------------------------------------------- */

#define N_KEYS 40

static void phase_put_get(void)
{
	struct coord_client *c = async_client(15000);
	struct put_rec p[N_KEYS];
	struct get_rec g;
	int done = 0;
	uint64_t rev_first, rev_last, rev_before;
	struct coord_get_opts o;

	/* Pipelined: every put in flight at once, each answered once, each
	 * with a revision of its own. */
	memset(p, 0, sizeof(p));
	for (int i = 0; i < N_KEYS; i++) {
		char k[32], v[32];

		snprintf(k, sizeof(k), "a/%02d", i);
		snprintf(v, sizeof(v), "value-%d", i);
		p[i].done = &done;
		CHECK(coord_put_async(c, k, strlen(k), v, strlen(v), put_cb,
				      &p[i]) == COORD_OK, "put_async %s", k);
	}
	run_until(&done, N_KEYS, 20000, "pipelined puts");
	rev_first = UINT64_MAX;
	rev_last = 0;
	for (int i = 0; i < N_KEYS; i++) {
		CHECK(p[i].code == COORD_OK, "put a/%02d: %s", i,
		      coord_strerror(p[i].code));
		for (int j = 0; j < i; j++)
			CHECK(p[i].revision != p[j].revision,
			      "puts %d and %d share revision %" PRIu64, i, j,
			      p[i].revision);
		if (p[i].revision < rev_first)
			rev_first = p[i].revision;
		if (p[i].revision > rev_last)
			rev_last = p[i].revision;
	}
	CHECK(rev_last - rev_first == N_KEYS - 1,
	      "%d puts span revisions %" PRIu64 "..%" PRIu64, N_KEYS,
	      rev_first, rev_last);

	/* Each reads back with its value, version 1, its revision. */
	for (int i = 0; i < N_KEYS; i += 7) {
		char k[32], v[32];

		snprintf(k, sizeof(k), "a/%02d", i);
		snprintf(v, sizeof(v), "value-%d", i);
		get_one(c, k, NULL, &g);
		CHECK(g.code == COORD_OK && g.n == 1, "get %s: %s n=%zu", k,
		      coord_strerror(g.code), g.n);
		CHECK(strcmp(g.value, v) == 0, "get %s: \"%s\"", k, g.value);
		CHECK(g.version == 1 && g.mod_revision == p[i].revision &&
		      g.create_revision == p[i].revision,
		      "get %s: version %" PRIu64 " mod %" PRIu64, k, g.version,
		      g.mod_revision);
		CHECK(g.revision >= rev_last, "read revision %" PRIu64
		      " before the last put %" PRIu64, g.revision, rev_last);
	}
	/* A missing key: OK, nothing. */
	get_one(c, "a/none", NULL, &g);
	CHECK(g.code == COORD_OK && g.n == 0 && g.count == 0,
	      "missing key: %s n=%zu", coord_strerror(g.code), g.n);

	/* Ranges: prefix, limit, keys only, count only, [key, end),
	 * serializable, from key. */
	memset(&o, 0, sizeof(o));
	o.flags = COORD_PREFIX;
	get_one(c, "a/", &o, &g);
	CHECK(g.n == N_KEYS && g.count == N_KEYS && !g.more &&
	      strcmp(g.key0, "a/00") == 0 && strcmp(g.key_last, "a/39") == 0,
	      "prefix: n=%zu count=%" PRIu64 " %s..%s", g.n, g.count, g.key0,
	      g.key_last);
	o.limit = 5;
	get_one(c, "a/", &o, &g);
	CHECK(g.n == 5 && g.count == N_KEYS && g.more &&
	      strcmp(g.key_last, "a/04") == 0, "limit 5: n=%zu count=%"
	      PRIu64 " more=%d", g.n, g.count, g.more);
	o.limit = 0;
	o.flags = COORD_PREFIX | COORD_KEYS_ONLY;
	get_one(c, "a/", &o, &g);
	CHECK(g.n == N_KEYS && g.value_len == 0 && g.value[0] == '\0',
	      "keys only: n=%zu value \"%s\"", g.n, g.value);
	o.flags = COORD_PREFIX | COORD_COUNT_ONLY;
	get_one(c, "a/", &o, &g);
	CHECK(g.n == 0 && g.count == N_KEYS, "count only: n=%zu count=%"
	      PRIu64, g.n, g.count);
	o.flags = 0;
	o.end = (const uint8_t *)"a/10";
	o.end_len = 4;
	get_one(c, "a/05", &o, &g);
	CHECK(g.n == 5 && strcmp(g.key0, "a/05") == 0 &&
	      strcmp(g.key_last, "a/09") == 0, "[a/05, a/10): n=%zu", g.n);
	memset(&o, 0, sizeof(o));
	o.flags = COORD_FROM_KEY | COORD_SERIALIZABLE;
	get_one(c, "a/35", &o, &g);
	CHECK(g.code == COORD_OK, "serializable: %s", coord_strerror(g.code));
	/* A follower may lag, never invent: at most the 5 keys a/35..a/39
	 * (and any later keys of later phases: none yet). */
	CHECK(g.n <= 5, "from a/35: n=%zu", g.n);

	/* A read at an older revision sees the older value. */
	rev_before = put_one(c, "a/00", "second");
	memset(&o, 0, sizeof(o));
	o.revision = rev_before - 1;
	get_one(c, "a/00", &o, &g);
	CHECK(g.code == COORD_OK && strcmp(g.value, "value-0") == 0 &&
	      g.version == 1, "a/00 at %" PRIu64 ": %s \"%s\"",
	      o.revision, coord_strerror(g.code), g.value);
	get_one(c, "a/00", NULL, &g);
	CHECK(strcmp(g.value, "second") == 0 && g.version == 2 &&
	      g.mod_revision == rev_before, "a/00 now: \"%s\" v%" PRIu64,
	      g.value, g.version);
	/* A revision from the future is refused. */
	o.revision = rev_before + 1000000;
	get_one(c, "a/00", &o, &g);
	CHECK(g.code != COORD_OK, "a read at a future revision succeeded");

	/* Binary keys and values, empty value. */
	{
		static const uint8_t key[] = { 'b', 0, 1, 0xff };
		static const uint8_t val[] = { 0, 'x', 0 };
		struct put_rec pr = { .done = &done };
		struct get_rec gr;

		done = 0;
		CHECK(coord_put_async(c, key, sizeof(key), val, sizeof(val),
				      put_cb, &pr) == COORD_OK, "binary put");
		run_until(&done, 1, 15000, "binary put");
		CHECK(pr.code == COORD_OK, "binary put: %s",
		      coord_strerror(pr.code));
		memset(&gr, 0, sizeof(gr));
		gr.done = &done;
		done = 0;
		CHECK(coord_get_async(c, key, sizeof(key), NULL, get_cb,
				      &gr) == COORD_OK, "binary get");
		run_until(&done, 1, 15000, "binary get");
		CHECK(gr.n == 1 && gr.value_len == sizeof(val) &&
		      gr.mod_revision == pr.revision, "binary get: n=%zu len=%zu",
		      gr.n, gr.value_len);
		put_one(c, "a/empty", "");
		get_one(c, "a/empty", NULL, &gr);
		CHECK(gr.n == 1 && gr.value_len == 0, "empty value: n=%zu len=%zu",
		      gr.n, gr.value_len);
	}
	coord_client_free(c);
	printf("ok put_get\n");
}

/* A range whose reply would pass COORD_RESPONSE_FRAME_BYTES_MAX (16 MiB):
 * 33 values of 512 KiB. The server sends what fits with more set rather
 * than closing the link; with a limit the same range is served. */
static void phase_big_reply(void)
{
	struct coord_client *c = async_client(30000);
	size_t vlen = 512 * 1024;
	char *val = malloc(vlen);
	struct put_rec p[33];
	struct coord_get_opts o;
	struct get_rec g;
	int done = 0;

	CHECK(val != NULL, "malloc");
	memset(val, 'v', vlen);
	memset(p, 0, sizeof(p));
	for (int i = 0; i < 33; i++) {
		char k[16];

		snprintf(k, sizeof(k), "big/%02d", i);
		p[i].done = &done;
		CHECK(coord_put_async(c, k, strlen(k), val, vlen, put_cb,
				      &p[i]) == COORD_OK, "put_async %s", k);
	}
	run_until(&done, 33, 60000, "big puts");
	for (int i = 0; i < 33; i++)
		CHECK(p[i].code == COORD_OK, "put big/%02d: %s", i,
		      coord_strerror(p[i].code));
	memset(&o, 0, sizeof(o));
	o.flags = COORD_PREFIX;
	get_one(c, "big/", &o, &g);
	/* Cut to what fits a response frame, with more set (issue 14 §8:
	 * the server no longer builds a reply it cannot send). */
	CHECK(g.code == COORD_OK && g.more && g.n > 0 && g.n < 33 &&
	      g.count == 33, "a 16.5 MiB range: %s n=%zu more=%d",
	      coord_strerror(g.code), g.n, (int)g.more);
	o.limit = 8;
	get_one(c, "big/", &o, &g);
	CHECK(g.code == COORD_OK && g.n == 8 && g.more && g.count == 33 &&
	      g.value_len == vlen, "the range with limit 8: %s n=%zu",
	      coord_strerror(g.code), g.n);
	/* The connection survived: a small request still works. */
	put_one(c, "big/after", "x");
	free(val);
	coord_client_free(c);
	printf("ok big_reply\n");
}

/* ---------------------------------------------------------------------- */

struct txn_rec {
	int *done;
	int code;
	bool succeeded;
	uint64_t revision;
	size_t n_results;
	size_t get_n;
	char get_value[64];
	uint64_t del_count;
};

static void txn_cb(void *arg, coord_err_t code, const struct coord_txn_result *r)
{
	struct txn_rec *t = arg;

	t->code = code;
	if (code == COORD_OK) {
		t->succeeded = r->succeeded;
		t->revision = r->revision;
		t->n_results = r->n_results;
		for (size_t i = 0; i < r->n_results; i++) {
			if (r->results[i].kvs != NULL) {
				t->get_n = r->results[i].n;
				if (r->results[i].n > 0)
					snprintf(t->get_value,
						 sizeof(t->get_value), "%s",
						 (const char *)r->results[i]
							 .kvs[0].value);
			} else if (i == r->n_results - 1) {
				t->del_count = r->results[i].count;
			}
		}
	}
	(*t->done)++;
}

static void txn_one(struct coord_client *c, const struct coord_compare *cmp,
		    size_t n_cmp, const struct coord_op *then_ops,
		    size_t n_then, const struct coord_op *else_ops,
		    size_t n_else, struct txn_rec *t)
{
	int done = 0;
	int rc;

	memset(t, 0, sizeof(*t));
	t->done = &done;
	rc = coord_txn_async(c, cmp, n_cmp, then_ops, n_then, else_ops, n_else,
			     txn_cb, t);
	CHECK(rc == COORD_OK, "coord_txn_async: %s", coord_strerror(rc));
	run_until(&done, 1, 15000, "txn");
}

static void phase_txn(void)
{
	struct coord_client *c = async_client(15000);
	uint64_t rev = put_one(c, "t/lock", "free");
	struct coord_compare cmp = { .key = "t/lock", .key_len = 6,
				     .target = COORD_CMP_VALUE,
				     .op = COORD_CMP_EQUAL, .value = "free",
				     .value_len = 4 };
	struct coord_op then_ops[] = {
		{ .type = COORD_OP_PUT, .key = "t/lock", .key_len = 6,
		  .value = "held", .value_len = 4 },
		{ .type = COORD_OP_PUT, .key = "t/x1", .key_len = 4,
		  .value = "1", .value_len = 1 },
		{ .type = COORD_OP_PUT, .key = "t/x2", .key_len = 4,
		  .value = "2", .value_len = 1 },
		{ .type = COORD_OP_GET, .key = "t/lock", .key_len = 6 },
	};
	struct coord_op else_ops[] = {
		{ .type = COORD_OP_GET, .key = "t/lock", .key_len = 6 },
		{ .type = COORD_OP_DELETE, .key = "t/x", .key_len = 3,
		  .flags = COORD_PREFIX },
	};
	struct coord_op *too_many;
	struct txn_rec t;
	struct get_rec g;

	/* Compare holds: the then-ops run, in one revision. */
	txn_one(c, &cmp, 1, then_ops, 4, else_ops, 2, &t);
	CHECK(t.code == COORD_OK && t.succeeded && t.n_results == 4,
	      "cas 1: %s succeeded=%d n=%zu", coord_strerror(t.code),
	      t.succeeded, t.n_results);
	CHECK(t.revision == rev + 1, "cas 1 at %" PRIu64 ", want %" PRIu64,
	      t.revision, rev + 1);
	CHECK(t.get_n == 1 && strcmp(t.get_value, "held") == 0,
	      "cas 1 reads \"%s\"", t.get_value);
	get_one(c, "t/x2", NULL, &g);
	CHECK(g.n == 1 && g.mod_revision == t.revision,
	      "t/x2 at %" PRIu64, g.mod_revision);

	/* It no longer holds: the else-ops run (a get and a prefix
	 * delete). */
	txn_one(c, &cmp, 1, then_ops, 4, else_ops, 2, &t);
	CHECK(t.code == COORD_OK && !t.succeeded && t.n_results == 2,
	      "cas 2: %s succeeded=%d n=%zu", coord_strerror(t.code),
	      t.succeeded, t.n_results);
	CHECK(strcmp(t.get_value, "held") == 0 && t.del_count == 2,
	      "cas 2: \"%s\", deleted %" PRIu64, t.get_value, t.del_count);
	get_one(c, "t/x1", NULL, &g);
	CHECK(g.n == 0, "t/x1 survived the delete");

	/* Numeric compares: version, create and mod revisions. */
	{
		struct coord_compare nc[] = {
			{ .key = "t/lock", .key_len = 6,
			  .target = COORD_CMP_VERSION, .op = COORD_CMP_EQUAL,
			  .number = 2 },
			{ .key = "t/lock", .key_len = 6,
			  .target = COORD_CMP_CREATE, .op = COORD_CMP_EQUAL,
			  .number = rev },
			{ .key = "t/lock", .key_len = 6,
			  .target = COORD_CMP_MOD, .op = COORD_CMP_GREATER,
			  .number = rev },
			{ .key = "t/lock", .key_len = 6,
			  .target = COORD_CMP_VALUE,
			  .op = COORD_CMP_NOT_EQUAL, .value = "free",
			  .value_len = 4 },
			{ .key = "t/lock", .key_len = 6,
			  .target = COORD_CMP_LEASE, .op = COORD_CMP_EQUAL,
			  .number = 0 },
		};
		struct coord_compare lt = { .key = "t/lock", .key_len = 6,
					    .target = COORD_CMP_VERSION,
					    .op = COORD_CMP_LESS,
					    .number = 2 };

		txn_one(c, nc, 5, NULL, 0, NULL, 0, &t);
		CHECK(t.code == COORD_OK && t.succeeded && t.n_results == 0,
		      "numeric compares: %s succeeded=%d",
		      coord_strerror(t.code), t.succeeded);
		txn_one(c, &lt, 1, NULL, 0, NULL, 0, &t);
		CHECK(t.code == COORD_OK && !t.succeeded,
		      "version < 2 held for version 2");
	}

	/* More ops than a txn may hold: refused before it is sent. */
	too_many = calloc(129, sizeof(*too_many));
	CHECK(too_many != NULL, "calloc");
	for (int i = 0; i < 129; i++) {
		too_many[i].type = COORD_OP_GET;
		too_many[i].key = "t/lock";
		too_many[i].key_len = 6;
	}
	CHECK(coord_txn_async(c, NULL, 0, too_many, 129, NULL, 0, txn_cb,
			      &t) == COORD_EINVAL, "129 then-ops accepted");
	CHECK(strstr(coord_errmsg(c), "more than 128") != NULL, "errmsg \"%s\"",
	      coord_errmsg(c));
	/* The server's limit (128 by default) holds exactly. */
	txn_one(c, NULL, 0, too_many, 128, NULL, 0, &t);
	CHECK(t.code == COORD_OK && t.succeeded && t.n_results == 128,
	      "128 gets: %s n=%zu", coord_strerror(t.code), t.n_results);
	free(too_many);
	coord_client_free(c);
	printf("ok txn\n");
}

/* ---------------------------------------------------------------------- */

#define W_EVENTS_MAX 64

struct watch_rec {
	int n_calls;
	int n_events;
	int end_code;
	bool ended;
	enum coord_event_type type[W_EVENTS_MAX];
	uint64_t rev[W_EVENTS_MAX];
	char key[W_EVENTS_MAX][32];
	char value[W_EVENTS_MAX][32];
	bool has_prev[W_EVENTS_MAX];
	char prev_value[W_EVENTS_MAX][32];
};

/* An election's observe: counts its changes and how it ended. */
static void observe_cb(void *arg, coord_err_t code,
		       const struct coord_leader *l)
{
	struct watch_rec *w = arg;

	w->n_calls++;
	if (code != COORD_OK) {
		CHECK(!w->ended && l == NULL, "an observe ended twice");
		w->ended = true;
		w->end_code = code;
		return;
	}
	w->n_events++;
}

static void watch_cb(void *arg, coord_err_t code,
		     const struct coord_event *ev, size_t n)
{
	struct watch_rec *w = arg;

	w->n_calls++;
	if (code != COORD_OK) {
		CHECK(!w->ended, "a watch ended twice");
		CHECK(n == 0, "an ended watch with events");
		w->ended = true;
		w->end_code = code;
		return;
	}
	CHECK(!w->ended, "events after the end of a watch");
	CHECK(n > 0, "a watch callback with no events");
	for (size_t i = 0; i < n; i++) {
		int k = w->n_events++;

		CHECK(k < W_EVENTS_MAX, "too many events");
		w->type[k] = ev[i].type;
		w->rev[k] = ev[i].kv.mod_revision;
		snprintf(w->key[k], sizeof(w->key[k]), "%s",
			 (const char *)ev[i].kv.key);
		snprintf(w->value[k], sizeof(w->value[k]), "%s",
			 ev[i].type == COORD_EVENT_PUT
				 ? (const char *)ev[i].kv.value
				 : "");
		w->has_prev[k] = ev[i].has_prev_kv;
		if (ev[i].has_prev_kv)
			snprintf(w->prev_value[k], sizeof(w->prev_value[k]),
				 "%s", (const char *)ev[i].prev_kv.value);
		CHECK(k == 0 || w->rev[k] > w->rev[k - 1],
		      "events out of order: %" PRIu64 " after %" PRIu64,
		      w->rev[k], w->rev[k - 1]);
	}
}

static void run_until_events(struct watch_rec *w, int want, const char *what)
{
	uint64_t end = now_ms() + 15000;

	while (w->n_events < want) {
		CHECK(now_ms() < end, "%s: %d of %d events", what,
		      w->n_events, want);
		event_base_loop(base, EVLOOP_ONCE);
	}
}

static void phase_watch(void)
{
	struct coord_client *c = async_client(15000);
	struct watch_rec *w = calloc(3, sizeof(*w));
	struct coord_watch *h = NULL, *h2 = NULL, *h3 = NULL;
	uint64_t r1, r2, r3, r4;
	struct txn_rec t;
	struct coord_op del = { .type = COORD_OP_DELETE, .key = "w/a",
				.key_len = 3 };
	int rc;

	CHECK(w != NULL, "calloc");
	/* From the next change, with the versions before. */
	rc = coord_watch_create(c, "w/", 2, COORD_PREFIX, 0, true, watch_cb,
				&w[0], &h);
	CHECK(rc == COORD_OK && h != NULL, "watch_create: %s",
	      coord_strerror(rc));
	/* Let the watch settle before writing (a put pipelined right
	 * behind the create is the subject of its own check below). */
	run_for(300);
	r1 = put_one(c, "w/a", "1");
	r2 = put_one(c, "w/a", "2");
	r3 = put_one(c, "w/b", "3");
	put_one(c, "other", "x");       /* outside the prefix */
	txn_one(c, NULL, 0, &del, 1, NULL, 0, &t);
	CHECK(t.code == COORD_OK && t.succeeded, "delete via txn");
	r4 = t.revision;
	run_until_events(&w[0], 4, "watch w/");
	CHECK(w[0].n_events == 4, "watch w/: %d events", w[0].n_events);
	CHECK(w[0].rev[0] == r1 && w[0].rev[1] == r2 && w[0].rev[2] == r3 &&
	      w[0].rev[3] == r4, "watch revisions %" PRIu64 " %" PRIu64
	      " %" PRIu64 " %" PRIu64 ", want %" PRIu64 " %" PRIu64 " %"
	      PRIu64 " %" PRIu64, w[0].rev[0], w[0].rev[1], w[0].rev[2],
	      w[0].rev[3], r1, r2, r3, r4);
	CHECK(w[0].type[0] == COORD_EVENT_PUT && !w[0].has_prev[0] &&
	      strcmp(w[0].value[0], "1") == 0, "event 1");
	CHECK(w[0].has_prev[1] && strcmp(w[0].prev_value[1], "1") == 0 &&
	      strcmp(w[0].value[1], "2") == 0, "event 2: prev \"%s\"",
	      w[0].prev_value[1]);
	CHECK(strcmp(w[0].key[2], "w/b") == 0, "event 3 key %s", w[0].key[2]);
	CHECK(w[0].type[3] == COORD_EVENT_DELETE &&
	      strcmp(w[0].key[3], "w/a") == 0 && w[0].has_prev[3] &&
	      strcmp(w[0].prev_value[3], "2") == 0, "event 4 (delete)");

	/* From a past revision: the history replays, in order. */
	rc = coord_watch_create(c, "w/a", 3, 0, r1, false, watch_cb, &w[1],
				&h2);
	CHECK(rc == COORD_OK, "watch from r1: %s", coord_strerror(rc));
	run_until_events(&w[1], 3, "watch w/a from r1");
	CHECK(w[1].rev[0] == r1 && w[1].rev[1] == r2 && w[1].rev[2] == r4 &&
	      !w[1].has_prev[0], "history of w/a");

	/* Cancelled: nothing more arrives. */
	coord_watch_cancel(c, h);
	coord_watch_cancel(c, h2);
	put_one(c, "w/a", "after-cancel");
	run_for(300);
	CHECK(w[0].n_events == 4 && w[1].n_events == 3 && !w[0].ended,
	      "events after cancel: %d, %d", w[0].n_events, w[1].n_events);

	/* Cancelled before the server named it: never called. */
	rc = coord_watch_create(c, "w/", 2, COORD_PREFIX, r1, false, watch_cb,
				&w[2], &h3);
	CHECK(rc == COORD_OK, "watch 3: %s", coord_strerror(rc));
	coord_watch_cancel(c, h3);
	put_one(c, "w/c", "c");
	run_for(200);
	CHECK(w[2].n_calls == 0, "a watch cancelled at once was called %d times",
	      w[2].n_calls);

	/* A put pipelined right behind a watch from "the next change"
	 * (coord.h: the server anchors it when it takes the create, before
	 * later requests on the connection): the watch must see it. */
	memset(&w[2], 0, sizeof(w[2]));
	rc = coord_watch_create(c, "w/race", 6, 0, 0, false, watch_cb, &w[2],
				&h3);
	CHECK(rc == COORD_OK, "watch w/race: %s", coord_strerror(rc));
	r1 = put_one(c, "w/race", "1");
	run_for(500);
	CHECK(w[2].n_events == 1 && w[2].rev[0] == r1,
	      "watch_create(start 0) then a put at %" PRIu64
	      ": the watch saw %d events", r1, w[2].n_events);

	/* A watch the server refuses (key over the limit) ends with that
	 * code. */
	{
		static char big[4097];
		struct watch_rec *e = calloc(1, sizeof(*e));
		struct coord_watch *eh;

		CHECK(e != NULL, "calloc");
		memset(big, 'k', sizeof(big));
		rc = coord_watch_create(c, big, sizeof(big), 0, 0, false,
					watch_cb, e, &eh);
		CHECK(rc == COORD_OK, "watch of a big key: %s",
		      coord_strerror(rc));
		run_for(500);
		CHECK(e->ended && e->end_code == COORD_EKEYTOOBIG,
		      "watch of a 4097-byte key: ended=%d code %s", e->ended,
		      coord_strerror(e->end_code));
		coord_watch_cancel(c, eh);
		free(e);
	}

	/* Freeing the client ends a live watch with COORD_ECANCELED. */
	coord_client_free(c);
	CHECK(w[2].ended && w[2].end_code == COORD_ECANCELED,
	      "free: watch ended=%d code %d", w[2].ended, w[2].end_code);
	free(w);
	printf("ok watch\n");
}

/* The server caps watches per connection (async_client.sh starts the
 * nodes with --max-watches-per-conn 8): the 9th create is refused and
 * ends that watch with COORD_EINVAL; a cancel frees a place. */
static void phase_watch_limit(void)
{
	struct coord_client *c = async_client(15000);
	struct watch_rec *w = calloc(10, sizeof(*w));
	struct coord_watch *h[10];
	uint64_t rev = put_one(c, "wl/start", "s");
	int rc;

	CHECK(w != NULL, "calloc");
	for (int i = 0; i < 9; i++) {
		rc = coord_watch_create(c, "wl/", 3, COORD_PREFIX, rev + 1, false,
					watch_cb, &w[i], &h[i]);
		CHECK(rc == COORD_OK, "watch %d: %s", i, coord_strerror(rc));
	}
	run_for(500);
	for (int i = 0; i < 8; i++)
		CHECK(!w[i].ended, "watch %d of 8 ended: %s", i,
		      coord_strerror(w[i].end_code));
	CHECK(w[8].ended && w[8].end_code == COORD_EINVAL,
	      "the 9th watch: ended=%d %s", w[8].ended,
	      coord_strerror(w[8].end_code));
	coord_watch_cancel(c, h[8]);
	coord_watch_cancel(c, h[0]);
	rc = coord_watch_create(c, "wl/", 3, COORD_PREFIX, rev + 1, false,
				watch_cb, &w[9], &h[9]);
	CHECK(rc == COORD_OK, "watch after a cancel: %s", coord_strerror(rc));
	put_one(c, "wl/x", "x");
	{
		uint64_t end = now_ms() + 15000;

		while (w[9].n_events < 1 || w[1].n_events < 1) {
			CHECK(now_ms() < end, "watch after a cancel: %d events",
			      w[9].n_events);
			event_base_loop(base, EVLOOP_ONCE);
		}
	}
	CHECK(!w[9].ended && w[0].n_events == 0, "after a cancel: ended=%d, "
	      "the cancelled one saw %d", w[9].ended, w[0].n_events);
	coord_client_free(c);
	free(w);
	printf("ok watch_limit\n");
}

/* ---------------------------------------------------------------------- */

static void cancel_put_cb(void *arg, coord_err_t code, uint64_t revision)
{
	int *counts = arg;

	(void)revision;
	if (code == COORD_ECANCELED)
		counts[0]++;
	else
		counts[1]++;
}

struct free_in_cb {
	struct coord_client *c;
	int calls;
	int sync_code;
};

static void free_from_cb(void *arg, coord_err_t code, uint64_t revision)
{
	struct free_in_cb *f = arg;
	struct coord_kvs *kvs = NULL;

	(void)code;
	(void)revision;
	f->calls++;
	/* A synchronous call from a callback is refused. */
	f->sync_code = coord_get(f->c, "x", 1, NULL, &kvs);
	CHECK(kvs == NULL, "refused get left a result");
	coord_client_free(f->c);
	coord_client_free(f->c);   /* again: only marks it */
}

static void phase_lifecycle(void)
{
	struct coord_client *c = async_client(15000);
	int counts[2] = { 0, 0 };
	struct free_in_cb f;

	/* Outstanding requests are called back with COORD_ECANCELED. */
	for (int i = 0; i < 10; i++)
		CHECK(coord_put_async(c, "l/k", 3, "v", 1, cancel_put_cb,
				      counts) == COORD_OK, "put_async");
	coord_client_free(c);
	CHECK(counts[0] == 10 && counts[1] == 0,
	      "free: %d cancelled, %d other", counts[0], counts[1]);

	/* Freed from inside its own callback. */
	memset(&f, 0, sizeof(f));
	f.c = async_client(15000);
	f.sync_code = -1;
	CHECK(coord_put_async(f.c, "l/k", 3, "v", 1, free_from_cb, &f) ==
	      COORD_OK, "put_async");
	{
		uint64_t end = now_ms() + 15000;

		while (f.calls == 0) {
			CHECK(now_ms() < end, "free_from_cb never ran");
			event_base_loop(base, EVLOOP_ONCE);
		}
	}
	CHECK(f.calls == 1 && f.sync_code == COORD_EINVAL,
	      "sync call from a callback: %d", f.sync_code);
	printf("ok lifecycle\n");
}

/* ---------------------------------------------------------------------- */

static void sync_watch_cb(void *arg, coord_err_t code,
			  const struct coord_event *ev, size_t n)
{
	struct coord_client *c = arg;

	if (code == COORD_OK && n > 0 && ev[n - 1].kv.value_len == 4 &&
	    memcmp(ev[n - 1].kv.value, "stop", 4) == 0)
		coord_client_stop(c);
}

static void phase_sync(const char *const *eps, size_t n_eps)
{
	struct coord_client *c = NULL, *c2 = NULL;
	struct coord_member *m = NULL;
	struct coord_watch *w = NULL;
	size_t n = 0;
	uint64_t leader = 0, rev;
	int rc;

	rc = coord_client_new(endpoints, NULL, &c);
	CHECK(rc == COORD_OK, "coord_client_new");
	rc = coord_member_list(c, &m, &n);
	CHECK(rc == COORD_OK, "member_list: %s (%s)", coord_strerror(rc),
	      coord_errmsg(c));
	CHECK(n == n_eps, "%zu members, want %zu", n, n_eps);
	for (size_t i = 0; i < n; i++) {
		bool found = false;

		for (size_t j = 0; j < n_eps; j++) {
			char name[16];

			snprintf(name, sizeof(name), "n%zu", j + 1);
			if (strcmp(m[i].name, name) == 0) {
				found = true;
				CHECK(m[i].id == coord_member_id(name),
				      "member %s: id %" PRIx64, name, m[i].id);
			}
		}
		CHECK(found, "member \"%s\" is not n1..n%zu", m[i].name, n_eps);
		CHECK(strncmp(m[i].peer_addr, "127.0.0.1:", 10) == 0,
		      "member %s: peer_addr \"%s\"", m[i].name, m[i].peer_addr);
		CHECK(!m[i].learner, "member %s a learner", m[i].name);
	}
	coord_members_free(m);
	coord_members_free(NULL);

	/* Each node names itself, and all name one leader. */
	for (size_t i = 0; i < n_eps; i++) {
		struct coord_status st;
		char name[16];

		snprintf(name, sizeof(name), "n%zu", i + 1);
		rc = coord_status(c, eps[i], &st);
		CHECK(rc == COORD_OK, "status %s: %s (%s)", eps[i],
		      coord_strerror(rc), coord_errmsg(c));
		CHECK(strcmp(st.name, name) == 0 &&
		      st.node_id == coord_member_id(name),
		      "status %s: name %s", eps[i], st.name);
		CHECK(st.term > 0 && st.applied_index > 0 &&
		      st.commit_index >= st.applied_index && st.revision > 0,
		      "status %s: term %" PRIu64 " applied %" PRIu64, eps[i],
		      st.term, st.applied_index);
		CHECK(st.leader != 0 && (leader == 0 || st.leader == leader),
		      "status %s: leader %" PRIx64 " vs %" PRIx64, eps[i],
		      st.leader, leader);
		leader = st.leader;
	}

	/* coord_client_run: a watch callback stops it. */
	rc = coord_watch_create(c, "s/", 2, COORD_PREFIX, 0, false,
				sync_watch_cb, c, &w);
	CHECK(rc == COORD_OK, "sync watch: %s", coord_strerror(rc));
	coord_client_run(c, 300);
	rc = coord_client_new(endpoints, NULL, &c2);
	CHECK(rc == COORD_OK, "second client");
	rc = coord_put(c2, "s/x", 3, "stop", 4, &rev);
	CHECK(rc == COORD_OK && rev > 0, "put s/x: %s", coord_strerror(rc));
	{
		uint64_t t0 = now_ms();

		coord_client_run(c, 0);    /* until the callback stops it */
		CHECK(now_ms() - t0 < 15000, "run took %" PRIu64 " ms",
		      now_ms() - t0);
	}
	coord_watch_cancel(c, w);

	/* Deletes: one key, a prefix, a missing key, a key over the limit. */
	{
		uint64_t deleted = 99, drev = 0, prev;
		static char big[4097];

		CHECK(coord_put(c, "d/1", 3, "1", 1, NULL) == COORD_OK &&
		      coord_put(c, "d/2", 3, "2", 1, NULL) == COORD_OK &&
		      coord_put(c, "d/3", 3, "3", 1, &prev) == COORD_OK,
		      "puts d/*");
		rc = coord_delete(c, "d/1", 3, 0, &deleted, &drev);
		CHECK(rc == COORD_OK && deleted == 1 && drev == prev + 1,
		      "delete d/1: %s deleted=%" PRIu64 " rev %" PRIu64,
		      coord_strerror(rc), deleted, drev);
		rc = coord_delete(c, "d/", 2, COORD_PREFIX, &deleted, NULL);
		CHECK(rc == COORD_OK && deleted == 2, "delete d/ prefix: %s "
		      "deleted=%" PRIu64, coord_strerror(rc), deleted);
		rc = coord_delete(c, "d/none", 6, 0, &deleted, NULL);
		CHECK(rc == COORD_OK && deleted == 0, "delete a missing key: %s "
		      "deleted=%" PRIu64, coord_strerror(rc), deleted);
		memset(big, 'k', sizeof(big));
		rc = coord_delete(c, big, sizeof(big), 0, NULL, NULL);
		CHECK(rc == COORD_EKEYTOOBIG, "delete of a 4097-byte key: %s",
		      coord_strerror(rc));
		rc = coord_put(c, big, sizeof(big), "v", 1, NULL);
		CHECK(rc == COORD_EKEYTOOBIG, "put of a 4097-byte key: %s",
		      coord_strerror(rc));
	}
	coord_client_free(c2);
	coord_client_free(c);
	printf("ok sync\n");
}

/* ---------------------------------------------------------------------- */

#define FO_TOTAL 300
#define FO_INFLIGHT 16
#define FO_KILL_AT 60

struct fo_put {
	int idx;
	bool counter;           /* a put to fo/ctr, else to fo/<idx> */
	int code;
	uint64_t revision;
	bool called;
};

static struct fo_state {
	struct coord_client *c;
	struct fo_put puts[FO_TOTAL];
	int sent, done, acked;
	pid_t leader;
	bool killed;
} fo;

static void fo_send(void);

static void fo_cb(void *arg, coord_err_t code, uint64_t revision)
{
	struct fo_put *p = arg;

	CHECK(!p->called, "failover: put %d answered twice", p->idx);
	p->called = true;
	p->code = code;
	p->revision = revision;
	fo.done++;
	if (code == COORD_OK)
		fo.acked++;
	if (fo.acked >= FO_KILL_AT && !fo.killed) {
		fo.killed = true;
		CHECK(kill(fo.leader, SIGKILL) == 0, "kill -9 %d", (int)fo.leader);
	}
	fo_send();
}

static void fo_send(void)
{
	while (fo.sent < FO_TOTAL && fo.sent - fo.done < FO_INFLIGHT) {
		struct fo_put *p = &fo.puts[fo.sent];
		char k[32], v[32];

		p->idx = fo.sent++;
		p->counter = p->idx % 2 == 1;
		snprintf(k, sizeof(k), p->counter ? "fo/ctr" : "fo/%04d",
			 p->idx);
		snprintf(v, sizeof(v), "v%d", p->idx);
		CHECK(coord_put_async(fo.c, k, strlen(k), v, strlen(v), fo_cb,
				      p) == COORD_OK, "failover put_async");
	}
}

/* A watch of fo/ through a follower that outlives the leader: every
 * event once, in revision order, across the leader change. */
static struct fo_watch {
	int seen[FO_TOTAL];
	int ctr_events;
	uint64_t last_rev;
} fw;

static void fo_watch_cb(void *arg, coord_err_t code,
			const struct coord_event *ev, size_t n)
{
	(void)arg;
	CHECK(code == COORD_OK, "follower watch ended: %s",
	      coord_strerror(code));
	for (size_t i = 0; i < n; i++) {
		const char *k = (const char *)ev[i].kv.key;

		CHECK(ev[i].kv.mod_revision > fw.last_rev,
		      "follower watch: %" PRIu64 " after %" PRIu64,
		      ev[i].kv.mod_revision, fw.last_rev);
		fw.last_rev = ev[i].kv.mod_revision;
		if (strcmp(k, "fo/ctr") == 0)
			fw.ctr_events++;
		else if (strcmp(k, "fo/start") != 0)
			fw.seen[atoi(k + 3)]++;
	}
}

static void phase_failover(pid_t leader, const char *follower)
{
	struct coord_client *v, *wc = NULL;
	struct coord_watch *wh = NULL;
	struct coord_options wo = { .request_timeout_ms = 20000 };
	int counter_acked = 0, counter_failed = 0, failed = 0;
	uint64_t rev_max = 0;
	struct coord_kvs *r = NULL;
	int rc;

	memset(&fo, 0, sizeof(fo));
	memset(&fw, 0, sizeof(fw));
	fo.leader = leader;
	fo.c = async_client(20000);
	/* The follower's watch starts at an explicit revision (no start
	 * read, which would send it to the leader). */
	rc = coord_client_new_async(base, follower, &wo, &wc);
	CHECK(rc == COORD_OK, "client of the follower %s", follower);
	fw.last_rev = put_one(fo.c, "fo/start", "s");
	rc = coord_watch_create(wc, "fo/", 3, COORD_PREFIX, fw.last_rev + 1,
				false, fo_watch_cb, NULL, &wh);
	CHECK(rc == COORD_OK, "follower watch: %s", coord_strerror(rc));
	run_for(300);
	fo_send();
	run_until(&fo.done, FO_TOTAL, 60000, "failover puts");
	CHECK(fo.killed, "the leader was never killed");
	for (int i = 0; i < FO_TOTAL; i++)
		if (fo.puts[i].code == COORD_OK && fo.puts[i].revision > rev_max)
			rev_max = fo.puts[i].revision;
	{
		uint64_t end = now_ms() + 20000;

		while (fw.last_rev < rev_max) {
			CHECK(now_ms() < end, "follower watch at %" PRIu64
			      ", the last put at %" PRIu64, fw.last_rev,
			      rev_max);
			event_base_loop(base, EVLOOP_ONCE);
		}
	}

	/* Verified through a fresh synchronous client. */
	rc = coord_client_new(endpoints, NULL, &v);
	CHECK(rc == COORD_OK, "verify client");
	for (int i = 0; i < FO_TOTAL; i++) {
		const struct fo_put *p = &fo.puts[i];
		char k[32], want[32];

		CHECK(p->called, "put %d never answered", i);
		if (p->counter) {
			if (p->code == COORD_OK)
				counter_acked++;
			else
				counter_failed++;
			continue;
		}
		if (p->code != COORD_OK) {
			/* COORD_ETIMEDOUT: may or may not have been applied
			 * (at most once); COORD_ENOLEADER, COORD_EUNAVAILABLE:
			 * not applied (checked below). */
			CHECK(p->code == COORD_ETIMEDOUT ||
			      p->code == COORD_ENOLEADER ||
			      p->code == COORD_EUNAVAILABLE, "put %d: %s", i,
			      coord_strerror(p->code));
			failed++;
		}
		snprintf(k, sizeof(k), "fo/%04d", i);
		snprintf(want, sizeof(want), "v%d", i);
		rc = coord_get(v, k, strlen(k), NULL, &r);
		CHECK(rc == COORD_OK, "get %s: %s", k, coord_strerror(rc));
		if (p->code == COORD_ENOLEADER || p->code == COORD_EUNAVAILABLE)
			CHECK(r->n == 0, "%s: %s, yet applied", k,
			      coord_strerror(p->code));
		if (p->code == COORD_OK) {
			CHECK(r->n == 1, "acknowledged %s is gone", k);
			CHECK(r->kvs[0].mod_revision == p->revision,
			      "%s at %" PRIu64 ", acknowledged at %" PRIu64, k,
			      r->kvs[0].mod_revision, p->revision);
		}
		CHECK(fw.seen[i] == (int)r->n, "follower watch saw %s %d "
		      "times, the store has it %zu", k, fw.seen[i], r->n);
		if (r->n == 1) {
			CHECK(strcmp((const char *)r->kvs[0].value, want) == 0,
			      "%s = \"%s\"", k, (const char *)r->kvs[0].value);
			CHECK(r->kvs[0].version == 1,
			      "%s applied %" PRIu64 " times", k,
			      r->kvs[0].version);
		}
		coord_kvs_free(r);
		r = NULL;
	}
	/* Every put to fo/ctr bumped its version exactly once. */
	rc = coord_get(v, "fo/ctr", 6, NULL, &r);
	CHECK(rc == COORD_OK && r->n == 1, "get fo/ctr: %s",
	      coord_strerror(rc));
	CHECK(r->kvs[0].version >= (uint64_t)counter_acked &&
	      r->kvs[0].version <= (uint64_t)(counter_acked + counter_failed),
	      "fo/ctr: version %" PRIu64 " after %d acknowledged (+%d timed "
	      "out) puts", r->kvs[0].version, counter_acked, counter_failed);
	CHECK((uint64_t)fw.ctr_events == r->kvs[0].version,
	      "follower watch saw %d puts of fo/ctr, version %" PRIu64,
	      fw.ctr_events, r->kvs[0].version);
	coord_kvs_free(r);
	coord_watch_cancel(wc, wh);
	coord_client_free(wc);
	coord_client_free(v);
	coord_client_free(fo.c);
	printf("ok failover (%d acknowledged, %d timed out, fo/ctr x%d)\n",
	       fo.acked, FO_TOTAL - fo.acked, counter_acked);
	CHECK(failed + counter_failed == FO_TOTAL - fo.acked, "count");
}

/*
 * "gone" mode: a client idle past the servers' --client-idle-ms (the
 * script starts them with 1000) is forgotten by the next expiry, which a
 * new leader proposes at once: the client's next write is answered
 * COORD_ECLIENTGONE, applied nothing, and libcoord sends it again under
 * a new client id -- so the caller sees one success and one application.
 */
static int gone_main(pid_t leader)
{
	struct coord_client *c = async_client(20000);
	struct get_rec g;
	uint64_t r1, r2;

	r1 = put_one(c, "gone/k", "1");
	/* The cluster's clock moves only with committed entries (and a new
	 * leader carries it on from the last one): another client writes
	 * for 2 s, so that c is idle for 2 s of cluster time. */
	{
		struct coord_client *b = async_client(20000);
		uint64_t end = now_ms() + 2000;

		while (now_ms() < end) {
			put_one(b, "gone/tick", "t");
			run_for(100);
		}
		coord_client_free(b);
	}
	CHECK(kill(leader, SIGTERM) == 0, "kill -TERM %d", (int)leader);
	/* Not our child: poll until it is gone (bash reaps it). */
	for (int i = 0; kill(leader, 0) == 0; i++) {
		CHECK(i < 200, "the leader %d did not stop", (int)leader);
		usleep(50 * 1000);
	}
	/* The new leader proposes the expiry at its first tick. */
	run_for(3000);
	r2 = put_one(c, "gone/k", "2");
	CHECK(r2 > r1, "second put at %" PRIu64 " after %" PRIu64, r2, r1);
	get_one(c, "gone/k", NULL, &g);
	CHECK(g.code == COORD_OK && g.n == 1 && strcmp(g.value, "2") == 0 &&
	      g.version == 2 && g.mod_revision == r2,
	      "gone/k: \"%s\" version %" PRIu64 " at %" PRIu64, g.value,
	      g.version, g.mod_revision);
	coord_client_free(c);
	event_base_free(base);
	printf("PASS gone\n");
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Admin requests libcoord does not offer (COMPACT, TRANSFER_LEADER), sent
 * by hand with proto/'s encoders on a blocking connection. */

static int raw_fd = -1;
static uint64_t raw_req_id;

static void raw_send(struct proto_request *rq)
{
	struct proto_buf b;
	size_t mark;
	int rc;

	rq->request_id = ++raw_req_id;
	proto_buf_init(&b, NULL);
	rc = proto_frame_begin(&b, &mark);
	if (rc == COORD_OK)
		rc = proto_request_encode(rq, &b);
	if (rc == COORD_OK)
		rc = proto_frame_end(&b, mark, COORD_REQUEST_FRAME_BYTES_MAX);
	CHECK(rc == COORD_OK, "encoding %s", proto_kind_name(rq->kind));
	CHECK(send(raw_fd, b.data, b.len, MSG_NOSIGNAL) == (ssize_t)b.len,
	      "raw send");
	proto_buf_close(&b);
}

/* The reply to the last request (pushes skipped): its code. */
static int raw_reply(struct proto_arena *arena, struct proto_response *r)
{
	for (;;) {
		uint8_t hdr[PROTO_FRAME_HEADER_BYTES], *body;
		size_t len;
		uint32_t kind;

		CHECK(recv(raw_fd, hdr, sizeof(hdr), MSG_WAITALL) ==
		      (ssize_t)sizeof(hdr), "raw recv header");
		len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 |
		      (size_t)hdr[2] << 8 | hdr[3];
		body = proto_arena_alloc(arena, len);
		CHECK(body != NULL, "arena");
		CHECK(recv(raw_fd, body, len, MSG_WAITALL) == (ssize_t)len,
		      "raw recv body");
		CHECK(proto_server_msg_kind(body, len, &kind) == COORD_OK,
		      "raw kind");
		if (kind >= PROTO_PUSH_FIRST)
			continue;
		CHECK(proto_response_decode(body, len, arena, r) == COORD_OK,
		      "raw decode");
		if (r->request_id == raw_req_id)
			return r->code;
	}
}

/* Sends rq to endpoint (after a HELLO); returns the reply's code. */
static int raw_call(const char *endpoint, struct proto_request *rq)
{
	struct sockaddr_in sa;
	struct proto_request h;
	struct proto_response r;
	struct proto_arena arena;
	const char *colon = strrchr(endpoint, ':');
	struct timeval tv = { 10, 0 };
	char host[64];
	int code;

	CHECK(colon != NULL && (size_t)(colon - endpoint) < sizeof(host),
	      "endpoint %s", endpoint);
	memcpy(host, endpoint, (size_t)(colon - endpoint));
	host[colon - endpoint] = '\0';
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	CHECK(inet_pton(AF_INET, host, &sa.sin_addr) == 1, "host %s", host);
	raw_fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(raw_fd >= 0, "socket");
	setsockopt(raw_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(raw_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(raw_fd);
		return COORD_EIO;
	}
	proto_arena_init(&arena, NULL);
	memset(&h, 0, sizeof(h));
	h.kind = PROTO_HELLO;
	h.u.hello.version = PROTO_VERSION;
	h.u.hello.client_name = proto_bytes_make("async_client raw", 16);
	raw_send(&h);
	CHECK(raw_reply(&arena, &r) == COORD_OK, "raw hello");
	raw_send(rq);
	code = raw_reply(&arena, &r);
	proto_arena_close(&arena);
	close(raw_fd);
	return code;
}

/* The endpoint whose node leads, by asking each for its status. */
static int leader_ep(struct coord_client *c, const char *const *eps,
		     size_t n_eps, uint64_t *ids)
{
	int leader = -1;

	for (size_t i = 0; i < n_eps; i++) {
		struct coord_status st;

		ids[i] = 0;
		if (coord_status(c, eps[i], &st) != COORD_OK)
			continue;
		ids[i] = st.node_id;
		if (st.leader == st.node_id)
			leader = (int)i;
	}
	return leader;
}

static void phase_admin(const char *const *eps, size_t n_eps)
{
	struct coord_client *c = NULL;
	struct proto_request rq;
	struct coord_get_opts o;
	struct coord_kvs *r = NULL;
	struct coord_watch *w = NULL;
	struct watch_rec *wr = calloc(1, sizeof(*wr));
	uint64_t ids[16], r1, r2, target = 0;
	int l = -1, f = -1, rc;

	CHECK(wr != NULL, "calloc");
	CHECK(coord_client_new(endpoints, NULL, &c) == COORD_OK, "client");
	CHECK(coord_put(c, "c/k", 3, "1", 1, &r1) == COORD_OK &&
	      coord_put(c, "c/k", 3, "2", 1, &r2) == COORD_OK, "puts c/k");
	for (uint64_t end = now_ms() + 15000; l < 0 && now_ms() < end;)
		l = leader_ep(c, eps, n_eps, ids);
	CHECK(l >= 0, "no leader");
	for (size_t i = 0; i < n_eps; i++)
		if ((int)i != l && ids[i] != 0)
			f = (int)i;
	CHECK(f >= 0, "no live follower");

	/* COMPACT at r2: a follower refuses it, the leader applies it;
	 * reads and watches below r2 are then COORD_ECOMPACTED. */
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_COMPACT;
	rq.u.compact.revision = r2;    /* client 0: no exactly-once */
	rc = raw_call(eps[f], &rq);
	CHECK(rc == COORD_ENOTLEADER, "COMPACT at a follower: %s",
	      coord_strerror(rc));
	rc = raw_call(eps[l], &rq);
	CHECK(rc == COORD_OK, "COMPACT at %" PRIu64 ": %s", r2,
	      coord_strerror(rc));
	memset(&o, 0, sizeof(o));
	o.revision = r1;
	rc = coord_get(c, "c/k", 3, &o, &r);
	CHECK(rc == COORD_ECOMPACTED, "a read at %" PRIu64 " after COMPACT "
	      "at %" PRIu64 ": %s", r1, r2, coord_strerror(rc));
	coord_kvs_free(r);
	o.revision = r2;
	rc = coord_get(c, "c/k", 3, &o, &r);
	CHECK(rc == COORD_OK && r->n == 1 &&
	      strcmp((const char *)r->kvs[0].value, "2") == 0,
	      "a read at the compaction revision: %s", coord_strerror(rc));
	coord_kvs_free(r);
	rc = coord_watch_create(c, "c/k", 3, 0, r1, false, watch_cb, wr, &w);
	CHECK(rc == COORD_OK, "watch from r1: %s", coord_strerror(rc));
	coord_client_run(c, 500);
	CHECK(wr->ended && wr->end_code == COORD_ECOMPACTED && wr->n_events == 0,
	      "a watch from before the compaction: ended=%d %s", wr->ended,
	      coord_strerror(wr->end_code));
	coord_watch_cancel(c, w);
	/* An election's observe from before it: the same. */
	memset(wr, 0, sizeof(*wr));
	rc = coord_election_observe(c, "c-elect", 7, r1, observe_cb, wr, &w);
	CHECK(rc == COORD_OK, "observe from r1: %s", coord_strerror(rc));
	coord_client_run(c, 500);
	CHECK(wr->ended && wr->end_code == COORD_ECOMPACTED && wr->n_events == 0,
	      "an observe from before the compaction: ended=%d %s", wr->ended,
	      coord_strerror(wr->end_code));
	coord_watch_cancel(c, w);

	/* TRANSFER_LEADER to the follower: it leads within a few seconds. */
	target = ids[f];
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_TRANSFER_LEADER;
	rq.u.member.id = target;
	rc = raw_call(eps[l], &rq);
	CHECK(rc == COORD_OK, "TRANSFER_LEADER: %s", coord_strerror(rc));
	for (uint64_t end = now_ms() + 10000;;) {
		struct coord_status st;

		if (coord_status(c, eps[f], &st) == COORD_OK &&
		    st.leader == target)
			break;
		CHECK(now_ms() < end, "n%d does not lead 10 s after the "
		      "transfer", f + 1);
		usleep(100 * 1000);
	}
	/* To 0: any other voter. */
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_TRANSFER_LEADER;
	rc = raw_call(eps[f], &rq);
	CHECK(rc == COORD_OK, "TRANSFER_LEADER to 0: %s", coord_strerror(rc));
	for (uint64_t end = now_ms() + 10000;;) {
		struct coord_status st;

		if (coord_status(c, eps[f], &st) == COORD_OK &&
		    st.leader != 0 && st.leader != target)
			break;
		CHECK(now_ms() < end, "n%d still leads 10 s after a transfer "
		      "to any", f + 1);
		usleep(100 * 1000);
	}
	CHECK(coord_put(c, "c/after", 7, "x", 1, NULL) == COORD_OK,
	      "put after the transfers");
	coord_client_free(c);
	free(wr);
	printf("ok admin\n");
}

int main(int argc, char **argv)
{
	const char *eps[16];
	size_t n_eps = 0;
	char *copy;

	if (argc == 4 && strcmp(argv[1], "gone") == 0) {
		alarm(60);
		endpoints = argv[2];
		base = event_base_new();
		CHECK(base != NULL, "event_base_new");
		return gone_main((pid_t)atol(argv[3]));
	}
	if (argc == 3 && strcmp(argv[1], "admin") == 0) {
		alarm(120);
		endpoints = argv[2];
		copy = strdup(argv[2]);
		CHECK(copy != NULL, "strdup");
		for (char *t = strtok(copy, ","); t != NULL && n_eps < 16;
		     t = strtok(NULL, ","))
			eps[n_eps++] = t;
		base = event_base_new();
		CHECK(base != NULL, "event_base_new");
		phase_admin(eps, n_eps);
		event_base_free(base);
		free(copy);
		return 0;
	}
	if (argc != 5) {
		fprintf(stderr, "usage: async_client ENDPOINTS DEAD_ENDPOINT LEADER_PID FOLLOWER\n");
		return 2;
	}
	alarm(240);     /* a hang is a failure, not a stuck make check */
	endpoints = argv[1];
	copy = strdup(argv[1]);
	CHECK(copy != NULL, "strdup");
	for (char *s = strtok(copy, ","); s != NULL && n_eps < 16;
	     s = strtok(NULL, ","))
		eps[n_eps++] = s;
	base = event_base_new();
	CHECK(base != NULL, "event_base_new");
	phase_errors(argv[2]);
	phase_put_get();
	phase_big_reply();
	phase_txn();
	phase_watch();
	phase_watch_limit();
	phase_lifecycle();
	phase_sync(eps, n_eps);
	phase_failover((pid_t)atol(argv[3]), argv[4]);
	event_base_free(base);
	free(copy);
	printf("PASS\n");
	return 0;
}
