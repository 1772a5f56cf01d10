/*
 * tests/sim/sim.c: the deterministic Raft cluster simulator (see sim.h).
 *
 * Time is counted in units, SIM_UNITS to a tick. Everything that happens is
 * an event in one priority queue ordered by (time, sequence number): a
 * node's tick, the delivery of a message, a node handling its Ready (after
 * a random "disk" delay, so that a crash can catch state that is not yet
 * persisted), and once per tick the chaos event that drives clients and
 * faults. Every random choice comes from one xoshiro256** generator seeded
 * from the run's seed; nothing reads a clock or rand(). Each event is one
 * step; the checkers run after every step.
 *
 * Half the runs (chosen by the seed) turn on raft_config's
 * async_leader_persist: a leader's Ready with persist_async is sent,
 * applied and advanced at once, and its entries and hard state wait in a
 * queue of background writes that an EV_WRITE event, after a random disk
 * delay, makes durable (then raft_persisted()). A crash loses the queue.
 * A Ready without persist_async writes the queue first; the EV_WRITEs
 * still report those writes, late.
 */
#include "tests/sim/sim.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "raft/raft.h"
#include "tests/sim/checkers.h"

#define SIM_UNITS 10            /* time units per tick */
#define SIM_IDS_MAX 8           /* node ids 1..SIM_IDS_MAX-1 */
#define SIM_PREADS_MAX 64       /* pending reads kept per node */
#define SIM_PWRITES_MAX 512     /* pending writes kept per node */
#define SIM_BACKLOG_MAX 128      /* uncommitted writes a client allows */
#define SIM_PROBE_BIT (1ULL << 63)  /* payload ids of liveness probes */
#define SIM_SNAP_MAGIC 0x31504e534d495358ULL  /* "XSIMSNP1" */
#define SIM_SNAP_LEN 40

/* ---------------------------------------------------------------------- */
/* Randomness: xoshiro256**, seeded through splitmix64. */

struct rng {
	uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *g, uint64_t seed)
{
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		g->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *g)
{
	uint64_t *s = g->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Uniform in [0, n), n > 0. */
static uint64_t rng_below(struct rng *g, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)rng_next(g) * n) >> 64);
}

/* Uniform in [lo, hi]. */
static uint64_t rng_range(struct rng *g, uint64_t lo, uint64_t hi)
{
	return lo + rng_below(g, hi - lo + 1);
}

static bool rng_chance(struct rng *g, double p)
{
	return (double)(rng_next(g) >> 11) * 0x1.0p-53 < p;
}

/* ---------------------------------------------------------------------- */
/* Hashes of entries and of the state machine. */

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 33)) * 0xff51afd7ed558ccdULL;
	z = (z ^ (z >> 33)) * 0xc4ceb9fe1a85ec53ULL;
	return z ^ (z >> 33);
}

static uint64_t entry_hash(const struct raft_entry *e)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ e->type;
	for (uint32_t i = 0; i < e->len; i++) {
		h ^= e->data[i];
		h *= 0x100000001b3ULL;
	}
	return mix64(h ^ ((uint64_t)e->len << 32));
}

static uint64_t chain_next(uint64_t chain, uint64_t index, uint64_t hash)
{
	return mix64(chain ^ mix64(hash + index * 0x9e3779b97f4a7c15ULL));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n == 0 ? 1 : n);
	if (p == NULL) {
		fprintf(stderr, "raft_sim: out of memory\n");
		abort();
	}
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n == 0 ? 1 : n);
	if (q == NULL) {
		fprintf(stderr, "raft_sim: out of memory\n");
		abort();
	}
	return q;
}

static uint8_t *memdup(const void *src, size_t len)
{
	uint8_t *p;
	if (len == 0)
		return NULL;
	p = xmalloc(len);
	memcpy(p, src, len);
	return p;
}

/* ---------------------------------------------------------------------- */
/* The state machine: a running hash over every applied entry, and the
 * client writes it has seen. Volatile: a restart rebuilds it from the last
 * snapshot and re-applies the committed entries after it. */

struct sm {
	uint64_t applied;
	uint64_t chain;
	uint64_t n_writes;
	uint64_t last_write;
};

static void sm_serialize(const struct sm *sm, uint8_t out[SIM_SNAP_LEN])
{
	put64(out, SIM_SNAP_MAGIC);
	put64(out + 8, sm->applied);
	put64(out + 16, sm->chain);
	put64(out + 24, sm->n_writes);
	put64(out + 32, sm->last_write);
}

static bool sm_deserialize(struct sm *sm, const void *data, size_t len)
{
	const uint8_t *p = data;
	if (data == NULL || len != SIM_SNAP_LEN || get64(p) != SIM_SNAP_MAGIC)
		return false;
	sm->applied = get64(p + 8);
	sm->chain = get64(p + 16);
	sm->n_writes = get64(p + 24);
	sm->last_write = get64(p + 32);
	return true;
}

/* ---------------------------------------------------------------------- */
/* The durable store of one node: survives crashes. */

struct store {
	struct raft_hard_state hs;
	bool has_snap;
	struct raft_snapshot_meta snap;     /* zero without a snapshot */
	uint8_t *snap_data;
	size_t snap_len;
	struct raft_entry *ents;            /* ents[k].index == snap.index+1+k */
	size_t n_ents;
	size_t cap_ents;
};

static uint64_t store_last(const struct store *st)
{
	return st->snap.index + st->n_ents;
}

static bool store_empty(const struct store *st)
{
	return !st->has_snap && st->n_ents == 0 && st->hs.term == 0 &&
	       st->hs.vote == 0 && st->hs.commit == 0;
}

static bool store_term(const struct store *st, uint64_t index, uint64_t *term)
{
	if (index == st->snap.index) {
		*term = st->snap.term;
		return true;
	}
	if (index < st->snap.index || index > store_last(st))
		return false;
	*term = st->ents[index - st->snap.index - 1].term;
	return true;
}

static void store_truncate(struct store *st, uint64_t from)
{
	while (st->n_ents > 0 && store_last(st) >= from) {
		st->n_ents--;
		free(st->ents[st->n_ents].data);
	}
}

static void store_push(struct store *st, const struct raft_entry *e)
{
	struct raft_entry *d;
	if (st->n_ents == st->cap_ents) {
		st->cap_ents = st->cap_ents ? 2 * st->cap_ents : 64;
		st->ents = xrealloc(st->ents, st->cap_ents * sizeof(*st->ents));
	}
	d = &st->ents[st->n_ents++];
	*d = *e;
	d->data = memdup(e->data, e->len);
}

/* Keeps the entries above meta->index (compaction) or none (installing a
 * snapshot from the leader replaces the whole log). */
static void store_set_snapshot(struct store *st,
			       const struct raft_snapshot_meta *meta,
			       const void *data, size_t len, bool keep_tail)
{
	size_t drop = 0;
	if (keep_tail && meta->index > st->snap.index)
		drop = (size_t)(meta->index - st->snap.index);
	if (!keep_tail || drop > st->n_ents)
		drop = st->n_ents;
	for (size_t i = 0; i < drop; i++)
		free(st->ents[i].data);
	if (drop > 0 && drop < st->n_ents)
		memmove(st->ents, st->ents + drop,
			(st->n_ents - drop) * sizeof(*st->ents));
	st->n_ents -= drop;
	st->has_snap = true;
	st->snap = *meta;
	free(st->snap_data);
	st->snap_data = memdup(data, len);
	st->snap_len = len;
}

static void store_free(struct store *st)
{
	for (size_t i = 0; i < st->n_ents; i++)
		free(st->ents[i].data);
	free(st->ents);
	free(st->snap_data);
	memset(st, 0, sizeof(*st));
}

/* ---------------------------------------------------------------------- */
/* Nodes, events and the simulation. */

struct pread {
	uint64_t ctx;
	uint64_t token;         /* checker_read_begin() at the start */
	uint64_t index;
	bool has_index;
};

struct pwrite {
	uint64_t id;
	uint64_t index;
	uint64_t term;
};

/* A background write (an async Ready's entries and hard state, copied:
 * the Ready's pointers die with raft_advance()). */
struct bgwrite {
	uint64_t seq;               /* the EV_WRITE that makes it durable */
	struct raft_entry *ents;
	size_t n_ents;
	bool has_hs;
	struct raft_hard_state hs;
	bool written;               /* by a synchronous Ready, which waited
				     * for it; its EV_WRITE reports it late */
};

struct node {
	uint64_t id;
	bool exists;            /* has been started once */
	bool alive;
	bool founder;
	struct raft *r;
	uint64_t incarnation;
	struct store st;
	struct sm sm;
	bool ready_scheduled;
	uint64_t commit_seen;       /* commit monotonicity */
	uint64_t commit_recorded;   /* handed to checker_commit() up to */
	enum raft_role role_seen;
	uint64_t term_seen;
	uint64_t restart_at;        /* tick; 0: none planned */
	bool retired;               /* shut down after its removal */
	bool crash_at_ready;        /* crash in its next Ready, after
				     * persisting and before sending */
	int group;                  /* partition side */
	struct pread preads[SIM_PREADS_MAX];
	size_t n_preads;
	struct pwrite *pwrites;
	size_t n_pwrites;
	size_t cap_pwrites;
	struct bgwrite *bg;         /* background writes, oldest first */
	size_t n_bg;
	size_t cap_bg;
	uint64_t bg_seq;            /* the last one queued */
	uint64_t snap_fail[RAFT_NODES_MAX];  /* report_snapshot(false) due */
	size_t n_snap_fail;
};

enum ev_type {
	EV_CHAOS,
	EV_TICK,
	EV_READY,
	EV_MSG,
	EV_CRASH,
	EV_WRITE,       /* background writes become durable */
};

struct event {
	uint64_t at;
	uint64_t seq;
	enum ev_type type;
	uint64_t node;
	uint64_t incarnation;
	struct raft_message *msg;
	uint64_t msg_inc;           /* the sender's incarnation */
	const char *why;            /* EV_CRASH: for the trace */
	uint64_t bg_seq;            /* EV_WRITE: durable up to this write */
};

