/*
 * libcoord/liveness.c: the session clock rules of liveness.h. No clock,
 * no I/O: the caller passes the time.
 */
#include "libcoord/liveness.h"

void lc_liveness_init(struct lc_liveness *l, uint64_t ttl_ms,
		      uint64_t send_ms)
{
	l->ttl_ms = ttl_ms;
	l->acked_send_ms = send_ms;
	l->ended = ttl_ms == 0;
}

void lc_liveness_ack(struct lc_liveness *l, uint64_t send_ms,
		     uint64_t ttl_ms)
{
	if (l->ended)
		return;
	if (ttl_ms == 0) {
		l->ended = true;
		return;
	}
	/* An ack reaching us after our clock already said LOST changes
	 * nothing: the application was told, and LOST is final. */
	if (send_ms >= l->acked_send_ms + l->ttl_ms)
		return;
	if (send_ms > l->acked_send_ms)
		l->acked_send_ms = send_ms;
	l->ttl_ms = ttl_ms;
}

void lc_liveness_end(struct lc_liveness *l)
{
	l->ended = true;
}

enum coord_session_state lc_liveness_state(const struct lc_liveness *l,
					   uint64_t now_ms)
{
	if (l->ended || now_ms >= l->acked_send_ms + l->ttl_ms)
		return COORD_SESSION_LOST;
	if (now_ms >= l->acked_send_ms + l->ttl_ms / 2)
		return COORD_SESSION_JEOPARDY;
	return COORD_SESSION_ALIVE;
}

uint64_t lc_liveness_next_change_ms(const struct lc_liveness *l,
				    uint64_t now_ms)
{
	switch (lc_liveness_state(l, now_ms)) {
	case COORD_SESSION_ALIVE:
		return l->acked_send_ms + l->ttl_ms / 2;
	case COORD_SESSION_JEOPARDY:
		return l->acked_send_ms + l->ttl_ms;
	default:
		return UINT64_MAX;
	}
}

uint64_t lc_keepalive_interval_ms(uint64_t ttl_ms, uint32_t rnd)
{
	uint64_t third = ttl_ms / 3, jitter = third / 4;
	uint64_t v = third - (jitter == 0 ? 0 : rnd % (jitter + 1));

	return v == 0 ? 1 : v;
}
