/*
 * coordd/store/store.h: a node's durable storage -- the Raft log and the
 * hard state in append-only segment files of our own, and the snapshot
 * metadata, the applied index and the fsm's keyspace in one LevelDB
 * database beside them (one data dir per node).
 *
 * store/ is the only code that calls LevelDB. It never interprets the
 * fsm's records (coordd/fsm/ reaches them through the struct fsm_backend
 * this module implements) nor the data of log entries.
 *
 * LAYOUT. The data dir is LevelDB's; the Raft log lives in its
 * subdirectory raftlog/ (integers big-endian; see store_int.h for the
 * exact bytes):
 *
 *   raftlog/<seq:16 hex>.seg   segments, numbered 1, 2, ... without gaps.
 *       Each is created at a fixed size (segment_bytes, or larger for a
 *       Ready that does not fit) and filled with zeros before it is used,
 *       then holds frames back to back, zeros after the last one:
 *         crc:4 len:4 lcrc:4 body[len] trailer:4
 *       crc is a CRC32C over len and the body, lcrc one over len alone,
 *       the trailer a fixed non-zero marker. Bodies, by their first byte:
 *         'S'  the segment's header: magic, its number, its size -- the
 *              first frame of every segment
 *         'H'  hard state: term, vote, commit -- the second frame of
 *              every segment (the state when it was started), and again
 *              whenever a Ready changes it
 *         'E'  entries: first index, then the entries one Ready
 *              persisted, each with a CRC32C of its own (index, term,
 *              type, data), so that damage is named per index
 *         'R'  reset: the log was replaced by the snapshot at index
 *              (written after a snapshot install)
 *   LevelDB, one key space:
 *     'V'            format marker: "coord-store", version 2
 *     'L'            the number of the newest segment created
 *     'M'            snapshot metadata (struct raft_snapshot_meta);
 *                    absent: none (index 0)
 *     'A'            applied index
 *     'I'            the index of the last snapshot install (absent: none)
 *     'G'            the live generation of the fsm keyspace
 *     'F' gen:4 key  the fsm's record key in generation gen: the live
 *                    generation is the keyspace; the next one is the
 *                    staging area of a snapshot being installed
 *   Every LevelDB record of ours carries a CRC32C too.
 *
 * The log is what replaying the segments in order gives: an 'E' record
 * replaces whatever the log held from its first index on (Raft's
 * truncation of a conflicting suffix costs nothing but the new record),
 * an 'R' record empties it, the last 'H' is the hard state. Entries at
 * or below the snapshot index are skipped.
 *
 * DURABILITY. store_ready_persist() appends what one raft_ready asks to
 * persist -- an 'E' frame and an 'H' frame -- with one write() and one
 * fdatasync() of the segment (group commit: one sync per Ready; a Ready
 * that changes nothing but the commit index writes nothing). Because
 * the segment was zero-filled and synced before its first append, an
 * append changes neither the file's size nor its extents: the sync has
 * no file metadata to commit, and the frames are on disk when it
 * returns. A Ready that does not fit starts the next segment first: it
 * is written whole (header, hard state, zeros) under a temporary name,
 * synced, renamed into place and the directory synced, so a segment that
 * is visible always has its header. Nothing a crash can do to an append
 * reaches earlier frames. Everything in LevelDB is written with
 * sync=false (fsm applies, the applied index, 'L', staged snapshot
 * chunks) -- it is rebuilt by replaying the synced log or harmless to
 * lose -- except three things that must never get ahead of the log or
 * lag behind it: the store's creation, the snapshot install (one synced
 * batch), and the snapshot metadata of a compaction that removes
 * segments (synced before any segment goes, so the log never starts
 * after a snapshot the store does not have). LevelDB writes its batches
 * to one sequential log, so the applied index never survives without the
 * fsm writes before it.
 *
 * COMPACTION removes whole segments: the oldest ones, never the newest,
 * whose entries are all at or below the snapshot index (each segment
 * starts with the hard state, so none is lost with them); the directory
 * is synced so that no removed segment comes back and leaves a gap. A
 * snapshot install commits in LevelDB first (metadata, generation,
 * applied and install index in one synced batch), then starts a segment
 * with 'R' and 'H' (commit = the snapshot index) and removes all older
 * ones. If a crash comes between the two, the store finds the snapshot
 * above the log's commit index with the install index equal to it --
 * which only an install produces -- and completes the reset on open.
 *
 * RECOVERY. store_open() checks LevelDB's own files first (the CURRENT
 * file, the MANIFEST, the write-ahead logs), reads back our LevelDB
 * records, then every segment, verifying every frame and every entry's
 * checksum, the segments' numbers (no gaps, the newest at least 'L'),
 * headers and sizes, and the log's shape (no holes, terms in order and
 * not above the hard state's, commit within the log, applied within
 * [snapshot, commit]), and fills a struct raft_restore for raft_new().
 * Anything that does not add up makes it refuse with COORD_ECORRUPT and a
 * message naming the file (and offset) or record and the index, ending
 * in what to do.
 *
 * TORN TAIL. A write that a crash cut short leaves a prefix of its bytes
 * and, after it, the zeros the segment was filled with. So the only torn
 * write this layout can show is a last frame of the newest segment whose
 * trailer (or the rest of whose header) is zero with only zeros after it:
 * its sync never returned, so nothing it held was acknowledged. It is
 * cut (zeroed, synced), logged (file, offset, bytes) and reported in
 * struct store_restore. Nothing else is ever cut: a whole frame whose
 * checksum fails, anywhere, a frame in an older segment, non-zero bytes
 * after the end of the data, cannot come from a crash, and an entry above
 * the commit index may still be one this node acknowledged to a leader
 * that counted it: cutting it could lose a committed entry. The store
 * refuses to open instead. (A disk that persists the pages of one write
 * out of order can leave a torn frame that does not look cut short; it
 * is refused, never cut.) LevelDB's own write-ahead log is checked the
 * same way: an incomplete last record is dropped and logged, any other
 * damage refused.
 *
 * What cannot be told from a clean state: the newest segment losing
 * whole frames at its end (by a disk that lost synced writes) looks like
 * a log that was never written further, and a segment newer than the
 * one 'L' names can vanish unnoticed if 'L' had not reached the disk.
 * Both lose synced writes silently; nothing inside the data dir can prove
 * they existed.
 *
 * Errors: COORD_OK or a code of proto/errors.h; the text of the last error
 * is in store_errmsg() (for store_open(), in restore->errmsg). COORD_EIO
 * from a write leaves the store failed: every later write returns
 * COORD_EIO; close it and open it again (recovery decides what survived).
 *
 * One thread: a store and everything made from it are used from one
 * thread (LevelDB's own background compaction runs in its own).
 */
