/*
 * http.c: the listener on libmicrohttpd. Each bind address gets its own
 * listening socket (bound here, so that errors name the address and errno,
 * and IPV6_V6ONLY is set deliberately) and its own MHD daemon running an
 * internal thread pool with epoll. A request is checked against the DSP0200
 * rules before its body (export.c), the body is fed to a streaming CIM-XML
 * parser as it arrives and never buffered whole, and an accepted message is
 * handed to dispatch_accept before the answer is queued, so a 200 always
 * means the indications were taken. Errors found before the body are
 * answered at once when the client waits for 100-continue or the framing is
 * unusable; otherwise the body is read and dropped so that the connection
 * stays usable. Rejected requests are logged once each, sanitized and
 * rate-limited.
 *
 * HTTPS daemons (https_port) run beside the HTTP ones on the same bind
 * addresses. Each TLS connection takes a reference to the current
 * tls_creds when it starts, so http_tls_reload swaps certificates for new
 * connections only. The allow list is checked at accept time; client
 * certificates once per connection, before its first request is looked
 * at (403 and close if not trusted); Basic credentials per request, through
 * auth.c's cache.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "acl.h"
#include "auth.h"
#include "cimxml.h"
#include "dispatch.h"
#include "export.h"
#include "http.h"
#include "log.h"
#include "ratelimit.h"
#include "reject.h"
#include "record.h"
#include "tls.h"
#include "xmalloc.h"

/* One bind address: its socket and its MHD daemon. */
struct http_daemon {
	struct http_listener *hl;
	struct MHD_Daemon *mhd;
	int fd;	       /* listening socket; -1 once closed */
	bool quiesced; /* MHD gave the socket back to us */
	bool tls;      /* an HTTPS daemon */
	bool handed_over; /* a newer listener (reload) serves it too */
	char bind[INET6_ADDRSTRLEN + 2]; /* the bind address asked for */
	unsigned port;
	char name[INET6_ADDRSTRLEN + 16]; /* "[::]:5988" */
};

struct http_listener {
	struct dispatch *dispatch;
	bool strict;
	uint64_t max_body;
	unsigned max_headers;
	struct cimxml_limits limits;

	struct http_daemon *daemons;
	size_t ndaemons;

	atomic_bool quiescing;
	atomic_uint_fast64_t requests;
	atomic_uint_fast64_t accepted;
	atomic_uint_fast64_t rejected;
	atomic_uint_fast64_t method_errors;
	atomic_uint_fast64_t by_status[HTTP_NSTATUS];
	atomic_uint_fast64_t by_cimerror[HTTP_NCIMERROR];
	struct histo ack_latency;
	_Atomic(struct reject_store *) rejects; /* reject_dir, or NULL */
	struct ratelimit *ratelimit;  /* rate_limit, or NULL */
	atomic_uint_fast64_t rate_limited;

	pthread_mutex_t lock; /* guards active, lasterr */
	pthread_cond_t idle;
	uint64_t active;
	char lasterr[256]; /* last libmicrohttpd message */

	struct log_ratelimit rl;

	/* Access control; swapped by the reload functions under sec. */
	pthread_rwlock_t sec;
	struct tls_creds *tls; /* NULL without HTTPS */
	struct acl *acl;       /* NULL allows all */
	struct auth *auth;     /* NULL without auth = basic */
	char **allowed_clients;
	bool basic_over_http;
};

/* One connection (MHD's socket context). */
struct http_conn {
	struct tls_creds *creds; /* reference, HTTPS only */
	int verified;		 /* client certificate: 0 not yet, 1 ok, -1 no */
	char ident[256];	 /* its CN or first SAN once verified */
	char cause[200];	 /* why it was refused */
};

/* The state of one request, from its headers to its completion. */
struct http_request {
	struct http_listener *hl;
	struct export_info info;
	struct export_answer ans;
	bool decided;	/* ans is final: drop the body */
	bool too_large; /* more than max_body arrived */
	bool queued;
	struct cimxml_parser *parser;
	enum cimxml_status pstatus;
	uint64_t received;
	struct record_source src;
	char *path;
	struct timespec begun;	/* CLOCK_MONOTONIC at the headers */
	/* With reject_dir: what came, kept in case the answer is a 4xx. */
	struct reject_store *keep;
	struct buf rhead;
	struct buf rbody;
	char *user;     /* authenticated user (src.user) */
	bool challenge; /* 401 with WWW-Authenticate */
};

const unsigned http_status_codes[HTTP_NSTATUS] = {
	200, 400, 401, 403, 404, 405, 408, 411, 413, 415, 429, 431, 500, 501,
	503,
	0,
};
const char *const http_cimerror_names[HTTP_NCIMERROR] = {
	"header-mismatch", "request-not-well-formed", "request-not-valid",
	"request-not-loosely-valid", "unsupported-protocol-version",
	"unsupported-cim-version", "unsupported-dtd-version",
	"unsupported-operation", "multiple-requests-unsupported", "other",
};

