/*
 * tests/unit/test_failpoint.c: the failpoints' spec parser, its refusals,
 * the triggers (@P%, #N, always), the PRNG's replay from a seed, and the
 * process-wide hook: COORD_FAILPOINTS read from the environment, a crash
 * exiting with FAILPOINT_CRASH_STATUS.
 */
#include <check.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordd/failpoint.h"
#include "proto/errors.h"

static struct failpoint_table t;
static char err[512];

static int parse(const char *spec)
{
	err[0] = '\0';
	return failpoint_parse(&t, spec, 42, err, sizeof(err));
}

START_TEST(spec_sets_each_point)
{
	ck_assert_int_eq(parse("store.sync=error#3,net.send=drop@1.5%,"
			       "node.after_persist=crash,node.after_send=crash@100%,"
			       "snapshot.install=crash#1"), COORD_OK);
	ck_assert_int_eq(t.p[FAILPOINT_STORE_SYNC].action, FAILPOINT_ERROR);
	ck_assert_uint_eq(t.p[FAILPOINT_STORE_SYNC].nth, 3);
	ck_assert_int_eq(t.p[FAILPOINT_NET_SEND].action, FAILPOINT_DROP);
	ck_assert_uint_eq(t.p[FAILPOINT_NET_SEND].ppm, 15000);
	ck_assert_int_eq(t.p[FAILPOINT_NODE_AFTER_PERSIST].action,
			 FAILPOINT_CRASH);
	ck_assert_uint_eq(t.p[FAILPOINT_NODE_AFTER_SEND].ppm, 1000000);
	ck_assert_uint_eq(t.p[FAILPOINT_SNAPSHOT_INSTALL].nth, 1);
	ck_assert_str_eq(failpoint_name(FAILPOINT_NODE_AFTER_SEND),
			 "node.after_send");
	ck_assert_int_eq(parse(""), COORD_OK);
	ck_assert_int_eq(parse(NULL), COORD_OK);
	for (int i = 0; i < FAILPOINT_N; i++)
		ck_assert_int_eq(failpoint_eval(&t, (enum failpoint_id)i),
				 FAILPOINT_OFF);
}
END_TEST

/* Every refusal names its culprit, and leaves nothing on. */
START_TEST(bad_specs_are_refused_with_the_culprit)
{
	static const struct {
		const char *spec, *says;
	} bad[] = {
		{ "store.sync", "'store.sync' is not POINT=ACTION" },
		{ "disk.sync=crash", "unknown point 'disk.sync'" },
		{ "store.sync=explode", "unknown action 'explode'" },
		{ "net.send=error", "net.send cannot error" },
		{ "node.after_persist=drop", "node.after_persist cannot drop" },
		{ "store.sync=crash,store.sync=error", "store.sync given twice" },
		{ "store.sync=crash,", "an empty item" },
		{ ",store.sync=crash", "an empty item" },
		{ "store.sync=crash@5", "bad trigger '@5'" },
		{ "store.sync=crash@0%", "bad trigger '@0%'" },
		{ "store.sync=crash@100.01%", "bad trigger '@100.01%'" },
		{ "store.sync=crash@0.00001%", "bad trigger" },
		{ "store.sync=crash@x%", "bad trigger" },
		{ "store.sync=crash@%", "bad trigger" },
		{ "store.sync=crash#0", "bad trigger '#0'" },
		{ "store.sync=crash#", "bad trigger '#'" },
		{ "store.sync=crash#2x", "bad trigger '#2x'" },
		{ "store.sync=crash#1000000000000000000000", "bad trigger" },
		{ "net.send=drop@1%@2%", "bad trigger" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse(bad[i].spec) == COORD_EINVAL,
			      "accepted '%s'", bad[i].spec);
		ck_assert_msg(strstr(err, bad[i].says) != NULL,
			      "'%s' said '%s'", bad[i].spec, err);
		ck_assert_int_eq(t.p[FAILPOINT_STORE_SYNC].action,
				 FAILPOINT_OFF);
	}
}
END_TEST

