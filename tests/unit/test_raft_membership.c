/*
 * tests/unit/test_raft_membership.c: membership changes one server at a
 * time (thesis 4.1) and learners (thesis 4.2.1).
 */
#include <stdio.h>
#include <string.h>

#include "tests/unit/test_raft.h"

static uint64_t t_conf_change(struct harness *h, uint64_t leader,
			      enum raft_conf_op op, uint64_t id)
{
	uint64_t idx = 0;
	int rc = raft_propose_conf_change(h_raft(h, leader), op, id, &idx);

	ck_assert_msg(rc == 0, "conf change: %s", raft_strerror(rc));
	ck_assert_uint_eq(idx, raft_last_index(h_raft(h, leader)));
	h_ready_all(h);
	h_settle(h);
	ck_assert_ptr_nonnull(h_applied_at(h_node(h, leader), idx));
	return idx;
}

/* Voters 1..n_voters, leader 1, nodes above n_voters running but empty. */
static void t_cluster(struct harness *h, size_t n, size_t n_voters)
{
	h_init(h, n);
	h_bootstrap(h, n_voters);
	h_elect(h, 1);
}

static bool t_commits(struct harness *h, uint64_t leader, const char *s)
{
	uint64_t idx = h_propose(h, leader, s);

	h_deliver_all(h);
	h_tick(h, leader, 1);
	h_deliver_all(h);
	return raft_commit_index(h_raft(h, leader)) >= idx;
}

START_TEST(learner_receives_log)
{
	struct harness h;
	const struct raft_conf *c;

	t_cluster(&h, 4, 3);
	h_commit(&h, 1, "before");
	t_conf_change(&h, 1, RAFT_CONF_ADD_LEARNER, 4);
	h_commit(&h, 1, "after");
	h_settle(&h);
	c = raft_conf(h_raft(&h, 1));
	ck_assert(raft_conf_is_learner(c, 4));
	ck_assert(!raft_conf_is_voter(c, 4));
	ck_assert_uint_eq(c->n_voters, 3);
	ck_assert_uint_eq(c->n_learners, 1);
	ck_assert(h_applied_data(h_node(&h, 4), "before"));
	ck_assert(h_applied_data(h_node(&h, 4), "after"));
	ck_assert_uint_eq(raft_last_index(h_raft(&h, 4)),
			  raft_last_index(h_raft(&h, 1)));
	ck_assert(raft_conf_is_learner(raft_conf(h_raft(&h, 4)), 4));
	ck_assert_uint_eq(raft_leader(h_raft(&h, 4)), 1);
	h_check_safety(&h);
	h_close(&h);
}
END_TEST

START_TEST(learner_never_campaigns)
{
	struct harness h;

	t_cluster(&h, 5, 3);
	t_conf_change(&h, 1, RAFT_CONF_ADD_LEARNER, 4);
	h_settle(&h);
	h_isolate(&h, 4);
	h_isolate(&h, 5);   /* never added: no configuration at all */
	h_drop(&h, 0, 0, 0);
	for (int t = 0; t < 200; t++) {
		h_tick(&h, 4, 1);
		h_tick(&h, 5, 1);
		ck_assert_int_eq(raft_role(h_raft(&h, 4)), RAFT_FOLLOWER);
		ck_assert_int_eq(raft_role(h_raft(&h, 5)), RAFT_FOLLOWER);
		ck_assert_uint_eq(h_count(&h, RAFT_MSG_VOTE, 0, 0), 0);
		/* Its only pre-votes ask the voters who leads: for an
		 * empty log, which no voter grants. */
		for (size_t i = 0; i < h.n_queue; i++) {
			const struct raft_message *m = &h.queue[i].m;

			if (m->type != RAFT_MSG_PREVOTE)
				continue;
			ck_assert_uint_eq(m->from, 4);
			ck_assert(raft_conf_is_voter(raft_conf(h_raft(&h, 1)),
						     m->to));
			ck_assert_uint_eq(m->index, 0);
			ck_assert_uint_eq(m->log_term, 0);
		}
		h_drop(&h, 0, 0, 0);
	}
	ck_assert_uint_eq(raft_term(h_raft(&h, 4)), raft_term(h_raft(&h, 1)));
	/* Even told to (TIMEOUT_NOW from its leader). */
	{
		struct raft_message m = h_msg_make(
			RAFT_MSG_TIMEOUT_NOW, 1, 4, raft_term(h_raft(&h, 1)));

		ck_assert_int_eq(h_step(&h, &m), 0);
		ck_assert_int_eq(raft_role(h_raft(&h, 4)), RAFT_FOLLOWER);
		ck_assert_uint_eq(h_count(&h, RAFT_MSG_VOTE, 4, 0), 0);
	}
	h_close(&h);
}
END_TEST

