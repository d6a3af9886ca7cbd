/*
 * check_cimxml.c: unit tests for the CIM-XML export-message parser. The
 * four shared samples are checked field by field; every rejection path is
 * checked for its exact status and a piece of its reason; and every document
 * is also fed in small chunks to check that the push interface gives the
 * same answer as the one-shot wrapper.
 */
#include "autoconf.h"

#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cimxml.h"

#ifndef SRCDIR
#define SRCDIR "."
#endif

/* An envelope around one NewIndication instance; the body starts on line 8. */
#define DECL "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
#define HEAD DECL HEAD_NODECL
#define MSGHEAD                                                                \
	DECL "<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.4\">\n"                   \
	     "<MESSAGE ID=\"42\" PROTOCOLVERSION=\"1.4\">\n"
#define HEAD_NODECL                                                            \
	"<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.4\">\n"                        \
	"<MESSAGE ID=\"42\" PROTOCOLVERSION=\"1.4\">\n"                        \
	"<SIMPLEEXPREQ>\n"
#define TAIL "</SIMPLEEXPREQ>\n</MESSAGE>\n</CIM>\n"
#define CALL(params)                                                           \
	"<EXPMETHODCALL NAME=\"ExportIndication\">\n" params                   \
	"</EXPMETHODCALL>\n"
#define PARAM(inst)                                                            \
	"<EXPPARAMVALUE NAME=\"NewIndication\">\n" inst "</EXPPARAMVALUE>\n"
#define INST(body)                                                             \
	"<INSTANCE CLASSNAME=\"Test_Indication\">\n" body "</INSTANCE>\n"
#define DOC(body) HEAD CALL(PARAM(INST(body))) TAIL
#define DOC_NODECL(body) HEAD_NODECL CALL(PARAM(INST(body))) TAIL

