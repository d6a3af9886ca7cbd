/*
 * fuzz_config.c: libFuzzer target for the config reader. Each input is
 * written to a private file (mode 0600 in a directory of its own, made
 * once per process, since the reader refuses files others may write) and
 * loaded with config_load as the daemon loads cimlistend.conf: our line
 * reader under inih, the key table, filter and template compilation, the
 * checks across sections. A load either gives a config or at least one
 * error, and every error is one line that starts with the file's path.
 */
#include "autoconf.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char path[64];

static void
remove_file(void)
{
	char dir[sizeof path];
	char *slash;

	unlink(path);
	snprintf(dir, sizeof dir, "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		rmdir(dir);
	}
}

/* One line each, naming the file or a drop-in. */
static void
check_error(const char *msg)
{
	if (strchr(msg, '\n') != NULL || msg[0] != '/')
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_errors errs = { 0 };
	struct config *cf;
	size_t i;
	int fd;

	if (path[0] == '\0') {
		char dir[] = "/tmp/fuzz_config.XXXXXX";

		if (mkdtemp(dir) == NULL)
			abort();
		snprintf(path, sizeof path, "%s/cimlistend.conf", dir);
		atexit(remove_file);
		log_set_level(-1); /* warnings are not the point */
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	cf = config_load(path, &errs);
	if (cf == NULL && errs.n == 0)
		abort();
	if (cf != NULL && errs.n != 0)
		abort();
	for (i = 0; i < errs.n; i++)
		check_error(errs.msgs[i]);
	config_free(cf);
	config_errors_clear(&errs);
	return 0;
}
