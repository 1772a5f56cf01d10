/*
 * tests/unit/test_raft_read.c: ReadIndex (thesis 6.4) and leadership
 * transfer (thesis 3.10).
 */
#include <stdio.h>
#include <string.h>

#include "tests/unit/test_raft.h"

static void t_cluster(struct harness *h, size_t n, uint64_t leader)
{
	h_init(h, n);
	h_bootstrap(h, n);
	h_elect(h, leader);
}

/* ---------------------------------------------------------------------- */
/* ReadIndex. */

START_TEST(leader_read_confirmed_by_heartbeat_quorum)
{
	struct harness h;
	struct raft *l;
	uint64_t idx, ri = 0;
	long i;

	t_cluster(&h, 3, 1);
	l = h_raft(&h, 1);
	idx = h_commit(&h, 1, "w");
	h_settle(&h);
	ck_assert_int_eq(raft_read_index(l, 42), 0);
	h_ready_all(&h);
	/* Not before a majority confirmed the leadership. */
	ck_assert_uint_eq(h_reads_with(h_node(&h, 1), 42, NULL), 0);
	i = h_find(&h, RAFT_MSG_HEARTBEAT, 1, 2);
	ck_assert_int_ge(i, 0);
	ck_assert_uint_ne(h.queue[i].m.context, 0);
	ck_assert_uint_eq(h_count(&h, RAFT_MSG_HEARTBEAT, 1, 3), 1);
	h_drop(&h, RAFT_MSG_HEARTBEAT, 1, 3);
	ck_assert(h_deliver_first(&h, RAFT_MSG_HEARTBEAT, 1, 2));
	ck_assert(h_deliver_first(&h, RAFT_MSG_HEARTBEAT_RESP, 2, 1));
	ck_assert_uint_eq(h_reads_with(h_node(&h, 1), 42, &ri), 1);
	ck_assert_uint_eq(ri, idx);
	/* Served once only. */
	h_settle(&h);
	ck_assert_uint_eq(h_reads_with(h_node(&h, 1), 42, NULL), 1);
	h_close(&h);
}
END_TEST

START_TEST(leader_read_not_served_without_quorum)
{
	struct harness h;

	t_cluster(&h, 3, 1);
	h_isolate(&h, 1);
	ck_assert_int_eq(raft_read_index(h_raft(&h, 1), 5), 0);
	h_deliver_all(&h);
	for (int t = 0; t < 5; t++) {
		h_tick(&h, 1, 1);
		h_deliver_all(&h);
	}
	ck_assert_uint_eq(h_reads_with(h_node(&h, 1), 5, NULL), 0);
	h_close(&h);
}
END_TEST

static bool t_drop_appends(void *ctx, const struct raft_message *m)
{
	(void)ctx;
	return m->type == RAFT_MSG_APPEND;
}

/* Thesis 6.4: a new leader answers reads only once it has committed an
 * entry of its own term (before, it may not know the commit index). */
START_TEST(new_leader_reads_wait_for_commit_in_its_term)
{
	struct harness h;
	struct raft *l;
	uint64_t noop, ri = 0;

	h_init(&h, 3);
	h_bootstrap(&h, 3);
	l = h_raft(&h, 1);
	while (raft_role(l) == RAFT_FOLLOWER)
		h_tick(&h, 1, 1);
	h_deliver_types(&h, H_VOTES);
	ck_assert(raft_is_leader(l));
	noop = raft_last_index(l);
	ck_assert_uint_lt(raft_commit_index(l), noop);
	ck_assert_int_eq(raft_read_index(l, 7), 0);
	/* Heartbeats answered, but the no-op does not reach anybody. */
	h.filter = t_drop_appends;
	for (int t = 0; t < 5; t++) {
		h_tick(&h, 1, 1);
		h_deliver_all(&h);
	}
	ck_assert_uint_eq(h_reads_with(h_node(&h, 1), 7, NULL), 0);
	h.filter = NULL;
	h_settle(&h);
	ck_assert_uint_eq(h_reads_with(h_node(&h, 1), 7, &ri), 1);
	ck_assert_uint_ge(ri, noop);
	h_close(&h);
}
END_TEST

START_TEST(follower_read_forwarded_to_leader)
{
	struct harness h;
	uint64_t idx, ri = 0;
	long i;

	t_cluster(&h, 3, 1);
	idx = h_commit(&h, 1, "w");
	h_settle(&h);
	ck_assert_int_eq(raft_read_index(h_raft(&h, 2), 99), 0);
	h_ready_all(&h);
	i = h_find(&h, RAFT_MSG_READ_INDEX, 2, 1);
	ck_assert_int_ge(i, 0);
	ck_assert_uint_eq(h.queue[i].m.context, 99);
	h_deliver_all(&h);
	ck_assert_uint_eq(h_reads_with(h_node(&h, 2), 99, &ri), 1);
	ck_assert_uint_eq(ri, idx);
	ck_assert_uint_eq(h_reads_with(h_node(&h, 1), 99, NULL), 0);
	ck_assert_uint_ge(h_node(&h, 2)->applied, ri);
	h_close(&h);
}
END_TEST

