/*
 * check_sink_exec.c: the exec sink (sink_exec.c), fed from a spool in a
 * temp dir as the daemon feeds it: the record on stdin and CIM_* in the
 * environment, argv splitting without a shell, timeouts (killed, retried,
 * no zombie), a command failing twice then succeeding (delivered once),
 * concurrency (commands overlap), a command that is not found, output to
 * the log (rate-limited), EPIPE from a command that reads nothing, a stop
 * that kills a hanging command, and a black-box run of the daemon whose
 * exec sink hangs while reception and a file sink go on.
 *
 * Every wait is on a condition with a bounded timeout. The log goes to
 * stderr, which the tests that read it redirect to a file.
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <check.h>

#include "testutil.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "buf.h"
#include "log.h"
#include "sink.h"
#include "spool.h"
#include "xmalloc.h"

static char *tmpdir;
static struct spool *spool;
static char *logpath;
static int saved_stderr = -1;

static void
setup(void)
{
	struct spool_params p;
	char tmpl[] = "/tmp/check_exec.XXXXXX", *dir, *cause = NULL;

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	tmpdir = xstrdup(tmpl);
	memset(&p, 0, sizeof p);
	xasprintf(&dir, "%s/spool", tmpdir);
	p.dir = dir;
	spool = spool_open(&p, &cause);
	ck_assert_msg(spool != NULL, "spool_open: %s", cause);
	free(dir);
	log_init(LOG_DEBUG, true, "check_sink_exec");
}

static void
teardown(void)
{
	if (saved_stderr != -1) {
		dup2(saved_stderr, 2);
		close(saved_stderr);
		saved_stderr = -1;
	}
	free(logpath);
	logpath = NULL;
	spool_close(spool);
	spool = NULL;
	tu_rmtree(tmpdir);
	free(tmpdir);
	tmpdir = NULL;
}

static char *
tpath(const char *name)
{
	char *p;

	xasprintf(&p, "%s/%s", tmpdir, name);
	return p;
}

/* Send the log (stderr) to tmpdir/log from now on. */
static void
capture_log(void)
{
	int fd;

	logpath = tpath("log");
	fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
	ck_assert_int_ge(fd, 0);
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
}

static bool
log_has(const char *needle)
{
	char *s = tu_read_file(logpath, NULL);
	bool has = s != NULL && strstr(s, needle) != NULL;

	free(s);
	return has;
}

static size_t
count_in(const char *s, const char *needle)
{
	size_t n = 0;

	while (s != NULL && (s = strstr(s, needle)) != NULL) {
		n++;
		s += strlen(needle);
	}
	return n;
}

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Poll cond(arg) every 5 ms for at most timeout_ms. */
static bool
wait_for(bool (*cond)(void *), void *arg, unsigned timeout_ms)
{
	double end = now_sec() + timeout_ms / 1000.0;
	struct timespec ms = { 0, 5000000 };

	for (;;) {
		if (cond(arg))
			return true;
		if (now_sec() > end)
			return false;
		nanosleep(&ms, NULL);
	}
}

/*
 * Processes whose parent is `ppid` (zombies counted in *zombies), or whose
 * process group is `pgrp` (when not 0).
 */
static unsigned
count_procs(pid_t ppid, pid_t pgrp, unsigned *zombies)
{
	DIR *d;
	struct dirent *de;
	char path[300], buf[1024], *p, state;
	int pid, pp, pg;
	unsigned n = 0;
	FILE *f;

	if (zombies != NULL)
		*zombies = 0;
	ck_assert_ptr_nonnull(d = opendir("/proc"));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(buf, sizeof buf, f) == NULL ||
		    (p = strrchr(buf, ')')) == NULL ||
		    sscanf(p + 1, " %c %d %d", &state, &pp, &pg) != 3) {
			fclose(f);
			continue;
		}
		fclose(f);
		pid = atoi(de->d_name);
		(void)pid;
		if ((ppid != 0 && pp == ppid) || (pgrp != 0 && pg == pgrp)) {
			n++;
			if (zombies != NULL && state == 'Z')
				(*zombies)++;
		}
	}
	closedir(d);
	return n;
}

static bool
have_child(void *arg)
{
	(void)arg;
	return count_procs(getpid(), 0, NULL) > 0;
}

