/*
 * tests/unit/test_proto.c: proto/ -- the error table, the arena and
 * buffer, and the msgpack codec: round trips of every message, and strict
 * rejection of malformed input (truncations, mutations, wrong types,
 * unknown ops, hostile lengths) without a crash or a large allocation.
 * Prints TAP; narrow with CK_RUN_SUITE=proto_codec CK_RUN_CASE=<name>.
 */
#include <limits.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "proto/arena.h"
#include "proto/buf.h"
#include "proto/errors.h"
#include "proto/limits.h"
#include "proto/msg.h"
#include "tests/unit/fsm_test.h"

/*
 * Errors.
 */

static const struct {
	int code;
	const char *name;
	const char *message;
} error_table[] = {
#define ERROR_ROW_(name, value, message) { (value), #name, (message) },
	COORD_ERRORS(ERROR_ROW_)
#undef ERROR_ROW_
};
#define N_ERRORS (sizeof(error_table) / sizeof(error_table[0]))

START_TEST(every_code_has_its_own_name_and_message)
{
	for (size_t i = 0; i < N_ERRORS; i++) {
		/* Values rise in table order from 0 (numbers reserved for
		 * parallel branches may leave a gap until they merge). */
		if (i == 0)
			ck_assert_int_eq(error_table[i].code, 0);
		else
			ck_assert_int_gt(error_table[i].code,
					 error_table[i - 1].code);
		ck_assert_str_eq(coord_strerror(error_table[i].code),
				 error_table[i].message);
		ck_assert_str_eq(coord_error_name(error_table[i].code),
				 error_table[i].name);
		for (size_t j = 0; j < i; j++) {
			ck_assert_str_ne(error_table[i].message,
					 error_table[j].message);
			ck_assert_str_ne(error_table[i].name,
					 error_table[j].name);
		}
	}
}
END_TEST

START_TEST(unknown_codes_are_named_as_unknown)
{
	ck_assert_str_eq(coord_strerror(-1), "unknown error");
	ck_assert_str_eq(coord_strerror(error_table[N_ERRORS - 1].code + 1),
			 "unknown error");
	ck_assert_str_eq(coord_error_name(INT_MAX), "COORD_E?");
}
END_TEST

START_TEST(wire_values_of_codes_never_change)
{
	/* These travel on the wire and sit in logs: append, never renumber. */
	ck_assert_int_eq(COORD_OK, 0);
	ck_assert_int_eq(COORD_EINVAL, 1);
	ck_assert_int_eq(COORD_ENOMEM, 2);
	ck_assert_int_eq(COORD_EIO, 3);
	ck_assert_int_eq(COORD_ECORRUPT, 4);
	ck_assert_int_eq(COORD_EMALFORMED, 5);
	ck_assert_int_eq(COORD_ENOTLEADER, 6);
	ck_assert_int_eq(COORD_EFENCED, 7);
	ck_assert_int_eq(COORD_EKEYTOOBIG, 8);
	ck_assert_int_eq(COORD_EVALUETOOBIG, 9);
	ck_assert_int_eq(COORD_ETXNTOOBIG, 10);
	ck_assert_int_eq(COORD_ECOMPACTED, 11);
	ck_assert_int_eq(COORD_EFUTUREREV, 12);
	ck_assert_int_eq(COORD_ENOTFOUND, 13);
	ck_assert_int_eq(COORD_ELEASE, 14);
	ck_assert_int_eq(COORD_EDUPKEY, 15);
}
END_TEST

/*
 * Arena and buffer.
 */

START_TEST(arena_allocations_are_aligned_and_disjoint)
{
	struct ft_alloc a;
	struct proto_arena ar;
	uint8_t *p[200];

	ft_alloc_init(&a);
	proto_arena_init(&ar, &a.a);
	for (size_t i = 0; i < 200; i++) {
		p[i] = proto_arena_alloc(&ar, i * 37 % 1000);
		ck_assert_ptr_nonnull(p[i]);
		ck_assert_uint_eq((uintptr_t)p[i] % alignof(max_align_t), 0);
		memset(p[i], (int)i, i * 37 % 1000);
	}
	for (size_t i = 0; i < 200; i++)
		for (size_t j = 0; j < i * 37 % 1000; j++)
			ck_assert_uint_eq(p[i][j], (uint8_t)i);
	proto_arena_close(&ar);
	ck_assert_uint_eq(a.live, 0);
}
END_TEST

START_TEST(arena_reset_keeps_one_chunk_and_frees_large_ones)
{
	struct ft_alloc a;
	struct proto_arena ar;

	ft_alloc_init(&a);
	proto_arena_init(&ar, &a.a);
	ck_assert_ptr_nonnull(proto_arena_alloc(&ar, 10));
	ck_assert_uint_eq(a.live, 1);
	ck_assert_ptr_nonnull(proto_arena_alloc(&ar, 1 << 20));  /* own chunk */
	ck_assert_uint_eq(a.live, 2);
	for (int i = 0; i < 100; i++)
		ck_assert_ptr_nonnull(proto_arena_alloc(&ar, 1000));
	ck_assert_uint_gt(a.live, 3);
	proto_arena_reset(&ar);
	ck_assert_uint_eq(a.live, 1);
	/* The kept chunk serves again without the allocator. */
	a.fail_at = a.calls + 1;
	a.fail_every = true;
	ck_assert_ptr_nonnull(proto_arena_alloc(&ar, 100));
	ck_assert_ptr_null(proto_arena_alloc(&ar, 1 << 20));
	ck_assert_ptr_null(proto_arena_alloc(&ar, SIZE_MAX));
	a.fail_at = 0;
	proto_arena_reset(&ar);
	proto_arena_close(&ar);
	proto_arena_reset(&ar);     /* on an empty arena: nothing */
	ck_assert_uint_eq(a.live, 0);
}
END_TEST

START_TEST(arena_grow_and_dup_copy)
{
	struct proto_arena ar;
	uint32_t *v = NULL;
	uint8_t *d;

	proto_arena_init(&ar, NULL);
	for (size_t n = 0; n < 100; n++) {
		v = proto_arena_grow(&ar, v, n, n + 1, sizeof(*v));
		ck_assert_ptr_nonnull(v);
		v[n] = (uint32_t)n;
	}
	for (uint32_t i = 0; i < 100; i++)
		ck_assert_uint_eq(v[i], i);
	ck_assert_ptr_null(proto_arena_grow(&ar, v, 100, SIZE_MAX / 4, 4));
	d = proto_arena_dup(&ar, "abc", 3);
	ck_assert_int_eq(memcmp(d, "abc", 3), 0);
	ck_assert_ptr_nonnull(proto_arena_dup(&ar, NULL, 0));
	proto_arena_close(&ar);
}
END_TEST

START_TEST(buf_grows_and_fails_cleanly)
{
	struct ft_alloc a;
	struct proto_buf b;
	uint8_t chunk[300];

	memset(chunk, 7, sizeof(chunk));
	ft_alloc_init(&a);
	proto_buf_init(&b, &a.a);
	for (int i = 0; i < 10; i++)
		ft_code_eq(proto_buf_append(&b, chunk, sizeof(chunk)), COORD_OK);
	ck_assert_uint_eq(b.len, 3000);
	ft_code_eq(proto_buf_append(&b, NULL, 0), COORD_OK);
	a.fail_at = a.calls + 1;
	ft_code_eq(proto_buf_append(&b, chunk, 2000), COORD_ENOMEM);
	ck_assert_uint_eq(b.len, 3000);
	ft_code_eq(proto_buf_reserve(&b, SIZE_MAX / 2), COORD_ENOMEM);
	proto_buf_clear(&b);
	ck_assert_uint_eq(b.len, 0);
	proto_buf_close(&b);
	ck_assert_uint_eq(a.live, 0);
}
END_TEST

