/*
 * coordd/fsm/job.c: job queues -- enqueue, claim, complete, fail -- over
 * the queue of queue.c. The claimers of queue name are the waiters and
 * holders of queue.c's queue (FSM_QUEUE_JOB, name): FIFO among claimers,
 * deadlines, liveness re-verified on grant and the owner index that ends
 * a claim with its session are queue.c's. This file keeps the jobs
 * themselves, and the policy: a claimer may be granted while a job is
 * pending (q->avail); the grant takes the head job (job_granted()), and a
 * claim whose session ends puts its job back at the head with one more
 * attempt (job_hold_ended()).
 *
 * Records (all under 'j' len:2 name, see backend.h):
 *   'M'          meta: head:8 tail:8 n_pending:8 n_claimed:8 n_dead:8
 *                n_done:8 done_seq:8. Absent: the queue holds no job.
 *   'J' id:8     a job: state:1 attempts:4 max_attempts:4 session:8
 *                token:8 pos:8 ukey_len:2 ukey payload_len:4 payload
 *                result_len:4 result.
 *   'P' pos:8    -> id:8, pending in FIFO order (head < tail).
 *   'C' id:8     claimed (empty value); 'S' session:8 -> id:8 its claim.
 *   'D' id:8     dead (empty value).
 *   'X' seq:8    -> id:8, done in completion order.
 *   'U' ukey     -> id:8, the unique key of a job still kept.
 * and 'j' 0x00 0x00 (the empty name): n_queues:8.
 *
 * What it never does: end a session, or forget a pending, claimed or dead
 * job (a done job is dropped once cfg.job_done_kept newer ones are done).
 */
#include <string.h>

#include "coordd/fsm/fsm_int.h"
#include "proto/errors.h"
#include "proto/limits.h"

#define JK_META 'M'
#define JK_JOB 'J'
#define JK_PENDING 'P'
#define JK_CLAIMED 'C'
#define JK_SESSION 'S'
#define JK_DEAD 'D'
#define JK_DONE 'X'
#define JK_UNIQUE 'U'

#define META_BYTES 56
#define JOB_HDR_BYTES 33
/* Pending positions grow both ways from here: a requeue at the head
 * takes head - 1, an enqueue tail + 1. */
#define JOB_POS_START (UINT64_C(1) << 63)

struct job_meta {
	uint64_t head, tail;        /* pending positions: [head, tail) */
	uint64_t n_pending, n_claimed, n_dead, n_done;
	uint64_t done_seq;          /* the last done job's place */
};

struct job_rec {
	uint8_t state;
	uint32_t attempts;
	uint32_t max_attempts;
	uint64_t session;
	uint64_t token;
	uint64_t pos;               /* pending: its position; done: seq */
	struct proto_bytes ukey;
	struct proto_bytes payload;
	struct proto_bytes result;
};

/* 'j' len:2 name sub [v:8] [tail], in arena memory. */
static uint8_t *jkey(struct fsm *f, struct proto_bytes name, uint8_t sub,
		     const uint64_t *v, struct proto_bytes tail, size_t *len)
{
	size_t n = 1 + 2 + name.len + 1 + (v != NULL ? 8 : 0) + tail.len;
	uint8_t *k = proto_arena_alloc(&f->arena, n), *p;

	if (k == NULL)
		return NULL;
	k[0] = FSM_KIND_JOB;
	k[1] = (uint8_t)(name.len >> 8);
	k[2] = (uint8_t)name.len;
	p = k + 3;
	if (name.len > 0)
		memcpy(p, name.data, name.len);
	p += name.len;
	*p++ = sub;
	if (v != NULL) {
		fsm_be64_put(p, *v);
		p += 8;
	}
	if (tail.len > 0)
		memcpy(p, tail.data, tail.len);
	*len = n;
	return k;
}

static const struct proto_bytes no_bytes = { NULL, 0 };

/* Sets (value non-NULL) or deletes the index record (sub, v, tail). */
static int idx_set(struct fsm *f, struct proto_bytes name, uint8_t sub,
		   const uint64_t *v, struct proto_bytes tail,
		   const uint64_t *value)
{
	uint8_t val[8];
	size_t len;
	uint8_t *k = jkey(f, name, sub, v, tail, &len);

	if (k == NULL)
		return COORD_ENOMEM;
	if (value == NULL)
		return fsm_rec_set(f, k, len, NULL, 0);
	fsm_be64_put(val, *value);
	return fsm_rec_set(f, k, len, val, sizeof(val));
}

