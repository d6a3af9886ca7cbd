/*
 * check_sink_file.c: unit tests for the shared sink machinery (sink.c) and
 * the file sink (sink_file.c), fed from a spool in a temp dir as the daemon
 * feeds them: order, routing (records for other sinks skipped), modes,
 * reopen after logrotate's rename, concurrent producers, draining on stop,
 * resuming from the persisted cursor, records lost to retention, stats,
 * and retry/backoff through a scripted mock sink and through real write
 * failures (/dev/full, a file size limit that cuts a line in half).
 *
 * Every wait is on a condition with a bounded timeout.
 */
#include "autoconf.h"


#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <check.h>

#include "testutil.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "format.h"
#include "sink.h"
#include "spool.h"
#include "xmalloc.h"

static char *tmpdir;
static struct spool *spool;

/* Open the test's spool in tmpdir/name with the given limits (0: none). */
static struct spool *
open_spool(const char *name, uint64_t segment_size, uint64_t max_size)
{
	struct spool_params p;
	struct spool *sp;
	char *dir, *cause = NULL;

	memset(&p, 0, sizeof p);
	xasprintf(&dir, "%s/%s", tmpdir, name);
	p.dir = dir;
	p.segment_size = segment_size;
	p.max_size = max_size;
	sp = spool_open(&p, &cause);
	ck_assert_msg(sp != NULL, "spool_open: %s", cause);
	free(dir);
	return sp;
}

static void
setup(void)
{
	char tmpl[] = "/tmp/check_sink.XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	tmpdir = xstrdup(tmpl);
	spool = open_spool("spool", 0, 0);
}

/* Remove dir and what is in it (two levels are enough here). */
static void
rmtree(const char *dir)
{
	DIR *d;
	struct dirent *de;
	struct stat st;
	char *p;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		xasprintf(&p, "%s/%s", dir, de->d_name);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			rmtree(p);
		else
			unlink(p);
		free(p);
	}
	closedir(d);
	rmdir(dir);
}

static void
teardown(void)
{
	spool_close(spool);
	spool = NULL;
	rmtree(tmpdir);
	free(tmpdir);
	tmpdir = NULL;
}

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Poll cond(arg) every millisecond for at most timeout_ms. */
static bool
wait_for(bool (*cond)(void *), void *arg, unsigned timeout_ms)
{
	double end = now_sec() + timeout_ms / 1000.0;
	struct timespec ms = { 0, 1000000 };

	for (;;) {
		if (cond(arg))
			return true;
		if (now_sec() > end)
			return false;
		nanosleep(&ms, NULL);
	}
}

static char *
tpath(const char *name)
{
	char *p;

	xasprintf(&p, "%s/%s", tmpdir, name);
	return p;
}

static struct sink_conf
mkconf(const char *path, mode_t mode)
{
	struct sink_conf c;

	memset(&c, 0, sizeof c);
	c.name = (char *)"test";
	c.type = (char *)"file";
	c.path = (char *)path;
	c.format = SINK_FORMAT_JSON;
	c.mode = mode;
	return c;
}

static struct sink *
mksink(const char *path)
{
	struct sink_conf c = mkconf(path, 0640);
	struct sink *s;
	char *cause = NULL;

	s = sink_new(&c, &cause);
	ck_assert_msg(s != NULL, "sink_new: %s", cause);
	return s;
}

/*
 * Append one record routed to the sinks named in `routes` (comma-separated,
 * "" for none) whose line ends `,"m":"<text>"}`; returns its seq.
 */
/* Append a record with the given line tail, routed to `routes`. */
static uint64_t
append_tail(const char *routes, const char *tail, size_t len)
{
	struct spool_entry e;
	const char *names[8];
	char *copy, *name, *save = NULL, *cause = NULL;
	uint64_t seq;

	copy = xstrdup(routes);
	e.nroutes = 0;
	for (name = strtok_r(copy, ",", &save); name != NULL && e.nroutes < 8;
	    name = strtok_r(NULL, ",", &save))
		names[e.nroutes++] = name;
	e.routes = names;
	e.tail = tail;
	e.tail_len = len;
	ck_assert_msg(spool_append(spool, &e, 1, &seq, &cause) == 0,
	    "spool_append: %s", cause);
	free(copy);
	return seq;
}

