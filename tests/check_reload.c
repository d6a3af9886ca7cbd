/*
 * check_reload.c: black-box tests of configuration reload against the
 * real daemon. Twenty reloads alternating configs that add, remove and
 * change filters and sinks while `cimlistenctl send` pushes indications
 * at 16 connections: every request answered 200, and every acknowledged
 * indication in the file of the sink all configs keep, exactly once. A
 * broken config (errors in the main file and in conf.d) is refused with
 * every FILE:LINE, through the control socket, `cimlistenctl reload` and
 * the log, and the old config keeps routing. A port change moves the
 * listener; a taken port fails the reload and the old port serves on.
 * An unchanged sink keeps its open file; a changed one is restarted; an
 * unchanged socket sink keeps its subscribers.
 * `cimlistenctl redeliver` sends a range to a file sink again. Unit
 * tests beside them: redeliver on a spool that retention has trimmed, and
 * the keys a reload refuses.
 *
 * Every wait is on a condition with a bounded timeout.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "testutil.h"

#include "config.h"
#include "control.h"
#include "reload.h"
#include "sink.h"
#include "spool.h"

/* Everything but the sinks and filters; %1$u the port, %2$s the dir. */
#define BASE \
	"[listener]\nbind = 127.0.0.1\nhttp_port = %1$u\n" \
	"[daemon]\nlog_level = debug\nshutdown_timeout = 10\n" \
	"spool_dir = %2$s/spool\ncontrol_socket = %2$s/control.sock\n" \
	"[sink keep]\ntype = file\npath = %2$s/keep.jsonl\n"

/* The configs the reloads alternate; "keep" gets everything in each. */
static const char *const confs[] = {
	BASE "[sink two]\ntype = file\npath = %2$s/two-a.jsonl\n"
	"[filter all]\nsinks = keep, two\n",

	BASE "[sink two]\ntype = file\npath = %2$s/two-b.mof\nformat = mof\n"
	"[filter sev]\nwhere = PerceivedSeverity >= 2\nsinks = two, three\n"
	"[filter all]\nsinks = keep\n",

	BASE "[filter all]\nsinks = keep\nfinal = yes\n"
	"[filter never]\nwhere = PerceivedSeverity > 100\nsinks = keep\n",
};
/* conf.d/three.conf with confs[1]. */
static const char three_conf[] =
	"[sink three]\ntype = file\npath = %s/three.jsonl\n";

static const char *
ctl_path(void)
{
	const char *p = getenv("CIMLISTENCTL");

	return p != NULL && *p != '\0' ? p : BUILDDIR "/src/cimlistenctl";
}

/* A file of d's directory (malloc'd path). */
static char *
dpath(const struct tu_daemon *d, const char *name)
{
	char *p;

	ck_assert_int_gt(asprintf(&p, "%s/%s", d->dir, name), 0);
	return p;
}

/*
 * Write confs[i] (and its conf.d part) for `port`, with listener_extra
 * (may be NULL) added to its [listener] section.
 */
static void
write_conf_extra(const struct tu_daemon *d, size_t i, unsigned port,
    const char *listener_extra)
{
	char *text, *full, *dir = dpath(d, "conf.d"), *three = dpath(d,
	    "conf.d/three.conf"), *at;

	(void)mkdir(dir, 0755);
	ck_assert_int_gt(asprintf(&text, confs[i], port, d->dir), 0);
	ck_assert_ptr_nonnull(at = strstr(text, "[daemon]"));
	ck_assert_int_gt(asprintf(&full, "%.*s%s%s", (int)(at - text), text,
	    listener_extra != NULL ? listener_extra : "", at), 0);
	tu_write_file(d->conf, full, strlen(full));
	free(full);
	free(text);
	if (i == 1) {
		ck_assert_int_gt(asprintf(&text, three_conf, d->dir), 0);
		tu_write_file(three, text, strlen(text));
		free(text);
	} else
		(void)unlink(three);
	free(three);
	free(dir);
}

static void
write_conf(const struct tu_daemon *d, size_t i, unsigned port)
{
	write_conf_extra(d, i, port, NULL);
}

