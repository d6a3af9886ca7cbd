/*
 * dispatch.c: from an accepted export message to the spool. Runs on request
 * threads, in parallel: each indication is routed and its record rendered
 * (without the seq: the spool writes `{"v":1,"seq":N` itself) into a
 * per-thread scratch area, and the message goes to the spool as one
 * append, so that either all of its indications are kept or none is (the
 * sender retries the whole message after a 503). Records that match no
 * filter are spooled too, with no route. A retried duplicate of an
 * indication already kept (DSP1054: same source, SequenceContext and
 * SequenceNumber) is acknowledged but not spooled again; the tracker learns
 * a number only once its record is in the spool, so a 503 never turns the
 * sender's retry into a "duplicate".
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <syslog.h>
#include <time.h>

#include "buf.h"
#include "dispatch.h"
#include "log.h"
#include "router.h"
#include "seqtrack.h"
#include "sink.h"
#include "spool.h"
#include "xmalloc.h"

/* The routing in force: a router and the sinks its indexes name. */
struct dispatch_routes {
	struct router *router;
	struct sink **sinks;
	size_t nsinks;
};

/*
 * Routing is swapped on reload without a lock on the request path: a
 * request counts itself in users[epoch] while it uses the current routes
 * (an atomic add and a re-check of the epoch), and dispatch_set_routes
 * flips the epoch after publishing new routes, then waits until the old
 * epoch's count drops to zero: no request can be using the old routes
 * after that (a grace period, as in RCU).
 */
struct dispatch {
	_Atomic(struct dispatch_routes *) routes;
	atomic_uint epoch;
	atomic_uint_fast64_t users[2];
	pthread_mutex_t swap_lock;     /* one swap at a time */
	struct spool *spool;
	struct seqtrack *seqtrack;
	atomic_uint_fast64_t indications;
	atomic_uint_fast64_t unrouted;
	atomic_uint_fast64_t refused;
	/* Senders seen, for the control socket's "sources". */
	pthread_mutex_t src_lock;
	struct dispatch_source *srcs;
	size_t nsrcs;
};

/*
 * Per-thread scratch for one message, kept between requests to avoid
 * reallocations and freed when the request thread exits: the rendered
 * tails back to back, where each starts, the spool entries and their
 * route names.
 */
struct scratch {
	struct buf out;
	size_t *offs;
	struct spool_entry *ents;
	enum seqtrack_verdict *verdicts;
	size_t cap;
	const char **names;
	struct counted *counted;
	size_t ncap;
};

/* A record routed to a sink without a writer, counted once appended. */
struct counted {
	struct sink *sink;
	size_t rec;	 /* index in the append */
	int64_t time_us; /* its receive time */
};

/* Senders remembered at most; the one seen longest ago makes room. */
#define DISPATCH_MAX_SOURCES 1024

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static struct log_ratelimit refuse_rl = LOG_RATELIMIT_INIT(1, 5);

static void
scratch_free(void *p)
{
	struct scratch *sc = p;

	buf_free(&sc->out);
	free(sc->offs);
	free(sc->ents);
	free(sc->verdicts);
	free(sc->names);
	free(sc->counted);
	free(sc);
}

static void
scratch_key_init(void)
{
	if (pthread_key_create(&scratch_key, scratch_free) != 0)
		fatalx("pthread_key_create failed");
}

/* This thread's scratch, emptied and with room for n records and names. */
static struct scratch *
scratch_get(size_t n, size_t nnames)
{
	struct scratch *sc;

	pthread_once(&scratch_once, scratch_key_init);
	if ((sc = pthread_getspecific(scratch_key)) == NULL) {
		sc = xcalloc(1, sizeof *sc);
		pthread_setspecific(scratch_key, sc);
	}
	buf_reset(&sc->out);
	if (n > sc->cap) {
		sc->offs = xreallocarray(sc->offs, n, sizeof *sc->offs);
		sc->ents = xreallocarray(sc->ents, n, sizeof *sc->ents);
		sc->verdicts = xreallocarray(sc->verdicts, n,
		    sizeof *sc->verdicts);
		sc->cap = n;
	}
	if (nnames > sc->ncap) {
		sc->names = xreallocarray(sc->names, nnames, sizeof *sc->names);
		sc->counted = xreallocarray(sc->counted, nnames,
		    sizeof *sc->counted);
		sc->ncap = nnames;
	}
	return sc;
}

static struct dispatch_routes *
routes_new(struct router *router, struct sink **sinks, size_t nsinks)
{
	struct dispatch_routes *r;

	r = xcalloc(1, sizeof *r);
	r->router = router;
	r->sinks = sinks;
	r->nsinks = nsinks;
	return r;
}

