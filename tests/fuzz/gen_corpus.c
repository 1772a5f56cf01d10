/*
 * tests/fuzz/gen_corpus.c: writes the seed corpus of the fuzzers, one
 * file per valid message, from the samples of
 * tests/unit/test_wire_samples.c:
 *   gen_corpus DIR   ->  DIR/<target>/<kind>  for every target
 * run.sh builds and runs it; the output is kept in tests/fuzz/corpus/
 * (regenerate after a format change: sh tests/fuzz/run.sh --corpus).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "proto/errors.h"
#include "proto/frame.h"
#include "proto/limits.h"
#include "proto/msg.h"
#include "proto/peer.h"
#include "proto/wire.h"
#include "tests/unit/test_wire_samples.h"

static const char *dir;
static int failed;

static void mkdir_p(const char *path)
{
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		perror(path);
		failed = 1;
	}
}

static void save(const char *target, const char *name, int rc,
		 const struct proto_buf *b)
{
	char path[512];
	FILE *f;

	if (rc != COORD_OK) {
		fprintf(stderr, "gen_corpus: %s/%s: %s\n", target, name,
			coord_error_name(rc));
		failed = 1;
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, target);
	mkdir_p(path);
	snprintf(path, sizeof(path), "%s/%s/%s", dir, target, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(b->data, 1, b->len, f) != b->len) {
		perror(path);
		failed = 1;
	}
	if (f != NULL)
		fclose(f);
}

/* The command a KV request carries, as the server would propose it. */
static bool kv_cmd(const struct proto_request *req, struct proto_cmd *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	switch (req->kind) {
	case PROTO_PUT:
		cmd->type = PROTO_CMD_PUT;
		cmd->u.put = req->u.put;
		return true;
	case PROTO_RANGE:
		cmd->type = PROTO_CMD_RANGE;
		cmd->u.range = req->u.range.range;
		return true;
	case PROTO_DELETE:
		cmd->type = PROTO_CMD_DELETE;
		cmd->u.del = req->u.del;
		return true;
	case PROTO_TXN:
		*cmd = req->u.txn;
		return true;
	case PROTO_COMPACT:
		cmd->type = PROTO_CMD_COMPACT;
		cmd->u.compact = req->u.compact;
		return true;
	}
	return false;
}

/* One command, entry and reply of each lease, session and lock command
 * of the fsm (they have no request kind of their own). */
static void lock_cmd_samples(struct proto_buf *b)
{
	static const uint64_t leases[2] = { 11, 12 };
	static const struct proto_lease_ttl_item ttls[2] = { { 11, 5000 },
							     { 12, 0 } };
	static const struct proto_fence fences[1] = {
		{ { (const uint8_t *)"lock", 4 }, 42 }
	};
	struct proto_cmd put = { .type = PROTO_CMD_PUT };
	struct proto_entry e = { .client_id = 7, .sequence = 3, .ack = 3,
				 .now_ms = 1700000000000ull };
	struct proto_reply r = { .revision = 50, .compact_revision = 2 };
	const char *names[] = { "LEASE_GRANT", "LEASE_KEEPALIVE",
				"LEASE_REVOKE", "LEASE_EXPIRE",
				"SESSION_OPEN", "SESSION_CLOSE",
				"LOCK_ACQUIRE", "LOCK_RELEASE", "QUEUE_KICK",
				"FENCED" };

	put.u.put.key = proto_bytes_make("k", 1);
	put.u.put.value = proto_bytes_make("v", 1);
	for (uint8_t t = PROTO_CMD_LEASE_GRANT; t <= PROTO_CMD_FENCED; t++) {
		const char *name = names[t - PROTO_CMD_LEASE_GRANT];
		struct proto_cmd *c = &e.cmd;

		memset(c, 0, sizeof(*c));
		memset(&r.u, 0, sizeof(r.u));
		c->type = t;
		r.type = t;
		switch (t) {
		case PROTO_CMD_LEASE_GRANT:
			c->u.lease_grant.ttl_ms = 5000;
			r.u.lease_grant.lease = 9;
			r.u.lease_grant.ttl_ms = 5000;
			break;
		case PROTO_CMD_LEASE_KEEPALIVE:
			c->u.lease_keepalive.leases = leases;
			c->u.lease_keepalive.n_leases = 2;
			r.u.lease_keepalive.leases = ttls;
			r.u.lease_keepalive.n_leases = 2;
			break;
		case PROTO_CMD_LEASE_REVOKE:
			c->u.lease_revoke.lease = 11;
			r.u.lease_revoke.deleted = 3;
			break;
		case PROTO_CMD_LEASE_EXPIRE:
			c->u.lease_expire.lease = 11;
			c->u.lease_expire.ka_index = 40;
			r.u.lease_expire.expired = true;
			break;
		case PROTO_CMD_SESSION_OPEN:
			c->u.session_open.ttl_ms = 10000;
			c->u.session_open.secret =
				proto_bytes_make("0123456789abcdef", 16);
			r.u.session_open.session = 9;
			r.u.session_open.secret = c->u.session_open.secret;
			r.u.session_open.lease = 9;
			r.u.session_open.ttl_ms = 10000;
			break;
		case PROTO_CMD_SESSION_CLOSE:
			c->u.session_close.session = 9;
			break;
		case PROTO_CMD_LOCK_ACQUIRE:
			c->u.lock_acquire.name = proto_bytes_make("lock", 4);
			c->u.lock_acquire.session = 9;
			c->u.lock_acquire.mode = PROTO_LOCK_SHARED;
			c->u.lock_acquire.wait = true;
			c->u.lock_acquire.deadline_ms = 1700000005000ull;
			c->u.lock_acquire.lock_delay_ms = 1000;
			r.u.lock_acquire.granted = true;
			r.u.lock_acquire.token = 50;
			break;
		case PROTO_CMD_LOCK_RELEASE:
			c->u.lock_release.name = proto_bytes_make("lock", 4);
			c->u.lock_release.session = 9;
			c->u.lock_release.token = 50;
			break;
		case PROTO_CMD_QUEUE_KICK:
			c->u.queue_kick.kind = PROTO_QUEUE_LOCK;
			c->u.queue_kick.name = proto_bytes_make("lock", 4);
			r.u.queue_kick.granted = 2;
			break;
		case PROTO_CMD_FENCED:
			c->u.fenced.fences = fences;
			c->u.fenced.n_fences = 1;
			c->u.fenced.cmd = &put;
			r.type = PROTO_CMD_PUT;
			break;
		}
		proto_buf_clear(b);
		save("cmd", name, proto_cmd_encode(c, b), b);
		proto_buf_clear(b);
		save("entry", name, proto_entry_encode(&e, b), b);
		if (t != PROTO_CMD_FENCED) {
			proto_buf_clear(b);
			save("reply", name, proto_reply_encode(&r, b), b);
		}
	}
}

