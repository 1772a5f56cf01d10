/*
 * tests/unit/test_fsm_clients.c: exactly-once -- the fsm's client table
 * (coordd/fsm/fsm.h): committed registration, nothing applied for an id
 * the table does not hold (sequence 1 included), retries answered from
 * the stored replies of a client's window, the ack dropping replies,
 * stale and too-far sequences refused, idle expiry on the monotone
 * cluster clock, eviction only past the retry horizon, and the state
 * hash (incremental, equal across replicas and after a restore). Its
 * faults and corrupt records are in test_fsm_faults.c.
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

	ft_config_default(&cfg);
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

static void expect_client(struct ce *c, uint64_t id, uint64_t floor,
			  uint64_t n_replies, uint64_t active_ms)
{
	struct fsm_client_info ci;

	ft_code_eq(fsm_client_lookup(c->t.f, id, &ci), COORD_OK);
	ck_assert_uint_eq(ci.floor, floor);
	ck_assert_uint_eq(ci.n_replies, n_replies);
	ck_assert_uint_eq(ci.active_ms, active_ms);
}

static void expect_no_client(struct ce *c, uint64_t id)
{
	struct fsm_client_info ci;

	ft_code_eq(fsm_client_lookup(c->t.f, id, &ci), COORD_ENOTFOUND);
}

/* Registers a client at now_ms with a retry horizon; returns its id (the
 * entry's index) or 0 when refused. */
static uint64_t reg(struct ce *c, uint64_t now_ms, uint64_t horizon_ms)
{
	const struct proto_reply *r = ce_apply(c, ft_entry(0, 0, now_ms,
							   ft_register(horizon_ms)));

	if (r->code != COORD_OK)
		return 0;
	ck_assert_uint_eq(r->u.register_client.client_id, c->t.index);
	return r->u.register_client.client_id;
}

/* What an entry refused by the table must leave: everything but the
 * applied index. */
struct frozen {
	uint64_t hash, revision, clock, count;
};

static struct frozen freeze(struct ce *c)
{
	struct frozen z = { ft_hash(&c->t), fsm_revision(c->t.f),
			    fsm_clients_clock_ms(c->t.f),
			    fsm_clients_count(c->t.f) };

	return z;
}

static void expect_frozen(struct ce *c, const struct frozen *z)
{
	ck_assert_uint_eq(ft_hash(&c->t), z->hash);
	ck_assert_uint_eq(fsm_revision(c->t.f), z->revision);
	ck_assert_uint_eq(fsm_clients_clock_ms(c->t.f), z->clock);
	ck_assert_uint_eq(fsm_clients_count(c->t.f), z->count);
	ck_assert_uint_eq(c->res.res.n_events, 0);
	ck_assert(!c->res.duplicate);
}

START_TEST(registration_is_committed_and_names_its_index)
{
	struct ce c;
	uint64_t h0, id;

	ce_open(&c, 0);
	ce_apply(&c, ft_entry(0, 0, 100, ft_put("a", "1", 0)));
	h0 = ft_hash(&c.t);
	id = reg(&c, 2500, 0);
	ck_assert_uint_eq(id, 2);
	ck_assert_uint_eq(c.res.res.reply.type, PROTO_CMD_REGISTER_CLIENT);
	/* Not a keyspace change; but state, in the hash. */
	ck_assert_uint_eq(fsm_revision(c.t.f), 1);
	ck_assert_uint_ne(ft_hash(&c.t), h0);
	ck_assert_uint_eq(fsm_clients_count(c.t.f), 1);
	expect_client(&c, id, 1, 0, 2000);
	ck_assert_uint_eq(reg(&c, 2600, 0), 3);
	ck_assert_uint_eq(fsm_clients_count(c.t.f), 2);
	ce_close(&c);
}
END_TEST

START_TEST(unregistered_id_is_refused_even_at_sequence_one)
{
	struct ce c;
	struct frozen z;
	const struct proto_reply *r;
	uint64_t id;

	ce_open(&c, 0);
	id = reg(&c, 1000, 0);
	z = freeze(&c);
	/* Sequence 1 of an id nobody registered: not a new client. */
	for (uint64_t seq = 1; seq <= 3; seq++) {
		r = ce_apply(&c, ft_entry(id + 7, seq, 5000,
					  ft_put("a", "1", 0)));
		ft_code_eq(r->code, FSM_ECLIENT_UNKNOWN);
		ck_assert_uint_eq(r->type, PROTO_CMD_PUT);
		expect_frozen(&c, &z);
	}
	expect_no_client(&c, id + 7);
	ck_assert_ptr_null(ft_kv(&c.t, "a"));
	ce_close(&c);
}
END_TEST

