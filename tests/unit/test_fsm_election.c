/*
 * tests/unit/test_fsm_election.c: elections in the fsm (coordd/fsm/
 * election.c) -- campaign and its errors, FIFO candidates, resign and its
 * idempotence, proclaim by the leader only, the leader's session ending
 * and the hand-over in the same command, candidates leaving (session end,
 * deadline), exactly-once of a retried campaign, the leader key and its
 * events (the observe history), the reserved key space, election tokens
 * as fences, and a replica restored from a snapshot.
 */
#include <string.h>

#include "coordd/fsm/fsm.h"
#include "coordd/fsm/fsm_int.h"
#include "tests/unit/fsm_clients_test.h"
#include "tests/unit/fsm_lock_test.h"
#include "tests/unit/test_fsm.h"

static struct proto_cmd fe_cmd(uint8_t type)
{
	struct proto_cmd c;

	memset(&c, 0, sizeof(c));
	c.type = type;
	return c;
}

static struct proto_cmd fe_campaign(const char *name, uint64_t session,
				    const char *value, uint64_t deadline_ms)
{
	struct proto_cmd c = fe_cmd(PROTO_CMD_ELECTION_CAMPAIGN);

	c.u.campaign.name = ft_s(name);
	c.u.campaign.session = session;
	c.u.campaign.value = ft_s(value);
	c.u.campaign.deadline_ms = deadline_ms;
	return c;
}

static struct proto_cmd fe_proclaim(const char *name, uint64_t session,
				    uint64_t token, const char *value)
{
	struct proto_cmd c = fe_cmd(PROTO_CMD_ELECTION_PROCLAIM);

	c.u.proclaim.name = ft_s(name);
	c.u.proclaim.session = session;
	c.u.proclaim.token = token;
	c.u.proclaim.value = ft_s(value);
	return c;
}

static struct proto_cmd fe_resign(const char *name, uint64_t session,
				  uint64_t token)
{
	struct proto_cmd c = fe_cmd(PROTO_CMD_ELECTION_RESIGN);

	c.u.resign.name = ft_s(name);
	c.u.resign.session = session;
	c.u.resign.token = token;
	return c;
}

static struct proto_cmd fe_kick(const char *name)
{
	struct proto_cmd c = fe_cmd(PROTO_CMD_QUEUE_KICK);

	c.u.queue_kick.kind = PROTO_QUEUE_ELECTION;
	c.u.queue_kick.name = ft_s(name);
	return c;
}

/* Campaigns, asserting COORD_OK: the token (0: queued). */
static uint64_t fe_elect(struct fl *x, uint64_t now_ms, const char *name,
			 uint64_t session, const char *value)
{
	const struct proto_reply *r =
		fl_ok(x, now_ms, fe_campaign(name, session, value, 0));

	return r->u.lock_acquire.granted ? r->u.lock_acquire.token : 0;
}

/* The leader as fsm_election_leader() reads it; value copied to buf. */
static struct fsm_leader fe_leader(struct fl *x, const char *name,
				   char *buf, size_t cap)
{
	struct fsm_leader l;

	ft_code_eq(fsm_election_leader(x->t.f, ft_s(name), &l), COORD_OK);
	ck_assert_uint_lt(l.value.len, cap);
	if (l.value.len > 0)
		memcpy(buf, l.value.data, l.value.len);
	buf[l.value.len] = '\0';
	return l;
}

/* Asserts the last command's events hold exactly one change of the
 * election's key: a put of (session, token, value), or (session 0) a
 * delete, at the command's revision. */
