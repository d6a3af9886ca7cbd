/*
 * daemon.c: start-up in dependency order (config, log, spool, sinks,
 * router, dispatch, listener), the signal loop, and shutdown in reverse
 * order: the listener stops taking requests and finishes those in
 * progress, the sinks deliver what the spool holds for them within
 * shutdown_timeout (in parallel), their cursors are persisted and the
 * spool closed, so that a clean stop and start deliver everything exactly
 * once. Signals are blocked in every thread and taken synchronously by the
 * main thread with sigtimedwait, whose timeout also paces spool retention,
 * so no work happens in signal handlers.
 *
 * Reload (SIGHUP here, or the control socket's "reload" in its thread;
 * one at a time) prepares everything the new config needs that can fail
 * before it changes anything, then applies the differences: see reload().
 */
#include "autoconf.h"

#include <sys/file.h>
#include <sys/resource.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "config.h"
#include "control.h"
#include "daemon.h"
#include "dispatch.h"
#include "http.h"
#include "log.h"
#include "reject.h"
#include "metrics.h"
#include "reload.h"
#include "router.h"
#include "arena.h"
#include "seqtrack.h"
#include "sink.h"
#include "spool.h"
#include "xmalloc.h"

/* Seconds between spool retention passes (spool_max_age). */
#define DAEMON_MAINTAIN_SEC 5
/* Seconds between updates of the service manager's status line. */
#define DAEMON_STATUS_SEC 2

struct state {
	struct config *conf;
	struct spool *spool;
	struct seqtrack *seqtrack;
	struct sink **sinks;
	size_t nsinks;
	struct router *router;
	struct dispatch *dispatch;
	struct http_listener *http;
	struct control *control;
	struct metrics *metrics;
	struct reject_store *rejects;  /* reject_dir, or NULL */
	bool passed_sockets;           /* the listener serves LISTEN_FDS */
	/* Held for writing while a reload swaps conf, sinks and http. */
	pthread_rwlock_t view_lock;
	pthread_mutex_t reload_lock;   /* one reload at a time */
	struct control_state cs;       /* what control and metrics read */
};

/* Print every collected config error to stderr. */
static void
print_errors(const struct config_errors *errs)
{
	size_t i;

	for (i = 0; i < errs->n; i++)
		fprintf(stderr, "%s\n", errs->msgs[i]);
}

int
daemon_check_config(const char *file)
{
	struct config_errors errs = { NULL, 0 };
	struct config *conf;

	if ((conf = config_load(file, &errs)) == NULL) {
		print_errors(&errs);
		config_errors_clear(&errs);
		return 1;
	}
	config_free(conf);
	return 0;
}

/*
 * Raise the soft limit on open files towards the hard one, so that
 * max_connections on every listening socket fits with room for the spool,
 * sinks and subscribers (a soft limit of 1024 is the usual default, and
 * libmicrohttpd runs with epoll, never select). Called again on reload.
 */
static void
raise_nofile(const struct config *c)
{
	const struct listener_conf *lc = &c->listener;
	struct rlimit rl;
	rlim_t want;

	want = (rlim_t)lc->max_connections * (lc->nbind > 0 ? lc->nbind : 1) *
	    (lc->https_port != 0 ? 2 : 1) + 256;
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ?
	    rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_msg(LOG_WARNING, "cannot raise the open file limit to %llu: "
		    "%s", (unsigned long long)rl.rlim_cur, strerror(errno));
	else if (rl.rlim_cur < want)
		log_msg(LOG_WARNING, "open file limit %llu (the hard limit) is "
		    "below the %llu that max_connections needs",
		    (unsigned long long)rl.rlim_cur, (unsigned long long)want);
}

/*
 * Detach from the terminal. The parent waits on a pipe until the child
 * reports that it is serving (or failed), so that "cimlistend" returns 0
 * only once indications can be received. Returns the pipe's write end in
 * the child.
 */
static int
daemonize(void)
{
	int fds[2], devnull;
	pid_t pid;
	char c;
	ssize_t n;

	if (pipe2(fds, O_CLOEXEC) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0) {
		close(fds[1]);
		do
			n = read(fds[0], &c, 1);
		while (n == -1 && errno == EINTR);
		_exit(n == 1 && c == 0 ? 0 : 1);
	}
	close(fds[0]);
	if (setsid() == -1)
		fatal("setsid");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0)
		_exit(0);
	if (chdir("/") == -1)
		fatal("chdir /");
	/* stderr stays until the start-up is over: its errors reach the
	 * starting terminal (detach_stderr). */
	if ((devnull = open("/dev/null", O_RDWR)) != -1) {
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
		if (devnull > STDERR_FILENO)
			close(devnull);
	}
	return fds[1];
}

/* Started, in the background: stderr goes, messages go to syslog. */
static void
detach_stderr(int level)
{
	int devnull;

	log_init(level, false, "cimlistend");
	if ((devnull = open("/dev/null", O_RDWR)) != -1) {
		dup2(devnull, STDERR_FILENO);
		if (devnull > STDERR_FILENO)
			close(devnull);
	}
}

/*
 * Write the pid file, locked for as long as the daemon runs, so a second
 * daemon with the same pid file refuses to start. -1 after logging why.
 */
