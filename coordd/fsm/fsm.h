/*
 * coordd/fsm/fsm.h: the replicated state machine's keyspace.
 *
 * An MVCC keyspace like etcd's, applied from committed Raft entries: one
 * revision counter, +1 for every command that changes a key; each key has
 * create_revision, mod_revision, version and an optional lease. Reads at a
 * past revision, history by revision for watches, and compaction of that
 * history.
 *
 * Deterministic: no clock, no I/O of its own, no randomness, no globals.
 * Replicas that apply the same commands in the same order hold the same
 * bytes in their backends and report the same fsm_hash(). State lives in
 * the backend only (see backend.h for the key layout); the struct fsm
 * caches three counters from it and scratch memory.
 *
 * Errors, two kinds:
 * - The command's own outcome (a key too large, a compacted revision, a
 *   lease that does not exist...) is deterministic. It goes in
 *   reply.code, the command changes nothing, and fsm_apply() returns 0:
 *   the command was applied (as a no-op), on every replica alike.
 * - A local failure (COORD_ENOMEM, COORD_EIO, COORD_ECORRUPT from the
 *   allocator or the backend) is returned by fsm_apply() itself: the
 *   command was not applied and nothing changed, not even the applied
 *   index. The caller retries it or stops the node; it must not skip it.
 *
 * Memory: replies and events point into memory of the fsm, valid until the
 * next call of fsm_apply(), fsm_apply_data(), fsm_range(),
 * fsm_events_read() or fsm_free(). Commands are borrowed.
 */
#ifndef COORD_FSM_FSM_H
#define COORD_FSM_FSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coordd/fsm/backend.h"
#include "proto/alloc.h"
#include "proto/msg.h"

struct fsm;

struct fsm_config {
	const struct coord_allocator *alloc;    /* NULL: libc; borrowed */
	size_t key_bytes_max;       /* COORD_EKEYTOOBIG above; >= 1 */
	size_t value_bytes_max;     /* COORD_EVALUETOOBIG above */
	size_t txn_ops_max;         /* per txn list; COORD_ETXNTOOBIG above */
	/* Whether a non-zero lease exists, for a put that attaches one
	 * (COORD_ELEASE if not). Must depend only on replicated state.
	 * NULL: every lease exists. */
	bool (*lease_exists)(void *ctx, uint64_t lease);
	void *lease_ctx;
};

/* Fills cfg with the defaults of proto/limits.h, libc, no lease check. */
void fsm_config_default(struct fsm_config *cfg);

/*
 * Opens the keyspace stored in backend (empty: revision 0). The backend is
 * borrowed and must outlive the fsm; nothing else may write the fsm's
 * records while the fsm is open. Errors: COORD_EINVAL (a bad config),
 * COORD_ENOMEM, COORD_EIO, COORD_ECORRUPT (a meta record of the wrong
 * size).
 */
int fsm_new(const struct fsm_config *cfg, struct fsm_backend *backend,
	    struct fsm **out);

/* NULL does nothing. */
void fsm_free(struct fsm *f);

/* Flags of fsm_apply() and fsm_events_read(). */
#define FSM_EVENTS (1u << 0)            /* fsm_apply: report events */
#define FSM_EVENTS_PREV_KV (1u << 1)    /* with the version before */

/* What one applied command produced. */
struct fsm_result {
	struct proto_reply reply;
	const struct proto_event *events;   /* in revision order */
	size_t n_events;
};

/*
 * Applies the command of Raft entry index: index must be above
 * fsm_applied_index() (COORD_EINVAL otherwise), and it is recorded in the
 * same atomic backend batch as the command's writes. Returns 0 with the
 * reply (and, with FSM_EVENTS, the events of the writes) in *res, or a
 * local failure (see above). A range command is answered as fsm_range()
 * would, but through the log.
 *
 * Rejected, with nothing changed: COORD_EINVAL (an empty key where one is
 * needed, bad flags, an op type a txn cannot hold), COORD_EKEYTOOBIG,
 * COORD_EVALUETOOBIG, COORD_ETXNTOOBIG (any txn list above the limit),
 * COORD_EDUPKEY (a txn branch that writes one key twice, or puts a key it
 * also deletes), COORD_ELEASE, COORD_ECOMPACTED and COORD_EFUTUREREV (a
 * range revision, or a compaction at or below the compact revision /
 * above the current one).
 */
int fsm_apply(struct fsm *f, uint64_t index, const struct proto_cmd *cmd,
	      unsigned flags, struct fsm_result *res);

/* fsm_apply() of the msgpack-encoded command in data (a Raft entry).
 * Undecodable data is applied as a no-op whose reply.code is
 * COORD_EMALFORMED (reply.type 0): the entry is committed, so every
 * replica must step over it alike. */
int fsm_apply_data(struct fsm *f, uint64_t index, const uint8_t *data,
		   size_t len, unsigned flags, struct fsm_result *res);

/* A read of the current state (a serializable read, or a linearizable
 * one once the read index is applied). Returns the reply's code: COORD_OK,
 * one of the range errors of fsm_apply(), or a local failure. */
int fsm_range(struct fsm *f, const struct proto_range *req,
	      struct proto_reply *reply);

/* Events out of history. */
struct fsm_events {
	const struct proto_event *events;
	size_t n_events;
	uint64_t rev_next;          /* the revision to continue from */
};

/*
 * The events of revisions >= rev_start (>= 1), in revision order, for the
 * keys filter selects (its key, end and PROTO_RANGE_PREFIX/FROM flags;
 * NULL: every key). At most events_max events (0: no limit), but never half
 * a revision: a revision's events all come together, even if that one
 * revision alone exceeds events_max. FSM_EVENTS_PREV_KV adds the version
 * before each event. A start above the current revision gives no events.
 * Errors: COORD_EINVAL (rev_start 0, a bad filter), COORD_ECOMPACTED
 * (rev_start below fsm_compact_revision()), local failures.
 */
int fsm_events_read(struct fsm *f, uint64_t rev_start,
		    const struct proto_range *filter, size_t events_max,
		    unsigned flags, struct fsm_events *out);

uint64_t fsm_revision(const struct fsm *f);
uint64_t fsm_compact_revision(const struct fsm *f);
uint64_t fsm_applied_index(const struct fsm *f);

/*
 * A 64-bit FNV-1a hash of every record of the keyspace in the backend --
 * keys, values, revisions, history, compact revision -- but not the
 * applied index, so that replicas can compare states reached through
 * different Raft entries. Equal states give equal hashes on every
 * platform. Reads a backend snapshot: O(records).
 */
int fsm_hash(struct fsm *f, uint64_t *hash);

#endif /* COORD_FSM_FSM_H */
