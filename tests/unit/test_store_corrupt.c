/*
 * tests/unit/test_store_corrupt.c: a damaged store is refused with
 * COORD_ECORRUPT and a message naming what and where -- or, for a torn
 * tail, recovered with the tail logged -- and never opened with wrong
 * data. Damage is done through LevelDB itself (flipped bytes in our
 * records, holes, inconsistent records) and to LevelDB's files (flipped
 * bytes, truncation, removal), and the log-format scanner is checked on
 * hand-built logs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coordd/store/crc32c.h"
#include "coordd/store/store_int.h"
#include "tests/unit/store_test.h"
#include "tests/unit/test_store.h"

#define SEED 77

/* Runs the workload for steps steps in a new store in dir (persist, apply,
 * compact every compact_every, reopen every reopen_every), then closes
 * it. */
static void build_x(const char *dir, uint64_t steps, uint64_t reopen_every,
		    uint64_t compact_every)
{
	st_work_build(dir, SEED, steps, reopen_every, compact_every, 0);
}

/* Compacting at step 25 only leaves a log of the steps after it. */
static void build(const char *dir, uint64_t steps, uint64_t reopen_every)
{
	build_x(dir, steps, reopen_every, 25);
}

/* store_open() must refuse with COORD_ECORRUPT, naming `what` and the
 * remedy. */
static void refuses(const char *dir, const char *what)
{
	struct store_options o;
	struct store_restore rs;
	struct store *s;
	int rv;

	st_options(&o, NULL);
	rv = store_open(dir, &o, &s, &rs);
	ck_assert_msg(rv == COORD_ECORRUPT, "open: %s: %s (want %s)",
		      coord_error_name(rv), rs.errmsg, what);
	ck_assert_ptr_null(s);
	ck_assert_msg(strstr(rs.errmsg, what) != NULL, "message \"%s\" lacks "
		      "\"%s\"", rs.errmsg, what);
	ck_assert_msg(strstr(rs.errmsg, "remove the data dir") != NULL,
		      "message \"%s\" lacks the remedy", rs.errmsg);
	ck_assert_uint_eq(rs.raft.n_entries, 0);
}

static void opens(const char *dir)
{
	st_peek(dir, NULL, NULL, NULL);
}

#define LCG(x) ((x) * 6364136223846793005ull + 1442695040888963407ull)

/*
 * Bit flips anywhere in the raft log's segments -- in records, in their
 * framing, in segment headers, in the zeros after the data -- are refused,
 * naming the file; restored, the store opens again.
 */
START_TEST(segment_damage_is_refused_naming_the_file)
{
	char *dir = st_dir_new();
	uint64_t seqs[256], x = 12345;
	size_t n;

	build(dir, 60, 25);
	n = st_segs(dir, seqs, 256);
	ck_assert_uint_gt(n, 2);
	for (int round = 0; round < 40; round++) {
		char path[4096], want[64];
		size_t offs[1], end, pos, size;
		uint64_t seq;
		uint8_t mask;

		x = LCG(x);
		seq = seqs[(x >> 33) % n];
		st_seg_path(dir, seq, path, sizeof(path));
		st_seg_frames(path, offs, 1, &end);
		size = st_file_size(path);
		pos = (x >> 13) % end;
		if (round % 8 == 7 && size > end)
			pos = end + (x >> 13) % (size - end);
		mask = (uint8_t)(1u << ((x >> 7) % 8));
		st_file_flip(path, pos, mask);
		store_seg_name(want, sizeof(want), seq);
		refuses(dir, want);
		st_file_flip(path, pos, mask);
		opens(dir);
	}
	st_dir_free(dir);
}
END_TEST

/* Damage inside an entry names its index. */
START_TEST(entry_checksum_failure_refuses_naming_the_index)
{
	char *dir = st_dir_new();
	uint64_t seqs[256];
	size_t offs[64], end, n, checked = 0;
	char path[4096];

	build(dir, 60, 25);
	ck_assert_uint_gt(st_segs(dir, seqs, 256), 1);
	st_seg_path(dir, seqs[1], path, sizeof(path));
	n = st_seg_frames(path, offs, 64, &end);
	for (size_t i = 1; i < n; i++) {
		size_t len, flen;
		uint8_t *buf = st_file_read(path, &len);
		const uint8_t *b = buf + offs[i] + STORE_FRAME_HEADER;
		uint64_t first;
		uint32_t count;
		char want[128];

		flen = (i + 1 < n ? offs[i + 1] : end) - offs[i];
		if (b[0] != STORE_LREC_ENTRIES) {
			free(buf);
			continue;
		}
		first = store_get_be64(b + 1);
		count = store_get_be32(b + STORE_LREC_ENTRIES_HEAD +
				       STORE_CRC_LEN);
		/* The last byte of the last entry. */
		st_file_flip(path, offs[i] + flen - STORE_FRAME_TRAILER - 1,
			     0x20);
		snprintf(want, sizeof(want), "log entry index=%llu fails its "
			 "checksum", (unsigned long long)(first + count - 1));
		refuses(dir, want);
		st_file_flip(path, offs[i] + flen - STORE_FRAME_TRAILER - 1,
			     0x20);
		/* The run's header. */
		st_file_flip(path, offs[i] + STORE_FRAME_HEADER +
				   STORE_LREC_ENTRIES_HEAD + 5, 0x01);
		snprintf(want, sizeof(want), "the log record of entries from "
			 "index=%llu fails its checksum",
			 (unsigned long long)first);
		refuses(dir, want);
		st_file_flip(path, offs[i] + STORE_FRAME_HEADER +
				   STORE_LREC_ENTRIES_HEAD + 5, 0x01);
		free(buf);
		checked++;
	}
	ck_assert_uint_gt(checked, 0);
	opens(dir);
	st_dir_free(dir);
}
END_TEST

