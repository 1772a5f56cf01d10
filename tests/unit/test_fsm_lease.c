/*
 * tests/unit/test_fsm_lease.c: leases and sessions in the fsm -- grant,
 * keepalive, revoke, expire (stale and current), session open and close,
 * their errors and limits, revisions without key events under watches
 * and compaction, the reads for the server, and the codec of the new
 * commands.
 */
#include <string.h>

#include "coordd/fsm/fsm.h"
#include "tests/unit/fsm_lock_test.h"
#include "tests/unit/test_fsm.h"

/* A grant takes the entry's index as its id when asked for 0, moves the
 * revision by one and reports the lease as touched. */
START_TEST(lease_grant_uses_the_index_or_the_given_id)
{
	struct fl x;
	const struct proto_reply *r;
	struct fsm_lease_info info;

	fl_open(&x, NULL);
	r = fl_ok(&x, 100, fl_grant(0, 5000));
	ck_assert_uint_eq(r->u.lease_grant.lease, 1);
	ck_assert_uint_eq(r->u.lease_grant.ttl_ms, 5000);
	ck_assert_uint_eq(r->revision, 1);
	ck_assert_uint_eq(x.res.res.n_touched, 1);
	ck_assert_uint_eq(x.res.res.touched[0].lease, 1);
	ck_assert_uint_eq(x.res.res.touched[0].ka_index, 1);
	r = fl_ok(&x, 200, fl_grant(77, 3000));
	ck_assert_uint_eq(r->u.lease_grant.lease, 77);
	ck_assert_uint_eq(r->revision, 2);
	ft_code_eq(fsm_lease_get(x.t.f, 77, &info), COORD_OK);
	ck_assert_uint_eq(info.ttl_ms, 3000);
	ck_assert_uint_eq(info.ka_index, 2);
	ck_assert_uint_eq(info.ka_ms, 200);
	ck_assert(!info.session);
	ft_code_eq(fsm_lease_get(x.t.f, 5, &info), COORD_ENOTFOUND);
	ck_assert_uint_eq(fsm_leases_count(x.t.f), 2);
	fl_close(&x);
}
END_TEST

START_TEST(lease_grant_errors_change_nothing)
{
	struct fl x;
	struct fsm_config cfg;

	fsm_config_default(&cfg);
	cfg.leases_max = 2;
	fl_open(&x, &cfg);
	fl_err(&x, fl_grant(0, 0), COORD_ETTL);
	fl_err(&x, fl_grant(0, COORD_LEASE_TTL_MS_MAX + 1), COORD_ETTL);
	fl_ok(&x, 0, fl_grant(9, COORD_LEASE_TTL_MS_MAX));
	fl_err(&x, fl_grant(9, 1000), COORD_EEXISTS);
	fl_ok(&x, 0, fl_grant(0, 1000));
	fl_err(&x, fl_grant(0, 1000), COORD_ETOOMANYLEASES);
	fl_err(&x, fl_open_session(1000), COORD_ETOOMANYLEASES);
	fl_close(&x);
}
END_TEST

/* A keepalive batch answers in order, ttl 0 for a lease that does not
 * exist, and records the entry's index and clock on the others. */
START_TEST(lease_keepalive_batch_answers_in_order)
{
	struct fl x;
	const struct proto_reply *r;
	struct fsm_lease_info info;
	const uint64_t ids[3] = { 1, 42, 2 };

	fl_open(&x, NULL);
	fl_ok(&x, 10, fl_grant(0, 1000));
	fl_ok(&x, 10, fl_grant(0, 2000));
	r = fl_ok(&x, 500, fl_keepalive(ids, 3));
	ck_assert_uint_eq(r->revision, 3);
	ck_assert_uint_eq(r->u.lease_keepalive.n_leases, 3);
	ck_assert_uint_eq(r->u.lease_keepalive.leases[0].lease, 1);
	ck_assert_uint_eq(r->u.lease_keepalive.leases[0].ttl_ms, 1000);
	ck_assert_uint_eq(r->u.lease_keepalive.leases[1].lease, 42);
	ck_assert_uint_eq(r->u.lease_keepalive.leases[1].ttl_ms, 0);
	ck_assert_uint_eq(r->u.lease_keepalive.leases[2].ttl_ms, 2000);
	ck_assert_uint_eq(x.res.res.n_touched, 2);
	ft_code_eq(fsm_lease_get(x.t.f, 2, &info), COORD_OK);
	ck_assert_uint_eq(info.ka_index, 3);
	ck_assert_uint_eq(info.ka_ms, 500);
	/* Only missing leases: no change, no revision. */
	r = fl_ok(&x, 500, fl_keepalive(ids + 1, 1));
	ck_assert_uint_eq(r->revision, 3);
	fl_close(&x);
}
END_TEST

