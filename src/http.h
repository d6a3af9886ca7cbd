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

#include "config.h"

struct dispatch;
struct http_listener;

struct http_stats {
	uint64_t requests;       /* requests answered */
	uint64_t accepted;       /* answered 200 with the indications taken */
	uint64_t rejected;       /* answered with a 4xx/5xx */
	uint64_t method_errors;  /* answered 200 with an export-level ERROR */
	uint64_t active;         /* requests in progress now */
};

/*
 * Bind and start listening as `conf` says, or, with nfds > 0, serve on
 * those listening sockets (socket activation; bind and http_port are not
 * used then, the listener owns the descriptors). Returns NULL with *cause
 * (malloc'd) if a socket cannot be bound or the library refuses.
 */
struct http_listener *http_start(const struct listener_conf *conf,
    struct dispatch *, const int *fds, size_t nfds, char **cause);
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
/* The port actually bound for the first address (useful with http_port 0 in tests). */
unsigned http_bound_port(const struct http_listener *);
/* The listening sockets: how many, and each one's "ADDR:PORT" and port. */
size_t http_sockets(const struct http_listener *);
const char *http_socket_name(const struct http_listener *, size_t i,
    unsigned *port);

#endif
