/*
 * tests/unit/test_raft_restart.c: restarting from persisted state
 * (raft_new with a raft_restore), and what a crash loses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/test_raft.h"

static void t_cluster(struct harness *h, size_t n, uint64_t leader)
{
	h_init(h, n);
	h_bootstrap(h, n);
	h_elect(h, leader);
}

START_TEST(restart_restores_term_vote_commit)
{
	struct harness h;
	struct raft *r;
	struct raft_hard_state hs;
	uint64_t last;

	t_cluster(&h, 3, 2);
	h_commit(&h, 2, "a");
	h_commit(&h, 2, "b");
	h_settle(&h);
	hs = h_node(&h, 1)->hs;
	last = raft_last_index(h_raft(&h, 1));
	ck_assert_uint_eq(hs.vote, 2);
	h_crash(&h, 1, false);
	h_start(&h, 1);
	r = h_raft(&h, 1);
	ck_assert_uint_eq(raft_term(r), hs.term);
	ck_assert_uint_eq(raft_vote(r), hs.vote);
	ck_assert_uint_eq(raft_commit_index(r), hs.commit);
	ck_assert_uint_eq(raft_last_index(r), last);
	ck_assert_uint_eq(raft_applied_index(r), h_node(&h, 1)->applied);
	ck_assert_int_eq(raft_role(r), RAFT_FOLLOWER);
	ck_assert_uint_eq(raft_leader(r), 0);
	/* Nothing to apply again: the state machine was kept. */
	ck_assert(!raft_has_ready(r));
	h_settle(&h);
	ck_assert_uint_eq(raft_leader(r), 2);
	h_close(&h);
}
END_TEST

START_TEST(restart_redelivers_committed_entries_above_applied)
{
	struct harness h;
	struct raft_restore rs;
	struct raft_ready rd;
	struct raft *r;
	uint64_t hash, commit;

	t_cluster(&h, 3, 1);
	for (int i = 0; i < 5; i++)
		h_commit(&h, 1, "x");
	h_settle(&h);
	hash = h_node(&h, 2)->sm_hash;
	commit = h_node(&h, 2)->hs.commit;
	/* Applied index from the restore: only what is above comes out. */
	h_crash(&h, 2, false);
	h_restore_fill(&h, 2, &rs);
	rs.applied = 3;
	ck_assert_int_eq(raft_new(&h.nodes[2].cfg, &rs, &r), 0);
	ck_assert_uint_eq(raft_applied_index(r), 3);
	ck_assert(raft_has_ready(r));
	raft_ready(r, &rd);
	ck_assert_uint_eq(rd.n_entries, 0);
	ck_assert(!rd.hard_state_changed);
	ck_assert_uint_eq(rd.n_committed, commit - 3);
	for (size_t i = 0; i < rd.n_committed; i++)
		ck_assert_uint_eq(rd.committed[i].index, 4 + i);
	raft_advance(r, &rd);
	ck_assert_uint_eq(raft_applied_index(r), commit);
	ck_assert(!raft_has_ready(r));
	raft_free(r);
	/* The state machine lost: everything comes out again, once. */
	h_crash(&h, 2, true);
	ck_assert_uint_eq(h_node(&h, 2)->applied, 0);
	h_start(&h, 2);
	h_ready_all(&h);
	ck_assert_uint_eq(h_node(&h, 2)->applied, commit);
	ck_assert_uint_eq(h_node(&h, 2)->sm_hash, hash);
	ck_assert(!raft_has_ready(h_raft(&h, 2)));
	h_close(&h);
}
END_TEST

START_TEST(restart_from_snapshot_and_log)
{
	struct harness h;
	struct raft *r;
	uint64_t si, last, hash;

	t_cluster(&h, 3, 1);
	for (int i = 0; i < 6; i++)
		h_commit(&h, 1, "y");
	h_settle(&h);
	si = h_node(&h, 2)->applied - 2;
	ck_assert_int_eq(h_compact(&h, 2, si), 0);
	last = raft_last_index(h_raft(&h, 2));
	hash = h_node(&h, 2)->sm_hash;
	h_crash(&h, 2, true);
	h_start(&h, 2);
	r = h_raft(&h, 2);
	ck_assert_uint_eq(raft_first_index(r), si + 1);
	ck_assert_uint_eq(raft_last_index(r), last);
	ck_assert_uint_eq(raft_snapshot(r)->index, si);
	ck_assert_uint_eq(raft_applied_index(r), si);
	ck_assert_uint_eq(raft_conf(r)->n_voters, 3);
	h_ready_all(&h);
	ck_assert_uint_eq(h_node(&h, 2)->sm_hash, hash);
	h_commit(&h, 1, "z");
	h_settle(&h);
	ck_assert(h_applied_data(h_node(&h, 2), "z"));
	h_close(&h);
}
END_TEST

