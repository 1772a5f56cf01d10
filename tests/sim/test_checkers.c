/*
 * tests/sim/test_checkers.c: the simulator's checkers, each fed a
 * hand-made history -- a bad one that it must report, and a good one of
 * the same shape that it must accept. Narrow with CK_RUN_CASE=<name>.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/checkers.h"

/* A log for checker_log: terms[i] and hashes[i] at index snap+1+i. */
struct fake_log {
	uint64_t snap_index;
	uint64_t snap_term;
	size_t n;
	uint64_t terms[32];
	uint64_t hashes[32];
};

static bool fake_entry(const void *ctx, uint64_t index, uint64_t *term,
		       uint64_t *hash)
{
	const struct fake_log *f = ctx;
	if (index <= f->snap_index || index > f->snap_index + f->n)
		return false;
	*term = f->terms[index - f->snap_index - 1];
	*hash = f->hashes[index - f->snap_index - 1];
	return true;
}

static void fake_view(const struct fake_log *f, struct checker_log *v)
{
	v->ctx = f;
	v->snap_index = f->snap_index;
	v->snap_term = f->snap_term;
	v->last_index = f->snap_index + f->n;
	v->entry = fake_entry;
}

/* A log of the given terms from index 1; the hash of an entry is derived
 * from its index and term unless changed afterwards. */
static void fake_fill(struct fake_log *f, const uint64_t *terms, size_t n)
{
	memset(f, 0, sizeof(*f));
	f->n = n;
	for (size_t i = 0; i < n; i++) {
		f->terms[i] = terms[i];
		f->hashes[i] = 1000 * terms[i] + i + 1;
	}
}

static bool violated(const struct checker *ck, const char *rule)
{
	const char *m = checker_first_violation(ck);
	return m != NULL && strstr(m, rule) != NULL;
}

/* ---------------------------------------------------------------------- */

START_TEST(election_two_leaders_in_one_term_reported)
{
	struct checker *ck = checker_new();
	checker_set_step(ck, 7, 3);
	checker_leader(ck, 1, 2);
	checker_leader(ck, 2, 3);
	checker_leader(ck, 1, 2);     /* the same leader again is fine */
	ck_assert_uint_eq(checker_violations(ck), 0);
	checker_leader(ck, 3, 2);
	ck_assert_uint_eq(checker_violations(ck), 1);
	ck_assert(violated(ck, "election safety"));
	ck_assert_ptr_nonnull(strstr(checker_first_violation(ck), "step 7"));
	checker_free(ck);
}
END_TEST

START_TEST(log_matching_same_index_term_other_payload_reported)
{
	struct checker *ck = checker_new();
	checker_log_entry(ck, 1, 1, 1, 0, 11);
	checker_log_entry(ck, 2, 1, 1, 0, 11);
	checker_log_entry(ck, 1, 2, 2, 1, 22);
	checker_log_entry(ck, 2, 2, 3, 1, 33);    /* other term: fine */
	ck_assert_uint_eq(checker_violations(ck), 0);
	checker_log_entry(ck, 3, 2, 2, 1, 99);
	ck_assert(violated(ck, "log matching"));
	checker_free(ck);
}
END_TEST

START_TEST(log_matching_same_index_term_other_prefix_reported)
{
	struct checker *ck = checker_new();
	checker_log_entry(ck, 1, 5, 3, 2, 50);
	checker_log_entry(ck, 2, 5, 3, 2, 50);
	ck_assert_uint_eq(checker_violations(ck), 0);
	/* Same (5, 3) and payload, but preceded by a different term. */
	checker_log_entry(ck, 3, 5, 3, 1, 50);
	ck_assert(violated(ck, "log matching"));
	checker_free(ck);
}
END_TEST

START_TEST(log_matching_table_grows_without_losing_entries)
{
	struct checker *ck = checker_new();
	for (uint64_t i = 1; i <= 5000; i++)
		checker_log_entry(ck, 1, i, 1 + i / 100, i / 100, i);
	for (uint64_t i = 1; i <= 5000; i++)
		checker_log_entry(ck, 2, i, 1 + i / 100, i / 100, i);
	ck_assert_uint_eq(checker_violations(ck), 0);
	checker_log_entry(ck, 3, 4321, 1 + 4321 / 100, 4321 / 100, 1);
	ck_assert(violated(ck, "log matching"));
	checker_free(ck);
}
END_TEST

