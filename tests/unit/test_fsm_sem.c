/*
 * tests/unit/test_fsm_sem.c: semaphores in the fsm (coordd/fsm/sem.c) --
 * N permits, bad input as named errors that change nothing (N = 0, N too
 * large, a mismatched N, a wrong token, a release by a non-holder), FIFO
 * waiters that are never overtaken, permits of an ended session returned
 * and granted on in the same command, a retried acquire and release
 * applied once, a new N once the semaphore is empty, waiter deadlines
 * with QUEUE_KICK, and fenced writes with permit tokens.
 */
#include <string.h>

#include "coordd/fsm/fsm.h"
#include "proto/wire.h"
#include "tests/unit/fsm_clients_test.h"
#include "tests/unit/fsm_lock_test.h"
#include "tests/unit/test_fsm.h"

/* Acquires with wait; the token, 0 when queued. */
static uint64_t sem_take(struct fl *x, uint64_t now_ms, const char *name,
			 uint64_t session, uint64_t permits)
{
	const struct proto_reply *r =
		fl_ok(x, now_ms, fl_sem_acquire(name, session, permits, true, 0));

	return r->u.lock_acquire.granted ? r->u.lock_acquire.token : 0;
}

static struct fsm_queue_status sem_status(struct fl *x, const char *name)
{
	struct fsm_queue_status st;

	ft_code_eq(fsm_queue_status(x->t.f, FSM_QUEUE_SEM, ft_s(name),
				    SIZE_MAX, &st),
		   COORD_OK);
	return st;
}

static bool holds(struct fl *x, const char *name, uint64_t session)
{
	struct fsm_queue_status st = sem_status(x, name);

	for (size_t i = 0; i < st.n_holders; i++)
		if (st.holders[i].session == session)
			return true;
	return false;
}

/* Every bad request is a named error and changes nothing (fl_err checks
 * revision, hash, counters, grants). */
START_TEST(bad_input_is_a_named_error_and_changes_nothing)
{
	struct fl x;
	uint64_t s1, s2, s3, t1;

	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 100000);
	s2 = fl_session(&x, 0, 100000);
	s3 = fl_session(&x, 0, 100000);
	fl_err(&x, fl_sem_acquire("s", s1, 0, true, 0), COORD_EPERMITS);
	fl_err(&x, fl_sem_acquire("s", s1, COORD_SEM_PERMITS_MAX + 1, true, 0),
	       COORD_EPERMITS);
	fl_err(&x, fl_sem_acquire("", s1, 2, true, 0), COORD_EINVAL);
	fl_err(&x, fl_sem_acquire("s", 999, 2, true, 0), COORD_ESESSION);
	t1 = sem_take(&x, 0, "s", s1, 2);
	ck_assert_uint_ne(t1, 0);
	/* A mismatched N, from another session or the holder itself. */
	fl_err(&x, fl_sem_acquire("s", s2, 3, true, 0), COORD_ESEMPERMITS);
	fl_err(&x, fl_sem_acquire("s", s2, 1, false, 0), COORD_ESEMPERMITS);
	fl_err(&x, fl_sem_acquire("s", s1, 5, true, 0), COORD_ESEMPERMITS);
	/* Release: a wrong token, a non-holder, a cancel without a wait. */
	fl_err(&x, fl_sem_release("s", s1, t1 + 1), COORD_ENOTHOLDER);
	fl_err(&x, fl_sem_release("s", s2, t1), COORD_ENOTHOLDER);
	fl_err(&x, fl_sem_release("s", s2, 0), COORD_ENOTFOUND);
	fl_err(&x, fl_sem_release("nope", s1, t1), COORD_ENOTHOLDER);
	/* A semaphore and a lock of the same name are different things. */
	fl_err(&x, fl_release("s", s1, t1), COORD_ENOTHOLDER);
	ck_assert_uint_ne(fl_lock(&x, 0, "s", s3, PROTO_LOCK_EXCLUSIVE,
				  false),
			  0);
	ck_assert(holds(&x, "s", s1));
	ck_assert_uint_eq(sem_status(&x, "s").permits, 2);
	fl_close(&x);
}
END_TEST

