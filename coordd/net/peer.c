/*
 * coordd/net/peer.c: the peer transport. Every node dials every other
 * member once and keeps that connection for what it sends; what it
 * receives arrives on the connections the others dialed. So each
 * direction is one ordered stream: AppendEntries pipeline on it without
 * waiting for answers, and a snapshot's chunks reach the receiver before
 * the RAFT_MSG_SNAPSHOT that names them (proto/peer.h).
 *
 * A lost connection is redialed with exponential backoff (100 ms doubling
 * to 2 s), and so is a dial whose connect, TLS handshake and HELLO
 * answer take longer than CONN_HELLO_MS; while it is down, messages to that peer are dropped and Raft
 * is told the peer is unreachable (it retransmits by itself). A sender
 * never buffers more than PEER_OUT_MAX bytes for one peer: past that,
 * messages are dropped the same way, so a slow follower cannot exhaust
 * the leader's memory.
 *
 * Who may speak (issue 14 §1): a connection opens with the dialer's peer
 * HELLO and the acceptor's HELLO in reply, each checked by the other
 * side (version, cluster id, `to` is us, `from` is the member expected).
 * The acceptor admits only a `from` that is a member it knows -- a voter,
 * a learner or a member-table entry, and while it is joining the members
 * --initial-cluster names (the peers of peers_sync()) -- and with peer
 * TLS only when the certificate names that member (tls_peer_names());
 * the dialer checks the same of the member it dialed. Refusals are
 * logged at warn and close the connection. Without peer TLS a HELLO is
 * not authenticated: anyone who reaches the peer port can claim a
 * member's id (docs/security.md).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent_ssl.h>

#include "coordd/failpoint.h"
#include "coordd/net/net_int.h"
#include "coordd/fsm/fsm.h"
#include "coordd/store/store.h"
#include "proto/errors.h"
#include "proto/frame.h"
#include "proto/limits.h"
#include "proto/peer.h"

#define PEER_OUT_MAX (64u << 20)
#define PEER_SNAPSHOT_WINDOW (4u << 20)   /* chunks buffered at once */
#define PEER_BACKOFF_MIN_MS 100
#define PEER_BACKOFF_MAX_MS 2000

struct peer {
	struct net *net;
	uint64_t id;
	char name[64];
	char addr[CONFIG_STR_MAX];
	struct conn *conn;          /* outgoing; NULL while down */
	bool up;                    /* connected, hellos exchanged */
	unsigned backoff_ms;
	struct event *retry_ev;
	/* A snapshot being streamed. */
	struct store_snapshot_reader *snap;
	struct raft_message snap_msg;
	uint64_t snap_offset;
	bool snap_last_sent;
	uint64_t sent_msgs;
	uint64_t dropped_msgs;
};

/* An accepted connection: messages from one peer. */
struct peer_in {
	struct net *net;
	struct conn *conn;
	uint64_t from;              /* 0 until its hello */
	struct peer_in *next;
	struct peer_in *prev;
};

static void peer_dial(struct peer *p);

static struct peer *peer_find(struct net *net, uint64_t id)
{
	for (size_t i = 0; i < net->n_peers; i++)
		if (net->peers[i]->id == id)
			return net->peers[i];
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* Who a peer is. */

/* Whether two host:port addresses share their host. */
static bool same_host(const char *a, const char *b)
{
	char ha[CONFIG_STR_MAX], hb[CONFIG_STR_MAX];
	unsigned pa, pb;

	return config_split_addr(a, ha, sizeof(ha), &pa) &&
	       config_split_addr(b, hb, sizeof(hb), &pb) && strcmp(ha, hb) == 0;
}

/* Is p's peer host its own, shared with no other member we know (nor
 * with us)? Only then does an address in a certificate name p. */
static bool host_is_own(struct net *net, const struct peer *p)
{
	const struct config *cfg = net->cfg;

	for (size_t i = 0; i < net->n_peers; i++)
		if (net->peers[i] != p && same_host(net->peers[i]->addr, p->addr))
			return false;
	for (size_t i = 0; i < cfg->n_members; i++)
		if (cfg->members[i].id != p->id &&
		    same_host(cfg->members[i].peer_addr, p->addr))
			return false;
	return !same_host(cfg->peer_addr, p->addr);
}

/* Is the other side of c the member p? With peer TLS its certificate
 * must name p; plaintext cannot tell (the HELLO is taken as said). */
static bool peer_cert_ok(struct net *net, struct conn *c,
			 const struct peer *p)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

