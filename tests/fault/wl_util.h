/*
 * tests/fault/wl_util.h: what the fault suite's workload programs share
 * (workload.c, lock_workload.c, job_workload.c): a monotonic clock, the
 * seeded choices, number arguments, the fenced resource, the history
 * files of the client processes.
 */
#ifndef COORD_TESTS_FAULT_WL_UTIL_H
#define COORD_TESTS_FAULT_WL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "libcoord/coord.h"

/* CLOCK_MONOTONIC in microseconds: one clock for every process of the
 * machine, so histories of several processes interleave by it. */
uint64_t wl_now_us(void);

/* xorshift64* on *state (non-zero): choices replayable from a seed. */
uint64_t wl_rnd(uint64_t *state);

/* s as a number in [lo, hi]; otherwise a message naming prog and exit 2. */
unsigned wl_arg_uint(const char *prog, const char *s, unsigned lo,
		     unsigned hi);

/* A number option "--name N" of a workload program: N into *v, within
 * [lo, hi]. */
struct wl_opt {
	const char *name;
	unsigned *v;
	unsigned lo, hi;
};

/* Reads the options argv[first..argc) as pairs "--name N" of opts[0..n);
 * anything else calls usage() (which exits). */
void wl_parse_opts(const char *prog, int argc, char **argv, int first,
		   const struct wl_opt *opts, size_t n, void (*usage)(void));

/* A synchronous client of endpoints named name, with requests timing
 * out after timeout_ms; exits 1 when it cannot be made. */
struct coord_client *wl_client(const char *endpoints, unsigned timeout_ms,
			       const char *name);

/* Sleeps ms milliseconds (through signals). */
void wl_sleep_ms(unsigned ms);

/* One write to fencing/examples/fenced_kv on 127.0.0.1:port over the
 * connection *fd (-1: dials one): "WRITE resource token key value".
 * COORD_OK: written ("OK"); COORD_EFENCED: refused, an older token than
 * one admitted ("STALE ..."); COORD_EUNAVAILABLE: the connection broke
 * (closed, *fd = -1: the next write dials again), outcome unknown;
 * COORD_EINVAL: another answer. */
coord_err_t wl_resource_write(int *fd, unsigned port, const char *resource,
			      uint64_t token, const char *key,
			      const char *value);

/* A history's type of a resource write's outcome: "ok", "fail" (stale:
 * not written) or "info" (unknown). */
const char *wl_resource_outcome(coord_err_t code);

/* Writes the history line of an operation's step to out (flushed):
 * {"us": now, "p", "t", "f", "token", "rev", "code": code's name}. */
void wl_rec(FILE *out, uint64_t p, const char *t, const char *f,
	    uint64_t token, uint64_t rev, coord_err_t code);

/* A history's type of a failed request's outcome, for the workloads
 * with sessions and fenced writes (lock, semaphore, election):
 * definitely not applied ("fail") when the servers said so (a fence
 * that did not hold, a holder or leader that was not one, a session that
 * ended) or libcoord promises it (coord.h: COORD_ENOLEADER,
 * COORD_EUNAVAILABLE); every other error "info" (unknown). */
const char *wl_error_type(coord_err_t code);

/* After a client's cycle that ended with rc: when the session *s is
 * lost (its state says so, or rc is COORD_ESESSION or
 * COORD_ESESSION_EXPIRED), closes it, sets *s to NULL and returns true:
 * the client continues as a new process of the history. */
bool wl_session_retire(struct coord_session **s, coord_err_t rc);

/* Puts key = value with c, again and again until acknowledged or
 * deadline_ms milliseconds passed: its revision, or 0. The markers of
 * the workloads that read a history back (every write before the
 * marker's revision is in it). */
uint64_t wl_put_retry(struct coord_client *c, const char *key,
		      const char *value, unsigned deadline_ms);

/* Runs fn(i) for i in [0, n) each in a child process of its own, with
 * *out open on the history file path.i; waits for them, then writes
 * path as path.0, path.1, ... concatenated (and removes those). 0 when
 * every child exited 0 and path was written; else 1. */
int wl_run_clients(unsigned n, const char *path, FILE **out,
		   void (*fn)(unsigned i));

#endif /* COORD_TESTS_FAULT_WL_UTIL_H */