/* N = 3: three permits at once with distinct rising tokens (each its
 * grant's revision); the fourth waits, one without wait is EBUSY;
 * holders never exceed N. */
START_TEST(n_permits_at_once_then_waiters)
{
	struct fl x;
	const struct proto_reply *r;
	uint64_t s[5], t[3];

	fl_open(&x, NULL);
	for (int i = 0; i < 5; i++)
		s[i] = fl_session(&x, 0, 100000);
	for (int i = 0; i < 3; i++) {
		r = fl_ok(&x, 0, fl_sem_acquire("s", s[i], 3, false, 0));
		ck_assert(r->u.lock_acquire.granted);
		t[i] = r->u.lock_acquire.token;
		ck_assert_uint_eq(t[i], r->revision);
		ck_assert(fl_granted(&x, "s", s[i], NULL));
		if (i > 0)
			ck_assert_uint_gt(t[i], t[i - 1]);
	}
	fl_err(&x, fl_sem_acquire("s", s[3], 3, false, 0), COORD_EBUSY);
	ck_assert_uint_eq(sem_take(&x, 0, "s", s[3], 3), 0);
	/* Idempotent: a holder gets its token again, a waiter stays once. */
	r = fl_ok(&x, 0, fl_sem_acquire("s", s[1], 3, false, 0));
	ck_assert(r->u.lock_acquire.granted);
	ck_assert_uint_eq(r->u.lock_acquire.token, t[1]);
	ck_assert_uint_eq(sem_take(&x, 0, "s", s[3], 3), 0);
	ck_assert_uint_eq(sem_status(&x, "s").n_holders, 3);
	ck_assert_uint_eq(sem_status(&x, "s").n_waiters, 1);
	ck_assert_uint_eq(fsm_holds_count(x.t.f), 3);
	ck_assert_uint_eq(fsm_waiters_count(x.t.f), 1);
	fl_close(&x);
}
END_TEST

/* Ten waiters on N = 2 are granted in FIFO order, one per released
 * permit; a newcomer without wait is EBUSY while anyone waits, and one
 * with wait queues behind them (never overtakes). */
START_TEST(waiters_are_granted_in_fifo_order)
{
	struct fl x;
	const struct proto_reply *r;
	uint64_t s[13], tok[13], last = 0;

	fl_open(&x, NULL);
	for (int i = 0; i < 13; i++)
		s[i] = fl_session(&x, 0, 1000000);
	tok[0] = sem_take(&x, 0, "s", s[0], 2);
	tok[1] = sem_take(&x, 0, "s", s[1], 2);
	for (int i = 2; i < 12; i++)
		ck_assert_uint_eq(sem_take(&x, 0, "s", s[i], 2), 0);
	fl_err(&x, fl_sem_acquire("s", s[12], 2, false, 0), COORD_EBUSY);
	ck_assert_uint_eq(sem_take(&x, 0, "s", s[12], 2), 0);
	for (int i = 2; i < 13; i++) {
		/* Release the oldest holder: exactly waiter i is granted. */
		r = fl_ok(&x, 0, fl_sem_release("s", s[i - 2], tok[i - 2]));
		ck_assert_uint_eq(x.res.res.n_grants, 1);
		ck_assert(fl_granted(&x, "s", s[i], &tok[i]));
		ck_assert_uint_eq(tok[i], r->revision);
		ck_assert_uint_gt(tok[i], last);
		last = tok[i];
		ck_assert_uint_eq(sem_status(&x, "s").n_holders, 2);
	}
	ck_assert_uint_eq(sem_status(&x, "s").n_waiters, 0);
	fl_close(&x);
}
END_TEST

/* The permits of a session that ends (closed, or expired) return in the
 * command that ends it, and the next waiters are granted in that same
 * command; a waiting session that ends leaves the queue. */
