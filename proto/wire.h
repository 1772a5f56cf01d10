/*
 * proto/wire.h: the client protocol -- every request a client sends,
 * every reply and every push a server sends, and their msgpack codec.
 * Each message travels in one frame (proto/frame.h). docs/protocol.md
 * describes the same formats for people writing other clients.
 *
 * Every message is one msgpack array:
 *   request   [kind, request_id, client_id, sequence, ack, fences,
 *             fields...]
 *             client_id, sequence and ack only for mutating kinds
 *             (exactly once: the server applies a (client_id, sequence)
 *             at most once and answers a retry with the first reply;
 *             client_id comes from REGISTER_CLIENT, ack is the client's
 *             lowest sequence still unanswered, see proto/msg.h's entry);
 *             fences only for PUT, DELETE and TXN. request_id is the client's, echoed
 *             in the reply so pipelined replies can be matched.
 *   reply     [kind, request_id, code, leader_hint, body]
 *             kind: the request's; code: COORD_OK or a COORD_E*; body: nil
 *             or [fields...] of the kind (always there when code is
 *             COORD_OK; a HELLO reply carries it with
 *             COORD_EPROTOVERSION too). leader_hint: the leader's node id
 *             when known (with COORD_ENOTLEADER: where to go), else 0.
 *   push      [kind, fields...]  kinds >= PROTO_PUSH_FIRST, unasked for.
 * Integers are unsigned, byte strings are bin, flags are bool; the field
 * lists per kind are in the structs below and in docs/protocol.md.
 *
 * The first request on a connection is HELLO; its format is frozen for
 * all versions, and a HELLO or its reply may carry more fields than this
 * version knows (a newer peer's), which a decoder skips. Every other
 * array has exactly its length.
 *
 * Decoders are strict: truncated or trailing bytes, a wrong type or array
 * length, an enum value, flag bit or integer out of range, a byte string
 * or list over its limit (proto/limits.h) -> COORD_EMALFORMED; a kind
 * this version does not know -> COORD_EUNKNOWNMSG. They never assert on
 * input, allocate only lists (from the caller's arena, bounded by the
 * input length) and copy no bytes: byte strings of a decoded message
 * point into the input, which must outlive it.
 */
#ifndef COORD_PROTO_WIRE_H
#define COORD_PROTO_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/arena.h"
#include "proto/buf.h"
#include "proto/msg.h"

/* The client protocol version this code speaks. */
#define PROTO_VERSION 1

/* The kinds of requests; a reply has the kind of its request. */
enum proto_kind {
	PROTO_HELLO = 1,
	PROTO_PUT = 2,              /* mutating, fenced */
	PROTO_RANGE = 3,            /* get and range */
	PROTO_DELETE = 4,           /* mutating, fenced */
	PROTO_TXN = 5,              /* mutating, fenced */
	PROTO_COMPACT = 6,          /* mutating */
	PROTO_WATCH_CREATE = 7,
	PROTO_WATCH_CANCEL = 8,
	PROTO_LEASE_GRANT = 9,      /* mutating */
	PROTO_LEASE_KEEPALIVE = 10,
	PROTO_LEASE_REVOKE = 11,    /* mutating */
	PROTO_LEASE_TTL = 12,
	PROTO_LEASE_LIST = 13,
	PROTO_SESSION_OPEN = 14,    /* mutating */
	PROTO_SESSION_KEEPALIVE = 15,
	PROTO_SESSION_CLOSE = 16,   /* mutating */
	PROTO_SESSION_ATTACH = 17,
	PROTO_LOCK_ACQUIRE = 18,    /* mutating */
	PROTO_LOCK_RELEASE = 19,    /* mutating */
	PROTO_LOCK_CHECK = 20,
	PROTO_SEM_ACQUIRE = 21,     /* mutating */
	PROTO_SEM_RELEASE = 22,     /* mutating */
	PROTO_ELECTION_CAMPAIGN = 23,   /* mutating */
	PROTO_ELECTION_LEADER = 24,
	PROTO_ELECTION_OBSERVE = 25,
	PROTO_ELECTION_PROCLAIM = 26,   /* mutating */
	PROTO_ELECTION_RESIGN = 27,     /* mutating */
	PROTO_JOB_ENQUEUE = 28,     /* mutating */
	PROTO_JOB_CLAIM = 29,       /* mutating */
	PROTO_JOB_COMPLETE = 30,    /* mutating */
	PROTO_MEMBER_LIST = 31,
	PROTO_MEMBER_ADD = 32,      /* mutating */
	PROTO_MEMBER_REMOVE = 33,   /* mutating */
	PROTO_MEMBER_PROMOTE = 34,  /* mutating */
	PROTO_STATUS = 35,
	PROTO_TRANSFER_LEADER = 36,
	PROTO_REGISTER_CLIENT = 37, /* a new exactly-once client id */
	PROTO_LOCK_STATUS = 38,     /* a lock's holders and queue */
	/* sess8: 39-40 */
	PROTO_SESSION_KEEPALIVE_MANY = 39,  /* one per connection and period */
	/* perf8: 41-42 */
	PROTO_LOCK_RELEASE_PUT = 41,    /* mutating: the last write + release */
	/* Semaphores (beside SEM_ACQUIRE, SEM_RELEASE). */
	PROTO_SEM_STATUS = 46,      /* a semaphore's permits, holders, queue */
	/* Job queues (beside JOB_ENQUEUE, JOB_CLAIM, JOB_COMPLETE). */
	PROTO_JOB_FAIL = 48,        /* mutating */
	PROTO_JOB_LIST = 49,
	PROTO_JOB_INSPECT = 50,
	/* quota13: 56-59. The storage quotas (docs/quota.md). */
	PROTO_ALARM_LIST = 56,      /* the quotas, usage and alarms */
	PROTO_ALARM_DISARM = 57,    /* mutating, admin */
};
#define PROTO_KIND_LAST PROTO_ALARM_DISARM

