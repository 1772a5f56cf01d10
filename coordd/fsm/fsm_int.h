/*
 * coordd/fsm/fsm_int.h: internals shared by the files of coordd/fsm/.
 *
 * Reads during a command go through a view: the backend merged with the
 * overlay, a skip list of the command's pending writes. The overlay
 * becomes one atomic backend batch when the command succeeds and is
 * dropped when it fails, so a command changes all or nothing and its later
 * ops see its earlier writes. Rule: after a write to the overlay, the next
 * use of a view iterator is a seek.
 */
#ifndef COORD_FSM_FSM_INT_H
#define COORD_FSM_FSM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coordd/fsm/backend.h"
#include "coordd/fsm/fsm.h"
#include "proto/arena.h"
#include "proto/buf.h"
#include "proto/errors.h"
#include "proto/msg.h"

/* Record kinds: the first byte of every key the fsm stores. */
#define FSM_KIND_ACTIVE 'a'
#define FSM_KIND_CLIENT 'c'
#define FSM_KIND_KEY 'k'
#define FSM_KIND_LEASE 'l'
#define FSM_KIND_META 'm'
#define FSM_KIND_MEMBER 'n'
#define FSM_KIND_REV 'r'
/* Job queues (job.c; backend.h has the layout). */
#define FSM_KIND_JOB 'j'
/* Leases, sessions, locks (backend.h has their layout). */
#define FSM_KIND_LEASE_REC 'L'
#define FSM_KIND_OWNER 'o'
#define FSM_KIND_QUEUE 'q'
#define FSM_KIND_USAGE 'u'
/* quota13: the quotas in force and the NOSPACE alarm (quota.c). */
#define FSM_KIND_QUOTA 'Q'

/* A 'k' record's value: flags, create_revision, version, lease, sub. */
#define FSM_KREC_HDR_BYTES 29
#define FSM_KREC_TOMBSTONE 0x01

/* A 'c' record's value: active_ms, floor, then the stored replies. */
#define FSM_CREC_HDR_BYTES 16
/* 'c' client_id, and 'a' active_ms client_id. */
#define FSM_CKEY_BYTES 9
#define FSM_AKEY_BYTES 17

/* A growable scratch buffer (allocator memory, kept across calls). */
struct fsm_kbuf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

/* A parsed 'k' record. value points into the source until it moves. */
struct fsm_krec {
	bool tombstone;
	uint64_t create_revision;
	uint64_t version;
	uint64_t lease;
	uint32_t sub;
	const uint8_t *value;
	size_t value_len;
};

#define FSM_OV_LEVELS 20

struct fsm_ov_node {
	const uint8_t *key;
	size_t key_len;
	const uint8_t *value;
	size_t value_len;
	bool deleted;
	unsigned levels;
	struct fsm_ov_node *next[];
};

struct fsm_overlay {
	struct fsm_ov_node *head[FSM_OV_LEVELS];
	size_t n;                   /* nodes */
	uint64_t rng;               /* xorshift state for node levels */
};

/* Which user keys a range or delete selects. */
struct fsm_bounds {
	struct proto_bytes start;
	struct proto_bytes end;     /* exclusive; unused when end_inf */
	bool end_inf;
};

/* Live leases, sessions, holds and waiters (the 'u' record). */
struct fsm_usage {
	uint64_t leases;
	uint64_t sessions;
	uint64_t holds;
	uint64_t waiters;
};

/* quota13: the 'Q' record (quota.c). */
struct fsm_quota {
	bool set;                   /* a QUOTA_SET was applied */
	bool alarm;                 /* NOSPACE raised */
	uint64_t quota_bytes;       /* 0: none */
	uint64_t coord_quota_bytes; /* 0: none */
	uint64_t alarm_index;       /* the entry that raised it */
};

/* A session to end in this command (the worklist of lease.c). */
struct fsm_ending {
	uint64_t lease;
	int why;
};

struct fsm {
	struct fsm_config cfg;
	struct fsm_backend *b;
	uint64_t revision;
	uint64_t compact_revision;
	uint64_t applied_index;
	uint64_t clock_ms;          /* the cluster clock */
	uint64_t clients;           /* entries in the client table */
	uint64_t hash;              /* sum of the records' hash terms */
	/* quota13: bytes (key + value) of the records the quotas count
	 * (quota.c, fsm_bytes_kind()), kept in the meta record. */
	uint64_t kv_bytes;
	uint64_t coord_bytes;
	struct fsm_quota quota;

