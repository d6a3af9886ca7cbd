/*
 * sink_file.c: `type = file` sinks, one record after another appended to a
 * file: a JSON line (format = json), a MOF instance block (mof) or the
 * rendered template line (template), each ending in a newline.
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
 *
 * Built-in rotation (rotate_size) happens between records: when the next
 * record would take a non-empty file past the size, path.N-1 .. path.1 move
 * up one (path.rotate_keep goes), path becomes path.1 and a new path is
 * opened; a record larger than the limit still goes out whole. A failed
 * rotation is logged and writing goes on in the current file. owner and
 * group are applied to files the sink creates, when the daemon may chown.
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
#include <syslog.h>
#include <unistd.h>

#include "format.h"
#include "log.h"
#include "sink.h"
#include "xmalloc.h"

#ifndef IOV_MAX
#define IOV_MAX 1024
#endif
#define FILE_IOV (IOV_MAX < 1024 ? IOV_MAX : 1024)

struct file_sink {
	int fd;
	uint64_t size;               /* bytes in the file, for rotate_size */
	struct format_ctx *fmt;      /* NULL for json */
	struct buf out;              /* rendered records (mof, template) */
	struct sink_line *rendered;  /* lines pointing into out */
	size_t nrendered;
	/* A line cut short by the last write: its seq and bytes out. */
	bool partial;
	uint64_t partial_seq;
	size_t partial_off;
};

/*
 * Give a new file the configured owner and group. Not being allowed to
 * (the daemon is not root) is logged once and not an error; other
 * failures are.
 */
static int
file_set_owner(int fd, const struct sink_conf *conf, char **cause)
{
	static bool warned;
	uid_t uid = conf->owner != NULL && *conf->owner != '\0' ? conf->uid :
	    (uid_t)-1;
	gid_t gid = conf->group != NULL && *conf->group != '\0' ? conf->gid :
	    (gid_t)-1;

	if (uid == (uid_t)-1 && gid == (gid_t)-1)
		return 0;
	if (fchown(fd, uid, gid) == 0)
		return 0;
	if (errno == EPERM) {
		if (!warned)
			log_warnx("sink %s: cannot give %s its owner/group "
			    "(not running as root)", conf->name, conf->path);
		warned = true;
		return 0;
	}
	xasprintf(cause, "fchown %s: %s", conf->path, strerror(errno));
	return -1;
}

/*
 * Open the sink's path for appending; a file created here gets the mode
 * (and owner, group) exactly. Returns the descriptor, or -1 with *cause.
 */