static uint64_t
put_to(const char *routes, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static uint64_t
put_to(const char *routes, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	uint64_t seq;
	va_list ap;

	buf_adds(&b, ",\"m\":\"");
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	buf_adds(&b, "\"}\n");
	seq = append_tail(routes, b.data, b.len);
	buf_free(&b);
	return seq;
}

/* A record for the sink "test" (the file sinks of these tests). */
#define put_line(...) put_to("test", __VA_ARGS__)

/* The "m" texts of a file's records, one a line. */
static char *
texts(const char *path)
{
	struct buf b = BUF_INIT;
	char **lines, *m, *end;
	size_t n, i;

	lines = tu_read_lines(path, &n);
	ck_assert_ptr_nonnull(lines);
	buf_adds(&b, "");
	for (i = 0; i < n; i++) {
		ck_assert_msg(strncmp(lines[i], "{\"v\":1,\"seq\":", 13) == 0,
		    "line %s", lines[i]);
		ck_assert_ptr_nonnull(m = strstr(lines[i], ",\"m\":\""));
		m += 6;
		ck_assert_ptr_nonnull(end = strstr(m, "\"}"));
		buf_add(&b, m, (size_t)(end - m));
		buf_addc(&b, '\n');
	}
	tu_free_lines(lines);
	return buf_steal(&b, NULL);
}

/* Start a sink's writer on the test's spool. */
static void
start(struct sink *s)
{
	char *cause = NULL;

	ck_assert_msg(sink_start(s, spool, &cause) == 0, "sink_start: %s",
	    cause);
}

static char *
slurp(const char *path, size_t *lenp)
{
	struct buf b = BUF_INIT;
	char tmp[65536];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		return NULL;
	while ((n = read(fd, tmp, sizeof tmp)) > 0)
		buf_add(&b, tmp, (size_t)n);
	close(fd);
	if (lenp != NULL)
		*lenp = b.len;
	return buf_steal(&b, NULL);
}

static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (*s == '\n')
			n++;
	return n;
}

START_TEST(test_registry)
{
	struct sink_conf c = mkconf("/tmp/x", 0640);
	char *cause = NULL;

	ck_assert_ptr_eq(sink_ops_find("file"), &sink_file_ops);
	ck_assert_ptr_eq(sink_ops_find("syslog"), &sink_syslog_ops);
	ck_assert_ptr_eq(sink_ops_find("socket"), &sink_socket_ops);
	ck_assert_ptr_null(sink_ops_find("bogus"));
	ck_assert_ptr_null(sink_ops_find(NULL));
	c.type = (char *)"bogus";
	ck_assert_ptr_null(sink_new(&c, &cause));
	ck_assert_ptr_nonnull(cause);
	ck_assert_ptr_nonnull(strstr(cause, "unknown sink type"));
	free(cause);
}
END_TEST

START_TEST(test_routing)
{
	char *path = tpath("out.jsonl"), *got;
	struct sink *s = mksink(path);
	struct sink_stats st;

	put_to("other", "not mine");
	put_line("one");
	put_to("", "nobody's");
	put_to("other,test", "two");
	put_to("other", "not mine either");
	start(s);
	ck_assert(sink_wait_idle(s, 10000));
	got = texts(path);
	ck_assert_str_eq(got, "one\ntwo\n");
	sink_get_stats(s, &st);
	ck_assert_uint_eq(st.delivered, 2);
	ck_assert_uint_eq(st.last_seq, 4);
	ck_assert_uint_eq(st.position, 6); /* the skipped ones passed too */
	ck_assert_uint_eq(sink_stop(s, 5), 0);
	sink_free(s);
	free(got);
	free(path);
}
END_TEST

