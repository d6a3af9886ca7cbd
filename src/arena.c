/*
 * arena.c: bump allocator over a chain of chunks. Requests larger than a
 * quarter chunk get a chunk of their own so that big strings do not waste
 * the tail of the current one.
 */
#include "autoconf.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "log.h"
#include "xmalloc.h"

#define ARENA_CHUNK 8192
#define ARENA_ALIGN alignof(max_align_t)

struct chunk {
	struct chunk *next;
	size_t size;
	size_t used;
	alignas(max_align_t) unsigned char data[];
};

struct arena {
	struct chunk *head;
	size_t total;
};

struct arena *
arena_new(void)
{
	return xcalloc(1, sizeof(struct arena));
}

void
arena_free(struct arena *a)
{
	struct chunk *c, *next;

	if (a == NULL)
		return;
	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
}

static struct chunk *
chunk_new(size_t size)
{
	struct chunk *c;

	c = xmalloc(sizeof *c + size);
	c->size = size;
	c->used = 0;
	return c;
}

void *
arena_alloc(struct arena *a, size_t n)
{
	struct chunk *c;
	size_t off;

	if (n == 0)
		n = 1;
	if (n > SIZE_MAX / 2)
		fatalx("arena_alloc: %zu bytes", n);
	n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	a->total += n;
	c = a->head;
	if (c != NULL && c->size - c->used >= n) {
		off = c->used;
		c->used += n;
		return c->data + off;
	}
	if (n > ARENA_CHUNK / 4) {
		/* A chunk of its own, behind the current one. */
		c = chunk_new(n);
		c->used = n;
		if (a->head != NULL) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = NULL;
			a->head = c;
		}
		return c->data;
	}
	c = chunk_new(ARENA_CHUNK);
	c->next = a->head;
	a->head = c;
	c->used = n;
	return c->data;
}

void *
arena_calloc(struct arena *a, size_t n, size_t size)
{
	void *p;

	if (size != 0 && n > SIZE_MAX / size)
		fatalx("arena_calloc: %zu * %zu overflows", n, size);
	p = arena_alloc(a, n * size);
	memset(p, 0, n * size);
	return p;
}

void *
arena_memdup(struct arena *a, const void *src, size_t n)
{
	void *p = arena_alloc(a, n);

	memcpy(p, src, n);
	return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

size_t
arena_used(const struct arena *a)
{
	return a->total;
}
