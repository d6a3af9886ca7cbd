/*
 * seqtrack.c: reliable-indication tracking (DSP1054), see seqtrack.h.
 *
 * One hash table of tracks keyed by (address, context), one of sources
 * keyed by address, both with a fixed number of buckets chosen from
 * max_keys (the tables never grow past it). Every track is on two LRU
 * lists, the global one and its source's, oldest first; a commit moves it
 * to the end of both. A track's window is a ring of bits: number n lives at
 * bit n % window while highest - window < n <= highest, and the bits
 * between the old and the new highest are cleared when it advances.
 * Logging happens after the mutex is released.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "cim.h"
#include "log.h"
#include "seqtrack.h"
#include "xmalloc.h"

#define SEQTRACK_MAX_WINDOW (1U << 24)

struct source;

struct track {
	struct track *hnext;          /* hash chain */
	struct track *lprev, *lnext;  /* global LRU, oldest first */
	struct track *sprev, *snext;  /* its source's LRU, oldest first */
	struct source *src;
	uint64_t hash;
	char *context;
	uint64_t highest;
	time_t last_seen;
	uint64_t tracked, duplicates, raced, gaps, missing, out_of_order;
	uint64_t restarts;
	uint64_t bits[];              /* window / 64 words */
};

struct source {
	struct source *hnext;
	uint64_t hash;
	struct track *first, *last;   /* its tracks, oldest first */
	size_t ntracks;
	char addr[];
};

struct seqtrack {
	pthread_mutex_t lock;
	unsigned window;
	size_t words;
	size_t max_keys;
	size_t max_contexts;
	size_t mask;                  /* buckets - 1 */
	struct track **tracks;
	struct source **sources;
	struct track *first, *last;   /* global LRU, oldest first */
	struct seqtrack_stats stats;
	struct log_ratelimit rl;
};

/* What a commit did to a track, for the caller's counting and logging. */
enum outcome {
	OUT_NONE,
	OUT_FIRST,
	OUT_IN_ORDER,
	OUT_GAP,
	OUT_LATE,
	OUT_SEEN,
	OUT_RESTART,
};

static const struct log_ratelimit rl_init = LOG_RATELIMIT_INIT(5, 20);

/* FNV-1a over a NUL-terminated string, the NUL included. */
static uint64_t
hash_str(uint64_t h, const char *s)
{
	do {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	} while (*s++ != '\0');
	return h;
}

static uint64_t
hash_addr(const char *addr)
{
	return hash_str(0xcbf29ce484222325ULL, addr);
}

static uint64_t
hash_key(const char *addr, const char *context)
{
	return hash_str(hash_addr(addr), context);
}

struct seqtrack *
seqtrack_new(const struct seqtrack_params *p)
{
	struct seqtrack *st;
	size_t n;

	st = xcalloc(1, sizeof *st);
	pthread_mutex_init(&st->lock, NULL);
	st->rl = rl_init;
	st->window = SEQTRACK_DEFAULT_WINDOW;
	st->max_keys = SEQTRACK_DEFAULT_MAX_KEYS;
	st->max_contexts = SEQTRACK_DEFAULT_MAX_CONTEXTS;
	if (p != NULL) {
		if (p->window != 0)
			st->window = p->window;
		if (p->max_keys != 0)
			st->max_keys = p->max_keys;
		if (p->max_contexts != 0)
			st->max_contexts = p->max_contexts;
	}
	if (st->window > SEQTRACK_MAX_WINDOW)
		st->window = SEQTRACK_MAX_WINDOW;
	st->window = (st->window + 63) & ~63U;
	st->words = st->window / 64;

	for (n = 16; n < st->max_keys && n < ((size_t)1 << 20); n <<= 1)
		/* nothing */;
	st->mask = n - 1;
	st->tracks = xcalloc(n, sizeof *st->tracks);
	st->sources = xcalloc(n, sizeof *st->sources);
	return st;
}

void
seqtrack_free(struct seqtrack *st)
{
	struct track *t, *tnext;
	struct source *s, *snext;
	size_t i;

	if (st == NULL)
		return;
	for (t = st->first; t != NULL; t = tnext) {
		tnext = t->lnext;
		free(t->context);
		free(t);
	}
	for (i = 0; i <= st->mask; i++) {
		for (s = st->sources[i]; s != NULL; s = snext) {
			snext = s->hnext;
			free(s);
		}
	}
	free(st->tracks);
	free(st->sources);
	pthread_mutex_destroy(&st->lock);
	pthread_mutex_destroy(&st->rl.lock);
	free(st);
}