	return ssl == NULL ||
	       tls_peer_names(ssl, p->name, p->addr, host_is_own(net, p));
}

/* Sends our HELLO on c, to node `to`. */
static int hello_send(struct net *net, struct conn *c, uint64_t to)
{
	struct proto_peer_hello h = { PROTO_PEER_VERSION, net->cfg->cluster_id,
				      net->id, to };
	size_t mark;
	int rc = conn_frame_begin(c, &mark);

	if (rc == COORD_OK)
		rc = proto_peer_hello_encode(&h, &c->out);
	if (rc == COORD_OK)
		rc = conn_frame_send(c, mark, COORD_PEER_FRAME_BYTES_MAX);
	return rc;
}

/* Checks a HELLO that arrived on c: ours to take, from the member
 * `expect` (0: any member we know). Returns that member, or NULL after
 * logging why at warn. */
static struct peer *hello_take(struct net *net, struct conn *c,
			       const uint8_t *body, size_t len, uint64_t expect)
{
	struct proto_peer_msg msg;
	struct peer *p;
	char why[256];
	int rc;

	proto_arena_reset(&net->arena);
	rc = proto_peer_decode(body, len, &net->arena, &msg);
	if (rc != COORD_OK) {
		log_warn("peer addr=%s: undecodable message (%s): closing",
			 c->addr, coord_strerror(rc));
		return NULL;
	}
	if (msg.kind != PROTO_PEER_HELLO) {
		log_warn("peer addr=%s: no hello: closing", c->addr);
		return NULL;
	}
	rc = proto_peer_hello_check(&msg.u.hello, PROTO_PEER_VERSION,
				    net->cfg->cluster_id, net->id, why,
				    sizeof(why));
	if (rc != COORD_OK) {
		log_warn("peer addr=%s refused: %s", c->addr, why);
		return NULL;
	}
	p = peer_find(net, msg.u.hello.from);
	if (p == NULL || (expect != 0 && p->id != expect)) {
		log_warn("peer addr=%s refused: node=%016" PRIx64 " is %s",
			 c->addr, msg.u.hello.from,
			 expect != 0 ? "not the member dialed"
				     : "not a member (a voter, a learner or in the member table)");
		return NULL;
	}
	if (!peer_cert_ok(net, c, p)) {
		log_warn("peer addr=%s refused: its certificate does not name member=%s (node=%016" PRIx64 ")",
			 c->addr, p->name, p->id);
		return NULL;
	}
	return p;
}

/* ---------------------------------------------------------------------- */
/* Snapshots, sending side. */

static void snap_end(struct peer *p, bool ok)
{
	if (p->snap == NULL)
		return;
	store_snapshot_reader_free(p->snap);
	p->snap = NULL;
	if (p->net->node != NULL)
		node_snapshot_sent(p->net->node, p->id, ok);
	log_info("snapshot to=%s index=%" PRIu64 " bytes=%" PRIu64 " %s",
		 p->name, p->snap_msg.snapshot.index, p->snap_offset,
		 ok ? "sent" : "failed");
	net_kick(p->net);
}

static int send_frame_raft(struct peer *p, const struct raft_message *m)
{
	size_t mark;
	int rc = conn_frame_begin(p->conn, &mark);

	if (rc == COORD_OK)
		rc = proto_peer_raft_encode(m, &p->conn->out);
	if (rc == COORD_OK)
		rc = conn_frame_send(p->conn, mark, COORD_PEER_FRAME_BYTES_MAX);
	return rc;
}

/* Sends chunks while the output has room; the RAFT_MSG_SNAPSHOT last. */
static void snap_pump(struct peer *p)
{
	while (p->snap != NULL && p->conn != NULL && p->up &&
	       conn_output_len(p->conn) < PEER_SNAPSHOT_WINDOW) {
		const uint8_t *chunk;
		size_t len, mark;
		bool last;
		struct proto_snapshot_chunk c;
		int rc;

		if (p->snap_last_sent) {
			rc = send_frame_raft(p, &p->snap_msg);
			snap_end(p, rc == COORD_OK);
			return;
		}
		rc = store_snapshot_reader_next_chunk(p->snap, &chunk, &len,
						      &last);
		if (rc != COORD_OK) {
			log_warn("snapshot to=%s: reading: %s", p->name,
				 coord_strerror(rc));
			snap_end(p, false);
			return;
		}
		c.index = p->snap_msg.snapshot.index;
		c.term = p->snap_msg.snapshot.term;
		c.offset = p->snap_offset;
		c.data = proto_bytes_make(chunk, len);
		c.last = last;
		rc = conn_frame_begin(p->conn, &mark);
		if (rc == COORD_OK)
			rc = proto_peer_chunk_encode(&c, &p->conn->out);
		if (rc == COORD_OK)
			rc = conn_frame_send(p->conn, mark,
					     COORD_PEER_FRAME_BYTES_MAX);
		if (rc != COORD_OK) {
			log_warn("snapshot to=%s: sending: %s", p->name,
				 coord_strerror(rc));
			snap_end(p, false);
			return;
		}
		p->snap_offset += len;
		p->snap_last_sent = last;
	}
}

