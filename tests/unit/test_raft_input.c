/*
 * tests/unit/test_raft_input.c: bad input from peers. Whatever a peer
 * sends, raft_step returns 0 or RAFT_EINVAL, nothing crashes, and the
 * node's state stays sane (the harness checks every Ready).
 */
#include <stdio.h>
#include <string.h>

#include "tests/unit/test_raft.h"

static void t_cluster(struct harness *h, size_t n, uint64_t leader)
{
	h_init(h, n);
	h_bootstrap(h, n);
	h_elect(h, leader);
	h_drop(h, 0, 0, 0);
}

struct t_state {
	uint64_t term, vote, commit, last, first;
	enum raft_role role;
};

static struct t_state t_state_of(const struct raft *r)
{
	struct t_state s;

	s.term = raft_term(r);
	s.vote = raft_vote(r);
	s.commit = raft_commit_index(r);
	s.last = raft_last_index(r);
	s.first = raft_first_index(r);
	s.role = raft_role(r);
	return s;
}

static void t_state_same(const struct raft *r, const struct t_state *s)
{
	ck_assert_uint_eq(raft_term(r), s->term);
	ck_assert_uint_eq(raft_vote(r), s->vote);
	ck_assert_uint_eq(raft_commit_index(r), s->commit);
	ck_assert_uint_eq(raft_last_index(r), s->last);
	ck_assert_uint_eq(raft_first_index(r), s->first);
	ck_assert_int_eq(raft_role(r), s->role);
}

static void t_step_ok_or_einval(struct harness *h, const struct raft_message *m)
{
	int rc = raft_step(h_raft(h, m->to), m);

	ck_assert_msg(rc == 0 || rc == RAFT_EINVAL, "raft_step: %s",
		      raft_strerror(rc));
	h_ready_all(h);
}

START_TEST(message_with_bad_type_rejected)
{
	static const uint32_t bad[] = { 0, RAFT_MSG_TYPE_MAX + 1, 100,
					UINT32_MAX };
	struct harness h;
	struct t_state s;

	t_cluster(&h, 3, 1);
	for (uint64_t id = 1; id <= 2; id++) {
		struct raft *r = h_raft(&h, id);

		s = t_state_of(r);
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			struct raft_message m = h_msg_make(
				bad[i], id == 1 ? 2 : 1, id, s.term + 1);

			ck_assert_int_eq(raft_step(r, &m), RAFT_EINVAL);
			ck_assert(!raft_has_ready(r));
			t_state_same(r, &s);
		}
	}
	h_close(&h);
}
END_TEST

/* Indexes and terms past RAFT_INDEX_MAX, or entries that would pass it,
 * are refused whole: no index computation on peer input may wrap (a
 * snapshot at UINT64_MAX once made raft_advance() loop forever). */
START_TEST(message_with_index_past_max_rejected)
{
	static const uint64_t bad[] = { RAFT_INDEX_MAX + 1, UINT64_MAX };
	struct harness h;
	struct raft *r;
	struct t_state s;
	struct raft_entry e = { 0, 0, RAFT_ENTRY_NORMAL, 1, (uint8_t *)"n" };

	t_cluster(&h, 3, 1);
	r = h_raft(&h, 2);
	s = t_state_of(r);
	for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
		for (int field = 0; field < 9; field++) {
			struct raft_message m = h_msg_make(
				field < 7 ? RAFT_MSG_HEARTBEAT
					  : RAFT_MSG_SNAPSHOT,
				1, 2, s.term);

			switch (field) {
			case 0: m.term = bad[b]; break;
			case 1: m.log_term = bad[b]; break;
			case 2: m.index = bad[b]; break;
			case 3: m.commit = bad[b]; break;
			case 4: m.reject_hint = bad[b]; break;
			case 5: m.hint_term = bad[b]; break;
			case 6: m.type = RAFT_MSG_APPEND;
				m.index = RAFT_INDEX_MAX;
				m.log_term = s.term;
				e.index = RAFT_INDEX_MAX + 1;
				e.term = s.term;
				m.entries = &e;
				m.n_entries = 1;
				break;
			case 7: m.snapshot.index = bad[b];
				m.snapshot.term = 1;
				m.snapshot.conf = *raft_conf(r);
				break;
			default: m.snapshot.index = 100;
				m.snapshot.term = bad[b];
				break;
			}
			ck_assert_msg(raft_step(r, &m) == RAFT_EINVAL,
				      "field %d value %llu accepted", field,
				      (unsigned long long)bad[b]);
			ck_assert(!raft_has_ready(r));
			t_state_same(r, &s);
		}
	}
	h_close(&h);
}
END_TEST

START_TEST(message_with_bad_addresses_rejected)
{
	struct harness h;
	struct raft *r;
	struct t_state s;
	struct raft_message m;

	t_cluster(&h, 3, 1);
	r = h_raft(&h, 2);
	s = t_state_of(r);
	/* Not for this node. */
	m = h_msg_make(RAFT_MSG_HEARTBEAT, 1, 3, s.term + 5);
	ck_assert_int_eq(raft_step(r, &m), RAFT_EINVAL);
	m.to = 0;
	ck_assert_int_eq(raft_step(r, &m), RAFT_EINVAL);
	/* From nobody, or from itself. */
	m = h_msg_make(RAFT_MSG_HEARTBEAT, 0, 2, s.term + 5);
	ck_assert_int_eq(raft_step(r, &m), RAFT_EINVAL);
	m.from = 2;
	ck_assert_int_eq(raft_step(r, &m), RAFT_EINVAL);
	ck_assert(!raft_has_ready(r));
	t_state_same(r, &s);
	h_close(&h);
}
END_TEST

