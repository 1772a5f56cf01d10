/*
 * tests/sim/raft_sim.c: the command line of the Raft simulator.
 *
 *   raft_sim --seed S [--verbose] [--trace]   replays one run
 *   raft_sim --seeds N [--first F]            runs seeds F..F+N-1 (F = 1)
 *   options: --steps K (ticks of faults per run), --nodes 3|5,
 *            --stale-reads (self-test: an application that reads
 *            locally instead of through ReadIndex; must be caught),
 *            --early-acks (self-test: every node, not only leaders,
 *            sends before persisting; must be caught),
 *            --leader-writes sync|async (default: chosen by the seed),
 *            --async-ack-early (self-test: leaders writing in the
 *            background report each write durable as it starts; must
 *            be caught)
 *
 * The seed is printed first. A sweep prints each failing seed with the
 * invariant it broke and ends with "seeds: N, violations: V"; the exit
 * status is non-zero when V > 0.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/sim.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: raft_sim [--seed S | --seeds N [--first F]] "
		"[--steps K] [--nodes 3|5]\n"
		"                [--verbose] [--trace]\n"
		"  --seed S     replay the run of seed S (default: 1)\n"
		"  --seeds N    run seeds F..F+N-1 and count violations\n"
		"  --first F    first seed of a sweep (default: 1)\n"
		"  --steps K    ticks of faults in each run (default: %u)\n"
		"  --nodes 3|5  cluster size (default: chosen by the seed)\n"
		"  --verbose    print a readable trace of the run\n"
		"  --trace      also print the raft cores' own trace events\n"
		"  --stale-reads  self-test: serve reads locally, skipping "
		"ReadIndex\n"
		"               (the checkers must report violations)\n"
		"  --early-acks   self-test: followers too send before "
		"persisting\n"
		"               (the checkers must report violations)\n"
		"  --leader-writes sync|async  leaders write before sending, "
		"or in the\n"
		"               background (async_leader_persist); default: "
		"half the seeds\n"
		"  --async-ack-early  self-test: background writes are "
		"reported durable\n"
		"               as they start (the checkers must report "
		"violations)\n",
		SIM_DEFAULT_FAULT_TICKS);
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	if (s == NULL || *s == '\0' || *s == '-')
		return false;
	v = strtoull(s, &end, 10);
	if (*end != '\0')
		return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	struct sim_options opt;
	struct sim_result res;
	uint64_t seed = 1, n_seeds = 0, first = 1, v, steps = 0, nodes = 0;
	bool sweep = false;

	memset(&opt, 0, sizeof(opt));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		bool ok = true;
		if (strcmp(a, "--seed") == 0) {
			ok = parse_u64(val, &seed);
			i++;
		} else if (strcmp(a, "--seeds") == 0) {
			ok = parse_u64(val, &n_seeds) && n_seeds > 0;
			sweep = true;
			i++;
		} else if (strcmp(a, "--first") == 0) {
			ok = parse_u64(val, &first);
			i++;
		} else if (strcmp(a, "--steps") == 0) {
			ok = parse_u64(val, &steps) && steps > 0 &&
			     steps < 10000000;
			i++;
		} else if (strcmp(a, "--nodes") == 0) {
			ok = parse_u64(val, &nodes) && (nodes == 3 || nodes == 5);
			i++;
		} else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
			opt.verbose = true;
		} else if (strcmp(a, "--trace") == 0) {
			opt.verbose = true;
			opt.trace = true;
		} else if (strcmp(a, "--stale-reads") == 0) {
			opt.stale_reads = true;
		} else if (strcmp(a, "--early-acks") == 0) {
			opt.early_acks = true;
		} else if (strcmp(a, "--leader-writes") == 0) {
			ok = val != NULL && (strcmp(val, "sync") == 0 ||
					     strcmp(val, "async") == 0);
			if (ok)
				opt.writes = strcmp(val, "sync") == 0
					     ? SIM_WRITES_SYNC
					     : SIM_WRITES_ASYNC;
			i++;
		} else if (strcmp(a, "--async-ack-early") == 0) {
			opt.async_ack_early = true;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return EXIT_SUCCESS;
		} else {
			ok = false;
		}
		if (!ok) {
			fprintf(stderr, "raft_sim: bad argument: %s%s%s\n", a,
				val != NULL ? " " : "", val != NULL ? val : "");
			usage(stderr);
			return 2;
		}
	}
	opt.fault_ticks = (unsigned)steps;
	opt.nodes = (unsigned)nodes;
	opt.out = stdout;

	if (!sweep) {
		printf("seed: %" PRIu64 "\n", seed);
		fflush(stdout);
		opt.seed = seed;
		v = sim_run(&opt, &res);
		if (v > 0) {
			printf("seed %" PRIu64 ": VIOLATION: %s\n", seed,
			       res.first);
			return EXIT_FAILURE;
		}
		printf("seed %" PRIu64 ": ok, %u nodes, %" PRIu64 " ticks, "
		       "commit index %" PRIu64 ", %" PRIu64 " leaders, %" PRIu64
		       " writes and %" PRIu64 " reads done%s\n", seed,
		       res.stats.nodes, res.stats.ticks, res.stats.committed,
		       res.stats.elections, res.stats.acked,
		       res.stats.reads_served,
		       res.stats.async_writes ? ", leaders writing in the "
						"background" : "");
		return EXIT_SUCCESS;
	}

	{
		uint64_t violations = 0, live_max = 0, live_sum = 0, commits = 0;
		uint64_t async_seeds = 0, bg_writes = 0;
		printf("seeds: %" PRIu64 "..%" PRIu64 " (replay one with "
		       "raft_sim --seed S --verbose)\n", first,
		       first + n_seeds - 1);
		fflush(stdout);
		opt.verbose = false;
		opt.trace = false;
		for (uint64_t k = 0; k < n_seeds; k++) {
			opt.seed = first + k;
			v = sim_run(&opt, &res);
			if (v > 0) {
				violations++;
				printf("seed %" PRIu64 ": %s\n", opt.seed,
				       res.first);
				fflush(stdout);
			}
			if (res.stats.liveness_ticks > live_max)
				live_max = res.stats.liveness_ticks;
			live_sum += res.stats.liveness_ticks;
			commits += res.stats.committed;
			async_seeds += res.stats.async_writes;
			bg_writes += res.stats.bg_writes;
		}
		printf("mean commit index %" PRIu64 ", ticks from healing to "
		       "a committed proposal: mean %" PRIu64 ", max %" PRIu64
		       "\n", commits / n_seeds, live_sum / n_seeds, live_max);
		printf("leaders wrote in the background in %" PRIu64 " seeds "
		       "(%" PRIu64 " writes)\n", async_seeds, bg_writes);
		printf("seeds: %" PRIu64 ", violations: %" PRIu64 "\n",
		       n_seeds, violations);
		return violations > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	}
}
