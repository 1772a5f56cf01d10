/*
 * tests/unit/test_store_backend.c: the LevelDB fsm backend against the
 * contract of coordd/fsm/backend.h, and the fsm itself run on it beside
 * the in-memory backend (the same commands must give byte-identical
 * states).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coordd/fsm/fsm.h"
#include "coordd/store/store_int.h"
#include "proto/exit.h"
#include "tests/unit/backend_check.h"
#include "tests/unit/store_test.h"
#include "tests/unit/test_store.h"

struct fx {
	char *dir;
	struct store_options o;
	struct store *s;
	struct store_restore rs;
	struct fsm_backend *b;
};

static void fx_open(struct fx *f)
{
	f->dir = st_dir_new();
	st_options(&f->o, NULL);
	f->s = st_open(f->dir, &f->o, &f->rs);
	f->b = store_fsm_backend(f->s);
}

static void fx_reopen(struct fx *f)
{
	store_restore_close(&f->rs);
	store_close(f->s);
	f->s = st_open(f->dir, &f->o, &f->rs);
	f->b = store_fsm_backend(f->s);
}

static void fx_close(struct fx *f)
{
	store_restore_close(&f->rs);
	store_close(f->s);
	st_dir_free(f->dir);
}

START_TEST(backend_keeps_keys_in_byte_order)
{
	struct fx f;
	struct fsm_backend_write w[5];
	char buf[256];

	fx_open(&f);
	bc_put(&w[0], "b", "2");
	bc_put(&w[1], "a", "1");
	bc_put(&w[2], "ab", "3");
	bc_put(&w[3], "c", "4");
	bc_put(&w[4], "", "empty");
	st_code_eq(f.b->ops->write(f.b, w, 5), COORD_OK);
	bc_scan(f.b, NULL, "", buf);
	ck_assert_str_eq(buf, "=empty,a=1,ab=3,b=2,c=4,");
	bc_scan(f.b, NULL, "aa", buf);
	ck_assert_str_eq(buf, "ab=3,b=2,c=4,");
	bc_scan(f.b, NULL, "d", buf);
	ck_assert_str_eq(buf, "");
	ck_assert_str_eq(bc_get(f.b, "ab", buf), "3");
	ck_assert_ptr_null(bc_get(f.b, "zz", buf));
	/* The store's own records are not the fsm's keys. */
	ck_assert_ptr_null(bc_get(f.b, "H", buf));
	fx_reopen(&f);
	bc_scan(f.b, NULL, "", buf);
	ck_assert_str_eq(buf, "=empty,a=1,ab=3,b=2,c=4,");
	fx_close(&f);
}
END_TEST

START_TEST(backend_batch_is_atomic_and_last_write_wins)
{
	struct fx f;
	struct fsm_backend_write w[3];
	char buf[256];

	fx_open(&f);
	bc_put(&w[0], "k", "1");
	bc_put(&w[1], "k", "2");
	bc_put(&w[2], "j", "x");
	st_code_eq(f.b->ops->write(f.b, w, 3), COORD_OK);
	ck_assert_str_eq(bc_get(f.b, "k", buf), "2");
	bc_del(&w[0], "k");
	bc_put(&w[1], "k", "3");
	bc_del(&w[2], "j");
	st_code_eq(f.b->ops->write(f.b, w, 3), COORD_OK);
	ck_assert_str_eq(bc_get(f.b, "k", buf), "3");
	ck_assert_ptr_null(bc_get(f.b, "j", buf));
	/* A bad write type: nothing of the batch happens. */
	bc_put(&w[0], "new", "1");
	w[1].type = 9;
	st_code_eq(f.b->ops->write(f.b, w, 2), COORD_EINVAL);
	ck_assert_ptr_null(bc_get(f.b, "new", buf));
	st_code_eq(f.b->ops->write(f.b, w, 0), COORD_OK);
	fx_close(&f);
}
END_TEST

