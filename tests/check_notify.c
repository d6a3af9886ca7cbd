/*
 * check_notify.c: the daemon under a service manager's notify protocol.
 * The test plays the manager: it binds a datagram socket, starts the real
 * daemon with NOTIFY_SOCKET pointing at it, and checks READY=1 (sent once
 * the listener is up), the STATUS= line with the rates and the count of
 * received indications, and STOPPING=1 at shutdown; and socket
 * activation (LISTEN_FDS, LISTEN_FDNAMES): requests served on the passed
 * socket; and the watchdog, which stops pinging while a sink is stuck;
 * and SIGHUP: RELOADING=1 with a plausible MONOTONIC_USEC, then READY=1.
 *
 * Every wait is on a condition with a bounded timeout.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/un.h>
#include <check.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "tlsutil.h"

#include "buf.h"
#include "xmalloc.h"

static int
notify_socket(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(path), sizeof sun.sun_path);
	strcpy(sun.sun_path, path);
	ck_assert_int_ne(fd = socket(AF_UNIX, SOCK_DGRAM, 0), -1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	return fd;
}

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Read notifications into `all` (one message a line) until one contains
 * `needle`; that message is returned (malloc'd), NULL on timeout.
 */
static char *
wait_message(int fd, struct buf *all, const char *needle,
    unsigned timeout_ms)
{
	double end = now_sec() + timeout_ms / 1000.0;
	struct pollfd pfd = { fd, POLLIN, 0 };
	char msg[4096];
	ssize_t n;

	while (now_sec() < end) {
		if (poll(&pfd, 1, 100) != 1)
			continue;
		n = recv(fd, msg, sizeof msg - 1, 0);
		ck_assert_int_ge(n, 0);
		msg[n] = '\0';
		buf_adds(all, msg);
		buf_addc(all, '\n');
		if (strstr(msg, needle) != NULL)
			return xstrdup(msg);
	}
	return NULL;
}

/*
 * Start the daemon with NOTIFY_SOCKET at dir/notify (*fd, *path and *env0
 * are the caller's to close and free) and wait for its READY=1.
 */
static struct tu_daemon *
start_notified(const char *dir, int *fd, char **path, char **env0,
    struct buf *all)
{
	struct tu_daemon *d;
	const char *env[2];
	char *m;

	xasprintf(path, "%s/notify", dir);
	*fd = notify_socket(*path);
	xasprintf(env0, "NOTIFY_SOCKET=%s", *path);
	env[0] = *env0;
	env[1] = NULL;
	d = tu_daemon_start_env(NULL, NULL, env);
	m = wait_message(*fd, all, "READY=1", 20000);
	ck_assert_msg(m != NULL, "no READY=1; got:\n%s", all->data);
	free(m);
	return d;
}