/* The kinds of server pushes. */
enum proto_push_kind {
	PROTO_PUSH_WATCH_EVENTS = 128,
	PROTO_PUSH_WATCH_CANCELED = 129,
	PROTO_PUSH_GRANT = 130,
	PROTO_PUSH_SESSION_LOST = 131,
	PROTO_PUSH_LEADER_CHANGE = 132,
	PROTO_PUSH_ELECTION = 133,
};
#define PROTO_PUSH_FIRST PROTO_PUSH_WATCH_EVENTS
#define PROTO_PUSH_LAST PROTO_PUSH_ELECTION

/* Does a request of this kind carry (client_id, sequence)? fences? */
bool proto_kind_is_mutating(uint32_t kind);
bool proto_kind_is_fenced(uint32_t kind);
/* A member's node id, derived from its name: FNV-1a 64 of the bytes,
 * never 0. Servers and clients derive it alike. */
uint64_t proto_member_id(const char *name, size_t len);

/* The queue kind (PROTO_QUEUE_*) a waited acquire of request_kind
 * queues on: SEM_ACQUIRE a semaphore's, ELECTION_CAMPAIGN an election's,
 * any other a lock's (job claims keep their own: PROTO_QUEUE_JOB). */
uint8_t proto_request_queue_kind(uint32_t request_kind);

/* "PUT", "PUSH_GRANT"...; "?" for an unknown kind. */
const char *proto_kind_name(uint32_t kind);

/* enum proto_lock_mode and struct proto_fence: proto/msg.h. */

/* Lists of a decoded message live in its arena. */
struct proto_fence_list {
	const struct proto_fence *v;
	size_t n;                   /* <= COORD_FENCES_MAX */
};

struct proto_u64_list {
	const uint64_t *v;
	size_t n;
};

struct proto_bytes_list {
	const struct proto_bytes *v;
	size_t n;
};

struct proto_member {
	uint64_t id;                /* != 0 */
	struct proto_bytes name;
	struct proto_bytes peer_addr;
	struct proto_bytes client_addr;
	bool learner;
	struct proto_bytes http_addr;   /* MEMBER_LIST only */
};

struct proto_member_list {
	const struct proto_member *v;
	size_t n;                   /* <= COORD_MEMBERS_MAX */
};

/*
 * Request bodies. Fields in wire order; a comment gives the request's
 * fields after the envelope where they are not a struct of msg.h.
 */

