/*
 * tests/unit/test_store_snapshot.c: streaming the fsm keyspace in bounded
 * chunks and installing it atomically on another store; every way a
 * stream can be wrong; a crash half-way through an install.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coordd/store/crc32c.h"
#include "coordd/store/store_int.h"
#include "proto/exit.h"
#include "tests/unit/backend_check.h"
#include "tests/unit/store_test.h"
#include "tests/unit/test_store.h"

struct node {
	char *dir;
	struct store_options o;
	struct st_log log;
	struct store *s;
	struct store_restore rs;
};

static void node_open(struct node *n)
{
	n->dir = st_dir_new();
	st_options(&n->o, &n->log);
	n->s = st_open(n->dir, &n->o, &n->rs);
}

static void node_reopen(struct node *n)
{
	store_restore_close(&n->rs);
	store_close(n->s);
	n->s = st_open(n->dir, &n->o, &n->rs);
}

static void node_close(struct node *n)
{
	store_restore_close(&n->rs);
	store_close(n->s);
	st_dir_free(n->dir);
}

static void fsm_put(struct store *s, const char *k, const void *v, size_t vl)
{
	struct fsm_backend *b = store_fsm_backend(s);
	struct fsm_backend_write w = { FSM_BACKEND_PUT, (const uint8_t *)k,
				       strlen(k), v, vl };

	st_code_eq(b->ops->write(b, &w, 1), COORD_OK);
}

/* A log of n entries of term 1, all committed and applied, compacted at
 * compact_at (0: not). */
static void make_log(struct store *s, uint64_t n, uint64_t compact_at)
{
	struct raft_hard_state hs = { 1, 1, n };
	struct raft_entry e[64];

	ck_assert_uint_le(n, 64);
	for (uint64_t i = 0; i < n; i++)
		st_entry(&e[i], i + 1, 1, "entry");
	st_code_eq(st_persist(s, &hs, e, n), COORD_OK);
	st_code_eq(store_applied_set(s, n), COORD_OK);
	if (compact_at > 0) {
		struct raft_snapshot_meta m;

		memset(&m, 0, sizeof(m));
		m.index = compact_at;
		m.term = 1;
		m.conf.n_voters = 1;
		m.conf.voters[0] = 1;
		st_code_eq(store_log_compact(s, &m), COORD_OK);
	}
}

/* The source keyspace: n records "r%05d" with values of varying sizes,
 * one of them bigger than a chunk. */
static void fill(struct store *s, int n)
{
	static uint8_t val[10000];

	for (size_t i = 0; i < sizeof(val); i++)
		val[i] = (uint8_t)(i * 31);
	for (int i = 0; i < n; i++) {
		char k[16];

		sprintf(k, "r%05d", i);
		fsm_put(s, k, val, i == n / 2 ? sizeof(val) : (size_t)(i % 97));
	}
}

/* Concatenated chunks of a whole stream, with their offsets. */
struct stream {
	uint8_t *data;
	size_t len;
	size_t off[4096];
	size_t n;
	struct raft_snapshot_meta meta;
};

static void stream_read(struct store *s, struct stream *st, size_t bound)
{
	struct store_snapshot_reader *r;
	bool last = false;

	memset(st, 0, sizeof(*st));
	st_code_eq(store_snapshot_reader_new(s, &r), COORD_OK);
	st->meta = *store_snapshot_reader_meta(r);
	while (!last) {
		const uint8_t *c;
		size_t len;

		st_code_eq(store_snapshot_reader_next_chunk(r, &c, &len, &last),
			   COORD_OK);
		ck_assert_uint_ge(len, STORE_SNAPSHOT_CHUNK_HEADER);
		/* Bounded, unless a single record is larger. */
		if (len > bound)
			ck_assert_uint_eq(store_get_be32(c + 12), 1);
		st->data = realloc(st->data, st->len + len);
		memcpy(st->data + st->len, c, len);
		st->off[st->n++] = st->len;
		st->len += len;
		ck_assert_uint_lt(st->n, 4096);
	}
	st->off[st->n] = st->len;
	{
		const uint8_t *c;
		size_t len;

		st_code_eq(store_snapshot_reader_next_chunk(r, &c, &len, &last),
			   COORD_EINVAL);
	}
	store_snapshot_reader_free(r);
	store_snapshot_reader_free(NULL);
}

