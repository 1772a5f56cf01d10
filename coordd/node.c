/*
 * coordd/node.c: the Ready loop that ties raft/, coordd/store/ and
 * coordd/fsm/ together (see node.h). No sockets and no event loop here:
 * the only outside calls are the store's (LevelDB, through store/) and
 * the monotonic clock that times fsyncs for /metrics.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coordd/failpoint.h"
#include "coordd/node.h"
#include "coordd/store/store.h"
#include "proto/assert.h"
#include "proto/buf.h"
#include "proto/errors.h"
#include "proto/limits.h"

/* Waiter lists. */
enum {
	W_NONE = 0,
	W_PROPOSAL,     /* by index, ascending */
	W_READ_NEW,     /* waiting for the next ReadIndex round */
	W_READ_SENT,    /* its round is out: read_ctx names it */
	W_READ_INDEX,   /* confirmed: waits for applied >= index */
	W_LISTS,
};

struct wlist {
	struct node_waiter *head;
	struct node_waiter *tail;
};

/* A proposal or configuration change asked for by a callback that runs
 * inside a Ready (Raft takes none there); made right after raft_advance(). */
struct deferred {
	struct deferred *next;
	struct node_waiter *w;
	node_done_fn done;
	void *ctx;
	bool conf;
	enum raft_conf_op op;
	uint64_t id;
	size_t len;
	uint8_t data[];
};

struct node {
	struct node_config cfg;
	struct raft *raft;
	struct store *store;
	struct fsm *fsm;
	uint64_t fsm_generation;    /* node_fsm_generation() */
	struct wlist lists[W_LISTS];
	uint64_t read_ctx_next;
	struct store_snapshot_install *install;
	uint64_t install_from;      /* the stream being staged */
	uint64_t install_index;
	uint64_t install_term;
	uint64_t install_offset;    /* bytes staged so far */
	bool install_done;          /* its last chunk arrived */
	bool install_pinned;        /* its SNAPSHOT was stepped: no other
				     * stream may replace it before the
				     * next Ready */
	unsigned install_idle_ticks;    /* since its last chunk */
	uint64_t leader_seen;
	bool members_changed;
	bool in_ready;              /* between raft_ready() and raft_advance() */
	/* Transport feedback that arrived inside a Ready, for after it. */
	struct {
		uint64_t id;
		int what;           /* 0 unreachable, 1 snapshot ok, 2 failed,
				     * 3 leader lost */
	} reports[64];
	size_t n_reports;
	struct deferred *deferred;      /* proposals made inside a Ready */
	struct deferred **deferred_tail;
	struct node_stats stats;
	char name[64];
};

static void node_logf(struct node *n, enum node_log_level level,
		      const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void node_logf(struct node *n, enum node_log_level level,
		      const char *fmt, ...)
{
	static const char *const names[] = { "debug", "info", "warn", "error" };
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n->cfg.log != NULL)
		n->cfg.log(n->cfg.log_ctx, level, msg);
	else
		fprintf(stderr, "level=%s node=%s %s\n", names[level], n->name,
			msg);
}

/* ---------------------------------------------------------------------- */
/* Waiters. */

static void wlist_push(struct node *n, int list, struct node_waiter *w)
{
	struct wlist *l = &n->lists[list];

	w->list = list;
	w->next = NULL;
	w->prev = l->tail;
	if (l->tail != NULL)
		l->tail->next = w;
	else
		l->head = w;
	l->tail = w;
}

static void wlist_remove(struct node *n, struct node_waiter *w)
{
	struct wlist *l = &n->lists[w->list];

	COORD_ASSERT(w->list > W_NONE && w->list < W_LISTS);
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		l->head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	else
		l->tail = w->prev;
	w->next = w->prev = NULL;
	w->list = W_NONE;
}

/* Inserts w in a list kept in ascending index order (appends are the
 * common case: proposals and read indexes mostly rise). */
static void wlist_insert_sorted(struct node *n, int list,
				struct node_waiter *w)
{
	struct wlist *l = &n->lists[list];
	struct node_waiter *at = l->tail;

	while (at != NULL && at->index > w->index)
		at = at->prev;
	if (at == l->tail) {
		wlist_push(n, list, w);
		return;
	}
	w->list = list;
	w->prev = at;
	w->next = at != NULL ? at->next : l->head;
	w->next->prev = w;
	if (at != NULL)
		at->next = w;
	else
		l->head = w;
}

static void waiter_done(struct node *n, struct node_waiter *w, int code,
			const uint8_t *reply, size_t len)
{
	wlist_remove(n, w);
	w->done(w->ctx, code, reply, len);
}

