/*
 * tests/unit/test_raft_snapshot.c: log compaction and snapshots (Raft 7):
 * raft_compact(), RAFT_MSG_SNAPSHOT, installation on the follower,
 * raft_report_snapshot().
 */
#include <stdio.h>
#include <string.h>

#include "tests/unit/test_raft.h"

/* Leader 1 of 3; node 3 misses s0..s9; the leader compacts to its applied
 * index. Links stay cut; returns the snapshot index. */
static uint64_t t_behind(struct harness *h)
{
	char buf[16];
	uint64_t applied;

	h_init(h, 3);
	h_bootstrap(h, 3);
	h_elect(h, 1);
	h_isolate(h, 3);
	for (int i = 0; i < 10; i++) {
		snprintf(buf, sizeof(buf), "s%d", i);
		h_commit(h, 1, buf);
	}
	h_settle(h);
	applied = h_node(h, 1)->applied;
	ck_assert_int_eq(h_compact(h, 1, applied), 0);
	return applied;
}

struct t_snap_count {
	unsigned sent;
};

static void t_count_snapshots(void *ctx, uint64_t id,
			      const struct raft_ready *rd)
{
	struct t_snap_count *c = ctx;

	(void)id;
	for (size_t i = 0; i < rd->n_messages; i++)
		if (rd->messages[i].type == RAFT_MSG_SNAPSHOT)
			c->sent++;
}

START_TEST(compact_drops_entries_up_to_index)
{
	struct harness h;
	struct raft *r;
	const struct raft_snapshot_meta *s;
	uint64_t idx, t;

	h_init(&h, 3);
	h_bootstrap(&h, 3);
	h_elect(&h, 1);
	h_commit(&h, 1, "a");
	h_commit(&h, 1, "b");
	idx = h_commit(&h, 1, "c");
	r = h_raft(&h, 1);
	ck_assert_int_eq(h_compact(&h, 1, idx - 1), 0);
	ck_assert_uint_eq(raft_first_index(r), idx);
	ck_assert_uint_eq(raft_last_index(r), idx);
	ck_assert_ptr_null(raft_log_entry(r, idx - 1));
	ck_assert_ptr_null(raft_log_entry(r, 1));
	ck_assert_ptr_nonnull(raft_log_entry(r, idx));
	ck_assert(raft_log_term(r, idx - 1, &t));
	ck_assert_uint_eq(t, raft_term(r));
	ck_assert(!raft_log_term(r, idx - 2, &t));
	ck_assert(!raft_log_term(r, idx + 1, &t));
	s = raft_snapshot(r);
	ck_assert_uint_eq(s->index, idx - 1);
	ck_assert_uint_eq(s->term, raft_term(r));
	ck_assert_uint_eq(s->conf.n_voters, 3);
	for (uint64_t id = 1; id <= 3; id++)
		ck_assert(raft_conf_is_voter(&s->conf, id));
	/* The node goes on. */
	h_commit(&h, 1, "d");
	h_close(&h);
}
END_TEST

START_TEST(compact_rejects_index_above_applied_or_below_snapshot)
{
	struct harness h;
	struct raft *r;
	uint64_t applied;

	h_init(&h, 3);
	h_bootstrap(&h, 3);
	h_elect(&h, 1);
	h_commit(&h, 1, "a");
	h_commit(&h, 1, "b");
	r = h_raft(&h, 1);
	applied = raft_applied_index(r);
	ck_assert_int_eq(raft_compact(r, applied + 1), RAFT_EINVAL);
	ck_assert_uint_eq(raft_first_index(r), 1);
	/* Proposed but not applied: still too high. */
	h_propose(&h, 1, "c");
	ck_assert_int_eq(raft_compact(r, applied + 1), RAFT_EINVAL);
	ck_assert_int_eq(h_compact(&h, 1, applied), 0);
	ck_assert_int_eq(raft_compact(r, applied - 1), RAFT_EINVAL);
	/* Compacting again at the same index is harmless. */
	ck_assert_int_eq(raft_compact(r, applied), 0);
	ck_assert_uint_eq(raft_first_index(r), applied + 1);
	h_close(&h);
}
END_TEST

