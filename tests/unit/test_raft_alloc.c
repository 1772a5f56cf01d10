/*
 * tests/unit/test_raft_alloc.c: the injected allocator. A counting
 * allocator fails the Nth call: the failing operation returns RAFT_ENOMEM
 * and changes nothing, nothing leaks, and the node works again once
 * allocations succeed.
 */
#include <stdio.h>
#include <string.h>

#include "tests/unit/test_raft.h"

/* Every node of h allocates through al. */
static void t_use(struct harness *h, struct h_alloc *al)
{
	for (uint64_t id = 1; id <= h->n; id++)
		h->nodes[id].cfg.alloc = &al->a;
}

START_TEST(raft_new_out_of_memory_leaks_nothing)
{
	struct harness h;
	struct h_alloc al;
	struct raft_restore rs;
	bool succeeded = false;

	/* A durable state to restore from. */
	h_init(&h, 3);
	h_bootstrap(&h, 3);
	h_elect(&h, 1);
	for (int i = 0; i < 5; i++)
		h_commit(&h, 1, "data");
	h_settle(&h);
	h_crash(&h, 2, false);
	h_restore_fill(&h, 2, &rs);
	for (size_t n = 1; n < 100 && !succeeded; n++) {
		struct raft_config cfg = h.nodes[2].cfg;
		struct raft *r = NULL;
		int rc;

		h_alloc_init(&al);
		al.fail_at = n;
		al.fail_after = true;
		cfg.alloc = &al.a;
		rc = raft_new(&cfg, &rs, &r);
		if (rc == RAFT_ENOMEM) {
			ck_assert_ptr_null(r);
			ck_assert_int_eq(al.live, 0);
			continue;
		}
		ck_assert_int_eq(rc, 0);
		ck_assert_uint_eq(raft_last_index(r), rs.n_entries);
		raft_free(r);
		ck_assert_int_eq(al.live, 0);
		ck_assert_uint_ge(n, 2);
		succeeded = true;
	}
	ck_assert(succeeded);
	h_close(&h);
}
END_TEST

START_TEST(bootstrap_out_of_memory_changes_nothing)
{
	struct h_alloc al;
	bool succeeded = false;
	const uint64_t voters[] = { 1, 2, 3 };

	for (size_t n = 1; n < 50 && !succeeded; n++) {
		struct raft_config cfg;
		struct raft *r = NULL;
		int rc;

		h_alloc_init(&al);
		raft_config_default(&cfg, 1, 1);
		cfg.alloc = &al.a;
		ck_assert_int_eq(raft_new(&cfg, NULL, &r), 0);
		al.fail_at = al.calls + n;
		al.fail_after = true;
		rc = raft_bootstrap(r, voters, 3);
		if (rc == RAFT_ENOMEM) {
			ck_assert_uint_eq(raft_last_index(r), 0);
			ck_assert_uint_eq(raft_term(r), 0);
			ck_assert_uint_eq(raft_conf(r)->n_voters, 0);
			ck_assert(!raft_has_ready(r));
			al.fail_at = 0;
			ck_assert_int_eq(raft_bootstrap(r, voters, 3), 0);
		} else {
			ck_assert_int_eq(rc, 0);
			succeeded = true;
		}
		ck_assert_uint_eq(raft_last_index(r), 3);
		ck_assert_uint_eq(raft_conf(r)->n_voters, 3);
		raft_free(r);
		ck_assert_int_eq(al.live, 0);
	}
	ck_assert(succeeded);
}
END_TEST

/* Loop over N: from the Nth allocation on, everything fails. */
START_TEST(proposal_out_of_memory_changes_nothing)
{
	struct harness h;
	struct h_alloc al;
	struct raft *l;
	size_t n = (size_t)_i + 1;
	unsigned ok = 0, enomem = 0;
	char buf[16];

	h_alloc_init(&al);
	h_init(&h, 3);
	t_use(&h, &al);
	h_bootstrap(&h, 3);
	h_elect(&h, 1);
	l = h_raft(&h, 1);
	h_drop(&h, 0, 0, 0);
	al.fail_at = al.calls + n;
	al.fail_after = true;
	/* Enough proposals to make the log grow its array. */
	for (int i = 0; i < 40; i++) {
		uint64_t last = raft_last_index(l), term = raft_term(l);
		uint64_t commit = raft_commit_index(l);
		bool ready = raft_has_ready(l);
		uint64_t idx = 0;
		int rc;

		snprintf(buf, sizeof(buf), "m%d", i);
		rc = raft_propose(l, buf, strlen(buf), &idx, NULL);
		if (rc == RAFT_ENOMEM) {
			enomem++;
			ck_assert_uint_eq(raft_last_index(l), last);
			ck_assert_uint_eq(raft_term(l), term);
			ck_assert_uint_eq(raft_commit_index(l), commit);
			ck_assert(raft_has_ready(l) == ready);
			ck_assert_ptr_null(raft_log_entry(l, last + 1));
		} else {
			ck_assert_int_eq(rc, 0);
			ck_assert_uint_eq(idx, last + 1);
			ok++;
		}
		/* Conf changes fail the same way. */
		if (i == 20) {
			rc = raft_propose_conf_change(l, RAFT_CONF_REMOVE, 3,
						      NULL);
			ck_assert(rc == RAFT_ENOMEM || rc == 0);
			if (rc == RAFT_ENOMEM)
				ck_assert_uint_eq(raft_last_index(l), last);
		}
	}
	ck_assert_uint_ge(enomem, 1);
	/* Memory is back: the node proposes, commits and applies. */
	al.fail_at = 0;
	h_ready_all(&h);
	h_commit(&h, 1, "recovered");
	h_settle(&h);
	for (uint64_t id = 1; id <= 3; id++)
		ck_assert(h_applied_data(h_node(&h, id), "recovered"));
	h_check_safety(&h);
	h_close(&h);
	ck_assert_int_eq(al.live, 0);
	(void)ok;
}
END_TEST

