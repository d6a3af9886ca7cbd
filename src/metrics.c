/*
 * metrics.c: [metrics] listen = HOST:PORT serves the daemon's counters in
 * the Prometheus text exposition format (version 0.0.4) at GET /metrics,
 * from a small libmicrohttpd daemon of its own (one internal thread),
 * apart from the CIM listener ports. The figures are the ones the control
 * socket's stats answer gives, read from the same thread-safe statistics.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "control.h"
#include "dispatch.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "histo.h"
#include "sink.h"
#include "sink_socket.h"
#include "spool.h"
#include "xmalloc.h"

struct metrics {
	const struct control_state *st;
	struct MHD_Daemon *mhd;
	int fd;
};

/* One metric's HELP and TYPE lines. */
static void
family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP cimlisten_%s %s\n# TYPE cimlisten_%s %s\n", name,
	    help, name, type);
}

static void
sample(struct buf *b, const char *name, const char *type, const char *help,
    uint64_t v)
{
	family(b, name, type, help);
	buf_printf(b, "cimlisten_%s %llu\n", name, (unsigned long long)v);
}

/* A label value with \\, \" and \n escaped. */
static void
label_value(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			buf_addc(b, '\\');
		if (*s == '\n')
			buf_adds(b, "\\n");
		else
			buf_addc(b, *s);
	}
}

/* The buckets, _sum and _count of one histogram; labels "" or `k="v",`. */
static void
histo_samples(struct buf *b, const char *name, const char *labels,
    const struct histo_snapshot *h)
{
	unsigned i;

	for (i = 0; i < HISTO_BOUNDS; i++)
		buf_printf(b, "cimlisten_%s_bucket{%sle=\"%g\"} %llu\n", name,
		    labels, (double)histo_bounds_us[i] / 1e6,
		    (unsigned long long)h->cumulative[i]);
	buf_printf(b, "cimlisten_%s_bucket{%sle=\"+Inf\"} %llu\n", name, labels,
	    (unsigned long long)h->cumulative[HISTO_BOUNDS]);
	if (*labels != '\0') {
		/* "k=\"v\"," -> "{k=\"v\"}" */
		buf_printf(b, "cimlisten_%s_sum{%.*s} %.6f\n", name,
		    (int)strlen(labels) - 1, labels, (double)h->sum_us / 1e6);
		buf_printf(b, "cimlisten_%s_count{%.*s} %llu\n", name,
		    (int)strlen(labels) - 1, labels,
		    (unsigned long long)h->count);
	} else {
		buf_printf(b, "cimlisten_%s_sum %.6f\n", name,
		    (double)h->sum_us / 1e6);
		buf_printf(b, "cimlisten_%s_count %llu\n", name,
		    (unsigned long long)h->count);
	}
}

/* Per sink: lag in seconds, delivery latency, subscribers. */
static void
sink_extra(struct buf *b, const struct control_state *st,
    const struct spool_stats *sp)
{
	struct histo_snapshot h;
	struct sink_stats ss;
	struct sink_subscriber *subs;
	struct timespec now;
	struct buf lab = BUF_INIT;
	double lag;
	size_t i, n;

	clock_gettime(CLOCK_REALTIME, &now);
	family(b, "sink_lag_seconds", "gauge", "Age of the record a sink "
	    "delivered last, while it has more to deliver; 0 when caught up.");
	for (i = 0; i < st->nsinks; i++) {
		sink_get_stats(st->sinks[i], &ss);
		lag = 0;
		if (sp->next_seq > ss.position && ss.last_time_us != 0)
			lag = ((double)now.tv_sec * 1e6 +
			    (double)(now.tv_nsec / 1000) -
			    (double)ss.last_time_us) / 1e6;
		buf_adds(b, "cimlisten_sink_lag_seconds{sink=\"");
		label_value(b, sink_name(st->sinks[i]));
		buf_printf(b, "\"} %.3f\n", lag > 0 ? lag : 0);
	}
	family(b, "sink_delivery_latency_seconds", "histogram", "Time from "
	    "acceptance to delivery by a sink.");
	for (i = 0; i < st->nsinks; i++) {
		sink_get_latency(st->sinks[i], &h);
		lab.len = 0;
		buf_adds(&lab, "sink=\"");
		label_value(&lab, sink_name(st->sinks[i]));
		buf_adds(&lab, "\",");
		histo_samples(b, "sink_delivery_latency_seconds", lab.data, &h);
	}
	family(b, "sink_subscribers", "gauge", "Subscribers connected to a "
	    "socket sink.");
	for (i = 0; i < st->nsinks; i++) {
		if (strcmp(sink_conf(st->sinks[i])->type, "socket") != 0)
			continue;
		n = sink_socket_subscribers(st->sinks[i], &subs);
		sink_socket_subscribers_free(subs, n);
		buf_adds(b, "cimlisten_sink_subscribers{sink=\"");
		label_value(b, sink_name(st->sinks[i]));
		buf_printf(b, "\"} %zu\n", n);
	}
	buf_free(&lab);
}

