/*
 * Unit tests for export.c: every DSP0200 decision taken before the body
 * (method, framing, Content-Type and charset, CIM headers, M-POST
 * prefixes, strict mode, size) and after it (header/body agreement,
 * export-level errors, the exact response bodies). Messages are built by
 * hand so that these tests do not depend on the parser.
 */
#include "autoconf.h"

#include <check.h>

#include "testutil.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "export.h"

#define HDR_MAX 16

/* A request under construction. */
struct treq {
	struct export_header h[HDR_MAX];
	size_t n;
	struct export_request req;
	struct export_info info;
	struct export_answer ans;
};

/* A POST with the three usual CIM headers and the given Content-Type. */
static void
treq_init(struct treq *t, const char *method, const char *ct)
{
	memset(t, 0, sizeof *t);
	t->req.method = method;
	t->req.headers = t->h;
	t->req.max_body = 4096;
	if (ct != NULL) {
		t->h[t->n].name = "Content-Type";
		t->h[t->n++].value = ct;
	}
	t->h[t->n].name = "Content-Length";
	t->h[t->n++].value = "100";
	t->req.nheaders = t->n;
}

static void
treq_add(struct treq *t, const char *name, const char *value)
{
	ck_assert_uint_lt(t->n, HDR_MAX);
	t->h[t->n].name = name;
	t->h[t->n++].value = value;
	t->req.nheaders = t->n;
}

/* Remove every header called name. */
static void
treq_del(struct treq *t, const char *name)
{
	size_t i, o = 0;

	for (i = 0; i < t->n; i++) {
		if (strcasecmp(t->h[i].name, name) != 0)
			t->h[o++] = t->h[i];
	}
	t->n = t->req.nheaders = o;
}

/* Add the three CIM headers of a well-behaved sender. */
static void
treq_cim(struct treq *t)
{
	treq_add(t, "CIMExport", "MethodRequest");
	treq_add(t, "CIMExportMethod", "ExportIndication");
	treq_add(t, "CIMProtocolVersion", "1.0");
}

/* Run the pre-body check; returns its result. */
static int
treq_check(struct treq *t)
{
	export_answer_free(&t->ans);
	export_info_clear(&t->info);
	return export_check_request(&t->req, &t->info, &t->ans);
}

static void
treq_free(struct treq *t)
{
	export_answer_free(&t->ans);
	export_info_clear(&t->info);
}

/* Expect a rejection with status and CIMError (NULL: none). */
static void
expect_reject(struct treq *t, int status, const char *cimerror)
{
	ck_assert_int_eq(treq_check(t), -1);
	ck_assert_int_eq(t->ans.status, status);
	if (cimerror == NULL)
		ck_assert_ptr_null(t->ans.cimerror);
	else
		ck_assert_str_eq(t->ans.cimerror, cimerror);
	ck_assert_str_ne(t->ans.details, "");
	ck_assert_ptr_nonnull(t->ans.body);
	ck_assert_uint_eq(strlen(t->ans.body), t->ans.bodylen);
	ck_assert_str_eq(t->ans.content_type, "text/plain; charset=utf-8");
	/* The body is the details and a newline. */
	ck_assert_uint_eq(t->ans.bodylen, strlen(t->ans.details) + 1);
	ck_assert(
	    strncmp(t->ans.body, t->ans.details, t->ans.bodylen - 1) == 0);
	ck_assert_int_eq(t->ans.body[t->ans.bodylen - 1], '\n');
}

static void
expect_ok(struct treq *t)
{
	ck_assert_msg(treq_check(t) == 0, "rejected: %d %s", t->ans.status,
	    t->ans.details);
}

/* A message with n exports named `method`, all fine. */
struct tmsg {
	struct cimxml_message msg;
	struct cimxml_export ex[4];
};

