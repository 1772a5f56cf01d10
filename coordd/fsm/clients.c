/*
 * coordd/fsm/clients.c: the exactly-once client table -- one 'c' record
 * per registered client (its activity time, its floor and the replies of
 * its window) and an 'a' index of the clients by activity time, which
 * makes expiry and eviction ordered scans (backend.h has the layout,
 * fsm.h the rules).
 *
 * Activity times are kept rounded down to COORD_CLIENT_ACTIVE_GRAIN_MS, so
 * a client that writes often moves its 'a' record once per grain, not at
 * every write: a write rewrites only the client's 'c' record.
 *
 * What it never does: read a clock. Every time value comes from a
 * committed entry, through f->clock_new.
 */
#include <string.h>

#include "coordd/fsm/fsm_int.h"
#include "proto/errors.h"
#include "proto/limits.h"

/* A stored reply in a 'c' record: sequence:8 len:4, then the bytes. */
#define REPLY_HDR_BYTES 12

static void ckey_build(uint8_t *k, uint64_t client_id)
{
	k[0] = FSM_KIND_CLIENT;
	fsm_be64_put(k + 1, client_id);
}

static void akey_build(uint8_t *k, uint64_t active_ms, uint64_t client_id)
{
	k[0] = FSM_KIND_ACTIVE;
	fsm_be64_put(k + 1, active_ms);
	fsm_be64_put(k + 9, client_id);
}

/* The activity time an entry applied now gets. */
static uint64_t active_now(const struct fsm *f)
{
	return f->clock_new - f->clock_new % COORD_CLIENT_ACTIVE_GRAIN_MS;
}

/* Checks the stored replies of a record: in rising sequence order, at or
 * above the floor, each within the value. */
static bool replies_valid(const struct fsm_client *c)
{
	const uint8_t *p = c->replies, *end = c->replies + c->replies_len;
	uint64_t last = 0;

	while (p < end) {
		uint64_t seq;
		uint32_t len;

		if ((size_t)(end - p) < REPLY_HDR_BYTES)
			return false;
		seq = fsm_be64_get(p);
		len = fsm_be32_get(p + 8);
		if (seq < c->floor || seq <= last ||
		    (size_t)(end - p) - REPLY_HDR_BYTES < len)
			return false;
		last = seq;
		p += REPLY_HDR_BYTES + len;
	}
	return true;
}

int fsm_client_get(struct fsm *f, uint64_t client_id, bool *found,
		   struct fsm_client *c)
{
	uint8_t k[FSM_CKEY_BYTES];
	const uint8_t *v;
	size_t len;
	int rc;

	ckey_build(k, client_id);
	*found = false;
	rc = f->b->ops->get(f->b, k, sizeof(k), &v, &len);
	if (rc == COORD_ENOTFOUND)
		return COORD_OK;
	if (rc != COORD_OK)
		return rc;
	if (len < FSM_CREC_HDR_BYTES)
		return COORD_ECORRUPT;
	/* A backend's value lives only until its next call (LevelDB's is
	 * freed by the next get, and a command may make one: MEMBER_PUT
	 * reads the record it replaces). The entry is used until the
	 * command's reply is stored, so it is copied for the call: a
	 * dangling copy hashed garbage into the state hash, different on
	 * every replica (tests/cluster/membership.sh). */
	{
		uint8_t *copy = proto_arena_alloc(&f->arena, len);

		if (copy == NULL)
			return COORD_ENOMEM;
		memcpy(copy, v, len);
		v = copy;
	}
	c->active_ms = fsm_be64_get(v);
	c->floor = fsm_be64_get(v + 8);
	c->replies = v + FSM_CREC_HDR_BYTES;
	c->replies_len = len - FSM_CREC_HDR_BYTES;
	c->raw = v;
	c->raw_len = len;
	if (c->floor == 0 || !replies_valid(c))
		return COORD_ECORRUPT;
	*found = true;
	return COORD_OK;
}

bool fsm_client_reply(const struct fsm_client *c, uint64_t sequence,
		      const uint8_t **reply, size_t *reply_len)
{
	const uint8_t *p = c->replies, *end = c->replies + c->replies_len;

	while (p < end) {
		uint64_t seq = fsm_be64_get(p);
		uint32_t len = fsm_be32_get(p + 8);

		if (seq == sequence) {
			*reply = p + REPLY_HDR_BYTES;
			*reply_len = len;
			return true;
		}
		if (seq > sequence)
			break;
		p += REPLY_HDR_BYTES + len;
	}
	return false;
}

