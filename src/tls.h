/*
 * tls.c: the listener's GnuTLS side. A tls_creds holds the server
 * certificate chain and key, the client trust list and the priority cache
 * as one reference-counted unit: each HTTPS connection takes a reference
 * to the current one, so a reload swaps in new files for new connections
 * while established ones keep theirs.
 */
#ifndef CL_TLS_H
#define CL_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <gnutls/gnutls.h>

struct tls_creds;

/* Used when tls_priorities is empty: TLS 1.2 and 1.3 only. */
#define TLS_DEFAULT_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/*
 * Read certfile (PEM chain), keyfile (PEM; NULL or "" means it is in
 * certfile) and trustfile (PEM CA bundle; NULL or "" for none), check that
 * the key is the certificate's and that priorities (NULL or "" for the
 * default) parse. Returns a creds with one reference, or NULL with *cause
 * (malloc'd) naming the file.
 */
struct tls_creds *tls_creds_load(const char *certfile, const char *keyfile,
    const char *trustfile, const char *priorities, char **cause);
struct tls_creds *tls_creds_ref(struct tls_creds *);
void tls_creds_unref(struct tls_creds *);
/* The PEM texts as read (for libmicrohttpd's start options). */
const char *tls_creds_cert_pem(const struct tls_creds *);
const char *tls_creds_key_pem(const struct tls_creds *);
const char *tls_creds_priorities(const struct tls_creds *);
bool tls_creds_has_trust(const struct tls_creds *);
/*
 * Make the session use these credentials and priorities, and ask for a
 * client certificate when there is a trust list. Before the handshake.
 */
int tls_session_setup(gnutls_session_t, const struct tls_creds *);
/*
 * Verify the client's certificate against the trust list (chain, dates,
 * key usage) and, when allowed is non-empty (NULL-terminated), that its
 * subject CN or a DNS or IP subjectAltName is one of them. 0 with the
 * identity (CN, or the first SAN) in ident, or -1 with *cause (malloc'd).
 */
int tls_verify_peer(gnutls_session_t, char *const *allowed, char *ident,
    size_t identsz, char **cause);

#endif
