/*
 * tests/unit/test_raft_replication.c: log replication (Raft figure 2,
 * AppendEntries; 5.3; 5.4.2), flow control and batching.
 */
#include <stdio.h>
#include <string.h>

#include "tests/unit/test_raft.h"

/* ---------------------------------------------------------------------- */
/* Helpers. */

static void t_cluster(struct harness *h, size_t n, uint64_t leader)
{
	h_init(h, n);
	h_bootstrap(h, n);
	h_elect(h, leader);
}

/* Elects node id by delivering only the election messages: the leader's
 * first APPENDs stay in the queue. */
static void t_elect_hold(struct harness *h, uint64_t id)
{
	struct raft *r = h_raft(h, id);
	unsigned t = 0;

	while (raft_role(r) == RAFT_FOLLOWER) {
		h_tick(h, id, 1);
		ck_assert_uint_lt(++t, 100);
	}
	h_deliver_types(h, H_VOTES);
	ck_assert(raft_is_leader(r));
}

static struct raft_message t_append(uint64_t from, uint64_t to, uint64_t term,
				    uint64_t prev, uint64_t prev_term,
				    struct raft_entry *ents, size_t n,
				    uint64_t commit)
{
	struct raft_message m = h_msg_make(RAFT_MSG_APPEND, from, to, term);

	m.index = prev;
	m.log_term = prev_term;
	m.entries = ents;
	m.n_entries = n;
	m.commit = commit;
	return m;
}

/* The only APPEND_RESP from node from, removed from the queue. */
static struct raft_message t_take_resp(struct harness *h, uint64_t from)
{
	long i = h_find(h, RAFT_MSG_APPEND_RESP, from, 0);
	struct raft_message m;

	ck_assert_int_ge(i, 0);
	ck_assert_uint_eq(h_count(h, RAFT_MSG_APPEND_RESP, from, 0), 1);
	m = h->queue[i].m;
	ck_assert_uint_eq(m.n_entries, 0);
	h_remove_at(h, (size_t)i);
	return m;
}

static size_t t_appends_with_entries(const struct harness *h, uint64_t from,
				     uint64_t to)
{
	size_t c = 0;

	for (size_t i = 0; i < h->n_queue; i++) {
		const struct raft_message *m = &h->queue[i].m;

		if (m->type == RAFT_MSG_APPEND && m->from == from &&
		    m->to == to && m->n_entries > 0)
			c++;
	}
	return c;
}

/* Starts node id alone from a preloaded log. */
static void t_preloaded(struct harness *h, uint64_t id, const uint64_t *terms,
			size_t n, uint64_t term)
{
	h_preload(h, id, 3, terms, n, term, 0);
	h_start(h, id);
	h_ready_all(h);
}

/* ---------------------------------------------------------------------- */
/* Leader and follower basics. */

START_TEST(leader_replicates_entries_to_every_follower)
{
	struct harness h;
	uint64_t idx[3];
	const char *data[3] = { "a", "bb", "ccc" };

	t_cluster(&h, 3, 1);
	for (int i = 0; i < 3; i++)
		idx[i] = h_commit(&h, 1, data[i]);
	h_settle(&h);
	for (uint64_t id = 1; id <= 3; id++) {
		for (int i = 0; i < 3; i++) {
			const struct h_applied *a =
				h_applied_at(h_node(&h, id), idx[i]);

			ck_assert_ptr_nonnull(a);
			ck_assert_uint_eq(a->len, strlen(data[i]));
			ck_assert_mem_eq(a->data, data[i], a->len);
			ck_assert_uint_eq(a->term, raft_term(h_raft(&h, 1)));
		}
		ck_assert_uint_eq(raft_commit_index(h_raft(&h, id)), idx[2]);
		ck_assert_uint_eq(raft_applied_index(h_raft(&h, id)), idx[2]);
	}
	h_check_safety(&h);
	h_close(&h);
}
END_TEST

/* Figure 2, AppendEntries 2: reply false if the log has no entry at
 * prevLogIndex. */
START_TEST(follower_rejects_append_with_missing_prev)
{
	struct harness h;
	struct raft_entry e = { 2, 11, RAFT_ENTRY_NORMAL, 1, (uint8_t *)"x" };
	struct raft_message m, resp;
	uint64_t last;

	t_cluster(&h, 3, 1);
	h_drop(&h, 0, 0, 0);
	last = raft_last_index(h_raft(&h, 2));
	m = t_append(1, 2, raft_term(h_raft(&h, 1)), 10, 2, &e, 1, 4);
	ck_assert_int_eq(h_step(&h, &m), 0);
	resp = t_take_resp(&h, 2);
	ck_assert(resp.reject);
	ck_assert_uint_eq(resp.index, 10);
	ck_assert_uint_eq(resp.reject_hint, last + 1);
	ck_assert_uint_eq(resp.hint_term, 0);
	ck_assert_uint_eq(raft_last_index(h_raft(&h, 2)), last);
	ck_assert_uint_eq(h_log_last(h_node(&h, 2)), last);
	h_close(&h);
}
END_TEST

/* Figure 2, AppendEntries 2: ... or whose term does not match
 * prevLogTerm; the hint names the first index of the conflicting term. */
