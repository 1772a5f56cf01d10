/*
 * libcoord/job.c: job queues (coord.h, "Job queues"): enqueue; claims of
 * a session -- now, or queued with the claim pushed later, a timeout that
 * leaves the queue, a re-send after a reconnect, failure when the session
 * ends; complete and fail fenced by the claim's token; inspect and list.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "libcoord/session_int.h"

/* A request's context: the claim by (session id, local id), so that an
 * answer after the handle went finds nothing. */
struct job_ctx {
	uint64_t session;
	uint64_t job;
	bool resend;
};

static struct coord_job *job_find(struct coord_client *c,
				  const struct job_ctx *x)
{
	struct coord_session *s = lc_session_find(c, x->session);

	if (s == NULL)
		return NULL;
	for (struct coord_job *j = s->jobs; j != NULL; j = j->next)
		if (j->local_id == x->job)
			return j;
	return NULL;
}

static struct job_ctx *ctx_of(const struct coord_job *j, bool resend)
{
	struct job_ctx *x = malloc(sizeof(*x));

	if (x != NULL) {
		x->session = j->s->id;
		x->job = j->local_id;
		x->resend = resend;
	}
	return x;
}

static void job_unlink(struct coord_job *j)
{
	for (struct coord_job **pp = &j->s->jobs; *pp != NULL;
	     pp = &(*pp)->next) {
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	}
	if (j->timer != NULL)
		event_free(j->timer);
	free(j->queue);
	free(j->payload);
	free(j);
}

void lc_job_free(struct coord_job *j)
{
	if (!j->finished && j->fn != NULL) {
		j->finished = true;
		lc_dispatch_enter(j->s->c);
		j->fn(j->arg, COORD_ECANCELED, NULL);
		lc_dispatch_leave(j->s->c);
	}
	job_unlink(j);
}

/* The caller learns the outcome; a failed claim's handle goes. */
static void claim_finish(struct coord_job *j, int code)
{
	struct coord_client *c = j->s->c;
	coord_job_fn fn = j->fn;
	void *arg = j->arg;

	j->finished = true;
	if (j->timer != NULL)
		evtimer_del(j->timer);
	if (code != COORD_OK) {
		lc_errf(c, "job claim: %s", coord_strerror(code));
		job_unlink(j);
		j = NULL;
	}
	lc_dispatch_enter(c);
	fn(arg, code, j);
	lc_dispatch_leave(c);
}

static void claim_granted(struct coord_job *j, uint64_t id, uint64_t token,
			  uint64_t attempts, struct proto_bytes payload)
{
	uint8_t *p = payload.len > 0 ? malloc(payload.len) : NULL;

	if (payload.len > 0 && p == NULL) {
		claim_finish(j, COORD_ENOMEM);
		return;
	}
	if (payload.len > 0)
		memcpy(p, payload.data, payload.len);
	j->held = true;
	j->id = id;
	j->token = token;
	j->attempts = attempts > UINT32_MAX ? UINT32_MAX : (uint32_t)attempts;
	j->payload = p;
	j->payload_len = payload.len;
	claim_finish(j, COORD_OK);
}

static bool code_transient(int code)
{
	return code == COORD_ETIMEDOUT || code == COORD_ENOLEADER ||
	       code == COORD_EUNAVAILABLE || code == COORD_ECANCELED;
}

static void claim_done(struct coord_client *c, void *arg, int code,
		       const struct proto_response *r)
{
	struct job_ctx *x = arg;
	struct coord_job *j = job_find(c, x);
	bool resend = x->resend;

	free(x);
	if (j == NULL || j->finished)
		return;
	if (code == COORD_OK && r->u.job_claim.granted) {
		claim_granted(j, r->u.job_claim.job_id, r->u.job_claim.token,
			      r->u.job_claim.attempts, r->u.job_claim.job);
		return;
	}
	if (j->giving_up) {
		/* The probe after a cancel that found no wait: nothing
		 * was granted in between. */
		claim_finish(j, COORD_ETIMEDOUT);
		return;
	}
	if (code == COORD_OK)
		return;     /* queued: the claim comes as PUSH_GRANT */
	if (code == COORD_ESESSION) {
		/* Not attached to this connection yet, or gone: the
		 * ATTACH tells (lc_jobs_on_ready / lc_jobs_on_lost). */
		lc_session_reattach(j->s);
		return;
	}
	if (resend && code_transient(code))
		return;
	claim_finish(j, code);
}

