/*
 * tests/unit/fsm_test.c: helpers of the proto/ and fsm unit tests (see
 * fsm_test.h).
 */
#include "tests/unit/fsm_test.h"

#include <stdlib.h>
#include <string.h>

/*
 * The fault backend.
 */

struct ft_fault {
	struct fsm_backend base;
	struct fsm_backend *inner;
	const struct coord_allocator *alloc;
	size_t calls;
	size_t fail_at;
	int err;
};

struct ft_fault_snap {
	struct fsm_backend_snap base;
	struct fsm_backend_snap *inner;
};

struct ft_fault_iter {
	struct fsm_backend_iter base;
	struct fsm_backend_iter *inner;
	int failed;
};

static struct ft_fault *ft_fault_of(struct fsm_backend *b)
{
	return (struct ft_fault *)b;
}

static bool ft_fault_hit(struct ft_fault *t)
{
	t->calls++;
	return t->fail_at != 0 && t->calls == t->fail_at;
}

static int ft_fault_get(struct fsm_backend *b, const uint8_t *key,
			size_t key_len, const uint8_t **value, size_t *value_len)
{
	struct ft_fault *t = ft_fault_of(b);

	if (ft_fault_hit(t))
		return t->err;
	return t->inner->ops->get(t->inner, key, key_len, value, value_len);
}

static int ft_fault_write(struct fsm_backend *b,
			  const struct fsm_backend_write *w, size_t n)
{
	struct ft_fault *t = ft_fault_of(b);

	if (ft_fault_hit(t))
		return t->err;
	return t->inner->ops->write(t->inner, w, n);
}

static int ft_fault_snap_new(struct fsm_backend *b,
			     struct fsm_backend_snap **out)
{
	struct ft_fault *t = ft_fault_of(b);
	struct ft_fault_snap *s;
	int rc;

	if (ft_fault_hit(t))
		return t->err;
	s = coord_malloc(t->alloc, sizeof(*s));
	if (s == NULL)
		return COORD_ENOMEM;
	rc = t->inner->ops->snap_new(t->inner, &s->inner);
	if (rc != COORD_OK) {
		coord_free(t->alloc, s);
		return rc;
	}
	s->base.backend = b;
	*out = &s->base;
	return COORD_OK;
}

static void ft_fault_snap_free(struct fsm_backend_snap *snap)
{
	struct ft_fault_snap *s = (struct ft_fault_snap *)snap;
	struct ft_fault *t;

	if (snap == NULL)
		return;
	t = ft_fault_of(snap->backend);
	t->inner->ops->snap_free(s->inner);
	coord_free(t->alloc, s);
}

static int ft_fault_iter_new(struct fsm_backend *b, struct fsm_backend_snap *snap,
			     struct fsm_backend_iter **out)
{
	struct ft_fault *t = ft_fault_of(b);
	struct ft_fault_iter *it;
	int rc;

	if (ft_fault_hit(t))
		return t->err;
	it = coord_malloc(t->alloc, sizeof(*it));
	if (it == NULL)
		return COORD_ENOMEM;
	rc = t->inner->ops->iter_new(
		t->inner, snap ? ((struct ft_fault_snap *)snap)->inner : NULL,
		&it->inner);
	if (rc != COORD_OK) {
		coord_free(t->alloc, it);
		return rc;
	}
	it->base.backend = b;
	it->failed = COORD_OK;
	*out = &it->base;
	return COORD_OK;
}

static void ft_fault_iter_free(struct fsm_backend_iter *iter)
{
	struct ft_fault_iter *it = (struct ft_fault_iter *)iter;
	struct ft_fault *t = ft_fault_of(iter->backend);

	t->inner->ops->iter_free(it->inner);
	coord_free(t->alloc, it);
}

static void ft_fault_iter_seek(struct fsm_backend_iter *iter,
			       const uint8_t *key, size_t key_len)
{
	struct ft_fault_iter *it = (struct ft_fault_iter *)iter;
	struct ft_fault *t = ft_fault_of(iter->backend);

	if (it->failed == COORD_OK && ft_fault_hit(t))
		it->failed = t->err;
	t->inner->ops->iter_seek(it->inner, key, key_len);
}

