/*
 * tests/unit/test_fsm_lock.c: locks in the fsm -- acquire and its rules in
 * order, release, cancel, shared and exclusive modes, FIFO, limits,
 * exactly-once of a retried acquire, the grant rule (an overdue waiter is
 * expired and skipped), lock-delay, waiter deadlines and QUEUE_KICK, the
 * end of a session across several locks with chained grants, tokens
 * across a snapshot, and the reads for the server.
 */
#include <string.h>

#include "coordd/fsm/fsm.h"
#include "tests/unit/fsm_clients_test.h"
#include "tests/unit/fsm_lock_test.h"
#include "tests/unit/test_fsm.h"

#define EX PROTO_LOCK_EXCLUSIVE
#define SH PROTO_LOCK_SHARED
/* The default drift allowance of a TTL (fsm_lease_drift()). */
#define DRIFT(ttl) \
	fsm_lease_drift(COORD_LEASE_DRIFT_MS, COORD_LEASE_DRIFT_PPM, (ttl))

START_TEST(acquire_errors_change_nothing)
{
	struct fl x;
	uint64_t s, lease;

	fl_open(&x, NULL);
	fl_err(&x, fl_acquire("a", 99, EX, true, 0, 0), COORD_ESESSION);
	fl_ok(&x, 0, fl_grant(0, 1000));
	lease = x.t.index;
	fl_err(&x, fl_acquire("a", lease, EX, true, 0, 0), COORD_ESESSION);
	s = fl_session(&x, 0, 1000);
	fl_err(&x, fl_acquire("", s, EX, true, 0, 0), COORD_EINVAL);
	/* Past ttl + drift on the cluster clock: never granted. */
	fl_ok(&x, 1000 + DRIFT(1000) + 1, ft_put("t", "", 0));
	fl_err(&x, fl_acquire("a", s, EX, true, 0, 0), COORD_ESESSION_EXPIRED);
	fl_close(&x);
}
END_TEST

/* A free lock is granted at once with the command's revision as token,
 * reported in the reply and in grants. */
START_TEST(acquire_free_lock_grants_the_revision)
{
	struct fl x;
	const struct proto_reply *r;
	uint64_t s, tok;

	fl_open(&x, NULL);
	s = fl_session(&x, 0, 1000);
	r = fl_ok(&x, 0, fl_acquire("a", s, EX, false, 0, 0));
	ck_assert(r->u.lock_acquire.granted);
	ck_assert_uint_eq(r->u.lock_acquire.token, 2);
	ck_assert_uint_eq(r->revision, 2);
	ck_assert(fl_granted(&x, "a", s, &tok));
	ck_assert_uint_eq(tok, 2);
	ck_assert_uint_eq(fsm_holds_count(x.t.f), 1);
	fl_close(&x);
}
END_TEST

/* Held already: the same token, whatever mode; waiting already: granted
 * false, token 0, never queued twice; neither moves the revision. */
START_TEST(acquire_is_idempotent_for_holders_and_waiters)
{
	struct fl x;
	const struct proto_reply *r;
	uint64_t s1, s2, tok, rev;

	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 1000);
	s2 = fl_session(&x, 0, 1000);
	tok = fl_lock(&x, 0, "a", s1, EX, false);
	ck_assert_uint_ne(tok, 0);
	ck_assert_uint_eq(fl_lock(&x, 0, "a", s2, EX, true), 0);
	rev = fsm_revision(x.t.f);
	r = fl_ok(&x, 0, fl_acquire("a", s1, SH, false, 0, 0));
	ck_assert(r->u.lock_acquire.granted);
	ck_assert_uint_eq(r->u.lock_acquire.token, tok);
	r = fl_ok(&x, 0, fl_acquire("a", s2, EX, true, 0, 0));
	ck_assert(!r->u.lock_acquire.granted);
	ck_assert_uint_eq(r->u.lock_acquire.token, 0);
	ck_assert_uint_eq(fsm_revision(x.t.f), rev);
	ck_assert_uint_eq(fl_waiters(&x, "a"), 1);
	fl_close(&x);
}
END_TEST

START_TEST(acquire_busy_without_wait_changes_nothing)
{
	struct fl x;
	uint64_t s1, s2;

	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 1000);
	s2 = fl_session(&x, 0, 1000);
	fl_lock(&x, 0, "a", s1, SH, false);
	fl_err(&x, fl_acquire("a", s2, EX, false, 0, 0), COORD_EBUSY);
	/* A deadline already passed: as if it did not wait. */
	fl_ok(&x, 500, ft_put("t", "", 0));
	fl_err(&x, fl_acquire("a", s2, EX, true, 100, 0), COORD_EBUSY);
	fl_close(&x);
}
END_TEST

/* Shared holders share; an exclusive waits for them; a shared request
 * behind a queued exclusive waits too (FIFO); releasing the last shared
 * grants the exclusive, and its release grants the shared waiters
 * together with one token. */
