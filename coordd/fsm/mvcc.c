/*
 * coordd/fsm/mvcc.c: the keyspace commands -- put, delete, range, txn,
 * compaction, lease end -- over the record layout of backend.h.
 *
 * Every command checks everything that can make it fail before its first
 * write, so that a command error leaves the overlay empty; after that only
 * local failures (allocator, backend) can stop it, and the caller drops the
 * overlay.
 */
#include <string.h>

#include "coordd/fsm/fsm_int.h"
#include "proto/assert.h"
#include "proto/errors.h"
#include "proto/limits.h"

/*
 * Key selection.
 */

/* Validates (key, end, flags) as a selection; allowed: the flag bits a
 * command may carry. */
static int check_select(const struct fsm *f, struct proto_bytes key,
			struct proto_bytes end, uint32_t flags, uint32_t allowed)
{
	bool open = (flags & (PROTO_RANGE_PREFIX | PROTO_RANGE_FROM)) != 0;

	if ((flags & ~allowed) != 0)
		return COORD_EINVAL;
	if ((flags & PROTO_RANGE_PREFIX) && (flags & PROTO_RANGE_FROM))
		return COORD_EINVAL;
	if (open && end.len > 0)
		return COORD_EINVAL;
	if (!open && end.len == 0 && key.len == 0)
		return COORD_EINVAL;
	if (key.len > f->cfg.key_bytes_max || end.len > f->cfg.key_bytes_max)
		return COORD_EKEYTOOBIG;
	return COORD_OK;
}

int fsm_bounds_make(struct fsm *f, struct proto_bytes key,
		    struct proto_bytes end, uint32_t flags, struct fsm_bounds *b)
{
	b->start = key;
	b->end_inf = false;
	if (flags & PROTO_RANGE_FROM) {
		b->end_inf = true;
	} else if (flags & PROTO_RANGE_PREFIX) {
		/* The first key after every key with this prefix: drop
		 * trailing 0xff bytes, increment the last; none left: no end. */
		size_t n = key.len;
		uint8_t *e;

		while (n > 0 && key.data[n - 1] == 0xff)
			n--;
		if (n == 0) {
			b->end_inf = true;
			return COORD_OK;
		}
		e = proto_arena_dup(&f->arena, key.data, n);
		if (e == NULL)
			return COORD_ENOMEM;
		e[n - 1]++;
		b->end = proto_bytes_make(e, n);
	} else if (end.len == 0) {
		/* key alone: [key, key 0x00). */
		uint8_t *e = proto_arena_alloc(&f->arena, key.len + 1);

		if (e == NULL)
			return COORD_ENOMEM;
		memcpy(e, key.data, key.len);
		e[key.len] = 0x00;
		b->end = proto_bytes_make(e, key.len + 1);
	} else {
		b->end = end;
	}
	return COORD_OK;
}

bool fsm_bounds_contains(const struct fsm_bounds *b, const uint8_t *key,
			 size_t key_len)
{
	struct proto_bytes k = proto_bytes_make(key, key_len);

	if (proto_bytes_cmp(k, b->start) < 0)
		return false;
	return b->end_inf || proto_bytes_cmp(k, b->end) < 0;
}

/*
 * Reads.
 */

int fsm_mvcc_find(struct fsm *f, struct fsm_view_iter *it,
		  const uint8_t *key, size_t key_len, uint64_t rev,
		  bool *found, uint64_t *rec_rev, struct fsm_krec *rec)
{
	struct fsm_kbuf *k = &f->find_key;
	const uint8_t *rk, *rv;
	size_t group_len, rk_len, rv_len;
	int rc;

	*found = false;
	if (rev == 0)
		return COORD_OK;
	rc = fsm_kkey_build(f, k, key, key_len, true);
	if (rc != COORD_OK)
		return rc;
	group_len = k->len;
	rc = fsm_kbuf_append_u64(f, k, ~rev);
	if (rc != COORD_OK)
		return rc;
	fsm_view_seek(it, k->data, k->len);
	if (!fsm_view_valid(it))
		return fsm_view_status(it);
	rk = fsm_view_key(it, &rk_len);
	if (rk_len < group_len || memcmp(rk, k->data, group_len) != 0)
		return COORD_OK;        /* the key has no version <= rev */
	if (rk_len != group_len + 8)
		return COORD_ECORRUPT;
	*rec_rev = ~fsm_be64_get(rk + group_len);
	if (*rec_rev == 0 || *rec_rev > rev)
		return COORD_ECORRUPT;
	rv = fsm_view_value(it, &rv_len);
	rc = fsm_krec_parse(rv, rv_len, rec);
	if (rc != COORD_OK)
		return rc;
	/* Leave the record's own key in find_key, for callers deleting it. */
	memcpy(k->data + group_len, rk + group_len, 8);
	*found = true;
	return COORD_OK;
}

/* The live version of key at rev, kv fields pointing into the iterator
 * (key: the caller's). */
static int mvcc_get(struct fsm *f, struct fsm_view_iter *it,
		    struct proto_bytes key, uint64_t rev, bool *live,
		    struct proto_kv *kv)
{
	struct fsm_krec rec;
	uint64_t rec_rev;
	bool found;
	int rc;

