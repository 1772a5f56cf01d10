/*
 * tests/unit/test_raft_api.c: the API surface: names, the conf change
 * codec, configuration checks, argument errors, getters, bootstrap, trace.
 */
#include <stdio.h>
#include <string.h>

#include "tests/unit/test_raft.h"

/* raft_progress_match(): what the leader knows of each log. */
START_TEST(progress_match_reports_followers_on_the_leader_only)
{
	struct harness h;
	uint64_t idx, m;

	h_init(&h, 3);
	h_bootstrap(&h, 3);
	h_elect(&h, 1);
	idx = h_commit(&h, 1, "x");
	h_settle(&h);
	ck_assert_int_eq(raft_progress_match(h_raft(&h, 1), 2, &m), RAFT_OK);
	ck_assert_uint_eq(m, idx);
	ck_assert_int_eq(raft_progress_match(h_raft(&h, 1), 1, &m), RAFT_OK);
	ck_assert_uint_eq(m, raft_last_index(h_raft(&h, 1)));
	ck_assert_int_eq(raft_progress_match(h_raft(&h, 1), 9, &m),
			 RAFT_EINVAL);
	ck_assert_int_eq(raft_progress_match(h_raft(&h, 2), 1, &m),
			 RAFT_ENOTLEADER);
	h_close(&h);
}
END_TEST

START_TEST(strerror_names_every_code)
{
	const int codes[] = { RAFT_OK, RAFT_EINVAL, RAFT_ENOTLEADER,
			      RAFT_ENOMEM, RAFT_EBUSY, RAFT_ETOOBIG,
			      RAFT_ESTATE };
	const size_t n = sizeof(codes) / sizeof(codes[0]);
	const char *unknown = raft_strerror(999);

	ck_assert_ptr_nonnull(unknown);
	ck_assert_uint_gt(strlen(unknown), 0);
	ck_assert_ptr_nonnull(raft_strerror(-1));
	for (size_t i = 0; i < n; i++) {
		const char *s = raft_strerror(codes[i]);

		ck_assert_ptr_nonnull(s);
		ck_assert_uint_gt(strlen(s), 0);
		ck_assert_str_ne(s, unknown);
		for (size_t j = 0; j < i; j++)
			ck_assert_str_ne(s, raft_strerror(codes[j]));
	}
}
END_TEST

START_TEST(role_name_names_every_role)
{
	const enum raft_role roles[] = { RAFT_FOLLOWER, RAFT_PRE_CANDIDATE,
					 RAFT_CANDIDATE, RAFT_LEADER };
	const char *unknown = raft_role_name((enum raft_role)42);

	ck_assert_ptr_nonnull(unknown);
	for (size_t i = 0; i < 4; i++) {
		const char *s = raft_role_name(roles[i]);

		ck_assert_ptr_nonnull(s);
		ck_assert_uint_gt(strlen(s), 0);
		ck_assert_str_ne(s, unknown);
		for (size_t j = 0; j < i; j++)
			ck_assert_str_ne(s, raft_role_name(roles[j]));
	}
}
END_TEST

START_TEST(msg_type_name_names_every_type)
{
	const char *unknown = raft_msg_type_name(0);

	ck_assert_ptr_nonnull(unknown);
	ck_assert_ptr_nonnull(raft_msg_type_name(RAFT_MSG_TYPE_MAX + 1));
	ck_assert_ptr_nonnull(raft_msg_type_name(-1));
	ck_assert_str_eq(raft_msg_type_name(RAFT_MSG_TYPE_MAX + 1), unknown);
	for (int t = 1; t <= RAFT_MSG_TYPE_MAX; t++) {
		const char *s = raft_msg_type_name(t);

		ck_assert_ptr_nonnull(s);
		ck_assert_uint_gt(strlen(s), 0);
		ck_assert_str_ne(s, unknown);
		for (int u = 1; u < t; u++)
			ck_assert_str_ne(s, raft_msg_type_name(u));
	}
}
END_TEST

