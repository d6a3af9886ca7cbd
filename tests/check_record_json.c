/*
 * check_record_json.c: unit tests for record_from_json, the reader of the
 * canonical record JSON line (DESIGN section 4). The central property is
 * the round trip: for every sample indication, record_json, then
 * record_from_json, then record_json again gives the same bytes. Edges are
 * written as canonical lines by hand and must read back to the exact value
 * and render to the same line; bad lines must fail with their own cause.
 */
#include "autoconf.h"

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "arena.h"
#include "buf.h"
#include "cim.h"
#include "cimxml.h"
#include "record.h"

static const char *const samples[] = {
	"alert-indication.xml",
	"all-types.xml",
	"inst-modification.xml",
	"null-and-empty.xml",
};

/* Canonical line prefix and suffix around a "properties" object. */
#define HEAD                                                            \
	"{\"v\":1,\"seq\":7,\"time\":\"2026-11-22T01:30:00.123456Z\","   \
	"\"source\":null,\"message_id\":null,\"class\":\"T\","            \
	"\"filters\":[],\"properties\":"
#define TAIL "}\n"

/* Read `line` into rec (arena a); fails the test with the cause if bad. */
static void
read_ok(const char *line, struct arena *a, struct record *rec,
    struct record_source *src)
{
	char *cause = NULL;
	int rv;

	rv = record_from_json(line, strlen(line), a, rec, src, &cause);
	ck_assert_msg(rv == 0, "record_from_json failed: %s\n  line: %s",
	    cause ? cause : "(no cause)", line);
	ck_assert_ptr_null(cause);
	ck_assert_ptr_nonnull(rec->inst);
}

/* record_json of what `line` reads back as must be `line` itself. */
static void
assert_roundtrip(const char *line)
{
	struct arena *a = arena_new();
	struct record rec;
	struct record_source src;
	struct buf b = BUF_INIT;

	read_ok(line, a, &rec, &src);
	record_json(&rec, &b);
	ck_assert_msg(strcmp(b.data, line) == 0,
	    "round trip differs:\n  in:  %s  out: %s", line, b.data);
	buf_free(&b);
	arena_free(a);
}

/* Reading `line` must fail with exactly `want` as the cause. */
static void
assert_cause(const char *line, const char *want)
{
	struct arena *a = arena_new();
	struct record rec;
	struct record_source src;
	char *cause = NULL;

	ck_assert_msg(record_from_json(line, strlen(line), a, &rec, &src,
	    &cause) == -1, "accepted: %s", line);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strcmp(cause, want) == 0,
	    "cause for %s\n  got:  %s\n  want: %s", line, cause, want);
	ck_assert_ptr_null(rec.inst);
	free(cause);
	arena_free(a);
}

/* A canonical line whose properties are `props` (no outer braces). */
static char *
props_line(const char *props)
{
	char *line;

	ck_assert_int_gt(asprintf(&line, HEAD "{%s}" TAIL, props), 0);
	return line;
}

static void
assert_prop_roundtrip(const char *props)
{
	char *line = props_line(props);

	assert_roundtrip(line);
	free(line);
}

static void
assert_prop_cause(const char *props, const char *want)
{
	char *line = props_line(props);

	assert_cause(line, want);
	free(line);
}

/* The one property of a line read from `props`. */
static const struct cim_property *
read_prop(const char *props, struct arena *a)
{
	struct record rec;
	struct record_source src;
	char *line = props_line(props);

	read_ok(line, a, &rec, &src);
	free(line);
	ck_assert_uint_eq(rec.inst->nprops, 1);
	return &rec.inst->props[0];
}

