/*
 * Basic authentication: the users-file parser and auth_check directly
 * (yescrypt and SHA-512 hashes made with libcrypt at test time, bad lines,
 * duplicates, a file writable by others, the cache counted by
 * auth_hashes), then the real daemon over HTTPS with libcurl: right
 * credentials 200 with __USER, wrong password and unknown user 401 with
 * WWW-Authenticate, plain HTTP 401 unless allow_basic_over_http, and a
 * second request with the same credentials served from the cache (the
 * daemon's debug line counts the crypt(3) computations).
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <curl/curl.h>

#include "auth.h"
#include "testutil.h"
#include "tlsutil.h"

static char *pki;

/* A crypt(3) hash of pw with the method prefix ("$y$", "$6$"). */
static char *
mkhash(const char *prefix, const char *pw)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data cd;
	char *h;

	memset(&cd, 0, sizeof cd);
	ck_assert_ptr_nonnull(
	    crypt_gensalt_rn(prefix, 0, NULL, 0, salt, sizeof salt));
	h = crypt_r(pw, salt, &cd);
	ck_assert_ptr_nonnull(h);
	ck_assert(h[0] == '$');
	return strdup(h);
}

struct errs {
	char msgs[8][256];
	unsigned lines[8];
	int n;
};

static void
collect(void *arg, unsigned line, const char *msg)
{
	struct errs *e = arg;

	if (e->n < 8) {
		snprintf(e->msgs[e->n], sizeof e->msgs[0], "%s", msg);
		e->lines[e->n] = line;
		e->n++;
	}
}

/* Write a users file (mode) in a fresh dir; returns its path. */
static char *
users_file(const char *text, mode_t mode)
{
	char *dir = tu_tmpdir(), *p;

	ck_assert_int_gt(asprintf(&p, "%s/users", dir), 0);
	tu_write_file(p, text, strlen(text));
	ck_assert_int_eq(chmod(p, mode), 0);
	free(dir);
	return p;
}

START_TEST(t_parse_and_check)
{
	char *y = mkhash("$y$", "secret"), *s6 = mkhash("$6$", "pässword");
	char *text, *p;
	struct errs e = {.n = 0};
	struct auth *a;

	ck_assert_int_gt(asprintf(&text, "# senders\n\nsfcb:%s\r\npegasus:%s\n",
	    y, s6), 0);
	p = users_file(text, 0600);
	a = auth_load(p, collect, &e);
	ck_assert_msg(a != NULL, "%s", e.msgs[0]);
	ck_assert_uint_eq(auth_users(a), 2);
	ck_assert(auth_check(a, "sfcb", "secret"));
	ck_assert(auth_check(a, "pegasus", "pässword"));
	ck_assert(!auth_check(a, "sfcb", "Secret"));
	ck_assert(!auth_check(a, "sfcb", "pässword"));
	ck_assert(!auth_check(a, "nobody", "secret"));
	ck_assert(!auth_check(a, "", ""));
	auth_free(a);
	free(text);
	free(p);
	free(y);
	free(s6);
}
END_TEST

/* A second check of the same right credentials does not hash again. */
START_TEST(t_cache)
{
	char *y = mkhash("$y$", "secret"), *text, *p;
	struct errs e = {.n = 0};
	struct auth *a;
	int i;

	ck_assert_int_gt(asprintf(&text, "sfcb:%s\n", y), 0);
	p = users_file(text, 0640);
	a = auth_load(p, collect, &e);
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(auth_hashes(a), 0);
	ck_assert(auth_check(a, "sfcb", "secret"));
	ck_assert_uint_eq(auth_hashes(a), 1);
	for (i = 0; i < 10; i++)
		ck_assert(auth_check(a, "sfcb", "secret"));
	ck_assert_uint_eq(auth_hashes(a), 1);
	/* wrong ones are never cached */
	ck_assert(!auth_check(a, "sfcb", "wrong"));
	ck_assert(!auth_check(a, "sfcb", "wrong"));
	ck_assert_uint_eq(auth_hashes(a), 3);
	/* unknown users pay a hash too (against the dummy) */
	ck_assert(!auth_check(a, "nobody", "secret"));
	ck_assert_uint_eq(auth_hashes(a), 4);
	/* "user:password" as the key: a colon moved is another credential */
	ck_assert(!auth_check(a, "sfcb:", "ecret"));
	auth_free(a);
	free(text);
	free(p);
	free(y);
}
END_TEST

