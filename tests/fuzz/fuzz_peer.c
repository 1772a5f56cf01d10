/* tests/fuzz/fuzz_peer.c: proto_peer_decode() (server <-> server). */
#include "proto/peer.h"
#include "tests/fuzz/fuzz.h"

static int peer_encode(const struct proto_peer_msg *m, struct proto_buf *out)
{
	switch (m->kind) {
	case PROTO_PEER_HELLO:
		return proto_peer_hello_encode(&m->u.hello, out);
	case PROTO_PEER_RAFT:
		return proto_peer_raft_encode(&m->u.raft, out);
	case PROTO_PEER_PUBLISH:
		return proto_peer_publish_encode(&m->u.publish, out);
	default:
		return proto_peer_chunk_encode(&m->u.chunk, out);
	}
}

FUZZ_ROUND_TRIP(peer, struct proto_peer_msg, proto_peer_decode, peer_encode)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_round_trip_peer(data, size);
	return 0;
}
