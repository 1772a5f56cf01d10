/*
 * tools/bench_store.c: coord-bench store -- the durable store, measured
 * beside the disk it runs on.
 *
 *   coord-bench store [--dir DIR] [--seconds S] [--size BYTES] [--keys N]
 *                     [--write-buffer MiB] [--no-compression]
 *
 * Everything runs in a fresh directory under DIR (default $TMPDIR or
 * /tmp), removed at the end, so the figures are of one disk:
 *
 *   raw        write(4 KiB) + fdatasync() on a file appended to, the
 *              physical limit of a synced log (and the same with the bytes
 *              of one 256-entry batch, for reference).
 *   append     store_ready_persist() of Readys of 1, 16 and 256 entries of
 *              BYTES (default 256) with a hard state, the applied index
 *              set and the log compacted as a server would: entries/s, and
 *              the ratio entries/s / (fdatasync/s x batch).
 *   ratio_interleaved
 *              the batch-256 ratio again, the raw 4 KiB fdatasync and the
 *              store measured in 16 alternating slices over 2 x S seconds,
 *              so that both see the same moments of a shared disk.
 *   fsm        fsm_apply() of PUT commands (32-byte keys, BYTES-byte
 *              values) through the LevelDB fsm backend: puts/s.
 *   rss        in a child process: N (default 1,000,000) keys of 32 bytes
 *              with 256-byte values loaded through the fsm in txns of 100
 *              puts, then 100,000 random point reads; peak RSS (getrusage),
 *              and at the end its anonymous and file-backed parts (LevelDB
 *              mmaps its table files, so pages of the page cache it reads
 *              count as RSS), and the size on disk.
 *
 * One "RESULT bench=store what=... key=value ..." line per measurement.
 */
#include "tools/bench_store.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "coordd/fsm/fsm.h"
#include "coordd/store/store.h"
#include "proto/errors.h"
#include "proto/msg.h"

#define KEY_BYTES 32
#define RSS_VALUE_BYTES 256
#define RSS_TXN_PUTS 100
#define RSS_READS 100000
/* Log compaction in the append runs: every this many entries, down to
 * the last COMPACT_KEEP committed ones. */
#define COMPACT_EVERY 65536
#define COMPACT_KEEP 16384

/* The options of every store the bench opens (--write-buffer). */
static struct store_options bench_opts;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void fill(uint8_t *p, size_t n, uint64_t *x)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)('a' + rnd(x) % 26);
}