/* Answers from nodes outside the configuration count for nothing. */
START_TEST(unknown_sender_cannot_move_commit)
{
	struct harness h;
	struct raft *l;
	struct raft_message m;
	uint64_t idx;

	t_cluster(&h, 3, 1);
	l = h_raft(&h, 1);
	h_isolate(&h, 1);
	idx = h_propose(&h, 1, "x");
	h_deliver_all(&h);
	for (uint64_t from = 7; from <= 9; from++) {
		m = h_msg_make(RAFT_MSG_APPEND_RESP, from, 1, raft_term(l));
		m.index = idx;
		t_step_ok_or_einval(&h, &m);
		m = h_msg_make(RAFT_MSG_HEARTBEAT_RESP, from, 1, raft_term(l));
		m.context = 1;
		t_step_ok_or_einval(&h, &m);
		m = h_msg_make(RAFT_MSG_READ_INDEX, from, 1, raft_term(l));
		m.context = 5;
		t_step_ok_or_einval(&h, &m);
	}
	ck_assert_uint_lt(raft_commit_index(l), idx);
	ck_assert(raft_is_leader(l));
	ck_assert_uint_eq(h_count(&h, RAFT_MSG_READ_INDEX_RESP, 1, 0), 0);
	h_close(&h);
}
END_TEST

START_TEST(unknown_sender_votes_do_not_elect)
{
	struct harness h;
	struct raft *r;

	h_init(&h, 3);
	for (int i = 1; i <= 3; i++)
		h.nodes[i].cfg.pre_vote = false;
	h_bootstrap(&h, 3);
	r = h_raft(&h, 1);
	while (raft_role(r) != RAFT_CANDIDATE)
		h_tick(&h, 1, 1);
	for (uint64_t from = 4; from <= 40; from++) {
		struct raft_message m = h_msg_make(RAFT_MSG_VOTE_RESP, from, 1,
						   raft_term(r));

		t_step_ok_or_einval(&h, &m);
		ck_assert_int_eq(raft_role(r), RAFT_CANDIDATE);
	}
	h_close(&h);
}
END_TEST

/* Rejections from strangers must not crowd out the real voters. */
START_TEST(unknown_sender_rejections_do_not_block_election)
{
	struct harness h;
	struct raft *r;

	h_init(&h, 3);
	for (int i = 1; i <= 3; i++)
		h.nodes[i].cfg.pre_vote = false;
	h_bootstrap(&h, 3);
	r = h_raft(&h, 1);
	while (raft_role(r) != RAFT_CANDIDATE)
		h_tick(&h, 1, 1);
	for (uint64_t from = 100; from < 100 + 2 * RAFT_NODES_MAX; from++) {
		struct raft_message m = h_msg_make(RAFT_MSG_VOTE_RESP, from, 1,
						   raft_term(r));

		m.reject = true;
		t_step_ok_or_einval(&h, &m);
	}
	ck_assert_int_eq(raft_role(r), RAFT_CANDIDATE);
	h_deliver_all(&h);
	ck_assert(raft_is_leader(r));
	h_close(&h);
}
END_TEST

START_TEST(append_with_prev_far_beyond_log_rejected)
{
	static const uint64_t prevs[] = { 1000, UINT64_MAX / 2,
					  UINT64_MAX - 1, UINT64_MAX };
	struct harness h;
	struct raft *r;
	struct t_state s;

	t_cluster(&h, 3, 1);
	r = h_raft(&h, 2);
	s = t_state_of(r);
	for (size_t i = 0; i < sizeof(prevs) / sizeof(prevs[0]); i++) {
		struct raft_message m = h_msg_make(RAFT_MSG_APPEND, 1, 2,
						   s.term);
		long k;

		m.index = prevs[i];
		m.log_term = s.term;
		m.commit = UINT64_MAX;
		t_step_ok_or_einval(&h, &m);
		t_state_same(r, &s);
		k = h_find(&h, RAFT_MSG_APPEND_RESP, 2, 1);
		if (k >= 0) {
			ck_assert(h.queue[k].m.reject);
			ck_assert_uint_eq(h.queue[k].m.reject_hint, s.last + 1);
		}
		h_drop(&h, 0, 0, 0);
	}
	h_close(&h);
}
END_TEST

/* A new node (empty log, commit 0) told that its entry 0 has a term:
 * rejected at once (this used to loop through 2^64 indexes). */
START_TEST(append_with_prev_zero_to_empty_node_rejected)
{
	struct harness h;
	struct raft *r;
	struct raft_entry e = { 2, 1, RAFT_ENTRY_NORMAL, 1, (uint8_t *)"a" };
	struct raft_message m;
	long i;

	h_init(&h, 2);
	h_start(&h, 2);
	r = h_raft(&h, 2);
	m = h_msg_make(RAFT_MSG_APPEND, 1, 2, 2);
	m.index = 0;
	m.log_term = 1;
	m.entries = &e;
	m.n_entries = 1;
	m.commit = 1;
	t_step_ok_or_einval(&h, &m);
	ck_assert_uint_eq(raft_last_index(r), 0);
	ck_assert_uint_eq(raft_commit_index(r), 0);
	i = h_find(&h, RAFT_MSG_APPEND_RESP, 2, 1);
	if (i >= 0) {
		ck_assert(h.queue[i].m.reject);
		ck_assert_uint_le(h.queue[i].m.reject_hint, 1);
	}
	h_drop(&h, 0, 0, 0);
	/* The right prev (index 0, term 0) is accepted. */
	m.log_term = 0;
	ck_assert_int_eq(h_step(&h, &m), 0);
	ck_assert_uint_eq(raft_last_index(r), 1);
	ck_assert_uint_eq(raft_commit_index(r), 1);
	h_close(&h);
}
END_TEST