START_TEST(test_samples_roundtrip)
{
	static const char *const filters[] = { "critical", "every\"thing" };
	struct cimxml_message *m = NULL;
	struct record_source src = { .port = 49152, .tls = true,
		.user = "bmc4", .path = "/cimlisten/bmc4" };
	struct record rec = { 0 }, back;
	struct record_source backsrc;
	struct buf b1 = BUF_INIT, b2 = BUF_INIT;
	struct arena *a;
	char *body, *reason = NULL, *cause = NULL;
	size_t len, i, k;
	int variant;

	body = tu_sample(samples[_i], &len);
	ck_assert_ptr_nonnull(body);
	ck_assert_int_eq(cimxml_parse(body, len, NULL, &m, &reason), CIMXML_OK);
	strcpy(src.addr, "10.1.2.3");
	for (i = 0; i < m->nexports; i++) {
		if (m->exports[i].indication == NULL)
			continue;
		/* With everything set, and with the optional parts absent. */
		for (variant = 0; variant < 2; variant++) {
			rec.seq = variant ? 0 : UINT64_MAX - i;
			rec.time.tv_sec = 1795311000 + (time_t)i;
			rec.time.tv_nsec = 123456000;
			rec.source = variant ? NULL : &src;
			rec.message_id = variant ? NULL : m->id;
			rec.inst = m->exports[i].indication;
			rec.filters = variant ? NULL : filters;
			rec.nfilters = variant ? 0 : 2;
			buf_reset(&b1);
			buf_reset(&b2);
			record_json(&rec, &b1);

			a = arena_new();
			ck_assert_msg(record_from_json(b1.data, b1.len, a,
			    &back, &backsrc, &cause) == 0, "%s: %s",
			    samples[_i], cause);
			record_json(&back, &b2);
			ck_assert_msg(strcmp(b1.data, b2.data) == 0,
			    "%s: round trip differs:\n%s%s", samples[_i],
			    b1.data, b2.data);
			/* The pieces, not only their rendering. */
			ck_assert_uint_eq(back.seq, rec.seq);
			ck_assert_int_eq(back.time.tv_sec, rec.time.tv_sec);
			ck_assert_int_eq(back.time.tv_nsec, rec.time.tv_nsec);
			ck_assert_uint_eq(back.nfilters, rec.nfilters);
			for (k = 0; k < back.nfilters; k++)
				ck_assert_str_eq(back.filters[k], filters[k]);
			if (variant) {
				ck_assert_ptr_null(back.source);
				ck_assert_ptr_null(back.message_id);
			} else {
				ck_assert_ptr_eq(back.source, &backsrc);
				ck_assert_str_eq(backsrc.addr, "10.1.2.3");
				ck_assert_uint_eq(backsrc.port, 49152);
				ck_assert(backsrc.tls);
				ck_assert_str_eq(backsrc.user, "bmc4");
				ck_assert_str_eq(backsrc.path,
				    "/cimlisten/bmc4");
				ck_assert_str_eq(back.message_id, m->id);
			}
			ck_assert_str_eq(back.inst->classname,
			    rec.inst->classname);
			ck_assert_uint_eq(back.inst->nprops, rec.inst->nprops);
			arena_free(a);
			/* Every cut of the line is refused, none crashes. */
			for (k = 0; variant == 0 && k < b1.len - 1; k++) {
				a = arena_new();
				ck_assert_msg(record_from_json(b1.data, k, a,
				    &back, &backsrc, &cause) == -1,
				    "%s: accepted cut at %zu", samples[_i], k);
				ck_assert_ptr_nonnull(cause);
				free(cause);
				cause = NULL;
				arena_free(a);
			}
		}
	}
	buf_free(&b1);
	buf_free(&b2);
	cimxml_message_free(m);
	free(body);
}
END_TEST

