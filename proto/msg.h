/*
 * proto/msg.h: the messages of the replicated state machine -- the
 * commands the fsm applies (put, delete, range, txn, compact, lease end,
 * clients expire), the entry that carries a command through Raft with the
 * client's exactly-once identity, the replies, the events they produce for
 * watchers -- and their msgpack codec.
 *
 * proto/ is the only code that calls msgpack. Encoding uses msgpack-c's
 * packer. Decoding is a strict cursor over the bytes, not msgpack-c's
 * object unpacker, for two reasons: that unpacker allocates a container's
 * declared size before reading its elements (five bytes claiming an array
 * of 2^32 elements make it ask for 96 GiB), and it builds an object tree we
 * would walk a second time. The cursor checks every type and length where
 * it reads it, allocates nothing but the lists of the decoded message (from
 * the caller's arena, bounded by the input length) and copies no bytes:
 * keys and values of a decoded message point into the input buffer, which
 * must outlive the message.
 *
 * Wire format: every message is one msgpack array; integers are unsigned,
 * keys and values are bin, flags are bool; optional kvs are nil when
 * absent. A decoder rejects with COORD_EMALFORMED: truncated or trailing
 * bytes, a wrong type or array length, an unknown command, op, enum value
 * or flag bit, an integer too large for its field. It never asserts on
 * input.
 *
 *   entry      [client_id, sequence, ack, now_ms, cmd]
 *              What the server proposes to Raft, one per request. A
 *              client_id of 0 means no exactly-once (internal commands)
 *              and then sequence and ack must be 0; with a client id (one
 *              REGISTER_CLIENT returned), 1 <= ack <= sequence: ack is the
 *              client's lowest sequence still unanswered, so the replies
 *              below it may be dropped. A decoder rejects anything else.
 *              now_ms
 *              is the proposing leader's cluster time in milliseconds,
 *              used only to track how long clients have been idle
 *              (coordd/fsm/fsm.h says how the fsm keeps it monotone).
 *   cmd        [type, fields...] by type:
 *     PUT        [1, key, value, lease, prev_kv]
 *     DELETE     [2, key, end, flags, prev_kv]
 *     RANGE      [3, key, end, flags, limit, revision, sort_order, sort_target]
 *     TXN        [4, [compare...], [op...], [op...]]
 *     COMPACT    [5, revision]
 *     LEASE_END  [6, lease]
 *     CLIENTS_EXPIRE [7, now_ms, idle_ms]
 *     MEMBER_PUT [8, id, name, peer_addr, client_addr, promote,
 *                 http_addr]  (http_addr appended later: an entry of
 *                 6 elements decodes with it empty)
 *     MEMBER_DEL [9, id]
 *     REGISTER_CLIENT [10, horizon_ms]
 *     LEASE_GRANT [11, lease, ttl_ms]
 *     LEASE_KEEPALIVE [12, [lease...]]  (at most COORD_KEEPALIVE_BATCH_MAX)
 *     LEASE_REVOKE [13, lease]
 *     LEASE_EXPIRE [14, lease, ka_index]
 *     SESSION_OPEN [15, ttl_ms, secret]  (secret: at most
 *                 COORD_SECRET_BYTES_MAX bytes)
 *     SESSION_CLOSE [16, session]
 *     LOCK_ACQUIRE [17, name, session, mode, wait, deadline_ms,
 *                 lock_delay_ms]  (mode 0 exclusive, 1 shared; name at
 *                 most COORD_NAME_BYTES_MAX bytes)
 *     LOCK_RELEASE [18, name, session, token]
 *     QUEUE_KICK [19, kind, name]  (kind 1: a lock)
 *     FENCED     [20, [[lock, token]...], cmd]  (at most COORD_FENCES_MAX
 *                 fences; cmd a PUT, DELETE or TXN; a fence may be
 *                 [name, token, kind]: kind PROTO_QUEUE_SEM names a
 *                 semaphore (any current permit's token),
 *                 PROTO_QUEUE_ELECTION an election's leader, 0 or
 *                 PROTO_QUEUE_LOCK a lock)
 *     SEM_ACQUIRE [21, name, session, permits, wait, deadline_ms]
 *     SEM_RELEASE [22, name, session, token]  (token 0: cancels a wait)
 *     LOCK_RELEASE_WRITE [35, name, session, token, cmd]  (cmd a PUT,
 *                 DELETE or TXN; token >= 1)
 *     JOB_ENQUEUE [27, queue, payload, unique_key, max_attempts]
 *     JOB_CLAIM  [28, queue, session, wait, deadline_ms]
 *     JOB_COMPLETE [29, queue, job_id, session, token, result]
 *     JOB_FAIL   [30, queue, job_id, session, token, to_tail]
 *     ELECTION_CAMPAIGN [23, name, session, value, deadline_ms]
 *     ELECTION_PROCLAIM [24, name, session, token, value]
 *     ELECTION_RESIGN [25, name, session, token]  (token 0: withdraws
 *                 the session's waiting campaign)
 *     QUOTA_SET  [39, quota_bytes, coord_quota_bytes]  (internal)
 *     ALARM_DISARM [40]
 *   op         a PUT, DELETE or RANGE cmd array
 *   compare    [key, target, result, number, value]
 *   kv         [key, value, create_revision, mod_revision, version, lease]
 *   reply      [type, code, revision, compact_revision, body] with body:
 *     PUT        [prev_kv | nil]
 *     DELETE     [deleted, [kv...]]
 *     RANGE      [[kv...], count, more]
 *     TXN        [succeeded, [op reply...]]   op reply: [type, body]
 *     COMPACT    []
 *     LEASE_END  [deleted]
 *     CLIENTS_EXPIRE [expired]
 *     MEMBER_PUT, MEMBER_DEL []
 *     REGISTER_CLIENT [client_id]
 *     LEASE_GRANT [lease, ttl_ms]
 *     LEASE_KEEPALIVE [[lease, ttl_ms]...]  (ttl_ms 0: no such lease)
 *     LEASE_REVOKE [deleted]
 *     LEASE_EXPIRE [expired]
 *     SESSION_OPEN [session, secret, lease, ttl_ms]
 *     SESSION_CLOSE, LOCK_RELEASE, SEM_RELEASE []
 *     LOCK_ACQUIRE, SEM_ACQUIRE [granted, token]
 *     QUEUE_KICK [granted]
 *     (FENCED and LOCK_RELEASE_WRITE are answered with their inner
 *     command's reply and type)
 *     JOB_ENQUEUE [job_id, existed]
 *     JOB_CLAIM  [granted, job_id, token, attempts, payload]
 *     JOB_COMPLETE []
 *     JOB_FAIL   [dead]
 *     ELECTION_CAMPAIGN [granted, token]  (LOCK_ACQUIRE's body)
 *     ELECTION_PROCLAIM, ELECTION_RESIGN []
 *     QUOTA_SET, ALARM_DISARM []
 *   events     [[type, kv, prev_kv | nil]...]
 */
