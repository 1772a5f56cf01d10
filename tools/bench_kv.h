/*
 * tools/bench_kv.h: coord-bench's client workloads against a running
 * cluster, on libcoord's asynchronous API: put, get, txn-cas (the same
 * closed loops as etcd-load in shared/bench/etcd) and failover (a put load
 * that times the first write after each leader kill another process
 * logged). One "RESULT key=value ..." line per run.
 */
#ifndef COORD_TOOLS_BENCH_KV_H
#define COORD_TOOLS_BENCH_KV_H

/* workload: "put", "get", "txn-cas" or "failover"; argv: its options
 * (see the usage text in bench_kv.c). Returns the exit status: 0, 1 on a
 * failure, 2 on a usage error. */
int bench_kv(const char *workload, int argc, char **argv);

#endif