START_TEST(session_end_returns_permits_in_the_same_command)
{
	struct fl x;
	const struct proto_reply *r;
	uint64_t s[6], t, ids[4];
	int why;

	fl_open(&x, NULL);
	s[0] = fl_session(&x, 0, 100000);
	s[1] = fl_session(&x, 0, 1000);
	for (int i = 2; i < 6; i++)
		s[i] = fl_session(&x, 0, 100000);
	sem_take(&x, 0, "s", s[0], 2);
	sem_take(&x, 0, "s", s[1], 2);
	sem_take(&x, 0, "t", s[0], 1);
	for (int i = 2; i < 5; i++)
		ck_assert_uint_eq(sem_take(&x, 0, "s", s[i], 2), 0);
	ck_assert_uint_eq(sem_take(&x, 0, "t", s[5], 1), 0);
	/* s0 closes: its permits of s and t go to s2 and s5 at once. */
	r = fl_ok(&x, 0, fl_close_session(s[0]));
	ck_assert(fl_gone(&x, s[0], &why));
	ck_assert_int_eq(why, COORD_ESESSION);
	ck_assert(fl_granted(&x, "s", s[2], &t));
	ck_assert_uint_eq(t, r->revision);
	ck_assert(fl_granted(&x, "t", s[5], &t));
	ck_assert_uint_eq(t, r->revision);
	ck_assert(!fl_granted(&x, "s", s[3], NULL));
	ck_assert_uint_eq(sem_status(&x, "s").n_holders, 2);
	/* s1 expires: its permit goes to s3 in the expiring command. */
	ids[0] = s[2];
	ids[1] = s[3];
	ids[2] = s[4];
	ids[3] = s[5];
	fl_ok(&x, 900, fl_keepalive(ids, 4));
	/* Never kept alive: its last keepalive is its opening entry. */
	r = fl_ok(&x, 1000 + COORD_LEASE_DRIFT_MS + 1, fl_expire(s[1], s[1]));
	ck_assert(fl_gone(&x, s[1], &why));
	ck_assert_int_eq(why, COORD_ESESSION_EXPIRED);
	ck_assert(fl_granted(&x, "s", s[3], &t));
	ck_assert_uint_eq(t, r->revision);
	ck_assert(!holds(&x, "s", s[1]));
	/* A waiter's session ends: it leaves the queue, nothing granted. */
	fl_ok(&x, 1000, fl_close_session(s[4]));
	ck_assert_uint_eq(x.res.res.n_grants, 0);
	ck_assert_uint_eq(sem_status(&x, "s").n_waiters, 0);
	ck_assert_uint_eq(sem_status(&x, "s").n_holders, 2);
	ck_assert_uint_eq(fsm_waiters_count(x.t.f), 0);
	fl_close(&x);
}
END_TEST

/* A retried acquire and a retried release (same client and sequence) get
 * the first reply and change nothing the second time. */
