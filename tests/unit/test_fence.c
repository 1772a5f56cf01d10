/*
 * tests/unit/test_fence.c: the Check tests of libcoordfence
 * (fencing/coordfence.h): the admit rule, persistence, durability under
 * kill -9, threads racing admits, bad input, damaged logs and the lock
 * against a second process. Prints TAP; narrow with CK_RUN_SUITE=fence
 * CK_RUN_CASE=<test name>. Each test works in a mktemp dir under $TMPDIR
 * (default /tmp), removed at its end.
 *
 * The crash test's children exec this program afresh (--crash-child),
 * as tests/unit/test_store_crash.c does, so that each child is a fresh
 * process opening the store, as a restarted resource server would.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fencing/coordfence.h"
#include "proto/exit.h"

/* Kills per seed of the crash test, and the longest a child lives
 * before its kill, in microseconds. */
#define CRASH_KILLS 40
#define CRASH_DELAY_MAX_US 60000
#define CRASH_RESOURCES 4
/* Long names (a record is about 1 KiB): the log is rewritten every dozen
 * admits or so, so kills land in rewrites too. */
#define CRASH_NAME_LEN 1000
#define RACE_THREADS 4
#define RACE_ADMITS 3000

static char *dir_new(void)
{
	const char *tmp = getenv("TMPDIR");
	char *dir;

	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	dir = malloc(strlen(tmp) + 32);
	ck_assert_ptr_nonnull(dir);
	sprintf(dir, "%s/coord-fence-XXXXXX", tmp);
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
	return dir;
}

/* Removes the store's files and dir and frees the name. */
static void dir_free(char *dir)
{
	static const char *const names[] = {"LOCK", "FENCE", "FENCE.tmp"};
	char p[4096];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		unlink(p);
	}
	rmdir(dir);
	free(dir);
}

static struct coordfence *open_ok(const char *dir,
				  const struct coordfence_options *o)
{
	struct coordfence *f = NULL;
	char err[256];
	int rv = coordfence_open(dir, o, &f, err, sizeof(err));

	ck_assert_msg(rv == COORDFENCE_OK, "open %s: %s (%s)", dir,
		      coordfence_strerror(rv), err);
	return f;
}

static int admit(struct coordfence *f, const char *res, uint64_t token)
{
	return coordfence_admit(f, res, strlen(res), token);
}

static uint64_t highest(struct coordfence *f, const char *res)
{
	uint64_t t = 0;

	ck_assert_int_eq(coordfence_highest(f, res, strlen(res), &t),
			 COORDFENCE_OK);
	return t;
}

static char *fence_path(const char *dir)
{
	static char p[4096];

	snprintf(p, sizeof(p), "%s/FENCE", dir);
	return p;
}

static off_t file_size(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_size;
}

/* Opens dir, admits token for res, closes, and checks after a reopen
 * that res is at token. */
static void admit_and_reopen(const char *dir, const char *res,
			     uint64_t token)
{
	struct coordfence *f = open_ok(dir, NULL);

	ck_assert_int_eq(admit(f, res, token), COORDFENCE_OK);
	coordfence_close(f);
	f = open_ok(dir, NULL);
	ck_assert_uint_eq(highest(f, res), token);
	coordfence_close(f);
}

START_TEST(admits_equal_and_greater_tokens)
{
	char *dir = dir_new();
	struct coordfence *f = open_ok(dir, NULL);
	uint64_t t = 0;

	ck_assert_int_eq(coordfence_highest(f, "db", 2, &t),
			 COORDFENCE_ENOTFOUND);
	ck_assert_int_eq(admit(f, "db", 5), COORDFENCE_OK);
	ck_assert_uint_eq(highest(f, "db"), 5);
	ck_assert_int_eq(admit(f, "db", 5), COORDFENCE_OK);
	ck_assert_int_eq(admit(f, "db", 7), COORDFENCE_OK);
	ck_assert_uint_eq(highest(f, "db"), 7);
	ck_assert_int_eq(admit(f, "db", UINT64_MAX), COORDFENCE_OK);
	ck_assert_uint_eq(highest(f, "db"), UINT64_MAX);
	coordfence_close(f);
	dir_free(dir);
}
END_TEST

