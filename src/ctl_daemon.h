/*
 * ctl_daemon.h: cimlistenctl commands answered by the daemon over its
 * control socket (ctl_daemon.c).
 */
#ifndef CL_CTL_DAEMON_H
#define CL_CTL_DAEMON_H

#include <stdbool.h>

#define CTL_EXIT_ERRORS 1
#define CTL_EXIT_USAGE 2
#define CTL_EXIT_OUTPUT 3
#define CTL_EXIT_UNREACHABLE 4

#ifndef RUNSTATEDIR
#define RUNSTATEDIR "/run"
#endif
#define CTL_DEFAULT_SOCKET RUNSTATEDIR "/cimlisten/control.sock"

/*
 * Send {"op":op} to the control socket at path and read the answer line
 * (malloc'd, without its newline); NULL with *err (malloc'd) on failure.
 */
char *ctl_daemon_request(const char *path, const char *op, char **err);

/*
 * Run the command `op` (status, stats, sinks, reopen) with its arguments
 * (argv[0] is the command); json: --json was given before it. Returns the
 * exit status.
 */
int ctl_daemon(const char *op, int argc, char **argv, bool json);

#endif
