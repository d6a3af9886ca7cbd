/*
 * The spool: every accepted record, written to disk before the listener
 * answers 200, as an append-only, checksummed, segmented log in spool_dir
 * (DESIGN section 7; on-disk format in doc/spool-format.md). The spool
 * assigns the daemon-wide sequence numbers: a record's seq is decided under
 * the append lock, in file order, and is never reused (it survives restarts
 * and failed appends do not consume any). Sinks read the spool through
 * readers, each with a persistent cursor; retention deletes whole segments.
 *
 * Threads: spool_append, spool_maintain, spool_get_stats and
 * spool_cursor_remove may be called from any thread, concurrently. A reader
 * belongs to one thread at a time (its sink's), except spool_reader_interrupt
 * and spool_reader_get_stats, which any thread may call. Appends and reads
 * run concurrently. spool_close needs every reader closed and no append in
 * flight.
 *
 * Test-only hook: if the environment variable CIMLISTEN_SPOOL_FAULT (read by
 * spool_open) names a file and that file exists when an append is written,
 * the append fails with ENOSPC as if the disk were full. Nothing is written,
 * no seq is consumed. It costs one access(2) per write only when set.
 */
#ifndef CL_SPOOL_H
#define CL_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum spool_fsync {
	/* Written (write(2)) before append returns: survives kill -9. */
	SPOOL_FSYNC_NONE,
	/* As ALWAYS, but the leader first waits a little for company. */
	SPOOL_FSYNC_BATCH,
	/* fdatasync before append returns, shared by concurrent appenders. */
	SPOOL_FSYNC_ALWAYS,
};

#define SPOOL_SEGMENT_SIZE ((uint64_t)64 << 20)
#define SPOOL_BATCH_WINDOW_US 2000
#define SPOOL_BATCH_RECORDS 64
#define SPOOL_CURSOR_INTERVAL_MS 1000
/* Largest frame accepted (routing + line + 32 bytes of header). */
#define SPOOL_MAX_FRAME ((size_t)64 << 20)

/* Settings; zero means the default. Copied by spool_open. */
struct spool_params {
	const char *dir; /* spool_dir; created if missing (not its parents) */
	enum spool_fsync fsync;
	uint64_t segment_size; /* new segment past this (SPOOL_SEGMENT_SIZE) */
	uint64_t max_size;     /* spool_max_size in bytes; 0: unbounded */
	uint64_t max_age;      /* spool_max_age in s (segment mtime); 0: none */
	uint64_t min_next_seq; /* the first new seq is at least this */
	/*
	 * fsync=batch: before writing, the leader waits at most
	 * batch_window_us for as many pending records as its recent passes
	 * carried (adaptive, at most batch_records).
	 */
	unsigned batch_window_us;
	unsigned batch_records;
	unsigned cursor_interval_ms; /* min ms between cursor writes */
};

/*
 * One record to append. The spool writes the JSON line as
 * `{"v":1,"seq":<seq>` followed by `tail`, which must therefore start with
 * ',' (e.g. `,"time":...`) and end with '\n'. `routes` names the sinks the
 * record is routed to (may be none); names are non-empty, at most 255 bytes,
 * without NUL. Nothing is kept after spool_append returns.
 */
struct spool_entry {
	const char *tail;
	size_t tail_len;
	const char *const *routes;
	size_t nroutes;
};

/*
 * One record read back. Points into the reader's buffer: valid until the
 * next spool_reader_read/seek/close on that reader.
 */
struct spool_record {
	uint64_t seq;
	const char *line;   /* the JSON line, ending '\n'; not NUL-terminated */
	size_t len;	    /* bytes in line, '\n' included */
	const char *routes; /* nroutes NUL-terminated names, back to back */
	size_t nroutes;
};

/* Records a reader will never see: [from, to], both inclusive. */
enum spool_gap_reason {
	SPOOL_GAP_NONE,
	SPOOL_GAP_EXPIRED, /* deleted by spool_max_size / spool_max_age */
	SPOOL_GAP_CORRUPT, /* unreadable on disk (logged) */
};
struct spool_gap {
	uint64_t from;
	uint64_t to;
	enum spool_gap_reason reason;
};

/* Where a reader without a persisted cursor starts. */
enum spool_start {
	SPOOL_START_OLDEST, /* the oldest record still in the spool */
	SPOOL_START_NEW,    /* the next record appended after the open */
};

struct spool_stats {
	uint64_t appended;	  /* records appended since open */
	uint64_t appended_bytes;  /* bytes written since open (with headers) */
	uint64_t append_failures; /* appends that failed (each answered 503) */
	uint64_t writes;	 /* write passes (one per group of appenders) */
	uint64_t syncs;		 /* fdatasyncs covering appends */
	uint64_t synced_records; /* records they covered (per sync: / syncs) */
	uint64_t segments;	 /* segment files now */
	uint64_t bytes;		 /* their total size */
	uint64_t segments_deleted; /* by retention, since open */
	uint64_t segments_forced; /* ... by max_size/age with a reader behind */
	uint64_t oldest_seq; /* first seq still in the spool; 0 when empty */
	uint64_t newest_seq; /* last committed seq; 0 when none */
	uint64_t next_seq;   /* seq the next append gets */
	uint64_t recovered_cut_bytes; /* torn tail bytes cut by spool_open */
};

