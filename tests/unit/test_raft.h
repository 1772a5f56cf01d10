/*
 * tests/unit/test_raft.h: the suites of the raft unit tests, one per area,
 * one TCase per behaviour (named as the rule it checks), so that
 * CK_RUN_SUITE=raft_election CK_RUN_CASE=vote_granted_at_most_once_per_term
 * runs exactly one test.
 */
#ifndef COORD_TESTS_UNIT_TEST_RAFT_H
#define COORD_TESTS_UNIT_TEST_RAFT_H

#include <check.h>

#include "tests/unit/raft_harness.h"

/* Seconds a single test may take (sanitizer builds are slow). */
#define T_TIMEOUT 60

/* Adds test fn in a TCase of its own, named after it. */
#define T_ADD(s, fn)                                                         \
	do {                                                                 \
		TCase *tc_ = tcase_create(#fn);                              \
		tcase_set_timeout(tc_, T_TIMEOUT);                           \
		tcase_add_test(tc_, fn);                                     \
		suite_add_tcase((s), tc_);                                   \
	} while (0)

/* Same for a loop test over [lo, hi). */
#define T_ADD_LOOP(s, fn, lo, hi)                                            \
	do {                                                                 \
		TCase *tc_ = tcase_create(#fn);                              \
		tcase_set_timeout(tc_, T_TIMEOUT);                           \
		tcase_add_loop_test(tc_, fn, (lo), (hi));                    \
		suite_add_tcase((s), tc_);                                   \
	} while (0)

Suite *raft_api_suite(void);
Suite *raft_election_suite(void);
Suite *raft_prevote_suite(void);
Suite *raft_check_quorum_suite(void);
Suite *raft_replication_suite(void);
Suite *raft_batching_suite(void);
Suite *raft_snapshot_suite(void);
Suite *raft_membership_suite(void);
Suite *raft_read_suite(void);
Suite *raft_transfer_suite(void);
Suite *raft_restart_suite(void);
Suite *raft_input_suite(void);
Suite *raft_alloc_suite(void);
Suite *raft_async_suite(void);

#endif /* COORD_TESTS_UNIT_TEST_RAFT_H */
