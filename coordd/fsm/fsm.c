/*
 * coordd/fsm/fsm.c: the fsm's life cycle, the apply driver (one atomic
 * backend batch per command or entry, the exactly-once rules of entries),
 * reads of history and the state hash.
 *
 * What it never does: read a clock, do I/O other than through the
 * backend, print, keep global state.
 */
#include <string.h>

#include "coordd/fsm/fsm_int.h"
#include "proto/assert.h"
#include "proto/errors.h"
#include "proto/limits.h"

/* The meta record: the counters the fsm caches, in one record that every
 * apply rewrites (applied index, revision, compact revision, cluster
 * clock, clients in the table, the records' hash sum, then the keyspace's
 * and the coordination state's bytes), each a big-endian u64 in that
 * order. A record of the first META_FIELDS_OLD fields (before the byte
 * counts) is read too: the counts are then summed over the records. */
#define META_STATE "mstate"
#define META_FIELDS 8
#define META_FIELDS_OLD 6

/* Bytes of the reply buffer kept from one entry to the next. */
#define FSM_REPLY_KEEP_BYTES (64 * 1024)

#define META_KEY(name) ((const uint8_t *)(name)), (sizeof(name) - 1)

void fsm_config_default(struct fsm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->key_bytes_max = COORD_KEY_BYTES_MAX;
	cfg->value_bytes_max = COORD_VALUE_BYTES_MAX;
	cfg->txn_ops_max = COORD_TXN_OPS_MAX;
	cfg->clients_max = COORD_CLIENTS_MAX;
	cfg->reply_bytes_max = COORD_APPLY_REPLY_BYTES_MAX;
	cfg->leases_max = COORD_LEASES_MAX;
	cfg->sessions_max = COORD_SESSIONS_MAX;
	cfg->waiters_max = COORD_WAITERS_MAX;
	cfg->locks_per_session_max = COORD_LOCKS_PER_SESSION_MAX;
	cfg->lease_drift_ms = COORD_LEASE_DRIFT_MS;
	cfg->lease_drift_ppm = COORD_LEASE_DRIFT_PPM;
	cfg->job_queue_len_max = COORD_JOB_QUEUE_LEN_MAX;
	cfg->job_queues_max = COORD_JOB_QUEUES_MAX;
	cfg->job_done_kept = COORD_JOB_DONE_KEPT;
}

/* Reads the meta record into the cached counters (all 0 when absent: an
 * empty keyspace). */
static int meta_load(struct fsm *f)
{
	uint64_t *fields[META_FIELDS] = { &f->applied_index, &f->revision,
					  &f->compact_revision, &f->clock_ms,
					  &f->clients, &f->hash, &f->kv_bytes,
					  &f->coord_bytes };
	const uint8_t *val;
	size_t len;
	int rc;

	rc = f->b->ops->get(f->b, META_KEY(META_STATE), &val, &len);
	if (rc == COORD_ENOTFOUND) {
		/* Empty, or the layout before the one meta record (its
		 * "mapplied"), which this version cannot read. */
		rc = f->b->ops->get(f->b, META_KEY("mapplied"), &val, &len);
		return rc == COORD_ENOTFOUND ? COORD_OK
		       : rc == COORD_OK      ? COORD_ECORRUPT
					     : rc;
	}
	if (rc != COORD_OK)
		return rc;
	if (len != 8 * META_FIELDS && len != 8 * META_FIELDS_OLD)
		return COORD_ECORRUPT;
	for (size_t i = 0; i < len / 8; i++)
		*fields[i] = fsm_be64_get(val + 8 * i);
	if (len == 8 * META_FIELDS_OLD)
		return fsm_bytes_scan(f, &f->kv_bytes, &f->coord_bytes);
	return COORD_OK;
}

/* The meta record as it is after the call, in the overlay (not hashed:
 * fsm_hash_record() skips it). */
static int meta_put(struct fsm *f, uint64_t index)
{
	const uint64_t fields[META_FIELDS] = {
		index, f->sub > 0 ? f->rev_new : f->revision, f->compact_new,
		f->clock_new, f->clients_new, f->hash_new, f->kv_bytes_new,
		f->coord_bytes_new,
	};
	uint8_t val[8 * META_FIELDS];

	for (size_t i = 0; i < META_FIELDS; i++)
		fsm_be64_put(val + 8 * i, fields[i]);
	return fsm_ov_put(f, META_KEY(META_STATE), val, sizeof(val));
}

