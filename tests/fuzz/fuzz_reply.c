/* tests/fuzz/fuzz_reply.c: proto_reply_decode() (proto/codec.c). */
#include "proto/msg.h"
#include "tests/fuzz/fuzz.h"

FUZZ_ROUND_TRIP(reply, struct proto_reply, proto_reply_decode,
		proto_reply_encode)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_round_trip_reply(data, size);
	return 0;
}
