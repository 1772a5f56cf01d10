/*
 * tests/cluster/raw_client.c: a client of coordd's client protocol at the
 * level of bytes, for tests/cluster/badinput.sh. It runs the steps named
 * on its command line, in order, on one plain-TCP connection, and prints
 * one line per frame it reads, so a shell test can grep the outcome:
 *
 *   reply KIND id=ID code=CODE NAME     (KIND: proto_kind_name(), or ?N
 *                                       for a kind proto/ does not know)
 *   push KIND
 *   undecodable LEN bytes: NAME         (a frame proto/ cannot decode)
 *   closed                              (the server closed the connection)
 *   timeout                             (nothing within 5 s)
 *
 * Valid requests are built with proto/'s encoders; broken input is given
 * as hex by the test. Steps:
 *   hello                 HELLO (this version), then read one frame
 *   put KEY VLEN          PUT KEY = VLEN bytes 'v', then read one frame
 *   putk KLEN VLEN        PUT a key of KLEN bytes 'k', then read
 *   putc ID SEQ KEY       PUT KEY = "v" as client ID, sequence SEQ (ack
 *                         SEQ), then read one frame (once.sh)
 *   register N            N REGISTER_CLIENTs sent at once, then their N
 *                         replies; a reply line with code 0 ends
 *                         "client=ID" (once.sh)
 *   get KEY               RANGE of KEY, then read one frame
 *   watch N               N WATCH_CREATEs on prefix "w/", reading each reply
 *   send HEX              these bytes as they are (no frame header)
 *   frame HEX             one frame whose body is these bytes
 *   recv                  read one frame
 *   eof                   read frames until the server closes (or 5 s)
 *   sleep MS
 *   flood N HOLD_MS       instead of one connection: open N at once, send
 *                         each a HELLO, wait up to 5 s for the answers,
 *                         print "flood served=S closed=C silent=Q", then
 *                         hold the served ones open for HOLD_MS
 * Exit status 0 when every step could be carried out (whatever the server
 * answered), 1 when a send failed, 2 on usage errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proto/arena.h"
#include "proto/buf.h"
#include "proto/errors.h"
#include "proto/frame.h"
#include "proto/limits.h"
#include "proto/wire.h"

#define RECV_TIMEOUT_MS 5000

static struct sockaddr_in server;
static uint64_t request_id_next = 1;

static void usage(void)
{
	fprintf(stderr, "usage: raw_client HOST PORT STEP... (see the source)\n");
	exit(2);
}

static int dial(bool nonblocking)
{
	int fd = socket(AF_INET, SOCK_STREAM | (nonblocking ? SOCK_NONBLOCK : 0),
			0);

	if (fd < 0) {
		perror("socket");
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&server, sizeof(server)) != 0 &&
	    !(nonblocking && errno == EINPROGRESS)) {
		perror("connect");
		close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

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

static int send_request(int fd, struct proto_request *rq)
{
	struct proto_buf b;
	size_t mark;
	int rc;

	rq->request_id = request_id_next++;
	proto_buf_init(&b, NULL);
	rc = proto_frame_begin(&b, &mark);
	if (rc == COORD_OK)
		rc = proto_request_encode(rq, &b);
	if (rc == COORD_OK)
		rc = proto_frame_end(&b, mark, SIZE_MAX);
	if (rc != COORD_OK) {
		fprintf(stderr, "raw_client: encoding %s: %s\n",
			proto_kind_name(rq->kind), coord_error_name(rc));
		exit(2);
	}
	rc = send_all(fd, b.data, b.len);
	proto_buf_close(&b);
	return rc;
}

/* Reads exactly len bytes within the deadline: 1 done, 0 closed, -1
 * timeout. */
static int read_exact(int fd, uint8_t *buf, size_t len, int timeout_ms)
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

/* Reads and prints one frame; false once the connection is closed or
 * silent. */