START_TEST(retried_acquire_and_release_apply_once)
{
	struct fl x;
	const struct proto_reply *r;
	uint64_t s1, s2, client, rev, t1;

	fl_open(&x, NULL);
	r = fl_ok(&x, 0, ft_register(1000));
	client = r->u.register_client.client_id;
	s1 = fl_session(&x, 0, 100000);
	s2 = fl_session(&x, 0, 100000);
	r = fl_do_as(&x, client, 1, 0, fl_sem_acquire("s", s1, 1, true, 0));
	ck_assert(r->u.lock_acquire.granted);
	t1 = r->u.lock_acquire.token;
	r = fl_do_as(&x, client, 2, 0, fl_sem_acquire("s", s2, 1, true, 0));
	ck_assert(!r->u.lock_acquire.granted);
	rev = fsm_revision(x.t.f);
	r = fl_do_as(&x, client, 2, 0, fl_sem_acquire("s", s2, 1, true, 0));
	ck_assert(x.res.duplicate);
	ck_assert(!r->u.lock_acquire.granted);
	ck_assert_uint_eq(fsm_revision(x.t.f), rev);
	ck_assert_uint_eq(sem_status(&x, "s").n_waiters, 1);
	ck_assert_uint_eq(fsm_waiters_count(x.t.f), 1);
	/* The release grants s2; its retry neither fails nor grants again. */
	r = fl_do_as(&x, client, 3, 0, fl_sem_release("s", s1, t1));
	ft_code_eq(r->code, COORD_OK);
	ck_assert(fl_granted(&x, "s", s2, NULL));
	rev = fsm_revision(x.t.f);
	r = fl_do_as(&x, client, 3, 0, fl_sem_release("s", s1, t1));
	ck_assert(x.res.duplicate);
	ft_code_eq(r->code, COORD_OK);
	ck_assert_uint_eq(x.res.res.n_grants, 0);
	ck_assert_uint_eq(fsm_revision(x.t.f), rev);
	ck_assert_uint_eq(fsm_holds_count(x.t.f), 1);
	fl_close(&x);
}
END_TEST

/* N is fixed while anyone holds or waits -- a waiter alone keeps it --
 * and free once the semaphore is empty (its record gone). */
START_TEST(a_new_n_only_once_the_semaphore_is_empty)
{
	struct fl x;
	uint64_t s1, s2, s3, t1, t2;

	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 100000);
	s2 = fl_session(&x, 0, 100000);
	s3 = fl_session(&x, 0, 100000);
	t1 = sem_take(&x, 0, "s", s1, 1);
	ck_assert_uint_eq(sem_take(&x, 0, "s", s2, 1), 0);
	fl_ok(&x, 0, fl_sem_release("s", s1, t1));
	ck_assert(fl_granted(&x, "s", s2, &t2));
	fl_err(&x, fl_sem_acquire("s", s3, 4, true, 0), COORD_ESEMPERMITS);
	fl_ok(&x, 0, fl_sem_release("s", s2, t2));
	ck_assert_uint_eq(sem_status(&x, "s").permits, 0);
	ck_assert_uint_ne(sem_take(&x, 0, "s", s3, 4), 0);
	ck_assert_uint_ne(sem_take(&x, 0, "s", s1, 4), 0);
	ck_assert_uint_eq(sem_status(&x, "s").permits, 4);
	ck_assert_uint_eq(sem_status(&x, "s").n_holders, 2);
	fl_close(&x);
}
END_TEST

/* A waiter past its deadline is dropped by QUEUE_KICK of kind SEM; one
 * whose deadline passed already is EBUSY; the limits are named errors. */
START_TEST(deadlines_kicks_and_limits)
{
	struct fl x;
	struct fsm_config cfg;
	struct proto_cmd kick;
	const struct proto_reply *r;
	uint64_t s1, s2, s3;

	fsm_config_default(&cfg);
	cfg.waiters_max = 1;
	cfg.locks_per_session_max = 2;
	fl_open(&x, &cfg);
	s1 = fl_session(&x, 0, 100000);
	s2 = fl_session(&x, 0, 100000);
	s3 = fl_session(&x, 0, 100000);
	sem_take(&x, 0, "s", s1, 1);
	r = fl_ok(&x, 0, fl_sem_acquire("s", s2, 1, true, 300));
	ck_assert(!r->u.lock_acquire.granted);
	fl_err(&x, fl_sem_acquire("s", s3, 1, true, 0), COORD_ETOOMANYWAITERS);
	kick = fl_kick("s");
	kick.u.queue_kick.kind = PROTO_QUEUE_SEM;
	r = fl_ok(&x, 301, kick);
	ck_assert_uint_eq(r->u.queue_kick.granted, 0);
	ck_assert_uint_eq(sem_status(&x, "s").n_waiters, 0);
	fl_err(&x, fl_sem_acquire("s", s3, 1, true, 200), COORD_EBUSY);
	/* A session's holds and waits of every kind count together. */
	sem_take(&x, 301, "a", s3, 5);
	fl_lock(&x, 301, "b", s3, PROTO_LOCK_EXCLUSIVE, false);
	fl_err(&x, fl_sem_acquire("c", s3, 5, true, 0), COORD_ETOOMANYLOCKS);
	fl_close(&x);
}
END_TEST

