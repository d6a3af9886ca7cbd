/*
 * Intake of accepted export messages: called from request threads once a
 * body has parsed and passed the DSP0200 checks. It routes each indication
 * through the filters, renders its record once and appends the whole
 * message to the spool in one all-or-nothing append (the spool assigns the
 * sequence numbers); the sinks deliver from there.
 */
#ifndef CL_DISPATCH_H
#define CL_DISPATCH_H

#include <netinet/in.h>
#include <stdint.h>
#include <time.h>

#include "cimxml.h"
#include "record.h"

struct dispatch;
struct router;
struct seqtrack;
struct sink;
struct spool;

struct dispatch_stats {
	uint64_t indications;   /* accepted (in the spool) */
	uint64_t unrouted;      /* accepted but matched no filter */
	uint64_t refused;       /* requests refused with a transient error (503) */
	uint64_t duplicates;    /* DSP1054 retries acknowledged, not kept again */
};

/* One sender, as the control socket's "sources" shows it. */
struct dispatch_source {
	char addr[INET6_ADDRSTRLEN];
	uint64_t requests;      /* requests whose indications were accepted */
	uint64_t indications;   /* indications accepted from it */
	time_t last_seen;       /* wall clock of the last one */
	char last_class[128];   /* class of the last one */
};

/*
 * The router, the spool, the sequence tracker and the sinks array (whose
 * names the routes use)
 * must outlive the dispatch.
 */
struct dispatch *dispatch_new(struct router *, struct spool *,
    struct seqtrack *, struct sink **sinks, size_t nsinks);
void dispatch_free(struct dispatch *);
/*
 * Route new requests with `router` and `sinks` (reload); requests in
 * progress finish with the old ones. Returns once none uses the old ones
 * any more, handing them back (*old_router, *old_sinks) for the caller to
 * free, with the config the old router borrows from. One thread at a time.
 */
void dispatch_set_routes(struct dispatch *, struct router *router,
    struct sink **sinks, size_t nsinks, struct router **old_router,
    struct sink ***old_sinks);
/*
 * Accept every indication of `msg` (all exports have cim_error == 0): on
 * return 0 they are all in the spool (written, and synced per the fsync
 * setting), so the caller may answer 200. -1 (with *cause, static string)
 * when the spool could not take them: none was kept and the caller answers
 * 503 so the sender retries. Thread-safe.
 */
int dispatch_accept(struct dispatch *, const struct cimxml_message *msg,
    const struct record_source *src, const char **cause);
/*
 * A copy of the senders seen (at most 1024, the one seen longest ago
 * forgotten first) in *out (free(3)); returns how many.
 */
size_t dispatch_sources(struct dispatch *, struct dispatch_source **out);
void dispatch_get_stats(struct dispatch *, struct dispatch_stats *);

/* One filter's matches (accepted indications), for stats. */
struct dispatch_filter {
	char *name;
	uint64_t matched;       /* since start, across reloads */
};
/* The filters in force, in file order, into a new array. */
size_t dispatch_filters(struct dispatch *, struct dispatch_filter **out);
void dispatch_filters_free(struct dispatch_filter *, size_t n);

#endif
