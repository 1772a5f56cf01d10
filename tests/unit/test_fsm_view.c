/*
 * tests/unit/test_fsm_view.c: the fsm's internal view -- pending writes
 * (the overlay) merged over the backend -- and its key layout helpers,
 * through coordd/fsm/fsm_int.h.
 */
#include <string.h>

#include "coordd/fsm/fsm_int.h"
#include "tests/unit/fsm_test.h"
#include "tests/unit/test_fsm.h"

static void put_raw(struct fsm_backend *b, const char *k, const char *v)
{
	struct fsm_backend_write w = { FSM_BACKEND_PUT, (const uint8_t *)k,
				       strlen(k), (const uint8_t *)v,
				       strlen(v) };

	ft_code_eq(b->ops->write(b, &w, 1), COORD_OK);
}

/* "k=v," for every entry of the view from key on. */
static void view_scan(struct fsm *f, const char *from, char *out)
{
	struct fsm_view_iter it;

	out[0] = '\0';
	ft_code_eq(fsm_view_open(f, &it), COORD_OK);
	for (fsm_view_seek(&it, (const uint8_t *)from, strlen(from));
	     fsm_view_valid(&it); fsm_view_next(&it)) {
		size_t kl, vl;
		const uint8_t *k = fsm_view_key(&it, &kl);
		const uint8_t *v = fsm_view_value(&it, &vl);

		strncat(out, (const char *)k, kl);
		strcat(out, "=");
		strncat(out, (const char *)v, vl);
		strcat(out, ",");
	}
	ft_code_eq(fsm_view_status(&it), COORD_OK);
	fsm_view_close(&it);
}

START_TEST(view_merges_pending_writes_over_the_backend)
{
	struct fsm_backend *b;
	struct fsm_config cfg;
	struct fsm *f;
	char out[256];

	ft_code_eq(fsm_backend_mem_new(NULL, &b), COORD_OK);
	put_raw(b, "a", "1");
	put_raw(b, "c", "3");
	put_raw(b, "e", "5");
	put_raw(b, "g", "7");
	ft_config_default(&cfg);
	ft_code_eq(fsm_new(&cfg, b, &f), COORD_OK);
	ft_code_eq(fsm_ov_put(f, (const uint8_t *)"b", 1,
			      (const uint8_t *)"2", 1), COORD_OK);
	ft_code_eq(fsm_ov_put(f, (const uint8_t *)"c", 1,
			      (const uint8_t *)"33", 2), COORD_OK);
	ft_code_eq(fsm_ov_del(f, (const uint8_t *)"e", 1, NULL, 0), COORD_OK);
	ft_code_eq(fsm_ov_del(f, (const uint8_t *)"x", 1, NULL, 0), COORD_OK);
	ft_code_eq(fsm_ov_put(f, (const uint8_t *)"h", 1,
			      (const uint8_t *)"8", 1), COORD_OK);
	view_scan(f, "", out);
	ck_assert_str_eq(out, "a=1,b=2,c=33,g=7,h=8,");
	view_scan(f, "c", out);
	ck_assert_str_eq(out, "c=33,g=7,h=8,");
	view_scan(f, "d", out);
	ck_assert_str_eq(out, "g=7,h=8,");
	view_scan(f, "h", out);
	ck_assert_str_eq(out, "h=8,");
	/* A second write of a pending key replaces it. */
	ft_code_eq(fsm_ov_put(f, (const uint8_t *)"b", 1,
			      (const uint8_t *)"22", 2), COORD_OK);
	ft_code_eq(fsm_ov_del(f, (const uint8_t *)"g", 1, NULL, 0), COORD_OK);
	ft_code_eq(fsm_ov_del(f, (const uint8_t *)"h", 1, NULL, 0), COORD_OK);
	view_scan(f, "", out);
	ck_assert_str_eq(out, "a=1,b=22,c=33,");
	ck_assert_uint_eq(f->ov.n, 6);
	/* The backend saw none of it. */
	ck_assert_uint_eq(fsm_backend_mem_count(b), 4);
	fsm_free(f);
	fsm_backend_mem_free(b);
}
END_TEST

START_TEST(overlay_keeps_many_keys_in_order)
{
	struct fsm_backend *b;
	struct fsm_config cfg;
	struct fsm *f;
	struct fsm_view_iter it;
	uint32_t prev = 0, n = 0;

	ft_code_eq(fsm_backend_mem_new(NULL, &b), COORD_OK);
	ft_config_default(&cfg);
	ft_code_eq(fsm_new(&cfg, b, &f), COORD_OK);
	/* 5000 keys in a scrambled order: a skip list many levels high. */
	for (uint32_t i = 0; i < 5000; i++) {
		uint8_t k[4];

		fsm_be32_put(k, (i * 761u) % 5000);
		ft_code_eq(fsm_ov_put(f, k, 4, k, 4), COORD_OK);
	}
	ft_code_eq(fsm_view_open(f, &it), COORD_OK);
	for (fsm_view_seek(&it, NULL, 0); fsm_view_valid(&it);
	     fsm_view_next(&it)) {
		size_t len;
		uint32_t v = fsm_be32_get(fsm_view_key(&it, &len));

		ck_assert(n == 0 || v > prev);
		prev = v;
		n++;
	}
	fsm_view_close(&it);
	ck_assert_uint_eq(n, 5000);
	fsm_free(f);
	fsm_backend_mem_free(b);
}
END_TEST

START_TEST(version_keys_escape_and_parse_back)
{
	struct fsm_backend *b;
	struct fsm_config cfg;
	struct fsm *f;
	struct fsm_kbuf k = { 0 }, u = { 0 };
	static const uint8_t key[] = { 'a', 0x00, 0xff, 0x00, 0x01 };
	size_t group;
	uint64_t rev;

	ft_code_eq(fsm_backend_mem_new(NULL, &b), COORD_OK);
	ft_config_default(&cfg);
	ft_code_eq(fsm_new(&cfg, b, &f), COORD_OK);
	ft_code_eq(fsm_kkey_build(f, &k, key, sizeof(key), true), COORD_OK);
	/* k, then a, 00 ff, ff, 00 ff, 01, then the terminator 00 01 */
	ck_assert_uint_eq(k.len, 1 + 7 + 2);
	ft_code_eq(fsm_kbuf_append_u64(f, &k, ~(uint64_t)42), COORD_OK);
	ft_code_eq(fsm_kkey_parse(f, k.data, k.len, &u, &group, &rev), COORD_OK);
	ck_assert_uint_eq(rev, 42);
	ck_assert_uint_eq(group, k.len - 8);
	ck_assert_uint_eq(u.len, sizeof(key));
	ck_assert_int_eq(memcmp(u.data, key, sizeof(key)), 0);
	fsm_kbuf_free(f, &k);
	fsm_kbuf_free(f, &u);
	fsm_free(f);
	fsm_backend_mem_free(b);
}
END_TEST

Suite *fsm_view_suite(void)
{
	Suite *s = suite_create("fsm_view");

	FT_ADD(s, view_merges_pending_writes_over_the_backend);
	FT_ADD(s, overlay_keeps_many_keys_in_order);
	FT_ADD(s, version_keys_escape_and_parse_back);
	return s;
}