#ifndef COORD_STORE_STORE_H
#define COORD_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coordd/fsm/backend.h"
#include "proto/alloc.h"
#include "raft/raft.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes of an error message, NUL included. */
#define STORE_ERRMSG_MAX 512

/* Default bound of a snapshot chunk (see store_snapshot_reader_next_chunk). */
#define STORE_SNAPSHOT_CHUNK_BYTES (1024 * 1024)

/* Bytes of a snapshot chunk's header. */
#define STORE_SNAPSHOT_CHUNK_HEADER 40

enum store_log_level {
	STORE_LOG_INFO = 1,
	STORE_LOG_WARN = 2,
};

struct store_options {
	const struct coord_allocator *alloc;    /* NULL: libc; borrowed */
	bool create_if_missing;     /* an empty or missing dir: a new store */
	size_t cache_bytes;         /* LevelDB block cache; 0: 8 MiB */
	size_t write_buffer_bytes;  /* LevelDB memtable; 0: 4 MiB */
	size_t max_file_bytes;      /* LevelDB table file; 0: 2 MiB */
	size_t snapshot_chunk_bytes;    /* >= 4096; 0: the default above */
	/* Bytes a raft log segment file is preallocated to (>= 4096; 0:
	 * 64 MiB). A Ready larger than that gets a segment of its own. */
	size_t segment_bytes;
	/* LevelDB's snappy compression of its tables: smaller files, but the
	 * CPU it costs competes with the writer on a busy machine. */
	bool compression;
	/* One line per event, key=value style ("torn tail ..."); NULL: none.
	 * msg is valid during the call only. */
	void (*log)(void *ctx, enum store_log_level level, const char *msg);
	void *log_ctx;
};