START_TEST(log_pair_divergence_below_a_match_reported)
{
	struct checker *ck = checker_new();
	const uint64_t ta[] = { 1, 1, 2, 2, 3 };
	const uint64_t tb[] = { 1, 1, 2, 2, 4, 4 };
	struct fake_log a, b;
	struct checker_log va, vb;
	fake_fill(&a, ta, 5);
	fake_fill(&b, tb, 6);
	fake_view(&a, &va);
	fake_view(&b, &vb);
	/* Differing suffixes after a common prefix are legal. */
	checker_log_pair(ck, 1, &va, 2, &vb);
	ck_assert_uint_eq(checker_violations(ck), 0);
	/* Index 2 differs while index 4 matches: not legal. */
	b.hashes[1] = 12345;
	checker_log_pair(ck, 1, &va, 2, &vb);
	ck_assert(violated(ck, "log matching"));
	checker_free(ck);
}
END_TEST

START_TEST(log_pair_compares_above_both_snapshots_only)
{
	struct checker *ck = checker_new();
	const uint64_t ta[] = { 1, 1, 2, 2 };
	struct fake_log a, b;
	struct checker_log va, vb;
	fake_fill(&a, ta, 4);
	fake_fill(&b, ta, 4);
	b.snap_index = 2;       /* b holds 3..6 */
	b.snap_term = 1;
	b.terms[0] = 2;
	b.hashes[0] = a.hashes[2];
	b.terms[1] = 2;
	b.hashes[1] = a.hashes[3];
	b.n = 2;
	fake_view(&a, &va);
	fake_view(&b, &vb);
	checker_log_pair(ck, 1, &va, 2, &vb);
	ck_assert_uint_eq(checker_violations(ck), 0);
	b.hashes[0] = 7;
	checker_log_pair(ck, 1, &va, 2, &vb);
	ck_assert(violated(ck, "log matching"));
	checker_free(ck);
}
END_TEST

START_TEST(commit_of_two_entries_at_one_index_reported)
{
	struct checker *ck = checker_new();
	checker_commit(ck, 1, 1, 1, 11, 1);
	checker_commit(ck, 2, 1, 1, 11, 2);
	checker_commit(ck, 1, 2, 2, 22, 2);
	ck_assert_uint_eq(checker_violations(ck), 0);
	ck_assert_uint_eq(checker_committed_max(ck), 2);
	checker_commit(ck, 3, 2, 3, 33, 3);   /* Figure 8: overwritten */
	ck_assert(violated(ck, "committed entry"));
	checker_free(ck);
}
END_TEST

START_TEST(commit_index_going_down_reported)
{
	struct checker *ck = checker_new();
	checker_commit_index(ck, 1, 0, 5);
	checker_commit_index(ck, 1, 5, 5);
	ck_assert_uint_eq(checker_violations(ck), 0);
	checker_commit_index(ck, 1, 5, 4);
	ck_assert(violated(ck, "commit monotonicity"));
	checker_free(ck);
}
END_TEST

START_TEST(hard_state_term_going_down_reported)
{
	struct checker *ck = checker_new();
	checker_hard_state(ck, 1, 0, 0, 0, 1, 0, 0);
	checker_hard_state(ck, 1, 1, 0, 0, 1, 2, 3);   /* votes for 2 */
	checker_hard_state(ck, 1, 1, 2, 3, 2, 0, 3);   /* new term */
	ck_assert_uint_eq(checker_violations(ck), 0);
	checker_hard_state(ck, 1, 2, 0, 3, 1, 0, 3);
	ck_assert(violated(ck, "vote safety"));
	checker_free(ck);
}
END_TEST

START_TEST(hard_state_second_vote_in_a_term_reported)
{
	struct checker *ck = checker_new();
	checker_hard_state(ck, 1, 3, 2, 0, 3, 2, 1);   /* same vote */
	ck_assert_uint_eq(checker_violations(ck), 0);
	checker_hard_state(ck, 1, 3, 2, 1, 3, 4, 1);
	ck_assert(violated(ck, "vote safety"));
	checker_free(ck);
}
END_TEST

START_TEST(hard_state_persisted_commit_going_down_reported)
{
	struct checker *ck = checker_new();
	checker_hard_state(ck, 1, 3, 2, 9, 3, 2, 8);
	ck_assert(violated(ck, "commit monotonicity"));
	checker_free(ck);
}
END_TEST

