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
 *
 * record_from_json reads such a line back (cimlistenctl test-filter, tools
 * that replay files): it is not on the hot path, so it parses with json-c
 * and checks every value against the type its property declares.
 */
#include "autoconf.h"


#include <sys/socket.h>
#include <arpa/inet.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "arena.h"
#include "log.h"
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
	/* Most records fit; growing later is still fine. */
	buf_reserve(b, 1024);

	PUTLIT(b, "{\"v\":");
	put_u64(b, RECORD_VERSION);
	PUTLIT(b, ",\"seq\":");
	put_u64(b, r->seq);
	record_json_tail(r, b);
}

/* Everything of the line after the seq (the spool writes the prefix). */
void
record_json_tail(const struct record *r, struct buf *b)
{
	const struct record_source *src = r->source;
	char tbuf[32];
	size_t i;

	buf_reserve(b, 1024);
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

/*
 * Reading a record back from its JSON line.
 */

_Static_assert(RECORD_MAX_EMBEDDING == RECORD_MAX_DEPTH,
    "the reader accepts exactly what the writer writes");

/* json-c's own nesting limit: deep enough that ours is the one that trips. */
#define JSON_MAX_NESTING (4 * RECORD_MAX_EMBEDDING + 16)

/* Longest piece of a value or name quoted in an error message. */
#define CLIP_MAX 64

/* Where a value sits, for messages: "SourceInstance.Ports[2]". */
struct jpath {
	const struct jpath *up;
	const char *name; /* a property name, or NULL for an array item */
	size_t index;
};

struct jreader {
	struct arena *a;
	char *cause;
};

/* Copy at most CLIP_MAX bytes of s, control characters as '?'. */
static const char *
clip(char *out, size_t outsz, const char *s)
{
	size_t n = 0, i;

	for (i = 0; s[i] != '\0' && n + 4 < outsz && i < CLIP_MAX; i++)
		out[n++] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ?
		    '?' : s[i];
	if (s[i] != '\0') {
		/* Do not leave half a UTF-8 character before the dots. */
		while (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0x80)
			n--;
		if (n > 0 && (unsigned char)out[n - 1] >= 0xc0)
			n--;
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
	return out;
}

static void
jpath_render(struct buf *b, const struct jpath *p)
{
	char tmp[CLIP_MAX + 8];

	if (p == NULL)
		return;
	jpath_render(b, p->up);
	if (p->name == NULL)
		buf_printf(b, "[%zu]", p->index);
	else {
		if (p->up != NULL)
			buf_addc(b, '.');
		buf_adds(b, clip(tmp, sizeof tmp, p->name));
	}
}

/* Record the first error (prefixed with the property path, if any); -1. */
static int __attribute__((format(printf, 3, 4)))
jfail(struct jreader *r, const struct jpath *at, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	if (r->cause != NULL)
		return -1;
	if (at != NULL) {
		buf_adds(&b, "property \"");
		jpath_render(&b, at);
		buf_adds(&b, "\": ");
	}
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	r->cause = buf_steal(&b, NULL);
	return -1;
}

/* "a string", "an integer", ... for messages. */
static const char *
jtype_name(json_object *j)
{
	switch (json_object_get_type(j)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_double:
		return "a real number";
	case json_type_int:
		return "an integer";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	}
	return "something else";
}

/*
 * Parse an integer token "-?[0-9]+" of n bytes into sign and magnitude.
 * Returns 0, -1 if it is not one, -2 if the magnitude exceeds 64 bits.
 */
static int
int_token(const char *t, size_t n, bool *neg, uint64_t *mag)
{
	size_t i = 0;
	uint64_t m = 0;
	unsigned d;

	*neg = n > 0 && t[0] == '-';
	if (*neg)
		i++;
	if (i == n)
		return -1;
	for (; i < n; i++) {
		if (t[i] < '0' || t[i] > '9')
			return -1;
		d = (unsigned)(t[i] - '0');
		if (m > (UINT64_MAX - d) / 10)
			return -2;
		m = m * 10 + d;
	}
	*mag = m;
	return 0;
}

/*
 * json-c 0.16 silently clamps integers beyond 64 bits and reads "-0" as 0.
 * Append "e0" to such integer tokens so that json-c keeps them as doubles
 * along with their text, which the typed readers below then check exactly
 * (a uint64 of 18446744073709551616 is out of range, a real of -0 keeps its
 * sign). Returns a new text, or NULL when none needs it (nearly always).
 */
static char *
mark_wide_integers(const char *s, size_t len, size_t *outlen)
{
	struct buf b = BUF_INIT;
	size_t i = 0, start, copied = 0;
	bool in_str = false, neg;
	uint64_t mag;
	int r;

	while (i < len) {
		if (in_str) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_str = false;
			i++;
			continue;
		}
		if (s[i] == '"') {
			in_str = true;
			i++;
			continue;
		}
		if (s[i] != '-' && (s[i] < '0' || s[i] > '9')) {
			i++;
			continue;
		}
		start = i++;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i < len && s[i] != '\0' && strchr(".eE+-", s[i]) != NULL) {
			/* A real (or garbage json-c will report): as is. */
			while (i < len && s[i] != '\0' &&
			    strchr("0123456789.eE+-", s[i]) != NULL)
				i++;
			continue;
		}
		r = int_token(s + start, i - start, &neg, &mag);
		if (r == -1)
			continue;
		/* Keep all but "-0" and what lies beyond 64 bits. */
		if (r == 0 && (!neg ||
		    (mag != 0 && mag <= (uint64_t)INT64_MAX + 1)))
			continue;
		buf_add(&b, s + copied, i - copied);
		buf_add(&b, "e0", 2);
		copied = i;
	}
	if (b.data == NULL)
		return NULL;
	buf_add(&b, s + copied, len - copied);
	return buf_steal(&b, outlen);
}

