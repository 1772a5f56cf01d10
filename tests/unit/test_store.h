/*
 * tests/unit/test_store.h: the suites of the coordd/store/ unit tests, one
 * per area, one TCase per rule, so that
 * CK_RUN_SUITE=store_log CK_RUN_CASE=persist_truncates_conflicting_suffix
 * runs exactly one test.
 */
#ifndef COORD_TESTS_UNIT_TEST_STORE_H
#define COORD_TESTS_UNIT_TEST_STORE_H

#include <check.h>

Suite *store_crc_suite(void);
Suite *store_log_suite(void);
Suite *store_backend_suite(void);
Suite *store_snapshot_suite(void);
Suite *store_corrupt_suite(void);
Suite *store_crash_suite(void);
Suite *store_faults_suite(void);

/* The children of the crash tests: the test program runs as one when its
 * arguments are "--crash-child mode dir seed from fd" (argv from mode
 * on). Returns an exit status only on bad arguments. */
int store_crash_child_main(int argc, char **argv);

#endif /* COORD_TESTS_UNIT_TEST_STORE_H */