/* Start cimlistenctl with args (argv[1]...), stdout and stderr to files. */
static pid_t
ctl_spawn(const char *const *args, const char *out, const char *err)
{
	const char *argv[32];
	size_t n;
	pid_t pid;
	int fd;

	argv[0] = "cimlistenctl";
	for (n = 0; args[n] != NULL; n++) {
		ck_assert_uint_lt(n + 2, sizeof argv / sizeof argv[0]);
		argv[n + 1] = args[n];
	}
	argv[n + 1] = NULL;
	fflush(NULL);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		if ((fd = open("/dev/null", O_RDONLY)) == -1 ||
		    dup2(fd, 0) == -1 ||
		    (fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
		    dup2(fd, 1) == -1 ||
		    (fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
		    dup2(fd, 2) == -1)
			_exit(126);
		execv(ctl_path(), (char **)argv);
		_exit(127);
	}
	return pid;
}

static int
ctl_wait(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) == -1)
		ck_assert_int_eq(errno, EINTR);
	ck_assert(WIFEXITED(status));
	ck_assert_int_ne(WEXITSTATUS(status), 126);
	ck_assert_int_ne(WEXITSTATUS(status), 127);
	return WEXITSTATUS(status);
}

/* Run cimlistenctl to its end: exit status, stdout and stderr. */
static int
ctl_run(const struct tu_daemon *d, const char *const *args, char **out,
    char **err)
{
	char *o = dpath(d, "ctl.out"), *e = dpath(d, "ctl.err");
	int rc;

	rc = ctl_wait(ctl_spawn(args, o, e));
	ck_assert_ptr_nonnull(*out = tu_read_file(o, NULL));
	ck_assert_ptr_nonnull(*err = tu_read_file(e, NULL));
	free(o);
	free(e);
	return rc;
}

static json_object *
ask(const struct tu_daemon *d, const char *req)
{
	int fd = tu_ctl_connect(d);
	json_object *o = tu_ctl_ask(fd, req);

	close(fd);
	return o;
}

/* POST body to 127.0.0.1:port: answered 200? */
static void
post_ok(unsigned port, const char *body, size_t len)
{
	struct tu_response *resp = tu_post(port, body, len);

	ck_assert_int_eq(resp->status, 200);
	tu_response_free(resp);
}

static bool
jok(json_object *o)
{
	return json_object_get_boolean(tu_jget(o, "ok"));
}

/* Is `name` in the JSON array of strings at path? */
static bool
jlist_has(json_object *o, const char *path, const char *name)
{
	json_object *a = tu_jget(o, path);
	size_t i;

	for (i = 0; a != NULL && i < json_object_array_length(a); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(a,
		    i)), name) == 0)
			return true;
	return false;
}