START_TEST(conf_change_round_trip)
{
	const enum raft_conf_op ops[] = { RAFT_CONF_ADD_LEARNER,
					  RAFT_CONF_ADD_VOTER,
					  RAFT_CONF_REMOVE };
	const uint64_t ids[] = { 1, 2, 255, 256, 0x0102030405060708ULL,
				 1ULL << 32, UINT64_MAX };

	for (size_t i = 0; i < 3; i++)
		for (size_t j = 0; j < sizeof(ids) / sizeof(ids[0]); j++) {
			struct raft_conf_change in = { ops[i], ids[j] }, out;
			uint8_t buf[RAFT_CONF_CHANGE_LEN];

			raft_conf_change_encode(&in, buf);
			/* The documented layout: op, then id little-endian. */
			ck_assert_uint_eq(buf[0], ops[i]);
			for (int b = 0; b < 8; b++)
				ck_assert_uint_eq(buf[1 + b],
						  (ids[j] >> (8 * b)) & 0xff);
			ck_assert_int_eq(raft_conf_change_decode(
						 buf, sizeof(buf), &out),
					 0);
			ck_assert_int_eq(out.op, in.op);
			ck_assert_uint_eq(out.id, in.id);
		}
}
END_TEST

START_TEST(conf_change_decode_rejects_bad_payloads)
{
	struct raft_conf_change good = { RAFT_CONF_ADD_VOTER, 7 }, out;
	uint8_t buf[RAFT_CONF_CHANGE_LEN + 1];

	raft_conf_change_encode(&good, buf);
	ck_assert_int_eq(raft_conf_change_decode(NULL, RAFT_CONF_CHANGE_LEN,
						 &out),
			 RAFT_EINVAL);
	for (size_t len = 0; len <= RAFT_CONF_CHANGE_LEN + 1; len++)
		if (len != RAFT_CONF_CHANGE_LEN)
			ck_assert_int_eq(raft_conf_change_decode(buf, len,
								 &out),
					 RAFT_EINVAL);
	for (int op = 0; op < 256; op++) {
		int rc;

		buf[0] = (uint8_t)op;
		rc = raft_conf_change_decode(buf, RAFT_CONF_CHANGE_LEN, &out);
		if (op >= RAFT_CONF_ADD_LEARNER && op <= RAFT_CONF_REMOVE)
			ck_assert_int_eq(rc, 0);
		else
			ck_assert_int_eq(rc, RAFT_EINVAL);
	}
	/* Node id 0 is "nobody". */
	good.id = 0;
	raft_conf_change_encode(&good, buf);
	ck_assert_int_eq(raft_conf_change_decode(buf, RAFT_CONF_CHANGE_LEN,
						 &out),
			 RAFT_EINVAL);
}
END_TEST

START_TEST(config_default_values)
{
	struct raft_config cfg;

	memset(&cfg, 0x5a, sizeof(cfg));
	raft_config_default(&cfg, 7, 99);
	ck_assert_uint_eq(cfg.id, 7);
	ck_assert_uint_eq(cfg.seed, 99);
	ck_assert_uint_eq(cfg.election_ticks, 10);
	ck_assert_uint_eq(cfg.heartbeat_ticks, 1);
	ck_assert(cfg.pre_vote);
	ck_assert(cfg.check_quorum);
	ck_assert_uint_eq(cfg.max_inflight, 256);
	ck_assert_uint_eq(cfg.max_msg_entries, 64);
	ck_assert_uint_eq(cfg.max_msg_bytes, 1 << 20);
	ck_assert_uint_eq(cfg.max_entry_bytes, 1 << 20);
	ck_assert_ptr_null(cfg.alloc);
	ck_assert_ptr_null(cfg.trace);
}
END_TEST

START_TEST(raft_new_rejects_invalid_config)
{
	struct raft_config good, cfg;
	struct raft *r;

	raft_config_default(&good, 1, 1);
	ck_assert_int_eq(raft_new(&good, NULL, &r), 0);
	raft_free(r);
#define T_BAD_CFG(setup)                                                     \
	do {                                                                 \
		cfg = good;                                                  \
		setup;                                                       \
		ck_assert_int_eq(raft_new(&cfg, NULL, &r), RAFT_EINVAL);     \
	} while (0)
	T_BAD_CFG(cfg.id = 0);
	T_BAD_CFG(cfg.election_ticks = 1);
	T_BAD_CFG(cfg.election_ticks = 0);
	T_BAD_CFG(cfg.heartbeat_ticks = 0);
	T_BAD_CFG(cfg.heartbeat_ticks = cfg.election_ticks);
	T_BAD_CFG(cfg.heartbeat_ticks = cfg.election_ticks + 1);
	T_BAD_CFG(cfg.max_inflight = 0);
	T_BAD_CFG(cfg.max_msg_entries = 0);
	T_BAD_CFG(cfg.max_inflight = SIZE_MAX);
#undef T_BAD_CFG
	/* The smallest valid timing. */
	cfg = good;
	cfg.election_ticks = 2;
	cfg.heartbeat_ticks = 1;
	cfg.max_inflight = 1;
	cfg.max_msg_entries = 1;
	ck_assert_int_eq(raft_new(&cfg, NULL, &r), 0);
	raft_free(r);
}
END_TEST