/* Count one answer by status and CIMError, and its latency. */
static void
count_answer(struct http_listener *hl, const struct http_request *r)
{
	struct timespec now;
	int64_t us;
	size_t i;

	for (i = 0; i < HTTP_NSTATUS - 1; i++)
		if (http_status_codes[i] == (unsigned)r->ans.status)
			break;
	atomic_fetch_add(&hl->by_status[i], 1);
	if (r->ans.cimerror != NULL) {
		for (i = 0; i < HTTP_NCIMERROR - 1; i++)
			if (strcmp(http_cimerror_names[i], r->ans.cimerror) == 0)
				break;
		atomic_fetch_add(&hl->by_cimerror[i], 1);
	}
	if (r->keep != NULL && ((r->ans.status >= 400 && r->ans.status < 500) ||
	    r->ans.status == 501)) {
		struct reject_info ri = {
			.addr = r->src.addr, .port = r->src.port,
			.status = r->ans.status, .cimerror = r->ans.cimerror,
			.reason = r->ans.details,
			.head = r->rhead.data != NULL ? r->rhead.data : "",
			.head_len = r->rhead.len,
			.body = r->rbody.data != NULL ? r->rbody.data : "",
			.body_len = r->rbody.len, .body_total = r->received,
		};

		reject_save(r->keep, &ri);
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	us = (int64_t)(now.tv_sec - r->begun.tv_sec) * 1000000 +
	    (now.tv_nsec - r->begun.tv_nsec) / 1000;
	histo_add(&hl->ack_latency, us > 0 ? (uint64_t)us : 0);
}

/* Headers collected from MHD for export.c. */
struct header_vec {
	struct export_header *h;
	size_t n;
	size_t cap;
};

static const struct log_ratelimit rl_init = LOG_RATELIMIT_INIT(5, 20);

/* libmicrohttpd's own messages: debug level only, never stderr. */
static void __attribute__((format(printf, 2, 0)))
mhd_logger(void *cls, const char *fmt, va_list ap)
{
	struct http_listener *hl = cls;
	char line[256];
	size_t len;

	vsnprintf(line, sizeof line, fmt, ap);
	len = strlen(line);
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	pthread_mutex_lock(&hl->lock);
	memcpy(hl->lasterr, line, len + 1);
	pthread_mutex_unlock(&hl->lock);
	log_debug("libmicrohttpd: %s", line);
}

/* Keep the URL as sent: record_decode_path decodes it exactly once. */
static size_t
mhd_no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	return strlen(s);
}

static enum MHD_Result
collect_header(
    void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct header_vec *v = cls;

	if (v->n == v->cap) {
		v->cap = v->cap == 0 ? 16 : v->cap * 2;
		v->h = xreallocarray(v->h, v->cap, sizeof *v->h);
	}
	v->h[v->n].name = key;
	v->h[v->n].value = value != NULL ? value : "";
	v->n++;
	return MHD_YES;
}

static void
request_free(struct http_request *r)
{
	cimxml_parser_free(r->parser);
	export_info_clear(&r->info);
	export_answer_free(&r->ans);
	free(r->path);
	buf_free(&r->rhead);
	buf_free(&r->rbody);
	free(r->user);
	free(r);
}

