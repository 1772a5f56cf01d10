/*
 * tests/unit/fsm_clients_test.h: builders of entries, REGISTER_CLIENT and
 * CLIENTS_EXPIRE for the tests of the fsm's client table
 * (test_fsm_clients.c, test_fsm_faults.c, test_fsm_model.c).
 */
#ifndef COORD_TESTS_UNIT_FSM_CLIENTS_TEST_H
#define COORD_TESTS_UNIT_FSM_CLIENTS_TEST_H

#include <stdint.h>
#include <string.h>

#include "proto/msg.h"

/* An entry of client (0: none) with sequence seq and ack. */
static inline struct proto_entry ft_entry_ack(uint64_t client, uint64_t seq,
					      uint64_t ack, uint64_t now_ms,
					      struct proto_cmd cmd)
{
	struct proto_entry e;

	memset(&e, 0, sizeof(e));
	e.client_id = client;
	e.sequence = seq;
	e.ack = ack;
	e.now_ms = now_ms;
	e.cmd = cmd;
	return e;
}

/* The entry of a client with one request at a time: every sequence
 * below seq is answered (ack == seq). */
static inline struct proto_entry ft_entry(uint64_t client, uint64_t seq,
					  uint64_t now_ms, struct proto_cmd cmd)
{
	return ft_entry_ack(client, seq, seq, now_ms, cmd);
}

static inline struct proto_cmd ft_register(uint64_t horizon_ms)
{
	struct proto_cmd c;

	memset(&c, 0, sizeof(c));
	c.type = PROTO_CMD_REGISTER_CLIENT;
	c.u.register_client.horizon_ms = horizon_ms;
	return c;
}

static inline struct proto_cmd ft_expire(uint64_t now_ms, uint64_t idle_ms)
{
	struct proto_cmd c;

	memset(&c, 0, sizeof(c));
	c.type = PROTO_CMD_CLIENTS_EXPIRE;
	c.u.clients_expire.now_ms = now_ms;
	c.u.clients_expire.idle_ms = idle_ms;
	return c;
}

#endif /* COORD_TESTS_UNIT_FSM_CLIENTS_TEST_H */
