/*
 * tools/bench_util.h: what coord-bench's client workloads share -- clocks,
 * percentiles as etcd-load computes them, CPU and memory of other
 * processes from /proc, the load average, endpoint rotation and the
 * kill-log matching of the failover workloads.
 */
#ifndef COORD_TOOLS_BENCH_UTIL_H
#define COORD_TOOLS_BENCH_UTIL_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

uint64_t bench_mono_ns(void);
uint64_t bench_real_ns(void);
/* realloc() that exits on failure (a benchmark has nothing to save). */
void *bench_xrealloc(void *p, size_t size);

/* The key prefix of one run: "/bench/<realtime ns>-<pid>". */
void bench_prefix(char *out, size_t cap);
/* n bytes of 'v' (and a NUL), as etcd-load's values; free() it. */
uint8_t *bench_value(size_t n);

/* Sorts l[0..n) in place. */
void bench_sort_u64(uint64_t *l, size_t n);
/* As etcd-load's pct(): the ceil(q n)-th smallest of the sorted l, ns
 * in, ms out (0 for none). */
double bench_pct_ms(const uint64_t *l, size_t n, double q);
/* The median of x[0..n) (sorted in place; 0 for none). */
double bench_median(double *x, size_t n);

/* utime + stime, in seconds, of the processes in "pid,pid,..." (missing
 * ones count 0) and of this process. */
double bench_pids_cpu_s(const char *pids);
double bench_self_cpu_s(void);
/* VmRSS of pid in KiB (0: unknown). */
uint64_t bench_pid_rss_kib(long pid);
/* The 1-minute load average as /proc/loadavg prints it ("?" unknown). */
void bench_loadavg1(char *out, size_t cap);

/* Sleeps ms milliseconds (through signals). */
void bench_sleep_ms(unsigned ms);
/* Starts this program again as "coord-bench WORKLOAD --endpoints EPS
 * --holder-ttl-ms TTL_MS NAME_FLAG NAME" (a holder process of
 * expiry-handoff or election-failover); *out reads its stdout. -1: it
 * could not be started. */
int bench_spawn_holder(const char *workload, const char *eps,
		       unsigned ttl_ms, const char *name_flag,
		       const char *name, FILE **out);

/* eps ("a,b,c") rotated by k into out: "b,c,a" for k 1. */
void bench_rotate_endpoints(const char *eps, int k, char *out, size_t cap);

/* A successful operation of a failover run: realtime ns it was sent and
 * answered. */
struct bench_rec {
	uint64_t sent_rt_ns;
	uint64_t done_rt_ns;
};

/* For each kill in kill_log (realtime ns, one a line; at most cap), the
 * ms from the kill to the earliest answer among recs of an operation
 * sent after it (-1: none) into ms[]. Returns how many kills were read
 * (-1: the file cannot be read, the reason on stderr). */
int bench_kill_delays(const char *kill_log, const struct bench_rec *recs,
		      size_t n_recs, double *ms, size_t cap);

#endif