	rc = fsm_mvcc_find(f, it, key.data, key.len, rev, &found, &rec_rev,
			   &rec);
	*live = rc == COORD_OK && found && !rec.tombstone;
	if (!*live)
		return rc;
	kv->key = key;
	kv->value = proto_bytes_make(rec.value, rec.value_len);
	kv->create_revision = rec.create_revision;
	kv->mod_revision = rec_rev;
	kv->version = rec.version;
	kv->lease = rec.lease;
	return COORD_OK;
}

int fsm_kv_copy(struct fsm *f, struct proto_kv *dst, const struct proto_kv *src,
		bool with_value)
{
	struct proto_kv kv = *src;

	kv.key.data = proto_arena_dup(&f->arena, src->key.data, src->key.len);
	if (kv.key.data == NULL)
		return COORD_ENOMEM;
	if (!with_value) {
		kv.value = proto_bytes_make(NULL, 0);
	} else {
		kv.value.data = proto_arena_dup(&f->arena, src->value.data,
						src->value.len);
		if (kv.value.data == NULL)
			return COORD_ENOMEM;
	}
	*dst = kv;
	return COORD_OK;
}

typedef int (*scan_cb)(struct fsm *f, void *ctx, const struct proto_kv *kv);

/*
 * Calls cb for every key in b live at rev, in key order, with kv pointing
 * into scratch memory valid during the call only. cb returns COORD_OK to go
 * on, anything else to stop with that code.
 */
static int mvcc_scan(struct fsm *f, const struct fsm_bounds *b, uint64_t rev,
		     scan_cb cb, void *ctx)
{
	struct fsm_kbuf *seek = &f->scan_seek, *ukey = &f->scan_ukey,
			*group = &f->scan_group;
	struct fsm_view_iter it;
	int rc;

	rc = fsm_view_open(f, &it);
	if (rc != COORD_OK)
		goto out;
	rc = fsm_kkey_build(f, seek, b->start.data, b->start.len, false);
	if (rc != COORD_OK)
		goto out;
	fsm_view_seek(&it, seek->data, seek->len);
	while (fsm_view_valid(&it)) {
		const uint8_t *k, *v;
		size_t k_len, v_len, group_len;
		uint64_t rec_rev;
		struct fsm_krec rec;
		struct proto_kv kv;

		k = fsm_view_key(&it, &k_len);
		if (k[0] != FSM_KIND_KEY)
			break;
		rc = fsm_kkey_parse(f, k, k_len, ukey, &group_len, &rec_rev);
		if (rc != COORD_OK)
			goto out;
		if (!b->end_inf &&
		    proto_bytes_cmp(proto_bytes_make(ukey->data, ukey->len),
				    b->end) >= 0)
			break;
		rc = fsm_kbuf_set(f, group, k, group_len);
		if (rc != COORD_OK)
			goto out;
		if (rec_rev > rev) {
			/* Newer than rev: seek to this key's version at rev. */
			rc = fsm_kbuf_append_u64(f, group, ~rev);
			if (rc != COORD_OK)
				goto out;
			fsm_view_seek(&it, group->data, group->len);
			group->len = group_len;
			if (!fsm_view_valid(&it))
				break;
			k = fsm_view_key(&it, &k_len);
			if (k_len < group_len ||
			    memcmp(k, group->data, group_len) != 0)
				continue;   /* none: at the next key already */
			if (k_len != group_len + 8)
				goto corrupt;
			rec_rev = ~fsm_be64_get(k + group_len);
			if (rec_rev == 0 || rec_rev > rev)
				goto corrupt;
		}
		v = fsm_view_value(&it, &v_len);
		rc = fsm_krec_parse(v, v_len, &rec);
		if (rc != COORD_OK)
			goto out;
		if (!rec.tombstone) {
			kv.key = proto_bytes_make(ukey->data, ukey->len);
			kv.value = proto_bytes_make(rec.value, rec.value_len);
			kv.create_revision = rec.create_revision;
			kv.mod_revision = rec_rev;
			kv.version = rec.version;
			kv.lease = rec.lease;
			rc = cb(f, ctx, &kv);
			if (rc != COORD_OK)
				goto out;
		}
		/* Past every version of this key: 0x00 0x01 -> 0x00 0x02. */
		group->data[group_len - 1] = 0x02;
		fsm_view_seek(&it, group->data, group_len);
	}
	rc = fsm_view_status(&it);
	goto out;
corrupt:
	rc = COORD_ECORRUPT;
out:
	fsm_view_close(&it);
	return rc;
}

/*
 * Range.
 */

int fsm_check_range(const struct fsm *f, const struct proto_range *r)
{
	if (r->sort_order > PROTO_SORT_ORDER_LAST ||
	    r->sort_target > PROTO_SORT_TARGET_LAST)
		return COORD_EINVAL;
	return check_select(f, r->key, r->end, r->flags, PROTO_RANGE_FLAGS_ALL);
}

int fsm_check_range_rev(const struct fsm *f, uint64_t rev)
{
	if (rev == 0)
		return COORD_OK;
	if (rev > f->revision)
		return COORD_EFUTUREREV;
	if (rev < f->compact_revision)
		return COORD_ECOMPACTED;
	return COORD_OK;
}

