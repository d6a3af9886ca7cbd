/*
 * acl.c: source address allow-list for the listener, checked when a
 * connection is accepted. Networks are kept as (family, 16 address bytes,
 * prefix length); IPv4 and IPv4-mapped IPv6 both become family AF_INET so
 * that "10.0.0.0/8" matches a dual-stack socket's ::ffff:10.1.2.3.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "xmalloc.h"

struct acl_net {
	int family;	   /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network bytes, 4 used for AF_INET */
	unsigned prefix;   /* bits */
};

struct acl {
	struct acl_net *nets;
	size_t n;
};

/* IPv4-mapped IPv6 as IPv4: the 4 bytes move to the front. */
static void
unmap(struct acl_net *a)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff};

	if (a->family == AF_INET6 && memcmp(a->addr, mapped, 12) == 0) {
		memmove(a->addr, a->addr + 12, 4);
		memset(a->addr + 4, 0, 12);
		a->family = AF_INET;
		if (a->prefix >= 96)
			a->prefix -= 96;
		else
			a->prefix = 0;
	}
}

/* Parse one item; NULL with *out filled, or why not. */
static const char *
parse_item(const char *s, struct acl_net *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t hlen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	unsigned long bits;
	unsigned max;
	char *end;

	memset(out, 0, sizeof *out);
	if (hlen == 0 || hlen >= sizeof host)
		return "expected an IPv4 or IPv6 address or CIDR network";
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else
		return "expected an IPv4 or IPv6 address or CIDR network";
	out->prefix = max;
	if (slash != NULL) {
		if (slash[1] < '0' || slash[1] > '9')
			return "expected a prefix length after '/'";
		bits = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || bits > max)
			return max == 32 ? "prefix length must be 0..32"
					 : "prefix length must be 0..128";
		out->prefix = (unsigned)bits;
	}
	unmap(out);
	return NULL;
}

const char *
acl_check_item(const char *s)
{
	struct acl_net n;

	return parse_item(s, &n);
}

struct acl *
acl_new(const char *const *items, size_t n)
{
	struct acl *acl;
	size_t i;

	if (n == 0)
		return NULL;
	acl = xcalloc(1, sizeof *acl);
	acl->nets = xcalloc(n, sizeof *acl->nets);
	for (i = 0; i < n; i++)
		if (parse_item(items[i], &acl->nets[acl->n]) == NULL)
			acl->n++;
	return acl;
}

void
acl_free(struct acl *acl)
{
	if (acl == NULL)
		return;
	free(acl->nets);
	free(acl);
}

/* Do the first `prefix` bits of a and b agree? */
static bool
prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	unsigned bytes = prefix / 8, rest = prefix % 8;
	uint8_t mask;

	if (memcmp(a, b, bytes) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - rest));
	return (a[bytes] & mask) == (b[bytes] & mask);
}

bool
acl_match(const struct acl *acl, const struct sockaddr *sa)
{
	struct acl_net peer;
	size_t i;

	if (acl == NULL)
		return true;
	memset(&peer, 0, sizeof peer);
	if (sa->sa_family == AF_INET) {
		peer.family = AF_INET;
		memcpy(peer.addr, &((const struct sockaddr_in *)(const void *)sa)
		    ->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		peer.family = AF_INET6;
		memcpy(peer.addr,
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    16);
		peer.prefix = 128;
		unmap(&peer);
	} else
		return false;
	for (i = 0; i < acl->n; i++)
		if (acl->nets[i].family == peer.family &&
		    prefix_equal(acl->nets[i].addr, peer.addr,
			acl->nets[i].prefix))
			return true;
	return false;
}
