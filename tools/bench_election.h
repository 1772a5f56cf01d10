/*
 * tools/bench_election.h: coord-bench election-failover (and its
 * election-holder child process), see tools/bench_election.c.
 */
#ifndef COORD_TOOLS_BENCH_ELECTION_H
#define COORD_TOOLS_BENCH_ELECTION_H

#include <stdbool.h>

bool bench_election_has(const char *workload);
int bench_election(const char *workload, int argc, char **argv);

#endif