START_TEST(shared_and_exclusive_modes_in_fifo_order)
{
	struct fl x;
	uint64_t s[5], t1, t2, te, ta, tb;

	fl_open(&x, NULL);
	for (int i = 0; i < 5; i++)
		s[i] = fl_session(&x, 0, 1000000);
	t1 = fl_lock(&x, 0, "a", s[0], SH, false);
	t2 = fl_lock(&x, 0, "a", s[1], SH, false);
	ck_assert_uint_ne(t1, 0);
	ck_assert_uint_gt(t2, t1);
	ck_assert_uint_eq(fl_lock(&x, 0, "a", s[2], EX, true), 0);
	ck_assert_uint_eq(fl_lock(&x, 0, "a", s[3], SH, true), 0);
	ck_assert_uint_eq(fl_lock(&x, 0, "a", s[4], SH, true), 0);
	fl_ok(&x, 0, fl_release("a", s[0], t1));
	ck_assert_uint_eq(x.res.res.n_grants, 0);
	fl_ok(&x, 0, fl_release("a", s[1], t2));
	ck_assert(fl_granted(&x, "a", s[2], &te));
	ck_assert_uint_eq(te, fsm_revision(x.t.f));
	fl_ok(&x, 0, fl_release("a", s[2], te));
	ck_assert(fl_granted(&x, "a", s[3], &ta));
	ck_assert(fl_granted(&x, "a", s[4], &tb));
	ck_assert_uint_eq(ta, tb);
	ck_assert_uint_gt(ta, te);
	ck_assert_uint_eq(fl_holders(&x, "a"), 2);
	fl_close(&x);
}
END_TEST

START_TEST(acquire_limits_are_named_errors)
{
	struct fl x;
	struct fsm_config cfg;
	uint64_t s1, s2, s3;

	fsm_config_default(&cfg);
	cfg.waiters_max = 1;
	cfg.locks_per_session_max = 2;
	fl_open(&x, &cfg);
	s1 = fl_session(&x, 0, 1000);
	s2 = fl_session(&x, 0, 1000);
	s3 = fl_session(&x, 0, 1000);
	fl_lock(&x, 0, "a", s1, EX, false);
	fl_lock(&x, 0, "a", s2, EX, true);
	fl_err(&x, fl_acquire("a", s3, EX, true, 0, 0),
	       COORD_ETOOMANYWAITERS);
	fl_lock(&x, 0, "b", s1, EX, false);
	fl_err(&x, fl_acquire("c", s1, EX, false, 0, 0), COORD_ETOOMANYLOCKS);
	fl_lock(&x, 0, "b", s2, EX, true);
	fl_err(&x, fl_acquire("c", s2, EX, true, 0, 0), COORD_ETOOMANYLOCKS);
	fl_close(&x);
}
END_TEST

/* The per-session limit when the session's own holds are all the
 * holds and waits there are (their count decides whether the owner
 * records are scanned): at the limit, refused, waiting or not. */
START_TEST(session_limit_with_no_other_entries)
{
	struct fl x;
	struct fsm_config cfg;
	uint64_t s1;

	fsm_config_default(&cfg);
	cfg.locks_per_session_max = 2;
	fl_open(&x, &cfg);
	s1 = fl_session(&x, 0, 1000);
	fl_lock(&x, 0, "a", s1, EX, false);
	fl_lock(&x, 0, "b", s1, EX, false);
	fl_err(&x, fl_acquire("c", s1, EX, false, 0, 0), COORD_ETOOMANYLOCKS);
	fl_err(&x, fl_acquire("c", s1, EX, true, 0, 0), COORD_ETOOMANYLOCKS);
	ck_assert_uint_eq(fl_holders(&x, "c"), 0);
	fl_close(&x);
}
END_TEST

/* Release by the holder's exact token only; token 0 cancels a wait. */
START_TEST(release_by_token_and_cancel)
{
	struct fl x;
	uint64_t s1, s2, s3, t1, t3;

	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 1000000);
	s2 = fl_session(&x, 0, 1000000);
	s3 = fl_session(&x, 0, 1000000);
	t1 = fl_lock(&x, 0, "a", s1, EX, false);
	fl_lock(&x, 0, "a", s2, EX, true);
	fl_lock(&x, 0, "a", s3, EX, true);
	fl_err(&x, fl_release("a", s1, t1 + 1), COORD_ENOTHOLDER);
	fl_err(&x, fl_release("a", s2, t1), COORD_ENOTHOLDER);
	fl_err(&x, fl_release("b", s1, t1), COORD_ENOTHOLDER);
	fl_err(&x, fl_release("a", s1, 0), COORD_ENOTFOUND);
	fl_err(&x, fl_release("", s1, t1), COORD_EINVAL);
	fl_ok(&x, 0, fl_release("a", s2, 0));
	ck_assert_uint_eq(fl_waiters(&x, "a"), 1);
	fl_ok(&x, 0, fl_release("a", s1, t1));
	ck_assert(fl_granted(&x, "a", s3, &t3));
	ck_assert_uint_gt(t3, t1);
	/* The old token is stale now. */
	fl_err(&x, fl_release("a", s1, t1), COORD_ENOTHOLDER);
	fl_ok(&x, 0, fl_release("a", s3, t3));
	ck_assert_uint_eq(fsm_holds_count(x.t.f), 0);
	ck_assert_uint_eq(fsm_waiters_count(x.t.f), 0);
	fl_close(&x);
}
END_TEST

