/*
 * tests/unit/test_fsm_faults.c: the fsm under failing allocations, a
 * failing backend and corrupt records. A local failure must change
 * nothing -- state, revision, applied index, client table -- and the
 * retried command must then give exactly the reply a fault-free replica
 * gave.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/limits.h"
#include "tests/unit/fsm_clients_test.h"
#include "tests/unit/fsm_lock_test.h"
#include "tests/unit/fsm_test.h"
#include "tests/unit/test_fsm.h"

/* Leases, sessions and locks, from index n + 1 (cmds[i] is applied as
 * index i + 1; the clock stays 0): grant, keepalive, a hold with
 * lock-delay and a waiter, a fenced put, an expiry that leaves the lock
 * delayed, a kick that changes nothing, revoke, cancel, close. */
static size_t workload_locks(struct proto_cmd *cmds, size_t n)
{
	static uint64_t ka[3];
	static struct proto_fence fence;
	static struct proto_cmd fenced_put;
	const uint64_t s1 = n + 1, s2 = n + 2;
	uint64_t ka_index;

	ka[0] = s1;
	ka[1] = s2;
	ka[2] = 99;
	cmds[n++] = fl_open_session(1000);
	cmds[n++] = fl_open_session(1000);
	cmds[n++] = fl_acquire("L", s1, PROTO_LOCK_EXCLUSIVE, false, 0, 100);
	cmds[n++] = fl_acquire("L", s2, PROTO_LOCK_SHARED, true, 0, 0);
	ka_index = n + 1;
	cmds[n++] = fl_keepalive(ka, 3);
	cmds[n++] = ft_put("k", "s2", s2);
	/* A token that is no grant's: refused. */
	fence = (struct proto_fence){ FT_B("L"), 1, PROTO_QUEUE_LOCK };
	fenced_put = ft_put("f", "1", 0);
	cmds[n++] = fl_fenced(&fence, 1, &fenced_put);
	cmds[n++] = fl_expire(s1, ka_index);
	cmds[n++] = fl_kick("L");
	cmds[n++] = fl_grant(0, 500);
	cmds[n] = fl_revoke(n);
	n++;
	cmds[n++] = fl_release("L", s2, 0);
	cmds[n++] = fl_close_session(s2);
	return n;
}

/* A workload that reaches every write path: leases, overwrites, ranges
 * and deletes inside txns, compaction, lease end, a rejected command. */
static size_t workload(struct proto_cmd *cmds)
{
	static struct proto_op then[4], otherwise[1];
	static struct proto_compare cmps[2];
	size_t n = 0;

	memset(then, 0, sizeof(then));
	memset(otherwise, 0, sizeof(otherwise));
	memset(cmps, 0, sizeof(cmps));
	cmds[n++] = ft_put("a", "1", 5);
	cmds[n++] = ft_put_b(FT_B("a\x00z"), FT_B("nul"), 5, true);
	cmds[n++] = ft_put("b", "1", 0);
	cmds[n++] = ft_put_b(ft_s("a"), ft_s("2"), 6, true);
	cmds[n++] = ft_del("a\x01", NULL, PROTO_RANGE_FROM, true);
	cmps[0].key = ft_s("a");
	cmps[0].target = PROTO_CMP_VALUE;
	cmps[0].value = ft_s("2");
	cmps[1].key = ft_s("zz");
	cmps[1].target = PROTO_CMP_VERSION;
	then[0].type = PROTO_CMD_PUT;
	then[0].u.put = ft_put("c", "3", 5).u.put;
	then[1].type = PROTO_CMD_RANGE;
	then[1].u.range = ft_range("", NULL, PROTO_RANGE_PREFIX);
	then[1].u.range.sort_order = PROTO_SORT_DESCEND;
	then[1].u.range.sort_target = PROTO_SORT_MOD;
	then[2].type = PROTO_CMD_DELETE;
	then[2].u.del = ft_del("a", "b", 0, true).u.del;
	then[3].type = PROTO_CMD_RANGE;
	then[3].u.range = ft_range("a", NULL, PROTO_RANGE_PREFIX);
	then[3].u.range.revision = 3;
	otherwise[0].type = PROTO_CMD_PUT;
	otherwise[0].u.put = ft_put("never", "x", 0).u.put;
	cmds[n].type = PROTO_CMD_TXN;
	cmds[n].u.txn.compares = cmps;
	cmds[n].u.txn.n_compares = 2;
	cmds[n].u.txn.success = then;
	cmds[n].u.txn.n_success = 4;
	cmds[n].u.txn.failure = otherwise;
	cmds[n].u.txn.n_failure = 1;
	n++;
	cmds[n++] = ft_put("d", "4", 5);
	cmds[n++] = ft_put("d", "5", 5);
	cmds[n++] = ft_compact(4);
	cmds[n++] = ft_lease_end(5);
	cmds[n++] = ft_put("", "rejected", 0);
	cmds[n++] = ft_put("e", "6", 0);
	cmds[n++] = ft_compact(9);
	memset(&cmds[n], 0, sizeof(cmds[n]));
	cmds[n].type = PROTO_CMD_RANGE;
	cmds[n].u.range = ft_range("", NULL, PROTO_RANGE_FROM);
	n++;
	return workload_locks(cmds, n);
}

