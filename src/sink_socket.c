/*
 * sink_socket.c: `type = socket` sinks, the live subscriber stream (DESIGN
 * section 8). A UNIX stream socket at `path`; each connection sends one
 * subscribe line and then receives JSON Lines: subscribed, indication,
 * heartbeat, gap, error.
 *
 * Every subscriber pulls its records from the spool through a reader of
 * its own (a named one, "sub:SINK/NAME", for named subscriptions, whose
 * acks persist it), in its own thread. Replay and live are therefore one
 * path: a subscriber that starts in the past reads forward until it has
 * caught up and then simply waits for the next append, so there is no seam
 * where a record could be doubled or dropped. The sink itself has no
 * writer: the request threads count what the filters route to it as they
 * append (sink_appended); nothing a subscriber does can slow down
 * reception or the other sinks.
 *
 * A subscriber reads ahead into a queue of at most `buffer` messages; it
 * is written out as the socket accepts it. When a matching record finds
 * the queue full, the subscriber is overflowing: with overflow = gap it
 * stops reading, and once its queue has gone out it is sent a gap from
 * that record to the newest one and continues live; with overflow = replay
 * (named only) it just stops reading until its queue has drained, and then
 * reads on from where it was (falling behind retention shows up as an
 * "expired" gap, like any loss the spool reports).
 *
 * Threads: an accept thread per sink (started by the kind's start hook,
 * once the spool is open) and one thread per subscriber. The list of
 * subscribers and their figures are under the sink's lock; everything
 * else of a subscriber belongs to its thread.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "filter.h"
#include "format.h"
#include "log.h"
#include "record.h"
#include "sink.h"
#include "sink_socket.h"
#include "spool.h"
#include "usock.h"
#include "xmalloc.h"

#define SUB_MAX_LINE 65536       /* longest request line */
#define SUB_REQUEST_TIMEOUT_MS 30000
#define SUB_POLL_MS 250          /* how often an idle subscriber looks at its socket */
#define SUB_READ_RECORDS 256
#define SUB_NAME_MAX 64
#define SUB_HEARTBEAT_MAX 3600

enum sub_state { SUB_NEW, SUB_REPLAY, SUB_LIVE, SUB_OVERFLOW, SUB_PAUSED };

static const char *const sub_state_names[] = {
	"subscribing", "replay", "live", "overflow", "paused"
};

struct sock_sink;

struct sub {
	struct sock_sink *ss;
	int fd;
	pthread_t thread;
	bool done;                 /* the thread has finished (lock) */
	bool stop;                 /* asked to stop (lock) */
	uint64_t id;
	struct sink_peer peer;
	time_t connected;

	/* The subscription (thread only, fixed once subscribed). */
	char *name;
	char *cursor;              /* the reader's name, or NULL */
	char *where_text;
	struct filter *where;
	char since[32];            /* "" or a record time: skip older records */
	enum sink_format format;
	struct template *tmpl;
	struct format_ctx *fmt;
	unsigned heartbeat;        /* seconds, 0: none */
	bool replay;               /* overflow = replay */
	struct spool_reader *reader;

	/* I/O (thread only). */
	struct buf in;
	struct buf out;            /* queued messages not yet written */
	size_t out_off;            /* bytes of out already written */
	size_t *ends;              /* end offsets of the queued messages */
	uint64_t *endseqs;         /* their seqs (0: not a record) */
	size_t nends, capends, endhead;
	struct timespec last_write;
	uint64_t gap_from;         /* SUB_OVERFLOW: first record lost */

	/* Figures (lock). */
	enum sub_state state;
	uint64_t position;         /* next seq it will look at */
	uint64_t acked;            /* last seq acknowledged, 0: none */
	uint64_t sent;             /* indications written to the socket */
	uint64_t last_sent;        /* seq of the last one */
	uint64_t gaps;             /* gap messages */
	uint64_t lost;             /* records covered by them */
	size_t queued;             /* messages waiting in out */
};

struct sock_sink {
	struct sink *sink;
	char *path;
	int lfd;
	int wake[2];
	pthread_t thread;
	bool accepting;            /* the accept thread runs */
	struct spool *spool;

	pthread_mutex_t lock;
	struct sub **subs;         /* threads not yet joined */
	size_t nsubs;
	uint64_t next_id;
	uint64_t refused;          /* connections over max_subscribers */
};

static void *sub_main(void *);

static void
mono(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

static uint64_t
ms_since(const struct timespec *t)
{
	struct timespec now;

	mono(&now);
	return (uint64_t)(now.tv_sec - t->tv_sec) * 1000 +
	    (uint64_t)((now.tv_nsec - t->tv_nsec) / 1000000);
}

/* Write the whole message now, waiting at most a second (errors only). */
static void
write_now(int fd, const char *s, size_t len)
{
	struct pollfd pfd = { fd, POLLOUT, 0 };
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = send(fd, s + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN && poll(&pfd, 1, 1000) > 0)
			continue;
		return;
	}
}

/*
 * Send {"type":"error","message":...} and close: what the client sent is
 * read away first (a little), so that it sees the message, not a reset.
 */
static void
send_error_close(int fd, const char *msg)
{
	struct buf b = BUF_INIT;
	char tmp[4096];
	size_t drained = 0;
	ssize_t n;

	buf_adds(&b, "{\"type\":\"error\",\"message\":");
	record_json_string(&b, msg);
	buf_adds(&b, "}\n");
	write_now(fd, b.data, b.len);
	buf_free(&b);
	(void)shutdown(fd, SHUT_WR);
	while (drained < ((size_t)1 << 20) &&
	    (n = recv(fd, tmp, sizeof tmp, MSG_DONTWAIT)) > 0)
		drained += (size_t)n;
	close(fd);
}

