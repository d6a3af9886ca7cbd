/*
 * Black-box tests of the listener: the real cimlistend on 127.0.0.1, spoken
 * to with libcurl and raw sockets, its file sink read back and parsed with
 * json-c (which keeps 64-bit integers exact). Covers the samples with SFCB-
 * and OpenPegasus-style requests, every DSP0200 table row this build
 * implements, malformed input, load over keep-alive connections, SIGUSR1
 * reopen and SIGTERM drain.
 */
#include "autoconf.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <curl/curl.h>

#include "testutil.h"

/* ---- expectations on a record's JSON ---- */

static json_object *
prop(json_object *rec, const char *name)
{
	json_object *props, *p;

	ck_assert_msg(json_object_object_get_ex(rec, "properties", &props),
	    "record without properties");
	ck_assert_msg(json_object_object_get_ex(props, name, &p),
	    "property %s missing", name);
	return p;
}

/* Check type and array-ness of a property object; return its value. */
static json_object *
pval(json_object *p, const char *name, const char *type, bool array)
{
	json_object *t, *a, *v;

	ck_assert_msg(json_object_object_get_ex(p, "type", &t), "%s: no type", name);
	ck_assert_msg(strcmp(json_object_get_string(t), type) == 0,
	    "%s: type %s, want %s", name, json_object_get_string(t), type);
	if (array) {
		ck_assert_msg(json_object_object_get_ex(p, "array", &a) &&
		    json_object_get_boolean(a), "%s: not an array", name);
	} else
		ck_assert_msg(!json_object_object_get_ex(p, "array", &a),
		    "%s: scalar with an array key", name);
	ck_assert_msg(json_object_object_get_ex(p, "value", &v), "%s: no value",
	    name);
	return v;
}

static void
expect_str(json_object *rec, const char *name, const char *type,
    const char *want)
{
	json_object *v = pval(prop(rec, name), name, type, false);

	ck_assert_msg(json_object_is_type(v, json_type_string),
	    "%s: not a string", name);
	ck_assert_str_eq(json_object_get_string(v), want);
}

static void
expect_int(json_object *rec, const char *name, const char *type, int64_t want)
{
	json_object *v = pval(prop(rec, name), name, type, false);

	ck_assert_msg(json_object_is_type(v, json_type_int), "%s: not an integer",
	    name);
	ck_assert_msg(json_object_get_int64(v) == want, "%s: %lld, want %lld",
	    name, (long long)json_object_get_int64(v), (long long)want);
}

static void
expect_null(json_object *rec, const char *name, const char *type, bool array)
{
	json_object *v = pval(prop(rec, name), name, type, array);

	ck_assert_msg(v == NULL, "%s: not null", name);
}

/* The record envelope: version, seq, time, source, message ID, class. */
static void
expect_envelope(json_object *rec, const char *id, const char *cls,
    const char *path)
{
	static const char *const order[] = { "v", "seq", "time", "source",
		"message_id", "class", "filters", "properties" };
	json_object *v;
	size_t i = 0;
	const char *t;

	json_object_object_foreach(rec, key, val) {
		(void)val;
		ck_assert_msg(i < 8 && strcmp(key, order[i]) == 0,
		    "key %zu is %s", i, key);
		i++;
	}
	ck_assert_uint_eq(i, 8);
	ck_assert_int_eq(json_object_get_int(tu_jget(rec, "v")), 1);
	v = tu_jget(rec, "seq");
	ck_assert(json_object_is_type(v, json_type_int));
	ck_assert_int_gt(json_object_get_int64(v), 0);
	t = json_object_get_string(tu_jget(rec, "time"));
	ck_assert_uint_eq(strlen(t), 27);
	ck_assert(t[4] == '-' && t[10] == 'T' && t[19] == '.' && t[26] == 'Z');
	ck_assert_str_eq(json_object_get_string(tu_jget(rec, "source.addr")),
	    "127.0.0.1");
	ck_assert_int_gt(json_object_get_int(tu_jget(rec, "source.port")), 0);
	ck_assert(json_object_is_type(tu_jget(rec, "source.tls"),
	    json_type_boolean));
	ck_assert(!json_object_get_boolean(tu_jget(rec, "source.tls")));
	ck_assert(json_object_object_get_ex(tu_jget(rec, "source"), "user", &v));
	ck_assert_ptr_null(v);
	ck_assert_str_eq(json_object_get_string(tu_jget(rec, "source.path")),
	    path);
	ck_assert_str_eq(json_object_get_string(tu_jget(rec, "message_id")), id);
	ck_assert_str_eq(json_object_get_string(tu_jget(rec, "class")), cls);
	v = tu_jget(rec, "filters");
	ck_assert(json_object_is_type(v, json_type_array));
	ck_assert_uint_eq(json_object_array_length(v), 1);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 0)),
	    "all");
}

static size_t
nprops(json_object *rec)
{
	return (size_t)json_object_object_length(tu_jget(rec, "properties"));
}

static void
expect_alert(json_object *rec, const char *path)
{
	json_object *v;

	expect_envelope(rec, "1001", "CIM_AlertIndication", path);
	ck_assert_uint_eq(nprops(rec), 14);
	expect_str(rec, "IndicationIdentifier", "string", "ind-000042");
	expect_str(rec, "IndicationTime", "datetime", "20261122013000.123456+000");
	expect_int(rec, "AlertType", "uint16", 2);
	expect_int(rec, "PerceivedSeverity", "uint16", 6);
	expect_int(rec, "ProbableCause", "uint16", 53);
	expect_str(rec, "OwningEntity", "string", "DMTF");
	expect_str(rec, "MessageID", "string", "SVPC0123");
	expect_str(rec, "Message", "string",
	    "Power supply 2 on chassis rack4-u12 has failed; redundancy lost");
	v = pval(prop(rec, "MessageArguments"), "MessageArguments", "string", true);
	ck_assert_uint_eq(json_object_array_length(v), 2);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 0)), "2");
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 1)),
	    "rack4-u12");
	expect_str(rec, "AlertingManagedElement", "string",
	    "//bmc4.example.net/root/cimv2:CIM_PowerSupply.DeviceID=\"PSU2\"");
	expect_int(rec, "AlertingElementFormat", "uint16", 2);
	expect_str(rec, "SystemName", "string", "rack4-u12.example.net");
	expect_str(rec, "EventID", "string", "PSU-0042");
	expect_int(rec, "RecommendedActions", "uint32", 131072);
}

