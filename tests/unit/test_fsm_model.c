/*
 * tests/unit/test_fsm_model.c: model-based test of coordd/fsm/.
 *
 * Random command sequences (from one seed each) go to the fsm and to a
 * deliberately simple reference model written here: a flat list of every
 * version ever written, read by linear scans, never physically compacted.
 * After every step the two must agree on the reply, the events, the
 * revisions, a random read at a random revision and a random read of
 * history; every few steps (and at the end) on every readable revision and
 * the whole readable history.
 *
 * Beside them, a second fsm gets the same commands msgpack-encoded through
 * fsm_apply_data() while its allocator fails at random points (each failed
 * apply is retried): its replies must be byte-identical to the first's and
 * its state hash equal after every step, and at the end its backend holds
 * the same bytes. The first fsm is sometimes closed and reopened on its
 * backend.
 *
 * Most steps go in as entries (proto_entry): from no client, or from one
 * of a few clients -- registered by REGISTER_CLIENT, whose id is the
 * entry's index -- whose sequences run on, repeat (a retry), fall behind
 * (stale), skip, go past the window or come from an id nobody registered
 * or the table dropped (sequence 1 included), each with an ack that moves
 * the client's floor, on a leader clock that mostly rises and sometimes
 * falls, with CLIENTS_EXPIRE now and then, registrations with a random
 * retry horizon and a table of three clients. The model keeps its own
 * client table (a flat array, stored replies encoded by the model) and
 * must agree on every reply byte, on the table and on the clock. Both
 * fsms' incremental state hashes must equal a scan of their records.
 *
 * The model can be mutated (test-only bugs, see enum mutation); each
 * mutation must be caught by some seed, which shows the comparison has
 * teeth. Replay one seed: CK_RUN_CASE=model_seed FSM_MODEL_SEED=<n>.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/arena.h"
#include "proto/buf.h"
#include "proto/msg.h"
#include "tests/unit/fsm_test.h"

/* Limits of the fsm under test: small, so that random data hits them. */
#define KEY_MAX 4
#define VALUE_MAX 5
#define OPS_MAX 3
#define LEASE_LIVE_MAX 3    /* leases 1..3 exist, 4 does not */
#define CLIENTS_MAX 3       /* the fsm's table */
#define CLIENT_SLOTS 5      /* clients the generator drives */
#define MREPLIES_MAX 64     /* replies a model client holds */

#define MB 8                /* bytes kept per key or value: > the limits */

enum mutation {
	MUT_NONE = 0,
	MUT_VERSION_STUCK,      /* an overwrite keeps the version */
	MUT_END_INCLUSIVE,      /* [key, end] instead of [key, end) */
	MUT_COMPACT_OFF_BY_ONE, /* reading at the compact revision fails */
	MUT_LEASE_END_SKIPS,    /* lease end forgets its last key */
	MUT_LESS_OR_EQUAL,      /* compare LESS means <= */
	MUT_DELETE_NO_PREV,     /* delete events lose prev_kv */
	MUT_DESCEND_IGNORED,    /* descending sorts ascend */
	MUT_TXN_READS_BEFORE,   /* txn ranges miss the txn's own writes */
	MUT_RETRY_REAPPLIES,    /* a retry runs its command again */
	MUT_EXPIRE_AT_CUTOFF,   /* expiry also drops a client at the cutoff */
	MUT_EVICT_NEWEST,       /* a full table evicts the most recent */
	MUT_CLOCK_FOLLOWS,      /* the clock follows a leader backwards */
	MUT_STALE_APPLIES,      /* a stale sequence runs its command */
	MUT_UNKNOWN_STARTS,     /* sequence 1 of an unknown id is a new
				 * client (the hole registration closed) */
	MUT_EVICT_YOUNG,        /* eviction ignores the retry horizon */
	MUT_ACK_IGNORED,        /* replies below the ack are kept */
	MUT_WINDOW_OFF,         /* no bound on the window */
	MUT_COUNT,
};

static const char *const mutation_names[] = {
	"none", "version_stuck", "end_inclusive", "compact_off_by_one",
	"lease_end_skips", "less_or_equal", "delete_no_prev",
	"descend_ignored", "txn_reads_before", "retry_reapplies",
	"expire_at_cutoff", "evict_newest", "clock_follows", "stale_applies",
	"unknown_starts", "evict_young", "ack_ignored", "window_off",
};

/*
 * The model.
 */

struct mver {
	uint8_t key[MB];
	size_t klen;
	uint8_t val[MB];
	size_t vlen;
	uint64_t create, mod, version, lease;
	bool tomb;
};

/* A stored reply of a model client. */
struct mreply {
	uint64_t seq;
	uint8_t *data;              /* encoded; malloc'd */
	size_t len;
};

/* A client of the model's table: replies in sequence order. */
struct mclient {
	uint64_t id, floor, active;
	struct mreply r[MREPLIES_MAX];
	size_t n;
};

struct model {
	struct mver *h;         /* every version, in revision order */
	size_t n, cap;
	uint64_t rev, compact;
	struct mclient cl[CLIENTS_MAX];
	size_t n_cl;
	uint64_t clock;
	enum mutation mut;
	struct proto_arena ar;  /* replies and events of one step */
};

static struct proto_bytes mv_key(const struct mver *v)
{
	return proto_bytes_make(v->key, v->klen);
}

static void model_init(struct model *m, enum mutation mut)
{
	memset(m, 0, sizeof(*m));
	m->mut = mut;
	proto_arena_init(&m->ar, NULL);
}

static void model_close(struct model *m)
{
	free(m->h);
	proto_arena_close(&m->ar);
	for (size_t i = 0; i < m->n_cl; i++)
		for (size_t j = 0; j < m->cl[i].n; j++)
			free(m->cl[i].r[j].data);
}

/* The newest version of key at or below rev: an index or -1. */
static long m_latest(const struct model *m, struct proto_bytes key,
		     uint64_t rev)
{
	for (long i = (long)m->n - 1; i >= 0; i--)
		if (m->h[i].mod <= rev && proto_bytes_eq(mv_key(&m->h[i]), key))
			return i;
	return -1;
}

static const struct mver *m_live(const struct model *m, struct proto_bytes key,
				 uint64_t rev)
{
	long i = m_latest(m, key, rev);

	return i >= 0 && !m->h[i].tomb ? &m->h[i] : NULL;
}

/* The version before h[i] of the same key, if live. */
static const struct mver *m_prev(const struct model *m, size_t i)
{
	for (long j = (long)i - 1; j >= 0; j--)
		if (proto_bytes_eq(mv_key(&m->h[j]), mv_key(&m->h[i])))
			return m->h[j].tomb ? NULL : &m->h[j];
	return NULL;
}

static void m_append(struct model *m, struct proto_bytes key,
		     struct proto_bytes value, uint64_t create, uint64_t version,
		     uint64_t lease, bool tomb)
{
	struct mver *v;

	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->h = realloc(m->h, m->cap * sizeof(*m->h));
		ft_require(m->h != NULL, "out of memory");
	}
	v = &m->h[m->n++];
	memset(v, 0, sizeof(*v));
	ft_require(key.len <= MB && value.len <= MB, "model: key or value too long");
	memcpy(v->key, key.data, key.len);
	v->klen = key.len;
	if (value.len > 0)
		memcpy(v->val, value.data, value.len);
	v->vlen = value.len;
	v->create = create;
	v->mod = m->rev + 1;
	v->version = version;
	v->lease = lease;
	v->tomb = tomb;
}

static struct proto_kv m_kv(struct model *m, const struct mver *v, bool value)
{
	struct proto_kv kv;

	memset(&kv, 0, sizeof(kv));
	kv.key.data = proto_arena_dup(&m->ar, v->key, v->klen);
	kv.key.len = v->klen;
	kv.mod_revision = v->mod;
	if (!v->tomb) {
		if (value) {
			kv.value.data = proto_arena_dup(&m->ar, v->val, v->vlen);
			kv.value.len = v->vlen;
		}
		kv.create_revision = v->create;
		kv.version = v->version;
		kv.lease = v->lease;
	}
	return kv;
}

/* Whether the selection (key, end, flags) holds k, by its definition. */
static bool m_selects(const struct model *m, struct proto_bytes key,
		      struct proto_bytes end, uint32_t flags,
		      struct proto_bytes k)
{
	if (flags & PROTO_RANGE_PREFIX)
		return k.len >= key.len &&
		       (key.len == 0 || memcmp(k.data, key.data, key.len) == 0);
	if (flags & PROTO_RANGE_FROM)
		return proto_bytes_cmp(k, key) >= 0;
	if (end.len == 0)
		return proto_bytes_eq(k, key);
	if (m->mut == MUT_END_INCLUSIVE)
		return proto_bytes_cmp(k, key) >= 0 &&
		       proto_bytes_cmp(k, end) <= 0;
	return proto_bytes_cmp(k, key) >= 0 && proto_bytes_cmp(k, end) < 0;
}

