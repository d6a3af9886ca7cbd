/*
 * check_notify.c: the daemon under a service manager's notify protocol.
 * The test plays the manager: it binds a datagram socket, starts the real
 * daemon with NOTIFY_SOCKET pointing at it, and checks READY=1 (sent once
 * the listener is up), the STATUS= line with the rates and the count of
 * received indications, and STOPPING=1 at shutdown.
 *
 * Every wait is on a condition with a bounded timeout.
 */
#include "autoconf.h"

#include <sys/socket.h>
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

START_TEST(test_ready_status_stopping)
{
	struct tu_daemon *d;
	struct tu_response *resp;
	struct buf all = BUF_INIT;
	char *dir = tu_tmpdir(), *path, *env0, *m, *body;
	const char *env[2];
	size_t len;
	int fd, i;

	xasprintf(&path, "%s/notify", dir);
	fd = notify_socket(path);
	xasprintf(&env0, "NOTIFY_SOCKET=%s", path);
	env[0] = env0;
	env[1] = NULL;
	d = tu_daemon_start_env(NULL, NULL, env);

	m = wait_message(fd, &all, "READY=1", 20000);
	ck_assert_msg(m != NULL, "no READY=1; got:\n%s", all.data);
	free(m);

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

static Suite *
suite(void)
{
	Suite *s = suite_create("notify");
	TCase *tc = tcase_create("notify");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_ready_status_stopping);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(suite());
}
