/*
 * tests/unit/test_fsm_clients.c: exactly-once -- the fsm's client table
 * (coordd/fsm/fsm.h): retries answered from the stored reply, stale and
 * unknown sequences refused, idle expiry on the monotone cluster clock,
 * the bound on the table, undecodable entries. Its faults and corrupt
 * records are in test_fsm_faults.c.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/unit/fsm_clients_test.h"
#include "tests/unit/fsm_test.h"
#include "tests/unit/test_fsm.h"

/* A fixture, the encoded entry and a copy of the last reply's bytes. */
struct ce {
	struct ft_fsm t;
	struct proto_buf enc;
	struct proto_buf reply;
	struct fsm_entry_result res;
};

static void ce_open(struct ce *c, uint64_t clients_max)
{
	struct fsm_config cfg;

	fsm_config_default(&cfg);
	if (clients_max != 0)
		cfg.clients_max = clients_max;
	ft_fsm_open(&c->t, &cfg);
	proto_buf_init(&c->enc, NULL);
	proto_buf_init(&c->reply, NULL);
	memset(&c->res, 0, sizeof(c->res));
}

static void ce_close(struct ce *c)
{
	proto_buf_close(&c->enc);
	proto_buf_close(&c->reply);
	ft_fsm_close(&c->t);
}

/*
 * Applies e, encoded, at the next index, and asserts that it applied and
 * that the reply bytes are the encoding of the decoded reply. Keeps a copy
 * of the bytes in c->reply. Returns the reply.
 */
static const struct proto_reply *ce_apply(struct ce *c, struct proto_entry e)
{
	struct proto_buf again;

	proto_buf_clear(&c->enc);
	ft_code_eq(proto_entry_encode(&e, &c->enc), COORD_OK);
	ft_code_eq(fsm_apply_entry_data(c->t.f, ++c->t.index, c->enc.data,
					c->enc.len,
					FSM_EVENTS | FSM_EVENTS_PREV_KV,
					&c->res),
		   COORD_OK);
	ck_assert_uint_eq(fsm_applied_index(c->t.f), c->t.index);
	ck_assert_uint_gt(c->res.reply_len, 0);
	ck_assert_uint_eq(c->res.res.reply.type, e.cmd.type);
	proto_buf_init(&again, NULL);
	ft_code_eq(proto_reply_encode(&c->res.res.reply, &again), COORD_OK);
	ck_assert_uint_eq(again.len, c->res.reply_len);
	ck_assert_int_eq(memcmp(again.data, c->res.reply_data, again.len), 0);
	proto_buf_close(&again);
	proto_buf_clear(&c->reply);
	ft_code_eq(proto_buf_append(&c->reply, c->res.reply_data,
				    c->res.reply_len),
		   COORD_OK);
	return &c->res.res.reply;
}

/* Whether the last reply's bytes equal saved. */
static bool same_bytes(const struct ce *c, const struct proto_buf *saved)
{
	return c->reply.len == saved->len &&
	       memcmp(c->reply.data, saved->data, saved->len) == 0;
}

static void save(const struct ce *c, struct proto_buf *saved)
{
	proto_buf_init(saved, NULL);
	ft_code_eq(proto_buf_append(saved, c->reply.data, c->reply.len),
		   COORD_OK);
}

static void expect_client(struct ce *c, uint64_t id, uint64_t seq,
			  uint64_t active_ms)
{
	uint64_t s, a;

	ft_code_eq(fsm_client_lookup(c->t.f, id, &s, &a), COORD_OK);
	ck_assert_uint_eq(s, seq);
	ck_assert_uint_eq(a, active_ms);
}

static void expect_no_client(struct ce *c, uint64_t id)
{
	uint64_t s, a;

	ft_code_eq(fsm_client_lookup(c->t.f, id, &s, &a), COORD_ENOTFOUND);
}

