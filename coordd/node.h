/*
 * coordd/node.h: one coordd node -- the wiring of raft/, coordd/store/ and
 * coordd/fsm/ -- without I/O of its own.
 *
 * The node drives the Raft core through the Ready loop of raft/raft.h:
 * node_flush() persists each Ready in one synced store batch (group
 * commit: everything proposed or received since the last flush shares one
 * fdatasync), hands the messages to the transport, applies the committed
 * entries to the fsm and completes the requests waiting on them. The
 * network layer (coordd/net/) owns the event loop: it calls node_tick() on
 * a timer, node_step() for every peer message, and node_flush() once per
 * loop turn. So the node is driven exactly like the core, and tests can
 * run a cluster of nodes in one process with a transport of their own.
 *
 * Requests wait on a struct node_waiter that the caller embeds in its own
 * request object (no allocation per request here); the callback runs once,
 * from node_flush() or node_tick(), unless the caller cancels the waiter
 * first (a connection that closes). Callbacks must not free the node; they
 * may start new requests.
 *
 * Errors: COORD_OK or a code of proto/errors.h, with text in the err
 * buffer of node_open() or in the log.
 */
#ifndef COORD_COORDD_NODE_H
#define COORD_COORDD_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coordd/fsm/fsm.h"
#include "raft/raft.h"

struct node;
struct store;

enum node_log_level {
	NODE_LOG_DEBUG = 0,
	NODE_LOG_INFO = 1,
	NODE_LOG_WARN = 2,
	NODE_LOG_ERROR = 3,
};

/* What the node needs from the network. */
struct node_transport {
	/* Sends m to peer m->to. Called only from node_flush(), after the
	 * state the message speaks for is on disk. m is valid during the call
	 * only: copy it (or encode it) to queue it. A RAFT_MSG_SNAPSHOT asks
	 * the transport to stream the node's current snapshot first
	 * (node_snapshot_reader_new()) and send m after its last chunk, then
	 * to call node_snapshot_sent(). */
	void (*send)(void *ctx, const struct raft_message *m);
	/* Puts what send() queued on the wire now (NULL: the transport
	 * sends on its own time): called before the leader's own disk write
	 * and before applying, so that neither waits in front of them. */
	void (*flush)(void *ctx);
	void *ctx;
};

struct node_config {
	const char *name;           /* for logs */
	uint64_t id;                /* non-zero, unique in the cluster */
	const char *data_dir;       /* created if missing */
	/* Founding voters, this node among them: a node with an empty store
	 * bootstraps with them. n_voters 0: join an existing cluster (wait
	 * for a leader to send the log). */
	const uint64_t *voters;
	size_t n_voters;
	unsigned election_ticks;    /* >= 2 */
	unsigned heartbeat_ticks;   /* >= 1, < election_ticks */
	uint64_t seed;              /* for the randomized election timeout */
	/* Compact the log once this many entries were applied past the
	 * last snapshot (>= 1). */
	uint64_t snapshot_entries;
	/* Reads and proposals that hear nothing for this many ticks fail
	 * with COORD_ENOTLEADER (the caller retries, maybe elsewhere). */
	unsigned request_ticks;
	struct fsm_config fsm;      /* limits; alloc and lease hook unused */
	/* A snapshot stream staged here is dropped past this many bytes
	 * (the leader retries and fails alike: it must exceed the
	 * keyspace's snapshot), and after NODE_SNAPSHOT_STALL_ELECTIONS
	 * election timeouts without a chunk. */
	uint64_t snapshot_bytes_max;
	bool store_compression;
	/* A leader writes its log on the store's writer thread while it
	 * goes on (raft.h: persist_async, thesis 10.2.1); the caller
	 * watches node_log_notify_fd() and calls node_log_progress(). */
	bool async_log;
	struct node_transport transport;
	/* Called after a Ready that changed who the members are or where
	 * they live (a configuration change, a MEMBER_PUT / MEMBER_DEL, a
	 * snapshot installed); NULL: none. */
	void (*on_members)(void *ctx);
	void *members_ctx;
	/* Called for every entry the fsm applies (on every replica, a
	 * replayed one excepted), before the request waiting on it
	 * completes: r's grants, leases touched and leases gone (a retry
	 * has none). NULL: none. */
	void (*on_applied)(void *ctx, uint64_t index,
			   const struct fsm_entry_result *r);
	void *applied_ctx;
	/* Puts the replies and pushes that applying queued on the wire now
	 * (applied_ctx; NULL: they leave on the caller's own time): called
	 * after the committed entries already on disk were applied and
	 * before the Ready's new entries are written, so that no reply
	 * waits behind that write. */
	void (*replies_flush)(void *ctx);
	/* One line per event; NULL: stderr. */
	void (*log)(void *ctx, enum node_log_level level, const char *msg);
	void *log_ctx;
};

