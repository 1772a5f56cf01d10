/*
 * tests/unit/test_fsm_job.c: job queues in the fsm -- enqueue and its
 * unique-key dedup, FIFO claims (now and queued), one claim per session,
 * complete and fail fenced by the claim token, requeue at the head or the
 * tail, dead letters after max attempts, a claimer's session end putting
 * its job back at the head in the same command, the grant rule for
 * overdue claimers, limits as named errors, exactly-once of retried
 * enqueue / claim / complete, and the LIST / INSPECT reads.
 */
#include <string.h>

#include "coordd/fsm/fsm.h"
#include "tests/unit/fsm_clients_test.h"
#include "tests/unit/fsm_lock_test.h"
#include "tests/unit/test_fsm.h"

static struct proto_cmd cmd_of(uint8_t type)
{
	struct proto_cmd c;

	memset(&c, 0, sizeof(c));
	c.type = type;
	return c;
}

static struct proto_cmd enq(const char *queue, const char *payload,
			    const char *ukey, uint32_t max_attempts)
{
	struct proto_cmd c = cmd_of(PROTO_CMD_JOB_ENQUEUE);

	c.u.job_enqueue.queue = ft_s(queue);
	c.u.job_enqueue.payload = ft_s(payload);
	c.u.job_enqueue.unique_key = ft_s(ukey);
	c.u.job_enqueue.max_attempts = max_attempts;
	return c;
}

static struct proto_cmd claim(const char *queue, uint64_t session, bool wait,
			      uint64_t deadline_ms)
{
	struct proto_cmd c = cmd_of(PROTO_CMD_JOB_CLAIM);

	c.u.job_claim.queue = ft_s(queue);
	c.u.job_claim.session = session;
	c.u.job_claim.wait = wait;
	c.u.job_claim.deadline_ms = deadline_ms;
	return c;
}

static struct proto_cmd done(uint8_t type, const char *queue, uint64_t id,
			     uint64_t session, uint64_t token,
			     const char *result, bool to_tail)
{
	struct proto_cmd c = cmd_of(type);

	c.u.job_done.queue = ft_s(queue);
	c.u.job_done.job_id = id;
	c.u.job_done.session = session;
	c.u.job_done.token = token;
	c.u.job_done.result = ft_s(result);
	c.u.job_done.to_tail = to_tail;
	return c;
}

static struct proto_cmd complete(const char *queue, uint64_t id,
				 uint64_t session, uint64_t token)
{
	return done(PROTO_CMD_JOB_COMPLETE, queue, id, session, token, "ok",
		    false);
}

static struct proto_cmd fail_cmd(const char *queue, uint64_t id,
			     uint64_t session, uint64_t token, bool to_tail)
{
	return done(PROTO_CMD_JOB_FAIL, queue, id, session, token, "", to_tail);
}

static uint64_t enqueue(struct fl *x, const char *queue, const char *payload)
{
	return fl_ok(x, 0, enq(queue, payload, "", 0))->u.job_enqueue.job_id;
}

/* Claims and returns the reply's claim (granted asserted). */
static struct proto_job_claim_cmd_reply claim_ok(struct fl *x,
						 const char *queue,
						 uint64_t session)
{
	const struct proto_reply *r =
		fl_ok(x, fsm_clients_clock_ms(x->t.f),
		      claim(queue, session, false, 0));

	ck_assert(r->u.job_claim.granted);
	return r->u.job_claim;
}

static struct fsm_job_info inspect(struct fl *x, const char *queue,
				   uint64_t id)
{
	struct fsm_job_info j;

	ft_code_eq(fsm_job_inspect(x->t.f, ft_s(queue), id, &j), COORD_OK);
	return j;
}

static struct fsm_job_counts counts(struct fl *x, const char *queue)
{
	struct fsm_job_counts c;
	struct fsm_job_info *items;
	size_t n;
	uint64_t next;

	ft_code_eq(fsm_job_list(x->t.f, ft_s(queue), PROTO_JOB_PENDING, 0, 0,
				&c, &items, &n, &next),
		   COORD_OK);
	return c;
}

