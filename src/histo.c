/*
 * histo.c: fixed-bucket latency histograms.
 */
#include "autoconf.h"

#include "histo.h"

/* 100 us to 60 s, roughly 1-2.5-5 per decade. */
const uint64_t histo_bounds_us[HISTO_BOUNDS] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000,
	250000, 500000, 1000000, 5000000, 10000000, 60000000,
};

void
histo_add(struct histo *h, uint64_t us)
{
	unsigned i;

	for (i = 0; i < HISTO_BOUNDS && us > histo_bounds_us[i]; i++)
		continue;
	atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_us, us, memory_order_relaxed);
}

void
histo_get(struct histo *h, struct histo_snapshot *s)
{
	uint64_t run = 0;
	unsigned i;

	for (i = 0; i <= HISTO_BOUNDS; i++) {
		run += atomic_load_explicit(&h->bucket[i],
		    memory_order_relaxed);
		s->cumulative[i] = run;
	}
	s->count = run;
	s->sum_us = atomic_load_explicit(&h->sum_us, memory_order_relaxed);
}

uint64_t
histo_quantile(const struct histo_snapshot *s, double q)
{
	uint64_t want;
	unsigned i;

	if (s->count == 0)
		return 0;
	want = (uint64_t)(q * (double)s->count + 0.5);
	if (want == 0)
		want = 1;
	for (i = 0; i < HISTO_BOUNDS; i++)
		if (s->cumulative[i] >= want)
			return histo_bounds_us[i];
	return histo_bounds_us[HISTO_BOUNDS - 1];
}
