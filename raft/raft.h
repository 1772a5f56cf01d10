/*
 * raft/raft.h: the consensus core of coord.
 *
 * A pure state machine in the style of etcd/raft: it never does I/O, never
 * reads a clock, never starts a thread and keeps no global state. Time enters
 * only through raft_tick(), randomness only from the seed in raft_config, and
 * every effect leaves through a struct raft_ready that the application
 * collects, carries out, and acknowledges with raft_advance().
 *
 * THE CONTRACT
 *
 * Driving loop:
 *
 *     raft_tick() / raft_step() / raft_propose() / raft_read_index() ...
 *     if (raft_has_ready(r)) {
 *         struct raft_ready rd;
 *         raft_ready(r, &rd);
 *         1. persist rd.snapshot (if any), then rd.entries, then
 *            rd.hard_state (if hard_state_changed); all three durably
 *            (fsync) before step 2 -- ideally in one atomic batch;
 *         2. send rd.messages (only now: a vote or an append acknowledgement
 *            promises that the state above is on disk) -- except that a
 *            leader (rd.role == RAFT_LEADER) may send the messages for
 *            which raft_msg_may_precede_persist() is true before step 1,
 *            in parallel with its own write (thesis 10.2.1);
 *         3. restore the state machine from the snapshot data (if any), then
 *            apply rd.committed in order (the entries of rd.committed that
 *            an earlier Ready persisted -- below rd.entries[0] and within
 *            the stored log -- may be applied before step 1: a leader's
 *            always are, since it commits only what it persisted);
 *         4. hand rd.reads to waiting readers: a read with index I may be
 *            served once the state machine has applied index I;
 *         raft_advance(r, &rd);
 *     }
 *
 * Asynchronous leader writes (cfg.async_leader_persist, thesis 10.2.1): a
 * Ready with rd.persist_async set -- a leader's, whose term and vote are
 * already on disk and which has no snapshot -- may leave step 1 for after
 * raft_advance(): the application sends all of its messages, applies
 * rd.committed (only entries this node persisted: the core holds back
 * the rest), advances, and writes rd.entries and rd.hard_state in the
 * background, in order. When a write is durable, it calls
 * raft_persisted() with the index and term of the last entry it wrote;
 * only then does the leader count itself towards a quorum for it.
 * Meanwhile it may take the next Readies: their entries follow on. A
 * Ready without persist_async is carried out as above, after the
 * background writes of the Readies before it are durable (the
 * application waits for them first, inside the Ready); its
 * raft_advance() counts them as persisted.
 *
 * Between raft_ready() and raft_advance() the application calls no other
 * function of this node that changes it (the getters are fine). Every
 * pointer in a raft_ready stays valid until raft_advance() and not after:
 * the messages, entries and their data must be copied if they are needed
 * later (a transport that queues a message copies it).
 *
 * rd.entries: entries[0].index may be at or below the last index already on
 * disk; the stored log is then truncated from entries[0].index before the
 * entries are written (a follower overwriting a conflicting suffix).
 *
 * rd.snapshot: the stored log is replaced by the snapshot: everything at or
 * below snapshot->index is gone, and the log continues at snapshot->index+1.
 *
 * Restart: the application loads what it persisted (hard state, the latest
 * snapshot's metadata, the entries after it, the applied index) into a
 * struct raft_restore and passes it to raft_new(). Committed entries above
 * the applied index come out again in rd.committed.
 * With cfg.async_leader_persist, rd.committed runs ahead of the hard state
 * on disk (its commit is written in the background): a crash may leave
 * the applied index, or a snapshot taken at it, above hard_state.commit.
 * raft_new() then starts with commit = applied (what was applied was
 * committed); without the mode such a restore is refused (RAFT_EINVAL).
 *
 * Membership: one change at a time (Raft thesis 4.1, single-server changes,
 * rather than joint consensus): every majority of the old voter set
 * intersects every majority of the new one, so no special commit rules are
 * needed, and the implementation stays small enough to test exhaustively.
 * A change takes effect on a node when the node applies the entry (it is
 * committed and has come out in rd.committed), exactly as etcd/raft without
 * joint consensus. A leader proposes a new change only after the previous
 * one is applied and after it committed an entry of its own term (the fix
 * for the single-server bug found in 2015), and it refuses a change while a
 * leadership transfer is in progress. Learners receive the log but neither
 * vote nor count towards a quorum; ADD_VOTER on a learner promotes it.
 * A leader that applies its own removal steps down.
 *
 * Snapshot data is opaque to the core: the application keeps the data of
 * the snapshot it compacted to (raft_compact()) and attaches it to every
 * RAFT_MSG_SNAPSHOT it sends (snapshot_data/snapshot_len, which may as well
 * name a file). A receiving core that installs it returns a copy in
 * rd.snapshot_data.
 *
 * Errors: functions that act return 0 or a RAFT_E* code. Messages from
 * peers are never trusted: unknown senders, stale or future terms,
 * out-of-range indexes, snapshots older than the log are ignored or answered
 * as the Raft paper says; none of them can trip an assertion.
 */