/* Committed entries are never overwritten, whatever an APPEND says. */
START_TEST(append_below_commit_cannot_overwrite)
{
	struct harness h;
	struct raft *r;
	struct raft_entry e[2] = {
		{ 0, 3, RAFT_ENTRY_NORMAL, 1, (uint8_t *)"q" },
		{ 0, 4, RAFT_ENTRY_NORMAL, 1, (uint8_t *)"q" },
	};
	struct raft_message m;
	uint64_t t3, t4;

	t_cluster(&h, 3, 1);
	h_commit(&h, 1, "a");
	h_settle(&h);
	r = h_raft(&h, 2);
	ck_assert_uint_ge(raft_commit_index(r), 4);
	ck_assert(raft_log_term(r, 3, &t3));
	ck_assert(raft_log_term(r, 4, &t4));
	e[0].term = e[1].term = raft_term(r);
	m = h_msg_make(RAFT_MSG_APPEND, 1, 2, raft_term(r));
	m.index = 2;
	m.log_term = 1;
	m.entries = e;
	m.n_entries = 2;
	m.commit = 4;
	t_step_ok_or_einval(&h, &m);
	ck_assert_uint_eq(raft_log_entry(r, 3)->term, t3);
	ck_assert_uint_eq(raft_log_entry(r, 4)->term, t4);
	ck_assert_uint_eq(h_log_at(h_node(&h, 2), 3)->term, t3);
	h_close(&h);
}
END_TEST

START_TEST(append_with_prev_below_snapshot_is_harmless)
{
	struct harness h;
	struct raft *r;
	struct raft_entry e = { 0, 3, RAFT_ENTRY_NORMAL, 1, (uint8_t *)"q" };
	struct raft_message m;
	uint64_t si;

	t_cluster(&h, 3, 1);
	for (int i = 0; i < 4; i++)
		h_commit(&h, 1, "a");
	h_settle(&h);
	r = h_raft(&h, 2);
	si = h_node(&h, 2)->applied;
	ck_assert_int_eq(h_compact(&h, 2, si), 0);
	e.term = raft_term(r);
	m = h_msg_make(RAFT_MSG_APPEND, 1, 2, raft_term(r));
	m.index = 2;
	m.log_term = 1;
	m.entries = &e;
	m.n_entries = 1;
	m.commit = si;
	t_step_ok_or_einval(&h, &m);
	ck_assert_uint_eq(raft_first_index(r), si + 1);
	ck_assert_uint_eq(raft_commit_index(r), si);
	m.n_entries = 0;
	m.entries = NULL;
	m.index = si - 1;
	m.log_term = 7;
	t_step_ok_or_einval(&h, &m);
	ck_assert_uint_eq(raft_first_index(r), si + 1);
	/* The cluster goes on. */
	h_drop(&h, 0, 0, 0);
	h_commit(&h, 1, "b");
	h_settle(&h);
	ck_assert(h_applied_data(h_node(&h, 2), "b"));
	h_close(&h);
}
END_TEST

/* A commit index far beyond the log is clamped, never trusted. */
START_TEST(commit_far_past_log_clamped)
{
	struct harness h;
	struct raft *r;
	struct raft_message m;
	struct raft_entry e = { 0, 0, RAFT_ENTRY_NORMAL, 1, (uint8_t *)"n" };
	uint64_t last;

	h_init(&h, 3);
	h_preload(&h, 2, 3, (const uint64_t[]){ 2, 2 }, 2, 2, 0);
	h_start(&h, 2);
	h_ready_all(&h);
	r = h_raft(&h, 2);
	last = raft_last_index(r);   /* 5 */
	m = h_msg_make(RAFT_MSG_HEARTBEAT, 1, 2, 2);
	m.commit = RAFT_INDEX_MAX;
	ck_assert_int_eq(raft_step(r, &m), 0);
	h_ready_all(&h);
	ck_assert_uint_le(raft_commit_index(r), last);
	ck_assert_uint_le(h_node(&h, 2)->hs.commit, last);
	/* An APPEND commits at most its last new entry. */
	e.term = 2;
	e.index = last + 1;
	m = h_msg_make(RAFT_MSG_APPEND, 1, 2, 2);
	m.index = last;
	m.log_term = 2;
	m.entries = &e;
	m.n_entries = 1;
	m.commit = RAFT_INDEX_MAX;
	ck_assert_int_eq(raft_step(r, &m), 0);
	h_ready_all(&h);
	ck_assert_uint_eq(raft_last_index(r), last + 1);
	ck_assert_uint_eq(raft_commit_index(r), last + 1);
	ck_assert_uint_eq(h_node(&h, 2)->applied, last + 1);
	h_close(&h);
}
END_TEST

/* A response speaks for the log as it is when it leaves. An APPEND_RESP
 * of term 2 queued before a term-3 APPEND truncated the entries it
 * acknowledged, in the same batch, is dropped: the term-2 leader could
 * otherwise count entries this node no longer has. */