START_TEST(rejects_smaller_token)
{
	char *dir = dir_new();
	struct coordfence *f = open_ok(dir, NULL);
	off_t before;

	ck_assert_int_eq(admit(f, "db", 7), COORDFENCE_OK);
	before = file_size(fence_path(dir));
	ck_assert_int_eq(admit(f, "db", 6), COORDFENCE_ESTALE);
	ck_assert_int_eq(admit(f, "db", 1), COORDFENCE_ESTALE);
	ck_assert_uint_eq(highest(f, "db"), 7);
	/* A refused (or an equal) token writes nothing. */
	ck_assert_int_eq(admit(f, "db", 7), COORDFENCE_OK);
	ck_assert_int_eq(file_size(fence_path(dir)), before);
	/* The code is coord's COORD_EFENCED. */
	ck_assert_int_eq(COORDFENCE_ESTALE, 7);
	coordfence_close(f);
	dir_free(dir);
}
END_TEST

START_TEST(resources_are_independent)
{
	char *dir = dir_new();
	struct coordfence *f = open_ok(dir, NULL);
	/* Names differing only in a last byte or a length, and bytes that
	 * are not text. */
	const char bin1[3] = {'a', '\0', 'b'}, bin2[3] = {'a', '\0', 'c'};

	ck_assert_int_eq(admit(f, "a", 100), COORDFENCE_OK);
	ck_assert_int_eq(admit(f, "b", 3), COORDFENCE_OK);
	ck_assert_int_eq(admit(f, "ab", 2), COORDFENCE_OK);
	ck_assert_int_eq(coordfence_admit(f, bin1, 3, 9), COORDFENCE_OK);
	ck_assert_int_eq(coordfence_admit(f, bin2, 3, 1), COORDFENCE_OK);
	ck_assert_int_eq(admit(f, "b", 4), COORDFENCE_OK);
	ck_assert_int_eq(admit(f, "a", 99), COORDFENCE_ESTALE);
	ck_assert_int_eq(coordfence_admit(f, bin2, 3, 2), COORDFENCE_OK);
	ck_assert_int_eq(coordfence_admit(f, bin1, 3, 8), COORDFENCE_ESTALE);
	ck_assert_uint_eq(highest(f, "a"), 100);
	ck_assert_uint_eq(highest(f, "b"), 4);
	ck_assert_uint_eq(highest(f, "ab"), 2);
	ck_assert_uint_eq(coordfence_count(f), 5);
	coordfence_close(f);
	dir_free(dir);
}
END_TEST

/* A store in a directory that does not exist yet: created (a trailing
 * slash is fine), and it holds its tokens across reopen. */
START_TEST(open_creates_the_directory)
{
	char *dir = dir_new(), sub[4096];

	snprintf(sub, sizeof(sub), "%s/store/", dir);
	admit_and_reopen(sub, "db", 3);
	snprintf(sub, sizeof(sub), "%s/store", dir);
	dir_free(strdup(sub));
	dir_free(dir);
}
END_TEST

/* Many resources (the table grows) and many raises (the log is
 * rewritten several times): all of it comes back, and reopening twice
 * changes nothing. */
START_TEST(tokens_persist_across_reopen)
{
	char *dir = dir_new();
	struct coordfence *f = open_ok(dir, NULL);
	char name[32];

	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "res-%d", i);
		ck_assert_int_eq(admit(f, name, (uint64_t)i + 1), COORDFENCE_OK);
	}
	for (uint64_t t = 2; t < 1000; t++)
		ck_assert_int_eq(admit(f, "hot", t), COORDFENCE_OK);
	/* Rewritten: far smaller than the 1000 records appended. */
	ck_assert_int_lt(file_size(fence_path(dir)), 1000 * 17 / 2);
	coordfence_close(f);
	for (int round = 0; round < 2; round++) {
		f = open_ok(dir, NULL);
		ck_assert_uint_eq(coordfence_count(f), 41);
		for (int i = 0; i < 40; i++) {
			snprintf(name, sizeof(name), "res-%d", i);
			ck_assert_uint_eq(highest(f, name), (uint64_t)i + 1);
		}
		ck_assert_uint_eq(highest(f, "hot"), 999);
		ck_assert_int_eq(admit(f, "hot", 998), COORDFENCE_ESTALE);
		coordfence_close(f);
	}
	dir_free(dir);
}
END_TEST