/* Fills o with the defaults: libc, create_if_missing, LevelDB's sizes,
 * compression on, 1 MiB chunks, no log callback. */
void store_options_default(struct store_options *o);

/*
 * What store_open() found, for raft_new(): raft.hard_state, raft.snapshot
 * (NULL when there is none, else &snapshot), raft.entries (the log after
 * the snapshot, owned by this struct) and raft.applied. Caller storage:
 * store_open() always initialises it; release it with
 * store_restore_close() once raft_new() has copied it.
 */
struct store_restore {
	struct raft_restore raft;
	struct raft_snapshot_meta snapshot;
	uint64_t torn_bytes;        /* an unsynced torn tail dropped (logged) */
	uint64_t garbage_records;   /* records of an unfinished snapshot
				     * install removed (logged) */
	char errmsg[STORE_ERRMSG_MAX];  /* why store_open() failed */
	/* Private. */
	struct raft_entry *entries_;
	size_t n_entries_;
	const struct coord_allocator *alloc_;
};

void store_restore_close(struct store_restore *rs);

struct store;

/*
 * Opens (or, with create_if_missing, creates) the store in dir and reads
 * it back into *restore. opts may be NULL (the defaults). Errors:
 * COORD_EINVAL (bad options), COORD_ENOMEM, COORD_EIO (the dir cannot be
 * read or written, or another process has it open), COORD_ECORRUPT (see
 * the top of this file) -- each with restore->errmsg.
 */
int store_open(const char *dir, const struct store_options *opts,
	       struct store **out, struct store_restore *restore);

/* Closes the store. Its snapshot readers, installs and fsm backend
 * iterators and snapshots must be freed first. NULL does nothing. */
void store_close(struct store *s);

/* The text of the last error on this store ("" when none). */
const char *store_errmsg(const struct store *s);

/*
 * Persists what rd asks to persist (raft.h, step 1) with one append and
 * one fdatasync of the raft log: rd->entries (the stored log is first
 * truncated from entries[0].index when that is at or below the last
 * stored index) and rd->hard_state when rd->hard_state_changed and it
 * differs from the stored one. A Ready without either writes nothing.
 * A Ready whose only change is the commit index writes nothing: the
 * commit index need not be durable (Raft learns it again from a quorum);
 * the store keeps it in memory (store_hard_state() reports it) and
 * writes it with the next synced frame. store_open() raises a commit
 * index found below the applied index or a compaction's snapshot index
 * to it (what was applied was committed).
 *
 * rd->snapshot: its data must have been installed first, by
 * store_snapshot_install_commit() with this same metadata, which stored
 * the metadata and switched the fsm keyspace in one batch and replaced
 * the log (raft.h's "the stored log is replaced by the snapshot"); doing
 * it there keeps a crash between the two from leaving metadata without
 * the data. A snapshot that is not the stored one is COORD_EINVAL.
 *
 * COORD_EINVAL, nothing written, for a Ready that breaks raft.h's
 * contract: entries that are not contiguous, that would leave a hole after
 * the stored log, that reach into the snapshot or that overwrite a
 * committed index, or a commit index past the resulting log. COORD_EIO
 * (the store is failed) when the raft log cannot be written or synced,
 * or a new segment cannot be made.
 */
int store_ready_persist(struct store *s, const struct raft_ready *rd);

