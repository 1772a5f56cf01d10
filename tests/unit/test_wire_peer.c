/*
 * tests/unit/test_wire_peer.c: the peer protocol codec (proto/peer.h):
 * every raft message type round-trips with every field, entries decode
 * in place (zero copy), snapshot chunks are bounded, the hello handshake,
 * and strict rejection of bad input.
 */
#include <string.h>

#include "proto/arena.h"
#include "proto/buf.h"
#include "proto/limits.h"
#include "proto/peer.h"
#include "tests/unit/test_wire.h"
#include "tests/unit/test_wire_samples.h"

static void assert_raft_eq(const struct raft_message *a,
			   const struct raft_message *b)
{
	ck_assert_uint_eq(a->type, b->type);
	ck_assert_uint_eq(a->from, b->from);
	ck_assert_uint_eq(a->to, b->to);
	ck_assert_uint_eq(a->term, b->term);
	ck_assert_uint_eq(a->log_term, b->log_term);
	ck_assert_uint_eq(a->index, b->index);
	ck_assert_uint_eq(a->commit, b->commit);
	ck_assert_uint_eq(a->reject_hint, b->reject_hint);
	ck_assert_uint_eq(a->hint_term, b->hint_term);
	ck_assert_uint_eq(a->context, b->context);
	ck_assert_int_eq(a->reject, b->reject);
	ck_assert_int_eq(a->transfer, b->transfer);
	ck_assert_uint_eq(a->n_entries, b->n_entries);
	for (size_t i = 0; i < a->n_entries; i++) {
		ck_assert_uint_eq(a->entries[i].term, b->entries[i].term);
		ck_assert_uint_eq(a->entries[i].index, b->entries[i].index);
		ck_assert_uint_eq(a->entries[i].type, b->entries[i].type);
		ck_assert_uint_eq(a->entries[i].len, b->entries[i].len);
		if (a->entries[i].len > 0)
			ck_assert_mem_eq(a->entries[i].data, b->entries[i].data,
					 a->entries[i].len);
	}
	ck_assert_uint_eq(a->snapshot.index, b->snapshot.index);
	ck_assert_uint_eq(a->snapshot.term, b->snapshot.term);
	ck_assert_mem_eq(&a->snapshot.conf, &b->snapshot.conf,
			 sizeof(a->snapshot.conf));
	ck_assert_uint_eq(a->snapshot_len, b->snapshot_len);
}

START_TEST(every_raft_message_type_round_trips)
{
	struct proto_peer_msg msg;
	struct raft_message m;
	struct proto_arena ar;
	struct proto_buf b;

	proto_arena_init(&ar, NULL);
	proto_buf_init(&b, NULL);
	for (uint32_t t = RAFT_MSG_APPEND; t <= RAFT_MSG_TYPE_MAX; t++) {
		proto_buf_clear(&b);
		tw_sample_raft(t, &m);
		cu_code_eq(proto_peer_raft_encode(&m, &b), COORD_OK);
		cu_code_eq(proto_peer_decode(b.data, b.len, &ar, &msg), COORD_OK);
		ck_assert_uint_eq(msg.kind, PROTO_PEER_RAFT);
		assert_raft_eq(&m, &msg.u.raft);
		ck_assert_ptr_null(msg.u.raft.snapshot_data);
		proto_arena_reset(&ar);
	}
	proto_buf_close(&b);
	proto_arena_close(&ar);
}
END_TEST