START_TEST(test_top_level_keys)
{
	struct arena *a = arena_new();
	struct record rec;
	struct record_source src;
	const char *min =
	    "{\"class\":\"CIM_AlertIndication\",\"properties\":{}}";
	const char *sub = "{\"type\":\"indication\",\"v\":1,\"seq\":5,"
	    "\"class\":\"C\",\"properties\":{}}\r\n";

	/* Hand-written records need only class and properties. */
	read_ok(min, a, &rec, &src);
	ck_assert_uint_eq(rec.seq, 0);
	ck_assert_ptr_null(rec.source);
	ck_assert_ptr_null(rec.message_id);
	ck_assert_uint_eq(rec.nfilters, 0);
	ck_assert_str_eq(rec.inst->classname, "CIM_AlertIndication");
	ck_assert_uint_eq(rec.inst->nprops, 0);

	/* A subscriber's indication line (extra "type" key, CRLF). */
	read_ok(sub, a, &rec, &src);
	ck_assert_uint_eq(rec.seq, 5);

	/* Source with a null user, an IPv6 address, tls false. */
	assert_roundtrip("{\"v\":1,\"seq\":18446744073709551615,"
	    "\"time\":\"1970-01-01T00:00:00.000000Z\",\"source\":{\"addr\":"
	    "\"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255\",\"port\":65535,"
	    "\"tls\":false,\"user\":null,\"path\":null},\"message_id\":\"\","
	    "\"class\":\"C\",\"filters\":[\"a\",\"\\u0001\\n\"],"
	    "\"properties\":{}}\n");
	assert_roundtrip("{\"v\":1,\"seq\":0,\"time\":"
	    "\"2024-02-29T23:59:59.999999Z\",\"source\":null,\"message_id\":"
	    "\"x\",\"class\":\"\\\"q\\\\\",\"filters\":[],"
	    "\"properties\":{}}\n");
	arena_free(a);
}
END_TEST

START_TEST(test_integer_edges)
{
	struct arena *a = arena_new();
	const struct cim_property *p;

	p = read_prop("\"U\":{\"type\":\"uint64\",\"value\":"
	    "18446744073709551615}", a);
	ck_assert(p->values[0].v.u == UINT64_MAX);
	p = read_prop("\"U\":{\"type\":\"uint64\",\"value\":"
	    "9223372036854775808}", a);
	ck_assert(p->values[0].v.u == (uint64_t)INT64_MAX + 1);
	p = read_prop("\"S\":{\"type\":\"sint64\",\"value\":"
	    "-9223372036854775808}", a);
	ck_assert(p->values[0].v.s == INT64_MIN);
	p = read_prop("\"S\":{\"type\":\"sint64\",\"value\":"
	    "9223372036854775807}", a);
	ck_assert(p->values[0].v.s == INT64_MAX);
	p = read_prop("\"S\":{\"type\":\"sint8\",\"value\":-128}", a);
	ck_assert(p->values[0].v.s == -128);
	p = read_prop("\"S\":{\"type\":\"sint32\",\"value\":-0}", a);
	ck_assert(p->values[0].v.s == 0);
	arena_free(a);

	assert_prop_roundtrip("\"a\":{\"type\":\"uint8\",\"value\":255},"
	    "\"b\":{\"type\":\"sint8\",\"value\":-128},"
	    "\"c\":{\"type\":\"uint16\",\"value\":65535},"
	    "\"d\":{\"type\":\"sint16\",\"value\":-32768},"
	    "\"e\":{\"type\":\"uint32\",\"value\":4294967295},"
	    "\"f\":{\"type\":\"sint32\",\"value\":-2147483648},"
	    "\"g\":{\"type\":\"uint64\",\"value\":18446744073709551615},"
	    "\"h\":{\"type\":\"sint64\",\"value\":-9223372036854775808},"
	    "\"i\":{\"type\":\"sint64\",\"array\":true,\"value\":"
	    "[9223372036854775807,null,0,-1]}");

	assert_prop_cause("\"X\":{\"type\":\"uint16\",\"value\":70000}",
	    "property \"X\": value 70000 out of range for uint16");
	assert_prop_cause("\"X\":{\"type\":\"uint8\",\"value\":256}",
	    "property \"X\": value 256 out of range for uint8");
	assert_prop_cause("\"X\":{\"type\":\"sint8\",\"value\":128}",
	    "property \"X\": value 128 out of range for sint8");
	assert_prop_cause("\"X\":{\"type\":\"sint8\",\"value\":-129}",
	    "property \"X\": value -129 out of range for sint8");
	assert_prop_cause("\"X\":{\"type\":\"uint32\",\"value\":-1}",
	    "property \"X\": value -1 out of range for uint32");
	assert_prop_cause("\"X\":{\"type\":\"sint32\",\"value\":2147483648}",
	    "property \"X\": value 2147483648 out of range for sint32");
	assert_prop_cause("\"X\":{\"type\":\"uint64\",\"value\":"
	    "18446744073709551616}",
	    "property \"X\": value 18446744073709551616 out of range for "
	    "uint64");
	assert_prop_cause("\"X\":{\"type\":\"sint64\",\"value\":"
	    "9223372036854775808}",
	    "property \"X\": value 9223372036854775808 out of range for "
	    "sint64");
	assert_prop_cause("\"X\":{\"type\":\"sint64\",\"value\":"
	    "-9223372036854775809}",
	    "property \"X\": value -9223372036854775809 out of range for "
	    "sint64");
	assert_prop_cause("\"X\":{\"type\":\"sint64\",\"value\":"
	    "-99999999999999999999999999}",
	    "property \"X\": value -99999999999999999999999999 out of range "
	    "for sint64");
	assert_prop_cause("\"X\":{\"type\":\"uint8\",\"array\":true,\"value\":"
	    "[1,2,300]}",
	    "property \"X[2]\": value 300 out of range for uint8");
	assert_prop_cause("\"X\":{\"type\":\"uint8\",\"value\":1.5}",
	    "property \"X\": expected an integer for uint8, got a real number");
	/* Wide integers inside strings are left alone. */
	assert_prop_roundtrip("\"X\":{\"type\":\"string\",\"value\":"
	    "\"-0 18446744073709551616 \\\"-0\"}");
}
END_TEST