static void
tmsg_init(struct tmsg *m, const char *id, size_t n, bool multi)
{
	size_t i;

	memset(m, 0, sizeof *m);
	m->msg.id = id;
	m->msg.protocol_version = "1.4";
	m->msg.cim_version = "2.0";
	m->msg.dtd_version = "2.4";
	m->msg.multi = multi;
	m->msg.nexports = n;
	m->msg.exports = m->ex;
	for (i = 0; i < n; i++)
		m->ex[i].method = "ExportIndication";
}

#define SUCCESS_1001                                                           \
	"<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.4\">"                          \
	"<MESSAGE ID=\"1001\" PROTOCOLVERSION=\"1.4\"><SIMPLEEXPRSP>"          \
	"<EXPMETHODRESPONSE NAME=\"ExportIndication\"/></SIMPLEEXPRSP>"        \
	"</MESSAGE></CIM>"

/* More header lines than max_headers: 431 and close. */
START_TEST(test_max_headers)
{
	struct treq t;

	treq_init(&t, "POST", "application/xml");
	treq_cim(&t);
	t.req.max_headers = 5;
	expect_ok(&t);
	treq_add(&t, "X-One", "1");
	expect_reject(&t, 431, NULL);
	ck_assert(t.ans.close);
	ck_assert_str_eq(t.ans.details,
	    "6 request headers, more than max_headers (5)");
	t.req.max_headers = 0;
	expect_ok(&t);
	treq_free(&t);
}
END_TEST

START_TEST(test_method)
{
	static const char *const bad[] = {
	    "GET", "PUT", "HEAD", "post", "M-GET", "OPTIONS"};
	struct treq t;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		treq_init(&t, bad[i], "application/xml");
		expect_reject(&t, 405, NULL);
		ck_assert_str_eq(t.ans.allow, "POST, M-POST");
		treq_free(&t);
	}
	treq_init(&t, "POST", "application/xml");
	expect_ok(&t);
	ck_assert_ptr_null(t.ans.allow);
	treq_free(&t);
}
END_TEST

START_TEST(test_content_type_ok)
{
	static const char *const good[] = {
	    "application/xml; charset=\"utf-8\"",
	    "text/xml;charset=UTF-8",
	    "application/xml",
	    "text/xml",
	    "Application/XML",
	    "application/xml;charset=utf-8",
	    "application/xml ; charset = \"UTF-8\" ",
	    "application/xml; foo=bar; charset=utf-8",
	    "application/xml; foo=\"a;b\\\"c\"; charset=utf-8",
	    "application/xml;",
	};
	struct treq t;
	size_t i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		treq_init(&t, "POST", good[i]);
		ck_assert_msg(
		    treq_check(&t) == 0, "%s: %s", good[i], t.ans.details);
		treq_free(&t);
	}
}
END_TEST

START_TEST(test_content_type_bad)
{
	static const char *const bad[] = {
	    "text/plain",
	    "application/json",
	    "application/xml; charset=iso-8859-1",
	    "text/xml; charset=\"us-ascii\"",
	    "application/xml; charset=utf-8; charset=utf-8",
	    "application/xmlfoo",
	    "application/soap+xml",
	    "xml",
	    "",
	    "application/xml; charset",
	    "application/xml; charset=\"utf-8",
	    "application/xml charset=utf-8",
	};
	struct treq t;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		treq_init(&t, "POST", bad[i]);
		ck_assert_msg(treq_check(&t) == -1, "accepted %s", bad[i]);
		ck_assert_int_eq(t.ans.status, 400);
		ck_assert_str_eq(t.ans.cimerror, "header-mismatch");
		treq_free(&t);
	}

	/* Missing, and duplicate. */
	treq_init(&t, "POST", NULL);
	expect_reject(&t, 400, "header-mismatch");
	ck_assert(!t.ans.close);
	treq_free(&t);
	treq_init(&t, "POST", "application/xml");
	treq_add(&t, "content-type", "application/xml");
	expect_reject(&t, 400, "header-mismatch");
	treq_free(&t);
}
END_TEST

