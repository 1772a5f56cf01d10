/*
 * coordd/fsm/fsm.h: the replicated state machine's keyspace and its
 * exactly-once client table.
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
 * caches five counters from it and scratch memory.
 *
 * Errors, two kinds:
 * - The command's own outcome (a key too large, a compacted revision, a
 *   lease that does not exist...) is deterministic. It goes in
 *   reply.code, the command changes nothing (but with a client id its
 *   reply is stored, see below), and fsm_apply() returns 0: the command
 *   was applied (as a no-op), on every replica alike.
 * - A local failure (COORD_ENOMEM, COORD_EIO, COORD_ECORRUPT from the
 *   allocator or the backend) is returned by fsm_apply() itself: the
 *   command was not applied and nothing changed, not even the applied
 *   index. The caller retries it or stops the node; it must not skip it.
 *
 * Exactly-once (the client table). The server proposes every request as a
 * proto_entry (proto/msg.h): [client_id, sequence, ack, now_ms, cmd],
 * applied by fsm_apply_entry_data(). A client id exists only once a
 * REGISTER_CLIENT command (an entry without a client) has committed: its
 * id is that entry's Raft index, so an id is never handed out twice. For
 * each registered id the fsm keeps, in the backend (so in snapshots and
 * fsm_hash(), the same on every replica), its floor (replies below it are
 * gone), its activity time and the encoded replies of its window. An
 * entry with client id c, sequence s and ack a (1 <= a <= s: every
 * sequence below a is answered, the client will not retry it):
 * - c not in the table: FSM_ECLIENT_UNKNOWN (COORD_ECLIENTGONE), whatever
 *   s is, 1 included, and nothing is applied: an id is only ever in the
 *   table between its registration and its expiry or eviction, so a
 *   retry of a request applied before the id was dropped can never apply
 *   again. The client must register again, and count every request whose
 *   earlier send had an unknown outcome as "outcome unknown".
 * - s below the floor: FSM_ECLIENT_STALE_SEQ, nothing applied (the reply
 *   of that request is gone).
 * - the table holds a reply to s: a retry. The stored reply is returned,
 *   byte for byte, and nothing else happens: no write, no event, no
 *   revision; only the applied index moves.
 * - s - max(floor, a) >= COORD_CLIENT_WINDOW_MAX: COORD_EWINDOW, nothing
 *   applied (a client keeps fewer requests in flight than that).
 * - otherwise the command is applied (gaps and any order are allowed,
 *   for pipelined requests), the floor rises to a (never falls), the
 *   replies below it are dropped and the reply to s, error or not, is
 *   stored.
 * Client id 0 means no exactly-once: the command is applied each time it
 * is committed. Replies of the table errors carry the command's type, the
 * current revisions and an empty body; none of them is stored.
 *
 * Time. The fsm has no clock: an entry's now_ms is the proposing leader's
 * cluster time, and the fsm keeps the cluster clock as the largest now_ms
 * of any applied entry or CLIENTS_EXPIRE (fsm_clients_clock_ms()). A
 * client's activity time is that clock after its entry (or registration),
 * rounded down to COORD_CLIENT_ACTIVE_GRAIN_MS. So a now_ms that
 * goes backwards (a new leader whose clock is behind) moves nothing back:
 * the clock stands still until it catches up, and entries live longer,
 * never shorter. A leader must not run ahead either: it should propose
 * fsm_clients_clock_ms() as of when it took office plus the time elapsed
 * since on its own monotonic clock, so that cluster time is continuous
 * across leaders (it then runs slightly slow, the safe direction).
 *
 * Bounds. CLIENTS_EXPIRE [now_ms, idle_ms] (an internal command, client
 * id 0, proposed by the leader every COORD_CLIENT_EXPIRE_INTERVAL_MS with
 * idle_ms = COORD_CLIENT_IDLE_MS, proto/limits.h) first advances the clock
 * to now_ms, then drops every entry whose activity time is below clock -
 * idle_ms (none while clock <= idle_ms); its reply counts them. The table
 * holds at most cfg.clients_max entries: REGISTER_CLIENT [horizon_ms]
 * into a full table evicts the entry least recently active (ties: the
 * lowest client id) in the same command if clock - its activity time >=
 * horizon_ms, and is refused with COORD_ECLIENTSFULL otherwise (nothing
 * changes but the clock): an entry whose client may still be retrying is
 * never dropped to make room. Both are functions of replicated state
 * only, so every replica drops the same entries. Neither changes the
 * revision: the table is not part of the keyspace. A stored reply is as
 * large as the reply itself: the server proposes reads (RANGE) with
 * client id 0.
 *
 * Memory: replies and events point into memory of the fsm, valid until the
 * next call of fsm_apply(), fsm_apply_data(), fsm_apply_entry(),
 * fsm_apply_entry_data(), fsm_range(), fsm_events_read(),
 * fsm_queue_status(), fsm_lock_check(), fsm_queues_each(), fsm_lease_keys(),
 * fsm_election_leader() or fsm_free().
 * Commands are borrowed.
 */
