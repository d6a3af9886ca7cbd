/*
 * auth.c: the users file and Basic credential checks. The file is read
 * whole into a fresh struct auth, refused if anything is wrong with it;
 * hashes are verified with libcrypt's crypt_rn. Verified credentials are
 * remembered by their SHA-256 (never the password itself) in a small
 * array replaced round-robin; a reload builds a new auth, so its cache
 * starts empty.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "auth.h"
#include "buf.h"
#include "xmalloc.h"

#define USERS_MAX_SIZE (4 * 1024 * 1024)

struct auth_user {
	char *name;
	char *hash;
};

struct auth {
	struct auth_user *users;
	size_t n;
	char *dummy; /* hash of a random phrase, setting of users[0] */

	pthread_mutex_t lock; /* guards cache, next */
	uint8_t cache[AUTH_CACHE_SIZE][32];
	size_t ncache;
	size_t next;
	atomic_uint_fast64_t hashes;
};

/* crypt_rn into a fresh string; NULL if libcrypt refuses the setting. */
static char *
hash_phrase(const char *phrase, const char *setting)
{
	struct crypt_data *cd = xcalloc(1, sizeof *cd);
	char *h, *out = NULL;

	h = crypt_rn(phrase, setting, cd, (int)sizeof *cd);
	if (h != NULL && h[0] != '*')
		out = xstrdup(h);
	explicit_bzero(cd, sizeof *cd);
	free(cd);
	return out;
}

/* Compare two strings in time that depends on their lengths only. */
static bool
equal_ct(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, n = la > lb ? la : lb;
	unsigned char d = la != lb;

	for (i = 0; i < n; i++)
		d |= (unsigned char)((i < la ? a[i] : 0) ^ (i < lb ? b[i] : 0));
	return d == 0;
}

/* Read the file, refusing one that others may write. -1 after err(). */
static int
read_users(const char *path, struct buf *b, auth_err_fn err, void *arg)
{
	struct stat st;
	char chunk[4096], msg[256];
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		snprintf(msg, sizeof msg, "cannot read users file: %s",
		    strerror(errno));
		err(arg, 0, msg);
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & S_IWOTH)) {
		err(arg, 0, !S_ISREG(st.st_mode)
			? "users file is not a regular file"
			: "users file is writable by others: refused");
		close(fd);
		return -1;
	}
	while ((r = read(fd, chunk, sizeof chunk)) > 0) {
		if (b->len + (size_t)r > USERS_MAX_SIZE) {
			err(arg, 0, "users file is larger than 4M");
			close(fd);
			return -1;
		}
		buf_add(b, chunk, (size_t)r);
	}
	close(fd);
	if (r == -1) {
		snprintf(msg, sizeof msg, "cannot read users file: %s",
		    strerror(errno));
		err(arg, 0, msg);
		return -1;
	}
	return 0;
}

/* Parse "user:hash" lines; blank lines and '#' comments are skipped. */
static int
parse_users(struct auth *a, char *text, auth_err_fn err, void *arg)
{
	char *line, *next, *colon, msg[256];
	unsigned lineno = 0;
	size_t i, len;
	int rc = 0;

	for (line = text; line != NULL; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		len = strlen(line);
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (line[strspn(line, " \t")] == '\0' || line[0] == '#')
			continue;
		if ((colon = strchr(line, ':')) == NULL || colon == line) {
			err(arg, lineno, "expected user:hash");
			rc = -1;
			continue;
		}
		*colon = '\0';
		if (strchr(colon + 1, ':') != NULL ||
		    crypt_checksalt(colon + 1) != CRYPT_SALT_OK ||
		    colon[1] != '$') {
			snprintf(msg, sizeof msg, "user '%.64s': not a crypt(3) "
			    "hash this system supports", line);
			err(arg, lineno, msg);
			rc = -1;
			continue;
		}
		for (i = 0; i < a->n; i++)
			if (strcmp(a->users[i].name, line) == 0)
				break;
		if (i < a->n) {
			snprintf(msg, sizeof msg, "duplicate user '%.64s'", line);
			err(arg, lineno, msg);
			rc = -1;
			continue;
		}
		a->users = xreallocarray(a->users, a->n + 1, sizeof *a->users);
		a->users[a->n].name = xstrdup(line);
		a->users[a->n].hash = xstrdup(colon + 1);
		a->n++;
	}
	if (rc == 0 && a->n == 0) {
		err(arg, 0, "users file has no users");
		rc = -1;
	}
	return rc;
}

struct auth *
auth_load(const char *path, auth_err_fn err, void *arg)
{
	struct buf b = BUF_INIT;
	struct auth *a;
	uint8_t rnd[16];
	char phrase[33];
	size_t i;

	if (read_users(path, &b, err, arg) == -1) {
		buf_free(&b);
		return NULL;
	}
	buf_add(&b, "", 1);
	a = xcalloc(1, sizeof *a);
	pthread_mutex_init(&a->lock, NULL);
	if (parse_users(a, b.data, err, arg) == -1)
		goto fail;
	gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof rnd);
	for (i = 0; i < sizeof rnd; i++)
		snprintf(phrase + 2 * i, 3, "%02x", rnd[i]);
	if ((a->dummy = hash_phrase(phrase, a->users[0].hash)) == NULL) {
		err(arg, 0, "libcrypt refuses the first user's hash");
		goto fail;
	}
	buf_free(&b);
	return a;

fail:
	buf_free(&b);
	auth_free(a);
	return NULL;
}

void
auth_free(struct auth *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->n; i++) {
		free(a->users[i].name);
		free(a->users[i].hash);
	}
	free(a->users);
	free(a->dummy);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

/* SHA-256 of "user:password", the cache key. */
static void
cred_digest(const char *user, const char *password, uint8_t out[32])
{
	struct buf b = BUF_INIT;

	buf_printf(&b, "%s:%s", user, password);
	gnutls_hash_fast(GNUTLS_DIG_SHA256, b.data, b.len, out);
	explicit_bzero(b.data, b.len);
	buf_free(&b);
}

bool
auth_check(struct auth *a, const char *user, const char *password)
{
	const char *setting = a->dummy;
	uint8_t key[32];
	bool known = false, ok;
	char *h;
	size_t i;

	cred_digest(user, password, key);
	pthread_mutex_lock(&a->lock);
	for (i = 0; i < a->ncache; i++)
		if (memcmp(a->cache[i], key, sizeof key) == 0)
			break;
	pthread_mutex_unlock(&a->lock);
	if (i < a->ncache)
		return true;

	for (i = 0; i < a->n; i++)
		if (strcmp(a->users[i].name, user) == 0) {
			setting = a->users[i].hash;
			known = true;
			break;
		}
	h = hash_phrase(password, setting);
	atomic_fetch_add(&a->hashes, 1);
	ok = h != NULL && known && equal_ct(h, setting);
	free(h);
	if (!ok)
		return false;
	pthread_mutex_lock(&a->lock);
	memcpy(a->cache[a->next], key, sizeof key);
	a->next = (a->next + 1) % AUTH_CACHE_SIZE;
	if (a->ncache < AUTH_CACHE_SIZE)
		a->ncache++;
	pthread_mutex_unlock(&a->lock);
	return true;
}

uint64_t
auth_hashes(const struct auth *a)
{
	return atomic_load(&((struct auth *)a)->hashes);
}

unsigned
auth_users(const struct auth *a)
{
	return (unsigned)a->n;
}
