/*
 * tests/unit/test_raft_async.c: asynchronous leader writes
 * (raft_config.async_leader_persist, rd.persist_async, raft_persisted();
 * thesis 10.2.1). The harness writes every Ready's entries at once, but
 * tells a leader's core nothing until the test calls raft_persisted():
 * the core must count itself towards a quorum, and hand entries out to
 * apply, only for what it was told is durable.
 */
#include <string.h>

#include "tests/unit/test_raft.h"

/* ---------------------------------------------------------------------- */
/* Helpers. */

/* n nodes in async mode (or not), bootstrapped; no leader yet. */
static void t_init(struct harness *h, size_t n, bool async)
{
	h_init(h, n);
	for (uint64_t id = 1; id <= n; id++)
		h->nodes[id].cfg.async_leader_persist = async;
	h_bootstrap(h, n);
}

/* The background write of everything node id handed out is durable (the
 * harness wrote it already): raft_persisted() for its last entry. */
static void t_report(struct harness *h, uint64_t id)
{
	struct raft *r = h_raft(h, id);
	uint64_t last = raft_last_index(r), term = 0;

	ck_assert(raft_log_term(r, last, &term));
	ck_assert_int_eq(raft_persisted(r, last, term), RAFT_OK);
	h_ready_all(h);
}

/* Takes node id's Ready by hand into *rd (raft_has_ready() must be true);
 * the caller inspects it and then calls h_ready_process(). */
static void t_take(struct harness *h, uint64_t id, struct raft_ready *rd)
{
	ck_assert(raft_has_ready(h_raft(h, id)));
	memset(rd, 0xa5, sizeof(*rd));
	raft_ready(h_raft(h, id), rd);
}

/* The last index a Ready hands out to apply, 0 if none. */
static uint64_t t_committed_last(const struct raft_ready *rd)
{
	return rd->n_committed > 0 ? rd->committed[rd->n_committed - 1].index
				   : 0;
}

/* What the Readies the harness processed carried. */
struct t_seen {
	unsigned leader_async;
	unsigned leader_sync;
	unsigned other_async;
	uint64_t watch;             /* a node id */
	uint64_t watch_committed;   /* the highest index handed to it to
				     * apply */
};

static void t_count(void *ctx, uint64_t id, const struct raft_ready *rd)
{
	struct t_seen *seen = ctx;

	if (rd->role != RAFT_LEADER)
		seen->other_async += rd->persist_async;
	else if (rd->persist_async)
		seen->leader_async++;
	else
		seen->leader_sync++;
	if (id == seen->watch && t_committed_last(rd) > seen->watch_committed)
		seen->watch_committed = t_committed_last(rd);
}

static void t_watch(struct harness *h, struct t_seen *seen, uint64_t id)
{
	memset(seen, 0, sizeof(*seen));
	seen->watch = id;
	h->on_ready = t_count;
	h->on_ready_ctx = seen;
}

/* Leadership moves from node from to node to (thesis 3.10: the followers'
 * leases do not stand in the way). */
static void t_transfer(struct harness *h, uint64_t from, uint64_t to)
{
	ck_assert_int_eq(raft_transfer_leadership(h_raft(h, from), to),
			 RAFT_OK);
	h_ready_all(h);
	h_deliver_all(h);
	ck_assert(raft_is_leader(h_raft(h, to)));
	h_settle(h);
}

/* A single node in async mode campaigns and leads at once; its first
 * Ready carries its new term and vote, so it is synchronous and its
 * raft_advance() commits the no-op. */
static void t_single_leader(struct harness *h)
{
	struct raft_ready rd;
	struct raft *r;

	t_init(h, 1, true);
	r = h_raft(h, 1);
	for (unsigned i = 0; i < 100 && !raft_is_leader(r); i++)
		raft_tick(r);
	ck_assert(raft_is_leader(r));
	t_take(h, 1, &rd);
	ck_assert_int_eq(rd.role, RAFT_LEADER);
	ck_assert(!rd.persist_async);
	h_ready_process(h, 1, &rd);
	/* The Ready wrote the no-op: a synchronous advance counts it. */
	ck_assert_uint_eq(raft_commit_index(r), raft_last_index(r));
	h_ready_all(h);
	ck_assert_uint_eq(raft_applied_index(r), raft_last_index(r));
}

/* ---------------------------------------------------------------------- */
/* Commitment and apply. */

/* Thesis 10.2.1: the followers' acknowledgements are a quorum without the
 * leader's own write; but the leader applies only what it persisted. */