/* The job a grant of this command handed to session on queue (0: none). */
static uint64_t granted_job(const struct fl *x, const char *queue,
			    uint64_t session)
{
	for (size_t i = 0; i < x->res.res.n_grants; i++) {
		const struct fsm_grant *g = &x->res.res.grants[i];

		if (g->kind == FSM_QUEUE_JOB && g->session == session &&
		    proto_bytes_eq(g->name, ft_s(queue)))
			return g->job_id;
	}
	return 0;
}

/* Job ids are the enqueue's revision; claims come in FIFO order with the
 * claim's revision as token, attempts 0 and the payload. */
START_TEST(enqueue_and_claim_in_fifo_order)
{
	struct fl x;
	struct proto_job_claim_cmd_reply c;
	uint64_t s1, s2, a, b;

	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 100000);
	s2 = fl_session(&x, 0, 100000);
	a = enqueue(&x, "q", "pa");
	ck_assert_uint_eq(a, fsm_revision(x.t.f));
	b = enqueue(&x, "q", "pb");
	ck_assert_uint_gt(b, a);
	ck_assert_uint_eq(counts(&x, "q").pending, 2);
	c = claim_ok(&x, "q", s1);
	ck_assert_uint_eq(c.job_id, a);
	ck_assert_uint_eq(c.token, fsm_revision(x.t.f));
	ck_assert_uint_eq(c.attempts, 0);
	ck_assert(proto_bytes_eq(c.payload, ft_s("pa")));
	ck_assert_uint_eq(granted_job(&x, "q", s1), a);
	c = claim_ok(&x, "q", s2);
	ck_assert_uint_eq(c.job_id, b);
	ck_assert_uint_eq(counts(&x, "q").pending, 0);
	ck_assert_uint_eq(counts(&x, "q").claimed, 2);
	ck_assert_uint_eq(inspect(&x, "q", a).state, PROTO_JOB_CLAIMED);
	ck_assert_uint_eq(inspect(&x, "q", a).session, s1);
	/* With another job pending, a lost claim's job goes before it. */
	b = enqueue(&x, "q", "pc");
	fl_ok(&x, 5000, fl_close_session(s1));
	c = claim_ok(&x, "q", fl_session(&x, 5000, 100000));
	ck_assert_uint_eq(c.job_id, a);
	ck_assert_uint_eq(c.attempts, 1);
	fl_close(&x);
}
END_TEST

/* A unique key already kept returns that job and changes nothing, while
 * the job is pending, claimed or done-and-kept; once the done job is
 * dropped (cfg.job_done_kept newer ones done), the key is free again. */
START_TEST(unique_key_dedups_while_the_job_is_kept)
{
	struct fsm_config cfg;
	struct fl x;
	const struct proto_reply *r;
	struct proto_job_claim_cmd_reply c;
	uint64_t s, id, rev, hash;

	memset(&c, 0, sizeof(c));
	fsm_config_default(&cfg);
	cfg.job_done_kept = 1;
	fl_open(&x, &cfg);
	s = fl_session(&x, 0, 100000);
	id = fl_ok(&x, 0, enq("q", "p", "k", 0))->u.job_enqueue.job_id;
	for (int phase = 0; phase < 3; phase++) {
		rev = fsm_revision(x.t.f);
		hash = ft_hash(&x.t);
		r = fl_ok(&x, 0, enq("q", "other", "k", 0));
		ck_assert_uint_eq(r->u.job_enqueue.job_id, id);
		ck_assert(r->u.job_enqueue.existed);
		ck_assert_uint_eq(fsm_revision(x.t.f), rev);
		ck_assert_uint_eq(ft_hash(&x.t), hash);
		if (phase == 0) {
			c = claim_ok(&x, "q", s);
		} else if (phase == 1) {
			fl_ok(&x, 0, complete("q", id, s, c.token));
			ck_assert_uint_eq(inspect(&x, "q", id).state,
					  PROTO_JOB_DONE);
		}
	}
	/* One more job done drops the first (kept: 1). */
	enqueue(&x, "q", "x");
	c = claim_ok(&x, "q", s);
	fl_ok(&x, 0, complete("q", c.job_id, s, c.token));
	ck_assert_int_eq(fsm_job_inspect(x.t.f, ft_s("q"), id,
					 &(struct fsm_job_info){ 0 }),
			 COORD_ENOJOB);
	r = fl_ok(&x, 0, enq("q", "p", "k", 0));
	ck_assert(!r->u.job_enqueue.existed);
	ck_assert_uint_gt(r->u.job_enqueue.job_id, id);
	fl_close(&x);
}
END_TEST