START_TEST(entries_decode_in_place_and_encode_with_one_copy)
{
	struct proto_peer_msg msg;
	struct raft_message m;
	struct proto_arena ar;
	struct proto_buf b;
	size_t data_bytes = 0;

	proto_arena_init(&ar, NULL);
	proto_buf_init(&b, NULL);
	tw_sample_raft(RAFT_MSG_APPEND, &m);
	for (size_t i = 0; i < m.n_entries; i++)
		data_bytes += m.entries[i].len;
	cu_code_eq(proto_peer_raft_encode(&m, &b), COORD_OK);
	/* The output holds each entry's data once, plus small headers. */
	ck_assert_uint_lt(b.len, data_bytes + 64);
	cu_code_eq(proto_peer_decode(b.data, b.len, &ar, &msg), COORD_OK);
	for (size_t i = 0; i < msg.u.raft.n_entries; i++) {
		const struct raft_entry *e = &msg.u.raft.entries[i];

		if (e->len == 0) {
			ck_assert_ptr_null(e->data);
			continue;
		}
		ck_assert(e->data > b.data && e->data + e->len <= b.data + b.len);
	}
	proto_buf_close(&b);
	proto_arena_close(&ar);
}
END_TEST

START_TEST(peer_hello_round_trips_and_skips_newer_fields)
{
	struct proto_peer_hello h;
	struct proto_peer_msg msg;
	struct proto_arena ar;
	struct proto_buf b;
	struct tw_mp m = { .n = 0 };

	proto_arena_init(&ar, NULL);
	proto_buf_init(&b, NULL);
	tw_sample_peer_hello(&h);
	cu_code_eq(proto_peer_hello_encode(&h, &b), COORD_OK);
	cu_code_eq(proto_peer_decode(b.data, b.len, &ar, &msg), COORD_OK);
	ck_assert_uint_eq(msg.kind, PROTO_PEER_HELLO);
	ck_assert_mem_eq(&msg.u.hello, &h, sizeof(h));
	tw_mp_arr(&m, 7);
	tw_mp_uint(&m, PROTO_PEER_HELLO);
	tw_mp_uint(&m, 2);
	tw_mp_uint(&m, 3);
	tw_mp_uint(&m, 4);
	tw_mp_uint(&m, 5);
	tw_mp_bin(&m, "tls-fingerprint");
	tw_mp_arr(&m, 2);
	tw_mp_nil(&m);
	tw_mp_bool(&m, true);
	cu_code_eq(proto_peer_decode(m.b, m.n, &ar, &msg), COORD_OK);
	ck_assert_uint_eq(msg.u.hello.version, 2);
	ck_assert_uint_eq(msg.u.hello.to, 5);
	/* Fewer fields, or a zero node id, are not a hello. */
	m.b[0] = 0x94;
	cu_code_eq(proto_peer_decode(m.b, m.n, &ar, &msg), COORD_EMALFORMED);
	h.from = 0;
	cu_code_eq(proto_peer_hello_encode(&h, &b), COORD_EINVAL);
	m.n = 0;
	tw_mp_arr(&m, 5);
	tw_mp_uint(&m, PROTO_PEER_HELLO);
	tw_mp_uint(&m, 1);
	tw_mp_uint(&m, 1);
	tw_mp_uint(&m, 0);
	tw_mp_uint(&m, 1);
	cu_code_eq(proto_peer_decode(m.b, m.n, &ar, &msg), COORD_EMALFORMED);
	proto_buf_close(&b);
	proto_arena_close(&ar);
}
END_TEST

START_TEST(peer_hello_check_names_both_sides)
{
	struct proto_peer_hello h;
	char msg[160];

	tw_sample_peer_hello(&h);
	cu_code_eq(proto_peer_hello_check(&h, PROTO_PEER_VERSION, 0xc1, 2, msg,
					  sizeof(msg)), COORD_OK);
	ck_assert_str_eq(msg, "");
	cu_code_eq(proto_peer_hello_check(&h, PROTO_PEER_VERSION + 1, 0xc1, 2,
					  msg, sizeof(msg)), COORD_EPROTOVERSION);
	ck_assert_str_eq(msg, "peer protocol version mismatch: peer 1 speaks version 2, we speak version 3");
	cu_code_eq(proto_peer_hello_check(&h, PROTO_PEER_VERSION, 0xc2, 2, msg,
					  sizeof(msg)), COORD_ECLUSTER);
	ck_assert_ptr_nonnull(strstr(msg, "00000000000000c1"));
	cu_code_eq(proto_peer_hello_check(&h, PROTO_PEER_VERSION, 0xc1, 3, msg,
					  sizeof(msg)), COORD_EINVAL);
	ck_assert_ptr_nonnull(strstr(msg, "node 2, we are node 3"));
	h.to = 1;
	cu_code_eq(proto_peer_hello_check(&h, PROTO_PEER_VERSION, 0xc1, 1, NULL,
					  0), COORD_EINVAL);
}
END_TEST

