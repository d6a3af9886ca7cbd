/*
 * ratelimit.c: token buckets per sender address. The buckets live in a
 * fixed open-addressing table split in stripes, each with its own lock,
 * so concurrent requests from different senders rarely meet. When a
 * stripe is full, the bucket seen longest ago is reused: a sender that
 * was forgotten starts again with a full bucket, which errs on letting
 * requests in.
 */
#include "autoconf.h"

#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ratelimit.h"
#include "xmalloc.h"

#define RL_STRIPES 16
#define RL_PER_STRIPE 256        /* senders remembered per stripe */

struct bucket {
	char addr[INET6_ADDRSTRLEN];
	double tokens;
	double last;             /* CLOCK_MONOTONIC seconds */
};

struct stripe {
	pthread_mutex_t lock;
	struct bucket b[RL_PER_STRIPE];
};

struct ratelimit {
	double rate;
	struct stripe s[RL_STRIPES];
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* FNV-1a. */
static uint32_t
hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

struct ratelimit *
ratelimit_new(unsigned rate)
{
	struct ratelimit *rl = xcalloc(1, sizeof *rl);
	size_t i;

	rl->rate = rate > 0 ? rate : 1;
	for (i = 0; i < RL_STRIPES; i++)
		pthread_mutex_init(&rl->s[i].lock, NULL);
	return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
	size_t i;

	if (rl == NULL)
		return;
	for (i = 0; i < RL_STRIPES; i++)
		pthread_mutex_destroy(&rl->s[i].lock);
	free(rl);
}

bool
ratelimit_take(struct ratelimit *rl, const char *addr, unsigned *retry_after)
{
	uint32_t h = hash(addr);
	struct stripe *st = &rl->s[h % RL_STRIPES];
	struct bucket *b = NULL, *oldest = NULL;
	double now = now_s(), wait;
	size_t i, k;
	bool ok;

	pthread_mutex_lock(&st->lock);
	for (i = 0; i < RL_PER_STRIPE; i++) {
		k = (h / RL_STRIPES + i) % RL_PER_STRIPE;
		if (st->b[k].addr[0] == '\0' ||
		    strcmp(st->b[k].addr, addr) == 0) {
			b = &st->b[k];
			break;
		}
		if (oldest == NULL || st->b[k].last < oldest->last)
			oldest = &st->b[k];
	}
	if (b == NULL)
		b = oldest;
	if (strcmp(b->addr, addr) != 0) {
		snprintf(b->addr, sizeof b->addr, "%s", addr);
		b->tokens = rl->rate;
		b->last = now;
	}
	b->tokens += (now - b->last) * rl->rate;
	if (b->tokens > rl->rate)
		b->tokens = rl->rate;
	b->last = now;
	ok = b->tokens >= 1;
	if (ok)
		b->tokens -= 1;
	else {
		wait = (1 - b->tokens) / rl->rate;
		*retry_after = wait < 1 ? 1 : (unsigned)(wait + 0.999);
	}
	pthread_mutex_unlock(&st->lock);
	return ok;
}