static char *
load(const char *name, size_t *lenp)
{
	char path[1024];
	FILE *f;
	char *data;
	long n;

	snprintf(path, sizeof path, "%s/tests/data/%s", SRCDIR, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = malloc((size_t)n + 1);
	ck_assert_int_eq(fread(data, 1, (size_t)n, f), (size_t)n);
	data[n] = '\0';
	fclose(f);
	*lenp = (size_t)n;
	return data;
}

/*
 * Feed data in chunks of the given size, or of random sizes for chunk 0;
 * with an odd seed the last chunk goes through cimxml_parser_feed_last.
 */
static enum cimxml_status
parse_chunked(const char *data, size_t len, const struct cimxml_limits *lim,
    size_t chunk, unsigned seed, struct cimxml_message **msgp, char **reasonp)
{
	struct cimxml_parser *p;
	enum cimxml_status st, fst = CIMXML_OK;
	size_t off = 0, n;

	p = cimxml_parser_new(lim);
	while (off < len) {
		n = chunk != 0 ? chunk : 1 + (size_t)(rand_r(&seed) % 97);
		if (n > len - off)
			n = len - off;
		/* Odd seeds say which chunk is the last one. */
		if (off + n == len && (seed & 1) != 0)
			st = cimxml_parser_feed_last(p, data + off, n);
		else
			st = cimxml_parser_feed(p, data + off, n);
		if (st != CIMXML_OK && fst == CIMXML_OK)
			fst = st;
		/* After an error, feeding is a no-op with the same status. */
		if (fst != CIMXML_OK)
			ck_assert_int_eq(st, fst);
		off += n;
	}
	st = cimxml_parser_finish(p, msgp);
	if (fst != CIMXML_OK)
		ck_assert_int_eq(st, fst);
	*reasonp = strdup(cimxml_parser_reason(p));
	cimxml_parser_free(p);
	return st;
}

/* One line of at most 200 bytes of printable UTF-8. */
static void
check_reason_shape(const char *reason)
{
	const unsigned char *s = (const unsigned char *)reason;
	size_t n, i;

	ck_assert_uint_le(strlen(reason), 200);
	while (*s != '\0') {
		ck_assert_msg(
		    *s >= 0x20 && *s != 0x7f, "control in \"%s\"", reason);
		n = *s < 0x80 ? 1 : *s < 0xe0 ? 2 : *s < 0xf0 ? 3 : 4;
		ck_assert_msg(*s < 0x80 || (*s >= 0xc2 && *s <= 0xf4),
		    "bad UTF-8 in \"%s\"", reason);
		for (i = 1; i < n; i++)
			ck_assert_msg((s[i] & 0xc0) == 0x80,
			    "bad UTF-8 in \"%s\"", reason);
		s += n;
	}
}

static void inst_eq(const struct cim_instance *, const struct cim_instance *);

static void
value_eq(enum cim_type t, const struct cim_value *a, const struct cim_value *b)
{
	ck_assert_int_eq(a->null, b->null);
	if (a->null)
		return;
	switch (t) {
	case CIM_BOOLEAN:
		ck_assert_int_eq(a->v.b, b->v.b);
		break;
	case CIM_UINT8:
	case CIM_UINT16:
	case CIM_UINT32:
	case CIM_UINT64:
		ck_assert_uint_eq(a->v.u, b->v.u);
		break;
	case CIM_SINT8:
	case CIM_SINT16:
	case CIM_SINT32:
	case CIM_SINT64:
		ck_assert_int_eq(a->v.s, b->v.s);
		break;
	case CIM_REAL32:
	case CIM_REAL64:
		ck_assert(memcmp(&a->v.r, &b->v.r, sizeof a->v.r) == 0);
		break;
	case CIM_INSTANCE:
		inst_eq(a->v.inst, b->v.inst);
		break;
	default:
		ck_assert_str_eq(a->v.str, b->v.str);
	}
}

/* Deep equality of two parsed instances. */
static void
inst_eq(const struct cim_instance *a, const struct cim_instance *b)
{
	size_t i, j;

	ck_assert_str_eq(a->classname, b->classname);
	ck_assert_uint_eq(a->nprops, b->nprops);
	for (i = 0; i < a->nprops; i++) {
		const struct cim_property *pa = &a->props[i],
					  *pb = &b->props[i];

		ck_assert_str_eq(pa->name, pb->name);
		ck_assert_int_eq(pa->type, pb->type);
		ck_assert_int_eq(pa->array, pb->array);
		ck_assert_int_eq(pa->null, pb->null);
		ck_assert_uint_eq(pa->count, pb->count);
		for (j = 0; j < pa->count; j++)
			value_eq(pa->type, &pa->values[j], &pb->values[j]);
	}
}

static void
msg_eq(const struct cimxml_message *a, const struct cimxml_message *b)
{
	size_t i;

	ck_assert_str_eq(a->id, b->id);
	ck_assert_str_eq(a->protocol_version, b->protocol_version);
	ck_assert_str_eq(a->cim_version, b->cim_version);
	ck_assert_str_eq(a->dtd_version, b->dtd_version);
	ck_assert_int_eq(a->multi, b->multi);
	ck_assert_uint_eq(a->nexports, b->nexports);
	for (i = 0; i < a->nexports; i++) {
		const struct cimxml_export *ea = &a->exports[i];
		const struct cimxml_export *eb = &b->exports[i];

		ck_assert_str_eq(ea->method, eb->method);
		ck_assert_int_eq(ea->cim_error, eb->cim_error);
		ck_assert_int_eq(
		    ea->indication == NULL, eb->indication == NULL);
		if (ea->indication != NULL)
			inst_eq(ea->indication, eb->indication);
	}
}

/*
 * Parse one-shot and also byte by byte and in random chunks; all three
 * must agree (status, reason, and the message itself).
 */
static enum cimxml_status
parse_all_ways(const char *data, size_t len, const struct cimxml_limits *lim,
    struct cimxml_message **msgp, char **reasonp)
{
	struct cimxml_message *m2;
	enum cimxml_status st, st2;
	char *reason2;
	unsigned seed;
	size_t chunk;

	*reasonp = NULL;
	st = cimxml_parse(data, len, lim, msgp, reasonp);
	if (st == CIMXML_OK) {
		ck_assert_ptr_nonnull(*msgp);
		ck_assert_ptr_null(*reasonp);
		*reasonp = strdup("");
	} else {
		ck_assert_ptr_null(*msgp);
		ck_assert_ptr_nonnull(*reasonp);
		check_reason_shape(*reasonp);
	}
	for (chunk = 0; chunk <= 1; chunk++) {
		for (seed = 1; seed <= (chunk == 0 ? 3U : 1U); seed++) {
			st2 = parse_chunked(
			    data, len, lim, chunk, seed, &m2, &reason2);
			ck_assert_msg(st2 == st, "chunked status %d != %d (%s)",
			    st2, st, reason2);
			/*
			 * libxml2's own messages may depend on where the
			 * chunks end (its push parser postpones some errors);
			 * ours do not.
			 */
			if (st != CIMXML_NOT_WELL_FORMED)
				ck_assert_str_eq(reason2, *reasonp);
			if (st == CIMXML_OK)
				msg_eq(*msgp, m2);
			else
				ck_assert_ptr_null(m2);
			cimxml_message_free(m2);
			free(reason2);
		}
	}
	return st;
}

static void
expect_fail_lim(const char *xml, size_t len, const struct cimxml_limits *lim,
    enum cimxml_status want, const char *sub)
{
	struct cimxml_message *m;
	enum cimxml_status st;
	char *reason;

	st = parse_all_ways(xml, len, lim, &m, &reason);
	ck_assert_msg(st == want, "status %d, want %d (%s)", st, want, reason);
	ck_assert_msg(strstr(reason, sub) != NULL, "reason \"%s\" lacks \"%s\"",
	    reason, sub);
	free(reason);
}

static void
expect_fail(const char *xml, enum cimxml_status want, const char *sub)
{
	expect_fail_lim(xml, strlen(xml), NULL, want, sub);
}

static struct cimxml_message *
expect_ok_len(const char *xml, size_t len, const struct cimxml_limits *lim)
{
	struct cimxml_message *m;
	enum cimxml_status st;
	char *reason;

	st = parse_all_ways(xml, len, lim, &m, &reason);
	ck_assert_msg(st == CIMXML_OK, "status %d: %s", st, reason);
	free(reason);
	return m;
}

static struct cimxml_message *
expect_ok(const char *xml)
{
	return expect_ok_len(xml, strlen(xml), NULL);
}

static struct cimxml_message *
expect_ok_file(const char *name)
{
	struct cimxml_message *m;
	size_t len;
	char *data;

	data = load(name, &len);
	m = expect_ok_len(data, len, NULL);
	free(data);
	return m;
}

/* The indication of a one-export message with no export error. */
static const struct cim_instance *
indication(const struct cimxml_message *m)
{
	ck_assert_uint_eq(m->nexports, 1);
	ck_assert_int_eq(m->exports[0].cim_error, 0);
	ck_assert_ptr_null(m->exports[0].error_description);
	ck_assert_ptr_nonnull(m->exports[0].indication);
	return m->exports[0].indication;
}

static const struct cim_property *
prop(const struct cim_instance *inst, const char *name, enum cim_type t,
    bool array, bool null, size_t count)
{
	const struct cim_property *p = cim_instance_get(inst, name);

	ck_assert_msg(p != NULL, "no property %s", name);
	ck_assert_str_eq(p->name, name);
	ck_assert_msg(p->type == t, "%s: type %d, want %d", name, p->type, t);
	ck_assert_int_eq(p->array, array);
	ck_assert_int_eq(p->null, null);
	ck_assert_uint_eq(p->count, count);
	if (count == 0)
		ck_assert_ptr_null(p->values);
	return p;
}

static void
prop_str(const struct cim_instance *inst, const char *name, enum cim_type t,
    const char *want)
{
	const struct cim_property *p = prop(inst, name, t, false, false, 1);

	ck_assert_int_eq(p->values[0].null, 0);
	ck_assert_str_eq(p->values[0].v.str, want);
}

static void
prop_u(const struct cim_instance *inst, const char *name, enum cim_type t,
    uint64_t want)
{
	const struct cim_property *p = prop(inst, name, t, false, false, 1);

	ck_assert_uint_eq(p->values[0].v.u, want);
}

static void
prop_s(const struct cim_instance *inst, const char *name, enum cim_type t,
    int64_t want)
{
	const struct cim_property *p = prop(inst, name, t, false, false, 1);

	ck_assert_int_eq(p->values[0].v.s, want);
}

START_TEST(sample_alert)
{
	struct cimxml_message *m =
	    expect_ok_file("samples/alert-indication.xml");
	const struct cim_instance *in = indication(m);
	const struct cim_property *p;

	ck_assert_str_eq(m->id, "1001");
	ck_assert_str_eq(m->protocol_version, "1.4");
	ck_assert_str_eq(m->cim_version, "2.0");
	ck_assert_str_eq(m->dtd_version, "2.4");
	ck_assert_int_eq(m->multi, 0);
	ck_assert_str_eq(m->exports[0].method, "ExportIndication");
	ck_assert_str_eq(in->classname, "CIM_AlertIndication");
	ck_assert_uint_eq(in->nprops, 14);
	ck_assert_str_eq(in->props[0].name, "IndicationIdentifier");
	ck_assert_str_eq(in->props[13].name, "RecommendedActions");
	prop_str(in, "IndicationIdentifier", CIM_STRING, "ind-000042");
	prop_str(
	    in, "IndicationTime", CIM_DATETIME, "20261122013000.123456+000");
	prop_u(in, "AlertType", CIM_UINT16, 2);
	prop_u(in, "PerceivedSeverity", CIM_UINT16, 6);
	prop_u(in, "ProbableCause", CIM_UINT16, 53);
	prop_str(in, "OwningEntity", CIM_STRING, "DMTF");
	prop_str(in, "MessageID", CIM_STRING, "SVPC0123");
	prop_str(in, "Message", CIM_STRING,
	    "Power supply 2 on chassis "
	    "rack4-u12 has failed; redundancy lost");
	p = prop(in, "MessageArguments", CIM_STRING, true, false, 2);
	ck_assert_str_eq(p->values[0].v.str, "2");
	ck_assert_str_eq(p->values[1].v.str, "rack4-u12");
	ck_assert(!p->values[0].null && !p->values[1].null);
	prop_str(in, "AlertingManagedElement", CIM_STRING,
	    "//bmc4.example.net/root/cimv2:CIM_PowerSupply.DeviceID=\"PSU2\"");
	prop_u(in, "AlertingElementFormat", CIM_UINT16, 2);
	prop_str(in, "SystemName", CIM_STRING, "rack4-u12.example.net");
	prop_str(in, "EventID", CIM_STRING, "PSU-0042");
	prop_u(in, "RecommendedActions", CIM_UINT32, 131072);
	cimxml_message_free(m);
}
END_TEST

START_TEST(sample_all_types)
{
	struct cimxml_message *m = expect_ok_file("samples/all-types.xml");
	const struct cim_instance *in = indication(m);
	const struct cim_property *p;

	ck_assert_str_eq(m->id, "types-1");
	ck_assert_str_eq(in->classname, "Acme_TypesIndication");
	ck_assert_uint_eq(in->nprops, 19);
	p = prop(in, "B", CIM_BOOLEAN, false, false, 1);
	ck_assert_int_eq(p->values[0].v.b, true);
	prop_u(in, "U8", CIM_UINT8, 255);
	prop_s(in, "S8", CIM_SINT8, -128);
	prop_u(in, "U16", CIM_UINT16, 31);
	prop_s(in, "S16", CIM_SINT16, 12);
	prop_u(in, "U32", CIM_UINT32, 4294967295U);
	prop_s(in, "S32", CIM_SINT32, INT32_MIN);
	prop_u(in, "U64", CIM_UINT64, UINT64_MAX);
	prop_s(in, "S64", CIM_SINT64, INT64_MIN);
	p = prop(in, "R32", CIM_REAL32, false, false, 1);
	ck_assert(p->values[0].v.r == (double)-1.5e-3f);
	p = prop(in, "R64", CIM_REAL64, false, false, 1);
	ck_assert(p->values[0].v.r == 25.0);
	prop_str(in, "C16", CIM_CHAR16, "\xc3\xa9");
	prop_str(in, "Str", CIM_STRING,
	    "tab\tquote\" backslash\\ snow"
	    "\xe2\x98\x83 emoji\xf0\x9f\x98\x80");
	prop_str(in, "When", CIM_DATETIME, "20261122013000.123456-300");
	prop_str(in, "Span", CIM_DATETIME, "00000001020304.000000:000");
	prop(in, "Nothing", CIM_SINT32, false, true, 0);
	p = prop(in, "Ports", CIM_UINT16, true, false, 3);
	ck_assert(!p->values[0].null && p->values[0].v.u == 22);
	ck_assert(p->values[1].null);
	ck_assert(!p->values[2].null && p->values[2].v.u == 5989);
	p = prop(in, "Flags", CIM_BOOLEAN, true, false, 2);
	ck_assert(!p->values[0].null && p->values[0].v.b == false);
	ck_assert(!p->values[1].null && p->values[1].v.b == true);
	prop_str(in, "Origin", CIM_REFERENCE,
	    "//bmc7.example.net/root/cimv2:Acme_Chassis.Slot=4,Tag=\"CH-7\"");
	cimxml_message_free(m);
}
END_TEST

static void
check_fan(const struct cim_instance *fan, uint64_t speed, size_t nstatus,
    const uint64_t *status)
{
	const struct cim_property *p;
	size_t i;

	ck_assert_str_eq(fan->classname, "Acme_Fan");
	ck_assert_uint_eq(fan->nprops, 3);
	prop_str(fan, "DeviceID", CIM_STRING, "FAN3");
	prop_u(fan, "Speed", CIM_UINT64, speed);
	p = prop(fan, "OperationalStatus", CIM_UINT16, true, false, nstatus);
	for (i = 0; i < nstatus; i++)
		ck_assert_uint_eq(p->values[i].v.u, status[i]);
}

START_TEST(sample_inst_modification)
{
	struct cimxml_message *m =
	    expect_ok_file("samples/inst-modification.xml");
	const struct cim_instance *in = indication(m);
	const struct cim_property *p;
	static const uint64_t st1[] = {6, 11}, st2[] = {2};

	ck_assert_str_eq(m->id, "mod-88");
	ck_assert_str_eq(in->classname, "CIM_InstModification");
	ck_assert_uint_eq(in->nprops, 4);
	prop_str(
	    in, "IndicationTime", CIM_DATETIME, "20261122020000.000000+000");
	prop_str(in, "SourceInstanceModelPath", CIM_STRING,
	    "root/cimv2:Acme_Fan.DeviceID=\"FAN3\"");
	p = prop(in, "SourceInstance", CIM_INSTANCE, false, false, 1);
	check_fan(p->values[0].v.inst, 0, 2, st1);
	p = prop(in, "PreviousInstance", CIM_INSTANCE, false, false, 1);
	check_fan(p->values[0].v.inst, 4200, 1, st2);
	cimxml_message_free(m);
}
END_TEST

START_TEST(sample_null_and_empty)
{
	struct cimxml_message *m = expect_ok_file("samples/null-and-empty.xml");
	const struct cim_instance *in = indication(m);

	ck_assert_str_eq(m->id, "7");
	ck_assert_str_eq(m->protocol_version, "1.0");
	ck_assert_str_eq(m->dtd_version, "2.0");
	ck_assert_str_eq(in->classname, "Acme_ProcessIndication");
	ck_assert_uint_eq(in->nprops, 9);
	prop_str(in, "MethodName", CIM_STRING, "FireTestEvent");
	prop_s(in, "SequenceNumber", CIM_SINT64, 3);
	prop_str(in, "SequenceContext", CIM_STRING,
	    "acme:host-a#20261101120000#20261101115959");
	prop_str(in, "IndicationFilterName", CIM_STRING, "acme-filter");
	prop(in, "OtherSeverity", CIM_STRING, false, true, 0);
	prop(in, "PerceivedSeverity", CIM_UINT16, false, true, 0);
	prop_str(
	    in, "IndicationTime", CIM_DATETIME, "20261101120501.250000+060");
	prop(in, "CorrelatedIndications", CIM_STRING, true, false, 0);
	prop_str(in, "IndicationIdentifier", CIM_STRING, "3");
	cimxml_message_free(m);
}
END_TEST

START_TEST(fixture_references)
{
	struct cimxml_message *m = expect_ok_file("cimxml/references.xml");
	const struct cim_instance *in = indication(m);
	const struct cim_property *p;

	prop_str(in, "Local", CIM_REFERENCE,
	    "/root/cimv2:CIM_Fan."
	    "CreationClassName=\"CIM_Fan\",deviceID=\"F\\\"1\\\\\"");
	prop_str(in, "Keyless", CIM_REFERENCE, "Acme_Singleton");
	prop_str(in, "Bare", CIM_REFERENCE, "Acme_Bare=7");
	prop_str(in, "ClassPath", CIM_REFERENCE,
	    "//cimom.example.com:5989/root/interop:CIM_Class");
	prop_str(in, "LocalClassPath", CIM_REFERENCE, "/root:CIM_Class");
	prop_str(in, "ClassName", CIM_REFERENCE, "CIM_Class");
	prop_str(in, "Nested", CIM_REFERENCE,
	    "Acme_Assoc.antecedent="
	    "\"//h/root:Acme_A.Id=\\\"a\\\"\",Count=-0x10,Flag=true");
	prop(in, "Missing", CIM_REFERENCE, false, true, 0);
	prop(in, "NullRef", CIM_REFERENCE, false, true, 0);
	p = prop(in, "Refs", CIM_REFERENCE, true, false, 2);
	ck_assert_str_eq(p->values[0].v.str, "Acme_Bare.K=1");
	ck_assert(p->values[1].null);
	cimxml_message_free(m);
}
END_TEST

START_TEST(fixture_qualifiers)
{
	struct cimxml_message *m = expect_ok_file("cimxml/qualifiers.xml");
	const struct cim_instance *in = indication(m);
	const struct cim_property *p;

	ck_assert_uint_eq(in->nprops, 2);
	prop_str(in, "Description", CIM_STRING,
	    "L\xc3\xbc"
	    "fter ausgefallen");
	p = prop(in, "Codes", CIM_UINT8, true, false, 2);
	ck_assert_uint_eq(p->values[0].v.u, 10);
	ck_assert_uint_eq(p->values[1].v.u, 11);
	cimxml_message_free(m);
}
END_TEST

START_TEST(fixture_embedded_class)
{
	struct cimxml_message *m = expect_ok_file("cimxml/embedded-class.xml");
	const struct cim_instance *in = indication(m);
	const struct cim_property *p;

	prop_str(in, "ClassDefinition", CIM_STRING,
	    "<CLASS NAME=\"Acme_Fan\" "
	    "SUPERCLASS=\"CIM_Fan\"><PROPERTY NAME=\"Speed\" TYPE=\"uint64\"/>"
	    "</CLASS>");
	prop(in, "Empty", CIM_INSTANCE, false, true, 0);
	/* NULL and never looked at: the declared string type stays. */
	prop(in, "Absent", CIM_STRING, false, true, 0);
	p = prop(in, "Many", CIM_INSTANCE, true, false, 3);
	ck_assert_str_eq(p->values[0].v.inst->classname, "A");
	ck_assert_uint_eq(p->values[0].v.inst->nprops, 0);
	ck_assert(p->values[1].null);
	ck_assert_str_eq(p->values[2].v.inst->classname, "B");
	prop_s(p->values[2].v.inst, "X", CIM_SINT8, -5);
	cimxml_message_free(m);
}
END_TEST

START_TEST(fixture_multi)
{
	struct cimxml_message *m = expect_ok_file("cimxml/multi-export.xml");

	ck_assert_int_eq(m->multi, 1);
	ck_assert_uint_eq(m->nexports, 2);
	ck_assert_int_eq(m->exports[0].cim_error, 0);
	ck_assert_int_eq(m->exports[1].cim_error, 0);
	ck_assert_str_eq(
	    m->exports[0].indication->classname, "CIM_AlertIndication");
	ck_assert_str_eq(m->exports[1].method, "exportindication");
	prop_u(m->exports[1].indication, "PerceivedSeverity", CIM_UINT16, 6);
	cimxml_message_free(m);
}
END_TEST

START_TEST(multi_one_and_empty)
{
	struct cimxml_message *m;

	m = expect_ok(MSGHEAD "<MULTIEXPREQ><SIMPLEEXPREQ>" CALL(
	    PARAM(INST(""))) "</SIMPLEEXPREQ></MULTIEXPREQ>"
			     "</MESSAGE></CIM>");
	ck_assert_int_eq(m->multi, 1);
	ck_assert_uint_eq(m->nexports, 1);
	cimxml_message_free(m);
	expect_fail(MSGHEAD "<MULTIEXPREQ></MULTIEXPREQ></MESSAGE></CIM>",
	    CIMXML_NOT_VALID, "MULTIEXPREQ without SIMPLEEXPREQ");
}
END_TEST

START_TEST(doctype)
{
	size_t len;
	char *data;
	struct cimxml_message *m;

	data = load("cimxml/billion-laughs.xml", &len);
	expect_fail_lim(data, len, NULL, CIMXML_NOT_WELL_FORMED,
	    "line 2: DOCTYPE with an internal subset is not allowed");
	free(data);
	data = load("cimxml/external-entity.xml", &len);
	expect_fail_lim(data, len, NULL, CIMXML_NOT_WELL_FORMED,
	    "DOCTYPE with an internal subset is not allowed");
	free(data);
	expect_fail("<!DOCTYPE CIM []><CIM/>", CIMXML_NOT_WELL_FORMED,
	    "DOCTYPE with an internal subset");
	/* A '>' in an identifier would make the result depend on chunking. */
	expect_fail("<!DOCTYPE CIM SYSTEM \"a>b.dtd\">" DOC_NODECL(""),
	    CIMXML_NOT_WELL_FORMED, "line 1: ");
	expect_fail("<!DOCTYPE CIM PUBLIC \"-//x>y\" \"c.dtd\">" DOC_NODECL(""),
	    CIMXML_NOT_WELL_FORMED, "line 1: ");
	/* A plain DOCTYPE is tolerated, and nothing is fetched. */
	m = expect_ok_file("cimxml/plain-doctype.xml");
	prop_str(indication(m), "Message", CIM_STRING, "ok");
	cimxml_message_free(m);
	/* Entities other than the predefined ones are never expanded. */
	expect_fail(DECL
	    "<!DOCTYPE CIM SYSTEM \"cim.dtd\">" DOC_NODECL(
		"<PROPERTY "
		"NAME=\"P\" TYPE=\"string\"><VALUE>&ext;</VALUE></PROPERTY>\n"),
	    CIMXML_NOT_WELL_FORMED, "Entity 'ext' not defined");
}
END_TEST

START_TEST(truncated)
{
	struct cimxml_message *m;
	size_t len, cut;
	char *data, *reason;
	enum cimxml_status st;

	data = load("samples/all-types.xml", &len);
	for (cut = 0; cut < len - 1; cut += 7) {
		st = cimxml_parse(data, cut, NULL, &m, &reason);
		ck_assert_msg(st == CIMXML_NOT_WELL_FORMED, "cut %zu: %d %s",
		    cut, st, reason);
		ck_assert_ptr_null(m);
		check_reason_shape(reason);
		free(reason);
	}
	expect_fail_lim(data, len / 2, NULL, CIMXML_NOT_WELL_FORMED, "line ");
	free(data);
	expect_fail("", CIMXML_NOT_WELL_FORMED, "document is empty");
	expect_fail("   ", CIMXML_NOT_WELL_FORMED, "");
	expect_fail("<?xml version=\"1.0\"", CIMXML_NOT_WELL_FORMED, "");
	expect_fail(MSGHEAD "<SIMPLEEXPREQ", CIMXML_NOT_WELL_FORMED, "");
	expect_fail(MSGHEAD "<SIMPLEEXPREQ ", CIMXML_NOT_WELL_FORMED,
	    "start tag SIMPLEEXPREQ is not closed");
}
END_TEST

#define S64 "                                                                "

START_TEST(invalid_utf8)
{
	expect_fail(DOC("<PROPERTY NAME=\"S\" TYPE=\"string\"><VALUE>a\xff"
			"b</VALUE></PROPERTY>\n"),
	    CIMXML_NOT_WELL_FORMED, "line 8: Input is not proper UTF-8");
	expect_fail(DOC("<PROPERTY NAME=\"S\xc3(\" TYPE=\"string\"/>\n"),
	    CIMXML_NOT_WELL_FORMED, "not proper UTF-8");
	expect_fail(DOC("<PROPERTY NAME=\"S\" TYPE=\"string\"><VALUE>"
			"<![CDATA[\xe2\x82]]></VALUE></PROPERTY>\n"),
	    CIMXML_NOT_WELL_FORMED, "not proper UTF-8");
	/*
	 * Stray text with a bad byte later in the same run: the bad byte wins
	 * however the chunks fall.
	 */
	expect_fail(DOC("<PROPERTY NAME=\"S\" TYPE=\"string\">" S64 S64 "x\x94"
			"</PROPERTY>\n"),
	    CIMXML_NOT_WELL_FORMED, "line 8: ");
	/* An encoded surrogate is not a character. */
	expect_fail(DOC("<PROPERTY NAME=\"S\" TYPE=\"string\"><VALUE>"
			"\xed\xa0\x80</VALUE></PROPERTY>\n"),
	    CIMXML_NOT_WELL_FORMED, "line 8");
	expect_fail("\xff\xfe<\0C\0I\0M\0", CIMXML_NOT_WELL_FORMED,
	    "encoding must be UTF-8");
}
END_TEST

START_TEST(encoding_decl)
{
	struct cimxml_message *m;

	expect_fail("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<CIM/>",
	    CIMXML_NOT_WELL_FORMED, "encoding must be UTF-8");
	expect_fail("<?xml version='1.0' encoding = 'UTF-16' ?><CIM/>",
	    CIMXML_NOT_WELL_FORMED, "encoding must be UTF-8, not \"UTF-16\"");
	/* UTF-8 in any case, a byte order mark, no declaration at all. */
	m = expect_ok(
	    "<?xml version=\"1.0\" encoding=\"Utf8\"?>\n" DOC_NODECL(""));
	cimxml_message_free(m);
	m = expect_ok(
	    "<?xml version=\"1.0\" standalone='yes' ?>\n" DOC_NODECL(""));
	cimxml_message_free(m);
	m = expect_ok("\xef\xbb\xbf" DOC(""));
	cimxml_message_free(m);
	m = expect_ok(DOC_NODECL(""));
	cimxml_message_free(m);
	expect_fail("\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"latin1\"?>"
		    "<CIM/>",
	    CIMXML_NOT_WELL_FORMED, "encoding must be UTF-8");
	/* The declaration is quoted before libxml2 checked its bytes. */
	expect_fail("<?xml version='1.0' encoding='u\xcc\n\xff\xe2\x82"
		    "\xc3\xa9'?><CIM/>",
	    CIMXML_NOT_WELL_FORMED, "not \"u?????\xc3\xa9\"");
}
END_TEST

/* An instance nested n deep through EmbeddedObject properties. */
static char *
nested(int n)
{
	struct buf b = BUF_INIT, esc = BUF_INIT;
	const char *s;
	int i;

	buf_adds(&b, "<INSTANCE CLASSNAME=\"L0\"><PROPERTY NAME=\"Depth\" "
		     "TYPE=\"uint32\"><VALUE>0</VALUE></PROPERTY></INSTANCE>");
	for (i = 1; i <= n; i++) {
		buf_reset(&esc);
		for (s = b.data; *s != '\0'; s++) {
			if (*s == '<')
				buf_adds(&esc, "&lt;");
			else if (*s == '&')
				buf_adds(&esc, "&amp;");
			else if (*s == '"')
				buf_adds(&esc, "&quot;");
			else
				buf_addc(&esc, *s);
		}
		buf_reset(&b);
		buf_printf(&b,
		    "<INSTANCE CLASSNAME=\"L%d\"><PROPERTY "
		    "NAME=\"Inner\" TYPE=\"string\" "
		    "EmbeddedObject=\"instance\">"
		    "<VALUE>%s</VALUE></PROPERTY></INSTANCE>",
		    i, esc.data);
	}
	buf_free(&esc);
	buf_reset(&esc);
	buf_printf(&esc, "%s%s%s%s</EXPPARAMVALUE></EXPMETHODCALL>%s", HEAD,
	    "<EXPMETHODCALL NAME=\"ExportIndication\">",
	    "<EXPPARAMVALUE NAME=\"NewIndication\">", b.data, TAIL);
	buf_free(&b);
	return buf_steal(&esc, NULL);
}

START_TEST(embedding_depth)
{
	struct cimxml_message *m;
	const struct cim_instance *in;
	struct cimxml_limits lim = {.max_xml_depth = 64, .max_embedding_depth = 3};
	char *doc;
	int i;

	doc = nested(8);
	m = expect_ok(doc);
	in = indication(m);
	for (i = 8; i > 0; i--) {
		const struct cim_property *p;

		p = prop(in, "Inner", CIM_INSTANCE, false, false, 1);
		in = p->values[0].v.inst;
	}
	ck_assert_str_eq(in->classname, "L0");
	prop_u(in, "Depth", CIM_UINT32, 0);
	cimxml_message_free(m);
	free(doc);

	doc = nested(9);
	expect_fail(doc, CIMXML_NOT_VALID,
	    "property \"Inner\": embedded instances nested deeper than 8");
	free(doc);

	doc = nested(4);
	expect_fail_lim(
	    doc, strlen(doc), &lim, CIMXML_NOT_VALID, "nested deeper than 3");
	free(doc);
}
END_TEST

/* max_elements (embedded ones counted), attribute and text lengths. */
/* A message whose one property is PRE, N pieces (EVERY100 at each
 * hundredth, FILL otherwise), POST. */
static char *
repeated_doc(const char *pre, int n, const char *every100, const char *fill,
    const char *post)
{
	struct buf b = { 0 };
	char *doc;
	int i;

	buf_adds(&b, pre);
	for (i = 0; i < n; i++)
		buf_adds(&b, i % 100 == 0 ? every100 : fill);
	buf_adds(&b, post);
	ck_assert_int_gt(asprintf(&doc, DOC("%s"), b.data), 0);
	buf_free(&b);
	return doc;
}

/* DOC parses with *FIELD = AT and fails with MSG at AT - 1; frees DOC. */
static void
limit_edge(char *doc, const struct cimxml_limits *lim, size_t *field,
    size_t at, const char *msg)
{
	struct cimxml_message *m;

	*field = at;
	m = expect_ok_len(doc, strlen(doc), lim);
	cimxml_message_free(m);
	*field = at - 1;
	expect_fail_lim(doc, strlen(doc), lim, CIMXML_NOT_VALID, msg);
	*field = 0;
	free(doc);
}

START_TEST(size_limits)
{
	struct cimxml_limits lim = {64, 8, 0, 0, 0};
	struct cimxml_message *m;
	size_t len, n;
	char *data, *doc;
	unsigned i;

	/* The sample has 55 elements or so: find the exact count. */
	data = load("samples/alert-indication.xml", &len);
	for (n = 0, i = 0; i + 1 < len; i++)
		if (data[i] == '<' && data[i + 1] != '/' && data[i + 1] != '?')
			n++;
	lim.max_elements = (unsigned)n;
	m = expect_ok_len(data, len, &lim);
	cimxml_message_free(m);
	lim.max_elements = (unsigned)n - 1;
	expect_fail_lim(data, len, &lim, CIMXML_NOT_VALID,
	    "XML elements");
	free(data);

	/* Elements of embedded instances count towards the message's. */
	doc = nested(4);
	for (n = 0, i = 0; doc[i] != '\0'; i++)
		if (doc[i] == '<' && doc[i + 1] != '/' && doc[i + 1] != '?')
			n++;
	lim.max_elements = (unsigned)n + 1;
	expect_fail_lim(doc, strlen(doc), &lim, CIMXML_NOT_VALID,
	    "XML elements");
	lim.max_elements = 0;
	m = expect_ok_len(doc, strlen(doc), &lim);
	cimxml_message_free(m);
	free(doc);

	/* An attribute value of 300 bytes against a limit of 299 and 300. */
	doc = repeated_doc("<PROPERTY NAME=\"AlertType\" TYPE=\"uint16\" X=\"",
	    300, "a", "a", "\"><VALUE>1</VALUE></PROPERTY>\n");
	limit_edge(doc, &lim, &lim.max_attribute_length, 300,
	    "line 8: attribute X of PROPERTY longer than 299 bytes");

	/* VALUE text of 2000 bytes, given in pieces, against 1999 and 2000. */
	doc = repeated_doc("<PROPERTY NAME=\"Description\" TYPE=\"string\"><VALUE>",
	    2000, "&amp;", "b", "</VALUE></PROPERTY>\n");
	limit_edge(doc, &lim, &lim.max_text_length, 2000,
	    "text of VALUE longer than 1999 bytes");

	/* 11 MB in one attribute: over libxml2's own limit, which answers
	 * first, and is reported as a size limit too. */
	doc = repeated_doc("<PROPERTY NAME=\"AlertType\" TYPE=\"uint16\" X=\"",
	    1100000, "aaaaaaaaaa", "aaaaaaaaaa", "\"><VALUE>1</VALUE></PROPERTY>\n");
	expect_fail_lim(doc, strlen(doc), &lim, CIMXML_NOT_VALID,
	    "line 8: an XML token (attribute value, text or name) longer than "
	    "10000000 bytes");
	free(doc);
}
END_TEST

START_TEST(embedded_bad)
{
	expect_fail(
	    DOC("<PROPERTY NAME=\"Src\" TYPE=\"string\" "
		"EmbeddedObject=\"instance\"><VALUE>&lt;INSTANCE CLASSNAME="
		"\"X\"&gt;</VALUE></PROPERTY>\n"),
	    CIMXML_NOT_VALID, "property \"Src\": embedded instance: line 1:");
	expect_fail(DOC("<PROPERTY NAME=\"Src\" TYPE=\"string\" "
			"EmbeddedObject=\"instance\"><VALUE>just "
			"text</VALUE></PROPERTY>\n"),
	    CIMXML_NOT_VALID, "line 8: property \"Src\": embedded instance");
	expect_fail(DOC("<PROPERTY NAME=\"Src\" TYPE=\"string\" "
			"EmbeddedObject=\"instance\"><VALUE><![CDATA[<VALUE>1</"
			"VALUE>]]>"
			"</VALUE></PROPERTY>\n"),
	    CIMXML_NOT_VALID, "root element is VALUE, not INSTANCE");
	expect_fail(
	    DOC("<PROPERTY NAME=\"Src\" TYPE=\"string\" "
		"EmbeddedObject=\"instance\"><VALUE><![CDATA[<INSTANCE "
		"CLASSNAME=\"F\"><PROPERTY NAME=\"N\" TYPE=\"uint8\"><VALUE>256"
		"</VALUE></PROPERTY></INSTANCE>]]></VALUE></PROPERTY>\n"),
	    CIMXML_NOT_VALID,
	    "property \"Src\": embedded instance: line 1: "
	    "property \"N\": value \"256\" out of range for uint8");
	expect_fail(DOC("<PROPERTY NAME=\"Src\" TYPE=\"uint8\" "
			"EmbeddedObject=\"instance\"/>\n"),
	    CIMXML_NOT_VALID, "EmbeddedObject on a uint8 property");
	expect_fail(DOC("<PROPERTY NAME=\"Src\" TYPE=\"string\" "
			"EmbeddedObject=\"class\"/>\n"),
	    CIMXML_NOT_VALID, "EmbeddedObject must be");
}
END_TEST

START_TEST(xml_depth)
{
	struct cimxml_limits lim8 = {.max_xml_depth = 8, .max_embedding_depth = 8},
	    lim9 = {.max_xml_depth = 9, .max_embedding_depth = 8};
	struct cimxml_message *m;
	struct buf b = BUF_INIT;
	size_t len;
	char *data;
	int i;

	data = load("samples/alert-indication.xml", &len);
	m = expect_ok_len(data, len, &lim9);
	cimxml_message_free(m);
	expect_fail_lim(data, len, &lim8, CIMXML_NOT_VALID,
	    "line 16: XML elements nested deeper than 8");
	free(data);

	/* Even inside a skipped QUALIFIER. */
	buf_adds(&b, HEAD
	    "<EXPMETHODCALL NAME=\"ExportIndication\">"
	    "<EXPPARAMVALUE NAME=\"NewIndication\"><INSTANCE CLASSNAME=\"C\">"
	    "<QUALIFIER NAME=\"Q\" TYPE=\"string\">");
	for (i = 0; i < 60; i++)
		buf_adds(&b, "<X>");
	for (i = 0; i < 60; i++)
		buf_adds(&b, "</X>");
	buf_adds(
	    &b, "</QUALIFIER></INSTANCE></EXPPARAMVALUE></EXPMETHODCALL>" TAIL);
	expect_fail(
	    b.data, CIMXML_NOT_VALID, "XML elements nested deeper than 64");
	buf_free(&b);
}
END_TEST

#define P(type, v)                                                             \
	DOC("<PROPERTY NAME=\"AlertType\" TYPE=\"" type "\">"                  \
	    "<VALUE>" v "</VALUE></PROPERTY>\n")

START_TEST(bad_values)
{
	expect_fail(P("uint16", "70000"), CIMXML_NOT_VALID,
	    "line 8: "
	    "property \"AlertType\": value \"70000\" out of range for uint16");
	expect_fail(P("sint8", "-129"), CIMXML_NOT_VALID,
	    "value \"-129\" out of range for sint8");
	expect_fail(
	    P("sint8", "128"), CIMXML_NOT_VALID, "out of range for sint8");
	expect_fail(P("uint8", "-1"), CIMXML_NOT_VALID,
	    "value \"-1\" out of range for uint8");
	expect_fail(P("uint64", "18446744073709551616"), CIMXML_NOT_VALID,
	    "out of range for uint64");
	expect_fail(P("sint64", "-9223372036854775809"), CIMXML_NOT_VALID,
	    "out of range for sint64");
	expect_fail(P("sint64", "9223372036854775808"), CIMXML_NOT_VALID,
	    "out of range for sint64");
	expect_fail(P("uint32", "0x100000000"), CIMXML_NOT_VALID,
	    "out of range for uint32");
	expect_fail(P("uint32", "12abc"), CIMXML_NOT_VALID,
	    "value \"12abc\" is not a valid uint32");
	expect_fail(P("uint32", ""), CIMXML_NOT_VALID,
	    "value \"\" is not a valid uint32");
	expect_fail(P("uint32", "0x"), CIMXML_NOT_VALID, "not a valid uint32");
	expect_fail(P("uint32", "1 2"), CIMXML_NOT_VALID, "not a valid uint32");
	expect_fail(P("sint32", "--1"), CIMXML_NOT_VALID, "not a valid sint32");
	expect_fail(P("boolean", "yes"), CIMXML_NOT_VALID,
	    "value \"yes\" is not a valid boolean");
	expect_fail(P("boolean", "1"), CIMXML_NOT_VALID, "not a valid boolean");
	expect_fail(P("datetime", "2026-11-22T01:30:00Z"), CIMXML_NOT_VALID,
	    "is not a valid datetime");
	expect_fail(P("datetime", "20261322013000.123456+000"),
	    CIMXML_NOT_VALID, "is not a valid datetime");
	expect_fail(P("datetime", "00000001250304.000000:000"),
	    CIMXML_NOT_VALID, "is not a valid datetime");
	expect_fail(P("datetime", "20261122013000.123456*000"),
	    CIMXML_NOT_VALID, "is not a valid datetime");
	expect_fail(P("real64", "1.5.2"), CIMXML_NOT_VALID,
	    "value \"1.5.2\" is not a valid real64");
	expect_fail(
	    P("real64", "0x1p3"), CIMXML_NOT_VALID, "is not a valid real64");
	expect_fail(P("real64", "1e"), CIMXML_NOT_VALID, "not a valid real64");
	expect_fail(P("real64", "."), CIMXML_NOT_VALID, "not a valid real64");
	expect_fail(
	    P("real64", "infinity"), CIMXML_NOT_VALID, "not a valid real64");
	expect_fail(
	    P("real64", "1e400"), CIMXML_NOT_VALID, "out of range for real64");
	expect_fail(P("real32", "1e39"), CIMXML_NOT_VALID,
	    "value \"1e39\" out of range for real32");
	expect_fail(P("char16", "ab"), CIMXML_NOT_VALID,
	    "value \"ab\" is not a valid char16");
	expect_fail(P("char16", "\xc3\xa9\xc3\xa9"), CIMXML_NOT_VALID,
	    "not a valid char16");
	expect_fail(P("char16", ""), CIMXML_NOT_VALID, "not a valid char16");
	expect_fail(P("uint17", "1"), CIMXML_NOT_VALID,
	    "property \"AlertType\": unknown TYPE \"uint17\"");
	expect_fail(P("reference", "1"), CIMXML_NOT_VALID, "unknown TYPE");
	/* A long value is clipped in the reason. */
	expect_fail(
	    P("uint8", "1111111111111111111111111111111111111111111111"
		       "11111111111111111111111111111111111111111111111"),
	    CIMXML_NOT_VALID, "111...\" out of range for uint8");
	/* Array items are checked too. */
	expect_fail(
	    DOC("<PROPERTY.ARRAY NAME=\"A\" TYPE=\"uint8\"><VALUE.ARRAY>"
		"<VALUE>1</VALUE><VALUE>300</VALUE></VALUE.ARRAY></"
		"PROPERTY.ARRAY>"
		"\n"),
	    CIMXML_NOT_VALID,
	    "property \"A\": value \"300\" out of "
	    "range for uint8");
}
END_TEST

START_TEST(good_values)
{
	struct cimxml_message *m;
	const struct cim_instance *in;
	const struct cim_property *p;

	m = expect_ok(DOC(
	    "<PROPERTY NAME=\"U0\" "
	    "TYPE=\"uint32\"><VALUE>-0</VALUE></PROPERTY>\n"
	    "<PROPERTY NAME=\"U1\" TYPE=\"uint8\"><VALUE>\n\t+0xfF \r\n</VALUE>"
	    "</PROPERTY>\n"
	    "<PROPERTY NAME=\"S1\" TYPE=\"sint16\"><VALUE>-0x8000</VALUE>"
	    "</PROPERTY>\n"
	    "<PROPERTY NAME=\"S2\" TYPE=\"sint64\"><VALUE>00042</VALUE>"
	    "</PROPERTY>\n"
	    "<PROPERTY NAME=\"B\" TYPE=\"boolean\"><VALUE> FaLsE\n</VALUE>"
	    "</PROPERTY>\n"
	    "<PROPERTY NAME=\"R1\" TYPE=\"real64\"><VALUE> -1.5e-3 </VALUE>"
	    "</PROPERTY>\n"
	    "<PROPERTY NAME=\"R2\" TYPE=\"real64\"><VALUE>INF</VALUE>"
	    "</PROPERTY>\n"
	    "<PROPERTY NAME=\"R3\" TYPE=\"real64\"><VALUE>-INF</VALUE>"
	    "</PROPERTY>\n"
	    "<PROPERTY NAME=\"R4\" TYPE=\"real32\"><VALUE>NaN</VALUE>"
	    "</PROPERTY>\n"
	    "<PROPERTY NAME=\"R5\" TYPE=\"real32\"><VALUE>3.4028234e38</VALUE>"
	    "</PROPERTY>\n"
	    "<PROPERTY NAME=\"R6\" TYPE=\"real64\"><VALUE>+7.</VALUE>"
	    "</PROPERTY>\n"
	    "<PROPERTY NAME=\"C1\" TYPE=\"char16\"><VALUE> </VALUE>"
	    "</PROPERTY>\n"
	    "<PROPERTY NAME=\"C2\" TYPE=\"char16\"><VALUE>&#x1F600;</VALUE>"
	    "</PROPERTY>\n"
	    "<PROPERTY NAME=\"D1\" TYPE=\"datetime\"><VALUE> 2026112201****."
	    "******+000 </VALUE></PROPERTY>\n"
	    "<PROPERTY NAME=\"D2\" TYPE=\"datetime\"><VALUE>00000000000000."
	    "000000+000</VALUE></PROPERTY>\n"
	    "<PROPERTY NAME=\"E\" TYPE=\"string\"><VALUE></VALUE></PROPERTY>\n"
	    "<PROPERTY NAME=\"N\" TYPE=\"uint8\"><VALUE.NULL/></PROPERTY>\n"
	    "<PROPERTY.ARRAY NAME=\"NA\" TYPE=\"uint8\"></PROPERTY.ARRAY>\n"
	    "<PROPERTY.ARRAY NAME=\"NB\" TYPE=\"uint8\"><VALUE.NULL/>"
	    "</PROPERTY.ARRAY>\n"
	    "<PROPERTY.ARRAY NAME=\"EA\" TYPE=\"string\"><VALUE.ARRAY/>"
	    "</PROPERTY.ARRAY>\n"
	    "<PROPERTY.ARRAY NAME=\"SA\" TYPE=\"string\"><VALUE.ARRAY>"
	    "<VALUE.NULL/><VALUE></VALUE></VALUE.ARRAY></PROPERTY.ARRAY>\n"
	    "<PROPERTY NAME=\"L\" TYPE=\"string\" xml:lang=\"fr\" "
	    "EmbeddedClassName=\"X\"><VALUE xml:lang=\"en\">x</VALUE>"
	    "</PROPERTY>\n"));
	in = indication(m);
	prop_u(in, "U0", CIM_UINT32, 0);
	prop_u(in, "U1", CIM_UINT8, 255);
	prop_s(in, "S1", CIM_SINT16, -32768);
	prop_s(in, "S2", CIM_SINT64, 42);
	p = prop(in, "B", CIM_BOOLEAN, false, false, 1);
	ck_assert_int_eq(p->values[0].v.b, false);
	p = prop(in, "R1", CIM_REAL64, false, false, 1);
	ck_assert(p->values[0].v.r == -1.5e-3);
	p = prop(in, "R2", CIM_REAL64, false, false, 1);
	ck_assert(isinf(p->values[0].v.r) && p->values[0].v.r > 0);
	p = prop(in, "R3", CIM_REAL64, false, false, 1);
	ck_assert(isinf(p->values[0].v.r) && p->values[0].v.r < 0);
	p = prop(in, "R4", CIM_REAL32, false, false, 1);
	ck_assert(isnan(p->values[0].v.r));
	p = prop(in, "R5", CIM_REAL32, false, false, 1);
	ck_assert(p->values[0].v.r == (double)3.4028234e38f);
	p = prop(in, "R6", CIM_REAL64, false, false, 1);
	ck_assert(p->values[0].v.r == 7.0);
	prop_str(in, "C1", CIM_CHAR16, " ");
	prop_str(in, "C2", CIM_CHAR16, "\xf0\x9f\x98\x80");
	prop_str(in, "D1", CIM_DATETIME, "2026112201****.******+000");
	prop_str(in, "D2", CIM_DATETIME, "00000000000000.000000+000");
	prop_str(in, "E", CIM_STRING, "");
	prop(in, "N", CIM_UINT8, false, true, 0);
	prop(in, "NA", CIM_UINT8, true, true, 0);
	prop(in, "NB", CIM_UINT8, true, true, 0);
	prop(in, "EA", CIM_STRING, true, false, 0);
	p = prop(in, "SA", CIM_STRING, true, false, 2);
	ck_assert(p->values[0].null);
	ck_assert(!p->values[1].null);
	ck_assert_str_eq(p->values[1].v.str, "");
	prop_str(in, "L", CIM_STRING, "x");
	cimxml_message_free(m);
}
END_TEST

START_TEST(text_split)
{
	struct cimxml_message *m;
	struct buf b = BUF_INIT, want = BUF_INIT;
	const struct cim_instance *in;
	int i;

	buf_adds(&b, HEAD
	    "<EXPMETHODCALL NAME=\"ExportIndication\">"
	    "<EXPPARAMVALUE NAME=\"NewIndication\"><INSTANCE CLASSNAME=\"T\">"
	    "<PROPERTY NAME=\"Long\" TYPE=\"string\"><VALUE>");
	for (i = 0; i < 400; i++) {
		buf_printf(&b, "x%d&amp;&#233;<![CDATA[<c>]]>", i);
		buf_printf(&want, "x%d&\xc3\xa9<c>", i);
	}
	buf_adds(&b,
	    "</VALUE></PROPERTY>"
	    "<PROPERTY NAME=\"Num\" TYPE=\"uint32\"><VALUE>  1<!-- c -->2&#51;"
	    "<![CDATA[4]]> </VALUE></PROPERTY></INSTANCE>"
	    "</EXPPARAMVALUE></EXPMETHODCALL>" TAIL);
	m = expect_ok(b.data);
	in = indication(m);
	prop_str(in, "Long", CIM_STRING, want.data);
	prop_u(in, "Num", CIM_UINT32, 1234);
	cimxml_message_free(m);
	buf_free(&b);
	buf_free(&want);
}
END_TEST

START_TEST(versions)
{
	struct cimxml_message *m;

	expect_fail(
	    "<CIM CIMVERSION=\"3.0\" DTDVERSION=\"2.4\"><MESSAGE/></CIM>",
	    CIMXML_BAD_CIM_VERSION,
	    "line 1: CIMVERSION \"3.0\" is not "
	    "supported");
	expect_fail(
	    "<CIM CIMVERSION=\"2.0\" DTDVERSION=\"3.0\"><MESSAGE/></CIM>",
	    CIMXML_BAD_DTD_VERSION, "DTDVERSION \"3.0\" is not supported");
	expect_fail("<CIM CIMVERSION=\"20\" DTDVERSION=\"2.0\"></CIM>",
	    CIMXML_BAD_CIM_VERSION, "CIMVERSION");
	expect_fail("<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\">\n<MESSAGE "
		    "ID=\"1\" PROTOCOLVERSION=\"2.0\"/></CIM>",
	    CIMXML_BAD_PROTOCOL_VERSION,
	    "line 2: PROTOCOLVERSION \"2.0\" is "
	    "not supported (1.x expected)");
	expect_fail("<CIM DTDVERSION=\"2.0\"/>", CIMXML_NOT_VALID,
	    "CIM without CIMVERSION attribute");
	expect_fail("<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.0\"><MESSAGE "
		    "PROTOCOLVERSION=\"1.0\"/></CIM>",
	    CIMXML_NOT_VALID, "MESSAGE without ID attribute");
	m = expect_ok("<CIM CIMVERSION=\"2.6\" DTDVERSION=\"2.4.1\"><MESSAGE "
		      "ID=\"x\" PROTOCOLVERSION=\"1.5\"><SIMPLEEXPREQ>" CALL(
			  PARAM(INST(""))) TAIL);
	ck_assert_str_eq(m->protocol_version, "1.5");
	ck_assert_str_eq(m->dtd_version, "2.4.1");
	cimxml_message_free(m);
}
END_TEST

START_TEST(structure)
{
	expect_fail(
	    "<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.4\"><MESSAGE ID=\"1\" "
	    "PROTOCOLVERSION=\"1.0\"><FOO/></MESSAGE></CIM>",
	    CIMXML_NOT_VALID,
	    "unexpected element FOO in MESSAGE (SIMPLEEXPREQ or MULTIEXPREQ "
	    "expected)");
	expect_fail(
	    "<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.4\"><MESSAGE ID=\"1\" "
	    "PROTOCOLVERSION=\"1.0\"><SIMPLEREQ/></MESSAGE></CIM>",
	    CIMXML_NOT_VALID, "MESSAGE holds SIMPLEREQ, not an export request");
	expect_fail("<cim/>", CIMXML_NOT_VALID, "root element is cim, not CIM");
	expect_fail("<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.4\"/>",
	    CIMXML_NOT_VALID, "CIM without MESSAGE");
	expect_fail(HEAD "</SIMPLEEXPREQ></MESSAGE></CIM>", CIMXML_NOT_VALID,
	    "SIMPLEEXPREQ without EXPMETHODCALL");
	expect_fail(HEAD CALL("") CALL("") TAIL, CIMXML_NOT_VALID,
	    "unexpected element EXPMETHODCALL in SIMPLEEXPREQ");
	expect_fail(HEAD "<EXPMETHODCALL>"
			 "</EXPMETHODCALL>" TAIL,
	    CIMXML_NOT_VALID, "EXPMETHODCALL without NAME attribute");
	expect_fail(HEAD CALL(PARAM("<INSTANCE/>")) TAIL, CIMXML_NOT_VALID,
	    "line 7: INSTANCE without CLASSNAME attribute");
	expect_fail(DOC("<PROPERTY NAME=\"P\"><VALUE>1</VALUE></PROPERTY>\n"),
	    CIMXML_NOT_VALID, "line 8: PROPERTY \"P\" without TYPE");
	expect_fail(DOC("<PROPERTY TYPE=\"string\"/>\n"), CIMXML_NOT_VALID,
	    "PROPERTY without NAME attribute");
	expect_fail(DOC("<PROPERTY NAME=\"\" TYPE=\"string\"/>\n"),
	    CIMXML_NOT_VALID, "PROPERTY with an empty NAME");
	expect_fail(DOC("<PROPERTY NAME=\"Dup\" TYPE=\"string\"/>\n"
			"<PROPERTY.ARRAY NAME=\"dUP\" TYPE=\"string\"/>\n"),
	    CIMXML_NOT_VALID,
	    "line 9: duplicate property \"dUP\" in "
	    "Test_Indication");
	expect_fail(DOC("<PROPERTY NAME=\"P\" TYPE=\"string\"><VALUE>a</VALUE>"
			"<VALUE>b</VALUE></PROPERTY>\n"),
	    CIMXML_NOT_VALID, "unexpected element VALUE in PROPERTY");
	expect_fail(DOC("<PROPERTY NAME=\"P\" TYPE=\"string\"><VALUE>a<B/>"
			"</VALUE></PROPERTY>\n"),
	    CIMXML_NOT_VALID, "unexpected element B in VALUE");
	expect_fail(
	    DOC("<PROPERTY NAME=\"P\" TYPE=\"string\">text</PROPERTY>\n"),
	    CIMXML_NOT_VALID, "line 8: text in PROPERTY");
	expect_fail(DOC("<PROPERTY.ARRAY NAME=\"P\" TYPE=\"string\"><VALUE>a"
			"</VALUE></PROPERTY.ARRAY>\n"),
	    CIMXML_NOT_VALID, "unexpected element VALUE in PROPERTY.ARRAY");
	expect_fail(DOC("<PROPERTY.REFERENCE NAME=\"R\"><VALUE.REFERENCE/>"
			"</PROPERTY.REFERENCE>\n"),
	    CIMXML_NOT_VALID, "empty VALUE.REFERENCE");
	expect_fail(
	    DOC("<PROPERTY.REFERENCE NAME=\"R\"><VALUE.REFERENCE>"
		"<INSTANCEPATH><INSTANCENAME CLASSNAME=\"C\"/></INSTANCEPATH>"
		"</VALUE.REFERENCE></PROPERTY.REFERENCE>\n"),
	    CIMXML_NOT_VALID,
	    "unexpected element INSTANCENAME in INSTANCEPATH");
	expect_fail(DOC("<PROPERTY.REFERENCE NAME=\"R\"><VALUE.REFERENCE>"
			"<INSTANCENAME CLASSNAME=\"C\"><KEYBINDING "
			"NAME=\"K\"><KEYVALUE "
			"VALUETYPE=\"numeric\">abc</KEYVALUE></KEYBINDING></"
			"INSTANCENAME>"
			"</VALUE.REFERENCE></PROPERTY.REFERENCE>\n"),
	    CIMXML_NOT_VALID, "KEYVALUE \"abc\" is not a valid number");
	expect_fail(
	    DOC("<PROPERTY.REFERENCE NAME=\"R\"><VALUE.REFERENCE>"
		"<INSTANCENAME "
		"CLASSNAME=\"C\"><KEYVALUE>1</KEYVALUE><KEYBINDING "
		"NAME=\"K\"><KEYVALUE>2</KEYVALUE></KEYBINDING></INSTANCENAME>"
		"</VALUE.REFERENCE></PROPERTY.REFERENCE>\n"),
	    CIMXML_NOT_VALID, "unexpected element KEYBINDING in INSTANCENAME");
	/* A well-formedness error is reported with libxml2's line. */
	expect_fail(DOC("<PROPERTY NAME=\"P\" TYPE=\"string\"><VALUE>a</VALU>"
			"</PROPERTY>\n"),
	    CIMXML_NOT_WELL_FORMED, "line 8: ");
}
END_TEST

/* Check the export-level error of a message with the given parameters. */
static void
expect_export_error(const char *xml, int code, const char *sub)
{
	struct cimxml_message *m = expect_ok(xml);

	ck_assert_uint_eq(m->nexports, 1);
	ck_assert_int_eq(m->exports[0].cim_error, code);
	ck_assert_ptr_null(m->exports[0].indication);
	ck_assert_ptr_nonnull(m->exports[0].error_description);
	ck_assert_msg(strstr(m->exports[0].error_description, sub) != NULL,
	    "description \"%s\" lacks \"%s\"", m->exports[0].error_description,
	    sub);
	check_reason_shape(m->exports[0].error_description);
	cimxml_message_free(m);
}

START_TEST(export_errors)
{
	struct cimxml_message *m;

	expect_export_error(HEAD "<EXPMETHODCALL NAME=\"Foo\">" PARAM(
				INST("")) "</EXPMETHODCALL>" TAIL,
	    CIM_ERR_NOT_SUPPORTED, "export method \"Foo\" is not supported");
	expect_export_error(HEAD CALL(PARAM(INST("")) PARAM(INST(""))) TAIL,
	    CIM_ERR_INVALID_PARAMETER, "2 parameters");
	expect_export_error(
	    HEAD CALL("") TAIL, CIM_ERR_INVALID_PARAMETER, "0 parameters");
	expect_export_error(HEAD CALL("<EXPPARAMVALUE NAME=\"Other\">" INST(
				"") "</EXPPARAMVALUE>") TAIL,
	    CIM_ERR_INVALID_PARAMETER, "unexpected parameter \"Other\"");
	expect_export_error(HEAD CALL("<EXPPARAMVALUE NAME=\"NewIndication\"/>")
				TAIL,
	    CIM_ERR_INVALID_PARAMETER, "NewIndication is not an INSTANCE");
	expect_export_error(HEAD CALL("<EXPPARAMVALUE NAME=\"NewIndication\">"
				      "<VALUE>x</VALUE></EXPPARAMVALUE>") TAIL,
	    CIM_ERR_INVALID_PARAMETER, "NewIndication is not an INSTANCE");
	/* Names compare case-insensitively. */
	m = expect_ok(HEAD "<EXPMETHODCALL NAME=\"EXPORTINDICATION\">"
			   "<EXPPARAMVALUE NAME=\"newindication\">" INST(
			       "") "</EXPPARAMVALUE></EXPMETHODCALL>" TAIL);
	ck_assert_str_eq(indication(m)->classname, "Test_Indication");
	cimxml_message_free(m);
	/* The content of a failing export is still checked. */
	expect_fail(HEAD
	    "<EXPMETHODCALL NAME=\"Foo\">" PARAM(INST(
		"<PROPERTY NAME=\"X\" "
		"TYPE=\"uint8\"><VALUE>999</VALUE></PROPERTY>")) "</"
								 "EXPMETHODCALL"
								 ">" TAIL,
	    CIMXML_NOT_VALID, "out of range for uint8");
	expect_fail(HEAD CALL("<EXPPARAMVALUE NAME=\"NewIndication\"><BOGUS/>"
			      "</EXPPARAMVALUE>") TAIL,
	    CIMXML_NOT_VALID, "unexpected element BOGUS in EXPPARAMVALUE");
}
END_TEST

START_TEST(push_interface)
{
	struct cimxml_parser *p;
	struct cimxml_message *m;
	const char *bad = "<CIM CIMVERSION=\"9\" DTDVERSION=\"2.0\">";

	/* After an error, feeding is a no-op returning the same status. */
	p = cimxml_parser_new(NULL);
	ck_assert_str_eq(cimxml_parser_reason(p), "");
	ck_assert_int_eq(
	    cimxml_parser_feed(p, bad, strlen(bad)), CIMXML_BAD_CIM_VERSION);
	ck_assert_int_eq(
	    cimxml_parser_feed(p, "garbage", 7), CIMXML_BAD_CIM_VERSION);
	ck_assert_int_eq(cimxml_parser_finish(p, &m), CIMXML_BAD_CIM_VERSION);
	ck_assert_ptr_null(m);
	ck_assert_ptr_nonnull(strstr(cimxml_parser_reason(p), "CIMVERSION"));
	cimxml_parser_free(p);
	/* Freeing an unfinished parser is fine. */
	p = cimxml_parser_new(NULL);
	ck_assert_int_eq(cimxml_parser_feed(p, HEAD, strlen(HEAD)), CIMXML_OK);
	cimxml_parser_free(p);
	cimxml_parser_free(NULL);
	cimxml_message_free(NULL);
	/* Status helpers. */
	ck_assert_ptr_null(cimxml_status_cimerror(CIMXML_OK));
	ck_assert_str_eq(cimxml_status_cimerror(CIMXML_NOT_WELL_FORMED),
	    "request-not-well-formed");
	ck_assert_str_eq(
	    cimxml_status_cimerror(CIMXML_NOT_VALID), "request-not-valid");
	ck_assert_str_eq(cimxml_status_cimerror(CIMXML_BAD_PROTOCOL_VERSION),
	    "unsupported-protocol-version");
	ck_assert_str_eq(cimxml_status_cimerror(CIMXML_BAD_CIM_VERSION),
	    "unsupported-cim-version");
	ck_assert_str_eq(cimxml_status_cimerror(CIMXML_BAD_DTD_VERSION),
	    "unsupported-dtd-version");
	ck_assert_int_eq(cimxml_status_http(CIMXML_OK), 200);
	ck_assert_int_eq(cimxml_status_http(CIMXML_NOT_WELL_FORMED), 400);
	ck_assert_int_eq(cimxml_status_http(CIMXML_NOT_VALID), 400);
	ck_assert_int_eq(cimxml_status_http(CIMXML_BAD_PROTOCOL_VERSION), 501);
	ck_assert_int_eq(cimxml_status_http(CIMXML_BAD_CIM_VERSION), 501);
	ck_assert_int_eq(cimxml_status_http(CIMXML_BAD_DTD_VERSION), 501);
}
END_TEST

/* Entity and character references in attribute values arrive resolved. */
START_TEST(attribute_references)
{
	struct cimxml_message *m;

	m = expect_ok(DECL "<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.4\">"
	    "<MESSAGE ID=\"m&amp;1&lt;&#65;&quot;\" PROTOCOLVERSION=\"1.4\">"
	    "<SIMPLEEXPREQ>" CALL(PARAM("<INSTANCE CLASSNAME=\"X_&#65;\">"
	    "<PROPERTY NAME=\"a&#x42;\" TYPE=\"string\"><VALUE>x&amp;y</VALUE>"
	    "</PROPERTY></INSTANCE>")) TAIL);
	ck_assert_str_eq(m->id, "m&1<A\"");
	ck_assert_str_eq(m->exports[0].indication->classname, "X_A");
	ck_assert_str_eq(m->exports[0].indication->props[0].name, "aB");
	ck_assert_str_eq(m->exports[0].indication->props[0].values[0].v.str,
	    "x&y");
	cimxml_message_free(m);
	/* An entity nobody declared is an error, with or without a DOCTYPE. */
	expect_fail(DOC("<PROPERTY NAME=\"a\" TYPE=\"string\"><VALUE>x&foo;"
	    "</VALUE></PROPERTY>"), CIMXML_NOT_WELL_FORMED, "foo");
	expect_fail("<!DOCTYPE CIM SYSTEM \"http://www.dmtf.org/cim/mapping/xml/"
	    "v2.0\">\n" HEAD_NODECL CALL(PARAM(INST("<PROPERTY NAME=\"a\" "
	    "TYPE=\"string\"><VALUE>x&foo;</VALUE></PROPERTY>"))) TAIL,
	    CIMXML_NOT_WELL_FORMED, "foo");
}
END_TEST

START_TEST(reason_is_one_line)
{
	struct cimxml_message *m;

	/* Control characters from the input never reach the reason. */
	expect_fail(DOC("<PROPERTY NAME=\"a&#10;b&#13;c\" TYPE=\"uint8\">"
			"<VALUE>1&#10;2</VALUE></PROPERTY>"),
	    CIMXML_NOT_VALID,
	    "property \"a?b?c\": value \"1?2\" is not a valid uint8");
	m = expect_ok(HEAD "<EXPMETHODCALL NAME=\"a&#10;b\">" PARAM(
	    INST("")) "</EXPMETHODCALL>" TAIL);
	ck_assert_int_eq(m->exports[0].cim_error, CIM_ERR_NOT_SUPPORTED);
	check_reason_shape(m->exports[0].error_description);
	cimxml_message_free(m);
}
END_TEST

/*
 * Each thread reuses its finished libxml2 contexts: whatever a parse left
 * behind (an error, a halt, a parse given up half way, a flood of names)
 * must not change the next parse's result or its reasons.
 */
START_TEST(context_reuse)
{
	static const char bad[] = DOC(
	    "<PROPERTY NAME=\"Src\" TYPE=\"string\" EmbeddedObject=\"instance\">"
	    "<VALUE><![CDATA[<INSTANCE CLASSNAME=\"F\">\n<PROPERTY NAME=\"N\" "
	    "TYPE=\"uint8\"><VALUE>256</VALUE></PROPERTY></INSTANCE>]]>"
	    "</VALUE></PROPERTY>\n<BOGUS/>\n");
	struct cimxml_message *want, *m;
	struct cimxml_parser *p;
	char *data, *flood, *want_reason, *reason;
	size_t len, i, k;
	int round;

	data = load("samples/inst-modification.xml", &len);
	ck_assert_int_eq(cimxml_parse(data, len, NULL, &want, &reason),
	    CIMXML_OK);
	ck_assert_int_eq(cimxml_parse(bad, strlen(bad), NULL, &m,
	    &want_reason), CIMXML_NOT_VALID);
	ck_assert_ptr_nonnull(strstr(want_reason,
	    "embedded instance: line 2: property \"N\": value \"256\""));
	/* One start tag with 2000 attribute names (dictionary, slots). */
	flood = malloc(2000 * 16 + 64);
	k = (size_t)sprintf(flood, "<CIM");
	for (i = 0; i < 2000; i++)
		k += (size_t)sprintf(flood + k, " a%zu=\"\"", i);
	strcpy(flood + k, ">");
	for (round = 0; round < 6; round++) {
		switch (round) {
		case 0: /* not well-formed: libxml2 halts */
			ck_assert_int_eq(cimxml_parse(MSGHEAD "<SIMPLEEXPREQ ",
			    strlen(MSGHEAD) + 14, NULL, &m, &reason),
			    CIMXML_NOT_WELL_FORMED);
			free(reason);
			break;
		case 1: /* given up half way, deep inside */
			p = cimxml_parser_new(NULL);
			ck_assert_int_eq(cimxml_parser_feed(p, data, len - 40),
			    CIMXML_OK);
			cimxml_parser_free(p);
			break;
		case 2: /* stopped by our own check */
			ck_assert_int_eq(cimxml_parse(bad, strlen(bad), NULL,
			    &m, &reason), CIMXML_NOT_VALID);
			free(reason);
			break;
		case 3: /* a flood of names */
			ck_assert_int_ne(cimxml_parse(flood, strlen(flood),
			    NULL, &m, &reason), CIMXML_OK);
			free(reason);
			break;
		case 4: /* nested parsers given up at once */
			p = cimxml_parser_new(NULL);
			cimxml_parser_free(p);
			p = cimxml_parser_new(NULL);
			cimxml_parser_feed(p, bad, 200);
			cimxml_parser_free(p);
			break;
		default: /* many in a row: more than are kept */
			for (i = 0; i < 20; i++) {
				ck_assert_int_eq(cimxml_parse(data, len, NULL,
				    &m, &reason), CIMXML_OK);
				cimxml_message_free(m);
			}
			break;
		}
		ck_assert_int_eq(cimxml_parse(data, len, NULL, &m, &reason),
		    CIMXML_OK);
		msg_eq(want, m);
		cimxml_message_free(m);
		ck_assert_int_eq(cimxml_parse(bad, strlen(bad), NULL, &m,
		    &reason), CIMXML_NOT_VALID);
		ck_assert_str_eq(reason, want_reason);
		free(reason);
	}
	cimxml_message_free(want);
	free(want_reason);
	free(flood);
	free(data);
}
END_TEST

static const char *const thread_docs[] = {
    "samples/alert-indication.xml",
    "samples/all-types.xml",
    "samples/inst-modification.xml",
    "cimxml/billion-laughs.xml",
};

struct thread_arg {
	char *data[4];
	size_t len[4];
	struct cimxml_message *want[4];
	int failures;
};

/* Parse every document many times, compare with the single-thread result. */
static void *
thread_main(void *arg)
{
	struct thread_arg *ta = arg;
	struct cimxml_message *m;
	char *reason;
	int i, d;

	for (i = 0; i < 200; i++) {
		d = i % 4;
		if (cimxml_parse(ta->data[d], ta->len[d], NULL, &m, &reason) !=
		    (ta->want[d] != NULL ? CIMXML_OK : CIMXML_NOT_WELL_FORMED))
			__atomic_add_fetch(&ta->failures, 1, __ATOMIC_RELAXED);
		else if (m != NULL &&
			 m->exports[0].indication->nprops !=
			     ta->want[d]->exports[0].indication->nprops)
			__atomic_add_fetch(&ta->failures, 1, __ATOMIC_RELAXED);
		cimxml_message_free(m);
		free(reason);
	}
	return NULL;
}

START_TEST(threads)
{
	struct thread_arg ta;
	pthread_t t[8];
	char *reason;
	int i;

	memset(&ta, 0, sizeof ta);
	for (i = 0; i < 4; i++) {
		ta.data[i] = load(thread_docs[i], &ta.len[i]);
		cimxml_parse(ta.data[i], ta.len[i], NULL, &ta.want[i], &reason);
		free(reason);
	}
	for (i = 0; i < 8; i++)
		ck_assert_int_eq(
		    pthread_create(&t[i], NULL, thread_main, &ta), 0);
	for (i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	ck_assert_int_eq(ta.failures, 0);
	for (i = 0; i < 4; i++) {
		cimxml_message_free(ta.want[i]);
		free(ta.data[i]);
	}
}
END_TEST

static Suite *
cimxml_suite(void)
{
	Suite *s = suite_create("cimxml");
	TCase *tc;

	tc = tcase_create("samples");
	tcase_add_test(tc, sample_alert);
	tcase_add_test(tc, sample_all_types);
	tcase_add_test(tc, sample_inst_modification);
	tcase_add_test(tc, sample_null_and_empty);
	suite_add_tcase(s, tc);

	tc = tcase_create("grammar");
	tcase_add_test(tc, fixture_references);
	tcase_add_test(tc, fixture_qualifiers);
	tcase_add_test(tc, fixture_embedded_class);
	tcase_add_test(tc, fixture_multi);
	tcase_add_test(tc, multi_one_and_empty);
	tcase_add_test(tc, good_values);
	tcase_add_test(tc, text_split);
	tcase_add_test(tc, export_errors);
	tcase_add_test(tc, push_interface);
	tcase_add_test(tc, threads);
	tcase_add_test(tc, context_reuse);
	suite_add_tcase(s, tc);

	tc = tcase_create("rejections");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, doctype);
	tcase_add_test(tc, truncated);
	tcase_add_test(tc, invalid_utf8);
	tcase_add_test(tc, encoding_decl);
	tcase_add_test(tc, embedding_depth);
	tcase_add_test(tc, embedded_bad);
	tcase_add_test(tc, xml_depth);
	tcase_add_test(tc, size_limits);
	tcase_add_test(tc, bad_values);
	tcase_add_test(tc, versions);
	tcase_add_test(tc, structure);
	tcase_add_test(tc, reason_is_one_line);
	tcase_add_test(tc, attribute_references);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(cimxml_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