START_TEST(follower_rejects_append_with_prev_term_mismatch)
{
	struct harness h;
	const uint64_t terms[] = { 2, 2, 2 };   /* 4..6 */
	struct raft_message m, resp;

	h_init(&h, 3);
	t_preloaded(&h, 2, terms, 3, 2);
	for (uint64_t prev = 5; prev <= 6; prev++) {
		m = t_append(1, 2, 3, prev, 3, NULL, 0, 3);
		ck_assert_int_eq(h_step(&h, &m), 0);
		resp = t_take_resp(&h, 2);
		ck_assert(resp.reject);
		ck_assert_uint_eq(resp.index, prev);
		ck_assert_uint_eq(resp.hint_term, 2);
		ck_assert_uint_eq(resp.reject_hint, 4);
		ck_assert_uint_eq(resp.term, 3);
	}
	ck_assert_uint_eq(raft_last_index(h_raft(&h, 2)), 6);
	h_close(&h);
}
END_TEST

/* Figure 2, AppendEntries 3: a conflicting entry and all that follow it
 * are deleted; the Ready starts at the conflict. */
START_TEST(follower_truncates_conflicting_suffix)
{
	struct harness h;
	const uint64_t terms[] = { 2, 2, 2 };   /* 4..6 */
	struct raft_entry e1[] = {
		{ 3, 5, RAFT_ENTRY_NORMAL, 2, (uint8_t *)"n5" },
		{ 3, 6, RAFT_ENTRY_NORMAL, 2, (uint8_t *)"n6" },
		{ 3, 7, RAFT_ENTRY_NORMAL, 2, (uint8_t *)"n7" },
	};
	struct raft_entry e2[] = {
		{ 3, 6, RAFT_ENTRY_NORMAL, 2, (uint8_t *)"n6" },
		{ 4, 7, RAFT_ENTRY_NORMAL, 2, (uint8_t *)"m7" },
		{ 4, 8, RAFT_ENTRY_NORMAL, 2, (uint8_t *)"m8" },
	};
	struct raft_message m, resp;
	struct raft_ready rd;
	struct raft *r;

	h_init(&h, 3);
	t_preloaded(&h, 2, terms, 3, 2);
	r = h_raft(&h, 2);
	m = t_append(1, 2, 3, 4, 2, e1, 3, 3);
	ck_assert_int_eq(raft_step(r, &m), 0);
	ck_assert(raft_has_ready(r));
	raft_ready(r, &rd);
	ck_assert_uint_eq(rd.n_entries, 3);
	ck_assert_uint_eq(rd.entries[0].index, 5);
	ck_assert_uint_eq(rd.entries[0].term, 3);
	ck_assert_uint_eq(rd.entries[2].index, 7);
	h_ready_process(&h, 2, &rd);
	h_ready_all(&h);
	ck_assert_uint_eq(h_log_at(h_node(&h, 2), 4)->term, 2);
	ck_assert_uint_eq(h_log_at(h_node(&h, 2), 5)->term, 3);
	ck_assert_mem_eq(h_log_at(h_node(&h, 2), 6)->data, "n6", 2);
	ck_assert_uint_eq(h_log_last(h_node(&h, 2)), 7);
	resp = t_take_resp(&h, 2);
	ck_assert(!resp.reject);
	ck_assert_uint_eq(resp.index, 7);

	/* A partial conflict: 6 matches, 7 does not. */
	m = t_append(1, 2, 4, 5, 3, e2, 3, 3);
	ck_assert_int_eq(raft_step(r, &m), 0);
	raft_ready(r, &rd);
	ck_assert_uint_eq(rd.n_entries, 2);
	ck_assert_uint_eq(rd.entries[0].index, 7);
	ck_assert_uint_eq(rd.entries[0].term, 4);
	h_ready_process(&h, 2, &rd);
	h_ready_all(&h);
	ck_assert_mem_eq(h_log_at(h_node(&h, 2), 7)->data, "m7", 2);
	ck_assert_uint_eq(h_log_last(h_node(&h, 2)), 8);
	ck_assert_uint_eq(raft_last_index(r), 8);
	h_close(&h);
}
END_TEST

/* Figure 2, AppendEntries 3-4: without a conflict nothing is deleted, so a
 * late (reordered) APPEND never shortens the log. */
START_TEST(follower_keeps_entries_after_stale_append)
{
	struct harness h;
	const uint64_t terms[] = { 2, 2, 2 };   /* 4..6 */
	struct raft_entry e = { 2, 4, RAFT_ENTRY_NORMAL, 2, (uint8_t *)"e4" };
	struct raft_message m, resp;
	struct raft *r;

	h_init(&h, 3);
	t_preloaded(&h, 2, terms, 3, 2);
	r = h_raft(&h, 2);
	m = t_append(1, 2, 2, 3, 1, &e, 1, 3);
	ck_assert_int_eq(h_step(&h, &m), 0);
	resp = t_take_resp(&h, 2);
	ck_assert(!resp.reject);
	ck_assert_uint_eq(resp.index, 4);
	ck_assert_uint_eq(raft_last_index(r), 6);
	ck_assert_uint_eq(h_log_last(h_node(&h, 2)), 6);
	ck_assert_uint_eq(h_log_at(h_node(&h, 2), 6)->term, 2);
	h_close(&h);
}
END_TEST

/* Figure 2, AppendEntries 5: commitIndex = min(leaderCommit, index of the
 * last new entry); and it never goes back. */