START_TEST(async_leader_commits_on_followers_applies_only_persisted)
{
	struct harness h;
	struct raft_ready rd;
	struct t_seen seen;
	struct raft *r;
	uint64_t i;

	t_init(&h, 3, true);
	h_elect(&h, 1);
	r = h_raft(&h, 1);
	t_report(&h, 1);
	ck_assert_uint_eq(raft_applied_index(r), raft_last_index(r));

	t_watch(&h, &seen, 1);
	i = raft_last_index(r) + 1;
	ck_assert_int_eq(raft_propose(r, "x", 1, NULL, NULL), RAFT_OK);
	t_take(&h, 1, &rd);
	ck_assert(rd.persist_async);
	ck_assert_uint_eq(rd.n_entries, 1);
	ck_assert_uint_eq(rd.entries[0].index, i);
	h_ready_process(&h, 1, &rd);
	h_deliver_all(&h);
	h_settle(&h);
	/* Both followers acknowledged: committed, though never reported;
	 * and every node but the leader applied it. */
	ck_assert_uint_eq(raft_commit_index(r), i);
	ck_assert(h_applied_data(h_node(&h, 2), "x"));
	ck_assert(h_applied_data(h_node(&h, 3), "x"));
	ck_assert_uint_lt(seen.watch_committed, i);
	ck_assert_uint_lt(raft_applied_index(r), i);
	ck_assert(!h_applied_data(h_node(&h, 1), "x"));
	/* Nothing to do until the write is durable: no busy loop. */
	ck_assert(!raft_has_ready(r));

	ck_assert_int_eq(raft_persisted(r, i, raft_term(r)), RAFT_OK);
	ck_assert(raft_has_ready(r));
	t_take(&h, 1, &rd);
	ck_assert_uint_eq(t_committed_last(&rd), i);
	h_ready_process(&h, 1, &rd);
	ck_assert_uint_eq(raft_applied_index(r), i);
	ck_assert(h_applied_data(h_node(&h, 1), "x"));
	ck_assert(!raft_has_ready(r));
	h_check_safety(&h);
	h_close(&h);
}
END_TEST

