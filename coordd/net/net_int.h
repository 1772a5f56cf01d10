/*
 * coordd/net/net_int.h: what the files of coordd/net/ share.
 */
#ifndef COORD_COORDD_NET_NET_INT_H
#define COORD_COORDD_NET_NET_INT_H

#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "coordd/config.h"
#include "coordd/net/net.h"
#include "coordd/node.h"
#include "proto/arena.h"
#include "proto/buf.h"

enum { LOG_DEBUG_ = 0, LOG_INFO_ = 1, LOG_WARN_ = 2, LOG_ERROR_ = 3 };

#define log_debug(...) coordd_log(LOG_DEBUG_, __VA_ARGS__)
#define log_info(...) coordd_log(LOG_INFO_, __VA_ARGS__)
#define log_warn(...) coordd_log(LOG_WARN_, __VA_ARGS__)
#define log_error(...) coordd_log(LOG_ERROR_, __VA_ARGS__)

/* ---------------------------------------------------------------------- */
/* A framed connection (conn.c). */

struct conn;

struct conn_ops {
	/* One whole frame's body (valid during the call). Return non-zero
	 * to close the connection (after what was written is flushed when
	 * flush_first). */
	int (*frame)(struct conn *c, const uint8_t *body, size_t len);
	/* The connection is gone (why: for the log); c is freed after. */
	void (*closed)(struct conn *c, const char *why);
	/* The output fell below the low watermark (NULL: not interested). */
	void (*drained)(struct conn *c);
	/* An outgoing connection completed (NULL: not interested). */
	void (*connected)(struct conn *c);
};

struct conn {
	struct net *net;
	struct bufferevent *bev;
	const struct conn_ops *ops;
	void *ctx;
	size_t body_max;
	bool closing;               /* close once the output is flushed */
	bool in_frame;              /* inside ops->frame */
	bool dead;                  /* closed while in_frame */
	char addr[96];              /* the other side, for logs */
	const char *role;           /* "client" or "peer", for logs */
	struct proto_buf out;       /* frame scratch */
	/* The node-wide budgets (conn_budget_join()): client connections
	 * only; peers are members with limits of their own. */
	bool budgeted;
	bool read_paused;           /* by the input budget */
	size_t in_counted;          /* bytes of in_bytes held here */
	size_t out_counted;         /* bytes of out_bytes held here */
	uint64_t frame_since_ms;    /* an unfinished frame since; 0: none */
	uint64_t out_high_since_ms; /* output above CONN_OUT_STALL since */
	unsigned idle_ms;           /* conn_idle_timeout(); 0: none */
	/* conn_idle_timeout() passed without a frame: true keeps the
	 * connection (NULL: close it). */
	bool (*idle_keep)(struct conn *c);
	struct conn *budget_next;
	struct conn *budget_prev;
	/* On net->written_conns: a budgeted connection given output since
	 * the last net_replies_flush(). */
	bool written_listed;
	struct conn *written_next;
	struct conn *written_prev;
};

/* Wraps bev; the conn owns it from now on. */
struct conn *conn_new(struct net *net, struct bufferevent *bev,
		      const struct conn_ops *ops, void *ctx, size_t body_max,
		      const char *addr);
/* Closes now (ops->closed is called with why). */
void conn_close(struct conn *c, const char *why);
/* Closes once the output is written (a last error reply). */
void conn_close_after_flush(struct conn *c);
/* Starts a frame in c->out (cleared); then encode the body into c->out
 * and call conn_frame_send(). */
int conn_frame_begin(struct conn *c, size_t *mark);
int conn_frame_send(struct conn *c, size_t mark, size_t body_max);
size_t conn_output_len(const struct conn *c);
void conn_write_now(struct conn *c);
/* An accepted connection must say HELLO within CONN_HELLO_MS, or it is
 * closed (a connection slot is not held by a silent socket); on: arm,
 * off: disarm once the hello came. */
#define CONN_HELLO_MS 10000
void conn_hello_deadline(struct conn *c, bool on);

/*
 * Node-wide budgets of client connections (issue 12). A joined connection
 * counts its buffered input and output in net->in_bytes / out_bytes:
 * - input over --max-input-buffer-bytes pauses reading from the
 *   connections holding the most (largest first) until those still read
 *   hold at most CONN_IN_UNPAUSED_FRACTION of the budget; they resume,
 *   smallest first, once the total is under 3/4 of the budget;
 * - a frame unfinished after --frame-timeout-ms closes its connection;
 * - output over --max-output-buffer-bytes closes the connections with the
 *   most pending output (the slowest readers) until it fits;
 * - output above CONN_OUT_STALL for --slow-reader-ms closes the connection.
 */