#define NODE_SNAPSHOT_STALL_ELECTIONS 5
#define NODE_SNAPSHOT_BYTES_MAX_DEFAULT (UINT64_C(8) << 30)

/* Defaults: election 10 ticks, heartbeat 1, snapshot every 10000 entries,
 * requests time out after 30 ticks, the fsm limits of proto/limits.h,
 * snapshot streams up to NODE_SNAPSHOT_BYTES_MAX_DEFAULT (8 GiB). */
void node_config_default(struct node_config *cfg);

/* Opens the store in cfg->data_dir (creating it), restores Raft and the
 * fsm from it, and bootstraps a new cluster when the store is empty and
 * voters are given. On error, a message naming the cause (and, for a
 * corrupt store, what to do) is written to err. */
int node_open(const struct node_config *cfg, struct node **out, char *err,
	      size_t errlen);

/* Fails every waiting request with COORD_ENOTLEADER and closes the store.
 * NULL does nothing. */
void node_close(struct node *n);

/* Advances Raft's logical clock by one tick. */
void node_tick(struct node *n);

/* A message from a peer (decoded by the transport; its entries may point
 * into the transport's buffer: the core copies what it keeps). Malformed
 * messages are dropped with a log line and COORD_EMALFORMED. */
int node_step(struct node *n, const struct raft_message *m);

/* Runs the Ready loop until Raft has nothing more to say. Returns 0, or
 * COORD_EIO when the store failed: the node can no longer make progress
 * and must stop (the caller exits; recovery happens on restart). */
int node_flush(struct node *n);

/* True when node_flush() has work to do. */
bool node_has_ready(const struct node *n);

/* With cfg.async_log: a descriptor that becomes readable when a leader's
 * background log write finished (-1 without async_log). The caller then
 * calls node_log_progress(), which tells Raft what is durable (and then
 * node_has_ready() may be true). COORD_EIO: the store failed, as for
 * node_flush(). */
int node_log_notify_fd(const struct node *n);
int node_log_progress(struct node *n);

/* Completion of a request: code COORD_OK with the reply's bytes (the
 * encoded proto_reply of the command, valid during the call only), or an
 * error code and no bytes. */
typedef void (*node_done_fn)(void *ctx, int code, const uint8_t *reply,
			     size_t len);

/* Caller storage, embedded in the request; the fields are private. */
struct node_waiter {
	node_done_fn done;
	void *ctx;
	uint64_t index;
	uint64_t term;
	uint64_t read_ctx;
	unsigned age;
	struct node_waiter *next;
	struct node_waiter *prev;
	int list;
};

/*
 * Proposes data (an encoded proto_entry, copied: proto/msg.h) and calls
 * w->done once the entry is applied -- with the encoded reply the fsm
 * gave (fsm_apply_entry_data(): for a retry of an applied (client id,
 * sequence), the stored reply -- or with COORD_ENOTLEADER (leadership
 * lost and the entry overwritten: it will never apply) or
 * COORD_ETIMEDOUT (no outcome within request_ticks: it may still apply).
 * Either way the caller may retry with the same exactly-once sequence.
 * Returns COORD_ENOTLEADER at once on a follower, COORD_EINVAL for data
 * too large; then w is unused.
 */