#ifndef COORD_RAFT_RAFT_H
#define COORD_RAFT_RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Return codes. */
#define RAFT_OK 0
#define RAFT_EINVAL 1       /* a bad argument */
#define RAFT_ENOTLEADER 2   /* only a leader does this */
#define RAFT_ENOMEM 3       /* the allocator failed; nothing changed */
#define RAFT_EBUSY 4        /* a conf change or transfer is in progress */
#define RAFT_ETOOBIG 5      /* a proposal over max_entry_bytes */
#define RAFT_ESTATE 6       /* not possible in this state */

/* Limits. */
#define RAFT_NODES_MAX 16   /* voters + learners in one configuration */
/* The largest log index (and term) a peer may name: a message with an
 * index, commit, term or snapshot index above it, or with entries that
 * would pass it, is malformed (RAFT_EINVAL). 2^62 entries is beyond any
 * real log, and the margin keeps every index computation from wrapping. */
#define RAFT_INDEX_MAX (UINT64_C(1) << 62)
/* The largest term a node adopts or campaigns for. A message with a term
 * field above it is malformed (RAFT_EINVAL), and a node at this term no
 * longer campaigns: so a node only ever adopts a term it could itself
 * increment, and no term it sends is one its peers would refuse. The
 * margin of 2^32 terms under RAFT_INDEX_MAX is four billion elections. */
#define RAFT_TERM_MAX (RAFT_INDEX_MAX - (UINT64_C(1) << 32))

const char *raft_strerror(int code);

enum raft_role {
	RAFT_FOLLOWER = 0,
	RAFT_PRE_CANDIDATE,
	RAFT_CANDIDATE,
	RAFT_LEADER,
};

const char *raft_role_name(enum raft_role role);

enum raft_entry_type {
	RAFT_ENTRY_NORMAL = 0,  /* application data; empty for a leader's no-op */
	RAFT_ENTRY_CONF = 1,    /* a membership change, see raft_conf_change */
};

struct raft_entry {
	uint64_t term;
	uint64_t index;
	uint32_t type;          /* enum raft_entry_type */
	uint32_t len;
	uint8_t *data;          /* len bytes; owned by whoever owns the entry */
};

enum raft_conf_op {
	RAFT_CONF_ADD_LEARNER = 1,
	RAFT_CONF_ADD_VOTER = 2,    /* adds a voter, or promotes a learner */
	RAFT_CONF_REMOVE = 3,       /* removes a voter or a learner */
};

/* The payload of a RAFT_ENTRY_CONF entry: RAFT_CONF_CHANGE_LEN bytes, the op
 * then the node id as 8 little-endian bytes. */
#define RAFT_CONF_CHANGE_LEN 9
struct raft_conf_change {
	enum raft_conf_op op;
	uint64_t id;
};
void raft_conf_change_encode(const struct raft_conf_change *cc,
			     uint8_t out[RAFT_CONF_CHANGE_LEN]);
/* Returns RAFT_EINVAL when the payload is not a valid change. */
int raft_conf_change_decode(const uint8_t *data, size_t len,
			    struct raft_conf_change *cc);

/* A configuration: ids are non-zero and distinct; 0 means "nobody". */
struct raft_conf {
	uint32_t n_voters;
	uint32_t n_learners;
	uint64_t voters[RAFT_NODES_MAX];
	uint64_t learners[RAFT_NODES_MAX];
};