/* Sets (an empty value) or deletes the list mark (sub, id). */
static int mark_set(struct fsm *f, struct proto_bytes name, uint8_t sub,
		    uint64_t id, bool present)
{
	static const uint8_t empty[1];
	size_t len;
	uint8_t *k = jkey(f, name, sub, &id, no_bytes, &len);

	if (k == NULL)
		return COORD_ENOMEM;
	return fsm_rec_set(f, k, len, present ? empty : NULL, 0);
}

/* The id an index record holds; *found false when absent. */
static int idx_get(struct fsm *f, struct proto_bytes name, uint8_t sub,
		   const uint64_t *v, struct proto_bytes tail, bool *found,
		   uint64_t *id)
{
	const uint8_t *val;
	size_t len, vlen;
	uint8_t *k = jkey(f, name, sub, v, tail, &len);
	int rc;

	*id = 0;
	if (k == NULL)
		return COORD_ENOMEM;
	rc = fsm_rec_get(f, k, len, found, &val, &vlen);
	if (rc != COORD_OK || !*found)
		return rc;
	if (vlen != 8)
		return COORD_ECORRUPT;
	*id = fsm_be64_get(val);
	return COORD_OK;
}

static int meta_get(struct fsm *f, struct proto_bytes name, bool *found,
		    struct job_meta *m)
{
	const uint8_t *v;
	size_t len, vlen;
	uint8_t *k = jkey(f, name, JK_META, NULL, no_bytes, &len);
	uint64_t *fields[7] = { &m->head, &m->tail, &m->n_pending,
				&m->n_claimed, &m->n_dead, &m->n_done,
				&m->done_seq };
	int rc;

	memset(m, 0, sizeof(*m));
	m->head = m->tail = JOB_POS_START;
	if (k == NULL)
		return COORD_ENOMEM;
	rc = fsm_rec_get(f, k, len, found, &v, &vlen);
	if (rc != COORD_OK || !*found)
		return rc;
	if (vlen != META_BYTES)
		return COORD_ECORRUPT;
	for (size_t i = 0; i < 7; i++)
		*fields[i] = fsm_be64_get(v + 8 * i);
	return COORD_OK;
}

/* The count of queues holding jobs ('j' 0x00 0x00). */
static int queues_count(struct fsm *f, uint64_t *n, bool store)
{
	static const uint8_t key[3] = { FSM_KIND_JOB, 0, 0 };
	const uint8_t *v;
	uint8_t val[8];
	size_t vlen;
	bool found;
	int rc;

	if (store) {
		if (*n == 0)
			return fsm_rec_set(f, key, sizeof(key), NULL, 0);
		fsm_be64_put(val, *n);
		return fsm_rec_set(f, key, sizeof(key), val, sizeof(val));
	}
	rc = fsm_rec_get(f, key, sizeof(key), &found, &v, &vlen);
	*n = 0;
	if (rc != COORD_OK || !found)
		return rc;
	if (vlen != 8)
		return COORD_ECORRUPT;
	*n = fsm_be64_get(v);
	return COORD_OK;
}

/* Stores m; a queue left with no job loses its record (existed: it had
 * one), a new one counts as a queue. */
static int meta_put(struct fsm *f, struct proto_bytes name, bool existed,
		    const struct job_meta *m)
{
	const uint64_t fields[7] = { m->head, m->tail, m->n_pending,
				     m->n_claimed, m->n_dead, m->n_done,
				     m->done_seq };
	bool empty = m->n_pending + m->n_claimed + m->n_dead + m->n_done == 0;
	uint8_t *v;
	size_t len;
	uint8_t *k = jkey(f, name, JK_META, NULL, no_bytes, &len);
	uint64_t nq;
	int rc;

	if (k == NULL)
		return COORD_ENOMEM;
	fsm_state_changed(f);
	if (empty != existed) {
		/* Nothing to count: stays absent, or stays present. */
	} else {
		rc = queues_count(f, &nq, false);
		if (rc != COORD_OK)
			return rc;
		nq = empty ? nq - 1 : nq + 1;
		rc = queues_count(f, &nq, true);
		if (rc != COORD_OK)
			return rc;
	}
	if (empty)
		return fsm_rec_set(f, k, len, NULL, 0);
	v = proto_arena_alloc(&f->arena, META_BYTES);
	if (v == NULL)
		return COORD_ENOMEM;
	for (size_t i = 0; i < 7; i++)
		fsm_be64_put(v + 8 * i, fields[i]);
	return fsm_rec_set(f, k, len, v, META_BYTES);
}