START_TEST(learner_read_forwarded_to_leader)
{
	struct harness h;
	uint64_t idx, ri = 0;

	h_init(&h, 4);
	h_bootstrap(&h, 3);
	h_elect(&h, 1);
	ck_assert_int_eq(raft_propose_conf_change(h_raft(&h, 1),
						  RAFT_CONF_ADD_LEARNER, 4,
						  NULL),
			 0);
	h_ready_all(&h);
	h_settle(&h);
	idx = h_commit(&h, 1, "w");
	h_settle(&h);
	ck_assert_int_eq(raft_read_index(h_raft(&h, 4), 3), 0);
	h_ready_all(&h);
	h_deliver_all(&h);
	ck_assert_uint_eq(h_reads_with(h_node(&h, 4), 3, &ri), 1);
	ck_assert_uint_ge(ri, idx);
	h_close(&h);
}
END_TEST

START_TEST(read_without_leader_fails)
{
	struct harness h;
	struct raft *r;

	h_init(&h, 3);
	for (int i = 1; i <= 3; i++)
		h.nodes[i].cfg.pre_vote = false;
	h_bootstrap(&h, 3);
	ck_assert_int_eq(raft_read_index(h_raft(&h, 2), 1), RAFT_ENOTLEADER);
	r = h_raft(&h, 1);
	while (raft_role(r) != RAFT_CANDIDATE)
		h_tick(&h, 1, 1);
	ck_assert_int_eq(raft_read_index(r, 1), RAFT_ENOTLEADER);
	h_close(&h);
}
END_TEST

START_TEST(single_voter_read_served_at_once)
{
	struct harness h;
	uint64_t ri = 0, idx;

	h_init(&h, 1);
	h_bootstrap(&h, 1);
	h_elect(&h, 1);
	idx = h_commit(&h, 1, "w");
	ck_assert_int_eq(raft_read_index(h_raft(&h, 1), 11), 0);
	h_ready_all(&h);
	ck_assert_uint_eq(h_reads_with(h_node(&h, 1), 11, &ri), 1);
	ck_assert_uint_eq(ri, idx);
	h_close(&h);
}
END_TEST

/* Linearizability: a read's index covers every write acknowledged before
 * the read began. */
START_TEST(read_index_covers_acknowledged_writes)
{
	struct harness h;
	uint64_t prev = 0;
	char buf[16];

	t_cluster(&h, 5, 2);
	for (uint64_t k = 1; k <= 10; k++) {
		uint64_t w, ri = 0, who = k % 5 + 1;

		snprintf(buf, sizeof(buf), "w%llu", (unsigned long long)k);
		w = h_commit(&h, 2, buf);
		ck_assert_int_eq(raft_read_index(h_raft(&h, who), k), 0);
		h_ready_all(&h);
		h_deliver_all(&h);
		if (h_reads_with(h_node(&h, who), k, &ri) == 0) {
			h_settle(&h);
			ck_assert_uint_eq(h_reads_with(h_node(&h, who), k,
						       &ri),
					  1);
		}
		ck_assert_uint_ge(ri, w);
		ck_assert_uint_ge(ri, prev);
		prev = ri;
	}
	h_close(&h);
}
END_TEST

START_TEST(reads_released_in_order)
{
	struct harness h;
	struct raft *l;
	uint64_t last = 0;

	t_cluster(&h, 3, 1);
	l = h_raft(&h, 1);
	for (uint64_t c = 1; c <= 6; c++) {
		ck_assert_int_eq(raft_read_index(l, c), 0);
		if (c % 2 == 0)
			h_propose(&h, 1, "between");
		h_ready_all(&h);
	}
	h_settle(&h);
	ck_assert_uint_eq(h_node(&h, 1)->n_reads, 6);
	for (size_t i = 0; i < 6; i++) {
		ck_assert_uint_eq(h_node(&h, 1)->reads[i].context, i + 1);
		ck_assert_uint_ge(h_node(&h, 1)->reads[i].index, last);
		last = h_node(&h, 1)->reads[i].index;
	}
	h_close(&h);
}
END_TEST

/* A deposed leader must not answer a read with an index older than
 * writes committed by its successor. */
