/*
 * coordd/fsm/quota.c: the storage quotas (tracker issue 13) -- the
 * keyspace quota with its NOSPACE alarm, and the budget of coordination
 * state. The rules are in fsm.h ("Quota"); docs/quota.md explains them.
 *
 * Both quotas count bytes of records (key + value as stored), kept
 * incrementally: every overlay write moves them (view.c calls
 * fsm_bytes_move() beside the state hash), the meta record carries them,
 * so they are a function of the applied commands and equal on every
 * replica. The quota values live in the 'Q' record, written by QUOTA_SET,
 * so every replica judges a command against the same numbers.
 *
 * Record: 'Q' -> flags:1 (bit 0: NOSPACE alarm raised) quota_bytes:8
 * coord_quota_bytes:8 alarm_index:8. Absent: no QUOTA_SET yet, no quota.
 */
#include <string.h>

#include "coordd/fsm/fsm_int.h"
#include "proto/errors.h"
#include "proto/limits.h"

#define QUOTA_ALARM 0x01
#define QUOTA_BYTES (1 + 8 + 8 + 8)

static const uint8_t quota_key[1] = { FSM_KIND_QUOTA };

int fsm_bytes_kind(const uint8_t *key, size_t key_len)
{
	if (key_len == 0)
		return 0;
	switch (key[0]) {
	case FSM_KIND_KEY:
	case FSM_KIND_REV:
	case FSM_KIND_LEASE:
		return 1;
	case FSM_KIND_ACTIVE:
	case FSM_KIND_CLIENT:
	case FSM_KIND_META:
	case FSM_KIND_MEMBER:
	case FSM_KIND_USAGE:
	case FSM_KIND_QUOTA:
		return 0;
	}
	/* Every other kind is a primitive's state -- leases, queues,
	 * owners, jobs, and whatever a primitive added later stores -- so
	 * the budget covers a new primitive without a change here. */
	return 2;
}

/* A 'k' record of a key under COORD_RESERVED_KEY_PREFIX: one the fsm
 * writes for a primitive (an election's leader key), never a client.
 * esc() leaves the prefix as it is: it holds no 0x00. */
static bool reserved_key(const uint8_t *key, size_t key_len)
{
	static const char prefix[] = COORD_RESERVED_KEY_PREFIX;

	return key_len >= sizeof(prefix) &&
	       memcmp(key + 1, prefix, sizeof(prefix) - 1) == 0;
}

void fsm_bytes_move(struct fsm *f, const uint8_t *key, size_t key_len,
		    const uint8_t *value, size_t value_len, int sign)
{
	uint64_t n = (uint64_t)key_len + value_len;
	uint64_t *count;

	switch (fsm_bytes_kind(key, key_len)) {
	case 1:
		count = &f->kv_bytes_new;
		/* A version that holds a value, not a tombstone: the
		 * command writes a value, which the keyspace quota judges
		 * -- unless the fsm writes it for a coordination primitive
		 * (an election handed over by a session's expiry must not
		 * fail for want of room). */
		if (sign > 0 && key[0] == FSM_KIND_KEY && value_len > 0 &&
		    !(value[0] & FSM_KREC_TOMBSTONE) &&
		    !reserved_key(key, key_len))
			f->wrote_value = true;
		break;
	case 2:
		count = &f->coord_bytes_new;
		break;
	default:
		return;
	}
	if (sign > 0)
		*count += n;
	else
		*count -= n;
}

void fsm_writes_discard(struct fsm *f)
{
	fsm_ov_reset(&f->ov);
	f->hash_new = f->hash;
	f->kv_bytes_new = f->kv_bytes;
	f->coord_bytes_new = f->coord_bytes;
	f->wrote_value = false;
	f->sub = 0;
}

int fsm_quota_load(struct fsm *f)
{
	const uint8_t *v;
	size_t len;
	int rc = f->b->ops->get(f->b, quota_key, 1, &v, &len);

	memset(&f->quota, 0, sizeof(f->quota));
	if (rc == COORD_ENOTFOUND)
		return COORD_OK;
	if (rc != COORD_OK)
		return rc;
	if (len != QUOTA_BYTES)
		return COORD_ECORRUPT;
	f->quota.set = true;
	f->quota.alarm = (v[0] & QUOTA_ALARM) != 0;
	f->quota.quota_bytes = fsm_be64_get(v + 1);
	f->quota.coord_quota_bytes = fsm_be64_get(v + 9);
	f->quota.alarm_index = fsm_be64_get(v + 17);
	return COORD_OK;
}