static void fe_event_is(const struct fl *x, const char *name,
			uint64_t session, uint64_t token, const char *value)
{
	uint8_t kb[FSM_ELECTION_KEY_BYTES_MAX];
	struct proto_bytes key = proto_bytes_make(
		kb, fsm_election_key(ft_s(name), kb));
	const struct proto_event *ev = NULL;
	struct proto_bytes v;
	uint64_t s, t;

	for (size_t i = 0; i < x->res.res.n_events; i++) {
		if (proto_bytes_eq(x->res.res.events[i].kv.key, key)) {
			ck_assert_ptr_null(ev);
			ev = &x->res.res.events[i];
		}
	}
	ck_assert_ptr_nonnull(ev);
	ck_assert_uint_eq(ev->kv.mod_revision, x->res.res.reply.revision);
	if (session == 0) {
		ck_assert_uint_eq(ev->type, PROTO_EVENT_DELETE);
		return;
	}
	ck_assert_uint_eq(ev->type, PROTO_EVENT_PUT);
	ft_code_eq(fsm_election_value_parse(ev->kv.value, &s, &t, &v),
		   COORD_OK);
	ck_assert_uint_eq(s, session);
	ck_assert_uint_eq(t, token);
	ck_assert_uint_eq(v.len, strlen(value));
	ck_assert_int_eq(memcmp(v.data, value, v.len), 0);
}

static void fe_no_event(const struct fl *x)
{
	ck_assert_uint_eq(x->res.res.n_events, 0);
}

START_TEST(campaign_errors_change_nothing)
{
	struct fl x;
	struct fsm_config cfg;
	static char big[COORD_ELECTION_VALUE_BYTES_MAX + 2];
	uint64_t s, lease;

	ft_config_default(&cfg);
	cfg.value_bytes_max = 100;
	fl_open(&x, &cfg);
	fl_err(&x, fe_campaign("e", 99, "v", 0), COORD_ESESSION);
	fl_ok(&x, 0, fl_grant(0, 1000));
	lease = x.t.index;
	fl_err(&x, fe_campaign("e", lease, "v", 0), COORD_ESESSION);
	s = fl_session(&x, 0, 1000);
	fl_err(&x, fe_campaign("", s, "v", 0), COORD_EINVAL);
	memset(big, 'x', 100 - 16 + 1);
	fl_err(&x, fe_campaign("e", s, big, 0), COORD_EVALUETOOBIG);
	big[100 - 16] = '\0';
	ck_assert_uint_ne(fe_elect(&x, 0, "ok", s, big), 0);
	/* Past its TTL and its drift allowance (fsm_lease_drift()). */
	fl_ok(&x, 1000 + fsm_lease_drift(COORD_LEASE_DRIFT_MS,
					 COORD_LEASE_DRIFT_PPM, 1000) + 1,
	      ft_put("t", "", 0));
	fl_err(&x, fe_campaign("e", s, "v", 0), COORD_ESESSION_EXPIRED);
	fl_close(&x);
	/* The fixed limit, whatever the server's value limit. */
	fl_open(&x, NULL);
	s = fl_session(&x, 0, 1000);
	memset(big, 'x', COORD_ELECTION_VALUE_BYTES_MAX + 1);
	big[COORD_ELECTION_VALUE_BYTES_MAX + 1] = '\0';
	/* Not even encodable as an entry: applied directly. */
	ft_apply_err(&x.t, fe_campaign("e", s, big, 0), COORD_EVALUETOOBIG);
	ck_assert_uint_eq(fsm_holds_count(x.t.f), 0);
	fl_close(&x);
}
END_TEST

/* No leader: elected at once, token = the revision; the leader key is
 * written in the same command and reads back linearly. */
