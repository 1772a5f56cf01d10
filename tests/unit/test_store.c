/*
 * tests/unit/test_store.c: runs every coordd/store/ unit suite and prints
 * TAP on stdout (for tap-driver.sh). Narrow with CK_RUN_SUITE=store_log
 * CK_RUN_CASE=<test name>; CK_FORK=no for gdb; CK_VERBOSITY=normal for
 * Check's own summary on top of the TAP. Test data lives in mktemp dirs
 * under $TMPDIR (default /tmp), removed by each test.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/unit/test_store.h"

int main(int argc, char **argv)
{
	SRunner *sr;
	int failed;

	if (argc >= 2 && strcmp(argv[1], "--crash-child") == 0)
		return store_crash_child_main(argc - 2, argv + 2);
	sr = srunner_create(store_crc_suite());
	srunner_add_suite(sr, store_log_suite());
	srunner_add_suite(sr, store_backend_suite());
	srunner_add_suite(sr, store_snapshot_suite());
	srunner_add_suite(sr, store_corrupt_suite());
	srunner_add_suite(sr, store_crash_suite());
	srunner_add_suite(sr, store_faults_suite());
	srunner_set_tap(sr, "-");
	srunner_run_all(sr, getenv("CK_VERBOSITY") ? CK_ENV : CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
