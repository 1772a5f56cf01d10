/*
 * coordd/fsm/queue.c: the queue-and-grant mechanism every primitive that
 * hands something to sessions in turn is built on (locks today;
 * semaphores, elections and job claims on the same records later). A
 * queue is (kind, name) with holders and FIFO waiters; the primitive's
 * file gives the policy (who may be granted beside whom), this file keeps
 * the records, the owner index and the grant rule of fsm.h: deadlines,
 * liveness re-verified on grant, FIFO.
 *
 * Records:
 *   'q' kind:1 name    delay_until_ms:8 n_holders:4 n_waiters:4, then
 *                      the holders and the waiters in FIFO order, each
 *                      session:8 token:8 since_ms:8 deadline_ms:8
 *                      lock_delay_ms:8 (a semaphore's: its permits N)
 *                      mode:1. Absent: nothing held, no
 *                      waiters, no delay.
 *   'o' session:8 kind:1 name   session holds or waits on the queue.
 *                      Value: empty. Ending a session scans its prefix.
 *
 * What it never does: decide compatibility (the policy does), end a
 * session (it dooms one, lease.c ends it).
 */
#include <string.h>

#include "coordd/fsm/fsm_int.h"
#include "proto/assert.h"
#include "proto/errors.h"
#include "proto/limits.h"

#define QHDR_BYTES 16
#define QENTRY_BYTES 41

static int qkey(struct fsm *f, struct fsm_kbuf *k, uint8_t kind,
		struct proto_bytes name)
{
	uint8_t hdr[2] = { FSM_KIND_QUEUE, kind };
	int rc = fsm_kbuf_set(f, k, hdr, sizeof(hdr));

	return rc == COORD_OK ? fsm_kbuf_append(f, k, name.data, name.len)
			      : rc;
}

static int okey(struct fsm *f, struct fsm_kbuf *k, uint64_t session,
		uint8_t kind, struct proto_bytes name)
{
	uint8_t hdr[1 + 8 + 1] = { FSM_KIND_OWNER };
	int rc;

	fsm_be64_put(hdr + 1, session);
	hdr[9] = kind;
	rc = fsm_kbuf_set(f, k, hdr, sizeof(hdr));
	return rc == COORD_OK ? fsm_kbuf_append(f, k, name.data, name.len)
			      : rc;
}

static int owner_set(struct fsm *f, const struct fsm_queue *q,
		     uint64_t session, bool present)
{
	struct fsm_kbuf *k = &f->write_key;
	int rc = okey(f, k, session, q->kind, q->name);

	if (rc != COORD_OK)
		return rc;
	return present ? fsm_ov_put(f, k->data, k->len, NULL, 0)
		       : fsm_rec_set(f, k->data, k->len, NULL, 0);
}

static const uint8_t *qentry_get(const uint8_t *p, struct fsm_qentry *e)
{
	e->session = fsm_be64_get(p);
	e->token = fsm_be64_get(p + 8);
	e->since_ms = fsm_be64_get(p + 16);
	e->deadline_ms = fsm_be64_get(p + 24);
	e->lock_delay_ms = fsm_be64_get(p + 32);
	e->mode = p[40];
	return p + QENTRY_BYTES;
}

static uint8_t *qentry_put(uint8_t *p, const struct fsm_qentry *e)
{
	fsm_be64_put(p, e->session);
	fsm_be64_put(p + 8, e->token);
	fsm_be64_put(p + 16, e->since_ms);
	fsm_be64_put(p + 24, e->deadline_ms);
	fsm_be64_put(p + 32, e->lock_delay_ms);
	p[40] = e->mode;
	return p + QENTRY_BYTES;
}

/* Parses a 'q' value into q's arrays (arena memory). */
static int queue_parse(struct fsm *f, const uint8_t *v, size_t len,
		       struct fsm_queue *q)
{
	uint64_t nh, nw;
	const uint8_t *p;

