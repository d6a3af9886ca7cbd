/*
 * check_config.c: unit tests of config.c. Fixture files live in
 * tests/data/config; small cases are written to a private temp directory.
 * Error messages are compared exactly, with the directory prefix removed
 * ("main.conf:3:13: ..."), so their wording is part of the contract.
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <check.h>

#include "testutil.h"
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "filter.h"
#include "log.h"
#include "xmalloc.h"

#define DATA SRCDIR "/tests/data/config"

static char *tmpdir;  /* realpath of this test's directory */
static char *realsrc; /* realpath of SRCDIR */

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
setup(void)
{
	char tmpl[] = "/tmp/check_config.XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	tmpdir = realpath(tmpl, NULL);
	ck_assert_ptr_nonnull(tmpdir);
	realsrc = realpath(SRCDIR, NULL);
	ck_assert_ptr_nonnull(realsrc);
	log_init(LOG_ERR, true, "check_config");
}

static void
teardown(void)
{
	nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(tmpdir);
	free(realsrc);
	tmpdir = realsrc = NULL;
}

/* Write `text` to tmpdir/rel (creating conf.d); returns the path. */
static char *
write_tmp(const char *rel, const char *text, size_t len)
{
	char *path, *d;
	FILE *f;

	xasprintf(&d, "%s/conf.d", tmpdir);
	mkdir(d, 0700);
	free(d);
	xasprintf(&path, "%s/%s", tmpdir, rel);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

/* Remove every occurrence of prefix from s, in place. */
static void
strip(char *s, const char *prefix)
{
	size_t n = strlen(prefix);
	char *p;

	while ((p = strstr(s, prefix)) != NULL)
		memmove(p, p + n, strlen(p + n) + 1);
}

/* Every error, one a line, with the directories taken out. */
static char *
errors_text(struct config_errors *errs)
{
	struct buf b = BUF_INIT;
	char *dir, *s;
	size_t i;

	for (i = 0; i < errs->n; i++)
		buf_printf(&b, "%s\n", errs->msgs[i]);
	s = buf_steal(&b, NULL);
	xasprintf(&dir, "%s/", tmpdir);
	strip(s, dir);
	free(dir);
	strip(s, DATA "/");
	return s;
}

/* Load a file; on failure return NULL and the error text in *text. */
static struct config *
load(const char *path, char **text)
{
	struct config_errors errs = {NULL, 0};
	struct config *cf;

	cf = config_load(path, &errs);
	*text = errors_text(&errs);
	if (cf == NULL)
		ck_assert_uint_gt(errs.n, 0);
	else
		ck_assert_uint_eq(errs.n, 0);
	config_errors_clear(&errs);
	return cf;
}

/* Load `text` as tmpdir/main.conf; it must succeed. */
static struct config *
load_ok(const char *text)
{
	char *path, *errs;
	struct config *cf;

	path = write_tmp("main.conf", text, strlen(text));
	cf = load(path, &errs);
	if (cf == NULL)
		ck_abort_msg("unexpected errors:\n%s", errs);
	free(errs);
	free(path);
	return cf;
}

/* Load len bytes as tmpdir/main.conf; it must fail with exactly `expect`. */
static void
load_fail_n(const char *text, size_t len, const char *expect)
{
	char *path, *errs;
	struct config *cf;

	path = write_tmp("main.conf", text, len);
	cf = load(path, &errs);
	ck_assert_ptr_null(cf);
	ck_assert_str_eq(errs, expect);
	free(errs);
	free(path);
}

static void
load_fail(const char *text, const char *expect)
{
	load_fail_n(text, strlen(text), expect);
}

START_TEST(test_defaults)
{
	struct config *cf = load_ok("; nothing but a comment\n");

	ck_assert_uint_eq(cf->listener.http_port, 5988);
	ck_assert_uint_eq(cf->listener.nbind, 1);
	ck_assert_str_eq(cf->listener.bind[0], "::");
	ck_assert_ptr_null(cf->listener.bind[1]);
	ck_assert_uint_eq(cf->listener.threads, 0);
	ck_assert_uint_eq(cf->listener.max_body, 4194304);
	ck_assert_uint_eq(cf->listener.max_connections, 1024);
	ck_assert_uint_eq(cf->listener.max_connections_per_ip, 64);
	ck_assert_uint_eq(cf->listener.timeout, 30);
	ck_assert_uint_eq(cf->listener.connection_memory, 32768);
	ck_assert(!cf->listener.strict);
	ck_assert_uint_eq(cf->listener.max_xml_depth, 64);
	ck_assert_uint_eq(cf->listener.max_embedding_depth, 8);
	ck_assert_int_eq(cf->daemon.log_level, LOG_INFO);
	ck_assert_uint_eq(cf->daemon.shutdown_timeout, 10);
	ck_assert_str_eq(cf->daemon.spool_dir, LOCALSTATEDIR "/lib/cimlisten");
	ck_assert_uint_eq(cf->daemon.spool_max_size, 1024ULL * 1024 * 1024);
	ck_assert_uint_eq(cf->daemon.spool_max_age, 7 * 86400);
	ck_assert_int_eq(cf->daemon.fsync, 0);
	ck_assert_uint_eq(cf->nsinks, 0);
	ck_assert_uint_eq(cf->nfilters, 0);
	ck_assert_uint_eq(cf->nfiles, 1);
	ck_assert(strstr(cf->files[0], "/main.conf") != NULL);
	config_free(cf);
}
END_TEST

START_TEST(test_full)
{
	struct config *cf;
	const struct sink_conf *s;
	char *errs, *want;

	cf = load(DATA "/full.conf", &errs);
	ck_assert_str_eq(errs, "");
	free(errs);
	ck_assert_ptr_nonnull(cf);
	ck_assert_uint_eq(cf->listener.http_port, 15988);
	ck_assert_uint_eq(cf->listener.nbind, 2);
	ck_assert_str_eq(cf->listener.bind[0], "127.0.0.1");
	ck_assert_str_eq(cf->listener.bind[1], "::1");
	ck_assert_ptr_null(cf->listener.bind[2]);
	ck_assert_uint_eq(cf->listener.threads, 4);
	ck_assert_uint_eq(cf->listener.max_body, 8 * 1024 * 1024);
	ck_assert_uint_eq(cf->listener.max_connections, 100);
	ck_assert_uint_eq(cf->listener.max_connections_per_ip, 0);
	ck_assert_uint_eq(cf->listener.timeout, 120);
	ck_assert_uint_eq(cf->listener.connection_memory, 128 * 1024);
	ck_assert(cf->listener.strict);
	ck_assert_uint_eq(cf->listener.max_xml_depth, 32);
	ck_assert_uint_eq(cf->listener.max_embedding_depth, 4);
	ck_assert_int_eq(cf->daemon.log_level, LOG_DEBUG);
	ck_assert_uint_eq(cf->daemon.shutdown_timeout, 60);
	xasprintf(&want, "%s/tests/data/config/spool", realsrc);
	ck_assert_str_eq(cf->daemon.spool_dir, want);
	free(want);
	ck_assert_uint_eq(cf->daemon.spool_max_size, 64 * 1024 * 1024);
	ck_assert_uint_eq(cf->daemon.spool_max_age, 86400);
	ck_assert_int_eq(cf->daemon.fsync, 1); /* batch */

	ck_assert_uint_eq(cf->nsinks, 2);
	s = &cf->sinks[0];
	ck_assert_str_eq(s->name, "alerts");
	ck_assert_str_eq(s->type, "file");
	ck_assert_str_eq(s->path, "/var/log/cimlisten/alerts.jsonl");
	ck_assert_int_eq(s->format, SINK_FORMAT_JSON);
	ck_assert_uint_eq(s->mode, 0600);
	ck_assert_uint_eq(s->origin.line, 23);
	ck_assert(strstr(s->origin.file, "full.conf") != NULL);
	s = config_find_sink(cf, "rest");
	ck_assert_ptr_eq(s, &cf->sinks[1]);
	xasprintf(&want, "%s/tests/data/config/logs/rest.jsonl", realsrc);
	ck_assert_str_eq(s->path, want);
	free(want);
	ck_assert_uint_eq(s->mode, 0640);
	ck_assert_ptr_null(config_find_sink(cf, "nope"));

	ck_assert_uint_eq(cf->nfilters, 2);
	ck_assert_str_eq(cf->filters[0].name, "critical");
	ck_assert(cf->filters[0].final);
	ck_assert_ptr_null(cf->filters[0].where);
	ck_assert_uint_eq(cf->filters[0].nsinks, 1);
	ck_assert_str_eq(cf->filters[0].sinks[0], "alerts");
	ck_assert(!cf->filters[1].final);
	ck_assert_uint_eq(cf->filters[1].nsinks, 2);
	ck_assert_str_eq(cf->filters[1].sinks[0], "rest");
	ck_assert_str_eq(cf->filters[1].sinks[1], "alerts");
	ck_assert_ptr_null(cf->filters[1].sinks[2]);
	config_free(cf);
}
END_TEST

START_TEST(test_shipped)
{
	struct config *cf, *def;
	char *errs;

	cf = load(SRCDIR "/conf/cimlistend.conf", &errs);
	ck_assert_str_eq(errs, "");
	free(errs);
	ck_assert_ptr_nonnull(cf);
	def = load_ok("");
	/* The shipped file states the defaults, so it changes nothing. */
	ck_assert_uint_eq(cf->listener.http_port, def->listener.http_port);
	ck_assert_uint_eq(cf->listener.nbind, 1);
	ck_assert_str_eq(cf->listener.bind[0], "::");
	ck_assert_uint_eq(cf->listener.threads, def->listener.threads);
	ck_assert_uint_eq(cf->listener.max_body, def->listener.max_body);
	ck_assert_uint_eq(
	    cf->listener.max_connections, def->listener.max_connections);
	ck_assert_uint_eq(cf->listener.max_connections_per_ip,
	    def->listener.max_connections_per_ip);
	ck_assert_uint_eq(cf->listener.timeout, def->listener.timeout);
	ck_assert_uint_eq(
	    cf->listener.connection_memory, def->listener.connection_memory);
	ck_assert_int_eq(cf->listener.strict, def->listener.strict);
	ck_assert_uint_eq(
	    cf->listener.max_xml_depth, def->listener.max_xml_depth);
	ck_assert_uint_eq(cf->listener.max_embedding_depth,
	    def->listener.max_embedding_depth);
	ck_assert_int_eq(cf->daemon.log_level, def->daemon.log_level);
	ck_assert_uint_eq(
	    cf->daemon.shutdown_timeout, def->daemon.shutdown_timeout);
	/* Written for packages (LOCALSTATEDIR=/var), whatever the prefix. */
	ck_assert_str_eq(cf->daemon.spool_dir, "/var/lib/cimlisten");
	ck_assert_uint_eq(
	    cf->daemon.spool_max_size, def->daemon.spool_max_size);
	ck_assert_uint_eq(cf->daemon.spool_max_age, def->daemon.spool_max_age);
	ck_assert_int_eq(cf->daemon.fsync, def->daemon.fsync);
	ck_assert_uint_eq(cf->nsinks, 1);
	ck_assert_str_eq(cf->sinks[0].name, "all");
	ck_assert_str_eq(cf->sinks[0].type, "file");
	ck_assert_str_eq(
	    cf->sinks[0].path, "/var/log/cimlisten/indications.jsonl");
	ck_assert_uint_eq(cf->nfilters, 1);
	ck_assert_str_eq(cf->filters[0].name, "everything");
	ck_assert_uint_eq(cf->filters[0].nsinks, 1);
	ck_assert_str_eq(cf->filters[0].sinks[0], "all");
	ck_assert_ptr_null(cf->filters[0].where);
	config_free(def);
	config_free(cf);
}
END_TEST

START_TEST(test_dev)
{
	struct config *cf;
	char *errs, *want;

	cf = load(SRCDIR "/conf/dev.conf", &errs);
	ck_assert_str_eq(errs, "");
	free(errs);
	ck_assert_ptr_nonnull(cf);
	ck_assert_uint_eq(cf->listener.http_port, 5988);
	ck_assert_uint_eq(cf->listener.nbind, 1);
	ck_assert_str_eq(cf->listener.bind[0], "127.0.0.1");
	ck_assert_int_eq(cf->daemon.log_level, LOG_INFO);
	ck_assert_uint_eq(cf->nsinks, 1);
	xasprintf(&want, "%s/run/indications.jsonl", realsrc);
	ck_assert_str_eq(cf->sinks[0].path, want);
	free(want);
	xasprintf(&want, "%s/run/spool", realsrc);
	ck_assert_str_eq(cf->daemon.spool_dir, want);
	free(want);
	ck_assert_uint_eq(cf->nfilters, 1);
	ck_assert_ptr_null(cf->filters[0].where);
	ck_assert_str_eq(cf->filters[0].sinks[0], cf->sinks[0].name);
	config_free(cf);
}
END_TEST

/* Whether text has "key =" after a newline, ';' or blank. */
static int
mentions_key(const char *text, const char *key)
{
	const char *p = text;
	char *pat;
	int found = 0;

	xasprintf(&pat, "%s =", key);
	while (!found && (p = strstr(p, pat)) != NULL) {
		found = p > text && strchr("\n; ", p[-1]) != NULL;
		p++;
	}
	free(pat);
	return found;
}

/* Every key of the table is in the shipped file and the man page. */
START_TEST(test_print_keys_documented)
{
	char *text = NULL, *conf, *man, *line, *save, *key, *pat;
	size_t len = 0;
	FILE *f, *cf, *mf;
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n, nkeys = 0;

	ck_assert_ptr_nonnull(f = open_memstream(&text, &len));
	config_print_keys(f);
	fclose(f);
	ck_assert(strstr(text, "[listener]\n  http_port = 5988\n") != NULL);
	ck_assert(strstr(text, "port, 0..65535") != NULL);
	ck_assert(
	    strstr(text, "  max_body = 4M\n      size, 1K..1G\n") != NULL);
	ck_assert(strstr(text, "  auth = none\n      word: none or basic\n") !=
	    NULL);
	ck_assert(strstr(text, "  pid_file = (empty)\n      path; needs a "
			       "restart\n") != NULL);
	ck_assert(strstr(text, "  user = (empty)\n      string; needs a "
			       "restart\n") != NULL);
	ck_assert(strstr(text, "  where = (empty)\n") != NULL);
	ck_assert(strstr(text, "  type = (required)\n") != NULL);
	ck_assert(strstr(text, "  mode = 0640\n      file mode; sink type "
			       "file, socket\n") != NULL);

	ck_assert_ptr_nonnull(cf = fopen(SRCDIR "/conf/cimlistend.conf", "r"));
	while ((n = fread(chunk, 1, sizeof chunk, cf)) > 0)
		buf_add(&b, chunk, n);
	fclose(cf);
	conf = buf_steal(&b, NULL);
	ck_assert_ptr_nonnull(mf = fopen(SRCDIR "/man/cimlistend.conf.5", "r"));
	while ((n = fread(chunk, 1, sizeof chunk, mf)) > 0)
		buf_add(&b, chunk, n);
	fclose(mf);
	man = buf_steal(&b, NULL);

	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "  ", 2) != 0 || line[2] == ' ')
			continue;
		key = line + 2;
		key[strcspn(key, " ")] = '\0';
		nkeys++;
		ck_assert_msg(mentions_key(conf, key),
		    "key %s missing from conf/cimlistend.conf", key);
		xasprintf(&pat, ".B %s\n", key);
		ck_assert_msg(strstr(man, pat) != NULL,
		    "key %s missing from man/cimlistend.conf.5", key);
		free(pat);
	}
	ck_assert_uint_ge(nkeys, 50);
	free(conf);
	free(man);
	free(text);
}
END_TEST