static void
expect_all_types(json_object *rec, const char *path)
{
	json_object *v;

	expect_envelope(rec, "types-1", "Acme_TypesIndication", path);
	ck_assert_uint_eq(nprops(rec), 19);
	v = pval(prop(rec, "B"), "B", "boolean", false);
	ck_assert(json_object_is_type(v, json_type_boolean) &&
	    json_object_get_boolean(v));
	expect_int(rec, "U8", "uint8", 255);
	expect_int(rec, "S8", "sint8", -128);
	expect_int(rec, "U16", "uint16", 31);
	expect_int(rec, "S16", "sint16", 12);
	expect_int(rec, "U32", "uint32", 4294967295LL);
	expect_int(rec, "S32", "sint32", -2147483648LL);
	v = pval(prop(rec, "U64"), "U64", "uint64", false);
	ck_assert(json_object_is_type(v, json_type_int));
	ck_assert(json_object_get_uint64(v) == UINT64_MAX);
	expect_int(rec, "S64", "sint64", INT64_MIN);
	v = pval(prop(rec, "R32"), "R32", "real32", false);
	ck_assert(json_object_is_type(v, json_type_double));
	ck_assert((float)json_object_get_double(v) == -1.5e-3f);
	v = pval(prop(rec, "R64"), "R64", "real64", false);
	ck_assert(json_object_get_double(v) == 25.0);
	expect_str(rec, "C16", "char16", "\xc3\xa9");
	expect_str(rec, "Str", "string",
	    "tab\tquote\" backslash\\ snow\xe2\x98\x83 emoji\xf0\x9f\x98\x80");
	expect_str(rec, "When", "datetime", "20261122013000.123456-300");
	expect_str(rec, "Span", "datetime", "00000001020304.000000:000");
	expect_null(rec, "Nothing", "sint32", false);
	v = pval(prop(rec, "Ports"), "Ports", "uint16", true);
	ck_assert_uint_eq(json_object_array_length(v), 3);
	ck_assert_int_eq(json_object_get_int(json_object_array_get_idx(v, 0)), 22);
	ck_assert_ptr_null(json_object_array_get_idx(v, 1));
	ck_assert_int_eq(json_object_get_int(json_object_array_get_idx(v, 2)), 5989);
	v = pval(prop(rec, "Flags"), "Flags", "boolean", true);
	ck_assert_uint_eq(json_object_array_length(v), 2);
	ck_assert(!json_object_get_boolean(json_object_array_get_idx(v, 0)));
	ck_assert(json_object_get_boolean(json_object_array_get_idx(v, 1)));
	expect_str(rec, "Origin", "reference",
	    "//bmc7.example.net/root/cimv2:Acme_Chassis.Slot=4,Tag=\"CH-7\"");
}

/* An embedded Acme_Fan as in inst-modification.xml. */
static void
expect_fan(json_object *p, const char *name, int64_t speed,
    const int *status, size_t nstatus)
{
	json_object *inst, *props, *q, *v;
	size_t i;

	inst = pval(p, name, "instance", false);
	ck_assert_str_eq(json_object_get_string(tu_jget(inst, "class")), "Acme_Fan");
	props = tu_jget(inst, "properties");
	ck_assert_int_eq(json_object_object_length(props), 3);
	ck_assert(json_object_object_get_ex(props, "DeviceID", &q));
	ck_assert_str_eq(json_object_get_string(pval(q, "DeviceID", "string",
	    false)), "FAN3");
	ck_assert(json_object_object_get_ex(props, "Speed", &q));
	ck_assert_int_eq(json_object_get_int64(pval(q, "Speed", "uint64", false)),
	    speed);
	ck_assert(json_object_object_get_ex(props, "OperationalStatus", &q));
	v = pval(q, "OperationalStatus", "uint16", true);
	ck_assert_uint_eq(json_object_array_length(v), nstatus);
	for (i = 0; i < nstatus; i++)
		ck_assert_int_eq(json_object_get_int(json_object_array_get_idx(v,
		    i)), status[i]);
}

static void
expect_inst_mod(json_object *rec, const char *path)
{
	static const int now[] = { 6, 11 }, before[] = { 2 };

	expect_envelope(rec, "mod-88", "CIM_InstModification", path);
	ck_assert_uint_eq(nprops(rec), 4);
	expect_str(rec, "IndicationTime", "datetime", "20261122020000.000000+000");
	expect_str(rec, "SourceInstanceModelPath", "string",
	    "root/cimv2:Acme_Fan.DeviceID=\"FAN3\"");
	expect_fan(prop(rec, "SourceInstance"), "SourceInstance", 0, now, 2);
	expect_fan(prop(rec, "PreviousInstance"), "PreviousInstance", 4200,
	    before, 1);
}

static void
expect_null_and_empty(json_object *rec, const char *path)
{
	json_object *v;

	expect_envelope(rec, "7", "Acme_ProcessIndication", path);
	ck_assert_uint_eq(nprops(rec), 9);
	expect_str(rec, "MethodName", "string", "FireTestEvent");
	expect_int(rec, "SequenceNumber", "sint64", 3);
	expect_str(rec, "SequenceContext", "string",
	    "acme:host-a#20261101120000#20261101115959");
	expect_str(rec, "IndicationFilterName", "string", "acme-filter");
	expect_null(rec, "OtherSeverity", "string", false);
	expect_null(rec, "PerceivedSeverity", "uint16", false);
	expect_str(rec, "IndicationTime", "datetime", "20261101120501.250000+060");
	v = pval(prop(rec, "CorrelatedIndications"), "CorrelatedIndications",
	    "string", true);
	ck_assert(json_object_is_type(v, json_type_array));
	ck_assert_uint_eq(json_object_array_length(v), 0);
	expect_str(rec, "IndicationIdentifier", "string", "3");
}

static const struct sample {
	const char *file;
	const char *id;
	void (*expect)(json_object *, const char *);
} samples[] = {
	{ "alert-indication.xml", "1001", expect_alert },
	{ "all-types.xml", "types-1", expect_all_types },
	{ "inst-modification.xml", "mod-88", expect_inst_mod },
	{ "null-and-empty.xml", "7", expect_null_and_empty },
};
#define NSAMPLES (sizeof samples / sizeof samples[0])

/* The success body echoes the MESSAGE ID. */
static void
expect_success_body(const char *body, const char *id)
{
	char want[256];

	snprintf(want, sizeof want, "<MESSAGE ID=\"%s\" PROTOCOLVERSION=\"1.4\">"
	    "<SIMPLEEXPRSP><EXPMETHODRESPONSE NAME=\"ExportIndication\"/>"
	    "</SIMPLEEXPRSP></MESSAGE></CIM>", id);
	ck_assert_msg(strstr(body, want) != NULL, "body %s lacks %s", body, want);
	ck_assert(strstr(body, "<ERROR") == NULL);
}

/* ---- samples ---- */