int fsm_reply_charge(struct fsm *f, const struct proto_kv *kv,
		     bool with_value)
{
	size_t n = COORD_APPLY_REPLY_KV_OVERHEAD + kv->key.len +
		   (with_value ? kv->value.len : 0);

	if (n > f->reply_bytes_left) {
		f->reply_bytes_left = 0;
		return COORD_EREPLYTOOBIG;
	}
	f->reply_bytes_left -= n;
	return COORD_OK;
}

struct range_ctx {
	const struct proto_range *req;
	bool collect_all;           /* sorting: keep every kv, limit later */
	bool with_value;
	struct proto_kv *kvs;
	size_t n;
	size_t cap;
	uint64_t count;
};

static int range_cb(struct fsm *f, void *ctx, const struct proto_kv *kv)
{
	struct range_ctx *c = ctx;
	int rc;

	c->count++;
	if (c->req->flags & PROTO_RANGE_COUNT_ONLY)
		return COORD_OK;
	if (!c->collect_all && c->req->limit > 0 && c->n >= c->req->limit)
		return COORD_OK;
	/* Counted before it is held: what is collected, sorted or not. */
	rc = fsm_reply_charge(f, kv, c->with_value);
	if (rc != COORD_OK)
		return rc;
	if (c->n == c->cap) {
		size_t cap = c->cap == 0 ? 16 : c->cap * 2;
		struct proto_kv *kvs;

		kvs = proto_arena_grow(&f->arena, c->kvs, c->n, cap,
				       sizeof(*kvs));
		if (kvs == NULL)
			return COORD_ENOMEM;
		c->kvs = kvs;
		c->cap = cap;
	}
	rc = fsm_kv_copy(f, &c->kvs[c->n], kv, c->with_value);
	if (rc != COORD_OK)
		return rc;
	c->n++;
	return COORD_OK;
}

static int sort_cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b ? 1 : 0;
}

/* Sort order of a range: by target in order, ties by key ascending. */
static int range_kv_cmp(const struct proto_range *r, uint8_t order,
			const struct proto_kv *a, const struct proto_kv *b)
{
	int c = 0;

	switch (r->sort_target) {
	case PROTO_SORT_KEY:
		c = proto_bytes_cmp(a->key, b->key);
		break;
	case PROTO_SORT_VERSION:
		c = sort_cmp_u64(a->version, b->version);
		break;
	case PROTO_SORT_CREATE:
		c = sort_cmp_u64(a->create_revision, b->create_revision);
		break;
	case PROTO_SORT_MOD:
		c = sort_cmp_u64(a->mod_revision, b->mod_revision);
		break;
	case PROTO_SORT_VALUE:
		c = proto_bytes_cmp(a->value, b->value);
		break;
	}
	if (order == PROTO_SORT_DESCEND)
		c = -c;
	return c != 0 ? c : proto_bytes_cmp(a->key, b->key);
}

/* A merge sort: deterministic, and qsort() cannot take the order along. */
static void range_sort(const struct proto_range *r, uint8_t order,
		       struct proto_kv *kvs, struct proto_kv *tmp, size_t n)
{
	size_t mid = n / 2, i = 0, j = mid, o = 0;

	if (n < 2)
		return;
	range_sort(r, order, kvs, tmp, mid);
	range_sort(r, order, kvs + mid, tmp, n - mid);
	while (i < mid && j < n) {
		if (range_kv_cmp(r, order, &kvs[j], &kvs[i]) < 0)
			tmp[o++] = kvs[j++];
		else
			tmp[o++] = kvs[i++];
	}
	while (i < mid)
		tmp[o++] = kvs[i++];
	while (j < n)
		tmp[o++] = kvs[j++];
	memcpy(kvs, tmp, n * sizeof(*kvs));
}

int fsm_do_range(struct fsm *f, const struct proto_range *r, uint64_t rev,
		 struct proto_range_reply *out)
{
	struct range_ctx c = { .req = r };
	struct fsm_bounds b;
	uint8_t order = r->sort_order;
	bool keys_only = (r->flags & PROTO_RANGE_KEYS_ONLY) != 0;
	int rc;

	memset(out, 0, sizeof(*out));
	/* As etcd: a target other than the key alone means ascending. */
	if (order == PROTO_SORT_NONE && r->sort_target != PROTO_SORT_KEY)
		order = PROTO_SORT_ASCEND;
	c.collect_all = !(order == PROTO_SORT_NONE ||
			  (order == PROTO_SORT_ASCEND &&
			   r->sort_target == PROTO_SORT_KEY));
	c.with_value = !keys_only || (c.collect_all &&
				      r->sort_target == PROTO_SORT_VALUE);
	rc = fsm_bounds_make(f, r->key, r->end, r->flags, &b);
	if (rc != COORD_OK)
		return rc;
	rc = mvcc_scan(f, &b, rev, range_cb, &c);
	if (rc != COORD_OK)
		return rc;
	if (c.collect_all && c.n > 1) {
		struct proto_kv *tmp;

		tmp = proto_arena_alloc(&f->arena, c.n * sizeof(*tmp));
		if (tmp == NULL)
			return COORD_ENOMEM;
		range_sort(r, order, c.kvs, tmp, c.n);
	}
	if (r->limit > 0 && c.n > r->limit)
		c.n = (size_t)r->limit;
	if (keys_only) {
		for (size_t i = 0; i < c.n; i++)
			c.kvs[i].value = proto_bytes_make(NULL, 0);
	}
	out->kvs = c.kvs;
	out->n_kvs = c.n;
	out->count = c.count;
	out->more = !(r->flags & PROTO_RANGE_COUNT_ONLY) && r->limit > 0 &&
		    c.count > r->limit;
	return COORD_OK;
}