START_TEST(t_bad_files)
{
	char *y = mkhash("$y$", "x"), *text, *p;
	struct errs e = {.n = 0};

	ck_assert_int_gt(asprintf(&text, "a:%s\nnocolon\n:%s\nb:plaintext\n"
	    "a:%s\nc:%s:extra\n", y, y, y, y), 0);
	p = users_file(text, 0600);
	ck_assert_ptr_null(auth_load(p, collect, &e));
	ck_assert_int_eq(e.n, 5);
	ck_assert_uint_eq(e.lines[0], 2);
	ck_assert_uint_eq(e.lines[1], 3);
	ck_assert_uint_eq(e.lines[2], 4);
	ck_assert_ptr_nonnull(strstr(e.msgs[2], "not a crypt(3) hash"));
	ck_assert_uint_eq(e.lines[3], 5);
	ck_assert_ptr_nonnull(strstr(e.msgs[3], "duplicate user 'a'"));
	ck_assert_uint_eq(e.lines[4], 6);
	free(p);
	free(text);

	/* writable by others */
	ck_assert_int_gt(asprintf(&text, "a:%s\n", y), 0);
	p = users_file(text, 0602);
	e.n = 0;
	ck_assert_ptr_null(auth_load(p, collect, &e));
	ck_assert_int_eq(e.n, 1);
	ck_assert_ptr_nonnull(strstr(e.msgs[0], "writable by others"));
	free(p);
	/* empty, missing */
	p = users_file("# nobody\n", 0600);
	e.n = 0;
	ck_assert_ptr_null(auth_load(p, collect, &e));
	ck_assert_ptr_nonnull(strstr(e.msgs[0], "no users"));
	e.n = 0;
	ck_assert_ptr_null(auth_load("/nonexistent/users", collect, &e));
	ck_assert_ptr_nonnull(strstr(e.msgs[0], "No such file"));
	free(p);
	free(text);
	free(y);
}
END_TEST

/* A daemon with HTTPS, auth = basic and a users file sfcb:secret. */
static struct tu_daemon *
start_basic(unsigned *hp, const char *extra)
{
	char *y = mkhash("$y$", "secret"), *text, *p, *lx;
	struct tu_daemon *d;

	ck_assert_int_gt(asprintf(&text, "sfcb:%s\n", y), 0);
	p = users_file(text, 0600);
	*hp = tu_free_port();
	ck_assert_int_gt(asprintf(&lx, "https_port = %u\ncertfile = %s/srv.crt\n"
	    "keyfile = %s/srv.key\nauth = basic\nusers_file = %s\n%s", *hp, pki,
	    pki, p, extra != NULL ? extra : ""), 0);
	d = tu_daemon_start(lx, NULL);
	ck_assert(tls_wait_port(*hp, 10000));
	free(lx);
	free(p);
	free(text);
	free(y);
	return d;
}

/* The CA's path (kept for the life of the process). */
static char *
pf_ca(void)
{
	static char *p;

	if (p == NULL)
		ck_assert_int_gt(asprintf(&p, "%s/ca.crt", pki), 0);
	return p;
}

static int
count_in_log(struct tu_daemon *d, const char *needle)
{
	char *log = tu_read_file(d->errlog, NULL), *p;
	int n = 0;

	for (p = log; p != NULL && (p = strstr(p, needle)) != NULL; p++)
		n++;
	free(log);
	return n;
}