/* The EXAMPLE of the man page is a valid configuration. */
START_TEST(test_man_example)
{
	char *man, *start, *end, *path, *errs, *want;
	struct config *cf;
	size_t len;
	FILE *f;

	ck_assert_ptr_nonnull(f = fopen(SRCDIR "/man/cimlistend.conf.5", "r"));
	man = xmalloc(1 << 16);
	len = fread(man, 1, (1 << 16) - 1, f);
	fclose(f);
	man[len] = '\0';
	ck_assert_ptr_nonnull(start = strstr(man, "\n.EX\n"));
	start += 5;
	ck_assert_ptr_nonnull(end = strstr(start, ".EE\n"));
	path = write_tmp("main.conf", start, (size_t)(end - start));
	cf = load(path, &errs);
	ck_assert_str_eq(errs, "");
	ck_assert_ptr_nonnull(cf);
	ck_assert_uint_eq(cf->listener.max_body, 8 * 1024 * 1024);
	ck_assert_uint_eq(cf->filters[0].nsinks, 2);
	xasprintf(&want, "%s/logs/all.jsonl", tmpdir);
	ck_assert_str_eq(cf->sinks[1].path, want);
	config_free(cf);
	free(want);
	free(errs);
	free(path);
	free(man);
}
END_TEST

START_TEST(test_bool)
{
	static const struct {
		const char *s;
		bool v;
	} good[] = {
	    {"yes", true},
	    {"YES", true},
	    {"true", true},
	    {"On", true},
	    {"1", true},
	    {"no", false},
	    {"False", false},
	    {"off", false},
	    {"0", false},
	};
	struct config *cf;
	char *text;
	size_t i;
	bool b;

	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		ck_assert_int_eq(config_parse_bool(good[i].s, &b), 0);
		ck_assert_int_eq(b, good[i].v);
		xasprintf(&text, "[listener]\nstrict = %s\n", good[i].s);
		cf = load_ok(text);
		ck_assert_int_eq(cf->listener.strict, good[i].v);
		config_free(cf);
		free(text);
	}
	ck_assert_int_eq(config_parse_bool("maybe", &b), -1);
	ck_assert_int_eq(config_parse_bool("", &b), -1);
	ck_assert_int_eq(config_parse_bool("yess", &b), -1);
	load_fail("[listener]\nstrict = maybe\n",
	    "main.conf:2:10: invalid boolean 'maybe' for key 'strict' "
	    "(expected yes, no, true, false, on, off, 1 or 0)\n");
	load_fail("[listener]\nstrict =\n",
	    "main.conf:2:9: invalid boolean '' for key 'strict' "
	    "(expected yes, no, true, false, on, off, 1 or 0)\n");
	load_fail("[filter f]\nsinks = s\nfinal = 2\n[sink s]\ntype = file\n"
		  "path = /x\n",
	    "main.conf:3:9: invalid boolean '2' for key 'final' "
	    "(expected yes, no, true, false, on, off, 1 or 0)\n");
}
END_TEST