START_TEST(raft_free_null_does_nothing)
{
	raft_free(NULL);
}
END_TEST

START_TEST(new_node_getters)
{
	struct raft_config cfg;
	struct raft *r;
	uint64_t t = 99;

	raft_config_default(&cfg, 5, 1);
	ck_assert_int_eq(raft_new(&cfg, NULL, &r), 0);
	ck_assert_uint_eq(raft_id(r), 5);
	ck_assert_uint_eq(raft_term(r), 0);
	ck_assert_uint_eq(raft_vote(r), 0);
	ck_assert_uint_eq(raft_leader(r), 0);
	ck_assert_int_eq(raft_role(r), RAFT_FOLLOWER);
	ck_assert(!raft_is_leader(r));
	ck_assert_uint_eq(raft_commit_index(r), 0);
	ck_assert_uint_eq(raft_applied_index(r), 0);
	ck_assert_uint_eq(raft_first_index(r), 1);
	ck_assert_uint_eq(raft_last_index(r), 0);
	ck_assert_uint_eq(raft_conf(r)->n_voters, 0);
	ck_assert_uint_eq(raft_conf(r)->n_learners, 0);
	ck_assert_uint_eq(raft_snapshot(r)->index, 0);
	ck_assert(raft_log_term(r, 0, &t));
	ck_assert_uint_eq(t, 0);
	ck_assert(!raft_log_term(r, 1, &t));
	ck_assert_ptr_null(raft_log_entry(r, 0));
	ck_assert_ptr_null(raft_log_entry(r, 1));
	ck_assert_uint_eq(raft_transfer_target(r), 0);
	ck_assert(!raft_has_ready(r));
	/* A new node without configuration waits: it never campaigns. */
	for (int i = 0; i < 100; i++)
		raft_tick(r);
	ck_assert_int_eq(raft_role(r), RAFT_FOLLOWER);
	ck_assert(!raft_has_ready(r));
	raft_free(r);
}
END_TEST

START_TEST(conf_membership_predicates)
{
	struct raft_conf c;

	memset(&c, 0, sizeof(c));
	c.n_voters = 2;
	c.voters[0] = 1;
	c.voters[1] = 3;
	c.n_learners = 1;
	c.learners[0] = 4;
	ck_assert(raft_conf_is_voter(&c, 1));
	ck_assert(raft_conf_is_voter(&c, 3));
	ck_assert(!raft_conf_is_voter(&c, 2));
	ck_assert(!raft_conf_is_voter(&c, 4));
	ck_assert(!raft_conf_is_voter(&c, 0));
	ck_assert(raft_conf_is_learner(&c, 4));
	ck_assert(!raft_conf_is_learner(&c, 1));
	ck_assert(!raft_conf_is_learner(&c, 0));
}
END_TEST

