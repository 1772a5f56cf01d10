/*
 * tools/bench_kv.c: coord-bench put|get|txn-cas|failover, client load on a
 * running cluster through libcoord's asynchronous API, one event loop.
 *
 * The closed loops are those of etcd-load (shared/bench/etcd/etcd-load),
 * so that the two systems do the same work:
 *   put      each client puts <prefix>/put/<client>/<n> = val-size bytes,
 *            one at a time;
 *   get      each client reads <prefix>/get (written once before the
 *            clock starts), linearizable unless --serializable;
 *   txn-cas  each client reads <prefix>/cas (linearizable), then sends a
 *            txn "if mod_revision(cas) == the revision read then put cas =
 *            value + 1"; one operation is the read and the txn, whether
 *            the compare held (cas_success) or not (cas_conflict).
 * --clients logical clients are spread round-robin over --conns client
 * objects (one connection each); connection i starts at endpoint i mod n,
 * as etcd's client balances its calls over every endpoint (puts follow the
 * leader hints to the leader). The clock starts once every connection has
 * answered one request. With --seconds the run ends at the deadline and
 * operations still in flight are not counted (etcd-load cancels them);
 * with --total it ends when that many have finished.
 *
 * failover: --clients closed-loop putters (5 ms pause after an error, each
 * put bounded by --timeout-ms, 1000 by default, like etcd-load's failover
 * putters) plus a prober that starts one put every --probe-ms on a client
 * object of its own. Another process (scripts/bench-compare) kills the
 * leader and appends the CLOCK_REALTIME nanoseconds taken just before each
 * kill to --kill-log. On SIGTERM or SIGINT (or after --seconds) the tool
 * reads that file and reports, for every kill, the time from the kill to
 * the first successful put that was *sent* after it: a write the old
 * leader can no longer have answered, so it was committed under the new
 * one (etcd-load checks the reply's term instead; sending after the kill
 * is the stricter test, late by at most --probe-ms).
 */
#include "tools/bench_kv.h"
#include "tools/bench_util.h"
#include "libcoord/coord.h"

#include <event2/event.h>

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define KEY_BYTES_MAX 4096
#define CONNS_MAX 1024
#define CLIENTS_MAX 100000
#define RETRY_PAUSE_MS 5

enum workload { W_PUT, W_GET, W_TXN_CAS, W_FAILOVER };

struct opts {
	const char *endpoints;
	int clients;
	int conns;
	uint64_t total;
	double seconds;
	size_t key_size;
	size_t val_size;
	bool serializable;
	unsigned timeout_ms;
	const char *label;
	const char *cpu_pids;
	const char *kill_log;
	unsigned probe_ms;
};

struct bench;

struct worker {
	struct bench *b;
	int id;
	struct coord_client *c;
	uint64_t n;                 /* operations started */
	uint64_t t_start_ns;        /* monotonic, of the operation in flight */
	uint64_t t_start_rt_ns;     /* realtime, failover */
	struct event *retry_ev;
};


struct probe {
	struct bench *b;
	uint64_t sent_rt_ns;
};

struct bench {
	enum workload wl;
	const char *wl_name;
	struct opts o;
	struct event_base *base;
	struct coord_client **conns;
	int n_conns;
	struct coord_client *prober;
	struct worker *w;
	char prefix[96];
	uint8_t *val;
	char get_key[160];
	char cas_key[160];

	bool measuring;
	bool stopped;
	uint64_t issued;
	uint64_t in_flight;
	uint64_t ops, errors, cas_success, cas_conflict;
	uint64_t t0_ns, t_end_ns;
	uint64_t *lat_ns;
	size_t n_lat, cap_lat;
	char last_err[256];

	struct bench_rec *recs;
	size_t n_recs, cap_recs;
	uint64_t probes;

	int setup_pending;
	int setup_failed;
	char setup_err[256];
};

static void lat_add(struct bench *b, uint64_t ns)
{
	if (b->n_lat == b->cap_lat) {
		b->cap_lat = b->cap_lat ? b->cap_lat * 2 : 65536;
		b->lat_ns = bench_xrealloc(b->lat_ns, b->cap_lat * sizeof(*b->lat_ns));
	}
	b->lat_ns[b->n_lat++] = ns;
}