START_TEST(test_reals)
{
	struct arena *a = arena_new();
	const struct cim_property *p;

	p = read_prop("\"R\":{\"type\":\"real64\",\"value\":\"NaN\"}", a);
	ck_assert(isnan(p->values[0].v.r));
	p = read_prop("\"R\":{\"type\":\"real32\",\"value\":\"INF\"}", a);
	ck_assert(isinf(p->values[0].v.r) && p->values[0].v.r > 0);
	p = read_prop("\"R\":{\"type\":\"real64\",\"value\":\"-INF\"}", a);
	ck_assert(isinf(p->values[0].v.r) && p->values[0].v.r < 0);
	p = read_prop("\"R\":{\"type\":\"real64\",\"value\":-0}", a);
	ck_assert(p->values[0].v.r == 0 && signbit(p->values[0].v.r));
	p = read_prop("\"R\":{\"type\":\"real32\",\"value\":0.1}", a);
	ck_assert(p->values[0].v.r == (double)0.1f);
	p = read_prop("\"R\":{\"type\":\"real64\",\"value\":"
	    "9007199254740993}", a);
	ck_assert(p->values[0].v.r == 9007199254740992.0);
	arena_free(a);

	assert_prop_roundtrip("\"a\":{\"type\":\"real64\",\"value\":\"NaN\"},"
	    "\"b\":{\"type\":\"real64\",\"value\":\"INF\"},"
	    "\"c\":{\"type\":\"real64\",\"value\":\"-INF\"},"
	    "\"d\":{\"type\":\"real32\",\"value\":\"NaN\"},"
	    "\"e\":{\"type\":\"real32\",\"value\":\"-INF\"},"
	    "\"f\":{\"type\":\"real64\",\"value\":-0},"
	    "\"g\":{\"type\":\"real64\",\"value\":0.1},"
	    "\"h\":{\"type\":\"real32\",\"value\":0.1},"
	    "\"i\":{\"type\":\"real32\",\"value\":3.4028235e+38},"
	    "\"j\":{\"type\":\"real64\",\"value\":1.7976931348623157e+308},"
	    "\"k\":{\"type\":\"real64\",\"value\":5e-324},"
	    "\"l\":{\"type\":\"real32\",\"value\":1e-45},"
	    "\"m\":{\"type\":\"real64\",\"array\":true,\"value\":"
	    "[1,null,\"NaN\",-2.5]}");

	assert_prop_cause("\"X\":{\"type\":\"real64\",\"value\":1e400}",
	    "property \"X\": value 1e400 out of range for real64");
	assert_prop_cause("\"X\":{\"type\":\"real32\",\"value\":1e39}",
	    "property \"X\": value 1e39 out of range for real32");
	assert_prop_cause("\"X\":{\"type\":\"real32\",\"value\":\"inf\"}",
	    "property \"X\": value \"inf\" is not a valid real32");
	assert_prop_cause("\"X\":{\"type\":\"real64\",\"value\":true}",
	    "property \"X\": expected a number for real64, got a boolean");
}
END_TEST

