/*
 * spool_bench.c: what the spool costs before the 200. Sixteen threads
 * append records (the alert sample rendered as a record tail, as dispatch
 * does) to a spool in a temp dir for a fixed time with fsync = none, batch
 * and always, and the same lines go through two baselines in the same run:
 * plain write(2) to one file under one mutex, and write + fdatasync per
 * record under that mutex (what a spool without group commit would do).
 * Prints appends/s and records per fsync for each, and PASS when batch
 * commits at least 8 records per fsync at 16 threads (issue 4).
 *
 * Usage: spool_bench [SAMPLE.xml [SECONDS [DIR]]]; DIR (default $TMPDIR or
 * /tmp) should be on the disk the spool would use.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cimxml.h"
#include "record.h"
#include "spool.h"

#ifndef SRCDIR
#define SRCDIR "."
#endif

#define THREADS 16
#define TARGET_PER_FSYNC 8.0

static const char *tail;
static size_t tail_len;
static char *line;            /* `{"v":1,"seq":1` + tail, for the baselines */
static size_t line_len;
static double seconds = 3;
static atomic_bool running;

static pthread_mutex_t file_lock = PTHREAD_MUTEX_INITIALIZER;
static int file_fd;
static bool file_sync;
static atomic_ullong file_syncs;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *
read_file(const char *path, size_t *lenp)
{
	FILE *f;
	char *data;
	long n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (data = malloc((size_t)n + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	if (fread(data, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(data);
		return NULL;
	}
	fclose(f);
	data[n] = '\0';
	*lenp = (size_t)n;
	return data;
}

/* One appender: single-record appends until told to stop. */
static void *
spool_worker(void *arg)
{
	struct spool *sp = arg;
	static const char *const routes[] = { "alerts" };
	struct spool_entry e = { NULL, 0, routes, 1 };
	unsigned long long n = 0;
	uint64_t seq;
	char *cause = NULL;

	e.tail = tail;
	e.tail_len = tail_len;
	while (atomic_load_explicit(&running, memory_order_relaxed)) {
		if (spool_append(sp, &e, 1, &seq, &cause) != 0) {
			fprintf(stderr, "spool_append: %s\n", cause);
			exit(1);
		}
		n++;
	}
	return (void *)(uintptr_t)n;
}

/* One writer of the baselines: write (+ fdatasync) under the mutex. */
static void *
file_worker(void *arg)
{
	unsigned long long n = 0;

	(void)arg;
	while (atomic_load_explicit(&running, memory_order_relaxed)) {
		pthread_mutex_lock(&file_lock);
		if (write(file_fd, line, line_len) != (ssize_t)line_len) {
			perror("write");
			exit(1);
		}
		if (file_sync) {
			if (fdatasync(file_fd) != 0) {
				perror("fdatasync");
				exit(1);
			}
			atomic_fetch_add(&file_syncs, 1);
		}
		pthread_mutex_unlock(&file_lock);
		n++;
	}
	return (void *)(uintptr_t)n;
}

/* Run THREADS of fn(arg) for `seconds`; appends per second. */
static double
run(void *(*fn)(void *), void *arg, unsigned long long *total)
{
	pthread_t th[THREADS];
	void *rv;
	double t0, dt;
	int i;

	*total = 0;
	atomic_store(&running, true);
	t0 = now_s();
	for (i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, fn, arg);
	usleep((useconds_t)(seconds * 1e6));
	atomic_store(&running, false);
	for (i = 0; i < THREADS; i++) {
		pthread_join(th[i], &rv);
		*total += (unsigned long long)(uintptr_t)rv;
	}
	dt = now_s() - t0;
	return (double)*total / dt;
}

/* Remove a spool directory made by the bench (segments, cursors, lock). */
static void
rm_spool(const char *dir)
{
	char cmd[4200];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

int
main(int argc, char **argv)
{
	const char *sample = argc > 1 ? argv[1] :
	    SRCDIR "/tests/data/samples/alert-indication.xml";
	const char *base = argc > 3 ? argv[3] :
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
	static const enum spool_fsync modes[] = { SPOOL_FSYNC_NONE,
		SPOOL_FSYNC_BATCH, SPOOL_FSYNC_ALWAYS };
	struct record_source src = { "192.0.2.10", 40000, false, NULL, "/" };
	struct cimxml_message *m = NULL;
	struct spool_params p;
	struct spool_stats st;
	struct spool *sp;
	struct record rec;
	struct buf b = BUF_INIT;
	char dir[4096], path[4200], *body, *cause = NULL;
	unsigned long long total;
	double rate, per_sync = 0, batch_per_sync = 0;
	size_t len, i;
	int rc = 0;

	if (argc > 2)
		seconds = atof(argv[2]);
	if ((body = read_file(sample, &len)) == NULL) {
		fprintf(stderr, "cannot read %s\n", sample);
		return 2;
	}
	if (cimxml_parse(body, len, NULL, &m, NULL) != CIMXML_OK) {
		fprintf(stderr, "cannot parse %s\n", sample);
		return 2;
	}
	memset(&rec, 0, sizeof rec);
	clock_gettime(CLOCK_REALTIME, &rec.time);
	rec.source = &src;
	rec.message_id = m->id;
	rec.inst = m->exports[0].indication;
	record_json_tail(&rec, &b);
	tail = b.data;
	tail_len = b.len;
	line_len = strlen("{\"v\":1,\"seq\":1") + tail_len;
	line = malloc(line_len);
	memcpy(line, "{\"v\":1,\"seq\":1", line_len - tail_len);
	memcpy(line + line_len - tail_len, tail, tail_len);

	printf("spool_bench: %d threads, %zu-byte lines, %.1f s per run, "
	    "in %s\n\n", THREADS, line_len, seconds, base);
	printf("%-30s %12s %14s\n", "", "appends/s", "records/fsync");

	snprintf(dir, sizeof dir, "%s/spool_bench.XXXXXX", base);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(path, sizeof path, "%s/baseline", dir);

	/* Baselines: one file, one mutex. */
	for (i = 0; i < 2; i++) {
		if ((file_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC |
		    O_APPEND, 0600)) == -1) {
			perror(path);
			return 2;
		}
		file_sync = i == 1;
		atomic_store(&file_syncs, 0);
		rate = run(file_worker, NULL, &total);
		printf("%-30s %12.0f %14s\n", file_sync ?
		    "write+fdatasync per record" : "write(2) under a mutex",
		    rate, file_sync ? "1.0" : "-");
		close(file_fd);
		unlink(path);
	}

	for (i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		snprintf(path, sizeof path, "%s/spool-%s", dir,
		    spool_fsync_name(modes[i]));
		memset(&p, 0, sizeof p);
		p.dir = path;
		p.fsync = modes[i];
		if ((sp = spool_open(&p, &cause)) == NULL) {
			fprintf(stderr, "spool_open: %s\n", cause);
			return 2;
		}
		rate = run(spool_worker, sp, &total);
		spool_get_stats(sp, &st);
		spool_close(sp);
		rm_spool(path);
		if (st.syncs > 0)
			per_sync = (double)st.synced_records / (double)st.syncs;
		if (modes[i] == SPOOL_FSYNC_BATCH)
			batch_per_sync = per_sync;
		if (modes[i] == SPOOL_FSYNC_NONE)
			printf("%-30s %12.0f %14s\n", "spool, fsync = none", rate,
			    "-");
		else
			printf("spool, fsync = %-15s %12.0f %14.1f\n",
			    spool_fsync_name(modes[i]), rate, per_sync);
	}
	rm_spool(dir);

	printf("\nbatch: %.1f records per fsync at %d threads (target >= %.0f): "
	    "%s\n", batch_per_sync, THREADS, TARGET_PER_FSYNC,
	    batch_per_sync >= TARGET_PER_FSYNC ? "PASS" : "FAIL");
	if (batch_per_sync < TARGET_PER_FSYNC)
		rc = 1;
	cimxml_message_free(m);
	buf_free(&b);
	free(line);
	free(body);
	return rc;
}