/* The JSON summary of a finished send: all answered 200? Adds to *ok. */
static void
send_collect(const char *out, uint64_t *ok)
{
	char *text = tu_read_file(out, NULL);
	json_object *o, *ans;
	uint64_t sent, n200;

	ck_assert_ptr_nonnull(text);
	o = tu_json(text);
	sent = (uint64_t)json_object_get_int64(tu_jget(o, "sent"));
	ans = tu_jget(o, "answers");
	ck_assert_ptr_nonnull(ans);
	n200 = (uint64_t)json_object_get_int64(tu_jget(o, "answers.200"));
	ck_assert_msg(json_object_object_length(ans) == 1 && n200 == sent &&
	    sent > 0, "answers other than 200: %s", text);
	*ok += n200;
	json_object_put(o);
	free(text);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * 20 reloads through configs 0 → 1 → 2 → 0 ... while sends run at 16
 * connections (a new one started whenever the last has finished, so each
 * reload meets one in progress).
 */
START_TEST(test_reload_under_load)
{
	struct tu_daemon *d = tu_daemon_start_conf(confs[0]);
	char *url, *out = dpath(d, "send.out"), *err = dpath(d, "send.err");
	char *keep = dpath(d, "keep.jsonl"), **lines, **ids;
	const char *args[] = { "--json", "send", "-n", "1500", "-c", "16",
		NULL, NULL };
	uint64_t ok = 0, *seqs;
	json_object *o;
	pid_t pid = -1;
	size_t i, n, overlapped = 0;
	int status;

	ck_assert_int_gt(asprintf(&url, "http://127.0.0.1:%u/", d->port), 0);
	args[6] = url;
	for (i = 0; i < 20; i++) {
		if (pid != -1 && waitpid(pid, &status, WNOHANG) == pid) {
			ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
			send_collect(out, &ok);
			pid = -1;
		}
		if (pid == -1)
			pid = ctl_spawn(args, out, err);
		write_conf(d, (i + 1) % 3, d->port);
		o = ask(d, "{\"op\":\"reload\"}\n");
		ck_assert_msg(jok(o), "reload %zu: %s", i,
		    json_object_to_json_string(o));
		ck_assert(jlist_has(o, "result.sinks.unchanged", "keep"));
		json_object_put(o);
		if (waitpid(pid, &status, WNOHANG) == 0)
			overlapped++;
		else {
			ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
			send_collect(out, &ok);
			pid = -1;
		}
	}
	if (pid != -1) {
		ck_assert_int_eq(ctl_wait(pid), 0);
		send_collect(out, &ok);
	}
	/* Most reloads ended with the send still going. */
	ck_assert_uint_ge(overlapped, 10);

	ck_assert_msg(tu_wait_lines(keep, ok, 60000), "keep has not got "
	    "%llu lines", (unsigned long long)ok);
	/* Stopped (drained): nothing more comes. */
	ck_assert_int_eq(kill(d->pid, SIGTERM), 0);
	ck_assert(tu_daemon_wait(d, 30000));
	lines = tu_read_lines(keep, &n);
	ck_assert_uint_eq(n, ok);
	seqs = calloc(n + 1, sizeof *seqs);
	ids = calloc(n + 1, sizeof *ids);
	ck_assert(seqs != NULL && ids != NULL);
	for (i = 0; i < n; i++) {
		o = tu_json(lines[i]);
		seqs[i] = (uint64_t)json_object_get_int64(tu_jget(o, "seq"));
		ids[i] = strdup(json_object_get_string(tu_jget(o,
		    "properties.IndicationIdentifier.value")));
		ck_assert_ptr_nonnull(ids[i]);
		json_object_put(o);
	}
	qsort(seqs, n, sizeof *seqs, cmp_u64);
	qsort(ids, n, sizeof *ids, cmp_str);
	for (i = 1; i < n; i++) {
		ck_assert_msg(seqs[i] != seqs[i - 1], "seq %llu twice",
		    (unsigned long long)seqs[i]);
		ck_assert_msg(strcmp(ids[i], ids[i - 1]) != 0, "%s twice",
		    ids[i]);
	}
	ck_assert_int_eq(tu_daemon_stop(d), 0);
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	free(seqs);
	tu_free_lines(lines);
	free(keep);
	free(url);
	free(out);
	free(err);
}
END_TEST

/* The 1-based line of `text` where `needle` starts. */
static unsigned
line_of(const char *text, const char *needle)
{
	const char *p = strstr(text, needle), *q;
	unsigned line = 1;

	ck_assert_ptr_nonnull(p);
	for (q = text; q < p; q++)
		if (*q == '\n')
			line++;
	return line;
}

/*
 * A broken config (two errors in the main file, two in conf.d) is refused
 * as a whole: every FILE:LINE in the answer, from cimlistenctl reload
 * (exit 1) and in the log; the old config keeps routing to "two".
 */
START_TEST(test_reload_broken)
{
	struct tu_daemon *d = tu_daemon_start_conf(confs[0]);
	char *text, *main_text, *bad = dpath(d, "conf.d/bad.conf");
	char *two = dpath(d, "two-a.jsonl"), *dir = dpath(d, "conf.d");
	char *out, *err, *body, *want[4];
	const char *args[] = { "reload", "--socket", NULL, NULL };
	static const char bad_text[] =
	    "[sink more]\ntype = file\nformat = jsonx\npath = /tmp/x\n"
	    "[filter more]\nwhere = PerceivedSeverity >=\nsinks = more\n";
	json_object *o, *errs;
	size_t i, len;

	ck_assert_int_gt(asprintf(&main_text, "%s%s", confs[0],
	    "[sink oops]\ntype = filez\npath = %2$s/oops\n"
	    "[filter all2]\nsinks = keep\nfrobnicate = yes\n"), 0);
	ck_assert_int_gt(asprintf(&text, main_text, d->port, d->dir), 0);
	tu_write_file(d->conf, text, strlen(text));
	(void)mkdir(dir, 0755);
	tu_write_file(bad, bad_text, strlen(bad_text));
	ck_assert_int_gt(asprintf(&want[0], "%s:%u:", d->conf,
	    line_of(text, "type = filez")), 0);
	ck_assert_int_gt(asprintf(&want[1], "%s:%u:", d->conf,
	    line_of(text, "frobnicate")), 0);
	ck_assert_int_gt(asprintf(&want[2], "%s:%u:", bad,
	    line_of(bad_text, "format = jsonx")), 0);
	ck_assert_int_gt(asprintf(&want[3], "%s:%u:", bad,
	    line_of(bad_text, "where =")), 0);

	o = ask(d, "{\"op\":\"reload\"}\n");
	ck_assert(!jok(o));
	errs = tu_jget(o, "errors");
	for (i = 0; i < 4; i++) {
		size_t k;
		bool found = false;

		for (k = 0; k < json_object_array_length(errs); k++)
			if (strncmp(json_object_get_string(
			    json_object_array_get_idx(errs, k)), want[i],
			    strlen(want[i])) == 0)
				found = true;
		ck_assert_msg(found, "no error at %s in %s", want[i],
		    json_object_to_json_string(errs));
	}
	json_object_put(o);

	args[2] = dpath(d, "control.sock");
	ck_assert_int_eq(ctl_run(d, args, &out, &err), 1);
	for (i = 0; i < 4; i++) {
		ck_assert_msg(strstr(err, want[i]) != NULL, "%s not in: %s",
		    want[i], err);
		ck_assert_msg(tu_daemon_log_has(d, want[i]), "%s not logged",
		    want[i]);
	}
	ck_assert(tu_daemon_log_has(d, "reload failed"));
	free(out);
	free(err);

	/* The old config routes: "two" gets what is posted. */
	body = tu_sample("alert-indication.xml", &len);
	post_ok(d->port, body, len);
	ck_assert(tu_wait_lines(two, 1, 20000));

	ck_assert_int_eq(tu_daemon_stop(d), 0);
	for (i = 0; i < 4; i++)
		free(want[i]);
	free((char *)args[2]);
	free(body);
	free(text);
	free(main_text);
	free(bad);
	free(two);
	free(dir);
}
END_TEST

/* A reload that succeeds and restarts the listener. */
static void
reload_restarting_listener(const struct tu_daemon *d)
{
	json_object *o = ask(d, "{\"op\":\"reload\"}\n");

	ck_assert_msg(jok(o), "%s", json_object_to_json_string(o));
	ck_assert_str_eq(json_object_get_string(tu_jget(o, "result.listener")),
	    "restarted");
	json_object_put(o);
}

/* http_port changes on reload; a taken port fails it and the old serves. */
START_TEST(test_reload_port)
{
	struct tu_daemon *d = tu_daemon_start_conf(confs[0]);
	unsigned old = d->port, port = tu_free_port(), taken;
	json_object *o;
	char *body, *cause;
	size_t len;
	int fd;

	body = tu_sample("alert-indication.xml", &len);
	write_conf(d, 0, port);
	reload_restarting_listener(d);
	post_ok(port, body, len);
	ck_assert(tu_port_refuses(old));

	/* A port someone else listens on. */
	fd = tu_listen_tcp(&taken);
	write_conf(d, 0, taken);
	o = ask(d, "{\"op\":\"reload\"}\n");
	ck_assert(!jok(o));
	cause = (char *)json_object_get_string(json_object_array_get_idx(
	    tu_jget(o, "errors"), 0));
	ck_assert_msg(strstr(cause, "Address already in use") != NULL &&
	    strstr(cause, d->conf) == cause, "%s", cause);
	json_object_put(o);
	post_ok(port, body, len);
	close(fd);

	/* Only a listener limit changes: the same port goes on serving. */
	write_conf_extra(d, 0, port, "max_connections = 100\n");
	reload_restarting_listener(d);
	post_ok(port, body, len);

	ck_assert_int_eq(tu_daemon_stop(d), 0);
	free(body);
}
END_TEST

/* The descriptor number of the daemon's open `path`, or -1. */
static int
open_fd_of(pid_t pid, const char *path)
{
	char dir[64], link[PATH_MAX + 64], target[PATH_MAX];
	struct dirent *e;
	DIR *dp;
	ssize_t n;
	int fd = -1;

	snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
	ck_assert_ptr_nonnull(dp = opendir(dir));
	while ((e = readdir(dp)) != NULL) {
		snprintf(link, sizeof link, "%s/%s", dir, e->d_name);
		if ((n = readlink(link, target, sizeof target - 1)) <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, path) == 0)
			fd = atoi(e->d_name);
	}
	closedir(dp);
	return fd;
}

