/*
 * tests/cluster/raw_peer.c: a peer of coordd at the level of bytes, for
 * the attacks of tests/cluster/peer_forge.sh and peer_tls_identity.sh
 * (issue 14): forged HELLOs, APPENDs and HEARTBEATs, snapshot chunks. It
 * runs the steps named on its command line, in order, on one plain-TCP
 * connection to HOST:PORT -- or, with --emit instead of HOST PORT, writes
 * the frames to stdout (for a TLS client such as openssl s_client) --
 * and prints one line per frame it reads:
 *
 *   hello from=ID to=ID cluster=ID      (ids in hex)
 *   raft TYPE from=ID term=N index=N reject=0|1
 *   chunk index=N offset=N len=N
 *   undecodable LEN bytes: NAME
 *   closed                              (the server closed the connection)
 *   timeout                             (nothing within 5 s)
 *
 * Members are named as coordd names them (their id is
 * proto_member_id(name)); every message is built with proto/'s encoders.
 * Steps:
 *   hello FROM TO CLUSTER        peer HELLO, CLUSTER in hex
 *   heartbeat FROM TO TERM COMMIT
 *   append FROM TO TERM PREV_INDEX PREV_TERM COMMIT KEY VALUE
 *                                one entry at PREV_INDEX+1 of term TERM:
 *                                a PUT of KEY = VALUE
 *   publish NAME CLIENT HTTP     member PUBLISH of NAME (its id and name)
 *                                with these client and HTTP addresses
 *   chunks N INDEX TERM LEN      N snapshot chunks of LEN bytes from
 *                                offset 0 on, none of them the last, in
 *                                the store's chunk format (chunk_make())
 *   recv                         read one frame
 *   eof                          read frames until the server closes (or
 *                                5 s of silence)
 *   sleep MS
 *
 * raw_peer --listen PORT is a peer port on 127.0.0.1:PORT that accepts
 * and never answers (the dialer's HELLO deadline, tests/cluster/
 * cluster_id.sh): it prints "accepted" and the HELLO (as above) of each
 * connection, keeps the last 64 open and runs until it is killed.
 *
 * Exit status 0 when every step could be carried out (whatever the server
 * answered), 1 when a send failed, 2 on usage errors.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proto/arena.h"
#include "proto/buf.h"
#include "proto/errors.h"
#include "proto/frame.h"
#include "proto/limits.h"
#include "proto/msg.h"
#include "proto/peer.h"
#include "coordd/store/crc32c.h"
#include "coordd/store/store.h"
#include "proto/wire.h"
#include "tests/cluster/raw_io.h"

static void usage(void)
{
	fprintf(stderr, "usage: raw_peer HOST PORT STEP... | raw_peer --emit "
			"STEP... | raw_peer --listen PORT (see the source)\n");
	exit(2);
}

static uint64_t id_of(const char *name)
{
	return proto_member_id(name, strlen(name));
}

static uint64_t num(const char *s)
{
	uint64_t v;

	if (raw_parse_u64(s, 0, &v) != 0)
		usage();
	return v;
}

/* The four kinds of message, one frame each. */
enum what { W_HELLO, W_RAFT, W_CHUNK, W_PUBLISH };

static int send_msg(int fd, enum what w, const void *msg)
{
	struct proto_buf b;
	size_t mark;
	int rc;

	proto_buf_init(&b, NULL);
	rc = proto_frame_begin(&b, &mark);
	if (rc == COORD_OK && w == W_HELLO)
		rc = proto_peer_hello_encode(msg, &b);
	else if (rc == COORD_OK && w == W_RAFT)
		rc = proto_peer_raft_encode(msg, &b);
	else if (rc == COORD_OK && w == W_PUBLISH)
		rc = proto_peer_publish_encode(msg, &b);
	else if (rc == COORD_OK)
		rc = proto_peer_chunk_encode(msg, &b);
	if (rc == COORD_OK)
		rc = proto_frame_end(&b, mark, SIZE_MAX);
	if (rc != COORD_OK) {
		fprintf(stderr, "raw_peer: encoding: %s\n",
			coord_error_name(rc));
		exit(2);
	}
	rc = raw_send_all(fd, b.data, b.len);
	proto_buf_close(&b);
	return rc;
}

/* Reads and prints one frame; false once the connection is closed or
 * silent. */