static int claim_send(struct coord_job *j, bool wait, bool resend)
{
	struct proto_request rq;
	struct job_ctx *x = ctx_of(j, resend);
	int rc;

	if (x == NULL)
		return COORD_ENOMEM;
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_JOB_CLAIM;
	rq.u.job_claim.queue = proto_bytes_make(j->queue, j->queue_len);
	rq.u.job_claim.session = j->s->id;
	rq.u.job_claim.wait = wait;
	/* The library enforces the caller's timeout (and cancels). */
	rq.u.job_claim.timeout_ms = 0;
	rc = lc_call_async(j->s->c, &rq, 0, claim_done, x);
	if (rc != COORD_OK)
		free(x);
	return rc;
}

static bool claim_waiting(const struct coord_job *j)
{
	return !j->held && !j->failed && !j->finished && !j->giving_up;
}

void lc_jobs_on_ready(struct coord_session *s)
{
	/* A claim queued on the old connection asks again, so that its
	 * grant is pushed here (the server never queues a session twice,
	 * and answers with the claim if it was granted in between). */
	for (struct coord_job *j = s->jobs; j != NULL; j = j->next)
		if (claim_waiting(j))
			claim_send(j, true, true);
}

void lc_jobs_on_grant(struct coord_session *s,
		      const struct proto_push_grant *g)
{
	struct proto_request rq;

	for (struct coord_job *j = s->jobs; j != NULL; j = j->next) {
		if (j->queue_len != g->name.len ||
		    memcmp(j->queue, g->name.data, g->name.len) != 0)
			continue;
		if (j->held && j->id == g->job_id && j->token == g->token)
			return;     /* known already (a reply said so) */
		if (!j->held && !j->failed && !j->finished) {
			claim_granted(j, g->job_id, g->token, g->attempts,
				      g->job);
			return;
		}
	}
	/* A claim nobody waits for any more: give the job back at once
	 * (at the head) rather than hold it until the session ends. */
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_JOB_FAIL;
	rq.u.job_complete.queue = g->name;
	rq.u.job_complete.job_id = g->job_id;
	rq.u.job_complete.token = g->token;
	rq.u.job_complete.session = s->id;
	lc_call_async(s->c, &rq, 0, lc_done_free, NULL);
}

void lc_jobs_on_lost(struct coord_session *s, int code)
{
	struct coord_client *c = s->c;
	uint64_t id = s->id;
	struct coord_job *j;

	/* Each claim still running fails; its callback may change the
	 * list, or close the session: look again from the start. */
	for (;;) {
		if ((s = lc_session_find(c, id)) == NULL)
			return;
		for (j = s->jobs; j != NULL; j = j->next)
			if (!j->finished)
				break;
		if (j == NULL)
			return;
		claim_finish(j, code == COORD_ETIMEDOUT ? COORD_ESESSION_EXPIRED
							: code);
	}
}

static void cancel_done(struct coord_client *c, void *arg, int code,
			const struct proto_response *r)
{
	struct coord_job *j = job_find(c, arg);

	(void)r;
	free(arg);
	if (j == NULL || j->finished)
		return;
	/* No wait to cancel: the claim may have been granted in between;
	 * a claim without wait answers with it (then it is returned). */
	if (code == COORD_ENOJOB && claim_send(j, false, false) == COORD_OK)
		return;
	claim_finish(j, COORD_ETIMEDOUT);
}

/* The timeout passed while queued: leave the queue (JOB_FAIL of job 0). */
static void claim_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct coord_job *j = arg;
	struct proto_request rq;
	struct job_ctx *x;

	(void)fd;
	(void)what;
	if (j->finished || j->held)
		return;
	j->giving_up = true;
	x = ctx_of(j, false);
	if (x != NULL) {
		memset(&rq, 0, sizeof(rq));
		rq.kind = PROTO_JOB_FAIL;
		rq.u.job_complete.queue = proto_bytes_make(j->queue,
							   j->queue_len);
		rq.u.job_complete.session = j->s->id;
		if (lc_call_async(j->s->c, &rq, 0, cancel_done, x) == COORD_OK)
			return;
		free(x);
	}
	claim_finish(j, COORD_ETIMEDOUT);
}

