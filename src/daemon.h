/*
 * The daemon's lifecycle: load the configuration, open sinks, start the
 * listener, serve until SIGTERM/SIGINT, then drain and stop in order.
 */
#ifndef CL_DAEMON_H
#define CL_DAEMON_H

#include <stdbool.h>

/* Run the daemon; returns the process exit status. */
int daemon_run(const char *config_file, bool foreground);
/* Load and validate `config_file`, printing every error to stderr; 0 if clean. */
int daemon_check_config(const char *config_file);

#endif
