/*
 * coordd/store/store_int.h: the inside of coordd/store/ -- the handle,
 * the key and record formats (see the layout in store.h) and helpers
 * shared by its files. Tests include it to build and damage records.
 */
#ifndef COORD_STORE_STORE_INT_H
#define COORD_STORE_STORE_INT_H

#include <leveldb/c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "coordd/fsm/backend.h"
#include "coordd/store/store.h"
#include "raft/raft.h"

/* Key tags. */
#define STORE_TAG_APPLIED 'A'
#define STORE_TAG_ENTRY 'E'
#define STORE_TAG_FSM 'F'
#define STORE_TAG_GEN 'G'
#define STORE_TAG_INSTALL 'I'
#define STORE_TAG_SEGMENT 'L'
#define STORE_TAG_META 'M'
#define STORE_TAG_VERSION 'V'

#define STORE_FORMAT_MAGIC "coord-store"
#define STORE_FORMAT_VERSION 2u

/* The key a run's CRC covers: 'E' first:8 (see the run format below). */
#define STORE_ENTRY_KEY_LEN 9
/* 'F' gen:4 */
#define STORE_FSM_PREFIX_LEN 5

/* Record sizes (crc:4 first). */
#define STORE_CRC_LEN 4
#define STORE_VERSION_LEN (STORE_CRC_LEN + 11 + 4)
#define STORE_META_MIN (STORE_CRC_LEN + 8 + 8 + 4 + 4)
#define STORE_META_MAX (STORE_META_MIN + 2 * RAFT_NODES_MAX * 8)
#define STORE_APPLIED_LEN (STORE_CRC_LEN + 8)
#define STORE_GEN_LEN (STORE_CRC_LEN + 4)
#define STORE_RUN_HEADER (STORE_CRC_LEN + 4)         /* crc, count */
#define STORE_RUN_ENTRY_HEADER (STORE_CRC_LEN + 8 + 4 + 4)  /* then data */

/* Rows of one background-free cleanup batch (staging removal). */
#define STORE_DELETE_BATCH 4096

static inline void store_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t store_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline void store_put_be64(uint8_t *p, uint64_t v)
{
	store_put_be32(p, (uint32_t)(v >> 32));
	store_put_be32(p + 4, (uint32_t)v);
}

static inline uint64_t store_get_be64(const uint8_t *p)
{
	return (uint64_t)store_get_be32(p) << 32 | store_get_be32(p + 4);
}

static inline void store_entry_key(uint8_t key[STORE_ENTRY_KEY_LEN],
				   uint64_t index)
{
	key[0] = STORE_TAG_ENTRY;
	store_put_be64(key + 1, index);
}

static inline void store_fsm_prefix(uint8_t prefix[STORE_FSM_PREFIX_LEN],
				    uint32_t gen)
{
	prefix[0] = STORE_TAG_FSM;
	store_put_be32(prefix + 1, gen);
}

/* Raft's hard state and the log's bounds (cached). */
struct store_hard {
	struct raft_hard_state hs;
	uint64_t first;             /* snapshot index + 1 */
	uint64_t last;              /* snapshot index when the log is empty */
};

/*
 * Record codecs (record.c). Encoders write the whole value, CRC first, and
 * return its length; decoders verify length and CRC and return COORD_OK or
 * COORD_ECORRUPT. The single-key records' CRC covers their tag too, an
 * entry's its whole key (so a record under the wrong key fails).
 */
size_t store_rec_version_encode(uint8_t out[STORE_VERSION_LEN]);
int store_rec_version_decode(const uint8_t *v, size_t len, uint32_t *version);

/* COORD_EINVAL (nothing written) for a conf with too many ids. */
int store_rec_meta_encode(uint8_t out[STORE_META_MAX],
			  const struct raft_snapshot_meta *m, size_t *len);
int store_rec_meta_decode(const uint8_t *v, size_t len,
			  struct raft_snapshot_meta *m);

size_t store_rec_u64_encode(uint8_t out[STORE_APPLIED_LEN], char tag,
			    uint64_t value);
int store_rec_u64_decode(const uint8_t *v, size_t len, char tag,
			 uint64_t *value);