int main(int argc, char **argv)
{
	struct proto_request req;
	struct proto_response resp;
	struct proto_push push;
	struct proto_peer_hello hello;
	struct proto_snapshot_chunk chunk;
	struct raft_message rm;
	struct proto_entry entry;
	struct proto_buf b, frames;
	size_t mark;
	char name[64];

	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus DIR\n");
		return 2;
	}
	dir = argv[1];
	mkdir_p(dir);
	proto_buf_init(&b, NULL);
	proto_buf_init(&frames, NULL);
	for (uint32_t k = PROTO_HELLO; k <= PROTO_KIND_LAST; k++) {
		if (strcmp(proto_kind_name(k), "?") == 0)
			continue;   /* a number kept for a later kind */
		tw_sample_request(k, &req);
		proto_buf_clear(&b);
		save("request", proto_kind_name(k), proto_request_encode(&req, &b), &b);
		/* Pipelined: every request, each in its frame, one stream. */
		proto_frame_begin(&frames, &mark);
		proto_request_encode(&req, &frames);
		proto_frame_end(&frames, mark, COORD_REQUEST_FRAME_BYTES_MAX);

		tw_sample_response(k, &resp);
		proto_buf_clear(&b);
		save("response", proto_kind_name(k),
		     proto_response_encode(&resp, &b), &b);
		if (kv_cmd(&req, &entry.cmd)) {
			proto_buf_clear(&b);
			save("cmd", proto_kind_name(k),
			     proto_cmd_encode(&entry.cmd, &b), &b);
			entry.client_id = req.client_id;
			entry.sequence = req.sequence;
			entry.now_ms = 1700000000000ull;
			proto_buf_clear(&b);
			save("entry", proto_kind_name(k),
			     proto_entry_encode(&entry, &b), &b);
			proto_buf_clear(&b);
			save("reply", proto_kind_name(k),
			     proto_reply_encode(&resp.u.kv, &b), &b);
		}
	}
	save("frame", "requests", COORD_OK, &frames);
	proto_buf_clear(&frames);
	for (uint32_t k = PROTO_PUSH_FIRST; k <= PROTO_PUSH_LAST; k++) {
		tw_sample_push(k, &push);
		proto_buf_clear(&b);
		save("push", proto_kind_name(k), proto_push_encode(&push, &b), &b);
		proto_frame_begin(&frames, &mark);
		proto_push_encode(&push, &frames);
		proto_frame_end(&frames, mark, COORD_RESPONSE_FRAME_BYTES_MAX);
		if (k == PROTO_PUSH_WATCH_EVENTS) {
			proto_buf_clear(&b);
			save("events", "sample",
			     proto_events_encode(push.u.watch_events.events.v,
						 push.u.watch_events.events.n, &b),
			     &b);
		}
	}
	save("frame", "pushes", COORD_OK, &frames);
	tw_sample_peer_hello(&hello);
	proto_buf_clear(&b);
	save("peer", "hello", proto_peer_hello_encode(&hello, &b), &b);
	tw_sample_chunk(&chunk);
	proto_buf_clear(&b);
	save("peer", "chunk", proto_peer_chunk_encode(&chunk, &b), &b);
	{
		struct proto_peer_publish pub = {
			7, proto_bytes_make("n7", 2),
			proto_bytes_make("10.0.0.7:2479", 13),
			proto_bytes_make("10.0.0.7:2481", 13)
		};

		proto_buf_clear(&b);
		save("peer", "publish", proto_peer_publish_encode(&pub, &b),
		     &b);
	}
	for (uint32_t t = RAFT_MSG_APPEND; t <= RAFT_MSG_TYPE_MAX; t++) {
		tw_sample_raft(t, &rm);
		proto_buf_clear(&b);
		snprintf(name, sizeof(name), "raft-%u", t);
		save("peer", name, proto_peer_raft_encode(&rm, &b), &b);
	}
	lock_cmd_samples(&b);
	proto_buf_close(&b);
	proto_buf_close(&frames);
	return failed;
}