START_TEST(new_sequence_applies_and_stores_its_reply)
{
	struct ce c;
	const struct proto_reply *r;

	ce_open(&c, 0);
	expect_no_client(&c, 7);
	r = ce_apply(&c, ft_entry(7, 1, 1000, ft_put("a", "1", 0)));
	ft_code_eq(r->code, COORD_OK);
	ck_assert_uint_eq(r->revision, 1);
	ck_assert(!c.res.duplicate);
	ck_assert_uint_eq(c.res.res.n_events, 1);
	expect_client(&c, 7, 1, 1000);
	ck_assert_uint_eq(fsm_clients_count(c.t.f), 1);
	ck_assert_uint_eq(fsm_clients_clock_ms(c.t.f), 1000);
	r = ce_apply(&c, ft_entry(7, 2, 1500, ft_put("a", "2", 0)));
	ft_code_eq(r->code, COORD_OK);
	ck_assert_uint_eq(r->revision, 2);
	expect_client(&c, 7, 2, 1500);
	ck_assert_uint_eq(fsm_clients_count(c.t.f), 1);
	ce_close(&c);
}
END_TEST

START_TEST(retry_returns_identical_reply_bytes_and_changes_nothing)
{
	struct ce c;
	struct proto_buf first;
	struct proto_cmd put = ft_put_b(ft_s("a"), ft_s("2"), 0, true);
	const struct proto_reply *r;
	uint64_t hash, rev;

	ce_open(&c, 0);
	ce_apply(&c, ft_entry(0, 0, 10, ft_put("a", "1", 0)));
	ce_apply(&c, ft_entry(7, 1, 20, put));
	save(&c, &first);
	/* Another client moves the keyspace on. */
	ce_apply(&c, ft_entry(8, 1, 30, ft_put("a", "3", 0)));
	hash = ft_hash(&c.t);
	rev = fsm_revision(c.t.f);
	/* The retry, even from a later leader's clock and with another
	 * command in it: the stored reply, nothing else. */
	r = ce_apply(&c, ft_entry(7, 1, 99, ft_put("b", "x", 0)));
	ck_assert(c.res.duplicate);
	ck_assert(same_bytes(&c, &first));
	ck_assert_uint_eq(r->revision, 2);
	ck_assert(r->u.put.has_prev_kv);
	ck_assert(proto_bytes_eq(r->u.put.prev_kv.value, ft_s("1")));
	ck_assert_uint_eq(c.res.res.n_events, 0);
	ck_assert_uint_eq(fsm_revision(c.t.f), rev);
	ck_assert_uint_eq(ft_hash(&c.t), hash);
	ck_assert_uint_eq(fsm_clients_clock_ms(c.t.f), 30);
	expect_client(&c, 7, 1, 20);
	ck_assert_ptr_null(ft_kv(&c.t, "b"));
	/* And again, through the struct API. */
	ft_code_eq(fsm_apply_entry(c.t.f, ++c.t.index,
				   &(struct proto_entry){ 7, 1, 5, put }, 0,
				   &c.res),
		   COORD_OK);
	ck_assert(c.res.duplicate);
	ck_assert_uint_eq(c.res.reply_len, first.len);
	ck_assert_int_eq(memcmp(c.res.reply_data, first.data, first.len), 0);
	ck_assert_uint_eq(ft_hash(&c.t), hash);
	proto_buf_close(&first);
	ce_close(&c);
}
END_TEST

START_TEST(retry_of_a_failed_command_returns_the_same_error)
{
	struct ce c;
	struct proto_buf first;
	const struct proto_reply *r;
	uint64_t hash;

	ce_open(&c, 0);
	hash = ft_hash(&c.t);
	r = ce_apply(&c, ft_entry(7, 1, 10, ft_put("", "x", 0)));
	ft_code_eq(r->code, COORD_EINVAL);
	ck_assert_uint_eq(r->revision, 0);
	/* No revision, but the table is state: the hash covers it. */
	ck_assert_uint_ne(ft_hash(&c.t), hash);
	save(&c, &first);
	expect_client(&c, 7, 1, 10);
	hash = ft_hash(&c.t);
	r = ce_apply(&c, ft_entry(7, 1, 20, ft_put("", "x", 0)));
	ck_assert(c.res.duplicate);
	ft_code_eq(r->code, COORD_EINVAL);
	ck_assert(same_bytes(&c, &first));
	ck_assert_uint_eq(ft_hash(&c.t), hash);
	/* The failed request counted: the next sequence applies. */
	r = ce_apply(&c, ft_entry(7, 2, 30, ft_put("a", "x", 0)));
	ft_code_eq(r->code, COORD_OK);
	proto_buf_close(&first);
	ce_close(&c);
}
END_TEST