START_TEST(backend_snapshots_and_iterators_see_their_moment)
{
	struct fx f;
	struct fsm_backend_write w[2];
	struct fsm_backend_snap *snap;
	struct fsm_backend_iter *it;
	char buf[256];
	size_t kl;

	fx_open(&f);
	bc_put(&w[0], "a", "1");
	bc_put(&w[1], "b", "1");
	st_code_eq(f.b->ops->write(f.b, w, 2), COORD_OK);
	st_code_eq(f.b->ops->snap_new(f.b, &snap), COORD_OK);
	st_code_eq(f.b->ops->iter_new(f.b, NULL, &it), COORD_OK);
	bc_put(&w[0], "a", "2");
	bc_del(&w[1], "b");
	st_code_eq(f.b->ops->write(f.b, w, 2), COORD_OK);
	bc_scan(f.b, snap, "", buf);
	ck_assert_str_eq(buf, "a=1,b=1,");
	bc_scan(f.b, NULL, "", buf);
	ck_assert_str_eq(buf, "a=2,");
	/* The iterator made before the write sees the old state. */
	f.b->ops->iter_seek(it, (const uint8_t *)"b", 1);
	ck_assert(f.b->ops->iter_valid(it));
	ck_assert(memcmp(f.b->ops->iter_key(it, &kl), "b", 1) == 0);
	f.b->ops->iter_next(it);
	ck_assert(!f.b->ops->iter_valid(it));
	st_code_eq(f.b->ops->iter_status(it), COORD_OK);
	f.b->ops->iter_free(it);
	f.b->ops->snap_free(snap);
	f.b->ops->snap_free(NULL);
	f.b->ops->iter_free(NULL);
	fx_close(&f);
}
END_TEST

