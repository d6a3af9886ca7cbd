/*
 * control.c: the control socket. One thread polls the listening socket,
 * a wake-up pipe and up to CONTROL_MAX_CLIENTS connections; each complete
 * request line is answered at once with one line
 * {"ok":true,"result":{...}} or {"ok":false,"errors":["..."]}. The
 * answers are built from the thread-safe statistics of the listener, the
 * dispatcher, the spool and the sinks, so serving them takes no lock the
 * hot path holds for long. Every peer's credentials (SO_PEERCRED) are
 * taken when it connects and logged with the requests that change
 * something (reopen, reload, redeliver). A reload runs in this thread
 * (through the daemon's callback), so other clients wait for it.
 *
 * A request line longer than CONTROL_MAX_LINE gets an error and the
 * connection is closed; other bad requests get an error and the
 * connection stays open. Answers are written with a send timeout, so a
 * client that does not read cannot stall the thread for long.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "control.h"
#include "dispatch.h"
#include "histo.h"
#include "http.h"
#include "log.h"
#include "record.h"
#include "reload.h"
#include "seqtrack.h"
#include "sink.h"
#include "sink_socket.h"
#include "spool.h"
#include "usock.h"
#include "xmalloc.h"

#define CONTROL_MAX_CLIENTS 16
#define CONTROL_MAX_LINE 65536

struct control_client {
	int fd;
	struct buf in;
	unsigned uid;
	int pid;
};

struct control {
	const struct control_state *st;
	char *path;
	int fd;
	int wake[2];
	pthread_t thread;
	struct control_client clients[CONTROL_MAX_CLIENTS];
};

/* Answers */