#define FIFO_N 1000

/* 1,000 waiters are granted exactly once each, in order, each with a
 * larger token. */
START_TEST(fifo_of_1000_waiters_granted_once_in_order)
{
	static uint64_t s[FIFO_N + 1];
	struct fl x;
	uint64_t tok, last;

	fl_open(&x, NULL);
	for (int i = 0; i <= FIFO_N; i++)
		s[i] = fl_session(&x, 0, 10000000);
	last = fl_lock(&x, 0, "q", s[0], EX, false);
	for (int i = 1; i <= FIFO_N; i++)
		ck_assert_uint_eq(fl_lock(&x, 0, "q", s[i], EX, true), 0);
	ck_assert_uint_eq(fsm_waiters_count(x.t.f), FIFO_N);
	for (int i = 0; i < FIFO_N; i++) {
		fl_ok(&x, 0, fl_release("q", s[i], last));
		ck_assert_uint_eq(x.res.res.n_grants, 1);
		ck_assert(fl_granted(&x, "q", s[i + 1], &tok));
		ck_assert_uint_gt(tok, last);
		last = tok;
	}
	ck_assert_uint_eq(fsm_waiters_count(x.t.f), 0);
	ck_assert_uint_eq(fsm_holds_count(x.t.f), 1);
	fl_close(&x);
}
END_TEST

/* A retried acquire (same client and sequence) gets the same reply and
 * queues once; a new sequence while queued is granted false, token 0,
 * still queued once. */
START_TEST(retried_acquire_queues_once)
{
	struct fl x;
	const struct proto_reply *r;
	uint64_t s1, s2, client, rev;
	struct proto_buf first;

	fl_open(&x, NULL);
	r = fl_ok(&x, 0, ft_register(1000));
	client = r->u.register_client.client_id;
	s1 = fl_session(&x, 0, 100000);
	s2 = fl_session(&x, 0, 100000);
	fl_lock(&x, 0, "a", s1, EX, false);
	r = fl_do_as(&x, client, 1, 0, fl_acquire("a", s2, EX, true, 0, 0));
	ck_assert(!r->u.lock_acquire.granted);
	proto_buf_init(&first, NULL);
	ft_code_eq(proto_buf_append(&first, x.res.reply_data,
				    x.res.reply_len),
		   COORD_OK);
	rev = fsm_revision(x.t.f);
	fl_do_as(&x, client, 1, 0, fl_acquire("a", s2, EX, true, 0, 0));
	ck_assert(x.res.duplicate);
	ck_assert_uint_eq(x.res.reply_len, first.len);
	ck_assert_int_eq(memcmp(x.res.reply_data, first.data, first.len), 0);
	ck_assert_uint_eq(x.res.res.n_grants, 0);
	ck_assert_uint_eq(fsm_revision(x.t.f), rev);
	r = fl_do_as(&x, client, 2, 0, fl_acquire("a", s2, EX, true, 0, 0));
	ck_assert(!x.res.duplicate);
	ck_assert(!r->u.lock_acquire.granted);
	ck_assert_uint_eq(fsm_revision(x.t.f), rev);
	ck_assert_uint_eq(fl_waiters(&x, "a"), 1);
	proto_buf_close(&first);
	fl_close(&x);
}
END_TEST

/* The grant rule: a waiter whose ka_ms + ttl + drift is below the clock
 * of the releasing entry is expired in that command and skipped; the next
 * live waiter gets a larger token. */
START_TEST(overdue_waiter_is_expired_and_skipped)
{
	struct fl x;
	uint64_t s1, s2, s3, t1, t3, ids[2];
	int why;

	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 10000);
	s2 = fl_session(&x, 0, 1000);
	s3 = fl_session(&x, 0, 10000);
	t1 = fl_lock(&x, 0, "a", s1, EX, false);
	fl_lock(&x, 0, "a", s2, EX, true);
	fl_lock(&x, 0, "a", s3, EX, true);
	ids[0] = s1;
	ids[1] = s3;
	fl_ok(&x, 1000, fl_keepalive(ids, 2));
	/* s2 is due at 1000 + drift: still live at exactly that time. */
	fl_ok(&x, 1000 + DRIFT(1000) + 1, fl_release("a", s1, t1));
	ck_assert(!fl_granted(&x, "a", s2, NULL));
	ck_assert(fl_granted(&x, "a", s3, &t3));
	ck_assert_uint_gt(t3, t1);
	ck_assert(fl_gone(&x, s2, &why));
	ck_assert_int_eq(why, COORD_ESESSION_EXPIRED);
	ck_assert_uint_eq(fsm_sessions_count(x.t.f), 2);
	ck_assert_uint_eq(fl_waiters(&x, "a"), 0);
	fl_close(&x);
}
END_TEST