START_TEST(test_order)
{
	char *path = tpath("out.jsonl"), *got;
	struct buf want = BUF_INIT;
	struct sink *s = mksink(path);
	unsigned i;

	start(s);
	for (i = 0; i < 3000; i++) {
		/* Lengths vary so that batches do not align. */
		ck_assert_uint_eq(put_line("%u:%.*s", i + 1, (int)(i % 97),
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxx"), i + 1);
		buf_printf(&want, "%u:%.*s\n", i + 1,
		    (int)(i % 97), "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxx");
	}
	ck_assert(sink_wait_idle(s, 20000));
	got = texts(path);
	ck_assert_str_eq(got, want.data);
	ck_assert_uint_eq(sink_stop(s, 5), 0);
	sink_free(s);
	free(got);
	buf_free(&want);
	free(path);
}
END_TEST

static mode_t
file_mode(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_mode & 07777;
}

START_TEST(test_mode)
{
	char *p1 = tpath("a.jsonl"), *p2 = tpath("b.jsonl"),
	    *p3 = tpath("c.jsonl");
	struct sink_conf c;
	struct sink *s;
	char *cause = NULL;
	mode_t old;
	int fd;

	old = umask(077);
	c = mkconf(p1, 0644);
	s = sink_new(&c, &cause);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(file_mode(p1), 0644);
	sink_free(s);

	umask(0);
	c = mkconf(p2, 0600);
	s = sink_new(&c, &cause);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(file_mode(p2), 0600);
	sink_free(s);

	/* An existing file keeps the mode the operator gave it. */
	fd = open(p3, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	chmod(p3, 0600);
	c = mkconf(p3, 0644);
	s = sink_new(&c, &cause);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(file_mode(p3), 0600);
	sink_free(s);
	umask(old);
	free(p1);
	free(p2);
	free(p3);
}
END_TEST

START_TEST(test_open_fails)
{
	char *p = tpath("no/such/dir/out.jsonl");
	struct sink_conf c = mkconf(p, 0640);
	char *cause = NULL;

	ck_assert_ptr_null(sink_new(&c, &cause));
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, p) != NULL, "cause: %s", cause);
	ck_assert_msg(strstr(cause, strerror(ENOENT)) != NULL, "cause: %s",
	    cause);
	free(cause);
	cause = NULL;

	c.path = tmpdir; /* a directory */
	ck_assert_ptr_null(sink_new(&c, &cause));
	ck_assert_msg(strstr(cause, strerror(EISDIR)) != NULL, "cause: %s",
	    cause);
	free(cause);
	cause = NULL;

	c.path = NULL;
	ck_assert_ptr_null(sink_new(&c, &cause));
	ck_assert_ptr_nonnull(cause);
	free(cause);
	free(p);
}
END_TEST

START_TEST(test_reopen_after_rename)
{
	char *path = tpath("out.jsonl"), *old = tpath("out.jsonl.1");
	char *a, *b;
	struct sink *s = mksink(path);

	start(s);
	put_line("one");
	put_line("two");
	ck_assert(sink_wait_idle(s, 10000));
	ck_assert_int_eq(rename(path, old), 0);
	/* Still open on the renamed file until told. */
	put_line("three");
	ck_assert(sink_wait_idle(s, 10000));
	sink_reopen(s);
	put_line("four");
	ck_assert(sink_wait_idle(s, 10000));
	/* A reopen without a rename keeps appending. */
	sink_reopen(s);
	ck_assert(sink_wait_idle(s, 10000));
	put_line("five");
	ck_assert_uint_eq(sink_stop(s, 5), 0);
	sink_free(s);

	a = texts(old);
	b = texts(path);
	ck_assert_str_eq(a, "one\ntwo\nthree\n");
	ck_assert_str_eq(b, "four\nfive\n");
	ck_assert_uint_eq(file_mode(path), 0640);
	free(a);
	free(b);
	free(path);
	free(old);
}
END_TEST

/*
 * A daemon killed in the middle of a write left the last line cut short:
 * the sink cuts the fragment off when it opens the file (its record comes
 * again whole), so that the next line is not glued to it.
 */
START_TEST(test_cut_fragment)
{
	char *path = tpath("torn.jsonl"), *got;
	const char *keep = "{\"v\":1,\"seq\":1,\"m\":\"zero\"}\n";
	const char *torn = "{\"v\":1,\"seq\":2,\"time\":\"2026-";
	struct buf b = BUF_INIT;
	struct sink *s;
	int round;

	for (round = 0; round < 2; round++) {
		/* Round 1: nothing but a fragment, no newline at all. */
		buf_reset(&b);
		if (round == 0)
			buf_adds(&b, keep);
		buf_adds(&b, torn);
		tu_write_file(path, b.data, b.len);
		s = mksink(path);
		start(s);
		put_line("one");
		ck_assert(sink_wait_idle(s, 10000));
		ck_assert_uint_eq(sink_stop(s, 5), 0);
		sink_free(s);
		got = texts(path);
		ck_assert_str_eq(got, round == 0 ? "zero\none\n" : "one\n");
		free(got);
		unlink(path);
	}
	buf_free(&b);
	free(path);
}
END_TEST

START_TEST(test_reopen_fails_keeps_writing)
{
	char *dir = tpath("d"), *dir2 = tpath("d2"), *got;
	char *path, *moved;
	struct sink *s;

	ck_assert_int_eq(mkdir(dir, 0755), 0);
	xasprintf(&path, "%s/out.jsonl", dir);
	xasprintf(&moved, "%s/out.jsonl", dir2);
	s = mksink(path);
	start(s);
	put_line("a");
	ck_assert(sink_wait_idle(s, 10000));
	ck_assert_int_eq(rename(dir, dir2), 0);
	sink_reopen(s); /* fails: the directory is gone */
	ck_assert(sink_wait_idle(s, 10000));
	put_line("b");
	ck_assert_uint_eq(sink_stop(s, 5), 0);
	sink_free(s);
	got = texts(moved);
	ck_assert_str_eq(got, "a\nb\n");
	free(got);
	free(path);
	free(moved);
	free(dir);
	free(dir2);
}
END_TEST

#define NTHREADS 8
#define PER_THREAD 5000

struct producer {
	unsigned id;
};

/* Append PER_THREAD records, as request threads do. */
static void *
produce(void *arg)
{
	struct producer *p = arg;
	unsigned i;

	for (i = 0; i < PER_THREAD; i++)
		put_line("t%u i%u", p->id, i);
	return NULL;
}

START_TEST(test_concurrent)
{
	char *path = tpath("out.jsonl"), *got, *line, *save = NULL;
	struct producer prod[NTHREADS];
	pthread_t th[NTHREADS];
	unsigned next[NTHREADS] = { 0 }, t, i, n = 0;
	struct sink_stats st;
	struct sink *s = mksink(path);

	start(s);
	for (t = 0; t < NTHREADS; t++) {
		prod[t].id = t;
		ck_assert_int_eq(pthread_create(&th[t], NULL, produce,
		    &prod[t]), 0);
	}
	for (t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	ck_assert(sink_wait_idle(s, 60000));
	sink_get_stats(s, &st);
	ck_assert_uint_eq(st.delivered, NTHREADS * PER_THREAD);
	ck_assert_uint_eq(st.position, NTHREADS * PER_THREAD + 1);
	ck_assert_uint_eq(sink_stop(s, 5), 0);
	sink_free(s);

	got = texts(path);
	for (line = strtok_r(got, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		ck_assert_int_eq(sscanf(line, "t%u i%u", &t, &i), 2);
		ck_assert_uint_lt(t, NTHREADS);
		/* Each producer's lines in its order, each exactly once. */
		ck_assert_uint_eq(i, next[t]);
		next[t]++;
		n++;
	}
	ck_assert_uint_eq(n, NTHREADS * PER_THREAD);
	for (t = 0; t < NTHREADS; t++)
		ck_assert_uint_eq(next[t], PER_THREAD);
	free(got);
	free(path);
}
END_TEST

START_TEST(test_stop_drains)
{
	char *path = tpath("out.jsonl"), *got;
	struct sink *s = mksink(path);
	unsigned i;

	start(s);
	for (i = 0; i < 20000; i++)
		put_line("line %u", i);
	ck_assert_uint_eq(sink_stop(s, 30), 0);
	sink_free(s);
	got = texts(path);
	ck_assert_uint_eq(count_lines(got), 20000);
	ck_assert(strncmp(got, "line 0\nline 1\n", 14) == 0);
	ck_assert_ptr_nonnull(strstr(got, "\nline 19999\n"));
	free(got);
	free(path);
}
END_TEST

/* A stopped sink's cursor is persisted: the next start resumes after it. */
START_TEST(test_resume)
{
	char *path = tpath("out.jsonl"), *got;
	struct sink *s = mksink(path);
	struct sink_stats st;

	ck_assert(sink_wait_idle(s, 0)); /* not started: nothing to wait for */
	put_line("a");
	start(s);
	ck_assert(sink_wait_idle(s, 10000));
	ck_assert_uint_eq(sink_stop(s, 5), 0);
	ck_assert_uint_eq(sink_stop(s, 0), 0);
	sink_free(s);
	/* Accepted while no sink runs. */
	put_line("b");
	put_to("other", "x");
	put_line("c");
	s = mksink(path);
	ck_assert_uint_eq(sink_stop(s, 0), 0); /* never started */
	sink_free(s);
	s = mksink(path);
	start(s);
	ck_assert(sink_wait_idle(s, 10000));
	sink_get_stats(s, &st);
	ck_assert_uint_eq(st.delivered, 2);
	ck_assert_uint_eq(st.last_seq, 4);
	ck_assert_uint_eq(sink_stop(s, 5), 0);
	sink_free(s);
	got = texts(path);
	ck_assert_str_eq(got, "a\nb\nc\n"); /* each exactly once */
	free(got);
	free(path);
}
END_TEST

START_TEST(test_stats)
{
	char *path = tpath("out.jsonl");
	struct sink *s = mksink(path);
	struct sink_stats st;
	unsigned i;

	for (i = 1; i <= 5; i++) {
		put_line("%u", i);
		put_to("other", "%u", i);
	}
	sink_get_stats(s, &st);
	ck_assert_uint_eq(st.delivered, 0);
	ck_assert_uint_eq(st.last_seq, 0);
	ck_assert_uint_eq(st.position, 0);
	start(s);
	ck_assert(sink_wait_idle(s, 10000));
	sink_get_stats(s, &st);
	ck_assert_uint_eq(st.delivered, 5);
	ck_assert_uint_eq(st.dropped, 0);
	ck_assert_uint_eq(st.failures, 0);
	ck_assert_uint_eq(st.lost, 0);
	ck_assert_uint_eq(st.last_seq, 9);
	ck_assert_uint_eq(st.position, 11);
	ck_assert_str_eq(sink_name(s), "test");
	ck_assert_str_eq(sink_conf(s)->path, path);
	ck_assert_uint_eq(sink_conf(s)->mode, 0640);
	ck_assert_uint_eq(sink_stop(s, 5), 0);
	sink_free(s);
	free(path);
}
END_TEST

/*
 * A scripted sink: records what it is given, fails on request, can be
 * held inside deliver, and counts its calls.
 */
static struct mock {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int fail_left;           /* answer SINK_RETRY this many times */
	size_t accept_on_fail;   /* lines taken by a failing call */
	bool fail_until_reopen;
	uint64_t poison;         /* SINK_FATAL at this seq (0: none) */
	bool hold;               /* deliver waits while set */
	bool in_deliver;
	int opens, reopens, closes, calls;
	uint64_t got[1024];
	size_t ngot;
} mock = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

static int
mock_open(struct sink *s, char **cause)
{
	pthread_mutex_lock(&mock.lock);
	mock.opens++;
	pthread_mutex_unlock(&mock.lock);
	return 0;
}

static void
mock_take(const struct sink_line *lines, size_t n)
{
	size_t i;

	for (i = 0; i < n && mock.ngot < 1024; i++)
		mock.got[mock.ngot++] = lines[i].seq;
}

static enum sink_result
mock_deliver(struct sink *s, const struct sink_line *lines, size_t n,
    size_t *done, char **cause)
{
	enum sink_result r = SINK_OK;
	size_t i, k;

	pthread_mutex_lock(&mock.lock);
	mock.calls++;
	mock.in_deliver = true;
	pthread_cond_broadcast(&mock.cond);
	while (mock.hold)
		pthread_cond_wait(&mock.cond, &mock.lock);
	mock.in_deliver = false;
	if (mock.fail_until_reopen || mock.fail_left > 0) {
		if (mock.fail_left > 0)
			mock.fail_left--;
		k = mock.accept_on_fail < n ? mock.accept_on_fail : n;
		mock_take(lines, k);
		*done = k;
		*cause = xstrdup("mock failure");
		r = SINK_RETRY;
		goto out;
	}
	for (i = 0; i < n; i++)
		if (mock.poison != 0 && lines[i].seq == mock.poison)
			break;
	mock_take(lines, i);
	*done = i;
	if (i < n) {
		*cause = xstrdup("poisoned");
		r = SINK_FATAL;
	}
out:
	pthread_mutex_unlock(&mock.lock);
	return r;
}

static int
mock_reopen(struct sink *s, char **cause)
{
	pthread_mutex_lock(&mock.lock);
	mock.reopens++;
	mock.fail_until_reopen = false;
	pthread_mutex_unlock(&mock.lock);
	return 0;
}

static void
mock_close(struct sink *s)
{
	pthread_mutex_lock(&mock.lock);
	mock.closes++;
	pthread_mutex_unlock(&mock.lock);
}

static const struct sink_ops mock_ops = {
	.type = "mock",
	.open = mock_open,
	.deliver = mock_deliver,
	.reopen = mock_reopen,
	.close = mock_close,
};

static struct sink *
mock_sink(void)
{
	struct sink_conf c = mkconf(NULL, 0);
	struct sink *s;
	char *cause = NULL;

	pthread_mutex_lock(&mock.lock);
	mock.fail_left = 0;
	mock.accept_on_fail = 0;
	mock.fail_until_reopen = false;
	mock.poison = 0;
	mock.hold = false;
	mock.in_deliver = false;
	mock.opens = mock.reopens = mock.closes = mock.calls = 0;
	mock.ngot = 0;
	pthread_mutex_unlock(&mock.lock);
	c.name = (char *)"mock";
	c.type = (char *)"mock";
	s = sink_new_with_ops(&c, &mock_ops, &cause);
	ck_assert_ptr_nonnull(s);
	return s;
}

/* Wait (bounded) until deliver is entered and held there. */
static bool
mock_wait_in_deliver(unsigned timeout_ms)
{
	struct timespec until;
	bool in;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&mock.lock);
	while (!mock.in_deliver)
		if (pthread_cond_timedwait(&mock.cond, &mock.lock, &until) ==
		    ETIMEDOUT)
			break;
	in = mock.in_deliver;
	pthread_mutex_unlock(&mock.lock);
	return in;
}

static void
mock_release(void)
{
	pthread_mutex_lock(&mock.lock);
	mock.hold = false;
	pthread_cond_broadcast(&mock.cond);
	pthread_mutex_unlock(&mock.lock);
}

struct failures_arg {
	struct sink *s;
	uint64_t n;
};

static bool
failures_reached(void *arg)
{
	struct failures_arg *fa = arg;
	struct sink_stats st;

	sink_get_stats(fa->s, &st);
	return st.failures >= fa->n;
}

START_TEST(test_retry_then_ok)
{
	struct sink *s = mock_sink();
	struct sink_stats st;
	double t0, dt;
	size_t i;

	mock.fail_left = 3;
	mock.accept_on_fail = 1;
	for (i = 1; i <= 10; i++)
		put_to("mock", "m%zu", i);
	t0 = now_sec();
	start(s);
	ck_assert(sink_wait_idle(s, 10000));
	dt = now_sec() - t0;
	/* Backoff 100 + 200 + 400 ms, each -20% at worst. */
	ck_assert_msg(dt >= 0.5, "retried after %.3fs only", dt);
	sink_get_stats(s, &st);
	ck_assert_uint_eq(st.failures, 3);
	ck_assert_uint_eq(st.delivered, 10);
	ck_assert_uint_eq(st.dropped, 0);
	ck_assert_uint_eq(st.last_seq, 10);
	pthread_mutex_lock(&mock.lock);
	ck_assert_uint_eq(mock.ngot, 10);
	for (i = 0; i < 10; i++)
		ck_assert_uint_eq(mock.got[i], i + 1);
	ck_assert_int_eq(mock.calls, 4);
	pthread_mutex_unlock(&mock.lock);
	ck_assert_uint_eq(sink_stop(s, 5), 0);
	ck_assert_int_eq(mock.opens, 1);
	ck_assert_int_eq(mock.closes, 1);
	sink_free(s);
}
END_TEST

START_TEST(test_retry_cut_by_reopen)
{
	struct sink *s = mock_sink();
	struct failures_arg fa = { s, 6 };
	struct sink_stats st;
	size_t i;

	mock.fail_until_reopen = true;
	for (i = 1; i <= 5; i++)
		put_to("mock", "m%zu", i);
	start(s);
	/* After 6 failures the next backoff is 3.2 s +-20%. */
	ck_assert(wait_for(failures_reached, &fa, 20000));
	sink_reopen(s);
	ck_assert_msg(sink_wait_idle(s, 2000), "reopen did not cut backoff");
	sink_get_stats(s, &st);
	ck_assert_uint_eq(st.delivered, 5);
	ck_assert_int_eq(mock.reopens, 1);
	ck_assert_uint_eq(mock.ngot, 5);
	ck_assert_uint_eq(sink_stop(s, 5), 0);
	sink_free(s);
}
END_TEST

START_TEST(test_fatal_drops)
{
	struct sink *s = mock_sink();
	struct sink_stats st;
	size_t i;

	mock.hold = true;
	start(s);
	put_to("mock", "first");
	ck_assert(mock_wait_in_deliver(10000));
	/* The next batch is 2..10, poisoned at 6: 6..10 are dropped. */
	for (i = 2; i <= 10; i++)
		put_to("mock", "m%zu", i);
	pthread_mutex_lock(&mock.lock);
	mock.poison = 6;
	pthread_mutex_unlock(&mock.lock);
	mock_release();
	ck_assert(sink_wait_idle(s, 10000));
	for (i = 11; i <= 15; i++)
		put_to("mock", "m%zu", i);
	ck_assert(sink_wait_idle(s, 10000));
	sink_get_stats(s, &st);
	ck_assert_uint_eq(st.delivered, 10);
	ck_assert_uint_eq(st.dropped, 5);
	ck_assert_uint_eq(st.last_seq, 15);
	ck_assert_uint_eq(st.position, 16);
	pthread_mutex_lock(&mock.lock);
	ck_assert_uint_eq(mock.ngot, 10);
	for (i = 0; i < 5; i++)
		ck_assert_uint_eq(mock.got[i], i + 1);
	for (i = 5; i < 10; i++)
		ck_assert_uint_eq(mock.got[i], i + 6);
	pthread_mutex_unlock(&mock.lock);
	ck_assert_uint_eq(sink_stop(s, 5), 0);
	sink_free(s);
}
END_TEST

START_TEST(test_wait_idle)
{
	struct sink *s = mock_sink();

	ck_assert(sink_wait_idle(s, 0)); /* empty, even unstarted */
	mock.hold = true;
	start(s);
	put_to("mock", "x");
	ck_assert(mock_wait_in_deliver(10000));
	ck_assert(!sink_wait_idle(s, 50)); /* busy delivering */
	mock_release();
	ck_assert(sink_wait_idle(s, 10000));
	ck_assert_uint_eq(mock.ngot, 1);
	ck_assert_uint_eq(sink_stop(s, 5), 0);
	sink_free(s);
}
END_TEST

START_TEST(test_stop_gives_up)
{
	struct sink *s = mock_sink();
	struct failures_arg fa = { s, 2 };
	struct sink_stats st;
	double t0, dt;
	size_t i;

	mock.fail_left = 1000000;
	for (i = 1; i <= 10; i++)
		put_to("mock", "m%zu", i);
	start(s);
	ck_assert(wait_for(failures_reached, &fa, 10000));
	for (i = 11; i <= 12; i++)
		put_to("mock", "m%zu", i);
	t0 = now_sec();
	ck_assert_uint_eq(sink_stop(s, 1), 12);
	dt = now_sec() - t0;
	ck_assert_msg(dt >= 0.9 && dt < 5, "stop took %.3fs", dt);
	sink_get_stats(s, &st);
	ck_assert_uint_eq(st.delivered, 0);
	ck_assert_uint_eq(st.position, 1);
	ck_assert_int_eq(mock.closes, 1);
	sink_free(s);
}
END_TEST

START_TEST(test_stop_begin)
{
	struct sink *s = mock_sink();
	struct sink *f;
	char *path = tpath("out.jsonl"), *got;
	double t0, dt;
	size_t i;

	mock.fail_left = 1000000;
	f = mksink(path);
	start(s);
	start(f);
	for (i = 1; i <= 3; i++)
		put_to("mock,test", "r%zu", i);
	/* Both drain at once; the failing one gives up at 1 s. */
	t0 = now_sec();
	sink_stop_begin(s, 1);
	sink_stop_begin(f, 1);
	ck_assert_uint_eq(sink_stop(s, 30), 3); /* the earlier deadline */
	dt = now_sec() - t0;
	ck_assert_msg(dt >= 0.9 && dt < 5, "stop took %.3fs", dt);
	ck_assert_uint_eq(sink_stop(f, 0), 0);
	sink_free(s);
	sink_free(f);
	got = texts(path);
	ck_assert_str_eq(got, "r1\nr2\nr3\n");
	free(got);
	free(path);
}
END_TEST

/*
 * A sink held up while retention removes what it has not read: the loss is
 * counted (and logged), the rest delivered in order.
 */
START_TEST(test_lost)
{
	struct sink *s = mock_sink();
	struct sink_stats st;
	uint64_t last = 0;
	size_t i;

	spool_close(spool);
	spool = open_spool("small", 4096, 8192);
	mock.hold = true;
	start(s);
	put_to("mock", "first");
	ck_assert(mock_wait_in_deliver(10000));
	for (i = 2; i <= 400; i++)
		put_to("mock", "m%zu..................................", i);
	spool_maintain(spool);
	mock_release();
	ck_assert(sink_wait_idle(s, 10000));
	sink_get_stats(s, &st);
	ck_assert_uint_gt(st.lost, 0);
	ck_assert_uint_eq(st.delivered + st.lost, 400);
	ck_assert_uint_eq(st.last_seq, 400);
	ck_assert_uint_eq(st.position, 401);
	pthread_mutex_lock(&mock.lock);
	ck_assert_uint_eq(mock.ngot, st.delivered);
	for (i = 0; i < mock.ngot; i++) {
		ck_assert_uint_gt(mock.got[i], last);
		last = mock.got[i];
	}
	pthread_mutex_unlock(&mock.lock);
	ck_assert_uint_eq(sink_stop(s, 5), 0);
	sink_free(s);
}
END_TEST

static bool
dev_full_failing(void *arg)
{
	struct failures_arg fa = { arg, 2 };

	return failures_reached(&fa);
}

START_TEST(test_file_write_error)
{
	struct sink_conf c = mkconf("/dev/full", 0640);
	struct sink_stats st;
	struct sink *s;
	char *cause = NULL;

	if (access("/dev/full", W_OK) != 0)
		return;
	s = sink_new(&c, &cause);
	ck_assert_msg(s != NULL, "%s", cause);
	put_line("a");
	put_line("b");
	start(s);
	ck_assert(wait_for(dev_full_failing, s, 10000));
	ck_assert(!sink_wait_idle(s, 10));
	ck_assert_uint_eq(sink_stop(s, 0), 2);
	sink_get_stats(s, &st);
	ck_assert_uint_eq(st.delivered, 0);
	sink_free(s);
}
END_TEST

#define BIG 65536

START_TEST(test_file_short_write)
{
	char *path = tpath("out.jsonl"), *got, *line, prefix[32];
	struct rlimit saved, rl;
	struct failures_arg fa;
	struct sink *s;
	size_t len, i, plen;
	struct stat st;

	signal(SIGXFSZ, SIG_IGN);
	line = xmalloc(BIG);
	s = mksink(path);
	for (i = 0; i < 20; i++) {
		/* Lines of BIG bytes: prefix, ,"m":" a letter, dots, "}\n. */
		plen = (size_t)snprintf(prefix, sizeof prefix,
		    "{\"v\":1,\"seq\":%zu", i + 1);
		memset(line, '.', BIG);
		line[0] = (char)('A' + i);
		line[BIG - 9 - plen] = '\0';
		ck_assert_uint_eq(put_line("%s", line), i + 1);
	}
	/* Room for 16 lines and half of the 17th. */
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &saved), 0);
	rl = saved;
	rl.rlim_cur = 16 * BIG + BIG / 2;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	fa.s = s;
	fa.n = 2;
	start(s);
	ck_assert(wait_for(failures_reached, &fa, 10000));
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 16 * BIG + BIG / 2);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &saved), 0);
	ck_assert(sink_wait_idle(s, 10000));
	ck_assert_uint_eq(sink_stop(s, 5), 0);
	sink_free(s);

	got = slurp(path, &len);
	ck_assert_uint_eq(len, 20 * BIG);
	for (i = 0; i < 20; i++) {
		plen = (size_t)snprintf(prefix, sizeof prefix,
		    "{\"v\":1,\"seq\":%zu", i + 1);
		ck_assert(strncmp(got + i * BIG, prefix, plen) == 0);
		ck_assert_int_eq(got[i * BIG + plen + 6], 'A' + (int)i);
		ck_assert_int_eq(got[i * BIG + plen + 7], '.');
		ck_assert_int_eq(got[(i + 1) * BIG - 1], '\n');
		ck_assert_ptr_eq(memchr(got + i * BIG, '\n', BIG),
		    got + (i + 1) * BIG - 1);
	}
	free(got);
	free(line);
	free(path);
}
END_TEST