static void rec_add(struct bench *b, uint64_t sent, uint64_t done)
{
	if (b->n_recs == b->cap_recs) {
		b->cap_recs = b->cap_recs ? b->cap_recs * 2 : 65536;
		b->recs = bench_xrealloc(b->recs, b->cap_recs * sizeof(*b->recs));
	}
	b->recs[b->n_recs].sent_rt_ns = sent;
	b->recs[b->n_recs].done_rt_ns = done;
	b->n_recs++;
}

/* Keys as etcd-load makes them, padded with '_' to --key-size (never cut:
 * a longer key keeps its length, so that keys stay distinct). */
static size_t key_fmt(const struct bench *b, char *buf, size_t cap,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static size_t key_fmt(const struct bench *b, char *buf, size_t cap,
		      const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap)
		n = (int)cap - 1;
	if (b->o.key_size > (size_t)n && b->o.key_size < cap) {
		memset(buf + n, '_', b->o.key_size - (size_t)n);
		n = (int)b->o.key_size;
		buf[n] = '\0';
	}
	return (size_t)n;
}

/* ---------------------------------------------------------------------- */
/* The closed loops. */

static void worker_next(struct worker *w);

/* May another operation start? */
static bool may_issue(struct bench *b)
{
	if (b->stopped)
		return false;
	if (b->o.total > 0 && b->wl != W_FAILOVER)
		return ++b->issued <= b->o.total;
	return true;
}

static void finish_if_idle(struct bench *b)
{
	if (b->o.total > 0 && b->wl != W_FAILOVER && b->in_flight == 0 &&
	    b->issued >= b->o.total && !b->stopped) {
		b->t_end_ns = bench_mono_ns();
		b->stopped = true;
		event_base_loopexit(b->base, NULL);
	}
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	worker_next(arg);
}

static void retry_later(struct worker *w)
{
	struct timeval tv = { 0, RETRY_PAUSE_MS * 1000 };

	evtimer_add(w->retry_ev, &tv);
}

/* The end of one operation: counts it, starts the next. */
static void op_end(struct worker *w, int code, const char *what)
{
	struct bench *b = w->b;

	b->in_flight--;
	if (b->stopped)
		return;   /* after the deadline, or freeing: not counted */
	if (code != COORD_OK) {
		b->errors++;
		snprintf(b->last_err, sizeof(b->last_err), "%s: %s (%s)",
			 what, coord_strerror(code), coord_errmsg(w->c));
		if (b->wl == W_FAILOVER) {
			retry_later(w);
			return;
		}
	} else {
		b->ops++;
		if (b->wl == W_FAILOVER)
			rec_add(b, w->t_start_rt_ns, bench_real_ns());
		else
			lat_add(b, bench_mono_ns() - w->t_start_ns);
	}
	worker_next(w);
	finish_if_idle(b);
}

static void put_cb(void *arg, coord_err_t code, uint64_t revision)
{
	(void)revision;
	op_end(arg, code, "put");
}

static void get_cb(void *arg, coord_err_t code, const struct coord_kvs *r)
{
	(void)r;
	op_end(arg, code, "get");
}

static void cas_txn_cb(void *arg, coord_err_t code,
		       const struct coord_txn_result *r)
{
	struct worker *w = arg;

	if (code == COORD_OK && !w->b->stopped) {
		if (r->succeeded)
			w->b->cas_success++;
		else
			w->b->cas_conflict++;
	}
	op_end(w, code, "txn");
}

static void cas_get_cb(void *arg, coord_err_t code, const struct coord_kvs *r)
{
	struct worker *w = arg;
	struct bench *b = w->b;
	struct coord_compare cmp;
	struct coord_op put;
	char num[32];
	long cur;
	int rc;

	if (code != COORD_OK || b->stopped) {
		op_end(w, code, "get");
		return;
	}
	if (r->n == 0) {
		b->in_flight--;
		b->errors++;
		snprintf(b->last_err, sizeof(b->last_err), "cas key missing");
		worker_next(w);
		finish_if_idle(b);
		return;
	}
	cur = strtol((const char *)r->kvs[0].value, NULL, 10);
	snprintf(num, sizeof(num), "%ld", cur + 1);
	memset(&cmp, 0, sizeof(cmp));
	cmp.key = b->cas_key;
	cmp.key_len = strlen(b->cas_key);
	cmp.target = COORD_CMP_MOD;
	cmp.op = COORD_CMP_EQUAL;
	cmp.number = r->kvs[0].mod_revision;
	memset(&put, 0, sizeof(put));
	put.type = COORD_OP_PUT;
	put.key = b->cas_key;
	put.key_len = strlen(b->cas_key);
	put.value = num;
	put.value_len = strlen(num);
	rc = coord_txn_async(w->c, &cmp, 1, &put, 1, NULL, 0, cas_txn_cb, w);
	if (rc != COORD_OK)
		op_end(w, rc, "txn");
}

