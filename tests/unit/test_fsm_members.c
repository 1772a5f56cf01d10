/*
 * tests/unit/test_fsm_members.c: the member table (MEMBER_PUT and
 * MEMBER_DEL): records, replacement, deletion, listing in id order, no
 * revision, part of the state hash, limits, and the codec of both
 * commands.
 */
#include <string.h>

#include "tests/unit/fsm_clients_test.h"
#include "tests/unit/fsm_test.h"
#include "tests/unit/test_fsm.h"

static struct proto_cmd member_put(uint64_t id, const char *name,
				   const char *peer, const char *client,
				   bool promote)
{
	struct proto_cmd c;

	memset(&c, 0, sizeof(c));
	c.type = PROTO_CMD_MEMBER_PUT;
	c.u.member_put.id = id;
	c.u.member_put.name = ft_s(name);
	c.u.member_put.peer_addr = ft_s(peer);
	c.u.member_put.client_addr = ft_s(client);
	c.u.member_put.promote = promote;
	return c;
}

static struct proto_cmd member_del(uint64_t id)
{
	struct proto_cmd c;

	memset(&c, 0, sizeof(c));
	c.type = PROTO_CMD_MEMBER_DEL;
	c.u.member_del.id = id;
	return c;
}

START_TEST(member_put_lists_in_id_order_without_revision)
{
	struct ft_fsm t;
	struct fsm_member m[4];
	size_t n;

	ft_fsm_open(&t, NULL);
	ft_apply_ok(&t, ft_put("k", "v", 0));
	ft_apply_ok(&t, member_put(9, "n9", "127.0.0.1:9", "", true));
	ft_apply_ok(&t, member_put(3, "n3", "127.0.0.1:3", "127.0.0.1:30",
				   false));
	ck_assert_uint_eq(fsm_revision(t.f), 1);
	ft_code_eq(fsm_members(t.f, m, 4, &n), COORD_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(m[0].id, 3);
	ck_assert_str_eq(m[0].name, "n3");
	ck_assert_str_eq(m[0].peer_addr, "127.0.0.1:3");
	ck_assert_str_eq(m[0].client_addr, "127.0.0.1:30");
	ck_assert(!m[0].promote);
	ck_assert_uint_eq(m[1].id, 9);
	ck_assert_str_eq(m[1].client_addr, "");
	ck_assert(m[1].promote);
	/* At most max. */
	ft_code_eq(fsm_members(t.f, m, 1, &n), COORD_OK);
	ck_assert_uint_eq(n, 1);
	/* The keyspace does not see them. */
	ck_assert_uint_eq(ft_get(&t, ft_range("", "", PROTO_RANGE_PREFIX))->count,
			  1);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(member_put_replaces_and_del_removes)
{
	struct ft_fsm t;
	struct fsm_member m[4];
	size_t n;
	uint64_t h0, h1;

	ft_fsm_open(&t, NULL);
	h0 = ft_hash(&t);
	ft_apply_ok(&t, member_put(5, "a", "h:1", "", true));
	h1 = ft_hash(&t);
	ck_assert_uint_ne(h0, h1);      /* in the state hash */
	ft_apply_ok(&t, member_put(5, "a", "h:2", "c:2", false));
	ft_code_eq(fsm_members(t.f, m, 4, &n), COORD_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(m[0].peer_addr, "h:2");
	ck_assert(!m[0].promote);
	ft_apply_ok(&t, member_del(5));
	ft_apply_ok(&t, member_del(6));     /* absent: nothing to do */
	ft_code_eq(fsm_members(t.f, m, 4, &n), COORD_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(ft_hash(&t), h0);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(member_commands_refuse_bad_fields)
{
	struct ft_fsm t;
	char big[COORD_ADDR_BYTES_MAX + 2];
	struct proto_buf b;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ft_fsm_open(&t, NULL);
	ft_apply_err(&t, member_put(0, "a", "h:1", "", false), COORD_EINVAL);
	ft_apply_err(&t, member_put(1, "a", big, "", false), COORD_EINVAL);
	ft_apply_err(&t, member_del(0), COORD_EINVAL);
	/* The encoder refuses them too. */
	proto_buf_init(&b, NULL);
	{
		struct proto_cmd c = member_put(0, "a", "h:1", "", false);

		ft_code_eq(proto_cmd_encode(&c, &b), COORD_EINVAL);
		c = member_put(1, "a", big, "", false);
		ft_code_eq(proto_cmd_encode(&c, &b), COORD_EINVAL);
		c = member_del(0);
		ft_code_eq(proto_cmd_encode(&c, &b), COORD_EINVAL);
	}
	ck_assert_uint_eq(b.len, 0);
	proto_buf_close(&b);
	ft_fsm_close(&t);
}
END_TEST

START_TEST(member_commands_round_trip_and_reject_bad_bytes)
{
	struct proto_cmd c = member_put(77, "node", "10.0.0.1:2480",
					"10.0.0.1:2479", true);
	struct proto_cmd d;
	struct proto_buf b;
	struct proto_arena ar;
	/* [8, 0, "", "", "", false]: id 0; [9, 0]; [8, 1] short. */
	static const uint8_t zero_id[] = { 0x96, 0x08, 0x00, 0xc4, 0x00, 0xc4,
					   0x00, 0xc4, 0x00, 0xc2 };
	static const uint8_t del_zero[] = { 0x92, 0x09, 0x00 };
	static const uint8_t short_put[] = { 0x92, 0x08, 0x01 };

	proto_buf_init(&b, NULL);
	proto_arena_init(&ar, NULL);
	ft_code_eq(proto_cmd_encode(&c, &b), COORD_OK);
	ft_code_eq(proto_cmd_decode(b.data, b.len, &ar, &d), COORD_OK);
	ck_assert_uint_eq(d.type, PROTO_CMD_MEMBER_PUT);
	ck_assert_uint_eq(d.u.member_put.id, 77);
	ck_assert(proto_bytes_eq(d.u.member_put.name, ft_s("node")));
	ck_assert(proto_bytes_eq(d.u.member_put.peer_addr,
				 ft_s("10.0.0.1:2480")));
	ck_assert(proto_bytes_eq(d.u.member_put.client_addr,
				 ft_s("10.0.0.1:2479")));
	ck_assert(d.u.member_put.promote);
	proto_buf_clear(&b);
	c = member_del(77);
	ft_code_eq(proto_cmd_encode(&c, &b), COORD_OK);
	ft_code_eq(proto_cmd_decode(b.data, b.len, &ar, &d), COORD_OK);
	ck_assert_uint_eq(d.type, PROTO_CMD_MEMBER_DEL);
	ck_assert_uint_eq(d.u.member_del.id, 77);
	ft_code_eq(proto_cmd_decode(zero_id, sizeof(zero_id), &ar, &d),
		   COORD_EMALFORMED);
	ft_code_eq(proto_cmd_decode(del_zero, sizeof(del_zero), &ar, &d),
		   COORD_EMALFORMED);
	ft_code_eq(proto_cmd_decode(short_put, sizeof(short_put), &ar, &d),
		   COORD_EMALFORMED);
	proto_arena_close(&ar);
	proto_buf_close(&b);
}
END_TEST

START_TEST(member_http_addr_round_trips_and_older_forms_read)
{
	struct proto_cmd c = member_put(4, "n4", "h:1", "h:2", false);
	struct proto_cmd d;
	struct proto_buf b;
	struct proto_arena ar;
	struct ft_fsm t;
	struct fsm_member m[2];
	size_t n;
	/* An entry from before http_addr: [8, 5, "a", "p", "c", false]. */
	static const uint8_t old_put[] = { 0x96, 0x08, 0x05, 0xc4, 0x01, 'a',
					   0xc4, 0x01, 'p', 0xc4, 0x01, 'c',
					   0xc2 };
	/* A record from before it: flags, name, peer, client. */
	static const uint8_t old_key[] = { 'n', 0, 0, 0, 0, 0, 0, 0, 6 };
	static const uint8_t old_val[] = { 0, 0, 1, 'b', 0, 1, 'q', 0, 0 };
	struct fsm_backend_write w = { FSM_BACKEND_PUT, old_key,
				       sizeof(old_key), old_val,
				       sizeof(old_val) };

	c.u.member_put.http_addr = ft_s("h:3");
	proto_buf_init(&b, NULL);
	proto_arena_init(&ar, NULL);
	ft_code_eq(proto_cmd_encode(&c, &b), COORD_OK);
	ft_code_eq(proto_cmd_decode(b.data, b.len, &ar, &d), COORD_OK);
	ck_assert(proto_bytes_eq(d.u.member_put.http_addr, ft_s("h:3")));
	ft_code_eq(proto_cmd_decode(old_put, sizeof(old_put), &ar, &d),
		   COORD_OK);
	ck_assert_uint_eq(d.u.member_put.id, 5);
	ck_assert_uint_eq(d.u.member_put.http_addr.len, 0);
	ft_fsm_open(&t, NULL);
	ft_apply_ok(&t, c);
	/* An address over its limit is refused, by the encoder too. */
	{
		char big[COORD_ADDR_BYTES_MAX + 2];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		c.u.member_put.http_addr = ft_s(big);
		ft_apply_err(&t, c, COORD_EINVAL);
		proto_buf_clear(&b);
		ft_code_eq(proto_cmd_encode(&c, &b), COORD_EINVAL);
	}
	/* Last: a record of the older form written under the fsm (not
	 * through a command, so outside its state hash). */
	ft_code_eq(t.backend->ops->write(t.backend, &w, 1), COORD_OK);
	ft_code_eq(fsm_members(t.f, m, 2, &n), COORD_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(m[0].http_addr, "h:3");
	ck_assert_str_eq(m[0].client_addr, "h:2");
	ck_assert_uint_eq(m[1].id, 6);
	ck_assert_str_eq(m[1].peer_addr, "q");
	ck_assert_str_eq(m[1].http_addr, "");
	ft_fsm_close(&t);
	proto_arena_close(&ar);
	proto_buf_close(&b);
}
END_TEST

/* A member command of a registered client: the client's entry, read
 * before the command, stays valid while MEMBER_PUT reads the record it
 * replaces (the backend's get invalidates the previous value), and the
 * state hash kept at apply equals a scan (it once hashed a dangling
 * copy, different on every replica). */
START_TEST(member_put_of_a_registered_client_keeps_the_hash)
{
	struct fsm_entry_result res;
	struct ft_fsm t;
	struct proto_entry e;
	uint64_t id;

	ft_fsm_open(&t, NULL);
	e = ft_entry(0, 0, 1, ft_register(0));
	ft_code_eq(fsm_apply_entry(t.f, ++t.index, &e, 0, &res), COORD_OK);
	ft_code_eq(res.res.reply.code, COORD_OK);
	id = res.res.reply.u.register_client.client_id;
	for (uint64_t s = 1; s <= 3; s++) {
		e = ft_entry(id, s, 2, member_put(4, "n4", "h:1", "h:2",
						  s == 1));
		ft_code_eq(fsm_apply_entry(t.f, ++t.index, &e, 0, &res),
			   COORD_OK);
		ft_code_eq(res.res.reply.code, COORD_OK);
		ft_hash(&t);
	}
	ft_fsm_close(&t);
}
END_TEST

Suite *fsm_members_suite(void)
{
	Suite *s = suite_create("fsm_members");

	FT_ADD(s, member_put_lists_in_id_order_without_revision);
	FT_ADD(s, member_put_replaces_and_del_removes);
	FT_ADD(s, member_commands_refuse_bad_fields);
	FT_ADD(s, member_commands_round_trip_and_reject_bad_bytes);
	FT_ADD(s, member_http_addr_round_trips_and_older_forms_read);
	FT_ADD(s, member_put_of_a_registered_client_keeps_the_hash);
	return s;
}
