/*
 * tests/unit/test_store_faults.c: local failures -- the allocator failing
 * at every call of an operation (COORD_ENOMEM, nothing changed, nothing
 * leaked), the disk refusing writes (COORD_EIO, the store failed, what
 * was synced before intact), and reads of damaged tables (COORD_ECORRUPT
 * from the fsm backend and the snapshot reader, never wrong data), and
 * (with --enable-failpoints) a sync failed at the store.sync failpoint.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coordd/failpoint.h"
#include "coordd/store/store_int.h"
#include "proto/exit.h"
#include "tests/unit/store_test.h"
#include "tests/unit/test_store.h"

/* A store with a log, a snapshot and fsm records, closed. */
static void build(const char *dir, uint64_t steps)
{
	st_work_build(dir, 5, steps, 0, 0, steps / 2);
}

START_TEST(open_fails_cleanly_at_every_allocation)
{
	char *dir = st_dir_new();
	size_t n_entries = 0;
	int oks = 0;

	build(dir, 40);
	for (size_t fail = 1; oks == 0; fail++) {
		struct cu_alloc a;
		struct store_options o;
		struct store_restore rs;
		struct store *s;
		int rv;

		cu_alloc_init(&a);
		a.fail_at = fail;
		a.fail_every = fail % 2 == 0;
		st_options(&o, NULL);
		o.alloc = &a.a;
		rv = store_open(dir, &o, &s, &rs);
		if (rv == COORD_ENOMEM) {
			ck_assert_ptr_null(s);
			ck_assert(strlen(rs.errmsg) > 0);
			ck_assert_uint_eq(a.live, 0);
			continue;
		}
		st_code_eq(rv, COORD_OK);
		ck_assert_uint_eq(a.failures, 0);
		n_entries = rs.raft.n_entries;
		store_restore_close(&rs);
		store_close(s);
		ck_assert_uint_eq(a.live, 0);
		oks++;
	}
	ck_assert_uint_gt(n_entries, 0);
	st_dir_free(dir);
}
END_TEST

START_TEST(writes_fail_cleanly_at_every_allocation)
{
	char *dir = st_dir_new();
	struct cu_alloc a;
	struct store_options o;
	struct store_restore rs;
	struct store *s;
	struct raft_hard_state hs = { 1, 1, 0 };
	struct raft_entry e;
	static char big[100000];
	struct fsm_backend *b;
	struct fsm_backend_write w;
	struct fsm_backend_snap *snap;
	struct fsm_backend_iter *it;
	struct store_snapshot_reader *r;
	struct store_snapshot_install *in;
	static char key[5000];
	const uint8_t *v, *c;
	size_t vl, cl;
	bool last;

	memset(big, 'b', sizeof(big) - 1);
	memset(key, 'k', sizeof(key) - 1);
	cu_alloc_init(&a);
	st_options(&o, NULL);
	o.alloc = &a.a;
	s = st_open(dir, &o, &rs);
	store_restore_close(&rs);
	b = store_fsm_backend(s);
	/* The entry encoding buffer. */
	st_entry(&e, 1, 1, big);
	a.fail_at = a.calls + 1;
	st_code_eq(st_persist(s, &hs, &e, 1), COORD_ENOMEM);
	ck_assert_uint_eq(store_last_index(s), 0);
	a.fail_at = 0;
	st_code_eq(st_persist(s, &hs, &e, 1), COORD_OK);
	/* The backend's key buffer, snapshots, iterators, seeks. */
	w.type = FSM_BACKEND_PUT;
	w.key = (const uint8_t *)key;
	w.key_len = sizeof(key) - 1;
	w.value = (const uint8_t *)"v";
	w.value_len = 1;
	a.fail_at = a.calls + 1;
	a.fail_every = true;
	st_code_eq(b->ops->write(b, &w, 1), COORD_ENOMEM);
	st_code_eq(b->ops->get(b, w.key, w.key_len, &v, &vl), COORD_ENOMEM);
	a.fail_at = 0;
	a.fail_every = false;
	st_code_eq(b->ops->get(b, w.key, w.key_len, &v, &vl), COORD_ENOTFOUND);
	st_code_eq(b->ops->write(b, &w, 1), COORD_OK);
	a.fail_at = a.calls + 1;
	a.fail_every = true;
	st_code_eq(b->ops->snap_new(b, &snap), COORD_ENOMEM);
	ck_assert_ptr_null(snap);
	st_code_eq(b->ops->iter_new(b, NULL, &it), COORD_ENOMEM);
	ck_assert_ptr_null(it);
	a.fail_at = 0;
	st_code_eq(b->ops->iter_new(b, NULL, &it), COORD_OK);
	a.fail_at = a.calls + 1;
	b->ops->iter_seek(it, w.key, w.key_len);
	ck_assert(!b->ops->iter_valid(it));
	st_code_eq(b->ops->iter_status(it), COORD_ENOMEM);
	b->ops->iter_seek(it, w.key, w.key_len);    /* stays failed */
	st_code_eq(b->ops->iter_status(it), COORD_ENOMEM);
	b->ops->iter_free(it);
	/* The snapshot reader and its chunk buffer; a failure breaks the
	 * stream (records of the chunk were consumed). */
	st_code_eq(store_snapshot_reader_new(s, &r), COORD_ENOMEM);
	a.fail_at = 0;
	a.fail_every = false;
	for (int k = 1; k <= 2; k++) {
		st_code_eq(store_snapshot_reader_new(s, &r), COORD_OK);
		a.fail_at = a.calls + (size_t)k;
		st_code_eq(store_snapshot_reader_next_chunk(r, &c, &cl, &last),
			   COORD_ENOMEM);
		a.fail_at = 0;
		st_code_eq(store_snapshot_reader_next_chunk(r, &c, &cl, &last),
			   COORD_EINVAL);
		ck_assert(strstr(store_errmsg(s), "failed") != NULL);
		store_snapshot_reader_free(r);
	}
	st_code_eq(store_snapshot_reader_new(s, &r), COORD_OK);
	st_code_eq(store_snapshot_reader_next_chunk(r, &c, &cl, &last),
		   COORD_OK);
	ck_assert(last);
	/* The install and its key buffers. */
	a.fail_at = a.calls + 1;
	st_code_eq(store_snapshot_install_begin(s, &in), COORD_ENOMEM);
	a.fail_at = 0;
	for (int k = 1; k <= 2; k++) {
		st_code_eq(store_snapshot_install_begin(s, &in), COORD_OK);
		a.fail_at = a.calls + (size_t)k;
		st_code_eq(store_snapshot_install_add_chunk(in, c, cl),
			   COORD_ENOMEM);
		a.fail_at = 0;
		store_snapshot_install_abort(in);
	}
	store_snapshot_reader_free(r);
	store_close(s);
	ck_assert_uint_eq(a.live, 0);
	st_dir_free(dir);
}
END_TEST

