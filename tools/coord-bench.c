/*
 * tools/coord-bench.c: coord's benchmarks. Prints one "RESULT key=value ..."
 * line per measurement.
 *
 *   coord-bench raft [--seconds S] [--size BYTES]
 *       Entries committed per second through a 3-node in-memory Raft cluster
 *       (a simulated network that delivers every message, no disk), at batch
 *       sizes 1 and 64, with the core's allocations and allocated bytes per
 *       committed entry (counted through the raft_allocator hook).
 *
 *   coord-bench store [options]
 *       The durable store on LevelDB: the disk's raw fdatasync rate, entries
 *       appended with sync at batch sizes 1, 16 and 256, fsm puts applied
 *       per second, peak RSS with 1,000,000 keys (see tools/bench_store.c).
 *
 *   coord-bench put|get|txn-cas [--endpoints ...] [--clients N] [--conns N]
 *               [--seconds S | --total N] [--key-size B] [--val-size B]
 *               [--linearizable | --serializable]
 *       Client load on a running cluster through libcoord's async API, the
 *       closed loops of etcd-load (shared/bench/etcd): one RESULT line with
 *       ops/s and latency percentiles (see tools/bench_kv.c).
 *
 *   coord-bench failover --kill-log FILE [--clients N] ...
 *       A put load that, when stopped, reports the time from each leader
 *       kill logged in FILE (by scripts/bench-compare) to the next
 *       successful write.
 *
 *   coord-bench lock-contended|lock-uncontended|session-churn|
 *               expiry-handoff|failover-lock|scale|sem-cycles [--help]
 *       Lock and session workloads on a running cluster, a thread with a
 *       synchronous libcoord client per logical client (see
 *       tools/bench_lock.c).
 *
 *   coord-bench job-cycles [--clients N] [--jobs N] [--seconds S] ...
 *       Job queue enqueue throughput, then claim -> complete cycles/s of
 *       N workers (see tools/bench_job.c).
 *
 *   coord-bench election-failover [--rounds N] [--holder-ttl-ms MS]
 *       The time from killing an election leader's client to the next
 *       leader's campaign returning (see tools/bench_election.c).
 *   coord-bench election-churn [--rounds N]
 *       Campaign, resign and session close, round after round: whether
 *       a round costs more the more rounds came before it.
 */
#include "raft/raft.h"
#include "tools/bench_election.h"
#include "tools/bench_job.h"
#include "tools/bench_kv.h"
#include "tools/bench_lock.h"
#include "tools/bench_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NODES 3

struct alloc_count {
	uint64_t calls;
	uint64_t bytes;
};

static void *count_malloc(void *ctx, size_t size)
{
	struct alloc_count *c = ctx;
	c->calls++;
	c->bytes += size;
	return malloc(size);
}

static void *count_realloc(void *ctx, void *ptr, size_t size)
{
	struct alloc_count *c = ctx;
	c->calls++;
	c->bytes += size;
	return realloc(ptr, size);
}

static void count_free(void *ctx, void *ptr)
{
	(void)ctx;
	free(ptr);
}

/* The simulated network: messages copied out of each Ready, their entries
 * and data into growable buffers that are reused from round to round, so
 * that the transport itself allocates (almost) nothing. */
struct queued {
	struct raft_message m;
	size_t first_entry;
};

struct net {
	struct queued *q;
	size_t n_q, cap_q;
	struct raft_entry *ents;
	size_t n_ents, cap_ents;
	uint8_t *data;
	size_t n_data, cap_data;
};

static void *grow(void *p, size_t *cap, size_t want, size_t elem)
{
	if (want <= *cap)
		return p;
	while (*cap < want)
		*cap = *cap ? *cap * 2 : 1024;
	p = realloc(p, *cap * elem);
	if (p == NULL) {
		fprintf(stderr, "coord-bench: out of memory\n");
		exit(1);
	}
	return p;
}

static void net_send(struct net *n, const struct raft_message *m)
{
	struct queued *q;
	n->q = grow(n->q, &n->cap_q, n->n_q + 1, sizeof(*n->q));
	q = &n->q[n->n_q++];
	q->m = *m;
	q->first_entry = n->n_ents;
	n->ents = grow(n->ents, &n->cap_ents, n->n_ents + m->n_entries,
		       sizeof(*n->ents));
	for (size_t i = 0; i < m->n_entries; i++) {
		struct raft_entry *e = &n->ents[n->n_ents++];
		*e = m->entries[i];
		n->data = grow(n->data, &n->cap_data, n->n_data + e->len, 1);
		if (e->len > 0)
			memcpy(n->data + n->n_data, e->data, e->len);
		e->data = (uint8_t *)(uintptr_t)n->n_data;  /* offset for now */
		n->n_data += e->len;
	}
}

static void net_deliver(struct net *n, struct raft **nodes)
{
	for (size_t i = 0; i < n->n_q; i++) {
		struct raft_message *m = &n->q[i].m;
		m->entries = m->n_entries ? &n->ents[n->q[i].first_entry] : NULL;
		for (size_t k = 0; k < m->n_entries; k++)
			m->entries[k].data = n->data +
					     (uintptr_t)m->entries[k].data;
		if (m->to >= 1 && m->to <= NODES)
			raft_step(nodes[m->to - 1], m);
	}
	n->n_q = n->n_ents = n->n_data = 0;
}

