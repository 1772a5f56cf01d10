/*
 * coordd/api/watch.c: watches, served by the node the client is connected
 * to. After every flush, each watch reads the events from its next
 * revision out of the fsm's history (fsm_events_read()), in revision
 * order, and pushes them. So a watch that starts in the past and one that
 * follows live writes are the same code, and none can skip or repeat a
 * revision.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordd/api/api.h"
#include "proto/errors.h"
#include "proto/frame.h"
#include "proto/limits.h"
#include "proto/msg.h"
#include "proto/wire.h"


/* Events read per watch per flush, so one busy watch cannot starve the
 * loop (the rest come after the next flush). */
#define WATCH_EVENTS_PER_FLUSH 1000
/* Bytes of one watch's push per flush: fewer events when they would pass
 * it (a single revision larger than this still goes, in a push up to
 * COORD_RESPONSE_FRAME_BYTES_MAX). With CONN_OUT_STALL checked before
 * every push, one flush adds at most CONN_OUT_STALL plus one push to a
 * connection's output. */
#define WATCH_PUSH_BYTES (256u << 10)
/* Events a watch reads at first (see watch_catch_up()). */
#define WATCH_BATCH_FIRST 4

struct watch {
	struct client *cl;
	struct widx_entry ix;       /* in net->watch_idx while synced */
	bool synced;                /* next_rev is net->watch_rev + 1 */
	uint64_t id;
	uint64_t next_rev;
	uint32_t flags;
	bool prev_kv;
	uint8_t *key;
	size_t key_len;
	uint8_t *end;
	size_t end_len;
	size_t batch;               /* events per read (watch_catch_up()) */
	uint8_t *elect;             /* ELECTION_OBSERVE: the election's name */
	size_t elect_len;
	struct watch *next;
};

static uint8_t *dup_bytes(struct proto_bytes b)
{
	uint8_t *p = malloc(b.len + 1);

	if (p != NULL && b.len > 0)
		memcpy(p, b.data, b.len);
	return p;
}

static void watch_free(struct watch *w)
{
	free(w->key);
	free(w->end);
	free(w->elect);
	free(w);
}

/* A watch of wc for rq; elect: an observe of that election (its events
 * go out as PUSH_ELECTION). */
static void watch_start(struct client *cl, const struct proto_request *rq,
			const struct proto_watch_create *wc,
			const struct proto_bytes *elect)
{
	struct fsm *f = node_fsm(cl->net->node);
	struct proto_response r;
	struct watch *w;

	if (cl->net->n_watches >= cl->net->cfg->max_watches) {
		log_warn("client addr=%s: watch refused: max-watches (%zu) "
			 "reached on this node", cl->conn->addr,
			 cl->net->cfg->max_watches);
		api_send_error(cl, rq->kind, rq->request_id,
			   COORD_ETOOMANYWATCHES);
		return;
	}
	if (cl->n_watches >= cl->net->cfg->max_watches_per_conn) {
		log_warn("client addr=%s: watch refused: max-watches-per-conn "
			 "(%zu) reached", cl->conn->addr,
			 cl->net->cfg->max_watches_per_conn);
		api_send_error(cl, rq->kind, rq->request_id, COORD_EINVAL);
		return;
	}
	if (elect == NULL && (wc->key.len > cl->net->cfg->max_key_bytes ||
			      wc->end.len > cl->net->cfg->max_key_bytes)) {
		log_warn("client addr=%s: WATCH_CREATE refused: %s",
			 cl->conn->addr, coord_strerror(COORD_EKEYTOOBIG));
		api_send_error(cl, rq->kind, rq->request_id, COORD_EKEYTOOBIG);
		return;
	}
	if (wc->start_revision != 0 &&
	    wc->start_revision <= fsm_compact_revision(f)) {
		api_send_error(cl, rq->kind, rq->request_id, COORD_ECOMPACTED);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL || (w->key = dup_bytes(wc->key)) == NULL ||
	    (w->end = dup_bytes(wc->end)) == NULL ||
	    (elect != NULL && (w->elect = dup_bytes(*elect)) == NULL)) {
		if (w != NULL)
			watch_free(w);
		api_send_error(cl, rq->kind, rq->request_id, COORD_ENOMEM);
		return;
	}
	w->key_len = wc->key.len;
	w->end_len = wc->end.len;
	w->elect_len = elect != NULL ? elect->len : 0;
	w->flags = wc->flags;
	w->prev_kv = wc->prev_kv;
	w->id = ++cl->watch_id_next;
	w->next_rev = wc->start_revision != 0 ? wc->start_revision
					      : fsm_revision(f) + 1;
	w->cl = cl;
	w->next = cl->watches;
	cl->watches = w;
	cl->n_watches++;
	cl->n_unsynced++;
	cl->net->n_watches++;
	api_reply_start(cl, rq->kind, rq->request_id, &r);
	r.u.watch.watch_id = w->id;
	r.u.watch.start_revision = w->next_rev;
	api_send(cl, &r);
	/* Events already in history go out with the next flush. */
	net_kick(cl->net);
}