	if (len < QHDR_BYTES)
		return COORD_ECORRUPT;
	q->delay_until_ms = fsm_be64_get(v);
	nh = fsm_be32_get(v + 8);
	nw = fsm_be32_get(v + 12);
	if (len != QHDR_BYTES + (nh + nw) * QENTRY_BYTES)
		return COORD_ECORRUPT;
	q->holders = nh == 0 ? NULL
			     : proto_arena_alloc(&f->arena,
						 nh * sizeof(*q->holders));
	q->waiters = nw == 0 ? NULL
			     : proto_arena_alloc(&f->arena,
						 nw * sizeof(*q->waiters));
	if ((nh > 0 && q->holders == NULL) || (nw > 0 && q->waiters == NULL))
		return COORD_ENOMEM;
	p = v + QHDR_BYTES;
	for (size_t i = 0; i < nh; i++)
		p = qentry_get(p, &q->holders[i]);
	for (size_t i = 0; i < nw; i++)
		p = qentry_get(p, &q->waiters[i]);
	q->n_holders = q->cap_holders = nh;
	q->n_waiters = q->cap_waiters = nw;
	return COORD_OK;
}

int fsm_queue_load(struct fsm *f, uint8_t kind, struct proto_bytes name,
		   struct fsm_queue *q)
{
	const uint8_t *v;
	size_t len;
	bool found;
	int rc;

	memset(q, 0, sizeof(*q));
	q->kind = kind;
	q->name.len = name.len;
	q->name.data = name.len == 0 ? NULL
				     : proto_arena_dup(&f->arena, name.data,
						       name.len);
	if (name.len > 0 && q->name.data == NULL)
		return COORD_ENOMEM;
	rc = qkey(f, &f->write_key, kind, name);
	if (rc == COORD_OK)
		rc = fsm_rec_get(f, f->write_key.data, f->write_key.len,
				 &found, &v, &len);
	if (rc != COORD_OK || !found)
		return rc;
	return queue_parse(f, v, len, q);
}

static uint64_t queue_wake(const struct fsm_queue *q);

/* The queue's wake time after this command, for the result (fsm.h). */
static int wake_report(struct fsm *f, const struct fsm_queue *q)
{
	struct fsm_queue_wake *w = fsm_arr_push(f, (void **)&f->wakes,
						&f->n_wakes, &f->cap_wakes,
						sizeof(*w));

	if (w == NULL)
		return COORD_ENOMEM;
	w->kind = q->kind;
	w->name = q->name;
	w->wake_ms = queue_wake(q);
	return COORD_OK;
}

int fsm_queue_store(struct fsm *f, const struct fsm_queue *q)
{
	const struct fsm_queue_policy *pol = fsm_queue_policy_of(q->kind);
	size_t n = q->n_holders + q->n_waiters, len;
	uint8_t *v, *p;
	int rc = COORD_OK;

	/* Whatever changed the queue (a command of its primitive, a
	 * session's end, a kick), its primitive brings its own records in
	 * line before the queue is stored. */
	if (pol != NULL && pol->settle != NULL)
		rc = pol->settle(f, q);
	if (rc == COORD_OK)
		rc = qkey(f, &f->write_key, q->kind, q->name);
	if (rc == COORD_OK)
		rc = wake_report(f, q);
	if (rc != COORD_OK)
		return rc;
	/* An empty queue keeps its record only while a delay is ahead. */
	if (n == 0 && q->delay_until_ms <= f->clock_new)
		return fsm_rec_set(f, f->write_key.data, f->write_key.len,
				   NULL, 0);
	len = QHDR_BYTES + n * QENTRY_BYTES;
	v = proto_arena_alloc(&f->arena, len);
	if (v == NULL)
		return COORD_ENOMEM;
	fsm_be64_put(v, q->delay_until_ms);
	fsm_be32_put(v + 8, (uint32_t)q->n_holders);
	fsm_be32_put(v + 12, (uint32_t)q->n_waiters);
	p = v + QHDR_BYTES;
	for (size_t i = 0; i < q->n_holders; i++)
		p = qentry_put(p, &q->holders[i]);
	for (size_t i = 0; i < q->n_waiters; i++)
		p = qentry_put(p, &q->waiters[i]);
	return fsm_rec_set(f, f->write_key.data, f->write_key.len, v, len);
}