START_TEST(campaign_elects_with_the_revision_as_token)
{
	struct fl x;
	const struct proto_reply *r;
	struct fsm_leader l;
	char v[64];
	uint64_t s, tok;

	fl_open(&x, NULL);
	l = fe_leader(&x, "e", v, sizeof(v));
	ck_assert_uint_eq(l.session, 0);
	ck_assert_uint_eq(l.revision, fsm_revision(x.t.f));
	s = fl_session(&x, 0, 1000);
	r = fl_ok(&x, 0, fe_campaign("e", s, "host-a", 0));
	ck_assert(r->u.lock_acquire.granted);
	tok = r->u.lock_acquire.token;
	ck_assert_uint_eq(tok, r->revision);
	ck_assert(fl_granted(&x, "e", s, &tok));
	fe_event_is(&x, "e", s, tok, "host-a");
	l = fe_leader(&x, "e", v, sizeof(v));
	ck_assert_uint_eq(l.session, s);
	ck_assert_uint_eq(l.token, tok);
	ck_assert_str_eq(v, "host-a");
	ck_assert_uint_eq(l.revision, tok);
	/* A lock of the same name is another queue. */
	ck_assert_uint_eq(fl_holders(&x, "e"), 0);
	ck_assert_uint_ne(fl_lock(&x, 0, "e", s, PROTO_LOCK_EXCLUSIVE, false),
			  0);
	fl_close(&x);
}
END_TEST

/* The leader campaigning again gets its token back; a queued candidate
 * campaigning again stays queued once; neither moves the revision. */
START_TEST(campaign_is_idempotent)
{
	struct fl x;
	const struct proto_reply *r;
	uint64_t s1, s2, tok, rev;

	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 1000);
	s2 = fl_session(&x, 0, 1000);
	tok = fe_elect(&x, 0, "e", s1, "a");
	ck_assert_uint_eq(fe_elect(&x, 0, "e", s2, "b"), 0);
	rev = fsm_revision(x.t.f);
	r = fl_ok(&x, 0, fe_campaign("e", s1, "other", 0));
	ck_assert(r->u.lock_acquire.granted);
	ck_assert_uint_eq(r->u.lock_acquire.token, tok);
	r = fl_ok(&x, 0, fe_campaign("e", s2, "other", 0));
	ck_assert(!r->u.lock_acquire.granted);
	ck_assert_uint_eq(fsm_revision(x.t.f), rev);
	ck_assert_uint_eq(fsm_waiters_count(x.t.f), 1);
	fe_no_event(&x);
	fl_close(&x);
}
END_TEST

/* Candidates are elected in FIFO order as leaders resign, each with its
 * own value and a larger token; the last resign leaves no leader (a
 * delete of the leader key). */
START_TEST(resign_hands_over_in_fifo_order)
{
	struct fl x;
	struct fsm_leader l;
	char v[64];
	uint64_t s[4], tok[4];

	fl_open(&x, NULL);
	for (int i = 0; i < 4; i++)
		s[i] = fl_session(&x, 0, 100000);
	tok[0] = fe_elect(&x, 0, "e", s[0], "v0");
	ck_assert_uint_eq(fe_elect(&x, 0, "e", s[2], "v2"), 0);
	ck_assert_uint_eq(fe_elect(&x, 0, "e", s[1], "v1"), 0);
	ck_assert_uint_eq(fe_elect(&x, 0, "e", s[3], "v3"), 0);
	fl_ok(&x, 0, fe_resign("e", s[0], tok[0]));
	ck_assert(fl_granted(&x, "e", s[2], &tok[2]));
	ck_assert_uint_gt(tok[2], tok[0]);
	fe_event_is(&x, "e", s[2], tok[2], "v2");
	fl_ok(&x, 0, fe_resign("e", s[2], tok[2]));
	ck_assert(fl_granted(&x, "e", s[1], &tok[1]));
	ck_assert_uint_gt(tok[1], tok[2]);
	fe_event_is(&x, "e", s[1], tok[1], "v1");
	l = fe_leader(&x, "e", v, sizeof(v));
	ck_assert_uint_eq(l.session, s[1]);
	ck_assert_str_eq(v, "v1");
	/* A queued candidate withdraws (token 0); twice: COORD_ENOTFOUND. */
	fl_ok(&x, 0, fe_resign("e", s[3], 0));
	ck_assert_uint_eq(fsm_waiters_count(x.t.f), 0);
	fe_no_event(&x);
	fl_err(&x, fe_resign("e", s[3], 0), COORD_ENOTFOUND);
	fl_ok(&x, 0, fe_resign("e", s[1], tok[1]));
	ck_assert_uint_eq(x.res.res.n_grants, 0);
	fe_event_is(&x, "e", 0, 0, NULL);
	l = fe_leader(&x, "e", v, sizeof(v));
	ck_assert_uint_eq(l.session, 0);
	ck_assert_uint_eq(fsm_holds_count(x.t.f), 0);
	fl_close(&x);
}
END_TEST

