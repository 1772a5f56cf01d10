/*
 * coordd/fsm/lease.c: leases and sessions -- grant, keepalive, revoke,
 * expire, session open and close -- and the end of a lease: what happens
 * to everything a session owns when it is closed, revoked or expires
 * (fsm.h, "Leases, sessions, locks", has the rules).
 *
 * Record: 'L' lease:8 -> ttl_ms:8 ka_index:8 ka_ms:8 flags:1 (bit 0: a
 * session) secret_len:1 secret. The keys attached to a lease are the
 * 'l' records of mvcc.c.
 *
 * Ending is a worklist (f->ending), not recursion: ending a session
 * releases its holds, the grants that follow may find overdue sessions in
 * their way, which are doomed onto the list and ended in the same command.
 * Each lease is ended once: its record goes first, so a doomed lease is
 * never doomed again and a queue drops a waiter whose lease is gone.
 */
#include <string.h>

#include "coordd/fsm/fsm_int.h"
#include "proto/errors.h"
#include "proto/limits.h"

#define LREC_HDR_BYTES 26
#define LREC_SESSION 0x01

static void lkey(uint8_t k[9], uint64_t id)
{
	k[0] = FSM_KIND_LEASE_REC;
	fsm_be64_put(k + 1, id);
}

static int lrec_parse(const uint8_t *v, size_t len, struct fsm_lease_rec *l)
{
	if (len < LREC_HDR_BYTES || len != LREC_HDR_BYTES + (size_t)v[25] ||
	    v[25] > COORD_SECRET_BYTES_MAX || (v[24] & ~LREC_SESSION) != 0)
		return COORD_ECORRUPT;
	l->ttl_ms = fsm_be64_get(v);
	l->ka_index = fsm_be64_get(v + 8);
	l->ka_ms = fsm_be64_get(v + 16);
	l->session = (v[24] & LREC_SESSION) != 0;
	l->secret = proto_bytes_make(v + LREC_HDR_BYTES, v[25]);
	return COORD_OK;
}

int fsm_lease_read(struct fsm *f, uint64_t id, bool *found,
		   struct fsm_lease_rec *l)
{
	uint8_t k[9];
	const uint8_t *v;
	size_t len;
	int rc;

	lkey(k, id);
	rc = fsm_rec_get(f, k, sizeof(k), found, &v, &len);
	if (rc != COORD_OK || !*found)
		return rc;
	return lrec_parse(v, len, l);
}

static int lease_write(struct fsm *f, uint64_t id,
		       const struct fsm_lease_rec *l)
{
	size_t len = LREC_HDR_BYTES + l->secret.len;
	uint8_t k[9], *v = proto_arena_alloc(&f->arena, len);
	struct fsm_lease_touch *t;

	if (v == NULL)
		return COORD_ENOMEM;
	fsm_be64_put(v, l->ttl_ms);
	fsm_be64_put(v + 8, l->ka_index);
	fsm_be64_put(v + 16, l->ka_ms);
	v[24] = l->session ? LREC_SESSION : 0;
	v[25] = (uint8_t)l->secret.len;
	if (l->secret.len > 0)
		memcpy(v + LREC_HDR_BYTES, l->secret.data, l->secret.len);
	t = fsm_arr_push(f, (void **)&f->touched, &f->n_touched,
			 &f->cap_touched, sizeof(*t));
	if (t == NULL)
		return COORD_ENOMEM;
	t->lease = id;
	t->ka_index = l->ka_index;
	t->ttl_ms = l->ttl_ms;
	fsm_state_changed(f);
	lkey(k, id);
	return fsm_rec_set(f, k, sizeof(k), v, len);
}

uint64_t fsm_lease_drift(uint64_t drift_ms, uint64_t ppm, uint64_t ttl_ms)
{
	/* ttl_ms <= COORD_LEASE_TTL_MS_MAX in a record, but the product is
	 * bounded here for any input. */
	uint64_t rate = ppm != 0 && ttl_ms > UINT64_MAX / ppm
				? UINT64_MAX
				: ttl_ms * ppm / 1000000u;

	return drift_ms + rate < drift_ms ? UINT64_MAX : drift_ms + rate;
}