static void snap_start(struct peer *p, const struct raft_message *m)
{
	int rc;

	if (p->snap != NULL) {
		/* One stream at a time; Raft asks again later. */
		node_snapshot_sent(p->net->node, p->id, false);
		return;
	}
	rc = store_snapshot_reader_new(node_store(p->net->node), &p->snap);
	if (rc != COORD_OK) {
		log_warn("snapshot to=%s: %s", p->name, coord_strerror(rc));
		p->snap = NULL;
		node_snapshot_sent(p->net->node, p->id, false);
		return;
	}
	p->snap_msg = *m;
	p->snap_msg.entries = NULL;
	p->snap_msg.n_entries = 0;
	p->snap_msg.snapshot_data = NULL;
	p->snap_msg.snapshot_len = 0;
	p->snap_offset = 0;
	p->snap_last_sent = false;
	log_info("snapshot to=%s index=%" PRIu64 " term=%" PRIu64 ": streaming",
		 p->name, m->snapshot.index, m->snapshot.term);
	snap_pump(p);
}

/* ---------------------------------------------------------------------- */
/* Sending. */

void peer_send(void *ctx, const struct raft_message *m)
{
	struct net *net = ctx;
	struct peer *p = peer_find(net, m->to);
	int rc;

	if (p == NULL) {
		log_debug("no address for node=%016" PRIx64 ": message dropped",
			  m->to);
		return;
	}
	/* The failpoint: lost on the way, as a lossy network loses it. */
	if (FAILPOINT(FAILPOINT_NET_SEND) == FAILPOINT_DROP) {
		p->dropped_msgs++;
		if (m->type == RAFT_MSG_SNAPSHOT)
			node_snapshot_sent(net->node, p->id, false);
		return;
	}
	if (p->conn == NULL || !p->up ||
	    conn_output_len(p->conn) > PEER_OUT_MAX) {
		p->dropped_msgs++;
		node_report_unreachable(net->node, p->id);
		if (m->type == RAFT_MSG_SNAPSHOT)
			node_snapshot_sent(net->node, p->id, false);
		return;
	}
	if (m->type == RAFT_MSG_SNAPSHOT) {
		snap_start(p, m);
		return;
	}
	rc = send_frame_raft(p, m);
	if (rc != COORD_OK) {
		log_warn("message to=%s type=%s dropped: %s", p->name,
			 raft_msg_type_name((int)m->type), coord_strerror(rc));
		p->dropped_msgs++;
		return;
	}
	p->sent_msgs++;
}

/* The leader's appends go out before its own fsync, and a follower's
 * acknowledgement before it applies: written now, they are not held
 * until the event loop's next turn, after that disk write (docs/raft.md,
 * "A leader writes in parallel with its followers"). */
void peers_write_now(void *ctx)
{
	struct net *net = ctx;

	for (size_t i = 0; i < net->n_peers; i++) {
		struct peer *p = net->peers[i];

		if (p != NULL && p->conn != NULL && p->up && p->snap == NULL)
			conn_write_now(p->conn);
	}
}

/* ---------------------------------------------------------------------- */
/* The outgoing connection. */

static void out_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	peer_dial(arg);
}

static void out_schedule_retry(struct peer *p)
{
	struct timeval tv = { p->backoff_ms / 1000,
			      (long)(p->backoff_ms % 1000) * 1000 };

	evtimer_add(p->retry_ev, &tv);
	p->backoff_ms *= 2;
	if (p->backoff_ms > PEER_BACKOFF_MAX_MS)
		p->backoff_ms = PEER_BACKOFF_MAX_MS;
}

