/*
 * check_record.c: unit tests for record.c, the canonical JSON form of a
 * record (DESIGN section 4) and the source helpers. Output is read back
 * with json-c (which keeps 64-bit integers exact) rather than compared as
 * text, except where the exact text is the point (time, reals, escapes).
 */
#include "autoconf.h"


#include <sys/socket.h>
#include <arpa/inet.h>
#include <check.h>

#include "testutil.h"
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "arena.h"
#include "buf.h"
#include "cim.h"
#include "record.h"

/* Building instances by hand. */

static struct cim_instance *
mk_inst(struct arena *a, const char *cls, size_t nprops)
{
	struct cim_instance *in = arena_calloc(a, 1, sizeof *in);

	in->classname = cls;
	in->nprops = 0;
	in->props = arena_calloc(a, nprops, sizeof *in->props);
	return in;
}

static struct cim_property *
add_prop(struct arena *a, struct cim_instance *in, const char *name,
    enum cim_type t, bool array, size_t count)
{
	struct cim_property *p = &in->props[in->nprops++];

	p->name = name;
	p->type = t;
	p->array = array;
	p->count = count;
	p->values = arena_calloc(a, count > 0 ? count : 1, sizeof *p->values);
	return p;
}

static void
add_u(struct arena *a, struct cim_instance *in, const char *n,
    enum cim_type t, uint64_t v)
{
	add_prop(a, in, n, t, false, 1)->values[0].v.u = v;
}

static void
add_s(struct arena *a, struct cim_instance *in, const char *n,
    enum cim_type t, int64_t v)
{
	add_prop(a, in, n, t, false, 1)->values[0].v.s = v;
}

static void
add_str(struct arena *a, struct cim_instance *in, const char *n,
    enum cim_type t, const char *v)
{
	add_prop(a, in, n, t, false, 1)->values[0].v.str = v;
}

static void
add_r(struct arena *a, struct cim_instance *in, const char *n,
    enum cim_type t, double v)
{
	add_prop(a, in, n, t, false, 1)->values[0].v.r = v;
}

static struct record_source test_source = {
	.addr = "10.1.2.3",
	.port = 49152,
	.tls = false,
	.user = NULL,
	.path = "/cimlisten/bmc4",
};

static void
mk_record(struct record *r, struct cim_instance *in)
{
	static const char *const filters[] = { "critical", "all" };

	memset(r, 0, sizeof *r);
	r->seq = 1042;
	r->time.tv_sec = 1795311000; /* 2026-11-22T01:30:00Z */
	r->time.tv_nsec = 123456789;
	r->source = &test_source;
	r->message_id = "1001";
	r->inst = in;
	r->filters = filters;
	r->nfilters = 2;
}

/* Render and parse; checks it is exactly one line ending in '\n'. */
static json_object *
render(const struct record *r, struct buf *b)
{
	json_tokener *tok;
	json_object *o;

	buf_reset(b);
	record_json(r, b);
	ck_assert_uint_gt(b->len, 2);
	ck_assert_int_eq(b->data[b->len - 1], '\n');
	ck_assert_ptr_eq(memchr(b->data, '\n', b->len), b->data + b->len - 1);
	ck_assert_uint_eq(strlen(b->data), b->len);
	tok = json_tokener_new_ex(2000);
	o = json_tokener_parse_ex(tok, b->data, (int)b->len - 1);
	ck_assert_msg(o != NULL, "not JSON (%s): %.300s",
	    json_tokener_error_desc(json_tokener_get_error(tok)), b->data);
	ck_assert_int_eq(json_tokener_get_error(tok), json_tokener_success);
	ck_assert_int_eq((int)json_tokener_get_parse_end(tok), (int)b->len - 1);
	json_tokener_free(tok);
	return o;
}

static json_object *
get(json_object *o, const char *key)
{
	json_object *v = NULL;

	ck_assert_msg(json_object_object_get_ex(o, key, &v), "no key %s", key);
	return v;
}

/* The "value" of property `name`, checking its "type" and array-ness. */
static json_object *
prop(json_object *props, const char *name, const char *type, bool array)
{
	json_object *p = get(props, name), *a;
	int i = 0;

	ck_assert_str_eq(json_object_get_string(get(p, "type")), type);
	if (array) {
		a = get(p, "array");
		ck_assert(json_object_is_type(a, json_type_boolean));
		ck_assert(json_object_get_boolean(a));
	} else
		ck_assert(!json_object_object_get_ex(p, "array", NULL));
	/* Key order: type, [array], value. */
	json_object_object_foreach(p, k, v) {
		(void)v;
		if (i == 0)
			ck_assert_str_eq(k, "type");
		else if (array && i == 1)
			ck_assert_str_eq(k, "array");
		else
			ck_assert_str_eq(k, "value");
		i++;
	}
	ck_assert_int_eq(i, array ? 3 : 2);
	return get(p, "value");
}