static void report(int fd, uint64_t kind, uint64_t res, uint64_t token)
{
	uint64_t v[3] = {kind, res, token};
	const char *p = (const char *)v;
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

/* Resource r of the crash test: "r<digit>" and x's up to CRASH_NAME_LEN. */
static const char *crash_name(int r)
{
	static char name[CRASH_NAME_LEN + 1];

	memset(name, 'x', CRASH_NAME_LEN);
	name[CRASH_NAME_LEN] = '\0';
	name[0] = 'r';
	name[1] = (char)('0' + r);
	return name;
}

static uint64_t prng(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/*
 * The child of the crash test: opens the store and raises the tokens of
 * CRASH_RESOURCES resources by random steps, reporting (2, 0, 0) once
 * open, then (0, r, t) before each admit and (1, r, t) once it returned
 * 0, until it is killed.
 */
static int crash_child_main(int argc, char **argv)
{
	struct coordfence *f = NULL;
	uint64_t x, cur[CRASH_RESOURCES];
	int fd;

	if (argc != 3)
		return 2;
	x = strtoull(argv[1], NULL, 10) | 1;
	fd = atoi(argv[2]);
	if (coordfence_open(argv[0], NULL, &f, NULL, 0) != COORDFENCE_OK)
		return 3;
	report(fd, 2, 0, 0); /* opened */
	for (int r = 0; r < CRASH_RESOURCES; r++) {
		const char *name = crash_name(r);

		cur[r] = 0;
		coordfence_highest(f, name, strlen(name), &cur[r]);
	}
	for (;;) {
		int r = (int)(prng(&x) % CRASH_RESOURCES);
		const char *name = crash_name(r);

		cur[r] += 1 + prng(&x) % 3;
		report(fd, 0, (uint64_t)r, cur[r]);
		if (coordfence_admit(f, name, strlen(name), cur[r]) !=
		    COORDFENCE_OK)
			return 4;
		report(fd, 1, (uint64_t)r, cur[r]);
	}
}

/*
 * Every token a killed child reported admitted is in the store after
 * reopen, and the store holds no token the child had not tried: for
 * each resource, highest is between the last admitted and the last
 * tried. Kills land anywhere: in open, in a write, in a log rewrite.
 */
START_TEST(killed_admitter_loses_no_token)
{
	char *dir = dir_new();
	uint64_t x = 0x9e3779b97f4a7c15ull + (uint64_t)_i, admitted_n = 0;

	for (int round = 0; round < CRASH_KILLS; round++) {
		uint64_t admitted[CRASH_RESOURCES] = {0};
		uint64_t tried[CRASH_RESOURCES] = {0};
		uint64_t v[3];
		struct coordfence *f;
		char s_seed[32], s_fd[16];
		int p[2], status;
		pid_t pid;
		ssize_t r;

		f = open_ok(dir, NULL);
		for (int i = 0; i < CRASH_RESOURCES; i++) {
			const char *name = crash_name(i);

			coordfence_highest(f, name, strlen(name), &admitted[i]);
			tried[i] = admitted[i];
		}
		coordfence_close(f);
		ck_assert_int_eq(pipe(p), 0);
		snprintf(s_seed, sizeof(s_seed), "%llu",
			 (unsigned long long)prng(&x));
		snprintf(s_fd, sizeof(s_fd), "%d", p[1]);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			close(p[0]);
			execl("/proc/self/exe", "test_fence", "--crash-child",
			      dir, s_seed, s_fd, (char *)NULL);
			_exit(127);
		}
		close(p[1]);
		/* One round in four, the kill is timed from the start and
		 * may land in exec or open (a sanitized exec on a busy
		 * machine can take longer than the delay); the others wait
		 * for the child's "opened" first, so that it admits. */
		if (round % 4 != 0) {
			r = read(p[0], v, sizeof(v));
			ck_assert_msg(r == (ssize_t)sizeof(v) && v[0] == 2,
				      "round %d: the child did not open", round);
		}
		usleep((useconds_t)(prng(&x) % CRASH_DELAY_MAX_US));
		kill(pid, SIGKILL);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
			      "round %d: the child failed on its own: exit %d",
			      round, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		while ((r = read(p[0], v, sizeof(v))) == (ssize_t)sizeof(v)) {
			ck_assert_uint_lt(v[1], CRASH_RESOURCES);
			if (v[0] == 2) {
				continue;
			} else if (v[0] == 0) {
				tried[v[1]] = v[2];
			} else {
				admitted[v[1]] = v[2];
				admitted_n++;
			}
		}
		close(p[0]);
		f = open_ok(dir, NULL);
		for (int i = 0; i < CRASH_RESOURCES; i++) {
			const char *name = crash_name(i);
			uint64_t h = 0;

			coordfence_highest(f, name, strlen(name), &h);
			ck_assert_msg(h >= admitted[i] && h <= tried[i],
				      "round %d: r%d at %llu, admitted %llu, "
				      "tried %llu",
				      round, i, (unsigned long long)h,
				      (unsigned long long)admitted[i],
				      (unsigned long long)tried[i]);
		}
		coordfence_close(f);
	}
	/* The children got somewhere. */
	ck_assert_uint_gt(admitted_n, 0);
	if (getenv("FENCE_VERBOSE") != NULL)
		fprintf(stderr, "killed_admitter kills=%d admitted=%llu\n",
			CRASH_KILLS, (unsigned long long)admitted_n);
	dir_free(dir);
}
END_TEST

struct race {
	struct coordfence *f;
	atomic_uint_fast64_t acked; /* the highest token acked so far */
	atomic_uint seed;
	atomic_int bad;
};

static void *race_thread(void *arg)
{
	struct race *rc = arg;
	uint64_t x = 0x2545f4914f6cdd1dull * (atomic_fetch_add(&rc->seed, 1) + 1);

	for (int i = 0; i < RACE_ADMITS; i++) {
		uint64_t t = 1 + prng(&x) % (RACE_ADMITS * 4);
		uint64_t before = atomic_load(&rc->acked), m;
		int rv = coordfence_admit(rc->f, "db", 2, t);

		/* A token lower than one acked before this admit began was
		 * admitted: a lower token after a higher one. */
		if (rv == COORDFENCE_OK && t < before)
			atomic_fetch_add(&rc->bad, 1);
		if (rv != COORDFENCE_OK && rv != COORDFENCE_ESTALE)
			atomic_fetch_add(&rc->bad, 1000);
		if (rv != COORDFENCE_OK)
			continue;
		m = atomic_load(&rc->acked);
		while (m < t && !atomic_compare_exchange_weak(&rc->acked, &m, t))
			;
	}
	return NULL;
}

START_TEST(racing_threads_never_admit_lower_after_higher)
{
	char *dir = dir_new();
	struct race rc = {.f = open_ok(dir, NULL)};
	pthread_t th[RACE_THREADS];
	uint64_t top;

	atomic_init(&rc.acked, 0);
	atomic_init(&rc.bad, 0);
	atomic_init(&rc.seed, 1);
	for (int i = 0; i < RACE_THREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, race_thread, &rc),
				 0);
	for (int i = 0; i < RACE_THREADS; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(atomic_load(&rc.bad), 0);
	/* The highest wins, in memory and on disk. */
	top = atomic_load(&rc.acked);
	ck_assert_uint_eq(highest(rc.f, "db"), top);
	coordfence_close(rc.f);
	rc.f = open_ok(dir, NULL);
	ck_assert_uint_eq(highest(rc.f, "db"), top);
	coordfence_close(rc.f);
	dir_free(dir);
}
END_TEST

START_TEST(bad_input_changes_nothing)
{
	char *dir = dir_new();
	struct coordfence_options o;
	struct coordfence *f, *g = (struct coordfence *)&o;
	static char big[COORDFENCE_RESOURCE_MAX + 1];
	char err[128];
	uint64_t t = 0;
	off_t before;

	ck_assert_int_eq(coordfence_open(NULL, NULL, &g, err, sizeof(err)),
			 COORDFENCE_EINVAL);
	ck_assert_ptr_null(g);
	ck_assert_int_eq(coordfence_open(dir, NULL, NULL, NULL, 0),
			 COORDFENCE_EINVAL);
	coordfence_options_init(&o);
	ck_assert_uint_eq(o.resources_max, COORDFENCE_RESOURCES_MAX_DEFAULT);
	o.resources_max = 2;
	f = open_ok(dir, &o);
	ck_assert_int_eq(admit(f, "a", 5), COORDFENCE_OK);
	before = file_size(fence_path(dir));
	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(coordfence_admit(NULL, "a", 1, 6), COORDFENCE_EINVAL);
	ck_assert_int_eq(coordfence_admit(f, NULL, 1, 6), COORDFENCE_EINVAL);
	ck_assert_int_eq(coordfence_admit(f, "a", 0, 6), COORDFENCE_EINVAL);
	ck_assert_int_eq(admit(f, "a", 0), COORDFENCE_EINVAL);
	ck_assert_int_eq(coordfence_admit(f, big, sizeof(big), 6),
			 COORDFENCE_EINVAL);
	ck_assert_int_eq(coordfence_highest(f, big, sizeof(big), &t),
			 COORDFENCE_EINVAL);
	ck_assert_int_eq(coordfence_highest(f, "a", 1, NULL), COORDFENCE_EINVAL);
	ck_assert_int_eq(file_size(fence_path(dir)), before);
	ck_assert_uint_eq(highest(f, "a"), 5);
	ck_assert_uint_eq(coordfence_count(f), 1);
	/* The longest name is fine. */
	ck_assert_int_eq(coordfence_admit(f, big, COORDFENCE_RESOURCE_MAX, 1),
			 COORDFENCE_OK);
	/* resources_max: a new name is refused, known ones still go. */
	ck_assert_int_eq(admit(f, "c", 1), COORDFENCE_EFULL);
	coordfence_errmsg(f, err, sizeof(err));
	ck_assert_msg(strstr(err, "resources_max=2") != NULL, "%s", err);
	ck_assert_int_eq(admit(f, "a", 6), COORDFENCE_OK);
	ck_assert_uint_eq(coordfence_count(f), 2);
	ck_assert_int_eq(coordfence_highest(f, "c", 1, &t),
			 COORDFENCE_ENOTFOUND);
	coordfence_close(f);
	coordfence_close(NULL);
	ck_assert_uint_eq(coordfence_count(NULL), 0);
	coordfence_errmsg(NULL, err, sizeof(err));
	ck_assert_str_eq(err, "");
	ck_assert_str_eq(coordfence_strerror(COORDFENCE_ESTALE),
			 "stale token: a newer one was admitted");
	ck_assert_str_eq(coordfence_strerror(12345), "unknown error");
	dir_free(dir);
}
END_TEST

static void append_bytes(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_APPEND);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, p, n), (ssize_t)n);
	close(fd);
}