/* A sink on the test's spool with conf c, started. */
static struct sink *
mksink_conf(const struct sink_conf *c)
{
	struct sink *s;
	char *cause = NULL;

	s = sink_new(c, &cause);
	ck_assert_msg(s != NULL, "sink_new: %s", cause);
	start(s);
	return s;
}

/*
 * rotate_size: a file never grows past the size (records of 100 bytes,
 * 1000-byte files hold 10), path.1 .. path.keep hold the older records
 * and the oldest beyond them are gone; the records left are contiguous.
 */
START_TEST(test_rotate)
{
	char *path = tpath("out.jsonl"), *name, *got;
	struct sink_conf c = mkconf(path, 0640);
	struct sink *s;
	struct buf all = BUF_INIT, want = BUF_INIT;
	struct stat st;
	unsigned i, k, first;

	c.rotate_size = 1000;
	c.rotate_keep = 2;
	s = mksink_conf(&c);
	for (i = 1; i <= 35; i++) {
		put_line("%04u%s", i, "................................"
		    "........................................");
	}
	ck_assert(sink_wait_idle(s, 20000));
	/* Oldest first: path.2, path.1, path. */
	for (k = 3; k-- > 0;) {
		if (k == 0)
			name = xstrdup(path);
		else
			xasprintf(&name, "%s.%u", path, k);
		ck_assert_msg(stat(name, &st) == 0, "%s missing", name);
		ck_assert_msg(st.st_size <= 1000, "%s has %lld bytes", name,
		    (long long)st.st_size);
		ck_assert_uint_eq(st.st_mode & 07777, 0640);
		got = texts(name);
		buf_adds(&all, got);
		free(got);
		free(name);
	}
	xasprintf(&name, "%s.3", path);
	ck_assert_int_eq(access(name, F_OK), -1);
	free(name);
	/* 35 records of 100 bytes, 10 a file: 31..35, 21..30, 11..20. */
	first = 11;
	for (i = first; i <= 35; i++)
		buf_printf(&want, "%04u%s\n", i, "................................"
		    "........................................");
	ck_assert_str_eq(all.data, want.data);
	ck_assert_uint_eq(sink_stop(s, 5), 0);
	sink_free(s);
	buf_free(&all);
	buf_free(&want);
	free(path);
}
END_TEST