START_TEST(test_top_level)
{
	struct arena *a = arena_new();
	struct cim_instance *in = mk_inst(a, "CIM_AlertIndication", 4);
	static const char *const order[] = { "v", "seq", "time", "source",
		"message_id", "class", "filters", "properties" };
	static const char *const sorder[] = { "addr", "port", "tls", "user",
		"path" };
	struct buf b = BUF_INIT;
	struct record r;
	json_object *o, *src, *f;
	size_t i;

	add_u(a, in, "PerceivedSeverity", CIM_UINT16, 6);
	mk_record(&r, in);
	o = render(&r, &b);

	i = 0;
	json_object_object_foreach(o, k, v) {
		(void)v;
		ck_assert_uint_lt(i, 8);
		ck_assert_str_eq(k, order[i]);
		i++;
	}
	ck_assert_uint_eq(i, 8);
	ck_assert(json_object_is_type(get(o, "v"), json_type_int));
	ck_assert_int_eq(json_object_get_int64(get(o, "v")), 1);
	ck_assert_int_eq(json_object_get_int64(get(o, "seq")), 1042);
	ck_assert_str_eq(json_object_get_string(get(o, "time")),
	    "2026-11-22T01:30:00.123456Z");
	src = get(o, "source");
	i = 0;
	json_object_object_foreach(src, k2, v2) {
		(void)v2;
		ck_assert_uint_lt(i, 5);
		ck_assert_str_eq(k2, sorder[i]);
		i++;
	}
	ck_assert_uint_eq(i, 5);
	ck_assert_str_eq(json_object_get_string(get(src, "addr")), "10.1.2.3");
	ck_assert(json_object_is_type(get(src, "port"), json_type_int));
	ck_assert_int_eq(json_object_get_int(get(src, "port")), 49152);
	ck_assert(json_object_is_type(get(src, "tls"), json_type_boolean));
	ck_assert(!json_object_get_boolean(get(src, "tls")));
	ck_assert(json_object_is_type(get(src, "user"), json_type_null));
	ck_assert_str_eq(json_object_get_string(get(src, "path")),
	    "/cimlisten/bmc4");
	ck_assert_str_eq(json_object_get_string(get(o, "message_id")), "1001");
	ck_assert_str_eq(json_object_get_string(get(o, "class")),
	    "CIM_AlertIndication");
	f = get(o, "filters");
	ck_assert(json_object_is_type(f, json_type_array));
	ck_assert_uint_eq(json_object_array_length(f), 2);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(f,
	    0)), "critical");
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(f,
	    1)), "all");
	ck_assert_int_eq(json_object_get_int(prop(get(o, "properties"),
	    "PerceivedSeverity", "uint16", false)), 6);
	/* No spaces anywhere when no string holds one. */
	ck_assert_ptr_null(strchr(b.data, ' '));
	ck_assert(strncmp(b.data, "{\"v\":1,\"seq\":1042,\"time\":\""
	    "2026-11-22T01:30:00.123456Z\",\"source\":{\"addr\":\"10.1.2.3\","
	    "\"port\":49152,\"tls\":false,\"user\":null,\"path\":"
	    "\"/cimlisten/bmc4\"},\"message_id\":\"1001\",\"class\":"
	    "\"CIM_AlertIndication\",\"filters\":[\"critical\",\"all\"],"
	    "\"properties\":{\"PerceivedSeverity\":{\"type\":\"uint16\","
	    "\"value\":6}}}\n", b.len) == 0);

	json_object_put(o);
	buf_free(&b);
	arena_free(a);
}
END_TEST

START_TEST(test_source_user_tls_nulls)
{
	struct arena *a = arena_new();
	struct cim_instance *in = mk_inst(a, "C", 0);
	struct record_source src = test_source;
	struct buf b = BUF_INIT;
	struct record r;
	json_object *o, *s;

	src.tls = true;
	src.user = "bmc4";
	mk_record(&r, in);
	r.source = &src;
	r.message_id = NULL;
	r.filters = NULL;
	r.nfilters = 0;
	o = render(&r, &b);
	s = get(o, "source");
	ck_assert(json_object_get_boolean(get(s, "tls")));
	ck_assert_str_eq(json_object_get_string(get(s, "user")), "bmc4");
	ck_assert(json_object_is_type(get(o, "message_id"), json_type_null));
	ck_assert_uint_eq(json_object_array_length(get(o, "filters")), 0);
	ck_assert_uint_eq(json_object_object_length(get(o, "properties")), 0);
	json_object_put(o);
	buf_free(&b);
	arena_free(a);
}
END_TEST

