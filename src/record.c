/*
 * record.c: the canonical JSON form of a record (DESIGN section 4) and the
 * small helpers that fill a record's source (peer address, decoded path).
 *
 * record_json is on the hot path (every accepted indication, tens of
 * thousands a second), so it writes straight into the caller's buffer:
 * space is reserved with buf_reserve and bytes are stored directly, integers
 * are formatted by hand, and nothing is allocated per property. The output
 * is one line of JSON without spaces; keys come in a fixed order so that
 * lines diff and grep well. Strings are copied as they are (the parser has
 * checked that they are valid UTF-8); only '"', '\\' and control characters
 * are escaped.
 */
#include "autoconf.h"


#include <sys/socket.h>
#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "xmalloc.h"

/* Embedded instances deeper than this are written as null (the parser caps
 * nesting far below; this only protects the stack from a broken tree). */
#define RECORD_MAX_DEPTH 64

static const char digits2[] =
    "00010203040506070809101112131415161718192021222324252627282930313233"
    "34353637383940414243444546474849505152535455565758596061626364656667"
    "68697071727374757677787980818283848586878889909192939495969798"
    "99";

static void json_instance(struct buf *, const struct cim_instance *, int);

/* Append n bytes without terminating (the caller terminates at the end). */
static inline void
put(struct buf *b, const char *s, size_t n)
{
	if (b->cap - b->len <= n)
		buf_reserve(b, n);
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

#define PUTLIT(b, s) put((b), (s), sizeof(s) - 1)

static inline void
putc1(struct buf *b, char c)
{
	if (b->cap - b->len <= 1)
		buf_reserve(b, 1);
	b->data[b->len++] = c;
}

/* Write v in decimal ending just before `end`; returns the first digit. */
static inline char *
fmt_u64(char *end, uint64_t v)
{
	unsigned i;

	while (v >= 100) {
		i = (unsigned)(v % 100) * 2;
		v /= 100;
		*--end = digits2[i + 1];
		*--end = digits2[i];
	}
	if (v >= 10) {
		i = (unsigned)v * 2;
		*--end = digits2[i + 1];
		*--end = digits2[i];
	} else
		*--end = (char)('0' + v);
	return end;
}

static inline void
put_u64(struct buf *b, uint64_t v)
{
	char tmp[24], *end = tmp + sizeof tmp, *p;

	p = fmt_u64(end, v);
	put(b, p, (size_t)(end - p));
}

static inline void
put_s64(struct buf *b, int64_t v)
{
	char tmp[24], *end = tmp + sizeof tmp, *p;

	if (v < 0) {
		p = fmt_u64(end, 0 - (uint64_t)v);
		*--p = '-';
	} else
		p = fmt_u64(end, (uint64_t)v);
	put(b, p, (size_t)(end - p));
}

/* Bytes that JSON strings must escape: '"', '\\', < 0x20 and 0x7f. */
static const unsigned char escape_map[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	['"'] = 1, ['\\'] = 1, [0x7f] = 1,
};

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* Might one of the 8 bytes in w need escaping? (Never misses one.) */
static inline bool
word_needs_escape(uint64_t w)
{
	uint64_t q = w ^ (ONES * '"'), bs = w ^ (ONES * '\\'),
	    del = w ^ (ONES * 0x7f);

	return (((w - ONES * 0x20) & ~w) | ((q - ONES) & ~q) |
	    ((bs - ONES) & ~bs) | ((del - ONES) & ~del)) & HIGHS;
}

/* Append one escape for c. */
static void
put_escape(struct buf *b, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

	switch (c) {
	case '"':
	case '\\':
		e[1] = (char)c;
		break;
	case '\n':
		e[1] = 'n';
		break;
	case '\t':
		e[1] = 't';
		break;
	case '\r':
		e[1] = 'r';
		break;
	case '\b':
		e[1] = 'b';
		break;
	case '\f':
		e[1] = 'f';
		break;
	default:
		put(b, e, 6);
		return;
	}
	put(b, e, 2);
}

/*
 * Append s as a JSON string without terminating the buffer. Runs that need
 * no escaping (nearly everything) are found 8 bytes at a time and copied
 * whole.
 */
static void
json_string(struct buf *b, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, run = 0, k;
	uint64_t w;

	if (b->cap - b->len <= n + 2)
		buf_reserve(b, n + 2);
	b->data[b->len++] = '"';
	while (i < n) {
		if (n - i >= 8) {
			memcpy(&w, u + i, 8);
			if (!word_needs_escape(w)) {
				i += 8;
				continue;
			}
			for (k = 0; k < 8 && !escape_map[u[i]]; k++)
				i++;
			if (k == 8)
				continue;
		} else {
			while (i < n && !escape_map[u[i]])
				i++;
			if (i == n)
				break;
		}
		if (i != run)
			put(b, s + run, i - run);
		put_escape(b, u[i]);
		run = ++i;
	}
	if (i != run)
		put(b, s + run, i - run);
	putc1(b, '"');
}

/* A JSON string, or null for NULL. */
static inline void
json_string_or_null(struct buf *b, const char *s)
{
	if (s == NULL)
		PUTLIT(b, "null");
	else
		json_string(b, s);
}

void
record_json_string(struct buf *b, const char *s)
{
	json_string(b, s);
	b->data[b->len] = '\0';
}

/*
 * Format v with the fewest significant digits (%.*g, from 1 up) that read
 * back as the same value; real32 values are compared as floats. Writes a
 * NUL-terminated number into out (at least 32 bytes), returns its length.
 */
static size_t
fmt_real(char *out, size_t outsz, double v, bool is_real32)
{
	float f = (float)v;
	int prec, n = 0, maxprec = is_real32 ? 9 : 17;
	char *p;

	for (prec = 1; prec <= maxprec; prec++) {
		if (is_real32) {
			n = snprintf(out, outsz, "%.*g", prec, (double)f);
			if (strtof(out, NULL) == f)
				break;
		} else {
			n = snprintf(out, outsz, "%.*g", prec, v);
			if (strtod(out, NULL) == v)
				break;
		}
	}
	/* Keep the output valid JSON whatever the locale's decimal point. */
	for (p = out; *p != '\0'; p++)
		if (*p == ',')
			*p = '.';
	return n < 0 ? 0 : (size_t)n;
}

/* Append a real without terminating the buffer. */
static void
json_real(struct buf *b, double v, bool is_real32)
{
	char tmp[40];
	size_t n;

	if (isnan(v)) {
		PUTLIT(b, "\"NaN\"");
		return;
	}
	if (isinf(v) || (is_real32 && isinf((float)v))) {
		if (v < 0)
			PUTLIT(b, "\"-INF\"");
		else
			PUTLIT(b, "\"INF\"");
		return;
	}
	n = fmt_real(tmp, sizeof tmp, v, is_real32);
	put(b, tmp, n);
}

void
record_json_real(struct buf *b, double v, bool is_real32)
{
	json_real(b, v, is_real32);
	b->data[b->len] = '\0';
}

/* One value (a scalar's or an array item) of type t. */
static void
json_value(struct buf *b, enum cim_type t, const struct cim_value *v,
    int depth)
{
	if (v->null) {
		PUTLIT(b, "null");
		return;
	}
	switch (t) {
	case CIM_BOOLEAN:
		if (v->v.b)
			PUTLIT(b, "true");
		else
			PUTLIT(b, "false");
		break;
	case CIM_UINT8:
	case CIM_UINT16:
	case CIM_UINT32:
	case CIM_UINT64:
		put_u64(b, v->v.u);
		break;
	case CIM_SINT8:
	case CIM_SINT16:
	case CIM_SINT32:
	case CIM_SINT64:
		put_s64(b, v->v.s);
		break;
	case CIM_REAL32:
		json_real(b, v->v.r, true);
		break;
	case CIM_REAL64:
		json_real(b, v->v.r, false);
		break;
	case CIM_CHAR16:
	case CIM_STRING:
	case CIM_DATETIME:
	case CIM_REFERENCE:
		json_string_or_null(b, v->v.str);
		break;
	case CIM_INSTANCE:
		if (v->v.inst == NULL || depth >= RECORD_MAX_DEPTH)
			PUTLIT(b, "null");
		else
			json_instance(b, v->v.inst, depth + 1);
		break;
	default:
		PUTLIT(b, "null");
		break;
	}
}

/* "Name":{"type":"T"[,"array":true],"value":...} */
static void
json_property(struct buf *b, const struct cim_property *p, int depth)
{
	const char *tname = cim_type_name(p->type);
	size_t i;

	json_string(b, p->name != NULL ? p->name : "");
	PUTLIT(b, ":{\"type\":");
	if (tname == NULL)
		PUTLIT(b, "null");
	else {
		/* Type names need no escaping. */
		putc1(b, '"');
		put(b, tname, strlen(tname));
		putc1(b, '"');
	}
	if (p->array)
		PUTLIT(b, ",\"array\":true");
	PUTLIT(b, ",\"value\":");
	if (p->null || p->values == NULL) {
		if (p->array && !p->null && p->count == 0)
			PUTLIT(b, "[]");
		else
			PUTLIT(b, "null");
	} else if (p->array) {
		putc1(b, '[');
		for (i = 0; i < p->count; i++) {
			if (i != 0)
				putc1(b, ',');
			json_value(b, p->type, &p->values[i], depth);
		}
		putc1(b, ']');
	} else if (p->count == 0)
		PUTLIT(b, "null");
	else
		json_value(b, p->type, &p->values[0], depth);
	putc1(b, '}');
}

/* The "properties" object's members, between braces. */
static void
json_properties(struct buf *b, const struct cim_instance *inst, int depth)
{
	size_t i;

	putc1(b, '{');
	for (i = 0; inst != NULL && i < inst->nprops; i++) {
		if (i != 0)
			putc1(b, ',');
		json_property(b, &inst->props[i], depth);
	}
	putc1(b, '}');
}

/* An embedded instance: {"class":"C","properties":{...}} */
static void
json_instance(struct buf *b, const struct cim_instance *inst, int depth)
{
	PUTLIT(b, "{\"class\":");
	json_string_or_null(b, inst->classname);
	PUTLIT(b, ",\"properties\":");
	json_properties(b, inst, depth);
	putc1(b, '}');
}

void
record_format_time(const struct timespec *ts, char out[32])
{
	struct tm tm;
	long usec;
	int year;
	char *p;

	usec = ts->tv_nsec / 1000;
	if (usec < 0 || usec > 999999)
		usec = 0;
	if (gmtime_r(&ts->tv_sec, &tm) == NULL) {
		memset(&tm, 0, sizeof tm);
		tm.tm_year = 70;
		tm.tm_mday = 1;
	}
	year = tm.tm_year + 1900;
	if (year < 0 || year > 9999) {
		/* Not a clock this daemon runs with: clamp, keep the form. */
		memcpy(out, year < 0 ? "0000-01-01T00:00:00.000000Z" :
		    "9999-12-31T23:59:59.999999Z", 28);
		return;
	}
	/* YYYY-MM-DDTHH:MM:SS.uuuuuuZ, written back to front. */
	memcpy(out, "0000-00-00T00:00:00.000000Z", 28);
	p = out + 26;
	for (int i = 0; i < 6; i++, usec /= 10)
		*--p = (char)('0' + usec % 10);
	memcpy(out + 17, digits2 + 2 * tm.tm_sec, 2);
	memcpy(out + 14, digits2 + 2 * tm.tm_min, 2);
	memcpy(out + 11, digits2 + 2 * tm.tm_hour, 2);
	memcpy(out + 8, digits2 + 2 * tm.tm_mday, 2);
	memcpy(out + 5, digits2 + 2 * (tm.tm_mon + 1), 2);
	memcpy(out + 2, digits2 + 2 * (year % 100), 2);
	memcpy(out, digits2 + 2 * (year / 100), 2);
}

void
record_json(const struct record *r, struct buf *b)
{
	const struct record_source *src = r->source;
	char tbuf[32];
	size_t i;

	/* Most records fit; growing later is still fine. */
	buf_reserve(b, 1024);

	PUTLIT(b, "{\"v\":");
	put_u64(b, RECORD_VERSION);
	PUTLIT(b, ",\"seq\":");
	put_u64(b, r->seq);
	PUTLIT(b, ",\"time\":\"");
	record_format_time(&r->time, tbuf);
	put(b, tbuf, strlen(tbuf));
	PUTLIT(b, "\",\"source\":");
	if (src == NULL)
		PUTLIT(b, "null");
	else {
		PUTLIT(b, "{\"addr\":");
		json_string(b, src->addr);
		PUTLIT(b, ",\"port\":");
		put_u64(b, src->port);
		if (src->tls)
			PUTLIT(b, ",\"tls\":true,\"user\":");
		else
			PUTLIT(b, ",\"tls\":false,\"user\":");
		json_string_or_null(b, src->user);
		PUTLIT(b, ",\"path\":");
		json_string_or_null(b, src->path);
		putc1(b, '}');
	}
	PUTLIT(b, ",\"message_id\":");
	json_string_or_null(b, r->message_id);
	PUTLIT(b, ",\"class\":");
	json_string_or_null(b, r->inst != NULL ? r->inst->classname : NULL);
	PUTLIT(b, ",\"filters\":[");
	for (i = 0; r->filters != NULL && i < r->nfilters; i++) {
		if (i != 0)
			putc1(b, ',');
		json_string_or_null(b, r->filters[i]);
	}
	PUTLIT(b, "],\"properties\":");
	json_properties(b, r->inst, 0);
	PUTLIT(b, "}\n");
	b->data[b->len] = '\0';
}

void
record_source_set_addr(struct record_source *src, const struct sockaddr *sa)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;

	src->addr[0] = '\0';
	src->port = 0;
	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, src->addr, sizeof src->addr);
		src->port = ntohs(sin->sin_port);
		break;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12],
			    src->addr, sizeof src->addr);
		else
			inet_ntop(AF_INET6, &sin6->sin6_addr, src->addr,
			    sizeof src->addr);
		src->port = ntohs(sin6->sin6_port);
		break;
	}
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Is s[0..n) well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF)? */
static bool
utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0, k, len;
	uint32_t cp;
	unsigned char c;

	while (i < n) {
		c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else
			return false;
		if (n - i < len)
			return false;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += len;
	}
	return true;
}

char *
record_decode_path(const char *target)
{
	const unsigned char *t = (const unsigned char *)target;
	size_t n, i, o = 0;
	unsigned char *out;
	int hi, lo;

	if (target == NULL)
		return NULL;
	n = strcspn(target, "?#");
	out = xmalloc(n + 1);
	for (i = 0; i < n; i++) {
		if (t[i] != '%') {
			out[o++] = t[i];
			continue;
		}
		if (n - i < 3 || (hi = hexval(t[i + 1])) < 0 ||
		    (lo = hexval(t[i + 2])) < 0 || (hi | lo) == 0)
			goto fail;
		out[o++] = (unsigned char)(hi << 4 | lo);
		i += 2;
	}
	out[o] = '\0';
	if (!utf8_valid(out, o))
		goto fail;
	return (char *)out;

fail:
	free(out);
	return NULL;
}