/* HELLO [version, client_name, cluster_id]: cluster_id 0 accepts any. */
struct proto_hello {
	uint64_t version;
	struct proto_bytes client_name;     /* <= COORD_NAME_BYTES_MAX */
	uint64_t cluster_id;
};

/* RANGE [key, end, flags, limit, revision, sort_order, sort_target,
 * serializable]: a get is a range of one key. serializable: served from
 * the local replica without a ReadIndex round (may be stale). */
struct proto_range_req {
	struct proto_range range;
	bool serializable;
};

/* WATCH_CREATE [key, end, flags, start_revision, prev_kv]: flags are
 * PROTO_RANGE_PREFIX / PROTO_RANGE_FROM (proto_delete's set).
 * start_revision 0: from the next revision. */
struct proto_watch_create {
	struct proto_bytes key;
	struct proto_bytes end;
	uint32_t flags;
	uint64_t start_revision;
	bool prev_kv;
};

/* WATCH_CANCEL [watch_id]; it also ends an ELECTION_OBSERVE (one id
 * space). */
struct proto_watch_cancel {
	uint64_t watch_id;
};

/* LEASE_GRANT [lease, ttl_ms]: lease 0: the server picks an id. */
struct proto_lease_grant {
	uint64_t lease;
	uint64_t ttl_ms;            /* >= 1 */
};

/* LEASE_KEEPALIVE, LEASE_REVOKE [lease]. */
struct proto_lease_id {
	uint64_t lease;
};

/* LEASE_TTL [lease, keys, after]: keys: list the attached keys, in key
 * order, those after `after` (empty: from the first); a reply holds one
 * page (its `more` says the rest starts after its last key). */
struct proto_lease_ttl {
	uint64_t lease;
	bool keys;
	struct proto_bytes after;
};

/* SESSION_OPEN [ttl_ms]. */
struct proto_session_open {
	uint64_t ttl_ms;            /* >= 1 */
};

/* SESSION_KEEPALIVE, SESSION_CLOSE [session]. */
struct proto_session_id {
	uint64_t session;
};

/* SESSION_KEEPALIVE_MANY [[session...]]: keeps alive at once every listed
 * session of this connection (at most COORD_KEEPALIVE_SESSIONS_MAX; a
 * longer list is malformed). The reply lists one result per session, in
 * the request's order. */
struct proto_session_many {
	struct proto_u64_list sessions;
};

/* SESSION_ATTACH [session, secret]: a restarted client takes its session
 * back while it lives. */
struct proto_session_attach {
	uint64_t session;
	struct proto_bytes secret;  /* <= COORD_SECRET_BYTES_MAX */
};

/* LOCK_ACQUIRE [name, session, mode, wait, timeout_ms, lock_delay_ms].
 * Not wait: granted now or an error. wait: granted now, or queued (reply
 * granted false) and the grant comes later as PUSH_GRANT; timeout_ms 0:
 * wait while the session lives. lock_delay_ms: after a holder's session
 * expires (not a clean release), no new grant of this lock for that long
 * (0: none). */
struct proto_lock_acquire {
	struct proto_bytes name;    /* <= COORD_NAME_BYTES_MAX */
	uint64_t session;
	uint8_t mode;               /* enum proto_lock_mode */
	bool wait;
	uint64_t timeout_ms;
	uint64_t lock_delay_ms;
};

/* LOCK_RELEASE, SEM_RELEASE, ELECTION_RESIGN [name, session, token].
 * LOCK_RELEASE with token 0 cancels the session's waiting acquire of the
 * lock (COORD_ENOTFOUND when it waits for none). */
struct proto_release {
	struct proto_bytes name;
	uint64_t session;
	uint64_t token;
};

/* LOCK_RELEASE_PUT [name, session, token, key, value, lease]: the
 * holder's last write and its release in one command: the put is applied
 * only if session holds name with token (COORD_EFENCED otherwise, nothing
 * changes), then the lock is released and its next waiters granted, at
 * the put's revision. Answered as PUT. */
struct proto_release_put {
	struct proto_bytes name;
	uint64_t session;
	uint64_t token;             /* >= 1 */
	struct proto_bytes key;
	struct proto_bytes value;
	uint64_t lease;
};

/* LOCK_CHECK [name, token]: is token still the current grant? */
struct proto_lock_check {
	struct proto_bytes name;
	uint64_t token;
};