/* A copy of dir without segment seq must be refused naming want. */
static void refuses_without(const char *dir, uint64_t seq, const char *want)
{
	char *copy = st_dir_new(), path[4096];

	st_dir_copy(dir, copy);
	st_seg_path(copy, seq, path, sizeof(path));
	ck_assert_int_eq(unlink(path), 0);
	refuses(copy, want);
	st_dir_free(copy);
}

/* Segments cut short, grown, removed, misnamed, or strangers among them. */
START_TEST(cut_or_missing_segments_are_refused)
{
	char *dir = st_dir_new(), *copy, path[4096], other[4096], want[128];
	uint64_t seqs[256];
	size_t n, offs[4], end;

	build(dir, 60, 25);
	n = st_segs(dir, seqs, 256);
	ck_assert_uint_gt(n, 2);
	/* The newest one cut at the end of its data, inside a record, and
	 * grown. */
	for (int k = 0; k < 3; k++) {
		copy = st_dir_new();
		st_dir_copy(dir, copy);
		st_seg_path(copy, seqs[n - 1], path, sizeof(path));
		ck_assert_uint_ge(st_seg_frames(path, offs, 4, &end), 2);
		if (k == 2) {
			uint8_t z = 0;

			st_file_write(path, st_file_size(path), &z, 1);
		} else {
			st_file_truncate(path, k == 0 ? end : end - 3);
		}
		refuses(copy, "(cut short or grown)");
		st_dir_free(copy);
	}
	/* Cut below its header. */
	copy = st_dir_new();
	st_dir_copy(dir, copy);
	st_seg_path(copy, seqs[0], path, sizeof(path));
	st_file_truncate(path, 10);
	refuses(copy, "shorter than a segment header");
	st_dir_free(copy);
	/* A segment in the middle removed. */
	refuses_without(dir, seqs[1], "(segments before and after it exist)");
	/* The newest removed: the store recorded that it exists. */
	snprintf(want, sizeof(want), "%016llx.seg is missing (the store "
		 "recorded", (unsigned long long)seqs[n - 1]);
	refuses_without(dir, seqs[n - 1], want);
	/* The oldest removed: it held entries after the snapshot (the
	 * store removes the others itself). */
	refuses_without(dir, seqs[0], "not right after the snapshot");
	/* A segment under another's name. */
	copy = st_dir_new();
	st_dir_copy(dir, copy);
	st_seg_path(copy, seqs[0], path, sizeof(path));
	st_seg_path(copy, seqs[1], other, sizeof(other));
	ck_assert_int_eq(rename(path, other), 0);
	refuses(copy, "does not start with its own segment header");
	st_dir_free(copy);
	/* A stranger in the directory; the whole directory gone. */
	copy = st_dir_new();
	st_dir_copy(dir, copy);
	snprintf(path, sizeof(path), "%s/" STORE_LOG_DIR "/notes.txt", copy);
	st_file_write(path, 0, "x", 0);
	refuses(copy, "an unknown file " STORE_LOG_DIR "/notes.txt");
	unlink(path);
	for (size_t i = 0; i < n; i++) {
		st_seg_path(copy, seqs[i], path, sizeof(path));
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/" STORE_LOG_DIR, copy);
	ck_assert_int_eq(rmdir(path), 0);
	refuses(copy, "the raft log directory " STORE_LOG_DIR "/ is missing");
	st_dir_free(copy);
	opens(dir);
	st_dir_free(dir);
}
END_TEST

static void put_u64(const char *dir, char tag, uint64_t value)
{
	leveldb_t *db = st_raw_open(dir);
	uint8_t v[STORE_APPLIED_LEN];

	st_raw_put(db, &tag, 1, v, store_rec_u64_encode(v, tag, value));
	leveldb_close(db);
}

/* Appends a record to the newest segment, expects the refusal, takes
 * it back. */
static void refuses_with(const char *dir, const uint8_t *body, size_t blen,
			 const char *want)
{
	size_t len, off = st_seg_append(dir, body, blen, &len);

	refuses(dir, want);
	st_seg_unappend(dir, off, len);
}

static size_t body_hard(uint8_t *b, uint64_t term, uint64_t vote,
			uint64_t commit)
{
	b[0] = STORE_LREC_HARD;
	store_put_be64(b + 1, term);
	store_put_be64(b + 9, vote);
	store_put_be64(b + 17, commit);
	return STORE_LREC_HARD_BODY;
}

/* Records the store never writes, with sound checksums: only the
 * store's checks of the log's shape and state can tell. */
START_TEST(inconsistent_state_records_are_refused)
{
	char *dir = st_dir_new();
	uint64_t first, last, term, applied;
	struct raft_hard_state hs;
	struct store_options o;
	struct store_restore rs;
	struct raft_entry e;
	struct store *s;
	uint8_t b[128];
	char want[160];

	st_segment_bytes = 1 << 20;     /* room to append to */
	build(dir, 40, 0);
	st_options(&o, NULL);
	s = st_open(dir, &o, &rs);
	first = store_first_index(s);
	last = store_last_index(s);
	hs = store_hard_state(s);
	term = hs.term;
	applied = store_applied_index(s);
	store_restore_close(&rs);
	store_close(s);
	ck_assert_uint_gt(first, 2);
	/* The hard state's commit points past the log. */
	snprintf(want, sizeof(want), "hard state commit=%llu points past the "
		 "log's last index=%llu", (unsigned long long)last + 5,
		 (unsigned long long)last);
	refuses_with(dir, b, body_hard(b, term, hs.vote, last + 5), want);
	/* A commit below the snapshot is raised to it, as long as the log
	 * reaches it (a Ready that only moves the commit index writes
	 * nothing; test_store_log.c checks that open raises it). Beyond
	 * the log it is refused, as above. */
	/* Entry terms above the hard state's. */
	refuses_with(dir, b, body_hard(b, 0, 0, hs.commit), "outside [");
	/* A hole after the log. */
	st_entry(&e, last + 3, term, "x");
	b[0] = STORE_LREC_ENTRIES;
	store_put_be64(b + 1, last + 3);
	snprintf(want, sizeof(want), "hole in the log: entries index=%llu..%llu",
		 (unsigned long long)last + 1, (unsigned long long)last + 2);
	refuses_with(dir, b, STORE_LREC_ENTRIES_HEAD +
			     store_rec_run_encode(b + STORE_LREC_ENTRIES_HEAD,
						  &e, 1), want);
	/* An entries record too short to hold a run. */
	refuses_with(dir, b, 5, "an entries record of 5 bytes");
	/* A reset to a snapshot the store does not have. */
	b[0] = STORE_LREC_RESET;
	store_put_be64(b + 1, last + 10);
	store_put_be64(b + 9, term);
	refuses_with(dir, b, STORE_LREC_RESET_BODY, "does not record");
	/* Unknown record types, and known ones of the wrong size. */
	b[0] = 'Z';
	refuses_with(dir, b, 9, "an unknown raft log record (type 0x5a");
	b[0] = STORE_LREC_HARD;
	refuses_with(dir, b, 9, "an unknown raft log record (type 0x48");
	b[0] = STORE_LREC_RESET;
	refuses_with(dir, b, 9, "an unknown raft log record (type 0x52");
	/* The applied index outside [snapshot, commit]. */
	put_u64(dir, 'A', last + 1);
	refuses(dir, "is above the log's last index");
	put_u64(dir, 'A', first - 2);
	refuses(dir, "lacks entries");
	put_u64(dir, 'A', applied);
	/* An install record that fails its checksum. */
	{
		leveldb_t *db = st_raw_open(dir);

		st_raw_put(db, "I", 1, "xx", 2);
		leveldb_close(db);
		refuses(dir, "the install record fails its checksum");
		db = st_raw_open(dir);
		st_raw_delete(db, "I", 1);
		leveldb_close(db);
	}
	opens(dir);
	st_segment_bytes = 4096;
	st_dir_free(dir);
}
END_TEST

START_TEST(damaged_or_missing_records_are_refused)
{
	static const char tags[] = { 'V', 'L', 'M', 'A', 'G' };
	static const char *const names[] = { "format marker",
					     "raft log segment",
					     "snapshot metadata",
					     "applied index", "generation" };
	char *dir = st_dir_new();

	build(dir, 30, 0);
	for (int i = 0; i < 5; i++) {
		leveldb_t *db = st_raw_open(dir);
		size_t len;
		uint8_t *v = st_raw_get(db, &tags[i], 1, &len);
		char want[128];

		ck_assert_ptr_nonnull(v);
		v[len - 1] ^= 0x10;
		st_raw_put(db, &tags[i], 1, v, len);
		leveldb_close(db);
		snprintf(want, sizeof(want), "the %s record fails its checksum",
			 names[i]);
		refuses(dir, i == 0 ? "format marker record fails" : want);
		db = st_raw_open(dir);
		v[len - 1] ^= 0x10;
		st_raw_put(db, &tags[i], 1, v, len);
		/* Missing altogether. */
		if (tags[i] != 'M') {
			st_raw_delete(db, &tags[i], 1);
			leveldb_close(db);
			snprintf(want, sizeof(want), "the %s record is missing",
				 names[i]);
			refuses(dir, i == 0 ? "not a coord store" : want);
			db = st_raw_open(dir);
			st_raw_put(db, &tags[i], 1, v, len);
		}
		leveldb_close(db);
		free(v);
		opens(dir);
	}
	st_dir_free(dir);
}
END_TEST

START_TEST(foreign_and_unknown_keys_are_refused)
{
	char *dir = st_dir_new();
	leveldb_t *db;
	uint8_t v[STORE_VERSION_LEN];

	build(dir, 10, 0);
	db = st_raw_open(dir);
	st_raw_put(db, "Z", 1, "?", 1);
	leveldb_close(db);
	refuses(dir, "an unknown record key (1 bytes, first byte 0x5a)");
	db = st_raw_open(dir);
	st_raw_delete(db, "Z", 1);
	st_raw_put(db, "Hx", 2, "?", 1);
	leveldb_close(db);
	refuses(dir, "an unknown record key (2 bytes");
	db = st_raw_open(dir);
	st_raw_delete(db, "Hx", 2);
	st_raw_put(db, "F\x00", 2, "?", 1);
	leveldb_close(db);
	refuses(dir, "an fsm key of 2 bytes");
	db = st_raw_open(dir);
	st_raw_delete(db, "F\x00", 2);
	/* A newer format. */
	store_rec_version_encode(v);
	store_put_be32(v + STORE_VERSION_LEN - 4, 3);
	{
		uint8_t key = 'V';
		uint32_t crc = store_crc32c(&key, 1);

		store_put_be32(v, store_crc32c_extend(crc, v + 4,
						      sizeof(v) - 4));
	}
	st_raw_put(db, "V", 1, v, sizeof(v));
	leveldb_close(db);
	refuses(dir, "unknown store format version 3");
	st_dir_free(dir);
	/* Some other LevelDB database. */
	dir = st_dir_new();
	{
		leveldb_options_t *o = leveldb_options_create();
		char *err = NULL;

		leveldb_options_set_create_if_missing(o, 1);
		db = leveldb_open(o, dir, &err);
		ck_assert_ptr_null(err);
		leveldb_options_destroy(o);
	}
	st_raw_put(db, "user", 4, "data", 4);
	leveldb_close(db);
	refuses(dir, "not a coord store");
	st_dir_free(dir);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* LevelDB's log format. */

/* Appends one logical record in LevelDB's log format to buf (32 KiB
 * blocks, fragments, zero trailers). */
static size_t wal_add(uint8_t *buf, size_t len, const uint8_t *data, size_t n)
{
	bool begin = true;

	do {
		size_t left = 32768 - len % 32768, frag;
		uint8_t type;
		uint32_t crc;

		if (left < 7) {
			memset(buf + len, 0, left);
			len += left;
			left = 32768;
		}
		frag = n < left - 7 ? n : left - 7;
		type = begin && frag == n ? 1 : begin ? 2 : frag == n ? 4 : 3;
		buf[len + 4] = (uint8_t)frag;
		buf[len + 5] = (uint8_t)(frag >> 8);
		buf[len + 6] = type;
		memcpy(buf + len + 7, data, frag);
		crc = store_crc32c_mask(store_crc32c(buf + len + 6, frag + 1));
		buf[len] = (uint8_t)crc;
		buf[len + 1] = (uint8_t)(crc >> 8);
		buf[len + 2] = (uint8_t)(crc >> 16);
		buf[len + 3] = (uint8_t)(crc >> 24);
		len += 7 + frag;
		data += frag;
		n -= frag;
		begin = false;
	} while (n > 0);
	return len;
}

static int count_rec(void *ctx, const uint8_t *data, size_t len)
{
	size_t *total = ctx;

	(void)data;
	*total += len;
	return 0;
}

static struct store_wal_scan scan(const uint8_t *buf, size_t len)
{
	struct store_wal_scan out;
	uint8_t *scratch = NULL;
	size_t cap = 0, total = 0;

	st_code_eq(store_wal_scan(buf, len, &out, count_rec, &total, &scratch,
				  &cap, NULL),
		   COORD_OK);
	free(scratch);
	return out;
}

START_TEST(wal_scan_tells_torn_tails_from_corruption)
{
	uint8_t *buf = calloc(1, 300000), data[70000];
	size_t len = 0, ends[8];
	struct store_wal_scan r;
	static const size_t sizes[] = { 100, 32750, 5, 70000, 0, 200 };

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13 + 1);
	for (size_t i = 0; i < 6; i++) {
		len = wal_add(buf, len, data, sizes[i]);
		ends[i] = len;
	}
	r = scan(buf, len);
	ck_assert_ptr_null(r.bad_reason);
	ck_assert_uint_eq(r.records, 6);
	ck_assert_uint_eq(r.torn_bytes, 0);
	ck_assert_uint_eq(r.good_bytes, len);
	/* Cut anywhere inside a record: a torn tail back to its start. */
	for (size_t cut = ends[2] + 1; cut < ends[3]; cut += 997) {
		r = scan(buf, cut);
		ck_assert_ptr_null(r.bad_reason);
		ck_assert_uint_eq(r.records, 3);
		ck_assert_uint_eq(r.good_bytes, ends[2]);
		ck_assert_uint_eq(r.torn_bytes, cut - ends[2]);
	}
	r = scan(buf, ends[4] + 3);     /* a cut header */
	ck_assert_ptr_null(r.bad_reason);
	ck_assert_uint_eq(r.records, 5);
	ck_assert_uint_eq(r.torn_bytes, 3);
	/* A zero-filled tail. */
	memset(buf + len, 0, 5000);
	r = scan(buf, len + 5000);
	ck_assert_ptr_null(r.bad_reason);
	ck_assert_uint_eq(r.records, 6);
	ck_assert_uint_eq(r.torn_bytes, 5000);
	/* A checksum mismatch anywhere is corruption, even in the last
	 * record. */
	buf[ends[4] + 9] ^= 1;
	r = scan(buf, len);
	ck_assert_str_eq(r.bad_reason, "checksum mismatch");
	ck_assert_uint_eq(r.bad_offset, ends[4]);
	buf[ends[4] + 9] ^= 1;
	buf[20] ^= 0x80;
	r = scan(buf, len);
	ck_assert_str_eq(r.bad_reason, "checksum mismatch");
	ck_assert_uint_eq(r.bad_offset, 0);
	buf[20] ^= 0x80;
	/* A zeroed header before data LevelDB would then read. */
	memset(buf + ends[0], 0, 7);
	r = scan(buf, len);
	ck_assert_ptr_nonnull(strstr(r.bad_reason, "zeroed record header"));
	free(buf);
}
END_TEST

START_TEST(wal_scan_refuses_broken_fragments)
{
	uint8_t buf[40000], d[100];
	size_t len;
	struct store_wal_scan r;

	memset(d, 'x', sizeof(d));
	/* MIDDLE and LAST without FIRST; FIRST then FULL; unknown type;
	 * a length past a full block. */
	for (int t = 0; t < 5; t++) {
		memset(buf, 0, sizeof(buf));
		len = wal_add(buf, 0, d, 10);
		len = wal_add(buf, len, d, 10);
		if (t < 4) {
			buf[6] = t == 0 ? 3 : t == 1 ? 4 : t == 2 ? 2 : 9;
		} else {
			buf[4] = 0xff;
			buf[5] = 0xff;
			len = 32768 + 100;
		}
		if (t < 4) {
			uint32_t crc =
				store_crc32c_mask(store_crc32c(buf + 6, 11));

			buf[0] = (uint8_t)crc;
			buf[1] = (uint8_t)(crc >> 8);
			buf[2] = (uint8_t)(crc >> 16);
			buf[3] = (uint8_t)(crc >> 24);
		}
		r = scan(buf, len);
		ck_assert_ptr_nonnull(r.bad_reason);
		ck_assert_str_eq(r.bad_reason,
				 t < 2	 ? "missing start of fragmented record"
				 : t == 2 ? "partial record without end"
				 : t == 3 ? "unknown record type"
					  : "bad record length");
	}
	/* A fragmented record cut at the end: torn from its FIRST. */
	len = wal_add(buf, 0, d, 10);
	{
		uint8_t big[33000];

		memset(big, 'y', sizeof(big));
		memset(buf, 0, sizeof(buf));
		len = wal_add(buf, 0, d, 10);
		len = wal_add(buf, len, big, sizeof(big));
		r = scan(buf, 32768 + 50);
		ck_assert_ptr_null(r.bad_reason);
		ck_assert_uint_eq(r.records, 1);
		ck_assert_uint_eq(r.torn_bytes, 32768 + 50 - 17);
		r = scan(buf, 32768);
		ck_assert_uint_eq(r.records, 1);
		ck_assert_uint_eq(r.torn_bytes, 32768 - 17);
	}
}
END_TEST

START_TEST(wal_scan_reports_allocation_failure)
{
	uint8_t *buf = calloc(1, 80000), d[40000];
	size_t len;
	struct store_wal_scan r;
	struct cu_alloc a;
	uint8_t *scratch = NULL;
	size_t cap = 0;

	memset(d, 'z', sizeof(d));
	len = wal_add(buf, 0, d, sizeof(d));
	cu_alloc_init(&a);
	a.fail_at = 1;
	st_code_eq(store_wal_scan(buf, len, &r, NULL, NULL, &scratch, &cap,
				  &a.a),
		   COORD_ENOMEM);
	cu_alloc_init(&a);
	a.fail_at = 2;
	st_code_eq(store_wal_scan(buf, len, &r, NULL, NULL, &scratch, &cap,
				  &a.a),
		   COORD_ENOMEM);
	coord_free(&a.a, scratch);
	ck_assert_uint_eq(a.live, 0);
	free(buf);
}
END_TEST

/* The newest write-ahead log of a closed store. */
static char *newest_log(const char *dir)
{
	char **logs = st_dir_names(dir, ".log");
	char *path;
	size_t n = 0;

	while (logs[n] != NULL)
		n++;
	ck_assert_uint_gt(n, 0);
	path = malloc(strlen(dir) + strlen(logs[n - 1]) + 2);
	sprintf(path, "%s/%s", dir, logs[n - 1]);
	st_names_free(logs);
	return path;
}


/* A store of `steps` steps whose newest write-ahead log holds the fsm
 * batches of the last 5 (their entries are in the raft log). */
static void build_with_tail(const char *dir, uint64_t steps)
{
	build(dir, steps - 5, 0);
	/* Reopening moves the log into a table; the last 5 steps stay in
	 * the new log. */
	{
		struct store_options o;
		struct store_restore rs;
		struct store *s;
		struct st_work w;

		st_options(&o, NULL);
		st_work_init(&w, SEED);
		st_work_rewind(&w, SEED, steps - 5);
		s = st_open(dir, &o, &rs);
		store_restore_close(&rs);
		while (w.step < steps) {
			st_work_step(&w);
			st_code_eq(st_work_persist(&w, s), COORD_OK);
			st_code_eq(st_work_apply(&w, s), COORD_OK);
		}
		store_close(s);
		st_work_close(&w);
	}
}

/*
 * The raft log's torn tails: the last record of the newest segment cut
 * short (its end, or its header, never reached the file: zeros after a
 * prefix) is cut and logged; a whole record that fails its checksum is
 * not a torn write and is refused.
 */
START_TEST(torn_tail_of_a_segment_is_cut_and_logged)
{
	char *dir = st_dir_new(), path[4096];
	uint64_t seqs[256], last, term;
	struct store_options o;
	struct store_restore rs;
	struct st_log lg;
	struct raft_entry e;
	struct store *s;
	struct st_work w;
	uint8_t b[128];
	size_t n, off, len;

	st_segment_bytes = 1 << 20;     /* room to append to */
	build(dir, 40, 0);
	st_peek(dir, NULL, &last, &term);
	n = st_segs(dir, seqs, 256);
	st_seg_path(dir, seqs[n - 1], path, sizeof(path));
	st_entry(&e, last + 1, term, "never acknowledged");
	b[0] = STORE_LREC_ENTRIES;
	store_put_be64(b + 1, last + 1);
	for (int k = 0; k < 3; k++) {
		off = st_seg_append(dir, b, STORE_LREC_ENTRIES_HEAD +
				    store_rec_run_encode(
					    b + STORE_LREC_ENTRIES_HEAD, &e, 1),
				    &len);
		if (k == 2) {
			/* Whole, but failing its checksum. */
			st_file_flip(path, off + len - 8, 0x01);
			refuses(dir, "fails its checksum");
			st_seg_unappend(dir, off, len);
			continue;
		}
		/* k 0: the last 9 bytes never written; k 1: all but the
		 * first 5 bytes of the header. */
		st_seg_unappend(dir, k == 0 ? off + len - 9 : off + 5,
				k == 0 ? 9 : len - 5);
		st_options(&o, &lg);
		s = st_open(dir, &o, &rs);
		if (k == 0)
			ck_assert_uint_eq(rs.torn_bytes, len - 9);
		else
			ck_assert_uint_le(rs.torn_bytes, 5);
		ck_assert_uint_gt(rs.torn_bytes, 0);
		ck_assert_uint_eq(lg.n_warn, 1);
		ck_assert_ptr_nonnull(strstr(lg.text, "torn tail file="
						      STORE_LOG_DIR "/"));
		st_work_init(&w, SEED);
		ck_assert_ptr_null(st_work_check(&w, s, &rs, 40));
		st_work_close(&w);
		store_restore_close(&rs);
		store_close(s);
		/* Cut for good: the next open finds nothing to cut. */
		st_options(&o, &lg);
		s = st_open(dir, &o, &rs);
		ck_assert_uint_eq(rs.torn_bytes, 0);
		ck_assert_uint_eq(lg.n_warn, 0);
		store_restore_close(&rs);
		store_close(s);
	}
	st_segment_bytes = 4096;
	st_dir_free(dir);
}
END_TEST

START_TEST(torn_tail_of_the_wal_is_cut_and_logged)
{
	char *dir = st_dir_new(), *log;
	uint8_t *buf;
	size_t len, cut;
	struct store_wal_scan r;
	struct store_options o;
	struct store_restore rs;
	struct st_log lg;
	struct store *s;
	struct st_work w;
	uint64_t steps = 50;

	build_with_tail(dir, steps);
	log = newest_log(dir);
	buf = st_file_read(log, &len);
	r = scan(buf, len);
	ck_assert_ptr_null(r.bad_reason);
	ck_assert_uint_ge(r.records, 1);
	/* Cut into the last batch: it was never acknowledged. */
	cut = len - 3;
	st_file_truncate(log, cut);
	st_options(&o, &lg);
	s = st_open(dir, &o, &rs);
	ck_assert_uint_gt(rs.torn_bytes, 0);
	ck_assert_uint_eq(lg.n_warn, 1);
	ck_assert_ptr_nonnull(strstr(lg.text, "torn tail file="));
	ck_assert_ptr_nonnull(strstr(lg.text, "never synced"));
	/* The raft log is not in LevelDB: it is the last step's; the fsm
	 * batch cut was not synced and is replayed from the log. */
	st_work_init(&w, SEED);
	st_work_rewind(&w, SEED, steps);
	ck_assert(st_work_matches(&w, &rs));
	ck_assert_ptr_null(st_work_check(&w, s, &rs, steps));
	st_work_close(&w);
	store_restore_close(&rs);
	store_close(s);
	free(log);
	free(buf);
	st_dir_free(dir);
}
END_TEST

START_TEST(zero_filled_wal_tail_is_cut_and_logged)
{
	char *dir = st_dir_new(), *log;
	struct store_options o;
	struct store_restore rs;
	struct st_log lg;
	struct store *s;
	struct st_work w;
	FILE *fp;
	static const uint8_t zeros[4096];

	build_with_tail(dir, 40);
	log = newest_log(dir);
	fp = fopen(log, "ab");
	ck_assert_uint_eq(fwrite(zeros, 1, sizeof(zeros), fp), sizeof(zeros));
	fclose(fp);
	st_options(&o, &lg);
	s = st_open(dir, &o, &rs);
	ck_assert_uint_gt(rs.torn_bytes, 0);
	ck_assert_uint_le(rs.torn_bytes, sizeof(zeros));
	ck_assert_uint_eq(lg.n_warn, 1);
	st_work_init(&w, SEED);
	ck_assert_ptr_null(st_work_check(&w, s, &rs, 40));
	st_work_close(&w);
	store_restore_close(&rs);
	store_close(s);
	free(log);
	st_dir_free(dir);
}
END_TEST

START_TEST(damage_inside_the_wal_is_refused)
{
	char *dir = st_dir_new(), *log;
	uint8_t *buf;
	size_t len;

	build_with_tail(dir, 40);
	log = newest_log(dir);
	buf = st_file_read(log, &len);
	/* A flipped byte in the first record's payload. */
	st_file_flip(log, 20, 0x04);
	refuses(dir, "checksum mismatch");
	st_file_flip(log, 20, 0x04);
	/* A zeroed header with records after it (LevelDB would skip the
	 * block and read on). */
	{
		FILE *fp = fopen(log, "r+b");
		static const uint8_t z[7];

		fseek(fp, 0, SEEK_SET);
		fwrite(z, 1, 7, fp);
		fclose(fp);
	}
	refuses(dir, "zeroed record header");
	free(log);
	free(buf);
	st_dir_free(dir);
}
END_TEST

START_TEST(leveldb_bookkeeping_damage_is_refused)
{
	char *dir = st_dir_new(), *copy = st_dir_new(), path[4096];
	char **names;
	FILE *fp;

	build_with_tail(dir, 30);
	/* CURRENT missing while data files exist. */
	st_dir_copy(dir, copy);
	snprintf(path, sizeof(path), "%s/CURRENT", copy);
	unlink(path);
	refuses(copy, "CURRENT file is missing");
	/* CURRENT garbage; naming a missing or odd file. */
	fp = fopen(path, "w");
	fputs("garbage", fp);
	fclose(fp);
	refuses(copy, "CURRENT file in");
	fp = fopen(path, "w");
	fputs("MANIFEST-999999\n", fp);
	fclose(fp);
	refuses(copy, "which is missing");
	fp = fopen(path, "w");
	fputs("LOG\n", fp);
	fclose(fp);
	refuses(copy, "it names \"LOG\"");
	fp = fopen(path, "w");
	fputs("\n", fp);
	fclose(fp);
	refuses(copy, "CURRENT file in");
	st_dir_free(copy);
	/* The write-ahead log the MANIFEST names is missing. */
	copy = st_dir_new();
	st_dir_copy(dir, copy);
	names = st_dir_names(copy, ".log");
	for (char **n = names; *n != NULL; n++) {
		snprintf(path, sizeof(path), "%s/%s", copy, *n);
		unlink(path);
	}
	st_names_free(names);
	refuses(copy, "that the MANIFEST names is missing");
	st_dir_free(copy);
	/* A MANIFEST with no edit, and one with an edit that does not
	 * parse. */
	copy = st_dir_new();
	st_dir_copy(dir, copy);
	names = st_dir_names(copy, "");
	for (char **n = names; *n != NULL; n++) {
		uint8_t buf[64];
		static const uint8_t edit[2] = { 99, 1 };   /* tag 99 */
		size_t len;

		if (strncmp(*n, "MANIFEST-", 9) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", copy, *n);
		st_file_truncate(path, 0);
		refuses(copy, "holds no version edit");
		len = wal_add(buf, 0, edit, sizeof(edit));
		fp = fopen(path, "wb");
		fwrite(buf, 1, len, fp);
		fclose(fp);
		refuses(copy, "a version edit does not parse");
	}
	st_names_free(names);
	st_dir_free(copy);
	/* Without CURRENT and without data files: an unfinished creation,
	 * treated as a new store. */
	copy = st_dir_new();
	snprintf(path, sizeof(path), "%s/MANIFEST-000001", copy);
	fp = fopen(path, "w");
	fputs("x", fp);
	fclose(fp);
	opens(copy);
	st_dir_free(copy);
	st_dir_free(dir);
}
END_TEST

/*
 * Damage to LevelDB's files, at random: flip a byte, truncate or remove a
 * file. Each damaged copy must be refused with COORD_ECORRUPT and a
 * message, or open with a state that is exactly the model's after some
 * step -- the last one, or an earlier one only when the damage cut the
 * newest log short (a torn tail, logged, or a cut exactly between records,
 * which is indistinguishable from a store that was never written further)
 * -- and whose fsm keyspace is the replay of that log. Reading a damaged
 * table later may still fail: with COORD_ECORRUPT, never with wrong data.
 */
START_TEST(leveldb_file_damage_is_refused_or_recovered)
{
	char *dir = st_dir_new();
	uint64_t x = 0x9e3779b97f4a7c15ull ^ (uint64_t)_i, steps = 120;
	size_t refused = 0, intact = 0, rolled_back = 0, read_refused = 0;
	size_t boundary_cuts = 0;
	struct st_work w;

	build_x(dir, steps - 5, 40, 10);
	{
		/* A live tail in the newest log, as build_with_tail. */
		struct store_options o;
		struct store_restore rs;
		struct store *s;

		st_options(&o, NULL);
		st_work_init(&w, SEED);
		st_work_rewind(&w, SEED, steps - 5);
		s = st_open(dir, &o, &rs);
		store_restore_close(&rs);
		while (w.step < steps) {
			st_work_step(&w);
			st_code_eq(st_work_persist(&w, s), COORD_OK);
			st_code_eq(st_work_apply(&w, s), COORD_OK);
		}
		store_close(s);
	}
	for (int round = 0; round < 40; round++) {
		char *copy = st_dir_new(), path[4096];
		char **names;
		size_t n = 0, pick, size;
		int kind;
		bool cut_log = false, boundary = false;
		struct store_options o;
		struct store_restore rs;
		struct st_log lg;
		struct store *s;
		int rv;

		st_dir_copy(dir, copy);
		names = st_dir_names(copy, "");
		while (names[n] != NULL)
			n++;
		do {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			pick = x % n;
		} while (strcmp(names[pick], "LOCK") == 0 ||
			 strcmp(names[pick], "LOG") == 0 ||
			 strcmp(names[pick], "LOG.old") == 0);
		snprintf(path, sizeof(path), "%s/%s", copy, names[pick]);
		size = st_file_size(path);
		kind = (int)((x >> 20) % 3);
		if (size == 0)
			kind = 2;
		if (kind == 0) {
			st_file_flip(path, (x >> 24) % size,
				     (uint8_t)(1u << ((x >> 50) % 8)));
		} else if (kind == 1) {
			size_t at = (x >> 24) % size;

			st_file_truncate(path, at);
			if (strstr(names[pick], ".log") != NULL) {
				uint8_t *buf;
				size_t len;
				struct store_wal_scan r;

				cut_log = true;
				buf = st_file_read(path, &len);
				r = scan(buf, len);
				boundary = r.bad_reason == NULL &&
					   r.torn_bytes == 0;
				free(buf);
			}
		} else {
			unlink(path);
		}
		st_options(&o, &lg);
		rv = store_open(copy, &o, &s, &rs);
		if (rv != COORD_OK) {
			ck_assert_msg(rv == COORD_ECORRUPT,
				      "round %d (%s %s): %s: %s", round,
				      kind == 0 ? "flip" : kind == 1 ? "cut"
								     : "rm",
				      names[pick], coord_error_name(rv),
				      rs.errmsg);
			ck_assert(strlen(rs.errmsg) > 20);
			refused++;
		} else {
			uint64_t k = steps;
			const char *bad;

			while (k > 0) {
				st_work_rewind(&w, SEED, k);
				if (st_work_matches(&w, &rs))
					break;
				k--;
			}
			ck_assert_msg(k > 0 && (k == steps || cut_log),
				      "round %d (%s %s): opened with the state "
				      "of step %llu of %llu", round,
				      kind == 0 ? "flip" : kind == 1 ? "cut"
								     : "rm",
				      names[pick], (unsigned long long)k,
				      (unsigned long long)steps);
			if (k < steps)
				ck_assert_msg(rs.torn_bytes > 0 || boundary,
					      "round %d: silent rollback",
					      round);
			bad = st_work_check(&w, s, &rs, k);
			if (bad != NULL) {
				/* Allowed only as a read refusal. */
				ck_assert_msg(strstr(store_errmsg(s),
						     "Corruption") != NULL,
					      "round %d (%s): %s [%s]", round,
					      names[pick], bad,
					      store_errmsg(s));
				read_refused++;
			} else if (k == steps) {
				intact++;
			} else {
				rolled_back++;
				boundary_cuts += rs.torn_bytes == 0;
			}
			store_restore_close(&rs);
			store_close(s);
		}
		st_names_free(names);
		st_dir_free(copy);
	}
	/* The mix is random, but refusals must have happened. */
	ck_assert_uint_gt(refused, 0);
	if (getenv("ST_VERBOSE") != NULL)
		fprintf(stderr, "file damage seed=%d: refused=%zu intact=%zu "
			"log_cut=%zu (of which between records, unlogged: %zu) "
			"read_refused=%zu\n", _i, refused, intact,
			rolled_back, boundary_cuts, read_refused);
	st_work_close(&w);
	st_dir_free(dir);
}
END_TEST

Suite *store_corrupt_suite(void)
{
	Suite *s = suite_create("store_corrupt");

	ST_ADD(s, segment_damage_is_refused_naming_the_file);
	ST_ADD(s, entry_checksum_failure_refuses_naming_the_index);
	ST_ADD(s, cut_or_missing_segments_are_refused);
	ST_ADD(s, torn_tail_of_a_segment_is_cut_and_logged);
	ST_ADD(s, inconsistent_state_records_are_refused);
	ST_ADD(s, damaged_or_missing_records_are_refused);
	ST_ADD(s, foreign_and_unknown_keys_are_refused);
	ST_ADD(s, wal_scan_tells_torn_tails_from_corruption);
	ST_ADD(s, wal_scan_refuses_broken_fragments);
	ST_ADD(s, wal_scan_reports_allocation_failure);
	ST_ADD(s, torn_tail_of_the_wal_is_cut_and_logged);
	ST_ADD(s, zero_filled_wal_tail_is_cut_and_logged);
	ST_ADD(s, damage_inside_the_wal_is_refused);
	ST_ADD(s, leveldb_bookkeeping_damage_is_refused);
	ST_ADD_LOOP(s, leveldb_file_damage_is_refused_or_recovered, 0, 5);
	return s;
}