START_TEST(test_cimexport)
{
	struct treq t;

	treq_init(&t, "POST", "application/xml");
	treq_add(&t, "CIMExport", "MethodResponse");
	expect_reject(&t, 400, "unsupported-operation");
	treq_free(&t);

	treq_init(&t, "POST", "application/xml");
	treq_add(&t, "CIMExport", "");
	expect_reject(&t, 400, "unsupported-operation");
	treq_free(&t);

	treq_init(&t, "POST", "application/xml");
	treq_add(&t, "cimexport", " methodrequest ");
	expect_ok(&t);
	treq_free(&t);

	/* Duplicate CIM header. */
	treq_init(&t, "POST", "application/xml");
	treq_add(&t, "CIMExport", "MethodRequest");
	treq_add(&t, "CIMExport", "MethodRequest");
	expect_reject(&t, 400, "header-mismatch");
	treq_free(&t);
}
END_TEST

START_TEST(test_liberal_and_strict)
{
	struct treq t;
	static const char *const need[] = {
	    "CIMExport", "CIMExportMethod", "CIMProtocolVersion"};
	size_t i;

	/* Only a Content-Type, as pywbem's examples post. */
	treq_init(&t, "POST", "application/xml");
	expect_ok(&t);
	ck_assert_ptr_null(t.info.export_method);
	ck_assert_int_eq(t.info.protocol_major, -1);
	ck_assert(!t.info.batch);
	ck_assert(t.info.has_length);
	ck_assert_uint_eq(t.info.content_length, 100);
	treq_free(&t);

	treq_init(&t, "POST", "application/xml");
	t.req.strict = true;
	expect_reject(&t, 400, "header-mismatch");
	treq_free(&t);

	for (i = 0; i < 3; i++) {
		treq_init(&t, "POST", "application/xml");
		t.req.strict = true;
		treq_cim(&t);
		expect_ok(&t);
		ck_assert_str_eq(t.info.export_method, "ExportIndication");
		ck_assert_int_eq(t.info.protocol_major, 1);
		treq_del(&t, need[i]);
		expect_reject(&t, 400, "header-mismatch");
		ck_assert_ptr_nonnull(strstr(t.ans.details, need[i]));
		treq_free(&t);
	}

	/* A batch needs no CIMExportMethod. */
	treq_init(&t, "POST", "application/xml");
	t.req.strict = true;
	treq_cim(&t);
	treq_del(&t, "CIMExportMethod");
	treq_add(&t, "CIMExportBatch", "");
	expect_ok(&t);
	ck_assert(t.info.batch);
	treq_free(&t);
}
END_TEST

START_TEST(test_protocol_version_header)
{
	static const char *const bad[] = {
	    "x", "1.", ".4", "1.4a", "", "1-0", "v1"};
	struct treq t;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		treq_init(&t, "POST", "application/xml");
		treq_add(&t, "CIMProtocolVersion", bad[i]);
		ck_assert_msg(treq_check(&t) == -1, "accepted %s", bad[i]);
		ck_assert_int_eq(t.ans.status, 400);
		ck_assert_str_eq(t.ans.cimerror, "header-mismatch");
		treq_free(&t);
	}
	treq_init(&t, "POST", "application/xml");
	treq_add(&t, "CIMProtocolVersion", " 2.0 ");
	expect_ok(&t);
	ck_assert_int_eq(t.info.protocol_major, 2);
	treq_free(&t);
}
END_TEST