static bool recv_frame(int fd)
{
	uint8_t *body;
	size_t len;
	struct proto_arena arena;
	struct proto_peer_msg m;
	int rc;

	body = raw_read_frame(fd, COORD_PEER_FRAME_BYTES_MAX, &len);
	if (body == NULL)
		return false;
	proto_arena_init(&arena, NULL);
	rc = proto_peer_decode(body, len, &arena, &m);
	if (rc != COORD_OK)
		printf("undecodable %zu bytes: %s\n", len, coord_error_name(rc));
	else if (m.kind == PROTO_PEER_HELLO)
		printf("hello from=%016" PRIx64 " to=%016" PRIx64
		       " cluster=%016" PRIx64 "\n", m.u.hello.from,
		       m.u.hello.to, m.u.hello.cluster_id);
	else if (m.kind == PROTO_PEER_RAFT)
		printf("raft %s from=%016" PRIx64 " term=%" PRIu64
		       " index=%" PRIu64 " reject=%d\n",
		       raft_msg_type_name((int)m.u.raft.type), m.u.raft.from,
		       m.u.raft.term, m.u.raft.index, m.u.raft.reject);
	else
		printf("chunk index=%" PRIu64 " offset=%" PRIu64 " len=%zu\n",
		       m.u.chunk.index, m.u.chunk.offset, m.u.chunk.data.len);
	fflush(stdout);
	proto_arena_close(&arena);
	free(body);
	return true;
}

static int dial(const char *host, const char *port)
{
	struct sockaddr_in sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)num(port));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		usage();
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("connect");
		exit(1);
	}
	return fd;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

/* Chunk seq of a snapshot stream in the store's format (coordd/store/
 * snapshot.c: a 40-byte header "CSNK", version 1, flags, seq, records,
 * index, term, body length, CRC32C; records of key and value lengths and
 * bytes): one record, key "raw/SEQ", its value filling len bytes -- data
 * a node stages as it would a real snapshot's. */
static void chunk_make(uint8_t *out, size_t len, uint32_t seq, uint64_t index,
		       uint64_t term)
{
	uint32_t body = (uint32_t)(len - STORE_SNAPSHOT_CHUNK_HEADER);
	uint8_t *rec = out + STORE_SNAPSHOT_CHUNK_HEADER;
	char key[16];

	snprintf(key, sizeof(key), "raw/%08" PRIu32, seq);
	memset(out, 0, len);
	memcpy(out, "CSNK", 4);
	out[4] = 1;
	put_be32(out + 8, seq);
	put_be32(out + 12, 1);
	put_be64(out + 16, index);
	put_be64(out + 24, term);
	put_be32(out + 32, body);
	put_be32(rec, 12);
	put_be32(rec + 4, body - 8 - 12);
	memcpy(rec + 8, key, 12);
	memset(rec + 20, 'x', body - 8 - 12);
	put_be32(out + 36, store_crc32c_extend(store_crc32c(out, 36), rec, body));
}

/* Runs the step at argv[0]; returns the words it took, 0 on a failed
 * send. */