/*
 * confs[0] → confs[1]: "keep" unchanged (same descriptor, no restart
 * line), "two" changed (restarted, now MOF in another file), "three"
 * added; then back: "three" removed, its cursor gone.
 */
START_TEST(test_reload_unchanged_sink)
{
	struct tu_daemon *d = tu_daemon_start_conf(confs[0]);
	char *keep = dpath(d, "keep.jsonl"), *mof = dpath(d, "two-b.mof");
	char *three = dpath(d, "three.jsonl"), *body, *text;
	char *cursor = dpath(d, "spool/cursors/three"), **lines;
	json_object *o;
	struct stat sb;
	size_t len;
	int fd;

	body = tu_sample("alert-indication.xml", &len);
	post_ok(d->port, body, len);
	ck_assert(tu_wait_lines(keep, 1, 20000));
	ck_assert_int_ge(fd = open_fd_of(d->pid, keep), 0);

	write_conf(d, 1, d->port);
	o = ask(d, "{\"op\":\"reload\"}\n");
	ck_assert_msg(jok(o), "%s", json_object_to_json_string(o));
	ck_assert(jlist_has(o, "result.sinks.unchanged", "keep"));
	ck_assert(jlist_has(o, "result.sinks.changed", "two"));
	ck_assert(jlist_has(o, "result.sinks.added", "three"));
	ck_assert_str_eq(json_object_get_string(tu_jget(o, "result.listener")),
	    "unchanged");
	json_object_put(o);
	ck_assert(tu_daemon_log_has(d, "sink two restarted"));
	ck_assert(!tu_daemon_log_has(d, "sink keep restarted"));
	ck_assert_int_eq(open_fd_of(d->pid, keep), fd);

	post_ok(d->port, body, len);
	ck_assert(tu_wait_lines(keep, 2, 20000));
	ck_assert(tu_wait_lines(three, 1, 20000));
	ck_assert(tu_wait_lines(mof, 1, 20000));
	text = tu_read_file(mof, NULL);
	ck_assert_msg(strncmp(text, "instance of ", 12) == 0, "%s", text);
	free(text);

	write_conf(d, 0, d->port);
	o = ask(d, "{\"op\":\"reload\"}\n");
	ck_assert_msg(jok(o), "%s", json_object_to_json_string(o));
	ck_assert(jlist_has(o, "result.sinks.removed", "three"));
	ck_assert(jlist_has(o, "result.sinks.changed", "two"));
	json_object_put(o);
	ck_assert(tu_daemon_log_has(d, "sink three removed"));
	ck_assert_int_eq(stat(cursor, &sb), -1);
	ck_assert_int_eq(open_fd_of(d->pid, keep), fd);
	/* "three" got only what was routed to it while it existed. */
	lines = tu_read_lines(three, &len);
	ck_assert_uint_eq(len, 1);
	tu_free_lines(lines);

	ck_assert_int_eq(tu_daemon_stop(d), 0);
	free(body);
	free(keep);
	free(mof);
	free(three);
	free(cursor);
}
END_TEST