START_TEST(test_framing)
{
	struct treq t;

	/* Leading zeros, as OpenPegasus sends. */
	treq_init(&t, "POST", "application/xml");
	treq_del(&t, "Content-Length");
	treq_add(&t, "Content-Length", "0001645");
	expect_ok(&t);
	ck_assert_uint_eq(t.info.content_length, 1645);
	treq_free(&t);

	treq_init(&t, "POST", "application/xml");
	treq_add(&t, "Content-Length", "100");
	expect_reject(&t, 400, NULL);
	ck_assert_ptr_nonnull(strstr(t.ans.details, "duplicate"));
	ck_assert(t.ans.close);
	treq_free(&t);

	treq_init(&t, "POST", "application/xml");
	treq_del(&t, "Content-Length");
	treq_add(&t, "Content-Length", "12a");
	expect_reject(&t, 400, NULL);
	treq_free(&t);

	treq_init(&t, "POST", "application/xml");
	treq_del(&t, "Content-Length");
	treq_add(&t, "Content-Length", "-1");
	expect_reject(&t, 400, NULL);
	treq_free(&t);

	treq_init(&t, "POST", "application/xml");
	treq_del(&t, "Content-Length");
	treq_add(&t, "Transfer-Encoding", "Chunked");
	expect_ok(&t);
	ck_assert(t.info.chunked);
	ck_assert(!t.info.has_length);
	treq_free(&t);

	treq_init(&t, "POST", "application/xml");
	treq_del(&t, "Content-Length");
	treq_add(&t, "Transfer-Encoding", "gzip, chunked");
	expect_reject(&t, 501, NULL);
	ck_assert(t.ans.close);
	treq_free(&t);

	treq_init(&t, "POST", "application/xml");
	treq_add(&t, "Transfer-Encoding", "chunked");
	expect_reject(&t, 400, NULL);
	treq_free(&t);
}
END_TEST

START_TEST(test_too_large)
{
	struct treq t;

	treq_init(&t, "POST", "application/xml");
	treq_del(&t, "Content-Length");
	treq_add(&t, "Content-Length", "4097");
	expect_reject(&t, 413, NULL);
	ck_assert(t.ans.close);
	treq_free(&t);

	treq_init(&t, "POST", "application/xml");
	treq_del(&t, "Content-Length");
	treq_add(&t, "Content-Length", "99999999999999999999999999");
	expect_reject(&t, 413, NULL);
	treq_free(&t);

	treq_init(&t, "POST", "application/xml");
	treq_del(&t, "Content-Length");
	treq_add(&t, "Content-Length", "4096");
	expect_ok(&t);
	treq_free(&t);
}
END_TEST

START_TEST(test_mpost)
{
	struct treq t;
	struct tmsg m;

	treq_init(&t, "M-POST", "application/xml; charset=\"utf-8\"");
	treq_add(
	    &t, "Man", "http://www.dmtf.org/cim/mapping/http/v1.0 ; ns=73");
	treq_add(&t, "73-CIMExport", "MethodRequest");
	treq_add(&t, "73-CIMExportMethod", "ExportIndication");
	treq_add(&t, "73-CIMProtocolVersion", "1.0");
	t.req.strict = true;
	expect_ok(&t);
	ck_assert_str_eq(t.info.prefix, "73-");
	ck_assert_str_eq(t.info.export_method, "ExportIndication");
	ck_assert_int_eq(t.info.protocol_major, 1);
	tmsg_init(&m, "1", 1, false);
	ck_assert_int_eq(
	    export_check_message(&t.info, &m.msg, &t.ans), EXPORT_DISPATCH);
	treq_free(&t);

	/* The prefixed header is the one that counts. */
	treq_init(&t, "M-POST", "application/xml");
	treq_add(
	    &t, "Man", "\"http://www.dmtf.org/cim/mapping/http/v1.0\";ns=12");
	treq_add(&t, "12-CIMExport", "MethodResponse");
	expect_reject(&t, 400, "unsupported-operation");
	treq_free(&t);

	/* Several declarations in one Man header. */
	treq_init(&t, "M-POST", "application/xml");
	treq_add(&t, "Man",
	    "http://example.com/other; ns=11, "
	    "http://www.dmtf.org/cim/mapping/http/v1.0; ns=42");
	treq_add(&t, "42-CIMExportMethod", "ExportIndication");
	expect_ok(&t);
	ck_assert_str_eq(t.info.prefix, "42-");
	ck_assert_str_eq(t.info.export_method, "ExportIndication");
	treq_free(&t);

	/* No Man header: liberal, the prefix sent is used. */
	treq_init(&t, "M-POST", "application/xml");
	treq_add(&t, "55-CIMExport", "MethodRequest");
	treq_add(&t, "55-CIMExportMethod", "ExportIndication");
	expect_ok(&t);
	ck_assert_str_eq(t.info.prefix, "55-");
	ck_assert_str_eq(t.info.export_method, "ExportIndication");
	treq_free(&t);

	/* No Man header and no prefixed headers. */
	treq_init(&t, "M-POST", "application/xml");
	expect_reject(&t, 400, "header-mismatch");
	treq_free(&t);

	/* Strict M-POST whose prefixed headers do not match the declaration. */
	treq_init(&t, "M-POST", "application/xml");
	t.req.strict = true;
	treq_add(&t, "Man", "http://www.dmtf.org/cim/mapping/http/v1.0; ns=73");
	treq_add(&t, "74-CIMExport", "MethodRequest");
	expect_reject(&t, 400, "header-mismatch");
	treq_free(&t);
}
END_TEST