static int
pidfile_open(const char *path, int *fdp)
{
	char buf[32], old[32];
	ssize_t n;
	int fd;

	*fdp = -1;
	if (path == NULL || *path == '\0')
		return 0;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1) {
		log_msg(LOG_ERR, "pid_file %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		n = pread(fd, old, sizeof old - 1, 0);
		old[n > 0 ? n : 0] = '\0';
		old[strcspn(old, "\n")] = '\0';
		log_msg(LOG_ERR, "pid_file %s is held by a running cimlistend "
		    "(pid %s)", path, *old != '\0' ? old : "?");
		close(fd);
		return -1;
	}
	snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 ||
	    pwrite(fd, buf, strlen(buf), 0) != (ssize_t)strlen(buf)) {
		log_msg(LOG_ERR, "pid_file %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	*fdp = fd;
	return 0;
}

static void
pidfile_close(const char *path, int fd)
{
	if (fd == -1)
		return;
	if (unlink(path) == -1)
		log_warn("pid_file %s", path);
	close(fd);
}

/* Tell the waiting parent (if any) how start-up went. */
static void
report_ready(int *fd, bool ok)
{
	char c = ok ? 0 : 1;

	if (*fd == -1)
		return;
	if (write(*fd, &c, 1) != 1)
		log_warn("start-up pipe");
	close(*fd);
	*fd = -1;
}

/* Open the spool in spool_dir; -1 after logging why not. */
static int
open_spool(struct state *st)
{
	struct spool_params p;
	char *cause = NULL;

	memset(&p, 0, sizeof p);
	p.dir = st->conf->daemon.spool_dir;
	p.fsync = (enum spool_fsync)st->conf->daemon.fsync;
	p.max_size = st->conf->daemon.spool_max_size;
	p.max_age = st->conf->daemon.spool_max_age;
	if ((st->spool = spool_open(&p, &cause)) == NULL) {
		log_msg(LOG_ERR, "spool %s: %s", p.dir, cause);
		free(cause);
		return -1;
	}
	return 0;
}

/*
 * Teach the DSP1054 tracker the sequence numbers of every retained record,
 * so that a sender's retry of an indication kept before a restart is still
 * recognised as a duplicate. Unreadable lines are skipped (the worst case
 * is one duplicate delivery).
 */
static void
restore_seqtrack(struct state *st)
{
	struct spool_reader *r;
	struct spool_record recs[256];
	struct spool_gap gap;
	struct record rec;
	struct record_source src;
	struct arena *a;
	char *cause = NULL;
	size_t restored = 0;
	int n, i;

	if ((r = spool_reader_open(st->spool, NULL, SPOOL_START_OLDEST,
	    &cause)) == NULL) {
		log_warnx("spool: cannot read back sequence numbers: %s", cause);
		free(cause);
		return;
	}
	for (;;) {
		n = spool_reader_read(r, recs, 256, 0, &gap);
		if (n < 0 || (n == 0 && gap.reason == SPOOL_GAP_NONE))
			break;
		for (i = 0; i < n; i++) {
			a = arena_new();
			if (record_from_json(recs[i].line, recs[i].len, a, &rec,
			    &src, &cause) == 0 && rec.source != NULL &&
			    rec.inst != NULL) {
				seqtrack_restore(st->seqtrack, src.addr,
				    rec.inst, rec.time.tv_sec);
				restored++;
			}
			free(cause);
			cause = NULL;
			arena_free(a);
		}
	}
	spool_reader_close(r);
	log_debug("spool: %zu retained records read back for duplicate "
	    "detection", restored);
}

/* Start every sink's writer on the spool; -1 after logging a failure. */
static int
start_sinks(struct state *st)
{
	char *cause = NULL;
	size_t i;

	for (i = 0; i < st->nsinks; i++) {
		if (sink_start(st->sinks[i], st->spool, &cause) != 0) {
			log_msg(LOG_ERR, "sink %s: %s",
			    sink_name(st->sinks[i]), cause);
			free(cause);
			return -1;
		}
	}
	return 0;
}

/* Open every configured sink; -1 after logging the first failure. */
static int
open_sinks(struct state *st)
{
	char *cause = NULL;
	size_t i;

	st->sinks = xcalloc(st->conf->nsinks + 1, sizeof *st->sinks);
	for (i = 0; i < st->conf->nsinks; i++) {
		st->sinks[i] = sink_new(&st->conf->sinks[i], &cause);
		if (st->sinks[i] == NULL) {
			log_msg(LOG_ERR, "%s:%u: sink %s: %s",
			    st->conf->sinks[i].origin.file,
			    st->conf->sinks[i].origin.line,
			    st->conf->sinks[i].name, cause);
			free(cause);
			return -1;
		}
		st->nsinks++;
	}
	return 0;
}

/* Milliseconds left until `deadline` (CLOCK_MONOTONIC), at least 0. */
static unsigned
ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline->tv_sec - now.tv_sec) * 1000LL +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? (unsigned)ms : 0;
}

/*
 * Drain and stop: no new connections, let requests in progress finish,
 * then let every sink deliver what the spool holds for it, all within
 * shutdown_timeout; cursors are persisted as the sinks stop.
 */