/* Raft 7: a follower that needs compacted entries receives the snapshot;
 * the leader's application attaches the data. */
START_TEST(leader_sends_snapshot_to_follower_behind_compacted_log)
{
	struct harness h;
	struct t_snap_count c = { 0 };
	uint64_t si = t_behind(&h);
	struct raft *f;

	h.on_ready = t_count_snapshots;
	h.on_ready_ctx = &c;
	h_heal(&h);
	h_settle(&h);
	h_settle(&h);
	f = h_raft(&h, 3);
	ck_assert_uint_eq(c.sent, 1);
	ck_assert_uint_eq(h_node(&h, 3)->n_installed, 1);
	ck_assert_uint_eq(raft_snapshot(f)->index, si);
	ck_assert_uint_eq(raft_first_index(f), si + 1);
	ck_assert_uint_eq(raft_commit_index(f), raft_commit_index(h_raft(&h, 1)));
	/* Same state machine as the leader, and it follows new entries. */
	ck_assert_uint_eq(h_node(&h, 3)->sm_hash, h_node(&h, 1)->sm_hash);
	h_commit(&h, 1, "after");
	h_settle(&h);
	ck_assert(h_applied_data(h_node(&h, 3), "after"));
	ck_assert_uint_eq(h_node(&h, 3)->sm_hash, h_node(&h, 1)->sm_hash);
	h_check_safety(&h);
	h_close(&h);
}
END_TEST

START_TEST(follower_installs_snapshot)
{
	struct harness h;
	uint64_t si = t_behind(&h);
	struct raft *f;
	struct raft_message m;
	struct raft_ready rd;
	uint8_t data[H_SNAP_LEN], orig[H_SNAP_LEN];
	long i;
	bool acked = false;

	h_heal(&h);
	/* Heartbeats until the leader decides to send the snapshot. */
	for (int t = 0; t < 10 && h_find(&h, RAFT_MSG_SNAPSHOT, 1, 3) < 0;
	     t++) {
		h_tick(&h, 1, 1);
		h_deliver_types(&h, ~H_BIT(RAFT_MSG_SNAPSHOT));
	}
	i = h_find(&h, RAFT_MSG_SNAPSHOT, 1, 3);
	ck_assert_int_ge(i, 0);
	m = h.queue[i].m;
	ck_assert_uint_eq(m.snapshot.index, si);
	ck_assert_uint_eq(m.snapshot_len, H_SNAP_LEN);
	memcpy(data, m.snapshot_data, H_SNAP_LEN);
	memcpy(orig, data, H_SNAP_LEN);
	m.snapshot_data = data;
	m.entries = NULL;
	f = h_raft(&h, 3);
	ck_assert_int_eq(raft_step(f, &m), 0);
	/* The core keeps its own copy of the data. */
	memset(data, 0, sizeof(data));
	raft_ready(f, &rd);
	ck_assert_ptr_nonnull(rd.snapshot);
	ck_assert_uint_eq(rd.snapshot->index, si);
	ck_assert_uint_eq(rd.snapshot->term, raft_term(h_raft(&h, 1)));
	ck_assert_uint_eq(rd.snapshot->conf.n_voters, 3);
	ck_assert_uint_eq(rd.snapshot_len, H_SNAP_LEN);
	ck_assert_ptr_ne(rd.snapshot_data, data);
	ck_assert_mem_eq(rd.snapshot_data, orig, H_SNAP_LEN);
	ck_assert(rd.hard_state_changed);
	ck_assert_uint_eq(rd.hard_state.commit, si);
	ck_assert_uint_eq(rd.n_committed, 0);
	for (size_t k = 0; k < rd.n_messages; k++)
		if (rd.messages[k].type == RAFT_MSG_APPEND_RESP) {
			ck_assert(!rd.messages[k].reject);
			ck_assert_uint_eq(rd.messages[k].index, si);
			acked = true;
		}
	ck_assert(acked);
	h_ready_process(&h, 3, &rd);
	/* The log restarts after the snapshot. */
	ck_assert_uint_eq(raft_commit_index(f), si);
	ck_assert_uint_eq(raft_applied_index(f), si);
	ck_assert_uint_eq(raft_first_index(f), si + 1);
	ck_assert_uint_eq(raft_last_index(f), si);
	ck_assert_ptr_null(raft_log_entry(f, si));
	ck_assert_uint_eq(raft_conf(f)->n_voters, 3);
	ck_assert_uint_eq(h_node(&h, 3)->sm_hash, h_node(&h, 1)->sm_hash);
	/* The queued copy is the same message: delivered late, ignored. */
	h_deliver_all(&h);
	ck_assert_uint_eq(h_node(&h, 3)->n_installed, 1);
	h_settle(&h);
	h_close(&h);
}
END_TEST

