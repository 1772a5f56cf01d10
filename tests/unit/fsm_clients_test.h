/*
 * tests/unit/fsm_clients_test.h: builders of entries and of CLIENTS_EXPIRE
 * for the tests of the fsm's client table (test_fsm_clients.c,
 * test_fsm_faults.c).
 */
#ifndef COORD_TESTS_UNIT_FSM_CLIENTS_TEST_H
#define COORD_TESTS_UNIT_FSM_CLIENTS_TEST_H

#include <stdint.h>
#include <string.h>

#include "proto/msg.h"

static inline struct proto_entry ft_entry(uint64_t client, uint64_t seq,
					  uint64_t now_ms, struct proto_cmd cmd)
{
	struct proto_entry e;

	memset(&e, 0, sizeof(e));
	e.client_id = client;
	e.sequence = seq;
	e.now_ms = now_ms;
	e.cmd = cmd;
	return e;
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