START_TEST(test_integers)
{
	struct arena *a = arena_new();
	struct cim_instance *in = mk_inst(a, "C", 12);
	struct buf b = BUF_INIT;
	struct record r;
	json_object *o, *p, *v;

	add_u(a, in, "u8", CIM_UINT8, 255);
	add_u(a, in, "u16", CIM_UINT16, 65535);
	add_u(a, in, "u32", CIM_UINT32, 4294967295u);
	add_u(a, in, "u64", CIM_UINT64, UINT64_MAX);
	add_u(a, in, "u64z", CIM_UINT64, 0);
	add_s(a, in, "s8", CIM_SINT8, -128);
	add_s(a, in, "s16", CIM_SINT16, -32768);
	add_s(a, in, "s32", CIM_SINT32, INT32_MIN);
	add_s(a, in, "s64min", CIM_SINT64, INT64_MIN);
	add_s(a, in, "s64max", CIM_SINT64, INT64_MAX);
	add_s(a, in, "s64m1", CIM_SINT64, -1);
	add_u(a, in, "u64p", CIM_UINT64, 10000000000000000000ull);
	mk_record(&r, in);
	r.seq = UINT64_MAX;
	o = render(&r, &b);
	ck_assert_uint_eq(json_object_get_uint64(get(o, "seq")), UINT64_MAX);
	p = get(o, "properties");

	v = prop(p, "u8", "uint8", false);
	ck_assert(json_object_is_type(v, json_type_int));
	ck_assert_int_eq(json_object_get_int64(v), 255);
	ck_assert_int_eq(json_object_get_int64(prop(p, "u16", "uint16", false)),
	    65535);
	ck_assert_int_eq(json_object_get_int64(prop(p, "u32", "uint32", false)),
	    4294967295ll);
	v = prop(p, "u64", "uint64", false);
	ck_assert(json_object_is_type(v, json_type_int));
	ck_assert_uint_eq(json_object_get_uint64(v), UINT64_MAX);
	ck_assert_uint_eq(json_object_get_uint64(prop(p, "u64z", "uint64",
	    false)), 0);
	ck_assert_uint_eq(json_object_get_uint64(prop(p, "u64p", "uint64",
	    false)), 10000000000000000000ull);
	ck_assert_int_eq(json_object_get_int64(prop(p, "s8", "sint8", false)),
	    -128);
	ck_assert_int_eq(json_object_get_int64(prop(p, "s16", "sint16", false)),
	    -32768);
	ck_assert_int_eq(json_object_get_int64(prop(p, "s32", "sint32", false)),
	    INT32_MIN);
	v = prop(p, "s64min", "sint64", false);
	ck_assert(json_object_is_type(v, json_type_int));
	ck_assert_int_eq(json_object_get_int64(v), INT64_MIN);
	ck_assert_int_eq(json_object_get_int64(prop(p, "s64max", "sint64",
	    false)), INT64_MAX);
	ck_assert_int_eq(json_object_get_int64(prop(p, "s64m1", "sint64",
	    false)), -1);
	ck_assert_ptr_nonnull(strstr(b.data,
	    "\"u64\":{\"type\":\"uint64\",\"value\":18446744073709551615}"));
	ck_assert_ptr_nonnull(strstr(b.data,
	    "\"value\":-9223372036854775808}"));
	json_object_put(o);
	buf_free(&b);
	arena_free(a);
}
END_TEST

/* record_json_real's text for v. */
static const char *
real_text(struct buf *b, double v, bool r32)
{
	buf_reset(b);
	record_json_real(b, v, r32);
	return b->data;
}

START_TEST(test_reals_exact)
{
	struct buf b = BUF_INIT;

	ck_assert_str_eq(real_text(&b, 0.1, false), "0.1");
	ck_assert_str_eq(real_text(&b, 0.1f, true), "0.1");
	ck_assert_str_eq(real_text(&b, 0.1f, false), "0.10000000149011612");
	ck_assert_str_eq(real_text(&b, 1.0 / 3, false), "0.3333333333333333");
	ck_assert_str_eq(real_text(&b, 1.0f / 3, true), "0.33333334");
	ck_assert_str_eq(real_text(&b, 5.0, false), "5");
	ck_assert_str_eq(real_text(&b, 23.5, true), "23.5");
	ck_assert_str_eq(real_text(&b, 0.0, false), "0");
	ck_assert_str_eq(real_text(&b, -0.0, false), "-0");
	ck_assert_str_eq(real_text(&b, 1e20, false), "1e+20");
	ck_assert_str_eq(real_text(&b, 1e-7, false), "1e-07");
	ck_assert_str_eq(real_text(&b, -2.5e-300, false), "-2.5e-300");
	ck_assert_str_eq(real_text(&b, DBL_MAX, false),
	    "1.7976931348623157e+308");
	ck_assert_str_eq(real_text(&b, DBL_TRUE_MIN, false), "5e-324");
	ck_assert_str_eq(real_text(&b, FLT_MAX, true), "3.4028235e+38");
	ck_assert_str_eq(real_text(&b, FLT_TRUE_MIN, true), "1e-45");
	ck_assert_str_eq(real_text(&b, 0.1 + 0.2, false), "0.30000000000000004");
	ck_assert_str_eq(real_text(&b, NAN, false), "\"NaN\"");
	ck_assert_str_eq(real_text(&b, -NAN, true), "\"NaN\"");
	ck_assert_str_eq(real_text(&b, INFINITY, false), "\"INF\"");
	ck_assert_str_eq(real_text(&b, -INFINITY, false), "\"-INF\"");
	ck_assert_str_eq(real_text(&b, INFINITY, true), "\"INF\"");
	ck_assert_str_eq(real_text(&b, -INFINITY, true), "\"-INF\"");
	buf_free(&b);
}
END_TEST

