/*
 * tools/bench_lock.c: coord-bench lock-contended|lock-uncontended|
 * session-churn|expiry-handoff|failover-lock|scale, the lock and session
 * workloads of etcd-load (shared/bench/etcd/etcd-load) on coord.
 *
 * libcoord's sessions and locks are synchronous (coord_session_open(),
 * coord_lock_acquire() return once answered, and a session's keepalives
 * run inside the library's loop, in any synchronous call): so every
 * logical client here is a thread with a synchronous client (one
 * connection) of its own, where etcd-load shares --conns gRPC connections
 * among goroutines. scale alone holds many sessions per client: it opens
 * them with coord_session_open_async() (128 in flight) and then runs the
 * client's loop, where libcoord keeps them all alive with about one
 * SESSION_KEEPALIVE_MANY per period. With --conns N, lock-contended,
 * lock-uncontended and session-churn carry their --clients logical
 * clients (each its own session) over N clients, a thread each, as
 * etcd-load shares its connections: each cycle is driven by libcoord's
 * asynchronous calls (acquire, then coord_lock_put_release_async(); or
 * session open, then close) from the previous one's callback.
 *
 *   lock-contended    --clients (16) sessions (TTL --ttl-ms, 10000), one
 *                     lock; a cycle: acquire (waiting in the FIFO queue)
 *                     -> coord_lock_put() of --val-size bytes (a fenced
 *                     put carrying the token) -> release. cycles/s
 *                     (ops_per_s), acquire latency (acq_*) and cycle
 *                     latency (cycle_*).
 *                     --cycle combined: the put and the release are one
 *                     request, coord_lock_put_release() (one command);
 *                     the RESULT line's cycle= says which.
 *   lock-uncontended  the same with a lock (and a key) per client (256).
 *   sem-cycles        lock-contended's cycle on one semaphore of
 *                     --clients / 4 permits (at least 1): acquire a
 *                     permit -> coord_lock_put() through it (fenced by
 *                     the permit's token) -> release. cycles/s.
 *   session-churn     --clients (64) loops of session open + close.
 *   expiry-handoff    --rounds (5) rounds: a holder process (coord-bench
 *                     lock-holder) takes a lock with a session of TTL
 *                     --holder-ttl-ms (2000) and keeps it alive; a waiter
 *                     (a thread, its own session) queues; after
 *                     --holder-ttl-ms of keepalives the holder is
 *                     SIGSTOPped. handoff_ms is the time from the
 *                     holder's last keepalive as the leader applied it --
 *                     read back after the stop with LEASE_TTL on the
 *                     leader: now + TTL left - TTL -- to the waiter's
 *                     grant; handoff_minus_ttl_ms = handoff_ms - TTL;
 *                     from_stop_ms from the SIGSTOP.
 *   failover-lock     --clients (16) loops of acquire (own lock, timeout
 *                     --timeout-ms, 1000) -> fenced put -> release, with a
 *                     5 ms pause after an error; another process kills the
 *                     leader and logs the realtime ns of each kill to
 *                     --kill-log. On SIGTERM/SIGINT (or after --seconds),
 *                     for each kill: the time to the first grant of an
 *                     acquire *sent* after it (lock_ms).
 *   scale             --sessions (100000) sessions of TTL --ttl-ms opened
 *                     over --sessions / --per-client (1000) clients
 *                     (threads), then kept alive for --seconds
 *                     (30) with nothing else to do; reports the open rate,
 *                     sessions that went to jeopardy or were lost, and,
 *                     with --leader-pid, the leader's CPU (cores) and RSS,
 *                     with --leader-http HOST:PORT, per second over the
 *                     hold (from /metrics): its keepalive requests
 *                     (SESSION_KEEPALIVE and _MANY), LEASE_KEEPALIVE
 *                     commands, sessions those kept alive, and committed
 *                     proposals.
 */
#include "tools/bench_lock.h"
#include "tools/bench_util.h"
#include "libcoord/coord.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LK_CLIENTS_MAX 4096
#define LK_ROUNDS_MAX 256
#define LK_RETRY_PAUSE_MS 5
#define LK_WAIT_MS 30000            /* for a waiter to queue, a holder */
#define LK_SETTLE_MS 200            /* after SIGSTOP, before LEASE_TTL */
#define LK_METRICS_BYTES_MAX (4u << 20)

enum lk_workload {
	LW_CONTENDED,
	LW_UNCONTENDED,
	LW_CHURN,
	LW_EXPIRY,
	LW_FAILOVER,
	LW_SCALE,
	LW_SEM,
	LW_HOLDER,
};

static const char *const lk_names[] = {
	[LW_CONTENDED] = "lock-contended",
	[LW_UNCONTENDED] = "lock-uncontended",
	[LW_CHURN] = "session-churn",
	[LW_EXPIRY] = "expiry-handoff",
	[LW_FAILOVER] = "failover-lock",
	[LW_SCALE] = "scale",
	[LW_SEM] = "sem-cycles",
	[LW_HOLDER] = "lock-holder",
};

struct lk_opts {
	const char *endpoints;
	int clients;
	double seconds;
	unsigned ttl_ms;
	unsigned holder_ttl_ms;
	size_t val_size;
	unsigned timeout_ms;
	const char *label;
	const char *cpu_pids;
	const char *kill_log;
	int rounds;
	long sessions;
	long per_client;
	long leader_pid;
	const char *leader_http;
	const char *lock;           /* lock-holder */
	const char *cycle;          /* "split" or "combined" */
	int conns;                  /* 0: a thread and client per client */
};

struct lk_bench;

struct lk_worker {
	struct lk_bench *b;
	int id;
	pthread_t th;
	struct coord_client *c;
	struct coord_session *s;
	int setup_rc;
	uint64_t ops, errors, fence_rejected;
	uint64_t *acq_ns, *cycle_ns;
	size_t n_lat, cap_lat;
	struct bench_rec *recs;
	size_t n_recs, cap_recs;
	char last_err[256];
	/* scale: the sessions of this client, and their changes of state */
	struct coord_session **ss;
	size_t n_ss;
	atomic_uint_fast64_t jeopardy, lost;
	/* --conns: the logical clients this client carries */
	struct lk_slot *slots;
	int n_slots;
};

/* --conns: a logical client carried by a worker's client, its cycle
 * driven by libcoord's callbacks on the worker's thread. */
struct lk_slot {
	struct lk_worker *w;
	struct coord_session *s;
	char lock[256], res[256];
	uint64_t t0, t_acq;
	bool busy;                  /* a cycle is out */
};

struct lk_bench {
	enum lk_workload wl;
	struct lk_opts o;
	char prefix[96];
	uint8_t *val;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int ready;
	bool go;
	atomic_int stop;
	struct lk_worker *w;
	int n_w;
};

/* ---------------------------------------------------------------------- */

static void w_err(struct lk_worker *w, int code, const char *what)
{
	if (atomic_load(&w->b->stop))
		return;     /* the end of the run, not a failure */
	w->errors++;
	snprintf(w->last_err, sizeof(w->last_err), "%s: %s (%s)", what,
		 coord_strerror(code), coord_errmsg(w->c));
}

