/*
 * check_format.c: the record formats every sink shares (format.c).
 *
 * For every sample in ../shared/samples: the MOF of the parsed indication,
 * and of the record read back from its JSON line the way sinks read the
 * spool, equals tests/data/mof/<sample>.mof, written by hand from the XML;
 * the JSON line loads with json-c and holds the values sent. Then
 * templates rendered on the samples (pseudo-properties, embedded paths,
 * arrays, braces, NULLs) and their compile errors with columns, and the
 * PerceivedSeverity mapping and its overrides.
 */
#include "autoconf.h"


#include <check.h>
#include <json-c/json.h>

#include "testutil.h"
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "arena.h"
#include "buf.h"
#include "cimxml.h"
#include "config.h"
#include "format.h"
#include "record.h"
#include "xmalloc.h"

static const char *const samples[] = {
	"alert-indication",
	"all-types",
	"inst-modification",
	"null-and-empty",
};

/* A parsed sample as a record with seq 42, from 10.1.2.3. */
struct sample {
	struct cimxml_message *msg;
	struct record_source src;
	const char *filters[1];
	struct record rec;
	struct buf json;             /* record_json of rec */
};

static void
sample_load(struct sample *s, const char *name)
{
	char *file, *body, *reason = NULL;
	size_t len;

	memset(s, 0, sizeof *s);
	xasprintf(&file, "%s.xml", name);
	body = tu_sample(file, &len);
	ck_assert_ptr_nonnull(body);
	ck_assert_msg(cimxml_parse(body, len, NULL, &s->msg, &reason) ==
	    CIMXML_OK, "%s: %s", file, reason);
	ck_assert_uint_eq(s->msg->nexports, 1);
	strcpy(s->src.addr, "10.1.2.3");
	s->src.port = 49152;
	s->src.user = "bmc4";
	s->src.path = "/cimlisten/bmc4";
	s->filters[0] = "critical";
	s->rec.seq = 42;
	s->rec.time.tv_sec = 1795311000;      /* 2026-11-22T01:30:00Z */
	s->rec.time.tv_nsec = 123456000;
	s->rec.source = &s->src;
	s->rec.message_id = s->msg->id;
	s->rec.inst = s->msg->exports[0].indication;
	s->rec.filters = s->filters;
	s->rec.nfilters = 1;
	record_json(&s->rec, &s->json);
	free(body);
	free(file);
}

static void
sample_free(struct sample *s)
{
	cimxml_message_free(s->msg);
	buf_free(&s->json);
}

/* The JSON line loads with json-c, whole, and says what was sent. */
START_TEST(test_json_loads)
{
	struct sample s;
	json_tokener *tok;
	json_object *o, *props, *v;

	sample_load(&s, samples[_i]);
	tok = json_tokener_new();
	o = json_tokener_parse_ex(tok, s.json.data, (int)s.json.len);
	ck_assert_msg(o != NULL && json_tokener_get_error(tok) ==
	    json_tokener_success, "%s: not JSON: %s", samples[_i],
	    json_tokener_error_desc(json_tokener_get_error(tok)));
	/* All of it was consumed: one object and the newline. */
	ck_assert_uint_eq(json_tokener_get_parse_end(tok), s.json.len);
	ck_assert_int_eq(json_object_get_int64(tu_jget(o, "seq")), 42);
	ck_assert_str_eq(json_object_get_string(tu_jget(o, "class")),
	    s.rec.inst->classname);
	ck_assert_str_eq(json_object_get_string(tu_jget(o, "source.addr")),
	    "10.1.2.3");
	ck_assert(json_object_object_get_ex(o, "properties", &props));
	ck_assert_int_eq(json_object_object_length(props),
	    (int)s.rec.inst->nprops);
	if (strcmp(samples[_i], "all-types") == 0) {
		/* 64-bit limits exact, non-BMP characters intact. */
		v = tu_jget(o, "properties.U64.value");
		ck_assert_str_eq(json_object_to_json_string_ext(v,
		    JSON_C_TO_STRING_PLAIN), "18446744073709551615");
		v = tu_jget(o, "properties.S64.value");
		ck_assert(json_object_get_int64(v) == INT64_MIN);
		ck_assert_ptr_nonnull(strstr(json_object_get_string(
		    tu_jget(o, "properties.Str.value")), "\xf0\x9f\x98\x80"));
		ck_assert(json_object_is_type(tu_jget(o,
		    "properties.Nothing.value"), json_type_null));
	}
	if (strcmp(samples[_i], "inst-modification") == 0) {
		v = tu_jget(o, "properties.SourceInstance.value.properties."
		    "DeviceID.value");
		ck_assert_str_eq(json_object_get_string(v), "FAN3");
	}
	json_object_put(o);
	json_tokener_free(tok);
	sample_free(&s);
}
END_TEST