START_TEST(test_uint)
{
	struct config *cf;

	cf = load_ok("[listener]\nthreads = 256\nmax_connections = 1\n"
		     "max_connections_per_ip = 65536\nmax_xml_depth = 8\n"
		     "max_embedding_depth = 64\n");
	ck_assert_uint_eq(cf->listener.threads, 256);
	ck_assert_uint_eq(cf->listener.max_connections, 1);
	ck_assert_uint_eq(cf->listener.max_connections_per_ip, 65536);
	ck_assert_uint_eq(cf->listener.max_xml_depth, 8);
	ck_assert_uint_eq(cf->listener.max_embedding_depth, 64);
	config_free(cf);
	cf = load_ok("[listener]\nthreads = 007\n");
	ck_assert_uint_eq(cf->listener.threads, 7);
	config_free(cf);

	load_fail("[listener]\nthreads = 257\n",
	    "main.conf:2:11: value 257 for key 'threads' out of range "
	    "(0..256)\n");
	load_fail("[listener]\nmax_connections = 0\n",
	    "main.conf:2:19: value 0 for key 'max_connections' out of range "
	    "(1..65536)\n");
	load_fail("[listener]\nmax_xml_depth = 7\n",
	    "main.conf:2:17: value 7 for key 'max_xml_depth' out of range "
	    "(8..1024)\n");
	load_fail("[listener]\nmax_embedding_depth = 65\n",
	    "main.conf:2:23: value 65 for key 'max_embedding_depth' out of "
	    "range (1..64)\n");
	load_fail("[listener]\nthreads = -1\n",
	    "main.conf:2:11: invalid number '-1' for key 'threads' (expected "
	    "an unsigned integer)\n");
	load_fail("[listener]\nthreads = 4x\n",
	    "main.conf:2:11: invalid number '4x' for key 'threads' (expected "
	    "an unsigned integer)\n");
	load_fail("[listener]\nthreads = 1.5\n",
	    "main.conf:2:11: invalid number '1.5' for key 'threads' "
	    "(expected an unsigned integer)\n");
	load_fail("[listener]\nthreads = 99999999999999999999999\n",
	    "main.conf:2:11: value 99999999999999999999999 for key 'threads' "
	    "out of range (0..256)\n");
}
END_TEST

START_TEST(test_port)
{
	struct config *cf;

	cf = load_ok("[listener]\nhttp_port = 65535\n");
	ck_assert_uint_eq(cf->listener.http_port, 65535);
	config_free(cf);
	cf = load_ok("[listener]\nhttp_port = 0\n");
	ck_assert_uint_eq(cf->listener.http_port, 0);
	config_free(cf);
	load_fail("[listener]\nhttp_port = 70000\n",
	    "main.conf:2:13: value 70000 for key 'http_port' out of range "
	    "(0..65535)\n");
	load_fail("[listener]\nhttp_port = 65536\n",
	    "main.conf:2:13: value 65536 for key 'http_port' out of range "
	    "(0..65535)\n");
	load_fail("[listener]\nhttp_port = http\n",
	    "main.conf:2:13: invalid port 'http' for key 'http_port' "
	    "(expected a number from 0 to 65535)\n");
}
END_TEST

START_TEST(test_size)
{
	static const struct {
		const char *s;
		uint64_t v;
	} good[] = {
	    {"0", 0},
	    {"1024", 1024},
	    {"1K", 1024},
	    {"1k", 1024},
	    {"4M", 4194304},
	    {"4MB", 4194304},
	    {"4MiB", 4194304},
	    {"4 M", 4194304},
	    {"1G", 1073741824},
	    {"2GiB", 2147483648ULL},
	    {"10B", 10},
	    {"16KB", 16384},
	};
	static const char *const bad[] = {
	    "",
	    "abc",
	    "-1",
	    "-1K",
	    "0.5M",
	    "4T",
	    "4MM",
	    "M",
	    "4 MB x",
	    "4Mi",
	    "4iB",
	    " 4",
	};
	struct config *cf;
	const char *cause;
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		ck_assert_msg(config_parse_size(good[i].s, &v, &cause) == 0,
		    "%s", good[i].s);
		ck_assert_uint_eq(v, good[i].v);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(config_parse_size(bad[i], &v, &cause) == -1,
		    "'%s' accepted", bad[i]);
		ck_assert_str_eq(
		    cause, "expected a number with optional K, M or G");
	}
	ck_assert_int_eq(config_parse_size("17179869184G", &v, &cause), -1);
	ck_assert_str_eq(cause, "number too large");
	ck_assert_int_eq(
	    config_parse_size("18446744073709551616", &v, &cause), -1);
	ck_assert_str_eq(cause, "number too large");
	ck_assert_int_eq(
	    config_parse_size("18446744073709551615", &v, &cause), 0);
	ck_assert_uint_eq(v, UINT64_MAX);

	cf = load_ok("[listener]\nmax_body = 1G\nconnection_memory = 16K\n");
	ck_assert_uint_eq(cf->listener.max_body, 1073741824);
	ck_assert_uint_eq(cf->listener.connection_memory, 16384);
	config_free(cf);
	cf = load_ok("[listener]\nmax_body = 1K\nconnection_memory = 16M\n");
	ck_assert_uint_eq(cf->listener.max_body, 1024);
	ck_assert_uint_eq(cf->listener.connection_memory, 16777216);
	config_free(cf);
	load_fail("[listener]\nmax_body = abc\n",
	    "main.conf:2:12: invalid size 'abc' for key 'max_body' (expected "
	    "a number with optional K, M or G)\n");
	load_fail("[listener]\nmax_body = -4M\n",
	    "main.conf:2:12: invalid size '-4M' for key 'max_body' (expected "
	    "a number with optional K, M or G)\n");
	load_fail("[listener]\nmax_body = 2G\n",
	    "main.conf:2:12: value 2G for key 'max_body' out of range "
	    "(1K..1G)\n");
	load_fail("[listener]\nmax_body = 1023\n",
	    "main.conf:2:12: value 1023 for key 'max_body' out of range "
	    "(1K..1G)\n");
	load_fail("[listener]\nmax_body = 99999999999999999999G\n",
	    "main.conf:2:12: value 99999999999999999999G for key 'max_body' "
	    "out of range (1K..1G)\n");
	load_fail("[listener]\nconnection_memory = 17M\n",
	    "main.conf:2:21: value 17M for key 'connection_memory' out of "
	    "range (16K..16M)\n");
}
END_TEST

START_TEST(test_duration)
{
	static const struct {
		const char *s;
		uint64_t v;
	} good[] = {
	    {"0", 0},
	    {"30", 30},
	    {"30s", 30},
	    {"30S", 30},
	    {"90m", 5400},
	    {"2h", 7200},
	    {"7d", 604800},
	    {"1 h", 3600},
	};
	static const char *const bad[] = {
	    "",
	    "s",
	    "5x",
	    "-5s",
	    "1.5h",
	    "1h30m",
	    "5ss",
	    "1w",
	};
	struct config *cf;
	const char *cause;
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		ck_assert_msg(config_parse_duration(good[i].s, &v, &cause) == 0,
		    "%s", good[i].s);
		ck_assert_uint_eq(v, good[i].v);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(config_parse_duration(bad[i], &v, &cause) == -1,
		    "'%s' accepted", bad[i]);
		ck_assert_str_eq(
		    cause, "expected a number with optional s, m, h or d");
	}
	ck_assert_int_eq(
	    config_parse_duration("999999999999999999d", &v, &cause), -1);
	ck_assert_str_eq(cause, "number too large");

	cf = load_ok("[listener]\ntimeout = 1h\n[daemon]\n"
		     "shutdown_timeout = 10m\n");
	ck_assert_uint_eq(cf->listener.timeout, 3600);
	ck_assert_uint_eq(cf->daemon.shutdown_timeout, 600);
	config_free(cf);
	cf = load_ok("[listener]\ntimeout = 1\n[daemon]\n"
		     "shutdown_timeout = 90\n");
	ck_assert_uint_eq(cf->listener.timeout, 1);
	ck_assert_uint_eq(cf->daemon.shutdown_timeout, 90);
	config_free(cf);
	load_fail("[listener]\ntimeout = 2h\n",
	    "main.conf:2:11: value 2h for key 'timeout' out of range "
	    "(1s..1h)\n");
	load_fail("[listener]\ntimeout = 0s\n",
	    "main.conf:2:11: value 0s for key 'timeout' out of range "
	    "(1s..1h)\n");
	load_fail("[daemon]\nshutdown_timeout = 601\n",
	    "main.conf:2:20: value 601 for key 'shutdown_timeout' out of "
	    "range (1s..10m)\n");
	load_fail("[listener]\ntimeout = 5x\n",
	    "main.conf:2:11: invalid duration '5x' for key 'timeout' "
	    "(expected a number with optional s, m, h or d)\n");
}
END_TEST

#define SINK_F(mode)                                                           \
	"[sink s]\ntype = file\npath = /x\nmode = " mode                       \
	"\n[filter f]\nsinks = s\n"

START_TEST(test_mode)
{
	struct config *cf;

	cf = load_ok(SINK_F("0600"));
	ck_assert_uint_eq(cf->sinks[0].mode, 0600);
	config_free(cf);
	cf = load_ok(SINK_F("644"));
	ck_assert_uint_eq(cf->sinks[0].mode, 0644);
	config_free(cf);
	cf = load_ok(SINK_F("07777"));
	ck_assert_uint_eq(cf->sinks[0].mode, 07777);
	config_free(cf);
	load_fail(SINK_F("010000"),
	    "main.conf:4:8: invalid file mode '010000' for key 'mode' "
	    "(expected an octal number up to 07777)\n");
	load_fail(SINK_F("0999"),
	    "main.conf:4:8: invalid file mode '0999' for key 'mode' "
	    "(expected an octal number up to 07777)\n");
	load_fail(SINK_F("rw-r-----"),
	    "main.conf:4:8: invalid file mode 'rw-r-----' for key 'mode' "
	    "(expected an octal number up to 07777)\n");
}
END_TEST

START_TEST(test_log_level)
{
	static const struct {
		const char *s;
		int v;
	} good[] = {
	    {"debug", LOG_DEBUG},
	    {"info", LOG_INFO},
	    {"notice", LOG_NOTICE},
	    {"warning", LOG_WARNING},
	    {"err", LOG_ERR},
	    {"crit", LOG_CRIT},
	    {"DEBUG", LOG_DEBUG},
	};
	struct config *cf;
	char *text;
	size_t i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		xasprintf(&text, "[daemon]\nlog_level = %s\n", good[i].s);
		cf = load_ok(text);
		ck_assert_int_eq(cf->daemon.log_level, good[i].v);
		config_free(cf);
		free(text);
	}
	load_fail("[daemon]\nlog_level = loud\n",
	    "main.conf:2:13: invalid log level 'loud' for key 'log_level' "
	    "(expected debug, info, notice, warning, err or crit)\n");
}
END_TEST