START_TEST(bytes_compare_in_memcmp_order_with_prefixes_first)
{
	ck_assert_int_lt(proto_bytes_cmp(FT_B("a"), FT_B("ab")), 0);
	ck_assert_int_gt(proto_bytes_cmp(FT_B("b"), FT_B("ab")), 0);
	ck_assert_int_lt(proto_bytes_cmp(FT_B(""), FT_B("\x00")), 0);
	ck_assert_int_gt(proto_bytes_cmp(FT_B("\xff"), FT_B("\x01")), 0);
	ck_assert_int_eq(proto_bytes_cmp(proto_bytes_make(NULL, 0), FT_B("")), 0);
	ck_assert(proto_bytes_eq(FT_B("ab"), FT_B("ab")));
	ck_assert(!proto_bytes_eq(FT_B("ab"), FT_B("ac")));
	ck_assert(!proto_bytes_eq(FT_B("ab"), FT_B("a")));
}
END_TEST

/*
 * Sample messages.
 */

static const struct proto_compare sample_compares[] = {
	{ { (const uint8_t *)"k\0", 2 }, PROTO_CMP_VALUE, PROTO_CMP_LESS, 0,
	  { (const uint8_t *)"v", 1 } },
	{ { (const uint8_t *)"kk", 2 }, PROTO_CMP_LEASE, PROTO_CMP_GREATER,
	  UINT64_MAX, { NULL, 0 } },
};

static struct proto_op sample_op(int i)
{
	struct proto_op op;

	memset(&op, 0, sizeof(op));
	switch (i % 3) {
	case 0:
		op.type = PROTO_CMD_PUT;
		op.u.put.key = FT_B("\x00\xff");
		op.u.put.value = FT_B("value");
		op.u.put.lease = 300;
		op.u.put.prev_kv = true;
		break;
	case 1:
		op.type = PROTO_CMD_DELETE;
		op.u.del.key = FT_B("d");
		op.u.del.flags = PROTO_RANGE_PREFIX;
		break;
	default:
		op.type = PROTO_CMD_RANGE;
		op.u.range.key = FT_B("r");
		op.u.range.end = FT_B("s");
		op.u.range.flags = PROTO_RANGE_KEYS_ONLY | PROTO_RANGE_COUNT_ONLY;
		op.u.range.limit = 70000;
		op.u.range.revision = 1ull << 40;
		op.u.range.sort_order = PROTO_SORT_DESCEND;
		op.u.range.sort_target = PROTO_SORT_VALUE;
		break;
	}
	return op;
}

#define N_SAMPLE_CMDS 10

static struct proto_cmd sample_cmd(int i, struct proto_op *ops)
{
	struct proto_cmd c;

	memset(&c, 0, sizeof(c));
	switch (i) {
	case 0:
	case 1:
	case 2:
		ops[0] = sample_op(i);
		c.type = ops[0].type;
		/* The op union's members are the cmd union's first ones. */
		memcpy(&c.u, &ops[0].u, sizeof(ops[0].u));
		break;
	case 3:
		c.type = PROTO_CMD_TXN;
		for (int j = 0; j < 5; j++)
			ops[j] = sample_op(j);
		c.u.txn.compares = sample_compares;
		c.u.txn.n_compares = 2;
		c.u.txn.success = ops;
		c.u.txn.n_success = 3;
		c.u.txn.failure = ops + 3;
		c.u.txn.n_failure = 2;
		break;
	case 4:
		c.type = PROTO_CMD_TXN;         /* all lists empty */
		break;
	case 5:
		c.type = PROTO_CMD_COMPACT;
		c.u.compact.revision = 123456789;
		break;
	case 6:
		c.type = PROTO_CMD_LEASE_END;
		c.u.lease_end.lease = UINT64_MAX;
		break;
	case 7:
		c.type = PROTO_CMD_CLIENTS_EXPIRE;
		c.u.clients_expire.now_ms = 1ull << 50;
		c.u.clients_expire.idle_ms = 3600000;
		break;
	case 8:
		c.type = PROTO_CMD_REGISTER_CLIENT;
		c.u.register_client.horizon_ms = 300000;
		break;
	default:
		c.type = PROTO_CMD_PUT;         /* empty key and value */
		break;
	}
	return c;
}

static void bytes_check(struct proto_bytes a, struct proto_bytes b)
{
	ck_assert(proto_bytes_eq(a, b));
}

static void put_check(const struct proto_put *a, const struct proto_put *b)
{
	bytes_check(a->key, b->key);
	bytes_check(a->value, b->value);
	ck_assert_uint_eq(a->lease, b->lease);
	ck_assert_int_eq(a->prev_kv, b->prev_kv);
}

static void delete_check(const struct proto_delete *a,
			 const struct proto_delete *b)
{
	bytes_check(a->key, b->key);
	bytes_check(a->end, b->end);
	ck_assert_uint_eq(a->flags, b->flags);
	ck_assert_int_eq(a->prev_kv, b->prev_kv);
}

static void range_check(const struct proto_range *a, const struct proto_range *b)
{
	bytes_check(a->key, b->key);
	bytes_check(a->end, b->end);
	ck_assert_uint_eq(a->flags, b->flags);
	ck_assert_uint_eq(a->limit, b->limit);
	ck_assert_uint_eq(a->revision, b->revision);
	ck_assert_uint_eq(a->sort_order, b->sort_order);
	ck_assert_uint_eq(a->sort_target, b->sort_target);
}

static void op_check(uint8_t type, const void *a, const void *b)
{
	switch (type) {
	case PROTO_CMD_PUT:
		put_check(a, b);
		break;
	case PROTO_CMD_DELETE:
		delete_check(a, b);
		break;
	default:
		range_check(a, b);
	}
}

static void cmd_check(const struct proto_cmd *a, const struct proto_cmd *b)
{
	ck_assert_uint_eq(a->type, b->type);
	switch (a->type) {
	case PROTO_CMD_PUT:
	case PROTO_CMD_DELETE:
	case PROTO_CMD_RANGE:
		op_check(a->type, &a->u, &b->u);
		break;
	case PROTO_CMD_TXN:
		ck_assert_uint_eq(a->u.txn.n_compares, b->u.txn.n_compares);
		ck_assert_uint_eq(a->u.txn.n_success, b->u.txn.n_success);
		ck_assert_uint_eq(a->u.txn.n_failure, b->u.txn.n_failure);
		for (size_t i = 0; i < a->u.txn.n_compares; i++) {
			const struct proto_compare *x = &a->u.txn.compares[i];
			const struct proto_compare *y = &b->u.txn.compares[i];

			bytes_check(x->key, y->key);
			bytes_check(x->value, y->value);
			ck_assert_uint_eq(x->target, y->target);
			ck_assert_uint_eq(x->result, y->result);
			ck_assert_uint_eq(x->number, y->number);
		}
		for (size_t i = 0; i < a->u.txn.n_success; i++) {
			ck_assert_uint_eq(a->u.txn.success[i].type,
					  b->u.txn.success[i].type);
			op_check(a->u.txn.success[i].type,
				 &a->u.txn.success[i].u, &b->u.txn.success[i].u);
		}
		for (size_t i = 0; i < a->u.txn.n_failure; i++) {
			ck_assert_uint_eq(a->u.txn.failure[i].type,
					  b->u.txn.failure[i].type);
			op_check(a->u.txn.failure[i].type,
				 &a->u.txn.failure[i].u, &b->u.txn.failure[i].u);
		}
		break;
	case PROTO_CMD_COMPACT:
		ck_assert_uint_eq(a->u.compact.revision, b->u.compact.revision);
		break;
	case PROTO_CMD_CLIENTS_EXPIRE:
		ck_assert_uint_eq(a->u.clients_expire.now_ms,
				  b->u.clients_expire.now_ms);
		ck_assert_uint_eq(a->u.clients_expire.idle_ms,
				  b->u.clients_expire.idle_ms);
		break;
	case PROTO_CMD_REGISTER_CLIENT:
		ck_assert_uint_eq(a->u.register_client.horizon_ms,
				  b->u.register_client.horizon_ms);
		break;
	default:
		ck_assert_uint_eq(a->u.lease_end.lease, b->u.lease_end.lease);
	}
}