/* Resigning a stale token (resigned already, another session's, a
 * token that never was) is COORD_OK and changes nothing. */
START_TEST(resign_of_a_stale_token_changes_nothing)
{
	struct fl x;
	uint64_t s1, s2, t1, t2, rev, hash;

	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 100000);
	s2 = fl_session(&x, 0, 100000);
	t1 = fe_elect(&x, 0, "e", s1, "a");
	fl_ok(&x, 0, fe_resign("e", s1, t1));
	t2 = fe_elect(&x, 0, "e", s2, "b");
	rev = fsm_revision(x.t.f);
	hash = ft_hash(&x.t);
	fl_ok(&x, 0, fe_resign("e", s1, t1));
	fl_ok(&x, 0, fe_resign("e", s2, t1));
	fl_ok(&x, 0, fe_resign("e", s2, t2 + 1));
	fl_ok(&x, 0, fe_resign("nobody", s2, t2));
	ck_assert_uint_eq(fsm_revision(x.t.f), rev);
	ck_assert_uint_eq(ft_hash(&x.t), hash);
	fe_no_event(&x);
	fl_err(&x, fe_resign("", s2, t2), COORD_EINVAL);
	fl_close(&x);
}
END_TEST

/* Only the current leader (session and token) proclaims: the value
 * changes, the revision moves, the change is an event with the same
 * token. Anyone else: COORD_ENOTELECTED, nothing changes. */
START_TEST(proclaim_by_the_leader_only)
{
	struct fl x;
	const struct proto_reply *r;
	struct fsm_leader l;
	static char big[COORD_ELECTION_VALUE_BYTES_MAX + 2];
	char v[64];
	uint64_t s1, s2, t1, t2, rev;

	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 100000);
	s2 = fl_session(&x, 0, 100000);
	fl_err(&x, fe_proclaim("e", s1, 5, "x"), COORD_ENOTELECTED);
	t1 = fe_elect(&x, 0, "e", s1, "a");
	fe_elect(&x, 0, "e", s2, "b");
	rev = fsm_revision(x.t.f);
	r = fl_ok(&x, 0, fe_proclaim("e", s1, t1, "a2"));
	ck_assert_uint_eq(r->revision, rev + 1);
	fe_event_is(&x, "e", s1, t1, "a2");
	l = fe_leader(&x, "e", v, sizeof(v));
	ck_assert_uint_eq(l.token, t1);
	ck_assert_str_eq(v, "a2");
	ck_assert_uint_eq(l.revision, rev + 1);
	fl_err(&x, fe_proclaim("e", s2, t1, "x"), COORD_ENOTELECTED);
	fl_err(&x, fe_proclaim("e", s1, t1 + 1, "x"), COORD_ENOTELECTED);
	fl_err(&x, fe_proclaim("e", s1, 0, "x"), COORD_ENOTELECTED);
	fl_err(&x, fe_proclaim("", s1, t1, "x"), COORD_EINVAL);
	memset(big, 'x', COORD_ELECTION_VALUE_BYTES_MAX + 1);
	ft_apply_err(&x.t, fe_proclaim("e", s1, t1, big), COORD_EVALUETOOBIG);
	l = fe_leader(&x, "e", v, sizeof(v));
	ck_assert_str_eq(v, "a2");
	/* The proclaimed value is the leader's for good: a new leader
	 * brings its own. */
	fl_ok(&x, 0, fe_resign("e", s1, t1));
	ck_assert(fl_granted(&x, "e", s2, &t2));
	fe_event_is(&x, "e", s2, t2, "b");
	/* The old leader's proclaim after losing: rejected. */
	fl_err(&x, fe_proclaim("e", s1, t1, "late"), COORD_ENOTELECTED);
	fl_close(&x);
}
END_TEST