/* A deterministic stream of arbitrary bit patterns. */
static uint64_t
next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Significant digits in a %g-style number (0 for zero). */
static int
sig_digits(const char *t)
{
	int n = 0;
	bool lead = true;

	for (; *t != '\0' && *t != 'e'; t++) {
		if (*t < '0' || *t > '9')
			continue;
		if (lead && *t == '0')
			continue;
		lead = false;
		n++;
	}
	/* Trailing zeros of an integer ("100") are not significant. */
	return n;
}

START_TEST(test_reals_roundtrip)
{
	struct buf b = BUF_INIT;
	uint64_t seed = 0x1234567887654321ull, bits;
	uint32_t fbits;
	double d;
	float f;
	json_object *o;
	int i, p, n = 0;
	char shorter[40];
	const char *t;

	for (i = 0; i < 20000; i++) {
		bits = next_rand(&seed);
		if (i & 1) {
			memcpy(&d, &bits, sizeof d);
			if (!isfinite(d))
				continue;
			t = real_text(&b, d, false);
			ck_assert_msg(strtod(t, NULL) == d, "%s != %a", t, d);
			/* Valid JSON number, read back the same by json-c. */
			o = json_tokener_parse(t);
			ck_assert_msg(o != NULL, "not JSON: %s", t);
			ck_assert(json_object_get_double(o) == d);
			json_object_put(o);
			/* One digit fewer does not read back. */
			p = sig_digits(t);
			ck_assert_int_le(p, 17);
			if (p > 1) {
				snprintf(shorter, sizeof shorter, "%.*g", p - 1,
				    d);
				ck_assert_msg(strtod(shorter, NULL) != d,
				    "%s is shorter than %s", shorter, t);
			}
		} else {
			fbits = (uint32_t)bits;
			memcpy(&f, &fbits, sizeof f);
			if (!isfinite(f))
				continue;
			t = real_text(&b, f, true);
			ck_assert_msg(strtof(t, NULL) == f, "%s != %a", t,
			    (double)f);
			o = json_tokener_parse(t);
			ck_assert_msg(o != NULL, "not JSON: %s", t);
			ck_assert((float)json_object_get_double(o) == f);
			json_object_put(o);
			p = sig_digits(t);
			ck_assert_int_le(p, 9);
			if (p > 1) {
				snprintf(shorter, sizeof shorter, "%.*g", p - 1,
				    (double)f);
				ck_assert_msg(strtof(shorter, NULL) != f,
				    "%s is shorter than %s", shorter, t);
			}
		}
		n++;
	}
	ck_assert_int_gt(n, 15000);
	buf_free(&b);
}
END_TEST

START_TEST(test_reals_in_record)
{
	struct arena *a = arena_new();
	struct cim_instance *in = mk_inst(a, "C", 6);
	struct buf b = BUF_INIT;
	struct record r;
	json_object *o, *p, *v;

	add_r(a, in, "r32", CIM_REAL32, 23.5f);
	add_r(a, in, "r64", CIM_REAL64, 0.1);
	add_r(a, in, "big", CIM_REAL64, 1e20);
	add_r(a, in, "nan", CIM_REAL64, NAN);
	add_r(a, in, "inf", CIM_REAL32, INFINITY);
	add_r(a, in, "minf", CIM_REAL64, -INFINITY);
	mk_record(&r, in);
	o = render(&r, &b);
	p = get(o, "properties");
	v = prop(p, "r32", "real32", false);
	ck_assert(json_object_is_type(v, json_type_double));
	ck_assert(json_object_get_double(v) == 23.5);
	ck_assert(json_object_get_double(prop(p, "r64", "real64", false)) ==
	    0.1);
	ck_assert(json_object_get_double(prop(p, "big", "real64", false)) ==
	    1e20);
	ck_assert_str_eq(json_object_get_string(prop(p, "nan", "real64",
	    false)), "NaN");
	ck_assert_str_eq(json_object_get_string(prop(p, "inf", "real32",
	    false)), "INF");
	ck_assert_str_eq(json_object_get_string(prop(p, "minf", "real64",
	    false)), "-INF");
	ck_assert(json_object_is_type(prop(p, "minf", "real64", false),
	    json_type_string));
	json_object_put(o);
	buf_free(&b);
	arena_free(a);
}
END_TEST