START_TEST(snapshot_chunks_round_trip_and_are_bounded)
{
	static uint8_t big[COORD_SNAPSHOT_CHUNK_BYTES_MAX + 1];
	struct proto_snapshot_chunk c;
	struct proto_peer_msg msg;
	struct proto_arena ar;
	struct proto_buf b;

	proto_arena_init(&ar, NULL);
	proto_buf_init(&b, NULL);
	tw_sample_chunk(&c);
	cu_code_eq(proto_peer_chunk_encode(&c, &b), COORD_OK);
	cu_code_eq(proto_peer_decode(b.data, b.len, &ar, &msg), COORD_OK);
	ck_assert_uint_eq(msg.kind, PROTO_PEER_SNAPSHOT_CHUNK);
	ck_assert_uint_eq(msg.u.chunk.index, c.index);
	ck_assert_uint_eq(msg.u.chunk.term, c.term);
	ck_assert_uint_eq(msg.u.chunk.offset, c.offset);
	ck_assert(msg.u.chunk.last);
	ck_assert_uint_eq(msg.u.chunk.data.len, c.data.len);
	ck_assert(msg.u.chunk.data.data > b.data);
	ck_assert_mem_eq(msg.u.chunk.data.data, c.data.data, c.data.len);
	/* The largest chunk fits a peer frame; one byte more is refused. */
	proto_buf_clear(&b);
	c.data = proto_bytes_make(big, COORD_SNAPSHOT_CHUNK_BYTES_MAX);
	cu_code_eq(proto_peer_chunk_encode(&c, &b), COORD_OK);
	ck_assert_uint_le(b.len, COORD_PEER_FRAME_BYTES_MAX);
	cu_code_eq(proto_peer_decode(b.data, b.len, &ar, &msg), COORD_OK);
	c.data = proto_bytes_make(big, sizeof(big));
	proto_buf_clear(&b);
	cu_code_eq(proto_peer_chunk_encode(&c, &b), COORD_EINVAL);
	ck_assert_uint_eq(b.len, 0);
	/* A decoder given one byte too many refuses it. */
	{
		static uint8_t raw[COORD_SNAPSHOT_CHUNK_BYTES_MAX + 32];
		size_t n = 0;

		raw[n++] = 0x96;
		raw[n++] = PROTO_PEER_SNAPSHOT_CHUNK;
		raw[n++] = 1;
		raw[n++] = 1;
		raw[n++] = 0;
		raw[n++] = 0xc6;
		raw[n++] = 0;
		raw[n++] = 0x10;
		raw[n++] = 0;
		raw[n++] = 1;
		n += COORD_SNAPSHOT_CHUNK_BYTES_MAX + 1;
		raw[n++] = 0xc3;
		cu_code_eq(proto_peer_decode(raw, n, &ar, &msg), COORD_EMALFORMED);
	}
	proto_buf_close(&b);
	proto_arena_close(&ar);
}
END_TEST