	struct proto_arena arena;   /* replies, events, overlay: one call */
	struct fsm_overlay ov;

	/* The command being applied. */
	uint64_t rev_new;           /* revision its writes get */
	uint32_t sub;               /* changes so far; > 0: revision + 1 */
	uint64_t compact_new;       /* compact revision afterwards */
	uint64_t clock_new;         /* clock_ms afterwards */
	uint64_t clients_new;       /* clients afterwards */
	uint64_t hash_new;          /* hash afterwards */
	uint64_t kv_bytes_new;      /* quota13: the byte counts afterwards */
	uint64_t coord_bytes_new;
	struct fsm_quota quota_new;
	bool wrote_value;           /* a live key version was written */
	bool internal;              /* an entry without a client */
	unsigned flags;             /* FSM_EVENTS... */
	size_t reply_bytes_left;    /* of cfg.reply_bytes_max */
	struct proto_event *events;
	size_t n_events;
	size_t cap_events;

	/* Scratch keys, one per use so that none is clobbered by another. */
	struct fsm_kbuf find_key;   /* fsm_mvcc_find(): the record's key */
	struct fsm_kbuf scan_seek;
	struct fsm_kbuf scan_ukey;
	struct fsm_kbuf scan_group;
	struct fsm_kbuf write_key;

	struct proto_buf reply;     /* an entry's encoded reply */

	/* Leases, sessions, locks: counters, and what the call produced. */
	struct fsm_usage usage;
	struct fsm_usage usage_new;
	struct fsm_grant *grants;
	size_t n_grants, cap_grants;
	struct fsm_lease_touch *touched;
	size_t n_touched, cap_touched;
	struct fsm_lease_gone *gone;
	size_t n_gone, cap_gone;
	struct fsm_queue_wake *wakes;
	size_t n_wakes, cap_wakes;
	struct fsm_ending *ending;
	size_t n_ending, cap_ending;
};

/* A parsed 'c' record. Pointers go into the backend's memory: valid
 * until its next get() or write(). */
struct fsm_client {
	uint64_t active_ms;
	uint64_t floor;             /* replies below it are dropped */
	const uint8_t *replies;     /* [sequence:8 len:4 reply]... rising */
	size_t replies_len;
	const uint8_t *raw;         /* the whole value */
	size_t raw_len;
};

/* A merged, ordered iterator over backend and overlay. */
struct fsm_view_iter {
	struct fsm *f;
	struct fsm_backend_iter *bit;
	struct fsm_ov_node *on;     /* overlay cursor */
	int src;                    /* VIEW_NONE, VIEW_BACKEND, VIEW_OVERLAY */
	bool shadow;                /* the backend is at the overlay's key */
};

/* view.c: scratch buffers. */
int fsm_kbuf_reserve(struct fsm *f, struct fsm_kbuf *k, size_t more);
int fsm_kbuf_set(struct fsm *f, struct fsm_kbuf *k, const uint8_t *p,
		 size_t n);
int fsm_kbuf_append(struct fsm *f, struct fsm_kbuf *k, const uint8_t *p,
		    size_t n);
int fsm_kbuf_append_u64(struct fsm *f, struct fsm_kbuf *k, uint64_t v);
void fsm_kbuf_free(struct fsm *f, struct fsm_kbuf *k);

/* view.c: key layout. */
void fsm_be64_put(uint8_t *p, uint64_t v);
uint64_t fsm_be64_get(const uint8_t *p);
void fsm_be32_put(uint8_t *p, uint32_t v);
uint32_t fsm_be32_get(const uint8_t *p);
/* 'k' esc(key), with the 0x00 0x01 terminator if terminated. */
int fsm_kkey_build(struct fsm *f, struct fsm_kbuf *k, const uint8_t *key,
		   size_t key_len, bool terminated);
/* Splits a 'k' record key: the user key into ukey, the length of the
 * group prefix ('k' esc(key) 0x00 0x01) and the revision. COORD_ECORRUPT
 * if it is not a well-formed 'k' key. */
int fsm_kkey_parse(struct fsm *f, const uint8_t *k, size_t len,
		   struct fsm_kbuf *ukey, size_t *group_len, uint64_t *rev);
int fsm_krec_parse(const uint8_t *v, size_t len, struct fsm_krec *rec);
/* The record value in arena memory; NULL when the arena fails. */
uint8_t *fsm_krec_build(struct fsm *f, const struct fsm_krec *rec,
			size_t *len);