START_TEST(test_strings_and_kinds)
{
	struct arena *a = arena_new();
	struct cim_instance *in = mk_inst(a, "C", 10);
	struct buf b = BUF_INIT;
	struct record r;
	json_object *o, *p, *v;
	const char *nasty = "q\"b\\s/\n\t\r\b\f\x01\x1f\x7f"
	    "é€😀 end";

	add_str(a, in, "s", CIM_STRING, nasty);
	add_str(a, in, "empty", CIM_STRING, "");
	add_str(a, in, "c", CIM_CHAR16, "€");
	add_str(a, in, "dt", CIM_DATETIME, "20261122013000.123456+000");
	add_str(a, in, "ref", CIM_REFERENCE,
	    "//bmc4/root/cimv2:CIM_PowerSupply.DeviceID=\"PSU2\"");
	add_prop(a, in, "t", CIM_BOOLEAN, false, 1)->values[0].v.b = true;
	add_prop(a, in, "f", CIM_BOOLEAN, false, 1)->values[0].v.b = false;
	add_prop(a, in, "Ünïcode_名", CIM_STRING, false, 1)->values[0].v.str =
	    "x";
	mk_record(&r, in);
	o = render(&r, &b);
	p = get(o, "properties");
	v = prop(p, "s", "string", false);
	ck_assert(json_object_is_type(v, json_type_string));
	ck_assert_str_eq(json_object_get_string(v), nasty);
	ck_assert_str_eq(json_object_get_string(prop(p, "empty", "string",
	    false)), "");
	ck_assert_str_eq(json_object_get_string(prop(p, "c", "char16", false)),
	    "€");
	ck_assert_str_eq(json_object_get_string(prop(p, "dt", "datetime",
	    false)), "20261122013000.123456+000");
	ck_assert_str_eq(json_object_get_string(prop(p, "ref", "reference",
	    false)), "//bmc4/root/cimv2:CIM_PowerSupply.DeviceID=\"PSU2\"");
	v = prop(p, "t", "boolean", false);
	ck_assert(json_object_is_type(v, json_type_boolean));
	ck_assert(json_object_get_boolean(v));
	ck_assert(!json_object_get_boolean(prop(p, "f", "boolean", false)));
	ck_assert_str_eq(json_object_get_string(prop(p, "Ünïcode_名", "string",
	    false)), "x");
	/* Exact escapes: short forms, \u00XX, and UTF-8 passed through. */
	ck_assert_ptr_nonnull(strstr(b.data, "\"q\\\"b\\\\s/\\n\\t\\r\\b\\f"
	    "\\u0001\\u001f\\u007fé€😀 end\""));
	json_object_put(o);

	buf_reset(&b);
	record_json_string(&b, "a\x02z");
	ck_assert_str_eq(b.data, "\"a\\u0002z\"");
	buf_free(&b);
	arena_free(a);
}
END_TEST

/* The plain definition of the escaping, to check the fast one against. */
static void
ref_escape(struct buf *b, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	buf_addc(b, '"');
	for (; *u != '\0'; u++) {
		switch (*u) {
		case '"':
			buf_adds(b, "\\\"");
			break;
		case '\\':
			buf_adds(b, "\\\\");
			break;
		case '\n':
			buf_adds(b, "\\n");
			break;
		case '\t':
			buf_adds(b, "\\t");
			break;
		case '\r':
			buf_adds(b, "\\r");
			break;
		case '\b':
			buf_adds(b, "\\b");
			break;
		case '\f':
			buf_adds(b, "\\f");
			break;
		default:
			if (*u < 0x20 || *u == 0x7f)
				buf_printf(b, "\\u%04x", *u);
			else
				buf_addc(b, (char)*u);
		}
	}
	buf_addc(b, '"');
}

START_TEST(test_string_escapes_random)
{
	static const char *const units[] = { "a", "Z", " ", "\"", "\\", "\n",
		"\t", "\r", "\b", "\f", "\x01", "\x1f", "\x7f", "~", "é", "€",
		"😀", "/", "\x1b" };
	struct buf in = BUF_INIT, got = BUF_INIT, want = BUF_INIT;
	uint64_t seed = 42;
	json_object *o;
	size_t len, k;
	int i;

	for (i = 0; i < 20000; i++) {
		buf_reset(&in);
		len = next_rand(&seed) % 40;
		for (k = 0; k < len; k++) {
			/* Mostly plain text, so that long clean runs occur. */
			if (next_rand(&seed) % 4 != 0)
				buf_addc(&in, (char)('a' + k % 26));
			else
				buf_adds(&in, units[next_rand(&seed) %
				    (sizeof units / sizeof units[0])]);
		}
		buf_reset(&got);
		buf_reset(&want);
		buf_adds(&got, "x"); /* appends, does not overwrite */
		record_json_string(&got, in.data != NULL ? in.data : "");
		ref_escape(&want, in.data != NULL ? in.data : "");
		ck_assert_str_eq(got.data + 1, want.data);
		o = json_tokener_parse(got.data + 1);
		ck_assert_ptr_nonnull(o);
		ck_assert_str_eq(json_object_get_string(o),
		    in.data != NULL ? in.data : "");
		json_object_put(o);
	}
	buf_free(&in);
	buf_free(&got);
	buf_free(&want);
}
END_TEST