#ifndef COORD_PROTO_MSG_H
#define COORD_PROTO_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/arena.h"
#include "proto/buf.h"

/* A byte string; borrowed, never NUL-terminated. data may be NULL when
 * len is 0. */
struct proto_bytes {
	const uint8_t *data;
	size_t len;
};

/* One version of a key. */
struct proto_kv {
	struct proto_bytes key;
	struct proto_bytes value;
	uint64_t create_revision;   /* revision that created the key */
	uint64_t mod_revision;      /* revision of this version */
	uint64_t version;           /* 1 at creation, +1 per put */
	uint64_t lease;             /* 0: none */
};

/* Lock modes (commands here, requests in wire.h). */
enum proto_lock_mode {
	PROTO_LOCK_EXCLUSIVE = 0,
	PROTO_LOCK_SHARED = 1,
};
#define PROTO_LOCK_MODE_LAST PROTO_LOCK_SHARED

/* A write is applied only if token is the current grant of lock (kind
 * 0 or PROTO_QUEUE_LOCK), or the current leader's token of the election
 * named lock (kind PROTO_QUEUE_ELECTION). */
struct proto_fence {
	struct proto_bytes lock;
	uint64_t token;
	/* What lock names: a PROTO_QUEUE_* (a semaphore's permit: its
	 * token is one of the current holders'); 0 is a lock too. */
	uint8_t kind;
};

/*
 * Which keys a range or delete names (key, end, flags):
 *   PROTO_RANGE_PREFIX    every key starting with key (key may be empty:
 *                         every key); end must be empty.
 *   PROTO_RANGE_FROM      every key >= key; end must be empty.
 *   neither, end empty    key alone (key must not be empty).
 *   neither, end given    every key in [key, end) (empty when end <= key).
 */