bool raft_conf_is_voter(const struct raft_conf *c, uint64_t id);
bool raft_conf_is_learner(const struct raft_conf *c, uint64_t id);

struct raft_snapshot_meta {
	uint64_t index;         /* last index the snapshot covers */
	uint64_t term;          /* term of that entry */
	struct raft_conf conf;  /* configuration as of index */
};

struct raft_hard_state {
	uint64_t term;
	uint64_t vote;
	uint64_t commit;
};

enum raft_msg_type {
	RAFT_MSG_APPEND = 1,
	RAFT_MSG_APPEND_RESP,
	RAFT_MSG_VOTE,
	RAFT_MSG_VOTE_RESP,
	RAFT_MSG_PREVOTE,
	RAFT_MSG_PREVOTE_RESP,
	RAFT_MSG_HEARTBEAT,
	RAFT_MSG_HEARTBEAT_RESP,
	RAFT_MSG_SNAPSHOT,
	RAFT_MSG_TIMEOUT_NOW,
	RAFT_MSG_READ_INDEX,
	RAFT_MSG_READ_INDEX_RESP,
};
#define RAFT_MSG_TYPE_MAX RAFT_MSG_READ_INDEX_RESP

const char *raft_msg_type_name(int type);


/*
 * One message between peers. Field use by type:
 *   APPEND:        index/log_term = the entry before entries[0] (prev),
 *                  entries, commit.
 *   APPEND_RESP:   accepted: index = last index now known to match.
 *                  reject: index = the rejected prev index, reject_hint =
 *                  where the leader should retry (first index of the
 *                  conflicting term, or the follower's last index + 1),
 *                  hint_term = the conflicting term (0: the log was short).
 *   VOTE, PREVOTE: index/log_term = the candidate's last entry; transfer =
 *                  campaign started by a leadership transfer.
 *   *_RESP:        reject.
 *   HEARTBEAT:     commit (capped at what the follower has), context = the
 *                  leader's read-index round, echoed in HEARTBEAT_RESP.
 *   SNAPSHOT:      snapshot, snapshot_data/len (attached by the application).
 *   READ_INDEX:    context (the application's), follower -> leader.
 *   READ_INDEX_RESP: context, index = the read index; reject when the
 *                  leader could not serve it.
 */
struct raft_message {
	uint32_t type;          /* enum raft_msg_type */
	uint64_t from;
	uint64_t to;
	uint64_t term;
	uint64_t log_term;
	uint64_t index;
	uint64_t commit;
	uint64_t reject_hint;
	uint64_t hint_term;
	uint64_t context;
	bool reject;
	bool transfer;
	size_t n_entries;
	struct raft_entry *entries;
	struct raft_snapshot_meta snapshot;
	const void *snapshot_data;
	size_t snapshot_len;
};

/* Thesis 10.2.1: the messages a leader may send before it has persisted
 * the Ready they came in -- APPEND, HEARTBEAT, SNAPSHOT and TIMEOUT_NOW.
 * They promise nothing about the leader's own disk: the leader counts
 * itself towards a quorum only for what it persisted (raft_advance()),
 * so an entry it loses in a crash was never committed by its vote. Only
 * for a Ready whose role is RAFT_LEADER. */
bool raft_msg_may_precede_persist(const struct raft_message *m);

struct raft_read_state {
	uint64_t context;       /* as given to raft_read_index() */
	uint64_t index;         /* serve once applied >= index */
};

struct raft_ready {
	/* Soft state: always filled. */
	enum raft_role role;
	uint64_t leader;
	uint64_t term;

	bool hard_state_changed;
	struct raft_hard_state hard_state;

	const struct raft_snapshot_meta *snapshot;  /* NULL: none */
	const void *snapshot_data;
	size_t snapshot_len;

	const struct raft_entry *entries;           /* to persist */
	size_t n_entries;
	/* entries and hard_state may be persisted after raft_advance(),
	 * reported with raft_persisted() (cfg.async_leader_persist). */
	bool persist_async;

	const struct raft_message *messages;        /* to send after persisting */
	size_t n_messages;