/*
 * The sign and magnitude of an integer value: a JSON integer, or a token
 * that mark_wide_integers marked. Returns 0, -1 if j is not an integer,
 * -2 if it does not fit 64 bits (its text is then in `text`).
 */
static int
json_integer(json_object *j, bool *neg, uint64_t *mag, char *text,
    size_t textsz)
{
	const char *t;
	size_t n;
	int64_t s;

	if (json_object_is_type(j, json_type_int)) {
		s = json_object_get_int64(j);
		*neg = s < 0;
		*mag = *neg ? 0 - (uint64_t)s : json_object_get_uint64(j);
		return 0;
	}
	if (!json_object_is_type(j, json_type_double))
		return -1;
	t = json_object_get_string(j);
	n = strlen(t);
	if (n < 3 || memcmp(t + n - 2, "e0", 2) != 0)
		return -1;
	switch (int_token(t, n - 2, neg, mag)) {
	case -1:
		return -1;
	case -2:
		snprintf(text, textsz, "%.*s", (int)(n - 2), t);
		return -2;
	}
	if (*neg && *mag > (uint64_t)INT64_MAX + 1) {
		snprintf(text, textsz, "%.*s", (int)(n - 2), t);
		return -2;
	}
	return 0;
}

/* A JSON string without NUL bytes; NULL (and an error) otherwise. */
static const char *
json_cstring(struct jreader *r, const struct jpath *at, json_object *j,
    const char *what)
{
	const char *s;

	if (!json_object_is_type(j, json_type_string)) {
		if (at != NULL)
			jfail(r, at, "expected a string for %s, got %s", what,
			    jtype_name(j));
		else
			jfail(r, NULL, "\"%s\": expected a string, got %s",
			    what, jtype_name(j));
		return NULL;
	}
	s = json_object_get_string(j);
	if (strlen(s) != (size_t)json_object_get_string_len(j)) {
		if (at != NULL)
			jfail(r, at, "string contains a NUL character");
		else
			jfail(r, NULL, "\"%s\": string contains a NUL "
			    "character", what);
		return NULL;
	}
	return s;
}

