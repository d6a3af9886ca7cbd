/*
 * usock.h: listening UNIX stream sockets at a path (the control socket,
 * socket sinks).
 */
#ifndef CL_USOCK_H
#define CL_USOCK_H

#include <sys/types.h>

/*
 * Bind and listen on a UNIX stream socket at `path`: its directory is made
 * if missing (mode 0755), a stale socket is replaced, one that a process
 * answers on is refused ("WHAT PATH is in use by a running daemon"). Then
 * chmod to `mode` and, unless gid is (gid_t)-1, chown to that group.
 * Returns the descriptor (close-on-exec), or -1 with *cause (caller frees).
 */
int usock_listen(const char *path, const char *what, mode_t mode, gid_t gid,
    char **cause);

/* A group name or number to a gid; -1 if there is no such group. */
int usock_group(const char *group, gid_t *gid);

#endif
