/*
 * sink_socket.h: what the socket sink (sink_socket.c) tells about its
 * subscribers, for the control socket.
 */
#ifndef CL_SINK_SOCKET_H
#define CL_SINK_SOCKET_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"

struct sink;

/* The peer's credentials (SO_PEERCRED); -1 when unknown. */
struct sink_peer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
};

/* One subscriber, as listed by `subscribers`. */
struct sink_subscriber {
	uint64_t id;                 /* per sink, from 1 */
	struct sink_peer peer;
	time_t connected;
	char *name;                  /* NULL: unnamed */
	char *where;                 /* NULL: everything */
	enum sink_format format;
	const char *state;           /* subscribing, replay, live, overflow, paused */
	uint64_t position;           /* next seq it looks at */
	uint64_t acked;              /* last acknowledged seq (named), 0: none */
	uint64_t sent;               /* indications written to it */
	uint64_t last_sent;
	size_t queued;               /* messages waiting for the socket */
	uint64_t gaps;               /* gap messages sent */
	uint64_t lost;               /* records they covered */
};

/*
 * The subscribers of a socket sink (0 for another kind) into a new array
 * (*out, free with sink_socket_subscribers_free). Any thread.
 */
size_t sink_socket_subscribers(struct sink *, struct sink_subscriber **out);
void sink_socket_subscribers_free(struct sink_subscriber *, size_t n);

#endif