START_TEST(stale_term_append_resp_dropped_after_truncation)
{
	struct harness h;
	struct raft *r;
	struct raft_message m;
	struct raft_ready rd;
	struct raft_entry e = { 0, 0, RAFT_ENTRY_NORMAL, 1, (uint8_t *)"n" };
	size_t n_resp = 0;

	h_init(&h, 3);
	h_preload(&h, 2, 3, (const uint64_t[]){ 2, 2 }, 2, 2, 0);
	h_start(&h, 2);
	h_ready_all(&h);
	r = h_raft(&h, 2);
	/* Leader 1 of term 2 appends index 6. */
	m = h_msg_make(RAFT_MSG_APPEND, 1, 2, 2);
	m.index = 5;
	m.log_term = 2;
	e.index = 6;
	e.term = 2;
	m.entries = &e;
	m.n_entries = 1;
	ck_assert_int_eq(raft_step(r, &m), 0);
	/* Leader 3 of term 3 replaces 4..6 with its own index 4. */
	m = h_msg_make(RAFT_MSG_APPEND, 3, 2, 3);
	m.index = 3;
	m.log_term = 1;
	e.index = 4;
	e.term = 3;
	m.entries = &e;
	m.n_entries = 1;
	ck_assert_int_eq(raft_step(r, &m), 0);
	ck_assert_uint_eq(raft_last_index(r), 4);
	raft_ready(r, &rd);
	for (size_t k = 0; k < rd.n_messages; k++) {
		const struct raft_message *o = &rd.messages[k];

		if (o->type != RAFT_MSG_APPEND_RESP)
			continue;
		n_resp++;
		ck_assert_uint_eq(o->term, 3);
		ck_assert_uint_eq(o->to, 3);
		ck_assert_uint_eq(o->index, 4);
	}
	ck_assert_uint_eq(n_resp, 1);
	h_ready_process(&h, 2, &rd);
	h_close(&h);
}
END_TEST

/* Entries that are not a proper continuation of prev are refused whole. */
START_TEST(append_with_malformed_entries_refused)
{
	struct harness h;
	struct raft *r;
	struct t_state s;
	struct raft_entry e[3];
	struct raft_message m;

	h_init(&h, 3);
	h_preload(&h, 2, 3, (const uint64_t[]){ 2, 2 }, 2, 3, 0);
	h_start(&h, 2);
	h_ready_all(&h);
	r = h_raft(&h, 2);
	s = t_state_of(r);   /* last 5, term 3 */

#define T_MALFORMED(setup)                                                   \
	do {                                                                 \
		for (int k = 0; k < 3; k++) {                                \
			e[k].term = 3;                                       \
			e[k].index = 6 + (uint64_t)k;                        \
			e[k].type = RAFT_ENTRY_NORMAL;                       \
			e[k].len = 1;                                        \
			e[k].data = (uint8_t *)"m";                          \
		}                                                            \
		m = h_msg_make(RAFT_MSG_APPEND, 1, 2, 3);                    \
		m.index = 5;                                                 \
		m.log_term = 2;                                              \
		m.entries = e;                                               \
		m.n_entries = 3;                                             \
		m.commit = 3;                                                \
		setup;                                                       \
		t_step_ok_or_einval(&h, &m);                                 \
		ck_assert_uint_eq(raft_last_index(r), s.last);               \
		ck_assert_uint_eq(h_log_last(h_node(&h, 2)), s.last);        \
		ck_assert_uint_eq(raft_commit_index(r), s.commit);           \
		h_drop(&h, 0, 0, 0);                                         \
	} while (0)

	T_MALFORMED(e[1].index = 8);                  /* a gap */
	T_MALFORMED(e[0].index = 5);                  /* overlaps prev */
	T_MALFORMED((e[1].index = 6, e[2].index = 7)); /* a duplicate */
	T_MALFORMED(e[0].term = 1);                   /* below prev term */
	T_MALFORMED(e[2].term = 2);                   /* terms go down */
	T_MALFORMED(e[1].term = 4);                   /* above the message */
	T_MALFORMED(e[0].term = 0);
	T_MALFORMED(e[1].data = NULL);                /* len without data */
	T_MALFORMED(e[2].type = 7);                   /* unknown type */
	T_MALFORMED(m.entries = NULL);
#undef T_MALFORMED
	/* A well-formed one is accepted afterwards. */
	for (int k = 0; k < 3; k++) {
		e[k].term = 3;
		e[k].index = 6 + (uint64_t)k;
		e[k].type = RAFT_ENTRY_NORMAL;
		e[k].len = 1;
		e[k].data = (uint8_t *)"m";
	}
	m = h_msg_make(RAFT_MSG_APPEND, 1, 2, 3);
	m.index = 5;
	m.log_term = 2;
	m.entries = e;
	m.n_entries = 3;
	ck_assert_int_eq(h_step(&h, &m), 0);
	ck_assert_uint_eq(raft_last_index(r), 8);
	h_close(&h);
}
END_TEST

START_TEST(snapshot_with_bad_metadata_refused)
{
	struct harness h;
	struct raft *r;
	struct t_state s;
	struct raft_message m;
	uint8_t data[H_SNAP_LEN];

	h_init(&h, 3);
	h_preload(&h, 2, 3, (const uint64_t[]){ 2, 2 }, 2, 3, 0);
	h_start(&h, 2);
	h_ready_all(&h);
	r = h_raft(&h, 2);
	s = t_state_of(r);

#define T_BAD_SNAP(setup)                                                    \
	do {                                                                 \
		m = h_msg_make(RAFT_MSG_SNAPSHOT, 1, 2, 3);                  \
		m.snapshot.index = 20;                                       \
		m.snapshot.term = 3;                                         \
		m.snapshot.conf.n_voters = 3;                                \
		for (uint32_t k = 0; k < 3; k++)                             \
			m.snapshot.conf.voters[k] = k + 1;                   \
		h_snap_encode(data, 20, 1, 20);                              \
		m.snapshot_data = data;                                      \
		m.snapshot_len = H_SNAP_LEN;                                 \
		setup;                                                       \
		t_step_ok_or_einval(&h, &m);                                 \
		ck_assert_uint_eq(h_node(&h, 2)->n_installed, 0);            \
		ck_assert_uint_eq(raft_last_index(r), s.last);               \
		ck_assert_uint_eq(raft_first_index(r), s.first);             \
		ck_assert_uint_eq(raft_commit_index(r), s.commit);           \
		h_drop(&h, 0, 0, 0);                                         \
	} while (0)

	T_BAD_SNAP(m.snapshot.index = 0);
	T_BAD_SNAP(m.snapshot.term = 0);
	T_BAD_SNAP(m.snapshot.term = 4);              /* above the message */
	T_BAD_SNAP(m.snapshot.conf.n_voters = 0);     /* nobody to elect */
	T_BAD_SNAP(m.snapshot.conf.n_voters = RAFT_NODES_MAX + 1);
	T_BAD_SNAP(m.snapshot.conf.voters[1] = 0);
	T_BAD_SNAP(m.snapshot.conf.voters[2] = 1);
	T_BAD_SNAP((m.snapshot.conf.n_learners = 1,
		    m.snapshot.conf.learners[0] = 2));
	T_BAD_SNAP((m.snapshot.conf.n_learners = RAFT_NODES_MAX,
		    m.snapshot.conf.learners[0] = 9));
	T_BAD_SNAP(m.snapshot_data = NULL);
#undef T_BAD_SNAP
	h_close(&h);
}
END_TEST

