/*
 * metrics.h: Prometheus metrics over HTTP ([metrics] listen; metrics.c).
 */
#ifndef CL_METRICS_H
#define CL_METRICS_H

struct buf;
struct control_state;
struct metrics;

/* Listen on conf->metrics.listen and serve; NULL with *cause. */
struct metrics *metrics_start(const struct control_state *, char **cause);
void metrics_stop(struct metrics *);
/* Append the exposition text (tests). */
void metrics_render(const struct control_state *, struct buf *);

#endif
