/*
 * proto/limits.h: default limits of coord, each checked on entry by the
 * code that owns it and documented in docs/. Servers may configure other
 * values; these are what they get by default.
 */
#ifndef COORD_PROTO_LIMITS_H
#define COORD_PROTO_LIMITS_H

/* Bytes in one key (fsm: COORD_EKEYTOOBIG). Applies to every key a
 * command names: put keys, range and delete bounds, compare keys. */
#define COORD_KEY_BYTES_MAX 4096

/* Bytes in one value (fsm: COORD_EVALUETOOBIG). */
#define COORD_VALUE_BYTES_MAX (512 * 1024)

/* Entries in each list of a txn: compares, then-ops and else-ops are each
 * limited to this many (fsm: COORD_ETXNTOOBIG), as in etcd's
 * --max-txn-ops. */
#define COORD_TXN_OPS_MAX 128

/* Bytes of key-values one command applied through the log may return:
 * the range results of a txn and the prev_kv of its puts and deletes (and
 * of a plain put or delete). Each key-value counts its key, its value when
 * returned and COORD_APPLY_REPLY_KV_OVERHEAD bytes, counted while it is
 * collected, so no replica ever holds more; past the limit the command
 * fails with COORD_EREPLYTOOBIG and writes nothing, the same on every
 * replica (fsm: config reply_bytes_max, equal on every replica). The
 * stored reply of a client (the client table) is then never larger than
 * the largest command. Plain RANGE requests are reads, not bound by it. */
#define COORD_APPLY_REPLY_BYTES_MAX (1024 * 1024)
#define COORD_APPLY_REPLY_KV_OVERHEAD 64

/* Bytes in one encoded command, the unit the server proposes to Raft;
 * matches raft_config_default()'s max_entry_bytes. */
#define COORD_CMD_BYTES_MAX (1024 * 1024)

/* One put of the largest key and value must fit in one command. */
_Static_assert(COORD_KEY_BYTES_MAX + COORD_VALUE_BYTES_MAX + 64 <=
		       COORD_CMD_BYTES_MAX,
	       "a maximal put must fit in one command");

/*
 * Exactly-once: the fsm's client table (coordd/fsm/fsm.h).
 *
 * COORD_CLIENT_IDLE_MS: the leader proposes CLIENTS_EXPIRE with this
 * idle_ms, so a client's entry (its floor and kept replies) is forgotten
 * once it has sent no applied request for this long, measured in cluster
 * time; its later requests get COORD_ECLIENTGONE and apply nothing, and
 * it registers again (coordd --client-idle-ms).
 * COORD_CLIENT_EXPIRE_INTERVAL_MS: how often the leader proposes it.
 * COORD_CLIENTS_MAX: entries kept (fsm: config clients_max, coordd
 * --max-clients, equal on every replica); a registration into a full
 * table evicts the least recently active client only past the retry
 * horizon below, and is refused with COORD_ECLIENTSFULL otherwise.
 */
#define COORD_CLIENT_IDLE_MS (60u * 60u * 1000u)
#define COORD_CLIENT_EXPIRE_INTERVAL_MS (60u * 1000u)
#define COORD_CLIENTS_MAX 65536

_Static_assert(COORD_CLIENT_EXPIRE_INTERVAL_MS < COORD_CLIENT_IDLE_MS,
	       "clients are expired more often than they may idle");

/*
 * Exactly-once: registration and the window (coordd/fsm/fsm.h).
 *
 * COORD_CLIENT_WINDOW_MAX: a request's sequence must be below the
 * client's ack (its lowest sequence still unanswered) plus this, so a
 * client entry keeps at most this many replies (fsm: COORD_EWINDOW, the
 * request is not applied; libcoord never sends past it).
 * COORD_CLIENT_RETRY_HORIZON_MS: a full table evicts its least recently
 * active client for a new registration only when that one has been idle
 * this long; otherwise the registration is refused with
 * COORD_ECLIENTSFULL (coordd --client-retry-horizon-ms; the leader puts
 * the value in the committed REGISTER_CLIENT command).
 * COORD_CLIENT_ACTIVE_GRAIN_MS: a client's activity time is the cluster
 * clock rounded down to this, so its index record moves at most once per
 * grain however often it writes.
 * COORD_CLIENT_REGISTER_BURST / COORD_CLIENT_REGISTERS_PER_S: one client
 * connection may register this many clients at once, and then this many
 * per second (a token bucket; coordd answers COORD_EREGISTERRATE beyond
 * it without proposing anything).
 */
