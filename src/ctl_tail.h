/*
 * ctl_tail.h: cimlistenctl tail, a subscriber of a socket sink.
 */
#ifndef CL_CTL_TAIL_H
#define CL_CTL_TAIL_H

#include <stdbool.h>

/* Run tail with its arguments (argv[0] is "tail"); the exit status. */
int ctl_tail(int argc, char **argv, bool json);

#endif