static int add(struct store_snapshot_install *in, const struct stream *st,
	       size_t i)
{
	return store_snapshot_install_add_chunk(
		in, st->data + st->off[i], st->off[i + 1] - st->off[i]);
}

/* Every fsm record of a store, as "key=len," text. */
static char *keyspace(struct store *s)
{
	struct fsm_backend *b = store_fsm_backend(s);
	struct fsm_backend_iter *it;
	size_t cap = 1 << 16, n = 0;
	char *out = malloc(cap);

	out[0] = '\0';
	st_code_eq(b->ops->iter_new(b, NULL, &it), COORD_OK);
	for (b->ops->iter_seek(it, (const uint8_t *)"", 0);
	     b->ops->iter_valid(it); b->ops->iter_next(it)) {
		size_t kl, vl;
		const uint8_t *k = b->ops->iter_key(it, &kl);
		const uint8_t *v = b->ops->iter_value(it, &vl);
		uint32_t crc = store_crc32c(v, vl);

		if (n + kl + 32 > cap)
			out = realloc(out, cap *= 2);
		n += (size_t)sprintf(out + n, "%.*s=%zu/%08x,", (int)kl,
				     (const char *)k, vl, crc);
	}
	st_code_eq(b->ops->iter_status(it), COORD_OK);
	b->ops->iter_free(it);
	return out;
}

/* Records of generation gen in an open store (through its handle). */
static size_t staged(struct store *s, uint32_t gen)
{
	uint8_t p[STORE_FSM_PREFIX_LEN];

	store_fsm_prefix(p, gen);
	return st_raw_count_prefix(s->db, p, sizeof(p));
}

/* The same in a closed store's dir. */
static size_t staged_dir(const char *dir, uint32_t gen)
{
	leveldb_t *db = st_raw_open(dir);
	uint8_t p[STORE_FSM_PREFIX_LEN];
	size_t n;

	store_fsm_prefix(p, gen);
	n = st_raw_count_prefix(db, p, sizeof(p));
	leveldb_close(db);
	return n;
}

START_TEST(snapshot_streams_in_bounded_chunks_and_installs_atomically)
{
	struct node a, b;
	struct stream st;
	struct store_snapshot_install *in;
	char *want, *got;
	char buf[256];
	struct raft_ready rd;
	struct raft_entry e;
	struct raft_hard_state hs = { 2, 1, 30 };

	node_open(&a);
	node_open(&b);
	make_log(a.s, 30, 30);
	fill(a.s, 600);
	/* The receiver has a keyspace and a log of its own. */
	make_log(b.s, 10, 0);
	fsm_put(b.s, "old", "x", 1);
	fsm_put(b.s, "r00001", "stale", 5);
	stream_read(a.s, &st, a.o.snapshot_chunk_bytes);
	ck_assert_uint_gt(st.n, 10);
	ck_assert_uint_eq(st.meta.index, 30);
	st_code_eq(store_snapshot_install_begin(b.s, &in), COORD_OK);
	for (size_t i = 0; i < st.n; i++)
		st_code_eq(add(in, &st, i), COORD_OK);
	/* Until the commit, the receiver's keyspace is the old one (and its
	 * records are in the backend's read cache now). */
	got = keyspace(b.s);
	ck_assert(strncmp(got, "old=", 4) == 0);
	free(got);
	ck_assert_str_eq(bc_get(store_fsm_backend(b.s), "r00001", buf),
			 "stale");
	ck_assert_str_eq(bc_get(store_fsm_backend(b.s), "old", buf), "x");
	ck_assert_ptr_null(bc_get(store_fsm_backend(b.s), "r00002", buf));
	st_code_eq(store_snapshot_install_commit(in, &st.meta), COORD_OK);
	want = keyspace(a.s);
	got = keyspace(b.s);
	ck_assert_str_eq(got, want);
	free(got);
	/* get() reads the installed keyspace, not the cache of the old. */
	ck_assert_ptr_null(bc_get(store_fsm_backend(b.s), "old", buf));
	ck_assert_ptr_nonnull(bc_get(store_fsm_backend(b.s), "r00002", buf));
	ck_assert_str_ne(bc_get(store_fsm_backend(b.s), "r00001", buf),
			 "stale");
	ck_assert_uint_eq(store_snapshot_meta(b.s)->index, 30);
	ck_assert_uint_eq(store_first_index(b.s), 31);
	ck_assert_uint_eq(store_last_index(b.s), 30);
	ck_assert_uint_eq(store_applied_index(b.s), 30);
	ck_assert_uint_eq(store_hard_state(b.s).commit, 30);
	ck_assert(strstr(b.log.text, "installed snapshot index=30") != NULL);
	/* raft's Ready names the installed snapshot; entries follow it. */
	memset(&rd, 0, sizeof(rd));
	rd.snapshot = &st.meta;
	rd.hard_state_changed = true;
	rd.hard_state = hs;
	st_entry(&e, 31, 2, "after");
	rd.entries = &e;
	rd.n_entries = 1;
	st_code_eq(store_ready_persist(b.s, &rd), COORD_OK);
	node_reopen(&b);
	got = keyspace(b.s);
	ck_assert_str_eq(got, want);
	free(got);
	ck_assert_ptr_nonnull(b.rs.raft.snapshot);
	ck_assert_uint_eq(b.rs.raft.snapshot->index, 30);
	ck_assert_uint_eq(b.rs.raft.n_entries, 1);
	ck_assert_uint_eq(b.rs.raft.entries[0].index, 31);
	ck_assert_uint_eq(b.rs.raft.applied, 30);
	ck_assert_uint_eq(b.rs.garbage_records, 0);
	free(want);
	free(st.data);
	node_close(&a);
	node_close(&b);
}
END_TEST