bool fsm_lease_overdue(const struct fsm *f, const struct fsm_lease_rec *l)
{
	uint64_t due = l->ka_ms + l->ttl_ms;
	uint64_t drift = fsm_lease_drift(f->cfg.lease_drift_ms,
					 f->cfg.lease_drift_ppm, l->ttl_ms);

	/* Saturating: a due time past 2^64 ms never comes. */
	if (due < l->ka_ms)
		return false;
	if (due + drift < due)
		return false;
	return f->clock_new > due + drift;
}

int fsm_lease_doom(struct fsm *f, uint64_t lease, int why)
{
	struct fsm_ending *e;

	for (size_t i = 0; i < f->n_ending; i++)
		if (f->ending[i].lease == lease)
			return COORD_OK;
	e = fsm_arr_push(f, (void **)&f->ending, &f->n_ending, &f->cap_ending,
			 sizeof(*e));
	if (e == NULL)
		return COORD_ENOMEM;
	e->lease = lease;
	e->why = why;
	return COORD_OK;
}

/* Takes session off one queue it holds or waits on, and lets the queue
 * grant. */
static int lease_leave_queue(struct fsm *f, uint64_t session, uint8_t kind,
			     struct proto_bytes name, bool expired)
{
	const struct fsm_queue_policy *pol = fsm_queue_policy_of(kind);
	struct fsm_queue q;
	uint64_t granted;
	long i;
	int rc;

	if (pol == NULL)
		return COORD_ECORRUPT;
	rc = fsm_queue_load(f, kind, name, &q);
	if (rc != COORD_OK)
		return rc;
	i = fsm_queue_find(q.holders, q.n_holders, session);
	if (i >= 0) {
		pol->hold_lost(f, &q, &q.holders[i], expired);
		if (pol->hold_ended != NULL)
			rc = pol->hold_ended(f, &q, &q.holders[i], expired);
		if (rc == COORD_OK)
			rc = fsm_queue_unhold(f, &q, (size_t)i);
	} else {
		i = fsm_queue_find(q.waiters, q.n_waiters, session);
		if (i < 0)
			return COORD_ECORRUPT;  /* an owner record without */
		rc = fsm_queue_unwait(f, &q, (size_t)i);
	}
	if (rc == COORD_OK)
		rc = fsm_queue_grant(f, &q, pol, &granted);
	if (rc == COORD_OK)
		rc = fsm_queue_store(f, &q);
	return rc;
}

/* Ends one lease: its record, its queues, its keys. *deleted: keys. */
static int lease_end(struct fsm *f, uint64_t id, int why, uint64_t *deleted)
{
	struct proto_lease_end_reply ler;
	struct fsm_lease_rec l;
	struct fsm_lease_gone *g;
	struct proto_bytes *names = NULL;
	uint8_t k[9], *kinds = NULL;
	size_t n;
	bool found;
	int rc = fsm_lease_read(f, id, &found, &l);

	*deleted = 0;
	if (rc != COORD_OK || !found)
		return rc;
	lkey(k, id);
	rc = fsm_rec_set(f, k, sizeof(k), NULL, 0);
	if (rc != COORD_OK)
		return rc;
	fsm_state_changed(f);
	f->usage_new.leases--;
	if (l.session)
		f->usage_new.sessions--;
	g = fsm_arr_push(f, (void **)&f->gone, &f->n_gone, &f->cap_gone,
			 sizeof(*g));
	if (g == NULL)
		return COORD_ENOMEM;
	g->lease = id;
	g->why = why;
	g->session = l.session;
	/* With no hold or wait anywhere, the session owns none: no scan of
	 * its owner keys, which on LevelDB steps over the deleted versions
	 * of whatever follows them (fsm_queue_session_room()) -- a queue
	 * record made and dropped by every campaign and resign, say. */
	n = 0;
	if (f->usage_new.holds + f->usage_new.waiters > 0)
		rc = fsm_queue_owned(f, id, &kinds, &names, &n, SIZE_MAX);
	for (size_t i = 0; rc == COORD_OK && i < n; i++)
		rc = lease_leave_queue(f, id, kinds[i], names[i],
				       why == COORD_ESESSION_EXPIRED);
	if (rc == COORD_OK)
		rc = fsm_cmd_lease_end(f, id, &ler);
	if (rc == COORD_OK)
		*deleted = ler.deleted;
	return rc;
}