static int step(int fd, bool emit, int argc, char **argv)
{
	const char *s = argv[0];

#define NEED(n) do { if (argc < (n) + 1) usage(); } while (0)
	if (strcmp(s, "hello") == 0) {
		struct proto_peer_hello h = { PROTO_PEER_VERSION, 0, 0, 0 };
		char *end;

		NEED(3);
		h.from = id_of(argv[1]);
		h.to = id_of(argv[2]);
		h.cluster_id = strtoull(argv[3], &end, 16);
		if (*end != '\0' || end == argv[3])
			usage();
		return send_msg(fd, W_HELLO, &h) == 0 ? 4 : 0;
	}
	if (strcmp(s, "heartbeat") == 0) {
		struct raft_message m;

		NEED(4);
		memset(&m, 0, sizeof(m));
		m.type = RAFT_MSG_HEARTBEAT;
		m.from = id_of(argv[1]);
		m.to = id_of(argv[2]);
		m.term = num(argv[3]);
		m.commit = num(argv[4]);
		return send_msg(fd, W_RAFT, &m) == 0 ? 5 : 0;
	}
	if (strcmp(s, "append") == 0) {
		struct raft_message m;
		struct raft_entry e;
		struct proto_entry pe;
		struct proto_buf b;
		int rc;

		NEED(8);
		memset(&pe, 0, sizeof(pe));
		pe.cmd.type = PROTO_CMD_PUT;
		pe.cmd.u.put.key = proto_bytes_make(argv[7], strlen(argv[7]));
		pe.cmd.u.put.value = proto_bytes_make(argv[8], strlen(argv[8]));
		proto_buf_init(&b, NULL);
		if (proto_entry_encode(&pe, &b) != COORD_OK)
			usage();
		memset(&m, 0, sizeof(m));
		m.type = RAFT_MSG_APPEND;
		m.from = id_of(argv[1]);
		m.to = id_of(argv[2]);
		m.term = num(argv[3]);
		m.index = num(argv[4]);
		m.log_term = num(argv[5]);
		m.commit = num(argv[6]);
		e.term = m.term;
		e.index = m.index + 1;
		e.type = RAFT_ENTRY_NORMAL;
		e.len = (uint32_t)b.len;
		e.data = b.data;
		m.entries = &e;
		m.n_entries = 1;
		rc = send_msg(fd, W_RAFT, &m);
		proto_buf_close(&b);
		return rc == 0 ? 9 : 0;
	}
	if (strcmp(s, "chunks") == 0) {
		struct proto_snapshot_chunk c;
		uint64_t n;
		size_t len;
		uint8_t *data;

		NEED(4);
		n = num(argv[1]);
		len = (size_t)num(argv[4]);
		if (len > COORD_SNAPSHOT_CHUNK_BYTES_MAX ||
		    len < STORE_SNAPSHOT_CHUNK_HEADER + 8 + 12)
			usage();
		data = malloc(len);
		if (data == NULL)
			exit(2);
		c.index = num(argv[2]);
		c.term = num(argv[3]);
		c.last = false;
		for (uint64_t i = 0; i < n; i++) {
			chunk_make(data, len, (uint32_t)i, c.index, c.term);
			c.data = proto_bytes_make(data, len);
			c.offset = i * len;
			if (send_msg(fd, W_CHUNK, &c) != 0) {
				free(data);
				return 0;
			}
		}
		free(data);
		return 5;
	}
	if (strcmp(s, "publish") == 0) {
		struct proto_peer_publish p;

		NEED(3);
		p.id = id_of(argv[1]);
		p.name = proto_bytes_make(argv[1], strlen(argv[1]));
		p.client_addr = proto_bytes_make(argv[2], strlen(argv[2]));
		p.http_addr = proto_bytes_make(argv[3], strlen(argv[3]));
		return send_msg(fd, W_PUBLISH, &p) == 0 ? 4 : 0;
	}
	if (strcmp(s, "sleep") == 0) {
		uint64_t ms;
		struct timespec ts;

		NEED(1);
		ms = num(argv[1]);
		ts.tv_sec = (time_t)(ms / 1000);
		ts.tv_nsec = (long)(ms % 1000) * 1000000L;
		nanosleep(&ts, NULL);
		return 2;
	}
	if (emit)
		usage();
	if (strcmp(s, "recv") == 0) {
		recv_frame(fd);
		return 1;
	}
	if (strcmp(s, "eof") == 0) {
		while (recv_frame(fd))
			;
		return 1;
	}
	usage();
	return 0;
#undef NEED
}

static int listen_mute(const char *port)
{
	struct sockaddr_in sa;
	int held[64], one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0);
	size_t n = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)num(port));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(lfd, 16) != 0) {
		perror("listen");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		printf("accepted\n");
		fflush(stdout);
		recv_frame(fd);
		if (n == sizeof(held) / sizeof(held[0])) {
			close(held[0]);
			memmove(held, held + 1, --n * sizeof(held[0]));
		}
		held[n++] = fd;
	}
}

int main(int argc, char **argv)
{
	bool emit = argc > 1 && strcmp(argv[1], "--emit") == 0;
	int fd, i = emit ? 2 : 3;

	if (argc == 3 && strcmp(argv[1], "--listen") == 0)
		return listen_mute(argv[2]);

	if (argc < i + 1)
		usage();
	fd = emit ? STDOUT_FILENO : dial(argv[1], argv[2]);
	while (i < argc) {
		int used = step(fd, emit, argc - i, argv + i);

		if (used == 0)
			return 1;
		i += used;
	}
	if (!emit)
		close(fd);
	return 0;
}