START_TEST(test_strings_kinds_nulls)
{
	struct arena *a = arena_new();
	const struct cim_property *p;

	assert_prop_roundtrip(
	    "\"b\":{\"type\":\"boolean\",\"value\":true},"
	    "\"c\":{\"type\":\"char16\",\"value\":\"\xf0\x9f\x98\x80\"},"
	    "\"s\":{\"type\":\"string\",\"value\":\"tab\\there \xc3\xa9\"},"
	    "\"d\":{\"type\":\"datetime\",\"value\":"
	    "\"20261122013000.123456+000\"},"
	    "\"i\":{\"type\":\"datetime\",\"value\":"
	    "\"00000001132312.000000:000\"},"
	    "\"r\":{\"type\":\"reference\",\"value\":"
	    "\"//h/root/cimv2:C.K=\\\"v\\\"\"},"
	    "\"n\":{\"type\":\"string\",\"value\":null},"
	    "\"na\":{\"type\":\"uint16\",\"array\":true,\"value\":null},"
	    "\"ea\":{\"type\":\"string\",\"array\":true,\"value\":[]},"
	    "\"ni\":{\"type\":\"string\",\"array\":true,\"value\":"
	    "[null,\"\",null]},"
	    "\"t\":{\"type\":null,\"value\":null},"
	    "\"\":{\"type\":\"boolean\",\"array\":true,\"value\":[false]}");

	p = read_prop("\"N\":{\"type\":\"string\",\"value\":null}", a);
	ck_assert(p->null && !p->array && p->count == 0);
	p = read_prop("\"E\":{\"type\":\"string\",\"array\":true,"
	    "\"value\":[]}", a);
	ck_assert(!p->null && p->array && p->count == 0);
	p = read_prop("\"A\":{\"type\":\"string\",\"array\":true,"
	    "\"value\":[null,\"x\"]}", a);
	ck_assert(p->count == 2 && p->values[0].null && !p->values[1].null);
	ck_assert_str_eq(p->values[1].v.str, "x");
	arena_free(a);

	assert_prop_cause("\"X\":{\"type\":\"char16\",\"value\":\"ab\"}",
	    "property \"X\": value \"ab\" is not one character (char16)");
	assert_prop_cause("\"X\":{\"type\":\"char16\",\"value\":\"\"}",
	    "property \"X\": value \"\" is not one character (char16)");
	assert_prop_cause("\"X\":{\"type\":\"datetime\",\"value\":\"2026\"}",
	    "property \"X\": value \"2026\" is not a valid datetime");
	assert_prop_cause("\"X\":{\"type\":\"string\",\"value\":\"a\\u0000b\"}",
	    "property \"X\": string contains a NUL character");
}
END_TEST

/* An instance nested `levels` deep under property "P". */
static char *
nested_line(int levels)
{
	struct buf b = BUF_INIT;
	int i;

	buf_adds(&b, HEAD "{");
	for (i = 0; i < levels; i++)
		buf_printf(&b, "\"P\":{\"type\":\"instance\",\"value\":"
		    "{\"class\":\"C%d\",\"properties\":{", i);
	buf_adds(&b, "\"Leaf\":{\"type\":\"uint8\",\"value\":1}");
	for (i = 0; i < levels; i++)
		buf_adds(&b, "}}}");
	buf_adds(&b, "}" TAIL);
	return buf_steal(&b, NULL);
}