START_TEST(deposed_leader_serves_no_stale_read)
{
	struct harness h;
	uint64_t w = 0, ri = 0;

	h_init(&h, 3);
	h.nodes[1].cfg.check_quorum = false;
	h_bootstrap(&h, 3);
	h_elect(&h, 1);
	h_isolate(&h, 1);
	for (int t = 0; t < 300 && w == 0; t++) {
		raft_tick(h_raft(&h, 2));
		raft_tick(h_raft(&h, 3));
		h_ready_all(&h);
		h_deliver_all(&h);
		if (raft_is_leader(h_raft(&h, 2)))
			w = h_commit(&h, 2, "new");
		else if (raft_is_leader(h_raft(&h, 3)))
			w = h_commit(&h, 3, "new");
	}
	ck_assert_uint_ne(w, 0);
	ck_assert(raft_is_leader(h_raft(&h, 1)));
	ck_assert_int_eq(raft_read_index(h_raft(&h, 1), 5), 0);
	for (int t = 0; t < 5; t++) {
		h_tick(&h, 1, 1);
		h_deliver_all(&h);
	}
	ck_assert_uint_eq(h_reads_with(h_node(&h, 1), 5, NULL), 0);
	h_heal(&h);
	for (int t = 0; t < 5; t++) {
		h_tick_all(&h, 1);
		h_deliver_all(&h);
	}
	ck_assert(!raft_is_leader(h_raft(&h, 1)));
	if (h_reads_with(h_node(&h, 1), 5, &ri) > 0)
		ck_assert_uint_ge(ri, w);
	h_close(&h);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Leadership transfer (thesis 3.10). */

START_TEST(transfer_to_up_to_date_follower_sends_timeout_now)
{
	struct harness h;
	struct raft *l;
	uint64_t term;

	t_cluster(&h, 3, 1);
	l = h_raft(&h, 1);
	/* PreVote and CheckQuorum on: the transfer still goes through. */
	ck_assert(h.nodes[2].cfg.pre_vote && h.nodes[2].cfg.check_quorum);
	term = raft_term(l);
	h_drop(&h, 0, 0, 0);
	ck_assert_int_eq(raft_transfer_leadership(l, 2), 0);
	ck_assert_uint_eq(raft_transfer_target(l), 2);
	h_ready_all(&h);
	ck_assert_uint_eq(h_count(&h, RAFT_MSG_TIMEOUT_NOW, 1, 2), 1);
	ck_assert_uint_eq(h.queue[h_find(&h, RAFT_MSG_TIMEOUT_NOW, 1, 2)]
				  .m.term,
			  term);
	h_deliver_all(&h);
	ck_assert(raft_is_leader(h_raft(&h, 2)));
	ck_assert_uint_eq(raft_term(h_raft(&h, 2)), term + 1);
	ck_assert(!raft_is_leader(l));
	ck_assert_uint_eq(raft_transfer_target(l), 0);
	h_settle(&h);
	ck_assert_uint_eq(raft_leader(l), 2);
	h_commit(&h, 2, "after transfer");
	h_close(&h);
}
END_TEST

struct t_transfer_seen {
	struct harness *h;
	bool sent;
	bool caught_up;
};

static void t_watch_timeout_now(void *ctx, uint64_t id,
				const struct raft_ready *rd)
{
	struct t_transfer_seen *s = ctx;

	if (id != 1)
		return;
	for (size_t i = 0; i < rd->n_messages; i++)
		if (rd->messages[i].type == RAFT_MSG_TIMEOUT_NOW &&
		    !s->sent) {
			s->sent = true;
			s->caught_up = h_log_last(h_node(s->h, 3)) ==
				       raft_last_index(h_raft(s->h, 1));
		}
}

START_TEST(transfer_to_lagging_follower_catches_it_up_first)
{
	struct harness h;
	struct t_transfer_seen s = { &h, false, false };
	char buf[16];

	t_cluster(&h, 3, 1);
	h_isolate(&h, 3);
	for (int i = 0; i < 5; i++) {
		snprintf(buf, sizeof(buf), "t%d", i);
		h_commit(&h, 1, buf);
	}
	h_heal(&h);
	h.on_ready = t_watch_timeout_now;
	h.on_ready_ctx = &s;
	ck_assert_int_eq(raft_transfer_leadership(h_raft(&h, 1), 3), 0);
	h_ready_all(&h);
	ck_assert_uint_eq(h_count(&h, RAFT_MSG_TIMEOUT_NOW, 0, 0), 0);
	for (int t = 0; t < 9 && !raft_is_leader(h_raft(&h, 3)); t++) {
		h_deliver_all(&h);
		if (!raft_is_leader(h_raft(&h, 3)))
			h_tick(&h, 1, 1);
	}
	ck_assert(s.sent);
	ck_assert(s.caught_up);
	ck_assert(raft_is_leader(h_raft(&h, 3)));
	h_settle(&h);
	ck_assert(h_applied_data(h_node(&h, 3), "t4"));
	h_check_safety(&h);
	h_close(&h);
}
END_TEST

START_TEST(proposals_refused_during_transfer)
{
	struct harness h;
	struct raft *l;
	uint64_t last;

	t_cluster(&h, 4, 1);
	l = h_raft(&h, 1);
	h_isolate(&h, 3);
	h_commit(&h, 1, "w");
	ck_assert_int_eq(raft_transfer_leadership(l, 3), 0);
	last = raft_last_index(l);
	ck_assert_int_eq(raft_propose(l, "x", 1, NULL, NULL), RAFT_EBUSY);
	ck_assert_int_eq(raft_propose_conf_change(l, RAFT_CONF_REMOVE, 4,
						  NULL),
			 RAFT_EBUSY);
	ck_assert_uint_eq(raft_last_index(l), last);
	/* Asking again for the same target is fine. */
	ck_assert_int_eq(raft_transfer_leadership(l, 3), 0);
	h_close(&h);
}
END_TEST

START_TEST(transfer_aborted_after_election_timeout)
{
	struct harness h;
	struct raft *l;
	unsigned t = 0;

	t_cluster(&h, 3, 1);
	l = h_raft(&h, 1);
	h_isolate(&h, 3);
	h_commit(&h, 1, "w");
	ck_assert_int_eq(raft_transfer_leadership(l, 3), 0);
	while (raft_transfer_target(l) != 0) {
		h_tick(&h, 1, 1);
		h_deliver_all(&h);
		ck_assert_uint_le(++t, 10);
	}
	ck_assert_uint_ge(t, 1);
	ck_assert(raft_is_leader(l));
	h_commit(&h, 1, "accepted again");
	h_close(&h);
}
END_TEST

START_TEST(transfer_aborted_when_target_removed)
{
	struct harness h;
	struct raft *l;

	t_cluster(&h, 3, 1);
	l = h_raft(&h, 1);
	h_isolate(&h, 3);
	ck_assert_int_eq(raft_propose_conf_change(l, RAFT_CONF_REMOVE, 3,
						  NULL),
			 0);
	ck_assert_int_eq(raft_transfer_leadership(l, 3), 0);
	h_ready_all(&h);
	h_deliver_all(&h);
	ck_assert(!raft_conf_is_voter(raft_conf(l), 3));
	ck_assert_uint_eq(raft_transfer_target(l), 0);
	ck_assert(raft_is_leader(l));
	h_commit(&h, 1, "two voters");
	h_close(&h);
}
END_TEST

START_TEST(transfer_arguments_checked)
{
	struct harness h;
	struct raft *l;

	h_init(&h, 4);
	h_bootstrap(&h, 3);
	h_elect(&h, 1);
	l = h_raft(&h, 1);
	ck_assert_int_eq(raft_propose_conf_change(l, RAFT_CONF_ADD_LEARNER, 4,
						  NULL),
			 0);
	h_ready_all(&h);
	h_settle(&h);
	ck_assert_int_eq(raft_transfer_leadership(l, 1), RAFT_EINVAL);
	ck_assert_int_eq(raft_transfer_leadership(l, 4), RAFT_EINVAL);
	ck_assert_int_eq(raft_transfer_leadership(l, 9), RAFT_EINVAL);
	ck_assert_int_eq(raft_transfer_leadership(l, 0), RAFT_EINVAL);
	ck_assert_uint_eq(raft_transfer_target(l), 0);
	ck_assert_int_eq(raft_transfer_leadership(h_raft(&h, 2), 3),
			 RAFT_ENOTLEADER);
	h_close(&h);
}
END_TEST

Suite *raft_read_suite(void)
{
	Suite *s = suite_create("raft_read");

	T_ADD(s, leader_read_confirmed_by_heartbeat_quorum);
	T_ADD(s, leader_read_not_served_without_quorum);
	T_ADD(s, new_leader_reads_wait_for_commit_in_its_term);
	T_ADD(s, follower_read_forwarded_to_leader);
	T_ADD(s, learner_read_forwarded_to_leader);
	T_ADD(s, read_without_leader_fails);
	T_ADD(s, single_voter_read_served_at_once);
	T_ADD(s, read_index_covers_acknowledged_writes);
	T_ADD(s, reads_released_in_order);
	T_ADD(s, deposed_leader_serves_no_stale_read);
	return s;
}

Suite *raft_transfer_suite(void)
{
	Suite *s = suite_create("raft_transfer");

	T_ADD(s, transfer_to_up_to_date_follower_sends_timeout_now);
	T_ADD(s, transfer_to_lagging_follower_catches_it_up_first);
	T_ADD(s, proposals_refused_during_transfer);
	T_ADD(s, transfer_aborted_after_election_timeout);
	T_ADD(s, transfer_aborted_when_target_removed);
	T_ADD(s, transfer_arguments_checked);
	return s;
}