/* A real record's tail (after "seq"), with PerceivedSeverity `sev`. */
static uint64_t
put_rec(const char *cls, unsigned sev, const char *extra)
{
	struct buf b = BUF_INIT;
	struct spool_entry e;
	const char *routes[] = { "test" };
	char *cause = NULL;
	uint64_t seq;

	buf_printf(&b, ",\"time\":\"2026-11-22T01:30:00.123456Z\","
	    "\"source\":{\"addr\":\"10.1.2.3\",\"port\":49152,\"tls\":false,"
	    "\"user\":null,\"path\":\"/\"},\"message_id\":\"1001\","
	    "\"class\":\"%s\",\"filters\":[\"all\"],\"properties\":{"
	    "\"PerceivedSeverity\":{\"type\":\"uint16\",\"value\":%u}%s}}\n",
	    cls, sev, extra != NULL ? extra : "");
	e.tail = b.data;
	e.tail_len = b.len;
	e.routes = routes;
	e.nroutes = 1;
	ck_assert_msg(spool_append(spool, &e, 1, &seq, &cause) == 0,
	    "spool_append: %s", cause);
	buf_free(&b);
	return seq;
}

static struct sink_conf
mkconf(const char *command, bool shell, unsigned concurrency,
    unsigned timeout)
{
	struct sink_conf c;

	memset(&c, 0, sizeof c);
	c.name = (char *)"test";
	c.type = (char *)"exec";
	c.format = SINK_FORMAT_JSON;
	c.command = (char *)command;
	c.shell = shell;
	c.concurrency = concurrency;
	c.timeout = timeout;
	return c;
}

static void
start(struct sink *s)
{
	char *cause = NULL;

	ck_assert_msg(sink_start(s, spool, &cause) == 0, "sink_start: %s",
	    cause);
}

/* An exec sink running `fmt` (printf with tmpdir as every %1$s). */
static struct sink *
newsink(bool shell, unsigned concurrency, unsigned timeout, const char *fmt)
{
	struct sink_conf c;
	struct sink *s;
	char *cmd, *cause = NULL;

	xasprintf(&cmd, fmt, tmpdir);
	c = mkconf(cmd, shell, concurrency, timeout);
	s = sink_new(&c, &cause);
	ck_assert_msg(s != NULL, "sink_new: %s", cause);
	free(cmd);
	return s;
}

/* The same, started. */
static struct sink *
mksink(bool shell, unsigned concurrency, unsigned timeout, const char *fmt)
{
	struct sink *s = newsink(shell, concurrency, timeout, fmt);

	start(s);
	return s;
}

/* Stop and free a sink; no child of ours may be left, zombie or not. */
static void
stop_sink(struct sink *s, unsigned timeout)
{
	unsigned zombies, n;

	sink_stop(s, timeout);
	sink_free(s);
	n = count_procs(getpid(), 0, &zombies);
	ck_assert_msg(n == 0, "%u children left (%u zombies)", n, zombies);
}

struct fail_wait {
	struct sink *s;
	uint64_t failures;
};

static bool
has_failures(void *arg)
{
	struct fail_wait *fw = arg;
	struct sink_stats st;

	sink_get_stats(fw->s, &st);
	return st.failures >= fw->failures;
}

START_TEST(test_registry_and_split_errors)
{
	static const char *const bad[] = { "", "   ", "a 'b", "a \"b",
	    "a\\" };
	struct sink_conf c;
	char *cause;
	size_t i;

	ck_assert_ptr_eq(sink_ops_find("exec"), &sink_exec_ops);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		c = mkconf(bad[i], false, 1, 10);
		ck_assert_ptr_null(sink_new(&c, &cause));
		ck_assert_ptr_nonnull(cause);
		free(cause);
	}
	c = mkconf(NULL, true, 1, 10);
	cause = NULL;
	ck_assert_ptr_null(sink_new(&c, &cause));
	free(cause);
}
END_TEST

/* Words reach the program as split, without a shell. */
START_TEST(test_argv_split)
{
	struct sink *s;
	char *p = tpath("args"), *got;

	s = mksink(false, 1, 10, "/bin/sh -c 'for a in \"$@\"; do "
	    "echo \"[$a]\"; done >> %1$s/args' sh \"one two\" 'three  four' "
	    "five\\ six \"\" \"q\\\"uote\" 'it'\\''s' a'b'\"c\" $HOME");
	put_rec("CIM_AlertIndication", 4, NULL);
	ck_assert(sink_wait_idle(s, 10000));
	got = tu_read_file(p, NULL);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, "[one two]\n[three  four]\n[five six]\n[]\n"
	    "[q\"uote]\n[it's]\n[abc]\n[$HOME]\n");
	stop_sink(s, 5);
	free(got);
	free(p);
}
END_TEST