START_TEST(test_embedded)
{
	struct arena *a = arena_new();
	struct record rec;
	struct record_source src;
	const struct cim_property *p, *q;
	char *line;

	assert_prop_roundtrip("\"SourceInstance\":{\"type\":\"instance\","
	    "\"value\":{\"class\":\"CIM_Fan\",\"properties\":{"
	    "\"OperationalStatus\":{\"type\":\"uint16\",\"array\":true,"
	    "\"value\":[2,6]},\"Inner\":{\"type\":\"instance\",\"value\":"
	    "{\"class\":\"X\",\"properties\":{}}}}}},"
	    "\"List\":{\"type\":\"instance\",\"array\":true,\"value\":"
	    "[{\"class\":\"A\",\"properties\":{\"N\":{\"type\":\"string\","
	    "\"value\":\"a\"}}},null]},"
	    "\"None\":{\"type\":\"instance\",\"value\":null}");

	p = read_prop("\"S\":{\"type\":\"instance\",\"value\":{\"class\":"
	    "\"CIM_Fan\",\"properties\":{\"Speed\":{\"type\":\"uint64\","
	    "\"value\":18446744073709551615}}}}", a);
	ck_assert_str_eq(p->values[0].v.inst->classname, "CIM_Fan");
	q = cim_instance_get(p->values[0].v.inst, "speed");
	ck_assert_ptr_nonnull(q);
	ck_assert(q->values[0].v.u == UINT64_MAX);

	/* The deepest nesting the writer writes reads back; one more not. */
	line = nested_line(RECORD_MAX_EMBEDDING);
	read_ok(line, a, &rec, &src);
	assert_roundtrip(line);
	free(line);
	line = nested_line(RECORD_MAX_EMBEDDING + 1);
	assert_cause(line, "property \"P.P.P.P.P.P.P.P.P.P.P.P.P.P.P.P.P.P.P."
	    "P.P.P.P.P.P.P.P.P.P.P.P.P.P.P.P.P.P.P.P.P.P.P.P.P.P.P.P.P.P.P.P."
	    "P.P.P.P.P.P.P.P.P.P.P.P.P.P\": embedded instances nested deeper "
	    "than 64");
	free(line);
	/* Far deeper than json-c's own limit: refused, not crashed. */
	line = nested_line(1000);
	{
		char *cause = NULL;

		ck_assert_int_eq(record_from_json(line, strlen(line), a, &rec,
		    &src, &cause), -1);
		ck_assert_ptr_nonnull(cause);
		free(cause);
	}
	free(line);

	assert_prop_cause("\"S\":{\"type\":\"instance\",\"value\":{\"class\":"
	    "\"C\",\"properties\":{\"In\":{\"type\":\"instance\",\"value\":"
	    "{\"class\":\"D\",\"properties\":{\"V\":{\"type\":\"uint8\","
	    "\"value\":\"x\"}}}}}}}",
	    "property \"S.In.V\": expected an integer for uint8, got a string");
	assert_prop_cause("\"S\":{\"type\":\"instance\",\"value\":"
	    "{\"properties\":{}}}",
	    "property \"S\": embedded instance without \"class\"");
	assert_prop_cause("\"S\":{\"type\":\"instance\",\"value\":"
	    "{\"class\":\"C\"}}",
	    "property \"S\": embedded instance without \"properties\"");
	assert_prop_cause("\"S\":{\"type\":\"instance\",\"value\":\"C\"}",
	    "property \"S\": expected an object for instance, got a string");
	arena_free(a);
}
END_TEST