static int m_check_select(struct proto_bytes key, struct proto_bytes end,
			  uint32_t flags, uint32_t allowed)
{
	bool open = flags & (PROTO_RANGE_PREFIX | PROTO_RANGE_FROM);

	if (flags & ~allowed)
		return COORD_EINVAL;
	if ((flags & PROTO_RANGE_PREFIX) && (flags & PROTO_RANGE_FROM))
		return COORD_EINVAL;
	if (open && end.len > 0)
		return COORD_EINVAL;
	if (!open && end.len == 0 && key.len == 0)
		return COORD_EINVAL;
	if (key.len > KEY_MAX || end.len > KEY_MAX)
		return COORD_EKEYTOOBIG;
	return COORD_OK;
}

static int m_check_range(const struct proto_range *q)
{
	if (q->sort_order > PROTO_SORT_ORDER_LAST ||
	    q->sort_target > PROTO_SORT_TARGET_LAST)
		return COORD_EINVAL;
	return m_check_select(q->key, q->end, q->flags, PROTO_RANGE_FLAGS_ALL);
}

static int m_check_rev(const struct model *m, uint64_t rev)
{
	if (rev == 0)
		return COORD_OK;
	if (rev > m->rev)
		return COORD_EFUTUREREV;
	if (rev < m->compact ||
	    (m->mut == MUT_COMPACT_OFF_BY_ONE && rev == m->compact))
		return COORD_ECOMPACTED;
	return COORD_OK;
}

/* The live versions at rev that the selection holds, in key order. */
static size_t m_select(const struct model *m, struct proto_bytes key,
		       struct proto_bytes end, uint32_t flags, uint64_t rev,
		       const struct mver **out)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n; i++) {
		struct proto_bytes k = mv_key(&m->h[i]);
		const struct mver *v;
		bool seen = false;

		for (size_t j = 0; j < n && !seen; j++)
			seen = proto_bytes_eq(mv_key(out[j]), k);
		if (seen || !m_selects(m, key, end, flags, k))
			continue;
		v = m_live(m, k, rev);
		if (v == NULL)
			continue;
		/* Insert in key order. */
		size_t j = n++;
		while (j > 0 && proto_bytes_cmp(mv_key(out[j - 1]), k) > 0) {
			out[j] = out[j - 1];
			j--;
		}
		out[j] = v;
	}
	return n;
}

static int m_target_cmp(const struct mver *a, const struct mver *b,
			uint8_t target)
{
#define M_CMP(x, y) ((x) < (y) ? -1 : (x) > (y) ? 1 : 0)
	switch (target) {
	case PROTO_SORT_VERSION:
		return M_CMP(a->version, b->version);
	case PROTO_SORT_CREATE:
		return M_CMP(a->create, b->create);
	case PROTO_SORT_MOD:
		return M_CMP(a->mod, b->mod);
	case PROTO_SORT_VALUE:
		return proto_bytes_cmp(proto_bytes_make(a->val, a->vlen),
				       proto_bytes_make(b->val, b->vlen));
	default:
		return proto_bytes_cmp(mv_key(a), mv_key(b));
	}
#undef M_CMP
}

static int m_range(struct model *m, const struct proto_range *q, uint64_t rev,
		   struct proto_range_reply *out)
{
	const struct mver *sel[256];
	uint8_t order = q->sort_order;
	size_t n, take;
	struct proto_kv *kvs;

	memset(out, 0, sizeof(*out));
	n = m_select(m, q->key, q->end, q->flags, rev, sel);
	if (order == PROTO_SORT_NONE && q->sort_target != PROTO_SORT_KEY)
		order = PROTO_SORT_ASCEND;
	if (m->mut == MUT_DESCEND_IGNORED && q->sort_target != PROTO_SORT_KEY)
		order = PROTO_SORT_ASCEND;
	if (order != PROTO_SORT_NONE) {
		/* Insertion sort by target, ties by key ascending. */
		for (size_t i = 1; i < n; i++) {
			for (size_t j = i; j > 0; j--) {
				int c = m_target_cmp(sel[j], sel[j - 1],
						     q->sort_target);

				if (order == PROTO_SORT_DESCEND)
					c = -c;
				if (c == 0)
					c = proto_bytes_cmp(mv_key(sel[j]),
							    mv_key(sel[j - 1]));
				if (c >= 0)
					break;
				const struct mver *t = sel[j];
				sel[j] = sel[j - 1];
				sel[j - 1] = t;
			}
		}
	}
	out->count = n;
	if (q->flags & PROTO_RANGE_COUNT_ONLY)
		return COORD_OK;
	take = q->limit > 0 && q->limit < n ? (size_t)q->limit : n;
	out->more = q->limit > 0 && n > q->limit;
	kvs = proto_arena_alloc(&m->ar, (take + 1) * sizeof(*kvs));
	for (size_t i = 0; i < take; i++)
		kvs[i] = m_kv(m, sel[i], !(q->flags & PROTO_RANGE_KEYS_ONLY));
	out->kvs = take > 0 ? kvs : NULL;
	out->n_kvs = take;
	return COORD_OK;
}

static bool lease_exists(void *ctx, uint64_t lease)
{
	(void)ctx;
	return lease <= LEASE_LIVE_MAX;
}

static int m_check_put(const struct proto_put *p)
{
	if (p->key.len == 0)
		return COORD_EINVAL;
	if (p->key.len > KEY_MAX)
		return COORD_EKEYTOOBIG;
	if (p->value.len > VALUE_MAX)
		return COORD_EVALUETOOBIG;
	return COORD_OK;
}

static void m_put(struct model *m, const struct proto_put *p,
		  struct proto_put_reply *out)
{
	const struct mver *old = m_live(m, p->key, m->rev + 1);
	uint64_t version = old ? old->version + 1 : 1;

	memset(out, 0, sizeof(*out));
	if (old != NULL && m->mut == MUT_VERSION_STUCK)
		version = old->version;
	if (old != NULL && p->prev_kv) {
		out->has_prev_kv = true;
		out->prev_kv = m_kv(m, old, true);
	}
	m_append(m, p->key, p->value, old ? old->create : m->rev + 1, version,
		 p->lease, false);
}

static void m_delete(struct model *m, const struct proto_delete *d,
		     struct proto_delete_reply *out)
{
	const struct mver *sel[256];
	size_t n = m_select(m, d->key, d->end, d->flags, m->rev + 1, sel);
	struct proto_kv *kvs = proto_arena_alloc(&m->ar,
						 (n + 1) * sizeof(*kvs));

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++)
		kvs[i] = m_kv(m, sel[i], true);
	for (size_t i = 0; i < n; i++)
		m_append(m, kvs[i].key, proto_bytes_make(NULL, 0), 0, 0, 0,
			 true);
	out->deleted = n;
	if (d->prev_kv && n > 0) {
		out->prev_kvs = kvs;
		out->n_prev_kvs = n;
	}
}

static int m_check_op(const struct proto_op *op)
{
	switch (op->type) {
	case PROTO_CMD_PUT:
		return m_check_put(&op->u.put);
	case PROTO_CMD_DELETE:
		return m_check_select(op->u.del.key, op->u.del.end,
				      op->u.del.flags, PROTO_DELETE_FLAGS_ALL);
	case PROTO_CMD_RANGE:
		return m_check_range(&op->u.range);
	}
	return COORD_EINVAL;
}

static int m_dups(const struct model *m, const struct proto_op *ops, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (ops[i].type != PROTO_CMD_PUT)
			continue;
		for (size_t j = 0; j < n; j++) {
			if (j != i && ops[j].type == PROTO_CMD_PUT &&
			    proto_bytes_eq(ops[j].u.put.key, ops[i].u.put.key))
				return COORD_EDUPKEY;
			/* The real definition, not the mutated one. */
			if (ops[j].type == PROTO_CMD_DELETE) {
				struct model plain = *m;

				plain.mut = MUT_NONE;
				if (m_selects(&plain, ops[j].u.del.key,
					      ops[j].u.del.end,
					      ops[j].u.del.flags,
					      ops[i].u.put.key))
					return COORD_EDUPKEY;
			}
		}
	}
	return COORD_OK;
}

static bool m_compare(const struct model *m, const struct proto_compare *c)
{
	const struct mver *v = m_live(m, c->key, m->rev);
	uint64_t n = 0;
	int r;

	if (c->target == PROTO_CMP_VALUE) {
		if (v == NULL)
			return false;
		r = proto_bytes_cmp(proto_bytes_make(v->val, v->vlen), c->value);
	} else {
		if (v != NULL)
			n = c->target == PROTO_CMP_VERSION  ? v->version
			    : c->target == PROTO_CMP_CREATE ? v->create
			    : c->target == PROTO_CMP_MOD    ? v->mod
							    : v->lease;
		r = n < c->number ? -1 : n > c->number ? 1 : 0;
	}
	switch (c->result) {
	case PROTO_CMP_EQUAL:
		return r == 0;
	case PROTO_CMP_NOT_EQUAL:
		return r != 0;
	case PROTO_CMP_LESS:
		return m->mut == MUT_LESS_OR_EQUAL ? r <= 0 : r < 0;
	default:
		return r > 0;
	}
}

static int m_txn(struct model *m, const struct proto_txn *t,
		 struct proto_txn_reply *out)
{
	const struct proto_op *ops;
	struct proto_op_reply *reps;
	size_t n;
	bool ok = true;
	int rc;

