/*
 * log.c: the daemon's own diagnostics, in the manner of OpenBSD's log.c.
 * Lines go to stderr (with a level prefix) in the foreground and to syslog
 * otherwise; messages above the configured level are dropped early.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "log.h"

static atomic_int log_level = LOG_INFO;
static bool log_stderr = true;
static const char *log_ident = "cimlistend";

static const char *const level_names[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"
};

void
log_init(int level, bool to_stderr, const char *ident)
{
	log_level = level;
	log_stderr = to_stderr;
	log_ident = ident;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_level(int level)
{
	log_level = level;
}

int
log_get_level(void)
{
	return log_level;
}

int
log_level_parse(const char *name)
{
	int i;

	for (i = LOG_CRIT; i <= LOG_DEBUG; i++)
		if (strcasecmp(name, level_names[i]) == 0)
			return i;
	if (strcasecmp(name, "error") == 0)
		return LOG_ERR;
	if (strcasecmp(name, "warn") == 0)
		return LOG_WARNING;
	return -1;
}

const char *
log_level_name(int level)
{
	if (level < 0 || level > LOG_DEBUG)
		return "?";
	return level_names[level];
}

void
log_vmsg(int pri, const char *fmt, va_list ap)
{
	char line[2048];
	int saved = errno;

	if (pri > log_level)
		return;
	vsnprintf(line, sizeof line, fmt, ap);
	if (log_stderr)
		fprintf(stderr, "%s: %s: %s\n", log_ident, level_names[pri], line);
	else
		syslog(pri, "%s", line);
	errno = saved;
}

void
log_msg(int pri, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(pri, fmt, ap);
	va_end(ap);
}

/* Log at `pri` with ": strerror(errno)" appended. */
static void
log_verrno(int pri, const char *fmt, va_list ap)
{
	char buf[1536];
	int saved = errno;

	vsnprintf(buf, sizeof buf, fmt, ap);
	log_msg(pri, "%s: %s", buf, strerror(saved));
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_verrno(LOG_WARNING, fmt, ap);
	va_end(ap);
}

#define LOG_FN(name, pri)                  \
	void name(const char *fmt, ...)    \
	{                                  \
		va_list ap;                \
		va_start(ap, fmt);         \
		log_vmsg(pri, fmt, ap);    \
		va_end(ap);                \
	}
LOG_FN(log_warnx, LOG_WARNING)
LOG_FN(log_notice, LOG_NOTICE)
LOG_FN(log_info, LOG_INFO)
LOG_FN(log_debug, LOG_DEBUG)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_verrno(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}

void
log_limited(struct log_ratelimit *rl, int pri, const char *fmt, ...)
{
	struct timespec now;
	unsigned long suppressed = 0;
	double elapsed;
	bool pass;
	char line[1536];
	va_list ap;

	if (pri > log_level)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&rl->lock);
	elapsed = (now.tv_sec - rl->last.tv_sec) +
	    (now.tv_nsec - rl->last.tv_nsec) / 1e9;
	rl->last = now;
	rl->tokens += elapsed * rl->per_sec;
	if (rl->tokens > rl->burst)
		rl->tokens = rl->burst;
	pass = rl->tokens >= 1.0;
	if (pass) {
		rl->tokens -= 1.0;
		suppressed = rl->suppressed;
		rl->suppressed = 0;
	} else
		rl->suppressed++;
	pthread_mutex_unlock(&rl->lock);
	if (!pass)
		return;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (suppressed > 0)
		log_msg(pri, "%s (%lu similar messages suppressed)", line,
		    suppressed);
	else
		log_msg(pri, "%s", line);
}

char *
log_sanitize(char *out, size_t outsz, const char *in, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;
	unsigned char c;

	if (outsz == 0)
		return out;
	for (i = 0; i < len && o + 5 < outsz; i++) {
		c = (unsigned char)in[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			out[o++] = (char)c;
			continue;
		}
		out[o++] = '\\';
		out[o++] = 'x';
		out[o++] = hex[c >> 4];
		out[o++] = hex[c & 15];
	}
	if (i < len && o + 3 < outsz) {
		out[o++] = '.';
		out[o++] = '.';
		out[o++] = '.';
	}
	out[o] = '\0';
	return out;
}