/* As root, a file the sink creates gets owner and group. */
START_TEST(test_owner_group)
{
	char *path = tpath("owned.jsonl");
	struct sink_conf c = mkconf(path, 0600);
	struct sink *s;
	struct stat st;

	if (geteuid() != 0) {
		printf("test_owner_group: not root, owner/group not checked\n");
		free(path);
		return;
	}
	c.owner = (char *)"65534";
	c.uid = 65534;
	c.group = (char *)"65533";
	c.gid = 65533;
	s = mksink_conf(&c);
	put_line("owned");
	ck_assert(sink_wait_idle(s, 10000));
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_uid, 65534);
	ck_assert_uint_eq(st.st_gid, 65533);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_uint_eq(sink_stop(s, 5), 0);
	sink_free(s);
	free(path);
}
END_TEST

/*
 * A real record (class, two properties) routed to `routes` (comma-
 * separated), for the mof and template formats; `message` is JSON-escaped.
 */
static void
put_real(const char *routes, const char *message)
{
	char *tail;

	xasprintf(&tail, ",\"time\":\"2026-11-22T01:30:00.123456Z\","
	    "\"source\":null,\"message_id\":null,\"class\":\"CIM_Alert"
	    "Indication\",\"filters\":[],\"properties\":{\"PerceivedSeverity\":"
	    "{\"type\":\"uint16\",\"value\":5},\"Message\":{\"type\":\"string\","
	    "\"value\":\"%s\"}}}\n", message);
	append_tail(routes, tail, strlen(tail));
	free(tail);
}