/* The JSON on stdin, and the CIM_* environment. */
START_TEST(test_stdin_and_env)
{
	struct sink *s;
	struct sink_stats st;
	char *p = tpath("out.jsonl"), *pe = tpath("env"), **lines, *env,
	    *want;
	json_object *o, *v;
	size_t n, i;

	setenv("CIM_CLASS", "inherited-must-be-replaced", 1);
	/* One short append per command: whole lines even when two run. */
	s = mksink(true, 2, 10, "cat >> %1$s/out.jsonl; "
	    "e=$(env | grep ^CIM_ | sort | tr '\\n' ' '); "
	    "echo \"$e\" >> %1$s/env");
	for (i = 0; i < 6; i++)
		put_rec(i % 2 ? "CIM_AlertIndication" : "CIM_InstCreation",
		    (unsigned)(3 + i % 4), NULL);
	ck_assert(sink_wait_idle(s, 15000));
	lines = tu_read_lines(p, &n);
	ck_assert_uint_eq(n, 6);
	for (i = 0; i < n; i++) {
		o = json_tokener_parse(lines[i]);
		ck_assert_msg(o != NULL, "not JSON: %s", lines[i]);
		ck_assert(json_object_object_get_ex(o, "seq", &v));
		/* Two run at once: any order, each seq once. */
		ck_assert_int_ge(json_object_get_int64(v), 1);
		ck_assert_int_le(json_object_get_int64(v), 6);
		json_object_put(o);
	}
	tu_free_lines(lines);
	env = tu_read_file(pe, NULL);
	ck_assert_ptr_nonnull(env);
	for (i = 0; i < 6; i++) {
		/* PerceivedSeverity 3, 4 -> warning; 5 -> err; 6 -> crit */
		xasprintf(&want, "CIM_CLASS=%s CIM_SEQ=%zu CIM_SEVERITY=%s "
		    "CIM_SOURCE=10.1.2.3 \n", i % 2 ? "CIM_AlertIndication" :
		    "CIM_InstCreation", i + 1, (3 + i % 4) <= 4 ? "warning" :
		    (3 + i % 4) == 5 ? "err" : "crit");
		ck_assert_msg(strstr(env, want) != NULL, "%s not in %s", want,
		    env);
		free(want);
	}
	ck_assert(strstr(env, "inherited") == NULL);
	sink_get_stats(s, &st);
	ck_assert_uint_eq(st.delivered, 6);
	ck_assert_uint_eq(st.failures, 0);
	stop_sink(s, 5);
	unsetenv("CIM_CLASS");
	free(env);
	free(p);
	free(pe);
}
END_TEST

/* Each record's lines parse and carry their own seq (one at a time). */
START_TEST(test_stdin_order)
{
	struct sink *s;
	char *p = tpath("out.jsonl"), **lines;
	json_object *o, *v;
	size_t n, i;

	s = mksink(true, 1, 10, "cat >> %1$s/out.jsonl");
	for (i = 0; i < 20; i++)
		put_rec("CIM_AlertIndication", 2, NULL);
	ck_assert(sink_wait_idle(s, 20000));
	lines = tu_read_lines(p, &n);
	ck_assert_uint_eq(n, 20);
	for (i = 0; i < n; i++) {
		ck_assert_ptr_nonnull(o = json_tokener_parse(lines[i]));
		ck_assert(json_object_object_get_ex(o, "seq", &v));
		ck_assert_int_eq(json_object_get_int64(v), (int64_t)i + 1);
		json_object_put(o);
	}
	tu_free_lines(lines);
	stop_sink(s, 5);
	free(p);
}
END_TEST

