/*
 * sink_syslog.c: `type = syslog` sinks, one datagram per record to the
 * syslog daemon's UNIX socket (`socket`, default /dev/log).
 *
 * RFC 5424 (the default):
 *   <PRI>1 TIME HOST APP PID - [cim@32473 class="C" seq="N" source="A"
 *   messageid="M"] TEXT
 * RFC 3164, as syslog(3) writes to a local socket:
 *   <PRI>Mmm dd hh:mm:ss APP[PID]: TEXT
 * TIME is the record's acceptance time, PRI the facility and the record's
 * level under `severity`, TEXT the record in the sink's format (the JSON
 * line by default).
 *
 * The socket is connected lazily. When sending fails because the syslog
 * daemon went away (socket file gone, connection refused) the socket is
 * closed and the delivery retried later by sink.c with backoff; the next
 * attempt connects anew, so a restarted syslog daemon gets every record
 * that arrived meanwhile. A message longer than the socket takes
 * (EMSGSIZE) is cut by quarters, at a UTF-8 character boundary, until it
 * goes, and ends in "...[truncated]"; the size that went is remembered
 * for the next long message.
 * `rate_limit` paces the sends in the writer thread; nothing is dropped.
 */
#include "autoconf.h"


#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "format.h"
#include "log.h"
#include "sink.h"
#include "xmalloc.h"

#define SYSLOG_DEFAULT_SOCKET "/dev/log"
#define SYSLOG_DEFAULT_IDENT "cimlistend"
#define SYSLOG_SD_ID "cim@32473"
#define SYSLOG_TRUNC_MARK "...[truncated]"
/* Smallest message we cut down to before calling the socket hopeless. */
#define SYSLOG_MIN_SIZE 480

struct syslog_sink {
	int fd;                      /* -1 when not connected */
	struct format_ctx *fmt;
	struct buf msg;              /* the datagram being built */
	struct buf text;             /* the record's text */
	char host[256];
	size_t max_size;             /* largest size known to go, 0 unknown */
	struct timespec next;        /* rate_limit: earliest next send */
};

static const char *
syslog_path(const struct sink_conf *c)
{
	return c->socket != NULL && *c->socket != '\0' ? c->socket :
	    SYSLOG_DEFAULT_SOCKET;
}

static const char *
syslog_ident(const struct sink_conf *c)
{
	return c->ident != NULL && *c->ident != '\0' ? c->ident :
	    SYSLOG_DEFAULT_IDENT;
}

static void
syslog_disconnect(struct syslog_sink *ss)
{
	if (ss->fd != -1)
		close(ss->fd);
	ss->fd = -1;
}

static int
syslog_connect(struct sink *s, struct syslog_sink *ss, char **cause)
{
	const char *path = syslog_path(sink_conf(s));
	struct sockaddr_un sun;
	struct timeval tv = { 5, 0 };
	int fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		xasprintf(cause, "socket path too long: %s", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return -1;
	}
	/* A syslog daemon that stops reading must not wedge the sink. */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		xasprintf(cause, "connect %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	ss->fd = fd;
	ss->max_size = 0;
	return 0;
}

static int
syslog_open(struct sink *s, char **cause)
{
	struct syslog_sink *ss;
	char *why = NULL;

	(void)cause;
	ss = xcalloc(1, sizeof *ss);
	ss->fd = -1;
	ss->fmt = format_ctx_new(sink_conf(s));
	if (gethostname(ss->host, sizeof ss->host) != 0 || *ss->host == '\0')
		strcpy(ss->host, "-");
	ss->host[sizeof ss->host - 1] = '\0';
	sink_set_priv(s, ss);
	/* A syslog daemon not yet running is not an error: retried later. */
	if (syslog_connect(s, ss, &why) == -1) {
		log_warnx("sink %s: %s (will retry)", sink_name(s), why);
		free(why);
	}
	return 0;
}

/* Append an RFC 5424 PARAM-VALUE: '"', '\\' and ']' escaped. */
static void
syslog_sd_value(struct buf *out, const char *v)
{
	for (; v != NULL && *v != '\0'; v++) {
		if (*v == '"' || *v == '\\' || *v == ']')
			buf_addc(out, '\\');
		buf_addc(out, *v);
	}
}

static const char *
record_class(const struct record *rec)
{
	return rec->inst != NULL && rec->inst->classname != NULL ?
	    rec->inst->classname : "";
}

/* Build the datagram for one record in ss->msg. */
static void
syslog_build(struct sink *s, struct syslog_sink *ss,
    const struct sink_line *line)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(1, 5);
	const struct sink_conf *c = sink_conf(s);
	const struct record *rec;
	char *cause = NULL, ts[32];
	struct tm tm;
	time_t t;
	int level = LOG_NOTICE, pri;

	rec = format_decode(ss->fmt, line->data, line->len, &cause);
	if (rec == NULL) {
		log_limited(&rl, LOG_WARNING, "sink %s: record %llu sent as "
		    "JSON: %s", sink_name(s), (unsigned long long)line->seq,
		    cause);
		free(cause);
	} else
		level = format_ctx_severity(ss->fmt, rec);
	buf_reset(&ss->text);
	format_ctx_render(ss->fmt, line->data, line->len, rec, &ss->text);
	pri = c->facility * 8 + level;

	buf_reset(&ss->msg);
	if (c->protocol == SYSLOG_RFC3164) {
		t = rec != NULL ? rec->time.tv_sec : time(NULL);
		localtime_r(&t, &tm);
		strftime(ts, sizeof ts, "%b %e %H:%M:%S", &tm);
		buf_printf(&ss->msg, "<%d>%s %s[%ld]: ", pri, ts,
		    syslog_ident(c), (long)getpid());
	} else {
		if (rec != NULL)
			record_format_time(&rec->time, ts);
		else
			strcpy(ts, "-");
		buf_printf(&ss->msg, "<%d>1 %s %s %.48s %ld - ", pri, ts,
		    ss->host, syslog_ident(c), (long)getpid());
		buf_adds(&ss->msg, "[" SYSLOG_SD_ID " class=\"");
		if (rec != NULL) {
			syslog_sd_value(&ss->msg, record_class(rec));
			buf_printf(&ss->msg, "\" seq=\"%llu\" source=\"",
			    (unsigned long long)rec->seq);
			syslog_sd_value(&ss->msg, rec->source != NULL ?
			    rec->source->addr : "");
			if (rec->message_id != NULL) {
				buf_adds(&ss->msg, "\" messageid=\"");
				syslog_sd_value(&ss->msg, rec->message_id);
			}
		} else
			buf_printf(&ss->msg, "\" seq=\"%llu",
			    (unsigned long long)line->seq);
		buf_adds(&ss->msg, "\"] ");
	}
	buf_add(&ss->msg, ss->text.data, ss->text.len);
}

