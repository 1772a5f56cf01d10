/*
 * coordd/net/conn.c: one framed connection over a bufferevent (plain TCP
 * or TLS): frames in (proto/frame.h: the length is checked against the
 * connection's limit before a byte of the body is buffered beyond what
 * the kernel handed us), frames out, backpressure, orderly close.
 */
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "coordd/net/net_int.h"
#include "proto/errors.h"
#include "proto/frame.h"

/* Output above this stops reading the connection (a client that sends
 * but never reads cannot make us buffer its replies without bound). */
#define CONN_OUT_HIGH (8u << 20)
#define CONN_OUT_LOW (1u << 20)

/* Frame scratch above this is given back after the frame (a large range
 * reply must not pin its peak on every connection that once sent one). */
#define CONN_SCRATCH_KEEP (256u << 10)

static void budget_leave(struct conn *c);
static void written_leave(struct conn *c);

static void conn_free(struct conn *c)
{
	written_leave(c);
	budget_leave(c);
	if (c->bev != NULL) {
		SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

		if (ssl != NULL)
			SSL_set_shutdown(ssl, SSL_RECEIVED_SHUTDOWN);
		bufferevent_free(c->bev);
	}
	proto_buf_close(&c->out);
	free(c);
}

void conn_close(struct conn *c, const char *why)
{
	if (c->dead)
		return;
	c->dead = true;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	if (c->ops->closed != NULL)
		c->ops->closed(c, why);
	if (!c->in_frame)
		conn_free(c);
}

/* Reads again unless something still holds reading off: the input
 * budget, output over CONN_OUT_HIGH, or a close. */
static void conn_read_resume(struct conn *c)
{
	if (c->dead || c->closing || c->read_paused ||
	    conn_output_len(c) > CONN_OUT_HIGH)
		return;
	if (!(bufferevent_get_enabled(c->bev) & EV_READ))
		bufferevent_enable(c->bev, EV_READ);
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	while (!c->dead && !c->closing) {
		size_t avail = evbuffer_get_length(in);
		uint8_t hdr[PROTO_FRAME_HEADER_BYTES];
		size_t frame_len;
		const uint8_t *frame;
		int rc;

		if (avail == 0) {
			c->frame_since_ms = 0;
			return;
		}
		if (c->frame_since_ms == 0)
			c->frame_since_ms = net_now_ms();
		if (avail < PROTO_FRAME_HEADER_BYTES)
			return;
		evbuffer_copyout(in, hdr, sizeof(hdr));
		rc = proto_frame_check(hdr, sizeof(hdr), c->body_max,
				       &frame_len);
		if (rc != PROTO_FRAME_MORE && rc != COORD_OK) {
			uint32_t len = (uint32_t)hdr[0] << 24 |
				       (uint32_t)hdr[1] << 16 |
				       (uint32_t)hdr[2] << 8 | hdr[3];

			log_warn("closing connection addr=%s: %s (length %" PRIu32
				 ", limit %zu%s)", c->addr, coord_strerror(rc),
				 len, c->body_max,
				 c->budgeted && c->body_max ==
							COORD_HELLO_FRAME_BYTES_MAX
					 ? " before HELLO" : "");
			if (rc == COORD_EFRAMETOOBIG && c->budgeted &&
			    c->body_max == COORD_HELLO_FRAME_BYTES_MAX)
				c->net->hello_frame_refused_total++;
			conn_close(c, coord_strerror(rc));
			return;
		}
		if (avail < frame_len) {
			/* Wake up only when the whole frame is there. */
			bufferevent_setwatermark(bev, EV_READ, frame_len, 0);
			return;
		}
		bufferevent_setwatermark(bev, EV_READ, 0, 0);
		frame = evbuffer_pullup(in, (ssize_t)frame_len);
		if (frame == NULL) {
			conn_close(c, "out of memory");
			return;
		}
		c->in_frame = true;
		rc = c->ops->frame(c, proto_frame_body(frame),
				   frame_len - PROTO_FRAME_HEADER_BYTES);
		c->in_frame = false;
		if (c->dead) {
			conn_free(c);
			return;
		}
		evbuffer_drain(in, frame_len);
		c->frame_since_ms = 0;
		if (rc != 0) {
			conn_close_after_flush(c);  /* may free c */
			return;
		}
	}
}