START_TEST(snapshot_of_an_empty_keyspace_is_one_chunk)
{
	struct node a, b;
	struct stream st;
	struct store_snapshot_install *in;
	char *got;

	node_open(&a);
	node_open(&b);
	make_log(a.s, 5, 5);
	make_log(b.s, 2, 0);
	fsm_put(b.s, "old", "x", 1);
	stream_read(a.s, &st, a.o.snapshot_chunk_bytes);
	ck_assert_uint_eq(st.n, 1);
	ck_assert_uint_eq(st.len, STORE_SNAPSHOT_CHUNK_HEADER);
	st_code_eq(store_snapshot_install_begin(b.s, &in), COORD_OK);
	st_code_eq(add(in, &st, 0), COORD_OK);
	st_code_eq(store_snapshot_install_commit(in, &st.meta), COORD_OK);
	got = keyspace(b.s);
	ck_assert_str_eq(got, "");
	free(got);
	free(st.data);
	node_close(&a);
	node_close(&b);
}
END_TEST

START_TEST(snapshot_reader_is_a_consistent_moment)
{
	struct node a, b;
	struct store_snapshot_reader *r;
	struct store_snapshot_install *in;
	const uint8_t *c;
	size_t len;
	bool last = false;
	char *before, *got;

	node_open(&a);
	node_open(&b);
	make_log(a.s, 3, 3);
	fill(a.s, 200);
	before = keyspace(a.s);
	st_code_eq(store_snapshot_reader_new(a.s, &r), COORD_OK);
	/* Writes after the reader was made are not in the stream. */
	fsm_put(a.s, "r00000", "changed", 7);
	fsm_put(a.s, "zzz", "new", 3);
	st_code_eq(store_snapshot_install_begin(b.s, &in), COORD_OK);
	while (!last) {
		st_code_eq(store_snapshot_reader_next_chunk(r, &c, &len, &last),
			   COORD_OK);
		st_code_eq(store_snapshot_install_add_chunk(in, c, len),
			   COORD_OK);
	}
	st_code_eq(store_snapshot_install_commit(
			   in, store_snapshot_reader_meta(r)),
		   COORD_OK);
	store_snapshot_reader_free(r);
	got = keyspace(b.s);
	ck_assert_str_eq(got, before);
	free(got);
	free(before);
	node_close(&a);
	node_close(&b);
}
END_TEST