#define PROTO_RANGE_PREFIX (1u << 0)
#define PROTO_RANGE_FROM (1u << 1)
#define PROTO_RANGE_KEYS_ONLY (1u << 2)    /* range: values left empty */
#define PROTO_RANGE_COUNT_ONLY (1u << 3)   /* range: only the count */
#define PROTO_RANGE_FLAGS_ALL 0xfu
#define PROTO_DELETE_FLAGS_ALL (PROTO_RANGE_PREFIX | PROTO_RANGE_FROM)

enum proto_sort_order {
	PROTO_SORT_NONE = 0,        /* by key, ascending */
	PROTO_SORT_ASCEND = 1,
	PROTO_SORT_DESCEND = 2,
};
#define PROTO_SORT_ORDER_LAST PROTO_SORT_DESCEND

enum proto_sort_target {
	PROTO_SORT_KEY = 0,
	PROTO_SORT_VERSION = 1,
	PROTO_SORT_CREATE = 2,
	PROTO_SORT_MOD = 3,
	PROTO_SORT_VALUE = 4,
};
#define PROTO_SORT_TARGET_LAST PROTO_SORT_VALUE

/* Reads the keys selected by (key, end, flags) as of revision (0: the
 * current one). limit 0: no limit. Results are sorted by sort_target in
 * sort_order (ties by key, ascending); the limit applies after sorting. */
struct proto_range {
	struct proto_bytes key;
	struct proto_bytes end;
	uint32_t flags;             /* PROTO_RANGE_* */
	uint64_t limit;
	uint64_t revision;
	uint8_t sort_order;         /* enum proto_sort_order */
	uint8_t sort_target;        /* enum proto_sort_target */
};

/* Sets key to value, attached to lease (0: none). prev_kv: the reply
 * carries the version it replaced. */
struct proto_put {
	struct proto_bytes key;
	struct proto_bytes value;
	uint64_t lease;
	bool prev_kv;
};

/* Deletes the keys selected by (key, end, flags & PROTO_DELETE_FLAGS_ALL).
 * prev_kv: the reply carries the deleted versions. */
struct proto_delete {
	struct proto_bytes key;
	struct proto_bytes end;
	uint32_t flags;
	bool prev_kv;
};

enum proto_cmp_target {
	PROTO_CMP_VALUE = 0,
	PROTO_CMP_VERSION = 1,
	PROTO_CMP_CREATE = 2,
	PROTO_CMP_MOD = 3,
	PROTO_CMP_LEASE = 4,
};
#define PROTO_CMP_TARGET_LAST PROTO_CMP_LEASE

enum proto_cmp_result {
	PROTO_CMP_EQUAL = 0,
	PROTO_CMP_NOT_EQUAL = 1,
	PROTO_CMP_LESS = 2,
	PROTO_CMP_GREATER = 3,
};
#define PROTO_CMP_RESULT_LAST PROTO_CMP_GREATER

/* "The key's <target> is <result> <number or value>", as in etcd: value
 * compares bytes lexicographically and is false for a missing key; the
 * numeric targets of a missing key are 0. */
struct proto_compare {
	struct proto_bytes key;
	uint8_t target;             /* enum proto_cmp_target */
	uint8_t result;             /* enum proto_cmp_result */
	uint64_t number;            /* for VERSION, CREATE, MOD, LEASE */
	struct proto_bytes value;   /* for VALUE */
};