coord_err_t coord_job_claim_async(struct coord_session *s, const void *queue,
				  size_t queue_len,
				  const struct coord_job_claim_opts *opts,
				  coord_job_fn fn, void *arg)
{
	static const struct coord_job_claim_opts dflt = { .wait = true };
	struct coord_client *c = s->c;
	struct coord_job *j;
	int rc;

	if (opts == NULL)
		opts = &dflt;
	rc = lc_wait_check(s, queue_len, "a queue name");
	if (rc != COORD_OK)
		return rc;
	j = calloc(1, sizeof(*j));
	if (j == NULL || (j->queue = malloc(queue_len)) == NULL) {
		free(j);
		return COORD_ENOMEM;
	}
	memcpy(j->queue, queue, queue_len);
	j->queue_len = queue_len;
	j->s = s;
	j->local_id = ++s->next_lock_id;
	j->fn = fn;
	j->arg = arg;
	j->next = s->jobs;
	s->jobs = j;
	if (lc_wait_timer(c, opts->wait ? opts->timeout_ms : 0,
			  claim_timeout_cb, j, &j->timer) != COORD_OK) {
		j->fn = NULL;
		lc_job_free(j);
		return COORD_ENOMEM;
	}
	rc = claim_send(j, opts->wait, false);
	if (rc != COORD_OK) {
		j->fn = NULL;       /* not called: the call fails */
		lc_job_free(j);
	}
	return rc;
}

struct claim_wait {
	bool done;
	int code;
	struct coord_job *j;
};

static void claim_wait_cb(void *arg, coord_err_t code, struct coord_job *j)
{
	struct claim_wait *w = arg;

	w->done = true;
	w->code = code;
	w->j = j;
}

coord_err_t coord_job_claim(struct coord_session *s, const void *queue,
			    size_t queue_len,
			    const struct coord_job_claim_opts *opts,
			    struct coord_job **out)
{
	struct claim_wait w = { false, COORD_OK, NULL };
	struct coord_client *c = s->c;
	int rc;

	*out = NULL;
	if (lc_in_callback(c)) {
		lc_errf(c, "a synchronous call from inside a libcoord callback");
		return COORD_EINVAL;
	}
	rc = coord_job_claim_async(s, queue, queue_len, opts, claim_wait_cb,
				   &w);
	if (rc != COORD_OK)
		return rc;
	if (lc_run_until(c, &w.done, 0) < 0)
		return w.done ? w.code : COORD_ECANCELED;
	*out = w.j;
	return w.code;
}

uint64_t coord_job_id(const struct coord_job *j)
{
	return j->id;
}

uint64_t coord_job_token(const struct coord_job *j)
{
	return j->token;
}

uint32_t coord_job_attempts(const struct coord_job *j)
{
	return j->attempts;
}

const uint8_t *coord_job_payload(const struct coord_job *j, size_t *len)
{
	*len = j->payload_len;
	return j->payload;
}

void coord_job_free(struct coord_job *j)
{
	if (j != NULL)
		lc_job_free(j);
}

/* JOB_COMPLETE or JOB_FAIL of claim j, synchronously; frees j. */
static void fail_done(struct coord_client *c, void *arg, int code,
		      const struct proto_response *r)
{
	(void)c;
	if (code == COORD_OK && arg != NULL)
		*(bool *)arg = r->u.job_fail.dead;
}

static int done_call(struct coord_session *s, const void *queue,
		     size_t queue_len, uint64_t job_id, uint64_t token,
		     uint32_t kind, struct proto_bytes result, bool to_tail,
		     bool *dead)
{
	struct coord_client *c = s->c;
	struct proto_request rq;
	int rc;

	memset(&rq, 0, sizeof(rq));
	rq.kind = kind;
	rq.u.job_complete.queue = proto_bytes_make(queue, queue_len);
	rq.u.job_complete.job_id = job_id;
	rq.u.job_complete.token = token;
	rq.u.job_complete.result = result;
	rq.u.job_complete.session = s->id;
	rq.u.job_complete.to_tail = to_tail;
	if (job_id == 0) {
		lc_errf(c, "no job id");
		return COORD_EINVAL;
	}
	rc = lc_call(c, &rq, kind == PROTO_JOB_FAIL ? fail_done : lc_done_free,
		     kind == PROTO_JOB_FAIL ? (void *)dead : NULL);
	if (rc != COORD_OK)
		lc_errf(c, "job %" PRIu64 " (claim token %" PRIu64 "): %s",
			job_id, token, coord_strerror(rc));
	return rc;
}