void node_waiter_cancel(struct node *n, struct node_waiter *w)
{
	if (w->list != W_NONE) {
		wlist_remove(n, w);
		return;
	}
	for (struct deferred **pp = &n->deferred; *pp != NULL;
	     pp = &(*pp)->next) {
		struct deferred *d = *pp;

		if (d->w == w) {
			*pp = d->next;
			if (*pp == NULL)
				n->deferred_tail = pp;
			free(d);
			return;
		}
	}
}

static void fail_list(struct node *n, int list, int code)
{
	while (n->lists[list].head != NULL)
		waiter_done(n, n->lists[list].head, code, NULL, 0);
}

/* ---------------------------------------------------------------------- */
/* Life cycle. */

void node_config_default(struct node_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->name = "default";
	cfg->id = 1;
	cfg->data_dir = "coordd.data";
	cfg->election_ticks = 10;
	cfg->heartbeat_ticks = 1;
	cfg->seed = 1;
	cfg->snapshot_entries = 10000;
	cfg->request_ticks = 30;
	fsm_config_default(&cfg->fsm);
	cfg->store_compression = false;
	cfg->snapshot_bytes_max = NODE_SNAPSHOT_BYTES_MAX_DEFAULT;
}

static void store_log_cb(void *ctx, enum store_log_level level,
			 const char *msg)
{
	node_logf(ctx, level == STORE_LOG_WARN ? NODE_LOG_WARN : NODE_LOG_INFO,
		  "store: %s", msg);
}

static int fsm_open(struct node *n)
{
	struct fsm_config fc = n->cfg.fsm;

	fc.alloc = NULL;
	return fsm_new(&fc, store_fsm_backend(n->store), &n->fsm);
}

int node_open(const struct node_config *cfg, struct node **out, char *err,
	      size_t errlen)
{
	struct node *n;
	struct store_options so;
	struct store_restore rs;
	struct raft_config rc;
	int rc_code;

	*out = NULL;
	if (cfg->id == 0 || cfg->election_ticks < 2 ||
	    cfg->heartbeat_ticks == 0 ||
	    cfg->heartbeat_ticks >= cfg->election_ticks ||
	    cfg->snapshot_entries == 0 || cfg->request_ticks == 0 ||
	    cfg->transport.send == NULL) {
		snprintf(err, errlen, "invalid node configuration");
		return COORD_EINVAL;
	}
	n = calloc(1, sizeof(*n));
	if (n == NULL) {
		snprintf(err, errlen, "out of memory");
		return COORD_ENOMEM;
	}
	n->cfg = *cfg;
	snprintf(n->name, sizeof(n->name), "%s", cfg->name);

	store_options_default(&so);
	so.compression = cfg->store_compression;
	/* A 64 MiB memtable: under a write load the fsm writes tens of MB
	 * a second, and LevelDB's default 4 MiB means a flush and its
	 * compactions several times a second. */
	so.write_buffer_bytes = 64u << 20;
	/* A chunk and its frame fit in one peer frame (proto/limits.h). */
	so.snapshot_chunk_bytes = COORD_SNAPSHOT_CHUNK_BYTES_MAX / 2;
	so.log = store_log_cb;
	so.log_ctx = n;
	rc_code = store_open(cfg->data_dir, &so, &n->store, &rs);
	if (rc_code != COORD_OK) {
		snprintf(err, errlen, "%s", rs.errmsg);
		store_restore_close(&rs);
		free(n);
		return rc_code;
	}
	raft_config_default(&rc, cfg->id, cfg->seed);
	rc.election_ticks = cfg->election_ticks;
	rc.heartbeat_ticks = cfg->heartbeat_ticks;
	rc.max_entry_bytes = COORD_CMD_BYTES_MAX;
	rc.async_leader_persist = cfg->async_log;
	rc_code = raft_new(&rc, &rs.raft, &n->raft);
	store_restore_close(&rs);
	if (rc_code != RAFT_OK) {
		snprintf(err, errlen, "restoring raft from %s: %s",
			 cfg->data_dir, raft_strerror(rc_code));
		node_close(n);
		return rc_code == RAFT_ENOMEM ? COORD_ENOMEM : COORD_ECORRUPT;
	}
	if (cfg->n_voters > 0 && raft_last_index(n->raft) == 0) {
		rc_code = raft_bootstrap(n->raft, cfg->voters, cfg->n_voters);
		if (rc_code != RAFT_OK) {
			snprintf(err, errlen, "bootstrap: %s",
				 raft_strerror(rc_code));
			node_close(n);
			return COORD_EINVAL;
		}
		node_logf(n, NODE_LOG_INFO,
			  "bootstrapped a new cluster voters=%zu",
			  cfg->n_voters);
	}
	if (cfg->async_log) {
		rc_code = store_log_writer_start(n->store);
		if (rc_code != COORD_OK) {
			snprintf(err, errlen, "%s", store_errmsg(n->store));
			node_close(n);
			return rc_code;
		}
	}
	rc_code = fsm_open(n);
	if (rc_code != COORD_OK) {
		snprintf(err, errlen, "opening the keyspace in %s: %s",
			 cfg->data_dir, coord_strerror(rc_code));
		node_close(n);
		return rc_code;
	}
	node_logf(n, NODE_LOG_INFO,
		  "opened data_dir=%s term=%" PRIu64 " commit=%" PRIu64
		  " applied=%" PRIu64 " last=%" PRIu64 " revision=%" PRIu64,
		  cfg->data_dir, raft_term(n->raft),
		  raft_commit_index(n->raft), fsm_applied_index(n->fsm),
		  raft_last_index(n->raft), fsm_revision(n->fsm));
	*out = n;
	return COORD_OK;
}

