/*
 * Black-box tests of HTTPS and client certificates: the real cimlistend
 * with a PKI made by certtool at test time, spoken to with libcurl,
 * gnutls-cli and openssl s_client. Trusted client certificates are
 * accepted and become __USER; untrusted, expired and missing ones get 403
 * and the connection closed; allowed_clients narrows by CN or SAN; plain
 * HTTP sent to the HTTPS port is closed; HTTP and HTTPS are served at once;
 * broken certificate settings are config errors with FILE:LINE; certificates
 * rotate by a reload while a client keeps sending.
 */
#include "autoconf.h"

#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <curl/curl.h>

#include "testutil.h"
#include "tlsutil.h"

static char *pki; /* made once, shared by every test */

/* The path of a PKI file; kept for the life of the process (never freed). */
static char *
pf(const char *name)
{
	static char *paths[16];
	static const char *names[16];
	size_t i;

	for (i = 0; i < 16 && names[i] != NULL; i++)
		if (strcmp(names[i], name) == 0)
			return paths[i];
	ck_assert_uint_lt(i, 16);
	ck_assert_int_gt(asprintf(&paths[i], "%s/%s", pki, name), 0);
	names[i] = name;
	return paths[i];
}

/* A daemon with HTTPS on a free port (returned in *https) and `extra`. */
static struct tu_daemon *
start_https(unsigned *https, const char *extra)
{
	struct tu_daemon *d;
	char *lx;

	*https = tu_free_port();
	ck_assert_int_gt(asprintf(&lx, "https_port = %u\ncertfile = %s/srv.crt\n"
	    "keyfile = %s/srv.key\n%s", *https, pki, pki, extra ? extra : ""),
	    0);
	d = tu_daemon_start(lx, NULL);
	free(lx);
	ck_assert_msg(tls_wait_port(*https, 10000), "HTTPS port not up");
	return d;
}

static struct tu_daemon *
start_mtls(unsigned *https, const char *extra)
{
	char *x;
	struct tu_daemon *d;

	ck_assert_int_gt(asprintf(&x, "trustfile = %s/ca.crt\n%s", pki,
	    extra ? extra : ""), 0);
	d = start_https(https, x);
	free(x);
	return d;
}

/* The i-th record's source.KEY as a string ("" for null). */
static char *
rec_source(struct tu_daemon *d, size_t i, const char *key)
{
	size_t n;
	char **lines = tu_read_lines(d->out, &n);
	json_object *o, *v;
	char path[64], *s;

	ck_assert_uint_gt(n, i);
	o = tu_json(lines[i]);
	snprintf(path, sizeof path, "source.%s", key);
	v = tu_jget(o, path);
	s = strdup(v != NULL && json_object_get_string(v) != NULL
		       ? json_object_get_string(v)
		       : "");
	json_object_put(o);
	tu_free_lines(lines);
	return s;
}

/* The i-th record's source.KEY is want. */
static void
expect_source(struct tu_daemon *d, size_t i, const char *key, const char *want)
{
	char *s = rec_source(d, i, key);

	ck_assert_str_eq(s, want);
	free(s);
}