/* Revoke deletes the attached keys (with events) and ends the lease. */
START_TEST(lease_revoke_deletes_attached_keys)
{
	struct fl x;
	const struct proto_reply *r;
	int why;

	fl_open(&x, NULL);
	fl_ok(&x, 0, fl_grant(0, 1000));
	fl_ok(&x, 0, ft_put("a", "1", 1));
	fl_ok(&x, 0, ft_put("b", "2", 1));
	fl_ok(&x, 0, ft_put("c", "3", 0));
	r = fl_ok(&x, 0, fl_revoke(1));
	ck_assert_uint_eq(r->u.lease_revoke.deleted, 2);
	ck_assert_uint_eq(r->revision, 5);
	ck_assert_uint_eq(x.res.res.n_events, 2);
	ck_assert(fl_gone(&x, 1, &why));
	ck_assert_int_eq(why, COORD_ESESSION);
	ck_assert(!x.res.res.gone[0].session);
	ck_assert_ptr_null(ft_kv(&x.t, "a"));
	ck_assert_ptr_nonnull(ft_kv(&x.t, "c"));
	ck_assert_uint_eq(fsm_leases_count(x.t.f), 0);
	fl_err(&x, fl_revoke(1), COORD_ELEASE);
	fl_close(&x);
}
END_TEST

/* An expire naming an older keepalive (or a lease that is gone) is a
 * no-op; one naming the latest ends the lease, reason expired. */
START_TEST(lease_expire_stale_is_a_noop)
{
	struct fl x;
	const struct proto_reply *r;
	const uint64_t id = 1;
	int why;

	fl_open(&x, NULL);
	fl_ok(&x, 0, fl_grant(0, 1000));
	fl_ok(&x, 900, fl_keepalive(&id, 1));  /* ka_index 2 */
	r = fl_ok(&x, 1200, fl_expire(1, 1));
	ck_assert(!r->u.lease_expire.expired);
	ck_assert_uint_eq(r->revision, 2);
	ck_assert_uint_eq(x.res.res.n_gone, 0);
	r = fl_ok(&x, 3000, fl_expire(1, 2));
	ck_assert(r->u.lease_expire.expired);
	ck_assert_uint_eq(r->revision, 3);
	ck_assert(fl_gone(&x, 1, &why));
	ck_assert_int_eq(why, COORD_ESESSION_EXPIRED);
	r = fl_ok(&x, 3000, fl_expire(1, 2));
	ck_assert(!r->u.lease_expire.expired);
	ck_assert_uint_eq(r->revision, 3);
	fl_close(&x);
}
END_TEST

START_TEST(session_open_and_close)
{
	struct fl x;
	const struct proto_reply *r;
	struct fsm_lease_info info;
	uint64_t s;
	int why;

	fl_open(&x, NULL);
	r = fl_ok(&x, 50, fl_open_session(4000));
	s = r->u.session_open.session;
	ck_assert_uint_eq(s, 1);
	ck_assert_uint_eq(r->u.session_open.lease, s);
	ck_assert_uint_eq(r->u.session_open.ttl_ms, 4000);
	ck_assert(proto_bytes_eq(r->u.session_open.secret, FT_B(FL_SECRET)));
	ck_assert_uint_eq(fsm_sessions_count(x.t.f), 1);
	ck_assert_uint_eq(fsm_leases_count(x.t.f), 1);
	ft_code_eq(fsm_lease_get(x.t.f, s, &info), COORD_OK);
	ck_assert(info.session);
	ck_assert_uint_eq(info.secret_len, sizeof(FL_SECRET) - 1);
	ck_assert_int_eq(memcmp(info.secret, FL_SECRET, info.secret_len), 0);
	r = fl_ok(&x, 60, fl_close_session(s));
	ck_assert_uint_eq(r->revision, 2);
	ck_assert(fl_gone(&x, s, &why));
	ck_assert_int_eq(why, COORD_ESESSION);
	ck_assert(x.res.res.gone[0].session);
	ck_assert_uint_eq(fsm_sessions_count(x.t.f), 0);
	ck_assert_uint_eq(fsm_leases_count(x.t.f), 0);
	fl_err(&x, fl_close_session(s), COORD_ESESSION);
	/* A plain lease is no session. */
	fl_ok(&x, 60, fl_grant(0, 1000));
	fl_err(&x, fl_close_session(x.t.index), COORD_ESESSION);
	fl_close(&x);
}
END_TEST

