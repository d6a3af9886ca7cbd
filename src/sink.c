/*
 * sink.c: the sink registry and the delivery machinery every kind shares.
 *
 * Each sink has one writer thread reading the spool through the sink's
 * reader (cursor named by the sink). It takes up to SINK_BATCH_RECORDS
 * records at a time, skips those not routed to the sink, hands the rest to
 * the kind's deliver as one batch and acks the batch's last seq (skipped
 * records count as passed). A transient failure acks the delivered prefix,
 * seeks the reader back to the first undelivered record and retries after
 * an exponential backoff (100 ms doubling to 30 s, +-20% jitter) that a
 * stop or a reopen request cuts short; the failure is logged once per
 * episode and the recovery once. A fatal answer drops the batch's rest and
 * counts it. Records the spool lost before the sink read them (retention,
 * corruption) are counted as lost and logged once per episode.
 *
 * Request threads never touch a sink: they append to the spool, which wakes
 * the readers. The kind's open and close run in the owner's thread (before
 * the writer starts, after it has been joined); deliver and reopen run only
 * in the writer, so a kind needs no locking of its own. The cursor is
 * persisted by the spool at most every second while acks flow, when the
 * writer goes idle, and at stop.
 */
#include "autoconf.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "histo.h"
#include "log.h"
#include "sink.h"
#include "spool.h"
#include "xmalloc.h"

#define SINK_BATCH_RECORDS 1024
#define SINK_IDLE_MS 1000
#define SINK_BACKOFF_MIN_MS 100
#define SINK_BACKOFF_MAX_MS 30000

struct sink {
	struct sink_conf conf;       /* deep copy of the strings */
	const struct sink_ops *ops;
	void *priv;
	struct spool *spool;
	struct spool_reader *reader; /* between start and stop */

	pthread_mutex_t lock;
	pthread_cond_t wake;         /* backoff: stop or reopen */
	pthread_cond_t idle;         /* sink_wait_idle: progress */
	pthread_t thread;
	bool started;
	bool reopen_req;
	bool stopping;
	bool stop_seen;              /* writer has retried once since stop */
	bool closed;
	struct timespec deadline;    /* CLOCK_MONOTONIC end of draining */
	bool redeliver_req;          /* sink_redeliver: [rd_from, rd_to] */
	uint64_t rd_from, rd_to;

	uint64_t delivered;
	uint64_t dropped;
	uint64_t failures;
	uint64_t lost;
	uint64_t last_seq;
	uint64_t passed;             /* next seq to settle */
	int64_t last_time_us;        /* receive time of the last delivered */
	struct histo latency;        /* receive -> delivered */
	struct timespec in_deliver;  /* when the kind's deliver began; 0: not in it */

	/* Writer-only state. */
	bool failing;                /* in a failure episode */
	unsigned fail_attempts;
	struct timespec fail_since;
	unsigned backoff_ms;
	bool losing;                 /* in a loss episode */
	uint64_t lost_from, lost_to, lost_episode;
	uint64_t rng;
	bool replaying;              /* sending [.., replay_end] again */
	uint64_t replay_end, replay_resume;
};

static const struct sink_ops *const sink_kinds[] = {
	&sink_file_ops,
	&sink_syslog_ops,
	&sink_journal_ops,
	&sink_exec_ops,
	&sink_socket_ops,
};

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