/* The shape of a DSP0201 datetime (the parser checked the fields). */
static bool
datetime_shape(const char *s)
{
	size_t i;

	if (strlen(s) != 25 || s[14] != '.' || strchr("+-:", s[21]) == NULL)
		return false;
	for (i = 0; i < 25; i++) {
		if (i == 14 || i == 21)
			continue;
		if ((s[i] < '0' || s[i] > '9') && s[i] != '*')
			return false;
	}
	return true;
}

/* Bytes in the UTF-8 character starting with c (input is valid UTF-8). */
static size_t
utf8_seqlen(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c < 0xe0)
		return 2;
	if (c < 0xf0)
		return 3;
	return 4;
}

static int read_properties(struct jreader *, json_object *,
    const struct jpath *, int, struct cim_instance *);

/* An integer value, in range for t. */
static int
read_integer(struct jreader *r, const struct jpath *at, enum cim_type t,
    json_object *j, struct cim_value *v)
{
	const char *tname = cim_type_name(t);
	uint64_t mag, max;
	bool neg, ok;
	char text[CLIP_MAX + 8], tmp[CLIP_MAX + 8];

	switch (json_integer(j, &neg, &mag, text, sizeof text)) {
	case -1:
		return jfail(r, at, "expected an integer for %s, got %s", tname,
		    jtype_name(j));
	case -2:
		return jfail(r, at, "value %s out of range for %s",
		    clip(tmp, sizeof tmp, text), tname);
	}
	switch (t) {
	case CIM_UINT8:
	case CIM_SINT8:
		max = 0x7f;
		break;
	case CIM_UINT16:
	case CIM_SINT16:
		max = 0x7fff;
		break;
	case CIM_UINT32:
	case CIM_SINT32:
		max = 0x7fffffff;
		break;
	default:
		max = INT64_MAX;
		break;
	}
	if (cim_type_is_unsigned(t)) {
		ok = (!neg || mag == 0) && mag <= max * 2 + 1;
		v->v.u = mag;
	} else {
		ok = mag <= max + (neg ? 1 : 0);
		v->v.s = neg ? (int64_t)(0 - mag) : (int64_t)mag;
	}
	if (!ok)
		return jfail(r, at, "value %s%" PRIu64 " out of range for %s",
		    neg ? "-" : "", mag, tname);
	return 0;
}

/* A real value: a JSON number (read from its text) or "NaN"/"INF"/"-INF". */
static int
read_real(struct jreader *r, const struct jpath *at, enum cim_type t,
    json_object *j, struct cim_value *v)
{
	const char *tname = cim_type_name(t), *s;
	char tmp[CLIP_MAX + 8];
	float f;

	if (json_object_is_type(j, json_type_string)) {
		s = json_object_get_string(j);
		if (strcmp(s, "NaN") == 0)
			v->v.r = NAN;
		else if (strcmp(s, "INF") == 0)
			v->v.r = INFINITY;
		else if (strcmp(s, "-INF") == 0)
			v->v.r = -INFINITY;
		else
			return jfail(r, at, "value \"%s\" is not a valid %s",
			    clip(tmp, sizeof tmp, s), tname);
		return 0;
	}
	if (!json_object_is_type(j, json_type_int) &&
	    !json_object_is_type(j, json_type_double))
		return jfail(r, at, "expected a number for %s, got %s", tname,
		    jtype_name(j));
	/* json-c keeps a double's text (and an integer's is exact). */
	s = json_object_get_string(j);
	if (t == CIM_REAL32) {
		f = strtof(s, NULL);
		v->v.r = f;
	} else
		v->v.r = strtod(s, NULL);
	if (isinf(v->v.r))
		return jfail(r, at, "value %s out of range for %s",
		    clip(tmp, sizeof tmp, s), tname);
	return 0;
}