/* view.c: the overlay. Keys and values are copied into the arena. Each
 * write also moves the state hash (f->hash_new), so the writer names what
 * the key holds in the view before it: fsm_ov_put() for a key that holds
 * nothing, fsm_ov_replace() and fsm_ov_del() with the value it holds. */
void fsm_ov_reset(struct fsm_overlay *ov);
int fsm_ov_put(struct fsm *f, const uint8_t *key, size_t key_len,
	       const uint8_t *value, size_t value_len);
int fsm_ov_replace(struct fsm *f, const uint8_t *key, size_t key_len,
		   const uint8_t *value, size_t value_len, const uint8_t *old,
		   size_t old_len);
int fsm_ov_del(struct fsm *f, const uint8_t *key, size_t key_len,
	       const uint8_t *old, size_t old_len);
/* view.c: one record's term of the state hash (0 for the meta record,
 * which is not hashed), and FNV-1a of v's eight big-endian bytes after h. */
uint64_t fsm_hash_record(const uint8_t *key, size_t key_len,
			 const uint8_t *value, size_t value_len);
uint64_t fsm_hash_mix(uint64_t h, uint64_t v);
const struct fsm_ov_node *fsm_ov_first(const struct fsm_overlay *ov);
/* The overlay's node of key (a pending write or delete), or NULL. */
const struct fsm_ov_node *fsm_ov_find(struct fsm_overlay *ov,
				      const uint8_t *key, size_t key_len);

/* view.c: view iterators. */
int fsm_view_open(struct fsm *f, struct fsm_view_iter *it);
void fsm_view_close(struct fsm_view_iter *it);
void fsm_view_seek(struct fsm_view_iter *it, const uint8_t *key,
		   size_t key_len);
bool fsm_view_valid(const struct fsm_view_iter *it);
void fsm_view_next(struct fsm_view_iter *it);
const uint8_t *fsm_view_key(const struct fsm_view_iter *it, size_t *len);
const uint8_t *fsm_view_value(const struct fsm_view_iter *it, size_t *len);
int fsm_view_status(const struct fsm_view_iter *it);

/* mvcc.c: reads. */
int fsm_bounds_make(struct fsm *f, struct proto_bytes key,
		    struct proto_bytes end, uint32_t flags,
		    struct fsm_bounds *b);
bool fsm_bounds_contains(const struct fsm_bounds *b, const uint8_t *key,
			 size_t key_len);
int fsm_mvcc_find(struct fsm *f, struct fsm_view_iter *it,
		  const uint8_t *key, size_t key_len, uint64_t rev,
		  bool *found, uint64_t *rec_rev, struct fsm_krec *rec);
int fsm_kv_copy(struct fsm *f, struct proto_kv *dst, const struct proto_kv *src,
		bool with_value);

/* mvcc.c: commands. Each returns COORD_OK, a command error (goes in the
 * reply, nothing written) or a local failure. */
int fsm_check_range(const struct fsm *f, const struct proto_range *r);
int fsm_check_range_rev(const struct fsm *f, uint64_t rev);
int fsm_do_range(struct fsm *f, const struct proto_range *r, uint64_t rev,
		 struct proto_range_reply *out);
int fsm_cmd_put(struct fsm *f, const struct proto_put *p,
		struct proto_put_reply *out);
int fsm_cmd_delete(struct fsm *f, const struct proto_delete *d,
		   struct proto_delete_reply *out);
int fsm_cmd_txn(struct fsm *f, const struct proto_txn *t,
		struct proto_txn_reply *out);
int fsm_cmd_compact(struct fsm *f, uint64_t rev);
int fsm_cmd_lease_end(struct fsm *f, uint64_t lease,
		      struct proto_lease_end_reply *out);

/* mvcc.c: counts kv (its value if with_value) against the call's
 * reply_bytes_left; COORD_EREPLYTOOBIG once it is spent. */
int fsm_reply_charge(struct fsm *f, const struct proto_kv *kv,
		     bool with_value);

/* clients.c: the client table. Its records are written only at the end
 * of a call (fsm_client_store) or by CLIENTS_EXPIRE, which has no client,
 * so the table's reads go to the backend directly: the overlay never
 * holds a record they look for. */
int fsm_client_get(struct fsm *f, uint64_t client_id, bool *found,
		   struct fsm_client *c);
/* The stored reply to sequence, if c holds one. */
bool fsm_client_reply(const struct fsm_client *c, uint64_t sequence,
		      const uint8_t **reply, size_t *reply_len);