START_TEST(t_https_no_client_cert)
{
	unsigned hp;
	struct tu_daemon *d = start_https(&hp, NULL);
	char *ca = pf("ca.crt");
	struct tls_req q = {.cacert = ca, .https = true};

	ck_assert_int_eq(tls_post(hp, &q, NULL), 200);
	ck_assert(tu_wait_lines(d->out, 1, 10000));
	expect_source(d, 0, "tls", "true");
	expect_source(d, 0, "user", "");
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

START_TEST(t_http_and_https_at_once)
{
	unsigned hp;
	struct tu_daemon *d = start_https(&hp, NULL);
	char *ca = pf("ca.crt");
	struct tls_req qs = {.cacert = ca, .https = true};
	struct tls_req qp = {.https = false};

	ck_assert_int_eq(tls_post(d->port, &qp, NULL), 200);
	ck_assert_int_eq(tls_post(hp, &qs, NULL), 200);
	ck_assert_int_eq(tls_post(d->port, &qp, NULL), 200);
	ck_assert(tu_wait_lines(d->out, 3, 10000));
	expect_source(d, 0, "tls", "false");
	expect_source(d, 1, "tls", "true");
	ck_assert(tu_daemon_log_has(d, "for HTTPS"));
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

START_TEST(t_chain_and_key_in_one_file)
{
	unsigned hp = tu_free_port();
	struct tu_daemon *d;
	char *lx, *ca = pf("ca.crt");
	struct tls_req q = {.cacert = ca, .https = true};

	ck_assert_int_gt(asprintf(&lx, "https_port = %u\n"
	    "certfile = %s/srv-chain.pem\n", hp, pki), 0);
	d = tu_daemon_start(lx, NULL);
	ck_assert(tls_wait_port(hp, 10000));
	ck_assert_int_eq(tls_post(hp, &q, NULL), 200);
	free(lx);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

START_TEST(t_trusted_client_cert)
{
	unsigned hp;
	struct tu_daemon *d = start_mtls(&hp, NULL);
	char *ca = pf("ca.crt"), *crt = pf("cli.crt"), *key = pf("cli.key");
	struct tls_req q = {.cacert = ca, .cert = crt, .key = key,
	    .https = true};

	ck_assert_int_eq(tls_post(hp, &q, NULL), 200);
	ck_assert(tu_wait_lines(d->out, 1, 10000));
	expect_source(d, 0, "user", "sfcb.example.com");
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/* Untrusted, expired and missing client certificates: 403, nothing kept. */
START_TEST(t_rejected_client_certs)
{
	unsigned hp;
	struct tu_daemon *d = start_mtls(&hp, NULL);
	char *ca = pf("ca.crt"), *ucrt = pf("untrusted.crt"),
	     *ukey = pf("untrusted.key"), *ecrt = pf("expired.crt"),
	     *ekey = pf("expired.key"), *h = NULL;
	struct tls_req qu = {.cacert = ca, .cert = ucrt, .key = ukey,
	    .https = true};
	struct tls_req qe = {.cacert = ca, .cert = ecrt, .key = ekey,
	    .https = true};
	struct tls_req qn = {.cacert = ca, .https = true};
	size_t n;
	char **lines;

	ck_assert_int_eq(tls_post(hp, &qu, &h), 403);
	ck_assert_ptr_nonnull(strcasestr(h, "Connection: close"));
	free(h);
	ck_assert_int_eq(tls_post(hp, &qe, NULL), 403);
	ck_assert_int_eq(tls_post(hp, &qn, NULL), 403);
	ck_assert(tu_daemon_log_has(d, "not trusted"));
	ck_assert(tu_daemon_log_has(d, "expired"));
	ck_assert(tu_daemon_log_has(d, "no client certificate"));
	lines = tu_read_lines(d->out, &n);
	ck_assert_uint_eq(n, 0);
	tu_free_lines(lines);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

START_TEST(t_allowed_clients)
{
	unsigned hp;
	struct tu_daemon *d;
	char *ca = pf("ca.crt"), *crt = pf("cli.crt"), *key = pf("cli.key");
	struct tls_req q = {.cacert = ca, .cert = crt, .key = key,
	    .https = true};

	d = start_mtls(&hp, "allowed_clients = pegasus.example.com\n");
	ck_assert_int_eq(tls_post(hp, &q, NULL), 403);
	ck_assert(tu_daemon_log_has(d, "not in allowed_clients"));
	ck_assert_int_eq(tu_daemon_stop(d), 0);
	/* By the CN, by an IP subjectAltName */
	d = start_mtls(&hp, "allowed_clients = x.example.com, "
	    "SFCB.example.com\n");
	ck_assert_int_eq(tls_post(hp, &q, NULL), 200);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
	d = start_mtls(&hp, "allowed_clients = 192.0.2.7\n");
	ck_assert_int_eq(tls_post(hp, &q, NULL), 200);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/* gnutls-cli as the client: the trusted certificate in, the other out. */
START_TEST(t_gnutls_cli)
{
	unsigned hp;
	struct tu_daemon *d = start_mtls(&hp, NULL);
	char port[16], *req = tls_raw_request(), *out;
	char *ca = pf("ca.crt"), *crt = pf("cli.crt"), *key = pf("cli.key"),
	     *ucrt = pf("untrusted.crt"), *ukey = pf("untrusted.key");
	const char *ok[] = {"gnutls-cli", "--x509cafile", ca, "--x509certfile",
	    crt, "--x509keyfile", key, "-p", port, "127.0.0.1", NULL};
	const char *bad[] = {"gnutls-cli", "--x509cafile", ca,
	    "--x509certfile", ucrt, "--x509keyfile", ukey, "-p", port,
	    "127.0.0.1", NULL};

	snprintf(port, sizeof port, "%u", hp);
	out = tls_run_client(ok, req, "</CIM>", 20000);
	ck_assert_msg(strstr(out, "HTTP/1.1 200") != NULL, "gnutls-cli: %s",
	    out);
	free(out);
	out = tls_run_client(bad, req, "Forbidden", 20000);
	ck_assert_msg(strstr(out, "HTTP/1.1 403") != NULL ||
			  strstr(out, "closed") != NULL,
	    "gnutls-cli untrusted: %s", out);
	ck_assert_ptr_null(strstr(out, "HTTP/1.1 200"));
	free(out);
	ck_assert(tu_wait_lines(d->out, 1, 10000));
	free(req);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/* openssl s_client: trusted in, expired and none out. */
START_TEST(t_openssl_s_client)
{
	unsigned hp;
	struct tu_daemon *d = start_mtls(&hp, NULL);
	char addr[32], *req = tls_raw_request(), *out;
	char *ca = pf("ca.crt"), *crt = pf("cli.crt"), *key = pf("cli.key"),
	     *ecrt = pf("expired.crt"), *ekey = pf("expired.key");
	const char *ok[] = {"openssl", "s_client", "-quiet", "-connect", addr,
	    "-CAfile", ca, "-cert", crt, "-key", key, NULL};
	const char *expired[] = {"openssl", "s_client", "-quiet", "-connect",
	    addr, "-CAfile", ca, "-cert", ecrt, "-key", ekey, NULL};
	const char *none[] = {"openssl", "s_client", "-quiet", "-connect",
	    addr, "-CAfile", ca, NULL};

	snprintf(addr, sizeof addr, "127.0.0.1:%u", hp);
	out = tls_run_client(ok, req, "</CIM>", 20000);
	ck_assert_msg(strstr(out, "HTTP/1.1 200") != NULL, "s_client: %s", out);
	free(out);
	out = tls_run_client(expired, req, "Forbidden", 20000);
	ck_assert_msg(strstr(out, "HTTP/1.1 403") != NULL, "expired: %s", out);
	free(out);
	out = tls_run_client(none, req, "Forbidden", 20000);
	ck_assert_msg(strstr(out, "HTTP/1.1 403") != NULL, "none: %s", out);
	free(out);
	free(req);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/*
 * Certificates rotated by a reload (SIGHUP) while a client keeps sending
 * on kept-alive connections: every request is answered 200, connections
 * made after the reload get the new certificate.
 */
START_TEST(t_rotate_by_reload)
{
	unsigned hp;
	struct tu_daemon *d;
	char *dir = tu_tmpdir(), *lx, *cmd, *out, *ca = pf("ca.crt");
	char url[64], addr[32];
	const char *ctl = getenv("CIMLISTENCTL");
	const char *sc[] = {"openssl", "s_client", "-connect", addr,
	    "-CAfile", ca, NULL};
	pid_t pid;
	int status, i;

	ck_assert_int_gt(asprintf(&cmd, "cp '%s/srv.crt' '%s/cur.crt' && "
	    "cp '%s/srv.key' '%s/cur.key'", pki, dir, pki, dir), 0);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	hp = tu_free_port();
	ck_assert_int_gt(asprintf(&lx, "https_port = %u\ncertfile = %s/cur.crt\n"
	    "keyfile = %s/cur.key\n", hp, dir, dir), 0);
	d = tu_daemon_start(lx, NULL);
	ck_assert(tls_wait_port(hp, 10000));
	snprintf(addr, sizeof addr, "127.0.0.1:%u", hp);
	snprintf(url, sizeof url, "https://127.0.0.1:%u/", hp);

	/* 3000 indications on 4 kept-alive connections, verified. */
	fflush(NULL);
	if ((pid = fork()) == 0) {
		execl(ctl != NULL && *ctl != '\0' ? ctl :
		    BUILDDIR "/src/cimlistenctl", "cimlistenctl", "send", "-n",
		    "3000", "-c", "4", "--cacert", ca, url, (char *)NULL);
		_exit(127);
	}
	ck_assert(tu_wait_lines(d->out, 100, 30000));
	/* Rotate: new files in place (renamed over), then reload. */
	ck_assert_int_gt(asprintf(&cmd, "cp '%s/srv2.crt' '%s/new.crt' && "
	    "cp '%s/srv2.key' '%s/new.key' && mv '%s/new.key' '%s/cur.key' && "
	    "mv '%s/new.crt' '%s/cur.crt'", pki, dir, pki, dir, dir, dir, dir,
	    dir), 0);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	kill(d->pid, SIGHUP);
	for (i = 0; !tu_daemon_log_has(d, "TLS certificates reloaded"); i++) {
		ck_assert_msg(i < 1000, "no reload logged");
		usleep(10000);
	}
	/* A new connection gets the new certificate (CN "rotated"). */
	out = tls_run_client(sc, "", "CN = rotated", 20000);
	ck_assert_msg(strstr(out, "CN = rotated") != NULL, "s_client: %s", out);
	free(out);
	/* The client never saw anything but 200. */
	while (waitpid(pid, &status, 0) == -1)
		ck_assert_int_eq(errno, EINTR);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "cimlistenctl send: status %d", status);
	ck_assert(tu_wait_lines(d->out, 3000, 30000));
	ck_assert_int_eq(tu_daemon_stop(d), 0);
	tu_rmtree(dir);
	free(dir);
	free(lx);
}
END_TEST

/* Plain HTTP to the HTTPS port: closed, no answer, the daemon unharmed. */
START_TEST(t_plain_http_to_https_port)
{
	unsigned hp;
	struct tu_daemon *d = start_https(&hp, NULL);
	char *req = tls_raw_request(), *resp, *ca = pf("ca.crt");
	struct tls_req q = {.cacert = ca, .https = true};
	int fd;

	fd = tu_connect_send(hp, req, strlen(req));
	ck_assert_msg(tu_wait_closed(fd, 10000), "connection left open");
	close(fd);
	resp = tu_raw(hp, req, strlen(req), 10000);
	ck_assert_int_eq(tu_raw_status(resp), -1);
	free(resp);
	ck_assert_int_eq(tls_post(hp, &q, NULL), 200);
	free(req);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/* Run --check-config on a [listener] section; returns the output. */
static char *
check_config(const char *listener, int want_rc)
{
	char *text, *out;

	ck_assert_int_gt(asprintf(&text, "[listener]\nbind = 127.0.0.1\n%s"
	    "[daemon]\nspool_dir = /nonexistent/spool\n", listener), 0);
	out = tls_check_config(text, 0600, want_rc);
	free(text);
	return out;
}

START_TEST(t_config_errors)
{
	char *x, *out;

	out = check_config("https_port = 5989\n", 1);
	ck_assert_msg(strstr(out, "c.conf:3:14: https_port is set but "
	    "certfile is not") != NULL, "%s", out);
	free(out);
	ck_assert_int_gt(asprintf(&x, "https_port = 5989\ncertfile = %s/srv.crt"
	    "\nkeyfile = %s/cli.key\n", pki, pki), 0);
	out = check_config(x, 1);
	ck_assert_msg(strstr(out, "c.conf:4: keyfile") != NULL &&
	    strstr(out, "does not match certfile") != NULL, "%s", out);
	free(out);
	free(x);
	ck_assert_int_gt(asprintf(&x, "https_port = 5989\ncertfile = "
	    "%s/nonexistent.crt\n", pki), 0);
	out = check_config(x, 1);
	ck_assert_msg(strstr(out, "c.conf:4: certfile") != NULL &&
	    strstr(out, "No such file") != NULL, "%s", out);
	free(out);
	free(x);
	ck_assert_int_gt(asprintf(&x, "https_port = 5989\ncertfile = "
	    "%s/srv.crt\nkeyfile = %s/srv.key\ntrustfile = %s/srv.key\n", pki,
	    pki, pki), 0);
	out = check_config(x, 1);
	ck_assert_msg(strstr(out, "trustfile") != NULL, "%s", out);
	free(out);
	free(x);
	ck_assert_int_gt(asprintf(&x, "https_port = 5989\ncertfile = "
	    "%s/srv.crt\nkeyfile = %s/srv.key\ntls_priorities = BOGUS:+X\n",
	    pki, pki), 0);
	out = check_config(x, 1);
	ck_assert_msg(strstr(out, "tls_priorities") != NULL, "%s", out);
	free(out);
	free(x);
	ck_assert_int_gt(asprintf(&x, "https_port = 5989\ncertfile = "
	    "%s/srv.crt\nkeyfile = %s/srv.key\ntrustfile = %s/ca.crt\n"
	    "tls_priorities = NORMAL:-VERS-ALL:+VERS-TLS1.3\n", pki, pki, pki),
	    0);
	out = check_config(x, 0);
	free(out);
	free(x);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("https");
	int rc;

	pki = tls_pki_dir();
	curl_global_init(CURL_GLOBAL_ALL);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, t_https_no_client_cert);
	tcase_add_test(tc, t_http_and_https_at_once);
	tcase_add_test(tc, t_chain_and_key_in_one_file);
	tcase_add_test(tc, t_trusted_client_cert);
	tcase_add_test(tc, t_rejected_client_certs);
	tcase_add_test(tc, t_allowed_clients);
	tcase_add_test(tc, t_gnutls_cli);
	tcase_add_test(tc, t_openssl_s_client);
	tcase_add_test(tc, t_plain_http_to_https_port);
	tcase_add_test(tc, t_rotate_by_reload);
	tcase_add_test(tc, t_config_errors);
	suite_add_tcase(s, tc);
	rc = tu_run(s);
	curl_global_cleanup();
	tu_rmtree(pki);
	free(pki);
	return rc;
}