START_TEST(session_open_errors_change_nothing)
{
	struct fl x;
	struct fsm_config cfg;
	struct proto_cmd c;

	fsm_config_default(&cfg);
	cfg.sessions_max = 1;
	fl_open(&x, &cfg);
	fl_err(&x, fl_open_session(0), COORD_ETTL);
	fl_err(&x, fl_open_session(COORD_LEASE_TTL_MS_MAX + 1), COORD_ETTL);
	c = fl_open_session(1000);
	c.u.session_open.secret = FT_B("short");
	fl_err(&x, c, COORD_EINVAL);
	/* An id a client took before this index came. */
	fl_ok(&x, 0, fl_grant(x.t.index + 2, 1000));
	fl_err(&x, fl_open_session(1000), COORD_EEXISTS);
	fl_session(&x, 0, 1000);
	fl_err(&x, fl_open_session(1000), COORD_ETOOMANYSESSIONS);
	fl_close(&x);
}
END_TEST

/* Revisions of lease/session/lock changes have no key events: watches
 * read across them, compaction passes them. */
START_TEST(revisions_without_key_events_for_watches_and_compaction)
{
	struct fl x;
	struct fsm_events ev;
	const uint64_t id = 1;

	fl_open(&x, NULL);
	fl_ok(&x, 0, fl_grant(0, 1000));                 /* rev 1 */
	fl_ok(&x, 0, ft_put("k", "1", 0));               /* rev 2 */
	fl_ok(&x, 0, fl_keepalive(&id, 1));              /* rev 3 */
	fl_session(&x, 0, 1000);                         /* rev 4 */
	fl_ok(&x, 0, ft_put("k", "2", 0));               /* rev 5 */
	ck_assert_uint_eq(fsm_revision(x.t.f), 5);
	ft_code_eq(fsm_events_read(x.t.f, 1, NULL, 0, 0, &ev), COORD_OK);
	ck_assert_uint_eq(ev.n_events, 2);
	ck_assert_uint_eq(ev.events[0].kv.mod_revision, 2);
	ck_assert_uint_eq(ev.events[1].kv.mod_revision, 5);
	ck_assert_uint_eq(ev.rev_next, 6);
	ft_code_eq(fsm_events_read(x.t.f, 3, NULL, 1, 0, &ev), COORD_OK);
	ck_assert_uint_eq(ev.n_events, 1);
	ck_assert_uint_eq(ev.events[0].kv.mod_revision, 5);
	fl_ok(&x, 0, ft_compact(4));
	ft_code_eq(fsm_events_read(x.t.f, 4, NULL, 0, 0, &ev), COORD_OK);
	ck_assert_uint_eq(ev.n_events, 1);
	ck_assert_uint_eq(ev.rev_next, 6);
	ft_code_eq(fsm_events_read(x.t.f, 3, NULL, 0, 0, &ev),
		   COORD_ECOMPACTED);
	fl_ok(&x, 0, ft_compact(5));
	ck_assert_ptr_nonnull(ft_kv(&x.t, "k"));
	fl_close(&x);
}
END_TEST

struct each_ctx {
	uint64_t ids[8];
	size_t n;
	size_t stop_at;
};

static int each_cb(void *ctx, const struct fsm_lease_info *l)
{
	struct each_ctx *c = ctx;

	c->ids[c->n++] = l->id;
	return c->n == c->stop_at ? COORD_EIO : COORD_OK;
}