static int rm_cb(const char *path, const struct stat *st, int flag,
		 struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static off_t du_cb_total;

static int du_cb(const char *path, const struct stat *st, int flag,
		 struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (flag == FTW_F)
		du_cb_total += st->st_size;
	return 0;
}

static uint64_t du(const char *dir)
{
	du_cb_total = 0;
	nftw(dir, du_cb, 16, FTW_PHYS);
	return (uint64_t)du_cb_total;
}

/* A raw file appended to with write(bytes) + fdatasync(). */
struct raw_file {
	char path[8192];
	uint8_t *buf;
	size_t bytes;
	int fd;
};

static int raw_open(struct raw_file *r, const char *dir, const char *name,
		    size_t bytes)
{
	snprintf(r->path, sizeof(r->path), "%s/%s", dir, name);
	r->bytes = bytes;
	r->buf = malloc(bytes);
	r->fd = open(r->path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (r->fd < 0 || r->buf == NULL) {
		fprintf(stderr, "coord-bench store: %s: %s\n", r->path,
			strerror(errno));
		if (r->fd >= 0)
			close(r->fd);
		free(r->buf);
		return -1;
	}
	memset(r->buf, 'r', bytes);
	return 0;
}

static int raw_sync(struct raw_file *r)
{
	if (write(r->fd, r->buf, r->bytes) != (ssize_t)r->bytes ||
	    fdatasync(r->fd) != 0) {
		fprintf(stderr, "coord-bench store: raw write: %s\n",
			strerror(errno));
		return -1;
	}
	return 0;
}

static void raw_close(struct raw_file *r)
{
	close(r->fd);
	unlink(r->path);
	free(r->buf);
}

/* write(bytes) + fdatasync() on an appended file for `seconds`. */
static double raw_fdatasync(const char *dir, size_t bytes, double seconds)
{
	struct raw_file r;
	double t0, elapsed;
	uint64_t n = 0;

	if (raw_open(&r, dir, "raw", bytes) != 0)
		return -1;
	t0 = now_s();
	do {
		if (raw_sync(&r) != 0) {
			raw_close(&r);
			return -1;
		}
		n++;
		elapsed = now_s() - t0;
	} while (elapsed < seconds);
	raw_close(&r);
	return (double)n / elapsed;
}

static int open_store(const char *dir, const char *name, struct store **s)
{
	char path[8192];
	struct store_restore rs;
	int rv;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	rv = store_open(path, &bench_opts, s, &rs);
	if (rv != COORD_OK)
		fprintf(stderr, "coord-bench store: open %s: %s\n", path,
			rs.errmsg);
	store_restore_close(&rs);
	return rv;
}

/* A store appended to with synced Readys of `batch` entries, applied and
 * compacted as a server would. */
struct appender {
	struct store *s;
	struct raft_entry *ents;
	uint8_t *data;
	struct raft_ready rd;
	struct raft_snapshot_meta meta;
	size_t batch;
	size_t size;
	uint64_t last;
	uint64_t readys;
	uint64_t compact_next;
};

static int appender_open(struct appender *a, const char *dir,
			 const char *name, size_t batch, size_t size)
{
	uint64_t x = 88172645463325252ull;

	memset(a, 0, sizeof(*a));
	a->batch = batch;
	a->size = size;
	a->compact_next = COMPACT_EVERY;
	a->ents = calloc(batch, sizeof(*a->ents));
	a->data = malloc(batch * size);
	if (a->ents == NULL || a->data == NULL ||
	    open_store(dir, name, &a->s) != 0) {
		free(a->ents);
		free(a->data);
		return -1;
	}
	fill(a->data, batch * size, &x);
	a->rd.hard_state_changed = true;
	a->rd.hard_state.term = 1;
	a->rd.hard_state.vote = 1;
	a->rd.entries = a->ents;
	a->rd.n_entries = batch;
	a->meta.term = 1;
	a->meta.conf.n_voters = 1;
	a->meta.conf.voters[0] = 1;
	return 0;
}

static int appender_step(struct appender *a)
{
	for (size_t i = 0; i < a->batch; i++) {
		a->ents[i].index = a->last + 1 + i;
		a->ents[i].term = 1;
		a->ents[i].len = (uint32_t)a->size;
		a->ents[i].data = a->data + i * a->size;
	}
	/* The commit lags a batch, as a follower's would. */
	a->rd.hard_state.commit = a->last;
	if (store_ready_persist(a->s, &a->rd) != COORD_OK) {
		fprintf(stderr, "coord-bench store: persist: %s\n",
			store_errmsg(a->s));
		return -1;
	}
	a->last += a->batch;
	a->readys++;
	/* Apply and compact as a server would, keeping the last
	 * COMPACT_KEEP entries (its cost is part of the figure). */
	if (a->last >= a->compact_next) {
		a->meta.index = a->rd.hard_state.commit - COMPACT_KEEP;
		if (store_applied_set(a->s, a->rd.hard_state.commit) !=
			    COORD_OK ||
		    store_log_compact(a->s, &a->meta) != COORD_OK) {
			fprintf(stderr, "coord-bench store: compact: %s\n",
				store_errmsg(a->s));
			return -1;
		}
		a->compact_next += COMPACT_EVERY;
	}
	return 0;
}

static void appender_close(struct appender *a)
{
	store_close(a->s);
	free(a->ents);
	free(a->data);
}

/* Synced Readys of `batch` entries for `seconds`: entries/s. */
static double bench_append(const char *dir, size_t batch, size_t size,
			   double seconds, double raw_per_sec,
			   double *syncs_per_sec)
{
	struct appender a;
	double t0, elapsed;
	char name[32];

	snprintf(name, sizeof(name), "append-%zu", batch);
	if (appender_open(&a, dir, name, batch, size) != 0)
		return -1;
	t0 = now_s();
	do {
		if (appender_step(&a) != 0) {
			appender_close(&a);
			return -1;
		}
		elapsed = now_s() - t0;
	} while (elapsed < seconds);
	printf("RESULT bench=store what=append batch=%zu entry_bytes=%zu "
	       "compression=%s entries=%" PRIu64 " seconds=%.2f "
	       "entries_per_sec=%.0f syncs_per_sec=%.0f ratio_to_raw=%.3f\n",
	       batch, size, bench_opts.compression ? "on" : "off", a.last,
	       elapsed, (double)a.last / elapsed,
	       (double)a.readys / elapsed,
	       (double)a.last / elapsed / (raw_per_sec * (double)batch));
	if (syncs_per_sec != NULL)
		*syncs_per_sec = (double)a.readys / elapsed;
	appender_close(&a);
	return (double)a.last / elapsed;
}

static int dbl_cmp(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

/*
 * The batch-256 ratio with the two sides measured in turns: SLICES
 * slices of the raw 4 KiB write + fdatasync (exactly as above) and of the
 * store, alternating, so that both see the same disk -- on a shared disk
 * whose sync rate swings by 10x within seconds, figures taken seconds
 * apart compare nothing. Prints the ratio over all slices and the min,
 * median and max of the per-pair ratios.
 */
#define SLICES 16

static int bench_interleaved(const char *dir, size_t size, double seconds)
{
	struct raw_file r;
	struct appender a;
	double raw_t = 0, store_t = 0, pair[SLICES], slice = seconds / SLICES;
	uint64_t raw_n = 0, entries0;

	if (raw_open(&r, dir, "raw-il", 4096) != 0)
		return 1;
	if (appender_open(&a, dir, "append-256-il", 256, size) != 0) {
		raw_close(&r);
		return 1;
	}
	for (int k = 0; k < SLICES; k++) {
		double t0 = now_s(), t, rt, st;
		uint64_t n = 0;

		do {
			if (raw_sync(&r) != 0)
				goto fail;
			n++;
		} while ((t = now_s()) - t0 < slice);
		rt = t - t0;
		entries0 = a.last;
		t0 = now_s();
		do {
			if (appender_step(&a) != 0)
				goto fail;
		} while ((t = now_s()) - t0 < slice);
		st = t - t0;
		raw_n += n;
		raw_t += rt;
		store_t += st;
		pair[k] = ((double)(a.last - entries0) / st) /
			  ((double)n / rt * 256);
	}
	qsort(pair, SLICES, sizeof(pair[0]), dbl_cmp);
	printf("RESULT bench=store what=ratio_interleaved batch=256 "
	       "slices=%d slice_seconds=%.3f store_entries_per_sec=%.0f "
	       "raw_syncs_per_sec=%.0f raw_limit_entries_per_sec=%.0f "
	       "ratio=%.3f pair_ratio_min=%.3f pair_ratio_median=%.3f "
	       "pair_ratio_max=%.3f target=0.5\n",
	       SLICES, slice, (double)a.last / store_t,
	       (double)raw_n / raw_t, (double)raw_n / raw_t * 256,
	       ((double)a.last / store_t) / ((double)raw_n / raw_t * 256),
	       pair[0], (pair[SLICES / 2 - 1] + pair[SLICES / 2]) / 2,
	       pair[SLICES - 1]);
	appender_close(&a);
	raw_close(&r);
	return 0;
fail:
	appender_close(&a);
	raw_close(&r);
	return 1;
}

static void key_make(uint8_t key[KEY_BYTES], uint64_t n)
{
	char tmp[KEY_BYTES + 1];

	snprintf(tmp, sizeof(tmp), "key-%028" PRIu64, n);
	memcpy(key, tmp, KEY_BYTES);
}

/* fsm PUTs through the LevelDB backend for `seconds`. */
static int bench_fsm(const char *dir, size_t size, double seconds)
{
	struct store *s;
	struct fsm *f;
	struct fsm_config cfg;
	struct fsm_result res;
	struct proto_cmd cmd;
	uint8_t key[KEY_BYTES], *val = malloc(size);
	uint64_t x = 0x9e3779b97f4a7c15ull, index = 0;
	double t0, elapsed = 0;
	int rv;

	if (val == NULL || open_store(dir, "fsm", &s) != 0) {
		free(val);
		return 1;
	}
	fsm_config_default(&cfg);
	rv = fsm_new(&cfg, store_fsm_backend(s), &f);
	if (rv != COORD_OK) {
		fprintf(stderr, "coord-bench store: fsm_new: %s\n",
			coord_strerror(rv));
		store_close(s);
		free(val);
		return 1;
	}
	memset(&cmd, 0, sizeof(cmd));
	cmd.type = PROTO_CMD_PUT;
	cmd.u.put.key = proto_bytes_make(key, KEY_BYTES);
	cmd.u.put.value = proto_bytes_make(val, size);
	t0 = now_s();
	do {
		/* 100,000 distinct keys: puts create and update. */
		key_make(key, rnd(&x) % 100000);
		fill(val, 8, &x);
		rv = fsm_apply(f, ++index, &cmd, 0, &res);
		if (rv != COORD_OK || res.reply.code != COORD_OK) {
			fprintf(stderr, "coord-bench store: fsm_apply: %s\n",
				coord_strerror(rv != COORD_OK ? rv
							      : res.reply.code));
			break;
		}
		elapsed = now_s() - t0;
	} while (elapsed < seconds);
	printf("RESULT bench=store what=fsm_put key_bytes=%d value_bytes=%zu "
	       "puts=%" PRIu64 " seconds=%.2f puts_per_sec=%.0f "
	       "revision=%" PRIu64 "\n",
	       KEY_BYTES, size, index, elapsed, (double)index / elapsed,
	       fsm_revision(f));
	fsm_free(f);
	store_close(s);
	free(val);
	return rv == COORD_OK ? 0 : 1;
}

struct rss_result {
	int ok;
	long rss_open_kb;
	long rss_peak_kb;
	long rss_anon_kb;           /* at the end: heap and stacks */
	long rss_file_kb;           /* at the end: mapped files (LevelDB
				     * mmaps its tables: page cache) */
	double load_s;
	double read_s;
};

/* A "Name:   123 kB" line of /proc/self/status, or -1. */
static long proc_status_kb(const char *name)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	size_t n = strlen(name);

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, name, n) == 0 && line[n] == ':')
			v = atol(line + n + 1);
	fclose(f);
	return v;
}