static void w_lat(struct lk_worker *w, uint64_t acq, uint64_t cycle)
{
	if (w->n_lat == w->cap_lat) {
		w->cap_lat = w->cap_lat ? w->cap_lat * 2 : 4096;
		w->acq_ns = bench_xrealloc(w->acq_ns,
					   w->cap_lat * sizeof(*w->acq_ns));
		w->cycle_ns = bench_xrealloc(w->cycle_ns,
					     w->cap_lat * sizeof(*w->cycle_ns));
	}
	w->acq_ns[w->n_lat] = acq;
	w->cycle_ns[w->n_lat] = cycle;
	w->n_lat++;
}

static void w_rec(struct lk_worker *w, uint64_t sent, uint64_t done)
{
	if (w->n_recs == w->cap_recs) {
		w->cap_recs = w->cap_recs ? w->cap_recs * 2 : 4096;
		w->recs = bench_xrealloc(w->recs,
					 w->cap_recs * sizeof(*w->recs));
	}
	w->recs[w->n_recs].sent_rt_ns = sent;
	w->recs[w->n_recs].done_rt_ns = done;
	w->n_recs++;
}

static int client_open(const struct lk_bench *b, int k, unsigned timeout_ms,
		       struct coord_client **out)
{
	struct coord_options co;
	char eps[4096];
	int rc;

	memset(&co, 0, sizeof(co));
	co.request_timeout_ms = timeout_ms;
	co.name = "coord-bench";
	bench_rotate_endpoints(b->o.endpoints, k, eps, sizeof(eps));
	rc = coord_client_new(eps, &co, out);
	if (rc != COORD_OK)
		fprintf(stderr, "coord-bench: client: %s (%s)\n",
			coord_strerror(rc), coord_errmsg(*out));
	return rc;
}

/* A lost session *s of w's client (failover, a stall past its TTL) is
 * replaced. */
static int w_session_renew(struct lk_worker *w, struct coord_session **s)
{
	int rc;

	if (*s != NULL && coord_session_state(*s) != COORD_SESSION_LOST)
		return COORD_OK;
	coord_session_close(*s);
	*s = NULL;
	rc = coord_session_open(w->c, w->b->o.ttl_ms, s);
	if (rc != COORD_OK)
		w_err(w, rc, "session open");
	return rc;
}

/* ---------------------------------------------------------------------- */
/* The closed loops, one thread per logical client. */

/* --cycle combined: the fenced put and the release as one request
 * (coord_lock_put_release()); split: coord_lock_put(), then
 * coord_lock_release(). */
static bool lk_combined(const struct lk_bench *b)
{
	return b->o.cycle != NULL && strcmp(b->o.cycle, "combined") == 0;
}

static const char *lk_cycle_name(const struct lk_bench *b)
{
	return lk_combined(b) ? "acquire,put_release" : "acquire,put,release";
}

/* sem-cycles: the semaphore's N. */
static uint64_t sem_permits(const struct lk_bench *b)
{
	return b->o.clients >= 8 ? (uint64_t)b->o.clients / 4 : 1;
}

static void lock_cycle(struct lk_worker *w, const char *lock,
		       const char *res)
{
	struct lk_bench *b = w->b;
	struct coord_lock_opts lo;
	struct coord_lock *l = NULL;
	uint64_t t0, t_acq, sent_rt, done_rt;
	int rc, rrc;

	memset(&lo, 0, sizeof(lo));
	lo.wait = true;
	lo.timeout_ms = b->o.timeout_ms;
	if (w_session_renew(w, &w->s) != COORD_OK) {
		bench_sleep_ms(LK_RETRY_PAUSE_MS);
		return;
	}
	t0 = bench_mono_ns();
	sent_rt = bench_real_ns();
	if (b->wl == LW_SEM) {
		struct coord_sem_opts so = { .wait = true,
					     .timeout_ms = lo.timeout_ms };

		rc = coord_sem_acquire(w->s, lock, strlen(lock), sem_permits(b),
				       &so, &l);
	} else {
		rc = coord_lock_acquire(w->s, lock, strlen(lock), &lo, &l);
	}
	t_acq = bench_mono_ns();
	done_rt = bench_real_ns();
	if (rc != COORD_OK) {
		w_err(w, rc, "acquire");
		bench_sleep_ms(LK_RETRY_PAUSE_MS);
		return;
	}
	if (b->wl == LW_FAILOVER && !atomic_load(&b->stop))
		w_rec(w, sent_rt, done_rt);
	if (lk_combined(b)) {
		/* One request, one command: the put and the release. */
		rc = coord_lock_put_release(l, res, strlen(res), b->val,
					    b->o.val_size, NULL);
		rrc = rc == COORD_OK ? COORD_OK : coord_lock_release(l);
		if (rrc == COORD_ENOTHOLDER)
			rrc = COORD_OK;     /* lost: the put's code says it */
	} else {
		rc = coord_lock_put(l, res, strlen(res), b->val,
				    b->o.val_size, NULL);
		rrc = coord_lock_release(l);
	}
	if (atomic_load(&b->stop))
		return;
	if (rc == COORD_EFENCED || rc == COORD_ELOCK_LOST)
		w->fence_rejected++;
	else if (rc != COORD_OK)
		w_err(w, rc, "fenced put");
	if (rrc != COORD_OK)
		w_err(w, rrc, "release");
	if (rc == COORD_OK && rrc == COORD_OK) {
		w->ops++;
		w_lat(w, t_acq - t0, bench_mono_ns() - t0);
	}
}

/* --conns (the combined cycle): acquire, then the put and release in one
 * request, each answered in a callback; the next cycle starts from the
 * last callback. A failed step leaves the slot idle: the worker's loop
 * starts it again after LK_RETRY_PAUSE_MS. */
static void slot_start(struct lk_slot *t);

static void slot_put_released(void *arg, coord_err_t code, uint64_t rev)
{
	struct lk_slot *t = arg;
	struct lk_worker *w = t->w;

	(void)rev;
	t->busy = false;
	if (atomic_load(&w->b->stop))
		return;
	if (code == COORD_EFENCED || code == COORD_ELOCK_LOST) {
		w->fence_rejected++;
		return;
	}
	if (code != COORD_OK) {
		w_err(w, code, "fenced put and release");
		return;
	}
	w->ops++;
	w_lat(w, t->t_acq - t->t0, bench_mono_ns() - t->t0);
	slot_start(t);
}

static void slot_granted(void *arg, coord_err_t code, struct coord_lock *l)
{
	struct lk_slot *t = arg;
	struct lk_worker *w = t->w;
	int rc;

	t->t_acq = bench_mono_ns();
	if (code != COORD_OK) {
		t->busy = false;
		if (code != COORD_ECANCELED)
			w_err(w, code, "acquire");
		return;
	}
	rc = coord_lock_put_release_async(l, t->res, strlen(t->res),
					  w->b->val, w->b->o.val_size,
					  slot_put_released, t);
	if (rc != COORD_OK) {
		t->busy = false;
		w_err(w, rc, "fenced put and release");
		/* Sent nothing: the lock may be held; a release from a
		 * callback is sent, not waited for. */
		coord_lock_release(l);
	}
}