#define CONN_OUT_STALL (4u << 20)
#define CONN_IN_UNPAUSED_FRACTION 16
void conn_budget_join(struct conn *c);
/* Output of client connections is over its budget: write no more pushes
 * (the closing of the slowest readers is pending). */
bool conn_out_over_budget(const struct net *net);
int conns_init(struct net *net, char *err, size_t errlen);
void conns_free(struct net *net);
/* Idle: a HELLO'd connection silent (no frame) for idle_ms asks
 * keep(c); false closes it (0: no idle timeout). */
void conn_idle_timeout(struct conn *c, unsigned idle_ms);

/* ---------------------------------------------------------------------- */
/* The index of synced watches by key (watchidx.c). */

#define WIDX_RANGE 2

struct widx_entry {
	const uint8_t *key;         /* borrowed from the watch */
	size_t key_len;
	uint8_t kind;               /* exact key, prefix, WIDX_RANGE */
	struct widx_entry *next;
	struct widx_entry **pprev;  /* NULL: not in the index */
};

struct widx {
	struct widx_entry **buckets;    /* exact keys and prefixes */
	size_t n_buckets;               /* a power of two */
	size_t n_hashed;
	struct widx_entry *ranges;      /* taken by every key */
	uint32_t *prefix_lens;          /* prefix watches by length */
	size_t prefix_len_max;          /* longest prefix + 1 */
};

void widx_init(struct widx *x);
void widx_close(struct widx *x);
/* Indexes e under the watch's key and flags (PROTO_RANGE_PREFIX,
 * PROTO_RANGE_FROM; an end key makes it a range); key must live as long
 * as e is indexed. COORD_ENOMEM leaves e out. */
int widx_add(struct widx *x, struct widx_entry *e, const uint8_t *key,
	     size_t key_len, size_t end_len, uint32_t flags);
/* Takes e out (nothing when it is not in). */
void widx_remove(struct widx *x, struct widx_entry *e);
/* Takes out every entry that may match key and passes it to fn. */
void widx_take(struct widx *x, const uint8_t *key, size_t len,
	       void (*fn)(struct widx_entry *e, void *arg), void *arg);
/* Takes out every entry. */
void widx_take_all(struct widx *x, void (*fn)(struct widx_entry *e, void *arg),
		   void *arg);

/* ---------------------------------------------------------------------- */
/* The server. */

struct peer;
struct peer_in;
struct client;

