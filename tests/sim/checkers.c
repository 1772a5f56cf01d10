/*
 * tests/sim/checkers.c: the safety checkers of the Raft simulator (see
 * checkers.h). Plain bookkeeping over ids, indexes, terms and hashes; no
 * knowledge of the core, no output.
 */
#include "tests/sim/checkers.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECKER_MSG_MAX 512

/* One (index, term) seen in some log: what it must always carry. */
struct lm_slot {
	uint64_t index;     /* 0: empty slot */
	uint64_t term;
	uint64_t hash;
	uint64_t prev_term;
	uint64_t node;
};

struct commit_rec {
	bool known;
	uint64_t term;
	uint64_t hash;
	uint64_t commit_term;   /* upper bound of the term it committed in */
	uint64_t node;
};

struct apply_rec {
	bool has_entry;
	bool has_chain;
	uint64_t term;
	uint64_t hash;
	uint64_t chain;
	uint64_t node;
};

/* Leader completeness progress of one node in one term. */
struct leader_seen {
	uint64_t node;
	uint64_t term;
	uint64_t upto;      /* committed indexes verified so far */
};

struct checker {
	uint64_t step;
	uint64_t time;
	size_t n_violations;
	char first[CHECKER_MSG_MAX];
	char last[CHECKER_MSG_MAX];

	uint64_t *leader_of;        /* by term; 0: none seen */
	size_t cap_leader_of;

	struct lm_slot *lm;
	size_t lm_cap;              /* a power of two */
	size_t lm_used;

	struct commit_rec *commits; /* by index */
	size_t cap_commits;
	uint64_t committed_max;

	struct apply_rec *applied;  /* by index */
	size_t cap_applied;

	struct leader_seen *leaders;
	size_t n_leaders;
	size_t cap_leaders;

	uint64_t acked_max;         /* highest acknowledged write index */
};

static void *xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size);
	if (q == NULL) {
		fprintf(stderr, "checkers: out of memory\n");
		abort();
	}
	return q;
}

/* Grows a zero-filled array so that index i is valid. */
static void grow_zeroed(void **arr, size_t *cap, size_t i, size_t elem)
{
	size_t ncap;
	if (i < *cap)
		return;
	ncap = *cap ? *cap : 64;
	while (ncap <= i)
		ncap *= 2;
	*arr = xrealloc(*arr, ncap * elem);
	memset((char *)*arr + *cap * elem, 0, (ncap - *cap) * elem);
	*cap = ncap;
}

struct checker *checker_new(void)
{
	struct checker *ck = calloc(1, sizeof(*ck));
	if (ck == NULL) {
		fprintf(stderr, "checkers: out of memory\n");
		abort();
	}
	ck->lm_cap = 1024;
	ck->lm = calloc(ck->lm_cap, sizeof(*ck->lm));
	if (ck->lm == NULL) {
		fprintf(stderr, "checkers: out of memory\n");
		abort();
	}
	return ck;
}

void checker_free(struct checker *ck)
{
	if (ck == NULL)
		return;
	free(ck->leader_of);
	free(ck->lm);
	free(ck->commits);
	free(ck->applied);
	free(ck->leaders);
	free(ck);
}

void checker_set_step(struct checker *ck, uint64_t step, uint64_t time)
{
	ck->step = step;
	ck->time = time;
}

size_t checker_violations(const struct checker *ck)
{
	return ck->n_violations;
}

const char *checker_first_violation(const struct checker *ck)
{
	return ck->n_violations > 0 ? ck->first : NULL;
}

const char *checker_last_violation(const struct checker *ck)
{
	return ck->n_violations > 0 ? ck->last : NULL;
}

static void vfail(struct checker *ck, const char *rule, const char *fmt,
		  va_list ap)
{
	char *buf = ck->n_violations == 0 ? ck->first : ck->last;
	int n = snprintf(buf, CHECKER_MSG_MAX, "step %" PRIu64 " t=%" PRIu64
			 ": %s: ", ck->step, ck->time, rule);
	if (n < 0)
		n = 0;
	if (n < CHECKER_MSG_MAX)
		vsnprintf(buf + n, CHECKER_MSG_MAX - (size_t)n, fmt, ap);
	if (ck->n_violations == 0)
		memcpy(ck->last, ck->first, CHECKER_MSG_MAX);
	ck->n_violations++;
}