START_TEST(test_ready_status_stopping)
{
	struct tu_daemon *d;
	struct tu_response *resp;
	struct buf all = BUF_INIT;
	char *dir = tu_tmpdir(), *path, *env0, *m, *body;
	size_t len;
	int fd, i;

	d = start_notified(dir, &fd, &path, &env0, &all);

	body = tu_sample("alert-indication.xml", &len);
	for (i = 0; i < 3; i++) {
		resp = tu_post(d->port, body, len);
		ck_assert_int_eq(resp->status, 200);
		tu_response_free(resp);
	}
	ck_assert(tu_wait_lines(d->out, 3, 10000));
	m = wait_message(fd, &all, "3 received in all", 20000);
	ck_assert_msg(m != NULL, "no STATUS= counting 3; got:\n%s", all.data);
	ck_assert_msg(strncmp(m, "STATUS=", 7) == 0, "%s", m);
	ck_assert_msg(strstr(m, " received/s, ") != NULL &&
	    strstr(m, " delivered/s, ") != NULL, "%s", m);
	free(m);

	ck_assert_int_eq(tu_daemon_stop(d), 0);
	m = wait_message(fd, &all, "STOPPING=1", 10000);
	ck_assert_msg(m != NULL, "no STOPPING=1; got:\n%s", all.data);
	free(m);
	close(fd);
	buf_free(&all);
	free(body);
	free(env0);
	free(path);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/* A listening TCP socket on 127.0.0.1 with a port of its own. */
/*
 * Socket activation: the sockets come as fds 3 and 4 with LISTEN_FDS,
 * LISTEN_PID and LISTEN_FDNAMES=http:https; indications are served on the
 * "http" one (not on the configured http_port), the "https" one is
 * closed with a warning since no certfile is set (check_tls serves one).
 */
static void
socket_activation(bool https)
{
	struct tu_response *resp;
	struct buf all = BUF_INIT;
	char *dir = tu_tmpdir(), *path, *conf, *text, *logp, *out, *m, *body;
	char *log, *pki = NULL, *tlskeys = NULL;
	const char *prog = getenv("CIMLISTEND");
	unsigned port, port2, cport = tu_free_port();
	size_t len;
	int fd, s1, s2, status;
	pid_t pid;

	if (prog == NULL)
		prog = BUILDDIR "/src/cimlistend";
	xasprintf(&path, "%s/notify", dir);
	fd = notify_socket(path);
	s1 = tu_listen_tcp(&port);
	s2 = tu_listen_tcp(&port2);
	xasprintf(&conf, "%s/c.conf", dir);
	xasprintf(&out, "%s/out.jsonl", dir);
	xasprintf(&logp, "%s/stderr.log", dir);
	if (https) {
		pki = tls_pki_dir();
		xasprintf(&tlskeys, "https_port = %u\ncertfile = %s/srv.crt\n"
		    "keyfile = %s/srv.key\n", tu_free_port(), pki, pki);
	}
	xasprintf(&text, "[listener]\nhttp_port = %u\nbind = 127.0.0.1\n%s"
	    "[daemon]\nspool_dir = %s/spool\ncontrol_socket = %s/ctl.sock\n"
	    "[sink out]\ntype = file\npath = %s\n[filter all]\nsinks = out\n",
	    cport, https ? tlskeys : "", dir, dir, out);
	tu_write_file(conf, text, strlen(text));

	fflush(NULL);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		char pidbuf[32];
		int lfd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (lfd == -1 || dup2(lfd, 1) == -1 || dup2(lfd, 2) == -1 ||
		    dup2(s1, 10) == -1 || dup2(s2, 11) == -1 ||
		    dup2(10, 3) == -1 || dup2(11, 4) == -1)
			_exit(126);
		/* Only 3 and 4 may hold the sockets. */
		close(10);
		close(11);
		if (s1 > 4)
			close(s1);
		if (s2 > 4)
			close(s2);
		if (fd > 4)
			close(fd);
		snprintf(pidbuf, sizeof pidbuf, "%ld", (long)getpid());
		setenv("LISTEN_PID", pidbuf, 1);
		setenv("LISTEN_FDS", "2", 1);
		setenv("LISTEN_FDNAMES", "http:https", 1);
		setenv("NOTIFY_SOCKET", path, 1);
		execl(prog, prog, "-f", "-c", conf, (char *)NULL);
		_exit(127);
	}
	close(s1);
	close(s2);
	m = wait_message(fd, &all, "READY=1", 20000);
	log = tu_read_file(logp, NULL);
	ck_assert_msg(m != NULL, "no READY=1; log:\n%s", log);
	free(m);
	free(log);

	body = tu_sample("alert-indication.xml", &len);
	resp = tu_post(port, body, len);
	ck_assert_int_eq(resp->status, 200);
	tu_response_free(resp);
	ck_assert(tu_wait_lines(out, 1, 10000));
	/* The configured port was not bound, the https one served or closed. */
	ck_assert(tu_port_refuses(cport));
	log = tu_read_file(logp, NULL);
	if (https) {
		struct tls_req q = {.https = true};

		ck_assert_int_eq(tls_post(port2, &q, NULL), 200);
		ck_assert(tu_wait_lines(out, 2, 10000));
		ck_assert_msg(strstr(log, "listening on 127.0.0.1:") != NULL &&
		    strstr(log, "for HTTPS") != NULL, "%s", log);
	} else {
		ck_assert(tu_port_refuses(port2));
		ck_assert_msg(strstr(log, "passed socket 4 named 'https': not "
		    "used (https_port or certfile not set), closed") != NULL,
		    "%s", log);
	}
	ck_assert_msg(strstr(log, "passed by the service manager") != NULL,
	    "%s", log);
	free(log);

	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	m = wait_message(fd, &all, "STOPPING=1", 10000);
	ck_assert_msg(m != NULL, "no STOPPING=1; got:\n%s", all.data);
	free(m);
	close(fd);
	buf_free(&all);
	free(body);
	free(text);
	free(conf);
	free(out);
	free(logp);
	free(path);
	tu_rmtree(dir);
	free(dir);
	if (pki != NULL)
		tu_rmtree(pki);
	free(pki);
	free(tlskeys);
}

