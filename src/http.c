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

#include <microhttpd.h>

#include "cimxml.h"
#include "dispatch.h"
#include "export.h"
#include "http.h"
#include "log.h"
#include "record.h"
#include "xmalloc.h"

/* One bind address: its socket and its MHD daemon. */
struct http_daemon {
	struct http_listener *hl;
	struct MHD_Daemon *mhd;
	int fd;	       /* listening socket; -1 once closed */
	bool quiesced; /* MHD gave the socket back to us */
	bool handed_over; /* a newer listener (reload) serves it too */
	char bind[INET6_ADDRSTRLEN + 2]; /* the bind address asked for */
	unsigned port;
	char name[INET6_ADDRSTRLEN + 16]; /* "[::]:5988" */
};

struct http_listener {
	struct dispatch *dispatch;
	bool strict;
	uint64_t max_body;
	struct cimxml_limits limits;

	struct http_daemon *daemons;
	size_t ndaemons;

	atomic_bool quiescing;
	atomic_uint_fast64_t requests;
	atomic_uint_fast64_t accepted;
	atomic_uint_fast64_t rejected;
	atomic_uint_fast64_t method_errors;

	pthread_mutex_t lock; /* guards active, lasterr */
	pthread_cond_t idle;
	uint64_t active;
	char lasterr[256]; /* last libmicrohttpd message */

	struct log_ratelimit rl;
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
};

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
	log_answer(r);
	return MHD_YES;
}

/* First call: the headers are in. Decide what can be decided now. */
static enum MHD_Result
request_begin(struct http_request *r, struct MHD_Connection *c, const char *url,
    const char *method, const char *version)
{
	struct http_listener *hl = r->hl;
	const union MHD_ConnectionInfo *ci;
	struct header_vec hv = {NULL, 0, 0};
	struct export_request req;
	bool body;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci != NULL && ci->client_addr != NULL)
		record_source_set_addr(&r->src, ci->client_addr);
	else
		snprintf(r->src.addr, sizeof r->src.addr, "unknown");

	MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, &hv);
	memset(&req, 0, sizeof req);
	req.method = method;
	req.headers = hv.h;
	req.nheaders = hv.n;
	req.strict = hl->strict;
	req.max_body = hl->max_body;
	if (export_check_request(&req, &r->info, &r->ans) != 0)
		r->decided = true;
	free(hv.h);

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

	/*
	 * Answer now when there is no body, when the client has not sent it
	 * yet, or when its framing or size rules out reading it; otherwise
	 * read and drop it at the end so that the connection stays usable.
	 */
	body = body_expected(c);
	if (!body || r->ans.close || r->ans.status == 503 ||
	    expects_continue(c, version))
		return queue_answer(r, c, body);
	return MHD_YES;
}

/* A piece of the body: count it, feed it or drop it. */
static void
request_body(struct http_request *r, const char *data, size_t len)
{
	struct http_listener *hl = r->hl;

	r->received += len;
	if (r->decided || r->too_large)
		return;
	if (hl->max_body != 0 && r->received > hl->max_body) {
		r->too_large = true;
		cimxml_parser_free(r->parser);
		r->parser = NULL;
		return;
	}
	if (r->pstatus == CIMXML_OK)
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
		return request_begin(r, c, url, method, version);
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
	struct MHD_OptionItem opts[8];
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

	hd->mhd = MHD_start_daemon(flags, 0, NULL, NULL, http_access, hd,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, hl,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)hd->fd,
	    MHD_OPTION_NOTIFY_COMPLETED, http_completed, hd,
	    MHD_OPTION_UNESCAPE_CALLBACK, mhd_no_unescape, NULL,
	    MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (hd->mhd == NULL) {
		pthread_mutex_lock(&hl->lock);
		xasprintf(cause, "libmicrohttpd cannot start on %s%s%s",
		    hd->name, hl->lasterr[0] != '\0' ? ": " : "", hl->lasterr);
		pthread_mutex_unlock(&hl->lock);
		return -1;
	}
	log_info("listening on %s (%u thread%s)", hd->name, threads,
	    threads == 1 ? "" : "s");
	return 0;
}