#define WORKLOAD_MAX 32

/* The encoded reply and events of one apply, for comparisons. */
static void encode_result(const struct fsm_result *res, struct proto_buf *out)
{
	proto_buf_clear(out);
	ft_code_eq(proto_reply_encode(&res->reply, out), COORD_OK);
	ft_code_eq(proto_events_encode(res->events, res->n_events, out),
		   COORD_OK);
}

struct snapshot_state {
	uint64_t hash;
	uint64_t revision;
	uint64_t compact;
	uint64_t applied;
	uint64_t clients;
	uint64_t clock;
};

static struct snapshot_state state_of(struct fsm *f)
{
	struct snapshot_state s;

	ft_code_eq(fsm_hash(f, &s.hash), COORD_OK);
	s.revision = fsm_revision(f);
	s.compact = fsm_compact_revision(f);
	s.applied = fsm_applied_index(f);
	s.clients = fsm_clients_count(f);
	s.clock = fsm_clients_clock_ms(f);
	return s;
}

static void state_same(struct fsm *f, const struct snapshot_state *s)
{
	struct snapshot_state now = state_of(f);

	ck_assert_uint_eq(now.hash, s->hash);
	ck_assert_uint_eq(now.revision, s->revision);
	ck_assert_uint_eq(now.compact, s->compact);
	ck_assert_uint_eq(now.applied, s->applied);
	ck_assert_uint_eq(now.clients, s->clients);
	ck_assert_uint_eq(now.clock, s->clock);
}

/* How a fault is armed: the allocator's or the backend's Nth call. */
struct fault_env {
	struct ft_alloc alloc;
	struct ft_fault *fault;     /* NULL: allocator faults */
	struct fsm_backend *mem;
	struct fsm_config cfg;
	struct fsm *f;
	size_t armed;
	int err;                    /* what a fault returns */
};

static void env_open(struct fault_env *e, bool backend_faults)
{
	memset(e, 0, sizeof(*e));
	ft_alloc_init(&e->alloc);
	ft_config_default(&e->cfg);
	e->cfg.alloc = &e->alloc.a;
	ft_code_eq(fsm_backend_mem_new(&e->alloc.a, &e->mem), COORD_OK);
	e->err = COORD_ENOMEM;
	if (backend_faults) {
		ft_code_eq(ft_fault_new(e->mem, &e->alloc.a, &e->fault),
			   COORD_OK);
		e->err = COORD_EIO;
	}
	ft_code_eq(fsm_new(&e->cfg,
			   e->fault ? ft_fault_backend(e->fault) : e->mem,
			   &e->f),
		   COORD_OK);
}

static void env_close(struct fault_env *e)
{
	fsm_free(e->f);
	ft_fault_free(e->fault);
	fsm_backend_mem_free(e->mem);
	ck_assert_uint_eq(e->alloc.live, 0);
}

static void env_arm(struct fault_env *e, size_t k)
{
	e->armed = k;
	if (e->fault != NULL) {
		ft_fault_arm(e->fault, k, COORD_EIO);
	} else {
		e->alloc.fail_at = e->alloc.calls + k;
		e->alloc.failures = 0;
	}
}

/* Disarms; whether the armed fault fired. */
static bool env_disarm(struct fault_env *e)
{
	bool fired;

	if (e->fault != NULL) {
		fired = ft_fault_calls(e->fault) >= e->armed;
		ft_fault_arm(e->fault, 0, COORD_EIO);
	} else {
		fired = e->alloc.failures > 0;
		e->alloc.fail_at = 0;
	}
	return fired;
}

/* One step of a workload: a command, or an entry (as a struct, or
 * encoded when data is set). */
struct step {
	const struct proto_cmd *cmd;
	const struct proto_entry *entry;
	const struct proto_buf *data;
};

static int step_apply(struct fsm *f, uint64_t index, const struct step *st,
		      struct fsm_entry_result *res)
{
	const unsigned flags = FSM_EVENTS | FSM_EVENTS_PREV_KV;

	if (st->cmd != NULL) {
		memset(res, 0, sizeof(*res));
		return fsm_apply(f, index, st->cmd, flags, &res->res);
	}
	if (st->data != NULL)
		return fsm_apply_entry_data(f, index, st->data->data,
					    st->data->len, flags, res);
	return fsm_apply_entry(f, index, st->entry, flags, res);
}

/* Applies st as entry index with a fault at every possible point, until
 * it applies; after each fault nothing may have changed. Returns the
 * faults that fired. */
static size_t apply_under_faults(struct fault_env *e, uint64_t index,
				 const struct step *st,
				 struct fsm_entry_result *res)
{
	size_t faults = 0;

	for (size_t k = 1;; k++) {
		struct snapshot_state before;
		int rc;

		/* A fresh fsm: its scratch memory grows under fire. */
		fsm_free(e->f);
		ft_code_eq(fsm_new(&e->cfg,
				   e->fault ? ft_fault_backend(e->fault) : e->mem,
				   &e->f),
			   COORD_OK);
		before = state_of(e->f);
		env_arm(e, k);
		rc = step_apply(e->f, index, st, res);
		if (!env_disarm(e)) {
			ft_code_eq(rc, COORD_OK);
			return faults;
		}
		/* A fault that fired is reported, never swallowed. */
		ft_code_eq(rc, e->err);
		state_same(e->f, &before);
		faults++;
	}
}