int fsm_new(const struct fsm_config *cfg, struct fsm_backend *backend,
	    struct fsm **out)
{
	struct fsm *f;
	int rc;

	/* Keys and values travel as msgpack bin32. */
	if (cfg->key_bytes_max == 0 || cfg->key_bytes_max > UINT32_MAX ||
	    cfg->value_bytes_max > UINT32_MAX || cfg->txn_ops_max == 0 ||
	    cfg->clients_max == 0 || cfg->reply_bytes_max == 0 ||
	    cfg->leases_max == 0 || cfg->sessions_max == 0 ||
	    cfg->waiters_max == 0 || cfg->locks_per_session_max == 0 ||
	    backend == NULL)
		return COORD_EINVAL;
	f = coord_malloc(cfg->alloc, sizeof(*f));
	if (f == NULL)
		return COORD_ENOMEM;
	memset(f, 0, sizeof(*f));
	f->cfg = *cfg;
	/* 0: the default (configs from before job queues). */
	if (f->cfg.job_queue_len_max == 0)
		f->cfg.job_queue_len_max = COORD_JOB_QUEUE_LEN_MAX;
	if (f->cfg.job_queues_max == 0)
		f->cfg.job_queues_max = COORD_JOB_QUEUES_MAX;
	if (f->cfg.job_done_kept == 0)
		f->cfg.job_done_kept = COORD_JOB_DONE_KEPT;
	f->b = backend;
	proto_arena_init(&f->arena, cfg->alloc);
	proto_buf_init(&f->reply, cfg->alloc);
	fsm_ov_reset(&f->ov);
	rc = meta_load(f);
	if (rc == COORD_OK)
		rc = fsm_usage_load(f);
	if (rc == COORD_OK)
		rc = fsm_quota_load(f);
	if (rc == COORD_OK && f->compact_revision > f->revision)
		rc = COORD_ECORRUPT;
	if (rc != COORD_OK) {
		fsm_free(f);
		return rc;
	}
	*out = f;
	return COORD_OK;
}

void fsm_free(struct fsm *f)
{
	if (f == NULL)
		return;
	proto_arena_close(&f->arena);
	proto_buf_close(&f->reply);
	fsm_kbuf_free(f, &f->find_key);
	fsm_kbuf_free(f, &f->scan_seek);
	fsm_kbuf_free(f, &f->scan_ukey);
	fsm_kbuf_free(f, &f->scan_group);
	fsm_kbuf_free(f, &f->write_key);
	coord_free(f->cfg.alloc, f);
}

uint64_t fsm_revision(const struct fsm *f)
{
	return f->revision;
}

uint64_t fsm_compact_revision(const struct fsm *f)
{
	return f->compact_revision;
}

uint64_t fsm_applied_index(const struct fsm *f)
{
	return f->applied_index;
}

uint64_t fsm_clients_count(const struct fsm *f)
{
	return f->clients;
}

uint64_t fsm_clients_clock_ms(const struct fsm *f)
{
	return f->clock_ms;
}

/* Starts a call: the previous call's memory and overlay are dropped. */
static void call_begin(struct fsm *f, unsigned flags)
{
	proto_arena_reset(&f->arena);
	fsm_ov_reset(&f->ov);
	f->rev_new = f->revision + 1;
	f->sub = 0;
	f->compact_new = f->compact_revision;
	f->clock_new = f->clock_ms;
	f->clients_new = f->clients;
	f->hash_new = f->hash;
	f->kv_bytes_new = f->kv_bytes;
	f->coord_bytes_new = f->coord_bytes;
	f->quota_new = f->quota;
	f->wrote_value = false;
	f->internal = false;
	f->flags = flags;
	f->reply_bytes_left = f->cfg.reply_bytes_max;
	f->events = NULL;
	f->n_events = 0;
	f->cap_events = 0;
	f->usage_new = f->usage;
	f->grants = NULL;
	f->n_grants = f->cap_grants = 0;
	f->touched = NULL;
	f->n_touched = f->cap_touched = 0;
	f->gone = NULL;
	f->n_gone = f->cap_gone = 0;
	f->wakes = NULL;
	f->n_wakes = f->cap_wakes = 0;
	f->ending = NULL;
	f->n_ending = f->cap_ending = 0;
}

