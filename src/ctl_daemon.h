/*
 * ctl_daemon.h: cimlistenctl commands answered by the daemon over its
 * control socket (ctl_daemon.c).
 */
#ifndef CL_CTL_DAEMON_H
#define CL_CTL_DAEMON_H

#include <stdbool.h>

/*
 * Run the command `op` (status, stats, sinks, reopen) with its arguments
 * (argv[0] is the command); json: --json was given before it. Returns the
 * exit status.
 */
int ctl_daemon(const char *op, int argc, char **argv, bool json);

#endif