void node_close(struct node *n)
{
	if (n == NULL)
		return;
	for (int l = W_NONE + 1; l < W_LISTS; l++)
		fail_list(n, l, COORD_ENOTLEADER);
	while (n->deferred != NULL) {
		struct deferred *d = n->deferred;

		n->deferred = d->next;
		d->done(d->ctx, COORD_ENOTLEADER, NULL, 0);
		free(d);
	}
	store_snapshot_install_abort(n->install);
	fsm_free(n->fsm);
	raft_free(n->raft);
	store_close(n->store);
	free(n);
}

/* ---------------------------------------------------------------------- */
/* Input. */

/* Requests that waited request_ticks give up: their entry or read round
 * was lost with a leader, or the cluster has no quorum. */
static void age_list(struct node *n, int list, int code)
{
	struct node_waiter *w = n->lists[list].head;

	while (w != NULL) {
		struct node_waiter *next = w->next;

		if (++w->age >= n->cfg.request_ticks)
			waiter_done(n, w, code, NULL, 0);
		w = next;
	}
}

static void install_tick(struct node *n);

void node_tick(struct node *n)
{
	raft_tick(n->raft);
	install_tick(n);
	/* A proposal that timed out may still commit: COORD_ETIMEDOUT (the
	 * client retries with the same exactly-once identity); a read that
	 * timed out is simply not served. */
	age_list(n, W_PROPOSAL, COORD_ETIMEDOUT);
	age_list(n, W_READ_SENT, COORD_ENOTLEADER);
	age_list(n, W_READ_INDEX, COORD_ENOTLEADER);
}

int node_step(struct node *n, const struct raft_message *m)
{
	int rc;

	if (m->type == RAFT_MSG_SNAPSHOT &&
	    (n->install == NULL || !n->install_done ||
	     n->install_from != m->from ||
	     n->install_index != m->snapshot.index ||
	     n->install_term != m->snapshot.term)) {
		/* Raft must not install a snapshot whose data is not all
		 * staged here: the leader sends it again. */
		node_logf(n, NODE_LOG_WARN,
			  "ignored snapshot index=%" PRIu64 " from=%016" PRIx64
			  ": its data did not arrive whole",
			  m->snapshot.index, m->from);
		return COORD_OK;
	}
	rc = raft_step(n->raft, m);
	if (m->type == RAFT_MSG_SNAPSHOT && rc == RAFT_OK)
		n->install_pinned = true;

	if (rc == RAFT_OK)
		return COORD_OK;
	node_logf(n, NODE_LOG_WARN,
		  "dropped a malformed peer message type=%s from=%" PRIu64
		  ": %s",
		  raft_msg_type_name((int)m->type), m->from,
		  raft_strerror(rc));
	return COORD_EMALFORMED;
}

static void waiter_add(struct node *n, struct node_waiter *w,
		       node_done_fn done, void *ctx, uint64_t index,
		       uint64_t term)
{
	w->done = done;
	w->ctx = ctx;
	w->index = index;
	w->term = term;
	w->age = 0;
	wlist_insert_sorted(n, W_PROPOSAL, w);
}

static int defer(struct node *n, const uint8_t *data, size_t len, bool conf,
		 enum raft_conf_op op, uint64_t id, struct node_waiter *w,
		 node_done_fn done, void *ctx)
{
	struct deferred *d;

	if (len > COORD_CMD_BYTES_MAX)
		return COORD_EINVAL;
	d = malloc(sizeof(*d) + len);
	if (d == NULL)
		return COORD_ENOMEM;
	d->next = NULL;
	d->w = w;
	d->done = done;
	d->ctx = ctx;
	d->conf = conf;
	d->op = op;
	d->id = id;
	d->len = len;
	if (len > 0)
		memcpy(d->data, data, len);
	if (n->deferred == NULL)
		n->deferred_tail = &n->deferred;
	*n->deferred_tail = d;
	n->deferred_tail = &d->next;
	/* The waiter is parked on no list until the proposal is made. */
	w->list = W_NONE;
	return COORD_OK;
}

static int propose_now(struct node *n, const uint8_t *data, size_t len,
		       struct node_waiter *w, node_done_fn done, void *ctx)
{
	uint64_t index, term;
	int rc = raft_propose(n->raft, data, len, &index, &term);

