/*
 * tests/unit/backend_check.h: helpers for testing a struct fsm_backend
 * (coordd/fsm/backend.h) with C strings -- the in-memory backend's tests
 * and the LevelDB backend's use the same ones.
 */
#ifndef COORD_TESTS_UNIT_BACKEND_CHECK_H
#define COORD_TESTS_UNIT_BACKEND_CHECK_H

#include "coordd/fsm/backend.h"

/* Fill *w with a put of k=v / a delete of k (borrowing the strings). */
void bc_put(struct fsm_backend_write *w, const char *k, const char *v);
void bc_del(struct fsm_backend_write *w, const char *k);

/* The value of key copied into buf (NUL-terminated), or NULL when it is
 * absent; any other error fails the test. */
const char *bc_get(struct fsm_backend *b, const char *key, char *buf);

/* Every record from `from` on (through snap, or the live state when NULL),
 * as "key=value," (bc_scan) or "key," (bc_scan_keys), into out. A new
 * iterator must start unpositioned. */
void bc_scan(struct fsm_backend *b, struct fsm_backend_snap *snap,
	     const char *from, char *out);
void bc_scan_keys(struct fsm_backend *b, struct fsm_backend_snap *snap,
		  const char *from, char *out);

#endif /* COORD_TESTS_UNIT_BACKEND_CHECK_H */