static bool ft_fault_iter_valid(const struct fsm_backend_iter *iter)
{
	const struct ft_fault_iter *it = (const struct ft_fault_iter *)iter;
	struct ft_fault *t = ft_fault_of(iter->backend);

	return it->failed == COORD_OK && t->inner->ops->iter_valid(it->inner);
}

static void ft_fault_iter_next(struct fsm_backend_iter *iter)
{
	struct ft_fault_iter *it = (struct ft_fault_iter *)iter;
	struct ft_fault *t = ft_fault_of(iter->backend);

	ft_require(it->failed == COORD_OK, "next on a failed iterator");
	if (ft_fault_hit(t))
		it->failed = t->err;
	t->inner->ops->iter_next(it->inner);
}

static const uint8_t *ft_fault_iter_key(const struct fsm_backend_iter *iter,
					size_t *len)
{
	const struct ft_fault_iter *it = (const struct ft_fault_iter *)iter;

	ft_require(it->failed == COORD_OK, "read of a failed iterator");
	return ft_fault_of(iter->backend)->inner->ops->iter_key(it->inner, len);
}

static const uint8_t *ft_fault_iter_value(const struct fsm_backend_iter *iter,
					  size_t *len)
{
	const struct ft_fault_iter *it = (const struct ft_fault_iter *)iter;

	ft_require(it->failed == COORD_OK, "read of a failed iterator");
	return ft_fault_of(iter->backend)->inner->ops->iter_value(it->inner,
								  len);
}

static int ft_fault_iter_status(const struct fsm_backend_iter *iter)
{
	const struct ft_fault_iter *it = (const struct ft_fault_iter *)iter;

	return it->failed;
}

static const struct fsm_backend_ops ft_fault_ops = {
	.get = ft_fault_get,
	.write = ft_fault_write,
	.snap_new = ft_fault_snap_new,
	.snap_free = ft_fault_snap_free,
	.iter_new = ft_fault_iter_new,
	.iter_free = ft_fault_iter_free,
	.iter_seek = ft_fault_iter_seek,
	.iter_valid = ft_fault_iter_valid,
	.iter_next = ft_fault_iter_next,
	.iter_key = ft_fault_iter_key,
	.iter_value = ft_fault_iter_value,
	.iter_status = ft_fault_iter_status,
};

int ft_fault_new(struct fsm_backend *inner, const struct coord_allocator *alloc,
		 struct ft_fault **out)
{
	struct ft_fault *t = coord_malloc(alloc, sizeof(*t));

	if (t == NULL)
		return COORD_ENOMEM;
	memset(t, 0, sizeof(*t));
	t->base.ops = &ft_fault_ops;
	t->inner = inner;
	t->alloc = alloc;
	t->err = COORD_EIO;
	*out = t;
	return COORD_OK;
}

void ft_fault_free(struct ft_fault *t)
{
	if (t != NULL)
		coord_free(t->alloc, t);
}

struct fsm_backend *ft_fault_backend(struct ft_fault *t)
{
	return &t->base;
}

void ft_fault_arm(struct ft_fault *t, size_t fail_at, int err)
{
	t->calls = 0;
	t->fail_at = fail_at;
	t->err = err;
}

size_t ft_fault_calls(const struct ft_fault *t)
{
	return t->calls;
}

/*
 * Builders.
 */

struct proto_bytes ft_s(const char *s)
{
	return s == NULL ? proto_bytes_make(NULL, 0)
			 : proto_bytes_make(s, strlen(s));
}

struct proto_cmd ft_put_b(struct proto_bytes key, struct proto_bytes value,
			  uint64_t lease, bool prev_kv)
{
	struct proto_cmd c;

	memset(&c, 0, sizeof(c));
	c.type = PROTO_CMD_PUT;
	c.u.put.key = key;
	c.u.put.value = value;
	c.u.put.lease = lease;
	c.u.put.prev_kv = prev_kv;
	return c;
}

struct proto_cmd ft_put(const char *key, const char *value, uint64_t lease)
{
	return ft_put_b(ft_s(key), ft_s(value), lease, false);
}