/* A chunk built by hand (valid header and CRC) from records. */
static size_t craft(uint8_t *out, uint32_t seq, bool last, uint64_t index,
		    uint64_t term, const char *const *keys, size_t n)
{
	size_t len = STORE_SNAPSHOT_CHUNK_HEADER;

	memcpy(out, "CSNK", 4);
	out[4] = 1;
	out[5] = last ? 1 : 0;
	out[6] = out[7] = 0;
	store_put_be32(out + 8, seq);
	store_put_be32(out + 12, (uint32_t)n);
	store_put_be64(out + 16, index);
	store_put_be64(out + 24, term);
	for (size_t i = 0; i < n; i++) {
		size_t kl = strlen(keys[i]);

		store_put_be32(out + len, (uint32_t)kl);
		store_put_be32(out + len + 4, 1);
		memcpy(out + len + 8, keys[i], kl);
		out[len + 8 + kl] = 'v';
		len += 9 + kl;
	}
	return st_chunk_seal(out, len);
}

static void reseal(uint8_t *c, size_t len)
{
	store_put_be32(c + 36,
		       store_crc32c_extend(store_crc32c(c, 36),
					   c + STORE_SNAPSHOT_CHUNK_HEADER,
					   len - STORE_SNAPSHOT_CHUNK_HEADER));
}

/* A fresh install that refuses chunk c with code, then refuses more. */
static void refused(struct store *s, const uint8_t *pre, size_t pre_len,
		    const uint8_t *c, size_t len, int code)
{
	struct store_snapshot_install *in;

	st_code_eq(store_snapshot_install_begin(s, &in), COORD_OK);
	if (pre != NULL)
		st_code_eq(store_snapshot_install_add_chunk(in, pre, pre_len),
			   COORD_OK);
	st_code_eq(store_snapshot_install_add_chunk(in, c, len), code);
	ck_assert(strstr(store_errmsg(s), "refused") != NULL);
	st_code_eq(store_snapshot_install_add_chunk(in, c, len), COORD_EINVAL);
	store_snapshot_install_abort(in);
}

START_TEST(install_refuses_every_malformed_chunk)
{
	struct node b;
	uint8_t c[512], d[512];
	size_t len, dlen;
	static const char *const ab[] = { "a", "b" }, *const ba[] = { "b", "a" },
				 *const c1[] = { "c" }, *const a1[] = { "a" };

	node_open(&b);
	make_log(b.s, 2, 0);
	/* Too short, bad magic, bad flags. */
	len = craft(c, 0, true, 9, 1, ab, 2);
	refused(b.s, NULL, 0, c, 10, COORD_EMALFORMED);
	c[0] = 'X';
	refused(b.s, NULL, 0, c, len, COORD_EMALFORMED);
	len = craft(c, 0, true, 9, 1, ab, 2);
	c[5] = 0x80;
	refused(b.s, NULL, 0, c, len, COORD_EMALFORMED);
	/* Body length that does not match; a flipped byte. */
	len = craft(c, 0, true, 9, 1, ab, 2);
	refused(b.s, NULL, 0, c, len - 1, COORD_EMALFORMED);
	c[len - 1] ^= 1;
	refused(b.s, NULL, 0, c, len, COORD_ECORRUPT);
	/* Out of sequence. */
	len = craft(c, 1, true, 9, 1, ab, 2);
	refused(b.s, NULL, 0, c, len, COORD_EMALFORMED);
	/* Keys out of order, within a chunk and across chunks. */
	len = craft(c, 0, true, 9, 1, ba, 2);
	refused(b.s, NULL, 0, c, len, COORD_EMALFORMED);
	dlen = craft(d, 0, false, 9, 1, c1, 1);
	len = craft(c, 1, true, 9, 1, a1, 1);
	refused(b.s, d, dlen, c, len, COORD_EMALFORMED);
	/* Another stream's chunk. */
	len = craft(c, 1, true, 8, 1, ab, 2);
	refused(b.s, d, dlen, c, len, COORD_EMALFORMED);
	/* A record past the body; bytes after the last record. */
	len = craft(c, 0, true, 9, 1, ab, 2);
	store_put_be32(c + 12, 3);
	reseal(c, len);
	refused(b.s, NULL, 0, c, len, COORD_EMALFORMED);
	len = craft(c, 0, true, 9, 1, ab, 2);
	store_put_be32(c + STORE_SNAPSHOT_CHUNK_HEADER + 4, 1000);
	reseal(c, len);
	refused(b.s, NULL, 0, c, len, COORD_EMALFORMED);
	len = craft(c, 0, true, 9, 1, ab, 2);
	store_put_be32(c + 12, 1);
	reseal(c, len);
	refused(b.s, NULL, 0, c, len, COORD_EMALFORMED);
	/* Data after the last chunk. */
	dlen = craft(d, 0, true, 9, 1, a1, 1);
	len = craft(c, 1, true, 9, 1, c1, 1);
	refused(b.s, d, dlen, c, len, COORD_EMALFORMED);
	/* None of it reached the keyspace or left staging behind. */
	node_reopen(&b);
	ck_assert_uint_eq(b.rs.garbage_records, 0);
	node_close(&b);
}
END_TEST