/*
 * The disk refuses writes (a file size limit: LevelDB's write of the log
 * fails half-way, as on a full disk). In a child, so that the limit and
 * the ignored SIGXFSZ stay there. The child reports every step that
 * persisted; the persist that failed returns COORD_EIO and leaves the
 * store failed. Reopened, the store holds exactly the reported steps.
 */
START_TEST(write_errors_fail_the_store_and_lose_nothing_synced)
{
	char *dir = st_dir_new();
	int p[2], status;
	pid_t pid;
	uint64_t reported = 0, v;
	struct store_options o;
	struct store_restore rs;
	struct st_log lg;
	struct store *s;
	struct st_work w;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct rlimit rl = { 20000, 20000 };
		struct st_work cw;
		struct fsm_backend *b;
		struct fsm_backend_write wr = { FSM_BACKEND_PUT,
						(const uint8_t *)"k", 1,
						(const uint8_t *)"v", 1 };
		struct store_snapshot_install *in;
		struct raft_snapshot_meta m;
		int rv;

		close(p[0]);
		signal(SIGXFSZ, SIG_IGN);
		st_options(&o, NULL);
		if (store_open(dir, &o, &s, &rs) != COORD_OK)
			coord_exit_now(2);
		store_restore_close(&rs);
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			coord_exit_now(3);
		st_work_init(&cw, 9);
		for (;;) {
			st_work_step(&cw);
			rv = st_work_persist(&cw, s);
			if (rv != COORD_OK)
				break;
			if (write(p[1], &cw.step, 8) != 8)
				coord_exit_now(4);
		}
		if (rv != COORD_EIO || strstr(store_errmsg(s), "IO error") ==
					       NULL)
			coord_exit_now(5);
		/* Failed: every write refuses now. */
		b = store_fsm_backend(s);
		memset(&m, 0, sizeof(m));
		if (st_work_persist(&cw, s) != COORD_EIO ||
		    store_applied_set(s, store_hard_state(s).commit) !=
			    COORD_EIO ||
		    b->ops->write(b, &wr, 1) != COORD_EIO ||
		    strstr(store_errmsg(s), "failed earlier") == NULL)
			coord_exit_now(6);
		if (store_applied_index(s) < store_hard_state(s).commit &&
		    store_applied_set(s, store_applied_index(s) + 1) !=
			    COORD_EIO)
			coord_exit_now(7);
		(void)in;
		store_close(s);
		st_work_close(&cw);
		coord_exit_now(0);
	}
	close(p[1]);
	while (read(p[0], &v, sizeof(v)) == (ssize_t)sizeof(v))
		reported = v;
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "child status %d", status);
	ck_assert_uint_gt(reported, 0);
	st_options(&o, &lg);
	s = st_open(dir, &o, &rs);
	/* The failed write left part of its record in the log: a torn tail,
	 * cut and logged. */
	ck_assert_uint_gt(rs.torn_bytes, 0);
	ck_assert_ptr_nonnull(strstr(lg.text, "torn tail file="));
	st_work_init(&w, 9);
	st_work_rewind(&w, 9, reported);
	ck_assert(st_work_matches(&w, &rs));
	ck_assert_ptr_null(st_work_check(&w, s, &rs, reported));
	st_work_close(&w);
	store_restore_close(&rs);
	store_close(s);
	st_dir_free(dir);
}
END_TEST