static const struct proto_kv sample_kvs[] = {
	{ { (const uint8_t *)"a", 1 }, { (const uint8_t *)"1", 1 }, 1, 2, 3, 4 },
	{ { (const uint8_t *)"\0\0", 2 }, { NULL, 0 }, UINT64_MAX, 0, 1, 0 },
};

#define N_SAMPLE_REPLIES 11

static struct proto_reply sample_reply(int i, struct proto_op_reply *ops)
{
	struct proto_reply r;

	memset(&r, 0, sizeof(r));
	r.revision = 77;
	r.compact_revision = 5;
	switch (i) {
	case 0:
		r.type = PROTO_CMD_PUT;
		r.u.put.has_prev_kv = true;
		r.u.put.prev_kv = sample_kvs[0];
		break;
	case 1:
		r.type = PROTO_CMD_PUT;
		break;
	case 2:
		r.type = PROTO_CMD_DELETE;
		r.u.del.deleted = 9;
		r.u.del.prev_kvs = sample_kvs;
		r.u.del.n_prev_kvs = 2;
		break;
	case 3:
		r.type = PROTO_CMD_RANGE;
		r.u.range.kvs = sample_kvs;
		r.u.range.n_kvs = 2;
		r.u.range.count = 1000;
		r.u.range.more = true;
		break;
	case 4:
		r.type = PROTO_CMD_TXN;
		r.u.txn.succeeded = true;
		ops[0].type = PROTO_CMD_PUT;
		ops[0].u.put.has_prev_kv = true;
		ops[0].u.put.prev_kv = sample_kvs[1];
		ops[1].type = PROTO_CMD_DELETE;
		ops[1].u.del.deleted = 1;
		ops[2].type = PROTO_CMD_RANGE;
		ops[2].u.range.kvs = sample_kvs;
		ops[2].u.range.n_kvs = 1;
		ops[2].u.range.count = 1;
		r.u.txn.replies = ops;
		r.u.txn.n_replies = 3;
		break;
	case 5:
		r.type = PROTO_CMD_COMPACT;
		break;
	case 6:
		r.type = PROTO_CMD_LEASE_END;
		r.u.lease_end.deleted = 3;
		break;
	case 7:
		r.type = PROTO_CMD_TXN;
		r.code = COORD_ETXNTOOBIG;
		break;
	case 8:
		r.type = PROTO_CMD_CLIENTS_EXPIRE;
		r.u.clients_expire.expired = 65536;
		break;
	case 9:
		r.type = PROTO_CMD_REGISTER_CLIENT;
		r.u.register_client.client_id = 1ull << 40;
		break;
	default:
		r.type = PROTO_CMD_RANGE;
		r.code = COORD_ECOMPACTED;
		break;
	}
	return r;
}

static void kv_check(const struct proto_kv *a, const struct proto_kv *b)
{
	bytes_check(a->key, b->key);
	bytes_check(a->value, b->value);
	ck_assert_uint_eq(a->create_revision, b->create_revision);
	ck_assert_uint_eq(a->mod_revision, b->mod_revision);
	ck_assert_uint_eq(a->version, b->version);
	ck_assert_uint_eq(a->lease, b->lease);
}

static void kvs_check(const struct proto_kv *a, size_t na,
		      const struct proto_kv *b, size_t nb)
{
	ck_assert_uint_eq(na, nb);
	for (size_t i = 0; i < na; i++)
		kv_check(&a[i], &b[i]);
}

static void op_reply_check(uint8_t type, const struct proto_put_reply *pa,
			   const struct proto_delete_reply *da,
			   const struct proto_range_reply *ra,
			   const struct proto_put_reply *pb,
			   const struct proto_delete_reply *db,
			   const struct proto_range_reply *rb)
{
	switch (type) {
	case PROTO_CMD_PUT:
		ck_assert_int_eq(pa->has_prev_kv, pb->has_prev_kv);
		if (pa->has_prev_kv)
			kv_check(&pa->prev_kv, &pb->prev_kv);
		break;
	case PROTO_CMD_DELETE:
		ck_assert_uint_eq(da->deleted, db->deleted);
		kvs_check(da->prev_kvs, da->n_prev_kvs, db->prev_kvs,
			  db->n_prev_kvs);
		break;
	default:
		kvs_check(ra->kvs, ra->n_kvs, rb->kvs, rb->n_kvs);
		ck_assert_uint_eq(ra->count, rb->count);
		ck_assert_int_eq(ra->more, rb->more);
	}
}

static void reply_check(const struct proto_reply *a, const struct proto_reply *b)
{
	ck_assert_uint_eq(a->type, b->type);
	ck_assert_int_eq(a->code, b->code);
	ck_assert_uint_eq(a->revision, b->revision);
	ck_assert_uint_eq(a->compact_revision, b->compact_revision);
	switch (a->type) {
	case PROTO_CMD_TXN:
		ck_assert_int_eq(a->u.txn.succeeded, b->u.txn.succeeded);
		ck_assert_uint_eq(a->u.txn.n_replies, b->u.txn.n_replies);
		for (size_t i = 0; i < a->u.txn.n_replies; i++) {
			const struct proto_op_reply *x = &a->u.txn.replies[i];
			const struct proto_op_reply *y = &b->u.txn.replies[i];

			ck_assert_uint_eq(x->type, y->type);
			op_reply_check(x->type, &x->u.put, &x->u.del,
				       &x->u.range, &y->u.put, &y->u.del,
				       &y->u.range);
		}
		break;
	case PROTO_CMD_LEASE_END:
		ck_assert_uint_eq(a->u.lease_end.deleted, b->u.lease_end.deleted);
		break;
	case PROTO_CMD_CLIENTS_EXPIRE:
		ck_assert_uint_eq(a->u.clients_expire.expired,
				  b->u.clients_expire.expired);
		break;
	case PROTO_CMD_REGISTER_CLIENT:
		ck_assert_uint_eq(a->u.register_client.client_id,
				  b->u.register_client.client_id);
		break;
	case PROTO_CMD_COMPACT:
		break;
	default:
		op_reply_check(a->type, &a->u.put, &a->u.del, &a->u.range,
			       &b->u.put, &b->u.del, &b->u.range);
	}
}

static const struct proto_event sample_events[] = {
	{ PROTO_EVENT_PUT,
	  { { (const uint8_t *)"k", 1 }, { (const uint8_t *)"v", 1 }, 3, 3, 1, 0 },
	  false,
	  { { NULL, 0 }, { NULL, 0 }, 0, 0, 0, 0 } },
	{ PROTO_EVENT_DELETE,
	  { { (const uint8_t *)"k", 1 }, { NULL, 0 }, 0, 4, 0, 0 },
	  true,
	  { { (const uint8_t *)"k", 1 }, { (const uint8_t *)"v", 1 }, 3, 3, 1, 9 } },
};

/* Entries: a client's txn, an internal expire. */
#define N_SAMPLE_ENTRIES 2

static struct proto_entry sample_entry(int i, struct proto_op *ops)
{
	struct proto_entry e;