/* One non-null value of type t (a scalar's or an array item). */
static int
read_value(struct jreader *r, const struct jpath *at, enum cim_type t,
    json_object *j, int depth, struct cim_value *v)
{
	const char *tname = cim_type_name(t), *s;
	char tmp[CLIP_MAX + 8];
	json_object *jc, *jp;
	struct cim_instance *inst;

	switch (t) {
	case CIM_NONE:
		return jfail(r, at, "a value needs a type (\"type\" is null)");
	case CIM_BOOLEAN:
		if (!json_object_is_type(j, json_type_boolean))
			return jfail(r, at, "expected a boolean for boolean, "
			    "got %s", jtype_name(j));
		v->v.b = json_object_get_boolean(j);
		return 0;
	case CIM_UINT8:
	case CIM_SINT8:
	case CIM_UINT16:
	case CIM_SINT16:
	case CIM_UINT32:
	case CIM_SINT32:
	case CIM_UINT64:
	case CIM_SINT64:
		return read_integer(r, at, t, j, v);
	case CIM_REAL32:
	case CIM_REAL64:
		return read_real(r, at, t, j, v);
	case CIM_CHAR16:
	case CIM_STRING:
	case CIM_DATETIME:
	case CIM_REFERENCE:
		if ((s = json_cstring(r, at, j, tname)) == NULL)
			return -1;
		if (t == CIM_CHAR16 &&
		    (*s == '\0' || utf8_seqlen((unsigned char)*s) != strlen(s)))
			return jfail(r, at, "value \"%s\" is not one character "
			    "(char16)", clip(tmp, sizeof tmp, s));
		if (t == CIM_DATETIME && !datetime_shape(s))
			return jfail(r, at, "value \"%s\" is not a valid "
			    "datetime", clip(tmp, sizeof tmp, s));
		v->v.str = arena_strdup(r->a, s);
		return 0;
	case CIM_INSTANCE:
		if (!json_object_is_type(j, json_type_object))
			return jfail(r, at, "expected an object for instance, "
			    "got %s", jtype_name(j));
		if (depth + 1 > RECORD_MAX_EMBEDDING)
			return jfail(r, at, "embedded instances nested deeper "
			    "than %d", RECORD_MAX_EMBEDDING);
		if (!json_object_object_get_ex(j, "class", &jc) ||
		    json_object_is_type(jc, json_type_null))
			return jfail(r, at, "embedded instance without "
			    "\"class\"");
		if (!json_object_object_get_ex(j, "properties", &jp))
			return jfail(r, at, "embedded instance without "
			    "\"properties\"");
		if (json_object_object_length(j) != 2)
			return jfail(r, at, "embedded instance with keys other "
			    "than \"class\" and \"properties\"");
		if ((s = json_cstring(r, at, jc, "the class name")) == NULL)
			return -1;
		inst = arena_calloc(r->a, 1, sizeof *inst);
		inst->classname = arena_strdup(r->a, s);
		if (read_properties(r, jp, at, depth + 1, inst) != 0)
			return -1;
		v->v.inst = inst;
		return 0;
	}
	return jfail(r, at, "unsupported type");
}