/* Whether a body follows the headers (Content-Length > 0 or chunked). */
static bool
body_expected(struct MHD_Connection *c)
{
	const char *v;

	if (MHD_lookup_connection_value(
		c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL)
		return true;
	v = MHD_lookup_connection_value(
	    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (v == NULL)
		return false;
	v += strspn(v, " \t0");
	return *v != '\0' && *v != ' ' && *v != '\t';
}

/* Whether the client waits for "100 Continue" before sending the body. */
static bool
expects_continue(struct MHD_Connection *c, const char *version)
{
	const char *v;

	if (strcmp(version, MHD_HTTP_VERSION_1_1) != 0)
		return false;
	v = MHD_lookup_connection_value(
	    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
	if (v == NULL)
		return false;
	v += strspn(v, " \t");
	return strncasecmp(v, "100-continue", 12) == 0;
}

/* Log a rejected request (once, sanitized, rate-limited). */
static void
log_answer(struct http_request *r)
{
	struct http_listener *hl = r->hl;
	const struct export_answer *a = &r->ans;
	char reason[EXPORT_DETAILS_MAX * 4 + 8];

	if (a->status == 200 && !a->method_error) {
		log_debug("request from %s:%u %s: accepted", r->src.addr,
		    r->src.port, r->path != NULL ? r->path : "");
		return;
	}
	log_sanitize(reason, sizeof reason, a->details, strlen(a->details));
	if (a->method_error)
		log_limited(&hl->rl, LOG_INFO,
		    "export error in request from %s: %s", r->src.addr, reason);
	else
		log_limited(&hl->rl, LOG_INFO,
		    "rejected request from %s: %d %s: %s", r->src.addr,
		    a->status, a->cimerror != NULL ? a->cimerror : "-", reason);
}

/* Queue r->ans on the connection; close: the connection ends after it. */
static enum MHD_Result
queue_answer(struct http_request *r, struct MHD_Connection *c, bool close)
{
	struct http_listener *hl = r->hl;
	struct export_answer *a = &r->ans;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char num[16];

	if (atomic_load(&hl->quiescing))
		close = true;
	resp = MHD_create_response_from_buffer(
	    a->bodylen, a->body, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL)
		return MHD_NO;
	a->body = NULL; /* MHD frees it */
	a->bodylen = 0;
	MHD_add_response_header(
	    resp, MHD_HTTP_HEADER_CONTENT_TYPE, a->content_type);
	if (a->cimexport)
		MHD_add_response_header(resp, "CIMExport", "MethodResponse");
	if (a->cimerror != NULL)
		MHD_add_response_header(resp, "CIMError", a->cimerror);
	if (a->details[0] != '\0')
		MHD_add_response_header(resp, "CIMErrorDetails", a->details);
	if (a->allow != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, a->allow);
	if (a->status == 401 && r->challenge)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    "Basic realm=\"cimlisten\"");
	if (a->retry_after != 0) {
		snprintf(num, sizeof num, "%u", a->retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, num);
	}
	if (close)
		MHD_add_response_header(
		    resp, MHD_HTTP_HEADER_CONNECTION, "close");
	ret = MHD_queue_response(c, (unsigned)a->status, resp);
	MHD_destroy_response(resp);
	if (ret != MHD_YES)
		return MHD_NO;
	r->queued = true;

	atomic_fetch_add(&hl->requests, 1);
	if (a->status != 200)
		atomic_fetch_add(&hl->rejected, 1);
	else if (a->method_error)
		atomic_fetch_add(&hl->method_errors, 1);
	else
		atomic_fetch_add(&hl->accepted, 1);
	count_answer(hl, r);
	log_answer(r);
	return MHD_YES;
}

/*
 * Verify the connection's client certificate once (the result is kept in
 * its context). 0 if trusted or not asked for, -1 with the cause in hc.
 */
static int
conn_verify(struct http_listener *hl, struct http_conn *hc,
    struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci;
	char *cause = NULL;

	if (hc == NULL || hc->creds == NULL || !tls_creds_has_trust(hc->creds))
		return 0;
	if (hc->verified == 0) {
		ci = MHD_get_connection_info(
		    c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
		pthread_rwlock_rdlock(&hl->sec);
		if (ci == NULL || ci->tls_session == NULL)
			xasprintf(&cause, "no TLS session");
		else if (tls_verify_peer(ci->tls_session, hl->allowed_clients,
			     hc->ident, sizeof hc->ident, &cause) == 0)
			hc->verified = 1;
		pthread_rwlock_unlock(&hl->sec);
		if (hc->verified == 0) {
			hc->verified = -1;
			snprintf(hc->cause, sizeof hc->cause, "%s", cause);
		}
		free(cause);
	}
	return hc->verified == 1 ? 0 : -1;
}

/*
 * Who is asking: the client certificate (HTTPS with trustfile), then Basic
 * credentials (auth = basic). 0 to go on, or -1 with r->ans decided (403
 * and close, or 401).
 */
static int
request_authorize(struct http_request *r, struct http_daemon *hd,
    struct MHD_Connection *c)
{
	struct http_listener *hl = r->hl;
	const union MHD_ConnectionInfo *ci;
	struct http_conn *hc = NULL;
	char *user, *pass = NULL;
	bool ok;

	r->src.tls = hd->tls;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci != NULL)
		hc = ci->socket_context;
	if (conn_verify(hl, hc, c) != 0) {
		export_answer_error(&r->ans, 403, NULL, "%s", hc->cause);
		r->ans.close = true;
		return -1;
	}
	if (hc != NULL && hc->verified == 1)
		r->user = xstrdup(hc->ident);
	if (hl->auth == NULL)
		goto out;
	if (!hd->tls && !hl->basic_over_http) {
		export_answer_error(&r->ans, 401, NULL,
		    "Basic authentication is accepted over HTTPS only");
		return -1;
	}
	r->challenge = true;
	if ((user = MHD_basic_auth_get_username_password(c, &pass)) == NULL) {
		export_answer_error(&r->ans, 401, NULL,
		    "authentication required");
		return -1;
	}
	pthread_rwlock_rdlock(&hl->sec);
	ok = hl->auth != NULL &&
	     auth_check(hl->auth, user, pass != NULL ? pass : "");
	if (ok)
		log_debug("basic auth: user accepted (%llu crypt(3) hashes so "
			  "far)",
		    (unsigned long long)auth_hashes(hl->auth));
	pthread_rwlock_unlock(&hl->sec);
	if (pass != NULL) {
		explicit_bzero(pass, strlen(pass));
		MHD_free(pass);
	}
	if (!ok) {
		MHD_free(user);
		export_answer_error(&r->ans, 401, NULL,
		    "wrong user name or password");
		return -1;
	}
	free(r->user);
	r->user = xstrdup(user);
	MHD_free(user);
out:
	r->src.user = r->user;
	return 0;
}

/* First call: the headers are in. Decide what can be decided now. */
static enum MHD_Result
request_begin(struct http_request *r, struct http_daemon *hd,
    struct MHD_Connection *c, const char *url, const char *method,
    const char *version)
{
	struct http_listener *hl = r->hl;
	const union MHD_ConnectionInfo *ci;
	struct header_vec hv = {NULL, 0, 0};
	struct export_request req;
	unsigned retry = 0;
	bool body;

	clock_gettime(CLOCK_MONOTONIC, &r->begun);
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci != NULL && ci->client_addr != NULL)
		record_source_set_addr(&r->src, ci->client_addr);
	else
		snprintf(r->src.addr, sizeof r->src.addr, "unknown");

	if (request_authorize(r, hd, c) != 0) {
		r->decided = true;
		goto answer;
	}
	MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, &hv);
	if ((r->keep = atomic_load(&hl->rejects)) != NULL) {
		buf_printf(&r->rhead, "%s %s %s\n", method, url, version);
		for (size_t i = 0; i < hv.n; i++)
			buf_printf(&r->rhead, "%s: %s\n", hv.h[i].name,
			    hv.h[i].value);
		buf_adds(&r->rhead, "\n");
	}
	memset(&req, 0, sizeof req);
	req.method = method;
	req.headers = hv.h;
	req.nheaders = hv.n;
	req.strict = hl->strict;
	req.max_body = hl->max_body;
	req.max_headers = hl->max_headers;
	if (export_check_request(&req, &r->info, &r->ans) != 0)
		r->decided = true;
	free(hv.h);

	if (!r->decided && hl->ratelimit != NULL &&
	    !ratelimit_take(hl->ratelimit, r->src.addr, &retry)) {
		export_answer_unavailable(&r->ans, "rate limit exceeded: more "
		    "than rate_limit requests a second from this address");
		r->ans.retry_after = retry;
		atomic_fetch_add(&hl->rate_limited, 1);
		r->decided = true;
	}
	if (!r->decided && atomic_load(&hl->quiescing)) {
		export_answer_unavailable(&r->ans, "shutting down");
		r->decided = true;
	}
	if (!r->decided) {
		if ((r->path = record_decode_path(url)) == NULL) {
			export_answer_error(&r->ans, 400, NULL,
			    "request path is not valid percent-encoded UTF-8");
			r->decided = true;
		} else
			r->src.path = r->path;
	}
	if (!r->decided) {
		r->parser = cimxml_parser_new(&hl->limits);
		return MHD_YES; /* MHD sends 100 Continue if asked */
	}

answer:
	/*
	 * Answer now when there is no body, when the client has not sent it
	 * yet, or when its framing or size rules out reading it; otherwise
	 * read and drop it at the end so that the connection stays usable.
	 */
	body = body_expected(c);
	if (!body || r->ans.close || r->ans.status == 503 ||
	    expects_continue(c, version) || r->ans.status == 403)
		return queue_answer(r, c, body || r->ans.status == 403);
	return MHD_YES;
}

