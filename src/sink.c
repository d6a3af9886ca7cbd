/*
 * sink.c: the sink registry and the delivery machinery every kind shares.
 *
 * Each sink owns a FIFO of rendered lines (a growable ring of sink_line
 * pointers under one mutex) and one writer thread. Request threads append
 * with sink_enqueue, which never waits for the output: past the byte limit
 * it refuses the line and the caller decides (the spool still has it). The
 * writer takes up to SINK_BATCH_LINES lines or SINK_BATCH_BYTES bytes at a
 * time, drops the lock, and hands them to the kind's deliver. A transient
 * failure is retried for the undelivered rest, after an exponential backoff
 * (100 ms doubling to 30 s, +-20% jitter) that a stop or a reopen request
 * cuts short; the failure is logged once per episode and the recovery once.
 * A fatal answer drops the batch's rest and counts it.
 *
 * Lines stay counted in queued/queued_bytes until they are delivered or
 * dropped, so the byte limit bounds the memory a sink holds, in flight
 * included. The kind's open and close run in the owner's thread (before the
 * writer starts, after it has been joined); deliver and reopen run only in
 * the writer, so a kind needs no locking of its own.
 */
#include "autoconf.h"


#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "sink.h"
#include "xmalloc.h"

#define SINK_BATCH_LINES 1024
#define SINK_BATCH_BYTES ((size_t)4 << 20)
#define SINK_RING_MIN 256
#define SINK_RING_SHRINK 65536
#define SINK_BACKOFF_MIN_MS 100
#define SINK_BACKOFF_MAX_MS 30000

struct sink {
	struct sink_conf conf;       /* deep copy of the strings */
	const struct sink_ops *ops;
	void *priv;

	pthread_mutex_t lock;
	pthread_cond_t wake;         /* writer: work, stop or reopen */
	pthread_cond_t idle;         /* sink_wait_idle */
	pthread_t thread;
	bool started;
	bool writer_waiting;         /* writer sleeps on wake for work */
	bool busy;                   /* writer holds a batch */
	bool reopen_req;
	bool stopping;               /* no more lines accepted */
	bool stop_seen;              /* writer has retried once since stop */
	bool closed;
	struct timespec deadline;    /* CLOCK_MONOTONIC end of draining */

	struct sink_line **ring;     /* cap is a power of two */
	size_t cap;
	size_t head;
	size_t count;
	size_t inflight;             /* taken by the writer, not yet settled */
	size_t bytes;                /* queued + in flight */
	size_t max_bytes;
	size_t undelivered;          /* abandoned by the writer at stop */

	uint64_t enqueued;
	uint64_t delivered;
	uint64_t dropped;
	uint64_t failures;
	uint64_t last_seq;

	/* Writer-only state. */
	bool failing;                /* in a failure episode */
	unsigned fail_attempts;
	struct timespec fail_since;
	unsigned backoff_ms;
	uint64_t rng;
};

static const struct sink_ops *const sink_kinds[] = {
	&sink_file_ops,
};

struct sink_line *
sink_line_new(uint64_t seq, const char *data, size_t len)
{
	struct sink_line *l;

	l = xmalloc(sizeof *l + len + 1);
	l->seq = seq;
	atomic_init(&l->refs, 1);
	l->len = len;
	memcpy(l->data, data, len);
	l->data[len] = '\0';
	return l;
}

struct sink_line *
sink_line_ref(struct sink_line *l)
{
	atomic_fetch_add_explicit(&l->refs, 1, memory_order_relaxed);
	return l;
}

void
sink_line_unref(struct sink_line *l)
{
	if (l == NULL)
		return;
	if (atomic_fetch_sub_explicit(&l->refs, 1, memory_order_acq_rel) == 1)
		free(l);
}

const struct sink_ops *
sink_ops_find(const char *type)
{
	size_t i;

	if (type == NULL)
		return NULL;
	for (i = 0; i < sizeof sink_kinds / sizeof sink_kinds[0]; i++)
		if (strcmp(sink_kinds[i]->type, type) == 0)
			return sink_kinds[i];
	return NULL;
}