static bool
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

START_TEST(test_formats)
{
	char *path = tpath("out.mof"), *path2 = tpath("out.txt"), *got;
	struct sink_conf c = mkconf(path, 0640), c2 = mkconf(path2, 0640);
	struct template_error err;
	struct sink *s, *s2;

	c.format = SINK_FORMAT_MOF;
	s = mksink_conf(&c);
	c2.name = (char *)"test2";
	c2.format = SINK_FORMAT_TEMPLATE;
	c2.template = (char *)"{__SEQ} {__CLASS} {__SEVERITY}: {Message}";
	ck_assert_ptr_nonnull(c2.tmpl = template_compile(c2.template, &err));
	s2 = mksink_conf(&c2);
	put_real("test,test2", "disk \\\"A\\\" failed");
	put_real("test,test2", "second");
	/* A line that is no record: written as its JSON, not lost. */
	put_to("test,test2", "not a record");
	ck_assert(sink_wait_idle(s, 10000));
	ck_assert(sink_wait_idle(s2, 10000));
	got = slurp(path, NULL);
	ck_assert_msg(starts(got, "instance of CIM_AlertIndication {\n"
	    "   PerceivedSeverity = 5;\n"
	    "   Message = \"disk \\\"A\\\" failed\";\n"
	    "};\n"
	    "instance of CIM_AlertIndication {\n"
	    "   PerceivedSeverity = 5;\n"
	    "   Message = \"second\";\n"
	    "};\n"
	    "{\"v\":1,\"seq\":3,"), "%s", got);
	free(got);
	got = slurp(path2, NULL);
	ck_assert_msg(starts(got, "1 CIM_AlertIndication err: disk \"A\" "
	    "failed\n2 CIM_AlertIndication err: second\n{\"v\":1,\"seq\":3,"),
	    "%s", got);
	free(got);
	ck_assert_uint_eq(sink_stop(s, 5), 0);
	ck_assert_uint_eq(sink_stop(s2, 5), 0);
	sink_free(s);
	sink_free(s2);
	template_free(c2.tmpl);
	free(path);
	free(path2);
}
END_TEST