void watch_create(struct client *cl, const struct proto_request *rq)
{
	watch_start(cl, rq, &rq->u.watch_create, NULL);
}

/* A watch of the election's key (its limits are the watches'), with the
 * version before each change (a "no leader" names the token that
 * ended). The key is the fsm's, so no client key limit applies. */
void watch_observe(struct client *cl, const struct proto_request *rq)
{
	uint8_t kb[FSM_ELECTION_KEY_BYTES_MAX];
	struct proto_bytes name = rq->u.election.name;
	struct proto_watch_create wc;

	if (name.len == 0) {
		api_send_error(cl, rq->kind, rq->request_id, COORD_EINVAL);
		return;
	}
	memset(&wc, 0, sizeof(wc));
	wc.key = proto_bytes_make(kb, fsm_election_key(name, kb));
	wc.start_revision = rq->u.election.start_revision;
	wc.prev_kv = true;
	watch_start(cl, rq, &wc, &name);
}

/* Pushes the n events of an observe, one PUSH_ELECTION each. */
static int observe_push(struct client *cl, struct watch *w,
			const struct proto_event *ev, size_t n)
{
	struct proto_push p;
	struct proto_bytes value;
	int rc = COORD_OK;

	for (size_t i = 0; rc == COORD_OK && i < n; i++) {
		memset(&p, 0, sizeof(p));
		p.kind = PROTO_PUSH_ELECTION;
		p.u.election.watch_id = w->id;
		p.u.election.name = proto_bytes_make(w->elect, w->elect_len);
		p.u.election.revision = ev[i].kv.mod_revision;
		if (ev[i].type == PROTO_EVENT_PUT) {
			rc = fsm_election_value_parse(
				ev[i].kv.value, &p.u.election.session,
				&p.u.election.token, &p.u.election.value);
		} else if (ev[i].has_prev_kv) {
			uint64_t session;

			/* No leader: session 0, the token that ended. */
			rc = fsm_election_value_parse(ev[i].prev_kv.value,
						      &session,
						      &p.u.election.token,
						      &value);
		}
		if (rc == COORD_OK)
			rc = api_send_push(cl, &p);
	}
	return rc;
}

/* w, already unlinked from cl->watches, goes. */
static void watch_drop(struct client *cl, struct watch *w)
{
	if (w->synced)
		widx_remove(&cl->net->watch_idx, &w->ix);
	else
		cl->n_unsynced--;
	cl->n_watches--;
	cl->net->n_watches--;
	watch_free(w);
}

static bool watch_remove(struct client *cl, uint64_t id)
{
	for (struct watch **pp = &cl->watches; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->id == id) {
			struct watch *w = *pp;

			*pp = w->next;
			watch_drop(cl, w);
			return true;
		}
	}
	return false;
}