static void worker_next(struct worker *w)
{
	struct bench *b = w->b;
	struct coord_get_opts go;
	char key[KEY_BYTES_MAX + 1];
	size_t klen;
	int rc = COORD_OK;

	if (!may_issue(b))
		return;
	b->in_flight++;
	w->t_start_ns = bench_mono_ns();
	memset(&go, 0, sizeof(go));
	switch (b->wl) {
	case W_PUT:
	case W_FAILOVER:
		w->t_start_rt_ns = bench_real_ns();
		klen = key_fmt(b, key, sizeof(key), "%s/%s/%d/%" PRIu64,
			       b->prefix, b->wl == W_PUT ? "put" : "foput",
			       w->id, w->n);
		rc = coord_put_async(w->c, key, klen, b->val, b->o.val_size,
				     put_cb, w);
		break;
	case W_GET:
		if (b->o.serializable)
			go.flags = COORD_SERIALIZABLE;
		rc = coord_get_async(w->c, b->get_key, strlen(b->get_key), &go,
				     get_cb, w);
		break;
	case W_TXN_CAS:
		rc = coord_get_async(w->c, b->cas_key, strlen(b->cas_key), &go,
				     cas_get_cb, w);
		break;
	}
	w->n++;
	if (rc != COORD_OK) {
		/* Refused at once (no callback): pause, so that a refusal
		 * cannot recurse. */
		b->in_flight--;
		b->errors++;
		snprintf(b->last_err, sizeof(b->last_err), "submit: %s (%s)",
			 coord_strerror(rc), coord_errmsg(w->c));
		retry_later(w);
	}
}

/* ---------------------------------------------------------------------- */
/* The failover prober. */

static void probe_cb(void *arg, coord_err_t code, uint64_t revision)
{
	struct probe *p = arg;
	struct bench *b = p->b;

	(void)revision;
	b->in_flight--;
	if (!b->stopped) {
		if (code == COORD_OK) {
			b->ops++;
			rec_add(b, p->sent_rt_ns, bench_real_ns());
		} else {
			b->errors++;
		}
	}
	free(p);
}

static void probe_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bench *b = arg;
	struct probe *p;
	char key[KEY_BYTES_MAX + 1];
	size_t klen;

	(void)fd;
	(void)what;
	if (b->stopped)
		return;
	p = bench_xrealloc(NULL, sizeof(*p));
	p->b = b;
	p->sent_rt_ns = bench_real_ns();
	klen = key_fmt(b, key, sizeof(key), "%s/probe/%" PRIu64, b->prefix,
		       b->probes++);
	b->in_flight++;
	if (coord_put_async(b->prober, key, klen, b->val, b->o.val_size,
			    probe_cb, p) != COORD_OK) {
		b->in_flight--;
		b->errors++;
		free(p);
	}
}

/* ---------------------------------------------------------------------- */
/* Setup: the seed key, then one request on every connection. */

static void setup_done(struct bench *b, int code, struct coord_client *c)
{
	b->setup_pending--;
	if (code != COORD_OK && !b->setup_failed) {
		b->setup_failed = code;
		snprintf(b->setup_err, sizeof(b->setup_err), "%s (%s)",
			 coord_strerror(code), coord_errmsg(c));
	}
}

struct setup_arg {
	struct bench *b;
	struct coord_client *c;
};

static void setup_put_cb(void *arg, coord_err_t code, uint64_t revision)
{
	struct setup_arg *s = arg;

	(void)revision;
	setup_done(s->b, code, s->c);
}