/* In the child: load n keys, read some back, measure. */
static void rss_child(const char *dir, uint64_t n, struct rss_result *out)
{
	struct store *s;
	struct fsm *f;
	struct fsm_config cfg;
	struct fsm_result res;
	struct proto_cmd cmd;
	struct proto_op ops[RSS_TXN_PUTS];
	static uint8_t keys[RSS_TXN_PUTS][KEY_BYTES];
	static uint8_t vals[RSS_TXN_PUTS][RSS_VALUE_BYTES];
	struct rusage ru;
	uint64_t x = 0x2545f4914f6cdd1dull, index = 0;
	double t0;

	memset(out, 0, sizeof(*out));
	if (open_store(dir, "rss", &s) != 0)
		return;
	fsm_config_default(&cfg);
	if (fsm_new(&cfg, store_fsm_backend(s), &f) != COORD_OK) {
		store_close(s);
		return;
	}
	getrusage(RUSAGE_SELF, &ru);
	out->rss_open_kb = ru.ru_maxrss;
	memset(&cmd, 0, sizeof(cmd));
	memset(ops, 0, sizeof(ops));
	cmd.type = PROTO_CMD_TXN;
	cmd.u.txn.success = ops;
	t0 = now_s();
	for (uint64_t k = 0; k < n;) {
		size_t m = 0;

		for (; m < RSS_TXN_PUTS && k < n; m++, k++) {
			key_make(keys[m], k);
			fill(vals[m], RSS_VALUE_BYTES, &x);
			ops[m].type = PROTO_CMD_PUT;
			ops[m].u.put.key = proto_bytes_make(keys[m], KEY_BYTES);
			ops[m].u.put.value =
				proto_bytes_make(vals[m], RSS_VALUE_BYTES);
		}
		cmd.u.txn.n_success = m;
		if (fsm_apply(f, ++index, &cmd, 0, &res) != COORD_OK ||
		    res.reply.code != COORD_OK) {
			fprintf(stderr, "coord-bench store: load failed\n");
			goto out;
		}
	}
	out->load_s = now_s() - t0;
	t0 = now_s();
	for (int i = 0; i < RSS_READS; i++) {
		struct proto_range r;
		struct proto_reply reply;

		memset(&r, 0, sizeof(r));
		key_make(keys[0], rnd(&x) % n);
		r.key = proto_bytes_make(keys[0], KEY_BYTES);
		if (fsm_range(f, &r, &reply) != COORD_OK ||
		    reply.u.range.n_kvs != 1) {
			fprintf(stderr, "coord-bench store: read failed\n");
			goto out;
		}
	}
	out->read_s = now_s() - t0;
	getrusage(RUSAGE_SELF, &ru);
	out->rss_peak_kb = ru.ru_maxrss;
	out->rss_anon_kb = proc_status_kb("RssAnon");
	out->rss_file_kb = proc_status_kb("RssFile");
	out->ok = 1;
out:
	fsm_free(f);
	store_close(s);
}

