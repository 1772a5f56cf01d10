/*
 * coordd/fsm/record.c: whole-record reads and writes through the view, for
 * the records of leases, sessions and queues (one record each, read,
 * changed and written back within a command), and the 'u' record of their
 * counters.
 *
 * 'u' -> leases:8 sessions:8 holds:8 waiters:8 (absent: all 0).
 */
#include <string.h>

#include "coordd/fsm/fsm_int.h"
#include "proto/errors.h"

#define USAGE_BYTES 32

/*
 * A point read: the command's pending write of key if there is one, else
 * the backend's get() -- not an iterator's seek, which in LevelDB steps
 * over every hidden older version of the records after key (a lease
 * record rewritten by every keepalive made each read cost as much as the
 * keepalives so far). The value is copied into the arena: a later get()
 * may free the backend's buffer.
 */
int fsm_rec_get(struct fsm *f, const uint8_t *key, size_t key_len,
		bool *found, const uint8_t **value, size_t *value_len)
{
	const struct fsm_ov_node *n = fsm_ov_find(&f->ov, key, key_len);
	const uint8_t *v;
	size_t v_len;
	int rc;

	*found = false;
	*value = NULL;
	*value_len = 0;
	if (n != NULL) {
		if (n->deleted)
			return COORD_OK;
		v = n->value;
		v_len = n->value_len;
	} else {
		rc = f->b->ops->get(f->b, key, key_len, &v, &v_len);
		if (rc == COORD_ENOTFOUND)
			return COORD_OK;
		if (rc != COORD_OK)
			return rc;
	}
	/* An empty value is a valid record: a dup of 0 bytes may be NULL,
	 * which is fine with len 0. */
	*value = v_len == 0 ? NULL : proto_arena_dup(&f->arena, v, v_len);
	if (v_len > 0 && *value == NULL)
		return COORD_ENOMEM;
	*value_len = v_len;
	*found = true;
	return COORD_OK;
}

int fsm_rec_set(struct fsm *f, const uint8_t *key, size_t key_len,
		const uint8_t *value, size_t value_len)
{
	const uint8_t *old;
	size_t old_len;
	bool found;
	int rc = fsm_rec_get(f, key, key_len, &found, &old, &old_len);

	if (rc != COORD_OK)
		return rc;
	if (value == NULL)
		return found ? fsm_ov_del(f, key, key_len, old, old_len)
			     : COORD_OK;
	if (!found)
		return fsm_ov_put(f, key, key_len, value, value_len);
	return fsm_ov_replace(f, key, key_len, value, value_len, old, old_len);
}

void *fsm_arr_push(struct fsm *f, void **arr, size_t *n, size_t *cap,
		   size_t size)
{
	uint8_t *p;

	if (*n == *cap) {
		size_t c = *cap == 0 ? 8 : *cap * 2;

		p = proto_arena_grow(&f->arena, *arr, *n, c, size);
		if (p == NULL)
			return NULL;
		*arr = p;
		*cap = c;
	}
	p = (uint8_t *)*arr + *n * size;
	memset(p, 0, size);
	(*n)++;
	return p;
}

void fsm_state_changed(struct fsm *f)
{
	/* One revision per command, whatever else it writes. */
	if (f->sub == 0)
		f->sub = 1;
}

int fsm_records_each(struct fsm *f, uint8_t kind,
		     int (*cb)(void *ctx, const uint8_t *k, size_t k_len,
			       const uint8_t *v, size_t v_len),
		     void *ctx)
{
	const struct fsm_backend_ops *ops = f->b->ops;
	struct fsm_backend_iter *it = NULL;
	int rc = ops->iter_new(f->b, NULL, &it);

	if (rc != COORD_OK)
		return rc;
	for (ops->iter_seek(it, &kind, 1); ops->iter_valid(it);
	     ops->iter_next(it)) {
		size_t k_len, v_len;
		const uint8_t *k = ops->iter_key(it, &k_len);
		const uint8_t *v = ops->iter_value(it, &v_len);

		if (k[0] != kind)
			break;
		rc = cb(ctx, k, k_len, v, v_len);
		if (rc != COORD_OK)
			break;
	}
	if (rc == COORD_OK)
		rc = ops->iter_status(it);
	ops->iter_free(it);
	return rc;
}

static const uint8_t usage_key[1] = { FSM_KIND_USAGE };

int fsm_usage_load(struct fsm *f)
{
	const uint8_t *v;
	size_t len;
	int rc = f->b->ops->get(f->b, usage_key, 1, &v, &len);

	memset(&f->usage, 0, sizeof(f->usage));
	if (rc == COORD_ENOTFOUND)
		return COORD_OK;
	if (rc != COORD_OK)
		return rc;
	if (len != USAGE_BYTES)
		return COORD_ECORRUPT;
	f->usage.leases = fsm_be64_get(v);
	f->usage.sessions = fsm_be64_get(v + 8);
	f->usage.holds = fsm_be64_get(v + 16);
	f->usage.waiters = fsm_be64_get(v + 24);
	return COORD_OK;
}

int fsm_usage_store(struct fsm *f)
{
	const struct fsm_usage *u = &f->usage_new;
	uint8_t *v;

	if (memcmp(u, &f->usage, sizeof(*u)) == 0)
		return COORD_OK;
	if (u->leases == 0 && u->sessions == 0 && u->holds == 0 &&
	    u->waiters == 0)
		return fsm_rec_set(f, usage_key, 1, NULL, 0);
	v = proto_arena_alloc(&f->arena, USAGE_BYTES);
	if (v == NULL)
		return COORD_ENOMEM;
	fsm_be64_put(v, u->leases);
	fsm_be64_put(v + 8, u->sessions);
	fsm_be64_put(v + 16, u->holds);
	fsm_be64_put(v + 24, u->waiters);
	return fsm_rec_set(f, usage_key, 1, v, USAGE_BYTES);
}

uint64_t fsm_sessions_count(const struct fsm *f)
{
	return f->usage.sessions;
}

uint64_t fsm_leases_count(const struct fsm *f)
{
	return f->usage.leases;
}

uint64_t fsm_holds_count(const struct fsm *f)
{
	return f->usage.holds;
}

uint64_t fsm_waiters_count(const struct fsm *f)
{
	return f->usage.waiters;
}
