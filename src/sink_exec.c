/*
 * sink_exec.c: `type = exec` sinks run a command once for each record,
 * with the record on its standard input (the JSON line, or the sink's
 * format and a newline) and CIM_CLASS, CIM_SEQ, CIM_SEVERITY (syslog level
 * name) and CIM_SOURCE (sender address) added to the daemon's environment.
 * The command is split into words without a shell (single and double
 * quotes, backslash; no expansion) and looked up in PATH, or given to
 * /bin/sh -c with `shell = yes`.
 *
 * A batch runs up to `concurrency` commands at once, in seq order; the
 * delivered prefix is what deliver reports. A record whose command
 * succeeded after one that failed is remembered (by seq) and not run again
 * when the retry brings it back, unless the daemon restarts meanwhile.
 * Exit status 0 is success; another status, a signal, failing to start or
 * running past `timeout` (SIGTERM to the command's process group, SIGKILL a
 * second later) is SINK_RETRY with a cause, and sink.c backs off. Once a
 * command failed, no more of the batch are started.
 *
 * Children are started with posix_spawn (no code runs in the child
 * between fork and exec), each in its own process group, with an empty
 * signal mask and default dispositions, and only the three pipes as open
 * descriptors (O_CLOEXEC everywhere else). No SIGCHLD handler: the writer
 * polls the pipes, a pidfd when the kernel has them, and a short tick, and
 * reaps with waitpid(WNOHANG); every child is reaped before deliver
 * returns. When a stop's deadline passes the running commands are killed
 * and reaped, so a hanging command delays only this sink's writer thread
 * and the shutdown by no more than its deadline. stdout and stderr lines
 * go to the daemon log (info and warning) with the sink name and seq, at
 * most EXEC_LOG_PER_SEC lines a second per sink; the rest are counted and
 * the count logged. Writing to a command that does not read its input is
 * not an error (EPIPE; SIGPIPE is blocked and consumed around the write, so
 * it cannot kill the daemon whatever its disposition).
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "format.h"
#include "log.h"
#include "sink.h"
#include "xmalloc.h"

extern char **environ;

#define EXEC_TICK_MS 100          /* longest poll: stop checks, no pidfd */
#define EXEC_KILL_GRACE_MS 1000   /* SIGTERM to SIGKILL */
#define EXEC_DEFAULT_TIMEOUT 10
#define EXEC_LOG_PER_SEC 20       /* output lines logged a second */
#define EXEC_LINE_MAX 512         /* longer output lines are cut */

/* One of stdout, stderr of a child. */
struct exec_stream {
	int fd;                      /* read end, -1 when closed */
	struct buf line;             /* partial line */
};

/* A running command. */
struct exec_kid {
	bool busy;
	size_t idx;                  /* in the batch */
	uint64_t seq;
	pid_t pid;
	int pidfd;                   /* -1 without */
	int in;                      /* write end of stdin, -1 when closed */
	const char *data;            /* what goes to stdin */
	size_t len, off;
	struct buf input;            /* rendered record (not json) */
	struct exec_stream out[2];   /* stdout, stderr */
	struct timespec term_at;     /* end of timeout */
	struct timespec kill_at;     /* SIGKILL after SIGTERM */
	bool timed_out, killed, stopped;
	bool lost;                   /* reaped by someone else */
};

/* The outcome of one record of a batch. */
struct exec_result {
	bool ok;
	bool failed;
	char *cause;
};

struct exec_sink {
	char **argv;                 /* split command; NULL with shell */
	char *what;                  /* the command, for messages */
	unsigned concurrency;
	unsigned timeout;            /* seconds */
	struct format_ctx *fmt;
	struct exec_kid *kids;       /* concurrency slots */
	uint64_t *ahead;             /* seqs delivered past a failure */
	size_t nahead, aheadcap;
	/* Output lines logged in the current second, and suppressed. */
	struct timespec log_window;
	unsigned log_lines;
	unsigned long log_suppressed;
};

