/*
 * coordd/api/sem.c: semaphores -- SEM_ACQUIRE (now, or queued with the
 * grant pushed later as PUSH_GRANT). What N permits mean is the fsm's
 * (coordd/fsm/sem.c); everything between the request and the grant is
 * the locks' machinery of api/lock.c (waits per session, grants withheld
 * from a session overdue on this node's clock, QUEUE_KICK for deadlines),
 * which also serves SEM_RELEASE and SEM_STATUS.
 */
#include <string.h>

#include "coordd/api/api.h"
#include "proto/errors.h"

void sem_acquire(struct client *cl, const struct proto_request *rq)
{
	const struct proto_sem_acquire *a = &rq->u.sem_acquire;
	struct proto_cmd cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.type = PROTO_CMD_SEM_ACQUIRE;
	cmd.u.sem_acquire.name = a->name;
	cmd.u.sem_acquire.session = a->session;
	cmd.u.sem_acquire.permits = a->permits;
	cmd.u.sem_acquire.wait = a->wait;
	cmd.u.sem_acquire.deadline_ms =
		lock_deadline_ms(cl->net, a->wait, a->timeout_ms);
	lock_propose_acquire(cl, rq, &cmd, a->session, a->name);
}