START_TEST(test_export_method_agreement)
{
	struct treq t;
	struct tmsg m;

	treq_init(&t, "POST", "application/xml");
	treq_cim(&t);
	expect_ok(&t);
	tmsg_init(&m, "1", 1, false);
	m.ex[0].method = "exportindication";
	ck_assert_int_eq(
	    export_check_message(&t.info, &m.msg, &t.ans), EXPORT_DISPATCH);
	ck_assert_int_eq(t.ans.status, 0);
	m.ex[0].method = "ExportSomethingElse";
	ck_assert_int_eq(
	    export_check_message(&t.info, &m.msg, &t.ans), EXPORT_ANSWERED);
	ck_assert_int_eq(t.ans.status, 400);
	ck_assert_str_eq(t.ans.cimerror, "header-mismatch");
	treq_free(&t);
}
END_TEST

START_TEST(test_protocol_version_agreement)
{
	struct treq t;
	struct tmsg m;

	/* SFCB sends 1.0 with a 1.4 body. */
	treq_init(&t, "POST", "application/xml");
	treq_add(&t, "CIMProtocolVersion", "1.0");
	expect_ok(&t);
	tmsg_init(&m, "1", 1, false);
	ck_assert_int_eq(
	    export_check_message(&t.info, &m.msg, &t.ans), EXPORT_DISPATCH);
	treq_free(&t);

	treq_init(&t, "POST", "application/xml");
	treq_add(&t, "CIMProtocolVersion", "2.0");
	expect_ok(&t);
	ck_assert_int_eq(
	    export_check_message(&t.info, &m.msg, &t.ans), EXPORT_ANSWERED);
	ck_assert_int_eq(t.ans.status, 400);
	ck_assert_str_eq(t.ans.cimerror, "header-mismatch");
	treq_free(&t);
}
END_TEST

START_TEST(test_batch_agreement)
{
	struct treq t;
	struct tmsg m;

	/* CIMExportBatch with a SIMPLEEXPREQ. */
	treq_init(&t, "POST", "application/xml");
	treq_add(&t, "CIMExportBatch", "");
	expect_ok(&t);
	tmsg_init(&m, "1", 1, false);
	ck_assert_int_eq(
	    export_check_message(&t.info, &m.msg, &t.ans), EXPORT_ANSWERED);
	ck_assert_int_eq(t.ans.status, 400);
	ck_assert_str_eq(t.ans.cimerror, "header-mismatch");
	treq_free(&t);

	/* MULTIEXPREQ without it. */
	treq_init(&t, "POST", "application/xml");
	expect_ok(&t);
	tmsg_init(&m, "1", 2, true);
	ck_assert_int_eq(
	    export_check_message(&t.info, &m.msg, &t.ans), EXPORT_ANSWERED);
	ck_assert_int_eq(t.ans.status, 400);
	ck_assert_str_eq(t.ans.cimerror, "header-mismatch");
	treq_free(&t);

	/* Both: fine. */
	treq_init(&t, "POST", "application/xml");
	treq_add(&t, "CIMExportBatch", "");
	expect_ok(&t);
	ck_assert_int_eq(
	    export_check_message(&t.info, &m.msg, &t.ans), EXPORT_DISPATCH);
	treq_free(&t);
}
END_TEST

