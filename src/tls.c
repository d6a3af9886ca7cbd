/*
 * tls.c: loading and checking certificates, keys and trust lists, and the
 * per-connection verification of client certificates. Files are read whole
 * (bounded) so that a message can name the file that is wrong; GnuTLS does
 * the parsing and the key-matches-certificate check.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "buf.h"
#include "tls.h"
#include "xmalloc.h"

#define TLS_FILE_MAX (1024 * 1024)

struct tls_creds {
	atomic_uint refs;
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t prio;
	char *prio_str;
	char *cert_pem;
	char *key_pem;
	bool trust;
};

/* Read a PEM file (at most 1M) as a NUL-terminated string. */
static char *
read_pem(const char *what, const char *path, char **cause)
{
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t r;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL) {
		xasprintf(cause, "%s %s: %s", what, path, strerror(errno));
		return NULL;
	}
	while ((r = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (b.len + r > TLS_FILE_MAX) {
			xasprintf(cause, "%s %s: larger than 1M", what, path);
			goto fail;
		}
		buf_add(&b, chunk, r);
	}
	if (ferror(f)) {
		xasprintf(cause, "%s %s: %s", what, path, strerror(errno));
		goto fail;
	}
	fclose(f);
	buf_add(&b, "", 1);
	return buf_steal(&b, NULL);

fail:
	fclose(f);
	buf_free(&b);
	return NULL;
}

static gnutls_datum_t
datum(const char *s)
{
	gnutls_datum_t d = {(unsigned char *)(uintptr_t)s, (unsigned)strlen(s)};

	return d;
}