/*
 * Writes.
 */

/* Writes a version of key at the new revision (its 'k' and 'r' records). */
static int write_version(struct fsm *f, struct proto_bytes key,
			 const struct fsm_krec *rec)
{
	struct fsm_kbuf *k = &f->write_key;
	uint8_t rkey[1 + 8 + 4];
	uint8_t *v;
	size_t v_len;
	int rc;

	COORD_ASSERT(f->sub < UINT32_MAX);
	rc = fsm_kkey_build(f, k, key.data, key.len, true);
	if (rc != COORD_OK)
		return rc;
	rc = fsm_kbuf_append_u64(f, k, ~f->rev_new);
	if (rc != COORD_OK)
		return rc;
	v = fsm_krec_build(f, rec, &v_len);
	if (v == NULL)
		return COORD_ENOMEM;
	rc = fsm_ov_put(f, k->data, k->len, v, v_len);
	if (rc != COORD_OK)
		return rc;
	rkey[0] = FSM_KIND_REV;
	fsm_be64_put(rkey + 1, f->rev_new);
	fsm_be32_put(rkey + 9, rec->sub);
	rc = fsm_ov_put(f, rkey, sizeof(rkey), key.data, key.len);
	if (rc != COORD_OK)
		return rc;
	f->sub++;
	return COORD_OK;
}

/* Adds (present) or removes the 'l' record of key under lease. */
static int write_lease_index(struct fsm *f, uint64_t lease,
			     struct proto_bytes key, bool present)
{
	struct fsm_kbuf *k = &f->write_key;
	uint8_t kind = FSM_KIND_LEASE;
	int rc;

	k->len = 0;
	rc = fsm_kbuf_append(f, k, &kind, 1);
	if (rc == COORD_OK)
		rc = fsm_kbuf_append_u64(f, k, lease);
	if (rc == COORD_OK)
		rc = fsm_kbuf_append(f, k, key.data, key.len);
	if (rc != COORD_OK)
		return rc;
	return present ? fsm_ov_put(f, k->data, k->len, NULL, 0)
		       : fsm_ov_del(f, k->data, k->len, NULL, 0);
}

bool fsm_key_reserved(struct proto_bytes key)
{
	static const char prefix[] = COORD_RESERVED_KEY_PREFIX;

	return key.len >= sizeof(prefix) - 1 &&
	       memcmp(key.data, prefix, sizeof(prefix) - 1) == 0;
}

static int check_put(const struct fsm *f, const struct proto_put *p)
{
	if (p->key.len == 0)
		return COORD_EINVAL;
	if (p->key.len > f->cfg.key_bytes_max)
		return COORD_EKEYTOOBIG;
	if (fsm_key_reserved(p->key))
		return COORD_EKEYRESERVED;
	if (p->value.len > f->cfg.value_bytes_max)
		return COORD_EVALUETOOBIG;
	return COORD_OK;
}

/* A put may attach only a lease that exists: by default one of the
 * fsm's own (granted, or a session's, and not ended). */
static int check_put_lease(struct fsm *f, const struct proto_put *p)
{
	struct fsm_lease_rec l;
	bool found;
	int rc;

	if (p->lease == 0)
		return COORD_OK;
	if (f->cfg.lease_exists != NULL)
		return f->cfg.lease_exists(f->cfg.lease_ctx, p->lease)
			       ? COORD_OK
			       : COORD_ELEASE;
	rc = fsm_lease_read(f, p->lease, &found, &l);
	if (rc != COORD_OK)
		return rc;
	return found ? COORD_OK : COORD_ELEASE;
}

/* A delete of one reserved key is refused; a range over reserved keys
 * leaves them alone (do_delete()). */
static int check_delete(const struct fsm *f, const struct proto_delete *d)
{
	int rc = check_select(f, d->key, d->end, d->flags,
			      PROTO_DELETE_FLAGS_ALL);

	if (rc == COORD_OK && d->flags == 0 && d->end.len == 0 &&
	    fsm_key_reserved(d->key))
		rc = COORD_EKEYRESERVED;
	return rc;
}