size_t store_rec_gen_encode(uint8_t out[STORE_GEN_LEN], uint32_t gen);
int store_rec_gen_decode(const uint8_t *v, size_t len, uint32_t *gen);

/*
 * A run: the entries first..first+count-1 that one Ready persisted (the
 * body of an entries record of the raft log, after its first:8):
 *
 *   crc:4 count:4                  crc over the key and count
 *   count times:
 *     crc:4 term:8 type:4 len:4 data[len]
 *                                  crc over the entry's index (8 bytes,
 *                                  big-endian), term, type, len, data
 *
 * Each entry keeps a checksum of its own, so damage is found and named
 * per index.
 */

/* Bytes of the run of ents[0..n) (n >= 1, consecutive indexes). */
size_t store_rec_run_size(const struct raft_entry *ents, size_t n);
/* Encodes it into out (store_rec_run_size() bytes); returns the length. */
size_t store_rec_run_encode(uint8_t *out, const struct raft_entry *ents,
			    size_t n);

/* Writes a run's header (count and its CRC) for entries from first; the
 * entries follow it, encoded as above. */
void store_rec_run_header(uint8_t *out, uint64_t first, uint32_t count);

/* Reads a run back, verifying as it goes. */
struct store_run_cursor {
	uint64_t first;
	uint32_t count;
	uint32_t i;                 /* entries returned so far */
	const uint8_t *p;
	const uint8_t *end;
};

/* COORD_ECORRUPT when the header fails its checksum or count is 0. */
int store_rec_run_open(struct store_run_cursor *c, uint64_t first,
		       const uint8_t *v, size_t len);
/* The next entry (its data points into the record): COORD_OK;
 * COORD_ENOTFOUND after the last one; COORD_ECORRUPT when entry
 * first + c->i fails its checksum or its length, or when bytes follow the
 * last entry. */
int store_rec_run_next(struct store_run_cursor *c, struct raft_entry *e);

/* The fsm backend (backend_leveldb.c), embedded in the handle. */
/* The backend's read cache (backend_leveldb.c): a direct-mapped table
 * of the records get() read or write() wrote last, absent ones
 * included, so that the records every command reads (its client's,
 * its session's and lease's, its lock's queue) do not each cost a
 * LevelDB lookup -- a memtable search that was a fifth of a node's CPU
 * in lock-uncontended (docs/performance.md, run 13). Bounded: at most
 * STORE_CACHE_SLOTS records of at most STORE_CACHE_RECORD_MAX bytes
 * (key and value) each. Exact: write() updates the slots of the keys it
 * writes, and the whole table is dropped when the live generation
 * changes (a snapshot install) or a write() through to LevelDB fails.
 *
 * Write-back: a write() whose every record fits a slot, and whose slots
 * hold no other key's pending record, only fills the slots, marked
 * dirty; the dirty slots go to LevelDB as one batch, each key once,
 * at store_backend_flush() -- before the applied index is recorded
 * (store_applied_set()), before an iterator, a snapshot or a snapshot
 * reader is made, and at close -- or first thing in a write() that
 * cannot wait (waiting records of a generation a snapshot install
 * replaced are dropped, not written). A node applies a Ready's
 * entries, then records the applied index: so the records every
 * command rewrites (the meta and counter records, a client's, a busy
 * lock's queue) reach LevelDB's memtable once a Ready, not once a
 * command (docs/performance.md, run 14). LevelDB holds the state after
 * some whole command at any time, as before: a crash loses at most
 * writes the Raft log replays. A flush that fails fails the store and
 * drops the slots; a failed store refuses every read (get(), iterators,
 * snapshots): LevelDB's older state is never served. Bounded by the
 * table. */
#define STORE_CACHE_SLOTS 4096                  /* a power of two */
#define STORE_CACHE_RECORD_MAX 1024

struct store_cache_slot {
	uint8_t *buf;               /* key, then value, in
				     * STORE_CACHE_RECORD_MAX bytes; NULL: empty */
	uint32_t key_len;
	uint32_t value_len;
	uint32_t stamp;             /* the write() that last claimed it, */
	uint32_t stamp_at;          /* for which of its records */
	bool found;                 /* false: the key is known absent */
	bool dirty;                 /* written, not in LevelDB yet */
};