struct sim {
	struct sim_options opt;
	FILE *out;
	struct rng rng;
	struct rng forge_rng;       /* forged peer input only: the rest of
				     * a seed's run stays as it was */
	struct checker *ck;
	struct sim_stats stats;

	/* The run's parameters, drawn from the seed. */
	unsigned n_founders;
	unsigned max_id;
	struct raft_config cfg;
	double p_drop, p_dup;
	unsigned delay_max;         /* units */
	unsigned disk_delay_max;    /* units */
	unsigned bg_delay_max;      /* units, a background write */
	double p_propose, p_burst, p_read, p_crash, p_partition, p_conf;
	double p_transfer, p_fig8, p_fig8_elected, p_fig8_commit;
	double p_mid_crash, p_compact;
	unsigned compact_gap;
	double p_isolate_leader;
	unsigned partition_max;     /* ticks */
	unsigned restart_max;       /* ticks */
	unsigned fault_ticks;
	unsigned live_bound;        /* ticks allowed after healing */

	/* State. */
	uint64_t now;
	uint64_t seq;
	struct event *heap;
	size_t n_heap;
	size_t cap_heap;
	struct node nodes[SIM_IDS_MAX];
	bool partitioned;
	uint64_t heal_at;           /* tick */
	bool faults;
	bool healing;
	uint64_t heal_tick;
	uint64_t next_write;
	uint64_t next_ctx;
	uint64_t probe_term;        /* the term the latest probe went into */
	uint64_t probe_node;
	uint64_t probe_committed;   /* highest index a probe was applied at */
	bool live_ok;
	bool stop;
	uint64_t conf_index_done;   /* CONF entries handled up to */
	uint64_t retire[SIM_IDS_MAX];   /* removed nodes to shut down */
	size_t n_retire;
	uint64_t status_committed;
};

static uint64_t tick_now(const struct sim *s)
{
	return s->now / SIM_UNITS;
}

static void vlog(struct sim *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void vlog(struct sim *s, const char *fmt, ...)
{
	va_list ap;
	if (!s->opt.verbose)
		return;
	fprintf(s->out, "t=%" PRIu64 ".%u ", s->now / SIM_UNITS,
		(unsigned)(s->now % SIM_UNITS));
	va_start(ap, fmt);
	vfprintf(s->out, fmt, ap);
	va_end(ap);
	fputc('\n', s->out);
}

static void core_trace(void *ctx, uint64_t id, const char *event)
{
	struct sim *s = ctx;
	vlog(s, "  [node %" PRIu64 "] %s", id, event);
}

/* Writes "{1,2,3}" for a list of ids. */
static const char *ids_str(char *buf, size_t size, const uint64_t *ids,
			   size_t n)
{
	size_t off = 0;
	buf[0] = '\0';
	off += (size_t)snprintf(buf + off, size - off, "{");
	for (size_t i = 0; i < n && off < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%" PRIu64,
					i ? "," : "", ids[i]);
	if (off < size)
		snprintf(buf + off, size - off, "}");
	return buf;
}

static void ids_sort(uint64_t *ids, size_t n)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
			uint64_t t = ids[j];
			ids[j] = ids[j - 1];
			ids[j - 1] = t;
		}
}

static const char *conf_str(char *buf, size_t size, const struct raft_conf *c)
{
	uint64_t v[RAFT_NODES_MAX], l[RAFT_NODES_MAX];
	char bv[128], bl[128];
	memcpy(v, c->voters, c->n_voters * sizeof(*v));
	memcpy(l, c->learners, c->n_learners * sizeof(*l));
	ids_sort(v, c->n_voters);
	ids_sort(l, c->n_learners);
	snprintf(buf, size, "voters %s learners %s",
		 ids_str(bv, sizeof(bv), v, c->n_voters),
		 ids_str(bl, sizeof(bl), l, c->n_learners));
	return buf;
}

/* ---------------------------------------------------------------------- */
/* The event queue: a binary heap on (at, seq). */

static bool ev_before(const struct event *a, const struct event *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void ev_push(struct sim *s, struct event ev)
{
	size_t i;
	if (s->n_heap == s->cap_heap) {
		s->cap_heap = s->cap_heap ? 2 * s->cap_heap : 256;
		s->heap = xrealloc(s->heap, s->cap_heap * sizeof(*s->heap));
	}
	ev.seq = s->seq++;
	i = s->n_heap++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!ev_before(&ev, &s->heap[p]))
			break;
		s->heap[i] = s->heap[p];
		i = p;
	}
	s->heap[i] = ev;
}

static struct event ev_pop(struct sim *s)
{
	struct event top = s->heap[0];
	struct event last = s->heap[--s->n_heap];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= s->n_heap)
			break;
		if (c + 1 < s->n_heap && ev_before(&s->heap[c + 1], &s->heap[c]))
			c++;
		if (!ev_before(&s->heap[c], &last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->n_heap > 0)
		s->heap[i] = last;
	return top;
}

/* ---------------------------------------------------------------------- */
/* Messages: the network owns deep copies. */

/* A deep copy of n entries (NULL if n is 0). */
static struct raft_entry *ents_dup(const struct raft_entry *src, size_t n)
{
	struct raft_entry *c;
	if (n == 0)
		return NULL;
	c = xmalloc(n * sizeof(*c));
	for (size_t i = 0; i < n; i++) {
		c[i] = src[i];
		c[i].data = memdup(src[i].data, src[i].len);
	}
	return c;
}

static void ents_free(struct raft_entry *ents, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ents[i].data);
	free(ents);
}

static struct raft_message *msg_copy(const struct raft_message *m,
				     const void *snap_data, size_t snap_len)
{
	struct raft_message *c = xmalloc(sizeof(*c));
	*c = *m;
	c->entries = ents_dup(m->entries, m->n_entries);
	c->snapshot_data = memdup(snap_data, snap_len);
	c->snapshot_len = snap_len;
	return c;
}

static void msg_free(struct raft_message *m)
{
	if (m == NULL)
		return;
	ents_free(m->entries, m->n_entries);
	free((void *)m->snapshot_data);
	free(m);
}

static void net_send(struct sim *s, struct node *from,
		     const struct raft_message *m, const void *snap_data,
		     size_t snap_len)
{
	int copies = 1;
	s->stats.msgs_sent++;
	if (s->faults && rng_chance(&s->rng, s->p_drop)) {
		s->stats.msgs_dropped++;
		return;
	}
	if (s->faults && rng_chance(&s->rng, s->p_dup)) {
		s->stats.msgs_duplicated++;
		copies = 2;
	}
	for (int i = 0; i < copies; i++) {
		struct event ev = { 0 };
		ev.at = s->now + rng_range(&s->rng, 1, s->delay_max);
		ev.type = EV_MSG;
		ev.node = m->to;
		ev.msg = msg_copy(m, snap_data, snap_len);
		ev.msg_inc = from->incarnation;
		ev_push(s, ev);
	}
}

/* ---------------------------------------------------------------------- */
/* Node life cycle. */

static void node_poke(struct sim *s, struct node *n)
{
	struct event ev = { 0 };
	if (!n->alive || n->ready_scheduled || !raft_has_ready(n->r))
		return;
	n->ready_scheduled = true;
	ev.at = s->now + rng_below(&s->rng, s->disk_delay_max + 1);
	ev.type = EV_READY;
	ev.node = n->id;
	ev.incarnation = n->incarnation;
	ev_push(s, ev);
}

static void node_reset_volatile(struct node *n)
{
	for (size_t i = 0; i < n->n_bg; i++)
		ents_free(n->bg[i].ents, n->bg[i].n_ents);
	n->n_bg = 0;
	n->n_preads = 0;
	n->n_pwrites = 0;
	n->n_snap_fail = 0;
	n->ready_scheduled = false;
	n->crash_at_ready = false;
	memset(&n->sm, 0, sizeof(n->sm));
}

/* Starts (or restarts) a node from its durable store. */
static void node_start(struct sim *s, struct node *n)
{
	struct raft_config cfg = s->cfg;
	struct raft_restore rs;
	int rv;
	n->incarnation++;
	cfg.id = n->id;
	cfg.seed = mix64(s->opt.seed * 0x2545f4914f6cdd1dULL + n->id * 131 +
			 n->incarnation);
	if (s->opt.trace) {
		cfg.trace = core_trace;
		cfg.trace_ctx = s;
	}
	node_reset_volatile(n);
	if (store_empty(&n->st)) {
		rv = raft_new(&cfg, NULL, &n->r);
		if (rv == RAFT_OK && n->founder) {
			uint64_t voters[SIM_IDS_MAX];
			for (unsigned i = 0; i < s->n_founders; i++)
				voters[i] = i + 1;
			rv = raft_bootstrap(n->r, voters, s->n_founders);
		}
	} else {
		memset(&rs, 0, sizeof(rs));
		rs.hard_state = n->st.hs;
		rs.snapshot = n->st.has_snap ? &n->st.snap : NULL;
		rs.entries = n->st.ents;
		rs.n_entries = n->st.n_ents;
		rs.applied = n->st.snap.index;
		rv = raft_new(&cfg, &rs, &n->r);
		if (rv == RAFT_OK && n->st.has_snap) {
			if (!sm_deserialize(&n->sm, n->st.snap_data,
					    n->st.snap_len) ||
			    n->sm.applied != n->st.snap.index)
				checker_fail(s->ck, "contract",
					     "node %" PRIu64 " stored snapshot"
					     " data does not match its index",
					     n->id);
			else
				checker_restore(s->ck, n->id, n->sm.applied,
						n->sm.chain);
		}
	}
	if (rv != RAFT_OK) {
		checker_fail(s->ck, "contract",
			     "node %" PRIu64 " cannot start from its store: %s",
			     n->id, raft_strerror(rv));
		n->r = NULL;
		n->alive = false;
		s->stop = true;
		return;
	}
	n->exists = true;
	n->alive = true;
	n->restart_at = 0;
	n->role_seen = raft_role(n->r);
	n->term_seen = raft_term(n->r);
	/* A restart may lose the unpersisted commit index, not more. */
	if (raft_commit_index(n->r) < n->st.hs.commit)
		checker_commit_index(s->ck, n->id, n->st.hs.commit,
				     raft_commit_index(n->r));
	n->commit_seen = raft_commit_index(n->r);
	n->commit_recorded = raft_first_index(n->r) - 1;
	if (n->commit_recorded > n->commit_seen)
		n->commit_recorded = n->commit_seen;
}