/* Restores raft_new must refuse. */
START_TEST(restart_rejects_bad_restore)
{
	struct harness h;
	struct raft_restore good, rs;
	struct raft_entry *ents;
	struct raft_snapshot_meta snap;
	struct raft *r;
	size_t n;

	t_cluster(&h, 3, 1);
	h_commit(&h, 1, "a");
	h_commit(&h, 1, "b");
	h_settle(&h);
	h_crash(&h, 2, false);
	h_restore_fill(&h, 2, &good);
	n = good.n_entries;
	ck_assert_uint_ge(n, 5);
	ents = malloc(n * sizeof(*ents));
	ck_assert_ptr_nonnull(ents);

	/* The good one works. */
	ck_assert_int_eq(raft_new(&h.nodes[2].cfg, &good, &r), 0);
	raft_free(r);

#define T_BAD(setup)                                                         \
	do {                                                                 \
		rs = good;                                                   \
		memcpy(ents, good.entries, n * sizeof(*ents));               \
		rs.entries = ents;                                           \
		setup;                                                       \
		r = (struct raft *)&rs;                                      \
		ck_assert_int_eq(raft_new(&h.nodes[2].cfg, &rs, &r),         \
				 RAFT_EINVAL);                               \
		ck_assert_ptr_null(r);                                       \
	} while (0)

	T_BAD(rs.hard_state.commit = n + 1);
	T_BAD(ents[2].index = 9);
	T_BAD(ents[0].index = 2);
	T_BAD(ents[n - 1].term = rs.hard_state.term + 1);
	T_BAD(ents[n - 2].term = 0);
	T_BAD(rs.applied = rs.hard_state.commit + 1);
	T_BAD(rs.entries = NULL);
	T_BAD((ents[n - 1].len = 4, ents[n - 1].data = NULL));
	/* A snapshot that does not line up with the entries. */
	snap.index = 2;
	snap.term = 1;
	memset(&snap.conf, 0, sizeof(snap.conf));
	snap.conf.n_voters = 1;
	snap.conf.voters[0] = 1;
	T_BAD(rs.snapshot = &snap);
	T_BAD((rs.snapshot = &snap, rs.entries = ents + 2,
	       rs.n_entries = n - 2, rs.applied = 1));
	/* Broken snapshot metadata. */
	T_BAD((rs.snapshot = &snap, rs.entries = ents + 2,
	       rs.n_entries = n - 2, snap.term = 0));
	snap.term = 1;
	T_BAD((rs.snapshot = &snap, rs.entries = ents + 2,
	       rs.n_entries = n - 2, snap.conf.voters[0] = 0));
	snap.conf.voters[0] = 1;
	T_BAD((rs.snapshot = &snap, rs.entries = ents + 2,
	       rs.n_entries = n - 2, snap.conf.n_voters = RAFT_NODES_MAX + 1));
	snap.conf.n_voters = 1;
	T_BAD((rs.snapshot = &snap, rs.entries = ents + 2,
	       rs.n_entries = n - 2, snap.conf.n_voters = 2,
	       snap.conf.voters[1] = 1));
#undef T_BAD
	/* The matching snapshot + suffix is accepted. */
	snap.conf.n_voters = 3;
	for (uint32_t i = 0; i < 3; i++)
		snap.conf.voters[i] = i + 1;
	rs = good;
	rs.snapshot = &snap;
	rs.entries = good.entries + 2;
	rs.n_entries = n - 2;
	ck_assert_int_eq(raft_new(&h.nodes[2].cfg, &rs, &r), 0);
	ck_assert_uint_eq(raft_first_index(r), 3);
	ck_assert_uint_eq(raft_last_index(r), n);
	raft_free(r);
	free(ents);
	h_close(&h);
}
END_TEST

START_TEST(restarted_leader_returns_as_follower)
{
	struct harness h;
	uint64_t term, l;

	t_cluster(&h, 3, 1);
	h_commit(&h, 1, "a");
	term = raft_term(h_raft(&h, 1));
	h_crash(&h, 1, false);
	h_start(&h, 1);
	ck_assert_int_eq(raft_role(h_raft(&h, 1)), RAFT_FOLLOWER);
	ck_assert_uint_eq(raft_term(h_raft(&h, 1)), term);
	l = h_run_until_leader(&h, term, 300);
	ck_assert_uint_ne(l, 0);
	h_commit(&h, l, "b");
	h_settle(&h);
	for (uint64_t id = 1; id <= 3; id++)
		ck_assert(h_applied_data(h_node(&h, id), "b"));
	h_check_safety(&h);
	h_close(&h);
}
END_TEST

