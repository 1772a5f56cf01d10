/*
 * tests/unit/test_fsm_txn.c: multi-key transactions of the fsm: compares,
 * branches, one revision for all writes, and the txn errors.
 */
#include <stdio.h>
#include <string.h>

#include "proto/limits.h"
#include "tests/unit/fsm_clients_test.h"
#include "tests/unit/fsm_test.h"
#include "tests/unit/test_fsm.h"

static struct proto_op op_put(const char *key, const char *value,
			      uint64_t lease)
{
	struct proto_op op;

	memset(&op, 0, sizeof(op));
	op.type = PROTO_CMD_PUT;
	op.u.put = ft_put(key, value, lease).u.put;
	op.u.put.prev_kv = true;
	return op;
}

static struct proto_op op_del(const char *key, const char *end, uint32_t flags)
{
	struct proto_op op;

	memset(&op, 0, sizeof(op));
	op.type = PROTO_CMD_DELETE;
	op.u.del = ft_del(key, end, flags, true).u.del;
	return op;
}

static struct proto_op op_range(const char *key, const char *end,
				uint32_t flags, uint64_t rev)
{
	struct proto_op op;

	memset(&op, 0, sizeof(op));
	op.type = PROTO_CMD_RANGE;
	op.u.range = ft_range(key, end, flags);
	op.u.range.revision = rev;
	return op;
}

static struct proto_compare cmp_num(const char *key, uint8_t target,
				    uint8_t result, uint64_t number)
{
	struct proto_compare c;

	memset(&c, 0, sizeof(c));
	c.key = ft_s(key);
	c.target = target;
	c.result = result;
	c.number = number;
	return c;
}

static struct proto_compare cmp_value(const char *key, uint8_t result,
				      const char *value)
{
	struct proto_compare c = cmp_num(key, PROTO_CMP_VALUE, result, 0);

	c.value = ft_s(value);
	return c;
}

static struct proto_cmd txn(const struct proto_compare *cmps, size_t n_cmps,
			    const struct proto_op *then, size_t n_then,
			    const struct proto_op *otherwise, size_t n_else)
{
	struct proto_cmd c;

	memset(&c, 0, sizeof(c));
	c.type = PROTO_CMD_TXN;
	c.u.txn.compares = cmps;
	c.u.txn.n_compares = n_cmps;
	c.u.txn.success = then;
	c.u.txn.n_success = n_then;
	c.u.txn.failure = otherwise;
	c.u.txn.n_failure = n_else;
	return c;
}

/* Whether a one-compare txn takes its success branch. */
static bool holds(struct ft_fsm *t, struct proto_compare c)
{
	const struct proto_reply *r = ft_apply_ok(t, txn(&c, 1, NULL, 0, NULL, 0));

	return r->u.txn.succeeded;
}

START_TEST(txn_compares_every_target_with_every_result)
{
	struct ft_fsm t;

	ft_fsm_open(&t, NULL);
	ft_apply_ok(&t, ft_put("x", "0", 0));
	ft_apply_ok(&t, ft_put("k", "m", 5));  /* create 2 */
	ft_apply_ok(&t, ft_put("k", "m", 5));  /* mod 3, version 2 */

	ck_assert(holds(&t, cmp_value("k", PROTO_CMP_EQUAL, "m")));
	ck_assert(!holds(&t, cmp_value("k", PROTO_CMP_EQUAL, "mm")));
	ck_assert(holds(&t, cmp_value("k", PROTO_CMP_NOT_EQUAL, "n")));
	ck_assert(!holds(&t, cmp_value("k", PROTO_CMP_NOT_EQUAL, "m")));
	ck_assert(holds(&t, cmp_value("k", PROTO_CMP_LESS, "n")));
	ck_assert(holds(&t, cmp_value("k", PROTO_CMP_LESS, "ma")));
	ck_assert(!holds(&t, cmp_value("k", PROTO_CMP_LESS, "m")));
	ck_assert(holds(&t, cmp_value("k", PROTO_CMP_GREATER, "")));
	ck_assert(!holds(&t, cmp_value("k", PROTO_CMP_GREATER, "m")));

	ck_assert(holds(&t, cmp_num("k", PROTO_CMP_VERSION, PROTO_CMP_EQUAL, 2)));
	ck_assert(holds(&t, cmp_num("k", PROTO_CMP_CREATE, PROTO_CMP_EQUAL, 2)));
	ck_assert(holds(&t, cmp_num("k", PROTO_CMP_MOD, PROTO_CMP_EQUAL, 3)));
	ck_assert(holds(&t, cmp_num("k", PROTO_CMP_LEASE, PROTO_CMP_EQUAL, 5)));
	ck_assert(holds(&t, cmp_num("k", PROTO_CMP_MOD, PROTO_CMP_LESS, 4)));
	ck_assert(!holds(&t, cmp_num("k", PROTO_CMP_MOD, PROTO_CMP_LESS, 3)));
	ck_assert(holds(&t, cmp_num("k", PROTO_CMP_MOD, PROTO_CMP_GREATER, 2)));
	ck_assert(!holds(&t, cmp_num("k", PROTO_CMP_MOD, PROTO_CMP_GREATER, 3)));
	ck_assert(holds(&t, cmp_num("k", PROTO_CMP_VERSION, PROTO_CMP_NOT_EQUAL,
				    1)));
	ck_assert(!holds(&t, cmp_num("k", PROTO_CMP_LEASE, PROTO_CMP_NOT_EQUAL,
				     5)));
	ft_fsm_close(&t);
}
END_TEST