/* Bad lines, each with the cause it must give. */
static const struct {
	const char *line;
	const char *cause;
} bad_lines[] = {
	{ "[1,2]", "not a JSON object (an array)" },
	{ "\"x\"", "not a JSON object (a string)" },
	{ "42", "not a JSON object (an integer)" },
	{ "null", "not a JSON object (null)" },
	{ "", "truncated JSON: the line ends inside a value" },
	{ "{\"class\":\"C\",\"properties\":{", "truncated JSON: the line ends "
	  "inside a value" },
	{ "{\"class\":\"C\",\"prop", "truncated JSON: the line ends inside a "
	  "value" },
	{ "{\"class\":'C'}", "invalid JSON at byte 10: unexpected character" },
	{ "{\"class\":\"C\",\"properties\":{}} x", "invalid JSON at byte 31: "
	  "unexpected character" },
	{ "{\"class\":\"C\",\"properties\":{}}{}", "invalid JSON at byte 30: "
	  "unexpected character" },
	{ "{\"class\":\"\xff\",\"properties\":{}}", "invalid JSON at byte 11: "
	  "invalid utf-8 string" },
	{ "{\"properties\":{}}", "missing \"class\"" },
	{ "{\"class\":null,\"properties\":{}}", "\"class\": expected a string, "
	  "got null" },
	{ "{\"class\":7,\"properties\":{}}", "\"class\": expected a string, "
	  "got an integer" },
	{ "{\"class\":\"C\"}", "missing \"properties\"" },
	{ "{\"class\":\"C\",\"properties\":[]}", "\"properties\" must be an "
	  "object, got an array" },
	{ "{\"v\":2,\"class\":\"C\",\"properties\":{}}", "unsupported record "
	  "version (\"v\" must be 1)" },
	{ "{\"seq\":-1,\"class\":\"C\",\"properties\":{}}", "\"seq\" must be "
	  "an integer from 0 to 18446744073709551615" },
	{ "{\"seq\":18446744073709551616,\"class\":\"C\",\"properties\":{}}",
	  "\"seq\" must be an integer from 0 to 18446744073709551615" },
	{ "{\"time\":\"2026-02-30T00:00:00.000000Z\",\"class\":\"C\","
	  "\"properties\":{}}", "\"time\" is not a UTC time "
	  "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" },
	{ "{\"time\":\"2026-01-01 00:00:00\",\"class\":\"C\","
	  "\"properties\":{}}", "\"time\" is not a UTC time "
	  "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" },
	{ "{\"source\":{\"port\":65536},\"class\":\"C\",\"properties\":{}}",
	  "\"source.port\" must be an integer from 0 to 65535" },
	{ "{\"source\":{\"tls\":1},\"class\":\"C\",\"properties\":{}}",
	  "\"source.tls\" must be true or false" },
	{ "{\"source\":{\"host\":\"x\"},\"class\":\"C\",\"properties\":{}}",
	  "\"source\": unknown key \"host\"" },
	{ "{\"source\":\"10.0.0.1\",\"class\":\"C\",\"properties\":{}}",
	  "\"source\" must be an object or null, got a string" },
	{ "{\"filters\":[\"a\",1],\"class\":\"C\",\"properties\":{}}",
	  "\"filters\" must be an array of strings" },
	{ "{\"message_id\":5,\"class\":\"C\",\"properties\":{}}",
	  "\"message_id\": expected a string, got an integer" },
	{ "{\"class\":\"C\",\"properties\":{\"X\":{\"type\":\"numeric\","
	  "\"value\":1}}}", "property \"X\": unknown type \"numeric\"" },
	{ "{\"class\":\"C\",\"properties\":{\"X\":{\"type\":\"UINT8\","
	  "\"value\":1}}}", "property \"X\": unknown type \"UINT8\"" },
	{ "{\"class\":\"C\",\"properties\":{\"X\":{\"value\":1}}}",
	  "property \"X\": missing \"type\"" },
	{ "{\"class\":\"C\",\"properties\":{\"X\":{\"type\":\"uint8\"}}}",
	  "property \"X\": missing \"value\"" },
	{ "{\"class\":\"C\",\"properties\":{\"X\":{\"type\":\"uint8\","
	  "\"value\":1,\"unit\":\"W\"}}}", "property \"X\": unknown key "
	  "\"unit\"" },
	{ "{\"class\":\"C\",\"properties\":{\"X\":5}}", "property \"X\": "
	  "expected an object {\"type\":..,\"value\":..}, got an integer" },
	{ "{\"class\":\"C\",\"properties\":{\"X\":{\"type\":\"uint16\","
	  "\"value\":\"6\"}}}", "property \"X\": expected an integer for "
	  "uint16, got a string" },
	{ "{\"class\":\"C\",\"properties\":{\"X\":{\"type\":\"string\","
	  "\"value\":6}}}", "property \"X\": expected a string for string, "
	  "got an integer" },
	{ "{\"class\":\"C\",\"properties\":{\"X\":{\"type\":\"boolean\","
	  "\"value\":\"true\"}}}", "property \"X\": expected a boolean for "
	  "boolean, got a string" },
	{ "{\"class\":\"C\",\"properties\":{\"X\":{\"type\":\"uint8\","
	  "\"value\":[1]}}}", "property \"X\": expected one value, got an "
	  "array (no \"array\":true)" },
	{ "{\"class\":\"C\",\"properties\":{\"X\":{\"type\":\"uint8\","
	  "\"array\":true,\"value\":1}}}", "property \"X\": expected an array "
	  "(\"array\":true), got an integer" },
	{ "{\"class\":\"C\",\"properties\":{\"X\":{\"type\":\"uint8\","
	  "\"array\":\"yes\",\"value\":1}}}", "property \"X\": \"array\" must "
	  "be true or false" },
	{ "{\"class\":\"C\",\"properties\":{\"X\":{\"type\":null,"
	  "\"value\":1}}}", "property \"X\": a value needs a type (\"type\" "
	  "is null)" },
	{ "{\"class\":\"C\",\"properties\":{\"X\":{\"type\":7,"
	  "\"value\":1}}}", "property \"X\": \"type\" must be a string, got "
	  "an integer" },
	{ "{\"class\":\"C\",\"properties\":{\"\\u0007\":{\"type\":\"x\","
	  "\"value\":1}}}", "property \"?\": unknown type \"x\"" },
};