static struct raft_message t_snapshot_msg(struct harness *h, uint64_t from,
					  uint64_t to, uint64_t term,
					  uint64_t index, uint64_t sterm,
					  uint8_t data[H_SNAP_LEN])
{
	struct raft_message m = h_msg_make(RAFT_MSG_SNAPSHOT, from, to, term);

	m.snapshot.index = index;
	m.snapshot.term = sterm;
	m.snapshot.conf.n_voters = 3;
	for (uint32_t k = 0; k < 3; k++)
		m.snapshot.conf.voters[k] = k + 1;
	h_snap_encode(data, index, 0x1234, index);
	m.snapshot_data = data;
	m.snapshot_len = H_SNAP_LEN;
	(void)h;
	return m;
}

START_TEST(follower_ignores_snapshot_older_than_commit)
{
	struct harness h;
	uint8_t data[H_SNAP_LEN];
	struct raft_message m;
	struct raft *f;
	uint64_t commit, last, t;

	h_init(&h, 3);
	h_bootstrap(&h, 3);
	h_elect(&h, 1);
	for (int i = 0; i < 5; i++)
		h_commit(&h, 1, "x");
	h_settle(&h);
	f = h_raft(&h, 2);
	commit = raft_commit_index(f);
	last = raft_last_index(f);
	ck_assert(raft_log_term(f, commit - 2, &t));
	m = t_snapshot_msg(&h, 1, 2, raft_term(f), commit - 2, t, data);
	ck_assert_int_eq(h_step(&h, &m), 0);
	ck_assert_uint_eq(h_node(&h, 2)->n_installed, 0);
	ck_assert_uint_eq(raft_first_index(f), 1);
	ck_assert_uint_eq(raft_last_index(f), last);
	ck_assert_uint_eq(raft_commit_index(f), commit);
	ck_assert_uint_eq(raft_snapshot(f)->index, 0);
	h_close(&h);
}
END_TEST

START_TEST(snapshot_matching_log_fast_forwards_commit)
{
	struct harness h;
	const uint64_t terms[] = { 2, 2, 2, 2, 2, 2, 2 };   /* 4..10 */
	uint8_t data[H_SNAP_LEN];
	struct raft_message m;
	struct raft *f;
	long i;

	h_init(&h, 3);
	h_preload(&h, 2, 3, terms, 7, 2, 0);
	h_start(&h, 2);
	h_ready_all(&h);
	f = h_raft(&h, 2);
	ck_assert_uint_eq(raft_commit_index(f), 3);
	m = t_snapshot_msg(&h, 1, 2, 2, 8, 2, data);
	ck_assert_int_eq(h_step(&h, &m), 0);
	ck_assert_uint_eq(h_node(&h, 2)->n_installed, 0);
	ck_assert_uint_eq(raft_commit_index(f), 8);
	ck_assert_uint_eq(raft_last_index(f), 10);
	ck_assert_uint_eq(raft_first_index(f), 1);
	/* Entries up to 8 are applied from the log. */
	ck_assert_uint_eq(h_node(&h, 2)->applied, 8);
	ck_assert_ptr_nonnull(h_applied_at(h_node(&h, 2), 8));
	i = h_find(&h, RAFT_MSG_APPEND_RESP, 2, 1);
	ck_assert_int_ge(i, 0);
	ck_assert(!h.queue[i].m.reject);
	ck_assert_uint_ge(h.queue[i].m.index, 8);
	h_close(&h);
}
END_TEST