START_TEST(leases_each_lists_in_id_order)
{
	struct fl x;
	struct each_ctx c = { .n = 0 };

	fl_open(&x, NULL);
	fl_ok(&x, 0, fl_grant(300, 1000));
	fl_ok(&x, 0, fl_grant(0, 1000));
	fl_session(&x, 0, 1000);
	ft_code_eq(fsm_leases_each(x.t.f, each_cb, &c), COORD_OK);
	ck_assert_uint_eq(c.n, 3);
	ck_assert_uint_eq(c.ids[0], 2);
	ck_assert_uint_eq(c.ids[1], 3);
	ck_assert_uint_eq(c.ids[2], 300);
	memset(&c, 0, sizeof(c));
	c.stop_at = 2;
	ft_code_eq(fsm_leases_each(x.t.f, each_cb, &c), COORD_EIO);
	ck_assert_uint_eq(c.n, 2);
	fl_close(&x);
}
END_TEST

/* Every new command and reply survives encode/decode. */
START_TEST(codec_round_trips_the_lock_commands)
{
	const uint64_t ids[2] = { 5, 6 };
	const struct proto_fence fences[2] = {
		{ FT_B("l1"), 7, PROTO_QUEUE_LOCK },
		{ FT_B("l2"), 8, PROTO_QUEUE_SEM } };
	struct proto_cmd put = ft_put("k", "v", 0);
	struct proto_cmd cmds[] = {
		fl_grant(3, 1000), fl_keepalive(ids, 2), fl_revoke(4),
		fl_expire(4, 9), fl_open_session(1000), fl_close_session(4),
		fl_acquire("n", 4, PROTO_LOCK_SHARED, true, 5, 6),
		fl_release("n", 4, 11), fl_kick("n"),
		fl_fenced(fences, 2, &put), fl_sem_acquire("s", 4, 3, true, 99),
		fl_sem_release("s", 4, 11),
	};
	struct proto_arena arena;
	struct proto_buf a, b;

	proto_arena_init(&arena, NULL);
	proto_buf_init(&a, NULL);
	proto_buf_init(&b, NULL);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct proto_cmd back;

		proto_buf_clear(&a);
		proto_buf_clear(&b);
		ft_code_eq(proto_cmd_encode(&cmds[i], &a), COORD_OK);
		ft_code_eq(proto_cmd_decode(a.data, a.len, &arena, &back),
			   COORD_OK);
		ft_code_eq(proto_cmd_encode(&back, &b), COORD_OK);
		ck_assert_uint_eq(a.len, b.len);
		ck_assert_int_eq(memcmp(a.data, b.data, a.len), 0);
		/* Every cut is malformed. */
		for (size_t n = 0; n < a.len; n++)
			ft_code_eq(proto_cmd_decode(a.data, n, &arena, &back),
				   COORD_EMALFORMED);
	}
	proto_buf_close(&a);
	proto_buf_close(&b);
	proto_arena_close(&arena);
}
END_TEST

/* Encoders refuse what the wire format cannot carry; decoders refuse it
 * too (hand-built bytes). */
