/*
 * coordd/fsm/fence.c: fenced writes. A PUT, DELETE or TXN that carries
 * fences [(lock, token)...] is applied only if every token is the token of
 * a current hold of its lock (for a shared lock, any holder's; a fence of
 * kind FSM_QUEUE_SEM names a semaphore: any current permit's; of kind
 * FSM_QUEUE_ELECTION an election: its leader's); otherwise
 * COORD_EFENCED and nothing is written. The fences are checked in the same
 * command as the write, so no grant can come between check and write.
 */
#include <string.h>

#include "coordd/fsm/fsm_int.h"
#include "proto/errors.h"
#include "proto/limits.h"

int fsm_fence_held(struct fsm *f, uint8_t kind, struct proto_bytes name,
		   uint64_t token, bool *current, uint64_t *holder_token)
{
	struct fsm_queue q;
	int rc = fsm_queue_load(f, kind, name, &q);

	*current = false;
	*holder_token = 0;
	if (rc != COORD_OK)
		return rc;
	if (q.n_holders > 0)
		*holder_token = q.holders[0].token;
	for (size_t i = 0; i < q.n_holders; i++)
		if (token != 0 && q.holders[i].token == token)
			*current = true;
	return COORD_OK;
}

/* The queue a fence names: a lock's (kind 0 or FSM_QUEUE_LOCK), a
 * semaphore's (any permit's token holds), or an election's, whose one
 * holder is the leader; any other kind is no fence (0, refused as
 * COORD_EINVAL). */
static uint8_t fence_kind(const struct proto_fence *fc)
{
	switch (fc->kind) {
	case 0:
	case FSM_QUEUE_LOCK:
		return FSM_QUEUE_LOCK;
	case FSM_QUEUE_SEM:
	case FSM_QUEUE_ELECTION:
		return fc->kind;
	}
	return 0;
}

int fsm_cmd_fenced(struct fsm *f, const struct proto_fenced *fd,
		   struct proto_reply *reply)
{
	const struct proto_cmd *c = fd->cmd;

	if (fd->n_fences > COORD_FENCES_MAX || c == NULL)
		return COORD_EINVAL;
	for (size_t i = 0; i < fd->n_fences; i++) {
		uint64_t tok;
		bool cur;
		int rc;

		if (fd->fences[i].lock.len == 0 ||
		    fd->fences[i].lock.len > COORD_NAME_BYTES_MAX ||
		    fence_kind(&fd->fences[i]) == 0)
			return COORD_EINVAL;
		rc = fsm_fence_held(f, fence_kind(&fd->fences[i]),
				    fd->fences[i].lock, fd->fences[i].token,
				    &cur, &tok);
		if (rc != COORD_OK)
			return rc;
		if (!cur)
			return COORD_EFENCED;
	}
	switch (c->type) {
	case PROTO_CMD_PUT:
		return fsm_cmd_put(f, &c->u.put, &reply->u.put);
	case PROTO_CMD_DELETE:
		return fsm_cmd_delete(f, &c->u.del, &reply->u.del);
	case PROTO_CMD_TXN:
		return fsm_cmd_txn(f, &c->u.txn, &reply->u.txn);
	}
	return COORD_EINVAL;
}

int fsm_lock_check(struct fsm *f, struct proto_bytes name, uint64_t token,
		   bool *current, uint64_t *holder_token)
{
	/* A read between commands: the view is the backend. */
	proto_arena_reset(&f->arena);
	fsm_ov_reset(&f->ov);
	return fsm_fence_held(f, FSM_QUEUE_LOCK, name, token, current,
			      holder_token);
}