/* A candidate counts votes of voters only, and asks voters only. */
START_TEST(learner_vote_does_not_count)
{
	struct harness h;
	struct raft *r;
	struct raft_message m;

	h_init(&h, 4);
	for (int i = 1; i <= 4; i++) {
		h.nodes[i].cfg.pre_vote = false;
		h.nodes[i].cfg.check_quorum = false;
	}
	h_bootstrap(&h, 3);
	h_elect(&h, 1);
	t_conf_change(&h, 1, RAFT_CONF_ADD_LEARNER, 4);
	h_settle(&h);
	h_crash(&h, 1, false);
	h_crash(&h, 3, false);
	r = h_raft(&h, 2);
	while (raft_role(r) != RAFT_CANDIDATE)
		h_tick(&h, 2, 1);
	ck_assert_uint_eq(h_count(&h, RAFT_MSG_VOTE, 2, 4), 0);
	m = h_msg_make(RAFT_MSG_VOTE_RESP, 4, 2, raft_term(r));
	ck_assert_int_eq(h_step(&h, &m), 0);
	ck_assert_int_eq(raft_role(r), RAFT_CANDIDATE);
	h_close(&h);
}
END_TEST

/* Learners do not count towards the commit quorum. */
START_TEST(learner_not_in_commit_quorum)
{
	struct harness h;

	t_cluster(&h, 3, 2);
	t_conf_change(&h, 1, RAFT_CONF_ADD_LEARNER, 3);
	h_settle(&h);
	h_crash(&h, 2, false);
	ck_assert(!t_commits(&h, 1, "needs node 2"));
	ck_assert_uint_eq(raft_last_index(h_raft(&h, 3)),
			  raft_last_index(h_raft(&h, 1)));
	h_close(&h);
}
END_TEST

/* CheckQuorum counts voters only: a leader with only a learner left
 * steps down. */
START_TEST(learner_not_in_check_quorum)
{
	struct harness h;
	unsigned t = 0;

	t_cluster(&h, 3, 2);
	t_conf_change(&h, 1, RAFT_CONF_ADD_LEARNER, 3);
	h_settle(&h);
	h_crash(&h, 2, false);
	while (raft_is_leader(h_raft(&h, 1))) {
		h_tick(&h, 1, 1);
		h_deliver_all(&h);
		ck_assert_uint_le(++t, 21);
	}
	h_close(&h);
}
END_TEST

START_TEST(promoted_learner_counts_in_quorum)
{
	struct harness h;
	const struct raft_conf *c;

	t_cluster(&h, 3, 2);
	t_conf_change(&h, 1, RAFT_CONF_ADD_LEARNER, 3);
	t_conf_change(&h, 1, RAFT_CONF_ADD_VOTER, 3);
	h_settle(&h);
	c = raft_conf(h_raft(&h, 1));
	ck_assert(raft_conf_is_voter(c, 3));
	ck_assert(!raft_conf_is_learner(c, 3));
	ck_assert_uint_eq(c->n_voters, 3);
	ck_assert_uint_eq(c->n_learners, 0);
	ck_assert(raft_conf_is_voter(raft_conf(h_raft(&h, 3)), 3));
	h_crash(&h, 2, false);
	ck_assert(t_commits(&h, 1, "with node 3"));
	/* Node 3 may now lead. */
	h_crash(&h, 1, false);
	h_start(&h, 2);
	ck_assert_uint_ne(h_run_until_leader(&h, raft_term(h_raft(&h, 3)),
					     300),
			  0);
	h_close(&h);
}
END_TEST