/* The put itself, checks done. */
static int do_put(struct fsm *f, struct fsm_view_iter *it,
		  const struct proto_put *p, struct proto_put_reply *out)
{
	struct proto_kv old, kv;
	struct fsm_krec rec;
	bool live;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = mvcc_get(f, it, p->key, f->rev_new, &live, &old);
	if (rc != COORD_OK)
		return rc;
	if (live) {
		/* Copy: the iterator's memory goes with the next seek. */
		rc = fsm_kv_copy(f, &old, &old, true);
		if (rc != COORD_OK)
			return rc;
	}
	rec.tombstone = false;
	rec.create_revision = live ? old.create_revision : f->rev_new;
	rec.version = live ? old.version + 1 : 1;
	rec.lease = p->lease;
	rec.sub = f->sub;
	rec.value = p->value.data;
	rec.value_len = p->value.len;
	rc = write_version(f, p->key, &rec);
	if (rc != COORD_OK)
		return rc;
	if (live && old.lease != 0 && old.lease != p->lease) {
		rc = write_lease_index(f, old.lease, p->key, false);
		if (rc != COORD_OK)
			return rc;
	}
	if (p->lease != 0 && !(live && old.lease == p->lease)) {
		rc = write_lease_index(f, p->lease, p->key, true);
		if (rc != COORD_OK)
			return rc;
	}
	kv.key = p->key;
	kv.value = p->value;
	kv.create_revision = rec.create_revision;
	kv.mod_revision = f->rev_new;
	kv.version = rec.version;
	kv.lease = p->lease;
	rc = fsm_event_add(f, PROTO_EVENT_PUT, &kv, live ? &old : NULL);
	if (rc != COORD_OK)
		return rc;
	if (p->prev_kv && live) {
		rc = fsm_reply_charge(f, &old, true);
		if (rc != COORD_OK)
			return rc;
		out->has_prev_kv = true;
		out->prev_kv = old;
	}
	return COORD_OK;
}

int fsm_cmd_put(struct fsm *f, const struct proto_put *p,
		struct proto_put_reply *out)
{
	struct fsm_view_iter it;
	int rc;

	rc = check_put(f, p);
	if (rc == COORD_OK)
		rc = check_put_lease(f, p);
	if (rc != COORD_OK)
		return rc;
	rc = fsm_view_open(f, &it);
	if (rc == COORD_OK)
		rc = do_put(f, &it, p, out);
	fsm_view_close(&it);
	return rc;
}

/*
 * The fsm's own keys (the reserved key space): read and written by
 * other commands of the fsm (elections), never by a client's write.
 */

int fsm_key_get(struct fsm *f, struct proto_bytes key, bool *live,
		struct proto_kv *kv)
{
	struct fsm_view_iter it;
	int rc = fsm_view_open(f, &it);

	*live = false;
	if (rc == COORD_OK)
		rc = mvcc_get(f, &it, key, UINT64_MAX, live, kv);
	if (rc == COORD_OK && *live)
		rc = fsm_kv_copy(f, kv, kv, true);
	fsm_view_close(&it);
	return rc;
}

int fsm_key_put_internal(struct fsm *f, struct proto_bytes key,
			 struct proto_bytes value)
{
	struct proto_put p = { .key = key, .value = value };
	struct proto_put_reply out;
	struct fsm_view_iter it;
	int rc = fsm_view_open(f, &it);

	if (rc == COORD_OK)
		rc = do_put(f, &it, &p, &out);
	fsm_view_close(&it);
	return rc;
}

static int do_delete_keys(struct fsm *f, const struct proto_delete *d,
			  struct proto_delete_reply *out, bool internal);

int fsm_key_delete_internal(struct fsm *f, struct proto_bytes key)
{
	struct proto_delete d = { .key = key };
	struct proto_delete_reply out;

	return do_delete_keys(f, &d, &out, true);
}

struct collect_ctx {
	bool skip_reserved;         /* leave reserved keys out */
	bool with_value;
	bool in_reply;              /* prev_kv: counts against the reply */
	struct proto_kv *kvs;
	size_t n;
	size_t cap;
};

static int collect_cb(struct fsm *f, void *ctx, const struct proto_kv *kv)
{
	struct collect_ctx *c = ctx;

	if (c->skip_reserved && fsm_key_reserved(kv->key))
		return COORD_OK;
	if (c->in_reply) {
		int rc = fsm_reply_charge(f, kv, true);

		if (rc != COORD_OK)
			return rc;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap == 0 ? 16 : c->cap * 2;
		struct proto_kv *kvs;

		kvs = proto_arena_grow(&f->arena, c->kvs, c->n, cap,
				       sizeof(*kvs));
		if (kvs == NULL)
			return COORD_ENOMEM;
		c->kvs = kvs;
		c->cap = cap;
	}
	if (fsm_kv_copy(f, &c->kvs[c->n], kv, c->with_value) != COORD_OK)
		return COORD_ENOMEM;
	c->n++;
	return COORD_OK;
}

/* Deletes the live versions in kvs (tombstones at the new revision). */
static int delete_kvs(struct fsm *f, const struct proto_kv *kvs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct fsm_krec rec = { .tombstone = true, .sub = f->sub };
		struct proto_kv kv = { .key = kvs[i].key,
				       .mod_revision = f->rev_new };
		int rc;

		rc = write_version(f, kvs[i].key, &rec);
		if (rc == COORD_OK && kvs[i].lease != 0)
			rc = write_lease_index(f, kvs[i].lease, kvs[i].key,
					       false);
		if (rc == COORD_OK)
			rc = fsm_event_add(f, PROTO_EVENT_DELETE, &kv, &kvs[i]);
		if (rc != COORD_OK)
			return rc;
	}
	return COORD_OK;
}

/* The delete itself, checks done; a client's delete skips reserved
 * keys, the fsm's own (internal) does not. */
