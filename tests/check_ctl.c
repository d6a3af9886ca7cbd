/*
 * check_ctl.c: black-box tests of the cimlistenctl program. They run the
 * built binary ($CIMLISTENCTL, default BUILDDIR/src/cimlistenctl) with
 * fork and exec, feeding stdin from a file and capturing stdout and stderr
 * to files, and check exit codes and output: check-config on good and bad
 * configurations, test-filter on records made here by parsing the sample
 * indications and rendering them with record_json, as the file sink does;
 * send against a real daemon (what arrives, summaries, error answers);
 * the control socket's answers and the commands that use it.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <signal.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "testutil.h"

#include "buf.h"
#include "cimxml.h"
#include "record.h"

static char *tmp;      /* per-test directory */
static char *records;  /* tmp/records.jsonl: one record per sample */

/* Sample file, class, seq, source address and filters of each record. */
static const struct {
	const char *sample;
	const char *class;
	unsigned seq;
	const char *addr;
	const char *filter; /* NULL: matched none */
} recs[] = {
	{ "alert-indication.xml", "CIM_AlertIndication", 101, "10.1.2.3",
	  "critical" },
	{ "all-types.xml", "Acme_TypesIndication", 102, "10.9.0.7", NULL },
	{ "inst-modification.xml", "CIM_InstModification", 103, "10.1.2.4",
	  "fans" },
	{ "null-and-empty.xml", "Acme_ProcessIndication", 104, "::1", NULL },
};
#define NRECS (sizeof recs / sizeof recs[0])

static const char *
ctl_path(void)
{
	const char *p = getenv("CIMLISTENCTL");

	return p != NULL && *p != '\0' ? p : BUILDDIR "/src/cimlistenctl";
}

/* The JSON line of record i, as the file sink writes it (malloc'd). */
static char *
record_line(size_t i)
{
	const char *filters[1];
	struct cimxml_message *m = NULL;
	struct record_source src = { .port = 49152, .path = "/cimlisten" };
	struct record rec = { 0 };
	struct buf b = BUF_INIT;
	char *body, *reason = NULL;
	size_t len;

	body = tu_sample(recs[i].sample, &len);
	ck_assert_ptr_nonnull(body);
	ck_assert_int_eq(cimxml_parse(body, len, NULL, &m, &reason), CIMXML_OK);
	snprintf(src.addr, sizeof src.addr, "%s", recs[i].addr);
	rec.seq = recs[i].seq;
	rec.time.tv_sec = 1795311000;
	rec.source = &src;
	rec.message_id = m->id;
	rec.inst = m->exports[0].indication;
	filters[0] = recs[i].filter;
	rec.filters = filters;
	rec.nfilters = recs[i].filter != NULL ? 1 : 0;
	record_json(&rec, &b);
	cimxml_message_free(m);
	free(body);
	return buf_steal(&b, NULL);
}

static void
setup(void)
{
	struct buf b = BUF_INIT;
	char *line;
	size_t i;

	tmp = tu_tmpdir();
	ck_assert_int_gt(asprintf(&records, "%s/records.jsonl", tmp), 0);
	for (i = 0; i < NRECS; i++) {
		line = record_line(i);
		buf_adds(&b, line);
		free(line);
	}
	tu_write_file(records, b.data, b.len);
	buf_free(&b);
}

static void
teardown(void)
{
	tu_rmtree(tmp);
	free(tmp);
	free(records);
}

/* A file in the test directory holding `data`; its path (caller frees). */
static char *
tmp_file(const char *name, const char *data)
{
	char *path;

	ck_assert_int_gt(asprintf(&path, "%s/%s", tmp, name), 0);
	tu_write_file(path, data, strlen(data));
	return path;
}

struct run {
	int status; /* exit status, or 128 + signal */
	char *out;
	char *err;
};

static void
run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/*
 * Run cimlistenctl with the NULL-terminated arguments (after argv[0]),
 * stdin from `input` (NULL: /dev/null). Waits for it to exit.
 */
static struct run
run_ctl(const char *input, ...)
{
	struct run r = { -1, NULL, NULL };
	char *argv[32], *inpath, *outpath, *errpath;
	const char *arg;
	va_list ap;
	int argc = 0, status, fd;
	pid_t pid;

	argv[argc++] = (char *)"cimlistenctl";
	va_start(ap, input);
	while ((arg = va_arg(ap, const char *)) != NULL && argc < 31)
		argv[argc++] = (char *)arg;
	va_end(ap);
	argv[argc] = NULL;

	ck_assert_int_gt(asprintf(&inpath, "%s/stdin", tmp), 0);
	ck_assert_int_gt(asprintf(&outpath, "%s/stdout", tmp), 0);
	ck_assert_int_gt(asprintf(&errpath, "%s/stderr", tmp), 0);
	tu_write_file(inpath, input ? input : "", input ? strlen(input) : 0);

	fflush(NULL);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		if ((fd = open(input ? inpath : "/dev/null", O_RDONLY)) == -1 ||
		    dup2(fd, 0) == -1)
			_exit(126);
		if ((fd = open(outpath, O_WRONLY | O_CREAT | O_TRUNC, 0600)) ==
		    -1 || dup2(fd, 1) == -1)
			_exit(126);
		if ((fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600)) ==
		    -1 || dup2(fd, 2) == -1)
			_exit(126);
		execv(ctl_path(), argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1)
		ck_assert_int_eq(errno, EINTR);
	if (WIFEXITED(status))
		r.status = WEXITSTATUS(status);
	else
		r.status = 128 + WTERMSIG(status);
	ck_assert_msg(r.status != 126 && r.status != 127,
	    "cannot run %s", ctl_path());
	r.out = tu_read_file(outpath, NULL);
	r.err = tu_read_file(errpath, NULL);
	ck_assert_ptr_nonnull(r.out);
	ck_assert_ptr_nonnull(r.err);
	free(inpath);
	free(outpath);
	free(errpath);
	return r;
}

/* Number of lines in s. */
static size_t
nlines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (*s == '\n')
			n++;
	return n;
}