long fsm_queue_find(const struct fsm_qentry *v, size_t n, uint64_t session)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].session == session)
			return (long)i;
	return -1;
}

static int grant_report(struct fsm *f, const struct fsm_queue *q,
			const struct fsm_qentry *h)
{
	struct fsm_grant *g = fsm_arr_push(f, (void **)&f->grants,
					   &f->n_grants, &f->cap_grants,
					   sizeof(*g));

	if (g == NULL)
		return COORD_ENOMEM;
	g->kind = q->kind;
	g->name = q->name;
	g->session = h->session;
	g->token = h->token;
	return COORD_OK;
}

int fsm_queue_hold(struct fsm *f, struct fsm_queue *q,
		   const struct fsm_qentry *e, bool owner_exists)
{
	struct fsm_qentry *h = fsm_arr_push(f, (void **)&q->holders,
					    &q->n_holders, &q->cap_holders,
					    sizeof(*h));
	int rc;

	if (h == NULL)
		return COORD_ENOMEM;
	*h = *e;
	h->token = f->rev_new;
	h->since_ms = f->clock_new;
	h->deadline_ms = 0;
	f->usage_new.holds++;
	fsm_state_changed(f);
	rc = owner_exists ? COORD_OK : owner_set(f, q, e->session, true);
	return rc == COORD_OK ? grant_report(f, q, h) : rc;
}

int fsm_queue_wait(struct fsm *f, struct fsm_queue *q,
		   const struct fsm_qentry *e)
{
	struct fsm_qentry *w = fsm_arr_push(f, (void **)&q->waiters,
					    &q->n_waiters, &q->cap_waiters,
					    sizeof(*w));

	if (w == NULL)
		return COORD_ENOMEM;
	*w = *e;
	w->token = 0;
	w->since_ms = f->clock_new;
	f->usage_new.waiters++;
	fsm_state_changed(f);
	return owner_set(f, q, e->session, true);
}

static void entry_remove(struct fsm_qentry *v, size_t *n, size_t i)
{
	COORD_ASSERT(i < *n);
	memmove(&v[i], &v[i + 1], (*n - i - 1) * sizeof(*v));
	(*n)--;
}

int fsm_queue_unhold(struct fsm *f, struct fsm_queue *q, size_t i)
{
	uint64_t session = q->holders[i].session;

	entry_remove(q->holders, &q->n_holders, i);
	f->usage_new.holds--;
	fsm_state_changed(f);
	return owner_set(f, q, session, false);
}

int fsm_queue_unwait(struct fsm *f, struct fsm_queue *q, size_t i)
{
	uint64_t session = q->waiters[i].session;

	entry_remove(q->waiters, &q->n_waiters, i);
	f->usage_new.waiters--;
	fsm_state_changed(f);
	return owner_set(f, q, session, false);
}

bool fsm_queue_delay_over(const struct fsm *f, const struct fsm_queue *q)
{
	return q->delay_until_ms != 0 && q->delay_until_ms <= f->clock_new;
}