START_TEST(follower_commit_is_min_of_leader_commit_and_last_new_entry)
{
	struct harness h;
	const uint64_t terms[] = { 2, 2, 2 };   /* 4..6 */
	struct raft_message m;
	struct raft *r;

	h_init(&h, 3);
	t_preloaded(&h, 2, terms, 3, 2);
	r = h_raft(&h, 2);
	m = t_append(1, 2, 2, 4, 2, NULL, 0, 6);
	ck_assert_int_eq(h_step(&h, &m), 0);
	ck_assert_uint_eq(raft_commit_index(r), 4);
	ck_assert_uint_eq(h_node(&h, 2)->hs.commit, 4);
	ck_assert_uint_eq(h_node(&h, 2)->applied, 4);
	m = t_append(1, 2, 2, 6, 2, NULL, 0, 6);
	ck_assert_int_eq(h_step(&h, &m), 0);
	ck_assert_uint_eq(raft_commit_index(r), 6);
	ck_assert_uint_eq(h_node(&h, 2)->applied, 6);
	/* Lower commits from late messages change nothing. */
	m = t_append(1, 2, 2, 6, 2, NULL, 0, 2);
	ck_assert_int_eq(h_step(&h, &m), 0);
	ck_assert_uint_eq(raft_commit_index(r), 6);
	m = h_msg_make(RAFT_MSG_HEARTBEAT, 1, 2, 2);
	m.commit = 1;
	ck_assert_int_eq(h_step(&h, &m), 0);
	ck_assert_uint_eq(raft_commit_index(r), 6);
	ck_assert_uint_eq(h_node(&h, 2)->hs.commit, 6);
	h_close(&h);
}
END_TEST

static bool t_drop_empty_appends(void *ctx, const struct raft_message *m)
{
	(void)ctx;
	return m->type == RAFT_MSG_APPEND && m->n_entries == 0;
}

static bool t_drop_heartbeats(void *ctx, const struct raft_message *m)
{
	(void)ctx;
	return m->type == RAFT_MSG_HEARTBEAT;
}

START_TEST(follower_learns_commit_from_heartbeat)
{
	struct harness h;
	uint64_t idx;

	t_cluster(&h, 3, 1);
	h.filter = t_drop_empty_appends;
	idx = h_commit(&h, 1, "x");
	ck_assert_uint_eq(raft_commit_index(h_raft(&h, 1)), idx);
	for (uint64_t id = 2; id <= 3; id++) {
		ck_assert_uint_eq(raft_last_index(h_raft(&h, id)), idx);
		ck_assert_uint_lt(raft_commit_index(h_raft(&h, id)), idx);
	}
	h_tick(&h, 1, 1);
	ck_assert_uint_eq(h_count(&h, RAFT_MSG_HEARTBEAT, 1, 0), 2);
	h_deliver_all(&h);
	for (uint64_t id = 2; id <= 3; id++) {
		ck_assert_uint_eq(raft_commit_index(h_raft(&h, id)), idx);
		ck_assert(h_applied_data(h_node(&h, id), "x"));
	}
	h_close(&h);
}
END_TEST

START_TEST(follower_learns_commit_from_append)
{
	struct harness h;
	uint64_t ix, iy;

	t_cluster(&h, 3, 1);
	h.filter = t_drop_heartbeats;
	ix = h_commit(&h, 1, "x");
	iy = h_commit(&h, 1, "y");
	for (uint64_t id = 2; id <= 3; id++) {
		ck_assert_uint_ge(raft_commit_index(h_raft(&h, id)), ix);
		ck_assert(h_applied_data(h_node(&h, id), "x"));
	}
	(void)iy;
	h_close(&h);
}
END_TEST

/* 5.3: an entry is committed once a majority stores it. */
START_TEST(leader_commits_when_majority_stores_entry)
{
	struct harness h;
	uint64_t idx;

	t_cluster(&h, 5, 1);
	h_cut(&h, 1, 4);
	h_cut(&h, 1, 5);
	h_commit(&h, 1, "three of five");
	h_cut(&h, 1, 3);
	idx = h_propose(&h, 1, "two of five");
	h_deliver_all(&h);
	for (int t = 0; t < 3; t++) {
		h_tick(&h, 1, 1);
		h_deliver_all(&h);
	}
	ck_assert_uint_lt(raft_commit_index(h_raft(&h, 1)), idx);
	ck_assert(!h_applied_data(h_node(&h, 1), "two of five"));
	ck_assert_uint_eq(raft_last_index(h_raft(&h, 2)), idx);
	h_heal(&h);
	h_settle(&h);
	ck_assert_uint_ge(raft_commit_index(h_raft(&h, 1)), idx);
	for (uint64_t id = 1; id <= 5; id++)
		ck_assert(h_applied_data(h_node(&h, id), "two of five"));
	h_close(&h);
}
END_TEST

/* Once node 2 holds index 4, APPENDs carrying index 5 are lost (before,
 * they are rejected anyway and lead the leader to index 4). */
static bool t_drop_append_from_5(void *ctx, const struct raft_message *m)
{
	struct harness *h = ctx;

	return m->type == RAFT_MSG_APPEND && m->n_entries > 0 &&
	       m->entries[m->n_entries - 1].index >= 5 &&
	       h_log_at(h_node(h, 2), 4) != NULL;
}

/* 5.4.2 (figure 8): an entry of an older term is not committed by
 * counting replicas, only together with one of the current term. */