	memset(out, 0, sizeof(*out));
	if (t->n_compares > OPS_MAX || t->n_success > OPS_MAX ||
	    t->n_failure > OPS_MAX)
		return COORD_ETXNTOOBIG;
	for (size_t i = 0; i < t->n_compares; i++) {
		const struct proto_compare *c = &t->compares[i];

		if (c->target > PROTO_CMP_TARGET_LAST ||
		    c->result > PROTO_CMP_RESULT_LAST || c->key.len == 0)
			return COORD_EINVAL;
		if (c->key.len > KEY_MAX)
			return COORD_EKEYTOOBIG;
		if (c->value.len > VALUE_MAX)
			return COORD_EVALUETOOBIG;
	}
	for (size_t i = 0; i < t->n_success; i++)
		if ((rc = m_check_op(&t->success[i])) != COORD_OK)
			return rc;
	for (size_t i = 0; i < t->n_failure; i++)
		if ((rc = m_check_op(&t->failure[i])) != COORD_OK)
			return rc;
	if ((rc = m_dups(m, t->success, t->n_success)) != COORD_OK)
		return rc;
	if ((rc = m_dups(m, t->failure, t->n_failure)) != COORD_OK)
		return rc;
	for (size_t i = 0; i < t->n_compares && ok; i++)
		ok = m_compare(m, &t->compares[i]);
	ops = ok ? t->success : t->failure;
	n = ok ? t->n_success : t->n_failure;
	for (size_t i = 0; i < n; i++) {
		if (ops[i].type == PROTO_CMD_PUT && ops[i].u.put.lease != 0 &&
		    !lease_exists(NULL, ops[i].u.put.lease))
			return COORD_ELEASE;
		if (ops[i].type == PROTO_CMD_RANGE &&
		    (rc = m_check_rev(m, ops[i].u.range.revision)) != COORD_OK)
			return rc;
	}
	reps = proto_arena_alloc(&m->ar, (n + 1) * sizeof(*reps));
	memset(reps, 0, (n + 1) * sizeof(*reps));
	for (size_t i = 0; i < n; i++) {
		reps[i].type = ops[i].type;
		if (ops[i].type == PROTO_CMD_PUT) {
			m_put(m, &ops[i].u.put, &reps[i].u.put);
		} else if (ops[i].type == PROTO_CMD_DELETE) {
			m_delete(m, &ops[i].u.del, &reps[i].u.del);
		} else {
			uint64_t rev = ops[i].u.range.revision;

			if (rev == 0)
				rev = m->mut == MUT_TXN_READS_BEFORE ? m->rev
								     : m->rev + 1;
			m_range(m, &ops[i].u.range, rev, &reps[i].u.range);
		}
	}
	out->succeeded = ok;
	out->replies = n > 0 ? reps : NULL;
	out->n_replies = n;
	return COORD_OK;
}

static void m_lease_end(struct model *m, uint64_t lease,
			struct proto_lease_end_reply *out)
{
	const struct mver *sel[256], *mine[256];
	size_t n = m_select(m, proto_bytes_make(NULL, 0),
			    proto_bytes_make(NULL, 0), PROTO_RANGE_PREFIX,
			    m->rev, sel);
	size_t k = 0;
	struct proto_bytes keys[256];

	for (size_t i = 0; i < n; i++)
		if (sel[i]->lease == lease)
			mine[k++] = sel[i];
	if (m->mut == MUT_LEASE_END_SKIPS && k > 1)
		k--;
	for (size_t i = 0; i < k; i++)
		keys[i] = proto_bytes_make(
			proto_arena_dup(&m->ar, mine[i]->key, mine[i]->klen),
			mine[i]->klen);
	for (size_t i = 0; i < k; i++)
		m_append(m, keys[i], proto_bytes_make(NULL, 0), 0, 0, 0, true);
	out->deleted = k;
}

/* The client table. */

static struct mclient *m_client(struct model *m, uint64_t id)
{
	for (size_t i = 0; i < m->n_cl; i++)
		if (m->cl[i].id == id)
			return &m->cl[i];
	return NULL;
}

static void m_client_drop(struct model *m, size_t i)
{
	for (size_t j = 0; j < m->cl[i].n; j++)
		free(m->cl[i].r[j].data);
	memmove(&m->cl[i], &m->cl[i + 1], (m->n_cl - i - 1) * sizeof(m->cl[0]));
	m->n_cl--;
}

static void m_clock(struct model *m, uint64_t now_ms)
{
	if (now_ms > m->clock || m->mut == MUT_CLOCK_FOLLOWS)
		m->clock = now_ms;
}

static uint64_t m_active(const struct model *m)
{
	return m->clock - m->clock % COORD_CLIENT_ACTIVE_GRAIN_MS;
}

static void m_expire(struct model *m, const struct proto_clients_expire *x,
		     struct proto_clients_expire_reply *out)
{
	m_clock(m, x->now_ms);
	out->expired = 0;
	if (m->clock <= x->idle_ms)
		return;
	for (size_t i = 0; i < m->n_cl;) {
		uint64_t cutoff = m->clock - x->idle_ms;

		if (m->cl[i].active < cutoff ||
		    (m->mut == MUT_EXPIRE_AT_CUTOFF && m->cl[i].active == cutoff)) {
			m_client_drop(m, i);
			out->expired++;
		} else {
			i++;
		}
	}
}

/* REGISTER_CLIENT as entry index: a full table evicts the least recently
 * active (ties: the lower id) if it is idle for the horizon. */
static int m_register(struct model *m, uint64_t index, uint64_t horizon_ms,
		      struct proto_register_client_reply *out)
{
	struct mclient *c;

	out->client_id = 0;
	if (m->n_cl == CLIENTS_MAX) {
		size_t v = 0;

		for (size_t i = 1; i < m->n_cl; i++) {
			const struct mclient *a = &m->cl[i], *b = &m->cl[v];
			bool older = a->active < b->active ||
				     (a->active == b->active && a->id < b->id);

			if (m->mut == MUT_EVICT_NEWEST ? !older : older)
				v = i;
		}
		if (m->clock - m->cl[v].active < horizon_ms &&
		    m->mut != MUT_EVICT_YOUNG)
			return COORD_ECLIENTSFULL;
		m_client_drop(m, v);
	}
	c = &m->cl[m->n_cl++];
	memset(c, 0, sizeof(*c));
	c->id = index;
	c->floor = 1;
	c->active = m_active(m);
	out->client_id = index;
	return COORD_OK;
}

/* The stored reply to seq, or NULL. */
static struct mreply *m_reply_of(struct mclient *c, uint64_t seq)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->r[i].seq == seq)
			return &c->r[i];
	return NULL;
}

/* Stores reply as c's answer to seq; drops the replies below ack. */
static void m_client_store(struct model *m, struct mclient *c, uint64_t seq,
			   uint64_t ack, const struct proto_buf *reply)
{
	size_t at = 0;

	if (ack > c->floor && m->mut != MUT_ACK_IGNORED) {
		size_t k = 0;

		c->floor = ack;
		for (size_t i = 0; i < c->n; i++) {
			if (c->r[i].seq < ack)
				free(c->r[i].data);
			else
				c->r[k++] = c->r[i];
		}
		c->n = k;
	}
	ft_require(c->n < MREPLIES_MAX, "model: too many replies kept");
	while (at < c->n && c->r[at].seq < seq)
		at++;
	memmove(&c->r[at + 1], &c->r[at], (c->n - at) * sizeof(c->r[0]));
	c->n++;
	c->r[at].seq = seq;
	c->r[at].len = reply->len;
	c->r[at].data = malloc(reply->len);
	ft_require(c->r[at].data != NULL, "model: malloc");
	memcpy(c->r[at].data, reply->data, reply->len);
	c->active = m_active(m);
}