/* What was not persisted is gone after a crash, and that is safe: an
 * entry that was never in a Ready was never acknowledged. */
START_TEST(crash_loses_only_unpersisted_state)
{
	struct harness h;
	struct raft *l;
	uint64_t idx, last;

	t_cluster(&h, 3, 1);
	h_commit(&h, 1, "kept");
	l = h_raft(&h, 1);
	last = raft_last_index(l);
	ck_assert_int_eq(raft_propose(l, "lost", 4, &idx, NULL), 0);
	h_crash(&h, 1, false);
	h_start(&h, 1);
	ck_assert_uint_eq(raft_last_index(h_raft(&h, 1)), last);
	ck_assert_ptr_null(raft_log_entry(h_raft(&h, 1), idx));
	ck_assert_uint_ne(h_run_until_leader(&h, 0, 300), 0);
	h_settle(&h);
	for (uint64_t id = 1; id <= 3; id++) {
		ck_assert(h_applied_data(h_node(&h, id), "kept"));
		ck_assert(!h_applied_data(h_node(&h, id), "lost"));
	}
	h_close(&h);
}
END_TEST

START_TEST(whole_cluster_restart_keeps_committed_entries)
{
	struct harness h;
	char buf[16];
	uint64_t l;

	t_cluster(&h, 5, 3);
	for (int i = 0; i < 10; i++) {
		snprintf(buf, sizeof(buf), "k%d", i);
		h_commit(&h, 3, buf);
	}
	h_settle(&h);
	for (uint64_t id = 1; id <= 5; id++)
		h_crash(&h, id, id % 2 == 1);
	for (uint64_t id = 1; id <= 5; id++)
		h_start(&h, id);
	h_ready_all(&h);
	l = h_run_until_leader(&h, 0, 300);
	ck_assert_uint_ne(l, 0);
	h_commit(&h, l, "again");
	h_settle(&h);
	for (uint64_t id = 1; id <= 5; id++) {
		ck_assert(h_applied_data(h_node(&h, id), "k9"));
		ck_assert(h_applied_data(h_node(&h, id), "again"));
	}
	h_check_safety(&h);
	/* A restarted node is not new: bootstrap refuses. */
	{
		uint64_t v[1] = { 1 };

		ck_assert_int_eq(raft_bootstrap(h_raft(&h, 1), v, 1),
				 RAFT_ESTATE);
	}
	h_close(&h);
}
END_TEST

/* Crashes at random points of a run never break safety. */
START_TEST(random_crashes_keep_logs_consistent)
{
	struct harness h;
	uint64_t rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(_i + 1);
	char buf[32];
	int committed = 0;

	h_init(&h, 3);
	h_bootstrap(&h, 3);
	for (int step = 0; step < 300; step++) {
		uint64_t l, victim;

		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		victim = rng % 3 + 1;
		l = h_leader(&h);
		if (l != 0 && rng % 4 != 0) {
			snprintf(buf, sizeof(buf), "r%d", step);
			if (raft_propose(h_raft(&h, l), buf, strlen(buf),
					 NULL, NULL) == 0)
				committed++;
		}
		h_ready_all(&h);
		if (rng % 17 == 0 && h.nodes[victim].r != NULL) {
			h_crash(&h, victim, rng % 2 == 0);
			h_start(&h, victim);
		}
		if (rng % 3 == 0)
			h_deliver_all(&h);
		else if (h.n_queue > 0)
			h_deliver_at(&h, rng % h.n_queue);
		h_tick_all(&h, 1);
		h_check_safety(&h);
	}
	h_heal(&h);
	ck_assert_uint_ne(h_run_until_leader(&h, 0, 300), 0);
	h_settle(&h);
	h_check_safety(&h);
	(void)committed;
	h_close(&h);
}
END_TEST

Suite *raft_restart_suite(void)
{
	Suite *s = suite_create("raft_restart");

	T_ADD(s, restart_restores_term_vote_commit);
	T_ADD(s, restart_redelivers_committed_entries_above_applied);
	T_ADD(s, restart_from_snapshot_and_log);
	T_ADD(s, restart_rejects_bad_restore);
	T_ADD(s, restarted_leader_returns_as_follower);
	T_ADD(s, crash_loses_only_unpersisted_state);
	T_ADD(s, whole_cluster_restart_keeps_committed_entries);
	T_ADD_LOOP(s, random_crashes_keep_logs_consistent, 0, 20);
	return s;
}
