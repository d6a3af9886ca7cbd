/*
 * Allocation wrappers that never return NULL: on exhaustion they log and
 * abort, as a daemon that cannot allocate a few bytes cannot do anything
 * useful. Use them for everything except sizes chosen by the network, which
 * are bounded before they get here.
 */
#ifndef CL_XMALLOC_H
#define CL_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
void *xrealloc(void *, size_t);
void *xreallocarray(void *, size_t, size_t);
char *xstrdup(const char *);
char *xstrndup(const char *, size_t);
int xasprintf(char **, const char *, ...) __attribute__((format(printf, 2, 3)));
int xvasprintf(char **, const char *, va_list) __attribute__((format(printf, 2, 0)));

#endif