	memset(&e, 0, sizeof(e));
	if (i == 0) {
		e.client_id = UINT64_MAX;
		e.sequence = 1ull << 33;
		e.ack = (1ull << 33) - 7;
		e.now_ms = 1234567;
		e.cmd = sample_cmd(3, ops);
	} else {
		e.cmd = sample_cmd(7, ops);
	}
	return e;
}

/* Encodes sample i of kind (0 cmd, 1 reply, 2 events, 3 entry) into out. */
#define N_SAMPLES (N_SAMPLE_CMDS + N_SAMPLE_REPLIES + 1 + N_SAMPLE_ENTRIES)
#define FIRST_SAMPLE_ENTRY (N_SAMPLE_CMDS + N_SAMPLE_REPLIES + 1)

static int sample_kind(int i)
{
	return i < N_SAMPLE_CMDS ? 0
	       : i < N_SAMPLE_CMDS + N_SAMPLE_REPLIES ? 1
	       : i < FIRST_SAMPLE_ENTRY ? 2
				       : 3;
}

static void sample_encode(int i, struct proto_buf *out)
{
	struct proto_op ops[5];
	struct proto_op_reply oreps[3];
	struct proto_cmd c;
	struct proto_reply r;
	struct proto_entry e;

	memset(oreps, 0, sizeof(oreps));
	proto_buf_clear(out);
	switch (sample_kind(i)) {
	case 0:
		c = sample_cmd(i, ops);
		ft_code_eq(proto_cmd_encode(&c, out), COORD_OK);
		break;
	case 1:
		r = sample_reply(i - N_SAMPLE_CMDS, oreps);
		ft_code_eq(proto_reply_encode(&r, out), COORD_OK);
		break;
	case 3:
		e = sample_entry(i - FIRST_SAMPLE_ENTRY, ops);
		ft_code_eq(proto_entry_encode(&e, out), COORD_OK);
		break;
	default:
		ft_code_eq(proto_events_encode(sample_events, 2, out), COORD_OK);
	}
}

/* Decodes data as sample i's kind; the decoder's code. */
static int sample_decode(int i, const uint8_t *data, size_t len,
			 struct proto_arena *ar, struct proto_buf *reencoded)
{
	struct proto_cmd c;
	struct proto_reply r;
	struct proto_entry e;
	const struct proto_event *ev;
	size_t n;
	int rc;

	switch (sample_kind(i)) {
	case 0:
		rc = proto_cmd_decode(data, len, ar, &c);
		if (rc == COORD_OK && reencoded != NULL)
			ft_code_eq(proto_cmd_encode(&c, reencoded), COORD_OK);
		return rc;
	case 3:
		rc = proto_entry_decode(data, len, ar, &e);
		if (rc == COORD_OK && reencoded != NULL)
			ft_code_eq(proto_entry_encode(&e, reencoded), COORD_OK);
		return rc;
	case 1:
		rc = proto_reply_decode(data, len, ar, &r);
		if (rc == COORD_OK && reencoded != NULL)
			ft_code_eq(proto_reply_encode(&r, reencoded), COORD_OK);
		return rc;
	default:
		rc = proto_events_decode(data, len, ar, &ev, &n);
		if (rc == COORD_OK && reencoded != NULL)
			ft_code_eq(proto_events_encode(ev, n, reencoded),
				   COORD_OK);
		return rc;
	}
}

START_TEST(every_command_round_trips)
{
	struct proto_op ops[5];
	struct proto_buf b, b2;
	struct proto_arena ar;

	proto_buf_init(&b, NULL);
	proto_buf_init(&b2, NULL);
	proto_arena_init(&ar, NULL);
	for (int i = 0; i < N_SAMPLE_CMDS; i++) {
		struct proto_cmd c = sample_cmd(i, ops), d;

		proto_buf_clear(&b);
		proto_buf_clear(&b2);
		ft_code_eq(proto_cmd_encode(&c, &b), COORD_OK);
		ft_code_eq(proto_cmd_decode(b.data, b.len, &ar, &d), COORD_OK);
		cmd_check(&c, &d);
		ft_code_eq(proto_cmd_encode(&d, &b2), COORD_OK);
		ck_assert_uint_eq(b.len, b2.len);
		ck_assert_int_eq(memcmp(b.data, b2.data, b.len), 0);
	}
	proto_arena_close(&ar);
	proto_buf_close(&b);
	proto_buf_close(&b2);
}
END_TEST

START_TEST(every_reply_round_trips)
{
	struct proto_op_reply oreps[3];
	struct proto_buf b;
	struct proto_arena ar;

	memset(oreps, 0, sizeof(oreps));
	proto_buf_init(&b, NULL);
	proto_arena_init(&ar, NULL);
	for (int i = 0; i < N_SAMPLE_REPLIES; i++) {
		struct proto_reply r = sample_reply(i, oreps), d;

		proto_buf_clear(&b);
		ft_code_eq(proto_reply_encode(&r, &b), COORD_OK);
		ft_code_eq(proto_reply_decode(b.data, b.len, &ar, &d), COORD_OK);
		reply_check(&r, &d);
	}
	proto_arena_close(&ar);
	proto_buf_close(&b);
}
END_TEST

START_TEST(events_round_trip)
{
	struct proto_buf b;
	struct proto_arena ar;
	const struct proto_event *ev;
	size_t n;

	proto_buf_init(&b, NULL);
	proto_arena_init(&ar, NULL);
	ft_code_eq(proto_events_encode(sample_events, 2, &b), COORD_OK);
	ft_code_eq(proto_events_decode(b.data, b.len, &ar, &ev, &n), COORD_OK);
	ck_assert_uint_eq(n, 2);
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_eq(ev[i].type, sample_events[i].type);
		kv_check(&ev[i].kv, &sample_events[i].kv);
		ck_assert_int_eq(ev[i].has_prev_kv, sample_events[i].has_prev_kv);
		if (ev[i].has_prev_kv)
			kv_check(&ev[i].prev_kv, &sample_events[i].prev_kv);
	}
	proto_buf_clear(&b);
	ft_code_eq(proto_events_encode(NULL, 0, &b), COORD_OK);
	ft_code_eq(proto_events_decode(b.data, b.len, &ar, &ev, &n), COORD_OK);
	ck_assert_uint_eq(n, 0);
	proto_arena_close(&ar);
	proto_buf_close(&b);
}
END_TEST

/* Decodes hand-made bytes as a command, from a copy that stays valid
 * until the next call: decoded keys point into it (zero copy). */
static uint8_t raw_copy[64];

static int decode_raw(const uint8_t *p, size_t len, struct proto_cmd *c)
{
	struct proto_arena ar;
	int rc;

	ck_assert_uint_le(len, sizeof(raw_copy));
	if (len > 0)
		memcpy(raw_copy, p, len);
	proto_arena_init(&ar, NULL);
	rc = proto_cmd_decode(p == NULL ? NULL : raw_copy, len, &ar, c);
	proto_arena_close(&ar);
	return rc;
}

#define DECODE(c, ...)                                                       \
	decode_raw((const uint8_t[]){ __VA_ARGS__ },                         \
		   sizeof((const uint8_t[]){ __VA_ARGS__ }), (c))

