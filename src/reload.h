/*
 * reload.h: what a configuration reload changes. The daemon loads and
 * validates the new config, compares it with the one in force here, and
 * applies only the differences (daemon.c); the comparisons are pure
 * functions so that they can be tested alone. The report says what a
 * reload did, for the control socket's answer and the log.
 */
#ifndef CL_RELOAD_H
#define CL_RELOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* A growable list of malloc'd strings. */
struct reload_list {
	char **v;
	size_t n;
};

/* The outcome of one reload (every string malloc'd, owned by the report). */
struct reload_report {
	bool ok;
	struct config_errors errors;   /* when !ok: every FILE:LINE: message */
	struct reload_list added;      /* sinks, by name */
	struct reload_list changed;    /* sinks restarted with new settings */
	struct reload_list removed;    /* sinks drained, stopped, cursor removed */
	struct reload_list unchanged;  /* sinks that kept running untouched */
	struct reload_list notes;      /* other changes, one line each */
	size_t filters;                /* filters in force after it */
	bool listener_changed;         /* new listener(s) in place of the old */
};

void reload_list_add(struct reload_list *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Append one "FILE[:LINE]: message" to errs. */
void reload_error(struct config_errors *errs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void reload_report_clear(struct reload_report *);

/* Would a sink with settings `a` behave exactly like one with `b`? */
bool reload_sink_equal(const struct sink_conf *a, const struct sink_conf *b);
/* Are the listener settings the same (no new listener needed)? */
bool reload_listener_equal(const struct listener_conf *a,
    const struct listener_conf *b);
/*
 * Append to errs an error for each key that differs between `cur` and
 * `next` and that the running daemon cannot change ("reload: no" in
 * cimlistend.conf(5)); returns how many.
 */
size_t reload_check_fixed(const struct config *cur, const struct config *next,
    struct config_errors *errs);

#endif
