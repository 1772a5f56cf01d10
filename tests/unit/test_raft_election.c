/*
 * tests/unit/test_raft_election.c: leader election (Raft figure 2, 5.2,
 * 5.4.1), PreVote (thesis 9.6) and CheckQuorum (thesis 6.2).
 */
#include <string.h>

#include "tests/unit/test_raft.h"

/* ---------------------------------------------------------------------- */
/* Helpers. */

/* Sends a forged VOTE (or PREVOTE) to node to and reports the answer:
 * 1 granted, 0 rejected, -1 none. The queue is emptied first. */
static int t_vote(struct harness *h, uint32_t type, uint64_t to,
		  uint64_t from, uint64_t term, uint64_t index,
		  uint64_t log_term)
{
	struct raft_message m = h_msg_make(type, from, to, term);
	uint32_t resp = type == RAFT_MSG_VOTE ? RAFT_MSG_VOTE_RESP :
						RAFT_MSG_PREVOTE_RESP;
	long i;

	m.index = index;
	m.log_term = log_term;
	h_drop(h, 0, 0, 0);
	ck_assert_int_eq(h_step(h, &m), 0);
	i = h_find(h, resp, to, from);
	if (i < 0)
		return -1;
	ck_assert_uint_eq(h_count(h, resp, to, from), 1);
	return h->queue[i].m.reject ? 0 : 1;
}

static uint64_t t_last_term(struct raft *r)
{
	uint64_t t = 0;

	ck_assert(raft_log_term(r, raft_last_index(r), &t));
	return t;
}

/* Ticks node 1 of a 3-voter cluster (the only one running) through n
 * elections and records the ticks each timeout took. */
static void t_timeouts(uint64_t id, uint64_t seed, bool pre_vote,
		       unsigned *out, int n)
{
	struct harness h;
	struct raft *r;

	h_init(&h, 3);
	h.nodes[id].cfg.seed = seed;
	h.nodes[id].cfg.pre_vote = pre_vote;
	h_boot_node(&h, id, 3);
	r = h_raft(&h, id);
	for (int round = 0; round < n; round++) {
		enum raft_role from = raft_role(r);
		uint64_t term = raft_term(r);
		unsigned ticks = 0;

		/* A (pre-)campaign resets the timer and sends (pre)votes. */
		do {
			h_drop(&h, 0, 0, 0);
			h_tick(&h, id, 1);
			ticks++;
			ck_assert_uint_le(ticks, 100);
		} while (h_count(&h, pre_vote ? RAFT_MSG_PREVOTE :
						RAFT_MSG_VOTE, 0, 0) == 0);
		out[round] = ticks;
		if (!pre_vote)
			ck_assert_uint_eq(raft_term(r), term + 1);
		else
			ck_assert_uint_eq(raft_term(r), term);
		(void)from;
	}
	h_close(&h);
}

/* ---------------------------------------------------------------------- */
/* Election timeouts (5.2). */

START_TEST(election_timeout_randomized_within_range)
{
	bool seen[64] = { false };
	unsigned distinct = 0;

	for (uint64_t seed = 1; seed <= 40; seed++) {
		unsigned t[8];

		t_timeouts(1, seed, false, t, 8);
		for (int i = 0; i < 8; i++) {
			/* [election, 2 * election) with election = 10. */
			ck_assert_uint_ge(t[i], 10);
			ck_assert_uint_lt(t[i], 20);
			if (!seen[t[i]]) {
				seen[t[i]] = true;
				distinct++;
			}
		}
	}
	/* Randomized: most of the ten possible values show up. */
	ck_assert_uint_ge(distinct, 6);
}
END_TEST

START_TEST(election_timeout_reproducible_from_seed)
{
	unsigned a[12], b[12], c[12];
	unsigned differ = 0;

	t_timeouts(1, 77, false, a, 12);
	t_timeouts(1, 77, false, b, 12);
	ck_assert_mem_eq(a, b, sizeof(a));
	/* PreVote rounds draw the same way. */
	t_timeouts(2, 5, true, a, 12);
	t_timeouts(2, 5, true, b, 12);
	ck_assert_mem_eq(a, b, sizeof(a));
	/* Other seeds give other sequences. */
	t_timeouts(1, 77, false, a, 12);
	for (uint64_t seed = 78; seed < 88; seed++) {
		t_timeouts(1, seed, false, c, 12);
		if (memcmp(a, c, sizeof(a)) != 0)
			differ++;
	}
	ck_assert_uint_ge(differ, 9);
}
END_TEST