/* LOCK_STATUS [name]: the lock's holders and queue. */
struct proto_lock_status {
	struct proto_bytes name;
};

/* SEM_ACQUIRE [name, session, permits, wait, timeout_ms]: permits is the
 * semaphore's size N (every acquirer must name the same while anyone
 * holds or waits: COORD_ESEMPERMITS; 0 or above COORD_SEM_PERMITS_MAX:
 * COORD_EPERMITS). A session holds at most one permit of a semaphore;
 * SEM_RELEASE [name, session, token] gives it back (token 0: cancels the
 * session's wait). SEM_STATUS [name]: proto_sem_status_reply. */
struct proto_sem_acquire {
	struct proto_bytes name;
	uint64_t session;
	uint64_t permits;           /* 1..COORD_SEM_PERMITS_MAX */
	bool wait;
	uint64_t timeout_ms;
};

/* ELECTION_CAMPAIGN [name, session, value, timeout_ms]: waits to be
 * elected like LOCK_ACQUIRE with wait. */
struct proto_campaign {
	struct proto_bytes name;
	uint64_t session;
	struct proto_bytes value;   /* <= COORD_VALUE_BYTES_MAX */
	uint64_t timeout_ms;
};

/* ELECTION_LEADER [name], ELECTION_OBSERVE [name, start_revision]:
 * an observe streams every change of the election's leader from
 * start_revision (0: from the next revision) as PUSH_ELECTION, like a
 * watch (COORD_ECOMPACTED for a compacted start; WATCH_CANCEL ends it). */
struct proto_election_name {
	struct proto_bytes name;
	uint64_t start_revision;    /* OBSERVE only */
};

/* ELECTION_PROCLAIM [name, session, token, value]. */
struct proto_proclaim {
	struct proto_bytes name;
	uint64_t session;
	uint64_t token;
	struct proto_bytes value;
};

/* JOB_ENQUEUE [queue, job, unique_key, max_attempts]: unique_key empty:
 * none, else an enqueue naming a key the queue still keeps returns that
 * job's id and adds nothing; max_attempts 0: unlimited. */
struct proto_job_enqueue {
	struct proto_bytes queue;   /* <= COORD_NAME_BYTES_MAX */
	struct proto_bytes job;     /* <= COORD_JOB_PAYLOAD_BYTES_MAX */
	struct proto_bytes unique_key;  /* <= COORD_JOB_UNIQUE_BYTES_MAX */
	uint32_t max_attempts;
};

/* JOB_CLAIM [queue, session, wait, timeout_ms]. */
struct proto_job_claim {
	struct proto_bytes queue;
	uint64_t session;
	bool wait;
	uint64_t timeout_ms;
};

/* JOB_COMPLETE [queue, job_id, token, result, session]: fenced by the
 * claim's token (and session). JOB_FAIL [queue, job_id, token, session,
 * to_tail]: the job goes back to the head (to_tail: the tail) or, at its
 * max attempts, to the dead list. */
struct proto_job_complete {
	struct proto_bytes queue;
	uint64_t job_id;
	uint64_t token;
	struct proto_bytes result;  /* <= COORD_JOB_RESULT_BYTES_MAX */
	uint64_t session;
	bool to_tail;               /* JOB_FAIL */
};

/* JOB_LIST [queue, state, cursor, limit]: jobs in state (enum
 * proto_job_state) from cursor (0: the start), at most limit (<=
 * COORD_JOB_LIST_MAX). JOB_INSPECT [queue, job_id]. */
struct proto_job_list {
	struct proto_bytes queue;
	uint8_t state;
	uint64_t cursor;
	uint64_t limit;
};

struct proto_job_inspect {
	struct proto_bytes queue;
	uint64_t job_id;
};

/* MEMBER_ADD [id, name, peer_addr, client_addr, learner]: as a learner
 * when learner. */
struct proto_member_add {
	struct proto_member member;
};

/* MEMBER_REMOVE, MEMBER_PROMOTE, TRANSFER_LEADER [id] (TRANSFER_LEADER:
 * 0 lets the leader choose). */
struct proto_member_id {
	uint64_t id;
};

/* LEASE_LIST, MEMBER_LIST, STATUS and REGISTER_CLIENT have no fields. */

