/*
 * The record: one accepted indication with its daemon-wide sequence number,
 * receive time, source and routing, and its canonical JSON form (DESIGN
 * section 4). A record only points at data owned elsewhere (the parsed
 * message's arena, the request's source); record_json renders it.
 */
#ifndef CL_RECORD_H
#define CL_RECORD_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "cim.h"

#define RECORD_VERSION 1

struct record_source {
	char addr[INET6_ADDRSTRLEN]; /* peer address; IPv4-mapped IPv6 as dotted IPv4 */
	unsigned port;
	bool tls;
	const char *user;            /* NULL without authentication */
	const char *path;            /* percent-decoded request path, no query string */
};

struct record {
	uint64_t seq;
	struct timespec time;        /* CLOCK_REALTIME at acceptance */
	const struct record_source *source;
	const char *message_id;
	const struct cim_instance *inst;
	const char *const *filters;  /* names of the filters it matched */
	size_t nfilters;
};

/* Append the record as one JSON object and a '\n' (a JSON Lines line). */
void record_json(const struct record *, struct buf *out);
/*
 * Append the line as record_json does minus its `{"v":1,"seq":N` prefix:
 * from `,"time":` to the final "}\n" (the spool writes the prefix once it
 * has assigned the seq). record_json is that prefix followed by this.
 */
void record_json_tail(const struct record *, struct buf *out);
/* Append `s` as a JSON string (quotes included): only '"', '\\' and control characters are escaped. */
void record_json_string(struct buf *out, const char *s);
/* Append a double in the shortest form that reads back to the same value; "NaN", "INF", "-INF" as JSON strings. */
void record_json_real(struct buf *out, double v, bool is_real32);
/* Fill `out` with "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" (needs 28 bytes). */
void record_format_time(const struct timespec *, char out[32]);
/* Fill src->addr/port from a socket address, mapping ::ffff:a.b.c.d to a.b.c.d. */
void record_source_set_addr(struct record_source *, const struct sockaddr *);
/*
 * Percent-decode the path part of a request target (up to '?' or '#') into
 * a new string (caller frees). Returns NULL if the result would contain a
 * NUL byte or invalid UTF-8, or a '%' is not followed by two hex digits.
 */
char *record_decode_path(const char *target);

struct arena;

/* Embedded instances nested deeper than this are not read back. */
#define RECORD_MAX_EMBEDDING 64

/*
 * Read one JSON line as record_json writes it (a trailing "\n" or "\r\n"
 * is allowed) back into `rec`. The instance tree, strings and filter names
 * are allocated in `a`; the source, when the line has one, is filled into
 * `src` and rec->source points at it (NULL for "source":null or none).
 * Types come from each property's "type" key and are checked strictly
 * (integers exact and in range for their width, reals as numbers or
 * "NaN"/"INF"/"-INF", char16 one character, datetime the DSP0201 form).
 * "class" and "properties" are required; "v" (if present) must be 1; seq,
 * time, source, message_id and filters default to zero/NULL/empty; other
 * top-level keys are ignored, so subscriber "indication" lines read too.
 * Returns 0, or -1 with a one-line *cause (caller frees).
 */
int record_from_json(const char *line, size_t len, struct arena *a,
    struct record *rec, struct record_source *src, char **cause);

#endif