START_TEST(stale_sequence_is_refused_and_changes_nothing)
{
	struct ce c;
	const struct proto_reply *r;
	uint64_t hash;

	ce_open(&c, 0);
	ce_apply(&c, ft_entry(7, 1, 10, ft_put("a", "1", 0)));
	ce_apply(&c, ft_entry(7, 5, 20, ft_put("a", "2", 0)));
	hash = ft_hash(&c.t);
	r = ce_apply(&c, ft_entry(7, 4, 30, ft_put("a", "3", 0)));
	ft_code_eq(r->code, FSM_ECLIENT_STALE_SEQ);
	ck_assert(!c.res.duplicate);
	ck_assert_uint_eq(r->type, PROTO_CMD_PUT);
	ck_assert_uint_eq(r->revision, 2);
	ck_assert_uint_eq(c.res.res.n_events, 0);
	ck_assert_uint_eq(fsm_revision(c.t.f), 2);
	ck_assert_uint_eq(ft_hash(&c.t), hash);
	expect_client(&c, 7, 5, 20);
	ck_assert_uint_eq(fsm_clients_clock_ms(c.t.f), 20);
	ck_assert(proto_bytes_eq(ft_kv(&c.t, "a")->value, ft_s("2")));
	/* The refusal is not stored either: 5 is still the retry. */
	ce_apply(&c, ft_entry(7, 5, 40, ft_put("a", "4", 0)));
	ck_assert(c.res.duplicate);
	ce_close(&c);
}
END_TEST

START_TEST(gaps_in_sequences_apply)
{
	struct ce c;

	ce_open(&c, 0);
	ce_apply(&c, ft_entry(7, 1, 10, ft_put("a", "1", 0)));
	ft_code_eq(ce_apply(&c, ft_entry(7, 9, 10, ft_put("a", "2", 0)))->code,
		   COORD_OK);
	ck_assert_uint_eq(fsm_revision(c.t.f), 2);
	expect_client(&c, 7, 9, 10);
	ce_close(&c);
}
END_TEST

START_TEST(unknown_client_past_its_first_sequence_is_refused)
{
	struct ce c;
	const struct proto_reply *r;
	uint64_t hash;

	ce_open(&c, 0);
	hash = ft_hash(&c.t);
	r = ce_apply(&c, ft_entry(7, 2, 10, ft_put("a", "1", 0)));
	ft_code_eq(r->code, FSM_ECLIENT_UNKNOWN);
	ck_assert_uint_eq(r->revision, 0);
	ck_assert_uint_eq(fsm_clients_count(c.t.f), 0);
	ck_assert_uint_eq(fsm_clients_clock_ms(c.t.f), 0);
	ck_assert_uint_eq(ft_hash(&c.t), hash);
	expect_no_client(&c, 7);
	ce_close(&c);
}
END_TEST

START_TEST(client_zero_applies_every_time_and_keeps_no_entry)
{
	struct ce c;

	ce_open(&c, 0);
	ce_apply(&c, ft_entry(0, 0, 10, ft_put("a", "1", 0)));
	ce_apply(&c, ft_entry(0, 0, 10, ft_put("a", "1", 0)));
	ck_assert(!c.res.duplicate);
	ck_assert_uint_eq(fsm_revision(c.t.f), 2);
	ck_assert_uint_eq(fsm_clients_count(c.t.f), 0);
	ck_assert_uint_eq(fsm_clients_clock_ms(c.t.f), 10);
	expect_no_client(&c, 0);
	ce_close(&c);
}
END_TEST

