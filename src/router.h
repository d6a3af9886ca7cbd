/*
 * Routing: the [filter] sections in file order decide which sinks a record
 * goes to. A record goes to the union of the sinks of every filter it
 * matches, each sink once; `final = yes` stops evaluation after a match.
 */
#ifndef CL_ROUTER_H
#define CL_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "record.h"

struct router;
struct sink;

/* Where a record goes: indexes into the sinks array given to router_new. */
struct route {
	/* Names of the matched filters, in file order (router-owned). */
	const char **filters;
	size_t *fidx;  /* their indexes, for router_count */
	size_t nfilters;
	size_t *sinks; /* sink indexes, each at most once */
	size_t nsinks;
};

/*
 * Build the router for `conf`'s filters against the sinks the daemon
 * created (sinks[i] serves the sink named sink_name(sinks[i])). NULL with
 * *cause if a filter names a sink that does not exist. The router uses the
 * filters compiled in `conf`, so conf must outlive it.
 */
struct router *router_new(const struct config *conf, struct sink **sinks,
    size_t nsinks, char **cause);
void router_free(struct router *);
size_t router_nfilters(const struct router *);
size_t router_nsinks(const struct router *);
/* Allocate a route able to hold any result of this router. */
struct route *route_new(const struct router *);
void route_free(struct route *);
/*
 * Evaluate the filters for `rec` (its inst and source; its filters field is
 * ignored) into `rt`: the names of the filters matched, in file order, and
 * the union of their sinks. Thread-safe; allocates nothing.
 */
void router_route(
    const struct router *, const struct record *rec, struct route *rt);
/*
 * Add counts[i] matches to filter i, for every filter (once the records
 * are accepted). Any thread.
 */
void router_add_matches(const struct router *, const uint64_t *counts);
/* Add old's counts to r's filters of the same name (reload). */
void router_inherit_matches(const struct router *r, const struct router *old);
/* Filter i (in file order): its name and matches counted so far. */
const char *router_filter_name(const struct router *, size_t i);
uint64_t router_matched(const struct router *, size_t i);

#endif
