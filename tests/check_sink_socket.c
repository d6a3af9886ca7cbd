/*
 * check_sink_socket.c: black-box tests of `type = socket` sinks and of
 * cimlistenctl tail, against the real daemon: subscribers with their own
 * filters, replay into live, slow subscribers and gaps, named durable
 * subscriptions across subscriber and daemon restarts, malformed requests,
 * limits and credentials. Indications are posted with the built
 * cimlistenctl send; the file sink of the same daemon is the reference of
 * what was acknowledged.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <json-c/json.h>

#include "testutil.h"

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static const char *
ctl_path(void)
{
	const char *p = getenv("CIMLISTENCTL");

	return p != NULL && *p != '\0' ? p : BUILDDIR "/src/cimlistenctl";
}

/* A daemon with file sink "f" and socket sink "live" (extra keys for it). */
static struct tu_daemon *
start(const char *live_extra)
{
	char *fmt;
	struct tu_daemon *d;

	ck_assert_int_gt(asprintf(&fmt,
	    "[listener]\nbind = 127.0.0.1\nhttp_port = %%1$u\n"
	    "[daemon]\nspool_dir = %%2$s/spool\n"
	    "control_socket = %%2$s/control.sock\n"
	    "[sink f]\ntype = file\npath = %%2$s/out.jsonl\n"
	    "[sink live]\ntype = socket\npath = %%2$s/events.sock\n"
	    "mode = 0660\n%s\n"
	    "[filter all]\nsinks = f, live\n",
	    live_extra != NULL ? live_extra : ""), 0);
	d = tu_daemon_start_conf(fmt);
	free(fmt);
	ck_assert_int_gt(asprintf(&d->out, "%s/out.jsonl", d->dir), 0);
	return d;
}

static char *
dpath(const struct tu_daemon *d, const char *name)
{
	char *p;

	ck_assert_int_gt(asprintf(&p, "%s/%s", d->dir, name), 0);
	return p;
}

/* Subscriber connections */

struct conn {
	int fd;
	char buf[1 << 16];
	size_t len;
	bool eof;
};

static struct conn *
conn_open(const struct tu_daemon *d)
{
	struct sockaddr_un sun;
	struct conn *c = calloc(1, sizeof *c);
	char *p = dpath(d, "events.sock");

	ck_assert_ptr_nonnull(c);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, p);
	free(p);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ne(c->fd, -1);
	ck_assert_msg(connect(c->fd, (struct sockaddr *)&sun, sizeof sun) == 0,
	    "connect: %s", strerror(errno));
	return c;
}

/* Send s; false if the daemon closed the connection first (EPIPE). */
static bool
conn_try_send(struct conn *c, const char *s)
{
	size_t off = 0, len = strlen(s);
	ssize_t n;

	while (off < len) {
		n = send(c->fd, s + off, len - off, MSG_NOSIGNAL);
		if (n == -1 && (errno == EPIPE || errno == ECONNRESET))
			return false;
		ck_assert_msg(n > 0, "send: %s", strerror(errno));
		off += (size_t)n;
	}
	return true;
}

static void
conn_send(struct conn *c, const char *s)
{
	ck_assert_msg(conn_try_send(c, s), "send: %s", strerror(errno));
}

static void
conn_close(struct conn *c)
{
	close(c->fd);
	free(c);
}

/* The next line (malloc'd, no newline), NULL on EOF or after timeout_ms. */
static char *
conn_line(struct conn *c, unsigned timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	struct pollfd pfd;
	char *nl, *line;
	size_t n;
	ssize_t r;

	for (;;) {
		if ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
			n = (size_t)(nl - c->buf);
			line = malloc(n + 1);
			ck_assert_ptr_nonnull(line);
			memcpy(line, c->buf, n);
			line[n] = '\0';
			memmove(c->buf, nl + 1, c->len - n - 1);
			c->len -= n + 1;
			return line;
		}
		if (c->eof || now_ms() >= deadline)
			return NULL;
		ck_assert_msg(c->len < sizeof c->buf, "line too long");
		pfd.fd = c->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)(deadline - now_ms())) <= 0)
			continue;
		r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
		if (r <= 0)
			c->eof = true;
		else
			c->len += (size_t)r;
	}
}

/* The next message as JSON; aborts on timeout. */
static json_object *
conn_msg(struct conn *c, unsigned timeout_ms)
{
	char *line = conn_line(c, timeout_ms);
	json_object *o;

	ck_assert_msg(line != NULL, "no message within %u ms", timeout_ms);
	o = tu_json(line);
	free(line);
	return o;
}

static const char *
mtype(json_object *o)
{
	return json_object_get_string(tu_jget(o, "type"));
}

static uint64_t
mu64(json_object *o, const char *k)
{
	return (uint64_t)json_object_get_int64(tu_jget(o, k));
}

/* Subscribe with `req` and check the answer; returns its next_seq. */
static uint64_t
subscribe(struct conn *c, const char *req)
{
	json_object *o;
	uint64_t next;

	conn_send(c, req);
	conn_send(c, "\n");
	o = conn_msg(c, 10000);
	ck_assert_msg(strcmp(mtype(o), "subscribed") == 0, "%s -> %s", req,
	    json_object_to_json_string(o));
	next = mu64(o, "next_seq");
	json_object_put(o);
	return next;
}

/* A request that must be refused: the error message, then EOF. */
static char *
refused(const struct tu_daemon *d, const char *req)
{
	struct conn *c = conn_open(d);
	json_object *o;
	char *msg, *line;

	/* The daemon may answer before reading (too many subscribers). */
	(void)conn_try_send(c, req);
	o = conn_msg(c, 10000);
	ck_assert_msg(strcmp(mtype(o), "error") == 0, "%s -> %s", req,
	    json_object_to_json_string(o));
	msg = strdup(json_object_get_string(tu_jget(o, "message")));
	json_object_put(o);
	line = conn_line(c, 10000);
	ck_assert_msg(line == NULL && c->eof, "no close after the error: %s",
	    line ? line : "(timeout)");
	conn_close(c);
	return msg;
}