/* Crashes n; it restarts after a while unless restart is false. */
static void node_crash(struct sim *s, struct node *n, const char *when,
		       bool restart)
{
	uint64_t last = raft_last_index(n->r), stored = store_last(&n->st);
	uint64_t lost = last > stored ? last - stored : 0;
	s->stats.crashes++;
	s->stats.lost_entries += lost;
	vlog(s, "node %" PRIu64 " crashed%s (lost %" PRIu64
	     " unpersisted entr%s, term %" PRIu64 ", commit %" PRIu64 ")",
	     n->id, when, lost, lost == 1 ? "y" : "ies", raft_term(n->r),
	     raft_commit_index(n->r));
	raft_free(n->r);
	n->r = NULL;
	n->alive = false;
	n->incarnation++;
	/* Its peers' transports see its connections break -- most of the
	 * time (raft_report_leader_lost() only acts on the leader's). */
	for (uint64_t id = 1; id < SIM_IDS_MAX; id++) {
		struct node *o = &s->nodes[id];

		if (o != n && o->exists && o->alive && o->r != NULL &&
		    rng_chance(&s->rng, 0.5))
			raft_report_leader_lost(o->r, n->id);
	}
	node_reset_volatile(n);
	n->restart_at = restart ? tick_now(s) + rng_range(&s->rng, 2,
							  s->restart_max)
				: 0;
}

/* "log 1..9", "snapshot at 3 + log 4..9", "snapshot at 3, no entries",
 * "empty log". */
static const char *store_str(char *buf, size_t size, const struct store *st)
{
	if (st->n_ents > 0 && st->has_snap)
		snprintf(buf, size, "snapshot at %" PRIu64 " + log %" PRIu64
			 "..%" PRIu64, st->snap.index, st->snap.index + 1,
			 store_last(st));
	else if (st->n_ents > 0)
		snprintf(buf, size, "log 1..%" PRIu64, store_last(st));
	else if (st->has_snap)
		snprintf(buf, size, "snapshot at %" PRIu64 ", no entries",
			 st->snap.index);
	else
		snprintf(buf, size, "empty log");
	return buf;
}

static void node_restart(struct sim *s, struct node *n, const char *what)
{
	char buf[96];
	node_start(s, n);
	s->stats.restarts++;
	vlog(s, "node %" PRIu64 " %s (term %" PRIu64 ", %s, commit %" PRIu64
	     ")", n->id, what, n->st.hs.term,
	     store_str(buf, sizeof(buf), &n->st), n->st.hs.commit);
}

/* ---------------------------------------------------------------------- */
/* The Ready loop: persist, send, apply, read, advance. */

static bool log_view_entry(const void *ctx, uint64_t index, uint64_t *term,
			   uint64_t *hash)
{
	const struct raft_entry *e = raft_log_entry(ctx, index);
	if (e == NULL)
		return false;
	*term = e->term;
	*hash = entry_hash(e);
	return true;
}

static void log_view(const struct raft *r, struct checker_log *v)
{
	const struct raft_snapshot_meta *sn = raft_snapshot(r);
	v->ctx = r;
	v->snap_index = sn->index;
	v->snap_term = sn->term;
	v->last_index = raft_last_index(r);
	v->entry = log_view_entry;
}

static void persist_entries(struct sim *s, struct node *n,
			    const struct raft_entry *ents, size_t count)
{
	uint64_t prev = 0;
	struct store *st = &n->st;
	if (ents[0].index <= st->snap.index ||
	    ents[0].index > store_last(st) + 1) {
		checker_fail(s->ck, "contract",
			     "node %" PRIu64 " Ready entries start at %" PRIu64
			     ", but the stored log is %" PRIu64 "..%" PRIu64,
			     n->id, ents[0].index, st->snap.index + 1,
			     store_last(st));
		s->stop = true;
		return;
	}
	store_truncate(st, ents[0].index);
	store_term(st, ents[0].index - 1, &prev);
	for (size_t i = 0; i < count; i++) {
		const struct raft_entry *e = &ents[i];
		if (e->index != ents[0].index + i) {
			checker_fail(s->ck, "contract",
				     "node %" PRIu64 " Ready entries are not "
				     "contiguous at %" PRIu64, n->id, e->index);
			s->stop = true;
			return;
		}
		checker_log_entry(s->ck, n->id, e->index, e->term, prev,
				  entry_hash(e));
		store_push(st, e);
		prev = e->term;
	}
}

/* Writes entries, then the hard state (hs, if not NULL), to the store.
 * False if that broke the contract (the run stops). */
static bool persist_log(struct sim *s, struct node *n,
			const struct raft_entry *ents, size_t count,
			const struct raft_hard_state *hs)
{
	if (count > 0)
		persist_entries(s, n, ents, count);
	if (s->stop)
		return false;
	if (hs != NULL) {
		const struct raft_hard_state *o = &n->st.hs;
		checker_hard_state(s->ck, n->id, o->term, o->vote, o->commit,
				   hs->term, hs->vote, hs->commit);
		n->st.hs = *hs;
	}
	if (n->st.hs.commit > store_last(&n->st)) {
		checker_fail(s->ck, "contract",
			     "node %" PRIu64 " persisted commit %" PRIu64
			     " beyond its stored log (last %" PRIu64 ")",
			     n->id, n->st.hs.commit, store_last(&n->st));
		s->stop = true;
		return false;
	}
	return true;
}

/* Queues an async Ready's write and the EV_WRITE that makes it durable
 * after a random disk delay. */
static void bg_queue(struct sim *s, struct node *n,
		     const struct raft_ready *rd)
{
	struct bgwrite *w;
	struct event ev = { 0 };
	if (n->n_bg == n->cap_bg) {
		n->cap_bg = n->cap_bg ? 2 * n->cap_bg : 16;
		n->bg = xrealloc(n->bg, n->cap_bg * sizeof(*n->bg));
	}
	w = &n->bg[n->n_bg++];
	memset(w, 0, sizeof(*w));
	w->seq = ++n->bg_seq;
	w->ents = ents_dup(rd->entries, rd->n_entries);
	w->n_ents = rd->n_entries;
	w->has_hs = rd->hard_state_changed;
	w->hs = rd->hard_state;
	ev.at = s->now + rng_below(&s->rng, s->bg_delay_max + 1);
	ev.type = EV_WRITE;
	ev.node = n->id;
	ev.incarnation = n->incarnation;
	ev.bg_seq = w->seq;
	ev_push(s, ev);
}

/* The last entry of the background writes still to be written: false if
 * they hold none. */
static bool bg_last(const struct node *n, uint64_t *index, uint64_t *term)
{
	for (size_t k = n->n_bg; k > 0; k--) {
		const struct bgwrite *w = &n->bg[k - 1];
		if (!w->written && w->n_ents > 0) {
			*index = w->ents[w->n_ents - 1].index;
			*term = w->ents[w->n_ents - 1].term;
			return true;
		}
	}
	return false;
}

/* Makes the background writes up to seq durable, oldest first (a disk
 * completes them in order). A synchronous Ready's flush (keep) leaves
 * them queued, written: their EV_WRITE still reports them, late, as a
 * writer thread would. *index, *term: the last entry of the writes up to
 * seq, index 0 if none. False if the contract broke (the run stops). */
static bool bg_flush(struct sim *s, struct node *n, uint64_t seq, bool keep,
		     uint64_t *index, uint64_t *term)
{
	size_t k;
	*index = 0;
	*term = 0;
	for (k = 0; k < n->n_bg && n->bg[k].seq <= seq; k++) {
		struct bgwrite *w = &n->bg[k];
		if (!w->written) {
			if (!persist_log(s, n, w->ents, w->n_ents,
					 w->has_hs ? &w->hs : NULL))
				return false;
			w->written = true;
			s->stats.bg_writes++;
		}
		if (w->n_ents > 0) {
			*index = w->ents[w->n_ents - 1].index;
			*term = w->ents[w->n_ents - 1].term;
		}
	}
	if (keep)
		return true;
	for (size_t i = 0; i < k; i++)
		ents_free(n->bg[i].ents, n->bg[i].n_ents);
	memmove(n->bg, n->bg + k, (n->n_bg - k) * sizeof(*n->bg));
	n->n_bg -= k;
	return true;
}

/* EV_WRITE: the disk completed the background writes up to seq. */
static void handle_write(struct sim *s, struct node *n, uint64_t seq)
{
	uint64_t index, term;
	int rv;
	if (!bg_flush(s, n, seq, false, &index, &term) || index == 0)
		return;
	vlog(s, "node %" PRIu64 " reports its background writes durable up "
	     "to index %" PRIu64 " term %" PRIu64, n->id, index, term);
	rv = raft_persisted(n->r, index, term);
	if (rv != RAFT_OK)
		checker_fail(s->ck, "contract",
			     "node %" PRIu64 " raft_persisted(%" PRIu64 ", %"
			     PRIu64 ") failed: %s", n->id, index, term,
			     raft_strerror(rv));
}

enum send_mode {
	SEND_ALL,
	SEND_EARLY,     /* a leader's, before persisting */
	SEND_REST,      /* after persisting, what SEND_EARLY left */
};