START_TEST(waiter_at_its_due_time_is_still_granted)
{
	struct fl x;
	uint64_t s1, s2, t1;

	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 100000);
	s2 = fl_session(&x, 0, 1000);
	t1 = fl_lock(&x, 0, "a", s1, EX, false);
	fl_lock(&x, 0, "a", s2, EX, true);
	fl_ok(&x, 1000 + DRIFT(1000), fl_release("a", s1, t1));
	ck_assert(fl_granted(&x, "a", s2, NULL));
	fl_close(&x);
}
END_TEST

/* The drift allowance is a rate: a fixed COORD_LEASE_DRIFT_MS plus
 * COORD_LEASE_DRIFT_PPM of the TTL (docs/consistency.md, "Time"): a
 * 100 s session is still granted 1,002 ms past its TTL and not 1,003 ms
 * past it; a 2 s one not 23 ms past. */
START_TEST(drift_allowance_grows_with_the_ttl)
{
	struct fl x;
	uint64_t s1, s2, s3, t1;

	ck_assert_uint_eq(DRIFT(100000), 1002);
	ck_assert_uint_eq(DRIFT(2000), 22);
	ck_assert_uint_eq(fsm_lease_drift(5, 0, 100000), 5);
	ck_assert_uint_eq(fsm_lease_drift(UINT64_MAX, 1, 1000000), UINT64_MAX);
	ck_assert_uint_eq(fsm_lease_drift(0, 1000000, UINT64_MAX), UINT64_MAX);
	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 1000000);
	s2 = fl_session(&x, 0, 100000);
	s3 = fl_session(&x, 0, 100000);
	t1 = fl_lock(&x, 0, "a", s1, EX, false);
	fl_lock(&x, 0, "a", s2, EX, true);
	fl_ok(&x, 100000 + 1002, fl_release("a", s1, t1));
	ck_assert(fl_granted(&x, "a", s2, NULL));
	fl_ok(&x, 100000 + 1003, ft_put("t", "", 0));
	fl_err(&x, fl_acquire("b", s3, EX, true, 0, 0),
	       COORD_ESESSION_EXPIRED);
	fl_close(&x);
}
END_TEST

/* After a holder's session expires, no grant until the lock-delay ends
 * (QUEUE_KICK re-evaluates); a clean release has no delay. */
START_TEST(lock_delay_after_expiry_only)
{
	struct fl x;
	const struct proto_reply *r;
	struct fsm_queue_status st;
	uint64_t s1, s2, s3, ka, rev, t3;

	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 1000);
	ka = x.t.index;
	s2 = fl_session(&x, 0, 100000);
	s3 = fl_session(&x, 0, 100000);
	fl_ok(&x, 0, fl_acquire("a", s1, EX, false, 0, 500));
	fl_lock(&x, 0, "a", s2, EX, true);
	r = fl_ok(&x, 2000, fl_expire(s1, ka));
	ck_assert(r->u.lease_expire.expired);
	ck_assert_uint_eq(x.res.res.n_grants, 0);
	ft_code_eq(fsm_queue_status(x.t.f, FSM_QUEUE_LOCK, ft_s("a"), 8, &st),
		   COORD_OK);
	ck_assert_uint_eq(st.delay_until_ms, 2500);
	ck_assert_uint_eq(st.n_holders, 0);
	ck_assert_uint_eq(st.n_waiters, 1);
	/* Others wait too, even with no one ahead. */
	fl_err(&x, fl_acquire("a", s3, EX, false, 0, 0), COORD_EBUSY);
	rev = fsm_revision(x.t.f);
	r = fl_ok(&x, 2400, fl_kick("a"));
	ck_assert_uint_eq(r->u.queue_kick.granted, 0);
	ck_assert_uint_eq(fsm_revision(x.t.f), rev);
	r = fl_ok(&x, 2500, fl_kick("a"));
	ck_assert_uint_eq(r->u.queue_kick.granted, 1);
	ck_assert(fl_granted(&x, "a", s2, NULL));
	ck_assert_uint_eq(fsm_revision(x.t.f), rev + 1);
	ft_code_eq(fsm_queue_status(x.t.f, FSM_QUEUE_LOCK, ft_s("a"), 8, &st),
		   COORD_OK);
	ck_assert_uint_eq(st.delay_until_ms, 0);   /* over: gone */
	/* A clean release: no delay. */
	fl_ok(&x, 2500, fl_release("a", s2, fsm_revision(x.t.f)));
	t3 = fl_lock(&x, 2500, "a", s3, EX, false);
	ck_assert_uint_ne(t3, 0);
	fl_close(&x);
}
END_TEST

/* The wake time (fsm_result.wakes) the last command reported for lock
 * name, or 1 when it reported none (queue not stored). */
static uint64_t fl_wake(const struct fl *x, const char *name)
{
	uint64_t wake = 1;

	for (size_t i = 0; i < x->res.res.n_wakes; i++) {
		const struct fsm_queue_wake *w = &x->res.res.wakes[i];

		if (w->kind == FSM_QUEUE_LOCK &&
		    proto_bytes_eq(w->name, ft_s(name)))
			wake = w->wake_ms;
	}
	return wake;
}

