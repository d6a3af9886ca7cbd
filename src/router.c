/*
 * router.c: filters in file order → set of sinks. A filter without `where`
 * matches everything; one with it matches when its compiled expression does,
 * evaluated with the names of the filters matched so far as __FILTERS. The
 * compiled expressions are borrowed from the config, which outlives the
 * router. router_route allocates nothing: the route has room for every
 * filter and every sink.
 */
#include "autoconf.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "router.h"
#include "sink.h"
#include "xmalloc.h"

struct rfilter {
	char *name;
	const struct filter *where; /* the config's; NULL matches everything */
	bool final;
	size_t *sinks;
	size_t nsinks;
};

struct router {
	struct rfilter *filters;
	size_t nfilters;
	size_t nsinks;
	atomic_uint_fast64_t *matched; /* per filter, by router_count */
};

/* Index of the sink called `name`, or -1. */
static long
find_sink(struct sink **sinks, size_t nsinks, const char *name)
{
	size_t i;

	for (i = 0; i < nsinks; i++)
		if (strcmp(sink_name(sinks[i]), name) == 0)
			return (long)i;
	return -1;
}

struct router *
router_new(
    const struct config *conf, struct sink **sinks, size_t nsinks, char **cause)
{
	struct router *r;
	struct rfilter *rf;
	const struct filter_conf *fc;
	size_t i, j;
	long idx;

	r = xcalloc(1, sizeof *r);
	r->nsinks = nsinks;
	r->filters = xcalloc(conf->nfilters, sizeof *r->filters);
	r->matched = xcalloc(conf->nfilters + 1, sizeof *r->matched);
	for (i = 0; i < conf->nfilters; i++) {
		fc = &conf->filters[i];
		rf = &r->filters[r->nfilters++];
		rf->name = xstrdup(fc->name);
		rf->where = fc->filter;
		rf->final = fc->final;
		rf->sinks = xcalloc(fc->nsinks, sizeof *rf->sinks);
		for (j = 0; j < fc->nsinks; j++) {
			idx = find_sink(sinks, nsinks, fc->sinks[j]);
			if (idx < 0) {
				xasprintf(cause, "filter %s: unknown sink '%s'",
				    fc->name, fc->sinks[j]);
				router_free(r);
				return NULL;
			}
			rf->sinks[rf->nsinks++] = (size_t)idx;
		}
	}
	return r;
}

void
router_free(struct router *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nfilters; i++) {
		free(r->filters[i].name);
		free(r->filters[i].sinks);
	}
	free(r->filters);
	free(r->matched);
	free(r);
}

void
router_add_matches(const struct router *r, const uint64_t *counts)
{
	size_t i;

	for (i = 0; i < r->nfilters; i++)
		if (counts[i] != 0)
			atomic_fetch_add_explicit(&r->matched[i], counts[i],
			    memory_order_relaxed);
}

void
router_inherit_matches(const struct router *r, const struct router *old)
{
	size_t i, j;

	for (i = 0; i < r->nfilters; i++)
		for (j = 0; j < old->nfilters; j++)
			if (strcmp(r->filters[i].name, old->filters[j].name) == 0) {
				atomic_fetch_add(&r->matched[i],
				    atomic_load(&old->matched[j]));
				break;
			}
}

const char *
router_filter_name(const struct router *r, size_t i)
{
	return r->filters[i].name;
}

uint64_t
router_matched(const struct router *r, size_t i)
{
	return atomic_load_explicit(&r->matched[i], memory_order_relaxed);
}

size_t
router_nfilters(const struct router *r)
{
	return r->nfilters;
}

size_t
router_nsinks(const struct router *r)
{
	return r->nsinks;
}

struct route *
route_new(const struct router *r)
{
	struct route *rt;

	rt = xcalloc(1, sizeof *rt);
	rt->filters = xcalloc(r->nfilters + 1, sizeof *rt->filters);
	rt->fidx = xcalloc(r->nfilters + 1, sizeof *rt->fidx);
	rt->sinks = xcalloc(r->nsinks + 1, sizeof *rt->sinks);
	return rt;
}

void
route_free(struct route *rt)
{
	if (rt == NULL)
		return;
	free(rt->filters);
	free(rt->fidx);
	free(rt->sinks);
	free(rt);
}

/*
 * Every filter in file order; a match adds its name and its sinks (each
 * sink once), and a final filter that matched ends the walk.
 */
void
router_route(const struct router *r, const struct record *rec, struct route *rt)
{
	const struct rfilter *rf;
	struct filter_input in;
	size_t i, j, k;

	rt->nfilters = rt->nsinks = 0;
	in.inst = rec->inst;
	in.source = rec->source;
	in.filters = rt->filters;
	for (i = 0; i < r->nfilters; i++) {
		rf = &r->filters[i];
		if (rf->where != NULL) {
			in.nfilters = rt->nfilters;
			if (!filter_match(rf->where, &in))
				continue;
		}
		rt->fidx[rt->nfilters] = i;
		rt->filters[rt->nfilters++] = rf->name;
		for (j = 0; j < rf->nsinks; j++) {
			for (k = 0; k < rt->nsinks; k++)
				if (rt->sinks[k] == rf->sinks[j])
					break;
			if (k == rt->nsinks)
				rt->sinks[rt->nsinks++] = rf->sinks[j];
		}
		if (rf->final)
			break;
	}
}