static void setup_get_cb(void *arg, coord_err_t code,
			 const struct coord_kvs *r)
{
	struct setup_arg *s = arg;

	if (code == COORD_OK && r->n == 0)
		code = COORD_ENOTFOUND;
	setup_done(s->b, code, s->c);
}

static int setup_wait(struct bench *b)
{
	while (b->setup_pending > 0)
		event_base_loop(b->base, EVLOOP_ONCE);
	if (b->setup_failed) {
		fprintf(stderr, "coord-bench: setup: %s\n", b->setup_err);
		return 1;
	}
	return 0;
}

static int setup(struct bench *b)
{
	struct setup_arg *sa;
	int n = b->n_conns + (b->prober != NULL ? 1 : 0);
	char key[KEY_BYTES_MAX + 1];
	size_t klen;
	int rc;

	sa = bench_xrealloc(NULL, (size_t)(n + 1) * sizeof(*sa));
	/* The seed key. */
	sa[n].b = b;
	sa[n].c = b->conns[0];
	b->setup_pending = 1;
	if (b->wl == W_GET)
		rc = coord_put_async(b->conns[0], b->get_key,
				     strlen(b->get_key), b->val,
				     b->o.val_size, setup_put_cb, &sa[n]);
	else if (b->wl == W_TXN_CAS)
		rc = coord_put_async(b->conns[0], b->cas_key,
				     strlen(b->cas_key), "0", 1,
				     setup_put_cb, &sa[n]);
	else
		rc = (b->setup_pending = 0, COORD_OK);
	if (rc != COORD_OK) {
		fprintf(stderr, "coord-bench: setup: %s\n",
			coord_errmsg(b->conns[0]));
		free(sa);
		return 1;
	}
	if (setup_wait(b) != 0) {
		free(sa);
		return 1;
	}
	/* One request per connection, the workload's first kind: a get
	 * stays on the endpoint it started at, a put finds the leader. */
	for (int i = 0; i < n; i++) {
		struct coord_client *c = i < b->n_conns ? b->conns[i]
							: b->prober;
		struct coord_get_opts go;

		sa[i].b = b;
		sa[i].c = c;
		memset(&go, 0, sizeof(go));
		if (b->o.serializable)
			go.flags = COORD_SERIALIZABLE;
		b->setup_pending++;
		if (b->wl == W_GET) {
			rc = coord_get_async(c, b->get_key, strlen(b->get_key),
					     &go, setup_get_cb, &sa[i]);
		} else if (b->wl == W_TXN_CAS) {
			rc = coord_get_async(c, b->cas_key, strlen(b->cas_key),
					     &go, setup_get_cb, &sa[i]);
		} else {
			klen = key_fmt(b, key, sizeof(key), "%s/warm/%d",
				       b->prefix, i);
			rc = coord_put_async(c, key, klen, b->val,
					     b->o.val_size, setup_put_cb,
					     &sa[i]);
		}
		if (rc != COORD_OK)
			setup_done(b, rc, c);
	}
	rc = setup_wait(b);
	free(sa);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* Reporting. */

static const char *label_or(const struct bench *b)
{
	return b->o.label != NULL && *b->o.label ? b->o.label : "-";
}

static void report_closed(struct bench *b, double cpu_s, double gen_s,
			  const char *la)
{
	double secs = (double)(b->t_end_ns - b->t0_ns) / 1e9;
	const char *name = b->wl_name;

	if (b->wl == W_GET && b->o.serializable)
		name = "get-serializable";
	bench_sort_u64(b->lat_ns, b->n_lat);
	printf("RESULT workload=%s clients=%d conns=%d ops=%" PRIu64
	       " seconds=%.2f ops_per_s=%.1f p50_ms=%.2f p90_ms=%.2f"
	       " p99_ms=%.2f max_ms=%.2f errors=%" PRIu64,
	       name, b->o.clients, b->n_conns, b->ops, secs,
	       secs > 0 ? (double)b->ops / secs : 0.0,
	       bench_pct_ms(b->lat_ns, b->n_lat, 0.50),
	       bench_pct_ms(b->lat_ns, b->n_lat, 0.90),
	       bench_pct_ms(b->lat_ns, b->n_lat, 0.99),
	       bench_pct_ms(b->lat_ns, b->n_lat, 1.0), b->errors);
	if (b->wl == W_TXN_CAS)
		printf(" cas_success=%" PRIu64 " cas_conflict=%" PRIu64
		       " success_per_s=%.1f", b->cas_success, b->cas_conflict,
		       secs > 0 ? (double)b->cas_success / secs : 0.0);
	printf(" label=%s key_size=%zu val_size=%zu coord_cpu_s=%.2f"
	       " gen_cpu_s=%.2f loadavg1=%s\n", label_or(b), b->o.key_size,
	       b->o.val_size, cpu_s, gen_s, la);
	if (b->last_err[0] != '\0')
		fprintf(stderr, "last error: %s\n", b->last_err);
}

static void report_failover(struct bench *b, const char *la)
{
	double ms[256], sorted[256];
	char list[256 * 12] = "";
	size_t used = 0, n_ok = 0;
	int n = bench_kill_delays(b->o.kill_log, b->recs, b->n_recs, ms, 256);

	for (int i = 0; i < n; i++) {
		printf("ROUND workload=failover round=%d put_ms=%.1f\n", i + 1,
		       ms[i]);
		used += (size_t)snprintf(list + used, sizeof(list) - used,
					 "%s%.0f", i ? "," : "", ms[i]);
		/* A kill never followed by a write sorts last. */
		sorted[n_ok++] = ms[i] < 0 ? 1e9 : ms[i];
	}
	printf("RESULT workload=failover clients=%d conns=%d rounds=%zu"
	       " median_put_ms=%.1f put_ms=%s ops=%" PRIu64 " errors=%" PRIu64
	       " probe_ms=%u label=%s loadavg1=%s\n", b->o.clients, b->n_conns,
	       n_ok, bench_median(sorted, n_ok), n_ok ? list : "-", b->ops,
	       b->errors, b->o.probe_ms, label_or(b), la);
	if (b->last_err[0] != '\0')
		fprintf(stderr, "last error: %s\n", b->last_err);
}

/* ---------------------------------------------------------------------- */

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bench *b = arg;

	(void)fd;
	(void)what;
	if (!b->stopped) {
		b->t_end_ns = bench_mono_ns();
		b->stopped = true;
	}
	event_base_loopexit(b->base, NULL);
}