/* A RAFT message built by hand, with element `at` replaced by raw. */
static void mp_raft(struct tw_mp *m, uint32_t type, int at, const void *raw,
		    size_t n)
{
	m->n = 0;
	tw_mp_arr(m, 16);
	for (int i = 0; i < 16; i++) {
		if (i == at) {
			tw_mp_raw(m, raw, n);
			continue;
		}
		switch (i) {
		case 0: tw_mp_uint(m, PROTO_PEER_RAFT); break;
		case 1: tw_mp_uint(m, type); break;
		case 11: case 12: tw_mp_bool(m, false); break;
		case 13: tw_mp_arr(m, 0); break;
		case 14:
			if (type == RAFT_MSG_SNAPSHOT) {
				tw_mp_arr(m, 4);
				tw_mp_uint(m, 1);
				tw_mp_uint(m, 1);
				tw_mp_arr(m, 1);
				tw_mp_uint(m, 1);
				tw_mp_arr(m, 0);
			} else {
				tw_mp_nil(m);
			}
			break;
		case 15: tw_mp_uint(m, 0); break;
		default: tw_mp_uint(m, 1);
		}
	}
}

static int decode_peer(const struct tw_mp *m)
{
	struct proto_peer_msg msg;
	struct proto_arena ar;
	int rc;

	proto_arena_init(&ar, NULL);
	rc = proto_peer_decode(m->b, m->n, &ar, &msg);
	proto_arena_close(&ar);
	return rc;
}

START_TEST(raft_decoder_is_strict)
{
	static const uint8_t zero[] = { 0 }, thirteen[] = { 13 }, nil[] = { 0xc0 },
			     one[] = { 1 }, huge[] = { 0xdd, 0xff, 0xff, 0xff, 0xff },
			     bad_entry[] = { 0x91, 0x94, 1, 1, 2, 0xc4, 0 },
			     short_entry[] = { 0x91, 0x93, 1, 1, 0 },
			     good_entry[] = { 0x91, 0x94, 1, 1, 1, 0xc4, 1, 'x' };
	uint8_t voters[2 + 17 + 3];
	struct tw_mp m;

	mp_raft(&m, RAFT_MSG_APPEND, -1, NULL, 0);
	cu_code_eq(decode_peer(&m), COORD_OK);
	mp_raft(&m, RAFT_MSG_SNAPSHOT, -1, NULL, 0);
	cu_code_eq(decode_peer(&m), COORD_OK);
	mp_raft(&m, RAFT_MSG_APPEND, 13, good_entry, sizeof(good_entry));
	cu_code_eq(decode_peer(&m), COORD_OK);
	mp_raft(&m, RAFT_MSG_APPEND, 1, zero, 1);           /* type 0 */
	cu_code_eq(decode_peer(&m), COORD_EMALFORMED);
	mp_raft(&m, RAFT_MSG_APPEND, 1, thirteen, 1);       /* type 13 */
	cu_code_eq(decode_peer(&m), COORD_EMALFORMED);
	mp_raft(&m, RAFT_MSG_APPEND, 2, zero, 1);           /* from 0 */
	cu_code_eq(decode_peer(&m), COORD_EMALFORMED);
	mp_raft(&m, RAFT_MSG_APPEND, 3, zero, 1);           /* to 0 */
	cu_code_eq(decode_peer(&m), COORD_EMALFORMED);
	mp_raft(&m, RAFT_MSG_APPEND, 11, one, 1);           /* reject 1 */
	cu_code_eq(decode_peer(&m), COORD_EMALFORMED);
	mp_raft(&m, RAFT_MSG_APPEND, 13, huge, sizeof(huge));
	cu_code_eq(decode_peer(&m), COORD_EMALFORMED);
	mp_raft(&m, RAFT_MSG_APPEND, 13, bad_entry, sizeof(bad_entry));
	cu_code_eq(decode_peer(&m), COORD_EMALFORMED);
	mp_raft(&m, RAFT_MSG_APPEND, 13, short_entry, sizeof(short_entry));
	cu_code_eq(decode_peer(&m), COORD_EMALFORMED);
	mp_raft(&m, RAFT_MSG_APPEND, 14, one, 1);           /* meta on APPEND */
	cu_code_eq(decode_peer(&m), COORD_EMALFORMED);
	mp_raft(&m, RAFT_MSG_APPEND, 15, one, 1);           /* snapshot_len */
	cu_code_eq(decode_peer(&m), COORD_EMALFORMED);
	mp_raft(&m, RAFT_MSG_SNAPSHOT, 14, nil, 1);         /* no meta */
	cu_code_eq(decode_peer(&m), COORD_EMALFORMED);
	/* 17 voters do not fit a raft_conf. */
	voters[0] = 0x94;
	voters[1] = 1;
	voters[2] = 1;
	voters[3] = 0xdc;
	voters[4] = 0;
	voters[5] = 17;
	memset(voters + 6, 1, 16);
	mp_raft(&m, RAFT_MSG_SNAPSHOT, 14, voters, 6 + 16);
	cu_code_eq(decode_peer(&m), COORD_EMALFORMED);
	/* Wrong length; unknown kinds. */
	mp_raft(&m, RAFT_MSG_APPEND, -1, NULL, 0);
	m.b[4] = 15;    /* array32 of 15 */
	cu_code_eq(decode_peer(&m), COORD_EMALFORMED);
	m.n = 0;
	tw_mp_arr(&m, 1);
	tw_mp_uint(&m, 0);
	cu_code_eq(decode_peer(&m), COORD_EUNKNOWNMSG);
	m.n = 0;
	tw_mp_arr(&m, 1);
	tw_mp_uint(&m, PROTO_PEER_KIND_LAST + 1);
	cu_code_eq(decode_peer(&m), COORD_EUNKNOWNMSG);
	m.n = 0;
	tw_mp_arr(&m, 0);
	cu_code_eq(decode_peer(&m), COORD_EMALFORMED);
	cu_code_eq(proto_peer_decode(NULL, 0, NULL,
				     (struct proto_peer_msg[1]){ { 0 } }),
		   COORD_EMALFORMED);
}
END_TEST

