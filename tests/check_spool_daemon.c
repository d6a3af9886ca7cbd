/*
 * check_spool_daemon.c: black-box tests of the delivery guarantee (DESIGN
 * section 7) on the real daemon: a 200 means the indication is in the spool
 * and reaches the file sink, across SIGKILL at a random point (duplicates
 * only after the persisted cursor), spool write failures (the
 * CIMLISTEN_SPOOL_FAULT hook: 503 + Retry-After, then recovery), a sink
 * that fails while another keeps receiving, and clean restarts (exactly
 * once).
 *
 * Every indication carries a unique IndicationIdentifier, so that each
 * line of the file can be traced back to the request that sent it. Every
 * wait is bounded; the random kill point is logged and the checks hold
 * whatever it is.
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <check.h>
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

static char *sample; /* the alert sample, loaded by main */

/* The alert sample with its IndicationIdentifier set to `id` (malloc'd). */
static char *
body_for(const char *id)
{
	const char *p;
	char *out;

	ck_assert_ptr_nonnull(p = strstr(sample, "ind-000042"));
	ck_assert_int_gt(asprintf(&out, "%.*s%s%s", (int)(p - sample), sample,
	    id, p + strlen("ind-000042")), 0);
	return out;
}

/* POST one indication with IndicationIdentifier `id`; the response. */
static struct tu_response *
post_id(unsigned port, const char *id)
{
	struct tu_response *r;
	char *body = body_for(id);

	r = tu_post(port, body, strlen(body));
	free(body);
	return r;
}

/* POST and expect 200. */
static void
post_ok(unsigned port, const char *id)
{
	struct tu_response *r = post_id(port, id);

	ck_assert_msg(r->status == 200, "%s: status %ld", id, r->status);
	tu_response_free(r);
}

/* One line of a sink file: its seq and IndicationIdentifier. */
struct rec {
	uint64_t seq;
	char *id;
};

/* The records of a JSON Lines file, in file order. */
static struct rec *
read_recs(const char *path, size_t *np)
{
	struct rec *recs;
	char **lines;
	json_object *o;
	size_t n, i;

	lines = tu_read_lines(path, &n);
	recs = calloc(n + 1, sizeof *recs);
	ck_assert_ptr_nonnull(recs);
	for (i = 0; i < n; i++) {
		o = tu_json(lines[i]);
		recs[i].seq = json_object_get_uint64(tu_jget(o, "seq"));
		recs[i].id = strdup(json_object_get_string(tu_jget(o,
		    "properties.IndicationIdentifier.value")));
		json_object_put(o);
	}
	tu_free_lines(lines);
	*np = n;
	return recs;
}

static void
free_recs(struct rec *recs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(recs[i].id);
	free(recs);
}

/* Index of the first record with `id`, or -1. */
static long
find_id(const struct rec *recs, size_t n, const char *id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(recs[i].id, id) == 0)
			return (long)i;
	return -1;
}

