/*
 * check_spool.c: unit tests for spool.c, the append-only record log:
 * round trips across segments and restarts, recovery from torn and
 * corrupt data, concurrent appenders and group commit, readers and their
 * persisted cursors (including a crash in a child process), retention by
 * delivery, size and age, the ENOSPC fault hook, and the mapped writing
 * of fsync=none (a crash's preallocated tail, a fault in the copy, a file
 * size limit that stops preallocation and then writes). Every
 * wait is bounded.
 */
#include "autoconf.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"
#include "testutil.h"

static const char *const routes_ab[] = {"alerts", "ops-syslog"};
static const char *const routes_c[] = {"live"};

static void
params(struct spool_params *p, const char *dir, uint64_t segsize)
{
	memset(p, 0, sizeof *p);
	p->dir = dir;
	p->segment_size = segsize;
}

static struct spool *
xopen(const struct spool_params *p)
{
	struct spool *sp;
	char *cause = NULL;

	sp = spool_open(p, &cause);
	ck_assert_msg(sp != NULL, "spool_open: %s", cause ? cause : "?");
	return sp;
}

/* The tail for record number i (1-based, as appended by append_n). */
static char *
tail_for(unsigned i)
{
	char *t;

	ck_assert_int_gt(asprintf(&t,
			     ",\"time\":\"t\",\"n\":%u,\"pad\":"
			     "\"%.*s\"}\n",
			     i, (int)(i % 50),
			     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
	    0);
	return t;
}

/* Append records numbered from..from+n-1 one by one; checks their seqs. */
static void
append_n(struct spool *sp, unsigned from, unsigned n, uint64_t first_seq)
{
	struct spool_entry e;
	uint64_t seq;
	char *t, *cause = NULL;
	unsigned i;

	for (i = 0; i < n; i++) {
		t = tail_for(from + i);
		e.tail = t;
		e.tail_len = strlen(t);
		e.routes = (from + i) % 2 ? routes_ab : routes_c;
		e.nroutes = (from + i) % 2 ? 2 : 1;
		ck_assert_msg(spool_append(sp, &e, 1, &seq, &cause) == 0,
		    "append: %s", cause);
		ck_assert_uint_eq(seq, first_seq + i);
		free(t);
	}
}

/* Check a record is number i with seq `seq`. */
static void
check_rec(const struct spool_record *r, uint64_t seq, unsigned i)
{
	char *t, *want;

	ck_assert_uint_eq(r->seq, seq);
	t = tail_for(i);
	ck_assert_int_gt(
	    asprintf(&want, "{\"v\":1,\"seq\":%" PRIu64 "%s", seq, t), 0);
	ck_assert_uint_eq(r->len, strlen(want));
	ck_assert_msg(memcmp(r->line, want, r->len) == 0, "line %.*s",
	    (int)r->len, r->line);
	if (i % 2) {
		ck_assert_uint_eq(r->nroutes, 2);
		ck_assert(spool_record_routed(r, "alerts"));
		ck_assert(spool_record_routed(r, "ops-syslog"));
		ck_assert(!spool_record_routed(r, "live"));
	} else {
		ck_assert_uint_eq(r->nroutes, 1);
		ck_assert(spool_record_routed(r, "live"));
		ck_assert(!spool_record_routed(r, "alerts"));
	}
	free(t);
	free(want);
}

/*
 * Read everything available now into seqs[] (up to max); gaps are
 * appended to gaps[] if given. Returns the number of records.
 */
static size_t
read_all(struct spool_reader *r, uint64_t *seqs, size_t max,
    struct spool_gap *gaps, size_t *ngaps)
{
	struct spool_record recs[7];
	struct spool_gap gap;
	size_t n = 0;
	int i, got;

	if (ngaps != NULL)
		*ngaps = 0;
	for (;;) {
		got = spool_reader_read(r, recs, 7, 0, &gap);
		ck_assert_int_ge(got, 0);
		if (gap.reason != SPOOL_GAP_NONE) {
			ck_assert_msg(gaps != NULL,
			    "unexpected gap %" PRIu64 "..%" PRIu64, gap.from,
			    gap.to);
			gaps[(*ngaps)++] = gap;
		}
		if (got == 0 && gap.reason == SPOOL_GAP_NONE)
			break;
		for (i = 0; i < got; i++) {
			ck_assert_uint_lt(n, max);
			seqs[n++] = recs[i].seq;
		}
	}
	return n;
}

/* Read (without waiting) until `want` records came or none is left; no gaps. */
static size_t
read_upto(struct spool_reader *r, uint64_t *seqs, size_t want)
{
	struct spool_record recs[16];
	struct spool_gap gap;
	size_t n = 0;
	int i, got;

	while (n < want) {
		got = spool_reader_read(
		    r, recs, want - n < 16 ? want - n : 16, 0, &gap);
		ck_assert_int_ge(got, 0);
		ck_assert_int_eq(gap.reason, SPOOL_GAP_NONE);
		if (got == 0)
			break;
		for (i = 0; i < got; i++)
			seqs[n++] = recs[i].seq;
	}
	return n;
}

static size_t
count_segments(const char *dir)
{
	DIR *d;
	struct dirent *de;
	size_t n = 0;

	ck_assert_ptr_nonnull(d = opendir(dir));
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "seg-", 4) == 0 &&
		    strstr(de->d_name, ".corrupt") == NULL)
			n++;
	closedir(d);
	return n;
}

static char *
seg_path(const char *dir, uint64_t first)
{
	char *p;

	ck_assert_int_gt(
	    asprintf(&p, "%s/seg-%020" PRIu64 ".log", dir, first), 0);
	return p;
}

static off_t
file_size(const char *path)
{
	struct stat sb;

	ck_assert_int_eq(stat(path, &sb), 0);
	return sb.st_size;
}

/* Capture stderr (the daemon log) into a file. */
static int saved_stderr = -1;

static void
cap_begin(const char *path)
{
	int fd;

	fflush(stderr);
	saved_stderr = dup(2);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	dup2(fd, 2);
	close(fd);
}

static char *
cap_end(const char *path)
{
	char *s;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	s = tu_read_file(path, NULL);
	ck_assert_ptr_nonnull(s);
	fputs(s, stderr);
	return s;
}

START_TEST(test_crc32c)
{
	char buf[1000];
	size_t i;
	uint32_t whole, parts;

	ck_assert_uint_eq(spool_crc32c(0, "123456789", 9), 0xe3069283);
	ck_assert_uint_eq(spool_crc32c(0, "", 0), 0);
	for (i = 0; i < sizeof buf; i++)
		buf[i] = (char)(i * 7 + 3);
	whole = spool_crc32c(0, buf, sizeof buf);
	parts = spool_crc32c(
	    spool_crc32c(0, buf, 333), buf + 333, sizeof buf - 333);
	ck_assert_uint_eq(whole, parts);
	ck_assert_uint_eq(whole, 0xdd2edff7);
}
END_TEST