static void
shutdown_all(struct state *st)
{
	struct timespec deadline;
	uint64_t left;
	size_t i;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += st->conf->daemon.shutdown_timeout;
	if (st->http != NULL) {
		http_quiesce(st->http);
		if (!http_wait_idle(st->http, ms_left(&deadline)))
			log_warnx("shutdown: requests still in progress after "
			    "%us; closing them", st->conf->daemon.shutdown_timeout);
		http_stop(st->http);
		st->http = NULL;
	}
	/* All sinks drain in parallel, within the same deadline. */
	for (i = 0; i < st->nsinks; i++)
		sink_stop_begin(st->sinks[i], (ms_left(&deadline) + 999) / 1000);
	for (i = 0; i < st->nsinks; i++) {
		left = sink_stop(st->sinks[i], (ms_left(&deadline) + 999) / 1000);
		if (left > 0)
			log_warnx("sink %s: %llu spool records not passed at "
			    "shutdown; they are delivered after the next start",
			    sink_name(st->sinks[i]), (unsigned long long)left);
	}
}

/* One line of totals at the end of a run. */
static void
log_totals(struct state *st)
{
	struct dispatch_stats ds;

	dispatch_get_stats(st->dispatch, &ds);
	log_info("stopped: %llu indications accepted, %llu of them matched "
	    "no filter, %llu duplicates not kept again, %llu requests refused "
	    "(spool not writable)", (unsigned long long)ds.indications,
	    (unsigned long long)ds.unrouted,
	    (unsigned long long)ds.duplicates, (unsigned long long)ds.refused);
}

/* Release everything start-up created (any prefix of it). */
static void
free_state(struct state *st)
{
	size_t i;

	metrics_stop(st->metrics);
	control_stop(st->control);
	if (st->http != NULL)
		http_stop(st->http);
	dispatch_free(st->dispatch);
	seqtrack_free(st->seqtrack);
	router_free(st->router);
	for (i = 0; i < st->nsinks; i++)
		sink_free(st->sinks[i]);
	free(st->sinks);
	if (st->spool != NULL)
		spool_close(st->spool);
	reject_close(st->rejects);
	config_free(st->conf);
	pthread_mutex_destroy(&st->reload_lock);
	pthread_rwlock_destroy(&st->view_lock);
}

/* Counters behind the service manager's status line. */
struct status_prev {
	struct timespec when;
	uint64_t received;
	uint64_t delivered;
};

static uint64_t
sinks_delivered(struct state *st, uint64_t *worst_lag, const char **worst)
{
	struct spool_stats sp;
	struct sink_stats ss;
	uint64_t sum = 0, lag;
	size_t i;

	spool_get_stats(st->spool, &sp);
	*worst_lag = 0;
	*worst = NULL;
	for (i = 0; i < st->nsinks; i++) {
		sink_get_stats(st->sinks[i], &ss);
		sum += ss.delivered;
		lag = sp.next_seq > ss.position && ss.position > 0 ?
		    sp.next_seq - ss.position : 0;
		if (lag > *worst_lag) {
			*worst_lag = lag;
			*worst = sink_name(st->sinks[i]);
		}
	}
	return sum;
}

/*
 * STATUS= for systemctl status: indications received and records
 * delivered a second since the last update, and the sink furthest behind.
 */
static void
status_update(struct state *st, struct status_prev *prev)
{
	struct dispatch_stats ds;
	struct timespec now;
	uint64_t delivered, lag;
	const char *worst;
	double secs;

	clock_gettime(CLOCK_MONOTONIC, &now);
	dispatch_get_stats(st->dispatch, &ds);
	delivered = sinks_delivered(st, &lag, &worst);
	secs = (double)(now.tv_sec - prev->when.tv_sec) +
	    (double)(now.tv_nsec - prev->when.tv_nsec) / 1e9;
	if (secs <= 0)
		secs = 1;
	if (worst != NULL)
		sd_notifyf(0, "STATUS=%.0f received/s, %.0f delivered/s, "
		    "%llu received in all; worst lag %llu records (sink %s)",
		    (double)(ds.indications - prev->received) / secs,
		    (double)(delivered - prev->delivered) / secs,
		    (unsigned long long)ds.indications,
		    (unsigned long long)lag, worst);
	else
		sd_notifyf(0, "STATUS=%.0f received/s, %.0f delivered/s, "
		    "%llu received in all; no sink behind",
		    (double)(ds.indications - prev->received) / secs,
		    (double)(delivered - prev->delivered) / secs,
		    (unsigned long long)ds.indications);
	prev->when = now;
	prev->received = ds.indications;
	prev->delivered = delivered;
}

/* The service manager's watchdog (WATCHDOG_USEC). */
struct watchdog {
	uint64_t usec;                 /* 0: not asked for */
	struct timespec last_ping;
	uint64_t requests;             /* http requests at the last check */
	struct timespec stalled_since; /* requests pending, none finished */
	bool stalled;
	bool warned;
};

static long long
ms_between(const struct timespec *a, const struct timespec *b)
{
	return (long long)(b->tv_sec - a->tv_sec) * 1000 +
	    (b->tv_nsec - a->tv_nsec) / 1000000;
}

