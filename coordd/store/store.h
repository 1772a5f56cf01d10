/*
 * coordd/store/store.h: a node's durable storage -- the Raft log, the hard
 * state, the snapshot metadata, the applied index and the fsm's keyspace,
 * all in one LevelDB database (one data dir per node).
 *
 * store/ is the only code that calls LevelDB. It never interprets the
 * fsm's records (coordd/fsm/ reaches them through the struct fsm_backend
 * this module implements) nor the data of log entries.
 *
 * LAYOUT (one key space; integers big-endian so that byte order is
 * numeric order; every record of ours carries CRC32Cs -- see
 * store_int.h for the exact bytes):
 *
 *   'V'             format marker: "coord-store", version 1
 *   'H'             hard state and log bounds: term, vote, commit,
 *                   first (= snapshot index + 1), last
 *   'M'             snapshot metadata (struct raft_snapshot_meta);
 *                   absent: none (index 0)
 *   'A'             applied index
 *   'G'             the live generation of the fsm keyspace
 *   'E' first:8     a run: the log entries first.. that one Ready
 *                   persisted, each with its own checksum (term, type,
 *                   data). One record per Ready, because LevelDB's cost
 *                   is per record: 256 entries in one record sync about
 *                   twice as fast as 256 records.
 *   'F' gen:4 key   the fsm's record key in generation gen: the live
 *                   generation is the keyspace; the next one is the
 *                   staging area of a snapshot being installed
 *
 * DURABILITY. store_ready_persist() writes everything one raft_ready asks
 * to persist in one LevelDB WriteBatch with sync=true (group commit: one
 * fdatasync per Ready). Everything else -- fsm applies, the applied index,
 * log compaction, staged snapshot chunks -- is written with sync=false:
 * it is either rebuilt by replaying the synced log or harmless to lose.
 * LevelDB writes every batch to one sequential log, so a later batch never
 * survives a crash without the earlier ones, and a batch survives whole or
 * not at all.
 *
 * RECOVERY. store_open() checks LevelDB's own files first (the CURRENT
 * file, the MANIFEST, the write-ahead logs), then reads back our records,
 * verifying every checksum and the shape of the log, and fills a struct
 * raft_restore for raft_new(). Anything that does not add up makes it
 * refuse with COORD_ECORRUPT and a message naming the record or file and
 * the index, ending in what to do.
 *
 * TORN TAIL. A WriteBatch is one record of LevelDB's write-ahead log; a
 * sync returns only after the whole record reached the disk. So the only
 * torn write this layout can show is an incomplete last record at the end
 * of a write-ahead log file -- cut short, or followed only by zeros, by a
 * crash (or a failed write) while it was being written: its sync never
 * returned, so nothing it held was acknowledged, and LevelDB drops it on
 * open. store_open() finds such a tail before LevelDB does, logs it
 * (file, offset, bytes) through the log callback and reports it in struct
 * store_restore. Nothing else is ever cut. A write-ahead log record whose
 * checksum fails, in the middle or at the end, and a log entry of ours
 * whose checksum fails -- whatever its index, above the commit index too
 * -- cannot come from a crash (batches are atomic and synced whole), and
 * an entry above the commit index may still be one this node acknowledged
 * to a leader that counted it: cutting it could lose a committed entry.
 * The store refuses to open instead.
 *
 * What cannot be told from a clean state: a write-ahead log cut exactly
 * between two records (by hand, or by a disk that lost a synced write)
 * looks like a store that was never written further; and a log file
 * newer than the one the MANIFEST names can vanish unnoticed. Both lose
 * synced writes silently; nothing inside the data dir can prove they
 * existed.
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
 * Persists what rd asks to persist (raft.h, step 1) in one WriteBatch
 * written with sync=true: rd->entries (the stored log is first truncated
 * from entries[0].index when that is at or below the last stored index)
 * and rd->hard_state when rd->hard_state_changed. A Ready without either
 * writes nothing.
 *
 * rd->snapshot: its data must have been installed first, by
 * store_snapshot_install_commit() with this same metadata, which stored
 * the metadata, dropped the log and switched the fsm keyspace in one
 * batch (raft.h's "the stored log is replaced by the snapshot"); doing it
 * there keeps a crash between the two from leaving metadata without the
 * data. A snapshot that is not the stored one is COORD_EINVAL.
 *
 * COORD_EINVAL, nothing written, for a Ready that breaks raft.h's
 * contract: entries that are not contiguous, that would leave a hole after
 * the stored log, that reach into the snapshot or that overwrite a
 * committed index, or a commit index past the resulting log. COORD_EIO
 * (the store is failed) when LevelDB cannot write or sync.
 */
int store_ready_persist(struct store *s, const struct raft_ready *rd);

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
 * and deletes the entries up to meta->index in one batch -- the runs below
 * it, and the run holding it is rewritten without them (sync=false:
 * losing it leaves the older snapshot and the entries, which is still
 * consistent). COORD_EINVAL when meta->index is below the stored snapshot
 * index, beyond the log, above the stored applied index (set that first),
 * or when meta->term is not the stored entry's term; COORD_ECORRUPT when
 * that entry fails its checksum. Equal to the stored snapshot: nothing to
 * do.
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
 * keyspace, meta is stored, the log is emptied (raft.h: the log is
 * replaced by the snapshot), commit and applied become meta->index. Then
 * the old generation is deleted. commit frees in, whatever it returns;
 * on failure the staging is removed.
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