START_TEST(new_sequence_applies_and_stores_its_reply)
{
	struct ce c;
	const struct proto_reply *r;
	uint64_t id;

	ce_open(&c, 0);
	id = reg(&c, 1000, 0);
	r = ce_apply(&c, ft_entry(id, 1, 1000, ft_put("a", "1", 0)));
	ft_code_eq(r->code, COORD_OK);
	ck_assert_uint_eq(r->revision, 1);
	ck_assert(!c.res.duplicate);
	ck_assert_uint_eq(c.res.res.n_events, 1);
	expect_client(&c, id, 1, 1, 1000);
	ck_assert_uint_eq(fsm_clients_clock_ms(c.t.f), 1000);
	r = ce_apply(&c, ft_entry(id, 2, 2500, ft_put("a", "2", 0)));
	ft_code_eq(r->code, COORD_OK);
	ck_assert_uint_eq(r->revision, 2);
	/* Its ack (2) dropped the reply to 1. */
	expect_client(&c, id, 2, 1, 2000);
	ck_assert(!fsm_client_has_reply(c.t.f, id, 1));
	ck_assert(fsm_client_has_reply(c.t.f, id, 2));
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
	struct frozen z;
	uint64_t id, other;

	ce_open(&c, 0);
	id = reg(&c, 10, 0);
	other = reg(&c, 10, 0);
	ce_apply(&c, ft_entry(0, 0, 10, ft_put("a", "1", 0)));
	ce_apply(&c, ft_entry(id, 1, 20, put));
	save(&c, &first);
	/* Another client moves the keyspace on. */
	ce_apply(&c, ft_entry(other, 1, 30, ft_put("a", "3", 0)));
	z = freeze(&c);
	/* The retry, even from a later leader's clock and with another
	 * command in it: the stored reply, nothing else. */
	r = ce_apply(&c, ft_entry(id, 1, 99999, ft_put("b", "x", 0)));
	ck_assert(c.res.duplicate);
	ck_assert(same_bytes(&c, &first));
	ck_assert_uint_eq(r->revision, 2);
	ck_assert(r->u.put.has_prev_kv);
	ck_assert(proto_bytes_eq(r->u.put.prev_kv.value, ft_s("1")));
	ck_assert_uint_eq(c.res.res.n_events, 0);
	ck_assert_uint_eq(fsm_revision(c.t.f), z.revision);
	ck_assert_uint_eq(ft_hash(&c.t), z.hash);
	ck_assert_uint_eq(fsm_clients_clock_ms(c.t.f), 30);
	ck_assert_ptr_null(ft_kv(&c.t, "b"));
	/* And again, through the struct API. */
	ft_code_eq(fsm_apply_entry(c.t.f, ++c.t.index,
				   &(struct proto_entry){ id, 1, 1, 5, put },
				   0, &c.res),
		   COORD_OK);
	ck_assert(c.res.duplicate);
	ck_assert_uint_eq(c.res.reply_len, first.len);
	ck_assert_int_eq(memcmp(c.res.reply_data, first.data, first.len), 0);
	ck_assert_uint_eq(ft_hash(&c.t), z.hash);
	proto_buf_close(&first);
	ce_close(&c);
}
END_TEST

START_TEST(retry_of_a_failed_command_returns_the_same_error)
{
	struct ce c;
	struct proto_buf first;
	const struct proto_reply *r;
	uint64_t hash, id;

	ce_open(&c, 0);
	id = reg(&c, 10, 0);
	hash = ft_hash(&c.t);
	r = ce_apply(&c, ft_entry(id, 1, 10, ft_put("", "x", 0)));
	ft_code_eq(r->code, COORD_EINVAL);
	ck_assert_uint_eq(r->revision, 0);
	/* No revision, but the table is state: the hash covers it. */
	ck_assert_uint_ne(ft_hash(&c.t), hash);
	save(&c, &first);
	expect_client(&c, id, 1, 1, 0);
	hash = ft_hash(&c.t);
	r = ce_apply(&c, ft_entry(id, 1, 20, ft_put("", "x", 0)));
	ck_assert(c.res.duplicate);
	ft_code_eq(r->code, COORD_EINVAL);
	ck_assert(same_bytes(&c, &first));
	ck_assert_uint_eq(ft_hash(&c.t), hash);
	/* The failed request counted: the next sequence applies. */
	r = ce_apply(&c, ft_entry(id, 2, 30, ft_put("a", "x", 0)));
	ft_code_eq(r->code, COORD_OK);
	proto_buf_close(&first);
	ce_close(&c);
}
END_TEST

