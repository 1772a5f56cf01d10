/*
 * coordd/fsm/backend.h: the storage the fsm runs on, and the in-memory
 * implementation the tests use.
 *
 * A backend is an ordered map of byte strings (memcmp order, a proper
 * prefix first) with point reads, forward iteration from a key, atomic
 * batches of puts and deletes, and consistent snapshots -- what LevelDB
 * offers, so that coordd/store/ implements it as a thin adapter that puts
 * the fsm's records under a prefix of its own. The fsm owns the meaning of
 * the keys; a backend treats them as opaque.
 *
 * THE KEY LAYOUT (the fsm's records; all integers big-endian, so that byte
 * order is numeric order):
 *
 *   'a' active_ms:8 client_id:8     the client table's index by activity
 *                                   time: expiry and eviction scan it
 *                                   oldest first. Value: empty.
 *   'c' client_id:8                 a client of exactly-once. Value:
 *                                   sequence:8 active_ms:8, then the
 *                                   encoded reply to that sequence.
 *   'j' len:2 queue sub ...         a job queue (job.c, letter 'j' taken
 *                                   by job queues): sub 'M' its counts,
 *                                   'J' id:8 a job, 'P' pos:8 pending
 *                                   (FIFO), 'C' id:8 claimed, 'S'
 *                                   session:8 its claim, 'D' id:8 dead,
 *                                   'X' seq:8 done, 'U' key a unique
 *                                   key; 'j' 0x00 0x00: the queue count.
 *   'k' esc(key) 0x00 0x01 ~rev:8   a version of key, written at main
 *                                   revision rev. ~rev sorts the newest
 *                                   version of each key first. Value:
 *                                   flags:1 (bit 0: tombstone)
 *                                   create_revision:8 version:8 lease:8
 *                                   sub:4 value bytes.
 *   'l' lease:8 key                 key is attached to lease (current
 *                                   versions only). Value: empty.
 *   'L' lease:8                     a lease (lease.c): ttl_ms:8
 *                                   ka_index:8 ka_ms:8 flags:1 (bit 0:
 *                                   a session) secret_len:1 secret.
 *   'm' name                        meta: "revision", "compact", "applied"
 *                                   (the raft index of the last command
 *                                   applied), "clock" (the cluster clock,
 *                                   ms), "clients" (entries in the client
 *                                   table; absent when 0). Value: 8 bytes.
 *   'n' id:8                        a cluster member's addresses: flags:1
 *                                   (bit 0: promote when caught up), then
 *                                   name, peer_addr, client_addr, each
 *                                   len:2 bytes.
 *   'o' session:8 kind:1 name       session holds or waits on queue
 *                                   (kind, name). Value: empty.
 *   'q' kind:1 name                 a queue (queue.c): delay_until:8
 *                                   n_holders:4 n_waiters:4, then each
 *                                   holder, then each waiter in FIFO
 *                                   order: session:8 token:8 since_ms:8
 *                                   deadline_ms:8 lock_delay_ms:8 mode:1.
 *   'Q'                             the storage quotas in force and the
 *                                   NOSPACE alarm (quota.c): flags:1
 *                                   (bit 0: raised) quota_bytes:8
 *                                   coord_quota_bytes:8 alarm_index:8.
 *   'r' rev:8 sub:4                 the history in revision order: the
 *                                   sub-th change of main revision rev.
 *                                   Value: the key.
 *   'u'                             counters (record.c): leases:8
 *                                   sessions:8 holds:8 waiters:8.
 *
 * esc() makes keys of any bytes self-delimiting without changing their
 * order: 0x00 becomes 0x00 0xff, and 0x00 0x01 ends the key. So all
 * versions of one key are adjacent, keys are in key order, and a range
 * read at revision R is one ordered scan that seeks, within each key, to
 * ~R: the first record there is the version visible at R (a tombstone:
 * absent). Watch history is a scan of 'r' from a revision, with a point
 * lookup of each 'k' record. Compaction walks 'r' below the compact
 * revision and deletes each change's predecessor and tombstones.
 * A key's version is never written twice: one command changes a key at
 * most once (a txn that tries fails with COORD_EDUPKEY).
 *
 * Contract for implementations: every function returns COORD_OK or a
 * COORD_E* code (COORD_ENOMEM, COORD_EIO, COORD_ECORRUPT); a failed write
 * changed nothing. Pointers returned by get() stay valid until the next
 * get() or write() on the backend; an iterator's key and value until it
 * moves or is freed. An iterator sees the state of its snapshot, or of the
 * moment it was created when it has none (LevelDB's implicit snapshot).
 * Backends are used from one thread.
 */
