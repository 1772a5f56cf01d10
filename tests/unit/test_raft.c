/*
 * tests/unit/test_raft.c: runs every raft suite and prints TAP on stdout
 * (for tap-driver.sh). Narrow with CK_RUN_SUITE=raft_replication
 * CK_RUN_CASE=<test name>; CK_FORK=no for gdb; CK_VERBOSITY=normal for
 * Check's own summary on top of the TAP.
 */
#include <stdlib.h>

#include "tests/unit/test_raft.h"

int main(void)
{
	SRunner *sr = srunner_create(raft_api_suite());
	int failed;

	srunner_add_suite(sr, raft_election_suite());
	srunner_add_suite(sr, raft_prevote_suite());
	srunner_add_suite(sr, raft_check_quorum_suite());
	srunner_add_suite(sr, raft_replication_suite());
	srunner_add_suite(sr, raft_batching_suite());
	srunner_add_suite(sr, raft_snapshot_suite());
	srunner_add_suite(sr, raft_membership_suite());
	srunner_add_suite(sr, raft_read_suite());
	srunner_add_suite(sr, raft_transfer_suite());
	srunner_add_suite(sr, raft_restart_suite());
	srunner_add_suite(sr, raft_input_suite());
	srunner_add_suite(sr, raft_alloc_suite());
	srunner_add_suite(sr, raft_async_suite());
	srunner_set_tap(sr, "-");
	srunner_run_all(sr, getenv("CK_VERBOSITY") ? CK_ENV : CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
