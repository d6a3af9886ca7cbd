/*
 * auth.c: HTTP Basic authentication against a users file of
 * "user:crypt(3)-hash" lines (yescrypt, SHA-512 and the other libcrypt
 * methods), with a bounded cache of credentials already verified so that a
 * sender pays the slow hash once, not once per indication.
 */
#ifndef CL_AUTH_H
#define CL_AUTH_H

#include <stdbool.h>
#include <stdint.h>

struct auth;

/* Called for each problem of the users file; line 0 is the whole file. */
typedef void (*auth_err_fn)(void *arg, unsigned line, const char *msg);

/* Credentials remembered as verified (SHA-256 of user:password). */
#define AUTH_CACHE_SIZE 256

/*
 * Read the users file. Returns a new auth, or NULL after reporting every
 * problem through err (unreadable, writable by others, bad or duplicate
 * lines, no users).
 */
struct auth *auth_load(const char *path, auth_err_fn err, void *arg);
void auth_free(struct auth *);
/*
 * Whether user and password are right. Unknown users are hashed against a
 * dummy hash of the same method and cost as the file's first one, so the
 * answer takes as long as for a wrong password. Thread-safe.
 */
bool auth_check(struct auth *, const char *user, const char *password);
/* How many crypt(3) computations auth_check has done (for tests, stats). */
uint64_t auth_hashes(const struct auth *);
/* How many users the file had. */
unsigned auth_users(const struct auth *);

#endif
