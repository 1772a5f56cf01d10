/*
 * tests/unit/test_store_log.c: opening a store, persisting Readys (group
 * commit), the applied index, log compaction, and every contract
 * violation a Ready or a call can make -- each refused with nothing
 * written.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coordd/store/store_int.h"
#include "proto/exit.h"
#include "tests/unit/store_test.h"
#include "tests/unit/test_store.h"

struct fx {
	char *dir;
	struct store_options o;
	struct st_log log;
	struct store *s;
	struct store_restore rs;
};

static void fx_open(struct fx *f)
{
	f->dir = st_dir_new();
	st_options(&f->o, &f->log);
	f->s = st_open(f->dir, &f->o, &f->rs);
}

static void fx_reopen(struct fx *f)
{
	store_restore_close(&f->rs);
	store_close(f->s);
	f->s = st_open(f->dir, &f->o, &f->rs);
}

static void fx_close(struct fx *f)
{
	store_restore_close(&f->rs);
	store_close(f->s);
	st_dir_free(f->dir);
}

static struct raft_hard_state hs_make(uint64_t term, uint64_t vote,
				      uint64_t commit)
{
	struct raft_hard_state hs = { term, vote, commit };

	return hs;
}

/* Appends entries lo..hi of term with data "e<index>". */
static int append(struct fx *f, uint64_t lo, uint64_t hi, uint64_t term,
		  const struct raft_hard_state *hs)
{
	static char data[64][16];
	struct raft_entry e[64];

	ck_assert_uint_le(hi - lo + 1, 64);
	for (uint64_t i = lo; i <= hi; i++) {
		snprintf(data[i - lo], sizeof(data[0]), "e%llu",
			 (unsigned long long)i);
		st_entry(&e[i - lo], i, term, data[i - lo]);
	}
	return st_persist(f->s, hs, e, hi - lo + 1);
}

static void check_entry(const struct store_restore *rs, uint64_t index,
			uint64_t term)
{
	uint64_t first = rs->raft.snapshot ? rs->raft.snapshot->index + 1 : 1;
	const struct raft_entry *e = &rs->raft.entries[index - first];
	char want[16];

	snprintf(want, sizeof(want), "e%llu", (unsigned long long)index);
	ck_assert_uint_eq(e->index, index);
	ck_assert_uint_eq(e->term, term);
	ck_assert_uint_eq(e->len, strlen(want));
	ck_assert(memcmp(e->data, want, e->len) == 0);
}

/* A Ready that only moves the commit index writes nothing; the store
 * remembers the commit and, on reopen, raises a commit index found below
 * the applied index to it (what was applied was committed). */
START_TEST(commit_only_ready_writes_nothing_and_open_raises_commit)
{
	char *dir = st_dir_new();
	struct store_restore rs;
	struct store *s;
	struct raft_entry e[3];
	struct raft_hard_state hs = { 1, 1, 0 };
	size_t off_before;

	st_entry(&e[0], 1, 1, "a");
	st_entry(&e[1], 2, 1, "b");
	st_entry(&e[2], 3, 1, "c");
	s = st_open(dir, NULL, &rs);
	store_restore_close(&rs);
	st_code_eq(st_persist(s, &hs, e, 3), COORD_OK);
	off_before = s->log_off;    /* where the next frame would go */
	hs.commit = 3;
	st_code_eq(st_persist(s, &hs, NULL, 0), COORD_OK);
	ck_assert_uint_eq(s->log_off, off_before);
	ck_assert_uint_eq(store_hard_state(s).commit, 3);
	st_code_eq(store_applied_set(s, 2), COORD_OK);
	store_close(s);
	s = st_open(dir, NULL, &rs);
	ck_assert_uint_eq(rs.raft.hard_state.commit, 2);
	ck_assert_uint_eq(rs.raft.applied, 2);
	ck_assert_uint_eq(rs.raft.n_entries, 3);
	store_restore_close(&rs);
	store_close(s);
	st_dir_free(dir);
}
END_TEST