/* session-churn --conns: open, then close, each answered in a callback. */
static void slot_closed(void *arg, coord_err_t code)
{
	struct lk_slot *t = arg;
	struct lk_worker *w = t->w;

	t->busy = false;
	if (atomic_load(&w->b->stop))
		return;
	if (code != COORD_OK) {
		w_err(w, code, "session close");
		return;
	}
	w->ops++;
	w_lat(w, bench_mono_ns() - t->t0, 0);
	slot_start(t);
}

static void slot_opened(void *arg, coord_err_t code, struct coord_session *s)
{
	struct lk_slot *t = arg;
	struct lk_worker *w = t->w;
	int rc;

	if (code != COORD_OK) {
		t->busy = false;
		if (code != COORD_ECANCELED)
			w_err(w, code, "session open");
		return;
	}
	rc = coord_session_close_async(s, slot_closed, t);
	if (rc != COORD_OK) {
		t->busy = false;
		w_err(w, rc, "session close");
	}
}

static void slot_start(struct lk_slot *t)
{
	struct lk_worker *w = t->w;
	struct coord_lock_opts lo = { .wait = true,
				      .timeout_ms = w->b->o.timeout_ms };
	int rc;

	if (atomic_load(&w->b->stop))
		return;
	if (w->b->wl == LW_CHURN) {
		t->t0 = bench_mono_ns();
		rc = coord_session_open_async(w->c, w->b->o.ttl_ms,
					      slot_opened, t);
		if (rc != COORD_OK)
			w_err(w, rc, "session open");
		else
			t->busy = true;
		return;
	}
	if (t->s == NULL)
		return;
	t->t0 = bench_mono_ns();
	rc = coord_lock_acquire_async(t->s, t->lock, strlen(t->lock), &lo,
				      slot_granted, t);
	if (rc != COORD_OK)
		w_err(w, rc, "acquire");
	else
		t->busy = true;
}

/* The worker's loop with --conns: idle slots (a failed step, a lost
 * session renewed here, outside any callback) start again. */
static void slots_run(struct lk_worker *w)
{
	struct lk_bench *b = w->b;

	while (!atomic_load(&b->stop)) {
		for (int i = 0; i < w->n_slots; i++) {
			struct lk_slot *t = &w->slots[i];

			if (t->busy)
				continue;
			if (b->wl != LW_CHURN &&
			    w_session_renew(w, &t->s) != COORD_OK)
				continue;
			slot_start(t);
		}
		coord_client_run(w->c, LK_RETRY_PAUSE_MS);
	}
}

static void churn_cycle(struct lk_worker *w)
{
	struct coord_session *s = NULL;
	uint64_t t0 = bench_mono_ns();
	int rc;

	rc = coord_session_open(w->c, w->b->o.ttl_ms, &s);
	if (rc != COORD_OK) {
		w_err(w, rc, "session open");
		bench_sleep_ms(LK_RETRY_PAUSE_MS);
		return;
	}
	rc = coord_session_close(s);
	if (atomic_load(&w->b->stop))
		return;
	if (rc != COORD_OK) {
		w_err(w, rc, "session close");
		return;
	}
	w->ops++;
	w_lat(w, bench_mono_ns() - t0, 0);
}

static void scale_state_cb(void *arg, struct coord_session *s,
			   enum coord_session_state state, coord_err_t why)
{
	struct lk_worker *w = arg;

	(void)s;
	(void)why;
	if (state == COORD_SESSION_JEOPARDY)
		atomic_fetch_add(&w->jeopardy, 1);
	else if (state == COORD_SESSION_LOST)
		atomic_fetch_add(&w->lost, 1);
}

/* The opens of a scale client: SCALE_WINDOW in flight at a time, on the
 * client's one connection (coord_session_open_async()); below the
 * exactly-once window (COORD_CLIENT_WINDOW_MAX) so none waits for
 * room. */
#define SCALE_WINDOW 128

struct scale_open {
	struct lk_worker *w;
	size_t want;                /* sessions to open */
	size_t sent;                /* opens asked for */
	size_t inflight;
	int rc;                     /* the first failure */
};

static void scale_open_cb(void *arg, coord_err_t code, struct coord_session *s);

static void scale_open_more(struct scale_open *o)
{
	while (o->rc == COORD_OK && o->sent < o->want &&
	       o->inflight < SCALE_WINDOW) {
		int rc = coord_session_open_async(o->w->c, o->w->b->o.ttl_ms,
						  scale_open_cb, o);

		if (rc != COORD_OK) {
			o->rc = rc;
			break;
		}
		o->sent++;
		o->inflight++;
	}
}

static void scale_open_cb(void *arg, coord_err_t code, struct coord_session *s)
{
	struct scale_open *o = arg;
	struct lk_worker *w = o->w;

	o->inflight--;
	if (code != COORD_OK) {
		if (o->rc == COORD_OK) {
			o->rc = code;
			fprintf(stderr, "coord-bench scale: session %zu: %s "
				"(%s)\n", w->n_ss, coord_strerror(code),
				coord_errmsg(w->c));
		}
		return;
	}
	w->ss[w->n_ss++] = s;
	coord_session_set_callback(s, scale_state_cb, w);
	scale_open_more(o);
}

static int scale_setup(struct lk_worker *w)
{
	struct lk_bench *b = w->b;
	long first = (long)w->id * b->o.per_client;
	long n = b->o.sessions - first;
	struct scale_open o;

	if (n > b->o.per_client)
		n = b->o.per_client;
	w->ss = bench_xrealloc(NULL, (size_t)n * sizeof(*w->ss));
	w->n_ss = 0;
	o = (struct scale_open){ w, (size_t)n, 0, 0, COORD_OK };
	scale_open_more(&o);
	/* Until every open is answered (the callbacks use o). */
	while (o.inflight > 0) {
		if (atomic_load(&b->stop) && o.rc == COORD_OK)
			o.rc = COORD_ECANCELED;     /* no more opens */
		coord_client_run(w->c, 100);
	}
	return o.rc;
}

/* The teardown of a scale client: every session not lost closed,
 * SCALE_WINDOW at a time (a lost one's handle goes with the client). */
struct scale_close {
	size_t inflight;
};

static void scale_closed(void *arg, coord_err_t code)
{
	struct scale_close *x = arg;

	(void)code;
	x->inflight--;
}

static void scale_close_all(struct lk_worker *w)
{
	struct scale_close x = { 0 };
	size_t i = 0;

	while (i < w->n_ss || x.inflight > 0) {
		while (i < w->n_ss && x.inflight < SCALE_WINDOW) {
			struct coord_session *s = w->ss[i++];

			if (coord_session_state(s) != COORD_SESSION_LOST &&
			    coord_session_close_async(s, scale_closed, &x) ==
				    COORD_OK)
				x.inflight++;
		}
		if (x.inflight > 0)
			coord_client_run(w->c, 100);
	}
}