	const struct raft_entry *committed;         /* to apply, in order */
	size_t n_committed;

	const struct raft_read_state *reads;
	size_t n_reads;
};

/* An allocator the core uses for everything; NULL fields mean libc. */
struct raft_allocator {
	void *(*malloc)(void *ctx, size_t size);
	void *(*realloc)(void *ctx, void *ptr, size_t size);
	void (*free)(void *ctx, void *ptr);
	void *ctx;
};

struct raft_config {
	uint64_t id;                    /* this node, non-zero */
	unsigned election_ticks;        /* base election timeout, >= 2 */
	unsigned heartbeat_ticks;       /* < election_ticks, >= 1 */
	uint64_t seed;                  /* PRNG seed for randomized timeouts */
	bool pre_vote;                  /* thesis 9.6 */
	bool check_quorum;              /* thesis 6.2: leader steps down */
	/* A leader's Readies carry persist_async: its log is written in the
	 * background while it goes on (thesis 10.2.1; see the contract). */
	bool async_leader_persist;
	size_t max_inflight;            /* APPENDs in flight per follower, >= 1 */
	size_t max_msg_entries;         /* entries in one APPEND, >= 1 */
	size_t max_msg_bytes;           /* data bytes in one APPEND (soft) */
	size_t max_entry_bytes;         /* a larger proposal: RAFT_ETOOBIG */
	const struct raft_allocator *alloc;  /* NULL: libc */
	/* Trace events (for simulators and debugging); NULL: none. */
	void (*trace)(void *ctx, uint64_t id, const char *event);
	void *trace_ctx;
};

/* Fills a config with defaults: election 10, heartbeat 1, pre_vote and
 * check_quorum on, 256 in flight, 64 entries / 1 MiB per message,
 * 1 MiB per entry. */
void raft_config_default(struct raft_config *cfg, uint64_t id, uint64_t seed);

/* What the application persisted, for raft_new(). All NULL/0: a new node. */
struct raft_restore {
	struct raft_hard_state hard_state;
	const struct raft_snapshot_meta *snapshot;  /* NULL: none */
	const struct raft_entry *entries;           /* after the snapshot */
	size_t n_entries;
	uint64_t applied;               /* last index applied to the state machine */
};

struct raft;

/* Creates a node. restore may be NULL (a new, empty node: it waits for a
 * leader to send it the log, or for raft_bootstrap()). The entries and
 * snapshot are copied. Errors: RAFT_EINVAL (bad config, or a restore
 * whose log is not contiguous or whose hard state is out of range),
 * RAFT_ENOMEM; on any error *out is NULL. */
int raft_new(const struct raft_config *cfg, const struct raft_restore *rs,
	     struct raft **out);
void raft_free(struct raft *r);

/* On a new node with an empty log: writes the initial configuration as
 * ADD_VOTER entries 1..n at term 1, committed. Every founding member
 * bootstraps with the same list. RAFT_ESTATE if the log is not empty. */
int raft_bootstrap(struct raft *r, const uint64_t *voters, size_t n);

void raft_tick(struct raft *r);

/* Feeds a message from a peer. m->to must be this node. Returns 0 also for
 * messages that were ignored; RAFT_EINVAL for a malformed one (unknown
 * type, bad sender, an index above RAFT_INDEX_MAX, a term above
 * RAFT_TERM_MAX, entries out of sequence). A message from a node outside
 * the configuration -- neither a voter nor a learner of the applied
 * configuration, nor added by a configuration entry of the log not yet
 * applied -- is ignored whatever its type and term (it cannot lead, vote,
 * or move this node's term), except on a node that is not in its own
 * configuration (joining: empty, or not yet up to the entry that adds
 * it; it learns the configuration from the leader that adds it). */
int raft_step(struct raft *r, const struct raft_message *m);

/* Appends data (copied) to the leader's log. index and term (may be NULL) say
 * where: the proposal succeeded if the entry at that index is later
 * committed with that term. RAFT_ENOTLEADER, RAFT_EBUSY (transferring),
 * RAFT_ETOOBIG, RAFT_ENOMEM. */
int raft_propose(struct raft *r, const void *data, size_t len,
		 uint64_t *index, uint64_t *term);