/* Applies cmd to the model: the reply and the events (per flags). */
static void m_apply(struct model *m, uint64_t index,
		    const struct proto_cmd *cmd, unsigned flags,
		    struct proto_reply *reply, struct proto_event **events,
		    size_t *n_events)
{
	size_t first = m->n;
	int rc = COORD_OK;

	memset(reply, 0, sizeof(*reply));
	reply->type = cmd->type;
	switch (cmd->type) {
	case PROTO_CMD_PUT:
		rc = m_check_put(&cmd->u.put);
		if (rc == COORD_OK && cmd->u.put.lease != 0 &&
		    !lease_exists(NULL, cmd->u.put.lease))
			rc = COORD_ELEASE;
		if (rc == COORD_OK)
			m_put(m, &cmd->u.put, &reply->u.put);
		break;
	case PROTO_CMD_DELETE:
		rc = m_check_select(cmd->u.del.key, cmd->u.del.end,
				    cmd->u.del.flags, PROTO_DELETE_FLAGS_ALL);
		if (rc == COORD_OK)
			m_delete(m, &cmd->u.del, &reply->u.del);
		break;
	case PROTO_CMD_RANGE:
		rc = m_check_range(&cmd->u.range);
		if (rc == COORD_OK)
			rc = m_check_rev(m, cmd->u.range.revision);
		if (rc == COORD_OK)
			m_range(m, &cmd->u.range,
				cmd->u.range.revision ? cmd->u.range.revision
						      : m->rev,
				&reply->u.range);
		break;
	case PROTO_CMD_TXN:
		rc = m_txn(m, &cmd->u.txn, &reply->u.txn);
		break;
	case PROTO_CMD_COMPACT:
		if (cmd->u.compact.revision <= m->compact)
			rc = COORD_ECOMPACTED;
		else if (cmd->u.compact.revision > m->rev)
			rc = COORD_EFUTUREREV;
		else
			m->compact = cmd->u.compact.revision;
		break;
	case PROTO_CMD_CLIENTS_EXPIRE:
		m_expire(m, &cmd->u.clients_expire, &reply->u.clients_expire);
		break;
	case PROTO_CMD_REGISTER_CLIENT:
		rc = m_register(m, index, cmd->u.register_client.horizon_ms,
				&reply->u.register_client);
		break;
	default:
		if (cmd->u.lease_end.lease == 0)
			rc = COORD_EINVAL;
		else
			m_lease_end(m, cmd->u.lease_end.lease,
				    &reply->u.lease_end);
		break;
	}
	if (rc != COORD_OK) {
		ft_require(m->n == first, "model: a rejected command wrote");
		memset(&reply->u, 0, sizeof(reply->u));
	}
	*n_events = 0;
	*events = NULL;
	if ((flags & FSM_EVENTS) && m->n > first) {
		*events = proto_arena_alloc(&m->ar,
					    (m->n - first) * sizeof(**events));
		for (size_t i = first; i < m->n; i++) {
			struct proto_event *e = &(*events)[(*n_events)++];
			const struct mver *p = m_prev(m, i);

			memset(e, 0, sizeof(*e));
			e->type = m->h[i].tomb ? PROTO_EVENT_DELETE
					       : PROTO_EVENT_PUT;
			e->kv = m_kv(m, &m->h[i], true);
			if (m->mut == MUT_DELETE_NO_PREV && m->h[i].tomb)
				p = NULL;
			if (p != NULL && (flags & FSM_EVENTS_PREV_KV)) {
				e->has_prev_kv = true;
				e->prev_kv = m_kv(m, p, true);
			}
		}
	}
	if (m->n > first)
		m->rev++;
	reply->code = rc;
	reply->revision = m->rev;
	reply->compact_revision = m->compact;
}

/* A reply that only says code, as of the model's current state. */
static void m_reply_code(const struct model *m, uint8_t type, int code,
			 struct proto_reply *reply)
{
	memset(reply, 0, sizeof(*reply));
	reply->type = type;
	reply->code = code;
	reply->revision = m->rev;
	reply->compact_revision = m->compact;
}

/* Applies entry e (Raft index index) as fsm.h's exactly-once rules say:
 * the reply (a retry's decoded from the stored bytes), its bytes in out,
 * the events. */
static void m_entry(struct model *m, uint64_t index,
		    const struct proto_entry *e, unsigned flags,
		    struct proto_reply *reply, struct proto_event **events,
		    size_t *n_events, bool *dup, struct proto_buf *out)
{
	struct mclient *c = e->client_id != 0 ? m_client(m, e->client_id)
					      : NULL;
	struct mreply *stored = c != NULL ? m_reply_of(c, e->sequence) : NULL;
	int refused = COORD_OK;

	*dup = false;
	*events = NULL;
	*n_events = 0;
	proto_buf_clear(out);
	if (e->client_id != 0 && c == NULL && e->sequence == 1 &&
	    m->mut == MUT_UNKNOWN_STARTS) {
		struct proto_register_client_reply r;

		if (m_register(m, e->client_id, 0, &r) == COORD_OK) {
			c = m_client(m, e->client_id);
			c->id = e->client_id;
		}
	}
	if (stored != NULL && m->mut != MUT_RETRY_REAPPLIES) {
		*dup = true;
		ft_code_eq(proto_buf_append(out, stored->data, stored->len),
			   COORD_OK);
		ft_code_eq(proto_reply_decode(out->data, out->len, &m->ar,
					      reply),
			   COORD_OK);
		return;
	}
	if (e->client_id != 0 && c == NULL) {
		refused = FSM_ECLIENT_UNKNOWN;
	} else if (c != NULL && e->sequence < c->floor &&
		   m->mut != MUT_STALE_APPLIES) {
		refused = FSM_ECLIENT_STALE_SEQ;
	} else if (c != NULL && m->mut != MUT_WINDOW_OFF) {
		uint64_t floor = e->ack > c->floor ? e->ack : c->floor;

		if (e->sequence - floor >= COORD_CLIENT_WINDOW_MAX)
			refused = COORD_EWINDOW;
	}
	if (refused != COORD_OK) {
		m_reply_code(m, e->cmd.type, refused, reply);
	} else {
		m_clock(m, e->now_ms);
		if (e->client_id != 0 &&
		    (e->cmd.type == PROTO_CMD_CLIENTS_EXPIRE ||
		     e->cmd.type == PROTO_CMD_REGISTER_CLIENT))
			m_reply_code(m, e->cmd.type, COORD_EINVAL, reply);
		else
			m_apply(m, index, &e->cmd, flags, reply, events,
				n_events);
	}
	ft_code_eq(proto_reply_encode(reply, out), COORD_OK);
	if (c != NULL && refused == COORD_OK && m_client(m, c->id) == c)
		m_client_store(m, c, e->sequence, e->ack, out);
}

/* History from start, as fsm_events_read() defines it. */
static int m_events(struct model *m, uint64_t start,
		    const struct proto_range *filter, size_t max, bool prev,
		    struct proto_event **events, size_t *n_events,
		    uint64_t *rev_next)
{
	size_t total = 0;
	struct proto_event *ev;

	*events = NULL;
	*n_events = 0;
	if (start == 0)
		return COORD_EINVAL;
	if (filter != NULL) {
		int rc = m_check_range(filter);

		if (rc != COORD_OK)
			return rc;
	}
	if (start < m->compact)
		return COORD_ECOMPACTED;
	*rev_next = start;
	if (start > m->rev)
		return COORD_OK;
	ev = proto_arena_alloc(&m->ar, (m->n + 1) * sizeof(*ev));
	*rev_next = m->rev + 1;
	for (uint64_t r = start; r <= m->rev; r++) {
		size_t here = 0;

		for (size_t i = 0; i < m->n; i++)
			if (m->h[i].mod == r &&
			    (filter == NULL ||
			     m_selects(m, filter->key, filter->end,
				       filter->flags, mv_key(&m->h[i]))))
				here++;
		if (max > 0 && (total >= max || (total > 0 && total + here > max))) {
			*rev_next = r;
			break;
		}
		for (size_t i = 0; i < m->n; i++) {
			const struct mver *p;
			struct proto_event *e;

			if (m->h[i].mod != r ||
			    (filter != NULL &&
			     !m_selects(m, filter->key, filter->end,
					filter->flags, mv_key(&m->h[i]))))
				continue;
			e = &ev[total++];
			memset(e, 0, sizeof(*e));
			e->type = m->h[i].tomb ? PROTO_EVENT_DELETE
					       : PROTO_EVENT_PUT;
			e->kv = m_kv(m, &m->h[i], true);
			p = m_prev(m, i);
			if (p != NULL && prev) {
				e->has_prev_kv = true;
				e->prev_kv = m_kv(m, p, true);
			}
		}
	}
	*events = total > 0 ? ev : NULL;
	*n_events = total;
	return COORD_OK;
}

/*
 * Text dumps: what is compared, and what a failure shows.
 */

