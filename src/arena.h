/*
 * A bump allocator: many small allocations, one free. A parsed message and
 * everything hanging off it (instances, properties, strings) live in one
 * arena, so handing a message over or dropping it is one pointer and one call.
 * Never returns NULL (xmalloc). Not thread-safe; an arena has one owner.
 */
#ifndef CL_ARENA_H
#define CL_ARENA_H

#include <stddef.h>

struct arena;

struct arena *arena_new(void);
void arena_free(struct arena *);
/* Memory aligned for any type, uninitialised / zeroed. */
void *arena_alloc(struct arena *, size_t);
void *arena_calloc(struct arena *, size_t n, size_t size);
/* Copies, NUL-terminated. */
char *arena_strdup(struct arena *, const char *);
char *arena_strndup(struct arena *, const char *, size_t);
void *arena_memdup(struct arena *, const void *, size_t);
/* Bytes handed out so far (for limits and statistics). */
size_t arena_used(const struct arena *);

#endif