/* A lock-delay that is over goes: the first kick after it clears it,
 * whether or not it can grant (here a shared holder keeps an exclusive
 * waiter out), so that the queue's wake time is not one already past --
 * the leader would kick it again, for nothing, every election timeout
 * for as long as the waiter waits. */
START_TEST(lock_delay_over_leaves_no_wake_time)
{
	struct fl x;
	const struct proto_reply *r;
	struct fsm_queue_status st;
	uint64_t s1, s2, s3, ka;

	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 1000);
	ka = x.t.index;
	s2 = fl_session(&x, 0, 100000);
	s3 = fl_session(&x, 0, 100000);
	fl_ok(&x, 0, fl_acquire("a", s1, SH, false, 0, 500));
	fl_lock(&x, 0, "a", s2, SH, false);
	fl_ok(&x, 0, fl_acquire("a", s3, EX, true, 0, 0));
	fl_ok(&x, 2000, fl_expire(s1, ka));
	ck_assert_uint_eq(fl_wake(&x, "a"), 2500);
	r = fl_ok(&x, 2500, fl_kick("a"));
	ck_assert_uint_eq(r->u.queue_kick.granted, 0);
	ck_assert_uint_eq(fl_wake(&x, "a"), 0);   /* stored, none left */
	ft_code_eq(fsm_queue_status(x.t.f, FSM_QUEUE_LOCK, ft_s("a"), 8, &st),
		   COORD_OK);
	ck_assert_uint_eq(st.delay_until_ms, 0);
	ck_assert_uint_eq(st.n_holders, 1);
	ck_assert_uint_eq(st.n_waiters, 1);
	fl_close(&x);
}
END_TEST

/* A waiter whose deadline passed is dropped by the kick, not granted. */
START_TEST(kick_drops_waiters_past_their_deadline)
{
	struct fl x;
	const struct proto_reply *r;
	uint64_t s1, s2, s3, t1;

	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 100000);
	s2 = fl_session(&x, 0, 100000);
	s3 = fl_session(&x, 0, 100000);
	t1 = fl_lock(&x, 0, "a", s1, SH, false);
	fl_ok(&x, 0, fl_acquire("a", s2, EX, true, 300, 0));
	fl_ok(&x, 0, fl_acquire("a", s3, EX, true, 900, 0));
	r = fl_ok(&x, 500, fl_kick("a"));
	ck_assert_uint_eq(r->u.queue_kick.granted, 0);
	ck_assert_uint_eq(fl_waiters(&x, "a"), 1);
	/* The other one's deadline passes before the release. */
	fl_ok(&x, 1000, fl_release("a", s1, t1));
	ck_assert_uint_eq(x.res.res.n_grants, 0);
	ck_assert_uint_eq(fl_waiters(&x, "a"), 0);
	fl_err(&x, fl_kick(""), COORD_EINVAL);
	fl_close(&x);
}
END_TEST

/* Closing a session releases its holds on several locks in one command;
 * a waiter granted in between whose own session is overdue is expired in
 * the same command, and its holds go on to the next waiters (a chain). */
START_TEST(session_end_releases_every_lock_with_chained_grants)
{
	struct fl x;
	const struct proto_reply *r;
	uint64_t s1, s2, s3, s4, ids[3], tb, tc;
	int why;

	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 100000);
	s2 = fl_session(&x, 0, 1000);
	s3 = fl_session(&x, 0, 100000);
	s4 = fl_session(&x, 0, 100000);
	fl_lock(&x, 0, "a", s1, EX, false);
	fl_lock(&x, 0, "c", s1, EX, false);
	fl_lock(&x, 0, "b", s2, EX, false);
	fl_lock(&x, 0, "a", s2, EX, true);
	fl_lock(&x, 0, "b", s3, EX, true);
	fl_lock(&x, 0, "c", s4, EX, true);
	ids[0] = s1;
	ids[1] = s3;
	ids[2] = s4;
	fl_ok(&x, 5000, fl_keepalive(ids, 3));
	r = fl_ok(&x, 5000, fl_close_session(s1));
	ck_assert(fl_gone(&x, s1, &why));
	ck_assert_int_eq(why, COORD_ESESSION);
	ck_assert(fl_gone(&x, s2, &why));
	ck_assert_int_eq(why, COORD_ESESSION_EXPIRED);
	ck_assert(fl_granted(&x, "b", s3, &tb));
	ck_assert(fl_granted(&x, "c", s4, &tc));
	ck_assert(!fl_granted(&x, "a", s2, NULL));
	ck_assert_uint_eq(tb, r->revision);
	ck_assert_uint_eq(tc, r->revision);
	ck_assert_uint_eq(fl_holders(&x, "a"), 0);
	ck_assert_uint_eq(fsm_sessions_count(x.t.f), 2);
	ck_assert_uint_eq(fsm_holds_count(x.t.f), 2);
	ck_assert_uint_eq(fsm_waiters_count(x.t.f), 0);
	fl_close(&x);
}
END_TEST

/* A session that ends while it waits leaves the queue; the waiter
 * behind it moves up. */