/* The seq of each line of a JSON Lines file, in order (n of them). */
static uint64_t *
file_seqs(const char *path, size_t *n)
{
	char **lines = tu_read_lines(path, n);
	uint64_t *seqs = calloc(*n + 1, sizeof *seqs);
	json_object *o;
	size_t i;

	ck_assert_ptr_nonnull(seqs);
	for (i = 0; i < *n; i++) {
		o = tu_json(lines[i]);
		seqs[i] = (uint64_t)json_object_get_int64(tu_jget(o, "seq"));
		json_object_put(o);
	}
	tu_free_lines(lines);
	return seqs;
}

/*
 * redeliver keep --from 2 --to 3 sends records 2 and 3 again, then the
 * sink goes on with new records; errors for an unknown sink and a range
 * after the newest record.
 */
START_TEST(test_redeliver)
{
	struct tu_daemon *d = tu_daemon_start_conf(confs[0]);
	char *keep = dpath(d, "keep.jsonl"), *sock = dpath(d, "control.sock");
	char *body, *out, *err;
	const char *args[] = { "redeliver", "--socket", sock, "keep", "--from",
		"2", "--to", "3", NULL };
	const char *unknown[] = { "redeliver", "--socket", sock, "nope",
		"--from", "1", NULL };
	const char *late[] = { "redeliver", "--socket", sock, "keep",
		"--from", "99", NULL };
	const char *usage[] = { "redeliver", "--socket", sock, "keep", NULL };
	uint64_t *seqs;
	size_t len, n;
	int i;

	body = tu_sample("alert-indication.xml", &len);
	for (i = 0; i < 5; i++) {
		post_ok(d->port, body, len);
	}
	ck_assert(tu_wait_lines(keep, 5, 20000));

	ck_assert_int_eq(ctl_run(d, args, &out, &err), 0);
	ck_assert_msg(strstr(out, "sending records 2 to 3 again") != NULL,
	    "%s%s", out, err);
	free(out);
	free(err);
	ck_assert(tu_wait_lines(keep, 7, 20000));
	post_ok(d->port, body, len);
	ck_assert(tu_wait_lines(keep, 8, 20000));
	seqs = file_seqs(keep, &n);
	ck_assert_uint_eq(n, 8);
	ck_assert(seqs[5] == 2 && seqs[6] == 3 && seqs[7] == 6);
	free(seqs);
	ck_assert(tu_daemon_log_has(d, "redeliver of records 2 to 3 to sink "
	    "keep requested by uid"));

	ck_assert_msg(ctl_run(d, unknown, &out, &err) == 1, "%s", err);
	ck_assert_msg(strstr(err, "unknown sink 'nope'") != NULL, "%s", err);
	free(out);
	free(err);
	ck_assert_int_eq(ctl_run(d, late, &out, &err), 1);
	ck_assert_msg(strstr(err, "after the newest record in the spool (6)")
	    != NULL, "%s", err);
	free(out);
	free(err);
	ck_assert_int_eq(ctl_run(d, usage, &out, &err), 2);
	free(out);
	free(err);

	ck_assert_int_eq(tu_daemon_stop(d), 0);
	free(body);
	free(keep);
	free(sock);
}
END_TEST