static int job_get(struct fsm *f, struct proto_bytes name, uint64_t id,
		   bool *found, struct job_rec *j)
{
	const uint8_t *v, *p, *end;
	size_t len, vlen;
	uint8_t *k = jkey(f, name, JK_JOB, &id, no_bytes, &len);
	struct proto_bytes *parts[3] = { &j->ukey, &j->payload, &j->result };
	int rc;

	memset(j, 0, sizeof(*j));
	if (k == NULL)
		return COORD_ENOMEM;
	rc = fsm_rec_get(f, k, len, found, &v, &vlen);
	if (rc != COORD_OK || !*found)
		return rc;
	if (vlen < JOB_HDR_BYTES)
		return COORD_ECORRUPT;
	j->state = v[0];
	j->attempts = fsm_be32_get(v + 1);
	j->max_attempts = fsm_be32_get(v + 5);
	j->session = fsm_be64_get(v + 9);
	j->token = fsm_be64_get(v + 17);
	j->pos = fsm_be64_get(v + 25);
	p = v + JOB_HDR_BYTES;
	end = v + vlen;
	for (size_t i = 0; i < 3; i++) {
		size_t w = i == 0 ? 2 : 4, n;

		if ((size_t)(end - p) < w)
			return COORD_ECORRUPT;
		n = i == 0 ? (size_t)((p[0] << 8) | p[1]) : fsm_be32_get(p);
		p += w;
		if ((size_t)(end - p) < n)
			return COORD_ECORRUPT;
		*parts[i] = proto_bytes_make(n > 0 ? p : NULL, n);
		p += n;
	}
	return p == end ? COORD_OK : COORD_ECORRUPT;
}

static int job_put(struct fsm *f, struct proto_bytes name, uint64_t id,
		   const struct job_rec *j)
{
	size_t len, vlen = JOB_HDR_BYTES + 2 + j->ukey.len + 4 +
			   j->payload.len + 4 + j->result.len;
	uint8_t *k = jkey(f, name, JK_JOB, &id, no_bytes, &len);
	uint8_t *v = proto_arena_alloc(&f->arena, vlen), *p;
	const struct proto_bytes *parts[3] = { &j->ukey, &j->payload,
					       &j->result };

	if (k == NULL || v == NULL)
		return COORD_ENOMEM;
	v[0] = j->state;
	fsm_be32_put(v + 1, j->attempts);
	fsm_be32_put(v + 5, j->max_attempts);
	fsm_be64_put(v + 9, j->session);
	fsm_be64_put(v + 17, j->token);
	fsm_be64_put(v + 25, j->pos);
	p = v + JOB_HDR_BYTES;
	for (size_t i = 0; i < 3; i++) {
		if (i == 0) {
			p[0] = (uint8_t)(parts[i]->len >> 8);
			p[1] = (uint8_t)parts[i]->len;
			p += 2;
		} else {
			fsm_be32_put(p, (uint32_t)parts[i]->len);
			p += 4;
		}
		if (parts[i]->len > 0)
			memcpy(p, parts[i]->data, parts[i]->len);
		p += parts[i]->len;
	}
	return fsm_rec_set(f, k, len, v, vlen);
}

static int job_del(struct fsm *f, struct proto_bytes name, uint64_t id)
{
	size_t len;
	uint8_t *k = jkey(f, name, JK_JOB, &id, no_bytes, &len);

	return k == NULL ? COORD_ENOMEM : fsm_rec_set(f, k, len, NULL, 0);
}

/* The first index record of (name, sub): its 8-byte key suffix and its
 * value (an id, or 0 for an empty value). *found false when none. */
static int idx_first(struct fsm *f, struct proto_bytes name, uint8_t sub,
		     uint64_t from, bool *found, uint64_t *v, uint64_t *id)
{
	struct fsm_view_iter it;
	size_t plen, klen, vlen;
	uint8_t *seek = jkey(f, name, sub, &from, no_bytes, &plen);
	const uint8_t *k, *val;
	int rc;

	*found = false;
	if (seek == NULL)
		return COORD_ENOMEM;
	rc = fsm_view_open(f, &it);
	if (rc != COORD_OK)
		return rc;
	fsm_view_seek(&it, seek, plen);
	if (fsm_view_valid(&it)) {
		k = fsm_view_key(&it, &klen);
		if (klen == plen && memcmp(k, seek, plen - 8) == 0) {
			val = fsm_view_value(&it, &vlen);
			*v = fsm_be64_get(k + plen - 8);
			*id = vlen == 8 ? fsm_be64_get(val) : 0;
			*found = true;
		}
	}
	rc = fsm_view_status(&it);
	fsm_view_close(&it);
	return rc;
}