static void process(struct raft **nodes, struct net *net)
{
	for (int i = 0; i < NODES; i++) {
		while (raft_has_ready(nodes[i])) {
			struct raft_ready rd;
			raft_ready(nodes[i], &rd);
			for (size_t k = 0; k < rd.n_messages; k++)
				net_send(net, &rd.messages[k]);
			raft_advance(nodes[i], &rd);
		}
	}
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bench_raft_batch(size_t batch, double seconds, size_t size)
{
	struct alloc_count count = { 0, 0 };
	struct raft_allocator alloc = { count_malloc, count_realloc,
					count_free, &count };
	struct raft *nodes[NODES];
	const uint64_t ids[NODES] = { 1, 2, 3 };
	struct net net;
	struct raft *leader = NULL;
	uint8_t *payload = malloc(size);
	uint64_t entries = 0, allocs0, bytes0, commit0;
	double t0, elapsed;

	memset(&net, 0, sizeof(net));
	memset(payload, 'x', size);
	for (int i = 0; i < NODES; i++) {
		struct raft_config cfg;
		raft_config_default(&cfg, ids[i], 7);
		cfg.alloc = &alloc;
		if (raft_new(&cfg, NULL, &nodes[i]) != RAFT_OK ||
		    raft_bootstrap(nodes[i], ids, NODES) != RAFT_OK) {
			fprintf(stderr, "coord-bench: cannot start node %d\n", i);
			return 1;
		}
	}
	for (int t = 0; leader == NULL && t < 1000; t++) {
		for (int i = 0; i < NODES; i++)
			raft_tick(nodes[i]);
		for (int round = 0; round < 4; round++) {
			process(nodes, &net);
			net_deliver(&net, nodes);
		}
		for (int i = 0; i < NODES; i++)
			if (raft_is_leader(nodes[i]))
				leader = nodes[i];
	}
	if (leader == NULL) {
		fprintf(stderr, "coord-bench: no leader elected\n");
		return 1;
	}
	/* Settle: the leader's no-op commits everywhere. */
	for (int round = 0; round < 8; round++) {
		process(nodes, &net);
		net_deliver(&net, nodes);
	}

	allocs0 = count.calls;
	bytes0 = count.bytes;
	commit0 = raft_commit_index(leader);
	t0 = now_s();
	do {
		uint64_t target = 0;
		for (size_t k = 0; k < batch; k++) {
			if (raft_propose(leader, payload, size, &target,
					 NULL) != RAFT_OK) {
				fprintf(stderr, "coord-bench: propose failed\n");
				return 1;
			}
		}
		while (raft_commit_index(leader) < target ||
		       raft_applied_index(leader) < target) {
			process(nodes, &net);
			net_deliver(&net, nodes);
		}
		entries += batch;
		/* Keep memory flat: compact as a server would after a
		 * snapshot (its cost is part of the figure). */
		if (entries % 8192 < batch)
			for (int i = 0; i < NODES; i++)
				raft_compact(nodes[i],
					     raft_applied_index(nodes[i]));
		elapsed = now_s() - t0;
	} while (elapsed < seconds);

	printf("RESULT bench=raft nodes=%d batch=%zu entry_bytes=%zu "
	       "entries=%" PRIu64 " seconds=%.2f entries_per_sec=%.0f "
	       "allocs_per_entry=%.2f alloc_bytes_per_entry=%.0f\n",
	       NODES, batch, size, raft_commit_index(leader) - commit0,
	       elapsed, (double)entries / elapsed,
	       (double)(count.calls - allocs0) / (double)entries,
	       (double)(count.bytes - bytes0) / (double)entries);
	for (int i = 0; i < NODES; i++)
		raft_free(nodes[i]);
	free(net.q);
	free(net.ents);
	free(net.data);
	free(payload);
	return 0;
}

static int bench_raft(int argc, char **argv)
{
	double seconds = 2.0;
	size_t size = 256;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
			size = (size_t)atol(argv[++i]);
		else {
			fprintf(stderr, "coord-bench raft: unknown argument %s\n",
				argv[i]);
			return 2;
		}
	}
	if (seconds <= 0 || size == 0 || size > (1 << 20)) {
		fprintf(stderr, "coord-bench raft: bad --seconds or --size\n");
		return 2;
	}
	if (bench_raft_batch(1, seconds, size) != 0 ||
	    bench_raft_batch(64, seconds, size) != 0)
		return 1;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: coord-bench raft [--seconds S] [--size BYTES]\n"
		   "       coord-bench store [--help]\n"
		   "       coord-bench put|get|txn-cas|failover [--help]\n"
		   "       coord-bench lock-contended|lock-uncontended|"
		   "session-churn|expiry-handoff|failover-lock|scale|sem-cycles"
		   " [--help]\n"
		   "       coord-bench job-cycles [--help]\n"
		   "       coord-bench election-failover [--rounds N] "
		   "[--holder-ttl-ms MS]\n"
		   "       coord-bench election-churn [--rounds N]\n");
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "raft") == 0)
		return bench_raft(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "store") == 0)
		return bench_store(argc - 2, argv + 2);
	if (argc >= 2 && (strcmp(argv[1], "put") == 0 ||
			  strcmp(argv[1], "get") == 0 ||
			  strcmp(argv[1], "txn-cas") == 0 ||
			  strcmp(argv[1], "failover") == 0))
		return bench_kv(argv[1], argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "job-cycles") == 0)
		return bench_job(argc - 2, argv + 2);
	if (argc >= 2 && bench_election_has(argv[1]))
		return bench_election(argv[1], argc - 2, argv + 2);
	if (argc >= 2 && bench_lock_has(argv[1]))
		return bench_lock(argv[1], argc - 2, argv + 2);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
			  strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
