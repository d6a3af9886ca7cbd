/*
 * check_install.c: `make install DESTDIR=...` produces exactly the expected
 * tree for the configured paths, the installed units pass systemd-analyze
 * verify and rate an exposure of 2.0 or lower in systemd-analyze security,
 * and `make uninstall` leaves no file behind.
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "testutil.h"

static char *root;
static char found[64][512];
static size_t nfound;

static int
collect(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)f;
	if (type == FTW_F || type == FTW_SL) {
		ck_assert_uint_lt(nfound, 64);
		snprintf(found[nfound++], sizeof found[0], "%s",
		    path + strlen(root));
	}
	return 0;
}

/* Run a shell command; its exit status, output in *out (malloc'd). */
static int
sh(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
sh(char **out, const char *fmt, ...)
{
	va_list ap;
	char *cmd, *full, *log;
	int rc;

	va_start(ap, fmt);
	ck_assert_int_gt(vasprintf(&cmd, fmt, ap), 0);
	va_end(ap);
	ck_assert_int_gt(asprintf(&log, "%s.log", root), 0);
	ck_assert_int_gt(asprintf(&full, "(%s) >'%s' 2>&1", cmd, log), 0);
	rc = system(full);
	rc = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
	*out = tu_read_file(log, NULL);
	ck_assert_ptr_nonnull(*out);
	unlink(log);
	free(log);
	free(full);
	free(cmd);
	return rc;
}

static void
expect(const char *dir, const char *file, const char **list, size_t *n)
{
	char *p;

	if (*dir == '\0')
		return;
	ck_assert_int_gt(asprintf(&p, "%s/%s", dir, file), 0);
	list[(*n)++] = p;
}

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

START_TEST(test_install_tree)
{
	const char *want[16];
	const char *got[64];
	char *out, *unit, *text;
	size_t i, nwant = 0;
	double exposure = 99;
	const char *p;

	root = tu_tmpdir();
	ck_assert_msg(sh(&out, "make -s -C '%s' install DESTDIR='%s'",
	    BUILDDIR, root) == 0, "make install: %s", out);
	free(out);

	expect(CL_BINDIR, "cimlistenctl", want, &nwant);
	expect(CL_SBINDIR, "cimlistend", want, &nwant);
	expect(CL_SYSCONFDIR, "cimlisten/cimlistend.conf", want, &nwant);
	expect(CL_SYSCONFDIR, "logrotate.d/cimlistend", want, &nwant);
	expect(CL_MANDIR, "man1/cimlistenctl.1", want, &nwant);
	expect(CL_MANDIR, "man5/cimlistend.conf.5", want, &nwant);
	expect(CL_MANDIR, "man8/cimlistend.8", want, &nwant);
	expect(CL_UNITDIR, "cimlistend.service", want, &nwant);
	expect(CL_UNITDIR, "cimlistend.socket", want, &nwant);
	expect(CL_SYSUSERSDIR, "cimlisten.conf", want, &nwant);
	expect(CL_TMPFILESDIR, "cimlisten.conf", want, &nwant);
	qsort(want, nwant, sizeof want[0], cmp);

	nfound = 0;
	ck_assert_int_eq(nftw(root, collect, 16, FTW_PHYS), 0);
	for (i = 0; i < nfound; i++)
		got[i] = found[i];
	qsort(got, nfound, sizeof got[0], cmp);
	for (i = 0; i < nwant || i < nfound; i++)
		ck_assert_msg(i < nwant && i < nfound &&
		    strcmp(want[i], got[i]) == 0,
		    "installed tree differs at #%zu: want %s, got %s", i,
		    i < nwant ? want[i] : "(nothing)",
		    i < nfound ? got[i] : "(nothing)");

	/* The programs run from where they were installed. */
	ck_assert_msg(sh(&out, "'%s%s/cimlistend' --version", root,
	    CL_SBINDIR) == 0, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, PACKAGE_VERSION));
	free(out);

	if (*CL_UNITDIR != '\0') {
		/* The unit carries the configured paths. */
		ck_assert_int_gt(asprintf(&unit, "%s%s/cimlistend.service", root,
		    CL_UNITDIR), 0);
		text = tu_read_file(unit, NULL);
		ck_assert_ptr_nonnull(text);
		ck_assert_msg(strstr(text, "ExecStart=" CL_SBINDIR
		    "/cimlistend") != NULL, "%s", text);
		ck_assert_ptr_nonnull(strstr(text, "Type=notify"));
		free(text);
		/*
		 * systemd-analyze verify in the installed tree as root, with
		 * the host's targets and slices the unit refers to and the
		 * kill(1) of ExecReload. The units are looked up by name in
		 * the search path under the root, which a configured unit
		 * directory outside it (make distcheck's) is not part of, so
		 * they are copied, with the host's units, to its
		 * /etc/systemd/system (which nothing installs to).
		 */
		ck_assert_msg(sh(&out,
		    "set -e; mkdir -p '%1$s/bin' '%1$s/etc/systemd/system';"
		    "cp /bin/kill '%1$s/bin/';"
		    "for f in /lib/systemd/system/*.target "
		    "/lib/systemd/system/*.slice; do "
		    "cp -n \"$f\" '%1$s/etc/systemd/system/' 2>/dev/null "
		    "|| true; done;"
		    "cp '%3$s' '%1$s%2$s/cimlistend.socket' "
		    "'%1$s/etc/systemd/system/';"
		    "systemd-analyze verify --man=no --root='%1$s' "
		    "cimlistend.service cimlistend.socket",
		    root, CL_UNITDIR, unit) == 0,
		    "systemd-analyze verify: %s", out);
		ck_assert_msg(strstr(out, "cimlistend") == NULL,
		    "systemd-analyze verify complains: %s", out);
		free(out);
		ck_assert_msg(sh(&out, "systemd-analyze security --offline=yes "
		    "--root='%s' cimlistend.service", root) == 0,
		    "systemd-analyze security: %s", out);
		p = strstr(out, "Overall exposure level for cimlistend.service: ");
		ck_assert_msg(p != NULL, "%s", out);
		exposure = strtod(p + strlen("Overall exposure level for "
		    "cimlistend.service: "), NULL);
		ck_assert_msg(exposure <= 2.0, "exposure %.1f > 2.0:\n%s",
		    exposure, out);
		free(out);
		free(unit);
	}

	/* make uninstall leaves no file. */
	ck_assert_msg(sh(&out, "rm -rf '%1$s/bin' '%1$s/etc/systemd' && "
	    "make -s -C '%2$s' uninstall DESTDIR='%1$s'",
	    root, BUILDDIR) == 0, "make uninstall: %s", out);
	free(out);
	nfound = 0;
	ck_assert_int_eq(nftw(root, collect, 16, FTW_PHYS), 0);
	ck_assert_msg(nfound == 0, "left after uninstall: %s", found[0]);
	for (i = 0; i < nwant; i++)
		free((char *)want[i]);
	tu_rmtree(root);
	free(root);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("install");
	TCase *tc = tcase_create("install");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_install_tree);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