struct net {
	const struct config *cfg;
	struct event_base *base;
	struct node *node;
	struct event *tick_ev;
	struct event *log_ev;           /* the log writer finished a write */
	struct event *flush_ev;
	struct event *sigterm_ev;
	struct event *sigint_ev;
	struct event *stop_ev;
	struct evconnlistener *client_lis;
	struct evconnlistener *peer_lis;
	struct evconnlistener *http_lis;
	struct http_conn *http_conns;
	SSL_CTX *client_tls;
	SSL_CTX *peer_server_tls;
	SSL_CTX *peer_client_tls;
	uint64_t id;
	uint64_t tick_count;
	unsigned tick_ms;
	int exit_status;
	bool stopping;
	uint64_t stop_deadline_tick;
	/* Peers, by member index. */
	struct peer *peers[CONFIG_MEMBERS_MAX];
	size_t n_peers;
	struct peer_in *peer_ins;   /* accepted peer connections */
	size_t n_peer_ins;
	/* Clients. */
	struct client *clients;     /* list of live client connections */
	size_t n_clients;
	uint64_t client_conns_total;
	uint64_t requests_by_kind[64];
	uint64_t errors_by_code[128];   /* by code (NET_ERROR_CODES_MAX) */
	uint64_t cluster_now_base_ms;   /* for CLIENTS_EXPIRE / envelopes */
	uint64_t expire_next_tick;
	bool quota_alarm_logged;    /* quota13: the alarm as last logged */
	uint64_t transfer_last_ms;  /* a client's last TRANSFER_LEADER here */
	uint64_t publish_next_ms;   /* publish.c: the next try, at most */
	struct proto_buf scratch;
	struct proto_arena arena;
	/* Budgets of client input and output (conn.c). */
	struct conn *budget_conns;  /* joined connections */
	struct conn *written_conns; /* net_replies_flush() writes these */
	size_t in_bytes;
	size_t out_bytes;
	size_t in_paused;           /* connections paused now */
	uint64_t in_paused_total;
	uint64_t frame_timeouts_total;
	uint64_t out_budget_closed_total;
	uint64_t slow_reader_closed_total;
	uint64_t hello_frame_refused_total;
	struct event *budget_ev;    /* enforce: deferred out of handlers */
	struct event *sweep_ev;     /* deadlines */
	/* File descriptors (net.c). */
	size_t max_clients;         /* --max-connections within RLIMIT_NOFILE */
	struct event *accept_retry_ev;  /* listeners off after EMFILE */
	uint64_t accept_errors_total;
	uint64_t accept_log_ms;     /* the last "accept failed" line */
	uint64_t accept_log_quiet;  /* failures not logged since */
	size_t n_http;              /* open HTTP connections */
	uint64_t http_refused_total;
	uint64_t http_refused_log_ms;
	uint64_t peer_refused_total;
	uint64_t peer_refused_log_ms;
	uint64_t client_idle_closed_total;
	uint64_t tick_last_ms;      /* for the "event loop stalled" line */
	uint64_t kick_ms;           /* when the flush was last activated */
	/* Watches (client.c): synced ones have seen every event up to
	 * watch_rev and wait in watch_idx. */
	struct widx watch_idx;
	uint64_t watch_rev;
	size_t n_watches;
	uint64_t watch_reads_total; /* fsm_events_read() for one watch */
	struct leases *leases;      /* coordd/api/lease.c */
	struct lock_kicks *kicks;   /* coordd/api/lock.c */
	/* Counters of leases and locks (/metrics). */
	uint64_t ka_batches_total;  /* LEASE_KEEPALIVE commands proposed */
	uint64_t ka_total;          /* keepalives in them */
	uint64_t expires_total;     /* LEASE_EXPIREs proposed */
	uint64_t expires_timed_total;   /* of them, by the due-time timer */
	uint64_t grants_pushed_total;
	uint64_t grants_withheld_total;     /* overdue here at grant */
	uint64_t sem_grants_pushed_total;   /* of those pushed: permits */
	uint64_t kicks_total;       /* QUEUE_KICKs proposed */
};

/* Callbacks (or microseconds) of priority >= 1 in a row before libevent
 * checks its timers again (net_new()). */
#define NET_DISPATCH_MAX 64
#define NET_DISPATCH_MAX_US 5000

/* A client's MEMBER_PROMOTE takes a learner within this many entries of
 * the commit index as caught up (as etcd's 90% rule, a learner that is
 * replicating and merely one heartbeat behind, e.g. behind the
 * registration of the very client that asks); the leader's automatic
 * promotion, which retries, waits for the whole committed log. */
#define NET_PROMOTE_LAG_ENTRIES 64

/* Accepted peer connections at once (more are closed at accept). */
#define NET_PEER_INS_MAX (4 * CONFIG_MEMBERS_MAX)
/* Descriptors kept out of --max-connections: the store, the listeners,
 * the peers (in and out) and HTTP connections, and some to spare. */
#define NET_FDS_RESERVED (128 + 2 * NET_PEER_INS_MAX)
/* After EMFILE/ENFILE the listeners rest this long before accepting again,
 * and "accept failed" is logged at most once per NET_ACCEPT_LOG_MS. */
#define NET_ACCEPT_RETRY_MS 100
#define NET_ACCEPT_LOG_MS 1000

/* A leader's best transfer target: a reachable voter other than itself
 * with the most complete log; 0 when none is reachable. */
uint64_t net_transfer_target(struct net *net);

/* Marks the node dirty: node_flush() runs at the end of this turn. */
void net_kick(struct net *net);
/* A monotonic clock in milliseconds. */
uint64_t net_now_ms(void);
/* The leader's cluster time for an entry's now_ms (fsm.h: Time). */
uint64_t net_cluster_now_ms(struct net *net);

/* Resolves host:port (numeric or a name). */
int net_resolve(const char *addr, struct sockaddr_storage *ss, int *sslen);
/* A listener bound to addr (disabled listeners rest after EMFILE with
 * the others); NULL with a message in err. */