START_TEST(test_success_body)
{
	struct export_answer ans = {0};
	struct tmsg m;

	tmsg_init(&m, "1001", 1, false);
	export_answer_success(&ans, &m.msg);
	ck_assert_int_eq(ans.status, 200);
	ck_assert_ptr_null(ans.cimerror);
	ck_assert(ans.cimexport);
	ck_assert(!ans.method_error);
	ck_assert_str_eq(
	    ans.content_type, "application/xml; charset=\"utf-8\"");
	ck_assert_str_eq(ans.body, SUCCESS_1001);
	ck_assert_uint_eq(ans.bodylen, strlen(SUCCESS_1001));

	/* The ID is escaped; the method name is the canonical one. */
	tmsg_init(&m, "a&b<\"'>", 1, false);
	m.ex[0].method = "EXPORTINDICATION";
	export_answer_success(&ans, &m.msg);
	ck_assert_str_eq(ans.body,
	    "<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.4\">"
	    "<MESSAGE ID=\"a&amp;b&lt;&quot;&apos;&gt;\" "
	    "PROTOCOLVERSION=\"1.4\">"
	    "<SIMPLEEXPRSP><EXPMETHODRESPONSE NAME=\"ExportIndication\"/>"
	    "</SIMPLEEXPRSP></MESSAGE></CIM>");
	export_answer_free(&ans);
}
END_TEST

START_TEST(test_multi_success)
{
	struct export_answer ans = {0};
	struct tmsg m;

	tmsg_init(&m, "7", 2, true);
	export_answer_success(&ans, &m.msg);
	ck_assert_int_eq(ans.status, 200);
	ck_assert_str_eq(ans.body,
	    "<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.4\">"
	    "<MESSAGE ID=\"7\" PROTOCOLVERSION=\"1.4\"><MULTIEXPRSP>"
	    "<SIMPLEEXPRSP><EXPMETHODRESPONSE NAME=\"ExportIndication\"/>"
	    "</SIMPLEEXPRSP>"
	    "<SIMPLEEXPRSP><EXPMETHODRESPONSE NAME=\"ExportIndication\"/>"
	    "</SIMPLEEXPRSP>"
	    "</MULTIEXPRSP></MESSAGE></CIM>");
	export_answer_free(&ans);
}
END_TEST

START_TEST(test_method_errors)
{
	struct treq t;
	struct tmsg m;

	/* Unknown export method: 200 with ERROR 7. */
	treq_init(&t, "POST", "application/xml");
	expect_ok(&t);
	tmsg_init(&m, "9", 1, false);
	m.ex[0].method = "ExportFoo";
	m.ex[0].cim_error = CIM_ERR_NOT_SUPPORTED;
	m.ex[0].error_description = "unknown export method ExportFoo";
	ck_assert_int_eq(
	    export_check_message(&t.info, &m.msg, &t.ans), EXPORT_ANSWERED);
	ck_assert_int_eq(t.ans.status, 200);
	ck_assert(t.ans.method_error);
	ck_assert(t.ans.cimexport);
	ck_assert_ptr_null(t.ans.cimerror);
	ck_assert_str_eq(t.ans.details, "unknown export method ExportFoo");
	ck_assert_str_eq(t.ans.body,
	    "<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.4\">"
	    "<MESSAGE ID=\"9\" PROTOCOLVERSION=\"1.4\"><SIMPLEEXPRSP>"
	    "<EXPMETHODRESPONSE NAME=\"ExportFoo\"><ERROR CODE=\"7\" "
	    "DESCRIPTION=\"unknown export method ExportFoo\"/>"
	    "</EXPMETHODRESPONSE></SIMPLEEXPRSP></MESSAGE></CIM>");

	/* Bad parameters: 4, description escaped. */
	tmsg_init(&m, "10", 1, false);
	m.ex[0].cim_error = CIM_ERR_INVALID_PARAMETER;
	m.ex[0].error_description = "expected <NewIndication> & nothing else";
	ck_assert_int_eq(
	    export_check_message(&t.info, &m.msg, &t.ans), EXPORT_ANSWERED);
	ck_assert_int_eq(t.ans.status, 200);
	ck_assert_ptr_nonnull(strstr(t.ans.body,
	    "<ERROR CODE=\"4\" "
	    "DESCRIPTION=\"expected &lt;NewIndication&gt; &amp; nothing "
	    "else\"/>"));
	treq_free(&t);
}
END_TEST