START_TEST(test_crc32c_soft)
{
	char buf[1000];
	size_t i;

	/* Before the first use in this (forked) process: table path. */
	setenv("CIMLISTEN_SPOOL_SOFTCRC", "1", 1);
	ck_assert_uint_eq(spool_crc32c(0, "123456789", 9), 0xe3069283);
	for (i = 0; i < sizeof buf; i++)
		buf[i] = (char)(i * 7 + 3);
	ck_assert_uint_eq(spool_crc32c(0, buf + 1, sizeof buf - 1),
	    spool_crc32c(spool_crc32c(0, buf + 1, 5), buf + 6, sizeof buf - 6));
	ck_assert_uint_eq(spool_crc32c(0, buf, sizeof buf), 0xdd2edff7);
}
END_TEST

START_TEST(test_roundtrip_segments)
{
	struct spool_params p;
	struct spool *sp;
	struct spool_reader *r;
	struct spool_record recs[16];
	struct spool_gap gap;
	struct spool_stats st;
	char *dir = tu_tmpdir(), *cause = NULL;
	uint64_t seq = 1;
	int got, i;

	params(&p, dir, 2048);
	sp = xopen(&p);
	append_n(sp, 1, 200, 1);
	spool_get_stats(sp, &st);
	ck_assert_uint_ge(st.segments, 10);
	ck_assert_uint_eq(st.segments, count_segments(dir));
	ck_assert_uint_eq(st.appended, 200);
	ck_assert_uint_eq(st.oldest_seq, 1);
	ck_assert_uint_eq(st.newest_seq, 200);
	ck_assert_uint_eq(st.next_seq, 201);
	ck_assert_uint_eq(st.syncs, 0);

	r = spool_reader_open(sp, NULL, SPOOL_START_OLDEST, &cause);
	ck_assert_ptr_nonnull(r);
	while (seq <= 200) {
		got = spool_reader_read(r, recs, 16, 0, &gap);
		ck_assert_int_gt(got, 0);
		ck_assert_int_eq(gap.reason, SPOOL_GAP_NONE);
		for (i = 0; i < got; i++, seq++)
			check_rec(&recs[i], seq, seq);
	}
	ck_assert_int_eq(spool_reader_read(r, recs, 16, 0, &gap), 0);
	spool_reader_close(r);
	spool_close(sp);

	/* The sequence continues after a restart. */
	sp = xopen(&p);
	spool_get_stats(sp, &st);
	ck_assert_uint_eq(st.next_seq, 201);
	ck_assert_uint_eq(st.recovered_cut_bytes, 0);
	append_n(sp, 201, 3, 201);
	r = spool_reader_open(sp, NULL, SPOOL_START_OLDEST, &cause);
	for (seq = 1; seq <= 203;) {
		got = spool_reader_read(r, recs, 16, 0, &gap);
		ck_assert_int_gt(got, 0);
		for (i = 0; i < got; i++, seq++)
			check_rec(&recs[i], seq, seq);
	}
	spool_reader_close(r);

	/* A reader starting at "new" sees only what comes after it. */
	r = spool_reader_open(sp, NULL, SPOOL_START_NEW, &cause);
	ck_assert_int_eq(spool_reader_read(r, recs, 16, 0, &gap), 0);
	append_n(sp, 204, 1, 204);
	ck_assert_int_eq(spool_reader_read(r, recs, 16, 0, &gap), 1);
	check_rec(&recs[0], 204, 204);
	spool_reader_close(r);
	spool_close(sp);

	/* Only one process at a time. */
	sp = xopen(&p);
	ck_assert_ptr_null(spool_open(&p, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "in use"));
	free(cause);
	spool_close(sp);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_batch_and_bad_entries)
{
	struct spool_params p;
	struct spool *sp;
	struct spool_entry e[5];
	struct spool_reader *r;
	struct spool_record recs[8];
	struct spool_gap gap;
	char *dir = tu_tmpdir(), *cause = NULL, *t[5];
	const char *const badroute[] = {""};
	uint64_t seq;
	int i;

	params(&p, dir, 0);
	sp = xopen(&p);
	for (i = 0; i < 5; i++) {
		t[i] = tail_for(i + 1);
		e[i].tail = t[i];
		e[i].tail_len = strlen(t[i]);
		e[i].routes = (i + 1) % 2 ? routes_ab : routes_c;
		e[i].nroutes = (i + 1) % 2 ? 2 : 1;
	}
	ck_assert_int_eq(spool_append(sp, e, 5, &seq, &cause), 0);
	ck_assert_uint_eq(seq, 1);

	/* A bad entry fails the whole batch and consumes nothing. */
	e[1].tail_len--; /* no newline */
	ck_assert_int_eq(spool_append(sp, e, 5, &seq, &cause), -1);
	ck_assert_int_eq(errno, EINVAL);
	free(cause);
	cause = NULL;
	e[1].tail_len++;
	e[2].routes = badroute;
	e[2].nroutes = 1;
	ck_assert_int_eq(spool_append(sp, e, 5, &seq, &cause), -1);
	free(cause);
	cause = NULL;
	e[2].nroutes = 0; /* unrouted records are spooled too */
	ck_assert_int_eq(spool_append(sp, e + 2, 1, &seq, &cause), 0);
	ck_assert_uint_eq(seq, 6);

	r = spool_reader_open(sp, NULL, SPOOL_START_OLDEST, &cause);
	ck_assert_int_eq(spool_reader_read(r, recs, 8, 0, &gap), 6);
	for (i = 0; i < 5; i++)
		check_rec(&recs[i], i + 1, i + 1);
	ck_assert_uint_eq(recs[5].nroutes, 0);
	ck_assert(!spool_record_routed(&recs[5], "live"));
	spool_reader_close(r);
	spool_close(sp);
	for (i = 0; i < 5; i++)
		free(t[i]);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

enum damage { CUT_MID_RECORD, FLIP_LAST_PAYLOAD, APPEND_GARBAGE, FLIP_MIDDLE };

/*
 * Write 10 records into one segment, damage it, reopen: check the log,
 * the next seq and what a reader gets.
 */
static void
torn_case(enum damage how)
{
	struct spool_params p;
	struct spool *sp;
	struct spool_reader *r;
	struct spool_gap gaps[4];
	struct spool_stats st;
	char *dir = tu_tmpdir(), *seg, *log, *logpath, *data, *cause = NULL;
	uint64_t seqs[32], next = 0, seq;
	size_t len, n, ngaps, i;
	off_t before;
	int fd;
	char *at;

	params(&p, dir, 0);
	sp = xopen(&p);
	append_n(sp, 1, 10, 1);
	spool_close(sp);
	seg = seg_path(dir, 1);
	before = file_size(seg);
	data = tu_read_file(seg, &len);
	ck_assert_int_gt(asprintf(&logpath, "%s.log", dir), 0);

	switch (how) {
	case CUT_MID_RECORD:
		/* Keep half of the last record. */
		at = memmem(data, len, "\"n\":10,", 7);
		ck_assert_ptr_nonnull(at);
		ck_assert_int_eq(truncate(seg, at - data), 0);
		next = 10;
		break;
	case FLIP_LAST_PAYLOAD:
		at = memmem(data, len, "\"n\":10,", 7);
		fd = open(seg, O_WRONLY);
		ck_assert_int_eq(pwrite(fd, "9", 1, at - data + 4), 1);
		close(fd);
		next = 10;
		break;
	case APPEND_GARBAGE:
		fd = open(seg, O_WRONLY | O_APPEND);
		ck_assert_int_eq(write(fd,
				     "\xff\xfe"
				     "CRgarbage\0\0\0\1\2",
				     15),
		    15);
		close(fd);
		next = 11;
		break;
	case FLIP_MIDDLE:
		at = memmem(data, len, "\"n\":5,", 6);
		fd = open(seg, O_WRONLY);
		ck_assert_int_eq(pwrite(fd, "6", 1, at - data + 4), 1);
		close(fd);
		next = 11;
		break;
	}
	free(data);

	cap_begin(logpath);
	sp = xopen(&p);
	log = cap_end(logpath);
	if (how == FLIP_MIDDLE) {
		ck_assert_ptr_nonnull(
		    strstr(log, "spool: segment "
				"seg-00000000000000000001.log: skipped "));
		ck_assert_ptr_null(strstr(log, "torn"));
	} else {
		ck_assert_ptr_nonnull(
		    strstr(log, "spool: segment "
				"seg-00000000000000000001.log: cut "));
		ck_assert_ptr_nonnull(strstr(log, "bytes of torn/corrupt tail "
						  "at offset "));
		/* Logged once. */
		ck_assert_ptr_null(strstr(strstr(log, "torn") + 1, "torn"));
		spool_get_stats(sp, &st);
		ck_assert_uint_gt(st.recovered_cut_bytes, 0);
		if (how != APPEND_GARBAGE)
			ck_assert_int_lt(file_size(seg), before);
		else
			ck_assert_int_eq(file_size(seg), before);
	}
	free(log);

	append_n(sp, 100, 1, next);
	r = spool_reader_open(sp, NULL, SPOOL_START_OLDEST, &cause);
	n = read_all(r, seqs, 32, gaps, &ngaps);
	if (how == FLIP_MIDDLE) {
		ck_assert_uint_eq(ngaps, 1);
		ck_assert_uint_eq(gaps[0].from, 5);
		ck_assert_uint_eq(gaps[0].to, 5);
		ck_assert_int_eq(gaps[0].reason, SPOOL_GAP_CORRUPT);
		ck_assert_uint_eq(n, 10);
		for (i = 0, seq = 1; i < n; i++, seq++) {
			if (seq == 5)
				seq++;
			ck_assert_uint_eq(seqs[i], seq);
		}
	} else {
		ck_assert_uint_eq(ngaps, 0);
		ck_assert_uint_eq(n, next);
		for (i = 0; i < n; i++)
			ck_assert_uint_eq(seqs[i], i + 1);
	}
	spool_reader_close(r);

	/* Reopening again finds nothing more to cut. */
	spool_close(sp);
	cap_begin(logpath);
	sp = xopen(&p);
	log = cap_end(logpath);
	ck_assert_ptr_null(strstr(log, "torn"));
	free(log);
	spool_get_stats(sp, &st);
	ck_assert_uint_eq(st.next_seq, next + 1);
	spool_close(sp);

	unlink(logpath);
	free(logpath);
	free(seg);
	tu_rmtree(dir);
	free(dir);
}

START_TEST(test_torn_cut)
{
	torn_case(CUT_MID_RECORD);
}
END_TEST

START_TEST(test_torn_flip)
{
	torn_case(FLIP_LAST_PAYLOAD);
}
END_TEST

START_TEST(test_torn_garbage)
{
	torn_case(APPEND_GARBAGE);
}
END_TEST

START_TEST(test_corrupt_middle)
{
	torn_case(FLIP_MIDDLE);
}
END_TEST

START_TEST(test_corrupt_older_segment)
{
	struct spool_params p;
	struct spool *sp;
	struct spool_reader *r;
	struct spool_gap gaps[4];
	struct spool_stats st;
	char *dir = tu_tmpdir(), *seg, *data, *cause = NULL, *at;
	uint64_t seqs[64];
	size_t len, n, ngaps, i;
	int fd;

	params(&p, dir, 2048);
	sp = xopen(&p);
	append_n(sp, 1, 40, 1);
	spool_close(sp);
	/* Ruin record 3's frame header in the first (sealed) segment. */
	seg = seg_path(dir, 1);
	data = tu_read_file(seg, &len);
	at = memmem(data, len, "\"n\":3,", 6);
	ck_assert_ptr_nonnull(at);
	at = memmem(data, len, "{\"v\":1,\"seq\":3,", 15);
	fd = open(seg, O_WRONLY);
	/* The magic of its frame: 32 header bytes + routes ("live\0") before
	 * the line. */
	ck_assert_int_eq(pwrite(fd, "XXXX", 4, at - data - 5 - 32), 4);
	close(fd);
	free(data);

	sp = xopen(&p);
	r = spool_reader_open(sp, NULL, SPOOL_START_OLDEST, &cause);
	n = read_all(r, seqs, 64, gaps, &ngaps);
	ck_assert_uint_eq(ngaps, 1);
	ck_assert_uint_eq(gaps[0].from, 3);
	ck_assert_uint_eq(gaps[0].to, 3);
	ck_assert_uint_eq(n, 39);
	for (i = 0; i < n; i++)
		ck_assert_uint_eq(seqs[i], i < 2 ? i + 1 : i + 2);
	spool_get_stats(sp, &st);
	ck_assert_uint_eq(st.next_seq, 41);

	/* A whole segment that lost its header is skipped as a gap. */
	spool_reader_close(r);
	spool_close(sp);
	fd = open(seg, O_WRONLY);
	ck_assert_int_eq(pwrite(fd, "JUNK", 4, 0), 4);
	close(fd);
	sp = xopen(&p);
	r = spool_reader_open(sp, NULL, SPOOL_START_OLDEST, &cause);
	n = read_all(r, seqs, 64, gaps, &ngaps);
	ck_assert_uint_eq(ngaps, 1);
	ck_assert_uint_eq(gaps[0].from, 1);
	ck_assert_uint_gt(gaps[0].to, 3);
	ck_assert_uint_eq(seqs[0], gaps[0].to + 1);
	ck_assert_uint_eq(seqs[n - 1], 40);
	spool_reader_close(r);
	spool_close(sp);
	free(seg);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/* Concurrent appenders. */

#define CONC_MAX_THREADS 16

struct conc {
	struct spool *sp;
	unsigned t;
	unsigned n;
	unsigned batch;
	uint64_t *seqs; /* seqs[i] for this thread's record i */
};

static void *
conc_main(void *arg)
{
	struct conc *c = arg;
	struct spool_entry e[4];
	char tails[4][64], *cause = NULL;
	uint64_t seq;
	unsigned i, j, k;

	for (i = 0; i < c->n; i += c->batch) {
		k = c->batch;
		if (i + k > c->n)
			k = c->n - i;
		for (j = 0; j < k; j++) {
			snprintf(tails[j], sizeof tails[j],
			    ",\"t\":%u,\"i\":%u}\n", c->t, i + j);
			e[j].tail = tails[j];
			e[j].tail_len = strlen(tails[j]);
			e[j].routes = routes_c;
			e[j].nroutes = 1;
		}
		if (spool_append(c->sp, e, k, &seq, &cause) != 0)
			return cause;
		for (j = 0; j < k; j++)
			c->seqs[i + j] = seq + j;
	}
	return NULL;
}

/* Run nthreads appenders of n records each (in batches); seqs per thread. */
static void
run_concurrent(struct spool *sp, unsigned nthreads, unsigned n, unsigned batch,
    struct conc *cs)
{
	pthread_t th[CONC_MAX_THREADS];
	unsigned t;
	void *res;

	for (t = 0; t < nthreads; t++) {
		cs[t].sp = sp;
		cs[t].t = t;
		cs[t].n = n;
		cs[t].batch = batch;
		cs[t].seqs = calloc(n, sizeof *cs[t].seqs);
		ck_assert_int_eq(
		    pthread_create(&th[t], NULL, conc_main, &cs[t]), 0);
	}
	for (t = 0; t < nthreads; t++) {
		ck_assert_int_eq(pthread_join(th[t], &res), 0);
		ck_assert_msg(res == NULL, "append failed: %s", (char *)res);
	}
}

START_TEST(test_concurrent_appenders)
{
	struct spool_params p;
	struct spool *sp;
	struct spool_reader *r;
	struct spool_record recs[64];
	struct spool_gap gap;
	struct spool_stats st;
	struct conc cs[8];
	char *dir = tu_tmpdir(), *cause = NULL;
	unsigned char *seen;
	uint64_t total = 8 * 2000, seq, expect = 1;
	unsigned t, i, ti, ii;
	int got, k;

	params(&p, dir, 256 << 10);
	sp = xopen(&p);
	run_concurrent(sp, 8, 2000, _i == 0 ? 1 : 3, cs);

	/* Every seq distinct and contiguous. */
	seen = calloc(total + 1, 1);
	for (t = 0; t < 8; t++) {
		for (i = 0; i < 2000; i++) {
			seq = cs[t].seqs[i];
			ck_assert_uint_ge(seq, 1);
			ck_assert_uint_le(seq, total);
			ck_assert_msg(!seen[seq], "seq %" PRIu64 " twice", seq);
			seen[seq] = 1;
			if (i > 0)
				ck_assert_uint_gt(seq, cs[t].seqs[i - 1]);
		}
	}
	spool_get_stats(sp, &st);
	ck_assert_uint_eq(st.next_seq, total + 1);
	ck_assert_uint_eq(st.appended, total);
	ck_assert_uint_gt(st.segments, 1);

	/* File order is seq order, and each line is the one appended with it.
	 */
	r = spool_reader_open(sp, NULL, SPOOL_START_OLDEST, &cause);
	while (expect <= total) {
		got = spool_reader_read(r, recs, 64, 0, &gap);
		ck_assert_int_gt(got, 0);
		ck_assert_int_eq(gap.reason, SPOOL_GAP_NONE);
		for (k = 0; k < got; k++, expect++) {
			ck_assert_uint_eq(recs[k].seq, expect);
			ck_assert_int_eq(sscanf(recs[k].line,
					     "{\"v\":1,\"seq\":%" SCNu64
					     ",\"t\":%u,\"i\":%u}",
					     &seq, &ti, &ii),
			    3);
			ck_assert_uint_eq(seq, expect);
			ck_assert_uint_eq(cs[ti].seqs[ii], expect);
		}
	}
	spool_reader_close(r);
	spool_close(sp);
	for (t = 0; t < 8; t++)
		free(cs[t].seqs);
	free(seen);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_group_commit)
{
	struct spool_params p;
	struct spool *sp;
	struct spool_stats st;
	struct conc cs[16];
	char *dir = tu_tmpdir();
	unsigned t;

	params(&p, dir, 64 << 10);
	p.fsync = _i == 0 ? SPOOL_FSYNC_ALWAYS : SPOOL_FSYNC_BATCH;
	p.batch_window_us = 20000;
	p.batch_records = 16;
	sp = xopen(&p);
	run_concurrent(sp, 16, 100, 1, cs);
	spool_get_stats(sp, &st);
	ck_assert_uint_eq(st.appended, 1600);
	ck_assert_uint_eq(st.synced_records, 1600);
	ck_assert_uint_gt(st.syncs, 0);
	fprintf(stderr, "%s: %" PRIu64 " syncs, %.2f records per sync\n",
	    spool_fsync_name(p.fsync), st.syncs,
	    (double)st.synced_records / st.syncs);
	ck_assert_msg(st.synced_records > st.syncs,
	    "no group commit: %" PRIu64 " syncs for %" PRIu64 " records",
	    st.syncs, st.synced_records);
	if (p.fsync == SPOOL_FSYNC_BATCH)
		ck_assert_uint_ge(st.synced_records, 8 * st.syncs);
	spool_close(sp);
	for (t = 0; t < 16; t++)
		free(cs[t].seqs);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/* Readers. */

START_TEST(test_two_readers)
{
	struct spool_params p;
	struct spool *sp;
	struct spool_reader *fast, *slow;
	struct spool_record recs[64];
	struct spool_gap gap;
	struct spool_reader_stats rs;
	char *dir = tu_tmpdir(), *cause = NULL;
	uint64_t fseq = 1, sseq = 1;
	int got, i, round;

	params(&p, dir, 4096);
	sp = xopen(&p);
	fast = spool_reader_open(sp, "fast", SPOOL_START_OLDEST, &cause);
	slow = spool_reader_open(sp, "slow", SPOOL_START_OLDEST, &cause);
	ck_assert_ptr_nonnull(fast);
	ck_assert_ptr_nonnull(slow);
	ck_assert_ptr_null(
	    spool_reader_open(sp, "fast", SPOOL_START_OLDEST, &cause));
	ck_assert_int_eq(errno, EBUSY);
	free(cause);
	ck_assert_str_eq(spool_reader_name(fast), "fast");

	for (round = 0; round < 10; round++) {
		append_n(sp, round * 30 + 1, 30, round * 30 + 1);
		/* fast reads all there is, slow 3 records a round. */
		while ((got = spool_reader_read(fast, recs, 64, 0, &gap)) > 0)
			for (i = 0; i < got; i++, fseq++) {
				check_rec(&recs[i], fseq, fseq);
				spool_reader_ack(fast, recs[i].seq);
			}
		got = spool_reader_read(slow, recs, 3, 0, &gap);
		ck_assert_int_eq(got, 3);
		for (i = 0; i < got; i++, sseq++) {
			check_rec(&recs[i], sseq, sseq);
			spool_reader_ack(slow, recs[i].seq);
		}
	}
	ck_assert_uint_eq(fseq, 301);
	ck_assert_uint_eq(sseq, 31);
	spool_reader_get_stats(slow, &rs);
	ck_assert_uint_eq(rs.position, 31);
	ck_assert_uint_eq(rs.acked, 31);
	ck_assert_uint_eq(rs.read, 30);
	ck_assert_uint_eq(rs.lost, 0);

	/* The slow reader holds back retention; the fast one does not. */
	ck_assert_int_eq(spool_reader_flush(fast), 0);
	ck_assert_int_eq(spool_reader_flush(slow), 0);
	spool_maintain(sp);
	ck_assert_uint_ge(count_segments(dir), 2);
	while ((got = spool_reader_read(slow, recs, 64, 0, &gap)) > 0)
		for (i = 0; i < got; i++, sseq++) {
			check_rec(&recs[i], sseq, sseq);
			spool_reader_ack(slow, recs[i].seq);
		}
	ck_assert_uint_eq(sseq, 301);
	spool_reader_close(slow); /* close flushes */
	ck_assert_uint_eq(count_segments(dir), 1);

	/* Exactly once after a clean close: both resume after 300. */
	spool_reader_close(fast);
	spool_close(sp);
	sp = xopen(&p);
	append_n(sp, 301, 2, 301);
	fast = spool_reader_open(sp, "fast", SPOOL_START_OLDEST, &cause);
	slow = spool_reader_open(sp, "slow", SPOOL_START_NEW, &cause);
	ck_assert_int_eq(spool_reader_read(fast, recs, 64, 0, &gap), 2);
	check_rec(&recs[0], 301, 301);
	ck_assert_int_eq(spool_reader_read(slow, recs, 64, 0, &gap), 2);
	check_rec(&recs[0], 301, 301);
	spool_reader_close(fast);
	spool_reader_close(slow);

	/* Forgetting a cursor. */
	ck_assert_int_eq(spool_cursor_remove(sp, "slow"), 0);
	slow = spool_reader_open(sp, "slow", SPOOL_START_NEW, &cause);
	ck_assert_int_eq(spool_reader_read(slow, recs, 64, 0, &gap), 0);
	ck_assert_int_eq(spool_cursor_remove(sp, "slow"), -1);
	ck_assert_int_eq(errno, EBUSY);
	spool_reader_close(slow);
	spool_close(sp);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_cursor_crash)
{
	struct spool_params p;
	struct spool *sp;
	struct spool_reader *r;
	struct spool_record recs[64];
	struct spool_gap gap;
	char *dir = tu_tmpdir(), *cause = NULL, *f;
	uint64_t seqs[64];
	pid_t pid;
	int status, i;

	params(&p, dir, 4096);
	p.cursor_interval_ms = 3600 * 1000; /* persist only on flush */
	sp = xopen(&p);
	append_n(sp, 1, 50, 1);
	spool_close(sp);

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		sp = spool_open(&p, &cause);
		if (sp == NULL)
			_exit(2);
		r = spool_reader_open(
		    sp, "odd/name ü", SPOOL_START_OLDEST, &cause);
		if (r == NULL || read_upto(r, seqs, 20) != 20)
			_exit(3);
		spool_reader_ack(r, 10);
		if (spool_reader_flush(r) != 0)
			_exit(4);
		spool_reader_ack(
		    r, 20); /* not persisted: the crash comes first */
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);

	/* The name is kept, encoded, as a file in cursors/. */
	ck_assert_int_gt(
	    asprintf(&f, "%s/cursors/odd%%2Fname%%20%%C3%%BC", dir), 0);
	ck_assert_int_eq(access(f, F_OK), 0);
	free(f);

	/* At least once: resume after the last persisted ack (10). */
	sp = xopen(&p);
	r = spool_reader_open(sp, "odd/name ü", SPOOL_START_NEW, &cause);
	ck_assert_uint_eq(read_upto(r, seqs, 64), 40);
	for (i = 0; i < 40; i++)
		ck_assert_uint_eq(seqs[i], 11 + i);
	spool_reader_ack(r, 50);
	spool_reader_close(r);
	spool_close(sp);

	sp = xopen(&p);
	r = spool_reader_open(sp, "odd/name ü", SPOOL_START_OLDEST, &cause);
	ck_assert_int_eq(spool_reader_read(r, recs, 64, 0, &gap), 0);
	spool_reader_close(r);
	spool_close(sp);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

struct later {
	struct spool *sp;
	unsigned delay_ms;
	struct spool_reader *interrupt;
};

static void *
later_main(void *arg)
{
	struct later *l = arg;
	struct timespec ts = {0, (long)l->delay_ms * 1000000};

	nanosleep(&ts, NULL);
	if (l->interrupt != NULL)
		spool_reader_interrupt(l->interrupt);
	else
		append_n(l->sp, 1, 1, 1);
	return NULL;
}

START_TEST(test_blocking_read)
{
	struct spool_params p;
	struct spool *sp;
	struct spool_reader *r;
	struct spool_record recs[4];
	struct spool_gap gap;
	struct later l;
	pthread_t th;
	char *dir = tu_tmpdir(), *cause = NULL;

	params(&p, dir, 0);
	sp = xopen(&p);
	r = spool_reader_open(sp, "w", SPOOL_START_OLDEST, &cause);
	/* Times out with nothing. */
	ck_assert_int_eq(spool_reader_read(r, recs, 4, 20, &gap), 0);
	/* Wakes up for a record appended while it waits (bounded: 10 s). */
	l.sp = sp;
	l.delay_ms = 50;
	l.interrupt = NULL;
	pthread_create(&th, NULL, later_main, &l);
	ck_assert_int_eq(spool_reader_read(r, recs, 4, 10000, &gap), 1);
	check_rec(&recs[0], 1, 1);
	pthread_join(th, NULL);
	/* An interrupt ends an unbounded wait. */
	l.interrupt = r;
	pthread_create(&th, NULL, later_main, &l);
	ck_assert_int_eq(spool_reader_read(r, recs, 4, -1, &gap), 0);
	pthread_join(th, NULL);
	spool_reader_close(r);
	spool_close(sp);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/* Retention. */

START_TEST(test_retention_delivered)
{
	struct spool_params p;
	struct spool *sp;
	struct spool_reader *r;
	struct spool_record recs[64];
	struct spool_gap gap;
	struct spool_stats st;
	char *dir = tu_tmpdir(), *cause = NULL;
	uint64_t seqs[64];
	int got, i;

	params(&p, dir, 2048);
	sp = xopen(&p);
	r = spool_reader_open(sp, "a", SPOOL_START_OLDEST, &cause);
	append_n(sp, 1, 100, 1);
	spool_get_stats(sp, &st);
	ck_assert_uint_ge(st.segments, 5);
	/* Nothing acked yet: nothing goes. */
	spool_maintain(sp);
	ck_assert_uint_eq(count_segments(dir), st.segments);
	/* Half read and acked: the segments before it go. */
	ck_assert_uint_eq(read_upto(r, seqs, 50), 50);
	ck_assert_uint_eq(seqs[49], 50);
	spool_reader_ack(r, 50);
	ck_assert_int_eq(spool_reader_flush(r), 0);
	spool_get_stats(sp, &st);
	ck_assert_uint_gt(st.segments_deleted, 0);
	ck_assert_uint_eq(st.segments_forced, 0);
	ck_assert_uint_le(st.oldest_seq, 51);
	ck_assert_uint_gt(st.oldest_seq, 1);
	while ((got = spool_reader_read(r, recs, 64, 0, &gap)) > 0)
		for (i = 0; i < got; i++)
			spool_reader_ack(r, recs[i].seq);
	ck_assert_int_eq(gap.reason, SPOOL_GAP_NONE);
	spool_reader_close(r);
	/* All passed: only the active segment is left. */
	ck_assert_uint_eq(count_segments(dir), 1);
	spool_get_stats(sp, &st);
	ck_assert_uint_eq(st.segments, 1);
	spool_close(sp);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_retention_max_size)
{
	struct spool_params p;
	struct spool *sp;
	struct spool_reader *r, *live;
	struct spool_record recs[64];
	struct spool_gap gap;
	struct spool_stats st;
	struct spool_reader_stats rs;
	char *dir = tu_tmpdir(), *cause = NULL;
	uint64_t oldest;
	int got, i;

	params(&p, dir, 2048);
	p.max_size = 8192;
	sp = xopen(&p);
	r = spool_reader_open(sp, "lagging", SPOOL_START_OLDEST, &cause);
	live = spool_reader_open(sp, NULL, SPOOL_START_OLDEST, &cause);
	append_n(sp, 1, 200, 1);
	spool_get_stats(sp, &st);
	ck_assert_uint_le(st.bytes, 8192 + 2048);
	ck_assert_uint_gt(st.segments_forced, 0);
	oldest = st.oldest_seq;
	ck_assert_uint_gt(oldest, 1);

	/* The lagging reader is told what it lost, then goes on. */
	got = spool_reader_read(r, recs, 64, 0, &gap);
	ck_assert_int_eq(gap.reason, SPOOL_GAP_EXPIRED);
	ck_assert_uint_eq(gap.from, 1);
	ck_assert_uint_eq(gap.to, oldest - 1);
	ck_assert_int_gt(got, 0);
	ck_assert_uint_eq(recs[0].seq, oldest);
	for (i = 0; i < got; i++)
		check_rec(&recs[i], oldest + i, oldest + i);
	spool_reader_get_stats(r, &rs);
	ck_assert_uint_eq(rs.lost, oldest - 1);
	/* Only once. */
	got = spool_reader_read(r, recs, 64, 0, &gap);
	ck_assert_int_eq(gap.reason, SPOOL_GAP_NONE);
	/* The unnamed one too. */
	got = spool_reader_read(live, recs, 64, 0, &gap);
	ck_assert_int_eq(gap.reason, SPOOL_GAP_EXPIRED);
	ck_assert_uint_eq(gap.to, oldest - 1);
	spool_reader_close(live);
	spool_reader_close(r);
	spool_close(sp);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_retention_max_age)
{
	struct spool_params p;
	struct spool *sp;
	struct spool_reader *r;
	struct spool_record recs[64];
	struct spool_gap gap;
	struct spool_stats st;
	struct timespec old[2];
	char *dir = tu_tmpdir(), *cause = NULL, *path;
	uint64_t firsts[64], second;
	size_t nseg, k;
	DIR *d;
	struct dirent *de;

	params(&p, dir, 2048);
	p.max_age = 3600;
	sp = xopen(&p);
	r = spool_reader_open(sp, "r", SPOOL_START_OLDEST, &cause);
	append_n(sp, 1, 60, 1);
	spool_maintain(sp);
	spool_get_stats(sp, &st);
	nseg = st.segments;
	ck_assert_uint_ge(nseg, 3);
	ck_assert_uint_eq(st.segments_deleted, 0);

	/* Age the two oldest segments by two hours. */
	d = opendir(dir);
	k = 0;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "seg-", 4) == 0)
			firsts[k++] = strtoull(de->d_name + 4, NULL, 10);
	closedir(d);
	ck_assert_uint_eq(k, nseg);
	qsort(firsts, k, sizeof firsts[0],
	    (int (*)(const void *, const void *))
		strcmp); /* same width: byte order is numeric order */
	second = 0;
	for (k = 0; k < nseg; k++)
		if (firsts[k] > 1 && (second == 0 || firsts[k] < second))
			second = firsts[k];
	clock_gettime(CLOCK_REALTIME, &old[0]);
	old[0].tv_sec -= 7200;
	old[1] = old[0];
	path = seg_path(dir, 1);
	ck_assert_int_eq(utimensat(AT_FDCWD, path, old, 0), 0);
	free(path);
	path = seg_path(dir, second);
	ck_assert_int_eq(utimensat(AT_FDCWD, path, old, 0), 0);
	free(path);

	spool_maintain(sp);
	spool_get_stats(sp, &st);
	ck_assert_uint_eq(st.segments_deleted, 2);
	ck_assert_uint_eq(st.segments, nseg - 2);
	ck_assert_uint_eq(count_segments(dir), nseg - 2);
	ck_assert_int_gt(spool_reader_read(r, recs, 64, 0, &gap), 0);
	ck_assert_int_eq(gap.reason, SPOOL_GAP_EXPIRED);
	ck_assert_uint_eq(gap.from, 1);
	ck_assert_uint_eq(gap.to, st.oldest_seq - 1);
	ck_assert_uint_eq(recs[0].seq, st.oldest_seq);

	/* The active segment is never deleted, however old. */
	spool_reader_close(r);
	spool_close(sp);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_fault_hook)
{
	struct spool_params p;
	struct spool *sp;
	struct spool_reader *r;
	struct spool_entry e[20];
	struct spool_stats st;
	char *dir = tu_tmpdir(), *fault, *cause = NULL, *seg, *t;
	uint64_t seqs[64], seq;
	size_t nseg, n, i;
	off_t size;

	ck_assert_int_gt(asprintf(&fault, "%s/fault", dir), 0);
	setenv("CIMLISTEN_SPOOL_FAULT", fault, 1);
	params(&p, dir, 2048);
	p.fsync = _i == 0 ? SPOOL_FSYNC_NONE : SPOOL_FSYNC_ALWAYS;
	sp = xopen(&p);
	append_n(sp, 1, 5, 1);
	nseg = count_segments(dir);
	spool_get_stats(sp, &st);
	seg = seg_path(dir, st.oldest_seq);
	size = file_size(seg);

	tu_write_file(fault, "", 0);
	/* A batch big enough to need new segments: none of it remains. */
	t = tail_for(2);
	for (i = 0; i < 20; i++) {
		e[i].tail = t;
		e[i].tail_len = strlen(t);
		e[i].routes = routes_c;
		e[i].nroutes = 1;
	}
	ck_assert_int_eq(spool_append(sp, e, 20, &seq, &cause), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_ptr_nonnull(strstr(cause, "No space left"));
	free(cause);
	cause = NULL;
	ck_assert_int_eq(spool_append(sp, e, 1, &seq, &cause), -1);
	free(cause);
	cause = NULL;
	spool_get_stats(sp, &st);
	ck_assert_uint_eq(st.next_seq, 6);
	ck_assert_uint_eq(st.append_failures, 2);
	ck_assert_uint_eq(count_segments(dir), nseg);
	ck_assert_int_eq(file_size(seg), size);

	/* The condition clears: appends succeed, seqs go on from 6. */
	ck_assert_int_eq(unlink(fault), 0);
	ck_assert_int_eq(spool_append(sp, e, 20, &seq, &cause), 0);
	ck_assert_uint_eq(seq, 6);
	r = spool_reader_open(sp, NULL, SPOOL_START_OLDEST, &cause);
	n = read_all(r, seqs, 64, NULL, NULL);
	ck_assert_uint_eq(n, 25);
	for (i = 0; i < n; i++)
		ck_assert_uint_eq(seqs[i], i + 1);
	spool_reader_close(r);
	spool_close(sp);
	unsetenv("CIMLISTEN_SPOOL_FAULT");
	free(t);
	free(seg);
	free(fault);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/* The last byte of a file, or -1 if it is empty. */
static int
last_byte(const char *path)
{
	unsigned char c;
	off_t size = file_size(path);
	int fd;

	if (size == 0)
		return -1;
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &c, 1, size - 1), 1);
	close(fd);
	return c;
}

/*
 * Close sp; its segment seg must end with its last record's newline (no
 * preallocated zeros). Frees and removes the rest.
 */
static void
close_and_clean(struct spool *sp, char *seg, char *logpath, char *dir)
{
	spool_close(sp);
	ck_assert_int_eq(last_byte(seg), '\n');
	free(seg);
	unlink(logpath);
	free(logpath);
	tu_rmtree(dir);
	free(dir);
}

/*
 * Open the spool again with its log captured: no damage may be reported.
 * *logpath gets the log's file.
 */
static struct spool *
reopen_quiet(const struct spool_params *p, const char *dir, char **logpath)
{
	struct spool *sp;
	char *log;

	ck_assert_int_gt(asprintf(logpath, "%s.log", dir), 0);
	cap_begin(*logpath);
	sp = xopen(p);
	log = cap_end(*logpath);
	ck_assert_ptr_null(strstr(log, "torn"));
	ck_assert_ptr_null(strstr(log, "skipped"));
	free(log);
	return sp;
}

/* The spool holds exactly the seqs 1..n, readable. */
static void
read_check_all(struct spool *sp, uint64_t n)
{
	struct spool_reader *r;
	uint64_t *seqs = calloc(n + 1, sizeof *seqs);
	char *cause = NULL;
	size_t got, i;

	r = spool_reader_open(sp, NULL, SPOOL_START_OLDEST, &cause);
	ck_assert_ptr_nonnull(r);
	got = read_all(r, seqs, n + 1, NULL, NULL);
	ck_assert_uint_eq(got, n);
	for (i = 0; i < got; i++)
		ck_assert_uint_eq(seqs[i], i + 1);
	spool_reader_close(r);
	free(seqs);
}

/*
 * fsync=none writes the active segment through a mapping of a file
 * extended ahead of the records: a process that dies without spool_close
 * leaves zeros after the last record. The next open releases them without
 * calling them damage, and loses nothing. Sealed segments never keep them.
 * Loop 1: segments of 2048 bytes, so that many are sealed on the way.
 */
START_TEST(test_mapped_crash)
{
	struct spool_params p;
	struct spool *sp;
	struct spool_stats st;
	char *dir = tu_tmpdir(), *logpath, *seg;
	uint64_t last = 0, first;
	unsigned n = _i == 0 ? 50 : 200;
	DIR *d;
	struct dirent *de;
	pid_t pid;
	int status;

	params(&p, dir, _i == 0 ? 0 : 2048);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		sp = xopen(&p);
		append_n(sp, 1, n, 1);
		_exit(0); /* no spool_close: as if killed */
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* Every segment but the last ends with its last record's newline. */
	d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (sscanf(de->d_name, "seg-%" SCNu64 ".log", &first) == 1 &&
		    first > last)
			last = first;
	closedir(d);
	ck_assert_uint_gt(last, 0);
	d = opendir(dir);
	while ((de = readdir(d)) != NULL) {
		if (sscanf(de->d_name, "seg-%" SCNu64 ".log", &first) != 1)
			continue;
		seg = seg_path(dir, first);
		if (first == last)
			ck_assert_int_eq(last_byte(seg), 0);
		else
			ck_assert_int_eq(last_byte(seg), '\n');
		free(seg);
	}
	closedir(d);

	sp = reopen_quiet(&p, dir, &logpath);
	spool_get_stats(sp, &st);
	ck_assert_uint_eq(st.recovered_cut_bytes, 0);
	ck_assert_uint_eq(st.next_seq, n + 1);
	seg = seg_path(dir, last);
	ck_assert_int_eq(last_byte(seg), '\n');
	read_check_all(sp, n);
	/* And appends go on after them. */
	append_n(sp, n + 1, 5, n + 1);
	close_and_clean(sp, seg, logpath, dir);
}
END_TEST

/*
 * A fault while copying into the mapped segment (here: the file cut to
 * nothing behind the spool's back) is caught: the append still succeeds,
 * written with pwrite, a warning says so, and later appends go on.
 */
START_TEST(test_mapped_fault)
{
	struct spool_params p;
	struct spool *sp;
	struct spool_stats st;
	char *dir = tu_tmpdir(), *logpath, *log, *seg;

	params(&p, dir, 0);
	sp = xopen(&p);
	append_n(sp, 1, 3, 1);
	seg = seg_path(dir, 1);
	ck_assert_int_eq(truncate(seg, 0), 0);

	ck_assert_int_gt(asprintf(&logpath, "%s.log", dir), 0);
	cap_begin(logpath);
	append_n(sp, 4, 1, 4);
	log = cap_end(logpath);
	ck_assert_ptr_nonnull(
	    strstr(log, "a fault writing to the mapped segment"));
	free(log);
	append_n(sp, 5, 20, 5);
	spool_get_stats(sp, &st);
	ck_assert_uint_eq(st.append_failures, 0);
	ck_assert_uint_eq(st.next_seq, 25);
	ck_assert_int_gt(file_size(seg), 0);
	close_and_clean(sp, seg, logpath, dir);
}
END_TEST

/*
 * A file size limit of 3 MiB: the first 2 MiB the spool preallocates and
 * writes through the mapping; extending the file further fails (EFBIG),
 * so the spool falls back to pwrite, which fills the file to the limit and
 * then fails: those appends fail with EFBIG and consume no seq, and every
 * acknowledged record is there, intact, when the spool is opened again.
 */
START_TEST(test_mapped_fsize)
{
	struct spool_params p;
	struct spool *sp;
	struct spool_entry e;
	struct spool_stats st;
	struct rlimit rl, saved;
	char *dir = tu_tmpdir(), *logpath, *seg, *t, *cause = NULL;
	uint64_t seq, ok = 0, i;
	unsigned failures = 0, bad = 0;

	params(&p, dir, 0);
	sp = xopen(&p);
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &saved), 0);
	rl = saved;
	rl.rlim_cur = (rlim_t)3 << 20;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	/*
	 * No ck_assert until the limit is lifted: Check records each one in
	 * a file of its own, which the limit would cut.
	 */
	for (i = 1; failures < 2 && i < 200000; i++) {
		t = tail_for((unsigned)i);
		e.tail = t;
		e.tail_len = strlen(t);
		e.routes = routes_c;
		e.nroutes = 1;
		if (spool_append(sp, &e, 1, &seq, &cause) == 0) {
			if (failures > 0 || seq != ++ok)
				bad++;
		} else {
			if (errno != EFBIG ||
			    strstr(cause, "File too large") == NULL)
				bad++;
			free(cause);
			cause = NULL;
			failures++;
		}
		free(t);
	}
	setrlimit(RLIMIT_FSIZE, &saved);
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(failures, 2);
	spool_get_stats(sp, &st);
	ck_assert_uint_eq(st.append_failures, 2);
	ck_assert_uint_eq(st.next_seq, ok + 1);
	/* Past the preallocated 2 MiB: the pwrite fallback was used. */
	ck_assert_uint_gt(st.bytes, (uint64_t)2 << 20);
	spool_close(sp);

	sp = reopen_quiet(&p, dir, &logpath);
	spool_get_stats(sp, &st);
	ck_assert_uint_eq(st.next_seq, ok + 1);
	read_check_all(sp, ok);
	seg = seg_path(dir, 1);
	close_and_clean(sp, seg, logpath, dir);
}
END_TEST