/* A subscriber of a socket sink: its connection and what it has read. */
struct sub {
	int fd;
	char buf[65536];
	size_t len;
};

/* Connect to the socket sink at path and subscribe from now on. */
static struct sub *
sub_open(const char *path)
{
	struct sockaddr_un sun;
	struct sub *c = calloc(1, sizeof *c);
	static const char req[] = "{\"op\":\"subscribe\"}\n";

	ck_assert_ptr_nonnull(c);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	ck_assert_int_ne(c->fd = socket(AF_UNIX, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(connect(c->fd, (struct sockaddr *)&sun, sizeof sun),
	    0);
	ck_assert_int_eq(write(c->fd, req, sizeof req - 1),
	    (ssize_t)sizeof req - 1);
	return c;
}

/* The next message's "type" (malloc'd); aborts on EOF or timeout. */
static char *
sub_next(struct sub *c, unsigned timeout_ms)
{
	struct pollfd pfd = { c->fd, POLLIN, 0 };
	json_object *o;
	char *nl, *type;
	ssize_t n;

	while ((nl = memchr(c->buf, '\n', c->len)) == NULL) {
		ck_assert_msg(poll(&pfd, 1, (int)timeout_ms) == 1,
		    "subscriber: nothing within %u ms", timeout_ms);
		n = read(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len);
		ck_assert_msg(n > 0, "subscriber: connection closed");
		c->len += (size_t)n;
	}
	*nl = '\0';
	o = tu_json(c->buf);
	type = strdup(json_object_get_string(tu_jget(o, "type")));
	json_object_put(o);
	c->len -= (size_t)(nl + 1 - c->buf);
	memmove(c->buf, nl + 1, c->len);
	return type;
}

/* Skip heartbeats: the type of the next other message. */
static char *
sub_next_not_heartbeat(struct sub *c)
{
	char *t;

	while (strcmp(t = sub_next(c, 20000), "heartbeat") == 0)
		free(t);
	return t;
}

/*
 * An unchanged socket sink goes on through a reload: its subscriber's
 * connection stays up and gets what is posted afterwards.
 */
START_TEST(test_reload_socket_sink_continues)
{
	static const char live[] = "[sink live]\ntype = socket\n"
	    "path = %2$s/live.sock\n[filter tolive]\nsinks = live\n";
	struct tu_daemon *d;
	struct sub *c;
	json_object *o;
	char *fmt, *text, *sock, *body, *t;
	size_t len;

	ck_assert_int_gt(asprintf(&fmt, "%s%s", confs[0], live), 0);
	d = tu_daemon_start_conf(fmt);
	sock = dpath(d, "live.sock");
	c = sub_open(sock);
	ck_assert_str_eq(t = sub_next(c, 20000), "subscribed");
	free(t);

	/* Another filter added; the socket sink's settings stay. */
	ck_assert_int_gt(asprintf(&text, "%s[filter extra]\nwhere = "
	    "PerceivedSeverity > 100\nsinks = keep\n", fmt), 0);
	free(fmt);
	ck_assert_int_gt(asprintf(&fmt, text, d->port, d->dir), 0);
	tu_write_file(d->conf, fmt, strlen(fmt));
	o = ask(d, "{\"op\":\"reload\"}\n");
	ck_assert_msg(jok(o), "%s", json_object_to_json_string(o));
	ck_assert(jlist_has(o, "result.sinks.unchanged", "live"));
	json_object_put(o);
	ck_assert(!tu_daemon_log_has(d, "sink live restarted"));

	body = tu_sample("alert-indication.xml", &len);
	post_ok(d->port, body, len);
	ck_assert_str_eq(t = sub_next_not_heartbeat(c), "indication");
	free(t);

	close(c->fd);
	free(c);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
	free(body);
	free(sock);
	free(text);
	free(fmt);
}
END_TEST

/* Unit tests: the redeliver machinery and the keys a reload refuses. */

/* A sink kind that remembers the seqs it was given. */
static pthread_mutex_t mem_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t mem_seqs[4096];
static size_t mem_n;

static enum sink_result
mem_deliver(struct sink *s, const struct sink_line *lines, size_t n,
    size_t *done, char **cause)
{
	size_t i;

	(void)s;
	(void)cause;
	pthread_mutex_lock(&mem_lock);
	for (i = 0; i < n && mem_n < 4096; i++)
		mem_seqs[mem_n++] = lines[i].seq;
	pthread_mutex_unlock(&mem_lock);
	*done = n;
	return SINK_OK;
}

static const struct sink_ops mem_ops = { .type = "mem",
	.deliver = mem_deliver };

static size_t
mem_count(void)
{
	size_t n;

	pthread_mutex_lock(&mem_lock);
	n = mem_n;
	pthread_mutex_unlock(&mem_lock);
	return n;
}

/* Wait (bounded) until the sink has been given n records in all. */
static bool
mem_wait(size_t n, unsigned timeout_ms)
{
	unsigned waited;

	for (waited = 0; waited < timeout_ms; waited += 5) {
		if (mem_count() >= n)
			return true;
		usleep(5000);
	}
	return mem_count() >= n;
}

static void
append_routed(struct spool *sp, unsigned n)
{
	static const char *const routes[] = { "mem" };
	struct spool_entry e;
	uint64_t seq;
	char *cause = NULL;
	unsigned i;

	for (i = 0; i < n; i++) {
		e.tail = ",\"time\":\"t\",\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxx\"}\n";
		e.tail_len = strlen(e.tail);
		e.routes = routes;
		e.nroutes = 1;
		ck_assert_msg(spool_append(sp, &e, 1, &seq, &cause) == 0, "%s",
		    cause);
	}
}

/*
 * Through the control op: a range retention removed is refused with what
 * was lost, one after the newest too; [from, to] is sent again, then the
 * sink goes on with new records only.
 */
START_TEST(test_redeliver_unit)
{
	struct spool_params p;
	struct spool_stats st;
	struct control_state cs;
	struct sink_conf sc;
	struct sink *s;
	json_object *o;
	char *dir = tu_tmpdir(), *cause = NULL, *ans, req[160], want[160];
	struct spool *sp;
	size_t before, i, k;

	memset(&p, 0, sizeof p);
	p.dir = dir;
	p.segment_size = 2048;
	p.max_size = 8192;
	ck_assert_msg((sp = spool_open(&p, &cause)) != NULL, "%s", cause);
	memset(&sc, 0, sizeof sc);
	sc.name = (char *)"mem";
	sc.type = (char *)"mem";
	ck_assert_ptr_nonnull(s = sink_new_with_ops(&sc, &mem_ops, &cause));
	append_routed(sp, 300);
	spool_get_stats(sp, &st);
	ck_assert_uint_gt(st.oldest_seq, 1);
	ck_assert_int_eq(sink_start(s, sp, &cause), 0);
	ck_assert(sink_wait_idle(s, 20000));
	ck_assert_uint_eq(mem_count(), st.newest_seq - st.oldest_seq + 1);

	memset(&cs, 0, sizeof cs);
	cs.spool = sp;
	cs.sinks = &s;
	cs.nsinks = 1;
	snprintf(req, sizeof req, "{\"op\":\"redeliver\",\"sink\":\"mem\","
	    "\"from\":1}");
	ans = control_answer(&cs, req, strlen(req), 0, 1);
	o = tu_json(ans);
	snprintf(want, sizeof want, "redeliver: records 1 to %llu are no "
	    "longer in the spool (removed by retention); the oldest retained "
	    "is %llu", (unsigned long long)st.oldest_seq - 1,
	    (unsigned long long)st.oldest_seq);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(
	    tu_jget(o, "errors"), 0)), want);
	json_object_put(o);
	free(ans);

	/* Segments every cursor has passed go: what is left, sent again. */
	spool_maintain(sp);
	spool_get_stats(sp, &st);
	snprintf(req, sizeof req, "{\"op\":\"redeliver\",\"sink\":\"mem\","
	    "\"from\":%llu,\"to\":%llu}", (unsigned long long)st.oldest_seq,
	    (unsigned long long)st.newest_seq);
	k = st.newest_seq - st.oldest_seq + 1;
	before = mem_count();
	ans = control_answer(&cs, req, strlen(req), 0, 1);
	o = tu_json(ans);
	ck_assert_msg(json_object_get_boolean(tu_jget(o, "ok")), "%s", ans);
	json_object_put(o);
	free(ans);
	ck_assert_msg(mem_wait(before + k, 20000), "%zu of %zu sent again",
	    mem_count() - before, k);
	append_routed(sp, 1);
	ck_assert(mem_wait(before + k + 1, 20000));
	ck_assert_uint_eq(mem_count(), before + k + 1);
	for (i = 0; i < k; i++)
		ck_assert_uint_eq(mem_seqs[before + i], st.oldest_seq + i);
	ck_assert_uint_eq(mem_seqs[before + k], st.newest_seq + 1);

	sink_stop(s, 5);
	sink_free(s);
	spool_close(sp);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/* Keys that need a restart are refused by name, with the main file. */
START_TEST(test_fixed_keys)
{
	struct config_errors errs = { NULL, 0 };
	struct config *a, *b;
	char *dir = tu_tmpdir(), *fa, *fb, *text;
	static const char fmt[] = "[daemon]\nspool_dir = %s/%s\nfsync = %s\n"
	    "control_socket =\n[sink a]\ntype = file\npath = %s/a\n"
	    "[filter f]\nsinks = a\n";

	ck_assert_int_gt(asprintf(&fa, "%s/a.conf", dir), 0);
	ck_assert_int_gt(asprintf(&fb, "%s/b.conf", dir), 0);
	ck_assert_int_gt(asprintf(&text, fmt, dir, "s1", "none", dir), 0);
	tu_write_file(fa, text, strlen(text));
	free(text);
	ck_assert_int_gt(asprintf(&text, fmt, dir, "s2", "always", dir), 0);
	tu_write_file(fb, text, strlen(text));
	free(text);
	ck_assert_ptr_nonnull(a = config_load(fa, &errs));
	ck_assert_ptr_nonnull(b = config_load(fb, &errs));
	ck_assert_uint_eq(reload_check_fixed(a, a, &errs), 0);
	ck_assert_uint_eq(reload_check_fixed(a, b, &errs), 2);
	ck_assert_msg(strncmp(errs.msgs[0], fb, strlen(fb)) == 0 &&
	    strstr(errs.msgs[0], ": spool_dir cannot change on reload") !=
	    NULL, "%s", errs.msgs[0]);
	ck_assert_msg(strstr(errs.msgs[1], "fsync cannot change on reload "
	    "(from \"none\" to \"always\")") != NULL, "%s", errs.msgs[1]);
	ck_assert(reload_sink_equal(&a->sinks[0], &b->sinks[0]));
	ck_assert(reload_listener_equal(&a->listener, &b->listener));
	config_errors_clear(&errs);
	config_free(a);
	config_free(b);
	free(fa);
	free(fb);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("reload");
	TCase *tc = tcase_create("reload");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_reload_under_load);
	tcase_add_test(tc, test_reload_broken);
	tcase_add_test(tc, test_reload_port);
	tcase_add_test(tc, test_reload_unchanged_sink);
	tcase_add_test(tc, test_redeliver);
	tcase_add_test(tc, test_reload_socket_sink_continues);
	suite_add_tcase(s, tc);
	tc = tcase_create("unit");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_redeliver_unit);
	tcase_add_test(tc, test_fixed_keys);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(suite());
}