/* Claimers wait FIFO; each enqueue grants the head claimer in the same
 * command (in grants, with the job id); a claim without wait on an empty
 * queue is COORD_ENOJOBS and changes nothing. */
START_TEST(waiting_claimers_are_granted_in_fifo_order)
{
	struct fl x;
	const struct proto_reply *r;
	uint64_t s1, s2, a, b;

	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 100000);
	s2 = fl_session(&x, 0, 100000);
	fl_err(&x, claim("q", s1, false, 0), COORD_ENOJOBS);
	r = fl_ok(&x, 0, claim("q", s1, true, 0));
	ck_assert(!r->u.job_claim.granted);
	fl_ok(&x, 0, claim("q", s2, true, 0));
	ck_assert_uint_eq(fsm_waiters_count(x.t.f), 2);
	a = enqueue(&x, "q", "pa");
	ck_assert_uint_eq(granted_job(&x, "q", s1), a);
	ck_assert_uint_eq(granted_job(&x, "q", s2), 0);
	b = enqueue(&x, "q", "pb");
	ck_assert_uint_eq(granted_job(&x, "q", s2), b);
	ck_assert_uint_eq(inspect(&x, "q", b).token, b);
	ck_assert_uint_eq(fsm_waiters_count(x.t.f), 0);
	ck_assert_uint_eq(counts(&x, "q").claimed, 2);
	/* FAIL of job 0 cancels a waiting claim, and only that. */
	fl_ok(&x, 0, claim("r", s1, true, 0));
	fl_ok(&x, 0, fail_cmd("r", 0, s1, 0, false));
	ck_assert_uint_eq(fsm_waiters_count(x.t.f), 0);
	fl_err(&x, fail_cmd("r", 0, s1, 0, false), COORD_ENOJOB);
	enqueue(&x, "r", "pr");
	ck_assert_uint_eq(granted_job(&x, "r", s1), 0);
	fl_close(&x);
}
END_TEST

/* A session holds one claim per queue: claiming again returns it (same
 * job, same token) and changes nothing; a waiting one is not queued
 * twice. */
START_TEST(claim_is_idempotent_per_session)
{
	struct fl x;
	struct proto_job_claim_cmd_reply c1, c2;
	uint64_t s, s2, rev;

	fl_open(&x, NULL);
	s = fl_session(&x, 0, 100000);
	s2 = fl_session(&x, 0, 100000);
	enqueue(&x, "q", "a");
	enqueue(&x, "q", "b");
	c1 = claim_ok(&x, "q", s);
	rev = fsm_revision(x.t.f);
	c2 = claim_ok(&x, "q", s);
	ck_assert_uint_eq(c2.job_id, c1.job_id);
	ck_assert_uint_eq(c2.token, c1.token);
	ck_assert_uint_eq(fsm_revision(x.t.f), rev);
	ck_assert_uint_eq(counts(&x, "q").pending, 1);
	claim_ok(&x, "q", s2);
	fl_ok(&x, 0, claim("r", s, true, 0));
	rev = fsm_revision(x.t.f);
	fl_ok(&x, 0, claim("r", s, true, 0));
	ck_assert_uint_eq(fsm_revision(x.t.f), rev);
	ck_assert_uint_eq(fsm_waiters_count(x.t.f), 1);
	fl_close(&x);
}
END_TEST

/* COMPLETE is fenced by the claim token: a wrong token or session ->
 * COORD_ESTALECLAIM, an unclaimed job -> COORD_EJOBSTATE, an unknown job
 * or queue -> COORD_ENOJOB, an oversized result -> COORD_EVALUETOOBIG;
 * each changes nothing. A repeat of the accepted complete is a no-op. */