START_TEST(added_voter_counts_in_quorum)
{
	struct harness h;

	t_cluster(&h, 4, 3);
	t_conf_change(&h, 1, RAFT_CONF_ADD_VOTER, 4);
	h_settle(&h);
	ck_assert_uint_eq(raft_conf(h_raft(&h, 1))->n_voters, 4);
	/* Four voters: 1 and 4 are not a majority, 1, 2 and 4 are. */
	h_crash(&h, 2, false);
	h_crash(&h, 3, false);
	ck_assert(!t_commits(&h, 1, "two of four"));
	h_start(&h, 2);
	h_settle(&h);
	ck_assert(h_applied_data(h_node(&h, 4), "two of four"));
	h_close(&h);
}
END_TEST

START_TEST(removed_voter_shrinks_quorum)
{
	struct harness h;

	t_cluster(&h, 5, 5);
	h_crash(&h, 4, false);
	h_crash(&h, 5, false);
	t_conf_change(&h, 1, RAFT_CONF_REMOVE, 4);
	ck_assert_uint_eq(raft_conf(h_raft(&h, 1))->n_voters, 4);
	t_conf_change(&h, 1, RAFT_CONF_REMOVE, 5);
	ck_assert_uint_eq(raft_conf(h_raft(&h, 1))->n_voters, 3);
	/* Three voters left: 1 and 2 are a majority. */
	h_crash(&h, 3, false);
	ck_assert(t_commits(&h, 1, "two of three"));
	ck_assert(raft_is_leader(h_raft(&h, 1)));
	h_close(&h);
}
END_TEST

struct t_hold {
	uint64_t to;
	uint64_t from_index;
};

/* Drops APPENDs to node to that carry from_index or later. */
static bool t_hold_appends(void *ctx, const struct raft_message *m)
{
	const struct t_hold *hold = ctx;

	return m->type == RAFT_MSG_APPEND && m->to == hold->to &&
	       m->n_entries > 0 &&
	       m->entries[m->n_entries - 1].index >= hold->from_index;
}

/* Once a removal is applied, the smaller quorum counts at once: an entry
 * held by two of the three remaining voters commits. */
START_TEST(removal_commits_what_smaller_quorum_holds)
{
	struct harness h;
	struct raft *l;
	struct t_hold hold;
	uint64_t ri, xi;

	h_init(&h, 4);
	h.nodes[1].cfg.max_msg_entries = 1;
	h_bootstrap(&h, 4);
	h_elect(&h, 1);
	l = h_raft(&h, 1);
	h_crash(&h, 4, false);
	ck_assert_int_eq(raft_propose_conf_change(l, RAFT_CONF_REMOVE, 4, &ri),
			 0);
	xi = h_propose(&h, 1, "x");
	ck_assert_uint_eq(xi, ri + 1);
	/* Node 3 gets the removal but not x. */
	hold.to = 3;
	hold.from_index = xi;
	h.filter = t_hold_appends;
	h.filter_ctx = &hold;
	h_deliver_all(&h);
	/* x is on 1 and 2: a majority of {1, 2, 3}, not of {1, 2, 3, 4}. */
	ck_assert_ptr_nonnull(raft_log_entry(h_raft(&h, 2), xi));
	ck_assert_ptr_null(raft_log_entry(h_raft(&h, 3), xi));
	ck_assert_uint_eq(raft_conf(l)->n_voters, 3);
	ck_assert_uint_ge(raft_commit_index(l), xi);
	ck_assert(h_applied_data(h_node(&h, 1), "x"));
	h_close(&h);
}
END_TEST