/*
 * Applies the workload to env with a fault at every possible point of
 * every command, and to a fault-free reference; after each fault nothing
 * may have changed, and each command's eventual reply and events must be
 * the reference's, byte for byte.
 */
static void run_faults(bool backend_faults)
{
	struct proto_cmd cmds[WORKLOAD_MAX];
	size_t n = workload(cmds);
	struct fault_env e;
	struct ft_fsm ref;
	struct proto_buf want, got;
	size_t faults = 0;

	env_open(&e, backend_faults);
	ft_fsm_open(&ref, NULL);
	proto_buf_init(&want, NULL);
	proto_buf_init(&got, NULL);
	for (size_t i = 0; i < n; i++) {
		struct step st = { .cmd = &cmds[i] };
		struct fsm_entry_result res;

		ft_apply(&ref, cmds[i]);
		encode_result(&ref.res, &want);
		faults += apply_under_faults(&e, i + 1, &st, &res);
		encode_result(&res.res, &got);
		ck_assert_uint_eq(got.len, want.len);
		ck_assert_int_eq(memcmp(got.data, want.data, got.len), 0);
		ck_assert_uint_eq(state_of(e.f).hash, ft_hash(&ref));
	}
	ck_assert_uint_gt(faults, n);
	proto_buf_close(&want);
	proto_buf_close(&got);
	ft_fsm_close(&ref);
	env_close(&e);
}

START_TEST(allocation_failure_anywhere_in_apply_changes_nothing)
{
	run_faults(false);
}
END_TEST

START_TEST(backend_failure_anywhere_in_apply_changes_nothing)
{
	run_faults(true);
}
END_TEST

/* The reads under faults: range, events, hash, open. */
static void run_read_faults(bool backend_faults)
{
	struct proto_cmd cmds[WORKLOAD_MAX];
	size_t n = workload(cmds);
	struct fault_env e;
	struct proto_buf want, got;

	env_open(&e, backend_faults);
	proto_buf_init(&want, NULL);
	proto_buf_init(&got, NULL);
	for (size_t i = 0; i < n; i++) {
		struct fsm_result res;

		ft_code_eq(fsm_apply(e.f, i + 1, &cmds[i], 0, &res), COORD_OK);
	}
	for (int what = 0; what < 4; what++) {
		for (size_t k = 1;; k++) {
			struct proto_range q = ft_range("", NULL,
							PROTO_RANGE_PREFIX);
			struct proto_reply reply;
			struct fsm_events ev;
			uint64_t h;
			struct fsm *f2 = NULL;
			int rc;

			q.sort_target = PROTO_SORT_VALUE;
			env_arm(&e, k);
			switch (what) {
			case 0:
				rc = fsm_range(e.f, &q, &reply);
				break;
			case 1:
				rc = fsm_events_read(e.f, 9, &q, 0,
						     FSM_EVENTS_PREV_KV, &ev);
				break;
			case 2:
				rc = fsm_hash_scan(e.f, &h);
				break;
			default:
				rc = fsm_new(&e.cfg,
					     e.fault ? ft_fault_backend(e.fault)
						     : e.mem,
					     &f2);
				break;
			}
			if (!env_disarm(&e)) {
				ft_code_eq(rc, COORD_OK);
				proto_buf_clear(&got);
				if (what == 0)
					ft_code_eq(proto_reply_encode(&reply,
								      &got),
						   COORD_OK);
				if (what == 1)
					ft_code_eq(proto_events_encode(
							   ev.events,
							   ev.n_events, &got),
						   COORD_OK);
				if (what == 2)
					ck_assert_uint_eq(h, state_of(e.f).hash);
				if (what == 3) {
					ck_assert_uint_eq(fsm_revision(f2),
							  fsm_revision(e.f));
					fsm_free(f2);
				}
				break;
			}
			ft_code_eq(rc, e.err);
			ck_assert_ptr_null(f2);
		}
		if (what < 2) {
			/* Ask once more without faults: the same bytes. */
			struct proto_range q = ft_range("", NULL,
							PROTO_RANGE_PREFIX);
			struct proto_reply reply;
			struct fsm_events ev;

			q.sort_target = PROTO_SORT_VALUE;
			proto_buf_clear(&want);
			if (what == 0) {
				ft_code_eq(fsm_range(e.f, &q, &reply), COORD_OK);
				ft_code_eq(proto_reply_encode(&reply, &want),
					   COORD_OK);
			} else {
				ft_code_eq(fsm_events_read(e.f, 9, &q, 0,
							   FSM_EVENTS_PREV_KV,
							   &ev),
					   COORD_OK);
				ck_assert_uint_gt(ev.n_events, 0);
				ft_code_eq(proto_events_encode(ev.events,
							       ev.n_events,
							       &want),
					   COORD_OK);
			}
			ck_assert_uint_eq(got.len, want.len);
			ck_assert_int_eq(memcmp(got.data, want.data, got.len),
					 0);
		}
	}
	proto_buf_close(&want);
	proto_buf_close(&got);
	env_close(&e);
}