/* One id, four requests in flight, committed out of order: each retry
 * gets its own reply until the ack passes it. */
START_TEST(window_keeps_the_replies_of_requests_in_flight)
{
	static const uint64_t order[] = { 3, 1, 4, 2 };
	struct ce c;
	struct proto_buf rep[5];
	const struct proto_reply *r;
	uint64_t id;

	ce_open(&c, 0);
	id = reg(&c, 10, 0);
	for (size_t i = 0; i < 4; i++) {
		char v[2] = { (char)('0' + order[i]), 0 };

		r = ce_apply(&c, ft_entry_ack(id, order[i], 1, 20,
					      ft_put("k", v, 0)));
		ft_code_eq(r->code, COORD_OK);
		save(&c, &rep[order[i]]);
	}
	expect_client(&c, id, 1, 4, 0);
	/* Every one is a retry now, answered with its own bytes. */
	for (uint64_t s = 1; s <= 4; s++) {
		uint64_t rev = fsm_revision(c.t.f);

		ce_apply(&c, ft_entry_ack(id, s, 1, 30, ft_put("k", "x", 0)));
		ck_assert(c.res.duplicate);
		ck_assert(same_bytes(&c, &rep[s]));
		ck_assert_uint_eq(fsm_revision(c.t.f), rev);
	}
	/* Sequence 5 says 1..3 are answered: their replies go. */
	ce_apply(&c, ft_entry_ack(id, 5, 4, 40, ft_put("k", "5", 0)));
	expect_client(&c, id, 4, 2, 0);
	r = ce_apply(&c, ft_entry_ack(id, 2, 2, 50, ft_put("k", "x", 0)));
	ft_code_eq(r->code, FSM_ECLIENT_STALE_SEQ);
	ce_apply(&c, ft_entry_ack(id, 4, 4, 50, ft_put("k", "x", 0)));
	ck_assert(c.res.duplicate);
	ck_assert(same_bytes(&c, &rep[4]));
	/* An ack that goes back moves nothing back. */
	ce_apply(&c, ft_entry_ack(id, 6, 1, 50, ft_put("k", "6", 0)));
	expect_client(&c, id, 4, 3, 0);
	for (int i = 1; i <= 4; i++)
		proto_buf_close(&rep[i]);
	ce_close(&c);
}
END_TEST

START_TEST(sequence_past_the_window_is_refused)
{
	struct ce c;
	struct frozen z;
	const struct proto_reply *r;
	uint64_t id, w = COORD_CLIENT_WINDOW_MAX;

	ce_open(&c, 0);
	id = reg(&c, 10, 0);
	ce_apply(&c, ft_entry_ack(id, 1, 1, 10, ft_put("a", "1", 0)));
	z = freeze(&c);
	r = ce_apply(&c, ft_entry_ack(id, 1 + w, 1, 10, ft_put("a", "2", 0)));
	ft_code_eq(r->code, COORD_EWINDOW);
	expect_frozen(&c, &z);
	/* The last one inside applies; so does a far one whose ack moves
	 * the window along. */
	r = ce_apply(&c, ft_entry_ack(id, w, 1, 10, ft_put("a", "3", 0)));
	ft_code_eq(r->code, COORD_OK);
	expect_client(&c, id, 1, 2, 0);
	r = ce_apply(&c, ft_entry_ack(id, 2 * w, w + 1, 10,
				      ft_put("a", "4", 0)));
	ft_code_eq(r->code, COORD_OK);
	expect_client(&c, id, w + 1, 1, 0);
	ce_close(&c);
}
END_TEST