/*
 * Write-back (store_int.h): writes that wait in the read cache and fail
 * when they are flushed (a file-size limit, as above) fail the store like
 * any write: the call that flushed returns COORD_EIO, every later write
 * is refused, and the records that were lost are not served from the
 * cache. In a child (the limit is the process's).
 */
START_TEST(failed_flush_of_waiting_writes_fails_the_store)
{
	char *dir = st_dir_new();
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct rlimit rl = { 200000, 200000 };
		struct store_options o;
		struct store_restore rs;
		struct store *s;
		struct fsm_backend *b;
		struct fsm_backend_iter *it = NULL;
		static uint8_t val[900];
		uint64_t deferred, flushes;
		int rv = COORD_OK;
		uint32_t k;
		const uint8_t *v;
		size_t len;

		signal(SIGXFSZ, SIG_IGN);
		st_options(&o, NULL);
		if (store_open(dir, &o, &s, &rs) != COORD_OK)
			coord_exit_now(2);
		store_restore_close(&rs);
		b = store_fsm_backend(s);
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			coord_exit_now(3);
		/* Batches of 16 waiting records, each flushed by an
		 * iterator, until LevelDB cannot write its log. */
		for (k = 0; k < 100000 && rv == COORD_OK; k++) {
			struct fsm_backend_write w = {
				FSM_BACKEND_PUT, (const uint8_t *)&k, sizeof(k),
				val, sizeof(val)
			};

			if (b->ops->write(b, &w, 1) != COORD_OK)
				coord_exit_now(4);
			if (k % 16 == 15) {
				rv = b->ops->iter_new(b, NULL, &it);
				if (rv == COORD_OK)
					b->ops->iter_free(it);
			}
		}
		store_writeback_stats(s, &deferred, &flushes);
		if (rv != COORD_EIO || flushes == 0 || deferred < 16 ||
		    strstr(store_errmsg(s), "writing fsm records") == NULL)
			coord_exit_now(5);
		/* The last record of the failed batch is not served. */
		k--;
		if (b->ops->get(b, (const uint8_t *)&k, sizeof(k), &v, &len) ==
		    COORD_OK)
			coord_exit_now(6);
		{
			struct fsm_backend_write w = {
				FSM_BACKEND_PUT, (const uint8_t *)"x", 1, val, 1
			};

			if (b->ops->write(b, &w, 1) != COORD_EIO)
				coord_exit_now(7);
		}
		store_close(s);
		coord_exit_now(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "child status %d", status);
	st_dir_free(dir);
}
END_TEST

#ifdef COORD_FAILPOINTS_ENABLED
/*
 * The store.sync failpoint (coordd/failpoint.h, --enable-failpoints
 * builds): a synced LevelDB batch and a Raft log append whose sync fails
 * return COORD_EIO with the store's reason, and leave the store failed:
 * every later write is refused. In a child: the failpoints are the
 * process's.
 */