START_TEST(test_nulls_and_arrays)
{
	struct arena *a = arena_new();
	struct cim_instance *in = mk_inst(a, "C", 8);
	struct cim_property *pp;
	struct buf b = BUF_INIT;
	struct record r;
	json_object *o, *p, *v;

	pp = add_prop(a, in, "NullScalar", CIM_UINT16, false, 0);
	pp->null = true;
	pp = add_prop(a, in, "NullArray", CIM_STRING, true, 0);
	pp->null = true;
	add_prop(a, in, "EmptyArray", CIM_UINT8, true, 0);
	pp = add_prop(a, in, "Strs", CIM_STRING, true, 3);
	pp->values[0].v.str = "a";
	pp->values[1].null = true;
	pp->values[2].v.str = "c";
	pp = add_prop(a, in, "U64s", CIM_UINT64, true, 2);
	pp->values[0].v.u = UINT64_MAX;
	pp->values[1].v.u = 7;
	pp = add_prop(a, in, "Reals", CIM_REAL32, true, 2);
	pp->values[0].v.r = NAN;
	pp->values[1].v.r = 1.5;
	pp = add_prop(a, in, "Bools", CIM_BOOLEAN, true, 2);
	pp->values[0].v.b = true;
	pp->values[1].null = true;
	mk_record(&r, in);
	o = render(&r, &b);
	p = get(o, "properties");

	ck_assert(json_object_is_type(prop(p, "NullScalar", "uint16", false),
	    json_type_null));
	ck_assert(json_object_is_type(prop(p, "NullArray", "string", true),
	    json_type_null));
	v = prop(p, "EmptyArray", "uint8", true);
	ck_assert(json_object_is_type(v, json_type_array));
	ck_assert_uint_eq(json_object_array_length(v), 0);
	v = prop(p, "Strs", "string", true);
	ck_assert_uint_eq(json_object_array_length(v), 3);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v,
	    0)), "a");
	ck_assert(json_object_is_type(json_object_array_get_idx(v, 1),
	    json_type_null));
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v,
	    2)), "c");
	v = prop(p, "U64s", "uint64", true);
	ck_assert_uint_eq(json_object_get_uint64(json_object_array_get_idx(v,
	    0)), UINT64_MAX);
	ck_assert_uint_eq(json_object_get_uint64(json_object_array_get_idx(v,
	    1)), 7);
	v = prop(p, "Reals", "real32", true);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v,
	    0)), "NaN");
	ck_assert(json_object_get_double(json_object_array_get_idx(v, 1)) ==
	    1.5);
	v = prop(p, "Bools", "boolean", true);
	ck_assert(json_object_get_boolean(json_object_array_get_idx(v, 0)));
	ck_assert(json_object_is_type(json_object_array_get_idx(v, 1),
	    json_type_null));
	ck_assert_ptr_nonnull(strstr(b.data, "\"EmptyArray\":{\"type\":"
	    "\"uint8\",\"array\":true,\"value\":[]}"));
	ck_assert_ptr_nonnull(strstr(b.data, "\"Strs\":{\"type\":\"string\","
	    "\"array\":true,\"value\":[\"a\",null,\"c\"]}"));
	ck_assert_ptr_nonnull(strstr(b.data, "\"NullScalar\":{\"type\":"
	    "\"uint16\",\"value\":null}"));
	json_object_put(o);
	buf_free(&b);
	arena_free(a);
}
END_TEST