static int count_cb(void *ctx, const uint8_t *k, size_t k_len,
		    const uint8_t *v, size_t v_len)
{
	(void)k;
	(void)k_len;
	(void)v;
	(void)v_len;
	(*(size_t *)ctx)++;
	return 0;
}

/* The candidates' value records ('E') in the backend. */
static size_t fe_values(struct fl *x)
{
	size_t n = 0;

	ft_code_eq(fsm_records_each(x->t.f, 'E', count_cb, &n), COORD_OK);
	return n;
}

/* The leader's session ending (close, expiry) elects the next live
 * candidate in the same command; an overdue candidate on the way is
 * expired and skipped. */
START_TEST(leader_session_end_hands_over_in_the_same_command)
{
	struct fl x;
	struct fsm_leader l;
	char v[64];
	uint64_t s1, s2, s3, t1, t3;
	int why;

	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 100000);
	s2 = fl_session(&x, 0, 1000);
	s3 = fl_session(&x, 0, 100000);
	t1 = fe_elect(&x, 0, "e", s1, "one");
	fe_elect(&x, 0, "e", s2, "two");
	fe_elect(&x, 0, "e", s3, "three");
	/* s2 is overdue when s1's session closes. */
	fl_ok(&x, 1000 + fsm_lease_drift(COORD_LEASE_DRIFT_MS,
					 COORD_LEASE_DRIFT_PPM, 1000) + 1,
	      fl_close_session(s1));
	ck_assert(fl_gone(&x, s1, &why));
	ck_assert(fl_gone(&x, s2, &why));
	ck_assert_int_eq(why, COORD_ESESSION_EXPIRED);
	ck_assert(fl_granted(&x, "e", s3, &t3));
	ck_assert(!fl_granted(&x, "e", s2, &t1));
	fe_event_is(&x, "e", s3, t3, "three");
	l = fe_leader(&x, "e", v, sizeof(v));
	ck_assert_uint_eq(l.session, s3);
	ck_assert_str_eq(v, "three");
	ck_assert_uint_eq(fsm_waiters_count(x.t.f), 0);
	ck_assert_uint_eq(fe_values(&x), 1);   /* the expired one's went */
	/* The leader's session expires: no candidate, no leader. */
	fl_ok(&x, 200000, fl_expire(s3, 3));
	ck_assert(fl_gone(&x, s3, &why));
	fe_event_is(&x, "e", 0, 0, NULL);
	ck_assert_uint_eq(fsm_holds_count(x.t.f), 0);
	ck_assert_uint_eq(fe_values(&x), 0);
	fl_close(&x);
}
END_TEST

/* A queued candidate whose session ends leaves without being elected,
 * and its value record goes with it; so do the leader's when it
 * resigns and a withdrawn candidate's. */
START_TEST(candidate_session_end_leaves_no_trace)
{
	struct fl x;
	uint64_t s1, s2, s3, t1;

	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 100000);
	s2 = fl_session(&x, 0, 100000);
	s3 = fl_session(&x, 0, 100000);
	t1 = fe_elect(&x, 0, "e", s1, "one");
	fe_elect(&x, 0, "e", s2, "two");
	fe_elect(&x, 0, "e", s3, "three");
	ck_assert_uint_eq(fe_values(&x), 3);
	fl_ok(&x, 0, fl_close_session(s2));
	ck_assert_uint_eq(x.res.res.n_grants, 0);
	fe_no_event(&x);
	ck_assert_uint_eq(fe_values(&x), 2);
	ck_assert_uint_eq(fsm_waiters_count(x.t.f), 1);
	fl_ok(&x, 0, fe_resign("e", s3, 0));
	ck_assert_uint_eq(fe_values(&x), 1);
	fl_ok(&x, 0, fe_resign("e", s1, t1));
	fe_event_is(&x, "e", 0, 0, NULL);
	ck_assert_uint_eq(fe_values(&x), 0);
	ck_assert_uint_eq(fsm_waiters_count(x.t.f), 0);
	ck_assert_uint_eq(fsm_holds_count(x.t.f), 0);
	fl_close(&x);
}
END_TEST