static void signal_cb(evutil_socket_t fd, short what, void *arg)
{
	deadline_cb(fd, what, arg);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: coord-bench put|get|txn-cas [options]\n"
		"       coord-bench failover --kill-log FILE [options]\n"
		"  --endpoints H:P,...  the cluster (default 127.0.0.1:2479,"
		"127.0.0.1:2489,127.0.0.1:2499)\n"
		"  --clients N          concurrent logical clients (default 1;"
		" failover: putters, default 4)\n"
		"  --conns N            connections (client objects) the clients"
		" share (default 1, at most --clients)\n"
		"  --seconds S          run time (default 10; failover: 0, until"
		" SIGTERM/SIGINT)\n"
		"  --total N            stop after N operations instead\n"
		"  --key-size B         pad keys with '_' to B bytes (default 0:"
		" etcd-load's keys)\n"
		"  --val-size B         value bytes (default 256)\n"
		"  --linearizable       get: quorum-confirmed reads (default)\n"
		"  --serializable       get: the connected node's state\n"
		"  --timeout-ms MS      per request, retries included (default"
		" 60000; failover 1000)\n"
		"  --cpu-pids P,P,...   report these processes' CPU seconds"
		" (coord_cpu_s)\n"
		"  --label TEXT         copied into the RESULT line\n"
		"  --kill-log FILE      failover: realtime ns of each kill, one"
		" a line\n"
		"  --probe-ms MS        failover: one probe put every MS"
		" (default 1)\n");
}