static bool recv_frame(int fd)
{
	uint8_t hdr[PROTO_FRAME_HEADER_BYTES];
	uint8_t *body;
	size_t len;
	struct proto_arena arena;
	uint32_t kind;
	int rc;

	rc = read_exact(fd, hdr, sizeof(hdr), RECV_TIMEOUT_MS);
	if (rc <= 0) {
		printf("%s\n", rc == 0 ? "closed" : "timeout");
		return false;
	}
	len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 |
	      (size_t)hdr[2] << 8 | hdr[3];
	if (len == 0 || len > COORD_RESPONSE_FRAME_BYTES_MAX) {
		printf("bad frame length %zu\n", len);
		return false;
	}
	body = malloc(len);
	if (body == NULL) {
		perror("malloc");
		exit(2);
	}
	rc = read_exact(fd, body, len, RECV_TIMEOUT_MS);
	if (rc <= 0) {
		printf("truncated frame: %s\n", rc == 0 ? "closed" : "timeout");
		free(body);
		return false;
	}
	proto_arena_init(&arena, NULL);
	rc = proto_server_msg_kind(body, len, &kind);
	if (rc == COORD_OK && kind >= PROTO_PUSH_FIRST) {
		struct proto_push p;

		rc = proto_push_decode(body, len, &arena, &p);
		if (rc == COORD_OK)
			printf("push %s\n", proto_kind_name(p.kind));
	} else if (rc == COORD_OK) {
		struct proto_response r;

		/* A reply to a kind proto/ does not know decodes as
		 * COORD_EUNKNOWNMSG with its envelope filled in. */
		rc = proto_response_decode(body, len, &arena, &r);
		if (rc == COORD_EUNKNOWNMSG) {
			printf("reply ?%" PRIu32, r.kind);
			rc = COORD_OK;
		} else if (rc == COORD_OK) {
			printf("reply %s", proto_kind_name(r.kind));
		}
		if (rc == COORD_OK)
			printf(" id=%llu code=%d %s",
			       (unsigned long long)r.request_id, r.code,
			       coord_error_name(r.code));
		if (rc == COORD_OK && r.kind == PROTO_REGISTER_CLIENT &&
		    r.code == COORD_OK)
			printf(" client=%llu",
			       (unsigned long long)r.u.register_client.client_id);
		if (rc == COORD_OK)
			printf("\n");
	}
	if (rc != COORD_OK)
		printf("undecodable %zu bytes: %s\n", len, coord_error_name(rc));
	proto_arena_close(&arena);
	free(body);
	fflush(stdout);
	return true;
}

static size_t parse_size(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s)
		usage();
	return (size_t)v;
}

static uint8_t *parse_hex(const char *s, size_t *len)
{
	size_t n = strlen(s);
	uint8_t *out;

	if (n % 2 != 0)
		usage();
	out = malloc(n / 2 + 1);
	if (out == NULL)
		exit(2);
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			usage();
		out[i] = (uint8_t)v;
	}
	*len = n / 2;
	return out;
}

static uint8_t *filled(size_t len, char c)
{
	uint8_t *p = malloc(len + 1);

	if (p == NULL)
		exit(2);
	memset(p, c, len);
	return p;
}

static void hello_init(struct proto_request *rq)
{
	memset(rq, 0, sizeof(*rq));
	rq->kind = PROTO_HELLO;
	rq->u.hello.version = PROTO_VERSION;
	rq->u.hello.client_name = proto_bytes_make("raw_client", 10);
}