/* Where the live records of index sub start: pending positions are
 * [head, tail), done jobs the n_done last places up to done_seq (both
 * leave only from their low end). A search starts there, not at 0: the
 * records that left below it are deleted, and a store's iterator steps
 * over every deletion it has not compacted yet -- from 0, each claim
 * would have cost a step for every claim before it. */
static uint64_t idx_low(const struct job_meta *m, uint8_t sub)
{
	if (sub == JK_PENDING)
		return m->head;
	if (sub == JK_DONE)
		return m->done_seq - m->n_done + 1;
	return 0;
}

/* Puts job id (record j) in the pending list, at the head or the tail. */
static int pend_push(struct fsm *f, struct proto_bytes name,
		     struct job_meta *m, uint64_t id, struct job_rec *j,
		     bool at_head)
{
	j->state = PROTO_JOB_PENDING;
	j->pos = at_head ? --m->head : m->tail++;
	m->n_pending++;
	return idx_set(f, name, JK_PENDING, &j->pos, no_bytes, &id);
}

/* Hands the head pending job to holder h (a grant just made): *id, *j. */
static int claim_take(struct fsm *f, struct fsm_queue *q,
		      const struct fsm_qentry *h, uint64_t *id,
		      struct job_rec *j)
{
	struct job_meta m;
	uint64_t pos;
	bool found;
	int rc = meta_get(f, q->name, &found, &m);

	if (rc == COORD_OK && (!found || m.n_pending == 0))
		rc = COORD_ECORRUPT;    /* granted without a pending job */
	if (rc == COORD_OK)
		rc = idx_first(f, q->name, JK_PENDING,
			       idx_low(&m, JK_PENDING), &found, &pos, id);
	if (rc == COORD_OK && !found)
		rc = COORD_ECORRUPT;
	if (rc == COORD_OK)
		rc = idx_set(f, q->name, JK_PENDING, &pos, no_bytes, NULL);
	if (rc == COORD_OK)
		rc = job_get(f, q->name, *id, &found, j);
	if (rc == COORD_OK && (!found || j->state != PROTO_JOB_PENDING))
		rc = COORD_ECORRUPT;
	if (rc != COORD_OK)
		return rc;
	if (pos == m.head)
		m.head++;
	m.n_pending--;
	m.n_claimed++;
	j->state = PROTO_JOB_CLAIMED;
	j->session = h->session;
	j->token = h->token;
	j->pos = 0;
	rc = job_put(f, q->name, *id, j);
	if (rc == COORD_OK)
		rc = mark_set(f, q->name, JK_CLAIMED, *id, true);
	if (rc == COORD_OK)
		rc = idx_set(f, q->name, JK_SESSION, &h->session, no_bytes, id);
	if (rc == COORD_OK)
		rc = meta_put(f, q->name, true, &m);
	if (rc != COORD_OK)
		return rc;
	if (q->avail > 0)
		q->avail--;
	/* The grant fsm_queue_hold() just reported is this claim's. */
	if (f->n_grants > 0) {
		f->grants[f->n_grants - 1].job_id = *id;
		f->grants[f->n_grants - 1].job = j->payload;
		f->grants[f->n_grants - 1].attempts = j->attempts;
	}
	return COORD_OK;
}

/* Ends the claim on job id (record j): claimed list, session index. */
static int claim_drop(struct fsm *f, struct proto_bytes name,
		      struct job_meta *m, uint64_t id, const struct job_rec *j)
{
	int rc = mark_set(f, name, JK_CLAIMED, id, false);

	if (rc == COORD_OK)
		rc = idx_set(f, name, JK_SESSION, &j->session, no_bytes, NULL);
	m->n_claimed--;
	return rc;
}

/* A claim ended unfinished: one more attempt, then back to the pending
 * list (head or tail) or onto the dead list. */
static int claim_fail(struct fsm *f, struct proto_bytes name,
		      struct job_meta *m, uint64_t id, struct job_rec *j,
		      bool to_tail, bool *dead)
{
	int rc = claim_drop(f, name, m, id, j);

	if (j->attempts < UINT32_MAX)
		j->attempts++;
	*dead = j->max_attempts != 0 && j->attempts >= j->max_attempts;
	if (rc == COORD_OK && *dead) {
		j->state = PROTO_JOB_DEAD;
		j->pos = 0;
		m->n_dead++;
		rc = mark_set(f, name, JK_DEAD, id, true);
	} else if (rc == COORD_OK) {
		rc = pend_push(f, name, m, id, j, !to_tail);
	}
	return rc == COORD_OK ? job_put(f, name, id, j) : rc;
}