START_TEST(append_resp_beyond_leader_log_ignored)
{
	struct harness h;
	struct raft *l;
	struct raft_message m;
	uint64_t commit;

	t_cluster(&h, 3, 1);
	l = h_raft(&h, 1);
	h_isolate(&h, 3);
	commit = raft_commit_index(l);
	m = h_msg_make(RAFT_MSG_APPEND_RESP, 2, 1, raft_term(l));
	m.index = raft_last_index(l) + 100;
	t_step_ok_or_einval(&h, &m);
	m.index = UINT64_MAX;
	t_step_ok_or_einval(&h, &m);
	ck_assert_uint_eq(raft_commit_index(l), commit);
	ck_assert_uint_le(raft_commit_index(l), raft_last_index(l));
	h_drop(&h, 0, 0, 0);
	h_heal(&h);
	h_commit(&h, 1, "still works");
	h_settle(&h);
	ck_assert(h_applied_data(h_node(&h, 2), "still works"));
	h_close(&h);
}
END_TEST

START_TEST(append_resp_with_bogus_hints_harmless)
{
	static const uint64_t v[] = { 0, 1, 2, 1000, UINT64_MAX - 1,
				      UINT64_MAX };
	struct harness h;
	struct raft *l;

	t_cluster(&h, 3, 1);
	l = h_raft(&h, 1);
	h_commit(&h, 1, "a");
	for (size_t i = 0; i < 6; i++)
		for (size_t j = 0; j < 6; j++)
			for (size_t k = 0; k < 6; k++) {
				struct raft_message m = h_msg_make(
					RAFT_MSG_APPEND_RESP, 2, 1,
					raft_term(l));

				m.reject = true;
				m.index = v[i];
				m.reject_hint = v[j];
				m.hint_term = v[k];
				t_step_ok_or_einval(&h, &m);
				ck_assert(raft_is_leader(l));
				ck_assert_uint_le(raft_commit_index(l),
						  raft_last_index(l));
			}
	h_deliver_all(&h);
	h_commit(&h, 1, "b");
	h_settle(&h);
	h_settle(&h);
	ck_assert(h_applied_data(h_node(&h, 2), "b"));
	ck_assert_uint_eq(raft_last_index(h_raft(&h, 2)), raft_last_index(l));
	h_check_safety(&h);
	h_close(&h);
}
END_TEST

START_TEST(heartbeat_resp_with_future_context_releases_nothing)
{
	struct harness h;
	struct raft *l;
	struct raft_message m;

	t_cluster(&h, 5, 1);
	l = h_raft(&h, 1);
	ck_assert_int_eq(raft_read_index(l, 77), 0);
	h_ready_all(&h);
	h_drop(&h, 0, 0, 0);
	for (uint64_t from = 2; from <= 3; from++) {
		m = h_msg_make(RAFT_MSG_HEARTBEAT_RESP, from, 1, raft_term(l));
		m.context = UINT64_MAX;
		t_step_ok_or_einval(&h, &m);
	}
	ck_assert_uint_eq(h_reads_with(h_node(&h, 1), 77, NULL), 0);
	h_tick(&h, 1, 1);
	h_deliver_all(&h);
	ck_assert_uint_eq(h_reads_with(h_node(&h, 1), 77, NULL), 1);
	h_close(&h);
}
END_TEST

START_TEST(read_index_resp_from_non_leader_ignored)
{
	struct harness h;
	struct raft_message m;

	t_cluster(&h, 3, 1);
	m = h_msg_make(RAFT_MSG_READ_INDEX_RESP, 3, 2,
		       raft_term(h_raft(&h, 2)));
	m.context = 4;
	m.index = 1;
	t_step_ok_or_einval(&h, &m);
	ck_assert_uint_eq(h_reads_with(h_node(&h, 2), 4, NULL), 0);
	/* Nor a refused one from the leader. */
	m.from = 1;
	m.reject = true;
	t_step_ok_or_einval(&h, &m);
	ck_assert_uint_eq(h_reads_with(h_node(&h, 2), 4, NULL), 0);
	/* Nor on the leader itself. */
	m = h_msg_make(RAFT_MSG_READ_INDEX_RESP, 2, 1,
		       raft_term(h_raft(&h, 1)));
	m.context = 4;
	t_step_ok_or_einval(&h, &m);
	ck_assert_uint_eq(h_reads_with(h_node(&h, 1), 4, NULL), 0);
	h_close(&h);
}
END_TEST