static void
now_mono(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

static void
ts_add_ms(struct timespec *ts, uint64_t ms)
{
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Milliseconds from a to b, 0 if b is not later. */
static int64_t
ts_ms_until(const struct timespec *a, const struct timespec *b)
{
	int64_t ms;

	ms = (int64_t)(b->tv_sec - a->tv_sec) * 1000 +
	    (b->tv_nsec - a->tv_nsec) / 1000000;
	return ms > 0 ? ms : 0;
}

static bool
ts_reached(const struct timespec *now, const struct timespec *t)
{
	return now->tv_sec > t->tv_sec ||
	    (now->tv_sec == t->tv_sec && now->tv_nsec >= t->tv_nsec);
}

static void
exec_free_argv(char **argv)
{
	size_t i;

	if (argv == NULL)
		return;
	for (i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

/*
 * Split a command into words as the shell would, without expansion:
 * blanks separate words; '...' is literal; in "..." a backslash quotes
 * only $ ` " \ and newline; elsewhere a backslash quotes the next byte
 * (backslash-newline vanishes). Returns a NULL-terminated vector, or NULL
 * with *cause for an unclosed quote, a final backslash or no words.
 */
static char **
exec_split(const char *cmd, char **cause)
{
	struct buf w = BUF_INIT;
	char **argv = NULL;
	size_t argc = 0;
	const char *p = cmd;
	bool inword = false;
	char q;

	for (;;) {
		if (*p == '\0' || *p == ' ' || *p == '\t' || *p == '\n') {
			if (inword) {
				argv = xreallocarray(argv, argc + 2,
				    sizeof *argv);
				argv[argc++] = buf_steal(&w, NULL);
				argv[argc] = NULL;
				inword = false;
			}
			if (*p == '\0')
				break;
			p++;
			continue;
		}
		inword = true;
		if (*p == '\\') {
			if (p[1] == '\0')
				goto trailing;
			if (p[1] != '\n')
				buf_addc(&w, p[1]);
			p += 2;
			continue;
		}
		if (*p != '\'' && *p != '"') {
			buf_addc(&w, *p++);
			continue;
		}
		q = *p++;
		buf_adds(&w, ""); /* "" is a word */
		while (*p != q) {
			if (*p == '\0') {
				xasprintf(cause, "command has an unclosed %s "
				    "quote", q == '\'' ? "single" : "double");
				goto fail;
			}
			if (q == '"' && *p == '\\' && p[1] != '\0' &&
			    strchr("$`\"\\\n", p[1]) != NULL) {
				if (p[1] != '\n')
					buf_addc(&w, p[1]);
				p += 2;
				continue;
			}
			buf_addc(&w, *p++);
		}
		p++;
	}
	if (argc == 0) {
		*cause = xstrdup("command is empty");
		goto fail;
	}
	return argv;

trailing:
	*cause = xstrdup("command ends with a backslash");
fail:
	buf_free(&w);
	exec_free_argv(argv);
	return NULL;
}

static int
exec_open(struct sink *s, char **cause)
{
	const struct sink_conf *c = sink_conf(s);
	struct exec_sink *es;
	char **argv = NULL;
	unsigned i;

	if (c->command == NULL || *c->command == '\0') {
		*cause = xstrdup("no command");
		return -1;
	}
	if (!c->shell && (argv = exec_split(c->command, cause)) == NULL)
		return -1;
	es = xcalloc(1, sizeof *es);
	es->argv = argv;
	xasprintf(&es->what, "\"%s\"", c->command);
	es->concurrency = c->concurrency > 0 ? c->concurrency : 1;
	es->timeout = c->timeout > 0 ? c->timeout : EXEC_DEFAULT_TIMEOUT;
	es->fmt = format_ctx_new(c);
	es->kids = xcalloc(es->concurrency, sizeof *es->kids);
	for (i = 0; i < es->concurrency; i++) {
		es->kids[i].in = es->kids[i].pidfd = -1;
		es->kids[i].out[0].fd = es->kids[i].out[1].fd = -1;
	}
	sink_set_priv(s, es);
	return 0;
}

/* Note how many output lines the rate limit held back, if any. */
static void
exec_log_flush(struct sink *s, struct exec_sink *es)
{
	if (es->log_suppressed == 0)
		return;
	log_warnx("sink %s: %lu lines of command output suppressed (more "
	    "than %u a second)", sink_name(s), es->log_suppressed,
	    EXEC_LOG_PER_SEC);
	es->log_suppressed = 0;
}

/* Log one line of a command's output, rate-limited per sink. */
static void
exec_log_line(struct sink *s, struct exec_kid *k, int which,
    const char *text, size_t len)
{
	struct exec_sink *es = sink_priv(s);
	struct timespec now;
	char clean[EXEC_LINE_MAX * 4 + 1];

	now_mono(&now);
	if (now.tv_sec != es->log_window.tv_sec) {
		exec_log_flush(s, es);
		es->log_window = now;
		es->log_lines = 0;
	}
	if (es->log_lines >= EXEC_LOG_PER_SEC) {
		es->log_suppressed++;
		return;
	}
	es->log_lines++;
	while (len > 0 && text[len - 1] == '\r')
		len--;
	log_sanitize(clean, sizeof clean, text, len);
	log_msg(which == 0 ? LOG_INFO : LOG_WARNING, "sink %s: record %llu: "
	    "%s: %s", sink_name(s), (unsigned long long)k->seq,
	    which == 0 ? "stdout" : "stderr", clean);
}

/* Take bytes a command wrote; log complete (or overlong) lines. */
static void
exec_output(struct sink *s, struct exec_kid *k, int which, const char *p,
    size_t n)
{
	struct buf *b = &k->out[which].line;
	const char *nl;
	size_t take;

	while (n > 0) {
		nl = memchr(p, '\n', n);
		take = nl != NULL ? (size_t)(nl - p) : n;
		if (b->len + take >= EXEC_LINE_MAX)
			take = EXEC_LINE_MAX - b->len;
		buf_add(b, p, take);
		p += take;
		n -= take;
		if (n > 0 && *p == '\n') {
			p++;
			n--;
		} else if (b->len < EXEC_LINE_MAX)
			break;
		exec_log_line(s, k, which, b->data, b->len);
		buf_reset(b);
	}
}

/* Read what a stream has; close it at EOF or error. */
static void
exec_read(struct sink *s, struct exec_kid *k, int which, bool drain)
{
	struct exec_stream *st = &k->out[which];
	char tmp[4096];
	ssize_t r;

	while (st->fd != -1) {
		r = read(st->fd, tmp, sizeof tmp);
		if (r > 0) {
			exec_output(s, k, which, tmp, (size_t)r);
			if (!drain)
				break;
			continue;
		}
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && errno == EAGAIN && !drain)
			break;
		/* EOF, error, or drained after the child exited. */
		close(st->fd);
		st->fd = -1;
		if (st->line.len > 0)
			exec_log_line(s, k, which, st->line.data,
			    st->line.len);
		buf_reset(&st->line);
	}
}

/*
 * write(2) to a pipe without risking SIGPIPE: the signal is blocked for
 * the call and, if the write raised it, consumed. Retries EINTR.
 */
static ssize_t
exec_write(int fd, const void *p, size_t len)
{
	struct timespec zero = { 0, 0 };
	sigset_t set, old, pending;
	bool was_pending;
	ssize_t r;
	int error;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	do
		r = write(fd, p, len);
	while (r == -1 && errno == EINTR);
	error = errno;
	if (r == -1 && error == EPIPE && !was_pending) {
		while (sigtimedwait(&set, NULL, &zero) == -1 &&
		    errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = error;
	return r;
}

/* Feed a command its input; close stdin when all is out or it left. */
static void
exec_feed(struct exec_kid *k)
{
	ssize_t r;

	while (k->in != -1 && k->off < k->len) {
		r = exec_write(k->in, k->data + k->off, k->len - k->off);
		if (r > 0) {
			k->off += (size_t)r;
			continue;
		}
		if (r == -1 && errno == EAGAIN)
			return;
		/* EPIPE: the command does not want (the rest of) it. */
		break;
	}
	if (k->in != -1) {
		close(k->in);
		k->in = -1;
	}
}

/*
 * The environment of a command: the daemon's without any CIM_CLASS,
 * CIM_SEQ, CIM_SEVERITY, CIM_SOURCE, then those four (own[0..4), which
 * the caller frees with the vector).
 */
static char **
exec_env(const struct record *rec, uint64_t seq, const char *sev,
    char **own)
{
	static const char *const names[] = { "CIM_CLASS=", "CIM_SEQ=",
	    "CIM_SEVERITY=", "CIM_SOURCE=" };
	char **env;
	size_t n = 0, i, j, k = 0;

	while (environ != NULL && environ[n] != NULL)
		n++;
	env = xreallocarray(NULL, n + 5, sizeof *env);
	for (i = 0; i < n; i++) {
		for (j = 0; j < 4; j++)
			if (strncmp(environ[i], names[j],
			    strlen(names[j])) == 0)
				break;
		if (j == 4)
			env[k++] = environ[i];
	}
	xasprintf(&own[0], "CIM_CLASS=%s", rec != NULL && rec->inst != NULL &&
	    rec->inst->classname != NULL ? rec->inst->classname : "");
	xasprintf(&own[1], "CIM_SEQ=%llu", (unsigned long long)seq);
	xasprintf(&own[2], "CIM_SEVERITY=%s", sev);
	xasprintf(&own[3], "CIM_SOURCE=%s", rec != NULL &&
	    rec->source != NULL ? rec->source->addr : "");
	for (j = 0; j < 4; j++)
		env[k++] = own[j];
	env[k] = NULL;
	return env;
}

/* Close whatever of a pipe pair is open. */
static void
exec_close_pair(int *p)
{
	if (p[0] != -1)
		close(p[0]);
	if (p[1] != -1)
		close(p[1]);
	p[0] = p[1] = -1;
}

static int
exec_nonblock(int fd)
{
	int flags;

	if ((flags = fcntl(fd, F_GETFL)) == -1)
		return -1;
	return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/*
 * Start the command for one record in slot k. -1 with *cause if it could
 * not be started (nothing is left running or open then).
 */
static int
exec_spawn(struct sink *s, struct exec_sink *es, struct exec_kid *k,
    const struct sink_line *line, size_t idx, char **cause)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(1, 5);
	const struct sink_conf *c = sink_conf(s);
	const struct record *rec;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t set;
	char *own[4], **env, *dcause = NULL;
	char *shargv[] = { (char *)"sh", (char *)"-c", c->command, NULL };
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int error, j;
	pid_t pid;

	rec = format_decode(es->fmt, line->data, line->len, &dcause);
	if (rec == NULL) {
		log_limited(&rl, LOG_WARNING, "sink %s: record %llu is given "
		    "as its JSON line: %s", sink_name(s),
		    (unsigned long long)line->seq, dcause);
		free(dcause);
	}
	buf_reset(&k->input);
	if (c->format == SINK_FORMAT_JSON || rec == NULL) {
		k->data = line->data;
		k->len = line->len;
	} else {
		format_ctx_render(es->fmt, line->data, line->len, rec,
		    &k->input);
		buf_addc(&k->input, '\n');
		k->data = k->input.data;
		k->len = k->input.len;
	}
	k->off = 0;

	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1 ||
	    pipe2(err, O_CLOEXEC) == -1 || exec_nonblock(in[1]) == -1 ||
	    exec_nonblock(out[0]) == -1 || exec_nonblock(err[0]) == -1) {
		xasprintf(cause, "cannot run %s: pipe: %s", es->what,
		    strerror(errno));
		exec_close_pair(in);
		exec_close_pair(out);
		exec_close_pair(err);
		return -1;
	}

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&attr, 0);
	sigemptyset(&set);
	posix_spawnattr_setsigmask(&attr, &set);
	sigfillset(&set);
	sigdelset(&set, SIGKILL);
	sigdelset(&set, SIGSTOP);
	posix_spawnattr_setsigdefault(&attr, &set);

	env = exec_env(rec, line->seq, format_level_name(rec != NULL ?
	    format_ctx_severity(es->fmt, rec) : LOG_NOTICE), own);
	if (es->argv != NULL)
		error = posix_spawnp(&pid, es->argv[0], &fa, &attr, es->argv,
		    env);
	else
		error = posix_spawn(&pid, "/bin/sh", &fa, &attr, shargv, env);
	for (j = 0; j < 4; j++)
		free(own[j]);
	free(env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(in[0]);
	close(out[1]);
	close(err[1]);
	if (error != 0) {
		close(in[1]);
		close(out[0]);
		close(err[0]);
		xasprintf(cause, "cannot run %s: %s", es->argv != NULL ?
		    es->argv[0] : "/bin/sh", strerror(error));
		return -1;
	}

	k->busy = true;
	k->idx = idx;
	k->seq = line->seq;
	k->pid = pid;
	k->in = in[1];
	k->out[0].fd = out[0];
	k->out[1].fd = err[0];
	k->timed_out = k->killed = k->stopped = k->lost = false;
#ifdef SYS_pidfd_open
	k->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (k->pidfd != -1)
		fcntl(k->pidfd, F_SETFD, FD_CLOEXEC);
#else
	k->pidfd = -1;
#endif
	now_mono(&k->term_at);
	ts_add_ms(&k->term_at, (uint64_t)es->timeout * 1000);
	if (k->len == 0)
		exec_feed(k);
	return 0;
}

/* Signal a command's process group (only while it is not reaped). */
static void
exec_kill(struct exec_kid *k, int sig)
{
	if (killpg(k->pid, sig) == -1 && errno == ESRCH)
		kill(k->pid, sig);
}

/*
 * A command has been reaped with `status`: read the rest of its output,
 * close its descriptors and record the outcome in r.
 */
static void
exec_finish(struct sink *s, struct exec_sink *es, struct exec_kid *k,
    int status, struct exec_result *r)
{
	int which;

	for (which = 0; which < 2; which++)
		exec_read(s, k, which, true);
	if (k->in != -1)
		close(k->in);
	if (k->pidfd != -1)
		close(k->pidfd);
	k->in = k->pidfd = -1;
	k->busy = false;

	if (k->lost)
		xasprintf(&r->cause, "command %s for record %llu: its status "
		    "is unknown (reaped elsewhere; is SIGCHLD ignored?)",
		    es->what, (unsigned long long)k->seq);
	else if (k->stopped)
		xasprintf(&r->cause, "command %s for record %llu killed: the "
		    "sink is stopping", es->what, (unsigned long long)k->seq);
	else if (k->timed_out)
		xasprintf(&r->cause, "command %s for record %llu killed after "
		    "the %us timeout", es->what, (unsigned long long)k->seq,
		    es->timeout);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		r->ok = true;
		return;
	} else if (WIFEXITED(status))
		xasprintf(&r->cause, "command %s for record %llu exited with "
		    "status %d%s", es->what, (unsigned long long)k->seq,
		    WEXITSTATUS(status), es->argv == NULL &&
		    WEXITSTATUS(status) == 127 ? " (command not found?)" : "");
	else
		xasprintf(&r->cause, "command %s for record %llu killed by "
		    "signal %d (%s)", es->what, (unsigned long long)k->seq,
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	r->failed = true;
}

/*
 * Kill every running command (SIGKILL to its group): a stop's deadline
 * passed, or the sink is closing.
 */
static void
exec_kill_all(struct exec_sink *es)
{
	unsigned i;

	for (i = 0; i < es->concurrency; i++) {
		if (!es->kids[i].busy || es->kids[i].killed)
			continue;
		exec_kill(&es->kids[i], SIGKILL);
		es->kids[i].killed = es->kids[i].stopped = true;
	}
}

/*
 * Wait a while (at most EXEC_TICK_MS) for the running commands: feed
 * their input, log their output, enforce the timeout and reap those that
 * ended into res[]. Returns how many were reaped.
 */
static unsigned
exec_wait(struct sink *s, struct exec_sink *es, struct exec_result *res)
{
	struct pollfd *pfd;
	struct {
		struct exec_kid *k;
		int what;   /* -1 stdin, 0 stdout, 1 stderr, 2 pidfd */
	} *map;
	struct exec_kid *k;
	struct timespec now;
	int64_t wait_ms = EXEC_TICK_MS, ms;
	unsigned i, np = 0, reaped = 0;
	int status, j;
	pid_t w;

	pfd = xreallocarray(NULL, (size_t)es->concurrency * 4, sizeof *pfd);
	map = xreallocarray(NULL, (size_t)es->concurrency * 4, sizeof *map);
	now_mono(&now);
	for (i = 0; i < es->concurrency; i++) {
		k = &es->kids[i];
		if (!k->busy)
			continue;
		if (k->in != -1) {
			pfd[np].fd = k->in;
			pfd[np].events = POLLOUT;
			map[np].k = k;
			map[np++].what = -1;
		}
		for (j = 0; j < 2; j++) {
			if (k->out[j].fd == -1)
				continue;
			pfd[np].fd = k->out[j].fd;
			pfd[np].events = POLLIN;
			map[np].k = k;
			map[np++].what = j;
		}
		if (k->pidfd != -1) {
			pfd[np].fd = k->pidfd;
			pfd[np].events = POLLIN;
			map[np].k = k;
			map[np++].what = 2;
		}
		ms = ts_ms_until(&now, k->timed_out ? &k->kill_at :
		    &k->term_at);
		if (!k->killed && ms < wait_ms)
			wait_ms = ms;
	}
	if (poll(pfd, np, (int)wait_ms) > 0) {
		for (i = 0; i < np; i++) {
			if (pfd[i].revents == 0)
				continue;
			if (map[i].what == -1)
				exec_feed(map[i].k);
			else if (map[i].what < 2)
				exec_read(s, map[i].k, map[i].what, false);
		}
	}
	free(pfd);
	free(map);

	now_mono(&now);
	for (i = 0; i < es->concurrency; i++) {
		k = &es->kids[i];
		if (!k->busy)
			continue;
		status = 0;
		do
			w = waitpid(k->pid, &status, WNOHANG);
		while (w == -1 && errno == EINTR);
		if (w == k->pid || (w == -1 && errno == ECHILD)) {
			/* ECHILD: reaped elsewhere (SIGCHLD ignored?). */
			k->lost = w == -1;
			exec_finish(s, es, k, status, &res[k->idx]);
			reaped++;
			continue;
		}
		if (k->killed)
			continue;
		if (!k->timed_out && ts_reached(&now, &k->term_at)) {
			log_debug("sink %s: command %s for record %llu still "
			    "running after %us; terminating it", sink_name(s),
			    es->what, (unsigned long long)k->seq,
			    es->timeout);
			exec_kill(k, SIGTERM);
			k->timed_out = true;
			k->kill_at = now;
			ts_add_ms(&k->kill_at, EXEC_KILL_GRACE_MS);
		} else if (k->timed_out && ts_reached(&now, &k->kill_at)) {
			exec_kill(k, SIGKILL);
			k->killed = true;
		}
	}
	return reaped;
}

/* Was the record with this seq delivered already (past a failure)? */
static bool
exec_ahead_has(struct exec_sink *es, uint64_t seq)
{
	size_t i;

	for (i = 0; i < es->nahead; i++)
		if (es->ahead[i] == seq)
			return true;
	return false;
}

static void
exec_ahead_add(struct exec_sink *es, uint64_t seq)
{
	if (exec_ahead_has(es, seq))
		return;
	if (es->nahead == es->aheadcap) {
		es->aheadcap = es->aheadcap == 0 ? 16 : es->aheadcap * 2;
		es->ahead = xreallocarray(es->ahead, es->aheadcap,
		    sizeof *es->ahead);
	}
	es->ahead[es->nahead++] = seq;
}

/* Forget remembered seqs below `first`: they are settled. */
static void
exec_ahead_prune(struct exec_sink *es, uint64_t first)
{
	size_t i, k = 0;

	for (i = 0; i < es->nahead; i++)
		if (es->ahead[i] >= first)
			es->ahead[k++] = es->ahead[i];
	es->nahead = k;
}

/* A free slot; there is one whenever fewer than concurrency run. */
static struct exec_kid *
exec_free_slot(struct exec_sink *es)
{
	unsigned i;

	for (i = 0; i < es->concurrency; i++)
		if (!es->kids[i].busy)
			return &es->kids[i];
	return NULL;
}

/*
 * Run the command for lines[0..n), up to concurrency at once, until all
 * ran, one failed (the running ones are waited for), or a stop's deadline
 * passed (the running ones are killed). *done is the delivered prefix.
 */
static enum sink_result
exec_deliver(struct sink *s, const struct sink_line *lines, size_t n,
    size_t *done, char **cause)
{
	struct exec_sink *es = sink_priv(s);
	struct exec_result *res;
	struct exec_kid *k;
	size_t next = 0, i;
	unsigned running = 0;
	bool failed = false, stopping = false;

	*done = 0;
	if (n == 0)
		return SINK_OK;
	res = xcalloc(n, sizeof *res);
	exec_ahead_prune(es, lines[0].seq);
	for (;;) {
		if (!stopping && sink_stop_due(s)) {
			stopping = true;
			exec_kill_all(es);
		}
		while (!failed && !stopping && next < n &&
		    running < es->concurrency) {
			if (exec_ahead_has(es, lines[next].seq)) {
				res[next++].ok = true;
				continue;
			}
			k = exec_free_slot(es);
			if (exec_spawn(s, es, k, &lines[next], next,
			    &res[next].cause) == -1) {
				res[next++].failed = true;
				failed = true;
				break;
			}
			next++;
			running++;
		}
		if (running == 0)
			break;
		running -= exec_wait(s, es, res);
		for (i = 0; i < next; i++)
			if (res[i].failed)
				failed = true;
	}
	exec_log_flush(s, es);

	for (i = 0; i < n && res[i].ok; i++)
		;
	*done = i;
	if (i < n) {
		if (res[i].cause != NULL) {
			*cause = res[i].cause;
			res[i].cause = NULL;
		} else
			xasprintf(cause, "record %llu not run: the sink is "
			    "stopping", (unsigned long long)lines[i].seq);
		/* Those that ran after the failure are not run again. */
		for (; i < n; i++)
			if (res[i].ok)
				exec_ahead_add(es, lines[i].seq);
	}
	for (i = 0; i < n; i++)
		free(res[i].cause);
	free(res);
	return *done == n ? SINK_OK : SINK_RETRY;
}

static void
exec_close(struct sink *s)
{
	struct exec_sink *es = sink_priv(s);
	struct exec_result r;
	struct exec_kid *k;
	unsigned i;
	int status;
	int j;

	if (es == NULL)
		return;
	/* deliver leaves nothing running; be sure no child outlives us. */
	exec_kill_all(es);
	for (i = 0; i < es->concurrency; i++) {
		k = &es->kids[i];
		if (k->busy) {
			while (waitpid(k->pid, &status, 0) == -1 &&
			    errno == EINTR)
				;
			memset(&r, 0, sizeof r);
			exec_finish(s, es, k, status, &r);
			free(r.cause);
		}
		buf_free(&k->input);
		for (j = 0; j < 2; j++)
			buf_free(&k->out[j].line);
	}
	exec_free_argv(es->argv);
	free(es->what);
	format_ctx_free(es->fmt);
	free(es->kids);
	free(es->ahead);
	free(es);
	sink_set_priv(s, NULL);
}

const struct sink_ops sink_exec_ops = {
	.type = "exec",
	.open = exec_open,
	.deliver = exec_deliver,
	.reopen = NULL,
	.close = exec_close,
};
