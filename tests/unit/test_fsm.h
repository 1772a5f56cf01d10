/*
 * tests/unit/test_fsm.h: the suites of the coordd/fsm/ unit tests, one per
 * area, one TCase per rule, so that
 * CK_RUN_SUITE=fsm_txn CK_RUN_CASE=txn_branch_sees_its_own_writes runs
 * exactly one test.
 */
#ifndef COORD_TESTS_UNIT_TEST_FSM_H
#define COORD_TESTS_UNIT_TEST_FSM_H

#include <check.h>

Suite *fsm_kv_suite(void);
Suite *fsm_txn_suite(void);
Suite *fsm_history_suite(void);
Suite *fsm_faults_suite(void);
Suite *fsm_backend_suite(void);
Suite *fsm_view_suite(void);
Suite *fsm_clients_suite(void);
Suite *fsm_members_suite(void);
Suite *fsm_lease_suite(void);
Suite *fsm_lock_suite(void);
Suite *fsm_job_suite(void);
Suite *fsm_fence_suite(void);
Suite *fsm_election_suite(void);
Suite *fsm_sem_suite(void);
Suite *fsm_quota_suite(void);

#endif /* COORD_TESTS_UNIT_TEST_FSM_H */