/* The expected human-readable output for the records `matching` (bitmask). */
static char *
expected_out(unsigned matching, int times)
{
	struct buf b = BUF_INIT;
	size_t i;
	int t;

	buf_adds(&b, "");
	for (t = 0; t < times; t++)
		for (i = 0; i < NRECS; i++)
			buf_printf(&b, "%s seq=%u %s\n",
			    (matching >> i) & 1 ? "match   " : "no match",
			    recs[i].seq, recs[i].class);
	return buf_steal(&b, NULL);
}

/* test-filter EXPR on the records: exit status and exact output. */
static void
assert_filter(const char *expr, unsigned matching)
{
	struct run r = run_ctl(NULL, "test-filter", expr, records, NULL);
	char *want = expected_out(matching, 1);

	ck_assert_msg(r.status == (matching ? 0 : 1),
	    "%s: exit %d, stderr: %s", expr, r.status, r.err);
	ck_assert_msg(strcmp(r.out, want) == 0, "%s:\n got:\n%s want:\n%s",
	    expr, r.out, want);
	ck_assert_str_eq(r.err, "");
	free(want);
	run_free(&r);
}

START_TEST(test_usage_and_version)
{
	struct run r;

	r = run_ctl(NULL, NULL);
	ck_assert_int_eq(r.status, 2);
	ck_assert_ptr_nonnull(strstr(r.err, "no command"));
	ck_assert_ptr_nonnull(strstr(r.err, "check-config"));
	ck_assert_ptr_nonnull(strstr(r.err, "test-filter"));
	run_free(&r);

	r = run_ctl(NULL, "frobnicate", NULL);
	ck_assert_int_eq(r.status, 2);
	ck_assert_ptr_nonnull(strstr(r.err, "unknown command 'frobnicate'"));
	ck_assert_ptr_nonnull(strstr(r.err, "check-config [FILE]"));
	ck_assert_ptr_nonnull(strstr(r.err, "test-filter EXPR"));
	ck_assert_str_eq(r.out, "");
	run_free(&r);

	r = run_ctl(NULL, "--bogus", NULL);
	ck_assert_int_eq(r.status, 2);
	run_free(&r);

	r = run_ctl(NULL, "-h", NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "usage: cimlistenctl"));
	ck_assert_ptr_nonnull(strstr(r.out, "test-filter EXPR"));
	run_free(&r);

	r = run_ctl(NULL, "--version", NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "cimlistenctl " PACKAGE_VERSION "\n");
	run_free(&r);

	r = run_ctl(NULL, "test-filter", "--help", NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "test-filter EXPR"));
	run_free(&r);

	r = run_ctl(NULL, "test-filter", NULL);
	ck_assert_int_eq(r.status, 2);
	ck_assert_ptr_nonnull(strstr(r.err, "missing expression"));
	run_free(&r);

	r = run_ctl(NULL, "test-filter", "--frob", "TRUE", NULL);
	ck_assert_int_eq(r.status, 2);
	ck_assert_ptr_nonnull(strstr(r.err, "unknown option '--frob'"));
	run_free(&r);

	r = run_ctl(NULL, "check-config", "a.conf", "b.conf", NULL);
	ck_assert_int_eq(r.status, 2);
	ck_assert_ptr_nonnull(strstr(r.err, "unexpected argument 'b.conf'"));
	run_free(&r);
}
END_TEST

START_TEST(test_check_config_good)
{
	struct run r;
	json_object *o;
	char *conf, *text, *want;

	ck_assert_int_gt(asprintf(&text,
	    "[listener]\nhttp_port = 0\n"
	    "[sink out]\ntype = file\npath = %s/out.jsonl\n"
	    "[filter all]\nsinks = out\n", tmp), 0);
	conf = tmp_file("good.conf", text);
	free(text);

	r = run_ctl(NULL, "check-config", conf, NULL);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	ck_assert_int_gt(asprintf(&want, "%s: configuration OK\n", conf), 0);
	ck_assert_str_eq(r.out, want);
	ck_assert_str_eq(r.err, "");
	free(want);
	run_free(&r);

	r = run_ctl(NULL, "--json", "check-config", conf, NULL);
	ck_assert_int_eq(r.status, 0);
	o = tu_json(r.out);
	ck_assert_str_eq(json_object_get_string(tu_jget(o, "file")), conf);
	ck_assert(json_object_get_boolean(tu_jget(o, "ok")));
	ck_assert_int_eq(json_object_array_length(tu_jget(o, "errors")), 0);
	json_object_put(o);
	run_free(&r);
	free(conf);
}
END_TEST

/* Does `err` hold a line starting with "FILE:LINE:"? */
static bool
has_error_at(const char *err, const char *file, unsigned line)
{
	char *prefix, *p;
	bool found = false;

	ck_assert_int_gt(asprintf(&prefix, "%s:%u:", file, line), 0);
	for (p = strstr(err, prefix); p != NULL; p = strstr(p + 1, prefix))
		if (p == err || p[-1] == '\n') {
			found = true;
			break;
		}
	free(prefix);
	return found;
}