/* MOF of the sample, directly and through the JSON line, as by hand. */
START_TEST(test_mof_expected)
{
	struct sample s;
	struct sink_conf c;
	struct format_ctx *fc;
	struct buf direct = BUF_INIT, decoded = BUF_INIT;
	char *rel, *want, *cause = NULL;
	size_t len;

	sample_load(&s, samples[_i]);
	xasprintf(&rel, "mof/%s.mof", samples[_i]);
	want = tu_data(rel, &len);
	ck_assert_msg(want != NULL, "no tests/data/%s", rel);

	format_mof(&s.rec, &direct);
	buf_addc(&direct, '\n');
	buf_addc(&direct, '\0');
	ck_assert_msg(strcmp(direct.data, want) == 0,
	    "%s: MOF differs\n--- got\n%s--- want\n%s", samples[_i],
	    direct.data, want);

	memset(&c, 0, sizeof c);
	c.name = (char *)"t";
	c.format = SINK_FORMAT_MOF;
	fc = format_ctx_new(&c);
	ck_assert_msg(format_line(fc, s.json.data, s.json.len, &decoded,
	    &cause) == 0, "%s", cause);
	buf_addc(&decoded, '\n');
	buf_addc(&decoded, '\0');
	ck_assert_str_eq(decoded.data, want);

	format_ctx_free(fc);
	buf_free(&direct);
	buf_free(&decoded);
	free(want);
	free(rel);
	sample_free(&s);
}
END_TEST

/* Render `text` on a sample (through its JSON line) and compare. */
static void
assert_render(const char *sample, const char *text, const char *want)
{
	struct sample s;
	struct sink_conf c;
	struct template_error err;
	struct format_ctx *fc;
	struct buf out = BUF_INIT;
	char *cause = NULL;

	sample_load(&s, sample);
	memset(&c, 0, sizeof c);
	c.name = (char *)"t";
	c.format = SINK_FORMAT_TEMPLATE;
	c.template = (char *)text;
	c.tmpl = template_compile(text, &err);
	ck_assert_msg(c.tmpl != NULL, "%s: col %u: %s", text, err.col,
	    err.msg);
	fc = format_ctx_new(&c);
	ck_assert_msg(format_line(fc, s.json.data, s.json.len, &out,
	    &cause) == 0, "%s", cause);
	buf_addc(&out, '\0');
	ck_assert_msg(strcmp(out.data, want) == 0, "%s on %s:\n got %s\nwant %s",
	    text, sample, out.data, want);
	format_ctx_free(fc);
	template_free(c.tmpl);
	buf_free(&out);
	sample_free(&s);
}

