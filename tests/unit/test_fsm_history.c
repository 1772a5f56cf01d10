/*
 * tests/unit/test_fsm_history.c: compaction, events (as applied and out
 * of history), the lease-end hook, the applied index, restarts over the
 * same backend, encoded commands and the state hash.
 */
#include <string.h>

#include "tests/unit/fsm_test.h"
#include "tests/unit/test_fsm.h"

static const struct proto_range_reply *get_at(struct ft_fsm *t, uint64_t rev)
{
	struct proto_range q = ft_range("", NULL, PROTO_RANGE_PREFIX);

	q.revision = rev;
	return ft_get(t, q);
}

static int range_code_at(struct ft_fsm *t, uint64_t rev)
{
	struct proto_range q = ft_range("", NULL, PROTO_RANGE_PREFIX);
	struct proto_reply reply;

	q.revision = rev;
	return fsm_range(t->f, &q, &reply);
}

START_TEST(compact_makes_older_revisions_unreadable)
{
	struct ft_fsm t;
	const struct proto_reply *r;

	ft_fsm_open(&t, NULL);
	ft_apply_ok(&t, ft_put("a", "1", 0));       /* 1 */
	ft_apply_ok(&t, ft_put("a", "2", 0));       /* 2 */
	ft_apply_ok(&t, ft_put("b", "1", 0));       /* 3 */
	ft_apply_ok(&t, ft_put("a", "3", 0));       /* 4 */
	r = ft_apply_ok(&t, ft_compact(3));
	ck_assert_uint_eq(r->revision, 4);          /* no new revision */
	ck_assert_uint_eq(r->compact_revision, 3);
	ck_assert_uint_eq(fsm_compact_revision(t.f), 3);
	ft_code_eq(range_code_at(&t, 1), COORD_ECOMPACTED);
	ft_code_eq(range_code_at(&t, 2), COORD_ECOMPACTED);
	/* At the compact revision itself: still readable. */
	ck_assert_uint_eq(get_at(&t, 3)->n_kvs, 2);
	ft_kv_check(&get_at(&t, 3)->kvs[0], "a", "2", 1, 2, 2, 0);
	ft_kv_check(&get_at(&t, 4)->kvs[0], "a", "3", 1, 4, 3, 0);
	ft_kv_check(&get_at(&t, 0)->kvs[1], "b", "1", 3, 3, 1, 0);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(compact_at_or_below_the_compact_revision_or_in_the_future_fails)
{
	struct ft_fsm t;

	ft_fsm_open(&t, NULL);
	ft_apply_err(&t, ft_compact(0), COORD_ECOMPACTED);
	ft_apply_err(&t, ft_compact(1), COORD_EFUTUREREV);
	ft_apply_ok(&t, ft_put("a", "1", 0));
	ft_apply_ok(&t, ft_put("a", "2", 0));
	ft_apply_ok(&t, ft_compact(2));             /* the current revision */
	ft_apply_err(&t, ft_compact(2), COORD_ECOMPACTED);
	ft_apply_err(&t, ft_compact(1), COORD_ECOMPACTED);
	ft_apply_err(&t, ft_compact(3), COORD_EFUTUREREV);
	ft_kv_check(ft_kv(&t, "a"), "a", "2", 1, 2, 2, 0);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(compact_deletes_superseded_versions_and_tombstones)
{
	struct ft_fsm t;
	size_t before, after;

	ft_fsm_open(&t, NULL);
	for (int i = 0; i < 20; i++)
		ft_apply_ok(&t, ft_put("hot", "v", 0));      /* 1..20 */
	ft_apply_ok(&t, ft_put("gone", "v", 0));            /* 21 */
	ft_apply_ok(&t, ft_del("gone", NULL, 0, false));    /* 22 */
	ft_apply_ok(&t, ft_put("cold", "v", 0));            /* 23 */
	before = fsm_backend_mem_count(t.backend);
	ft_apply_ok(&t, ft_compact(23));
	after = fsm_backend_mem_count(t.backend);
	/* Left: hot@20 and cold@23 ('k'), cold's 'r' record at 23, and
	 * the one meta record. */
	ck_assert_uint_eq(after, 2 + 1 + 1);
	ck_assert_uint_gt(before, after);
	ft_kv_check(ft_kv(&t, "hot"), "hot", "v", 1, 20, 20, 0);
	ck_assert_ptr_null(ft_kv(&t, "gone"));
	/* Further writes and compactions keep working on what is left. */
	ft_apply_ok(&t, ft_put("hot", "w", 0));             /* 24 */
	ft_apply_ok(&t, ft_compact(24));
	ft_kv_check(ft_kv(&t, "hot"), "hot", "w", 1, 24, 21, 0);
	/* hot@20 stays: the version before the change at 24, whose event
	 * (with its prev_kv) is still readable. */
	ck_assert_uint_eq(fsm_backend_mem_count(t.backend), 3 + 1 + 1);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(compact_keeps_what_reads_and_events_above_it_need)
{
	struct ft_fsm t;
	struct fsm_events ev;

	ft_fsm_open(&t, NULL);
	ft_apply_ok(&t, ft_put("a", "1", 0));       /* 1 */
	ft_apply_ok(&t, ft_put("b", "1", 0));       /* 2 */
	ft_apply_ok(&t, ft_put("a", "2", 0));       /* 3 */
	ft_apply_ok(&t, ft_del("b", NULL, 0, false)); /* 4 */
	ft_apply_ok(&t, ft_compact(3));
	ft_apply_ok(&t, ft_compact(4));
	/* Events from 4: the delete of b, with b's version before it. */
	ft_code_eq(fsm_events_read(t.f, 4, NULL, 0, FSM_EVENTS_PREV_KV, &ev),
		   COORD_OK);
	ck_assert_uint_eq(ev.n_events, 1);
	ck_assert_uint_eq(ev.events[0].type, PROTO_EVENT_DELETE);
	ck_assert(ev.events[0].has_prev_kv);
	ft_kv_check(&ev.events[0].prev_kv, "b", "1", 2, 2, 1, 0);
	ft_code_eq(fsm_events_read(t.f, 3, NULL, 0, 0, &ev), COORD_ECOMPACTED);
	ck_assert_uint_eq(get_at(&t, 4)->n_kvs, 1);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(apply_reports_events_with_prev_kv_only_when_asked)
{
	struct ft_fsm t;
	struct fsm_result res;
	struct proto_cmd c = ft_put("a", "2", 0);

	ft_fsm_open(&t, NULL);
	ft_apply_ok(&t, ft_put("a", "1", 0));
	ft_code_eq(fsm_apply(t.f, ++t.index, &c, FSM_EVENTS, &res), COORD_OK);
	ck_assert_uint_eq(res.n_events, 1);
	ck_assert(!res.events[0].has_prev_kv);
	c = ft_put("a", "3", 0);
	ft_code_eq(fsm_apply(t.f, ++t.index, &c, 0, &res), COORD_OK);
	ck_assert_uint_eq(res.n_events, 0);
	ck_assert_ptr_null(res.events);
	c = ft_del("a", NULL, 0, false);
	ft_code_eq(fsm_apply(t.f, ++t.index, &c, FSM_EVENTS | FSM_EVENTS_PREV_KV,
			     &res),
		   COORD_OK);
	ck_assert(res.events[0].has_prev_kv);
	ft_kv_check(&res.events[0].prev_kv, "a", "3", 1, 3, 3, 0);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(events_read_returns_history_in_revision_order)
{
	struct ft_fsm t;
	struct fsm_events ev;

	ft_fsm_open(&t, NULL);
	ft_apply_ok(&t, ft_put("a", "1", 0));       /* 1 */
	ft_apply_ok(&t, ft_put("b", "1", 0));       /* 2 */
	ft_apply_ok(&t, ft_put("a", "2", 0));       /* 3 */
	ft_apply_ok(&t, ft_del("", NULL, PROTO_RANGE_PREFIX, false)); /* 4 */
	ft_code_eq(fsm_events_read(t.f, 1, NULL, 0, 0, &ev), COORD_OK);
	ck_assert_uint_eq(ev.n_events, 5);
	ck_assert_uint_eq(ev.rev_next, 5);
	ft_kv_check(&ev.events[0].kv, "a", "1", 1, 1, 1, 0);
	ft_kv_check(&ev.events[2].kv, "a", "2", 1, 3, 2, 0);
	ck_assert(!ev.events[2].has_prev_kv);
	ck_assert_uint_eq(ev.events[3].type, PROTO_EVENT_DELETE);
	ft_kv_check(&ev.events[3].kv, "a", "", 0, 4, 0, 0);
	ft_kv_check(&ev.events[4].kv, "b", "", 0, 4, 0, 0);
	ft_code_eq(fsm_events_read(t.f, 3, NULL, 0, FSM_EVENTS_PREV_KV, &ev),
		   COORD_OK);
	ck_assert_uint_eq(ev.n_events, 3);
	ft_kv_check(&ev.events[0].prev_kv, "a", "1", 1, 1, 1, 0);
	ft_kv_check(&ev.events[2].prev_kv, "b", "1", 2, 2, 1, 0);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(events_read_filters_keys)
{
	struct ft_fsm t;
	struct fsm_events ev;
	struct proto_range filter = ft_range("b", NULL, PROTO_RANGE_PREFIX);

	ft_fsm_open(&t, NULL);
	ft_apply_ok(&t, ft_put("a", "1", 0));
	ft_apply_ok(&t, ft_put("ba", "1", 0));
	ft_apply_ok(&t, ft_put("c", "1", 0));
	ft_apply_ok(&t, ft_put("b", "1", 0));
	ft_code_eq(fsm_events_read(t.f, 1, &filter, 0, 0, &ev), COORD_OK);
	ck_assert_uint_eq(ev.n_events, 2);
	ck_assert(proto_bytes_eq(ev.events[0].kv.key, ft_s("ba")));
	ck_assert(proto_bytes_eq(ev.events[1].kv.key, ft_s("b")));
	ck_assert_uint_eq(ev.rev_next, 5);
	filter = ft_range("c", NULL, 0);
	ft_code_eq(fsm_events_read(t.f, 1, &filter, 0, 0, &ev), COORD_OK);
	ck_assert_uint_eq(ev.n_events, 1);
	filter = ft_range("", NULL, 0);
	ft_code_eq(fsm_events_read(t.f, 1, &filter, 0, 0, &ev), COORD_EINVAL);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(events_read_never_splits_a_revision)
{
	struct ft_fsm t;
	struct fsm_events ev;

	ft_fsm_open(&t, NULL);
	ft_apply_ok(&t, ft_put("a", "1", 0));       /* 1 */
	ft_apply_ok(&t, ft_put("b", "1", 0));       /* 2 */
	ft_apply_ok(&t, ft_put("c", "1", 0));       /* 3 */
	ft_apply_ok(&t, ft_del("", NULL, PROTO_RANGE_PREFIX, false)); /* 4: 3 */
	ft_apply_ok(&t, ft_put("d", "1", 0));       /* 5 */
	ft_code_eq(fsm_events_read(t.f, 1, NULL, 2, 0, &ev), COORD_OK);
	ck_assert_uint_eq(ev.n_events, 2);
	ck_assert_uint_eq(ev.rev_next, 3);
	ft_code_eq(fsm_events_read(t.f, ev.rev_next, NULL, 2, 0, &ev), COORD_OK);
	ck_assert_uint_eq(ev.n_events, 1);
	ck_assert_uint_eq(ev.rev_next, 4);
	/* Revision 4 alone has 3 events: all of them come, then stop. */
	ft_code_eq(fsm_events_read(t.f, ev.rev_next, NULL, 2, 0, &ev), COORD_OK);
	ck_assert_uint_eq(ev.n_events, 3);
	ck_assert_uint_eq(ev.rev_next, 5);
	ft_code_eq(fsm_events_read(t.f, ev.rev_next, NULL, 2, 0, &ev), COORD_OK);
	ck_assert_uint_eq(ev.n_events, 1);
	ck_assert_uint_eq(ev.rev_next, 6);
	/* Caught up: nothing, same place. */
	ft_code_eq(fsm_events_read(t.f, 6, NULL, 2, 0, &ev), COORD_OK);
	ck_assert_uint_eq(ev.n_events, 0);
	ck_assert_uint_eq(ev.rev_next, 6);
	ft_code_eq(fsm_events_read(t.f, 60, NULL, 2, 0, &ev), COORD_OK);
	ck_assert_uint_eq(ev.rev_next, 60);
	ft_code_eq(fsm_events_read(t.f, 0, NULL, 2, 0, &ev), COORD_EINVAL);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(lease_end_deletes_every_attached_key_in_one_revision)
{
	struct ft_fsm t;
	const struct proto_reply *r;

	ft_fsm_open(&t, NULL);
	ft_apply_ok(&t, ft_put("a", "1", 7));
	ft_apply_ok(&t, ft_put("b", "1", 7));
	ft_apply_ok(&t, ft_put("c", "1", 8));
	ft_apply_ok(&t, ft_put("d", "1", 7));
	ft_apply_ok(&t, ft_put("d", "2", 8));   /* moved to lease 8 */
	ft_apply_ok(&t, ft_put("e", "1", 7));
	ft_apply_ok(&t, ft_put("e", "2", 0));   /* detached */
	ft_apply_ok(&t, ft_put("f", "1", 7));
	ft_apply_ok(&t, ft_del("f", NULL, 0, false));
	r = ft_apply_ok(&t, ft_lease_end(7));
	ck_assert_uint_eq(r->u.lease_end.deleted, 2);
	ck_assert_uint_eq(r->revision, 10);
	ck_assert_uint_eq(t.res.n_events, 2);
	ck_assert(proto_bytes_eq(t.res.events[0].kv.key, ft_s("a")));
	ck_assert_uint_eq(t.res.events[1].type, PROTO_EVENT_DELETE);
	ft_kv_check(&t.res.events[1].prev_kv, "b", "1", 2, 2, 1, 7);
	ck_assert_uint_eq(ft_get(&t, ft_range("", NULL, PROTO_RANGE_PREFIX))->count,
			  3);
	/* Nothing left under 7: no revision. */
	r = ft_apply_ok(&t, ft_lease_end(7));
	ck_assert_uint_eq(r->u.lease_end.deleted, 0);
	ck_assert_uint_eq(r->revision, 10);
	r = ft_apply_ok(&t, ft_lease_end(8));
	ck_assert_uint_eq(r->u.lease_end.deleted, 2);
	ft_apply_err(&t, ft_lease_end(0), COORD_EINVAL);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(applied_index_only_moves_forward)
{
	struct ft_fsm t;
	struct fsm_result res;
	struct proto_cmd c = ft_put("a", "1", 0);

	ft_fsm_open(&t, NULL);
	ft_code_eq(fsm_apply(t.f, 5, &c, 0, &res), COORD_OK);
	ck_assert_uint_eq(fsm_applied_index(t.f), 5);
	ft_code_eq(fsm_apply(t.f, 5, &c, 0, &res), COORD_EINVAL);
	ft_code_eq(fsm_apply(t.f, 4, &c, 0, &res), COORD_EINVAL);
	ft_code_eq(fsm_apply_data(t.f, 3, NULL, 0, 0, &res), COORD_EINVAL);
	ck_assert_uint_eq(fsm_revision(t.f), 1);
	/* Gaps are fine (Raft entries that are not commands). */
	ft_code_eq(fsm_apply(t.f, 9, &c, 0, &res), COORD_OK);
	ck_assert_uint_eq(fsm_applied_index(t.f), 9);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(restart_on_the_same_backend_finds_the_same_state)
{
	struct ft_fsm t;
	uint64_t hash;

	ft_fsm_open(&t, NULL);
	ft_apply_ok(&t, ft_put("a", "1", 0));
	ft_apply_ok(&t, ft_put("a", "2", 0));
	ft_apply_ok(&t, ft_put("b", "1", 0));
	ft_apply_ok(&t, ft_compact(2));
	ft_apply_err(&t, ft_put("", "", 0), COORD_EINVAL);
	hash = ft_hash(&t);
	fsm_free(t.f);
	ft_code_eq(fsm_new(&t.cfg, t.backend, &t.f), COORD_OK);
	ck_assert_uint_eq(fsm_revision(t.f), 3);
	ck_assert_uint_eq(fsm_compact_revision(t.f), 2);
	ck_assert_uint_eq(fsm_applied_index(t.f), 5);
	ck_assert_uint_eq(ft_hash(&t), hash);
	ft_kv_check(ft_kv(&t, "a"), "a", "2", 1, 2, 2, 0);
	ft_apply_ok(&t, ft_put("a", "3", 0));
	ft_kv_check(ft_kv(&t, "a"), "a", "3", 1, 4, 3, 0);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(apply_data_decodes_and_applies)
{
	struct ft_fsm t;
	struct fsm_result res;
	struct proto_buf buf;
	struct proto_cmd c = ft_put("k", "v", 0);
	static const uint8_t junk[] = { 0x92, 0x01 };

	ft_fsm_open(&t, NULL);
	proto_buf_init(&buf, NULL);
	ft_code_eq(proto_cmd_encode(&c, &buf), COORD_OK);
	ft_code_eq(fsm_apply_data(t.f, 1, buf.data, buf.len, FSM_EVENTS, &res),
		   COORD_OK);
	ft_code_eq(res.reply.code, COORD_OK);
	ck_assert_uint_eq(res.reply.type, PROTO_CMD_PUT);
	ck_assert_uint_eq(res.n_events, 1);
	ft_kv_check(ft_kv(&t, "k"), "k", "v", 1, 1, 1, 0);
	/* Undecodable: applied as a no-op, the index moves. */
	ft_code_eq(fsm_apply_data(t.f, 2, junk, sizeof(junk), 0, &res),
		   COORD_OK);
	ft_code_eq(res.reply.code, COORD_EMALFORMED);
	ck_assert_uint_eq(res.reply.type, 0);
	ck_assert_uint_eq(res.reply.revision, 1);
	ck_assert_uint_eq(fsm_applied_index(t.f), 2);
	ft_code_eq(fsm_apply_data(t.f, 3, NULL, 0, 0, &res), COORD_OK);
	ft_code_eq(res.reply.code, COORD_EMALFORMED);
	proto_buf_close(&buf);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(equal_commands_give_equal_hashes_and_bytes)
{
	struct ft_fsm a, b;
	uint8_t *da, *db;
	size_t la, lb;

	ft_fsm_open(&a, NULL);
	ft_fsm_open(&b, NULL);
	ck_assert_uint_eq(ft_hash(&a), ft_hash(&b));
	for (int i = 0; i < 2; i++) {
		struct ft_fsm *t = i == 0 ? &a : &b;

		ft_apply_ok(t, ft_put("x", "1", 3));
		ft_apply_ok(t, ft_put("y", "2", 0));
		ft_apply_ok(t, ft_del("x", NULL, 0, false));
		ft_apply_ok(t, ft_compact(2));
	}
	ck_assert_uint_eq(ft_hash(&a), ft_hash(&b));
	da = ft_backend_dump(a.backend, &la);
	db = ft_backend_dump(b.backend, &lb);
	ck_assert_uint_eq(la, lb);
	ck_assert_int_eq(memcmp(da, db, la), 0);
	free(da);
	free(db);
	/* A different value: a different hash. */
	ft_apply_ok(&a, ft_put("y", "3", 0));
	ft_apply_ok(&b, ft_put("y", "4", 0));
	ck_assert_uint_ne(ft_hash(&a), ft_hash(&b));
	ft_fsm_close(&a);
	ft_fsm_close(&b);
}
END_TEST

START_TEST(hash_ignores_the_applied_index)
{
	struct ft_fsm t;
	uint64_t h;

	ft_fsm_open(&t, NULL);
	ft_apply_ok(&t, ft_put("x", "1", 0));
	h = ft_hash(&t);
	/* A rejected command moves only the applied index. */
	ft_apply_err(&t, ft_put("", "1", 0), COORD_EINVAL);
	ck_assert_uint_eq(ft_hash(&t), h);
	ft_fsm_close(&t);
}
END_TEST

Suite *fsm_history_suite(void)
{
	Suite *s = suite_create("fsm_history");

	FT_ADD(s, compact_makes_older_revisions_unreadable);
	FT_ADD(s, compact_at_or_below_the_compact_revision_or_in_the_future_fails);
	FT_ADD(s, compact_deletes_superseded_versions_and_tombstones);
	FT_ADD(s, compact_keeps_what_reads_and_events_above_it_need);
	FT_ADD(s, apply_reports_events_with_prev_kv_only_when_asked);
	FT_ADD(s, events_read_returns_history_in_revision_order);
	FT_ADD(s, events_read_filters_keys);
	FT_ADD(s, events_read_never_splits_a_revision);
	FT_ADD(s, lease_end_deletes_every_attached_key_in_one_revision);
	FT_ADD(s, applied_index_only_moves_forward);
	FT_ADD(s, restart_on_the_same_backend_finds_the_same_state);
	FT_ADD(s, apply_data_decodes_and_applies);
	FT_ADD(s, equal_commands_give_equal_hashes_and_bytes);
	FT_ADD(s, hash_ignores_the_applied_index);
	return s;
}