START_TEST(open_creates_a_new_store_in_a_missing_dir)
{
	char *base = st_dir_new();
	char dir[4096];
	struct store_options o;
	struct store_restore rs;
	struct store *s;

	snprintf(dir, sizeof(dir), "%s/node1", base);
	st_options(&o, NULL);
	s = st_open(dir, &o, &rs);
	ck_assert_ptr_null(rs.raft.snapshot);
	ck_assert_uint_eq(rs.raft.n_entries, 0);
	ck_assert_uint_eq(rs.raft.hard_state.term, 0);
	ck_assert_uint_eq(rs.raft.applied, 0);
	ck_assert_uint_eq(store_first_index(s), 1);
	ck_assert_uint_eq(store_last_index(s), 0);
	ck_assert_uint_eq(store_applied_index(s), 0);
	ck_assert_uint_eq(store_snapshot_meta(s)->index, 0);
	ck_assert_str_eq(store_errmsg(s), "");
	store_restore_close(&rs);
	store_close(s);
	/* Reopening the new, empty store works and finds it empty. */
	s = st_open(dir, NULL, &rs);
	ck_assert_uint_eq(rs.raft.n_entries, 0);
	store_restore_close(&rs);
	store_close(s);
	store_close(NULL);
	st_dir_free(base);
}
END_TEST

START_TEST(open_without_create_refuses_a_missing_store)
{
	char *base = st_dir_new();
	char dir[4096];
	struct store_options o;
	struct store_restore rs;
	struct store *s;

	st_options(&o, NULL);
	o.create_if_missing = false;
	snprintf(dir, sizeof(dir), "%s/none", base);
	st_code_eq(store_open(dir, &o, &s, &rs), COORD_ENOTFOUND);
	ck_assert_ptr_null(s);
	ck_assert(strstr(rs.errmsg, "no store") != NULL);
	st_code_eq(store_open(base, &o, &s, &rs), COORD_ENOTFOUND);
	ck_assert(strstr(rs.errmsg, "no store") != NULL);
	st_dir_free(base);
}
END_TEST

START_TEST(open_rejects_bad_options)
{
	struct store_options o;
	struct store_restore rs;
	struct store *s;
	char longdir[3100];

	st_options(&o, NULL);
	st_code_eq(store_open(NULL, &o, &s, &rs), COORD_EINVAL);
	st_code_eq(store_open("", &o, &s, &rs), COORD_EINVAL);
	ck_assert(strstr(rs.errmsg, "no data dir") != NULL);
	memset(longdir, 'a', sizeof(longdir) - 1);
	longdir[sizeof(longdir) - 1] = '\0';
	st_code_eq(store_open(longdir, &o, &s, &rs), COORD_EINVAL);
	o.snapshot_chunk_bytes = 100;
	st_code_eq(store_open("/tmp/x", &o, &s, &rs), COORD_EINVAL);
	ck_assert(strstr(rs.errmsg, "snapshot_chunk_bytes") != NULL);
}
END_TEST