START_TEST(failed_sync_at_the_failpoint_fails_the_store)
{
	char *dir = st_dir_new();
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct store_options o;
		struct store_restore rs;
		struct store *s;
		struct st_work cw;
		char err[256];

		st_options(&o, NULL);
		if (store_open(dir, &o, &s, &rs) != COORD_OK)
			coord_exit_now(2);
		store_restore_close(&rs);
		setenv("COORD_FAILPOINTS", "store.sync=error#2", 1);
		if (failpoint_setup_env(NULL, err, sizeof(err)) != COORD_OK)
			coord_exit_now(3);
		leveldb_writebatch_clear(s->batch);
		/* Hit 1 syncs; hit 2 fails. */
		if (store_batch_write(s, s->batch, true, "first") != COORD_OK)
			coord_exit_now(4);
		if (store_batch_write(s, s->batch, true, "second") !=
			    COORD_EIO ||
		    strstr(store_errmsg(s), "second: IO error") == NULL)
			coord_exit_now(5);
		st_work_init(&cw, 3);
		st_work_step(&cw);
		if (st_work_persist(&cw, s) != COORD_EIO ||
		    strstr(store_errmsg(s), "failed earlier") == NULL)
			coord_exit_now(6);
		store_close(s);
		/* Reopened, its first log append fails. */
		unsetenv("COORD_FAILPOINTS");
		if (failpoint_setup_env(NULL, err, sizeof(err)) != COORD_OK ||
		    store_open(dir, &o, &s, &rs) != COORD_OK)
			coord_exit_now(7);
		store_restore_close(&rs);
		setenv("COORD_FAILPOINTS", "store.sync=error#1", 1);
		if (failpoint_setup_env(NULL, err, sizeof(err)) != COORD_OK)
			coord_exit_now(8);
		if (st_work_persist(&cw, s) != COORD_EIO ||
		    strstr(store_errmsg(s), "IO error: ") == NULL ||
		    strstr(store_errmsg(s), "Input/output error") == NULL)
			coord_exit_now(9);
		if (st_work_persist(&cw, s) != COORD_EIO ||
		    strstr(store_errmsg(s), "failed earlier") == NULL)
			coord_exit_now(10);
		store_close(s);
		st_work_close(&cw);
		coord_exit_now(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "child status %d", status);
	st_dir_free(dir);
}
END_TEST

/* One entry at index i, term 1, with commit, through the log writer. */
static int async_one(struct store *s, uint64_t i)
{
	struct raft_entry e;
	struct raft_ready rd;

	st_entry(&e, i, 1, "x");
	memset(&rd, 0, sizeof(rd));
	rd.hard_state_changed = true;
	rd.hard_state.term = 1;
	rd.hard_state.vote = 1;
	rd.entries = &e;
	rd.n_entries = 1;
	rd.persist_async = true;
	return store_ready_persist_async(s, &rd);
}

/*
 * A background log write whose sync fails (the store.sync failpoint,
 * drawn when the write is queued) fails the store: the drain, the poll
 * and every later write say COORD_EIO with the reason, nothing queued
 * after it is written, and a reopened store has the log up to the last
 * durable write -- no hole. In a child: the failpoints are the process's.
 */
START_TEST(failed_background_sync_fails_the_store)
{
	char *dir = st_dir_new();
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct store_options o;
		struct store_restore rs;
		struct store *s;
		uint64_t index, term;
		char err[256];

		st_options(&o, NULL);
		if (store_open(dir, &o, &s, &rs) != COORD_OK)
			coord_exit_now(2);
		store_restore_close(&rs);
		setenv("COORD_FAILPOINTS", "store.sync=error#3", 1);
		if (failpoint_setup_env(NULL, err, sizeof(err)) != COORD_OK)
			coord_exit_now(3);
		if (async_one(s, 1) != COORD_OK || async_one(s, 2) != COORD_OK ||
		    store_log_drain(s) != COORD_OK)
			coord_exit_now(4);
		if (store_log_poll(s, &index, &term, NULL, NULL) != COORD_OK ||
		    index != 2 || term != 1)
			coord_exit_now(5);
		/* Hit 3 fails; 4 was queued behind it. */
		if (async_one(s, 3) != COORD_OK)
			coord_exit_now(6);
		(void)async_one(s, 4);
		if (store_log_drain(s) != COORD_EIO ||
		    strstr(store_errmsg(s), "appending to") == NULL ||
		    strstr(store_errmsg(s), "Input/output error") == NULL)
			coord_exit_now(7);
		if (store_log_poll(s, &index, &term, NULL, NULL) !=
			    COORD_EIO ||
		    index != 2)
			coord_exit_now(8);
		if (async_one(s, 5) != COORD_EIO)
			coord_exit_now(9);
		store_close(s);
		unsetenv("COORD_FAILPOINTS");
		if (failpoint_setup_env(NULL, err, sizeof(err)) != COORD_OK ||
		    store_open(dir, &o, &s, &rs) != COORD_OK)
			coord_exit_now(10);
		if (rs.raft.n_entries != 2 || store_last_index(s) != 2)
			coord_exit_now(11);
		store_restore_close(&rs);
		store_close(s);
		coord_exit_now(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "child status %d", status);
	st_dir_free(dir);
}
END_TEST
#endif

