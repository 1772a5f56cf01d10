/*
 * tests/unit/fsm_lock_test.c: the fixture and builders of fsm_lock_test.h.
 */
#include <string.h>

#include "tests/unit/fsm_clients_test.h"
#include "tests/unit/fsm_lock_test.h"

void fl_open(struct fl *x, const struct fsm_config *cfg)
{
	ft_fsm_open(&x->t, cfg);
	proto_buf_init(&x->enc, NULL);
	memset(&x->res, 0, sizeof(x->res));
}

void fl_close(struct fl *x)
{
	proto_buf_close(&x->enc);
	ft_fsm_close(&x->t);
}

static uint8_t reply_type_of(const struct proto_cmd *cmd)
{
	if (cmd->type == PROTO_CMD_LOCK_RELEASE_WRITE)
		return cmd->u.lock_release_write.cmd->type;
	return cmd->type == PROTO_CMD_FENCED ? cmd->u.fenced.cmd->type
					     : cmd->type;
}

const struct proto_reply *fl_do_as(struct fl *x, uint64_t client,
				   uint64_t seq, uint64_t now_ms,
				   struct proto_cmd cmd)
{
	struct proto_entry e = ft_entry(client, client != 0 ? seq : 0, now_ms,
					cmd);
	struct proto_arena arena;
	struct proto_reply back;
	struct proto_buf again;

	proto_buf_clear(&x->enc);
	ft_code_eq(proto_entry_encode(&e, &x->enc), COORD_OK);
	ft_code_eq(fsm_apply_entry_data(x->t.f, ++x->t.index, x->enc.data,
					x->enc.len,
					FSM_EVENTS | FSM_EVENTS_PREV_KV,
					&x->res),
		   COORD_OK);
	ck_assert_uint_eq(fsm_applied_index(x->t.f), x->t.index);
	ck_assert_uint_eq(x->res.res.reply.type, reply_type_of(&cmd));
	ck_assert_uint_eq(x->res.res.reply.revision, fsm_revision(x->t.f));
	/* The bytes are the reply's encoding, and decode back to it. */
	ck_assert_uint_gt(x->res.reply_len, 0);
	proto_buf_init(&again, NULL);
	ft_code_eq(proto_reply_encode(&x->res.res.reply, &again), COORD_OK);
	ck_assert_uint_eq(again.len, x->res.reply_len);
	ck_assert_int_eq(memcmp(again.data, x->res.reply_data, again.len), 0);
	proto_arena_init(&arena, NULL);
	ft_code_eq(proto_reply_decode(again.data, again.len, &arena, &back),
		   COORD_OK);
	ck_assert_int_eq(back.code, x->res.res.reply.code);
	proto_arena_close(&arena);
	proto_buf_close(&again);
	ft_hash(&x->t);
	return &x->res.res.reply;
}

const struct proto_reply *fl_do(struct fl *x, uint64_t now_ms,
				struct proto_cmd cmd)
{
	return fl_do_as(x, 0, 0, now_ms, cmd);
}

const struct proto_reply *fl_ok(struct fl *x, uint64_t now_ms,
				struct proto_cmd cmd)
{
	const struct proto_reply *r = fl_do(x, now_ms, cmd);

	ft_code_eq(r->code, COORD_OK);
	return r;
}

void fl_err(struct fl *x, struct proto_cmd cmd, int code)
{
	struct fsm *f = x->t.f;
	uint64_t rev = fsm_revision(f), hash = ft_hash(&x->t);
	uint64_t counts[4] = { fsm_leases_count(f), fsm_sessions_count(f),
			       fsm_holds_count(f), fsm_waiters_count(f) };
	const struct proto_reply *r =
		fl_do(x, fsm_clients_clock_ms(f), cmd);

	ft_code_eq(r->code, code);
	ck_assert_uint_eq(fsm_revision(f), rev);
	ck_assert_uint_eq(ft_hash(&x->t), hash);
	ck_assert_uint_eq(x->res.res.n_events, 0);
	ck_assert_uint_eq(x->res.res.n_grants, 0);
	ck_assert_uint_eq(x->res.res.n_touched, 0);
	ck_assert_uint_eq(x->res.res.n_gone, 0);
	ck_assert_uint_eq(fsm_leases_count(f), counts[0]);
	ck_assert_uint_eq(fsm_sessions_count(f), counts[1]);
	ck_assert_uint_eq(fsm_holds_count(f), counts[2]);
	ck_assert_uint_eq(fsm_waiters_count(f), counts[3]);
}

static struct proto_cmd cmd_of(uint8_t type)
{
	struct proto_cmd c;

	memset(&c, 0, sizeof(c));
	c.type = type;
	return c;
}

struct proto_cmd fl_grant(uint64_t lease, uint64_t ttl_ms)
{
	struct proto_cmd c = cmd_of(PROTO_CMD_LEASE_GRANT);

	c.u.lease_grant.lease = lease;
	c.u.lease_grant.ttl_ms = ttl_ms;
	return c;
}

struct proto_cmd fl_keepalive(const uint64_t *leases, size_t n)
{
	struct proto_cmd c = cmd_of(PROTO_CMD_LEASE_KEEPALIVE);

	c.u.lease_keepalive.leases = leases;
	c.u.lease_keepalive.n_leases = n;
	return c;
}

struct proto_cmd fl_revoke(uint64_t lease)
{
	struct proto_cmd c = cmd_of(PROTO_CMD_LEASE_REVOKE);

	c.u.lease_revoke.lease = lease;
	return c;
}