/* A snapshot whose index is in the log with another term replaces the
 * whole log. */
START_TEST(snapshot_conflicting_with_log_replaces_it)
{
	struct harness h;
	const uint64_t terms[] = { 2, 2, 2, 2, 2, 2, 2 };   /* 4..10 */
	uint8_t data[H_SNAP_LEN];
	struct raft_message m;
	struct raft *f;

	h_init(&h, 3);
	h_preload(&h, 2, 3, terms, 7, 2, 0);
	h_start(&h, 2);
	h_ready_all(&h);
	f = h_raft(&h, 2);
	m = t_snapshot_msg(&h, 1, 2, 3, 6, 3, data);
	ck_assert_int_eq(h_step(&h, &m), 0);
	ck_assert_uint_eq(h_node(&h, 2)->n_installed, 1);
	ck_assert_uint_eq(raft_commit_index(f), 6);
	ck_assert_uint_eq(raft_first_index(f), 7);
	ck_assert_uint_eq(raft_last_index(f), 6);
	ck_assert_uint_eq(raft_term(f), 3);
	ck_assert_uint_eq(h_log_last(h_node(&h, 2)), 6);
	h_close(&h);
}
END_TEST

static bool t_drop_snapshots(void *ctx, const struct raft_message *m)
{
	bool *on = ctx;

	return *on && m->type == RAFT_MSG_SNAPSHOT;
}

START_TEST(failed_snapshot_resent_after_report)
{
	struct harness h;
	struct t_snap_count c = { 0 };
	bool drop = true;

	t_behind(&h);
	h.on_ready = t_count_snapshots;
	h.on_ready_ctx = &c;
	h.filter = t_drop_snapshots;
	h.filter_ctx = &drop;
	h_heal(&h);
	for (int t = 0; t < 8; t++) {
		h_tick(&h, 1, 1);
		h_deliver_all(&h);
	}
	/* One snapshot in flight: nothing else is sent meanwhile. */
	ck_assert_uint_eq(c.sent, 1);
	ck_assert(raft_is_leader(h_raft(&h, 1)));
	raft_report_snapshot(h_raft(&h, 1), 3, false);
	drop = false;
	for (int t = 0; t < 3; t++) {
		h_tick(&h, 1, 1);
		h_deliver_all(&h);
	}
	ck_assert_uint_eq(c.sent, 2);
	ck_assert_uint_eq(h_node(&h, 3)->n_installed, 1);
	h_settle(&h);
	ck_assert_uint_eq(raft_commit_index(h_raft(&h, 3)),
			  raft_commit_index(h_raft(&h, 1)));
	h_close(&h);
}
END_TEST

START_TEST(unanswered_snapshot_is_retried)
{
	struct harness h;
	struct t_snap_count c = { 0 };
	bool drop = true;

	t_behind(&h);
	h.on_ready = t_count_snapshots;
	h.on_ready_ctx = &c;
	h.filter = t_drop_snapshots;
	h.filter_ctx = &drop;
	h_heal(&h);
	for (int t = 0; t < 2 * 10 + 5; t++) {
		h_tick(&h, 1, 1);
		h_deliver_all(&h);
	}
	ck_assert_uint_ge(c.sent, 2);
	ck_assert_uint_le(c.sent, 3);
	drop = false;
	for (int t = 0; t < 2 * 10 + 5 && h_node(&h, 3)->n_installed == 0;
	     t++) {
		h_tick(&h, 1, 1);
		h_deliver_all(&h);
	}
	ck_assert_uint_eq(h_node(&h, 3)->n_installed, 1);
	h_close(&h);
}
END_TEST