/* format = mof: the command reads MOF; severity = alert sets CIM_SEVERITY. */
START_TEST(test_stdin_mof)
{
	struct sink_conf c;
	struct sink *s;
	char *cmd, *p = tpath("out.mof"), *got, *cause = NULL;

	xasprintf(&cmd, "cat >> %s; echo \"$CIM_SEVERITY\" > %s.sev", p, p);
	c = mkconf(cmd, true, 1, 10);
	c.format = SINK_FORMAT_MOF;
	c.severity = (char *)"alert"; /* the sink's severity setting */
	ck_assert_ptr_nonnull(s = sink_new(&c, &cause));
	ck_assert_int_eq(sink_start(s, spool, &cause), 0);
	put_rec("CIM_AlertIndication", 6, NULL);
	ck_assert(sink_wait_idle(s, 10000));
	got = tu_read_file(p, NULL);
	ck_assert_ptr_nonnull(got);
	ck_assert_msg(strncmp(got, "instance of CIM_AlertIndication {", 33)
	    == 0, "%s", got);
	ck_assert_ptr_nonnull(strstr(got, "PerceivedSeverity = 6;"));
	ck_assert_str_eq(got + strlen(got) - 3, "};\n");
	free(got);
	xasprintf(&got, "%s.sev", p);
	free(cmd);
	cmd = tu_read_file(got, NULL);
	ck_assert_ptr_nonnull(cmd);
	ck_assert_str_eq(cmd, "alert\n");
	stop_sink(s, 5);
	free(got);
	free(cmd);
	free(p);
}
END_TEST

/* A command past its timeout is killed and retried; no zombie is left. */
START_TEST(test_timeout)
{
	struct fail_wait fw;
	struct sink_stats st;
	struct sink *s;

	capture_log();
	s = mksink(false, 1, 1, "sleep 30");
	put_rec("CIM_AlertIndication", 4, NULL);
	fw.s = s;
	fw.failures = 2;
	ck_assert(wait_for(has_failures, &fw, 15000));
	sink_get_stats(s, &st);
	ck_assert_uint_eq(st.delivered, 0);
	ck_assert(log_has("sink test: command \"sleep 30\" for record 1 "
	    "killed after the 1s timeout; retrying"));
	stop_sink(s, 0);
}
END_TEST

/* Fails twice, then succeeds: delivered exactly once; failures counted. */
START_TEST(test_fail_then_succeed)
{
	struct sink_stats st;
	struct sink *s;
	char *p = tpath("out.jsonl"), *cnt = tpath("count"), *got;
	size_t n;

	capture_log();
	s = mksink(true, 1, 10, "n=$(cat %1$s/count 2>/dev/null || echo 0); "
	    "n=$((n + 1)); echo $n > %1$s/count; "
	    "if [ $n -lt 3 ]; then echo attempt $n failed >&2; exit 3; fi; "
	    "cat >> %1$s/out.jsonl");
	put_rec("CIM_AlertIndication", 4, NULL);
	ck_assert(sink_wait_idle(s, 15000));
	sink_get_stats(s, &st);
	ck_assert_uint_eq(st.delivered, 1);
	ck_assert_uint_eq(st.failures, 2);
	tu_free_lines(tu_read_lines(p, &n));
	ck_assert_uint_eq(n, 1);
	got = tu_read_file(cnt, NULL);
	ck_assert_str_eq(got, "3\n");
	ck_assert(log_has("for record 1 exited with status 3; retrying"));
	ck_assert(log_has("sink test: record 1: stderr: attempt 1 failed"));
	ck_assert(log_has("sink test recovered after 2 failed attempts"));
	stop_sink(s, 5);
	free(got);
	free(p);
	free(cnt);
}
END_TEST

/*
 * With concurrency 4, commands overlap (one was started before another
 * ended), never more than 4 at once, and all 8 run once.
 */
START_TEST(test_concurrency)
{
	struct sink *s;
	char *p = tpath("trace"), **lines;
	size_t n, i;
	int running = 0, most = 0, starts = 0;

	s = newsink(true, 4, 10, "echo start $$ >> %1$s/trace; sleep 1; "
	    "echo end $$ >> %1$s/trace");
	for (i = 0; i < 8; i++)
		put_rec("CIM_AlertIndication", 4, NULL);
	start(s); /* all 8 in one batch */
	ck_assert(sink_wait_idle(s, 30000));
	lines = tu_read_lines(p, &n);
	ck_assert_uint_eq(n, 16);
	for (i = 0; i < n; i++) {
		if (strncmp(lines[i], "start ", 6) == 0) {
			starts++;
			if (++running > most)
				most = running;
		} else
			running--;
	}
	ck_assert_int_eq(starts, 8);
	ck_assert_int_gt(most, 1);
	ck_assert_int_le(most, 4);
	tu_free_lines(lines);
	stop_sink(s, 5);
	free(p);
}
END_TEST

/*
 * A record whose command succeeded after an earlier one failed is not run
 * again when the batch is retried.
 */