/* {"type":T[,"array":true],"value":V} into p. */
static int
read_property(struct jreader *r, const char *name, json_object *j,
    const struct jpath *at, int depth, struct cim_property *p)
{
	json_object *jt = NULL, *jarr = NULL, *jv = NULL, *item;
	struct jpath itemat = { at, NULL, 0 };
	enum cim_type t;
	char tmp[CLIP_MAX + 8];
	const char *s;
	size_t i, n;

	p->name = arena_strdup(r->a, name);
	if (!json_object_is_type(j, json_type_object))
		return jfail(r, at, "expected an object "
		    "{\"type\":..,\"value\":..}, got %s", jtype_name(j));
	json_object_object_foreach(j, key, val) {
		if (strcmp(key, "type") == 0)
			jt = val;
		else if (strcmp(key, "array") == 0)
			jarr = val;
		else if (strcmp(key, "value") == 0)
			jv = val;
		else
			return jfail(r, at, "unknown key \"%s\"",
			    clip(tmp, sizeof tmp, key));
	}
	/* json-c gives a member whose value is null as a NULL object. */
	if (!json_object_object_get_ex(j, "type", NULL))
		return jfail(r, at, "missing \"type\"");
	if (!json_object_object_get_ex(j, "value", NULL))
		return jfail(r, at, "missing \"value\"");
	if (jt == NULL)
		t = CIM_NONE;
	else {
		if (!json_object_is_type(jt, json_type_string))
			return jfail(r, at, "\"type\" must be a string, "
			    "got %s", jtype_name(jt));
		s = json_object_get_string(jt);
		for (t = CIM_NONE + 1; cim_type_name(t) != NULL; t++)
			if (strcmp(s, cim_type_name(t)) == 0)
				break;
		if (cim_type_name(t) == NULL)
			return jfail(r, at, "unknown type \"%s\"",
			    clip(tmp, sizeof tmp, s));
	}
	p->type = t;
	if (json_object_object_get_ex(j, "array", NULL)) {
		if (!json_object_is_type(jarr, json_type_boolean))
			return jfail(r, at, "\"array\" must be true or false");
		p->array = json_object_get_boolean(jarr);
	}
	if (jv == NULL) {
		p->null = true;
		return 0;
	}
	if (!p->array) {
		if (json_object_is_type(jv, json_type_array))
			return jfail(r, at, "expected one value, got an array "
			    "(no \"array\":true)");
		p->count = 1;
		p->values = arena_calloc(r->a, 1, sizeof *p->values);
		return read_value(r, at, t, jv, depth, &p->values[0]);
	}
	if (!json_object_is_type(jv, json_type_array))
		return jfail(r, at, "expected an array (\"array\":true), "
		    "got %s", jtype_name(jv));
	n = json_object_array_length(jv);
	p->count = n;
	p->values = arena_calloc(r->a, n > 0 ? n : 1, sizeof *p->values);
	for (i = 0; i < n; i++) {
		item = json_object_array_get_idx(jv, i);
		if (item == NULL) {
			p->values[i].null = true;
			continue;
		}
		itemat.index = i;
		if (read_value(r, &itemat, t, item, depth, &p->values[i]) != 0)
			return -1;
	}
	return 0;
}

/* A "properties" object into inst (whose class is already set). */
static int
read_properties(struct jreader *r, json_object *j, const struct jpath *at,
    int depth, struct cim_instance *inst)
{
	struct jpath propat = { at, NULL, 0 };
	size_t n, i = 0;

	if (!json_object_is_type(j, json_type_object)) {
		if (at != NULL)
			return jfail(r, at, "\"properties\" must be an object, "
			    "got %s", jtype_name(j));
		return jfail(r, NULL, "\"properties\" must be an object, "
		    "got %s", jtype_name(j));
	}
	n = (size_t)json_object_object_length(j);
	inst->props = arena_calloc(r->a, n > 0 ? n : 1, sizeof *inst->props);
	json_object_object_foreach(j, key, val) {
		propat.name = key;
		if (read_property(r, key, val, &propat, depth,
		    &inst->props[i]) != 0)
			return -1;
		inst->nprops = ++i;
	}
	return 0;
}

/* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" (record_format_time) back to a timespec. */
static int
parse_time(const char *s, struct timespec *ts)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
	struct tm tm, chk;
	time_t t;
	long usec = 0;
	size_t i;

	if (strlen(s) != sizeof shape - 1)
		return -1;
	for (i = 0; i < sizeof shape - 1; i++) {
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') :
		    s[i] != shape[i])
			return -1;
	}
#define NUM2(o) ((s[o] - '0') * 10 + (s[(o) + 1] - '0'))
	memset(&tm, 0, sizeof tm);
	tm.tm_year = NUM2(0) * 100 + NUM2(2) - 1900;
	tm.tm_mon = NUM2(5) - 1;
	tm.tm_mday = NUM2(8);
	tm.tm_hour = NUM2(11);
	tm.tm_min = NUM2(14);
	tm.tm_sec = NUM2(17);
#undef NUM2
	for (i = 20; i < 26; i++)
		usec = usec * 10 + (s[i] - '0');
	chk = tm;
	t = timegm(&tm);
	/* timegm normalises 31 February: refuse what it had to change. */
	if (tm.tm_year != chk.tm_year || tm.tm_mon != chk.tm_mon ||
	    tm.tm_mday != chk.tm_mday || tm.tm_hour != chk.tm_hour ||
	    tm.tm_min != chk.tm_min || tm.tm_sec != chk.tm_sec)
		return -1;
	ts->tv_sec = t;
	ts->tv_nsec = usec * 1000;
	return 0;
}

