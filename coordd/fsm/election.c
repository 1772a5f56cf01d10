/*
 * coordd/fsm/election.c: elections over the queue of queue.c (kind
 * FSM_QUEUE_ELECTION): candidates wait FIFO, the one holder is the
 * leader, its token the revision of its grant (fsm.h, "Elections", has
 * the rules). This file gives the policy (one holder at a time) and the
 * records beside the queue:
 *
 *   'E' name_len:2 name session:8 -> value   a candidate's value (the
 *                      leader's too), from its campaign or proclaim.
 *   COORD_ELECTION_KEY_PREFIX name (a key of the keyspace) -> session:8
 *                      token:8 value: the leader; absent: no leader.
 *
 * election_settle() runs before every store of an election's queue, so
 * whatever changed it -- a campaign, a resign, a session's end, a
 * QUEUE_KICK -- the leader key follows the queue's holder in the same
 * command, and the 'E' records of sessions no longer in the queue go.
 * The key's history is then the election's: ELECTION_OBSERVE reads it as
 * a watch does, and compaction and snapshots treat it as any key.
 */
#include <string.h>

#include "coordd/fsm/fsm_int.h"
#include "proto/errors.h"
#include "proto/limits.h"

#define FSM_KIND_ELECTION 'E'
#define LEADER_HDR_BYTES 16

size_t fsm_election_key(struct proto_bytes name, uint8_t *buf)
{
	size_t n = sizeof(COORD_ELECTION_KEY_PREFIX) - 1;

	memcpy(buf, COORD_ELECTION_KEY_PREFIX, n);
	if (name.len > 0)
		memcpy(buf + n, name.data, name.len);
	return n + name.len;
}

int fsm_election_value_parse(struct proto_bytes v, uint64_t *session,
			     uint64_t *token, struct proto_bytes *value)
{
	if (v.len < LEADER_HDR_BYTES)
		return COORD_ECORRUPT;
	*session = fsm_be64_get(v.data);
	*token = fsm_be64_get(v.data + 8);
	*value = proto_bytes_make(v.data + LEADER_HDR_BYTES,
				  v.len - LEADER_HDR_BYTES);
	return COORD_OK;
}

/* 'E' len name, then the session if session != 0. */
static int ekey(struct fsm *f, struct fsm_kbuf *k, struct proto_bytes name,
		uint64_t session)
{
	uint8_t hdr[3] = { FSM_KIND_ELECTION, (uint8_t)(name.len >> 8),
			   (uint8_t)name.len };
	int rc = fsm_kbuf_set(f, k, hdr, sizeof(hdr));

	if (rc == COORD_OK)
		rc = fsm_kbuf_append(f, k, name.data, name.len);
	if (rc == COORD_OK && session != 0)
		rc = fsm_kbuf_append_u64(f, k, session);
	return rc;
}

static int value_set(struct fsm *f, struct proto_bytes name, uint64_t session,
		     struct proto_bytes value)
{
	struct fsm_kbuf *k = &f->scan_seek;
	uint8_t *v = proto_arena_alloc(&f->arena, 1 + value.len);
	int rc = ekey(f, k, name, session);

	/* A version byte first: an empty value is still a record. */
	if (rc != COORD_OK)
		return rc;
	if (v == NULL)
		return COORD_ENOMEM;
	v[0] = 1;
	if (value.len > 0)
		memcpy(v + 1, value.data, value.len);
	return fsm_rec_set(f, k->data, k->len, v, 1 + value.len);
}

static int value_get(struct fsm *f, struct proto_bytes name, uint64_t session,
		     struct proto_bytes *value)
{
	struct fsm_kbuf *k = &f->scan_seek;
	const uint8_t *v;
	size_t len;
	bool found;
	int rc = ekey(f, k, name, session);

	if (rc == COORD_OK)
		rc = fsm_rec_get(f, k->data, k->len, &found, &v, &len);
	if (rc != COORD_OK)
		return rc;
	if (!found || len == 0 || v[0] != 1)
		return COORD_ECORRUPT;  /* a candidate always has one */
	*value = proto_bytes_make(v + 1, len - 1);
	return COORD_OK;
}

/* Writes the leader key: (session, token, value). */
static int leader_key_put(struct fsm *f, struct proto_bytes name,
			  uint64_t session, uint64_t token,
			  struct proto_bytes value)
{
	uint8_t kb[FSM_ELECTION_KEY_BYTES_MAX];
	uint8_t *v = proto_arena_alloc(&f->arena,
				       LEADER_HDR_BYTES + value.len);

