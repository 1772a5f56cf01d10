/*
 * proto/exit.h: coord_exit_now(), _exit() that keeps a coverage build's
 * line counts.
 *
 * gcov writes a process's counts in exit(); a process that ends in
 * _exit() -- a forked child, a failpoint's crash -- loses every line it
 * ran. In a coverage build (configure --enable-coverage defines
 * COORD_COVERAGE) coord_exit_now() writes them first with __gcov_dump();
 * otherwise it is _exit() and nothing else: no stdio flush, no atexit
 * handler, in any build.
 */
#ifndef COORD_PROTO_EXIT_H
#define COORD_PROTO_EXIT_H

#include <unistd.h>

#ifdef COORD_COVERAGE
void __gcov_dump(void);
#endif

static inline __attribute__((noreturn)) void coord_exit_now(int status)
{
#ifdef COORD_COVERAGE
	__gcov_dump();
#endif
	_exit(status);
}

#endif /* COORD_PROTO_EXIT_H */