struct proto_request {
	uint32_t kind;              /* enum proto_kind */
	uint64_t request_id;
	uint64_t client_id;         /* mutating kinds; 0: no exactly-once */
	uint64_t sequence;          /* client_id 0: 0; else >= 1 */
	uint64_t ack;               /* client_id 0: 0; else 1..sequence */
	struct proto_fence_list fences; /* PUT, DELETE, TXN */
	union {
		struct proto_hello hello;
		struct proto_put put;               /* PUT */
		struct proto_range_req range;       /* RANGE */
		struct proto_delete del;            /* DELETE */
		struct proto_cmd txn;               /* TXN: a PROTO_CMD_TXN */
		struct proto_compact compact;       /* COMPACT */
		struct proto_watch_create watch_create;
		struct proto_watch_cancel watch_cancel;
		struct proto_lease_grant lease_grant;
		struct proto_lease_id lease;        /* KEEPALIVE, REVOKE */
		struct proto_lease_ttl lease_ttl;
		struct proto_session_open session_open;
		struct proto_session_id session;    /* KEEPALIVE, CLOSE */
		struct proto_session_attach session_attach;
		struct proto_session_many session_many;
		struct proto_lock_acquire lock_acquire;
		struct proto_release release;       /* LOCK/SEM_RELEASE, RESIGN */
		struct proto_lock_check lock_check;
		struct proto_lock_status lock_status;   /* also SEM_STATUS */
		struct proto_sem_acquire sem_acquire;
		struct proto_campaign campaign;
		struct proto_election_name election;    /* LEADER, OBSERVE */
		struct proto_proclaim proclaim;
		struct proto_job_enqueue job_enqueue;
		struct proto_job_claim job_claim;
		struct proto_job_complete job_complete;    /* also JOB_FAIL */
		struct proto_job_list job_list;
		struct proto_job_inspect job_inspect;
		struct proto_member_add member_add;
		struct proto_member_id member;  /* REMOVE, PROMOTE, TRANSFER */
		struct proto_release_put release_put;   /* LOCK_RELEASE_PUT */
	} u;
};

/*
 * Reply bodies, by the kind they answer. Kinds without a struct here
 * (WATCH_CANCEL, LEASE_REVOKE, SESSION_CLOSE, LOCK_RELEASE, SEM_RELEASE,
 * ELECTION_PROCLAIM, ELECTION_RESIGN, JOB_COMPLETE, MEMBER_ADD,
 * MEMBER_REMOVE, MEMBER_PROMOTE, TRANSFER_LEADER) have an empty body [].
 */

/* HELLO [version, node_id, node_name, cluster_id]. */
struct proto_hello_reply {
	uint64_t version;
	uint64_t node_id;
	struct proto_bytes node_name;
	uint64_t cluster_id;
};

/* WATCH_CREATE, ELECTION_OBSERVE [watch_id, start_revision]:
 * start_revision is the first revision the watch delivers (for a create
 * with start 0: the revision after the one current when the server took
 * the request), so that a client can resume it from there. */
struct proto_watch_reply {
	uint64_t watch_id;
	uint64_t start_revision;
};

/* LEASE_GRANT, LEASE_KEEPALIVE [lease, ttl_ms]. */
struct proto_lease_reply {
	uint64_t lease;
	uint64_t ttl_ms;
};

/* LEASE_TTL [lease, ttl_ms, granted_ttl_ms, [key...], more]: ttl_ms
 * left; the keys when asked for, more when the page was cut. */
struct proto_lease_ttl_reply {
	uint64_t lease;
	uint64_t ttl_ms;
	uint64_t granted_ttl_ms;
	struct proto_bytes_list keys;
	bool more;
};

/* LEASE_LIST [[lease...]]. */
struct proto_lease_list_reply {
	struct proto_u64_list leases;
};

/* SESSION_OPEN, SESSION_ATTACH [session, secret, lease, ttl_ms];
 * SESSION_KEEPALIVE has the same with an empty secret. */
struct proto_session_reply {
	uint64_t session;
	struct proto_bytes secret;
	uint64_t lease;
	uint64_t ttl_ms;
};