static int job_finish_call(struct coord_job *j, uint32_t kind,
			   struct proto_bytes result, bool to_tail,
			   bool *dead)
{
	int rc = done_call(j->s, j->queue, j->queue_len, j->held ? j->id : 0,
			   j->token, kind, result, to_tail, dead);

	lc_job_free(j);
	return rc;
}

coord_err_t coord_job_complete_by(struct coord_session *s, const void *queue,
				  size_t queue_len, uint64_t job_id,
				  uint64_t token, const void *result,
				  size_t result_len)
{
	return done_call(s, queue, queue_len, job_id, token,
			 PROTO_JOB_COMPLETE,
			 proto_bytes_make(result, result_len), false, NULL);
}

coord_err_t coord_job_fail_by(struct coord_session *s, const void *queue,
			      size_t queue_len, uint64_t job_id,
			      uint64_t token, bool to_tail, bool *dead)
{
	bool d = false;
	int rc = done_call(s, queue, queue_len, job_id, token, PROTO_JOB_FAIL,
			   proto_bytes_make(NULL, 0), to_tail, &d);

	if (dead != NULL)
		*dead = d;
	return rc;
}

coord_err_t coord_job_complete(struct coord_job *j, const void *result,
			       size_t result_len)
{
	return job_finish_call(j, PROTO_JOB_COMPLETE,
			       proto_bytes_make(result, result_len), false,
			       NULL);
}

coord_err_t coord_job_fail(struct coord_job *j, bool to_tail, bool *dead)
{
	bool d = false;
	int rc = job_finish_call(j, PROTO_JOB_FAIL, proto_bytes_make(NULL, 0),
				 to_tail, &d);

	if (dead != NULL)
		*dead = d;
	return rc;
}

/*
 * ENQUEUE, INSPECT, LIST.
 */

struct enqueue_result {
	uint64_t id;
	bool existed;
};

static void enqueue_done(struct coord_client *c, void *arg, int code,
			 const struct proto_response *r)
{
	struct enqueue_result *res = arg;

	(void)c;
	if (code == COORD_OK) {
		res->id = r->u.job_enqueue.job_id;
		res->existed = r->u.job_enqueue.existed;
	}
}

coord_err_t coord_job_enqueue(struct coord_client *c, const void *queue,
			      size_t queue_len, const void *payload,
			      size_t payload_len,
			      const struct coord_job_enqueue_opts *opts,
			      uint64_t *job_id, bool *existed)
{
	struct enqueue_result res = { 0, false };
	struct proto_request rq;
	int rc;

	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_JOB_ENQUEUE;
	rq.u.job_enqueue.queue = proto_bytes_make(queue, queue_len);
	rq.u.job_enqueue.job = proto_bytes_make(payload, payload_len);
	if (opts != NULL) {
		rq.u.job_enqueue.unique_key =
			proto_bytes_make(opts->unique_key, opts->unique_key_len);
		rq.u.job_enqueue.max_attempts = opts->max_attempts;
	}
	rc = lc_call(c, &rq, enqueue_done, &res);
	if (job_id != NULL)
		*job_id = res.id;
	if (existed != NULL)
		*existed = res.existed;
	return rc;
}

static int bytes_dup(struct proto_bytes b, uint8_t **p, size_t *len)
{
	*len = b.len;
	*p = malloc(b.len + 1);
	if (*p == NULL)
		return COORD_ENOMEM;
	if (b.len > 0)
		memcpy(*p, b.data, b.len);
	(*p)[b.len] = 0;
	return COORD_OK;
}

void coord_job_info_free(struct coord_job_info *ji)
{
	if (ji == NULL)
		return;
	free(ji->payload);
	free(ji->result);
	free(ji->unique_key);
	free(ji);
}

struct read_result {
	int code;
	struct coord_job_info *ji;
	struct coord_job_list *jl;
};