int fsm_event_add(struct fsm *f, uint8_t type, const struct proto_kv *kv,
		  const struct proto_kv *prev)
{
	struct proto_event *ev;
	int rc;

	if (!(f->flags & FSM_EVENTS))
		return COORD_OK;
	if (f->n_events == f->cap_events) {
		size_t cap = f->cap_events == 0 ? 16 : f->cap_events * 2;

		ev = proto_arena_grow(&f->arena, f->events, f->n_events, cap,
				      sizeof(*ev));
		if (ev == NULL)
			return COORD_ENOMEM;
		f->events = ev;
		f->cap_events = cap;
	}
	ev = &f->events[f->n_events];
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	rc = fsm_kv_copy(f, &ev->kv, kv, true);
	if (rc != COORD_OK)
		return rc;
	if (prev != NULL && (f->flags & FSM_EVENTS_PREV_KV)) {
		rc = fsm_kv_copy(f, &ev->prev_kv, prev, true);
		if (rc != COORD_OK)
			return rc;
		ev->has_prev_kv = true;
	}
	f->n_events++;
	return COORD_OK;
}

static int apply_range(struct fsm *f, const struct proto_range *r,
		       struct proto_range_reply *out)
{
	int rc = fsm_check_range(f, r);

	if (rc == COORD_OK)
		rc = fsm_check_range_rev(f, r->revision);
	if (rc != COORD_OK)
		return rc;
	return fsm_do_range(f, r, r->revision != 0 ? r->revision : f->revision,
			    out);
}

static int apply_cmd_type(struct fsm *f, uint64_t index,
			  const struct proto_cmd *cmd,
			  struct proto_reply *reply)
{
	switch (cmd->type) {
	case PROTO_CMD_PUT:
		return fsm_cmd_put(f, &cmd->u.put, &reply->u.put);
	case PROTO_CMD_DELETE:
		return fsm_cmd_delete(f, &cmd->u.del, &reply->u.del);
	case PROTO_CMD_RANGE:
		return apply_range(f, &cmd->u.range, &reply->u.range);
	case PROTO_CMD_TXN:
		return fsm_cmd_txn(f, &cmd->u.txn, &reply->u.txn);
	case PROTO_CMD_COMPACT:
		return fsm_cmd_compact(f, cmd->u.compact.revision);
	case PROTO_CMD_LEASE_END:
		return fsm_cmd_lease_end(f, cmd->u.lease_end.lease,
					 &reply->u.lease_end);
	case PROTO_CMD_CLIENTS_EXPIRE:
		return fsm_cmd_clients_expire(f, &cmd->u.clients_expire,
					      &reply->u.clients_expire);
	case PROTO_CMD_MEMBER_PUT:
		return fsm_cmd_member_put(f, &cmd->u.member_put);
	case PROTO_CMD_MEMBER_DEL:
		return fsm_cmd_member_del(f, &cmd->u.member_del);
	case PROTO_CMD_REGISTER_CLIENT:
		return fsm_cmd_register_client(f, index,
					       &cmd->u.register_client,
					       &reply->u.register_client);
	case PROTO_CMD_LEASE_GRANT:
	case PROTO_CMD_LEASE_KEEPALIVE:
	case PROTO_CMD_LEASE_REVOKE:
	case PROTO_CMD_LEASE_EXPIRE:
	case PROTO_CMD_SESSION_OPEN:
	case PROTO_CMD_SESSION_CLOSE:
		return fsm_cmd_lease(f, index, cmd, reply);
	case PROTO_CMD_LOCK_ACQUIRE:
		return fsm_cmd_lock_acquire(f, &cmd->u.lock_acquire,
					    &reply->u.lock_acquire);
	case PROTO_CMD_LOCK_RELEASE:
		return fsm_cmd_lock_release(f, &cmd->u.lock_release);
	case PROTO_CMD_QUEUE_KICK:
		return fsm_cmd_queue_kick(f, &cmd->u.queue_kick,
					  &reply->u.queue_kick);
	case PROTO_CMD_FENCED:
		return fsm_cmd_fenced(f, &cmd->u.fenced, reply);
	case PROTO_CMD_LOCK_RELEASE_WRITE:
		return fsm_cmd_lock_release_write(f, &cmd->u.lock_release_write,
						  reply);
	case PROTO_CMD_JOB_ENQUEUE:
		return fsm_cmd_job_enqueue(f, &cmd->u.job_enqueue,
					   &reply->u.job_enqueue);
	case PROTO_CMD_JOB_CLAIM:
		return fsm_cmd_job_claim(f, &cmd->u.job_claim,
					 &reply->u.job_claim);
	case PROTO_CMD_JOB_COMPLETE:
		return fsm_cmd_job_complete(f, &cmd->u.job_done);
	case PROTO_CMD_JOB_FAIL:
		return fsm_cmd_job_fail(f, &cmd->u.job_done, &reply->u.job_fail);
	case PROTO_CMD_ELECTION_CAMPAIGN:
	case PROTO_CMD_ELECTION_PROCLAIM:
	case PROTO_CMD_ELECTION_RESIGN:
		return fsm_cmd_election(f, cmd, reply);
	case PROTO_CMD_SEM_ACQUIRE:
		return fsm_cmd_sem_acquire(f, &cmd->u.sem_acquire,
					   &reply->u.lock_acquire);
	case PROTO_CMD_SEM_RELEASE:
		return fsm_cmd_sem_release(f, &cmd->u.sem_release);
	case PROTO_CMD_QUOTA_SET:
		return fsm_cmd_quota_set(f, &cmd->u.quota_set);
	case PROTO_CMD_ALARM_DISARM:
		return fsm_cmd_alarm_disarm(f);
	}
	return COORD_EINVAL;
}