#ifndef COORD_FSM_FSM_H
#define COORD_FSM_FSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coordd/fsm/backend.h"
#include "proto/alloc.h"
#include "proto/errors.h"
#include "proto/limits.h"
#include "proto/msg.h"

struct fsm;

struct fsm_config {
	const struct coord_allocator *alloc;    /* NULL: libc; borrowed */
	size_t key_bytes_max;       /* COORD_EKEYTOOBIG above; >= 1 */
	size_t value_bytes_max;     /* COORD_EVALUETOOBIG above */
	size_t txn_ops_max;         /* per txn list; COORD_ETXNTOOBIG above */
	/* Whether a non-zero lease exists, for a put that attaches one
	 * (COORD_ELEASE if not). Must depend only on replicated state.
	 * NULL: the fsm's own leases (LEASE_GRANT, SESSION_OPEN; not
	 * ended). */
	bool (*lease_exists)(void *ctx, uint64_t lease);
	void *lease_ctx;
	/* Entries of the client table (>= 1); a registration beyond them
	 * evicts the least recently active client if it is idle past the
	 * command's horizon, else is refused. Must be equal on every
	 * replica. */
	uint64_t clients_max;
	/* Bytes of key-values one applied command may return (>= 1):
	 * COORD_EREPLYTOOBIG above, counted as proto/limits.h's
	 * COORD_APPLY_REPLY_BYTES_MAX says. Must be equal on every replica.
	 * fsm_range() is not bound by it. */
	size_t reply_bytes_max;
	/* Leases, sessions and locks (see "Leases, sessions, locks" below);
	 * each >= 1 and equal on every replica. */
	uint64_t leases_max;        /* sessions count as leases */
	uint64_t sessions_max;
	uint64_t waiters_max;       /* per queue */
	uint64_t locks_per_session_max;     /* holds + waits */
	uint64_t lease_drift_ms;    /* overdue: clock > ka_ms + ttl + drift, */
	uint64_t lease_drift_ppm;   /* drift: these two (fsm_lease_drift()) */
	/* Job queues (job.c), equal on every replica; 0: the default of
	 * proto/limits.h. */
	uint64_t job_queue_len_max; /* pending + claimed + dead per queue */
	uint64_t job_queues_max;    /* queues holding jobs */
	uint64_t job_done_kept;     /* completed jobs kept per queue */
};

/* The drift allowance of a lease of ttl_ms: drift_ms + ttl_ms * ppm /
 * 1,000,000 (saturating). One rule for the fsm and the leader's timer. */
uint64_t fsm_lease_drift(uint64_t drift_ms, uint64_t ppm, uint64_t ttl_ms);

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

/* Queue kinds (proto/msg.h's PROTO_QUEUE_*). */
#define FSM_QUEUE_LOCK PROTO_QUEUE_LOCK
#define FSM_QUEUE_JOB PROTO_QUEUE_JOB
#define FSM_QUEUE_ELECTION PROTO_QUEUE_ELECTION
#define FSM_QUEUE_SEM PROTO_QUEUE_SEM

struct fsm_grant {          /* a waiter granted by this command */
	uint8_t kind;           /* FSM_QUEUE_LOCK ... */
	struct proto_bytes name;
	uint64_t session;
	uint64_t token;
	uint64_t job_id;        /* FSM_QUEUE_JOB: the job claimed, */
	struct proto_bytes job; /* its payload */
	uint32_t attempts;      /* and attempts so far */
};