/* A campaign with a deadline leaves the queue when a QUEUE_KICK finds it
 * past; one whose deadline passed already is COORD_EBUSY. */
START_TEST(campaign_deadline_and_kick)
{
	struct fl x;
	const struct proto_reply *r;
	uint64_t s1, s2, s3, t1, t3;

	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 100000);
	s2 = fl_session(&x, 0, 100000);
	s3 = fl_session(&x, 0, 100000);
	t1 = fe_elect(&x, 0, "e", s1, "a");
	fl_ok(&x, 0, fe_campaign("e", s2, "b", 300));
	fl_ok(&x, 0, fe_campaign("e", s3, "c", 0));
	fl_err(&x, fe_campaign("e", s3 + 100, "d", 0), COORD_ESESSION);
	ck_assert_uint_eq(fe_values(&x), 3);
	r = fl_ok(&x, 500, fe_kick("e"));
	ck_assert_uint_eq(r->u.queue_kick.granted, 0);
	ck_assert_uint_eq(fsm_waiters_count(x.t.f), 1);
	ck_assert_uint_eq(fe_values(&x), 2);   /* s2's went with it */
	fl_ok(&x, 500, fe_resign("e", s1, t1));
	ck_assert(fl_granted(&x, "e", s3, &t3));
	fe_event_is(&x, "e", s3, t3, "c");
	ck_assert_uint_eq(fe_values(&x), 1);
	fl_err(&x, fe_campaign("e", s2, "b", 400), COORD_EBUSY);
	ck_assert_uint_eq(fe_values(&x), 1);   /* refused: wrote none */
	fl_close(&x);
}
END_TEST

/* Exactly once: a retried campaign is answered from the client table
 * and queues once; a retried resign does not resign the next leader. */
START_TEST(retried_campaign_and_resign_apply_once)
{
	struct fl x;
	const struct proto_reply *r;
	uint64_t s1, s2, s3, client, t1, t2, rev;

	fl_open(&x, NULL);
	r = fl_ok(&x, 0, ft_register(1000));
	client = r->u.register_client.client_id;
	s1 = fl_session(&x, 0, 100000);
	s2 = fl_session(&x, 0, 100000);
	s3 = fl_session(&x, 0, 100000);
	t1 = fe_elect(&x, 0, "e", s1, "a");
	r = fl_do_as(&x, client, 1, 0, fe_campaign("e", s2, "b", 0));
	ck_assert(!r->u.lock_acquire.granted);
	rev = fsm_revision(x.t.f);
	fl_do_as(&x, client, 1, 0, fe_campaign("e", s2, "b", 0));
	ck_assert(x.res.duplicate);
	ck_assert_uint_eq(fsm_revision(x.t.f), rev);
	ck_assert_uint_eq(fsm_waiters_count(x.t.f), 1);
	fe_elect(&x, 0, "e", s3, "c");
	r = fl_do_as(&x, client, 2, 0, fe_resign("e", s1, t1));
	ck_assert_int_eq(r->code, COORD_OK);
	ck_assert(fl_granted(&x, "e", s2, &t2));
	rev = fsm_revision(x.t.f);
	fl_do_as(&x, client, 2, 0, fe_resign("e", s1, t1));
	ck_assert(x.res.duplicate);
	ck_assert_uint_eq(fsm_revision(x.t.f), rev);
	ck_assert_uint_eq(fsm_holds_count(x.t.f), 1);
	ck_assert_uint_eq(fsm_waiters_count(x.t.f), 1);
	fl_close(&x);
}
END_TEST