/* A torn last record (a part of one, a whole one with a bad checksum,
 * zeroes) is dropped at open, and the store goes on after it. */
START_TEST(torn_last_record_is_dropped)
{
	static const unsigned char part[5] = {1, 2, 3, 4, 5};
	unsigned char zeroes[40] = {0}, whole[16];
	char *dir = dir_new();
	struct coordfence *f = open_ok(dir, NULL);
	off_t good;

	ck_assert_int_eq(admit(f, "db", 5), COORDFENCE_OK);
	ck_assert_int_eq(admit(f, "db", 6), COORDFENCE_OK);
	coordfence_close(f);
	good = file_size(fence_path(dir));
	/* A whole record of "db" token 9, its checksum wrong. */
	memset(whole, 0, sizeof(whole));
	whole[4] = 2;
	whole[6] = 9;
	whole[14] = 'd';
	whole[15] = 'b';
	for (int k = 0; k < 3; k++) {
		if (k == 0)
			append_bytes(fence_path(dir), part, sizeof(part));
		else if (k == 1)
			append_bytes(fence_path(dir), whole, sizeof(whole));
		else
			append_bytes(fence_path(dir), zeroes, sizeof(zeroes));
		f = open_ok(dir, NULL);
		ck_assert_int_eq(file_size(fence_path(dir)), good);
		ck_assert_uint_eq(highest(f, "db"), 6);
		coordfence_close(f);
	}
	admit_and_reopen(dir, "db", 7);
	dir_free(dir);
}
END_TEST