/*
 * A duplicate of the socket `old` listens on for bind address addr and
 * port (marked as handed over, so that quiescing `old` leaves it open),
 * or -1 if it has none.
 */
static int
take_socket(struct http_listener *old, const char *addr, unsigned port)
{
	struct http_daemon *hd;
	size_t i;
	int fd;

	if (old == NULL || port == 0)
		return -1;
	for (i = 0; i < old->ndaemons; i++) {
		hd = &old->daemons[i];
		if (hd->fd == -1 || hd->quiesced || hd->port != port ||
		    strcmp(hd->bind, addr) != 0)
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
    const int *fds, size_t nfds, struct http_listener *old, char **cause);

struct http_listener *
http_start(const struct listener_conf *conf, struct dispatch *dispatch,
    const int *fds, size_t nfds, char **cause)
{
	return listener_start(conf, dispatch, fds, nfds, NULL, cause);
}

struct http_listener *
http_restart(struct http_listener *old, const struct listener_conf *conf,
    struct dispatch *dispatch, char **cause)
{
	struct http_listener *hl;
	size_t i;

	hl = listener_start(conf, dispatch, NULL, 0, old, cause);
	if (hl == NULL && old != NULL)
		for (i = 0; i < old->ndaemons; i++)
			old->daemons[i].handed_over = false;
	return hl;
}

static struct http_listener *
listener_start(const struct listener_conf *conf, struct dispatch *dispatch,
    const int *fds, size_t nfds, struct http_listener *old, char **cause)
{
	static const char *const default_bind[] = {"::", NULL};
	const char *const *bind;
	struct http_listener *hl;
	struct http_daemon *hd;
	pthread_condattr_t ca;
	struct sockaddr_storage ss;
	socklen_t sslen;
	size_t i, nbind;
	unsigned port;
	bool any_v4 = false;

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
	hl->limits.max_xml_depth = conf->max_xml_depth != 0
				       ? conf->max_xml_depth
				       : CIMXML_DEFAULT_MAX_XML_DEPTH;
	hl->limits.max_embedding_depth =
	    conf->max_embedding_depth != 0 ? conf->max_embedding_depth
					   : CIMXML_DEFAULT_MAX_EMBEDDING_DEPTH;
	hl->rl = rl_init;
	pthread_mutex_init(&hl->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&hl->idle, &ca);
	pthread_condattr_destroy(&ca);
	hl->daemons = xcalloc(nfds > 0 ? nfds : nbind, sizeof *hl->daemons);

	/* Sockets passed by the service manager replace bind and port. */
	for (i = 0; i < nfds; i++) {
		hd = &hl->daemons[i];
		hd->hl = hl;
		hd->fd = -1;
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
	if (nfds > 0)
		return hl;

	/* With port 0, every address shares the port the first one got. */
	port = conf->http_port;
	for (i = 0; i < nbind; i++) {
		int fd;

		hd = &hl->daemons[i];
		hd->hl = hl;
		hd->fd = -1;
		snprintf(hd->bind, sizeof hd->bind, "%s", bind[i]);
		if ((fd = take_socket(old, bind[i], port)) != -1) {
			/* Reload: the old listener's socket, still listening. */
			snprintf(hd->name, sizeof hd->name, "%s", bind[i]);
			if (adopt_socket(hd, fd, cause) != 0) {
				close(fd);
				goto fail;
			}
		} else if (open_socket(hd, bind[i], port, !any_v4, cause) != 0)
			goto fail;
		hl->ndaemons++;
		port = hd->port;
		sslen = sizeof ss;
		getsockname(hd->fd, (struct sockaddr *)&ss, &sslen);
		if (start_daemon(hd, conf, ss.ss_family, cause) != 0)
			goto fail;
	}
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
	pthread_cond_destroy(&hl->idle);
	pthread_mutex_destroy(&hl->lock);
	free(hl);
}

void
http_get_stats(struct http_listener *hl, struct http_stats *st)
{
	st->requests = atomic_load(&hl->requests);
	st->accepted = atomic_load(&hl->accepted);
	st->rejected = atomic_load(&hl->rejected);
	st->method_errors = atomic_load(&hl->method_errors);
	pthread_mutex_lock(&hl->lock);
	st->active = hl->active;
	pthread_mutex_unlock(&hl->lock);
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
