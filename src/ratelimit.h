/*
 * ratelimit.h: the per-source rate limit of the listener (rate_limit):
 * a token bucket per sender address, refilled at `rate` requests a second
 * with room for `rate` at once, so a sender that storms is answered 503 +
 * Retry-After and retries later instead of drowning the others.
 */
#ifndef CL_RATELIMIT_H
#define CL_RATELIMIT_H

#include <stdbool.h>

struct ratelimit;

/* A limiter of `rate` requests a second per address (rate > 0). */
struct ratelimit *ratelimit_new(unsigned rate);
void ratelimit_free(struct ratelimit *);
/*
 * Take one request for addr: true if within the limit; false with
 * *retry_after (seconds, at least 1) until a request would be let in.
 * Thread-safe; addresses share one of a few locks by hash.
 */
bool ratelimit_take(struct ratelimit *, const char *addr,
    unsigned *retry_after);

#endif