/* The claim session holds on queue name: *id 0 when none. */
static int claim_of(struct fsm *f, struct proto_bytes name, uint64_t session,
		    uint64_t *id, struct job_rec *j)
{
	bool found;
	int rc = idx_get(f, name, JK_SESSION, &session, no_bytes, &found, id);

	if (rc != COORD_OK || !found)
		return rc;
	rc = job_get(f, name, *id, &found, j);
	if (rc == COORD_OK && (!found || j->state != PROTO_JOB_CLAIMED ||
			       j->session != session))
		rc = COORD_ECORRUPT;
	return rc;
}

static bool job_grantable(const struct fsm *f, const struct fsm_queue *q,
			  uint8_t mode)
{
	(void)f;
	(void)mode;
	return q->avail > 0;
}

static void job_hold_lost(struct fsm *f, struct fsm_queue *q,
			  const struct fsm_qentry *h, bool expired)
{
	(void)f;
	(void)q;
	(void)h;
	(void)expired;
}

static int job_granted(struct fsm *f, struct fsm_queue *q,
		       const struct fsm_qentry *h)
{
	struct job_rec j;
	uint64_t id;

	return claim_take(f, q, h, &id, &j);
}

/* The claimer's session ends: its job goes back to the head, with one
 * more attempt (or dies), and may be granted to the next claimer. */
static int job_hold_ended(struct fsm *f, struct fsm_queue *q,
			  const struct fsm_qentry *h, bool expired)
{
	struct job_meta m;
	struct job_rec j;
	uint64_t id = 0;
	bool found = false, dead;
	int rc;

	(void)expired;
	memset(&m, 0, sizeof(m));
	rc = claim_of(f, q->name, h->session, &id, &j);
	if (rc == COORD_OK && id == 0)
		rc = COORD_ECORRUPT;    /* a claim hold without its job */
	if (rc == COORD_OK)
		rc = meta_get(f, q->name, &found, &m);
	if (rc == COORD_OK)
		rc = claim_fail(f, q->name, &m, id, &j, false, &dead);
	if (rc == COORD_OK)
		rc = meta_put(f, q->name, found, &m);
	q->avail = m.n_pending;
	return rc;
}

const struct fsm_queue_policy fsm_job_policy = {
	.grantable = job_grantable,
	.hold_lost = job_hold_lost,
	.granted = job_granted,
	.hold_ended = job_hold_ended,
};

/* Grants q's waiting claimers the pending jobs, stores q and ends the
 * sessions the grant found overdue. */
static int grant_waiters(struct fsm *f, struct fsm_queue *q,
			 uint64_t n_pending)
{
	uint64_t granted;
	int rc = COORD_OK;

	q->avail = n_pending;
	if (q->n_waiters > 0)
		rc = fsm_queue_grant(f, q, &fsm_job_policy, &granted);
	if (rc == COORD_OK)
		rc = fsm_queue_store(f, q);
	return rc == COORD_OK ? fsm_leases_end_doomed(f) : rc;
}

int fsm_cmd_job_enqueue(struct fsm *f, const struct proto_job_enqueue_cmd *c,
			struct proto_job_enqueue_cmd_reply *out)
{
	struct job_rec j;
	struct job_meta m;
	struct fsm_queue q;
	uint64_t id, nq;
	bool existed, found;
	int rc = fsm_queue_check_name(c->queue);

	memset(out, 0, sizeof(*out));
	if (rc == COORD_OK && c->payload.len > COORD_JOB_PAYLOAD_BYTES_MAX)
		rc = COORD_EVALUETOOBIG;
	if (rc == COORD_OK && c->unique_key.len > COORD_JOB_UNIQUE_BYTES_MAX)
		rc = COORD_EINVAL;
	if (rc == COORD_OK)
		rc = meta_get(f, c->queue, &existed, &m);
	if (rc == COORD_OK && c->unique_key.len > 0) {
		rc = idx_get(f, c->queue, JK_UNIQUE, NULL, c->unique_key,
			     &found, &id);
		if (rc == COORD_OK && found) {
			/* A retry (or a duplicate): that job, nothing new. */
			out->job_id = id;
			out->existed = true;
			return COORD_OK;
		}
	}
	if (rc == COORD_OK && !existed) {
		rc = queues_count(f, &nq, false);
		if (rc == COORD_OK && nq >= f->cfg.job_queues_max)
			rc = COORD_ETOOMANYQUEUES;
	}
	if (rc == COORD_OK && m.n_pending + m.n_claimed + m.n_dead >=
				      f->cfg.job_queue_len_max)
		rc = COORD_EQUEUEFULL;
	if (rc != COORD_OK)
		return rc;
	id = f->rev_new;
	memset(&j, 0, sizeof(j));
	j.max_attempts = c->max_attempts;
	j.payload = c->payload;
	j.ukey = c->unique_key;
	rc = pend_push(f, c->queue, &m, id, &j, false);
	if (rc == COORD_OK)
		rc = job_put(f, c->queue, id, &j);
	if (rc == COORD_OK && c->unique_key.len > 0)
		rc = idx_set(f, c->queue, JK_UNIQUE, NULL, c->unique_key, &id);
	if (rc == COORD_OK)
		rc = meta_put(f, c->queue, existed, &m);
	if (rc == COORD_OK)
		rc = fsm_queue_load(f, FSM_QUEUE_JOB, c->queue, &q);
	if (rc == COORD_OK)
		rc = grant_waiters(f, &q, m.n_pending);
	out->job_id = id;
	return rc;
}