int fsm_leases_end_doomed(struct fsm *f)
{
	uint64_t deleted;
	int rc = COORD_OK;

	/* The list grows while it is worked through. */
	for (size_t i = 0; rc == COORD_OK && i < f->n_ending; i++)
		rc = lease_end(f, f->ending[i].lease, f->ending[i].why,
			       &deleted);
	return rc;
}

/* Ends lease (and what that dooms); *deleted: its own keys. */
static int lease_end_now(struct fsm *f, uint64_t lease, int why,
			 uint64_t *deleted)
{
	int rc = fsm_lease_doom(f, lease, why);

	if (rc == COORD_OK)
		rc = lease_end(f, lease, why, deleted);
	if (rc == COORD_OK)
		rc = fsm_leases_end_doomed(f);
	return rc;
}

static int check_ttl(uint64_t ttl_ms)
{
	return ttl_ms == 0 || ttl_ms > COORD_LEASE_TTL_MS_MAX ? COORD_ETTL
							       : COORD_OK;
}

static int cmd_grant(struct fsm *f, uint64_t index,
		     const struct proto_lease_grant_cmd *g,
		     struct proto_lease_grant_reply *out)
{
	struct fsm_lease_rec l = { .ttl_ms = g->ttl_ms, .ka_index = index };
	uint64_t id = g->lease != 0 ? g->lease : index;
	bool found;
	int rc = check_ttl(g->ttl_ms);

	if (rc == COORD_OK)
		rc = fsm_lease_read(f, id, &found, &l);
	if (rc != COORD_OK)
		return rc;
	if (found)
		return COORD_EEXISTS;
	if (f->usage_new.leases >= f->cfg.leases_max)
		return COORD_ETOOMANYLEASES;
	memset(&l, 0, sizeof(l));
	l.ttl_ms = g->ttl_ms;
	l.ka_index = index;
	l.ka_ms = f->clock_new;
	f->usage_new.leases++;
	out->lease = id;
	out->ttl_ms = g->ttl_ms;
	return lease_write(f, id, &l);
}

static int cmd_keepalive(struct fsm *f, uint64_t index,
			 const struct proto_lease_keepalive *k,
			 struct proto_lease_keepalive_reply *out)
{
	struct proto_lease_ttl_item *v = NULL;
	int rc = COORD_OK;

	if (k->n_leases > COORD_KEEPALIVE_BATCH_MAX)
		return COORD_EINVAL;
	if (k->n_leases > 0) {
		v = proto_arena_alloc(&f->arena, k->n_leases * sizeof(*v));
		if (v == NULL)
			return COORD_ENOMEM;
	}
	for (size_t i = 0; rc == COORD_OK && i < k->n_leases; i++) {
		struct fsm_lease_rec l;
		bool found;

		v[i].lease = k->leases[i];
		v[i].ttl_ms = 0;
		rc = fsm_lease_read(f, k->leases[i], &found, &l);
		if (rc != COORD_OK || !found)
			continue;
		l.ka_index = index;
		l.ka_ms = f->clock_new;
		v[i].ttl_ms = l.ttl_ms;
		rc = lease_write(f, k->leases[i], &l);
	}
	out->leases = v;
	out->n_leases = k->n_leases;
	return rc;
}

static int cmd_session_open(struct fsm *f, uint64_t index,
			    const struct proto_session_open_cmd *s,
			    struct proto_session_open_reply *out)
{
	struct fsm_lease_rec l;
	bool found;
	int rc = check_ttl(s->ttl_ms);