	switch (rc) {
	case RAFT_OK:
		break;
	case RAFT_ETOOBIG:
		return COORD_EINVAL;
	case RAFT_ENOMEM:
		return COORD_ENOMEM;
	default:
		return COORD_ENOTLEADER;
	}
	waiter_add(n, w, done, ctx, index, term);
	return COORD_OK;
}

static int conf_change_now(struct node *n, enum raft_conf_op op, uint64_t id,
			   struct node_waiter *w, node_done_fn done, void *ctx)
{
	uint64_t index;
	int rc = raft_propose_conf_change(n->raft, op, id, &index);

	if (rc == RAFT_ENOTLEADER)
		return COORD_ENOTLEADER;
	if (rc != RAFT_OK)
		return COORD_EINVAL;
	waiter_add(n, w, done, ctx, index, raft_term(n->raft));
	return COORD_OK;
}

int node_propose(struct node *n, const uint8_t *data, size_t len,
		 struct node_waiter *w, node_done_fn done, void *ctx)
{
	if (n->in_ready)
		return defer(n, data, len, false, 0, 0, w, done, ctx);
	return propose_now(n, data, len, w, done, ctx);
}

/* After raft_advance(): the proposals callbacks made inside the Ready. A
 * refusal reaches the waiter's callback. */
static void deferred_run(struct node *n)
{
	while (n->deferred != NULL) {
		struct deferred *d = n->deferred;
		int rc;

		n->deferred = d->next;
		rc = d->conf ? conf_change_now(n, d->op, d->id, d->w, d->done,
					       d->ctx)
			     : propose_now(n, d->data, d->len, d->w, d->done,
					   d->ctx);
		if (rc != COORD_OK)
			d->done(d->ctx, rc, NULL, 0);
		free(d);
	}
}

void node_read(struct node *n, struct node_waiter *w, node_done_fn done,
	       void *ctx)
{
	w->done = done;
	w->ctx = ctx;
	w->index = 0;
	w->term = 0;
	w->age = 0;
	wlist_push(n, W_READ_NEW, w);
}

/* One ReadIndex round for every read that arrived since the last one. */
static void reads_start(struct node *n)
{
	struct node_waiter *w;
	uint64_t ctx;

	if (n->lists[W_READ_NEW].head == NULL)
		return;
	ctx = ++n->read_ctx_next;
	if (raft_read_index(n->raft, ctx) != RAFT_OK) {
		fail_list(n, W_READ_NEW, COORD_ENOTLEADER);
		return;
	}
	while ((w = n->lists[W_READ_NEW].head) != NULL) {
		wlist_remove(n, w);
		w->read_ctx = ctx;
		wlist_push(n, W_READ_SENT, w);
	}
}

/* A read round came back: its reads wait for applied >= index. */
static void reads_confirmed(struct node *n, const struct raft_read_state *rs)
{
	struct node_waiter *w = n->lists[W_READ_SENT].head;

	while (w != NULL) {
		struct node_waiter *next = w->next;

		/* Rounds come back in order; an older one lost is retried by
		 * the later one's confirmation, which covers it. */
		if (w->read_ctx <= rs->context) {
			wlist_remove(n, w);
			w->index = rs->index;
			wlist_insert_sorted(n, W_READ_INDEX, w);
		}
		w = next;
	}
}

static void reads_serve(struct node *n)
{
	uint64_t applied = fsm_applied_index(n->fsm);
	struct node_waiter *w;

	if (raft_applied_index(n->raft) > applied)
		applied = raft_applied_index(n->raft);
	while ((w = n->lists[W_READ_INDEX].head) != NULL && w->index <= applied)
		waiter_done(n, w, COORD_OK, NULL, 0);
}

/* ---------------------------------------------------------------------- */
/* Snapshots. */

static void install_drop(struct node *n)
{
	store_snapshot_install_abort(n->install);
	n->install = NULL;
	n->install_done = false;
}

/* A staged stream that hears no chunk for NODE_SNAPSHOT_STALL_ELECTIONS
 * election timeouts is dropped: its leader gave up or lost its place,
 * and the staged bytes would stay on disk until another stream. */
static void install_tick(struct node *n)
{
	if (n->install == NULL || n->install_pinned)
		return;
	if (++n->install_idle_ticks <
	    NODE_SNAPSHOT_STALL_ELECTIONS * n->cfg.election_ticks)
		return;
	node_logf(n, NODE_LOG_WARN,
		  "dropped a stalled snapshot stream from=%016" PRIx64
		  " index=%" PRIu64 " after %" PRIu64 " bytes: no chunk for %u ticks",
		  n->install_from, n->install_index, n->install_offset,
		  n->install_idle_ticks);
	install_drop(n);
}