static int w_setup(struct lk_worker *w)
{
	struct lk_bench *b = w->b;
	int rc = client_open(b, w->id, b->o.timeout_ms, &w->c);

	if (rc != COORD_OK)
		return rc;
	if (b->wl == LW_SCALE)
		return scale_setup(w);
	if (b->wl == LW_CHURN)
		return COORD_OK;     /* slots: sessions come and go */
	for (int i = 0; i < w->n_slots; i++) {
		struct lk_slot *t = &w->slots[i];

		rc = coord_session_open(w->c, b->o.ttl_ms, &t->s);
		if (rc != COORD_OK) {
			fprintf(stderr, "coord-bench: session open: %s (%s)\n",
				coord_strerror(rc), coord_errmsg(w->c));
			return rc;
		}
	}
	if (w->n_slots > 0)
		return COORD_OK;
	rc = coord_session_open(w->c, b->o.ttl_ms, &w->s);
	if (rc != COORD_OK)
		fprintf(stderr, "coord-bench: session open: %s (%s)\n",
			coord_strerror(rc), coord_errmsg(w->c));
	return rc;
}

static void *w_main(void *arg)
{
	struct lk_worker *w = arg;
	struct lk_bench *b = w->b;
	char lock[160], res[160];

	w->setup_rc = w_setup(w);
	pthread_mutex_lock(&b->mu);
	b->ready++;
	pthread_cond_broadcast(&b->cv);
	while (!b->go)
		pthread_cond_wait(&b->cv, &b->mu);
	pthread_mutex_unlock(&b->mu);
	if (b->wl == LW_CONTENDED || b->wl == LW_SEM) {
		snprintf(lock, sizeof(lock), "%s/lock", b->prefix);
		snprintf(res, sizeof(res), "%s/res", b->prefix);
	} else {
		snprintf(lock, sizeof(lock), "%s/lock/%d", b->prefix, w->id);
		snprintf(res, sizeof(res), "%s/res/%d", b->prefix, w->id);
	}
	if (w->setup_rc == COORD_OK && w->n_slots > 0)
		slots_run(w);
	while (w->setup_rc == COORD_OK && w->n_slots == 0 &&
	       !atomic_load(&b->stop)) {
		if (b->wl == LW_CHURN)
			churn_cycle(w);
		else if (b->wl == LW_SCALE)
			coord_client_run(w->c, 100);
		else
			lock_cycle(w, lock, res);
	}
	/* Closing is part of the teardown, not of the figures. */
	scale_close_all(w);
	coord_session_close(w->s);
	for (int i = 0; i < w->n_slots; i++)
		coord_session_close(w->slots[i].s);
	coord_client_free(w->c);
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* /metrics of the leader (scale). */

static uint64_t metric_value(const char *text, const char *name)
{
	const char *p = text;
	size_t len = strlen(name);

	while ((p = strstr(p, name)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[len] == ' ')
			return strtoull(p + len + 1, NULL, 10);
		p += len;
	}
	return 0;
}

/* GET /metrics from host:port (numeric IPv4) into a malloc'd string. */
static char *metrics_fetch(const char *hostport)
{
	char host[64], req[] = "GET /metrics HTTP/1.0\r\n\r\n";
	const char *colon = strrchr(hostport, ':');
	struct sockaddr_in sa;
	char *buf = NULL;
	size_t n = 0;
	int fd;

	if (colon == NULL || (size_t)(colon - hostport) >= sizeof(host))
		return NULL;
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return NULL;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return NULL;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1)) {
		close(fd);
		return NULL;
	}
	buf = bench_xrealloc(NULL, LK_METRICS_BYTES_MAX + 1);
	for (;;) {
		ssize_t r = read(fd, buf + n, LK_METRICS_BYTES_MAX - n);

		if (r <= 0)
			break;
		n += (size_t)r;
		if (n == LK_METRICS_BYTES_MAX)
			break;
	}
	close(fd);
	buf[n] = '\0';
	return buf;
}

struct lk_metrics {
	bool ok;
	uint64_t keepalives, proposals;
	uint64_t ka_commands, ka_sessions;
};

static void metrics_read(const char *hostport, struct lk_metrics *m)
{
	char *t = hostport != NULL ? metrics_fetch(hostport) : NULL;

	memset(m, 0, sizeof(*m));
	if (t == NULL)
		return;
	m->ok = true;
	m->keepalives = metric_value(
		t, "coord_requests_total{kind=\"SESSION_KEEPALIVE\"}") +
			metric_value(t, "coord_requests_total{kind="
					"\"SESSION_KEEPALIVE_MANY\"}");
	m->ka_commands = metric_value(t, "coord_keepalive_commands_total");
	m->ka_sessions = metric_value(t, "coord_keepalives_total");
	m->proposals = metric_value(t, "coord_proposals_committed_total");
	free(t);
}

/* ---------------------------------------------------------------------- */
/* Running the threads and reporting. */

static void report_closed(struct lk_bench *b, double secs, double cpu_s,
			  double gen_s, const char *la)
{
	uint64_t ops = 0, errors = 0, fenced = 0;
	uint64_t *acq = NULL, *cyc = NULL;
	size_t n = 0;
	const char *last = "";

	for (int i = 0; i < b->n_w; i++) {
		struct lk_worker *w = &b->w[i];

		ops += w->ops;
		errors += w->errors;
		fenced += w->fence_rejected;
		acq = bench_xrealloc(acq, (n + w->n_lat + 1) * sizeof(*acq));
		cyc = bench_xrealloc(cyc, (n + w->n_lat + 1) * sizeof(*cyc));
		if (w->n_lat > 0) {
			memcpy(acq + n, w->acq_ns, w->n_lat * sizeof(*acq));
			memcpy(cyc + n, w->cycle_ns, w->n_lat * sizeof(*cyc));
		}
		n += w->n_lat;
		if (w->last_err[0] != '\0')
			last = w->last_err;
	}
	bench_sort_u64(acq, n);
	bench_sort_u64(cyc, n);
	printf("RESULT workload=%s clients=%d ops=%" PRIu64 " seconds=%.2f"
	       " ops_per_s=%.1f", lk_names[b->wl], b->o.clients, ops, secs,
	       secs > 0 ? (double)ops / secs : 0.0);
	if (b->o.conns > 0)
		printf(" conns=%d", b->o.conns);
	if (b->wl == LW_SEM)
		printf(" permits=%" PRIu64, sem_permits(b));
	if (b->wl == LW_CHURN)
		printf(" p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f",
		       bench_pct_ms(acq, n, 0.5), bench_pct_ms(acq, n, 0.9),
		       bench_pct_ms(acq, n, 0.99), bench_pct_ms(acq, n, 1.0));
	else
		printf(" acq_p50_ms=%.2f acq_p90_ms=%.2f acq_p99_ms=%.2f"
		       " acq_max_ms=%.2f cycle_p50_ms=%.2f cycle_p99_ms=%.2f"
		       " fence_rejected=%" PRIu64,
		       bench_pct_ms(acq, n, 0.5), bench_pct_ms(acq, n, 0.9),
		       bench_pct_ms(acq, n, 0.99), bench_pct_ms(acq, n, 1.0),
		       bench_pct_ms(cyc, n, 0.5), bench_pct_ms(cyc, n, 0.99),
		       fenced);
	if (b->wl == LW_CONTENDED || b->wl == LW_UNCONTENDED)
		printf(" cycle=%s", lk_cycle_name(b));
	printf(" errors=%" PRIu64 " ttl_ms=%u val_size=%zu label=%s"
	       " coord_cpu_s=%.2f gen_cpu_s=%.2f loadavg1=%s\n", errors,
	       b->o.ttl_ms, b->o.val_size, b->o.label ? b->o.label : "-",
	       cpu_s, gen_s, la);
	if (last[0] != '\0')
		fprintf(stderr, "last error: %s\n", last);
	free(acq);
	free(cyc);
}