START_TEST(timeout_now_from_non_leader_ignored)
{
	struct harness h;
	struct raft *r;
	struct raft_message m;
	uint64_t term;

	t_cluster(&h, 3, 1);
	r = h_raft(&h, 2);
	term = raft_term(r);
	m = h_msg_make(RAFT_MSG_TIMEOUT_NOW, 3, 2, term);
	t_step_ok_or_einval(&h, &m);
	ck_assert_uint_eq(raft_term(r), term);
	ck_assert_int_eq(raft_role(r), RAFT_FOLLOWER);
	ck_assert_uint_eq(h_count(&h, RAFT_MSG_VOTE, 2, 0), 0);
	/* A leader told to time out by a peer ignores it too. */
	m = h_msg_make(RAFT_MSG_TIMEOUT_NOW, 2, 1, term);
	t_step_ok_or_einval(&h, &m);
	ck_assert(raft_is_leader(h_raft(&h, 1)));
	ck_assert_uint_eq(raft_term(h_raft(&h, 1)), term);
	h_close(&h);
}
END_TEST

/* Messages that make no sense in the receiver's role are ignored. */
START_TEST(messages_out_of_role_ignored)
{
	struct harness h;
	struct raft *f, *l;
	struct t_state sf, sl;
	static const uint32_t to_follower[] = {
		RAFT_MSG_APPEND_RESP, RAFT_MSG_HEARTBEAT_RESP,
		RAFT_MSG_VOTE_RESP, RAFT_MSG_PREVOTE_RESP, RAFT_MSG_READ_INDEX,
	};

	t_cluster(&h, 3, 1);
	f = h_raft(&h, 2);
	l = h_raft(&h, 1);
	sf = t_state_of(f);
	for (size_t i = 0; i < sizeof(to_follower) / sizeof(to_follower[0]);
	     i++) {
		struct raft_message m = h_msg_make(to_follower[i], 3, 2,
						   sf.term);

		m.index = 100;
		t_step_ok_or_einval(&h, &m);
		t_state_same(f, &sf);
	}
	/* A second leader of the same term cannot exist: ignored. */
	sl = t_state_of(l);
	{
		struct raft_message m = h_msg_make(RAFT_MSG_APPEND, 2, 1,
						   sl.term);

		m.index = sl.last;
		m.log_term = sl.term;
		m.commit = sl.last;
		t_step_ok_or_einval(&h, &m);
		m.type = RAFT_MSG_HEARTBEAT;
		t_step_ok_or_einval(&h, &m);
		m.type = RAFT_MSG_VOTE_RESP;
		t_step_ok_or_einval(&h, &m);
		t_state_same(l, &sl);
	}
	h_close(&h);
}
END_TEST

/* Issue 14 §1(c): a node outside the configuration cannot lead, make a
 * node campaign for it, or move a term -- with any type, at any term. */
START_TEST(stranger_cannot_lead_vote_or_move_terms)
{
	static const uint32_t types[] = {
		RAFT_MSG_APPEND, RAFT_MSG_HEARTBEAT, RAFT_MSG_SNAPSHOT,
		RAFT_MSG_TIMEOUT_NOW, RAFT_MSG_VOTE, RAFT_MSG_PREVOTE,
		RAFT_MSG_APPEND_RESP, RAFT_MSG_VOTE_RESP,
		RAFT_MSG_HEARTBEAT_RESP, RAFT_MSG_READ_INDEX,
	};
	struct harness h;
	struct raft_entry e = { 0, 0, RAFT_ENTRY_NORMAL, 4, (uint8_t *)"evil" };

	t_cluster(&h, 3, 1);
	for (uint64_t to = 1; to <= 2; to++) {
		struct raft *r = h_raft(&h, to);
		struct t_state s = t_state_of(r);

		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
			struct raft_message m = h_msg_make(types[i], 7, to,
							   s.term + 1);

			m.index = s.last;
			m.log_term = s.term;
			m.commit = s.last + 1;
			if (types[i] == RAFT_MSG_APPEND) {
				e.index = s.last + 1;
				e.term = s.term + 1;
				m.entries = &e;
				m.n_entries = 1;
			}
			if (types[i] == RAFT_MSG_SNAPSHOT) {
				m.snapshot.index = s.last + 5;
				m.snapshot.term = s.term + 1;
				m.snapshot.conf.n_voters = 1;
				m.snapshot.conf.voters[0] = 7;
			}
			ck_assert_int_eq(raft_step(r, &m), 0);
			ck_assert(!raft_has_ready(r));
			t_state_same(r, &s);
			ck_assert_uint_eq(raft_leader(r), 1);
		}
	}
	ck_assert_uint_eq(h_count(&h, 0, 0, 7), 0);
	h_commit(&h, 1, "still leading");
	h_close(&h);
}
END_TEST

/* A voter added by an entry a follower holds but has not applied yet is
 * heard (it may win an election before the follower applies it); and a
 * node with an empty configuration (joining) hears whoever reaches it. */
