/*
 * sink_file.c: `type = file` sinks, one line per record appended to a file
 * (JSON Lines for format = json).
 *
 * The file is opened O_APPEND, so several writers and a truncating
 * logrotate (copytruncate) keep whole lines at the end. A file we create
 * gets exactly the configured mode, whatever the umask. A batch goes out
 * with writev; a short write (disk full, file size limit) leaves the rest
 * of a line pending, and the next delivery finishes that line (known by
 * its seq: the retry comes back from the spool with the same seq) before
 * anything else, so the file never holds half a line followed by another.
 * Reopen (SIGUSR1 after logrotate renamed the file) opens the path anew
 * and only then closes the old descriptor, so a failed reopen keeps
 * writing where it did.
 */
#include "autoconf.h"


#include <sys/types.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sink.h"
#include "xmalloc.h"

#ifndef IOV_MAX
#define IOV_MAX 1024
#endif
#define FILE_IOV (IOV_MAX < 1024 ? IOV_MAX : 1024)

struct file_sink {
	int fd;
	/* A line cut short by the last write: its seq and bytes out. */
	bool partial;
	uint64_t partial_seq;
	size_t partial_off;
};

/*
 * Open the sink's path for appending; a file created here gets the mode
 * exactly. Returns the descriptor, or -1 with *cause.
 */
static int
file_open_path(const struct sink_conf *conf, char **cause)
{
	int fd, flags, tries;
	const int base = O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK;

	if (conf->path == NULL || *conf->path == '\0') {
		*cause = xstrdup("no path");
		return -1;
	}
	for (tries = 0; tries < 10; tries++) {
		/* O_NONBLOCK: a FIFO without reader fails, not hangs. */
		fd = open(conf->path, base | O_CREAT | O_EXCL, conf->mode);
		if (fd != -1) {
			if (fchmod(fd, conf->mode) != 0) {
				xasprintf(cause, "fchmod %s: %s", conf->path,
				    strerror(errno));
				close(fd);
				return -1;
			}
			break;
		}
		if (errno != EEXIST)
			goto fail;
		if ((fd = open(conf->path, base)) != -1)
			break;
		if (errno != ENOENT) /* ENOENT: removed meanwhile, again */
			goto fail;
	}
	if (fd == -1)
		goto fail;
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == -1) {
		xasprintf(cause, "fcntl %s: %s", conf->path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;

fail:
	xasprintf(cause, "open %s: %s", conf->path, strerror(errno));
	return -1;
}

static int
file_open(struct sink *s, char **cause)
{
	struct file_sink *fs;
	int fd;

	if ((fd = file_open_path(sink_conf(s), cause)) == -1)
		return -1;
	fs = xcalloc(1, sizeof *fs);
	fs->fd = fd;
	sink_set_priv(s, fs);
	return 0;
}

/* Write lines[0..n) completely, or stop at the first error. */
static enum sink_result
file_deliver(struct sink *s, const struct sink_line *lines, size_t n,
    size_t *done, char **cause)
{
	struct file_sink *fs = sink_priv(s);
	struct iovec iov[FILE_IOV];
	size_t i = 0, skip = 0, k, cnt, rem;
	ssize_t r;

	/* Finish the line a short write left, if it comes first again. */
	if (n > 0 && fs->partial && fs->partial_seq == lines[0].seq)
		skip = fs->partial_off;
	fs->partial = false;

	while (i < n) {
		for (cnt = 0, k = i; k < n && cnt < FILE_IOV; k++, cnt++) {
			iov[cnt].iov_base = (char *)lines[k].data +
			    (k == i ? skip : 0);
			iov[cnt].iov_len = lines[k].len - (k == i ? skip : 0);
		}
		r = writev(fs->fd, iov, (int)cnt);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			xasprintf(cause, "write %s: %s", sink_conf(s)->path,
			    r == 0 ? "wrote nothing" : strerror(errno));
			break;
		}
		/* Advance over what went out, whole lines first. */
		while (i < n) {
			rem = lines[i].len - skip;
			if ((size_t)r < rem) {
				skip += (size_t)r;
				break;
			}
			r -= (ssize_t)rem;
			i++;
			skip = 0;
		}
	}
	*done = i;
	if (i == n)
		return SINK_OK;
	if (skip > 0) {
		fs->partial = true;
		fs->partial_seq = lines[i].seq;
		fs->partial_off = skip;
	}
	return SINK_RETRY;
}

static int
file_reopen(struct sink *s, char **cause)
{
	struct file_sink *fs = sink_priv(s);
	int fd;

	if ((fd = file_open_path(sink_conf(s), cause)) == -1)
		return -1;
	close(fs->fd);
	fs->fd = fd;
	/* A line cut short stays cut in the old file; write it whole. */
	fs->partial = false;
	return 0;
}

static void
file_close(struct sink *s)
{
	struct file_sink *fs = sink_priv(s);

	if (fs == NULL)
		return;
	close(fs->fd);
	free(fs);
	sink_set_priv(s, NULL);
}

const struct sink_ops sink_file_ops = {
	.type = "file",
	.open = file_open,
	.deliver = file_deliver,
	.reopen = file_reopen,
	.close = file_close,
};
