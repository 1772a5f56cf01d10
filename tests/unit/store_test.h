/*
 * tests/unit/store_test.h: helpers of the coordd/store/ unit tests --
 * temporary data dirs, a log callback that records, an allocator that
 * fails its Nth call, raw LevelDB access for damaging a store from
 * outside, and a deterministic workload (a model of what a Raft node
 * persists and applies) shared by the crash and corruption tests.
 */
#ifndef COORD_TESTS_UNIT_STORE_TEST_H
#define COORD_TESTS_UNIT_STORE_TEST_H

#include <check.h>
#include <leveldb/c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coordd/store/store.h"
#include "proto/alloc.h"
#include "proto/errors.h"
#include "raft/raft.h"
#include "tests/unit/check_util.h"

/* Seconds a single test may take (sanitizer builds are slow). */
#define ST_TIMEOUT 240

/* The helpers of check_util.h under this suite's names. */
#define ST_ADD(s, fn) CU_ADD((s), fn, ST_TIMEOUT)
#define ST_ADD_LOOP(s, fn, lo, hi) CU_ADD_LOOP((s), fn, (lo), (hi), ST_TIMEOUT)
#define st_code_eq cu_code_eq

/* A fresh directory under $TMPDIR (or /tmp); st_dir_free removes it with
 * everything in it. */
char *st_dir_new(void);
void st_dir_free(char *dir);
/* Copies the regular files of src into dst (created). */
void st_dir_copy(const char *src, const char *dst);

/* The files of dir whose names end in ext ("" for all), sorted; NULL
 * terminated, free with st_names_free. */
char **st_dir_names(const char *dir, const char *ext);
void st_names_free(char **names);
size_t st_file_size(const char *path);
void st_file_flip(const char *path, size_t offset, uint8_t mask);
void st_file_truncate(const char *path, size_t len);

/* A log callback that keeps the lines. */
struct st_log {
	char text[16384];
	size_t n_info;
	size_t n_warn;
};

void st_log_cb(void *ctx, enum store_log_level level, const char *msg);

/* Options for tests: small LevelDB buffers (so tables and compactions
 * happen early), small chunks, raft log segments of st_segment_bytes
 * (4096: many), log to *log (may be NULL). */
extern size_t st_segment_bytes;
void st_options(struct store_options *o, struct st_log *log);

/* store_open() that asserts success. */
struct store *st_open(const char *dir, const struct store_options *o,
		      struct store_restore *rs);

/* Raw LevelDB, to damage a store from outside (paranoid checks off). */
leveldb_t *st_raw_open(const char *dir);
void st_raw_put(leveldb_t *db, const void *k, size_t klen, const void *v,
		size_t vlen);
/* A copy (malloc) or NULL. */
uint8_t *st_raw_get(leveldb_t *db, const void *k, size_t klen, size_t *vlen);
void st_raw_delete(leveldb_t *db, const void *k, size_t klen);
size_t st_raw_count_prefix(leveldb_t *db, const void *prefix, size_t len);

/* A persisted Ready: hard state (NULL: unchanged) and entries. */
int st_persist(struct store *s, const struct raft_hard_state *hs,
	       const struct raft_entry *ents, size_t n);
void st_entry(struct raft_entry *e, uint64_t index, uint64_t term,
	      const char *data);

/*
 * The workload: a model of one Raft node's persisted state that evolves
 * step by step from a seed (new terms, appends, overwrites of an
 * uncommitted suffix, commits), and a trivial state machine: an entry's
 * data is "key=value" and applying it puts value under "k/key" in the fsm
 * keyspace, with the applied index under "applied" in the same batch.
 */
#define ST_WORK_KEYS 40

struct st_work_entry {
	uint64_t term;
	uint32_t len;
	uint8_t *data;
};

struct st_work {
	uint64_t seed;
	uint64_t rng;
	uint64_t step;              /* steps taken */
	struct raft_hard_state hs;
	uint64_t last;
	struct st_work_entry *log;  /* log[i] is index i+1 */
	size_t cap;
	/* The Ready of the last step. */
	struct raft_entry *ready_ents;
	size_t n_ready;
	bool hs_changed;
};