enum proto_cmd_type {
	PROTO_CMD_PUT = 1,
	PROTO_CMD_DELETE = 2,
	PROTO_CMD_RANGE = 3,
	PROTO_CMD_TXN = 4,
	PROTO_CMD_COMPACT = 5,
	PROTO_CMD_LEASE_END = 6,
	PROTO_CMD_CLIENTS_EXPIRE = 7,
	PROTO_CMD_MEMBER_PUT = 8,
	PROTO_CMD_MEMBER_DEL = 9,
	PROTO_CMD_REGISTER_CLIENT = 10,
	PROTO_CMD_LEASE_GRANT = 11,
	PROTO_CMD_LEASE_KEEPALIVE = 12,
	PROTO_CMD_LEASE_REVOKE = 13,
	PROTO_CMD_LEASE_EXPIRE = 14,
	PROTO_CMD_SESSION_OPEN = 15,
	PROTO_CMD_SESSION_CLOSE = 16,
	PROTO_CMD_LOCK_ACQUIRE = 17,
	PROTO_CMD_LOCK_RELEASE = 18,
	PROTO_CMD_QUEUE_KICK = 19,
	PROTO_CMD_FENCED = 20,
	/* Semaphores (coordd/fsm/sem.c). */
	PROTO_CMD_SEM_ACQUIRE = 21,
	PROTO_CMD_SEM_RELEASE = 22,
	/* perf8: 35-36 */
	PROTO_CMD_LOCK_RELEASE_WRITE = 35,
	/* Job queues (coordd/fsm/job.c). */
	PROTO_CMD_JOB_ENQUEUE = 27,
	PROTO_CMD_JOB_CLAIM = 28,
	PROTO_CMD_JOB_COMPLETE = 29,
	PROTO_CMD_JOB_FAIL = 30,
	/* Elections (coordd/fsm/election.c). */
	PROTO_CMD_ELECTION_CAMPAIGN = 23,
	PROTO_CMD_ELECTION_PROCLAIM = 24,
	PROTO_CMD_ELECTION_RESIGN = 25,
	/* quota13: 39-42. The storage quota (coordd/fsm/quota.c). */
	PROTO_CMD_QUOTA_SET = 39,
	PROTO_CMD_ALARM_DISARM = 40,
};
/* The highest type (types are reserved per primitive: not dense). */
#define PROTO_CMD_LAST PROTO_CMD_ALARM_DISARM

/* An operation of a txn branch: PROTO_CMD_PUT, _DELETE or _RANGE (a get
 * is a range of one key). */
struct proto_op {
	uint8_t type;
	union {
		struct proto_put put;
		struct proto_delete del;
		struct proto_range range;
	} u;
};

/* If every compare holds, runs success, otherwise failure; the ops of the
 * branch run in order, each seeing the writes of the ones before it, and
 * all writes share one revision. */
struct proto_txn {
	const struct proto_compare *compares;
	size_t n_compares;
	const struct proto_op *success;
	size_t n_success;
	const struct proto_op *failure;
	size_t n_failure;
};

/* Deletes history below revision: reads at a lower revision fail with
 * COORD_ECOMPACTED afterwards. */
struct proto_compact {
	uint64_t revision;
};

/* Deletes every key attached to lease (the lease has ended). */
struct proto_lease_end {
	uint64_t lease;
};

/* Forgets the exactly-once entries of clients idle for more than idle_ms
 * at cluster time now_ms (an internal command the leader proposes from
 * time to time; coordd/fsm/fsm.h has the exact rule). */
struct proto_clients_expire {
	uint64_t now_ms;
	uint64_t idle_ms;
};

/* quota13: the quotas in force (internal, proposed by the leader when
 * its --quota-bytes / --coord-quota-bytes differ from the replicated
 * ones; 0: none). coordd/fsm/fsm.h, "Quota". */
struct proto_quota_set {
	uint64_t quota_bytes;
	uint64_t coord_quota_bytes;
};

/* Records a cluster member's addresses in the replicated member table
 * (internal, proposed by the leader when a member is added, and when a
 * member publishes its own attributes: coordd/net/publish.c; the Raft
 * configuration itself changes through Raft's own entries). promote: the
 * member joins as a learner and the leader makes it a voter once it has
 * caught up. Names and addresses: at most COORD_NAME_BYTES_MAX and
 * COORD_ADDR_BYTES_MAX bytes. */
struct proto_member_put {
	uint64_t id;
	struct proto_bytes name;
	struct proto_bytes peer_addr;
	struct proto_bytes client_addr;
	bool promote;
	struct proto_bytes http_addr;   /* /health, /metrics; may be empty */
};

/* Forgets a member's addresses (after its removal). */
struct proto_member_del {
	uint64_t id;
};

/* Starts an entry in the exactly-once client table; the reply names its
 * client id (the entry's Raft index). A full table evicts its least
 * recently active client only if that one has been idle for horizon_ms
 * (coordd/fsm/fsm.h has the rules). Proposed by the server, for a
 * client's REGISTER_CLIENT request, with no client id of its own. */
struct proto_register_client {
	uint64_t horizon_ms;
};

/* Leases, sessions and locks: coordd/fsm/fsm.h has the rules. */
struct proto_lease_grant_cmd {
	uint64_t lease;             /* 0: the entry's Raft index */
	uint64_t ttl_ms;
};

