/*
 * proto/codec.c: msgpack encoding and strict decoding of the messages in
 * proto/msg.h (the wire format is described there).
 *
 * The encoder drives msgpack-c's packer into a proto_buf. The decoder is a
 * cursor that never reads past the end, checks each type where it reads
 * it, and sizes every list allocation by what the remaining input could
 * possibly hold (each element has a minimum encoded size), so that a short
 * hostile buffer cannot make it allocate much.
 */
#include "proto/msg.h"

#include <limits.h>
#include <string.h>

#include <msgpack.h>

#include "proto/errors.h"
#include "proto/limits.h"

int proto_bytes_cmp(struct proto_bytes a, struct proto_bytes b)
{
	size_t n = a.len < b.len ? a.len : b.len;
	int c = n == 0 ? 0 : memcmp(a.data, b.data, n);

	if (c != 0)
		return c;
	return a.len < b.len ? -1 : a.len > b.len ? 1 : 0;
}

bool proto_bytes_eq(struct proto_bytes a, struct proto_bytes b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

/*
 * Encoding.
 */

struct enc {
	msgpack_packer pk;
	struct proto_buf *out;
	int err;
};

static int enc_write_cb(void *data, const char *buf, size_t len)
{
	struct enc *e = data;

	if (e->err != COORD_OK)
		return -1;
	if (proto_buf_append(e->out, buf, len) != COORD_OK) {
		e->err = COORD_ENOMEM;
		return -1;
	}
	return 0;
}

static void enc_init(struct enc *e, struct proto_buf *out)
{
	e->out = out;
	e->err = COORD_OK;
	msgpack_packer_init(&e->pk, e, enc_write_cb);
}

static void enc_invalid(struct enc *e)
{
	if (e->err == COORD_OK)
		e->err = COORD_EINVAL;
}

static void enc_array(struct enc *e, size_t n)
{
	if (n > UINT32_MAX) {
		enc_invalid(e);
		return;
	}
	msgpack_pack_array(&e->pk, n);
}

static void enc_uint(struct enc *e, uint64_t v)
{
	msgpack_pack_uint64(&e->pk, v);
}

static void enc_bool(struct enc *e, bool v)
{
	if (v)
		msgpack_pack_true(&e->pk);
	else
		msgpack_pack_false(&e->pk);
}

static void enc_bytes(struct enc *e, struct proto_bytes b)
{
	if (b.len > UINT32_MAX || (b.len > 0 && b.data == NULL)) {
		enc_invalid(e);
		return;
	}
	msgpack_pack_bin(&e->pk, b.len);
	msgpack_pack_bin_body(&e->pk, b.data, b.len);
}

static void enc_kv(struct enc *e, const struct proto_kv *kv)
{
	enc_array(e, 6);
	enc_bytes(e, kv->key);
	enc_bytes(e, kv->value);
	enc_uint(e, kv->create_revision);
	enc_uint(e, kv->mod_revision);
	enc_uint(e, kv->version);
	enc_uint(e, kv->lease);
}

static void enc_kv_opt(struct enc *e, bool has, const struct proto_kv *kv)
{
	if (has)
		enc_kv(e, kv);
	else
		msgpack_pack_nil(&e->pk);
}

static void enc_kvs(struct enc *e, const struct proto_kv *kvs, size_t n)
{
	enc_array(e, n);
	for (size_t i = 0; i < n && e->err == COORD_OK; i++)
		enc_kv(e, &kvs[i]);
}

static void enc_put(struct enc *e, const struct proto_put *p)
{
	enc_array(e, 5);
	enc_uint(e, PROTO_CMD_PUT);
	enc_bytes(e, p->key);
	enc_bytes(e, p->value);
	enc_uint(e, p->lease);
	enc_bool(e, p->prev_kv);
}

static void enc_delete(struct enc *e, const struct proto_delete *d)
{
	if ((d->flags & ~PROTO_DELETE_FLAGS_ALL) != 0)
		enc_invalid(e);
	enc_array(e, 5);
	enc_uint(e, PROTO_CMD_DELETE);
	enc_bytes(e, d->key);
	enc_bytes(e, d->end);
	enc_uint(e, d->flags);
	enc_bool(e, d->prev_kv);
}

static void enc_range(struct enc *e, const struct proto_range *r)
{
	if ((r->flags & ~PROTO_RANGE_FLAGS_ALL) != 0 ||
	    r->sort_order > PROTO_SORT_ORDER_LAST ||
	    r->sort_target > PROTO_SORT_TARGET_LAST)
		enc_invalid(e);
	enc_array(e, 8);
	enc_uint(e, PROTO_CMD_RANGE);
	enc_bytes(e, r->key);
	enc_bytes(e, r->end);
	enc_uint(e, r->flags);
	enc_uint(e, r->limit);
	enc_uint(e, r->revision);
	enc_uint(e, r->sort_order);
	enc_uint(e, r->sort_target);
}

static void enc_ops(struct enc *e, const struct proto_op *ops, size_t n)
{
	enc_array(e, n);
	for (size_t i = 0; i < n && e->err == COORD_OK; i++) {
		switch (ops[i].type) {
		case PROTO_CMD_PUT:
			enc_put(e, &ops[i].u.put);
			break;
		case PROTO_CMD_DELETE:
			enc_delete(e, &ops[i].u.del);
			break;
		case PROTO_CMD_RANGE:
			enc_range(e, &ops[i].u.range);
			break;
		default:
			enc_invalid(e);
		}
	}
}

static void enc_txn(struct enc *e, const struct proto_txn *t)
{
	enc_array(e, 4);
	enc_uint(e, PROTO_CMD_TXN);
	enc_array(e, t->n_compares);
	for (size_t i = 0; i < t->n_compares && e->err == COORD_OK; i++) {
		const struct proto_compare *c = &t->compares[i];

		if (c->target > PROTO_CMP_TARGET_LAST ||
		    c->result > PROTO_CMP_RESULT_LAST)
			enc_invalid(e);
		enc_array(e, 5);
		enc_bytes(e, c->key);
		enc_uint(e, c->target);
		enc_uint(e, c->result);
		enc_uint(e, c->number);
		enc_bytes(e, c->value);
	}
	enc_ops(e, t->success, t->n_success);
	enc_ops(e, t->failure, t->n_failure);
}

static int enc_finish(struct enc *e, size_t len_before)
{
	if (e->err != COORD_OK)
		e->out->len = len_before;
	return e->err;
}

static void enc_cmd(struct enc *e, const struct proto_cmd *cmd);

/* The write a FENCED or LOCK_RELEASE_WRITE carries: a PUT, DELETE or
 * TXN, so that neither ever nests. */
static bool write_cmd_ok(const struct proto_cmd *c)
{
	return c != NULL && (c->type == PROTO_CMD_PUT ||
			     c->type == PROTO_CMD_DELETE ||
			     c->type == PROTO_CMD_TXN);
}

static void enc_lock_release_write(struct enc *e,
				   const struct proto_lock_release_write *w)
{
	if (w->name.len > COORD_NAME_BYTES_MAX || w->token == 0 ||
	    !write_cmd_ok(w->cmd)) {
		enc_invalid(e);
		return;
	}
	enc_array(e, 5);
	enc_uint(e, PROTO_CMD_LOCK_RELEASE_WRITE);
	enc_bytes(e, w->name);
	enc_uint(e, w->session);
	enc_uint(e, w->token);
	enc_cmd(e, w->cmd);
}

/* The commands of job queues. */
static void enc_job_cmd(struct enc *e, const struct proto_cmd *cmd)
{
	const struct proto_job_enqueue_cmd *q = &cmd->u.job_enqueue;
	const struct proto_job_claim_cmd *c = &cmd->u.job_claim;
	const struct proto_job_done_cmd *d = &cmd->u.job_done;

	switch (cmd->type) {
	case PROTO_CMD_JOB_ENQUEUE:
		if (q->queue.len > COORD_NAME_BYTES_MAX ||
		    q->unique_key.len > COORD_NAME_BYTES_MAX)
			enc_invalid(e);
		enc_array(e, 5);
		enc_uint(e, cmd->type);
		enc_bytes(e, q->queue);
		enc_bytes(e, q->payload);
		enc_bytes(e, q->unique_key);
		enc_uint(e, q->max_attempts);
		break;
	case PROTO_CMD_JOB_CLAIM:
		if (c->queue.len > COORD_NAME_BYTES_MAX)
			enc_invalid(e);
		enc_array(e, 5);
		enc_uint(e, cmd->type);
		enc_bytes(e, c->queue);
		enc_uint(e, c->session);
		enc_bool(e, c->wait);
		enc_uint(e, c->deadline_ms);
		break;
	case PROTO_CMD_JOB_COMPLETE:
	case PROTO_CMD_JOB_FAIL:
		if (d->queue.len > COORD_NAME_BYTES_MAX)
			enc_invalid(e);
		enc_array(e, 6);
		enc_uint(e, cmd->type);
		enc_bytes(e, d->queue);
		enc_uint(e, d->job_id);
		enc_uint(e, d->session);
		enc_uint(e, d->token);
		if (cmd->type == PROTO_CMD_JOB_COMPLETE)
			enc_bytes(e, d->result);
		else
			enc_bool(e, d->to_tail);
		break;
	default:
		enc_invalid(e);
	}
}

/* The commands of elections. */
static void enc_election_cmd(struct enc *e, const struct proto_cmd *cmd)
{
	const struct proto_campaign_cmd *c = &cmd->u.campaign;
	const struct proto_proclaim_cmd *p = &cmd->u.proclaim;
	const struct proto_lock_release *r = &cmd->u.resign;

	switch (cmd->type) {
	case PROTO_CMD_ELECTION_CAMPAIGN:
		if (c->name.len > COORD_NAME_BYTES_MAX ||
		    c->value.len > COORD_ELECTION_VALUE_BYTES_MAX)
			enc_invalid(e);
		enc_array(e, 5);
		enc_uint(e, cmd->type);
		enc_bytes(e, c->name);
		enc_uint(e, c->session);
		enc_bytes(e, c->value);
		enc_uint(e, c->deadline_ms);
		break;
	case PROTO_CMD_ELECTION_PROCLAIM:
		if (p->name.len > COORD_NAME_BYTES_MAX ||
		    p->value.len > COORD_ELECTION_VALUE_BYTES_MAX)
			enc_invalid(e);
		enc_array(e, 5);
		enc_uint(e, cmd->type);
		enc_bytes(e, p->name);
		enc_uint(e, p->session);
		enc_uint(e, p->token);
		enc_bytes(e, p->value);
		break;
	case PROTO_CMD_ELECTION_RESIGN:
		if (r->name.len > COORD_NAME_BYTES_MAX)
			enc_invalid(e);
		enc_array(e, 4);
		enc_uint(e, cmd->type);
		enc_bytes(e, r->name);
		enc_uint(e, r->session);
		enc_uint(e, r->token);
		break;
	default:
		enc_invalid(e);
	}
}

/* The commands of leases, sessions and locks. */
static void enc_lock_cmd(struct enc *e, const struct proto_cmd *cmd)
{
	const struct proto_lock_acquire_cmd *a = &cmd->u.lock_acquire;
	const struct proto_fenced *fd = &cmd->u.fenced;

	switch (cmd->type) {
	case PROTO_CMD_LEASE_GRANT:
		enc_array(e, 3);
		enc_uint(e, cmd->type);
		enc_uint(e, cmd->u.lease_grant.lease);
		enc_uint(e, cmd->u.lease_grant.ttl_ms);
		break;
	case PROTO_CMD_LEASE_KEEPALIVE:
		if (cmd->u.lease_keepalive.n_leases > COORD_KEEPALIVE_BATCH_MAX)
			enc_invalid(e);
		enc_array(e, 2);
		enc_uint(e, cmd->type);
		enc_array(e, cmd->u.lease_keepalive.n_leases);
		for (size_t i = 0; i < cmd->u.lease_keepalive.n_leases &&
				   e->err == COORD_OK;
		     i++)
			enc_uint(e, cmd->u.lease_keepalive.leases[i]);
		break;
	case PROTO_CMD_LEASE_REVOKE:
	case PROTO_CMD_SESSION_CLOSE:
		enc_array(e, 2);
		enc_uint(e, cmd->type);
		enc_uint(e, cmd->type == PROTO_CMD_LEASE_REVOKE
				    ? cmd->u.lease_revoke.lease
				    : cmd->u.session_close.session);
		break;
	case PROTO_CMD_LEASE_EXPIRE:
		enc_array(e, 3);
		enc_uint(e, cmd->type);
		enc_uint(e, cmd->u.lease_expire.lease);
		enc_uint(e, cmd->u.lease_expire.ka_index);
		break;
	case PROTO_CMD_SESSION_OPEN:
		if (cmd->u.session_open.secret.len > COORD_SECRET_BYTES_MAX)
			enc_invalid(e);
		enc_array(e, 3);
		enc_uint(e, cmd->type);
		enc_uint(e, cmd->u.session_open.ttl_ms);
		enc_bytes(e, cmd->u.session_open.secret);
		break;
	case PROTO_CMD_LOCK_ACQUIRE:
		if (a->mode > PROTO_LOCK_MODE_LAST ||
		    a->name.len > COORD_NAME_BYTES_MAX)
			enc_invalid(e);
		enc_array(e, 7);
		enc_uint(e, cmd->type);
		enc_bytes(e, a->name);
		enc_uint(e, a->session);
		enc_uint(e, a->mode);
		enc_bool(e, a->wait);
		enc_uint(e, a->deadline_ms);
		enc_uint(e, a->lock_delay_ms);
		break;
	case PROTO_CMD_LOCK_RELEASE:
		if (cmd->u.lock_release.name.len > COORD_NAME_BYTES_MAX)
			enc_invalid(e);
		enc_array(e, 4);
		enc_uint(e, cmd->type);
		enc_bytes(e, cmd->u.lock_release.name);
		enc_uint(e, cmd->u.lock_release.session);
		enc_uint(e, cmd->u.lock_release.token);
		break;
	case PROTO_CMD_SEM_ACQUIRE:
		if (cmd->u.sem_acquire.name.len > COORD_NAME_BYTES_MAX)
			enc_invalid(e);
		enc_array(e, 6);
		enc_uint(e, cmd->type);
		enc_bytes(e, cmd->u.sem_acquire.name);
		enc_uint(e, cmd->u.sem_acquire.session);
		enc_uint(e, cmd->u.sem_acquire.permits);
		enc_bool(e, cmd->u.sem_acquire.wait);
		enc_uint(e, cmd->u.sem_acquire.deadline_ms);
		break;
	case PROTO_CMD_SEM_RELEASE:
		if (cmd->u.sem_release.name.len > COORD_NAME_BYTES_MAX)
			enc_invalid(e);
		enc_array(e, 4);
		enc_uint(e, cmd->type);
		enc_bytes(e, cmd->u.sem_release.name);
		enc_uint(e, cmd->u.sem_release.session);
		enc_uint(e, cmd->u.sem_release.token);
		break;
	case PROTO_CMD_QUEUE_KICK:
		if (!proto_queue_kind_known(cmd->u.queue_kick.kind) ||
		    cmd->u.queue_kick.name.len > COORD_NAME_BYTES_MAX)
			enc_invalid(e);
		enc_array(e, 3);
		enc_uint(e, cmd->type);
		enc_uint(e, cmd->u.queue_kick.kind);
		enc_bytes(e, cmd->u.queue_kick.name);
		break;
	case PROTO_CMD_FENCED:
		if (fd->n_fences > COORD_FENCES_MAX || !write_cmd_ok(fd->cmd)) {
			enc_invalid(e);
			break;
		}
		enc_array(e, 3);
		enc_uint(e, cmd->type);
		enc_array(e, fd->n_fences);
		for (size_t i = 0; i < fd->n_fences && e->err == COORD_OK;
		     i++) {
			bool lock = fd->fences[i].kind == 0 ||
				    fd->fences[i].kind == PROTO_QUEUE_LOCK;

			if (fd->fences[i].lock.len > COORD_NAME_BYTES_MAX ||
			    fd->fences[i].kind > PROTO_QUEUE_KIND_LAST)
				enc_invalid(e);
			/* A lock's fence keeps its old two-element form. */
			enc_array(e, lock ? 2 : 3);
			enc_bytes(e, fd->fences[i].lock);
			enc_uint(e, fd->fences[i].token);
			if (!lock)
				enc_uint(e, fd->fences[i].kind);
		}
		enc_cmd(e, fd->cmd);
		break;
	case PROTO_CMD_LOCK_RELEASE_WRITE:
		enc_lock_release_write(e, &cmd->u.lock_release_write);
		break;
	case PROTO_CMD_ELECTION_CAMPAIGN:
	case PROTO_CMD_ELECTION_PROCLAIM:
	case PROTO_CMD_ELECTION_RESIGN:
		enc_election_cmd(e, cmd);
		break;
	default:
		enc_job_cmd(e, cmd);
	}
}

static void enc_cmd(struct enc *e, const struct proto_cmd *cmd)
{
	switch (cmd->type) {
	case PROTO_CMD_PUT:
		enc_put(e, &cmd->u.put);
		break;
	case PROTO_CMD_DELETE:
		enc_delete(e, &cmd->u.del);
		break;
	case PROTO_CMD_RANGE:
		enc_range(e, &cmd->u.range);
		break;
	case PROTO_CMD_TXN:
		enc_txn(e, &cmd->u.txn);
		break;
	case PROTO_CMD_COMPACT:
		enc_array(e, 2);
		enc_uint(e, PROTO_CMD_COMPACT);
		enc_uint(e, cmd->u.compact.revision);
		break;
	case PROTO_CMD_LEASE_END:
		enc_array(e, 2);
		enc_uint(e, PROTO_CMD_LEASE_END);
		enc_uint(e, cmd->u.lease_end.lease);
		break;
	case PROTO_CMD_CLIENTS_EXPIRE:
		enc_array(e, 3);
		enc_uint(e, PROTO_CMD_CLIENTS_EXPIRE);
		enc_uint(e, cmd->u.clients_expire.now_ms);
		enc_uint(e, cmd->u.clients_expire.idle_ms);
		break;
	case PROTO_CMD_REGISTER_CLIENT:
		enc_array(e, 2);
		enc_uint(e, PROTO_CMD_REGISTER_CLIENT);
		enc_uint(e, cmd->u.register_client.horizon_ms);
		break;
	case PROTO_CMD_MEMBER_PUT:
		if (cmd->u.member_put.id == 0 ||
		    cmd->u.member_put.name.len > COORD_NAME_BYTES_MAX ||
		    cmd->u.member_put.peer_addr.len > COORD_ADDR_BYTES_MAX ||
		    cmd->u.member_put.client_addr.len > COORD_ADDR_BYTES_MAX ||
		    cmd->u.member_put.http_addr.len > COORD_ADDR_BYTES_MAX) {
			enc_invalid(e);
			break;
		}
		enc_array(e, 7);
		enc_uint(e, PROTO_CMD_MEMBER_PUT);
		enc_uint(e, cmd->u.member_put.id);
		enc_bytes(e, cmd->u.member_put.name);
		enc_bytes(e, cmd->u.member_put.peer_addr);
		enc_bytes(e, cmd->u.member_put.client_addr);
		enc_bool(e, cmd->u.member_put.promote);
		enc_bytes(e, cmd->u.member_put.http_addr);
		break;
	case PROTO_CMD_MEMBER_DEL:
		if (cmd->u.member_del.id == 0) {
			enc_invalid(e);
			break;
		}
		enc_array(e, 2);
		enc_uint(e, PROTO_CMD_MEMBER_DEL);
		enc_uint(e, cmd->u.member_del.id);
		break;
	/* quota13 */
	case PROTO_CMD_QUOTA_SET:
		enc_array(e, 3);
		enc_uint(e, PROTO_CMD_QUOTA_SET);
		enc_uint(e, cmd->u.quota_set.quota_bytes);
		enc_uint(e, cmd->u.quota_set.coord_quota_bytes);
		break;
	case PROTO_CMD_ALARM_DISARM:
		enc_array(e, 1);
		enc_uint(e, PROTO_CMD_ALARM_DISARM);
		break;
	default:
		enc_lock_cmd(e, cmd);
	}
}

int proto_cmd_encode(const struct proto_cmd *cmd, struct proto_buf *out)
{
	struct enc e;
	size_t len_before = out->len;

	enc_init(&e, out);
	enc_cmd(&e, cmd);
	return enc_finish(&e, len_before);
}

/* The wire format pairs them: no client, no sequence, no ack; a client,
 * a sequence from 1 and an ack from 1 up to the sequence. */
static bool entry_ids_valid(uint64_t client_id, uint64_t sequence,
			    uint64_t ack)
{
	if (client_id == 0)
		return sequence == 0 && ack == 0;
	return sequence != 0 && ack != 0 && ack <= sequence;
}

int proto_entry_encode(const struct proto_entry *entry, struct proto_buf *out)
{
	struct enc e;
	size_t len_before = out->len;

	enc_init(&e, out);
	if (!entry_ids_valid(entry->client_id, entry->sequence, entry->ack))
		enc_invalid(&e);
	enc_array(&e, 5);
	enc_uint(&e, entry->client_id);
	enc_uint(&e, entry->sequence);
	enc_uint(&e, entry->ack);
	enc_uint(&e, entry->now_ms);
	enc_cmd(&e, &entry->cmd);
	return enc_finish(&e, len_before);
}

/* The body of a put, delete or range reply (shared by txn op replies). */
static void enc_op_reply_body(struct enc *e, uint8_t type,
			      const struct proto_put_reply *put,
			      const struct proto_delete_reply *del,
			      const struct proto_range_reply *range)
{
	switch (type) {
	case PROTO_CMD_PUT:
		enc_array(e, 1);
		enc_kv_opt(e, put->has_prev_kv, &put->prev_kv);
		break;
	case PROTO_CMD_DELETE:
		enc_array(e, 2);
		enc_uint(e, del->deleted);
		enc_kvs(e, del->prev_kvs, del->n_prev_kvs);
		break;
	case PROTO_CMD_RANGE:
		enc_array(e, 3);
		enc_kvs(e, range->kvs, range->n_kvs);
		enc_uint(e, range->count);
		enc_bool(e, range->more);
		break;
	default:
		enc_invalid(e);
	}
}

int proto_reply_encode(const struct proto_reply *r, struct proto_buf *out)
{
	struct enc e;
	size_t len_before = out->len;

	enc_init(&e, out);
	if (r->code < 0)
		enc_invalid(&e);
	enc_array(&e, 5);
	enc_uint(&e, r->type);
	enc_uint(&e, (uint64_t)r->code);
	enc_uint(&e, r->revision);
	enc_uint(&e, r->compact_revision);
	switch (r->type) {
	case PROTO_CMD_PUT:
	case PROTO_CMD_DELETE:
	case PROTO_CMD_RANGE:
		enc_op_reply_body(&e, r->type, &r->u.put, &r->u.del,
				  &r->u.range);
		break;
	case PROTO_CMD_TXN:
		enc_array(&e, 2);
		enc_bool(&e, r->u.txn.succeeded);
		enc_array(&e, r->u.txn.n_replies);
		for (size_t i = 0; i < r->u.txn.n_replies && e.err == COORD_OK;
		     i++) {
			const struct proto_op_reply *o = &r->u.txn.replies[i];

			enc_array(&e, 2);
			enc_uint(&e, o->type);
			enc_op_reply_body(&e, o->type, &o->u.put, &o->u.del,
					  &o->u.range);
		}
		break;
	case PROTO_CMD_COMPACT:
		enc_array(&e, 0);
		break;
	case PROTO_CMD_LEASE_END:
		enc_array(&e, 1);
		enc_uint(&e, r->u.lease_end.deleted);
		break;
	case PROTO_CMD_CLIENTS_EXPIRE:
		enc_array(&e, 1);
		enc_uint(&e, r->u.clients_expire.expired);
		break;
	case PROTO_CMD_REGISTER_CLIENT:
		enc_array(&e, 1);
		enc_uint(&e, r->u.register_client.client_id);
		break;
	case PROTO_CMD_MEMBER_PUT:
	case PROTO_CMD_MEMBER_DEL:
	case PROTO_CMD_SESSION_CLOSE:
	case PROTO_CMD_LOCK_RELEASE:
	case PROTO_CMD_SEM_RELEASE:
	case PROTO_CMD_QUOTA_SET:
	case PROTO_CMD_ALARM_DISARM:
		enc_array(&e, 0);
		break;
	case PROTO_CMD_LEASE_GRANT:
		enc_array(&e, 2);
		enc_uint(&e, r->u.lease_grant.lease);
		enc_uint(&e, r->u.lease_grant.ttl_ms);
		break;
	case PROTO_CMD_LEASE_KEEPALIVE:
		enc_array(&e, 1);
		enc_array(&e, r->u.lease_keepalive.n_leases);
		for (size_t i = 0; i < r->u.lease_keepalive.n_leases &&
				   e.err == COORD_OK;
		     i++) {
			enc_array(&e, 2);
			enc_uint(&e, r->u.lease_keepalive.leases[i].lease);
			enc_uint(&e, r->u.lease_keepalive.leases[i].ttl_ms);
		}
		break;
	case PROTO_CMD_LEASE_REVOKE:
		enc_array(&e, 1);
		enc_uint(&e, r->u.lease_revoke.deleted);
		break;
	case PROTO_CMD_LEASE_EXPIRE:
		enc_array(&e, 1);
		enc_bool(&e, r->u.lease_expire.expired);
		break;
	case PROTO_CMD_SESSION_OPEN:
		enc_array(&e, 4);
		enc_uint(&e, r->u.session_open.session);
		enc_bytes(&e, r->u.session_open.secret);
		enc_uint(&e, r->u.session_open.lease);
		enc_uint(&e, r->u.session_open.ttl_ms);
		break;
	case PROTO_CMD_ELECTION_PROCLAIM:
	case PROTO_CMD_ELECTION_RESIGN:
		enc_array(&e, 0);
		break;
	case PROTO_CMD_LOCK_ACQUIRE:
	case PROTO_CMD_ELECTION_CAMPAIGN:
	case PROTO_CMD_SEM_ACQUIRE:
		enc_array(&e, 2);
		enc_bool(&e, r->u.lock_acquire.granted);
		enc_uint(&e, r->u.lock_acquire.token);
		break;
	case PROTO_CMD_QUEUE_KICK:
		enc_array(&e, 1);
		enc_uint(&e, r->u.queue_kick.granted);
		break;
	case PROTO_CMD_JOB_ENQUEUE:
		enc_array(&e, 2);
		enc_uint(&e, r->u.job_enqueue.job_id);
		enc_bool(&e, r->u.job_enqueue.existed);
		break;
	case PROTO_CMD_JOB_CLAIM:
		enc_array(&e, 5);
		enc_bool(&e, r->u.job_claim.granted);
		enc_uint(&e, r->u.job_claim.job_id);
		enc_uint(&e, r->u.job_claim.token);
		enc_uint(&e, r->u.job_claim.attempts);
		enc_bytes(&e, r->u.job_claim.payload);
		break;
	case PROTO_CMD_JOB_COMPLETE:
		enc_array(&e, 0);
		break;
	case PROTO_CMD_JOB_FAIL:
		enc_array(&e, 1);
		enc_bool(&e, r->u.job_fail.dead);
		break;
	default:
		enc_invalid(&e);
	}
	return enc_finish(&e, len_before);
}

int proto_events_encode(const struct proto_event *events, size_t n_events,
			struct proto_buf *out)
{
	struct enc e;
	size_t len_before = out->len;

	enc_init(&e, out);
	enc_array(&e, n_events);
	for (size_t i = 0; i < n_events && e.err == COORD_OK; i++) {
		const struct proto_event *ev = &events[i];

		if (ev->type != PROTO_EVENT_PUT && ev->type != PROTO_EVENT_DELETE)
			enc_invalid(&e);
		enc_array(&e, 3);
		enc_uint(&e, ev->type);
		enc_kv(&e, &ev->kv);
		enc_kv_opt(&e, ev->has_prev_kv, &ev->prev_kv);
	}
	return enc_finish(&e, len_before);
}

/*
 * Decoding. Every dec_* function returns false after recording the first
 * error in d->err; callers stop at the first false.
 */

/* Minimum encoded sizes of list elements, to bound list allocations by
 * the bytes left: e.g. an op is at least [1, bin"", bin"", 0, false]. */
#define MIN_OP_BYTES 8
#define MIN_COMPARE_BYTES 8
#define MIN_KV_BYTES 9
#define MIN_OP_REPLY_BYTES 4
#define MIN_EVENT_BYTES 12

struct dec {
	const uint8_t *p;
	const uint8_t *end;
	struct proto_arena *arena;
	int err;
};

static bool dec_fail(struct dec *d, int err)
{
	if (d->err == COORD_OK)
		d->err = err;
	return false;
}

static size_t dec_left(const struct dec *d)
{
	return (size_t)(d->end - d->p);
}

static bool dec_need(struct dec *d, size_t n)
{
	return dec_left(d) >= n || dec_fail(d, COORD_EMALFORMED);
}

static uint64_t dec_be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/* A big-endian length or value of n bytes following the type byte. */
static bool dec_fixed(struct dec *d, unsigned n, uint64_t *v)
{
	if (!dec_need(d, 1 + (size_t)n))
		return false;
	*v = dec_be(d->p + 1, n);
	d->p += 1 + n;
	return true;
}

static bool dec_array(struct dec *d, uint32_t *n)
{
	uint64_t v;
	uint8_t t;

	if (!dec_need(d, 1))
		return false;
	t = *d->p;
	if ((t & 0xf0) == 0x90) {
		v = t & 0x0f;
		d->p++;
	} else if (t == 0xdc) {
		if (!dec_fixed(d, 2, &v))
			return false;
	} else if (t == 0xdd) {
		if (!dec_fixed(d, 4, &v))
			return false;
	} else {
		return dec_fail(d, COORD_EMALFORMED);
	}
	/* Each element takes at least one byte. */
	if (v > dec_left(d))
		return dec_fail(d, COORD_EMALFORMED);
	*n = (uint32_t)v;
	return true;
}

static bool dec_array_len(struct dec *d, uint32_t want)
{
	uint32_t n;

	if (!dec_array(d, &n))
		return false;
	return n == want || dec_fail(d, COORD_EMALFORMED);
}

/* A list header whose n elements need min_bytes each, and room for them
 * in the arena. */
static bool dec_list(struct dec *d, size_t elem_size, size_t min_bytes,
		     void **elems, size_t *n_out)
{
	uint32_t n;

	if (!dec_array(d, &n))
		return false;
	if (n > dec_left(d) / min_bytes)
		return dec_fail(d, COORD_EMALFORMED);
	*n_out = n;
	*elems = NULL;
	if (n == 0)
		return true;
	*elems = proto_arena_alloc(d->arena, (size_t)n * elem_size);
	if (*elems == NULL)
		return dec_fail(d, COORD_ENOMEM);
	memset(*elems, 0, (size_t)n * elem_size);
	return true;
}

static bool dec_uint(struct dec *d, uint64_t max, uint64_t *v)
{
	uint8_t t;
	unsigned n;

	if (!dec_need(d, 1))
		return false;
	t = *d->p;
	if (t <= 0x7f) {
		*v = t;
		d->p++;
	} else if (t >= 0xcc && t <= 0xcf) {
		n = 1u << (t - 0xcc);
		if (!dec_fixed(d, n, v))
			return false;
	} else if (t >= 0xd0 && t <= 0xd3) {
		/* A signed encoding of a non-negative value is accepted. */
		n = 1u << (t - 0xd0);
		if (!dec_need(d, 1 + (size_t)n))
			return false;
		if ((d->p[1] & 0x80) != 0)
			return dec_fail(d, COORD_EMALFORMED);
		if (!dec_fixed(d, n, v))
			return false;
	} else {
		return dec_fail(d, COORD_EMALFORMED);
	}
	return *v <= max || dec_fail(d, COORD_EMALFORMED);
}

static bool dec_u8(struct dec *d, uint8_t max, uint8_t *v)
{
	uint64_t x;

	if (!dec_uint(d, max, &x))
		return false;
	*v = (uint8_t)x;
	return true;
}

static bool dec_u64(struct dec *d, uint64_t *v)
{
	return dec_uint(d, UINT64_MAX, v);
}

static bool dec_bool(struct dec *d, bool *v)
{
	if (!dec_need(d, 1))
		return false;
	if (*d->p != 0xc2 && *d->p != 0xc3)
		return dec_fail(d, COORD_EMALFORMED);
	*v = *d->p == 0xc3;
	d->p++;
	return true;
}

static bool dec_bytes(struct dec *d, struct proto_bytes *b)
{
	uint64_t len;
	uint8_t t;

	if (!dec_need(d, 1))
		return false;
	t = *d->p;
	if (t < 0xc4 || t > 0xc6)
		return dec_fail(d, COORD_EMALFORMED);
	if (!dec_fixed(d, 1u << (t - 0xc4), &len))
		return false;
	if (!dec_need(d, len))
		return false;
	b->data = len == 0 ? NULL : d->p;
	b->len = len;
	d->p += len;
	return true;
}

/* Consumes a nil if there is one. */
static bool dec_nil(struct dec *d)
{
	if (dec_left(d) > 0 && *d->p == 0xc0) {
		d->p++;
		return true;
	}
	return false;
}

static bool dec_kv(struct dec *d, struct proto_kv *kv)
{
	return dec_array_len(d, 6) && dec_bytes(d, &kv->key) &&
	       dec_bytes(d, &kv->value) && dec_u64(d, &kv->create_revision) &&
	       dec_u64(d, &kv->mod_revision) && dec_u64(d, &kv->version) &&
	       dec_u64(d, &kv->lease);
}

static bool dec_kv_opt(struct dec *d, bool *has, struct proto_kv *kv)
{
	*has = !dec_nil(d);
	if (!*has) {
		memset(kv, 0, sizeof(*kv));
		return true;
	}
	return dec_kv(d, kv);
}

static bool dec_kvs(struct dec *d, const struct proto_kv **kvs, size_t *n)
{
	struct proto_kv *v;

	if (!dec_list(d, sizeof(*v), MIN_KV_BYTES, (void **)&v, n))
		return false;
	for (size_t i = 0; i < *n; i++)
		if (!dec_kv(d, &v[i]))
			return false;
	*kvs = v;
	return true;
}

/* The fields of a cmd or op after its type (n: the array length). */
static bool dec_put_fields(struct dec *d, uint32_t n, struct proto_put *p)
{
	return (n == 5 || dec_fail(d, COORD_EMALFORMED)) &&
	       dec_bytes(d, &p->key) && dec_bytes(d, &p->value) &&
	       dec_u64(d, &p->lease) && dec_bool(d, &p->prev_kv);
}

static bool dec_delete_fields(struct dec *d, uint32_t n, struct proto_delete *p)
{
	uint64_t flags;

	if (!((n == 5 || dec_fail(d, COORD_EMALFORMED)) &&
	      dec_bytes(d, &p->key) && dec_bytes(d, &p->end) &&
	      dec_uint(d, PROTO_DELETE_FLAGS_ALL, &flags) &&
	      dec_bool(d, &p->prev_kv)))
		return false;
	/* dec_uint bounds the value, not the bits: 0..3 is exactly the mask. */
	p->flags = (uint32_t)flags;
	return true;
}

static bool dec_range_fields(struct dec *d, uint32_t n, struct proto_range *r)
{
	uint64_t flags;

	if (!((n == 8 || dec_fail(d, COORD_EMALFORMED)) &&
	      dec_bytes(d, &r->key) && dec_bytes(d, &r->end) &&
	      dec_uint(d, PROTO_RANGE_FLAGS_ALL, &flags) &&
	      dec_u64(d, &r->limit) && dec_u64(d, &r->revision) &&
	      dec_u8(d, PROTO_SORT_ORDER_LAST, &r->sort_order) &&
	      dec_u8(d, PROTO_SORT_TARGET_LAST, &r->sort_target)))
		return false;
	r->flags = (uint32_t)flags;
	return true;
}

_Static_assert(PROTO_RANGE_FLAGS_ALL == 0xf && PROTO_DELETE_FLAGS_ALL == 0x3,
	       "flag masks must be contiguous low bits for dec_uint's bound");

static bool dec_op(struct dec *d, struct proto_op *op)
{
	uint32_t n;

	if (!dec_array(d, &n))
		return false;
	if (n == 0)
		return dec_fail(d, COORD_EMALFORMED);
	if (!dec_u8(d, UINT8_MAX, &op->type))
		return false;
	switch (op->type) {
	case PROTO_CMD_PUT:
		return dec_put_fields(d, n, &op->u.put);
	case PROTO_CMD_DELETE:
		return dec_delete_fields(d, n, &op->u.del);
	case PROTO_CMD_RANGE:
		return dec_range_fields(d, n, &op->u.range);
	}
	return dec_fail(d, COORD_EMALFORMED);
}

static bool dec_ops(struct dec *d, const struct proto_op **ops, size_t *n)
{
	struct proto_op *v;

	if (!dec_list(d, sizeof(*v), MIN_OP_BYTES, (void **)&v, n))
		return false;
	for (size_t i = 0; i < *n; i++)
		if (!dec_op(d, &v[i]))
			return false;
	*ops = v;
	return true;
}

static bool dec_txn_fields(struct dec *d, uint32_t n, struct proto_txn *t)
{
	struct proto_compare *c;

	if (n != 4)
		return dec_fail(d, COORD_EMALFORMED);
	if (!dec_list(d, sizeof(*c), MIN_COMPARE_BYTES, (void **)&c,
		      &t->n_compares))
		return false;
	for (size_t i = 0; i < t->n_compares; i++) {
		if (!(dec_array_len(d, 5) && dec_bytes(d, &c[i].key) &&
		      dec_u8(d, PROTO_CMP_TARGET_LAST, &c[i].target) &&
		      dec_u8(d, PROTO_CMP_RESULT_LAST, &c[i].result) &&
		      dec_u64(d, &c[i].number) && dec_bytes(d, &c[i].value)))
			return false;
	}
	t->compares = c;
	return dec_ops(d, &t->success, &t->n_success) &&
	       dec_ops(d, &t->failure, &t->n_failure);
}

static int dec_finish(struct dec *d, bool ok)
{
	if (ok && d->p != d->end)
		return COORD_EMALFORMED;    /* trailing bytes */
	if (!ok && d->err == COORD_OK)
		return COORD_EMALFORMED;
	return d->err;
}

static void dec_init(struct dec *d, const uint8_t *data, size_t len,
		     struct proto_arena *arena)
{
	d->p = data;
	d->end = data + len;
	d->arena = arena;
	d->err = COORD_OK;
}

static bool dec_cmd(struct dec *d, struct proto_cmd *cmd);

/* n elements, or malformed. */
static bool dec_n(struct dec *d, uint32_t n, uint32_t want)
{
	return n == want || dec_fail(d, COORD_EMALFORMED);
}

static bool dec_name(struct dec *d, struct proto_bytes *b)
{
	return dec_bytes(d, b) &&
	       (b->len <= COORD_NAME_BYTES_MAX || dec_fail(d, COORD_EMALFORMED));
}

/* Minimum encoded size of a keepalive's lease and of a fence. */
#define MIN_LEASE_BYTES 1
#define MIN_FENCE_BYTES 3

static bool dec_keepalive_fields(struct dec *d, uint32_t n,
				 struct proto_lease_keepalive *k)
{
	uint64_t *v;

	if (!(dec_n(d, n, 2) &&
	      dec_list(d, sizeof(*v), MIN_LEASE_BYTES, (void **)&v,
		       &k->n_leases)))
		return false;
	if (k->n_leases > COORD_KEEPALIVE_BATCH_MAX)
		return dec_fail(d, COORD_EMALFORMED);
	for (size_t i = 0; i < k->n_leases; i++)
		if (!dec_u64(d, &v[i]))
			return false;
	k->leases = v;
	return true;
}

/* The inner write of a FENCED or LOCK_RELEASE_WRITE, next in d: a PUT,
 * DELETE or TXN array (so that neither ever nests). */
static bool dec_write_cmd(struct dec *d, const struct proto_cmd **out)
{
	struct proto_cmd *inner = proto_arena_alloc(d->arena, sizeof(*inner));

	if (inner == NULL)
		return dec_fail(d, COORD_ENOMEM);
	memset(inner, 0, sizeof(*inner));
	*out = inner;
	if (!(dec_need(d, 2) &&
	      (d->p[1] == PROTO_CMD_PUT || d->p[1] == PROTO_CMD_DELETE ||
	       d->p[1] == PROTO_CMD_TXN) &&
	      (d->p[0] & 0xf0) == 0x90))
		return dec_fail(d, COORD_EMALFORMED);
	return dec_cmd(d, inner);
}

static bool dec_lock_release_write(struct dec *d, uint32_t n,
				   struct proto_lock_release_write *w)
{
	return dec_n(d, n, 5) && dec_name(d, &w->name) &&
	       dec_u64(d, &w->session) && dec_u64(d, &w->token) &&
	       (w->token != 0 || dec_fail(d, COORD_EMALFORMED)) &&
	       dec_write_cmd(d, &w->cmd);
}

/* [name, token] (a lock's) or [name, token, kind]. */
static bool dec_fence(struct dec *d, struct proto_fence *fc)
{
	uint32_t n;

	fc->kind = PROTO_QUEUE_LOCK;
	if (!dec_array(d, &n))
		return false;
	if (n != 2 && n != 3)
		return dec_fail(d, COORD_EMALFORMED);
	return dec_name(d, &fc->lock) && dec_u64(d, &fc->token) &&
	       (n == 2 || (dec_u8(d, PROTO_QUEUE_KIND_LAST, &fc->kind) &&
			   (fc->kind != 0 || dec_fail(d, COORD_EMALFORMED))));
}

static bool dec_fenced_fields(struct dec *d, uint32_t n,
			      struct proto_fenced *fd)
{
	struct proto_fence *v;

	if (!(dec_n(d, n, 3) &&
	      dec_list(d, sizeof(*v), MIN_FENCE_BYTES, (void **)&v,
		       &fd->n_fences)))
		return false;
	if (fd->n_fences > COORD_FENCES_MAX)
		return dec_fail(d, COORD_EMALFORMED);
	for (size_t i = 0; i < fd->n_fences; i++)
		if (!dec_fence(d, &v[i]))
			return false;
	fd->fences = v;
	return dec_write_cmd(d, &fd->cmd);
}

/* The commands of job queues. */
static bool dec_job_cmd(struct dec *d, uint32_t n, struct proto_cmd *cmd)
{
	struct proto_job_enqueue_cmd *q = &cmd->u.job_enqueue;
	struct proto_job_claim_cmd *c = &cmd->u.job_claim;
	struct proto_job_done_cmd *o = &cmd->u.job_done;
	uint64_t max_attempts;

	switch (cmd->type) {
	case PROTO_CMD_JOB_ENQUEUE:
		if (!(dec_n(d, n, 5) && dec_name(d, &q->queue) &&
		      dec_bytes(d, &q->payload) && dec_name(d, &q->unique_key) &&
		      dec_uint(d, UINT32_MAX, &max_attempts)))
			return false;
		q->max_attempts = (uint32_t)max_attempts;
		return true;
	case PROTO_CMD_JOB_CLAIM:
		return dec_n(d, n, 5) && dec_name(d, &c->queue) &&
		       dec_u64(d, &c->session) && dec_bool(d, &c->wait) &&
		       dec_u64(d, &c->deadline_ms);
	case PROTO_CMD_JOB_COMPLETE:
	case PROTO_CMD_JOB_FAIL:
		return dec_n(d, n, 6) && dec_name(d, &o->queue) &&
		       dec_u64(d, &o->job_id) && dec_u64(d, &o->session) &&
		       dec_u64(d, &o->token) &&
		       (cmd->type == PROTO_CMD_JOB_COMPLETE
				? dec_bytes(d, &o->result)
				: dec_bool(d, &o->to_tail));
	}
	return dec_fail(d, COORD_EMALFORMED);
}

/* The commands of elections. */
static bool dec_election_cmd(struct dec *d, uint32_t n, struct proto_cmd *cmd)
{
	struct proto_campaign_cmd *c = &cmd->u.campaign;
	struct proto_proclaim_cmd *p = &cmd->u.proclaim;
	struct proto_lock_release *r = &cmd->u.resign;

	switch (cmd->type) {
	case PROTO_CMD_ELECTION_CAMPAIGN:
		return dec_n(d, n, 5) && dec_name(d, &c->name) &&
		       dec_u64(d, &c->session) && dec_bytes(d, &c->value) &&
		       (c->value.len <= COORD_ELECTION_VALUE_BYTES_MAX ||
			dec_fail(d, COORD_EMALFORMED)) &&
		       dec_u64(d, &c->deadline_ms);
	case PROTO_CMD_ELECTION_PROCLAIM:
		return dec_n(d, n, 5) && dec_name(d, &p->name) &&
		       dec_u64(d, &p->session) && dec_u64(d, &p->token) &&
		       dec_bytes(d, &p->value) &&
		       (p->value.len <= COORD_ELECTION_VALUE_BYTES_MAX ||
			dec_fail(d, COORD_EMALFORMED));
	case PROTO_CMD_ELECTION_RESIGN:
		return dec_n(d, n, 4) && dec_name(d, &r->name) &&
		       dec_u64(d, &r->session) && dec_u64(d, &r->token);
	}
	return dec_fail(d, COORD_EMALFORMED);
}

/* The commands of leases, sessions and locks. */
static bool dec_lock_cmd(struct dec *d, uint32_t n, struct proto_cmd *cmd)
{
	struct proto_lock_acquire_cmd *a = &cmd->u.lock_acquire;

	switch (cmd->type) {
	case PROTO_CMD_LEASE_GRANT:
		return dec_n(d, n, 3) && dec_u64(d, &cmd->u.lease_grant.lease) &&
		       dec_u64(d, &cmd->u.lease_grant.ttl_ms);
	case PROTO_CMD_LEASE_KEEPALIVE:
		return dec_keepalive_fields(d, n, &cmd->u.lease_keepalive);
	case PROTO_CMD_LEASE_REVOKE:
		return dec_n(d, n, 2) && dec_u64(d, &cmd->u.lease_revoke.lease);
	case PROTO_CMD_LEASE_EXPIRE:
		return dec_n(d, n, 3) &&
		       dec_u64(d, &cmd->u.lease_expire.lease) &&
		       dec_u64(d, &cmd->u.lease_expire.ka_index);
	case PROTO_CMD_SESSION_OPEN:
		return dec_n(d, n, 3) &&
		       dec_u64(d, &cmd->u.session_open.ttl_ms) &&
		       dec_bytes(d, &cmd->u.session_open.secret) &&
		       (cmd->u.session_open.secret.len <=
				COORD_SECRET_BYTES_MAX ||
			dec_fail(d, COORD_EMALFORMED));
	case PROTO_CMD_SESSION_CLOSE:
		return dec_n(d, n, 2) &&
		       dec_u64(d, &cmd->u.session_close.session);
	case PROTO_CMD_LOCK_ACQUIRE:
		return dec_n(d, n, 7) && dec_name(d, &a->name) &&
		       dec_u64(d, &a->session) &&
		       dec_u8(d, PROTO_LOCK_MODE_LAST, &a->mode) &&
		       dec_bool(d, &a->wait) && dec_u64(d, &a->deadline_ms) &&
		       dec_u64(d, &a->lock_delay_ms);
	case PROTO_CMD_LOCK_RELEASE:
		return dec_n(d, n, 4) &&
		       dec_name(d, &cmd->u.lock_release.name) &&
		       dec_u64(d, &cmd->u.lock_release.session) &&
		       dec_u64(d, &cmd->u.lock_release.token);
	case PROTO_CMD_QUEUE_KICK:
		return dec_n(d, n, 3) &&
		       dec_u8(d, PROTO_QUEUE_KIND_LAST, &cmd->u.queue_kick.kind) &&
		       (proto_queue_kind_known(cmd->u.queue_kick.kind) ||
			dec_fail(d, COORD_EMALFORMED)) &&
		       dec_name(d, &cmd->u.queue_kick.name);
	case PROTO_CMD_FENCED:
		return dec_fenced_fields(d, n, &cmd->u.fenced);
	case PROTO_CMD_LOCK_RELEASE_WRITE:
		return dec_lock_release_write(d, n, &cmd->u.lock_release_write);
	case PROTO_CMD_ELECTION_CAMPAIGN:
	case PROTO_CMD_ELECTION_PROCLAIM:
	case PROTO_CMD_ELECTION_RESIGN:
		return dec_election_cmd(d, n, cmd);
	case PROTO_CMD_SEM_ACQUIRE:
		return dec_n(d, n, 6) &&
		       dec_name(d, &cmd->u.sem_acquire.name) &&
		       dec_u64(d, &cmd->u.sem_acquire.session) &&
		       dec_u64(d, &cmd->u.sem_acquire.permits) &&
		       dec_bool(d, &cmd->u.sem_acquire.wait) &&
		       dec_u64(d, &cmd->u.sem_acquire.deadline_ms);
	case PROTO_CMD_SEM_RELEASE:
		return dec_n(d, n, 4) &&
		       dec_name(d, &cmd->u.sem_release.name) &&
		       dec_u64(d, &cmd->u.sem_release.session) &&
		       dec_u64(d, &cmd->u.sem_release.token);
	}
	return dec_job_cmd(d, n, cmd);
}

static bool dec_cmd(struct dec *d, struct proto_cmd *cmd)
{
	uint32_t n;

	if (!(dec_array(d, &n) && (n > 0 || dec_fail(d, COORD_EMALFORMED)) &&
	      dec_u8(d, UINT8_MAX, &cmd->type)))
		return false;
	switch (cmd->type) {
	case PROTO_CMD_PUT:
		return dec_put_fields(d, n, &cmd->u.put);
	case PROTO_CMD_DELETE:
		return dec_delete_fields(d, n, &cmd->u.del);
	case PROTO_CMD_RANGE:
		return dec_range_fields(d, n, &cmd->u.range);
	case PROTO_CMD_TXN:
		return dec_txn_fields(d, n, &cmd->u.txn);
	case PROTO_CMD_COMPACT:
		return (n == 2 || dec_fail(d, COORD_EMALFORMED)) &&
		       dec_u64(d, &cmd->u.compact.revision);
	case PROTO_CMD_LEASE_END:
		return (n == 2 || dec_fail(d, COORD_EMALFORMED)) &&
		       dec_u64(d, &cmd->u.lease_end.lease);
	case PROTO_CMD_CLIENTS_EXPIRE:
		return (n == 3 || dec_fail(d, COORD_EMALFORMED)) &&
		       dec_u64(d, &cmd->u.clients_expire.now_ms) &&
		       dec_u64(d, &cmd->u.clients_expire.idle_ms);
	case PROTO_CMD_REGISTER_CLIENT:
		return (n == 2 || dec_fail(d, COORD_EMALFORMED)) &&
		       dec_u64(d, &cmd->u.register_client.horizon_ms);
	case PROTO_CMD_MEMBER_PUT: {
		struct proto_member_put *m = &cmd->u.member_put;

		/* 6 elements: an entry from before http_addr. */
		return (n == 6 || n == 7 || dec_fail(d, COORD_EMALFORMED)) &&
		       dec_u64(d, &m->id) && dec_bytes(d, &m->name) &&
		       dec_bytes(d, &m->peer_addr) &&
		       dec_bytes(d, &m->client_addr) && dec_bool(d, &m->promote) &&
		       (n == 6 || dec_bytes(d, &m->http_addr)) &&
		       ((m->id != 0 && m->name.len <= COORD_NAME_BYTES_MAX &&
			 m->peer_addr.len <= COORD_ADDR_BYTES_MAX &&
			 m->client_addr.len <= COORD_ADDR_BYTES_MAX &&
			 m->http_addr.len <= COORD_ADDR_BYTES_MAX) ||
			dec_fail(d, COORD_EMALFORMED));
	}
	case PROTO_CMD_MEMBER_DEL:
		return (n == 2 || dec_fail(d, COORD_EMALFORMED)) &&
		       dec_u64(d, &cmd->u.member_del.id) &&
		       (cmd->u.member_del.id != 0 ||
			dec_fail(d, COORD_EMALFORMED));
	/* quota13 */
	case PROTO_CMD_QUOTA_SET:
		return (n == 3 || dec_fail(d, COORD_EMALFORMED)) &&
		       dec_u64(d, &cmd->u.quota_set.quota_bytes) &&
		       dec_u64(d, &cmd->u.quota_set.coord_quota_bytes);
	case PROTO_CMD_ALARM_DISARM:
		return n == 1 || dec_fail(d, COORD_EMALFORMED);
	}
	return dec_lock_cmd(d, n, cmd);
}

int proto_cmd_decode(const uint8_t *data, size_t len,
		     struct proto_arena *arena, struct proto_cmd *cmd)
{
	struct dec d;

	memset(cmd, 0, sizeof(*cmd));
	if (data == NULL)
		return COORD_EMALFORMED;
	dec_init(&d, data, len, arena);
	return dec_finish(&d, dec_cmd(&d, cmd));
}

int proto_entry_decode(const uint8_t *data, size_t len,
		       struct proto_arena *arena, struct proto_entry *entry)
{
	struct dec d;
	bool ok;

	memset(entry, 0, sizeof(*entry));
	if (data == NULL)
		return COORD_EMALFORMED;
	dec_init(&d, data, len, arena);
	ok = dec_array_len(&d, 5) && dec_u64(&d, &entry->client_id) &&
	     dec_u64(&d, &entry->sequence) && dec_u64(&d, &entry->ack) &&
	     (entry_ids_valid(entry->client_id, entry->sequence,
			      entry->ack) ||
	      dec_fail(&d, COORD_EMALFORMED)) &&
	     dec_u64(&d, &entry->now_ms) && dec_cmd(&d, &entry->cmd);
	return dec_finish(&d, ok);
}

static bool dec_op_reply_body(struct dec *d, uint8_t type,
			      struct proto_put_reply *put,
			      struct proto_delete_reply *del,
			      struct proto_range_reply *range)
{
	switch (type) {
	case PROTO_CMD_PUT:
		return dec_array_len(d, 1) &&
		       dec_kv_opt(d, &put->has_prev_kv, &put->prev_kv);
	case PROTO_CMD_DELETE:
		return dec_array_len(d, 2) && dec_u64(d, &del->deleted) &&
		       dec_kvs(d, &del->prev_kvs, &del->n_prev_kvs);
	case PROTO_CMD_RANGE:
		return dec_array_len(d, 3) &&
		       dec_kvs(d, &range->kvs, &range->n_kvs) &&
		       dec_u64(d, &range->count) && dec_bool(d, &range->more);
	}
	return dec_fail(d, COORD_EMALFORMED);
}

static bool dec_txn_reply(struct dec *d, struct proto_txn_reply *t)
{
	struct proto_op_reply *v;

	if (!(dec_array_len(d, 2) && dec_bool(d, &t->succeeded) &&
	      dec_list(d, sizeof(*v), MIN_OP_REPLY_BYTES, (void **)&v,
		       &t->n_replies)))
		return false;
	for (size_t i = 0; i < t->n_replies; i++) {
		if (!(dec_array_len(d, 2) && dec_u8(d, UINT8_MAX, &v[i].type) &&
		      dec_op_reply_body(d, v[i].type, &v[i].u.put, &v[i].u.del,
					&v[i].u.range)))
			return false;
	}
	t->replies = v;
	return true;
}

static bool dec_keepalive_reply(struct dec *d,
				struct proto_lease_keepalive_reply *k)
{
	struct proto_lease_ttl_item *v;

	if (!(dec_array_len(d, 1) &&
	      dec_list(d, sizeof(*v), 3, (void **)&v, &k->n_leases)))
		return false;
	for (size_t i = 0; i < k->n_leases; i++)
		if (!(dec_array_len(d, 2) && dec_u64(d, &v[i].lease) &&
		      dec_u64(d, &v[i].ttl_ms)))
			return false;
	k->leases = v;
	return true;
}

/* The reply bodies of leases, sessions and locks. */
static bool dec_lock_reply(struct dec *d, struct proto_reply *r)
{
	switch (r->type) {
	case PROTO_CMD_LEASE_GRANT:
		return dec_array_len(d, 2) &&
		       dec_u64(d, &r->u.lease_grant.lease) &&
		       dec_u64(d, &r->u.lease_grant.ttl_ms);
	case PROTO_CMD_LEASE_KEEPALIVE:
		return dec_keepalive_reply(d, &r->u.lease_keepalive);
	case PROTO_CMD_LEASE_REVOKE:
		return dec_array_len(d, 1) &&
		       dec_u64(d, &r->u.lease_revoke.deleted);
	case PROTO_CMD_LEASE_EXPIRE:
		return dec_array_len(d, 1) &&
		       dec_bool(d, &r->u.lease_expire.expired);
	case PROTO_CMD_SESSION_OPEN:
		return dec_array_len(d, 4) &&
		       dec_u64(d, &r->u.session_open.session) &&
		       dec_bytes(d, &r->u.session_open.secret) &&
		       dec_u64(d, &r->u.session_open.lease) &&
		       dec_u64(d, &r->u.session_open.ttl_ms);
	case PROTO_CMD_ELECTION_PROCLAIM:
	case PROTO_CMD_ELECTION_RESIGN:
		return dec_array_len(d, 0);
	case PROTO_CMD_LOCK_ACQUIRE:
	case PROTO_CMD_ELECTION_CAMPAIGN:
	case PROTO_CMD_SEM_ACQUIRE:
		return dec_array_len(d, 2) &&
		       dec_bool(d, &r->u.lock_acquire.granted) &&
		       dec_u64(d, &r->u.lock_acquire.token);
	case PROTO_CMD_QUEUE_KICK:
		return dec_array_len(d, 1) &&
		       dec_u64(d, &r->u.queue_kick.granted);
	case PROTO_CMD_JOB_ENQUEUE:
		return dec_array_len(d, 2) &&
		       dec_u64(d, &r->u.job_enqueue.job_id) &&
		       dec_bool(d, &r->u.job_enqueue.existed);
	case PROTO_CMD_JOB_CLAIM: {
		uint64_t attempts;

		if (!(dec_array_len(d, 5) &&
		      dec_bool(d, &r->u.job_claim.granted) &&
		      dec_u64(d, &r->u.job_claim.job_id) &&
		      dec_u64(d, &r->u.job_claim.token) &&
		      dec_uint(d, UINT32_MAX, &attempts) &&
		      dec_bytes(d, &r->u.job_claim.payload)))
			return false;
		r->u.job_claim.attempts = (uint32_t)attempts;
		return true;
	}
	case PROTO_CMD_JOB_COMPLETE:
		return dec_array_len(d, 0);
	case PROTO_CMD_JOB_FAIL:
		return dec_array_len(d, 1) &&
		       dec_bool(d, &r->u.job_fail.dead);
	}
	return dec_fail(d, COORD_EMALFORMED);
}

int proto_reply_decode(const uint8_t *data, size_t len,
		       struct proto_arena *arena, struct proto_reply *r)
{
	struct dec d;
	uint64_t code;
	bool ok;

	memset(r, 0, sizeof(*r));
	if (data == NULL)
		return COORD_EMALFORMED;
	dec_init(&d, data, len, arena);
	ok = dec_array_len(&d, 5) && dec_u8(&d, UINT8_MAX, &r->type) &&
	     dec_uint(&d, INT_MAX, &code) && dec_u64(&d, &r->revision) &&
	     dec_u64(&d, &r->compact_revision);
	if (ok) {
		r->code = (int)code;
		switch (r->type) {
		case PROTO_CMD_PUT:
		case PROTO_CMD_DELETE:
		case PROTO_CMD_RANGE:
			ok = dec_op_reply_body(&d, r->type, &r->u.put,
					       &r->u.del, &r->u.range);
			break;
		case PROTO_CMD_TXN:
			ok = dec_txn_reply(&d, &r->u.txn);
			break;
		case PROTO_CMD_COMPACT:
			ok = dec_array_len(&d, 0);
			break;
		case PROTO_CMD_LEASE_END:
			ok = dec_array_len(&d, 1) &&
			     dec_u64(&d, &r->u.lease_end.deleted);
			break;
		case PROTO_CMD_CLIENTS_EXPIRE:
			ok = dec_array_len(&d, 1) &&
			     dec_u64(&d, &r->u.clients_expire.expired);
			break;
		case PROTO_CMD_REGISTER_CLIENT:
			ok = dec_array_len(&d, 1) &&
			     dec_u64(&d, &r->u.register_client.client_id);
			break;
		case PROTO_CMD_MEMBER_PUT:
		case PROTO_CMD_MEMBER_DEL:
		case PROTO_CMD_SESSION_CLOSE:
		case PROTO_CMD_LOCK_RELEASE:
		case PROTO_CMD_SEM_RELEASE:
		case PROTO_CMD_QUOTA_SET:
		case PROTO_CMD_ALARM_DISARM:
			ok = dec_array_len(&d, 0);
			break;
		default:
			ok = dec_lock_reply(&d, r);
		}
	}
	return dec_finish(&d, ok);
}

int proto_events_decode(const uint8_t *data, size_t len,
			struct proto_arena *arena,
			const struct proto_event **events, size_t *n_events)
{
	struct proto_event *v = NULL;
	struct dec d;
	size_t n = 0;
	bool ok;

	*events = NULL;
	*n_events = 0;
	if (data == NULL)
		return COORD_EMALFORMED;
	dec_init(&d, data, len, arena);
	ok = dec_list(&d, sizeof(*v), MIN_EVENT_BYTES, (void **)&v, &n);
	for (size_t i = 0; ok && i < n; i++) {
		ok = dec_array_len(&d, 3) &&
		     dec_u8(&d, PROTO_EVENT_DELETE, &v[i].type) &&
		     (v[i].type >= PROTO_EVENT_PUT ||
		      dec_fail(&d, COORD_EMALFORMED)) &&
		     dec_kv(&d, &v[i].kv) &&
		     dec_kv_opt(&d, &v[i].has_prev_kv, &v[i].prev_kv);
	}
	if (ok && d.p == d.end) {
		*events = v;
		*n_events = n;
	}
	return dec_finish(&d, ok);
}