enum sink_field { SF_DELIVERED, SF_FAILURES, SF_DROPPED, SF_LOST, SF_LAG };

static void
sink_family(struct buf *b, const struct control_state *st,
    const struct spool_stats *sp, enum sink_field f, const char *name,
    const char *type, const char *help)
{
	struct sink_stats ss;
	uint64_t v;
	size_t i;

	family(b, name, type, help);
	for (i = 0; i < st->nsinks; i++) {
		sink_get_stats(st->sinks[i], &ss);
		switch (f) {
		case SF_DELIVERED: v = ss.delivered; break;
		case SF_FAILURES: v = ss.failures; break;
		case SF_DROPPED: v = ss.dropped; break;
		case SF_LOST: v = ss.lost; break;
		default:
			v = sp->next_seq > ss.position && ss.position > 0 ?
			    sp->next_seq - ss.position : 0;
			break;
		}
		buf_printf(b, "cimlisten_%s{sink=\"", name);
		label_value(b, sink_name(st->sinks[i]));
		buf_adds(b, "\",type=\"");
		label_value(b, sink_conf(st->sinks[i])->type);
		buf_printf(b, "\"} %llu\n", (unsigned long long)v);
	}
}

void
metrics_render(const struct control_state *st, struct buf *b)
{
	struct http_stats hs;
	struct dispatch_stats ds;
	struct spool_stats sp;
	struct timespec now;
	struct dispatch_filter *fs;
	size_t i, n;

	memset(&hs, 0, sizeof hs);
	if (st->http != NULL)
		http_get_stats(st->http, &hs);
	dispatch_get_stats(st->dispatch, &ds);
	spool_get_stats(st->spool, &sp);
	clock_gettime(CLOCK_MONOTONIC, &now);

	family(b, "build_info", "gauge", "Version of the running daemon.");
	buf_printf(b, "cimlisten_build_info{version=\"%s\"} 1\n",
	    PACKAGE_VERSION);
	sample(b, "uptime_seconds", "gauge", "Seconds since the daemon "
	    "started.", (uint64_t)(now.tv_sec - st->started.tv_sec));
	sample(b, "http_requests_total", "counter", "CIM export requests "
	    "answered.", hs.requests);
	sample(b, "http_accepted_total", "counter", "Requests answered 200 "
	    "with their indications taken.", hs.accepted);
	sample(b, "http_rejected_total", "counter", "Requests answered with "
	    "a 4xx or 5xx status.", hs.rejected);
	sample(b, "http_method_errors_total", "counter", "Requests answered "
	    "200 with an export-level CIM error.", hs.method_errors);
	sample(b, "http_active_requests", "gauge", "Requests in progress.",
	    hs.active);
	sample(b, "http_rejects_kept_total", "counter", "Rejected requests "
	    "kept in reject_dir.", hs.rejects_kept);
	sample(b, "indications_accepted_total", "counter", "Indications "
	    "accepted into the spool.", ds.indications);
	sample(b, "indications_unmatched_total", "counter", "Accepted "
	    "indications that matched no filter.", ds.unrouted);
	sample(b, "indications_duplicates_total", "counter", "DSP1054 "
	    "retried duplicates acknowledged and not kept again.",
	    ds.duplicates);
	sample(b, "requests_refused_total", "counter", "Requests refused "
	    "with 503 because the spool could not be written.", ds.refused);
	sample(b, "spool_bytes", "gauge", "Bytes in the spool's segment "
	    "files.", sp.bytes);
	sample(b, "spool_segments", "gauge", "Segment files in the spool.",
	    sp.segments);
	sample(b, "spool_next_seq", "gauge", "Sequence number the next "
	    "record gets.", sp.next_seq);
	sample(b, "spool_append_failures_total", "counter", "Spool appends "
	    "that failed.", sp.append_failures);
	sample(b, "spool_segments_deleted_total", "counter", "Segments "
	    "removed by retention.", sp.segments_deleted);
	sink_family(b, st, &sp, SF_DELIVERED, "sink_delivered_total",
	    "counter", "Records a sink delivered.");
	sink_family(b, st, &sp, SF_FAILURES, "sink_failures_total", "counter",
	    "Failed delivery attempts of a sink.");
	sink_family(b, st, &sp, SF_DROPPED, "sink_dropped_total", "counter",
	    "Records a sink could never deliver and dropped.");
	sink_family(b, st, &sp, SF_LOST, "sink_lost_total", "counter",
	    "Records lost to a sink by spool retention or corruption.");
	sink_family(b, st, &sp, SF_LAG, "sink_lag_records", "gauge",
	    "Spool records a sink has not passed yet.");
	sink_extra(b, st, &sp);

	family(b, "http_responses_total", "counter", "Answers by HTTP status.");
	for (i = 0; i < HTTP_NSTATUS; i++) {
		if (http_status_codes[i] != 0)
			buf_printf(b, "cimlisten_http_responses_total{status="
			    "\"%u\"} %llu\n", http_status_codes[i],
			    (unsigned long long)hs.by_status[i]);
		else
			buf_printf(b, "cimlisten_http_responses_total{status="
			    "\"other\"} %llu\n",
			    (unsigned long long)hs.by_status[i]);
	}
	family(b, "http_cimerrors_total", "counter", "Answers by CIMError "
	    "header.");
	for (i = 0; i < HTTP_NCIMERROR; i++)
		buf_printf(b, "cimlisten_http_cimerrors_total{cimerror=\"%s\"} "
		    "%llu\n", http_cimerror_names[i],
		    (unsigned long long)hs.by_cimerror[i]);
	family(b, "ack_latency_seconds", "histogram", "Time from a request's "
	    "headers to its answer.");
	histo_samples(b, "ack_latency_seconds", "", &hs.ack_latency);
	n = dispatch_filters(st->dispatch, &fs);
	family(b, "filter_matches_total", "counter", "Accepted indications a "
	    "filter matched.");
	for (i = 0; i < n; i++) {
		buf_adds(b, "cimlisten_filter_matches_total{filter=\"");
		label_value(b, fs[i].name);
		buf_printf(b, "\"} %llu\n", (unsigned long long)fs[i].matched);
	}
	dispatch_filters_free(fs, n);
}