START_TEST(entries_round_trip)
{
	struct proto_op ops[5];
	struct proto_buf b, b2;
	struct proto_arena ar;

	proto_buf_init(&b, NULL);
	proto_buf_init(&b2, NULL);
	proto_arena_init(&ar, NULL);
	for (int i = 0; i < N_SAMPLE_ENTRIES; i++) {
		struct proto_entry e = sample_entry(i, ops), d;

		/* The same bytes again, through the decoded entry. */
		sample_encode(FIRST_SAMPLE_ENTRY + i, &b);
		proto_buf_clear(&b2);
		ft_code_eq(sample_decode(FIRST_SAMPLE_ENTRY + i, b.data, b.len,
					 &ar, &b2),
			   COORD_OK);
		ck_assert_uint_eq(b.len, b2.len);
		ck_assert_int_eq(memcmp(b.data, b2.data, b.len), 0);
		ft_code_eq(proto_entry_decode(b.data, b.len, &ar, &d), COORD_OK);
		ck_assert_uint_eq(d.client_id, e.client_id);
		ck_assert_uint_eq(d.sequence, e.sequence);
		ck_assert_uint_eq(d.ack, e.ack);
		ck_assert_uint_eq(d.now_ms, e.now_ms);
		cmd_check(&e.cmd, &d.cmd);
	}
	proto_arena_close(&ar);
	proto_buf_close(&b);
	proto_buf_close(&b2);
}
END_TEST

static int decode_entry_raw(const uint8_t *p, size_t len)
{
	struct proto_arena ar;
	struct proto_entry e;
	int rc;

	proto_arena_init(&ar, NULL);
	rc = proto_entry_decode(p, len, &ar, &e);
	proto_arena_close(&ar);
	return rc;
}

#define DECODE_ENTRY(...)                                                    \
	decode_entry_raw((const uint8_t[]){ __VA_ARGS__ },                   \
			 sizeof((const uint8_t[]){ __VA_ARGS__ }))

START_TEST(entry_decoder_pairs_client_and_sequence)
{
	struct proto_buf b;
	struct proto_entry e;

	/* [1, 2, 1, 0, [5, 1]] and [0, 0, 0, 9, [5, 1]] are entries. */
	ft_code_eq(DECODE_ENTRY(0x95, 0x01, 0x02, 0x01, 0x00, 0x92, 0x05,
				0x01),
		   COORD_OK);
	ft_code_eq(DECODE_ENTRY(0x95, 0x00, 0x00, 0x00, 0x09, 0x92, 0x05,
				0x01),
		   COORD_OK);
	/* No client with a sequence or an ack; a client without one; an
	 * ack above the sequence. */
	ft_code_eq(DECODE_ENTRY(0x95, 0x00, 0x01, 0x00, 0x00, 0x92, 0x05,
				0x01),
		   COORD_EMALFORMED);
	ft_code_eq(DECODE_ENTRY(0x95, 0x00, 0x00, 0x01, 0x00, 0x92, 0x05,
				0x01),
		   COORD_EMALFORMED);
	ft_code_eq(DECODE_ENTRY(0x95, 0x01, 0x00, 0x00, 0x00, 0x92, 0x05,
				0x01),
		   COORD_EMALFORMED);
	ft_code_eq(DECODE_ENTRY(0x95, 0x01, 0x01, 0x00, 0x00, 0x92, 0x05,
				0x01),
		   COORD_EMALFORMED);
	ft_code_eq(DECODE_ENTRY(0x95, 0x01, 0x01, 0x02, 0x00, 0x92, 0x05,
				0x01),
		   COORD_EMALFORMED);
	/* Wrong arity (the entry before acks); a bare command; a negative
	 * time; a bad command. */
	ft_code_eq(DECODE_ENTRY(0x94, 0x01, 0x01, 0x00, 0x92, 0x05, 0x01),
		   COORD_EMALFORMED);
	ft_code_eq(DECODE_ENTRY(0x92, 0x05, 0x01), COORD_EMALFORMED);
	ft_code_eq(DECODE_ENTRY(0x95, 0x01, 0x01, 0x01, 0xff, 0x92, 0x05,
				0x01),
		   COORD_EMALFORMED);
	ft_code_eq(DECODE_ENTRY(0x95, 0x01, 0x01, 0x01, 0x00, 0x90),
		   COORD_EMALFORMED);
	ft_code_eq(decode_entry_raw(NULL, 0), COORD_EMALFORMED);
	/* The encoder refuses the same pairs, and a bad command. */
	proto_buf_init(&b, NULL);
	memset(&e, 0, sizeof(e));
	e.cmd.type = PROTO_CMD_COMPACT;
	e.sequence = 1;
	ft_code_eq(proto_entry_encode(&e, &b), COORD_EINVAL);
	e.sequence = 0;
	e.client_id = 1;
	ft_code_eq(proto_entry_encode(&e, &b), COORD_EINVAL);
	e.sequence = 1;
	ft_code_eq(proto_entry_encode(&e, &b), COORD_EINVAL);   /* ack 0 */
	e.ack = 2;
	ft_code_eq(proto_entry_encode(&e, &b), COORD_EINVAL);
	e.ack = 1;
	e.cmd.type = 0;
	ft_code_eq(proto_entry_encode(&e, &b), COORD_EINVAL);
	ck_assert_uint_eq(b.len, 0);
	proto_buf_close(&b);
}
END_TEST

START_TEST(decoder_accepts_every_encoding_of_an_integer)
{
	struct proto_cmd c;

	/* COMPACT [5, 7], the 7 written every way msgpack allows. */
	ft_code_eq(DECODE(&c, 0x92, 0x05, 0x07), COORD_OK);
	ck_assert_uint_eq(c.u.compact.revision, 7);
	ft_code_eq(DECODE(&c, 0x92, 0x05, 0xcc, 0x07), COORD_OK);
	ft_code_eq(DECODE(&c, 0x92, 0x05, 0xcd, 0x00, 0x07), COORD_OK);
	ft_code_eq(DECODE(&c, 0x92, 0x05, 0xce, 0, 0, 0, 0x07), COORD_OK);
	ft_code_eq(DECODE(&c, 0x92, 0x05, 0xcf, 0, 0, 0, 0, 0, 0, 0, 7),
		   COORD_OK);
	ck_assert_uint_eq(c.u.compact.revision, 7);
	ft_code_eq(DECODE(&c, 0x92, 0x05, 0xd0, 0x07), COORD_OK);
	ft_code_eq(DECODE(&c, 0x92, 0x05, 0xd1, 0x00, 0x07), COORD_OK);
	ft_code_eq(DECODE(&c, 0x92, 0x05, 0xd2, 0, 0, 0, 0x07), COORD_OK);
	ft_code_eq(DECODE(&c, 0x92, 0x05, 0xd3, 0, 0, 0, 0, 0, 0, 0, 7),
		   COORD_OK);
	ck_assert_uint_eq(c.u.compact.revision, 7);
	ft_code_eq(DECODE(&c, 0x92, 0x05, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff,
			  0xff, 0xff, 0xff),
		   COORD_OK);
	ck_assert_uint_eq(c.u.compact.revision, UINT64_MAX);
	/* Arrays and bins in their longer forms: PUT [1, "k", "", 0, true]. */
	ft_code_eq(DECODE(&c, 0xdc, 0x00, 0x05, 0x01, 0xc5, 0x00, 0x01, 'k',
			  0xc6, 0, 0, 0, 0, 0x00, 0xc3),
		   COORD_OK);
	ck_assert(proto_bytes_eq(c.u.put.key, FT_B("k")));
	ck_assert(c.u.put.prev_kv);
	ft_code_eq(DECODE(&c, 0xdd, 0, 0, 0, 0x02, 0x06, 0x01), COORD_OK);
	ck_assert_uint_eq(c.u.lease_end.lease, 1);
}
END_TEST