START_TEST(expire_drops_only_clients_idle_past_the_cutoff)
{
	struct ce c;
	const struct proto_reply *r;
	uint64_t rev;

	ce_open(&c, 0);
	ce_apply(&c, ft_entry(1, 1, 1000, ft_put("a", "1", 0)));
	ce_apply(&c, ft_entry(2, 1, 5000, ft_put("b", "1", 0)));
	ce_apply(&c, ft_entry(3, 1, 9000, ft_put("c", "1", 0)));
	rev = fsm_revision(c.t.f);
	/* Cutoff 10000 - 5000: client 2, active at exactly 5000, stays. */
	r = ce_apply(&c, ft_entry(0, 0, 0, ft_expire(10000, 5000)));
	ft_code_eq(r->code, COORD_OK);
	ck_assert_uint_eq(r->u.clients_expire.expired, 1);
	ck_assert_uint_eq(r->revision, rev);
	ck_assert_uint_eq(fsm_revision(c.t.f), rev);
	ck_assert_uint_eq(fsm_clients_clock_ms(c.t.f), 10000);
	expect_no_client(&c, 1);
	expect_client(&c, 2, 1, 5000);
	expect_client(&c, 3, 1, 9000);
	ck_assert_uint_eq(fsm_clients_count(c.t.f), 2);
	/* The keys stay: the table is not the keyspace. */
	ck_assert_ptr_nonnull(ft_kv(&c.t, "a"));
	r = ce_apply(&c, ft_entry(0, 0, 0, ft_expire(10001, 5000)));
	ck_assert_uint_eq(r->u.clients_expire.expired, 1);
	expect_no_client(&c, 2);
	/* Through fsm_apply too, without an entry. */
	ck_assert_uint_eq(
		ft_apply(&c.t, ft_expire(20000, 0))->u.clients_expire.expired, 1);
	ck_assert_uint_eq(fsm_clients_count(c.t.f), 0);
	/* A forgotten client is unknown past its first sequence. */
	ft_code_eq(ce_apply(&c, ft_entry(3, 2, 20000, ft_put("c", "2", 0)))->code,
		   FSM_ECLIENT_UNKNOWN);
	ce_close(&c);
}
END_TEST

START_TEST(expire_before_the_idle_time_has_run_drops_nothing)
{
	struct ce c;
	const struct proto_reply *r;

	ce_open(&c, 0);
	ce_apply(&c, ft_entry(1, 1, 0, ft_put("a", "1", 0)));
	r = ce_apply(&c, ft_entry(0, 0, 0, ft_expire(0, 0)));
	ck_assert_uint_eq(r->u.clients_expire.expired, 0);
	r = ce_apply(&c, ft_entry(0, 0, 0, ft_expire(5000, 5000)));
	ck_assert_uint_eq(r->u.clients_expire.expired, 0);
	expect_client(&c, 1, 1, 0);
	/* idle 0: everything older than now goes. */
	r = ce_apply(&c, ft_entry(0, 0, 0, ft_expire(5001, 0)));
	ck_assert_uint_eq(r->u.clients_expire.expired, 1);
	ce_close(&c);
}
END_TEST

START_TEST(clock_going_backwards_moves_nothing_back)
{
	struct ce c;
	const struct proto_reply *r;

	ce_open(&c, 0);
	ce_apply(&c, ft_entry(1, 1, 10000, ft_put("a", "1", 0)));
	/* A new leader whose clock is behind. */
	ce_apply(&c, ft_entry(2, 1, 3000, ft_put("b", "1", 0)));
	ck_assert_uint_eq(fsm_clients_clock_ms(c.t.f), 10000);
	expect_client(&c, 2, 1, 10000);
	ce_apply(&c, ft_entry(1, 2, 2000, ft_put("a", "2", 0)));
	expect_client(&c, 1, 2, 10000);
	/* An expire from that clock: the cutoff comes from the cluster
	 * clock, so nobody is idle yet. */
	r = ce_apply(&c, ft_entry(0, 0, 4000, ft_expire(4000, 1000)));
	ck_assert_uint_eq(r->u.clients_expire.expired, 0);
	ck_assert_uint_eq(fsm_clients_clock_ms(c.t.f), 10000);
	r = ce_apply(&c, ft_entry(0, 0, 0, ft_expire(11001, 1000)));
	ck_assert_uint_eq(r->u.clients_expire.expired, 2);
	ce_close(&c);
}
END_TEST

