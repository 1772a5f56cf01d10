/* tests/fuzz/fuzz_entry.c: proto_entry_decode() (proto/codec.c). */
#include "proto/msg.h"
#include "tests/fuzz/fuzz.h"

FUZZ_ROUND_TRIP(entry, struct proto_entry, proto_entry_decode,
		proto_entry_encode)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_round_trip_entry(data, size);
	return 0;
}