/* SESSION_KEEPALIVE_MANY [[code...], [ttl_ms...]]: codes[i] and ttls[i]
 * answer the request's sessions[i] (the same count): COORD_OK and the
 * session's TTL once the keepalive committed, or the session's own error
 * (COORD_ESESSION: not this connection's, or gone) and 0. */
struct proto_session_many_reply {
	struct proto_u64_list codes;
	struct proto_u64_list ttls;
};

/* LOCK_ACQUIRE, SEM_ACQUIRE, ELECTION_CAMPAIGN [granted, token]: granted
 * false: queued (wait), the grant comes as PUSH_GRANT. */
struct proto_grant_reply {
	bool granted;
	uint64_t token;
};

/* LOCK_CHECK [current, token]: current: the token asked about is the
 * current grant; token: the current grant's (0: none). */
struct proto_lock_check_reply {
	bool current;
	uint64_t token;
};

/* A holder of a lock in a LOCK_STATUS reply: [session, token, mode,
 * held_ms] (held_ms: since its grant). */
struct proto_lock_holder {
	uint64_t session;
	uint64_t token;
	uint8_t mode;               /* enum proto_lock_mode */
	uint64_t held_ms;
};

/* A waiter: [session, mode, waited_ms, ttl_left_ms] (ttl_left_ms: its
 * session's time to live on the leader's clock). */
struct proto_lock_waiter {
	uint64_t session;
	uint8_t mode;               /* enum proto_lock_mode */
	uint64_t waited_ms;
	uint64_t ttl_left_ms;
};

struct proto_lock_holder_list {
	const struct proto_lock_holder *v;
	size_t n;
};

struct proto_lock_waiter_list {
	const struct proto_lock_waiter *v;
	size_t n;                   /* <= COORD_STATUS_WAITERS_MAX */
};

/* LOCK_STATUS [delay_left_ms, [holder...], [waiter...], n_waiters]:
 * delay_left_ms: lock-delay still to run before the next grant; holders;
 * then the first COORD_STATUS_WAITERS_MAX waiters in FIFO order, and how
 * many wait in all (n_waiters >= the listed ones). */
struct proto_lock_status_reply {
	uint64_t delay_left_ms;
	struct proto_lock_holder_list holders;
	struct proto_lock_waiter_list waiters;
	uint64_t n_waiters;
};

/* SEM_STATUS [permits, [holder...], [waiter...], n_waiters]: holders
 * and waiters as LOCK_STATUS's (mode 0); permits 0: the semaphore is not
 * in use (no holder, no waiter). */
struct proto_sem_status_reply {
	uint64_t permits;
	struct proto_lock_holder_list holders;
	struct proto_lock_waiter_list waiters;
	uint64_t n_waiters;
};

/* ELECTION_LEADER [session, token, value, revision, candidates]:
 * session 0: no leader; candidates: sessions queued behind the leader. */
struct proto_leader_reply {
	uint64_t session;
	uint64_t token;
	struct proto_bytes value;
	uint64_t revision;
	uint64_t candidates;
};

/* REGISTER_CLIENT [client_id]: the id to stamp on mutating requests
 * (the request has no fields; it is not itself exactly-once: a retry
 * registers another id, and the unused one expires). */
struct proto_register_reply {
	uint64_t client_id;         /* >= 1 */
};

/* JOB_ENQUEUE [job_id, existed]: existed: deduplicated by its unique
 * key. */
struct proto_job_enqueue_reply {
	uint64_t job_id;
	bool existed;
};

/* JOB_CLAIM [granted, job_id, token, job, attempts]: granted false:
 * queued (wait), the claim comes as PUSH_GRANT. attempts: earlier claims
 * of the job that ended unfinished. */
struct proto_job_claim_reply {
	bool granted;
	uint64_t job_id;
	uint64_t token;
	struct proto_bytes job;
	uint64_t attempts;
};

/* JOB_FAIL [dead]. */
struct proto_job_fail_reply_w {
	bool dead;
};

/* A job in a JOB_LIST reply: [job_id, attempts, session, token]. */
struct proto_job_item {
	uint64_t job_id;
	uint64_t attempts;
	uint64_t session;           /* claimed (or last claimed) by */
	uint64_t token;
};

struct proto_job_item_list {
	const struct proto_job_item *v;
	size_t n;                   /* <= COORD_JOB_LIST_MAX */
};