/* The HELLO in reply to ours, and nothing else. */
static int out_frame(struct conn *c, const uint8_t *body, size_t len)
{
	struct peer *p = c->ctx;

	if (p->up) {
		log_warn("peer addr=%s sent on our outgoing connection: closing",
			 c->addr);
		return 1;
	}
	if (hello_take(p->net, c, body, len, p->id) == NULL)
		return 1;
	/* Nothing else ever comes this way: no deadline any more. */
	conn_hello_deadline(c, false);
	p->up = true;
	p->backoff_ms = PEER_BACKOFF_MIN_MS;
	log_info("connected to=%s addr=%s", p->name, p->addr);
	return 0;
}

/* A connection that was closed for us: no callbacks any more. */
static int quiet_frame(struct conn *c, const uint8_t *body, size_t len)
{
	(void)body;
	(void)len;
	(void)c;
	return 1;
}

static void out_closed(struct conn *c, const char *why)
{
	struct peer *p = c->ctx;

	if (p->up)
		log_warn("lost connection to=%s addr=%s: %s", p->name, p->addr,
			 why);
	else
		log_debug("cannot reach peer=%s addr=%s: %s", p->name, p->addr,
			  why);
	p->conn = NULL;
	p->up = false;
	snap_end(p, false);
	if (p->net->node != NULL) {
		node_report_unreachable(p->net->node, p->id);
		node_report_peer_down(p->net->node, p->id);
		net_kick(p->net);
	}
	out_schedule_retry(p);
}

/* Our HELLO first; the connection is up once the peer's comes back
 * (out_frame()). */
static void out_connected(struct conn *c)
{
	struct peer *p = c->ctx;

	if (hello_send(p->net, c, p->id) != COORD_OK)
		conn_close(c, "cannot send hello");
}

static void out_drained(struct conn *c)
{
	snap_pump(c->ctx);
}

static const struct conn_ops out_ops = {
	out_frame, out_closed, out_drained, out_connected,
};

static void peer_dial(struct peer *p)
{
	struct net *net = p->net;
	struct sockaddr_storage ss;
	int sslen;
	struct bufferevent *bev;
	int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;

	if (net_resolve(p->addr, &ss, &sslen) != 0) {
		log_warn("peer=%s: cannot resolve %s", p->name, p->addr);
		out_schedule_retry(p);
		return;
	}
	if (net->peer_client_tls != NULL) {
		SSL *ssl = SSL_new(net->peer_client_tls);

		if (ssl != NULL && tls_expect_host(ssl, p->addr) != 0) {
			SSL_free(ssl);
			ssl = NULL;
		}
		bev = ssl == NULL ? NULL
				  : bufferevent_openssl_socket_new(
					    net->base, -1, ssl,
					    BUFFEREVENT_SSL_CONNECTING, opts);
	} else {
		bev = bufferevent_socket_new(net->base, -1, opts);
	}
	if (bev == NULL) {
		out_schedule_retry(p);
		return;
	}
	p->conn = conn_new(net, bev, &out_ops, p, COORD_PEER_FRAME_BYTES_MAX,
			   p->addr);
	if (p->conn == NULL) {
		out_schedule_retry(p);
		return;
	}
	p->conn->role = "peer";
	/* Connect, TLS handshake and the acceptor's HELLO within
	 * CONN_HELLO_MS, or the dial fails and is retried with backoff: an
	 * acceptor that never answers must not hold the peer down for
	 * ever (issue 14 §7). */
	conn_hello_deadline(p->conn, true);
	if (bufferevent_socket_connect(bev, (struct sockaddr *)&ss, sslen) != 0)
		conn_close(p->conn, "connect failed");
}

/* ---------------------------------------------------------------------- */
/* Incoming connections. */