/* The leader key is in the reserved key space: a client's put, delete
 * or txn op on it is COORD_EKEYRESERVED and changes nothing; a range
 * delete over it leaves it; reads see it. */
START_TEST(reserved_key_space_is_read_only)
{
	struct fl x;
	uint8_t kb[FSM_ELECTION_KEY_BYTES_MAX];
	struct proto_bytes key;
	struct proto_op op;
	struct proto_cmd txn;
	const struct proto_reply *r;
	const struct proto_kv *kv;
	uint64_t s, t;

	fl_open(&x, NULL);
	key = proto_bytes_make(kb, fsm_election_key(ft_s("e"), kb));
	s = fl_session(&x, 0, 100000);
	t = fe_elect(&x, 0, "e", s, "a");
	fl_err(&x, ft_put_b(key, ft_s("forged"), 0, false), COORD_EKEYRESERVED);
	fl_err(&x, ft_put_b(proto_bytes_make(COORD_RESERVED_KEY_PREFIX,
					     sizeof(COORD_RESERVED_KEY_PREFIX) -
						     1),
			    ft_s("x"), 0, false),
	       COORD_EKEYRESERVED);
	{
		struct proto_cmd d = ft_del("", "", 0, false);

		d.u.del.key = key;
		fl_err(&x, d, COORD_EKEYRESERVED);
	}
	memset(&op, 0, sizeof(op));
	op.type = PROTO_CMD_PUT;
	op.u.put.key = key;
	op.u.put.value = ft_s("forged");
	txn = fe_cmd(PROTO_CMD_TXN);
	txn.u.txn.success = &op;
	txn.u.txn.n_success = 1;
	fl_err(&x, txn, COORD_EKEYRESERVED);
	fl_ok(&x, 0, ft_put("user", "u", 0));
	r = fl_ok(&x, 0, ft_del("", "", PROTO_RANGE_PREFIX, false));
	ck_assert_uint_eq(r->u.del.deleted, 1);
	r = fl_ok(&x, 0, ft_del("\xff", "", PROTO_RANGE_FROM, false));
	ck_assert_uint_eq(r->u.del.deleted, 0);
	{
		struct proto_range rg = ft_range("", "", PROTO_RANGE_PREFIX);
		const struct proto_range_reply *rr = ft_get(&x.t, rg);

		ck_assert_uint_eq(rr->n_kvs, 1);
		kv = &rr->kvs[0];
		ck_assert(proto_bytes_eq(kv->key, key));
		ck_assert_uint_eq(kv->mod_revision, t);
	}
	fl_close(&x);
}
END_TEST

/* A fence of kind election holds while its token is the leader's: the
 * leader's writes apply, a stale leader's are COORD_EFENCED. A lock of
 * the same name is another fence. */
START_TEST(election_token_is_a_fence)
{
	struct fl x;
	struct proto_cmd put = ft_put("res", "v", 0);
	struct proto_fence fc = { ft_s("e"), 0, PROTO_QUEUE_ELECTION };
	uint64_t s1, s2, t1, t2;

	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 100000);
	s2 = fl_session(&x, 0, 100000);
	t1 = fe_elect(&x, 0, "e", s1, "a");
	fe_elect(&x, 0, "e", s2, "b");
	fc.token = t1;
	fl_ok(&x, 0, fl_fenced(&fc, 1, &put));
	ck_assert_ptr_nonnull(ft_kv(&x.t, "res"));
	/* As a lock fence: no lock "e" holds that token. */
	fc.kind = 0;
	fl_err(&x, fl_fenced(&fc, 1, &put), COORD_EFENCED);
	fc.kind = PROTO_QUEUE_LOCK;
	fl_err(&x, fl_fenced(&fc, 1, &put), COORD_EFENCED);
	fc.kind = PROTO_QUEUE_ELECTION;
	fl_ok(&x, 0, fe_resign("e", s1, t1));
	ck_assert(fl_granted(&x, "e", s2, &t2));
	fl_err(&x, fl_fenced(&fc, 1, &put), COORD_EFENCED);
	fc.token = t2;
	fl_ok(&x, 0, fl_fenced(&fc, 1, &put));
	fc.kind = FSM_QUEUE_JOB;    /* a queue kind that is no fence */
	fl_err(&x, fl_fenced(&fc, 1, &put), COORD_EINVAL);
	fl_close(&x);
}
END_TEST