START_TEST(complete_is_fenced_by_the_claim_token)
{
	struct fl x;
	struct proto_job_claim_cmd_reply c;
	uint64_t s, s2, a, b, rev;
	static uint8_t big[COORD_JOB_RESULT_BYTES_MAX + 1];
	struct proto_cmd cbig;
	struct fsm_job_info j;

	fl_open(&x, NULL);
	s = fl_session(&x, 0, 100000);
	s2 = fl_session(&x, 0, 100000);
	a = enqueue(&x, "q", "pa");
	b = enqueue(&x, "q", "pb");
	c = claim_ok(&x, "q", s);
	ck_assert_uint_eq(c.job_id, a);
	fl_err(&x, complete("q", a, s, c.token + 1), COORD_ESTALECLAIM);
	fl_err(&x, complete("q", a, s2, c.token), COORD_ESTALECLAIM);
	fl_err(&x, complete("q", b, s, c.token), COORD_EJOBSTATE);
	fl_err(&x, complete("q", 999, s, c.token), COORD_ENOJOB);
	fl_err(&x, complete("nope", a, s, c.token), COORD_ENOJOB);
	fl_err(&x, complete("", a, s, c.token), COORD_EINVAL);
	cbig = complete("q", a, s, c.token);
	cbig.u.job_done.result = proto_bytes_make(big, sizeof(big));
	fl_err(&x, cbig, COORD_EVALUETOOBIG);
	fl_ok(&x, 0, done(PROTO_CMD_JOB_COMPLETE, "q", a, s, c.token, "res",
			  false));
	j = inspect(&x, "q", a);
	ck_assert_uint_eq(j.state, PROTO_JOB_DONE);
	ck_assert(proto_bytes_eq(j.result, ft_s("res")));
	ck_assert(proto_bytes_eq(j.payload, ft_s("pa")));
	ck_assert_uint_eq(fsm_holds_count(x.t.f), 0);
	rev = fsm_revision(x.t.f);
	fl_ok(&x, 0, complete("q", a, s, c.token));
	ck_assert_uint_eq(fsm_revision(x.t.f), rev);
	/* The session may claim again once its claim is done. */
	c = claim_ok(&x, "q", s);
	ck_assert_uint_eq(c.job_id, b);
	fl_err(&x, fail_cmd("q", a, s, c.token, false), COORD_EJOBSTATE);
	ck_assert_uint_eq(counts(&x, "q").done, 1);
	fl_close(&x);
}
END_TEST

/* FAIL counts an attempt and puts the job back at the head (or the
 * tail); at max_attempts it moves to the dead list. */
START_TEST(fail_requeues_at_head_or_tail_then_dead_letters)
{
	struct fl x;
	const struct proto_reply *r;
	struct proto_job_claim_cmd_reply c;
	uint64_t s, a, b;
	struct fsm_job_counts n;

	fl_open(&x, NULL);
	s = fl_session(&x, 0, 100000);
	a = fl_ok(&x, 0, enq("q", "pa", "", 3))->u.job_enqueue.job_id;
	b = enqueue(&x, "q", "pb");
	c = claim_ok(&x, "q", s);
	r = fl_ok(&x, 0, fail_cmd("q", a, s, c.token, false));
	ck_assert(!r->u.job_fail.dead);
	c = claim_ok(&x, "q", s);
	ck_assert_uint_eq(c.job_id, a);     /* back at the head */
	ck_assert_uint_eq(c.attempts, 1);
	fl_ok(&x, 0, fail_cmd("q", a, s, c.token, true));
	c = claim_ok(&x, "q", s);
	ck_assert_uint_eq(c.job_id, b);     /* a went to the tail */
	fl_ok(&x, 0, complete("q", b, s, c.token));
	c = claim_ok(&x, "q", s);
	ck_assert_uint_eq(c.job_id, a);
	ck_assert_uint_eq(c.attempts, 2);
	fl_err(&x, fail_cmd("q", a, s, c.token + 1, false), COORD_ESTALECLAIM);
	r = fl_ok(&x, 0, fail_cmd("q", a, s, c.token, false));
	ck_assert(r->u.job_fail.dead);
	ck_assert_uint_eq(inspect(&x, "q", a).state, PROTO_JOB_DEAD);
	ck_assert_uint_eq(inspect(&x, "q", a).attempts, 3);
	n = counts(&x, "q");
	ck_assert_uint_eq(n.pending, 0);
	ck_assert_uint_eq(n.claimed, 0);
	ck_assert_uint_eq(n.dead, 1);
	ck_assert_uint_eq(n.done, 1);
	fl_err(&x, claim("q", s, false, 0), COORD_ENOJOBS);
	fl_close(&x);
}
END_TEST

/* A claim whose session ends (closed or expired) puts its job back at
 * the head with one more attempt, and the next claimer gets it in the
 * same command; a job at max attempts dies instead. */
