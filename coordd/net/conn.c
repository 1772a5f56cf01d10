/*
 * coordd/net/conn.c: one framed connection over a bufferevent (plain TCP
 * or TLS): frames in (proto/frame.h: the length is checked against the
 * connection's limit before a byte of the body is buffered beyond what
 * the kernel handed us), frames out, backpressure, orderly close.
 */
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

static void conn_free(struct conn *c)
{
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

		if (avail < PROTO_FRAME_HEADER_BYTES)
			return;
		evbuffer_copyout(in, hdr, sizeof(hdr));
		rc = proto_frame_check(hdr, sizeof(hdr), c->body_max,
				       &frame_len);
		if (rc != PROTO_FRAME_MORE && rc != COORD_OK) {
			log_warn("closing connection addr=%s: %s", c->addr,
				 coord_strerror(rc));
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
	if (!c->closing && !(bufferevent_get_enabled(bev) & EV_READ))
		bufferevent_enable(bev, EV_READ);
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

size_t conn_output_len(const struct conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev));
}