/* A piece of the body: count it, feed it or drop it. */
static void
request_body(struct http_request *r, const char *data, size_t len)
{
	struct http_listener *hl = r->hl;

	r->received += len;
	if (r->keep != NULL && r->rbody.len < REJECT_MAX_BODY)
		buf_add(&r->rbody, data, len < REJECT_MAX_BODY - r->rbody.len ?
		    len : REJECT_MAX_BODY - r->rbody.len);
	if (r->decided || r->too_large)
		return;
	if (hl->max_body != 0 && r->received > hl->max_body) {
		r->too_large = true;
		cimxml_parser_free(r->parser);
		r->parser = NULL;
		return;
	}
	if (r->pstatus != CIMXML_OK)
		return;
	if (r->info.has_length && r->received == r->info.content_length)
		r->pstatus = cimxml_parser_feed_last(r->parser, data, len);
	else
		r->pstatus = cimxml_parser_feed(r->parser, data, len);
}

/* The whole body is in: parse, check, dispatch, and decide the answer. */
static void
request_finish(struct http_request *r)
{
	struct http_listener *hl = r->hl;
	struct cimxml_message *msg = NULL;
	enum cimxml_status st;
	const char *cause = NULL;

	if (r->too_large) {
		export_answer_too_large(&r->ans, hl->max_body);
		return;
	}
	st = r->pstatus;
	if (st == CIMXML_OK)
		st = cimxml_parser_finish(r->parser, &msg);
	if (st != CIMXML_OK) {
		export_answer_parse_error(
		    &r->ans, st, cimxml_parser_reason(r->parser));
		cimxml_message_free(msg);
		return;
	}
	if (export_check_message(&r->info, msg, &r->ans) == EXPORT_DISPATCH) {
		if (dispatch_accept(hl->dispatch, msg, &r->src, &cause) == 0)
			export_answer_success(&r->ans, msg);
		else
			export_answer_unavailable(&r->ans, cause);
	}
	cimxml_message_free(msg);
}

static enum MHD_Result
http_access(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct http_daemon *hd = cls;
	struct http_listener *hl = hd->hl;
	struct http_request *r = *con_cls;

	if (r == NULL) {
		r = xcalloc(1, sizeof *r);
		r->hl = hl;
		r->info.protocol_major = -1;
		*con_cls = r;
		pthread_mutex_lock(&hl->lock);
		hl->active++;
		pthread_mutex_unlock(&hl->lock);
		return request_begin(r, hd, c, url, method, version);
	}
	if (*upload_data_size != 0) {
		request_body(r, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r->queued)
		return MHD_YES;
	if (!r->decided)
		request_finish(r);
	return queue_answer(r, c, false);
}

/* A request is over (answered, aborted or timed out): free its state. */
static void
http_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_daemon *hd = cls;
	struct http_listener *hl = hd->hl;
	struct http_request *r = *con_cls;

	if (r == NULL)
		return;
	*con_cls = NULL;
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
		log_debug(
		    "request from %s:%u ended early (%s, %llu body bytes)",
		    r->src.addr, r->src.port,
		    toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? "timeout"
		    : toe == MHD_REQUEST_TERMINATED_CLIENT_ABORT ? "client gone"
		    : toe == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN ? "shutdown"
								    : "error",
		    (unsigned long long)r->received);
	request_free(r);

	pthread_mutex_lock(&hl->lock);
	if (--hl->active == 0)
		pthread_cond_broadcast(&hl->idle);
	pthread_mutex_unlock(&hl->lock);
}

/* The allow list, before any byte is read: refused connections are closed. */
static enum MHD_Result
http_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct http_daemon *hd = cls;
	struct http_listener *hl = hd->hl;
	struct record_source src;
	bool ok;

	pthread_rwlock_rdlock(&hl->sec);
	ok = acl_match(hl->acl, addr);
	pthread_rwlock_unlock(&hl->sec);
	if (!ok) {
		memset(&src, 0, sizeof src);
		record_source_set_addr(&src, addr);
		log_limited(&hl->rl, LOG_INFO,
		    "connection from %s to %s refused: not in allow", src.addr,
		    hd->name);
	}
	return ok ? MHD_YES : MHD_NO;
}