void watch_cancel(struct client *cl, const struct proto_request *rq)
{
	struct proto_response r;

	memset(&r, 0, sizeof(r));
	r.kind = rq->kind;
	r.request_id = rq->request_id;
	r.code = watch_remove(cl, rq->u.watch_cancel.watch_id)
			 ? COORD_OK
			 : COORD_ENOTFOUND;
	r.leader_hint = api_leader_hint(cl->net);
	r.has_body = r.code == COORD_OK;
	api_send(cl, &r);
}

static void watch_push_canceled(struct client *cl, struct watch *w, int code,
				uint64_t compact_rev)
{
	struct proto_push p;

	memset(&p, 0, sizeof(p));
	p.kind = PROTO_PUSH_WATCH_CANCELED;
	p.u.watch_canceled.watch_id = w->id;
	p.u.watch_canceled.code = code;
	p.u.watch_canceled.compact_revision = compact_rev;
	api_send_push(cl, &p);
}

/* The events at the start of ev, whole revisions only, whose encoding
 * stays within bytes (estimated: keys, values and 64 bytes of envelope
 * per event), and at least the first revision's; *rev_next where the
 * rest starts. */
static size_t events_fitting(const struct fsm_events *ev, size_t bytes,
			     uint64_t *rev_next)
{
	size_t used = 0, n = 0;

	*rev_next = ev->rev_next;
	while (n < ev->n_events) {
		uint64_t rev = ev->events[n].kv.mod_revision;
		size_t end = n, sz = 0;

		while (end < ev->n_events &&
		       ev->events[end].kv.mod_revision == rev) {
			const struct proto_event *e = &ev->events[end];

			sz += 64 + e->kv.key.len + e->kv.value.len;
			if (e->has_prev_kv)
				sz += e->prev_kv.key.len + e->prev_kv.value.len;
			end++;
		}
		if (n > 0 && used + sz > bytes) {
			*rev_next = rev;
			break;
		}
		used += sz;
		n = end;
	}
	return n;
}

/*
 * Pushes what the watch has not seen yet, at most about WATCH_PUSH_BYTES
 * per call; false: the watch ended. Each watch reads w->batch events at
 * a time: it doubles while everything read fits one push and falls to
 * what did fit otherwise, so a watch over large values reads little more
 * than it sends (a flush must not copy the history once per watch).
 */
static bool watch_catch_up(struct client *cl, struct watch *w)
{
	struct fsm *f = node_fsm(cl->net->node);
	struct proto_range filter;
	struct fsm_events ev;
	struct proto_push p;
	uint64_t rev_next;
	size_t n;
	int rc;

	if (w->next_rev > fsm_revision(f))
		return true;
	if (w->batch == 0)
		w->batch = WATCH_BATCH_FIRST;
	memset(&filter, 0, sizeof(filter));
	filter.key = proto_bytes_make(w->key, w->key_len);
	filter.end = proto_bytes_make(w->end, w->end_len);
	filter.flags = w->flags;
	cl->net->watch_reads_total++;
	rc = fsm_events_read(f, w->next_rev, &filter, w->batch,
			     w->prev_kv ? FSM_EVENTS_PREV_KV : 0, &ev);
	if (rc == COORD_ECOMPACTED) {
		watch_push_canceled(cl, w, rc, fsm_compact_revision(f));
		return false;
	}
	if (rc != COORD_OK) {
		log_warn("watch id=%" PRIu64 ": reading events: %s", w->id,
			 coord_strerror(rc));
		watch_push_canceled(cl, w, rc, 0);
		return false;
	}
	n = events_fitting(&ev, WATCH_PUSH_BYTES, &rev_next);
	if (n < ev.n_events)
		w->batch = n;
	else if (ev.rev_next <= fsm_revision(f) && w->batch * 2 <=
							WATCH_EVENTS_PER_FLUSH)
		w->batch *= 2;
	if (n > 0) {
		memset(&p, 0, sizeof(p));
		p.kind = PROTO_PUSH_WATCH_EVENTS;
		p.u.watch_events.watch_id = w->id;
		p.u.watch_events.events.v = ev.events;
		p.u.watch_events.events.n = n;
		/* One revision alone may pass WATCH_PUSH_BYTES: it goes in
		 * one push up to the frame limit. */
		rc = w->elect != NULL ? observe_push(cl, w, ev.events, n)
				      : api_send_push(cl, &p);
		if (rc != COORD_OK) {
			log_warn("watch id=%" PRIu64 ": events not sent: %s",
				 w->id, coord_strerror(rc));
			watch_push_canceled(cl, w, rc, 0);
			return false;
		}
	}
	w->next_rev = rev_next;
	return true;
}