START_TEST(test_multi_all_or_nothing)
{
	struct treq t;
	struct tmsg m;

	treq_init(&t, "POST", "application/xml");
	treq_add(&t, "CIMExportBatch", "");
	expect_ok(&t);
	tmsg_init(&m, "11", 3, true);
	m.ex[1].cim_error = CIM_ERR_INVALID_PARAMETER;
	m.ex[1].error_description = "no NewIndication";
	ck_assert_int_eq(
	    export_check_message(&t.info, &m.msg, &t.ans), EXPORT_ANSWERED);
	ck_assert_int_eq(t.ans.status, 200);
	ck_assert(t.ans.method_error);
	ck_assert_str_eq(t.ans.details, "request 2: no NewIndication");
	ck_assert_str_eq(t.ans.body,
	    "<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.4\">"
	    "<MESSAGE ID=\"11\" PROTOCOLVERSION=\"1.4\"><MULTIEXPRSP>"
	    "<SIMPLEEXPRSP><EXPMETHODRESPONSE NAME=\"ExportIndication\">"
	    "<ERROR CODE=\"1\" DESCRIPTION=\"batch rejected: request 2 "
	    "failed\"/></EXPMETHODRESPONSE></SIMPLEEXPRSP>"
	    "<SIMPLEEXPRSP><EXPMETHODRESPONSE NAME=\"ExportIndication\">"
	    "<ERROR CODE=\"4\" DESCRIPTION=\"no NewIndication\"/>"
	    "</EXPMETHODRESPONSE></SIMPLEEXPRSP>"
	    "<SIMPLEEXPRSP><EXPMETHODRESPONSE NAME=\"ExportIndication\">"
	    "<ERROR CODE=\"1\" DESCRIPTION=\"batch rejected: request 2 "
	    "failed\"/></EXPMETHODRESPONSE></SIMPLEEXPRSP>"
	    "</MULTIEXPRSP></MESSAGE></CIM>");
	treq_free(&t);
}
END_TEST

START_TEST(test_other_answers)
{
	struct export_answer ans = {0};

	export_answer_too_large(&ans, 4096);
	ck_assert_int_eq(ans.status, 413);
	ck_assert_ptr_null(ans.cimerror);
	ck_assert_ptr_nonnull(strstr(ans.body, "4096"));

	export_answer_unavailable(&ans, "a sink queue is full; retry later");
	ck_assert_int_eq(ans.status, 503);
	ck_assert_uint_gt(ans.retry_after, 0);
	ck_assert_str_eq(ans.details, "a sink queue is full; retry later");
	ck_assert_str_eq(ans.body, "a sink queue is full; retry later\n");

	export_answer_parse_error(&ans, CIMXML_NOT_WELL_FORMED, "line 3: oops");
	ck_assert_int_eq(ans.status, 400);
	ck_assert_str_eq(ans.cimerror, "request-not-well-formed");
	export_answer_parse_error(&ans, CIMXML_NOT_VALID, "bad uint16");
	ck_assert_int_eq(ans.status, 400);
	ck_assert_str_eq(ans.cimerror, "request-not-valid");
	export_answer_parse_error(&ans, CIMXML_BAD_PROTOCOL_VERSION, "2.0");
	ck_assert_int_eq(ans.status, 501);
	ck_assert_str_eq(ans.cimerror, "unsupported-protocol-version");
	export_answer_parse_error(&ans, CIMXML_BAD_CIM_VERSION, "3.0");
	ck_assert_str_eq(ans.cimerror, "unsupported-cim-version");
	export_answer_parse_error(&ans, CIMXML_BAD_DTD_VERSION, "3.0");
	ck_assert_str_eq(ans.cimerror, "unsupported-dtd-version");
	export_answer_free(&ans);
}
END_TEST