START_TEST(full_table_evicts_the_least_recently_active)
{
	struct ce c;
	uint64_t rev;

	ce_open(&c, 3);
	ce_apply(&c, ft_entry(1, 1, 10, ft_put("a", "1", 0)));
	ce_apply(&c, ft_entry(3, 1, 20, ft_put("a", "2", 0)));
	ce_apply(&c, ft_entry(2, 1, 20, ft_put("a", "3", 0)));
	ce_apply(&c, ft_entry(1, 2, 30, ft_put("a", "4", 0)));   /* 1 is fresh */
	ck_assert_uint_eq(fsm_clients_count(c.t.f), 3);
	/* 2 and 3 tie at 20: the lower id goes. */
	rev = fsm_revision(c.t.f);
	ft_code_eq(ce_apply(&c, ft_entry(4, 1, 40, ft_put("a", "5", 0)))->code,
		   COORD_OK);
	ck_assert_uint_eq(fsm_revision(c.t.f), rev + 1);
	ck_assert_uint_eq(fsm_clients_count(c.t.f), 3);
	expect_no_client(&c, 2);
	expect_client(&c, 1, 2, 30);
	expect_client(&c, 3, 1, 20);
	expect_client(&c, 4, 1, 40);
	ft_code_eq(ce_apply(&c, ft_entry(2, 2, 50, ft_put("a", "6", 0)))->code,
		   FSM_ECLIENT_UNKNOWN);
	/* A known client never evicts anyone. */
	ce_apply(&c, ft_entry(3, 2, 60, ft_put("a", "7", 0)));
	ck_assert_uint_eq(fsm_clients_count(c.t.f), 3);
	expect_client(&c, 1, 2, 30);
	ce_close(&c);
}
END_TEST

START_TEST(lower_bound_after_reopen_evicts_down_to_it)
{
	struct ce c;
	struct fsm_config cfg;

	ce_open(&c, 4);
	for (uint64_t id = 1; id <= 4; id++)
		ce_apply(&c, ft_entry(id, 1, id * 10, ft_put("a", "1", 0)));
	fsm_free(c.t.f);
	cfg = c.t.cfg;
	cfg.clients_max = 2;
	ft_code_eq(fsm_new(&cfg, c.t.backend, &c.t.f), COORD_OK);
	ck_assert_uint_eq(fsm_clients_count(c.t.f), 4);
	ce_apply(&c, ft_entry(5, 1, 50, ft_put("a", "1", 0)));
	ck_assert_uint_eq(fsm_clients_count(c.t.f), 2);
	expect_client(&c, 4, 1, 40);
	expect_client(&c, 5, 1, 50);
	ce_close(&c);
}
END_TEST

START_TEST(expire_with_a_client_id_is_einval_and_stored)
{
	struct ce c;
	const struct proto_reply *r;

	ce_open(&c, 0);
	ce_apply(&c, ft_entry(1, 1, 10, ft_put("a", "1", 0)));
	r = ce_apply(&c, ft_entry(2, 1, 10000, ft_expire(10000, 0)));
	ft_code_eq(r->code, COORD_EINVAL);
	expect_client(&c, 1, 1, 10);
	expect_client(&c, 2, 1, 10000);
	ce_apply(&c, ft_entry(2, 1, 10000, ft_expire(10000, 0)));
	ck_assert(c.res.duplicate);
	ce_close(&c);
}
END_TEST

START_TEST(table_and_clock_survive_a_reopen)
{
	struct ce c;
	struct proto_buf first;
	uint64_t hash;

	ce_open(&c, 0);
	ce_apply(&c, ft_entry(7, 1, 500, ft_put("a", "1", 0)));
	save(&c, &first);
	ce_apply(&c, ft_entry(8, 1, 700, ft_put("b", "1", 0)));
	hash = ft_hash(&c.t);
	fsm_free(c.t.f);
	ft_code_eq(fsm_new(&c.t.cfg, c.t.backend, &c.t.f), COORD_OK);
	ck_assert_uint_eq(fsm_clients_count(c.t.f), 2);
	ck_assert_uint_eq(fsm_clients_clock_ms(c.t.f), 700);
	ck_assert_uint_eq(ft_hash(&c.t), hash);
	ce_apply(&c, ft_entry(7, 1, 900, ft_put("a", "1", 0)));
	ck_assert(c.res.duplicate);
	ck_assert(same_bytes(&c, &first));
	proto_buf_close(&first);
	ce_close(&c);
}
END_TEST