/* Damage before the last record, or a log that is not one, is
 * COORDFENCE_ECORRUPT: tokens may have been lost, so no admit. */
START_TEST(damaged_log_is_refused)
{
	char *dir = dir_new();
	struct coordfence *f = open_ok(dir, NULL), *g = NULL;
	char err[256];
	int fd;

	ck_assert_int_eq(admit(f, "db", 5), COORDFENCE_OK);
	ck_assert_int_eq(admit(f, "db", 6), COORDFENCE_OK);
	coordfence_close(f);
	/* The first record's token byte (offset 8 + 6). */
	fd = open(fence_path(dir), O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, "\x55", 1, 14), 1);
	ck_assert_int_eq(coordfence_open(dir, NULL, &g, err, sizeof(err)),
			 COORDFENCE_ECORRUPT);
	ck_assert_ptr_null(g);
	ck_assert_msg(strstr(err, "bad record at offset 8") != NULL, "%s", err);
	/* Not a fence log at all. */
	ck_assert_int_eq(pwrite(fd, "XFENCE1\n", 8, 0), 8);
	close(fd);
	ck_assert_int_eq(coordfence_open(dir, NULL, &g, err, sizeof(err)),
			 COORDFENCE_ECORRUPT);
	ck_assert_msg(strstr(err, "no magic") != NULL, "%s", err);
	dir_free(dir);
}
END_TEST