struct proto_cmd ft_del(const char *key, const char *end, uint32_t flags,
			bool prev_kv)
{
	struct proto_cmd c;

	memset(&c, 0, sizeof(c));
	c.type = PROTO_CMD_DELETE;
	c.u.del.key = ft_s(key);
	c.u.del.end = ft_s(end);
	c.u.del.flags = flags;
	c.u.del.prev_kv = prev_kv;
	return c;
}

struct proto_range ft_range(const char *key, const char *end, uint32_t flags)
{
	struct proto_range r;

	memset(&r, 0, sizeof(r));
	r.key = ft_s(key);
	r.end = ft_s(end);
	r.flags = flags;
	return r;
}

struct proto_cmd ft_compact(uint64_t rev)
{
	struct proto_cmd c;

	memset(&c, 0, sizeof(c));
	c.type = PROTO_CMD_COMPACT;
	c.u.compact.revision = rev;
	return c;
}

struct proto_cmd ft_lease_end(uint64_t lease)
{
	struct proto_cmd c;

	memset(&c, 0, sizeof(c));
	c.type = PROTO_CMD_LEASE_END;
	c.u.lease_end.lease = lease;
	return c;
}

/*
 * The fixture.
 */

static bool ft_any_lease(void *ctx, uint64_t lease)
{
	(void)ctx;
	(void)lease;
	return true;
}

void ft_config_default(struct fsm_config *cfg)
{
	fsm_config_default(cfg);
	cfg->lease_exists = ft_any_lease;
}

void ft_fsm_open(struct ft_fsm *t, const struct fsm_config *cfg)
{
	memset(t, 0, sizeof(*t));
	ft_alloc_init(&t->alloc);
	if (cfg != NULL)
		t->cfg = *cfg;
	else
		ft_config_default(&t->cfg);
	t->cfg.alloc = &t->alloc.a;
	ck_assert_int_eq(fsm_backend_mem_new(&t->alloc.a, &t->backend),
			 COORD_OK);
	ck_assert_int_eq(fsm_new(&t->cfg, t->backend, &t->f), COORD_OK);
}

void ft_fsm_close(struct ft_fsm *t)
{
	fsm_free(t->f);
	fsm_backend_mem_free(t->backend);
	ck_assert_uint_eq(t->alloc.live, 0);
}

const struct proto_reply *ft_apply(struct ft_fsm *t, struct proto_cmd cmd)
{
	ft_code_eq(fsm_apply(t->f, ++t->index, &cmd,
			     FSM_EVENTS | FSM_EVENTS_PREV_KV, &t->res),
		   COORD_OK);
	ck_assert_uint_eq(fsm_applied_index(t->f), t->index);
	/* A fenced write answers as its write. */
	ck_assert_uint_eq(t->res.reply.type,
			  cmd.type == PROTO_CMD_FENCED ? cmd.u.fenced.cmd->type
						       : cmd.type);
	ck_assert_uint_eq(t->res.reply.revision, fsm_revision(t->f));
	return &t->res.reply;
}

const struct proto_reply *ft_apply_ok(struct ft_fsm *t, struct proto_cmd cmd)
{
	const struct proto_reply *r = ft_apply(t, cmd);

	ft_code_eq(r->code, COORD_OK);
	return r;
}

const struct proto_reply *ft_apply_err(struct ft_fsm *t, struct proto_cmd cmd,
				       int code)
{
	uint64_t rev = fsm_revision(t->f), hash = ft_hash(t);
	const struct proto_reply *r = ft_apply(t, cmd);

	ft_code_eq(r->code, code);
	/* Rejected: nothing changed but the applied index. */
	ck_assert_uint_eq(fsm_revision(t->f), rev);
	ck_assert_uint_eq(ft_hash(t), hash);
	ck_assert_uint_eq(t->res.n_events, 0);
	return r;
}

const struct proto_range_reply *ft_get(struct ft_fsm *t, struct proto_range r)
{
	static struct proto_reply reply;

	ft_code_eq(fsm_range(t->f, &r, &reply), COORD_OK);
	ft_code_eq(reply.code, COORD_OK);
	ck_assert_uint_eq(reply.type, PROTO_CMD_RANGE);
	return &reply.u.range;
}