bool
seqtrack_key(const struct cim_instance *inst, const char **context,
    uint64_t *number)
{
	const struct cim_property *c, *n;
	const struct cim_value *v;
	size_t len;

	if (inst == NULL)
		return false;
	c = cim_instance_get(inst, "SequenceContext");
	if (c == NULL || c->type != CIM_STRING || c->array || c->null ||
	    c->count != 1 || c->values[0].null || c->values[0].v.str == NULL)
		return false;
	len = strlen(c->values[0].v.str);
	if (len == 0 || len > SEQTRACK_MAX_CONTEXT_LEN)
		return false;

	n = cim_instance_get(inst, "SequenceNumber");
	if (n == NULL || !cim_type_is_integer(n->type) || n->array ||
	    n->null || n->count != 1 || n->values[0].null)
		return false;
	v = &n->values[0];
	if (cim_type_is_signed(n->type)) {
		if (v->v.s < 0)
			return false;
		*number = (uint64_t)v->v.s;
	} else
		*number = v->v.u;
	*context = c->values[0].v.str;
	return true;
}

/* The track for (addr, context), or NULL. Lock held. */
static struct track *
find_track(struct seqtrack *st, uint64_t h, const char *addr,
    const char *context)
{
	struct track *t;

	for (t = st->tracks[h & st->mask]; t != NULL; t = t->hnext) {
		if (t->hash == h && strcmp(t->context, context) == 0 &&
		    strcmp(t->src->addr, addr) == 0)
			return t;
	}
	return NULL;
}

/* The source for addr, or NULL. Lock held. */
static struct source *
find_source(struct seqtrack *st, uint64_t h, const char *addr)
{
	struct source *s;

	for (s = st->sources[h & st->mask]; s != NULL; s = s->hnext) {
		if (s->hash == h && strcmp(s->addr, addr) == 0)
			return s;
	}
	return NULL;
}

/* Take t off both LRU lists. */
static void
lru_unlink(struct seqtrack *st, struct track *t)
{
	struct source *s = t->src;

	if (t->lprev != NULL)
		t->lprev->lnext = t->lnext;
	else
		st->first = t->lnext;
	if (t->lnext != NULL)
		t->lnext->lprev = t->lprev;
	else
		st->last = t->lprev;
	if (t->sprev != NULL)
		t->sprev->snext = t->snext;
	else
		s->first = t->snext;
	if (t->snext != NULL)
		t->snext->sprev = t->sprev;
	else
		s->last = t->sprev;
	t->lprev = t->lnext = t->sprev = t->snext = NULL;
}

/* Put t at the end (most recent) of both LRU lists. */
static void
lru_append(struct seqtrack *st, struct track *t)
{
	struct source *s = t->src;

	t->lprev = st->last;
	t->lnext = NULL;
	if (st->last != NULL)
		st->last->lnext = t;
	else
		st->first = t;
	st->last = t;
	t->sprev = s->last;
	t->snext = NULL;
	if (s->last != NULL)
		s->last->snext = t;
	else
		s->first = t;
	s->last = t;
}

/* Remove and free t, and its source if that was its last track. */
static void
evict(struct seqtrack *st, struct track *t, bool count)
{
	struct source *s = t->src, **sp;
	struct track **tp;

	for (tp = &st->tracks[t->hash & st->mask]; *tp != t; tp = &(*tp)->hnext)
		/* nothing */;
	*tp = t->hnext;
	lru_unlink(st, t);
	st->stats.keys--;
	if (count)
		st->stats.evicted++;
	if (--s->ntracks == 0) {
		for (sp = &st->sources[s->hash & st->mask]; *sp != s;
		    sp = &(*sp)->hnext)
			/* nothing */;
		*sp = s->hnext;
		st->stats.sources--;
		free(s);
	}
	free(t->context);
	free(t);
}

/* A new, empty track for (addr, context), evicting to stay in bounds. */
static struct track *
new_track(struct seqtrack *st, uint64_t h, const char *addr,
    const char *context, bool count)
{
	struct source *s;
	struct track *t;
	uint64_t sh = hash_addr(addr);
	size_t len;

	s = find_source(st, sh, addr);
	if (s != NULL && s->ntracks >= st->max_contexts)
		evict(st, s->first, count);
	else if (st->stats.keys >= st->max_keys)
		evict(st, st->first, count);
	s = find_source(st, sh, addr);
	if (s == NULL) {
		len = strlen(addr);
		s = xcalloc(1, sizeof *s + len + 1);
		memcpy(s->addr, addr, len + 1);
		s->hash = sh;
		s->hnext = st->sources[sh & st->mask];
		st->sources[sh & st->mask] = s;
		st->stats.sources++;
	}

	t = xcalloc(1, sizeof *t + st->words * sizeof t->bits[0]);
	t->context = xstrdup(context);
	t->hash = h;
	t->src = s;
	t->hnext = st->tracks[h & st->mask];
	st->tracks[h & st->mask] = t;
	s->ntracks++;
	st->stats.keys++;
	lru_append(st, t);
	return t;
}