/* The accept thread */

/* Join the subscribers whose threads have ended. Lock held. */
static void
reap_locked(struct sock_sink *ss)
{
	size_t i = 0;
	struct sub *u;

	while (i < ss->nsubs) {
		u = ss->subs[i];
		if (!u->done) {
			i++;
			continue;
		}
		pthread_join(u->thread, NULL);
		free(u);
		ss->subs[i] = ss->subs[--ss->nsubs];
	}
}

static size_t
active_locked(const struct sock_sink *ss)
{
	size_t i, n = 0;

	for (i = 0; i < ss->nsubs; i++)
		if (!ss->subs[i]->done)
			n++;
	return n;
}

static void
accept_one(struct sock_sink *ss)
{
	const struct sink_conf *conf = sink_conf(ss->sink);
	struct ucred cred;
	socklen_t clen = sizeof cred;
	struct sub *u;
	char *msg;
	int fd;

	if ((fd = accept4(ss->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) ==
	    -1)
		return;
	pthread_mutex_lock(&ss->lock);
	reap_locked(ss);
	if (active_locked(ss) >= conf->max_subscribers) {
		ss->refused++;
		pthread_mutex_unlock(&ss->lock);
		xasprintf(&msg, "too many subscribers (max_subscribers = %u)",
		    conf->max_subscribers);
		log_warn("sink %s: subscriber refused: %s", sink_name(ss->sink),
		    msg);
		send_error_close(fd, msg);
		free(msg);
		return;
	}
	u = xcalloc(1, sizeof *u);
	u->ss = ss;
	u->fd = fd;
	u->id = ++ss->next_id;
	u->connected = time(NULL);
	u->peer.uid = (uid_t)-1;
	u->peer.gid = (gid_t)-1;
	u->peer.pid = -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
		u->peer.uid = cred.uid;
		u->peer.gid = cred.gid;
		u->peer.pid = cred.pid;
	}
	if (sink_thread_create(&u->thread, sub_main, u) != 0) {
		pthread_mutex_unlock(&ss->lock);
		send_error_close(fd, "cannot start a subscriber thread");
		free(u);
		return;
	}
	ss->subs = xreallocarray(ss->subs, ss->nsubs + 1, sizeof *ss->subs);
	ss->subs[ss->nsubs++] = u;
	pthread_mutex_unlock(&ss->lock);
	log_debug("sink %s: subscriber %llu connected (uid %d pid %d)",
	    sink_name(ss->sink), (unsigned long long)u->id, (int)u->peer.uid,
	    (int)u->peer.pid);
}

static void *
accept_main(void *arg)
{
	struct sock_sink *ss = arg;
	struct pollfd pfd[2];

	thread_set_name("accept", sink_name(ss->sink));
	for (;;) {
		pfd[0].fd = ss->lfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = ss->wake[0];
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, 1000) == -1 && errno != EINTR)
			break;
		if (pfd[1].revents != 0)
			break;
		if (pfd[0].revents & POLLIN)
			accept_one(ss);
		pthread_mutex_lock(&ss->lock);
		reap_locked(ss);
		pthread_mutex_unlock(&ss->lock);
	}
	return NULL;
}

/* The subscriber */

static bool
sub_stopping(struct sub *u)
{
	bool stop;

	pthread_mutex_lock(&u->ss->lock);
	stop = u->stop;
	pthread_mutex_unlock(&u->ss->lock);
	return stop;
}

/* Queue one message (a whole line); seq is 0 for a non-record. */
static void
queue_msg(struct sub *u, size_t start, uint64_t seq)
{
	size_t i;

	(void)start;
	if (u->nends == u->capends) {
		size_t ncap = u->capends ? u->capends * 2 : 64;
		size_t *ne = xreallocarray(NULL, ncap, sizeof *ne);
		uint64_t *ns = xreallocarray(NULL, ncap, sizeof *ns);

		for (i = 0; i < u->nends; i++) {
			ne[i] = u->ends[(u->endhead + i) % u->capends];
			ns[i] = u->endseqs[(u->endhead + i) % u->capends];
		}
		free(u->ends);
		free(u->endseqs);
		u->ends = ne;
		u->endseqs = ns;
		u->capends = ncap;
		u->endhead = 0;
	}
	i = (u->endhead + u->nends) % u->capends;
	u->ends[i] = u->out.len;
	u->endseqs[i] = seq;
	u->nends++;
	pthread_mutex_lock(&u->ss->lock);
	u->queued = u->nends;
	pthread_mutex_unlock(&u->ss->lock);
}