/* Proposes one membership change. RAFT_EBUSY while a change is pending or a
 * transfer runs or no entry of this term has committed yet; RAFT_EINVAL for
 * a change that does nothing (adding a present voter, removing an absent
 * node) or that would leave no voter or too many nodes. */
int raft_propose_conf_change(struct raft *r, enum raft_conf_op op,
			     uint64_t id, uint64_t *index);

/* Asks for a linearizable read point (thesis 6.4). On the leader it is
 * confirmed by a heartbeat round; on a follower it is forwarded to the
 * leader. The answer comes as a raft_read_state with this context in a
 * later Ready; a context that never comes back was lost (retry).
 * RAFT_ENOTLEADER when no leader is known. */
int raft_read_index(struct raft *r, uint64_t context);

/* Leader transfer (thesis 3.10): stops taking proposals, brings target up
 * to date, and tells it to campaign at once. Aborted after an election
 * timeout. RAFT_ENOTLEADER, RAFT_EINVAL (target not a voter, or self). */
int raft_transfer_leadership(struct raft *r, uint64_t target);

/* The application has a snapshot of its state machine as of index
 * (<= applied): the core drops log entries up to index, keeping the
 * snapshot's metadata so that it can send it to followers that are behind.
 * RAFT_EINVAL if index is above applied or below the last snapshot. */
int raft_compact(struct raft *r, uint64_t index);

/* Transport feedback: a peer could not be reached (back to probing), or a
 * snapshot send finished (ok) or failed. */
void raft_report_unreachable(struct raft *r, uint64_t id);
/* A follower's transport saw its connection to the leader id break (the
 * process died, say): the node forgets the leader -- so it no longer
 * ignores vote requests as a live leader's follower does -- and times out
 * within 3 heartbeats (at a random tick) instead of a whole election
 * timeout. Nothing else changes, so a wrong report costs at most a
 * pre-vote: the other followers still hear the leader and refuse it. */
void raft_report_leader_lost(struct raft *r, uint64_t id);
void raft_report_snapshot(struct raft *r, uint64_t id, bool ok);

bool raft_has_ready(const struct raft *r);
void raft_ready(struct raft *r, struct raft_ready *rd);
void raft_advance(struct raft *r, const struct raft_ready *rd);
/* After a Ready with persist_async: every entry up to index (whose term
 * is term) is durable. A report the log has moved past (the entry at
 * index is gone or has another term, or is known persisted already) is
 * ignored. RAFT_ESTATE between raft_ready() and raft_advance(). */
int raft_persisted(struct raft *r, uint64_t index, uint64_t term);

/* Getters. */
uint64_t raft_id(const struct raft *r);
uint64_t raft_term(const struct raft *r);
uint64_t raft_vote(const struct raft *r);
uint64_t raft_leader(const struct raft *r);
enum raft_role raft_role(const struct raft *r);
bool raft_is_leader(const struct raft *r);
uint64_t raft_commit_index(const struct raft *r);
uint64_t raft_applied_index(const struct raft *r);
uint64_t raft_first_index(const struct raft *r);   /* snapshot index + 1 */
uint64_t raft_last_index(const struct raft *r);
const struct raft_conf *raft_conf(const struct raft *r);
const struct raft_snapshot_meta *raft_snapshot(const struct raft *r);
/* The term of the entry at index (the snapshot's term at its index);
 * false when the index is compacted away or beyond the log. */
bool raft_log_term(const struct raft *r, uint64_t index, uint64_t *term);
/* The entry at index, or NULL; valid until the node next changes. */
const struct raft_entry *raft_log_entry(const struct raft *r, uint64_t index);
uint64_t raft_transfer_target(const struct raft *r);  /* 0: none */
/* On the leader: the highest index known to be in id's log (a voter or a
 * learner; the leader itself: its stable log). RAFT_ENOTLEADER on other
 * nodes, RAFT_EINVAL for an id outside the configuration. For deciding
 * when a learner has caught up. */
int raft_progress_match(const struct raft *r, uint64_t id, uint64_t *match);

#ifdef __cplusplus
}
#endif

#endif /* COORD_RAFT_RAFT_H */