/*
 * Is the daemon making progress? No: requests are in progress and none
 * has finished for a whole watchdog period, or a sink (other than exec,
 * which kills its commands after their own timeout) has been inside one
 * delivery for a whole period (a write blocked on a stuck file system).
 */
static bool
making_progress(struct state *st, struct watchdog *w,
    const struct timespec *now, char *why, size_t len)
{
	struct http_stats hs;
	long long period = (long long)(w->usec / 1000);
	unsigned busy;
	size_t i;

	memset(&hs, 0, sizeof hs);
	if (st->http != NULL)
		http_get_stats(st->http, &hs);
	if (hs.active > 0 && hs.requests == w->requests) {
		if (!w->stalled) {
			w->stalled = true;
			w->stalled_since = *now;
		} else if (ms_between(&w->stalled_since, now) >= period) {
			snprintf(why, len, "%llu requests in progress and none "
			    "finished for %lld ms", (unsigned long long)hs.active,
			    ms_between(&w->stalled_since, now));
			return false;
		}
	} else
		w->stalled = false;
	w->requests = hs.requests;
	for (i = 0; i < st->nsinks; i++) {
		if (strcmp(sink_conf(st->sinks[i])->type, "exec") == 0)
			continue;
		if ((busy = sink_busy_ms(st->sinks[i])) >= period) {
			snprintf(why, len, "sink %s has been in one delivery "
			    "for %u ms", sink_name(st->sinks[i]), busy);
			return false;
		}
	}
	return true;
}

/* Ping the watchdog every half period while there is progress. */
static void
watchdog_tick(struct state *st, struct watchdog *w,
    const struct timespec *now)
{
	char why[160];

	if (w->usec == 0 ||
	    ms_between(&w->last_ping, now) < (long long)(w->usec / 2000))
		return;
	w->last_ping = *now;
	if (!making_progress(st, w, now, why, sizeof why)) {
		if (!w->warned)
			log_warnx("watchdog: not pinging the service manager: "
			    "%s", why);
		w->warned = true;
		return;
	}
	if (w->warned)
		log_notice("watchdog: progress again, pinging");
	w->warned = false;
	sd_notify(0, "WATCHDOG=1");
}

/* The sink called `name` in sinks[0..n), or NULL. */
static struct sink *
find_sink_in(struct sink **sinks, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(sink_name(sinks[i]), name) == 0)
			return sinks[i];
	return NULL;
}

static struct sink *
find_sink(struct state *st, const char *name)
{
	return find_sink_in(st->sinks, st->nsinks, name);
}

/*
 * What a reload of the listener needs, prepared before anything changes:
 * a new listener when its settings differ (started at once on the new
 * ports, taking over the sockets of addresses and ports that stay, so no
 * connection is refused meanwhile), nothing when they do not. A port that
 * cannot be bound (in use, below 1024 without CAP_NET_BIND_SERVICE) fails
 * the reload. Any other listener-level preparation that can fail (such as
 * reading new TLS certificates for an HTTPS listener) belongs here too,
 * so that it fails the reload before anything changed. -1 after adding
 * the error.
 */
static int
reload_listener(struct state *st, const struct config *next,
    struct http_listener **http, bool *changed, struct config_errors *errs)
{
	char *cause = NULL;
	bool tls;

	*http = NULL;
	*changed = !reload_listener_equal(&st->conf->listener,
	    &next->listener);
	if (!*changed) {
		/*
		 * Same ports: certificates, trust, users, allow are re-read
		 * in place (new connections get them), the last step of the
		 * preparation; a failure puts the old ones back.
		 */
		if (st->http == NULL)
			return 0;
		tls = http_tls_running(st->http);
		if ((!tls || http_tls_reload(st->http, &next->listener,
		    &cause) == 0) &&
		    http_access_reload(st->http, &next->listener, &cause) == 0)
			return 0;
		reload_error(errs, "%s: listener: %s", next->file, cause);
		free(cause);
		cause = NULL;
		if (tls && http_tls_reload(st->http, &st->conf->listener,
		    &cause) != 0) {
			log_warnx("reload: cannot restore the TLS settings: %s",
			    cause);
			free(cause);
		}
		return -1;
	}
	if (st->passed_sockets) {
		reload_error(errs, "%s: [listener] settings cannot change on "
		    "reload while the service manager passes the sockets "
		    "(socket activation); restart the daemon", next->file);
		return -1;
	}
	if (next->listener.http_port == 0 && next->listener.https_port == 0)
		return 0;
	if ((*http = http_restart(st->http, &next->listener, st->dispatch,
	    &cause)) == NULL) {
		reload_error(errs, "%s: listener: %s", next->file, cause);
		free(cause);
		return -1;
	}
	if (st->rejects != NULL)
		http_set_rejects(*http, st->rejects);
	return 0;
}

/*
 * Reload the config file: load and validate it completely, make every new
 * sink (opening its output) and the router, bind the new listener; on any
 * error free what was made and change nothing. Then apply: start the
 * sinks it adds (from the next record on), route new requests with the
 * new router (requests in progress finish with the old one), publish the
 * new state, move from the old listener to the new, drain (for at most
 * shutdown_timeout) and stop the sinks that changed or went, start the
 * changed ones again on their cursors, and forget the cursors of the
 * sinks that went. Sinks whose settings did not change keep running.
 * RELOADING=1 and READY=1 bracket it for the service manager.
 */