#define COORD_CLIENT_WINDOW_MAX 256
#define COORD_CLIENT_RETRY_HORIZON_MS (5u * 60u * 1000u)
#define COORD_CLIENT_ACTIVE_GRAIN_MS 1000u
#define COORD_CLIENT_REGISTER_BURST 8
#define COORD_CLIENT_REGISTERS_PER_S 2

_Static_assert(COORD_CLIENT_RETRY_HORIZON_MS < COORD_CLIENT_IDLE_MS,
	       "an idle client is expired only after the retry horizon");

/*
 * The wire (proto/frame.h, proto/wire.h, proto/peer.h). A frame is a
 * 4-byte big-endian length and one msgpack value of that many bytes; a
 * receiver refuses a longer frame with COORD_EFRAMETOOBIG and closes the
 * connection, before it allocates anything for it.
 *
 * COORD_REQUEST_FRAME_BYTES_MAX: client -> server; room for a maximal
 * command plus its envelope and fences.
 * COORD_RESPONSE_FRAME_BYTES_MAX: server -> client (replies and pushes);
 * a range reply is cut to fit (its "more" flag set).
 * COORD_PEER_FRAME_BYTES_MAX: server <-> server; AppendEntries batches and
 * snapshot chunks are sized to fit.
 * COORD_SNAPSHOT_CHUNK_BYTES_MAX: the data of one snapshot chunk.
 * COORD_NAME_BYTES_MAX: a lock, semaphore, election, queue, client or node
 * name. COORD_SECRET_BYTES_MAX: a session secret. COORD_ADDR_BYTES_MAX: a
 * member's address. COORD_FENCES_MAX: fences on one write.
 * COORD_MEMBERS_MAX: members in a member list (raft's RAFT_NODES_MAX).
 */
#define COORD_REQUEST_FRAME_BYTES_MAX (2 * 1024 * 1024)
#define COORD_RESPONSE_FRAME_BYTES_MAX (16 * 1024 * 1024)
#define COORD_PEER_FRAME_BYTES_MAX (8 * 1024 * 1024)
#define COORD_SNAPSHOT_CHUNK_BYTES_MAX (1024 * 1024)
#define COORD_NAME_BYTES_MAX 256
#define COORD_SECRET_BYTES_MAX 64
#define COORD_ADDR_BYTES_MAX 256
#define COORD_FENCES_MAX 16
#define COORD_MEMBERS_MAX 16

_Static_assert(COORD_CMD_BYTES_MAX + 64 * 1024 <= COORD_REQUEST_FRAME_BYTES_MAX,
	       "a maximal command and its envelope fit in one request frame");
_Static_assert(COORD_CMD_BYTES_MAX + 64 * 1024 <= COORD_PEER_FRAME_BYTES_MAX &&
		       COORD_SNAPSHOT_CHUNK_BYTES_MAX + 1024 <=
			       COORD_PEER_FRAME_BYTES_MAX,
	       "one maximal entry or snapshot chunk fits in one peer frame");

/*
 * Before its HELLO a client connection may send frames of at most
 * COORD_HELLO_FRAME_BYTES_MAX bytes (a HELLO with the longest client name
 * and room for fields of later versions); a longer length prefix closes
 * the connection at once, logged at warn, so a client that never said who
 * it is cannot make the server buffer more than this.
 */
#define COORD_HELLO_FRAME_BYTES_MAX 4096

_Static_assert(COORD_HELLO_FRAME_BYTES_MAX >= 4 * COORD_NAME_BYTES_MAX,
	       "a HELLO with a maximal name fits before HELLO");