static void report_failover(struct lk_bench *b, const char *la)
{
	struct bench_rec *recs = NULL;
	size_t n_recs = 0;
	uint64_t ops = 0, errors = 0;
	double ms[LK_ROUNDS_MAX], sorted[LK_ROUNDS_MAX];
	char list[LK_ROUNDS_MAX * 12] = "";
	size_t used = 0;
	int n;

	for (int i = 0; i < b->n_w; i++) {
		struct lk_worker *w = &b->w[i];

		recs = bench_xrealloc(recs, (n_recs + w->n_recs + 1) *
					    sizeof(*recs));
		if (w->n_recs > 0)
			memcpy(recs + n_recs, w->recs,
			       w->n_recs * sizeof(*recs));
		n_recs += w->n_recs;
		ops += w->ops;
		errors += w->errors;
	}
	n = bench_kill_delays(b->o.kill_log, recs, n_recs, ms, LK_ROUNDS_MAX);
	for (int i = 0; i < n; i++) {
		printf("ROUND workload=failover-lock round=%d lock_ms=%.1f\n",
		       i + 1, ms[i]);
		used += (size_t)snprintf(list + used, sizeof(list) - used,
					 "%s%.0f", i ? "," : "", ms[i]);
		/* A kill never followed by a grant sorts last. */
		sorted[i] = ms[i] < 0 ? 1e9 : ms[i];
	}
	if (n < 0)
		n = 0;
	printf("RESULT workload=failover-lock clients=%d rounds=%d"
	       " median_lock_ms=%.1f lock_ms=%s ops=%" PRIu64
	       " errors=%" PRIu64 " label=%s loadavg1=%s\n", b->n_w, n,
	       bench_median(sorted, (size_t)n), n ? list : "-", ops, errors,
	       b->o.label ? b->o.label : "-", la);
	free(recs);
}

static void report_scale(struct lk_bench *b, double open_s, double secs,
			 double leader_cpu_s, const struct lk_metrics *m0,
			 const struct lk_metrics *m1, const char *la)
{
	uint64_t opened = 0, jeopardy = 0, lost = 0;

	for (int i = 0; i < b->n_w; i++) {
		opened += b->w[i].n_ss;
		jeopardy += atomic_load(&b->w[i].jeopardy);
		lost += atomic_load(&b->w[i].lost);
	}
	printf("RESULT workload=scale sessions=%" PRIu64 " clients=%d"
	       " ttl_ms=%u open_s=%.1f opens_per_s=%.0f hold_s=%.1f"
	       " jeopardy=%" PRIu64 " lost=%" PRIu64, opened, b->n_w,
	       b->o.ttl_ms, open_s, open_s > 0 ? (double)opened / open_s : 0,
	       secs, jeopardy, lost);
	if (b->o.leader_pid > 0)
		printf(" leader_cpu_cores=%.2f leader_rss_mib=%.1f",
		       secs > 0 ? leader_cpu_s / secs : 0,
		       (double)bench_pid_rss_kib(b->o.leader_pid) / 1024.0);
	if (m0->ok && m1->ok && secs > 0)
		printf(" keepalive_req_per_s=%.1f keepalive_cmds_per_s=%.1f"
		       " keepalives_per_s=%.0f proposals_per_s=%.0f",
		       (double)(m1->keepalives - m0->keepalives) / secs,
		       (double)(m1->ka_commands - m0->ka_commands) / secs,
		       (double)(m1->ka_sessions - m0->ka_sessions) / secs,
		       (double)(m1->proposals - m0->proposals) / secs);
	printf(" label=%s loadavg1=%s\n", b->o.label ? b->o.label : "-", la);
}

/* Takes a pending SIGTERM or SIGINT (blocked in every thread by
 * bench_lock()), waiting at most ms for one. */
static bool signal_taken(long ms)
{
	sigset_t set;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	return sigtimedwait(&set, NULL, &ts) > 0;
}

/* Waits --seconds (0: forever) or for SIGTERM/SIGINT. */
static void wait_end(double seconds)
{
	uint64_t end = bench_mono_ns() + (uint64_t)(seconds * 1e9);

	while (seconds <= 0 || bench_mono_ns() < end)
		if (signal_taken(100))
			return;
}

/* --conns: worker w carries logical clients w.id, w.id + conns, ...,
 * each with the lock (and key) a thread of its own would use. */
static void slots_init(struct lk_worker *w)
{
	struct lk_bench *b = w->b;
	int n = (b->o.clients - w->id + b->o.conns - 1) / b->o.conns;

	w->slots = calloc((size_t)n, sizeof(*w->slots));
	if (w->slots == NULL) {
		fprintf(stderr, "coord-bench: out of memory\n");
		exit(1);
	}
	w->n_slots = n;
	for (int k = 0; k < n; k++) {
		struct lk_slot *t = &w->slots[k];
		int id = w->id + k * b->o.conns;

		t->w = w;
		if (b->wl == LW_CONTENDED) {
			snprintf(t->lock, sizeof(t->lock), "%s/lock", b->prefix);
			snprintf(t->res, sizeof(t->res), "%s/res", b->prefix);
		} else {
			snprintf(t->lock, sizeof(t->lock), "%s/lock/%d",
				 b->prefix, id);
			snprintf(t->res, sizeof(t->res), "%s/res/%d",
				 b->prefix, id);
		}
	}
}

