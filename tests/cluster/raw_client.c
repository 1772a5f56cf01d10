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
 *   timeout                             (nothing within 30 s)
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
 *   leases                LEASE_LIST, then read one frame; a reply line
 *                         with code 0 ends "leases=ID,ID..." (rising)
 *   get KEY               RANGE of KEY, then read one frame
 *   range PREFIX LIMIT    RANGE of the keys under PREFIX with LIMIT (0:
 *                         none), then read one frame and print
 *                         "range code=C n=N count=T more=0|1"
 *   watch N               N WATCH_CREATEs on prefix "w/", reading each reply
 *   rangetxn N PREFIX     one TXN (a registered client id, sequence 1) of N ranges,
 *                         each over every key with PREFIX, then read
 *   compact REV           COMPACT at REV, then read one frame
 *   transfer ID           TRANSFER_LEADER to node ID (hex; 0: any), then read
 *   send HEX              these bytes as they are (no frame header)
 *   frame HEX             one frame whose body is these bytes
 *   recv                  read one frame
 *   shutwr                close the sending side (the server sees EOF)
 *   recvline              read bytes up to a newline (not a frame): print
 *                         "line: TEXT" (without CR/LF), or "closed"
 *   eof                   read frames until the server closes (or 30 s)
 *   sleep MS
 *   flood N HOLD_MS       instead of one connection: open N at once, send
 *                         each a HELLO, wait up to 5 s for the answers,
 *                         print "flood served=S closed=C silent=Q", then
 *                         hold the served ones open for HOLD_MS
 *   attack N LEN SEND HELLO WAIT_MS
 *                         instead of one connection: open N at once; on
 *                         each (after a HELLO and its reply when HELLO is
 *                         1) send a frame header announcing LEN bytes and
 *                         then SEND bytes of it (never the rest), as fast
 *                         as the server takes them; wait until the server
 *                         has closed every one (or WAIT_MS), print
 *                         "attack opened=O closed=C open=P"
 *   watchfrom N REV       N WATCH_CREATEs on prefix "h" from revision REV
 *                         in one send, reading nothing (a slow reader)
 *   watchkeys N PREFIX    N WATCH_CREATEs of the keys PREFIX0.. in one
 *                         send, then their replies: prints "watches
 *                         created=C refused=R[ NAME]" (NAME: the first
 *                         refusal's code)
 *   watchone exact KEY | prefix KEY | range KEY END
 *                         one WATCH_CREATE, then read its reply
 *   puts N KEY            N PUTs of KEY one after the other: prints
 *                         "puts n=N p50_us=P p99_us=Q"
 *   drain MS              read pushes for MS ms: prints "events watch=ID
 *                         n=N" for each watch that had some
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
#include "tests/cluster/raw_io.h"

#define RECV_TIMEOUT_MS 5000
/* A reply may wait for a slow fsync on a busy machine. */
#define RECV_REPLY_TIMEOUT_MS 30000

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