struct store_backend {
	struct fsm_backend base;
	struct store *s;
	char *got;                  /* the last get()'s value (LevelDB's) */
	struct store_cache_slot *cache;     /* NULL: none (out of memory) */
	uint32_t cache_gen;         /* the generation the slots are of */
	uint64_t cache_hits;
	uint64_t cache_misses;
	uint8_t *key;               /* prefix + key of the current call */
	size_t key_cap;
	leveldb_writebatch_t *batch;
	size_t n_iters;
	size_t n_snaps;
	uint32_t *dirty;            /* the dirty slots, STORE_CACHE_SLOTS */
	size_t n_dirty;
	uint32_t stamp;             /* write() calls, for the slots' stamp */
	uint64_t writes_deferred;   /* write() calls that only filled slots */
	uint64_t flushes;           /* batches of dirty slots written */
};

void store_backend_init(struct store_backend *b, struct store *s);
void store_backend_close(struct store_backend *b);
/* Writes the dirty slots to LevelDB as one batch (nothing when none).
 * A failure fails the store (store_batch_write()). */
int store_backend_flush(struct store_backend *b);
/* The same, with the records of extra in the same batch (written even
 * when no slot is dirty). */
int store_backend_flush_with(struct store_backend *b,
			     leveldb_writebatch_t *extra);
/* Makes key_cap >= n. */
int store_backend_key_reserve(struct store_backend *b, size_t n);

/* The stored log's terms: entries first.. (up to the next one's first)
 * have term `term`. Raft logs change term rarely, so this is short. */
struct store_term {
	uint64_t first;
	uint64_t term;
};

/* A segment file of the raft log: its sequence number and the highest
 * entry index any record in it wrote (0: none). */
struct store_seg {
	uint64_t seq;
	uint64_t last_index;
};

/*
 * The raft log's segment files (raftlog.c; the format is in store.h).
 * A frame: crc:4 len:4 lcrc:4 body[len] trailer:4, where body[0] is the
 * record type.
 */
#define STORE_LOG_DIR "raftlog"
#define STORE_SEG_TMP "tmp.seg"
#define STORE_SEG_MAGIC "coord-raftlog"
#define STORE_SEGMENT_BYTES (64u << 20)
#define STORE_FRAME_HEADER 12
#define STORE_FRAME_TRAILER 4
#define STORE_FRAME_OVERHEAD (STORE_FRAME_HEADER + STORE_FRAME_TRAILER)
#define STORE_FRAME_BODY_MAX (1u << 31)
#define STORE_SEG_HEAD_BODY (1 + (sizeof(STORE_SEG_MAGIC) - 1) + 8 + 8)
#define STORE_SEG_HEAD (STORE_FRAME_OVERHEAD + STORE_SEG_HEAD_BODY)
#define STORE_LREC_SEGMENT 'S'      /* magic, seq:8, size:8 -- first in a
				     * segment */
#define STORE_LREC_HARD 'H'         /* term:8 vote:8 commit:8 */
#define STORE_LREC_ENTRIES 'E'      /* first:8, then a run */
#define STORE_LREC_RESET 'R'        /* index:8 term:8 -- the log replaced
				     * by the snapshot installed there */
#define STORE_LREC_HARD_BODY (1 + 3 * 8)
#define STORE_LREC_RESET_BODY (1 + 2 * 8)
#define STORE_LREC_ENTRIES_HEAD (1 + 8)

enum {
	STORE_FRAME_OK = 0,
	STORE_FRAME_END,            /* only zeros from here: no more data */
	STORE_FRAME_TORN,           /* a write cut short, only zeros after */
	STORE_FRAME_BAD,            /* anything else: corruption */
};

struct store_frame {
	size_t offset;
	size_t end;                 /* after the frame (TORN: after its last
				     * non-zero byte) */
	const uint8_t *body;        /* NULL unless the length was sound */
	size_t len;
};

/* Seals the frame whose body (body_len bytes) is already at
 * frame + STORE_FRAME_HEADER; returns the frame's length. */
size_t store_frame_seal(uint8_t *frame, size_t body_len);
/* Reads the frame at buf[off] of a segment of size bytes. */
int store_frame_check(const uint8_t *buf, size_t size, size_t off,
		      struct store_frame *f);