struct proto_lease_keepalive {
	const uint64_t *leases;
	size_t n_leases;            /* <= COORD_KEEPALIVE_BATCH_MAX */
};

struct proto_lease_revoke {
	uint64_t lease;
};

/* A no-op unless lease's last keepalive is still ka_index. */
struct proto_lease_expire {
	uint64_t lease;
	uint64_t ka_index;
};

struct proto_session_open_cmd {
	uint64_t ttl_ms;
	struct proto_bytes secret;  /* chosen by the leader */
};

struct proto_session_close {
	uint64_t session;
};

struct proto_lock_acquire_cmd {
	struct proto_bytes name;
	uint64_t session;
	uint8_t mode;               /* enum proto_lock_mode */
	bool wait;                  /* queue if not grantable now */
	uint64_t deadline_ms;       /* cluster time; 0: none */
	uint64_t lock_delay_ms;     /* after this hold's session expires */
};

/* token 0: cancels the session's waiting entry. */
struct proto_lock_release {
	struct proto_bytes name;
	uint64_t session;
	uint64_t token;
};

/* Queue kinds (the first is the lock; semaphores, elections and job
 * claims will follow on the same mechanism). */
#define PROTO_QUEUE_LOCK 1
#define PROTO_QUEUE_SEM 2           /* a semaphore's permits */
#define PROTO_QUEUE_ELECTION 3      /* an election's candidates */
#define PROTO_QUEUE_JOB 4           /* a job queue's waiting claimers */
#define PROTO_QUEUE_KIND_LAST PROTO_QUEUE_JOB

/* A queue kind this version knows (kinds are reserved per primitive, so
 * the known ones need not be dense). */
static inline bool proto_queue_kind_known(uint8_t kind)
{
	return kind == PROTO_QUEUE_LOCK || kind == PROTO_QUEUE_SEM ||
	       kind == PROTO_QUEUE_ELECTION || kind == PROTO_QUEUE_JOB;
}

/* A semaphore of permits N (coordd/fsm/sem.c): every acquirer names the
 * same N while anyone holds or waits. */
struct proto_sem_acquire_cmd {
	struct proto_bytes name;
	uint64_t session;
	uint64_t permits;
	bool wait;                  /* queue if no permit is free */
	uint64_t deadline_ms;       /* cluster time; 0: none */
};

struct proto_queue_kick {
	uint8_t kind;
	struct proto_bytes name;
};

/* A job's state. */
enum proto_job_state {
	PROTO_JOB_PENDING = 1,
	PROTO_JOB_CLAIMED = 2,
	PROTO_JOB_DONE = 3,
	PROTO_JOB_DEAD = 4,
};
#define PROTO_JOB_STATE_LAST PROTO_JOB_DEAD

/* Job queues: coordd/fsm/fsm.h has the rules. unique_key empty: none;
 * max_attempts 0: unlimited. */
struct proto_job_enqueue_cmd {
	struct proto_bytes queue;
	struct proto_bytes payload;
	struct proto_bytes unique_key;
	uint32_t max_attempts;
};

struct proto_job_claim_cmd {
	struct proto_bytes queue;
	uint64_t session;
	bool wait;
	uint64_t deadline_ms;       /* cluster time; 0: none */
};

/* JOB_COMPLETE (result) and JOB_FAIL (to_tail), fenced by token. */
struct proto_job_done_cmd {
	struct proto_bytes queue;
	uint64_t job_id;
	uint64_t session;
	uint64_t token;
	struct proto_bytes result;  /* JOB_COMPLETE */
	bool to_tail;               /* JOB_FAIL: requeue at the tail */
};

/* Elections: coordd/fsm/fsm.h has the rules. A candidate of name queues
 * with value until deadline_ms (cluster time; 0: while its session
 * lives). */
struct proto_campaign_cmd {
	struct proto_bytes name;
	uint64_t session;
	struct proto_bytes value;   /* <= COORD_ELECTION_VALUE_BYTES_MAX */
	uint64_t deadline_ms;
};

/* The leader (session, token) sets its value. */
struct proto_proclaim_cmd {
	struct proto_bytes name;
	uint64_t session;
	uint64_t token;
	struct proto_bytes value;
};

struct proto_cmd;

/* cmd: a PROTO_CMD_PUT, _DELETE or _TXN. */
struct proto_fenced {
	const struct proto_fence *fences;
	size_t n_fences;            /* <= COORD_FENCES_MAX */
	const struct proto_cmd *cmd;
};