static int
file_open_path(const struct sink_conf *conf, char **cause)
{
	int fd, flags, tries;
	const int base = O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK;

	*cause = NULL;
	if (conf->path == NULL || *conf->path == '\0') {
		*cause = xstrdup("no path");
		return -1;
	}
	for (tries = 0; tries < 10; tries++) {
		/* O_NONBLOCK: a FIFO without reader fails, not hangs. */
		fd = open(conf->path, base | O_CREAT | O_EXCL, conf->mode);
		if (fd != -1) {
			if (file_set_owner(fd, conf, cause) == -1 ||
			    fchmod(fd, conf->mode) != 0) {
				if (*cause == NULL)
					xasprintf(cause, "fchmod %s: %s",
					    conf->path, strerror(errno));
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

static uint64_t file_size(int);

/*
 * A daemon killed in the middle of a write leaves the file's last line cut
 * short. Its record is written again whole (the cursor only passes it once
 * written), so cut the fragment off rather than have the next line glued
 * to it: the file stays one complete line per record. Regular files only.
 */
static void
file_cut_fragment(struct sink *s, int fd)
{
	const struct sink_conf *c = sink_conf(s);
	char buf[4096];
	struct stat st;
	off_t end, at;
	ssize_t n, i;
	int rfd;

	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size == 0)
		return;
	if ((rfd = open(c->path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return;
	end = st.st_size;
	for (at = end; at > 0; at -= n) {
		n = at < (off_t)sizeof buf ? (ssize_t)at : (ssize_t)sizeof buf;
		if (pread(rfd, buf, (size_t)n, at - n) != n)
			goto out;
		for (i = n; i > 0; i--)
			if (buf[i - 1] == '\n')
				break;
		if (i > 0) {
			at = at - n + i;
			break;
		}
	}
	if (at < 0)
		at = 0;
	if (at == end)
		goto out; /* ends with a newline */
	if (ftruncate(fd, at) == -1) {
		log_warn("sink %s: cannot cut the incomplete last line of %s",
		    c->name, c->path);
		goto out;
	}
	log_warnx("sink %s: cut %lld bytes of an incomplete last line off %s "
		  "(its record is written again whole)",
	    c->name, (long long)(end - at), c->path);
out:
	close(rfd);
}

static int
file_open(struct sink *s, char **cause)
{
	struct file_sink *fs;
	int fd;

	if ((fd = file_open_path(sink_conf(s), cause)) == -1)
		return -1;
	file_cut_fragment(s, fd);
	fs = xcalloc(1, sizeof *fs);
	fs->fd = fd;
	fs->size = file_size(fd);
	if (sink_conf(s)->format != SINK_FORMAT_JSON)
		fs->fmt = format_ctx_new(sink_conf(s));
	sink_set_priv(s, fs);
	return 0;
}

/* Size of an open file, 0 if unknown. */
static uint64_t
file_size(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/*
 * Render lines[0..n) in the sink's format into fs->rendered (one newline-
 * terminated text per line, same seqs). A line that does not decode is
 * written as its JSON (logged).
 */
static const struct sink_line *
file_render(struct sink *s, struct file_sink *fs,
    const struct sink_line *lines, size_t n)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(1, 5);
	size_t i, *off;
	char *cause = NULL;

	buf_reset(&fs->out);
	if (n > fs->nrendered) {
		fs->rendered = xreallocarray(fs->rendered, n,
		    sizeof *fs->rendered);
		fs->nrendered = n;
	}
	off = xreallocarray(NULL, n + 1, sizeof *off);
	for (i = 0; i < n; i++) {
		off[i] = fs->out.len;
		if (format_line(fs->fmt, lines[i].data, lines[i].len,
		    &fs->out, &cause) == -1) {
			log_limited(&rl, LOG_WARNING, "sink %s: record %llu "
			    "written as JSON: %s", sink_name(s),
			    (unsigned long long)lines[i].seq, cause);
			free(cause);
			cause = NULL;
			fs->out.len = off[i];
			format_ctx_render(fs->fmt, lines[i].data, lines[i].len,
			    NULL, &fs->out);
		}
		buf_addc(&fs->out, '\n');
	}
	off[n] = fs->out.len;
	for (i = 0; i < n; i++) {
		fs->rendered[i].seq = lines[i].seq;
		fs->rendered[i].data = fs->out.data + off[i];
		fs->rendered[i].len = off[i + 1] - off[i];
	}
	free(off);
	return fs->rendered;
}

/*
 * Rotate: path.keep-1 .. path.1 move up one, path becomes path.1, and a
 * new path is opened. On failure the current file stays in use.
 */
static void
file_rotate(struct sink *s, struct file_sink *fs)
{
	const struct sink_conf *c = sink_conf(s);
	char *from, *to, *cause = NULL;
	unsigned k;
	int fd;

	for (k = c->rotate_keep; k > 1; k--) {
		xasprintf(&from, "%s.%u", c->path, k - 1);
		xasprintf(&to, "%s.%u", c->path, k);
		if (rename(from, to) == -1 && errno != ENOENT)
			log_warn("sink %s: rename %s", c->name, from);
		free(from);
		free(to);
	}
	xasprintf(&to, "%s.1", c->path);
	if (rename(c->path, to) == -1) {
		log_warn("sink %s: cannot rotate %s", c->name, c->path);
		free(to);
		return;
	}
	free(to);
	if ((fd = file_open_path(c, &cause)) == -1) {
		/* Keep writing to the renamed file rather than lose records. */
		log_warnx("sink %s: rotated, but %s", c->name, cause);
		free(cause);
		return;
	}
	close(fs->fd);
	fs->fd = fd;
	fs->size = 0;
	fs->partial = false;
	log_info("sink %s: rotated %s", c->name, c->path);
}

/* Write lines[0..n) completely, or stop at the first error. */
static enum sink_result
file_deliver(struct sink *s, const struct sink_line *lines, size_t n,
    size_t *done, char **cause)
{
	struct file_sink *fs = sink_priv(s);
	const struct sink_conf *c = sink_conf(s);
	struct iovec iov[FILE_IOV];
	size_t i = 0, skip = 0, k, cnt, rem;
	uint64_t bytes;
	ssize_t r;

	if (fs->fmt != NULL)
		lines = file_render(s, fs, lines, n);
	/* Finish the line a short write left, if it comes first again. */
	if (n > 0 && fs->partial && fs->partial_seq == lines[0].seq)
		skip = fs->partial_off;
	fs->partial = false;

	while (i < n) {
		/* With rotate_size, a write stops where the file is full. */
		if (c->rotate_size > 0 && skip == 0 && fs->size > 0 &&
		    fs->size + lines[i].len > c->rotate_size)
			file_rotate(s, fs);
		bytes = fs->size;
		for (cnt = 0, k = i; k < n && cnt < FILE_IOV; k++, cnt++) {
			if (c->rotate_size > 0 && cnt > 0) {
				if (bytes + lines[k].len > c->rotate_size)
					break;
			}
			bytes += lines[k].len - (k == i ? skip : 0);
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
		fs->size += (uint64_t)r;
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
	/*
	 * A line cut short is written again whole: cut off (if the file is
	 * the same) or left in the old one.
	 */
	if (fs->partial)
		file_cut_fragment(s, fd);
	fs->fd = fd;
	fs->size = file_size(fd);
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
	format_ctx_free(fs->fmt);
	buf_free(&fs->out);
	free(fs->rendered);
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