/* Two replicas, one fed structs and one fed bytes, through retries,
 * refusals, evictions and expiries: the same replies, the same bytes. */
START_TEST(replicas_drop_the_same_clients)
{
	struct ce a, b;
	uint64_t x = 0x9e3779b97f4a7c15ull, seq[6] = { 0 }, now = 0;

	ce_open(&a, 4);
	ce_open(&b, 4);
	for (int i = 0; i < 400; i++) {
		struct proto_entry e;
		uint64_t id;
		char key[2] = { 'a', 0 };

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		id = x % 6;
		key[0] = (char)('a' + (x >> 8) % 4);
		/* Mostly forwards, sometimes back a little. */
		now = (x >> 16) % 8 == 0 && now > 300 ? now - 300
						       : now + (x >> 20) % 100;
		if ((x >> 24) % 10 == 0) {
			e = ft_entry(0, 0, now, ft_expire(now, 1 + (x >> 28) % 500));
		} else if (id == 0) {
			e = ft_entry(0, 0, now, ft_put(key, "z", 0));
		} else {
			/* Next, retry, or stale. */
			unsigned p = (unsigned)((x >> 32) % 10);

			if (p < 6 || seq[id] < 2)
				seq[id]++;
			e = ft_entry(id, p == 9 && seq[id] >= 2 ? seq[id] - 1
							    : seq[id],
				now,
				ft_put(key, "v", 0));
		}
		ce_apply(&a, e);
		ft_code_eq(fsm_apply_entry(b.t.f, ++b.t.index, &e,
					   FSM_EVENTS | FSM_EVENTS_PREV_KV,
					   &b.res),
			   COORD_OK);
		ck_assert_uint_eq(a.res.reply_len, b.res.reply_len);
		ck_assert_int_eq(memcmp(a.reply.data, b.res.reply_data,
					a.reply.len),
				 0);
		ck_assert_int_eq(a.res.duplicate, b.res.duplicate);
		ck_assert_uint_eq(ft_hash(&a.t), ft_hash(&b.t));
		/* A forgotten client starts over. */
		if (b.res.res.reply.code == FSM_ECLIENT_UNKNOWN)
			seq[id] = 0;
	}
	{
		size_t la, lb;
		uint8_t *da = ft_backend_dump(a.t.backend, &la);
		uint8_t *db = ft_backend_dump(b.t.backend, &lb);

		ck_assert_uint_eq(la, lb);
		ck_assert_int_eq(memcmp(da, db, la), 0);
		free(da);
		free(db);
	}
	ce_close(&a);
	ce_close(&b);
}
END_TEST

START_TEST(undecodable_entries_are_malformed_no_ops)
{
	static const uint8_t bad[][12] = {
		/* A bare command [5, 1]. */
		{ 0x92, 0x05, 0x01 },
		/* Client 0 with a sequence; a client with sequence 0. */
		{ 0x94, 0x00, 0x01, 0x00, 0x92, 0x05, 0x01 },
		{ 0x94, 0x01, 0x00, 0x00, 0x92, 0x05, 0x01 },
		/* Trailing bytes; truncated; an unknown command. */
		{ 0x94, 0x01, 0x01, 0x00, 0x92, 0x05, 0x01, 0x00 },
		{ 0x94, 0x01, 0x01, 0x00, 0x92, 0x05 },
		{ 0x94, 0x01, 0x01, 0x00, 0x92, 0x0a, 0x01 },
	};
	static const size_t len[] = { 3, 7, 7, 8, 6, 7 };
	struct ce c;
	uint64_t hash;

	ce_open(&c, 0);
	ce_apply(&c, ft_entry(1, 1, 10, ft_put("a", "1", 0)));
	hash = ft_hash(&c.t);
	for (size_t i = 0; i < sizeof(len) / sizeof(len[0]); i++) {
		ft_code_eq(fsm_apply_entry_data(c.t.f, ++c.t.index, bad[i],
						len[i], FSM_EVENTS, &c.res),
			   COORD_OK);
		ft_code_eq(c.res.res.reply.code, COORD_EMALFORMED);
		ck_assert_uint_eq(c.res.res.reply.type, 0);
		ck_assert_uint_eq(c.res.reply_len, 0);
		ck_assert_ptr_null(c.res.reply_data);
		ck_assert_uint_eq(fsm_applied_index(c.t.f), c.t.index);
		ck_assert_uint_eq(ft_hash(&c.t), hash);
	}
	ft_code_eq(fsm_apply_entry_data(c.t.f, ++c.t.index, NULL, 0, 0,
					&c.res),
		   COORD_OK);
	ft_code_eq(c.res.res.reply.code, COORD_EMALFORMED);
	expect_client(&c, 1, 1, 10);
	ce_close(&c);
}
END_TEST