START_TEST(session_end_returns_the_job_to_the_head)
{
	struct fl x;
	const struct proto_reply *r;
	struct proto_job_claim_cmd_reply c;
	uint64_t s1, s2, s3, a, b, ids[1];

	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 100000);
	s2 = fl_session(&x, 0, 100000);
	s3 = fl_session(&x, 0, 1000);
	a = enqueue(&x, "q", "pa");
	b = enqueue(&x, "q", "pb");
	claim_ok(&x, "q", s1);
	claim_ok(&x, "q", s2);
	fl_ok(&x, 0, claim("q", s3, true, 0));
	/* s2's job goes to the head; s3 waits and gets it. */
	r = fl_ok(&x, 0, fl_close_session(s2));
	ck_assert_uint_eq(granted_job(&x, "q", s3), b);
	ck_assert_uint_eq(inspect(&x, "q", b).attempts, 1);
	ck_assert_uint_eq(inspect(&x, "q", b).token, r->revision);
	/* s3 expires: b back at the head, with 2 attempts. */
	ids[0] = s1;
	fl_ok(&x, 5000, fl_keepalive(ids, 1));
	fl_ok(&x, 5000, fl_expire(s3, 3));
	ck_assert_uint_eq(inspect(&x, "q", b).state, PROTO_JOB_PENDING);
	ck_assert_uint_eq(inspect(&x, "q", b).attempts, 2);
	c = claim_ok(&x, "q", fl_session(&x, 5000, 100000));
	ck_assert_uint_eq(c.job_id, b);
	ck_assert_uint_eq(c.attempts, 2);
	ck_assert_uint_eq(inspect(&x, "q", a).session, s1);
	/* With another job pending, a lost claim's job goes before it. */
	b = enqueue(&x, "q", "pc");
	fl_ok(&x, 5000, fl_close_session(s1));
	c = claim_ok(&x, "q", fl_session(&x, 5000, 100000));
	ck_assert_uint_eq(c.job_id, a);
	ck_assert_uint_eq(c.attempts, 1);
	fl_close(&x);
}
END_TEST

/* The grant rule of queue.c: an overdue claimer at the head is expired
 * in the granting command and the next one gets the job. */
START_TEST(overdue_claimer_is_expired_and_skipped)
{
	struct fl x;
	uint64_t s1, s2, a, ids[1];
	int why;

	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 1000);
	s2 = fl_session(&x, 0, 10000);
	fl_ok(&x, 0, claim("q", s1, true, 0));
	fl_ok(&x, 0, claim("q", s2, true, 0));
	ids[0] = s2;
	fl_ok(&x, 1000, fl_keepalive(ids, 1));
	/* Past s1's TTL and its drift allowance (fsm_lease_drift()). */
	a = fl_ok(&x, 1000 + fsm_lease_drift(COORD_LEASE_DRIFT_MS,
					     COORD_LEASE_DRIFT_PPM, 1000) + 1,
		  enq("q", "p", "", 0))
		    ->u.job_enqueue.job_id;
	ck_assert_uint_eq(granted_job(&x, "q", s1), 0);
	ck_assert_uint_eq(granted_job(&x, "q", s2), a);
	ck_assert(fl_gone(&x, s1, &why));
	ck_assert_int_eq(why, COORD_ESESSION_EXPIRED);
	fl_close(&x);
}
END_TEST

/* Limits are named errors that change nothing. */
START_TEST(limits_are_named_errors)
{
	struct fsm_config cfg;
	struct fl x;
	static uint8_t big[COORD_JOB_PAYLOAD_BYTES_MAX + 1];
	struct proto_cmd e;
	uint64_t s, s2;

	fsm_config_default(&cfg);
	cfg.job_queue_len_max = 2;
	cfg.job_queues_max = 1;
	cfg.waiters_max = 1;
	fl_open(&x, &cfg);
	s = fl_session(&x, 0, 100000);
	s2 = fl_session(&x, 0, 100000);
	e = enq("q", "", "", 0);
	e.u.job_enqueue.payload = proto_bytes_make(big, sizeof(big));
	fl_err(&x, e, COORD_EVALUETOOBIG);
	fl_err(&x, enq("", "p", "", 0), COORD_EINVAL);
	enqueue(&x, "q", "1");
	enqueue(&x, "q", "2");
	fl_err(&x, enq("q", "3", "", 0), COORD_EQUEUEFULL);
	fl_err(&x, enq("r", "1", "", 0), COORD_ETOOMANYQUEUES);
	fl_ok(&x, 0, claim("r", s, true, 0));
	fl_err(&x, claim("r", s2, true, 0), COORD_ETOOMANYWAITERS);
	fl_err(&x, claim("q", 12345, true, 0), COORD_ESESSION);
	/* A wait whose deadline passed already would only be dropped. */
	fl_ok(&x, 10, ft_put("t", "", 0));
	fl_err(&x, claim("empty", s2, true, 1), COORD_ENOJOBS);
	fl_close(&x);
}
END_TEST