START_TEST(leader_lacking_a_committed_entry_reported)
{
	struct checker *ck = checker_new();
	const uint64_t terms[] = { 1, 1, 2 };
	struct fake_log f;
	struct checker_log v;
	fake_fill(&f, terms, 3);
	for (uint64_t i = 1; i <= 3; i++)
		checker_commit(ck, 1, i, terms[i - 1], f.hashes[i - 1], 2);
	/* A leader of term 3 holding only 1..2. */
	f.n = 2;
	fake_view(&f, &v);
	checker_leader_log(ck, 2, 3, &v);
	ck_assert(violated(ck, "leader completeness"));
	checker_free(ck);
}
END_TEST

START_TEST(leader_with_another_entry_at_a_committed_index_reported)
{
	struct checker *ck = checker_new();
	const uint64_t committed[] = { 1, 2, 2 };
	const uint64_t leader[] = { 1, 3, 3, 4 };
	struct fake_log c, l;
	struct checker_log v;
	fake_fill(&c, committed, 3);
	fake_fill(&l, leader, 4);
	for (uint64_t i = 1; i <= 3; i++)
		checker_commit(ck, 1, i, committed[i - 1], c.hashes[i - 1], 2);
	fake_view(&l, &v);
	checker_leader_log(ck, 3, 4, &v);
	ck_assert(violated(ck, "leader completeness"));
	checker_free(ck);
}
END_TEST

START_TEST(stale_leader_lacking_later_commits_accepted)
{
	struct checker *ck = checker_new();
	const uint64_t terms[] = { 1, 1, 5 };
	struct fake_log f;
	struct checker_log v;
	fake_fill(&f, terms, 3);
	checker_commit(ck, 1, 1, 1, f.hashes[0], 1);
	checker_commit(ck, 1, 2, 1, f.hashes[1], 1);
	checker_commit(ck, 1, 3, 5, f.hashes[2], 5);  /* committed in 5 */
	/* A deposed leader of term 2 that still thinks it leads. */
	f.n = 2;
	fake_view(&f, &v);
	checker_leader_log(ck, 2, 2, &v);
	ck_assert_uint_eq(checker_violations(ck), 0);
	checker_free(ck);
}
END_TEST

START_TEST(leader_snapshot_covers_committed_entries)
{
	struct checker *ck = checker_new();
	const uint64_t terms[] = { 1, 1, 2, 2 };
	struct fake_log f;
	struct checker_log v;
	fake_fill(&f, terms, 4);
	for (uint64_t i = 1; i <= 4; i++)
		checker_commit(ck, 1, i, terms[i - 1], f.hashes[i - 1], 2);
	/* The leader compacted 1..3 into a snapshot of term 2. */
	f.snap_index = 3;
	f.snap_term = 2;
	f.terms[0] = 2;
	f.hashes[0] = 1000 * 2 + 4;
	f.n = 1;
	fake_view(&f, &v);
	checker_leader_log(ck, 1, 3, &v);
	ck_assert_uint_eq(checker_violations(ck), 0);
	/* Another leader whose snapshot at 3 has the wrong term. */
	f.snap_term = 1;
	fake_view(&f, &v);
	checker_leader_log(ck, 2, 3, &v);
	ck_assert(violated(ck, "leader completeness"));
	checker_free(ck);
}
END_TEST

START_TEST(leader_completeness_checks_entries_committed_later)
{
	struct checker *ck = checker_new();
	const uint64_t terms[] = { 1, 2, 2 };
	struct fake_log f;
	struct checker_log v;
	fake_fill(&f, terms, 3);
	checker_commit(ck, 1, 1, 1, f.hashes[0], 2);
	fake_view(&f, &v);
	checker_leader_log(ck, 1, 2, &v);
	ck_assert_uint_eq(checker_violations(ck), 0);
	/* Index 2 commits with another payload than the leader holds. */
	checker_commit(ck, 2, 2, 2, 999, 2);
	checker_leader_log(ck, 1, 2, &v);
	ck_assert(violated(ck, "leader completeness"));
	checker_free(ck);
}
END_TEST

START_TEST(apply_of_two_entries_at_one_index_reported)
{
	struct checker *ck = checker_new();
	checker_apply(ck, 1, 1, 1, 11, 101);
	checker_apply(ck, 2, 1, 1, 11, 101);
	ck_assert_uint_eq(checker_violations(ck), 0);
	checker_apply(ck, 3, 1, 2, 12, 102);
	ck_assert(violated(ck, "state machine safety"));
	checker_free(ck);
}
END_TEST

START_TEST(apply_reaching_another_state_reported)
{
	struct checker *ck = checker_new();
	checker_apply(ck, 1, 4, 2, 40, 400);
	/* The same entry on top of a different state. */
	checker_apply(ck, 2, 4, 2, 40, 401);
	ck_assert(violated(ck, "state machine safety"));
	checker_free(ck);
}
END_TEST