START_TEST(test_socket_activation)
{
	socket_activation(false);
}
END_TEST

/* The same with certfile set: the "https" socket serves HTTPS. */
START_TEST(test_socket_activation_https)
{
	socket_activation(true);
}
END_TEST

/* Drain queued notifications into all without waiting. */
static void
drain(int fd, struct buf *all)
{
	char msg[4096];
	ssize_t n;

	while ((n = recv(fd, msg, sizeof msg - 1, MSG_DONTWAIT)) > 0) {
		msg[n] = '\0';
		buf_adds(all, msg);
		buf_addc(all, '\n');
	}
}

static bool
wait_log(const struct tu_daemon *d, const char *needle, unsigned timeout_ms)
{
	unsigned waited;

	for (waited = 0; waited < timeout_ms; waited += 10) {
		if (tu_daemon_log_has(d, needle))
			return true;
		usleep(10000);
	}
	return false;
}

/*
 * WATCHDOG_USEC: WATCHDOG=1 every half period while there is progress;
 * a sink whose write blocks (a FIFO nobody reads) stops the pings; they
 * resume once it can write again.
 */
START_TEST(test_watchdog)
{
	struct tu_daemon *d;
	struct tu_response *resp;
	struct buf all = BUF_INIT;
	char *dir = tu_tmpdir(), *path, *env0, *fifo, *extra, *m, *body;
	char tmp[65536];
	const char *env[3];
	size_t len, lines = 0;
	ssize_t n;
	int fd, rfd, i;

	xasprintf(&path, "%s/notify", dir);
	fd = notify_socket(path);
	xasprintf(&fifo, "%s/slow.fifo", dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	ck_assert_int_ne(rfd = open(fifo, O_RDONLY | O_NONBLOCK), -1);
	xasprintf(&env0, "NOTIFY_SOCKET=%s", path);
	env[0] = env0;
	env[1] = "WATCHDOG_USEC=1000000";
	env[2] = NULL;
	xasprintf(&extra, "[sink slow]\ntype = file\npath = %s\n"
	    "[filter to-slow]\nsinks = slow\n", fifo);
	d = tu_daemon_start_env(NULL, extra, env);

	ck_assert_msg((m = wait_message(fd, &all, "WATCHDOG=1", 10000)) !=
	    NULL, "no WATCHDOG=1; got:\n%s", all.data);
	free(m);
	ck_assert((m = wait_message(fd, &all, "WATCHDOG=1", 10000)) != NULL);
	free(m);

	/* More than the pipe holds: the slow sink's write blocks. */
	body = tu_sample("alert-indication.xml", &len);
	for (i = 0; i < 150; i++) {
		resp = tu_post(d->port, body, len);
		ck_assert_int_eq(resp->status, 200);
		tu_response_free(resp);
	}
	ck_assert_msg(wait_log(d, "watchdog: not pinging the service "
	    "manager: sink slow has been in one delivery for ", 20000),
	    "no watchdog warning");
	/* Pings sent before the decision are queued already. */
	drain(fd, &all);
	buf_reset(&all);
	m = wait_message(fd, &all, "WATCHDOG=1", 1500);
	ck_assert_msg(m == NULL, "pinged while a sink is stuck");
	/* Reception is not affected meanwhile. */
	resp = tu_post(d->port, body, len);
	ck_assert_int_eq(resp->status, 200);
	tu_response_free(resp);

	/* Read the FIFO: the sink goes on, so do the pings. */
	while (lines < 151) {
		struct pollfd pfd = { rfd, POLLIN, 0 };

		ck_assert_int_eq(poll(&pfd, 1, 10000), 1);
		n = read(rfd, tmp, sizeof tmp);
		ck_assert_int_ge(n, 0);
		for (i = 0; i < n; i++)
			if (tmp[i] == '\n')
				lines++;
	}
	ck_assert(wait_log(d, "watchdog: progress again, pinging", 10000));
	ck_assert((m = wait_message(fd, &all, "WATCHDOG=1", 10000)) != NULL);
	free(m);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
	close(rfd);
	close(fd);
	buf_free(&all);
	free(body);
	free(extra);
	free(env0);
	free(fifo);
	free(path);
	tu_rmtree(dir);
	free(dir);
}
END_TEST
/* CLOCK_MONOTONIC now, in microseconds. */
static unsigned long long
mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000;
}