START_TEST(test_no_rerun_after_failure)
{
	struct sink *s;
	char *p = tpath("runs"), *got;

	s = newsink(true, 2, 10, "echo $CIM_SEQ >> %1$s/runs; "
	    "if [ $CIM_SEQ = 1 ] && [ ! -e %1$s/flag ]; then "
	    "sleep 0.3; touch %1$s/flag; exit 1; fi");
	put_rec("CIM_AlertIndication", 4, NULL);
	put_rec("CIM_AlertIndication", 4, NULL);
	start(s); /* both in one batch: 1 fails while 2 succeeds */
	ck_assert(sink_wait_idle(s, 15000));
	got = tu_read_file(p, NULL);
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(count_in(got, "1\n"), 2);
	ck_assert_uint_eq(count_in(got, "2\n"), 1);
	stop_sink(s, 5);
	free(got);
	free(p);
}
END_TEST

/* A command that is not there: retried with a cause, no crash. */
START_TEST(test_not_found)
{
	struct fail_wait fw;
	struct sink *s;

	capture_log();
	s = mksink(false, 1, 10, "/nonexistent/cmd-xyz --flag");
	put_rec("CIM_AlertIndication", 4, NULL);
	fw.s = s;
	fw.failures = 2;
	ck_assert(wait_for(has_failures, &fw, 10000));
	ck_assert(log_has("sink test: cannot run /nonexistent/cmd-xyz: "
	    "No such file or directory; retrying"));
	stop_sink(s, 0);

	/* Looked up in PATH. */
	s = mksink(false, 1, 10, "no-such-command-cimlisten-test");
	fw.s = s;
	fw.failures = 1;
	ck_assert(wait_for(has_failures, &fw, 10000));
	ck_assert(log_has("cannot run no-such-command-cimlisten-test: "
	    "No such file or directory"));
	stop_sink(s, 0);

	/* Through the shell: status 127. */
	s = mksink(true, 1, 10, "no-such-command-cimlisten-test");
	fw.s = s;
	fw.failures = 1;
	ck_assert(wait_for(has_failures, &fw, 10000));
	ck_assert(log_has("exited with status 127 (command not found?)"));
	stop_sink(s, 0);
}
END_TEST

/* stdout and stderr reach the log, with the sink and seq; rate-limited. */
START_TEST(test_output_logged)
{
	struct sink *s;
	char *log;

	capture_log();
	s = mksink(true, 1, 10, "echo to-stdout-marker; "
	    "printf 'to-stderr-marker\\nno newline at end' >&2");
	put_rec("CIM_AlertIndication", 4, NULL);
	ck_assert(sink_wait_idle(s, 10000));
	ck_assert(log_has("info: sink test: record 1: stdout: "
	    "to-stdout-marker\n"));
	ck_assert(log_has("warning: sink test: record 1: stderr: "
	    "to-stderr-marker\n"));
	ck_assert(log_has("sink test: record 1: stderr: no newline at end\n"));
	stop_sink(s, 5);

	s = mksink(true, 1, 10, "i=0; while [ $i -lt 300 ]; do "
	    "echo noisy-line-$i >&2; i=$((i + 1)); done");
	put_rec("CIM_AlertIndication", 4, NULL);
	ck_assert(sink_wait_idle(s, 10000));
	log = tu_read_file(logpath, NULL);
	ck_assert_uint_ge(count_in(log, "stderr: noisy-line-"), 20);
	ck_assert_uint_le(count_in(log, "stderr: noisy-line-"), 60);
	ck_assert_ptr_nonnull(strstr(log, "lines of command output "
	    "suppressed"));
	stop_sink(s, 5);
	free(log);
}
END_TEST

/*
 * A command that exits without reading a large record: EPIPE, not
 * SIGPIPE (default disposition here), and exit 0 is success.
 */
START_TEST(test_epipe)
{
	struct sink_stats st;
	struct buf big = BUF_INIT;
	struct sink *s;
	size_t i;

	signal(SIGPIPE, SIG_DFL);
	buf_adds(&big, ",\"Big\":{\"type\":\"string\",\"value\":\"");
	for (i = 0; i < 300000; i++)
		buf_addc(&big, 'x');
	buf_adds(&big, "\"}");
	s = mksink(false, 1, 10, "true");
	for (i = 0; i < 3; i++)
		put_rec("CIM_AlertIndication", 4, big.data);
	ck_assert(sink_wait_idle(s, 10000));
	sink_get_stats(s, &st);
	ck_assert_uint_eq(st.delivered, 3);
	stop_sink(s, 5);
	buf_free(&big);
}
END_TEST

