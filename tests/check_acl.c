/*
 * The allow list: the CIDR matcher directly (IPv4, IPv6, IPv4-mapped IPv6
 * on either side, prefix edges, bad items), its config errors with
 * FILE:LINE:COL, and the real daemon closing a connection from an address
 * outside `allow` (a client bound to 127.0.0.2 gets in, 127.0.0.1 does not).
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "acl.h"
#include "testutil.h"
#include "tlsutil.h"

static bool
match(const char *const *items, size_t n, const char *addr)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	struct acl *acl = acl_new(items, n);
	bool ok;

	memset(&ss, 0, sizeof ss);
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1)
		s4->sin_family = AF_INET;
	else {
		ck_assert_int_eq(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
		s6->sin6_family = AF_INET6;
	}
	ok = acl_match(acl, (struct sockaddr *)&ss);
	acl_free(acl);
	return ok;
}

START_TEST(t_match)
{
	const char *const l[] = {"10.0.0.0/8", "192.168.1.7", "2001:db8::/32",
	    "::1", "172.16.0.0/12"};

	ck_assert(match(l, 5, "10.1.2.3"));
	ck_assert(match(l, 5, "10.255.255.255"));
	ck_assert(!match(l, 5, "11.0.0.0"));
	ck_assert(match(l, 5, "192.168.1.7"));
	ck_assert(!match(l, 5, "192.168.1.8"));
	ck_assert(match(l, 5, "172.31.255.1"));
	ck_assert(!match(l, 5, "172.32.0.1"));
	ck_assert(match(l, 5, "2001:db8:1::5"));
	ck_assert(!match(l, 5, "2001:db9::1"));
	ck_assert(match(l, 5, "::1"));
	ck_assert(!match(l, 5, "::2"));
	/* IPv4-mapped IPv6 peers are matched as IPv4 */
	ck_assert(match(l, 5, "::ffff:10.9.8.7"));
	ck_assert(!match(l, 5, "::ffff:11.9.8.7"));
	/* an empty list allows all */
	ck_assert(match(NULL, 0, "203.0.113.1"));
}
END_TEST

START_TEST(t_edges)
{
	const char *const all4[] = {"0.0.0.0/0"};
	const char *const all6[] = {"::/0"};
	const char *const mapped[] = {"::ffff:127.0.0.0/104"};
	const char *const odd[] = {"192.168.0.0/23"};

	ck_assert(match(all4, 1, "203.0.113.1"));
	ck_assert(match(all4, 1, "::ffff:1.2.3.4"));
	ck_assert(!match(all4, 1, "2001:db8::1"));
	ck_assert(match(all6, 1, "2001:db8::1"));
	ck_assert(!match(all6, 1, "1.2.3.4"));
	ck_assert(match(mapped, 1, "127.1.2.3"));
	ck_assert(!match(mapped, 1, "128.0.0.1"));
	ck_assert(match(odd, 1, "192.168.1.255"));
	ck_assert(!match(odd, 1, "192.168.2.0"));
}
END_TEST

START_TEST(t_check_item)
{
	ck_assert_ptr_null(acl_check_item("10.0.0.0/8"));
	ck_assert_ptr_null(acl_check_item("::1"));
	ck_assert_ptr_null(acl_check_item("fe80::/10"));
	ck_assert_ptr_null(acl_check_item("1.2.3.4/32"));
	ck_assert_ptr_nonnull(acl_check_item("1.2.3.4/33"));
	ck_assert_ptr_nonnull(acl_check_item("::/129"));
	ck_assert_ptr_nonnull(acl_check_item("1.2.3/8"));
	ck_assert_ptr_nonnull(acl_check_item("10.0.0.0/"));
	ck_assert_ptr_nonnull(acl_check_item("10.0.0.0/-1"));
	ck_assert_ptr_nonnull(acl_check_item("10.0.0.0/8x"));
	ck_assert_ptr_nonnull(acl_check_item("host.example.com"));
	ck_assert_ptr_nonnull(acl_check_item("/8"));
}
END_TEST