START_TEST(raft_encoder_refuses_what_the_wire_cannot_carry)
{
	struct raft_entry e = { 1, 1, 7, 0, NULL };
	struct raft_message m;
	struct proto_buf b;

	proto_buf_init(&b, NULL);
	cu_code_eq(proto_buf_append(&b, "abc", 3), COORD_OK);
	tw_sample_raft(RAFT_MSG_VOTE, &m);
	m.type = 0;
	cu_code_eq(proto_peer_raft_encode(&m, &b), COORD_EINVAL);
	m.type = RAFT_MSG_TYPE_MAX + 1;
	cu_code_eq(proto_peer_raft_encode(&m, &b), COORD_EINVAL);
	tw_sample_raft(RAFT_MSG_VOTE, &m);
	m.to = 0;
	cu_code_eq(proto_peer_raft_encode(&m, &b), COORD_EINVAL);
	tw_sample_raft(RAFT_MSG_APPEND, &m);
	m.entries = NULL;
	cu_code_eq(proto_peer_raft_encode(&m, &b), COORD_EINVAL);
	m.entries = &e;
	m.n_entries = 1;
	cu_code_eq(proto_peer_raft_encode(&m, &b), COORD_EINVAL);
	tw_sample_raft(RAFT_MSG_SNAPSHOT, &m);
	m.snapshot.conf.n_learners = RAFT_NODES_MAX + 1;
	cu_code_eq(proto_peer_raft_encode(&m, &b), COORD_EINVAL);
	ck_assert_uint_eq(b.len, 3);
	/* Snapshot fields of other types are not sent. */
	tw_sample_raft(RAFT_MSG_VOTE, &m);
	m.snapshot.index = 5;
	m.snapshot_len = 9;
	cu_code_eq(proto_peer_raft_encode(&m, &b), COORD_OK);
	proto_buf_close(&b);
}
END_TEST

