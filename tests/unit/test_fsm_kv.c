/*
 * tests/unit/test_fsm_kv.c: put, range and delete of the fsm keyspace, and
 * the errors of each.
 */
#include <string.h>

#include "tests/unit/fsm_test.h"
#include "tests/unit/test_fsm.h"

START_TEST(put_creates_key_at_next_revision)
{
	struct ft_fsm t;
	const struct proto_reply *r;

	ft_fsm_open(&t, NULL);
	ck_assert_uint_eq(fsm_revision(t.f), 0);
	r = ft_apply_ok(&t, ft_put("a", "1", 0));
	ck_assert_uint_eq(r->revision, 1);
	ck_assert(!r->u.put.has_prev_kv);
	ft_kv_check(ft_kv(&t, "a"), "a", "1", 1, 1, 1, 0);
	ck_assert_uint_eq(t.res.n_events, 1);
	ck_assert_uint_eq(t.res.events[0].type, PROTO_EVENT_PUT);
	ft_kv_check(&t.res.events[0].kv, "a", "1", 1, 1, 1, 0);
	ck_assert(!t.res.events[0].has_prev_kv);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(put_overwrite_bumps_version_and_keeps_create_revision)
{
	struct ft_fsm t;

	ft_fsm_open(&t, NULL);
	ft_apply_ok(&t, ft_put("a", "1", 0));
	ft_apply_ok(&t, ft_put("b", "x", 0));
	ft_apply_ok(&t, ft_put("a", "2", 0));
	ft_kv_check(ft_kv(&t, "a"), "a", "2", 1, 3, 2, 0);
	ft_kv_check(&t.res.events[0].prev_kv, "a", "1", 1, 1, 1, 0);
	ck_assert(t.res.events[0].has_prev_kv);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(put_prev_kv_returns_the_replaced_version)
{
	struct ft_fsm t;
	const struct proto_reply *r;

	ft_fsm_open(&t, NULL);
	r = ft_apply_ok(&t, ft_put_b(ft_s("k"), ft_s("v1"), 0, true));
	ck_assert(!r->u.put.has_prev_kv);
	r = ft_apply_ok(&t, ft_put_b(ft_s("k"), ft_s("v2"), 0, true));
	ck_assert(r->u.put.has_prev_kv);
	ft_kv_check(&r->u.put.prev_kv, "k", "v1", 1, 1, 1, 0);
	/* Without asking: nothing. */
	r = ft_apply_ok(&t, ft_put("k", "v3", 0));
	ck_assert(!r->u.put.has_prev_kv);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(put_empty_value_is_a_value)
{
	struct ft_fsm t;

	ft_fsm_open(&t, NULL);
	ft_apply_ok(&t, ft_put("k", "", 0));
	ft_kv_check(ft_kv(&t, "k"), "k", "", 1, 1, 1, 0);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(put_empty_key_is_einval)
{
	struct ft_fsm t;

	ft_fsm_open(&t, NULL);
	ft_apply_err(&t, ft_put("", "v", 0), COORD_EINVAL);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(put_key_too_big_is_rejected_before_any_change)
{
	struct fsm_config cfg;
	struct ft_fsm t;

	ft_config_default(&cfg);
	cfg.key_bytes_max = 3;
	ft_fsm_open(&t, &cfg);
	ft_apply_ok(&t, ft_put("abc", "v", 0));
	ft_apply_err(&t, ft_put("abcd", "v", 0), COORD_EKEYTOOBIG);
	/* The applied index moved: the command was applied, as a no-op. */
	ck_assert_uint_eq(fsm_applied_index(t.f), 2);
	ck_assert_uint_eq(fsm_revision(t.f), 1);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(put_value_too_big_is_evaluetoobig)
{
	struct fsm_config cfg;
	struct ft_fsm t;

	ft_config_default(&cfg);
	cfg.value_bytes_max = 2;
	ft_fsm_open(&t, &cfg);
	ft_apply_ok(&t, ft_put("k", "12", 0));
	ft_apply_err(&t, ft_put("k", "123", 0), COORD_EVALUETOOBIG);
	ft_kv_check(ft_kv(&t, "k"), "k", "12", 1, 1, 1, 0);
	ft_fsm_close(&t);
}
END_TEST

static bool lease_exists_odd(void *ctx, uint64_t lease)
{
	(void)ctx;
	return lease % 2 == 1;
}

START_TEST(put_with_unknown_lease_is_elease)
{
	struct fsm_config cfg;
	struct ft_fsm t;

	ft_config_default(&cfg);
	cfg.lease_exists = lease_exists_odd;
	ft_fsm_open(&t, &cfg);
	ft_apply_ok(&t, ft_put("k", "v", 7));
	ft_kv_check(ft_kv(&t, "k"), "k", "v", 1, 1, 1, 7);
	ft_apply_err(&t, ft_put("k", "v", 8), COORD_ELEASE);
	ft_apply_ok(&t, ft_put("k", "w", 0));
	ft_kv_check(ft_kv(&t, "k"), "k", "w", 1, 2, 2, 0);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(range_single_key_of_a_missing_key_is_empty)
{
	struct ft_fsm t;
	const struct proto_range_reply *r;

	ft_fsm_open(&t, NULL);
	ft_apply_ok(&t, ft_put("ab", "1", 0));
	r = ft_get(&t, ft_range("a", NULL, 0));
	ck_assert_uint_eq(r->n_kvs, 0);
	ck_assert_uint_eq(r->count, 0);
	ck_assert(!r->more);
	ck_assert_ptr_null(ft_kv(&t, "abc"));
	ft_fsm_close(&t);
}
END_TEST

/* Puts keys with value = key, one revision each. */
static void put_keys(struct ft_fsm *t, const char *const *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ft_apply_ok(t, ft_put(keys[i], keys[i], 0));
}

static void check_keys(const struct proto_range_reply *r,
		       const char *const *want, size_t n)
{
	ck_assert_uint_eq(r->n_kvs, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(proto_bytes_eq(r->kvs[i].key, ft_s(want[i])),
			      "kv %zu is %.*s, want %s", i,
			      (int)r->kvs[i].key.len,
			      (const char *)r->kvs[i].key.data, want[i]);
}

START_TEST(range_prefix_selects_exactly_the_keys_with_the_prefix)
{
	static const char *const keys[] = { "a", "ab", "abc", "abd", "ac",
					    "b" };
	static const char *const want[] = { "ab", "abc", "abd" };
	struct ft_fsm t;

	ft_fsm_open(&t, NULL);
	put_keys(&t, keys, 6);
	check_keys(ft_get(&t, ft_range("ab", NULL, PROTO_RANGE_PREFIX)), want,
		   3);
	/* The empty prefix: every key. */
	check_keys(ft_get(&t, ft_range("", NULL, PROTO_RANGE_PREFIX)), keys, 6);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(range_prefix_ending_in_0xff_bytes)
{
	struct ft_fsm t;
	struct proto_range r;
	const struct proto_range_reply *rr;
	struct proto_cmd c;

	ft_fsm_open(&t, NULL);
	c = ft_put_b(FT_B("a\xff"), FT_B("1"), 0, false);
	ft_apply_ok(&t, c);
	c = ft_put_b(FT_B("a\xff\x00"), FT_B("2"), 0, false);
	ft_apply_ok(&t, c);
	c = ft_put_b(FT_B("a\xff\xff"), FT_B("3"), 0, false);
	ft_apply_ok(&t, c);
	c = ft_put_b(FT_B("b"), FT_B("4"), 0, false);
	ft_apply_ok(&t, c);
	c = ft_put_b(FT_B("\xff\xff"), FT_B("5"), 0, false);
	ft_apply_ok(&t, c);
	r = ft_range(NULL, NULL, PROTO_RANGE_PREFIX);
	r.key = FT_B("a\xff");
	rr = ft_get(&t, r);
	ck_assert_uint_eq(rr->n_kvs, 3);
	ck_assert(proto_bytes_eq(rr->kvs[2].key, FT_B("a\xff\xff")));
	/* All 0xff: no upper bound. */
	r.key = FT_B("\xff");
	rr = ft_get(&t, r);
	ck_assert_uint_eq(rr->n_kvs, 1);
	ck_assert(proto_bytes_eq(rr->kvs[0].key, FT_B("\xff\xff")));
	ft_fsm_close(&t);
}
END_TEST

START_TEST(range_from_selects_every_key_at_or_after)
{
	static const char *const keys[] = { "a", "b", "ba", "c" };
	struct ft_fsm t;

	ft_fsm_open(&t, NULL);
	put_keys(&t, keys, 4);
	check_keys(ft_get(&t, ft_range("b", NULL, PROTO_RANGE_FROM)), keys + 1,
		   3);
	check_keys(ft_get(&t, ft_range("", NULL, PROTO_RANGE_FROM)), keys, 4);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(range_interval_is_half_open)
{
	static const char *const keys[] = { "a", "b", "ba", "c" };
	struct ft_fsm t;

	ft_fsm_open(&t, NULL);
	put_keys(&t, keys, 4);
	check_keys(ft_get(&t, ft_range("a", "c", 0)), keys, 3);
	check_keys(ft_get(&t, ft_range("b", "ba", 0)), keys + 1, 1);
	/* From the start of the keyspace. */
	check_keys(ft_get(&t, ft_range("", "b", 0)), keys, 1);
	/* end <= key: nothing. */
	ck_assert_uint_eq(ft_get(&t, ft_range("c", "a", 0))->count, 0);
	ck_assert_uint_eq(ft_get(&t, ft_range("b", "b", 0))->count, 0);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(keys_with_zero_and_0xff_bytes_keep_byte_order)
{
	/* In memcmp order, as the escaping must preserve. */
	static const struct proto_bytes keys[] = {
		{ (const uint8_t *)"\x00", 1 },
		{ (const uint8_t *)"\x00\x00", 2 },
		{ (const uint8_t *)"\x00\x01", 2 },
		{ (const uint8_t *)"a", 1 },
		{ (const uint8_t *)"a\x00", 2 },
		{ (const uint8_t *)"a\x00\x00", 3 },
		{ (const uint8_t *)"a\x00\xff", 3 },
		{ (const uint8_t *)"a\x01", 2 },
		{ (const uint8_t *)"a\xff", 2 },
		{ (const uint8_t *)"\xff", 1 },
	};
	static const size_t order[] = { 5, 0, 9, 3, 7, 1, 8, 2, 6, 4 };
	const struct proto_range_reply *r;
	struct proto_range q;
	struct ft_fsm t;

	ft_fsm_open(&t, NULL);
	for (size_t i = 0; i < 10; i++)
		ft_apply_ok(&t, ft_put_b(keys[order[i]], FT_B("v"), 0, false));
	r = ft_get(&t, ft_range("", NULL, PROTO_RANGE_PREFIX));
	ck_assert_uint_eq(r->n_kvs, 10);
	for (size_t i = 0; i < 10; i++)
		ck_assert(proto_bytes_eq(r->kvs[i].key, keys[i]));
	/* Each is found alone, and its prefix range holds its extensions. */
	for (size_t i = 0; i < 10; i++) {
		q = ft_range(NULL, NULL, 0);
		q.key = keys[i];
		r = ft_get(&t, q);
		ck_assert_uint_eq(r->n_kvs, 1);
		ck_assert(proto_bytes_eq(r->kvs[0].key, keys[i]));
	}
	q = ft_range(NULL, NULL, PROTO_RANGE_PREFIX);
	q.key = keys[4];    /* "a\0": a\0, a\0\0, a\0\xff */
	ck_assert_uint_eq(ft_get(&t, q)->count, 3);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(range_limit_cuts_kvs_and_reports_count_and_more)
{
	static const char *const keys[] = { "a", "b", "c", "d" };
	struct ft_fsm t;
	struct proto_range q = ft_range("", NULL, PROTO_RANGE_PREFIX);
	const struct proto_range_reply *r;

	ft_fsm_open(&t, NULL);
	put_keys(&t, keys, 4);
	q.limit = 2;
	r = ft_get(&t, q);
	check_keys(r, keys, 2);
	ck_assert_uint_eq(r->count, 4);
	ck_assert(r->more);
	q.limit = 4;
	r = ft_get(&t, q);
	ck_assert_uint_eq(r->n_kvs, 4);
	ck_assert(!r->more);
	q.limit = 0;
	ck_assert(!ft_get(&t, q)->more);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(range_keys_only_and_count_only)
{
	static const char *const keys[] = { "a", "b", "c" };
	struct ft_fsm t;
	struct proto_range q = ft_range("a", "c", PROTO_RANGE_KEYS_ONLY);
	const struct proto_range_reply *r;

	ft_fsm_open(&t, NULL);
	put_keys(&t, keys, 3);
	r = ft_get(&t, q);
	check_keys(r, keys, 2);
	ck_assert_uint_eq(r->kvs[0].value.len, 0);
	ck_assert_uint_eq(r->kvs[0].version, 1);
	q.flags = PROTO_RANGE_COUNT_ONLY;
	q.limit = 1;
	r = ft_get(&t, q);
	ck_assert_uint_eq(r->n_kvs, 0);
	ck_assert_uint_eq(r->count, 2);
	ck_assert(!r->more);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(range_sorts_by_every_target_in_both_orders)
{
	struct ft_fsm t;
	struct proto_range q = ft_range("", NULL, PROTO_RANGE_PREFIX);
	const struct proto_range_reply *r;

	ft_fsm_open(&t, NULL);
	ft_apply_ok(&t, ft_put("b", "3", 0));   /* rev 1 */
	ft_apply_ok(&t, ft_put("a", "2", 0));   /* rev 2 */
	ft_apply_ok(&t, ft_put("c", "1", 0));   /* rev 3 */
	ft_apply_ok(&t, ft_put("b", "0", 0));   /* rev 4: b v2 */
	ft_apply_ok(&t, ft_put("d", "1", 0));   /* rev 5: value ties c */

	static const struct {
		uint8_t target, order;
		const char *want[4];
	} cases[] = {
		{ PROTO_SORT_KEY, PROTO_SORT_NONE, { "a", "b", "c", "d" } },
		{ PROTO_SORT_KEY, PROTO_SORT_ASCEND, { "a", "b", "c", "d" } },
		{ PROTO_SORT_KEY, PROTO_SORT_DESCEND, { "d", "c", "b", "a" } },
		{ PROTO_SORT_VALUE, PROTO_SORT_ASCEND, { "b", "c", "d", "a" } },
		{ PROTO_SORT_VALUE, PROTO_SORT_DESCEND, { "a", "c", "d", "b" } },
		/* Target without order: ascending, as etcd. */
		{ PROTO_SORT_VALUE, PROTO_SORT_NONE, { "b", "c", "d", "a" } },
		{ PROTO_SORT_CREATE, PROTO_SORT_ASCEND, { "b", "a", "c", "d" } },
		{ PROTO_SORT_CREATE, PROTO_SORT_DESCEND, { "d", "c", "a", "b" } },
		{ PROTO_SORT_MOD, PROTO_SORT_ASCEND, { "a", "c", "b", "d" } },
		{ PROTO_SORT_MOD, PROTO_SORT_DESCEND, { "d", "b", "c", "a" } },
		/* Ties (version 1) by key, ascending, in either order. */
		{ PROTO_SORT_VERSION, PROTO_SORT_ASCEND, { "a", "c", "d", "b" } },
		{ PROTO_SORT_VERSION, PROTO_SORT_DESCEND, { "b", "a", "c", "d" } },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		q.sort_target = cases[i].target;
		q.sort_order = cases[i].order;
		q.limit = 0;
		check_keys(ft_get(&t, q), cases[i].want, 4);
		/* The limit applies after sorting; keys only drops values. */
		q.limit = 2;
		q.flags |= PROTO_RANGE_KEYS_ONLY;
		r = ft_get(&t, q);
		check_keys(r, cases[i].want, 2);
		ck_assert_uint_eq(r->kvs[0].value.len, 0);
		ck_assert(r->more);
		q.flags &= ~PROTO_RANGE_KEYS_ONLY;
	}
	ft_fsm_close(&t);
}
END_TEST

START_TEST(range_at_a_past_revision_sees_the_versions_of_then)
{
	struct ft_fsm t;
	struct proto_range q = ft_range("", NULL, PROTO_RANGE_PREFIX);
	const struct proto_range_reply *r;

	ft_fsm_open(&t, NULL);
	ft_apply_ok(&t, ft_put("a", "1", 0));                 /* 1 */
	ft_apply_ok(&t, ft_put("b", "1", 0));                 /* 2 */
	ft_apply_ok(&t, ft_put("a", "2", 0));                 /* 3 */
	ft_apply_ok(&t, ft_del("b", NULL, 0, false));         /* 4 */
	ft_apply_ok(&t, ft_put("b", "again", 0));             /* 5 */
	q.revision = 1;
	r = ft_get(&t, q);
	ck_assert_uint_eq(r->n_kvs, 1);
	ft_kv_check(&r->kvs[0], "a", "1", 1, 1, 1, 0);
	q.revision = 3;
	r = ft_get(&t, q);
	ck_assert_uint_eq(r->n_kvs, 2);
	ft_kv_check(&r->kvs[0], "a", "2", 1, 3, 2, 0);
	ft_kv_check(&r->kvs[1], "b", "1", 2, 2, 1, 0);
	q.revision = 4;
	r = ft_get(&t, q);
	ck_assert_uint_eq(r->n_kvs, 1);
	q.revision = 5;
	r = ft_get(&t, q);
	ck_assert_uint_eq(r->n_kvs, 2);
	/* Recreated after a delete: a new life, version 1. */
	ft_kv_check(&r->kvs[1], "b", "again", 5, 5, 1, 0);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(range_at_a_future_revision_is_efuturerev)
{
	struct ft_fsm t;
	struct proto_range q = ft_range("a", NULL, 0);
	struct proto_reply reply;
	struct proto_cmd c;

	ft_fsm_open(&t, NULL);
	ft_apply_ok(&t, ft_put("a", "1", 0));
	q.revision = 2;
	ft_code_eq(fsm_range(t.f, &q, &reply), COORD_EFUTUREREV);
	ft_code_eq(reply.code, COORD_EFUTUREREV);
	ck_assert_uint_eq(reply.revision, 1);
	memset(&c, 0, sizeof(c));
	c.type = PROTO_CMD_RANGE;
	c.u.range = q;
	ft_apply_err(&t, c, COORD_EFUTUREREV);
	c.u.range.revision = 1;
	ck_assert_uint_eq(ft_apply_ok(&t, c)->u.range.count, 1);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(range_rejects_bad_selections_and_sorts)
{
	struct fsm_config cfg;
	struct ft_fsm t;
	struct proto_reply reply;
	struct proto_range q;
	static const struct {
		const char *key, *end;
		uint32_t flags;
		uint8_t order, target;
		int code;
	} cases[] = {
		{ "", NULL, 0, 0, 0, COORD_EINVAL },
		{ "a", NULL, PROTO_RANGE_PREFIX | PROTO_RANGE_FROM, 0, 0,
		  COORD_EINVAL },
		{ "a", "b", PROTO_RANGE_PREFIX, 0, 0, COORD_EINVAL },
		{ "a", "b", PROTO_RANGE_FROM, 0, 0, COORD_EINVAL },
		{ "a", NULL, 0x10, 0, 0, COORD_EINVAL },
		{ "a", NULL, 0, PROTO_SORT_ORDER_LAST + 1, 0, COORD_EINVAL },
		{ "a", NULL, 0, 0, PROTO_SORT_TARGET_LAST + 1, COORD_EINVAL },
		{ "abcd", NULL, 0, 0, 0, COORD_EKEYTOOBIG },
		{ "a", "abcd", 0, 0, 0, COORD_EKEYTOOBIG },
		{ "abcd", NULL, PROTO_RANGE_PREFIX, 0, 0, COORD_EKEYTOOBIG },
	};

	ft_config_default(&cfg);
	cfg.key_bytes_max = 3;
	ft_fsm_open(&t, &cfg);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		q = ft_range(cases[i].key, cases[i].end, cases[i].flags);
		q.sort_order = cases[i].order;
		q.sort_target = cases[i].target;
		ft_code_eq(fsm_range(t.f, &q, &reply), cases[i].code);
		ck_assert_uint_eq(reply.u.range.n_kvs, 0);
	}
	ft_fsm_close(&t);
}
END_TEST

START_TEST(delete_removes_one_key_and_reports_it)
{
	struct ft_fsm t;
	const struct proto_reply *r;

	ft_fsm_open(&t, NULL);
	ft_apply_ok(&t, ft_put("a", "1", 0));
	ft_apply_ok(&t, ft_put("ab", "2", 0));
	r = ft_apply_ok(&t, ft_del("a", NULL, 0, true));
	ck_assert_uint_eq(r->revision, 3);
	ck_assert_uint_eq(r->u.del.deleted, 1);
	ck_assert_uint_eq(r->u.del.n_prev_kvs, 1);
	ft_kv_check(&r->u.del.prev_kvs[0], "a", "1", 1, 1, 1, 0);
	ck_assert_uint_eq(t.res.n_events, 1);
	ck_assert_uint_eq(t.res.events[0].type, PROTO_EVENT_DELETE);
	ft_kv_check(&t.res.events[0].kv, "a", "", 0, 3, 0, 0);
	ft_kv_check(&t.res.events[0].prev_kv, "a", "1", 1, 1, 1, 0);
	ck_assert_ptr_null(ft_kv(&t, "a"));
	ck_assert_ptr_nonnull(ft_kv(&t, "ab"));
	ft_fsm_close(&t);
}
END_TEST

START_TEST(delete_of_nothing_keeps_the_revision)
{
	struct ft_fsm t;
	const struct proto_reply *r;

	ft_fsm_open(&t, NULL);
	ft_apply_ok(&t, ft_put("a", "1", 0));
	r = ft_apply_ok(&t, ft_del("b", NULL, 0, true));
	ck_assert_uint_eq(r->revision, 1);
	ck_assert_uint_eq(r->u.del.deleted, 0);
	ck_assert_uint_eq(t.res.n_events, 0);
	ft_apply_ok(&t, ft_del("a", NULL, 0, false));
	/* Deleting a deleted key: still nothing. */
	r = ft_apply_ok(&t, ft_del("a", NULL, 0, false));
	ck_assert_uint_eq(r->revision, 2);
	ck_assert_uint_eq(r->u.del.deleted, 0);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(delete_range_deletes_all_in_one_revision)
{
	static const char *const keys[] = { "a", "b", "ba", "bb", "c" };
	struct ft_fsm t;
	const struct proto_reply *r;

	ft_fsm_open(&t, NULL);
	put_keys(&t, keys, 5);
	r = ft_apply_ok(&t, ft_del("b", NULL, PROTO_RANGE_PREFIX, false));
	ck_assert_uint_eq(r->u.del.deleted, 3);
	ck_assert_uint_eq(r->u.del.n_prev_kvs, 0);
	ck_assert_uint_eq(r->revision, 6);
	ck_assert_uint_eq(t.res.n_events, 3);
	for (size_t i = 0; i < 3; i++)
		ck_assert_uint_eq(t.res.events[i].kv.mod_revision, 6);
	r = ft_apply_ok(&t, ft_del("a", "c", 0, true));
	ck_assert_uint_eq(r->u.del.deleted, 1);
	r = ft_apply_ok(&t, ft_del("", NULL, PROTO_RANGE_FROM, true));
	ck_assert_uint_eq(r->u.del.deleted, 1);
	ft_kv_check(&r->u.del.prev_kvs[0], "c", "c", 5, 5, 1, 0);
	ck_assert_uint_eq(ft_get(&t, ft_range("", NULL, PROTO_RANGE_PREFIX))->count,
			  0);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(delete_rejects_bad_selections)
{
	struct fsm_config cfg;
	struct ft_fsm t;

	ft_config_default(&cfg);
	cfg.key_bytes_max = 3;
	ft_fsm_open(&t, &cfg);
	ft_apply_ok(&t, ft_put("a", "1", 0));
	ft_apply_err(&t, ft_del("", NULL, 0, false), COORD_EINVAL);
	ft_apply_err(&t, ft_del("a", NULL, PROTO_RANGE_KEYS_ONLY, false),
		     COORD_EINVAL);
	ft_apply_err(&t, ft_del("a", "b", PROTO_RANGE_PREFIX, false),
		     COORD_EINVAL);
	ft_apply_err(&t, ft_del("a", "abcd", 0, false), COORD_EKEYTOOBIG);
	ck_assert_ptr_nonnull(ft_kv(&t, "a"));
	ft_fsm_close(&t);
}
END_TEST

START_TEST(unknown_command_type_is_einval)
{
	struct ft_fsm t;
	struct proto_cmd c;

	ft_fsm_open(&t, NULL);
	memset(&c, 0, sizeof(c));
	c.type = 200;
	ft_apply_err(&t, c, COORD_EINVAL);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(config_limits_are_validated)
{
	struct fsm_config cfg;
	struct fsm_backend *b;
	struct fsm *f = NULL;

	ck_assert_int_eq(fsm_backend_mem_new(NULL, &b), COORD_OK);
	ft_config_default(&cfg);
	cfg.key_bytes_max = 0;
	ft_code_eq(fsm_new(&cfg, b, &f), COORD_EINVAL);
	ft_config_default(&cfg);
	cfg.txn_ops_max = 0;
	ft_code_eq(fsm_new(&cfg, b, &f), COORD_EINVAL);
	ft_config_default(&cfg);
	cfg.value_bytes_max = (size_t)UINT32_MAX + 1;
	ft_code_eq(fsm_new(&cfg, b, &f), COORD_EINVAL);
	ft_config_default(&cfg);
	ft_code_eq(fsm_new(&cfg, NULL, &f), COORD_EINVAL);
	ck_assert_ptr_null(f);
	ft_code_eq(fsm_new(&cfg, b, &f), COORD_OK);
	fsm_free(f);
	fsm_free(NULL);
	fsm_backend_mem_free(b);
	fsm_backend_mem_free(NULL);
}
END_TEST

Suite *fsm_kv_suite(void)
{
	Suite *s = suite_create("fsm_kv");

	FT_ADD(s, put_creates_key_at_next_revision);
	FT_ADD(s, put_overwrite_bumps_version_and_keeps_create_revision);
	FT_ADD(s, put_prev_kv_returns_the_replaced_version);
	FT_ADD(s, put_empty_value_is_a_value);
	FT_ADD(s, put_empty_key_is_einval);
	FT_ADD(s, put_key_too_big_is_rejected_before_any_change);
	FT_ADD(s, put_value_too_big_is_evaluetoobig);
	FT_ADD(s, put_with_unknown_lease_is_elease);
	FT_ADD(s, range_single_key_of_a_missing_key_is_empty);
	FT_ADD(s, range_prefix_selects_exactly_the_keys_with_the_prefix);
	FT_ADD(s, range_prefix_ending_in_0xff_bytes);
	FT_ADD(s, range_from_selects_every_key_at_or_after);
	FT_ADD(s, range_interval_is_half_open);
	FT_ADD(s, keys_with_zero_and_0xff_bytes_keep_byte_order);
	FT_ADD(s, range_limit_cuts_kvs_and_reports_count_and_more);
	FT_ADD(s, range_keys_only_and_count_only);
	FT_ADD(s, range_sorts_by_every_target_in_both_orders);
	FT_ADD(s, range_at_a_past_revision_sees_the_versions_of_then);
	FT_ADD(s, range_at_a_future_revision_is_efuturerev);
	FT_ADD(s, range_rejects_bad_selections_and_sorts);
	FT_ADD(s, delete_removes_one_key_and_reports_it);
	FT_ADD(s, delete_of_nothing_keeps_the_revision);
	FT_ADD(s, delete_range_deletes_all_in_one_revision);
	FT_ADD(s, delete_rejects_bad_selections);
	FT_ADD(s, unknown_command_type_is_einval);
	FT_ADD(s, config_limits_are_validated);
	return s;
}