/* A fence [(semaphore, token, kind SEM)] is accepted while that permit is
 * held, by whichever holder; refused once it is released, and a lock
 * fence of the same name does not match a permit (nor the reverse). */
START_TEST(fences_with_permit_tokens)
{
	struct fl x;
	const struct proto_reply *r;
	struct proto_cmd put = ft_put("k", "v", 0);
	struct proto_fence fc[2];
	uint64_t s1, s2, s3, t1, t2, t3, tl;

	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 100000);
	s2 = fl_session(&x, 0, 100000);
	s3 = fl_session(&x, 0, 100000);
	t1 = sem_take(&x, 0, "s", s1, 2);
	t2 = sem_take(&x, 0, "s", s2, 2);
	ck_assert_uint_eq(sem_take(&x, 0, "s", s3, 2), 0);
	fc[0] = (struct proto_fence){ FT_B("s"), t1, PROTO_QUEUE_SEM };
	fc[1] = (struct proto_fence){ FT_B("s"), t2, PROTO_QUEUE_SEM };
	r = fl_ok(&x, 0, fl_fenced(fc, 2, &put));
	ck_assert_uint_eq(r->type, PROTO_CMD_PUT);
	fl_ok(&x, 0, fl_sem_release("s", s1, t1));
	ck_assert(fl_granted(&x, "s", s3, &t3));
	fl_err(&x, fl_fenced(fc, 1, &put), COORD_EFENCED);
	fl_ok(&x, 0, fl_fenced(&fc[1], 1, &put));
	fc[0].token = t3;
	fl_ok(&x, 0, fl_fenced(fc, 1, &put));
	/* Kinds are separate: a lock fence does not name the semaphore. */
	fc[0].kind = PROTO_QUEUE_LOCK;
	fl_err(&x, fl_fenced(fc, 1, &put), COORD_EFENCED);
	fc[0].kind = 0;
	fl_err(&x, fl_fenced(fc, 1, &put), COORD_EFENCED);
	tl = fl_lock(&x, 0, "L", s1, PROTO_LOCK_EXCLUSIVE, false);
	fc[0] = (struct proto_fence){ FT_B("L"), tl, PROTO_QUEUE_SEM };
	fl_err(&x, fl_fenced(fc, 1, &put), COORD_EFENCED);
	fc[0].kind = PROTO_QUEUE_LOCK;
	fl_ok(&x, 0, fl_fenced(fc, 1, &put));
	/* A session that ends takes its permit's fence with it. */
	fc[0] = (struct proto_fence){ FT_B("s"), t2, PROTO_QUEUE_SEM };
	fl_ok(&x, 0, fl_close_session(s2));
	fl_err(&x, fl_fenced(fc, 1, &put), COORD_EFENCED);
	fl_close(&x);
}
END_TEST

/* A semaphore fence round-trips through the Raft entry codec and the
 * wire; a lock fence keeps its old two-element form on
 * both; a fence kind 0 or unknown is malformed, one the encoder cannot
 * carry is refused. */