static int apply_cmd(struct fsm *f, uint64_t index,
		     const struct proto_cmd *cmd, struct proto_reply *reply)
{
	int code = apply_cmd_type(f, index, cmd, reply);

	/* The quotas judge what the command wrote, whatever it was. */
	if (code == COORD_OK)
		code = fsm_quota_check(f, index);
	/* The counters of leases, sessions, holds and waiters, once. */
	return code == COORD_OK ? fsm_usage_store(f) : code;
}

/* The type of a command's reply: a fenced write (and a release carrying
 * a write) answers as its write. */
static uint8_t reply_type(const struct proto_cmd *cmd)
{
	if (cmd->type == PROTO_CMD_FENCED && cmd->u.fenced.cmd != NULL)
		return cmd->u.fenced.cmd->type;
	if (cmd->type == PROTO_CMD_LOCK_RELEASE_WRITE &&
	    cmd->u.lock_release_write.cmd != NULL)
		return cmd->u.lock_release_write.cmd->type;
	return cmd->type;
}

/* Sets the reply's header and the events as they are once the command
 * commits. code: what the command returned, not a local failure. */
static void reply_finish(struct fsm *f, uint8_t type, int code,
			 struct fsm_result *res)
{
	if (code == COORD_EREPLYTOOBIG) {
		/* The one error found after writes (a txn's range or prev_kv
		 * past the reply limit): the command writes nothing, and
		 * the state hash stays (nothing is written before a
		 * command in the same call; see the assertions below). */
		fsm_writes_discard(f);
	}
	if (code != COORD_OK) {
		/* Commands check everything else before their first write. */
		COORD_ASSERT(f->sub == 0);
		COORD_ASSERT(f->ov.n == 0);
		memset(&res->reply.u, 0, sizeof(res->reply.u));
		f->n_events = 0;
		f->n_grants = f->n_touched = f->n_gone = f->n_wakes = 0;
		f->usage_new = f->usage;
	}
	res->reply.type = type;
	res->reply.code = code;
	res->reply.revision = f->sub > 0 ? f->rev_new : f->revision;
	res->reply.compact_revision = f->compact_new;
	res->events = f->n_events > 0 ? f->events : NULL;
	res->n_events = f->n_events;
	res->grants = f->n_grants > 0 ? f->grants : NULL;
	res->n_grants = f->n_grants;
	res->touched = f->n_touched > 0 ? f->touched : NULL;
	res->n_touched = f->n_touched;
	res->gone = f->n_gone > 0 ? f->gone : NULL;
	res->n_gone = f->n_gone;
	res->wakes = f->n_wakes > 0 ? f->wakes : NULL;
	res->n_wakes = f->n_wakes;
}