static void put_init(struct proto_request *rq, const uint8_t *key, size_t klen,
		     const uint8_t *value, size_t vlen)
{
	memset(rq, 0, sizeof(*rq));
	rq->kind = PROTO_PUT;
	rq->u.put.key = proto_bytes_make(key, klen);
	rq->u.put.value = proto_bytes_make(value, vlen);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* flood N HOLD_MS: see the file comment. */
static int flood(size_t n, size_t hold_ms)
{
	int *fds = calloc(n, sizeof(*fds));
	enum { PENDING, SERVED, CLOSED } *state = calloc(n, sizeof(*state));
	struct pollfd *pfds = calloc(n, sizeof(*pfds));
	struct rlimit rl;
	size_t served = 0, closed = 0, left;
	double deadline;

	if (fds == NULL || state == NULL || pfds == NULL)
		exit(2);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < n + 64) {
		rl.rlim_cur = rl.rlim_max < n + 64 ? rl.rlim_max : n + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (size_t i = 0; i < n; i++) {
		fds[i] = dial(true);
		if (fds[i] < 0)
			return 1;
	}
	/* Every connect is under way: now a HELLO on each, once writable. */
	for (size_t i = 0; i < n; i++) {
		struct pollfd p = { fds[i], POLLOUT, 0 };
		struct proto_request rq;
		int flags_err = 0;
		socklen_t sl = sizeof(flags_err);

		if (poll(&p, 1, RECV_TIMEOUT_MS) != 1 ||
		    getsockopt(fds[i], SOL_SOCKET, SO_ERROR, &flags_err, &sl) != 0 ||
		    flags_err != 0) {
			state[i] = CLOSED;
			closed++;
			continue;
		}
		hello_init(&rq);
		rq.request_id = request_id_next++;
		{
			struct proto_buf b;
			size_t mark;

			proto_buf_init(&b, NULL);
			if (proto_frame_begin(&b, &mark) != COORD_OK ||
			    proto_request_encode(&rq, &b) != COORD_OK ||
			    proto_frame_end(&b, mark, SIZE_MAX) != COORD_OK)
				exit(2);
			if (send(fds[i], b.data, b.len, MSG_NOSIGNAL) !=
			    (ssize_t)b.len) {
				state[i] = CLOSED;
				closed++;
			}
			proto_buf_close(&b);
		}
	}
	left = n - closed;
	deadline = now_s() + RECV_TIMEOUT_MS / 1000.0;
	while (left > 0 && now_s() < deadline) {
		size_t m = 0;
		int rc;

		for (size_t i = 0; i < n; i++) {
			if (state[i] != PENDING)
				continue;
			pfds[m].fd = fds[i];
			pfds[m].events = POLLIN;
			pfds[m].revents = 0;
			m++;
		}
		rc = poll(pfds, m, 200);
		if (rc <= 0)
			continue;
		for (size_t k = 0, i = 0; k < m; k++) {
			uint8_t buf[4096];
			ssize_t got;

			if (pfds[k].revents == 0)
				continue;
			while (fds[i] != pfds[k].fd)
				i++;
			got = recv(fds[i], buf, sizeof(buf), 0);
			if (got > 0) {
				state[i] = SERVED;
				served++;
			} else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
				state[i] = CLOSED;
				closed++;
			} else {
				continue;
			}
			left--;
		}
	}
	printf("flood served=%zu closed=%zu silent=%zu\n", served, closed, left);
	fflush(stdout);
	usleep((useconds_t)hold_ms * 1000);
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	free(state);
	free(pfds);
	return 0;
}