START_TEST(backend_takes_keys_of_any_bytes)
{
	struct fx f;
	struct fsm_backend_write w[3];
	static const uint8_t k0[] = { 0x00 }, k1[] = { 0x00, 0x00 },
			     k2[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct fsm_backend_iter *it;
	const uint8_t *v;
	size_t len, n = 0;

	fx_open(&f);
	for (int i = 0; i < 3; i++) {
		w[i].type = FSM_BACKEND_PUT;
		w[i].value = (const uint8_t *)"";
		w[i].value_len = 0;
	}
	w[0].key = k2;
	w[0].key_len = sizeof(k2);
	w[1].key = k0;
	w[1].key_len = sizeof(k0);
	w[2].key = k1;
	w[2].key_len = sizeof(k1);
	st_code_eq(f.b->ops->write(f.b, w, 3), COORD_OK);
	st_code_eq(f.b->ops->get(f.b, k2, sizeof(k2), &v, &len), COORD_OK);
	ck_assert_uint_eq(len, 0);
	fx_reopen(&f);
	st_code_eq(f.b->ops->iter_new(f.b, NULL, &it), COORD_OK);
	for (f.b->ops->iter_seek(it, k0, 0); f.b->ops->iter_valid(it);
	     f.b->ops->iter_next(it)) {
		size_t kl;
		const uint8_t *k = f.b->ops->iter_key(it, &kl);

		ck_assert_uint_eq(kl, n == 0 ? 1 : n == 1 ? 2 : 6);
		ck_assert(memcmp(k, n == 2 ? k2 : k1, kl) == 0);
		n++;
	}
	ck_assert_uint_eq(n, 3);
	f.b->ops->iter_free(it);
	fx_close(&f);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* The fsm on both backends. */

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* A random command; key/value/end storage in the caller's buffers. */
static struct proto_cmd random_cmd(uint64_t *x, uint64_t rev, char *key,
				   char *val, char *end)
{
	struct proto_cmd c;
	unsigned r = (unsigned)(rnd(x) % 100);

	memset(&c, 0, sizeof(c));
	sprintf(key, "key%02u", (unsigned)(rnd(x) % 30));
	if (r < 60) {
		size_t n = rnd(x) % 300;

		for (size_t i = 0; i < n; i++)
			val[i] = (char)('a' + rnd(x) % 26);
		c.type = PROTO_CMD_PUT;
		c.u.put.key = proto_bytes_make(key, strlen(key));
		c.u.put.value = proto_bytes_make(val, n);
		c.u.put.prev_kv = rnd(x) % 2;
	} else if (r < 80) {
		c.type = PROTO_CMD_DELETE;
		c.u.del.key = proto_bytes_make(key, strlen(key));
		c.u.del.prev_kv = true;
	} else if (r < 88) {
		sprintf(end, "key%02u", (unsigned)(rnd(x) % 30));
		c.type = PROTO_CMD_DELETE;
		c.u.del.key = proto_bytes_make(key, strlen(key));
		c.u.del.end = proto_bytes_make(end, strlen(end));
	} else if (r < 94) {
		c.type = PROTO_CMD_RANGE;
		c.u.range.key = proto_bytes_make("key", 3);
		c.u.range.flags = PROTO_RANGE_PREFIX;
		c.u.range.revision = rev > 3 ? rev - rnd(x) % 3 : 0;
	} else {
		c.type = PROTO_CMD_COMPACT;
		c.u.compact.revision = rev > 5 ? rev - 5 : rev + 1;
	}
	return c;
}

/* The whole keyspace as bytes, for byte-identical comparison. */
/* Every record through an iterator over snap (NULL: now), as bytes. */
static size_t dump_snap(struct fsm_backend *b, struct fsm_backend_snap *snap,
			uint8_t **out)
{
	struct fsm_backend_iter *it;
	size_t n = 0, cap = 4096;
	uint8_t *buf = malloc(cap);

	st_code_eq(b->ops->iter_new(b, snap, &it), COORD_OK);
	for (b->ops->iter_seek(it, (const uint8_t *)"", 0);
	     b->ops->iter_valid(it); b->ops->iter_next(it)) {
		size_t kl, vl;
		const uint8_t *k = b->ops->iter_key(it, &kl);
		const uint8_t *v = b->ops->iter_value(it, &vl);

		while (n + kl + vl + 16 > cap)
			buf = realloc(buf, cap *= 2);
		memcpy(buf + n, &kl, sizeof(kl));
		memcpy(buf + n + 8, &vl, sizeof(vl));
		memcpy(buf + n + 16, k, kl);
		memcpy(buf + n + 16 + kl, v, vl);
		n += 16 + kl + vl;
	}
	st_code_eq(b->ops->iter_status(it), COORD_OK);
	b->ops->iter_free(it);
	*out = buf;
	return n;
}

static size_t dump(struct fsm_backend *b, uint8_t **out)
{
	return dump_snap(b, NULL, out);
}

/* Both backends hold the same records. */
static void same_dump(struct fsm_backend *lb, struct fsm_backend *mem)
{
	uint8_t *da, *db;
	size_t la = dump(mem, &da), lb_len = dump(lb, &db);

	ck_assert_uint_eq(lb_len, la);
	ck_assert(la == 0 || memcmp(da, db, la) == 0);
	free(da);
	free(db);
}

/* One step of a xorshift generator. */
static uint64_t next_rand(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* get() of key through both backends: the same answer. */
static void same_get(struct fsm_backend *lb, struct fsm_backend *mem,
		     const uint8_t *key, size_t key_len)
{
	const uint8_t *va, *vb;
	size_t la = 0, lb_len = 0;
	int ra = mem->ops->get(mem, key, key_len, &va, &la);
	uint8_t copy[2048];

	ck_assert_uint_le(la, sizeof(copy));
	if (ra == COORD_OK)
		memcpy(copy, va, la);
	st_code_eq(lb->ops->get(lb, key, key_len, &vb, &lb_len), ra);
	if (ra == COORD_OK) {
		ck_assert_uint_eq(lb_len, la);
		ck_assert(la == 0 || memcmp(vb, copy, la) == 0);
	}
}

/*
 * Write-back (store_int.h): a write() that waits in the cache is not in
 * LevelDB until a flush -- here an iterator's -- so a process that dies
 * before it leaves LevelDB at the last flushed write() (the Raft log
 * replays the rest); the applied index is recorded after a flush.
 */
START_TEST(waiting_writes_reach_leveldb_at_a_flush)
{
	struct fx f;
	struct fsm_backend_write w;
	const uint8_t *v;
	size_t len;
	pid_t pid;
	int status;

	fx_open(&f);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct fsm_backend_iter *it;
		uint64_t deferred, flushes;

		bc_put(&w, "k1", "v1");
		if (f.b->ops->write(f.b, &w, 1) != COORD_OK ||
		    f.b->ops->iter_new(f.b, NULL, &it) != COORD_OK)
			coord_exit_now(2);
		f.b->ops->iter_free(it);
		bc_put(&w, "k2", "v2");
		if (f.b->ops->write(f.b, &w, 1) != COORD_OK ||
		    f.b->ops->get(f.b, (const uint8_t *)"k2", 2, &v, &len) !=
			    COORD_OK)
			coord_exit_now(3);
		store_writeback_stats(f.s, &deferred, &flushes);
		/* Died here: k2 waits still. */
		coord_exit_now(deferred == 2 && flushes == 1 ? 0 : 4);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "child status %d", status);
	fx_reopen(&f);
	st_code_eq(f.b->ops->get(f.b, (const uint8_t *)"k1", 2, &v, &len),
		   COORD_OK);
	ck_assert_uint_eq(len, 2);
	st_code_eq(f.b->ops->get(f.b, (const uint8_t *)"k2", 2, &v, &len),
		   COORD_ENOTFOUND);
	fx_close(&f);
}
END_TEST

/*
 * A flush that fails (here: no memory for a key, as a LevelDB write error
 * would) fails the store, and the records that waited are not in LevelDB:
 * a get() must still answer the state the fsm wrote (or an error), never
 * the older one LevelDB holds -- a node whose snapshot reader's flush
 * failed goes on serving reads until its next write fails.
 */
START_TEST(failed_flush_serves_no_older_state)
{
	struct cu_alloc a;
	struct fx f;
	struct fsm_backend_write w[2];
	struct fsm_backend_iter *it;
	char long_key[1001];
	uint64_t deferred, flushes;
	const uint8_t *v;
	size_t len;

	cu_alloc_init(&a);
	f.dir = st_dir_new();
	st_options(&f.o, NULL);
	f.o.alloc = &a.a;
	f.s = st_open(f.dir, &f.o, &f.rs);
	f.b = store_fsm_backend(f.s);
	bc_put(&w[0], "k", "old");
	st_code_eq(f.b->ops->write(f.b, w, 1), COORD_OK);
	st_code_eq(f.b->ops->iter_new(f.b, NULL, &it), COORD_OK);
	f.b->ops->iter_free(it);
	/* A key longer than any before: the flush must grow its buffer. */
	memset(long_key, 'L', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = '\0';
	bc_put(&w[0], "k", "new");
	bc_put(&w[1], long_key, "v");
	st_code_eq(f.b->ops->write(f.b, w, 2), COORD_OK);
	store_writeback_stats(f.s, &deferred, &flushes);
	ck_assert_uint_eq(deferred, 2);
	a.fail_at = a.calls + 1;
	a.fail_every = true;
	st_code_eq(f.b->ops->iter_new(f.b, NULL, &it), COORD_ENOMEM);
	a.fail_at = 0;
	if (f.b->ops->get(f.b, (const uint8_t *)"k", 1, &v, &len) ==
	    COORD_OK) {
		ck_assert_uint_eq(len, 3);
		ck_assert(memcmp(v, "new", 3) == 0);
	}
	/* Nothing more is written. */
	bc_put(&w[0], "k2", "x");
	st_code_eq(f.b->ops->write(f.b, w, 1), COORD_EIO);
	fx_close(&f);
	ck_assert_uint_eq(a.live, 0);
}
END_TEST

/*
 * A slot's stamp says which record of the current write() claimed it.
 * After 2^32 write()s the counter comes round to a stamp a slot kept
 * from the first ones: it must not be taken for this call's (its record
 * number may be past this call's records).
 */
START_TEST(slot_stamps_survive_the_counter_wrapping)
{
	struct fx f;
	struct fsm_backend_write w[2];
	uint64_t deferred, before, flushes;
	const uint8_t *v;
	size_t len;

	fx_open(&f);
	ck_assert_uint_eq(f.s->backend.stamp, 0);
	/* Call 1: "kb" is its record 1. */
	bc_put(&w[0], "ka", "1");
	bc_put(&w[1], "kb", "1");
	st_code_eq(f.b->ops->write(f.b, w, 2), COORD_OK);
	/* 2^32 - 2 calls later (none near "kb"), the counter wraps. */
	f.s->backend.stamp = UINT32_MAX;
	bc_put(&w[0], "kd", "2");
	st_code_eq(f.b->ops->write(f.b, w, 1), COORD_OK);
	/* One record, "kb"; behind it, a record of another key the call
	 * does not have. */
	store_writeback_stats(f.s, &before, &flushes);
	bc_put(&w[0], "kb", "3");
	bc_put(&w[1], "kz", "3");
	st_code_eq(f.b->ops->write(f.b, w, 1), COORD_OK);
	store_writeback_stats(f.s, &deferred, &flushes);
	ck_assert_uint_eq(deferred, before + 1);
	st_code_eq(f.b->ops->get(f.b, (const uint8_t *)"kb", 2, &v, &len),
		   COORD_OK);
	ck_assert_uint_eq(len, 1);
	ck_assert(memcmp(v, "3", 1) == 0);
	st_code_eq(f.b->ops->get(f.b, (const uint8_t *)"kz", 2, &v, &len),
		   COORD_ENOTFOUND);
	fx_close(&f);
}
END_TEST

/*
 * The read cache (store_int.h) answers as LevelDB would: random batches
 * of puts and deletes over more keys than it has slots (so that keys
 * share slots), values on both sides of STORE_CACHE_RECORD_MAX, a key
 * written twice in one batch, each followed by reads through the
 * LevelDB backend and the in-memory one; a reopen halfway starts with an
 * empty cache. With write-back (most batches wait in the slots), now and
 * then an iterator over everything must see the same records as the
 * in-memory one, and a snapshot taken before more writes must keep what
 * it saw.
 */
START_TEST(backend_read_cache_answers_as_leveldb_would)
{
	struct fx f;
	struct fsm_backend *mem;
	uint64_t x = 0x9e3779b97f4a7c15u + (uint64_t)_i;
	static uint8_t vals[4][STORE_CACHE_RECORD_MAX + 64];
	uint64_t hits, misses, deferred, flushes;
	struct fsm_backend_snap *snap = NULL;
	uint8_t *snap_dump = NULL;
	size_t snap_len = 0;

	fx_open(&f);
	st_code_eq(fsm_backend_mem_new(NULL, &mem), COORD_OK);
	for (size_t v = 0; v < 4; v++)
		for (size_t i = 0; i < sizeof(vals[v]); i++)
			vals[v][i] = (uint8_t)(i * 7 + v);
	for (int round = 0; round < 3000; round++) {
		struct fsm_backend_write w[4];
		uint8_t keys[4][8];
		size_t n = 1 + next_rand(&x) % 4;

		for (size_t i = 0; i < n; i++) {
			/* 3 * STORE_CACHE_SLOTS keys; the last write of a
			 * batch sometimes repeats the first one's key. */
			uint64_t k = next_rand(&x) % (3 * STORE_CACHE_SLOTS);

			if (i == n - 1 && n > 1 && next_rand(&x) % 4 == 0)
				memcpy(keys[i], keys[0], 8);
			else
				memcpy(keys[i], &k, 8);
			memset(&w[i], 0, sizeof(w[i]));
			w[i].key = keys[i];
			w[i].key_len = 8;
			if (next_rand(&x) % 3 == 0) {
				w[i].type = FSM_BACKEND_DELETE;
			} else {
				w[i].type = FSM_BACKEND_PUT;
				w[i].value = vals[next_rand(&x) % 4];
				/* Sometimes more than a slot holds. */
				w[i].value_len = next_rand(&x) % 8 == 0 ?
					STORE_CACHE_RECORD_MAX :
					next_rand(&x) % 64;
			}
		}
		st_code_eq(mem->ops->write(mem, w, n), COORD_OK);
		st_code_eq(f.b->ops->write(f.b, w, n), COORD_OK);
		for (size_t i = 0; i < n; i++)
			same_get(f.b, mem, keys[i], 8);
		for (int r = 0; r < 3; r++) {
			uint64_t k = next_rand(&x) % (3 * STORE_CACHE_SLOTS);

			same_get(f.b, mem, (const uint8_t *)&k, 8);
		}
		if (round % 97 == 0)
			same_dump(f.b, mem);
		if (round % 500 == 0) {
			uint8_t *now;

			/* The snapshot holds the writes still waiting. */
			st_code_eq(f.b->ops->snap_new(f.b, &snap), COORD_OK);
			snap_len = dump_snap(f.b, snap, &snap_dump);
			ck_assert_uint_eq(dump(mem, &now), snap_len);
			ck_assert(memcmp(now, snap_dump, snap_len) == 0);
			free(now);
		}
		if (round % 500 == 250) {
			uint8_t *again;

			ck_assert_uint_eq(dump_snap(f.b, snap, &again),
					  snap_len);
			ck_assert(memcmp(again, snap_dump, snap_len) == 0);
			free(again);
			free(snap_dump);
			f.b->ops->snap_free(snap);
		}
		if (round == 1400)
			fx_reopen(&f);  /* no snapshot open then */
	}
	same_dump(f.b, mem);
	/* The cache answered some reads, and LevelDB others; most writes
	 * waited, and went in fewer batches. */
	store_cache_stats(f.s, &hits, &misses);
	ck_assert_uint_gt(hits, 1000);
	ck_assert_uint_gt(misses, 100);
	store_writeback_stats(f.s, &deferred, &flushes);
	ck_assert_uint_gt(deferred, 100);
	ck_assert_uint_gt(flushes, 0);
	ck_assert_uint_lt(flushes, deferred);
	fsm_backend_mem_free(mem);
	fx_close(&f);
}
END_TEST

START_TEST(fsm_on_leveldb_matches_fsm_in_memory)
{
	struct fx f;
	struct fsm_backend *mem;
	struct fsm_config cfg;
	struct fsm *fa, *fb;
	uint64_t x = 0x1234567u + (uint64_t)_i * 7919u;
	uint8_t *da, *db;
	size_t la, lb;

	fx_open(&f);
	fsm_config_default(&cfg);
	st_code_eq(fsm_backend_mem_new(NULL, &mem), COORD_OK);
	st_code_eq(fsm_new(&cfg, mem, &fa), COORD_OK);
	st_code_eq(fsm_new(&cfg, f.b, &fb), COORD_OK);
	for (uint64_t index = 1; index <= 400; index++) {
		char key[16], val[320], end[16];
		struct proto_cmd c = random_cmd(&x, fsm_revision(fa), key, val,
						end);
		struct fsm_result ra, rb;
		uint64_t ha, hb;

		st_code_eq(fsm_apply(fa, index, &c, FSM_EVENTS, &ra), COORD_OK);
		st_code_eq(fsm_apply(fb, index, &c, FSM_EVENTS, &rb), COORD_OK);
		ck_assert_int_eq(ra.reply.code, rb.reply.code);
		ck_assert_uint_eq(ra.reply.revision, rb.reply.revision);
		ck_assert_uint_eq(ra.n_events, rb.n_events);
		st_code_eq(fsm_hash(fa, &ha), COORD_OK);
		st_code_eq(fsm_hash(fb, &hb), COORD_OK);
		ck_assert_msg(ha == hb, "hash differs after index %llu",
			      (unsigned long long)index);
		if (index % 150 == 0) {
			/* Restart the LevelDB side: its state is on disk. */
			fsm_free(fb);
			fx_reopen(&f);
			st_code_eq(fsm_new(&cfg, f.b, &fb), COORD_OK);
			ck_assert_uint_eq(fsm_applied_index(fb), index);
		}
	}
	la = dump(mem, &da);
	lb = dump(f.b, &db);
	ck_assert_uint_eq(la, lb);
	ck_assert(memcmp(da, db, la) == 0);
	free(da);
	free(db);
	fsm_free(fa);
	fsm_free(fb);
	fsm_backend_mem_free(mem);
	fx_close(&f);
}
END_TEST

Suite *store_backend_suite(void)
{
	Suite *s = suite_create("store_backend");

	ST_ADD(s, backend_keeps_keys_in_byte_order);
	ST_ADD(s, backend_batch_is_atomic_and_last_write_wins);
	ST_ADD(s, backend_snapshots_and_iterators_see_their_moment);
	ST_ADD(s, backend_takes_keys_of_any_bytes);
	ST_ADD(s, waiting_writes_reach_leveldb_at_a_flush);
	ST_ADD(s, failed_flush_serves_no_older_state);
	ST_ADD(s, slot_stamps_survive_the_counter_wrapping);
	ST_ADD_LOOP(s, backend_read_cache_answers_as_leveldb_would, 0, 2);
	ST_ADD_LOOP(s, fsm_on_leveldb_matches_fsm_in_memory, 0, 4);
	return s;
}
