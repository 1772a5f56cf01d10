/*
 * tests/unit/raft_harness.h: a small in-memory cluster for the raft unit
 * tests.
 *
 * Nodes 1..n, each a struct raft with what a host would keep beside it: the
 * durable state (hard state, snapshot, log), written only from a Ready; a
 * tiny state machine that records every applied entry and a running hash;
 * the read states it received. Messages go into one queue that the test
 * controls explicitly: deliver all, deliver one, drop by type or link, or
 * forge and step a message of its own. Nothing is random and nothing runs
 * unless the test asks for it.
 *
 * Every Ready is checked on the way through (harness assertions fail the
 * running Check test): terms and commit never go back, entries are
 * contiguous and never leave a gap, committed entries come out once, in
 * order, and match the persisted log, a granted vote is in the hard state of
 * the same Ready, and an acknowledged index is on "disk" before the
 * acknowledgement is sent.
 */
#ifndef COORD_TESTS_UNIT_RAFT_HARNESS_H
#define COORD_TESTS_UNIT_RAFT_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft/raft.h"

#define H_NODES_MAX 10          /* ids 1..H_NODES_MAX */
#define H_DELIVER_MAX 200000    /* messages one h_deliver_all() may step */

/* One applied entry, as the state machine saw it. */
struct h_applied {
	uint64_t index;
	uint64_t term;
	uint32_t type;
	uint32_t len;
	uint8_t *data;
	uint64_t hash;          /* state machine hash after applying it */
};

struct h_node {
	uint64_t id;
	struct raft *r;         /* NULL: not started or crashed */
	struct raft_config cfg;

	/* Durable state: only what Readies told us to persist. */
	struct raft_hard_state hs;
	bool has_snap;
	struct raft_snapshot_meta snap;
	uint8_t *snap_data;
	size_t snap_len;
	struct raft_entry *log; /* indexes snap.index+1 .. */
	size_t n_log;
	size_t cap_log;

	/* The state machine. */
	uint64_t applied;
	uint64_t sm_hash;
	uint64_t sm_count;      /* entries applied since the beginning */
	struct h_applied *hist; /* applied entries since the last install */
	size_t n_hist;
	size_t cap_hist;
	unsigned n_installed;   /* snapshots installed from a Ready */

	/* Read states handed out by Readies. */
	struct raft_read_state *reads;
	size_t n_reads;
	size_t cap_reads;

	/* Statistics and monotonicity checks. */
	unsigned n_ready;
	uint64_t term_seen;
	uint64_t commit_seen;
};

struct h_msg {
	struct raft_message m;  /* entries and snapshot data owned here */
};

struct harness {
	size_t n;
	struct h_node nodes[H_NODES_MAX + 1];

	struct h_msg *queue;
	size_t n_queue;
	size_t cap_queue;

	/* Delivery rules: a cut link drops, the filter (true: drop) drops. */
	bool cut[H_NODES_MAX + 1][H_NODES_MAX + 1];
	bool (*filter)(void *ctx, const struct raft_message *m);
	void *filter_ctx;

	/* Called with every Ready before the harness processes it. */
	void (*on_ready)(void *ctx, uint64_t id, const struct raft_ready *rd);
	void *on_ready_ctx;

	uint64_t n_delivered;
	uint64_t n_dropped;
};

/* Sets up n node slots (ids 1..n) with raft_config_default(id, seed 1000+id)
 * and election 10, heartbeat 1. Nothing is started. */
void h_init(struct harness *h, size_t n);
/* Frees every node and message. */
void h_close(struct harness *h);

/* Starts every node 1..n; 1..n_voters bootstrap with voters 1..n_voters,
 * the others start empty. Processes the bootstrap Readies. */
void h_bootstrap(struct harness *h, size_t n_voters);

/* Starts node id alone and bootstraps it with voters 1..n_voters (the
 * other nodes stay down); processes its Ready. */
void h_boot_node(struct harness *h, uint64_t id, size_t n_voters);

/* Writes a durable state for node id (which must be down) as if it had
 * persisted it: entries 1..n_voters are the bootstrap configuration
 * (ADD_VOTER 1..n_voters, term 1, committed), followed by one normal entry
 * per element of terms (data "e<index>"). Hard state {term, vote,
 * n_voters}; nothing applied. h_start() then restores it. */
void h_preload(struct harness *h, uint64_t id, size_t n_voters,
	       const uint64_t *terms, size_t n_terms, uint64_t term,
	       uint64_t vote);

/* Creates the node from its durable state (raft_new with a raft_restore;
 * NULL restore when nothing was persisted). The state machine is kept
 * (restore.applied = h->nodes[id].applied) unless it was lost in h_crash(). */
void h_start(struct harness *h, uint64_t id);
/* raft_free: what was not persisted is gone. lose_sm also throws the state
 * machine away (it is then rebuilt from the snapshot and the log). */
void h_crash(struct harness *h, uint64_t id, bool lose_sm);
/* Fills a raft_restore from the node's durable state (pointers into it). */
void h_restore_fill(struct harness *h, uint64_t id, struct raft_restore *rs);

struct h_node *h_node(struct harness *h, uint64_t id);
struct raft *h_raft(struct harness *h, uint64_t id);