/* Create a sink with explicit ops and open it; NULL with *cause on failure. */
struct sink *
sink_new_with_ops(const struct sink_conf *conf, const struct sink_ops *ops,
    char **cause)
{
	struct sink *s;
	pthread_condattr_t ca;
	struct timespec now;

	s = xcalloc(1, sizeof *s);
	config_sink_conf_copy(&s->conf, conf);
	if (s->conf.name == NULL)
		s->conf.name = xstrdup("");
	s->ops = ops;
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

bool
sink_has_writer(const struct sink *s)
{
	return !s->ops->no_writer;
}

void
sink_appended(struct sink *s, uint64_t seq, int64_t time_us)
{
	pthread_mutex_lock(&s->lock);
	s->delivered++;
	if (seq > s->last_seq) {
		s->last_seq = seq;
		s->last_time_us = time_us;
	}
	pthread_mutex_unlock(&s->lock);
}

void
sink_reopen(struct sink *s)
{
	if (s->ops->no_writer)
		return; /* nothing of its own to reopen */
	pthread_mutex_lock(&s->lock);
	s->reopen_req = true;
	pthread_cond_signal(&s->wake);
	if (s->reader != NULL)
		spool_reader_interrupt(s->reader);
	pthread_mutex_unlock(&s->lock);
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

bool
sink_stop_due(struct sink *s)
{
	bool due;

	pthread_mutex_lock(&s->lock);
	due = sink_past_deadline(s);
	pthread_mutex_unlock(&s->lock);
	return due;
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

bool
sink_sleep(struct sink *s, const struct timespec *until)
{
	bool ok = true;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		if (sink_past_deadline(s)) {
			ok = false;
			break;
		}
		if (s->stopping && ts_before(&s->deadline, until)) {
			if (pthread_cond_timedwait(&s->wake, &s->lock,
			    &s->deadline) == ETIMEDOUT) {
				ok = false;
				break;
			}
		} else if (pthread_cond_timedwait(&s->wake, &s->lock,
		    until) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&s->lock);
	return ok;
}

/* A failed attempt: count it, log the first of an episode. */
static void
sink_failed(struct sink *s, const char *cause)
{
	pthread_mutex_lock(&s->lock);
	s->failures++;
	pthread_mutex_unlock(&s->lock);
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
}

/* A delivery went through: end a failure episode. */
static void
sink_succeeded(struct sink *s)
{
	struct timespec now;

	if (!s->failing)
		return;
	now_mono(&now);
	log_notice("sink %s recovered after %u failed attempts (%.1fs)",
	    s->conf.name, s->fail_attempts, ts_diff(&now, &s->fail_since));
	s->failing = false;
	s->backoff_ms = SINK_BACKOFF_MIN_MS;
}

static const char *
gap_reason(enum spool_gap_reason r)
{
	return r == SPOOL_GAP_EXPIRED ? "removed by spool retention" :
	    "unreadable in the spool";
}

/* Records the spool lost for us: count them, log once per episode. */
static void
sink_lost(struct sink *s, const struct spool_gap *gap)
{
	uint64_t n = gap->to - gap->from + 1;

	pthread_mutex_lock(&s->lock);
	s->lost += n;
	if (gap->to + 1 > s->passed)
		s->passed = gap->to + 1;
	pthread_mutex_unlock(&s->lock);
	if (!s->losing) {
		s->losing = true;
		s->lost_from = gap->from;
		s->lost_episode = 0;
		log_warnx("sink %s: lost records %llu to %llu (%s) before "
		    "delivering them", s->conf.name,
		    (unsigned long long)gap->from,
		    (unsigned long long)gap->to, gap_reason(gap->reason));
	} else
		log_debug("sink %s: lost records %llu to %llu (%s)",
		    s->conf.name, (unsigned long long)gap->from,
		    (unsigned long long)gap->to, gap_reason(gap->reason));
	s->lost_to = gap->to;
	s->lost_episode += n;
}

/* Records were read again after a loss: close the episode with a total. */
static void
sink_loss_over(struct sink *s)
{
	if (!s->losing)
		return;
	s->losing = false;
	log_notice("sink %s: %llu records lost in all (seq %llu to %llu); "
	    "delivering again from %llu", s->conf.name,
	    (unsigned long long)s->lost_episode,
	    (unsigned long long)s->lost_from, (unsigned long long)s->lost_to,
	    (unsigned long long)s->lost_to + 1);
}

/* Everything up to `seq` is settled: ack it and wake sink_wait_idle. */
static void
sink_pass(struct sink *s, uint64_t seq)
{
	spool_reader_ack(s->reader, seq);
	pthread_mutex_lock(&s->lock);
	if (seq + 1 > s->passed)
		s->passed = seq + 1;
	pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
}

/*
 * The receive time of a record line, from its "time" value
 * (YYYY-MM-DDTHH:MM:SS.uuuuuuZ) in microseconds since the epoch; 0 if the
 * line has none. Days from the civil date without timegm (hot path).
 */
static int64_t
line_time_us(const char *line, size_t len)
{
	static const char key[] = "\"time\":\"";
	const char *p, *end = line + len;
	int64_t y, m, d, era, yoe, doy, doe, days;
	int v[7], i, k;

	for (p = line; p + sizeof key - 1 + 27 <= end; p++)
		if (memcmp(p, key, sizeof key - 1) == 0)
			break;
	if (p + sizeof key - 1 + 27 > end)
		return 0;
	p += sizeof key - 1;
	/* YYYY MM DD HH MM SS uuuuuu at fixed offsets. */
	static const int off[7] = { 0, 5, 8, 11, 14, 17, 20 };
	static const int wid[7] = { 4, 2, 2, 2, 2, 2, 6 };
	for (i = 0; i < 7; i++) {
		v[i] = 0;
		for (k = 0; k < wid[i]; k++) {
			if (p[off[i] + k] < '0' || p[off[i] + k] > '9')
				return 0;
			v[i] = v[i] * 10 + (p[off[i] + k] - '0');
		}
	}
	y = v[0];
	m = v[1];
	d = v[2];
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	days = era * 146097 + doe - 719468;
	return ((days * 86400 + v[3] * 3600 + v[4] * 60 + v[5]) * 1000000) +
	    v[6];
}

/* Count lines[0..n) delivered (or dropped), with their latency. */
static void
sink_settle(struct sink *s, const struct sink_line *lines, size_t n,
    bool drop)
{
	struct timespec now;
	int64_t t, nowus, last = 0;
	size_t i;

	if (n == 0)
		return;
	if (!drop) {
		clock_gettime(CLOCK_REALTIME, &now);
		nowus = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
		for (i = 0; i < n; i++) {
			if ((t = line_time_us(lines[i].data, lines[i].len)) == 0)
				continue;
			histo_add(&s->latency, nowus > t ?
			    (uint64_t)(nowus - t) : 0);
			last = t;
		}
	}
	pthread_mutex_lock(&s->lock);
	if (drop)
		s->dropped += n;
	else {
		s->delivered += n;
		s->last_seq = lines[n - 1].seq;
		if (last != 0)
			s->last_time_us = last;
	}
	pthread_mutex_unlock(&s->lock);
}

/*
 * Deliver the records of recs[0..n) routed to this sink (lines is room for
 * n) and ack what was settled. On a transient failure the reader is moved
 * back to the first undelivered record for the retry; returns false when
 * a stop's deadline passed during the backoff.
 */
static bool
sink_deliver(struct sink *s, const struct spool_record *recs, size_t n,
    struct sink_line *lines)
{
	enum sink_result r;
	size_t i, nl = 0, done = 0;
	char *cause = NULL;
	bool ok;

	for (i = 0; i < n; i++) {
		if (!spool_record_routed(&recs[i], s->conf.name))
			continue;
		lines[nl].seq = recs[i].seq;
		lines[nl].data = recs[i].line;
		lines[nl].len = recs[i].len;
		nl++;
	}
	if (nl == 0) {
		sink_pass(s, recs[n - 1].seq);
		return true;
	}

	pthread_mutex_lock(&s->lock);
	clock_gettime(CLOCK_MONOTONIC, &s->in_deliver);
	pthread_mutex_unlock(&s->lock);
	r = s->ops->deliver(s, lines, nl, &done, &cause);
	pthread_mutex_lock(&s->lock);
	s->in_deliver.tv_sec = 0;
	s->in_deliver.tv_nsec = 0;
	pthread_mutex_unlock(&s->lock);
	if (r == SINK_OK || done > nl)
		done = nl;
	sink_settle(s, lines, done, false);
	if (done == nl) {
		/* All out, even if the kind complained (counted). */
		if (r == SINK_OK)
			sink_succeeded(s);
		else
			sink_failed(s, cause);
		r = SINK_OK;
	}
	switch (r) {
	case SINK_OK:
		sink_pass(s, recs[n - 1].seq);
		ok = true;
		break;
	case SINK_FATAL:
		sink_succeeded(s);
		log_warnx("sink %s: dropping %zu records (seq %llu to %llu): "
		    "%s", s->conf.name, nl - done,
		    (unsigned long long)lines[done].seq,
		    (unsigned long long)lines[nl - 1].seq,
		    cause != NULL ? cause : "delivery failed");
		sink_settle(s, lines + done, nl - done, true);
		sink_pass(s, recs[n - 1].seq);
		ok = true;
		break;
	default:
		if (lines[done].seq > 1)
			sink_pass(s, lines[done].seq - 1);
		spool_reader_seek(s->reader, lines[done].seq);
		sink_failed(s, cause);
		ok = sink_backoff(s);
		break;
	}
	free(cause);
	return ok;
}

/*
 * Take a redeliver request (lock held): remember where the reader is, and
 * read from rd_from again up to rd_to or that position, whichever is
 * first; records at and after it were not delivered yet and come as usual.
 */
static void
sink_replay_begin(struct sink *s)
{
	struct spool_reader_stats rs;
	uint64_t resume;

	s->redeliver_req = false;
	spool_reader_get_stats(s->reader, &rs);
	resume = s->replaying ? s->replay_resume : rs.position;
	if (s->rd_from >= resume) {
		/* Not delivered yet anyway: nothing to send again. */
		if (!s->replaying)
			spool_reader_hold(s->reader, 0);
		return;
	}
	s->replaying = true;
	s->replay_resume = resume;
	s->replay_end = s->rd_to < resume - 1 ? s->rd_to : resume - 1;
	spool_reader_seek(s->reader, s->rd_from);
	log_info("sink %s: delivering records %llu to %llu again, then going "
	    "on from %llu", s->conf.name, (unsigned long long)s->rd_from,
	    (unsigned long long)s->replay_end, (unsigned long long)resume);
}

/*
 * While replaying: keep the records read up to replay_end; once past it,
 * move the reader back to where it was. Records the spool lost meanwhile
 * had been delivered before, so they are not counted as lost again.
 */
static int
sink_replay_trim(struct sink *s, struct spool_record *recs, int n,
    struct spool_gap *gap)
{
	struct spool_reader_stats rs;
	int k;

	if (gap->reason != SPOOL_GAP_NONE)
		log_warnx("sink %s: records %llu to %llu cannot be delivered "
		    "again: %s meanwhile", s->conf.name,
		    (unsigned long long)gap->from, (unsigned long long)gap->to,
		    gap_reason(gap->reason));
	gap->reason = SPOOL_GAP_NONE;
	for (k = 0; k < n && recs[k].seq <= s->replay_end; k++)
		;
	spool_reader_get_stats(s->reader, &rs);
	if (k < n || rs.position > s->replay_end) {
		s->replaying = false;
		spool_reader_hold(s->reader, 0);
		spool_reader_seek(s->reader, s->replay_resume);
		log_info("sink %s: records up to %llu delivered again",
		    s->conf.name, (unsigned long long)s->replay_end);
	}
	return k;
}

/* The writer thread: reads and delivers until stopped and drained. */
static void *
sink_writer(void *arg)
{
	struct sink *s = arg;
	struct spool_record *recs;
	struct spool_reader_stats rs;
	struct sink_line *lines;
	struct spool_gap gap;
	char *cause;
	bool stopping;
	int n, error, empty = 0;

	thread_set_name("sink", s->conf.name);
	recs = xreallocarray(NULL, SINK_BATCH_RECORDS, sizeof *recs);
	lines = xreallocarray(NULL, SINK_BATCH_RECORDS, sizeof *lines);
	for (;;) {
		pthread_mutex_lock(&s->lock);
		if (s->reopen_req)
			sink_do_reopen(s);
		if (sink_past_deadline(s)) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		stopping = s->stopping;
		if (s->redeliver_req)
			sink_replay_begin(s);
		pthread_mutex_unlock(&s->lock);

		n = spool_reader_read(s->reader, recs, SINK_BATCH_RECORDS,
		    stopping ? 0 : SINK_IDLE_MS, &gap);
		error = errno;
		if (s->replaying && n >= 0)
			n = sink_replay_trim(s, recs, n, &gap);
		if (gap.reason != SPOOL_GAP_NONE)
			sink_lost(s, &gap);
		if (n == -1) {
			xasprintf(&cause, "cannot read the spool: %s",
			    strerror(error));
			sink_failed(s, cause);
			free(cause);
			if (!sink_backoff(s))
				break;
			continue;
		}
		if (n > 0) {
			empty = 0;
			sink_loss_over(s);
			if (!sink_deliver(s, recs, (size_t)n, lines))
				break;
			continue;
		}
		if (gap.reason != SPOOL_GAP_NONE)
			continue;

		/* Caught up (or woken): persist the cursor while idle. */
		if (spool_reader_flush(s->reader) == -1)
			log_warn("sink %s: cannot persist its cursor",
			    s->conf.name);
		spool_reader_get_stats(s->reader, &rs);
		pthread_mutex_lock(&s->lock);
		if (rs.position > s->passed)
			s->passed = rs.position;
		pthread_cond_broadcast(&s->idle);
		pthread_mutex_unlock(&s->lock);
		/* A stale interrupt can end one read early: drained at two. */
		if (stopping && ++empty >= 2)
			break;
	}
	free(recs);
	free(lines);
	return NULL;
}

int
sink_start(struct sink *s, struct spool *sp, char **cause)
{
	return sink_start_at(s, sp, SPOOL_START_OLDEST, cause);
}

int
sink_start_at(struct sink *s, struct spool *sp, enum spool_start start,
    char **cause)
{
	struct spool_reader_stats rs;
	int error;

	if (s->ops->no_writer) {
		/* No cursor either: drop one an earlier kind of it left. */
		if (spool_cursor_remove(sp, s->conf.name) == -1)
			log_warn("sink %s: cannot remove its old cursor",
			    s->conf.name);
		s->spool = sp;
		if (s->ops->start != NULL && s->ops->start(s, cause) != 0)
			return -1;
		pthread_mutex_lock(&s->lock);
		s->started = true;
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	s->reader = spool_reader_open(sp, s->conf.name, start, cause);
	if (s->reader == NULL)
		return -1;
	s->spool = sp;
	spool_reader_get_stats(s->reader, &rs);
	s->passed = rs.position;
	if (s->ops->start != NULL && s->ops->start(s, cause) != 0) {
		spool_reader_close(s->reader);
		s->reader = NULL;
		return -1;
	}

	if ((error = sink_thread_create(&s->thread, sink_writer, s)) != 0)
		fatalx("sink %s: pthread_create: %s", s->conf.name,
		    strerror(error));
	pthread_mutex_lock(&s->lock);
	s->started = true;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int
sink_redeliver(struct sink *s, uint64_t from, uint64_t to, uint64_t *position,
    char **cause)
{
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	if (!s->started || s->stopping) {
		xasprintf(cause, "sink %s is not running", s->conf.name);
		rc = -1;
	} else if (s->ops->no_writer) {
		xasprintf(cause, "sink %s is a %s sink: its subscribers read "
		    "the spool themselves (subscribe with \"from\")",
		    s->conf.name, s->ops->type);
		rc = -1;
	} else {
		s->redeliver_req = true;
		s->rd_from = from;
		s->rd_to = to;
		*position = s->passed;
		/* Retention keeps the range until the writer has read it. */
		spool_reader_hold(s->reader, from);
		spool_reader_interrupt(s->reader);
		pthread_cond_broadcast(&s->wake);
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int
sink_thread_create(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int error;

	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	error = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return error;
}

void
thread_set_name(const char *what, const char *name)
{
	char n[16];

	if (name != NULL)
		snprintf(n, sizeof n, "%s %s", what, name);
	else
		snprintf(n, sizeof n, "%s", what);
	pthread_setname_np(pthread_self(), n);
}

struct spool *
sink_spool(const struct sink *s)
{
	return s->spool;
}

/* Set (or bring forward) the drain deadline and wake the writer. */
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
	if (s->reader != NULL)
		spool_reader_interrupt(s->reader);
	pthread_mutex_unlock(&s->lock);
}

void
sink_stop_begin(struct sink *s, unsigned timeout_sec)
{
	if (!s->closed)
		sink_stop_request(s, timeout_sec);
}

uint64_t
sink_stop(struct sink *s, unsigned timeout_sec)
{
	struct spool_stats ss;
	uint64_t left = 0;

	if (s->closed)
		return 0;
	sink_stop_request(s, timeout_sec);

	if (s->started && !s->ops->no_writer) {
		pthread_join(s->thread, NULL);
		spool_reader_hold(s->reader, 0);
		if (spool_reader_flush(s->reader) == -1)
			log_warn("sink %s: cannot persist its cursor",
			    s->conf.name);
		spool_get_stats(s->spool, &ss);
		if (ss.next_seq > s->passed)
			left = ss.next_seq - s->passed;
		spool_reader_close(s->reader);
	}
	pthread_mutex_lock(&s->lock);
	s->reader = NULL;
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
	pthread_cond_destroy(&s->wake);
	pthread_cond_destroy(&s->idle);
	pthread_mutex_destroy(&s->lock);
	config_sink_conf_clear(&s->conf);
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
	struct spool_stats ss;

	pthread_mutex_lock(&s->lock);
	st->delivered = s->delivered;
	st->dropped = s->dropped;
	st->failures = s->failures;
	st->lost = s->lost;
	st->last_seq = s->last_seq;
	st->last_time_us = s->last_time_us;
	st->position = s->passed;
	pthread_mutex_unlock(&s->lock);
	if (s->ops->no_writer && s->spool != NULL) {
		/* Everything in the spool is as far as it goes. */
		spool_get_stats(s->spool, &ss);
		st->position = ss.next_seq;
	}
}

void
sink_get_latency(struct sink *s, struct histo_snapshot *h)
{
	histo_get(&s->latency, h);
}

unsigned
sink_busy_ms(struct sink *s)
{
	struct timespec now;
	long long ms = 0;

	pthread_mutex_lock(&s->lock);
	if (s->in_deliver.tv_sec != 0 || s->in_deliver.tv_nsec != 0) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (long long)(now.tv_sec - s->in_deliver.tv_sec) * 1000 +
		    (now.tv_nsec - s->in_deliver.tv_nsec) / 1000000;
	}
	pthread_mutex_unlock(&s->lock);
	return ms < 0 ? 0 : ms > UINT_MAX ? UINT_MAX : (unsigned)ms;
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

/* Is everything in the spool passed and nothing in hand? Lock held. */
static bool
sink_is_idle(struct sink *s)
{
	struct spool_stats ss;

	if (s->closed || !s->started || s->ops->no_writer)
		return true;
	if (s->reopen_req)
		return false;
	spool_get_stats(s->spool, &ss);
	return s->passed >= ss.next_seq;
}

bool
sink_wait_idle(struct sink *s, unsigned timeout_ms)
{
	struct timespec until;
	bool idle;

	now_mono(&until);
	ts_add_ms(&until, timeout_ms);
	pthread_mutex_lock(&s->lock);
	while (!(idle = sink_is_idle(s)))
		if (pthread_cond_timedwait(&s->idle, &s->lock, &until) ==
		    ETIMEDOUT) {
			idle = sink_is_idle(s);
			break;
		}
	pthread_mutex_unlock(&s->lock);
	return idle;
}