START_TEST(bad_arguments_are_einval_and_change_nothing)
{
	struct ce c;
	struct proto_entry e = ft_entry(1, 1, 10, ft_put("a", "1", 0));
	uint64_t hash;

	ce_open(&c, 0);
	ce_apply(&c, e);
	hash = ft_hash(&c.t);
	/* An index already applied. */
	ft_code_eq(fsm_apply_entry(c.t.f, c.t.index, &e, 0, &c.res),
		   COORD_EINVAL);
	ft_code_eq(fsm_apply_entry_data(c.t.f, c.t.index, c.enc.data,
					c.enc.len, 0, &c.res),
		   COORD_EINVAL);
	/* What the wire format cannot carry. */
	e = ft_entry(0, 1, 10, ft_put("a", "1", 0));
	ft_code_eq(fsm_apply_entry(c.t.f, c.t.index + 1, &e, 0, &c.res),
		   COORD_EINVAL);
	e = ft_entry(1, 0, 10, ft_put("a", "1", 0));
	ft_code_eq(fsm_apply_entry(c.t.f, c.t.index + 1, &e, 0, &c.res),
		   COORD_EINVAL);
	e = ft_entry(1, 2, 10, ft_put("a", "1", 0));
	e.cmd.type = PROTO_CMD_LAST + 1;
	ft_code_eq(fsm_apply_entry(c.t.f, c.t.index + 1, &e, 0, &c.res),
		   COORD_EINVAL);
	e.cmd.type = 0;
	ft_code_eq(fsm_apply_entry(c.t.f, c.t.index + 1, &e, 0, &c.res),
		   COORD_EINVAL);
	ck_assert_uint_eq(fsm_applied_index(c.t.f), c.t.index);
	ck_assert_uint_eq(ft_hash(&c.t), hash);
	/* A zero bound is a bad config. */
	{
		struct fsm_config cfg = c.t.cfg;
		struct fsm *f = NULL;

		cfg.clients_max = 0;
		ft_code_eq(fsm_new(&cfg, c.t.backend, &f), COORD_EINVAL);
		ck_assert_ptr_null(f);
	}
	ce_close(&c);
}
END_TEST

Suite *fsm_clients_suite(void)
{
	Suite *s = suite_create("fsm_clients");

	FT_ADD(s, new_sequence_applies_and_stores_its_reply);
	FT_ADD(s, retry_returns_identical_reply_bytes_and_changes_nothing);
	FT_ADD(s, retry_of_a_failed_command_returns_the_same_error);
	FT_ADD(s, stale_sequence_is_refused_and_changes_nothing);
	FT_ADD(s, gaps_in_sequences_apply);
	FT_ADD(s, unknown_client_past_its_first_sequence_is_refused);
	FT_ADD(s, client_zero_applies_every_time_and_keeps_no_entry);
	FT_ADD(s, expire_drops_only_clients_idle_past_the_cutoff);
	FT_ADD(s, expire_before_the_idle_time_has_run_drops_nothing);
	FT_ADD(s, clock_going_backwards_moves_nothing_back);
	FT_ADD(s, full_table_evicts_the_least_recently_active);
	FT_ADD(s, lower_bound_after_reopen_evicts_down_to_it);
	FT_ADD(s, expire_with_a_client_id_is_einval_and_stored);
	FT_ADD(s, table_and_clock_survive_a_reopen);
	FT_ADD(s, replicas_drop_the_same_clients);
	FT_ADD(s, undecodable_entries_are_malformed_no_ops);
	FT_ADD(s, bad_arguments_are_einval_and_change_nothing);
	return s;
}