int fsm_cmd_job_claim(struct fsm *f, const struct proto_job_claim_cmd *c,
		      struct proto_job_claim_cmd_reply *out)
{
	struct fsm_qentry e = { .session = c->session,
				.deadline_ms = c->deadline_ms };
	struct job_meta m;
	struct job_rec j;
	struct fsm_queue q;
	uint64_t id = 0;
	bool found, now;
	int rc = fsm_queue_check_name(c->queue);

	memset(out, 0, sizeof(*out));
	if (rc == COORD_OK)
		rc = fsm_queue_session_ok(f, c->session);
	if (rc == COORD_OK)
		rc = fsm_queue_load(f, FSM_QUEUE_JOB, c->queue, &q);
	if (rc == COORD_OK && fsm_queue_find(q.holders, q.n_holders,
					     c->session) >= 0) {
		/* One claim per session and queue: that one again. */
		rc = claim_of(f, c->queue, c->session, &id, &j);
		if (rc == COORD_OK && id == 0)
			rc = COORD_ECORRUPT;
		if (rc != COORD_OK)
			return rc;
		goto out;
	}
	if (rc != COORD_OK ||
	    fsm_queue_find(q.waiters, q.n_waiters, c->session) >= 0)
		return rc;      /* never queued twice */
	rc = meta_get(f, c->queue, &found, &m);
	if (rc != COORD_OK)
		return rc;
	now = q.n_waiters == 0 && m.n_pending > 0;
	if (!now && (!c->wait ||
		     (c->deadline_ms != 0 && f->clock_new > c->deadline_ms)))
		return COORD_ENOJOBS;
	if (!now && q.n_waiters >= f->cfg.waiters_max)
		return COORD_ETOOMANYWAITERS;
	rc = fsm_queue_session_room(f, c->session);
	if (rc != COORD_OK)
		return rc;
	if (!now) {
		rc = fsm_queue_wait(f, &q, &e);
		return rc == COORD_OK ? fsm_queue_store(f, &q) : rc;
	}
	q.avail = m.n_pending;
	rc = fsm_queue_hold(f, &q, &e, false);
	if (rc == COORD_OK)
		rc = claim_take(f, &q, &q.holders[q.n_holders - 1], &id, &j);
	if (rc == COORD_OK)
		rc = fsm_queue_store(f, &q);
	if (rc != COORD_OK)
		return rc;
out:
	out->granted = true;
	out->job_id = id;
	out->token = j.token;
	out->attempts = j.attempts;
	out->payload = j.payload;
	return COORD_OK;
}

/* The checks of COMPLETE and FAIL: the job is claimed under token by
 * session, and the claim is a current hold of the queue (fence.c). */
static int claim_check(struct fsm *f, const struct proto_job_done_cmd *c,
		       struct job_meta *m, bool *m_found, struct job_rec *j,
		       struct fsm_queue *q, long *hi)
{
	uint64_t holder_token;
	bool found, current;
	int rc = fsm_queue_check_name(c->queue);

	if (rc == COORD_OK)
		rc = meta_get(f, c->queue, m_found, m);
	if (rc == COORD_OK && !*m_found)
		return COORD_ENOJOB;
	if (rc == COORD_OK)
		rc = job_get(f, c->queue, c->job_id, &found, j);
	if (rc == COORD_OK && !found)
		return COORD_ENOJOB;
	if (rc != COORD_OK)
		return rc;
	if (j->state != PROTO_JOB_CLAIMED)
		return COORD_EJOBSTATE;
	if (c->token != j->token || c->session != j->session)
		return COORD_ESTALECLAIM;
	rc = fsm_fence_held(f, FSM_QUEUE_JOB, c->queue, c->token, &current,
			    &holder_token);
	if (rc == COORD_OK)
		rc = fsm_queue_load(f, FSM_QUEUE_JOB, c->queue, q);
	if (rc != COORD_OK)
		return rc;
	*hi = fsm_queue_find(q->holders, q->n_holders, c->session);
	if (!current || *hi < 0 || q->holders[*hi].token != c->token)
		return COORD_ECORRUPT;  /* a claimed job without its hold */
	return COORD_OK;
}