static void
reload(struct state *st, struct reload_report *rep)
{
	struct config *next = NULL, *oldconf;
	struct sink **sinks = NULL, **oldsinks, *old, **gone = NULL;
	struct router *router = NULL, *oldrouter;
	struct http_listener *http = NULL, *oldhttp;
	struct timespec now;
	bool *fresh = NULL, listener_changed = false;
	size_t i, n, ngone = 0;
	char *cause = NULL;
	unsigned timeout;

	pthread_mutex_lock(&st->reload_lock);
	log_info("reloading %s", st->conf->file);
	clock_gettime(CLOCK_MONOTONIC, &now);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=Reloading %s",
	    (unsigned long long)now.tv_sec * 1000000ULL +
	    (unsigned long long)now.tv_nsec / 1000, st->conf->file);

	/* Prepare: nothing visible changes until the config proved good. */
	if ((next = config_load(st->conf->file, &rep->errors)) == NULL)
		goto fail;
	if (reload_check_fixed(st->conf, next, &rep->errors) > 0)
		goto fail;
	raise_nofile(next);
	n = next->nsinks;
	sinks = xcalloc(n + 1, sizeof *sinks);
	fresh = xcalloc(n + 1, sizeof *fresh);
	for (i = 0; i < n; i++) {
		old = find_sink(st, next->sinks[i].name);
		if (old != NULL && reload_sink_equal(sink_conf(old),
		    &next->sinks[i])) {
			sinks[i] = old;
			continue;
		}
		fresh[i] = true;
		if ((sinks[i] = sink_new(&next->sinks[i], &cause)) == NULL) {
			reload_error(&rep->errors, "%s:%u: sink %s: %s",
			    next->sinks[i].origin.file,
			    next->sinks[i].origin.line, next->sinks[i].name,
			    cause);
			free(cause);
			cause = NULL;
		}
	}
	if (rep->errors.n > 0)
		goto fail;
	if ((router = router_new(next, sinks, n, &cause)) == NULL) {
		reload_error(&rep->errors, "%s: %s", next->file, cause);
		free(cause);
		goto fail;
	}
	if (reload_listener(st, next, &http, &listener_changed,
	    &rep->errors) == -1)
		goto fail;

	/* Apply. Sinks the reload adds start with what is routed to them
	 * from now on (or on the cursor a sink of that name left). */
	for (i = 0; i < n; i++) {
		if (!fresh[i] || find_sink(st, sink_name(sinks[i])) != NULL)
			continue;
		if (sink_start_at(sinks[i], st->spool, SPOOL_START_NEW,
		    &cause) != 0) {
			log_msg(LOG_ERR, "sink %s: %s", sink_name(sinks[i]),
			    cause);
			free(cause);
			cause = NULL;
		}
		reload_list_add(&rep->added, "%s", sink_name(sinks[i]));
	}
	dispatch_set_routes(st->dispatch, router, sinks, n, &oldrouter,
	    &oldsinks);
	/* Sinks that changed or went: drained and stopped below. */
	gone = xcalloc(st->nsinks + 1, sizeof *gone);
	for (i = 0; i < st->nsinks; i++) {
		const struct sink_conf *c = config_find_sink(next,
		    sink_name(st->sinks[i]));

		if (c == NULL || !reload_sink_equal(sink_conf(st->sinks[i]), c))
			gone[ngone++] = st->sinks[i];
		if (c == NULL)
			reload_list_add(&rep->removed, "%s",
			    sink_name(st->sinks[i]));
		else if (!reload_sink_equal(sink_conf(st->sinks[i]), c))
			reload_list_add(&rep->changed, "%s",
			    sink_name(st->sinks[i]));
		else
			reload_list_add(&rep->unchanged, "%s",
			    sink_name(st->sinks[i]));
	}
	oldconf = st->conf;
	oldhttp = st->http;
	pthread_rwlock_wrlock(&st->view_lock);
	st->conf = next;
	st->sinks = sinks;
	st->nsinks = n;
	st->router = router;
	if (listener_changed)
		st->http = http;
	st->cs.conf = st->conf;
	st->cs.sinks = st->sinks;
	st->cs.nsinks = st->nsinks;
	st->cs.http = st->http;
	pthread_rwlock_unlock(&st->view_lock);
	log_set_level(next->daemon.log_level);
	timeout = next->daemon.shutdown_timeout;

	if (listener_changed) {
		/* The new one serves already: the old one finishes what it
		 * has in progress and closes. */
		http_quiesce(oldhttp);
		if (!http_wait_idle(oldhttp, timeout * 1000))
			log_warnx("reload: requests still in progress on the "
			    "old listener after %us; closing them", timeout);
		http_stop(oldhttp);
		reload_list_add(&rep->notes, "listener restarted on %u",
		    next->listener.http_port);
		log_info("reload: listener restarted (http_port %u)",
		    next->listener.http_port);
	}
	for (i = 0; i < ngone; i++)
		sink_stop_begin(gone[i], timeout);
	for (i = 0; i < ngone; i++) {
		uint64_t left = sink_stop(gone[i], timeout);

		if (config_find_sink(next, sink_name(gone[i])) != NULL) {
			log_info("sink %s restarted: its settings changed%s",
			    sink_name(gone[i]), left > 0 ? "; the records it "
			    "had not passed follow on its cursor" : "");
			continue;
		}
		if (left > 0)
			log_warnx("sink %s removed: %llu spool records not "
			    "passed within %us are dropped for it",
			    sink_name(gone[i]), (unsigned long long)left,
			    timeout);
		else
			log_info("sink %s removed", sink_name(gone[i]));
		if (spool_cursor_remove(st->spool, sink_name(gone[i])) == -1)
			log_warn("sink %s: cannot remove its cursor",
			    sink_name(gone[i]));
	}
	/* Changed sinks go on from the cursor the old instance left. */
	for (i = 0; i < n; i++) {
		if (!fresh[i] || find_sink_in(gone, ngone,
		    sink_name(sinks[i])) == NULL)
			continue;
		if (sink_start(sinks[i], st->spool, &cause) != 0) {
			log_msg(LOG_ERR, "sink %s: %s", sink_name(sinks[i]),
			    cause);
			free(cause);
			cause = NULL;
		}
	}
	for (i = 0; i < ngone; i++)
		sink_free(gone[i]);
	free(gone);
	free(oldsinks);
	router_free(oldrouter);
	config_free(oldconf);
	rep->ok = true;
	rep->filters = next->nfilters;
	rep->listener_changed = listener_changed;
	log_info("reloaded %s: %zu sinks added, %zu changed, %zu removed, "
	    "%zu unchanged; %zu filters%s", next->file, rep->added.n,
	    rep->changed.n, rep->removed.n, rep->unchanged.n, next->nfilters,
	    listener_changed ? "; listener restarted" : "");
	sd_notifyf(0, "READY=1\nSTATUS=Reloaded: %zu sinks added, %zu "
	    "changed, %zu removed", rep->added.n, rep->changed.n,
	    rep->removed.n);
	free(fresh);
	pthread_mutex_unlock(&st->reload_lock);
	return;

