/*
 * reload.c: comparing the config in force with a new one. Sinks compare
 * by every setting (a template by its text, owner and group by the ids
 * they resolved to), listeners by every key, and the keys a running
 * daemon cannot change (the spool's, the control socket's, the metrics
 * address) give an error naming the key and its file.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "reload.h"
#include "spool.h"
#include "xmalloc.h"

/* Append a formatted string to a vector of n strings. */
static void
vec_add(char ***v, size_t *n, const char *fmt, va_list ap)
{
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	if (vasprintf(&(*v)[*n], fmt, ap) == -1)
		fatalx("out of memory");
	(*n)++;
}

void
reload_list_add(struct reload_list *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vec_add(&l->v, &l->n, fmt, ap);
	va_end(ap);
}

void
reload_error(struct config_errors *errs, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vec_add(&errs->msgs, &errs->n, fmt, ap);
	va_end(ap);
}

static void
list_clear(struct reload_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void
reload_report_clear(struct reload_report *r)
{
	config_errors_clear(&r->errors);
	list_clear(&r->added);
	list_clear(&r->changed);
	list_clear(&r->removed);
	list_clear(&r->unchanged);
	list_clear(&r->notes);
}

/* NULL and "" are the same: unset. */
static bool
str_eq(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

bool
reload_sink_equal(const struct sink_conf *a, const struct sink_conf *b)
{
	return str_eq(a->name, b->name) && str_eq(a->type, b->type) &&
	    a->format == b->format && str_eq(a->template, b->template) &&
	    str_eq(a->severity, b->severity) && str_eq(a->path, b->path) &&
	    a->mode == b->mode && str_eq(a->group, b->group) &&
	    a->gid == b->gid && str_eq(a->owner, b->owner) &&
	    a->uid == b->uid && a->rotate_size == b->rotate_size &&
	    a->rotate_keep == b->rotate_keep && str_eq(a->ident, b->ident) &&
	    a->rate_limit == b->rate_limit && a->facility == b->facility &&
	    str_eq(a->socket, b->socket) && a->protocol == b->protocol &&
	    a->buffer == b->buffer && a->max_subscribers == b->max_subscribers &&
	    str_eq(a->command, b->command) && a->shell == b->shell &&
	    a->concurrency == b->concurrency && a->timeout == b->timeout;
}

bool
reload_listener_equal(const struct listener_conf *a,
    const struct listener_conf *b)
{
	size_t i;

	if (a->nbind != b->nbind)
		return false;
	for (i = 0; i < a->nbind; i++)
		if (!str_eq(a->bind[i], b->bind[i]))
			return false;
	/* Certificates, trust, auth and allow are re-read in place. */
	return a->http_port == b->http_port &&
	    a->https_port == b->https_port && a->threads == b->threads &&
	    a->max_body == b->max_body &&
	    a->max_connections == b->max_connections &&
	    a->max_connections_per_ip == b->max_connections_per_ip &&
	    a->rate_limit == b->rate_limit &&
	    a->timeout == b->timeout &&
	    a->connection_memory == b->connection_memory &&
	    a->strict == b->strict && a->max_xml_depth == b->max_xml_depth &&
	    a->max_embedding_depth == b->max_embedding_depth &&
	    a->max_elements == b->max_elements &&
	    a->max_attribute_length == b->max_attribute_length &&
	    a->max_text_length == b->max_text_length &&
	    a->max_headers == b->max_headers;
}

static void
fixed_error(struct config_errors *errs, const struct config *next,
    const char *key, const char *was, const char *now)
{
	reload_error(errs, "%s: %s cannot change on reload (from \"%s\" to "
	    "\"%s\"); restart the daemon to apply it", next->file, key,
	    was != NULL ? was : "", now != NULL ? now : "");
}

static void
fixed_num(struct config_errors *errs, const struct config *next,
    const char *key, unsigned long long was, unsigned long long now)
{
	char a[32], b[32];

	snprintf(a, sizeof a, "%llu", was);
	snprintf(b, sizeof b, "%llu", now);
	fixed_error(errs, next, key, a, b);
}

size_t
reload_check_fixed(const struct config *cur, const struct config *next,
    struct config_errors *errs)
{
	const struct daemon_conf *a = &cur->daemon, *b = &next->daemon;
	size_t before = errs->n;

	if (!str_eq(a->spool_dir, b->spool_dir))
		fixed_error(errs, next, "spool_dir", a->spool_dir, b->spool_dir);
	if (a->fsync != b->fsync)
		fixed_error(errs, next, "fsync",
		    spool_fsync_name((enum spool_fsync)a->fsync),
		    spool_fsync_name((enum spool_fsync)b->fsync));
	if (a->spool_max_size != b->spool_max_size)
		fixed_num(errs, next, "spool_max_size", a->spool_max_size,
		    b->spool_max_size);
	if (a->spool_max_age != b->spool_max_age)
		fixed_num(errs, next, "spool_max_age", a->spool_max_age,
		    b->spool_max_age);
	if (!str_eq(a->control_socket, b->control_socket))
		fixed_error(errs, next, "control_socket", a->control_socket,
		    b->control_socket);
	if (!str_eq(a->control_group, b->control_group))
		fixed_error(errs, next, "control_group", a->control_group,
		    b->control_group);
	if (!str_eq(a->reject_dir, b->reject_dir))
		fixed_error(errs, next, "reject_dir", a->reject_dir,
		    b->reject_dir);
	if (a->reject_keep != b->reject_keep)
		fixed_num(errs, next, "reject_keep", a->reject_keep,
		    b->reject_keep);
	if (!str_eq(a->pid_file, b->pid_file))
		fixed_error(errs, next, "pid_file", a->pid_file, b->pid_file);
	if (!str_eq(a->user, b->user))
		fixed_error(errs, next, "user", a->user, b->user);
	if (!str_eq(a->group, b->group))
		fixed_error(errs, next, "group", a->group, b->group);
	if (!str_eq(cur->metrics.listen, next->metrics.listen))
		fixed_error(errs, next, "[metrics] listen", cur->metrics.listen,
		    next->metrics.listen);
	return errs->n - before;
}