/* Ends a call that applies: writes the overlay and the meta records in one
 * batch, then moves the cached counters. */
static int commit(struct fsm *f, uint64_t index)
{
	struct fsm_backend_write *batch;
	const struct fsm_ov_node *n;
	size_t i = 0;
	int rc;

	rc = fsm_quota_settle(f);
	if (rc == COORD_OK)
		rc = meta_put(f, index);
	if (rc != COORD_OK)
		return rc;
	batch = proto_arena_alloc(&f->arena, f->ov.n * sizeof(*batch));
	if (batch == NULL)
		return COORD_ENOMEM;
	for (n = fsm_ov_first(&f->ov); n != NULL; n = n->next[0]) {
		batch[i].type = n->deleted ? FSM_BACKEND_DELETE
					   : FSM_BACKEND_PUT;
		batch[i].key = n->key;
		batch[i].key_len = n->key_len;
		batch[i].value = n->value;
		batch[i].value_len = n->value_len;
		i++;
	}
	COORD_ASSERT(i == f->ov.n);
	rc = f->b->ops->write(f->b, batch, i);
	if (rc != COORD_OK)
		return rc;
	f->applied_index = index;
	if (f->sub > 0)
		f->revision = f->rev_new;
	f->compact_revision = f->compact_new;
	f->clock_ms = f->clock_new;
	f->clients = f->clients_new;
	f->hash = f->hash_new;
	f->kv_bytes = f->kv_bytes_new;
	f->coord_bytes = f->coord_bytes_new;
	f->quota = f->quota_new;
	f->usage = f->usage_new;
	return COORD_OK;
}

/* Ends fsm_apply(). code: what the command returned. */
static int apply_commit(struct fsm *f, uint64_t index, uint8_t type, int code,
			struct fsm_result *res)
{
	if (fsm_is_local_failure(code))
		return code;
	reply_finish(f, type, code, res);
	return commit(f, index);
}

int fsm_apply(struct fsm *f, uint64_t index, const struct proto_cmd *cmd,
	      unsigned flags, struct fsm_result *res)
{
	int code;

	memset(res, 0, sizeof(*res));
	if (index <= f->applied_index)
		return COORD_EINVAL;
	call_begin(f, flags);
	code = apply_cmd(f, index, cmd, &res->reply);
	return apply_commit(f, index, reply_type(cmd), code, res);
}

int fsm_apply_data(struct fsm *f, uint64_t index, const uint8_t *data,
		   size_t len, unsigned flags, struct fsm_result *res)
{
	struct proto_cmd cmd;
	int code;

	memset(res, 0, sizeof(*res));
	if (index <= f->applied_index)
		return COORD_EINVAL;
	call_begin(f, flags);
	code = proto_cmd_decode(data, len, &f->arena, &cmd);
	if (code != COORD_OK)
		return apply_commit(f, index, 0, code, res);
	code = apply_cmd(f, index, &cmd, &res->reply);
	return apply_commit(f, index, reply_type(&cmd), code, res);
}

/* A retry: the stored reply, decoded for res, and nothing else. */
static int entry_duplicate(struct fsm *f, uint64_t index,
			   const uint8_t *reply, size_t reply_len,
			   struct fsm_entry_result *out)
{
	int rc;

	rc = proto_buf_append(&f->reply, reply, reply_len);
	if (rc != COORD_OK)
		return rc;
	rc = proto_reply_decode(f->reply.data, f->reply.len, &f->arena,
				&out->res.reply);
	if (rc == COORD_EMALFORMED)
		return COORD_ECORRUPT;
	if (rc != COORD_OK)
		return rc;
	out->duplicate = true;
	return commit(f, index);
}

/* The table's verdict on an entry of a client (fsm.h, exactly-once):
 * COORD_OK to apply it, a refusal code, or a duplicate with its reply. */
static int entry_check(const struct proto_entry *e, bool found,
		       const struct fsm_client *c, const uint8_t **reply,
		       size_t *reply_len)
{
	uint64_t floor;

	if (!found)
		return FSM_ECLIENT_UNKNOWN;
	if (e->sequence < c->floor)
		return FSM_ECLIENT_STALE_SEQ;
	if (fsm_client_reply(c, e->sequence, reply, reply_len))
		return COORD_OK;
	floor = e->ack > c->floor ? e->ack : c->floor;
	if (e->sequence - floor >= COORD_CLIENT_WINDOW_MAX)
		return COORD_EWINDOW;
	/* Commands of the server's own, never a client's. */
	if (e->cmd.type == PROTO_CMD_CLIENTS_EXPIRE ||
	    e->cmd.type == PROTO_CMD_REGISTER_CLIENT ||
	    e->cmd.type == PROTO_CMD_QUOTA_SET)
		return COORD_EINVAL;
	return COORD_OK;
}