static void
now_mono(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

static void
ts_add_ms(struct timespec *ts, uint64_t ms)
{
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static bool
ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	    (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static double
ts_diff(const struct timespec *a, const struct timespec *b)
{
	return (double)(a->tv_sec - b->tv_sec) +
	    (double)(a->tv_nsec - b->tv_nsec) / 1e9;
}

/* A pseudo-random number for jitter (xorshift64*); writer only. */
static uint64_t
sink_random(struct sink *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 2685821657736338717ULL;
}

static char *
strdup_or_null(const char *s)
{
	return s == NULL ? NULL : xstrdup(s);
}

static void
sink_conf_free(struct sink_conf *c)
{
	free(c->name);
	free(c->type);
	free(c->path);
	free((char *)c->origin.file);
}

/* Create a sink with explicit ops and open it; NULL with *cause on failure. */
struct sink *
sink_new_with_ops(const struct sink_conf *conf, const struct sink_ops *ops,
    char **cause)
{
	struct sink *s;
	pthread_condattr_t ca;
	struct timespec now;

	s = xcalloc(1, sizeof *s);
	s->conf = *conf;
	s->conf.name = xstrdup(conf->name != NULL ? conf->name : "");
	s->conf.type = strdup_or_null(conf->type);
	s->conf.path = strdup_or_null(conf->path);
	s->conf.origin.file = strdup_or_null(conf->origin.file);
	s->ops = ops;
	s->max_bytes = SINK_MAX_BYTES;
	s->cap = SINK_RING_MIN;
	s->ring = xreallocarray(NULL, s->cap, sizeof *s->ring);
	s->backoff_ms = SINK_BACKOFF_MIN_MS;
	now_mono(&now);
	s->rng = ((uint64_t)now.tv_nsec << 20) ^ (uint64_t)now.tv_sec ^
	    (uint64_t)(uintptr_t)s;
	if (s->rng == 0)
		s->rng = 0x9e3779b97f4a7c15ULL;

	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca);
	pthread_cond_init(&s->idle, &ca);
	pthread_condattr_destroy(&ca);

	if (ops->open != NULL && ops->open(s, cause) != 0) {
		s->closed = true; /* nothing to close */
		sink_free(s);
		return NULL;
	}
	return s;
}

struct sink *
sink_new(const struct sink_conf *conf, char **cause)
{
	const struct sink_ops *ops;

	if ((ops = sink_ops_find(conf->type)) == NULL) {
		xasprintf(cause, "unknown sink type \"%s\"",
		    conf->type != NULL ? conf->type : "");
		return NULL;
	}
	return sink_new_with_ops(conf, ops, cause);
}

void
sink_set_max_bytes(struct sink *s, size_t max)
{
	pthread_mutex_lock(&s->lock);
	s->max_bytes = max;
	pthread_mutex_unlock(&s->lock);
}

/* Double the ring, unwrapping it. Lock held. */
static void
sink_ring_grow(struct sink *s)
{
	struct sink_line **r;
	size_t i, ncap = s->cap * 2;

	r = xreallocarray(NULL, ncap, sizeof *r);
	for (i = 0; i < s->count; i++)
		r[i] = s->ring[(s->head + i) & (s->cap - 1)];
	free(s->ring);
	s->ring = r;
	s->cap = ncap;
	s->head = 0;
}

int
sink_enqueue(struct sink *s, struct sink_line *l)
{
	pthread_mutex_lock(&s->lock);
	if (s->stopping || s->bytes > s->max_bytes ||
	    l->len > s->max_bytes - s->bytes) {
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	if (s->count == s->cap)
		sink_ring_grow(s);
	s->ring[(s->head + s->count) & (s->cap - 1)] = sink_line_ref(l);
	s->count++;
	s->bytes += l->len;
	s->enqueued++;
	if (s->writer_waiting)
		pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

void
sink_reopen(struct sink *s)
{
	pthread_mutex_lock(&s->lock);
	s->reopen_req = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

/* Take the next batch off the ring into `batch`. Lock held. */
static size_t
sink_take(struct sink *s, struct sink_line **batch)
{
	size_t n = 0, bytes = 0;
	struct sink_line *l;

	while (s->count > 0 && n < SINK_BATCH_LINES) {
		l = s->ring[s->head];
		if (n > 0 && bytes + l->len > SINK_BATCH_BYTES)
			break;
		batch[n++] = l;
		bytes += l->len;
		s->head = (s->head + 1) & (s->cap - 1);
		s->count--;
	}
	s->inflight = n;
	/* Give back what a burst made the ring grow to. */
	if (s->count == 0 && s->cap > SINK_RING_SHRINK) {
		free(s->ring);
		s->cap = SINK_RING_MIN;
		s->ring = xreallocarray(NULL, s->cap, sizeof *s->ring);
	}
	if (s->count == 0)
		s->head = 0;
	return n;
}

/*
 * Settle lines[0..n): delivered (or dropped when `drop`). Takes the lock;
 * the lines are released after it is dropped.
 */
static void
sink_settle(struct sink *s, struct sink_line *const *lines, size_t n,
    bool drop, bool failed)
{
	size_t i, bytes = 0;

	for (i = 0; i < n; i++)
		bytes += lines[i]->len;
	pthread_mutex_lock(&s->lock);
	s->bytes -= bytes;
	s->inflight -= n;
	if (drop)
		s->dropped += n;
	else {
		s->delivered += n;
		if (n > 0)
			s->last_seq = lines[n - 1]->seq;
	}
	if (failed)
		s->failures++;
	pthread_mutex_unlock(&s->lock);
	for (i = 0; i < n; i++)
		sink_line_unref(lines[i]);
}

/* Run the kind's reopen. Called with the lock held; drops it meanwhile. */
static void
sink_do_reopen(struct sink *s)
{
	char *cause = NULL;

	s->reopen_req = false;
	pthread_mutex_unlock(&s->lock);
	if (s->ops->reopen != NULL) {
		if (s->ops->reopen(s, &cause) != 0) {
			log_warnx("sink %s: reopen failed: %s", s->conf.name,
			    cause != NULL ? cause : "unknown error");
			free(cause);
		} else
			log_info("sink %s: reopened", s->conf.name);
	}
	pthread_mutex_lock(&s->lock);
}

/* Has the stop deadline passed? Lock held. */
static bool
sink_past_deadline(struct sink *s)
{
	struct timespec now;

	if (!s->stopping)
		return false;
	now_mono(&now);
	return !ts_before(&now, &s->deadline);
}

/*
 * Sleep out the current backoff before a retry; a reopen request or the
 * start of a stop ends it early. Returns false when the stop deadline has
 * passed and the writer must give up.
 */
static bool
sink_backoff(struct sink *s)
{
	struct timespec until;
	uint64_t delay;

	/* backoff * [0.8, 1.2) */
	delay = s->backoff_ms * (800 + sink_random(s) % 400) / 1000;
	s->backoff_ms *= 2;
	if (s->backoff_ms > SINK_BACKOFF_MAX_MS)
		s->backoff_ms = SINK_BACKOFF_MAX_MS;
	now_mono(&until);
	ts_add_ms(&until, delay);

	pthread_mutex_lock(&s->lock);
	for (;;) {
		if (s->reopen_req) {
			sink_do_reopen(s);
			break;
		}
		if (s->stopping) {
			if (sink_past_deadline(s)) {
				pthread_mutex_unlock(&s->lock);
				return false;
			}
			if (!s->stop_seen) {
				s->stop_seen = true;
				break;
			}
			if (ts_before(&s->deadline, &until))
				until = s->deadline;
		}
		if (pthread_cond_timedwait(&s->wake, &s->lock, &until) ==
		    ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&s->lock);
	return true;
}

/*
 * Deliver lines[0..n), retrying transient failures. Returns how many were
 * settled (delivered or dropped); fewer than n only when a stop's deadline
 * passed while retrying.
 */
static size_t
sink_deliver_batch(struct sink *s, struct sink_line *const *lines, size_t n)
{
	struct timespec now;
	enum sink_result r;
	size_t off = 0, done;
	char *cause;

	while (off < n) {
		done = 0;
		cause = NULL;
		r = s->ops->deliver(s, lines + off, n - off, &done, &cause);
		if (r == SINK_OK || done > n - off)
			done = n - off;
		sink_settle(s, lines + off, done, false, r != SINK_OK);
		off += done;

		if (r == SINK_OK) {
			if (s->failing) {
				now_mono(&now);
				log_notice("sink %s recovered after %u failed "
				    "attempts (%.1fs)", s->conf.name,
				    s->fail_attempts, ts_diff(&now,
				    &s->fail_since));
				s->failing = false;
				s->backoff_ms = SINK_BACKOFF_MIN_MS;
			}
			free(cause);
			continue;
		}
		if (r == SINK_FATAL) {
			log_warnx("sink %s: dropping %zu lines (seq %llu to "
			    "%llu): %s", s->conf.name, n - off,
			    (unsigned long long)lines[off]->seq,
			    (unsigned long long)lines[n - 1]->seq,
			    cause != NULL ? cause : "delivery failed");
			free(cause);
			sink_settle(s, lines + off, n - off, true, false);
			off = n;
			continue;
		}

		if (!s->failing) {
			s->failing = true;
			s->fail_attempts = 0;
			now_mono(&s->fail_since);
			log_warnx("sink %s: %s; retrying", s->conf.name,
			    cause != NULL ? cause : "delivery failed");
		} else
			log_debug("sink %s: still failing: %s", s->conf.name,
			    cause != NULL ? cause : "delivery failed");
		s->fail_attempts++;
		free(cause);
		if (off == n)
			break;
		if (!sink_backoff(s))
			break;
	}
	return off;
}

/* The writer thread: batches until stopped and drained (or out of time). */
static void *
sink_writer(void *arg)
{
	struct sink *s = arg;
	struct sink_line **batch;
	size_t n, settled, i;

	batch = xreallocarray(NULL, SINK_BATCH_LINES, sizeof *batch);
	pthread_mutex_lock(&s->lock);
	for (;;) {
		if (s->reopen_req) {
			sink_do_reopen(s);
			continue;
		}
		if (s->stopping && (s->count == 0 || sink_past_deadline(s)))
			break;
		if (s->count == 0) {
			pthread_cond_broadcast(&s->idle);
			s->writer_waiting = true;
			pthread_cond_wait(&s->wake, &s->lock);
			s->writer_waiting = false;
			continue;
		}
		n = sink_take(s, batch);
		s->busy = true;
		pthread_mutex_unlock(&s->lock);

		settled = sink_deliver_batch(s, batch, n);

		pthread_mutex_lock(&s->lock);
		if (settled < n) {
			/* Out of time: the rest stays undelivered. */
			for (i = settled; i < n; i++)
				s->bytes -= batch[i]->len;
			s->inflight = 0;
			s->undelivered += n - settled;
			pthread_mutex_unlock(&s->lock);
			for (i = settled; i < n; i++)
				sink_line_unref(batch[i]);
			pthread_mutex_lock(&s->lock);
		}
		s->busy = false;
	}
	s->busy = false;
	pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
	free(batch);
	return NULL;
}

void
sink_start(struct sink *s)
{
	sigset_t all, old;
	int error;

	/* The writer takes no asynchronous signals: the daemon waits for them
	 * in its own thread. */
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	error = pthread_create(&s->thread, NULL, sink_writer, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (error != 0)
		fatalx("sink %s: pthread_create: %s", s->conf.name,
		    strerror(error));
	pthread_mutex_lock(&s->lock);
	s->started = true;
	pthread_mutex_unlock(&s->lock);
}

/* Stop accepting and set (or bring forward) the drain deadline. */
static void
sink_stop_request(struct sink *s, unsigned timeout_sec)
{
	struct timespec deadline;

	now_mono(&deadline);
	ts_add_ms(&deadline, (uint64_t)timeout_sec * 1000);
	pthread_mutex_lock(&s->lock);
	if (!s->stopping || ts_before(&deadline, &s->deadline))
		s->deadline = deadline;
	s->stopping = true;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

void
sink_stop_begin(struct sink *s, unsigned timeout_sec)
{
	if (!s->closed)
		sink_stop_request(s, timeout_sec);
}

size_t
sink_stop(struct sink *s, unsigned timeout_sec)
{
	struct sink_line *l;
	size_t left;

	if (s->closed)
		return 0;
	sink_stop_request(s, timeout_sec);

	if (s->started)
		pthread_join(s->thread, NULL);

	/* The writer is gone: nothing else touches the queue but waiters. */
	pthread_mutex_lock(&s->lock);
	left = s->undelivered + s->count;
	while (s->count > 0) {
		l = s->ring[s->head];
		s->head = (s->head + 1) & (s->cap - 1);
		s->count--;
		s->bytes -= l->len;
		sink_line_unref(l);
	}
	s->head = 0;
	s->undelivered = 0;
	s->started = false;
	s->closed = true;
	pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);

	if (s->ops->close != NULL)
		s->ops->close(s);
	return left;
}

void
sink_free(struct sink *s)
{
	if (s == NULL)
		return;
	if (!s->closed)
		sink_stop(s, 0);
	free(s->ring);
	pthread_cond_destroy(&s->wake);
	pthread_cond_destroy(&s->idle);
	pthread_mutex_destroy(&s->lock);
	sink_conf_free(&s->conf);
	free(s);
}

const char *
sink_name(const struct sink *s)
{
	return s->conf.name;
}

const struct sink_conf *
sink_conf(const struct sink *s)
{
	return &s->conf;
}

void
sink_get_stats(struct sink *s, struct sink_stats *st)
{
	pthread_mutex_lock(&s->lock);
	st->enqueued = s->enqueued;
	st->delivered = s->delivered;
	st->dropped = s->dropped;
	st->failures = s->failures;
	st->queued = s->count + s->inflight;
	st->queued_bytes = s->bytes;
	st->last_seq = s->last_seq;
	pthread_mutex_unlock(&s->lock);
}

void *
sink_priv(const struct sink *s)
{
	return s->priv;
}

void
sink_set_priv(struct sink *s, void *priv)
{
	s->priv = priv;
}

bool
sink_wait_idle(struct sink *s, unsigned timeout_ms)
{
	struct timespec until;
	bool idle;

	now_mono(&until);
	ts_add_ms(&until, timeout_ms);
	pthread_mutex_lock(&s->lock);
	for (;;) {
		idle = s->closed || (s->count == 0 && !s->busy &&
		    !(s->reopen_req && s->started));
		if (idle || pthread_cond_timedwait(&s->idle, &s->lock,
		    &until) == ETIMEDOUT)
			break;
	}
	idle = s->closed || (s->count == 0 && !s->busy &&
	    !(s->reopen_req && s->started));
	pthread_mutex_unlock(&s->lock);
	return idle;
}