START_TEST(install_commit_checks_the_stream_and_the_metadata)
{
	struct node b;
	struct store_snapshot_install *in, *in2;
	uint8_t c[512];
	size_t len;
	struct raft_snapshot_meta m;
	static const char *const ab[] = { "a", "b" };

	node_open(&b);
	make_log(b.s, 4, 0);
	memset(&m, 0, sizeof(m));
	m.index = 9;
	m.term = 1;
	m.conf.n_voters = 1;
	m.conf.voters[0] = 1;
	/* One install at a time. */
	st_code_eq(store_snapshot_install_begin(b.s, &in), COORD_OK);
	st_code_eq(store_snapshot_install_begin(b.s, &in2), COORD_EINVAL);
	/* The last chunk has not arrived. */
	len = craft(c, 0, false, 9, 1, ab, 2);
	st_code_eq(store_snapshot_install_add_chunk(in, c, len), COORD_OK);
	st_code_eq(store_snapshot_install_commit(in, &m), COORD_EINVAL);
	ck_assert(strstr(store_errmsg(b.s), "last chunk") != NULL);
	ck_assert_uint_eq(staged(b.s, 1), 0);
	/* Metadata not the stream's; index not above the commit; a bad
	 * conf; a broken stream. */
	len = craft(c, 0, true, 9, 1, ab, 2);
	for (int k = 0; k < 5; k++) {
		struct raft_snapshot_meta bad = m;

		st_code_eq(store_snapshot_install_begin(b.s, &in), COORD_OK);
		if (k == 4) {
			st_code_eq(store_snapshot_install_add_chunk(in, c, 3),
				   COORD_EMALFORMED);
		} else {
			st_code_eq(store_snapshot_install_add_chunk(in, c, len),
				   COORD_OK);
		}
		if (k == 0)
			bad.term = 2;
		if (k == 1)
			bad.index = 0;
		if (k == 3)
			bad.conf.n_learners = RAFT_NODES_MAX + 1;
		if (k == 2) {
			/* A stream at index 3, at or below commit 4. */
			store_snapshot_install_abort(in);
			st_code_eq(store_snapshot_install_begin(b.s, &in),
				   COORD_OK);
			len = craft(c, 0, true, 3, 1, ab, 2);
			st_code_eq(store_snapshot_install_add_chunk(in, c, len),
				   COORD_OK);
			bad.index = 3;
		}
		st_code_eq(store_snapshot_install_commit(in, &bad),
			   COORD_EINVAL);
		len = craft(c, 0, true, 9, 1, ab, 2);
	}
	ck_assert_uint_eq(staged(b.s, 1), 0);
	ck_assert_uint_eq(store_last_index(b.s), 4);
	/* And a good one. */
	st_code_eq(store_snapshot_install_begin(b.s, &in), COORD_OK);
	st_code_eq(store_snapshot_install_add_chunk(in, c, len), COORD_OK);
	st_code_eq(store_snapshot_install_commit(in, &m), COORD_OK);
	ck_assert_uint_eq(store_snapshot_meta(b.s)->index, 9);
	store_snapshot_install_abort(NULL);
	node_close(&b);
}
END_TEST

START_TEST(install_abort_removes_the_staging)
{
	struct node a, b;
	struct stream st;
	struct store_snapshot_install *in;
	char *before, *got;

	node_open(&a);
	node_open(&b);
	make_log(a.s, 3, 3);
	fill(a.s, 300);
	fsm_put(b.s, "mine", "1", 1);
	before = keyspace(b.s);
	stream_read(a.s, &st, a.o.snapshot_chunk_bytes);
	st_code_eq(store_snapshot_install_begin(b.s, &in), COORD_OK);
	for (size_t i = 0; i < st.n / 2; i++)
		st_code_eq(add(in, &st, i), COORD_OK);
	store_snapshot_install_abort(in);
	got = keyspace(b.s);
	ck_assert_str_eq(got, before);
	free(got);
	ck_assert_uint_eq(staged(b.s, 1), 0);
	free(before);
	free(st.data);
	node_close(&a);
	node_close(&b);
}
END_TEST