static void conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		conn_close(c, "closed by server");
		return;
	}
	c->out_high_since_ms = 0;
	conn_read_resume(c);
	if (c->ops->drained != NULL)
		c->ops->drained(c);
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	char why[160];

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (c->ops->connected != NULL)
			c->ops->connected(c);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		size_t left = evbuffer_get_length(bufferevent_get_input(c->bev));

		snprintf(why, sizeof(why), "closed by the other side");
		if (left > 0)
			/* Bad input: a frame cut short by its sender. */
			log_warn("%s connection addr=%s closed in the middle "
				 "of a frame (%zu bytes of it dropped)",
				 c->role, c->addr, left);
	} else if ((what & BEV_EVENT_TIMEOUT) && c->idle_ms != 0) {
		if (c->idle_keep != NULL && c->idle_keep(c)) {
			/* Busy in another way (watches, requests in flight):
			 * a timeout stops reading; read again. */
			conn_read_resume(c);
			return;
		}
		snprintf(why, sizeof(why), "idle");
		if (c->budgeted)
			c->net->client_idle_closed_total++;
		log_info("%s connection addr=%s: idle for %u ms: closing",
			 c->role, c->addr, c->idle_ms);
	} else if (what & BEV_EVENT_TIMEOUT) {
		snprintf(why, sizeof(why), "timed out");
		log_warn("%s connection addr=%s: no hello within %u ms: "
			 "closing", c->role, c->addr, (unsigned)CONN_HELLO_MS);
	} else {
		unsigned long e = bufferevent_get_openssl_error(c->bev);
		int err = EVUTIL_SOCKET_ERROR();

		if (e != 0) {
			char buf[120];

			ERR_error_string_n(e, buf, sizeof(buf));
			snprintf(why, sizeof(why), "tls: %s", buf);
			/* A refused handshake or a broken TLS stream: the
			 * operator wants to see it. */
			log_warn("%s connection addr=%s: %s", c->role, c->addr,
				 why);
		} else {
			snprintf(why, sizeof(why), "%s",
				 evutil_socket_error_to_string(err));
		}
	}
	conn_close(c, why);
}

struct conn *conn_new(struct net *net, struct bufferevent *bev,
		      const struct conn_ops *ops, void *ctx, size_t body_max,
		      const char *addr)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		bufferevent_free(bev);
		return NULL;
	}
	c->net = net;
	c->bev = bev;
	c->ops = ops;
	c->ctx = ctx;
	c->body_max = body_max;
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	c->role = "client";
	proto_buf_init(&c->out, NULL);
	bufferevent_setcb(bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	bufferevent_setwatermark(bev, EV_WRITE, CONN_OUT_LOW, 0);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	{
		evutil_socket_t fd = bufferevent_getfd(bev);

		if (fd >= 0) {
			int one = 1;

			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				   sizeof(one));
		}
	}
	return c;
}

void conn_close_after_flush(struct conn *c)
{
	c->closing = true;
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0 &&
	    !c->in_frame)
		conn_close(c, "closed by server");
}

int conn_frame_begin(struct conn *c, size_t *mark)
{
	proto_buf_clear(&c->out);
	return proto_frame_begin(&c->out, mark);
}

int conn_frame_send(struct conn *c, size_t mark, size_t body_max)
{
	struct evbuffer *out;
	int rc = proto_frame_end(&c->out, mark, body_max);

	if (rc != COORD_OK)
		return rc;
	if (c->dead)
		return COORD_OK;
	out = bufferevent_get_output(c->bev);
	if (evbuffer_add(out, c->out.data, c->out.len) != 0)
		return COORD_ENOMEM;
	if (c->budgeted && !c->written_listed) {
		c->written_listed = true;
		c->written_prev = NULL;
		c->written_next = c->net->written_conns;
		if (c->net->written_conns != NULL)
			c->net->written_conns->written_prev = c;
		c->net->written_conns = c;
	}
	if (c->out.cap > CONN_SCRATCH_KEEP) {
		proto_buf_close(&c->out);
		proto_buf_init(&c->out, NULL);
	}
	if (evbuffer_get_length(out) > CONN_OUT_STALL &&
	    c->out_high_since_ms == 0)
		c->out_high_since_ms = net_now_ms();
	if (evbuffer_get_length(out) > CONN_OUT_HIGH)
		bufferevent_disable(c->bev, EV_READ);
	return COORD_OK;
}