START_TEST(codec_refuses_bad_lock_commands)
{
	static uint64_t many[COORD_KEEPALIVE_BATCH_MAX + 1];
	uint8_t name[COORD_NAME_BYTES_MAX + 1];
	struct proto_fence fences[COORD_FENCES_MAX + 1];
	struct proto_cmd range = { .type = PROTO_CMD_RANGE };
	struct proto_cmd put = ft_put("k", "v", 0);
	struct proto_cmd c, bad[8];
	struct proto_arena arena;
	struct proto_buf a;
	size_t n = 0;

	memset(name, 'n', sizeof(name));
	for (size_t i = 0; i < COORD_FENCES_MAX + 1; i++)
		fences[i] = (struct proto_fence){ FT_B("l"), 1,
						  PROTO_QUEUE_LOCK };
	bad[n++] = fl_keepalive(many, COORD_KEEPALIVE_BATCH_MAX + 1);
	bad[n++] = fl_fenced(fences, 1, &range);
	bad[n++] = fl_fenced(fences, COORD_FENCES_MAX + 1, &put);
	c = fl_acquire("n", 1, 0, false, 0, 0);
	c.u.lock_acquire.mode = 2;
	bad[n++] = c;
	c = fl_acquire("n", 1, 0, false, 0, 0);
	c.u.lock_acquire.name = proto_bytes_make(name, sizeof(name));
	bad[n++] = c;
	c = fl_kick("n");
	c.u.queue_kick.kind = 0;
	bad[n++] = c;
	c = fl_open_session(1);
	c.u.session_open.secret = proto_bytes_make(name, COORD_SECRET_BYTES_MAX + 1);
	bad[n++] = c;
	c = fl_release("n", 1, 1);
	c.u.lock_release.name = proto_bytes_make(name, sizeof(name));
	bad[n++] = c;
	proto_buf_init(&a, NULL);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(proto_cmd_encode(&bad[i], &a) == COORD_EINVAL,
			      "bad command %zu encoded", i);
	ck_assert_uint_eq(a.len, 0);
	proto_arena_init(&arena, NULL);
	{
		/* [20, [], [3, ...]]: a fenced RANGE. */
		const uint8_t fenced_range[] = { 0x93, 20, 0x90, 0x98, 3,
						 0xc4, 1, 'k', 0xc4, 0, 0,
						 0, 0, 0, 0 };
		/* [19, 127, "n"]: an unknown queue kind. */
		const uint8_t kick2[] = { 0x93, 19, 0x7f, 0xc4, 1, 'n' };
		/* [17, "n", 1, 2, false, 0, 0]: mode 2. */
		const uint8_t mode2[] = { 0x97, 17, 0xc4, 1, 'n', 1, 2,
					  0xc2, 0, 0 };
		struct proto_cmd back;

		ft_code_eq(proto_cmd_decode(fenced_range, sizeof(fenced_range),
					    &arena, &back),
			   COORD_EMALFORMED);
		ft_code_eq(proto_cmd_decode(kick2, sizeof(kick2), &arena,
					    &back),
			   COORD_EMALFORMED);
		ft_code_eq(proto_cmd_decode(mode2, sizeof(mode2), &arena,
					    &back),
			   COORD_EMALFORMED);
	}
	/* A keepalive batch one over the limit does not decode. */
	{
		struct proto_cmd ok = fl_keepalive(many,
						   COORD_KEEPALIVE_BATCH_MAX);
		struct proto_cmd back;

		ft_code_eq(proto_cmd_encode(&ok, &a), COORD_OK);
		/* Patch the array header (0xdc len16) to one more, and
		 * append one more element. */
		ck_assert_uint_eq(a.data[2], 0xdc);
		a.data[4]++;
		ft_code_eq(proto_buf_append(&a, "\0", 1), COORD_OK);
		ft_code_eq(proto_cmd_decode(a.data, a.len, &arena, &back),
			   COORD_EMALFORMED);
	}
	proto_arena_close(&arena);
	proto_buf_close(&a);
}
END_TEST

/* By default (lease_exists NULL) a put attaches only a lease the fsm
 * holds: an unknown or ended one is COORD_ELEASE, alone or in a txn. */
START_TEST(put_attaches_only_a_live_lease)
{
	struct fl x;
	struct fsm_config cfg;
	struct proto_op op;
	struct proto_cmd txn;
	uint64_t session;

	fsm_config_default(&cfg);
	fl_open(&x, &cfg);
	fl_err(&x, ft_put("a", "1", 7), COORD_ELEASE);
	memset(&op, 0, sizeof(op));
	op.type = PROTO_CMD_PUT;
	op.u.put = ft_put("a", "1", 7).u.put;
	memset(&txn, 0, sizeof(txn));
	txn.type = PROTO_CMD_TXN;
	txn.u.txn.success = &op;
	txn.u.txn.n_success = 1;
	fl_err(&x, txn, COORD_ELEASE);
	fl_ok(&x, 0, fl_grant(7, 1000));
	fl_ok(&x, 0, ft_put("a", "1", 7));
	fl_ok(&x, 0, txn);
	session = fl_ok(&x, 0, fl_open_session(1000))->u.session_open.session;
	fl_ok(&x, 0, ft_put("b", "1", session));     /* its lease */
	fl_ok(&x, 0, fl_revoke(7));
	fl_err(&x, ft_put("a", "2", 7), COORD_ELEASE);
	fl_close(&x);
}
END_TEST