START_TEST(pending_voter_and_joining_node_are_heard)
{
	struct harness h;
	struct raft *f;
	struct raft_message m;
	struct raft_entry e;
	uint8_t cc_data[RAFT_CONF_CHANGE_LEN];
	struct raft_conf_change cc = { RAFT_CONF_ADD_VOTER, 4 };
	uint64_t term, last;

	h_init(&h, 4);
	h_bootstrap(&h, 3);   /* node 4: empty */
	h_elect(&h, 1);
	h_drop(&h, 0, 0, 0);
	f = h_raft(&h, 2);
	term = raft_term(f);
	last = raft_last_index(f);
	/* The leader's APPEND of ADD_VOTER 4, not yet committed. */
	raft_conf_change_encode(&cc, cc_data);
	e = (struct raft_entry){ term, last + 1, RAFT_ENTRY_CONF,
				 RAFT_CONF_CHANGE_LEN, cc_data };
	m = h_msg_make(RAFT_MSG_APPEND, 1, 2, term);
	m.index = last;
	m.log_term = term;
	m.commit = raft_commit_index(f);
	m.entries = &e;
	m.n_entries = 1;
	ck_assert_int_eq(h_step(&h, &m), 0);
	ck_assert_uint_eq(raft_last_index(f), last + 1);
	ck_assert(!raft_conf_is_voter(raft_conf(f), 4));
	h_drop(&h, 0, 0, 0);
	/* Node 4 leads a later term: followed. */
	m = h_msg_make(RAFT_MSG_HEARTBEAT, 4, 2, term + 1);
	ck_assert_int_eq(h_step(&h, &m), 0);
	ck_assert_uint_eq(raft_term(f), term + 1);
	ck_assert_uint_eq(raft_leader(f), 4);
	ck_assert_uint_eq(h_count(&h, RAFT_MSG_HEARTBEAT_RESP, 2, 4), 1);
	/* A stranger still is not. */
	m = h_msg_make(RAFT_MSG_HEARTBEAT, 9, 2, term + 2);
	ck_assert_int_eq(h_step(&h, &m), 0);
	ck_assert_uint_eq(raft_term(f), term + 1);
	/* Node 4 has no configuration yet: it hears node 9. */
	m = h_msg_make(RAFT_MSG_HEARTBEAT, 9, 4, 5);
	ck_assert_int_eq(h_step(&h, &m), 0);
	ck_assert_uint_eq(raft_term(h_raft(&h, 4)), 5);
	ck_assert_uint_eq(raft_leader(h_raft(&h, 4)), 9);
	h_close(&h);
}
END_TEST

/* Issue 14 §2: one heartbeat with term 2^62 stopped a cluster for good.
 * A term above RAFT_TERM_MAX is refused, even from a member; a node at
 * RAFT_TERM_MAX never campaigns for a term its peers would refuse. */
START_TEST(term_past_term_max_refused_and_never_campaigned_for)
{
	static const uint64_t bad[] = { RAFT_TERM_MAX + 1, RAFT_INDEX_MAX,
					UINT64_MAX };
	struct harness h;
	struct raft *r;
	struct t_state s;

	t_cluster(&h, 3, 1);
	r = h_raft(&h, 2);
	s = t_state_of(r);
	for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
		for (int field = 0; field < 4; field++) {
			struct raft_message m = h_msg_make(RAFT_MSG_HEARTBEAT,
							   1, 2, s.term);

			switch (field) {
			case 0: m.term = bad[b]; break;
			case 1: m.type = RAFT_MSG_VOTE;
				m.term = s.term + 1;
				m.log_term = bad[b];
				break;
			case 2: m.hint_term = bad[b]; break;
			default: m.type = RAFT_MSG_SNAPSHOT;
				m.snapshot.index = 100;
				m.snapshot.term = bad[b];
				m.snapshot.conf = *raft_conf(r);
				break;
			}
			ck_assert_msg(raft_step(r, &m) == RAFT_EINVAL,
				      "field %d term %llu accepted", field,
				      (unsigned long long)bad[b]);
			ck_assert(!raft_has_ready(r));
			t_state_same(r, &s);
		}
	}
	/* At the last term, node 3 follows, then never campaigns. */
	{
		struct raft_message m = h_msg_make(RAFT_MSG_HEARTBEAT, 1, 3,
						   RAFT_TERM_MAX);

		ck_assert_int_eq(h_step(&h, &m), 0);
		ck_assert_uint_eq(raft_term(h_raft(&h, 3)), RAFT_TERM_MAX);
		h_drop(&h, 0, 0, 0);
		h_isolate(&h, 3);
		h_tick(&h, 3, 100);
		ck_assert_int_eq(raft_role(h_raft(&h, 3)), RAFT_FOLLOWER);
		ck_assert_uint_eq(raft_term(h_raft(&h, 3)), RAFT_TERM_MAX);
		ck_assert_uint_eq(h_count(&h, RAFT_MSG_VOTE, 3, 0) +
					  h_count(&h, RAFT_MSG_PREVOTE, 3, 0),
				  0);
	}
	h_close(&h);
}
END_TEST

/* Random messages, deterministic from the loop index, to a follower, a
 * leader, a candidate and an empty node. */
static uint64_t t_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t t_near(uint64_t *s, uint64_t v, uint64_t spread)
{
	uint64_t d = t_rand(s) % (2 * spread + 1);

	if (d < spread)
		return v > spread - d ? v - (spread - d) : 0;
	return v + (d - spread);
}

