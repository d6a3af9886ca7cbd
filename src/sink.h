/*
 * Sinks: where records go. Each configured sink has its own queue and
 * writer thread, so a slow or failing sink never stalls reception or the
 * other sinks. A sink kind (sink_<kind>.c) exports one const struct
 * sink_ops; sink.c holds the registry and the shared delivery logic:
 * batching, retry with capped exponential backoff and jitter, reopen,
 * draining on stop, statistics.
 */
#ifndef CL_SINK_H
#define CL_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/*
 * One rendered record, shared by every sink it is routed to: immutable
 * after creation, reference-counted (atomically), freed at zero.
 */
struct sink_line {
	uint64_t seq;
	_Atomic unsigned refs;       /* use sink_line_ref/unref */
	size_t len;                  /* bytes in data, including the final '\n' */
	char data[];                 /* NUL-terminated (not counted in len) */
};

struct sink_line *sink_line_new(uint64_t seq, const char *data, size_t len); /* refs = 1 */
struct sink_line *sink_line_ref(struct sink_line *);
void sink_line_unref(struct sink_line *);

enum sink_result {
	SINK_OK,       /* everything handed over */
	SINK_RETRY,    /* transient failure: try the undelivered rest later */
	SINK_FATAL,    /* this batch can never be delivered: drop it, count it */
};

struct sink;

struct sink_ops {
	const char *type;
	/* Prepare (open files, ...). Called once before the writer starts. */
	int (*open)(struct sink *, char **cause);
	/*
	 * Deliver lines[0..n). On return *done says how many were delivered
	 * (all of them for SINK_OK); *cause (malloc'd) may explain a failure.
	 */
	enum sink_result (*deliver)(struct sink *, struct sink_line *const *lines,
	    size_t n, size_t *done, char **cause);
	/* Reopen output (logrotate). Called from the writer thread. */
	int (*reopen)(struct sink *, char **cause);
	void (*close)(struct sink *);
};

struct sink_stats {
	uint64_t enqueued;      /* lines accepted into the queue */
	uint64_t delivered;     /* lines delivered */
	uint64_t dropped;       /* lines dropped after SINK_FATAL */
	uint64_t failures;      /* failed delivery attempts */
	uint64_t queued;        /* lines waiting now */
	uint64_t queued_bytes;
	uint64_t last_seq;      /* last delivered sequence number */
};

/* Look up a kind's ops by type name; NULL if not built in. */
const struct sink_ops *sink_ops_find(const char *type);

/*
 * Create and open a sink for `conf` (copied). NULL with *cause on failure;
 * the cause does not name the sink (the caller adds name and origin).
 */
struct sink *sink_new(const struct sink_conf *conf, char **cause);
/* The same with explicit ops (tests, kinds not in the registry). */
struct sink *sink_new_with_ops(const struct sink_conf *conf,
    const struct sink_ops *ops, char **cause);
/* Change the queue's byte limit (default SINK_MAX_BYTES). */
void sink_set_max_bytes(struct sink *, size_t);
#define SINK_MAX_BYTES ((size_t)256 << 20)
/* Start the writer thread. */
void sink_start(struct sink *);
/*
 * Queue a line (takes a new reference). Never blocks on the sink's output;
 * returns -1 (nothing queued) when the queue is over its byte limit.
 */
int sink_enqueue(struct sink *, struct sink_line *);
/* Ask the writer to reopen its output before its next delivery. */
void sink_reopen(struct sink *);
/*
 * Deliver what is queued (waiting at most timeout_sec), stop the writer
 * and close. Returns the number of lines left undelivered.
 */
size_t sink_stop(struct sink *, unsigned timeout_sec);
/*
 * Stop accepting and start draining with a deadline, without waiting: call
 * it on every sink, then sink_stop on each, so that they drain in parallel
 * and a failing sink does not eat the others' time. sink_stop keeps the
 * earlier of the two deadlines.
 */
void sink_stop_begin(struct sink *, unsigned timeout_sec);
/* Free a sink (stopping it first, without waiting, if it was not). */
void sink_free(struct sink *);

const char *sink_name(const struct sink *);
const struct sink_conf *sink_conf(const struct sink *);
void sink_get_stats(struct sink *, struct sink_stats *);
/* Per-kind private state. */
void *sink_priv(const struct sink *);
void sink_set_priv(struct sink *, void *);
/* Wait until the queue is empty and nothing is being delivered (tests); false on timeout. */
bool sink_wait_idle(struct sink *, unsigned timeout_ms);

/* sink_file.c */
extern const struct sink_ops sink_file_ops;

#endif