/* "raftlog/<seq as 16 hex digits>.seg" */
void store_seg_name(char *out, size_t size, uint64_t seq);

/* Opens (create: makes) dir/raftlog; COORD_ECORRUPT when it is missing. */
int store_rlog_dir_open(struct store *s, const char *dir, bool create);
/* Called with each record after a segment's header, in order; seg is
 * the index in s->segs. */
typedef int store_rlog_rec_fn(struct store *s, void *ctx, size_t seg,
			      const char *name, const struct store_frame *f);
/* Lists and checks the segments (contiguous, the newest at least
 * seq_min), scans every record and leaves the last segment open for
 * appends. A torn tail of the last segment is cut (zeroed, synced),
 * logged and counted in *torn; anything else bad is COORD_ECORRUPT
 * naming the file and offset. */
int store_rlog_scan(struct store *s, uint64_t seq_min, store_rlog_rec_fn *fn,
		    void *ctx, uint64_t *torn);
/* Removes every segment (a store being created anew). */
int store_rlog_remove_all(struct store *s);
/* Starts segment (last seq + 1), preallocated to max(seg_bytes, what
 * head and then `need` more bytes take), holding its header and the
 * frames head (len bytes), synced with its directory entry; appends go
 * there from now on. COORD_EIO fails the store. */
int store_rlog_rotate(struct store *s, const uint8_t *head, size_t len,
		      size_t need);
/* Writes len bytes of frames at the end of the open segment (they must
 * fit) and fdatasyncs it. COORD_EIO fails the store. */
int store_rlog_append(struct store *s, const uint8_t *buf, size_t len);
/* Removes the oldest segments, never the newest: the first drop_min, and
 * any after them whose entries are all at or below index. */
int store_rlog_drop(struct store *s, uint64_t index, size_t drop_min);
/* How many store_rlog_drop() would remove. */
size_t store_rlog_droppable(const struct store *s, uint64_t index,
			    size_t drop_min);
void store_rlog_close(struct store *s);

/* The log writer (logwriter.c). Frames queued while a write is in
 * flight wait for the next one; past this many bytes queueing waits for
 * the write in flight (the event loop runs no further ahead of the disk;
 * a Ready's frame is at most STORE_FRAME_BODY_MAX and always queues). */
#define STORE_WRITER_BACKLOG_MAX (16u << 20)

struct store_writer;

/* Queues a frame for s->log_off in the current segment, which is then
 * advanced past it. index, term: the last entry in it (0: none). A
 * failed earlier write: COORD_EIO, the store is failed. */
int store_writer_queue(struct store *s, const uint8_t *frame, size_t len,
		       uint64_t index, uint64_t term);
/* Drains what it can and ends the thread. */
void store_writer_stop(struct store *s);

struct store {
	const struct coord_allocator *alloc;
	struct store_options opts;
	leveldb_t *db;
	leveldb_options_t *lopts;
	leveldb_cache_t *cache;
	leveldb_filterpolicy_t *filter;
	leveldb_readoptions_t *ropts;       /* verify_checksums */
	leveldb_writeoptions_t *wsync;
	leveldb_writeoptions_t *wnosync;
	leveldb_writebatch_t *batch;
	int lock_fd;                /* our lock on LevelDB's LOCK file */
	bool lock_held;             /* in the process's list of held dirs */
	dev_t lock_dev;
	ino_t lock_ino;
	pid_t lock_pid;
	struct store *lock_next;

	/* What is on disk. */
	struct store_hard hard;
	uint64_t hard_written_commit;   /* the commit index on disk */
	struct raft_snapshot_meta snap;
	uint64_t applied;
	uint32_t gen;
	uint64_t last_term;         /* of the entry at hard.last */
	struct store_term *terms;   /* the log's terms, in index order */
	size_t n_terms;
	size_t cap_terms;

	/* The raft log's segments (raftlog.c). */
	int log_dirfd;
	int log_fd;                 /* the newest segment, appended to */
	size_t log_off;             /* where the next frame goes */
	uint64_t log_syncs;         /* appends synced (store_log_syncs()) */
	size_t log_size;
	size_t seg_bytes;
	struct store_seg *segs;     /* oldest first */
	size_t n_segs;
	size_t cap_segs;
	uint64_t seg_seq_min;       /* the 'L' record */
	uint64_t installed;         /* the 'I' record: the last install's
				     * index (0: none) */
	uint8_t seg_head[160];      /* a new segment's first frames */