START_TEST(test_details_sanitized)
{
	char out[EXPORT_DETAILS_MAX + 1];
	char big[600];
	struct export_answer ans = {0};
	size_t i;

	export_sanitize_details(out, "line one\r\nline\ttwo\x01\x7f!");
	ck_assert_str_eq(out, "line one line two!");

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	export_sanitize_details(out, big);
	ck_assert_uint_eq(strlen(out), EXPORT_DETAILS_MAX);

	/* A multibyte character is never cut. */
	memset(big, 'y', EXPORT_DETAILS_MAX - 1);
	strcpy(big + EXPORT_DETAILS_MAX - 1, "\xc3\xa9zz");
	export_sanitize_details(out, big);
	ck_assert_uint_eq(strlen(out), EXPORT_DETAILS_MAX - 1);
	strcpy(big + EXPORT_DETAILS_MAX - 2, "\xc3\xa9zz");
	export_sanitize_details(out, big);
	ck_assert_uint_eq(strlen(out), EXPORT_DETAILS_MAX);
	ck_assert_str_eq(out + EXPORT_DETAILS_MAX - 2, "\xc3\xa9");

	/* A bad lead byte never takes a CR or LF along (found by fuzz_http:
	 * "\xff\rth" once copied the CR as a continuation byte). */
	export_sanitize_details(out, "Ho\xff\rth@ 0\r\nX-Injected: 1");
	ck_assert_str_eq(out, "Ho th@ 0 X-Injected: 1");
	export_sanitize_details(out, "a\xe2\x82\nb \xf0\x9f\x98\x80 \x80\xc0\xaf\xf8" "c");
	ck_assert_str_eq(out, "a b \xf0\x9f\x98\x80 c");

	/* Through an answer: the header value is one short line. */
	for (i = 0; i < 300; i++)
		big[i] = (i % 10 == 0) ? '\n' : 'z';
	big[300] = '\0';
	export_answer_error(&ans, 400, "request-not-valid", "bad: %s", big);
	ck_assert_uint_le(strlen(ans.details), EXPORT_DETAILS_MAX);
	ck_assert_ptr_null(strchr(ans.details, '\n'));
	ck_assert_ptr_null(strchr(ans.details, '\r'));
	export_answer_free(&ans);

	/* A method error description too. */
	{
		struct treq t;
		struct tmsg m;

		treq_init(&t, "POST", "application/xml");
		expect_ok(&t);
		tmsg_init(&m, "1", 1, false);
		m.ex[0].cim_error = CIM_ERR_NOT_SUPPORTED;
		m.ex[0].error_description = "a\r\nb";
		ck_assert_int_eq(export_check_message(&t.info, &m.msg, &t.ans),
		    EXPORT_ANSWERED);
		ck_assert_str_eq(t.ans.details, "a b");
		treq_free(&t);
	}
}
END_TEST

static Suite *
export_suite(void)
{
	Suite *s = suite_create("export");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_method);
	tcase_add_test(tc, test_max_headers);
	tcase_add_test(tc, test_content_type_ok);
	tcase_add_test(tc, test_content_type_bad);
	tcase_add_test(tc, test_cimexport);
	tcase_add_test(tc, test_liberal_and_strict);
	tcase_add_test(tc, test_protocol_version_header);
	tcase_add_test(tc, test_framing);
	tcase_add_test(tc, test_too_large);
	tcase_add_test(tc, test_mpost);
	tcase_add_test(tc, test_export_method_agreement);
	tcase_add_test(tc, test_protocol_version_agreement);
	tcase_add_test(tc, test_batch_agreement);
	tcase_add_test(tc, test_success_body);
	tcase_add_test(tc, test_multi_success);
	tcase_add_test(tc, test_method_errors);
	tcase_add_test(tc, test_multi_all_or_nothing);
	tcase_add_test(tc, test_other_answers);
	tcase_add_test(tc, test_details_sanitized);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(export_suite());
}