/* Processes one Ready of node id, if it has one. */
bool h_ready(struct harness *h, uint64_t id);
/* Processes an already collected Ready (persist, queue the messages,
 * apply, advance). */
void h_ready_process(struct harness *h, uint64_t id, struct raft_ready *rd);
/* Processes Readies of every running node until none is left. */
void h_ready_all(struct harness *h);

/* raft_tick n times on node id, Readies processed after each tick. */
void h_tick(struct harness *h, uint64_t id, unsigned n);
/* One tick on every running node, n times. */
void h_tick_all(struct harness *h, unsigned n);

/* Steps a (forged) message into its destination m->to and processes the
 * Readies; returns what raft_step returned. */
int h_step(struct harness *h, const struct raft_message *m);

/* Delivers queued messages (and the messages they cause) until the queue
 * is empty; cut links and the filter drop. Returns messages stepped. */
size_t h_deliver_all(struct harness *h);
/* Like h_deliver_all() but only messages whose type bit (1u << type) is in
 * mask are delivered; the others stay queued in order. */
#define H_BIT(type) (1u << (type))
#define H_VOTES                                                              \
	(H_BIT(RAFT_MSG_VOTE) | H_BIT(RAFT_MSG_VOTE_RESP) |                 \
	 H_BIT(RAFT_MSG_PREVOTE) | H_BIT(RAFT_MSG_PREVOTE_RESP))
size_t h_deliver_types(struct harness *h, uint32_t mask);
/* Ticks every running node once and delivers everything, until a leader
 * of a term above min_term exists (returned) or max_ticks passed (0). */
uint64_t h_run_until_leader(struct harness *h, uint64_t min_term,
			    unsigned max_ticks);
/* Delivers queue[i] (ignoring cuts and the filter), removing it. */
int h_deliver_at(struct harness *h, size_t i);
/* Queue search: type 0, from 0, to 0 match anything. -1: none. */
long h_find(const struct harness *h, uint32_t type, uint64_t from,
	    uint64_t to);
size_t h_count(const struct harness *h, uint32_t type, uint64_t from,
	       uint64_t to);
/* Delivers the first matching message; returns false if there was none. */
bool h_deliver_first(struct harness *h, uint32_t type, uint64_t from,
		     uint64_t to);
/* Removes matching messages; returns how many. */
size_t h_drop(struct harness *h, uint32_t type, uint64_t from, uint64_t to);
/* Removes queue[i]. */
void h_remove_at(struct harness *h, size_t i);

void h_isolate(struct harness *h, uint64_t id);
void h_cut(struct harness *h, uint64_t a, uint64_t b);
void h_heal(struct harness *h);

/* Ticks id until it starts a campaign, then delivers everything and
 * asserts that it won; then h_settle(). */
void h_elect(struct harness *h, uint64_t id);
/* The leader of the highest term among running nodes, 0 if none. */
uint64_t h_leader(const struct harness *h);
/* Heartbeat rounds from the leader until every reachable node knows the
 * leader's commit index (bounded). */
void h_settle(struct harness *h);

/* Proposes a string on node id, asserts success, returns the index. */
uint64_t h_propose(struct harness *h, uint64_t id, const char *s);
/* Proposes and delivers, asserts it was applied by the leader. */
uint64_t h_commit(struct harness *h, uint64_t leader, const char *s);

/* Compacts node id at index (raft_compact + the durable state); the
 * snapshot data is the state machine as of index. Returns raft_compact's
 * result; the durable state changes only on success. */
int h_compact(struct harness *h, uint64_t id, uint64_t index);

/* The application's snapshot data format. */
#define H_SNAP_LEN 32
void h_snap_encode(uint8_t out[H_SNAP_LEN], uint64_t index, uint64_t hash,
		   uint64_t count);

/* Whether node id applied index (with that term); the applied entry. */
const struct h_applied *h_applied_at(const struct h_node *n, uint64_t index);
/* Whether node id applied an entry with this data. */
bool h_applied_data(const struct h_node *n, const char *s);
/* The persisted entry at index, or NULL. */
const struct raft_entry *h_log_at(const struct h_node *n, uint64_t index);
uint64_t h_log_last(const struct h_node *n);

/* Asserts the Raft safety properties across the nodes: log matching on the
 * persisted logs, equal applied entries at equal indexes. */
void h_check_safety(const struct harness *h);

/* Read states of node id with this context: count, and the index of the
 * last one. */
size_t h_reads_with(const struct h_node *n, uint64_t context,
		    uint64_t *index);

/* A counting allocator: calls counts every malloc/realloc; the call number
 * fail_at (1-based, 0: never) fails, and so do all later ones if
 * fail_after is set; live counts outstanding blocks. */
struct h_alloc {
	struct raft_allocator a;
	size_t calls;
	size_t fail_at;
	bool fail_after;
	size_t failed;
	long live;
};
void h_alloc_init(struct h_alloc *al);

/* Message helpers for forged messages. */
struct raft_message h_msg_make(uint32_t type, uint64_t from, uint64_t to,
			       uint64_t term);

#endif /* COORD_TESTS_UNIT_RAFT_HARNESS_H */