/*
 * The rss child is forked before this process touches LevelDB: LevelDB
 * runs compactions on a background thread that a fork() does not copy, so
 * a child forked later would wait for its first compaction forever. It
 * waits for a byte on `go` (0: quit), then loads and reports on `out`.
 */
struct rss_proc {
	pid_t pid;
	int go;
	int out;
};

static int rss_start(const char *dir, uint64_t n, struct rss_proc *rp)
{
	int go[2], out[2];

	if (pipe(go) != 0)
		return 1;
	if (pipe(out) != 0) {
		close(go[0]);
		close(go[1]);
		return 1;
	}
	fflush(stdout);
	rp->pid = fork();
	if (rp->pid < 0)
		return 1;
	if (rp->pid == 0) {
		struct rss_result r;
		char c = 0;

		close(go[1]);
		close(out[0]);
		if (read(go[0], &c, 1) != 1 || c == 0)
			_exit(0);
		rss_child(dir, n, &r);
		_exit(write(out[1], &r, sizeof(r)) == (ssize_t)sizeof(r) ? 0
									   : 1);
	}
	close(go[0]);
	close(out[1]);
	rp->go = go[1];
	rp->out = out[0];
	return 0;
}

/* run: let the child measure and print its result; otherwise stop it. */
static int rss_finish(const char *dir, uint64_t n, struct rss_proc *rp,
		      bool run)
{
	struct rss_result r;
	char path[8192], c = run ? 1 : 0;
	int status;

	memset(&r, 0, sizeof(r));
	if (write(rp->go, &c, 1) != 1 || !run ||
	    read(rp->out, &r, sizeof(r)) != (ssize_t)sizeof(r))
		r.ok = 0;
	close(rp->go);
	close(rp->out);
	waitpid(rp->pid, &status, 0);
	if (!r.ok)
		return 1;
	snprintf(path, sizeof(path), "%s/rss", dir);
	printf("RESULT bench=store what=rss keys=%" PRIu64 " key_bytes=%d "
	       "value_bytes=%d load_seconds=%.2f loaded_keys_per_sec=%.0f "
	       "random_reads_per_sec=%.0f rss_after_open_kb=%ld "
	       "peak_rss_kb=%ld end_rss_anon_kb=%ld end_rss_file_kb=%ld "
	       "disk_bytes=%" PRIu64 "\n",
	       n, KEY_BYTES, RSS_VALUE_BYTES, r.load_s, (double)n / r.load_s,
	       RSS_READS / r.read_s, r.rss_open_kb, r.rss_peak_kb,
	       r.rss_anon_kb, r.rss_file_kb, du(path));
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: coord-bench store [--dir DIR] [--seconds S] "
		   "[--size BYTES] [--keys N] [--write-buffer MiB] "
		   "[--no-compression]\n");
}