struct fsm_lease_touch {    /* granted or kept alive by this command */
	uint64_t lease;
	uint64_t ka_index;
	uint64_t ttl_ms;
};

struct fsm_lease_gone {     /* ended by this command */
	uint64_t lease;
	int why;                /* COORD_ESESSION_EXPIRED (expired),
				   COORD_ESESSION (closed/revoked) */
	bool session;
};

/* A queue that will need a QUEUE_KICK: it has waiters, and either a
 * lock-delay or a waiter's deadline ends at wake_ms (cluster time;
 * the earliest of them). In a struct fsm_result, wake_ms 0: a queue that
 * needs no kick (any more). */
struct fsm_queue_wake {
	uint8_t kind;
	struct proto_bytes name;    /* valid during the callback, or as a
				       reply's */
	uint64_t wake_ms;
};

/* What one applied command produced. grants, touched and gone are empty
 * for a command error and for a retry (they went out the first time). */
struct fsm_result {
	struct proto_reply reply;
	const struct proto_event *events;   /* in revision order */
	size_t n_events;
	/* Every grant this command made, in order (one the acquiring command
	 * made itself is in its reply too). */
	const struct fsm_grant *grants;
	size_t n_grants;
	const struct fsm_lease_touch *touched;
	size_t n_touched;
	const struct fsm_lease_gone *gone;
	size_t n_gone;
	/* Every queue the command stored, with its wake time after it, in
	 * the order stored (a later one for the same queue supersedes an
	 * earlier one): the leader keeps its QUEUE_KICK timers from these
	 * instead of reading every queue again (fsm_queues_each()). */
	const struct fsm_queue_wake *wakes;
	size_t n_wakes;
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
 *
 * Leases, sessions, locks (the rules are below, "Leases, sessions,
 * locks"): COORD_ETTL, COORD_EEXISTS, COORD_ELEASE, COORD_ESESSION,
 * COORD_ESESSION_EXPIRED, COORD_EBUSY, COORD_ENOTHOLDER, COORD_ENOTFOUND
 * (a cancel without a wait), COORD_EFENCED, COORD_ETOOMANYLEASES,
 * COORD_ETOOMANYSESSIONS, COORD_ETOOMANYWAITERS, COORD_ETOOMANYLOCKS,
 * COORD_EINVAL (an empty or long name, a short secret, an unknown queue
 * kind). A FENCED command is answered with its inner command's type.
 * LEASE_GRANT, KEEPALIVE and SESSION_OPEN take the cluster clock after
 * the entry as the keepalive time: through fsm_apply() (no entry) the
 * clock does not move.
 *
 * A command applied here has no client: no exactly-once, the client table
 * is not consulted (CLIENTS_EXPIRE still expires it).
 */
int fsm_apply(struct fsm *f, uint64_t index, const struct proto_cmd *cmd,
	      unsigned flags, struct fsm_result *res);

/* fsm_apply() of the msgpack-encoded command in data (a Raft entry).
 * Undecodable data is applied as a no-op whose reply.code is
 * COORD_EMALFORMED (reply.type 0): the entry is committed, so every
 * replica must step over it alike. */
int fsm_apply_data(struct fsm *f, uint64_t index, const uint8_t *data,
		   size_t len, unsigned flags, struct fsm_result *res);

/* The reply codes of the client table's own errors. */
#define FSM_ECLIENT_STALE_SEQ COORD_ESTALESEQ
#define FSM_ECLIENT_UNKNOWN COORD_ECLIENTGONE

/* What one applied entry produced. */
struct fsm_entry_result {
	struct fsm_result res;      /* the reply, decoded; events (none for a
				     * retry: they went out the first time) */
	const uint8_t *reply_data;  /* the encoded reply to send the client */
	size_t reply_len;           /* 0: none (an undecodable entry) */
	bool duplicate;             /* a retry, answered from the table */
};

/*
 * Applies entry (a proto_entry) as Raft entry index under the rules of
 * exactly-once above: index as for fsm_apply(). Returns 0 with the result
 * in *out: the reply both decoded and encoded (the bytes to send, the same
 * bytes for every retry), and with FSM_EVENTS the events. Local failures
 * as for fsm_apply(): nothing changed. COORD_EINVAL, nothing changed: a
 * bad index, client_id and sequence not paired as the wire format demands,
 * a command type out of range. CLIENTS_EXPIRE with a client id fails with
 * COORD_EINVAL in the reply (it is internal).
 */
int fsm_apply_entry(struct fsm *f, uint64_t index,
		    const struct proto_entry *entry, unsigned flags,
		    struct fsm_entry_result *out);

/* fsm_apply_entry() of the msgpack-encoded entry in data, the bytes of a
 * committed Raft entry. Undecodable data (a bare command included) is
 * applied as a no-op whose reply.code is COORD_EMALFORMED, reply.type 0
 * and reply_len 0: the server answers its client from its own records. */
int fsm_apply_entry_data(struct fsm *f, uint64_t index, const uint8_t *data,
			 size_t len, unsigned flags,
			 struct fsm_entry_result *out);

/* A client table entry, as fsm_client_lookup() reports it. */
struct fsm_client_info {
	uint64_t floor;             /* replies below it are dropped */
	uint64_t active_ms;         /* activity time (rounded, see Time) */
	uint64_t n_replies;         /* replies kept (the window) */
};

/* The client table's entry for client_id. COORD_ENOTFOUND when there is
 * none; local failures. */
int fsm_client_lookup(struct fsm *f, uint64_t client_id,
		      struct fsm_client_info *info);

/* Whether the table keeps client_id's reply to sequence (false on any
 * error). */
bool fsm_client_has_reply(struct fsm *f, uint64_t client_id,
			  uint64_t sequence);

/* The member table: addresses of the cluster's members, written by the
 * internal MEMBER_PUT / MEMBER_DEL commands (proto/msg.h). Neither
 * changes the revision; both are in snapshots and fsm_hash(). */
struct fsm_member {
	uint64_t id;
	char name[COORD_NAME_BYTES_MAX + 1];
	char peer_addr[COORD_ADDR_BYTES_MAX + 1];
	char client_addr[COORD_ADDR_BYTES_MAX + 1];
	char http_addr[COORD_ADDR_BYTES_MAX + 1];   /* "": none published */
	bool promote;       /* make it a voter once it has caught up */
};

/* Up to max members in id order into out; *n how many. Local failures,
 * COORD_ECORRUPT for a record that does not parse. */
int fsm_members(struct fsm *f, struct fsm_member *out, size_t max, size_t *n);

/* Entries in the client table, and the cluster clock (see Time above). */
uint64_t fsm_clients_count(const struct fsm *f);
uint64_t fsm_clients_clock_ms(const struct fsm *f);

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
 * A 64-bit hash of the fsm's state -- keys, values, revisions, history,
 * compact revision, leases, members, client table, cluster clock -- but
 * not the applied index, so that replicas can compare states reached
 * through different Raft entries. Equal states give equal hashes on every
 * platform. Incremental: every record adds fmix64(FNV-1a(key, value)) to
 * a sum modulo 2^64 that each write moves and the meta record keeps (so a
 * snapshot carries it), and fsm_hash() mixes that sum with the counters:
 * O(1), never an error.
 */
int fsm_hash(struct fsm *f, uint64_t *hash);

/* The same hash computed from scratch over every record of the backend:
 * O(records), for tests and offline checks; equal to fsm_hash() unless a
 * record was written around the fsm. Local failures. */
int fsm_hash_scan(struct fsm *f, uint64_t *hash);

/*
 * Quota (quota13, coordd/fsm/quota.c; docs/quota.md). Two byte counts of
 * replicated records (key + value as stored), kept incrementally by every
 * write: the keyspace ('k' versions with their history until compaction,
 * 'r' history index, 'l' lease attachments) and coordination state ('L'
 * leases and sessions, 'o' owners, 'q' queues, 'j' job queues: every
 * record kind but the keyspace's, the client table's, the member
 * table's and the fsm's own counters, so a new primitive's records count
 * without a change). The
 * quotas in force are replicated too: QUOTA_SET [quota_bytes,
 * coord_quota_bytes] (internal: with a client id it is COORD_EINVAL; the
 * leader proposes it when its own flags differ) writes them; before the
 * first one there is none. So every replica judges alike.
 * - Keyspace: a command that writes a value (a key version that is not a
 *   tombstone, whatever the command: put, txn, fenced, release-put, ...;
 *   but not a key under COORD_RESERVED_KEY_PREFIX, which only the fsm
 *   writes, for a primitive: an election's leader key)
 *   and leaves the keyspace above quota_bytes, or runs while the NOSPACE
 *   alarm is raised, is refused with COORD_ENOSPACE: it changes nothing,
 *   but the refusal raises the alarm (recording the entry's index). The
 *   alarm is replicated state (snapshots, restarts). Commands that write
 *   no value -- reads, deletes, delete-only txns, compaction, leases,
 *   sessions, locks, jobs -- are never refused by it.
 * - The alarm clears when a command leaves the keyspace at or under
 *   COORD_QUOTA_LOW_WATER_PCT % of the quota (compaction frees history;
 *   deletes only add tombstones), when the quota is removed, and by
 *   ALARM_DISARM [] (an admin's; a later value past the quota raises it
 *   again).
 * - Coordination: a command of a client (an entry with a client id, or
 *   fsm_apply()) that grows coordination state and leaves it above
 *   coord_quota_bytes is refused with COORD_ECOORDSPACE, changing
 *   nothing. A command that keeps or shrinks it (keepalive, release,
 *   close) and the server's own commands (expiry, kicks) always pass.
 */
struct fsm_quota_info {
	bool set;                   /* a QUOTA_SET was applied */
	bool alarm;                 /* NOSPACE raised */
	uint64_t alarm_index;       /* by the entry of this index */
	uint64_t quota_bytes;       /* 0: none */
	uint64_t coord_quota_bytes; /* 0: none */
	uint64_t kv_bytes;          /* the keyspace's bytes */
	uint64_t coord_bytes;       /* coordination state's bytes */
};

void fsm_quota(const struct fsm *f, struct fsm_quota_info *out);

/* The two byte counts summed over every record of the backend:
 * O(records), for tests and for a meta record from before the counts.
 * Local failures. */
int fsm_bytes_scan(struct fsm *f, uint64_t *kv_bytes, uint64_t *coord_bytes);

/*
 * Leases, sessions, locks (coordd/fsm/lease.c, queue.c, lock.c, fence.c).
 *
 * A lease has an id, a TTL and its last keepalive: the Raft index of the
 * command that granted or kept it alive (ka_index) and the cluster clock
 * after it (ka_ms). It is overdue once the cluster clock of a command is
 * past ka_ms + ttl_ms + cfg.lease_drift_ms. The fsm never ends a lease by
 * itself: the leader proposes LEASE_EXPIRE naming the ka_index it saw
 * (stale: a no-op), except that a grant never goes to an overdue session:
 * the granting command expires it first (below). A session is a lease
 * with a secret; its id is its lease's id.
 *
 * Every queue (a lock today; semaphores, elections, job claims later) is
 * (kind, name) with holders and FIFO waiters. Whenever a queue grants --
 * an acquire that finds it free, a release, a session's end, QUEUE_KICK
 * -- it looks at its head waiter: one whose deadline passed is dropped;
 * if the head is grantable (lock.c's policy: exclusive needs no holders,
 * shared only shared holders, and no lock-delay in force), its session
 * is checked: gone (ending in this command) -> dropped; overdue ->
 * dropped and its session expired in the same command (as LEASE_EXPIRE:
 * its other holds released, which may grant elsewhere, through a
 * worklist); else granted with token = this command's revision. FIFO: it
 * stops at the first head it cannot grant.
 *
 * Ending a session (close, revoke, expire) releases every hold, removes
 * every wait, deletes the keys attached to its lease and its records, in
 * one command; on expiry each lock it held gets delay_until = clock +
 * that hold's lock_delay_ms. Every command that changes lease, session or
 * lock state moves the revision by one (events only for keys).
 */
#define FSM_LEASE_SECRET_MAX COORD_SECRET_BYTES_MAX

/*
 * Elections (coordd/fsm/election.c), a queue of kind FSM_QUEUE_ELECTION
 * whose one holder is the leader and whose waiters are the candidates:
 * - ELECTION_CAMPAIGN (name, session, value, deadline_ms): the session
 *   must live and not be overdue (COORD_ESESSION, _EXPIRED). No leader
 *   and no one queued: elected now, token = this command's revision.
 *   Otherwise queued FIFO (granted later by the queue's rule above) until
 *   deadline_ms (0: none). A campaign of the leader returns its token
 *   again (its value unchanged); a queued candidate's second campaign
 *   changes nothing. A candidate whose session ends, or whose deadline
 *   passes, leaves without being elected.
 * - ELECTION_PROCLAIM (name, session, token, value): only the leader, by
 *   session and token (COORD_ENOTELECTED otherwise); sets the value and
 *   moves the revision.
 * - ELECTION_RESIGN (name, session, token): the leader with that token
 *   steps down and the next candidate is elected in the same command; a
 *   token that is not the current leader's is COORD_OK and changes
 *   nothing (idempotent). Token 0 withdraws the session's queued
 *   campaign (COORD_ENOTFOUND when it has none).
 * - The leader's session ending elects the next candidate in the same
 *   command.
 * The leader is also a key of the keyspace, COORD_ELECTION_KEY_PREFIX
 * name, value session:8 token:8 value (big-endian), written (or deleted:
 * no leader) in the command that changes it, so that its history is a
 * key's history (ELECTION_OBSERVE, compaction, snapshots). A fence of
 * kind FSM_QUEUE_ELECTION holds while its token is the leader's.
 * Errors: COORD_EINVAL (empty or long name), COORD_EVALUETOOBIG (value
 * over COORD_ELECTION_VALUE_BYTES_MAX or cfg.value_bytes_max - 16),
 * COORD_EBUSY (a deadline already passed), COORD_ETOOMANYWAITERS,
 * COORD_ETOOMANYLOCKS (the session's own limit, shared with locks).
 */
struct fsm_leader {
	uint64_t session;           /* 0: no leader */
	uint64_t token;
	struct proto_bytes value;   /* fsm memory, as a reply's */
	uint64_t revision;          /* of the change that made it so (no
				     * leader: the current revision) */
	uint64_t candidates;        /* queued behind the leader */
};

/* The leader of election name between commands (a read of the current
 * state, as fsm_queue_status()). Local failures, COORD_ECORRUPT. */
int fsm_election_leader(struct fsm *f, struct proto_bytes name,
			struct fsm_leader *out);

/* The election's key in the keyspace (the reserved prefix, then name):
 * bytes written to buf (COORD_ELECTION_KEY_BYTES_MAX at least). */
#define FSM_ELECTION_KEY_BYTES_MAX \
	(sizeof(COORD_ELECTION_KEY_PREFIX) - 1 + COORD_NAME_BYTES_MAX)
size_t fsm_election_key(struct proto_bytes name, uint8_t *buf);
/* Parses the value of an election's key. */
int fsm_election_value_parse(struct proto_bytes v, uint64_t *session,
			     uint64_t *token, struct proto_bytes *value);

struct fsm_lease_info {
	uint64_t id, ttl_ms, ka_index, ka_ms;
	bool session;
	uint8_t secret[COORD_SECRET_BYTES_MAX];
	size_t secret_len;
};

/* The lease id: COORD_ENOTFOUND, local failures. */
int fsm_lease_get(struct fsm *f, uint64_t id, struct fsm_lease_info *out);

/* A page of the keys attached to a lease, in key order. */
struct fsm_lease_keys {
	const struct proto_bytes *keys;
	size_t n;
	bool more;                  /* keys after the last one are left */
};

/* The keys attached to lease id that sort after `after` (empty: from the
 * first): at most keys_max (>= 1) keys and, past the first, at most
 * bytes_max bytes of keys; out->more when the page was cut. The keys are
 * fsm memory (see Memory above). COORD_ENOTFOUND for no such lease, local
 * failures. */
int fsm_lease_keys(struct fsm *f, uint64_t id, struct proto_bytes after,
		   size_t keys_max, size_t bytes_max,
		   struct fsm_lease_keys *out);

/* Every lease in id order (the server rebuilds its timers after start or
 * a snapshot install); a non-zero cb return stops and is returned. */
int fsm_leases_each(struct fsm *f,
		    int (*cb)(void *ctx, const struct fsm_lease_info *l),
		    void *ctx);

struct fsm_holder {
	uint64_t session, token, since_ms;
	uint8_t mode;
};

struct fsm_waiter {
	uint64_t session, since_ms, deadline_ms;
	uint8_t mode;
};

struct fsm_queue_status {
	uint64_t delay_until_ms;    /* no grant before (cluster time) */
	const struct fsm_holder *holders;
	size_t n_holders;
	const struct fsm_waiter *waiters;   /* FIFO order, the first ones */
	size_t n_waiters;           /* <= waiters_max */
	uint64_t waiters_total;     /* all of them */
	uint64_t permits;           /* a semaphore's N; 0: not in use */
};

/* The state of queue (kind, name): an unknown one is COORD_OK with
 * nothing held and no waiters. The arrays are fsm memory, valid as a
 * reply's (see Memory above; this call counts as one of those calls).
 * Local failures, COORD_ECORRUPT. */
int fsm_queue_status(struct fsm *f, uint8_t kind, struct proto_bytes name,
		     size_t waiters_max, struct fsm_queue_status *out);

/* Whether token is a current hold of lock name (*current), and the
 * token of its (first) holder, 0 if none. Local failures. */
int fsm_lock_check(struct fsm *f, struct proto_bytes name, uint64_t token,
		   bool *current, uint64_t *holder_token);

/* Every queue with waiters and a lock-delay or deadline, in (kind, name)
 * order: the leader's QUEUE_KICK timers after a restart. A non-zero cb
 * return stops and is returned. */
int fsm_queues_each(struct fsm *f,
		    int (*cb)(void *ctx, const struct fsm_queue_wake *w),
		    void *ctx);

/*
 * Job queues (coordd/fsm/job.c; docs/jobs.md). A queue holds jobs
 * pending (FIFO), claimed, dead or done. ENQUEUE appends a job whose id is
 * the command's revision (a unique key already in the queue returns that
 * job's id instead and adds nothing). CLAIM is a wait of queue.c's queue
 * (FSM_QUEUE_JOB, name): a claimer is granted (FIFO, liveness re-verified
 * as for locks) when a job is pending and no earlier claimer waits; the
 * grant takes the head job and its token is the granting command's
 * revision. A session holds at most one claim per queue: a claim while it
 * holds one returns that one. COMPLETE(job, token) and FAIL(job, token)
 * are fenced by the claim's token (COORD_ESTALECLAIM otherwise). FAIL and
 * the end of the claimer's session count one attempt and put the job back
 * at the head (FAIL: or the tail), or on the dead list once it had
 * max_attempts attempts. FAIL of job id 0 cancels the session's waiting
 * claim (COORD_ENOJOB when it waits for none).
 */
struct fsm_job_info {
	uint64_t id;
	uint8_t state;              /* PROTO_JOB_PENDING ... */
	uint32_t attempts;          /* claims that ended unfinished */
	uint32_t max_attempts;      /* 0: unlimited */
	uint64_t session;           /* claimed/done: the (last) claimer */
	uint64_t token;             /* claimed/done: its claim token */
	uint64_t cursor;            /* its place in the list of its state */
	struct proto_bytes payload;
	struct proto_bytes result;  /* done */
	struct proto_bytes unique_key;
};

struct fsm_job_counts {
	uint64_t pending, claimed, dead, done;
};

/* One job of queue: COORD_ENOJOB, local failures. Memory as a reply's. */
int fsm_job_inspect(struct fsm *f, struct proto_bytes queue, uint64_t id,
		    struct fsm_job_info *out);

/* The job session's claim on queue holds: COORD_ENOJOB when none. */
int fsm_job_claimed_by(struct fsm *f, struct proto_bytes queue,
		       uint64_t session, struct fsm_job_info *out);

/* The counts of queue (zeros for an unknown one) and up to max jobs in
 * state, in list order (pending: FIFO; claimed, dead: by id; done: in
 * completion order) from cursor on (0: the start); *next: the cursor of
 * the first job left out (0: none). Items in fsm memory, as a reply's.
 * COORD_EINVAL for an unknown state, local failures. */
int fsm_job_list(struct fsm *f, struct proto_bytes queue, uint8_t state,
		 uint64_t cursor, size_t max, struct fsm_job_counts *counts,
		 struct fsm_job_info **items, size_t *n, uint64_t *next);

/* Counters for /metrics (O(1)). */
uint64_t fsm_sessions_count(const struct fsm *f);
uint64_t fsm_leases_count(const struct fsm *f);
uint64_t fsm_holds_count(const struct fsm *f);
uint64_t fsm_waiters_count(const struct fsm *f);

#endif /* COORD_FSM_FSM_H */
