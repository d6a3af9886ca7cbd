/*
 * Reliable-indication tracking (DMTF DSP1054, DESIGN section 3): per
 * (source address, SequenceContext) the recent SequenceNumbers seen, so
 * that a sender's retry (the identical instance with the same
 * SequenceContext and SequenceNumber and a new MESSAGE ID, which is never
 * looked at) is acknowledged but not delivered again, and gaps and
 * out-of-order arrivals in the sender's numbers are counted and reported.
 *
 * An indication is tracked when it has a non-NULL scalar SequenceContext of
 * type string (1 to SEQTRACK_MAX_CONTEXT_LEN bytes) and a non-NULL scalar
 * SequenceNumber of an integer type (sint64 per DSP1054; any integer type
 * is accepted) that is not negative; anything else is SEQ_UNTRACKED and
 * always delivered. Numbers are compared as uint64_t.
 *
 * Per key the highest number committed is remembered with a bitmap of the
 * `window` numbers ending at it. For a number n of a tracked indication:
 * - n above the highest: new; if n > highest + 1, a gap of
 *   n - highest - 1 numbers is counted and logged (one notice per gap,
 *   rate-limited). The first number of a key never counts as a gap.
 * - n within the window and already committed: duplicate.
 * - n within the window below the highest, not committed: new, counted as
 *   out of order (a late arrival, possibly filling an earlier gap).
 * - n at least `window` below the highest: new, and the key's track starts
 *   over at n, counted as a restart. This covers the wrap of the number
 *   back to 0 and senders that restart their numbering without a new
 *   context (which DSP1054 forbids); a very late retry from further back
 *   than the window is delivered again. Resetting never makes an unseen
 *   number look seen, so it can only cause duplicates, never losses.
 * A new SequenceContext from the same address is a new key (DSP1054: the
 * sender restarted). Each address keeps at most `max_contexts` keys and the
 * whole table at most `max_keys`; beyond that the least recently committed
 * key (of that address, else overall) is evicted and counted. A key that
 * was evicted or never seen has nothing committed: its numbers are new.
 *
 * Check and commit are separate so that nothing acknowledged is lost.
 * seqtrack_check only looks. seqtrack_commit records a number as seen and
 * must be called only once the indication is safe (appended to the spool),
 * and for a duplicate once the request was answered 200; if the append
 * fails (503) nothing is committed and the sender's retry is new again.
 * Only a committed number is ever a duplicate, so a duplicate verdict
 * always refers to an indication already in the spool.
 *
 * Threads: every function may be called from any thread, concurrently (one
 * mutex, held for a hash lookup and a few bit operations). Two concurrent
 * requests carrying the same key and number may both be told SEQ_NEW
 * (check, check, commit, commit): the indication is then delivered twice
 * (counted as `raced`), never lost.
 *
 * At start-up, the spool's retained records can be fed back in spool order
 * with seqtrack_restore (or seqtrack_restore_key), which commits without
 * counting or logging anything, so that a sender's retry across a daemon
 * restart is still recognised. Counters are since the daemon started.
 */
#ifndef CL_SEQTRACK_H
#define CL_SEQTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cim.h"

#define SEQTRACK_DEFAULT_WINDOW 1024
#define SEQTRACK_DEFAULT_MAX_KEYS 4096
#define SEQTRACK_DEFAULT_MAX_CONTEXTS 64
/* Longer SequenceContexts are not tracked. */
#define SEQTRACK_MAX_CONTEXT_LEN 1024

enum seqtrack_verdict {
	SEQ_UNTRACKED, /* no usable SequenceContext/SequenceNumber: deliver */
	SEQ_NEW,       /* not seen: deliver, then seqtrack_commit */
	SEQ_DUPLICATE, /* committed before: answer 200, do not deliver */
};

/* Settings; zero means the default. Copied by seqtrack_new. */
struct seqtrack_params {
	unsigned window;     /* numbers remembered per key, rounded up to 64 */
	size_t max_keys;     /* (address, context) keys in all */
	size_t max_contexts; /* keys per address */
};

/* Totals since seqtrack_new (seqtrack_restore counts nothing). */
struct seqtrack_stats {
	uint64_t tracked;      /* tracked indications committed as new */
	uint64_t untracked;    /* committed with SEQ_UNTRACKED */
	uint64_t duplicates;   /* committed as SEQ_DUPLICATE (not delivered) */
	uint64_t raced;        /* committed new but seen: delivered twice */
	uint64_t gaps;         /* gap episodes (jumps over missing numbers) */
	uint64_t missing;      /* numbers jumped over by those gaps */
	uint64_t out_of_order; /* late numbers within the window */
	uint64_t restarts;     /* tracks started over (number far below) */
	uint64_t evicted;      /* keys evicted by max_keys/max_contexts */
	size_t keys;           /* keys tracked now */
	size_t sources;        /* distinct addresses among them */
};

/* One key, for the control socket's `sources` command. */
struct seqtrack_source {
	const char *addr;      /* inside the snapshot's allocation */
	const char *context;   /* inside the snapshot's allocation */
	uint64_t last;         /* highest SequenceNumber committed */
	time_t last_seen;      /* wall clock of the last commit (or restore) */
	uint64_t tracked;
	uint64_t duplicates;
	uint64_t raced;
	uint64_t gaps;
	uint64_t missing;
	uint64_t out_of_order;
	uint64_t restarts;
};

struct seqtrack;

/* params may be NULL for the defaults. Never returns NULL. */
struct seqtrack *seqtrack_new(const struct seqtrack_params *params);
void seqtrack_free(struct seqtrack *);

/*
 * Extract the key of an indication: true with *context (borrowed from inst)
 * and *number if it is tracked as described above.
 */
bool seqtrack_key(const struct cim_instance *inst, const char **context,
    uint64_t *number);

/*
 * Has the indication `inst`, received from `addr` (the peer address as in
 * struct record_source; NULL is untracked), been committed before? Looks
 * only: changes and counts nothing.
 */
enum seqtrack_verdict seqtrack_check(struct seqtrack *, const char *addr,
    const struct cim_instance *inst);

/*
 * The request holding `inst` was answered 200: `checked` is what
 * seqtrack_check said. SEQ_NEW (the indication is in the spool) records
 * the number as seen and counts it (gap, out of order, restart);
 * SEQ_DUPLICATE counts a duplicate; SEQ_UNTRACKED counts an untracked one.
 */
void seqtrack_commit(struct seqtrack *, const char *addr,
    const struct cim_instance *inst, enum seqtrack_verdict checked);

/*
 * Start-up: feed back one record already accepted (from the spool, in
 * spool order) received from `addr` at `when` (0: now). Marks its number as
 * seen like a commit, without counting or logging; untracked ones are
 * ignored.
 */
void seqtrack_restore(struct seqtrack *, const char *addr,
    const struct cim_instance *inst, time_t when);
/* The same with the key already extracted (context non-empty). */
void seqtrack_restore_key(struct seqtrack *, const char *addr,
    const char *context, uint64_t number, time_t when);

void seqtrack_get_stats(struct seqtrack *, struct seqtrack_stats *);

/*
 * Every key now, sorted by address then context, in one allocation: *out
 * (NULL when there are none) is freed by the caller with free(3). Returns
 * the number of entries.
 */
size_t seqtrack_snapshot(struct seqtrack *, struct seqtrack_source **out);

#endif
