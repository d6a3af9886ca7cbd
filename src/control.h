/*
 * control.h: the control socket (DESIGN section 8), a UNIX stream socket
 * answering one JSON request line with one JSON answer line, served by
 * its own thread.
 */
#ifndef CL_CONTROL_H
#define CL_CONTROL_H

#include <pthread.h>
#include <stddef.h>
#include <time.h>

struct config;
struct dispatch;
struct reload_report;
struct http_listener;
struct seqtrack;
struct sink;
struct spool;

/*
 * What the answers are made of; must outlive the control socket, which
 * keeps a pointer to it. A reload changes conf, sinks, nsinks and http
 * with `lock` held for writing; answers are built with it held for
 * reading (no lock when NULL).
 */
struct control_state {
	pthread_rwlock_t *lock;
	const struct config *conf;
	struct spool *spool;
	struct sink *const *sinks;
	size_t nsinks;
	struct http_listener *http;    /* NULL when not listening */
	struct dispatch *dispatch;
	struct seqtrack *seqtrack;     /* DSP1054 tracks, for "sources" */
	struct timespec started;       /* CLOCK_MONOTONIC at start */
	/*
	 * Reload the configuration for a peer (NULL: not offered), filling
	 * the report; called without `lock` held.
	 */
	void (*reload)(void *arg, unsigned uid, int pid,
	    struct reload_report *);
	void *reload_arg;
};

struct control;

/*
 * Create the socket at conf->daemon.control_socket (its directory is made
 * if missing; a stale socket is replaced, one a running daemon answers on
 * is an error), mode 0660 with control_group, and start serving. NULL
 * with *cause on failure.
 */
struct control *control_start(const struct control_state *, char **cause);
/* Stop serving, close every connection, remove the socket. */
void control_stop(struct control *);

/*
 * Answer one request line (no newline) into a malloc'd JSON line ending
 * in '\n'. Exposed for tests; uid/pid are the peer's credentials.
 */
char *control_answer(const struct control_state *, const char *line,
    size_t len, unsigned uid, int pid);

#endif