static bool
bit_get(const struct seqtrack *st, const struct track *t, uint64_t n)
{
	uint64_t i = n % st->window;

	return (t->bits[i / 64] >> (i % 64)) & 1;
}

static void
bit_set(const struct seqtrack *st, struct track *t, uint64_t n)
{
	uint64_t i = n % st->window;

	t->bits[i / 64] |= (uint64_t)1 << (i % 64);
}

static void
bit_clear(const struct seqtrack *st, struct track *t, uint64_t n)
{
	uint64_t i = n % st->window;

	t->bits[i / 64] &= ~((uint64_t)1 << (i % 64));
}

/* Is n committed in t? Lock held. */
static bool
track_seen(const struct seqtrack *st, const struct track *t, uint64_t n)
{
	if (n > t->highest || t->highest - n >= st->window)
		return false;
	return bit_get(st, t, n);
}

/* Record n as seen in t; *gap gets the numbers jumped over. Lock held. */
static enum outcome
track_add(struct seqtrack *st, struct track *t, uint64_t n, uint64_t *gap)
{
	uint64_t d, i;

	*gap = 0;
	if (n > t->highest) {
		d = n - t->highest;
		if (d >= st->window)
			memset(t->bits, 0, st->words * sizeof t->bits[0]);
		else {
			for (i = 1; i <= d; i++)
				bit_clear(st, t, t->highest + i);
		}
		t->highest = n;
		bit_set(st, t, n);
		*gap = d - 1;
		return d == 1 ? OUT_IN_ORDER : OUT_GAP;
	}
	if (t->highest - n >= st->window) {
		memset(t->bits, 0, st->words * sizeof t->bits[0]);
		t->highest = n;
		bit_set(st, t, n);
		return OUT_RESTART;
	}
	if (bit_get(st, t, n))
		return OUT_SEEN;
	bit_set(st, t, n);
	return OUT_LATE;
}

enum seqtrack_verdict
seqtrack_check(struct seqtrack *st, const char *addr,
    const struct cim_instance *inst)
{
	const char *context;
	uint64_t number, h;
	struct track *t;
	bool seen = false;

	if (addr == NULL || !seqtrack_key(inst, &context, &number))
		return SEQ_UNTRACKED;
	h = hash_key(addr, context);
	pthread_mutex_lock(&st->lock);
	t = find_track(st, h, addr, context);
	if (t != NULL)
		seen = track_seen(st, t, number);
	pthread_mutex_unlock(&st->lock);
	return seen ? SEQ_DUPLICATE : SEQ_NEW;
}

/*
 * Commit (or, with !count, restore) number for (addr, context). For a
 * duplicate only the counters and recency change.
 */
static void
commit_key(struct seqtrack *st, const char *addr, const char *context,
    uint64_t number, time_t when, bool duplicate, bool count)
{
	struct track *t;
	enum outcome out = OUT_NONE;
	uint64_t h, gap = 0, prev = 0;
	char caddr[128], cctx[256];

	h = hash_key(addr, context);
	pthread_mutex_lock(&st->lock);
	t = find_track(st, h, addr, context);
	if (duplicate) {
		if (count)
			st->stats.duplicates++;
		if (t != NULL) {
			if (count)
				t->duplicates++;
			t->last_seen = when;
			lru_unlink(st, t);
			lru_append(st, t);
		}
		pthread_mutex_unlock(&st->lock);
		return;
	}
	if (t == NULL) {
		t = new_track(st, h, addr, context, count);
		t->highest = number;
		bit_set(st, t, number);
		out = OUT_FIRST;
	} else {
		prev = t->highest;
		out = track_add(st, t, number, &gap);
		lru_unlink(st, t);
		lru_append(st, t);
	}
	t->last_seen = when;
	if (count) {
		switch (out) {
		case OUT_SEEN:
			t->raced++;
			st->stats.raced++;
			break;
		case OUT_GAP:
			t->gaps++;
			t->missing += gap;
			st->stats.gaps++;
			st->stats.missing += gap;
			break;
		case OUT_LATE:
			t->out_of_order++;
			st->stats.out_of_order++;
			break;
		case OUT_RESTART:
			t->restarts++;
			st->stats.restarts++;
			break;
		default:
			break;
		}
		if (out != OUT_SEEN) {
			t->tracked++;
			st->stats.tracked++;
		}
	}
	pthread_mutex_unlock(&st->lock);

	if (!count || (out != OUT_GAP && out != OUT_RESTART))
		return;
	log_sanitize(caddr, sizeof caddr, addr, strlen(addr));
	log_sanitize(cctx, sizeof cctx, context, strlen(context));
	if (out == OUT_GAP && gap == 1) {
		log_limited(&st->rl, LOG_NOTICE,
		    "source %s context %s: gap of 1 (number %llu missing)",
		    caddr, cctx, (unsigned long long)(prev + 1));
	} else if (out == OUT_GAP) {
		log_limited(&st->rl, LOG_NOTICE,
		    "source %s context %s: gap of %llu (numbers %llu..%llu "
		    "missing)", caddr, cctx, (unsigned long long)gap,
		    (unsigned long long)(prev + 1),
		    (unsigned long long)(number - 1));
	} else {
		log_limited(&st->rl, LOG_NOTICE,
		    "source %s context %s: SequenceNumber %llu far below %llu, "
		    "tracking starts over", caddr, cctx,
		    (unsigned long long)number, (unsigned long long)prev);
	}
}