START_TEST(t_samples_sfcb)
{
	struct tu_daemon *d = tu_daemon_start(NULL, NULL);
	struct tu_response *r;
	char *body, *h, **lines;
	size_t i, len, n;

	for (i = 0; i < NSAMPLES; i++) {
		body = tu_sample(samples[i].file, &len);
		r = tu_http(d->port, "POST", "/cimlisten/bmc4", tu_sfcb_headers,
		    body, len);
		ck_assert_int_eq(r->status, 200);
		h = tu_header(r, "CIMExport");
		ck_assert_str_eq(h, "MethodResponse");
		free(h);
		h = tu_header(r, "Content-Type");
		ck_assert_str_eq(h, "application/xml; charset=\"utf-8\"");
		free(h);
		expect_success_body(r->body, samples[i].id);
		tu_response_free(r);
		free(body);
	}
	ck_assert(tu_wait_lines(d->out, NSAMPLES, 10000));
	lines = tu_read_lines(d->out, &n);
	ck_assert_uint_eq(n, NSAMPLES);
	for (i = 0; i < NSAMPLES; i++) {
		json_object *rec = tu_json(lines[i]);

		samples[i].expect(rec, "/cimlisten/bmc4");
		json_object_put(rec);
	}
	tu_free_lines(lines);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/* OpenPegasus writes zero-padded content-length, upper-case HOST, TE. */
START_TEST(t_samples_pegasus)
{
	struct tu_daemon *d = tu_daemon_start(NULL, NULL);
	const struct sample *s = &samples[_i];
	char *body, *req, *resp, *h, **lines;
	size_t len, n;
	json_object *rec;

	body = tu_sample(s->file, &len);
	ck_assert_int_gt(asprintf(&req,
	    "POST /cimlisten/peg%%2Dhost HTTP/1.1\r\n"
	    "HOST: 127.0.0.1:%u\r\n"
	    "Content-Type: application/xml; charset=utf-8\r\n"
	    "content-length: %010zu\r\n"
	    "TE: chunked, trailers\r\n"
	    "CIMExport: MethodRequest\r\n"
	    "CIMExportMethod: ExportIndication\r\n"
	    "CIMProtocolVersion: 1.0\r\n"
	    "\r\n%s", d->port, len, body), 0);
	resp = tu_raw(d->port, req, strlen(req), 10000);
	ck_assert_int_eq(tu_raw_status(resp), 200);
	h = tu_raw_header(resp, "CIMExport");
	ck_assert_str_eq(h, "MethodResponse");
	free(h);
	expect_success_body(resp, s->id);
	ck_assert(tu_wait_lines(d->out, 1, 10000));
	lines = tu_read_lines(d->out, &n);
	ck_assert_uint_eq(n, 1);
	rec = tu_json(lines[0]);
	s->expect(rec, "/cimlisten/peg-host");
	json_object_put(rec);
	tu_free_lines(lines);
	free(resp);
	free(req);
	free(body);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/* ---- load over keep-alive connections ---- */

struct loader {
	unsigned port;
	int count;
	const char *body;
	size_t len;
	int ok;
	atomic_int *total_ok;   /* optional shared count of 200s */
};

static size_t
discard(char *p, size_t s, size_t n, void *a)
{
	(void)p;
	(void)a;
	return s * n;
}

static void *
load_thread(void *arg)
{
	struct loader *l = arg;
	struct curl_slist *hl = NULL;
	char url[128];
	long status;
	CURL *c;
	int i;

	c = curl_easy_init();
	snprintf(url, sizeof url, "http://127.0.0.1:%u/load", l->port);
	for (i = 0; tu_sfcb_headers[i] != NULL; i++)
		hl = curl_slist_append(hl, tu_sfcb_headers[i]);
	hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, l->body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)l->len);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	for (i = 0; i < l->count; i++) {
		if (curl_easy_perform(c) != CURLE_OK)
			continue;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		if (status == 200) {
			l->ok++;
			if (l->total_ok != NULL)
				atomic_fetch_add(l->total_ok, 1);
		}
	}
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	return NULL;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

START_TEST(t_load_distinct)
{
	enum { NCONN = 16, TOTAL = 20000 };
	struct tu_daemon *d = tu_daemon_start(NULL, NULL);
	struct loader l[NCONN];
	pthread_t th[NCONN];
	uint64_t *seqs;
	char *body, **lines, *out;
	size_t len, n, i;
	int ok = 0;

	body = tu_sample("alert-indication.xml", &len);
	for (i = 0; i < NCONN; i++) {
		l[i] = (struct loader){ d->port, TOTAL / NCONN, body, len, 0,
			NULL };
		pthread_create(&th[i], NULL, load_thread, &l[i]);
	}
	for (i = 0; i < NCONN; i++) {
		pthread_join(th[i], NULL);
		ok += l[i].ok;
	}
	ck_assert_int_eq(ok, TOTAL);
	ck_assert(tu_wait_lines(d->out, TOTAL, 60000));
	out = strdup(d->out);
	lines = tu_read_lines(out, &n);
	ck_assert_uint_eq(n, TOTAL);
	seqs = calloc(n, sizeof *seqs);
	for (i = 0; i < n; i++) {
		json_object *rec = tu_json(lines[i]);

		seqs[i] = json_object_get_uint64(tu_jget(rec, "seq"));
		json_object_put(rec);
	}
	qsort(seqs, n, sizeof *seqs, cmp_u64);
	for (i = 1; i < n; i++)
		ck_assert_msg(seqs[i] != seqs[i - 1], "duplicate seq %llu",
		    (unsigned long long)seqs[i]);
	free(seqs);
	tu_free_lines(lines);
	free(out);
	free(body);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/* ---- DSP0200 rows and bad input ---- */

/* `body` with the first `from` replaced by `to` (malloc'd). */
static char *
replace(const char *body, const char *from, const char *to)
{
	const char *p = strstr(body, from);
	char *out;

	ck_assert_msg(p != NULL, "no %s in body", from);
	ck_assert_int_gt(asprintf(&out, "%.*s%s%s", (int)(p - body), body, to,
	    p + strlen(from)), 0);
	return out;
}

/*
 * An error answer: the status, the CIMError header (or none), a one-line
 * CIMErrorDetails, no CIMExport: MethodResponse, and a text/plain body
 * holding the same reason.
 */
static void
expect_error(struct tu_response *r, long status, const char *cimerror)
{
	char *h, *details;

	ck_assert_msg(r->status == status, "status %ld, want %ld (body: %s)",
	    r->status, status, r->body);
	h = tu_header(r, "CIMError");
	if (cimerror == NULL)
		ck_assert_msg(h == NULL, "unexpected CIMError %s", h);
	else {
		ck_assert_msg(h != NULL, "no CIMError header");
		ck_assert_str_eq(h, cimerror);
	}
	free(h);
	details = tu_header(r, "CIMErrorDetails");
	ck_assert_msg(details != NULL && *details != '\0', "no CIMErrorDetails");
	ck_assert(strpbrk(details, "\r\n") == NULL);
	ck_assert_uint_le(strlen(details), 256);
	h = tu_header(r, "CIMExport");
	ck_assert_msg(h == NULL, "error answer with CIMExport: %s", h);
	h = tu_header(r, "Content-Type");
	ck_assert_msg(h != NULL && strncmp(h, "text/plain", 10) == 0,
	    "error body type %s", h ? h : "(none)");
	free(h);
	ck_assert_msg(r->body_len > 0 && strstr(r->body, details) != NULL,
	    "body '%s' does not carry the reason '%s'", r->body, details);
	free(details);
}

/* POST `body` with `headers` to a running daemon and check the error. */
static void
post_expect(struct tu_daemon *d, const char *const *headers, const char *body,
    long status, const char *cimerror)
{
	struct tu_response *r;

	r = tu_http(d->port, "POST", "/", headers, body, strlen(body));
	expect_error(r, status, cimerror);
	tu_response_free(r);
}

/* An export-level ERROR: HTTP 200, CIMExport: MethodResponse, ERROR CODE. */
static void
post_expect_cim_error(struct tu_daemon *d, const char *body, int code)
{
	static const char *const headers[] = {
		"Content-type: application/xml; charset=\"utf-8\"",
		"CIMProtocolVersion: 1.0", "CIMExport: MethodRequest", NULL };
	struct tu_response *r;
	char want[64], *h;

	r = tu_http(d->port, "POST", "/", headers, body, strlen(body));
	ck_assert_int_eq(r->status, 200);
	h = tu_header(r, "CIMExport");
	ck_assert_str_eq(h, "MethodResponse");
	free(h);
	h = tu_header(r, "CIMErrorDetails");
	ck_assert_msg(h != NULL && strpbrk(h, "\r\n") == NULL, "CIMErrorDetails");
	free(h);
	snprintf(want, sizeof want, "<ERROR CODE=\"%d\"", code);
	ck_assert_msg(strstr(r->body, want) != NULL, "body %s lacks %s", r->body,
	    want);
	tu_response_free(r);
}

START_TEST(t_http_rows)
{
	static const char *const text_plain[] = { "Content-Type: text/plain",
		NULL };
	static const char *const latin1[] = {
		"Content-Type: application/xml; charset=iso-8859-1", NULL };
	static const char *const no_type[] = { "Content-Type:", NULL };
	static const char *const bad_export[] = {
		"Content-Type: application/xml", "CIMExport: MethodCall", NULL };
	static const char *const bad_method[] = {
		"Content-Type: application/xml", "CIMExportMethod: ExportFoo",
		NULL };
	static const char *const bad_pv[] = { "Content-Type: application/xml",
		"CIMProtocolVersion: 2.0", NULL };
	static const char *const batch[] = { "Content-Type: text/xml",
		"CIMExportBatch;", NULL };
	static const char *const plain[] = { "Content-Type: text/xml", NULL };
	static const char *const te_gzip[] = { "Content-Type: text/xml",
		"Transfer-Encoding: gzip", NULL };
	struct tu_daemon *d = tu_daemon_start(NULL, NULL);
	struct tu_response *r;
	char *alert, *b, *h, *multi;
	size_t len;

	alert = tu_sample("alert-indication.xml", &len);

	/* 405 with Allow. */
	r = tu_http(d->port, "GET", "/", NULL, NULL, 0);
	expect_error(r, 405, NULL);
	h = tu_header(r, "Allow");
	ck_assert_str_eq(h, "POST, M-POST");
	free(h);
	tu_response_free(r);
	r = tu_http(d->port, "PUT", "/", plain, alert, len);
	expect_error(r, 405, NULL);
	tu_response_free(r);

	post_expect(d, text_plain, alert, 400, "header-mismatch");
	post_expect(d, latin1, alert, 400, "header-mismatch");
	post_expect(d, no_type, alert, 400, "header-mismatch");
	post_expect(d, bad_export, alert, 400, "unsupported-operation");
	post_expect(d, bad_method, alert, 400, "header-mismatch");
	post_expect(d, bad_pv, alert, 400, "header-mismatch");
	post_expect(d, batch, alert, 400, "header-mismatch");

	/* A MULTIEXPREQ without CIMExportBatch, then with it. */
	b = replace(alert, "<SIMPLEEXPREQ>", "<MULTIEXPREQ><SIMPLEEXPREQ>");
	multi = replace(b, "</SIMPLEEXPREQ>",
	    "</SIMPLEEXPREQ><SIMPLEEXPREQ><EXPMETHODCALL NAME=\"ExportIndication\">"
	    "<EXPPARAMVALUE NAME=\"NewIndication\"><INSTANCE CLASSNAME=\"X_Two\">"
	    "</INSTANCE></EXPPARAMVALUE></EXPMETHODCALL></SIMPLEEXPREQ>"
	    "</MULTIEXPREQ>");
	free(b);
	post_expect(d, plain, multi, 400, "header-mismatch");
	r = tu_http(d->port, "POST", "/", batch, multi, strlen(multi));
	ck_assert_int_eq(r->status, 200);
	ck_assert_msg(strstr(r->body, "<MULTIEXPRSP>") != NULL, "%s", r->body);
	ck_assert_ptr_nonnull(strstr(strstr(r->body, "EXPMETHODRESPONSE") + 1,
	    "EXPMETHODRESPONSE"));
	ck_assert(strstr(r->body, "<ERROR") == NULL);
	tu_response_free(r);
	free(multi);

	/* Versions in the body. */
	b = replace(alert, "PROTOCOLVERSION=\"1.4\"", "PROTOCOLVERSION=\"2.0\"");
	post_expect(d, plain, b, 501, "unsupported-protocol-version");
	free(b);
	b = replace(alert, "CIMVERSION=\"2.0\"", "CIMVERSION=\"3.0\"");
	post_expect(d, plain, b, 501, "unsupported-cim-version");
	free(b);
	b = replace(alert, "DTDVERSION=\"2.4\"", "DTDVERSION=\"3.1\"");
	post_expect(d, plain, b, 501, "unsupported-dtd-version");
	free(b);

	/* Not well-formed, not valid. */
	b = strndup(alert, len - 40);
	post_expect(d, plain, b, 400, "request-not-well-formed");
	free(b);
	b = replace(alert, "ind-000042", "ind-\xff\xfe");
	post_expect(d, plain, b, 400, "request-not-well-formed");
	free(b);
	{
		char *c = replace(alert, "<SIMPLEEXPREQ>", "<SIMPLEREQ>");

		b = replace(c, "</SIMPLEEXPREQ>", "</SIMPLEREQ>");
		free(c);
	}
	post_expect(d, plain, b, 400, "request-not-valid");
	free(b);
	b = replace(alert, "<VALUE>53</VALUE>", "<VALUE>70000</VALUE>");
	post_expect(d, plain, b, 400, "request-not-valid");
	free(b);

	/* Unknown Transfer-Encoding. */
	r = tu_http(d->port, "POST", "/", te_gzip, alert, len);
	ck_assert_msg(r->status == 501 || r->status == 400, "status %ld",
	    r->status);
	tu_response_free(r);

	/* Export-level errors: unknown method, bad parameters. */
	b = replace(alert, "EXPMETHODCALL NAME=\"ExportIndication\"",
	    "EXPMETHODCALL NAME=\"ExportSomething\"");
	post_expect_cim_error(d, b, 7);
	free(b);
	b = replace(alert, "EXPPARAMVALUE NAME=\"NewIndication\"",
	    "EXPPARAMVALUE NAME=\"OldIndication\"");
	post_expect_cim_error(d, b, 4);
	free(b);

	/* Nothing of the above reached the sink but the batch's two. */
	r = tu_post(d->port, alert, len);
	ck_assert_int_eq(r->status, 200);
	tu_response_free(r);
	ck_assert(tu_wait_lines(d->out, 3, 10000));
	{
		size_t n;
		char **lines = tu_read_lines(d->out, &n);

		ck_assert_uint_eq(n, 3);
		tu_free_lines(lines);
	}
	free(alert);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/* M-POST with Man: ...; ns=73 and 73- prefixed headers. */
START_TEST(t_mpost)
{
	static const char *const mpost[] = {
		"Content-Type: application/xml; charset=\"utf-8\"",
		"Man: http://www.dmtf.org/cim/mapping/http/v1.0 ; ns=73",
		"73-CIMExport: MethodRequest",
		"73-CIMExportMethod: ExportIndication",
		"73-CIMProtocolVersion: 1.0", NULL };
	static const char *const mpost_bad[] = {
		"Content-Type: application/xml; charset=\"utf-8\"",
		"Man: http://www.dmtf.org/cim/mapping/http/v1.0 ; ns=73",
		"73-CIMExport: MethodCall", NULL };
	struct tu_daemon *d = tu_daemon_start(NULL, NULL);
	struct tu_response *r;
	char *alert;
	size_t len;

	alert = tu_sample("alert-indication.xml", &len);
	r = tu_http(d->port, "M-POST", "/", mpost, alert, len);
	ck_assert_int_eq(r->status, 200);
	expect_success_body(r->body, "1001");
	tu_response_free(r);
	r = tu_http(d->port, "M-POST", "/", mpost_bad, alert, len);
	expect_error(r, 400, "unsupported-operation");
	tu_response_free(r);
	ck_assert(tu_wait_lines(d->out, 1, 10000));
	free(alert);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/* strict = yes requires the CIM headers. */
START_TEST(t_strict)
{
	static const char *const bare[] = { "Content-Type: application/xml",
		NULL };
	struct tu_daemon *d = tu_daemon_start("strict = yes", NULL);
	struct tu_response *r;
	char *alert;
	size_t len;

	alert = tu_sample("alert-indication.xml", &len);
	post_expect(d, bare, alert, 400, "header-mismatch");
	r = tu_post(d->port, alert, len);
	ck_assert_int_eq(r->status, 200);
	tu_response_free(r);
	free(alert);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/* Without strict, pywbem-style posts with only a Content-Type are fine. */
START_TEST(t_liberal)
{
	static const char *const bare[] = { "Content-Type: text/xml", NULL };
	struct tu_daemon *d = tu_daemon_start(NULL, NULL);
	struct tu_response *r;
	char *alert;
	size_t len;

	alert = tu_sample("alert-indication.xml", &len);
	r = tu_http(d->port, "POST", "/", bare, alert, len);
	ck_assert_int_eq(r->status, 200);
	tu_response_free(r);
	free(alert);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/* A raw request with the alert sample and given framing headers. */
static char *
raw_alert(unsigned port, const char *framing, const char *body, size_t len)
{
	char *req, *resp;

	ck_assert_int_gt(asprintf(&req, "POST / HTTP/1.1\r\nHost: x\r\n"
	    "Content-Type: application/xml\r\n%s\r\n%.*s", framing, (int)len,
	    body), 0);
	resp = tu_raw(port, req, strlen(req), 15000);
	free(req);
	return resp;
}

/*
 * connection_memory bounds a request's header section end to end: a 40 KB
 * header does not fit the default 32K (431, and the daemon goes on), fits
 * in 64K; a 2 KB one fits the default.
 */
static int
padded_status(unsigned port, size_t pad, const char *body, size_t len)
{
	char *framing, *resp;
	int status;

	framing = malloc(pad + 64);
	ck_assert_ptr_nonnull(framing);
	memcpy(framing, "X-Pad: ", 7);
	memset(framing + 7, 'p', pad);
	snprintf(framing + 7 + pad, 57, "\r\nContent-Length: %zu\r\n", len);
	resp = raw_alert(port, framing, body, len);
	status = tu_raw_status(resp);
	free(resp);
	free(framing);
	return status;
}

START_TEST(t_connection_memory)
{
	struct tu_daemon *d = tu_daemon_start(NULL, NULL);
	char *alert;
	size_t len;

	alert = tu_sample("alert-indication.xml", &len);
	ck_assert_int_eq(padded_status(d->port, 2000, alert, len), 200);
	ck_assert_int_eq(padded_status(d->port, 40000, alert, len), 431);
	ck_assert_int_eq(padded_status(d->port, 2000, alert, len), 200);
	ck_assert_int_eq(tu_daemon_stop(d), 0);

	d = tu_daemon_start("connection_memory = 64K", NULL);
	ck_assert_int_eq(padded_status(d->port, 40000, alert, len), 200);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
	free(alert);
}
END_TEST

START_TEST(t_framing)
{
	struct tu_daemon *d = tu_daemon_start("max_body = 64K", NULL);
	char *alert, *resp, *framing, *chunked;
	size_t len, i;
	struct buf_s { char *p; size_t n; } big;

	alert = tu_sample("alert-indication.xml", &len);

	/* Non-numeric and duplicate Content-Length. */
	resp = raw_alert(d->port, "Content-Length: 12ab\r\n", alert, len);
	ck_assert_int_eq(tu_raw_status(resp), 400);
	free(resp);
	ck_assert_int_gt(asprintf(&framing, "Content-Length: %zu\r\n"
	    "Content-Length: %zu\r\n", len, len), 0);
	resp = raw_alert(d->port, framing, alert, len);
	ck_assert_int_eq(tu_raw_status(resp), 400);
	free(resp);
	free(framing);

	/* 100 MB announced: 413 at once, the body is never read. */
	resp = raw_alert(d->port, "Content-Length: 104857600\r\n", alert, len);
	ck_assert_int_eq(tu_raw_status(resp), 413);
	framing = tu_raw_header(resp, "CIMErrorDetails");
	ck_assert_ptr_nonnull(framing);
	free(framing);
	framing = tu_raw_header(resp, "Connection");
	ck_assert_str_eq(framing, "close");
	free(framing);
	free(resp);

	/* Expect: 100-continue gets 100 and then 200. */
	ck_assert_int_gt(asprintf(&framing, "Content-Length: %zu\r\n"
	    "Expect: 100-continue\r\n", len), 0);
	resp = raw_alert(d->port, framing, alert, len);
	ck_assert_msg(strncmp(resp, "HTTP/1.1 100", 12) == 0, "%s", resp);
	ck_assert_int_eq(tu_raw_status(resp), 200);
	free(resp);
	free(framing);
	/* ... and a too large one gets 413 instead of 100. */
	resp = raw_alert(d->port, "Content-Length: 1048576\r\n"
	    "Expect: 100-continue\r\n", "", 0);
	ck_assert_int_eq(tu_raw_status(resp), 413);
	free(resp);

	/* Chunked: a good body in small chunks. */
	big.p = NULL;
	big.n = 0;
	{
		FILE *f = open_memstream(&big.p, &big.n);

		for (i = 0; i < len; i += 100)
			fprintf(f, "%zx\r\n%.*s\r\n", len - i < 100 ? len - i : 100,
			    (int)(len - i < 100 ? len - i : 100), alert + i);
		fprintf(f, "0\r\n\r\n");
		fclose(f);
	}
	resp = raw_alert(d->port, "Transfer-Encoding: chunked\r\n", big.p, big.n);
	ck_assert_int_eq(tu_raw_status(resp), 200);
	free(resp);
	free(big.p);

	/* Chunked over max_body: streamed, discarded, 413 at the end. */
	{
		FILE *f = open_memstream(&big.p, &big.n);
		char block[4096];

		memset(block, ' ', sizeof block);
		fprintf(f, "%zx\r\n%.*s\r\n", len - 8, (int)(len - 8), alert);
		for (i = 0; i < 64; i++) {
			fprintf(f, "%zx\r\n", sizeof block);
			fwrite(block, 1, sizeof block, f);
			fprintf(f, "\r\n");
		}
		fprintf(f, "8\r\n%s\r\n0\r\n\r\n", alert + len - 8);
		fclose(f);
	}
	chunked = big.p;
	resp = raw_alert(d->port, "Transfer-Encoding: chunked\r\n", chunked,
	    big.n);
	ck_assert_int_eq(tu_raw_status(resp), 413);
	free(resp);
	free(chunked);

	ck_assert(tu_wait_lines(d->out, 2, 10000));
	free(alert);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/*
 * A 100 MB chunked body under the default 4M max_body: streamed through and
 * discarded, never buffered, answered 413 at its end; the daemon goes on.
 */
START_TEST(t_huge_chunked)
{
	static const char head[] = "POST / HTTP/1.1\r\nHost: x\r\n"
	    "Content-Type: application/xml\r\nTransfer-Encoding: chunked\r\n\r\n";
	struct tu_daemon *d = tu_daemon_start(NULL, NULL);
	struct tu_response *r;
	char *block, *resp, *alert, *h, size[32];
	size_t i, bs = 65536, len;
	int fd;

	block = malloc(bs);
	memset(block, 'x', bs);
	fd = tu_connect_send(d->port, head, sizeof head - 1);
	snprintf(size, sizeof size, "%zx\r\n", bs);
	for (i = 0; i < 100 * 16; i++) {
		ck_assert_int_eq(send(fd, size, strlen(size), MSG_NOSIGNAL),
		    (ssize_t)strlen(size));
		ck_assert_int_eq(send(fd, block, bs, MSG_NOSIGNAL), (ssize_t)bs);
		ck_assert_int_eq(send(fd, "\r\n", 2, MSG_NOSIGNAL), 2);
	}
	ck_assert_int_eq(send(fd, "0\r\n\r\n", 5, MSG_NOSIGNAL), 5);
	resp = tu_read_response(fd, 30000);
	ck_assert_int_eq(tu_raw_status(resp), 413);
	h = tu_raw_header(resp, "CIMErrorDetails");
	ck_assert_ptr_nonnull(h);
	free(h);
	free(resp);
	close(fd);
	free(block);

	alert = tu_sample("alert-indication.xml", &len);
	r = tu_post(d->port, alert, len);
	ck_assert_int_eq(r->status, 200);
	tu_response_free(r);
	free(alert);
	ck_assert(tu_wait_lines(d->out, 1, 10000));
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/* Hostile bodies: billion laughs, deep embedding, deep XML. */
START_TEST(t_hostile)
{
	static const char *const plain[] = { "Content-Type: text/xml", NULL };
	struct tu_daemon *d = tu_daemon_start(NULL, NULL);
	char *b, *inner, *esc, *next;
	size_t len;
	int i;

	b = tu_data("bad/billion-laughs.xml", &len);
	post_expect(d, plain, b, 400, "request-not-well-formed");
	free(b);

	/* Embedded instances nested 9 deep (the limit is 8). */
	inner = strdup("<INSTANCE CLASSNAME=\"X_Leaf\"></INSTANCE>");
	for (i = 0; i < 9; i++) {
		/* Escape the inner XML as a string value. */
		size_t j, n = 0;

		esc = malloc(strlen(inner) * 6 + 1);
		for (j = 0; inner[j] != '\0'; j++) {
			const char *rep = inner[j] == '<' ? "&lt;" :
			    inner[j] == '>' ? "&gt;" : inner[j] == '&' ? "&amp;" :
			    inner[j] == '"' ? "&quot;" : NULL;
			if (rep != NULL) {
				memcpy(esc + n, rep, strlen(rep));
				n += strlen(rep);
			} else
				esc[n++] = inner[j];
		}
		esc[n] = '\0';
		ck_assert_int_gt(asprintf(&next, "<INSTANCE CLASSNAME=\"X_L%d\">"
		    "<PROPERTY NAME=\"E\" TYPE=\"string\" EmbeddedObject="
		    "\"instance\"><VALUE>%s</VALUE></PROPERTY></INSTANCE>", i, esc),
		    0);
		free(esc);
		free(inner);
		inner = next;
	}
	ck_assert_int_gt(asprintf(&b, "<?xml version=\"1.0\"?><CIM CIMVERSION="
	    "\"2.0\" DTDVERSION=\"2.4\"><MESSAGE ID=\"9\" PROTOCOLVERSION=\"1.4\">"
	    "<SIMPLEEXPREQ><EXPMETHODCALL NAME=\"ExportIndication\">"
	    "<EXPPARAMVALUE NAME=\"NewIndication\">%s</EXPPARAMVALUE>"
	    "</EXPMETHODCALL></SIMPLEEXPREQ></MESSAGE></CIM>", inner), 0);
	free(inner);
	post_expect(d, plain, b, 400, "request-not-valid");
	free(b);

	/* XML nested deeper than max_xml_depth. */
	{
		char *deep = NULL, *alert;
		size_t dl = 0;
		FILE *f = open_memstream(&deep, &dl);

		for (i = 0; i < 100; i++)
			fputs("<QUALIFIER NAME=\"q\" TYPE=\"string\">", f);
		for (i = 0; i < 100; i++)
			fputs("</QUALIFIER>", f);
		fclose(f);
		alert = tu_sample("alert-indication.xml", &len);
		b = replace(alert, "<PROPERTY NAME=\"AlertType\"", deep);
		free(alert);
		free(deep);
		post_expect(d, plain, b, 400, "request-not-valid");
		free(b);
	}
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/*
 * Clients that stop mid-body do not keep others from being served, and
 * their connections are closed once `timeout` passes.
 */
START_TEST(t_stalled_client)
{
	struct tu_daemon *d = tu_daemon_start("timeout = 2s", NULL);
	struct tu_response *r;
	char *alert, *req;
	size_t len;
	int fds[4], i;

	alert = tu_sample("alert-indication.xml", &len);
	ck_assert_int_gt(asprintf(&req, "POST / HTTP/1.1\r\nHost: x\r\n"
	    "Content-Type: application/xml\r\nContent-Length: %zu\r\n\r\n"
	    "%.*s", len, (int)(len / 2), alert), 0);
	for (i = 0; i < 4; i++)
		fds[i] = tu_connect_send(d->port, req, strlen(req));
	for (i = 0; i < 5; i++) {
		r = tu_post(d->port, alert, len);
		ck_assert_int_eq(r->status, 200);
		tu_response_free(r);
	}
	ck_assert(tu_wait_lines(d->out, 5, 10000));
	for (i = 0; i < 4; i++) {
		ck_assert_msg(tu_wait_closed(fds[i], 15000),
		    "stalled connection %d not closed", i);
		close(fds[i]);
	}
	/* Nothing of the half bodies was accepted. */
	ck_assert(!tu_wait_lines(d->out, 6, 200));
	free(req);
	free(alert);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/* SIGUSR1 reopens the file sink (logrotate); SIGTERM drains and exits 0. */
START_TEST(t_signals)
{
	struct tu_daemon *d = tu_daemon_start(NULL, NULL);
	struct tu_response *r;
	char *alert, *rotated, **lines;
	size_t len, n;

	alert = tu_sample("alert-indication.xml", &len);
	r = tu_post(d->port, alert, len);
	ck_assert_int_eq(r->status, 200);
	tu_response_free(r);
	ck_assert(tu_wait_lines(d->out, 1, 10000));
	ck_assert_int_gt(asprintf(&rotated, "%s.1", d->out), 0);
	ck_assert_int_eq(rename(d->out, rotated), 0);
	kill(d->pid, SIGUSR1);
	/* The signal is asynchronous: post once the sink has reopened. */
	for (n = 0; n < 1000 && !tu_daemon_log_has(d, "sink out: reopened");
	    n++)
		usleep(10000);
	ck_assert(tu_daemon_log_has(d, "sink out: reopened"));
	r = tu_post(d->port, alert, len);
	ck_assert_int_eq(r->status, 200);
	tu_response_free(r);
	ck_assert(tu_wait_lines(d->out, 1, 10000));
	lines = tu_read_lines(rotated, &n);
	ck_assert_uint_eq(n, 1);
	tu_free_lines(lines);
	free(rotated);
	free(alert);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/* IPv6: the peer address is recorded as sent; IPv4 stays dotted. */
START_TEST(t_ipv6)
{
	struct tu_daemon *d = tu_daemon_start("bind = ::1, 127.0.0.1", NULL);
	struct tu_response *r;
	char *alert, **lines;
	json_object *rec;
	size_t len, n;

	alert = tu_sample("alert-indication.xml", &len);
	r = tu_http(d->port, "POST", "http://[::1]:%u/v6", tu_sfcb_headers,
	    alert, len);
	ck_assert_int_eq(r->status, 200);
	tu_response_free(r);
	r = tu_post(d->port, alert, len);
	ck_assert_int_eq(r->status, 200);
	tu_response_free(r);
	ck_assert(tu_wait_lines(d->out, 2, 10000));
	lines = tu_read_lines(d->out, &n);
	ck_assert_uint_eq(n, 2);
	rec = tu_json(lines[0]);
	ck_assert_str_eq(json_object_get_string(tu_jget(rec, "source.addr")),
	    "::1");
	ck_assert_str_eq(json_object_get_string(tu_jget(rec, "source.path")),
	    "/v6");
	json_object_put(rec);
	rec = tu_json(lines[1]);
	ck_assert_str_eq(json_object_get_string(tu_jget(rec, "source.addr")),
	    "127.0.0.1");
	json_object_put(rec);
	tu_free_lines(lines);
	free(alert);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/* Command line: --version, --help, --check-config exit codes. */
static int
run_cmd(const char *args, char **output)
{
	const char *bin = getenv("CIMLISTEND");
	char *cmd, buf[4096];
	size_t n, len = 0;
	FILE *p;
	int status;

	if (bin == NULL)
		bin = BUILDDIR "/src/cimlistend";
	ck_assert_int_gt(asprintf(&cmd, "%s %s 2>&1", bin, args), 0);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	*output = strdup("");
	while ((n = fread(buf, 1, sizeof buf, p)) > 0) {
		*output = realloc(*output, len + n + 1);
		memcpy(*output + len, buf, n);
		len += n;
		(*output)[len] = '\0';
	}
	status = pclose(p);
	free(cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * Without -f: the daemon detaches and `cimlistend` exits 0 once it serves;
 * pid_file holds its pid, is locked against a second daemon (whose error
 * reaches the terminal, exit 1) and is gone after SIGTERM; a start-up
 * error of the detached daemon reaches the terminal and the exit status.
 */
START_TEST(t_background)
{
	char *dir = tu_tmpdir(), *conf, *cfg, *out, *pidf, *pidtxt;
	const char *args[] = { "-c", NULL, NULL };
	unsigned port = tu_free_port();
	pid_t pid;
	int i;

	ck_assert_int_gt(asprintf(&conf, "%s/c.conf", dir), 0);
	ck_assert_int_gt(asprintf(&cfg, "[listener]\nbind = 127.0.0.1\n"
	    "http_port = %u\n[daemon]\nspool_dir = %s/spool\n"
	    "control_socket =\npid_file = %s/cimlistend.pid\n"
	    "[sink a]\ntype = file\npath = %s/a.jsonl\n"
	    "[filter f]\nsinks = a\n", port, dir, dir, dir), 0);
	ck_assert_int_gt(asprintf(&pidf, "%s/cimlistend.pid", dir), 0);
	tu_write_file(conf, cfg, strlen(cfg));
	args[1] = conf;
	ck_assert_int_eq(tu_cimlistend_run(args, &out, 30000), 0);
	free(out);
	/* Serving as soon as the command returned. */
	{
		char *body;
		size_t len;
		struct tu_response *r;

		body = tu_sample("alert-indication.xml", &len);
		r = tu_post(port, body, len);
		ck_assert_int_eq(r->status, 200);
		tu_response_free(r);
		free(body);
	}
	pidtxt = tu_read_file(pidf, NULL);
	ck_assert_ptr_nonnull(pidtxt);
	pid = (pid_t)atol(pidtxt);
	free(pidtxt);
	ck_assert_int_gt(pid, 1);
	ck_assert_int_eq(kill(pid, 0), 0);

	/* A second one on the same pid file: refused, said on the terminal. */
	ck_assert_int_eq(tu_cimlistend_run(args, &out, 30000), 1);
	ck_assert_msg(strstr(out, "is held by a running cimlistend") != NULL,
	    "%s", out);
	free(out);

	kill(pid, SIGTERM);
	for (i = 0; kill(pid, 0) == 0 || access(pidf, F_OK) == 0; i++) {
		ck_assert_msg(i < 3000, "daemon %d did not go", (int)pid);
		usleep(10000);
	}

	/* A start-up error after detaching still reaches the terminal. */
	free(cfg);
	ck_assert_int_gt(asprintf(&cfg, "[listener]\nbind = 127.0.0.1\n"
	    "http_port = %u\n[daemon]\nspool_dir = /proc/no-such-spool\n"
	    "control_socket =\n[sink a]\ntype = file\npath = %s/a.jsonl\n"
	    "[filter f]\nsinks = a\n", port, dir), 0);
	tu_write_file(conf, cfg, strlen(cfg));
	ck_assert_int_eq(tu_cimlistend_run(args, &out, 30000), 1);
	ck_assert_msg(strstr(out, "/proc/no-such-spool") != NULL, "%s", out);
	free(out);
	free(cfg);
	free(conf);
	free(pidf);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(t_cmdline)
{
	const char *cfg;
	char *out, *dir, *conf, *args;

	ck_assert_int_eq(run_cmd("--version", &out), 0);
	ck_assert_ptr_nonnull(strstr(out, "cimlistend " PACKAGE_VERSION));
	free(out);
	ck_assert_int_eq(run_cmd("--help", &out), 0);
	ck_assert_ptr_nonnull(strstr(out, "--check-config"));
	free(out);
	ck_assert_int_eq(run_cmd("--bogus", &out), 2);
	free(out);

	dir = tu_tmpdir();
	ck_assert_int_gt(asprintf(&conf, "%s/c.conf", dir), 0);
	cfg = "[listener]\nhttp_port = 99999\nbogus = 1\n";
	tu_write_file(conf, cfg, strlen(cfg));
	ck_assert_int_gt(asprintf(&args, "--check-config -c %s", conf), 0);
	ck_assert_int_eq(run_cmd(args, &out), 1);
	ck_assert_msg(strstr(out, ":2:") != NULL && strstr(out, ":3:") != NULL,
	    "both errors with FILE:LINE: %s", out);
	free(out);
	cfg = "[listener]\nhttp_port = 5988\n[sink a]\n"
	    "type = file\npath = /tmp/x.jsonl\n[filter f]\nsinks = a\n";
	tu_write_file(conf, cfg, strlen(cfg));
	ck_assert_int_eq(run_cmd(args, &out), 0);
	free(out);
	free(args);
	ck_assert_int_gt(asprintf(&args, "-n -c %s/missing.conf", dir), 0);
	ck_assert_int_eq(run_cmd(args, &out), 1);
	free(out);
	free(args);
	free(conf);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/*
 * SIGTERM under load: the daemon stops accepting, finishes requests in
 * progress, flushes its sinks and exits 0; every request answered 200 is in
 * the file (nothing acknowledged is lost).
 */
START_TEST(t_sigterm_drain)
{
	enum { NCONN = 8, EACH = 100000 };
	struct tu_daemon *d = tu_daemon_start(NULL, NULL);
	struct loader l[NCONN];
	pthread_t th[NCONN];
	atomic_int total = 0;
	char *body, **lines;
	size_t len, n, i;
	int ok = 0, waited;

	body = tu_sample("alert-indication.xml", &len);
	for (i = 0; i < NCONN; i++) {
		l[i] = (struct loader){ d->port, EACH, body, len, 0, &total };
		pthread_create(&th[i], NULL, load_thread, &l[i]);
	}
	for (waited = 0; atomic_load(&total) < 2000 && waited < 60000;
	    waited += 5)
		usleep(5000);
	ck_assert_int_ge(atomic_load(&total), 2000);
	kill(d->pid, SIGTERM);
	ck_assert(tu_daemon_wait(d, 30000));
	ck_assert_int_eq(d->status, 0);
	/* The loaders now fail fast (connection refused) and finish. */
	for (i = 0; i < NCONN; i++) {
		pthread_join(th[i], NULL);
		ok += l[i].ok;
	}
	lines = tu_read_lines(d->out, &n);
	ck_assert_msg(n == (size_t)ok, "%zu lines for %d acknowledged", n, ok);
	tu_free_lines(lines);
	ck_assert(tu_daemon_log_has(d, "shutting down"));
	free(body);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

Suite *listener_suite(void);

Suite *
listener_suite(void)
{
	Suite *s = suite_create("listener");
	TCase *tc;

	tc = tcase_create("samples");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, t_samples_sfcb);
	tcase_add_loop_test(tc, t_samples_pegasus, 0, NSAMPLES);
	suite_add_tcase(s, tc);

	tc = tcase_create("protocol");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, t_http_rows);
	tcase_add_test(tc, t_mpost);
	tcase_add_test(tc, t_strict);
	tcase_add_test(tc, t_liberal);
	tcase_add_test(tc, t_framing);
	tcase_add_test(tc, t_connection_memory);
	tcase_add_test(tc, t_hostile);
	tcase_add_test(tc, t_huge_chunked);
	tcase_add_test(tc, t_stalled_client);
	tcase_add_test(tc, t_signals);
	tcase_add_test(tc, t_cmdline);
	tcase_add_test(tc, t_background);
	tcase_add_test(tc, t_ipv6);
	suite_add_tcase(s, tc);

	tc = tcase_create("load");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, t_load_distinct);
	tcase_add_test(tc, t_sigterm_drain);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = tu_run(listener_suite());
	curl_global_cleanup();
	return rc;
}