START_TEST(test_bad_lines)
{
	assert_cause(bad_lines[_i].line, bad_lines[_i].cause);
}
END_TEST

START_TEST(test_cause_optional_and_long_values)
{
	struct arena *a = arena_new();
	struct record rec;
	struct record_source src;
	struct buf b = BUF_INIT;
	char *cause = NULL;
	int i;

	/* cause may be NULL. */
	ck_assert_int_eq(record_from_json("{", 1, a, &rec, &src, NULL), -1);
	/* Long values are clipped in messages. */
	buf_adds(&b, HEAD "{\"X\":{\"type\":\"datetime\",\"value\":\"");
	for (i = 0; i < 1000; i++)
		buf_adds(&b, "\xc3\xa9");
	buf_adds(&b, "\"}}" TAIL);
	ck_assert_int_eq(record_from_json(b.data, b.len, a, &rec, &src,
	    &cause), -1);
	ck_assert_uint_lt(strlen(cause), 120);
	ck_assert_ptr_nonnull(strstr(cause, "...\" is not a valid datetime"));
	free(cause);
	/* A line of many KB with many properties. */
	buf_reset(&b);
	buf_adds(&b, HEAD "{");
	for (i = 0; i < 2000; i++)
		buf_printf(&b, "%s\"P%d\":{\"type\":\"string\",\"value\":"
		    "\"%0100d\"}", i ? "," : "", i, i);
	buf_adds(&b, "}" TAIL);
	assert_roundtrip(b.data);
	buf_free(&b);
	arena_free(a);
}
END_TEST

static Suite *
record_json_suite(void)
{
	Suite *s = suite_create("record_json");
	TCase *tc = tcase_create("from_json");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_samples_roundtrip, 0,
	    (int)(sizeof samples / sizeof samples[0]));
	tcase_add_test(tc, test_top_level_keys);
	tcase_add_test(tc, test_integer_edges);
	tcase_add_test(tc, test_reals);
	tcase_add_test(tc, test_strings_kinds_nulls);
	tcase_add_test(tc, test_embedded);
	tcase_add_loop_test(tc, test_bad_lines, 0,
	    (int)(sizeof bad_lines / sizeof bad_lines[0]));
	tcase_add_test(tc, test_cause_optional_and_long_values);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(record_json_suite());
}