/* JOB_LIST [pending, claimed, dead, done, [item...], next]: the queue's
 * counts, a page of jobs, and the cursor of the next page (0: none). */
struct proto_job_list_reply {
	uint64_t pending, claimed, dead, done;
	struct proto_job_item_list jobs;
	uint64_t next;
};

/* JOB_INSPECT [state, attempts, max_attempts, session, token, job,
 * result, unique_key]. */
struct proto_job_inspect_reply {
	uint8_t state;              /* enum proto_job_state */
	uint64_t attempts;
	uint64_t max_attempts;
	uint64_t session;
	uint64_t token;
	struct proto_bytes job;
	struct proto_bytes result;
	struct proto_bytes unique_key;
};

/* MEMBER_LIST [[member...]]: member [id, name, peer_addr, client_addr,
 * learner]. */
struct proto_member_list_reply {
	struct proto_member_list members;
};

/* STATUS [version, node_id, node_name, cluster_id, leader, term,
 * revision, applied_index, commit_index, state_hash, alarms]. alarms
 * (quota13): PROTO_ALARM_* bits raised in this node's applied state. */
struct proto_status_reply {
	uint64_t version;
	uint64_t node_id;
	struct proto_bytes node_name;
	uint64_t cluster_id;
	uint64_t leader;            /* 0: unknown */
	uint64_t term;
	uint64_t revision;
	uint64_t applied_index;
	uint64_t commit_index;
	uint64_t state_hash;        /* of the fsm state at applied_index */
	uint64_t alarms;            /* PROTO_ALARM_* */
};

/* quota13: alarm bits. */
#define PROTO_ALARM_NOSPACE 1u

/* ALARM_LIST [alarms, alarm_index, quota_bytes, kv_bytes,
 * coord_quota_bytes, coord_bytes]: the answering node's applied state --
 * PROTO_ALARM_* bits raised, the entry that raised NOSPACE, the quotas in
 * force (0: none) and the bytes they count. ALARM_DISARM [] is answered
 * [reply] (msg.h's, type PROTO_CMD_ALARM_DISARM). */
struct proto_alarm_reply {
	uint64_t alarms;
	uint64_t alarm_index;
	uint64_t quota_bytes;
	uint64_t kv_bytes;
	uint64_t coord_quota_bytes;
	uint64_t coord_bytes;
};

struct proto_response {
	uint32_t kind;              /* the request's */
	uint64_t request_id;
	int code;                   /* COORD_OK or COORD_E* */
	uint64_t leader_hint;       /* 0: unknown */
	bool has_body;              /* else the body was nil */
	union {
		struct proto_hello_reply hello;
		/* PUT, RANGE, DELETE, TXN, COMPACT [reply] (msg.h's reply;
		 * its type is the command's: PROTO_CMD_*) */
		struct proto_reply kv;
		struct proto_watch_reply watch;     /* also ELECTION_OBSERVE */
		struct proto_lease_reply lease;     /* GRANT, KEEPALIVE */
		struct proto_lease_ttl_reply lease_ttl;
		struct proto_lease_list_reply lease_list;
		struct proto_session_reply session; /* OPEN, KEEPALIVE, ATTACH */
		struct proto_session_many_reply session_many;
		struct proto_grant_reply grant;     /* LOCK, SEM, CAMPAIGN */
		struct proto_lock_check_reply lock_check;
		struct proto_lock_status_reply lock_status;
		struct proto_sem_status_reply sem_status;
		struct proto_leader_reply leader;
		struct proto_job_enqueue_reply job_enqueue;
		struct proto_job_claim_reply job_claim;
		struct proto_job_fail_reply_w job_fail;
		struct proto_job_list_reply job_list;
		struct proto_job_inspect_reply job_inspect;
		struct proto_member_list_reply member_list;
		struct proto_status_reply status;
		struct proto_register_reply register_client;
		struct proto_alarm_reply alarm;     /* quota13 */
	} u;
};

/*
 * Pushes.
 */

struct proto_event_list {
	const struct proto_event *v;
	size_t n;
};

/* WATCH_EVENTS [watch_id, events]: events as msg.h's events array, in
 * revision order. */
struct proto_push_watch_events {
	uint64_t watch_id;
	struct proto_event_list events;
};