struct t_drop_resp {
	struct harness *h;
	bool done;
};

/* Drops the acknowledgement of the installed snapshot. */
static bool t_drop_snapshot_ack(void *ctx, const struct raft_message *m)
{
	struct t_drop_resp *d = ctx;

	if (d->done || m->type != RAFT_MSG_APPEND_RESP || m->from != 3 ||
	    h_node(d->h, 3)->n_installed == 0)
		return false;
	d->done = true;
	return true;
}

START_TEST(reported_snapshot_resumes_replication)
{
	struct harness h;
	struct t_snap_count c = { 0 };
	struct t_drop_resp d = { &h, false };
	uint64_t si = t_behind(&h);

	h.on_ready = t_count_snapshots;
	h.on_ready_ctx = &c;
	h.filter = t_drop_snapshot_ack;
	h.filter_ctx = &d;
	h_heal(&h);
	for (int t = 0; t < 5 && !d.done; t++) {
		h_tick(&h, 1, 1);
		h_deliver_all(&h);
	}
	ck_assert(d.done);
	ck_assert_uint_eq(h_node(&h, 3)->n_installed, 1);
	h_commit(&h, 1, "more");
	raft_report_snapshot(h_raft(&h, 1), 3, true);
	h_settle(&h);
	h_settle(&h);
	ck_assert_uint_eq(c.sent, 1);
	ck_assert(h_applied_data(h_node(&h, 3), "more"));
	ck_assert_uint_eq(raft_snapshot(h_raft(&h, 3))->index, si);
	h_close(&h);
}
END_TEST

/* A follower behind the leader but not behind its snapshot gets entries. */
START_TEST(follower_above_snapshot_gets_entries)
{
	struct harness h;
	struct t_snap_count c = { 0 };
	uint64_t at;
	char buf[16];

	h_init(&h, 3);
	h_bootstrap(&h, 3);
	h_elect(&h, 1);
	h_commit(&h, 1, "a");
	h_settle(&h);
	at = raft_last_index(h_raft(&h, 3));
	h_isolate(&h, 3);
	for (int i = 0; i < 5; i++) {
		snprintf(buf, sizeof(buf), "b%d", i);
		h_commit(&h, 1, buf);
	}
	ck_assert_int_eq(h_compact(&h, 1, at), 0);
	h.on_ready = t_count_snapshots;
	h.on_ready_ctx = &c;
	h_heal(&h);
	h_settle(&h);
	h_settle(&h);
	ck_assert_uint_eq(c.sent, 0);
	ck_assert(h_applied_data(h_node(&h, 3), "b4"));
	h_close(&h);
}
END_TEST

/* APPENDs queued before a compaction that removed their entries are not
 * sent; the follower gets the snapshot instead. */
START_TEST(compaction_after_append_queued_sends_snapshot)
{
	struct harness h;
	struct raft *l;
	long i;
	char buf[16];

	h_init(&h, 3);
	h_bootstrap(&h, 3);
	h_elect(&h, 1);
	h_isolate(&h, 3);
	for (int k = 0; k < 5; k++) {
		snprintf(buf, sizeof(buf), "c%d", k);
		h_commit(&h, 1, buf);
	}
	h_heal(&h);
	l = h_raft(&h, 1);
	/* Answers from 3 until one makes the leader queue an APPEND. */
	for (int t = 0; t < 10; t++) {
		h_drop(&h, 0, 0, 0);
		h_tick(&h, 1, 1);
		h_deliver_types(&h, H_BIT(RAFT_MSG_HEARTBEAT));
		i = h_find(&h, RAFT_MSG_HEARTBEAT_RESP, 3, 1);
		if (i < 0)
			continue;
		ck_assert_int_eq(raft_step(l, &h.queue[i].m), 0);
		h_remove_at(&h, (size_t)i);
		if (raft_has_ready(l))
			break;
	}
	ck_assert_int_eq(h_compact(&h, 1, h_node(&h, 1)->applied), 0);
	h_ready_all(&h);
	for (size_t k = 0; k < h.n_queue; k++) {
		const struct raft_message *m = &h.queue[k].m;

		if (m->type == RAFT_MSG_APPEND && m->n_entries > 0)
			ck_assert_uint_ge(m->index, raft_snapshot(l)->index);
	}
	for (int t = 0; t < 30 && h_node(&h, 3)->n_installed == 0; t++) {
		h_tick(&h, 1, 1);
		h_deliver_all(&h);
	}
	ck_assert_uint_eq(h_node(&h, 3)->n_installed, 1);
	h_settle(&h);
	ck_assert(h_applied_data(h_node(&h, 1), "c4"));
	ck_assert_uint_eq(h_node(&h, 3)->sm_hash, h_node(&h, 1)->sm_hash);
	h_close(&h);
}
END_TEST