/* A node that applies its own removal while campaigning stops. */
START_TEST(candidate_removed_by_applied_entry_stops)
{
	for (int pv = 0; pv < 2; pv++) {
		struct harness h;
		struct raft *r;
		uint64_t ri;

		h_init(&h, 3);
		for (int k = 1; k <= 3; k++)
			h.nodes[k].cfg.pre_vote = pv;
		h_bootstrap(&h, 3);
		h_elect(&h, 1);
		ck_assert_int_eq(raft_propose_conf_change(h_raft(&h, 1),
							  RAFT_CONF_REMOVE, 3,
							  &ri),
				 0);
		h_ready_all(&h);
		h_isolate(&h, 3);
		h_deliver_all(&h);
		ck_assert_uint_ge(raft_commit_index(h_raft(&h, 1)), ri);
		/* Node 3 learns the entry and its commit, but before it
		 * applies them (no Ready yet), it times out. */
		{
			const struct raft_entry *e =
				raft_log_entry(h_raft(&h, 1), ri);
			struct raft_entry copy = *e;
			struct raft_message m = h_msg_make(
				RAFT_MSG_APPEND, 1, 3,
				raft_term(h_raft(&h, 1)));

			m.index = ri - 1;
			ck_assert(raft_log_term(h_raft(&h, 1), ri - 1,
						&m.log_term));
			m.entries = &copy;
			m.n_entries = 1;
			m.commit = ri;
			r = h_raft(&h, 3);
			ck_assert_int_eq(raft_step(r, &m), 0);
		}
		while (raft_role(r) == RAFT_FOLLOWER)
			raft_tick(r);
		ck_assert_int_eq(raft_role(r), pv ? RAFT_PRE_CANDIDATE :
						    RAFT_CANDIDATE);
		ck_assert_uint_eq(raft_commit_index(r), ri);
		h_ready_all(&h);
		ck_assert(!raft_conf_is_voter(raft_conf(r), 3));
		ck_assert_int_eq(raft_role(r), RAFT_FOLLOWER);
		h_close(&h);
	}
}
END_TEST

START_TEST(removed_member_is_ignored)
{
	struct harness h;
	struct raft *l;
	struct raft_message m;
	uint64_t idx;

	t_cluster(&h, 3, 3);
	t_conf_change(&h, 1, RAFT_CONF_REMOVE, 3);
	h_settle(&h);
	l = h_raft(&h, 1);
	ck_assert_uint_eq(raft_conf(l)->n_voters, 2);
	h_crash(&h, 2, false);
	idx = h_propose(&h, 1, "x");
	h_deliver_all(&h);
	/* Node 3's acknowledgement does not count any more. */
	m = h_msg_make(RAFT_MSG_APPEND_RESP, 3, 1, raft_term(l));
	m.index = idx;
	ck_assert_int_eq(h_step(&h, &m), 0);
	ck_assert_uint_lt(raft_commit_index(l), idx);
	ck_assert_uint_eq(h_count(&h, RAFT_MSG_APPEND, 1, 3), 0);
	h_close(&h);
}
END_TEST

START_TEST(leader_removing_itself_steps_down)
{
	struct harness h;
	uint64_t l;

	t_cluster(&h, 3, 3);
	t_conf_change(&h, 1, RAFT_CONF_REMOVE, 1);
	ck_assert(!raft_is_leader(h_raft(&h, 1)));
	ck_assert(!raft_conf_is_voter(raft_conf(h_raft(&h, 1)), 1));
	l = h_run_until_leader(&h, 0, 300);
	ck_assert(l == 2 || l == 3);
	ck_assert_uint_eq(raft_conf(h_raft(&h, l))->n_voters, 2);
	h_commit(&h, l, "new era");
	/* The removed node never campaigns again. */
	h_drop(&h, 0, 0, 0);
	for (int t = 0; t < 100; t++) {
		h_tick(&h, 1, 1);
		ck_assert_uint_eq(h_count(&h, RAFT_MSG_VOTE, 1, 0), 0);
		ck_assert_uint_eq(h_count(&h, RAFT_MSG_PREVOTE, 1, 0), 0);
	}
	h_close(&h);
}
END_TEST