int main(int argc, char **argv)
{
	int fd = -1;
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 4)
		usage();
	memset(&server, 0, sizeof(server));
	server.sin_family = AF_INET;
	server.sin_port = htons((uint16_t)parse_size(argv[2]));
	if (inet_pton(AF_INET, argv[1], &server.sin_addr) != 1)
		usage();
	if (strcmp(argv[3], "flood") == 0) {
		if (argc != 6)
			usage();
		return flood(parse_size(argv[4]), parse_size(argv[5]));
	}
	fd = dial(false);
	if (fd < 0)
		return 1;
	for (i = 3; i < argc; i++) {
		const char *step = argv[i];
		const char *a1 = i + 1 < argc ? argv[i + 1] : NULL;
		const char *a2 = i + 2 < argc ? argv[i + 2] : NULL;
		struct proto_request rq;

		if (strcmp(step, "hello") == 0) {
			hello_init(&rq);
			if (send_request(fd, &rq) != 0)
				return 1;
			recv_frame(fd);
		} else if (strcmp(step, "put") == 0 || strcmp(step, "putk") == 0) {
			bool byk = strcmp(step, "putk") == 0;
			size_t klen, vlen;
			uint8_t *key, *value;

			if (a2 == NULL)
				usage();
			klen = byk ? parse_size(a1) : strlen(a1);
			vlen = parse_size(a2);
			key = byk ? filled(klen, 'k') : (uint8_t *)strdup(a1);
			value = filled(vlen, 'v');
			put_init(&rq, key, klen, value, vlen);
			if (send_request(fd, &rq) != 0)
				return 1;
			free(key);
			free(value);
			recv_frame(fd);
			i += 2;
		} else if (strcmp(step, "putc") == 0) {
			const char *a3 = i + 3 < argc ? argv[i + 3] : NULL;

			if (a3 == NULL)
				usage();
			put_init(&rq, (const uint8_t *)a3, strlen(a3),
				 (const uint8_t *)"v", 1);
			rq.client_id = parse_size(a1);
			rq.sequence = parse_size(a2);
			rq.ack = rq.sequence;
			if (send_request(fd, &rq) != 0)
				return 1;
			recv_frame(fd);
			i += 3;
		} else if (strcmp(step, "register") == 0 ||
			   strcmp(step, "watch") == 0) {
			size_t n;

			if (a1 == NULL)
				usage();
			n = parse_size(a1);
			memset(&rq, 0, sizeof(rq));
			rq.kind = PROTO_REGISTER_CLIENT;
			if (strcmp(step, "watch") == 0) {
				rq.kind = PROTO_WATCH_CREATE;
				rq.u.watch_create.key = proto_bytes_make("w/", 2);
				rq.u.watch_create.flags = PROTO_RANGE_PREFIX;
			}
			/* Registrations go out pipelined, all before the first
			 * reply: the server's rate limit sees them at once,
			 * however slow each commit is. */
			for (size_t k = 0; k < n; k++) {
				if (send_request(fd, &rq) != 0)
					return 1;
				if (rq.kind == PROTO_WATCH_CREATE)
					recv_frame(fd);
			}
			for (size_t k = 0; rq.kind != PROTO_WATCH_CREATE && k < n;
			     k++)
				recv_frame(fd);
			i++;
		} else if (strcmp(step, "get") == 0) {
			if (a1 == NULL)
				usage();
			memset(&rq, 0, sizeof(rq));
			rq.kind = PROTO_RANGE;
			rq.u.range.range.key = proto_bytes_make(a1, strlen(a1));
			if (send_request(fd, &rq) != 0)
				return 1;
			recv_frame(fd);
			i++;
		} else if (strcmp(step, "send") == 0 || strcmp(step, "frame") == 0) {
			size_t len;
			uint8_t *bytes;
			uint8_t hdr[PROTO_FRAME_HEADER_BYTES];
			int rc;

			if (a1 == NULL)
				usage();
			bytes = parse_hex(a1, &len);
			if (step[0] == 'f') {
				hdr[0] = (uint8_t)(len >> 24);
				hdr[1] = (uint8_t)(len >> 16);
				hdr[2] = (uint8_t)(len >> 8);
				hdr[3] = (uint8_t)len;
				if (send_all(fd, hdr, sizeof(hdr)) != 0) {
					free(bytes);
					return 1;
				}
			}
			rc = send_all(fd, bytes, len);
			free(bytes);
			if (rc != 0)
				return 1;
			i++;
		} else if (strcmp(step, "recv") == 0) {
			recv_frame(fd);
		} else if (strcmp(step, "eof") == 0) {
			while (recv_frame(fd))
				;
		} else if (strcmp(step, "sleep") == 0) {
			if (a1 == NULL)
				usage();
			usleep((useconds_t)parse_size(a1) * 1000);
			i++;
		} else {
			usage();
		}
	}
	close(fd);
	return 0;
}