/*
 * A leader's Ready with rd->persist_async (raft.h): checked and framed as
 * by store_ready_persist(), with the same errors, then written and synced
 * by the store's log writer thread (started on the first call) while the
 * caller goes on. The store's metadata (store_last_index(), the hard
 * state) include the write at once; store_log_poll() says when it is
 * durable. Writes are durable in the order they were made, and every
 * other call that writes the log (store_ready_persist(), a new segment,
 * compaction, an install, close) first waits for the queued ones. A
 * snapshot is COORD_EINVAL.
 */
int store_ready_persist_async(struct store *s, const struct raft_ready *rd);
/* Waits until every background write is durable; COORD_EIO (the store
 * failed) when one failed. No writer thread: COORD_OK at once. */
int store_log_drain(struct store *s);
/* Starts the log writer thread now (once; store_ready_persist_async()
 * does otherwise). COORD_ENOMEM, COORD_EIO: no thread. */
int store_log_writer_start(struct store *s);
/* A descriptor that becomes readable when a background write finished
 * (-1 while there is no writer thread); store_log_poll() reads it. */
int store_log_notify_fd(const struct store *s);
/* The last entry the background writes made durable (0, 0: none yet);
 * sync_ns(ctx, ns) for the time of each write and sync done since the
 * last poll (the last 32; NULL: not wanted). COORD_EIO when a write
 * failed: the store is failed, and nothing queued after it was written. */
int store_log_poll(struct store *s, uint64_t *index, uint64_t *term,
		   void (*sync_ns)(void *ctx, uint64_t ns), void *ctx);

/*
 * Records that the state machine has applied every committed entry up to
 * index (sync=false). Call it after the fsm applied them, never before:
 * LevelDB keeps writes in order, so the stored applied index never runs
 * ahead of the state it describes. COORD_EINVAL when index is below the
 * stored applied index or above the stored commit index.
 */
int store_applied_set(struct store *s, uint64_t index);

/*
 * Log compaction: the state machine has a snapshot as of meta->index (as
 * raft_compact() produced it: use raft_snapshot() afterwards). Stores meta
 * (synced only when segments are removed: losing it otherwise leaves the
 * older snapshot and the entries, which is still consistent), then
 * removes the oldest segments whose entries are all at or below
 * meta->index; entries up to meta->index in the segments that stay are
 * skipped from now on. COORD_EINVAL when meta->index is below the stored
 * snapshot index, beyond the log, above the stored applied index (set
 * that first), or when meta->term is not the stored entry's term;
 * COORD_EIO (the store is failed) when a write fails. Equal to the stored
 * snapshot: nothing to do.
 */
int store_log_compact(struct store *s, const struct raft_snapshot_meta *meta);

/* What is on disk (cached: no I/O). */
struct raft_hard_state store_hard_state(const struct store *s);
/* The stored snapshot metadata (index 0: none); valid until the next
 * write. */
const struct raft_snapshot_meta *store_snapshot_meta(const struct store *s);
uint64_t store_first_index(const struct store *s);   /* snapshot index + 1 */
uint64_t store_last_index(const struct store *s);    /* snapshot index if
							 * the log is empty */
uint64_t store_applied_index(const struct store *s);
/* Log appends written and synced since the store was opened (a Ready
 * that only moves the commit index writes none: store_ready_persist()). */
uint64_t store_log_syncs(const struct store *s);
/* The fsm backend's read cache (store_int.h): get()s it answered, and
 * get()s that read LevelDB, since the store was opened. */
void store_cache_stats(const struct store *s, uint64_t *hits,
		       uint64_t *misses);
/* Its write-back (store_int.h): write()s that waited in the cache, and
 * batches of them written to LevelDB, since the store was opened. */
void store_writeback_stats(const struct store *s, uint64_t *deferred,
			   uint64_t *flushes);

