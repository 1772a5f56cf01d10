/*
 * tests/unit/test_fsm_fence.c: fenced writes -- applied only while every
 * token is a current hold of its lock (any holder of a shared lock),
 * otherwise COORD_EFENCED with nothing written; the reply is the inner
 * command's.
 */
#include <string.h>

#include "coordd/fsm/fsm.h"
#include "tests/unit/fsm_lock_test.h"
#include "tests/unit/test_fsm.h"

START_TEST(fenced_put_applies_with_the_current_token)
{
	struct fl x;
	const struct proto_reply *r;
	struct proto_cmd put = ft_put("k", "v", 0);
	struct proto_fence fc;
	uint64_t s, t;

	fl_open(&x, NULL);
	s = fl_session(&x, 0, 100000);
	t = fl_lock(&x, 0, "a", s, PROTO_LOCK_EXCLUSIVE, false);
	fc = (struct proto_fence){ FT_B("a"), t, PROTO_QUEUE_LOCK };
	r = fl_ok(&x, 0, fl_fenced(&fc, 1, &put));
	ck_assert_uint_eq(r->type, PROTO_CMD_PUT);
	ck_assert_uint_eq(x.res.res.n_events, 1);
	ft_kv_check(ft_kv(&x.t, "k"), "k", "v", r->revision, r->revision, 1,
		    0);
	/* No fences: a plain put. */
	fl_ok(&x, 0, fl_fenced(NULL, 0, &put));
	fl_close(&x);
}
END_TEST

/* A stale token (the lock went to another session), a wrong one, an
 * unknown lock: COORD_EFENCED, nothing written. */
START_TEST(fenced_write_with_a_stale_token_is_refused)
{
	struct fl x;
	struct proto_cmd put = ft_put("k", "v", 0);
	struct proto_cmd del = ft_del("k", NULL, 0, false);
	struct proto_fence fc[2];
	uint64_t s1, s2, t1, t2;

	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 100000);
	s2 = fl_session(&x, 0, 100000);
	t1 = fl_lock(&x, 0, "a", s1, PROTO_LOCK_EXCLUSIVE, false);
	fl_lock(&x, 0, "a", s2, PROTO_LOCK_EXCLUSIVE, true);
	fl_ok(&x, 0, fl_release("a", s1, t1));
	ck_assert(fl_granted(&x, "a", s2, &t2));
	fc[0] = (struct proto_fence){ FT_B("a"), t1, PROTO_QUEUE_LOCK };
	fl_err(&x, fl_fenced(fc, 1, &put), COORD_EFENCED);
	ck_assert_ptr_null(ft_kv(&x.t, "k"));
	fc[0].token = 0;
	fl_err(&x, fl_fenced(fc, 1, &put), COORD_EFENCED);
	fc[0] = (struct proto_fence){ FT_B("nope"), t2, PROTO_QUEUE_LOCK };
	fl_err(&x, fl_fenced(fc, 1, &put), COORD_EFENCED);
	/* Every fence must hold. */
	fc[0] = (struct proto_fence){ FT_B("a"), t2, PROTO_QUEUE_LOCK };
	fc[1] = (struct proto_fence){ FT_B("b"), t2, PROTO_QUEUE_LOCK };
	fl_err(&x, fl_fenced(fc, 2, &del), COORD_EFENCED);
	fc[1] = (struct proto_fence){ FT_B(""), t2, PROTO_QUEUE_LOCK };
	fl_err(&x, fl_fenced(fc, 2, &del), COORD_EINVAL);
	fl_close(&x);
}
END_TEST

/* Any current holder's token fences a shared lock; a txn and a delete
 * answer as themselves. */
START_TEST(fenced_txn_and_delete_on_a_shared_lock)
{
	struct fl x;
	const struct proto_reply *r;
	struct proto_op op = { .type = PROTO_CMD_PUT };
	struct proto_cmd txn = { .type = PROTO_CMD_TXN };
	struct proto_cmd del = ft_del("t", NULL, 0, false);
	struct proto_fence fc;
	uint64_t s1, s2, t1, t2;

	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 100000);
	s2 = fl_session(&x, 0, 100000);
	t1 = fl_lock(&x, 0, "a", s1, PROTO_LOCK_SHARED, false);
	t2 = fl_lock(&x, 0, "a", s2, PROTO_LOCK_SHARED, false);
	op.u.put = ft_put("t", "1", 0).u.put;
	txn.u.txn.success = &op;
	txn.u.txn.n_success = 1;
	fc = (struct proto_fence){ FT_B("a"), t1, PROTO_QUEUE_LOCK };
	r = fl_ok(&x, 0, fl_fenced(&fc, 1, &txn));
	ck_assert_uint_eq(r->type, PROTO_CMD_TXN);
	ck_assert(r->u.txn.succeeded);
	fc.token = t2;
	r = fl_ok(&x, 0, fl_fenced(&fc, 1, &del));
	ck_assert_uint_eq(r->type, PROTO_CMD_DELETE);
	ck_assert_uint_eq(r->u.del.deleted, 1);
	fl_close(&x);
}
END_TEST