struct dispatch *
dispatch_new(struct router *router, struct spool *spool,
    struct seqtrack *seqtrack, struct sink **sinks, size_t nsinks)
{
	struct dispatch *d;

	d = xcalloc(1, sizeof *d);
	atomic_store(&d->routes, routes_new(router, sinks, nsinks));
	d->spool = spool;
	d->seqtrack = seqtrack;
	pthread_mutex_init(&d->src_lock, NULL);
	pthread_mutex_init(&d->swap_lock, NULL);
	return d;
}

/* Enter the current epoch and take the routes in force. */
static struct dispatch_routes *
routes_enter(struct dispatch *d, unsigned *ep)
{
	unsigned e;

	for (;;) {
		e = atomic_load(&d->epoch) & 1;
		atomic_fetch_add(&d->users[e], 1);
		if ((atomic_load(&d->epoch) & 1) == e)
			break;
		atomic_fetch_sub(&d->users[e], 1);
	}
	*ep = e;
	return atomic_load(&d->routes);
}

static void
routes_leave(struct dispatch *d, unsigned e)
{
	atomic_fetch_sub(&d->users[e], 1);
}

void
dispatch_set_routes(struct dispatch *d, struct router *router,
    struct sink **sinks, size_t nsinks, struct router **old_router,
    struct sink ***old_sinks)
{
	struct dispatch_routes *old;
	struct timespec ts = { 0, 100000 };
	unsigned e;

	pthread_mutex_lock(&d->swap_lock);
	old = atomic_exchange(&d->routes, routes_new(router, sinks, nsinks));
	e = atomic_fetch_add(&d->epoch, 1) & 1;
	/* Requests are short: this waits for those that had the old routes. */
	while (atomic_load(&d->users[e]) != 0)
		nanosleep(&ts, NULL);
	/* Filters kept by name keep counting from where they were. */
	router_inherit_matches(router, old->router);
	pthread_mutex_unlock(&d->swap_lock);
	*old_router = old->router;
	*old_sinks = old->sinks;
	free(old);
}

void
dispatch_free(struct dispatch *d)
{
	if (d == NULL)
		return;
	free(atomic_load(&d->routes));
	pthread_mutex_destroy(&d->swap_lock);
	pthread_mutex_destroy(&d->src_lock);
	free(d->srcs);
	free(d);
}

/* Count n indications from addr, the last of class inst's. */
static void
source_seen(struct dispatch *d, const char *addr, size_t n,
    const struct cim_instance *inst)
{
	struct dispatch_source *ds = NULL;
	size_t i, oldest = 0;

	pthread_mutex_lock(&d->src_lock);
	for (i = 0; i < d->nsrcs; i++) {
		if (strcmp(d->srcs[i].addr, addr) == 0) {
			ds = &d->srcs[i];
			break;
		}
		if (d->srcs[i].last_seen < d->srcs[oldest].last_seen)
			oldest = i;
	}
	if (ds == NULL) {
		if (d->nsrcs < DISPATCH_MAX_SOURCES) {
			d->srcs = xreallocarray(d->srcs, d->nsrcs + 1,
			    sizeof *d->srcs);
			ds = &d->srcs[d->nsrcs++];
		} else
			ds = &d->srcs[oldest];
		memset(ds, 0, sizeof *ds);
		snprintf(ds->addr, sizeof ds->addr, "%s", addr);
	}
	ds->indications += n;
	ds->requests++;
	ds->last_seen = time(NULL);
	if (inst != NULL && inst->classname != NULL)
		snprintf(ds->last_class, sizeof ds->last_class, "%s",
		    inst->classname);
	pthread_mutex_unlock(&d->src_lock);
}