static int send_request(int fd, struct proto_request *rq)
{
	struct proto_buf b;
	int rc;

	rq->request_id = request_id_next++;
	rc = raw_request_frame(rq, &b);
	if (rc != COORD_OK) {
		fprintf(stderr, "raw_client: encoding %s: %s\n",
			proto_kind_name(rq->kind), coord_error_name(rc));
		exit(2);
	}
	rc = raw_send_all(fd, b.data, b.len);
	proto_buf_close(&b);
	return rc;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* " leases=ID,ID..." in rising order (" leases=" for none). */
static void print_leases(const struct proto_u64_list *l)
{
	uint64_t *v = malloc((l->n + 1) * sizeof(*v));

	if (v == NULL)
		exit(2);
	if (l->n > 0)
		memcpy(v, l->v, l->n * sizeof(*v));
	qsort(v, l->n, sizeof(*v), u64_cmp);
	printf(" leases=");
	for (size_t i = 0; i < l->n; i++)
		printf("%s%llu", i > 0 ? "," : "", (unsigned long long)v[i]);
	free(v);
}

/* Reads and prints one frame; false once the connection is closed or
 * silent. */
static bool recv_frame(int fd)
{
	uint8_t *body;
	size_t len;
	struct proto_arena arena;
	uint32_t kind;
	int rc;

	body = raw_read_frame(fd, COORD_RESPONSE_FRAME_BYTES_MAX, &len);
	if (body == NULL)
		return false;
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
		if (rc == COORD_OK && r.kind == PROTO_LEASE_LIST &&
		    r.code == COORD_OK)
			print_leases(&r.u.lease_list.leases);
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

/* Reads one frame, a RANGE reply: prints its code and what it holds. */
static void recv_range(int fd)
{
	uint8_t hdr[PROTO_FRAME_HEADER_BYTES];
	uint8_t *body;
	size_t len;
	struct proto_arena arena;
	struct proto_response r;
	int rc;

	if (raw_read_exact(fd, hdr, sizeof(hdr), RECV_REPLY_TIMEOUT_MS) <= 0) {
		printf("closed\n");
		return;
	}
	len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 |
	      (size_t)hdr[2] << 8 | hdr[3];
	if (len == 0 || len > COORD_RESPONSE_FRAME_BYTES_MAX ||
	    (body = malloc(len)) == NULL) {
		printf("bad frame length %zu\n", len);
		return;
	}
	if (raw_read_exact(fd, body, len, RECV_REPLY_TIMEOUT_MS) <= 0) {
		printf("truncated frame\n");
		free(body);
		return;
	}
	proto_arena_init(&arena, NULL);
	rc = proto_response_decode(body, len, &arena, &r);
	if (rc != COORD_OK)
		printf("undecodable %zu bytes: %s\n", len, coord_error_name(rc));
	else
		printf("range code=%d n=%zu count=%llu more=%d\n", r.code,
		       r.u.kv.u.range.n_kvs,
		       (unsigned long long)r.u.kv.u.range.count,
		       r.u.kv.u.range.more ? 1 : 0);
	proto_arena_close(&arena);
	free(body);
}

static size_t parse_size(const char *s)
{
	uint64_t v;

	if (raw_parse_u64(s, 10, &v) != 0)
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

/* rangetxn N PREFIX: see the file comment. */
/* Registers a client id (REGISTER_CLIENT) for a request that needs one;
 * exits 2 when the server gives none. */
static uint64_t register_id(int fd)
{
	struct proto_request rq;
	struct proto_response r;
	struct proto_arena arena;
	uint8_t *body;
	size_t len;
	uint64_t id = 0;

	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_REGISTER_CLIENT;
	if (send_request(fd, &rq) != 0)
		exit(2);
	body = raw_read_frame(fd, COORD_RESPONSE_FRAME_BYTES_MAX, &len);
	if (body == NULL)
		exit(2);
	proto_arena_init(&arena, NULL);
	if (proto_response_decode(body, len, &arena, &r) == COORD_OK &&
	    r.kind == PROTO_REGISTER_CLIENT && r.code == COORD_OK)
		id = r.u.register_client.client_id;
	proto_arena_close(&arena);
	free(body);
	if (id == 0) {
		printf("register: no client id\n");
		exit(2);
	}
	return id;
}

static int range_txn(int fd, size_t n, const char *prefix)
{
	struct proto_op *ops = calloc(n == 0 ? 1 : n, sizeof(*ops));
	struct proto_request rq;
	int rc;

	if (ops == NULL) {
		perror("calloc");
		exit(2);
	}
	for (size_t k = 0; k < n; k++) {
		ops[k].type = PROTO_CMD_RANGE;
		ops[k].u.range.key = proto_bytes_make(prefix, strlen(prefix));
		ops[k].u.range.flags = PROTO_RANGE_PREFIX;
	}
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_TXN;
	rq.client_id = register_id(fd);
	rq.sequence = 1;
	rq.ack = 1;
	rq.u.txn.type = PROTO_CMD_TXN;
	rq.u.txn.u.txn.success = ops;
	rq.u.txn.u.txn.n_success = n;
	rc = send_request(fd, &rq);
	free(ops);
	if (rc == 0)
		recv_frame(fd);
	return rc;
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

enum attack_phase { A_CONNECTING, A_HELLO, A_SENDING, A_HOLDING, A_CLOSED };

/* One frame of rq in a fresh buffer (the caller closes it). */
static void frame_of(struct proto_request *rq, struct proto_buf *b)
{
	size_t mark;

	rq->request_id = request_id_next++;
	proto_buf_init(b, NULL);
	if (proto_frame_begin(b, &mark) != COORD_OK ||
	    proto_request_encode(rq, b) != COORD_OK ||
	    proto_frame_end(b, mark, SIZE_MAX) != COORD_OK)
		exit(2);
}

/* attack N LEN SEND HELLO WAIT_MS: see the file comment. */
static int attack(size_t n, size_t len, size_t send_len, bool hello,
		  size_t wait_ms)
{
	int *fds = calloc(n, sizeof(*fds));
	enum attack_phase *ph = calloc(n, sizeof(*ph));
	size_t *sent = calloc(n, sizeof(*sent));
	struct pollfd *pfds = calloc(n, sizeof(*pfds));
	size_t *idx = calloc(n, sizeof(*idx));
	uint8_t *payload = calloc(1, send_len + PROTO_FRAME_HEADER_BYTES);
	size_t total = send_len + PROTO_FRAME_HEADER_BYTES, closed = 0;
	struct proto_request rq;
	struct proto_buf hb;
	struct rlimit rl;
	double deadline = now_s() + (double)wait_ms / 1000.0;

	if (fds == NULL || ph == NULL || sent == NULL || pfds == NULL ||
	    idx == NULL || payload == NULL)
		exit(2);
	payload[0] = (uint8_t)(len >> 24);
	payload[1] = (uint8_t)(len >> 16);
	payload[2] = (uint8_t)(len >> 8);
	payload[3] = (uint8_t)len;
	hello_init(&rq);
	frame_of(&rq, &hb);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < n + 64) {
		rl.rlim_cur = rl.rlim_max < n + 64 ? rl.rlim_max : n + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (size_t i = 0; i < n; i++) {
		int small = 64 << 10;

		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (fds[i] < 0) {
			perror("socket");
			return 1;
		}
		/* Keep the kernel's share small: the server's memory is
		 * what the test measures. */
		setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
		if (connect(fds[i], (struct sockaddr *)&server,
			    sizeof(server)) != 0 && errno != EINPROGRESS) {
			perror("connect");
			return 1;
		}
	}
	while (closed < n && now_s() < deadline) {
		size_t m = 0;

		for (size_t i = 0; i < n; i++) {
			short ev = POLLIN;

			if (ph[i] == A_CLOSED)
				continue;
			if (ph[i] == A_CONNECTING)
				ev = POLLOUT;
			else if (ph[i] == A_SENDING)
				ev = POLLIN | POLLOUT;
			pfds[m].fd = fds[i];
			pfds[m].events = ev;
			pfds[m].revents = 0;
			idx[m++] = i;
		}
		if (poll(pfds, m, 100) <= 0)
			continue;
		for (size_t k = 0; k < m; k++) {
			size_t i = idx[k];
			short re = pfds[k].revents;

			if (re == 0)
				continue;
			if (ph[i] == A_CONNECTING) {
				int e = 0;
				socklen_t sl = sizeof(e);

				if (getsockopt(fds[i], SOL_SOCKET, SO_ERROR, &e,
					       &sl) != 0 || e != 0) {
					ph[i] = A_CLOSED;
				} else if (hello) {
					if (send(fds[i], hb.data, hb.len,
						 MSG_NOSIGNAL) != (ssize_t)hb.len)
						ph[i] = A_CLOSED;
					else
						ph[i] = A_HELLO;
				} else {
					ph[i] = A_SENDING;
				}
			} else if (re & (POLLIN | POLLHUP | POLLERR)) {
				uint8_t buf[4096];
				ssize_t got = recv(fds[i], buf, sizeof(buf), 0);

				if (got == 0 ||
				    (got < 0 && errno != EAGAIN && errno != EINTR))
					ph[i] = A_CLOSED;
				else if (got > 0 && ph[i] == A_HELLO)
					ph[i] = A_SENDING;
			} else if (ph[i] == A_SENDING && (re & POLLOUT)) {
				ssize_t w = send(fds[i], payload + sent[i],
						 total - sent[i], MSG_NOSIGNAL);

				if (w > 0)
					sent[i] += (size_t)w;
				else if (w < 0 && errno != EAGAIN &&
					 errno != EINTR)
					ph[i] = A_CLOSED;
				if (sent[i] == total)
					ph[i] = A_HOLDING;
			}
			if (ph[i] == A_CLOSED) {
				closed++;
				close(fds[i]);
			}
		}
	}
	printf("attack opened=%zu closed=%zu open=%zu\n", n, closed, n - closed);
	for (size_t i = 0; i < n; i++)
		if (ph[i] != A_CLOSED)
			close(fds[i]);
	proto_buf_close(&hb);
	free(fds);
	free(ph);
	free(sent);
	free(pfds);
	free(idx);
	free(payload);
	return 0;
}

/* One whole frame's body into *body (the caller frees it): 1, or 0 when
 * closed or silent for timeout_ms. */
static int recv_body(int fd, uint8_t **body, size_t *len, int timeout_ms)
{
	uint8_t hdr[PROTO_FRAME_HEADER_BYTES];

	if (raw_read_exact(fd, hdr, sizeof(hdr), timeout_ms) <= 0)
		return 0;
	*len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 |
	       (size_t)hdr[2] << 8 | hdr[3];
	if (*len == 0 || *len > COORD_RESPONSE_FRAME_BYTES_MAX ||
	    (*body = malloc(*len)) == NULL)
		return 0;
	if (raw_read_exact(fd, *body, *len, RECV_TIMEOUT_MS) <= 0) {
		free(*body);
		return 0;
	}
	return 1;
}

/* watchkeys N PREFIX: see the file comment. */
static int watch_keys(int fd, size_t n, const char *prefix)
{
	struct proto_buf all, one;
	size_t created = 0, refused = 0;
	int first = COORD_OK;

	proto_buf_init(&all, NULL);
	for (size_t k = 0; k < n; k++) {
		struct proto_request rq;
		char key[300];

		snprintf(key, sizeof(key), "%s%zu", prefix, k);
		memset(&rq, 0, sizeof(rq));
		rq.kind = PROTO_WATCH_CREATE;
		rq.u.watch_create.key = proto_bytes_make(key, strlen(key));
		frame_of(&rq, &one);
		if (proto_buf_append(&all, one.data, one.len) != COORD_OK)
			exit(2);
		proto_buf_close(&one);
	}
	if (raw_send_all(fd, all.data, all.len) != 0)
		return 1;
	proto_buf_close(&all);
	while (created + refused < n) {
		uint8_t *body;
		size_t len;
		struct proto_arena arena;
		struct proto_response r;

		if (!recv_body(fd, &body, &len, RECV_TIMEOUT_MS))
			break;
		proto_arena_init(&arena, NULL);
		if (proto_response_decode(body, len, &arena, &r) == COORD_OK &&
		    r.kind == PROTO_WATCH_CREATE) {
			if (r.code == COORD_OK) {
				created++;
			} else {
				if (refused++ == 0)
					first = r.code;
			}
		}
		proto_arena_close(&arena);
		free(body);
	}
	printf("watches created=%zu refused=%zu%s%s\n", created, refused,
	       refused > 0 ? " " : "", refused > 0 ? coord_error_name(first) : "");
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* puts N KEY: see the file comment (pushes in between are skipped). */
static int puts_timed(int fd, size_t n, const char *key)
{
	double *us = calloc(n > 0 ? n : 1, sizeof(*us));

	if (us == NULL || n == 0)
		exit(2);
	for (size_t k = 0; k < n; k++) {
		struct proto_request rq;
		double t0 = now_s();

		put_init(&rq, (const uint8_t *)key, strlen(key),
			 (const uint8_t *)"v", 1);
		if (send_request(fd, &rq) != 0)
			return 1;
		for (;;) {
			uint8_t *body;
			size_t len;
			uint32_t kind;
			bool reply;

			if (!recv_body(fd, &body, &len, RECV_TIMEOUT_MS)) {
				printf("puts: no reply\n");
				free(us);
				return 1;
			}
			reply = proto_server_msg_kind(body, len, &kind) ==
					COORD_OK && kind < PROTO_PUSH_FIRST;
			free(body);
			if (reply)
				break;
		}
		us[k] = (now_s() - t0) * 1e6;
	}
	qsort(us, n, sizeof(*us), cmp_double);
	printf("puts n=%zu p50_us=%.0f p99_us=%.0f\n", n, us[n / 2],
	       us[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1]);
	free(us);
	return 0;
}

/* drain MS: see the file comment. */
static void drain(int fd, size_t ms)
{
	uint64_t ids[64];
	size_t counts[64], n_ids = 0;
	double end = now_s() + (double)ms / 1000.0;

	while (now_s() < end) {
		uint8_t *body;
		size_t len;
		struct proto_arena arena;
		struct proto_push p;
		int left = (int)((end - now_s()) * 1000.0) + 1;

		if (!recv_body(fd, &body, &len, left))
			break;
		proto_arena_init(&arena, NULL);
		if (proto_push_decode(body, len, &arena, &p) == COORD_OK &&
		    p.kind == PROTO_PUSH_WATCH_EVENTS) {
			size_t k = 0;

			while (k < n_ids && ids[k] != p.u.watch_events.watch_id)
				k++;
			if (k == n_ids && n_ids < 64) {
				ids[n_ids] = p.u.watch_events.watch_id;
				counts[n_ids++] = 0;
			}
			if (k < n_ids)
				counts[k] += p.u.watch_events.events.n;
		}
		proto_arena_close(&arena);
		free(body);
	}
	for (size_t k = 0; k < n_ids; k++)
		printf("events watch=%llu n=%zu\n", (unsigned long long)ids[k],
		       counts[k]);
}

int main(int argc, char **argv)
{
	int fd = -1;
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	raw_recv_timeout_ms = RECV_REPLY_TIMEOUT_MS;
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
	if (strcmp(argv[3], "attack") == 0) {
		if (argc != 9)
			usage();
		return attack(parse_size(argv[4]), parse_size(argv[5]),
			      parse_size(argv[6]), parse_size(argv[7]) != 0,
			      parse_size(argv[8]));
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
		} else if (strcmp(step, "leases") == 0) {
			memset(&rq, 0, sizeof(rq));
			rq.kind = PROTO_LEASE_LIST;
			if (send_request(fd, &rq) != 0)
				return 1;
			recv_frame(fd);
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
		} else if (strcmp(step, "range") == 0) {
			if (a2 == NULL)
				usage();
			memset(&rq, 0, sizeof(rq));
			rq.kind = PROTO_RANGE;
			rq.u.range.range.key = proto_bytes_make(a1, strlen(a1));
			rq.u.range.range.flags = PROTO_RANGE_PREFIX;
			rq.u.range.range.limit = parse_size(a2);
			if (send_request(fd, &rq) != 0)
				return 1;
			recv_range(fd);
			i += 2;
		} else if (strcmp(step, "compact") == 0 ||
			   strcmp(step, "transfer") == 0) {
			if (a1 == NULL)
				usage();
			memset(&rq, 0, sizeof(rq));
			if (step[0] == 'c') {
				rq.kind = PROTO_COMPACT;
				rq.client_id = register_id(fd);
				rq.sequence = 1;
				rq.ack = 1;
				rq.u.compact.revision = parse_size(a1);
			} else {
				rq.kind = PROTO_TRANSFER_LEADER;
				rq.u.member.id = strtoull(a1, NULL, 16);
			}
			if (send_request(fd, &rq) != 0)
				return 1;
			recv_frame(fd);
			i++;
		} else if (strcmp(step, "rangetxn") == 0) {
			if (a2 == NULL)
				usage();
			if (range_txn(fd, parse_size(a1), a2) != 0)
				return 1;
			i += 2;
		} else if (strcmp(step, "watchfrom") == 0) {
			struct proto_buf all, one;
			size_t n;

			if (a2 == NULL)
				usage();
			n = parse_size(a1);
			proto_buf_init(&all, NULL);
			for (size_t k = 0; k < n; k++) {
				memset(&rq, 0, sizeof(rq));
				rq.kind = PROTO_WATCH_CREATE;
				rq.u.watch_create.key = proto_bytes_make("h", 1);
				rq.u.watch_create.flags = PROTO_RANGE_PREFIX;
				rq.u.watch_create.start_revision = parse_size(a2);
				frame_of(&rq, &one);
				if (proto_buf_append(&all, one.data, one.len) !=
				    COORD_OK)
					exit(2);
				proto_buf_close(&one);
			}
			if (raw_send_all(fd, all.data, all.len) != 0)
				return 1;
			proto_buf_close(&all);
			i += 2;
		} else if (strcmp(step, "watchkeys") == 0) {
			if (a2 == NULL)
				usage();
			if (watch_keys(fd, parse_size(a1), a2) != 0)
				return 1;
			i += 2;
		} else if (strcmp(step, "watchone") == 0) {
			const char *a3 = i + 3 < argc ? argv[i + 3] : NULL;

			if (a2 == NULL)
				usage();
			memset(&rq, 0, sizeof(rq));
			rq.kind = PROTO_WATCH_CREATE;
			rq.u.watch_create.key = proto_bytes_make(a2, strlen(a2));
			if (strcmp(a1, "prefix") == 0) {
				rq.u.watch_create.flags = PROTO_RANGE_PREFIX;
			} else if (strcmp(a1, "range") == 0) {
				if (a3 == NULL)
					usage();
				rq.u.watch_create.end =
					proto_bytes_make(a3, strlen(a3));
				i++;
			} else if (strcmp(a1, "exact") != 0) {
				usage();
			}
			if (send_request(fd, &rq) != 0)
				return 1;
			recv_frame(fd);
			i += 2;
		} else if (strcmp(step, "puts") == 0) {
			if (a2 == NULL)
				usage();
			if (puts_timed(fd, parse_size(a1), a2) != 0)
				return 1;
			i += 2;
		} else if (strcmp(step, "drain") == 0) {
			if (a1 == NULL)
				usage();
			drain(fd, parse_size(a1));
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
				if (raw_send_all(fd, hdr, sizeof(hdr)) != 0) {
					free(bytes);
					return 1;
				}
			}
			rc = raw_send_all(fd, bytes, len);
			free(bytes);
			if (rc != 0)
				return 1;
			i++;
		} else if (strcmp(step, "recv") == 0) {
			recv_frame(fd);
		} else if (strcmp(step, "shutwr") == 0) {
			shutdown(fd, SHUT_WR);
		} else if (strcmp(step, "recvline") == 0) {
			char line[512];
			size_t n = 0;
			uint8_t ch;

			while (n + 1 < sizeof(line) &&
			       raw_read_exact(fd, &ch, 1, RECV_TIMEOUT_MS) == 1 &&
			       ch != '\n')
				if (ch != '\r')
					line[n++] = (char)ch;
			line[n] = '\0';
			if (n == 0)
				printf("closed\n");
			else
				printf("line: %s\n", line);
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