void
seqtrack_commit(struct seqtrack *st, const char *addr,
    const struct cim_instance *inst, enum seqtrack_verdict checked)
{
	const char *context;
	uint64_t number;

	if (checked == SEQ_UNTRACKED || addr == NULL ||
	    !seqtrack_key(inst, &context, &number)) {
		pthread_mutex_lock(&st->lock);
		st->stats.untracked++;
		pthread_mutex_unlock(&st->lock);
		return;
	}
	commit_key(st, addr, context, number, time(NULL),
	    checked == SEQ_DUPLICATE, true);
}

void
seqtrack_restore(struct seqtrack *st, const char *addr,
    const struct cim_instance *inst, time_t when)
{
	const char *context;
	uint64_t number;

	if (addr == NULL || !seqtrack_key(inst, &context, &number))
		return;
	seqtrack_restore_key(st, addr, context, number, when);
}

void
seqtrack_restore_key(struct seqtrack *st, const char *addr,
    const char *context, uint64_t number, time_t when)
{
	if (addr == NULL || context == NULL || *context == '\0' ||
	    strlen(context) > SEQTRACK_MAX_CONTEXT_LEN)
		return;
	commit_key(st, addr, context, number, when != 0 ? when : time(NULL),
	    false, false);
}

void
seqtrack_get_stats(struct seqtrack *st, struct seqtrack_stats *out)
{
	pthread_mutex_lock(&st->lock);
	*out = st->stats;
	pthread_mutex_unlock(&st->lock);
}

/* qsort order of snapshot entries: address, then context. */
static int
source_cmp(const void *a, const void *b)
{
	const struct seqtrack_source *x = a, *y = b;
	int c;

	if ((c = strcmp(x->addr, y->addr)) != 0)
		return c;
	return strcmp(x->context, y->context);
}

size_t
seqtrack_snapshot(struct seqtrack *st, struct seqtrack_source **out)
{
	struct seqtrack_source *v, *e;
	struct track *t;
	size_t n, size, len;
	char *p;

	*out = NULL;
	pthread_mutex_lock(&st->lock);
	n = st->stats.keys;
	if (n == 0) {
		pthread_mutex_unlock(&st->lock);
		return 0;
	}
	size = n * sizeof *v;
	for (t = st->first; t != NULL; t = t->lnext)
		size += strlen(t->src->addr) + strlen(t->context) + 2;
	v = xmalloc(size);
	p = (char *)(v + n);
	for (t = st->first, e = v; t != NULL; t = t->lnext, e++) {
		len = strlen(t->src->addr) + 1;
		memcpy(p, t->src->addr, len);
		e->addr = p;
		p += len;
		len = strlen(t->context) + 1;
		memcpy(p, t->context, len);
		e->context = p;
		p += len;
		e->last = t->highest;
		e->last_seen = t->last_seen;
		e->tracked = t->tracked;
		e->duplicates = t->duplicates;
		e->raced = t->raced;
		e->gaps = t->gaps;
		e->missing = t->missing;
		e->out_of_order = t->out_of_order;
		e->restarts = t->restarts;
	}
	pthread_mutex_unlock(&st->lock);
	qsort(v, n, sizeof *v, source_cmp);
	*out = v;
	return n;
}