fail:
	for (i = 0; i < rep->errors.n; i++)
		log_msg(LOG_ERR, "reload: %s", rep->errors.msgs[i]);
	log_warnx("reload failed (%zu errors); the configuration in force "
	    "stays", rep->errors.n);
	http_stop(http);
	router_free(router);
	if (sinks != NULL)
		for (i = 0; i < n; i++)
			if (fresh[i])
				sink_free(sinks[i]);
	free(sinks);
	free(fresh);
	config_free(next);
	sd_notifyf(0, "READY=1\nSTATUS=Reload failed (%zu errors); the "
	    "previous configuration is in force", rep->errors.n);
	pthread_mutex_unlock(&st->reload_lock);
}

/* The control socket's reload. */
static void
control_reload(void *arg, unsigned uid, int pid, struct reload_report *rep)
{
	(void)uid;
	(void)pid;
	reload(arg, rep);
}

/*
 * Take signals until asked to stop; run spool retention, update the
 * status line and ping the watchdog meanwhile.
 */
static void
signal_loop(struct state *st, const sigset_t *set)
{
	struct timespec tick = { DAEMON_STATUS_SEC, 0 }, now, last;
	struct status_prev prev;
	struct watchdog wd;
	uint64_t lag;
	const char *worst;
	int sig;
	size_t i;

	memset(&prev, 0, sizeof prev);
	memset(&wd, 0, sizeof wd);
	if (sd_watchdog_enabled(0, &wd.usec) > 0 && wd.usec >= 2000) {
		/* Wake at least every quarter period. */
		if (wd.usec / 4 < (uint64_t)DAEMON_STATUS_SEC * 1000000) {
			tick.tv_sec = (time_t)(wd.usec / 4 / 1000000);
			tick.tv_nsec = (long)(wd.usec / 4 % 1000000) * 1000;
		}
		log_info("watchdog: pinging every %llu ms while making progress",
		    (unsigned long long)(wd.usec / 2000));
	} else
		wd.usec = 0;
	clock_gettime(CLOCK_MONOTONIC, &prev.when);
	prev.delivered = sinks_delivered(st, &lag, &worst);
	last = prev.when;
	for (;;) {
		sig = sigtimedwait(set, NULL, &tick);
		clock_gettime(CLOCK_MONOTONIC, &now);
		pthread_rwlock_rdlock(&st->view_lock);
		if (now.tv_sec - prev.when.tv_sec >= DAEMON_STATUS_SEC)
			status_update(st, &prev);
		watchdog_tick(st, &wd, &now);
		pthread_rwlock_unlock(&st->view_lock);
		if (now.tv_sec - last.tv_sec >= DAEMON_MAINTAIN_SEC) {
			spool_maintain(st->spool);
			last = now;
		}
		if (sig == -1)
			continue;
		switch (sig) {
		case SIGTERM:
		case SIGINT:
			log_info("received %s, shutting down",
			    sig == SIGTERM ? "SIGTERM" : "SIGINT");
			return;
		case SIGUSR1:
			log_info("received SIGUSR1, reopening sink files");
			pthread_rwlock_rdlock(&st->view_lock);
			for (i = 0; i < st->nsinks; i++)
				sink_reopen(st->sinks[i]);
			pthread_rwlock_unlock(&st->view_lock);
			break;
		case SIGHUP: {
			struct reload_report rep;

			log_info("received SIGHUP");
			memset(&rep, 0, sizeof rep);
			reload(st, &rep);
			reload_report_clear(&rep);
			break;
		}
		}
	}
}