int fsm_queue_grant(struct fsm *f, struct fsm_queue *q,
		    const struct fsm_queue_policy *pol, uint64_t *granted)
{
	struct fsm_lease_rec l;
	struct fsm_qentry w;
	bool found;
	int rc = COORD_OK;

	*granted = 0;
	/* A lock-delay that is over is none: cleared, or it would stay the
	 * queue's wake time (queue_wake()), a time already past that the
	 * leader would kick for nothing again and again. */
	if (fsm_queue_delay_over(f, q))
		q->delay_until_ms = 0;
	while (rc == COORD_OK && q->n_waiters > 0) {
		w = q->waiters[0];
		if (w.deadline_ms != 0 && f->clock_new > w.deadline_ms) {
			rc = fsm_queue_unwait(f, q, 0);
			continue;
		}
		if (!pol->grantable(f, q, w.mode))
			break;
		rc = fsm_lease_read(f, w.session, &found, &l);
		if (rc != COORD_OK)
			break;
		if (!found || !l.session || fsm_lease_overdue(f, &l)) {
			/* Never granted to a session whose TTL ran out:
			 * it ends in this command (if not ending already). */
			rc = fsm_queue_unwait(f, q, 0);
			if (rc == COORD_OK && found)
				rc = fsm_lease_doom(f, w.session,
						    COORD_ESESSION_EXPIRED);
			continue;
		}
		entry_remove(q->waiters, &q->n_waiters, 0);
		f->usage_new.waiters--;
		rc = fsm_queue_hold(f, q, &w, true);
		if (rc == COORD_OK && pol->granted != NULL)
			rc = pol->granted(f, q, &q->holders[q->n_holders - 1]);
		(*granted)++;
	}
	return rc;
}

int fsm_queue_check_name(struct proto_bytes name)
{
	return name.len == 0 || name.len > COORD_NAME_BYTES_MAX ? COORD_EINVAL
								 : COORD_OK;
}

int fsm_queue_session_ok(struct fsm *f, uint64_t session)
{
	struct fsm_lease_rec l;
	bool found;
	int rc = fsm_lease_read(f, session, &found, &l);

	if (rc != COORD_OK)
		return rc;
	if (!found || !l.session)
		return COORD_ESESSION;
	/* Never granted (nor queued) past its TTL; the leader's expiry of
	 * it follows. */
	return fsm_lease_overdue(f, &l) ? COORD_ESESSION_EXPIRED : COORD_OK;
}

int fsm_queue_session_room(struct fsm *f, uint64_t session)
{
	struct proto_bytes *names;
	uint8_t *kinds;
	size_t n;
	int rc;

	/* Every owner record stands for a hold or a wait of its session:
	 * with fewer of those in the whole state than the limit, no
	 * session is at it. The scan is skipped then -- on LevelDB a seek
	 * that steps over every past version of the session's owner keys
	 * still in the memtable (one put and one delete a lock cycle), 18 %
	 * of a leader's CPU under 256 clients' lock cycles
	 * (docs/performance.md, Run 12). */
	if (f->usage_new.holds + f->usage_new.waiters <
	    f->cfg.locks_per_session_max)
		return COORD_OK;
	rc = fsm_queue_owned(f, session, &kinds, &names, &n,
			     f->cfg.locks_per_session_max);
	if (rc == COORD_OK && n >= f->cfg.locks_per_session_max)
		rc = COORD_ETOOMANYLOCKS;
	return rc;
}

int fsm_queue_join_check(struct fsm *f, const struct fsm_queue *q,
			 const struct fsm_qentry *e, bool now, bool wait,
			 bool *done, struct proto_lock_acquire_reply *out)
{
	long i = fsm_queue_find(q->holders, q->n_holders, e->session);

	*done = true;
	if (i >= 0) {
		out->granted = true;
		out->token = q->holders[i].token;
		return COORD_OK;
	}
	/* Never queued twice. */
	if (fsm_queue_find(q->waiters, q->n_waiters, e->session) >= 0)
		return COORD_OK;
	*done = false;
	/* A waiter whose deadline passed already would only be dropped. */
	if (!now && (!wait || (e->deadline_ms != 0 &&
			       f->clock_new > e->deadline_ms)))
		return COORD_EBUSY;
	if (!now && q->n_waiters >= f->cfg.waiters_max)
		return COORD_ETOOMANYWAITERS;
	return fsm_queue_session_room(f, e->session);
}