/* The exactly-once rules of fsm.h, then the command and its commit. */
static int entry_apply(struct fsm *f, uint64_t index,
		       const struct proto_entry *e, struct fsm_entry_result *out)
{
	struct fsm_result *res = &out->res;
	struct fsm_client c;
	const uint8_t *stored = NULL;
	size_t stored_len = 0;
	bool found = false, refused = false;
	int code = COORD_OK, rc;

	if (e->client_id != 0) {
		rc = fsm_client_get(f, e->client_id, &found, &c);
		if (rc != COORD_OK)
			return rc;
		code = entry_check(e, found, &c, &stored, &stored_len);
		if (code == COORD_OK && stored != NULL)
			return entry_duplicate(f, index, stored, stored_len,
					       out);
		/* The table's own refusals leave everything as it was. */
		refused = code != COORD_OK && code != COORD_EINVAL;
	}
	/* The coordination budget spares the server's own commands. */
	f->internal = e->client_id == 0;
	/* Applied, even as a command error: the clock moves. */
	if (!refused && e->now_ms > f->clock_new)
		f->clock_new = e->now_ms;
	if (!refused && code == COORD_OK) {
		code = apply_cmd(f, index, &e->cmd, &res->reply);
		if (fsm_is_local_failure(code))
			return code;
	}
	reply_finish(f, reply_type(&e->cmd), code, res);
	rc = proto_reply_encode(&res->reply, &f->reply);
	if (rc != COORD_OK)
		return rc;
	if (e->client_id != 0 && !refused) {
		rc = fsm_client_store(f, e->client_id, &c, e->sequence, e->ack,
				      f->reply.data, f->reply.len);
		if (rc != COORD_OK)
			return rc;
	}
	return commit(f, index);
}

/* Starts an entry's call; COORD_EINVAL for a stale index. */
static int entry_begin(struct fsm *f, uint64_t index, unsigned flags,
		       struct fsm_entry_result *out)
{
	memset(out, 0, sizeof(*out));
	if (index <= f->applied_index)
		return COORD_EINVAL;
	call_begin(f, flags);
	/* A large reply's memory goes (the previous one was valid until
	 * this call): a peak is not kept for the node's lifetime. */
	if (f->reply.cap > FSM_REPLY_KEEP_BYTES) {
		proto_buf_close(&f->reply);
		proto_buf_init(&f->reply, f->cfg.alloc);
	}
	proto_buf_clear(&f->reply);
	return COORD_OK;
}

/* Ends an entry's call: the encoded reply, when there is one. */
static int entry_end(struct fsm *f, int rc, struct fsm_entry_result *out)
{
	if (rc == COORD_OK && f->reply.len > 0) {
		out->reply_data = f->reply.data;
		out->reply_len = f->reply.len;
	}
	return rc;
}

int fsm_apply_entry(struct fsm *f, uint64_t index,
		    const struct proto_entry *entry, unsigned flags,
		    struct fsm_entry_result *out)
{
	int rc = entry_begin(f, index, flags, out);

	if (rc != COORD_OK)
		return rc;
	/* What the wire format cannot carry is the caller's error. */
	if ((entry->client_id == 0) != (entry->sequence == 0) ||
	    (entry->client_id == 0) != (entry->ack == 0) ||
	    entry->ack > entry->sequence || entry->cmd.type == 0 ||
	    entry->cmd.type > PROTO_CMD_LAST)
		return COORD_EINVAL;
	return entry_end(f, entry_apply(f, index, entry, out), out);
}

int fsm_apply_entry_data(struct fsm *f, uint64_t index, const uint8_t *data,
			 size_t len, unsigned flags,
			 struct fsm_entry_result *out)
{
	struct proto_entry e;
	int rc = entry_begin(f, index, flags, out);