START_TEST(session_end_removes_its_waits)
{
	struct fl x;
	uint64_t s1, s2, s3, t1;

	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 100000);
	s2 = fl_session(&x, 0, 100000);
	s3 = fl_session(&x, 0, 100000);
	t1 = fl_lock(&x, 0, "a", s1, EX, false);
	fl_lock(&x, 0, "a", s2, EX, true);
	fl_lock(&x, 0, "a", s3, EX, true);
	fl_ok(&x, 0, fl_close_session(s2));
	ck_assert_uint_eq(x.res.res.n_grants, 0);
	ck_assert_uint_eq(fsm_waiters_count(x.t.f), 1);
	fl_ok(&x, 0, fl_release("a", s1, t1));
	ck_assert(fl_granted(&x, "a", s3, NULL));
	fl_close(&x);
}
END_TEST

/* A lock-delay past the end of time saturates: never re-granted. */
START_TEST(lock_delay_saturates)
{
	struct fl x;
	struct fsm_queue_status st;
	uint64_t s1, ka;

	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 1000);
	ka = x.t.index;
	fl_ok(&x, 0, fl_acquire("a", s1, EX, false, 0, UINT64_MAX));
	fl_ok(&x, 5000, fl_expire(s1, ka));
	ft_code_eq(fsm_queue_status(x.t.f, FSM_QUEUE_LOCK, ft_s("a"), 8, &st),
		   COORD_OK);
	ck_assert_uint_eq(st.delay_until_ms, UINT64_MAX);
	fl_close(&x);
}
END_TEST

/* Revoking a session's lease ends the session too, keys and locks. */
START_TEST(revoke_of_a_session_lease_ends_the_session)
{
	struct fl x;
	uint64_t s1, s2;

	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 100000);
	s2 = fl_session(&x, 0, 100000);
	fl_ok(&x, 0, ft_put("k", "v", s1));
	fl_lock(&x, 0, "a", s1, EX, false);
	fl_lock(&x, 0, "a", s2, EX, true);
	fl_ok(&x, 0, fl_revoke(s1));
	ck_assert(fl_granted(&x, "a", s2, NULL));
	ck_assert(fl_gone(&x, s1, NULL));
	ck_assert_ptr_null(ft_kv(&x.t, "k"));
	ck_assert_uint_eq(fsm_sessions_count(x.t.f), 1);
	fl_close(&x);
}
END_TEST

/* Tokens keep rising on a replica restored from a copy of the records
 * (a snapshot), after compaction too; the restored state hashes alike. */
START_TEST(tokens_rise_across_a_snapshot)
{
	struct fl x, y;
	uint64_t s1, s2, t1, t2, t3;

	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 100000);
	s2 = fl_session(&x, 0, 100000);
	t1 = fl_lock(&x, 0, "a", s1, EX, false);
	fl_lock(&x, 0, "a", s2, EX, true);
	fl_ok(&x, 0, ft_compact(fsm_revision(x.t.f)));
	fl_open(&y, NULL);
	fsm_free(y.t.f);
	ft_backend_copy(x.t.backend, y.t.backend);
	ft_code_eq(fsm_new(&y.t.cfg, y.t.backend, &y.t.f), COORD_OK);
	y.t.index = x.t.index;
	ck_assert_uint_eq(ft_hash(&y.t), ft_hash(&x.t));
	ck_assert_uint_eq(fsm_sessions_count(y.t.f), 2);
	ck_assert_uint_eq(fsm_waiters_count(y.t.f), 1);
	fl_ok(&y, 0, fl_release("a", s1, t1));
	ck_assert(fl_granted(&y, "a", s2, &t2));
	ck_assert_uint_gt(t2, t1);
	fl_ok(&y, 0, fl_release("a", s2, t2));
	t3 = fl_lock(&y, 0, "a", s1, EX, false);
	ck_assert_uint_gt(t3, t2);
	fl_close(&y);
	fl_close(&x);
}
END_TEST

struct wake_ctx {
	size_t n;
	uint64_t wake_ms;
	char name[8];
};

static int wake_cb(void *ctx, const struct fsm_queue_wake *w)
{
	struct wake_ctx *c = ctx;

	c->n++;
	c->wake_ms = w->wake_ms;
	memcpy(c->name, w->name.data, w->name.len < 7 ? w->name.len : 7);
	return COORD_OK;
}

