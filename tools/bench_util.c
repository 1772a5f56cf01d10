/*
 * tools/bench_util.c: see bench_util.h.
 */
#include "tools/bench_util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t bench_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t bench_real_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

void *bench_xrealloc(void *p, size_t size)
{
	p = realloc(p, size);
	if (p == NULL) {
		fprintf(stderr, "coord-bench: out of memory\n");
		exit(1);
	}
	return p;
}

void bench_prefix(char *out, size_t cap)
{
	snprintf(out, cap, "/bench/%" PRIu64 "-%d", bench_real_ns(),
		 (int)getpid());
}

uint8_t *bench_value(size_t n)
{
	uint8_t *v = bench_xrealloc(NULL, n + 1);

	memset(v, 'v', n);
	v[n] = '\0';
	return v;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void bench_sort_u64(uint64_t *l, size_t n)
{
	if (n > 0)
		qsort(l, n, sizeof(*l), cmp_u64);
}

double bench_pct_ms(const uint64_t *l, size_t n, double q)
{
	long i;

	if (n == 0)
		return 0;
	i = (long)(q * (double)n + 0.999999) - 1;
	if (i < 0)
		i = 0;
	if ((size_t)i >= n)
		i = (long)n - 1;
	return (double)l[i] / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double bench_median(double *x, size_t n)
{
	if (n == 0)
		return 0;
	qsort(x, n, sizeof(*x), cmp_double);
	return n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
}

double bench_pids_cpu_s(const char *pids)
{
	double tot = 0;
	long hz = sysconf(_SC_CLK_TCK);
	const char *p = pids;

	while (p != NULL && *p != '\0') {
		long pid = strtol(p, NULL, 10);
		char path[64], buf[1024];
		FILE *f;
		size_t n;
		char *rp;

		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		f = fopen(path, "r");
		if (f != NULL) {
			n = fread(buf, 1, sizeof(buf) - 1, f);
			buf[n] = '\0';
			fclose(f);
			rp = strrchr(buf, ')');
			if (rp != NULL) {
				unsigned long ut = 0, st = 0;
				/* After ')': state, then fields 4..13, then
				 * utime (14) and stime (15). */
				if (sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u "
					   "%*u %*u %*u %*u %lu %lu", &ut,
					   &st) == 2)
					tot += (double)(ut + st) / (double)hz;
			}
		}
		p = strchr(p, ',');
		if (p != NULL)
			p++;
	}
	return tot;
}

double bench_self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

uint64_t bench_pid_rss_kib(long pid)
{
	char path[64], line[256];
	unsigned long long kib = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %llu kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

void bench_loadavg1(char *out, size_t cap)
{
	FILE *f = fopen("/proc/loadavg", "r");

	snprintf(out, cap, "?");
	if (f != NULL) {
		if (fscanf(f, "%15s", out) != 1)
			snprintf(out, cap, "?");
		fclose(f);
	}
}

void bench_rotate_endpoints(const char *eps, int k, char *out, size_t cap)
{
	const char *parts[16];
	size_t lens[16];
	int n = 0;
	const char *p = eps;
	size_t used = 0;

	while (p != NULL && *p != '\0' && n < 16) {
		const char *comma = strchr(p, ',');

		parts[n] = p;
		lens[n] = comma ? (size_t)(comma - p) : strlen(p);
		n++;
		p = comma ? comma + 1 : NULL;
	}
	out[0] = '\0';
	for (int i = 0; i < n && used < cap; i++) {
		int j = (i + k) % n;

		used += (size_t)snprintf(out + used, cap - used, "%s%.*s",
					 i ? "," : "", (int)lens[j], parts[j]);
	}
}

int bench_kill_delays(const char *kill_log, const struct bench_rec *recs,
		      size_t n_recs, double *ms, size_t cap)
{
	FILE *f = fopen(kill_log, "r");
	char line[256];
	size_t n = 0;

	if (f == NULL) {
		fprintf(stderr, "coord-bench: %s: %s\n", kill_log,
			strerror(errno));
		return -1;
	}
	while (n < cap && fgets(line, sizeof(line), f) != NULL) {
		uint64_t kill_ns = strtoull(line, NULL, 10);
		uint64_t best = UINT64_MAX;

		if (kill_ns == 0)
			continue;
		for (size_t i = 0; i < n_recs; i++)
			if (recs[i].sent_rt_ns >= kill_ns &&
			    recs[i].done_rt_ns - kill_ns < best)
				best = recs[i].done_rt_ns - kill_ns;
		ms[n++] = best == UINT64_MAX ? -1 : (double)best / 1e6;
	}
	fclose(f);
	return (int)n;
}

void bench_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

int bench_spawn_holder(const char *workload, const char *eps,
		       unsigned ttl_ms, const char *name_flag,
		       const char *name, FILE **out)
{
	char ttl[32];
	int p[2];
	pid_t pid;

	*out = NULL;
	if (pipe(p) != 0)
		return -1;
	snprintf(ttl, sizeof(ttl), "%u", ttl_ms);
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execl("/proc/self/exe", "coord-bench", workload, "--endpoints",
		      eps, "--holder-ttl-ms", ttl, name_flag, name,
		      (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -1;
	}
	*out = fdopen(p[0], "r");
	return pid;
}