START_TEST(test_check_config_bad)
{
	static const char text[] =
	    "[listener]\n"              /* 1 */
	    "http_port = 70000\n"       /* 2 */
	    "bogus_key = 1\n"           /* 3 */
	    "\n"                        /* 4 */
	    "[sink out]\n"              /* 5 */
	    "type = file\n"             /* 6 */
	    "path = /tmp/x.jsonl\n"     /* 7 */
	    "\n"                        /* 8 */
	    "[filter f]\n"              /* 9 */
	    "sinks = out, nope\n";      /* 10 */
	struct run r;
	json_object *o;
	char *conf, *missing;
	size_t nerr;

	conf = tmp_file("bad.conf", text);
	r = run_ctl(NULL, "check-config", conf, NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, "");
	ck_assert_msg(has_error_at(r.err, conf, 2), "%s", r.err);
	ck_assert_msg(has_error_at(r.err, conf, 3), "%s", r.err);
	ck_assert_msg(has_error_at(r.err, conf, 10), "%s", r.err);
	ck_assert_ptr_nonnull(strstr(r.err, "70000"));
	ck_assert_ptr_nonnull(strstr(r.err, "nope"));
	nerr = nlines(r.err);
	ck_assert_uint_ge(nerr, 3);
	run_free(&r);

	/* --json: the same errors as a list, stderr unchanged. */
	r = run_ctl(NULL, "check-config", "--json", conf, NULL);
	ck_assert_int_eq(r.status, 1);
	o = tu_json(r.out);
	ck_assert(!json_object_get_boolean(tu_jget(o, "ok")));
	ck_assert_uint_eq(json_object_array_length(tu_jget(o, "errors")),
	    nerr);
	ck_assert_uint_eq(nlines(r.err), nerr);
	json_object_put(o);
	run_free(&r);

	ck_assert_int_gt(asprintf(&missing, "%s/missing.conf", tmp), 0);
	r = run_ctl(NULL, "check-config", missing, NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_ptr_nonnull(strstr(r.err, missing));
	run_free(&r);
	free(missing);
	free(conf);
}
END_TEST

START_TEST(test_check_config_bad_where)
{
	static const char text[] =
	    "[sink out]\n"                         /* 1 */
	    "type = file\n"                        /* 2 */
	    "path = /tmp/x.jsonl\n"                /* 3 */
	    "[filter f]\n"                         /* 4 */
	    "where = PerceivedSeverity >= (5\n"    /* 5 */
	    "sinks = out\n";                       /* 6 */
	struct run r;
	char *conf;

	conf = tmp_file("where.conf", text);
	r = run_ctl(NULL, "check-config", conf, NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_msg(has_error_at(r.err, conf, 5), "%s", r.err);
	run_free(&r);
	free(conf);
}
END_TEST

START_TEST(test_filter_matches)
{
	assert_filter("TRUE", 0xf);
	assert_filter("FALSE", 0);
	assert_filter("__CLASS = 'cim_alertindication'", 0x1);
	assert_filter("__CLASS = 'Nope'", 0);
	assert_filter("PerceivedSeverity >= 5", 0x1);
	assert_filter("PerceivedSeverity IS NULL", 0xe);
	assert_filter("SourceInstance.__CLASS = 'Acme_Fan'", 0x4);
	assert_filter("U64 = 18446744073709551615", 0x2);
	assert_filter("S64 = -9223372036854775808", 0x2);
	/* Source and filters come from the record. */
	assert_filter("__SOURCE LIKE '10.1.%'", 0x5);
	assert_filter("__FILTERS = 'critical' OR __FILTERS = 'fans'", 0x5);
	assert_filter("__PATH = '/cimlisten' AND NOT __TLS", 0xf);
}
END_TEST

START_TEST(test_filter_json_output)
{
	struct run r;
	json_object *o;
	char *line, *save = NULL;
	size_t i = 0;

	r = run_ctl(NULL, "--json", "test-filter",
	    "__CLASS = 'CIM_InstModification'", records, NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_uint_eq(nlines(r.out), NRECS);
	for (line = strtok_r(r.out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save), i++) {
		o = tu_json(line);
		ck_assert_int_eq(json_object_get_int64(tu_jget(o, "seq")),
		    recs[i].seq);
		ck_assert_str_eq(json_object_get_string(tu_jget(o, "class")),
		    recs[i].class);
		ck_assert(json_object_is_type(tu_jget(o, "match"),
		    json_type_boolean));
		ck_assert(json_object_get_boolean(tu_jget(o, "match")) ==
		    (i == 2));
		json_object_put(o);
	}
	ck_assert_uint_eq(i, NRECS);
	run_free(&r);

	/* --json after the command works too. */
	r = run_ctl(NULL, "test-filter", "--json", "FALSE", records, NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_uint_eq(nlines(r.out), NRECS);
	ck_assert_ptr_nonnull(strstr(r.out, "\"match\":false"));
	ck_assert_ptr_null(strstr(r.out, "\"match\":true"));
	run_free(&r);
}
END_TEST

START_TEST(test_filter_stdin_and_files)
{
	struct run r;
	char *data, *want;

	data = tu_read_file(records, NULL);
	ck_assert_ptr_nonnull(data);

	/* No file: stdin. */
	r = run_ctl(data, "test-filter", "TRUE", NULL);
	want = expected_out(0xf, 1);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, want);
	free(want);
	run_free(&r);

	/* "-" among files, in order. */
	r = run_ctl(data, "test-filter", "__CLASS = 'Acme_TypesIndication'",
	    records, "-", NULL);
	want = expected_out(0x2, 2);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, want);
	free(want);
	run_free(&r);

	/* Blank lines are skipped; empty input matches nothing. */
	r = run_ctl("\n  \n", "test-filter", "TRUE", NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, "");
	ck_assert_str_eq(r.err, "");
	run_free(&r);
	free(data);
}
END_TEST

START_TEST(test_filter_syntax_error)
{
	struct run r;

	r = run_ctl(NULL, "test-filter", "a = 1 AND AND b = 2", records, NULL);
	ck_assert_int_eq(r.status, 2);
	ck_assert_str_eq(r.out, "");
	/* Not a terminal: "COL: message", one line, no caret. */
	ck_assert_msg(strncmp(r.err, "11: ", 4) == 0, "%s", r.err);
	ck_assert_uint_eq(nlines(r.err), 1);
	run_free(&r);

	r = run_ctl(NULL, "test-filter", "(PerceivedSeverity >= 5", NULL);
	ck_assert_int_eq(r.status, 2);
	ck_assert_msg(r.err[0] >= '1' && r.err[0] <= '9' &&
	    strstr(r.err, ": ") != NULL, "%s", r.err);
	run_free(&r);

	r = run_ctl(NULL, "test-filter", "Message = 'unterminated", NULL);
	ck_assert_int_eq(r.status, 2);
	run_free(&r);
}
END_TEST

/*
 * With stderr on a terminal (a pseudo-terminal here) the error comes with
 * the expression and a caret under the column.
 */
START_TEST(test_filter_syntax_error_caret)
{
	const char *expr = "a = 1 AND AND b = 2";
	char *argv[] = { (char *)"cimlistenctl", (char *)"test-filter",
		(char *)expr, NULL };
	char out[4096], *slave, *p, *line, *caret;
	size_t n = 0;
	ssize_t k;
	struct pollfd pfd;
	int master, fd, status;
	pid_t pid;

	master = posix_openpt(O_RDWR | O_NOCTTY);
	ck_assert_int_ge(master, 0);
	ck_assert_int_eq(grantpt(master), 0);
	ck_assert_int_eq(unlockpt(master), 0);
	slave = ptsname(master);
	ck_assert_ptr_nonnull(slave);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		if ((fd = open(slave, O_RDWR | O_NOCTTY)) == -1 ||
		    dup2(fd, 2) == -1)
			_exit(126);
		if ((fd = open("/dev/null", O_RDWR)) == -1 ||
		    dup2(fd, 0) == -1 || dup2(fd, 1) == -1)
			_exit(126);
		execv(ctl_path(), argv);
		_exit(127);
	}
	/* Read until the child is gone and the terminal has nothing left. */
	for (;;) {
		pfd.fd = master;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 10000) <= 0)
			break;
		k = read(master, out + n, sizeof out - 1 - n);
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	out[n] = '\0';
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	close(master);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 2);
	ck_assert_msg(strncmp(out, "11: ", 4) == 0, "%s", out);
	/* The expression, then a caret under column 11 (the second AND). */
	ck_assert_msg((p = strstr(out, expr)) != NULL, "%s", out);
	for (line = p; line > out && line[-1] != '\n'; line--)
		continue;
	ck_assert_msg((caret = strchr(p, '\n')) != NULL, "%s", out);
	caret++;
	ck_assert_msg(strchr(caret, '^') != NULL, "%s", out);
	ck_assert_msg(strchr(caret, '^') - caret == (p - line) + 10,
	    "caret not under column 11:\n%s", out);
}
END_TEST