int node_snapshot_chunk(struct node *n, const struct node_chunk *c)
{
	int rc;

	if (n->install_pinned) {
		/* Raft may install the staged stream in the next Ready. */
		node_logf(n, NODE_LOG_DEBUG,
			  "ignored a snapshot chunk from=%016" PRIx64
			  ": a stepped snapshot waits for its Ready", c->from);
		return COORD_EMALFORMED;
	}
	if (c->from != raft_leader(n->raft)) {
		/* Only the leader we follow streams a snapshot to us (issue
		 * 14 §10: chunks from anyone were staged to disk). Raft
		 * names only members as leaders. Said once a stream. */
		node_logf(n, c->offset == 0 ? NODE_LOG_WARN : NODE_LOG_DEBUG,
			  "ignored a snapshot chunk from=%016" PRIx64
			  " index=%" PRIu64 " offset=%" PRIu64
			  ": not from the leader (leader=%016" PRIx64 ")",
			  c->from, c->index, c->offset, raft_leader(n->raft));
		return COORD_EMALFORMED;
	}
	if ((c->offset == 0 ? 0 : n->install_offset) + c->len >
	    n->cfg.snapshot_bytes_max) {
		node_logf(n, NODE_LOG_WARN,
			  "dropped a snapshot stream from=%016" PRIx64
			  " index=%" PRIu64 ": over %" PRIu64
			  " bytes (--max-snapshot-bytes)",
			  c->from, c->index, n->cfg.snapshot_bytes_max);
		install_drop(n);
		return COORD_EMALFORMED;
	}
	n->install_idle_ticks = 0;
	if (c->offset == 0) {
		/* A new stream replaces whatever was staged. */
		install_drop(n);
		rc = store_snapshot_install_begin(n->store, &n->install);
		if (rc != COORD_OK) {
			n->install = NULL;
			return rc;
		}
		n->install_from = c->from;
		n->install_index = c->index;
		n->install_term = c->term;
		n->install_offset = 0;
	} else if (n->install == NULL || n->install_done ||
		   n->install_from != c->from ||
		   n->install_index != c->index ||
		   n->install_term != c->term ||
		   n->install_offset != c->offset) {
		/* Not the continuation of the stream staged here (another
		 * leader's, or one whose start we missed): ignored; the
		 * sender starts over when Raft asks it again. */
		node_logf(n, NODE_LOG_DEBUG,
			  "ignored a snapshot chunk from=%016" PRIx64
			  " index=%" PRIu64 " offset=%" PRIu64,
			  c->from, c->index, c->offset);
		return COORD_EMALFORMED;
	}
	rc = store_snapshot_install_add_chunk(n->install, c->data, c->len);
	if (rc != COORD_OK) {
		node_logf(n, NODE_LOG_WARN,
			  "dropped a snapshot stream from=%016" PRIx64
			  " index=%" PRIu64 ": %s",
			  c->from, c->index, store_errmsg(n->store));
		install_drop(n);
		return rc;
	}
	n->install_offset += c->len;
	n->install_done = c->last;
	return COORD_OK;
}

/* Raft takes no input between raft_ready() and raft_advance(), and the
 * transport reports from inside send(): such reports wait for the end of
 * the Ready. Unreachable reports are idempotent; when the buffer is full
 * the rest are dropped (Raft notices by itself, through its timeouts). */
static void report(struct node *n, uint64_t id, int what)
{
	if (!n->in_ready) {
		if (what == 0)
			raft_report_unreachable(n->raft, id);
		else if (what == 3)
			raft_report_leader_lost(n->raft, id);
		else
			raft_report_snapshot(n->raft, id, what == 1);
		return;
	}
	for (size_t i = 0; i < n->n_reports; i++)
		if (n->reports[i].id == id && n->reports[i].what == what)
			return;
	if (n->n_reports < sizeof(n->reports) / sizeof(n->reports[0])) {
		n->reports[n->n_reports].id = id;
		n->reports[n->n_reports].what = what;
		n->n_reports++;
	}
}

void node_snapshot_sent(struct node *n, uint64_t to, bool ok)
{
	report(n, to, ok ? 1 : 2);
}

void node_report_unreachable(struct node *n, uint64_t id)
{
	report(n, id, 0);
}

void node_report_peer_down(struct node *n, uint64_t id)
{
	if (raft_leader(n->raft) == id && !raft_is_leader(n->raft)) {
		node_logf(n, NODE_LOG_INFO,
			  "connection to leader=%016" PRIx64 " broke: "
			  "campaigning soon unless it is back", id);
		report(n, id, 3);
	}
}

/* rd->snapshot: the staged state becomes the keyspace (before the
 * Ready's entries are persisted, as store_ready_persist() requires). */
