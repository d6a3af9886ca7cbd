/*
 * dispatch.c: from an accepted export message to lines queued on sinks.
 * Runs on request threads, in parallel: numbering is one atomic add, the
 * record is rendered once into a per-thread buffer and shared by reference
 * among the sinks it is routed to.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "buf.h"
#include "dispatch.h"
#include "log.h"
#include "router.h"
#include "sink.h"
#include "xmalloc.h"

struct dispatch {
	struct router *router;
	struct sink **sinks;
	size_t nsinks;
	atomic_uint_fast64_t next_seq;
	atomic_uint_fast64_t indications;
	atomic_uint_fast64_t unrouted;
	atomic_uint_fast64_t refused;
};

/*
 * Per-thread render buffer, kept between requests to avoid reallocations and
 * freed when the request thread exits.
 */
static pthread_key_t render_key;
static pthread_once_t render_once = PTHREAD_ONCE_INIT;

static void
render_buf_free(void *p)
{
	buf_free(p);
	free(p);
}

static void
render_key_init(void)
{
	if (pthread_key_create(&render_key, render_buf_free) != 0)
		fatalx("pthread_key_create failed");
}

static struct buf *
render_buf(void)
{
	struct buf *b;

	pthread_once(&render_once, render_key_init);
	if ((b = pthread_getspecific(render_key)) == NULL) {
		b = xcalloc(1, sizeof *b);
		pthread_setspecific(render_key, b);
	}
	buf_reset(b);
	return b;
}

struct dispatch *
dispatch_new(struct router *router, struct sink **sinks, size_t nsinks,
    uint64_t first_seq)
{
	struct dispatch *d;

	d = xcalloc(1, sizeof *d);
	d->router = router;
	d->sinks = sinks;
	d->nsinks = nsinks;
	atomic_init(&d->next_seq, first_seq);
	return d;
}

void
dispatch_free(struct dispatch *d)
{
	free(d);
}

/* Route, render and queue one indication. 0, or -1 if a sink refused it. */
static int
dispatch_one(struct dispatch *d, const struct cimxml_message *msg,
    const struct cim_instance *inst, const struct record_source *src,
    struct route *rt)
{
	struct record rec;
	struct sink_line *line;
	struct buf *out;
	size_t i;
	int rc = 0;

	rec.seq = atomic_fetch_add(&d->next_seq, 1);
	clock_gettime(CLOCK_REALTIME, &rec.time);
	rec.source = src;
	rec.message_id = msg->id;
	rec.inst = inst;
	rec.filters = NULL;
	rec.nfilters = 0;

	router_route(d->router, &rec, rt);
	rec.filters = rt->filters;
	rec.nfilters = rt->nfilters;
	if (rt->nsinks == 0) {
		atomic_fetch_add(&d->unrouted, 1);
		return 0;
	}

	out = render_buf();
	record_json(&rec, out);
	line = sink_line_new(rec.seq, out->data, out->len);
	for (i = 0; i < rt->nsinks; i++)
		if (sink_enqueue(d->sinks[rt->sinks[i]], line) != 0)
			rc = -1;
	sink_line_unref(line);
	return rc;
}

int
dispatch_accept(struct dispatch *d, const struct cimxml_message *msg,
    const struct record_source *src, const char **cause)
{
	struct route *rt;
	size_t i;
	int rc = 0;

	rt = route_new(d->router);
	for (i = 0; i < msg->nexports; i++) {
		if (dispatch_one(d, msg, msg->exports[i].indication, src,
		    rt) != 0)
			rc = -1;
	}
	route_free(rt);
	if (rc != 0) {
		atomic_fetch_add(&d->refused, 1);
		*cause = "a sink queue is full; retry later";
		return -1;
	}
	atomic_fetch_add(&d->indications, msg->nexports);
	return 0;
}

void
dispatch_get_stats(struct dispatch *d, struct dispatch_stats *st)
{
	st->indications = atomic_load(&d->indications);
	st->unrouted = atomic_load(&d->unrouted);
	st->refused = atomic_load(&d->refused);
}