static void
queue_control(struct sub *u, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
queue_control(struct sub *u, const char *fmt, ...)
{
	size_t start = u->out.len;
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		fatalx("out of memory");
	va_end(ap);
	buf_adds(&u->out, s);
	free(s);
	queue_msg(u, start, 0);
}

static const char *
gap_reason(enum spool_gap_reason r)
{
	return r == SPOOL_GAP_CORRUPT ? "corrupt" : "expired";
}

static void
queue_gap(struct sub *u, uint64_t from, uint64_t to, const char *reason)
{
	queue_control(u,
	    "{\"type\":\"gap\",\"from\":%llu,\"to\":%llu,\"reason\":\"%s\"}\n",
	    (unsigned long long)from, (unsigned long long)to, reason);
	pthread_mutex_lock(&u->ss->lock);
	u->gaps++;
	u->lost += to - from + 1;
	pthread_mutex_unlock(&u->ss->lock);
	log_info("sink %s: subscriber %llu%s%s%s: records %llu-%llu lost (%s)",
	    sink_name(u->ss->sink), (unsigned long long)u->id,
	    u->name ? " (" : "", u->name ? u->name : "", u->name ? ")" : "",
	    (unsigned long long)from, (unsigned long long)to, reason);
}

/* The record's "time" value, read from the line without decoding it. */
static bool
line_time_before(const char *line, size_t len, const char *since)
{
	static const char key[] = "\"time\":\"";
	const char *p, *end = line + len;
	size_t slen = strlen(since);

	for (p = line; p + sizeof key - 1 + slen < end; p++)
		if (memcmp(p, key, sizeof key - 1) == 0)
			return memcmp(p + sizeof key - 1, since, slen) < 0;
	return false;
}

/*
 * Does the record go to this subscriber? Decodes it when the subscriber's
 * where or format needs the record; *rec is that decoded form or NULL.
 */
static bool
sub_wants(struct sub *u, const struct spool_record *r,
    const struct record **rec)
{
	struct filter_input in;
	char *cause = NULL;

	*rec = NULL;
	if (!spool_record_routed(r, sink_name(u->ss->sink)))
		return false;
	if (u->since[0] != '\0' && line_time_before(r->line, r->len, u->since))
		return false;
	if (u->where == NULL && u->format == SINK_FORMAT_JSON)
		return true;
	if ((*rec = format_decode(u->fmt, r->line, r->len, &cause)) == NULL) {
		log_warn("sink %s: record %llu cannot be read back: %s",
		    sink_name(u->ss->sink), (unsigned long long)r->seq, cause);
		free(cause);
		return false;
	}
	if (u->where == NULL)
		return true;
	in.inst = (*rec)->inst;
	in.source = (*rec)->source;
	in.filters = (*rec)->filters;
	in.nfilters = (*rec)->nfilters;
	return filter_match(u->where, &in);
}

static void
queue_record(struct sub *u, const struct spool_record *r,
    const struct record *rec)
{
	size_t start = u->out.len;
	struct buf text = BUF_INIT;

	if (u->format == SINK_FORMAT_JSON) {
		/* {"type":"indication", then the record line after its '{'. */
		buf_adds(&u->out, "{\"type\":\"indication\",");
		buf_add(&u->out, r->line + 1, r->len - 1);
		if (u->out.data[u->out.len - 1] != '\n')
			buf_adds(&u->out, "\n");
	} else {
		format_ctx_render(u->fmt, r->line, r->len, rec, &text);
		buf_printf(&u->out, "{\"type\":\"indication\",\"seq\":%llu,"
		    "\"text\":", (unsigned long long)r->seq);
		record_json_string(&u->out, text.data != NULL ? text.data : "");
		buf_adds(&u->out, "}\n");
		buf_free(&text);
	}
	queue_msg(u, start, r->seq);
}

/* Write what the socket takes; -1 when the subscriber is gone. */
static int
sub_flush(struct sub *u)
{
	uint64_t sent = 0, last = 0;
	ssize_t n;
	size_t end;

	while (u->out_off < u->out.len) {
		n = send(u->fd, u->out.data + u->out_off,
		    u->out.len - u->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n <= 0)
			return -1;
		u->out_off += (size_t)n;
		mono(&u->last_write);
	}
	while (u->nends > 0) {
		end = u->ends[u->endhead];
		if (end > u->out_off)
			break;
		if (u->endseqs[u->endhead] != 0) {
			sent++;
			last = u->endseqs[u->endhead];
		}
		u->endhead = (u->endhead + 1) % u->capends;
		u->nends--;
	}
	if (u->out_off == u->out.len) {
		u->out.len = 0;
		u->out_off = 0;
		u->endhead = 0;
	} else if (u->out_off > ((size_t)1 << 20) &&
	    u->out_off > u->out.len / 2) {
		/* Compact now and then so the buffer does not grow forever. */
		size_t i, k;

		memmove(u->out.data, u->out.data + u->out_off,
		    u->out.len - u->out_off);
		u->out.len -= u->out_off;
		for (i = 0; i < u->nends; i++) {
			k = (u->endhead + i) % u->capends;
			u->ends[k] -= u->out_off;
		}
		u->out_off = 0;
	}
	pthread_mutex_lock(&u->ss->lock);
	u->sent += sent;
	if (last != 0)
		u->last_sent = last;
	u->queued = u->nends;
	pthread_mutex_unlock(&u->ss->lock);
	return 0;
}

static void
sub_set_state(struct sub *u, enum sub_state st)
{
	pthread_mutex_lock(&u->ss->lock);
	u->state = st;
	pthread_mutex_unlock(&u->ss->lock);
}

static void
sub_set_position(struct sub *u, uint64_t pos)
{
	pthread_mutex_lock(&u->ss->lock);
	u->position = pos;
	pthread_mutex_unlock(&u->ss->lock);
}

/*
 * Read and queue records. Returns the number of records read (0: none
 * within wait_ms), -1 on a spool error.
 */
static int
sub_pull(struct sub *u, unsigned buffer, int wait_ms)
{
	struct spool_record recs[SUB_READ_RECORDS];
	const struct record *rec;
	struct spool_gap gap;
	struct spool_reader_stats rs;
	struct spool_stats sp;
	int n, i;

	n = spool_reader_read(u->reader, recs, SUB_READ_RECORDS, wait_ms,
	    &gap);
	if (n < 0)
		return -1;
	if (gap.reason != SPOOL_GAP_NONE)
		queue_gap(u, gap.from, gap.to, gap_reason(gap.reason));
	for (i = 0; i < n; i++) {
		if (!sub_wants(u, &recs[i], &rec))
			continue;
		/*
		 * A full queue is an overflow only if the socket takes none
		 * of it either: records read in one burst (the subscriber's
		 * thread was not scheduled for a while) may fill the queue
		 * while the socket still has room.
		 */
		if (u->nends >= buffer && u->out_off < u->out.len)
			(void)sub_flush(u);
		if (u->nends >= buffer) {
			/* Overflow at this record. */
			if (u->replay) {
				spool_reader_seek(u->reader, recs[i].seq);
				sub_set_state(u, SUB_PAUSED);
			} else {
				u->gap_from = recs[i].seq;
				sub_set_state(u, SUB_OVERFLOW);
			}
			sub_set_position(u, recs[i].seq);
			return n;
		}
		queue_record(u, &recs[i], rec);
	}
	spool_reader_get_stats(u->reader, &rs);
	sub_set_position(u, rs.position);
	if (n == 0 || gap.reason != SPOOL_GAP_NONE) {
		spool_get_stats(u->ss->spool, &sp);
		sub_set_state(u, rs.position >= sp.next_seq ? SUB_LIVE :
		    SUB_REPLAY);
	} else if (u->state == SUB_NEW || u->state == SUB_PAUSED)
		sub_set_state(u, SUB_REPLAY);
	return n;
}

/* Errors of the subscribe line and of later lines: said, then closed. */
struct sub_err {
	char msg[300];
};

static int __attribute__((format(printf, 2, 3)))
sub_fail(struct sub_err *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return -1;
}

static bool
valid_sub_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > SUB_NAME_MAX)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789_.-") == n;
}