START_TEST(leader_commits_only_current_term_by_counting)
{
	struct harness h;
	const uint64_t old[] = { 2 };   /* index 4, term 2 */
	struct raft *r;

	h_init(&h, 3);
	h_preload(&h, 1, 3, old, 1, 2, 0);
	h_preload(&h, 2, 3, NULL, 0, 2, 0);
	h_preload(&h, 3, 3, NULL, 0, 2, 0);
	h.nodes[1].cfg.max_msg_entries = 1;
	for (uint64_t id = 1; id <= 3; id++)
		h_start(&h, id);
	h_ready_all(&h);
	t_elect_hold(&h, 1);
	r = h_raft(&h, 1);
	ck_assert_uint_eq(raft_term(r), 3);
	ck_assert_uint_eq(raft_last_index(r), 5);   /* the no-op */
	/* Node 2 gets index 4 (term 2) but not 5; node 3 gets nothing. */
	h_isolate(&h, 3);
	h.filter = t_drop_append_from_5;
	h.filter_ctx = &h;
	h_deliver_all(&h);
	for (int t = 0; t < 5; t++) {
		h_tick(&h, 1, 1);
		h_deliver_all(&h);
	}
	ck_assert_ptr_nonnull(h_log_at(h_node(&h, 2), 4));
	ck_assert_uint_eq(h_log_at(h_node(&h, 2), 4)->term, 2);
	ck_assert_uint_eq(h_log_last(h_node(&h, 2)), 4);
	/* A majority (1, 2) holds index 4, but it is of term 2. */
	ck_assert_uint_eq(raft_commit_index(r), 3);
	ck_assert_ptr_null(h_applied_at(h_node(&h, 1), 4));
	/* Once the no-op of term 3 is on node 2, both commit. */
	h.filter = NULL;
	h_settle(&h);
	ck_assert_uint_ge(raft_commit_index(r), 5);
	ck_assert_ptr_nonnull(h_applied_at(h_node(&h, 1), 4));
	ck_assert_ptr_nonnull(h_applied_at(h_node(&h, 2), 5));
	h_close(&h);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Fast backtracking (5.3, end). */

struct t_rejects {
	unsigned n;
};

static void t_count_rejects(void *ctx, uint64_t id, const struct raft_ready *rd)
{
	struct t_rejects *c = ctx;

	if (id != 2)
		return;
	for (size_t i = 0; i < rd->n_messages; i++)
		if (rd->messages[i].type == RAFT_MSG_APPEND_RESP &&
		    rd->messages[i].reject)
			c->n++;
}

static void t_backtrack(const uint64_t *lt, size_t ln, uint64_t lterm,
			const uint64_t *ft, size_t fn, uint64_t fterm,
			unsigned max_rejects)
{
	struct harness h;
	struct t_rejects c = { 0 };
	struct raft *l, *f;

	h_init(&h, 3);
	h_preload(&h, 1, 3, lt, ln, lterm, 0);
	h_preload(&h, 2, 3, ft, fn, fterm, 0);
	h_preload(&h, 3, 3, NULL, 0, 1, 0);
	for (uint64_t id = 1; id <= 3; id++)
		h_start(&h, id);
	h_ready_all(&h);
	t_elect_hold(&h, 1);
	h.on_ready = t_count_rejects;
	h.on_ready_ctx = &c;
	h_deliver_all(&h);
	l = h_raft(&h, 1);
	f = h_raft(&h, 2);
	ck_assert_uint_eq(raft_last_index(f), raft_last_index(l));
	for (uint64_t i = 1; i <= raft_last_index(l); i++) {
		uint64_t a, b;

		ck_assert(raft_log_term(l, i, &a));
		ck_assert(raft_log_term(f, i, &b));
		ck_assert_uint_eq(a, b);
	}
	ck_assert_msg(c.n <= max_rejects, "%u rejections", c.n);
	h_settle(&h);
	h_check_safety(&h);
	h_close(&h);
}

START_TEST(leader_skips_conflicting_term_leader_lacks)
{
	uint64_t lt[6] = { 2, 2, 2, 2, 2, 4 };   /* 4..8 term 2, 9 term 4 */
	uint64_t ft[27];

	for (int i = 0; i < 27; i++)
		ft[i] = 3;                          /* 4..30 term 3 */
	/* Entry by entry this would take six rejections. */
	t_backtrack(lt, 6, 4, ft, 27, 3, 2);
}
END_TEST

START_TEST(leader_skips_conflicting_term_leader_has)
{
	uint64_t lt[27], ft[37];

	for (int i = 0; i < 27; i++)
		lt[i] = i < 3 ? 2 : 3;              /* 4..6 t2, 7..30 t3 */
	for (int i = 0; i < 37; i++)
		ft[i] = 2;                          /* 4..40 t2 */
	/* Entry by entry: twenty-five rejections. */
	t_backtrack(lt, 27, 3, ft, 37, 2, 2);
}
END_TEST

START_TEST(leader_jumps_to_end_of_short_follower_log)
{
	uint64_t lt[30];

	for (int i = 0; i < 30; i++)
		lt[i] = 2;
	t_backtrack(lt, 30, 2, NULL, 0, 2, 1);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Probe, replicate, flow control. */

START_TEST(leader_probes_then_pipelines)
{
	struct harness h;

	h_init(&h, 3);
	h_bootstrap(&h, 3);
	t_elect_hold(&h, 1);
	/* Probing: one APPEND at a time, however many proposals. */
	ck_assert_uint_eq(h_count(&h, RAFT_MSG_APPEND, 1, 2), 1);
	h_propose(&h, 1, "a");
	h_propose(&h, 1, "b");
	h_propose(&h, 1, "c");
	ck_assert_uint_eq(h_count(&h, RAFT_MSG_APPEND, 1, 2), 1);
	ck_assert_uint_eq(h_count(&h, RAFT_MSG_APPEND, 1, 3), 1);
	/* The first acknowledgement switches node 2 to replicating. */
	ck_assert(h_deliver_first(&h, RAFT_MSG_APPEND, 1, 2));
	ck_assert(h_deliver_first(&h, RAFT_MSG_APPEND_RESP, 2, 1));
	ck_assert_uint_ge(t_appends_with_entries(&h, 1, 2), 1);
	/* Pipelining: each new proposal goes out at once, several APPENDs
	 * in flight before any acknowledgement. */
	h_propose(&h, 1, "d");
	h_propose(&h, 1, "e");
	h_propose(&h, 1, "f");
	ck_assert_uint_ge(t_appends_with_entries(&h, 1, 2), 4);
	/* Node 3 is still probing. */
	ck_assert_uint_eq(h_count(&h, RAFT_MSG_APPEND, 1, 3), 1);
	h_settle(&h);
	for (uint64_t id = 1; id <= 3; id++)
		ck_assert(h_applied_data(h_node(&h, id), "f"));
	h_close(&h);
}
END_TEST

START_TEST(leader_respects_max_inflight)
{
	struct harness h;
	char buf[16];

	h_init(&h, 3);
	h.nodes[1].cfg.max_inflight = 2;
	h_bootstrap(&h, 3);
	t_elect_hold(&h, 1);
	ck_assert(h_deliver_first(&h, RAFT_MSG_APPEND, 1, 2));
	ck_assert(h_deliver_first(&h, RAFT_MSG_APPEND_RESP, 2, 1));
	for (int i = 0; i < 8; i++) {
		snprintf(buf, sizeof(buf), "p%d", i);
		h_propose(&h, 1, buf);
		ck_assert_uint_le(t_appends_with_entries(&h, 1, 2), 2);
	}
	ck_assert_uint_eq(t_appends_with_entries(&h, 1, 2), 2);
	/* Each acknowledgement opens one slot. */
	for (int round = 0; round < 20; round++) {
		long i = h_find(&h, RAFT_MSG_APPEND, 1, 2);

		if (i < 0)
			break;
		h_deliver_at(&h, (size_t)i);
		h_deliver_types(&h, H_BIT(RAFT_MSG_APPEND_RESP));
		ck_assert_uint_le(t_appends_with_entries(&h, 1, 2), 2);
	}
	ck_assert(h_applied_data(h_node(&h, 1), "p7"));
	ck_assert_uint_eq(raft_last_index(h_raft(&h, 2)),
			  raft_last_index(h_raft(&h, 1)));
	h_close(&h);
}
END_TEST

struct t_msg_limits {
	size_t max_entries;
	size_t max_bytes;
	size_t most_entries;
	size_t multi;
	bool over;
};

static void t_check_limits(void *ctx, uint64_t id, const struct raft_ready *rd)
{
	struct t_msg_limits *c = ctx;

	(void)id;
	for (size_t i = 0; i < rd->n_messages; i++) {
		const struct raft_message *m = &rd->messages[i];
		size_t bytes = 0;

		if (m->type != RAFT_MSG_APPEND)
			continue;
		for (size_t k = 0; k < m->n_entries; k++)
			bytes += m->entries[k].len;
		if (m->n_entries > c->max_entries)
			c->over = true;
		/* Soft: one entry may be alone over the limit. */
		if (m->n_entries > 1 && bytes > c->max_bytes)
			c->over = true;
		if (m->n_entries > c->most_entries)
			c->most_entries = m->n_entries;
		if (m->n_entries > 1)
			c->multi++;
	}
}

START_TEST(leader_respects_max_msg_entries)
{
	struct harness h;
	struct t_msg_limits c = { 3, SIZE_MAX, 0, 0, false };
	char buf[16];

	h_init(&h, 3);
	h.nodes[1].cfg.max_msg_entries = 3;
	h_bootstrap(&h, 3);
	h_elect(&h, 1);
	h.on_ready = t_check_limits;
	h.on_ready_ctx = &c;
	h_isolate(&h, 3);
	for (int i = 0; i < 10; i++) {
		snprintf(buf, sizeof(buf), "p%d", i);
		h_propose(&h, 1, buf);
	}
	h_deliver_all(&h);
	h_heal(&h);
	h_settle(&h);
	h_settle(&h);
	ck_assert(!c.over);
	ck_assert_uint_eq(c.most_entries, 3);
	ck_assert(h_applied_data(h_node(&h, 3), "p9"));
	h_close(&h);
}
END_TEST

START_TEST(leader_respects_max_msg_bytes)
{
	struct harness h;
	struct t_msg_limits c = { SIZE_MAX, 100, 0, 0, false };
	char buf[41];

	h_init(&h, 3);
	h.nodes[1].cfg.max_msg_bytes = 100;
	h_bootstrap(&h, 3);
	h_elect(&h, 1);
	h.on_ready = t_check_limits;
	h.on_ready_ctx = &c;
	h_isolate(&h, 3);
	for (int i = 0; i < 6; i++) {
		memset(buf, 'a' + i, 40);
		buf[40] = '\0';
		h_propose(&h, 1, buf);
	}
	h_deliver_all(&h);
	h_heal(&h);
	h_settle(&h);
	h_settle(&h);
	ck_assert(!c.over);
	ck_assert_uint_eq(c.most_entries, 2);
	ck_assert_uint_ge(c.multi, 1);
	ck_assert(h_applied_data(h_node(&h, 3), buf));
	h_close(&h);
}
END_TEST

START_TEST(unreachable_follower_is_probed_again)
{
	struct harness h;

	t_cluster(&h, 3, 1);
	h_drop(&h, 0, 0, 0);
	/* Node 2 replicates: two proposals, two APPENDs. */
	h_propose(&h, 1, "a");
	h_propose(&h, 1, "b");
	ck_assert_uint_eq(t_appends_with_entries(&h, 1, 2), 2);
	h_drop(&h, 0, 0, 0);
	raft_report_unreachable(h_raft(&h, 1), 2);
	h_propose(&h, 1, "c");
	h_propose(&h, 1, "d");
	h_propose(&h, 1, "e");
	/* Back to probing: at most one APPEND until an answer. */
	ck_assert_uint_le(h_count(&h, RAFT_MSG_APPEND, 1, 2), 1);
	h_settle(&h);
	h_settle(&h);
	ck_assert(h_applied_data(h_node(&h, 2), "a"));
	ck_assert(h_applied_data(h_node(&h, 2), "e"));
	h_close(&h);
}
END_TEST

static bool t_drop_first_x(void *ctx, const struct raft_message *m)
{
	bool *dropped = ctx;

	if (*dropped || m->type != RAFT_MSG_APPEND || m->to != 2)
		return false;
	for (size_t i = 0; i < m->n_entries; i++)
		if (m->entries[i].len == 1 && m->entries[i].data[0] == 'x') {
			*dropped = true;
			return true;
		}
	return false;
}

/* A lost APPEND in the pipeline is noticed and sent again. */
START_TEST(lost_append_is_retransmitted)
{
	struct harness h;
	bool dropped = false;

	t_cluster(&h, 3, 1);
	h.filter = t_drop_first_x;
	h.filter_ctx = &dropped;
	h_commit(&h, 1, "x");
	ck_assert(dropped);
	h_settle(&h);
	h_settle(&h);
	ck_assert(h_applied_data(h_node(&h, 2), "x"));
	h_close(&h);
}
END_TEST

START_TEST(lagging_follower_catches_up_on_heartbeats)
{
	struct harness h;
	char buf[16];

	t_cluster(&h, 3, 1);
	h_isolate(&h, 3);
	for (int i = 0; i < 40; i++) {
		snprintf(buf, sizeof(buf), "p%d", i);
		h_commit(&h, 1, buf);
	}
	h_heal(&h);
	/* No new proposal: heartbeats alone bring it up to date. */
	for (int t = 0; t < 10; t++) {
		h_tick(&h, 1, 1);
		h_deliver_all(&h);
	}
	ck_assert(h_applied_data(h_node(&h, 3), "p39"));
	ck_assert_uint_eq(raft_commit_index(h_raft(&h, 3)),
			  raft_commit_index(h_raft(&h, 1)));
	h_check_safety(&h);
	h_close(&h);
}
END_TEST

static bool t_drop_appends_to_2(void *ctx, const struct raft_message *m)
{
	bool *on = ctx;

	return *on && m->type == RAFT_MSG_APPEND && m->to == 2;
}

/* Flow control must not deadlock: a window filled with lost APPENDs is
 * reopened by the follower's heartbeat answers. */
START_TEST(full_window_of_lost_appends_recovers)
{
	struct harness h;
	bool drop = false;
	char buf[16];

	h_init(&h, 3);
	h.nodes[1].cfg.max_inflight = 2;
	h_bootstrap(&h, 3);
	h_elect(&h, 1);
	h.filter = t_drop_appends_to_2;
	h.filter_ctx = &drop;
	drop = true;
	for (int i = 0; i < 6; i++) {
		snprintf(buf, sizeof(buf), "w%d", i);
		h_commit(&h, 1, buf);
	}
	ck_assert(!h_applied_data(h_node(&h, 2), "w0"));
	drop = false;
	for (int t = 0; t < 10; t++) {
		h_tick(&h, 1, 1);
		h_deliver_all(&h);
	}
	ck_assert(h_applied_data(h_node(&h, 2), "w5"));
	ck_assert_uint_eq(raft_last_index(h_raft(&h, 2)),
			  raft_last_index(h_raft(&h, 1)));
	h_close(&h);
}
END_TEST

/* A leader that steps down before its Ready does not send the entries it
 * had queued. */
START_TEST(deposed_leader_sends_no_queued_entries)
{
	struct harness h;
	struct raft *l;
	struct raft_message m;
	struct raft_ready rd;
	long i;

	h_init(&h, 3);
	h.nodes[1].cfg.max_inflight = 1;
	h_bootstrap(&h, 3);
	h_elect(&h, 1);
	l = h_raft(&h, 1);
	h_drop(&h, 0, 0, 0);
	h_propose(&h, 1, "a");
	h_propose(&h, 1, "b");
	h_propose(&h, 1, "c");
	/* One APPEND in flight to node 2; its answer makes room for the
	 * next, queued inside the core. */
	ck_assert(h_deliver_first(&h, RAFT_MSG_APPEND, 1, 2));
	i = h_find(&h, RAFT_MSG_APPEND_RESP, 2, 1);
	ck_assert_int_ge(i, 0);
	ck_assert_int_eq(raft_step(l, &h.queue[i].m), 0);
	h_remove_at(&h, (size_t)i);
	/* Before its Ready, it learns of a newer term. */
	m = h_msg_make(RAFT_MSG_HEARTBEAT_RESP, 3, 1, raft_term(l) + 1);
	ck_assert_int_eq(raft_step(l, &m), 0);
	ck_assert(!raft_is_leader(l));
	raft_ready(l, &rd);
	for (size_t k = 0; k < rd.n_messages; k++)
		ck_assert_msg(rd.messages[k].type != RAFT_MSG_APPEND ||
				      rd.messages[k].n_entries == 0,
			      "a deposed leader sends entries");
	h_ready_process(&h, 1, &rd);
	h_close(&h);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Applying: once and in order. */

static size_t t_times_applied(const struct h_node *n, const char *s)
{
	size_t c = 0, len = strlen(s);

	for (size_t i = 0; i < n->n_hist; i++)
		if (n->hist[i].len == len && memcmp(n->hist[i].data, s, len) == 0)
			c++;
	return c;
}

START_TEST(committed_entries_applied_once_in_order)
{
	struct harness h;
	char buf[16];
	int next = 0;

	h_init(&h, 5);
	h_bootstrap(&h, 5);
	h_elect(&h, 1);
	for (int round = 0; round < 6; round++) {
		uint64_t l = h_leader(&h);
		uint64_t n;

		ck_assert_uint_ne(l, 0);
		for (int i = 0; i < 3; i++) {
			snprintf(buf, sizeof(buf), "v%d", next++);
			h_commit(&h, l, buf);
		}
		/* An uncommitted proposal that dies with the leader. */
		h_isolate(&h, l);
		snprintf(buf, sizeof(buf), "lost%d", round);
		h_propose(&h, l, buf);
		h_deliver_all(&h);
		h_crash(&h, l, round % 2 == 0);
		n = h_run_until_leader(&h, raft_term(h_raft(&h, l % 5 + 1)),
				       400);
		ck_assert_uint_ne(n, 0);
		h_heal(&h);
		h_start(&h, l);
		h_settle(&h);
	}
	h_settle(&h);
	h_settle(&h);
	for (uint64_t id = 1; id <= 5; id++) {
		const struct h_node *nd = h_node(&h, id);

		for (size_t i = 1; i < nd->n_hist; i++)
			ck_assert_uint_eq(nd->hist[i].index,
					  nd->hist[i - 1].index + 1);
		for (int v = 0; v < next; v++) {
			snprintf(buf, sizeof(buf), "v%d", v);
			ck_assert_uint_eq(t_times_applied(nd, buf), 1);
		}
		ck_assert_uint_eq(nd->applied,
				  raft_commit_index(h_raft(&h, h_leader(&h))));
	}
	h_check_safety(&h);
	h_close(&h);
}
END_TEST

/* The contract: an APPEND is acknowledged in the Ready that persists its
 * entries, never earlier; a leader's APPEND carries only entries of this
 * or an earlier Ready. */
START_TEST(append_acknowledged_in_ready_that_persists_it)
{
	struct harness h;
	struct raft *f;
	struct raft_ready rd;
	long i;
	uint64_t idx;
	bool acked = false;

	t_cluster(&h, 3, 1);
	h_drop(&h, 0, 0, 0);
	f = h_raft(&h, 2);
	/* The leader's Ready: entry and APPENDs together. */
	ck_assert_int_eq(raft_propose(h_raft(&h, 1), "z", 1, &idx, NULL), 0);
	raft_ready(h_raft(&h, 1), &rd);
	ck_assert_uint_eq(rd.n_entries, 1);
	ck_assert_uint_eq(rd.entries[0].index, idx);
	ck_assert_uint_ge(rd.n_messages, 2);
	h_ready_process(&h, 1, &rd);
	h_ready_all(&h);
	i = h_find(&h, RAFT_MSG_APPEND, 1, 2);
	ck_assert_int_ge(i, 0);
	ck_assert_uint_eq(h.queue[i].m.entries[0].index, idx);
	ck_assert_int_eq(raft_step(f, &h.queue[i].m), 0);
	h_remove_at(&h, (size_t)i);
	raft_ready(f, &rd);
	ck_assert_uint_eq(rd.n_entries, 1);
	ck_assert_uint_eq(rd.entries[0].index, idx);
	for (size_t k = 0; k < rd.n_messages; k++)
		if (rd.messages[k].type == RAFT_MSG_APPEND_RESP) {
			ck_assert(!rd.messages[k].reject);
			ck_assert_uint_eq(rd.messages[k].index, idx);
			acked = true;
		}
	ck_assert(acked);
	h_ready_process(&h, 2, &rd);
	ck_assert(!raft_has_ready(f));
	h_close(&h);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Batching. */

START_TEST(proposals_before_ready_come_out_in_one_ready)
{
	struct harness h;
	struct raft *r;
	struct raft_ready rd;
	uint64_t first;
	size_t appends = 0;
	char buf[16];

	t_cluster(&h, 3, 1);
	h_drop(&h, 0, 0, 0);
	r = h_raft(&h, 1);
	first = raft_last_index(r) + 1;
	for (int i = 0; i < 500; i++) {
		uint64_t idx;

		snprintf(buf, sizeof(buf), "b%d", i);
		ck_assert_int_eq(raft_propose(r, buf, strlen(buf), &idx, NULL),
				 0);
		ck_assert_uint_eq(idx, first + (uint64_t)i);
	}
	ck_assert(raft_has_ready(r));
	raft_ready(r, &rd);
	ck_assert_uint_eq(rd.n_entries, 500);
	for (size_t i = 0; i < 500; i++) {
		snprintf(buf, sizeof(buf), "b%zu", i);
		ck_assert_uint_eq(rd.entries[i].index, first + i);
		ck_assert_uint_eq(rd.entries[i].len, strlen(buf));
		ck_assert_mem_eq(rd.entries[i].data, buf, strlen(buf));
	}
	/* Few APPENDs (64 entries each by default), not 500. */
	for (size_t i = 0; i < rd.n_messages; i++)
		if (rd.messages[i].type == RAFT_MSG_APPEND &&
		    rd.messages[i].to == 2)
			appends++;
	ck_assert_uint_ge(appends, 1);
	ck_assert_uint_le(appends, 8);
	h_ready_process(&h, 1, &rd);
	h_settle(&h);
	for (uint64_t id = 1; id <= 3; id++) {
		ck_assert(h_applied_data(h_node(&h, id), "b0"));
		ck_assert(h_applied_data(h_node(&h, id), "b499"));
		ck_assert_uint_eq(raft_commit_index(h_raft(&h, id)),
				  first + 499);
	}
	h_check_safety(&h);
	h_close(&h);
}
END_TEST

/* The leader's own log counts towards a majority only once persisted, that
 * is after raft_advance(). */
START_TEST(leader_own_entry_counts_only_after_advance)
{
	struct harness h;
	struct raft *r;
	struct raft_ready rd;
	uint64_t idx, commit;

	h_init(&h, 1);
	h_bootstrap(&h, 1);
	h_elect(&h, 1);
	r = h_raft(&h, 1);
	commit = raft_commit_index(r);
	ck_assert_int_eq(raft_propose(r, "solo", 4, &idx, NULL), 0);
	ck_assert_uint_eq(raft_commit_index(r), commit);
	raft_ready(r, &rd);
	ck_assert_uint_eq(rd.n_entries, 1);
	ck_assert_uint_eq(rd.n_committed, 0);
	ck_assert_uint_lt(rd.hard_state.commit, idx);
	h_ready_process(&h, 1, &rd);
	ck_assert_uint_eq(raft_commit_index(r), idx);
	ck_assert(raft_has_ready(r));
	raft_ready(r, &rd);
	ck_assert_uint_eq(rd.n_entries, 0);
	ck_assert_uint_eq(rd.n_committed, 1);
	ck_assert_uint_eq(rd.committed[0].index, idx);
	ck_assert_uint_eq(rd.hard_state.commit, idx);
	h_ready_process(&h, 1, &rd);
	ck_assert(h_applied_data(h_node(&h, 1), "solo"));
	h_close(&h);
}
END_TEST

struct t_count_appends {
	size_t appends;
};

static void t_count_leader_appends(void *ctx, uint64_t id,
				   const struct raft_ready *rd)
{
	struct t_count_appends *c = ctx;

	if (id != 1)
		return;
	for (size_t i = 0; i < rd->n_messages; i++)
		if (rd->messages[i].type == RAFT_MSG_APPEND)
			c->appends++;
}

START_TEST(batched_proposals_travel_in_few_messages)
{
	struct harness h;
	struct t_count_appends c = { 0 };
	char buf[16];

	t_cluster(&h, 3, 1);
	h.on_ready = t_count_leader_appends;
	h.on_ready_ctx = &c;
	for (int batch = 0; batch < 4; batch++) {
		for (int i = 0; i < 50; i++) {
			snprintf(buf, sizeof(buf), "q%d", batch * 50 + i);
			ck_assert_int_eq(raft_propose(h_raft(&h, 1), buf,
						      strlen(buf), NULL, NULL),
					 0);
		}
		h_deliver_all(&h);
	}
	h_settle(&h);
	ck_assert(h_applied_data(h_node(&h, 3), "q199"));
	/* 200 entries to 2 followers: far fewer than 400 APPENDs. */
	ck_assert_uint_le(c.appends, 40);
	h_close(&h);
}
END_TEST

Suite *raft_replication_suite(void)
{
	Suite *s = suite_create("raft_replication");

	T_ADD(s, leader_replicates_entries_to_every_follower);
	T_ADD(s, follower_rejects_append_with_missing_prev);
	T_ADD(s, follower_rejects_append_with_prev_term_mismatch);
	T_ADD(s, follower_truncates_conflicting_suffix);
	T_ADD(s, follower_keeps_entries_after_stale_append);
	T_ADD(s, follower_commit_is_min_of_leader_commit_and_last_new_entry);
	T_ADD(s, follower_learns_commit_from_heartbeat);
	T_ADD(s, follower_learns_commit_from_append);
	T_ADD(s, leader_commits_when_majority_stores_entry);
	T_ADD(s, leader_commits_only_current_term_by_counting);
	T_ADD(s, leader_skips_conflicting_term_leader_lacks);
	T_ADD(s, leader_skips_conflicting_term_leader_has);
	T_ADD(s, leader_jumps_to_end_of_short_follower_log);
	T_ADD(s, leader_probes_then_pipelines);
	T_ADD(s, leader_respects_max_inflight);
	T_ADD(s, leader_respects_max_msg_entries);
	T_ADD(s, leader_respects_max_msg_bytes);
	T_ADD(s, unreachable_follower_is_probed_again);
	T_ADD(s, lost_append_is_retransmitted);
	T_ADD(s, lagging_follower_catches_up_on_heartbeats);
	T_ADD(s, full_window_of_lost_appends_recovers);
	T_ADD(s, deposed_leader_sends_no_queued_entries);
	T_ADD(s, committed_entries_applied_once_in_order);
	T_ADD(s, append_acknowledged_in_ready_that_persists_it);
	return s;
}

Suite *raft_batching_suite(void)
{
	Suite *s = suite_create("raft_batching");

	T_ADD(s, proposals_before_ready_come_out_in_one_ready);
	T_ADD(s, leader_own_entry_counts_only_after_advance);
	T_ADD(s, batched_proposals_travel_in_few_messages);
	return s;
}
