/*
 * tools/coordctl.h: coordctl's helpers shared by its command files
 * (coordctl.c, coordctl_job.c).
 */
#ifndef COORD_TOOLS_COORDCTL_H
#define COORD_TOOLS_COORDCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libcoord/coord.h"

/* Says msg and the usage on stderr, exits 2. */
void die_usage(const char *msg) __attribute__((noreturn));
/* Says what failed with code's message and name; returns 1. */
int fail(struct coord_client *c, const char *what, int code);
/* Bytes as a JSON string body or raw text. */
void print_bytes(const uint8_t *p, size_t n, bool json);
void print_hex(const uint8_t *p, size_t n);
size_t parse_hex(const char *s, uint8_t *out, size_t cap);
uint64_t parse_u64(const char *s, const char *flag);
uint64_t parse_secs_ms(const char *s, const char *flag);
/* The exit status of a child as a shell gives it. */
int exit_status(int wstatus);
/* Why a session was lost, in words a script can grep. */
const char *lost_reason(int why);

/* coordctl job ... (coordctl_job.c). */
int coordctl_job(struct coord_client *c, bool json, int argc, char **argv);

#endif /* COORD_TOOLS_COORDCTL_H */
