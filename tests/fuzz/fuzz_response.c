/* tests/fuzz/fuzz_response.c: proto_response_decode() (server -> client
 * replies), and proto_server_msg_kind(). */
#include "proto/wire.h"
#include "tests/fuzz/fuzz.h"

FUZZ_ROUND_TRIP(response, struct proto_response, proto_response_decode,
		proto_response_encode)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t kind;

	if (fuzz_round_trip_response(data, size) == COORD_OK)
		FUZZ_CHECK(proto_server_msg_kind(data, size, &kind) == COORD_OK);
	return 0;
}
