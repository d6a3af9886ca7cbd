/*
 * http_tls_reload and http_access_reload on a listener started in-process
 * (no dispatch: only requests refused before dispatch are sent, a POST of
 * a text/plain body gets 400, read to its end, the connection kept): a
 * connection opened before a certificate rotation keeps working with the
 * old certificate while new ones get the new one; a broken file fails the
 * reload and keeps the old certificate; a new allow list closes new
 * connections from outside it.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <check.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "config.h"
#include "http.h"
#include "log.h"
#include "testutil.h"
#include "tlsutil.h"

static char *pki;

struct client {
	int fd;
	gnutls_session_t s;
	gnutls_certificate_credentials_t cred;
};

/* A TLS client connection to 127.0.0.1:port; 0, or -1 if refused. */
static int
client_open(struct client *c, unsigned port)
{
	struct sockaddr_in sin;
	char ca[512];
	int e;

	memset(c, 0, sizeof *c);
	snprintf(ca, sizeof ca, "%s/ca.crt", pki);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(c->fd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(gnutls_certificate_allocate_credentials(&c->cred), 0);
	ck_assert_int_gt(gnutls_certificate_set_x509_trust_file(c->cred, ca,
	    GNUTLS_X509_FMT_PEM), 0);
	ck_assert_int_eq(gnutls_init(&c->s, GNUTLS_CLIENT), 0);
	gnutls_set_default_priority(c->s);
	gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, c->cred);
	gnutls_session_set_verify_cert(c->s, NULL, 0);
	gnutls_transport_set_int(c->s, c->fd);
	gnutls_handshake_set_timeout(c->s, 10000);
	do
		e = gnutls_handshake(c->s);
	while (e < 0 && gnutls_error_is_fatal(e) == 0);
	return e < 0 ? -1 : 0;
}

static void
client_close(struct client *c)
{
	gnutls_deinit(c->s);
	gnutls_certificate_free_credentials(c->cred);
	close(c->fd);
}

/* The CN of the server certificate the connection got. */
static char *
peer_cn(struct client *c)
{
	const gnutls_datum_t *p;
	gnutls_x509_crt_t crt;
	unsigned n = 0;
	char cn[256];
	size_t len = sizeof cn;

	p = gnutls_certificate_get_peers(c->s, &n);
	ck_assert_uint_gt(n, 0);
	gnutls_x509_crt_init(&crt);
	ck_assert_int_eq(gnutls_x509_crt_import(crt, &p[0], GNUTLS_X509_FMT_DER),
	    0);
	ck_assert_int_eq(gnutls_x509_crt_get_dn_by_oid(crt,
	    GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &len), 0);
	gnutls_x509_crt_deinit(crt);
	return strdup(cn);
}