static int snapshot_install(struct node *n, const struct raft_ready *rd)
{
	int rc;

	if (n->install == NULL) {
		node_logf(n, NODE_LOG_ERROR,
			  "raft installed snapshot index=%" PRIu64
			  " but no snapshot data arrived",
			  rd->snapshot->index);
		return COORD_EIO;
	}
	fsm_free(n->fsm);
	n->fsm = NULL;
	rc = store_snapshot_install_commit(n->install, rd->snapshot);
	n->install = NULL;
	n->install_done = false;
	if (rc != COORD_OK) {
		node_logf(n, NODE_LOG_ERROR,
			  "installing snapshot index=%" PRIu64 ": %s",
			  rd->snapshot->index, store_errmsg(n->store));
		return COORD_EIO;
	}
	rc = fsm_open(n);
	if (rc != COORD_OK) {
		node_logf(n, NODE_LOG_ERROR,
			  "reopening the keyspace after snapshot: %s",
			  coord_strerror(rc));
		return COORD_EIO;
	}
	n->stats.snapshots_installed++;
	n->fsm_generation++;
	n->members_changed = true;
	node_logf(n, NODE_LOG_INFO,
		  "installed snapshot index=%" PRIu64 " term=%" PRIu64
		  " revision=%" PRIu64,
		  rd->snapshot->index, rd->snapshot->term, fsm_revision(n->fsm));
	return COORD_OK;
}

/* After raft_advance(): compact once enough was applied past the last
 * snapshot. The store keeps the keyspace itself, so a snapshot is only
 * the metadata; the data is read from the store when one is sent. */
static int maybe_compact(struct node *n)
{
	uint64_t applied = raft_applied_index(n->raft);
	const struct raft_snapshot_meta *s = raft_snapshot(n->raft);
	uint64_t base = s != NULL ? s->index : 0;
	int rc;

	if (applied < base + n->cfg.snapshot_entries)
		return COORD_OK;
	if (raft_compact(n->raft, applied) != RAFT_OK)
		return COORD_OK;
	rc = store_log_compact(n->store, raft_snapshot(n->raft));
	if (rc != COORD_OK) {
		node_logf(n, NODE_LOG_ERROR, "log compaction at %" PRIu64
			  ": %s", applied, store_errmsg(n->store));
		return COORD_EIO;
	}
	n->stats.snapshots_made++;
	return COORD_OK;
}

/* ---------------------------------------------------------------------- */
/* The Ready loop. */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void stats_fsync(struct node *n, uint64_t ns)
{
	uint64_t us = ns / 1000;
	unsigned b = 0;

	n->stats.fsyncs++;
	n->stats.fsync_ns_total += ns;
	while (us > 1 && b < 15) {
		us >>= 1;
		b++;
	}
	n->stats.fsync_hist[b]++;
}

/* The proposals waiting at index: the entry there now is e. */
static void proposals_complete(struct node *n, const struct raft_entry *e,
			       int code, const uint8_t *reply, size_t len)
{
	struct node_waiter *w;

	while ((w = n->lists[W_PROPOSAL].head) != NULL && w->index <= e->index) {
		if (w->index == e->index && w->term == e->term) {
			n->stats.proposals_committed++;
			waiter_done(n, w, code, reply, len);
		} else {
			/* Another leader's entry took its place. */
			n->stats.proposals_failed++;
			waiter_done(n, w, COORD_ENOTLEADER, NULL, 0);
		}
	}
}

static int apply_entry(struct node *n, const struct raft_entry *e)
{
	struct fsm_entry_result res;
	int rc;

	if (e->index <= fsm_applied_index(n->fsm)) {
		/* Replayed after a restart or a snapshot install: the
		 * keyspace already holds it. */
		return COORD_OK;
	}
	if (e->type != RAFT_ENTRY_NORMAL || e->len == 0) {
		/* Configuration changes and leader no-ops: raft applies
		 * them; only waiters care. */
		if (e->type == RAFT_ENTRY_CONF)
			n->members_changed = true;
		proposals_complete(n, e, COORD_OK, NULL, 0);
		return COORD_OK;
	}
	rc = fsm_apply_entry_data(n->fsm, e->index, e->data, e->len, 0, &res);
	if (rc != COORD_OK) {
		/* quota13: the store's own words (a full disk says "No
		 * space left on device"), logged once: the node stops. */
		if (rc == COORD_EIO || rc == COORD_ECORRUPT)
			node_logf(n, NODE_LOG_ERROR,
				  "applying entry index=%" PRIu64 ": %s: %s",
				  e->index, coord_strerror(rc),
				  store_errmsg(n->store));
		else
			node_logf(n, NODE_LOG_ERROR,
				  "applying entry index=%" PRIu64 ": %s",
				  e->index, coord_strerror(rc));
		return COORD_EIO;
	}
	if (n->cfg.on_applied != NULL)
		n->cfg.on_applied(n->cfg.applied_ctx, e->index, &res);
	if ((res.res.reply.type == PROTO_CMD_MEMBER_PUT ||
	     res.res.reply.type == PROTO_CMD_MEMBER_DEL) &&
	    res.res.reply.code == COORD_OK)
		n->members_changed = true;
	if (res.reply_len == 0)
		proposals_complete(n, e, COORD_EMALFORMED, NULL, 0);
	else
		proposals_complete(n, e, COORD_OK, res.reply_data,
				   res.reply_len);
	return COORD_OK;
}

