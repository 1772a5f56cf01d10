/*
 * tests/sim/checkers.h: the safety checkers of the Raft simulator.
 *
 * A checker watches the history of a cluster, fed to it one observation at a
 * time by the simulator (or by a test with a hand-made history), and records
 * every violation of a Raft safety property it sees:
 *
 *   election safety      at most one leader per term, over the whole run;
 *   log matching         two logs holding an entry with the same index and
 *                        term hold the same entries up to it (checked
 *                        incrementally: each (index, term) names one payload
 *                        and one previous term);
 *   committed entries    an index is committed with one entry only;
 *   leader completeness  an entry committed in term T is in the log of
 *                        every leader of a term >= T (or in its snapshot);
 *   state machine safety no two nodes apply different entries at one index;
 *   commit monotonicity  a node's commit index never goes down;
 *   vote safety          a node's persisted term never goes down, and it
 *                        votes at most once in a term;
 *   linearizable reads   a ReadIndex read returns a state that includes
 *                        every write acknowledged before the read began.
 *
 * The checkers know nothing of struct raft: they see ids, indexes, terms
 * and payload hashes, and a log through a small read-only view. They never
 * print; the caller reads the violations back.
 */
#ifndef COORD_TESTS_SIM_CHECKERS_H
#define COORD_TESTS_SIM_CHECKERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A read-only view of one node's log: entries snap_index+1..last_index,
 * and the snapshot's (snap_index, snap_term) below them. */
struct checker_log {
	const void *ctx;
	uint64_t snap_index;
	uint64_t snap_term;
	uint64_t last_index;
	/* The term and payload hash of the entry at index; false if absent. */
	bool (*entry)(const void *ctx, uint64_t index, uint64_t *term,
		      uint64_t *hash);
};

struct checker;

struct checker *checker_new(void);
void checker_free(struct checker *ck);

/* Where in the run the next observations happen (for the messages). */
void checker_set_step(struct checker *ck, uint64_t step, uint64_t time);

/* Violations seen so far; the text of the first and of the last one. */
size_t checker_violations(const struct checker *ck);
const char *checker_first_violation(const struct checker *ck);
const char *checker_last_violation(const struct checker *ck);

/* Records a violation found outside the checkers (e.g. a broken contract
 * or a liveness failure), so that all of them are counted in one place. */
void checker_fail(struct checker *ck, const char *rule, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Election safety: node is leader in term. */
void checker_leader(struct checker *ck, uint64_t node, uint64_t term);

/* Log matching: node holds (index, term) with payload hash, preceded by an
 * entry of prev_term (0 at index 1). */
void checker_log_entry(struct checker *ck, uint64_t node, uint64_t index,
		       uint64_t term, uint64_t prev_term, uint64_t hash);

/* Log matching between two whole logs (a backstop for the end of a run). */
void checker_log_pair(struct checker *ck, uint64_t a,
		      const struct checker_log *la, uint64_t b,
		      const struct checker_log *lb);

/* node, whose current term is node_term, considers (index, term, hash)
 * committed. The entry counts as committed in node_term for leader
 * completeness (an upper bound of the term it was committed in). */
void checker_commit(struct checker *ck, uint64_t node, uint64_t index,
		    uint64_t term, uint64_t hash, uint64_t node_term);

/* The highest index recorded as committed. */
uint64_t checker_committed_max(const struct checker *ck);

/* A node persists a new hard state over an old one: its term never goes
 * down, a vote once cast in a term never changes (one vote per term), and
 * the persisted commit index never goes down. */
void checker_hard_state(struct checker *ck, uint64_t node, uint64_t old_term,
			uint64_t old_vote, uint64_t old_commit,
			uint64_t new_term, uint64_t new_vote,
			uint64_t new_commit);

/* Commit monotonicity: node's commit index went from before to now. */
void checker_commit_index(struct checker *ck, uint64_t node, uint64_t before,
			  uint64_t now);

/* Leader completeness: node is leader in term with this log. Incremental
 * per (node, term): each committed entry is verified once. */
void checker_leader_log(struct checker *ck, uint64_t node, uint64_t term,
			const struct checker_log *log);

/* State machine safety: node applied (index, term, hash), and its state
 * machine's running hash over indexes 1..index is chain. */
void checker_apply(struct checker *ck, uint64_t node, uint64_t index,
		   uint64_t term, uint64_t hash, uint64_t chain);

/* State machine safety for a state restored from a snapshot: node's state
 * as of index has running hash chain. */
void checker_restore(struct checker *ck, uint64_t node, uint64_t index,
		     uint64_t chain);

/* Linearizable reads. A write is acknowledged once it is applied at index;
 * a read remembers the token returned when it began, and when it is served
 * from a state that has applied served_index, every write acknowledged
 * before it began must be in that state. */
void checker_write_acked(struct checker *ck, uint64_t index);
uint64_t checker_read_begin(const struct checker *ck);
void checker_read_served(struct checker *ck, uint64_t node, uint64_t context,
			 uint64_t token, uint64_t served_index);

#endif /* COORD_TESTS_SIM_CHECKERS_H */
