/*
 * tests/unit/test_fsm_quota.c: the storage quotas in the fsm (quota13) --
 * a value past the keyspace quota refused with COORD_ENOSPACE and the
 * alarm raised, identically on two replicas; the alarm surviving a
 * snapshot copy and a reopen; deletes, delete-only txns and compaction
 * under the alarm, compaction clearing it at the low-water mark; locks,
 * sessions, keepalives and jobs (enqueue, claim, complete) under it;
 * ALARM_DISARM; the coordination budget refusing growth only, never the
 * server's own commands, and counting every record kind but the
 * keyspace's and the fsm's own; the byte counts of a meta record from
 * before them.
 */
#include <stdio.h>
#include <string.h>

#include "coordd/fsm/fsm.h"
#include "coordd/fsm/fsm_int.h"
#include "tests/unit/fsm_clients_test.h"
#include "tests/unit/fsm_lock_test.h"
#include "tests/unit/test_fsm.h"

static struct proto_cmd quota_set(uint64_t quota, uint64_t coord_quota)
{
	struct proto_cmd c;

	memset(&c, 0, sizeof(c));
	c.type = PROTO_CMD_QUOTA_SET;
	c.u.quota_set.quota_bytes = quota;
	c.u.quota_set.coord_quota_bytes = coord_quota;
	return c;
}

static struct proto_cmd disarm(void)
{
	struct proto_cmd c;

	memset(&c, 0, sizeof(c));
	c.type = PROTO_CMD_ALARM_DISARM;
	return c;
}

static struct fsm_quota_info quota_of(struct ft_fsm *t)
{
	struct fsm_quota_info q;

	fsm_quota(t->f, &q);
	return q;
}

/* A 100-byte value. */
#define VAL100                                                               \
	"0123456789012345678901234567890123456789012345678901234567890123456" \
	"789012345678901234567890123456789"

/* Puts k0, k1... (100-byte values) until one is refused; returns how
 * many went through. */
static int fill(struct ft_fsm *t)
{
	char key[16];

	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		if (ft_apply(t, ft_put(key, VAL100, 0))->code != COORD_OK) {
			ft_code_eq(t->res.reply.code, COORD_ENOSPACE);
			return i;
		}
	}
	ck_abort_msg("the quota was never reached");
	return -1;
}

START_TEST(value_past_the_quota_is_refused_and_raises_the_alarm)
{
	struct ft_fsm a, b;
	struct fsm_quota_info q;
	uint64_t rev, hash;
	int n;

	ft_fsm_open(&a, NULL);
	ft_fsm_open(&b, NULL);
	/* No quota before a QUOTA_SET. */
	ck_assert(!quota_of(&a).set);
	ft_apply_ok(&a, quota_set(2000, 0));
	q = quota_of(&a);
	ck_assert(q.set && !q.alarm);
	ck_assert_uint_eq(q.quota_bytes, 2000);
	n = fill(&a);
	ck_assert_int_gt(n, 5);
	q = quota_of(&a);
	ck_assert(q.alarm);
	ck_assert_uint_eq(q.alarm_index, a.index);
	ck_assert_uint_le(q.kv_bytes, 2000);
	/* Refused: no revision, no event, the keys as they were. */
	ck_assert_uint_eq(fsm_revision(a.f), (uint64_t)n);
	ck_assert_ptr_null(ft_kv(&a, "k999"));
	/* Under the alarm a small value is refused too, changing nothing. */
	rev = fsm_revision(a.f);
	hash = ft_hash(&a);
	ft_code_eq(ft_apply(&a, ft_put("x", "1", 0))->code, COORD_ENOSPACE);
	ck_assert_uint_eq(fsm_revision(a.f), rev);
	ck_assert_uint_eq(ft_hash(&a), hash);
	ck_assert_uint_eq(quota_of(&a).alarm_index, q.alarm_index);
	/* Another replica applying the same commands decides the same. */
	ft_apply_ok(&b, quota_set(2000, 0));
	ck_assert_int_eq(fill(&b), n);
	ft_code_eq(ft_apply(&b, ft_put("x", "1", 0))->code, COORD_ENOSPACE);
	ck_assert_uint_eq(ft_hash(&b), ft_hash(&a));
	ft_fsm_close(&a);
	ft_fsm_close(&b);
}
END_TEST