static void send_messages(struct sim *s, struct node *n,
			  const struct raft_ready *rd, enum send_mode mode)
{
	for (size_t i = 0; i < rd->n_messages; i++) {
		const struct raft_message *m = &rd->messages[i];
		const void *data = NULL;
		size_t len = 0;
		bool ok_early = raft_msg_may_precede_persist(m) ||
				(s->opt.early_acks &&
				 m->type == RAFT_MSG_APPEND_RESP);
		if (mode != SEND_ALL && ok_early != (mode == SEND_EARLY))
			continue;
		if (m->type == RAFT_MSG_SNAPSHOT) {
			/* Attach the data of the snapshot it names; if the
			 * node compacted since, the send fails. */
			if (!n->st.has_snap ||
			    n->st.snap.index != m->snapshot.index ||
			    n->st.snap.term != m->snapshot.term) {
				if (n->n_snap_fail < RAFT_NODES_MAX)
					n->snap_fail[n->n_snap_fail++] = m->to;
				continue;
			}
			data = n->st.snap_data;
			len = n->st.snap_len;
			s->stats.snapshots_sent++;
		}
		if (m->to == 0 || m->to >= SIM_IDS_MAX ||
		    !s->nodes[m->to].exists) {
			checker_fail(s->ck, "contract",
				     "node %" PRIu64 " sent %s to unknown "
				     "node %" PRIu64, n->id,
				     raft_msg_type_name((int)m->type), m->to);
			continue;
		}
		net_send(s, n, m, data, len);
	}
}

static void pwrites_resolve(struct sim *s, struct node *n,
			    const struct raft_entry *e)
{
	size_t out = 0;
	for (size_t i = 0; i < n->n_pwrites; i++) {
		struct pwrite *w = &n->pwrites[i];
		if (w->index != e->index) {
			n->pwrites[out++] = *w;
			continue;
		}
		if (w->term == e->term && e->type == RAFT_ENTRY_NORMAL &&
		    e->len >= 8 && get64(e->data) == w->id) {
			checker_write_acked(s->ck, e->index);
			s->stats.acked++;
		}
		/* Otherwise the write was lost with its leader's term. */
	}
	n->n_pwrites = out;
}

static void apply_entry(struct sim *s, struct node *n,
			const struct raft_entry *e)
{
	uint64_t h = entry_hash(e);
	n->sm.chain = chain_next(n->sm.chain, e->index, h);
	n->sm.applied = e->index;
	if (e->type == RAFT_ENTRY_NORMAL && e->len >= 8) {
		uint64_t id = get64(e->data);
		if (id & SIM_PROBE_BIT) {
			if (e->index > s->probe_committed)
				s->probe_committed = e->index;
		} else {
			n->sm.n_writes++;
			n->sm.last_write = id;
		}
	}
	checker_apply(s->ck, n->id, e->index, e->term, h, n->sm.chain);
	if (n->n_pwrites > 0)
		pwrites_resolve(s, n, e);
	if (e->type == RAFT_ENTRY_CONF && e->index > s->conf_index_done) {
		struct raft_conf_change cc;
		s->conf_index_done = e->index;
		if (raft_conf_change_decode(e->data, e->len, &cc) == RAFT_OK) {
			static const char *const ops[] = {
				[RAFT_CONF_ADD_LEARNER] = "add learner",
				[RAFT_CONF_ADD_VOTER] = "add voter",
				[RAFT_CONF_REMOVE] = "remove",
			};
			vlog(s, "membership change committed at index %" PRIu64
			     ": %s %" PRIu64, e->index, ops[cc.op], cc.id);
			/* An operator shuts a removed node down, sometimes.
			 * Always without PreVote and CheckQuorum: a removed
			 * node that never learns of its removal would disrupt
			 * the cluster with its elections (thesis 4.2.3). */
			if (cc.op == RAFT_CONF_REMOVE && cc.id < SIM_IDS_MAX &&
			    s->n_retire < SIM_IDS_MAX &&
			    ((!s->cfg.pre_vote && !s->cfg.check_quorum) ||
			     rng_chance(&s->rng, 0.5)))
				s->retire[s->n_retire++] = cc.id;
		}
	}
}

static void serve_reads(struct sim *s, struct node *n)
{
	size_t out = 0;
	for (size_t i = 0; i < n->n_preads; i++) {
		struct pread *p = &n->preads[i];
		if (p->has_index && p->index <= n->sm.applied) {
			checker_read_served(s->ck, n->id, p->ctx, p->token,
					    n->sm.applied);
			s->stats.reads_served++;
			continue;
		}
		n->preads[out++] = *p;
	}
	n->n_preads = out;
}

/* 3. Applies rd.committed; false if the contract broke (the run stops). */
static bool apply_committed(struct sim *s, struct node *n,
			    const struct raft_ready *rd)
{
	for (size_t i = 0; i < rd->n_committed; i++) {
		const struct raft_entry *e = &rd->committed[i];
		if (e->index != n->sm.applied + 1) {
			checker_fail(s->ck, "contract",
				     "node %" PRIu64 " was given index %" PRIu64
				     " to apply after %" PRIu64, n->id,
				     e->index, n->sm.applied);
			s->stop = true;
			return false;
		}
		apply_entry(s, n, e);
	}
	return true;
}

/* 4. Reads. */
static void take_reads(struct sim *s, struct node *n,
		       const struct raft_ready *rd)
{
	for (size_t i = 0; i < rd->n_reads; i++) {
		for (size_t j = 0; j < n->n_preads; j++) {
			struct pread *p = &n->preads[j];
			if (p->ctx == rd->reads[i].context && !p->has_index) {
				p->has_index = true;
				p->index = rd->reads[i].index;
			}
		}
	}
	serve_reads(s, n);
}

/* After raft_advance(). */
static void ready_done(struct sim *s, struct node *n)
{
	struct raft *r = n->r;
	uint64_t end = store_last(&n->st), end_term = 0;
	bool has_term = store_term(&n->st, end, &end_term);

	for (size_t i = 0; i < n->n_snap_fail; i++)
		raft_report_snapshot(r, n->snap_fail[i], false);
	n->n_snap_fail = 0;

	/* The core and the application agree on what is applied and on
	 * what is on disk -- or on its way there, in the background. */
	if (bg_last(n, &end, &end_term))
		has_term = true;
	if (raft_applied_index(r) != n->sm.applied)
		checker_fail(s->ck, "contract",
			     "node %" PRIu64 " core applied %" PRIu64
			     " but the state machine applied %" PRIu64, n->id,
			     raft_applied_index(r), n->sm.applied);
	if (raft_last_index(r) != end ||
	    raft_first_index(r) > store_last(&n->st) + 1) {
		checker_fail(s->ck, "contract",
			     "node %" PRIu64 " in-memory log ends at %" PRIu64
			     " but the stored log at %" PRIu64 " (%zu background"
			     " writes, to %" PRIu64 ")", n->id,
			     raft_last_index(r), store_last(&n->st), n->n_bg,
			     end);
	} else {
		uint64_t t1;
		if (raft_log_term(r, raft_last_index(r), &t1) && has_term &&
		    t1 != end_term)
			checker_fail(s->ck, "contract",
				     "node %" PRIu64 " last entry has term %"
				     PRIu64 " in memory, %" PRIu64 " on disk",
				     n->id, t1, end_term);
	}
}

/* A leader's Ready with persist_async (raft.h): sent, applied and
 * advanced now, written in the background. False if the node crashed or
 * the run stopped. */
static bool handle_ready_async(struct sim *s, struct node *n,
			       const struct raft_ready *rd)
{
	const struct bgwrite *w;

	if (rd->snapshot != NULL) {
		checker_fail(s->ck, "contract",
			     "node %" PRIu64 " got a snapshot in an "
			     "asynchronous Ready", n->id);
		s->stop = true;
		return false;
	}
	send_messages(s, n, rd, SEND_ALL);
	if (s->faults && (n->crash_at_ready ||
			  rng_chance(&s->rng, s->p_mid_crash))) {
		node_crash(s, n, " after sending, before its write started",
			   true);
		return false;
	}
	/* The core holds back what this node has not persisted
	 * (apply_limit()): an fsm never runs ahead of its own log. */
	if (!s->opt.async_ack_early && rd->n_committed > 0 &&
	    rd->committed[rd->n_committed - 1].index > store_last(&n->st)) {
		checker_fail(s->ck, "contract",
			     "node %" PRIu64 " was given index %" PRIu64
			     " to apply in an asynchronous Ready, but its "
			     "stored log ends at %" PRIu64, n->id,
			     rd->committed[rd->n_committed - 1].index,
			     store_last(&n->st));
		s->stop = true;
		return false;
	}
	if (!apply_committed(s, n, rd))
		return false;
	take_reads(s, n, rd);
	bg_queue(s, n, rd);
	raft_advance(n->r, rd);
	w = &n->bg[n->n_bg - 1];
	if (s->opt.async_ack_early && w->n_ents > 0) {
		/* The application bug of the self-test: the write is
		 * reported durable as it starts. */
		const struct raft_entry *e = &w->ents[w->n_ents - 1];
		raft_persisted(n->r, e->index, e->term);
	}
	return true;
}