static void sb_printf(struct proto_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void sb_printf(struct proto_buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	ft_require(n >= 0 && n < (int)sizeof(tmp), "dump line too long");
	ft_code_eq(proto_buf_append(b, tmp, (size_t)n), COORD_OK);
}

static void dump_bytes(struct proto_buf *b, struct proto_bytes x)
{
	sb_printf(b, "\"");
	for (size_t i = 0; i < x.len; i++) {
		if (x.data[i] >= 0x20 && x.data[i] < 0x7f && x.data[i] != '"' &&
		    x.data[i] != '\\')
			sb_printf(b, "%c", x.data[i]);
		else
			sb_printf(b, "\\x%02x", x.data[i]);
	}
	sb_printf(b, "\"");
}

static void dump_kv(struct proto_buf *b, const struct proto_kv *kv)
{
	sb_printf(b, "{");
	dump_bytes(b, kv->key);
	sb_printf(b, "=");
	dump_bytes(b, kv->value);
	sb_printf(b, " c%llu m%llu v%llu l%llu}",
		  (unsigned long long)kv->create_revision,
		  (unsigned long long)kv->mod_revision,
		  (unsigned long long)kv->version,
		  (unsigned long long)kv->lease);
}

static void dump_kvs(struct proto_buf *b, const struct proto_kv *kvs, size_t n)
{
	sb_printf(b, "[");
	for (size_t i = 0; i < n; i++)
		dump_kv(b, &kvs[i]);
	sb_printf(b, "]");
}

static void dump_range(struct proto_buf *b, const struct proto_range_reply *r)
{
	sb_printf(b, "range count=%llu more=%d ", (unsigned long long)r->count,
		  r->more);
	dump_kvs(b, r->kvs, r->n_kvs);
}

static void dump_op_reply(struct proto_buf *b, uint8_t type,
			  const struct proto_put_reply *p,
			  const struct proto_delete_reply *d,
			  const struct proto_range_reply *r)
{
	if (type == PROTO_CMD_PUT) {
		sb_printf(b, "put prev=");
		if (p->has_prev_kv)
			dump_kv(b, &p->prev_kv);
	} else if (type == PROTO_CMD_DELETE) {
		sb_printf(b, "delete n=%llu ", (unsigned long long)d->deleted);
		dump_kvs(b, d->prev_kvs, d->n_prev_kvs);
	} else {
		dump_range(b, r);
	}
}

static void dump_reply(struct proto_buf *b, const struct proto_reply *r)
{
	sb_printf(b, "type=%u %s rev=%llu compact=%llu: ", r->type,
		  coord_error_name(r->code), (unsigned long long)r->revision,
		  (unsigned long long)r->compact_revision);
	switch (r->type) {
	case PROTO_CMD_TXN:
		sb_printf(b, "txn ok=%d", r->u.txn.succeeded);
		for (size_t i = 0; i < r->u.txn.n_replies; i++) {
			const struct proto_op_reply *o = &r->u.txn.replies[i];

			sb_printf(b, " | ");
			dump_op_reply(b, o->type, &o->u.put, &o->u.del,
				      &o->u.range);
		}
		break;
	case PROTO_CMD_COMPACT:
		break;
	case PROTO_CMD_LEASE_END:
		sb_printf(b, "deleted=%llu",
			  (unsigned long long)r->u.lease_end.deleted);
		break;
	case PROTO_CMD_CLIENTS_EXPIRE:
		sb_printf(b, "expired=%llu",
			  (unsigned long long)r->u.clients_expire.expired);
		break;
	case PROTO_CMD_REGISTER_CLIENT:
		sb_printf(b, "client_id=%llu",
			  (unsigned long long)r->u.register_client.client_id);
		break;
	default:
		dump_op_reply(b, r->type, &r->u.put, &r->u.del, &r->u.range);
	}
}

static void dump_events(struct proto_buf *b, const struct proto_event *ev,
			size_t n)
{
	for (size_t i = 0; i < n; i++) {
		sb_printf(b, "%s ", ev[i].type == PROTO_EVENT_PUT ? "PUT" : "DEL");
		dump_kv(b, &ev[i].kv);
		if (ev[i].has_prev_kv) {
			sb_printf(b, " prev ");
			dump_kv(b, &ev[i].prev_kv);
		}
		sb_printf(b, "\n");
	}
}

/*
 * Random commands.
 */

struct gen {
	uint64_t x;
	struct proto_arena *ar;
	uint64_t rev;           /* the model's, to aim revisions */
	uint64_t compact;
	struct model *m;        /* to aim sequences and idle times */
	uint64_t now;           /* the leader's clock */
	uint64_t ids[CLIENT_SLOTS];     /* registered ids (0: none yet) */
	uint64_t seq[CLIENT_SLOTS];     /* the highest sequence sent */
	int reg_slot;           /* the slot the step registers, or -1 */
	int slot;               /* the slot the step sends from, or -1 */
};

static uint64_t rnd(struct gen *g)
{
	/* splitmix64 */
	uint64_t z = (g->x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned pct(struct gen *g)
{
	return (unsigned)(rnd(g) % 100);
}

static struct proto_bytes gen_bytes(struct gen *g, const char *alphabet,
				    size_t len)
{
	uint8_t *p = proto_arena_alloc(g->ar, len + 1);

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)alphabet[rnd(g) % strlen(alphabet)];
	return proto_bytes_make(p, len);
}

static struct proto_bytes gen_key(struct gen *g)
{
	static const struct proto_bytes pool[] = {
		{ (const uint8_t *)"a", 1 },     { (const uint8_t *)"ab", 2 },
		{ (const uint8_t *)"abc", 3 },   { (const uint8_t *)"abcd", 4 },
		{ (const uint8_t *)"b", 1 },     { (const uint8_t *)"ba", 2 },
		{ (const uint8_t *)"bb", 2 },    { (const uint8_t *)"c", 1 },
		{ (const uint8_t *)"\x00", 1 },  { (const uint8_t *)"a\x00", 2 },
		{ (const uint8_t *)"a\x00" "b", 3 }, { (const uint8_t *)"a\xff", 2 },
		{ (const uint8_t *)"\xff", 1 },  { (const uint8_t *)"\xff\xff", 2 },
	};
	unsigned p = pct(g);

	if (p < 85)
		return pool[rnd(g) % (sizeof(pool) / sizeof(pool[0]))];
	if (p < 95) {
		/* Random bytes drawn so that 0x00 and 0xff are common. */
		static const char alpha[] = { 'a', 'b', 1, (char)0xff, 0 };
		uint8_t *k = proto_arena_alloc(g->ar, 4);
		size_t len = 1 + rnd(g) % 4;

		for (size_t i = 0; i < len; i++) {
			unsigned c = (unsigned)(rnd(g) % 5);

			k[i] = c == 4 ? 0x00 : (uint8_t)alpha[c];
		}
		return proto_bytes_make(k, len);
	}
	if (p < 98)
		return gen_bytes(g, "abcde", KEY_MAX + 1);     /* too big */
	return proto_bytes_make(NULL, 0);                   /* empty */
}

static struct proto_bytes gen_value(struct gen *g)
{
	if (pct(g) < 3)
		return gen_bytes(g, "vw", VALUE_MAX + 1);       /* too big */
	return gen_bytes(g, "xyz01", rnd(g) % (VALUE_MAX + 1));
}

static uint64_t gen_lease(struct gen *g)
{
	unsigned p = pct(g);

	if (p < 50)
		return 0;
	if (p < 95)
		return 1 + rnd(g) % LEASE_LIVE_MAX;
	return LEASE_LIVE_MAX + 1;                          /* no such lease */
}

/* A revision to read at: mostly 0 (current), else around what exists. */
static uint64_t gen_rev(struct gen *g)
{
	if (pct(g) < 60)
		return 0;
	return rnd(g) % (g->rev + 2);
}

static void gen_select(struct gen *g, struct proto_bytes *key,
		       struct proto_bytes *end, uint32_t *flags)
{
	unsigned p = pct(g);

	*key = gen_key(g);
	*end = proto_bytes_make(NULL, 0);
	*flags = 0;
	if (p < 35)
		return;                                 /* one key */
	if (p < 55) {
		*flags = PROTO_RANGE_PREFIX;
		if (pct(g) < 50)
			*key = gen_bytes(g, "ab\xff", rnd(g) % 2);
		return;
	}
	if (p < 70) {
		*flags = PROTO_RANGE_FROM;
		return;
	}
	if (p < 95) {
		*end = gen_key(g);
		if (end->len == 0)
			*end = gen_bytes(g, "bc", 1);
		return;
	}
	/* Invalid combinations. */
	if (p < 97)
		*flags = PROTO_RANGE_PREFIX | PROTO_RANGE_FROM;
	else
		*end = gen_bytes(g, "c", 1), *flags = PROTO_RANGE_FROM;
}

static struct proto_range gen_range(struct gen *g)
{
	struct proto_range q;

	memset(&q, 0, sizeof(q));
	gen_select(g, &q.key, &q.end, &q.flags);
	if (pct(g) < 10)
		q.flags |= PROTO_RANGE_KEYS_ONLY;
	if (pct(g) < 10)
		q.flags |= PROTO_RANGE_COUNT_ONLY;
	if (pct(g) < 40)
		q.limit = 1 + rnd(g) % 3;
	q.revision = gen_rev(g);
	if (pct(g) < 40) {
		q.sort_order = (uint8_t)(rnd(g) % 3);
		q.sort_target = (uint8_t)(rnd(g) % 5);
	}
	if (pct(g) < 2)
		q.sort_order = PROTO_SORT_ORDER_LAST + 1;
	return q;
}

static struct proto_op gen_op(struct gen *g)
{
	struct proto_op op;
	unsigned p = pct(g);

	memset(&op, 0, sizeof(op));
	if (p < 40) {
		op.type = PROTO_CMD_PUT;
		op.u.put.key = gen_key(g);
		op.u.put.value = gen_value(g);
		op.u.put.lease = gen_lease(g);
		op.u.put.prev_kv = pct(g) < 50;
	} else if (p < 70) {
		op.type = PROTO_CMD_DELETE;
		gen_select(g, &op.u.del.key, &op.u.del.end, &op.u.del.flags);
		op.u.del.prev_kv = pct(g) < 50;
	} else if (p < 98) {
		op.type = PROTO_CMD_RANGE;
		op.u.range = gen_range(g);
	} else {
		op.type = PROTO_CMD_COMPACT;                    /* not an op */
	}
	return op;
}

static size_t gen_count(struct gen *g)
{
	return pct(g) < 4 ? OPS_MAX + 1 : rnd(g) % (OPS_MAX + 1);
}

static struct proto_cmd gen_cmd(struct gen *g)
{
	struct proto_cmd c;
	unsigned p = pct(g);

	memset(&c, 0, sizeof(c));
	if (p < 33) {
		c.type = PROTO_CMD_PUT;
		c.u.put.key = gen_key(g);
		c.u.put.value = gen_value(g);
		c.u.put.lease = gen_lease(g);
		c.u.put.prev_kv = pct(g) < 50;
	} else if (p < 48) {
		c.type = PROTO_CMD_DELETE;
		gen_select(g, &c.u.del.key, &c.u.del.end, &c.u.del.flags);
		c.u.del.prev_kv = pct(g) < 50;
	} else if (p < 56) {
		c.type = PROTO_CMD_RANGE;
		c.u.range = gen_range(g);
	} else if (p < 84) {
		struct proto_compare *cmps;
		struct proto_op *ops;
		size_t n_cmps = gen_count(g), n_then = gen_count(g),
		       n_else = gen_count(g);

		c.type = PROTO_CMD_TXN;
		cmps = proto_arena_alloc(g->ar, (n_cmps + 1) * sizeof(*cmps));
		ops = proto_arena_alloc(g->ar,
					(n_then + n_else + 1) * sizeof(*ops));
		for (size_t i = 0; i < n_cmps; i++) {
			memset(&cmps[i], 0, sizeof(cmps[i]));
			cmps[i].key = gen_key(g);
			cmps[i].target = (uint8_t)(rnd(g) % 5);
			cmps[i].result = (uint8_t)(rnd(g) % 4);
			cmps[i].number = pct(g) < 50 ? rnd(g) % 4
						     : rnd(g) % (g->rev + 2);
			cmps[i].value = gen_value(g);
			if (pct(g) < 2)
				cmps[i].result = PROTO_CMP_RESULT_LAST + 1;
		}
		for (size_t i = 0; i < n_then + n_else; i++)
			ops[i] = gen_op(g);
		c.u.txn.compares = cmps;
		c.u.txn.n_compares = n_cmps;
		c.u.txn.success = ops;
		c.u.txn.n_success = n_then;
		c.u.txn.failure = ops + n_then;
		c.u.txn.n_failure = n_else;
	} else if (p < 92) {
		c.type = PROTO_CMD_COMPACT;
		c.u.compact.revision = g->compact + rnd(g) % (g->rev - g->compact + 2);
		if (pct(g) < 10)
			c.u.compact.revision = rnd(g) % (g->rev + 2);
	} else if (p < 97) {
		c.type = PROTO_CMD_LEASE_END;
		c.u.lease_end.lease = rnd(g) % (LEASE_LIVE_MAX + 2);
	} else {
		const struct model *m = g->m;
		uint64_t now = g->now > m->clock ? g->now : m->clock;

		c.type = PROTO_CMD_CLIENTS_EXPIRE;
		c.u.clients_expire.now_ms = g->now;
		c.u.clients_expire.idle_ms = rnd(g) % 7500;
		/* Half the time, exactly at some client's activity. */
		if (m->n_cl > 0 && pct(g) < 50)
			c.u.clients_expire.idle_ms =
				now - m->cl[rnd(g) % m->n_cl].active;
	}
	return c;
}

/* A leader clock that mostly rises and sometimes falls, in steps around
 * the activity grain (COORD_CLIENT_ACTIVE_GRAIN_MS). */
static uint64_t gen_now(struct gen *g)
{
	if (pct(g) < 10 && g->now >= 5000)
		g->now -= 1 + rnd(g) % 5000;
	else
		g->now += rnd(g) % 1500;
	return g->now;
}

static struct proto_cmd gen_register(struct gen *g)
{
	struct proto_cmd c;

	memset(&c, 0, sizeof(c));
	c.type = PROTO_CMD_REGISTER_CLIENT;
	c.u.register_client.horizon_ms = pct(g) < 30 ? 0 : rnd(g) % 8000;
	return c;
}

/* An entry, or (*bare) just its command: from no client (sometimes a
 * registration), or from one of a few clients whose sequences run on,
 * repeat, fall behind, skip or go past the window, or from an id nobody
 * registered. */
static struct proto_entry gen_entry(struct gen *g, bool *bare)
{
	struct proto_entry e;
	unsigned p = pct(g), q;
	int slot;
	uint64_t last;

	memset(&e, 0, sizeof(e));
	e.now_ms = gen_now(g);
	e.cmd = gen_cmd(g);
	g->reg_slot = -1;
	g->slot = -1;
	*bare = p < 30;
	slot = (int)(rnd(g) % CLIENT_SLOTS);
	if (p < 45 || (g->ids[slot] == 0 && pct(g) < 70)) {
		if (p >= 45 || pct(g) < 10) {
			e.cmd = gen_register(g);
			g->reg_slot = slot;
		}
		return e;
	}
	*bare = false;
	if (g->ids[slot] == 0) {
		/* An id nobody registered, at sequence 1 or later. */
		e.client_id = 100000 + rnd(g) % 3;
		e.sequence = 1 + rnd(g) % 2;
		e.ack = 1;
		return e;
	}
	g->slot = slot;
	e.client_id = g->ids[slot];
	last = g->seq[slot];
	q = pct(g);
	if (q < 55 || last == 0)
		e.sequence = last + 1;
	else if (q < 70)
		e.sequence = last;                      /* a retry */
	else if (q < 82 && last > 1)
		e.sequence = last - 1 - rnd(g) % (last - 1);    /* older */
	else if (q < 95)
		e.sequence = last + 2 + rnd(g) % 3;     /* a gap */
	else
		e.sequence = last + COORD_CLIENT_WINDOW_MAX - 1 + rnd(g) % 3;
	if (e.sequence > last && e.sequence < last + 5)
		g->seq[slot] = e.sequence;
	/* Up to three below it are still unanswered; a far one (at the
	 * window's edge) keeps the ack of the last one. */
	e.ack = e.sequence - rnd(g) % (e.sequence < 4 ? e.sequence : 4);
	if (e.sequence >= last + 5 && last > 0)
		e.ack = last;
	return e;
}

/*
 * One sequence.
 */

struct outcome {
	bool ok;
	char why[2048];
};

static bool mismatch(struct outcome *o, uint64_t seed, int step, const char *what,
		 const struct proto_buf *fsm_text, const struct proto_buf *model_text)
{
	snprintf(o->why, sizeof(o->why),
		 "seed %llu step %d: %s differs\n fsm:   %.*s\n model: %.*s",
		 (unsigned long long)seed, step, what,
		 (int)(fsm_text ? fsm_text->len : 0),
		 fsm_text ? (const char *)fsm_text->data : "",
		 (int)(model_text ? model_text->len : 0),
		 model_text ? (const char *)model_text->data : "");
	o->ok = false;
	return false;
}

static bool same(const struct proto_buf *a, const struct proto_buf *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

struct fixture {
	struct ft_alloc alloc_b;
	struct fsm_config cfg_a, cfg_b;
	struct fsm_backend *back_a, *back_b;
	struct fsm *a, *b;
	struct model m;
	struct proto_arena gen_ar;
	struct proto_buf t1, t2, enc, enc_b, mbytes;
};

/* Compares a range at rev (0: current) of the fsm and the model. */
static bool check_range(struct fixture *x, struct outcome *o, uint64_t seed,
			int step, const struct proto_range *q)
{
	struct proto_reply reply;
	struct proto_range_reply mr;
	int rc, mrc;

	rc = fsm_range(x->a, q, &reply);
	mrc = m_check_range(q);
	if (mrc == COORD_OK)
		mrc = m_check_rev(&x->m, q->revision);
	if (mrc == COORD_OK)
		m_range(&x->m, q, q->revision ? q->revision : x->m.rev, &mr);
	proto_buf_clear(&x->t1);
	proto_buf_clear(&x->t2);
	sb_printf(&x->t1, "%s ", coord_error_name(rc));
	sb_printf(&x->t2, "%s ", coord_error_name(mrc));
	if (rc == COORD_OK)
		dump_range(&x->t1, &reply.u.range);
	if (mrc == COORD_OK)
		dump_range(&x->t2, &mr);
	if (!same(&x->t1, &x->t2)) {
		char what[64];

		snprintf(what, sizeof(what), "range at revision %llu",
			 (unsigned long long)q->revision);
		return mismatch(o, seed, step, what, &x->t1, &x->t2);
	}
	return true;
}

static bool check_events(struct fixture *x, struct outcome *o, uint64_t seed,
			 int step, uint64_t start,
			 const struct proto_range *filter, size_t max, bool prev)
{
	struct fsm_events ev;
	struct proto_event *mev;
	size_t mn;
	uint64_t mnext = 0;
	int rc, mrc;

	rc = fsm_events_read(x->a, start, filter, max,
			     prev ? FSM_EVENTS_PREV_KV : 0, &ev);
	mrc = m_events(&x->m, start, filter, max, prev, &mev, &mn, &mnext);
	proto_buf_clear(&x->t1);
	proto_buf_clear(&x->t2);
	sb_printf(&x->t1, "%s from %llu max %zu: ", coord_error_name(rc),
		  (unsigned long long)start, max);
	sb_printf(&x->t2, "%s from %llu max %zu: ", coord_error_name(mrc),
		  (unsigned long long)start, max);
	if (rc == COORD_OK) {
		sb_printf(&x->t1, "next %llu\n", (unsigned long long)ev.rev_next);
		dump_events(&x->t1, ev.events, ev.n_events);
	}
	if (mrc == COORD_OK) {
		sb_printf(&x->t2, "next %llu\n", (unsigned long long)mnext);
		dump_events(&x->t2, mev, mn);
	}
	if (!same(&x->t1, &x->t2))
		return mismatch(o, seed, step, "events read", &x->t1, &x->t2);
	return true;
}

/*
 * The records the fsm must hold, by kind (see the layout in backend.h):
 * compaction must leave exactly the versions that reads and events at or
 * above the compact revision need, and the lease index exactly the live
 * keys that have a lease.
 */
static void m_records(const struct model *m, size_t *k, size_t *r, size_t *l)
{
	const struct mver *sel[256];
	size_t n;

	*k = *r = *l = 0;
	for (size_t i = 0; i < m->n; i++) {
		const struct mver *next = NULL;

		for (size_t j = i + 1; j < m->n && next == NULL; j++)
			if (proto_bytes_eq(mv_key(&m->h[j]), mv_key(&m->h[i])))
				next = &m->h[j];
		if (m->h[i].mod >= m->compact) {
			(*k)++;
			(*r)++;
		} else if (!m->h[i].tomb &&
			   (next == NULL || next->mod >= m->compact)) {
			(*k)++;         /* the newest below compact, live */
		}
	}
	n = m_select(m, proto_bytes_make(NULL, 0), proto_bytes_make(NULL, 0),
		     PROTO_RANGE_PREFIX, m->rev, sel);
	for (size_t i = 0; i < n; i++)
		*l += sel[i]->lease != 0;
}

static bool check_records(struct fixture *x, struct outcome *o, uint64_t seed,
			  int step)
{
	struct fsm_backend *b = x->back_a;
	struct fsm_backend_iter *it;
	size_t counts[256] = { 0 }, k, r, l;

	ft_code_eq(b->ops->iter_new(b, NULL, &it), COORD_OK);
	for (b->ops->iter_seek(it, NULL, 0); b->ops->iter_valid(it);
	     b->ops->iter_next(it)) {
		size_t len;

		counts[b->ops->iter_key(it, &len)[0]]++;
	}
	b->ops->iter_free(it);
	m_records(&x->m, &k, &r, &l);
	proto_buf_clear(&x->t1);
	proto_buf_clear(&x->t2);
	sb_printf(&x->t1, "k=%zu r=%zu l=%zu m=%zu c=%zu a=%zu", counts['k'],
		  counts['r'], counts['l'], counts['m'], counts['c'],
		  counts['a']);
	sb_printf(&x->t2, "k=%zu r=%zu l=%zu m=%zu c=%zu a=%zu", k, r, l,
		  (size_t)1, x->m.n_cl, x->m.n_cl);
	if (!same(&x->t1, &x->t2))
		return mismatch(o, seed, step, "records held", &x->t1, &x->t2);
	return true;
}

/* The client table and the clock, entry by entry: every client of the
 * model's table is in the fsm's alike (and the counts agree). */
static bool check_clients(struct fixture *x, struct outcome *o, uint64_t seed,
			  int step)
{
	proto_buf_clear(&x->t1);
	proto_buf_clear(&x->t2);
	sb_printf(&x->t1, "clock=%llu n=%llu",
		  (unsigned long long)fsm_clients_clock_ms(x->a),
		  (unsigned long long)fsm_clients_count(x->a));
	sb_printf(&x->t2, "clock=%llu n=%zu", (unsigned long long)x->m.clock,
		  x->m.n_cl);
	for (size_t i = 0; i < x->m.n_cl; i++) {
		const struct mclient *c = &x->m.cl[i];
		struct fsm_client_info ci = { 0 };
		int rc = fsm_client_lookup(x->a, c->id, &ci);

		sb_printf(&x->t1, " %llu:%s/%llu/%llu/%llu",
			  (unsigned long long)c->id, coord_error_name(rc),
			  (unsigned long long)ci.floor,
			  (unsigned long long)ci.n_replies,
			  (unsigned long long)ci.active_ms);
		sb_printf(&x->t2, " %llu:%s/%llu/%llu/%llu",
			  (unsigned long long)c->id, coord_error_name(COORD_OK),
			  (unsigned long long)c->floor,
			  (unsigned long long)c->n,
			  (unsigned long long)c->active);
	}
	if (!same(&x->t1, &x->t2))
		return mismatch(o, seed, step, "client table", &x->t1, &x->t2);
	return true;
}

/* Every readable revision, all readable history, the records held. */
static bool check_all(struct fixture *x, struct outcome *o, uint64_t seed,
		      int step)
{
	struct proto_range q;
	uint64_t first = x->m.compact > 0 ? x->m.compact : 1;

	if (!check_records(x, o, seed, step) ||
	    !check_clients(x, o, seed, step))
		return false;
	memset(&q, 0, sizeof(q));
	q.flags = PROTO_RANGE_PREFIX;
	for (uint64_t r = first; r <= x->m.rev; r++) {
		q.revision = r;
		if (!check_range(x, o, seed, step, &q))
			return false;
	}
	q.revision = 0;
	return check_range(x, o, seed, step, &q) &&
	       check_events(x, o, seed, step, first, NULL, 0, true);
}

static void fixture_open(struct fixture *x, enum mutation mut)
{
	memset(x, 0, sizeof(*x));
	fsm_config_default(&x->cfg_a);
	x->cfg_a.key_bytes_max = KEY_MAX;
	x->cfg_a.value_bytes_max = VALUE_MAX;
	x->cfg_a.txn_ops_max = OPS_MAX;
	x->cfg_a.lease_exists = lease_exists;
	x->cfg_a.clients_max = CLIENTS_MAX;
	x->cfg_b = x->cfg_a;
	ft_alloc_init(&x->alloc_b);
	x->cfg_b.alloc = &x->alloc_b.a;
	ft_code_eq(fsm_backend_mem_new(NULL, &x->back_a), COORD_OK);
	ft_code_eq(fsm_backend_mem_new(&x->alloc_b.a, &x->back_b), COORD_OK);
	ft_code_eq(fsm_new(&x->cfg_a, x->back_a, &x->a), COORD_OK);
	ft_code_eq(fsm_new(&x->cfg_b, x->back_b, &x->b), COORD_OK);
	model_init(&x->m, mut);
	proto_arena_init(&x->gen_ar, NULL);
	proto_buf_init(&x->t1, NULL);
	proto_buf_init(&x->t2, NULL);
	proto_buf_init(&x->enc, NULL);
	proto_buf_init(&x->enc_b, NULL);
	proto_buf_init(&x->mbytes, NULL);
}

static void fixture_close(struct fixture *x)
{
	fsm_free(x->a);
	fsm_free(x->b);
	fsm_backend_mem_free(x->back_a);
	fsm_backend_mem_free(x->back_b);
	ck_assert_uint_eq(x->alloc_b.live, 0);
	model_close(&x->m);
	proto_arena_close(&x->gen_ar);
	proto_buf_close(&x->t1);
	proto_buf_close(&x->t2);
	proto_buf_close(&x->enc);
	proto_buf_close(&x->enc_b);
	proto_buf_close(&x->mbytes);
}

/* Applies cmd (e NULL) or entry e to fsm b from its encoding, with a
 * failing allocator first; b's reply must encode as a's did (x->enc). */
static bool step_b(struct fixture *x, struct outcome *o, uint64_t seed,
		   int step, struct gen *g, const struct proto_cmd *cmd,
		   const struct proto_entry *e, unsigned flags)
{
	const uint64_t index = (uint64_t)step + 1;
	struct proto_buf data;
	struct fsm_entry_result res;
	bool encoded;
	int rc;

	proto_buf_init(&data, NULL);
	/* What the wire cannot carry (bad enum values, an op type no txn
	 * holds) goes in as a struct. */
	encoded = (e != NULL ? proto_entry_encode(e, &data)
			     : proto_cmd_encode(cmd, &data)) == COORD_OK;
	for (int attempt = 0;; attempt++) {
		if (attempt == 0) {
			x->alloc_b.fail_at = x->alloc_b.calls + 1 + rnd(g) % 60;
			x->alloc_b.failures = 0;
		}
		if (e != NULL)
			rc = encoded ? fsm_apply_entry_data(x->b, index,
							    data.data, data.len,
							    flags, &res)
				     : fsm_apply_entry(x->b, index, e, flags,
						       &res);
		else
			rc = encoded ? fsm_apply_data(x->b, index, data.data,
						      data.len, flags, &res.res)
				     : fsm_apply(x->b, index, cmd, flags,
						 &res.res);
		x->alloc_b.fail_at = 0;
		/* A failure that fired is reported, never swallowed. */
		ft_require((rc == COORD_OK) == (x->alloc_b.failures == 0),
			   "a fired allocation failure was swallowed");
		if (rc == COORD_OK)
			break;
		ft_code_eq(rc, COORD_ENOMEM);
		ft_require(fsm_applied_index(x->b) == (uint64_t)step,
			   "a failed apply moved the applied index");
		x->alloc_b.failures = 0;
	}
	proto_buf_close(&data);
	proto_buf_clear(&x->enc_b);
	ft_code_eq(proto_reply_encode(&res.res.reply, &x->enc_b), COORD_OK);
	ft_code_eq(proto_events_encode(res.res.events, res.res.n_events,
				       &x->enc_b),
		   COORD_OK);
	if (!same(&x->enc, &x->enc_b))
		return mismatch(o, seed, step, "reply of the encoded replica", NULL,
			    NULL);
	return true;
}

/* Runs the sequence of seed with steps commands. */
static void run(uint64_t seed, int steps, enum mutation mut, struct outcome *o)
{
	struct fixture x;
	struct gen g;

	o->ok = true;
	o->why[0] = '\0';
	fixture_open(&x, mut);
	memset(&g, 0, sizeof(g));
	g.x = seed * 0x2545f4914f6cdd1dull + 1;
	g.ar = &x.gen_ar;
	g.m = &x.m;
	for (int step = 0; step < steps && o->ok; step++) {
		struct proto_entry e;
		struct fsm_entry_result eres;
		struct fsm_result res;
		struct proto_reply mreply;
		struct proto_event *mev;
		size_t mn;
		uint64_t ha, hb;
		bool bare, mdup = false;
		unsigned flags = pct(&g) < 80 ? FSM_EVENTS | FSM_EVENTS_PREV_KV
				 : pct(&g) < 50 ? FSM_EVENTS
						: 0;

		proto_arena_reset(&x.gen_ar);
		proto_arena_reset(&x.m.ar);
		g.rev = x.m.rev;
		g.compact = x.m.compact;
		e = gen_entry(&g, &bare);

		if (bare) {
			ft_code_eq(fsm_apply(x.a, (uint64_t)step + 1, &e.cmd,
					     flags, &res),
				   COORD_OK);
			m_apply(&x.m, (uint64_t)step + 1, &e.cmd, flags,
				&mreply, &mev, &mn);
		} else {
			ft_code_eq(fsm_apply_entry(x.a, (uint64_t)step + 1, &e,
						   flags, &eres),
				   COORD_OK);
			res = eres.res;
			m_entry(&x.m, (uint64_t)step + 1, &e, flags, &mreply,
				&mev, &mn, &mdup, &x.mbytes);
			/* The bytes to send: fresh or stored, the model's. */
			if (eres.duplicate != mdup ||
			    eres.reply_len != x.mbytes.len ||
			    memcmp(eres.reply_data, x.mbytes.data,
				   x.mbytes.len) != 0) {
				proto_buf_clear(&x.t1);
				proto_buf_clear(&x.t2);
				sb_printf(&x.t1, "dup=%d ", eres.duplicate);
				sb_printf(&x.t2, "dup=%d ", mdup);
				dump_reply(&x.t1, &res.reply);
				dump_reply(&x.t2, &mreply);
				mismatch(o, seed, step, "reply bytes", &x.t1,
					 &x.t2);
				break;
			}
		}
		proto_buf_clear(&x.t1);
		proto_buf_clear(&x.t2);
		dump_reply(&x.t1, &res.reply);
		dump_reply(&x.t2, &mreply);
		if (!same(&x.t1, &x.t2)) {
			mismatch(o, seed, step, "reply", &x.t1, &x.t2);
			break;
		}
		proto_buf_clear(&x.t1);
		proto_buf_clear(&x.t2);
		dump_events(&x.t1, res.events, res.n_events);
		dump_events(&x.t2, mev, mn);
		if (!same(&x.t1, &x.t2)) {
			mismatch(o, seed, step, "events", &x.t1, &x.t2);
			break;
		}
		if (fsm_revision(x.a) != x.m.rev ||
		    fsm_compact_revision(x.a) != x.m.compact) {
			mismatch(o, seed, step, "revision or compact revision",
				 NULL, NULL);
			break;
		}
		if (fsm_clients_count(x.a) != x.m.n_cl ||
		    fsm_clients_clock_ms(x.a) != x.m.clock) {
			check_clients(&x, o, seed, step);
			break;
		}
		/* The generator's clients: a registered id, a forgotten one
		 * (kept half the time, to retry into the refusal). */
		if (g.reg_slot >= 0 && res.reply.code == COORD_OK) {
			g.ids[g.reg_slot] = res.reply.u.register_client.client_id;
			g.seq[g.reg_slot] = 0;
		}
		if (g.slot >= 0 && res.reply.code == FSM_ECLIENT_UNKNOWN &&
		    pct(&g) < 50)
			g.ids[g.slot] = 0;

		/* The encoded replica, under allocation failures. */
		proto_buf_clear(&x.enc);
		ft_code_eq(proto_reply_encode(&res.reply, &x.enc), COORD_OK);
		ft_code_eq(proto_events_encode(res.events, res.n_events, &x.enc),
			   COORD_OK);
		if (!step_b(&x, o, seed, step, &g, &e.cmd, bare ? NULL : &e,
			    flags))
			break;
		ft_code_eq(fsm_hash(x.a, &ha), COORD_OK);
		ft_code_eq(fsm_hash(x.b, &hb), COORD_OK);
		{
			uint64_t sa, sb;

			ft_code_eq(fsm_hash_scan(x.a, &sa), COORD_OK);
			ft_code_eq(fsm_hash_scan(x.b, &sb), COORD_OK);
			ft_require(sa == ha && sb == hb,
				   "an incremental hash differs from a scan");
		}
		if (ha != hb) {
			mismatch(o, seed, step, "state hash of the replicas", NULL,
			     NULL);
			break;
		}

		/* Sometimes restart a on its backend. */
		if (pct(&g) < 5) {
			fsm_free(x.a);
			ft_code_eq(fsm_new(&x.cfg_a, x.back_a, &x.a), COORD_OK);
			ft_require(fsm_applied_index(x.a) == (uint64_t)step + 1,
				   "reopened with the wrong applied index");
		}

		/* A random read and a random read of history. */
		proto_arena_reset(&x.gen_ar);
		proto_arena_reset(&x.m.ar);
		{
			struct proto_range q = gen_range(&g), filter;
			uint64_t start = x.m.compact > 0 ? x.m.compact : 1;
			size_t max = pct(&g) < 50 ? 0 : 1 + rnd(&g) % 4;

			if (!check_range(&x, o, seed, step, &q))
				break;
			proto_arena_reset(&x.m.ar);
			start += rnd(&g) % (x.m.rev + 3 - start);
			if (pct(&g) < 10)
				start = rnd(&g) % (start + 1);
			memset(&filter, 0, sizeof(filter));
			gen_select(&g, &filter.key, &filter.end, &filter.flags);
			if (!check_events(&x, o, seed, step, start,
					  pct(&g) < 50 ? NULL : &filter, max,
					  pct(&g) < 50))
				break;
		}
		if (step % 16 == 15 || step == steps - 1) {
			proto_arena_reset(&x.m.ar);
			if (!check_all(&x, o, seed, step))
				break;
		}
	}
	if (o->ok) {
		/* Byte-identical replicas. */
		size_t la, lb;
		uint8_t *da = ft_backend_dump(x.back_a, &la);
		uint8_t *db = ft_backend_dump(x.back_b, &lb);

		/* Only the applied index may differ -- and it does not. */
		ck_assert_uint_eq(la, lb);
		ck_assert_int_eq(memcmp(da, db, la), 0);
		free(da);
		free(db);
	}
	fixture_close(&x);
}

/*
 * The tests.
 */

#define SEQS_PER_ITER 50
#define ITERS 60            /* 3000 sequences */
#define STEPS 80

START_TEST(model_matches_fsm)
{
	struct outcome o;

	for (int j = 0; j < SEQS_PER_ITER; j++) {
		uint64_t seed = (uint64_t)_i * SEQS_PER_ITER + (uint64_t)j;

		run(seed, STEPS, MUT_NONE, &o);
		ck_assert_msg(o.ok, "%s", o.why);
	}
}
END_TEST

/* Replays FSM_MODEL_SEED (default 0) with FSM_MODEL_STEPS steps. */
START_TEST(model_seed)
{
	const char *s = getenv("FSM_MODEL_SEED");
	const char *n = getenv("FSM_MODEL_STEPS");
	struct outcome o;

	run(s ? strtoull(s, NULL, 10) : 0, n ? atoi(n) : 200, MUT_NONE, &o);
	ck_assert_msg(o.ok, "%s", o.why);
}
END_TEST

/* A model with bug _i must disagree with the fsm on some seed: the
 * comparison can fail. */
START_TEST(mutated_model_is_caught)
{
	enum mutation mut = (enum mutation)_i;
	struct outcome o;
	uint64_t seed;

	for (seed = 0; seed < 300; seed++) {
		run(seed, STEPS, mut, &o);
		if (!o.ok)
			break;
	}
	ck_assert_msg(!o.ok, "mutation %s was never caught",
		      mutation_names[mut]);
	if (getenv("FSM_MODEL_VERBOSE") != NULL)
		fprintf(stderr, "mutation %s caught: %s\n", mutation_names[mut],
			o.why);
	/* The report names seed and step, for a replay. */
	ck_assert_ptr_nonnull(strstr(o.why, "seed "));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fsm_model");
	SRunner *sr;
	int failed;

	FT_ADD_LOOP(s, model_matches_fsm, 0, ITERS);
	FT_ADD(s, model_seed);
	FT_ADD_LOOP(s, mutated_model_is_caught, MUT_NONE + 1, MUT_COUNT);
	sr = srunner_create(s);
	srunner_set_tap(sr, "-");
	srunner_run_all(sr, getenv("CK_VERBOSITY") ? CK_ENV : CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