START_TEST(bootstrap_writes_committed_configuration)
{
	struct raft_config cfg;
	struct raft *r;
	struct raft_ready rd;
	const uint64_t voters[] = { 3, 1, 2 };

	raft_config_default(&cfg, 1, 1);
	ck_assert_int_eq(raft_new(&cfg, NULL, &r), 0);
	ck_assert_int_eq(raft_bootstrap(r, voters, 3), 0);
	ck_assert_uint_eq(raft_conf(r)->n_voters, 3);
	for (int i = 0; i < 3; i++)
		ck_assert(raft_conf_is_voter(raft_conf(r), voters[i]));
	ck_assert(raft_has_ready(r));
	raft_ready(r, &rd);
	ck_assert_uint_eq(rd.n_entries, 3);
	for (size_t i = 0; i < 3; i++) {
		struct raft_conf_change cc;

		ck_assert_uint_eq(rd.entries[i].index, i + 1);
		ck_assert_uint_eq(rd.entries[i].term, 1);
		ck_assert_uint_eq(rd.entries[i].type, RAFT_ENTRY_CONF);
		ck_assert_int_eq(raft_conf_change_decode(rd.entries[i].data,
							 rd.entries[i].len,
							 &cc),
				 0);
		ck_assert_int_eq(cc.op, RAFT_CONF_ADD_VOTER);
		ck_assert_uint_eq(cc.id, voters[i]);
	}
	ck_assert(rd.hard_state_changed);
	ck_assert_uint_eq(rd.hard_state.term, 1);
	ck_assert_uint_eq(rd.hard_state.vote, 0);
	ck_assert_uint_eq(rd.hard_state.commit, 3);
	ck_assert_uint_eq(rd.n_committed, 3);
	ck_assert_uint_eq(rd.n_messages, 0);
	ck_assert_int_eq(rd.role, RAFT_FOLLOWER);
	raft_advance(r, &rd);
	ck_assert_uint_eq(raft_applied_index(r), 3);
	ck_assert(!raft_has_ready(r));
	ck_assert_uint_eq(raft_conf(r)->n_voters, 3);
	/* Once is enough. */
	ck_assert_int_eq(raft_bootstrap(r, voters, 3), RAFT_ESTATE);
	raft_free(r);
}
END_TEST

START_TEST(bootstrap_rejects_bad_voter_lists)
{
	struct raft_config cfg;
	struct raft *r;
	uint64_t many[RAFT_NODES_MAX + 1];
	const uint64_t zero[] = { 1, 0 };
	const uint64_t dup[] = { 1, 2, 1 };

	for (size_t i = 0; i <= RAFT_NODES_MAX; i++)
		many[i] = i + 1;
	raft_config_default(&cfg, 1, 1);
	ck_assert_int_eq(raft_new(&cfg, NULL, &r), 0);
	ck_assert_int_eq(raft_bootstrap(r, NULL, 1), RAFT_EINVAL);
	ck_assert_int_eq(raft_bootstrap(r, many, 0), RAFT_EINVAL);
	ck_assert_int_eq(raft_bootstrap(r, zero, 2), RAFT_EINVAL);
	ck_assert_int_eq(raft_bootstrap(r, dup, 3), RAFT_EINVAL);
	ck_assert_int_eq(raft_bootstrap(r, many, RAFT_NODES_MAX + 1),
			 RAFT_EINVAL);
	ck_assert_uint_eq(raft_last_index(r), 0);
	ck_assert(!raft_has_ready(r));
	ck_assert_int_eq(raft_bootstrap(r, many, RAFT_NODES_MAX), 0);
	ck_assert_uint_eq(raft_conf(r)->n_voters, RAFT_NODES_MAX);
	raft_free(r);
}
END_TEST

START_TEST(propose_on_follower_not_leader)
{
	struct harness h;
	struct raft *r;

	h_init(&h, 3);
	for (int i = 1; i <= 3; i++)
		h.nodes[i].cfg.pre_vote = false;
	h_bootstrap(&h, 3);
	r = h_raft(&h, 2);
	ck_assert_int_eq(raft_propose(r, "x", 1, NULL, NULL), RAFT_ENOTLEADER);
	while (raft_role(r) != RAFT_CANDIDATE)
		h_tick(&h, 2, 1);
	ck_assert_int_eq(raft_propose(r, "x", 1, NULL, NULL), RAFT_ENOTLEADER);
	ck_assert_int_eq(raft_transfer_leadership(r, 1), RAFT_ENOTLEADER);
	h_deliver_all(&h);
	ck_assert(raft_is_leader(r));
	ck_assert_int_eq(raft_propose(h_raft(&h, 1), "x", 1, NULL, NULL),
			 RAFT_ENOTLEADER);
	h_close(&h);
}
END_TEST