void st_work_init(struct st_work *w, uint64_t seed);
void st_work_close(struct st_work *w);
/* Advances the model one step; the Ready is in ready_ents/n_ready/
 * hs_changed. */
void st_work_step(struct st_work *w);
/* Persists the last step's Ready. */
int st_work_persist(struct st_work *w, struct store *s);
/* Applies committed entries above the fsm's applied index to the store's
 * fsm keyspace (one backend batch each), then store_applied_set(). Returns
 * 0 or a code. */
int st_work_apply(struct st_work *w, struct store *s);
/* The fsm part of st_work_apply(): the entries above the fsm's applied
 * index up to upto, without the store's applied index. */
int st_work_apply_fsm(struct st_work *w, struct store *s, uint64_t upto);
/* Compacts the store's log at its applied index (if above its snapshot). */
int st_work_compact(struct st_work *w, struct store *s);

/* Runs the workload from seed for `steps` steps in a new store in dir
 * (st_options): persists and applies each step, compacts after every
 * step that is a multiple of compact_every or equals compact_at, reopens
 * after every multiple of reopen_every (0: never, for all three), then
 * closes it. */
void st_work_build(const char *dir, uint64_t seed, uint64_t steps,
		   uint64_t reopen_every, uint64_t compact_every,
		   uint64_t compact_at);

/* Opens the store in dir (st_options; it must open), reads its log bounds
 * and hard state term (each may be NULL) and closes it. */
void st_peek(const char *dir, uint64_t *first, uint64_t *last,
	     uint64_t *term);

/* The raft log: the segments of dir (their numbers, oldest first, at
 * most max; returns how many) and the path of one. */
size_t st_segs(const char *dir, uint64_t *seqs, size_t max);
void st_seg_path(const char *dir, uint64_t seq, char *out, size_t size);
/* The whole file (malloc). */
uint8_t *st_file_read(const char *path, size_t *len);
void st_file_write(const char *path, size_t off, const void *p, size_t len);
/* The offsets of a segment's sound frames (at most max; returns how many,
 * the segment header included) and where its data ends. */
size_t st_seg_frames(const char *path, size_t *offs, size_t max, size_t *end);
/* Appends a frame of body to the newest segment (a record the store never
 * wrote); returns its offset, its length in *len. st_seg_unappend zeros
 * it again. */
size_t st_seg_append(const char *dir, const uint8_t *body, size_t blen,
		     size_t *len);
void st_seg_unappend(const char *dir, size_t off, size_t len);

/* Fills in the body length and CRC of the snapshot chunk of len bytes a
 * test built by hand in out (the rest of its header is the test's);
 * returns len. */
size_t st_chunk_seal(uint8_t *out, size_t len);

/* The fsm's applied index as the keyspace records it (0: none). */
uint64_t st_fsm_applied(struct store *s);

/*
 * Checks a reopened store against the model: its hard state and log must
 * be the model's after exactly `step` steps (the model is advanced or
 * re-run as needed); its snapshot a point of that log; the fsm keyspace,
 * once the committed entries after its applied index are replayed into
 * it, equal to the model's state at the commit index. Returns NULL when
 * all holds, else a static description of the first mismatch.
 */
const char *st_work_check(struct st_work *w, struct store *s,
			  const struct store_restore *rs, uint64_t step);

/*
 * st_work_check(), except that the fsm keyspace may have applied entries
 * above the commit index up to fsm_max (0: it may not). A commit index
 * that only a Ready moved is not written to the log (store.h), so a
 * crash can take it back below what the fsm had applied: the applies
 * reach LevelDB's log before the applied index that would have raised
 * the commit again on open. The keyspace must then be the model's at the
 * fsm's own applied index.
 */
const char *st_work_check_ahead(struct st_work *w, struct store *s,
				const struct store_restore *rs, uint64_t step,
				uint64_t fsm_max);

/* Runs the model from a fresh seed to `step` steps. */
void st_work_rewind(struct st_work *w, uint64_t seed, uint64_t step);

/* Does the store hold the model's state after `step` steps (hard state,
 * last index, log)? */
bool st_work_matches(struct st_work *w, const struct store_restore *rs);

#endif /* COORD_TESTS_UNIT_STORE_TEST_H */