static enum MHD_Result
metrics_answer(struct MHD_Connection *c, unsigned status, const char *type,
    char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result rc;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	if (status == 405)
		MHD_add_response_header(r, "Allow", "GET, HEAD");
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result
metrics_access(void *arg, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct metrics *m = arg;
	struct buf b = BUF_INIT;
	size_t len;
	char *body;

	(void)version;
	(void)upload;
	if (*con_cls == NULL) {
		*con_cls = m;
		return MHD_YES;
	}
	if (*upload_size != 0) {
		*upload_size = 0;       /* request bodies are ignored */
		return MHD_YES;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return metrics_answer(c, 405, "text/plain; charset=utf-8",
		    xstrdup("only GET /metrics\n"), 18);
	if (strcmp(url, "/metrics") != 0)
		return metrics_answer(c, 404, "text/plain; charset=utf-8",
		    xstrdup("not found: try /metrics\n"), 24);
	if (m->st->lock != NULL)
		pthread_rwlock_rdlock(m->st->lock);
	metrics_render(m->st, &b);
	if (m->st->lock != NULL)
		pthread_rwlock_unlock(m->st->lock);
	body = buf_steal(&b, &len);
	return metrics_answer(c, 200, "text/plain; version=0.0.4; "
	    "charset=utf-8", body, len);
}

/* Bind HOST:PORT; -1 with *cause. */
static int
metrics_bind(const char *listen_on, char **cause)
{
	struct addrinfo hints, *ai = NULL;
	char host[256], port[16];
	unsigned p;
	int fd, one = 1, rc;

	if (config_hostport(listen_on, host, sizeof host, &p) == -1) {
		xasprintf(cause, "metrics: bad listen address %s", listen_on);
		return -1;
	}
	snprintf(port, sizeof port, "%u", p);
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0) {
		xasprintf(cause, "metrics: %s: %s", listen_on,
		    gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(fd, 64) == -1) {
		xasprintf(cause, "metrics: cannot listen on %s: %s", listen_on,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	return fd;
}

struct metrics *
metrics_start(const struct control_state *st, char **cause)
{
	const char *listen_on = st->conf->metrics.listen;
	struct metrics *m;
	int fd;

	if ((fd = metrics_bind(listen_on, cause)) == -1)
		return NULL;
	m = xcalloc(1, sizeof *m);
	m->st = st;
	m->fd = fd;
	m->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_POLL, 0, NULL, NULL, metrics_access, m,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
	if (m->mhd == NULL) {
		xasprintf(cause, "metrics: libmicrohttpd cannot start on %s",
		    listen_on);
		close(fd);
		free(m);
		return NULL;
	}
	log_info("metrics at http://%s/metrics", listen_on);
	return m;
}

void
metrics_stop(struct metrics *m)
{
	if (m == NULL)
		return;
	MHD_stop_daemon(m->mhd);
	close(m->fd);
	free(m);
}
