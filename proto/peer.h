/*
 * proto/peer.h: the peer protocol between coordd servers -- the hello
 * that opens a peer connection, Raft's messages, and the chunks that
 * carry a snapshot's data -- and their msgpack codec. Each message
 * travels in one frame (proto/frame.h) of at most
 * COORD_PEER_FRAME_BYTES_MAX bytes; docs/protocol.md has the formats.
 *
 *   HELLO     [1, version, cluster_id, from, to]
 *             The dialer sends it first, the acceptor answers with its
 *             own (version 2); a version or cluster id it does not
 *             share, or a to that is not its own id, closes the
 *             connection (proto_peer_hello_check()), and coordd checks
 *             that from is a member (coordd/net/peer.c). Its format is
 *             frozen: a newer version may append fields, which a decoder
 *             skips.
 *   RAFT      [2, type, from, to, term, log_term, index, commit,
 *              reject_hint, hint_term, context, reject, transfer,
 *              [entry...], snapshot, snapshot_len]
 *             One struct raft_message, every field. entry: [term, index,
 *             type, data]. snapshot: nil, or for a SNAPSHOT message
 *             [index, term, [voter...], [learner...]]; snapshot_len: the
 *             bytes of its data, which follow in SNAPSHOT_CHUNK messages
 *             (0 for other types).
 *   SNAPSHOT_CHUNK [3, index, term, offset, data, last]
 *             data: at most COORD_SNAPSHOT_CHUNK_BYTES_MAX bytes at
 *             offset of the snapshot (index, term); last: the final one.
 *   PUBLISH   [4, id, name, client_addr, http_addr]
 *             A member's own attributes, sent by that member to the
 *             leader when it finds its entry of the replicated member
 *             table missing or different; the leader commits them
 *             (coordd/net/publish.c). id != 0; name at most
 *             COORD_NAME_BYTES_MAX bytes, each address at most
 *             COORD_ADDR_BYTES_MAX (http_addr empty: no HTTP listener).
 *
 * Decoding copies no bytes: entries' data and chunk data point into the
 * input (the frame), which must outlive the message. Encoding copies each
 * entry's data once, into the output buffer. Decoders are strict in the
 * manner of proto/wire.h: COORD_EMALFORMED, COORD_EUNKNOWNMSG for an
 * unknown kind, COORD_ENOMEM when the arena fails (the entry array is the
 * only allocation, bounded by the input length). Raft's own rules (terms
 * and indexes up to RAFT_INDEX_MAX, known senders) are raft_step()'s to
 * check, not the codec's.
 */
#ifndef COORD_PROTO_PEER_H
#define COORD_PROTO_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/arena.h"
#include "proto/buf.h"
#include "proto/msg.h"
#include "raft/raft.h"

/* The peer protocol version this code speaks. */
#define PROTO_PEER_VERSION 2

enum proto_peer_kind {
	PROTO_PEER_HELLO = 1,
	PROTO_PEER_RAFT = 2,
	PROTO_PEER_SNAPSHOT_CHUNK = 3,
	PROTO_PEER_PUBLISH = 4,
};
#define PROTO_PEER_KIND_LAST PROTO_PEER_PUBLISH

struct proto_peer_hello {
	uint64_t version;
	uint64_t cluster_id;
	uint64_t from;              /* the sender's node id, != 0 */
	uint64_t to;                /* the node id it means to reach, != 0 */
};

struct proto_snapshot_chunk {
	uint64_t index;             /* the snapshot's */
	uint64_t term;
	uint64_t offset;            /* of data in the snapshot */
	struct proto_bytes data;    /* <= COORD_SNAPSHOT_CHUNK_BYTES_MAX */
	bool last;
};

/* PUBLISH: the attributes a member publishes about itself. */
struct proto_peer_publish {
	uint64_t id;                /* the sender's node id, != 0 */
	struct proto_bytes name;
	struct proto_bytes client_addr;
	struct proto_bytes http_addr;
};

struct proto_peer_msg {
	uint32_t kind;              /* enum proto_peer_kind */
	union {
		struct proto_peer_hello hello;
		struct proto_peer_publish publish;
		/* entries live in the arena, their data in the input;
		 * snapshot_data is NULL (the chunks carry it). */
		struct raft_message raft;
		struct proto_snapshot_chunk chunk;
	} u;
};

/* Encoders append to out; COORD_EINVAL for what the wire cannot carry (a
 * zero node id, an unknown raft message or entry type, a configuration
 * over RAFT_NODES_MAX, an entry over UINT32_MAX bytes, an oversized
 * chunk), COORD_ENOMEM; out keeps its length on error. A message that is
 * not a SNAPSHOT is sent without its snapshot fields (nil and 0), and
 * snapshot_data is never sent (proto_peer_chunk_encode() sends it). */
int proto_peer_hello_encode(const struct proto_peer_hello *h,
			    struct proto_buf *out);
int proto_peer_raft_encode(const struct raft_message *m, struct proto_buf *out);
int proto_peer_chunk_encode(const struct proto_snapshot_chunk *c,
			    struct proto_buf *out);
int proto_peer_publish_encode(const struct proto_peer_publish *p,
			      struct proto_buf *out);

/* Decodes any peer message. */
int proto_peer_decode(const uint8_t *data, size_t len,
		      struct proto_arena *arena, struct proto_peer_msg *msg);

/* Checks a peer's hello against ours: COORD_OK, COORD_EPROTOVERSION,
 * COORD_ECLUSTER, or COORD_EINVAL (it is not meant for us), with a message
 * naming both values in msg (NUL-terminated, cut to msg_size). */
int proto_peer_hello_check(const struct proto_peer_hello *theirs,
			   uint64_t version, uint64_t cluster_id,
			   uint64_t self_id, char *msg, size_t msg_size);

#endif /* COORD_PROTO_PEER_H */
