/* tests/fuzz/fuzz_push.c: proto_push_decode() (server pushes). */
#include "proto/wire.h"
#include "tests/fuzz/fuzz.h"

FUZZ_ROUND_TRIP(push, struct proto_push, proto_push_decode, proto_push_encode)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_round_trip_push(data, size);
	return 0;
}