static int do_delete_keys(struct fsm *f, const struct proto_delete *d,
			  struct proto_delete_reply *out, bool internal)
{
	struct collect_ctx c = { 0 };
	struct fsm_bounds b;
	int rc;

	memset(out, 0, sizeof(*out));
	c.skip_reserved = !internal;
	c.with_value = d->prev_kv || (f->flags & FSM_EVENTS_PREV_KV);
	c.in_reply = d->prev_kv;
	rc = fsm_bounds_make(f, d->key, d->end, d->flags, &b);
	if (rc == COORD_OK)
		rc = mvcc_scan(f, &b, f->rev_new, collect_cb, &c);
	if (rc == COORD_OK)
		rc = delete_kvs(f, c.kvs, c.n);
	if (rc != COORD_OK)
		return rc;
	out->deleted = c.n;
	if (d->prev_kv) {
		out->prev_kvs = c.kvs;
		out->n_prev_kvs = c.n;
	}
	return COORD_OK;
}

static int do_delete(struct fsm *f, const struct proto_delete *d,
		     struct proto_delete_reply *out)
{
	return do_delete_keys(f, d, out, false);
}

int fsm_cmd_delete(struct fsm *f, const struct proto_delete *d,
		   struct proto_delete_reply *out)
{
	int rc = check_delete(f, d);

	if (rc != COORD_OK)
		return rc;
	return do_delete(f, d, out);
}

/*
 * Txn.
 */

static int check_op(const struct fsm *f, const struct proto_op *op)
{
	switch (op->type) {
	case PROTO_CMD_PUT:
		return check_put(f, &op->u.put);
	case PROTO_CMD_DELETE:
		return check_delete(f, &op->u.del);
	case PROTO_CMD_RANGE:
		return fsm_check_range(f, &op->u.range);
	}
	return COORD_EINVAL;
}

static int check_compare(const struct fsm *f, const struct proto_compare *c)
{
	if (c->target > PROTO_CMP_TARGET_LAST ||
	    c->result > PROTO_CMP_RESULT_LAST || c->key.len == 0)
		return COORD_EINVAL;
	if (c->key.len > f->cfg.key_bytes_max)
		return COORD_EKEYTOOBIG;
	if (c->value.len > f->cfg.value_bytes_max)
		return COORD_EVALUETOOBIG;
	return COORD_OK;
}

/* COORD_EDUPKEY when the branch writes a key twice: two puts of it, or a
 * put of a key that one of its deletes selects. Deletes may overlap.
 * O(n^2) in the branch's ops, which txn_ops_max bounds. */
static int check_branch_dups(struct fsm *f, const struct proto_op *ops,
			     size_t n)
{
	struct fsm_bounds *dels;
	size_t n_dels = 0;

	if (n == 0)
		return COORD_OK;
	dels = proto_arena_alloc(&f->arena, n * sizeof(*dels));
	if (dels == NULL)
		return COORD_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct proto_delete *d = &ops[i].u.del;
		int rc;

		if (ops[i].type != PROTO_CMD_DELETE)
			continue;
		rc = fsm_bounds_make(f, d->key, d->end, d->flags,
				     &dels[n_dels++]);
		if (rc != COORD_OK)
			return rc;
	}
	for (size_t i = 0; i < n; i++) {
		const struct proto_put *p = &ops[i].u.put;

		if (ops[i].type != PROTO_CMD_PUT)
			continue;
		for (size_t j = i + 1; j < n; j++) {
			if (ops[j].type == PROTO_CMD_PUT &&
			    proto_bytes_eq(ops[j].u.put.key, p->key))
				return COORD_EDUPKEY;
		}
		for (size_t j = 0; j < n_dels; j++) {
			if (fsm_bounds_contains(&dels[j], p->key.data,
						p->key.len))
				return COORD_EDUPKEY;
		}
	}
	return COORD_OK;
}

static int check_txn(struct fsm *f, const struct proto_txn *t)
{
	int rc;

	if (t->n_compares > f->cfg.txn_ops_max ||
	    t->n_success > f->cfg.txn_ops_max ||
	    t->n_failure > f->cfg.txn_ops_max)
		return COORD_ETXNTOOBIG;
	for (size_t i = 0; i < t->n_compares; i++) {
		rc = check_compare(f, &t->compares[i]);
		if (rc != COORD_OK)
			return rc;
	}
	for (size_t i = 0; i < t->n_success; i++) {
		rc = check_op(f, &t->success[i]);
		if (rc != COORD_OK)
			return rc;
	}
	for (size_t i = 0; i < t->n_failure; i++) {
		rc = check_op(f, &t->failure[i]);
		if (rc != COORD_OK)
			return rc;
	}
	rc = check_branch_dups(f, t->success, t->n_success);
	if (rc != COORD_OK)
		return rc;
	return check_branch_dups(f, t->failure, t->n_failure);
}

/* The checks that depend on state, for the branch that will run. */
static int check_branch_state(struct fsm *f, const struct proto_op *ops,
			      size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int rc = COORD_OK;

		if (ops[i].type == PROTO_CMD_PUT)
			rc = check_put_lease(f, &ops[i].u.put);
		else if (ops[i].type == PROTO_CMD_RANGE)
			rc = fsm_check_range_rev(f, ops[i].u.range.revision);
		if (rc != COORD_OK)
			return rc;
	}
	return COORD_OK;
}