	if (rc != COORD_OK)
		return rc;
	if (s->secret.len < COORD_SECRET_BYTES_MIN ||
	    s->secret.len > COORD_SECRET_BYTES_MAX)
		return COORD_EINVAL;
	rc = fsm_lease_read(f, index, &found, &l);
	if (rc != COORD_OK)
		return rc;
	/* A lease a client named by this index earlier. */
	if (found)
		return COORD_EEXISTS;
	if (f->usage_new.sessions >= f->cfg.sessions_max)
		return COORD_ETOOMANYSESSIONS;
	if (f->usage_new.leases >= f->cfg.leases_max)
		return COORD_ETOOMANYLEASES;
	memset(&l, 0, sizeof(l));
	l.ttl_ms = s->ttl_ms;
	l.ka_index = index;
	l.ka_ms = f->clock_new;
	l.session = true;
	l.secret.data = proto_arena_dup(&f->arena, s->secret.data,
					s->secret.len);
	l.secret.len = s->secret.len;
	if (l.secret.data == NULL)
		return COORD_ENOMEM;
	f->usage_new.leases++;
	f->usage_new.sessions++;
	out->session = index;
	out->secret = l.secret;
	out->lease = index;
	out->ttl_ms = s->ttl_ms;
	return lease_write(f, index, &l);
}

int fsm_cmd_lease(struct fsm *f, uint64_t index, const struct proto_cmd *cmd,
		  struct proto_reply *reply)
{
	struct fsm_lease_rec l;
	uint64_t id = 0, deleted;
	bool found;
	int rc;

	switch (cmd->type) {
	case PROTO_CMD_LEASE_GRANT:
		return cmd_grant(f, index, &cmd->u.lease_grant,
				 &reply->u.lease_grant);
	case PROTO_CMD_LEASE_KEEPALIVE:
		return cmd_keepalive(f, index, &cmd->u.lease_keepalive,
				     &reply->u.lease_keepalive);
	case PROTO_CMD_SESSION_OPEN:
		return cmd_session_open(f, index, &cmd->u.session_open,
					&reply->u.session_open);
	case PROTO_CMD_LEASE_REVOKE:
		id = cmd->u.lease_revoke.lease;
		break;
	case PROTO_CMD_LEASE_EXPIRE:
		id = cmd->u.lease_expire.lease;
		break;
	case PROTO_CMD_SESSION_CLOSE:
		id = cmd->u.session_close.session;
		break;
	default:
		return COORD_EINVAL;
	}
	rc = fsm_lease_read(f, id, &found, &l);
	if (rc != COORD_OK)
		return rc;
	switch (cmd->type) {
	case PROTO_CMD_LEASE_REVOKE:
		if (!found)
			return COORD_ELEASE;
		rc = lease_end_now(f, id, COORD_ESESSION, &deleted);
		reply->u.lease_revoke.deleted = deleted;
		return rc;
	case PROTO_CMD_LEASE_EXPIRE:
		/* Stale: a newer keepalive committed, or it is gone. */
		if (!found || l.ka_index != cmd->u.lease_expire.ka_index)
			return COORD_OK;
		reply->u.lease_expire.expired = true;
		return lease_end_now(f, id, COORD_ESESSION_EXPIRED, &deleted);
	default:
		if (!found || !l.session)
			return COORD_ESESSION;
		return lease_end_now(f, id, COORD_ESESSION, &deleted);
	}
}

/* Reads of the current state, outside commands: the backend itself. */

static int info_fill(uint64_t id, const uint8_t *v, size_t len,
		     struct fsm_lease_info *out)
{
	struct fsm_lease_rec l;
	int rc = lrec_parse(v, len, &l);

	if (rc != COORD_OK)
		return rc;
	memset(out, 0, sizeof(*out));
	out->id = id;
	out->ttl_ms = l.ttl_ms;
	out->ka_index = l.ka_index;
	out->ka_ms = l.ka_ms;
	out->session = l.session;
	out->secret_len = l.secret.len;
	if (l.secret.len > 0)
		memcpy(out->secret, l.secret.data, l.secret.len);
	return COORD_OK;
}

