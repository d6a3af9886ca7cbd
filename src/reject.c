/*
 * reject.c: the rejected-request store. Files are named
 * reject-<UTC time>-<counter>.txt so that name order is age order; each is
 * written under a temporary name and renamed, so a reader never sees half
 * a file. The names kept are remembered in a ring (filled from the
 * directory at open), and the oldest is unlinked when a new one would make
 * more than reject_keep.
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/uio.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "reject.h"
#include "xmalloc.h"

struct reject_store {
	pthread_mutex_t lock;
	char *dir;
	unsigned keep;
	char **names;           /* ring of kept names, oldest at head */
	size_t head, n;
	uint64_t counter;
	uint64_t saved;
	struct log_ratelimit rl;
};

static const struct log_ratelimit rl_init = LOG_RATELIMIT_INIT(5, 60);

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Remember a name; the oldest beyond keep is removed. Lock held. */
static void
remember(struct reject_store *rs, char *name)
{
	char *old, *path;

	if (rs->n == rs->keep) {
		old = rs->names[rs->head];
		xasprintf(&path, "%s/%s", rs->dir, old);
		if (unlink(path) == -1 && errno != ENOENT)
			log_limited(&rs->rl, LOG_WARNING, "reject_dir: unlink "
			    "%s: %s", path, strerror(errno));
		free(path);
		free(old);
		rs->head = (rs->head + 1) % rs->keep;
		rs->n--;
	}
	rs->names[(rs->head + rs->n) % rs->keep] = name;
	rs->n++;
}

struct reject_store *
reject_open(const char *dir, unsigned keep, char **cause)
{
	struct reject_store *rs;
	struct dirent *de;
	char **found = NULL;
	size_t nfound = 0, i;
	DIR *d;

	if (mkdir(dir, 0750) == -1 && errno != EEXIST) {
		xasprintf(cause, "reject_dir %s: %s", dir, strerror(errno));
		return NULL;
	}
	if ((d = opendir(dir)) == NULL) {
		xasprintf(cause, "reject_dir %s: %s", dir, strerror(errno));
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "reject-", 7) != 0 ||
		    strlen(de->d_name) < 12 ||
		    strcmp(de->d_name + strlen(de->d_name) - 4, ".txt") != 0)
			continue;
		found = xreallocarray(found, nfound + 1, sizeof *found);
		found[nfound++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (nfound > 0)
		qsort(found, nfound, sizeof *found, name_cmp);
	rs = xcalloc(1, sizeof *rs);
	pthread_mutex_init(&rs->lock, NULL);
	rs->dir = xstrdup(dir);
	rs->keep = keep > 0 ? keep : 1;
	rs->names = xcalloc(rs->keep, sizeof *rs->names);
	rs->rl = rl_init;
	for (i = 0; i < nfound; i++)
		remember(rs, found[i]);
	free(found);
	return rs;
}

void
reject_close(struct reject_store *rs)
{
	size_t i;

	if (rs == NULL)
		return;
	for (i = 0; i < rs->n; i++)
		free(rs->names[(rs->head + i) % rs->keep]);
	free(rs->names);
	free(rs->dir);
	pthread_mutex_destroy(&rs->lock);
	free(rs);
}

uint64_t
reject_count(struct reject_store *rs)
{
	uint64_t n;

	pthread_mutex_lock(&rs->lock);
	n = rs->saved;
	pthread_mutex_unlock(&rs->lock);
	return n;
}

void
reject_save(struct reject_store *rs, const struct reject_info *ri)
{
	struct buf hdr = BUF_INIT;
	struct timespec now;
	struct tm tm;
	char stamp[32], when[32], *name, *tmp, *path;
	struct iovec iov[3];
	ssize_t want, n;
	uint64_t id;
	bool ok;
	int fd;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
	pthread_mutex_lock(&rs->lock);
	id = ++rs->counter;
	pthread_mutex_unlock(&rs->lock);
	xasprintf(&name, "reject-%s.%06ldZ-%06llu.txt", stamp,
	    now.tv_nsec / 1000, (unsigned long long)(id % 1000000));
	xasprintf(&tmp, "%s/.tmp-%s", rs->dir, name);
	xasprintf(&path, "%s/%s", rs->dir, name);

	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	buf_printf(&hdr, "time: %s.%06ldZ\nfrom: %s port %u\nstatus: %d\n"
	    "cimerror: %s\nreason: %s\nbody-bytes: %llu (%zu kept)\n\n",
	    when, now.tv_nsec / 1000, ri->addr, ri->port, ri->status,
	    ri->cimerror != NULL ? ri->cimerror : "-",
	    ri->reason != NULL ? ri->reason : "",
	    (unsigned long long)ri->body_total, ri->body_len);
	iov[0].iov_base = hdr.data;
	iov[0].iov_len = hdr.len;
	iov[1].iov_base = (void *)ri->head;
	iov[1].iov_len = ri->head_len;
	iov[2].iov_base = (void *)ri->body;
	iov[2].iov_len = ri->body_len;
	want = (ssize_t)(hdr.len + ri->head_len + ri->body_len);
	errno = 0;
	ok = (fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0640)) != -1;
	if (ok) {
		n = writev(fd, iov, 3);
		ok = n == want;
		if (close(fd) == -1)
			ok = false;
		ok = ok && rename(tmp, path) == 0;
		if (!ok)
			unlink(tmp);
	}
	if (!ok) {
		log_limited(&rs->rl, LOG_WARNING, "reject_dir: cannot keep "
		    "%s: %s", name, errno != 0 ? strerror(errno) :
		    "short write");
		free(name);
	} else {
		pthread_mutex_lock(&rs->lock);
		rs->saved++;
		remember(rs, name);
		pthread_mutex_unlock(&rs->lock);
	}
	buf_free(&hdr);
	free(tmp);
	free(path);
}
