/*
 * tests/unit/test_wire_samples.h: one valid message of every kind of the
 * client and peer protocols, with every field set to a value that is not
 * its default, for the round-trip tests (tests/unit/test_wire*.c) and the
 * fuzzers' seed corpus generator (tests/fuzz/gen_corpus.c). The messages
 * point into static storage.
 */
#ifndef COORD_TESTS_UNIT_TEST_WIRE_SAMPLES_H
#define COORD_TESTS_UNIT_TEST_WIRE_SAMPLES_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/peer.h"
#include "proto/wire.h"

/* A request of kind (PROTO_HELLO .. PROTO_KIND_LAST). */
/* Whether this version knows kind (kinds are reserved in ranges per
 * primitive, so the known ones have gaps). */
static inline bool tw_kind_known(uint32_t kind)
{
	return proto_kind_name(kind)[0] != '?';
}

void tw_sample_request(uint32_t kind, struct proto_request *req);
/* The reply to a request of kind, with code COORD_OK and its body. */
void tw_sample_response(uint32_t kind, struct proto_response *resp);
/* A push of kind (PROTO_PUSH_FIRST .. PROTO_PUSH_LAST). */
void tw_sample_push(uint32_t kind, struct proto_push *push);
/* A raft message of type (RAFT_MSG_APPEND .. RAFT_MSG_TYPE_MAX). */
void tw_sample_raft(uint32_t type, struct raft_message *m);
void tw_sample_peer_hello(struct proto_peer_hello *h);
void tw_sample_chunk(struct proto_snapshot_chunk *c);

#endif /* COORD_TESTS_UNIT_TEST_WIRE_SAMPLES_H */
