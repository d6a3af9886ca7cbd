/*
 * ctl_send.h: `cimlistenctl send`, test indications and load (ctl_send.c).
 */
#ifndef CL_CTL_SEND_H
#define CL_CTL_SEND_H

#include <stdbool.h>

/*
 * Run `send` with its arguments (argv[0] is "send"); json: --json was
 * given before the command. Returns the exit status.
 */
int ctl_send(int argc, char **argv, bool json);

#endif