static Suite *
spool_suite(void)
{
	Suite *s = suite_create("spool");
	TCase *tc;

	tc = tcase_create("format");
	tcase_add_test(tc, test_crc32c);
	tcase_add_test(tc, test_crc32c_soft);
	tcase_add_test(tc, test_roundtrip_segments);
	tcase_add_test(tc, test_batch_and_bad_entries);
	suite_add_tcase(s, tc);

	tc = tcase_create("recovery");
	tcase_add_test(tc, test_torn_cut);
	tcase_add_test(tc, test_torn_flip);
	tcase_add_test(tc, test_torn_garbage);
	tcase_add_test(tc, test_corrupt_middle);
	tcase_add_test(tc, test_corrupt_older_segment);
	suite_add_tcase(s, tc);

	tc = tcase_create("concurrency");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_concurrent_appenders, 0, 2);
	tcase_add_loop_test(tc, test_group_commit, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("readers");
	tcase_add_test(tc, test_two_readers);
	tcase_add_test(tc, test_cursor_crash);
	tcase_add_test(tc, test_blocking_read);
	suite_add_tcase(s, tc);

	tc = tcase_create("retention");
	tcase_add_test(tc, test_retention_delivered);
	tcase_add_test(tc, test_retention_max_size);
	tcase_add_test(tc, test_retention_max_age);
	suite_add_tcase(s, tc);

	tc = tcase_create("faults");
	tcase_add_loop_test(tc, test_fault_hook, 0, 2);
	tcase_add_loop_test(tc, test_mapped_crash, 0, 2);
	tcase_add_test(tc, test_mapped_fault);
	tcase_add_test(tc, test_mapped_fsize);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(spool_suite());
}
