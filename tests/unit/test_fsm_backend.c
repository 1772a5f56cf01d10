/*
 * tests/unit/test_fsm_backend.c: the in-memory backend against the
 * contract of coordd/fsm/backend.h.
 */
#include <string.h>

#include "tests/unit/backend_check.h"
#include "tests/unit/fsm_test.h"
#include "tests/unit/test_fsm.h"

START_TEST(mem_backend_keeps_keys_in_byte_order)
{
	struct fsm_backend *b;
	struct fsm_backend_write w[4];
	char buf[64];

	ft_code_eq(fsm_backend_mem_new(NULL, &b), COORD_OK);
	bc_put(&w[0], "b", "2");
	bc_put(&w[1], "a", "1");
	bc_put(&w[2], "ab", "3");
	bc_put(&w[3], "c", "4");
	ft_code_eq(b->ops->write(b, w, 4), COORD_OK);
	ck_assert_uint_eq(fsm_backend_mem_count(b), 4);
	bc_scan_keys(b, NULL, "", buf);
	ck_assert_str_eq(buf, "a,ab,b,c,");
	bc_scan_keys(b, NULL, "aa", buf);
	ck_assert_str_eq(buf, "ab,b,c,");
	bc_scan_keys(b, NULL, "d", buf);
	ck_assert_str_eq(buf, "");
	ck_assert_str_eq(bc_get(b, "ab", buf), "3");
	ck_assert_ptr_null(bc_get(b, "aa", buf));
	ck_assert_ptr_null(bc_get(b, "zz", buf));
	fsm_backend_mem_free(b);
}
END_TEST

START_TEST(mem_backend_batch_last_write_of_a_key_wins)
{
	struct fsm_backend *b;
	struct fsm_backend_write w[5];
	char buf[64];

	ft_code_eq(fsm_backend_mem_new(NULL, &b), COORD_OK);
	bc_put(&w[0], "k", "1");
	bc_put(&w[1], "k", "2");
	bc_put(&w[2], "x", "1");
	bc_del(&w[3], "x");
	bc_del(&w[4], "nothing");
	ft_code_eq(b->ops->write(b, w, 5), COORD_OK);
	ck_assert_str_eq(bc_get(b, "k", buf), "2");
	ck_assert_ptr_null(bc_get(b, "x", buf));
	bc_del(&w[0], "k");
	bc_put(&w[1], "k", "3");
	ft_code_eq(b->ops->write(b, w, 2), COORD_OK);
	ck_assert_str_eq(bc_get(b, "k", buf), "3");
	ft_code_eq(b->ops->write(b, w, 1), COORD_OK);
	ck_assert_uint_eq(fsm_backend_mem_count(b), 0);
	ft_code_eq(b->ops->write(b, w, 0), COORD_OK);
	fsm_backend_mem_free(b);
}
END_TEST

START_TEST(mem_backend_snapshots_and_iterators_see_their_moment)
{
	struct fsm_backend *b;
	struct fsm_backend_snap *snap;
	struct fsm_backend_iter *it;
	struct fsm_backend_write w[2];
	char buf[64];
	size_t kl;

	ft_code_eq(fsm_backend_mem_new(NULL, &b), COORD_OK);
	bc_put(&w[0], "a", "1");
	bc_put(&w[1], "b", "1");
	ft_code_eq(b->ops->write(b, w, 2), COORD_OK);
	ft_code_eq(b->ops->snap_new(b, &snap), COORD_OK);
	ft_code_eq(b->ops->iter_new(b, NULL, &it), COORD_OK);
	bc_del(&w[0], "a");
	bc_put(&w[1], "c", "1");
	ft_code_eq(b->ops->write(b, w, 2), COORD_OK);
	bc_scan_keys(b, snap, "", buf);
	ck_assert_str_eq(buf, "a,b,");
	bc_scan_keys(b, NULL, "", buf);
	ck_assert_str_eq(buf, "b,c,");
	b->ops->iter_seek(it, NULL, 0);
	ck_assert(b->ops->iter_valid(it));
	ck_assert_int_eq(b->ops->iter_key(it, &kl)[0], 'a');
	b->ops->iter_free(it);
	b->ops->snap_free(snap);
	b->ops->snap_free(NULL);
	fsm_backend_mem_free(b);
}
END_TEST

START_TEST(mem_backend_rejects_unknown_write_types)
{
	struct fsm_backend *b;
	struct fsm_backend_write w[2];
	char buf[64];

	ft_code_eq(fsm_backend_mem_new(NULL, &b), COORD_OK);
	bc_put(&w[0], "a", "1");
	bc_put(&w[1], "b", "1");
	w[1].type = 9;
	ft_code_eq(b->ops->write(b, w, 2), COORD_EINVAL);
	ck_assert_ptr_null(bc_get(b, "a", buf));
	fsm_backend_mem_free(b);
}
END_TEST

START_TEST(mem_backend_allocation_failure_changes_nothing)
{
	struct ft_alloc a;
	struct fsm_backend *b = NULL;
	struct fsm_backend_snap *snap = NULL;
	struct fsm_backend_iter *it = NULL;
	struct fsm_backend_write w[3];
	char buf[64];
	size_t k;

	ft_alloc_init(&a);
	for (k = 1;; k++) {
		a.fail_at = a.calls + k;
		if (fsm_backend_mem_new(&a.a, &b) == COORD_OK)
			break;
		ck_assert_uint_eq(a.live, 0);
	}
	a.fail_at = 0;
	bc_put(&w[0], "a", "1");
	ft_code_eq(b->ops->write(b, w, 1), COORD_OK);
	bc_put(&w[0], "b", "2");
	bc_del(&w[1], "a");
	bc_put(&w[2], "c", "3");
	for (k = 1;; k++) {
		a.fail_at = a.calls + k;
		if (b->ops->write(b, w, 3) == COORD_OK)
			break;
		a.fail_at = 0;
		bc_scan_keys(b, NULL, "", buf);
		ck_assert_str_eq(buf, "a,");
	}
	ck_assert_uint_ge(k, 4);
	a.fail_at = a.calls + 1;
	ft_code_eq(b->ops->snap_new(b, &snap), COORD_ENOMEM);
	a.fail_at = a.calls + 1;
	ft_code_eq(b->ops->iter_new(b, NULL, &it), COORD_ENOMEM);
	a.fail_at = 0;
	bc_scan_keys(b, NULL, "", buf);
	ck_assert_str_eq(buf, "b,c,");
	fsm_backend_mem_free(b);
	ck_assert_uint_eq(a.live, 0);
}
END_TEST

Suite *fsm_backend_suite(void)
{
	Suite *s = suite_create("fsm_backend");

	FT_ADD(s, mem_backend_keeps_keys_in_byte_order);
	FT_ADD(s, mem_backend_batch_last_write_of_a_key_wins);
	FT_ADD(s, mem_backend_snapshots_and_iterators_see_their_moment);
	FT_ADD(s, mem_backend_rejects_unknown_write_types);
	FT_ADD(s, mem_backend_allocation_failure_changes_nothing);
	return s;
}