/* fsm_lease_keys pages through a lease's keys in key order: a key
 * detached by a later put is not listed, another lease's keys never are,
 * `after` is exclusive, and both bounds cut the page and set more (the
 * byte bound never below one key). */
static void lease_keys_expect(struct fl *x, uint64_t lease, const char *after,
			      size_t keys_max, size_t bytes_max,
			      const char *want, bool more)
{
	struct fsm_lease_keys out;
	char got[64] = "";

	ft_code_eq(fsm_lease_keys(x->t.f, lease, proto_bytes_make(after, strlen(after)), keys_max,
				  bytes_max, &out),
		   COORD_OK);
	for (size_t i = 0; i < out.n; i++) {
		strncat(got, (const char *)out.keys[i].data,
			out.keys[i].len);
		strcat(got, " ");
	}
	ck_assert_str_eq(got, want);
	ck_assert_int_eq(out.more, more);
}

START_TEST(lease_keys_page_in_key_order)
{
	struct fl x;
	struct fsm_lease_keys out;

	fl_open(&x, NULL);
	fl_ok(&x, 0, fl_grant(1, 1000));
	fl_ok(&x, 0, fl_grant(2, 1000));
	fl_ok(&x, 0, ft_put("d", "1", 1));
	fl_ok(&x, 0, ft_put("a", "1", 1));
	fl_ok(&x, 0, ft_put("bb", "1", 1));
	fl_ok(&x, 0, ft_put("c", "1", 1));
	fl_ok(&x, 0, ft_put("bb", "2", 0));     /* detached */
	fl_ok(&x, 0, ft_put("aa", "1", 2));     /* another lease's */
	fl_ok(&x, 0, ft_put("x", "1", 0));
	lease_keys_expect(&x, 1, "", 10, 1024, "a c d ", false);
	lease_keys_expect(&x, 2, "", 10, 1024, "aa ", false);
	lease_keys_expect(&x, 1, "", 2, 1024, "a c ", true);
	lease_keys_expect(&x, 1, "c", 2, 1024, "d ", false);
	lease_keys_expect(&x, 1, "b", 10, 1024, "c d ", false);
	lease_keys_expect(&x, 1, "d", 10, 1024, "", false);
	lease_keys_expect(&x, 1, "", 10, 0, "a ", true);
	lease_keys_expect(&x, 1, "", 10, 2, "a c ", true);
	ft_code_eq(fsm_lease_keys(x.t.f, 3, proto_bytes_make("", 0), 10, 1024, &out),
		   COORD_ENOTFOUND);
	fl_ok(&x, 0, fl_revoke(1));
	ft_code_eq(fsm_lease_keys(x.t.f, 1, proto_bytes_make("", 0), 10, 1024, &out),
		   COORD_ENOTFOUND);
	lease_keys_expect(&x, 2, "", 10, 1024, "aa ", false);
	fl_close(&x);
}
END_TEST

Suite *fsm_lease_suite(void)
{
	Suite *s = suite_create("fsm_lease");

	FT_ADD(s, lease_grant_uses_the_index_or_the_given_id);
	FT_ADD(s, lease_grant_errors_change_nothing);
	FT_ADD(s, lease_keepalive_batch_answers_in_order);
	FT_ADD(s, lease_revoke_deletes_attached_keys);
	FT_ADD(s, lease_expire_stale_is_a_noop);
	FT_ADD(s, session_open_and_close);
	FT_ADD(s, session_open_errors_change_nothing);
	FT_ADD(s, revisions_without_key_events_for_watches_and_compaction);
	FT_ADD(s, leases_each_lists_in_id_order);
	FT_ADD(s, codec_round_trips_the_lock_commands);
	FT_ADD(s, codec_refuses_bad_lock_commands);
	FT_ADD(s, put_attaches_only_a_live_lease);
	FT_ADD(s, lease_keys_page_in_key_order);
	return s;
}