START_TEST(test_enum)
{
	load_fail("[sink s]\ntype = file\npath = /x\nformat = xml\n"
		  "[filter f]\nsinks = s\n",
	    "main.conf:4:10: invalid value 'xml' for key 'format' (expected "
	    "json, mof or template)\n");
	load_fail("[sink s]\ntype = File\npath = /x\n[filter f]\nsinks = s\n",
	    "main.conf:2:8: invalid value 'File' for key 'type' (expected "
	    "file, syslog, journal, socket or exec)\n");
}
END_TEST

/* [metrics]: once, no name, listen as HOST:PORT. */
START_TEST(test_metrics)
{
	static const char *const bad[] = {
		"9188", "localhost", "127.0.0.1:", "127.0.0.1:0",
		"127.0.0.1:65536", "::1:9188", "[::1]9188", "[::1]:x", ":9188",
	};
	struct config *cf;
	char *text, *want;
	size_t i;

	cf = load_ok("[metrics]\nlisten = 127.0.0.1:9188\n");
	ck_assert_str_eq(cf->metrics.listen, "127.0.0.1:9188");
	config_free(cf);
	cf = load_ok("[metrics]\nlisten = [::1]:9188\n");
	ck_assert_str_eq(cf->metrics.listen, "[::1]:9188");
	config_free(cf);
	cf = load_ok("[daemon]\n");
	ck_assert(cf->metrics.listen == NULL || *cf->metrics.listen == '\0');
	config_free(cf);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		xasprintf(&text, "[metrics]\nlisten = %s\n", bad[i]);
		xasprintf(&want, "main.conf:2:10: invalid address '%s' for key "
		    "'listen' (expected HOST:PORT, as in 127.0.0.1:9188 or "
		    "[::1]:9188)\n", bad[i]);
		load_fail(text, want);
		free(text);
		free(want);
	}
	load_fail("[metrics]\n[metrics]\n",
	    "main.conf:2: duplicate section [metrics] (first at line 1)\n");
	load_fail("[metrics x]\n", "main.conf:1: section [metrics] takes no "
	    "name\n");
	load_fail("[metrics]\nport = 1\n",
	    "main.conf:2: unknown key 'port' in section [metrics]\n");
}
END_TEST

START_TEST(test_list)
{
	struct config *cf;

	cf = load_ok("[listener]\nbind = 127.0.0.1 ,::1,  0.0.0.0 , "
		     "fe80::1\n");
	ck_assert_uint_eq(cf->listener.nbind, 4);
	ck_assert_str_eq(cf->listener.bind[0], "127.0.0.1");
	ck_assert_str_eq(cf->listener.bind[1], "::1");
	ck_assert_str_eq(cf->listener.bind[2], "0.0.0.0");
	ck_assert_str_eq(cf->listener.bind[3], "fe80::1");
	ck_assert_ptr_null(cf->listener.bind[4]);
	config_free(cf);
	load_fail("[listener]\nbind = ::1, localhost, 10.0.0.256\n",
	    "main.conf:2:13: invalid address 'localhost' in key 'bind' "
	    "(expected an IPv4 or IPv6 address)\n"
	    "main.conf:2:24: invalid address '10.0.0.256' in key 'bind' "
	    "(expected an IPv4 or IPv6 address)\n");
	load_fail("[listener]\nbind = ::1,,::2,\n",
	    "main.conf:2:12: empty item in key 'bind'\n"
	    "main.conf:2:17: empty item in key 'bind'\n");
	load_fail("[listener]\nbind =\n",
	    "main.conf:2:7: empty value for key 'bind'\n");
	load_fail("[listener]\nbind = [::1]\n",
	    "main.conf:2:8: invalid address '[::1]' in key 'bind' "
	    "(expected an IPv4 or IPv6 address)\n");
}
END_TEST

START_TEST(test_paths)
{
	struct config *cf;
	char *want, *text;

	cf = load_ok("[sink a]\ntype = file\npath = logs/a.jsonl\n"
		     "[sink b]\ntype = file\npath = ./x/../../b.jsonl\n"
		     "[sink c]\ntype = file\npath = /abs//./c.jsonl/\n"
		     "[filter f]\nsinks = a, b, c\n");
	xasprintf(&want, "%s/logs/a.jsonl", tmpdir);
	ck_assert_str_eq(cf->sinks[0].path, want);
	free(want);
	text = xstrdup(tmpdir);
	*strrchr(text, '/') = '\0';
	xasprintf(&want, "%s/b.jsonl", text);
	free(text);
	ck_assert_str_eq(cf->sinks[1].path, want);
	free(want);
	ck_assert_str_eq(cf->sinks[2].path, "/abs/c.jsonl");
	config_free(cf);
	load_fail("[sink a]\ntype = file\npath =\n[filter f]\nsinks = a\n",
	    "main.conf:3:7: empty value for key 'path'\n");
}
END_TEST

/* A relative main file: its directory is made absolute with the cwd. */
START_TEST(test_relative_main)
{
	char cwd[PATH_MAX], *want, *errs;
	struct config *cf;

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
	ck_assert_int_eq(chdir(SRCDIR "/tests"), 0);
	cf = load("data/config/full.conf", &errs);
	ck_assert_int_eq(chdir(cwd), 0);
	ck_assert_str_eq(errs, "");
	free(errs);
	ck_assert_ptr_nonnull(cf);
	ck_assert_str_eq(cf->file, "data/config/full.conf");
	ck_assert_str_eq(cf->sinks[1].origin.file, "data/config/full.conf");
	xasprintf(&want, "%s/tests/data/config/logs/rest.jsonl", realsrc);
	ck_assert_str_eq(cf->sinks[1].path, want);
	free(want);
	config_free(cf);
}
END_TEST

START_TEST(test_duplicate_key)
{
	load_fail("[listener]\n\ntimeout = 5s\nthreads = 1\ntimeout = 6s\n",
	    "main.conf:5: duplicate key 'timeout' (first set at line 3)\n");
	load_fail("[listener]\nthreads = 1\n[daemon]\n[listener]\n"
		  "threads = 2\n",
	    "main.conf:4: duplicate section [listener] (first at line 1)\n"
	    "main.conf:5: duplicate key 'threads' (first set at line 2)\n");
	load_fail("[sink s]\ntype = file\npath = /a\ntype = file\n"
		  "[filter f]\nsinks = s\nsinks = s\n",
	    "main.conf:4: duplicate key 'type' (first set at line 2)\n"
	    "main.conf:7: duplicate key 'sinks' (first set at line 6)\n");
	/* The same key in two sinks is no duplicate. */
	config_free(load_ok(
	    "[sink a]\ntype = file\npath = /a\n"
	    "[sink b]\ntype = file\npath = /b\n[filter f]\nsinks = a,b\n"));
}
END_TEST

START_TEST(test_unknown)
{
	load_fail("[listener]\nfoo = 1\nhttp_port = 1\n",
	    "main.conf:2: unknown key 'foo' in section [listener]\n");
	load_fail("[daemon]\nhttp_port = 1\n",
	    "main.conf:2: unknown key 'http_port' in section [daemon]\n");
	load_fail("[sink s]\ntype = file\npath = /a\nsinks = x\n"
		  "[filter f]\nsinks = s\ncolor = red\n",
	    "main.conf:4: unknown key 'sinks' in section [sink s]\n"
	    "main.conf:7: unknown key 'color' in section [filter f]\n");
	load_fail("[foo]\nbar = 1\n[listener]\nHTTP_PORT = 1\n",
	    "main.conf:1: unknown section [foo]\n"
	    "main.conf:4: unknown key 'HTTP_PORT' in section [listener]\n");
	load_fail(
	    "[ foo  bar ]\n", "main.conf:1: unknown section [foo  bar]\n");
	load_fail("http_port = 1\n[listener]\n",
	    "main.conf:1: key 'http_port' outside of any section\n");
}
END_TEST

START_TEST(test_malformed)
{
	static const char nul[] = "[listener]\nthreads = 1\nfoo\0 = 1\n"
				  "bar = 2\n";

	load_fail(
	    "[listener\n", "main.conf:1: missing ']' in section header\n");
	load_fail("[listener] x\n",
	    "main.conf:1: unexpected text after section header\n");
	load_fail("[listener] junk\nthreads = 1\n",
	    "main.conf:1: unexpected text after section header\n");
	config_free(load_ok("[ listener ] ; comment\n[daemon];x\n"));
	load_fail("[listener x]\n",
	    "main.conf:1: section [listener] takes no name\n");
	load_fail("[sink]\ntype = file\n",
	    "main.conf:1: section [sink] needs a name, as in [sink NAME]\n");
	load_fail("[filter a/b]\nsinks = x\n",
	    "main.conf:1: invalid filter name 'a/b' (1 to 64 of the "
	    "characters A-Z a-z 0-9 _ . -)\n");
	load_fail("[sink a b]\n",
	    "main.conf:1: invalid sink name 'a b' (1 to 64 of the characters "
	    "A-Z a-z 0-9 _ . -)\n");
	load_fail("[listener]\nthreads\nhttp_port = 1\n",
	    "main.conf:2: expected 'key = value', '[section]' or a comment\n");
	load_fail(
	    "[listener]\n= 1\n", "main.conf:2: missing key name before '='\n");
	load_fail("[listener]\nhttp port = 1\n",
	    "main.conf:2: invalid key name 'http port'\n");
	load_fail_n(nul, sizeof nul - 1,
	    "main.conf:3: NUL byte in line\n"
	    "main.conf:4: unknown key 'bar' in section [listener]\n");
	load_fail("[listener]\nthreads: 4\n",
	    "main.conf:2: expected 'key = value', '[section]' or a comment\n");
	/* A malformed line swallows its continuation lines silently. */
	load_fail("[listener]\nthreads\n  more\n  more\n",
	    "main.conf:2: expected 'key = value', '[section]' or a comment\n");
}
END_TEST

