/*
 * tests/cluster/raw_io.c: see raw_io.h.
 */
#include "tests/cluster/raw_io.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/errors.h"
#include "proto/frame.h"

unsigned raw_recv_timeout_ms = RAW_RECV_TIMEOUT_MS;

int raw_send_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		ssize_t n = fd == STDOUT_FILENO
				    ? write(fd, p, len)
				    : send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			printf("send failed: %s\n", strerror(errno));
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads exactly len bytes within the deadline: 1 done, 0 closed, -1
 * timeout. */
int raw_read_exact(int fd, uint8_t *buf, size_t len, int timeout_ms)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&pfd, 1, timeout_ms) == 0)
			return -1;
		n = recv(fd, buf + got, len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		got += (size_t)n;
	}
	return 1;
}

uint8_t *raw_read_frame(int fd, size_t max, size_t *len)
{
	uint8_t hdr[PROTO_FRAME_HEADER_BYTES];
	uint8_t *body;
	int rc;

	rc = raw_read_exact(fd, hdr, sizeof(hdr), raw_recv_timeout_ms);
	if (rc <= 0) {
		printf("%s\n", rc == 0 ? "closed" : "timeout");
		return NULL;
	}
	*len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 |
	       (size_t)hdr[2] << 8 | hdr[3];
	if (*len == 0 || *len > max) {
		printf("bad frame length %zu\n", *len);
		return NULL;
	}
	body = malloc(*len);
	if (body == NULL) {
		perror("malloc");
		exit(2);
	}
	rc = raw_read_exact(fd, body, *len, raw_recv_timeout_ms);
	if (rc <= 0) {
		printf("truncated frame: %s\n", rc == 0 ? "closed" : "timeout");
		free(body);
		return NULL;
	}
	return body;
}

int raw_parse_u64(const char *s, int base, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, base);
	if (errno != 0 || *end != '\0' || end == s)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

int raw_request_frame(const struct proto_request *rq, struct proto_buf *b)
{
	size_t mark;
	int rc;

	proto_buf_init(b, NULL);
	rc = proto_frame_begin(b, &mark);
	if (rc == COORD_OK)
		rc = proto_request_encode(rq, b);
	if (rc == COORD_OK)
		rc = proto_frame_end(b, mark, SIZE_MAX);
	return rc;
}