START_TEST(t_config_column)
{
	char *out = tls_check_config("[listener]\n"
	    "allow = 10.0.0.0/8, 10.0.0.0/33, ::1\n"
	    "[daemon]\nspool_dir = /nonexistent/spool\n", 0600, 1);

	ck_assert_msg(strstr(out, "c.conf:2:21:") != NULL &&
	    strstr(out, "prefix length must be 0..32") != NULL, "%s", out);
	free(out);
}
END_TEST

START_TEST(t_daemon_allow)
{
	struct tu_daemon *d = tu_daemon_start("allow = 127.0.0.2/32\n", NULL);
	char *req = tls_raw_request(), *resp;
	int fd;

	/* refused: closed before anything is read, no answer */
	fd = tu_connect_from("127.0.0.1", d->port);
	ck_assert(tu_wait_closed(fd, 10000));
	close(fd);
	resp = tu_raw(d->port, req, strlen(req), 10000);
	ck_assert_str_eq(resp, "");
	free(resp);
	ck_assert(tu_daemon_log_has(d, "connection from 127.0.0.1"));
	ck_assert(tu_daemon_log_has(d, "not in allow"));
	/* allowed */
	fd = tu_connect_from("127.0.0.2", d->port);
	ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	resp = tu_read_response(fd, 10000);
	ck_assert_int_eq(tu_raw_status(resp), 200);
	free(resp);
	close(fd);
	ck_assert(tu_wait_lines(d->out, 1, 10000));
	free(req);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/*
 * rate_limit: a sender over its rate gets 503 with Retry-After and a
 * reason, others are not affected, and it gets in again after waiting.
 */
START_TEST(t_rate_limit)
{
	struct tu_daemon *d = tu_daemon_start("rate_limit = 3\n", NULL);
	char *req = tls_raw_request(), *resp, *ra, *why;
	struct timespec t0, t1;
	int fd, i, ok = 0, limited = 0;
	double secs;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 12; i++) {
		fd = tu_connect_from("127.0.0.1", d->port);
		ck_assert_int_eq(write(fd, req, strlen(req)),
		    (ssize_t)strlen(req));
		resp = tu_read_response(fd, 10000);
		close(fd);
		if (tu_raw_status(resp) == 200)
			ok++;
		else {
			ck_assert_int_eq(tu_raw_status(resp), 503);
			ra = tu_raw_header(resp, "Retry-After");
			ck_assert_ptr_nonnull(ra);
			ck_assert_int_ge(atoi(ra), 1);
			free(ra);
			why = tu_raw_header(resp, "CIMErrorDetails");
			ck_assert_ptr_nonnull(why);
			ck_assert_ptr_nonnull(strstr(why, "rate limit"));
			free(why);
			limited++;
		}
		free(resp);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* The burst of 3, plus what 3 a second refilled meanwhile. */
	ck_assert_msg(ok <= 3 + (int)(3 * secs) + 1, "%d let in over %.2fs",
	    ok, secs);
	ck_assert_int_ge(ok, 3);
	if (secs < 2.5)
		ck_assert_int_gt(limited, 0);
	/* Another sender has a bucket of its own. */
	fd = tu_connect_from("127.0.0.2", d->port);
	ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	resp = tu_read_response(fd, 10000);
	ck_assert_int_eq(tu_raw_status(resp), 200);
	free(resp);
	close(fd);
	/* The limited one gets in again once it waited (bounded). */
	for (i = 0;; i++) {
		fd = tu_connect_from("127.0.0.1", d->port);
		ck_assert_int_eq(write(fd, req, strlen(req)),
		    (ssize_t)strlen(req));
		resp = tu_read_response(fd, 10000);
		close(fd);
		if (tu_raw_status(resp) == 200) {
			free(resp);
			break;
		}
		free(resp);
		ck_assert_msg(i < 50, "still limited");
		usleep(100000);
	}
	ck_assert(tu_wait_lines(d->out, (size_t)ok + 2, 10000));
	free(req);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("acl");
	TCase *tc = tcase_create("acl");

	tcase_add_test(tc, t_match);
	tcase_add_test(tc, t_edges);
	tcase_add_test(tc, t_check_item);
	tcase_add_test(tc, t_config_column);
	tcase_add_test(tc, t_daemon_allow);
	tcase_add_test(tc, t_rate_limit);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