START_TEST(test_name_limits)
{
	char name[80], *text, *want;

	memset(name, 'n', 64);
	name[64] = '\0';
	xasprintf(&text,
	    "[sink %s]\ntype = file\npath = /x\n"
	    "[filter Ok_1.-x]\nsinks = %s\n",
	    name, name);
	config_free(load_ok(text));
	free(text);
	strcat(name, "n");
	xasprintf(&text, "[sink %s]\n", name);
	xasprintf(&want,
	    "main.conf:1: invalid sink name '%s' (1 to 64 of "
	    "the characters A-Z a-z 0-9 _ . -)\n",
	    name);
	load_fail(text, want);
	free(text);
	free(want);
	memset(name, 'k', 65);
	xasprintf(&text, "[listener]\n%s = 1\n", name);
	load_fail(text, "main.conf:2: key name too long (at most 64 "
			"characters)\n");
	free(text);
}
END_TEST

/* Values of any length reach the handler intact, on one line or several. */
START_TEST(test_long_value)
{
	struct buf b = BUF_INIT;
	char *text, *want, *a, *c;
	struct config *cf;

	a = xmalloc(701);
	memset(a, 'a', 700);
	a[700] = '\0';
	buf_printf(&b,
	    "[sink long]\ntype = file\npath = /%s\n"
	    "[filter f]\nsinks = long\n",
	    a);
	text = buf_steal(&b, NULL);
	cf = load_ok(text);
	xasprintf(&want, "/%s", a);
	ck_assert_uint_eq(strlen(cf->sinks[0].path), 701);
	ck_assert_str_eq(cf->sinks[0].path, want);
	config_free(cf);
	free(text);
	free(want);

	/* 700 characters over three lines, joined with one space each. */
	c = xmalloc(301);
	memset(c, 'c', 300);
	c[300] = '\0';
	a[200] = '\0';
	buf_printf(&b,
	    "[sink long]\ntype = file\npath = /%s\n   %s  \n"
	    "\t\t%s\n[filter f]\nsinks = long\n",
	    a, c, a);
	text = buf_steal(&b, NULL);
	cf = load_ok(text);
	xasprintf(&want, "/%s %s %s", a, c, a);
	ck_assert_uint_eq(strlen(cf->sinks[0].path), 703);
	ck_assert_str_eq(cf->sinks[0].path, want);
	config_free(cf);
	free(text);
	free(want);

	/* A long line is one line: an error after it has the right number. */
	a[200] = 'a';
	buf_printf(&b, "[listener]\nbind = ::1,%s\nfoo = 1\n", a);
	text = buf_steal(&b, NULL);
	xasprintf(&want,
	    "main.conf:2:12: invalid address '%s' in key 'bind' "
	    "(expected an IPv4 or IPv6 address)\n"
	    "main.conf:3: unknown key 'foo' in section [listener]\n",
	    a);
	load_fail(text, want);
	free(text);
	free(want);
	free(a);
	free(c);
}
END_TEST

START_TEST(test_quoting)
{
	struct config *cf;
	char *errs;

	cf = load(DATA "/quoting.conf", &errs);
	ck_assert_str_eq(errs, "");
	free(errs);
	ck_assert_ptr_nonnull(cf);
	/* "\;" is a literal ';' (backslash removed), ";" after text too. */
	ck_assert_str_eq(cf->sinks[0].path, "/tmp/\"a ; b\" ;c;d");
	/* " ;" starts a comment, even inside quotes. */
	ck_assert_str_eq(cf->sinks[1].path, "/tmp/\"x");
	/* So does a ';' after a tab; the tab goes with the trailing blanks. */
	ck_assert_str_eq(cf->sinks[2].path, "/tmp/t");
	config_free(cf);

	cf = load_ok("[sink s]\ntype = file\npath=;x\n[filter f]\nsinks=s\n");
	ck_assert(strstr(cf->sinks[0].path, "/;x") != NULL);
	config_free(cf);
	cf = load_ok("[sink s]\ntype = file\npath = /x\\\\;y ;z\n[filter f]\n"
		     "sinks = s\n");
	ck_assert_str_eq(cf->sinks[0].path, "/x\\;y");
	config_free(cf);
	/* A value that is only a comment is empty. */
	load_fail("[sink s]\ntype = file\npath = ; nothing\n[filter f]\n"
		  "sinks = s\n",
	    "main.conf:3:8: empty value for key 'path'\n");
}
END_TEST

START_TEST(test_continuation)
{
	struct config *cf;
	char *errs;

	/* An unknown sink on a continuation line is pointed at exactly. */
	cf = load(DATA "/continuation.conf", &errs);
	ck_assert_ptr_null(cf);
	ck_assert_str_eq(errs, "continuation.conf:13:2: unknown sink "
			       "'three'\n");
	free(errs);

	cf = load_ok("[listener]\nbind = 127.0.0.1,\n    ::1\n"
		     "\t, ::2\n\n[daemon]\nlog_level =\n  debug\n");
	ck_assert_uint_eq(cf->listener.nbind, 3);
	ck_assert_str_eq(cf->listener.bind[1], "::1");
	ck_assert_str_eq(cf->listener.bind[2], "::2");
	ck_assert_int_eq(cf->daemon.log_level, LOG_DEBUG);
	config_free(cf);

	/* The value's column follows it to its continuation line. */
	load_fail("[listener]\nmax_body =\n     abc\n",
	    "main.conf:3:6: invalid size 'abc' for key 'max_body' (expected "
	    "a number with optional K, M or G)\n");
	load_fail("[listener]\nbind = ::1,\n  ::2, ,\n",
	    "main.conf:3:7: empty item in key 'bind'\n"
	    "main.conf:3:9: empty item in key 'bind'\n");
	load_fail("[listener]\nbind = ::1,\n  ::2,\n   nowhere\n",
	    "main.conf:4:4: invalid address 'nowhere' in key 'bind' "
	    "(expected an IPv4 or IPv6 address)\n");
	load_fail("  threads = 1\n[listener]\n  threads = 2\n   x\n",
	    "main.conf:1: continuation line without a key\n"
	    "main.conf:3: continuation line without a key\n");
}
END_TEST

/* An indented key is a continuation of the previous value, not a key. */
START_TEST(test_indented_key)
{
	load_fail("[listener]\nhttp_port = 5988\n  threads = 4\n",
	    "main.conf:2:13: invalid port '5988 threads = 4' for key "
	    "'http_port' (expected a number from 0 to 65535)\n");
	/* ... and so a repeated key on an indented line is not lost either. */
	load_fail("[listener]\ntimeout = 5s\n    timeout = 6s\n",
	    "main.conf:2:11: invalid duration '5s timeout = 6s' for key "
	    "'timeout' (expected a number with optional s, m, h or d)\n");
}
END_TEST

START_TEST(test_crlf_bom)
{
	static const char good[] =
	    "\xef\xbb\xbf[listener]\r\nhttp_port = 6000"
	    "\r\nbind = ::1,\r\n  ::2 ; c\r\n\r\n[daemon]\r\nlog_level = err";
	static const char bad[] = "\xef\xbb\xbf[listener]\r\nhttp_port = 6000"
				  "\r\n[daemon]\r\nlog_level = bad\r\n";
	struct config *cf;
	char *path, *errs;

	path = write_tmp("main.conf", good, sizeof good - 1);
	cf = load(path, &errs);
	ck_assert_str_eq(errs, "");
	free(errs);
	free(path);
	ck_assert_ptr_nonnull(cf);
	ck_assert_uint_eq(cf->listener.http_port, 6000);
	ck_assert_uint_eq(cf->listener.nbind, 2);
	ck_assert_str_eq(cf->listener.bind[0], "::1");
	ck_assert_str_eq(cf->listener.bind[1], "::2");
	ck_assert_int_eq(cf->daemon.log_level, LOG_ERR);
	config_free(cf);

	/* No '\r' in values or messages; columns as seen in an editor. */
	load_fail(bad,
	    "main.conf:4:13: invalid log level 'bad' for key "
	    "'log_level' (expected debug, info, notice, warning, err or "
	    "crit)\n");
	load_fail("\xef\xbb\xbfhttp_port = 1\n",
	    "main.conf:1: key 'http_port' outside of any section\n");
	load_fail("\xef\xbb\xbf  x\n",
	    "main.conf:1: continuation line without a key\n");
	/* A BOM is only a BOM at the start of the file. */
	load_fail("[listener]\n\xef\xbb\xbfhttp_port = 1\n",
	    "main.conf:2: invalid key name '\xef\xbb\xbfhttp_port'\n");
	load_fail("[listener]\nmax_body = \xc3\xa9t\xc3\xa9\n"
		  "bind = \xc3\xa9, \xc3\xa9t\xc3\xa9\n",
	    "main.conf:2:12: invalid size '\xc3\xa9t\xc3\xa9' for key "
	    "'max_body' (expected a number with optional K, M or G)\n"
	    "main.conf:3:8: invalid address '\xc3\xa9' in key 'bind' "
	    "(expected an IPv4 or IPv6 address)\n"
	    "main.conf:3:11: invalid address '\xc3\xa9t\xc3\xa9' in key "
	    "'bind' (expected an IPv4 or IPv6 address)\n");
}
END_TEST