START_TEST(one_conf_change_at_a_time)
{
	struct harness h;
	struct raft *l;
	uint64_t idx;

	t_cluster(&h, 5, 3);
	l = h_raft(&h, 1);
	ck_assert_int_eq(raft_propose_conf_change(l, RAFT_CONF_ADD_LEARNER, 4,
						  &idx),
			 0);
	ck_assert_int_eq(raft_propose_conf_change(l, RAFT_CONF_ADD_LEARNER, 5,
						  NULL),
			 RAFT_EBUSY);
	ck_assert_uint_eq(raft_last_index(l), idx);
	/* Committed is not enough: it must be applied. */
	h_ready_all(&h);
	h_deliver_all(&h);
	ck_assert_ptr_nonnull(h_applied_at(h_node(&h, 1), idx));
	ck_assert_int_eq(raft_propose_conf_change(l, RAFT_CONF_ADD_LEARNER, 5,
						  NULL),
			 0);
	h_close(&h);
}
END_TEST

/* Thesis 4.1 (the 2015 erratum): no change before the leader committed an
 * entry of its own term. */
START_TEST(no_conf_change_before_leader_commits_in_its_term)
{
	struct harness h;
	struct raft *l;

	h_init(&h, 4);
	h_bootstrap(&h, 3);
	l = h_raft(&h, 1);
	while (raft_role(l) == RAFT_FOLLOWER)
		h_tick(&h, 1, 1);
	h_deliver_types(&h, H_VOTES);
	ck_assert(raft_is_leader(l));
	ck_assert_int_eq(raft_propose_conf_change(l, RAFT_CONF_ADD_LEARNER, 4,
						  NULL),
			 RAFT_EBUSY);
	/* Proposals of data are fine meanwhile. */
	h_propose(&h, 1, "data");
	h_deliver_all(&h);
	ck_assert_int_eq(raft_propose_conf_change(l, RAFT_CONF_ADD_LEARNER, 4,
						  NULL),
			 0);
	h_close(&h);
}
END_TEST

START_TEST(invalid_conf_changes_rejected)
{
	struct harness h;
	struct raft *l;
	uint64_t last;

	t_cluster(&h, 3, 3);
	l = h_raft(&h, 1);
	last = raft_last_index(l);
	ck_assert_int_eq(raft_propose_conf_change(l, RAFT_CONF_ADD_VOTER, 2,
						  NULL),
			 RAFT_EINVAL);
	ck_assert_int_eq(raft_propose_conf_change(l, RAFT_CONF_ADD_LEARNER, 2,
						  NULL),
			 RAFT_EINVAL);
	ck_assert_int_eq(raft_propose_conf_change(l, RAFT_CONF_REMOVE, 9,
						  NULL),
			 RAFT_EINVAL);
	ck_assert_int_eq(raft_propose_conf_change(l, RAFT_CONF_ADD_VOTER, 0,
						  NULL),
			 RAFT_EINVAL);
	ck_assert_int_eq(raft_propose_conf_change(l, (enum raft_conf_op)0, 5,
						  NULL),
			 RAFT_EINVAL);
	ck_assert_int_eq(raft_propose_conf_change(l, (enum raft_conf_op)4, 5,
						  NULL),
			 RAFT_EINVAL);
	ck_assert_uint_eq(raft_last_index(l), last);
	h_close(&h);

	/* The last voter cannot go. */
	h_init(&h, 2);
	h_bootstrap(&h, 1);
	h_elect(&h, 1);
	ck_assert_int_eq(raft_propose_conf_change(h_raft(&h, 1),
						  RAFT_CONF_REMOVE, 1, NULL),
			 RAFT_EINVAL);
	/* No more than RAFT_NODES_MAX members. */
	for (uint64_t id = 2; id <= RAFT_NODES_MAX; id++)
		t_conf_change(&h, 1, RAFT_CONF_ADD_LEARNER, id);
	ck_assert_uint_eq(raft_conf(h_raft(&h, 1))->n_learners,
			  RAFT_NODES_MAX - 1);
	ck_assert_int_eq(raft_propose_conf_change(h_raft(&h, 1),
						  RAFT_CONF_ADD_LEARNER, 100,
						  NULL),
			 RAFT_EINVAL);
	ck_assert_int_eq(raft_propose_conf_change(h_raft(&h, 1),
						  RAFT_CONF_ADD_VOTER, 100,
						  NULL),
			 RAFT_EINVAL);
	/* Promoting a learner does not add a member: allowed (node 2 is
	 * running and caught up). */
	t_conf_change(&h, 1, RAFT_CONF_ADD_VOTER, 2);
	ck_assert(raft_conf_is_voter(raft_conf(h_raft(&h, 1)), 2));
	/* Removing a learner is fine. */
	t_conf_change(&h, 1, RAFT_CONF_REMOVE, 3);
	ck_assert(!raft_conf_is_learner(raft_conf(h_raft(&h, 1)), 3));
	ck_assert(raft_conf_is_voter(raft_conf(h_raft(&h, 2)), 2));
	h_close(&h);
}
END_TEST

