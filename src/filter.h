/*
 * The filter language (DESIGN section 5): WQL/CQL-style WHERE expressions
 * compiled once into a form that evaluates fast against an indication.
 *
 * Pure: no globals, no I/O. filter_compile either returns a compiled filter
 * or fills a filter_error with the 1-based column (in bytes, into `text`)
 * and a one-line message. A compiled filter is immutable and may be
 * evaluated by many threads at once.
 */
#ifndef CL_FILTER_H
#define CL_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cim.h"
#include "record.h"

struct filter;

struct filter_error {
	unsigned col;       /* 1-based byte column in the expression */
	char msg[200];      /* one line, no position prefix */
};

/* What an expression is evaluated against. */
struct filter_input {
	const struct cim_instance *inst;    /* the indication */
	const struct record_source *source; /* __SOURCE, __USER, __PATH, __TLS; may be NULL */
	const char *const *filters;         /* __FILTERS: names of filters matched */
	size_t nfilters;
};

struct filter *filter_compile(const char *text, struct filter_error *err);
void filter_free(struct filter *);
/* The source text the filter was compiled from. */
const char *filter_text(const struct filter *);
bool filter_match(const struct filter *, const struct filter_input *);

/*
 * Print "COL: message" to `f`; with `caret`, also the expression and a line
 * with a caret under column COL (for terminals).
 */
void filter_error_print(FILE *f, const char *text, const struct filter_error *,
    bool caret);

#endif