static int run_threads(struct lk_bench *b)
{
	double cpu0 = 0, gen0, lcpu0 = 0, secs, open_s;
	uint64_t t_start, t0, t1;
	struct lk_metrics m0, m1;
	char la[16];
	int failed = 0;

	b->w = calloc((size_t)b->n_w, sizeof(*b->w));
	if (b->w == NULL)
		return 1;
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
	t_start = bench_mono_ns();
	for (int i = 0; i < b->n_w; i++) {
		b->w[i].b = b;
		b->w[i].id = i;
		if (b->o.conns > 0)
			slots_init(&b->w[i]);
		if (pthread_create(&b->w[i].th, NULL, w_main, &b->w[i]) != 0) {
			fprintf(stderr, "coord-bench: cannot start thread %d\n",
				i);
			exit(1);
		}
	}
	pthread_mutex_lock(&b->mu);
	while (b->ready < b->n_w) {
		struct timespec until;

		/* SIGTERM/SIGINT during the setup (scale's can be long)
		 * end it too. */
		if (signal_taken(0)) {
			fprintf(stderr, "coord-bench: stopped during the "
				"setup\n");
			atomic_store(&b->stop, 1);
			failed = 1;
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 100 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&b->cv, &b->mu, &until);
	}
	for (int i = 0; i < b->n_w; i++)
		if (b->w[i].setup_rc != COORD_OK)
			failed = 1;
	open_s = (double)(bench_mono_ns() - t_start) / 1e9;
	if (failed)
		atomic_store(&b->stop, 1);
	bench_loadavg1(la, sizeof(la));
	if (b->o.cpu_pids != NULL)
		cpu0 = bench_pids_cpu_s(b->o.cpu_pids);
	if (b->o.leader_pid > 0) {
		char pid[32];

		snprintf(pid, sizeof(pid), "%ld", b->o.leader_pid);
		lcpu0 = bench_pids_cpu_s(pid);
	}
	metrics_read(b->o.leader_http, &m0);
	gen0 = bench_self_cpu_s();
	t0 = bench_mono_ns();
	b->go = true;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
	if (!failed)
		wait_end(b->o.seconds);
	atomic_store(&b->stop, 1);
	t1 = bench_mono_ns();
	secs = (double)(t1 - t0) / 1e9;
	if (b->wl == LW_SCALE && !failed) {
		char pid[32];

		snprintf(pid, sizeof(pid), "%ld", b->o.leader_pid);
		metrics_read(b->o.leader_http, &m1);
		report_scale(b, open_s, secs,
			     b->o.leader_pid > 0 ? bench_pids_cpu_s(pid) - lcpu0
						 : 0, &m0, &m1, la);
		fflush(stdout);
	} else if (b->wl != LW_FAILOVER && !failed) {
		/* Read at the deadline: the teardown is not part of it. */
		double cpu1 = b->o.cpu_pids ? bench_pids_cpu_s(b->o.cpu_pids)
					    : 0;

		report_closed(b, secs, cpu1 - cpu0, bench_self_cpu_s() - gen0,
			      la);
		fflush(stdout);
	}
	for (int i = 0; i < b->n_w; i++)
		pthread_join(b->w[i].th, NULL);
	if (b->wl == LW_SCALE && failed) {
		size_t opened = 0;

		for (int i = 0; i < b->n_w; i++)
			opened += b->w[i].n_ss;
		fprintf(stderr, "coord-bench scale: %zu sessions opened in"
			" %.1f s before the setup ended\n", opened, open_s);
	}
	if (b->wl == LW_FAILOVER && !failed) {
		bench_loadavg1(la, sizeof(la));
		report_failover(b, la);
	}
	for (int i = 0; i < b->n_w; i++) {
		free(b->w[i].acq_ns);
		free(b->w[i].cycle_ns);
		free(b->w[i].recs);
		free(b->w[i].ss);
		free(b->w[i].slots);
	}
	free(b->w);
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->mu);
	return failed;
}

/* ---------------------------------------------------------------------- */
/* expiry-handoff and its holder process. */

static int run_holder(struct lk_bench *b)
{
	struct coord_client *c;
	struct coord_session *s;
	struct coord_lock *l;
	int rc = client_open(b, 0, b->o.timeout_ms, &c);

	if (rc != COORD_OK)
		return 1;
	rc = coord_session_open(c, b->o.holder_ttl_ms, &s);
	if (rc == COORD_OK)
		rc = coord_lock_acquire(s, b->o.lock, strlen(b->o.lock), NULL,
					&l);
	if (rc != COORD_OK) {
		fprintf(stderr, "coord-bench lock-holder: %s (%s)\n",
			coord_strerror(rc), coord_errmsg(c));
		coord_client_free(c);
		return 1;
	}
	printf("LOCKED %" PRIu64 " %" PRIu64 "\n", coord_lock_token(l),
	       coord_session_id(s));
	fflush(stdout);
	/* Keepalives run inside the loop; the parent stops this process. */
	while (coord_session_state(s) != COORD_SESSION_LOST)
		coord_client_run(c, 1000);
	fprintf(stderr, "coord-bench lock-holder: session lost\n");
	coord_client_free(c);
	return 1;
}

struct waiter {
	struct lk_bench *b;
	const char *lock;
	int rc;
	uint64_t token;
	uint64_t grant_ns;
	char err[256];
};

static void *waiter_main(void *arg)
{
	struct waiter *x = arg;
	struct coord_client *c;
	struct coord_session *s = NULL;
	struct coord_lock *l = NULL;
	struct coord_lock_opts lo;

	memset(&lo, 0, sizeof(lo));
	lo.wait = true;
	lo.timeout_ms = x->b->o.holder_ttl_ms + 2 * LK_WAIT_MS;
	x->rc = client_open(x->b, 0, lo.timeout_ms, &c);
	if (x->rc != COORD_OK)
		return NULL;
	x->rc = coord_session_open(c, x->b->o.ttl_ms, &s);
	if (x->rc == COORD_OK)
		x->rc = coord_lock_acquire(s, x->lock, strlen(x->lock), &lo,
					   &l);
	x->grant_ns = bench_mono_ns();
	if (x->rc == COORD_OK) {
		x->token = coord_lock_token(l);
		coord_lock_release(l);
	} else {
		snprintf(x->err, sizeof(x->err), "%s (%s)",
			 coord_strerror(x->rc), coord_errmsg(c));
	}
	coord_session_close(s);
	coord_client_free(c);
	return NULL;
}

/* A client on the leader's endpoint alone: LEASE_TTL is answered from the
 * answering node's clock and apply time, and the leader's is the one
 * that expires. */