START_TEST(random_messages_never_break_a_node)
{
	struct harness h;
	uint64_t seed = 0xfeed0000ULL + (uint64_t)_i;
	uint64_t target = (uint64_t)_i % 4 + 1;
	struct raft *r;
	struct raft_entry ents[4];
	uint8_t payload[4][RAFT_CONF_CHANGE_LEN];
	uint8_t data[H_SNAP_LEN];

	h_init(&h, 4);
	h_bootstrap(&h, 3);   /* node 4: empty */
	h_elect(&h, 1);
	for (int i = 0; i < 4; i++)
		h_commit(&h, 1, "f");
	h_settle(&h);
	if (target == 3) {
		/* A candidate. */
		h_isolate(&h, 3);
		h.nodes[3].cfg.pre_vote = false;
		while (raft_role(h_raft(&h, 3)) == RAFT_FOLLOWER)
			h_tick(&h, 3, 1);
	}
	r = h_raft(&h, target);
	for (int n = 0; n < 1500; n++) {
		struct raft_message m;
		uint64_t term = raft_term(r), last = raft_last_index(r);
		uint64_t before_term = term, before_commit = raft_commit_index(r);
		int rc;

		memset(&m, 0, sizeof(m));
		m.type = (uint32_t)(t_rand(&seed) % (RAFT_MSG_TYPE_MAX + 2));
		m.from = t_rand(&seed) % 6;
		if (t_rand(&seed) % 10 == 0)
			m.from = 1000 + t_rand(&seed) % 3;
		m.to = t_rand(&seed) % 20 == 0 ? t_rand(&seed) % 5 : target;
		m.term = t_near(&seed, term, 2);
		if (t_rand(&seed) % 50 == 0)
			m.term = term + (1ULL << 40);
		m.index = t_near(&seed, last, 4);
		m.log_term = t_near(&seed, term, 2);
		m.commit = t_rand(&seed) % 8 == 0 ? UINT64_MAX :
						    t_near(&seed, last, 4);
		m.reject_hint = t_rand(&seed) % 4 == 0 ? t_rand(&seed) :
							 t_near(&seed, last, 4);
		m.hint_term = t_near(&seed, term, 2);
		m.context = t_rand(&seed) % 4;
		m.reject = t_rand(&seed) % 2;
		m.transfer = t_rand(&seed) % 8 == 0;
		if (m.type == RAFT_MSG_APPEND && t_rand(&seed) % 4 != 0) {
			bool junk = t_rand(&seed) % 5 == 0;
			uint64_t t = m.log_term;

			m.n_entries = t_rand(&seed) % 4;
			m.entries = ents;
			for (size_t k = 0; k < m.n_entries; k++) {
				struct raft_conf_change cc;

				if (t < m.term && t_rand(&seed) % 3 == 0)
					t++;
				ents[k].index = m.index + 1 + k;
				ents[k].term = junk ? t_rand(&seed) % 5 : t;
				ents[k].type = t_rand(&seed) % 6 == 0 ?
						       RAFT_ENTRY_CONF :
						       RAFT_ENTRY_NORMAL;
				cc.op = (enum raft_conf_op)(t_rand(&seed) %
							    4);
				cc.id = t_rand(&seed) % 6;
				raft_conf_change_encode(&cc, payload[k]);
				ents[k].data = payload[k];
				ents[k].len = RAFT_CONF_CHANGE_LEN;
				if (junk && t_rand(&seed) % 2)
					ents[k].index += t_rand(&seed) % 3;
			}
			if (m.index == UINT64_MAX)
				m.n_entries = 0;
		} else if (t_rand(&seed) % 50 == 0) {
			m.index = UINT64_MAX - t_rand(&seed) % 3;
		}
		if (m.type == RAFT_MSG_SNAPSHOT) {
			m.snapshot.index = t_near(&seed, last, 6);
			m.snapshot.term = t_near(&seed, term, 2);
			m.snapshot.conf.n_voters = 3;
			for (uint32_t k = 0; k < 3; k++)
				m.snapshot.conf.voters[k] = k + 1;
			if (t_rand(&seed) % 5 == 0)
				m.snapshot.conf.voters[t_rand(&seed) % 3] =
					t_rand(&seed) % 4;
			h_snap_encode(data, m.snapshot.index, 7,
				      m.snapshot.index);
			m.snapshot_data = data;
			m.snapshot_len = H_SNAP_LEN;
		}
		rc = raft_step(r, &m);
		ck_assert_msg(rc == 0 || rc == RAFT_EINVAL,
			      "message %d: %s", n, raft_strerror(rc));
		h_ready_all(&h);
		h_drop(&h, 0, 0, 0);
		ck_assert_uint_ge(raft_term(r), before_term);
		ck_assert_uint_ge(raft_commit_index(r), before_commit);
		ck_assert_uint_le(raft_commit_index(r), raft_last_index(r));
		ck_assert_uint_le(raft_applied_index(r),
				  raft_commit_index(r));
		ck_assert_uint_le(raft_first_index(r),
				  raft_last_index(r) + 1);
		/* Now and then, time passes and the node acts. */
		if (n % 7 == 0)
			h_tick(&h, target, 1);
		if (n % 11 == 0 && raft_is_leader(r))
			raft_propose(r, "p", 1, NULL, NULL);
		if (n % 13 == 0)
			raft_read_index(r, (uint64_t)n);
		h_ready_all(&h);
		h_drop(&h, 0, 0, 0);
	}
	h_close(&h);
}
END_TEST

Suite *raft_input_suite(void)
{
	Suite *s = suite_create("raft_input");

	T_ADD(s, message_with_bad_type_rejected);
	T_ADD(s, message_with_bad_addresses_rejected);
	T_ADD(s, message_with_index_past_max_rejected);
	T_ADD(s, unknown_sender_cannot_move_commit);
	T_ADD(s, unknown_sender_votes_do_not_elect);
	T_ADD(s, unknown_sender_rejections_do_not_block_election);
	T_ADD(s, append_with_prev_far_beyond_log_rejected);
	T_ADD(s, append_with_prev_zero_to_empty_node_rejected);
	T_ADD(s, append_below_commit_cannot_overwrite);
	T_ADD(s, append_with_prev_below_snapshot_is_harmless);
	T_ADD(s, commit_far_past_log_clamped);
	T_ADD(s, stale_term_append_resp_dropped_after_truncation);
	T_ADD(s, append_with_malformed_entries_refused);
	T_ADD(s, snapshot_with_bad_metadata_refused);
	T_ADD(s, append_resp_beyond_leader_log_ignored);
	T_ADD(s, append_resp_with_bogus_hints_harmless);
	T_ADD(s, heartbeat_resp_with_future_context_releases_nothing);
	T_ADD(s, read_index_resp_from_non_leader_ignored);
	T_ADD(s, timeout_now_from_non_leader_ignored);
	T_ADD(s, messages_out_of_role_ignored);
	T_ADD(s, stranger_cannot_lead_vote_or_move_terms);
	T_ADD(s, pending_voter_and_joining_node_are_heard);
	T_ADD(s, term_past_term_max_refused_and_never_campaigned_for);
	T_ADD_LOOP(s, random_messages_never_break_a_node, 0, 16);
	return s;
}