/* Drops the oldest done jobs beyond cfg.job_done_kept. */
static int done_trim(struct fsm *f, struct proto_bytes name,
		     struct job_meta *m)
{
	int rc = COORD_OK;

	while (rc == COORD_OK && m->n_done > f->cfg.job_done_kept) {
		struct job_rec j;
		uint64_t seq, id;
		bool found;

		rc = idx_first(f, name, JK_DONE, idx_low(m, JK_DONE), &found,
			       &seq, &id);
		if (rc == COORD_OK && !found)
			rc = COORD_ECORRUPT;
		if (rc == COORD_OK)
			rc = job_get(f, name, id, &found, &j);
		if (rc == COORD_OK && !found)
			rc = COORD_ECORRUPT;
		if (rc == COORD_OK)
			rc = idx_set(f, name, JK_DONE, &seq, no_bytes, NULL);
		if (rc == COORD_OK && j.ukey.len > 0)
			rc = idx_set(f, name, JK_UNIQUE, NULL, j.ukey, NULL);
		if (rc == COORD_OK)
			rc = job_del(f, name, id);
		m->n_done--;
	}
	return rc;
}

int fsm_cmd_job_complete(struct fsm *f, const struct proto_job_done_cmd *c)
{
	struct job_meta m;
	struct job_rec j;
	struct fsm_queue q;
	bool m_found;
	long hi;
	int rc;

	if (c->result.len > COORD_JOB_RESULT_BYTES_MAX)
		return COORD_EVALUETOOBIG;
	rc = claim_check(f, c, &m, &m_found, &j, &q, &hi);
	if (rc == COORD_EJOBSTATE && j.state == PROTO_JOB_DONE &&
	    j.token == c->token && j.session == c->session)
		return COORD_OK;    /* completed by this claim already */
	if (rc != COORD_OK)
		return rc;
	rc = fsm_queue_unhold(f, &q, (size_t)hi);
	if (rc == COORD_OK)
		rc = claim_drop(f, c->queue, &m, c->job_id, &j);
	j.state = PROTO_JOB_DONE;
	j.result = c->result;
	j.pos = ++m.done_seq;
	m.n_done++;
	if (rc == COORD_OK)
		rc = idx_set(f, c->queue, JK_DONE, &j.pos, no_bytes, &c->job_id);
	if (rc == COORD_OK)
		rc = job_put(f, c->queue, c->job_id, &j);
	if (rc == COORD_OK)
		rc = done_trim(f, c->queue, &m);
	if (rc == COORD_OK)
		rc = meta_put(f, c->queue, m_found, &m);
	return rc == COORD_OK ? fsm_queue_store(f, &q) : rc;
}

/* FAIL of job 0: the session's waiting claim leaves the queue. */
static int claim_cancel(struct fsm *f, const struct proto_job_done_cmd *c)
{
	struct fsm_queue q;
	long i;
	int rc = fsm_queue_check_name(c->queue);

	if (rc == COORD_OK)
		rc = fsm_queue_load(f, FSM_QUEUE_JOB, c->queue, &q);
	if (rc != COORD_OK)
		return rc;
	i = fsm_queue_find(q.waiters, q.n_waiters, c->session);
	if (i < 0)
		return COORD_ENOJOB;
	rc = fsm_queue_unwait(f, &q, (size_t)i);
	return rc == COORD_OK ? fsm_queue_store(f, &q) : rc;
}

int fsm_cmd_job_fail(struct fsm *f, const struct proto_job_done_cmd *c,
		     struct proto_job_fail_reply *out)
{
	struct job_meta m;
	struct job_rec j;
	struct fsm_queue q;
	bool m_found;
	long hi;
	int rc;

	memset(out, 0, sizeof(*out));
	if (c->job_id == 0)
		return claim_cancel(f, c);
	rc = claim_check(f, c, &m, &m_found, &j, &q, &hi);
	if (rc != COORD_OK)
		return rc;
	rc = fsm_queue_unhold(f, &q, (size_t)hi);
	if (rc == COORD_OK)
		rc = claim_fail(f, c->queue, &m, c->job_id, &j, c->to_tail,
				&out->dead);
	if (rc == COORD_OK)
		rc = meta_put(f, c->queue, m_found, &m);
	return rc == COORD_OK ? grant_waiters(f, &q, m.n_pending) : rc;
}