uint64_t fsm_client_n_replies(const struct fsm_client *c);
/* Records reply as client_id's answer to sequence at clock_new, drops
 * the replies below ack; old is the entry fsm_client_get() found (it must
 * not hold sequence, and sequence must be within the window). */
int fsm_client_store(struct fsm *f, uint64_t client_id,
		     const struct fsm_client *old, uint64_t sequence,
		     uint64_t ack, const uint8_t *reply, size_t reply_len);
/* REGISTER_CLIENT as Raft entry index: the new id is index. */
int fsm_cmd_register_client(struct fsm *f, uint64_t index,
			    const struct proto_register_client *r,
			    struct proto_register_client_reply *out);
int fsm_cmd_clients_expire(struct fsm *f, const struct proto_clients_expire *x,
			   struct proto_clients_expire_reply *out);

/* members.c: the member table. */
int fsm_cmd_member_put(struct fsm *f, const struct proto_member_put *m);
int fsm_cmd_member_del(struct fsm *f, const struct proto_member_del *m);

/* record.c: point reads and writes of whole records through the view
 * (the overlay first). A value read is an arena copy. fsm_rec_set()
 * with value NULL deletes; it names the old value for the state hash. */
int fsm_rec_get(struct fsm *f, const uint8_t *key, size_t key_len,
		bool *found, const uint8_t **value, size_t *value_len);
int fsm_rec_set(struct fsm *f, const uint8_t *key, size_t key_len,
		const uint8_t *value, size_t value_len);
/* Calls cb with every record of kind in the backend (not the overlay:
 * reads between commands), in key order; a non-zero return stops and is
 * returned. */
int fsm_records_each(struct fsm *f, uint8_t kind,
		     int (*cb)(void *ctx, const uint8_t *k, size_t k_len,
			       const uint8_t *v, size_t v_len),
		     void *ctx);
/* Appends one element of size to an arena array that doubles. */
void *fsm_arr_push(struct fsm *f, void **arr, size_t *n, size_t *cap,
		   size_t size);
/* The command changed lease/session/lock state: the revision moves. */
void fsm_state_changed(struct fsm *f);
/* Loads and stores the 'u' record (fsm_new, and the end of a command). */
int fsm_usage_load(struct fsm *f);
int fsm_usage_store(struct fsm *f);

/* quota13 (quota.c). Which byte count a record's key belongs to: 1
 * the keyspace ('k', 'r', 'l'); 0 neither (the client table 'a' 'c',
 * meta 'm', members 'n', counters 'u', quotas 'Q'); 2 coordination state:
 * every other kind ('L', 'o', 'q', 'j' and any a primitive adds). */
int fsm_bytes_kind(const uint8_t *key, size_t key_len);
/* Moves the byte counts by a record added (sign 1) or removed (-1). */
void fsm_bytes_move(struct fsm *f, const uint8_t *key, size_t key_len,
		    const uint8_t *value, size_t value_len, int sign);
/* Drops the command's writes (a command refused after it wrote). */
void fsm_writes_discard(struct fsm *f);
int fsm_quota_load(struct fsm *f);
/* After a command succeeded: COORD_ENOSPACE / COORD_ECOORDSPACE (its
 * writes dropped, the alarm raised) or COORD_OK. */
int fsm_quota_check(struct fsm *f, uint64_t index);
/* Before a commit: clears the alarm under the low-water mark and writes
 * the 'Q' record if it changed. Local failures. */
int fsm_quota_settle(struct fsm *f);
int fsm_cmd_quota_set(struct fsm *f, const struct proto_quota_set *q);
int fsm_cmd_alarm_disarm(struct fsm *f);

/* A queue loaded for change (queue.c). */
struct fsm_qentry {
	uint64_t session;
	uint64_t token;             /* holders only */
	uint64_t since_ms;
	uint64_t deadline_ms;       /* waiters only; 0: none */
	/* The primitive's own number, stored in the same 8 bytes. */
	union {
		uint64_t lock_delay_ms;     /* a lock's */
		uint64_t permits;           /* a semaphore's N (sem.c) */
	};
	uint8_t mode;
};

struct fsm_queue {
	uint8_t kind;
	struct proto_bytes name;    /* arena copy */
	uint64_t delay_until_ms;
	struct fsm_qentry *holders;
	size_t n_holders, cap_holders;
	struct fsm_qentry *waiters;
	size_t n_waiters, cap_waiters;
	/* Items the policy may still hand out in this command (a job
	 * queue's pending jobs, set by job.c); not stored. */
	uint64_t avail;
};