struct spool_reader_stats {
	uint64_t position;  /* next seq this reader will return */
	uint64_t acked;	    /* next seq after the last acked record */
	uint64_t persisted; /* cursor on disk (== acked after a flush) */
	uint64_t lost;	    /* records reported in gaps since open */
	uint64_t read;	    /* records returned since open */
};

struct spool;
struct spool_reader;

/* "none" | "batch" | "always" to enum; -1 if unknown. */
int spool_fsync_parse(const char *);
const char *spool_fsync_name(enum spool_fsync);

/*
 * Open (creating if needed) the spool in p->dir: take its lock file, load
 * cursors, recover the last segment (a torn or corrupt tail is logged and
 * cut) and run retention. NULL with *cause (caller frees) on failure.
 */
struct spool *spool_open(const struct spool_params *p, char **cause);
/* Sync and close. Readers must be closed first, no append in flight. */
void spool_close(struct spool *);

/*
 * Append entries[0..n) atomically, in order, with consecutive seqs; on
 * return 0 they are written (and synced, per the fsync setting) and
 * *first_seq is the first one's seq. On failure -1, errno set (ENOSPC, EIO,
 * EROFS, EINVAL for a bad entry, ...), *cause (caller frees) says why;
 * nothing of them remains on disk and no seq is consumed: the caller
 * answers 503 and a later append retries by itself. Concurrent appenders
 * are written (and synced) together by one of them.
 */
int spool_append(struct spool *, const struct spool_entry *entries, size_t n,
    uint64_t *first_seq, char **cause);

/*
 * Run retention now (appends and acks also run it when a segment fills or
 * a cursor passes one): delete segments every persisted cursor has passed,
 * then the oldest ones over max_size or older than max_age, never the
 * active one. Call it periodically (e.g. every few seconds) for max_age.
 */
void spool_maintain(struct spool *);

void spool_get_stats(struct spool *, struct spool_stats *);

/*
 * Forget the persisted cursor `name` (a sink removed from the config), so
 * that it no longer holds back retention. -1 (EBUSY) if a reader has it open.
 */
int spool_cursor_remove(struct spool *, const char *name);

/*
 * Open a reader. With a name, its cursor is persisted in spool_dir/cursors/
 * and restored on the next open (without a cursor file it starts at
 * `start`); persisted cursors hold back retention, open or not. A NULL
 * name makes an unnamed reader: it starts at `start`, persists nothing and
 * holds nothing back. Only one reader per name at a time (else EBUSY).
 * NULL with *cause (caller frees) on failure.
 */
struct spool_reader *spool_reader_open(
    struct spool *, const char *name, enum spool_start start, char **cause);
/* Flush the cursor (if named) and free the reader. */
void spool_reader_close(struct spool_reader *);

/*
 * Read the next records, in seq order, at most max: returns how many were
 * stored in recs[] (valid until the next call on this reader), 0 if none
 * came within timeout_ms (0: do not wait; <0: wait until data or
 * spool_reader_interrupt), or -1 with errno on an I/O error. Every call
 * sets *gap: when gap->reason is not SPOOL_GAP_NONE, records gap->from to
 * gap->to were lost to this reader, just before the returned records (the
 * call returns at once then, possibly with 0 records). The reader filters
 * nothing: skip records not routed to you (spool_record_routed).
 */
int spool_reader_read(struct spool_reader *, struct spool_record *recs,
    size_t max, int timeout_ms, struct spool_gap *gap);
/*
 * Everything up to and including seq is delivered. The cursor is persisted
 * lazily (at most every cursor_interval_ms); spool_reader_flush forces it.
 * After a crash the reader resumes after the last persisted ack.
 */
void spool_reader_ack(struct spool_reader *, uint64_t seq);
/* Persist the acked cursor now (shutdown, tests). 0, or -1 with errno. */
int spool_reader_flush(struct spool_reader *);
/* Read from `seq` next (redeliver, subscribers' numeric "from"); acks
 * unchanged. */
void spool_reader_seek(struct spool_reader *, uint64_t seq);
/*
 * Keep records from seq on (0: release) as if the cursor were there,
 * while a named reader reads back behind its cursor (redeliver); only
 * spool_max_size and spool_max_age remove them meanwhile. Not persisted.
 */
void spool_reader_hold(struct spool_reader *, uint64_t seq);
/* Make a blocked (or the next) spool_reader_read return 0 now. Any thread. */
void spool_reader_interrupt(struct spool_reader *);
/* The reader's name, NULL if unnamed. */
const char *spool_reader_name(const struct spool_reader *);
void spool_reader_get_stats(struct spool_reader *, struct spool_reader_stats *);

/* Is the record routed to the sink `name`? */
bool spool_record_routed(const struct spool_record *, const char *name);

/* CRC-32C (Castagnoli) of data, continuing from crc (0 to start). */
uint32_t spool_crc32c(uint32_t crc, const void *data, size_t len);

#endif