static void inspect_done(struct coord_client *c, void *arg, int code,
			 const struct proto_response *r)
{
	struct read_result *res = arg;
	const struct proto_job_inspect_reply *in = &r->u.job_inspect;
	struct coord_job_info *ji;

	(void)c;
	if (code != COORD_OK)
		return;
	ji = calloc(1, sizeof(*ji));
	res->code = ji == NULL ? COORD_ENOMEM : COORD_OK;
	if (ji == NULL)
		return;
	ji->state = (enum coord_job_state)in->state;
	ji->attempts = (uint32_t)in->attempts;
	ji->max_attempts = (uint32_t)in->max_attempts;
	ji->session = in->session;
	ji->token = in->token;
	if (bytes_dup(in->job, &ji->payload, &ji->payload_len) != COORD_OK ||
	    bytes_dup(in->result, &ji->result, &ji->result_len) != COORD_OK ||
	    bytes_dup(in->unique_key, &ji->unique_key,
		      &ji->unique_key_len) != COORD_OK)
		res->code = COORD_ENOMEM;
	res->ji = ji;
}

coord_err_t coord_job_inspect(struct coord_client *c, const void *queue,
			      size_t queue_len, uint64_t job_id,
			      struct coord_job_info **out)
{
	struct read_result res = { COORD_OK, NULL, NULL };
	struct proto_request rq;
	int rc;

	*out = NULL;
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_JOB_INSPECT;
	rq.u.job_inspect.queue = proto_bytes_make(queue, queue_len);
	rq.u.job_inspect.job_id = job_id;
	rc = lc_call(c, &rq, inspect_done, &res);
	if (rc == COORD_OK)
		rc = res.code;
	if (rc != COORD_OK) {
		coord_job_info_free(res.ji);
		return rc;
	}
	res.ji->id = job_id;
	*out = res.ji;
	return COORD_OK;
}

void coord_job_list_free(struct coord_job_list *l)
{
	if (l == NULL)
		return;
	free(l->jobs);
	free(l);
}

static void list_done(struct coord_client *c, void *arg, int code,
		      const struct proto_response *r)
{
	struct read_result *res = arg;
	const struct proto_job_list_reply *in = &r->u.job_list;
	struct coord_job_list *l;

	(void)c;
	if (code != COORD_OK)
		return;
	l = calloc(1, sizeof(*l));
	if (l != NULL)
		l->jobs = calloc(in->jobs.n + 1, sizeof(*l->jobs));
	if (l == NULL || l->jobs == NULL) {
		free(l);
		res->code = COORD_ENOMEM;
		return;
	}
	l->pending = in->pending;
	l->claimed = in->claimed;
	l->dead = in->dead;
	l->done = in->done;
	l->next = in->next;
	l->n_jobs = in->jobs.n;
	for (size_t i = 0; i < in->jobs.n; i++) {
		l->jobs[i].id = in->jobs.v[i].job_id;
		l->jobs[i].attempts = (uint32_t)in->jobs.v[i].attempts;
		l->jobs[i].session = in->jobs.v[i].session;
		l->jobs[i].token = in->jobs.v[i].token;
	}
	res->jl = l;
}

coord_err_t coord_job_list(struct coord_client *c, const void *queue,
			   size_t queue_len, enum coord_job_state state,
			   uint64_t cursor, unsigned limit,
			   struct coord_job_list **out)
{
	struct read_result res = { COORD_OK, NULL, NULL };
	struct proto_request rq;
	int rc;

	*out = NULL;
	if (state < COORD_JOB_PENDING || state > COORD_JOB_DEAD ||
	    limit > COORD_JOB_LIST_MAX) {
		lc_errf(c, "a job state 1..4 and a limit up to %d",
			COORD_JOB_LIST_MAX);
		return COORD_EINVAL;
	}
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_JOB_LIST;
	rq.u.job_list.queue = proto_bytes_make(queue, queue_len);
	rq.u.job_list.state = (uint8_t)state;
	rq.u.job_list.cursor = cursor;
	rq.u.job_list.limit = limit;
	rc = lc_call(c, &rq, list_done, &res);
	if (rc == COORD_OK)
		rc = res.code;
	if (rc != COORD_OK) {
		coord_job_list_free(res.jl);
		return rc;
	}
	for (size_t i = 0; i < res.jl->n_jobs; i++)
		res.jl->jobs[i].state = state;
	*out = res.jl;
	return COORD_OK;
}