int fsm_queue_join(struct fsm *f, struct fsm_queue *q,
		   const struct fsm_qentry *e, bool now,
		   struct proto_lock_acquire_reply *out)
{
	int rc;

	if (now) {
		rc = fsm_queue_hold(f, q, e, false);
		out->granted = true;
		out->token = f->rev_new;
	} else {
		rc = fsm_queue_wait(f, q, e);
	}
	return rc == COORD_OK ? fsm_queue_store(f, q) : rc;
}

int fsm_queue_release(struct fsm *f, uint8_t kind, struct proto_bytes name,
		      uint64_t session, uint64_t token, int stale)
{
	struct fsm_queue q;
	uint64_t granted;
	long i;
	int rc = fsm_queue_load(f, kind, name, &q);

	if (rc != COORD_OK)
		return rc;
	if (token != 0) {
		i = fsm_queue_find(q.holders, q.n_holders, session);
		if (i < 0 || q.holders[i].token != token)
			return stale;
		rc = fsm_queue_unhold(f, &q, (size_t)i);
	} else {
		i = fsm_queue_find(q.waiters, q.n_waiters, session);
		if (i < 0)
			return COORD_ENOTFOUND;
		rc = fsm_queue_unwait(f, &q, (size_t)i);
	}
	if (rc == COORD_OK)
		rc = fsm_queue_grant(f, &q, fsm_queue_policy_of(kind),
				     &granted);
	if (rc == COORD_OK)
		rc = fsm_queue_store(f, &q);
	return rc == COORD_OK ? fsm_leases_end_doomed(f) : rc;
}

int fsm_queue_owned(struct fsm *f, uint64_t session, uint8_t **kinds,
		    struct proto_bytes **names, size_t *n, size_t max)
{
	struct fsm_view_iter it;
	uint8_t prefix[1 + 8] = { FSM_KIND_OWNER };
	size_t cap_k = 0, cap_n = 0, nk = 0;
	int rc = fsm_view_open(f, &it);

	*kinds = NULL;
	*names = NULL;
	*n = 0;
	if (rc != COORD_OK)
		return rc;
	fsm_be64_put(prefix + 1, session);
	for (fsm_view_seek(&it, prefix, sizeof(prefix));
	     fsm_view_valid(&it) && *n < max; fsm_view_next(&it)) {
		size_t k_len;
		const uint8_t *k = fsm_view_key(&it, &k_len);
		uint8_t *kind;
		struct proto_bytes *name;

		if (k_len < sizeof(prefix) ||
		    memcmp(k, prefix, sizeof(prefix)) != 0)
			break;
		if (k_len < sizeof(prefix) + 1) {
			rc = COORD_ECORRUPT;
			break;
		}
		kind = fsm_arr_push(f, (void **)kinds, &nk, &cap_k, 1);
		name = fsm_arr_push(f, (void **)names, n, &cap_n,
				    sizeof(*name));
		if (kind == NULL || name == NULL) {
			rc = COORD_ENOMEM;
			break;
		}
		*kind = k[sizeof(prefix)];
		name->len = k_len - sizeof(prefix) - 1;
		name->data = proto_arena_dup(&f->arena, k + sizeof(prefix) + 1,
					     name->len);
		if (name->len > 0 && name->data == NULL) {
			rc = COORD_ENOMEM;
			break;
		}
	}
	if (rc == COORD_OK)
		rc = fsm_view_status(&it);
	fsm_view_close(&it);
	return rc;
}

const struct fsm_queue_policy *fsm_queue_policy_of(uint8_t kind)
{
	switch (kind) {
	case FSM_QUEUE_LOCK:
		return &fsm_lock_policy;
	case FSM_QUEUE_SEM:
		return &fsm_sem_policy;
	case FSM_QUEUE_ELECTION:
		return &fsm_election_policy;
	case FSM_QUEUE_JOB:
		return &fsm_job_policy;
	}
	return NULL;
}