static void handle_ready(struct sim *s, struct node *n)
{
	struct raft_ready rd;
	struct raft *r = n->r;
	bool early;
	n->ready_scheduled = false;
	if (!raft_has_ready(r))
		return;
	raft_ready(r, &rd);

	if (rd.persist_async) {
		if (handle_ready_async(s, n, &rd))
			ready_done(s, n);
		return;
	}
	if (n->n_bg > 0) {
		/* A synchronous Ready comes after the background writes
		 * before it (raft.h): its raft_advance() counts them, and
		 * their reports come later. */
		uint64_t index, term;
		if (!bg_flush(s, n, UINT64_MAX, true, &index, &term))
			return;
	}

	/* 0. A leader may send its APPENDs, heartbeats, snapshots and
	 * TIMEOUT_NOW before persisting (raft.h, thesis 10.2.1): half the
	 * leaders' Readies do, and a crash may fall in between. */
	early = (rd.role == RAFT_LEADER || s->opt.early_acks) &&
		rng_chance(&s->rng, 0.5);
	if (early) {
		send_messages(s, n, &rd, SEND_EARLY);
		if (s->faults && rng_chance(&s->rng, s->p_mid_crash)) {
			node_crash(s, n, " after sending, before persisting",
				   true);
			return;
		}
	}

	/* 1. Persist: snapshot, entries, hard state, as one batch. */
	if (rd.snapshot != NULL) {
		s->stats.snapshots_installed++;
		vlog(s, "node %" PRIu64 " installs a snapshot at index %" PRIu64
		     " term %" PRIu64, n->id, rd.snapshot->index,
		     rd.snapshot->term);
		store_set_snapshot(&n->st, rd.snapshot, rd.snapshot_data,
				   rd.snapshot_len, false);
	}
	if (!persist_log(s, n, rd.entries, rd.n_entries,
			 rd.hard_state_changed ? &rd.hard_state : NULL))
		return;
	if (s->faults && (n->crash_at_ready ||
			  rng_chance(&s->rng, s->p_mid_crash))) {
		node_crash(s, n, " after persisting, before sending", true);
		return;
	}

	/* 2. Send (what step 0 did not). */
	send_messages(s, n, &rd, early ? SEND_REST : SEND_ALL);
	if (s->faults && rng_chance(&s->rng, s->p_mid_crash)) {
		node_crash(s, n, " after sending, before applying", true);
		return;
	}

	/* 3. Apply. */
	if (rd.snapshot != NULL) {
		if (!sm_deserialize(&n->sm, rd.snapshot_data,
				    rd.snapshot_len) ||
		    n->sm.applied != rd.snapshot->index) {
			checker_fail(s->ck, "contract",
				     "node %" PRIu64 " got snapshot data that "
				     "does not match index %" PRIu64, n->id,
				     rd.snapshot->index);
			s->stop = true;
			return;
		}
		checker_restore(s->ck, n->id, n->sm.applied, n->sm.chain);
	}
	if (!apply_committed(s, n, &rd))
		return;

	/* 4. Reads. */
	take_reads(s, n, &rd);

	raft_advance(r, &rd);
	ready_done(s, n);
}

/* ---------------------------------------------------------------------- */
/* The network delivers. */

static bool connected(const struct sim *s, uint64_t a, uint64_t b)
{
	return !s->partitioned || s->nodes[a].group == s->nodes[b].group;
}

static void handle_msg(struct sim *s, struct event *ev)
{
	struct raft_message *m = ev->msg;
	struct node *to = &s->nodes[m->to];
	struct node *from = m->from < SIM_IDS_MAX ? &s->nodes[m->from] : NULL;
	bool from_same = from != NULL && from->alive &&
			 from->incarnation == ev->msg_inc;
	if (!to->alive || !connected(s, m->from, m->to)) {
		s->stats.msgs_dropped++;
		if (from_same && connected(s, m->from, m->to) == false &&
		    rng_chance(&s->rng, 0.25))
			raft_report_unreachable(from->r, m->to);
		if (from_same && m->type == RAFT_MSG_SNAPSHOT)
			raft_report_snapshot(from->r, m->to, false);
		return;
	}
	{
		int rv = raft_step(to->r, m);
		if (rv != RAFT_OK)
			checker_fail(s->ck, "contract",
				     "node %" PRIu64 " rejected %s from node %"
				     PRIu64 ": %s", to->id,
				     raft_msg_type_name((int)m->type), m->from,
				     raft_strerror(rv));
	}
	if (from_same && m->type == RAFT_MSG_SNAPSHOT)
		raft_report_snapshot(from->r, m->to, true);
}

/* ---------------------------------------------------------------------- */
/* Forged peer input (issue 14): what an attacker on the peer port sends.
 * A node outside every configuration claims to lead, campaigns or tells
 * a node to time out, with a higher term; or a member's id carries a term
 * past RAFT_TERM_MAX (one such heartbeat once stopped a cluster for
 * good). The first must be ignored without a trace in the node's state,
 * the second refused as malformed; the run must stay safe and live. A
 * node outside its own configuration (joining, or removed) hears anyone
 * by design -- the transport guards it -- so it is not a target. */

#define SIM_STRANGER 1000

static void chaos_forge(struct sim *s)
{
	static const uint32_t types[] = {
		RAFT_MSG_APPEND, RAFT_MSG_HEARTBEAT, RAFT_MSG_SNAPSHOT,
		RAFT_MSG_TIMEOUT_NOW, RAFT_MSG_VOTE, RAFT_MSG_PREVOTE,
		RAFT_MSG_APPEND_RESP, RAFT_MSG_VOTE_RESP,
	};
	struct rng *g = &s->forge_rng;
	struct node *n = &s->nodes[rng_range(g, 1, s->max_id)];
	const struct raft_conf *c;
	struct raft_message m = { 0 };
	struct raft_entry e = { 0 };
	uint64_t term, leader, commit;
	bool huge = rng_chance(g, 0.3);
	int rv;

	if (!n->alive)
		return;
	c = raft_conf(n->r);
	if (!raft_conf_is_voter(c, n->id) && !raft_conf_is_learner(c, n->id))
		return;
	term = raft_term(n->r);
	leader = raft_leader(n->r);
	commit = raft_commit_index(n->r);
	m.type = types[rng_below(g, sizeof(types) / sizeof(types[0]))];
	m.to = n->id;
	m.index = raft_last_index(n->r);
	m.log_term = term;
	m.commit = m.index + 1;
	if (huge) {
		m.type = RAFT_MSG_HEARTBEAT;
		m.from = n->id % s->n_founders + 1;
		m.term = RAFT_TERM_MAX + 1 +
			 rng_below(g, RAFT_INDEX_MAX - RAFT_TERM_MAX);
		m.commit = commit;
	} else {
		m.from = SIM_STRANGER + rng_below(g, 3);
		m.term = term + 1 + rng_below(g, 3);
	}
	if (m.type == RAFT_MSG_APPEND) {
		e.term = m.term;
		e.index = m.index + 1;
		e.len = 5;
		e.data = (uint8_t *)"forge";
		m.entries = &e;
		m.n_entries = 1;
	} else if (m.type == RAFT_MSG_SNAPSHOT) {
		m.snapshot.index = m.index + 10;
		m.snapshot.term = m.term;
		m.snapshot.conf.n_voters = 1;
		m.snapshot.conf.voters[0] = m.from;
	}
	if (s->opt.verbose)
		vlog(s, "forged %s from=%" PRIu64 " term=%" PRIu64
		     " to node %" PRIu64, raft_msg_type_name((int)m.type),
		     m.from, m.term, n->id);
	rv = raft_step(n->r, &m);
	s->stats.forged++;
	if (rv != (huge ? RAFT_EINVAL : RAFT_OK) ||
	    raft_term(n->r) != term || raft_leader(n->r) != leader ||
	    raft_commit_index(n->r) != commit)
		checker_fail(s->ck, "forged",
			     "node %" PRIu64 " took a forged %s from=%" PRIu64
			     " term=%" PRIu64 ": step %s, term %" PRIu64
			     " -> %" PRIu64 ", leader %" PRIu64 " -> %" PRIu64,
			     n->id, raft_msg_type_name((int)m.type), m.from,
			     m.term, raft_strerror(rv), term, raft_term(n->r),
			     leader, raft_leader(n->r));
}

/* ---------------------------------------------------------------------- */
/* Chaos: clients and faults, once per tick. */

static struct node *top_leader(struct sim *s)
{
	struct node *best = NULL;
	for (unsigned id = 1; id <= s->max_id; id++) {
		struct node *n = &s->nodes[id];
		if (n->alive && raft_is_leader(n->r) &&
		    (best == NULL || raft_term(n->r) > raft_term(best->r)))
			best = n;
	}
	return best;
}

static struct node *any_leader(struct sim *s)
{
	struct node *c[SIM_IDS_MAX];
	size_t k = 0;
	for (unsigned id = 1; id <= s->max_id; id++) {
		struct node *n = &s->nodes[id];
		if (n->alive && raft_is_leader(n->r))
			c[k++] = n;
	}
	return k ? c[rng_below(&s->rng, k)] : NULL;
}

static struct node *random_alive(struct sim *s)
{
	struct node *c[SIM_IDS_MAX];
	size_t k = 0;
	for (unsigned id = 1; id <= s->max_id; id++)
		if (s->nodes[id].alive)
			c[k++] = &s->nodes[id];
	return k ? c[rng_below(&s->rng, k)] : NULL;
}

static int propose_write(struct node *n, uint64_t id)
{
	uint8_t buf[64];
	size_t len = 8 + (size_t)(mix64(id) % 40);
	uint64_t index, term;
	int rv;
	put64(buf, id);
	for (size_t i = 8; i < len; i++)
		buf[i] = (uint8_t)(id * 31 + i);
	rv = raft_propose(n->r, buf, len, &index, &term);
	if (rv == RAFT_OK && !(id & SIM_PROBE_BIT) &&
	    n->n_pwrites < SIM_PWRITES_MAX) {
		if (n->n_pwrites == n->cap_pwrites) {
			n->cap_pwrites = n->cap_pwrites ? 2 * n->cap_pwrites
							: 16;
			n->pwrites = xrealloc(n->pwrites, n->cap_pwrites *
							  sizeof(*n->pwrites));
		}
		n->pwrites[n->n_pwrites].id = id;
		n->pwrites[n->n_pwrites].index = index;
		n->pwrites[n->n_pwrites].term = term;
		n->n_pwrites++;
	}
	return rv;
}