static int parse(struct bench *b, int argc, char **argv)
{
	struct opts *o = &b->o;

	o->endpoints = "127.0.0.1:2479,127.0.0.1:2489,127.0.0.1:2499";
	o->clients = b->wl == W_FAILOVER ? 4 : 1;
	o->conns = 0;
	o->seconds = b->wl == W_FAILOVER ? 0 : 10;
	o->val_size = 256;
	o->timeout_ms = b->wl == W_FAILOVER ? 1000 : 60000;
	o->probe_ms = 1;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			exit(0);
		} else if (strcmp(a, "--linearizable") == 0) {
			o->serializable = false;
			continue;
		} else if (strcmp(a, "--serializable") == 0) {
			o->serializable = true;
			continue;
		}
		if (v == NULL) {
			fprintf(stderr, "coord-bench: %s: missing value\n", a);
			return 2;
		}
		i++;
		if (strcmp(a, "--endpoints") == 0)
			o->endpoints = v;
		else if (strcmp(a, "--clients") == 0)
			o->clients = atoi(v);
		else if (strcmp(a, "--conns") == 0)
			o->conns = atoi(v);
		else if (strcmp(a, "--seconds") == 0)
			o->seconds = atof(v);
		else if (strcmp(a, "--total") == 0)
			o->total = strtoull(v, NULL, 10);
		else if (strcmp(a, "--key-size") == 0)
			o->key_size = (size_t)strtoul(v, NULL, 10);
		else if (strcmp(a, "--val-size") == 0)
			o->val_size = (size_t)strtoul(v, NULL, 10);
		else if (strcmp(a, "--timeout-ms") == 0)
			o->timeout_ms = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(a, "--cpu-pids") == 0)
			o->cpu_pids = v;
		else if (strcmp(a, "--label") == 0)
			o->label = v;
		else if (strcmp(a, "--kill-log") == 0)
			o->kill_log = v;
		else if (strcmp(a, "--probe-ms") == 0)
			o->probe_ms = (unsigned)strtoul(v, NULL, 10);
		else {
			fprintf(stderr, "coord-bench %s: unknown argument %s\n",
				b->wl_name, a);
			return 2;
		}
	}
	if (o->clients < 1 || o->clients > CLIENTS_MAX) {
		fprintf(stderr, "coord-bench: --clients: 1..%d\n", CLIENTS_MAX);
		return 2;
	}
	if (o->conns <= 0)
		o->conns = b->wl == W_FAILOVER ? o->clients : 1;
	if (o->conns > o->clients)
		o->conns = o->clients;
	if (o->conns > CONNS_MAX) {
		fprintf(stderr, "coord-bench: --conns: at most %d\n", CONNS_MAX);
		return 2;
	}
	if (o->key_size > KEY_BYTES_MAX || o->val_size > (512u << 10)) {
		fprintf(stderr, "coord-bench: --key-size at most %d, --val-size"
			" at most 512 KiB\n", KEY_BYTES_MAX);
		return 2;
	}
	if (o->seconds < 0 || (b->wl != W_FAILOVER && o->total == 0 &&
			       o->seconds == 0)) {
		fprintf(stderr, "coord-bench: bad --seconds\n");
		return 2;
	}
	if (b->wl == W_FAILOVER && o->kill_log == NULL) {
		fprintf(stderr, "coord-bench failover: --kill-log is needed\n");
		return 2;
	}
	return 0;
}