START_TEST(conf_change_on_follower_not_leader)
{
	struct harness h;

	t_cluster(&h, 4, 3);
	ck_assert_int_eq(raft_propose_conf_change(h_raft(&h, 2),
						  RAFT_CONF_ADD_LEARNER, 4,
						  NULL),
			 RAFT_ENOTLEADER);
	h_close(&h);
}
END_TEST

/* A change takes effect when applied, not when appended. */
START_TEST(conf_change_takes_effect_when_applied)
{
	struct harness h;
	struct raft *l;
	uint64_t idx;

	t_cluster(&h, 4, 3);
	l = h_raft(&h, 1);
	ck_assert_int_eq(raft_propose_conf_change(l, RAFT_CONF_ADD_VOTER, 4,
						  &idx),
			 0);
	h_ready_all(&h);
	ck_assert(!raft_conf_is_voter(raft_conf(l), 4));
	/* Followers hold the entry but do not apply it yet. */
	h.filter = NULL;
	h_deliver_types(&h, H_BIT(RAFT_MSG_APPEND));
	ck_assert_ptr_nonnull(raft_log_entry(h_raft(&h, 2), idx));
	ck_assert(!raft_conf_is_voter(raft_conf(h_raft(&h, 2)), 4));
	h_settle(&h);
	ck_assert(raft_conf_is_voter(raft_conf(l), 4));
	ck_assert(raft_conf_is_voter(raft_conf(h_raft(&h, 2)), 4));
	ck_assert(raft_conf_is_voter(raft_conf(h_raft(&h, 4)), 4));
	h_close(&h);
}
END_TEST

START_TEST(conf_changes_restored_on_restart)
{
	struct harness h;

	t_cluster(&h, 5, 3);
	t_conf_change(&h, 1, RAFT_CONF_ADD_LEARNER, 4);
	t_conf_change(&h, 1, RAFT_CONF_ADD_VOTER, 5);
	h_settle(&h);
	/* State machine kept: the configuration is there at once. */
	h_crash(&h, 2, false);
	h_start(&h, 2);
	ck_assert(raft_conf_is_learner(raft_conf(h_raft(&h, 2)), 4));
	ck_assert(raft_conf_is_voter(raft_conf(h_raft(&h, 2)), 5));
	ck_assert_uint_eq(raft_conf(h_raft(&h, 2))->n_voters, 4);
	/* State machine lost: rebuilt as the log is applied again. */
	h_crash(&h, 3, true);
	h_start(&h, 3);
	h_ready_all(&h);
	ck_assert(raft_conf_is_learner(raft_conf(h_raft(&h, 3)), 4));
	ck_assert(raft_conf_is_voter(raft_conf(h_raft(&h, 3)), 5));
	/* The whole cluster restarts and still knows its members. */
	for (uint64_t id = 1; id <= 5; id++) {
		h_crash(&h, id, id % 2 == 0);
		h_start(&h, id);
	}
	h_ready_all(&h);
	for (uint64_t id = 1; id <= 5; id++) {
		const struct raft_conf *c = raft_conf(h_raft(&h, id));

		ck_assert_uint_eq(c->n_voters, 4);
		ck_assert_uint_eq(c->n_learners, 1);
	}
	ck_assert_uint_ne(h_run_until_leader(&h, 0, 300), 0);
	ck_assert_uint_ne(h_leader(&h), 4);
	h_close(&h);
}
END_TEST