START_TEST(test_dropins)
{
	struct config *cf;
	char *errs, *want;

	cf = load(DATA "/dropins/main.conf", &errs);
	ck_assert_str_eq(errs, "");
	free(errs);
	ck_assert_ptr_nonnull(cf);
	ck_assert_uint_eq(cf->nfiles, 4);
	ck_assert_str_eq(cf->files[0], DATA "/dropins/main.conf");
	ck_assert_str_eq(cf->files[1], DATA "/dropins/conf.d/10-a.conf");
	ck_assert_str_eq(cf->files[2], DATA "/dropins/conf.d/20-b.conf");
	ck_assert_str_eq(cf->files[3], DATA "/dropins/conf.d/B.conf");
	/* Later files override; keys they do not set stay. */
	ck_assert_uint_eq(cf->listener.http_port, 3000);
	ck_assert_uint_eq(cf->listener.threads, 4);
	ck_assert_uint_eq(cf->listener.max_body, 1024 * 1024);
	ck_assert_int_eq(cf->daemon.log_level, LOG_NOTICE);
	ck_assert_uint_eq(cf->nsinks, 2);
	xasprintf(&want, "%s/tests/data/config/dropins/main.jsonl", realsrc);
	ck_assert_str_eq(cf->sinks[0].path, want);
	free(want);
	xasprintf(
	    &want, "%s/tests/data/config/dropins/conf.d/extra.jsonl", realsrc);
	ck_assert_str_eq(cf->sinks[1].path, want);
	free(want);
	ck_assert_str_eq(cf->sinks[1].origin.file, cf->files[2]);
	ck_assert_uint_eq(cf->sinks[1].origin.line, 4);
	ck_assert_uint_eq(cf->nfilters, 1);
	config_free(cf);
}
END_TEST