/*
 * A connection starts or ends. An HTTPS one takes the current credentials
 * and priorities for its session (before the handshake) and keeps them to
 * the end.
 */
static void
http_conn_notify(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
{
	struct http_daemon *hd = cls;
	struct http_listener *hl = hd->hl;
	const union MHD_ConnectionInfo *ci;
	struct http_conn *hc;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		if ((hc = *socket_context) != NULL) {
			tls_creds_unref(hc->creds);
			free(hc);
		}
		*socket_context = NULL;
		return;
	}
	hc = xcalloc(1, sizeof *hc);
	*socket_context = hc;
	if (!hd->tls)
		return;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	pthread_rwlock_rdlock(&hl->sec);
	hc->creds = tls_creds_ref(hl->tls);
	pthread_rwlock_unlock(&hl->sec);
	if (ci == NULL || ci->tls_session == NULL ||
	    tls_session_setup(ci->tls_session, hc->creds) != 0)
		log_warnx("listener %s: cannot set up a TLS session", hd->name);
}

/* Format "addr:port" or "[addr]:port" for messages. */
static void
format_name(char *out, size_t outsz, const struct sockaddr *sa)
{
	char host[INET6_ADDRSTRLEN];
	unsigned port;

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
		port = ntohs(s6->sin6_port);
		snprintf(out, outsz, "[%s]:%u", host, port);
	} else {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
		port = ntohs(s4->sin_port);
		snprintf(out, outsz, "%s:%u", host, port);
	}
}

/*
 * Take a bound, listening socket (ours, or passed by the service manager)
 * as hd's: its name and port from getsockname. -1 with *cause.
 */
static int
adopt_socket(struct http_daemon *hd, int fd, char **cause)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof ss;

	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1) {
		xasprintf(cause, "getsockname for %s: %s", hd->name,
		    strerror(errno));
		return -1;
	}
	if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) {
		xasprintf(cause, "passed socket %d is not an IPv4 or IPv6 "
		    "socket", fd);
		return -1;
	}
	format_name(hd->name, sizeof hd->name, (struct sockaddr *)&ss);
	hd->port = ss.ss_family == AF_INET6
		       ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
		       : ntohs(((struct sockaddr_in *)&ss)->sin_port);
	hd->fd = fd;
	return 0;
}

/*
 * Bind and listen on addr:port. "::" is dual-stack unless dual is false
 * (an IPv4 address is bound beside it); other IPv6 addresses are v6-only.
 * Returns 0 with hd->fd, hd->port and hd->name set, or -1 with *cause.
 */
static int
open_socket(struct http_daemon *hd, const char *addr, unsigned port, bool dual,
    char **cause)
{
	struct addrinfo hints, *ai = NULL;
	char host[INET6_ADDRSTRLEN + 2], serv[8];
	const char *h = addr;
	size_t len;
	int fd = -1, on = 1, v6only, e;

	len = strlen(addr);
	if (len > 2 && addr[0] == '[' && addr[len - 1] == ']' &&
	    len - 2 < sizeof host) {
		memcpy(host, addr + 1, len - 2);
		host[len - 2] = '\0';
		h = host;
	} else if (strcmp(addr, "*") == 0)
		h = "::";
	snprintf(serv, sizeof serv, "%u", port);
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	if ((e = getaddrinfo(h, serv, &hints, &ai)) != 0) {
		if (e == EAI_NONAME)
			xasprintf(cause,
			    "bind address %s: not a numeric IPv4 "
			    "or IPv6 address",
			    addr);
		else
			xasprintf(cause, "bind address %s: %s", addr,
			    gai_strerror(e));
		return -1;
	}
	format_name(hd->name, sizeof hd->name, ai->ai_addr);
	fd = socket(
	    ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		xasprintf(
		    cause, "socket for %s: %s", hd->name, strerror(errno));
		goto fail;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	if (ai->ai_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ai->ai_addr;

		v6only = !(dual && IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr));
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only,
			sizeof v6only) == -1) {
			xasprintf(cause, "IPV6_V6ONLY on %s: %s", hd->name,
			    strerror(errno));
			goto fail;
		}
	}
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
		xasprintf(cause, "bind %s: %s", hd->name, strerror(errno));
		goto fail;
	}
	if (listen(fd, SOMAXCONN) == -1) {
		xasprintf(cause, "listen on %s: %s", hd->name, strerror(errno));
		goto fail;
	}
	if (adopt_socket(hd, fd, cause) == -1)
		goto fail;
	freeaddrinfo(ai);
	return 0;

fail:
	if (fd != -1)
		close(fd);
	freeaddrinfo(ai);
	return -1;
}

/* Is addr an IPv4 literal? */
static bool
is_ipv4(const char *addr)
{
	struct in_addr in;

	return inet_pton(AF_INET, addr, &in) == 1;
}

/* How many pool threads: the configured number or one per CPU. */
static unsigned
pool_size(const struct listener_conf *conf)
{
	long n;
	unsigned threads = conf->threads;

	if (threads == 0) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		threads = n > 0 ? (unsigned)n : 1;
	}
	/* MHD needs at least one connection per pool thread. */
	if (conf->max_connections != 0 && threads > conf->max_connections)
		threads = conf->max_connections;
	return threads;
}