static int leader_client(struct lk_bench *b, struct coord_client **out)
{
	struct coord_client *q;
	char eps[4096], *save = NULL, *tok;
	int rc = client_open(b, 0, 5000, &q);

	*out = NULL;
	if (rc != COORD_OK)
		return rc;
	snprintf(eps, sizeof(eps), "%s", b->o.endpoints);
	for (tok = strtok_r(eps, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		struct coord_status st;
		struct coord_options co;

		if (coord_status(q, tok, &st) != COORD_OK ||
		    st.leader == 0 || st.leader != st.node_id)
			continue;
		memset(&co, 0, sizeof(co));
		co.request_timeout_ms = 5000;
		co.name = "coord-bench";
		coord_client_free(q);
		return coord_client_new(tok, &co, out);
	}
	fprintf(stderr, "coord-bench: no endpoint is the leader\n");
	coord_client_free(q);
	return COORD_ENOLEADER;
}

/* One round; 0, or 1 after printing why it failed. */
static int expiry_round(struct lk_bench *b, int r, double *handoff,
			double *from_stop)
{
	char lock[160], line[256];
	struct coord_client *q = NULL;
	struct coord_lock_status *st = NULL;
	struct waiter x;
	pthread_t th;
	bool th_started = false;
	uint64_t token = 0, sid = 0, t_stop, tq0, tq1, left = 0, deadline;
	FILE *hout = NULL;
	pid_t pid;
	int rc = 1, lrc;

	snprintf(lock, sizeof(lock), "%s/expiry/%d", b->prefix, r);
	pid = bench_spawn_holder("lock-holder", b->o.endpoints,
				 b->o.holder_ttl_ms, "--lock", lock, &hout);
	if (pid < 0 || hout == NULL) {
		fprintf(stderr, "coord-bench: cannot start the holder\n");
		goto out;
	}
	if (fgets(line, sizeof(line), hout) == NULL ||
	    sscanf(line, "LOCKED %" SCNu64 " %" SCNu64, &token, &sid) != 2) {
		fprintf(stderr, "coord-bench: the holder did not lock\n");
		goto out;
	}
	if (leader_client(b, &q) != COORD_OK)
		goto out;
	memset(&x, 0, sizeof(x));
	x.b = b;
	x.lock = lock;
	if (pthread_create(&th, NULL, waiter_main, &x) != 0)
		goto out;
	th_started = true;
	/* The waiter is queued once the lock's status lists it. */
	deadline = bench_mono_ns() + (uint64_t)LK_WAIT_MS * 1000000u;
	for (;;) {
		uint64_t n = 0;

		if (coord_lock_status(q, lock, strlen(lock), &st) == COORD_OK)
			n = st->n_waiters;
		coord_lock_status_free(st);
		st = NULL;
		if (n >= 1)
			break;
		if (bench_mono_ns() > deadline) {
			fprintf(stderr, "coord-bench: the waiter never "
				"queued\n");
			goto out;
		}
		bench_sleep_ms(10);
	}
	/* A few keepalives of the holder, then stop it at a random point
	 * of its keepalive period (as a crash would). */
	bench_sleep_ms(b->o.holder_ttl_ms + (unsigned)(bench_real_ns() %
						  (b->o.holder_ttl_ms / 3)));
	t_stop = bench_mono_ns();
	kill(pid, SIGSTOP);
	/* A keepalive sent just before the stop commits meanwhile. */
	bench_sleep_ms(LK_SETTLE_MS);
	tq0 = bench_mono_ns();
	lrc = coord_lease_ttl(q, sid, &left, NULL);
	tq1 = bench_mono_ns();
	pthread_join(th, NULL);
	th_started = false;
	if (x.rc != COORD_OK) {
		fprintf(stderr, "coord-bench: the waiter: %s\n", x.err);
		goto out;
	}
	if (x.token <= token) {
		fprintf(stderr, "coord-bench: token %" PRIu64 " after %" PRIu64
			": not rising\n", x.token, token);
		goto out;
	}
	*from_stop = (double)(x.grant_ns - t_stop) / 1e6;
	if (lrc == COORD_OK && left > 0) {
		/* The leader's apply time of the last keepalive, on this
		 * clock: the middle of the read, plus what was left, less
		 * the TTL. */
		double last_ka = (double)(tq0 + tq1) / 2e6 + (double)left -
				 (double)b->o.holder_ttl_ms;

		*handoff = (double)x.grant_ns / 1e6 - last_ka;
	} else {
		fprintf(stderr, "coord-bench: LEASE_TTL of the holder: %s\n",
			lrc == COORD_OK ? "already expired" :
			coord_errmsg(q));
		*handoff = -1;
	}
	/* ttl_read_ms: how long the LEASE_TTL read took; the estimate of
	 * the last keepalive is off by at most half of it. */
	printf("ROUND workload=expiry-handoff round=%d ttl_ms=%u"
	       " handoff_ms=%.1f handoff_minus_ttl_ms=%.1f from_stop_ms=%.1f"
	       " ttl_read_ms=%.1f token_before=%" PRIu64 " token_after=%"
	       PRIu64 "\n", r, b->o.holder_ttl_ms, *handoff,
	       *handoff >= 0 ? *handoff - b->o.holder_ttl_ms : -1, *from_stop,
	       (double)(tq1 - tq0) / 1e6, token, x.token);
	fflush(stdout);
	rc = 0;
out:
	if (th_started) {
		/* The holder's death lets the waiter through. */
		kill(pid, SIGKILL);
		pthread_join(th, NULL);
	}
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (hout != NULL)
		fclose(hout);
	coord_client_free(q);
	return rc;
}

static int run_expiry(struct lk_bench *b)
{
	double h[LK_ROUNDS_MAX], s[LK_ROUNDS_MAX], hm[LK_ROUNDS_MAX];
	char la[16], hl[LK_ROUNDS_MAX * 12] = "", sl[LK_ROUNDS_MAX * 12] = "";
	size_t uh = 0, us = 0;
	int n = 0;

	bench_loadavg1(la, sizeof(la));
	for (int r = 1; r <= b->o.rounds; r++) {
		if (expiry_round(b, r, &h[n], &s[n]) != 0)
			return 1;
		uh += (size_t)snprintf(hl + uh, sizeof(hl) - uh, "%s%.0f",
				       n ? "," : "", h[n]);
		us += (size_t)snprintf(sl + us, sizeof(sl) - us, "%s%.0f",
				       n ? "," : "", s[n]);
		hm[n] = h[n] - b->o.holder_ttl_ms;
		n++;
	}
	printf("RESULT workload=expiry-handoff ttl_ms=%u rounds=%d"
	       " handoff_ms=%.1f handoff_minus_ttl_ms=%.1f from_stop_ms=%.1f"
	       " handoff_list=%s from_stop_list=%s label=%s loadavg1=%s\n",
	       b->o.holder_ttl_ms, n, bench_median(h, (size_t)n),
	       bench_median(hm, (size_t)n), bench_median(s, (size_t)n), hl, sl,
	       b->o.label ? b->o.label : "-", la);
	return 0;
}

/* ---------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: coord-bench lock-contended|lock-uncontended|"
		"session-churn|sem-cycles [options]\n"
		"       coord-bench expiry-handoff [--rounds N]"
		" [--holder-ttl-ms MS] [options]\n"
		"       coord-bench failover-lock --kill-log FILE [options]\n"
		"       coord-bench scale [--sessions N] [--per-client N]"
		" [--leader-pid PID] [--leader-http H:P] [options]\n"
		"  --endpoints H:P,...  the cluster (default 127.0.0.1:2479,"
		"127.0.0.1:2489,127.0.0.1:2499)\n"
		"  --clients N          threads, one synchronous client each"
		" (lock-contended 16, lock-uncontended 256, session-churn 64,"
		" failover-lock 16, sem-cycles 16: clients/4 permits)\n"
		"  --seconds S          run time (default 10; scale: the hold,"
		" 30; failover-lock: 0, until SIGTERM/SIGINT)\n"
		"  --ttl-ms MS          session TTL (default 10000)\n"
		"  --holder-ttl-ms MS   expiry-handoff: the holder's TTL"
		" (default 2000)\n"
		"  --rounds N           expiry-handoff rounds (default 5)\n"
		"  --val-size B         bytes of each fenced put (default 256)\n"
		"  --cycle split|combined  lock-contended, lock-uncontended:"
		" split (default):\n"
		"                       acquire, coord_lock_put, coord_lock_release"
		" (cycle=acquire,put,release);\n"
		"                       combined: acquire, coord_lock_put_release"
		" (cycle=acquire,put_release)\n"
		"  --conns N            session-churn, lock-contended,"
		" lock-uncontended (combined cycle): the clients'\n"
		"                       sessions carried by N clients (one"
		" connection and thread each),\n"
		"                       driven by libcoord's asynchronous calls"
		" (etcd-load's --conns)\n"
		"  --timeout-ms MS      per request and per acquire (default"
		" 60000; failover-lock 1000)\n"
		"  --cpu-pids P,P,...   report these processes' CPU seconds"
		" (coord_cpu_s)\n"
		"  --kill-log FILE      failover-lock: realtime ns of each kill,"
		" one a line\n"
		"  --sessions N         scale: sessions (default 100000)\n"
		"  --per-client N       scale: sessions per client (default"
		" 1000)\n"
		"  --leader-pid PID     scale: the leader's CPU and RSS\n"
		"  --leader-http H:P    scale: the leader's /metrics\n"
		"  --label TEXT         copied into the RESULT line\n");
}

/* The options, by type: s a string, i int, u unsigned, l long, z size_t,
 * d double. */
#define LK_OPT(name, type, field) \
	{ name, type, offsetof(struct lk_opts, field) }
static const struct {
	const char *name;
	char type;
	size_t off;
} lk_opts_table[] = {
	LK_OPT("--endpoints", 's', endpoints),
	LK_OPT("--clients", 'i', clients),
	LK_OPT("--seconds", 'd', seconds),
	LK_OPT("--ttl-ms", 'u', ttl_ms),
	LK_OPT("--holder-ttl-ms", 'u', holder_ttl_ms),
	LK_OPT("--rounds", 'i', rounds),
	LK_OPT("--val-size", 'z', val_size),
	LK_OPT("--timeout-ms", 'u', timeout_ms),
	LK_OPT("--cpu-pids", 's', cpu_pids),
	LK_OPT("--kill-log", 's', kill_log),
	LK_OPT("--sessions", 'l', sessions),
	LK_OPT("--per-client", 'l', per_client),
	LK_OPT("--leader-pid", 'l', leader_pid),
	LK_OPT("--leader-http", 's', leader_http),
	LK_OPT("--lock", 's', lock),
	LK_OPT("--cycle", 's', cycle),
	LK_OPT("--conns", 'i', conns),
	LK_OPT("--label", 's', label),
};

/* Sets option a of o to v: false for an unknown one. */
static bool opt_set(struct lk_opts *o, const char *a, const char *v)
{
	for (size_t k = 0; k < sizeof(lk_opts_table) / sizeof(lk_opts_table[0]);
	     k++) {
		char *f = (char *)o + lk_opts_table[k].off;

		if (strcmp(a, lk_opts_table[k].name) != 0)
			continue;
		switch (lk_opts_table[k].type) {
		case 's': *(const char **)(void *)f = v; break;
		case 'i': *(int *)(void *)f = atoi(v); break;
		case 'u': *(unsigned *)(void *)f =
				(unsigned)strtoul(v, NULL, 10); break;
		case 'l': *(long *)(void *)f = atol(v); break;
		case 'z': *(size_t *)(void *)f =
				(size_t)strtoul(v, NULL, 10); break;
		default: *(double *)(void *)f = atof(v); break;
		}
		return true;
	}
	return false;
}

static int parse(struct lk_bench *b, int argc, char **argv)
{
	struct lk_opts *o = &b->o;

	o->endpoints = "127.0.0.1:2479,127.0.0.1:2489,127.0.0.1:2499";
	o->clients = b->wl == LW_UNCONTENDED ? 256 :
		     b->wl == LW_CHURN ? 64 : 16;
	o->seconds = b->wl == LW_FAILOVER ? 0 : b->wl == LW_SCALE ? 30 : 10;
	o->ttl_ms = 10000;
	o->holder_ttl_ms = 2000;
	o->val_size = 256;
	o->timeout_ms = b->wl == LW_FAILOVER ? 1000 : 60000;
	o->rounds = 5;
	o->sessions = 100000;
	o->per_client = 1000;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			exit(0);
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "coord-bench: %s: missing value\n",
				argv[i]);
			return 2;
		}
		if (!opt_set(o, argv[i], argv[i + 1])) {
			fprintf(stderr, "coord-bench %s: unknown argument %s\n",
				lk_names[b->wl], argv[i]);
			return 2;
		}
		i++;
	}
	if (o->clients < 1 || o->clients > LK_CLIENTS_MAX ||
	    o->rounds < 1 || o->rounds > LK_ROUNDS_MAX || o->seconds < 0 ||
	    o->ttl_ms == 0 || o->holder_ttl_ms < 3 ||
	    o->val_size > (512u << 10) || o->sessions < 1 ||
	    o->per_client < 1 ||
	    (o->sessions + o->per_client - 1) / o->per_client >
		    LK_CLIENTS_MAX) {
		fprintf(stderr, "coord-bench %s: bad option (--clients and"
			" sessions/per-client 1..%d, --rounds 1..%d)\n",
			lk_names[b->wl], LK_CLIENTS_MAX, LK_ROUNDS_MAX);
		return 2;
	}
	if (o->cycle != NULL && strcmp(o->cycle, "split") != 0 &&
	    strcmp(o->cycle, "combined") != 0) {
		fprintf(stderr, "coord-bench %s: --cycle split|combined\n",
			lk_names[b->wl]);
		return 2;
	}
	if (o->conns != 0 &&
	    (o->conns < 1 || o->conns > o->clients ||
	     (b->wl != LW_CONTENDED && b->wl != LW_UNCONTENDED &&
	      b->wl != LW_CHURN) ||
	     (b->wl != LW_CHURN &&
	      (o->cycle == NULL || strcmp(o->cycle, "combined") != 0)))) {
		fprintf(stderr, "coord-bench %s: --conns 1..clients, with"
			" session-churn, or lock-contended or lock-uncontended"
			" and --cycle combined\n", lk_names[b->wl]);
		return 2;
	}
	if (b->wl == LW_FAILOVER && o->kill_log == NULL) {
		fprintf(stderr, "coord-bench failover-lock: --kill-log is"
			" needed\n");
		return 2;
	}
	if (b->wl == LW_HOLDER && o->lock == NULL) {
		fprintf(stderr, "coord-bench lock-holder: --lock is needed\n");
		return 2;
	}
	return 0;
}