bool node_has_ready(const struct node *n)
{
	return raft_has_ready(n->raft) || n->lists[W_READ_NEW].head != NULL;
}

static void transport_flush(struct node *n)
{
	if (n->cfg.transport.flush != NULL)
		n->cfg.transport.flush(n->cfg.transport.ctx);
}

static void replies_flush(struct node *n)
{
	if (n->cfg.replies_flush != NULL)
		n->cfg.replies_flush(n->cfg.applied_ctx);
}

/* Applies the prefix of rd->committed that is on this node's disk before
 * rd is persisted: below the first of rd->entries (those overwrite from
 * there) and at most the store's last index. *applied: how many. Not
 * with a snapshot in rd (it replaces the fsm first). */
static int apply_stable(struct node *n, const struct raft_ready *rd,
			size_t *applied)
{
	uint64_t stable = store_last_index(n->store);
	size_t i = 0;
	int rc = COORD_OK;

	if (rd->n_entries > 0 && rd->entries[0].index <= stable)
		stable = rd->entries[0].index - 1;
	if (rd->snapshot != NULL)
		stable = 0;
	while (i < rd->n_committed && rd->committed[i].index <= stable) {
		rc = apply_entry(n, &rd->committed[i]);
		if (rc != COORD_OK)
			break;
		i++;
	}
	*applied = i;
	if (i > 0)
		replies_flush(n);
	return rc;
}

/* The store failed doing what: logged; the node must stop (COORD_EIO). */
static int store_failed(struct node *n, const char *what)
{
	node_logf(n, NODE_LOG_ERROR, "%s: %s", what, store_errmsg(n->store));
	return COORD_EIO;
}

static void ready_batch_stats(struct node *n, size_t n_entries)
{
	unsigned b = 0;

	if (n_entries > n->stats.ready_batch_max)
		n->stats.ready_batch_max = n_entries;
	if (n_entries == 0)
		return;
	while (b < 11 && ((size_t)1 << b) < n_entries)
		b++;
	n->stats.ready_batch_hist[b]++;
}