static Suite *
sink_suite(void)
{
	Suite *s = suite_create("sink_file");
	TCase *tc;

	tc = tcase_create("file");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_registry);
	tcase_add_test(tc, test_routing);
	tcase_add_test(tc, test_order);
	tcase_add_test(tc, test_mode);
	tcase_add_test(tc, test_open_fails);
	tcase_add_test(tc, test_reopen_after_rename);
	tcase_add_test(tc, test_cut_fragment);
	tcase_add_test(tc, test_reopen_fails_keeps_writing);
	tcase_add_test(tc, test_concurrent);
	tcase_add_test(tc, test_stop_drains);
	tcase_add_test(tc, test_resume);
	tcase_add_test(tc, test_stats);
	tcase_add_test(tc, test_lost);
	tcase_add_test(tc, test_file_write_error);
	tcase_add_test(tc, test_file_short_write);
	tcase_add_test(tc, test_rotate);
	tcase_add_test(tc, test_owner_group);
	tcase_add_test(tc, test_formats);
	suite_add_tcase(s, tc);

	tc = tcase_create("delivery");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_retry_then_ok);
	tcase_add_test(tc, test_retry_cut_by_reopen);
	tcase_add_test(tc, test_fatal_drops);
	tcase_add_test(tc, test_wait_idle);
	tcase_add_test(tc, test_stop_gives_up);
	tcase_add_test(tc, test_stop_begin);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(sink_suite());
}