static void chaos_clients(struct sim *s)
{
	/* Writes stop when the faults do: the liveness probe is then the
	 * one fresh proposal. A client keeps a bounded number of writes
	 * outstanding. */
	if (!s->healing && rng_chance(&s->rng, s->p_propose)) {
		struct node *l = any_leader(s);
		unsigned k = rng_chance(&s->rng, s->p_burst)
			     ? (unsigned)rng_range(&s->rng, 8, 100) : 1;
		for (unsigned i = 0; l != NULL && i < k; i++) {
			if (raft_last_index(l->r) - raft_commit_index(l->r) >=
			    SIM_BACKLOG_MAX)
				break;
			if (propose_write(l, ++s->next_write) != RAFT_OK)
				break;
			s->stats.proposed++;
		}
	}
	if (rng_chance(&s->rng, s->p_read)) {
		struct node *n = random_alive(s);
		uint64_t ctx = ++s->next_ctx;
		if (n != NULL && s->opt.stale_reads) {
			/* The application bug of the self-test: a local read
			 * that skips ReadIndex. */
			s->stats.reads_started++;
			s->stats.reads_served++;
			checker_read_served(s->ck, n->id, ctx,
					    checker_read_begin(s->ck),
					    n->sm.applied);
		} else if (n != NULL && raft_read_index(n->r, ctx) == RAFT_OK) {
			struct pread *p;
			if (n->n_preads == SIM_PREADS_MAX) {
				/* The oldest never came back: its client gave
				 * up on it. */
				memmove(n->preads, n->preads + 1,
					(SIM_PREADS_MAX - 1) * sizeof(*p));
				n->n_preads--;
			}
			p = &n->preads[n->n_preads++];
			p->ctx = ctx;
			p->token = checker_read_begin(s->ck);
			p->index = 0;
			p->has_index = false;
			s->stats.reads_started++;
		}
	}
}

static void chaos_compact(struct sim *s)
{
	for (unsigned id = 1; id <= s->max_id; id++) {
		struct node *n = &s->nodes[id];
		uint8_t data[SIM_SNAP_LEN];
		int rv;
		/* Only what the store holds: the early reports of
		 * --async-ack-early let a leader apply entries that are
		 * still in its write queue. */
		if (!n->alive ||
		    n->sm.applied < raft_snapshot(n->r)->index + s->compact_gap ||
		    n->sm.applied > store_last(&n->st) ||
		    !rng_chance(&s->rng, s->p_compact))
			continue;
		rv = raft_compact(n->r, n->sm.applied);
		if (rv != RAFT_OK) {
			checker_fail(s->ck, "contract",
				     "node %" PRIu64 " cannot compact to its "
				     "applied index %" PRIu64 ": %s", n->id,
				     n->sm.applied, raft_strerror(rv));
			continue;
		}
		sm_serialize(&n->sm, data);
		store_set_snapshot(&n->st, raft_snapshot(n->r), data,
				   sizeof(data), true);
		s->stats.compactions++;
		vlog(s, "node %" PRIu64 " compacted its log to index %" PRIu64,
		     n->id, n->sm.applied);
	}
}

static void partition_show(struct sim *s)
{
	uint64_t g[2][SIM_IDS_MAX];
	size_t k[2] = { 0, 0 };
	char a[64], b[64];
	for (unsigned id = 1; id <= s->max_id; id++)
		if (s->nodes[id].exists) {
			int side = s->nodes[id].group;
			g[side][k[side]++] = id;
		}
	vlog(s, "partition %s | %s", ids_str(a, sizeof(a), g[0], k[0]),
	     ids_str(b, sizeof(b), g[1], k[1]));
}

static void chaos_partition(struct sim *s)
{
	uint64_t ids[SIM_IDS_MAX];
	size_t n = 0;
	unsigned kind = rng_chance(&s->rng, s->p_isolate_leader)
			? 1 : (unsigned)rng_below(&s->rng, 3);
	struct node *l = top_leader(s);
	for (unsigned id = 1; id <= s->max_id; id++)
		if (s->nodes[id].exists)
			ids[n++] = id;
	if (n < 2)
		return;
	for (size_t i = 0; i < n; i++)
		s->nodes[ids[i]].group = 0;
	if (kind == 0 || (kind == 1 && l == NULL)) {
		s->nodes[ids[rng_below(&s->rng, n)]].group = 1;
	} else if (kind == 1) {
		/* The leader, perhaps with one follower, on the small side. */
		l->group = 1;
		if (n >= 5 && rng_chance(&s->rng, 0.5))
			s->nodes[ids[rng_below(&s->rng, n)]].group = 1;
	} else {
		size_t ones = 0;
		for (size_t i = 0; i < n; i++) {
			s->nodes[ids[i]].group = (int)rng_below(&s->rng, 2);
			ones += (size_t)s->nodes[ids[i]].group;
		}
		if (ones == 0 || ones == n)
			s->nodes[ids[rng_below(&s->rng, n)]].group ^= 1;
	}
	s->partitioned = true;
	s->heal_at = tick_now(s) + rng_range(&s->rng, 5, s->partition_max);
	s->stats.partitions++;
	partition_show(s);
}

static void chaos_crash(struct sim *s, struct node *n, const char *why)
{
	if (n == NULL || !n->alive)
		return;
	node_crash(s, n, why, true);
}

static void chaos_conf(struct sim *s)
{
	struct {
		enum raft_conf_op op;
		uint64_t id;
	} ops[3 * SIM_IDS_MAX];
	size_t k = 0, pick;
	struct node *l = top_leader(s);
	const struct raft_conf *c;
	uint64_t index;
	char buf[160];
	static const char *const names[] = {
		[RAFT_CONF_ADD_LEARNER] = "add learner",
		[RAFT_CONF_ADD_VOTER] = "add voter",
		[RAFT_CONF_REMOVE] = "remove",
	};
	int rv;
	if (l == NULL)
		return;
	c = raft_conf(l->r);
	for (unsigned id = 1; id <= s->max_id; id++) {
		bool voter = raft_conf_is_voter(c, id);
		bool learner = raft_conf_is_learner(c, id);
		if (voter && c->n_voters > 2) {
			ops[k].op = RAFT_CONF_REMOVE;
			ops[k++].id = id;
		}
		if (learner) {
			if (c->n_voters < 5) {
				ops[k].op = RAFT_CONF_ADD_VOTER;
				ops[k++].id = id;
				ops[k].op = RAFT_CONF_ADD_VOTER;
				ops[k++].id = id;
			}
			ops[k].op = RAFT_CONF_REMOVE;
			ops[k++].id = id;
		}
		/* A removed node comes back with its store, which says it
		 * is a voter: until it learns better it campaigns, and
		 * only PreVote or CheckQuorum keep that from disrupting
		 * the cluster (thesis 4.2.3). Its id is never reused with
		 * an empty store: it could vote twice in a term. */
		if (!voter && !learner && s->nodes[id].retired &&
		    !s->cfg.pre_vote && !s->cfg.check_quorum)
			continue;
		if (!voter && !learner) {
			ops[k].op = RAFT_CONF_ADD_LEARNER;
			ops[k++].id = id;
			if (c->n_voters < 5 && rng_chance(&s->rng, 0.15)) {
				ops[k].op = RAFT_CONF_ADD_VOTER;
				ops[k++].id = id;
			}
		}
	}
	if (k == 0)
		return;
	pick = (size_t)rng_below(&s->rng, k);
	rv = raft_propose_conf_change(l->r, ops[pick].op, ops[pick].id, &index);
	if (rv != RAFT_OK)
		return;
	s->stats.conf_changes++;
	vlog(s, "leader %" PRIu64 " proposes %s %" PRIu64 " at index %" PRIu64
	     " (now %s)", l->id, names[ops[pick].op], ops[pick].id, index,
	     conf_str(buf, sizeof(buf), c));
	if (!s->nodes[ops[pick].id].exists) {
		struct node *n = &s->nodes[ops[pick].id];
		node_start(s, n);
		vlog(s, "node %" PRIu64 " started with an empty store", n->id);
	} else if (s->nodes[ops[pick].id].retired &&
		   ops[pick].op != RAFT_CONF_REMOVE) {
		struct node *n = &s->nodes[ops[pick].id];
		n->retired = false;
		if (!n->alive)
			node_restart(s, n, "restarts from its store to rejoin");
	}
}

static void chaos_transfer(struct sim *s)
{
	struct node *l = top_leader(s);
	const struct raft_conf *c;
	uint64_t target;
	if (l == NULL)
		return;
	c = raft_conf(l->r);
	if (c->n_voters < 2)
		return;
	target = c->voters[rng_below(&s->rng, c->n_voters)];
	if (target == l->id)
		return;
	if (raft_transfer_target(l->r) != target &&
	    raft_transfer_leadership(l->r, target) == RAFT_OK) {
		s->stats.transfers++;
		vlog(s, "leader %" PRIu64 " transfers leadership to node %"
		     PRIu64, l->id, target);
	}
}

/* How long healing may take: elections (a generous number of election
 * timeouts), then catching up the voters furthest behind, at the rate the
 * flow control allows (entries per round trip), and backtracking over
 * conflicting terms (one round trip per term at worst). */
static unsigned liveness_bound(const struct sim *s)
{
	uint64_t last = 0, low = UINT64_MAX, term = 0;
	uint64_t per_msg = s->cfg.max_msg_bytes / 48;
	uint64_t pipe, rtt, lag;
	for (unsigned id = 1; id <= s->max_id; id++) {
		const struct node *n = &s->nodes[id];
		if (!n->alive)
			continue;
		if (raft_last_index(n->r) > last)
			last = raft_last_index(n->r);
		if (raft_commit_index(n->r) < low)
			low = raft_commit_index(n->r);
		if (raft_term(n->r) > term)
			term = raft_term(n->r);
	}
	if (per_msg > s->cfg.max_msg_entries)
		per_msg = s->cfg.max_msg_entries;
	if (per_msg == 0)
		per_msg = 1;
	pipe = per_msg * s->cfg.max_inflight;
	rtt = (2 * s->delay_max + s->disk_delay_max + s->bg_delay_max) /
	      SIM_UNITS + 2;
	lag = last > low ? last - low : 0;
	return (unsigned)(100 + 40 * s->cfg.election_ticks +
			  rtt * (lag / pipe + term + 10));
}

static void heal_all(struct sim *s)
{
	s->faults = false;
	s->healing = true;
	s->heal_tick = tick_now(s);
	vlog(s, "--- faults off: the network heals, crashed nodes restart ---");
	s->partitioned = false;
	for (unsigned id = 1; id <= s->max_id; id++) {
		struct node *n = &s->nodes[id];
		if (n->exists && !n->alive && !n->retired) {
			node_restart(s, n, "restarted");
		}
	}
	s->live_bound = liveness_bound(s);
	vlog(s, "liveness: a leader must commit a fresh proposal on every "
	     "voter within %u ticks", s->live_bound);
}