	if (v == NULL)
		return COORD_ENOMEM;
	fsm_be64_put(v, session);
	fsm_be64_put(v + 8, token);
	if (value.len > 0)
		memcpy(v + LEADER_HDR_BYTES, value.data, value.len);
	return fsm_key_put_internal(
		f, proto_bytes_make(kb, fsm_election_key(name, kb)),
		proto_bytes_make(v, LEADER_HDR_BYTES + value.len));
}

/* One leader at a time. */
static bool election_grantable(const struct fsm *f, const struct fsm_queue *q,
			       uint8_t mode)
{
	(void)f;
	(void)mode;
	return q->n_holders == 0;
}

static void election_hold_lost(struct fsm *f, struct fsm_queue *q,
			       const struct fsm_qentry *h, bool expired)
{
	(void)f;
	(void)q;
	(void)h;
	(void)expired;
}

/* The leader key as the queue's holder says it is. */
static int leader_key_settle(struct fsm *f, const struct fsm_queue *q)
{
	uint8_t kb[FSM_ELECTION_KEY_BYTES_MAX];
	struct proto_bytes key = proto_bytes_make(
		kb, fsm_election_key(q->name, kb));
	const struct fsm_qentry *h = q->n_holders > 0 ? &q->holders[0] : NULL;
	struct proto_bytes value, cur;
	uint64_t session, token;
	struct proto_kv kv;
	bool live;
	int rc = fsm_key_get(f, key, &live, &kv);

	if (rc != COORD_OK)
		return rc;
	if (live) {
		rc = fsm_election_value_parse(kv.value, &session, &token, &cur);
		if (rc != COORD_OK)
			return rc;
		if (h != NULL && h->session == session && h->token == token)
			return COORD_OK;
	}
	if (h == NULL)
		return live ? fsm_key_delete_internal(f, key) : COORD_OK;
	rc = value_get(f, q->name, h->session, &value);
	return rc == COORD_OK ? leader_key_put(f, q->name, h->session,
					       h->token, value)
			      : rc;
}

static bool in_queue(const struct fsm_queue *q, uint64_t session)
{
	return fsm_queue_find(q->holders, q->n_holders, session) >= 0 ||
	       fsm_queue_find(q->waiters, q->n_waiters, session) >= 0;
}

/* Deletes the value of a session that was in the stored queue old (the
 * queue as this command found it) and is not in q. */
static int value_drop_gone(struct fsm *f, const struct fsm_queue *q,
			   const struct fsm_qentry *v, size_t n)
{
	struct fsm_kbuf *k = &f->scan_group;
	int rc = COORD_OK;

	for (size_t i = 0; rc == COORD_OK && i < n; i++) {
		if (in_queue(q, v[i].session))
			continue;
		rc = ekey(f, k, q->name, v[i].session);
		if (rc == COORD_OK)
			rc = fsm_rec_set(f, k->data, k->len, NULL, 0);
	}
	return rc;
}

/* Drops the values of sessions that left the queue (their sessions
 * ended, their deadlines passed, they resigned): those of the stored
 * queue that q no longer holds. Only a session in the queue has a value
 * (a campaign writes it in the command that joins, and a failed command
 * writes nothing), so the stored queue names every value there is. Not
 * a scan of the values: that stepped over the deleted record of every
 * candidate gone before, until the store compacted them -- each
 * campaign cost more than the one before. */
static int values_settle(struct fsm *f, const struct fsm_queue *q)
{
	struct fsm_queue old;
	int rc = fsm_queue_load(f, q->kind, q->name, &old);

	if (rc == COORD_OK)
		rc = value_drop_gone(f, q, old.holders, old.n_holders);
	if (rc == COORD_OK)
		rc = value_drop_gone(f, q, old.waiters, old.n_waiters);
	return rc;
}

static int election_settle(struct fsm *f, const struct fsm_queue *q)
{
	int rc = values_settle(f, q);

	return rc == COORD_OK ? leader_key_settle(f, q) : rc;
}

const struct fsm_queue_policy fsm_election_policy = {
	.grantable = election_grantable,
	.hold_lost = election_hold_lost,
	.settle = election_settle,
};