static bool compare_holds(const struct proto_compare *c, bool live,
			  const struct proto_kv *kv)
{
	uint64_t n = 0;
	int r;

	if (c->target == PROTO_CMP_VALUE) {
		if (!live)
			return false;
		r = proto_bytes_cmp(kv->value, c->value);
	} else {
		if (live) {
			switch (c->target) {
			case PROTO_CMP_VERSION:
				n = kv->version;
				break;
			case PROTO_CMP_CREATE:
				n = kv->create_revision;
				break;
			case PROTO_CMP_MOD:
				n = kv->mod_revision;
				break;
			default:
				n = kv->lease;
				break;
			}
		}
		r = sort_cmp_u64(n, c->number);
	}
	switch (c->result) {
	case PROTO_CMP_EQUAL:
		return r == 0;
	case PROTO_CMP_NOT_EQUAL:
		return r != 0;
	case PROTO_CMP_LESS:
		return r < 0;
	}
	return r > 0;
}

int fsm_cmd_txn(struct fsm *f, const struct proto_txn *t,
		struct proto_txn_reply *out)
{
	struct proto_op_reply *replies = NULL;
	const struct proto_op *ops;
	struct fsm_view_iter it;
	bool ok = true;
	size_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = check_txn(f, t);
	if (rc != COORD_OK)
		return rc;
	rc = fsm_view_open(f, &it);
	for (size_t i = 0; rc == COORD_OK && ok && i < t->n_compares; i++) {
		const struct proto_compare *c = &t->compares[i];
		struct proto_kv kv;
		bool live;

		rc = mvcc_get(f, &it, c->key, f->revision, &live, &kv);
		ok = rc == COORD_OK && compare_holds(c, live, &kv);
	}
	if (rc != COORD_OK)
		goto out;
	ops = ok ? t->success : t->failure;
	n = ok ? t->n_success : t->n_failure;
	rc = check_branch_state(f, ops, n);
	if (rc != COORD_OK)
		goto out;
	if (n > 0) {
		replies = proto_arena_alloc(&f->arena, n * sizeof(*replies));
		if (replies == NULL) {
			rc = COORD_ENOMEM;
			goto out;
		}
		memset(replies, 0, n * sizeof(*replies));
	}
	for (size_t i = 0; rc == COORD_OK && i < n; i++) {
		const struct proto_op *op = &ops[i];

		replies[i].type = op->type;
		switch (op->type) {
		case PROTO_CMD_PUT:
			rc = do_put(f, &it, &op->u.put, &replies[i].u.put);
			break;
		case PROTO_CMD_DELETE:
			rc = do_delete(f, &op->u.del, &replies[i].u.del);
			break;
		default:
			/* Revision 0 inside a txn: its own writes so far. */
			rc = fsm_do_range(f, &op->u.range,
					  op->u.range.revision != 0
						  ? op->u.range.revision
						  : f->rev_new,
					  &replies[i].u.range);
			break;
		}
	}
	if (rc == COORD_OK) {
		out->succeeded = ok;
		out->replies = replies;
		out->n_replies = n;
	}
out:
	fsm_view_close(&it);
	return rc;
}

/*
 * Compaction.
 */

struct rev_entry {
	uint64_t rev;
	uint32_t sub;
	struct proto_bytes key;
};

/* The 'r' records in [from, below), copied. */
static int collect_revs(struct fsm *f, uint64_t from, uint64_t below,
			struct rev_entry **out, size_t *n_out)
{
	struct rev_entry *v = NULL;
	struct fsm_view_iter it;
	uint8_t seek[1 + 8];
	size_t n = 0, cap = 0;
	int rc;

	rc = fsm_view_open(f, &it);
	if (rc != COORD_OK)
		goto out;
	seek[0] = FSM_KIND_REV;
	fsm_be64_put(seek + 1, from);
	for (fsm_view_seek(&it, seek, sizeof(seek)); fsm_view_valid(&it);
	     fsm_view_next(&it)) {
		const uint8_t *k, *val;
		size_t k_len, val_len;
		uint64_t rev;

		k = fsm_view_key(&it, &k_len);
		if (k[0] != FSM_KIND_REV)
			break;
		if (k_len != 1 + 8 + 4) {
			rc = COORD_ECORRUPT;
			goto out;
		}
		rev = fsm_be64_get(k + 1);
		if (rev >= below)
			break;
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			v = proto_arena_grow(&f->arena, v, n, cap, sizeof(*v));
			if (v == NULL) {
				rc = COORD_ENOMEM;
				goto out;
			}
		}
		val = fsm_view_value(&it, &val_len);
		v[n].rev = rev;
		v[n].sub = fsm_be32_get(k + 1 + 8);
		v[n].key.len = val_len;
		v[n].key.data = proto_arena_dup(&f->arena, val, val_len);
		if (v[n].key.data == NULL) {
			rc = COORD_ENOMEM;
			goto out;
		}
		n++;
	}
	rc = fsm_view_status(&it);
out:
	fsm_view_close(&it);
	*out = v;
	*n_out = n;
	return rc;
}