struct tls_creds *
tls_creds_load(const char *certfile, const char *keyfile,
    const char *trustfile, const char *priorities, char **cause)
{
	struct tls_creds *c;
	char *trust = NULL;
	const char *errpos = NULL;
	gnutls_datum_t cd, kd, td;
	int e;

	c = xcalloc(1, sizeof *c);
	atomic_init(&c->refs, 1);
	if (keyfile == NULL || *keyfile == '\0')
		keyfile = certfile;
	if (priorities == NULL || *priorities == '\0')
		priorities = TLS_DEFAULT_PRIORITIES;
	c->prio_str = xstrdup(priorities);
	if ((e = gnutls_priority_init(&c->prio, priorities, &errpos)) < 0) {
		c->prio = NULL;
		xasprintf(cause, "tls_priorities '%s': %s%s%s", priorities,
		    gnutls_strerror(e), errpos != NULL ? " at " : "",
		    errpos != NULL ? errpos : "");
		goto fail;
	}
	if ((c->cert_pem = read_pem("certfile", certfile, cause)) == NULL ||
	    (c->key_pem = read_pem("keyfile", keyfile, cause)) == NULL)
		goto fail;
	if (strstr(c->cert_pem, "-----BEGIN CERTIFICATE-----") == NULL) {
		xasprintf(cause, "certfile %s: no PEM certificate", certfile);
		goto fail;
	}
	if (strstr(c->key_pem, "PRIVATE KEY-----") == NULL) {
		xasprintf(cause, "keyfile %s: no PEM private key", keyfile);
		goto fail;
	}
	if (gnutls_certificate_allocate_credentials(&c->cred) < 0) {
		c->cred = NULL;
		xasprintf(cause, "cannot allocate TLS credentials");
		goto fail;
	}
	cd = datum(c->cert_pem);
	kd = datum(c->key_pem);
	e = gnutls_certificate_set_x509_key_mem2(
	    c->cred, &cd, &kd, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (e < 0) {
		if (e == GNUTLS_E_CERTIFICATE_KEY_MISMATCH)
			xasprintf(cause, "keyfile %s does not match certfile %s",
			    keyfile, certfile);
		else
			xasprintf(cause, "certfile %s / keyfile %s: %s",
			    certfile, keyfile, gnutls_strerror(e));
		goto fail;
	}
	if (trustfile != NULL && *trustfile != '\0') {
		if ((trust = read_pem("trustfile", trustfile, cause)) == NULL)
			goto fail;
		td = datum(trust);
		e = gnutls_certificate_set_x509_trust_mem(
		    c->cred, &td, GNUTLS_X509_FMT_PEM);
		if (e <= 0) {
			xasprintf(cause, "trustfile %s: %s", trustfile,
			    e == 0 ? "no PEM certificate" : gnutls_strerror(e));
			goto fail;
		}
		c->trust = true;
		free(trust);
	}
	return c;

fail:
	free(trust);
	tls_creds_unref(c);
	return NULL;
}

struct tls_creds *
tls_creds_ref(struct tls_creds *c)
{
	atomic_fetch_add(&c->refs, 1);
	return c;
}

void
tls_creds_unref(struct tls_creds *c)
{
	if (c == NULL || atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	if (c->cred != NULL)
		gnutls_certificate_free_credentials(c->cred);
	if (c->prio != NULL)
		gnutls_priority_deinit(c->prio);
	free(c->prio_str);
	free(c->cert_pem);
	if (c->key_pem != NULL)
		explicit_bzero(c->key_pem, strlen(c->key_pem));
	free(c->key_pem);
	free(c);
}

const char *
tls_creds_cert_pem(const struct tls_creds *c)
{
	return c->cert_pem;
}

const char *
tls_creds_key_pem(const struct tls_creds *c)
{
	return c->key_pem;
}

const char *
tls_creds_priorities(const struct tls_creds *c)
{
	return c->prio_str;
}

bool
tls_creds_has_trust(const struct tls_creds *c)
{
	return c->trust;
}

int
tls_session_setup(gnutls_session_t s, const struct tls_creds *c)
{
	if (gnutls_priority_set(s, c->prio) < 0 ||
	    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, c->cred) < 0)
		return -1;
	gnutls_certificate_server_set_request(
	    s, c->trust ? GNUTLS_CERT_REQUEST : GNUTLS_CERT_IGNORE);
	return 0;
}

/* Does name (CN or SAN) match an allowed_clients entry? */
static bool
name_allowed(char *const *allowed, const char *name)
{
	size_t i;

	for (i = 0; allowed[i] != NULL; i++)
		if (strcasecmp(allowed[i], name) == 0)
			return true;
	return false;
}

/* An IP SAN's bytes as text (inet_ntop), or false. */
static bool
ip_text(const char *raw, size_t len, char *out, size_t outsz)
{
	if (len == 4)
		return inet_ntop(AF_INET, raw, out, (socklen_t)outsz) != NULL;
	if (len == 16)
		return inet_ntop(AF_INET6, raw, out, (socklen_t)outsz) != NULL;
	return false;
}

/* Is an allowed entry the same address as the SAN text? */
static bool
ip_allowed(char *const *allowed, const char *ip)
{
	unsigned char a[16], b[16];
	int fam = strchr(ip, ':') != NULL ? AF_INET6 : AF_INET;
	size_t i;

	if (inet_pton(fam, ip, b) != 1)
		return false;
	for (i = 0; allowed[i] != NULL; i++)
		if (inet_pton(fam, allowed[i], a) == 1 &&
		    memcmp(a, b, fam == AF_INET ? 4 : 16) == 0)
			return true;
	return false;
}

int
tls_verify_peer(gnutls_session_t s, char *const *allowed, char *ident,
    size_t identsz, char **cause)
{
	const gnutls_datum_t *peers;
	gnutls_datum_t out;
	gnutls_x509_crt_t crt = NULL;
	unsigned npeers = 0, status = 0, i, type;
	char name[256], first[256] = "";
	size_t len;
	bool any = allowed == NULL || allowed[0] == NULL, match = any;
	int e, rc = -1;

	peers = gnutls_certificate_get_peers(s, &npeers);
	if (peers == NULL || npeers == 0) {
		xasprintf(cause, "no client certificate");
		return -1;
	}
	if ((e = gnutls_certificate_verify_peers3(s, NULL, &status)) < 0) {
		xasprintf(cause, "client certificate: %s", gnutls_strerror(e));
		return -1;
	}
	if (status != 0) {
		if (gnutls_certificate_verification_status_print(status,
			GNUTLS_CRT_X509, &out, 0) == 0) {
			xasprintf(cause, "client certificate not trusted: %s",
			    out.data);
			gnutls_free(out.data);
		} else
			xasprintf(cause, "client certificate not trusted");
		return -1;
	}
	if (gnutls_x509_crt_init(&crt) < 0 ||
	    gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER) < 0) {
		xasprintf(cause, "client certificate cannot be read");
		goto out;
	}
	len = sizeof name;
	if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
		0, name, &len) == 0) {
		snprintf(first, sizeof first, "%s", name);
		if (!match && name_allowed(allowed, name))
			match = true;
	}
	for (i = 0;; i++) {
		len = sizeof name - 1;
		e = gnutls_x509_crt_get_subject_alt_name(
		    crt, i, name, &len, NULL);
		if (e == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (e < 0)
			continue;
		type = (unsigned)e;
		if (type == GNUTLS_SAN_DNSNAME) {
			name[len] = '\0';
			if (!match && name_allowed(allowed, name))
				match = true;
		} else if (type == GNUTLS_SAN_IPADDRESS) {
			char ip[INET6_ADDRSTRLEN];

			if (!ip_text(name, len, ip, sizeof ip))
				continue;
			snprintf(name, sizeof name, "%s", ip);
			if (!match && ip_allowed(allowed, ip))
				match = true;
		} else
			continue;
		if (first[0] == '\0')
			snprintf(first, sizeof first, "%s", name);
	}
	if (!match) {
		xasprintf(cause, "client certificate '%s' is not in "
		    "allowed_clients", first[0] != '\0' ? first : "(no name)");
		goto out;
	}
	snprintf(ident, identsz, "%s", first);
	rc = 0;

out:
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	return rc;
}