static int in_frame(struct conn *c, const uint8_t *body, size_t len)
{
	struct peer_in *in = c->ctx;
	struct net *net = in->net;
	struct proto_peer_msg msg;
	int rc;

	if (in->from == 0) {
		struct peer *p = hello_take(net, c, body, len, 0);

		if (p == NULL || hello_send(net, c, p->id) != COORD_OK)
			return 1;
		in->from = p->id;
		conn_hello_deadline(c, false);
		/* A forged HELLO must not hold a descriptor for ever. */
		conn_idle_timeout(c, net->cfg->peer_idle_ms);
		log_debug("peer addr=%s is node=%016" PRIx64, c->addr, in->from);
		return 0;
	}
	proto_arena_reset(&net->arena);
	rc = proto_peer_decode(body, len, &net->arena, &msg);
	if (rc != COORD_OK) {
		log_warn("peer addr=%s: undecodable message (%s): closing",
			 c->addr, coord_strerror(rc));
		return 1;
	}
	switch (msg.kind) {
	case PROTO_PEER_RAFT:
		if (msg.u.raft.from != in->from) {
			log_warn("peer addr=%s: message from=%016" PRIx64
				 " on the connection of %016" PRIx64
				 ": closing", c->addr, msg.u.raft.from,
				 in->from);
			return 1;
		}
		node_step(net->node, &msg.u.raft);
		net_kick(net);
		return 0;
	case PROTO_PEER_SNAPSHOT_CHUNK:
	{
		struct node_chunk ch = { in->from, msg.u.chunk.index,
					 msg.u.chunk.term, msg.u.chunk.offset,
					 msg.u.chunk.data.data,
					 msg.u.chunk.data.len, msg.u.chunk.last };

		node_snapshot_chunk(net->node, &ch);
		return 0;
	}
	case PROTO_PEER_PUBLISH:
		members_publish_received(net, in->from, &msg.u.publish);
		return 0;
	default:
		log_warn("peer addr=%s: a second hello: closing", c->addr);
		return 1;
	}
}

/* Whether another accepted connection than in speaks for in->from. */
static bool in_other_from(const struct peer_in *in)
{
	for (const struct peer_in *o = in->net->peer_ins; o != NULL;
	     o = o->next)
		if (o != in && o->from == in->from)
			return true;
	return false;
}

static void in_closed(struct conn *c, const char *why)
{
	struct peer_in *in = c->ctx;

	log_debug("peer connection addr=%s closed: %s", c->addr, why);
	/* A peer is down when its last connection here closes: not when a
	 * second one does -- a stale duplicate, or one forged with its id,
	 * whose close would make a follower drop a live leader. */
	if (in->from != 0 && in->net->node != NULL && !in->net->stopping &&
	    !in_other_from(in)) {
		node_report_peer_down(in->net->node, in->from);
		net_kick(in->net);
	}
	if (in->prev != NULL)
		in->prev->next = in->next;
	else
		in->net->peer_ins = in->next;
	if (in->next != NULL)
		in->next->prev = in->prev;
	in->net->n_peer_ins--;
	free(in);
}

static const struct conn_ops in_ops = { in_frame, in_closed, NULL, NULL };

void peer_accept(struct net *net, struct bufferevent *bev, const char *addr)
{
	struct peer_in *in = calloc(1, sizeof(*in));

	if (in == NULL) {
		bufferevent_free(bev);
		return;
	}
	in->net = net;
	in->conn = conn_new(net, bev, &in_ops, in, COORD_PEER_FRAME_BYTES_MAX,
			    addr);
	if (in->conn == NULL) {
		free(in);
		return;
	}
	in->conn->role = "peer";
	conn_hello_deadline(in->conn, true);
	in->next = net->peer_ins;
	if (net->peer_ins != NULL)
		net->peer_ins->prev = in;
	net->peer_ins = in;
	net->n_peer_ins++;
}

/* ---------------------------------------------------------------------- */
/* Life cycle. */

static void quiet_closed(struct conn *c, const char *why)
{
	(void)c;
	(void)why;
}

static const struct conn_ops quiet_ops = { quiet_frame, quiet_closed, NULL,
					   NULL };

static struct peer *peer_add(struct net *net, uint64_t id, const char *name,
			     const char *addr)
{
	struct peer *p;

	if (net->n_peers == CONFIG_MEMBERS_MAX)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->net = net;
	p->id = id;
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->addr, sizeof(p->addr), "%s", addr);
	p->backoff_ms = PEER_BACKOFF_MIN_MS;
	p->retry_ev = evtimer_new(net->base, out_retry_cb, p);
	net->peers[net->n_peers++] = p;
	return p;
}

static void peer_free(struct peer *p)
{
	if (p->snap != NULL)
		store_snapshot_reader_free(p->snap);
	p->snap = NULL;
	if (p->conn != NULL) {
		p->conn->ops = &quiet_ops;  /* no redial from here */
		conn_close(p->conn, "peer removed");
	}
	event_free(p->retry_ev);
	free(p);
}