/* The alarm clears by itself once the keyspace is at or under this. */
static uint64_t low_water(uint64_t quota)
{
	return quota / 100 * COORD_QUOTA_LOW_WATER_PCT +
	       quota % 100 * COORD_QUOTA_LOW_WATER_PCT / 100;
}

int fsm_quota_check(struct fsm *f, uint64_t index)
{
	struct fsm_quota *q = &f->quota_new;

	if (f->wrote_value && q->quota_bytes > 0 &&
	    (q->alarm || f->kv_bytes_new > q->quota_bytes)) {
		fsm_writes_discard(f);
		if (!q->alarm) {
			q->alarm = true;
			q->alarm_index = index;
		}
		return COORD_ENOSPACE;
	}
	/* Growth only: a command that frees or keeps coordination state
	 * (a release, a keepalive, a close) always goes through. */
	if (!f->internal && q->coord_quota_bytes > 0 &&
	    f->coord_bytes_new > f->coord_bytes &&
	    f->coord_bytes_new > q->coord_quota_bytes) {
		fsm_writes_discard(f);
		return COORD_ECOORDSPACE;
	}
	return COORD_OK;
}

int fsm_quota_settle(struct fsm *f)
{
	struct fsm_quota *q = &f->quota_new;
	uint8_t *v;

	if (q->alarm && (q->quota_bytes == 0 ||
			 f->kv_bytes_new <= low_water(q->quota_bytes))) {
		q->alarm = false;
		q->alarm_index = 0;
	}
	if (memcmp(q, &f->quota, sizeof(*q)) == 0 || !q->set)
		return COORD_OK;
	v = proto_arena_alloc(&f->arena, QUOTA_BYTES);
	if (v == NULL)
		return COORD_ENOMEM;
	v[0] = q->alarm ? QUOTA_ALARM : 0;
	fsm_be64_put(v + 1, q->quota_bytes);
	fsm_be64_put(v + 9, q->coord_quota_bytes);
	fsm_be64_put(v + 17, q->alarm_index);
	return fsm_rec_set(f, quota_key, 1, v, QUOTA_BYTES);
}

int fsm_cmd_quota_set(struct fsm *f, const struct proto_quota_set *qs)
{
	f->quota_new.set = true;
	f->quota_new.quota_bytes = qs->quota_bytes;
	f->quota_new.coord_quota_bytes = qs->coord_quota_bytes;
	return COORD_OK;
}

int fsm_cmd_alarm_disarm(struct fsm *f)
{
	f->quota_new.alarm = false;
	f->quota_new.alarm_index = 0;
	return COORD_OK;
}

void fsm_quota(const struct fsm *f, struct fsm_quota_info *out)
{
	memset(out, 0, sizeof(*out));
	out->set = f->quota.set;
	out->alarm = f->quota.alarm;
	out->alarm_index = f->quota.alarm_index;
	out->quota_bytes = f->quota.quota_bytes;
	out->coord_quota_bytes = f->quota.coord_quota_bytes;
	out->kv_bytes = f->kv_bytes;
	out->coord_bytes = f->coord_bytes;
}

int fsm_bytes_scan(struct fsm *f, uint64_t *kv_bytes, uint64_t *coord_bytes)
{
	const struct fsm_backend_ops *ops = f->b->ops;
	struct fsm_backend_iter *it = NULL;
	uint64_t sum[3] = { 0, 0, 0 };
	int rc;

	rc = ops->iter_new(f->b, NULL, &it);
	if (rc != COORD_OK)
		return rc;
	for (ops->iter_seek(it, NULL, 0); ops->iter_valid(it);
	     ops->iter_next(it)) {
		size_t k_len, v_len;
		const uint8_t *k = ops->iter_key(it, &k_len);

		(void)ops->iter_value(it, &v_len);
		sum[fsm_bytes_kind(k, k_len)] += (uint64_t)k_len + v_len;
	}
	rc = ops->iter_status(it);
	ops->iter_free(it);
	if (rc == COORD_OK) {
		*kv_bytes = sum[1];
		*coord_bytes = sum[2];
	}
	return rc;
}