START_TEST(restore_of_another_state_reported)
{
	struct checker *ck = checker_new();
	checker_apply(ck, 1, 9, 3, 90, 900);
	checker_restore(ck, 2, 9, 900);
	checker_restore(ck, 3, 12, 1200);     /* a state nobody applied yet */
	checker_apply(ck, 1, 12, 3, 120, 1200);
	ck_assert_uint_eq(checker_violations(ck), 0);
	checker_restore(ck, 4, 9, 901);
	ck_assert(violated(ck, "state machine safety"));
	checker_free(ck);
}
END_TEST

START_TEST(read_missing_an_acknowledged_write_reported)
{
	struct checker *ck = checker_new();
	uint64_t t0, t1;
	t0 = checker_read_begin(ck);
	checker_write_acked(ck, 10);
	checker_write_acked(ck, 7);            /* acks out of order */
	t1 = checker_read_begin(ck);
	ck_assert_uint_eq(t0, 0);
	ck_assert_uint_eq(t1, 10);
	/* The first read began before the write: any state will do. */
	checker_read_served(ck, 1, 100, t0, 3);
	checker_read_served(ck, 2, 101, t1, 10);
	checker_read_served(ck, 2, 102, t1, 12);
	ck_assert_uint_eq(checker_violations(ck), 0);
	checker_read_served(ck, 3, 103, t1, 9);
	ck_assert(violated(ck, "linearizable read"));
	checker_free(ck);
}
END_TEST

START_TEST(fail_records_first_and_last)
{
	struct checker *ck = checker_new();
	ck_assert_ptr_null(checker_first_violation(ck));
	checker_set_step(ck, 3, 1);
	checker_fail(ck, "liveness", "no leader after %d ticks", 40);
	checker_set_step(ck, 4, 2);
	checker_fail(ck, "contract", "second");
	ck_assert_uint_eq(checker_violations(ck), 2);
	ck_assert_str_eq(checker_first_violation(ck),
			 "step 3 t=1: liveness: no leader after 40 ticks");
	ck_assert_str_eq(checker_last_violation(ck),
			 "step 4 t=2: contract: second");
	checker_free(ck);
}
END_TEST

static Suite *checkers_suite(void)
{
	Suite *s = suite_create("sim_checkers");
	TCase *tc;

	tc = tcase_create("election");
	tcase_add_test(tc, election_two_leaders_in_one_term_reported);
	tcase_add_test(tc, hard_state_term_going_down_reported);
	tcase_add_test(tc, hard_state_second_vote_in_a_term_reported);
	suite_add_tcase(s, tc);

	tc = tcase_create("log_matching");
	tcase_add_test(tc, log_matching_same_index_term_other_payload_reported);
	tcase_add_test(tc, log_matching_same_index_term_other_prefix_reported);
	tcase_add_test(tc, log_matching_table_grows_without_losing_entries);
	tcase_add_test(tc, log_pair_divergence_below_a_match_reported);
	tcase_add_test(tc, log_pair_compares_above_both_snapshots_only);
	suite_add_tcase(s, tc);

	tc = tcase_create("commit");
	tcase_add_test(tc, commit_of_two_entries_at_one_index_reported);
	tcase_add_test(tc, commit_index_going_down_reported);
	tcase_add_test(tc, hard_state_persisted_commit_going_down_reported);
	suite_add_tcase(s, tc);

	tc = tcase_create("leader_completeness");
	tcase_add_test(tc, leader_lacking_a_committed_entry_reported);
	tcase_add_test(tc,
		       leader_with_another_entry_at_a_committed_index_reported);
	tcase_add_test(tc, stale_leader_lacking_later_commits_accepted);
	tcase_add_test(tc, leader_snapshot_covers_committed_entries);
	tcase_add_test(tc, leader_completeness_checks_entries_committed_later);
	suite_add_tcase(s, tc);

	tc = tcase_create("state_machine");
	tcase_add_test(tc, apply_of_two_entries_at_one_index_reported);
	tcase_add_test(tc, apply_reaching_another_state_reported);
	tcase_add_test(tc, restore_of_another_state_reported);
	suite_add_tcase(s, tc);

	tc = tcase_create("reads");
	tcase_add_test(tc, read_missing_an_acknowledged_write_reported);
	tcase_add_test(tc, fail_records_first_and_last);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(checkers_suite());
	int failed;
	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