START_TEST(crash_during_install_leaves_the_old_state)
{
	struct node a, b;
	struct stream st;
	char *before, *got;
	pid_t pid;
	int status;

	node_open(&a);
	node_open(&b);
	make_log(a.s, 3, 3);
	fill(a.s, 300);
	make_log(b.s, 2, 0);
	fsm_put(b.s, "mine", "1", 1);
	before = keyspace(b.s);
	stream_read(a.s, &st, a.o.snapshot_chunk_bytes);
	store_restore_close(&b.rs);
	store_close(b.s);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct store *s;
		struct store_restore rs;
		struct store_snapshot_install *in;

		if (store_open(b.dir, &b.o, &s, &rs) != COORD_OK ||
		    store_snapshot_install_begin(s, &in) != COORD_OK)
			coord_exit_now(1);
		for (size_t i = 0; i + 1 < st.n; i++)
			if (add(in, &st, i) != COORD_OK)
				coord_exit_now(1);
		coord_exit_now(0);   /* dies before the commit */
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_uint_gt(staged_dir(b.dir, 1), 0);
	b.s = st_open(b.dir, &b.o, &b.rs);
	ck_assert_uint_gt(b.rs.garbage_records, 0);
	ck_assert(strstr(b.log.text, "never committed") != NULL);
	got = keyspace(b.s);
	ck_assert_str_eq(got, before);
	free(got);
	ck_assert_uint_eq(b.rs.raft.n_entries, 2);
	ck_assert_uint_eq(staged(b.s, 1), 0);
	free(before);
	free(st.data);
	node_close(&a);
	node_close(&b);
}
END_TEST

START_TEST(backend_follows_the_installed_generation)
{
	struct node a, b;
	struct stream st;
	struct store_snapshot_install *in;
	struct fsm_backend *fb;
	struct fsm_backend_snap *snap;
	struct fsm_backend_iter *it;
	const uint8_t *v;
	size_t vl, kl;

	node_open(&a);
	node_open(&b);
	make_log(a.s, 3, 3);
	fsm_put(a.s, "new", "N", 1);
	fsm_put(b.s, "old", "O", 1);
	fb = store_fsm_backend(b.s);
	st_code_eq(fb->ops->snap_new(fb, &snap), COORD_OK);
	stream_read(a.s, &st, a.o.snapshot_chunk_bytes);
	st_code_eq(store_snapshot_install_begin(b.s, &in), COORD_OK);
	st_code_eq(add(in, &st, 0), COORD_OK);
	st_code_eq(store_snapshot_install_commit(in, &st.meta), COORD_OK);
	st_code_eq(fb->ops->get(fb, (const uint8_t *)"new", 3, &v, &vl),
		   COORD_OK);
	st_code_eq(fb->ops->get(fb, (const uint8_t *)"old", 3, &v, &vl),
		   COORD_ENOTFOUND);
	/* A snapshot made before still shows the old keyspace. */
	st_code_eq(fb->ops->iter_new(fb, snap, &it), COORD_OK);
	fb->ops->iter_seek(it, (const uint8_t *)"", 0);
	ck_assert(fb->ops->iter_valid(it));
	ck_assert(memcmp(fb->ops->iter_key(it, &kl), "old", 3) == 0);
	fb->ops->iter_free(it);
	fb->ops->snap_free(snap);
	free(st.data);
	node_close(&a);
	node_close(&b);
}
END_TEST

Suite *store_snapshot_suite(void)
{
	Suite *s = suite_create("store_snapshot");

	ST_ADD(s, snapshot_streams_in_bounded_chunks_and_installs_atomically);
	ST_ADD(s, snapshot_of_an_empty_keyspace_is_one_chunk);
	ST_ADD(s, snapshot_reader_is_a_consistent_moment);
	ST_ADD(s, install_refuses_every_malformed_chunk);
	ST_ADD(s, install_commit_checks_the_stream_and_the_metadata);
	ST_ADD(s, install_abort_removes_the_staging);
	ST_ADD(s, crash_during_install_leaves_the_old_state);
	ST_ADD(s, backend_follows_the_installed_generation);
	return s;
}