/* A synced watch that a new event may match: it reads from where the
 * synced ones stood (*arg). */
static void watch_unsync_cb(struct widx_entry *e, void *arg)
{
	struct watch *w = (struct watch *)(void *)((char *)e -
						   offsetof(struct watch, ix));

	w->synced = false;
	w->next_rev = *(const uint64_t *)arg;
	w->cl->n_unsynced++;
}

/*
 * The events of the revisions applied since the last flush, read once
 * for all synced watches: each key takes out of the index only the
 * watches it may match (the others stay synced, untouched). A read that
 * fails (a snapshot past compacted history) unsyncs every watch: each
 * then meets the error on its own read.
 */
static void watches_dispatch(struct net *net)
{
	struct fsm *f = node_fsm(net->node);
	uint64_t rev = fsm_revision(f), from = net->watch_rev + 1, at = from;

	if (rev <= net->watch_rev)
		return;
	while (at <= rev && (net->watch_idx.n_hashed > 0 ||
			     net->watch_idx.ranges != NULL)) {
		struct fsm_events ev;
		int rc = fsm_events_read(f, at, NULL, WATCH_EVENTS_PER_FLUSH, 0,
					 &ev);

		if (rc != COORD_OK || ev.rev_next <= at) {
			widx_take_all(&net->watch_idx, watch_unsync_cb, &from);
			break;
		}
		for (size_t i = 0; i < ev.n_events; i++)
			widx_take(&net->watch_idx, ev.events[i].kv.key.data,
				  ev.events[i].kv.key.len, watch_unsync_cb,
				  &from);
		at = ev.rev_next;
	}
	net->watch_rev = rev;
}

void watches_after_flush(struct net *net)
{
	watches_dispatch(net);
	for (struct client *cl = net->clients; cl != NULL; cl = cl->next) {
		struct watch **pp = &cl->watches;

		while (cl->conn != NULL && cl->n_unsynced > 0 && *pp != NULL) {
			struct watch *w = *pp;

			if (w->synced) {
				pp = &w->next;
				continue;
			}
			/* Before every push: a slow reader's watches wait
			 * until its output drains (client_drained()), and
			 * none are served while the node's output budget is
			 * spent (conn.c closes the slowest readers). */
			if (conn_output_len(cl->conn) > CONN_OUT_STALL ||
			    conn_out_over_budget(net))
				break;
			if (!watch_catch_up(cl, w)) {
				*pp = w->next;
				watch_drop(cl, w);
				continue;
			}
			/* Caught up: into the index (without memory it
			 * stays unsynced, which is slower, not wrong). */
			if (w->next_rev == net->watch_rev + 1 &&
			    widx_add(&net->watch_idx, &w->ix, w->key,
				     w->key_len, w->end_len,
				     w->flags) == COORD_OK) {
				w->synced = true;
				cl->n_unsynced--;
			}
			pp = &w->next;
		}
	}
}

void watches_close(struct client *cl)
{
	while (cl->watches != NULL) {
		struct watch *w = cl->watches;

		cl->watches = w->next;
		watch_drop(cl, w);
	}
}