/* After healing: a leader must commit a fresh proposal on every voter. */
static void liveness(struct sim *s)
{
	struct node *l = top_leader(s);
	const struct raft_conf *c;
	char buf[160];
	if (l == NULL)
		return;
	if (s->probe_term != raft_term(l->r) || s->probe_node != l->id) {
		uint64_t id = SIM_PROBE_BIT | ++s->next_write;
		if (propose_write(l, id) == RAFT_OK) {
			s->probe_term = raft_term(l->r);
			s->probe_node = l->id;
		}
	}
	if (s->probe_committed == 0)
		return;
	c = raft_conf(l->r);
	for (uint32_t i = 0; i < c->n_voters; i++) {
		const struct node *v = &s->nodes[c->voters[i]];
		if (!v->alive || v->sm.applied < s->probe_committed)
			return;
	}
	s->live_ok = true;
	s->stats.liveness_ticks = tick_now(s) - s->heal_tick;
	vlog(s, "liveness: leader %" PRIu64 " (term %" PRIu64 ") committed a "
	     "fresh proposal at index %" PRIu64 " on all voters, %" PRIu64
	     " ticks after healing; %s", l->id, raft_term(l->r),
	     s->probe_committed, s->stats.liveness_ticks,
	     conf_str(buf, sizeof(buf), c));
}

static void status_line(struct sim *s)
{
	struct node *l = top_leader(s);
	uint64_t up[SIM_IDS_MAX];
	size_t k = 0;
	char b[64];
	for (unsigned id = 1; id <= s->max_id; id++)
		if (s->nodes[id].alive)
			up[k++] = id;
	if (l != NULL)
		vlog(s, "status: leader %" PRIu64 " term %" PRIu64 ", commit %"
		     PRIu64 ", %" PRIu64 " writes acknowledged, %" PRIu64
		     " reads served, up %s", l->id, raft_term(l->r),
		     raft_commit_index(l->r), s->stats.acked,
		     s->stats.reads_served, ids_str(b, sizeof(b), up, k));
	else
		vlog(s, "status: no leader, %" PRIu64 " writes acknowledged, up"
		     " %s", s->stats.acked, ids_str(b, sizeof(b), up, k));
}

static void handle_chaos(struct sim *s)
{
	uint64_t tick = tick_now(s);
	struct event ev = { 0 };
	ev.at = s->now + SIM_UNITS;
	ev.type = EV_CHAOS;
	ev_push(s, ev);

	if (s->faults && tick >= s->fault_ticks)
		heal_all(s);
	for (size_t i = 0; i < s->n_retire; i++) {
		struct node *n = &s->nodes[s->retire[i]];
		const struct node *l = top_leader(s);
		/* Unless it was added back meanwhile. */
		if (l != NULL && (raft_conf_is_voter(raft_conf(l->r), n->id) ||
				  raft_conf_is_learner(raft_conf(l->r), n->id)))
			continue;
		if (n->alive)
			node_crash(s, n, " -- shut down, as it was removed",
				   false);
		n->retired = true;
		n->restart_at = 0;
	}
	s->n_retire = 0;
	for (unsigned id = 1; id <= s->max_id; id++) {
		struct node *n = &s->nodes[id];
		if (n->exists && !n->alive && n->restart_at != 0 &&
		    n->restart_at <= tick) {
			node_restart(s, n, "restarted");
		}
	}
	chaos_clients(s);
	if (s->faults) {
		if (s->partitioned && tick >= s->heal_at) {
			s->partitioned = false;
			vlog(s, "partition healed");
		}
		if (!s->partitioned && rng_chance(&s->rng, s->p_partition))
			chaos_partition(s);
		if (rng_chance(&s->rng, s->p_crash))
			chaos_crash(s, rng_chance(&s->rng, 0.3) ? top_leader(s)
							       : random_alive(s),
				    "");
		if (rng_chance(&s->rng, s->p_fig8)) {
			/* Figure 8: a leader dies having replicated only
			 * part of its log. */
			struct node *l = top_leader(s);
			if (l != NULL &&
			    raft_last_index(l->r) > raft_commit_index(l->r))
				chaos_crash(s, l, " holding uncommitted entries");
		}
		if (rng_chance(&s->rng, s->p_conf))
			chaos_conf(s);
		if (rng_chance(&s->rng, s->p_transfer))
			chaos_transfer(s);
		if (rng_chance(&s->forge_rng, 0.05))
			chaos_forge(s);
	}
	chaos_compact(s);
	if (s->healing)
		liveness(s);
	if (s->opt.verbose && tick % 100 == 0 && tick > 0)
		status_line(s);
}

/* ---------------------------------------------------------------------- */
/* Checks after every step. */

/* Schedules a crash of n's current incarnation in lo..hi units, or at its
 * next Ready, between persisting and sending. */
static void crash_soon(struct sim *s, struct node *n, unsigned lo,
		       unsigned hi, const char *why)
{
	struct event ev = { 0 };
	if (rng_chance(&s->rng, 0.5)) {
		n->crash_at_ready = true;
		return;
	}
	ev.at = s->now + rng_range(&s->rng, lo, hi);
	ev.type = EV_CRASH;
	ev.node = n->id;
	ev.incarnation = n->incarnation;
	ev.why = why;
	ev_push(s, ev);
}

static void check_node(struct sim *s, struct node *n)
{
	struct raft *r = n->r;
	uint64_t commit = raft_commit_index(r), term = raft_term(r);
	enum raft_role role = raft_role(r);
	bool advanced = commit > n->commit_seen;

	checker_commit_index(s->ck, n->id, n->commit_seen, commit);
	n->commit_seen = commit;
	for (uint64_t i = n->commit_recorded + 1; i <= commit; i++) {
		const struct raft_entry *e = raft_log_entry(r, i);
		if (e != NULL)
			checker_commit(s->ck, n->id, i, e->term, entry_hash(e),
				       term);
	}
	if (commit > n->commit_recorded)
		n->commit_recorded = commit;
	if (commit > s->stats.committed)
		s->stats.committed = commit;
	if (term > s->stats.max_term)
		s->stats.max_term = term;

	if (role == RAFT_LEADER && n->role_seen == RAFT_LEADER &&
	    n->term_seen == term && advanced && s->faults &&
	    rng_chance(&s->rng, s->p_fig8_commit))
		crash_soon(s, n, 0, SIM_UNITS / 2,
			   " right after its commit index moved");
	if (role == RAFT_LEADER) {
		struct checker_log v;
		checker_leader(s->ck, n->id, term);
		log_view(r, &v);
		checker_leader_log(s->ck, n->id, term, &v);
		if (n->role_seen != RAFT_LEADER || n->term_seen != term) {
			char buf[160];
			s->stats.elections++;
			/* Figure 8: a new leader that dies soon, having
			 * replicated part of its log, old-term entries
			 * included. */
			if (s->faults &&
			    rng_chance(&s->rng, s->p_fig8_elected))
				crash_soon(s, n, 1, 2 * SIM_UNITS,
					   " soon after its election");
			vlog(s, "node %" PRIu64 " became leader term %" PRIu64
			     " (log %" PRIu64 "..%" PRIu64 ", commit %" PRIu64
			     ", %s)", n->id, term, raft_first_index(r),
			     raft_last_index(r), commit,
			     conf_str(buf, sizeof(buf), raft_conf(r)));
		}
	} else if (n->role_seen == RAFT_LEADER) {
		vlog(s, "node %" PRIu64 " stepped down (term %" PRIu64 ")",
		     n->id, term);
	}
	n->role_seen = role;
	n->term_seen = term;
}

static void check_all(struct sim *s)
{
	for (unsigned id = 1; id <= s->max_id; id++) {
		struct node *n = &s->nodes[id];
		if (n->alive)
			check_node(s, n);
	}
}

/* The end of a run: every pair of logs against each other. */
static void check_final(struct sim *s)
{
	for (unsigned a = 1; a <= s->max_id; a++) {
		struct checker_log la, lb;
		if (!s->nodes[a].alive)
			continue;
		log_view(s->nodes[a].r, &la);
		for (unsigned b = a + 1; b <= s->max_id; b++) {
			if (!s->nodes[b].alive)
				continue;
			log_view(s->nodes[b].r, &lb);
			checker_log_pair(s->ck, a, &la, b, &lb);
		}
	}
}

/* ---------------------------------------------------------------------- */
/* Set-up and the main loop. */