uint64_t fsm_client_n_replies(const struct fsm_client *c)
{
	const uint8_t *p = c->replies, *end = c->replies + c->replies_len;
	uint64_t n = 0;

	while (p < end) {
		p += REPLY_HDR_BYTES + fsm_be32_get(p + 8);
		n++;
	}
	return n;
}

/* Drops the entry that the 'a' record akey indexes; it must agree. */
static int client_drop(struct fsm *f, const uint8_t *akey, size_t akey_len)
{
	uint8_t k[FSM_CKEY_BYTES];
	struct fsm_client c;
	uint64_t id;
	bool found;
	int rc;

	if (akey_len != FSM_AKEY_BYTES || f->clients_new == 0)
		return COORD_ECORRUPT;
	id = fsm_be64_get(akey + 9);
	rc = fsm_client_get(f, id, &found, &c);
	if (rc != COORD_OK)
		return rc;
	if (!found || c.active_ms != fsm_be64_get(akey + 1))
		return COORD_ECORRUPT;
	ckey_build(k, id);
	rc = fsm_ov_del(f, k, sizeof(k), c.raw, c.raw_len);
	if (rc == COORD_OK)
		rc = fsm_ov_del(f, akey, akey_len, NULL, 0);
	if (rc == COORD_OK)
		f->clients_new--;
	return rc;
}

/*
 * Drops entries in activity order (the 'a' index, oldest first): those
 * active before cutoff_ms, and then more while the table holds above
 * keep, but only those active before evict_ms (an entry that is active
 * later stops the scan: *full then says so). Counts them in *dropped. A
 * scan of the backend: the overlay holds no 'a' or 'c' record yet (see
 * fsm_int.h), and the drops it adds are behind the scan.
 */
static int clients_drop(struct fsm *f, uint64_t cutoff_ms, uint64_t keep,
			uint64_t evict_ms, uint64_t *dropped, bool *full)
{
	const struct fsm_backend_ops *ops = f->b->ops;
	struct fsm_backend_iter *it;
	const uint8_t seek = FSM_KIND_ACTIVE;
	int rc;

	*dropped = 0;
	*full = false;
	rc = ops->iter_new(f->b, NULL, &it);
	if (rc != COORD_OK)
		return rc;
	for (ops->iter_seek(it, &seek, 1); ops->iter_valid(it);
	     ops->iter_next(it)) {
		size_t len;
		const uint8_t *k = ops->iter_key(it, &len);
		uint64_t active;

		if (k[0] != FSM_KIND_ACTIVE)
			break;
		if (len != FSM_AKEY_BYTES) {
			rc = COORD_ECORRUPT;
			goto out;
		}
		active = fsm_be64_get(k + 1);
		if (active >= cutoff_ms) {
			if (f->clients_new <= keep)
				break;
			if (active >= evict_ms) {
				*full = true;
				break;
			}
		}
		rc = client_drop(f, k, len);
		if (rc != COORD_OK)
			goto out;
		(*dropped)++;
	}
	rc = ops->iter_status(it);
	if (rc == COORD_OK && f->clients_new > keep)
		*full = true;
out:
	ops->iter_free(it);
	return rc;
}

