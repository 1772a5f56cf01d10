/*
 * tools/bench_job.h: coord-bench job-cycles (tools/bench_job.c).
 */
#ifndef COORD_TOOLS_BENCH_JOB_H
#define COORD_TOOLS_BENCH_JOB_H

/* argv: the workload's options (see the usage text in bench_job.c). */
int bench_job(int argc, char **argv);

#endif /* COORD_TOOLS_BENCH_JOB_H */
