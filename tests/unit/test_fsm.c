/*
 * tests/unit/test_fsm.c: runs every coordd/fsm/ unit suite and prints TAP
 * on stdout (for tap-driver.sh). Narrow with CK_RUN_SUITE=fsm_history
 * CK_RUN_CASE=<test name>; CK_FORK=no for gdb; CK_VERBOSITY=normal for
 * Check's own summary on top of the TAP.
 */
#include <stdlib.h>

#include "tests/unit/test_fsm.h"

int main(void)
{
	SRunner *sr = srunner_create(fsm_kv_suite());
	int failed;

	srunner_add_suite(sr, fsm_txn_suite());
	srunner_add_suite(sr, fsm_history_suite());
	srunner_add_suite(sr, fsm_faults_suite());
	srunner_add_suite(sr, fsm_backend_suite());
	srunner_add_suite(sr, fsm_view_suite());
	srunner_add_suite(sr, fsm_clients_suite());
	srunner_add_suite(sr, fsm_members_suite());
	srunner_add_suite(sr, fsm_lease_suite());
	srunner_add_suite(sr, fsm_lock_suite());
	srunner_add_suite(sr, fsm_job_suite());
	srunner_add_suite(sr, fsm_fence_suite());
	srunner_add_suite(sr, fsm_election_suite());
	srunner_add_suite(sr, fsm_sem_suite());
	srunner_add_suite(sr, fsm_quota_suite());
	srunner_set_tap(sr, "-");
	srunner_run_all(sr, getenv("CK_VERBOSITY") ? CK_ENV : CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