/* An unsigned integer member (seq, port) no larger than max. */
static int
read_uint(struct jreader *r, json_object *j, const char *what, uint64_t max,
    uint64_t *out)
{
	char text[CLIP_MAX + 8];
	uint64_t mag;
	bool neg;

	if (json_integer(j, &neg, &mag, text, sizeof text) != 0 ||
	    (neg && mag != 0) || mag > max)
		return jfail(r, NULL, "\"%s\" must be an integer from 0 to "
		    "%" PRIu64, what, max);
	*out = mag;
	return 0;
}

/* "source":{"addr":..,"port":..,"tls":..,"user":..,"path":..} into src. */
static int
read_source(struct jreader *r, json_object *j, struct record_source *src)
{
	char tmp[CLIP_MAX + 8], what[32];
	const char *s;
	uint64_t port;

	memset(src, 0, sizeof *src);
	if (!json_object_is_type(j, json_type_object))
		return jfail(r, NULL, "\"source\" must be an object or null, "
		    "got %s", jtype_name(j));
	json_object_object_foreach(j, key, val) {
		snprintf(what, sizeof what, "source.%s", key);
		if (strcmp(key, "addr") == 0) {
			if ((s = json_cstring(r, NULL, val, what)) == NULL)
				return -1;
			if (strlen(s) >= sizeof src->addr)
				return jfail(r, NULL, "\"source.addr\" is too "
				    "long for an address");
			memcpy(src->addr, s, strlen(s) + 1);
		} else if (strcmp(key, "port") == 0) {
			if (read_uint(r, val, what, 65535, &port) != 0)
				return -1;
			src->port = (unsigned)port;
		} else if (strcmp(key, "tls") == 0) {
			if (!json_object_is_type(val, json_type_boolean))
				return jfail(r, NULL, "\"source.tls\" must be "
				    "true or false");
			src->tls = json_object_get_boolean(val);
		} else if (strcmp(key, "user") == 0 ||
		    strcmp(key, "path") == 0) {
			if (val == NULL)
				continue;
			if ((s = json_cstring(r, NULL, val, what)) == NULL)
				return -1;
			if (key[0] == 'u')
				src->user = arena_strdup(r->a, s);
			else
				src->path = arena_strdup(r->a, s);
		} else
			return jfail(r, NULL, "\"source\": unknown key "
			    "\"%s\"", clip(tmp, sizeof tmp, key));
	}
	return 0;
}

/* The members of a record object other than the instance's. */
static int
read_record_keys(struct jreader *r, json_object *root, struct record *rec,
    struct record_source *src)
{
	json_object *j, *item;
	const char **names;
	const char *s;
	uint64_t version;
	size_t i, n;

	if (json_object_object_get_ex(root, "v", &j) &&
	    (read_uint(r, j, "v", UINT64_MAX, &version) != 0 ||
	    version != RECORD_VERSION)) {
		free(r->cause);
		r->cause = NULL;
		return jfail(r, NULL, "unsupported record version (\"v\" "
		    "must be %d)", RECORD_VERSION);
	}
	if (json_object_object_get_ex(root, "seq", &j) &&
	    read_uint(r, j, "seq", UINT64_MAX, &rec->seq) != 0)
		return -1;
	if (json_object_object_get_ex(root, "time", &j)) {
		if ((s = json_cstring(r, NULL, j, "time")) == NULL)
			return -1;
		if (parse_time(s, &rec->time) != 0)
			return jfail(r, NULL, "\"time\" is not a UTC time "
			    "YYYY-MM-DDTHH:MM:SS.uuuuuuZ");
	}
	if (json_object_object_get_ex(root, "source", &j) && j != NULL) {
		if (read_source(r, j, src) != 0)
			return -1;
		rec->source = src;
	}
	if (json_object_object_get_ex(root, "message_id", &j) && j != NULL) {
		if ((s = json_cstring(r, NULL, j, "message_id")) == NULL)
			return -1;
		rec->message_id = arena_strdup(r->a, s);
	}
	if (json_object_object_get_ex(root, "filters", &j) && j != NULL) {
		if (!json_object_is_type(j, json_type_array))
			return jfail(r, NULL, "\"filters\" must be an array "
			    "of strings");
		n = json_object_array_length(j);
		names = arena_calloc(r->a, n > 0 ? n : 1, sizeof *names);
		for (i = 0; i < n; i++) {
			item = json_object_array_get_idx(j, i);
			if (!json_object_is_type(item, json_type_string))
				return jfail(r, NULL, "\"filters\" must be an "
				    "array of strings");
			s = json_cstring(r, NULL, item, "filters");
			if (s == NULL)
				return -1;
			names[i] = arena_strdup(r->a, s);
		}
		rec->filters = names;
		rec->nfilters = n;
	}
	return 0;
}