/* Reads of the current state, between commands. */

int fsm_queue_status(struct fsm *f, uint8_t kind, struct proto_bytes name,
		     size_t waiters_max, struct fsm_queue_status *out)
{
	struct fsm_holder *h = NULL;
	struct fsm_waiter *w = NULL;
	struct fsm_queue q;
	size_t nw;
	int rc;

	memset(out, 0, sizeof(*out));
	proto_arena_reset(&f->arena);
	fsm_ov_reset(&f->ov);
	rc = fsm_queue_load(f, kind, name, &q);
	if (rc != COORD_OK)
		return rc;
	nw = q.n_waiters < waiters_max ? q.n_waiters : waiters_max;
	if (q.n_holders > 0)
		h = proto_arena_alloc(&f->arena, q.n_holders * sizeof(*h));
	if (nw > 0)
		w = proto_arena_alloc(&f->arena, nw * sizeof(*w));
	if ((q.n_holders > 0 && h == NULL) || (nw > 0 && w == NULL))
		return COORD_ENOMEM;
	for (size_t i = 0; i < q.n_holders; i++) {
		h[i].session = q.holders[i].session;
		h[i].token = q.holders[i].token;
		h[i].since_ms = q.holders[i].since_ms;
		h[i].mode = q.holders[i].mode;
	}
	for (size_t i = 0; i < nw; i++) {
		w[i].session = q.waiters[i].session;
		w[i].since_ms = q.waiters[i].since_ms;
		w[i].deadline_ms = q.waiters[i].deadline_ms;
		w[i].mode = q.waiters[i].mode;
	}
	out->permits = kind == FSM_QUEUE_SEM ? fsm_sem_permits(&q) : 0;
	out->delay_until_ms = q.delay_until_ms;
	out->holders = h;
	out->n_holders = q.n_holders;
	out->waiters = w;
	out->n_waiters = nw;
	out->waiters_total = q.n_waiters;
	return COORD_OK;
}

/* When queue q needs a kick: its lock-delay's end or its earliest
 * waiter deadline (0: never). */
static uint64_t queue_wake(const struct fsm_queue *q)
{
	uint64_t wake = q->delay_until_ms;

	for (size_t i = 0; i < q->n_waiters; i++)
		if (q->waiters[i].deadline_ms != 0 &&
		    (wake == 0 || q->waiters[i].deadline_ms < wake))
			wake = q->waiters[i].deadline_ms;
	return q->n_waiters > 0 ? wake : 0;
}

struct queues_each_ctx {
	struct fsm *f;
	int (*cb)(void *ctx, const struct fsm_queue_wake *w);
	void *ctx;
};

static int queues_each_cb(void *ctx, const uint8_t *k, size_t k_len,
			  const uint8_t *v, size_t v_len)
{
	struct queues_each_ctx *c = ctx;
	struct fsm_queue_wake wk;
	struct fsm_queue q;
	int rc;

	if (k_len < 2)
		return COORD_ECORRUPT;
	proto_arena_reset(&c->f->arena);
	memset(&q, 0, sizeof(q));
	rc = queue_parse(c->f, v, v_len, &q);
	if (rc != COORD_OK)
		return rc;
	wk.kind = k[1];
	wk.name = proto_bytes_make(k + 2, k_len - 2);
	wk.wake_ms = queue_wake(&q);
	return wk.wake_ms != 0 ? c->cb(c->ctx, &wk) : COORD_OK;
}

int fsm_queues_each(struct fsm *f,
		    int (*cb)(void *ctx, const struct fsm_queue_wake *w),
		    void *ctx)
{
	struct queues_each_ctx c = { f, cb, ctx };

	return fsm_records_each(f, FSM_KIND_QUEUE, queues_each_cb, &c);
}