/* A write that fails (here: the file size limit, a partial write and
 * then EFBIG) is COORDFENCE_EIO, and the handle refuses every admit
 * after it; reopened, the store has every token admitted before, drops
 * the torn part and goes on. */
START_TEST(failed_write_breaks_the_handle)
{
	char *dir = dir_new();
	struct coordfence *f = open_ok(dir, NULL);
	struct rlimit old, lim;
	char err[256];

	ck_assert_int_eq(admit(f, "db", 5), COORDFENCE_OK);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)file_size(fence_path(dir)) + 5;
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	ck_assert_int_eq(admit(f, "db", 6), COORDFENCE_EIO);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	coordfence_errmsg(f, err, sizeof(err));
	ck_assert_msg(strstr(err, "append to FENCE") != NULL, "%s", err);
	/* Broken: even with room again, and for other names. */
	ck_assert_int_eq(admit(f, "db", 7), COORDFENCE_EIO);
	ck_assert_int_eq(admit(f, "other", 1), COORDFENCE_EIO);
	ck_assert_uint_eq(highest(f, "db"), 5);
	coordfence_close(f);
	f = open_ok(dir, NULL);
	ck_assert_uint_eq(highest(f, "db"), 5);
	coordfence_close(f);
	admit_and_reopen(dir, "db", 6);
	dir_free(dir);
}
END_TEST

/* The exit code of a forked process that opens dir: 0 when the open
 * returns want (and, when that is COORDFENCE_OK, "db" is at token 5). */