START_TEST(alarm_survives_a_snapshot_copy_and_a_reopen)
{
	struct ft_fsm t;
	struct fsm_backend *copy;
	struct fsm *g;
	struct fsm_quota_info q, r;
	uint64_t h1, h2;

	ft_fsm_open(&t, NULL);
	ft_apply_ok(&t, quota_set(1500, 7777));
	fill(&t);
	q = quota_of(&t);
	ck_assert(q.alarm);
	/* A snapshot install: the records copied into a new backend. */
	ck_assert_int_eq(fsm_backend_mem_new(&t.alloc.a, &copy), COORD_OK);
	ft_backend_copy(t.backend, copy);
	ck_assert_int_eq(fsm_new(&t.cfg, copy, &g), COORD_OK);
	fsm_quota(g, &r);
	ck_assert(r.set && r.alarm);
	ck_assert_uint_eq(r.alarm_index, q.alarm_index);
	ck_assert_uint_eq(r.quota_bytes, 1500);
	ck_assert_uint_eq(r.coord_quota_bytes, 7777);
	ck_assert_uint_eq(r.kv_bytes, q.kv_bytes);
	ck_assert_uint_eq(r.coord_bytes, q.coord_bytes);
	ft_code_eq(fsm_hash(g, &h1), COORD_OK);
	ft_code_eq(fsm_hash(t.f, &h2), COORD_OK);
	ck_assert_uint_eq(h1, h2);
	fsm_free(g);
	fsm_backend_mem_free(copy);
	/* A restart: the same backend reopened. */
	fsm_free(t.f);
	ck_assert_int_eq(fsm_new(&t.cfg, t.backend, &t.f), COORD_OK);
	r = quota_of(&t);
	ck_assert(r.alarm);
	ck_assert_uint_eq(r.kv_bytes, q.kv_bytes);
	ft_code_eq(ft_apply(&t, ft_put("x", "1", 0))->code, COORD_ENOSPACE);
	ft_fsm_close(&t);
}
END_TEST

static struct proto_cmd txn_of(struct proto_op *ops, size_t n)
{
	struct proto_cmd c;

	memset(&c, 0, sizeof(c));
	c.type = PROTO_CMD_TXN;
	c.u.txn.success = ops;
	c.u.txn.n_success = n;
	return c;
}