int fsm_lease_get(struct fsm *f, uint64_t id, struct fsm_lease_info *out)
{
	uint8_t k[9];
	const uint8_t *v;
	size_t len;
	int rc;

	lkey(k, id);
	rc = f->b->ops->get(f->b, k, sizeof(k), &v, &len);
	if (rc != COORD_OK)
		return rc;
	return info_fill(id, v, len, out);
}

struct leases_each_ctx {
	int (*cb)(void *ctx, const struct fsm_lease_info *l);
	void *ctx;
};

static int leases_each_cb(void *ctx, const uint8_t *k, size_t k_len,
			  const uint8_t *v, size_t v_len)
{
	struct leases_each_ctx *c = ctx;
	struct fsm_lease_info info;
	int rc;

	if (k_len != 9)
		return COORD_ECORRUPT;
	rc = info_fill(fsm_be64_get(k + 1), v, v_len, &info);
	return rc == COORD_OK ? c->cb(c->ctx, &info) : rc;
}

int fsm_leases_each(struct fsm *f,
		    int (*cb)(void *ctx, const struct fsm_lease_info *l),
		    void *ctx)
{
	struct leases_each_ctx c = { cb, ctx };

	return fsm_records_each(f, FSM_KIND_LEASE_REC, leases_each_cb, &c);
}

/*
 * The keys attached to a lease: a scan of its 'l' records from just past
 * `after`, bounded in keys and key bytes so that one read costs a bounded
 * amount of CPU and memory however many keys the lease holds.
 */
int fsm_lease_keys(struct fsm *f, uint64_t id, struct proto_bytes after,
		   size_t keys_max, size_t bytes_max,
		   struct fsm_lease_keys *out)
{
	const struct fsm_backend_ops *ops = f->b->ops;
	struct fsm_backend_iter *it = NULL;
	struct proto_bytes *keys = NULL;
	struct fsm_kbuf *k = &f->write_key;
	size_t n = 0, cap = 0, bytes = 0;
	uint8_t kind = FSM_KIND_LEASE;
	struct fsm_lease_info info;
	int rc;

	memset(out, 0, sizeof(*out));
	proto_arena_reset(&f->arena);
	fsm_ov_reset(&f->ov);
	rc = fsm_lease_get(f, id, &info);
	if (rc != COORD_OK)
		return rc;
	k->len = 0;
	rc = fsm_kbuf_append(f, k, &kind, 1);
	if (rc == COORD_OK)
		rc = fsm_kbuf_append_u64(f, k, id);
	if (rc == COORD_OK)
		rc = fsm_kbuf_append(f, k, after.data, after.len);
	if (rc == COORD_OK)
		rc = ops->iter_new(f->b, NULL, &it);
	if (rc != COORD_OK)
		return rc;
	for (ops->iter_seek(it, k->data, k->len); ops->iter_valid(it);
	     ops->iter_next(it)) {
		size_t len;
		const uint8_t *key = ops->iter_key(it, &len);

		if (len < 9 || memcmp(key, k->data, 9) != 0)
			break;
		if (after.len > 0 && len == k->len &&
		    memcmp(key, k->data, len) == 0)
			continue;   /* `after` itself */
		if (n == keys_max || (n > 0 && bytes + len - 9 > bytes_max)) {
			out->more = true;
			break;
		}
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			keys = proto_arena_grow(&f->arena, keys, n, cap,
						sizeof(*keys));
			if (keys == NULL) {
				rc = COORD_ENOMEM;
				break;
			}
		}
		keys[n].len = len - 9;
		keys[n].data = proto_arena_dup(&f->arena, key + 9, len - 9);
		if (keys[n].data == NULL && len > 9) {
			rc = COORD_ENOMEM;
			break;
		}
		bytes += len - 9;
		n++;
	}
	if (rc == COORD_OK)
		rc = ops->iter_status(it);
	ops->iter_free(it);
	if (rc == COORD_OK) {
		out->keys = keys;
		out->n = n;
	}
	return rc;
}
