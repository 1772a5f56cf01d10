/* tests/fuzz/fuzz_events.c: proto_events_decode() (proto/codec.c). */
#include "proto/msg.h"
#include "tests/fuzz/fuzz.h"

struct events {
	const struct proto_event *v;
	size_t n;
};

static int events_decode(const uint8_t *data, size_t len,
			 struct proto_arena *ar, struct events *e)
{
	return proto_events_decode(data, len, ar, &e->v, &e->n);
}

static int events_encode(const struct events *e, struct proto_buf *out)
{
	return proto_events_encode(e->v, e->n, out);
}

FUZZ_ROUND_TRIP(events, struct events, events_decode, events_encode)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_round_trip_events(data, size);
	return 0;
}