static void choose_parameters(struct sim *s)
{
	struct rng *g = &s->rng;
	static const size_t inflight[] = { 1, 2, 4, 16, 256 };
	static const size_t msg_entries[] = { 1, 2, 3, 8, 64 };
	/* calm, rough, nasty, and "figure 8": leaders that fail soon
	 * after their election, having replicated part of their log one
	 * entry at a time (Raft paper, figure 8). */
	static const char *const levels[] = { "calm", "rough", "nasty",
					      "figure-8" };
	unsigned level = (unsigned)rng_below(g, 4);

	s->n_founders = s->opt.nodes ? s->opt.nodes
				     : (rng_chance(g, 0.5) ? 3 : 5);
	s->max_id = s->n_founders + 2;
	raft_config_default(&s->cfg, 1, 0);
	s->cfg.election_ticks = (unsigned)rng_range(g, 5, 12);
	s->cfg.heartbeat_ticks = (unsigned)rng_range(g, 1, 3);
	s->cfg.pre_vote = rng_chance(g, 0.8);
	s->cfg.check_quorum = rng_chance(g, 0.8);
	s->cfg.max_inflight = inflight[rng_below(g, 5)];
	s->cfg.max_msg_entries = msg_entries[rng_below(g, 5)];
	s->cfg.max_msg_bytes = rng_chance(g, 0.5) ? 128 : 1 << 20;

	s->delay_max = (unsigned)rng_range(g, 2, 4 * SIM_UNITS);
	s->disk_delay_max = (unsigned)rng_range(g, 0, SIM_UNITS / 2);
	s->p_drop = level == 0 ? 0.01 : 0.02 + 0.1 * level * rng_chance(g, 0.7);
	s->p_dup = 0.05 * level;
	s->p_propose = 0.2 + 0.6 * (double)rng_below(g, 100) / 100.0;
	s->p_burst = 0.03;
	s->p_read = 0.3;
	s->p_crash = 0.004 + 0.008 * level;
	s->p_partition = 0.004 + 0.01 * level;
	s->p_conf = 0.01 + 0.01 * level;
	s->p_transfer = 0.005 + 0.005 * level;
	s->p_fig8 = 0.004 * level;
	s->p_fig8_elected = level == 2 ? 0.3 : 0.05 * level;
	s->p_mid_crash = 0.0005 * level;
	s->p_compact = 0.2;
	s->compact_gap = (unsigned)rng_range(g, 5, 80);
	s->partition_max = 120;
	s->restart_max = 80;
	if (level == 3) {
		/* One entry per APPEND: a quorum's match index can stop on
		 * an entry of an older term. */
		s->cfg.max_msg_entries = 1;
		s->p_drop = 0.03;
		s->p_dup = 0.02;
		s->p_crash = 0.005;
		s->p_partition = 0.05;
		s->p_isolate_leader = 0.7;
		s->partition_max = 30;
		s->restart_max = 20;
		s->p_conf = 0.005;
		s->p_fig8 = 0.02;
		s->p_fig8_elected = 0.5;
		s->p_fig8_commit = 0.5;
		s->p_mid_crash = 0.01;
	}
	s->fault_ticks = s->opt.fault_ticks ? s->opt.fault_ticks
					    : SIM_DEFAULT_FAULT_TICKS;
	/* Leaders' background writes (async_leader_persist) in half the
	 * runs, chosen by a generator of its own: a synchronous run is
	 * draw for draw what it was before the mode existed. The disk may
	 * take longer than a round trip to the followers. */
	{
		struct rng m;
		rng_seed(&m, s->opt.seed ^ 0x434e595341ULL);  /* "ASYNC" */
		s->cfg.async_leader_persist = rng_chance(&m, 0.5);
	}
	if (s->opt.writes != SIM_WRITES_SEED)
		s->cfg.async_leader_persist = s->opt.writes == SIM_WRITES_ASYNC;
	if (s->opt.async_ack_early)
		s->cfg.async_leader_persist = true;
	if (s->cfg.async_leader_persist)
		s->bg_delay_max = (unsigned)rng_range(g, 1, 8 * SIM_UNITS);
	s->stats.async_writes = s->cfg.async_leader_persist;

	if (s->opt.verbose)
		fprintf(s->out,
			"seed %" PRIu64 ": %u nodes, election %u ticks, "
			"heartbeat %u, pre-vote %s, check-quorum %s, inflight "
			"%zu, %zu entries/msg; network drop %.0f%% dup %.0f%% "
			"delay <= %.1f ticks; %s faults for %u ticks\n",
			s->opt.seed, s->n_founders, s->cfg.election_ticks,
			s->cfg.heartbeat_ticks, s->cfg.pre_vote ? "on" : "off",
			s->cfg.check_quorum ? "on" : "off",
			s->cfg.max_inflight, s->cfg.max_msg_entries,
			100 * s->p_drop, 100 * s->p_dup,
			(double)s->delay_max / SIM_UNITS,
			levels[level],
			s->fault_ticks);
	if (s->opt.verbose && s->cfg.async_leader_persist)
		fprintf(s->out, "leaders write in the background "
			"(async_leader_persist), disk delay <= %.1f ticks\n",
			(double)s->bg_delay_max / SIM_UNITS);
}

static void sim_init(struct sim *s, const struct sim_options *opt)
{
	memset(s, 0, sizeof(*s));
	s->opt = *opt;
	s->out = opt->out != NULL ? opt->out : stdout;
	rng_seed(&s->rng, opt->seed);
	rng_seed(&s->forge_rng, opt->seed ^ 0x464f524745ULL);
	s->ck = checker_new();
	choose_parameters(s);
	s->faults = true;
	for (unsigned id = 1; id < SIM_IDS_MAX; id++) {
		s->nodes[id].id = id;
		s->nodes[id].founder = id <= s->n_founders;
	}
	s->stats.nodes = s->n_founders;
	for (unsigned id = 1; id <= s->max_id; id++) {
		struct event ev = { 0 };
		ev.at = 1 + rng_below(&s->rng, SIM_UNITS - 1);
		ev.type = EV_TICK;
		ev.node = id;
		ev_push(s, ev);
	}
	for (unsigned id = 1; id <= s->n_founders; id++)
		node_start(s, &s->nodes[id]);
	s->conf_index_done = s->n_founders;
	vlog(s, "nodes 1..%u bootstrap the cluster as its voters",
	     s->n_founders);
	{
		struct event ev = { 0 };
		ev.type = EV_CHAOS;
		ev_push(s, ev);
	}
}

static void sim_fini(struct sim *s)
{
	for (size_t i = 0; i < s->n_heap; i++)
		msg_free(s->heap[i].msg);
	free(s->heap);
	for (unsigned id = 1; id < SIM_IDS_MAX; id++) {
		struct node *n = &s->nodes[id];
		raft_free(n->r);
		store_free(&n->st);
		free(n->pwrites);
		node_reset_volatile(n);
		free(n->bg);
	}
	checker_free(s->ck);
}

static void summary(struct sim *s)
{
	const struct sim_stats *st = &s->stats;
	FILE *o = s->out;
	fprintf(o, "summary of seed %" PRIu64 ": %u nodes, %" PRIu64
		" ticks, %" PRIu64 " steps\n", s->opt.seed, st->nodes,
		st->ticks, st->steps);
	fprintf(o, "  elections: %" PRIu64 " leaders, highest term %" PRIu64
		", %" PRIu64 " leadership transfers asked\n", st->elections,
		st->max_term, st->transfers);
	fprintf(o, "  log: commit index %" PRIu64 ", %" PRIu64 " writes "
		"proposed, %" PRIu64 " acknowledged; %" PRIu64 " reads asked, %"
		PRIu64 " served\n", st->committed, st->proposed, st->acked,
		st->reads_started, st->reads_served);
	fprintf(o, "  faults: %" PRIu64 " crashes (%" PRIu64 " unpersisted "
		"entries lost), %" PRIu64 " restarts, %" PRIu64 " partitions; %"
		PRIu64 " messages sent, %" PRIu64 " dropped, %" PRIu64
		" duplicated\n", st->crashes, st->lost_entries, st->restarts,
		st->partitions, st->msgs_sent, st->msgs_dropped,
		st->msgs_duplicated);
	if (st->async_writes)
		fprintf(o, "  leaders' background writes made durable: %"
			PRIu64 "\n", st->bg_writes);
	fprintf(o, "  forged peer messages: %" PRIu64 " (ignored or refused)\n",
		st->forged);
	fprintf(o, "  membership: %" PRIu64 " changes; snapshots: %" PRIu64
		" compactions, %" PRIu64 " sent, %" PRIu64 " installed\n",
		st->conf_changes, st->compactions, st->snapshots_sent,
		st->snapshots_installed);
	if (s->live_ok)
		fprintf(o, "  liveness: a fresh proposal committed on every "
			"voter %" PRIu64 " ticks after healing\n",
			st->liveness_ticks);
	fprintf(o, "  violations: %zu%s%s\n", checker_violations(s->ck),
		checker_violations(s->ck) ? " -- first: " : "",
		checker_violations(s->ck) ? checker_first_violation(s->ck)
					  : "");
}

uint64_t sim_run(const struct sim_options *opt, struct sim_result *res)
{
	struct sim *s = xmalloc(sizeof(*s));
	uint64_t step = 0, v;
	sim_init(s, opt);
	while (!s->stop && s->n_heap > 0) {
		struct event ev = ev_pop(s);
		struct node *n = ev.node < SIM_IDS_MAX ? &s->nodes[ev.node]
						       : NULL;
		s->now = ev.at;
		checker_set_step(s->ck, ++step, s->now / SIM_UNITS);
		switch (ev.type) {
		case EV_CHAOS:
			handle_chaos(s);
			break;
		case EV_TICK:
			ev.at += SIM_UNITS;
			ev_push(s, ev);
			if (n->alive)
				raft_tick(n->r);
			break;
		case EV_READY:
			if (n->alive && n->incarnation == ev.incarnation)
				handle_ready(s, n);
			break;
		case EV_MSG:
			handle_msg(s, &ev);
			msg_free(ev.msg);
			break;
		case EV_CRASH:
			if (n->alive && n->incarnation == ev.incarnation &&
			    s->faults)
				chaos_crash(s, n, ev.why);
			break;
		case EV_WRITE:
			if (n->alive && n->incarnation == ev.incarnation)
				handle_write(s, n, ev.bg_seq);
			break;
		}
		if (s->stop)
			break;
		check_all(s);
		for (unsigned id = 1; id <= s->max_id; id++)
			node_poke(s, &s->nodes[id]);
		if (checker_violations(s->ck) > 0)
			break;
		if (s->live_ok)
			break;
		if (s->healing && tick_now(s) > s->heal_tick + s->live_bound) {
			struct node *l = top_leader(s);
			checker_fail(s->ck, "liveness",
				     "%u ticks after healing, %s", s->live_bound,
				     l == NULL ? "there is no leader"
					       : "no fresh proposal has "
						 "committed on every voter");
			break;
		}
	}
	if (checker_violations(s->ck) == 0)
		check_final(s);
	s->stats.steps = step;
	s->stats.ticks = s->now / SIM_UNITS;
	if (s->opt.verbose)
		summary(s);
	memset(res, 0, sizeof(*res));
	res->violations = v = checker_violations(s->ck);
	if (v > 0)
		snprintf(res->first, sizeof(res->first), "%s",
			 checker_first_violation(s->ck));
	res->stats = s->stats;
	sim_fini(s);
	free(s);
	return v;
}