START_TEST(allocation_failure_in_reads_is_reported)
{
	run_read_faults(false);
}
END_TEST

START_TEST(backend_failure_in_reads_is_reported)
{
	run_read_faults(true);
}
END_TEST

START_TEST(apply_data_allocation_failure_is_local)
{
	struct fault_env e;
	struct proto_buf buf;
	struct proto_cmd cmds[WORKLOAD_MAX];
	size_t n = workload(cmds);
	struct fsm_result res;

	env_open(&e, false);
	proto_buf_init(&buf, NULL);
	for (size_t i = 0; i < n; i++) {
		proto_buf_clear(&buf);
		ft_code_eq(proto_cmd_encode(&cmds[i], &buf), COORD_OK);
		for (size_t k = 1;; k++) {
			int rc;

			env_arm(&e, k);
			rc = fsm_apply_data(e.f, i + 1, buf.data, buf.len, 0,
					    &res);
			if (!env_disarm(&e)) {
				ft_code_eq(rc, COORD_OK);
				break;
			}
			ft_code_eq(rc, COORD_ENOMEM);
			ck_assert_uint_eq(fsm_applied_index(e.f), i);
		}
	}
	/* 10 from the key commands, 11 from workload_locks() (the refused
	 * fenced put and the idle kick move nothing). */
	ck_assert_uint_eq(fsm_revision(e.f), 21);
	proto_buf_close(&buf);
	env_close(&e);
}
END_TEST

/*
 * Entries: the same, through the client table's paths -- registrations
 * (one that evicts, one refused), a new sequence, a retry, a stale, an
 * unknown and a too far sequence, a retry of sequence 1 of an evicted
 * client, a command error that is stored, an expiry -- with a table of
 * two. A registered client's id is the index of its registration: step
 * i is index i + 1.
 */

static size_t entry_workload(struct proto_entry *es)
{
	size_t n = 0;

	es[n++] = ft_entry(0, 0, 1000, ft_put("a", "1", 0));
	es[n++] = ft_entry(0, 0, 2000, ft_register(0));             /* 2 */
	es[n++] = ft_entry(2, 1, 2000, ft_put_b(ft_s("a"), ft_s("2"), 0, true));
	/* A retry. */
	es[n++] = ft_entry(2, 1, 2500, ft_put("a", "2", 0));
	es[n++] = ft_entry(0, 0, 3000, ft_register(0));             /* 5 */
	es[n++] = ft_entry(5, 1, 3000, ft_put("c", "1", 0));
	/* A full table, nobody idle for 10 s: refused. */
	es[n++] = ft_entry(0, 0, 3500, ft_register(10000));
	/* Evicts client 2 (the least recently active); the clock goes
	 * back. */
	es[n++] = ft_entry(0, 0, 4000, ft_register(0));             /* 8 */
	es[n++] = ft_entry(8, 1, 4000, ft_put("d", "1", 0));
	es[n++] = ft_entry(8, 2, 1500, ft_del("a", NULL, 0, true));
	/* Stale; unknown; sequence 1 of the evicted client again; past the
	 * window; a command error, stored. */
	es[n++] = ft_entry(8, 1, 5000, ft_put("d", "2", 0));
	es[n++] = ft_entry(2, 2, 5000, ft_put("d", "3", 0));
	es[n++] = ft_entry(2, 1, 5000, ft_put("a", "2", 0));
	es[n++] = ft_entry_ack(5, 2 + COORD_CLIENT_WINDOW_MAX, 2, 5000,
			       ft_put("w", "1", 0));
	es[n++] = ft_entry(5, 2, 6000, ft_put("", "x", 0));
	/* Drops client 8 (active at 4000); the retry of the error. */
	es[n++] = ft_entry(0, 0, 7000, ft_expire(50000, 45000));
	es[n++] = ft_entry(5, 2, 8000, ft_put("", "x", 0));
	es[n++] = ft_entry(0, 0, 9000, ft_register(0));             /* 18 */
	es[n] = ft_entry(18, 1, 9000, ft_put("e", "1", 0));
	es[n++].cmd.type = PROTO_CMD_RANGE;
	es[n - 1].cmd.u.range = ft_range("", NULL, PROTO_RANGE_PREFIX);
	return n;
}

static void encode_entry_result(const struct fsm_entry_result *res,
				struct proto_buf *out)
{
	proto_buf_clear(out);
	ft_code_eq(proto_buf_append(out, res->reply_data, res->reply_len),
		   COORD_OK);
	ft_code_eq(proto_events_encode(res->res.events, res->res.n_events,
				       out),
		   COORD_OK);
	ft_code_eq(proto_buf_append(out, &res->duplicate, 1), COORD_OK);
}