bool bench_lock_has(const char *workload)
{
	for (size_t i = 0; i < sizeof(lk_names) / sizeof(lk_names[0]); i++)
		if (strcmp(workload, lk_names[i]) == 0)
			return true;
	return false;
}

int bench_lock(const char *workload, int argc, char **argv)
{
	struct lk_bench b;
	sigset_t set;
	int rc;

	memset(&b, 0, sizeof(b));
	b.wl = LW_CONTENDED;
	while (strcmp(lk_names[b.wl], workload) != 0)
		if (++b.wl > LW_HOLDER) {
			usage(stderr);
			return 2;
		}
	rc = parse(&b, argc, argv);
	if (rc != 0)
		return rc;
	signal(SIGPIPE, SIG_IGN);
	bench_prefix(b.prefix, sizeof(b.prefix));
	b.val = bench_value(b.o.val_size);
	if (b.wl == LW_HOLDER) {
		rc = run_holder(&b);
	} else if (b.wl == LW_EXPIRY) {
		rc = run_expiry(&b);
	} else {
		/* SIGTERM and SIGINT end the run; only wait_end() takes
		 * them, so every thread starts with them blocked. */
		sigemptyset(&set);
		sigaddset(&set, SIGTERM);
		sigaddset(&set, SIGINT);
		pthread_sigmask(SIG_BLOCK, &set, NULL);
		b.n_w = b.wl == LW_SCALE ?
			(int)((b.o.sessions + b.o.per_client - 1) /
			      b.o.per_client) :
			b.o.conns > 0 ? b.o.conns : b.o.clients;
		rc = run_threads(&b);
	}
	free(b.val);
	return rc;
}
