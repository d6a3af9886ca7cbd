/*
 * acl.c: the `allow` address list. Items are IPv4 or IPv6 addresses or
 * CIDR networks ("10.0.0.0/8", "2001:db8::/32", "::1"); an IPv4-mapped
 * IPv6 address (::ffff:a.b.c.d), on either side, is matched as IPv4.
 */
#ifndef CL_ACL_H
#define CL_ACL_H

#include <stdbool.h>
#include <stddef.h>

struct sockaddr;
struct acl;

/* NULL if s is a valid item, or why it is not (for config messages). */
const char *acl_check_item(const char *s);
/* A list of n items (each valid per acl_check_item), or NULL if n is 0. */
struct acl *acl_new(const char *const *items, size_t n);
void acl_free(struct acl *);
/* Whether sa (AF_INET or AF_INET6) is in the list; a NULL list allows all. */
bool acl_match(const struct acl *, const struct sockaddr *sa);

#endif