int fsm_client_store(struct fsm *f, uint64_t client_id,
		     const struct fsm_client *old, uint64_t sequence,
		     uint64_t ack, const uint8_t *reply, size_t reply_len)
{
	uint8_t ck[FSM_CKEY_BYTES], ak[FSM_AKEY_BYTES], *v, *p;
	const uint8_t *q = old->replies, *end = old->replies + old->replies_len;
	uint64_t floor = ack > old->floor ? ack : old->floor;
	uint64_t active = active_now(f);
	size_t keep_at = 0, keep_len = 0, len;
	bool inserted = false;
	int rc;

	/* The replies the client may still ask for: those at or above the
	 * new floor (stored in sequence order, so a tail of the list). */
	while (q < end && fsm_be64_get(q) < floor)
		q += REPLY_HDR_BYTES + fsm_be32_get(q + 8);
	keep_at = (size_t)(q - old->replies);
	keep_len = old->replies_len - keep_at;
	if (reply_len > UINT32_MAX)
		return COORD_EINVAL;
	len = FSM_CREC_HDR_BYTES + keep_len + REPLY_HDR_BYTES + reply_len;
	v = proto_arena_alloc(&f->arena, len);
	if (v == NULL)
		return COORD_ENOMEM;
	fsm_be64_put(v, active);
	fsm_be64_put(v + 8, floor);
	p = v + FSM_CREC_HDR_BYTES;
	/* Merge: the new reply goes before the first higher sequence (a
	 * pipelined client's requests may commit out of order). */
	while (q < end) {
		size_t n = REPLY_HDR_BYTES + fsm_be32_get(q + 8);

		if (!inserted && fsm_be64_get(q) > sequence) {
			fsm_be64_put(p, sequence);
			fsm_be32_put(p + 8, (uint32_t)reply_len);
			memcpy(p + REPLY_HDR_BYTES, reply, reply_len);
			p += REPLY_HDR_BYTES + reply_len;
			inserted = true;
		}
		memcpy(p, q, n);
		p += n;
		q += n;
	}
	if (!inserted) {
		fsm_be64_put(p, sequence);
		fsm_be32_put(p + 8, (uint32_t)reply_len);
		memcpy(p + REPLY_HDR_BYTES, reply, reply_len);
	}
	ckey_build(ck, client_id);
	rc = fsm_ov_replace(f, ck, sizeof(ck), v, len, old->raw, old->raw_len);
	if (rc != COORD_OK || active == old->active_ms)
		return rc;
	akey_build(ak, old->active_ms, client_id);
	rc = fsm_ov_del(f, ak, sizeof(ak), NULL, 0);
	if (rc != COORD_OK)
		return rc;
	akey_build(ak, active, client_id);
	return fsm_ov_put(f, ak, sizeof(ak), NULL, 0);
}

int fsm_cmd_register_client(struct fsm *f, uint64_t index,
			    const struct proto_register_client *r,
			    struct proto_register_client_reply *out)
{
	uint8_t ck[FSM_CKEY_BYTES], ak[FSM_AKEY_BYTES], v[FSM_CREC_HDR_BYTES];
	uint64_t active = active_now(f), evicted;
	uint64_t evict_ms = f->clock_new >= r->horizon_ms
				    ? f->clock_new - r->horizon_ms + 1
				    : 0;
	bool full;
	int rc;

	out->client_id = 0;
	/* Room for one more: evict the least recently active, but never
	 * one active within the horizon -- its client may still be
	 * retrying, and would lose the answer. */
	if (f->clients_new >= f->cfg.clients_max) {
		rc = clients_drop(f, 0, f->cfg.clients_max - 1, evict_ms,
				  &evicted, &full);
		if (rc != COORD_OK)
			return rc;
		if (full) {
			/* Refused: nothing may stay written. */
			fsm_ov_reset(&f->ov);
			f->hash_new = f->hash;
			f->clients_new = f->clients;
			return COORD_ECLIENTSFULL;
		}
	}
	fsm_be64_put(v, active);
	fsm_be64_put(v + 8, 1);
	ckey_build(ck, index);
	akey_build(ak, active, index);
	rc = fsm_ov_put(f, ck, sizeof(ck), v, sizeof(v));
	if (rc == COORD_OK)
		rc = fsm_ov_put(f, ak, sizeof(ak), NULL, 0);
	if (rc != COORD_OK)
		return rc;
	f->clients_new++;
	out->client_id = index;
	return COORD_OK;
}

int fsm_cmd_clients_expire(struct fsm *f, const struct proto_clients_expire *x,
			   struct proto_clients_expire_reply *out)
{
	bool full;

	if (x->now_ms > f->clock_new)
		f->clock_new = x->now_ms;
	/* Nobody is idle for longer than the clock has run. */
	if (f->clock_new <= x->idle_ms) {
		out->expired = 0;
		return COORD_OK;
	}
	return clients_drop(f, f->clock_new - x->idle_ms, UINT64_MAX, 0,
			    &out->expired, &full);
}