int
dispatch_accept(struct dispatch *d, const struct cimxml_message *msg,
    const struct record_source *src, const char **cause)
{
	struct dispatch_routes *rs;
	struct scratch *sc;
	struct route *rt;
	struct record rec;
	struct cim_instance *inst;
	uint64_t first;
	size_t i, j, n = 0, nnames = 0, unrouted = 0, nf, ncounted = 0;
	struct sink *sk;
	uint64_t fcount_small[64], *fcount;
	unsigned epoch;
	char *why = NULL;
	int rc = 0;

	if (msg->nexports == 0)
		return 0;
	/* The routes stay valid until routes_leave, past the append. */
	rs = routes_enter(d, &epoch);
	sc = scratch_get(msg->nexports, msg->nexports * rs->nsinks + 1);
	rt = route_new(rs->router);
	/* The matches of every record, counted once they are accepted. */
	nf = router_nfilters(rs->router);
	fcount = nf <= 64 ? fcount_small : xcalloc(nf, sizeof *fcount);
	memset(fcount, 0, (nf <= 64 ? 64 : nf) * sizeof *fcount);
	for (i = 0; i < msg->nexports; i++) {
		inst = msg->exports[i].indication;
		sc->verdicts[i] = seqtrack_check(d->seqtrack, src->addr, inst);
		if (sc->verdicts[i] == SEQ_DUPLICATE)
			continue;
		clock_gettime(CLOCK_REALTIME, &rec.time);
		rec.seq = 0; /* not rendered: the spool assigns it */
		rec.source = src;
		rec.message_id = msg->id;
		rec.inst = inst;
		rec.filters = NULL;
		rec.nfilters = 0;
		router_route(rs->router, &rec, rt);
		for (j = 0; j < rt->nfilters; j++)
			fcount[rt->fidx[j]]++;
		rec.filters = rt->filters;
		rec.nfilters = rt->nfilters;

		sc->offs[n] = sc->out.len;
		record_json_tail(&rec, &sc->out);
		sc->ents[n].tail_len = sc->out.len - sc->offs[n];
		sc->ents[n].routes = sc->names + nnames;
		sc->ents[n].nroutes = rt->nsinks;
		for (j = 0; j < rt->nsinks; j++) {
			sk = rs->sinks[rt->sinks[j]];
			sc->names[nnames++] = sink_name(sk);
			if (!sink_has_writer(sk))
				sc->counted[ncounted++] = (struct counted){ sk,
				    n, (int64_t)rec.time.tv_sec * 1000000 +
					rec.time.tv_nsec / 1000 };
		}
		if (rt->nsinks == 0)
			unrouted++;
		n++;
	}
	route_free(rt);
	/* The buffer has stopped moving: point the entries into it. */
	for (i = 0; i < n; i++)
		sc->ents[i].tail = sc->out.data + sc->offs[i];

	if (n > 0 && spool_append(d->spool, sc->ents, n, &first, &why) != 0) {
		atomic_fetch_add(&d->refused, 1);
		log_limited(&refuse_rl, LOG_WARNING, "refusing indications "
		    "(503): %s", why != NULL ? why : "spool append failed");
		free(why);
		*cause = "the spool cannot be written; retry later";
		rc = -1;
		goto out;
	}
	router_add_matches(rs->router, fcount);
	for (i = 0; i < ncounted; i++)
		sink_appended(sc->counted[i].sink, first + sc->counted[i].rec,
		    sc->counted[i].time_us);
	for (i = 0; i < msg->nexports; i++)
		seqtrack_commit(d->seqtrack, src->addr,
		    msg->exports[i].indication, sc->verdicts[i]);
	atomic_fetch_add(&d->indications, n);
	atomic_fetch_add(&d->unrouted, unrouted);
	source_seen(d, src->addr, n, msg->exports[msg->nexports - 1].indication);
out:
	if (fcount != fcount_small)
		free(fcount);
	routes_leave(d, epoch);
	return rc;
}

size_t
dispatch_sources(struct dispatch *d, struct dispatch_source **out)
{
	size_t n;

	pthread_mutex_lock(&d->src_lock);
	n = d->nsrcs;
	*out = n > 0 ? xreallocarray(NULL, n, sizeof **out) : NULL;
	if (n > 0)
		memcpy(*out, d->srcs, n * sizeof **out);
	pthread_mutex_unlock(&d->src_lock);
	return n;
}

size_t
dispatch_filters(struct dispatch *d, struct dispatch_filter **out)
{
	struct dispatch_routes *rs;
	unsigned epoch;
	size_t i, n;

	rs = routes_enter(d, &epoch);
	n = router_nfilters(rs->router);
	*out = xcalloc(n + 1, sizeof **out);
	for (i = 0; i < n; i++) {
		(*out)[i].name = xstrdup(router_filter_name(rs->router, i));
		(*out)[i].matched = router_matched(rs->router, i);
	}
	routes_leave(d, epoch);
	return n;
}

void
dispatch_filters_free(struct dispatch_filter *f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(f[i].name);
	free(f);
}

void
dispatch_get_stats(struct dispatch *d, struct dispatch_stats *st)
{
	struct seqtrack_stats ss;

	st->indications = atomic_load(&d->indications);
	st->unrouted = atomic_load(&d->unrouted);
	st->refused = atomic_load(&d->refused);
	seqtrack_get_stats(d->seqtrack, &ss);
	st->duplicates = ss.duplicates;
}