int bench_kv(const char *workload, int argc, char **argv)
{
	struct bench b;
	struct coord_options co;
	struct event *deadline_ev = NULL, *sigterm_ev, *sigint_ev;
	struct event *probe_ev = NULL;
	double cpu0 = 0, gen0;
	char la[16], eps[4096];
	int rc;

	memset(&b, 0, sizeof(b));
	b.wl_name = workload;
	if (strcmp(workload, "put") == 0)
		b.wl = W_PUT;
	else if (strcmp(workload, "get") == 0)
		b.wl = W_GET;
	else if (strcmp(workload, "txn-cas") == 0)
		b.wl = W_TXN_CAS;
	else if (strcmp(workload, "failover") == 0)
		b.wl = W_FAILOVER;
	else {
		usage(stderr);
		return 2;
	}
	rc = parse(&b, argc, argv);
	if (rc != 0)
		return rc;
	signal(SIGPIPE, SIG_IGN);
	bench_prefix(b.prefix, sizeof(b.prefix));
	key_fmt(&b, b.get_key, sizeof(b.get_key), "%s/get", b.prefix);
	key_fmt(&b, b.cas_key, sizeof(b.cas_key), "%s/cas", b.prefix);
	b.val = bench_value(b.o.val_size);

	b.base = event_base_new();
	if (b.base == NULL) {
		fprintf(stderr, "coord-bench: event_base_new failed\n");
		return 1;
	}
	memset(&co, 0, sizeof(co));
	co.request_timeout_ms = b.o.timeout_ms;
	co.name = "coord-bench";
	b.n_conns = b.o.conns;
	b.conns = bench_xrealloc(NULL, (size_t)b.n_conns * sizeof(*b.conns));
	for (int i = 0; i < b.n_conns; i++) {
		bench_rotate_endpoints(b.o.endpoints, i, eps, sizeof(eps));
		rc = coord_client_new_async(b.base, eps, &co, &b.conns[i]);
		if (rc != COORD_OK) {
			fprintf(stderr, "coord-bench: %s\n",
				coord_errmsg(b.conns[i]));
			return 1;
		}
	}
	if (b.wl == W_FAILOVER && b.o.probe_ms > 0) {
		bench_rotate_endpoints(b.o.endpoints, b.n_conns, eps, sizeof(eps));
		if (coord_client_new_async(b.base, eps, &co, &b.prober) !=
		    COORD_OK) {
			fprintf(stderr, "coord-bench: %s\n",
				coord_errmsg(b.prober));
			return 1;
		}
	}
	b.w = bench_xrealloc(NULL, (size_t)b.o.clients * sizeof(*b.w));
	for (int i = 0; i < b.o.clients; i++) {
		b.w[i].b = &b;
		b.w[i].id = i;
		b.w[i].c = b.conns[i % b.n_conns];
		b.w[i].n = 0;
		b.w[i].retry_ev = evtimer_new(b.base, retry_cb, &b.w[i]);
	}
	if (setup(&b) != 0)
		return 1;

	sigterm_ev = evsignal_new(b.base, SIGTERM, signal_cb, &b);
	sigint_ev = evsignal_new(b.base, SIGINT, signal_cb, &b);
	event_add(sigterm_ev, NULL);
	event_add(sigint_ev, NULL);
	if (b.o.seconds > 0 && (b.o.total == 0 || b.wl == W_FAILOVER)) {
		struct timeval tv;

		tv.tv_sec = (time_t)b.o.seconds;
		tv.tv_usec = (suseconds_t)((b.o.seconds - (double)tv.tv_sec) *
					   1e6);
		deadline_ev = evtimer_new(b.base, deadline_cb, &b);
		evtimer_add(deadline_ev, &tv);
	}
	if (b.prober != NULL) {
		struct timeval tv = { b.o.probe_ms / 1000,
				      (suseconds_t)(b.o.probe_ms % 1000) * 1000 };

		probe_ev = event_new(b.base, -1, EV_PERSIST, probe_tick_cb, &b);
		event_add(probe_ev, &tv);
	}
	bench_loadavg1(la, sizeof(la));
	if (b.o.cpu_pids != NULL)
		cpu0 = bench_pids_cpu_s(b.o.cpu_pids);
	gen0 = bench_self_cpu_s();
	b.t0_ns = bench_mono_ns();
	b.measuring = true;
	for (int i = 0; i < b.o.clients; i++)
		worker_next(&b.w[i]);
	event_base_dispatch(b.base);
	if (!b.stopped) {
		b.t_end_ns = bench_mono_ns();
		b.stopped = true;
	}
	{
		double cpu1 = b.o.cpu_pids != NULL ? bench_pids_cpu_s(b.o.cpu_pids)
						   : 0;
		double gen1 = bench_self_cpu_s();

		if (b.wl == W_FAILOVER)
			report_failover(&b, la);
		else
			report_closed(&b, cpu1 - cpu0, gen1 - gen0, la);
	}
	fflush(stdout);

	/* In-flight requests are called back with COORD_ECANCELED, and not
	 * counted (b.stopped). */
	for (int i = 0; i < b.n_conns; i++)
		coord_client_free(b.conns[i]);
	coord_client_free(b.prober);
	for (int i = 0; i < b.o.clients; i++)
		event_free(b.w[i].retry_ev);
	if (deadline_ev != NULL)
		event_free(deadline_ev);
	if (probe_ev != NULL)
		event_free(probe_ev);
	event_free(sigterm_ev);
	event_free(sigint_ev);
	event_base_free(b.base);
	free(b.w);
	free(b.conns);
	free(b.val);
	free(b.lat_ns);
	free(b.recs);
	return 0;
}
