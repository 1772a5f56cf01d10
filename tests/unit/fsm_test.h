/*
 * tests/unit/fsm_test.h: helpers of the proto/ and coordd/fsm/ unit tests:
 * an allocator that fails its Nth call and counts what is live, a backend
 * that wraps another and fails its Nth call, builders of commands, and an
 * fsm fixture.
 */
#ifndef COORD_TESTS_UNIT_FSM_TEST_H
#define COORD_TESTS_UNIT_FSM_TEST_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coordd/fsm/backend.h"
#include "coordd/fsm/fsm.h"
#include "proto/alloc.h"
#include "proto/errors.h"
#include "proto/msg.h"
#include "tests/unit/check_util.h"

/* Seconds a single test may take (sanitizer builds are slow). */
#define FT_TIMEOUT 120

/* The helpers of check_util.h under this suite's names. */
#define FT_ADD(s, fn) CU_ADD((s), fn, FT_TIMEOUT)
#define FT_ADD_LOOP(s, fn, lo, hi) CU_ADD_LOOP((s), fn, (lo), (hi), FT_TIMEOUT)
#define ft_require cu_require
#define ft_code_eq cu_code_eq
#define ft_alloc cu_alloc
#define ft_alloc_init cu_alloc_init

/*
 * A backend wrapping inner that fails its fail_at-th operation (1-based, 0:
 * never; every get, write, snap_new, iter_new, iter_seek and iter_next
 * counts) with err. A failing seek or next ends the iteration: valid()
 * turns false and status() reports err.
 */
struct ft_fault;
int ft_fault_new(struct fsm_backend *inner, const struct coord_allocator *alloc,
		 struct ft_fault **out);
void ft_fault_free(struct ft_fault *t);
struct fsm_backend *ft_fault_backend(struct ft_fault *t);
void ft_fault_arm(struct ft_fault *t, size_t fail_at, int err);
size_t ft_fault_calls(const struct ft_fault *t);

/* Byte strings from C strings (no NUL) or from (pointer, length). */
struct proto_bytes ft_s(const char *s);
#define FT_B(lit) proto_bytes_make((lit), sizeof(lit) - 1)

/* Command builders. */
struct proto_cmd ft_put(const char *key, const char *value, uint64_t lease);
struct proto_cmd ft_put_b(struct proto_bytes key, struct proto_bytes value,
			  uint64_t lease, bool prev_kv);
struct proto_cmd ft_del(const char *key, const char *end, uint32_t flags,
			bool prev_kv);
struct proto_range ft_range(const char *key, const char *end, uint32_t flags);
struct proto_cmd ft_compact(uint64_t rev);
struct proto_cmd ft_lease_end(uint64_t lease);

/*
 * A fixture: an fsm on an in-memory backend, the allocator used by both,
 * and the next Raft index. ft_apply() applies cmd at the next index with
 * FSM_EVENTS | FSM_EVENTS_PREV_KV and asserts the apply itself succeeded.
 */
struct ft_fsm {
	struct ft_alloc alloc;
	struct fsm_config cfg;
	struct fsm_backend *backend;
	struct fsm *f;
	uint64_t index;
	struct fsm_result res;
};

/* fsm_config_default(), but every lease exists (the keyspace tests
 * attach leases they never granted); the lease tests use the fsm's own
 * leases (lease_exists NULL). */
void ft_config_default(struct fsm_config *cfg);
/* cfg NULL: ft_config_default(). */
void ft_fsm_open(struct ft_fsm *t, const struct fsm_config *cfg);
void ft_fsm_close(struct ft_fsm *t);
const struct proto_reply *ft_apply(struct ft_fsm *t, struct proto_cmd cmd);
/* Applies and asserts the reply's code. */
const struct proto_reply *ft_apply_ok(struct ft_fsm *t, struct proto_cmd cmd);
const struct proto_reply *ft_apply_err(struct ft_fsm *t, struct proto_cmd cmd,
				       int code);
/* fsm_range() that asserts COORD_OK. */
const struct proto_range_reply *ft_get(struct ft_fsm *t, struct proto_range r);
/* The current value of key, or NULL (a pointer into fsm memory). */
const struct proto_kv *ft_kv(struct ft_fsm *t, const char *key);
/* fsm_hash(), checked against fsm_hash_scan(), and the byte counts
 * against fsm_bytes_scan() (ft_bytes_check()). */
uint64_t ft_hash(struct ft_fsm *t);
void ft_bytes_check(struct ft_fsm *t);

/* Asserts kv is key=value with those revisions. */
void ft_kv_check(const struct proto_kv *kv, const char *key, const char *value,
		 uint64_t create, uint64_t mod, uint64_t version,
		 uint64_t lease);

/* The whole backend as one byte string (len-prefixed records), in
 * allocator memory the caller frees with free(). */
uint8_t *ft_backend_dump(struct fsm_backend *b, size_t *len);

/* Copies every record of from into to (what a snapshot install does). */
void ft_backend_copy(struct fsm_backend *from, struct fsm_backend *to);

#endif /* COORD_TESTS_UNIT_FSM_TEST_H */