START_TEST(peer_messages_cut_or_mutated_are_refused_cleanly)
{
	static const uint8_t values[] = { 0x00, 0x01, 0x7f, 0x90, 0xc0, 0xc1,
					  0xc3, 0xc4, 0xcf, 0xdd, 0xff };
	struct proto_peer_hello h;
	struct proto_snapshot_chunk c;
	struct proto_peer_msg msg;
	struct raft_message rm;
	struct proto_arena ar;
	struct proto_buf b, r;

	proto_arena_init(&ar, NULL);
	proto_buf_init(&b, NULL);
	proto_buf_init(&r, NULL);
	for (uint32_t t = 0; t <= RAFT_MSG_TYPE_MAX + 1; t++) {
		proto_buf_clear(&b);
		if (t == 0) {
			tw_sample_peer_hello(&h);
			cu_code_eq(proto_peer_hello_encode(&h, &b), COORD_OK);
		} else if (t > RAFT_MSG_TYPE_MAX) {
			tw_sample_chunk(&c);
			cu_code_eq(proto_peer_chunk_encode(&c, &b), COORD_OK);
		} else {
			tw_sample_raft(t, &rm);
			cu_code_eq(proto_peer_raft_encode(&rm, &b), COORD_OK);
		}
		for (size_t n = 0; n < b.len; n++)
			cu_code_eq(proto_peer_decode(b.data, n, &ar, &msg),
				   COORD_EMALFORMED);
		for (size_t i = 0; i < b.len; i++) {
			uint8_t keep = b.data[i];

			for (size_t v = 0; v < sizeof(values); v++) {
				int rc;

				b.data[i] = values[v];
				rc = proto_peer_decode(b.data, b.len, &ar, &msg);
				proto_buf_clear(&r);
				if (rc == COORD_OK && msg.kind == PROTO_PEER_RAFT)
					cu_code_eq(proto_peer_raft_encode(
							   &msg.u.raft, &r),
						   COORD_OK);
				proto_arena_reset(&ar);
			}
			b.data[i] = keep;
		}
		cu_code_eq(proto_buf_append(&b, "", 1), COORD_OK);
		cu_code_eq(proto_peer_decode(b.data, b.len, &ar, &msg),
			   COORD_EMALFORMED);
	}
	proto_buf_close(&b);
	proto_buf_close(&r);
	proto_arena_close(&ar);
}
END_TEST

START_TEST(peer_codec_fails_cleanly_without_memory)
{
	struct proto_peer_msg msg;
	struct raft_message m;
	struct proto_arena ar;
	struct proto_buf b;
	struct cu_alloc a;
	int rc;

	proto_buf_init(&b, NULL);
	tw_sample_raft(RAFT_MSG_APPEND, &m);
	cu_code_eq(proto_peer_raft_encode(&m, &b), COORD_OK);
	cu_alloc_init(&a);
	a.fail_at = 1;
	a.fail_every = true;
	proto_arena_init(&ar, &a.a);
	cu_code_eq(proto_peer_decode(b.data, b.len, &ar, &msg), COORD_ENOMEM);
	proto_arena_close(&ar);
	proto_buf_close(&b);
	for (size_t n = 1; n < 4; n++) {
		cu_alloc_init(&a);
		a.fail_at = n;
		proto_buf_init(&b, &a.a);
		rc = proto_peer_raft_encode(&m, &b);
		ck_assert(rc == COORD_OK || (rc == COORD_ENOMEM && b.len == 0));
		proto_buf_close(&b);
		ck_assert_uint_eq(a.live, 0);
	}
}
END_TEST

Suite *wire_peer_suite(void)
{
	Suite *s = suite_create("wire_peer");

	TW_ADD(s, every_raft_message_type_round_trips);
	TW_ADD(s, entries_decode_in_place_and_encode_with_one_copy);
	TW_ADD(s, peer_hello_round_trips_and_skips_newer_fields);
	TW_ADD(s, peer_hello_check_names_both_sides);
	TW_ADD(s, snapshot_chunks_round_trip_and_are_bounded);
	TW_ADD(s, raft_decoder_is_strict);
	TW_ADD(s, raft_encoder_refuses_what_the_wire_cannot_carry);
	TW_ADD(s, peer_messages_cut_or_mutated_are_refused_cleanly);
	TW_ADD(s, peer_codec_fails_cleanly_without_memory);
	return s;
}