/* Start the MHD daemon on hd->fd. */
static int
start_daemon(struct http_daemon *hd, const struct listener_conf *conf,
    int family, char **cause)
{
	struct http_listener *hl = hd->hl;
	struct MHD_OptionItem opts[12];
	unsigned flags, threads;
	size_t n = 0;

	flags =
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC;
	if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES)
		flags |= MHD_USE_EPOLL;
	else
		flags |= MHD_USE_POLL;
	if (family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (hd->tls) {
		flags |= MHD_USE_TLS;
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0,
		    (void *)(uintptr_t)tls_creds_key_pem(hl->tls)};
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT,
		    0, (void *)(uintptr_t)tls_creds_cert_pem(hl->tls)};
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES,
		    0, (void *)(uintptr_t)tls_creds_priorities(hl->tls)};
	}

	threads = pool_size(conf);
	if (threads > 1)
		opts[n++] = (struct MHD_OptionItem){
		    MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)threads, NULL};
	if (conf->max_connections != 0)
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT,
		    (intptr_t)conf->max_connections, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    (intptr_t)conf->max_connections_per_ip, NULL};
	opts[n++] = (struct MHD_OptionItem){
	    MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)conf->timeout, NULL};
	if (conf->connection_memory != 0)
		opts[n++] =
		    (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT,
			(intptr_t)conf->connection_memory, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

	hd->mhd = MHD_start_daemon(flags, 0, http_accept, hd, http_access, hd,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, hl,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)hd->fd,
	    MHD_OPTION_NOTIFY_COMPLETED, http_completed, hd,
	    MHD_OPTION_UNESCAPE_CALLBACK, mhd_no_unescape, NULL,
	    MHD_OPTION_NOTIFY_CONNECTION, http_conn_notify, hd,
	    MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (hd->mhd == NULL) {
		pthread_mutex_lock(&hl->lock);
		xasprintf(cause, "libmicrohttpd cannot start on %s%s%s",
		    hd->name, hl->lasterr[0] != '\0' ? ": " : "", hl->lasterr);
		pthread_mutex_unlock(&hl->lock);
		return -1;
	}
	log_info("listening on %s%s (%u thread%s)", hd->name,
	    hd->tls ? " for HTTPS" : "", threads, threads == 1 ? "" : "s");
	return 0;
}