/* Two clusters from the same seeds run the same elections. */
START_TEST(cluster_elections_reproducible_from_seeds)
{
	uint64_t leader[2], term[2];
	uint64_t n_delivered[2];

	for (int run = 0; run < 2; run++) {
		struct harness h;

		h_init(&h, 5);
		h_bootstrap(&h, 5);
		leader[run] = h_run_until_leader(&h, 0, 200);
		ck_assert_uint_ne(leader[run], 0);
		/* Kill it twice and let the others elect again. */
		for (int k = 0; k < 2; k++) {
			uint64_t l = h_leader(&h);

			h_crash(&h, l, false);
			leader[run] = h_run_until_leader(&h, raft_term(
				h_raft(&h, l == 1 ? 2 : 1)), 400);
			ck_assert_uint_ne(leader[run], 0);
			h_start(&h, l);
		}
		term[run] = raft_term(h_raft(&h, leader[run]));
		n_delivered[run] = h.n_delivered;
		h_close(&h);
	}
	ck_assert_uint_eq(leader[0], leader[1]);
	ck_assert_uint_eq(term[0], term[1]);
	ck_assert_uint_eq(n_delivered[0], n_delivered[1]);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Campaigns. */

START_TEST(follower_campaigns_after_election_timeout)
{
	struct harness h;
	struct raft *r;
	uint64_t term0;
	unsigned ticks = 0;

	h_init(&h, 3);
	for (int i = 1; i <= 3; i++)
		h.nodes[i].cfg.pre_vote = false;
	h_bootstrap(&h, 3);
	r = h_raft(&h, 1);
	term0 = raft_term(r);
	while (raft_role(r) == RAFT_FOLLOWER) {
		h_tick(&h, 1, 1);
		ck_assert_uint_lt(++ticks, 20);
	}
	/* Figure 2: increment currentTerm, vote for self, send RequestVote
	 * to all other servers. */
	ck_assert_int_eq(raft_role(r), RAFT_CANDIDATE);
	ck_assert_uint_eq(raft_term(r), term0 + 1);
	ck_assert_uint_eq(raft_vote(r), 1);
	ck_assert_uint_eq(h.nodes[1].hs.term, term0 + 1);
	ck_assert_uint_eq(h.nodes[1].hs.vote, 1);
	for (uint64_t to = 2; to <= 3; to++) {
		long i = h_find(&h, RAFT_MSG_VOTE, 1, to);

		ck_assert_int_ge(i, 0);
		ck_assert_uint_eq(h_count(&h, RAFT_MSG_VOTE, 1, to), 1);
		ck_assert_uint_eq(h.queue[i].m.term, term0 + 1);
		ck_assert_uint_eq(h.queue[i].m.index, raft_last_index(r));
		ck_assert_uint_eq(h.queue[i].m.log_term, t_last_term(r));
		ck_assert(!h.queue[i].m.transfer);
	}
	h_close(&h);
}
END_TEST

struct t_vote_seen {
	unsigned granted;
	bool bad;
};

static void t_vote_ready_hook(void *ctx, uint64_t id,
			      const struct raft_ready *rd)
{
	struct t_vote_seen *s = ctx;

	for (size_t i = 0; i < rd->n_messages; i++) {
		const struct raft_message *m = &rd->messages[i];

		if (m->type != RAFT_MSG_VOTE_RESP || m->reject)
			continue;
		s->granted++;
		/* The vote is in this very Ready's hard state. */
		if (!rd->hard_state_changed || rd->hard_state.vote != m->to ||
		    rd->hard_state.term != m->term || m->from != id)
			s->bad = true;
	}
}

START_TEST(vote_persisted_in_same_ready_as_vote_response)
{
	struct harness h;
	struct t_vote_seen seen = { 0, false };

	h_init(&h, 3);
	for (int i = 1; i <= 3; i++)
		h.nodes[i].cfg.pre_vote = false;
	h_bootstrap(&h, 3);
	h.on_ready = t_vote_ready_hook;
	h.on_ready_ctx = &seen;
	h_elect(&h, 1);
	ck_assert_uint_ge(seen.granted, 1);
	ck_assert(!seen.bad);
	h_close(&h);
}
END_TEST

START_TEST(candidate_wins_with_majority_of_votes)
{
	struct harness h;
	struct raft *r;

	h_init(&h, 5);
	for (int i = 1; i <= 5; i++)
		h.nodes[i].cfg.pre_vote = false;
	h_bootstrap(&h, 5);
	r = h_raft(&h, 1);
	while (raft_role(r) != RAFT_CANDIDATE)
		h_tick(&h, 1, 1);
	h_drop(&h, RAFT_MSG_VOTE, 1, 4);
	h_drop(&h, RAFT_MSG_VOTE, 1, 5);
	/* Itself and node 2: two of five. */
	ck_assert(h_deliver_first(&h, RAFT_MSG_VOTE, 1, 2));
	ck_assert(h_deliver_first(&h, RAFT_MSG_VOTE_RESP, 2, 1));
	ck_assert_int_eq(raft_role(r), RAFT_CANDIDATE);
	/* A duplicate of node 2's grant still counts once. */
	{
		struct raft_message m = h_msg_make(RAFT_MSG_VOTE_RESP, 2, 1,
						   raft_term(r));

		ck_assert_int_eq(h_step(&h, &m), 0);
		ck_assert_int_eq(raft_role(r), RAFT_CANDIDATE);
	}
	/* Node 3 makes three of five. */
	ck_assert(h_deliver_first(&h, RAFT_MSG_VOTE, 1, 3));
	ck_assert(h_deliver_first(&h, RAFT_MSG_VOTE_RESP, 3, 1));
	ck_assert_int_eq(raft_role(r), RAFT_LEADER);
	ck_assert_uint_eq(raft_leader(r), 1);
	h_close(&h);
}
END_TEST

START_TEST(candidate_loses_without_majority)
{
	struct harness h;
	struct raft *r;
	uint64_t term;

	h_init(&h, 5);
	for (int i = 1; i <= 5; i++)
		h.nodes[i].cfg.pre_vote = false;
	h_bootstrap(&h, 5);
	r = h_raft(&h, 1);
	while (raft_role(r) != RAFT_CANDIDATE)
		h_tick(&h, 1, 1);
	term = raft_term(r);
	/* Two rejections and one grant: never a leader. */
	for (uint64_t from = 2; from <= 4; from++) {
		struct raft_message m = h_msg_make(RAFT_MSG_VOTE_RESP, from, 1,
						   term);

		m.reject = from != 2;
		ck_assert_int_eq(h_step(&h, &m), 0);
		ck_assert_int_ne(raft_role(r), RAFT_LEADER);
	}
	/* A third rejection: a majority refused, no leader either. */
	{
		struct raft_message m = h_msg_make(RAFT_MSG_VOTE_RESP, 5, 1,
						   term);

		m.reject = true;
		ck_assert_int_eq(h_step(&h, &m), 0);
		ck_assert_int_ne(raft_role(r), RAFT_LEADER);
		ck_assert_uint_eq(raft_term(r), term);
	}
	h_close(&h);
}
END_TEST

START_TEST(candidate_starts_new_election_after_split_vote)
{
	struct harness h;
	struct raft *r;
	uint64_t term;
	unsigned ticks = 0;

	h_init(&h, 3);
	for (int i = 1; i <= 3; i++)
		h.nodes[i].cfg.pre_vote = false;
	h_bootstrap(&h, 3);
	r = h_raft(&h, 1);
	while (raft_role(r) != RAFT_CANDIDATE)
		h_tick(&h, 1, 1);
	term = raft_term(r);
	h_drop(&h, 0, 0, 0);
	/* Nobody answers: after another randomized timeout, a new term. */
	while (raft_term(r) == term) {
		h_tick(&h, 1, 1);
		ck_assert_uint_lt(++ticks, 20);
	}
	ck_assert_uint_ge(ticks, 10);
	ck_assert_uint_eq(raft_term(r), term + 1);
	ck_assert_int_eq(raft_role(r), RAFT_CANDIDATE);
	ck_assert_uint_eq(h_count(&h, RAFT_MSG_VOTE, 1, 2), 1);
	ck_assert_uint_eq(h_count(&h, RAFT_MSG_VOTE, 1, 3), 1);
	h_close(&h);
}
END_TEST

START_TEST(single_voter_elects_itself)
{
	for (int pv = 0; pv < 2; pv++) {
		struct harness h;
		struct raft *r;
		unsigned ticks = 0;

		h_init(&h, 1);
		h.nodes[1].cfg.pre_vote = pv;
		h_bootstrap(&h, 1);
		r = h_raft(&h, 1);
		while (!raft_is_leader(r)) {
			h_tick(&h, 1, 1);
			ck_assert_uint_lt(++ticks, 20);
		}
		ck_assert_uint_eq(raft_term(r), 2);
		ck_assert_uint_eq(h_node(&h, 1)->hs.vote, 1);
		h_commit(&h, 1, "alone");
		h_close(&h);
	}
}
END_TEST

START_TEST(new_leader_appends_noop_of_its_term)
{
	struct harness h;
	struct raft *r;
	const struct raft_entry *e;

	h_init(&h, 3);
	h_bootstrap(&h, 3);
	h_elect(&h, 2);
	r = h_raft(&h, 2);
	e = raft_log_entry(r, 4);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->term, raft_term(r));
	ck_assert_uint_eq(e->type, RAFT_ENTRY_NORMAL);
	ck_assert_uint_eq(e->len, 0);
	/* It commits and every node applies it. */
	for (uint64_t id = 1; id <= 3; id++) {
		const struct h_applied *a = h_applied_at(h_node(&h, id), 4);

		ck_assert_ptr_nonnull(a);
		ck_assert_uint_eq(a->term, raft_term(r));
	}
	h_close(&h);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* RequestVote receiver (figure 2, 5.2, 5.4.1). */

START_TEST(vote_granted_at_most_once_per_term)
{
	struct harness h;

	h_init(&h, 3);
	h_bootstrap(&h, 3);
	/* Log of node 3: index 3, term 1. */
	ck_assert_int_eq(t_vote(&h, RAFT_MSG_VOTE, 3, 1, 5, 3, 1), 1);
	ck_assert_uint_eq(raft_vote(h_raft(&h, 3)), 1);
	ck_assert_uint_eq(h_node(&h, 3)->hs.vote, 1);
	/* Another candidate of the same term: refused. */
	ck_assert_int_eq(t_vote(&h, RAFT_MSG_VOTE, 3, 2, 5, 3, 1), 0);
	ck_assert_uint_eq(raft_vote(h_raft(&h, 3)), 1);
	/* The same candidate asking again (a retry): granted again. */
	ck_assert_int_eq(t_vote(&h, RAFT_MSG_VOTE, 3, 1, 5, 3, 1), 1);
	/* A new term: a new vote. */
	ck_assert_int_eq(t_vote(&h, RAFT_MSG_VOTE, 3, 2, 6, 3, 1), 1);
	ck_assert_uint_eq(raft_vote(h_raft(&h, 3)), 2);
	ck_assert_uint_eq(raft_term(h_raft(&h, 3)), 6);
	ck_assert_uint_eq(h_node(&h, 3)->hs.vote, 2);
	ck_assert_uint_eq(h_node(&h, 3)->hs.term, 6);
	h_close(&h);
}
END_TEST

/* Figure 2: votedFor survives a restart, so no second vote in a term. */
START_TEST(vote_survives_restart)
{
	struct harness h;

	h_init(&h, 3);
	h_bootstrap(&h, 3);
	ck_assert_int_eq(t_vote(&h, RAFT_MSG_VOTE, 3, 1, 5, 3, 1), 1);
	h_crash(&h, 3, true);
	h_start(&h, 3);
	h_ready_all(&h);
	ck_assert_uint_eq(raft_term(h_raft(&h, 3)), 5);
	ck_assert_uint_eq(raft_vote(h_raft(&h, 3)), 1);
	ck_assert_int_eq(t_vote(&h, RAFT_MSG_VOTE, 3, 2, 5, 3, 1), 0);
	ck_assert_int_eq(t_vote(&h, RAFT_MSG_VOTE, 3, 1, 5, 3, 1), 1);
	h_close(&h);
}
END_TEST

/* 5.4.1: a log with a later last term is more up to date. */
START_TEST(vote_rejected_when_candidate_last_term_older)
{
	struct harness h;
	const uint64_t terms[] = { 2, 3 };   /* indexes 4, 5 */

	h_init(&h, 3);
	h_preload(&h, 1, 3, terms, 2, 3, 0);
	h_start(&h, 1);
	h_ready_all(&h);
	/* Longer log, older last term: refused. */
	ck_assert_int_eq(t_vote(&h, RAFT_MSG_VOTE, 1, 2, 4, 10, 2), 0);
	ck_assert_uint_eq(raft_vote(h_raft(&h, 1)), 0);
	ck_assert_uint_eq(h_node(&h, 1)->hs.vote, 0);
	/* Same last term and index: granted. */
	ck_assert_int_eq(t_vote(&h, RAFT_MSG_VOTE, 1, 3, 4, 5, 3), 1);
	h_close(&h);
}
END_TEST

/* 5.4.1: same last term, the longer log is more up to date. */
START_TEST(vote_rejected_when_candidate_log_shorter_in_same_term)
{
	struct harness h;
	const uint64_t terms[] = { 2, 2, 2 };   /* indexes 4..6 */

	h_init(&h, 3);
	h_preload(&h, 1, 3, terms, 3, 2, 0);
	h_start(&h, 1);
	h_ready_all(&h);
	ck_assert_int_eq(t_vote(&h, RAFT_MSG_VOTE, 1, 2, 3, 5, 2), 0);
	ck_assert_int_eq(t_vote(&h, RAFT_MSG_VOTE, 1, 3, 3, 6, 2), 1);
	h_close(&h);
}
END_TEST

START_TEST(vote_granted_when_candidate_last_term_newer_with_shorter_log)
{
	struct harness h;
	const uint64_t terms[] = { 2, 2, 2, 2, 2 };

	h_init(&h, 3);
	h_preload(&h, 1, 3, terms, 5, 2, 0);
	h_start(&h, 1);
	h_ready_all(&h);
	ck_assert_int_eq(t_vote(&h, RAFT_MSG_VOTE, 1, 2, 4, 4, 3), 1);
	h_close(&h);
}
END_TEST

/* 5.4: a candidate without every committed entry cannot win. */
START_TEST(elected_leader_holds_all_committed_entries)
{
	struct harness h;
	uint64_t ia, ib, l;

	h_init(&h, 3);
	for (int i = 1; i <= 3; i++) {
		h.nodes[i].cfg.pre_vote = false;
		h.nodes[i].cfg.check_quorum = false;
	}
	h_bootstrap(&h, 3);
	h_elect(&h, 1);
	h_isolate(&h, 3);
	ia = h_commit(&h, 1, "a");
	ib = h_commit(&h, 1, "b");
	h_settle(&h);
	/* Node 1 dies; node 3 (behind) campaigns first. */
	h_crash(&h, 1, false);
	h_heal(&h);
	while (raft_role(h_raft(&h, 3)) != RAFT_CANDIDATE)
		h_tick(&h, 3, 1);
	h_deliver_all(&h);
	ck_assert_int_ne(raft_role(h_raft(&h, 3)), RAFT_LEADER);
	/* Only node 2 can win, and it has both entries. */
	l = h_run_until_leader(&h, 0, 200);
	ck_assert_uint_eq(l, 2);
	ck_assert_ptr_nonnull(raft_log_entry(h_raft(&h, 2), ia));
	ck_assert_ptr_nonnull(raft_log_entry(h_raft(&h, 2), ib));
	h_settle(&h);
	ck_assert(h_applied_data(h_node(&h, 3), "a"));
	ck_assert(h_applied_data(h_node(&h, 3), "b"));
	h_check_safety(&h);
	h_close(&h);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Terms (figure 2, rules for all servers). */

START_TEST(candidate_steps_down_on_higher_term)
{
	struct harness h;
	struct raft *r;
	struct raft_message m;
	uint64_t term;

	h_init(&h, 3);
	for (int i = 1; i <= 3; i++)
		h.nodes[i].cfg.pre_vote = false;
	h_bootstrap(&h, 3);
	r = h_raft(&h, 1);
	while (raft_role(r) != RAFT_CANDIDATE)
		h_tick(&h, 1, 1);
	term = raft_term(r);
	m = h_msg_make(RAFT_MSG_HEARTBEAT, 2, 1, term + 3);
	ck_assert_int_eq(h_step(&h, &m), 0);
	ck_assert_int_eq(raft_role(r), RAFT_FOLLOWER);
	ck_assert_uint_eq(raft_term(r), term + 3);
	ck_assert_uint_eq(raft_leader(r), 2);
	ck_assert_uint_eq(raft_vote(r), 0);
	ck_assert_uint_eq(h_node(&h, 1)->hs.term, term + 3);
	ck_assert_uint_eq(h_node(&h, 1)->hs.vote, 0);
	h_close(&h);
}
END_TEST

/* 5.2: a candidate that hears from a leader of its own term returns to
 * follower. */
START_TEST(candidate_steps_down_on_append_from_leader_of_same_term)
{
	struct harness h;
	struct raft *r;
	struct raft_message m;
	uint64_t term;
	long i;

	h_init(&h, 3);
	for (int k = 1; k <= 3; k++)
		h.nodes[k].cfg.pre_vote = false;
	h_bootstrap(&h, 3);
	r = h_raft(&h, 1);
	while (raft_role(r) != RAFT_CANDIDATE)
		h_tick(&h, 1, 1);
	term = raft_term(r);
	h_drop(&h, 0, 0, 0);
	m = h_msg_make(RAFT_MSG_APPEND, 2, 1, term);
	m.index = raft_last_index(r);
	m.log_term = t_last_term(r);
	m.commit = 3;
	ck_assert_int_eq(h_step(&h, &m), 0);
	ck_assert_int_eq(raft_role(r), RAFT_FOLLOWER);
	ck_assert_uint_eq(raft_term(r), term);
	ck_assert_uint_eq(raft_leader(r), 2);
	/* Its vote of this term stays. */
	ck_assert_uint_eq(raft_vote(r), 1);
	i = h_find(&h, RAFT_MSG_APPEND_RESP, 1, 2);
	ck_assert_int_ge(i, 0);
	ck_assert(!h.queue[i].m.reject);
	ck_assert_uint_eq(h.queue[i].m.term, term);
	h_close(&h);
}
END_TEST

START_TEST(higher_term_clears_vote)
{
	struct harness h;
	struct raft_message m;

	h_init(&h, 3);
	h_bootstrap(&h, 3);
	ck_assert_int_eq(t_vote(&h, RAFT_MSG_VOTE, 3, 1, 5, 3, 1), 1);
	m = h_msg_make(RAFT_MSG_HEARTBEAT_RESP, 2, 3, 7);
	ck_assert_int_eq(h_step(&h, &m), 0);
	ck_assert_uint_eq(raft_term(h_raft(&h, 3)), 7);
	ck_assert_uint_eq(raft_vote(h_raft(&h, 3)), 0);
	ck_assert_uint_eq(h_node(&h, 3)->hs.term, 7);
	ck_assert_uint_eq(h_node(&h, 3)->hs.vote, 0);
	/* Now it may vote in term 7. */
	ck_assert_int_eq(t_vote(&h, RAFT_MSG_VOTE, 3, 2, 7, 3, 1), 1);
	h_close(&h);
}
END_TEST

static void t_stale_append(bool quorum_features)
{
	struct harness h;
	struct raft *r;
	struct raft_message m;
	struct raft_entry e = { 3, 4, RAFT_ENTRY_NORMAL, 1,
				(uint8_t *)"x" };
	uint64_t last;

	h_init(&h, 3);
	for (int i = 1; i <= 3; i++) {
		h.nodes[i].cfg.pre_vote = quorum_features;
		h.nodes[i].cfg.check_quorum = quorum_features;
	}
	h_bootstrap(&h, 3);
	r = h_raft(&h, 3);
	m = h_msg_make(RAFT_MSG_HEARTBEAT, 2, 3, 5);
	ck_assert_int_eq(h_step(&h, &m), 0);
	ck_assert_uint_eq(raft_term(r), 5);
	last = raft_last_index(r);
	h_drop(&h, 0, 0, 0);
	/* An APPEND from a deposed leader of term 3. */
	m = h_msg_make(RAFT_MSG_APPEND, 1, 3, 3);
	m.index = 3;
	m.log_term = 1;
	m.n_entries = 1;
	m.entries = &e;
	m.commit = 4;
	ck_assert_int_eq(h_step(&h, &m), 0);
	ck_assert_uint_eq(raft_last_index(r), last);
	ck_assert_uint_eq(raft_term(r), 5);
	ck_assert_uint_eq(raft_leader(r), 2);
	ck_assert_uint_eq(raft_commit_index(r), 3);
	ck_assert_uint_eq(h_log_last(h_node(&h, 3)), last);
	/* Ignored, or answered with the current term so that it steps
	 * down; never acknowledged. */
	for (size_t i = 0; i < h.n_queue; i++) {
		ck_assert_uint_eq(h.queue[i].m.term, 5);
		ck_assert_uint_ne(h.queue[i].m.index, 4);
	}
	h_close(&h);
}

START_TEST(follower_rejects_stale_term_append)
{
	t_stale_append(false);
	t_stale_append(true);
}
END_TEST

START_TEST(stale_term_vote_not_granted)
{
	struct harness h;
	struct raft_message m;

	h_init(&h, 3);
	h_bootstrap(&h, 3);
	m = h_msg_make(RAFT_MSG_HEARTBEAT_RESP, 2, 3, 5);
	ck_assert_int_eq(h_step(&h, &m), 0);
	ck_assert_int_ne(t_vote(&h, RAFT_MSG_VOTE, 3, 1, 3, 100, 4), 1);
	ck_assert_uint_eq(raft_term(h_raft(&h, 3)), 5);
	ck_assert_uint_eq(raft_vote(h_raft(&h, 3)), 0);
	for (size_t i = 0; i < h.n_queue; i++)
		ck_assert_uint_eq(h.queue[i].m.term, 5);
	h_close(&h);
}
END_TEST

START_TEST(leader_steps_down_on_higher_term_response)
{
	static const uint32_t types[] = { RAFT_MSG_APPEND_RESP,
					  RAFT_MSG_HEARTBEAT_RESP,
					  RAFT_MSG_VOTE_RESP };

	for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
		struct harness h;
		struct raft *r;
		struct raft_message m;
		uint64_t term;

		h_init(&h, 3);
		h_bootstrap(&h, 3);
		h_elect(&h, 1);
		r = h_raft(&h, 1);
		term = raft_term(r);
		m = h_msg_make(types[k], 2, 1, term + 1);
		m.reject = true;
		ck_assert_int_eq(h_step(&h, &m), 0);
		ck_assert_int_eq(raft_role(r), RAFT_FOLLOWER);
		ck_assert_uint_eq(raft_term(r), term + 1);
		ck_assert_uint_eq(h_node(&h, 1)->hs.term, term + 1);
		ck_assert_int_eq(raft_propose(r, "x", 1, NULL, NULL),
				 RAFT_ENOTLEADER);
		h_close(&h);
	}
}
END_TEST

START_TEST(leader_sends_heartbeat_every_heartbeat_interval)
{
	struct harness h;
	unsigned ticks = 0;

	h_init(&h, 3);
	h.nodes[1].cfg.heartbeat_ticks = 3;
	h_bootstrap(&h, 3);
	h_elect(&h, 1);
	h_drop(&h, 0, 0, 0);
	/* Line up with the heartbeat clock. */
	while (h_count(&h, RAFT_MSG_HEARTBEAT, 1, 0) == 0) {
		h_tick(&h, 1, 1);
		ck_assert_uint_le(++ticks, 3);
	}
	for (int round = 0; round < 6; round++) {
		/* Answers keep the leader in office (CheckQuorum). */
		h_deliver_all(&h);
		h_tick(&h, 1, 2);
		ck_assert_uint_eq(h_count(&h, RAFT_MSG_HEARTBEAT, 1, 0), 0);
		h_tick(&h, 1, 1);
		ck_assert_uint_eq(h_count(&h, RAFT_MSG_HEARTBEAT, 1, 2), 1);
		ck_assert_uint_eq(h_count(&h, RAFT_MSG_HEARTBEAT, 1, 3), 1);
		ck_assert_uint_eq(h.queue[h_find(&h, RAFT_MSG_HEARTBEAT, 1,
						 2)].m.term,
				  raft_term(h_raft(&h, 1)));
	}
	h_close(&h);
}
END_TEST

START_TEST(followers_of_live_leader_never_campaign)
{
	struct harness h;
	uint64_t term;

	h_init(&h, 5);
	for (int i = 1; i <= 5; i++)
		h.nodes[i].cfg.pre_vote = false;
	h_bootstrap(&h, 5);
	h_elect(&h, 3);
	term = raft_term(h_raft(&h, 3));
	for (int t = 0; t < 200; t++) {
		h_tick_all(&h, 1);
		h_deliver_all(&h);
		ck_assert_uint_eq(h_leader(&h), 3);
	}
	for (uint64_t id = 1; id <= 5; id++) {
		ck_assert_uint_eq(raft_term(h_raft(&h, id)), term);
		ck_assert_uint_eq(raft_leader(h_raft(&h, id)), 3);
	}
	h_close(&h);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* PreVote (thesis 9.6). */

START_TEST(prevote_leaves_term_and_vote_alone)
{
	struct harness h;
	struct raft *r;
	uint64_t term, vote;
	struct raft_hard_state hs;

	h_init(&h, 3);
	h_bootstrap(&h, 3);
	r = h_raft(&h, 1);
	term = raft_term(r);
	vote = raft_vote(r);
	hs = h_node(&h, 1)->hs;
	/* Nobody answers for ten timeouts. */
	h_isolate(&h, 1);
	for (int t = 0; t < 200; t++) {
		h_tick(&h, 1, 1);
		if (raft_role(r) != RAFT_FOLLOWER)
			ck_assert_int_eq(raft_role(r), RAFT_PRE_CANDIDATE);
		for (size_t i = 0; i < h.n_queue; i++) {
			const struct raft_message *m = &h.queue[i].m;

			ck_assert_uint_eq(m->type, RAFT_MSG_PREVOTE);
			ck_assert_uint_eq(m->term, term + 1);
			ck_assert_uint_eq(m->index, raft_last_index(r));
			ck_assert_uint_eq(m->log_term, t_last_term(r));
		}
		h_deliver_all(&h);
	}
	ck_assert_int_eq(raft_role(r), RAFT_PRE_CANDIDATE);
	ck_assert_uint_eq(raft_term(r), term);
	ck_assert_uint_eq(raft_vote(r), vote);
	ck_assert_uint_eq(h_node(&h, 1)->hs.term, hs.term);
	ck_assert_uint_eq(h_node(&h, 1)->hs.vote, hs.vote);
	h_close(&h);
}
END_TEST

START_TEST(prevote_granted_leads_to_election)
{
	struct harness h;
	struct raft *r;
	uint64_t term;

	h_init(&h, 3);
	h_bootstrap(&h, 3);
	r = h_raft(&h, 1);
	term = raft_term(r);
	while (raft_role(r) == RAFT_FOLLOWER)
		h_tick(&h, 1, 1);
	ck_assert_int_eq(raft_role(r), RAFT_PRE_CANDIDATE);
	ck_assert_uint_eq(raft_term(r), term);
	ck_assert(h_deliver_first(&h, RAFT_MSG_PREVOTE, 1, 2));
	ck_assert(h_deliver_first(&h, RAFT_MSG_PREVOTE_RESP, 2, 1));
	/* A majority of pre-votes: a real campaign in term + 1. */
	ck_assert_int_eq(raft_role(r), RAFT_CANDIDATE);
	ck_assert_uint_eq(raft_term(r), term + 1);
	h_deliver_all(&h);
	ck_assert(raft_is_leader(r));
	ck_assert_uint_eq(raft_term(r), term + 1);
	h_close(&h);
}
END_TEST

START_TEST(prevote_grant_records_no_vote)
{
	struct harness h;
	struct raft *r;

	h_init(&h, 3);
	h_bootstrap(&h, 3);
	r = h_raft(&h, 3);
	ck_assert_int_eq(t_vote(&h, RAFT_MSG_PREVOTE, 3, 1, 2, 3, 1), 1);
	ck_assert_uint_eq(raft_term(r), 1);
	ck_assert_uint_eq(raft_vote(r), 0);
	ck_assert_uint_eq(h_node(&h, 3)->hs.term, 1);
	/* Another pre-candidate of the same term may get a pre-vote too. */
	ck_assert_int_eq(t_vote(&h, RAFT_MSG_PREVOTE, 3, 2, 2, 3, 1), 1);
	ck_assert_uint_eq(raft_term(r), 1);
	h_close(&h);
}
END_TEST

START_TEST(prevote_rejected_for_stale_log)
{
	struct harness h;
	const uint64_t longer[] = { 2, 2 };
	struct raft *r;
	uint64_t term;

	h_init(&h, 3);
	h_preload(&h, 1, 3, NULL, 0, 2, 0);
	h_preload(&h, 2, 3, longer, 2, 2, 0);
	h_preload(&h, 3, 3, longer, 2, 2, 0);
	for (uint64_t id = 1; id <= 3; id++)
		h_start(&h, id);
	h_ready_all(&h);
	r = h_raft(&h, 1);
	term = raft_term(r);
	while (raft_role(r) == RAFT_FOLLOWER)
		h_tick(&h, 1, 1);
	h_deliver_all(&h);
	ck_assert_int_ne(raft_role(r), RAFT_CANDIDATE);
	ck_assert_int_ne(raft_role(r), RAFT_LEADER);
	ck_assert_uint_eq(raft_term(r), term);
	ck_assert_uint_eq(raft_term(h_raft(&h, 2)), term);
	ck_assert_uint_eq(raft_term(h_raft(&h, 3)), term);
	h_close(&h);
}
END_TEST

START_TEST(precandidate_steps_down_on_append_from_leader)
{
	struct harness h;
	struct raft *r;
	struct raft_message m;

	h_init(&h, 3);
	h_bootstrap(&h, 3);
	r = h_raft(&h, 1);
	while (raft_role(r) == RAFT_FOLLOWER)
		h_tick(&h, 1, 1);
	ck_assert_int_eq(raft_role(r), RAFT_PRE_CANDIDATE);
	m = h_msg_make(RAFT_MSG_APPEND, 2, 1, raft_term(r));
	m.index = 3;
	m.log_term = 1;
	ck_assert_int_eq(h_step(&h, &m), 0);
	ck_assert_int_eq(raft_role(r), RAFT_FOLLOWER);
	ck_assert_uint_eq(raft_leader(r), 2);
	h_close(&h);
}
END_TEST

/* Thesis 9.6: a server rejoining after a partition does not depose a
 * working leader. */
START_TEST(prevote_rejoining_node_does_not_disrupt_leader)
{
	struct harness h;
	uint64_t term;

	h_init(&h, 3);
	h_bootstrap(&h, 3);
	h_elect(&h, 1);
	term = raft_term(h_raft(&h, 1));
	h_isolate(&h, 3);
	for (int t = 0; t < 100; t++) {
		h_tick_all(&h, 1);
		h_deliver_all(&h);
	}
	ck_assert_uint_eq(raft_term(h_raft(&h, 3)), term);
	h_heal(&h);
	for (int t = 0; t < 50; t++) {
		h_tick_all(&h, 1);
		h_deliver_all(&h);
		ck_assert_uint_eq(h_leader(&h), 1);
	}
	ck_assert_uint_eq(raft_term(h_raft(&h, 1)), term);
	ck_assert_uint_eq(raft_leader(h_raft(&h, 3)), 1);
	h_commit(&h, 1, "after");
	h_settle(&h);
	ck_assert(h_applied_data(h_node(&h, 3), "after"));
	h_close(&h);
}
END_TEST

/* The contrast: without PreVote (and CheckQuorum) it does. */
START_TEST(without_prevote_rejoining_node_forces_new_term)
{
	struct harness h;
	uint64_t term;

	h_init(&h, 3);
	for (int i = 1; i <= 3; i++) {
		h.nodes[i].cfg.pre_vote = false;
		h.nodes[i].cfg.check_quorum = false;
	}
	h_bootstrap(&h, 3);
	h_elect(&h, 1);
	term = raft_term(h_raft(&h, 1));
	h_isolate(&h, 3);
	for (int t = 0; t < 100; t++) {
		h_tick_all(&h, 1);
		h_deliver_all(&h);
	}
	ck_assert_uint_gt(raft_term(h_raft(&h, 3)), term);
	h_heal(&h);
	h_run_until_leader(&h, raft_term(h_raft(&h, 3)), 200);
	ck_assert_uint_gt(raft_term(h_raft(&h, 1)), term);
	h_check_safety(&h);
	h_close(&h);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* CheckQuorum (thesis 6.2). */

START_TEST(leader_steps_down_without_quorum)
{
	struct harness h;
	struct raft *r;
	unsigned ticks = 0;

	h_init(&h, 5);
	h_bootstrap(&h, 5);
	h_elect(&h, 1);
	r = h_raft(&h, 1);
	/* Nodes 2 and 3 still answer: three of five, stays. */
	h_isolate(&h, 4);
	h_isolate(&h, 5);
	for (int t = 0; t < 60; t++) {
		h_tick(&h, 1, 1);
		h_deliver_all(&h);
		ck_assert(raft_is_leader(r));
	}
	/* Node 3 falls silent too: two of five. */
	h_isolate(&h, 3);
	while (raft_is_leader(r)) {
		h_tick(&h, 1, 1);
		h_deliver_all(&h);
		ck_assert_uint_le(++ticks, 2 * 10 + 1);
	}
	ck_assert_uint_ge(ticks, 1);
	ck_assert_int_eq(raft_role(r), RAFT_FOLLOWER);
	ck_assert_uint_eq(raft_leader(r), 0);
	ck_assert_int_eq(raft_propose(r, "x", 1, NULL, NULL), RAFT_ENOTLEADER);
	h_close(&h);
}
END_TEST

START_TEST(leader_without_check_quorum_stays_isolated)
{
	struct harness h;

	h_init(&h, 3);
	for (int i = 1; i <= 3; i++)
		h.nodes[i].cfg.check_quorum = false;
	h_bootstrap(&h, 3);
	h_elect(&h, 1);
	h_isolate(&h, 1);
	h_tick(&h, 1, 100);
	h_deliver_all(&h);
	ck_assert(raft_is_leader(h_raft(&h, 1)));
	h_close(&h);
}
END_TEST

/* Thesis 4.2.3 / 6.2: a follower that heard from its leader within the
 * election timeout ignores a vote request, even of a higher term. */
START_TEST(follower_in_lease_ignores_vote_request)
{
	struct harness h;
	struct raft *r;
	uint64_t term;

	h_init(&h, 3);
	for (int i = 1; i <= 3; i++)
		h.nodes[i].cfg.pre_vote = false;
	h_bootstrap(&h, 3);
	h_elect(&h, 1);
	r = h_raft(&h, 2);
	term = raft_term(r);
	ck_assert_int_ne(t_vote(&h, RAFT_MSG_VOTE, 2, 3, term + 1,
				raft_last_index(r), t_last_term(r)), 1);
	ck_assert_uint_eq(raft_term(r), term);
	ck_assert_uint_eq(raft_leader(r), 1);
	/* Same for a pre-vote. */
	ck_assert_int_ne(t_vote(&h, RAFT_MSG_PREVOTE, 2, 3, term + 1,
				raft_last_index(r), t_last_term(r)), 1);
	/* Once the lease ran out, it votes. */
	h_isolate(&h, 2);
	h_drop(&h, 0, 0, 0);
	for (int t = 0; t < 10; t++) {
		raft_tick(r);
		h_ready_all(&h);
		h_drop(&h, 0, 0, 0);
	}
	ck_assert_int_eq(t_vote(&h, RAFT_MSG_VOTE, 2, 3, term + 1,
				raft_last_index(r), t_last_term(r)), 1);
	ck_assert_uint_eq(raft_term(r), term + 1);
	h_close(&h);
}
END_TEST

START_TEST(transfer_vote_bypasses_lease)
{
	struct harness h;
	struct raft *r;
	struct raft_message m;
	uint64_t term;
	long i;

	h_init(&h, 3);
	h_bootstrap(&h, 3);
	h_elect(&h, 1);
	r = h_raft(&h, 2);
	term = raft_term(r);
	h_drop(&h, 0, 0, 0);
	m = h_msg_make(RAFT_MSG_VOTE, 3, 2, term + 1);
	m.index = raft_last_index(r);
	m.log_term = t_last_term(r);
	m.transfer = true;
	ck_assert_int_eq(h_step(&h, &m), 0);
	i = h_find(&h, RAFT_MSG_VOTE_RESP, 2, 3);
	ck_assert_int_ge(i, 0);
	ck_assert(!h.queue[i].m.reject);
	ck_assert_uint_eq(raft_term(r), term + 1);
	ck_assert_uint_eq(raft_vote(r), 3);
	h_close(&h);
}
END_TEST

/* A deposed leader learns the new term from the first answer it gets
 * and follows the new leader. */
/* raft_report_leader_lost(): the followers of a dead leader campaign
 * within 3 heartbeats, not a whole election timeout, and elect one of
 * them. */
START_TEST(leader_lost_report_brings_election_forward)
{
	struct harness h;
	uint64_t term;
	unsigned ticks = 0;

	h_init(&h, 3);
	h_bootstrap(&h, 3);
	h_elect(&h, 1);
	term = raft_term(h_raft(&h, 2));
	h_isolate(&h, 1);
	h_drop(&h, 0, 0, 0);
	raft_report_leader_lost(h_raft(&h, 2), 1);
	raft_report_leader_lost(h_raft(&h, 3), 1);
	ck_assert_uint_eq(raft_leader(h_raft(&h, 2)), 0);
	while (h_leader(&h) == 1 || h_leader(&h) == 0) {
		h_tick(&h, 2, 1);
		h_tick(&h, 3, 1);
		h_deliver_all(&h);
		ticks++;
		ck_assert_uint_lt(ticks, 10);   /* the election timeout */
	}
	ck_assert_uint_le(ticks, 3 * h.nodes[2].cfg.heartbeat_ticks + 2);
	ck_assert_uint_gt(raft_term(h_raft(&h, h_leader(&h))), term);
	h_close(&h);
}
END_TEST

/* A report about a node that is not the leader changes nothing, and a
 * wrong report about a live leader costs a pre-vote at most: the other
 * follower still hears the leader and refuses it. */
START_TEST(leader_lost_report_wrong_or_stale_is_harmless)
{
	struct harness h;
	struct raft *r;
	uint64_t term;

	h_init(&h, 3);
	h_bootstrap(&h, 3);
	h_elect(&h, 1);
	r = h_raft(&h, 2);
	term = raft_term(r);
	raft_report_leader_lost(r, 3);
	ck_assert_uint_eq(raft_leader(r), 1);
	raft_report_leader_lost(h_raft(&h, 1), 1);  /* not a follower */
	ck_assert(raft_is_leader(h_raft(&h, 1)));
	raft_report_leader_lost(r, 1);
	ck_assert_uint_eq(raft_leader(r), 0);
	for (int t = 0; t < 12; t++) {
		h_tick_all(&h, 1);
		h_deliver_all(&h);
	}
	ck_assert(raft_is_leader(h_raft(&h, 1)));
	ck_assert_uint_eq(raft_term(h_raft(&h, 1)), term);
	ck_assert_uint_eq(raft_leader(r), 1);
	h_check_safety(&h);
	h_close(&h);
}
END_TEST

START_TEST(deposed_leader_follows_new_leader_after_heal)
{
	struct harness h;
	uint64_t l, term;

	h_init(&h, 3);
	h.nodes[1].cfg.check_quorum = false;
	h_bootstrap(&h, 3);
	h_elect(&h, 1);
	term = raft_term(h_raft(&h, 1));
	h_isolate(&h, 1);
	/* Only nodes 2 and 3 tick. */
	l = 0;
	for (int t = 0; t < 200 && l == 0; t++) {
		raft_tick(h_raft(&h, 2));
		raft_tick(h_raft(&h, 3));
		h_ready_all(&h);
		h_deliver_all(&h);
		if (raft_is_leader(h_raft(&h, 2)))
			l = 2;
		else if (raft_is_leader(h_raft(&h, 3)))
			l = 3;
	}
	ck_assert_uint_ne(l, 0);
	ck_assert(raft_is_leader(h_raft(&h, 1)));
	h_commit(&h, l, "new");
	h_heal(&h);
	h_tick(&h, 1, 1);
	h_deliver_all(&h);
	ck_assert_int_eq(raft_role(h_raft(&h, 1)), RAFT_FOLLOWER);
	ck_assert_uint_gt(raft_term(h_raft(&h, 1)), term);
	h_settle(&h);
	ck_assert_uint_eq(raft_leader(h_raft(&h, 1)), l);
	ck_assert(h_applied_data(h_node(&h, 1), "new"));
	h_check_safety(&h);
	h_close(&h);
}
END_TEST

Suite *raft_election_suite(void)
{
	Suite *s = suite_create("raft_election");

	T_ADD(s, election_timeout_randomized_within_range);
	T_ADD(s, election_timeout_reproducible_from_seed);
	T_ADD(s, cluster_elections_reproducible_from_seeds);
	T_ADD(s, follower_campaigns_after_election_timeout);
	T_ADD(s, vote_persisted_in_same_ready_as_vote_response);
	T_ADD(s, candidate_wins_with_majority_of_votes);
	T_ADD(s, candidate_loses_without_majority);
	T_ADD(s, candidate_starts_new_election_after_split_vote);
	T_ADD(s, single_voter_elects_itself);
	T_ADD(s, new_leader_appends_noop_of_its_term);
	T_ADD(s, vote_granted_at_most_once_per_term);
	T_ADD(s, vote_survives_restart);
	T_ADD(s, vote_rejected_when_candidate_last_term_older);
	T_ADD(s, vote_rejected_when_candidate_log_shorter_in_same_term);
	T_ADD(s, vote_granted_when_candidate_last_term_newer_with_shorter_log);
	T_ADD(s, elected_leader_holds_all_committed_entries);
	T_ADD(s, candidate_steps_down_on_higher_term);
	T_ADD(s, candidate_steps_down_on_append_from_leader_of_same_term);
	T_ADD(s, higher_term_clears_vote);
	T_ADD(s, follower_rejects_stale_term_append);
	T_ADD(s, stale_term_vote_not_granted);
	T_ADD(s, leader_steps_down_on_higher_term_response);
	T_ADD(s, leader_sends_heartbeat_every_heartbeat_interval);
	T_ADD(s, followers_of_live_leader_never_campaign);
	return s;
}

Suite *raft_prevote_suite(void)
{
	Suite *s = suite_create("raft_prevote");

	T_ADD(s, prevote_leaves_term_and_vote_alone);
	T_ADD(s, prevote_granted_leads_to_election);
	T_ADD(s, prevote_grant_records_no_vote);
	T_ADD(s, prevote_rejected_for_stale_log);
	T_ADD(s, precandidate_steps_down_on_append_from_leader);
	T_ADD(s, prevote_rejoining_node_does_not_disrupt_leader);
	T_ADD(s, without_prevote_rejoining_node_forces_new_term);
	return s;
}

Suite *raft_check_quorum_suite(void)
{
	Suite *s = suite_create("raft_check_quorum");

	T_ADD(s, leader_steps_down_without_quorum);
	T_ADD(s, leader_without_check_quorum_stays_isolated);
	T_ADD(s, follower_in_lease_ignores_vote_request);
	T_ADD(s, transfer_vote_bypasses_lease);
	T_ADD(s, deposed_leader_follows_new_leader_after_heal);
	T_ADD(s, leader_lost_report_brings_election_forward);
	T_ADD(s, leader_lost_report_wrong_or_stale_is_harmless);
	return s;
}