void conn_hello_deadline(struct conn *c, bool on)
{
	struct timeval tv = { CONN_HELLO_MS / 1000,
			      (long)(CONN_HELLO_MS % 1000) * 1000 };

	bufferevent_set_timeouts(c->bev, on ? &tv : NULL, NULL);
}

/* Writes what is queued on c now, from inside a loop turn, instead of at
 * the loop's next turn (plain TCP; a TLS connection's bytes leave as
 * usual). Drained, c is handled as libevent's write callback would. */
void conn_write_now(struct conn *c)
{
	struct evbuffer *out;
	int n;

	if (c->dead || c->closing || bufferevent_openssl_get_ssl(c->bev) != NULL)
		return;
	out = bufferevent_get_output(c->bev);
	if (evbuffer_get_length(out) == 0)
		return;
	/* A socket bufferevent keeps its output's start frozen but for its
	 * own writes; this is one of them. A failure stays for libevent's
	 * own write to find and report. */
	evbuffer_unfreeze(out, 1);
	n = evbuffer_write(out, bufferevent_getfd(c->bev));
	evbuffer_freeze(out, 1);
	if (n > 0 && evbuffer_get_length(out) == 0)
		conn_write_cb(c->bev, c);
}

static void written_leave(struct conn *c)
{
	if (!c->written_listed)
		return;
	c->written_listed = false;
	if (c->written_prev != NULL)
		c->written_prev->written_next = c->written_next;
	else
		c->net->written_conns = c->written_next;
	if (c->written_next != NULL)
		c->written_next->written_prev = c->written_prev;
}

/* Replies and pushes leave before the node's next disk write instead of
 * at the loop's next turn, after it (node_config.replies_flush). */
void net_replies_flush(void *ctx)
{
	struct net *net = ctx;
	struct conn *c;

	while ((c = net->written_conns) != NULL) {
		written_leave(c);
		conn_write_now(c);
	}
}

size_t conn_output_len(const struct conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev));
}

void conn_idle_timeout(struct conn *c, unsigned idle_ms)
{
	struct timeval tv = { idle_ms / 1000, (long)(idle_ms % 1000) * 1000 };

	c->idle_ms = idle_ms;
	bufferevent_set_timeouts(c->bev, idle_ms != 0 ? &tv : NULL, NULL);
}

/* ---------------------------------------------------------------------- */
/* Node-wide budgets of client input and output (net_int.h). */

static void budget_kick(struct net *net)
{
	if (net->budget_ev != NULL &&
	    !event_pending(net->budget_ev, EV_TIMEOUT, NULL))
		event_active(net->budget_ev, EV_TIMEOUT, 0);
}

/* Counts every byte added to or drained from a joined connection's input
 * or output: the totals are exact whatever libevent reads or writes. */
static void budget_count(size_t *mine, size_t *total,
			 const struct evbuffer_cb_info *info)
{
	*mine += info->n_added;
	*total += info->n_added;
	*mine -= info->n_deleted;
	*total -= info->n_deleted;
}

static void budget_in_cb(struct evbuffer *buf,
			 const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;
	struct net *net = c->net;

	(void)buf;
	budget_count(&c->in_counted, &net->in_bytes, info);
	if ((info->n_added > 0 &&
	     net->in_bytes > net->cfg->max_input_buffer_bytes) ||
	    (info->n_deleted > 0 && net->in_paused > 0))
		budget_kick(net);
}

static void budget_out_cb(struct evbuffer *buf,
			  const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;
	struct net *net = c->net;

	(void)buf;
	budget_count(&c->out_counted, &net->out_bytes, info);
	if (info->n_added > 0 &&
	    net->out_bytes > net->cfg->max_output_buffer_bytes)
		budget_kick(net);
}

