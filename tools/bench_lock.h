/*
 * tools/bench_lock.h: coord-bench's lock and session workloads against a
 * running cluster (the lock workloads of etcd-load in shared/bench/etcd):
 * lock-contended, lock-uncontended, session-churn, expiry-handoff,
 * failover-lock and scale. One "RESULT key=value ..." line per run (and
 * one "ROUND" line per round of expiry-handoff and failover-lock).
 */
#ifndef COORD_TOOLS_BENCH_LOCK_H
#define COORD_TOOLS_BENCH_LOCK_H

#include <stdbool.h>

/* Is workload one of bench_lock()'s (lock-holder, expiry-handoff's
 * child process, included)? */
bool bench_lock_has(const char *workload);

/* argv: the workload's options (see the usage text in bench_lock.c).
 * Returns the exit status: 0, 1 on a failure, 2 on a usage error. */
int bench_lock(const char *workload, int argc, char **argv);

#endif
