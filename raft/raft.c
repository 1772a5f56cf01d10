/*
 * raft/raft.c: the Raft consensus core (see raft.h for the contract).
 *
 * What this file never does: I/O, reading a clock, threads, globals,
 * printing. It only reacts to raft_tick(), raft_step() and the proposal
 * calls, and queues its effects for raft_ready().
 *
 * Section references are to the Raft paper (Ongaro and Ousterhout, 2014)
 * unless they name the thesis (Ongaro, 2014).
 */
#include "raft/raft.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Cheap invariant checks of the core's own state; on in every build. */
#define RAFT_ASSERT(x)                                                       \
	do {                                                                 \
		if (!(x))                                                    \
			raft_assert_fail(#x, __FILE__, __LINE__);            \
	} while (0)

static void raft_assert_fail(const char *expr, const char *file, int line)
	__attribute__((noreturn));
static void raft_assert_fail(const char *expr, const char *file, int line)
{
	/* The one place the core writes anything: it is about to die. */
	fprintf(stderr, "raft: assertion failed: %s (%s:%d)\n", expr, file,
		line);
	abort();
}

enum progress_state {
	PR_PROBE = 0,       /* one APPEND at a time, find the match point */
	PR_REPLICATE,       /* pipelined APPENDs, window of max_inflight */
	PR_SNAPSHOT,        /* a snapshot is on its way; send nothing else */
};

/* The leader's view of one follower (or of itself). */
struct progress {
	uint64_t id;
	uint64_t match;
	uint64_t next;
	enum progress_state state;
	bool probe_sent;            /* PR_PROBE: wait for a reply */
	bool recent_active;         /* heard from it this election period */
	bool learner;
	uint64_t pending_snapshot;  /* PR_SNAPSHOT: its index */
	unsigned snapshot_ticks;    /* PR_SNAPSHOT: ticks spent waiting */
	uint64_t read_round;        /* highest read-index round it acked */
	/* In-flight APPENDs: last index of each, a ring of max_inflight. */
	uint64_t *inflight;
	size_t slot;                /* which ring of inflight_buf */
	size_t inflight_start;
	size_t inflight_count;
};

/* A read waiting for its round of heartbeats (thesis 6.4). */
struct pending_read {
	uint64_t context;
	uint64_t from;      /* 0: local; else a follower that forwarded it */
	uint64_t index;     /* the read index; 0 until this term committed */
	uint64_t round;     /* heartbeat round that confirms leadership */
};

struct raft {
	struct raft_config cfg;
	struct raft_allocator alloc;
	uint64_t id;

	/* Persistent state (figure 2). */
	uint64_t term;
	uint64_t vote;

	/* The log: ents[i].index == snap.index + 1 + i. */
	struct raft_snapshot_meta snap;
	struct raft_entry *ents;
	size_t n_ents;
	size_t cap_ents;
	uint64_t stable;            /* last index known to be persisted */
	uint64_t handed;            /* last index handed out to persist
				     * (>= stable; above it: a leader's
				     * write in flight, raft_persisted()) */

	uint64_t commit;
	uint64_t applied;           /* delivered and acknowledged by advance */
	struct raft_conf conf;      /* as of applied */

	enum raft_role role;
	uint64_t leader;
	/* A node outside our configuration that a member named as its
	 * leader (in a vote rejection): we lag behind the change that
	 * added it, and hear it until our configuration is up to date. */
	uint64_t vouched;

	/* Timers, in ticks. */
	unsigned election_elapsed;
	unsigned heartbeat_elapsed;
	unsigned randomized_timeout;
	uint64_t rng;

	/* Elections: who answered, and how. */
	uint64_t vote_ids[RAFT_NODES_MAX];
	bool vote_granted[RAFT_NODES_MAX];
	size_t n_vote_ids;

	/* Leader state. */
	struct progress prs[RAFT_NODES_MAX];
	size_t n_prs;
	uint64_t *inflight_buf;
	uint64_t pending_conf_index;
	uint64_t transfer_target;
	unsigned transfer_elapsed;
	uint64_t read_round;
	bool commit_dirty;          /* followers have not heard the commit */
	struct pending_read *preads;
	size_t n_preads;
	size_t cap_preads;

	/* Outbox: APPEND entries are resolved in raft_ready(). */
	struct raft_message *msgs;
	size_t n_msgs;
	size_t cap_msgs;
	struct raft_read_state *reads;
	size_t n_reads;
	size_t cap_reads;

	/* Persistence bookkeeping. */
	struct raft_hard_state hs_persisted;
	bool snap_pending;
	void *snap_data;
	size_t snap_len;

	/* Between raft_ready() and raft_advance(). */
	bool in_ready;
	uint64_t ready_last;        /* last index handed out to persist */
	uint64_t ready_commit;      /* committed handed out to apply */
	struct raft_hard_state ready_hs;
	bool ready_snap;
	bool ready_async;           /* the Ready's entries persist later */
};

/* ---------------------------------------------------------------------- */
/* Names and small helpers. */

const char *raft_strerror(int code)
{
	switch (code) {
	case RAFT_OK: return "ok";
	case RAFT_EINVAL: return "invalid argument";
	case RAFT_ENOTLEADER: return "not the leader";
	case RAFT_ENOMEM: return "out of memory";
	case RAFT_EBUSY: return "busy: a membership change or leader transfer is in progress";
	case RAFT_ETOOBIG: return "entry too big";
	case RAFT_ESTATE: return "not possible in this state";
	default: return "unknown error";
	}
}

const char *raft_role_name(enum raft_role role)
{
	switch (role) {
	case RAFT_FOLLOWER: return "follower";
	case RAFT_PRE_CANDIDATE: return "pre-candidate";
	case RAFT_CANDIDATE: return "candidate";
	case RAFT_LEADER: return "leader";
	default: return "unknown";
	}
}

const char *raft_msg_type_name(int type)
{
	static const char *const names[] = {
		[RAFT_MSG_APPEND] = "append",
		[RAFT_MSG_APPEND_RESP] = "append-resp",
		[RAFT_MSG_VOTE] = "vote",
		[RAFT_MSG_VOTE_RESP] = "vote-resp",
		[RAFT_MSG_PREVOTE] = "prevote",
		[RAFT_MSG_PREVOTE_RESP] = "prevote-resp",
		[RAFT_MSG_HEARTBEAT] = "heartbeat",
		[RAFT_MSG_HEARTBEAT_RESP] = "heartbeat-resp",
		[RAFT_MSG_SNAPSHOT] = "snapshot",
		[RAFT_MSG_TIMEOUT_NOW] = "timeout-now",
		[RAFT_MSG_READ_INDEX] = "read-index",
		[RAFT_MSG_READ_INDEX_RESP] = "read-index-resp",
	};
	if (type < RAFT_MSG_APPEND || type > RAFT_MSG_TYPE_MAX)
		return "unknown";
	return names[type];
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

void raft_conf_change_encode(const struct raft_conf_change *cc,
			     uint8_t out[RAFT_CONF_CHANGE_LEN])
{
	out[0] = (uint8_t)cc->op;
	put_le64(out + 1, cc->id);
}

int raft_conf_change_decode(const uint8_t *data, size_t len,
			    struct raft_conf_change *cc)
{
	if (data == NULL || len != RAFT_CONF_CHANGE_LEN)
		return RAFT_EINVAL;
	if (data[0] < RAFT_CONF_ADD_LEARNER || data[0] > RAFT_CONF_REMOVE)
		return RAFT_EINVAL;
	cc->op = (enum raft_conf_op)data[0];
	cc->id = get_le64(data + 1);
	if (cc->id == 0)
		return RAFT_EINVAL;
	return RAFT_OK;
}

static bool id_in(const uint64_t *ids, uint32_t n, uint64_t id)
{
	for (uint32_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

bool raft_conf_is_voter(const struct raft_conf *c, uint64_t id)
{
	return id != 0 && id_in(c->voters, c->n_voters, id);
}

bool raft_conf_is_learner(const struct raft_conf *c, uint64_t id)
{
	return id != 0 && id_in(c->learners, c->n_learners, id);
}

static bool id_remove(uint64_t *ids, uint32_t *n, uint64_t id)
{
	for (uint32_t i = 0; i < *n; i++) {
		if (ids[i] == id) {
			ids[i] = ids[*n - 1];
			(*n)--;
			return true;
		}
	}
	return false;
}

/* A configuration read from a peer or a restore: at least one voter,
 * counts in range, ids non-zero and distinct. */
static bool conf_valid(const struct raft_conf *c)
{
	if (c->n_voters == 0 || c->n_voters > RAFT_NODES_MAX ||
	    c->n_learners > RAFT_NODES_MAX ||
	    c->n_voters + c->n_learners > RAFT_NODES_MAX)
		return false;
	for (uint32_t i = 0; i < c->n_voters; i++) {
		if (c->voters[i] == 0 || id_in(c->voters, i, c->voters[i]))
			return false;
	}
	for (uint32_t i = 0; i < c->n_learners; i++) {
		if (c->learners[i] == 0 ||
		    id_in(c->learners, i, c->learners[i]) ||
		    id_in(c->voters, c->n_voters, c->learners[i]))
			return false;
	}
	return true;
}

/* Applies one change to a configuration; false when it changes nothing
 * or does not fit. Deterministic: every replica gets the same result. */
static bool conf_apply(struct raft_conf *c, const struct raft_conf_change *cc)
{
	switch (cc->op) {
	case RAFT_CONF_ADD_LEARNER:
		if (raft_conf_is_voter(c, cc->id) ||
		    raft_conf_is_learner(c, cc->id) ||
		    c->n_voters + c->n_learners >= RAFT_NODES_MAX)
			return false;
		c->learners[c->n_learners++] = cc->id;
		return true;
	case RAFT_CONF_ADD_VOTER:
		if (raft_conf_is_voter(c, cc->id))
			return false;
		if (id_remove(c->learners, &c->n_learners, cc->id)) {
			c->voters[c->n_voters++] = cc->id;
			return true;
		}
		if (c->n_voters + c->n_learners >= RAFT_NODES_MAX)
			return false;
		c->voters[c->n_voters++] = cc->id;
		return true;
	case RAFT_CONF_REMOVE:
		if (raft_conf_is_voter(c, cc->id)) {
			if (c->n_voters == 1)
				return false;  /* never leave no voter */
			return id_remove(c->voters, &c->n_voters, cc->id);
		}
		return id_remove(c->learners, &c->n_learners, cc->id);
	}
	return false;
}

/* Applies the change carried by a CONF entry; other entries are ignored. */
static bool conf_apply_entry(struct raft_conf *c, const struct raft_entry *e)
{
	struct raft_conf_change cc;
	if (e->type != RAFT_ENTRY_CONF)
		return false;
	if (raft_conf_change_decode(e->data, e->len, &cc) != RAFT_OK)
		return false;
	return conf_apply(c, &cc);
}

static size_t quorum(const struct raft_conf *c)
{
	return c->n_voters / 2 + 1;
}

/* splitmix64: small, good enough, and reproducible from the seed. */
static uint64_t rng_next(struct raft *r)
{
	uint64_t z = (r->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void trace(struct raft *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void trace(struct raft *r, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	if (r->cfg.trace == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	r->cfg.trace(r->cfg.trace_ctx, r->id, buf);
}

/* ---------------------------------------------------------------------- */
/* Allocation. */

static void *libc_malloc(void *ctx, size_t size)
{
	(void)ctx;
	return malloc(size);
}

static void *libc_realloc(void *ctx, void *ptr, size_t size)
{
	(void)ctx;
	return realloc(ptr, size);
}

static void libc_free(void *ctx, void *ptr)
{
	(void)ctx;
	free(ptr);
}

static void *r_malloc(struct raft *r, size_t size)
{
	return r->alloc.malloc(r->alloc.ctx, size == 0 ? 1 : size);
}

static void r_free(struct raft *r, void *p)
{
	if (p != NULL)
		r->alloc.free(r->alloc.ctx, p);
}

/* Grows *arr to hold at least want elements of size elem. */
static int grow(struct raft *r, void **arr, size_t *cap, size_t want,
		size_t elem)
{
	size_t ncap;
	void *p;
	if (want <= *cap)
		return RAFT_OK;
	ncap = *cap ? *cap * 2 : 16;
	while (ncap < want)
		ncap *= 2;
	p = r->alloc.realloc(r->alloc.ctx, *arr, ncap * elem);
	if (p == NULL)
		return RAFT_ENOMEM;
	*arr = p;
	*cap = ncap;
	return RAFT_OK;
}

/* ---------------------------------------------------------------------- */
/* The log. */

static uint64_t last_index(const struct raft *r)
{
	return r->snap.index + r->n_ents;
}

static struct raft_entry *entry_at(const struct raft *r, uint64_t index)
{
	if (index <= r->snap.index || index > last_index(r))
		return NULL;
	return &r->ents[index - r->snap.index - 1];
}

bool raft_log_term(const struct raft *r, uint64_t index, uint64_t *term)
{
	const struct raft_entry *e;
	if (index == r->snap.index) {
		*term = r->snap.term;
		return true;
	}
	e = entry_at(r, index);
	if (e == NULL)
		return false;
	*term = e->term;
	return true;
}

/* The term at index, or 0 when unknown (compacted or beyond the log). */
static uint64_t term_at(const struct raft *r, uint64_t index)
{
	uint64_t t;
	return raft_log_term(r, index, &t) ? t : 0;
}

static uint64_t last_term(const struct raft *r)
{
	return term_at(r, last_index(r));
}

/* Drops entries from index on (index > snapshot index). */
static void log_truncate(struct raft *r, uint64_t index)
{
	RAFT_ASSERT(index > r->snap.index);
	RAFT_ASSERT(index > r->commit);
	while (last_index(r) >= index) {
		r->n_ents--;
		r_free(r, r->ents[r->n_ents].data);
	}
	if (r->stable >= index)
		r->stable = index - 1;
	if (r->handed >= index)
		r->handed = index - 1;
}

/* Makes room for n more entries; nothing else changes on failure. */
static int log_reserve(struct raft *r, size_t n)
{
	return grow(r, (void **)&r->ents, &r->cap_ents, r->n_ents + n,
		    sizeof(*r->ents));
}

/* Appends one entry with a copy of data; the caller reserved room. */
static int log_append(struct raft *r, uint64_t term, uint32_t type,
		      const void *data, size_t len)
{
	struct raft_entry *e;
	uint8_t *copy = NULL;
	RAFT_ASSERT(r->n_ents < r->cap_ents);
	if (len > 0) {
		copy = r_malloc(r, len);
		if (copy == NULL)
			return RAFT_ENOMEM;
		memcpy(copy, data, len);
	}
	e = &r->ents[r->n_ents++];
	e->term = term;
	e->index = last_index(r);
	e->type = type;
	e->len = (uint32_t)len;
	e->data = copy;
	return RAFT_OK;
}

static void log_clear(struct raft *r)
{
	for (size_t i = 0; i < r->n_ents; i++)
		r_free(r, r->ents[i].data);
	r->n_ents = 0;
}

/* Raft 5.4.1: is a log ending at (index, term) at least as up to date as
 * ours? */
static bool log_up_to_date(const struct raft *r, uint64_t index, uint64_t term)
{
#ifdef RAFT_BUG_SKIP_VOTE_LOG_CHECK
	(void)r;
	(void)index;
	(void)term;
	return true;
#else
	uint64_t lt = last_term(r);
	return term > lt || (term == lt && index >= last_index(r));
#endif
}

/* ---------------------------------------------------------------------- */
/* Outbox. */

static struct raft_message *msg_new(struct raft *r, uint32_t type,
				    uint64_t to)
{
	struct raft_message *m;
	if (grow(r, (void **)&r->msgs, &r->cap_msgs, r->n_msgs + 1,
		 sizeof(*r->msgs)) != RAFT_OK)
		return NULL;  /* a lost message: Raft tolerates it */
	m = &r->msgs[r->n_msgs++];
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->from = r->id;
	m->to = to;
	m->term = r->term;
	return m;
}

static void read_state_add(struct raft *r, uint64_t context, uint64_t index)
{
	if (grow(r, (void **)&r->reads, &r->cap_reads, r->n_reads + 1,
		 sizeof(*r->reads)) != RAFT_OK)
		return;  /* lost: the reader retries */
	r->reads[r->n_reads].context = context;
	r->reads[r->n_reads].index = index;
	r->n_reads++;
}

/* ---------------------------------------------------------------------- */
/* Progress (leader). */

static struct progress *progress_find(struct raft *r, uint64_t id)
{
	for (size_t i = 0; i < r->n_prs; i++)
		if (r->prs[i].id == id)
			return &r->prs[i];
	return NULL;
}

static bool inflight_full(const struct raft *r, const struct progress *pr)
{
	return pr->inflight_count >= r->cfg.max_inflight;
}

static void inflight_add(struct raft *r, struct progress *pr, uint64_t last)
{
	size_t at;
	RAFT_ASSERT(!inflight_full(r, pr));
	at = (pr->inflight_start + pr->inflight_count) % r->cfg.max_inflight;
	pr->inflight[at] = last;
	pr->inflight_count++;
}

/* Frees every in-flight APPEND whose last index is at or below index. */
static void inflight_free_to(struct raft *r, struct progress *pr,
			     uint64_t index)
{
	while (pr->inflight_count > 0 &&
	       pr->inflight[pr->inflight_start] <= index) {
		pr->inflight_start = (pr->inflight_start + 1) %
				     r->cfg.max_inflight;
		pr->inflight_count--;
	}
}

static void inflight_free_first(struct raft *r, struct progress *pr)
{
	if (pr->inflight_count == 0)
		return;
	pr->inflight_start = (pr->inflight_start + 1) % r->cfg.max_inflight;
	pr->inflight_count--;
}

static void progress_become(struct progress *pr, enum progress_state state,
			    uint64_t next)
{
	pr->state = state;
	pr->next = next;
	pr->probe_sent = false;
	pr->pending_snapshot = 0;
	pr->snapshot_ticks = 0;
	pr->inflight_start = 0;
	pr->inflight_count = 0;
}

static bool progress_paused(const struct raft *r, const struct progress *pr)
{
	switch (pr->state) {
	case PR_PROBE:
		return pr->probe_sent;
	case PR_REPLICATE:
		return inflight_full(r, pr);
	case PR_SNAPSHOT:
		return true;
	}
	return true;
}

/* Rebuilds the progress table from the configuration, keeping what is
 * known of members that stay (keep) and their in-flight ring slots. */
static void progress_reset(struct raft *r, bool keep)
{
	struct progress old[RAFT_NODES_MAX];
	size_t n_old = keep ? r->n_prs : 0;
	bool slot_used[RAFT_NODES_MAX] = { false };
	uint32_t total = r->conf.n_voters + r->conf.n_learners;
	size_t n = 0;
	memcpy(old, r->prs, sizeof(old));
	/* Members that stay keep their slot first. */
	for (size_t i = 0; i < n_old; i++)
		if (raft_conf_is_voter(&r->conf, old[i].id) ||
		    raft_conf_is_learner(&r->conf, old[i].id))
			slot_used[old[i].slot] = true;
	for (uint32_t k = 0; k < total; k++) {
		bool learner = k >= r->conf.n_voters;
		uint64_t id = learner ? r->conf.learners[k - r->conf.n_voters]
				      : r->conf.voters[k];
		struct progress *pr = &r->prs[n++];
		const struct progress *prev = NULL;
		for (size_t i = 0; i < n_old; i++)
			if (old[i].id == id)
				prev = &old[i];
		if (prev != NULL) {
			*pr = *prev;
		} else {
			size_t slot = 0;
			while (slot_used[slot])
				slot++;
			slot_used[slot] = true;
			memset(pr, 0, sizeof(*pr));
			pr->id = id;
			pr->slot = slot;
			pr->recent_active = true;
			pr->inflight = r->inflight_buf +
				       slot * r->cfg.max_inflight;
			progress_become(pr, PR_PROBE, last_index(r) + 1);
		}
		pr->learner = learner;
		if (id == r->id)
			pr->match = r->stable;
	}
	r->n_prs = n;
}

/* ---------------------------------------------------------------------- */
/* Role changes. */

static void reset_randomized_timeout(struct raft *r)
{
	unsigned et = r->cfg.election_ticks;
	r->randomized_timeout = et + (unsigned)(rng_next(r) % et);
}

static void pending_reads_drop(struct raft *r)
{
	r->n_preads = 0;
}

static void reset(struct raft *r, uint64_t term)
{
	if (r->term != term) {
		r->term = term;
		r->vote = 0;
	}
	r->leader = 0;
	r->election_elapsed = 0;
	r->heartbeat_elapsed = 0;
	reset_randomized_timeout(r);
	r->n_vote_ids = 0;
	r->transfer_target = 0;
	r->transfer_elapsed = 0;
	pending_reads_drop(r);
	r->commit_dirty = false;
}

static void become_follower(struct raft *r, uint64_t term, uint64_t leader)
{
	enum raft_role was = r->role;
	reset(r, term);
	r->role = RAFT_FOLLOWER;
	r->leader = leader;
	if (was != RAFT_FOLLOWER)
		trace(r, "became follower term=%llu leader=%llu",
		      (unsigned long long)term, (unsigned long long)leader);
}

static void send_append(struct raft *r, struct progress *pr, bool allow_empty);
static void bcast_append(struct raft *r);
static void bcast_heartbeat(struct raft *r, uint64_t context);

static void become_leader(struct raft *r)
{
	RAFT_ASSERT(r->role == RAFT_CANDIDATE);
	reset(r, r->term);
	r->role = RAFT_LEADER;
	r->leader = r->id;
	progress_reset(r, false);
	/* Raft 8 / thesis 6.4: a no-op entry of this term, so that the leader
	 * learns what is committed and can serve reads. Until it commits,
	 * no membership change either (thesis 4.1 erratum). */
	if (log_reserve(r, 1) == RAFT_OK)
		log_append(r, r->term, RAFT_ENTRY_NORMAL, NULL, 0);
	r->pending_conf_index = last_index(r);
	trace(r, "became leader term=%llu", (unsigned long long)r->term);
	bcast_append(r);
}

static bool record_vote(struct raft *r, uint64_t from, bool granted)
{
	/* Only voters of our configuration count; strangers cannot fill the
	 * table and crowd out real answers. */
	if (!raft_conf_is_voter(&r->conf, from))
		return false;
	for (size_t i = 0; i < r->n_vote_ids; i++)
		if (r->vote_ids[i] == from)
			return false;  /* a duplicate answer counts once */
	if (r->n_vote_ids == RAFT_NODES_MAX)
		return false;
	r->vote_ids[r->n_vote_ids] = from;
	r->vote_granted[r->n_vote_ids] = granted;
	r->n_vote_ids++;
	return true;
}

/* Counts votes from members of the configuration only. */
static void tally(const struct raft *r, size_t *granted, size_t *rejected)
{
	*granted = *rejected = 0;
	for (size_t i = 0; i < r->n_vote_ids; i++) {
		if (!raft_conf_is_voter(&r->conf, r->vote_ids[i]))
			continue;
		if (r->vote_granted[i])
			(*granted)++;
		else
			(*rejected)++;
	}
}

static void campaign(struct raft *r, bool pre, bool transfer)
{
	uint32_t type;
	uint64_t term;
	size_t granted, rejected;
	if (pre) {
		/* Thesis 9.6: ask first, without disturbing anyone's term. */
		reset(r, r->term);
		r->role = RAFT_PRE_CANDIDATE;
		type = RAFT_MSG_PREVOTE;
		term = r->term + 1;
		trace(r, "pre-campaign for term=%llu",
		      (unsigned long long)term);
	} else {
		reset(r, r->term + 1);
		r->role = RAFT_CANDIDATE;
		r->vote = r->id;
		type = RAFT_MSG_VOTE;
		term = r->term;
		trace(r, "campaign term=%llu%s", (unsigned long long)term,
		      transfer ? " (transfer)" : "");
	}
	record_vote(r, r->id, true);
	tally(r, &granted, &rejected);
	if (granted >= quorum(&r->conf)) {
		/* A single voter wins at once. */
		if (pre)
			campaign(r, false, transfer);
		else
			become_leader(r);
		return;
	}
	for (uint32_t i = 0; i < r->conf.n_voters; i++) {
		uint64_t id = r->conf.voters[i];
		struct raft_message *m;
		if (id == r->id)
			continue;
		m = msg_new(r, type, id);
		if (m == NULL)
			continue;
		m->term = term;
		m->index = last_index(r);
		m->log_term = last_term(r);
		m->transfer = transfer;
	}
}

static bool promotable(const struct raft *r)
{
	return raft_conf_is_voter(&r->conf, r->id);
}

static void start_election(struct raft *r, bool transfer)
{
	if (!promotable(r))
		return;
	if (r->term >= RAFT_TERM_MAX) {
		/* Its peers would drop the next term as malformed. */
		trace(r, "no campaign: term=%llu is the last",
		      (unsigned long long)r->term);
		return;
	}
	if (r->cfg.pre_vote && !transfer)
		campaign(r, true, false);
	else
		campaign(r, false, transfer);
}

/* ---------------------------------------------------------------------- */
/* Leader: replication, commit, reads. */

/* Sends the next APPEND (or the snapshot) to one follower. Entries are
 * named by range here and resolved to pointers in raft_ready(). */
static void send_append(struct raft *r, struct progress *pr, bool allow_empty)
{
	struct raft_message *m;
	uint64_t prev, last = last_index(r), n = 0;
	size_t bytes = 0;
	if (pr->id == r->id || progress_paused(r, pr))
		return;
	prev = pr->next - 1;
	if (prev < r->snap.index) {
		/* The entries it needs are compacted: send the snapshot. */
		m = msg_new(r, RAFT_MSG_SNAPSHOT, pr->id);
		if (m == NULL)
			return;
		m->snapshot = r->snap;
		progress_become(pr, PR_SNAPSHOT, pr->next);
		pr->pending_snapshot = r->snap.index;
		trace(r, "send snapshot index=%llu to=%llu",
		      (unsigned long long)r->snap.index,
		      (unsigned long long)pr->id);
		return;
	}
	while (prev + n < last && n < r->cfg.max_msg_entries) {
		const struct raft_entry *e = entry_at(r, prev + n + 1);
		if (n > 0 && bytes + e->len > r->cfg.max_msg_bytes)
			break;
		bytes += e->len;
		n++;
	}
	if (n == 0 && !allow_empty)
		return;
	m = msg_new(r, RAFT_MSG_APPEND, pr->id);
	if (m == NULL)
		return;
	m->index = prev;
	m->log_term = term_at(r, prev);
	m->commit = r->commit;
	m->n_entries = n;
	if (pr->state == PR_REPLICATE) {
		if (n > 0) {
			pr->next = prev + n + 1;
			inflight_add(r, pr, prev + n);
		}
	} else {
		pr->probe_sent = true;
	}
}

static void bcast_append(struct raft *r)
{
	for (size_t i = 0; i < r->n_prs; i++)
		send_append(r, &r->prs[i], true);
}

static void bcast_heartbeat(struct raft *r, uint64_t context)
{
	for (size_t i = 0; i < r->n_prs; i++) {
		struct progress *pr = &r->prs[i];
		struct raft_message *m;
		if (pr->id == r->id)
			continue;
		m = msg_new(r, RAFT_MSG_HEARTBEAT, pr->id);
		if (m == NULL)
			continue;
		/* Only what the follower is known to hold (etcd). */
		m->commit = pr->match < r->commit ? pr->match : r->commit;
		m->context = context;
	}
}

static int cmp_u64_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* Raft 5.3/5.4.2: commits the highest index a majority of voters hold,
 * but only by counting replicas of an entry of the current term. */
static bool maybe_commit(struct raft *r)
{
	uint64_t match[RAFT_NODES_MAX];
	size_t n = 0;
	uint64_t index;
	for (size_t i = 0; i < r->n_prs; i++)
		if (!r->prs[i].learner)
			match[n++] = r->prs[i].match;
	if (n == 0)
		return false;
	qsort(match, n, sizeof(match[0]), cmp_u64_desc);
	index = match[quorum(&r->conf) - 1];
	if (index <= r->commit)
		return false;
#ifndef RAFT_BUG_COMMIT_OLD_TERM
	if (term_at(r, index) != r->term)
		return false;
#endif
	r->commit = index;
	return true;
}

static bool committed_in_term(const struct raft *r)
{
	return term_at(r, r->commit) == r->term;
}

static void read_release(struct raft *r, const struct pending_read *p)
{
	if (p->from == 0 || p->from == r->id) {
		read_state_add(r, p->context, p->index);
	} else {
		struct raft_message *m = msg_new(r, RAFT_MSG_READ_INDEX_RESP,
						 p->from);
		if (m != NULL) {
			m->context = p->context;
			m->index = p->index;
		}
	}
}

/* Thesis 6.4: releases, in order, every read whose heartbeat round a
 * majority (the leader included) has acknowledged. */
static void reads_advance(struct raft *r)
{
	size_t done = 0;
	while (done < r->n_preads) {
		struct pending_read *p = &r->preads[done];
		size_t acks = 0;
		if (p->index == 0)
			break;
		for (size_t i = 0; i < r->n_prs; i++) {
			const struct progress *pr = &r->prs[i];
			if (pr->learner)
				continue;
			if (pr->id == r->id || pr->read_round >= p->round)
				acks++;
		}
		if (acks < quorum(&r->conf))
			break;
		read_release(r, p);
		done++;
	}
	if (done > 0) {
		memmove(r->preads, r->preads + done,
			(r->n_preads - done) * sizeof(*r->preads));
		r->n_preads -= done;
	}
}

/* Gives waiting reads their index once the leader committed an entry of
 * its term, and starts a heartbeat round for them. */
static void reads_start(struct raft *r)
{
	bool any = false;
	if (!committed_in_term(r))
		return;
	for (size_t i = 0; i < r->n_preads; i++) {
		if (r->preads[i].index == 0) {
			if (!any)
				r->read_round++;
			r->preads[i].index = r->commit;
			r->preads[i].round = r->read_round;
			any = true;
		}
	}
	if (any) {
		bcast_heartbeat(r, r->read_round);
		reads_advance(r);
	}
}

static void leader_read(struct raft *r, uint64_t context, uint64_t from)
{
	struct pending_read *p;
	if (grow(r, (void **)&r->preads, &r->cap_preads, r->n_preads + 1,
		 sizeof(*r->preads)) != RAFT_OK)
		return;  /* lost: the reader retries */
	p = &r->preads[r->n_preads++];
	p->context = context;
	p->from = from;
	p->index = 0;
	p->round = 0;
	reads_start(r);
}

static void send_timeout_now(struct raft *r, uint64_t to)
{
	msg_new(r, RAFT_MSG_TIMEOUT_NOW, to);
	trace(r, "timeout-now to=%llu", (unsigned long long)to);
}

/* The new commit index reaches followers with the next APPENDs, sent
 * once per Ready (leader_flush) rather than once per acknowledgement. */
static void commit_advanced(struct raft *r)
{
	r->commit_dirty = true;
	reads_start(r);
}

/* Sends what accumulated since the last Ready: new entries to every
 * follower that has room in its window, so that many proposals travel in
 * few messages, and the commit index where it moved. */
static void leader_flush(struct raft *r)
{
	for (size_t i = 0; i < r->n_prs; i++) {
		struct progress *pr = &r->prs[i];
		bool sent = false;
		if (pr->id == r->id)
			continue;
		while (!progress_paused(r, pr) && pr->next <= last_index(r)) {
			size_t before = r->n_msgs;
			send_append(r, pr, false);
			if (r->n_msgs == before)
				break;
			sent = true;
			if (pr->state != PR_REPLICATE)
				break;
		}
		if (!sent && r->commit_dirty)
			send_append(r, pr, true);
	}
	r->commit_dirty = false;
}

static void leader_handle_append_resp(struct raft *r, struct progress *pr,
				      const struct raft_message *m)
{
	pr->recent_active = true;
	if (m->reject) {
		uint64_t next;
		/* Stale rejections are ignored (etcd maybeDecrTo). */
		if (pr->state == PR_REPLICATE) {
			if (m->index <= pr->match)
				return;
		} else if (m->index != pr->next - 1) {
			return;
		}
		/* Raft 5.3 optimisation: skip a whole conflicting term. */
		next = m->reject_hint;
		if (m->hint_term != 0) {
			uint64_t i = m->index < last_index(r) ? m->index
							       : last_index(r);
			while (i > r->snap.index && term_at(r, i) > m->hint_term)
				i--;
			if (i > r->snap.index && term_at(r, i) == m->hint_term)
				next = i + 1;
		}
		if (next > m->index)
			next = m->index;
		if (next <= pr->match)
			next = pr->match + 1;
		if (next < 1)
			next = 1;
		progress_become(pr, PR_PROBE, next);
		send_append(r, pr, true);
		return;
	}
	if (m->index > last_index(r) || m->index <= pr->match)
		return;  /* never sent, or stale: nothing new */
	pr->match = m->index;
	if (pr->next < pr->match + 1)
		pr->next = pr->match + 1;
	switch (pr->state) {
	case PR_PROBE:
		progress_become(pr, PR_REPLICATE, pr->match + 1);
		break;
	case PR_SNAPSHOT:
		if (pr->match >= pr->pending_snapshot)
			progress_become(pr, PR_REPLICATE, pr->match + 1);
		break;
	case PR_REPLICATE:
		inflight_free_to(r, pr, m->index);
		break;
	}
	if (maybe_commit(r))
		commit_advanced(r);
	/* Keep the pipe full. */
	while (!progress_paused(r, pr) && pr->next <= last_index(r)) {
		size_t before = r->n_msgs;
		send_append(r, pr, false);
		if (r->n_msgs == before || pr->state != PR_REPLICATE)
			break;
	}
	if (pr->id == r->transfer_target && pr->match == last_index(r))
		send_timeout_now(r, pr->id);
}

static void leader_handle_heartbeat_resp(struct raft *r, struct progress *pr,
					 const struct raft_message *m)
{
	pr->recent_active = true;
	pr->probe_sent = false;
	if (pr->state == PR_REPLICATE && inflight_full(r, pr))
		inflight_free_first(r, pr);
	if (pr->match < last_index(r))
		send_append(r, pr, true);
	if (m->context > pr->read_round && m->context <= r->read_round) {
		pr->read_round = m->context;
		reads_advance(r);
	}
}

/* ---------------------------------------------------------------------- */
/* Follower: appends and snapshots. */

static void send_append_resp(struct raft *r, uint64_t to, uint64_t index,
			     bool reject, uint64_t hint, uint64_t hint_term)
{
	struct raft_message *m = msg_new(r, RAFT_MSG_APPEND_RESP, to);
	if (m == NULL)
		return;
	m->index = index;
	m->reject = reject;
	m->reject_hint = hint;
	m->hint_term = hint_term;
}

static void commit_to(struct raft *r, uint64_t index)
{
	if (index > last_index(r))
		index = last_index(r);  /* never trust a peer past our log */
	if (index > r->commit)
		r->commit = index;
}

/* Entries in an APPEND must follow prev contiguously, with terms that
 * never decrease and never pass the sender's term. */
static bool append_valid(const struct raft_message *m)
{
	uint64_t t = m->log_term;
	if (m->n_entries > 0 && m->entries == NULL)
		return false;
	for (size_t i = 0; i < m->n_entries; i++) {
		const struct raft_entry *e = &m->entries[i];
		if (e->index != m->index + 1 + i || e->term < t ||
		    e->term > m->term || e->term == 0)
			return false;
		if (e->len > 0 && e->data == NULL)
			return false;
		if (e->type != RAFT_ENTRY_NORMAL && e->type != RAFT_ENTRY_CONF)
			return false;
		t = e->term;
	}
	return true;
}

static int handle_append(struct raft *r, const struct raft_message *m)
{
	uint64_t last_new, t = 0;
	size_t i;
	if (!append_valid(m))
		return RAFT_EINVAL;
	if (m->index < r->commit) {
		/* Already committed here: tell the leader where we are. */
		send_append_resp(r, m->from, r->commit, false, 0, 0);
		return RAFT_OK;
	}
	if (!raft_log_term(r, m->index, &t) || t != m->log_term) {
		/* Raft 5.3: the consistency check failed. */
		uint64_t hint, hint_term = 0;
		if (m->index > last_index(r)) {
			hint = last_index(r) + 1;
		} else {
			/* First index of our conflicting term. */
			hint_term = t;
			hint = m->index;
			while (hint > r->commit + 1 &&
			       term_at(r, hint - 1) == hint_term)
				hint--;
		}
		send_append_resp(r, m->from, m->index, true, hint, hint_term);
		return RAFT_OK;
	}
	/* Skip what we already have; truncate at the first conflict. */
	for (i = 0; i < m->n_entries; i++) {
		const struct raft_entry *e = &m->entries[i];
		if (!raft_log_term(r, e->index, &t))
			break;
		if (t != e->term) {
			/* Above the commit: m->index >= commit was checked. */
			log_truncate(r, e->index);
			break;
		}
	}
	if (log_reserve(r, m->n_entries - i) != RAFT_OK)
		return RAFT_ENOMEM;
	for (; i < m->n_entries; i++) {
		const struct raft_entry *e = &m->entries[i];
		if (log_append(r, e->term, e->type, e->data, e->len) != RAFT_OK)
			return RAFT_ENOMEM;  /* the prefix stays, consistent */
	}
	last_new = m->index + m->n_entries;
	commit_to(r, m->commit < last_new ? m->commit : last_new);
	send_append_resp(r, m->from, last_new, false, 0, 0);
	return RAFT_OK;
}

static int handle_snapshot(struct raft *r, const struct raft_message *m)
{
	const struct raft_snapshot_meta *s = &m->snapshot;
	uint64_t t;
	void *copy = NULL;
	if (s->index == 0 || s->term == 0 || s->term > m->term ||
	    !conf_valid(&s->conf) ||
	    (m->snapshot_len > 0 && m->snapshot_data == NULL))
		return RAFT_EINVAL;
	if (s->index <= r->commit) {
		/* Older than what we have committed: nothing to install. */
		send_append_resp(r, m->from, r->commit, false, 0, 0);
		return RAFT_OK;
	}
	if (raft_log_term(r, s->index, &t) && t == s->term) {
		/* Our log already holds it: just commit up to it. */
		commit_to(r, s->index);
		send_append_resp(r, m->from, s->index, false, 0, 0);
		return RAFT_OK;
	}
	if (m->snapshot_len > 0) {
		copy = r_malloc(r, m->snapshot_len);
		if (copy == NULL)
			return RAFT_ENOMEM;
		memcpy(copy, m->snapshot_data, m->snapshot_len);
	}
	r_free(r, r->snap_data);
	r->snap_data = copy;
	r->snap_len = m->snapshot_len;
	r->snap_pending = true;
	log_clear(r);
	r->snap = *s;
	r->commit = s->index;
	r->applied = s->index;
	r->stable = s->index;
	r->handed = s->index;
	r->conf = s->conf;
	trace(r, "installed snapshot index=%llu term=%llu",
	      (unsigned long long)s->index, (unsigned long long)s->term);
	send_append_resp(r, m->from, s->index, false, 0, 0);
	return RAFT_OK;
}

/* ---------------------------------------------------------------------- */
/* Messages. */

static bool in_lease(const struct raft *r)
{
	return r->cfg.check_quorum && r->leader != 0 &&
	       r->election_elapsed < r->cfg.election_ticks;
}

static bool sender_known(const struct raft *r, uint64_t id);

static void handle_vote_request(struct raft *r, const struct raft_message *m)
{
	bool pre = m->type == RAFT_MSG_PREVOTE;
	bool can_vote = r->vote == m->from ||
			(r->vote == 0 && r->leader == 0) ||
			(pre && m->term > r->term);
	struct raft_message *resp;
	bool grant = can_vote && log_up_to_date(r, m->index, m->log_term);
	resp = msg_new(r, pre ? RAFT_MSG_PREVOTE_RESP : RAFT_MSG_VOTE_RESP,
		       m->from);
	if (grant) {
		/* A granted pre-vote answers in the asked-for term, so the
		 * pre-candidate counts it (thesis 9.6). */
		if (resp != NULL)
			resp->term = m->term;
		if (!pre) {
			r->vote = m->from;
			r->election_elapsed = 0;
		}
	}
	/* Without memory for the answer, the vote still stands: the
	 * candidate sees a lost message, which Raft tolerates. */
	if (resp != NULL) {
		resp->reject = !grant;
		if (!grant)
			resp->context = r->leader;
	}
}

/* Refuses a vote request, naming our leader (0: none) in context: a
 * candidate that lags behind the configuration change that added that
 * leader learns from a member whom to hear (sender_known()). */
static void refuse_vote(struct raft *r, const struct raft_message *m)
{
	struct raft_message *resp = msg_new(
		r, m->type == RAFT_MSG_VOTE ? RAFT_MSG_VOTE_RESP
					    : RAFT_MSG_PREVOTE_RESP,
		m->from);

	if (resp != NULL) {
		resp->reject = true;
		resp->context = r->leader;
	}
}

/* A member refused our vote and named its leader, which is not in our
 * configuration: we lag behind the change that added it. Taken whatever
 * the answer's term, before the term rules drop a stale answer. */
static void note_vouched(struct raft *r, const struct raft_message *m)
{
	if ((m->type != RAFT_MSG_VOTE_RESP &&
	     m->type != RAFT_MSG_PREVOTE_RESP) ||
	    !m->reject || m->context == 0 || m->context == r->id ||
	    m->context == r->vouched || sender_known(r, m->context))
		return;
	r->vouched = m->context;
	trace(r, "member %llu names leader %llu: heard until the "
	      "configuration catches up", (unsigned long long)m->from,
	      (unsigned long long)m->context);
}

static void handle_vote_resp(struct raft *r, const struct raft_message *m)
{
	size_t granted, rejected;
	bool pre = m->type == RAFT_MSG_PREVOTE_RESP;
	if (pre != (r->role == RAFT_PRE_CANDIDATE))
		return;
	if (!pre && r->role != RAFT_CANDIDATE)
		return;
	if (pre && !m->reject && m->term != r->term + 1)
		return;
	record_vote(r, m->from, !m->reject);
	tally(r, &granted, &rejected);
	if (granted >= quorum(&r->conf)) {
		if (pre)
			campaign(r, false, false);
		else
			become_leader(r);
	} else if (rejected >= quorum(&r->conf)) {
		become_follower(r, r->term, 0);
	}
}

/* True for the messages only a leader of the current term may send. */
static bool msg_from_leader_role(const struct raft_message *m)
{
	return m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_HEARTBEAT ||
	       m->type == RAFT_MSG_SNAPSHOT || m->type == RAFT_MSG_TIMEOUT_NOW;
}

static bool msg_valid(const struct raft *r, const struct raft_message *m)
{
	if (m == NULL || m->type < RAFT_MSG_APPEND ||
	    m->type > RAFT_MSG_TYPE_MAX)
		return false;
	if (m->to != r->id || m->from == 0 || m->from == r->id)
		return false;
	/* Peer input: no index computation below may wrap, and no term is
	 * one this node could not itself increment (a term near
	 * RAFT_INDEX_MAX once stopped a cluster for good: every campaign
	 * past it was dropped as malformed). Entry terms never pass
	 * m->term (append_valid()). */
	if (m->term > RAFT_TERM_MAX || m->log_term > RAFT_TERM_MAX ||
	    m->index > RAFT_INDEX_MAX || m->commit > RAFT_INDEX_MAX ||
	    m->reject_hint > RAFT_INDEX_MAX || m->hint_term > RAFT_TERM_MAX ||
	    m->n_entries > RAFT_INDEX_MAX - m->index ||
	    m->snapshot.index > RAFT_INDEX_MAX ||
	    m->snapshot.term > RAFT_TERM_MAX)
		return false;
	return true;
}

/* Is id in the configuration: a voter or learner of the applied one, or
 * added by a configuration entry of the log not yet applied (a follower
 * that has not applied the change yet must still hear a new voter that
 * won an election), or the leader a member named to us when it refused
 * our vote (we lag behind the change that added it, and only its log
 * can bring us up to date)? A node that is not in its own configuration is
 * joining -- its configuration is empty, or it has not yet applied the
 * entry that adds it (it replays the founders' entries one by one) --
 * and hears anyone: the transport decides who may reach it, and it
 * learns its configuration from the leader that added it. */
static bool sender_known(const struct raft *r, uint64_t id)
{
	if (!raft_conf_is_voter(&r->conf, r->id) &&
	    !raft_conf_is_learner(&r->conf, r->id))
		return true;
	if (raft_conf_is_voter(&r->conf, id) ||
	    raft_conf_is_learner(&r->conf, id) || id == r->vouched)
		return true;
	for (uint64_t i = r->applied + 1; i <= last_index(r); i++) {
		const struct raft_entry *e = entry_at(r, i);
		struct raft_conf_change cc;

		if (e != NULL && e->type == RAFT_ENTRY_CONF &&
		    raft_conf_change_decode(e->data, e->len, &cc) == RAFT_OK &&
		    cc.op != RAFT_CONF_REMOVE && cc.id == id)
			return true;
	}
	return false;
}

/* Terms first (figure 2, "Rules for all servers"); false: drop it. */
static bool step_term(struct raft *r, const struct raft_message *m)
{
	bool from_leader = msg_from_leader_role(m);
	if (m->term > r->term) {
		bool vote_req = m->type == RAFT_MSG_VOTE ||
				m->type == RAFT_MSG_PREVOTE;
		if (vote_req && !m->transfer && in_lease(r)) {
			/* Thesis 4.2.3 / 6.2: a node that hears from a live
			 * leader ignores disruptive candidates. The refusal
			 * keeps our term (the candidate drops it as stale)
			 * and names our leader. */
			refuse_vote(r, m);
			return false;
		}
		if (m->type == RAFT_MSG_PREVOTE)
			return true;   /* our term stays as it is */
		if (m->type == RAFT_MSG_PREVOTE_RESP && !m->reject)
			return true;
		become_follower(r, m->term, from_leader ? m->from : 0);
		return true;
	}
	if (m->term < r->term) {
		if ((r->cfg.check_quorum || r->cfg.pre_vote) &&
		    (m->type == RAFT_MSG_APPEND ||
		     m->type == RAFT_MSG_HEARTBEAT)) {
			/* Tell a stale leader about the new term, so that it
			 * steps down instead of lingering (etcd). */
			send_append_resp(r, m->from, 0, false, 0, 0);
		} else if (m->type == RAFT_MSG_PREVOTE ||
			   m->type == RAFT_MSG_VOTE) {
			/* Figure 2: reply false with our term, so that a
			 * candidate behind in terms catches up (else two
			 * voters that never hear each other's terms can
			 * campaign forever). */
			refuse_vote(r, m);
		}
		return false;
	}
	return true;
}

int raft_step(struct raft *r, const struct raft_message *m)
{
	struct progress *pr;
	RAFT_ASSERT(!r->in_ready);
	if (!msg_valid(r, m))
		return RAFT_EINVAL;
	if (!sender_known(r, m->from)) {
		/* A stranger neither leads, nor campaigns, nor moves our
		 * term (issue 14: one forged APPEND from a made-up id was
		 * followed by every node). */
		trace(r, "dropped %s from=%llu: not in the configuration",
		      raft_msg_type_name((int)m->type),
		      (unsigned long long)m->from);
		return RAFT_OK;
	}
	note_vouched(r, m);
	if (!step_term(r, m))
		return RAFT_OK;

	switch (m->type) {
	case RAFT_MSG_VOTE:
	case RAFT_MSG_PREVOTE:
		handle_vote_request(r, m);
		return RAFT_OK;
	case RAFT_MSG_VOTE_RESP:
	case RAFT_MSG_PREVOTE_RESP:
		handle_vote_resp(r, m);
		return RAFT_OK;
	case RAFT_MSG_APPEND:
	case RAFT_MSG_HEARTBEAT:
	case RAFT_MSG_SNAPSHOT:
	case RAFT_MSG_TIMEOUT_NOW:
		if (r->role == RAFT_LEADER)
			return RAFT_OK;  /* impossible in a sane cluster */
		if (r->role != RAFT_FOLLOWER)
			become_follower(r, r->term, m->from);
		if (m->type == RAFT_MSG_TIMEOUT_NOW) {
			/* Thesis 3.10: campaign now, skipping pre-vote. */
			if (r->leader == m->from)
				start_election(r, true);
			return RAFT_OK;
		}
		r->leader = m->from;
		r->election_elapsed = 0;
		if (m->type == RAFT_MSG_APPEND)
			return handle_append(r, m);
		if (m->type == RAFT_MSG_SNAPSHOT)
			return handle_snapshot(r, m);
		commit_to(r, m->commit);
		{
			struct raft_message *resp =
				msg_new(r, RAFT_MSG_HEARTBEAT_RESP, m->from);
			if (resp != NULL)
				resp->context = m->context;
		}
		return RAFT_OK;
	case RAFT_MSG_READ_INDEX:
		if (r->role != RAFT_LEADER || progress_find(r, m->from) == NULL)
			return RAFT_OK;
		leader_read(r, m->context, m->from);
		return RAFT_OK;
	case RAFT_MSG_READ_INDEX_RESP:
		if (r->role == RAFT_FOLLOWER && r->leader == m->from &&
		    !m->reject)
			read_state_add(r, m->context, m->index);
		return RAFT_OK;
	case RAFT_MSG_APPEND_RESP:
	case RAFT_MSG_HEARTBEAT_RESP:
		if (r->role != RAFT_LEADER)
			return RAFT_OK;
		pr = progress_find(r, m->from);
		if (pr == NULL)
			return RAFT_OK;  /* not a member: ignore */
		if (m->type == RAFT_MSG_APPEND_RESP)
			leader_handle_append_resp(r, pr, m);
		else
			leader_handle_heartbeat_resp(r, pr, m);
		return RAFT_OK;
	}
	return RAFT_EINVAL;
}

/* ---------------------------------------------------------------------- */
/* Time. */

static void abort_transfer(struct raft *r)
{
	if (r->transfer_target != 0)
		trace(r, "transfer to=%llu aborted",
		      (unsigned long long)r->transfer_target);
	r->transfer_target = 0;
	r->transfer_elapsed = 0;
}

static void tick_leader(struct raft *r)
{
	r->heartbeat_elapsed++;
	r->election_elapsed++;
	if (r->transfer_target != 0 &&
	    ++r->transfer_elapsed >= r->cfg.election_ticks)
		abort_transfer(r);
	for (size_t i = 0; i < r->n_prs; i++) {
		struct progress *pr = &r->prs[i];
		/* A snapshot that never got answered: probe again. */
		if (pr->state == PR_SNAPSHOT &&
		    ++pr->snapshot_ticks >= 2 * r->cfg.election_ticks)
			progress_become(pr, PR_PROBE, pr->match + 1);
	}
	if (r->election_elapsed >= r->cfg.election_ticks) {
		r->election_elapsed = 0;
		if (r->cfg.check_quorum) {
			/* Thesis 6.2: a leader that has not heard from a
			 * majority for an election timeout steps down. */
			size_t active = 0;
			for (size_t i = 0; i < r->n_prs; i++) {
				struct progress *pr = &r->prs[i];
				if (!pr->learner &&
				    (pr->id == r->id || pr->recent_active))
					active++;
				pr->recent_active = false;
			}
			if (active < quorum(&r->conf)) {
				trace(r, "lost quorum, stepping down");
				become_follower(r, r->term, 0);
				return;
			}
		}
	}
	if (r->heartbeat_elapsed >= r->cfg.heartbeat_ticks) {
		r->heartbeat_elapsed = 0;
		bcast_heartbeat(r, r->read_round);
	}
}

/* A learner that has heard no leader for an election timeout asks the
 * voters it knows with a pre-vote for an empty log: never granted by a
 * voter (every voter's log holds entries), never changing anyone's term,
 * and refused naming the refuser's leader (note_vouched()). So a learner
 * that missed the change adding a new leader learns whom to hear. */
static void probe_leader(struct raft *r)
{
	r->election_elapsed = 0;
	reset_randomized_timeout(r);
	for (uint32_t i = 0; i < r->conf.n_voters; i++) {
		struct raft_message *m = msg_new(r, RAFT_MSG_PREVOTE,
						 r->conf.voters[i]);

		if (m != NULL && r->term < RAFT_TERM_MAX)
			m->term = r->term + 1;
	}
}

void raft_tick(struct raft *r)
{
	RAFT_ASSERT(!r->in_ready);
	if (r->role == RAFT_LEADER) {
		tick_leader(r);
		return;
	}
	r->election_elapsed++;
	if (r->election_elapsed < r->randomized_timeout)
		return;
	if (promotable(r))
		start_election(r, false);
	else if (raft_conf_is_learner(&r->conf, r->id))
		probe_leader(r);
}

/* ---------------------------------------------------------------------- */
/* Proposals and requests. */

static int propose_entry(struct raft *r, uint32_t type, const void *data,
			 size_t len, uint64_t *index, uint64_t *term)
{
	int rv;
	RAFT_ASSERT(!r->in_ready);
	if (r->role != RAFT_LEADER)
		return RAFT_ENOTLEADER;
	if (r->transfer_target != 0)
		return RAFT_EBUSY;
	if (len > r->cfg.max_entry_bytes || len > UINT32_MAX)
		return RAFT_ETOOBIG;
	if (len > 0 && data == NULL)
		return RAFT_EINVAL;
	rv = log_reserve(r, 1);
	if (rv == RAFT_OK)
		rv = log_append(r, r->term, type, data, len);
	if (rv != RAFT_OK)
		return rv;
	if (index != NULL)
		*index = last_index(r);
	if (term != NULL)
		*term = r->term;
	return RAFT_OK;  /* sent by leader_flush() in raft_ready() */
}

int raft_propose(struct raft *r, const void *data, size_t len,
		 uint64_t *index, uint64_t *term)
{
	return propose_entry(r, RAFT_ENTRY_NORMAL, data, len, index, term);
}

int raft_propose_conf_change(struct raft *r, enum raft_conf_op op,
			     uint64_t id, uint64_t *index)
{
	struct raft_conf_change cc = { .op = op, .id = id };
	struct raft_conf c = r->conf;
	uint8_t buf[RAFT_CONF_CHANGE_LEN];
	int rv;
	if (r->role != RAFT_LEADER)
		return RAFT_ENOTLEADER;
	if (id == 0 || op < RAFT_CONF_ADD_LEARNER || op > RAFT_CONF_REMOVE)
		return RAFT_EINVAL;
	/* One change at a time, and none before this term's first commit. */
	if (r->pending_conf_index > r->applied || r->transfer_target != 0)
		return RAFT_EBUSY;
	if (!conf_apply(&c, &cc))
		return RAFT_EINVAL;
	raft_conf_change_encode(&cc, buf);
	rv = propose_entry(r, RAFT_ENTRY_CONF, buf, sizeof(buf), index, NULL);
	if (rv == RAFT_OK)
		r->pending_conf_index = last_index(r);
	return rv;
}

int raft_read_index(struct raft *r, uint64_t context)
{
	struct raft_message *m;
	RAFT_ASSERT(!r->in_ready);
	if (r->role == RAFT_LEADER) {
		leader_read(r, context, 0);
		return RAFT_OK;
	}
	if (r->leader == 0 || r->role != RAFT_FOLLOWER)
		return RAFT_ENOTLEADER;
	m = msg_new(r, RAFT_MSG_READ_INDEX, r->leader);
	if (m == NULL)
		return RAFT_ENOMEM;
	m->context = context;
	return RAFT_OK;
}

int raft_transfer_leadership(struct raft *r, uint64_t target)
{
	struct progress *pr;
	RAFT_ASSERT(!r->in_ready);
	if (r->role != RAFT_LEADER)
		return RAFT_ENOTLEADER;
	if (target == r->id || !raft_conf_is_voter(&r->conf, target))
		return RAFT_EINVAL;
	pr = progress_find(r, target);
	RAFT_ASSERT(pr != NULL);
	if (r->transfer_target == target)
		return RAFT_OK;
	r->transfer_target = target;
	r->transfer_elapsed = 0;
	trace(r, "transfer to=%llu", (unsigned long long)target);
	if (pr->match == last_index(r))
		send_timeout_now(r, target);
	else
		send_append(r, pr, true);
	return RAFT_OK;
}

/* The configuration as of index, replayed from the snapshot's. */
static struct raft_conf conf_at(const struct raft *r, uint64_t index)
{
	struct raft_conf c = r->snap.conf;
	for (uint64_t i = r->snap.index + 1; i <= index; i++)
		conf_apply_entry(&c, entry_at(r, i));
	return c;
}

int raft_compact(struct raft *r, uint64_t index)
{
	size_t drop;
	struct raft_snapshot_meta s;
	RAFT_ASSERT(!r->in_ready);
	if (index > r->applied || index < r->snap.index)
		return RAFT_EINVAL;
	if (index == r->snap.index)
		return RAFT_OK;
	s.index = index;
	s.term = term_at(r, index);
	s.conf = conf_at(r, index);
	drop = (size_t)(index - r->snap.index);
	for (size_t i = 0; i < drop; i++)
		r_free(r, r->ents[i].data);
	memmove(r->ents, r->ents + drop, (r->n_ents - drop) * sizeof(*r->ents));
	r->n_ents -= drop;
	r->snap = s;
	trace(r, "compacted to index=%llu", (unsigned long long)index);
	return RAFT_OK;
}

void raft_report_leader_lost(struct raft *r, uint64_t id)
{
	unsigned soon;
	RAFT_ASSERT(!r->in_ready);
	if (r->role != RAFT_FOLLOWER || id == 0 || r->leader != id)
		return;
	/* No leader known: vote requests are no longer ignored (thesis
	 * 6.2 lease), and our own timeout comes within a few heartbeats,
	 * at a random point so that the followers do not all collide. */
	r->leader = 0;
	soon = 1 + (unsigned)(rng_next(r) % (3 * r->cfg.heartbeat_ticks));
	if (r->randomized_timeout > soon &&
	    r->election_elapsed < r->randomized_timeout - soon)
		r->election_elapsed = r->randomized_timeout - soon;
	trace(r, "leader %llu lost: campaign in %u ticks",
	      (unsigned long long)id, soon);
}

void raft_report_unreachable(struct raft *r, uint64_t id)
{
	struct progress *pr;
	if (r->role != RAFT_LEADER || (pr = progress_find(r, id)) == NULL)
		return;
	if (pr->state == PR_REPLICATE)
		progress_become(pr, PR_PROBE, pr->match + 1);
}

void raft_report_snapshot(struct raft *r, uint64_t id, bool ok)
{
	struct progress *pr;
	uint64_t next;
	if (r->role != RAFT_LEADER || (pr = progress_find(r, id)) == NULL ||
	    pr->state != PR_SNAPSHOT)
		return;
	next = ok ? pr->pending_snapshot + 1 : pr->match + 1;
	progress_become(pr, PR_PROBE, next);
	/* Wait for the follower's answer (or a heartbeat) before probing. */
	pr->probe_sent = true;
}

/* ---------------------------------------------------------------------- */
/* Ready / advance. */

static bool hs_equal(const struct raft_hard_state *a,
		     const struct raft_hard_state *b)
{
	return a->term == b->term && a->vote == b->vote &&
	       a->commit == b->commit;
}

static struct raft_hard_state hard_state(const struct raft *r)
{
	struct raft_hard_state hs = { r->term, r->vote, r->commit };
	return hs;
}

/* Whether the next Ready's entries may be written after raft_advance()
 * (cfg.async_leader_persist): a leader's, with no snapshot and with the
 * term and vote already on disk -- so that nothing it sends promises more
 * than what is persisted (raft.h). */
static bool ready_async(const struct raft *r)
{
	return r->cfg.async_leader_persist && r->role == RAFT_LEADER &&
	       !r->snap_pending && r->term == r->hs_persisted.term &&
	       r->vote == r->hs_persisted.vote;
}

/* The last index the next Ready may hand out to apply: committed, and on
 * disk here by the time the application applies it -- persisted, or in
 * the Ready's own synchronous write. */
static uint64_t apply_limit(const struct raft *r)
{
	if (ready_async(r) && r->stable < r->commit)
		return r->stable > r->applied ? r->stable : r->applied;
	return r->commit;
}

bool raft_has_ready(const struct raft *r)
{
	struct raft_hard_state hs = hard_state(r);
	return r->n_msgs > 0 || r->n_reads > 0 || r->snap_pending ||
	       (r->role == RAFT_LEADER && r->commit_dirty) ||
	       last_index(r) > r->handed || apply_limit(r) > r->applied ||
	       !hs_equal(&hs, &r->hs_persisted);
}

/* Messages queued since the last Ready are resolved here, when the
 * application takes them. Dropped: leader messages and log responses
 * (APPEND_RESP, HEARTBEAT_RESP) of an older term -- a response would
 * speak for a log that may have been truncated since, in the same
 * batch, by a newer leader -- and leader messages from a
 * node that is no longer leader, and APPENDs whose entries were compacted
 * or truncated since. APPENDs are pointed at their entries, and a
 * SNAPSHOT carries the snapshot as it is now: a raft_compact() since it
 * was queued replaced the one it named, whose data the application no
 * longer has. */
static void resolve_messages(struct raft *r)
{
	size_t out = 0;
	for (size_t i = 0; i < r->n_msgs; i++) {
		struct raft_message *m = &r->msgs[i];
		bool log_resp = m->type == RAFT_MSG_APPEND_RESP ||
				m->type == RAFT_MSG_HEARTBEAT_RESP;
		if ((log_resp || msg_from_leader_role(m)) &&
		    m->term != r->term)
			continue;
		if (msg_from_leader_role(m) && r->role != RAFT_LEADER)
			continue;
		if (m->type == RAFT_MSG_APPEND && m->n_entries > 0) {
			if (m->index < r->snap.index ||
			    m->index + m->n_entries > last_index(r))
				continue;
			m->entries = entry_at(r, m->index + 1);
		} else if (m->type == RAFT_MSG_SNAPSHOT) {
			struct progress *pr = progress_find(r, m->to);
			if (pr == NULL || pr->state != PR_SNAPSHOT)
				continue;
			m->snapshot = r->snap;
			pr->pending_snapshot = r->snap.index;
		}
		r->msgs[out++] = *m;
	}
	r->n_msgs = out;
}

void raft_ready(struct raft *r, struct raft_ready *rd)
{
	uint64_t commit;

	RAFT_ASSERT(!r->in_ready);
	if (r->role == RAFT_LEADER)
		leader_flush(r);
	memset(rd, 0, sizeof(*rd));
	rd->role = r->role;
	rd->leader = r->leader;
	rd->term = r->term;
	rd->hard_state = hard_state(r);
	rd->hard_state_changed = !hs_equal(&rd->hard_state, &r->hs_persisted);
	if (r->snap_pending) {
		rd->snapshot = &r->snap;
		rd->snapshot_data = r->snap_data;
		rd->snapshot_len = r->snap_len;
	}
	if (last_index(r) > r->handed) {
		rd->entries = entry_at(r, r->handed + 1);
		rd->n_entries = (size_t)(last_index(r) - r->handed);
	}
	rd->persist_async = ready_async(r);
	resolve_messages(r);
	rd->messages = r->msgs;
	rd->n_messages = r->n_msgs;
	commit = apply_limit(r);
	if (commit > r->applied) {
		rd->committed = entry_at(r, r->applied + 1);
		rd->n_committed = (size_t)(commit - r->applied);
	}
	rd->reads = r->reads;
	rd->n_reads = r->n_reads;
	r->in_ready = true;
	r->ready_last = last_index(r);
	r->ready_commit = commit;
	r->ready_async = rd->persist_async;
	r->ready_hs = rd->hard_state;
	r->ready_snap = r->snap_pending;
}

/* Applies membership changes among the entries just applied. */
static void apply_conf_changes(struct raft *r, uint64_t from, uint64_t to)
{
	bool changed = false;
	for (uint64_t i = from; i <= to && i != 0; i++) {
		const struct raft_entry *e = entry_at(r, i);
		if (e != NULL && conf_apply_entry(&r->conf, e))
			changed = true;
	}
	if (!changed)
		return;
	r->vouched = 0;
	trace(r, "configuration: %u voters, %u learners",
	      r->conf.n_voters, r->conf.n_learners);
	if (r->role != RAFT_LEADER) {
		if (!promotable(r) && r->role != RAFT_FOLLOWER)
			become_follower(r, r->term, 0);
		return;
	}
	if (!raft_conf_is_voter(&r->conf, r->id)) {
		/* Removed (or demoted): step down; others take over. */
		become_follower(r, r->term, 0);
		return;
	}
	if (r->transfer_target != 0 &&
	    !raft_conf_is_voter(&r->conf, r->transfer_target))
		abort_transfer(r);
	progress_reset(r, true);
	if (maybe_commit(r))
		commit_advanced(r);
	else
		bcast_append(r);
	reads_advance(r);
}

/* A leader counts itself towards a quorum for what it persisted. */
static void self_match_stable(struct raft *r)
{
	struct progress *self;

	if (r->role != RAFT_LEADER)
		return;
	self = progress_find(r, r->id);
	if (self != NULL && self->match < r->stable) {
		self->match = r->stable;
		if (maybe_commit(r))
			commit_advanced(r);
	}
}

void raft_advance(struct raft *r, const struct raft_ready *rd)
{
	uint64_t applied_from;
	(void)rd;
	RAFT_ASSERT(r->in_ready);
	r->in_ready = false;
	if (r->ready_snap) {
		r->snap_pending = false;
		r->alloc.free(r->alloc.ctx, r->snap_data);
		r->snap_data = NULL;
		r->snap_len = 0;
	}
	/* Nothing changed the log since raft_ready(): it is all on disk,
	 * or, for an asynchronous Ready, being written (raft_persisted()
	 * says when it is). A synchronous one comes after the writes of
	 * the asynchronous ones before it (raft.h). */
	if (!r->ready_async)
		r->stable = r->ready_last;
	r->handed = r->ready_last;
	r->hs_persisted = r->ready_hs;
	r->n_msgs = 0;
	r->n_reads = 0;
	applied_from = r->applied + 1;
	r->applied = r->ready_commit;
	apply_conf_changes(r, applied_from, r->applied);
	self_match_stable(r);
}

int raft_persisted(struct raft *r, uint64_t index, uint64_t term)
{
	const struct raft_entry *e;

	if (r->in_ready)
		return RAFT_ESTATE;
	/* A late report: the log changed since (a new leader's entries
	 * replaced these, or a synchronous Ready stored them). */
	if (index <= r->stable || index > r->handed)
		return RAFT_OK;
	e = entry_at(r, index);
	if (e == NULL || e->term != term)
		return RAFT_OK;
	r->stable = index;
	self_match_stable(r);
	return RAFT_OK;
}

/* ---------------------------------------------------------------------- */
/* Life cycle. */

void raft_config_default(struct raft_config *cfg, uint64_t id, uint64_t seed)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->id = id;
	cfg->seed = seed;
	cfg->election_ticks = 10;
	cfg->heartbeat_ticks = 1;
	cfg->pre_vote = true;
	cfg->check_quorum = true;
	cfg->max_inflight = 256;
	cfg->max_msg_entries = 64;
	cfg->max_msg_bytes = 1 << 20;
	cfg->max_entry_bytes = 1 << 20;
}

static bool config_valid(const struct raft_config *cfg)
{
	return cfg != NULL && cfg->id != 0 && cfg->election_ticks >= 2 &&
	       cfg->heartbeat_ticks >= 1 &&
	       cfg->heartbeat_ticks < cfg->election_ticks &&
	       cfg->max_inflight >= 1 && cfg->max_msg_entries >= 1 &&
	       cfg->max_inflight <= (SIZE_MAX / sizeof(uint64_t)) /
				    RAFT_NODES_MAX;
}

/* The commit index to restart with. With cfg.async_leader_persist a
 * leader applies entries before the hard state carrying their commit is
 * on disk (raft.h): a crash in between leaves the applied index -- or a
 * snapshot taken at it -- above the stored commit. What was applied was
 * committed. */
static uint64_t restore_commit(const struct raft_config *cfg,
			       const struct raft_restore *rs)
{
	if (cfg->async_leader_persist && rs->applied > rs->hard_state.commit)
		return rs->applied;
	return rs->hard_state.commit;
}

static bool restore_valid(const struct raft_config *cfg,
			  const struct raft_restore *rs)
{
	uint64_t first = rs->snapshot != NULL ? rs->snapshot->index + 1 : 1;
	uint64_t prev_term = rs->snapshot != NULL ? rs->snapshot->term : 0;
	uint64_t last = first - 1 + rs->n_entries;
	uint64_t commit = restore_commit(cfg, rs);
	/* A zeroed snapshot record means "none yet". */
	if (rs->snapshot != NULL &&
	    ((rs->snapshot->index == 0) != (rs->snapshot->term == 0) ||
	     (rs->snapshot->index > 0 && !conf_valid(&rs->snapshot->conf))))
		return false;
	if (rs->n_entries > 0 && rs->entries == NULL)
		return false;
	for (size_t i = 0; i < rs->n_entries; i++) {
		const struct raft_entry *e = &rs->entries[i];
		if (e->index != first + i || e->term < prev_term ||
		    e->term > rs->hard_state.term ||
		    (e->len > 0 && e->data == NULL))
			return false;
		prev_term = e->term;
	}
	return commit <= last && rs->applied <= commit &&
	       rs->applied >= first - 1 && commit >= first - 1;
}

static int restore(struct raft *r, const struct raft_restore *rs)
{
	int rv;
	if (!restore_valid(&r->cfg, rs))
		return RAFT_EINVAL;
	if (rs->snapshot != NULL)
		r->snap = *rs->snapshot;
	rv = log_reserve(r, rs->n_entries);
	if (rv != RAFT_OK)
		return rv;
	for (size_t i = 0; i < rs->n_entries; i++) {
		const struct raft_entry *e = &rs->entries[i];
		rv = log_append(r, e->term, e->type, e->data, e->len);
		if (rv != RAFT_OK)
			return rv;
	}
	r->term = rs->hard_state.term;
	r->vote = rs->hard_state.vote;
	r->commit = restore_commit(&r->cfg, rs);
	r->applied = rs->applied;
	r->stable = last_index(r);
	r->handed = r->stable;
	r->hs_persisted = rs->hard_state;
	r->conf = conf_at(r, r->applied);
	return RAFT_OK;
}

int raft_new(const struct raft_config *cfg, const struct raft_restore *rs,
	     struct raft **out)
{
	struct raft_allocator a = {
		libc_malloc, libc_realloc, libc_free, NULL,
	};
	struct raft *r;
	int rv;
	*out = NULL;
	if (!config_valid(cfg))
		return RAFT_EINVAL;
	if (cfg->alloc != NULL) {
		if (cfg->alloc->malloc != NULL)
			a.malloc = cfg->alloc->malloc;
		if (cfg->alloc->realloc != NULL)
			a.realloc = cfg->alloc->realloc;
		if (cfg->alloc->free != NULL)
			a.free = cfg->alloc->free;
		a.ctx = cfg->alloc->ctx;
	}
	r = a.malloc(a.ctx, sizeof(*r));
	if (r == NULL)
		return RAFT_ENOMEM;
	memset(r, 0, sizeof(*r));
	r->cfg = *cfg;
	r->alloc = a;
	r->id = cfg->id;
	r->rng = cfg->seed ^ (cfg->id * 0xd1b54a32d192ed03ULL);
	r->inflight_buf = r_malloc(r, RAFT_NODES_MAX * cfg->max_inflight *
					      sizeof(uint64_t));
	if (r->inflight_buf == NULL) {
		raft_free(r);
		return RAFT_ENOMEM;
	}
	if (rs != NULL) {
		rv = restore(r, rs);
		if (rv != RAFT_OK) {
			raft_free(r);
			return rv;
		}
	}
	become_follower(r, r->term, 0);
	*out = r;
	return RAFT_OK;
}

void raft_free(struct raft *r)
{
	if (r == NULL)
		return;
	log_clear(r);
	r_free(r, r->ents);
	r_free(r, r->msgs);
	r_free(r, r->reads);
	r_free(r, r->preads);
	r_free(r, r->snap_data);
	r_free(r, r->inflight_buf);
	r->alloc.free(r->alloc.ctx, r);
}

int raft_bootstrap(struct raft *r, const uint64_t *voters, size_t n)
{
	int rv;
	RAFT_ASSERT(!r->in_ready);
	if (voters == NULL || n == 0 || n > RAFT_NODES_MAX)
		return RAFT_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (voters[i] == 0 || id_in(voters, (uint32_t)i, voters[i]))
			return RAFT_EINVAL;
	if (last_index(r) != 0 || r->term != 0)
		return RAFT_ESTATE;
	rv = log_reserve(r, n);
	if (rv != RAFT_OK)
		return rv;
	for (size_t i = 0; i < n; i++) {
		struct raft_conf_change cc = { RAFT_CONF_ADD_VOTER, voters[i] };
		uint8_t buf[RAFT_CONF_CHANGE_LEN];
		raft_conf_change_encode(&cc, buf);
		rv = log_append(r, 1, RAFT_ENTRY_CONF, buf, sizeof(buf));
		if (rv != RAFT_OK) {
			log_clear(r);
			return rv;
		}
	}
	/* Every founder writes the same committed prefix at term 1; the
	 * configuration takes effect now rather than at apply, so that the
	 * founders can elect a leader before anything else happens. */
	r->term = 1;
	r->commit = n;
	for (size_t i = 0; i < n; i++)
		conf_apply_entry(&r->conf, &r->ents[i]);
	return RAFT_OK;
}

/* ---------------------------------------------------------------------- */
/* Getters. */

uint64_t raft_id(const struct raft *r) { return r->id; }
uint64_t raft_term(const struct raft *r) { return r->term; }
uint64_t raft_vote(const struct raft *r) { return r->vote; }
uint64_t raft_leader(const struct raft *r) { return r->leader; }
enum raft_role raft_role(const struct raft *r) { return r->role; }
bool raft_is_leader(const struct raft *r) { return r->role == RAFT_LEADER; }
uint64_t raft_commit_index(const struct raft *r) { return r->commit; }
uint64_t raft_applied_index(const struct raft *r) { return r->applied; }
uint64_t raft_first_index(const struct raft *r) { return r->snap.index + 1; }
uint64_t raft_last_index(const struct raft *r) { return last_index(r); }
const struct raft_conf *raft_conf(const struct raft *r) { return &r->conf; }
const struct raft_snapshot_meta *raft_snapshot(const struct raft *r)
{
	return &r->snap;
}
const struct raft_entry *raft_log_entry(const struct raft *r, uint64_t index)
{
	return entry_at(r, index);
}
uint64_t raft_transfer_target(const struct raft *r)
{
	return r->transfer_target;
}

bool raft_msg_may_precede_persist(const struct raft_message *m)
{
	return msg_from_leader_role(m);
}

int raft_progress_match(const struct raft *r, uint64_t id, uint64_t *match)
{
	const struct progress *pr;

	if (r->role != RAFT_LEADER)
		return RAFT_ENOTLEADER;
	pr = progress_find((struct raft *)r, id);
	if (pr == NULL)
		return RAFT_EINVAL;
	*match = pr->match;
	return RAFT_OK;
}
