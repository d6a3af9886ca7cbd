/*
 * usock.c: listening UNIX stream sockets at a path.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "usock.h"
#include "xmalloc.h"

int
usock_group(const char *group, gid_t *gid)
{
	struct group *gr;
	char *end;
	unsigned long v;

	if ((gr = getgrnam(group)) != NULL) {
		*gid = gr->gr_gid;
		return 0;
	}
	errno = 0;
	v = strtoul(group, &end, 10);
	if (*group == '\0' || *end != '\0' || errno != 0 ||
	    v >= (unsigned long)(gid_t)-1)
		return -1;
	*gid = (gid_t)v;
	return 0;
}

/* mkdir -p of the directory part of path. */
static int
usock_mkdirs(const char *path, char **cause)
{
	char *dir, *slash;

	dir = xstrdup(path);
	for (slash = strchr(dir + 1, '/'); slash != NULL;
	    slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
			xasprintf(cause, "mkdir %s: %s", dir, strerror(errno));
			free(dir);
			return -1;
		}
		*slash = '/';
	}
	free(dir);
	return 0;
}

int
usock_listen(const char *path, const char *what, mode_t mode, gid_t gid,
    char **cause)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		xasprintf(cause, "%s path too long (%zu bytes at most): %s",
		    what, sizeof sun.sun_path - 1, path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if (usock_mkdirs(path, cause) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0) {
		xasprintf(cause, "%s %s is in use by a running daemon", what,
		    path);
		close(fd);
		return -1;
	}
	close(fd);
	if (unlink(path) == -1 && errno != ENOENT) {
		xasprintf(cause, "unlink %s: %s", path, strerror(errno));
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1 ||
	    listen(fd, 64) == -1) {
		xasprintf(cause, "%s %s: %s", what, path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) == -1) {
		xasprintf(cause, "chown %s: %s", path, strerror(errno));
		goto fail;
	}
	if (chmod(path, mode) == -1) {
		xasprintf(cause, "chmod %s: %s", path, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	unlink(path);
	return -1;
}