START_TEST(test_template_render)
{
	assert_render("alert-indication",
	    "{__CLASS} #{__SEQ} at {__TIME} from {__SOURCE}{__PATH} "
	    "[{__SEVERITY}] {__USER} {__MESSAGE_ID} {__FILTERS}",
	    "CIM_AlertIndication #42 at 2026-11-22T01:30:00.123456Z from "
	    "10.1.2.3/cimlisten/bmc4 [crit] bmc4 1001 critical");
	assert_render("alert-indication",
	    "{{{MessageID}}}: {Message} ({MessageArguments}) sev={PerceivedSeverity}",
	    "{SVPC0123}: Power supply 2 on chassis rack4-u12 has failed; "
	    "redundancy lost (2, rack4-u12) sev=6");
	/* Values as in MOF but unquoted; embedded instances by path. */
	assert_render("inst-modification",
	    "{SourceInstance.DeviceID} {PreviousInstance.Speed}->"
	    "{SourceInstance.Speed} status {SourceInstance.OperationalStatus}",
	    "FAN3 4200->0 status 6, 11");
	/* NULL and missing properties render as nothing. */
	assert_render("null-and-empty",
	    "[{OtherSeverity}][{CorrelatedIndications}][{NoSuchProperty}]"
	    "[{MethodName.Sub}] {__SEVERITY}",
	    "[][][][] notice");
	assert_render("all-types", "{B} {U64} {S64} {R64} {C16} {Ports} {Flags}",
	    "true 18446744073709551615 -9223372036854775808 25.0 \xc3\xa9 "
	    "22, , 5989 false, true");
}
END_TEST

START_TEST(test_template_errors)
{
	static const struct {
		const char *text;
		unsigned col;
		const char *msg;
	} bad[] = {
		{ "x {__NOPE} y", 4, "__NOPE" },
		{ "open {Message", 6, "unclosed" },
		{ "a } b", 3, "}" },
		{ "{}", 2, "empty" },
		{ "{A..B}", 4, "" },
		{ "{A B}", 3, "" },
	};
	struct template_error err;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&err, 0, sizeof err);
		ck_assert_msg(template_compile(bad[i].text, &err) == NULL,
		    "%s compiled", bad[i].text);
		ck_assert_msg(err.col == bad[i].col, "%s: col %u, want %u (%s)",
		    bad[i].text, err.col, bad[i].col, err.msg);
		ck_assert_msg(strstr(err.msg, bad[i].msg) != NULL,
		    "%s: message %s lacks %s", bad[i].text, err.msg,
		    bad[i].msg);
	}
}
END_TEST

START_TEST(test_severity)
{
	static const int want[] = {
		LOG_INFO, LOG_INFO, LOG_INFO, LOG_WARNING, LOG_WARNING,
		LOG_ERR, LOG_CRIT, LOG_ALERT,
	};
	struct sample s;
	uint64_t v;

	for (v = 0; v < 8; v++)
		ck_assert_int_eq(format_severity_map(v), want[v]);
	ck_assert_int_eq(format_severity_map(8), LOG_NOTICE);
	ck_assert_int_eq(format_severity_map(65535), LOG_NOTICE);

	sample_load(&s, "alert-indication");
	ck_assert_int_eq(format_severity(&s.rec, ""), LOG_CRIT);
	ck_assert_int_eq(format_severity(&s.rec, NULL), LOG_CRIT);
	ck_assert_int_eq(format_severity(&s.rec, "debug"), LOG_DEBUG);
	/* A property holding a PerceivedSeverity-like number. */
	ck_assert_int_eq(format_severity(&s.rec, "AlertType"), LOG_INFO);
	sample_free(&s);
	sample_load(&s, "null-and-empty");
	/* NULL PerceivedSeverity: notice. */
	ck_assert_int_eq(format_severity(&s.rec, ""), LOG_NOTICE);
	sample_free(&s);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("format");
	TCase *tc = tcase_create("format");
	int n = (int)(sizeof samples / sizeof samples[0]);

	tcase_add_loop_test(tc, test_json_loads, 0, n);
	tcase_add_loop_test(tc, test_mof_expected, 0, n);
	tcase_add_test(tc, test_template_render);
	tcase_add_test(tc, test_template_errors);
	tcase_add_test(tc, test_severity);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(suite());
}