/* Deletes the 'k' record fsm_mvcc_find() just found (its key is in
 * find_key, it at the record). */
static int view_del(struct fsm *f, struct fsm_view_iter *it)
{
	size_t v_len;
	const uint8_t *v = fsm_view_value(it, &v_len);

	return fsm_ov_del(f, f->find_key.data, f->find_key.len, v, v_len);
}

/*
 * Compaction to rev deletes every version below rev that is a tombstone or
 * has a successor below rev, and the 'r' records below rev: what remains
 * answers every read at rev or later, and every event from rev on with its
 * previous version. Versions below the previous compact revision are
 * either gone or the newest live one of their key, whose successor (if
 * any) is a change at or above that revision: so walking the changes in
 * [compact_revision, rev) and deleting each one's predecessor (and each
 * tombstone) finds everything.
 */
int fsm_cmd_compact(struct fsm *f, uint64_t rev)
{
	struct rev_entry *revs;
	struct fsm_view_iter it;
	size_t n;
	int rc;

	if (rev <= f->compact_revision)
		return COORD_ECOMPACTED;
	if (rev > f->revision)
		return COORD_EFUTUREREV;
	rc = collect_revs(f, f->compact_revision, rev, &revs, &n);
	if (rc != COORD_OK)
		return rc;
	rc = fsm_view_open(f, &it);
	for (size_t i = 0; rc == COORD_OK && i < n; i++) {
		uint8_t rkey[1 + 8 + 4];
		struct fsm_krec rec;
		uint64_t rec_rev;
		bool found;

		/* This change's own version: must exist. */
		rc = fsm_mvcc_find(f, &it, revs[i].key.data, revs[i].key.len,
				   revs[i].rev, &found, &rec_rev, &rec);
		if (rc != COORD_OK)
			break;
		if (!found || rec_rev != revs[i].rev || rec.sub != revs[i].sub) {
			rc = COORD_ECORRUPT;
			break;
		}
		if (rec.tombstone)
			rc = view_del(f, &it);
		if (rc != COORD_OK)
			break;
		/* Its predecessor, superseded below rev. */
		rc = fsm_mvcc_find(f, &it, revs[i].key.data, revs[i].key.len,
				   revs[i].rev - 1, &found, &rec_rev, &rec);
		if (rc == COORD_OK && found)
			rc = view_del(f, &it);
		if (rc != COORD_OK)
			break;
		/* The change itself leaves history. */
		rkey[0] = FSM_KIND_REV;
		fsm_be64_put(rkey + 1, revs[i].rev);
		fsm_be32_put(rkey + 9, revs[i].sub);
		rc = fsm_ov_del(f, rkey, sizeof(rkey), revs[i].key.data,
				revs[i].key.len);
	}
	fsm_view_close(&it);
	if (rc != COORD_OK)
		return rc;
	/* The meta record carries it (fsm.c). */
	f->compact_new = rev;
	return COORD_OK;
}

/*
 * Lease end.
 */

int fsm_cmd_lease_end(struct fsm *f, uint64_t lease,
		      struct proto_lease_end_reply *out)
{
	struct proto_kv *kvs = NULL;
	struct fsm_view_iter it;
	uint8_t prefix[1 + 8];
	size_t n = 0, cap = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (lease == 0)
		return COORD_EINVAL;
	rc = fsm_view_open(f, &it);
	if (rc != COORD_OK)
		goto out;
	prefix[0] = FSM_KIND_LEASE;
	fsm_be64_put(prefix + 1, lease);
	/* Collect the attached keys first: writes would disturb the scan. */
	for (fsm_view_seek(&it, prefix, sizeof(prefix)); fsm_view_valid(&it);
	     fsm_view_next(&it)) {
		size_t k_len;
		const uint8_t *k = fsm_view_key(&it, &k_len);

		if (k_len < sizeof(prefix) ||
		    memcmp(k, prefix, sizeof(prefix)) != 0)
			break;
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			kvs = proto_arena_grow(&f->arena, kvs, n, cap,
					       sizeof(*kvs));
			if (kvs == NULL) {
				rc = COORD_ENOMEM;
				goto out;
			}
		}
		kvs[n].key.len = k_len - sizeof(prefix);
		kvs[n].key.data = proto_arena_dup(&f->arena, k + sizeof(prefix),
						  kvs[n].key.len);
		if (kvs[n].key.data == NULL) {
			rc = COORD_ENOMEM;
			goto out;
		}
		n++;
	}
	rc = fsm_view_status(&it);
	/* Each attached key must be live with this lease. */
	for (size_t i = 0; rc == COORD_OK && i < n; i++) {
		bool live;
		struct proto_kv kv;

		rc = mvcc_get(f, &it, kvs[i].key, f->revision, &live, &kv);
		if (rc == COORD_OK && (!live || kv.lease != lease || kv.key.len == 0))
			rc = COORD_ECORRUPT;
		if (rc == COORD_OK)
			rc = fsm_kv_copy(f, &kvs[i], &kv,
					 (f->flags & FSM_EVENTS_PREV_KV) != 0);
	}
	if (rc == COORD_OK)
		rc = delete_kvs(f, kvs, n);
	if (rc == COORD_OK)
		out->deleted = n;
out:
	fsm_view_close(&it);
	return rc;
}