START_TEST(txn_compare_on_a_missing_key)
{
	struct ft_fsm t;

	ft_fsm_open(&t, NULL);
	/* A value compare is false, whatever the result asked. */
	ck_assert(!holds(&t, cmp_value("no", PROTO_CMP_EQUAL, "")));
	ck_assert(!holds(&t, cmp_value("no", PROTO_CMP_NOT_EQUAL, "x")));
	/* Numbers of a missing key are 0: "create_revision = 0" is the idiom
	 * for "does not exist". */
	ck_assert(holds(&t, cmp_num("no", PROTO_CMP_CREATE, PROTO_CMP_EQUAL, 0)));
	ck_assert(holds(&t, cmp_num("no", PROTO_CMP_VERSION, PROTO_CMP_LESS, 1)));
	ft_apply_ok(&t, ft_put("no", "x", 0));
	ft_apply_ok(&t, ft_del("no", NULL, 0, false));
	ck_assert(holds(&t, cmp_num("no", PROTO_CMP_MOD, PROTO_CMP_EQUAL, 0)));
	ft_fsm_close(&t);
}
END_TEST

START_TEST(txn_runs_success_only_when_every_compare_holds)
{
	struct ft_fsm t;
	struct proto_compare cmps[2];
	struct proto_op then[1], otherwise[1];
	const struct proto_reply *r;

	ft_fsm_open(&t, NULL);
	ft_apply_ok(&t, ft_put("a", "1", 0));
	cmps[0] = cmp_value("a", PROTO_CMP_EQUAL, "1");
	cmps[1] = cmp_num("a", PROTO_CMP_VERSION, PROTO_CMP_EQUAL, 2);
	then[0] = op_put("t", "then", 0);
	otherwise[0] = op_put("e", "else", 0);
	r = ft_apply_ok(&t, txn(cmps, 2, then, 1, otherwise, 1));
	ck_assert(!r->u.txn.succeeded);
	ck_assert_uint_eq(r->u.txn.n_replies, 1);
	ck_assert_uint_eq(r->u.txn.replies[0].type, PROTO_CMD_PUT);
	ck_assert_ptr_null(ft_kv(&t, "t"));
	ft_kv_check(ft_kv(&t, "e"), "e", "else", 2, 2, 1, 0);
	cmps[1].number = 1;
	r = ft_apply_ok(&t, txn(cmps, 2, then, 1, otherwise, 1));
	ck_assert(r->u.txn.succeeded);
	ft_kv_check(ft_kv(&t, "t"), "t", "then", 3, 3, 1, 0);
	/* No compares: success. */
	r = ft_apply_ok(&t, txn(NULL, 0, NULL, 0, otherwise, 1));
	ck_assert(r->u.txn.succeeded);
	ck_assert_uint_eq(r->revision, 3);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(txn_branch_sees_its_own_writes)
{
	struct ft_fsm t;
	struct proto_op ops[5];
	const struct proto_reply *r;
	const struct proto_txn_reply *x;

	ft_fsm_open(&t, NULL);
	ft_apply_ok(&t, ft_put("a", "old", 0));
	ft_apply_ok(&t, ft_put("b", "b", 0));
	ops[0] = op_put("a", "new", 0);
	ops[1] = op_range("", NULL, PROTO_RANGE_PREFIX, 0);
	ops[2] = op_del("b", NULL, 0);
	ops[3] = op_range("", NULL, PROTO_RANGE_PREFIX, 0);
	ops[4] = op_range("", NULL, PROTO_RANGE_PREFIX, 2);  /* the past */
	r = ft_apply_ok(&t, txn(NULL, 0, ops, 5, NULL, 0));
	x = &r->u.txn;
	ck_assert_uint_eq(r->revision, 3);
	ck_assert_uint_eq(x->n_replies, 5);
	ck_assert(x->replies[0].u.put.has_prev_kv);
	ft_kv_check(&x->replies[0].u.put.prev_kv, "a", "old", 1, 1, 1, 0);
	ck_assert_uint_eq(x->replies[1].u.range.n_kvs, 2);
	ft_kv_check(&x->replies[1].u.range.kvs[0], "a", "new", 1, 3, 2, 0);
	ck_assert_uint_eq(x->replies[2].u.del.deleted, 1);
	ck_assert_uint_eq(x->replies[3].u.range.n_kvs, 1);
	ck_assert_uint_eq(x->replies[4].u.range.n_kvs, 2);
	ft_kv_check(&x->replies[4].u.range.kvs[0], "a", "old", 1, 1, 1, 0);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(txn_writes_share_one_revision_in_op_order)
{
	struct ft_fsm t;
	struct proto_op ops[3];

	ft_fsm_open(&t, NULL);
	ft_apply_ok(&t, ft_put("z", "1", 0));
	ops[0] = op_put("c", "1", 0);
	ops[1] = op_put("a", "2", 0);
	ops[2] = op_del("z", NULL, 0);
	ck_assert_uint_eq(ft_apply_ok(&t, txn(NULL, 0, ops, 3, NULL, 0))->revision,
			  2);
	ck_assert_uint_eq(t.res.n_events, 3);
	ck_assert(proto_bytes_eq(t.res.events[0].kv.key, ft_s("c")));
	ck_assert(proto_bytes_eq(t.res.events[1].kv.key, ft_s("a")));
	ck_assert_uint_eq(t.res.events[2].type, PROTO_EVENT_DELETE);
	for (size_t i = 0; i < 3; i++)
		ck_assert_uint_eq(t.res.events[i].kv.mod_revision, 2);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(txn_that_writes_nothing_keeps_the_revision)
{
	struct ft_fsm t;
	struct proto_op ops[2];
	const struct proto_reply *r;

	ft_fsm_open(&t, NULL);
	ft_apply_ok(&t, ft_put("a", "1", 0));
	ops[0] = op_range("a", NULL, 0, 0);
	ops[1] = op_del("nothing", NULL, 0);
	r = ft_apply_ok(&t, txn(NULL, 0, ops, 2, NULL, 0));
	ck_assert_uint_eq(r->revision, 1);
	ck_assert_uint_eq(r->u.txn.replies[0].u.range.count, 1);
	ck_assert_uint_eq(t.res.n_events, 0);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(txn_with_too_many_ops_is_etxntoobig)
{
	struct fsm_config cfg;
	struct ft_fsm t;
	struct proto_compare cmps[3];
	struct proto_op ops[3];

	ft_config_default(&cfg);
	cfg.txn_ops_max = 2;
	ft_fsm_open(&t, &cfg);
	for (size_t i = 0; i < 3; i++) {
		cmps[i] = cmp_num("a", PROTO_CMP_VERSION, PROTO_CMP_EQUAL, 0);
		ops[i] = op_range("a", NULL, 0, 0);
	}
	ops[0] = op_put("p", "1", 0);
	ft_apply_ok(&t, txn(cmps, 2, ops, 2, ops, 2));
	ft_apply_err(&t, txn(cmps, 3, ops, 2, ops, 2), COORD_ETXNTOOBIG);
	ft_apply_err(&t, txn(cmps, 2, ops, 3, ops, 2), COORD_ETXNTOOBIG);
	/* The branch that would not run counts too. */
	ft_apply_err(&t, txn(cmps, 2, ops, 2, ops, 3), COORD_ETXNTOOBIG);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(txn_writing_a_key_twice_is_edupkey)
{
	struct ft_fsm t;
	struct proto_op ops[3];

	ft_fsm_open(&t, NULL);
	ops[0] = op_put("a", "1", 0);
	ops[1] = op_put("a", "2", 0);
	ft_apply_err(&t, txn(NULL, 0, ops, 2, NULL, 0), COORD_EDUPKEY);
	ft_apply_err(&t, txn(NULL, 0, NULL, 0, ops, 2), COORD_EDUPKEY);
	/* A put inside one of the branch's deletes, in either order. */
	ops[1] = op_del("", NULL, PROTO_RANGE_PREFIX);
	ft_apply_err(&t, txn(NULL, 0, ops, 2, NULL, 0), COORD_EDUPKEY);
	ops[0] = op_del("a", NULL, 0);
	ops[1] = op_put("a", "2", 0);
	ft_apply_err(&t, txn(NULL, 0, ops, 2, NULL, 0), COORD_EDUPKEY);
	/* Overlapping deletes, a put beside a delete, one key per branch: ok. */
	ops[0] = op_del("a", "c", 0);
	ops[1] = op_del("b", NULL, PROTO_RANGE_FROM);
	ops[2] = op_put("0", "x", 0);
	ft_apply_ok(&t, ft_put("b", "1", 0));
	ck_assert_uint_eq(ft_apply_ok(&t, txn(NULL, 0, ops, 3, ops + 2, 1))
				  ->u.txn.replies[1]
				  .u.del.deleted,
			  0);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(txn_rejects_bad_compares_and_ops_before_any_write)
{
	struct fsm_config cfg;
	struct ft_fsm t;
	struct proto_compare c;
	struct proto_op ops[2];

	ft_config_default(&cfg);
	cfg.key_bytes_max = 3;
	cfg.value_bytes_max = 3;
	ft_fsm_open(&t, &cfg);
	ops[0] = op_put("ok", "1", 0);

	c = cmp_num("", PROTO_CMP_VERSION, PROTO_CMP_EQUAL, 0);
	ft_apply_err(&t, txn(&c, 1, ops, 1, NULL, 0), COORD_EINVAL);
	c = cmp_num("a", PROTO_CMP_TARGET_LAST + 1, PROTO_CMP_EQUAL, 0);
	ft_apply_err(&t, txn(&c, 1, ops, 1, NULL, 0), COORD_EINVAL);
	c = cmp_num("a", PROTO_CMP_VERSION, PROTO_CMP_RESULT_LAST + 1, 0);
	ft_apply_err(&t, txn(&c, 1, ops, 1, NULL, 0), COORD_EINVAL);
	c = cmp_num("abcd", PROTO_CMP_VERSION, PROTO_CMP_EQUAL, 0);
	ft_apply_err(&t, txn(&c, 1, ops, 1, NULL, 0), COORD_EKEYTOOBIG);
	c = cmp_value("a", PROTO_CMP_EQUAL, "abcd");
	ft_apply_err(&t, txn(&c, 1, ops, 1, NULL, 0), COORD_EVALUETOOBIG);

	/* A bad op in either branch, after a good one. */
	ops[1] = op_put("k", "abcd", 0);
	ft_apply_err(&t, txn(NULL, 0, ops, 2, NULL, 0), COORD_EVALUETOOBIG);
	ft_apply_err(&t, txn(NULL, 0, ops, 1, ops, 2), COORD_EVALUETOOBIG);
	ops[1] = op_del("", NULL, 0);
	ft_apply_err(&t, txn(NULL, 0, ops, 2, NULL, 0), COORD_EINVAL);
	ops[1] = op_range("abcd", NULL, 0, 0);
	ft_apply_err(&t, txn(NULL, 0, ops, 2, NULL, 0), COORD_EKEYTOOBIG);
	ops[1] = op_range("a", NULL, 0, 0);
	ops[1].type = PROTO_CMD_TXN;    /* no nested txns */
	ft_apply_err(&t, txn(NULL, 0, ops, 2, NULL, 0), COORD_EINVAL);
	ops[1].type = PROTO_CMD_COMPACT;
	ft_apply_err(&t, txn(NULL, 0, ops, 2, NULL, 0), COORD_EINVAL);
	ck_assert_ptr_null(ft_kv(&t, "ok"));
	ft_fsm_close(&t);
}
END_TEST

START_TEST(txn_state_checks_of_the_chosen_branch_fail_the_whole_txn)
{
	struct fsm_config cfg;
	struct ft_fsm t;
	struct proto_op ops[3];
	struct proto_compare c;

	ft_config_default(&cfg);
	cfg.lease_exists = NULL;
	ft_fsm_open(&t, &cfg);
	ft_apply_ok(&t, ft_put("a", "1", 0));
	ft_apply_ok(&t, ft_put("a", "2", 0));
	ft_apply_ok(&t, ft_compact(2));
	ops[0] = op_put("w", "1", 0);
	ops[1] = op_range("a", NULL, 0, 1);     /* compacted */
	ft_apply_err(&t, txn(NULL, 0, ops, 2, NULL, 0), COORD_ECOMPACTED);
	ops[1] = op_range("a", NULL, 0, 3);     /* the future */
	ft_apply_err(&t, txn(NULL, 0, ops, 2, NULL, 0), COORD_EFUTUREREV);
	/* The same range in the branch that does not run is fine. */
	c = cmp_num("a", PROTO_CMP_VERSION, PROTO_CMP_EQUAL, 2);
	ops[2] = op_range("a", NULL, 0, 2);
	ck_assert(ft_apply_ok(&t, txn(&c, 1, ops + 2, 1, ops, 2))
			  ->u.txn.succeeded);
	ck_assert_ptr_null(ft_kv(&t, "w"));
	ft_fsm_close(&t);
}
END_TEST

static bool lease_exists_small(void *ctx, uint64_t lease)
{
	(void)ctx;
	return lease < 10;
}

START_TEST(txn_put_with_unknown_lease_is_elease)
{
	struct fsm_config cfg;
	struct ft_fsm t;
	struct proto_op ops[2];
	struct proto_compare c;

	ft_config_default(&cfg);
	cfg.lease_exists = lease_exists_small;
	ft_fsm_open(&t, &cfg);
	ops[0] = op_put("a", "1", 3);
	ops[1] = op_put("b", "1", 12);
	ft_apply_err(&t, txn(NULL, 0, ops, 2, NULL, 0), COORD_ELEASE);
	c = cmp_num("a", PROTO_CMP_VERSION, PROTO_CMP_EQUAL, 0);
	ck_assert(ft_apply_ok(&t, txn(&c, 1, ops, 1, ops + 1, 1))
			  ->u.txn.succeeded);
	ft_kv_check(ft_kv(&t, "a"), "a", "1", 1, 1, 1, 3);
	ft_fsm_close(&t);
}
END_TEST

/*
 * The reply limit (proto/limits.h COORD_APPLY_REPLY_BYTES_MAX): what one
 * applied command returns is counted while it is collected.
 */

#define BIG_KEYS 32
#define BIG_VALUE_BYTES (16 * 1024)

/* BIG_KEYS keys "b00".. of BIG_VALUE_BYTES each: about half the default
 * reply limit, so one range over them fits and two do not. */
static void put_big_keys(struct ft_fsm *t)
{
	static uint8_t value[BIG_VALUE_BYTES];
	char key[8];

	memset(value, 'v', sizeof(value));
	for (int i = 0; i < BIG_KEYS; i++) {
		snprintf(key, sizeof(key), "b%02d", i);
		ft_apply_ok(t, ft_put_b(ft_s(key),
					proto_bytes_make(value, sizeof(value)),
					0, false));
	}
}

START_TEST(txn_range_results_past_the_reply_limit_fail_and_write_nothing)
{
	struct proto_op ops[COORD_TXN_OPS_MAX];
	const struct proto_reply *r;
	struct ft_fsm t;
	size_t base;

	ft_fsm_open(&t, NULL);
	put_big_keys(&t);
	ops[0] = op_put("z", "1", 0);
	for (size_t i = 1; i < COORD_TXN_OPS_MAX; i++)
		ops[i] = op_range("b", "c", 0, 0);
	/* One range over the keyspace fits. */
	r = ft_apply_ok(&t, txn(NULL, 0, ops, 2, NULL, 0));
	ck_assert_uint_eq(r->u.txn.replies[1].u.range.n_kvs, BIG_KEYS);
	/* The attack of issue 14 section 3: 127 of them. The txn fails
	 * before the replica holds more than the limit, and its put is
	 * undone (ft_apply_err: same revision and hash, no events). */
	base = t.alloc.live_bytes;
	t.alloc.peak_bytes = base;
	ft_apply_err(&t, txn(NULL, 0, ops, COORD_TXN_OPS_MAX, NULL, 0),
		     COORD_EREPLYTOOBIG);
	ck_assert_uint_lt(t.alloc.peak_bytes - base,
			  4 * COORD_APPLY_REPLY_BYTES_MAX);
	ck_assert_ptr_nonnull(ft_kv(&t, "z"));
	ck_assert_uint_eq(ft_kv(&t, "z")->version, 1);
	/* Keys only: values are not returned, so not counted. */
	for (size_t i = 1; i < COORD_TXN_OPS_MAX; i++)
		ops[i].u.range.flags = PROTO_RANGE_KEYS_ONLY;
	r = ft_apply_ok(&t, txn(NULL, 0, ops + 1, COORD_TXN_OPS_MAX - 1, NULL,
				0));
	ck_assert_uint_eq(r->u.txn.n_replies, COORD_TXN_OPS_MAX - 1);
	/* A sorted range holds every key before its limit: all count. */
	ops[1] = op_range("b", "c", 0, 0);
	ops[1].u.range.sort_target = PROTO_SORT_MOD;
	ops[1].u.range.sort_order = PROTO_SORT_DESCEND;
	ops[1].u.range.limit = 1;
	ops[2] = ops[1];
	ft_apply_err(&t, txn(NULL, 0, ops + 1, 2, NULL, 0),
		     COORD_EREPLYTOOBIG);
	/* A limit without a sort stops collecting: 60 ranges of one key
	 * each fit (two whole ones did not). */
	for (size_t i = 1; i <= 60; i++) {
		ops[i] = op_range("b", "c", 0, 0);
		ops[i].u.range.limit = 1;
	}
	ft_apply_ok(&t, txn(NULL, 0, ops + 1, 60, NULL, 0));
	/* A plain range is a read: the net layer bounds it, not this. */
	ck_assert_uint_eq(ft_get(&t, ft_range("b", "c", 0))->n_kvs, BIG_KEYS);
	ft_fsm_close(&t);
}
END_TEST

static void prev_kv_limits(struct ft_fsm *t, uint64_t *hash)
{
	struct proto_op ops[2];
	char value[101];

	memset(value, 'v', 100);
	value[100] = '\0';
	ft_apply_ok(t, ft_put("a", value, 0));
	ft_apply_ok(t, ft_put("b", value, 0));
	/* 64 + 1 + 100 bytes each: one fits in 200, two do not. */
	ops[0] = op_put("a", "1", 0);
	ops[1] = op_put("b", "1", 0);
	ft_apply_err(t, txn(NULL, 0, ops, 2, NULL, 0), COORD_EREPLYTOOBIG);
	ck_assert(ft_apply_ok(t, txn(NULL, 0, ops, 1, NULL, 0))
			  ->u.txn.replies[0].u.put.has_prev_kv);
	ft_apply_err(t, ft_del("a", "c", 0, true), COORD_EREPLYTOOBIG);
	/* A delete's prev_kvs after a put: the put is undone too. */
	ops[0] = op_put("x", "1", 0);
	ops[1] = op_del("a", "c", 0);
	ft_apply_err(t, txn(NULL, 0, ops, 2, NULL, 0), COORD_EREPLYTOOBIG);
	ck_assert_uint_eq(ft_apply_ok(t, ft_del("a", "c", 0, false))
				  ->u.del.deleted, 2);
	*hash = ft_hash(t);
}

START_TEST(prev_kv_counts_against_the_reply_limit_the_same_on_every_replica)
{
	struct fsm_config cfg;
	struct ft_fsm a, b;
	uint64_t ha, hb;

	ft_config_default(&cfg);
	cfg.reply_bytes_max = 200;
	ft_fsm_open(&a, &cfg);
	ft_fsm_open(&b, &cfg);
	prev_kv_limits(&a, &ha);
	prev_kv_limits(&b, &hb);
	ck_assert_uint_eq(ha, hb);
	cfg.reply_bytes_max = 0;
	ft_code_eq(fsm_new(&cfg, a.backend, &a.f), COORD_EINVAL);
	ft_fsm_close(&a);
	ft_fsm_close(&b);
}
END_TEST

/* A compound literal of the entry, for fsm_apply_entry(). */
#define ENTRY(client, seq, now, cmd)                                         \
	(&(struct proto_entry[1]){ ft_entry((client), (seq), (now), (cmd)) }[0])

START_TEST(client_table_keeps_a_bounded_reply_and_the_reply_buffer_shrinks)
{
	struct proto_op ops[COORD_TXN_OPS_MAX];
	struct fsm_entry_result res;
	struct ft_fsm t;
	size_t base;
	uint64_t id;

	ft_fsm_open(&t, NULL);
	put_big_keys(&t);
	ft_code_eq(fsm_apply_entry(t.f, ++t.index, ENTRY(0, 0, 1, ft_register(0)),
				   0, &res),
		   COORD_OK);
	ft_code_eq(res.res.reply.code, COORD_OK);
	id = res.res.reply.u.register_client.client_id;
	for (size_t i = 0; i < COORD_TXN_OPS_MAX; i++)
		ops[i] = op_range("b", "c", 0, 0);
	/* Refused: what is stored and sent is the small error reply. */
	ft_code_eq(fsm_apply_entry(t.f, ++t.index,
				   ENTRY(id, 1, 1,
					   txn(NULL, 0, ops, COORD_TXN_OPS_MAX,
					       NULL, 0)),
				   0, &res),
		   COORD_OK);
	ft_code_eq(res.res.reply.code, COORD_EREPLYTOOBIG);
	ck_assert_uint_lt(res.reply_len, 64);
	/* A large reply that fits: its buffer goes with the next entry.
	 * (The base is taken after a small entry: an entry's arena lives
	 * until the next one.) */
	ft_code_eq(fsm_apply_entry(t.f, ++t.index,
				   ENTRY(id, 2, 1, ft_put("x", "0", 0)), 0,
				   &res),
		   COORD_OK);
	base = t.alloc.live_bytes;
	ft_code_eq(fsm_apply_entry(t.f, ++t.index,
				   ENTRY(id, 3, 1,
					   txn(NULL, 0, ops, 1, NULL, 0)),
				   0, &res),
		   COORD_OK);
	ft_code_eq(res.res.reply.code, COORD_OK);
	ck_assert_uint_gt(res.reply_len, BIG_KEYS * BIG_VALUE_BYTES);
	ft_code_eq(fsm_apply_entry(t.f, ++t.index,
				   ENTRY(id, 4, 1, ft_put("x", "1", 0)),
				   0, &res),
		   COORD_OK);
	ft_code_eq(res.res.reply.code, COORD_OK);
	/* That entry still read the client's record with the large reply
	 * (its ack drops it): the one after it holds only small ones. */
	ft_code_eq(fsm_apply_entry(t.f, ++t.index,
				   ENTRY(id, 5, 1, ft_put("x", "2", 0)),
				   0, &res),
		   COORD_OK);
	ft_code_eq(res.res.reply.code, COORD_OK);
	ck_assert_uint_lt(t.alloc.live_bytes, base + 64 * 1024);
	ft_fsm_close(&t);
}
END_TEST

Suite *fsm_txn_suite(void)
{
	Suite *s = suite_create("fsm_txn");

	FT_ADD(s, txn_compares_every_target_with_every_result);
	FT_ADD(s, txn_compare_on_a_missing_key);
	FT_ADD(s, txn_runs_success_only_when_every_compare_holds);
	FT_ADD(s, txn_branch_sees_its_own_writes);
	FT_ADD(s, txn_writes_share_one_revision_in_op_order);
	FT_ADD(s, txn_that_writes_nothing_keeps_the_revision);
	FT_ADD(s, txn_with_too_many_ops_is_etxntoobig);
	FT_ADD(s, txn_writing_a_key_twice_is_edupkey);
	FT_ADD(s, txn_rejects_bad_compares_and_ops_before_any_write);
	FT_ADD(s, txn_state_checks_of_the_chosen_branch_fail_the_whole_txn);
	FT_ADD(s, txn_put_with_unknown_lease_is_elease);
	FT_ADD(s, txn_range_results_past_the_reply_limit_fail_and_write_nothing);
	FT_ADD(s, prev_kv_counts_against_the_reply_limit_the_same_on_every_replica);
	FT_ADD(s, client_table_keeps_a_bounded_reply_and_the_reply_buffer_shrinks);
	return s;
}