START_TEST(t_daemon_basic)
{
	unsigned hp;
	struct tu_daemon *d = start_basic(&hp, NULL);
	char *ca = pf_ca(), *h = NULL, *v;
	struct tls_req ok = {.cacert = ca, .userpwd = "sfcb:secret",
	    .https = true};
	struct tls_req wrong = {.cacert = ca, .userpwd = "sfcb:Secret",
	    .https = true};
	struct tls_req unknown = {.cacert = ca, .userpwd = "nobody:secret",
	    .https = true};
	struct tls_req none = {.cacert = ca, .https = true};
	struct tls_req plain = {.userpwd = "sfcb:secret", .https = false};
	size_t n;
	char **lines;
	json_object *o;

	ck_assert_int_eq(tls_post(hp, &none, &h), 401);
	ck_assert_ptr_nonnull(
	    strstr(h, "WWW-Authenticate: Basic realm=\"cimlisten\""));
	free(h);
	ck_assert_int_eq(tls_post(hp, &wrong, &h), 401);
	ck_assert_ptr_nonnull(strstr(h, "WWW-Authenticate: Basic"));
	free(h);
	ck_assert_int_eq(tls_post(hp, &unknown, &h), 401);
	ck_assert_ptr_nonnull(strstr(h, "WWW-Authenticate: Basic"));
	free(h);
	/* over plain HTTP, never checked, no challenge */
	ck_assert_int_eq(tls_post(d->port, &plain, &h), 401);
	ck_assert_ptr_null(strstr(h, "WWW-Authenticate"));
	ck_assert_ptr_nonnull(strstr(h, "HTTPS only"));
	free(h);
	/* right: twice, the hash computed once */
	ck_assert_int_eq(tls_post(hp, &ok, NULL), 200);
	ck_assert_int_eq(tls_post(hp, &ok, NULL), 200);
	ck_assert(tu_wait_lines(d->out, 2, 10000));
	lines = tu_read_lines(d->out, &n);
	ck_assert_uint_eq(n, 2);
	o = tu_json(lines[1]);
	v = strdup(json_object_get_string(tu_jget(o, "source.user")));
	ck_assert_str_eq(v, "sfcb");
	free(v);
	json_object_put(o);
	tu_free_lines(lines);
	/* wrong (1), unknown (2), then the right one once (3) */
	ck_assert_int_eq(count_in_log(d, "user accepted (3 crypt(3) hashes"),
	    2);
	ck_assert_int_eq(count_in_log(d, "user accepted ("), 2);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

START_TEST(t_daemon_basic_over_http)
{
	unsigned hp;
	struct tu_daemon *d = start_basic(&hp, "allow_basic_over_http = yes\n");
	struct tls_req ok = {.userpwd = "sfcb:secret", .https = false};
	struct tls_req wrong = {.userpwd = "sfcb:nope", .https = false};
	char *h = NULL;

	ck_assert_int_eq(tls_post(d->port, &ok, NULL), 200);
	ck_assert_int_eq(tls_post(d->port, &wrong, &h), 401);
	ck_assert_ptr_nonnull(strstr(h, "WWW-Authenticate: Basic"));
	free(h);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

START_TEST(t_config_users_file)
{
	char *text, *out, *p;

	p = users_file("sfcb:notahash\n", 0600);
	ck_assert_int_gt(asprintf(&text, "[listener]\nauth = basic\n"
	    "users_file = %s\n[daemon]\nspool_dir = /nonexistent/spool\n", p),
	    0);
	out = tls_check_config(text, 0600, 1);
	ck_assert_msg(strstr(out, "users:1: user 'sfcb': not a crypt(3)") !=
	    NULL && strstr(out, "c.conf:3: users_file") != NULL, "%s", out);
	free(out);
	free(text);
	out = tls_check_config("[listener]\nauth = basic\n"
	    "[daemon]\nspool_dir = /nonexistent/spool\n", 0600, 1);
	ck_assert_msg(strstr(out, "auth = basic needs users_file") != NULL,
	    "%s", out);
	free(out);
	free(p);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("auth");
	TCase *tu = tcase_create("users"), *tb = tcase_create("daemon");
	int rc;

	pki = tls_pki_dir();
	curl_global_init(CURL_GLOBAL_ALL);
	tcase_set_timeout(tu, 60);
	tcase_set_timeout(tb, 120);
	tcase_add_test(tu, t_parse_and_check);
	tcase_add_test(tu, t_cache);
	tcase_add_test(tu, t_bad_files);
	tcase_add_test(tu, t_config_users_file);
	tcase_add_test(tb, t_daemon_basic);
	tcase_add_test(tb, t_daemon_basic_over_http);
	suite_add_tcase(s, tu);
	suite_add_tcase(s, tb);
	rc = tu_run(s);
	curl_global_cleanup();
	tu_rmtree(pki);
	free(pki);
	return rc;
}