/* Status, check and the kick timers read the committed state. */
START_TEST(status_check_and_wake_reads)
{
	struct fl x;
	struct fsm_queue_status st;
	struct wake_ctx wc;
	uint64_t s1, s2, s3, t1, holder;
	bool cur;

	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 100000);
	s2 = fl_session(&x, 0, 100000);
	s3 = fl_session(&x, 0, 100000);
	t1 = fl_lock(&x, 10, "a", s1, EX, false);
	fl_ok(&x, 20, fl_acquire("a", s2, SH, true, 700, 0));
	fl_ok(&x, 30, fl_acquire("a", s3, EX, true, 400, 0));
	fl_lock(&x, 30, "b", s3, EX, false);
	ft_code_eq(fsm_queue_status(x.t.f, FSM_QUEUE_LOCK, ft_s("a"), 1, &st),
		   COORD_OK);
	ck_assert_uint_eq(st.n_holders, 1);
	ck_assert_uint_eq(st.holders[0].session, s1);
	ck_assert_uint_eq(st.holders[0].token, t1);
	ck_assert_uint_eq(st.holders[0].since_ms, 10);
	ck_assert_uint_eq(st.n_waiters, 1);
	ck_assert_uint_eq(st.waiters_total, 2);
	ck_assert_uint_eq(st.waiters[0].session, s2);
	ck_assert_uint_eq(st.waiters[0].mode, SH);
	ck_assert_uint_eq(st.waiters[0].deadline_ms, 700);
	ft_code_eq(fsm_queue_status(x.t.f, FSM_QUEUE_LOCK, ft_s("zz"), 1, &st),
		   COORD_OK);
	ck_assert_uint_eq(st.n_holders + st.n_waiters, 0);
	ft_code_eq(fsm_lock_check(x.t.f, ft_s("a"), t1, &cur, &holder),
		   COORD_OK);
	ck_assert(cur);
	ck_assert_uint_eq(holder, t1);
	ft_code_eq(fsm_lock_check(x.t.f, ft_s("a"), t1 + 1, &cur, &holder),
		   COORD_OK);
	ck_assert(!cur);
	ft_code_eq(fsm_lock_check(x.t.f, ft_s("zz"), t1, &cur, &holder),
		   COORD_OK);
	ck_assert(!cur);
	ck_assert_uint_eq(holder, 0);
	memset(&wc, 0, sizeof(wc));
	ft_code_eq(fsm_queues_each(x.t.f, wake_cb, &wc), COORD_OK);
	ck_assert_uint_eq(wc.n, 1);   /* "b" has no waiters */
	ck_assert_uint_eq(wc.wake_ms, 400);
	ck_assert_str_eq(wc.name, "a");
	fl_close(&x);
}
END_TEST

/* The model of the leader's QUEUE_KICK timers (api/lock.c): the wake
 * times reported by each command's stored queues, last one wins. */
struct wake_model {
	struct {
		uint8_t kind;
		char name[8];
		uint64_t wake_ms;
	} v[16];
	size_t n;
	size_t matched;             /* of fsm_queues_each(), this pass */
	bool wrong;
};

static long wake_model_find(struct wake_model *m, uint8_t kind,
			    struct proto_bytes name)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].kind == kind && strlen(m->v[i].name) == name.len &&
		    memcmp(m->v[i].name, name.data, name.len) == 0)
			return (long)i;
	return -1;
}

static int wake_model_check(void *ctx, const struct fsm_queue_wake *w)
{
	struct wake_model *m = ctx;
	long i = wake_model_find(m, w->kind, w->name);

	if (i < 0 || m->v[i].wake_ms != w->wake_ms)
		m->wrong = true;
	m->matched++;
	return COORD_OK;
}

static void wake_model_apply(struct wake_model *m, const struct fsm_result *r)
{
	for (size_t k = 0; k < r->n_wakes; k++) {
		const struct fsm_queue_wake *w = &r->wakes[k];
		long i = wake_model_find(m, w->kind, w->name);

		if (w->wake_ms == 0) {
			if (i >= 0)
				m->v[i] = m->v[--m->n];
			continue;
		}
		if (i < 0) {
			ck_assert_uint_lt(m->n, 16);
			ck_assert_uint_lt(w->name.len, 8);
			i = (long)m->n++;
			m->v[i].kind = w->kind;
			memset(m->v[i].name, 0, sizeof(m->v[i].name));
			memcpy(m->v[i].name, w->name.data, w->name.len);
		}
		m->v[i].wake_ms = w->wake_ms;
	}
}

/* Replaces session i (its ka[i] too) with a new one. */
static void wake_session_new(struct fl *x, struct wake_model *m,
			     uint64_t *sess, uint64_t *ka, size_t i,
			     uint64_t now, uint64_t ttl_ms)
{
	ka[i] = x->t.index + 1;
	sess[i] = fl_session(x, now, ttl_ms);
	wake_model_apply(m, &x->res.res);
}

/* Every command that changes a queue reports its new wake time: from
 * the wake times of the commands' results alone, the leader knows what
 * fsm_queues_each() would say -- checked after each of 4,000 random
 * acquires (locks and semaphores, with deadlines and lock-delays),
 * releases, kicks, keepalives, expiries and closes. */
