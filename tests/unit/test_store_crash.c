/*
 * tests/unit/test_store_crash.c: crash tests. A child process works on a
 * store and reports each synced step to the parent through a pipe; the
 * parent kills it with SIGKILL at a random moment (during open and
 * recovery too), reopens the store and checks that every step the child
 * reported is there, that the state is exactly the model's after the
 * last reported step or the one in flight, and that the fsm keyspace,
 * once the log is replayed into it, is the model's. The next child goes
 * on from there, on the same data dir.
 *
 * A step is reported once it is persisted and applied, not just
 * persisted: a Ready that only moves the commit index writes nothing
 * (store.h), so its commit index survives a crash only through the
 * applied index that store_applied_set() writes after the applies. A
 * report right after the persist claimed that commit index before
 * anything held it, and a kill before the applied index was written
 * left the store below the reported step (issue 11). While the next
 * step's applies are in flight, the fsm keyspace may be ahead of a
 * commit index that was not written yet (st_work_check_ahead()).
 *
 * The random kill is armed only once the child has reported that it
 * runs (odd rounds: the kill may land in its open and recovery) or has
 * synced its first step (even rounds: every other round moves the store
 * on), so a slow disk or a slow sanitized exec cannot turn every kill
 * into one before the child did anything.
 *
 * Children exec this test program afresh (store_crash_child_main()):
 * LevelDB compacts on a background thread, which a plain fork() of a
 * process that has used LevelDB does not carry over, so a forked child
 * would stall at its first compaction.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "coordd/store/crc32c.h"
#include "coordd/store/store_int.h"
#include "tests/unit/store_test.h"
#include "tests/unit/test_store.h"

/* Kills per sequence; 4 sequences of the log test, 1 of the install test:
 * 4 * 55 + 50 = 270 kills in make check. */
#define LOG_KILLS 55
#define INSTALL_KILLS 50
/* The longest a child lives after the kill is armed, in microseconds. */
#define DELAY_MAX_US 60000
/* What a child reports before it opens the store. */
#define REPORT_STARTED UINT64_MAX
/* How long the parent waits for that report or the first step: the
 * exec, the open and one fsync of a sanitized child on a busy disk. */
#define CHILD_REPORT_TIMEOUT_MS 120000

/* The seed of a test, moved by $ST_CRASH_SEED (a number added to it) so
 * that loops of the tests can try other workloads and kill times. */
static uint64_t crash_seed(uint64_t base)
{
	const char *e = getenv("ST_CRASH_SEED");

	return base + (e != NULL ? strtoull(e, NULL, 10) : 0);
}