/* Programs */

static pid_t
spawn_ctl(const char *out, const char *err, const char *const *args)
{
	char *argv[40];
	size_t n = 0;
	pid_t pid;
	int fd;

	argv[n++] = (char *)"cimlistenctl";
	while (*args != NULL && n < 39)
		argv[n++] = (char *)*args++;
	argv[n] = NULL;
	fflush(NULL);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		if ((fd = open("/dev/null", O_RDONLY)) != -1)
			dup2(fd, 0);
		if ((fd = open(out != NULL ? out : "/dev/null",
		    O_WRONLY | O_CREAT | O_APPEND, 0600)) != -1)
			dup2(fd, 1);
		if ((fd = open(err != NULL ? err : "/dev/null",
		    O_WRONLY | O_CREAT | O_APPEND, 0600)) != -1)
			dup2(fd, 2);
		execv(ctl_path(), argv);
		_exit(127);
	}
	return pid;
}

/* Wait (bounded) for a child; its exit status, 128+signal, -1 on timeout. */
static int
wait_child(pid_t pid, unsigned timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	int status;
	pid_t r;

	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) :
			    128 + WTERMSIG(status);
		if (now_ms() >= deadline)
			return -1;
		usleep(10000);
	}
}

/* cimlistenctl send -n N -c C with PerceivedSeverity = sev; started. */
static pid_t
send_bg(const struct tu_daemon *d, unsigned n, unsigned c, unsigned sev)
{
	char url[64], ns[16], cs[16], prop[64];
	const char *args[] = { "send", "-n", ns, "-c", cs, "--property", prop,
		url, NULL };

	snprintf(url, sizeof url, "http://127.0.0.1:%u/", d->port);
	snprintf(ns, sizeof ns, "%u", n);
	snprintf(cs, sizeof cs, "%u", c);
	snprintf(prop, sizeof prop, "PerceivedSeverity=uint16:%u", sev);
	return spawn_ctl(NULL, NULL, args);
}

static void
send_wait(const struct tu_daemon *d, unsigned n, unsigned c, unsigned sev)
{
	ck_assert_int_eq(wait_child(send_bg(d, n, c, sev), 120000), 0);
}

/* The seqs of the file sink's records with severity sev (0: all). */
static uint64_t *
file_seqs(const struct tu_daemon *d, unsigned sev, size_t *np)
{
	char **lines;
	size_t i, n, k = 0;
	uint64_t *seqs;
	json_object *o;

	lines = tu_read_lines(d->out, &n);
	seqs = calloc(n + 1, sizeof *seqs);
	ck_assert_ptr_nonnull(seqs);
	for (i = 0; i < n; i++) {
		o = tu_json(lines[i]);
		if (sev == 0 || json_object_get_int(tu_jget(o,
		    "properties.PerceivedSeverity.value")) == (int)sev)
			seqs[k++] = mu64(o, "seq");
		json_object_put(o);
	}
	tu_free_lines(lines);
	*np = k;
	return seqs;
}

/* Read indications until n came; their seqs. Gaps fail the test. */
static uint64_t *
collect(struct conn *c, size_t n, unsigned timeout_ms)
{
	uint64_t *seqs = calloc(n + 1, sizeof *seqs);
	long deadline = now_ms() + timeout_ms;
	json_object *o;
	size_t k = 0;
	char *line;

	ck_assert_ptr_nonnull(seqs);
	while (k < n) {
		ck_assert_msg(now_ms() < deadline, "only %zu of %zu indications",
		    k, n);
		if ((line = conn_line(c, 1000)) == NULL) {
			ck_assert_msg(!c->eof, "connection closed after %zu", k);
			continue;
		}
		o = tu_json(line);
		free(line);
		if (strcmp(mtype(o), "indication") == 0)
			seqs[k++] = mu64(o, "seq");
		else
			ck_assert_msg(strcmp(mtype(o), "heartbeat") == 0,
			    "unexpected %s", json_object_to_json_string(o));
		json_object_put(o);
	}
	return seqs;
}

static void
assert_same_seqs(const uint64_t *got, const uint64_t *want, size_t n,
    const char *what)
{
	size_t i;

	for (i = 0; i < n; i++)
		ck_assert_msg(got[i] == want[i], "%s: #%zu is seq %llu, not %llu",
		    what, i, (unsigned long long)got[i],
		    (unsigned long long)want[i]);
}

