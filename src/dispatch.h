/*
 * Intake of accepted export messages: called from request threads once a
 * body has parsed and passed the DSP0200 checks. It numbers each
 * indication, routes it through the filters, renders the record once and
 * queues it on every sink it is routed to.
 */
#ifndef CL_DISPATCH_H
#define CL_DISPATCH_H

#include <stdint.h>

#include "cimxml.h"
#include "record.h"

struct dispatch;
struct router;
struct sink;

struct dispatch_stats {
	uint64_t indications;   /* accepted */
	uint64_t unrouted;      /* accepted but matched no filter */
	uint64_t refused;       /* refused with a transient error (503) */
};

/* The sinks array must outlive the dispatch. first_seq: next sequence number. */
struct dispatch *dispatch_new(struct router *, struct sink **sinks, size_t nsinks, uint64_t first_seq);
void dispatch_free(struct dispatch *);
/*
 * Accept every indication of `msg` (all exports have cim_error == 0).
 * Returns 0 when all were taken, -1 (with *cause, static string) when they
 * could not be taken now (the caller answers 503 so the sender retries).
 * Thread-safe.
 */
int dispatch_accept(struct dispatch *, const struct cimxml_message *msg,
    const struct record_source *src, const char **cause);
void dispatch_get_stats(struct dispatch *, struct dispatch_stats *);

#endif