static uint64_t prng(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void report(int fd, uint64_t v)
{
	const uint8_t *p = (const uint8_t *)&v;
	size_t n = 0;

	while (n < sizeof(v)) {
		ssize_t r = write(fd, p + n, sizeof(v) - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			_exit(9);
		n += (size_t)r;
	}
}

/* The last value the child reported before it died (or dflt). */
static uint64_t last_report(int fd, uint64_t dflt)
{
	uint64_t v, last = dflt;
	ssize_t r;

	while ((r = read(fd, &v, sizeof(v))) == (ssize_t)sizeof(v))
		if (v != REPORT_STARTED)
			last = v;
	ck_assert_int_eq(r, 0);
	return last;
}

/* Waits for the child's REPORT_STARTED (step false) or its first step
 * (step true); returns the last step read (or dflt). */
static uint64_t wait_report(int fd, bool step, uint64_t dflt)
{
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		uint64_t v;
		ssize_t r;
		int n = poll(&pfd, 1, CHILD_REPORT_TIMEOUT_MS);

		if (n < 0 && errno == EINTR)
			continue;
		ck_assert_msg(n == 1, "no report from the child in %d ms",
			      CHILD_REPORT_TIMEOUT_MS);
		r = read(fd, &v, sizeof(v));
		ck_assert_msg(r == (ssize_t)sizeof(v),
			      "the child ended before its first report");
		if (v != REPORT_STARTED)
			return v;
		if (!step)
			return dflt;
	}
}

/* Once the child reported (see the file comment), kills pid after a
 * random delay; asserts it died of the kill (and not of a failure of its
 * own, reported as an exit code). Returns the last step it reported. */
static uint64_t kill_later(pid_t pid, int fd, int round, uint64_t *x,
			   uint64_t from)
{
	int status;
	uint64_t seen = wait_report(fd, round % 2 == 0, from);

	usleep((useconds_t)(prng(x) % DELAY_MAX_US));
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		      "the child failed on its own: exit code %d",
		      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return last_report(fd, seen);
}

/* Forks and execs this program as a child of the given mode, writing
 * to the pipe's write end. */
static pid_t child_start(const char *mode, const char *dir, uint64_t seed,
			 uint64_t from, int p[2])
{
	char s_seed[32], s_from[32], s_fd[16];
	pid_t pid;

	snprintf(s_seed, sizeof(s_seed), "%llu", (unsigned long long)seed);
	snprintf(s_from, sizeof(s_from), "%llu", (unsigned long long)from);
	snprintf(s_fd, sizeof(s_fd), "%d", p[1]);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[0]);
		execl("/proc/self/exe", "test_store", "--crash-child", mode, dir,
		      s_seed, s_from, s_fd, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	return pid;
}

/* The child of the log test: takes the store from step `from` on. */
static void __attribute__((noreturn))
log_child(const char *dir, uint64_t seed, uint64_t from, int fd)
{
	struct store_options o;
	struct store_restore rs;
	struct store *s;
	struct st_work w;

	report(fd, REPORT_STARTED);
	st_options(&o, NULL);
	if (store_open(dir, &o, &s, &rs) != COORD_OK)
		_exit(2);
	store_restore_close(&rs);
	st_work_init(&w, seed);
	st_work_rewind(&w, seed, from);
	if (st_work_apply(&w, s) != COORD_OK)
		_exit(3);
	while (w.step < from + 2000) {
		st_work_step(&w);
		if (st_work_persist(&w, s) != COORD_OK)
			_exit(4);
		/* Reported once applied: see the file comment. */
		if (st_work_apply(&w, s) != COORD_OK)
			_exit(5);
		report(fd, w.step);
		if (w.step % 7 == 0 && st_work_compact(&w, s) != COORD_OK)
			_exit(6);
	}
	for (;;)
		pause();
}

START_TEST(killed_writer_loses_no_synced_batch)
{
	char *dir = st_dir_new();
	uint64_t seed = crash_seed(1000 + (uint64_t)_i);
	uint64_t x = 0x2545f4914f6cdd1dull + seed;
	uint64_t from = 0, torn = 0;
	struct st_work w;

	st_work_init(&w, seed);
	for (int round = 0; round < LOG_KILLS; round++) {
		struct store_options o;
		struct store_restore rs;
		struct st_log lg;
		struct store *s;
		uint64_t reported, next_commit;
		const char *bad;
		int p[2];
		pid_t pid;
		int rv;

		ck_assert_int_eq(pipe(p), 0);
		pid = child_start("log", dir, seed, from, p);
		reported = kill_later(pid, p[0], round, &x, from);
		close(p[0]);
		st_options(&o, &lg);
		rv = store_open(dir, &o, &s, &rs);
		ck_assert_msg(rv == COORD_OK, "round %d: reopen: %s: %s", round,
			      coord_error_name(rv), rs.errmsg);
		torn += rs.torn_bytes > 0;
		/* Every reported step is there; the one in flight may be,
		 * and its applies may be ahead of its commit index. */
		st_work_rewind(&w, seed, reported + 1);
		next_commit = w.hs.commit;
		if (!st_work_matches(&w, &rs))
			st_work_rewind(&w, seed, reported);
		ck_assert_msg(st_work_matches(&w, &rs),
			      "round %d seed %llu: the store (term %llu commit "
			      "%llu last %llu) is neither at reported step %llu "
			      "(term %llu commit %llu last %llu) nor the next "
			      "one", round, (unsigned long long)seed,
			      (unsigned long long)rs.raft.hard_state.term,
			      (unsigned long long)rs.raft.hard_state.commit,
			      (unsigned long long)(rs.raft.n_entries +
						   (rs.raft.snapshot != NULL ?
						    rs.raft.snapshot->index : 0)),
			      (unsigned long long)reported,
			      (unsigned long long)w.hs.term,
			      (unsigned long long)w.hs.commit,
			      (unsigned long long)w.last);
		bad = st_work_check_ahead(&w, s, &rs, w.step, next_commit);
		ck_assert_msg(bad == NULL, "round %d step %llu: %s", round,
			      (unsigned long long)w.step, bad);
		/* And raft takes what was recovered. */
		{
			struct raft_config cfg;
			struct raft *r;

			raft_config_default(&cfg, 1, seed);
			ck_assert_int_eq(raft_new(&cfg, &rs.raft, &r), RAFT_OK);
			ck_assert_uint_eq(raft_last_index(r), w.last);
			raft_free(r);
		}
		from = w.step;
		store_restore_close(&rs);
		store_close(s);
	}
	/* Over all rounds the store moved on. */
	ck_assert_uint_gt(from, 0);
	if (getenv("ST_VERBOSE") != NULL)
		fprintf(stderr, "killed_writer seed=%llu kills=%d steps=%llu "
			"torn_tails=%llu\n", (unsigned long long)seed,
			LOG_KILLS, (unsigned long long)from,
			(unsigned long long)torn);
	st_work_close(&w);
	st_dir_free(dir);
}
END_TEST

/* What the kill loop above can find in a narrow window, step by step:
 * a Ready that only moves the commit index writes nothing, and a crash
 * after the applies of the entries it commits but before the applied
 * index is written reopens the store at the step before, with the fsm
 * keyspace ahead of its commit index. st_work_check() refuses that
 * keyspace; st_work_check_ahead(), given the commit of the step in
 * flight, takes it. */
START_TEST(crash_in_applies_of_a_commit_only_step)
{
	char *dir = st_dir_new();
	struct store_options o;
	struct store_restore rs;
	struct store *s;
	struct st_work w;
	uint64_t commit, before = 0;

	st_options(&o, NULL);
	s = st_open(dir, &o, &rs);
	store_restore_close(&rs);
	st_work_init(&w, 5);
	for (;;) {
		uint64_t term = w.hs.term;

		before = w.hs.commit;
		st_work_step(&w);
		st_code_eq(st_work_persist(&w, s), COORD_OK);
		if (w.step > 1 && w.n_ready == 0 && w.hs.term == term &&
		    w.hs.commit > before)
			break;
		st_code_eq(st_work_apply(&w, s), COORD_OK);
		ck_assert_uint_lt(w.step, 500);
	}
	commit = w.hs.commit;
	st_code_eq(st_work_apply_fsm(&w, s, commit), COORD_OK);
	ck_assert_uint_eq(st_fsm_applied(s), commit);
	store_close(s);
	s = st_open(dir, &o, &rs);
	ck_assert_uint_eq(rs.raft.hard_state.commit, before);
	ck_assert(st_work_matches(&w, &rs) == false);
	st_work_rewind(&w, 5, w.step - 1);
	ck_assert(st_work_matches(&w, &rs));
	ck_assert_str_eq(st_work_check(&w, s, &rs, w.step),
			 "fsm applied index out of range");
	ck_assert_ptr_null(st_work_check_ahead(&w, s, &rs, w.step, commit));
	ck_assert_uint_eq(st_fsm_applied(s), commit);
	store_restore_close(&rs);
	store_close(s);
	st_work_close(&w);
	st_dir_free(dir);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Killing an install. */

#define INSTALL_KEYS 300

/* The keyspace of version v: keys s0000.. with values that depend on v
 * (and a few keys only some versions have). */
static size_t version_record(uint64_t v, int i, char *key, char *val)
{
	size_t n = (size_t)((v * 7 + (uint64_t)i * 13) % 90);

	sprintf(key, "s%04d", i);
	for (size_t j = 0; j < n; j++)
		val[j] = (char)('a' + (v + j) % 26);
	return n;
}

static bool version_has(uint64_t v, int i)
{
	return (i + v) % 5 != 0;
}

/* Builds chunk seq of version v's stream (about 4 KiB each). */
static size_t version_chunk(uint64_t v, uint32_t seq, uint8_t *out,
			    int *next)
{
	size_t len = STORE_SNAPSHOT_CHUNK_HEADER;
	uint32_t n = 0;

	while (*next < INSTALL_KEYS && len < 4000) {
		char key[16], val[100];
		size_t vl;

		if (!version_has(v, *next)) {
			(*next)++;
			continue;
		}
		vl = version_record(v, *next, key, val);
		store_put_be32(out + len, 5);
		store_put_be32(out + len + 4, (uint32_t)vl);
		memcpy(out + len + 8, key, 5);
		memcpy(out + len + 13, val, vl);
		len += 13 + vl;
		n++;
		(*next)++;
	}
	memcpy(out, "CSNK", 4);
	out[4] = 1;
	out[5] = *next >= INSTALL_KEYS ? 1 : 0;
	out[6] = out[7] = 0;
	store_put_be32(out + 8, seq);
	store_put_be32(out + 12, n);
	store_put_be64(out + 16, v * 10);
	store_put_be64(out + 24, 1);
	return st_chunk_seal(out, len);
}

static struct raft_snapshot_meta version_meta(uint64_t v)
{
	struct raft_snapshot_meta m;

	memset(&m, 0, sizeof(m));
	m.index = v * 10;
	m.term = 1;
	m.conf.n_voters = 1;
	m.conf.voters[0] = 1;
	return m;
}

static void __attribute__((noreturn))
install_child(const char *dir, uint64_t from, int fd)
{
	struct store_options o;
	struct store_restore rs;
	struct store *s;
	static uint8_t chunk[8192];

	report(fd, REPORT_STARTED);
	st_options(&o, NULL);
	if (store_open(dir, &o, &s, &rs) != COORD_OK)
		_exit(2);
	store_restore_close(&rs);
	for (uint64_t v = from + 1; v < from + 1000; v++) {
		struct store_snapshot_install *in;
		struct raft_snapshot_meta m = version_meta(v);
		int next = 0;
		uint32_t seq = 0;

		if (store_snapshot_install_begin(s, &in) != COORD_OK)
			_exit(3);
		while (next < INSTALL_KEYS) {
			size_t len = version_chunk(v, seq++, chunk, &next);

			if (store_snapshot_install_add_chunk(in, chunk, len) !=
			    COORD_OK)
				_exit(4);
		}
		if (store_snapshot_install_commit(in, &m) != COORD_OK)
			_exit(5);
		report(fd, v);
	}
	for (;;)
		pause();
}

/* Is the keyspace exactly version v's, with no staging left? */
static bool keyspace_is(struct store *s, uint64_t v)
{
	struct fsm_backend *b = store_fsm_backend(s);
	struct fsm_backend_iter *it;
	uint8_t all[1] = { STORE_TAG_FSM }, live[STORE_FSM_PREFIX_LEN];
	int i = 0;
	bool ok = true;

	store_fsm_prefix(live, s->gen);
	if (st_raw_count_prefix(s->db, all, 1) !=
	    st_raw_count_prefix(s->db, live, sizeof(live)))
		return false;
	st_code_eq(b->ops->iter_new(b, NULL, &it), COORD_OK);
	for (b->ops->iter_seek(it, (const uint8_t *)"", 0);
	     ok && b->ops->iter_valid(it); b->ops->iter_next(it)) {
		size_t kl, vl, wl;
		const uint8_t *k = b->ops->iter_key(it, &kl);
		const uint8_t *val = b->ops->iter_value(it, &vl);
		char key[16], want[100];

		while (i < INSTALL_KEYS && !version_has(v, i))
			i++;
		if (i == INSTALL_KEYS) {
			ok = false;
			break;
		}
		wl = version_record(v, i, key, want);
		ok = kl == 5 && memcmp(k, key, 5) == 0 && vl == wl &&
		     (vl == 0 || memcmp(val, want, vl) == 0);
		i++;
	}
	st_code_eq(b->ops->iter_status(it), COORD_OK);
	b->ops->iter_free(it);
	while (ok && i < INSTALL_KEYS && !version_has(v, i))
		i++;
	return ok && i == INSTALL_KEYS;
}

START_TEST(killed_install_leaves_old_or_new_state)
{
	char *dir = st_dir_new();
	uint64_t x = 0x853c49e6748fea9bull + crash_seed(0), from = 0;
	size_t garbage = 0;

	for (int round = 0; round < INSTALL_KILLS; round++) {
		struct store_options o;
		struct store_restore rs;
		struct store *s;
		uint64_t reported, v;
		int p[2];
		pid_t pid;
		int rv;

		ck_assert_int_eq(pipe(p), 0);
		pid = child_start("install", dir, 0, from, p);
		reported = kill_later(pid, p[0], round, &x, from);
		close(p[0]);
		st_options(&o, NULL);
		rv = store_open(dir, &o, &s, &rs);
		ck_assert_msg(rv == COORD_OK, "round %d: reopen: %s: %s", round,
			      coord_error_name(rv), rs.errmsg);
		garbage += rs.garbage_records > 0;
		v = store_snapshot_meta(s)->index / 10;
		ck_assert_msg(v == reported || v == reported + 1,
			      "round %d: version %llu installed, %llu reported",
			      round, (unsigned long long)v,
			      (unsigned long long)reported);
		ck_assert_uint_eq(store_snapshot_meta(s)->index, v * 10);
		ck_assert_uint_eq(store_applied_index(s), v * 10);
		if (v > 0)
			ck_assert_msg(keyspace_is(s, v),
				      "round %d: keyspace is not version %llu",
				      round, (unsigned long long)v);
		from = v;
		store_restore_close(&rs);
		store_close(s);
	}
	ck_assert_uint_gt(from, 0);
	if (getenv("ST_VERBOSE") != NULL)
		fprintf(stderr, "killed_install kills=%d installs=%llu "
			"staging_removed=%zu\n", INSTALL_KILLS,
			(unsigned long long)from, garbage);
	st_dir_free(dir);
}
END_TEST

int store_crash_child_main(int argc, char **argv)
{
	uint64_t seed, from;
	int fd;

	if (argc != 5)
		return 2;
	seed = strtoull(argv[2], NULL, 10);
	from = strtoull(argv[3], NULL, 10);
	fd = atoi(argv[4]);
	if (strcmp(argv[0], "log") == 0)
		log_child(argv[1], seed, from, fd);
	if (strcmp(argv[0], "install") == 0)
		install_child(argv[1], from, fd);
	return 2;
}

Suite *store_crash_suite(void)
{
	Suite *s = suite_create("store_crash");

	ST_ADD_LOOP(s, killed_writer_loses_no_synced_batch, 0, 4);
	ST_ADD(s, crash_in_applies_of_a_commit_only_step);
	ST_ADD(s, killed_install_leaves_old_or_new_state);
	return s;
}