struct evconnlistener *net_listen(struct net *net, const char *addr,
				  evconnlistener_cb cb, char *err,
				  size_t errlen, const char *what);

/* peer.c */
int peers_init(struct net *net, char *err, size_t errlen);
void peers_start(struct net *net);
void peers_free(struct net *net);
void peer_send(void *ctx, const struct raft_message *m);
/* node_transport.flush: the messages peer_send() queued leave now. */
void peers_write_now(void *ctx);
void peer_accept(struct net *net, struct bufferevent *bev, const char *addr);
/* Dials new members and drops removed ones (node_config.on_members). */
void peers_sync(struct net *net);
const char *peer_addr_of(struct net *net, uint64_t id);
/* Our connection to id is up (hello sent). */
bool peer_is_up(struct net *net, uint64_t id);

/* publish.c: this member's attributes in the member table. */
struct proto_peer_publish;
/* On the tick: publishes this member's entry when it is missing or
 * differs (to the leader, or proposed here on the leader). */
void members_publish(struct net *net);
/* Leader: a member's PUBLISH (from: the sender's peer connection). */
void members_publish_received(struct net *net, uint64_t from,
			      const struct proto_peer_publish *p);
/* peer.c: sends p to peer id on our connection to it (dropped while the
 * connection is down: the publisher tries again). */
void peer_publish_send(struct net *net, uint64_t id,
		       const struct proto_peer_publish *p);

/* client.c: client connections. */
void client_accept(struct net *net, struct bufferevent *bev,
		   const char *addr);
void clients_free(struct net *net);
/* Stop: refuse new requests, close idle connections. */
void clients_stop(struct net *net);
size_t clients_in_flight(const struct net *net);
/* Leader changed: tell clients with watches. */
void clients_leader_changed(struct net *net, uint64_t leader, uint64_t term);

/* coordd/api/ (what requests mean), called from net/. */
/* reply.c: proposes en (client id 0: the server's own command, e.g. a
 * publish or CLIENTS_EXPIRE) with a waiter of its own, freed when it is
 * done (the outcome only logged). COORD_OK or node_propose()'s code. */
struct proto_entry;
int net_propose_internal(struct net *net, const struct proto_entry *en);
/* members.c: a MEMBER_REMOVE of id is under way on this node. */
bool clients_member_removing(const struct net *net, uint64_t id);
/* members.c: leader: proposes ADD_VOTER for caught-up learners marked
 * promote. */
void members_promote(struct net *net);
/* watch.c: after each flush: watch events of newly applied revisions. */
void watches_after_flush(struct net *net);
/* lease.c: the lease table (node_config.on_applied is leases_applied,
 * its ctx the net); the leader's expiry on every tick; the keepalives of
 * one loop turn proposed as one command before the flush. */
struct leases;
struct fsm_entry_result;
int leases_init(struct net *net);
void leases_free(struct net *net);
void leases_tick(struct net *net);
void leases_before_flush(struct net *net);
/* lock.c: the leader's QUEUE_KICKs (lock-delays, waiter deadlines). */
struct lock_kicks;
int locks_init(struct net *net);
void locks_free(struct net *net);
void locks_tick(struct net *net);
uint64_t locks_kick_scans(const struct net *net);
/* register.c: the leader's periodic CLIENTS_EXPIRE (fsm.h: Bounds). */
void clients_propose_expire(struct net *net);
/* quota.c (quota13): the leader's QUOTA_SET, the alarm's log lines. */
void quota_tick(struct net *net);
uint64_t quota_alarms(struct net *net);

/* http.c */
int http_init(struct net *net, char *err, size_t errlen);
void http_free(struct net *net);

/* tls.c */
int tls_init(struct net *net, char *err, size_t errlen);
void tls_free(struct net *net);
/* Does the other side's certificate on ssl name the member called name,
 * or -- when by_addr -- the host of its peer address addr (see tls.c)? */
bool tls_peer_names(SSL *ssl, const char *name, const char *addr,
		    bool by_addr);
/* A peer's certificate must name the host of its address. */
int tls_expect_host(SSL *ssl, const char *addr);
/* Whether c is a TLS connection whose peer certificate has a subject CN
 * or a DNS SAN listed in names (comma-separated). */
bool tls_conn_name_listed(struct conn *c, const char *names);

#endif /* COORD_COORDD_NET_NET_INT_H */
