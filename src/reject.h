/*
 * reject.h: the rejected-request store (reject_dir). Every request answered
 * with a 4xx or 501 is kept as one file -- the reason, the sender, the
 * request line and headers and the first REJECT_MAX_BODY bytes of the body
 * -- in a bounded, rotating set of reject_keep files, so an operator can see
 * exactly what a sender sent.
 */
#ifndef CL_REJECT_H
#define CL_REJECT_H

#include <stddef.h>
#include <stdint.h>

#define REJECT_MAX_BODY ((size_t)64 << 10)

struct reject_store;

/* What one rejected request was. */
struct reject_info {
	const char *addr;       /* sender address */
	unsigned port;
	int status;             /* HTTP status answered */
	const char *cimerror;   /* CIMError header, or NULL */
	const char *reason;     /* the answer's details, or "" */
	const char *head;       /* request line and header lines */
	size_t head_len;
	const char *body;       /* the first bytes of the body */
	size_t body_len;
	uint64_t body_total;    /* bytes of body received in all */
};

/*
 * Open (creating it, mode 0750) the directory; files already there count
 * towards keep. NULL with *cause on failure.
 */
struct reject_store *reject_open(const char *dir, unsigned keep, char **cause);
void reject_close(struct reject_store *);
/* Keep one rejected request; the oldest files beyond keep go. Any thread. */
void reject_save(struct reject_store *, const struct reject_info *);
/* Requests kept since start. */
uint64_t reject_count(struct reject_store *);

#endif