START_TEST(nth_fires_on_that_hit_only)
{
	ck_assert_int_eq(parse("store.sync=error#4"), COORD_OK);
	for (int i = 1; i <= 10; i++)
		ck_assert_int_eq(failpoint_eval(&t, FAILPOINT_STORE_SYNC),
				 i == 4 ? FAILPOINT_ERROR : FAILPOINT_OFF);
	ck_assert_uint_eq(t.p[FAILPOINT_STORE_SYNC].hits, 10);
	ck_assert_uint_eq(t.p[FAILPOINT_STORE_SYNC].fired, 1);
	/* The other points are not counted. */
	ck_assert_int_eq(failpoint_eval(&t, FAILPOINT_NET_SEND), FAILPOINT_OFF);
	ck_assert_uint_eq(t.p[FAILPOINT_NET_SEND].hits, 0);
}
END_TEST

START_TEST(no_trigger_fires_every_hit)
{
	ck_assert_int_eq(parse("net.send=drop"), COORD_OK);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(failpoint_eval(&t, FAILPOINT_NET_SEND),
				 FAILPOINT_DROP);
}
END_TEST

/* @P% fires about P% of the hits: 100,000 hits at 5% and at 0.1%, the
 * counts within 5 standard deviations; 100% always. */
START_TEST(percent_fires_at_its_rate)
{
	unsigned n5 = 0, n01 = 0, n100 = 0;

	ck_assert_int_eq(parse("net.send=drop@5%,store.sync=crash@0.1%,"
			       "node.after_send=crash@100%"), COORD_OK);
	for (int i = 0; i < 100000; i++) {
		n5 += failpoint_eval(&t, FAILPOINT_NET_SEND) == FAILPOINT_DROP;
		n01 += failpoint_eval(&t, FAILPOINT_STORE_SYNC) ==
		       FAILPOINT_CRASH;
		/* Counted, not asserted here: a passing ck_assert costs a
		 * write, too slow 100,000 times under sanitizers. */
		n100 += failpoint_eval(&t, FAILPOINT_NODE_AFTER_SEND) ==
			FAILPOINT_CRASH;
	}
	ck_assert_uint_eq(n100, 100000);
	/* sd: sqrt(100000 * 0.05 * 0.95) = 69; sqrt(100000 * 0.001) = 10. */
	ck_assert_msg(n5 > 5000 - 345 && n5 < 5000 + 345, "5%%: %u", n5);
	ck_assert_msg(n01 > 100 - 50 && n01 < 100 + 50, "0.1%%: %u", n01);
}
END_TEST

