/*
 * libcoord/liveness.h: how long a session is known alive, judged by the
 * client's own monotonic clock (coord.h, "Sessions"). Pure: time comes
 * in as arguments, so the rules are tested with an injected clock
 * (tests/unit/test_liveness.c). Internal: not installed.
 *
 * The rule: an acknowledged keepalive sent at T proves the session alive
 * on the leader until at least T + ttl (the leader counts from when it
 * applied the keepalive, which is after T). So the client says ALIVE
 * until T + ttl/2, JEOPARDY from there, LOST from T + ttl: never later
 * than the servers can have expired it. A later ack of an earlier send
 * never moves T back.
 */
#ifndef COORD_LIBCOORD_LIVENESS_H
#define COORD_LIBCOORD_LIVENESS_H

#include <stdbool.h>
#include <stdint.h>

#include "libcoord/coord.h"

struct lc_liveness {
	uint64_t ttl_ms;            /* >= 1 */
	uint64_t acked_send_ms;     /* T: send time of the latest ack */
	bool ended;                 /* the servers said so; final */
};

/* A session opened (or attached) by a request sent at send_ms with the
 * TTL the server answered. */
void lc_liveness_init(struct lc_liveness *l, uint64_t ttl_ms,
		      uint64_t send_ms);
/* A keepalive sent at send_ms was acknowledged with ttl_ms (0: the
 * session is gone, which ends it). A shorter TTL than known is taken (a
 * server's word is never stretched); a longer one too, since it is the
 * server's. */
void lc_liveness_ack(struct lc_liveness *l, uint64_t send_ms,
		     uint64_t ttl_ms);
void lc_liveness_end(struct lc_liveness *l);
enum coord_session_state lc_liveness_state(const struct lc_liveness *l,
					   uint64_t now_ms);
/* When the state next changes after now_ms (UINT64_MAX: never, it is
 * LOST). */
uint64_t lc_liveness_next_change_ms(const struct lc_liveness *l,
				    uint64_t now_ms);
/* The wait before the next keepalive: ttl/3 less up to a quarter of it
 * (rnd: any 32 random bits), at least 1 ms. */
uint64_t lc_keepalive_interval_ms(uint64_t ttl_ms, uint32_t rnd);

#endif /* COORD_LIBCOORD_LIVENESS_H */