#ifndef COORD_FSM_BACKEND_H
#define COORD_FSM_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/alloc.h"

struct fsm_backend;
struct fsm_backend_iter;
struct fsm_backend_snap;

enum fsm_backend_write_type {
	FSM_BACKEND_PUT = 1,
	FSM_BACKEND_DELETE = 2,
};

/* One write of a batch. A later write of the same key in one batch wins. */
struct fsm_backend_write {
	uint8_t type;               /* enum fsm_backend_write_type */
	const uint8_t *key;
	size_t key_len;
	const uint8_t *value;       /* PUT only */
	size_t value_len;
};

struct fsm_backend_ops {
	/* The value of key: COORD_OK and *value, or COORD_ENOTFOUND. */
	int (*get)(struct fsm_backend *b, const uint8_t *key, size_t key_len,
		   const uint8_t **value, size_t *value_len);
	/* Applies n writes atomically: all or none. */
	int (*write)(struct fsm_backend *b,
		     const struct fsm_backend_write *writes, size_t n);
	/* A consistent view of the current state, for iter_new(). */
	int (*snap_new)(struct fsm_backend *b, struct fsm_backend_snap **out);
	void (*snap_free)(struct fsm_backend_snap *s);
	/* An unpositioned iterator over snap (NULL: the current state). */
	int (*iter_new)(struct fsm_backend *b, struct fsm_backend_snap *snap,
			struct fsm_backend_iter **out);
	void (*iter_free)(struct fsm_backend_iter *it);
	/* Positions at the first key >= key (an empty key: the first). */
	void (*iter_seek)(struct fsm_backend_iter *it, const uint8_t *key,
			  size_t key_len);
	bool (*iter_valid)(const struct fsm_backend_iter *it);
	void (*iter_next)(struct fsm_backend_iter *it);
	const uint8_t *(*iter_key)(const struct fsm_backend_iter *it,
				   size_t *len);
	const uint8_t *(*iter_value)(const struct fsm_backend_iter *it,
				     size_t *len);
	/* COORD_OK, or the error that ended the iteration early (iter_valid()
	 * returned false because of it). */
	int (*iter_status)(const struct fsm_backend_iter *it);
};

/* Implementations embed these as their first member. */
struct fsm_backend {
	const struct fsm_backend_ops *ops;
};

struct fsm_backend_iter {
	struct fsm_backend *backend;
};

struct fsm_backend_snap {
	struct fsm_backend *backend;
};

/*
 * The in-memory backend: a sorted array of refcounted records. A write
 * builds a new array by merging the sorted batch into the old one (O(n +
 * m log m)); snapshots and iterators hold a reference to the array they
 * started on, so they cost O(1) and stay consistent. Meant for tests and
 * the simulator, not for a million keys. alloc is borrowed (NULL: libc);
 * every allocation failure is COORD_ENOMEM with nothing changed.
 */
int fsm_backend_mem_new(const struct coord_allocator *alloc,
			struct fsm_backend **out);

/* Frees the backend; its snapshots and iterators must be freed first.
 * NULL does nothing. */
void fsm_backend_mem_free(struct fsm_backend *b);

/* The number of records in the backend's current state. */
size_t fsm_backend_mem_count(const struct fsm_backend *b);

#endif /* COORD_FSM_BACKEND_H */