START_TEST(stale_sequence_is_refused_and_changes_nothing)
{
	struct ce c;
	struct frozen z;
	const struct proto_reply *r;
	uint64_t id;

	ce_open(&c, 0);
	id = reg(&c, 10, 0);
	ce_apply(&c, ft_entry(id, 1, 10, ft_put("a", "1", 0)));
	ce_apply(&c, ft_entry(id, 5, 20, ft_put("a", "2", 0)));
	z = freeze(&c);
	r = ce_apply(&c, ft_entry(id, 4, 30, ft_put("a", "3", 0)));
	ft_code_eq(r->code, FSM_ECLIENT_STALE_SEQ);
	ck_assert_uint_eq(r->type, PROTO_CMD_PUT);
	ck_assert_uint_eq(r->revision, 2);
	expect_frozen(&c, &z);
	ck_assert(proto_bytes_eq(ft_kv(&c.t, "a")->value, ft_s("2")));
	/* 5 is still the retry. */
	ce_apply(&c, ft_entry(id, 5, 40, ft_put("a", "4", 0)));
	ck_assert(c.res.duplicate);
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

START_TEST(expired_client_is_refused_even_its_retry_of_sequence_one)
{
	struct ce c;
	const struct proto_reply *r;
	struct frozen z;
	uint64_t a, b, d, rev;

	ce_open(&c, 0);
	a = reg(&c, 1000, 0);
	ce_apply(&c, ft_entry(a, 1, 1000, ft_put("a", "1", 0)));
	b = reg(&c, 5000, 0);
	d = reg(&c, 9000, 0);
	rev = fsm_revision(c.t.f);
	/* Cutoff 10000 - 5000: b, active at exactly 5000, stays. */
	r = ce_apply(&c, ft_entry(0, 0, 0, ft_expire(10000, 5000)));
	ft_code_eq(r->code, COORD_OK);
	ck_assert_uint_eq(r->u.clients_expire.expired, 1);
	ck_assert_uint_eq(r->revision, rev);
	ck_assert_uint_eq(fsm_clients_clock_ms(c.t.f), 10000);
	expect_no_client(&c, a);
	expect_client(&c, b, 1, 0, 5000);
	expect_client(&c, d, 1, 0, 9000);
	/* a's retry of its sequence 1 -- applied before -- is not taken
	 * for a new client: refused, not applied twice. */
	z = freeze(&c);
	r = ce_apply(&c, ft_entry(a, 1, 10000, ft_put("a", "1", 0)));
	ft_code_eq(r->code, FSM_ECLIENT_UNKNOWN);
	expect_frozen(&c, &z);
	ck_assert_uint_eq(ft_kv(&c.t, "a")->version, 1);
	/* Before the idle time has run, nothing goes. */
	r = ce_apply(&c, ft_entry(0, 0, 0, ft_expire(10000, 20000)));
	ck_assert_uint_eq(r->u.clients_expire.expired, 0);
	ck_assert_uint_eq(fsm_clients_count(c.t.f), 2);
	ce_close(&c);
}
END_TEST

START_TEST(clock_going_backwards_moves_nothing_back)
{
	struct ce c;
	uint64_t id;

	ce_open(&c, 0);
	id = reg(&c, 5000, 0);
	ce_apply(&c, ft_entry(id, 1, 3000, ft_put("a", "1", 0)));
	ck_assert_uint_eq(fsm_clients_clock_ms(c.t.f), 5000);
	expect_client(&c, id, 1, 1, 5000);
	ce_apply(&c, ft_entry(0, 0, 0, ft_expire(4000, 1000)));
	ck_assert_uint_eq(fsm_clients_clock_ms(c.t.f), 5000);
	expect_client(&c, id, 1, 1, 5000);
	ce_close(&c);
}
END_TEST

/* A full table: a registration evicts the least recently active client
 * only when it has been idle for the horizon; otherwise it is refused
 * and nothing changes. The evicted client's retries are refused. */
START_TEST(full_table_evicts_only_past_the_retry_horizon)
{
	struct ce c;
	struct frozen z;
	const struct proto_reply *r;
	uint64_t a, b, d;

	ce_open(&c, 2);
	a = reg(&c, 1000, 0);
	ce_apply(&c, ft_entry(a, 1, 1000, ft_put("k", "a", 0)));
	b = reg(&c, 5000, 0);
	z = freeze(&c);
	/* a is idle for 5 s at 6000: younger than a 10 s horizon. */
	r = ce_apply(&c, ft_entry(0, 0, 6000, ft_register(10000)));
	ft_code_eq(r->code, COORD_ECLIENTSFULL);
	ck_assert_uint_eq(r->u.register_client.client_id, 0);
	ck_assert_uint_eq(fsm_clients_count(c.t.f), 2);
	ck_assert_uint_eq(fsm_clients_clock_ms(c.t.f), 6000);
	z.clock = 6000;
	/* The clock moved (the entry applied, as a refusal); nothing else
	 * did but the hash's clock term. */
	ck_assert_uint_eq(fsm_revision(c.t.f), z.revision);
	expect_client(&c, a, 1, 1, 1000);
	/* At 11000, a has been idle for exactly the horizon: evicted. */
	d = reg(&c, 11000, 10000);
	ck_assert_uint_ne(d, 0);
	expect_no_client(&c, a);
	expect_client(&c, b, 1, 0, 5000);
	expect_client(&c, d, 1, 0, 11000);
	/* a's retry of sequence 1 (applied before) is refused. */
	z = freeze(&c);
	r = ce_apply(&c, ft_entry(a, 1, 11000, ft_put("k", "a", 0)));
	ft_code_eq(r->code, FSM_ECLIENT_UNKNOWN);
	expect_frozen(&c, &z);
	ck_assert_uint_eq(ft_kv(&c.t, "k")->version, 1);
	ce_close(&c);
}
END_TEST

/* Ties within one activity grain go to the lowest id; a lower bound
 * after a reopen evicts down to it. */
START_TEST(eviction_order_is_oldest_grain_then_lowest_id)
{
	struct ce c;
	struct fsm_config cfg;
	uint64_t id[4], e;

	ce_open(&c, 4);
	for (int i = 0; i < 4; i++)
		id[i] = reg(&c, 1000 + (uint64_t)i * 100 + (i == 3) * 1000, 0);
	/* id[3] in the next grain; id[1] writes, but in the same grain. */
	ce_apply(&c, ft_entry(id[1], 1, 1900, ft_put("a", "1", 0)));
	fsm_free(c.t.f);
	cfg = c.t.cfg;
	cfg.clients_max = 2;
	ft_code_eq(fsm_new(&cfg, c.t.backend, &c.t.f), COORD_OK);
	ck_assert_uint_eq(fsm_clients_count(c.t.f), 4);
	e = reg(&c, 3000, 0);
	ck_assert_uint_ne(e, 0);
	ck_assert_uint_eq(fsm_clients_count(c.t.f), 2);
	expect_no_client(&c, id[0]);
	expect_no_client(&c, id[1]);
	expect_no_client(&c, id[2]);
	expect_client(&c, id[3], 1, 0, 2000);
	ce_close(&c);
}
END_TEST

START_TEST(internal_commands_with_a_client_id_are_einval_and_stored)
{
	struct ce c;
	const struct proto_reply *r;
	uint64_t id;

	ce_open(&c, 0);
	id = reg(&c, 10, 0);
	r = ce_apply(&c, ft_entry(id, 1, 10000, ft_expire(10000, 0)));
	ft_code_eq(r->code, COORD_EINVAL);
	r = ce_apply(&c, ft_entry(id, 2, 10000, ft_register(0)));
	ft_code_eq(r->code, COORD_EINVAL);
	ck_assert_uint_eq(fsm_clients_count(c.t.f), 1);
	expect_client(&c, id, 2, 1, 10000);
	ce_apply(&c, ft_entry(id, 2, 10000, ft_register(0)));
	ck_assert(c.res.duplicate);
	ce_close(&c);
}
END_TEST

START_TEST(table_and_clock_survive_a_reopen)
{
	struct ce c;
	struct proto_buf first;
	uint64_t hash, a, b;

	ce_open(&c, 0);
	a = reg(&c, 500, 0);
	b = reg(&c, 500, 0);
	ce_apply(&c, ft_entry(a, 1, 500, ft_put("a", "1", 0)));
	save(&c, &first);
	ce_apply(&c, ft_entry(b, 1, 700, ft_put("b", "1", 0)));
	hash = ft_hash(&c.t);
	fsm_free(c.t.f);
	ft_code_eq(fsm_new(&c.t.cfg, c.t.backend, &c.t.f), COORD_OK);
	ck_assert_uint_eq(fsm_clients_count(c.t.f), 2);
	ck_assert_uint_eq(fsm_clients_clock_ms(c.t.f), 700);
	ck_assert_uint_eq(ft_hash(&c.t), hash);
	ce_apply(&c, ft_entry(a, 1, 900, ft_put("a", "1", 0)));
	ck_assert(c.res.duplicate);
	ck_assert(same_bytes(&c, &first));
	proto_buf_close(&first);
	ce_close(&c);
}
END_TEST

/* The state hash: O(1) and incremental (ft_hash() checks it against a
 * scan of the records after every use), equal on replicas that applied
 * the same commands through different indexes, equal on a replica
 * restored from a copy of the records, and different when one value
 * differs. */
START_TEST(state_hash_is_equal_for_equal_states_and_survives_a_restore)
{
	struct ce a, b, d;
	struct ft_fsm r;
	uint64_t ia, ib;

	ce_open(&a, 0);
	ce_open(&b, 0);
	ce_open(&d, 0);
	ia = reg(&a, 10, 0);
	/* b first applies an entry the table refuses: other indexes, the
	 * same state. */
	ce_apply(&b, ft_entry(99, 1, 10, ft_put("x", "1", 0)));
	ib = reg(&b, 10, 0);
	ck_assert_uint_ne(ia, ib);
	reg(&d, 10, 0);
	for (int i = 0; i < 20; i++) {
		char k[2] = { (char)('a' + i % 5), 0 };

		ce_apply(&a, ft_entry(0, 0, 10 + i, ft_put(k, "v", 0)));
		ce_apply(&b, ft_entry(0, 0, 10 + i, ft_put(k, "v", 0)));
		ce_apply(&d, ft_entry(0, 0, 10 + i,
				      ft_put(k, i == 7 ? "w" : "v", 0)));
	}
	ce_apply(&a, ft_entry(0, 0, 50, ft_compact(10)));
	ce_apply(&b, ft_entry(0, 0, 50, ft_compact(10)));
	ce_apply(&d, ft_entry(0, 0, 50, ft_compact(10)));
	/* The client ids differ (the registrations' indexes): the client
	 * tables differ, and so do the hashes. */
	ck_assert_uint_ne(ft_hash(&a.t), ft_hash(&b.t));
	/* Without the clients, equal. */
	ce_apply(&a, ft_entry(0, 0, 100000, ft_expire(100000, 1000)));
	ce_apply(&b, ft_entry(0, 0, 100000, ft_expire(100000, 1000)));
	ce_apply(&d, ft_entry(0, 0, 100000, ft_expire(100000, 1000)));
	ck_assert_uint_ne(fsm_applied_index(a.t.f), fsm_applied_index(b.t.f));
	ck_assert_uint_eq(ft_hash(&a.t), ft_hash(&b.t));
	ck_assert_uint_ne(ft_hash(&a.t), ft_hash(&d.t));
	/* A replica restored from a's records agrees, and goes on alike. */
	ft_fsm_open(&r, &a.t.cfg);
	fsm_free(r.f);
	ft_backend_copy(a.t.backend, r.backend);
	ft_code_eq(fsm_new(&r.cfg, r.backend, &r.f), COORD_OK);
	ck_assert_uint_eq(ft_hash(&r), ft_hash(&a.t));
	r.index = a.t.index;
	ft_apply_ok(&r, ft_put("z", "1", 0));
	ce_apply(&a, ft_entry(0, 0, 100000, ft_put("z", "1", 0)));
	ck_assert_uint_eq(ft_hash(&r), ft_hash(&a.t));
	ft_fsm_close(&r);
	ce_close(&a);
	ce_close(&b);
	ce_close(&d);
}
END_TEST

/* Two replicas, one fed structs and one fed bytes, through retries,
 * refusals, evictions and expiries: the same replies, the same bytes. */
START_TEST(replicas_drop_the_same_clients)
{
	struct ce a, b;
	uint64_t x = 0x9e3779b97f4a7c15ull, seq[6] = { 0 }, ids[6] = { 0 };
	uint64_t now = 0;

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
		} else if (ids[id] == 0 || (x >> 40) % 40 == 0) {
			/* A registration: the id is the entry's index. */
			e = ft_entry(0, 0, now, ft_register((x >> 44) % 400));
		} else {
			/* Next, retry, or stale. */
			unsigned p = (unsigned)((x >> 32) % 10);

			if (p < 6 || seq[id] < 2)
				seq[id]++;
			e = ft_entry(ids[id], p == 9 && seq[id] >= 2
						      ? seq[id] - 1
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
		/* A registered client starts at 1; a forgotten one
		 * registers again. */
		if (e.cmd.type == PROTO_CMD_REGISTER_CLIENT) {
			ids[id] = b.res.res.reply.u.register_client.client_id;
			seq[id] = 0;
		}
		if (b.res.res.reply.code == FSM_ECLIENT_UNKNOWN)
			ids[id] = 0;
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
		{ 0x95, 0x00, 0x01, 0x00, 0x00, 0x92, 0x05, 0x01 },
		{ 0x95, 0x01, 0x00, 0x00, 0x00, 0x92, 0x05, 0x01 },
		/* Client 0 with an ack; an ack of 0; an ack above. */
		{ 0x95, 0x00, 0x00, 0x01, 0x00, 0x92, 0x05, 0x01 },
		{ 0x95, 0x01, 0x01, 0x00, 0x00, 0x92, 0x05, 0x01 },
		{ 0x95, 0x01, 0x01, 0x02, 0x00, 0x92, 0x05, 0x01 },
		/* The old entry without an ack. */
		{ 0x94, 0x01, 0x01, 0x00, 0x92, 0x05, 0x01 },
		/* Trailing bytes; truncated; an unknown command. */
		{ 0x95, 0x01, 0x01, 0x01, 0x00, 0x92, 0x05, 0x01, 0x00 },
		{ 0x95, 0x01, 0x01, 0x01, 0x00, 0x92, 0x05 },
		{ 0x95, 0x01, 0x01, 0x01, 0x00, 0x92, 0x0b, 0x01 },
	};
	static const size_t len[] = { 3, 8, 8, 8, 8, 8, 7, 9, 7, 8 };
	struct ce c;
	uint64_t hash;

	ce_open(&c, 0);
	ck_assert_uint_eq(reg(&c, 10, 0), 1);
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
	expect_client(&c, 1, 1, 1, 0);
	ce_close(&c);
}
END_TEST

START_TEST(bad_arguments_are_einval_and_change_nothing)
{
	struct ce c;
	struct proto_entry e = ft_entry(1, 1, 10, ft_put("a", "1", 0));
	uint64_t hash;

	ce_open(&c, 0);
	ck_assert_uint_eq(reg(&c, 10, 0), 1);
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
	e = ft_entry_ack(1, 2, 3, 10, ft_put("a", "1", 0));
	ft_code_eq(fsm_apply_entry(c.t.f, c.t.index + 1, &e, 0, &c.res),
		   COORD_EINVAL);
	e = ft_entry_ack(1, 2, 0, 10, ft_put("a", "1", 0));
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

	FT_ADD(s, registration_is_committed_and_names_its_index);
	FT_ADD(s, unregistered_id_is_refused_even_at_sequence_one);
	FT_ADD(s, new_sequence_applies_and_stores_its_reply);
	FT_ADD(s, retry_returns_identical_reply_bytes_and_changes_nothing);
	FT_ADD(s, retry_of_a_failed_command_returns_the_same_error);
	FT_ADD(s, window_keeps_the_replies_of_requests_in_flight);
	FT_ADD(s, sequence_past_the_window_is_refused);
	FT_ADD(s, stale_sequence_is_refused_and_changes_nothing);
	FT_ADD(s, client_zero_applies_every_time_and_keeps_no_entry);
	FT_ADD(s, expired_client_is_refused_even_its_retry_of_sequence_one);
	FT_ADD(s, clock_going_backwards_moves_nothing_back);
	FT_ADD(s, full_table_evicts_only_past_the_retry_horizon);
	FT_ADD(s, eviction_order_is_oldest_grain_then_lowest_id);
	FT_ADD(s, internal_commands_with_a_client_id_are_einval_and_stored);
	FT_ADD(s, table_and_clock_survive_a_reopen);
	FT_ADD(s, state_hash_is_equal_for_equal_states_and_survives_a_restore);
	FT_ADD(s, replicas_drop_the_same_clients);
	FT_ADD(s, undecodable_entries_are_malformed_no_ops);
	FT_ADD(s, bad_arguments_are_einval_and_change_nothing);
	return s;
}