/*
 * The fsm's keyspace as a struct fsm_backend (coordd/fsm/backend.h), kept
 * under the 'F' prefix of the live generation. Writes are sync=false.
 * Owned by the store, valid until store_close(). After
 * store_snapshot_install_commit() the backend shows the new keyspace: an
 * fsm opened on it must be reopened (fsm_free(), fsm_new()) because it
 * caches counters; iterators and snapshots made before keep showing the
 * state they were made on.
 */
struct fsm_backend *store_fsm_backend(struct store *s);

/*
 * Snapshots, the sending side: a consistent LevelDB snapshot of the fsm
 * keyspace as of now, streamed in chunks. The stream carries the stored
 * snapshot metadata's index and term (the point raft will name in its
 * RAFT_MSG_SNAPSHOT); the state itself is the keyspace as of now, which
 * has applied at least that far (the fsm's own records say how far).
 *
 * A chunk is at most snapshot_chunk_bytes long, except when a single
 * record (key and value) does not fit: such a record travels in a chunk of
 * its own. Each chunk carries a sequence number, the snapshot's index and
 * term, a last flag and a CRC32C over all of it, and the records in key
 * order. The reader holds a LevelDB snapshot (which pins old versions):
 * free it when done.
 */
struct store_snapshot_reader;

int store_snapshot_reader_new(struct store *s,
			      struct store_snapshot_reader **out);
/* The snapshot metadata the stream carries (the stored one when the reader
 * was made). */
const struct raft_snapshot_meta *
store_snapshot_reader_meta(const struct store_snapshot_reader *r);
/* The next chunk, in reader memory valid until the next call or free;
 * *last says it is the final one. COORD_EINVAL once the last chunk was
 * returned; COORD_ENOMEM, or COORD_ECORRUPT / COORD_EIO when LevelDB fails
 * to read -- after which the stream is broken (COORD_EINVAL from then on):
 * free the reader and start a new one. */
int store_snapshot_reader_next_chunk(struct store_snapshot_reader *r,
				     const uint8_t **chunk, size_t *len,
				     bool *last);
void store_snapshot_reader_free(struct store_snapshot_reader *r);

/*
 * Snapshots, the receiving side: chunks are staged in the next
 * generation of the fsm keyspace (sync=false) while the live one stays in
 * use; commit switches to them in one synced batch. A crash before the
 * commit leaves the old state intact and the staged records are removed
 * when the store is next opened; after it, the new state is complete.
 * One install at a time per store.
 *
 * add_chunk: chunks in order, from one stream. COORD_EMALFORMED for a
 * chunk that is not one (bad header or record lengths, wrong sequence,
 * another stream, keys out of order, data after the last chunk),
 * COORD_ECORRUPT when its checksum fails; after an error the install
 * accepts nothing more and must be aborted.
 *
 * commit: meta is raft's (rd.snapshot): its index and term must be the
 * stream's, its index above the stored commit index (raft installs only
 * such snapshots) and the last chunk must have arrived (COORD_EINVAL
 * otherwise). In one synced batch: the staged generation becomes the
 * keyspace, meta is stored, applied becomes meta->index. Then the log is
 * emptied (raft.h: the log is replaced by the snapshot) and commit
 * becomes meta->index, in a new synced segment, and the old generation
 * is deleted. commit frees in, whatever it returns; on a failure before
 * the batch the staging is removed; a failure after it (COORD_EIO, the
 * store failed) leaves the install committed, and the next open
 * completes it.
 */
struct store_snapshot_install;

int store_snapshot_install_begin(struct store *s,
				 struct store_snapshot_install **out);
int store_snapshot_install_add_chunk(struct store_snapshot_install *in,
				     const uint8_t *chunk, size_t len);
int store_snapshot_install_commit(struct store_snapshot_install *in,
				  const struct raft_snapshot_meta *meta);
/* Removes the staged records and frees in. NULL does nothing. */
void store_snapshot_install_abort(struct store_snapshot_install *in);

#ifdef __cplusplus
}
#endif

#endif /* COORD_STORE_STORE_H */
