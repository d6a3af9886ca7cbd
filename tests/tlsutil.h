/*
 * Helpers shared by the TLS and authentication tests: a test PKI made with
 * certtool, HTTPS requests through libcurl, and command-line TLS clients
 * (gnutls-cli, openssl s_client) run as subprocesses with bounded waits.
 */
#ifndef CL_TLSUTIL_H
#define CL_TLSUTIL_H

#include <stdbool.h>

/*
 * Make, under dir: ca.crt/ca.key (the trusted CA), other-ca.crt (a CA
 * nobody trusts), srv.crt/srv.key (localhost, 127.0.0.1), srv-chain.pem
 * (srv.crt + ca.crt + srv.key, all in one), srv2.crt/.key (CN rotated,
 * for certificate rotation), cli.crt/cli.key (trusted
 * client, CN sfcb.example.com), untrusted.crt/.key (signed by other-ca),
 * expired.crt/.key (trusted CA, expired in 2020). Runs outside tests:
 * -1 after printing what failed.
 */
int tls_make_pki(const char *dir);
/* A new temp dir holding tls_make_pki's files; exits 1 on failure. */
char *tls_pki_dir(void);

struct tls_req {
	const char *cacert; /* server CA; NULL: do not verify the server */
	const char *cert;   /* client certificate or NULL */
	const char *key;
	const char *userpwd; /* "user:password" for Basic, or NULL */
	bool https;
};
/*
 * POST a sample body to PROTO://127.0.0.1:port/tls. Returns the HTTP
 * status, or 0 if no answer came (connection closed, handshake refused).
 * *headers (may be NULL) gets the raw header block (malloc'd).
 */
long tls_post(unsigned port, const struct tls_req *, char **headers);
/*
 * Run argv (a TLS client), write `input` to its stdin, and collect its
 * stdout and stderr until it exits, `until` appears in them or timeout_ms
 * passes; then it is killed. Returns the output (malloc'd).
 */
char *tls_run_client(const char *const *argv, const char *input,
    const char *until, unsigned timeout_ms);
/* Wait (bounded) until 127.0.0.1:port accepts TCP connections. */
bool tls_wait_port(unsigned port, unsigned timeout_ms);
/*
 * Write `text` as c.conf (with `mode`) in a fresh dir, run cimlistend
 * --check-config on it, check that it exits want_rc and return its output
 * (malloc'd). Messages name the file ".../c.conf".
 */
char *tls_check_config(const char *text, unsigned mode, int want_rc);
/* A raw HTTP POST of the standard sample, as text. */
char *tls_raw_request(void);

#endif