/* encoded: through fsm_apply_entry_data(), else fsm_apply_entry(). */
static void run_entry_faults(bool backend_faults, bool encoded)
{
	struct proto_entry es[WORKLOAD_MAX];
	size_t n = entry_workload(es);
	struct fsm_config cfg;
	struct fault_env e;
	struct ft_fsm ref;
	struct proto_buf want, got, data;
	size_t faults = 0;

	env_open(&e, backend_faults);
	e.cfg.clients_max = 2;
	ft_config_default(&cfg);
	cfg.clients_max = 2;
	ft_fsm_open(&ref, &cfg);
	proto_buf_init(&want, NULL);
	proto_buf_init(&got, NULL);
	proto_buf_init(&data, NULL);
	for (size_t i = 0; i < n; i++) {
		struct step st = { .entry = &es[i],
				   .data = encoded ? &data : NULL };
		struct fsm_entry_result res;

		proto_buf_clear(&data);
		ft_code_eq(proto_entry_encode(&es[i], &data), COORD_OK);
		ft_code_eq(step_apply(ref.f, i + 1, &st, &res), COORD_OK);
		encode_entry_result(&res, &want);
		faults += apply_under_faults(&e, i + 1, &st, &res);
		encode_entry_result(&res, &got);
		ck_assert_uint_eq(got.len, want.len);
		ck_assert_int_eq(memcmp(got.data, want.data, got.len), 0);
		ck_assert_uint_eq(state_of(e.f).hash, ft_hash(&ref));
	}
	ck_assert_uint_gt(faults, n);
	/* The workload went where it should. */
	ck_assert_uint_eq(fsm_clients_count(ref.f), 2);
	ck_assert_uint_eq(fsm_clients_clock_ms(ref.f), 50000);
	ck_assert(!fsm_client_has_reply(ref.f, 2, 1));
	ck_assert(fsm_client_has_reply(ref.f, 5, 2));
	ck_assert(fsm_client_has_reply(ref.f, 18, 1));
	proto_buf_close(&want);
	proto_buf_close(&got);
	proto_buf_close(&data);
	ft_fsm_close(&ref);
	env_close(&e);
}

START_TEST(allocation_failure_anywhere_in_an_entry_changes_nothing)
{
	run_entry_faults(false, false);
	run_entry_faults(false, true);
}
END_TEST

START_TEST(backend_failure_anywhere_in_an_entry_changes_nothing)
{
	run_entry_faults(true, false);
	run_entry_faults(true, true);
}
END_TEST

START_TEST(client_lookup_failure_is_reported)
{
	struct fault_env e;
	struct proto_entry reg = ft_entry(0, 0, 10, ft_register(0));
	struct proto_entry en = ft_entry(1, 1, 2010, ft_put("a", "1", 0));
	struct fsm_entry_result res;
	struct fsm_client_info ci;

	env_open(&e, true);
	ft_code_eq(fsm_apply_entry(e.f, 1, &reg, 0, &res), COORD_OK);
	ft_code_eq(fsm_apply_entry(e.f, 2, &en, 0, &res), COORD_OK);
	env_arm(&e, 1);
	ft_code_eq(fsm_client_lookup(e.f, 1, &ci), COORD_EIO);
	ck_assert(env_disarm(&e));
	ft_code_eq(fsm_client_lookup(e.f, 1, &ci), COORD_OK);
	ck_assert_uint_eq(ci.floor, 1);
	ck_assert_uint_eq(ci.n_replies, 1);
	ck_assert_uint_eq(ci.active_ms, 2000);
	env_close(&e);
}
END_TEST

/*
 * Corrupt records, written straight into the backend with the layout of
 * backend.h: every one makes the fsm report COORD_ECORRUPT, never crash,
 * never answer from it.
 */

static void raw_put(struct fsm_backend *b, const void *key, size_t key_len,
		    const void *value, size_t value_len)
{
	struct fsm_backend_write w = { FSM_BACKEND_PUT, key, key_len, value,
				       value_len };

	ft_code_eq(b->ops->write(b, &w, 1), COORD_OK);
}

static void raw_del(struct fsm_backend *b, const void *key, size_t key_len)
{
	struct fsm_backend_write w = { FSM_BACKEND_DELETE, key, key_len, NULL,
				       0 };

	ft_code_eq(b->ops->write(b, &w, 1), COORD_OK);
}

static void be32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* 'k' esc(key) 00 01 ~rev for a key without zero bytes. */
static size_t kkey(uint8_t *out, const char *key, uint64_t rev)
{
	size_t n = strlen(key);

	out[0] = 'k';
	memcpy(out + 1, key, n);
	out[1 + n] = 0x00;
	out[2 + n] = 0x01;
	be64(out + 3 + n, ~rev);
	return 3 + n + 8;
}

/* A fresh fixture holding a=1 at revision 1 and b=2 (lease 4) at 2. */
static void corrupt_open(struct ft_fsm *t)
{
	ft_fsm_open(t, NULL);
	ft_apply_ok(t, ft_put("a", "1", 0));
	ft_apply_ok(t, ft_put("b", "2", 4));
}

static void expect_corrupt_reads(struct ft_fsm *t)
{
	struct proto_range q = ft_range("", NULL, PROTO_RANGE_PREFIX);
	struct proto_reply reply;

	ft_code_eq(fsm_range(t->f, &q, &reply), COORD_ECORRUPT);
}