/* Free a NULL-terminated string vector. */
static void
strv_free(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* A copy of a NULL-terminated string vector (NULL stays NULL). */
static char **
strv_copy(char *const *v)
{
	char **out;
	size_t i, n;

	if (v == NULL)
		return NULL;
	for (n = 0; v[n] != NULL; n++)
		continue;
	out = xcalloc(n + 1, sizeof *out);
	for (i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

/* Report users-file problems as "FILE:LINE: message" in a log. */
static void
auth_log_err(void *arg, unsigned line, const char *msg)
{
	const char *path = arg;

	if (line != 0)
		log_warnx("%s:%u: %s", path, line, msg);
	else
		log_warnx("%s: %s", path, msg);
}

bool
http_tls_running(struct http_listener *hl)
{
	bool on;

	pthread_rwlock_rdlock(&hl->sec);
	on = hl->tls != NULL;
	pthread_rwlock_unlock(&hl->sec);
	return on;
}

int
http_tls_reload(struct http_listener *hl, const struct listener_conf *conf,
    char **cause)
{
	struct tls_creds *tc, *old;
	char **allowed;

	if (hl->tls == NULL) {
		xasprintf(cause, "HTTPS is not running: its port cannot be "
		    "added by a reload");
		return -1;
	}
	if (conf->https_port == 0 || conf->certfile == NULL ||
	    *conf->certfile == '\0') {
		xasprintf(cause, "HTTPS cannot be turned off by a reload");
		return -1;
	}
	tc = tls_creds_load(conf->certfile, conf->keyfile, conf->trustfile,
	    conf->tls_priorities, cause);
	if (tc == NULL)
		return -1;
	allowed = strv_copy(conf->allowed_clients);
	pthread_rwlock_wrlock(&hl->sec);
	old = hl->tls;
	hl->tls = tc;
	strv_free(hl->allowed_clients);
	hl->allowed_clients = allowed;
	pthread_rwlock_unlock(&hl->sec);
	tls_creds_unref(old);
	log_info("TLS certificates reloaded from %s", conf->certfile);
	return 0;
}

int
http_access_reload(struct http_listener *hl,
    const struct listener_conf *conf, char **cause)
{
	struct auth *a = NULL, *olda;
	struct acl *acl, *oldacl;

	if (conf->auth == LISTENER_AUTH_BASIC) {
		a = auth_load(conf->users_file, auth_log_err, conf->users_file);
		if (a == NULL) {
			xasprintf(cause, "users_file %s cannot be used",
			    conf->users_file);
			return -1;
		}
	}
	acl = acl_new((const char *const *)conf->allow, conf->nallow);
	pthread_rwlock_wrlock(&hl->sec);
	olda = hl->auth;
	oldacl = hl->acl;
	hl->auth = a;
	hl->acl = acl;
	hl->basic_over_http = conf->allow_basic_over_http;
	pthread_rwlock_unlock(&hl->sec);
	auth_free(olda);
	acl_free(oldacl);
	return 0;
}

static int take_socket(struct http_listener *old, const char *addr,
    unsigned port, bool tls);

/* Open and start one daemon per bind address on port (tls: HTTPS). */
static int
start_port(struct http_listener *hl, const struct listener_conf *conf,
    const char *const *bind, size_t nbind, bool any_v4, unsigned port,
    bool tls, struct http_listener *old, char **cause)
{
	struct http_daemon *hd;
	struct sockaddr_storage ss;
	socklen_t sslen;
	size_t i;
	int fd;

	/* With port 0, every address shares the port the first one got. */
	for (i = 0; i < nbind; i++) {
		hd = &hl->daemons[hl->ndaemons];
		hd->hl = hl;
		hd->fd = -1;
		hd->tls = tls;
		snprintf(hd->bind, sizeof hd->bind, "%s", bind[i]);
		if ((fd = take_socket(old, bind[i], port, tls)) != -1) {
			/* Reload: the old listener's socket, still listening. */
			snprintf(hd->name, sizeof hd->name, "%s", bind[i]);
			if (adopt_socket(hd, fd, cause) != 0) {
				close(fd);
				return -1;
			}
		} else if (open_socket(hd, bind[i], port, !any_v4, cause) != 0)
			return -1;
		hl->ndaemons++;
		port = hd->port;
		sslen = sizeof ss;
		getsockname(hd->fd, (struct sockaddr *)&ss, &sslen);
		if (start_daemon(hd, conf, ss.ss_family, cause) != 0)
			return -1;
	}
	return 0;
}

/*
 * A duplicate of the socket `old` listens on for bind address addr and
 * port (marked as handed over, so that quiescing `old` leaves it open),
 * or -1 if it has none.
 */
static int
take_socket(struct http_listener *old, const char *addr, unsigned port,
    bool tls)
{
	struct http_daemon *hd;
	size_t i;
	int fd;

	if (old == NULL || port == 0)
		return -1;
	for (i = 0; i < old->ndaemons; i++) {
		hd = &old->daemons[i];
		if (hd->fd == -1 || hd->quiesced || hd->port != port ||
		    hd->tls != tls || strcmp(hd->bind, addr) != 0)
			continue;
		if ((fd = fcntl(hd->fd, F_DUPFD_CLOEXEC, 0)) == -1)
			return -1;
		hd->handed_over = true;
		return fd;
	}
	return -1;
}

static struct http_listener *
listener_start(const struct listener_conf *conf, struct dispatch *dispatch,
    const int *fds, const bool *fd_tls, size_t nfds,
    struct http_listener *old, char **cause);

struct http_listener *
http_start(const struct listener_conf *conf, struct dispatch *dispatch,
    const int *fds, const bool *fd_tls, size_t nfds, char **cause)
{
	return listener_start(conf, dispatch, fds, fd_tls, nfds, NULL, cause);
}

struct http_listener *
http_restart(struct http_listener *old, const struct listener_conf *conf,
    struct dispatch *dispatch, char **cause)
{
	struct http_listener *hl;
	size_t i;

	hl = listener_start(conf, dispatch, NULL, NULL, 0, old, cause);
	if (hl == NULL && old != NULL)
		for (i = 0; i < old->ndaemons; i++)
			old->daemons[i].handed_over = false;
	return hl;
}

static struct http_listener *
listener_start(const struct listener_conf *conf, struct dispatch *dispatch,
    const int *fds, const bool *fd_tls, size_t nfds,
    struct http_listener *old, char **cause)
{
	static const char *const default_bind[] = {"::", NULL};
	const char *const *bind;
	struct http_listener *hl;
	struct http_daemon *hd;
	pthread_condattr_t ca;
	struct sockaddr_storage ss;
	socklen_t sslen;
	size_t i, nbind;
	bool any_v4 = false, https = false;

	bind = conf->bind != NULL && conf->bind[0] != NULL
		   ? (const char *const *)conf->bind
		   : default_bind;
	for (nbind = 0; bind[nbind] != NULL; nbind++) {
		if (is_ipv4(bind[nbind]))
			any_v4 = true;
	}

	hl = xcalloc(1, sizeof *hl);
	hl->dispatch = dispatch;
	hl->strict = conf->strict;
	hl->max_body = conf->max_body;
	if (conf->rate_limit > 0)
		hl->ratelimit = ratelimit_new(conf->rate_limit);
	hl->limits.max_xml_depth = conf->max_xml_depth != 0
				       ? conf->max_xml_depth
				       : CIMXML_DEFAULT_MAX_XML_DEPTH;
	hl->limits.max_embedding_depth =
	    conf->max_embedding_depth != 0 ? conf->max_embedding_depth
					   : CIMXML_DEFAULT_MAX_EMBEDDING_DEPTH;
	hl->limits.max_elements = conf->max_elements;
	hl->limits.max_attribute_length = (size_t)conf->max_attribute_length;
	hl->limits.max_text_length = (size_t)conf->max_text_length;
	hl->max_headers = conf->max_headers;
	hl->rl = rl_init;
	pthread_mutex_init(&hl->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&hl->idle, &ca);
	pthread_condattr_destroy(&ca);
	hl->daemons = xcalloc((nfds > 0 ? nfds : nbind) + nbind,
	    sizeof *hl->daemons);
	pthread_rwlock_init(&hl->sec, NULL);
	for (i = 0; i < nfds; i++)
		if (fd_tls != NULL && fd_tls[i])
			https = true;
	if (conf->https_port != 0 || https) {
		hl->tls = tls_creds_load(conf->certfile, conf->keyfile,
		    conf->trustfile, conf->tls_priorities, cause);
		if (hl->tls == NULL)
			goto fail;
		hl->allowed_clients = strv_copy(conf->allowed_clients);
	}
	if (http_access_reload(hl, conf, cause) != 0)
		goto fail;

	/* Sockets passed by the service manager replace bind and port. */
	for (i = 0; i < nfds; i++) {
		hd = &hl->daemons[i];
		hd->hl = hl;
		hd->fd = -1;
		hd->tls = fd_tls != NULL && fd_tls[i];
		snprintf(hd->name, sizeof hd->name, "passed socket %d", fds[i]);
		if (adopt_socket(hd, fds[i], cause) != 0)
			goto fail;
		hl->ndaemons++;
		if (fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) |
		    O_NONBLOCK) == -1 || fcntl(fds[i], F_SETFD, FD_CLOEXEC) ==
		    -1) {
			xasprintf(cause, "%s: fcntl: %s", hd->name,
			    strerror(errno));
			goto fail;
		}
		sslen = sizeof ss;
		getsockname(hd->fd, (struct sockaddr *)&ss, &sslen);
		if (start_daemon(hd, conf, ss.ss_family, cause) != 0)
			goto fail;
		log_info("listener %s: passed by the service manager",
		    hd->name);
	}
	if (nfds == 0 && conf->http_port != 0 &&
	    start_port(hl, conf, bind, nbind, any_v4, conf->http_port, false,
		old, cause) != 0)
		goto fail;
	if (nfds == 0 && conf->https_port != 0 &&
	    start_port(hl, conf, bind, nbind, any_v4, conf->https_port, true,
		old, cause) != 0)
		goto fail;
	return hl;

fail:
	http_stop(hl);
	return NULL;
}

void
http_quiesce(struct http_listener *hl)
{
	struct http_daemon *hd;
	MHD_socket s;
	size_t i;

	if (hl == NULL)
		return;
	atomic_store(&hl->quiescing, true);
	for (i = 0; i < hl->ndaemons; i++) {
		hd = &hl->daemons[i];
		if (hd->mhd == NULL || hd->quiesced)
			continue;
		s = MHD_quiesce_daemon(hd->mhd);
		if (s == MHD_INVALID_SOCKET) {
			log_warnx(
			    "listener %s: cannot stop accepting", hd->name);
			continue;
		}
		hd->quiesced = true;
		/*
		 * MHD threads may still look at the socket until
		 * MHD_stop_daemon, so it is closed only then; shutting it
		 * down now makes new connections fail at once instead of
		 * waiting in the backlog, unless a newer listener took it
		 * over (reload).
		 */
		if (!hd->handed_over)
			shutdown(hd->fd, SHUT_RDWR);
		log_info(
		    "listener %s: no longer accepting connections", hd->name);
	}
}

bool
http_wait_idle(struct http_listener *hl, unsigned timeout_ms)
{
	struct timespec ts;
	bool idle;

	if (hl == NULL)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&hl->lock);
	while (hl->active != 0) {
		if (pthread_cond_timedwait(&hl->idle, &hl->lock, &ts) ==
		    ETIMEDOUT)
			break;
	}
	idle = hl->active == 0;
	pthread_mutex_unlock(&hl->lock);
	return idle;
}

