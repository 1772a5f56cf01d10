/*
 * tests/cluster/raw_io.h: the socket side of the hand-made clients of the
 * cluster tests (raw_client.c, raw_peer.c): sending all bytes, and
 * reading one frame within a deadline.
 */
#ifndef COORD_TESTS_CLUSTER_RAW_IO_H
#define COORD_TESTS_CLUSTER_RAW_IO_H

#include <stddef.h>
#include <stdint.h>

#include "proto/buf.h"
#include "proto/wire.h"

#define RAW_RECV_TIMEOUT_MS 5000

/* The wait per read of raw_read_frame(); RAW_RECV_TIMEOUT_MS unless the
 * program sets it (raw_client waits longer: a reply may wait for a slow
 * fsync on a busy machine). */
extern unsigned raw_recv_timeout_ms;

/* Writes all of data to fd (a socket, or stdout); 0, or -1 after
 * printing "send failed: REASON". */
int raw_send_all(int fd, const void *data, size_t len);

/* Reads exactly len bytes within timeout_ms per wait: 1, 0 (closed
 * first) or -1 (timeout or error). */
int raw_read_exact(int fd, uint8_t *buf, size_t len, int timeout_ms);

/* Reads one frame (header and body, at most max body bytes) within
 * raw_recv_timeout_ms per read. Returns the body (free() it) and its
 * length in *len; NULL after printing "closed", "timeout", "bad frame
 * length N" or "truncated frame: closed|timeout". */
uint8_t *raw_read_frame(int fd, size_t max, size_t *len);

/* b (initialized here; the caller closes it) gets rq as one frame:
 * COORD_OK or the encoder's code. */
int raw_request_frame(const struct proto_request *rq, struct proto_buf *b);

/* A whole string as an unsigned number (strtoull's base: 10, or 0 for
 * 0x... too): 0 and *out, or -1 when it is not one. */
int raw_parse_u64(const char *s, int base, uint64_t *out);

#endif /* COORD_TESTS_CLUSTER_RAW_IO_H */