START_TEST(test_dropins_tmp)
{
	static const char a[] = "[listener]\nfoo = 1\n";
	static const char b[] = "[listener]\nthreads = 999\n";
	char *p1, *p2, *p3, *errs, *dir;
	struct config *cf;

	p1 = write_tmp("conf.d/b.conf", a, sizeof a - 1);
	p2 = write_tmp("conf.d/a.conf", b, sizeof b - 1);
	p3 = write_tmp("main.conf", "[listener]\nbar = 2\n", 19);
	xasprintf(&dir, "%s/conf.d/dir.conf", tmpdir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	free(dir);
	free(write_tmp("conf.d/.hidden.conf", "junk\n", 5));
	free(write_tmp("conf.d/x.conf~", "junk\n", 5));
	free(write_tmp("conf.d/.conf", "junk\n", 5));
	cf = load(p3, &errs);
	ck_assert_ptr_null(cf);
	ck_assert_str_eq(errs,
	    "main.conf:2: unknown key 'bar' in section [listener]\n"
	    "conf.d/a.conf:2:11: value 999 for key 'threads' out of range "
	    "(0..256)\n"
	    "conf.d/b.conf:2: unknown key 'foo' in section [listener]\n"
	    "conf.d/dir.conf: cannot open: Is a directory\n");
	free(errs);
	free(p1);
	free(p2);
	free(p3);
}
END_TEST

START_TEST(test_duplicate_sink)
{
	char *errs;

	ck_assert_ptr_null(load(DATA "/dupsink/main.conf", &errs));
	ck_assert_str_eq(errs,
	    "dupsink/conf.d/50-dup.conf:3: sink 's' is already defined at "
	    "dupsink/main.conf:1\n"
	    "dupsink/conf.d/50-dup.conf:7: filter 'f' is already defined at "
	    "dupsink/main.conf:5\n");
	free(errs);
	load_fail("[sink x]\ntype = file\npath = /x\n[sink x]\nfoo = 1\n"
		  "[filter f]\nsinks = x\n",
	    "main.conf:4: sink 'x' is already defined at main.conf:1\n");
}
END_TEST

START_TEST(test_cross_checks)
{
	load_fail("[filter f]\nsinks = a, b,c\n[sink a]\ntype = file\n"
		  "path = /a\n",
	    "main.conf:2:12: unknown sink 'b'\n"
	    "main.conf:2:14: unknown sink 'c'\n");
	load_fail("[sink a]\npath = /a\n[filter f]\nsinks = a\n",
	    "main.conf:1: sink 'a' has no type\n");
	load_fail("[sink a]\ntype = file\n[filter f]\nsinks = a\n",
	    "main.conf:1: file sink 'a' has no path\n");
	load_fail("[sink a]\ntype = file\npath = /a\n[filter f]\nfinal = yes\n",
	    "main.conf:4: filter 'f' has no sinks\n");
	load_fail(
	    "[sink a]\ntype = file\npath = /log/x\n[sink b]\ntype = file\n"
	    "path = /log/./x\n[filter f]\nsinks = a, b\n",
	    "main.conf:6:8: sink 'b' writes to the same file as sink 'a' "
	    "(main.conf:1)\n");
	/* An unused sink is only a warning. */
	config_free(load_ok("[sink a]\ntype = file\npath = /a\n[sink b]\n"
			    "type = file\npath = /b\n[filter f]\nsinks = a\n"));
	/* A bad type is reported once, not again as a missing one. */
	load_fail("[sink a]\ntype = fil\npath = /a\n[filter f]\nsinks = a\n",
	    "main.conf:2:8: invalid value 'fil' for key 'type' (expected "
	    "file, syslog, journal, socket or exec)\n");
	load_fail("[filter f]\nsinks = ,\n",
	    "main.conf:2:9: empty item in key 'sinks'\n"
	    "main.conf:2:10: empty item in key 'sinks'\n");
}
END_TEST

START_TEST(test_unimplemented)
{
	struct config *cf;

	/* The values that mean "off" are accepted. */
	cf = load_ok(
	    "[listener]\nhttps_port = 0\nauth = none\ncertfile =\n"
	    "keyfile=\ntrustfile =\nusers_file =\nallow =\n"
	    "allowed_clients =\ntls_priorities =\n"
	    "allow_basic_over_http = no\n"
	    "[daemon]\ncontrol_socket =\ncontrol_group =\n"
	    "user =\ngroup =\npid_file =\nreject_dir =\n"
	    "[sink s]\ntype = file\npath = /x\nrotate_size = 0\ntemplate =\n"
	    "severity =\n[filter f]\nsinks = s\nwhere =\n");
	ck_assert_ptr_null(cf->filters[0].where);
	config_free(cf);

	load_fail("[daemon]\npid_file = /run/c.pid\nreject_dir = /x\n"
		  "pid_file =\nreject_keep = 0\n",
	    "main.conf:4: duplicate key 'pid_file' (first set at line 2)\n"
	    "main.conf:5:15: value 0 for key 'reject_keep' out of range "
	    "(1..100000)\n");
	/* The spool keys are implemented: any valid value is taken. */
	cf = load_ok("[daemon]\nspool_dir = /var/lib/cimlisten\n"
		     "spool_max_size = 1G\nspool_max_age = 7d\n"
		     "fsync = always\n");
	ck_assert_int_eq(cf->daemon.fsync, 2);
	config_free(cf);
	load_fail("[daemon]\nspool_max_size = 1M\nfsync = sometimes\n"
		  "pid_file = /run/c.pid\n",
	    "main.conf:2:18: value 1M for key 'spool_max_size' out of range "
	    "(16M..1024G)\n"
	    "main.conf:3:9: invalid value 'sometimes' for key 'fsync' "
	    "(expected none, batch or always)\n");
	/* Socket sinks are implemented. */
	cf = load_ok("[sink s]\ntype = socket\npath = /s\nbuffer = 10\n"
		     "max_subscribers = 3\nmode = 0660\n[filter f]\nsinks = s\n");
	ck_assert_str_eq(cf->sinks[0].type, "socket");
	ck_assert_uint_eq(cf->sinks[0].buffer, 10);
	ck_assert_uint_eq(cf->sinks[0].max_subscribers, 3);
	ck_assert_uint_eq(cf->sinks[0].mode, 0660);
	config_free(cf);
	load_fail("[sink s]\ntype = socket\npath = /s\nbuffer = 0\n"
		  "max_subscribers = 5000\n[filter f]\nsinks = s\n",
	    "main.conf:4:10: value 0 for key 'buffer' out of range "
	    "(1..1000000)\n"
	    "main.conf:5:19: value 5000 for key 'max_subscribers' out of range "
	    "(1..4096)\n");
}
END_TEST

START_TEST(test_not_applicable)
{
	load_fail("[sink f]\ncommand = /bin/true\ntype = file\npath = /f\n"
		  "facility = daemon\nbuffer = 10\n[filter f]\nsinks = f\n",
	    "main.conf:2: key 'command' does not apply to sink type 'file'\n"
	    "main.conf:5: key 'facility' does not apply to sink type 'file'\n"
	    "main.conf:6: key 'buffer' does not apply to sink type 'file'\n");
	load_fail("[sink e]\ntype = exec\nmode = 0600\ncommand = x\n"
		  "[filter f]\nsinks = e\n",
	    "main.conf:3: key 'mode' does not apply to sink type 'exec'\n");
}
END_TEST

START_TEST(test_sink_kinds)
{
	struct config *cf;
	const struct sink_conf *sc;

	cf = load_ok("[sink s]\ntype = syslog\nfacility = local3\n"
		     "protocol = rfc3164\nsocket = /run/x.sock\n"
		     "format = template\n"
		     "template = {__SEVERITY} {{x}} {SourceInstance.Name}\n"
		     "severity = crit\nrate_limit = 100\n"
		     "[sink j]\ntype = journal\nident = cim\n"
		     "severity = SourceInstance.PerceivedSeverity\n"
		     "[sink e]\ntype = exec\ncommand = /bin/cat -u\n"
		     "concurrency = 4\ntimeout = 2m\nshell = yes\n"
		     "[sink f]\ntype = file\npath = /f\nformat = mof\n"
		     "rotate_size = 10M\nrotate_keep = 3\nowner = 0\n"
		     "group = root\n"
		     "[filter f]\nsinks = s, j, e, f\n");
	sc = config_find_sink(cf, "s");
	ck_assert_int_eq(sc->facility, 19);
	ck_assert_int_eq(sc->protocol, SYSLOG_RFC3164);
	ck_assert_str_eq(sc->socket, "/run/x.sock");
	ck_assert_int_eq(sc->format, SINK_FORMAT_TEMPLATE);
	ck_assert_ptr_nonnull(sc->tmpl);
	ck_assert_str_eq(sc->severity, "crit");
	ck_assert_uint_eq(sc->rate_limit, 100);
	ck_assert_str_eq(sc->ident, "cimlistend");
	sc = config_find_sink(cf, "j");
	ck_assert_str_eq(sc->ident, "cim");
	ck_assert_int_eq(sc->format, SINK_FORMAT_JSON);
	ck_assert_ptr_null(sc->tmpl);
	sc = config_find_sink(cf, "e");
	ck_assert_str_eq(sc->command, "/bin/cat -u");
	ck_assert_uint_eq(sc->concurrency, 4);
	ck_assert_uint_eq(sc->timeout, 120);
	ck_assert(sc->shell);
	sc = config_find_sink(cf, "f");
	ck_assert_int_eq(sc->format, SINK_FORMAT_MOF);
	ck_assert_uint_eq(sc->rotate_size, 10 * 1024 * 1024);
	ck_assert_uint_eq(sc->rotate_keep, 3);
	ck_assert_uint_eq(sc->uid, 0);
	ck_assert_uint_eq(sc->gid, 0);
	config_free(cf);

	/* Defaults. */
	cf = load_ok("[sink s]\ntype = syslog\n[sink e]\ntype = exec\n"
		     "command = x\n[sink f]\ntype = file\npath = /f\n"
		     "[filter f]\nsinks = s, e, f\n");
	sc = config_find_sink(cf, "s");
	ck_assert_int_eq(sc->facility, 3); /* daemon */
	ck_assert_int_eq(sc->protocol, SYSLOG_RFC5424);
	ck_assert_str_eq(sc->socket, "/dev/log");
	ck_assert(sc->severity == NULL || *sc->severity == '\0');
	sc = config_find_sink(cf, "e");
	ck_assert_uint_eq(sc->concurrency, 1);
	ck_assert_uint_eq(sc->timeout, 10);
	ck_assert(!sc->shell);
	sc = config_find_sink(cf, "f");
	ck_assert_uint_eq(sc->rotate_size, 0);
	ck_assert_uint_eq(sc->uid, (uid_t)-1);
	ck_assert_uint_eq(sc->gid, (gid_t)-1);
	config_free(cf);
}
END_TEST

START_TEST(test_sink_errors)
{
	/* Template errors point at the byte, on continuation lines too. */
	load_fail("[sink f]\ntype = file\npath = /f\nformat = template\n"
		  "template = {__CLASS} {__NOPE}\n[filter f]\nsinks = f\n",
	    "main.conf:5:23: unknown placeholder {__NOPE}: the __ names are "
	    "__CLASS, __SEQ, __TIME, __SOURCE, __PATH, __SEVERITY, __USER, "
	    "__MESSAGE_ID, __FILTERS\n");
	load_fail("[sink f]\ntype = file\npath = /f\nformat = template\n"
		  "template = {__CLASS}\n  sev={Perceived Severity}\n"
		  "[filter f]\nsinks = f\n",
	    "main.conf:6:17: unexpected character ' ' in placeholder (write "
	    "{{ and }} for braces)\n");
	load_fail("[sink f]\ntype = file\npath = /f\nformat = template\n"
		  "template = a } b\n[sink g]\ntype = file\npath = /g\n"
		  "format = template\ntemplate = x {y\n"
		  "[filter f]\nsinks = f, g\n",
	    "main.conf:5:14: single '}' (write }} for a brace)\n"
	    "main.conf:10:14: unclosed '{' (write {{ for a brace)\n");
	load_fail("[sink f]\ntype = file\npath = /f\nformat = template\n"
		  "[sink g]\ntype = file\npath = /g\ntemplate = {x}\n"
		  "[filter f]\nsinks = f, g\n",
	    "main.conf:1: sink 'f' has format = template but no template\n"
	    "main.conf:8: template is set but format is not template\n");
	load_fail("[sink s]\ntype = syslog\nseverity = very bad\n"
		  "facility = local9\nprotocol = rfc1\n"
		  "[filter f]\nsinks = s\n",
	    "main.conf:3:12: severity 'very bad' is neither a syslog level "
	    "(emerg, alert, crit, err, warning, notice, info, debug) nor a "
	    "property name\n"
	    "main.conf:4:12: invalid value 'local9' for key 'facility' "
	    "(expected kern, user, mail, daemon, auth, syslog, lpr, news, "
	    "uucp, cron, authpriv, ftp, local0, local1, local2, local3, "
	    "local4, local5, local6 or local7)\n"
	    "main.conf:5:12: invalid value 'rfc1' for key 'protocol' "
	    "(expected rfc3164 or rfc5424)\n");
	load_fail("[sink e]\ntype = exec\n[sink x]\ntype = exec\n"
		  "command =   \nconcurrency = 0\n"
		  "[filter f]\nsinks = e, x\n",
	    "main.conf:1: exec sink 'e' has no command\n"
	    "main.conf:5:13: empty value for key 'command'\n"
	    "main.conf:6:15: value 0 for key 'concurrency' out of range "
	    "(1..256)\n");
	load_fail("[sink f]\ntype = file\npath = /f\n"
		  "owner = no-such-user-here\ngroup = no-such-group-here\n"
		  "[filter f]\nsinks = f\n",
	    "main.conf:4:9: unknown user 'no-such-user-here'\n"
	    "main.conf:5:9: unknown group 'no-such-group-here'\n");
}
END_TEST

START_TEST(test_many_errors)
{
	char *errs;

	ck_assert_ptr_null(load(DATA "/errors.conf", &errs));
	ck_assert_str_eq(errs,
	    "errors.conf:3:13: value 70000 for key 'http_port' out of range "
	    "(0..65535)\n"
	    "errors.conf:4:12: invalid size 'abc' for key 'max_body' "
	    "(expected a number with optional K, M or G)\n"
	    "errors.conf:5: unknown key 'foo' in section [listener]\n"
	    "errors.conf:7: duplicate key 'timeout' (first set at line 6)\n"
	    "errors.conf:9: unknown section [bogus]\n"
	    "errors.conf:13:13: invalid log level 'loud shutdown_timeout = 5s' "
	    "for key 'log_level' (expected debug, info, notice, warning, err "
	    "or crit)\n"
	    "errors.conf:19: key 'command' does not apply to sink type "
	    "'file'\n"
	    "errors.conf:22:12: unknown sink 'nope'\n");
	free(errs);
}
END_TEST

START_TEST(test_missing_file)
{
	struct config_errors errs = {NULL, 0};
	char *path;

	xasprintf(&path, "%s/nope.conf", tmpdir);
	ck_assert_ptr_null(config_load(path, &errs));
	ck_assert_uint_eq(errs.n, 1);
	free(path);
	path = errors_text(&errs);
	ck_assert_str_eq(path, "nope.conf: cannot open: No such file or "
			       "directory\n");
	free(path);
	config_errors_clear(&errs);
	ck_assert_uint_eq(errs.n, 0);
	ck_assert_ptr_null(errs.msgs);
	/* Errors are appended to what the list already holds. */
	errs.msgs = xcalloc(1, sizeof *errs.msgs);
	errs.msgs[0] = xstrdup("earlier");
	errs.n = 1;
	ck_assert_ptr_null(config_load(tmpdir, &errs));
	ck_assert_uint_eq(errs.n, 2);
	ck_assert_str_eq(errs.msgs[0], "earlier");
	config_errors_clear(&errs);
}
END_TEST

/*
 * Where byte idx of the value of the key on line `keyline` of `conf` comes
 * from, worked out from the text independently of the loader: "\;" is one
 * byte at the backslash, a continuation line adds a joining space at its
 * first non-blank, and one past the end is the column after the last byte.
 * The column counts characters, as every config column does. The test
 * texts have no comments and no trailing blanks.
 */
static void
value_pos(
    const char *conf, unsigned keyline, size_t idx, unsigned *pl, unsigned *pc)
{
	const char *ls = conf, *p, *q;
	unsigned line, col;
	size_t i = 0;

	for (line = 1; line < keyline; line++)
		ls = strchr(ls, '\n') + 1;
	p = strchr(ls, '=') + 1;
	p += strspn(p, " \t");
	for (;;) {
		if (*p == '\n' || *p == '\0') {
			if (*p == '\0' || (p[1] != ' ' && p[1] != '\t')) {
				ck_assert_uint_eq(i, idx);
				break;
			}
			ls = p + 1;
			line++;
			p = ls + strspn(ls, " \t");
			if (i++ == idx)
				break;
			continue;
		}
		if (i == idx)
			break;
		p += p[0] == '\\' && p[1] == ';' ? 2 : 1;
		i++;
	}
	col = 1;
	for (q = ls; q < p; q++)
		if (((unsigned char)*q & 0xc0) != 0x80)
			col++;
	*pl = line;
	*pc = col;
}

/*
 * Load `conf`, whose only problem is a where on line keyline that joins to
 * `expr`: it must fail with exactly "main.conf:LINE:COL: MESSAGE", MESSAGE
 * being filter_compile's and LINE:COL the physical position of the byte it
 * blames. Returns that byte's index, for the caller to check the case
 * tests what it means to, and its physical line in *linep.
 */
static size_t
where_fail(
    const char *conf, unsigned keyline, const char *expr, unsigned *linep)
{
	struct filter_error fe;
	struct filter *f;
	unsigned line, col;
	char *want;

	memset(&fe, 0, sizeof fe);
	f = filter_compile(expr, &fe);
	ck_assert_msg(f == NULL, "'%s' compiles", expr);
	ck_assert_uint_ge(fe.col, 1);
	ck_assert_uint_le(fe.col, strlen(expr) + 1);
	value_pos(conf, keyline, fe.col - 1, &line, &col);
	xasprintf(&want, "main.conf:%u:%u: %s\n", line, col, fe.msg);
	load_fail(conf, want);
	free(want);
	*linep = line;
	return fe.col - 1;
}

/* Load `conf`; it must fail with one error starting with `prefix`. */
static void
load_fail_at(const char *conf, const char *prefix)
{
	char *path, *errs;

	path = write_tmp("main.conf", conf, strlen(conf));
	ck_assert_ptr_null(load(path, &errs));
	ck_assert_msg(strncmp(errs, prefix, strlen(prefix)) == 0 &&
			  strchr(errs, '\n') == errs + strlen(errs) - 1,
	    "want one error at '%s', got:\n%s", prefix, errs);
	free(errs);
	free(path);
}

#define WHERE_HEAD "[sink a]\ntype = file\npath = /a\n[filter f]\nsinks = a\n"

/* A where expression is compiled at load time and kept with its filter. */
START_TEST(test_where_ok)
{
	struct config *cf;

	cf = load_ok(
	    WHERE_HEAD "where = PerceivedSeverity >= 6\n"
		       "[filter g]\nsinks = a\n"
		       "[filter h]\nsinks = a\n"
		       "where = __CLASS = 'CIM_Alert' AND\n"
		       "    Message LIKE 'a\\;b%'\n  OR __USER IS NOT NULL\n"
		       "[filter e]\nsinks = a\nwhere =\n");
	ck_assert_uint_eq(cf->nfilters, 4);
	ck_assert_str_eq(cf->filters[0].where, "PerceivedSeverity >= 6");
	ck_assert_ptr_nonnull(cf->filters[0].filter);
	ck_assert_str_eq(
	    filter_text(cf->filters[0].filter), "PerceivedSeverity >= 6");
	ck_assert_uint_eq(cf->filters[0].where_origin.line, 6);
	ck_assert_uint_eq(cf->filters[0].where_origin.col, 9);
	ck_assert(
	    strstr(cf->filters[0].where_origin.file, "main.conf") != NULL);
	/* No where: no filter, the filter matches everything. */
	ck_assert_ptr_null(cf->filters[1].where);
	ck_assert_ptr_null(cf->filters[1].filter);
	/* Continuations are joined with one space, "\;" is a ';'. */
	ck_assert_str_eq(cf->filters[2].where,
	    "__CLASS = 'CIM_Alert' AND Message LIKE 'a;b%' OR __USER IS NOT "
	    "NULL");
	ck_assert_ptr_nonnull(cf->filters[2].filter);
	ck_assert_str_eq(
	    filter_text(cf->filters[2].filter), cf->filters[2].where);
	/* An empty where is no where. */
	ck_assert_ptr_null(cf->filters[3].where);
	ck_assert_ptr_null(cf->filters[3].filter);
	config_free(cf);
}
END_TEST

/* A compile error on the key's own line: FILE:LINE:COL of the bad byte. */
START_TEST(test_where_error_first_line)
{
	unsigned line;

	/* An error no parser can place elsewhere: the stray ')'. */
	load_fail_at(
	    WHERE_HEAD "where = AlertType = 2 AND )\n", "main.conf:6:27: ");
	load_fail_at("[sink a]\ntype = file\npath = /a\n[filter f]\n"
		     "where=\t\tAlertType = 2 AND )\nsinks = a\n",
	    "main.conf:5:27: ");
	load_fail_at(
	    WHERE_HEAD "where=AlertType = 2 AND )\n", "main.conf:6:25: ");
	where_fail(WHERE_HEAD "where = AlertType = 2 AND )\n", 6,
	    "AlertType = 2 AND )", &line);
	ck_assert_uint_eq(line, 6);
	where_fail(WHERE_HEAD "where = PerceivedSeverity >= 6 AND (AlertType "
			      "= 2 OR\n",
	    6, "PerceivedSeverity >= 6 AND (AlertType = 2 OR", &line);
	where_fail("[sink a]\ntype = file\npath = /a\n[filter f]\n"
		   "where    =   'abc' > 5\nsinks = a\n",
	    5, "'abc' > 5", &line);
	ck_assert_uint_eq(line, 5);
	where_fail(WHERE_HEAD "where = Message = 'never closed\n", 6,
	    "Message = 'never closed", &line);
	ck_assert_uint_eq(line, 6);
	where_fail(WHERE_HEAD "where = Message MATCHES '([a-z]'\n", 6,
	    "Message MATCHES '([a-z]'", &line);
	where_fail(WHERE_HEAD "where = Nope(AlertType) = 2\n", 6,
	    "Nope(AlertType) = 2", &line);
}
END_TEST

/* An error on a continuation line is reported on that physical line. */
START_TEST(test_where_error_continued)
{
	const char *expr;
	unsigned line;
	size_t at;

	load_fail_at(WHERE_HEAD "where = AlertType = 2 AND\n"
				"    Message = 'x' AND )\n",
	    "main.conf:7:23: ");
	load_fail_at(WHERE_HEAD "where = AlertType = 2 AND\n"
				"\tMessage = 'x'\n"
				"      AND )\n",
	    "main.conf:8:11: ");
	expr = "PerceivedSeverity >= 6 AND AlertType = 2 AND "
	       "(Message LIKE '%PSU%' OR ) AND OwningEntity = 'DMTF'";
	at = where_fail(WHERE_HEAD "where = PerceivedSeverity >= 6 AND\n"
				   "   AlertType = 2 AND\n"
				   "     (Message LIKE '%PSU%' OR ) AND\n"
				   "  OwningEntity = 'DMTF'\n",
	    6, expr, &line);
	ck_assert_uint_gt(
	    at, strlen("PerceivedSeverity >= 6 AND AlertType = 2 AND"));
	ck_assert_uint_eq(line, 8);
	/* An unterminated string on the last line. */
	where_fail(WHERE_HEAD "where = AlertType = 2 AND\n   Message = 'oops\n",
	    6, "AlertType = 2 AND Message = 'oops", &line);
	ck_assert_uint_eq(line, 7);
}
END_TEST

/* "\;" and multi-byte characters before the error: the column is physical. */
START_TEST(test_where_error_escapes)
{
	unsigned line;
	size_t at;

	/* Value byte 23 (the ')') is physical column 33: two "\;" before it. */
	load_fail_at(WHERE_HEAD "where = Message = 'a\\;b\\;c' AND )\n",
	    "main.conf:6:33: ");
	at = where_fail(WHERE_HEAD "where = Message = 'a\\;b\\;c' AND )\n", 6,
	    "Message = 'a;b;c' AND )", &line);
	ck_assert_uint_gt(at, strlen("Message = 'a;b;c'"));
	/* Escapes on the first line, the error on the next. */
	load_fail_at(WHERE_HEAD "where = Message = '\\;\\;\\;' AND\n"
				"  ) OR TRUE\n",
	    "main.conf:7:3: ");
	/* Columns count characters, as for every config error. */
	load_fail_at(WHERE_HEAD "where = Message = '\xc3\xa9t\xc3\xa9' AND )\n",
	    "main.conf:6:29: ");
	at = where_fail(WHERE_HEAD "where = Message = 'a\\;\xc3\xa9' AND\n"
				   "  Message = 'b\\;' AND )\n",
	    6, "Message = 'a;\xc3\xa9' AND Message = 'b;' AND )", &line);
	ck_assert_uint_eq(line, 7);
}
END_TEST

/*
 * Every filter's error is reported with the other errors of its file, in
 * line order; the checks across files (unknown sinks) follow.
 */
START_TEST(test_where_errors_all)
{
	struct filter_error e1, e2;
	char *want;

	ck_assert_ptr_null(filter_compile("AlertType = 2 AND )", &e1));
	ck_assert_ptr_null(filter_compile("(AlertType = 2", &e2));
	xasprintf(&want,
	    "main.conf:6:27: %s\n"
	    "main.conf:9: unknown key 'sinkz' in section [filter g]\n"
	    "main.conf:10:%u: %s\n"
	    "main.conf:12:12: unknown sink 'nope'\n",
	    e1.msg, 8 + e2.col, e2.msg);
	load_fail(WHERE_HEAD "where = AlertType = 2 AND )\n"
			     "[filter g]\nsinks = a\n"
			     "sinkz = x\n"
			     "where = (AlertType = 2\n"
			     "[filter ok]\nsinks = a, nope\nwhere = TRUE\n",
	    want);
	free(want);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_shipped);
	tcase_add_test(tc, test_dev);
	tcase_add_test(tc, test_print_keys_documented);
	tcase_add_test(tc, test_man_example);
	tcase_add_test(tc, test_bool);
	tcase_add_test(tc, test_uint);
	tcase_add_test(tc, test_port);
	tcase_add_test(tc, test_size);
	tcase_add_test(tc, test_duration);
	tcase_add_test(tc, test_mode);
	tcase_add_test(tc, test_log_level);
	tcase_add_test(tc, test_enum);
	tcase_add_test(tc, test_metrics);
	tcase_add_test(tc, test_list);
	tcase_add_test(tc, test_paths);
	tcase_add_test(tc, test_relative_main);
	tcase_add_test(tc, test_duplicate_key);
	tcase_add_test(tc, test_unknown);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_name_limits);
	tcase_add_test(tc, test_long_value);
	tcase_add_test(tc, test_quoting);
	tcase_add_test(tc, test_continuation);
	tcase_add_test(tc, test_indented_key);
	tcase_add_test(tc, test_crlf_bom);
	tcase_add_test(tc, test_dropins);
	tcase_add_test(tc, test_dropins_tmp);
	tcase_add_test(tc, test_duplicate_sink);
	tcase_add_test(tc, test_cross_checks);
	tcase_add_test(tc, test_unimplemented);
	tcase_add_test(tc, test_not_applicable);
	tcase_add_test(tc, test_sink_kinds);
	tcase_add_test(tc, test_sink_errors);
	tcase_add_test(tc, test_many_errors);
	tcase_add_test(tc, test_where_ok);
	tcase_add_test(tc, test_where_error_first_line);
	tcase_add_test(tc, test_where_error_continued);
	tcase_add_test(tc, test_where_error_escapes);
	tcase_add_test(tc, test_where_errors_all);
	tcase_add_test(tc, test_missing_file);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(config_suite());
}
