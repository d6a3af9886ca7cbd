/*
 * user and group in [daemon]: started as root, the real daemon switches to
 * nobody:nogroup once it listens (checked in /proc), still takes
 * indications (spool handed over, sink files already open); unknown names
 * are config errors with FILE:LINE:COL; a config file writable by others is
 * refused. The switch needs root: as another user those tests only check
 * the config errors.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "testutil.h"
#include "tlsutil.h"

/* The daemon's effective uid from /proc/PID/status, or -1. */
static long
proc_euid(pid_t pid)
{
	char path[64], *text, *p;
	long ruid, euid = -1;

	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	if ((text = tu_read_file(path, NULL)) == NULL)
		return -1;
	if ((p = strstr(text, "\nUid:")) != NULL)
		sscanf(p + 5, "%ld %ld", &ruid, &euid);
	free(text);
	return euid;
}

START_TEST(t_drop_to_nobody)
{
	struct passwd *pw = getpwnam("nobody");
	struct tu_response *resp;
	struct tu_daemon *d;
	struct stat st;
	char *body, *seg;
	size_t len;
	int i;

	if (geteuid() != 0 || pw == NULL || getgrnam("nogroup") == NULL) {
		fprintf(stderr, "t_drop_to_nobody: needs root and nobody:nogroup;"
		    " not run\n");
		return;
	}
	d = tu_daemon_start_conf("[listener]\nhttp_port = %1$u\n"
	    "bind = 127.0.0.1\n[daemon]\nspool_dir = %2$s/spool\n"
	    "log_level = debug\nuser = nobody\ngroup = nogroup\n"
	    "[sink out]\ntype = file\npath = %2$s/out.jsonl\n"
	    "[filter all]\nsinks = out\n");
	/* The port listens before the switch: wait for it (bounded). */
	for (i = 0; i < 1000 && !tu_daemon_log_has(d, "started ("); i++)
		usleep(10000);
	ck_assert(tu_daemon_log_has(d, "running as uid"));
	ck_assert_int_eq(proc_euid(d->pid), (long)pw->pw_uid);
	body = tu_sample("alert-indication.xml", &len);
	resp = tu_post(d->port, body, len);
	ck_assert_int_eq(resp->status, 200);
	tu_response_free(resp);
	ck_assert_int_gt(asprintf(&seg, "%s/spool/cursors", d->dir), 0);
	ck_assert_int_eq(stat(seg, &st), 0);
	ck_assert_uint_eq(st.st_uid, pw->pw_uid);
	free(seg);
	ck_assert_int_gt(asprintf(&seg, "%s/out.jsonl", d->dir), 0);
	ck_assert(tu_wait_lines(seg, 1, 10000));
	free(seg);
	free(body);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST


START_TEST(t_config_errors)
{
	char *out;

	out = tls_check_config("[daemon]\nspool_dir = /tmp/x\n"
			       "user = no-such-user-here\n"
			       "group = no-such-group-here\n",
	    0600, 1);
	ck_assert_msg(strstr(out, "c.conf:3:8: unknown user "
	    "'no-such-user-here'") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "c.conf:4:9: unknown group "
	    "'no-such-group-here'") != NULL, "%s", out);
	free(out);
	out = tls_check_config(
	    "[daemon]\nspool_dir = /tmp/x\nuser = 4242\n", 0600, 1);
	ck_assert_msg(strstr(out, "no passwd entry") != NULL, "%s", out);
	free(out);
	out = tls_check_config(
	    "[daemon]\nspool_dir = /tmp/x\nuser = 4242\ngroup = 4242\n", 0600,
	    0);
	free(out);
	out = tls_check_config("[daemon]\nspool_dir = /tmp/x\n", 0666, 1);
	ck_assert_msg(strstr(out, "c.conf: writable by others: refused") !=
	    NULL, "%s", out);
	free(out);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("privileges");
	TCase *tc = tcase_create("privileges");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, t_drop_to_nobody);
	tcase_add_test(tc, t_config_errors);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