	if (rc != COORD_OK)
		return rc;
	rc = proto_entry_decode(data, len, &f->arena, &e);
	if (rc != COORD_OK)
		return apply_commit(f, index, 0, rc, &out->res);
	return entry_end(f, entry_apply(f, index, &e, out), out);
}

int fsm_client_lookup(struct fsm *f, uint64_t client_id,
		      struct fsm_client_info *info)
{
	struct fsm_client c;
	bool found;
	int rc;

	rc = fsm_client_get(f, client_id, &found, &c);
	if (rc == COORD_OK && !found)
		rc = COORD_ENOTFOUND;
	if (rc == COORD_OK) {
		info->floor = c.floor;
		info->active_ms = c.active_ms;
		info->n_replies = fsm_client_n_replies(&c);
	}
	return rc;
}

bool fsm_client_has_reply(struct fsm *f, uint64_t client_id,
			  uint64_t sequence)
{
	struct fsm_client c;
	const uint8_t *r;
	size_t len;
	bool found;

	return fsm_client_get(f, client_id, &found, &c) == COORD_OK && found &&
	       fsm_client_reply(&c, sequence, &r, &len);
}

int fsm_range(struct fsm *f, const struct proto_range *req,
	      struct proto_reply *reply)
{
	int rc;

	memset(reply, 0, sizeof(*reply));
	call_begin(f, 0);
	/* A read: its reply is bounded by the server's frame limit. */
	f->reply_bytes_left = SIZE_MAX;
	rc = apply_range(f, req, &reply->u.range);
	if (rc != COORD_OK)
		memset(&reply->u, 0, sizeof(reply->u));
	reply->type = PROTO_CMD_RANGE;
	reply->code = rc;
	reply->revision = f->revision;
	reply->compact_revision = f->compact_revision;
	return rc;
}

/* The event of the change (rev, sub) of key, from its 'k' record. */
static int history_event(struct fsm *f, struct fsm_view_iter *it,
			 struct proto_bytes key, uint64_t rev, uint32_t sub)
{
	struct proto_kv kv = { .key = key, .mod_revision = rev }, prev = kv;
	struct fsm_krec rec;
	uint64_t rec_rev;
	bool found, tombstone, has_prev = false;
	int rc;

	rc = fsm_mvcc_find(f, it, key.data, key.len, rev, &found, &rec_rev,
			   &rec);
	if (rc != COORD_OK)
		return rc;
	if (!found || rec_rev != rev || rec.sub != sub)
		return COORD_ECORRUPT;
	tombstone = rec.tombstone;
	if (!tombstone) {
		kv.value = proto_bytes_make(rec.value, rec.value_len);
		kv.create_revision = rec.create_revision;
		kv.version = rec.version;
		kv.lease = rec.lease;
		/* Copy: the next lookup moves the iterator. */
		rc = fsm_kv_copy(f, &kv, &kv, true);
		if (rc != COORD_OK)
			return rc;
	}
	if (f->flags & FSM_EVENTS_PREV_KV) {
		rc = fsm_mvcc_find(f, it, key.data, key.len, rev - 1, &found,
				   &rec_rev, &rec);
		if (rc != COORD_OK)
			return rc;
		if (found && !rec.tombstone) {
			prev.value = proto_bytes_make(rec.value, rec.value_len);
			prev.create_revision = rec.create_revision;
			prev.mod_revision = rec_rev;
			prev.version = rec.version;
			prev.lease = rec.lease;
			has_prev = true;
		}
	}
	return fsm_event_add(f, tombstone ? PROTO_EVENT_DELETE : PROTO_EVENT_PUT,
			     &kv, has_prev ? &prev : NULL);
}