/* WATCH_CANCELED [watch_id, code, compact_revision]: the server ended the
 * watch (COORD_ECOMPACTED: compact_revision names the oldest revision
 * still there). */
struct proto_push_watch_canceled {
	uint64_t watch_id;
	int code;
	uint64_t compact_revision;
};

/* GRANT [request_kind, request_id, name, session, token, job_id, job,
 * attempts]: a queued LOCK_ACQUIRE, SEM_ACQUIRE, ELECTION_CAMPAIGN or
 * JOB_CLAIM was granted (job_id/job/attempts for JOB_CLAIM only, else 0
 * / empty). */
struct proto_push_grant {
	uint32_t request_kind;
	uint64_t request_id;
	struct proto_bytes name;
	uint64_t session;
	uint64_t token;
	uint64_t job_id;
	struct proto_bytes job;
	uint64_t attempts;
};

/* SESSION_LOST [session, code]: it ended (expired, revoked, closed
 * elsewhere); every hold of it is released. */
struct proto_push_session_lost {
	uint64_t session;
	int code;
};

/* LEADER_CHANGE [leader, term]: leader 0: none known. */
struct proto_push_leader_change {
	uint64_t leader;
	uint64_t term;
};

/* ELECTION [watch_id, name, session, token, value, revision]: an observed
 * election changed; session 0: no leader. */
struct proto_push_election {
	uint64_t watch_id;
	struct proto_bytes name;
	uint64_t session;
	uint64_t token;
	struct proto_bytes value;
	uint64_t revision;
};

struct proto_push {
	uint32_t kind;              /* enum proto_push_kind */
	union {
		struct proto_push_watch_events watch_events;
		struct proto_push_watch_canceled watch_canceled;
		struct proto_push_grant grant;
		struct proto_push_session_lost session_lost;
		struct proto_push_leader_change leader_change;
		struct proto_push_election election;
	} u;
};

/*
 * Encoders append one message to out (not cleared). COORD_EINVAL for what
 * the wire cannot carry (an unknown kind, an enum, flag, byte string or
 * list out of range, a mutating request with client_id 0 and sequence
 * not 0 or the reverse, a TXN whose cmd is not a txn), COORD_ENOMEM when
 * out cannot grow; out keeps its old length on error.
 *
 * Decoders read exactly len bytes at data. Lists go in arena; byte
 * strings point into data. COORD_EMALFORMED, COORD_EUNKNOWNMSG (the kind
 * is not known; kind and request_id are filled in, so a server can
 * answer it) or COORD_ENOMEM (arena); otherwise the message is
 * unspecified on error, except that a request's kind and request_id are
 * set whenever they could be read.
 */
int proto_request_encode(const struct proto_request *req, struct proto_buf *out);
int proto_request_decode(const uint8_t *data, size_t len,
			 struct proto_arena *arena, struct proto_request *req);

/* A reply with has_body false encodes a nil body. */
int proto_response_encode(const struct proto_response *resp,
			  struct proto_buf *out);
int proto_response_decode(const uint8_t *data, size_t len,
			  struct proto_arena *arena, struct proto_response *resp);

int proto_push_encode(const struct proto_push *push, struct proto_buf *out);
int proto_push_decode(const uint8_t *data, size_t len,
		      struct proto_arena *arena, struct proto_push *push);

/* What a client reads is a reply or a push: the kind of the message at
 * data (its first element), COORD_EMALFORMED when there is none. */
int proto_server_msg_kind(const uint8_t *data, size_t len, uint32_t *kind);

/*
 * The version handshake. A server checks a client's HELLO with
 * proto_hello_check(): COORD_OK, or COORD_EPROTOVERSION (the versions
 * differ) / COORD_ECLUSTER (the client named another cluster) with a
 * message naming both values written to msg (NUL-terminated, cut to
 * msg_size; msg may be NULL when msg_size is 0). The server then replies
 * with its proto_hello_reply, whatever the code, so the client can say
 * which version the server speaks; the client checks that reply with the
 * same call (its own version and expected cluster id first).
 */
int proto_hello_check(uint64_t client_version, uint64_t client_cluster_id,
		      uint64_t server_version, uint64_t server_cluster_id,
		      char *msg, size_t msg_size);

#endif /* COORD_PROTO_WIRE_H */