struct proto_cmd fl_expire(uint64_t lease, uint64_t ka_index)
{
	struct proto_cmd c = cmd_of(PROTO_CMD_LEASE_EXPIRE);

	c.u.lease_expire.lease = lease;
	c.u.lease_expire.ka_index = ka_index;
	return c;
}

struct proto_cmd fl_open_session(uint64_t ttl_ms)
{
	struct proto_cmd c = cmd_of(PROTO_CMD_SESSION_OPEN);

	c.u.session_open.ttl_ms = ttl_ms;
	c.u.session_open.secret = FT_B(FL_SECRET);
	return c;
}

struct proto_cmd fl_close_session(uint64_t session)
{
	struct proto_cmd c = cmd_of(PROTO_CMD_SESSION_CLOSE);

	c.u.session_close.session = session;
	return c;
}

struct proto_cmd fl_acquire(const char *name, uint64_t session, uint8_t mode,
			    bool wait, uint64_t deadline_ms,
			    uint64_t lock_delay_ms)
{
	struct proto_cmd c = cmd_of(PROTO_CMD_LOCK_ACQUIRE);

	c.u.lock_acquire.name = ft_s(name);
	c.u.lock_acquire.session = session;
	c.u.lock_acquire.mode = mode;
	c.u.lock_acquire.wait = wait;
	c.u.lock_acquire.deadline_ms = deadline_ms;
	c.u.lock_acquire.lock_delay_ms = lock_delay_ms;
	return c;
}

struct proto_cmd fl_release(const char *name, uint64_t session,
			    uint64_t token)
{
	struct proto_cmd c = cmd_of(PROTO_CMD_LOCK_RELEASE);

	c.u.lock_release.name = ft_s(name);
	c.u.lock_release.session = session;
	c.u.lock_release.token = token;
	return c;
}

struct proto_cmd fl_sem_acquire(const char *name, uint64_t session,
			       uint64_t permits, bool wait,
			       uint64_t deadline_ms)
{
	struct proto_cmd c = cmd_of(PROTO_CMD_SEM_ACQUIRE);

	c.u.sem_acquire.name = ft_s(name);
	c.u.sem_acquire.session = session;
	c.u.sem_acquire.permits = permits;
	c.u.sem_acquire.wait = wait;
	c.u.sem_acquire.deadline_ms = deadline_ms;
	return c;
}

struct proto_cmd fl_sem_release(const char *name, uint64_t session,
			       uint64_t token)
{
	struct proto_cmd c = fl_release(name, session, token);

	c.type = PROTO_CMD_SEM_RELEASE;
	return c;
}

struct proto_cmd fl_kick(const char *name)
{
	struct proto_cmd c = cmd_of(PROTO_CMD_QUEUE_KICK);

	c.u.queue_kick.kind = PROTO_QUEUE_LOCK;
	c.u.queue_kick.name = ft_s(name);
	return c;
}

struct proto_cmd fl_fenced(const struct proto_fence *fences, size_t n,
			   const struct proto_cmd *inner)
{
	struct proto_cmd c = cmd_of(PROTO_CMD_FENCED);

	c.u.fenced.fences = fences;
	c.u.fenced.n_fences = n;
	c.u.fenced.cmd = inner;
	return c;
}

struct proto_cmd fl_release_write(const char *name, uint64_t session,
				  uint64_t token, const struct proto_cmd *inner)
{
	struct proto_cmd c = cmd_of(PROTO_CMD_LOCK_RELEASE_WRITE);

	c.u.lock_release_write.name = ft_s(name);
	c.u.lock_release_write.session = session;
	c.u.lock_release_write.token = token;
	c.u.lock_release_write.cmd = inner;
	return c;
}

uint64_t fl_session(struct fl *x, uint64_t now_ms, uint64_t ttl_ms)
{
	const struct proto_reply *r = fl_ok(x, now_ms, fl_open_session(ttl_ms));

	ck_assert_uint_eq(r->u.session_open.session, x->t.index);
	return r->u.session_open.session;
}

uint64_t fl_lock(struct fl *x, uint64_t now_ms, const char *name,
		 uint64_t session, uint8_t mode, bool wait)
{
	const struct proto_reply *r =
		fl_ok(x, now_ms, fl_acquire(name, session, mode, wait, 0, 0));

	return r->u.lock_acquire.granted ? r->u.lock_acquire.token : 0;
}

static struct fsm_queue_status status_of(struct fl *x, const char *name)
{
	struct fsm_queue_status st;

	ft_code_eq(fsm_queue_status(x->t.f, FSM_QUEUE_LOCK, ft_s(name),
				    SIZE_MAX, &st),
		   COORD_OK);
	return st;
}

size_t fl_holders(struct fl *x, const char *name)
{
	return status_of(x, name).n_holders;
}

size_t fl_waiters(struct fl *x, const char *name)
{
	return status_of(x, name).n_waiters;
}

bool fl_granted(const struct fl *x, const char *name, uint64_t session,
		uint64_t *token)
{
	for (size_t i = 0; i < x->res.res.n_grants; i++) {
		const struct fsm_grant *g = &x->res.res.grants[i];

		if (g->session == session && proto_bytes_eq(g->name, ft_s(name))) {
			if (token != NULL)
				*token = g->token;
			return true;
		}
	}
	return false;
}

bool fl_gone(const struct fl *x, uint64_t lease, int *why)
{
	for (size_t i = 0; i < x->res.res.n_gone; i++) {
		if (x->res.res.gone[i].lease == lease) {
			if (why != NULL)
				*why = x->res.res.gone[i].why;
			return true;
		}
	}
	return false;
}