/* A holder's last write and its release in one command: cmd (a
 * PROTO_CMD_PUT, _DELETE or _TXN) is applied only if session holds name
 * with token (COORD_EFENCED otherwise, nothing changes); then the hold
 * ends and the next waiters are granted, all at one revision. */
struct proto_lock_release_write {
	struct proto_bytes name;
	uint64_t session;
	uint64_t token;             /* >= 1 */
	const struct proto_cmd *cmd;
};

struct proto_cmd {
	uint8_t type;               /* enum proto_cmd_type */
	union {
		struct proto_put put;
		struct proto_delete del;
		struct proto_range range;
		struct proto_txn txn;
		struct proto_compact compact;
		struct proto_lease_end lease_end;
		struct proto_clients_expire clients_expire;
		struct proto_member_put member_put;
		struct proto_member_del member_del;
		struct proto_register_client register_client;
		struct proto_lease_grant_cmd lease_grant;
		struct proto_lease_keepalive lease_keepalive;
		struct proto_lease_revoke lease_revoke;
		struct proto_lease_expire lease_expire;
		struct proto_session_open_cmd session_open;
		struct proto_session_close session_close;
		struct proto_lock_acquire_cmd lock_acquire;
		struct proto_lock_release lock_release;
		struct proto_queue_kick queue_kick;
		struct proto_fenced fenced;
		struct proto_lock_release_write lock_release_write;
		struct proto_job_enqueue_cmd job_enqueue;
		struct proto_job_claim_cmd job_claim;
		struct proto_job_done_cmd job_done;     /* COMPLETE, FAIL */
		struct proto_campaign_cmd campaign;
		struct proto_proclaim_cmd proclaim;
		struct proto_lock_release resign;   /* ELECTION_RESIGN */
		struct proto_sem_acquire_cmd sem_acquire;
		struct proto_lock_release sem_release;  /* token 0: cancel */
		struct proto_quota_set quota_set;       /* quota13 */
	} u;
};

/* A committed Raft entry: one command and who asked for it. */
struct proto_entry {
	uint64_t client_id;         /* 0: no exactly-once */
	uint64_t sequence;          /* client_id 0: 0; otherwise >= 1 */
	uint64_t ack;               /* client_id 0: 0; else 1..sequence */
	uint64_t now_ms;            /* the proposing leader's cluster time */
	struct proto_cmd cmd;
};

struct proto_put_reply {
	bool has_prev_kv;
	struct proto_kv prev_kv;
};

struct proto_delete_reply {
	uint64_t deleted;
	const struct proto_kv *prev_kvs;    /* when asked: the deleted kvs */
	size_t n_prev_kvs;
};

struct proto_range_reply {
	const struct proto_kv *kvs;
	size_t n_kvs;
	uint64_t count;             /* keys in the range, regardless of limit */
	bool more;                  /* limit left some out */
};

struct proto_op_reply {
	uint8_t type;               /* PROTO_CMD_PUT, _DELETE or _RANGE */
	union {
		struct proto_put_reply put;
		struct proto_delete_reply del;
		struct proto_range_reply range;
	} u;
};

struct proto_txn_reply {
	bool succeeded;             /* the compares held */
	const struct proto_op_reply *replies;   /* one per op of the branch */
	size_t n_replies;
};

struct proto_lease_end_reply {
	uint64_t deleted;
};

struct proto_clients_expire_reply {
	uint64_t expired;           /* client entries forgotten */
};

struct proto_register_client_reply {
	uint64_t client_id;         /* the new client's id */
};

struct proto_lease_ttl_item {
	uint64_t lease;
	uint64_t ttl_ms;            /* 0: no such lease */
};

struct proto_lease_grant_reply {
	uint64_t lease;
	uint64_t ttl_ms;
};

struct proto_lease_keepalive_reply {
	const struct proto_lease_ttl_item *leases;   /* in the command's order */
	size_t n_leases;
};

struct proto_lease_revoke_reply {
	uint64_t deleted;           /* attached keys deleted */
};

struct proto_lease_expire_reply {
	bool expired;               /* false: gone already, or stale */
};

struct proto_session_open_reply {
	uint64_t session;
	struct proto_bytes secret;
	uint64_t lease;
	uint64_t ttl_ms;
};

struct proto_lock_acquire_reply {
	bool granted;
	uint64_t token;             /* 0 unless granted */
};