/*
 * Hand dirfd's entries (and those of its subdirectories, depth levels down)
 * to uid:gid. -1 with errno and the failing name in *what.
 */
static int
chown_tree(int dirfd, uid_t uid, gid_t gid, int depth, const char **what)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd, rc = 0;

	if ((fd = dup(dirfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		*what = de->d_name;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    fchownat(dirfd, de->d_name, uid, gid,
			AT_SYMLINK_NOFOLLOW) == -1) {
			rc = -1;
			break;
		}
		if (S_ISDIR(st.st_mode) && depth > 0) {
			fd = openat(dirfd, de->d_name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd == -1 || chown_tree(fd, uid, gid, depth - 1,
			    what) == -1)
				rc = -1;
			if (fd != -1)
				close(fd);
		}
	}
	closedir(d);
	return rc;
}

/*
 * user and group: when started as root, switch to them now that every
 * socket is bound and every file is open. The spool directory is handed
 * over first, since the spool creates and removes segments as it goes.
 * Not root: there is nothing to drop (a warning if they differ). -1 if the
 * switch fails, so that the daemon never runs as root by mistake.
 */
static int
drop_privileges(const struct daemon_conf *dc)
{
	uid_t uid = dc->uid;
	gid_t gid = dc->gid;
	const char *what = ".";
	int dfd;

	if (uid == (uid_t)-1 && gid == (gid_t)-1)
		return 0;
	if (geteuid() != 0) {
		if ((uid != (uid_t)-1 && uid != geteuid()) ||
		    (gid != (gid_t)-1 && gid != getegid()))
			log_warnx("user/group set but not started as root: "
			    "running as uid %u gid %u", (unsigned)geteuid(),
			    (unsigned)getegid());
		return 0;
	}
	dfd = open(dc->spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1 || fchown(dfd, uid, gid) == -1 ||
	    chown_tree(dfd, uid, gid, 1, &what) == -1) {
		log_warn("cannot hand the spool %s/%s to uid %d gid %d",
		    dc->spool_dir, what, (int)uid, (int)gid);
		if (dfd != -1)
			close(dfd);
		return -1;
	}
	close(dfd);
	if (gid != (gid_t)-1 && (setgroups(1, &gid) == -1 ||
	    setresgid(gid, gid, gid) == -1)) {
		log_warn("cannot switch to group %u", (unsigned)gid);
		return -1;
	}
	if (uid != (uid_t)-1 && setresuid(uid, uid, uid) == -1) {
		log_warn("cannot switch to user %u", (unsigned)uid);
		return -1;
	}
	if (uid != 0 && uid != (uid_t)-1 && setuid(0) != -1) {
		log_warnx("root could be regained after switching users");
		return -1;
	}
	log_info("running as uid %u gid %u", (unsigned)geteuid(),
	    (unsigned)getegid());
	return 0;
}

/*
 * Listening sockets passed by the service manager (LISTEN_FDS, names from
 * FileDescriptorName=): those named "http", or unnamed, serve HTTP; those
 * named "https" serve HTTPS when https_port and certfile are set (else
 * they are closed with a warning, as are other names). The variables are
 * removed from the environment, so that exec sinks do not inherit them.
 * Returns how many are in *fds and *tls (malloc'd).
 */
static size_t
passed_sockets(const struct listener_conf *lc, int **fds, bool **tls)
{
	char **names = NULL;
	size_t n = 0;
	int i, k, fd;
	bool https, use_https = lc->https_port != 0 && lc->certfile != NULL &&
				*lc->certfile != '\0';

	*fds = NULL;
	*tls = NULL;
	if ((k = sd_listen_fds_with_names(1, &names)) <= 0) {
		if (k < 0)
			log_warnx("passed sockets: %s", strerror(-k));
		return 0;
	}
	*fds = xreallocarray(NULL, (size_t)k, sizeof **fds);
	*tls = xreallocarray(NULL, (size_t)k, sizeof **tls);
	for (i = 0; i < k; i++) {
		fd = SD_LISTEN_FDS_START + i;
		https = names != NULL && strcmp(names[i], "https") == 0;
		if ((https && use_https) || names == NULL ||
		    strcmp(names[i], "http") == 0 ||
		    strcmp(names[i], "unknown") == 0) {
			if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) > 0) {
				(*tls)[n] = https;
				(*fds)[n++] = fd;
			} else {
				log_warnx("passed descriptor %d is not a "
				    "listening stream socket: closed", fd);
				close(fd);
			}
		} else {
			log_warnx("passed socket %d named '%s': not used (%s), "
			    "closed", fd, names[i], https ? "https_port or "
			    "certfile not set" : "unknown name");
			close(fd);
		}
	}
	if (names != NULL)
		for (i = 0; i < k; i++)
			free(names[i]);
	free(names);
	return n;
}