int fsm_events_read(struct fsm *f, uint64_t rev_start,
		    const struct proto_range *filter, size_t events_max,
		    unsigned flags, struct fsm_events *out)
{
	struct fsm_view_iter it_r, it_k;
	struct fsm_bounds b;
	uint64_t last_rev = 0;
	size_t rev_begin = 0;
	uint8_t seek[1 + 8];
	bool stopped = false;
	int rc;

	memset(out, 0, sizeof(*out));
	call_begin(f, FSM_EVENTS | (flags & FSM_EVENTS_PREV_KV));
	if (rev_start == 0)
		return COORD_EINVAL;
	if (filter != NULL) {
		rc = fsm_check_range(f, filter);
		if (rc == COORD_OK)
			rc = fsm_bounds_make(f, filter->key, filter->end,
					     filter->flags, &b);
		if (rc != COORD_OK)
			return rc;
	}
	if (rev_start < f->compact_revision)
		return COORD_ECOMPACTED;
	out->rev_next = rev_start;
	if (rev_start > f->revision)
		return COORD_OK;
	it_k.bit = NULL;
	rc = fsm_view_open(f, &it_r);
	if (rc == COORD_OK)
		rc = fsm_view_open(f, &it_k);
	if (rc != COORD_OK)
		goto out;
	seek[0] = FSM_KIND_REV;
	fsm_be64_put(seek + 1, rev_start);
	for (fsm_view_seek(&it_r, seek, sizeof(seek)); fsm_view_valid(&it_r);
	     fsm_view_next(&it_r)) {
		const uint8_t *k, *v;
		size_t k_len, v_len;
		uint64_t rev;

		k = fsm_view_key(&it_r, &k_len);
		if (k[0] != FSM_KIND_REV)
			break;
		if (k_len != 1 + 8 + 4) {
			rc = COORD_ECORRUPT;
			goto out;
		}
		rev = fsm_be64_get(k + 1);
		if (rev != last_rev) {
			if (events_max > 0 && f->n_events >= events_max) {
				out->rev_next = rev;
				stopped = true;
				break;
			}
			last_rev = rev;
			rev_begin = f->n_events;
		}
		v = fsm_view_value(&it_r, &v_len);
		if (filter != NULL && !fsm_bounds_contains(&b, v, v_len))
			continue;
		rc = history_event(f, &it_k, proto_bytes_make(v, v_len), rev,
				   fsm_be32_get(k + 9));
		if (rc != COORD_OK)
			goto out;
		/* Over the limit: this revision goes to the next call, unless
		 * it is the first one with events. */
		if (events_max > 0 && f->n_events > events_max &&
		    rev_begin > 0) {
			f->n_events = rev_begin;
			out->rev_next = rev;
			stopped = true;
			break;
		}
	}
	rc = fsm_view_status(&it_r);
	if (rc == COORD_OK && !stopped)
		out->rev_next = f->revision + 1;
out:
	fsm_view_close(&it_r);
	fsm_view_close(&it_k);
	if (rc != COORD_OK) {
		memset(out, 0, sizeof(*out));
		return rc;
	}
	out->events = f->n_events > 0 ? f->events : NULL;
	out->n_events = f->n_events;
	return COORD_OK;
}

/* The state: the records' hash sum with the counters that are not
 * records (the meta record is not hashed, as it holds the applied index,
 * which differs between replicas in equal states). */
static uint64_t hash_finish(const struct fsm *f, uint64_t sum)
{
	uint64_t h = 0xcbf29ce484222325ull;

	h = fsm_hash_mix(h, sum);
	h = fsm_hash_mix(h, f->revision);
	h = fsm_hash_mix(h, f->compact_revision);
	h = fsm_hash_mix(h, f->clock_ms);
	return fsm_hash_mix(h, f->clients);
}

int fsm_hash(struct fsm *f, uint64_t *hash)
{
	*hash = hash_finish(f, f->hash);
	return COORD_OK;
}

int fsm_hash_scan(struct fsm *f, uint64_t *hash)
{
	const struct fsm_backend_ops *ops = f->b->ops;
	struct fsm_backend_snap *snap = NULL;
	struct fsm_backend_iter *it = NULL;
	uint64_t sum = 0;
	int rc;

	rc = ops->snap_new(f->b, &snap);
	if (rc != COORD_OK)
		return rc;
	rc = ops->iter_new(f->b, snap, &it);
	if (rc != COORD_OK)
		goto out;
	for (ops->iter_seek(it, NULL, 0); ops->iter_valid(it);
	     ops->iter_next(it)) {
		size_t k_len, v_len;
		const uint8_t *k = ops->iter_key(it, &k_len);
		const uint8_t *v = ops->iter_value(it, &v_len);

		sum += fsm_hash_record(k, k_len, v, v_len);
	}
	rc = ops->iter_status(it);
	if (rc == COORD_OK)
		*hash = hash_finish(f, sum);
out:
	if (it != NULL)
		ops->iter_free(it);
	ops->snap_free(snap);
	return rc;
}
