/*
 * coordd/fsm/clients.c: the exactly-once client table -- one 'c' record
 * per client (its last sequence, activity time and encoded reply) and an
 * 'a' index of the clients by activity time, which makes expiry and
 * eviction ordered scans (backend.h has the layout, fsm.h the rules).
 *
 * What it never does: read a clock. Every time value comes from a
 * committed entry, through f->clock_new.
 */
#include <string.h>

#include "coordd/fsm/fsm_int.h"
#include "proto/errors.h"

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
	c->sequence = fsm_be64_get(v);
	c->active_ms = fsm_be64_get(v + 8);
	c->reply = v + FSM_CREC_HDR_BYTES;
	c->reply_len = len - FSM_CREC_HDR_BYTES;
	if (c->sequence == 0)
		return COORD_ECORRUPT;
	*found = true;
	return COORD_OK;
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
	rc = fsm_ov_del(f, k, sizeof(k));
	if (rc == COORD_OK)
		rc = fsm_ov_del(f, akey, akey_len);
	if (rc == COORD_OK)
		f->clients_new--;
	return rc;
}

/*
 * Drops entries in activity order (the 'a' index, oldest first): those
 * active before cutoff_ms, and then more while the table holds above
 * keep. Counts them in *dropped. A scan of the backend: the overlay holds
 * no 'a' or 'c' record yet (see fsm_int.h), and the drops it adds are
 * behind the scan.
 */
static int clients_drop(struct fsm *f, uint64_t cutoff_ms, uint64_t keep,
			uint64_t *dropped)
{
	const struct fsm_backend_ops *ops = f->b->ops;
	struct fsm_backend_iter *it;
	const uint8_t seek = FSM_KIND_ACTIVE;
	int rc;

	*dropped = 0;
	rc = ops->iter_new(f->b, NULL, &it);
	if (rc != COORD_OK)
		return rc;
	for (ops->iter_seek(it, &seek, 1); ops->iter_valid(it);
	     ops->iter_next(it)) {
		size_t len;
		const uint8_t *k = ops->iter_key(it, &len);

		if (k[0] != FSM_KIND_ACTIVE)
			break;
		if (len == FSM_AKEY_BYTES && fsm_be64_get(k + 1) >= cutoff_ms &&
		    f->clients_new <= keep)
			break;
		rc = client_drop(f, k, len);
		if (rc != COORD_OK)
			goto out;
		(*dropped)++;
	}
	rc = ops->iter_status(it);
out:
	ops->iter_free(it);
	return rc;
}

int fsm_client_store(struct fsm *f, uint64_t client_id, uint64_t sequence,
		     const struct fsm_client *old, const uint8_t *reply,
		     size_t reply_len)
{
	uint8_t ck[FSM_CKEY_BYTES], ak[FSM_AKEY_BYTES], *v;
	uint64_t evicted;
	int rc;

	if (old != NULL) {
		akey_build(ak, old->active_ms, client_id);
		rc = fsm_ov_del(f, ak, sizeof(ak));
	} else {
		/* Room for one more: evict the least recently active. */
		rc = clients_drop(f, 0, f->cfg.clients_max - 1, &evicted);
		f->clients_new++;
	}
	if (rc != COORD_OK)
		return rc;
	v = proto_arena_alloc(&f->arena, FSM_CREC_HDR_BYTES + reply_len);
	if (v == NULL)
		return COORD_ENOMEM;
	fsm_be64_put(v, sequence);
	fsm_be64_put(v + 8, f->clock_new);
	memcpy(v + FSM_CREC_HDR_BYTES, reply, reply_len);
	ckey_build(ck, client_id);
	akey_build(ak, f->clock_new, client_id);
	rc = fsm_ov_put(f, ck, sizeof(ck), v, FSM_CREC_HDR_BYTES + reply_len);
	if (rc == COORD_OK)
		rc = fsm_ov_put(f, ak, sizeof(ak), NULL, 0);
	return rc;
}

int fsm_cmd_clients_expire(struct fsm *f, const struct proto_clients_expire *x,
			   struct proto_clients_expire_reply *out)
{
	if (x->now_ms > f->clock_new)
		f->clock_new = x->now_ms;
	/* Nobody is idle for longer than the clock has run. */
	if (f->clock_new <= x->idle_ms) {
		out->expired = 0;
		return COORD_OK;
	}
	return clients_drop(f, f->clock_new - x->idle_ms, UINT64_MAX,
			    &out->expired);
}