/* Loop over N: only the Nth allocation of a busy run fails; the cluster
 * loses a message or an operation and recovers. */
START_TEST(cluster_survives_one_failed_allocation)
{
	struct harness h;
	struct h_alloc al;
	size_t n = (size_t)_i * 3 + 1;
	uint64_t l;
	char buf[16];

	h_alloc_init(&al);
	h_init(&h, 3);
	t_use(&h, &al);
	h_bootstrap(&h, 3);
	al.fail_at = al.calls + n;
	al.fail_after = false;
	l = h_run_until_leader(&h, 0, 300);
	ck_assert_uint_ne(l, 0);
	for (int i = 0; i < 10; i++) {
		l = h_leader(&h);
		if (l == 0)
			l = h_run_until_leader(&h, 0, 300);
		ck_assert_uint_ne(l, 0);
		snprintf(buf, sizeof(buf), "c%d", i);
		/* At most one proposal fails; retry it. */
		if (raft_propose(h_raft(&h, l), buf, strlen(buf), NULL,
				 NULL) != 0)
			ck_assert_int_eq(raft_propose(h_raft(&h, l), buf,
						      strlen(buf), NULL, NULL),
					 0);
		h_ready_all(&h);
		h_deliver_all(&h);
		if (i == 5) {
			int rc = raft_read_index(h_raft(&h, 2), 1);

			ck_assert(rc == 0 || rc == RAFT_ENOMEM ||
				  rc == RAFT_ENOTLEADER);
			h_ready_all(&h);
			ck_assert_int_eq(h_compact(&h, 2,
						   h_node(&h, 2)->applied),
					 0);
		}
		h_tick_all(&h, 1);
		h_deliver_all(&h);
	}
	ck_assert_uint_le(al.failed, 1);
	/* Converges. */
	l = h_leader(&h) ? h_leader(&h) : h_run_until_leader(&h, 0, 300);
	ck_assert_uint_ne(l, 0);
	h_commit(&h, l, "end");
	h_settle(&h);
	h_settle(&h);
	for (uint64_t id = 1; id <= 3; id++) {
		ck_assert(h_applied_data(h_node(&h, id), "end") ||
			  h_node(&h, id)->n_installed > 0);
		ck_assert_uint_eq(h_node(&h, id)->applied,
				  h_node(&h, l)->applied);
	}
	h_check_safety(&h);
	h_close(&h);
	ck_assert_int_eq(al.live, 0);
}
END_TEST

/* A full run through every feature frees everything it allocated. */
START_TEST(full_run_leaks_nothing)
{
	struct harness h;
	struct h_alloc al;

	h_alloc_init(&al);
	h_init(&h, 4);
	t_use(&h, &al);
	h_bootstrap(&h, 3);
	h_elect(&h, 1);
	h_commit(&h, 1, "a");
	ck_assert_int_eq(raft_read_index(h_raft(&h, 2), 1), 0);
	h_ready_all(&h);
	h_isolate(&h, 3);
	h_commit(&h, 1, "b");
	ck_assert_int_eq(h_compact(&h, 1, h_node(&h, 1)->applied), 0);
	h_heal(&h);
	h_settle(&h);
	ck_assert_uint_eq(h_node(&h, 3)->n_installed, 1);
	ck_assert_int_eq(raft_propose_conf_change(h_raft(&h, 1),
						  RAFT_CONF_ADD_LEARNER, 4,
						  NULL),
			 0);
	h_ready_all(&h);
	h_settle(&h);
	ck_assert_int_eq(raft_transfer_leadership(h_raft(&h, 1), 2), 0);
	h_ready_all(&h);
	h_settle(&h);
	ck_assert(raft_is_leader(h_raft(&h, 2)));
	ck_assert_int_gt(al.live, 0);
	h_close(&h);
	ck_assert_int_eq(al.live, 0);
}
END_TEST

/* NULL fields of the allocator mean libc. */
START_TEST(allocator_null_fields_use_libc)
{
	struct harness h;
	struct raft_allocator a;

	memset(&a, 0, sizeof(a));
	h_init(&h, 3);
	for (uint64_t id = 1; id <= 3; id++)
		h.nodes[id].cfg.alloc = &a;
	h_bootstrap(&h, 3);
	h_elect(&h, 1);
	h_commit(&h, 1, "libc");
	h_close(&h);
}
END_TEST

Suite *raft_alloc_suite(void)
{
	Suite *s = suite_create("raft_alloc");

	T_ADD(s, raft_new_out_of_memory_leaks_nothing);
	T_ADD(s, bootstrap_out_of_memory_changes_nothing);
	T_ADD_LOOP(s, proposal_out_of_memory_changes_nothing, 0, 8);
	T_ADD_LOOP(s, cluster_survives_one_failed_allocation, 0, 120);
	T_ADD(s, full_run_leaks_nothing);
	T_ADD(s, allocator_null_fields_use_libc);
	return s;
}