/* Reads of the current state, between commands. */

static void info_fill(struct fsm_job_info *o, uint64_t id,
		      const struct job_rec *j)
{
	memset(o, 0, sizeof(*o));
	o->id = id;
	o->state = j->state;
	o->attempts = j->attempts;
	o->max_attempts = j->max_attempts;
	o->session = j->session;
	o->token = j->token;
	o->cursor = j->state == PROTO_JOB_PENDING ? j->pos
		    : j->state == PROTO_JOB_DONE  ? j->pos
						  : id;
	o->payload = j->payload;
	o->result = j->result;
	o->unique_key = j->ukey;
}

int fsm_job_inspect(struct fsm *f, struct proto_bytes queue, uint64_t id,
		    struct fsm_job_info *out)
{
	struct job_rec j;
	bool found;
	int rc;

	proto_arena_reset(&f->arena);
	fsm_ov_reset(&f->ov);
	memset(out, 0, sizeof(*out));
	rc = fsm_queue_check_name(queue);
	if (rc == COORD_OK)
		rc = job_get(f, queue, id, &found, &j);
	if (rc == COORD_OK && !found)
		rc = COORD_ENOJOB;
	if (rc == COORD_OK)
		info_fill(out, id, &j);
	return rc;
}

int fsm_job_claimed_by(struct fsm *f, struct proto_bytes queue,
		       uint64_t session, struct fsm_job_info *out)
{
	struct job_rec j;
	uint64_t id = 0;
	int rc;

	proto_arena_reset(&f->arena);
	fsm_ov_reset(&f->ov);
	memset(out, 0, sizeof(*out));
	rc = fsm_queue_check_name(queue);
	if (rc == COORD_OK)
		rc = claim_of(f, queue, session, &id, &j);
	if (rc == COORD_OK && id == 0)
		rc = COORD_ENOJOB;
	if (rc == COORD_OK)
		info_fill(out, id, &j);
	return rc;
}

int fsm_job_list(struct fsm *f, struct proto_bytes queue, uint8_t state,
		 uint64_t cursor, size_t max, struct fsm_job_counts *counts,
		 struct fsm_job_info **items, size_t *n, uint64_t *next)
{
	static const uint8_t subs[PROTO_JOB_STATE_LAST + 1] = {
		[PROTO_JOB_PENDING] = JK_PENDING,
		[PROTO_JOB_CLAIMED] = JK_CLAIMED,
		[PROTO_JOB_DONE] = JK_DONE,
		[PROTO_JOB_DEAD] = JK_DEAD,
	};
	struct job_meta m;
	size_t cap = 0;
	bool found;
	int rc;

	proto_arena_reset(&f->arena);
	fsm_ov_reset(&f->ov);
	memset(counts, 0, sizeof(*counts));
	*items = NULL;
	*n = 0;
	*next = 0;
	if (state == 0 || state > PROTO_JOB_STATE_LAST)
		return COORD_EINVAL;
	rc = fsm_queue_check_name(queue);
	if (rc == COORD_OK)
		rc = meta_get(f, queue, &found, &m);
	if (rc != COORD_OK)
		return rc;
	counts->pending = m.n_pending;
	counts->claimed = m.n_claimed;
	counts->dead = m.n_dead;
	counts->done = m.n_done;
	if (cursor < idx_low(&m, subs[state]))
		cursor = idx_low(&m, subs[state]);
	while (rc == COORD_OK) {
		struct fsm_job_info *o;
		struct job_rec j;
		uint64_t at, id;

		rc = idx_first(f, queue, subs[state], cursor, &found, &at, &id);
		if (rc != COORD_OK || !found)
			break;
		if (*n == max) {
			*next = at;
			break;
		}
		if (state == PROTO_JOB_CLAIMED || state == PROTO_JOB_DEAD)
			id = at;
		rc = job_get(f, queue, id, &found, &j);
		if (rc == COORD_OK && !found)
			rc = COORD_ECORRUPT;
		o = rc == COORD_OK ? fsm_arr_push(f, (void **)items, n, &cap,
						  sizeof(*o))
				   : NULL;
		if (rc == COORD_OK && o == NULL)
			rc = COORD_ENOMEM;
		if (rc == COORD_OK)
			info_fill(o, id, &j);
		if (at == UINT64_MAX)
			break;
		cursor = at + 1;
	}
	return rc;
}