struct proto_queue_kick_reply {
	uint64_t granted;           /* waiters granted */
};

struct proto_job_enqueue_cmd_reply {
	uint64_t job_id;
	bool existed;               /* deduplicated by its unique key */
};

struct proto_job_claim_cmd_reply {
	bool granted;               /* false: queued (wait) */
	uint64_t job_id;
	uint64_t token;             /* the claim token */
	uint32_t attempts;          /* earlier claims that ended unfinished */
	struct proto_bytes payload;
};

struct proto_job_fail_reply {
	bool dead;                  /* moved to the dead-letter list */
};

/* The answer to one command. When code is not COORD_OK the command
 * changed nothing and the body is zero. */
struct proto_reply {
	uint8_t type;               /* the cmd type it answers */
	int code;                   /* COORD_OK or a COORD_E* code */
	uint64_t revision;          /* the keyspace's revision afterwards */
	uint64_t compact_revision;  /* reads below it: COORD_ECOMPACTED */
	union {
		struct proto_put_reply put;
		struct proto_delete_reply del;
		struct proto_range_reply range;
		struct proto_txn_reply txn;
		struct proto_lease_end_reply lease_end;
		struct proto_clients_expire_reply clients_expire;
		struct proto_register_client_reply register_client;
		struct proto_lease_grant_reply lease_grant;
		struct proto_lease_keepalive_reply lease_keepalive;
		struct proto_lease_revoke_reply lease_revoke;
		struct proto_lease_expire_reply lease_expire;
		struct proto_session_open_reply session_open;
		/* also SEM_ACQUIRE's and ELECTION_CAMPAIGN's */
		struct proto_lock_acquire_reply lock_acquire;
		struct proto_queue_kick_reply queue_kick;
		struct proto_job_enqueue_cmd_reply job_enqueue;
		struct proto_job_claim_cmd_reply job_claim;
		struct proto_job_fail_reply job_fail;
	} u;
};

enum proto_event_type {
	PROTO_EVENT_PUT = 1,
	PROTO_EVENT_DELETE = 2,
};

/* One change of one key. A DELETE's kv has only key and mod_revision
 * set (the revision of the delete). prev_kv: the version before, when it
 * was asked for and still exists. */
struct proto_event {
	uint8_t type;               /* enum proto_event_type */
	struct proto_kv kv;
	bool has_prev_kv;
	struct proto_kv prev_kv;
};

/*
 * Encoders append to out (which is not cleared). They check only what the
 * wire format needs -- known types, enum values and flag bits -- and
 * return COORD_EINVAL otherwise, COORD_ENOMEM when out cannot grow; out
 * keeps its old length on error.
 *
 * Decoders fill *msg from exactly len bytes at data. Lists go in arena;
 * keys and values point into data. COORD_EMALFORMED for any bad input,
 * COORD_ENOMEM when the arena fails; *msg is unspecified on error.
 */
int proto_cmd_encode(const struct proto_cmd *cmd, struct proto_buf *out);
int proto_cmd_decode(const uint8_t *data, size_t len,
		     struct proto_arena *arena, struct proto_cmd *cmd);

/* An entry: the rules of its command, plus the client_id/sequence pairing
 * of the wire format (COORD_EINVAL / COORD_EMALFORMED when broken). */
int proto_entry_encode(const struct proto_entry *entry, struct proto_buf *out);
int proto_entry_decode(const uint8_t *data, size_t len,
		       struct proto_arena *arena, struct proto_entry *entry);

int proto_reply_encode(const struct proto_reply *reply, struct proto_buf *out);
int proto_reply_decode(const uint8_t *data, size_t len,
		       struct proto_arena *arena, struct proto_reply *reply);

int proto_events_encode(const struct proto_event *events, size_t n_events,
			struct proto_buf *out);
int proto_events_decode(const uint8_t *data, size_t len,
			struct proto_arena *arena,
			const struct proto_event **events, size_t *n_events);

/* Byte helpers. */
static inline struct proto_bytes proto_bytes_make(const void *data, size_t len)
{
	struct proto_bytes b = { (const uint8_t *)data, len };

	return b;
}

/* memcmp order, a proper prefix first. */
int proto_bytes_cmp(struct proto_bytes a, struct proto_bytes b);
bool proto_bytes_eq(struct proto_bytes a, struct proto_bytes b);

#endif /* COORD_PROTO_MSG_H */