START_TEST(stored_queues_report_their_wake_times)
{
	static const char *const names[] = { "a", "b", "c" };
	struct fl x;
	struct wake_model m;
	uint64_t sess[6], ka[6], now = 0, seed = 0x9e3779b97f4a7c15ull;
	size_t with_sem = 0, with_lock = 0, kicked = 0;

	fl_open(&x, NULL);
	memset(&m, 0, sizeof(m));
	for (size_t i = 0; i < 6; i++)
		wake_session_new(&x, &m, sess, ka, i, now, 1000);
	for (int step = 0; step < 4000; step++) {
		uint64_t r, ids[6];
		const char *name;
		size_t si, n = 0;
		int code;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		r = seed >> 24;
		name = names[r % 3];
		now += (r >> 2) % 40;
		si = (r >> 8) % 6;
		switch ((r >> 12) % 9) {
		case 0:
		case 1:
			fl_do(&x, now, fl_acquire(name, sess[si],
						  (r >> 16) % 2 ? EX : SH,
						  (r >> 17) % 4 != 0,
						  (r >> 19) % 2 ? now + 300 : 0,
						  (r >> 20) % 2 ? 200 : 0));
			break;
		case 2:
			fl_do(&x, now, fl_sem_acquire(name, sess[si], 2,
						      (r >> 16) % 4 != 0,
						      (r >> 18) % 2 ? now + 250
								    : 0));
			break;
		case 3:
		case 4: {
			uint8_t kind = (r >> 12) % 9 == 3 ? FSM_QUEUE_LOCK
							  : FSM_QUEUE_SEM;
			struct fsm_queue_status st;

			ft_code_eq(fsm_queue_status(x.t.f, kind, ft_s(name), 1,
						    &st),
				   COORD_OK);
			if (st.n_holders == 0)
				fl_do(&x, now, fl_release(name, sess[si], 1));
			else if (kind == FSM_QUEUE_LOCK)
				fl_do(&x, now,
				      fl_release(name, st.holders[0].session,
						 st.holders[0].token));
			else
				fl_do(&x, now,
				      fl_sem_release(name,
						     st.holders[0].session,
						     st.holders[0].token));
			break;
		}
		case 5:
			fl_do(&x, now, fl_kick(name));
			kicked += x.res.res.n_wakes;
			break;
		case 6:
			fl_do(&x, now, fl_expire(sess[si], ka[si]));
			break;
		case 7:
			/* Keep all but session si alive. */
			for (size_t i = 0; i < 6; i++)
				if (i != si)
					ids[n++] = sess[i];
			fl_do(&x, now, fl_keepalive(ids, n));
			for (size_t i = 0; i < 6; i++)
				if (i != si)
					ka[i] = x.t.index;
			break;
		default:
			fl_do(&x, now, fl_close_session(sess[si]));
			break;
		}
		code = x.res.res.reply.code;
		wake_model_apply(&m, &x.res.res);
		if (code == COORD_ESESSION || code == COORD_ESESSION_EXPIRED ||
		    (r >> 12) % 9 == 8)
			wake_session_new(&x, &m, sess, ka, si, now,
					 500 + (r >> 24) % 1500);
		m.matched = 0;
		m.wrong = false;
		ft_code_eq(fsm_queues_each(x.t.f, wake_model_check, &m),
			   COORD_OK);
		ck_assert_msg(!m.wrong && m.matched == m.n,
			      "step %d: the reported wake times are not the "
			      "state's", step);
		for (size_t i = 0; i < m.n; i++) {
			with_sem += m.v[i].kind == FSM_QUEUE_SEM;
			with_lock += m.v[i].kind == FSM_QUEUE_LOCK;
		}
	}
	/* The run had both kinds of queue waiting on a time, and kicks
	 * that changed a queue. */
	ck_assert_uint_gt(with_sem, 10);
	ck_assert_uint_gt(with_lock, 100);
	ck_assert_uint_gt(kicked, 0);
	fl_close(&x);
}
END_TEST

Suite *fsm_lock_suite(void)
{
	Suite *s = suite_create("fsm_lock");

	FT_ADD(s, acquire_errors_change_nothing);
	FT_ADD(s, acquire_free_lock_grants_the_revision);
	FT_ADD(s, acquire_is_idempotent_for_holders_and_waiters);
	FT_ADD(s, acquire_busy_without_wait_changes_nothing);
	FT_ADD(s, shared_and_exclusive_modes_in_fifo_order);
	FT_ADD(s, acquire_limits_are_named_errors);
	FT_ADD(s, session_limit_with_no_other_entries);
	FT_ADD(s, release_by_token_and_cancel);
	FT_ADD(s, fifo_of_1000_waiters_granted_once_in_order);
	FT_ADD(s, retried_acquire_queues_once);
	FT_ADD(s, overdue_waiter_is_expired_and_skipped);
	FT_ADD(s, waiter_at_its_due_time_is_still_granted);
	FT_ADD(s, drift_allowance_grows_with_the_ttl);
	FT_ADD(s, lock_delay_after_expiry_only);
	FT_ADD(s, lock_delay_over_leaves_no_wake_time);
	FT_ADD(s, kick_drops_waiters_past_their_deadline);
	FT_ADD(s, session_end_releases_every_lock_with_chained_grants);
	FT_ADD(s, session_end_removes_its_waits);
	FT_ADD(s, lock_delay_saturates);
	FT_ADD(s, revoke_of_a_session_lease_ends_the_session);
	FT_ADD(s, tokens_rise_across_a_snapshot);
	FT_ADD(s, status_check_and_wake_reads);
	FT_ADD(s, stored_queues_report_their_wake_times);
	return s;
}