START_TEST(open_refuses_a_dir_another_store_holds)
{
	struct fx f;
	struct store_restore rs;
	struct store *s2;
	pid_t pid;
	int status;

	fx_open(&f);
	/* The same process: refused without touching the lock file, so
	 * the first store keeps its lock (checked by the child below). */
	st_code_eq(store_open(f.dir, &f.o, &s2, &rs), COORD_EIO);
	ck_assert(strstr(rs.errmsg, "already open in this process") != NULL);
	/* Another process (our fcntl lock). */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int rv = store_open(f.dir, &f.o, &s2, &rs);

		if (rv == COORD_EIO && strstr(rs.errmsg, "another coordd"))
			coord_exit_now(0);
		fprintf(stderr, "second open: %s: %s\n",
			coord_error_name(rv), rs.errmsg);
		coord_exit_now(1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	fx_close(&f);
}
END_TEST

START_TEST(open_refuses_a_file_as_data_dir)
{
	char *base = st_dir_new();
	char path[4096];
	FILE *fp;
	struct store_restore rs;
	struct store *s;

	snprintf(path, sizeof(path), "%s/file", base);
	fp = fopen(path, "w");
	fputs("x", fp);
	fclose(fp);
	st_code_eq(store_open(path, NULL, &s, &rs), COORD_EIO);
	ck_assert(strlen(rs.errmsg) > 0);
	snprintf(path, sizeof(path), "%s/file/sub", base);
	st_code_eq(store_open(path, NULL, &s, &rs), COORD_EIO);
	st_dir_free(base);
}
END_TEST

START_TEST(persist_then_reopen_restores_everything)
{
	struct fx f;
	struct raft_hard_state hs = hs_make(3, 2, 4);

	fx_open(&f);
	st_code_eq(append(&f, 1, 6, 3, &hs), COORD_OK);
	ck_assert_uint_eq(store_last_index(f.s), 6);
	ck_assert_uint_eq(store_hard_state(f.s).commit, 4);
	fx_reopen(&f);
	ck_assert_uint_eq(f.rs.raft.hard_state.term, 3);
	ck_assert_uint_eq(f.rs.raft.hard_state.vote, 2);
	ck_assert_uint_eq(f.rs.raft.hard_state.commit, 4);
	ck_assert_uint_eq(f.rs.raft.n_entries, 6);
	for (uint64_t i = 1; i <= 6; i++)
		check_entry(&f.rs, i, 3);
	ck_assert_uint_eq(store_last_index(f.s), 6);
	fx_close(&f);
}
END_TEST

START_TEST(store_works_without_compression)
{
	struct fx f;
	struct raft_hard_state hs = hs_make(1, 1, 2);

	f.dir = st_dir_new();
	st_options(&f.o, &f.log);
	f.o.compression = false;
	f.s = st_open(f.dir, &f.o, &f.rs);
	st_code_eq(append(&f, 1, 3, 1, &hs), COORD_OK);
	fx_reopen(&f);
	ck_assert_uint_eq(f.rs.raft.n_entries, 3);
	check_entry(&f.rs, 3, 1);
	fx_close(&f);
}
END_TEST

START_TEST(persist_of_an_empty_ready_writes_nothing)
{
	struct fx f;
	struct raft_ready rd;

	fx_open(&f);
	memset(&rd, 0, sizeof(rd));
	st_code_eq(store_ready_persist(f.s, &rd), COORD_OK);
	fx_reopen(&f);
	ck_assert_uint_eq(f.rs.raft.n_entries, 0);
	fx_close(&f);
}
END_TEST

START_TEST(persist_hard_state_alone_and_entries_alone)
{
	struct fx f;
	struct raft_hard_state hs = hs_make(1, 1, 0);

	fx_open(&f);
	st_code_eq(st_persist(f.s, &hs, NULL, 0), COORD_OK);
	st_code_eq(append(&f, 1, 3, 1, NULL), COORD_OK);
	/* A new term and vote alone are written (the commit with them). */
	hs = hs_make(2, 2, 3);
	st_code_eq(st_persist(f.s, &hs, NULL, 0), COORD_OK);
	fx_reopen(&f);
	ck_assert_uint_eq(f.rs.raft.hard_state.term, 2);
	ck_assert_uint_eq(f.rs.raft.hard_state.vote, 2);
	ck_assert_uint_eq(f.rs.raft.hard_state.commit, 3);
	ck_assert_uint_eq(f.rs.raft.n_entries, 3);
	fx_close(&f);
}
END_TEST

START_TEST(persist_truncates_conflicting_suffix)
{
	struct fx f;
	struct raft_hard_state hs = hs_make(1, 1, 2);

	fx_open(&f);
	st_code_eq(append(&f, 1, 6, 1, &hs), COORD_OK);
	/* A new leader of term 2 overwrites from 4: 5 and 6 go. */
	hs = hs_make(2, 3, 2);
	st_code_eq(append(&f, 4, 4, 2, &hs), COORD_OK);
	ck_assert_uint_eq(store_last_index(f.s), 4);
	/* Overwriting again, from 3 (the term before it is read back). */
	st_code_eq(append(&f, 3, 5, 2, NULL), COORD_OK);
	fx_reopen(&f);
	ck_assert_uint_eq(f.rs.raft.n_entries, 5);
	check_entry(&f.rs, 2, 1);
	check_entry(&f.rs, 3, 2);
	check_entry(&f.rs, 5, 2);
	fx_close(&f);
}
END_TEST

START_TEST(persist_rejects_contract_violations)
{
	struct fx f;
	struct raft_hard_state hs = hs_make(2, 1, 3);
	struct raft_entry e[3];
	struct raft_ready rd;
	struct raft_snapshot_meta meta;

	fx_open(&f);
	st_code_eq(append(&f, 1, 5, 2, &hs), COORD_OK);
	/* Not contiguous. */
	st_entry(&e[0], 6, 2, "a");
	st_entry(&e[1], 8, 2, "b");
	st_code_eq(st_persist(f.s, NULL, e, 2), COORD_EINVAL);
	ck_assert(strstr(store_errmsg(f.s), "contiguous") != NULL);
	/* A hole after the log. */
	st_entry(&e[0], 7, 2, "a");
	st_code_eq(st_persist(f.s, NULL, e, 1), COORD_EINVAL);
	ck_assert(strstr(store_errmsg(f.s), "no hole") != NULL);
	/* Overwriting a committed entry. */
	st_entry(&e[0], 3, 2, "a");
	st_code_eq(st_persist(f.s, NULL, e, 1), COORD_EINVAL);
	ck_assert(strstr(store_errmsg(f.s), "committed") != NULL);
	/* A term above the hard state's, and one going down. */
	st_entry(&e[0], 6, 3, "a");
	st_code_eq(st_persist(f.s, NULL, e, 1), COORD_EINVAL);
	st_entry(&e[0], 6, 1, "a");
	st_code_eq(st_persist(f.s, NULL, e, 1), COORD_EINVAL);
	/* Data missing. */
	st_entry(&e[0], 6, 2, "a");
	e[0].data = NULL;
	st_code_eq(st_persist(f.s, NULL, e, 1), COORD_EINVAL);
	memset(&rd, 0, sizeof(rd));
	rd.n_entries = 1;
	st_code_eq(store_ready_persist(f.s, &rd), COORD_EINVAL);
	/* A commit past the log; hard state going back. */
	hs = hs_make(2, 1, 6);
	st_code_eq(st_persist(f.s, &hs, NULL, 0), COORD_EINVAL);
	ck_assert(strstr(store_errmsg(f.s), "commit=6") != NULL);
	hs = hs_make(2, 1, 2);
	st_code_eq(st_persist(f.s, &hs, NULL, 0), COORD_EINVAL);
	hs = hs_make(1, 1, 3);
	st_code_eq(st_persist(f.s, &hs, NULL, 0), COORD_EINVAL);
	hs = hs_make(2, 3, 3);
	st_code_eq(st_persist(f.s, &hs, NULL, 0), COORD_EINVAL);
	ck_assert(strstr(store_errmsg(f.s), "goes back") != NULL);
	/* A snapshot that was not installed. */
	memset(&meta, 0, sizeof(meta));
	meta.index = 4;
	meta.term = 2;
	memset(&rd, 0, sizeof(rd));
	rd.snapshot = &meta;
	st_code_eq(store_ready_persist(f.s, &rd), COORD_EINVAL);
	ck_assert(strstr(store_errmsg(f.s), "install") != NULL);
	/* Nothing of it was written. */
	fx_reopen(&f);
	ck_assert_uint_eq(f.rs.raft.n_entries, 5);
	ck_assert_uint_eq(f.rs.raft.hard_state.commit, 3);
	ck_assert_uint_eq(f.rs.raft.hard_state.term, 2);
	ck_assert_uint_eq(f.rs.raft.hard_state.vote, 1);
	fx_close(&f);
}
END_TEST

START_TEST(applied_index_is_validated_and_persisted)
{
	struct fx f;
	struct raft_hard_state hs = hs_make(1, 1, 3);

	fx_open(&f);
	st_code_eq(append(&f, 1, 5, 1, &hs), COORD_OK);
	st_code_eq(store_applied_set(f.s, 4), COORD_EINVAL);
	ck_assert(strstr(store_errmsg(f.s), "applied index=4") != NULL);
	st_code_eq(store_applied_set(f.s, 2), COORD_OK);
	st_code_eq(store_applied_set(f.s, 2), COORD_OK);
	st_code_eq(store_applied_set(f.s, 1), COORD_EINVAL);
	ck_assert_uint_eq(store_applied_index(f.s), 2);
	fx_reopen(&f);
	ck_assert_uint_eq(f.rs.raft.applied, 2);
	fx_close(&f);
}
END_TEST

static struct raft_snapshot_meta meta_make(uint64_t index, uint64_t term)
{
	struct raft_snapshot_meta m;

	memset(&m, 0, sizeof(m));
	m.index = index;
	m.term = term;
	m.conf.n_voters = 3;
	m.conf.voters[0] = 1;
	m.conf.voters[1] = 2;
	m.conf.voters[2] = 3;
	m.conf.n_learners = 1;
	m.conf.learners[0] = 9;
	return m;
}

START_TEST(compaction_drops_entries_below_the_snapshot)
{
	struct fx f;
	struct raft_hard_state hs = hs_make(2, 1, 4);
	struct raft_snapshot_meta m;

	fx_open(&f);
	st_code_eq(append(&f, 1, 4, 1, &hs), COORD_OK);
	hs.commit = 8;
	st_code_eq(append(&f, 5, 10, 2, &hs), COORD_OK);
	st_code_eq(store_applied_set(f.s, 6), COORD_OK);
	/* Above applied, beyond the log, wrong term, too many ids. */
	m = meta_make(7, 2);
	st_code_eq(store_log_compact(f.s, &m), COORD_EINVAL);
	m = meta_make(11, 2);
	st_code_eq(store_log_compact(f.s, &m), COORD_EINVAL);
	m = meta_make(6, 1);
	st_code_eq(store_log_compact(f.s, &m), COORD_EINVAL);
	ck_assert(strstr(store_errmsg(f.s), "stored entry has term 2") != NULL);
	m = meta_make(6, 2);
	m.conf.n_voters = RAFT_NODES_MAX + 1;
	st_code_eq(store_log_compact(f.s, &m), COORD_EINVAL);
	m = meta_make(6, 2);
	st_code_eq(store_log_compact(f.s, &m), COORD_OK);
	st_code_eq(store_log_compact(f.s, &m), COORD_OK);   /* the same */
	ck_assert_uint_eq(store_first_index(f.s), 7);
	ck_assert_uint_eq(store_snapshot_meta(f.s)->index, 6);
	/* Below the snapshot now. */
	m = meta_make(4, 1);
	st_code_eq(store_log_compact(f.s, &m), COORD_EINVAL);
	fx_reopen(&f);
	ck_assert_ptr_nonnull(f.rs.raft.snapshot);
	ck_assert_uint_eq(f.rs.raft.snapshot->index, 6);
	ck_assert_uint_eq(f.rs.raft.snapshot->term, 2);
	ck_assert_uint_eq(f.rs.raft.snapshot->conf.n_voters, 3);
	ck_assert_uint_eq(f.rs.raft.snapshot->conf.voters[2], 3);
	ck_assert_uint_eq(f.rs.raft.snapshot->conf.n_learners, 1);
	ck_assert_uint_eq(f.rs.raft.snapshot->conf.learners[0], 9);
	ck_assert_uint_eq(f.rs.raft.n_entries, 4);
	check_entry(&f.rs, 7, 2);
	check_entry(&f.rs, 10, 2);
	fx_close(&f);
}
END_TEST

START_TEST(log_continues_after_compaction)
{
	struct fx f;
	struct raft_hard_state hs = hs_make(1, 1, 4);
	struct raft_snapshot_meta m = meta_make(4, 1);

	fx_open(&f);
	st_code_eq(append(&f, 1, 4, 1, &hs), COORD_OK);
	st_code_eq(store_applied_set(f.s, 4), COORD_OK);
	st_code_eq(store_log_compact(f.s, &m), COORD_OK);
	ck_assert_uint_eq(store_last_index(f.s), 4);
	/* Entries into the snapshot are refused. */
	st_code_eq(append(&f, 4, 5, 1, NULL), COORD_EINVAL);
	hs = hs_make(2, 2, 4);
	st_code_eq(append(&f, 5, 7, 2, &hs), COORD_OK);
	/* Overwrite right after the snapshot: the term before is the
	 * snapshot's. */
	hs = hs_make(3, 3, 4);
	st_code_eq(append(&f, 5, 5, 3, &hs), COORD_OK);
	fx_reopen(&f);
	ck_assert_uint_eq(f.rs.raft.n_entries, 1);
	check_entry(&f.rs, 5, 3);
	/* Compacting everything, then appending after it. */
	hs = hs_make(3, 3, 5);
	st_code_eq(st_persist(f.s, &hs, NULL, 0), COORD_OK);
	st_code_eq(store_applied_set(f.s, 5), COORD_OK);
	m = meta_make(5, 3);
	st_code_eq(store_log_compact(f.s, &m), COORD_OK);
	fx_reopen(&f);
	ck_assert_uint_eq(f.rs.raft.n_entries, 0);
	ck_assert_uint_eq(f.rs.raft.snapshot->index, 5);
	st_code_eq(append(&f, 6, 6, 3, NULL), COORD_OK);
	fx_reopen(&f);
	check_entry(&f.rs, 6, 3);
	fx_close(&f);
}
END_TEST

START_TEST(restore_feeds_raft_new)
{
	struct fx f;
	struct raft_hard_state hs = hs_make(2, 1, 3);
	struct raft_config cfg;
	struct raft *r;
	struct raft_entry e;
	struct raft_snapshot_meta m = meta_make(3, 1);

	fx_open(&f);
	m.conf.n_voters = 1;
	m.conf.n_learners = 0;
	m.conf.voters[0] = 1;
	st_code_eq(append(&f, 1, 3, 1, &hs), COORD_OK);
	st_entry(&e, 4, 2, "x");
	st_code_eq(st_persist(f.s, NULL, &e, 1), COORD_OK);
	hs.commit = 5;
	st_code_eq(append(&f, 5, 6, 2, &hs), COORD_OK);
	st_code_eq(store_applied_set(f.s, 4), COORD_OK);
	st_code_eq(store_log_compact(f.s, &m), COORD_OK);
	fx_reopen(&f);
	raft_config_default(&cfg, 1, 7);
	ck_assert_int_eq(raft_new(&cfg, &f.rs.raft, &r), RAFT_OK);
	ck_assert_uint_eq(raft_first_index(r), 4);
	ck_assert_uint_eq(raft_last_index(r), 6);
	ck_assert_uint_eq(raft_commit_index(r), 5);
	ck_assert_uint_eq(raft_applied_index(r), 4);
	ck_assert_uint_eq(raft_term(r), 2);
	raft_free(r);
	fx_close(&f);
}
END_TEST

/* Persists entries lo..hi of term (data "e<index>") through the log
 * writer thread, with commit. */
static int append_async(struct fx *f, uint64_t lo, uint64_t hi,
			uint64_t term, uint64_t commit)
{
	static char data[8][16];
	struct raft_entry e[8];
	struct raft_ready rd;

	ck_assert_uint_le(hi - lo + 1, 8);
	for (uint64_t i = lo; i <= hi; i++) {
		snprintf(data[i - lo], sizeof(data[0]), "e%llu",
			 (unsigned long long)i);
		st_entry(&e[i - lo], i, term, data[i - lo]);
	}
	memset(&rd, 0, sizeof(rd));
	rd.hard_state_changed = true;
	rd.hard_state = hs_make(term, 1, commit);
	rd.entries = e;
	rd.n_entries = hi - lo + 1;
	rd.persist_async = true;
	return store_ready_persist_async(f->s, &rd);
}

static void count_sync(void *ctx, uint64_t ns)
{
	(void)ns;
	(*(unsigned *)ctx)++;
}

/*
 * A leader's Readies written by the log writer thread (raft.h,
 * persist_async): the store's metadata has them at once, store_log_poll()
 * reports the last durable entry and each write's time, a synchronous
 * Ready after them waits for them, segments rotate under them (4 KiB
 * segments here), and a reopened store has every entry in order.
 */
START_TEST(async_writes_are_durable_in_order)
{
	struct fx f;
	uint64_t index, term, syncs;
	unsigned timed = 0;
	struct raft_entry e;
	struct raft_hard_state hs;

	fx_open(&f);
	ck_assert_int_eq(store_log_notify_fd(f.s), -1);
	st_code_eq(store_log_poll(f.s, &index, &term, NULL, NULL), COORD_OK);
	ck_assert_uint_eq(index, 0);
	st_code_eq(store_log_drain(f.s), COORD_OK);
	syncs = store_log_syncs(f.s);
	st_code_eq(store_log_writer_start(f.s), COORD_OK);
	st_code_eq(store_log_writer_start(f.s), COORD_OK);   /* once */
	ck_assert_int_ge(store_log_notify_fd(f.s), 0);
	for (uint64_t i = 1; i <= 300; i += 3) {
		st_code_eq(append_async(&f, i, i + 2, 2, i - 1), COORD_OK);
		ck_assert_uint_eq(store_last_index(f.s), i + 2);
	}
	ck_assert_uint_gt(f.s->n_segs, 2);      /* it rotated */
	st_code_eq(store_log_drain(f.s), COORD_OK);
	st_code_eq(store_log_poll(f.s, &index, &term, count_sync, &timed),
		   COORD_OK);
	ck_assert_uint_eq(index, 300);
	ck_assert_uint_eq(term, 2);
	ck_assert_uint_ge(timed, 1);
	ck_assert_uint_gt(store_log_syncs(f.s), syncs);
	/* A synchronous Ready follows on (the writer is idle: drained). */
	hs = hs_make(2, 1, 300);
	st_entry(&e, 301, 2, "e301");
	st_code_eq(st_persist(f.s, &hs, &e, 1), COORD_OK);
	fx_reopen(&f);
	ck_assert_uint_eq(store_last_index(f.s), 301);
	ck_assert_uint_eq(f.rs.raft.hard_state.commit, 300);
	for (uint64_t i = 1; i <= 301; i++)
		check_entry(&f.rs, i, 2);
	fx_close(&f);
}
END_TEST

/* Queued writes are written before a synchronous Ready, a compaction and
 * close: each waits for them (store_close() included, so a clean stop
 * loses nothing). */
START_TEST(async_writes_are_drained_before_other_log_writes)
{
	struct fx f;
	struct raft_entry e;
	struct raft_hard_state hs = hs_make(2, 1, 4);
	struct raft_snapshot_meta m;

	fx_open(&f);
	st_code_eq(append_async(&f, 1, 3, 2, 0), COORD_OK);
	st_entry(&e, 4, 2, "e4");
	st_code_eq(st_persist(f.s, &hs, &e, 1), COORD_OK);
	st_code_eq(append_async(&f, 5, 7, 2, 4), COORD_OK);
	st_code_eq(store_applied_set(f.s, 4), COORD_OK);
	memset(&m, 0, sizeof(m));
	m.index = 2;
	m.term = 2;
	m.conf.n_voters = 1;
	m.conf.voters[0] = 1;
	st_code_eq(store_log_compact(f.s, &m), COORD_OK);
	st_code_eq(append_async(&f, 8, 9, 2, 4), COORD_OK);
	fx_reopen(&f);
	ck_assert_uint_eq(store_last_index(f.s), 9);
	for (uint64_t i = 3; i <= 9; i++)
		check_entry(&f.rs, i, 2);
	fx_close(&f);
}
END_TEST

/* The background path checks a Ready as the synchronous one does, and
 * never writes a snapshot: refused, nothing queued. */
START_TEST(async_persist_refuses_what_persist_refuses)
{
	struct fx f;
	struct raft_ready rd;
	struct raft_snapshot_meta m;

	fx_open(&f);
	st_code_eq(append_async(&f, 1, 2, 2, 0), COORD_OK);
	st_code_eq(append_async(&f, 4, 5, 2, 0), COORD_EINVAL);   /* hole */
	ck_assert_ptr_nonnull(strstr(store_errmsg(f.s), "no hole"));
	memset(&rd, 0, sizeof(rd));
	memset(&m, 0, sizeof(m));
	m.index = 2;
	m.term = 2;
	rd.snapshot = &m;
	rd.persist_async = true;
	st_code_eq(store_ready_persist_async(f.s, &rd), COORD_EINVAL);
	ck_assert_ptr_nonnull(strstr(store_errmsg(f.s), "background"));
	st_code_eq(store_log_drain(f.s), COORD_OK);
	ck_assert_uint_eq(store_last_index(f.s), 2);
	fx_reopen(&f);
	ck_assert_uint_eq(store_last_index(f.s), 2);
	fx_close(&f);
}
END_TEST

Suite *store_log_suite(void)
{
	Suite *s = suite_create("store_log");

	ST_ADD(s, open_creates_a_new_store_in_a_missing_dir);
	ST_ADD(s, open_without_create_refuses_a_missing_store);
	ST_ADD(s, open_rejects_bad_options);
	ST_ADD(s, open_refuses_a_dir_another_store_holds);
	ST_ADD(s, open_refuses_a_file_as_data_dir);
	ST_ADD(s, persist_then_reopen_restores_everything);
	ST_ADD(s, store_works_without_compression);
	ST_ADD(s, persist_of_an_empty_ready_writes_nothing);
	ST_ADD(s, persist_hard_state_alone_and_entries_alone);
	ST_ADD(s, persist_truncates_conflicting_suffix);
	ST_ADD(s, persist_rejects_contract_violations);
	ST_ADD(s, applied_index_is_validated_and_persisted);
	ST_ADD(s, compaction_drops_entries_below_the_snapshot);
	ST_ADD(s, log_continues_after_compaction);
	ST_ADD(s, restore_feeds_raft_new);
	ST_ADD(s, commit_only_ready_writes_nothing_and_open_raises_commit);
	ST_ADD(s, async_writes_are_durable_in_order);
	ST_ADD(s, async_writes_are_drained_before_other_log_writes);
	ST_ADD(s, async_persist_refuses_what_persist_refuses);
	return s;
}