static int open_in_child(const char *dir, int want)
{
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct coordfence *g = NULL;
		int rv = coordfence_open(dir, NULL, &g, NULL, 0);
		uint64_t t = 0;

		if (rv == COORDFENCE_OK)
			coordfence_highest(g, "db", 2, &t);
		coord_exit_now(rv == want && (rv != COORDFENCE_OK || t == 5)
				       ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* While a handle has the store, a second open -- in this process or in
 * another -- is COORDFENCE_ELOCKED; after close, it opens. */
START_TEST(second_process_is_refused)
{
	char *dir = dir_new();
	struct coordfence *f = open_ok(dir, NULL), *g = NULL;
	char err[256];

	ck_assert_int_eq(admit(f, "db", 5), COORDFENCE_OK);
	ck_assert_int_eq(coordfence_open(dir, NULL, &g, err, sizeof(err)),
			 COORDFENCE_ELOCKED);
	ck_assert_ptr_null(g);
	ck_assert_msg(strstr(err, "open elsewhere") != NULL, "%s", err);
	ck_assert_msg(open_in_child(dir, COORDFENCE_ELOCKED) == 0,
		      "the second process was not refused");
	coordfence_close(f);
	ck_assert_msg(open_in_child(dir, COORDFENCE_OK) == 0,
		      "after close, another process could not open");
	dir_free(dir);
}
END_TEST

/* coordfence_open(dir) must fail with want, *out NULL, and a message
 * holding each of the strings of want_msg (NULL-terminated). */
static void open_fails(const char *dir, int want, const char *const *want_msg)
{
	struct coordfence *g = (struct coordfence *)&g;
	char err[512];
	int rv = coordfence_open(dir, NULL, &g, err, sizeof(err));

	ck_assert_msg(rv == want, "open %s: %s (%s), want %s", dir,
		      coordfence_strerror(rv), err, coordfence_strerror(want));
	ck_assert_ptr_null(g);
	for (; *want_msg != NULL; want_msg++)
		ck_assert_msg(strstr(err, *want_msg) != NULL,
			      "open %s: \"%s\" lacks \"%s\"", dir, err,
			      *want_msg);
}

/* What is in the way of a store -- a missing parent, a file where the
 * directory goes, a directory where LOCK or FENCE goes -- is
 * COORDFENCE_EIO naming the path and the system's reason, and open
 * creates or changes nothing; with the obstacle gone, it opens. */
START_TEST(open_refuses_what_is_in_the_way)
{
	char *dir = dir_new(), p[4096], q[4096];
	int fd;

	snprintf(p, sizeof(p), "%s/no/such/store", dir);
	open_fails(p, COORDFENCE_EIO, (const char *const[]){
		"mkdir", p, strerror(ENOENT), NULL});
	snprintf(q, sizeof(q), "%s/no", dir);
	ck_assert_int_ne(access(q, F_OK), 0);
	/* A regular file as the store's directory. */
	snprintf(p, sizeof(p), "%s/file", dir);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0666);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "data", 4), 4);
	close(fd);
	open_fails(p, COORDFENCE_EIO, (const char *const[]){
		"open", p, strerror(ENOTDIR), NULL});
	ck_assert_int_eq(file_size(p), 4);
	ck_assert_int_eq(unlink(p), 0);
	/* A directory as LOCK, then as FENCE. */
	snprintf(p, sizeof(p), "%s/LOCK", dir);
	ck_assert_int_eq(mkdir(p, 0777), 0);
	open_fails(dir, COORDFENCE_EIO, (const char *const[]){
		"LOCK", strerror(EISDIR), NULL});
	ck_assert_int_ne(access(fence_path(dir), F_OK), 0);
	ck_assert_int_eq(rmdir(p), 0);
	ck_assert_int_eq(mkdir(fence_path(dir), 0777), 0);
	open_fails(dir, COORDFENCE_EIO, (const char *const[]){
		"open FENCE", strerror(EISDIR), NULL});
	ck_assert_int_eq(rmdir(fence_path(dir)), 0);
	/* A directory as FENCE.tmp: a new store's empty log cannot be
	 * written, so there is no store. */
	snprintf(p, sizeof(p), "%s/FENCE.tmp", dir);
	ck_assert_int_eq(mkdir(p, 0777), 0);
	open_fails(dir, COORDFENCE_EIO, (const char *const[]){
		"log rewrite", "FENCE.tmp", strerror(EISDIR), NULL});
	ck_assert_int_ne(access(fence_path(dir), F_OK), 0);
	ck_assert_int_eq(rmdir(p), 0);
	admit_and_reopen(dir, "db", 1);
	dir_free(dir);
}
END_TEST

/* A store named without a directory part ("fences") lives in the
 * working directory, whose entry is synced like any parent's. */
START_TEST(store_in_the_working_directory)
{
	char *dir = dir_new(), cwd[4096], p[4096];

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir(dir), 0);
	admit_and_reopen("fences", "db", 4);
	ck_assert_int_eq(chdir(cwd), 0);
	snprintf(p, sizeof(p), "%s/fences", dir);
	{
		struct coordfence *f = open_ok(p, NULL);

		ck_assert_uint_eq(highest(f, "db"), 4);
		coordfence_close(f);
	}
	dir_free(strdup(p));
	dir_free(dir);
}
END_TEST

/* A rewrite of the log that cannot be done (FENCE.tmp is in the way)
 * fails no admit: each token is on disk in the old log already. The
 * message says why; after a reopen every token is there, and with the
 * obstacle gone the log is rewritten again. */
START_TEST(failed_rewrite_keeps_the_old_log)
{
	char *dir = dir_new(), tmp[4096], err[256];
	struct coordfence *f = open_ok(dir, NULL);
	uint64_t t;
	off_t size;

	snprintf(tmp, sizeof(tmp), "%s/FENCE.tmp", dir);
	ck_assert_int_eq(mkdir(tmp, 0777), 0);
	/* One live record of 16 bytes: past 2 x 16 + 4096 bytes of log, a
	 * rewrite is due at every admit. */
	for (t = 1; t <= 300; t++)
		ck_assert_int_eq(admit(f, "db", t), COORDFENCE_OK);
	coordfence_errmsg(f, err, sizeof(err));
	ck_assert_msg(strstr(err, "log rewrite") != NULL &&
		      strstr(err, strerror(EISDIR)) != NULL, "%s", err);
	size = file_size(fence_path(dir));
	ck_assert_int_eq(size, 8 + 300 * 16);
	coordfence_close(f);
	f = open_ok(dir, NULL);
	ck_assert_uint_eq(highest(f, "db"), 300);
	ck_assert_int_eq(rmdir(tmp), 0);
	ck_assert_int_eq(admit(f, "db", 301), COORDFENCE_OK);
	ck_assert_int_lt(file_size(fence_path(dir)), size);
	coordfence_close(f);
	f = open_ok(dir, NULL);
	ck_assert_uint_eq(highest(f, "db"), 301);
	coordfence_close(f);
	dir_free(dir);
}
END_TEST