static json_object *
jstr(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

static void
jset(json_object *o, const char *k, json_object *v)
{
	json_object_object_add(o, k, v);
}

static void
jset_u64(json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

static char *
answer_line(json_object *o)
{
	char *line;

	xasprintf(&line, "%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return line;
}

static char *
answer_error(const char *fmt, const char *arg)
{
	json_object *o = json_object_new_object(), *errs;
	char *msg;

	xasprintf(&msg, fmt, arg);
	errs = json_object_new_array();
	json_object_array_add(errs, json_object_new_string(msg));
	free(msg);
	jset(o, "ok", json_object_new_boolean(0));
	jset(o, "errors", errs);
	return answer_line(o);
}

static char *
answer_ok(json_object *result)
{
	json_object *o = json_object_new_object();

	jset(o, "ok", json_object_new_boolean(1));
	jset(o, "result", result);
	return answer_line(o);
}

static const char *
format_name(enum sink_format f)
{
	switch (f) {
	case SINK_FORMAT_MOF: return "mof";
	case SINK_FORMAT_TEMPLATE: return "template";
	default: return "json";
	}
}

/* One sink's figures; lag: spool records it has not passed yet. */
/* A latency histogram: count, sum, estimated quantiles, buckets. */
static json_object *
histo_json(const struct histo_snapshot *h)
{
	json_object *o = json_object_new_object(), *b;
	char name[32];
	unsigned i;

	jset_u64(o, "count", h->count);
	jset_u64(o, "sum_us", h->sum_us);
	jset_u64(o, "p50_us", histo_quantile(h, 0.5));
	jset_u64(o, "p99_us", histo_quantile(h, 0.99));
	b = json_object_new_object();
	for (i = 0; i < HISTO_BOUNDS; i++) {
		snprintf(name, sizeof name, "%llu",
		    (unsigned long long)histo_bounds_us[i]);
		jset_u64(b, name, h->cumulative[i]);
	}
	jset_u64(b, "+Inf", h->cumulative[HISTO_BOUNDS]);
	jset(o, "le_us", b);
	return o;
}

/* Seconds the sink is behind: age of what it delivered last, if lagging. */
static double
lag_seconds(const struct sink_stats *ss, uint64_t next_seq)
{
	struct timespec now;
	int64_t us;

	if (next_seq <= ss->position || ss->last_time_us == 0)
		return 0;
	clock_gettime(CLOCK_REALTIME, &now);
	us = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000 -
	    ss->last_time_us;
	return us > 0 ? (double)us / 1e6 : 0;
}

static json_object *
sink_json(struct sink *s, uint64_t next_seq, bool full)
{
	const struct sink_conf *c = sink_conf(s);
	struct sink_stats ss;
	json_object *o = json_object_new_object();

	sink_get_stats(s, &ss);
	jset(o, "name", jstr(sink_name(s)));
	jset(o, "type", jstr(c->type));
	if (full) {
		jset(o, "format", jstr(format_name(c->format)));
		if (c->path != NULL)
			jset(o, "path", jstr(c->path));
	}
	jset_u64(o, "delivered", ss.delivered);
	jset_u64(o, "failures", ss.failures);
	if (full) {
		jset_u64(o, "dropped", ss.dropped);
		jset_u64(o, "lost", ss.lost);
		jset_u64(o, "last_seq", ss.last_seq);
		jset_u64(o, "position", ss.position);
	}
	jset_u64(o, "lag", next_seq > ss.position && ss.position > 0 ?
	    next_seq - ss.position : 0);
	if (full) {
		struct histo_snapshot h;

		jset(o, "lag_seconds", json_object_new_double(
		    lag_seconds(&ss, next_seq)));
		sink_get_latency(s, &h);
		jset(o, "latency", histo_json(&h));
	}
	return o;
}

static json_object *
sinks_json(const struct control_state *st, bool full)
{
	struct spool_stats sp;
	json_object *a = json_object_new_array();
	size_t i;

	spool_get_stats(st->spool, &sp);
	for (i = 0; i < st->nsinks; i++)
		json_object_array_add(a, sink_json(st->sinks[i], sp.next_seq,
		    full));
	return a;
}

static json_object *
spool_json(const struct control_state *st)
{
	struct spool_stats sp;
	json_object *o = json_object_new_object();

	spool_get_stats(st->spool, &sp);
	jset(o, "dir", jstr(st->conf->daemon.spool_dir));
	jset_u64(o, "bytes", sp.bytes);
	jset_u64(o, "segments", sp.segments);
	jset_u64(o, "oldest_seq", sp.oldest_seq);
	jset_u64(o, "newest_seq", sp.newest_seq);
	jset_u64(o, "next_seq", sp.next_seq);
	return o;
}

static json_object *
op_status(const struct control_state *st)
{
	json_object *o = json_object_new_object(), *ls, *l;
	struct timespec now;
	unsigned port;
	size_t i;

	clock_gettime(CLOCK_MONOTONIC, &now);
	jset(o, "version", jstr(PACKAGE_VERSION));
	jset(o, "pid", json_object_new_int((int)getpid()));
	jset_u64(o, "uptime", (uint64_t)(now.tv_sec - st->started.tv_sec));
	jset(o, "config", jstr(st->conf->file));
	ls = json_object_new_array();
	for (i = 0; i < http_sockets(st->http); i++) {
		const char *name = http_socket_name(st->http, i, &port);
		const char *colon = strrchr(name, ':');
		size_t alen = colon != NULL ? (size_t)(colon - name) : strlen(name);

		/* "[::1]:5988" and "127.0.0.1:5988": the address part bare. */
		if (alen >= 2 && name[0] == '[' && name[alen - 1] == ']') {
			name++;
			alen -= 2;
		}
		l = json_object_new_object();
		jset(l, "address", json_object_new_string_len(name, (int)alen));
		jset(l, "port", json_object_new_int((int)port));
		jset(l, "tls", json_object_new_boolean(http_socket_tls(st->http, i)));
		json_object_array_add(ls, l);
	}
	jset(o, "listeners", ls);
	jset(o, "spool", spool_json(st));
	jset(o, "sinks", sinks_json(st, false));
	return o;
}

static const char *format_name(enum sink_format f);
static json_object *jtime(time_t t);

/* Every subscriber of every socket sink. */
static json_object *
op_subscribers(const struct control_state *st)
{
	struct sink_subscriber *subs;
	json_object *a = json_object_new_array(), *o;
	size_t i, j, n;

	for (i = 0; i < st->nsinks; i++) {
		n = sink_socket_subscribers(st->sinks[i], &subs);
		for (j = 0; j < n; j++) {
			o = json_object_new_object();
			jset(o, "sink", jstr(sink_name(st->sinks[i])));
			jset_u64(o, "id", subs[j].id);
			jset(o, "name", subs[j].name != NULL ?
			    jstr(subs[j].name) : NULL);
			jset(o, "pid", json_object_new_int64(subs[j].peer.pid));
			jset(o, "uid", json_object_new_int64(
			    subs[j].peer.uid == (uid_t)-1 ? -1 :
			    (int64_t)subs[j].peer.uid));
			jset(o, "gid", json_object_new_int64(
			    subs[j].peer.gid == (gid_t)-1 ? -1 :
			    (int64_t)subs[j].peer.gid));
			jset(o, "connected", jtime(subs[j].connected));
			jset(o, "where", subs[j].where != NULL ?
			    jstr(subs[j].where) : NULL);
			jset(o, "format", jstr(format_name(subs[j].format)));
			jset(o, "state", jstr(subs[j].state));
			jset_u64(o, "position", subs[j].position);
			jset_u64(o, "acked", subs[j].acked);
			jset_u64(o, "sent", subs[j].sent);
			jset_u64(o, "last_seq", subs[j].last_sent);
			jset_u64(o, "queued", subs[j].queued);
			jset_u64(o, "gaps", subs[j].gaps);
			jset_u64(o, "lost", subs[j].lost);
			json_object_array_add(a, o);
		}
		sink_socket_subscribers_free(subs, n);
	}
	return a;
}

static json_object *
op_stats(const struct control_state *st)
{
	struct http_stats hs;
	struct dispatch_stats ds;
	struct spool_stats sp;
	json_object *o = json_object_new_object(), *h, *d, *s;

	memset(&hs, 0, sizeof hs);
	if (st->http != NULL)
		http_get_stats(st->http, &hs);
	h = json_object_new_object();
	jset_u64(h, "requests", hs.requests);
	jset_u64(h, "accepted", hs.accepted);
	jset_u64(h, "rejected", hs.rejected);
	jset_u64(h, "method_errors", hs.method_errors);
	jset_u64(h, "active", hs.active);
	{
		json_object *bs = json_object_new_object();
		json_object *be = json_object_new_object();
		char code[16];
		size_t i;

		for (i = 0; i < HTTP_NSTATUS; i++) {
			if (hs.by_status[i] == 0)
				continue;
			if (http_status_codes[i] != 0)
				snprintf(code, sizeof code, "%u",
				    http_status_codes[i]);
			else
				snprintf(code, sizeof code, "other");
			jset_u64(bs, code, hs.by_status[i]);
		}
		for (i = 0; i < HTTP_NCIMERROR; i++)
			if (hs.by_cimerror[i] != 0)
				jset_u64(be, http_cimerror_names[i],
				    hs.by_cimerror[i]);
		jset_u64(h, "rejects_kept", hs.rejects_kept);
		jset_u64(h, "rate_limited", hs.rate_limited);
		jset(h, "by_status", bs);
		jset(h, "by_cimerror", be);
		jset(h, "latency", histo_json(&hs.ack_latency));
	}
	jset(o, "http", h);

	dispatch_get_stats(st->dispatch, &ds);
	d = json_object_new_object();
	jset_u64(d, "accepted", ds.indications);
	jset_u64(d, "unmatched", ds.unrouted);
	jset_u64(d, "duplicates", ds.duplicates);
	jset_u64(d, "refused", ds.refused);
	jset(o, "indications", d);

	spool_get_stats(st->spool, &sp);
	s = json_object_new_object();
	jset_u64(s, "appended", sp.appended);
	jset_u64(s, "appended_bytes", sp.appended_bytes);
	jset_u64(s, "append_failures", sp.append_failures);
	jset_u64(s, "syncs", sp.syncs);
	jset_u64(s, "segments_deleted", sp.segments_deleted);
	jset_u64(s, "segments_forced", sp.segments_forced);
	jset(o, "spool", s);
	jset(o, "sinks", sinks_json(st, true));
	{
		struct dispatch_filter *fs;
		json_object *fa = json_object_new_array(), *f;
		size_t i, n = dispatch_filters(st->dispatch, &fs);

		for (i = 0; i < n; i++) {
			f = json_object_new_object();
			jset(f, "name", jstr(fs[i].name));
			jset_u64(f, "matched", fs[i].matched);
			json_object_array_add(fa, f);
		}
		dispatch_filters_free(fs, n);
		jset(o, "filters", fa);
	}
	jset(o, "subscribers", op_subscribers(st));
	return o;
}

static json_object *
jtime(time_t t)
{
	struct timespec ts = { t, 0 };
	char buf[32];

	if (t == 0)
		return NULL;
	record_format_time(&ts, buf);
	return json_object_new_string(buf);
}

/*
 * Per sender: requests and indications accepted, when last seen, the last
 * class, and its DSP1054 SequenceContext tracks.
 */
static json_object *
op_sources(const struct control_state *st)
{
	struct dispatch_source *ds = NULL;
	struct seqtrack_source *tr = NULL;
	json_object *a = json_object_new_array(), *o, *tracks, *t;
	size_t n, nt = 0, i, k;

	n = dispatch_sources(st->dispatch, &ds);
	if (st->seqtrack != NULL)
		nt = seqtrack_snapshot(st->seqtrack, &tr);
	for (i = 0; i < n; i++) {
		o = json_object_new_object();
		jset(o, "addr", jstr(ds[i].addr));
		jset_u64(o, "requests", ds[i].requests);
		jset_u64(o, "indications", ds[i].indications);
		jset(o, "last_seen", jtime(ds[i].last_seen));
		jset(o, "last_class", jstr(ds[i].last_class));
		tracks = json_object_new_array();
		for (k = 0; k < nt; k++) {
			if (strcmp(tr[k].addr, ds[i].addr) != 0)
				continue;
			t = json_object_new_object();
			jset(t, "context", jstr(tr[k].context));
			jset_u64(t, "last", tr[k].last);
			jset(t, "last_seen", jtime(tr[k].last_seen));
			jset_u64(t, "tracked", tr[k].tracked);
			jset_u64(t, "duplicates", tr[k].duplicates);
			jset_u64(t, "gaps", tr[k].gaps);
			jset_u64(t, "missing", tr[k].missing);
			jset_u64(t, "out_of_order", tr[k].out_of_order);
			jset_u64(t, "restarts", tr[k].restarts);
			json_object_array_add(tracks, t);
		}
		jset(o, "tracks", tracks);
		json_object_array_add(a, o);
	}
	free(ds);
	free(tr);
	return a;
}

static json_object *
op_reopen(const struct control_state *st, unsigned uid, int pid)
{
	json_object *o = json_object_new_object();
	size_t i;

	log_info("control: reopen requested by uid %u pid %d", uid, pid);
	for (i = 0; i < st->nsinks; i++)
		sink_reopen(st->sinks[i]);
	jset_u64(o, "reopened", st->nsinks);
	return o;
}

static json_object *
jlist(const struct reload_list *l)
{
	json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < l->n; i++)
		json_object_array_add(a, json_object_new_string(l->v[i]));
	return a;
}

/* Reload through the daemon: what changed, or every error. */
static char *
op_reload(const struct control_state *st, unsigned uid, int pid)
{
	struct reload_report rep;
	json_object *o, *s;
	size_t i;

	log_info("control: reload requested by uid %u pid %d", uid, pid);
	memset(&rep, 0, sizeof rep);
	st->reload(st->reload_arg, uid, pid, &rep);
	o = json_object_new_object();
	if (!rep.ok) {
		s = json_object_new_array();
		for (i = 0; i < rep.errors.n; i++)
			json_object_array_add(s,
			    json_object_new_string(rep.errors.msgs[i]));
		jset(o, "ok", json_object_new_boolean(0));
		jset(o, "errors", s);
		reload_report_clear(&rep);
		return answer_line(o);
	}
	s = json_object_new_object();
	jset(s, "added", jlist(&rep.added));
	jset(s, "changed", jlist(&rep.changed));
	jset(s, "removed", jlist(&rep.removed));
	jset(s, "unchanged", jlist(&rep.unchanged));
	json_object_object_add(o, "sinks", s);
	jset_u64(o, "filters", rep.filters);
	jset(o, "listener", jstr(rep.listener_changed ? "restarted" :
	    "unchanged"));
	jset(o, "notes", jlist(&rep.notes));
	reload_report_clear(&rep);
	return answer_ok(o);
}

/* A JSON number >= 0 as a seq; false if it is not one. */
static bool
jseq(json_object *v, uint64_t *out)
{
	int64_t i;

	if (!json_object_is_type(v, json_type_int))
		return false;
	errno = 0;
	if ((i = json_object_get_int64(v)) < 0)
		return false;
	*out = json_object_get_uint64(v);
	return errno == 0;
}

/*
 * {"op":"redeliver","sink":NAME,"from":SEQ[,"to":SEQ]}: the sink's writer
 * sends the range again (sink_redeliver says exactly what), as long as the
 * spool still holds it.
 */
static char *
op_redeliver(const struct control_state *st, json_object *req, unsigned uid,
    int pid)
{
	struct spool_stats sp;
	json_object *v, *o;
	struct sink *s = NULL;
	const char *name;
	uint64_t from, to = UINT64_MAX, pos;
	char *cause = NULL, *msg, *answer;
	size_t i;

	if (!json_object_object_get_ex(req, "sink", &v) ||
	    !json_object_is_type(v, json_type_string))
		return answer_error("%s", "redeliver needs \"sink\": NAME");
	name = json_object_get_string(v);
	if (!json_object_object_get_ex(req, "from", &v) || !jseq(v, &from) ||
	    from == 0)
		return answer_error("%s", "redeliver needs \"from\": a "
		    "sequence number (1 or more)");
	if (json_object_object_get_ex(req, "to", &v) && !jseq(v, &to))
		return answer_error("%s", "redeliver: \"to\" must be a "
		    "sequence number");
	if (to < from)
		return answer_error("%s", "redeliver: \"to\" is before "
		    "\"from\"");
	for (i = 0; i < st->nsinks; i++)
		if (strcmp(sink_name(st->sinks[i]), name) == 0)
			s = st->sinks[i];
	if (s == NULL)
		return answer_error("unknown sink '%.64s'", name);
	spool_get_stats(st->spool, &sp);
	if (sp.newest_seq == 0 || from > sp.newest_seq) {
		xasprintf(&msg, "redeliver: from %llu is after the newest record "
		    "in the spool (%llu)", (unsigned long long)from,
		    (unsigned long long)sp.newest_seq);
		answer = answer_error("%s", msg);
		free(msg);
		return answer;
	}
	if (from < sp.oldest_seq) {
		xasprintf(&msg, "redeliver: records %llu to %llu are no longer "
		    "in the spool (removed by retention); the oldest retained "
		    "is %llu", (unsigned long long)from,
		    (unsigned long long)sp.oldest_seq - 1,
		    (unsigned long long)sp.oldest_seq);
		answer = answer_error("%s", msg);
		free(msg);
		return answer;
	}
	if (to > sp.newest_seq)
		to = sp.newest_seq;
	if (sink_redeliver(s, from, to, &pos, &cause) != 0) {
		answer = answer_error("%s", cause);
		free(cause);
		return answer;
	}
	log_info("control: redeliver of records %llu to %llu to sink %s "
	    "requested by uid %u pid %d", (unsigned long long)from,
	    (unsigned long long)to, name, uid, pid);
	o = json_object_new_object();
	jset(o, "sink", jstr(name));
	jset_u64(o, "from", from);
	jset_u64(o, "to", to < pos ? to : (pos > 0 ? pos - 1 : 0));
	jset_u64(o, "resume", pos);
	return answer_ok(o);
}

char *
control_answer(const struct control_state *st, const char *line,
    size_t len, unsigned uid, int pid)
{
	json_tokener *tok;
	json_object *req, *opv;
	const char *op;
	char *answer;

	tok = json_tokener_new();
	req = json_tokener_parse_ex(tok, line, (int)len);
	if (req == NULL || json_tokener_get_parse_end(tok) != len) {
		answer = answer_error("request is not a JSON object: %s",
		    req == NULL ? json_tokener_error_desc(
		    json_tokener_get_error(tok)) : "text after the object");
		json_object_put(req);
		json_tokener_free(tok);
		return answer;
	}
	json_tokener_free(tok);
	if (!json_object_is_type(req, json_type_object) ||
	    !json_object_object_get_ex(req, "op", &opv) ||
	    !json_object_is_type(opv, json_type_string)) {
		json_object_put(req);
		return answer_error("%s", "request has no \"op\" string");
	}
	op = json_object_get_string(opv);
	if (strcmp(op, "reload") == 0 && st->reload != NULL) {
		/* Not under the lock: the reload takes it to swap. */
		answer = op_reload(st, uid, pid);
		json_object_put(req);
		return answer;
	}
	if (st->lock != NULL)
		pthread_rwlock_rdlock(st->lock);
	if (strcmp(op, "status") == 0)
		answer = answer_ok(op_status(st));
	else if (strcmp(op, "stats") == 0)
		answer = answer_ok(op_stats(st));
	else if (strcmp(op, "sinks") == 0)
		answer = answer_ok(sinks_json(st, true));
	else if (strcmp(op, "reopen") == 0)
		answer = answer_ok(op_reopen(st, uid, pid));
	else if (strcmp(op, "sources") == 0)
		answer = answer_ok(op_sources(st));
	else if (strcmp(op, "redeliver") == 0)
		answer = op_redeliver(st, req, uid, pid);
	else if (strcmp(op, "reload") == 0)
		answer = answer_error("%s", "reload is not offered here");
	else if (strcmp(op, "subscribers") == 0)
		answer = answer_ok(op_subscribers(st));
	else
		answer = answer_error("unknown op '%.64s'", op);
	if (st->lock != NULL)
		pthread_rwlock_unlock(st->lock);
	json_object_put(req);
	return answer;
}

/* The socket */

static void
client_close(struct control_client *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	buf_free(&c->in);
}

/* Write all of s; false if the client is gone or stalled. */
static bool
client_write(struct control_client *c, const char *s)
{
	size_t len = strlen(s), off = 0;
	ssize_t n;

	while (off < len) {
		n = send(c->fd, s + off, len - off, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		off += (size_t)n;
	}
	return true;
}

/* Read what the client sent and answer each complete line. */
static void
client_read(struct control *ctl, struct control_client *c)
{
	char tmp[4096], *nl, *answer;
	size_t linelen;
	ssize_t n;

	n = recv(c->fd, tmp, sizeof tmp, 0);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		client_close(c);
		return;
	}
	buf_add(&c->in, tmp, (size_t)n);
	while (c->fd != -1 && c->in.len > 0 &&
	    (nl = memchr(c->in.data, '\n', c->in.len)) != NULL) {
		linelen = (size_t)(nl - c->in.data);
		if (linelen > 0 && c->in.data[linelen - 1] == '\r')
			linelen--;
		if (linelen > 0) {
			answer = control_answer(ctl->st, c->in.data, linelen,
			    c->uid, c->pid);
			if (!client_write(c, answer))
				client_close(c);
			free(answer);
		}
		if (c->fd == -1)
			return;
		linelen = (size_t)(nl - c->in.data) + 1;
		memmove(c->in.data, c->in.data + linelen, c->in.len - linelen);
		c->in.len -= linelen;
	}
	if (c->fd != -1 && c->in.len > CONTROL_MAX_LINE) {
		answer = answer_error("request longer than %s bytes", "65536");
		(void)client_write(c, answer);
		free(answer);
		client_close(c);
	}
}

static void
control_accept(struct control *ctl)
{
	struct control_client *c = NULL;
	struct timeval tv = { 2, 0 };
	struct ucred cred;
	socklen_t clen = sizeof cred;
	size_t i;
	int fd;

	if ((fd = accept4(ctl->fd, NULL, NULL, SOCK_CLOEXEC)) == -1)
		return;
	for (i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (ctl->clients[i].fd == -1) {
			c = &ctl->clients[i];
			break;
		}
	if (c == NULL) {
		struct control_client tmp = { fd, BUF_INIT, 0, 0 };
		char *answer = answer_error("too many control connections "
		    "(%s at most)", "16");

		(void)client_write(&tmp, answer);
		free(answer);
		close(fd);
		return;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	c->fd = fd;
	c->uid = (unsigned)-1;
	c->pid = -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
		c->uid = (unsigned)cred.uid;
		c->pid = (int)cred.pid;
	}
	log_debug("control: connection from uid %u pid %d", c->uid, c->pid);
}

static void *
control_main(void *arg)
{
	struct control *ctl = arg;
	struct pollfd pfd[2 + CONTROL_MAX_CLIENTS];
	struct control_client *who[2 + CONTROL_MAX_CLIENTS];
	nfds_t n, k;
	size_t i;

	thread_set_name("control", NULL);
	for (;;) {
		pfd[0].fd = ctl->wake[0];
		pfd[0].events = POLLIN;
		pfd[1].fd = ctl->fd;
		pfd[1].events = POLLIN;
		n = 2;
		for (i = 0; i < CONTROL_MAX_CLIENTS; i++) {
			if (ctl->clients[i].fd == -1)
				continue;
			pfd[n].fd = ctl->clients[i].fd;
			pfd[n].events = POLLIN;
			who[n++] = &ctl->clients[i];
		}
		if (poll(pfd, n, -1) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("control: poll");
			return NULL;
		}
		if (pfd[0].revents != 0)
			return NULL;
		for (k = 2; k < n; k++)
			if (pfd[k].revents != 0)
				client_read(ctl, who[k]);
		if (pfd[1].revents & POLLIN)
			control_accept(ctl);
	}
}

struct control *
control_start(const struct control_state *st, char **cause)
{
	const char *path = st->conf->daemon.control_socket, *group;
	struct control *ctl;
	gid_t gid = (gid_t)-1;
	size_t i;
	int fd;

	group = st->conf->daemon.control_group;
	if (group != NULL && *group != '\0' && usock_group(group, &gid) == -1) {
		xasprintf(cause, "control_group: no group '%s'", group);
		return NULL;
	}
	if ((fd = usock_listen(path, "control socket", 0660, gid, cause)) ==
	    -1)
		return NULL;
	ctl = xcalloc(1, sizeof *ctl);
	ctl->st = st;
	ctl->path = xstrdup(path);
	ctl->fd = fd;
	for (i = 0; i < CONTROL_MAX_CLIENTS; i++)
		ctl->clients[i].fd = -1;
	if (pipe2(ctl->wake, O_CLOEXEC) == -1 ||
	    pthread_create(&ctl->thread, NULL, control_main, ctl) != 0) {
		xasprintf(cause, "control socket: cannot start its thread");
		close(fd);
		unlink(path);
		free(ctl->path);
		free(ctl);
		return NULL;
	}
	log_info("control socket %s", path);
	return ctl;
}

void
control_stop(struct control *ctl)
{
	size_t i;
	char c = 0;

	if (ctl == NULL)
		return;
	while (write(ctl->wake[1], &c, 1) == -1 && errno == EINTR)
		;
	pthread_join(ctl->thread, NULL);
	for (i = 0; i < CONTROL_MAX_CLIENTS; i++)
		client_close(&ctl->clients[i]);
	close(ctl->fd);
	unlink(ctl->path);
	close(ctl->wake[0]);
	close(ctl->wake[1]);
	free(ctl->path);
	free(ctl);
}