/* Exactly once: a retried enqueue, claim and complete (same client and
 * sequence) are answered from the client table and apply once. */
START_TEST(retried_requests_apply_once)
{
	struct fl x;
	const struct proto_reply *r;
	uint64_t client, s, id, token, rev;

	fl_open(&x, NULL);
	client = fl_ok(&x, 0, ft_register(1000))->u.register_client.client_id;
	s = fl_session(&x, 0, 100000);
	r = fl_do_as(&x, client, 1, 0, enq("q", "p", "", 0));
	id = r->u.job_enqueue.job_id;
	rev = fsm_revision(x.t.f);
	r = fl_do_as(&x, client, 1, 0, enq("q", "p", "", 0));
	ck_assert(x.res.duplicate);
	ck_assert_uint_eq(r->u.job_enqueue.job_id, id);
	ck_assert_uint_eq(fsm_revision(x.t.f), rev);
	ck_assert_uint_eq(counts(&x, "q").pending, 1);
	r = fl_do_as(&x, client, 2, 0, claim("q", s, false, 0));
	token = r->u.job_claim.token;
	rev = fsm_revision(x.t.f);
	r = fl_do_as(&x, client, 2, 0, claim("q", s, false, 0));
	ck_assert(x.res.duplicate);
	ck_assert_uint_eq(r->u.job_claim.token, token);
	ck_assert_uint_eq(fsm_revision(x.t.f), rev);
	fl_do_as(&x, client, 3, 0, complete("q", id, s, token));
	rev = fsm_revision(x.t.f);
	r = fl_do_as(&x, client, 3, 0, complete("q", id, s, token));
	ck_assert(x.res.duplicate);
	ft_code_eq(r->code, COORD_OK);
	ck_assert_uint_eq(fsm_revision(x.t.f), rev);
	ck_assert_uint_eq(counts(&x, "q").done, 1);
	fl_close(&x);
}
END_TEST

/* LIST pages through each state in its order; INSPECT names the job. */
START_TEST(list_pages_and_inspect)
{
	struct fl x;
	struct fsm_job_counts n;
	struct fsm_job_info *items;
	size_t cnt;
	uint64_t next, ids[5], s;

	fl_open(&x, NULL);
	s = fl_session(&x, 0, 100000);
	for (int i = 0; i < 5; i++)
		ids[i] = enqueue(&x, "q", "p");
	ft_code_eq(fsm_job_list(x.t.f, ft_s("q"), PROTO_JOB_PENDING, 0, 2, &n,
				&items, &cnt, &next),
		   COORD_OK);
	ck_assert_uint_eq(n.pending, 5);
	ck_assert_uint_eq(cnt, 2);
	ck_assert_uint_eq(items[0].id, ids[0]);
	ck_assert_uint_eq(items[1].id, ids[1]);
	ck_assert_uint_ne(next, 0);
	ft_code_eq(fsm_job_list(x.t.f, ft_s("q"), PROTO_JOB_PENDING, next, 10,
				&n, &items, &cnt, &next),
		   COORD_OK);
	ck_assert_uint_eq(cnt, 3);
	ck_assert_uint_eq(items[2].id, ids[4]);
	ck_assert_uint_eq(next, 0);
	claim_ok(&x, "q", s);
	ft_code_eq(fsm_job_list(x.t.f, ft_s("q"), PROTO_JOB_CLAIMED, 0, 10, &n,
				&items, &cnt, &next),
		   COORD_OK);
	ck_assert_uint_eq(cnt, 1);
	ck_assert_uint_eq(items[0].id, ids[0]);
	ck_assert_uint_eq(items[0].session, s);
	ft_code_eq(fsm_job_list(x.t.f, ft_s("q"), 9, 0, 10, &n, &items, &cnt,
				&next),
		   COORD_EINVAL);
	ft_code_eq(fsm_job_list(x.t.f, ft_s("none"), PROTO_JOB_DEAD, 0, 10, &n,
				&items, &cnt, &next),
		   COORD_OK);
	ck_assert_uint_eq(n.pending + n.claimed + n.dead + n.done, 0);
	ck_assert_int_eq(fsm_job_inspect(x.t.f, ft_s("q"), 1,
					 &(struct fsm_job_info){ 0 }),
			 COORD_ENOJOB);
	fl_close(&x);
}
END_TEST