void conn_budget_join(struct conn *c)
{
	struct net *net = c->net;

	if (c->budgeted)
		return;
	c->budgeted = true;
	c->in_counted = evbuffer_get_length(bufferevent_get_input(c->bev));
	c->out_counted = evbuffer_get_length(bufferevent_get_output(c->bev));
	net->in_bytes += c->in_counted;
	net->out_bytes += c->out_counted;
	evbuffer_add_cb(bufferevent_get_input(c->bev), budget_in_cb, c);
	evbuffer_add_cb(bufferevent_get_output(c->bev), budget_out_cb, c);
	c->budget_next = net->budget_conns;
	if (net->budget_conns != NULL)
		net->budget_conns->budget_prev = c;
	net->budget_conns = c;
}

static void budget_leave(struct conn *c)
{
	struct net *net = c->net;

	if (!c->budgeted)
		return;
	c->budgeted = false;
	evbuffer_remove_cb(bufferevent_get_input(c->bev), budget_in_cb, c);
	evbuffer_remove_cb(bufferevent_get_output(c->bev), budget_out_cb, c);
	net->in_bytes -= c->in_counted;
	net->out_bytes -= c->out_counted;
	if (c->read_paused) {
		c->read_paused = false;
		net->in_paused--;
	}
	if (c->budget_prev != NULL)
		c->budget_prev->budget_next = c->budget_next;
	else
		net->budget_conns = c->budget_next;
	if (c->budget_next != NULL)
		c->budget_next->budget_prev = c->budget_prev;
	if (net->in_paused > 0 || net->in_bytes > 0)
		budget_kick(net);
}

bool conn_out_over_budget(const struct net *net)
{
	return net->out_bytes > net->cfg->max_output_buffer_bytes;
}

static int by_in_desc(const void *a, const void *b)
{
	const struct conn *x = *(struct conn *const *)a;
	const struct conn *y = *(struct conn *const *)b;

	return x->in_counted < y->in_counted ? 1
	       : x->in_counted > y->in_counted ? -1 : 0;
}

/* The live joined connections into a fresh array (NULL: out of memory or
 * none); *n how many. */
static struct conn **budget_list(struct net *net, size_t *n)
{
	struct conn **v;
	size_t k = 0;

	*n = 0;
	for (struct conn *c = net->budget_conns; c != NULL; c = c->budget_next)
		k++;
	if (k == 0 || (v = malloc(k * sizeof(*v))) == NULL)
		return NULL;
	for (struct conn *c = net->budget_conns; c != NULL; c = c->budget_next)
		if (!c->dead)
			v[(*n)++] = c;
	return v;
}

/* Input over its budget: pause the largest holders until the connections
 * still read hold at most 1/CONN_IN_UNPAUSED_FRACTION of the budget (a
 * client of small frames goes on); under 3/4 of it, resume the paused
 * ones, smallest first, while they fit. */
static void budget_input(struct net *net)
{
	size_t budget = net->cfg->max_input_buffer_bytes;
	size_t n, unpaused = 0, paused_now = 0, held = net->in_bytes;
	struct conn **v;

	if (net->in_bytes <= budget &&
	    (net->in_paused == 0 || net->in_bytes > budget / 4 * 3))
		return;
	v = budget_list(net, &n);
	if (v == NULL)
		return;
	qsort(v, n, sizeof(*v), by_in_desc);
	for (size_t i = 0; i < n; i++)
		if (!v[i]->read_paused)
			unpaused += v[i]->in_counted;
	if (net->in_bytes > budget) {
		for (size_t i = 0; i < n && unpaused > budget /
						       CONN_IN_UNPAUSED_FRACTION;
		     i++) {
			struct conn *c = v[i];

			if (c->read_paused || c->in_counted == 0)
				continue;
			c->read_paused = true;
			bufferevent_disable(c->bev, EV_READ);
			unpaused -= c->in_counted;
			net->in_paused++;
			net->in_paused_total++;
			paused_now++;
		}
		if (paused_now > 0)
			log_warn("input budget spent (%zu bytes held, "
				 "max-input-buffer-bytes %zu): paused reading "
				 "from %zu connections (%zu paused)", held,
				 budget, paused_now, net->in_paused);
	} else {
		size_t total = net->in_bytes, resumed = 0;

		for (size_t i = n; i-- > 0;) {
			struct conn *c = v[i];

			if (!c->read_paused)
				continue;
			/* Each may fill its frame: count what it claims. */
			total += c->body_max > c->in_counted
					 ? c->body_max - c->in_counted : 0;
			if (total > budget && resumed > 0)
				break;
			c->read_paused = false;
			net->in_paused--;
			resumed++;
			conn_read_resume(c);
		}
		if (resumed > 0)
			log_info("input budget: resumed reading from %zu "
				 "connections (%zu paused)", resumed,
				 net->in_paused);
	}
	free(v);
}

