/*
 * histo.h: latency histograms with fixed bucket bounds, updated lock-free
 * from any thread (receive-to-acknowledge per request, receive-to-delivered
 * per sink), read as a snapshot for stats and /metrics.
 */
#ifndef CL_HISTO_H
#define CL_HISTO_H

#include <stdatomic.h>
#include <stdint.h>

/* Upper bounds of the buckets in microseconds; a last bucket is +Inf. */
#define HISTO_BOUNDS 16
extern const uint64_t histo_bounds_us[HISTO_BOUNDS];

struct histo {
	atomic_uint_fast64_t bucket[HISTO_BOUNDS + 1]; /* not cumulative */
	atomic_uint_fast64_t sum_us;
};

struct histo_snapshot {
	uint64_t cumulative[HISTO_BOUNDS + 1]; /* <= bound i; last: all */
	uint64_t count;
	uint64_t sum_us;
};

/* Add one observation of `us` microseconds. */
void histo_add(struct histo *, uint64_t us);
void histo_get(struct histo *, struct histo_snapshot *);
/* An estimate of quantile q (0..1) in microseconds (bucket upper bound). */
uint64_t histo_quantile(const struct histo_snapshot *, double q);

#endif