START_TEST(reads_of_a_damaged_table_are_refused)
{
	char *dir = st_dir_new(), **tables, path[4096];
	size_t size, hits = 0;

	/* Many fsm records, in tables. */
	{
		struct store_options o;
		struct store_restore rs;
		struct store *s;
		struct fsm_backend *b;
		char key[32], val[300];

		st_options(&o, NULL);
		s = st_open(dir, &o, &rs);
		store_restore_close(&rs);
		b = store_fsm_backend(s);
		memset(val, 'v', sizeof(val));
		for (int i = 0; i < 3000; i++) {
			struct fsm_backend_write w = {
				FSM_BACKEND_PUT, (const uint8_t *)key, 0,
				(const uint8_t *)val, sizeof(val)
			};

			w.key_len = (size_t)sprintf(key, "key%06d", i);
			val[i % 300] = (char)('a' + i % 26);
			st_code_eq(b->ops->write(b, &w, 1), COORD_OK);
		}
		store_close(s);
		/* Reopen once more, so that the log becomes a table. */
		s = st_open(dir, &o, &rs);
		store_restore_close(&rs);
		store_close(s);
	}
	tables = st_dir_names(dir, ".ldb");
	ck_assert_ptr_nonnull(tables[0]);
	for (char **t = tables; *t != NULL; t++) {
		struct store_options o;
		struct store_restore rs;
		struct store *s;
		struct fsm_backend *b;
		struct fsm_backend_iter *it;
		struct store_snapshot_reader *r;
		const uint8_t *c;
		size_t cl;
		bool last = false;
		int rv;

		snprintf(path, sizeof(path), "%s/%s", dir, *t);
		size = st_file_size(path);
		/* A byte early in the first data block. */
		st_file_flip(path, 100, 0x20);
		st_options(&o, NULL);
		rv = store_open(dir, &o, &s, &rs);
		if (rv != COORD_OK) {
			st_code_eq(rv, COORD_ECORRUPT);
			st_file_flip(path, 100, 0x20);
			continue;
		}
		store_restore_close(&rs);
		b = store_fsm_backend(s);
		st_code_eq(b->ops->iter_new(b, NULL, &it), COORD_OK);
		for (b->ops->iter_seek(it, (const uint8_t *)"", 0);
		     b->ops->iter_valid(it); b->ops->iter_next(it))
			;
		rv = b->ops->iter_status(it);
		b->ops->iter_free(it);
		if (rv == COORD_OK) {
			store_close(s);
			st_file_flip(path, 100, 0x20);
			continue;
		}
		st_code_eq(rv, COORD_ECORRUPT);
		ck_assert(strstr(store_errmsg(s), "Corruption") != NULL);
		/* The snapshot reader refuses too. */
		st_code_eq(store_snapshot_reader_new(s, &r), COORD_OK);
		while (!last) {
			rv = store_snapshot_reader_next_chunk(r, &c, &cl,
							      &last);
			if (rv != COORD_OK)
				break;
		}
		st_code_eq(rv, COORD_ECORRUPT);
		store_snapshot_reader_free(r);
		/* So does a get of a key in that block, somewhere. */
		for (int i = 0; i < 3000; i++) {
			char key[32];
			const uint8_t *v;
			size_t vl;

			sprintf(key, "key%06d", i);
			rv = b->ops->get(b, (const uint8_t *)key, strlen(key),
					 &v, &vl);
			if (rv != COORD_OK)
				break;
		}
		st_code_eq(rv, COORD_ECORRUPT);
		store_close(s);
		st_file_flip(path, 100, 0x20);
		hits++;
		(void)size;
	}
	ck_assert_uint_gt(hits, 0);
	st_names_free(tables);
	st_dir_free(dir);
}
END_TEST

Suite *store_faults_suite(void)
{
	Suite *s = suite_create("store_faults");

	ST_ADD(s, open_fails_cleanly_at_every_allocation);
	ST_ADD(s, writes_fail_cleanly_at_every_allocation);
	ST_ADD(s, write_errors_fail_the_store_and_lose_nothing_synced);
	ST_ADD(s, failed_flush_of_waiting_writes_fails_the_store);
	ST_ADD(s, reads_of_a_damaged_table_are_refused);
#ifdef COORD_FAILPOINTS_ENABLED
	ST_ADD(s, failed_sync_at_the_failpoint_fails_the_store);
	ST_ADD(s, failed_background_sync_fails_the_store);
#endif
	return s;
}
