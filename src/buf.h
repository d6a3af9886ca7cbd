/*
 * A growable byte buffer, always NUL-terminated, for building output
 * (JSON lines, HTTP bodies, error messages). Never fails (xmalloc).
 */
#ifndef CL_BUF_H
#define CL_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;   /* NUL-terminated; NULL until the first append */
	size_t len;
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

void buf_reserve(struct buf *, size_t more);
void buf_add(struct buf *, const void *, size_t);
void buf_adds(struct buf *, const char *);
void buf_addc(struct buf *, char);
void buf_printf(struct buf *, const char *, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *, const char *, va_list) __attribute__((format(printf, 2, 0)));
void buf_reset(struct buf *);            /* len = 0, keeps memory */
void buf_free(struct buf *);             /* releases memory */
char *buf_steal(struct buf *, size_t *); /* hands data over (never NULL), resets */

#endif