START_TEST(deletes_and_compaction_work_and_compaction_clears_the_alarm)
{
	struct ft_fsm t;
	struct proto_op del_op, put_op;
	struct proto_cmd d, p;
	int n;

	ft_fsm_open(&t, NULL);
	ft_apply_ok(&t, quota_set(3000, 0));
	n = fill(&t);
	ck_assert(quota_of(&t).alarm);
	/* A delete and a delete-only txn go through (they add tombstones). */
	ft_apply_ok(&t, ft_del("k0", NULL, 0, false));
	d = ft_del("k1", NULL, 0, false);
	memset(&del_op, 0, sizeof(del_op));
	del_op.type = PROTO_CMD_DELETE;
	del_op.u.del = d.u.del;
	ft_apply_ok(&t, txn_of(&del_op, 1));
	/* A txn that puts is a write of a value. */
	p = ft_put("k1", "v", 0);
	memset(&put_op, 0, sizeof(put_op));
	put_op.type = PROTO_CMD_PUT;
	put_op.u.put = p.u.put;
	ft_code_eq(ft_apply(&t, txn_of(&put_op, 1))->code, COORD_ENOSPACE);
	/* Deleting everything still holds the history: the alarm stays. */
	ft_apply_ok(&t, ft_del("k", NULL, PROTO_RANGE_PREFIX, false));
	ck_assert(quota_of(&t).alarm);
	ck_assert_uint_gt(quota_of(&t).kv_bytes, 2700);
	/* Compaction frees it (the tombstones too, once a later revision
	 * -- a lease grant here -- is compacted): under 90 % the alarm
	 * clears by itself. */
	ft_apply_ok(&t, fl_grant(7, 10000));
	ft_apply_ok(&t, ft_compact(fsm_revision(t.f)));
	ck_assert_uint_le(quota_of(&t).kv_bytes, 2700);
	ck_assert(!quota_of(&t).alarm);
	ft_hash(&t);
	ft_apply_ok(&t, ft_put("again", "1", 0));
	ck_assert_int_gt(n, 0);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(disarm_clears_the_alarm_until_the_next_value_past_the_quota)
{
	struct ft_fsm t;
	char key[16];
	uint64_t used;

	ft_fsm_open(&t, NULL);
	for (int i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		ft_apply_ok(&t, ft_put(key, VAL100, 0));
	}
	/* A quota 300 bytes above the usage (which is above 90 % of it):
	 * a 400-byte value raises the alarm, and it stays raised. */
	used = quota_of(&t).kv_bytes;
	ck_assert_uint_gt(used, 2700);
	ft_apply_ok(&t, quota_set(used + 300, 0));
	ft_code_eq(ft_apply(&t, ft_put("big", VAL100 VAL100 VAL100 VAL100, 0))
			   ->code,
		   COORD_ENOSPACE);
	ft_apply_ok(&t, ft_del("k0", NULL, 0, false));
	ck_assert(quota_of(&t).alarm);
	ft_apply_ok(&t, disarm());
	ck_assert(!quota_of(&t).alarm);
	ft_hash(&t);
	/* Room for a small one under the quota... */
	ft_apply_ok(&t, ft_put("s", "1", 0));
	/* ...and the next one past the quota raises it again. */
	ft_code_eq(ft_apply(&t, ft_put("big", VAL100 VAL100 VAL100 VAL100, 0))
			   ->code,
		   COORD_ENOSPACE);
	ck_assert(quota_of(&t).alarm);
	/* Removing the quota clears it. */
	ft_apply_ok(&t, quota_set(0, 0));
	ck_assert(!quota_of(&t).alarm);
	ft_apply_ok(&t, ft_put("big", VAL100 VAL100 VAL100 VAL100, 0));
	ft_fsm_close(&t);
}
END_TEST

static struct proto_cmd enqueue_cmd(const char *queue, const char *payload)
{
	struct proto_cmd c;

	memset(&c, 0, sizeof(c));
	c.type = PROTO_CMD_JOB_ENQUEUE;
	c.u.job_enqueue.queue = ft_s(queue);
	c.u.job_enqueue.payload = ft_s(payload);
	return c;
}

static struct proto_cmd claim_cmd(const char *queue, uint64_t session)
{
	struct proto_cmd c;

	memset(&c, 0, sizeof(c));
	c.type = PROTO_CMD_JOB_CLAIM;
	c.u.job_claim.queue = ft_s(queue);
	c.u.job_claim.session = session;
	return c;
}

static struct proto_cmd complete_cmd(const char *queue, uint64_t job,
				     uint64_t session, uint64_t token)
{
	struct proto_cmd c;

	memset(&c, 0, sizeof(c));
	c.type = PROTO_CMD_JOB_COMPLETE;
	c.u.job_done.queue = ft_s(queue);
	c.u.job_done.job_id = job;
	c.u.job_done.session = session;
	c.u.job_done.token = token;
	c.u.job_done.result = ft_s("done");
	return c;
}

START_TEST(locks_sessions_and_jobs_pass_under_the_alarm)
{
	struct fl x;
	struct proto_cmd inner = ft_put("fenced", "v", 0);
	struct proto_job_claim_cmd_reply claim;
	uint64_t s, tok, lease, job;
	char key[16];

	fl_open(&x, NULL);
	fl_ok(&x, 0, quota_set(2500, 0));
	s = fl_session(&x, 1, 10000);
	lease = s;
	for (int i = 0; !quota_of(&x.t).alarm; i++) {
		ck_assert_int_lt(i, 1000);
		snprintf(key, sizeof(key), "k%d", i);
		fl_do(&x, 2, ft_put(key, VAL100, 0));
	}
	/* A lease-attached put is a value too. */
	ft_code_eq(fl_do(&x, 3, ft_put("leased", "v", lease))->code,
		   COORD_ENOSPACE);
	tok = fl_lock(&x, 3, "L", s, PROTO_LOCK_EXCLUSIVE, false);
	ck_assert_uint_gt(tok, 0);
	fl_ok(&x, 4, fl_keepalive(&lease, 1));
	/* A release carrying a put is refused whole... */
	ft_code_eq(fl_do(&x, 5, fl_release_write("L", s, tok, &inner))->code,
		   COORD_ENOSPACE);
	ck_assert_uint_eq(fl_holders(&x, "L"), 1);
	/* ...a plain one goes through. */
	fl_ok(&x, 5, fl_release("L", s, tok));
	/* Jobs: enqueue, claim, complete. */
	job = fl_ok(&x, 6, enqueue_cmd("jobs", "payload"))->u.job_enqueue.job_id;
	claim = fl_ok(&x, 6, claim_cmd("jobs", s))->u.job_claim;
	ck_assert(claim.granted);
	ck_assert_uint_eq(claim.job_id, job);
	fl_ok(&x, 6, complete_cmd("jobs", job, s, claim.token));
	fl_ok(&x, 7, fl_close_session(s));
	ck_assert(fl_session(&x, 8, 10000) > 0);
	ck_assert(quota_of(&x.t).alarm);
	fl_close(&x);
}
END_TEST

static struct proto_cmd campaign_cmd(const char *name, uint64_t session,
				     const char *value)
{
	struct proto_cmd c;

	memset(&c, 0, sizeof(c));
	c.type = PROTO_CMD_ELECTION_CAMPAIGN;
	c.u.campaign.name = ft_s(name);
	c.u.campaign.session = session;
	c.u.campaign.value = ft_s(value);
	return c;
}

/* Elections keep their leader as a key under the reserved prefix: the
 * fsm writes it, so the alarm never refuses it -- not in a campaign, a
 * proclaim, nor in the close (or expiry) that hands the leadership on. */
START_TEST(elections_pass_under_the_alarm)
{
	struct fl x;
	struct proto_cmd proclaim;
	struct fsm_leader l;
	const struct proto_reply *r;
	uint64_t s1, s2, tok;
	char key[16];

	fl_open(&x, NULL);
	fl_ok(&x, 0, quota_set(2500, 0));
	s1 = fl_session(&x, 1, 10000);
	s2 = fl_session(&x, 1, 10000);
	for (int i = 0; !quota_of(&x.t).alarm; i++) {
		ck_assert_int_lt(i, 1000);
		snprintf(key, sizeof(key), "k%d", i);
		fl_do(&x, 2, ft_put(key, VAL100, 0));
	}
	r = fl_ok(&x, 3, campaign_cmd("E", s1, "one"));
	ck_assert(r->u.lock_acquire.granted);
	tok = r->u.lock_acquire.token;
	ck_assert(!fl_ok(&x, 3, campaign_cmd("E", s2, "two"))
			   ->u.lock_acquire.granted);
	memset(&proclaim, 0, sizeof(proclaim));
	proclaim.type = PROTO_CMD_ELECTION_PROCLAIM;
	proclaim.u.proclaim.name = ft_s("E");
	proclaim.u.proclaim.session = s1;
	proclaim.u.proclaim.token = tok;
	proclaim.u.proclaim.value = ft_s("one again");
	fl_ok(&x, 4, proclaim);
	fl_ok(&x, 5, fl_close_session(s1));
	ft_code_eq(fsm_election_leader(x.t.f, ft_s("E"), &l), COORD_OK);
	ck_assert_uint_eq(l.session, s2);
	ck_assert(quota_of(&x.t).alarm);
	/* A client's put of a key there is refused as before (reserved). */
	ft_code_eq(fl_do(&x, 6, ft_put("\xff\xff" "coord/election/E", "x", 0))
			   ->code,
		   COORD_EKEYRESERVED);
	ft_hash(&x.t);
	fl_close(&x);
}
END_TEST

START_TEST(coordination_budget_refuses_growth_only)
{
	struct fl x;
	uint64_t s[8], n = 0, k;
	struct fsm_quota_info q;

	fl_open(&x, NULL);
	fl_ok(&x, 0, quota_set(0, 400));
	/* Sessions of a client (fsm_apply: a client's command) until the
	 * budget refuses one. */
	for (;;) {
		const struct proto_reply *r = ft_apply(&x.t, fl_open_session(5000));

		if (r->code == COORD_ECOORDSPACE)
			break;
		ft_code_eq(r->code, COORD_OK);
		ck_assert_uint_lt(n, 8);
		s[n++] = r->u.session_open.session;
	}
	ck_assert_uint_gt(n, 1);
	q = quota_of(&x.t);
	ck_assert_uint_le(q.coord_bytes, 400);
	ft_hash(&x.t);
	/* A keepalive keeps the bytes: it goes through. An acquire grows
	 * them: refused. */
	ft_apply_ok(&x.t, fl_keepalive(s, n));
	ft_code_eq(ft_apply(&x.t, fl_acquire("L", s[0], PROTO_LOCK_EXCLUSIVE,
					     false, 0, 0))->code,
		   COORD_ECOORDSPACE);
	/* A close shrinks them, and frees room for one more session. */
	k = fsm_leases_count(x.t.f);
	ft_apply_ok(&x.t, fl_close_session(s[0]));
	ck_assert_uint_eq(fsm_leases_count(x.t.f), k - 1);
	ft_apply_ok(&x.t, fl_open_session(5000));
	/* An entry without a client is the server's: never refused. */
	fl_ok(&x, 100000, fl_open_session(5000));
	ck_assert_uint_gt(quota_of(&x.t).coord_bytes, 400);
	/* With a client id it is: the rule is the client's. */
	fl_ok(&x, 100000, ft_register(0));
	ft_code_eq(fl_do_as(&x, x.t.index, 1, 100000, fl_open_session(5000))
			   ->code,
		   COORD_ECOORDSPACE);
	fl_close(&x);
}
END_TEST

START_TEST(quota_set_is_internal)
{
	struct fl x;
	uint64_t client;

	fl_open(&x, NULL);
	fl_ok(&x, 0, ft_register(0));
	client = x.t.index;
	ft_code_eq(fl_do_as(&x, client, 1, 0, quota_set(1, 1))->code,
		   COORD_EINVAL);
	ck_assert(!quota_of(&x.t).set);
	/* A disarm with a client id is an admin's request, exactly once. */
	ft_code_eq(fl_do_as(&x, client, 2, 0, disarm())->code, COORD_OK);
	fl_close(&x);
}
END_TEST

/* Writes record key around the fsm, then reopens it: what fsm_new()
 * returns. */
static int rewrite_and_reopen(struct ft_fsm *t, const char *key,
			      const uint8_t *value, size_t len)
{
	struct fsm_backend_write w = { .type = FSM_BACKEND_PUT };
	int rc;

	w.key = (const uint8_t *)key;
	w.key_len = strlen(key);
	w.value = value;
	w.value_len = len;
	ft_code_eq(t->backend->ops->write(t->backend, &w, 1), COORD_OK);
	fsm_free(t->f);
	t->f = NULL;
	rc = fsm_new(&t->cfg, t->backend, &t->f);
	if (rc != COORD_OK)
		t->f = NULL;
	return rc;
}

START_TEST(meta_record_from_before_the_counts_is_summed)
{
	struct ft_fsm t;
	struct fsm_quota_info before, after;
	const uint8_t *v;
	uint8_t old[48];
	size_t len;

	ft_fsm_open(&t, NULL);
	ft_apply_ok(&t, ft_put("a", "1", 0));
	ft_apply_ok(&t, ft_put("b", "22", 0));
	ft_apply_ok(&t, fl_open_session(5000));
	before = quota_of(&t);
	ck_assert_uint_gt(before.kv_bytes, 0);
	ck_assert_uint_gt(before.coord_bytes, 0);
	/* The meta record as the version before the counts wrote it. */
	ft_code_eq(t.backend->ops->get(t.backend, (const uint8_t *)"mstate", 6,
				       &v, &len),
		   COORD_OK);
	ck_assert_uint_eq(len, 64);
	memcpy(old, v, sizeof(old));
	ft_code_eq(rewrite_and_reopen(&t, "mstate", old, sizeof(old)),
		   COORD_OK);
	after = quota_of(&t);
	ck_assert_uint_eq(after.kv_bytes, before.kv_bytes);
	ck_assert_uint_eq(after.coord_bytes, before.coord_bytes);
	/* Any other length is corrupt. */
	ft_code_eq(rewrite_and_reopen(&t, "mstate", old, 40), COORD_ECORRUPT);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(quota_record_of_the_wrong_size_is_corrupt)
{
	struct ft_fsm t;

	ft_fsm_open(&t, NULL);
	ft_apply_ok(&t, quota_set(10, 10));
	ft_code_eq(rewrite_and_reopen(&t, "Q", (const uint8_t *)"short", 5),
		   COORD_ECORRUPT);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(every_other_record_kind_is_coordination_state)
{
	static const char keyspace[] = "krl", neither[] = "acmnuQ";

	for (const char *k = keyspace; *k != '\0'; k++)
		ck_assert_int_eq(fsm_bytes_kind((const uint8_t *)k, 1), 1);
	for (const char *k = neither; *k != '\0'; k++)
		ck_assert_int_eq(fsm_bytes_kind((const uint8_t *)k, 1), 0);
	/* Today's primitives, and a kind no primitive has yet (elections
	 * on another branch store 'E'): coordination. */
	ck_assert_int_eq(fsm_bytes_kind((const uint8_t *)"Lx", 2), 2);
	ck_assert_int_eq(fsm_bytes_kind((const uint8_t *)"o", 1), 2);
	ck_assert_int_eq(fsm_bytes_kind((const uint8_t *)"q", 1), 2);
	ck_assert_int_eq(fsm_bytes_kind((const uint8_t *)"j", 1), 2);
	ck_assert_int_eq(fsm_bytes_kind((const uint8_t *)"E", 1), 2);
	ck_assert_int_eq(fsm_bytes_kind(NULL, 0), 0);
}
END_TEST

Suite *fsm_quota_suite(void)
{
	Suite *s = suite_create("fsm_quota");

	FT_ADD(s, value_past_the_quota_is_refused_and_raises_the_alarm);
	FT_ADD(s, alarm_survives_a_snapshot_copy_and_a_reopen);
	FT_ADD(s, deletes_and_compaction_work_and_compaction_clears_the_alarm);
	FT_ADD(s, disarm_clears_the_alarm_until_the_next_value_past_the_quota);
	FT_ADD(s, locks_sessions_and_jobs_pass_under_the_alarm);
	FT_ADD(s, coordination_budget_refuses_growth_only);
	FT_ADD(s, quota_set_is_internal);
	FT_ADD(s, meta_record_from_before_the_counts_is_summed);
	FT_ADD(s, quota_record_of_the_wrong_size_is_corrupt);
	FT_ADD(s, every_other_record_kind_is_coordination_state);
	FT_ADD(s, elections_pass_under_the_alarm);
	return s;
}