START_TEST(corrupt_meta_record_refuses_to_open)
{
	struct ft_fsm t;
	struct fsm *f = NULL;
	uint8_t v[48];

	corrupt_open(&t);
	raw_put(t.backend, "mstate", 6, "abc", 3);
	ft_code_eq(fsm_new(&t.cfg, t.backend, &f), COORD_ECORRUPT);
	ck_assert_ptr_null(f);
	memset(v, 0, 48);
	be64(v + 8, 1);                         /* revision */
	be64(v + 16, 2);                        /* compact: above it */
	raw_put(t.backend, "mstate", 6, v, 48);
	ft_code_eq(fsm_new(&t.cfg, t.backend, &f), COORD_ECORRUPT);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(corrupt_version_records_are_reported)
{
	struct ft_fsm t;
	uint8_t k[64], v[64];
	size_t kl;
	struct fsm_result res;
	struct proto_cmd c = ft_put("a", "x", 0);
	struct snapshot_state before;

	/* A record value shorter than its header. */
	corrupt_open(&t);
	kl = kkey(k, "a", 1);
	raw_put(t.backend, k, kl, "short", 5);
	expect_corrupt_reads(&t);
	before = state_of(t.f);
	ft_code_eq(fsm_apply(t.f, 10, &c, 0, &res), COORD_ECORRUPT);
	state_same(t.f, &before);
	ft_fsm_close(&t);

	/* Unknown flag bits; a tombstone with a value; a live version 0. */
	for (int i = 0; i < 3; i++) {
		corrupt_open(&t);
		memset(v, 0, sizeof(v));
		if (i == 0) {
			v[0] = 0x80;
			be64(v + 1, 1);
			be64(v + 9, 1);
		} else if (i == 1) {
			v[0] = 0x01;
		} else {
			be64(v + 1, 1);
		}
		raw_put(t.backend, k, kl, v, i == 1 ? 30 : 29);
		expect_corrupt_reads(&t);
		ft_fsm_close(&t);
	}
}
END_TEST

START_TEST(corrupt_version_keys_are_reported)
{
	/* In the group of a key "c" that has no valid version, so that a
	 * scan meets them first. */
	static const struct {
		const char *key;
		size_t len;
	} bad[] = {
		/* No terminator before the revision. */
		{ "kcccccccccccccc", 15 },
		/* 0x00 followed by neither 0xff nor 0x01. */
		{ "kc\x00\x05\x00\x01\xff\xff\xff\xff\xff\xff\xff\xfe", 14 },
		/* Too short for a revision. */
		{ "kc\x00\x01\xff", 5 },
		/* Revision 0. */
		{ "kc\x00\x01\xff\xff\xff\xff\xff\xff\xff\xff", 12 },
		/* Terminated, then 9 bytes. */
		{ "kc\x00\x01\xff\xff\xff\xff\xff\xff\xff\xfe\x00", 13 },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ft_fsm t;
		struct fsm_result res;
		struct proto_cmd c = ft_put("c", "x", 0);

		corrupt_open(&t);
		raw_put(t.backend, bad[i].key, bad[i].len, "", 0);
		expect_corrupt_reads(&t);
		/* The revision-0 record is also where a put of c looks. */
		if (i == 3)
			ft_code_eq(fsm_apply(t.f, 10, &c, 0, &res),
				   COORD_ECORRUPT);
		ft_fsm_close(&t);
	}
}
END_TEST

START_TEST(version_key_inside_a_group_with_a_bad_length_is_reported)
{
	struct ft_fsm t;
	uint8_t k[64];
	size_t kl;
	struct proto_cmd c = ft_put("a", "x", 0);
	struct fsm_result res;
	struct proto_range q = ft_range("a", NULL, 0);
	struct proto_reply reply;

	corrupt_open(&t);
	ft_apply_ok(&t, ft_put("a", "3", 0));   /* rev 3 */
	/* Between a@3 and a@1, where a read at 2 seeks: 9 revision bytes. */
	kl = kkey(k, "a", 2);
	k[kl] = 0x00;
	raw_put(t.backend, k, kl + 1, "", 0);
	q.revision = 2;
	ft_code_eq(fsm_range(t.f, &q, &reply), COORD_ECORRUPT);
	raw_del(t.backend, k, kl + 1);
	/* Before a@3, where a put's lookup at revision 4 lands. */
	kl = kkey(k, "a", 4);
	k[kl] = 0x00;
	raw_put(t.backend, k, kl + 1, "", 0);
	ft_code_eq(fsm_apply(t.f, 10, &c, 0, &res), COORD_ECORRUPT);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(history_pointing_at_a_missing_version_is_reported)
{
	struct ft_fsm t;
	uint8_t k[64], r[13];
	size_t kl;
	struct fsm_events ev;
	struct fsm_result res;
	struct proto_cmd c = ft_compact(2);

	corrupt_open(&t);
	kl = kkey(k, "a", 1);
	raw_del(t.backend, k, kl);
	ft_code_eq(fsm_events_read(t.f, 1, NULL, 0, 0, &ev), COORD_ECORRUPT);
	ft_code_eq(fsm_apply(t.f, 10, &c, 0, &res), COORD_ECORRUPT);
	ft_fsm_close(&t);

	/* An 'r' record of the wrong length. */
	corrupt_open(&t);
	r[0] = 'r';
	be64(r + 1, 1);
	raw_put(t.backend, r, 9, "a", 1);
	ft_code_eq(fsm_events_read(t.f, 1, NULL, 0, 0, &ev), COORD_ECORRUPT);
	ft_code_eq(fsm_apply(t.f, 10, &c, 0, &res), COORD_ECORRUPT);
	ft_fsm_close(&t);

	/* An 'r' record naming the wrong sub-revision. */
	corrupt_open(&t);
	memset(r, 0, sizeof(r));
	r[0] = 'r';
	be64(r + 1, 1);
	raw_del(t.backend, r, 13);
	r[12] = 7;
	raw_put(t.backend, r, 13, "a", 1);
	ft_code_eq(fsm_events_read(t.f, 1, NULL, 0, 0, &ev), COORD_ECORRUPT);
	ft_code_eq(fsm_apply(t.f, 10, &c, 0, &res), COORD_ECORRUPT);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(lease_index_of_a_key_not_under_that_lease_is_reported)
{
	struct ft_fsm t;
	uint8_t l[16];
	struct fsm_result res;
	struct proto_cmd c = ft_lease_end(9);

	corrupt_open(&t);
	l[0] = 'l';
	be64(l + 1, 9);
	l[9] = 'a';                 /* a exists, without a lease */
	raw_put(t.backend, l, 10, "", 0);
	ft_code_eq(fsm_apply(t.f, 10, &c, 0, &res), COORD_ECORRUPT);
	l[9] = 'z';                 /* z does not exist */
	raw_del(t.backend, l, 10);
	raw_put(t.backend, l, 10, "", 0);
	ft_code_eq(fsm_apply(t.f, 10, &c, 0, &res), COORD_ECORRUPT);
	raw_del(t.backend, l, 10);
	raw_put(t.backend, l, 9, "", 0);    /* an empty key */
	ft_code_eq(fsm_apply(t.f, 10, &c, 0, &res), COORD_ECORRUPT);
	ft_fsm_close(&t);
}
END_TEST

/*
 * Corrupt records of the client table: the same.
 */

/* Applies e and expects a local COORD_ECORRUPT that changed nothing. */
static void expect_corrupt(struct ft_fsm *t, struct proto_entry e)
{
	struct snapshot_state before = state_of(t->f);
	struct fsm_entry_result res;

	ft_code_eq(fsm_apply_entry(t->f, t->index + 1, &e, 0, &res),
		   COORD_ECORRUPT);
	state_same(t->f, &before);
}

/* Applies e at the next index; it must apply. */
static void entry_ok(struct ft_fsm *t, struct proto_entry e)
{
	struct fsm_entry_result res;

	ft_code_eq(fsm_apply_entry(t->f, ++t->index, &e, 0, &res), COORD_OK);
}

/* A fixture with a table of clients_max. */
static void table_open(struct ft_fsm *t, uint64_t clients_max)
{
	struct fsm_config cfg;

	ft_config_default(&cfg);
	cfg.clients_max = clients_max;
	ft_fsm_open(t, &cfg);
}

/* Registers a client at the next index (horizon 0); returns its id. */
static uint64_t table_register(struct ft_fsm *t)
{
	entry_ok(t, ft_entry(0, 0, 5000, ft_register(0)));
	return t->index;
}

START_TEST(corrupt_client_records_are_reported)
{
	struct ft_fsm t;
	uint8_t k[32], v[64];
	struct fsm_client_info ci;
	uint64_t id;

	/* A 'c' record shorter than its header; one with floor 0. */
	table_open(&t, COORD_CLIENTS_MAX);
	id = table_register(&t);
	k[0] = 'c';
	be64(k + 1, id);
	raw_put(t.backend, k, 9, "short", 5);
	expect_corrupt(&t, ft_entry(id, 1, 10, ft_put("a", "1", 0)));
	ft_code_eq(fsm_client_lookup(t.f, id, &ci), COORD_ECORRUPT);
	memset(v, 0, sizeof(v));
	raw_put(t.backend, k, 9, v, 16);
	expect_corrupt(&t, ft_entry(id, 1, 10, ft_put("a", "1", 0)));
	ck_assert(!fsm_client_has_reply(t.f, id, 1));
	/* Stored replies cut short; below the floor; out of order. */
	be64(v + 8, 2);
	be64(v + 16, 2);
	be32(v + 24, 10);
	raw_put(t.backend, k, 9, v, 30);
	expect_corrupt(&t, ft_entry(id, 3, 10, ft_put("a", "1", 0)));
	be64(v + 16, 1);
	be32(v + 24, 0);
	raw_put(t.backend, k, 9, v, 28);
	expect_corrupt(&t, ft_entry(id, 3, 10, ft_put("a", "1", 0)));
	be64(v + 16, 3);
	be64(v + 28, 2);
	be32(v + 36, 0);
	raw_put(t.backend, k, 9, v, 40);
	expect_corrupt(&t, ft_entry(id, 4, 10, ft_put("a", "1", 0)));
	ft_fsm_close(&t);

	/* A stored reply that does not decode. */
	table_open(&t, COORD_CLIENTS_MAX);
	id = table_register(&t);
	entry_ok(&t, ft_entry(id, 1, 10, ft_put("a", "1", 0)));
	be64(v, 0);
	be64(v + 8, 1);
	be64(v + 16, 1);
	be32(v + 24, 1);
	v[28] = 0xc1;
	raw_put(t.backend, k, 9, v, 29);
	expect_corrupt(&t, ft_entry(id, 1, 10, ft_put("a", "1", 0)));
	ft_fsm_close(&t);
}
END_TEST

START_TEST(corrupt_activity_index_is_reported)
{
	struct ft_fsm t;
	uint8_t k[32], v[16];
	uint64_t id;

	/* An 'a' key of the wrong length, met by eviction and by expiry. */
	table_open(&t, 1);
	table_register(&t);
	k[0] = 'a';
	be64(k + 1, 0);
	raw_put(t.backend, k, 9, "", 0);
	expect_corrupt(&t, ft_entry(0, 0, 10, ft_register(0)));
	expect_corrupt(&t, ft_entry(0, 0, 10, ft_expire(10000, 0)));
	ft_fsm_close(&t);

	/* An 'a' record of a client that has no 'c' record; of one whose
	 * activity differs. */
	for (int i = 0; i < 2; i++) {
		table_open(&t, 1);
		id = table_register(&t);
		k[0] = 'a';
		/* Before the real one (active at 5000). */
		be64(k + 1, 5);
		be64(k + 9, i == 0 ? 9 : id);
		raw_put(t.backend, k, 17, "", 0);
		expect_corrupt(&t, ft_entry(0, 0, 10, ft_register(0)));
		expect_corrupt(&t, ft_entry(0, 0, 10, ft_expire(10000, 0)));
		ft_fsm_close(&t);
	}

	/* An 'a' record while the count says the table is empty. */
	table_open(&t, 1);
	k[0] = 'a';
	be64(k + 1, 5);
	be64(k + 9, 9);
	raw_put(t.backend, k, 17, "", 0);
	k[0] = 'c';
	be64(k + 1, 9);
	be64(v, 5);
	be64(v + 8, 1);
	raw_put(t.backend, k, 9, v, 16);
	expect_corrupt(&t, ft_entry(0, 0, 10, ft_expire(10000, 0)));
	ft_fsm_close(&t);
}
END_TEST

START_TEST(corrupt_clock_or_count_refuses_to_open)
{
	struct ft_fsm t;
	struct fsm *f = NULL;
	uint8_t v[48];

	table_open(&t, COORD_CLIENTS_MAX);
	raw_put(t.backend, "mstate", 6, "abc", 3);
	ft_code_eq(fsm_new(&t.cfg, t.backend, &f), COORD_ECORRUPT);
	memset(v, 0, sizeof(v));
	raw_put(t.backend, "mstate", 6, v, 47);
	ft_code_eq(fsm_new(&t.cfg, t.backend, &f), COORD_ECORRUPT);
	ck_assert_ptr_null(f);
	raw_put(t.backend, "mstate", 6, v, 48);
	ft_code_eq(fsm_new(&t.cfg, t.backend, &f), COORD_OK);
	fsm_free(f);
	ft_fsm_close(&t);
	/* The layout of the separate meta records (before "mstate"). */
	table_open(&t, COORD_CLIENTS_MAX);
	raw_put(t.backend, "mapplied", 8, v, 8);
	f = NULL;
	ft_code_eq(fsm_new(&t.cfg, t.backend, &f), COORD_ECORRUPT);
	ck_assert_ptr_null(f);
	ft_fsm_close(&t);
}
END_TEST

Suite *fsm_faults_suite(void)
{
	Suite *s = suite_create("fsm_faults");

	FT_ADD(s, allocation_failure_anywhere_in_apply_changes_nothing);
	FT_ADD(s, backend_failure_anywhere_in_apply_changes_nothing);
	FT_ADD(s, allocation_failure_in_reads_is_reported);
	FT_ADD(s, backend_failure_in_reads_is_reported);
	FT_ADD(s, apply_data_allocation_failure_is_local);
	FT_ADD(s, corrupt_meta_record_refuses_to_open);
	FT_ADD(s, corrupt_version_records_are_reported);
	FT_ADD(s, corrupt_version_keys_are_reported);
	FT_ADD(s, version_key_inside_a_group_with_a_bad_length_is_reported);
	FT_ADD(s, history_pointing_at_a_missing_version_is_reported);
	FT_ADD(s, lease_index_of_a_key_not_under_that_lease_is_reported);
	FT_ADD(s, allocation_failure_anywhere_in_an_entry_changes_nothing);
	FT_ADD(s, backend_failure_anywhere_in_an_entry_changes_nothing);
	FT_ADD(s, client_lookup_failure_is_reported);
	FT_ADD(s, corrupt_client_records_are_reported);
	FT_ADD(s, corrupt_activity_index_is_reported);
	FT_ADD(s, corrupt_clock_or_count_refuses_to_open);
	return s;
}