START_TEST(test_embedded)
{
	struct arena *a = arena_new();
	struct cim_instance *in = mk_inst(a, "CIM_InstModification", 3);
	struct cim_instance *fan = mk_inst(a, "CIM_Fan", 3);
	struct cim_instance *sensor = mk_inst(a, "CIM_Sensor", 1);
	struct cim_instance *e2 = mk_inst(a, "E2", 0);
	struct cim_property *pp;
	struct buf b = BUF_INIT;
	struct record r;
	json_object *o, *v, *fp, *arr;

	add_str(a, sensor, "Name", CIM_STRING, "t1");
	add_u(a, fan, "OperationalStatus", CIM_UINT16, 6);
	add_prop(a, fan, "Sensor", CIM_INSTANCE, false, 1)->values[0].v.inst =
	    sensor;
	pp = add_prop(a, fan, "NullInst", CIM_INSTANCE, false, 0);
	pp->null = true;
	add_prop(a, in, "SourceInstance", CIM_INSTANCE, false, 1)
	    ->values[0].v.inst = fan;
	pp = add_prop(a, in, "Insts", CIM_INSTANCE, true, 3);
	pp->values[0].v.inst = sensor;
	pp->values[1].null = true;
	pp->values[2].v.inst = e2;
	mk_record(&r, in);
	o = render(&r, &b);

	v = prop(get(o, "properties"), "SourceInstance", "instance", false);
	ck_assert(json_object_is_type(v, json_type_object));
	ck_assert_str_eq(json_object_get_string(get(v, "class")), "CIM_Fan");
	fp = get(v, "properties");
	ck_assert_int_eq(json_object_get_int(prop(fp, "OperationalStatus",
	    "uint16", false)), 6);
	v = prop(fp, "Sensor", "instance", false);
	ck_assert_str_eq(json_object_get_string(get(v, "class")),
	    "CIM_Sensor");
	ck_assert_str_eq(json_object_get_string(prop(get(v, "properties"),
	    "Name", "string", false)), "t1");
	ck_assert(json_object_is_type(prop(fp, "NullInst", "instance", false),
	    json_type_null));
	arr = prop(get(o, "properties"), "Insts", "instance", true);
	ck_assert_uint_eq(json_object_array_length(arr), 3);
	ck_assert_str_eq(json_object_get_string(get(json_object_array_get_idx(
	    arr, 0), "class")), "CIM_Sensor");
	ck_assert(json_object_is_type(json_object_array_get_idx(arr, 1),
	    json_type_null));
	v = json_object_array_get_idx(arr, 2);
	ck_assert_str_eq(json_object_get_string(get(v, "class")), "E2");
	ck_assert_uint_eq(json_object_object_length(get(v, "properties")), 0);
	ck_assert_ptr_nonnull(strstr(b.data, "\"SourceInstance\":{\"type\":"
	    "\"instance\",\"value\":{\"class\":\"CIM_Fan\",\"properties\":{"));
	json_object_put(o);
	buf_free(&b);
	arena_free(a);
}
END_TEST

START_TEST(test_deep_nesting)
{
	struct arena *a = arena_new();
	struct cim_instance *top = mk_inst(a, "L0", 1), *cur = top, *next;
	struct buf b = BUF_INIT;
	struct record r;
	json_object *o, *v;
	int i, depth = 0;

	/* Far deeper than any parser allows: must not crash, stays JSON. */
	for (i = 1; i < 200; i++) {
		next = mk_inst(a, "L", 1);
		add_prop(a, cur, "In", CIM_INSTANCE, false, 1)->values[0].v.inst =
		    next;
		cur = next;
	}
	mk_record(&r, top);
	o = render(&r, &b);
	v = get(o, "properties");
	while (json_object_object_get_ex(v, "In", &v)) {
		v = get(v, "value");
		if (json_object_is_type(v, json_type_null))
			break;
		v = get(v, "properties");
		depth++;
	}
	ck_assert_int_ge(depth, 8);
	json_object_put(o);
	buf_free(&b);
	arena_free(a);
}
END_TEST

START_TEST(test_tail)
{
	struct arena *a = arena_new();
	struct cim_instance *in = mk_inst(a, "C", 1);
	struct buf full = BUF_INIT, tail = BUF_INIT;
	struct record r;

	add_str(a, in, "S", CIM_STRING, "x");
	mk_record(&r, in);
	r.seq = 4711;
	record_json(&r, &full);
	buf_adds(&tail, "{\"v\":1,\"seq\":4711");
	record_json_tail(&r, &tail);
	ck_assert_str_eq(tail.data, full.data);
	buf_reset(&tail);
	record_json_tail(&r, &tail);
	ck_assert(strncmp(tail.data, ",\"time\":\"", 9) == 0);
	ck_assert(tail.data[tail.len - 1] == '\n');
	buf_free(&full);
	buf_free(&tail);
	arena_free(a);
}
END_TEST

START_TEST(test_appends)
{
	struct arena *a = arena_new();
	struct cim_instance *in = mk_inst(a, "C", 1);
	struct buf b = BUF_INIT;
	struct record r;
	json_tokener *tok;
	json_object *o;
	size_t first;

	add_str(a, in, "S", CIM_STRING, "x");
	mk_record(&r, in);
	buf_adds(&b, "prefix");
	record_json(&r, &b);
	first = b.len;
	r.seq = 1043;
	record_json(&r, &b);
	ck_assert(strncmp(b.data, "prefix{", 7) == 0);
	ck_assert_uint_eq(b.len - first, first - 6);
	tok = json_tokener_new();
	o = json_tokener_parse_ex(tok, b.data + first, (int)(b.len - first));
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(json_object_get_int64(get(o, "seq")), 1043);
	json_object_put(o);
	json_tokener_free(tok);
	buf_free(&b);
	arena_free(a);
}
END_TEST

