/* tests/fuzz/fuzz_cmd.c: proto_cmd_decode() (proto/codec.c). */
#include "proto/msg.h"
#include "tests/fuzz/fuzz.h"

FUZZ_ROUND_TRIP(cmd, struct proto_cmd, proto_cmd_decode, proto_cmd_encode)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_round_trip_cmd(data, size);
	return 0;
}
