/*
 * The HTTP(S) listener: libmicrohttpd daemons (one per bind address) with an
 * internal thread pool, enforcing the DSP0200 wire rules (export.c) and
 * feeding request bodies to the streaming CIM-XML parser as they arrive.
 * Accepted messages go to dispatch_accept.
 */
#ifndef CL_HTTP_H
#define CL_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "histo.h"

#include "config.h"

struct dispatch;
struct http_listener;

/* The answers counted one by one; the last entry (0, "other") counts the rest. */
#define HTTP_NSTATUS 16
#define HTTP_NCIMERROR 10
extern const unsigned http_status_codes[HTTP_NSTATUS];
extern const char *const http_cimerror_names[HTTP_NCIMERROR];

struct http_stats {
	uint64_t requests;       /* requests answered */
	uint64_t accepted;       /* answered 200 with the indications taken */
	uint64_t rejected;       /* answered with a 4xx/5xx */
	uint64_t method_errors;  /* answered 200 with an export-level ERROR */
	uint64_t active;         /* requests in progress now */
	uint64_t by_status[HTTP_NSTATUS];     /* answers per http_status_codes */
	uint64_t by_cimerror[HTTP_NCIMERROR]; /* per http_cimerror_names */
	struct histo_snapshot ack_latency;    /* request begun -> answer queued */
	uint64_t rejects_kept;   /* requests kept in reject_dir */
	uint64_t rate_limited;   /* answered 503 by rate_limit */
};

/*
 * Bind and start listening as `conf` says (HTTP on http_port, HTTPS on
 * https_port, each on every bind address), or, with nfds > 0, serve on
 * those listening sockets (socket activation; bind, http_port and
 * https_port are not used then, the listener owns the descriptors), HTTPS
 * where tls[i] (tls may be NULL: all HTTP). Returns NULL with *cause
 * (malloc'd) if a socket cannot be bound, a certificate or users file
 * cannot be used, or the library refuses.
 */
struct http_listener *http_start(const struct listener_conf *conf,
    struct dispatch *, const int *fds, const bool *tls, size_t nfds,
    char **cause);
/*
 * Reload: start a listener for `conf` beside `old` (which keeps serving).
 * Sockets of `old` whose bind address and port stay are shared, not bound
 * again, so that quiescing and stopping `old` afterwards refuses no
 * connection on them; the others are bound anew. NULL with *cause if one
 * cannot be bound (the port is in use, or below 1024 without the
 * privilege); `old` is unchanged then.
 */
struct http_listener *http_restart(struct http_listener *old,
    const struct listener_conf *conf, struct dispatch *, char **cause);
/* Stop accepting new connections; requests in progress go on. */
void http_quiesce(struct http_listener *);
/* Wait until no request is in progress; false if timeout_ms passed first. */
bool http_wait_idle(struct http_listener *, unsigned timeout_ms);
/* Close every connection and free. */
void http_stop(struct http_listener *);
void http_get_stats(struct http_listener *, struct http_stats *);
/*
 * Keep every request answered 4xx or 501 in rs (NULL: stop); rs must
 * outlive the listener or the next call.
 */
struct reject_store;
void http_set_rejects(struct http_listener *, struct reject_store *);
/* The port actually bound for the first address (useful with http_port 0 in tests). */
unsigned http_bound_port(const struct http_listener *);
/* The listening sockets: how many, and each one's "ADDR:PORT" and port. */
size_t http_sockets(const struct http_listener *);
const char *http_socket_name(const struct http_listener *, size_t i,
    unsigned *port);
/* Whether listening socket i serves HTTPS. */
bool http_socket_tls(const struct http_listener *, size_t i);
/*
 * Re-read certfile, keyfile, trustfile, tls_priorities and allowed_clients
 * from conf and use them for new HTTPS connections (established ones keep
 * theirs). On error (-1, *cause malloc'd) the old ones stay. HTTPS cannot be
 * started or stopped this way: that fails too.
 */
int http_tls_reload(struct http_listener *, const struct listener_conf *,
    char **cause);
/* Does the listener serve HTTPS? */
bool http_tls_running(struct http_listener *);
/*
 * Re-read users_file (auth = basic; the cache of verified credentials
 * starts empty), allow and allow_basic_over_http from conf. -1 with
 * *cause and the old settings kept if the users file cannot be used.
 */
int http_access_reload(struct http_listener *, const struct listener_conf *,
    char **cause);

#endif