/*
 * SIGHUP: RELOADING=1 with MONOTONIC_USEC between the clock before the
 * signal and after the message, then READY=1 with a STATUS= of the
 * result; a reload of a broken config brackets the same way.
 */
START_TEST(test_reload_notify)
{
	struct tu_daemon *d;
	struct buf all = BUF_INIT;
	char *dir = tu_tmpdir(), *path, *env0, *m, *p, *conf;
	unsigned long long before, after, usec;
	size_t len;
	int fd;

	d = start_notified(dir, &fd, &path, &env0, &all);

	before = mono_usec();
	ck_assert_int_eq(kill(d->pid, SIGHUP), 0);
	m = wait_message(fd, &all, "RELOADING=1", 20000);
	after = mono_usec();
	ck_assert_msg(m != NULL, "no RELOADING=1; got:\n%s", all.data);
	ck_assert_ptr_nonnull(p = strstr(m, "MONOTONIC_USEC="));
	usec = strtoull(p + 15, NULL, 10);
	ck_assert_msg(usec >= before && usec <= after, "MONOTONIC_USEC=%llu "
	    "not within [%llu, %llu]", usec, before, after);
	free(m);
	m = wait_message(fd, &all, "READY=1", 20000);
	ck_assert_msg(m != NULL, "no READY=1 after the reload; got:\n%s",
	    all.data);
	ck_assert_msg(strstr(m, "STATUS=Reloaded") != NULL, "%s", m);
	free(m);

	/* A broken config: the same bracket, the failure in STATUS=. */
	conf = tu_read_file(d->conf, &len);
	ck_assert_ptr_nonnull(conf);
	tu_write_file(d->conf, "[nonsense\n", 10);
	ck_assert_int_eq(kill(d->pid, SIGHUP), 0);
	m = wait_message(fd, &all, "RELOADING=1", 20000);
	ck_assert_msg(m != NULL, "no RELOADING=1; got:\n%s", all.data);
	free(m);
	m = wait_message(fd, &all, "READY=1", 20000);
	ck_assert_msg(m != NULL, "no READY=1 after the failed reload; "
	    "got:\n%s", all.data);
	ck_assert_msg(strstr(m, "STATUS=Reload failed") != NULL, "%s", m);
	free(m);
	tu_write_file(d->conf, conf, len);
	free(conf);

	ck_assert_int_eq(tu_daemon_stop(d), 0);
	close(fd);
	buf_free(&all);
	free(env0);
	free(path);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("notify");
	TCase *tc = tcase_create("notify");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_ready_status_stopping);
	tcase_add_test(tc, test_socket_activation);
	tcase_add_test(tc, test_socket_activation_https);
	tcase_add_test(tc, test_watchdog);
	tcase_add_test(tc, test_reload_notify);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(suite());
}