START_TEST(decoder_rejects_wrong_types_and_values)
{
	struct proto_cmd c;

	/* Negative integers. */
	ft_code_eq(DECODE(&c, 0x92, 0x05, 0xff), COORD_EMALFORMED);
	ft_code_eq(DECODE(&c, 0x92, 0x05, 0xd0, 0x80), COORD_EMALFORMED);
	ft_code_eq(DECODE(&c, 0x92, 0x05, 0xd3, 0xff, 0, 0, 0, 0, 0, 0, 0),
		   COORD_EMALFORMED);
	/* A float, a bool, nil, a string, a map where an integer goes. */
	ft_code_eq(DECODE(&c, 0x92, 0x05, 0xca, 0, 0, 0, 0), COORD_EMALFORMED);
	ft_code_eq(DECODE(&c, 0x92, 0x05, 0xc3), COORD_EMALFORMED);
	ft_code_eq(DECODE(&c, 0x92, 0x05, 0xc0), COORD_EMALFORMED);
	ft_code_eq(DECODE(&c, 0x92, 0x05, 0xa1, '7'), COORD_EMALFORMED);
	/* A string key instead of bin; an integer where a bool goes. */
	ft_code_eq(DECODE(&c, 0x95, 0x01, 0xa1, 'k', 0xc4, 0x00, 0x00, 0xc3),
		   COORD_EMALFORMED);
	ft_code_eq(DECODE(&c, 0x95, 0x01, 0xc4, 0x01, 'k', 0xc4, 0x00, 0x00,
			  0x01),
		   COORD_EMALFORMED);
	/* A map instead of the command array; an empty array. */
	ft_code_eq(DECODE(&c, 0x81, 0x05, 0x07), COORD_EMALFORMED);
	ft_code_eq(DECODE(&c, 0x90), COORD_EMALFORMED);
	/* Unknown command types: 0, 8, 300. */
	ft_code_eq(DECODE(&c, 0x92, 0x00, 0x07), COORD_EMALFORMED);
	ft_code_eq(DECODE(&c, 0x92, 0x08, 0x07), COORD_EMALFORMED);
	ft_code_eq(DECODE(&c, 0x92, 0xcd, 0x01, 0x2c, 0x07), COORD_EMALFORMED);
	/* Wrong arity: PUT with 4 fields, COMPACT with 3. */
	ft_code_eq(DECODE(&c, 0x94, 0x01, 0xc4, 0x01, 'k', 0xc4, 0x00, 0x00),
		   COORD_EMALFORMED);
	ft_code_eq(DECODE(&c, 0x93, 0x05, 0x07, 0x07), COORD_EMALFORMED);
	/* CLIENTS_EXPIRE with 1 field. */
	ft_code_eq(DECODE(&c, 0x92, 0x07, 0x07), COORD_EMALFORMED);
	/* Unknown flag bits: DELETE flags 4, RANGE flags 16. */
	ft_code_eq(DECODE(&c, 0x95, 0x02, 0xc4, 0x01, 'k', 0xc4, 0x00, 0x04,
			  0xc2),
		   COORD_EMALFORMED);
	ft_code_eq(DECODE(&c, 0x98, 0x03, 0xc4, 0x01, 'k', 0xc4, 0x00, 0x10,
			  0x00, 0x00, 0x00, 0x00),
		   COORD_EMALFORMED);
	/* RANGE sort order 3, sort target 5, sort order 256. */
	ft_code_eq(DECODE(&c, 0x98, 0x03, 0xc4, 0x01, 'k', 0xc4, 0x00, 0x00,
			  0x00, 0x00, 0x03, 0x00),
		   COORD_EMALFORMED);
	ft_code_eq(DECODE(&c, 0x98, 0x03, 0xc4, 0x01, 'k', 0xc4, 0x00, 0x00,
			  0x00, 0x00, 0x00, 0x05),
		   COORD_EMALFORMED);
	ft_code_eq(DECODE(&c, 0x98, 0x03, 0xc4, 0x01, 'k', 0xc4, 0x00, 0x00,
			  0x00, 0x00, 0xcd, 0x01, 0x00, 0x00),
		   COORD_EMALFORMED);
	/* TXN: an op of an unknown type, a nested TXN, an empty op (each
	 * long enough to pass the list's size check). */
	ft_code_eq(DECODE(&c, 0x94, 0x04, 0x90, 0x91, 0x92, 0x05, 0xc4, 0x05,
			  1, 2, 3, 4, 5, 0x90),
		   COORD_EMALFORMED);
	ft_code_eq(DECODE(&c, 0x94, 0x04, 0x90, 0x91, 0x94, 0x04, 0x90, 0x90,
			  0x90, 0x90, 0x90, 0x90),
		   COORD_EMALFORMED);
	ft_code_eq(DECODE(&c, 0x94, 0x04, 0x90, 0x91, 0x90, 0x90, 0, 0, 0, 0,
			  0, 0, 0),
		   COORD_EMALFORMED);
	/* TXN: a compare target 5, a compare result 4. */
	ft_code_eq(DECODE(&c, 0x94, 0x04, 0x91, 0x95, 0xc4, 0x01, 'k', 0x05,
			  0x00, 0x00, 0xc4, 0x00, 0x90, 0x90),
		   COORD_EMALFORMED);
	ft_code_eq(DECODE(&c, 0x94, 0x04, 0x91, 0x95, 0xc4, 0x01, 'k', 0x00,
			  0x04, 0x00, 0xc4, 0x00, 0x90, 0x90),
		   COORD_EMALFORMED);
	/* Trailing bytes. */
	ft_code_eq(DECODE(&c, 0x92, 0x05, 0x07, 0x00), COORD_EMALFORMED);
	/* Nothing at all. */
	ft_code_eq(decode_raw(NULL, 0, &c), COORD_EMALFORMED);
	ft_code_eq(decode_raw((const uint8_t *)"", 0, &c), COORD_EMALFORMED);
}
END_TEST

START_TEST(decoder_rejects_bad_replies_and_events)
{
	struct proto_arena ar;
	struct proto_reply r;
	const struct proto_event *ev;
	size_t n;
	/* COMPACT reply with code 2^31 (over INT_MAX). */
	static const uint8_t big_code[] = { 0x95, 0x05, 0xce, 0x80, 0, 0, 0,
					    0x00, 0x00, 0x90 };
	/* A reply of an unknown type. */
	static const uint8_t bad_type[] = { 0x95, 0x0a, 0x00, 0x00, 0x00, 0x90 };
	/* A TXN reply whose op reply has type COMPACT. */
	static const uint8_t bad_op[] = { 0x95, 0x04, 0x00, 0x00, 0x00, 0x92,
					  0xc3, 0x91, 0x92, 0x05, 0x91, 0x00 };
	/* An event of type 3; of type 0. */
	static const uint8_t bad_ev3[] = { 0x91, 0x93, 0x03, 0x96, 0xc4, 0x00,
					   0xc4, 0x00, 0, 0, 0, 0, 0xc0 };
	static const uint8_t bad_ev0[] = { 0x91, 0x93, 0x00, 0x96, 0xc4, 0x00,
					   0xc4, 0x00, 0, 0, 0, 0, 0xc0 };
	static const uint8_t trailing[] = { 0x90, 0x90 };

	proto_arena_init(&ar, NULL);
	ft_code_eq(proto_reply_decode(big_code, sizeof(big_code), &ar, &r),
		   COORD_EMALFORMED);
	ft_code_eq(proto_reply_decode(bad_type, sizeof(bad_type), &ar, &r),
		   COORD_EMALFORMED);
	ft_code_eq(proto_reply_decode(bad_op, sizeof(bad_op), &ar, &r),
		   COORD_EMALFORMED);
	ft_code_eq(proto_reply_decode(NULL, 0, &ar, &r), COORD_EMALFORMED);
	ft_code_eq(proto_events_decode(bad_ev3, sizeof(bad_ev3), &ar, &ev, &n),
		   COORD_EMALFORMED);
	ft_code_eq(proto_events_decode(bad_ev0, sizeof(bad_ev0), &ar, &ev, &n),
		   COORD_EMALFORMED);
	ft_code_eq(proto_events_decode(trailing, sizeof(trailing), &ar, &ev, &n),
		   COORD_EMALFORMED);
	ck_assert_uint_eq(n, 0);
	ft_code_eq(proto_events_decode(NULL, 0, &ar, &ev, &n), COORD_EMALFORMED);
	proto_arena_close(&ar);
}
END_TEST