static int flush_one(struct node *n)
{
	struct raft_ready rd;
	size_t n_early = 0;
	int rc = COORD_OK;

	raft_ready(n->raft, &rd);
	n->in_ready = true;
	n->install_pinned = false;     /* this Ready installs it or not */
	/* Any other Ready comes after a leader's background writes, which
	 * hold entries it may apply at once (apply_stable()): the fsm
	 * never gets ahead of the log on disk. */
	if (!rd.persist_async && store_log_drain(n->store) != COORD_OK) {
		rc = store_failed(n, "writing the log");
		goto out;
	}
	if (rd.leader != n->leader_seen) {
		n->leader_seen = rd.leader;
		n->stats.leader_changes++;
		node_logf(n, NODE_LOG_INFO,
			  "leader=%" PRIu64 " term=%" PRIu64 " role=%s",
			  rd.leader, rd.term, raft_role_name(rd.role));
	}
	if (rd.snapshot != NULL) {
		rc = snapshot_install(n, &rd);
		if (rc != COORD_OK)
			goto out;
	}
	/* A stream raft did not install (older than our commit) stays
	 * staged until the next stream replaces it, or the store removes it
	 * on its next open. */
	/* A leader's appends and heartbeats leave before its own write, so
	 * that its followers' fsyncs overlap its own (raft.h, thesis
	 * 10.2.1); everything else waits for the write. */
	if (rd.role == RAFT_LEADER) {
		for (size_t i = 0; i < rd.n_messages; i++)
			if (raft_msg_may_precede_persist(&rd.messages[i]))
				n->cfg.transport.send(n->cfg.transport.ctx,
						      &rd.messages[i]);
		transport_flush(n);
	}
	/* A leader's write starts first, on the writer thread; this Ready
	 * applies only what an earlier one made durable (raft.h). */
	if (rd.persist_async) {
		if (store_ready_persist_async(n->store, &rd) != COORD_OK) {
			rc = store_failed(n, "queueing a Ready");
			goto out;
		}
		n->stats.ready_entries += rd.n_entries;
		ready_batch_stats(n, rd.n_entries);
	}
	/* Committed entries this node's log already holds go to the fsm,
	 * and their replies and grants to the wire, before the Ready's new
	 * entries are written: a reply does not wait behind an unrelated
	 * proposal's fsync. An entry still to be written here waits for
	 * it (a follower learns an entry and its commit together). */
	rc = apply_stable(n, &rd, &n_early);
	if (rc != COORD_OK)
		goto out;
	if (!rd.persist_async && (rd.n_entries > 0 || rd.hard_state_changed)) {
		uint64_t t0 = mono_ns(), syncs = store_log_syncs(n->store);

		if (store_ready_persist(n->store, &rd) != COORD_OK) {
			rc = store_failed(n, "persisting a Ready");
			goto out;
		}
		/* Only a Ready that wrote: the commit index alone is not. */
		if (store_log_syncs(n->store) != syncs)
			stats_fsync(n, mono_ns() - t0);
		/* Persisted, nothing sent yet (a crash here loses no
		 * acknowledged write: none was acknowledged). */
		(void)FAILPOINT(FAILPOINT_NODE_AFTER_PERSIST);
		n->stats.ready_entries += rd.n_entries;
		ready_batch_stats(n, rd.n_entries);
	}
	n->stats.readies++;
	for (size_t i = 0; i < rd.n_messages; i++)
		if (rd.role != RAFT_LEADER ||
		    !raft_msg_may_precede_persist(&rd.messages[i]))
			n->cfg.transport.send(n->cfg.transport.ctx,
					      &rd.messages[i]);
	transport_flush(n);
	/* Sent (written to the sockets), the committed entries not on
	 * disk before this Ready not applied yet (a leader applied all of
	 * its own before the write): a restart applies them again from the
	 * log. */
	if (rd.n_committed > 0)
		(void)FAILPOINT(FAILPOINT_NODE_AFTER_SEND);
	for (size_t i = n_early; i < rd.n_committed; i++) {
		rc = apply_entry(n, &rd.committed[i]);
		if (rc != COORD_OK)
			goto out;
	}
	if (rd.n_committed > n_early)
		replies_flush(n);
	if (rd.n_committed > 0) {
		uint64_t applied = rd.committed[rd.n_committed - 1].index;

		if (applied > store_applied_index(n->store) &&
		    store_applied_set(n->store, applied) != COORD_OK) {
			rc = COORD_EIO;
			goto out;
		}
	}
	for (size_t i = 0; i < rd.n_reads; i++)
		reads_confirmed(n, &rd.reads[i]);
out:
	raft_advance(n->raft, &rd);
	n->in_ready = false;
	for (size_t i = 0; i < n->n_reports; i++)
		report(n, n->reports[i].id, n->reports[i].what);
	n->n_reports = 0;
	deferred_run(n);
	if (rc == COORD_OK)
		rc = maybe_compact(n);
	if (n->members_changed && n->cfg.on_members != NULL) {
		n->members_changed = false;
		n->cfg.on_members(n->cfg.members_ctx);
	}
	return rc;
}

int node_flush(struct node *n)
{
	int rc;

	reads_start(n);
	while (raft_has_ready(n->raft)) {
		rc = flush_one(n);
		if (rc != COORD_OK)
			return rc;
		reads_serve(n);
		reads_start(n);
	}
	reads_serve(n);
	return COORD_OK;
}

int node_log_notify_fd(const struct node *n)
{
	return n->cfg.async_log ? store_log_notify_fd(n->store) : -1;
}

static void log_sync_ns(void *ctx, uint64_t ns)
{
	stats_fsync(ctx, ns);
}

int node_log_progress(struct node *n)
{
	uint64_t index, term;

	if (store_log_poll(n->store, &index, &term, log_sync_ns, n) !=
	    COORD_OK)
		return store_failed(n, "writing the log");
	if (index > 0)
		(void)raft_persisted(n->raft, index, term);
	return COORD_OK;
}

/* ---------------------------------------------------------------------- */
/* Membership, transfer, getters. */

int node_transfer_leadership(struct node *n, uint64_t target)
{
	int rc = raft_transfer_leadership(n->raft, target);

	if (rc == RAFT_OK)
		return COORD_OK;
	return rc == RAFT_ENOTLEADER ? COORD_ENOTLEADER : COORD_EINVAL;
}

int node_conf_change(struct node *n, enum raft_conf_op op, uint64_t id,
		     struct node_waiter *w, node_done_fn done, void *ctx)
{
	if (n->in_ready)
		return defer(n, NULL, 0, true, op, id, w, done, ctx);
	return conf_change_now(n, op, id, w, done, ctx);
}

struct raft *node_raft(struct node *n)
{
	return n->raft;
}

struct fsm *node_fsm(struct node *n)
{
	return n->fsm;
}

struct store *node_store(struct node *n)
{
	return n->store;
}

uint64_t node_id(const struct node *n)
{
	return n->cfg.id;
}

uint64_t node_fsm_generation(const struct node *n)
{
	return n->fsm_generation;
}

const struct node_stats *node_stats(const struct node *n)
{
	return &n->stats;
}