START_TEST(test_filter_bad_inputs)
{
	struct run r;
	char *missing, *mixed, *data, *want;

	/* An unreadable file, nothing matched: 3. */
	ck_assert_int_gt(asprintf(&missing, "%s/missing.jsonl", tmp), 0);
	r = run_ctl(NULL, "test-filter", "TRUE", missing, NULL);
	ck_assert_int_eq(r.status, 3);
	ck_assert_ptr_nonnull(strstr(r.err, missing));
	ck_assert_ptr_nonnull(strstr(r.err, "No such file"));
	run_free(&r);

	/* ... but a match elsewhere still makes it 0, the error is shown. */
	r = run_ctl(NULL, "test-filter", "TRUE", missing, records, NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_uint_eq(nlines(r.out), NRECS);
	ck_assert_ptr_nonnull(strstr(r.err, missing));
	run_free(&r);

	/* A directory cannot be read as lines. */
	r = run_ctl(NULL, "test-filter", "TRUE", tmp, NULL);
	ck_assert_int_eq(r.status, 3);
	ck_assert_ptr_nonnull(strstr(r.err, tmp));
	run_free(&r);

	/* Lines that are not records: FILE:LINE: cause, counted no match. */
	data = tu_read_file(records, NULL);
	ck_assert_int_gt(asprintf(&want, "%s{\"class\":\"C\",\"properties\":"
	    "{\"X\":{\"type\":\"uint16\",\"value\":70000}}}\n"
	    "not json at all\n{\"class\":\"C\",\"properties\":{}\n", data), 0);
	mixed = tmp_file("mixed.jsonl", want);
	free(want);
	r = run_ctl(NULL, "test-filter", "FALSE", mixed, NULL);
	ck_assert_int_eq(r.status, 3);
	ck_assert_uint_eq(nlines(r.out), NRECS);
	ck_assert_uint_eq(nlines(r.err), 3);
	ck_assert_int_gt(asprintf(&want, "%s:5: property \"X\": value 70000 "
	    "out of range for uint16\n", mixed), 0);
	ck_assert_msg(strstr(r.err, want) != NULL, "%s", r.err);
	free(want);
	ck_assert_int_gt(asprintf(&want, "%s:6: invalid JSON", mixed), 0);
	ck_assert_msg(strstr(r.err, want) != NULL, "%s", r.err);
	free(want);
	ck_assert_int_gt(asprintf(&want, "%s:7: truncated JSON", mixed), 0);
	ck_assert_msg(strstr(r.err, want) != NULL, "%s", r.err);
	free(want);
	run_free(&r);

	r = run_ctl(NULL, "test-filter", "TRUE", mixed, NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_uint_eq(nlines(r.err), 3);
	run_free(&r);

	/* Same on stdin, named <stdin>. */
	r = run_ctl("[]\n", "test-filter", "TRUE", NULL);
	ck_assert_int_eq(r.status, 3);
	ck_assert_str_eq(r.err, "<stdin>:1: not a JSON object (an array)\n");
	run_free(&r);

	free(data);
	free(mixed);
	free(missing);
}
END_TEST

START_TEST(test_filter_long_line)
{
	struct buf b = BUF_INIT;
	struct run r;
	char *path;
	int i;

	/* A record of about 1 MB on one line. */
	buf_adds(&b, "{\"v\":1,\"seq\":9,\"class\":\"Big\",\"properties\":{"
	    "\"Blob\":{\"type\":\"string\",\"value\":\"");
	for (i = 0; i < 1 << 20; i++)
		buf_addc(&b, (char)('a' + i % 26));
	buf_adds(&b, "\"},\"Tail\":{\"type\":\"uint8\",\"value\":7}}}\n");
	ck_assert_int_gt(asprintf(&path, "%s/big.jsonl", tmp), 0);
	tu_write_file(path, b.data, b.len);
	buf_free(&b);

	r = run_ctl(NULL, "test-filter", "Tail = 7", path, NULL);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	ck_assert_str_eq(r.out, "match    seq=9 Big\n");
	run_free(&r);
	free(path);
}
END_TEST

/* The URL of a test daemon. */
static char *
daemon_url(const struct tu_daemon *d, const char *path)
{
	char *url;

	ck_assert_int_gt(asprintf(&url, "http://127.0.0.1:%u%s", d->port,
	    path), 0);
	return url;
}

/*
 * send: 60 default test indications over 4 kept-alive connections, all
 * answered 200 and in the file sink, each with its own identifier.
 */
START_TEST(test_send_default)
{
	struct tu_daemon *d = tu_daemon_start(NULL, NULL);
	char *url = daemon_url(d, "/cimlisten");
	struct run r = run_ctl(NULL, "send", "-n", "60", "--concurrency", "4",
	    url, NULL);
	char **lines, seen[64][64];
	json_object *o;
	size_t n, i, k;

	ck_assert_msg(r.status == 0, "exit %d: %s%s", r.status, r.out, r.err);
	ck_assert_msg(strstr(r.out, "sent 60 requests to ") == r.out, "%s",
	    r.out);
	ck_assert_msg(strstr(r.out, "\n  200 ") != NULL &&
	    strstr(r.out, " 60\nlatency ms: p50 ") != NULL, "%s", r.out);
	ck_assert_str_eq(r.err, "");
	ck_assert(tu_wait_lines(d->out, 60, 20000));
	lines = tu_read_lines(d->out, &n);
	ck_assert_uint_eq(n, 60);
	for (i = 0; i < n; i++) {
		o = tu_json(lines[i]);
		ck_assert_str_eq(json_object_get_string(tu_jget(o, "class")),
		    "CIM_AlertIndication");
		ck_assert_str_eq(json_object_get_string(tu_jget(o,
		    "source.path")), "/cimlisten");
		ck_assert_int_eq(json_object_get_int(tu_jget(o,
		    "properties.PerceivedSeverity.value")), 2);
		ck_assert_str_eq(json_object_get_string(tu_jget(o,
		    "properties.IndicationTime.type")), "datetime");
		snprintf(seen[i], sizeof seen[i], "%s", json_object_get_string(
		    tu_jget(o, "properties.IndicationIdentifier.value")));
		for (k = 0; k < i; k++)
			ck_assert_str_ne(seen[k], seen[i]);
		json_object_put(o);
	}
	tu_free_lines(lines);
	run_free(&r);
	free(url);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/* --class, --property with and without a type, --json, --file. */
START_TEST(test_send_properties_json)
{
	struct tu_daemon *d = tu_daemon_start(NULL, NULL);
	char *url = daemon_url(d, "/");
	struct run r = run_ctl(NULL, "--json", "send", "--class", "Acme_Test",
	    "--property", "Message=a <b> & \"c\": d", "--property",
	    "Count=uint32:7", "--property", "perceivedseverity=uint16:6",
	    "-n", "3", url, NULL);
	char **lines, *sample;
	json_object *o;
	size_t n;

	ck_assert_msg(r.status == 0, "exit %d: %s%s", r.status, r.out, r.err);
	ck_assert_uint_eq(nlines(r.out), 1);
	o = tu_json(r.out);
	ck_assert_int_eq(json_object_get_int(tu_jget(o, "sent")), 3);
	ck_assert_int_eq(json_object_get_int(tu_jget(o, "ok")), 3);
	ck_assert_int_eq(json_object_get_int(tu_jget(o, "answers.200")), 3);
	ck_assert_ptr_nonnull(tu_jget(o, "latency_ms.p99"));
	json_object_put(o);
	run_free(&r);
	ck_assert(tu_wait_lines(d->out, 3, 20000));
	lines = tu_read_lines(d->out, &n);
	o = tu_json(lines[0]);
	ck_assert_str_eq(json_object_get_string(tu_jget(o, "class")),
	    "Acme_Test");
	ck_assert_str_eq(json_object_get_string(tu_jget(o,
	    "properties.Message.value")), "a <b> & \"c\": d");
	ck_assert_str_eq(json_object_get_string(tu_jget(o,
	    "properties.Count.type")), "uint32");
	ck_assert_int_eq(json_object_get_int(tu_jget(o,
	    "properties.Count.value")), 7);
	/* Replaced, not added: the default name keeps its place. */
	ck_assert_int_eq(json_object_get_int(tu_jget(o,
	    "properties.PerceivedSeverity.value")), 6);
	json_object_put(o);
	tu_free_lines(lines);

	/* --file: the body as it is. */
	ck_assert_int_gt(asprintf(&sample, "%s/tests/data/samples/"
	    "alert-indication.xml", SRCDIR), 0);
	r = run_ctl(NULL, "send", "--file", sample, "-n", "2", url, NULL);
	ck_assert_msg(r.status == 0, "exit %d: %s%s", r.status, r.out, r.err);
	run_free(&r);
	ck_assert(tu_wait_lines(d->out, 5, 20000));
	lines = tu_read_lines(d->out, &n);
	o = tu_json(lines[4]);
	ck_assert_str_eq(json_object_get_string(tu_jget(o,
	    "properties.IndicationIdentifier.value")), "ind-000042");
	json_object_put(o);
	tu_free_lines(lines);
	free(sample);
	free(url);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/* Answers other than 200, transport errors, usage and input errors. */
START_TEST(test_send_errors)
{
	struct tu_daemon *d = tu_daemon_start(NULL, NULL);
	char *url = daemon_url(d, "/"), *dead;
	struct run r;
	json_object *o;
	static const char *const usage[][4] = {
		{ "send", NULL },
		{ "send", "http://a/", "http://b/", NULL },
		{ "send", "ftp://127.0.0.1/", NULL },
		{ "send", "-n", "0", NULL },
		{ "send", "-c", "5000", NULL },
		{ "send", "--property", "=x", NULL },
		{ "send", "--property", "X=reference:y", NULL },
		{ "send", "--class", "a b", NULL },
	};
	size_t i;

	/* The daemon refuses a uint16 of "abc": 400, counted, exit 1. */
	r = run_ctl(NULL, "--json", "send", "--property",
	    "PerceivedSeverity=uint16:abc", "-n", "4", "-c", "2", url, NULL);
	ck_assert_int_eq(r.status, 1);
	o = tu_json(r.out);
	ck_assert_int_eq(json_object_get_int(tu_jget(o, "ok")), 0);
	ck_assert_int_eq(json_object_object_length(tu_jget(o, "answers")), 1);
	json_object_object_foreach(tu_jget(o, "answers"), key, val) {
		ck_assert_msg(strncmp(key, "400 ", 4) == 0, "%s", key);
		ck_assert_int_eq(json_object_get_int(val), 4);
	}
	json_object_put(o);
	run_free(&r);

	/* Nobody listening. */
	ck_assert_int_gt(asprintf(&dead, "http://127.0.0.1:%u/",
	    tu_free_port()), 0);
	r = run_ctl(NULL, "send", "-n", "2", dead, NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_msg(strstr(r.out, "  error: ") != NULL, "%s", r.out);
	run_free(&r);
	free(dead);

	for (i = 0; i < sizeof usage / sizeof usage[0]; i++) {
		r = run_ctl(NULL, usage[i][0], usage[i][1], usage[i][2],
		    usage[i][3], NULL);
		ck_assert_msg(r.status == 2, "%s %s: exit %d", usage[i][1],
		    usage[i][2] ? usage[i][2] : "", r.status);
		ck_assert_msg(strncmp(r.err, "cimlistenctl send: ", 19) == 0,
		    "%s", r.err);
		run_free(&r);
	}
	r = run_ctl(NULL, "send", "--file", "/nonexistent/body.xml", url, NULL);
	ck_assert_int_eq(r.status, 3);
	ck_assert_msg(strstr(r.err, "/nonexistent/body.xml: No such file") !=
	    NULL, "%s", r.err);
	run_free(&r);
	free(url);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/* Control socket */

static bool
jbool(json_object *o, const char *path)
{
	return json_object_get_boolean(tu_jget(o, path));
}

/* The first error of a failed answer. */
static const char *
jerror(json_object *o)
{
	ck_assert(!jbool(o, "ok"));
	return json_object_get_string(json_object_array_get_idx(
	    tu_jget(o, "errors"), 0));
}

static bool
delivered_5(void *arg)
{
	json_object *o = tu_ctl_ask(*(int *)arg, "{\"op\":\"sinks\"}\n");
	bool done = json_object_get_int(json_object_object_get(
	    json_object_array_get_idx(tu_jget(o, "result"), 0),
	    "delivered")) == 5;

	json_object_put(o);
	return done;
}

START_TEST(test_control_answers)
{
	struct tu_daemon *d = tu_daemon_start(NULL, NULL);
	char *body;
	size_t len;
	json_object *o, *l;
	int fd = tu_ctl_connect(d), i;
	struct tu_response *resp;

	o = tu_ctl_ask(fd, "{\"op\":\"status\"}\n");
	ck_assert(jbool(o, "ok"));
	ck_assert_int_eq(json_object_get_int(tu_jget(o, "result.pid")),
	    d->pid);
	ck_assert_str_eq(json_object_get_string(tu_jget(o, "result.version")),
	    PACKAGE_VERSION);
	l = json_object_array_get_idx(tu_jget(o, "result.listeners"), 0);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(l,
	    "port")), (int)d->port);
	ck_assert_int_eq(json_object_get_int(tu_jget(o,
	    "result.spool.next_seq")), 1);
	json_object_put(o);

	body = tu_sample("alert-indication.xml", &len);
	for (i = 0; i < 5; i++) {
		resp = tu_post(d->port, body, len);
		ck_assert_int_eq(resp->status, 200);
		tu_response_free(resp);
	}
	free(body);
	for (i = 0; i < 1000 && !delivered_5(&fd); i++)
		usleep(10000);
	ck_assert(delivered_5(&fd));
	o = tu_ctl_ask(fd, "{\"op\":\"stats\"}\r\n");
	ck_assert(jbool(o, "ok"));
	ck_assert_int_eq(json_object_get_int(tu_jget(o,
	    "result.indications.accepted")), 5);
	ck_assert_int_eq(json_object_get_int(tu_jget(o,
	    "result.http.accepted")), 5);
	l = json_object_array_get_idx(tu_jget(o, "result.sinks"), 0);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(l,
	    "name")), "out");
	ck_assert_int_eq(json_object_get_int(json_object_object_get(l,
	    "last_seq")), 5);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(l,
	    "lag")), 0);
	json_object_put(o);

	/* Bad requests: an error each, and the connection goes on. */
	o = tu_ctl_ask(fd, "nonsense\n");
	ck_assert_msg(strstr(jerror(o), "not a JSON object") != NULL, "%s",
	    jerror(o));
	json_object_put(o);
	o = tu_ctl_ask(fd, "{\"opx\":1}\n");
	ck_assert_str_eq(jerror(o), "request has no \"op\" string");
	json_object_put(o);
	o = tu_ctl_ask(fd, "[1,2]\n");
	ck_assert_str_eq(jerror(o), "request has no \"op\" string");
	json_object_put(o);
	o = tu_ctl_ask(fd, "{\"op\":\"frobnicate\"}\n");
	ck_assert_str_eq(jerror(o), "unknown op 'frobnicate'");
	json_object_put(o);
	o = tu_ctl_ask(fd, "{\"op\":\"redeliver\"}\n");
	ck_assert_str_eq(jerror(o), "redeliver needs \"sink\": NAME");
	json_object_put(o);
	o = tu_ctl_ask(fd, "{\"op\":\"redeliver\",\"sink\":\"nope\","
	    "\"from\":1}\n");
	ck_assert_str_eq(jerror(o), "unknown sink 'nope'");
	json_object_put(o);
	o = tu_ctl_ask(fd, "{\"op\":\"redeliver\",\"sink\":\"out\","
	    "\"from\":-1}\n");
	ck_assert_msg(strstr(jerror(o), "\"from\": a sequence number") !=
	    NULL, "%s", jerror(o));
	json_object_put(o);
	/* The same config again: a reload that changes nothing. */
	o = tu_ctl_ask(fd, "{\"op\":\"reload\"}\n");
	ck_assert(jbool(o, "ok"));
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(
	    tu_jget(o, "result.sinks.unchanged"), 0)), "out");
	json_object_put(o);
	o = tu_ctl_ask(fd, "{\"op\":\"status\"} x\n");
	ck_assert_msg(strstr(jerror(o), "text after the object") != NULL, "%s",
	    jerror(o));
	json_object_put(o);
	o = tu_ctl_ask(fd, "{\"op\":\"status\"}\n");
	ck_assert(jbool(o, "ok"));
	json_object_put(o);
	close(fd);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/* A line too long is answered with an error and the connection closed. */