int bench_store(int argc, char **argv)
{
	const char *base = getenv("TMPDIR");
	double seconds = 2.0, raw, raw_batch, at256 = 0, sync256 = 0;
	size_t size = 256;
	uint64_t keys = 1000000;
	char dir[4096];
	static const size_t batches[] = { 1, 16, 256 };
	struct rss_proc rp;
	int rv = 0;

	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	store_options_default(&bench_opts);
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
			base = argv[++i];
		} else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			seconds = atof(argv[++i]);
		} else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) {
			size = (size_t)atol(argv[++i]);
		} else if (strcmp(argv[i], "--write-buffer") == 0 &&
			   i + 1 < argc) {
			bench_opts.write_buffer_bytes =
				(size_t)atol(argv[++i]) << 20;
		} else if (strcmp(argv[i], "--no-compression") == 0) {
			bench_opts.compression = false;
		} else if (strcmp(argv[i], "--keys") == 0 && i + 1 < argc) {
			keys = (uint64_t)atoll(argv[++i]);
		} else if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "coord-bench store: unknown argument "
					"%s\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (seconds <= 0 || size == 0 || size > (1 << 20) || keys == 0 ||
	    strlen(base) > 2048) {
		fprintf(stderr, "coord-bench store: bad --seconds, --size, "
				"--keys or --dir\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s/coord-bench-XXXXXX", base);
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "coord-bench store: mkdtemp in %s: %s\n", base,
			strerror(errno));
		return 1;
	}
	if (rss_start(dir, keys, &rp) != 0) {
		rv = 1;
		goto out;
	}
	raw = raw_fdatasync(dir, 4096, seconds);
	raw_batch = raw_fdatasync(dir, 256 * (size + 16), seconds);
	if (raw <= 0 || raw_batch <= 0) {
		rv = 1;
		goto stop;
	}
	printf("RESULT bench=store what=raw_fdatasync write_bytes=4096 "
	       "syncs_per_sec=%.0f dir=%s\n", raw, base);
	printf("RESULT bench=store what=raw_fdatasync_batch256 write_bytes=%zu "
	       "syncs_per_sec=%.0f\n", 256 * (size + 16), raw_batch);
	for (size_t i = 0; i < sizeof(batches) / sizeof(batches[0]); i++) {
		double eps = bench_append(dir, batches[i], size, seconds, raw,
					  batches[i] == 256 ? &sync256 : NULL);

		if (eps < 0) {
			rv = 1;
			goto stop;
		}
		if (batches[i] == 256)
			at256 = eps;
	}
	/* ratio: the figure asked for, against write(4 KiB) + fdatasync;
	 * ratio_same_bytes: syncs/s against write+fdatasync of the bytes of
	 * one 256-entry batch -- what is left to LevelDB's own costs. */
	printf("RESULT bench=store what=ratio batch=256 compression=%s "
	       "store_entries_per_sec=%.0f raw_limit_entries_per_sec=%.0f "
	       "ratio=%.3f target=0.5 ratio_same_bytes=%.3f\n",
	       bench_opts.compression ? "on" : "off", at256, raw * 256,
	       at256 / (raw * 256), sync256 / raw_batch);
	if (bench_interleaved(dir, size, 2 * seconds) != 0) {
		rv = 1;
		goto stop;
	}
	if (bench_fsm(dir, size, seconds) != 0) {
		rv = 1;
		goto stop;
	}
	if (rss_finish(dir, keys, &rp, true) != 0)
		rv = 1;
	goto out;
stop:
	rss_finish(dir, keys, &rp, false);
out:
	fflush(stdout);
	rm_tree(dir);
	return rv;
}