START_TEST(codec_of_sem_commands_and_fences)
{
	struct proto_fence fc[2] = { { FT_B("l"), 7, PROTO_QUEUE_LOCK },
				     { FT_B("s"), 8, PROTO_QUEUE_SEM } };
	struct proto_cmd put = ft_put("k", "v", 0);
	struct proto_cmd cmds[] = { fl_fenced(fc, 2, &put) };
	/* [20, [["l", 7, 0]], put]; the same with kind 127; a lock
	 * fence as [name, token] decodes as kind PROTO_QUEUE_LOCK. */
	const uint8_t kind0[] = { 0x93, 20, 0x91, 0x93, 0xc4, 1, 'l', 7, 0,
				  0x95, 1, 0xc4, 1, 'k', 0xc4, 0, 0, 0xc2 };
	const uint8_t kind127[] = { 0x93, 20, 0x91, 0x93, 0xc4, 1, 'l', 7,
				    0x7f, 0x95, 1, 0xc4, 1, 'k', 0xc4, 0, 0,
				    0xc2 };
	const uint8_t old[] = { 0x93, 20, 0x91, 0x92, 0xc4, 1, 'l', 7,
				0x95, 1, 0xc4, 1, 'k', 0xc4, 0, 0, 0xc2 };
	struct proto_request rq, rback;
	struct proto_arena arena;
	struct proto_cmd back;
	struct proto_buf a;

	proto_arena_init(&arena, NULL);
	proto_buf_init(&a, NULL);
	/* (test_fsm_lease.c round-trips every command, these too.) */
	ft_code_eq(proto_cmd_encode(&cmds[0], &a), COORD_OK);
	ft_code_eq(proto_cmd_decode(a.data, a.len, &arena, &back),
		   COORD_OK);
	ck_assert_uint_eq(back.u.fenced.fences[0].kind, PROTO_QUEUE_LOCK);
	ck_assert_uint_eq(back.u.fenced.fences[1].kind, PROTO_QUEUE_SEM);
	ft_code_eq(proto_cmd_decode(kind0, sizeof(kind0), &arena, &back),
		   COORD_EMALFORMED);
	ft_code_eq(proto_cmd_decode(kind127, sizeof(kind127), &arena, &back),
		   COORD_EMALFORMED);
	ft_code_eq(proto_cmd_decode(old, sizeof(old), &arena, &back),
		   COORD_OK);
	ck_assert_uint_eq(back.u.fenced.fences[0].kind, PROTO_QUEUE_LOCK);
	proto_buf_clear(&a);
	fc[1].kind = 127;
	ft_code_eq(proto_cmd_encode(&cmds[0], &a), COORD_EINVAL);
	fc[1].kind = PROTO_QUEUE_SEM;
	/* The wire: a PUT with both fences. */
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_PUT;
	rq.request_id = 1;
	rq.fences.v = fc;
	rq.fences.n = 2;
	rq.u.put = put.u.put;
	proto_buf_clear(&a);
	ft_code_eq(proto_request_encode(&rq, &a), COORD_OK);
	ft_code_eq(proto_request_decode(a.data, a.len, &arena, &rback),
		   COORD_OK);
	ck_assert_uint_eq(rback.fences.n, 2);
	ck_assert_uint_eq(rback.fences.v[0].kind, PROTO_QUEUE_LOCK);
	ck_assert_uint_eq(rback.fences.v[0].token, 7);
	ck_assert_uint_eq(rback.fences.v[1].kind, PROTO_QUEUE_SEM);
	ck_assert_uint_eq(rback.fences.v[1].token, 8);
	fc[1].kind = 127;
	proto_buf_clear(&a);
	ft_code_eq(proto_request_encode(&rq, &a), COORD_EINVAL);
	proto_buf_close(&a);
	proto_arena_close(&arena);
}
END_TEST

Suite *fsm_sem_suite(void)
{
	Suite *s = suite_create("fsm_sem");

	FT_ADD(s, bad_input_is_a_named_error_and_changes_nothing);
	FT_ADD(s, n_permits_at_once_then_waiters);
	FT_ADD(s, waiters_are_granted_in_fifo_order);
	FT_ADD(s, session_end_returns_permits_in_the_same_command);
	FT_ADD(s, retried_acquire_and_release_apply_once);
	FT_ADD(s, a_new_n_only_once_the_semaphore_is_empty);
	FT_ADD(s, deadlines_kicks_and_limits);
	FT_ADD(s, fences_with_permit_tokens);
	FT_ADD(s, codec_of_sem_commands_and_fences);
	return s;
}