/* A primitive's grant policy: whether the head waiter in mode may be
 * granted now beside the holders. */
struct fsm_queue_policy {
	bool (*grantable)(const struct fsm *f, const struct fsm_queue *q,
			  uint8_t mode);
	/* A hold ends because its session ends (expired: by expiry). */
	void (*hold_lost)(struct fsm *f, struct fsm_queue *q,
			  const struct fsm_qentry *h, bool expired);
	/* Optional, for a primitive whose grant hands over an item of its
	 * own (a job claim): called after each grant fsm_queue_grant()
	 * makes (h: the new holder, the last of f->grants), and when a
	 * hold ends because its session ends (before it is removed).
	 * Local failures. */
	int (*granted)(struct fsm *f, struct fsm_queue *q,
		       const struct fsm_qentry *h);
	int (*hold_ended)(struct fsm *f, struct fsm_queue *q,
			  const struct fsm_qentry *h, bool expired);
	/* Optional: called by fsm_queue_store() before every store of a
	 * queue of this kind, to bring the primitive's own records in line
	 * with the queue's holders and waiters. */
	int (*settle)(struct fsm *f, const struct fsm_queue *q);
};

/* queue.c */
int fsm_queue_load(struct fsm *f, uint8_t kind, struct proto_bytes name,
		   struct fsm_queue *q);
int fsm_queue_store(struct fsm *f, const struct fsm_queue *q);
/* A lock-delay was set and is over (fsm_queue_grant() clears it). */
bool fsm_queue_delay_over(const struct fsm *f, const struct fsm_queue *q);
/* Index of session among holders / waiters, or -1. */
long fsm_queue_find(const struct fsm_qentry *v, size_t n, uint64_t session);
/* Adds a hold (token: this command's revision) or a wait at the tail,
 * with its owner record. */
int fsm_queue_hold(struct fsm *f, struct fsm_queue *q,
		   const struct fsm_qentry *e, bool owner_exists);
int fsm_queue_wait(struct fsm *f, struct fsm_queue *q,
		   const struct fsm_qentry *e);
/* Removes holders[i] / waiters[i] and its owner record. */
int fsm_queue_unhold(struct fsm *f, struct fsm_queue *q, size_t i);
int fsm_queue_unwait(struct fsm *f, struct fsm_queue *q, size_t i);
/* Grants what can be granted (the rule of fsm.h); *granted counts. */
int fsm_queue_grant(struct fsm *f, struct fsm_queue *q,
		    const struct fsm_queue_policy *pol, uint64_t *granted);
/* Queues session holds or waits on (its owner records): kinds and names
 * in arena memory. */
int fsm_queue_owned(struct fsm *f, uint64_t session, uint8_t **kinds,
		    struct proto_bytes **names, size_t *n, size_t max);
const struct fsm_queue_policy *fsm_queue_policy_of(uint8_t kind);
/* A queue's name (a lock's, semaphore's, election's, job queue's):
 * COORD_EINVAL if empty or longer than COORD_NAME_BYTES_MAX. */
int fsm_queue_check_name(struct proto_bytes name);
/* A session that may hold or queue: COORD_ESESSION (none, or a plain
 * lease), COORD_ESESSION_EXPIRED (overdue). */
int fsm_queue_session_ok(struct fsm *f, uint64_t session);
/* COORD_ETOOMANYLOCKS when session holds or waits on
 * cfg.locks_per_session_max queues (of every kind) already. */
int fsm_queue_session_room(struct fsm *f, uint64_t session);
/* The checks of an acquire of queue q by entry e (now: grantable at
 * once; wait: may queue): a hold of its session is answered with its
 * token and a wait of it as queued (*done, nothing to do); else
 * COORD_EBUSY (not now, and no wait or a deadline past already),
 * COORD_ETOOMANYWAITERS, COORD_ETOOMANYLOCKS. fsm_queue_join() then
 * holds (now) or queues e, and stores q. */
int fsm_queue_join_check(struct fsm *f, const struct fsm_queue *q,
			 const struct fsm_qentry *e, bool now, bool wait,
			 bool *done, struct proto_lock_acquire_reply *out);
int fsm_queue_join(struct fsm *f, struct fsm_queue *q,
		   const struct fsm_qentry *e, bool now,
		   struct proto_lock_acquire_reply *out);
/* Ends session's hold with token (another token: stale is returned,
 * nothing changes), or with token 0 its wait (COORD_ENOTFOUND without
 * one); grants the next waiters, stores the queue and ends the sessions
 * the grant doomed. */