	/* The log writer thread (logwriter.c), NULL until started. */
	struct store_writer *writer;
	uint64_t writer_seen;       /* its writes counted in log_syncs */

	bool failed;                /* a write failed: COORD_EIO from now on */
	bool installing;
	size_t n_readers;
	uint8_t *scratch;           /* an encoded run */
	size_t scratch_cap;
	struct store_backend backend;
	char errmsg[STORE_ERRMSG_MAX];
};

/* Sets s->errmsg. */
void store_errf(struct store *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* One line to the log callback, if any. */
void store_logf(struct store *s, enum store_log_level level, const char *fmt,
		...) __attribute__((format(printf, 3, 4)));

/* Maps a LevelDB error (and frees it): "Corruption: ..." is
 * COORD_ECORRUPT, "Invalid argument: ..." COORD_EINVAL, anything else
 * COORD_EIO; s->errmsg gets "<what>: <LevelDB's text>". */
int store_leveldb_error(struct store *s, char *err, const char *what);

/* Writes batch; sync for the durable ones. A failure makes the store
 * failed. COORD_EIO at once when it already is. */
int store_batch_write(struct store *s, leveldb_writebatch_t *batch, bool sync,
		      const char *what);

/* Grows *buf (allocator memory) to at least n bytes. */
int store_buf_reserve(const struct coord_allocator *a, uint8_t **buf,
		      size_t *cap, size_t n);

/* Adds to b what installing a snapshot changes in LevelDB besides the
 * fsm keyspace (store.c): meta, the generation and the applied index. */
void store_install_apply(struct store *s, leveldb_writebatch_t *b,
			 const struct raft_snapshot_meta *meta, uint32_t gen);

/* After b was written: the log is replaced by the snapshot (a new
 * segment starting with a reset record and the hard state with commit =
 * meta->index, synced; the older segments removed). COORD_EIO fails the
 * store (recovery completes the reset from the stored metadata). */
int store_install_finish(struct store *s,
			 const struct raft_snapshot_meta *meta);

/* Deletes every record of generation gen (sync=false, in batches of
 * STORE_DELETE_BATCH) and counts them in *n. */
int store_gen_delete(struct store *s, uint32_t gen, uint64_t *n);

/* The text "restore this node from a peer ..." that ends every refusal. */
#define STORE_REMEDY                                                         \
	"restore this node from a peer: remove the data dir and re-add it "  \
	"as a new member"

/*
 * LevelDB's files (wal.c). Run before leveldb_open(), with the dir
 * locked: decides whether dir holds a database (*exists), checks that
 * CURRENT names a readable MANIFEST and that the write-ahead log the
 * MANIFEST names is there, and scans every write-ahead log LevelDB will
 * replay. An incomplete record at the very end of a log (truncated or
 * zero-filled: a torn write) is counted in *torn_bytes and logged; any
 * other damage is COORD_ECORRUPT naming the file and offset.
 */
int store_wal_check(struct store *s, const char *dir, bool *exists,
		    uint64_t *torn_bytes);

/* The result of scanning one file in LevelDB's log format (for tests). */
struct store_wal_scan {
	uint64_t records;           /* complete logical records */
	uint64_t good_bytes;        /* end of the last complete record */
	uint64_t torn_bytes;        /* an incomplete tail after it */
	uint64_t bad_offset;        /* where damage starts (when corrupt) */
	const char *bad_reason;     /* NULL: not corrupt */
};

/* Scans buf as a LevelDB log; rec (may be NULL) is called with each
 * complete logical record and may stop the scan by returning non-zero
 * (which scan returns). Returns 0 otherwise; corruption is reported in
 * *out, not as a return value. */
int store_wal_scan(const uint8_t *buf, size_t len, struct store_wal_scan *out,
		   int (*rec)(void *ctx, const uint8_t *data, size_t len),
		   void *ctx, uint8_t **scratch, size_t *scratch_cap,
		   const struct coord_allocator *alloc);

#endif /* COORD_STORE_STORE_INT_H */