/* The same seed replays the same hits; another seed, others. */
START_TEST(seed_replays_the_same_hits)
{
	struct failpoint_table a, b, c;
	bool differs = false;

	ck_assert_int_eq(failpoint_parse(&a, "net.send=drop@30%", 7, err,
					 sizeof(err)), COORD_OK);
	ck_assert_int_eq(failpoint_parse(&b, "net.send=drop@30%", 7, err,
					 sizeof(err)), COORD_OK);
	ck_assert_int_eq(failpoint_parse(&c, "net.send=drop@30%", 8, err,
					 sizeof(err)), COORD_OK);
	for (int i = 0; i < 200; i++) {
		enum failpoint_action x = failpoint_eval(&a, FAILPOINT_NET_SEND);

		ck_assert_int_eq(x, failpoint_eval(&b, FAILPOINT_NET_SEND));
		differs |= x != failpoint_eval(&c, FAILPOINT_NET_SEND);
	}
	ck_assert(differs);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* The process's table, from the environment. */

static char logged[1024];

static void log_cb(int level, const char *fmt, ...)
{
	va_list ap;
	size_t n = strlen(logged);

	snprintf(logged + n, sizeof(logged) - n, "level=%d ", level);
	n = strlen(logged);
	va_start(ap, fmt);
	vsnprintf(logged + n, sizeof(logged) - n, fmt, ap);
	va_end(ap);
	n = strlen(logged);
	snprintf(logged + n, sizeof(logged) - n, "\n");
}

START_TEST(env_sets_the_hooks_and_logs_the_seed)
{
	logged[0] = '\0';
	setenv("COORD_FAILPOINTS", "store.sync=error#2,net.send=drop", 1);
	setenv("COORD_FAILPOINTS_SEED", "1234", 1);
	ck_assert_int_eq(failpoint_setup_env(log_cb, err, sizeof(err)),
			 COORD_OK);
	ck_assert_msg(strstr(logged, "level=2 failpoints on: store.sync=error#2,"
				     "net.send=drop seed=1234") != NULL,
		      "logged: %s", logged);
	ck_assert_int_eq(FAILPOINT(FAILPOINT_STORE_SYNC), FAILPOINT_OFF);
	ck_assert_int_eq(FAILPOINT(FAILPOINT_STORE_SYNC), FAILPOINT_ERROR);
	ck_assert_int_eq(FAILPOINT(FAILPOINT_STORE_SYNC), FAILPOINT_OFF);
	ck_assert_int_eq(FAILPOINT(FAILPOINT_NET_SEND), FAILPOINT_DROP);
	ck_assert_int_eq(FAILPOINT(FAILPOINT_NODE_AFTER_SEND), FAILPOINT_OFF);
	ck_assert_msg(strstr(logged, "level=3 failpoint point=store.sync "
				     "action=error hit=2\n") != NULL,
		      "logged: %s", logged);
}
END_TEST

START_TEST(env_bad_value_is_refused)
{
	setenv("COORD_FAILPOINTS", "store.sync=crash@200%", 1);
	unsetenv("COORD_FAILPOINTS_SEED");
	ck_assert_int_eq(failpoint_setup_env(log_cb, err, sizeof(err)),
			 COORD_EINVAL);
	ck_assert_msg(strstr(err, "bad trigger '@200%'") != NULL, "%s", err);
	setenv("COORD_FAILPOINTS", "store.sync=crash", 1);
	setenv("COORD_FAILPOINTS_SEED", "-3", 1);
	ck_assert_int_eq(failpoint_setup_env(log_cb, err, sizeof(err)),
			 COORD_EINVAL);
	ck_assert_msg(strstr(err, "COORD_FAILPOINTS_SEED: '-3'") != NULL,
		      "%s", err);
	setenv("COORD_FAILPOINTS_SEED", "12x", 1);
	ck_assert_int_eq(failpoint_setup_env(log_cb, err, sizeof(err)),
			 COORD_EINVAL);
	/* Unset: nothing on, nothing logged. */
	unsetenv("COORD_FAILPOINTS");
	unsetenv("COORD_FAILPOINTS_SEED");
	logged[0] = '\0';
	ck_assert_int_eq(failpoint_setup_env(log_cb, err, sizeof(err)),
			 COORD_OK);
	ck_assert_str_eq(logged, "");
	ck_assert_int_eq(FAILPOINT(FAILPOINT_STORE_SYNC), FAILPOINT_OFF);
}
END_TEST

/* A crash exits at once with FAILPOINT_CRASH_STATUS (an exit test: Check
 * runs it in a child and checks the status). */
START_TEST(crash_exits_at_once)
{
	setenv("COORD_FAILPOINTS", "node.after_persist=crash#2", 1);
	ck_assert_int_eq(failpoint_setup_env(NULL, err, sizeof(err)),
			 COORD_OK);
	ck_assert_int_eq(FAILPOINT(FAILPOINT_NODE_AFTER_PERSIST), FAILPOINT_OFF);
	(void)FAILPOINT(FAILPOINT_NODE_AFTER_PERSIST);
	ck_abort_msg("the crash returned");
}
END_TEST

static Suite *failpoint_suite(void)
{
	Suite *s = suite_create("failpoint");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, spec_sets_each_point);
	tcase_add_test(tc, bad_specs_are_refused_with_the_culprit);
	suite_add_tcase(s, tc);
	tc = tcase_create("trigger");
	tcase_set_timeout(tc, 60);       /* sanitizers, a busy machine */
	tcase_add_test(tc, nth_fires_on_that_hit_only);
	tcase_add_test(tc, no_trigger_fires_every_hit);
	tcase_add_test(tc, percent_fires_at_its_rate);
	tcase_add_test(tc, seed_replays_the_same_hits);
	suite_add_tcase(s, tc);
	tc = tcase_create("env");
	tcase_add_test(tc, env_sets_the_hooks_and_logs_the_seed);
	tcase_add_test(tc, env_bad_value_is_refused);
	tcase_add_exit_test(tc, crash_exits_at_once, FAILPOINT_CRASH_STATUS);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(failpoint_suite());
	int failed;

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