START_TEST(hostile_lengths_are_rejected_before_allocating)
{
	struct ft_alloc a;
	struct proto_arena ar;
	struct proto_cmd c;
	struct proto_reply r;
	const struct proto_event *ev;
	size_t n;
	/* An array of 2^32-1 elements; a bin of 2^32-1 bytes. */
	static const uint8_t huge_array[] = { 0xdd, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t huge_bin[] = { 0x95, 0x01, 0xc6, 0xff, 0xff,
					    0xff, 0xff, 'k' };
	/* TXN whose compare list claims 65535 entries in a few bytes. */
	static const uint8_t huge_list[] = { 0x94, 0x04, 0xdc, 0xff, 0xff,
					     0x95, 0xc4, 0x00, 0, 0, 0, 0xc4,
					     0x00, 0x90, 0x90 };
	/* A list whose 2 elements cannot fit in what is left. */
	static const uint8_t short_list[] = { 0x94, 0x04, 0x92, 0x90, 0x90,
					      0x90, 0x90, 0x90, 0x90, 0x90,
					      0x90 };
	static const uint8_t huge_events[] = { 0xdd, 0x00, 0x01, 0x00, 0x00,
					       0x91 };

	ft_alloc_init(&a);
	proto_arena_init(&ar, &a.a);
	ft_code_eq(proto_cmd_decode(huge_array, sizeof(huge_array), &ar, &c),
		   COORD_EMALFORMED);
	ft_code_eq(proto_cmd_decode(huge_bin, sizeof(huge_bin), &ar, &c),
		   COORD_EMALFORMED);
	ft_code_eq(proto_cmd_decode(huge_list, sizeof(huge_list), &ar, &c),
		   COORD_EMALFORMED);
	ft_code_eq(proto_cmd_decode(short_list, sizeof(short_list), &ar, &c),
		   COORD_EMALFORMED);
	ft_code_eq(proto_reply_decode(huge_array, sizeof(huge_array), &ar, &r),
		   COORD_EMALFORMED);
	ft_code_eq(proto_events_decode(huge_events, sizeof(huge_events), &ar,
				       &ev, &n),
		   COORD_EMALFORMED);
	ck_assert_uint_eq(a.calls, 0);
	proto_arena_close(&ar);
}
END_TEST

START_TEST(every_truncation_is_malformed)
{
	struct proto_buf b;
	struct proto_arena ar;

	proto_buf_init(&b, NULL);
	proto_arena_init(&ar, NULL);
	for (int i = 0; i < N_SAMPLES; i++) {
		sample_encode(i, &b);
		ft_code_eq(sample_decode(i, b.data, b.len, &ar, NULL), COORD_OK);
		for (size_t len = 0; len < b.len; len++) {
			/* A copy of exactly len bytes, so ASan sees overreads. */
			uint8_t *p = malloc(len + 1);

			memcpy(p, b.data, len);
			ft_code_eq(sample_decode(i, p, len, &ar, NULL),
				   COORD_EMALFORMED);
			free(p);
		}
		proto_arena_reset(&ar);
	}
	proto_arena_close(&ar);
	proto_buf_close(&b);
}
END_TEST

START_TEST(every_byte_mutation_decodes_or_is_malformed)
{
	static const uint8_t values[] = { 0x00, 0x01, 0x7f, 0x80, 0x90, 0x9f,
					  0xc0, 0xc2, 0xc3, 0xc4, 0xc6, 0xcc,
					  0xcf, 0xd0, 0xd3, 0xdc, 0xdd, 0xff };
	struct proto_buf b, again;
	struct proto_arena ar;
	size_t decoded = 0, rejected = 0;

	proto_buf_init(&b, NULL);
	proto_buf_init(&again, NULL);
	proto_arena_init(&ar, NULL);
	for (int i = 0; i < N_SAMPLES; i++) {
		sample_encode(i, &b);
		for (size_t pos = 0; pos < b.len; pos++) {
			for (size_t v = 0; v < sizeof(values) + 8; v++) {
				uint8_t *p = malloc(b.len);
				int rc;

				memcpy(p, b.data, b.len);
				p[pos] = v < sizeof(values)
						 ? values[v]
						 : (uint8_t)(p[pos] ^
							     (1u << (v - sizeof(values))));
				proto_buf_clear(&again);
				rc = sample_decode(i, p, b.len, &ar, &again);
				ck_assert_msg(rc == COORD_OK ||
						      rc == COORD_EMALFORMED,
					      "sample %d pos %zu: %s", i, pos,
					      coord_error_name(rc));
				if (rc == COORD_OK) {
					/* What decodes encodes and decodes
					 * again. */
					decoded++;
					ft_code_eq(sample_decode(i, again.data,
								 again.len, &ar,
								 NULL),
						   COORD_OK);
				} else {
					rejected++;
				}
				free(p);
				proto_arena_reset(&ar);
			}
		}
	}
	ck_assert_uint_gt(decoded, 100);
	ck_assert_uint_gt(rejected, 100);
	proto_arena_close(&ar);
	proto_buf_close(&b);
	proto_buf_close(&again);
}
END_TEST

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Decodes buf as each kind; every answer must be OK or EMALFORMED.
 * Returns how many kinds decoded. */
static int decode_any(const uint8_t *buf, size_t len, struct proto_arena *ar)
{
	struct proto_entry e;
	struct proto_cmd c;
	struct proto_reply r;
	const struct proto_event *ev;
	size_t n;
	int rc, ok = 0;

	rc = proto_cmd_decode(buf, len, ar, &c);
	ck_assert(rc == COORD_OK || rc == COORD_EMALFORMED);
	ok += rc == COORD_OK;
	rc = proto_reply_decode(buf, len, ar, &r);
	ck_assert(rc == COORD_OK || rc == COORD_EMALFORMED);
	ok += rc == COORD_OK;
	rc = proto_events_decode(buf, len, ar, &ev, &n);
	ck_assert(rc == COORD_OK || rc == COORD_EMALFORMED);
	ok += rc == COORD_OK;
	rc = proto_entry_decode(buf, len, ar, &e);
	ck_assert(rc == COORD_OK || rc == COORD_EMALFORMED);
	ok += rc == COORD_OK;
	proto_arena_reset(ar);
	return ok;
}

START_TEST(random_bytes_never_crash_the_decoder)
{
	/* Biased towards msgpack's type bytes so that some get deep. */
	static const uint8_t alphabet[] = { 0x90, 0x91, 0x92, 0x93, 0x94, 0x95,
					    0x96, 0x98, 0x00, 0x01, 0x02, 0x03,
					    0x04, 0x05, 0x06, 0xc0, 0xc2, 0xc3,
					    0xc4, 0xdc, 0xdd, 0xcc, 0xcf, 0xff };
	uint64_t x = 0x2545f4914f6cdd1dull;
	struct proto_arena ar;

	proto_arena_init(&ar, NULL);
	for (int round = 0; round < 100000; round++) {
		size_t len = xorshift(&x) % 48;
		uint8_t *buf = malloc(len + 1);

		for (size_t i = 0; i < len; i++) {
			uint64_t y = xorshift(&x);

			buf[i] = (y & 1) ? alphabet[(y >> 1) % sizeof(alphabet)]
					 : (uint8_t)(y >> 8);
		}
		decode_any(buf, len, &ar);
		free(buf);
	}
	proto_arena_close(&ar);
}
END_TEST

START_TEST(randomly_damaged_messages_never_crash_the_decoder)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	struct proto_arena ar;
	struct proto_buf b;
	size_t decoded = 0;

	proto_arena_init(&ar, NULL);
	proto_buf_init(&b, NULL);
	for (int round = 0; round < 50000; round++) {
		int i = (int)(xorshift(&x) % N_SAMPLES);
		size_t len, damage = 1 + xorshift(&x) % 4;
		uint8_t *buf;

		sample_encode(i, &b);
		/* Sometimes cut or extend it too. */
		len = b.len;
		if (xorshift(&x) % 4 == 0)
			len = xorshift(&x) % (b.len + 8);
		buf = malloc(len + 1);
		for (size_t j = 0; j < len; j++)
			buf[j] = j < b.len ? b.data[j] : (uint8_t)xorshift(&x);
		for (size_t d = 0; d < damage && len > 0; d++)
			buf[xorshift(&x) % len] = (uint8_t)xorshift(&x);
		decoded += decode_any(buf, len, &ar) > 0;
		free(buf);
	}
	/* Some damage leaves a valid message: the decoder got deep. */
	ck_assert_uint_gt(decoded, 1000);
	proto_buf_close(&b);
	proto_arena_close(&ar);
}
END_TEST

