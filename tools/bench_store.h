/*
 * tools/bench_store.h: the `store` subcommand of coord-bench (see
 * tools/bench_store.c).
 */
#ifndef COORD_TOOLS_BENCH_STORE_H
#define COORD_TOOLS_BENCH_STORE_H

/* argv holds the subcommand's arguments only (argv[0] is the first of
 * them). Returns a process exit status: 0, 1 (a failure), 2 (usage). */
int bench_store(int argc, char **argv);

#endif /* COORD_TOOLS_BENCH_STORE_H */