/* Issue 14 §1(c): nodes drop messages from ids outside their
 * configuration. Node `lagger` (a voter, or a learner added first) is cut
 * off while node 4 is added and made leader; healed, it drops node 4's
 * messages until a member names node 4 as its leader, then catches up and
 * learns the change. */
static void t_lagging_node_catches_up(uint64_t lagger, size_t n)
{
	struct harness h;
	struct raft *r;
	uint64_t idx;

	t_cluster(&h, n, 3);
	if (lagger > 3)
		t_conf_change(&h, 1, RAFT_CONF_ADD_LEARNER, lagger);
	h_isolate(&h, lagger);
	t_conf_change(&h, 1, RAFT_CONF_ADD_LEARNER, 4);
	t_conf_change(&h, 1, RAFT_CONF_ADD_VOTER, 4);
	ck_assert_int_eq(raft_transfer_leadership(h_raft(&h, 1), 4), 0);
	h_ready_all(&h);
	h_deliver_all(&h);
	ck_assert(raft_is_leader(h_raft(&h, 4)));
	r = h_raft(&h, lagger);
	ck_assert(!raft_conf_is_voter(raft_conf(r), 4));
	h_drop(&h, 0, 0, 0);
	h_heal(&h);
	idx = h_propose(&h, 4, "after the change");
	for (int t = 0; t < 200 && raft_commit_index(r) < idx; t++) {
		h_tick_all(&h, 1);
		h_deliver_all(&h);
	}
	ck_assert(raft_is_leader(h_raft(&h, 4)));
	ck_assert_uint_ge(raft_commit_index(r), idx);
	ck_assert(raft_conf_is_voter(raft_conf(r), 4));
	h_check_safety(&h);
	h_close(&h);
}

/* A voter campaigns; the members refuse naming their leader. */
START_TEST(lagging_voter_hears_new_leader_named_by_a_member)
{
	t_lagging_node_catches_up(3, 4);
}
END_TEST

/* A learner never campaigns: it asks the voters it knows who leads (a
 * pre-vote for an empty log, refused naming the leader). */
START_TEST(lagging_learner_hears_new_leader_named_by_a_member)
{
	t_lagging_node_catches_up(5, 5);
}
END_TEST

Suite *raft_membership_suite(void)
{
	Suite *s = suite_create("raft_membership");

	T_ADD(s, learner_receives_log);
	T_ADD(s, lagging_voter_hears_new_leader_named_by_a_member);
	T_ADD(s, lagging_learner_hears_new_leader_named_by_a_member);
	T_ADD(s, learner_never_campaigns);
	T_ADD(s, learner_vote_does_not_count);
	T_ADD(s, learner_not_in_commit_quorum);
	T_ADD(s, learner_not_in_check_quorum);
	T_ADD(s, promoted_learner_counts_in_quorum);
	T_ADD(s, added_voter_counts_in_quorum);
	T_ADD(s, removed_voter_shrinks_quorum);
	T_ADD(s, removed_member_is_ignored);
	T_ADD(s, removal_commits_what_smaller_quorum_holds);
	T_ADD(s, candidate_removed_by_applied_entry_stops);
	T_ADD(s, leader_removing_itself_steps_down);
	T_ADD(s, one_conf_change_at_a_time);
	T_ADD(s, no_conf_change_before_leader_commits_in_its_term);
	T_ADD(s, invalid_conf_changes_rejected);
	T_ADD(s, conf_change_on_follower_not_leader);
	T_ADD(s, conf_change_takes_effect_when_applied);
	T_ADD(s, conf_changes_restored_on_restart);
	return s;
}
