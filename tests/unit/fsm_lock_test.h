/*
 * tests/unit/fsm_lock_test.h: builders of the lease, session and lock
 * commands and a fixture that applies them as encoded Raft entries at a
 * given cluster time (tests/unit/test_fsm_lease.c, test_fsm_lock.c,
 * test_fsm_fence.c).
 */
#ifndef COORD_TESTS_UNIT_FSM_LOCK_TEST_H
#define COORD_TESTS_UNIT_FSM_LOCK_TEST_H

#include <stdbool.h>
#include <stdint.h>

#include "coordd/fsm/fsm.h"
#include "proto/buf.h"
#include "proto/msg.h"
#include "tests/unit/fsm_test.h"

/* A secret of COORD_SECRET_BYTES_MIN bytes. */
#define FL_SECRET "0123456789abcdef"

struct fl {
	struct ft_fsm t;
	struct proto_buf enc;
	struct fsm_entry_result res;
};

/* cfg NULL: the defaults. */
void fl_open(struct fl *x, const struct fsm_config *cfg);
void fl_close(struct fl *x);

/*
 * Applies cmd as an encoded entry of client (0: none, then seq is
 * ignored) at cluster time now_ms at the next index; asserts it applied,
 * that the reply bytes decode to the reply, and that the incremental hash
 * is the scan's. Returns the reply (valid until the next apply).
 */
const struct proto_reply *fl_do_as(struct fl *x, uint64_t client,
				   uint64_t seq, uint64_t now_ms,
				   struct proto_cmd cmd);
const struct proto_reply *fl_do(struct fl *x, uint64_t now_ms,
				struct proto_cmd cmd);
/* fl_do() asserting COORD_OK. */
const struct proto_reply *fl_ok(struct fl *x, uint64_t now_ms,
				struct proto_cmd cmd);
/* Applies at the current clock and asserts code, and that nothing
 * changed: revision, hash, counters, no grants/touched/gone. */
void fl_err(struct fl *x, struct proto_cmd cmd, int code);

/* Builders. */
struct proto_cmd fl_grant(uint64_t lease, uint64_t ttl_ms);
struct proto_cmd fl_keepalive(const uint64_t *leases, size_t n);
struct proto_cmd fl_revoke(uint64_t lease);
struct proto_cmd fl_expire(uint64_t lease, uint64_t ka_index);
struct proto_cmd fl_open_session(uint64_t ttl_ms);
struct proto_cmd fl_close_session(uint64_t session);
struct proto_cmd fl_acquire(const char *name, uint64_t session, uint8_t mode,
			    bool wait, uint64_t deadline_ms,
			    uint64_t lock_delay_ms);
struct proto_cmd fl_release(const char *name, uint64_t session,
			    uint64_t token);
struct proto_cmd fl_sem_acquire(const char *name, uint64_t session,
			       uint64_t permits, bool wait,
			       uint64_t deadline_ms);
struct proto_cmd fl_sem_release(const char *name, uint64_t session,
			       uint64_t token);
struct proto_cmd fl_kick(const char *name);
/* Takes inner by pointer: it must outlive the command. */
/* LOCK_RELEASE_WRITE: inner (a PUT, DELETE or TXN) and the release. */
struct proto_cmd fl_release_write(const char *name, uint64_t session,
				  uint64_t token, const struct proto_cmd *inner);
struct proto_cmd fl_fenced(const struct proto_fence *fences, size_t n,
			   const struct proto_cmd *inner);

/* Opens a session at now_ms with ttl_ms; returns its id. */
uint64_t fl_session(struct fl *x, uint64_t now_ms, uint64_t ttl_ms);
/* Acquires and returns the token (0: queued), asserting COORD_OK. */
uint64_t fl_lock(struct fl *x, uint64_t now_ms, const char *name,
		 uint64_t session, uint8_t mode, bool wait);
/* Holder tokens and waiters of lock name, from fsm_queue_status(). */
size_t fl_holders(struct fl *x, const char *name);
size_t fl_waiters(struct fl *x, const char *name);
/* Whether the last command granted name to session, and with what. */
bool fl_granted(const struct fl *x, const char *name, uint64_t session,
		uint64_t *token);
/* Whether the last command ended lease, and why. */
bool fl_gone(const struct fl *x, uint64_t lease, int *why);

#endif /* COORD_TESTS_UNIT_FSM_LOCK_TEST_H */