/* A single node is its own quorum: it commits what it persisted. */
START_TEST(async_single_node_commits_only_after_persisted)
{
	struct harness h;
	struct raft_ready rd;
	struct raft *r;
	uint64_t c, i;

	t_single_leader(&h);
	r = h_raft(&h, 1);
	c = raft_commit_index(r);
	i = h_propose(&h, 1, "y");
	ck_assert_uint_eq(i, c + 1);
	ck_assert_uint_eq(raft_commit_index(r), c);
	ck_assert(!raft_has_ready(r));

	ck_assert_int_eq(raft_persisted(r, i, raft_term(r)), RAFT_OK);
	ck_assert_uint_eq(raft_commit_index(r), i);
	t_take(&h, 1, &rd);
	ck_assert(rd.persist_async);
	ck_assert_uint_eq(rd.n_entries, 0);
	ck_assert_uint_eq(t_committed_last(&rd), i);
	ck_assert(rd.hard_state_changed);
	ck_assert_uint_eq(rd.hard_state.commit, i);
	h_ready_process(&h, 1, &rd);
	ck_assert(!raft_has_ready(r));
	ck_assert(h_applied_data(h_node(&h, 1), "y"));
	h_close(&h);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Reports the log has moved past. */

/* An entry that was never handed out cannot be durable; and between
 * raft_ready() and raft_advance() nothing changes the core. */
START_TEST(async_persisted_ignores_index_not_handed_out)
{
	struct harness h;
	struct raft_ready rd;
	struct raft *r;
	uint64_t c, i = 0, term = 0;

	t_single_leader(&h);
	r = h_raft(&h, 1);
	c = raft_commit_index(r);
	ck_assert_int_eq(raft_propose(r, "z", 1, &i, &term), RAFT_OK);
	/* No Ready taken: the entry is only in memory. */
	ck_assert_int_eq(raft_persisted(r, i, term), RAFT_OK);
	ck_assert_uint_eq(raft_commit_index(r), c);
	t_take(&h, 1, &rd);
	ck_assert(rd.persist_async);
	ck_assert_int_eq(raft_persisted(r, i, term), RAFT_ESTATE);
	h_ready_process(&h, 1, &rd);
	ck_assert_uint_eq(raft_commit_index(r), c);
	ck_assert_int_eq(raft_persisted(r, i, term), RAFT_OK);
	ck_assert_uint_eq(raft_commit_index(r), i);
	h_close(&h);
}
END_TEST

/* A report at or below what is known durable changes nothing: it must not
 * take back what a later report said. */
START_TEST(async_persisted_ignores_index_at_or_below_stable)
{
	struct harness h;
	struct raft_ready rd;
	struct raft *r;
	uint64_t i, term;

	t_init(&h, 3, true);
	h_elect(&h, 1);
	r = h_raft(&h, 1);
	t_report(&h, 1);
	term = raft_term(r);
	i = raft_last_index(r) + 1;
	ck_assert_int_eq(raft_propose(r, "a", 1, NULL, NULL), RAFT_OK);
	ck_assert_int_eq(raft_propose(r, "b", 1, NULL, NULL), RAFT_OK);
	ck_assert_int_eq(raft_propose(r, "c", 1, NULL, NULL), RAFT_OK);
	h_ready_all(&h);
	h_deliver_all(&h);
	ck_assert_uint_eq(raft_commit_index(r), i + 2);
	h_ready_all(&h);
	ck_assert_uint_lt(raft_applied_index(r), i);

	/* Durable up to i+2, then an older report for i. */
	ck_assert_int_eq(raft_persisted(r, i + 2, term), RAFT_OK);
	ck_assert_int_eq(raft_persisted(r, i, term), RAFT_OK);
	ck_assert_int_eq(raft_persisted(r, i + 1, term), RAFT_OK);
	t_take(&h, 1, &rd);
	ck_assert_uint_eq(t_committed_last(&rd), i + 2);
	h_ready_process(&h, 1, &rd);
	ck_assert_uint_eq(raft_applied_index(r), i + 2);
	h_close(&h);
}
END_TEST

/* The leader's write of term T is still in flight when it loses its
 * leadership, a new leader replaces those entries, and it leads again:
 * the old write's late report names entries of term T, which are gone. */
START_TEST(async_persisted_ignores_report_of_replaced_entries)
{
	struct harness h;
	struct raft *r;
	uint64_t i, old_term, last, l2, c;

	t_init(&h, 3, true);
	h_elect(&h, 1);
	r = h_raft(&h, 1);
	t_report(&h, 1);
	old_term = raft_term(r);
	i = raft_last_index(r) + 1;

	/* Alone, it writes 5 entries in the background. */
	h_isolate(&h, 1);
	for (int k = 0; k < 5; k++)
		ck_assert_int_eq(raft_propose(r, "old", 3, NULL, NULL),
				 RAFT_OK);
	h_ready_all(&h);
	h_deliver_all(&h);
	ck_assert_uint_eq(raft_last_index(r), i + 4);

	/* Another node leads; node 1 learns it and takes its no-op at i. */
	l2 = h_run_until_leader(&h, old_term, 200);
	ck_assert_uint_ne(l2, 0);
	ck_assert_uint_ne(l2, 1);
	ck_assert_uint_eq(raft_last_index(h_raft(&h, l2)), i);
	h_heal(&h);
	h_settle(&h);
	ck_assert(!raft_is_leader(r));
	ck_assert_uint_eq(raft_last_index(r), i);
	c = raft_commit_index(r);
	ck_assert_int_eq(raft_persisted(r, i + 4, old_term), RAFT_OK);
	ck_assert_uint_eq(raft_commit_index(r), c);
	ck_assert(!raft_has_ready(r));

	/* Node 1 leads again: its entries after i are of a new term. */
	t_transfer(&h, l2, 1);
	h_isolate(&h, 1);
	for (int k = 0; k < 3; k++)
		ck_assert_int_eq(raft_propose(r, "new", 3, NULL, NULL),
				 RAFT_OK);
	h_ready_all(&h);
	last = raft_last_index(r);
	ck_assert_uint_ge(last, i + 4);
	ck_assert_uint_gt(raft_term(r), old_term);

	/* The old write's late report: ignored. */
	ck_assert_int_eq(raft_persisted(r, i + 4, old_term), RAFT_OK);
	h_heal(&h);
	h_settle(&h);
	ck_assert_uint_eq(raft_commit_index(r), last);
	ck_assert_uint_le(raft_applied_index(r), i);

	/* The new one's: applied. */
	t_report(&h, 1);
	ck_assert_uint_eq(raft_applied_index(r), last);
	h_settle(&h);
	h_check_safety(&h);
	h_close(&h);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Which Readies carry persist_async. */

/* Only a leader whose term and vote are on disk: followers and candidates
 * never; and with the mode off, no Ready at all. */
START_TEST(async_flag_only_for_leaders_in_async_mode)
{
	for (int async = 0; async <= 1; async++) {
		struct harness h;
		struct t_seen seen;

		t_init(&h, 3, async != 0);
		t_watch(&h, &seen, 0);
		h_elect(&h, 1);
		h_propose(&h, 1, "p");
		h_settle(&h);
		if (async)
			t_report(&h, 1);
		t_transfer(&h, 1, 2);
		h_propose(&h, 2, "q");
		h_settle(&h);
		if (async)
			t_report(&h, 2);
		h_settle(&h);
		ck_assert_uint_eq(seen.other_async, 0);
		if (async) {
			ck_assert_uint_gt(seen.leader_async, 0);
		} else {
			ck_assert_uint_eq(seen.leader_async, 0);
			ck_assert_uint_gt(seen.leader_sync, 0);
		}
		for (uint64_t id = 1; id <= 3; id++) {
			ck_assert(h_applied_data(h_node(&h, id), "p"));
			ck_assert(h_applied_data(h_node(&h, id), "q"));
		}
		h_check_safety(&h);
		h_close(&h);
	}
}
END_TEST

/* The single node's campaign Ready carries its new term and vote: it is
 * synchronous even though the node leads when it is taken. */
START_TEST(async_flag_off_until_term_and_vote_are_persisted)
{
	struct harness h;
	struct raft_ready rd;
	struct raft *r;

	/* t_single_leader() asserts the campaign Ready is synchronous. */
	t_single_leader(&h);
	r = h_raft(&h, 1);
	ck_assert_int_eq(raft_propose(r, "v", 1, NULL, NULL), RAFT_OK);
	t_take(&h, 1, &rd);
	ck_assert(rd.persist_async);
	h_ready_process(&h, 1, &rd);
	h_close(&h);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Restart. */

/* A leader applied entries whose commit index was in a background write
 * that a crash lost: it restarts, with the applied index as its commit. */
START_TEST(async_restart_with_applied_above_stored_commit)
{
	struct harness h;
	struct h_node *n;
	struct raft *r;
	uint64_t c, i;

	t_single_leader(&h);
	n = h_node(&h, 1);
	c = n->hs.commit;
	i = h_propose(&h, 1, "s");
	t_report(&h, 1);
	ck_assert_uint_eq(n->applied, i);
	ck_assert_uint_eq(n->hs.commit, i);
	h_crash(&h, 1, false);
	/* The hard state of the last background write did not make it. */
	n->hs.commit = c;
	h_start(&h, 1);
	r = h_raft(&h, 1);
	ck_assert_uint_eq(raft_commit_index(r), i);
	ck_assert_uint_eq(raft_applied_index(r), i);
	h_ready_all(&h);
	ck_assert_uint_eq(n->hs.commit, i);
	h_close(&h);
}
END_TEST

/* Not in synchronous mode, where it means a store that lies. */
START_TEST(sync_restart_refuses_applied_above_stored_commit)
{
	struct harness h;
	struct raft_restore rs;
	struct h_node *n;
	struct raft *r = NULL;

	t_init(&h, 1, false);
	h_tick(&h, 1, 100);
	ck_assert(raft_is_leader(h_raft(&h, 1)));
	h_commit(&h, 1, "s");
	h_crash(&h, 1, false);
	n = h_node(&h, 1);
	n->hs.commit--;
	h_restore_fill(&h, 1, &rs);
	ck_assert_uint_gt(rs.applied, rs.hard_state.commit);
	ck_assert_int_eq(raft_new(&n->cfg, &rs, &r), RAFT_EINVAL);
	ck_assert_ptr_null(r);
	n->cfg.async_leader_persist = true;
	ck_assert_int_eq(raft_new(&n->cfg, &rs, &r), RAFT_OK);
	raft_free(r);
	h_close(&h);
}
END_TEST

Suite *raft_async_suite(void)
{
	Suite *s = suite_create("raft_async");

	T_ADD(s, async_leader_commits_on_followers_applies_only_persisted);
	T_ADD(s, async_single_node_commits_only_after_persisted);
	T_ADD(s, async_persisted_ignores_index_not_handed_out);
	T_ADD(s, async_persisted_ignores_index_at_or_below_stable);
	T_ADD(s, async_persisted_ignores_report_of_replaced_entries);
	T_ADD(s, async_flag_only_for_leaders_in_async_mode);
	T_ADD(s, async_flag_off_until_term_and_vote_are_persisted);
	T_ADD(s, async_restart_with_applied_above_stored_commit);
	T_ADD(s, sync_restart_refuses_applied_above_stored_commit);
	return s;
}