const struct proto_kv *ft_kv(struct ft_fsm *t, const char *key)
{
	const struct proto_range_reply *r = ft_get(t, ft_range(key, NULL, 0));

	ck_assert_uint_le(r->n_kvs, 1);
	ck_assert_uint_eq(r->count, r->n_kvs);
	return r->n_kvs == 1 ? &r->kvs[0] : NULL;
}

void ft_bytes_check(struct ft_fsm *t)
{
	struct fsm_quota_info q;
	uint64_t kv = 0, coord = 0;

	/* quota13: so are the quotas' byte counts. */
	fsm_quota(t->f, &q);
	ft_code_eq(fsm_bytes_scan(t->f, &kv, &coord), COORD_OK);
	ck_assert_uint_eq(q.kv_bytes, kv);
	ck_assert_uint_eq(q.coord_bytes, coord);
}

uint64_t ft_hash(struct ft_fsm *t)
{
	uint64_t h = 0, scan = 0;

	ft_code_eq(fsm_hash(t->f, &h), COORD_OK);
	/* The incremental hash is always the one of the records there. */
	ft_code_eq(fsm_hash_scan(t->f, &scan), COORD_OK);
	ck_assert_uint_eq(h, scan);
	ft_bytes_check(t);
	return h;
}

void ft_kv_check(const struct proto_kv *kv, const char *key, const char *value,
		 uint64_t create, uint64_t mod, uint64_t version, uint64_t lease)
{
	ck_assert_ptr_nonnull(kv);
	ck_assert_msg(proto_bytes_eq(kv->key, ft_s(key)), "key %.*s, want %s",
		      (int)kv->key.len, (const char *)kv->key.data, key);
	ck_assert_msg(proto_bytes_eq(kv->value, ft_s(value)),
		      "value %.*s, want %s", (int)kv->value.len,
		      (const char *)kv->value.data, value);
	ck_assert_uint_eq(kv->create_revision, create);
	ck_assert_uint_eq(kv->mod_revision, mod);
	ck_assert_uint_eq(kv->version, version);
	ck_assert_uint_eq(kv->lease, lease);
}

uint8_t *ft_backend_dump(struct fsm_backend *b, size_t *len)
{
	struct fsm_backend_iter *it;
	uint8_t *out = NULL;
	size_t n = 0;

	ck_assert_int_eq(b->ops->iter_new(b, NULL, &it), COORD_OK);
	for (b->ops->iter_seek(it, NULL, 0); b->ops->iter_valid(it);
	     b->ops->iter_next(it)) {
		size_t kl, vl;
		const uint8_t *k = b->ops->iter_key(it, &kl);
		const uint8_t *v = b->ops->iter_value(it, &vl);

		out = realloc(out, n + 16 + kl + vl);
		ck_assert_ptr_nonnull(out);
		memcpy(out + n, &kl, 8);
		memcpy(out + n + 8, k, kl);
		memcpy(out + n + 8 + kl, &vl, 8);
		if (vl > 0)
			memcpy(out + n + 16 + kl, v, vl);
		n += 16 + kl + vl;
	}
	ck_assert_int_eq(b->ops->iter_status(it), COORD_OK);
	b->ops->iter_free(it);
	*len = n;
	return out;
}

void ft_backend_copy(struct fsm_backend *from, struct fsm_backend *to)
{
	const struct fsm_backend_ops *ops = from->ops;
	struct fsm_backend_iter *it;

	ft_code_eq(ops->iter_new(from, NULL, &it), COORD_OK);
	for (ops->iter_seek(it, NULL, 0); ops->iter_valid(it);
	     ops->iter_next(it)) {
		struct fsm_backend_write w = { .type = FSM_BACKEND_PUT };

		w.key = ops->iter_key(it, &w.key_len);
		w.value = ops->iter_value(it, &w.value_len);
		ft_code_eq(to->ops->write(to, &w, 1), COORD_OK);
	}
	ft_code_eq(ops->iter_status(it), COORD_OK);
	ops->iter_free(it);
}