void
http_stop(struct http_listener *hl)
{
	struct http_daemon *hd;
	size_t i;

	if (hl == NULL)
		return;
	for (i = 0; i < hl->ndaemons; i++) {
		hd = &hl->daemons[i];
		if (hd->mhd != NULL) {
			MHD_stop_daemon(hd->mhd);
			/* MHD closes the socket unless it gave it back. */
			if (!hd->quiesced)
				hd->fd = -1;
		}
		if (hd->fd != -1)
			close(hd->fd);
	}
	free(hl->daemons);
	tls_creds_unref(hl->tls);
	auth_free(hl->auth);
	acl_free(hl->acl);
	strv_free(hl->allowed_clients);
	pthread_rwlock_destroy(&hl->sec);
	pthread_cond_destroy(&hl->idle);
	pthread_mutex_destroy(&hl->lock);
	ratelimit_free(hl->ratelimit);
	free(hl);
}

void
http_get_stats(struct http_listener *hl, struct http_stats *st)
{
	st->requests = atomic_load(&hl->requests);
	st->accepted = atomic_load(&hl->accepted);
	st->rejected = atomic_load(&hl->rejected);
	st->method_errors = atomic_load(&hl->method_errors);
	for (size_t i = 0; i < HTTP_NSTATUS; i++)
		st->by_status[i] = atomic_load(&hl->by_status[i]);
	for (size_t i = 0; i < HTTP_NCIMERROR; i++)
		st->by_cimerror[i] = atomic_load(&hl->by_cimerror[i]);
	histo_get(&hl->ack_latency, &st->ack_latency);
	st->rate_limited = atomic_load(&hl->rate_limited);
	st->rejects_kept = atomic_load(&hl->rejects) != NULL ?
	    reject_count(atomic_load(&hl->rejects)) : 0;
	pthread_mutex_lock(&hl->lock);
	st->active = hl->active;
	pthread_mutex_unlock(&hl->lock);
}

void
http_set_rejects(struct http_listener *hl, struct reject_store *rs)
{
	atomic_store(&hl->rejects, rs);
}

unsigned
http_bound_port(const struct http_listener *hl)
{
	return hl != NULL && hl->ndaemons > 0 ? hl->daemons[0].port : 0;
}

size_t
http_sockets(const struct http_listener *hl)
{
	return hl != NULL ? hl->ndaemons : 0;
}

const char *
http_socket_name(const struct http_listener *hl, size_t i, unsigned *port)
{
	*port = hl->daemons[i].port;
	return hl->daemons[i].name;
}

bool
http_socket_tls(const struct http_listener *hl, size_t i)
{
	return hl->daemons[i].tls;
}