/* The lists start where their live records do (job.c idx_low()): a job
 * put back at the head is listed and claimed first, and done jobs beyond
 * cfg.job_done_kept go oldest first, the list starting at the oldest one
 * kept. */
START_TEST(lists_start_at_the_oldest_live_record)
{
	struct fsm_config cfg;
	struct fl x;
	struct proto_job_claim_cmd_reply c;
	struct fsm_job_counts n;
	struct fsm_job_info *items;
	size_t cnt;
	uint64_t next, ids[5], s;

	fsm_config_default(&cfg);
	cfg.job_done_kept = 2;
	fl_open(&x, &cfg);
	s = fl_session(&x, 0, 100000);
	for (int i = 0; i < 5; i++)
		ids[i] = enqueue(&x, "q", "p");
	c = claim_ok(&x, "q", s);
	fl_ok(&x, 0, complete("q", ids[0], s, c.token));
	c = claim_ok(&x, "q", s);
	ck_assert_uint_eq(c.job_id, ids[1]);
	fl_ok(&x, 0, fail_cmd("q", ids[1], s, c.token, false));
	ft_code_eq(fsm_job_list(x.t.f, ft_s("q"), PROTO_JOB_PENDING, 0, 10, &n,
				&items, &cnt, &next),
		   COORD_OK);
	ck_assert_uint_eq(cnt, 4);
	ck_assert_uint_eq(items[0].id, ids[1]);     /* back at the head */
	ck_assert_uint_eq(items[3].id, ids[4]);
	for (int i = 1; i < 5; i++) {
		c = claim_ok(&x, "q", s);
		ck_assert_uint_eq(c.job_id, ids[i]);
		fl_ok(&x, 0, complete("q", ids[i], s, c.token));
	}
	ft_code_eq(fsm_job_list(x.t.f, ft_s("q"), PROTO_JOB_DONE, 0, 10, &n,
				&items, &cnt, &next),
		   COORD_OK);
	ck_assert_uint_eq(n.done, 2);
	ck_assert_uint_eq(cnt, 2);
	ck_assert_uint_eq(items[0].id, ids[3]);
	ck_assert_uint_eq(items[1].id, ids[4]);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(fsm_job_inspect(x.t.f, ft_s("q"), ids[i],
						 &(struct fsm_job_info){ 0 }),
				 COORD_ENOJOB);
	ft_code_eq(fsm_job_list(x.t.f, ft_s("q"), PROTO_JOB_PENDING, 0, 10, &n,
				&items, &cnt, &next),
		   COORD_OK);
	ck_assert_uint_eq(cnt, 0);
	fl_close(&x);
}
END_TEST

Suite *fsm_job_suite(void)
{
	Suite *s = suite_create("fsm_job");

	FT_ADD(s, enqueue_and_claim_in_fifo_order);
	FT_ADD(s, unique_key_dedups_while_the_job_is_kept);
	FT_ADD(s, waiting_claimers_are_granted_in_fifo_order);
	FT_ADD(s, claim_is_idempotent_per_session);
	FT_ADD(s, complete_is_fenced_by_the_claim_token);
	FT_ADD(s, fail_requeues_at_head_or_tail_then_dead_letters);
	FT_ADD(s, session_end_returns_the_job_to_the_head);
	FT_ADD(s, overdue_claimer_is_expired_and_skipped);
	FT_ADD(s, limits_are_named_errors);
	FT_ADD(s, retried_requests_apply_once);
	FT_ADD(s, list_pages_and_inspect);
	FT_ADD(s, lists_start_at_the_oldest_live_record);
	return s;
}