/* A SNAPSHOT queued before a raft_compact() that moved the snapshot on
 * leaves in the next Ready naming the new snapshot, whose data is the only
 * one the application still has (else the follower would install the new
 * data under the old index and apply entries twice). */
START_TEST(snapshot_queued_before_compaction_names_the_new_one)
{
	struct harness h;
	struct raft *l;
	struct raft_ready rd;
	uint64_t applied;
	size_t n_snap = 0;
	long i;

	t_behind(&h);
	l = h_raft(&h, 1);
	h_commit(&h, 1, "late1");
	h_commit(&h, 1, "late2");
	applied = h_node(&h, 1)->applied;
	ck_assert_uint_gt(applied, raft_snapshot(l)->index);
	h_heal(&h);
	/* 3 answers a heartbeat, rejects the APPEND that follows, and its
	 * rejection makes the leader queue the snapshot it has now. */
	for (int t = 0; t < 20; t++) {
		h_drop(&h, 0, 0, 0);
		h_tick(&h, 1, 1);
		h_deliver_types(&h, H_BIT(RAFT_MSG_HEARTBEAT));
		i = h_find(&h, RAFT_MSG_HEARTBEAT_RESP, 3, 1);
		if (i < 0)
			continue;
		h_deliver_at(&h, (size_t)i);
		while (h_deliver_first(&h, RAFT_MSG_APPEND, 1, 3))
			;
		i = h_find(&h, RAFT_MSG_APPEND_RESP, 3, 1);
		if (i < 0)
			continue;
		ck_assert(h.queue[i].m.reject);
		ck_assert_int_eq(raft_step(l, &h.queue[i].m), 0);
		h_remove_at(&h, (size_t)i);
		break;
	}
	h_drop(&h, 0, 0, 0);
	/* Compaction moves the snapshot on before the Ready is taken. */
	ck_assert_int_eq(h_compact(&h, 1, applied), 0);
	raft_ready(l, &rd);
	for (size_t k = 0; k < rd.n_messages; k++) {
		if (rd.messages[k].type != RAFT_MSG_SNAPSHOT)
			continue;
		n_snap++;
		ck_assert_uint_eq(rd.messages[k].snapshot.index, applied);
		ck_assert_uint_eq(rd.messages[k].snapshot.term,
				  raft_snapshot(l)->term);
	}
	ck_assert_uint_eq(n_snap, 1);
	h_ready_process(&h, 1, &rd);
	h_deliver_all(&h);
	h_settle(&h);
	ck_assert_uint_eq(h_node(&h, 3)->n_installed, 1);
	ck_assert(h_applied_data(h_node(&h, 1), "late2"));
	ck_assert_uint_eq(h_node(&h, 3)->sm_hash, h_node(&h, 1)->sm_hash);
	h_check_safety(&h);
	h_close(&h);
}
END_TEST

static void t_conf_change(struct harness *h, uint64_t leader,
			  enum raft_conf_op op, uint64_t id)
{
	uint64_t idx;
	int rc = raft_propose_conf_change(h_raft(h, leader), op, id, &idx);