/* The next seq in a persisted cursor file; 0 if there is none. */
static uint64_t
read_cursor(const char *dir, const char *name)
{
	unsigned long long next = 0;
	char *path, *text;

	ck_assert_int_gt(asprintf(&path, "%s/spool/cursors/%s", dir, name), 0);
	text = tu_read_file(path, NULL);
	if (text != NULL)
		ck_assert_int_eq(sscanf(text, "cimlisten-cursor 1 %llu", &next),
		    1);
	free(text);
	free(path);
	return next;
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ---- SIGKILL at a random point under concurrent load ---- */

enum { KILL_THREADS = 8, KILL_EACH = 625, KILL_TOTAL = 5000 };

struct killer_load {
	unsigned port;
	unsigned thread;
	atomic_int *total_ok;
	bool acked[KILL_EACH]; /* got a 200 */
};

static size_t
discard(char *p, size_t s, size_t n, void *a)
{
	(void)p;
	(void)a;
	return s * n;
}

/* Send KILL_EACH distinct indications over one keep-alive connection. */
static void *
kill_load(void *arg)
{
	struct killer_load *l = arg;
	struct curl_slist *hl = NULL;
	char url[128], id[64], *body;
	long status;
	CURL *c;
	int i;

	c = curl_easy_init();
	snprintf(url, sizeof url, "http://127.0.0.1:%u/", l->port);
	for (i = 0; tu_sfcb_headers[i] != NULL; i++)
		hl = curl_slist_append(hl, tu_sfcb_headers[i]);
	hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	for (i = 0; i < KILL_EACH; i++) {
		snprintf(id, sizeof id, "k-%u-%d", l->thread, i);
		body = body_for(id);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
		if (curl_easy_perform(c) == CURLE_OK) {
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
			if (status == 200) {
				l->acked[i] = true;
				atomic_fetch_add(l->total_ok, 1);
			}
		}
		free(body);
	}
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	return NULL;
}

/* Does the file hold every acknowledged identifier? */
static bool
all_acked_in(const struct killer_load *l, const struct rec *recs, size_t n)
{
	bool *seen;
	unsigned t;
	int i;
	size_t k;
	bool all = true;

	seen = calloc(KILL_TOTAL, sizeof *seen);
	ck_assert_ptr_nonnull(seen);
	for (k = 0; k < n; k++)
		if (sscanf(recs[k].id, "k-%u-%d", &t, &i) == 2 &&
		    t < KILL_THREADS && i >= 0 && i < KILL_EACH)
			seen[t * KILL_EACH + (unsigned)i] = true;
	for (t = 0; t < KILL_THREADS && all; t++)
		for (i = 0; i < KILL_EACH; i++)
			if (l[t].acked[i] && !seen[t * KILL_EACH + (unsigned)i]) {
				all = false;
				break;
			}
	free(seen);
	return all;
}

/*
 * 5,000 indications from 8 connections; SIGKILL after a random number
 * (500..4000) of 200s; restart on the same spool. Every 200 reaches the
 * file, seqs are unique per record and continue after the restart, and a
 * line appears twice only for a record past the cursor persisted before the
 * kill, with the same seq both times.
 */
START_TEST(t_kill9_random)
{
	static struct killer_load l[KILL_THREADS];
	struct tu_daemon *d = tu_daemon_start(NULL, NULL);
	pthread_t th[KILL_THREADS];
	atomic_int total = 0;
	struct rec *recs = NULL;
	uint64_t cursor, max_before = 0, after_seq;
	size_t n = 0, i, j;
	long deadline, pos;
	int kill_at, ok = 0;
	unsigned t;
	bool done = false;

	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	kill_at = 500 + rand() % 3501;
	fprintf(stderr, "t_kill9_random: SIGKILL after %d acknowledged\n",
	    kill_at);
	for (t = 0; t < KILL_THREADS; t++) {
		memset(&l[t], 0, sizeof l[t]);
		l[t].port = d->port;
		l[t].thread = t;
		l[t].total_ok = &total;
		pthread_create(&th[t], NULL, kill_load, &l[t]);
	}
	deadline = now_ms() + 120000;
	while (atomic_load(&total) < kill_at && now_ms() < deadline)
		usleep(200);
	ck_assert_int_ge(atomic_load(&total), kill_at);
	kill(d->pid, SIGKILL);
	ck_assert(tu_daemon_wait(d, 10000));
	/* The loaders now fail fast (connection refused) and finish. */
	for (t = 0; t < KILL_THREADS; t++)
		pthread_join(th[t], NULL);
	ok = atomic_load(&total);
	fprintf(stderr, "t_kill9_random: %d acknowledged in all\n", ok);
	cursor = read_cursor(d->dir, "out");

	tu_daemon_restart(d);
	deadline = now_ms() + 60000;
	while (!done && now_ms() < deadline) {
		recs = read_recs(d->out, &n);
		done = all_acked_in(l, recs, n);
		free_recs(recs, n);
		if (!done)
			usleep(50000);
	}
	ck_assert_msg(done, "acknowledged indications missing after restart");

	/* New records get seqs past everything before the kill. */
	post_ok(d->port, "after-restart");
	deadline = now_ms() + 30000;
	for (;;) {
		recs = read_recs(d->out, &n);
		if ((pos = find_id(recs, n, "after-restart")) >= 0 ||
		    now_ms() > deadline)
			break;
		free_recs(recs, n);
		usleep(20000);
	}
	ck_assert_int_ge(pos, 0);
	after_seq = recs[pos].seq;
	for (i = 0; i < n; i++)
		if (strncmp(recs[i].id, "k-", 2) == 0 &&
		    recs[i].seq > max_before)
			max_before = recs[i].seq;
	ck_assert_msg(after_seq > max_before, "seq %llu reused after restart",
	    (unsigned long long)after_seq);
	for (i = 0; i < n; i++) {
		for (j = i + 1; j < n; j++) {
			if (recs[i].seq == recs[j].seq)
				ck_assert_msg(strcmp(recs[i].id, recs[j].id) == 0,
				    "seq %llu used for %s and %s",
				    (unsigned long long)recs[i].seq, recs[i].id,
				    recs[j].id);
			if (strcmp(recs[i].id, recs[j].id) != 0)
				continue;
			ck_assert_msg(recs[i].seq == recs[j].seq,
			    "%s delivered twice with seqs %llu and %llu",
			    recs[i].id, (unsigned long long)recs[i].seq,
			    (unsigned long long)recs[j].seq);
			ck_assert_msg(recs[i].seq >= cursor,
			    "%s (seq %llu) delivered twice though the cursor "
			    "was at %llu", recs[i].id,
			    (unsigned long long)recs[i].seq,
			    (unsigned long long)cursor);
		}
	}
	free_recs(recs, n);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/* ---- the spool cannot be written ---- */

/*
 * With the fault hook armed every append fails as on a full disk: the
 * listener answers 503 with Retry-After and CIMErrorDetails, keeps nothing,
 * and takes indications again once the condition clears.
 */
START_TEST(t_spool_fault)
{
	const char *env[2];
	struct tu_daemon *d;
	struct tu_response *r;
	struct rec *recs;
	char *fdir, *fault, *envvar, *v, id[32];
	size_t n, i;
	int k;

	fdir = tu_tmpdir();
	ck_assert_int_gt(asprintf(&fault, "%s/fault", fdir), 0);
	ck_assert_int_gt(asprintf(&envvar, "CIMLISTEN_SPOOL_FAULT=%s", fault),
	    0);
	env[0] = envvar;
	env[1] = NULL;
	d = tu_daemon_start_env(NULL, NULL, env);

	for (k = 0; k < 5; k++) {
		snprintf(id, sizeof id, "before-%d", k);
		post_ok(d->port, id);
	}
	tu_write_file(fault, "", 0);
	for (k = 0; k < 5; k++) {
		snprintf(id, sizeof id, "refused-%d", k);
		r = post_id(d->port, id);
		ck_assert_int_eq(r->status, 503);
		ck_assert_ptr_nonnull(v = tu_header(r, "Retry-After"));
		ck_assert_int_gt(atoi(v), 0);
		free(v);
		ck_assert_ptr_nonnull(v = tu_header(r, "CIMErrorDetails"));
		ck_assert_msg(strstr(v, "spool") != NULL, "details: %s", v);
		free(v);
		tu_response_free(r);
	}
	ck_assert_int_eq(unlink(fault), 0);
	for (k = 0; k < 5; k++) {
		snprintf(id, sizeof id, "after-%d", k);
		post_ok(d->port, id);
	}
	ck_assert(tu_wait_lines(d->out, 10, 30000));
	ck_assert(tu_daemon_log_has(d, "refusing indications (503)"));
	recs = read_recs(d->out, &n);
	ck_assert_uint_eq(n, 10);
	for (i = 0; i < n; i++) {
		ck_assert_msg(strncmp(recs[i].id, "refused-", 8) != 0,
		    "%s was answered 503 but delivered", recs[i].id);
		if (i > 0)
			ck_assert_uint_gt(recs[i].seq, recs[i - 1].seq);
	}
	for (k = 0; k < 5; k++) {
		snprintf(id, sizeof id, "before-%d", k);
		ck_assert_int_ge(find_id(recs, n, id), 0);
		snprintf(id, sizeof id, "after-%d", k);
		ck_assert_int_ge(find_id(recs, n, id), 0);
	}
	/* A failed append consumes no seq. */
	ck_assert_uint_eq(recs[n - 1].seq - recs[0].seq, n - 1);
	free_recs(recs, n);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
	tu_rmtree(fdir);
	free(fdir);
	free(fault);
	free(envvar);
}
END_TEST

/* ---- one sink fails, the other carries on ---- */

/*
 * Sink "out" writes into a symlink to /dev/full (ENOSPC) while sink
 * "second" keeps receiving; once the path is a regular file again and the
 * sink reopens it (SIGUSR1), it catches up: nothing lost, in order.
 */
START_TEST(t_sink_enospc)
{
	enum { N1 = 20, N2 = 50, N3 = 20 };
	struct tu_daemon *d;
	struct rec *a, *b, *c;
	char *second, *rotated, id[32];
	size_t na, nb, nc, i;
	int k;

	if (access("/dev/full", W_OK) != 0)
		return;
	d = tu_daemon_start(NULL, "[sink second]\ntype = file\n"
	    "path = second.jsonl\n[filter both]\nsinks = second\n");
	ck_assert_int_gt(asprintf(&second, "%s/second.jsonl", d->dir), 0);
	ck_assert_int_gt(asprintf(&rotated, "%s.1", d->out), 0);
	for (k = 0; k < N1; k++) {
		snprintf(id, sizeof id, "p1-%d", k);
		post_ok(d->port, id);
	}
	ck_assert(tu_wait_lines(d->out, N1, 30000));
	/* The path now leads to a full disk. */
	ck_assert_int_eq(rename(d->out, rotated), 0);
	ck_assert_int_eq(symlink("/dev/full", d->out), 0);
	kill(d->pid, SIGUSR1);
	/* The signal is asynchronous: post once the sink has reopened. */
	for (i = 0; i < 1000 && !tu_daemon_log_has(d, "sink out: reopened");
	    i++)
		usleep(10000);
	ck_assert(tu_daemon_log_has(d, "sink out: reopened"));
	ck_assert(tu_wait_lines(second, N1, 30000));
	for (k = 0; k < N2; k++) {
		snprintf(id, sizeof id, "p2-%d", k);
		post_ok(d->port, id);
	}
	/* The other sink is not held up. */
	ck_assert(tu_wait_lines(second, N1 + N2, 30000));
	for (i = 0; i < 200 && !tu_daemon_log_has(d, "No space left"); i++)
		usleep(50000);
	ck_assert(tu_daemon_log_has(d, "sink out: write"));
	/* Writable again. */
	ck_assert_int_eq(unlink(d->out), 0);
	tu_write_file(d->out, "", 0);
	kill(d->pid, SIGUSR1);
	for (k = 0; k < N3; k++) {
		snprintf(id, sizeof id, "p3-%d", k);
		post_ok(d->port, id);
	}
	ck_assert(tu_wait_lines(d->out, N2 + N3, 30000));
	ck_assert(tu_wait_lines(second, N1 + N2 + N3, 30000));

	a = read_recs(rotated, &na);
	b = read_recs(d->out, &nb);
	c = read_recs(second, &nc);
	ck_assert_uint_eq(na, N1);
	ck_assert_uint_eq(nb, N2 + N3);
	ck_assert_uint_eq(nc, N1 + N2 + N3);
	/* out (both files) holds exactly what second holds, in order. */
	for (i = 0; i < nc; i++) {
		const struct rec *o = i < na ? &a[i] : &b[i - na];

		ck_assert_uint_eq(o->seq, c[i].seq);
		ck_assert_str_eq(o->id, c[i].id);
		if (i > 0)
			ck_assert_uint_gt(c[i].seq, c[i - 1].seq);
	}
	ck_assert(tu_daemon_log_has(d, "sink out recovered"));
	free_recs(a, na);
	free_recs(b, nb);
	free_recs(c, nc);
	free(second);
	free(rotated);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/* ---- clean shutdown and restart ---- */

/*
 * SIGTERM, then a start on the same spool: what was delivered is not
 * delivered again, what comes next gets higher seqs.
 */
START_TEST(t_clean_restart)
{
	enum { N = 200, M = 100 };
	struct tu_daemon *d = tu_daemon_start(NULL, NULL);
	struct rec *recs;
	char id[32];
	size_t n, i, j;
	int k;

	for (k = 0; k < N; k++) {
		snprintf(id, sizeof id, "r1-%d", k);
		post_ok(d->port, id);
	}
	kill(d->pid, SIGTERM);
	ck_assert(tu_daemon_wait(d, 30000));
	ck_assert_int_eq(d->status, 0);
	recs = read_recs(d->out, &n);
	ck_assert_uint_eq(n, N); /* drained before exiting */
	free_recs(recs, n);
	ck_assert_uint_eq(read_cursor(d->dir, "out"), N + 1);

	tu_daemon_restart(d);
	for (k = 0; k < M; k++) {
		snprintf(id, sizeof id, "r2-%d", k);
		post_ok(d->port, id);
	}
	/*
	 * A wrongful redelivery would come first (sinks deliver in seq order
	 * from their cursor), so the count below catches it.
	 */
	ck_assert(tu_wait_lines(d->out, N + M, 30000));
	recs = read_recs(d->out, &n);
	ck_assert_uint_eq(n, N + M);
	for (i = 0; i < n; i++) {
		ck_assert_uint_eq(recs[i].seq, i + 1);
		for (j = 0; j < i; j++)
			ck_assert_str_ne(recs[i].id, recs[j].id);
	}
	free_recs(recs, n);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/* POST null-and-empty.xml under a new MESSAGE ID; expect 200 echoing it. */
static void
post_seq_sample(unsigned port, const char *msgid)
{
	struct tu_response *r;
	char *body, *b, *to, want[64];
	const char *p;
	size_t len;

	body = tu_sample("null-and-empty.xml", &len);
	p = strstr(body, "MESSAGE ID=\"7\"");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_gt(asprintf(&to, "MESSAGE ID=\"%s\"", msgid), 0);
	ck_assert_int_gt(asprintf(&b, "%.*s%s%s", (int)(p - body), body, to,
	    p + strlen("MESSAGE ID=\"7\"")), 0);
	r = tu_post(port, b, strlen(b));
	ck_assert_int_eq(r->status, 200);
	snprintf(want, sizeof want, "<MESSAGE ID=\"%s\"", msgid);
	ck_assert_msg(strstr(r->body, want) != NULL, "%s", r->body);
	tu_response_free(r);
	free(to);
	free(b);
	free(body);
}

/*
 * DSP1054: the same indication (SequenceContext/SequenceNumber) sent three
 * times with new MESSAGE IDs is acknowledged each time and delivered once;
 * the tracker remembers it across a restart (it is rebuilt from the spool).
 */
START_TEST(t_dsp1054_duplicates)
{
	struct tu_daemon *d = tu_daemon_start(NULL, NULL);
	struct rec *recs;
	size_t n;

	post_seq_sample(d->port, "1001");
	post_seq_sample(d->port, "1002");
	post_seq_sample(d->port, "1"); /* SFCB restarts its IDs at 1 */
	/* A later, different indication: once it is out, so is all before. */
	post_ok(d->port, "after-dups");
	ck_assert(tu_wait_lines(d->out, 2, 10000));
	recs = read_recs(d->out, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(recs[1].id, "after-dups");
	free_recs(recs, n);
	kill(d->pid, SIGTERM);
	ck_assert(tu_daemon_wait(d, 30000));
	ck_assert_int_eq(d->status, 0);
	ck_assert_msg(tu_daemon_log_has(d, "2 duplicates not kept again"),
	    "duplicate count missing from the totals line");

	tu_daemon_restart(d);
	post_seq_sample(d->port, "1003");
	post_ok(d->port, "after-restart");
	ck_assert(tu_wait_lines(d->out, 3, 10000));
	recs = read_recs(d->out, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(recs[2].id, "after-restart");
	free_recs(recs, n);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

static Suite *
spool_daemon_suite(void)
{
	Suite *s = suite_create("spool_daemon");
	TCase *tc;

	tc = tcase_create("guarantee");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, t_kill9_random);
	tcase_add_test(tc, t_spool_fault);
	tcase_add_test(tc, t_sink_enospc);
	tcase_add_test(tc, t_clean_restart);
	tcase_add_test(tc, t_dsp1054_duplicates);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	FILE *f;
	int rc;

	curl_global_init(CURL_GLOBAL_ALL);
	/* Read here, outside any test (Check's asserts need one). */
	if ((f = fopen(SRCDIR "/tests/data/samples/alert-indication.xml",
	    "r")) == NULL || (sample = calloc(1, 65536)) == NULL ||
	    fread(sample, 1, 65535, f) == 0)
		return 1;
	fclose(f);
	rc = tu_run(spool_daemon_suite());
	free(sample);
	curl_global_cleanup();
	return rc;
}