/*
 * Leases, sessions and locks (coordd/fsm/lease.c, lock.c; the fsm config
 * fields of the same names, equal on every replica):
 * COORD_LEASE_TTL_MS_MAX: the longest TTL a LEASE_GRANT or SESSION_OPEN
 * may ask for (the fsm refuses 0 and more with COORD_ETTL; the server's
 * configured bounds are narrower).
 * COORD_LEASES_MAX: live leases, sessions included (COORD_ETOOMANYLEASES
 * for one more). COORD_SESSIONS_MAX: live sessions
 * (COORD_ETOOMANYSESSIONS). COORD_WAITERS_MAX: waiters queued on one lock
 * (COORD_ETOOMANYWAITERS). COORD_LOCKS_PER_SESSION_MAX: locks one session
 * holds or waits for (COORD_ETOOMANYLOCKS). Each refusal changes nothing.
 * COORD_LEASE_DRIFT_MS + TTL * COORD_LEASE_DRIFT_PPM / 1,000,000: the
 * drift allowance: a lease is overdue once the cluster clock is past its
 * last keepalive's time + TTL + this (docs/consistency.md, "Time": the
 * rate part bounds how much faster a member's clock may run than a
 * client's, the fixed part covers the clocks' millisecond steps).
 * COORD_KEEPALIVE_BATCH_MAX: leases in one LEASE_KEEPALIVE command (a
 * longer list is malformed).
 * COORD_SECRET_BYTES_MIN: the shortest session secret (COORD_EINVAL).
 * COORD_KEEPALIVE_SESSIONS_MAX: sessions in one SESSION_KEEPALIVE_MANY
 * request (a longer list is malformed: COORD_EMALFORMED, nothing kept
 * alive); libcoord sends one request per this many due sessions.
 */
#define COORD_LEASE_TTL_MS_MAX (24u * 60u * 60u * 1000u)
#define COORD_LEASES_MAX 1000000
#define COORD_SESSIONS_MAX 1000000
#define COORD_WAITERS_MAX 4096
#define COORD_LOCKS_PER_SESSION_MAX 1024
#define COORD_LEASE_DRIFT_MS 2
#define COORD_LEASE_DRIFT_PPM 10000
#define COORD_KEEPALIVE_BATCH_MAX 4096
#define COORD_SECRET_BYTES_MIN 16
#define COORD_KEEPALIVE_SESSIONS_MAX 1024

_Static_assert(COORD_KEEPALIVE_SESSIONS_MAX <= COORD_KEEPALIVE_BATCH_MAX,
	       "one SESSION_KEEPALIVE_MANY fits in one LEASE_KEEPALIVE batch");

/* COORD_SEM_PERMITS_MAX: the largest N of a semaphore (SEM_ACQUIRE's
 * permits); above it, and for 0, COORD_EPERMITS. A semaphore's holders
 * and waiters still count against COORD_WAITERS_MAX and
 * COORD_LOCKS_PER_SESSION_MAX like a lock's. */
#define COORD_SEM_PERMITS_MAX 65536

_Static_assert(COORD_SECRET_BYTES_MIN <= COORD_SECRET_BYTES_MAX,
	       "a minimal secret fits");

/*
 * A LOCK_STATUS reply lists at most COORD_STATUS_WAITERS_MAX waiters of
 * the lock (the first ones, in FIFO order) and says how many wait in all,
 * so that its size stays bounded however long the queue is; a decoder
 * refuses a longer list (COORD_EMALFORMED).
 */
#define COORD_STATUS_WAITERS_MAX 1000

_Static_assert(COORD_STATUS_WAITERS_MAX * 64 + 64 * 1024 <=
		       COORD_RESPONSE_FRAME_BYTES_MAX,
	       "a LOCK_STATUS reply with every waiter listed fits in a frame");