START_TEST(propose_checks_size_and_data)
{
	struct harness h;
	struct raft *l;
	uint8_t big[65];
	uint64_t last, idx = 0, term = 0;

	memset(big, 'b', sizeof(big));
	h_init(&h, 3);
	for (uint64_t id = 1; id <= 3; id++)
		h.nodes[id].cfg.max_entry_bytes = 64;
	h_bootstrap(&h, 3);
	h_elect(&h, 1);
	l = h_raft(&h, 1);
	h_drop(&h, 0, 0, 0);
	last = raft_last_index(l);
	ck_assert_int_eq(raft_propose(l, big, 65, NULL, NULL), RAFT_ETOOBIG);
	ck_assert_int_eq(raft_propose(l, NULL, 4, NULL, NULL), RAFT_EINVAL);
	ck_assert_uint_eq(raft_last_index(l), last);
	ck_assert(!raft_has_ready(l));
	/* At the limit, and empty: fine. */
	ck_assert_int_eq(raft_propose(l, big, 64, &idx, &term), 0);
	ck_assert_uint_eq(idx, last + 1);
	ck_assert_uint_eq(term, raft_term(l));
	ck_assert_int_eq(raft_propose(l, NULL, 0, &idx, NULL), 0);
	ck_assert_uint_eq(idx, last + 2);
	h_ready_all(&h);
	h_deliver_all(&h);
	ck_assert_uint_eq(raft_commit_index(l), last + 2);
	ck_assert_uint_eq(h_applied_at(h_node(&h, 1), last + 1)->len, 64);
	ck_assert_uint_eq(h_applied_at(h_node(&h, 1), last + 2)->len, 0);
	h_close(&h);
}
END_TEST

struct t_trace {
	unsigned events;
	bool leader;
	bool bad_id;
};

static void t_trace_cb(void *ctx, uint64_t id, const char *event)
{
	struct t_trace *t = ctx;

	t->events++;
	if (id != 1)
		t->bad_id = true;
	if (event == NULL || event[0] == '\0')
		t->bad_id = true;
	else if (strstr(event, "leader") != NULL)
		t->leader = true;
}

START_TEST(trace_reports_events)
{
	struct harness h;
	struct t_trace t = { 0, false, false };

	h_init(&h, 3);
	h.nodes[1].cfg.trace = t_trace_cb;
	h.nodes[1].cfg.trace_ctx = &t;
	h_bootstrap(&h, 3);
	h_elect(&h, 1);
	ck_assert_uint_ge(t.events, 1);
	ck_assert(t.leader);
	ck_assert(!t.bad_id);
	h_close(&h);
}
END_TEST

/* Determinism: the same inputs give the same outputs. */
START_TEST(same_inputs_same_outputs)
{
	uint64_t hashes[2], terms[2];

	for (int run = 0; run < 2; run++) {
		struct harness h;
		char buf[16];

		h_init(&h, 3);
		h_bootstrap(&h, 3);
		ck_assert_uint_ne(h_run_until_leader(&h, 0, 300), 0);
		for (int i = 0; i < 20; i++) {
			uint64_t l = h_leader(&h);

			snprintf(buf, sizeof(buf), "d%d", i);
			if (l)
				raft_propose(h_raft(&h, l), buf, strlen(buf),
					     NULL, NULL);
			h_ready_all(&h);
			if (i % 5 == 0)
				h_isolate(&h, (uint64_t)(i % 3) + 1);
			if (i % 5 == 3)
				h_heal(&h);
			h_tick_all(&h, 3);
			h_deliver_all(&h);
		}
		h_heal(&h);
		h_settle(&h);
		hashes[run] = h_node(&h, 1)->sm_hash;
		terms[run] = raft_term(h_raft(&h, 1));
		h_close(&h);
	}
	ck_assert_uint_eq(hashes[0], hashes[1]);
	ck_assert_uint_eq(terms[0], terms[1]);
}
END_TEST

Suite *raft_api_suite(void)
{
	Suite *s = suite_create("raft_api");

	T_ADD(s, strerror_names_every_code);
	T_ADD(s, role_name_names_every_role);
	T_ADD(s, msg_type_name_names_every_type);
	T_ADD(s, conf_change_round_trip);
	T_ADD(s, conf_change_decode_rejects_bad_payloads);
	T_ADD(s, config_default_values);
	T_ADD(s, raft_new_rejects_invalid_config);
	T_ADD(s, raft_free_null_does_nothing);
	T_ADD(s, new_node_getters);
	T_ADD(s, conf_membership_predicates);
	T_ADD(s, bootstrap_writes_committed_configuration);
	T_ADD(s, bootstrap_rejects_bad_voter_lists);
	T_ADD(s, propose_on_follower_not_leader);
	T_ADD(s, propose_checks_size_and_data);
	T_ADD(s, trace_reports_events);
	T_ADD(s, same_inputs_same_outputs);
	T_ADD(s, progress_match_reports_followers_on_the_leader_only);
	return s;
}