	ck_assert_msg(rc == 0, "conf change: %s", raft_strerror(rc));
	h_ready_all(h);
	h_settle(h);
	ck_assert_ptr_nonnull(h_applied_at(h_node(h, leader), idx));
}

START_TEST(configuration_travels_in_snapshot)
{
	struct harness h;
	const struct raft_conf *c;

	h_init(&h, 4);
	h_bootstrap(&h, 3);
	h_elect(&h, 1);
	h_isolate(&h, 3);
	t_conf_change(&h, 1, RAFT_CONF_ADD_LEARNER, 4);
	t_conf_change(&h, 1, RAFT_CONF_ADD_VOTER, 4);
	h_commit(&h, 1, "four");
	ck_assert_int_eq(h_compact(&h, 1, h_node(&h, 1)->applied), 0);
	ck_assert(raft_conf_is_voter(&raft_snapshot(h_raft(&h, 1))->conf, 4));
	h_heal(&h);
	h_settle(&h);
	h_settle(&h);
	ck_assert_uint_eq(h_node(&h, 3)->n_installed, 1);
	c = raft_conf(h_raft(&h, 3));
	ck_assert_uint_eq(c->n_voters, 4);
	ck_assert(raft_conf_is_voter(c, 4));
	ck_assert(raft_conf_is_voter(&raft_snapshot(h_raft(&h, 3))->conf, 4));
	/* And it survives a restart from the snapshot. */
	h_crash(&h, 3, true);
	h_start(&h, 3);
	h_ready_all(&h);
	ck_assert(raft_conf_is_voter(raft_conf(h_raft(&h, 3)), 4));
	ck_assert_uint_eq(raft_first_index(h_raft(&h, 3)),
			  raft_snapshot(h_raft(&h, 1))->index + 1);
	h_close(&h);
}
END_TEST

START_TEST(new_member_receives_snapshot)
{
	struct harness h;
	char buf[16];

	h_init(&h, 4);
	h_bootstrap(&h, 3);
	h_elect(&h, 1);
	for (int i = 0; i < 6; i++) {
		snprintf(buf, sizeof(buf), "n%d", i);
		h_commit(&h, 1, buf);
	}
	h_settle(&h);
	ck_assert_int_eq(h_compact(&h, 1, h_node(&h, 1)->applied), 0);
	t_conf_change(&h, 1, RAFT_CONF_ADD_LEARNER, 4);
	h_settle(&h);
	h_settle(&h);
	ck_assert_uint_eq(h_node(&h, 4)->n_installed, 1);
	ck_assert_uint_eq(h_node(&h, 4)->applied, h_node(&h, 1)->applied);
	ck_assert_uint_eq(h_node(&h, 4)->sm_hash, h_node(&h, 1)->sm_hash);
	ck_assert(raft_conf_is_learner(raft_conf(h_raft(&h, 4)), 4));
	h_close(&h);
}
END_TEST

Suite *raft_snapshot_suite(void)
{
	Suite *s = suite_create("raft_snapshot");

	T_ADD(s, compact_drops_entries_up_to_index);
	T_ADD(s, compact_rejects_index_above_applied_or_below_snapshot);
	T_ADD(s, leader_sends_snapshot_to_follower_behind_compacted_log);
	T_ADD(s, follower_installs_snapshot);
	T_ADD(s, follower_ignores_snapshot_older_than_commit);
	T_ADD(s, snapshot_matching_log_fast_forwards_commit);
	T_ADD(s, snapshot_conflicting_with_log_replaces_it);
	T_ADD(s, failed_snapshot_resent_after_report);
	T_ADD(s, unanswered_snapshot_is_retried);
	T_ADD(s, reported_snapshot_resumes_replication);
	T_ADD(s, follower_above_snapshot_gets_entries);
	T_ADD(s, compaction_after_append_queued_sends_snapshot);
	T_ADD(s, snapshot_queued_before_compaction_names_the_new_one);
	T_ADD(s, configuration_travels_in_snapshot);
	T_ADD(s, new_member_receives_snapshot);
	return s;
}
