/*
 * The daemon's own diagnostics (not the syslog sink): to stderr in the
 * foreground, to syslog otherwise, filtered by log_level. log_warn adds
 * strerror(errno), log_warnx does not; fatal/fatalx log and exit(1) and are
 * for start-up and can't-happen conditions only. Thread-safe.
 */
#ifndef CL_LOG_H
#define CL_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <pthread.h>

/* Levels are syslog priorities: LOG_ERR .. LOG_DEBUG. */
void log_init(int level, bool to_stderr, const char *ident);
void log_set_level(int level);
int log_get_level(void);
/* Parse "debug|info|notice|warning|err|crit"; -1 if unknown. */
int log_level_parse(const char *name);
const char *log_level_name(int level);

void log_msg(int pri, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(int pri, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * A token bucket for messages caused by the network: at most `burst` lines,
 * refilled at `per_sec` a second; suppressed lines are counted and reported
 * with the next line that gets through.
 */
struct log_ratelimit {
	pthread_mutex_t lock;
	double tokens;
	double per_sec;
	double burst;
	struct timespec last;
	unsigned long suppressed;
};
#define LOG_RATELIMIT_INIT(per_sec, burst) \
	{ PTHREAD_MUTEX_INITIALIZER, (burst), (per_sec), (burst), { 0, 0 }, 0 }
void log_limited(struct log_ratelimit *, int pri, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Copy at most `max` bytes of untrusted text into `out` (size `outsz`),
 * replacing control characters, non-ASCII bytes and quotes with \xNN so a
 * log line stays one printable line. Returns out.
 */
char *log_sanitize(char *out, size_t outsz, const char *in, size_t len);

#endif