/*
 * Parse "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" into the records' fixed form
 * "YYYY-MM-DDTHH:MM:SS.ffffffZ"; false if it is not one.
 */
static bool
parse_since(const char *s, char out[32])
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	size_t i, nfrac = 0;

	for (i = 0; shape[i] != '\0'; i++) {
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return false;
	}
	memcpy(out, s, 19);
	out[19] = '.';
	s += 19;
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++)
			if (nfrac < 6)
				out[20 + nfrac++] = *s;
	}
	if (s[0] != 'Z' || s[1] != '\0')
		return false;
	while (nfrac < 6)
		out[20 + nfrac++] = '0';
	out[26] = 'Z';
	out[27] = '\0';
	return true;
}

enum sub_from { FROM_NOW, FROM_OLDEST, FROM_ACK, FROM_SEQ };

/* Read the subscribe request into u; -1 with e filled. */
static int
sub_parse(struct sub *u, const char *line, size_t len, enum sub_from *from,
    uint64_t *fromseq, struct sub_err *e)
{
	json_tokener *tok;
	json_object *req, *v;
	enum json_tokener_error jerr;
	struct filter_error ferr;
	struct template_error terr;
	const char *op, *s;
	bool have_from = false;
	int rc = -1;
	int64_t n;

	tok = json_tokener_new();
	req = json_tokener_parse_ex(tok, line, (int)len);
	jerr = json_tokener_get_error(tok);
	json_tokener_free(tok);
	if (req == NULL || jerr != json_tokener_success ||
	    !json_object_is_type(req, json_type_object)) {
		json_object_put(req);
		return sub_fail(e, "request is not a JSON object");
	}
	if (!json_object_object_get_ex(req, "op", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		sub_fail(e, "request has no \"op\" string");
		goto out;
	}
	op = json_object_get_string(v);
	if (strcmp(op, "subscribe") != 0) {
		sub_fail(e, "%s \"%.64s\": the first request must be "
		    "subscribe", strcmp(op, "ack") == 0 ? "op" : "unknown op",
		    op);
		goto out;
	}
	json_object_object_foreach(req, key, val) {
		if (strcmp(key, "op") == 0)
			continue;
		else if (strcmp(key, "where") == 0 ||
		    strcmp(key, "name") == 0 || strcmp(key, "format") == 0 ||
		    strcmp(key, "template") == 0 ||
		    strcmp(key, "overflow") == 0 || strcmp(key, "since") == 0) {
			if (!json_object_is_type(val, json_type_string))
				goto bad_type;
		} else if (strcmp(key, "heartbeat") == 0) {
			if (!json_object_is_type(val, json_type_int))
				goto bad_type;
		} else if (strcmp(key, "from") == 0) {
			if (!json_object_is_type(val, json_type_int) &&
			    !json_object_is_type(val, json_type_string))
				goto bad_type;
		} else {
			sub_fail(e, "unknown key \"%.64s\" in subscribe", key);
			goto out;
		}
		continue;
	bad_type:
		sub_fail(e, "\"%.64s\" has the wrong type", key);
		goto out;
	}
	if (json_object_object_get_ex(req, "name", &v)) {
		s = json_object_get_string(v);
		if (!valid_sub_name(s)) {
			sub_fail(e, "invalid name \"%.64s\" (1 to %d of the "
			    "characters A-Z a-z 0-9 _ . -)", s, SUB_NAME_MAX);
			goto out;
		}
		u->name = xstrdup(s);
	}
	if (json_object_object_get_ex(req, "where", &v)) {
		s = json_object_get_string(v);
		if (*s != '\0') {
			if ((u->where = filter_compile(s, &ferr)) == NULL) {
				sub_fail(e, "where: column %u: %s", ferr.col,
				    ferr.msg);
				goto out;
			}
			u->where_text = xstrdup(s);
		}
	}
	u->format = sink_conf(u->ss->sink)->format;
	if (json_object_object_get_ex(req, "format", &v)) {
		s = json_object_get_string(v);
		if (strcmp(s, "json") == 0)
			u->format = SINK_FORMAT_JSON;
		else if (strcmp(s, "mof") == 0)
			u->format = SINK_FORMAT_MOF;
		else if (strcmp(s, "template") == 0)
			u->format = SINK_FORMAT_TEMPLATE;
		else {
			sub_fail(e, "unknown format \"%.32s\" (json, mof or "
			    "template)", s);
			goto out;
		}
	}
	if (json_object_object_get_ex(req, "template", &v)) {
		if (u->format != SINK_FORMAT_TEMPLATE) {
			sub_fail(e, "\"template\" needs \"format\": "
			    "\"template\"");
			goto out;
		}
		if ((u->tmpl = template_compile(json_object_get_string(v),
		    &terr)) == NULL) {
			sub_fail(e, "template: column %u: %s", terr.col,
			    terr.msg);
			goto out;
		}
	} else if (u->format == SINK_FORMAT_TEMPLATE) {
		if (sink_conf(u->ss->sink)->tmpl == NULL) {
			sub_fail(e, "format \"template\" needs a \"template\"");
			goto out;
		}
		u->tmpl = template_ref(sink_conf(u->ss->sink)->tmpl);
	}
	if (json_object_object_get_ex(req, "heartbeat", &v)) {
		n = json_object_get_int64(v);
		if (n < 0 || n > SUB_HEARTBEAT_MAX) {
			sub_fail(e, "heartbeat must be 0 to %d seconds",
			    SUB_HEARTBEAT_MAX);
			goto out;
		}
		u->heartbeat = (unsigned)n;
	}
	if (json_object_object_get_ex(req, "overflow", &v)) {
		s = json_object_get_string(v);
		if (strcmp(s, "replay") == 0) {
			if (u->name == NULL) {
				sub_fail(e, "overflow \"replay\" needs a named "
				    "subscription");
				goto out;
			}
			u->replay = true;
		} else if (strcmp(s, "gap") != 0) {
			sub_fail(e, "unknown overflow \"%.32s\" (gap or "
			    "replay)", s);
			goto out;
		}
	}
	if (json_object_object_get_ex(req, "since", &v) &&
	    !parse_since(json_object_get_string(v), u->since)) {
		sub_fail(e, "since must be a UTC time as "
		    "YYYY-MM-DDTHH:MM:SS[.ffffff]Z");
		goto out;
	}
	*from = u->name != NULL ? FROM_ACK :
	    u->since[0] != '\0' ? FROM_OLDEST : FROM_NOW;
	if (json_object_object_get_ex(req, "from", &v)) {
		have_from = true;
		if (json_object_is_type(v, json_type_int)) {
			n = json_object_get_int64(v);
			if (n < 1) {
				sub_fail(e, "from must be a sequence number "
				    "(1 or more), \"now\", \"oldest\" or "
				    "\"ack\"");
				goto out;
			}
			*from = FROM_SEQ;
			*fromseq = (uint64_t)n;
		} else {
			s = json_object_get_string(v);
			if (strcmp(s, "now") == 0)
				*from = FROM_NOW;
			else if (strcmp(s, "oldest") == 0)
				*from = FROM_OLDEST;
			else if (strcmp(s, "ack") == 0)
				*from = FROM_ACK;
			else {
				sub_fail(e, "from must be a sequence number, "
				    "\"now\", \"oldest\" or \"ack\", not "
				    "\"%.32s\"", s);
				goto out;
			}
		}
	}
	if (*from == FROM_ACK && u->name == NULL) {
		sub_fail(e, "from \"ack\" needs a named subscription");
		goto out;
	}
	(void)have_from;
	rc = 0;
out:
	json_object_put(req);
	return rc;
}

/* Open the reader where the subscription starts; -1 with e filled. */
static int
sub_open(struct sub *u, enum sub_from from, uint64_t fromseq,
    struct sub_err *e)
{
	struct spool_stats sp;
	struct spool_reader *r;
	char *cause = NULL;

	spool_get_stats(u->ss->spool, &sp);
	if (from == FROM_SEQ && fromseq > sp.next_seq)
		return sub_fail(e, "from %llu is beyond the next sequence "
		    "number, %llu", (unsigned long long)fromseq,
		    (unsigned long long)sp.next_seq);
	if (u->name != NULL)
		xasprintf(&u->cursor, "sub:%s/%s", sink_name(u->ss->sink),
		    u->name);
	r = spool_reader_open(u->ss->spool, u->cursor,
	    from == FROM_OLDEST ? SPOOL_START_OLDEST : SPOOL_START_NEW, &cause);
	if (r == NULL) {
		if (errno == EBUSY)
			sub_fail(e, "subscription \"%s\" is in use by another "
			    "connection", u->name);
		else
			sub_fail(e, "%s", cause);
		free(cause);
		return -1;
	}
	switch (from) {
	case FROM_NOW:
		spool_reader_seek(r, sp.next_seq);
		break;
	case FROM_OLDEST:
		spool_reader_seek(r, sp.oldest_seq != 0 ? sp.oldest_seq :
		    sp.next_seq);
		break;
	case FROM_SEQ:
		spool_reader_seek(r, fromseq);
		break;
	case FROM_ACK:
		break; /* the persisted cursor, or new for a new name */
	}
	pthread_mutex_lock(&u->ss->lock);
	u->reader = r;
	pthread_mutex_unlock(&u->ss->lock);
	return 0;
}

/* Handle the client's lines after subscribe: acks. -1 to close. */
static int
sub_input(struct sub *u, struct sub_err *e)
{
	json_object *req, *v;
	char *nl, *cause;
	const char *op;
	size_t linelen;
	uint64_t seq, pos;
	int64_t n;

	while (u->in.len > 0 &&
	    (nl = memchr(u->in.data, '\n', u->in.len)) != NULL) {
		linelen = (size_t)(nl - u->in.data);
		*nl = '\0';
		if (linelen == 0 || (linelen == 1 && u->in.data[0] == '\r'))
			goto next;
		req = json_tokener_parse(u->in.data);
		if (req == NULL || !json_object_is_type(req, json_type_object)) {
			json_object_put(req);
			return sub_fail(e, "request is not a JSON object");
		}
		if (!json_object_object_get_ex(req, "op", &v) ||
		    !json_object_is_type(v, json_type_string)) {
			json_object_put(req);
			return sub_fail(e, "request has no \"op\"");
		}
		op = json_object_get_string(v);
		if (strcmp(op, "ack") != 0) {
			sub_fail(e, strcmp(op, "subscribe") == 0 ?
			    "already subscribed" : "unknown op \"%.64s\"", op);
			json_object_put(req);
			return -1;
		}
		if (u->name == NULL) {
			json_object_put(req);
			return sub_fail(e, "ack needs a named subscription");
		}
		if (!json_object_object_get_ex(req, "seq", &v) ||
		    !json_object_is_type(v, json_type_int) ||
		    (n = json_object_get_int64(v)) < 1) {
			json_object_put(req);
			return sub_fail(e, "ack needs \"seq\", a sequence "
			    "number");
		}
		json_object_put(req);
		seq = (uint64_t)n;
		pthread_mutex_lock(&u->ss->lock);
		pos = u->position;
		pthread_mutex_unlock(&u->ss->lock);
		if (seq >= pos)
			return sub_fail(e, "ack %llu is beyond the last record "
			    "sent (%llu)", (unsigned long long)seq,
			    (unsigned long long)(pos - 1));
		spool_reader_ack(u->reader, seq);
		/* Persist at once: a daemon killed right after must not
		 * send it again. */
		if (spool_reader_flush(u->reader) == -1) {
			cause = strerror(errno);
			log_warn("sink %s: subscription %s: cannot persist "
			    "its position: %s", sink_name(u->ss->sink),
			    u->name, cause);
		}
		pthread_mutex_lock(&u->ss->lock);
		if (seq > u->acked)
			u->acked = seq;
		pthread_mutex_unlock(&u->ss->lock);
	next:
		linelen = (size_t)(nl - u->in.data) + 1;
		memmove(u->in.data, u->in.data + linelen, u->in.len - linelen);
		u->in.len -= linelen;
	}
	if (u->in.len > SUB_MAX_LINE)
		return sub_fail(e, "request line longer than %d bytes",
		    SUB_MAX_LINE);
	return 0;
}

/* Read what is there; 1 on EOF or error, 0 otherwise. */
static int
sub_recv(struct sub *u)
{
	char tmp[4096];
	ssize_t n;

	for (;;) {
		n = recv(u->fd, tmp, sizeof tmp, MSG_DONTWAIT);
		if (n > 0) {
			buf_add(&u->in, tmp, (size_t)n);
			if (u->in.len > SUB_MAX_LINE)
				return 0;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return 0;
		return 1;
	}
}

/* Wait for the subscribe line; -1 with e filled, or the peer gone (e empty). */
static int
sub_read_request(struct sub *u, char **line, size_t *len, struct sub_err *e)
{
	struct pollfd pfd = { u->fd, POLLIN, 0 };
	struct timespec start;
	char *nl;
	int left;

	mono(&start);
	for (;;) {
		if (u->in.len > 0 &&
		    (nl = memchr(u->in.data, '\n', u->in.len)) != NULL) {
			*len = (size_t)(nl - u->in.data);
			if (*len > 0 && u->in.data[*len - 1] == '\r')
				(*len)--;
			*line = xmalloc(*len + 1);
			memcpy(*line, u->in.data, *len);
			(*line)[*len] = '\0';
			*len = (size_t)(nl - u->in.data) + 1;
			memmove(u->in.data, nl + 1, u->in.len - *len);
			u->in.len -= *len;
			*len = strlen(*line);
			return 0;
		}
		if (u->in.len > SUB_MAX_LINE)
			return sub_fail(e, "request line longer than %d bytes",
			    SUB_MAX_LINE);
		left = SUB_REQUEST_TIMEOUT_MS - (int)ms_since(&start);
		if (left <= 0)
			return sub_fail(e, "no subscribe request within %d s",
			    SUB_REQUEST_TIMEOUT_MS / 1000);
		if (sub_stopping(u))
			return sub_fail(e, "the sink is stopping");
		if (poll(&pfd, 1, left < SUB_POLL_MS ? left : SUB_POLL_MS) > 0 &&
		    sub_recv(u) != 0 && (u->in.len == 0 ||
		    memchr(u->in.data, '\n', u->in.len) == NULL)) {
			e->msg[0] = '\0';
			return -1;
		}
	}
}

/* Serve a subscriber until it goes or the sink stops. */
static void
sub_serve(struct sub *u)
{
	const struct sink_conf *conf = sink_conf(u->ss->sink);
	struct pollfd pfd;
	struct spool_stats sp;
	struct sub_err e = { "" };
	unsigned buffer = conf->buffer > 0 ? conf->buffer : 10000;
	bool room, eof = false;
	int n, wait;

	mono(&u->last_write);
	for (;;) {
		if (sub_stopping(u))
			break;
		/*
		 * Read on with a full queue too: the next record is where an
		 * overflow is noticed (sub_pull). Stopping here would leave a
		 * subscriber whose queue filled at the end of a read stuck,
		 * neither overflowed nor served, for as long as its client
		 * does not read.
		 */
		room = u->state != SUB_OVERFLOW && u->state != SUB_PAUSED;
		n = 0;
		if (room) {
			wait = u->out_off < u->out.len ? 0 : SUB_POLL_MS;
			if (u->heartbeat > 0) {
				uint64_t since = ms_since(&u->last_write);
				uint64_t hb = (uint64_t)u->heartbeat * 1000;

				if (since >= hb)
					wait = 0;
				else if ((uint64_t)wait > hb - since)
					wait = (int)(hb - since);
			}
			if ((n = sub_pull(u, buffer, wait)) < 0) {
				sub_fail(&e, "spool read error: %s",
				    strerror(errno));
				break;
			}
		}
		/* Overflowed and drained: the gap, then live. */
		if (u->state == SUB_OVERFLOW && u->nends == 0) {
			spool_get_stats(u->ss->spool, &sp);
			if (sp.next_seq > u->gap_from)
				queue_gap(u, u->gap_from, sp.next_seq - 1,
				    "overflow");
			spool_reader_seek(u->reader, sp.next_seq);
			sub_set_position(u, sp.next_seq);
			sub_set_state(u, SUB_LIVE);
		} else if (u->state == SUB_PAUSED && u->nends < buffer / 2)
			sub_set_state(u, SUB_REPLAY);
		if (u->heartbeat > 0 && u->nends == 0 &&
		    ms_since(&u->last_write) >= (uint64_t)u->heartbeat * 1000) {
			queue_control(u, "{\"type\":\"heartbeat\","
			    "\"last_seq\":%llu}\n",
			    (unsigned long long)(u->position > 0 ?
			    u->position - 1 : 0));
		}
		pfd.fd = u->fd;
		pfd.events = (eof ? 0 : POLLIN) |
		    (u->out_off < u->out.len ? POLLOUT : 0);
		pfd.revents = 0;
		/*
		 * Block on the socket when there is no room to read into, or
		 * nothing came and output waits for the socket; otherwise the
		 * spool read above did the waiting.
		 */
		if (!room)
			wait = SUB_POLL_MS;
		else if (n > 0)
			wait = 0;
		else
			wait = u->out_off < u->out.len ? SUB_POLL_MS : 0;
		if (poll(&pfd, 1, wait) == -1 && errno != EINTR)
			break;
		/*
		 * A client that shut down its sending side (no more acks) is
		 * still served; one that closed the connection (hang-up) is
		 * gone.
		 */
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			/* Last acks first, even from a client that has gone. */
			if (!eof)
				eof = sub_recv(u) != 0;
			if (sub_input(u, &e) == -1)
				break;
			if (pfd.revents & (POLLHUP | POLLERR))
				break;
		}
		if (u->out_off < u->out.len && sub_flush(u) == -1)
			break;
	}
	if (e.msg[0] != '\0') {
		/* What was queued goes first, as far as the socket takes it. */
		(void)sub_flush(u);
		send_error_close(u->fd, e.msg);
		u->fd = -1;
	}
}

static void
sub_free_state(struct sub *u)
{
	struct spool_reader *r;

	pthread_mutex_lock(&u->ss->lock);
	r = u->reader;
	u->reader = NULL;
	pthread_mutex_unlock(&u->ss->lock);
	spool_reader_close(r);
	if (u->fd != -1)
		close(u->fd);
	u->fd = -1;
	free(u->name);
	free(u->cursor);
	free(u->where_text);
	filter_free(u->where);
	template_free(u->tmpl);
	format_ctx_free(u->fmt);
	buf_free(&u->in);
	buf_free(&u->out);
	free(u->ends);
	free(u->endseqs);
	u->name = u->cursor = u->where_text = NULL;
}

static void *
sub_main(void *arg)
{
	struct sub *u = arg;
	struct sub_err e = { "" };
	struct sink_conf fc;
	enum sub_from from = FROM_NOW;
	uint64_t fromseq = 0, pos;
	char *line = NULL;
	size_t len = 0;

	thread_set_name("sub", sink_name(u->ss->sink));
	if (sub_read_request(u, &line, &len, &e) == -1 ||
	    sub_parse(u, line, len, &from, &fromseq, &e) == -1 ||
	    sub_open(u, from, fromseq, &e) == -1) {
		if (e.msg[0] != '\0') {
			log_info("sink %s: subscriber %llu (pid %d) refused: %s",
			    sink_name(u->ss->sink), (unsigned long long)u->id,
			    (int)u->peer.pid, e.msg);
			send_error_close(u->fd, e.msg);
			u->fd = -1;
		}
		goto done;
	}
	memset(&fc, 0, sizeof fc);
	fc.format = u->format;
	fc.tmpl = u->tmpl;
	fc.severity = sink_conf(u->ss->sink)->severity;
	u->fmt = format_ctx_new(&fc);
	{
		struct spool_reader_stats rs;

		spool_reader_get_stats(u->reader, &rs);
		pos = rs.position;
	}
	pthread_mutex_lock(&u->ss->lock);
	u->position = pos;
	u->state = SUB_REPLAY;
	pthread_mutex_unlock(&u->ss->lock);
	buf_adds(&u->out, "{\"type\":\"subscribed\",\"name\":");
	if (u->name != NULL)
		record_json_string(&u->out, u->name);
	else
		buf_adds(&u->out, "null");
	buf_printf(&u->out, ",\"next_seq\":%llu}\n", (unsigned long long)pos);
	queue_msg(u, 0, 0);
	log_info("sink %s: subscriber %llu%s%s%s (uid %d pid %d) from %llu%s%s",
	    sink_name(u->ss->sink), (unsigned long long)u->id,
	    u->name ? " (" : "", u->name ? u->name : "", u->name ? ")" : "",
	    (int)u->peer.uid, (int)u->peer.pid, (unsigned long long)pos,
	    u->where_text ? " where " : "", u->where_text ? u->where_text : "");
	sub_serve(u);
	log_debug("sink %s: subscriber %llu gone", sink_name(u->ss->sink),
	    (unsigned long long)u->id);
done:
	free(line);
	sub_free_state(u);
	pthread_mutex_lock(&u->ss->lock);
	u->done = true;
	pthread_mutex_unlock(&u->ss->lock);
	return NULL;
}

/* The kind */

static int
socket_open(struct sink *s, char **cause)
{
	const struct sink_conf *c = sink_conf(s);
	struct sock_sink *ss;
	int fd;

	if ((fd = usock_listen(c->path, "socket", c->mode, c->gid, cause)) ==
	    -1)
		return -1;
	ss = xcalloc(1, sizeof *ss);
	ss->sink = s;
	ss->lfd = fd;
	ss->path = xstrdup(c->path);
	ss->wake[0] = ss->wake[1] = -1;
	pthread_mutex_init(&ss->lock, NULL);
	sink_set_priv(s, ss);
	return 0;
}

static int
socket_start(struct sink *s, char **cause)
{
	struct sock_sink *ss = sink_priv(s);

	ss->spool = sink_spool(s);
	if (pipe2(ss->wake, O_CLOEXEC) == -1) {
		xasprintf(cause, "pipe: %s", strerror(errno));
		return -1;
	}
	if (sink_thread_create(&ss->thread, accept_main, ss) != 0) {
		xasprintf(cause, "cannot start the accept thread");
		return -1;
	}
	ss->accepting = true;
	log_info("sink %s: subscribers on %s", sink_name(s), ss->path);
	return 0;
}

static void
socket_close(struct sink *s)
{
	struct sock_sink *ss = sink_priv(s);
	size_t i;
	char c = 0;

	if (ss == NULL)
		return;
	if (ss->accepting) {
		while (write(ss->wake[1], &c, 1) == -1 && errno == EINTR)
			;
		pthread_join(ss->thread, NULL);
	}
	pthread_mutex_lock(&ss->lock);
	for (i = 0; i < ss->nsubs; i++) {
		ss->subs[i]->stop = true;
		if (ss->subs[i]->reader != NULL)
			spool_reader_interrupt(ss->subs[i]->reader);
	}
	pthread_mutex_unlock(&ss->lock);
	for (i = 0; i < ss->nsubs; i++) {
		pthread_join(ss->subs[i]->thread, NULL);
		free(ss->subs[i]);
	}
	free(ss->subs);
	close(ss->lfd);
	if (unlink(ss->path) == -1 && errno != ENOENT)
		log_warn("sink %s: unlink %s: %s", sink_name(s), ss->path,
		    strerror(errno));
	if (ss->wake[0] != -1) {
		close(ss->wake[0]);
		close(ss->wake[1]);
	}
	pthread_mutex_destroy(&ss->lock);
	free(ss->path);
	free(ss);
	sink_set_priv(s, NULL);
}

const struct sink_ops sink_socket_ops = {
	.type = "socket",
	.no_writer = true,
	.open = socket_open,
	.start = socket_start,
	.close = socket_close,
};

size_t
sink_socket_subscribers(struct sink *s, struct sink_subscriber **out)
{
	struct sock_sink *ss;
	struct sink_subscriber *a;
	struct sub *u;
	size_t i, n = 0;

	*out = NULL;
	if (strcmp(sink_conf(s)->type, "socket") != 0 ||
	    (ss = sink_priv(s)) == NULL)
		return 0;
	pthread_mutex_lock(&ss->lock);
	a = xcalloc(ss->nsubs + 1, sizeof *a);
	for (i = 0; i < ss->nsubs; i++) {
		u = ss->subs[i];
		if (u->done)
			continue;
		a[n].id = u->id;
		a[n].peer = u->peer;
		a[n].connected = u->connected;
		a[n].name = u->name != NULL ? xstrdup(u->name) : NULL;
		a[n].where = u->where_text != NULL ? xstrdup(u->where_text) :
		    NULL;
		a[n].format = u->format;
		a[n].state = sub_state_names[u->state];
		a[n].position = u->position;
		a[n].acked = u->acked;
		a[n].sent = u->sent;
		a[n].last_sent = u->last_sent;
		a[n].queued = u->queued;
		a[n].gaps = u->gaps;
		a[n].lost = u->lost;
		n++;
	}
	pthread_mutex_unlock(&ss->lock);
	*out = a;
	return n;
}

void
sink_socket_subscribers_free(struct sink_subscriber *a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(a[i].name);
		free(a[i].where);
	}
	free(a);
}