static int by_out_desc(const void *a, const void *b)
{
	const struct conn *x = *(struct conn *const *)a;
	const struct conn *y = *(struct conn *const *)b;

	return x->out_counted < y->out_counted ? 1
	       : x->out_counted > y->out_counted ? -1 : 0;
}

/* Output over its budget: close the slowest readers (the most pending
 * output) first, until it fits. */
static void budget_output(struct net *net)
{
	size_t budget = net->cfg->max_output_buffer_bytes;
	size_t n;
	struct conn **v;

	if (net->out_bytes <= budget)
		return;
	v = budget_list(net, &n);
	if (v == NULL)
		return;
	qsort(v, n, sizeof(*v), by_out_desc);
	for (size_t i = 0; i < n && net->out_bytes > budget; i++) {
		if (v[i]->out_counted == 0)
			break;
		log_warn("%s connection addr=%s: output budget spent (%zu "
			 "bytes pending node-wide, max-output-buffer-bytes "
			 "%zu): closing this slowest reader (%zu bytes "
			 "pending)", v[i]->role, v[i]->addr, net->out_bytes,
			 budget, v[i]->out_counted);
		net->out_budget_closed_total++;
		conn_close(v[i], "output budget spent");
	}
	free(v);
}

static void budget_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	budget_output(arg);
	budget_input(arg);
}

/* Deadlines: an unfinished frame, output stuck above CONN_OUT_STALL. */
static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct net *net = arg;
	uint64_t now = net_now_ms();
	struct conn *c = net->budget_conns;

	(void)fd;
	(void)what;
	while (c != NULL) {
		struct conn *next = c->budget_next;   /* c may be freed */

		if (c->dead) {
			c = next;
			continue;
		}
		if (c->frame_since_ms != 0 &&
		    now - c->frame_since_ms >= net->cfg->frame_timeout_ms) {
			log_warn("%s connection addr=%s: frame unfinished after "
				 "%u ms (%zu bytes held%s): closing", c->role,
				 c->addr, net->cfg->frame_timeout_ms,
				 c->in_counted,
				 c->read_paused ? ", paused by the input budget"
						: "");
			net->frame_timeouts_total++;
			conn_close(c, "frame timeout");
		} else if (c->out_high_since_ms != 0 &&
			   conn_output_len(c) > CONN_OUT_STALL &&
			   now - c->out_high_since_ms >=
				   net->cfg->slow_reader_ms) {
			log_warn("%s connection addr=%s: over %u bytes of output "
				 "unread for %u ms: closing this slow reader",
				 c->role, c->addr, (unsigned)CONN_OUT_STALL,
				 net->cfg->slow_reader_ms);
			net->slow_reader_closed_total++;
			conn_close(c, "slow reader");
		}
		c = next;
	}
}

int conns_init(struct net *net, char *err, size_t errlen)
{
	unsigned ms = net->cfg->frame_timeout_ms < net->cfg->slow_reader_ms
			      ? net->cfg->frame_timeout_ms
			      : net->cfg->slow_reader_ms;
	struct timeval tv;

	/* A deadline is kept within a quarter of the shorter one. */
	ms = ms / 4 > 0 ? ms / 4 : 1;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (long)(ms % 1000) * 1000;
	net->budget_ev = event_new(net->base, -1, 0, budget_cb, net);
	net->sweep_ev = event_new(net->base, -1, EV_PERSIST, sweep_cb, net);
	if (net->budget_ev == NULL || net->sweep_ev == NULL ||
	    evtimer_add(net->sweep_ev, &tv) != 0) {
		snprintf(err, errlen, "libevent: cannot create the budget events");
		return -1;
	}
	return 0;
}

void conns_free(struct net *net)
{
	if (net->budget_ev != NULL)
		event_free(net->budget_ev);
	if (net->sweep_ev != NULL)
		event_free(net->sweep_ev);
	net->budget_ev = NULL;
	net->sweep_ev = NULL;
}