int fsm_queue_release(struct fsm *f, uint8_t kind, struct proto_bytes name,
		      uint64_t session, uint64_t token, int stale);

/* lease.c */
struct fsm_lease_rec {
	uint64_t ttl_ms;
	uint64_t ka_index;
	uint64_t ka_ms;
	bool session;
	struct proto_bytes secret;
};
int fsm_lease_read(struct fsm *f, uint64_t id, bool *found,
		   struct fsm_lease_rec *l);
bool fsm_lease_overdue(const struct fsm *f, const struct fsm_lease_rec *l);
/* Queues lease for ending in this command (no-op if queued already). */
int fsm_lease_doom(struct fsm *f, uint64_t lease, int why);
/* Ends every lease of the worklist, and those their ends doom. */
int fsm_leases_end_doomed(struct fsm *f);
int fsm_cmd_lease(struct fsm *f, uint64_t index, const struct proto_cmd *cmd,
		  struct proto_reply *reply);

/* lock.c */
extern const struct fsm_queue_policy fsm_lock_policy;
int fsm_cmd_lock_acquire(struct fsm *f, const struct proto_lock_acquire_cmd *a,
			 struct proto_lock_acquire_reply *out);
int fsm_cmd_lock_release(struct fsm *f, const struct proto_lock_release *r);
/* perf8: the holder's last write and its release in one command. */
int fsm_cmd_lock_release_write(struct fsm *f,
			       const struct proto_lock_release_write *w,
			       struct proto_reply *reply);
int fsm_cmd_queue_kick(struct fsm *f, const struct proto_queue_kick *k,
		       struct proto_queue_kick_reply *out);

/* job.c: job queues over queue.c (kind FSM_QUEUE_JOB). */
extern const struct fsm_queue_policy fsm_job_policy;
int fsm_cmd_job_enqueue(struct fsm *f, const struct proto_job_enqueue_cmd *c,
			struct proto_job_enqueue_cmd_reply *out);
int fsm_cmd_job_claim(struct fsm *f, const struct proto_job_claim_cmd *c,
		      struct proto_job_claim_cmd_reply *out);
int fsm_cmd_job_complete(struct fsm *f, const struct proto_job_done_cmd *c);
int fsm_cmd_job_fail(struct fsm *f, const struct proto_job_done_cmd *c,
		     struct proto_job_fail_reply *out);

/* fence.c: whether token is a current hold of queue (kind, name)
 * (*current), and the token of its first holder (0: none). */
int fsm_fence_held(struct fsm *f, uint8_t kind, struct proto_bytes name,
		   uint64_t token, bool *current, uint64_t *holder_token);

/* mvcc.c: the reserved key space (COORD_RESERVED_KEY_PREFIX): clients
 * may read it, only the fsm itself writes it. fsm_key_get() reads a
 * key's current version in the command (an arena copy). */
bool fsm_key_reserved(struct proto_bytes key);
int fsm_key_get(struct fsm *f, struct proto_bytes key, bool *live,
		struct proto_kv *kv);
int fsm_key_put_internal(struct fsm *f, struct proto_bytes key,
			 struct proto_bytes value);
int fsm_key_delete_internal(struct fsm *f, struct proto_bytes key);

/* election.c */
extern const struct fsm_queue_policy fsm_election_policy;
int fsm_cmd_election(struct fsm *f, const struct proto_cmd *cmd,
		     struct proto_reply *reply);
/* sem.c */
extern const struct fsm_queue_policy fsm_sem_policy;
int fsm_cmd_sem_acquire(struct fsm *f, const struct proto_sem_acquire_cmd *a,
			struct proto_lock_acquire_reply *out);
int fsm_cmd_sem_release(struct fsm *f, const struct proto_lock_release *r);
/* N of a semaphore's queue: its first holder's or waiter's (0: empty). */
uint64_t fsm_sem_permits(const struct fsm_queue *q);

/* fence.c: checks the fences, then runs the inner command. */
int fsm_cmd_fenced(struct fsm *f, const struct proto_fenced *fd,
		   struct proto_reply *reply);

/* fsm.c: events of the command being applied. */
int fsm_event_add(struct fsm *f, uint8_t type, const struct proto_kv *kv,
		  const struct proto_kv *prev);

static inline bool fsm_is_local_failure(int code)
{
	return code == COORD_ENOMEM || code == COORD_EIO ||
	       code == COORD_ECORRUPT;
}

#endif /* COORD_FSM_FSM_INT_H */