START_TEST(test_control_long_line)
{
	struct tu_daemon *d = tu_daemon_start(NULL, NULL);
	char *big = malloc(70001), tmp[4096];
	struct pollfd pfd;
	struct buf b = BUF_INIT;
	json_object *o;
	int fd = tu_ctl_connect(d), other = tu_ctl_connect(d);
	ssize_t n;

	memset(big, 'x', 70000);
	big[70000] = '\0';
	ck_assert_int_eq(write(fd, big, 70000), 70000);
	for (;;) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		ck_assert_int_eq(poll(&pfd, 1, 10000), 1);
		if ((n = read(fd, tmp, sizeof tmp)) <= 0)
			break;
		buf_add(&b, tmp, (size_t)n);
	}
	ck_assert_uint_gt(b.len, 0);
	o = tu_json(b.data);
	ck_assert_str_eq(jerror(o), "request longer than 65536 bytes");
	json_object_put(o);
	/* The other connection is served still. */
	o = tu_ctl_ask(other, "{\"op\":\"sinks\"}\n");
	ck_assert(jbool(o, "ok"));
	json_object_put(o);
	close(fd);
	close(other);
	buf_free(&b);
	free(big);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/* cimlistenctl status, stats, sinks, reopen over the socket. */
START_TEST(test_ctl_daemon_commands)
{
	struct tu_daemon *d = tu_daemon_start(NULL, NULL);
	char *sock, *url = daemon_url(d, "/"), *rotated;
	struct run r;
	json_object *o;

	ck_assert_int_gt(asprintf(&sock, "%s/control.sock", d->dir), 0);
	r = run_ctl(NULL, "send", "-n", "3", url, NULL);
	ck_assert_int_eq(r.status, 0);
	run_free(&r);
	ck_assert(tu_wait_lines(d->out, 3, 10000));
	close(tu_ctl_connect(d)); /* the control socket is up */

	r = run_ctl(NULL, "status", "--socket", sock, NULL);
	ck_assert_msg(r.status == 0, "%s", r.err);
	ck_assert_msg(strncmp(r.out, "cimlistend " PACKAGE_VERSION ", pid ",
	    strlen("cimlistend " PACKAGE_VERSION ", pid ")) == 0, "%s", r.out);
	ck_assert_ptr_nonnull(strstr(r.out, "\nlistener  127.0.0.1 port "));
	ck_assert_ptr_nonnull(strstr(r.out, "seq 1..3, next 4\n"));
	ck_assert_ptr_nonnull(strstr(r.out, "\nsink      out (file): "));
	run_free(&r);

	r = run_ctl(NULL, "--json", "stats", "--socket", sock, NULL);
	ck_assert_msg(r.status == 0, "%s", r.err);
	o = tu_json(r.out);
	ck_assert_int_eq(json_object_get_int(tu_jget(o,
	    "indications.accepted")), 3);
	json_object_put(o);
	run_free(&r);

	r = run_ctl(NULL, "stats", "--socket", sock, NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "indications.accepted 3\n"));
	run_free(&r);

	r = run_ctl(NULL, "sinks", "--socket", sock, NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_msg(strncmp(r.out, "SINK ", 5) == 0, "%s", r.out);
	ck_assert_ptr_nonnull(strstr(r.out, "\nout              file     json"));
	run_free(&r);

	/* reopen: after a rename the next record goes to a new file. */
	ck_assert_int_gt(asprintf(&rotated, "%s.1", d->out), 0);
	ck_assert_int_eq(rename(d->out, rotated), 0);
	r = run_ctl(NULL, "reopen", "--socket", sock, NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "reopened 1 sinks\n");
	run_free(&r);
	r = run_ctl(NULL, "send", url, NULL);
	ck_assert_int_eq(r.status, 0);
	run_free(&r);
	ck_assert(tu_wait_lines(d->out, 1, 10000));
	ck_assert(tu_daemon_log_has(d, "control: reopen requested by uid "));

	/* Errors: nobody on the socket, a bad argument. */
	r = run_ctl(NULL, "status", "--socket", "/nonexistent/ctl.sock", NULL);
	ck_assert_int_eq(r.status, 4);
	ck_assert_msg(strstr(r.err, "cannot reach cimlistend at "
	    "/nonexistent/ctl.sock: No such file or directory") != NULL,
	    "%s", r.err);
	run_free(&r);
	r = run_ctl(NULL, "sinks", "extra", NULL);
	ck_assert_int_eq(r.status, 2);
	run_free(&r);
	free(rotated);
	free(sock);
	free(url);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/*
 * A second daemon on the same control socket refuses to start; after a
 * kill -9 the stale socket is replaced.
 */
START_TEST(test_control_socket_in_use)
{
	struct tu_daemon *d = tu_daemon_start(NULL, NULL);
	char *conf, *text, *out = NULL;
	const char *args[4];
	json_object *o;
	int fd;

	ck_assert_int_gt(asprintf(&conf, "%s/second.conf", tmp), 0);
	ck_assert_int_gt(asprintf(&text, "[listener]\nhttp_port = %u\n"
	    "bind = 127.0.0.1\n[daemon]\nspool_dir = %s/spool2\n"
	    "control_socket = %s/control.sock\n", tu_free_port(), tmp, d->dir),
	    0);
	tu_write_file(conf, text, strlen(text));
	args[0] = "-f";
	args[1] = "-c";
	args[2] = conf;
	args[3] = NULL;
	ck_assert_int_eq(tu_cimlistend_run(args, &out, 20000), 1);
	ck_assert_msg(strstr(out, "control.sock is in use by a running "
	    "daemon") != NULL, "%s", out);
	free(out);

	kill(d->pid, SIGKILL);
	ck_assert(tu_daemon_wait(d, 10000));
	tu_daemon_restart(d);
	fd = tu_ctl_connect(d);
	o = tu_ctl_ask(fd, "{\"op\":\"status\"}\n");
	ck_assert(jbool(o, "ok"));
	json_object_put(o);
	close(fd);
	free(text);
	free(conf);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/* null-and-empty.xml with SequenceNumber n. */
static char *
seq_body(int n, size_t *len)
{
	char *body = tu_sample("null-and-empty.xml", len), *p, *out;
	const char *key = "<VALUE>3</VALUE>";

	ck_assert_ptr_nonnull(p = strstr(body, key));
	ck_assert_int_gt(asprintf(&out, "%.*s<VALUE>%d</VALUE>%s",
	    (int)(p - body), body, n, p + strlen(key)), 0);
	free(body);
	*len = strlen(out);
	return out;
}

/* sources: per sender counts, last class, its DSP1054 track. */
START_TEST(test_ctl_sources)
{
	static const int seqs[] = { 3, 4, 4, 7 };
	struct tu_daemon *d = tu_daemon_start(NULL, NULL);
	struct tu_response *resp;
	char *sock, *body;
	json_object *o, *src, *tr;
	struct run r;
	size_t len, i;

	ck_assert_int_gt(asprintf(&sock, "%s/control.sock", d->dir), 0);
	body = tu_sample("alert-indication.xml", &len);
	resp = tu_post(d->port, body, len);
	ck_assert_int_eq(resp->status, 200);
	tu_response_free(resp);
	free(body);
	for (i = 0; i < sizeof seqs / sizeof seqs[0]; i++) {
		body = seq_body(seqs[i], &len);
		resp = tu_post(d->port, body, len);
		ck_assert_int_eq(resp->status, 200);
		tu_response_free(resp);
		free(body);
	}
	close(tu_ctl_connect(d)); /* the control socket is up */
	r = run_ctl(NULL, "--json", "sources", "--socket", sock, NULL);
	ck_assert_msg(r.status == 0, "%s", r.err);
	o = json_tokener_parse(r.out);
	ck_assert_msg(o != NULL && json_object_is_type(o, json_type_array),
	    "%s", r.out);
	ck_assert_int_eq(json_object_array_length(o), 1);
	src = json_object_array_get_idx(o, 0);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(src,
	    "addr")), "127.0.0.1");
	ck_assert_int_eq(json_object_get_int(json_object_object_get(src,
	    "requests")), 5);
	/* The duplicate of 4 was acknowledged, not accepted again. */
	ck_assert_int_eq(json_object_get_int(json_object_object_get(src,
	    "indications")), 4);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(src,
	    "last_class")), "Acme_ProcessIndication");
	tr = json_object_array_get_idx(json_object_object_get(src, "tracks"),
	    0);
	ck_assert_ptr_nonnull(tr);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(tr,
	    "context")), "acme:host-a#20261101120000#20261101115959");
	ck_assert_int_eq(json_object_get_int(json_object_object_get(tr,
	    "last")), 7);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(tr,
	    "duplicates")), 1);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(tr,
	    "gaps")), 1);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(tr,
	    "missing")), 2);
	json_object_put(o);
	run_free(&r);

	r = run_ctl(NULL, "sources", "--socket", sock, NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_msg(strstr(r.out, "\n127.0.0.1 ") != NULL &&
	    strstr(r.out, "  context acme:host-a#20261101120000#"
	    "20261101115959: last 7, 1 gaps (2 missing), 1 duplicates") !=
	    NULL, "%s", r.out);
	run_free(&r);
	free(sock);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/*
 * Every command of `cimlistenctl --help` is documented in cimlistenctl(1)
 * as a .B, .BR or .BI entry naming it.
 */
static bool
man_documents(const char *man, const char *pat)
{
	static const char *const macros[] = { "\n.B ", "\n.BR ", "\n.BI " };
	const char *p;
	size_t i, n = strlen(pat);

	for (i = 0; i < sizeof macros / sizeof macros[0]; i++)
		for (p = man; (p = strstr(p, macros[i])) != NULL; p++) {
			p += strlen(macros[i]);
			if (strncmp(p, pat, n) == 0 &&
			    (p[n] == ' ' || p[n] == '\n' || p[n] == '"'))
				return true;
		}
	return false;
}

START_TEST(test_commands_documented)
{
	struct run r = run_ctl(NULL, "--help", NULL);
	char *man = tu_read_file(SRCDIR "/man/cimlistenctl.1", NULL), *p, *nl;
	char name[64], pat[80];
	size_t n, count = 0;

	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(man);
	ck_assert_ptr_nonnull(p = strstr(r.out, "Commands:\n"));
	for (p = strchr(p, '\n') + 1; strncmp(p, "  ", 2) == 0;
	    p = nl + 1) {
		ck_assert_ptr_nonnull(nl = strchr(p, '\n'));
		n = strcspn(p + 2, " \n");
		ck_assert_uint_lt(n, sizeof name);
		memcpy(name, p + 2, n);
		name[n] = '\0';
		/* man escapes '-' as "\-". */
		for (n = 0, p = name; *p != '\0' && n < sizeof pat - 2; p++) {
			if (*p == '-')
				pat[n++] = '\\';
			pat[n++] = *p;
		}
		pat[n] = '\0';
		ck_assert_msg(man_documents(man, pat),
		    "command %s not in man/cimlistenctl.1", name);
		count++;
	}
	ck_assert_uint_ge(count, 8);
	free(man);
	run_free(&r);
}
END_TEST

static Suite *
ctl_suite(void)
{
	Suite *s = suite_create("cimlistenctl");
	TCase *tc = tcase_create("ctl");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_usage_and_version);
	tcase_add_test(tc, test_check_config_good);
	tcase_add_test(tc, test_check_config_bad);
	tcase_add_test(tc, test_check_config_bad_where);
	tcase_add_test(tc, test_filter_matches);
	tcase_add_test(tc, test_filter_json_output);
	tcase_add_test(tc, test_filter_stdin_and_files);
	tcase_add_test(tc, test_filter_syntax_error);
	tcase_add_test(tc, test_filter_syntax_error_caret);
	tcase_add_test(tc, test_filter_bad_inputs);
	tcase_add_test(tc, test_filter_long_line);
	tcase_add_test(tc, test_send_default);
	tcase_add_test(tc, test_send_properties_json);
	tcase_add_test(tc, test_send_errors);
	tcase_add_test(tc, test_control_answers);
	tcase_add_test(tc, test_control_long_line);
	tcase_add_test(tc, test_ctl_daemon_commands);
	tcase_add_test(tc, test_control_socket_in_use);
	tcase_add_test(tc, test_ctl_sources);
	tcase_add_test(tc, test_commands_documented);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(ctl_suite());
}