/* Ask the control socket; the result of the answer. */
static json_object *
control(const struct tu_daemon *d, const char *op)
{
	struct sockaddr_un sun;
	char req[64], buf[1 << 16];
	size_t len = 0;
	ssize_t r;
	json_object *o, *res;
	char *p = dpath(d, "control.sock");
	int fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, p);
	free(p);
	/* The control socket comes up just after the HTTP port: wait. */
	for (long deadline = now_ms() + 10000;;) {
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0)
			break;
		close(fd);
		ck_assert_msg(now_ms() < deadline, "control socket: %s",
		    strerror(errno));
		usleep(10000);
	}
	snprintf(req, sizeof req, "{\"op\":\"%s\"}\n", op);
	ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while (len < sizeof buf - 1 && memchr(buf, '\n', len) == NULL &&
	    (r = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
		len += (size_t)r;
	close(fd);
	buf[len] = '\0';
	o = tu_json(buf);
	ck_assert_msg(json_object_get_boolean(tu_jget(o, "ok")), "%s", buf);
	res = json_object_get(tu_jget(o, "result"));
	json_object_put(o);
	return res;
}

/* Wait until sink `name` has passed everything in the spool (bounded). */
static void
wait_caught_up(const struct tu_daemon *d, const char *name)
{
	long deadline = now_ms() + 60000;
	json_object *a, *o;
	size_t i;
	bool done = false;

	while (!done) {
		a = control(d, "sinks");
		for (i = 0; i < json_object_array_length(a); i++) {
			o = json_object_array_get_idx(a, i);
			if (strcmp(json_object_get_string(tu_jget(o, "name")),
			    name) == 0 && mu64(o, "lag") == 0)
				done = true;
		}
		json_object_put(a);
		ck_assert_msg(done || now_ms() < deadline, "sink %s lags", name);
		if (!done)
			usleep(20000);
	}
}

/* Wait until `subscribers` lists n subscribers (bounded). */
static json_object *
wait_subscribers(const struct tu_daemon *d, size_t n, const char *state)
{
	long deadline = now_ms() + 20000;
	json_object *a;
	size_t i, k;

	for (;;) {
		a = control(d, "subscribers");
		for (i = 0, k = 0; i < json_object_array_length(a); i++)
			if (state == NULL || strcmp(json_object_get_string(
			    tu_jget(json_object_array_get_idx(a, i), "state")),
			    state) == 0)
				k++;
		if (k == n && (state != NULL ||
		    json_object_array_length(a) == n))
			return a;
		/* Says what there was instead. */
		ck_assert_msg(now_ms() < deadline, "not %zu subscribers%s%s: "
		    "%s", n, state ? " in state " : "", state ? state : "",
		    json_object_to_json_string(a));
		json_object_put(a);
		usleep(20000);
	}
}

/* The tests */

START_TEST(test_three_subsets)
{
	struct tu_daemon *d = start("buffer = 20000");
	static const char *const where[3] = {
		"PerceivedSeverity >= 5", "PerceivedSeverity = 2",
		"PerceivedSeverity > 6",
	};
	struct conn *c[3];
	uint64_t *got, *want, *w5, *w7;
	size_t i, n5, n7, nw[3];
	pid_t s[3];
	char req[200];

	for (i = 0; i < 3; i++) {
		c[i] = conn_open(d);
		snprintf(req, sizeof req, "{\"op\":\"subscribe\",\"where\":\"%s\"}",
		    where[i]);
		ck_assert_uint_eq(subscribe(c[i], req), 1);
	}
	s[0] = send_bg(d, 4000, 6, 2);
	s[1] = send_bg(d, 3000, 5, 5);
	s[2] = send_bg(d, 3000, 5, 7);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(wait_child(s[i], 120000), 0);
	ck_assert(tu_wait_lines(d->out, 10000, 60000));

	/* The subsets, from the file sink, in seq order. */
	w5 = file_seqs(d, 5, &n5);
	w7 = file_seqs(d, 7, &n7);
	ck_assert_uint_eq(n5, 3000);
	ck_assert_uint_eq(n7, 3000);
	for (i = 0; i < 3; i++) {
		if (i == 0) {
			size_t a = 0, b = 0, k = 0;

			want = calloc(6000, sizeof *want);
			while (a < n5 || b < n7)
				want[k++] = b == n7 || (a < n5 && w5[a] < w7[b]) ?
				    w5[a++] : w7[b++];
			nw[i] = 6000;
		} else if (i == 1)
			want = file_seqs(d, 2, &nw[i]);
		else {
			want = calloc(n7, sizeof *want);
			memcpy(want, w7, n7 * sizeof *want);
			nw[i] = n7;
		}
		got = collect(c[i], nw[i], 60000);
		assert_same_seqs(got, want, nw[i], where[i]);
		free(got);
		free(want);
	}
	ck_assert_uint_eq(nw[1], 4000);
	free(w5);
	free(w7);
	for (i = 0; i < 3; i++)
		conn_close(c[i]);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/* From the oldest record while more arrive: every record once, in order. */
START_TEST(test_replay_to_live)
{
	struct tu_daemon *d = start(NULL);
	struct conn *c;
	uint64_t *got;
	size_t i;
	pid_t s;

	send_wait(d, 300, 4, 3);
	c = conn_open(d);
	s = send_bg(d, 700, 4, 3);
	ck_assert_uint_eq(subscribe(c, "{\"op\":\"subscribe\",\"from\":"
	    "\"oldest\"}"), 1);
	got = collect(c, 1000, 60000);
	ck_assert_int_eq(wait_child(s, 60000), 0);
	for (i = 0; i < 1000; i++)
		ck_assert_uint_eq(got[i], i + 1);
	free(got);
	conn_close(c);

	/* A numeric from is inclusive; replay of a middle range. */
	c = conn_open(d);
	ck_assert_uint_eq(subscribe(c, "{\"op\":\"subscribe\",\"from\":990}"),
	    990);
	got = collect(c, 11, 10000);
	for (i = 0; i < 11; i++)
		ck_assert_uint_eq(got[i], 990 + i);
	free(got);
	conn_close(c);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/* Whether one of the daemon's threads is named `name` (/proc/PID/task). */
static bool
has_thread(pid_t pid, const char *name)
{
	char path[320], comm[32];
	struct dirent *de;
	bool found = false;
	DIR *dir;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	ck_assert_ptr_nonnull(dir = opendir(path));
	while (!found && (de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/%d/task/%s/comm", (int)pid,
		    de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue; /* the thread has just ended */
		if (fgets(comm, sizeof comm, f) != NULL) {
			comm[strcspn(comm, "\n")] = '\0';
			found = strcmp(comm, name) == 0;
		}
		fclose(f);
	}
	closedir(dir);
	return found;
}

/*
 * Each sink's writer, the accept thread, a subscriber and control: named.
 * A socket sink has no writer of its own.
 */
START_TEST(test_thread_names)
{
	struct tu_daemon *d = start(NULL);
	struct conn *c;

	c = conn_open(d);
	ck_assert_uint_eq(subscribe(c, "{\"op\":\"subscribe\"}"), 1);
	ck_assert(has_thread(d->pid, "sink f"));
	ck_assert(!has_thread(d->pid, "sink live"));
	ck_assert(has_thread(d->pid, "accept live"));
	ck_assert(has_thread(d->pid, "sub live"));
	ck_assert(has_thread(d->pid, "control"));
	ck_assert(!has_thread(d->pid, "sink nosuch"));
	conn_close(c);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/*
 * The socket sink counts what the filters route to it as it is appended:
 * its delivered, last_seq and position need no subscriber and no writer,
 * and it has nothing to deliver again.
 */
START_TEST(test_sink_counts)
{
	struct tu_daemon *d = tu_daemon_start_conf(
	    "[listener]\nbind = 127.0.0.1\nhttp_port = %1$u\n"
	    "[daemon]\nspool_dir = %2$s/spool\n"
	    "control_socket = %2$s/control.sock\n"
	    "[sink f]\ntype = file\npath = %2$s/out.jsonl\n"
	    "[sink live]\ntype = socket\npath = %2$s/events.sock\n"
	    "[filter all]\nsinks = f\n"
	    "[filter high]\nwhere = PerceivedSeverity >= 5\nsinks = live\n");
	json_object *a, *o, *live = NULL;
	size_t i;
	int fd;

	ck_assert_int_gt(asprintf(&d->out, "%s/out.jsonl", d->dir), 0);
	send_wait(d, 4, 1, 2);
	send_wait(d, 3, 1, 6);
	wait_caught_up(d, "f");
	a = control(d, "sinks");
	for (i = 0; i < json_object_array_length(a); i++) {
		o = json_object_array_get_idx(a, i);
		if (strcmp(json_object_get_string(tu_jget(o, "name")),
		    "live") == 0)
			live = o;
	}
	ck_assert_ptr_nonnull(live);
	ck_assert_uint_eq(mu64(live, "delivered"), 3);
	ck_assert_uint_eq(mu64(live, "last_seq"), 7);
	ck_assert_uint_eq(mu64(live, "position"), 8);
	ck_assert_uint_eq(mu64(live, "lag"), 0);
	ck_assert_uint_eq(mu64(live, "failures"), 0);
	json_object_put(a);

	fd = tu_ctl_connect(d);
	o = tu_ctl_ask(fd, "{\"op\":\"redeliver\",\"sink\":\"live\","
	    "\"from\":1}\n");
	ck_assert(!json_object_get_boolean(tu_jget(o, "ok")));
	ck_assert_ptr_nonnull(strstr(json_object_get_string(
	    json_object_array_get_idx(tu_jget(o, "errors"), 0)),
	    "sink live is a socket sink: its subscribers read the spool "
	    "themselves"));
	json_object_put(o);
	close(fd);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

#define CURSOR_CONF                                                            \
	"[listener]\nbind = 127.0.0.1\nhttp_port = %1$u\n"                     \
	"[daemon]\nspool_dir = %2$s/spool\n"                                   \
	"control_socket = %2$s/control.sock\n"                                 \
	"[sink f]\ntype = file\npath = %2$s/out.jsonl\n"                       \
	"[filter all]\nsinks = f, live\n"                                      \
	"[sink live]\n"

/*
 * A sink that becomes a socket sink drops the cursor it had: kept, that
 * cursor would never move again and would hold every segment after it.
 */
START_TEST(test_old_cursor_dropped)
{
	struct tu_daemon *d = tu_daemon_start_conf(
	    CURSOR_CONF "type = file\npath = %2$s/live.jsonl\n");
	char *cur_live, *cur_f;
	long deadline;
	FILE *f;

	ck_assert_int_gt(asprintf(&d->out, "%s/out.jsonl", d->dir), 0);
	ck_assert_int_gt(asprintf(&cur_live, "%s/spool/cursors/live",
	    d->dir), 0);
	ck_assert_int_gt(asprintf(&cur_f, "%s/spool/cursors/f", d->dir), 0);
	send_wait(d, 2, 1, 2);
	wait_caught_up(d, "live");
	kill(d->pid, SIGTERM);
	ck_assert(tu_daemon_wait(d, 60000));
	ck_assert_int_eq(access(cur_live, F_OK), 0);

	ck_assert_ptr_nonnull(f = fopen(d->conf, "w"));
	fprintf(f, CURSOR_CONF "type = socket\npath = %2$s/events.sock\n",
	    d->port, d->dir);
	fclose(f);
	tu_daemon_restart(d);
	for (deadline = now_ms() + 10000;
	    access(cur_live, F_OK) == 0 && now_ms() < deadline;)
		usleep(10000);
	ck_assert_int_eq(access(cur_live, F_OK), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(access(cur_f, F_OK), 0);
	send_wait(d, 1, 1, 2);
	wait_caught_up(d, "f");
	free(cur_live);
	free(cur_f);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/*
 * A subscriber that does not read never holds anything up; when it reads
 * again it gets what fitted, a gap, and live records.
 */
START_TEST(test_slow_subscriber)
{
	struct tu_daemon *d = start("buffer = 50");
	struct conn *slow, *fast;
	json_object *o, *a;
	uint64_t *got, last = 0, gfrom = 0, gto = 0;
	size_t i, before = 0;

	slow = conn_open(d);
	fast = conn_open(d);
	ck_assert_uint_eq(subscribe(slow, "{\"op\":\"subscribe\"}"), 1);
	/* The test reads it after sending: it must not lose any either. */
	ck_assert_uint_eq(subscribe(fast, "{\"op\":\"subscribe\","
	    "\"name\":\"fast\",\"overflow\":\"replay\"}"), 1);
	/* 3000 records of ~1.6 KB: far more than the socket buffer + 50. */
	send_wait(d, 3000, 8, 4);
	got = collect(fast, 3000, 60000);
	for (i = 0; i < 3000; i++)
		ck_assert_uint_eq(got[i], i + 1);
	free(got);
	a = wait_subscribers(d, 1, "overflow");
	json_object_put(a);

	/* Now read: consecutive records from 1, one gap, then live. */
	for (;;) {
		o = conn_msg(slow, 10000);
		if (strcmp(mtype(o), "gap") == 0) {
			gfrom = mu64(o, "from");
			gto = mu64(o, "to");
			ck_assert_str_eq(json_object_get_string(tu_jget(o,
			    "reason")), "overflow");
			json_object_put(o);
			break;
		}
		ck_assert_str_eq(mtype(o), "indication");
		ck_assert_uint_eq(mu64(o, "seq"), last + 1);
		last = mu64(o, "seq");
		before++;
		json_object_put(o);
	}
	ck_assert_uint_gt(before, 0);
	ck_assert_uint_lt(before, 3000);
	ck_assert_uint_eq(gfrom, last + 1);
	ck_assert_uint_eq(gto, 3000);
	send_wait(d, 10, 1, 4);
	got = collect(slow, 10, 10000);
	for (i = 0; i < 10; i++)
		ck_assert_uint_eq(got[i], 3001 + i);
	free(got);
	got = collect(fast, 10, 10000);
	ck_assert_uint_eq(got[0], 3001);
	free(got);

	a = wait_subscribers(d, 2, "live");
	for (i = 0; i < 2; i++) {
		/* fast: named, no gap; slow: one gap of what it lost. */
		o = json_object_array_get_idx(a, i);
		if (mu64(o, "gaps") == 1)
			ck_assert_uint_eq(mu64(o, "lost"), gto - gfrom + 1);
		else
			ck_assert_uint_eq(mu64(o, "sent"), 3010);
	}
	json_object_put(a);
	conn_close(slow);
	conn_close(fast);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/* overflow = replay: a named subscriber that stalls loses nothing. */
START_TEST(test_overflow_replay)
{
	struct tu_daemon *d = start("buffer = 20");
	struct conn *c = conn_open(d);
	uint64_t *got;
	size_t i;

	ck_assert_uint_eq(subscribe(c, "{\"op\":\"subscribe\",\"name\":\"r\","
	    "\"overflow\":\"replay\"}"), 1);
	send_wait(d, 2000, 8, 4);
	json_object_put(wait_subscribers(d, 1, "paused"));
	got = collect(c, 2000, 60000);
	for (i = 0; i < 2000; i++)
		ck_assert_uint_eq(got[i], i + 1);
	free(got);
	conn_close(c);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/* Acks persist a named subscription's place, across daemon restarts. */
START_TEST(test_named_ack)
{
	struct tu_daemon *d = start(NULL);
	struct conn *c, *c2;
	uint64_t *got;
	char *msg;

	send_wait(d, 20, 2, 3);
	c = conn_open(d);
	ck_assert_uint_eq(subscribe(c, "{\"op\":\"subscribe\",\"name\":\"t1\","
	    "\"from\":\"oldest\"}"), 1);
	got = collect(c, 10, 10000);
	ck_assert_uint_eq(got[9], 10);
	free(got);
	conn_send(c, "{\"op\":\"ack\",\"seq\":6}\n");
	/* The same name twice at once is refused. */
	msg = refused(d, "{\"op\":\"subscribe\",\"name\":\"t1\"}\n");
	ck_assert_msg(strstr(msg, "in use") != NULL, "%s", msg);
	free(msg);
	/* An ack past what was passed is an error. */
	conn_send(c, "{\"op\":\"ack\",\"seq\":999}\n");
	{
		json_object *o;

		for (;;) {
			o = conn_msg(c, 10000);
			if (strcmp(mtype(o), "error") == 0)
				break;
			json_object_put(o);
		}
		ck_assert_ptr_nonnull(strstr(json_object_get_string(tu_jget(o,
		    "message")), "beyond"));
		json_object_put(o);
	}
	conn_close(c);

	/* Reconnect: resumes after the ack (the connection is gone first). */
	for (;;) {
		c2 = conn_open(d);
		conn_send(c2, "{\"op\":\"subscribe\",\"name\":\"t1\"}\n");
		msg = conn_line(c2, 10000);
		ck_assert_ptr_nonnull(msg);
		if (strstr(msg, "subscribed") != NULL)
			break;
		ck_assert_msg(strstr(msg, "in use") != NULL, "%s", msg);
		free(msg);
		conn_close(c2);
		usleep(50000);
	}
	ck_assert_ptr_nonnull(strstr(msg, "\"next_seq\":7"));
	free(msg);
	got = collect(c2, 3, 10000);
	ck_assert_uint_eq(got[0], 7);
	free(got);
	conn_send(c2, "{\"op\":\"ack\",\"seq\":8}\n");
	/* The ack is persisted before the daemon goes. */
	json_object_put(wait_subscribers(d, 1, NULL));
	{
		long deadline = now_ms() + 10000;
		json_object *a, *o;

		for (;;) {
			a = control(d, "subscribers");
			o = json_object_array_get_idx(a, 0);
			if (mu64(o, "acked") == 8) {
				json_object_put(a);
				break;
			}
			json_object_put(a);
			ck_assert(now_ms() < deadline);
			usleep(20000);
		}
	}
	kill(d->pid, SIGKILL);
	ck_assert(tu_daemon_wait(d, 10000));
	conn_close(c2);
	tu_daemon_restart(d);
	c = conn_open(d);
	ck_assert_uint_eq(subscribe(c, "{\"op\":\"subscribe\",\"name\":\"t1\","
	    "\"from\":\"ack\"}"), 9);
	got = collect(c, 12, 10000);
	ck_assert_uint_eq(got[0], 9);
	ck_assert_uint_eq(got[11], 20);
	free(got);
	conn_close(c);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/*
 * cimlistenctl tail --name: the subscriber stopped and restarted, then the
 * daemon killed and restarted, while indications keep arriving: the
 * concatenated output holds every record exactly once.
 */
START_TEST(test_tail_named_restarts)
{
	struct tu_daemon *d = start(NULL);
	char *out = dpath(d, "tail.out"), *err = dpath(d, "tail.err");
	char *sock = dpath(d, "events.sock");
	const char *args[] = { "tail", "--socket", sock, "--name", "keep",
		"--retry-initial", "0.05", "--retry-max", "0.5", NULL };
	uint64_t *want, *seen;
	char **lines;
	size_t i, n, nwant;
	pid_t t, s;
	json_object *o;
	uint64_t seq;

	t = spawn_ctl(out, err, args);
	json_object_put(wait_subscribers(d, 1, NULL));
	s = send_bg(d, 1500, 2, 3);
	ck_assert(tu_wait_lines(out, 300, 60000));
	kill(t, SIGTERM);
	ck_assert_int_eq(wait_child(t, 10000), 0);
	t = spawn_ctl(out, err, args);
	ck_assert(tu_wait_lines(out, 700, 60000));
	kill(d->pid, SIGKILL);
	ck_assert(tu_daemon_wait(d, 10000));
	(void)wait_child(s, 60000); /* it saw the daemon go */
	tu_daemon_restart(d);
	send_wait(d, 500, 2, 3);
	wait_caught_up(d, "f");

	want = file_seqs(d, 0, &nwant);
	/* The file sink may hold re-deliveries after the kill: unique seqs. */
	{
		size_t k = 0;

		for (i = 0; i < nwant; i++)
			if (k == 0 || want[i] > want[k - 1])
				want[k++] = want[i];
		nwant = k;
	}
	ck_assert_uint_ge(nwant, 1000);
	ck_assert(tu_wait_lines(out, nwant, 60000));
	kill(t, SIGINT);
	ck_assert_int_eq(wait_child(t, 10000), 0);

	lines = tu_read_lines(out, &n);
	seen = calloc(n + 1, sizeof *seen);
	for (i = 0; i < n; i++) {
		o = tu_json(lines[i]);
		seq = mu64(o, "seq");
		ck_assert_msg(json_object_object_get_ex(o, "type", NULL) == 0,
		    "tail prints the record, not the message");
		json_object_put(o);
		seen[i] = seq;
		ck_assert_msg(i == 0 || seq > seen[i - 1], "tail output line %zu: "
		    "seq %llu after %llu (%zu lines, %zu wanted)", i,
		    (unsigned long long)seq, (unsigned long long)seen[i - 1], n,
		    nwant);
	}
	ck_assert_uint_eq(n, nwant);
	assert_same_seqs(seen, want, n, "tail output");
	free(seen);
	tu_free_lines(lines);
	free(want);
	free(out);
	free(err);
	free(sock);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/* An unnamed tail survives a daemon restart without a hole. */
START_TEST(test_tail_survives_restart)
{
	struct tu_daemon *d = start(NULL);
	char *out = dpath(d, "tail.out"), *sock = dpath(d, "events.sock");
	const char *args[] = { "tail", "--socket", sock, "--format", "template",
		"--template", "{__SEQ}", "--retry-initial", "0.05",
		"--retry-max", "0.2", NULL };
	char **lines;
	size_t i, n;
	pid_t t;

	t = spawn_ctl(out, NULL, args);
	json_object_put(wait_subscribers(d, 1, NULL));
	send_wait(d, 200, 2, 3);
	ck_assert(tu_wait_lines(out, 200, 30000));
	kill(d->pid, SIGTERM);
	ck_assert(tu_daemon_wait(d, 30000));
	ck_assert_int_eq(d->status, 0);
	/* Accepted while tail is away: it must get them on reconnecting. */
	tu_daemon_restart(d);
	send_wait(d, 200, 2, 3);
	ck_assert(tu_wait_lines(out, 400, 30000));
	kill(t, SIGTERM);
	ck_assert_int_eq(wait_child(t, 10000), 0);
	lines = tu_read_lines(out, &n);
	ck_assert_uint_eq(n, 400);
	for (i = 0; i < n; i++)
		ck_assert_uint_eq(strtoull(lines[i], NULL, 10), i + 1);
	tu_free_lines(lines);
	free(out);
	free(sock);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

START_TEST(test_bad_requests)
{
	struct tu_daemon *d = start("max_subscribers = 20");
	static const struct {
		const char *req;
		const char *msg;
	} bad[] = {
		{ "not json\n", "not a JSON object" },
		{ "[1,2]\n", "not a JSON object" },
		{ "{\"op\":\"bogus\"}\n", "unknown op \"bogus\"" },
		{ "{\"op\":\"ack\",\"seq\":1}\n", "first request must be subscribe" },
		{ "{\"where\":\"x = 1\"}\n", "no \"op\"" },
		{ "{\"op\":\"subscribe\",\"where\":\"PerceivedSeverity >\"}\n",
		  "where: column 20: " },
		{ "{\"op\":\"subscribe\",\"where\":\"(a = 1\"}\n",
		  "where: column " },
		{ "{\"op\":\"subscribe\",\"from\":\"ack\"}\n",
		  "from \"ack\" needs a named subscription" },
		{ "{\"op\":\"subscribe\",\"from\":\"yesterday\"}\n",
		  "from must be" },
		{ "{\"op\":\"subscribe\",\"from\":0}\n", "from must be" },
		{ "{\"op\":\"subscribe\",\"from\":999999}\n",
		  "beyond the next sequence number" },
		{ "{\"op\":\"subscribe\",\"overflow\":\"replay\"}\n",
		  "needs a named subscription" },
		{ "{\"op\":\"subscribe\",\"overflow\":\"drop\"}\n",
		  "unknown overflow" },
		{ "{\"op\":\"subscribe\",\"format\":\"xml\"}\n",
		  "unknown format \"xml\"" },
		{ "{\"op\":\"subscribe\",\"format\":\"template\"}\n",
		  "needs a \"template\"" },
		{ "{\"op\":\"subscribe\",\"format\":\"template\","
		  "\"template\":\"{oops\"}\n", "template: column " },
		{ "{\"op\":\"subscribe\",\"name\":\"a/b\"}\n", "invalid name" },
		{ "{\"op\":\"subscribe\",\"heartbeat\":-1}\n", "heartbeat must" },
		{ "{\"op\":\"subscribe\",\"heartbeat\":\"10\"}\n",
		  "wrong type" },
		{ "{\"op\":\"subscribe\",\"since\":\"today\"}\n", "since must" },
		{ "{\"op\":\"subscribe\",\"colour\":\"red\"}\n",
		  "unknown key \"colour\"" },
	};
	struct conn *good, *c;
	json_object *o;
	uint64_t *got;
	char *msg, *huge;
	size_t i;

	good = conn_open(d);
	ck_assert_uint_eq(subscribe(good, "{\"op\":\"subscribe\"}"), 1);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		msg = refused(d, bad[i].req);
		ck_assert_msg(strstr(msg, bad[i].msg) != NULL,
		    "%s: got \"%s\", want \"%s\"", bad[i].req, msg, bad[i].msg);
		free(msg);
	}
	/* A line longer than 64 KiB. */
	huge = malloc(70001);
	memset(huge, 'x', 70000);
	huge[70000] = '\0';
	msg = refused(d, huge);
	ck_assert_msg(strstr(msg, "longer than 65536") != NULL, "%s", msg);
	free(msg);
	free(huge);
	/* Errors after subscribing: ack unnamed, a second subscribe. */
	c = conn_open(d);
	subscribe(c, "{\"op\":\"subscribe\"}");
	conn_send(c, "{\"op\":\"ack\",\"seq\":1}\n");
	o = conn_msg(c, 10000);
	ck_assert_str_eq(mtype(o), "error");
	ck_assert_ptr_nonnull(strstr(json_object_get_string(tu_jget(o,
	    "message")), "ack needs a named subscription"));
	json_object_put(o);
	ck_assert_ptr_null(conn_line(c, 10000));
	conn_close(c);
	c = conn_open(d);
	subscribe(c, "{\"op\":\"subscribe\"}");
	conn_send(c, "{\"op\":\"subscribe\"}\n");
	o = conn_msg(c, 10000);
	ck_assert_ptr_nonnull(strstr(json_object_get_string(tu_jget(o,
	    "message")), "already subscribed"));
	json_object_put(o);
	conn_close(c);

	/* The good subscriber was served throughout. */
	send_wait(d, 5, 1, 3);
	got = collect(good, 5, 10000);
	ck_assert_uint_eq(got[0], 1);
	ck_assert_uint_eq(got[4], 5);
	free(got);
	conn_close(good);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

START_TEST(test_limits_and_credentials)
{
	struct tu_daemon *d = start("max_subscribers = 2");
	struct conn *a, *b;
	struct stat st;
	json_object *subs, *o;
	char *msg, *sock = dpath(d, "events.sock");
	size_t i;

	ck_assert_int_eq(stat(sock, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0660);
	a = conn_open(d);
	b = conn_open(d);
	subscribe(a, "{\"op\":\"subscribe\",\"name\":\"one\","
	    "\"where\":\"PerceivedSeverity > 3\"}");
	subscribe(b, "{\"op\":\"subscribe\"}");
	msg = refused(d, "{\"op\":\"subscribe\"}\n");
	ck_assert_msg(strstr(msg, "too many subscribers (max_subscribers = 2)")
	    != NULL, "%s", msg);
	free(msg);
	subs = wait_subscribers(d, 2, NULL);
	for (i = 0; i < 2; i++) {
		o = json_object_array_get_idx(subs, i);
		ck_assert_int_eq(json_object_get_int(tu_jget(o, "pid")), getpid());
		ck_assert_int_eq(json_object_get_int(tu_jget(o, "uid")),
		    (int)getuid());
		ck_assert_str_eq(json_object_get_string(tu_jget(o, "sink")),
		    "live");
		if (tu_jget(o, "name") != NULL) {
			ck_assert_str_eq(json_object_get_string(tu_jget(o,
			    "name")), "one");
			ck_assert_str_eq(json_object_get_string(tu_jget(o,
			    "where")), "PerceivedSeverity > 3");
		}
	}
	json_object_put(subs);
	/* One goes: a new one is let in. */
	conn_close(b);
	json_object_put(wait_subscribers(d, 1, NULL));
	b = conn_open(d);
	subscribe(b, "{\"op\":\"subscribe\"}");
	conn_close(a);
	conn_close(b);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
	/* The socket is removed at stop. */
	ck_assert_int_eq(stat(sock, &st), -1);
	free(sock);
}
END_TEST

START_TEST(test_formats_heartbeat_since)
{
	struct tu_daemon *d = start("format = template\n"
	    "template = sink {__SEQ}");
	struct conn *m, *t, *dt, *h, *s;
	json_object *o;
	const char *text;
	char when[40], req[200];
	struct timespec now;
	struct tm tm;

	send_wait(d, 3, 1, 3);
	m = conn_open(d);
	subscribe(m, "{\"op\":\"subscribe\",\"format\":\"mof\",\"from\":1}");
	o = conn_msg(m, 10000);
	ck_assert_str_eq(mtype(o), "indication");
	ck_assert_uint_eq(mu64(o, "seq"), 1);
	text = json_object_get_string(tu_jget(o, "text"));
	ck_assert_msg(strncmp(text, "instance of CIM_AlertIndication {\n",
	    34) == 0, "%s", text);
	ck_assert_ptr_nonnull(strstr(text, "PerceivedSeverity = 3;"));
	json_object_put(o);
	t = conn_open(d);
	subscribe(t, "{\"op\":\"subscribe\",\"format\":\"template\","
	    "\"template\":\"{__SEQ}:{PerceivedSeverity}\",\"from\":2}");
	o = conn_msg(t, 10000);
	ck_assert_str_eq(json_object_get_string(tu_jget(o, "text")), "2:3");
	json_object_put(o);
	/* The sink's format and template are the default. */
	dt = conn_open(d);
	subscribe(dt, "{\"op\":\"subscribe\",\"from\":3}");
	o = conn_msg(dt, 10000);
	ck_assert_str_eq(json_object_get_string(tu_jget(o, "text")), "sink 3");
	json_object_put(o);
	/* Heartbeats when idle carry the last seq passed. */
	h = conn_open(d);
	subscribe(h, "{\"op\":\"subscribe\",\"heartbeat\":1,"
	    "\"where\":\"PerceivedSeverity = 7\",\"from\":1}");
	o = conn_msg(h, 5000);
	ck_assert_str_eq(mtype(o), "heartbeat");
	ck_assert_uint_eq(mu64(o, "last_seq"), 3);
	json_object_put(o);
	/* since: records received before the time are skipped. */
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + 19, sizeof when - 19, ".%06ldZ", now.tv_nsec / 1000);
	snprintf(req, sizeof req, "{\"op\":\"subscribe\",\"since\":\"%s\","
	    "\"format\":\"json\"}", when);
	s = conn_open(d);
	ck_assert_uint_eq(subscribe(s, req), 1);
	send_wait(d, 1, 1, 3);
	o = conn_msg(s, 10000);
	ck_assert_str_eq(mtype(o), "indication");
	ck_assert_uint_eq(mu64(o, "seq"), 4);
	ck_assert_str_eq(json_object_get_string(tu_jget(o, "class")),
	    "CIM_AlertIndication");
	json_object_put(o);
	conn_close(m);
	conn_close(t);
	conn_close(dt);
	conn_close(h);
	conn_close(s);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

START_TEST(test_tail_exits)
{
	struct tu_daemon *d = start(NULL);
	char *out = dpath(d, "t.out"), *err = dpath(d, "t.err");
	char *sock = dpath(d, "events.sock"), *ctl = dpath(d, "control.sock");
	char *cmd, *log;
	const char *args[] = { "tail", "--control", ctl, "--from", "oldest",
		"--where", "PerceivedSeverity = 3", NULL };
	const char *bad[] = { "tail", "--socket", sock, "--where", "x >",
		NULL };
	const char *dead[] = { "tail", "--socket", "/nonexistent/sock", NULL };
	int status;
	pid_t t;

	send_wait(d, 10, 1, 3);
	/* Through a pipe into head: exits 0 once head has gone. */
	ck_assert_int_gt(asprintf(&cmd, "'%s' tail --socket '%s' --from oldest "
	    "| head -n 2 > '%s'; exit ${PIPESTATUS:-0}", ctl_path(), sock,
	    out), 0);
	{
		char *shargs[] = { (char *)"bash", (char *)"-c", cmd, NULL };
		pid_t p = fork();

		if (p == 0) {
			char *c2;

			if (asprintf(&c2, "set -o pipefail; %s", cmd) < 0)
				_exit(126);
			shargs[2] = c2;
			execvp("bash", shargs);
			_exit(127);
		}
		status = wait_child(p, 20000);
	}
	ck_assert_int_eq(status, 0);
	ck_assert(tu_wait_lines(out, 2, 1000));
	free(cmd);
	/* SIGINT: exit 0 with everything written. */
	unlink(out);
	t = spawn_ctl(out, err, args);
	ck_assert(tu_wait_lines(out, 10, 20000));
	kill(t, SIGINT);
	ck_assert_int_eq(wait_child(t, 10000), 0);
	/* SIGTERM while stuck writing to a pipe nobody reads: exit 0. */
	{
		char *fifo = dpath(d, "fifo");
		int keep;

		ck_assert_int_eq(mkfifo(fifo, 0600), 0);
		keep = open(fifo, O_RDWR);	/* a reader that never reads */
		ck_assert_int_ne(keep, -1);
		t = spawn_ctl(fifo, err, args);
		send_wait(d, 300, 2, 3);	/* ~500 KB: the pipe fills */
		/* Until tail is stuck in its write to the full pipe. */
		{
			long deadline = now_ms() + 20000;
			char wpath[64], *wchan;

			snprintf(wpath, sizeof wpath, "/proc/%d/wchan", (int)t);
			for (;;) {
				wchan = tu_read_file(wpath, NULL);
				if (wchan != NULL &&
				    strstr(wchan, "pipe_write") != NULL) {
					free(wchan);
					break;
				}
				free(wchan);
				ck_assert_msg(now_ms() < deadline,
				    "tail never blocked on the pipe");
				usleep(10000);
			}
		}
		kill(t, SIGTERM);
		ck_assert_int_eq(wait_child(t, 10000), 0);
		close(keep);
		free(fifo);
	}
	/* A refused subscription: 1 with the message. */
	t = spawn_ctl(NULL, err, bad);
	ck_assert_int_eq(wait_child(t, 10000), 1);
	log = tu_read_file(err, NULL);
	ck_assert_ptr_nonnull(strstr(log, "where: column 4: "));
	free(log);
	/* No socket: 4. */
	t = spawn_ctl(NULL, NULL, dead);
	ck_assert_int_eq(wait_child(t, 10000), 4);
	free(out);
	free(err);
	free(sock);
	free(ctl);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sink_socket");
	TCase *tc = tcase_create("socket");

	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_three_subsets);
	tcase_add_test(tc, test_replay_to_live);
	tcase_add_test(tc, test_thread_names);
	tcase_add_test(tc, test_sink_counts);
	tcase_add_test(tc, test_old_cursor_dropped);
	tcase_add_test(tc, test_slow_subscriber);
	tcase_add_test(tc, test_overflow_replay);
	tcase_add_test(tc, test_named_ack);
	tcase_add_test(tc, test_tail_named_restarts);
	tcase_add_test(tc, test_tail_survives_restart);
	tcase_add_test(tc, test_bad_requests);
	tcase_add_test(tc, test_limits_and_credentials);
	tcase_add_test(tc, test_formats_heartbeat_since);
	tcase_add_test(tc, test_tail_exits);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