/* A replica restored from a copy of the records (a snapshot) hashes
 * alike, hands over as the original would, and tokens keep rising. */
START_TEST(election_survives_a_snapshot)
{
	struct fl x, y;
	struct fsm_leader l;
	char v[64];
	uint64_t s1, s2, t1, t2;

	fl_open(&x, NULL);
	s1 = fl_session(&x, 0, 100000);
	s2 = fl_session(&x, 0, 100000);
	t1 = fe_elect(&x, 0, "e", s1, "a");
	fe_elect(&x, 0, "e", s2, "b");
	fl_ok(&x, 0, ft_compact(fsm_revision(x.t.f)));
	fl_open(&y, NULL);
	fsm_free(y.t.f);
	ft_backend_copy(x.t.backend, y.t.backend);
	ft_code_eq(fsm_new(&y.t.cfg, y.t.backend, &y.t.f), COORD_OK);
	y.t.index = x.t.index;
	ck_assert_uint_eq(ft_hash(&y.t), ft_hash(&x.t));
	l = fe_leader(&y, "e", v, sizeof(v));
	ck_assert_uint_eq(l.token, t1);
	ck_assert_str_eq(v, "a");
	fl_ok(&y, 0, fl_close_session(s1));
	ck_assert(fl_granted(&y, "e", s2, &t2));
	ck_assert_uint_gt(t2, t1);
	fe_event_is(&y, "e", s2, t2, "b");
	fl_close(&y);
	fl_close(&x);
}
END_TEST

/* The session's limit on queues counts campaigns with locks. */
START_TEST(campaign_limits_are_named_errors)
{
	struct fl x;
	struct fsm_config cfg;
	uint64_t s1, s2, s3;

	ft_config_default(&cfg);
	cfg.waiters_max = 1;
	cfg.locks_per_session_max = 2;
	fl_open(&x, &cfg);
	s1 = fl_session(&x, 0, 100000);
	s2 = fl_session(&x, 0, 100000);
	s3 = fl_session(&x, 0, 100000);
	fe_elect(&x, 0, "e", s1, "a");
	fe_elect(&x, 0, "e", s2, "b");
	fl_err(&x, fe_campaign("e", s3, "c", 0), COORD_ETOOMANYWAITERS);
	fl_lock(&x, 0, "l", s1, PROTO_LOCK_EXCLUSIVE, false);
	fl_err(&x, fe_campaign("f", s1, "c", 0), COORD_ETOOMANYLOCKS);
	fl_close(&x);
}
END_TEST

Suite *fsm_election_suite(void)
{
	Suite *s = suite_create("fsm_election");

	FT_ADD(s, campaign_errors_change_nothing);
	FT_ADD(s, campaign_elects_with_the_revision_as_token);
	FT_ADD(s, campaign_is_idempotent);
	FT_ADD(s, resign_hands_over_in_fifo_order);
	FT_ADD(s, resign_of_a_stale_token_changes_nothing);
	FT_ADD(s, proclaim_by_the_leader_only);
	FT_ADD(s, leader_session_end_hands_over_in_the_same_command);
	FT_ADD(s, candidate_session_end_leaves_no_trace);
	FT_ADD(s, campaign_deadline_and_kick);
	FT_ADD(s, retried_campaign_and_resign_apply_once);
	FT_ADD(s, reserved_key_space_is_read_only);
	FT_ADD(s, election_token_is_a_fence);
	FT_ADD(s, election_survives_a_snapshot);
	FT_ADD(s, campaign_limits_are_named_errors);
	return s;
}