int
record_from_json(const char *line, size_t len, struct arena *a,
    struct record *rec, struct record_source *src, char **cause)
{
	struct jreader r = { a, NULL };
	struct json_tokener *tok;
	struct cim_instance *inst;
	json_object *root = NULL, *jc, *jp;
	enum json_tokener_error jerr;
	char *marked;
	const char *text = line, *s;
	size_t tlen;
	bool ended = false;

	memset(rec, 0, sizeof *rec);
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	tlen = len;
	if ((marked = mark_wide_integers(line, len, &tlen)) != NULL)
		text = marked;

	tok = json_tokener_new_ex(JSON_MAX_NESTING);
	if (tok == NULL)
		fatalx("json_tokener_new_ex failed");
	json_tokener_set_flags(tok,
	    JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, text, tlen);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue && tlen > 0) {
		/* A bare number or literal ends only at the end of input. */
		root = json_tokener_parse_ex(tok, "", 1);
		if (json_tokener_get_error(tok) == json_tokener_success) {
			jerr = json_tokener_success;
			ended = true;
		} else {
			json_object_put(root);
			root = NULL;
		}
	}
	if (root == NULL && jerr == json_tokener_success)
		jfail(&r, NULL, "not a JSON object (null)");
	else if (jerr == json_tokener_continue)
		jfail(&r, NULL, "truncated JSON: the line ends inside a value");
	else if (jerr != json_tokener_success)
		jfail(&r, NULL, "invalid JSON at byte %zu: %s",
		    json_tokener_get_parse_end(tok) + 1,
		    json_tokener_error_desc(jerr));
	else if (!ended && json_tokener_get_parse_end(tok) != tlen)
		jfail(&r, NULL, "invalid JSON at byte %zu: more after the "
		    "object", json_tokener_get_parse_end(tok) + 1);
	json_tokener_free(tok);
	free(marked);
	if (r.cause != NULL)
		goto fail;

	if (!json_object_is_type(root, json_type_object)) {
		jfail(&r, NULL, "not a JSON object (%s)", jtype_name(root));
		goto fail;
	}
	if (read_record_keys(&r, root, rec, src) != 0)
		goto fail;
	if (!json_object_object_get_ex(root, "class", &jc)) {
		jfail(&r, NULL, "missing \"class\"");
		goto fail;
	}
	if ((s = json_cstring(&r, NULL, jc, "class")) == NULL)
		goto fail;
	if (!json_object_object_get_ex(root, "properties", &jp)) {
		jfail(&r, NULL, "missing \"properties\"");
		goto fail;
	}
	inst = arena_calloc(a, 1, sizeof *inst);
	inst->classname = arena_strdup(a, s);
	if (read_properties(&r, jp, NULL, 0, inst) != 0)
		goto fail;
	rec->inst = inst;
	json_object_put(root);
	return 0;

fail:
	json_object_put(root);
	memset(rec, 0, sizeof *rec);
	if (cause != NULL)
		*cause = r.cause;
	else
		free(r.cause);
	return -1;
}