/* Stopping kills a hanging command (within the stop's deadline). */
START_TEST(test_stop_kills)
{
	struct sink *s;
	double t0;

	s = mksink(false, 2, 60, "sleep 30");
	put_rec("CIM_AlertIndication", 4, NULL);
	put_rec("CIM_AlertIndication", 4, NULL);
	ck_assert(wait_for(have_child, NULL, 10000));
	t0 = now_sec();
	stop_sink(s, 1);
	ck_assert_msg(now_sec() - t0 < 10, "stop took %.1fs", now_sec() - t0);
}
END_TEST

/* The stop of a draining sink: what it held is left for the next start. */
START_TEST(test_free_running)
{
	struct sink *s;

	s = mksink(true, 1, 60, "exec sleep 30");
	put_rec("CIM_AlertIndication", 4, NULL);
	ck_assert(wait_for(have_child, NULL, 10000));
	stop_sink(s, 0);
}
END_TEST

static const char bb_conf[] =
    "[listener]\n"
    "http_port = %1$u\n"
    "bind = 127.0.0.1\n"
    "[daemon]\n"
    "spool_dir = %2$s/spool\n"
    "control_socket = %2$s/control.sock\n"
    "shutdown_timeout = 2s\n"
    "[sink out]\n"
    "type = file\n"
    "path = %2$s/out.jsonl\n"
    "[sink hang]\n"
    "type = exec\n"
    "shell = yes\n"
    "command = echo $$ >> %2$s/hang.pids && exec sleep 30\n"
    "timeout = 60s\n"
    "[filter all]\n"
    "sinks = out, hang\n";

static bool
file_has_line(void *arg)
{
	return tu_wait_lines(arg, 1, 0);
}

/*
 * The daemon with an exec sink stuck in a hanging command: reception and
 * the file sink are not held up; stopping kills the command.
 */
START_TEST(test_daemon_hang)
{
	struct tu_daemon *d;
	struct tu_response *r;
	char *body, *pids, *out, *s;
	size_t len, n, i;
	pid_t pid;

	d = tu_daemon_start_conf(bb_conf);
	xasprintf(&out, "%s/out.jsonl", d->dir);
	xasprintf(&pids, "%s/hang.pids", d->dir);
	body = tu_sample("alert-indication.xml", &len);
	for (i = 0; i < 200; i++) {
		r = tu_post(d->port, body, len);
		ck_assert_int_eq(r->status, 200);
		tu_response_free(r);
	}
	ck_assert(tu_wait_lines(out, 200, 20000));
	ck_assert(wait_for(file_has_line, pids, 10000));
	tu_free_lines(tu_read_lines(pids, &n));
	ck_assert_uint_eq(n, 1); /* the first is still running */
	s = tu_read_file(pids, NULL);
	pid = (pid_t)atoi(s);
	ck_assert_int_gt(pid, 1);
	ck_assert_uint_eq(count_procs(0, pid, NULL), 1);

	ck_assert_int_eq(kill(d->pid, SIGTERM), 0);
	ck_assert(tu_daemon_wait(d, 20000));
	ck_assert(tu_daemon_log_has(d, "sink hang: command \"echo $$ >> "));
	ck_assert(tu_daemon_log_has(d, "for record 1 killed: the sink is "
	    "stopping"));
	ck_assert(tu_daemon_log_has(d, "sink hang: 200 spool records not "
	    "passed at shutdown"));
	ck_assert_int_eq(tu_daemon_stop(d), 0);
	/* Neither the command nor anything of its group is left. */
	ck_assert_uint_eq(count_procs(0, pid, NULL), 0);
	free(s);
	free(body);
	free(out);
	free(pids);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("sink_exec");
	TCase *tc = tcase_create("exec");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_registry_and_split_errors);
	tcase_add_test(tc, test_argv_split);
	tcase_add_test(tc, test_stdin_and_env);
	tcase_add_test(tc, test_stdin_order);
	tcase_add_test(tc, test_stdin_mof);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_fail_then_succeed);
	tcase_add_test(tc, test_concurrency);
	tcase_add_test(tc, test_no_rerun_after_failure);
	tcase_add_test(tc, test_not_found);
	tcase_add_test(tc, test_output_logged);
	tcase_add_test(tc, test_epipe);
	tcase_add_test(tc, test_stop_kills);
	tcase_add_test(tc, test_free_running);
	tcase_add_test(tc, test_daemon_hang);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(suite());
}