/* A request refused without dispatch: the status (400 expected). */
static int
client_get(struct client *c)
{
	static const char req[] = "POST / HTTP/1.1\r\nHost: x\r\n"
				  "Content-Type: text/plain\r\n"
				  "Content-Length: 1\r\n\r\nx";
	char buf[4096] = "";
	ssize_t r;
	size_t len = 0;
	int status = -1;

	ck_assert_int_eq(gnutls_record_send(c->s, req, sizeof req - 1),
	    (ssize_t)(sizeof req - 1));
	/* headers, then exactly Content-Length bytes of body */
	while (len < sizeof buf - 1) {
		const char *end = strstr(buf, "\r\n\r\n"), *cl;

		if (end != NULL && (cl = strcasestr(buf, "Content-Length:")) !=
			NULL &&
		    len >= (size_t)(end + 4 - buf) + strtoul(cl + 15, NULL, 10))
			break;
		r = gnutls_record_recv(c->s, buf + len, sizeof buf - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = '\0';
	}
	sscanf(buf, "HTTP/1.1 %d", &status);
	return status;
}

static char *
pk(const char *name)
{
	char *p;

	ck_assert_int_gt(asprintf(&p, "%s/%s", pki, name), 0);
	return p;
}

static void
conf_init(struct listener_conf *lc, char **bind, unsigned port)
{
	memset(lc, 0, sizeof *lc);
	lc->bind = bind;
	lc->nbind = 1;
	lc->threads = 1;
	lc->max_body = 1 << 20;
	lc->max_connections = 16;
	lc->max_connections_per_ip = 16;
	lc->timeout = 30;
	lc->https_port = port;
	lc->certfile = pk("srv.crt");
	lc->keyfile = pk("srv.key");
}

static void
conf_clear(struct listener_conf *lc)
{
	free(lc->certfile);
	free(lc->keyfile);
	free(lc->trustfile);
}

START_TEST(t_rotate)
{
	char *bind[] = {"127.0.0.1", NULL}, *cause = NULL, *cn;
	struct listener_conf lc;
	struct http_listener *hl;
	struct client old, new;
	unsigned port = tu_free_port();

	conf_init(&lc, bind, port);
	hl = http_start(&lc, NULL, NULL, NULL, 0, &cause);
	ck_assert_msg(hl != NULL, "%s", cause);
	ck_assert_int_eq(client_open(&old, port), 0);
	cn = peer_cn(&old);
	ck_assert_str_eq(cn, "localhost");
	free(cn);
	ck_assert_int_eq(client_get(&old), 400);

	/* a broken key: refused, the old certificate stays */
	free(lc.keyfile);
	lc.keyfile = pk("cli.key");
	free(lc.certfile);
	lc.certfile = pk("srv2.crt");
	ck_assert_int_eq(http_tls_reload(hl, &lc, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "does not match"));
	free(cause);
	cause = NULL;
	ck_assert_int_eq(client_open(&new, port), 0);
	cn = peer_cn(&new);
	ck_assert_str_eq(cn, "localhost");
	free(cn);
	client_close(&new);

	/* the right pair: new connections get it, the old one goes on */
	free(lc.keyfile);
	lc.keyfile = pk("srv2.key");
	ck_assert_msg(http_tls_reload(hl, &lc, &cause) == 0, "%s", cause);
	ck_assert_int_eq(client_open(&new, port), 0);
	cn = peer_cn(&new);
	ck_assert_str_eq(cn, "rotated");
	free(cn);
	ck_assert_int_eq(client_get(&new), 400);
	ck_assert_int_eq(client_get(&old), 400);
	ck_assert_int_eq(client_get(&old), 400);
	client_close(&new);
	client_close(&old);
	http_stop(hl);
	conf_clear(&lc);
}
END_TEST

START_TEST(t_access_reload)
{
	char *bind[] = {"127.0.0.1", NULL}, *cause = NULL;
	char *allow[] = {"127.0.0.2/32", NULL};
	struct listener_conf lc;
	struct http_listener *hl;
	struct client c;
	unsigned port = tu_free_port();

	conf_init(&lc, bind, port);
	hl = http_start(&lc, NULL, NULL, NULL, 0, &cause);
	ck_assert_msg(hl != NULL, "%s", cause);
	ck_assert_int_eq(client_open(&c, port), 0);
	client_close(&c);
	lc.allow = allow;
	lc.nallow = 1;
	ck_assert_int_eq(http_access_reload(hl, &lc, &cause), 0);
	ck_assert_int_eq(client_open(&c, port), -1);
	client_close(&c);
	/* a users file that cannot be used fails the reload */
	lc.auth = LISTENER_AUTH_BASIC;
	lc.users_file = "/nonexistent/users";
	ck_assert_int_eq(http_access_reload(hl, &lc, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "/nonexistent/users"));
	free(cause);
	http_stop(hl);
	lc.users_file = NULL;
	conf_clear(&lc);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("http_tls");
	TCase *tc = tcase_create("reload");
	int rc;

	log_init(LOG_WARNING, true, "check_http_tls");
	pki = tls_pki_dir();
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, t_rotate);
	tcase_add_test(tc, t_access_reload);
	suite_add_tcase(s, tc);
	rc = tu_run(s);
	tu_rmtree(pki);
	free(pki);
	return rc;
}