static int check_value(const struct fsm *f, struct proto_bytes value)
{
	if (value.len > COORD_ELECTION_VALUE_BYTES_MAX ||
	    value.len + LEADER_HDR_BYTES > f->cfg.value_bytes_max)
		return COORD_EVALUETOOBIG;
	return COORD_OK;
}

static int cmd_campaign(struct fsm *f, const struct proto_campaign_cmd *c,
			struct proto_lock_acquire_reply *out)
{
	struct fsm_qentry e = { .session = c->session,
				.deadline_ms = c->deadline_ms };
	struct fsm_queue q;
	bool now, done;
	int rc = fsm_queue_check_name(c->name);

	memset(out, 0, sizeof(*out));
	if (rc == COORD_OK)
		rc = check_value(f, c->value);
	if (rc == COORD_OK)
		rc = fsm_queue_session_ok(f, c->session);
	if (rc == COORD_OK)
		rc = fsm_queue_load(f, FSM_QUEUE_ELECTION, c->name, &q);
	if (rc != COORD_OK)
		return rc;
	now = q.n_waiters == 0 && q.n_holders == 0;
	rc = fsm_queue_join_check(f, &q, &e, now, true, &done, out);
	if (rc != COORD_OK || done)
		return rc;
	/* The value first: settling the queue reads it. */
	rc = value_set(f, c->name, c->session, c->value);
	return rc == COORD_OK ? fsm_queue_join(f, &q, &e, now, out) : rc;
}

static int cmd_proclaim(struct fsm *f, const struct proto_proclaim_cmd *p)
{
	struct fsm_queue q;
	int rc = fsm_queue_check_name(p->name);

	if (rc == COORD_OK)
		rc = check_value(f, p->value);
	if (rc == COORD_OK)
		rc = fsm_queue_load(f, FSM_QUEUE_ELECTION, p->name, &q);
	if (rc != COORD_OK)
		return rc;
	if (q.n_holders == 0 || q.holders[0].session != p->session ||
	    q.holders[0].token != p->token || p->token == 0)
		return COORD_ENOTELECTED;
	rc = value_set(f, p->name, p->session, p->value);
	return rc == COORD_OK ? leader_key_put(f, p->name, p->session,
					       p->token, p->value)
			      : rc;
}

/* Idempotent: a stale token (resigned already, lost) is done. */
static int cmd_resign(struct fsm *f, const struct proto_lock_release *r)
{
	int rc = fsm_queue_check_name(r->name);

	return rc == COORD_OK
		       ? fsm_queue_release(f, FSM_QUEUE_ELECTION, r->name,
					   r->session, r->token, COORD_OK)
		       : rc;
}

int fsm_cmd_election(struct fsm *f, const struct proto_cmd *cmd,
		     struct proto_reply *reply)
{
	switch (cmd->type) {
	case PROTO_CMD_ELECTION_CAMPAIGN:
		return cmd_campaign(f, &cmd->u.campaign,
				    &reply->u.lock_acquire);
	case PROTO_CMD_ELECTION_PROCLAIM:
		return cmd_proclaim(f, &cmd->u.proclaim);
	case PROTO_CMD_ELECTION_RESIGN:
		return cmd_resign(f, &cmd->u.resign);
	}
	return COORD_EINVAL;
}

/* A read between commands. */
int fsm_election_leader(struct fsm *f, struct proto_bytes name,
			struct fsm_leader *out)
{
	uint8_t kb[FSM_ELECTION_KEY_BYTES_MAX];
	struct fsm_queue q;
	struct proto_kv kv;
	bool live;
	int rc;

	memset(out, 0, sizeof(*out));
	if (fsm_queue_check_name(name) != COORD_OK)
		return COORD_EINVAL;
	proto_arena_reset(&f->arena);
	fsm_ov_reset(&f->ov);
	rc = fsm_queue_load(f, FSM_QUEUE_ELECTION, name, &q);
	if (rc != COORD_OK)
		return rc;
	out->candidates = q.n_waiters;
	rc = fsm_key_get(f, proto_bytes_make(kb, fsm_election_key(name, kb)),
			 &live, &kv);
	if (rc != COORD_OK)
		return rc;
	out->revision = fsm_revision(f);
	if (!live)
		return COORD_OK;
	out->revision = kv.mod_revision;
	return fsm_election_value_parse(kv.value, &out->session, &out->token,
					&out->value);
}