START_TEST(test_format_time)
{
	struct timespec ts;
	char out[32];

	ts.tv_sec = 1795311000;
	ts.tv_nsec = 123456789;
	record_format_time(&ts, out);
	ck_assert_str_eq(out, "2026-11-22T01:30:00.123456Z");
	ts.tv_sec = 0;
	ts.tv_nsec = 0;
	record_format_time(&ts, out);
	ck_assert_str_eq(out, "1970-01-01T00:00:00.000000Z");
	ts.tv_sec = 951868799; /* 2000-02-29T23:59:59 */
	ts.tv_nsec = 999999999;
	record_format_time(&ts, out);
	ck_assert_str_eq(out, "2000-02-29T23:59:59.999999Z");
	ts.tv_sec = 253402300799; /* 9999-12-31T23:59:59 */
	ts.tv_nsec = 1000;
	record_format_time(&ts, out);
	ck_assert_str_eq(out, "9999-12-31T23:59:59.000001Z");
}
END_TEST

START_TEST(test_source_addr)
{
	struct record_source src;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(49152);
	inet_pton(AF_INET, "10.1.2.3", &sin.sin_addr);
	record_source_set_addr(&src, (struct sockaddr *)&sin);
	ck_assert_str_eq(src.addr, "10.1.2.3");
	ck_assert_uint_eq(src.port, 49152);

	memset(&sin6, 0, sizeof sin6);
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(5988);
	inet_pton(AF_INET6, "::ffff:192.168.7.9", &sin6.sin6_addr);
	record_source_set_addr(&src, (struct sockaddr *)&sin6);
	ck_assert_str_eq(src.addr, "192.168.7.9");
	ck_assert_uint_eq(src.port, 5988);

	inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
	sin6.sin6_port = htons(65535);
	record_source_set_addr(&src, (struct sockaddr *)&sin6);
	ck_assert_str_eq(src.addr, "2001:db8::1");
	ck_assert_uint_eq(src.port, 65535);

	inet_pton(AF_INET6, "::1", &sin6.sin6_addr);
	record_source_set_addr(&src, (struct sockaddr *)&sin6);
	ck_assert_str_eq(src.addr, "::1");

	/* IPv4-compatible (deprecated ::a.b.c.d) is not IPv4-mapped. */
	inet_pton(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	    &sin6.sin6_addr);
	record_source_set_addr(&src, (struct sockaddr *)&sin6);
	ck_assert_str_eq(src.addr, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}
END_TEST

/* Decode, compare with want (NULL: must be rejected). */
static void
check_path(const char *in, const char *want)
{
	char *got = record_decode_path(in);

	if (want == NULL)
		ck_assert_msg(got == NULL, "%s decoded to %s", in, got);
	else {
		ck_assert_msg(got != NULL, "%s rejected", in);
		ck_assert_str_eq(got, want);
	}
	free(got);
}

START_TEST(test_decode_path)
{
	check_path("/cimlisten/bmc4", "/cimlisten/bmc4");
	check_path("/", "/");
	check_path("", "");
	check_path("/a%20b", "/a b");
	check_path("/a+b", "/a+b");
	check_path("/x?y=1", "/x");
	check_path("/x#frag", "/x");
	check_path("/x%3Fy?z", "/x?y");
	check_path("/%2f%2F", "///");
	check_path("/caf%C3%A9", "/café");
	check_path("/%F0%9F%98%80", "/😀");
	check_path("/raw€", "/raw€");
	check_path("/%25", "/%");
	check_path("/a?%zz", "/a");     /* the query is not decoded */
	check_path("/%00", NULL);
	check_path("/%", NULL);
	check_path("/%4", NULL);
	check_path("/%4?x", NULL);
	check_path("/%g1", NULL);
	check_path("/%C3", NULL);       /* truncated sequence */
	check_path("/%C0%AF", NULL);    /* overlong */
	check_path("/%ED%A0%80", NULL); /* surrogate */
	check_path("/%F4%90%80%80", NULL); /* > U+10FFFF */
	check_path("/%FF", NULL);
	check_path("/\xff", NULL);      /* raw invalid byte */
	ck_assert_ptr_null(record_decode_path(NULL));
}
END_TEST

static Suite *
record_suite(void)
{
	Suite *s = suite_create("record");
	TCase *tc = tcase_create("json");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_top_level);
	tcase_add_test(tc, test_source_user_tls_nulls);
	tcase_add_test(tc, test_integers);
	tcase_add_test(tc, test_reals_exact);
	tcase_add_test(tc, test_reals_roundtrip);
	tcase_add_test(tc, test_reals_in_record);
	tcase_add_test(tc, test_strings_and_kinds);
	tcase_add_test(tc, test_string_escapes_random);
	tcase_add_test(tc, test_nulls_and_arrays);
	tcase_add_test(tc, test_embedded);
	tcase_add_test(tc, test_deep_nesting);
	tcase_add_test(tc, test_appends);
	suite_add_tcase(s, tc);

	tc = tcase_create("helpers");
	tcase_add_test(tc, test_tail);
	tcase_add_test(tc, test_format_time);
	tcase_add_test(tc, test_source_addr);
	tcase_add_test(tc, test_decode_path);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(record_suite());
}
