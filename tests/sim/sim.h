/*
 * tests/sim/sim.h: a deterministic Raft cluster simulator.
 *
 * One run is a function of one 64-bit seed: 3 or 5 raft cores driven
 * exactly per the contract of raft/raft.h over an in-memory durable store,
 * a simulated clock and a simulated network that delays, drops,
 * duplicates, reorders and partitions; crashes that lose whatever was not
 * persisted, restarts, membership changes, leader transfers, snapshots with
 * compaction, client writes and ReadIndex reads. The checkers of
 * checkers.h run after every step; after the fault phase everything heals
 * and a leader must commit a fresh proposal on every voter in a bounded
 * number of ticks.
 */
#ifndef COORD_TESTS_SIM_SIM_H
#define COORD_TESTS_SIM_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* How leaders write their log (raft_config.async_leader_persist). */
enum sim_writes {
	SIM_WRITES_SEED,        /* chosen by the seed: half the runs async */
	SIM_WRITES_SYNC,
	SIM_WRITES_ASYNC,
};

struct sim_options {
	uint64_t seed;
	unsigned fault_ticks;   /* length of the fault phase; 0: default */
	unsigned nodes;         /* 3 or 5; 0: chosen by the seed */
	bool verbose;           /* a readable trace of the run on out */
	bool trace;             /* the cores' own trace events as well */
	bool stale_reads;       /* self-test: reads skip ReadIndex */
	bool early_acks;        /* self-test: every role sends before
				 * persisting, acknowledgements included */
	enum sim_writes writes; /* leaders' writes: synchronous, or in the
				 * background (async_leader_persist) */
	bool async_ack_early;   /* self-test: raft_persisted() is called
				 * when a background write starts, not when
				 * it is durable (implies SIM_WRITES_ASYNC) */
	FILE *out;              /* where verbose output goes; NULL: stdout */
};

#define SIM_DEFAULT_FAULT_TICKS 600
#define SIM_MSG_MAX 512

struct sim_stats {
	uint64_t steps;
	uint64_t ticks;
	unsigned nodes;
	uint64_t elections;         /* (term, leader) pairs seen */
	uint64_t max_term;
	uint64_t committed;         /* highest committed index */
	uint64_t proposed;
	uint64_t acked;             /* writes applied on their proposer */
	uint64_t reads_started;
	uint64_t reads_served;
	uint64_t crashes;
	uint64_t lost_entries;      /* unpersisted entries lost in crashes */
	bool async_writes;          /* leaders wrote in the background */
	uint64_t bg_writes;         /* background writes made durable */
	uint64_t restarts;
	uint64_t partitions;
	uint64_t msgs_sent;
	uint64_t msgs_dropped;
	uint64_t msgs_duplicated;
	uint64_t forged;            /* forged peer messages stepped */
	uint64_t conf_changes;      /* proposed and accepted by a leader */
	uint64_t transfers;
	uint64_t compactions;
	uint64_t snapshots_sent;
	uint64_t snapshots_installed;
	uint64_t liveness_ticks;    /* from healing to the committed probe */
};

struct sim_result {
	uint64_t violations;
	char first[SIM_MSG_MAX];    /* the first violation, if any */
	struct sim_stats stats;
};

/* Runs one seed; fills res. Returns the number of violations. */
uint64_t sim_run(const struct sim_options *opt, struct sim_result *res);

#endif /* COORD_TESTS_SIM_SIM_H */
