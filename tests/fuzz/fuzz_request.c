/* tests/fuzz/fuzz_request.c: proto_request_decode() (client -> server). */
#include "proto/wire.h"
#include "tests/fuzz/fuzz.h"

FUZZ_ROUND_TRIP(request, struct proto_request, proto_request_decode,
		proto_request_encode)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_round_trip_request(data, size);
	return 0;
}