/*
 * Job queues (coordd/fsm/job.c; the fsm config fields of the same names,
 * equal on every replica; docs/jobs.md):
 * COORD_JOB_PAYLOAD_BYTES_MAX: a job's payload, and
 * COORD_JOB_RESULT_BYTES_MAX: a completed job's result (COORD_EVALUETOOBIG
 * above). COORD_JOB_UNIQUE_BYTES_MAX: an enqueue's unique key (a longer
 * one is malformed).
 * COORD_JOB_QUEUE_LEN_MAX: jobs one queue holds pending, claimed or dead
 * (COORD_EQUEUEFULL for one more; coordd --max-jobs-per-queue).
 * COORD_JOB_QUEUES_MAX: job queues that hold jobs (COORD_ETOOMANYQUEUES
 * for a new one; coordd --max-job-queues).
 * COORD_JOB_DONE_KEPT: completed jobs a queue keeps (for INSPECT and
 * unique-key dedup); one more completion drops the oldest (coordd
 * --job-done-kept). COORD_JOB_LIST_MAX: jobs one JOB_LIST reply lists at
 * most (a page; a longer list is malformed). Each refusal changes
 * nothing.
 */
#define COORD_JOB_PAYLOAD_BYTES_MAX (64 * 1024)
#define COORD_JOB_RESULT_BYTES_MAX (64 * 1024)
#define COORD_JOB_UNIQUE_BYTES_MAX COORD_NAME_BYTES_MAX
#define COORD_JOB_QUEUE_LEN_MAX 100000
#define COORD_JOB_QUEUES_MAX 10000
#define COORD_JOB_DONE_KEPT 1000
#define COORD_JOB_LIST_MAX 1000

_Static_assert(COORD_JOB_PAYLOAD_BYTES_MAX <= COORD_VALUE_BYTES_MAX,
	       "a job payload is a value");
_Static_assert(COORD_JOB_LIST_MAX * 64 + 64 * 1024 <=
		       COORD_RESPONSE_FRAME_BYTES_MAX,
	       "a JOB_LIST page fits in a frame");

/*
 * Elections (coordd/fsm/election.c).
 * COORD_ELECTION_VALUE_BYTES_MAX: a candidate's or leader's value
 * (CAMPAIGN, PROCLAIM: COORD_EVALUETOOBIG above it, nothing changes; the
 * server's --max-value-bytes applies too).
 * COORD_ELECTION_KEY_PREFIX: the reserved key space where the fsm keeps
 * each election's leader as a key, "<prefix><name>", whose history is
 * what ELECTION_OBSERVE streams. Clients may read and watch it; a put,
 * delete or txn op naming a key in it gets COORD_EKEYRESERVED, and a
 * range delete over it leaves its keys alone.
 */
#define COORD_ELECTION_VALUE_BYTES_MAX (64 * 1024)
#define COORD_RESERVED_KEY_PREFIX "\xff\xff" "coord/"
#define COORD_ELECTION_KEY_PREFIX COORD_RESERVED_KEY_PREFIX "election/"

/*
 * quota13: storage quotas (docs/quota.md).
 * COORD_QUOTA_BYTES_DEFAULT: the keyspace quota, bytes of keys, values and
 * history until compaction (coordd --quota-bytes; 0: none). A command
 * that writes a value past it, or while the NOSPACE alarm is raised, is
 * refused with COORD_ENOSPACE and changes nothing but the alarm.
 * COORD_QUOTA_LOW_WATER_PCT: the alarm clears by itself once the keyspace
 * is at or under this percentage of the quota.
 * COORD_COORD_QUOTA_BYTES_DEFAULT: the budget of coordination state --
 * leases, sessions, lock queues and their owners, job queues (coordd
 * --coord-quota-bytes; 0: none). A client's command that grows that state
 * past it is refused with COORD_ECOORDSPACE and changes nothing.
 */
#define COORD_QUOTA_BYTES_DEFAULT (2ull * 1024 * 1024 * 1024)
#define COORD_QUOTA_LOW_WATER_PCT 90
#define COORD_COORD_QUOTA_BYTES_DEFAULT (256ull * 1024 * 1024)

#endif /* COORD_PROTO_LIMITS_H */