START_TEST(encoder_rejects_what_the_wire_cannot_carry)
{
	struct proto_buf b;
	struct proto_cmd c;
	struct proto_reply r;
	struct proto_op op;
	struct proto_compare cmp;
	struct proto_op_reply orep;
	struct proto_event ev;

	proto_buf_init(&b, NULL);
	ft_code_eq(proto_buf_append(&b, "xyz", 3), COORD_OK);
	memset(&c, 0, sizeof(c));
	c.type = 0;
	ft_code_eq(proto_cmd_encode(&c, &b), COORD_EINVAL);
	c.type = PROTO_CMD_DELETE;
	c.u.del.flags = PROTO_RANGE_KEYS_ONLY;
	ft_code_eq(proto_cmd_encode(&c, &b), COORD_EINVAL);
	memset(&c, 0, sizeof(c));
	c.type = PROTO_CMD_RANGE;
	c.u.range.sort_order = 9;
	ft_code_eq(proto_cmd_encode(&c, &b), COORD_EINVAL);
	memset(&c, 0, sizeof(c));
	c.type = PROTO_CMD_PUT;
	c.u.put.key.len = 3;        /* and no data */
	ft_code_eq(proto_cmd_encode(&c, &b), COORD_EINVAL);
	memset(&c, 0, sizeof(c));
	memset(&op, 0, sizeof(op));
	memset(&cmp, 0, sizeof(cmp));
	c.type = PROTO_CMD_TXN;
	c.u.txn.success = &op;
	c.u.txn.n_success = 1;
	op.type = PROTO_CMD_COMPACT;
	ft_code_eq(proto_cmd_encode(&c, &b), COORD_EINVAL);
	op.type = PROTO_CMD_PUT;
	c.u.txn.compares = &cmp;
	c.u.txn.n_compares = 1;
	cmp.target = 9;
	ft_code_eq(proto_cmd_encode(&c, &b), COORD_EINVAL);
	cmp.target = 0;
	ft_code_eq(proto_cmd_encode(&c, &b), COORD_OK);
	b.len = 3;

	memset(&r, 0, sizeof(r));
	memset(&orep, 0, sizeof(orep));
	r.type = 0;
	ft_code_eq(proto_reply_encode(&r, &b), COORD_EINVAL);
	r.type = PROTO_CMD_PUT;
	r.code = -1;
	ft_code_eq(proto_reply_encode(&r, &b), COORD_EINVAL);
	r.code = 0;
	r.type = PROTO_CMD_TXN;
	r.u.txn.replies = &orep;
	r.u.txn.n_replies = 1;
	orep.type = PROTO_CMD_TXN;
	ft_code_eq(proto_reply_encode(&r, &b), COORD_EINVAL);

	memset(&ev, 0, sizeof(ev));
	ft_code_eq(proto_events_encode(&ev, 1, &b), COORD_EINVAL);
	/* Every failure left the buffer as it was. */
	ck_assert_uint_eq(b.len, 3);
	ck_assert_int_eq(memcmp(b.data, "xyz", 3), 0);
	proto_buf_close(&b);
}
END_TEST

START_TEST(encoder_and_decoder_report_allocation_failure)
{
	struct ft_alloc a;
	struct proto_buf b, plain;
	struct proto_arena ar;
	struct proto_op ops[5];
	struct proto_cmd c = sample_cmd(3, ops), d;
	size_t k;

	ft_alloc_init(&a);
	proto_buf_init(&b, &a.a);
	proto_buf_init(&plain, NULL);
	ft_code_eq(proto_cmd_encode(&c, &plain), COORD_OK);
	a.fail_at = 1;
	ft_code_eq(proto_cmd_encode(&c, &b), COORD_ENOMEM);
	ck_assert_uint_eq(b.len, 0);
	a.fail_at = 0;
	ft_code_eq(proto_cmd_encode(&c, &b), COORD_OK);
	proto_buf_close(&b);
	for (k = 1;; k++) {
		int rc;

		proto_arena_init(&ar, &a.a);
		a.fail_at = a.calls + k;
		rc = proto_cmd_decode(plain.data, plain.len, &ar, &d);
		a.fail_at = 0;
		proto_arena_close(&ar);
		if (rc == COORD_OK)
			break;
		ft_code_eq(rc, COORD_ENOMEM);
	}
	ck_assert_uint_ge(k, 2);
	proto_buf_close(&plain);
	ck_assert_uint_eq(a.live, 0);
}
END_TEST

static Suite *proto_errors_suite(void)
{
	Suite *s = suite_create("proto_errors");

	FT_ADD(s, every_code_has_its_own_name_and_message);
	FT_ADD(s, unknown_codes_are_named_as_unknown);
	FT_ADD(s, wire_values_of_codes_never_change);
	return s;
}

static Suite *proto_mem_suite(void)
{
	Suite *s = suite_create("proto_mem");

	FT_ADD(s, arena_allocations_are_aligned_and_disjoint);
	FT_ADD(s, arena_reset_keeps_one_chunk_and_frees_large_ones);
	FT_ADD(s, arena_grow_and_dup_copy);
	FT_ADD(s, buf_grows_and_fails_cleanly);
	FT_ADD(s, bytes_compare_in_memcmp_order_with_prefixes_first);
	return s;
}

static Suite *proto_codec_suite(void)
{
	Suite *s = suite_create("proto_codec");

	FT_ADD(s, every_command_round_trips);
	FT_ADD(s, every_reply_round_trips);
	FT_ADD(s, events_round_trip);
	FT_ADD(s, entries_round_trip);
	FT_ADD(s, entry_decoder_pairs_client_and_sequence);
	FT_ADD(s, decoder_accepts_every_encoding_of_an_integer);
	FT_ADD(s, decoder_rejects_wrong_types_and_values);
	FT_ADD(s, decoder_rejects_bad_replies_and_events);
	FT_ADD(s, hostile_lengths_are_rejected_before_allocating);
	FT_ADD(s, every_truncation_is_malformed);
	FT_ADD(s, every_byte_mutation_decodes_or_is_malformed);
	FT_ADD(s, random_bytes_never_crash_the_decoder);
	FT_ADD(s, randomly_damaged_messages_never_crash_the_decoder);
	FT_ADD(s, encoder_rejects_what_the_wire_cannot_carry);
	FT_ADD(s, encoder_and_decoder_report_allocation_failure);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(proto_errors_suite());
	int failed;

	srunner_add_suite(sr, proto_mem_suite());
	srunner_add_suite(sr, proto_codec_suite());
	srunner_set_tap(sr, "-");
	srunner_run_all(sr, getenv("CK_VERBOSITY") ? CK_ENV : CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