void checker_fail(struct checker *ck, const char *rule, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(ck, rule, fmt, ap);
	va_end(ap);
}

/* ---------------------------------------------------------------------- */
/* Election safety. */

void checker_leader(struct checker *ck, uint64_t node, uint64_t term)
{
	grow_zeroed((void **)&ck->leader_of, &ck->cap_leader_of, term,
		    sizeof(*ck->leader_of));
	if (ck->leader_of[term] == 0) {
		ck->leader_of[term] = node;
		return;
	}
	if (ck->leader_of[term] != node)
		checker_fail(ck, "election safety",
			     "term %" PRIu64 " has two leaders, node %" PRIu64
			     " and node %" PRIu64, term, ck->leader_of[term],
			     node);
}

/* ---------------------------------------------------------------------- */
/* Log matching. */

static size_t lm_hash(uint64_t index, uint64_t term)
{
	uint64_t x = index * 0x9e3779b97f4a7c15ULL ^ term * 0xc2b2ae3d27d4eb4fULL;
	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 29;
	return (size_t)x;
}

static struct lm_slot *lm_find(struct lm_slot *tab, size_t cap,
			       uint64_t index, uint64_t term)
{
	size_t i = lm_hash(index, term) & (cap - 1);
	while (tab[i].index != 0 &&
	       (tab[i].index != index || tab[i].term != term))
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

static void lm_grow(struct checker *ck)
{
	size_t ncap = ck->lm_cap * 2;
	struct lm_slot *tab = calloc(ncap, sizeof(*tab));
	if (tab == NULL) {
		fprintf(stderr, "checkers: out of memory\n");
		abort();
	}
	for (size_t i = 0; i < ck->lm_cap; i++) {
		const struct lm_slot *s = &ck->lm[i];
		if (s->index != 0)
			*lm_find(tab, ncap, s->index, s->term) = *s;
	}
	free(ck->lm);
	ck->lm = tab;
	ck->lm_cap = ncap;
}

void checker_log_entry(struct checker *ck, uint64_t node, uint64_t index,
		       uint64_t term, uint64_t prev_term, uint64_t hash)
{
	struct lm_slot *s;
	if (index == 0) {
		checker_fail(ck, "log matching",
			     "node %" PRIu64 " holds an entry at index 0", node);
		return;
	}
	s = lm_find(ck->lm, ck->lm_cap, index, term);
	if (s->index == 0) {
		if (2 * (ck->lm_used + 1) > ck->lm_cap) {
			lm_grow(ck);
			s = lm_find(ck->lm, ck->lm_cap, index, term);
		}
		s->index = index;
		s->term = term;
		s->hash = hash;
		s->prev_term = prev_term;
		s->node = node;
		ck->lm_used++;
		return;
	}
	if (s->hash != hash)
		checker_fail(ck, "log matching",
			     "index %" PRIu64 " term %" PRIu64 " holds payload "
			     "%016" PRIx64 " on node %" PRIu64 " but %016" PRIx64
			     " on node %" PRIu64, index, term, s->hash, s->node,
			     hash, node);
	else if (s->prev_term != prev_term)
		checker_fail(ck, "log matching",
			     "index %" PRIu64 " term %" PRIu64 " follows term %"
			     PRIu64 " on node %" PRIu64 " but term %" PRIu64
			     " on node %" PRIu64, index, term, s->prev_term,
			     s->node, prev_term, node);
}

void checker_log_pair(struct checker *ck, uint64_t a,
		      const struct checker_log *la, uint64_t b,
		      const struct checker_log *lb)
{
	uint64_t lo = la->snap_index > lb->snap_index ? la->snap_index
						       : lb->snap_index;
	uint64_t hi = la->last_index < lb->last_index ? la->last_index
						       : lb->last_index;
	bool matched = false;
	uint64_t match_at = 0;
	for (uint64_t i = hi; i > lo; i--) {
		uint64_t ta, tb, ha, hb;
		if (!la->entry(la->ctx, i, &ta, &ha) ||
		    !lb->entry(lb->ctx, i, &tb, &hb)) {
			checker_fail(ck, "log matching",
				     "index %" PRIu64 " missing from the log "
				     "view of node %" PRIu64 " or %" PRIu64,
				     i, a, b);
			return;
		}
		if (!matched) {
			if (ta == tb) {
				matched = true;
				match_at = i;
			} else {
				continue;
			}
		}
		if (ta != tb || ha != hb) {
			checker_fail(ck, "log matching",
				     "nodes %" PRIu64 " and %" PRIu64 " agree "
				     "on index %" PRIu64 " but differ at %"
				     PRIu64 " (term %" PRIu64 " vs %" PRIu64
				     ")", a, b, match_at, i, ta, tb);
			return;
		}
	}
}

/* ---------------------------------------------------------------------- */
/* Commits and leader completeness. */

void checker_commit(struct checker *ck, uint64_t node, uint64_t index,
		    uint64_t term, uint64_t hash, uint64_t node_term)
{
	struct commit_rec *c;
	grow_zeroed((void **)&ck->commits, &ck->cap_commits, index,
		    sizeof(*ck->commits));
	c = &ck->commits[index];
	if (!c->known) {
		c->known = true;
		c->term = term;
		c->hash = hash;
		c->commit_term = node_term;
		c->node = node;
		if (index > ck->committed_max)
			ck->committed_max = index;
		return;
	}
	if (c->term != term || c->hash != hash) {
		checker_fail(ck, "committed entry",
			     "index %" PRIu64 " committed as term %" PRIu64
			     " on node %" PRIu64 " and as term %" PRIu64
			     " (payload %016" PRIx64 " vs %016" PRIx64
			     ") on node %" PRIu64, index, c->term, c->node,
			     term, c->hash, hash, node);
		return;
	}
	if (node_term < c->commit_term)
		c->commit_term = node_term;
}

uint64_t checker_committed_max(const struct checker *ck)
{
	return ck->committed_max;
}

void checker_commit_index(struct checker *ck, uint64_t node, uint64_t before,
			  uint64_t now)
{
	if (now < before)
		checker_fail(ck, "commit monotonicity",
			     "node %" PRIu64 " commit index went from %" PRIu64
			     " down to %" PRIu64, node, before, now);
}

void checker_hard_state(struct checker *ck, uint64_t node, uint64_t old_term,
			uint64_t old_vote, uint64_t old_commit,
			uint64_t new_term, uint64_t new_vote,
			uint64_t new_commit)
{
	if (new_term < old_term) {
		checker_fail(ck, "vote safety",
			     "node %" PRIu64 " persisted term %" PRIu64
			     " over term %" PRIu64, node, new_term, old_term);
		return;
	}
	if (new_term == old_term && old_vote != 0 && new_vote != old_vote) {
		checker_fail(ck, "vote safety",
			     "node %" PRIu64 " voted for node %" PRIu64
			     " and then for node %" PRIu64 " in term %" PRIu64,
			     node, old_vote, new_vote, new_term);
		return;
	}
	if (new_commit < old_commit)
		checker_fail(ck, "commit monotonicity",
			     "node %" PRIu64 " persisted commit index %" PRIu64
			     " over %" PRIu64, node, new_commit, old_commit);
}

static struct leader_seen *leader_seen_get(struct checker *ck, uint64_t node)
{
	for (size_t i = 0; i < ck->n_leaders; i++)
		if (ck->leaders[i].node == node)
			return &ck->leaders[i];
	if (ck->n_leaders == ck->cap_leaders) {
		ck->cap_leaders = ck->cap_leaders ? 2 * ck->cap_leaders : 8;
		ck->leaders = xrealloc(ck->leaders,
				       ck->cap_leaders * sizeof(*ck->leaders));
	}
	ck->leaders[ck->n_leaders].node = node;
	ck->leaders[ck->n_leaders].term = 0;
	ck->leaders[ck->n_leaders].upto = 0;
	return &ck->leaders[ck->n_leaders++];
}

void checker_leader_log(struct checker *ck, uint64_t node, uint64_t term,
			const struct checker_log *log)
{
	struct leader_seen *ls = leader_seen_get(ck, node);
	uint64_t i;
	if (ls->term != term) {
		ls->term = term;
		ls->upto = 0;
	}
	for (i = ls->upto + 1; i <= ck->committed_max; i++) {
		const struct commit_rec *c = &ck->commits[i];
		uint64_t t, h;
		/* Raft 5.4: committed in a term <= ours, so it must be here. */
		if (!c->known || c->commit_term > term)
			continue;
		if (i < log->snap_index)
			continue;   /* covered by the snapshot */
		if (i == log->snap_index) {
			if (log->snap_term != c->term) {
				checker_fail(ck, "leader completeness",
					     "leader %" PRIu64 " of term %" PRIu64
					     " has a snapshot at index %" PRIu64
					     " of term %" PRIu64 ", but term %"
					     PRIu64 " was committed there",
					     node, term, i, log->snap_term,
					     c->term);
				break;
			}
			continue;
		}
		if (i > log->last_index || !log->entry(log->ctx, i, &t, &h)) {
			checker_fail(ck, "leader completeness",
				     "leader %" PRIu64 " of term %" PRIu64
				     " lacks index %" PRIu64 " (term %" PRIu64
				     ", committed by term %" PRIu64 ")", node,
				     term, i, c->term, c->commit_term);
			break;
		}
		if (t != c->term || h != c->hash) {
			checker_fail(ck, "leader completeness",
				     "leader %" PRIu64 " of term %" PRIu64
				     " holds term %" PRIu64 " at index %" PRIu64
				     ", but term %" PRIu64 " was committed there"
				     " (by term %" PRIu64 ")", node, term, t, i,
				     c->term, c->commit_term);
			break;
		}
	}
	ls->upto = i > ck->committed_max ? ck->committed_max : i;
}

/* ---------------------------------------------------------------------- */
/* State machine safety. */

void checker_apply(struct checker *ck, uint64_t node, uint64_t index,
		   uint64_t term, uint64_t hash, uint64_t chain)
{
	struct apply_rec *a;
	grow_zeroed((void **)&ck->applied, &ck->cap_applied, index,
		    sizeof(*ck->applied));
	a = &ck->applied[index];
	if (a->has_entry && (a->term != term || a->hash != hash)) {
		checker_fail(ck, "state machine safety",
			     "index %" PRIu64 " applied as term %" PRIu64
			     " (payload %016" PRIx64 ") on node %" PRIu64
			     " but as term %" PRIu64 " (payload %016" PRIx64
			     ") on node %" PRIu64, index, a->term, a->hash,
			     a->node, term, hash, node);
		return;
	}
	if (a->has_chain && a->chain != chain) {
		checker_fail(ck, "state machine safety",
			     "node %" PRIu64 " reached a different state at "
			     "index %" PRIu64 " than node %" PRIu64
			     " (%016" PRIx64 " vs %016" PRIx64 ")", node, index,
			     a->node, chain, a->chain);
		return;
	}
	if (!a->has_entry) {
		a->has_entry = true;
		a->term = term;
		a->hash = hash;
	}
	if (!a->has_chain) {
		a->has_chain = true;
		a->chain = chain;
	}
	a->node = node;
}

void checker_restore(struct checker *ck, uint64_t node, uint64_t index,
		     uint64_t chain)
{
	struct apply_rec *a;
	grow_zeroed((void **)&ck->applied, &ck->cap_applied, index,
		    sizeof(*ck->applied));
	a = &ck->applied[index];
	if (a->has_chain && a->chain != chain) {
		checker_fail(ck, "state machine safety",
			     "node %" PRIu64 " restored a snapshot at index %"
			     PRIu64 " whose state differs from node %" PRIu64
			     "'s (%016" PRIx64 " vs %016" PRIx64 ")", node,
			     index, a->node, chain, a->chain);
		return;
	}
	if (!a->has_chain) {
		a->has_chain = true;
		a->chain = chain;
		a->node = node;
	}
}

/* ---------------------------------------------------------------------- */
/* Linearizable reads. */

void checker_write_acked(struct checker *ck, uint64_t index)
{
	if (index > ck->acked_max)
		ck->acked_max = index;
}

uint64_t checker_read_begin(const struct checker *ck)
{
	return ck->acked_max;
}

void checker_read_served(struct checker *ck, uint64_t node, uint64_t context,
			 uint64_t token, uint64_t served_index)
{
	if (served_index < token)
		checker_fail(ck, "linearizable read",
			     "read %" PRIu64 " on node %" PRIu64 " returned the "
			     "state at index %" PRIu64 ", but a write at index %"
			     PRIu64 " was acknowledged before the read began",
			     context, node, served_index, token);
}
