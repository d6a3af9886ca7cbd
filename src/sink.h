/*
 * Sinks: where records go. Each configured sink reads the spool through its
 * own reader (a persistent cursor named by the sink) in its own writer
 * thread, so a slow or failing sink never stalls reception or the other
 * sinks, and what it has not delivered survives restarts. (A socket sink
 * has no writer: each of its subscribers reads the spool in its own
 * thread, and the sink only counts what was routed to it.) A sink kind
 * (sink_<kind>.c) exports one const struct sink_ops; sink.c holds the
 * registry and the shared delivery logic: skipping records routed
 * elsewhere, batching, retry with capped exponential backoff and jitter,
 * reopen, gaps, draining on stop, statistics.
 */
#ifndef CL_SINK_H
#define CL_SINK_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "spool.h"

/*
 * One record to deliver: its seq and its JSON line (ending '\n', not
 * NUL-terminated), valid only during the deliver call. A record cut short
 * by a failed write comes back with the same seq on the retry.
 */
struct sink_line {
	uint64_t seq;
	const char *data;
	size_t len;                  /* bytes in data, including the final '\n' */
};

enum sink_result {
	SINK_OK,       /* everything handed over */
	SINK_RETRY,    /* transient failure: try the undelivered rest later */
	SINK_FATAL,    /* this batch can never be delivered: drop it, count it */
};

struct sink;

struct sink_ops {
	const char *type;
	/*
	 * The kind's consumers read the spool themselves (socket: every
	 * subscriber has its own reader): the sink has no writer thread and
	 * no cursor, deliver is not called, and a record routed to it counts
	 * as delivered once it is in the spool (sink_appended).
	 */
	bool no_writer;
	/* Prepare (open files, ...). Called once before the writer starts. */
	int (*open)(struct sink *, char **cause);
	/*
	 * Optional: called by sink_start once the spool is open (sink_spool),
	 * before the writer starts; -1 with *cause fails the start.
	 */
	int (*start)(struct sink *, char **cause);
	/*
	 * Deliver lines[0..n). On return *done says how many were delivered
	 * (all of them for SINK_OK); *cause (malloc'd) may explain a failure.
	 */
	enum sink_result (*deliver)(struct sink *, const struct sink_line *lines,
	    size_t n, size_t *done, char **cause);
	/* Reopen output (logrotate). Called from the writer thread. */
	int (*reopen)(struct sink *, char **cause);
	void (*close)(struct sink *);
};

struct sink_stats {
	uint64_t delivered;     /* records delivered since start */
	uint64_t dropped;       /* records dropped after SINK_FATAL */
	uint64_t failures;      /* failed delivery attempts */
	uint64_t lost;          /* records lost to retention or corruption */
	uint64_t last_seq;      /* last delivered sequence number */
	uint64_t position;      /* next seq to pass: all below are settled */
	int64_t last_time_us;   /* receive time (epoch us) of the last delivered, 0 */
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
/*
 * Open the sink's spool reader (its cursor, named by the sink; without one
 * it starts at the oldest record the spool holds) and start the writer
 * thread. -1 with *cause on failure.
 */
int sink_start(struct sink *, struct spool *, char **cause);
/*
 * The same, starting at `start` when the sink has no cursor yet (a sink a
 * reload adds starts at SPOOL_START_NEW: nothing before it was routed to
 * it).
 */
int sink_start_at(struct sink *, struct spool *, enum spool_start start,
    char **cause);
/*
 * Send records [from, to] routed to the sink again (to: UINT64_MAX for
 * "up to where it is"), then go on from where the writer was: records it
 * had delivered after `to` are not sent again, those it had not are sent
 * as usual. The writer takes the request before its next read. *position
 * is the sink's position when asked. -1 with *cause if it is not running.
 * The cursor does not move back: after a crash meanwhile the replay is
 * not resumed.
 */
int sink_redeliver(struct sink *, uint64_t from, uint64_t to,
    uint64_t *position, char **cause);
/* Whether the sink has a writer thread (see sink_ops.no_writer). */
bool sink_has_writer(const struct sink *);
/*
 * For a sink without a writer: the record `seq`, routed to it and
 * received at time_us (epoch microseconds), is in the spool.
 */
void sink_appended(struct sink *, uint64_t seq, int64_t time_us);
/* Ask the writer to reopen its output before its next delivery. */
void sink_reopen(struct sink *);
/*
 * Deliver what the spool holds for the sink (waiting at most timeout_sec),
 * stop the writer, persist the cursor and close. Returns the number of
 * spool records the sink had not passed (delivered or skipped as routed
 * elsewhere); they are delivered after the next start.
 */
uint64_t sink_stop(struct sink *, unsigned timeout_sec);
/*
 * Start draining with a deadline, without waiting: call it on every sink,
 * then sink_stop on each, so that they drain in parallel and a failing sink
 * does not eat the others' time. sink_stop keeps the earlier of the two
 * deadlines.
 */
void sink_stop_begin(struct sink *, unsigned timeout_sec);
/* Free a sink (stopping it first, without waiting, if it was not). */
void sink_free(struct sink *);

const char *sink_name(const struct sink *);
const struct sink_conf *sink_conf(const struct sink *);
void sink_get_stats(struct sink *, struct sink_stats *);
/*
 * How long (ms) the writer has been inside one call of the kind's deliver;
 * 0 when it is not in one. Any thread.
 */
unsigned sink_busy_ms(struct sink *);
/* The spool the sink reads (from sink_start on), NULL before. */
struct spool *sink_spool(const struct sink *);
/*
 * Start a thread that takes no asynchronous signals (the daemon waits for
 * them in its own thread). 0, or an errno value.
 */
int sink_thread_create(pthread_t *, void *(*fn)(void *), void *arg);
/*
 * Name the calling thread "WHAT NAME" (cut to the kernel's 15 bytes) so
 * that top -H, ps -L and perf tell the daemon's threads apart.
 */
void thread_set_name(const char *what, const char *name);
/* The receive-to-delivered latency of the sink's records. Any thread. */
struct histo_snapshot;
void sink_get_latency(struct sink *, struct histo_snapshot *);
/* Per-kind private state. */
void *sink_priv(const struct sink *);
void sink_set_priv(struct sink *, void *);
/*
 * Wait until the sink has passed every record in the spool and is not
 * delivering (tests); true at once for a sink not started. False on
 * timeout.
 */
bool sink_wait_idle(struct sink *, unsigned timeout_ms);
/*
 * Has a stop's deadline passed? A kind whose deliver can block for long
 * (exec) checks it now and then and gives up with SINK_RETRY when it has.
 */
bool sink_stop_due(struct sink *);

/*
 * Writer thread only: sleep until `until` (CLOCK_MONOTONIC), for kinds that
 * pace their output. False, early, when the stop deadline passes first.
 */
bool sink_sleep(struct sink *, const struct timespec *until);

/* sink_file.c */
extern const struct sink_ops sink_file_ops;
/* sink_syslog.c */
extern const struct sink_ops sink_syslog_ops;
/* sink_journal.c */
extern const struct sink_ops sink_journal_ops;
/* sink_exec.c */
extern const struct sink_ops sink_exec_ops;
/* sink_socket.c */
extern const struct sink_ops sink_socket_ops;

#endif