/* A log whose records do not raise their resource's token (here: one
 * record twice, each with a good checksum) was not written by this
 * library: COORDFENCE_ECORRUPT naming the offset. */
START_TEST(record_that_does_not_raise_is_refused)
{
	char *dir = dir_new();
	unsigned char rec[16];
	int fd;

	admit_and_reopen(dir, "db", 5);
	ck_assert_int_eq(file_size(fence_path(dir)), 8 + 16);
	fd = open(fence_path(dir), O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, rec, sizeof(rec), 8), (ssize_t)sizeof(rec));
	close(fd);
	append_bytes(fence_path(dir), rec, sizeof(rec));
	open_fails(dir, COORDFENCE_ECORRUPT, (const char *const[]){
		"token 5 at offset 24 does not raise", NULL});
	ck_assert_int_eq(file_size(fence_path(dir)), 8 + 32);
	dir_free(dir);
}
END_TEST

/* Every code has a message of its own; others are "unknown error". */
START_TEST(every_code_has_its_message)
{
	static const struct {
		int code;
		const char *msg;
	} codes[] = {
		{COORDFENCE_OK, "success"},
		{COORDFENCE_EINVAL, "invalid argument"},
		{COORDFENCE_ENOMEM, "out of memory"},
		{COORDFENCE_EIO, "fence store I/O error"},
		{COORDFENCE_ECORRUPT, "fence store is corrupt"},
		{COORDFENCE_ESTALE, "stale token: a newer one was admitted"},
		{COORDFENCE_ENOTFOUND, "no token admitted for this resource"},
		{COORDFENCE_ELOCKED,
		 "fence store is open in another process or handle"},
		{COORDFENCE_EFULL, "fence store holds its maximum of resources"},
	};
	size_t n = sizeof(codes) / sizeof(codes[0]);

	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(coordfence_strerror(codes[i].code),
				 codes[i].msg);
	ck_assert_str_eq(coordfence_strerror(-1), "unknown error");
	ck_assert_str_eq(coordfence_strerror(1002), "unknown error");
}
END_TEST

static void add(Suite *s, const char *name, const TTest *t, int timeout)
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, timeout);
	tcase_add_test(tc, t);
	suite_add_tcase(s, tc);
}
#define ADD(s, fn, timeout) add((s), #fn, fn, (timeout))

int main(int argc, char **argv)
{
	Suite *s;
	SRunner *sr;
	TCase *tc;
	int failed;

	if (argc >= 2 && strcmp(argv[1], "--crash-child") == 0)
		return crash_child_main(argc - 2, argv + 2);
	s = suite_create("fence");
	ADD(s, admits_equal_and_greater_tokens, 30);
	ADD(s, rejects_smaller_token, 30);
	ADD(s, resources_are_independent, 30);
	ADD(s, open_creates_the_directory, 30);
	ADD(s, tokens_persist_across_reopen, 120);
	ADD(s, racing_threads_never_admit_lower_after_higher, 120);
	ADD(s, bad_input_changes_nothing, 30);
	ADD(s, torn_last_record_is_dropped, 30);
	ADD(s, damaged_log_is_refused, 30);
	ADD(s, second_process_is_refused, 30);
	ADD(s, failed_write_breaks_the_handle, 30);
	ADD(s, open_refuses_what_is_in_the_way, 30);
	ADD(s, store_in_the_working_directory, 30);
	ADD(s, failed_rewrite_keeps_the_old_log, 60);
	ADD(s, record_that_does_not_raise_is_refused, 30);
	ADD(s, every_code_has_its_message, 30);
	tc = tcase_create("killed_admitter_loses_no_token");
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, killed_admitter_loses_no_token, 0, 2);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_tap(sr, "-");
	srunner_run_all(sr, getenv("CK_VERBOSITY") ? CK_ENV : CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