/* LOCK_RELEASE_WRITE: the holder's last write, its release and the grant
 * of the next waiter are one command, at one revision: the put's
 * mod_revision is the next holder's token. */
START_TEST(release_write_writes_releases_and_grants_at_one_revision)
{
	struct fl x;
	const struct proto_reply *r;
	struct proto_cmd put = ft_put("k", "v", 0);
	struct proto_cmd del = ft_del("k", NULL, 0, false);
	uint64_t s1, s2, t1, t2;

	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 100000);
	s2 = fl_session(&x, 0, 100000);
	t1 = fl_lock(&x, 0, "a", s1, PROTO_LOCK_EXCLUSIVE, false);
	fl_lock(&x, 0, "a", s2, PROTO_LOCK_EXCLUSIVE, true);
	r = fl_ok(&x, 0, fl_release_write("a", s1, t1, &put));
	ck_assert_uint_eq(r->type, PROTO_CMD_PUT);
	ck_assert_uint_gt(r->revision, t1);
	ft_kv_check(ft_kv(&x.t, "k"), "k", "v", r->revision, r->revision, 1,
		    0);
	ck_assert_uint_eq(x.res.res.n_grants, 1);
	ck_assert(fl_granted(&x, "a", s2, &t2));
	ck_assert_uint_eq(t2, r->revision);
	ck_assert_uint_eq(fl_holders(&x, "a"), 1);
	ck_assert_uint_eq(fl_waiters(&x, "a"), 0);
	/* A delete, with no one waiting: the lock is free after it. */
	r = fl_ok(&x, 0, fl_release_write("a", s2, t2, &del));
	ck_assert_uint_eq(r->type, PROTO_CMD_DELETE);
	ck_assert_uint_eq(r->u.del.deleted, 1);
	ck_assert_uint_eq(fl_holders(&x, "a"), 0);
	fl_close(&x);
}
END_TEST

/* Not the session's current hold (a stale token, another session's token
 * on a shared lock, an unknown lock), or a write its own checks refuse:
 * an error, and nothing changes -- no write, the lock still held. */
START_TEST(release_write_refused_changes_nothing)
{
	struct fl x;
	struct proto_cmd put = ft_put("k", "v", 0);
	struct proto_cmd big = ft_put("k", "v", 0);
	struct fsm_config cfg;
	uint64_t s1, s2, s3, t1, t2, t3, rev;
	static uint8_t key[64];
	bool cur;

	fsm_config_default(&cfg);
	cfg.key_bytes_max = 32;
	fl_open(&x, &cfg);
	s1 = fl_session(&x, 0, 100000);
	s2 = fl_session(&x, 0, 100000);
	s3 = fl_session(&x, 0, 100000);
	t1 = fl_lock(&x, 0, "a", s1, PROTO_LOCK_EXCLUSIVE, false);
	fl_lock(&x, 0, "a", s2, PROTO_LOCK_EXCLUSIVE, true);
	fl_ok(&x, 0, fl_release("a", s1, t1));
	ck_assert(fl_granted(&x, "a", s2, &t2));
	rev = fsm_revision(x.t.f);
	fl_err(&x, fl_release_write("a", s1, t1, &put), COORD_EFENCED);
	fl_err(&x, fl_release_write("a", s3, t2, &put), COORD_EFENCED);
	fl_err(&x, fl_release_write("nope", s2, t2, &put), COORD_EFENCED);
	fl_err(&x, fl_release_write("", s2, t2, &put), COORD_EINVAL);
	memset(key, 'k', sizeof(key));
	big.u.put.key = (struct proto_bytes){ key, sizeof(key) };
	fl_err(&x, fl_release_write("a", s2, t2, &big), COORD_EKEYTOOBIG);
	ck_assert_ptr_null(ft_kv(&x.t, "k"));
	ck_assert_uint_eq(fsm_revision(x.t.f), rev);
	ft_code_eq(fsm_lock_check(x.t.f, FT_B("a"), t2, &cur, &t3), COORD_OK);
	ck_assert(cur);
	ck_assert_uint_eq(t3, t2);
	/* A shared lock: another holder's token is not this session's. */
	t1 = fl_lock(&x, 0, "b", s1, PROTO_LOCK_SHARED, false);
	t3 = fl_lock(&x, 0, "b", s3, PROTO_LOCK_SHARED, false);
	fl_err(&x, fl_release_write("b", s3, t1, &put), COORD_EFENCED);
	ck_assert_uint_eq(fl_holders(&x, "b"), 2);
	fl_ok(&x, 0, fl_release_write("b", s3, t3, &put));
	ck_assert_uint_eq(fl_holders(&x, "b"), 1);
	fl_close(&x);
}
END_TEST

Suite *fsm_fence_suite(void)
{
	Suite *s = suite_create("fsm_fence");

	FT_ADD(s, fenced_put_applies_with_the_current_token);
	FT_ADD(s, fenced_write_with_a_stale_token_is_refused);
	FT_ADD(s, fenced_txn_and_delete_on_a_shared_lock);
	FT_ADD(s, release_write_writes_releases_and_grants_at_one_revision);
	FT_ADD(s, release_write_refused_changes_nothing);
	return s;
}