int node_propose(struct node *n, const uint8_t *data, size_t len,
		 struct node_waiter *w, node_done_fn done, void *ctx);

/*
 * A linearizable read point (Raft thesis 6.4, ReadIndex): w->done runs
 * with COORD_OK and no bytes once this node has applied everything that
 * was committed when the read began -- the caller then reads the fsm --
 * or with COORD_ENOTLEADER when no leader confirmed it in time. Reads
 * that arrive before the same flush share one ReadIndex round.
 */
void node_read(struct node *n, struct node_waiter *w, node_done_fn done,
	       void *ctx);

/* Forgets w without calling it (its request went away). */
void node_waiter_cancel(struct node *n, struct node_waiter *w);

/*
 * Snapshots. Sending: the transport streams the chunks of a
 * store_snapshot_reader (coordd/store/store.h, on node_store()) and then
 * the RAFT_MSG_SNAPSHOT, and reports the outcome with
 * node_snapshot_sent(). Receiving: each chunk goes to
 * node_snapshot_chunk() in order, then the message to node_step(). A
 * chunk at offset 0 starts a new stream (dropping one half-staged); other
 * chunks must continue the staged stream exactly (same sender, index,
 * term, next offset) or they are ignored (COORD_EMALFORMED). node_step()
 * ignores a RAFT_MSG_SNAPSHOT unless the whole stream it names is staged,
 * so Raft never installs a snapshot whose data is missing; the staged
 * state becomes the fsm's when Raft installs it. COORD_EMALFORMED /
 * COORD_ECORRUPT for a bad chunk (the stream is dropped).
 */
struct node_chunk {
	uint64_t from;
	uint64_t index;             /* the snapshot's */
	uint64_t term;
	uint64_t offset;            /* of data in the stream */
	const uint8_t *data;
	size_t len;
	bool last;
};
int node_snapshot_chunk(struct node *n, const struct node_chunk *c);
void node_snapshot_sent(struct node *n, uint64_t to, bool ok);

/* The transport could not deliver to peer id (raft_report_unreachable(),
 * deferred to the end of the Ready when called from inside send()). */
void node_report_unreachable(struct node *n, uint64_t id);

/* A connection to or from peer id broke. When id is this follower's
 * leader, raft_report_leader_lost() brings the election forward (a dead
 * leader is replaced in a few heartbeats, not a whole election timeout;
 * a live one keeps its lease with the other followers). */
void node_report_peer_down(struct node *n, uint64_t id);

/* Leadership transfer, membership. */
int node_transfer_leadership(struct node *n, uint64_t target);
int node_conf_change(struct node *n, enum raft_conf_op op, uint64_t id,
		     struct node_waiter *w, node_done_fn done, void *ctx);

/* Getters. */
struct raft *node_raft(struct node *n);
struct fsm *node_fsm(struct node *n);
struct store *node_store(struct node *n);
uint64_t node_id(const struct node *n);
/* +1 each time the fsm is reopened (a snapshot installed): whoever keeps
 * state derived from the fsm rebuilds it when this changes. */
uint64_t node_fsm_generation(const struct node *n);

/* Counters for /metrics. */
struct node_stats {
	uint64_t leader_changes;
	uint64_t proposals_committed;
	uint64_t proposals_failed;
	uint64_t readies;
	uint64_t ready_entries;     /* entries persisted, summed */
	uint64_t ready_batch_max;
	uint64_t ready_batch_hist[12];  /* entries per Ready: <=1, <=2,
					 * <=4 ... <=1024, more */
	uint64_t fsyncs;
	uint64_t fsync_ns_total;
	uint64_t fsync_hist[16];    /* by power of two microseconds */
	uint64_t snapshots_made;
	uint64_t snapshots_installed;
};
const struct node_stats *node_stats(const struct node *n);

#endif /* COORD_COORDD_NODE_H */