int
daemon_run(const char *file, bool foreground)
{
	struct config_errors errs = { NULL, 0 };
	struct spool_stats ss;
	struct state st;
	struct timespec started;
	struct control_state *cs = &st.cs;
	int *fds = NULL;
	bool *fd_tls = NULL;
	size_t nfds;
	sigset_t set;
	char *cause = NULL;
	int ready_fd = -1, pid_fd = -1, rc = 1;

	memset(&st, 0, sizeof st);
	pthread_rwlock_init(&st.view_lock, NULL);
	pthread_mutex_init(&st.reload_lock, NULL);
	clock_gettime(CLOCK_MONOTONIC, &started);
	log_init(LOG_INFO, true, "cimlistend");
	if ((st.conf = config_load(file, &errs)) == NULL) {
		print_errors(&errs);
		config_errors_clear(&errs);
		return 1;
	}
	log_set_level(st.conf->daemon.log_level);
	raise_nofile(st.conf);

	/* Every thread created from here on inherits this mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (!foreground)
		ready_fd = daemonize();
	if (pidfile_open(st.conf->daemon.pid_file, &pid_fd) == -1)
		goto out;

	if (open_spool(&st) == -1 || open_sinks(&st) == -1)
		goto out;
	if ((st.router = router_new(st.conf, st.sinks, st.nsinks,
	    &cause)) == NULL) {
		log_msg(LOG_ERR, "%s", cause);
		free(cause);
		goto out;
	}
	st.seqtrack = seqtrack_new(NULL);
	restore_seqtrack(&st);
	st.dispatch = dispatch_new(st.router, st.spool, st.seqtrack, st.sinks,
	    st.nsinks);
	/* Sinks first: they catch up with what they had not delivered. */
	if (start_sinks(&st) == -1) {
		shutdown_all(&st);
		goto out;
	}
	if (st.conf->daemon.reject_dir != NULL &&
	    *st.conf->daemon.reject_dir != '\0' &&
	    (st.rejects = reject_open(st.conf->daemon.reject_dir,
	    st.conf->daemon.reject_keep, &cause)) == NULL) {
		log_msg(LOG_ERR, "%s", cause);
		free(cause);
		shutdown_all(&st);
		goto out;
	}
	nfds = passed_sockets(&st.conf->listener, &fds, &fd_tls);
	st.passed_sockets = nfds > 0;
	if (nfds == 0 && st.conf->listener.http_port == 0)
		log_warnx("http_port is 0: not listening for HTTP");
	if (nfds == 0 && st.conf->listener.http_port == 0 &&
	    st.conf->listener.https_port == 0)
		; /* nothing to listen on */
	else if ((st.http = http_start(&st.conf->listener, st.dispatch,
	    fds, fd_tls, nfds, &cause)) == NULL) {
		log_msg(LOG_ERR, "listener: %s", cause);
		free(cause);
		shutdown_all(&st);
		goto out;
	}
	if (st.http != NULL && st.rejects != NULL)
		http_set_rejects(st.http, st.rejects);

	cs->lock = &st.view_lock;
	cs->conf = st.conf;
	cs->spool = st.spool;
	cs->sinks = st.sinks;
	cs->nsinks = st.nsinks;
	cs->http = st.http;
	cs->dispatch = st.dispatch;
	cs->seqtrack = st.seqtrack;
	cs->started = started;
	cs->reload = control_reload;
	cs->reload_arg = &st;
	if ((st.conf->daemon.control_socket != NULL &&
	    *st.conf->daemon.control_socket != '\0' &&
	    (st.control = control_start(cs, &cause)) == NULL) ||
	    (st.conf->metrics.listen != NULL &&
	    *st.conf->metrics.listen != '\0' &&
	    (st.metrics = metrics_start(cs, &cause)) == NULL)) {
		log_msg(LOG_ERR, "%s", cause);
		free(cause);
		control_stop(st.control);
		st.control = NULL;
		shutdown_all(&st);
		goto out;
	}

	if (drop_privileges(&st.conf->daemon) == -1) {
		metrics_stop(st.metrics);
		st.metrics = NULL;
		control_stop(st.control);
		st.control = NULL;
		shutdown_all(&st);
		goto out;
	}

	spool_get_stats(st.spool, &ss);
	log_info("cimlistend %s started (%zu sinks, %zu filters; spool %s, "
	    "fsync %s, next seq %llu)", PACKAGE_VERSION, st.nsinks,
	    st.conf->nfilters, st.conf->daemon.spool_dir,
	    spool_fsync_name((enum spool_fsync)st.conf->daemon.fsync),
	    (unsigned long long)ss.next_seq);
	if (ready_fd != -1)
		detach_stderr(st.conf->daemon.log_level);
	report_ready(&ready_fd, true);
	sd_notify(0, "READY=1\nSTATUS=Receiving indications");

	signal_loop(&st, &set);

	sd_notify(0, "STOPPING=1");
	metrics_stop(st.metrics);
	st.metrics = NULL;
	control_stop(st.control);
	st.control = NULL;
	shutdown_all(&st);
	log_totals(&st);
	rc = 0;
out:
	report_ready(&ready_fd, false);
	if (st.conf != NULL)
		pidfile_close(st.conf->daemon.pid_file, pid_fd);
	free_state(&st);
	free(fds);
	free(fd_tls);
	return rc;
}