int peers_init(struct net *net, char *err, size_t errlen)
{
	const struct config *cfg = net->cfg;

	for (size_t i = 0; i < cfg->n_members; i++) {
		const struct config_member *m = &cfg->members[i];

		if (m->id == net->id)
			continue;
		if (peer_add(net, m->id, m->name, m->peer_addr) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

/*
 * The peers to talk to: every member of the Raft configuration and every
 * member of the replicated member table (a member being added is dialed
 * before its configuration change commits); a node whose configuration
 * is still empty (joining) talks to every member --initial-cluster names.
 * Addresses come from the member table when it has one, else from
 * --initial-cluster. Peers that are none of these are closed.
 */
void peers_sync(struct net *net)
{
	static struct fsm_member ms[COORD_MEMBERS_MAX];
	const struct raft_conf *conf = raft_conf(node_raft(net->node));
	bool joining = conf->n_voters == 0;
	struct {
		uint64_t id;
		const char *name;
		const char *addr;
	} want[2 * CONFIG_MEMBERS_MAX];
	size_t n_ms = 0, n_want = 0;

	if (fsm_members(node_fsm(net->node), ms, COORD_MEMBERS_MAX, &n_ms) !=
	    COORD_OK) {
		log_warn("reading the member table failed: peers unchanged");
		return;
	}
	for (size_t i = 0; i < n_ms; i++) {
		if (ms[i].id == net->id)
			continue;
		want[n_want].id = ms[i].id;
		want[n_want].name = ms[i].name;
		want[n_want].addr = ms[i].peer_addr;
		n_want++;
	}
	for (size_t i = 0; i < net->cfg->n_members; i++) {
		const struct config_member *m = &net->cfg->members[i];
		bool listed = false;

		for (size_t k = 0; k < n_want; k++)
			listed = listed || want[k].id == m->id;
		if (listed || m->id == net->id)
			continue;
		if (joining || raft_conf_is_voter(conf, m->id) ||
		    raft_conf_is_learner(conf, m->id)) {
			want[n_want].id = m->id;
			want[n_want].name = m->name;
			want[n_want].addr = m->peer_addr;
			n_want++;
		}
	}
	/* Drop or re-address what changed. */
	for (size_t i = 0; i < net->n_peers;) {
		struct peer *p = net->peers[i];
		size_t k;

		for (k = 0; k < n_want && want[k].id != p->id; k++)
			;
		if (k < n_want && strcmp(want[k].addr, p->addr) == 0) {
			i++;
			continue;
		}
		log_info("peer %s (%016" PRIx64 ") at %s %s", p->name, p->id,
			 p->addr, k < n_want ? "moved" : "removed");
		net->peers[i] = net->peers[--net->n_peers];
		if (p->snap != NULL)
			node_snapshot_sent(net->node, p->id, false);
		peer_free(p);
	}
	/* Add what is new. */
	for (size_t k = 0; k < n_want; k++) {
		struct peer *p;

		if (peer_find(net, want[k].id) != NULL)
			continue;
		p = peer_add(net, want[k].id, want[k].name, want[k].addr);
		if (p == NULL) {
			log_warn("cannot add peer %s", want[k].name);
			continue;
		}
		log_info("peer %s (%016" PRIx64 ") at %s added", p->name, p->id,
			 p->addr);
		peer_dial(p);
	}
}

void peer_publish_send(struct net *net, uint64_t id,
		       const struct proto_peer_publish *pub)
{
	struct peer *p = peer_find(net, id);
	size_t mark;
	int rc;

	if (p == NULL || p->conn == NULL || !p->up)
		return;
	rc = conn_frame_begin(p->conn, &mark);
	if (rc == COORD_OK)
		rc = proto_peer_publish_encode(pub, &p->conn->out);
	if (rc == COORD_OK)
		rc = conn_frame_send(p->conn, mark, COORD_PEER_FRAME_BYTES_MAX);
	if (rc != COORD_OK)
		log_warn("member publish to=%s not sent: %s", p->name,
			 coord_strerror(rc));
}

bool peer_is_up(struct net *net, uint64_t id)
{
	struct peer *p = peer_find(net, id);

	return p != NULL && p->up;
}

/* A member's peer address, from the peers known here ("" if none). */
const char *peer_addr_of(struct net *net, uint64_t id)
{
	struct peer *p = peer_find(net, id);

	return p != NULL ? p->addr : "";
}

void peers_start(struct net *net)
{
	for (size_t i = 0; i < net->n_peers; i++)
		peer_dial(net->peers[i]);
}

void peers_free(struct net *net)
{
	for (size_t i = 0; i < net->n_peers; i++)
		peer_free(net->peers[i]);
	net->n_peers = 0;
	while (net->peer_ins != NULL)
		conn_close(net->peer_ins->conn, "shutting down");
}