/*
 * Cut ss->msg to at most `size` bytes ending in the truncation marker,
 * not inside a UTF-8 sequence.
 */
static void
syslog_truncate(struct syslog_sink *ss, size_t size)
{
	size_t keep, mark = strlen(SYSLOG_TRUNC_MARK);

	if (size <= mark || ss->msg.len <= size)
		return;
	keep = size - mark;
	while (keep > 0 && ((unsigned char)ss->msg.data[keep] & 0xc0) == 0x80)
		keep--;
	ss->msg.len = keep;
	buf_add(&ss->msg, SYSLOG_TRUNC_MARK, mark);
}

static void
ts_add(struct timespec *ts, long ns)
{
	ts->tv_nsec += ns;
	while (ts->tv_nsec >= 1000000000L) {
		ts->tv_nsec -= 1000000000L;
		ts->tv_sec++;
	}
}

/*
 * With rate_limit, wait for the next slot. False when the stop deadline
 * came first.
 */
static bool
syslog_pace(struct sink *s, struct syslog_sink *ss)
{
	unsigned rate = sink_conf(s)->rate_limit;
	struct timespec now;

	if (rate == 0)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec < ss->next.tv_sec || (now.tv_sec == ss->next.tv_sec &&
	    now.tv_nsec < ss->next.tv_nsec)) {
		if (!sink_sleep(s, &ss->next))
			return false;
		now = ss->next;
	}
	ss->next = now;
	ts_add(&ss->next, 1000000000L / rate);
	return true;
}

/*
 * Send ss->msg, cutting it when it is too long. 0 when it went; -1 with
 * *cause when the socket failed (it is closed then).
 */
static int
syslog_send(struct sink *s, struct syslog_sink *ss, uint64_t seq,
    char **cause)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(1, 5);
	size_t full = ss->msg.len, size;

	if (ss->max_size > 0 && ss->msg.len > ss->max_size)
		syslog_truncate(ss, ss->max_size);
	for (;;) {
		if (send(ss->fd, ss->msg.data, ss->msg.len, MSG_NOSIGNAL) !=
		    -1)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EMSGSIZE && ss->msg.len > SYSLOG_MIN_SIZE) {
			size = ss->msg.len * 3 / 4;
			if (size < SYSLOG_MIN_SIZE)
				size = SYSLOG_MIN_SIZE;
			syslog_truncate(ss, size);
			continue;
		}
		xasprintf(cause, "send %s: %s", syslog_path(sink_conf(s)),
		    strerror(errno));
		syslog_disconnect(ss);
		return -1;
	}
	if (ss->msg.len < full) {
		if (ss->max_size == 0 || ss->msg.len < ss->max_size)
			ss->max_size = ss->msg.len;
		log_limited(&rl, LOG_NOTICE, "sink %s: record %llu truncated "
		    "from %zu to %zu bytes for %s", sink_name(s),
		    (unsigned long long)seq, full, ss->msg.len,
		    syslog_path(sink_conf(s)));
	}
	return 0;
}

static enum sink_result
syslog_deliver(struct sink *s, const struct sink_line *lines, size_t n,
    size_t *done, char **cause)
{
	struct syslog_sink *ss = sink_priv(s);
	size_t i;

	*done = 0;
	if (ss->fd == -1 && syslog_connect(s, ss, cause) == -1)
		return SINK_RETRY;
	for (i = 0; i < n; i++) {
		syslog_build(s, ss, &lines[i]);
		if (!syslog_pace(s, ss)) {
			*done = i;
			*cause = xstrdup("stopping");
			return SINK_RETRY;
		}
		if (syslog_send(s, ss, lines[i].seq, cause) == -1) {
			*done = i;
			return SINK_RETRY;
		}
	}
	*done = n;
	return SINK_OK;
}

/* Reopen: connect anew (SIGUSR1 after the syslog daemon moved). */
static int
syslog_reopen(struct sink *s, char **cause)
{
	struct syslog_sink *ss = sink_priv(s);

	syslog_disconnect(ss);
	if (syslog_connect(s, ss, cause) == -1)
		return -1;
	return 0;
}

static void
syslog_close(struct sink *s)
{
	struct syslog_sink *ss = sink_priv(s);

	if (ss == NULL)
		return;
	syslog_disconnect(ss);
	format_ctx_free(ss->fmt);
	buf_free(&ss->msg);
	buf_free(&ss->text);
	free(ss);
	sink_set_priv(s, NULL);
}

const struct sink_ops sink_syslog_ops = {
	.type = "syslog",
	.open = syslog_open,
	.deliver = syslog_deliver,
	.reopen = syslog_reopen,
	.close = syslog_close,
};
