/*
 * export.c: the DSP0200 export protocol as a set of decisions. Before the
 * body: the method, the framing headers (Content-Length, Transfer-Encoding),
 * Content-Type and its charset, and the CIM headers (CIMExport,
 * CIMExportMethod, CIMProtocolVersion, CIMExportBatch; for M-POST under the
 * "NN-" prefix declared by Man:). After the body: the headers must agree
 * with the parsed message, and export calls with an export-level error make
 * the whole message an HTTP 200 carrying ERROR elements, dispatching
 * nothing. Every outcome is a struct export_answer that the HTTP layer
 * sends as it is; nothing here knows about libmicrohttpd.
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "export.h"
#include "xmalloc.h"

#define CT_TEXT "text/plain; charset=utf-8"
#define CT_XML "application/xml; charset=\"utf-8\""

/* A header value without surrounding blanks: start and length. */
struct span {
	const char *p;
	size_t len;
};

static const char *const cim_header_names[] = {
    "CIMExport", "CIMExportMethod", "CIMProtocolVersion", "CIMExportBatch"};

/* Trim spaces and tabs around s. */
static struct span
trim(const char *s)
{
	struct span sp;

	while (*s == ' ' || *s == '\t')
		s++;
	sp.p = s;
	sp.len = strlen(s);
	while (sp.len > 0 && (s[sp.len - 1] == ' ' || s[sp.len - 1] == '\t'))
		sp.len--;
	return sp;
}

/* Whether the span equals word, ignoring case. */
static bool
span_is(struct span sp, const char *word)
{
	return sp.len == strlen(word) && strncasecmp(sp.p, word, sp.len) == 0;
}

/* First value of header `name` and how many times it occurs. */
static const char *
find_header(const struct export_request *req, const char *name, size_t *countp)
{
	const char *first = NULL;
	size_t i, count = 0;

	for (i = 0; i < req->nheaders; i++) {
		if (strcasecmp(req->headers[i].name, name) != 0)
			continue;
		if (count++ == 0)
			first = req->headers[i].value;
	}
	if (countp != NULL)
		*countp = count;
	return first;
}

/*
 * A CIM header under the request's prefix ("73-CIMExport"), or unprefixed
 * when no prefixed one was sent.
 */
static const char *
find_cim_header(const struct export_request *req, const char *prefix,
    const char *name, size_t *countp)
{
	char full[64];
	const char *v;

	if (*prefix != '\0') {
		snprintf(full, sizeof full, "%s%s", prefix, name);
		if ((v = find_header(req, full, countp)) != NULL)
			return v;
	}
	return find_header(req, name, countp);
}

/* RFC 9110 token character. */
static bool
is_tchar(int c)
{
	return isalnum(c) ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static void
skip_ows(const char **sp)
{
	while (**sp == ' ' || **sp == '\t')
		(*sp)++;
}

/* Read a token at *sp; false if there is none. */
static bool
read_token(const char **sp, struct span *tok)
{
	tok->p = *sp;
	while (is_tchar((unsigned char)**sp))
		(*sp)++;
	tok->len = *sp - tok->p;
	return tok->len > 0;
}

/*
 * Read a parameter value (token or quoted-string) at *sp into out (at most
 * outsz - 1 bytes kept; longer values are truncated and still consumed).
 */
static bool
read_param_value(const char **sp, char *out, size_t outsz)
{
	const char *s = *sp;
	size_t o = 0;
	struct span tok;

	if (*s == '"') {
		for (s++; *s != '"'; s++) {
			if (*s == '\0')
				return false;
			if (*s == '\\' && s[1] != '\0')
				s++;
			if (o + 1 < outsz)
				out[o++] = *s;
		}
		s++;
	} else {
		if (!read_token(&s, &tok))
			return false;
		o = tok.len < outsz - 1 ? tok.len : outsz - 1;
		memcpy(out, tok.p, o);
	}
	out[o] = '\0';
	*sp = s;
	return true;
}

/*
 * Content-Type must be application/xml or text/xml, with no charset or
 * charset utf-8 (any case, quoted or not). Returns 0 or -1 with *why.
 */
static int
check_content_type(const char *ct, const char **why)
{
	const char *s = ct;
	struct span type, sub, name;
	char value[32];
	bool seen_charset = false;

	skip_ows(&s);
	if (!read_token(&s, &type) || *s++ != '/' || !read_token(&s, &sub)) {
		*why = "malformed Content-Type";
		return -1;
	}
	if (!(span_is(sub, "xml") &&
		(span_is(type, "application") || span_is(type, "text")))) {
		*why = "Content-Type is not application/xml or text/xml";
		return -1;
	}
	for (;;) {
		skip_ows(&s);
		if (*s == '\0')
			break;
		if (*s++ != ';') {
			*why = "malformed Content-Type parameters";
			return -1;
		}
		skip_ows(&s);
		if (*s == '\0' || *s == ';')
			continue;
		if (!read_token(&s, &name)) {
			*why = "malformed Content-Type parameters";
			return -1;
		}
		skip_ows(&s);
		if (*s++ != '=') {
			*why = "malformed Content-Type parameters";
			return -1;
		}
		skip_ows(&s);
		if (!read_param_value(&s, value, sizeof value)) {
			*why = "malformed Content-Type parameters";
			return -1;
		}
		if (!span_is(name, "charset"))
			continue;
		if (seen_charset) {
			*why = "Content-Type has more than one charset";
			return -1;
		}
		seen_charset = true;
		if (strcasecmp(value, "utf-8") != 0) {
			*why = "Content-Type charset is not utf-8";
			return -1;
		}
	}
	return 0;
}

/*
 * The header prefix for CIM headers: "NN-" from a Man: or Opt: declaration
 * of the DMTF mapping with ns=NN. Returns true if the mapping was declared.
 */
static bool
declared_prefix(const struct export_request *req, char prefix[8])
{
	static const char *const hdrs[] = {"Man", "Opt"};
	const char *s;
	struct span uri, pname;
	char value[16];
	size_t h, i, n;
	bool declared = false, mine;

	*prefix = '\0';
	for (h = 0; h < 2; h++) {
		for (i = 0; i < req->nheaders; i++) {
			if (strcasecmp(req->headers[i].name, hdrs[h]) != 0)
				continue;
			s = req->headers[i].value;
			for (;;) {
				/* One ext-decl: "URI" or URI, then ;params. */
				skip_ows(&s);
				if (*s == '"') {
					uri.p = ++s;
					while (*s != '\0' && *s != '"')
						s++;
					uri.len = s - uri.p;
					if (*s == '"')
						s++;
				} else {
					uri.p = s;
					while (*s != '\0' && *s != ';' &&
					       *s != ',' && *s != ' ' &&
					       *s != '\t')
						s++;
					uri.len = s - uri.p;
				}
				if (uri.len > 0 && uri.p[uri.len - 1] == '/')
					uri.len--;
				mine = span_is(uri, EXPORT_MAN_URI);
				if (mine)
					declared = true;
				for (;;) {
					skip_ows(&s);
					if (*s != ';')
						break;
					s++;
					skip_ows(&s);
					if (!read_token(&s, &pname))
						break;
					skip_ows(&s);
					if (*s != '=')
						continue;
					s++;
					skip_ows(&s);
					if (!read_param_value(
						&s, value, sizeof value))
						break;
					n = strspn(value, "0123456789");
					if (mine && span_is(pname, "ns") &&
					    n > 0 && n <= 5 &&
					    value[n] == '\0') {
						memcpy(prefix, value, n);
						prefix[n] = '-';
						prefix[n + 1] = '\0';
					}
				}
				/* Skip to the next declaration. */
				while (*s != '\0' && *s != ',')
					s++;
				if (*s == '\0')
					break;
				s++;
			}
		}
	}
	return declared;
}

/*
 * Liberal fallback for an M-POST that did not declare its prefix: the
 * digits of the first "NN-CIMExport..." header sent.
 */
static bool
guess_prefix(const struct export_request *req, char prefix[8])
{
	const char *name;
	size_t i, j, n;

	for (i = 0; i < req->nheaders; i++) {
		name = req->headers[i].name;
		n = strspn(name, "0123456789");
		if (n == 0 || n > 5 || name[n] != '-')
			continue;
		for (j = 0; j < 4; j++) {
			if (strcasecmp(name + n + 1, cim_header_names[j]) ==
			    0) {
				memcpy(prefix, name, n + 1);
				prefix[n + 1] = '\0';
				return true;
			}
		}
	}
	return false;
}

/* Parse "M" or "M.N" (blanks around allowed); the major, or -1. */
static int
parse_major(const char *s)
{
	struct span sp = trim(s);
	size_t i, n;
	long major;

	n = 0;
	while (n < sp.len && isdigit((unsigned char)sp.p[n]))
		n++;
	if (n == 0 || n > 6)
		return -1;
	if (n < sp.len) {
		if (sp.p[n] != '.' || n + 1 == sp.len)
			return -1;
		for (i = n + 1; i < sp.len; i++) {
			if (!isdigit((unsigned char)sp.p[i]))
				return -1;
		}
	}
	major = strtol(sp.p, NULL, 10);
	return (int)major;
}

/* Parse a Content-Length value: digits only (leading zeros fine). */
static int
parse_length(const char *s, uint64_t *out)
{
	struct span sp = trim(s);
	uint64_t v = 0;
	size_t i;

	if (sp.len == 0)
		return -1;
	for (i = 0; i < sp.len; i++) {
		if (!isdigit((unsigned char)sp.p[i]))
			return -1;
		if (v > (UINT64_MAX - 9) / 10)
			v = UINT64_MAX; /* saturate: too large anyway */
		else
			v = v * 10 + (uint64_t)(sp.p[i] - '0');
	}
	*out = v;
	return 0;
}

void
export_sanitize_details(char *out, const char *in)
{
	size_t o = 0, i, k, need;
	unsigned char c;

	for (i = 0; in[i] != '\0'; i++) {
		c = (unsigned char)in[i];
		if (c == '\r' || c == '\n' || c == '\t')
			c = ' ';
		else if (c < 0x20 || c == 0x7f)
			continue;
		if (c == ' ' && (o == 0 || out[o - 1] == ' '))
			continue;
		/* Whole UTF-8 sequences only: a stray continuation byte, a
		 * lead byte that cannot start one, or one not followed by
		 * enough continuation bytes is dropped (never what follows
		 * it, which may be a CR or LF). */
		need = 1;
		if (c >= 0xf5 || (c >= 0x80 && c < 0xc2))
			continue;
		if (c >= 0xf0)
			need = 4;
		else if (c >= 0xe0)
			need = 3;
		else if (c >= 0xc0)
			need = 2;
		for (k = 1; k < need; k++)
			if (((unsigned char)in[i + k] & 0xc0) != 0x80)
				break;
		if (k < need)
			continue;
		if (o + need > EXPORT_DETAILS_MAX)
			break;
		out[o++] = (char)c;
		for (k = 1; k < need; k++)
			out[o++] = in[++i];
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

void
export_answer_free(struct export_answer *ans)
{
	free(ans->body);
	memset(ans, 0, sizeof *ans);
}

/* An error answer with a text/plain body holding the reason. */
static void
answer_vset(struct export_answer *ans, int status, const char *cimerror,
    const char *fmt, va_list ap)
{
	char *reason;
	struct buf b = BUF_INIT;

	export_answer_free(ans);
	xvasprintf(&reason, fmt, ap);
	ans->status = status;
	ans->cimerror = cimerror;
	export_sanitize_details(ans->details, reason);
	free(reason);
	ans->content_type = CT_TEXT;
	buf_adds(&b, ans->details);
	buf_addc(&b, '\n');
	ans->body = buf_steal(&b, &ans->bodylen);
}

void
export_answer_error(struct export_answer *ans, int status, const char *cimerror,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	answer_vset(ans, status, cimerror, fmt, ap);
	va_end(ap);
}

void
export_answer_parse_error(
    struct export_answer *ans, enum cimxml_status status, const char *reason)
{
	if (reason == NULL || *reason == '\0')
		reason = "invalid request body";
	export_answer_error(ans, cimxml_status_http(status),
	    cimxml_status_cimerror(status), "%s", reason);
}

void
export_answer_too_large(struct export_answer *ans, uint64_t max_body)
{
	export_answer_error(ans, 413, NULL,
	    "request body larger than max_body (%llu bytes)",
	    (unsigned long long)max_body);
}

void
export_answer_unavailable(struct export_answer *ans, const char *cause)
{
	export_answer_error(ans, 503, NULL, "%s",
	    cause != NULL ? cause : "temporarily unavailable");
	ans->retry_after = EXPORT_RETRY_AFTER;
}

void
export_info_clear(struct export_info *info)
{
	free(info->export_method);
	memset(info, 0, sizeof *info);
	info->protocol_major = -1;
}

int
export_check_request(const struct export_request *req, struct export_info *info,
    struct export_answer *ans)
{
	const char *v, *why;
	const char *hv[4];
	size_t count, i;
	bool mpost;
	struct span sp;

	memset(info, 0, sizeof *info);
	info->protocol_major = -1;

	/* Method. */
	mpost = strcmp(req->method, "M-POST") == 0;
	if (!mpost && strcmp(req->method, "POST") != 0) {
		export_answer_error(ans, 405, NULL,
		    "method %.32s not allowed; use POST or M-POST",
		    req->method);
		ans->allow = "POST, M-POST";
		return -1;
	}

	/* Header count (their total size is bounded by libmicrohttpd). */
	if (req->max_headers != 0 && req->nheaders > req->max_headers) {
		export_answer_error(ans, 431, NULL,
		    "%zu request headers, more than max_headers (%u)",
		    req->nheaders, req->max_headers);
		ans->close = true;
		return -1;
	}

	/* Framing. */
	if ((v = find_header(req, "Content-Length", &count)) != NULL) {
		if (count > 1) {
			export_answer_error(
			    ans, 400, NULL, "duplicate Content-Length header");
			ans->close = true;
			return -1;
		}
		if (parse_length(v, &info->content_length) != 0) {
			export_answer_error(
			    ans, 400, NULL, "malformed Content-Length header");
			ans->close = true;
			return -1;
		}
		info->has_length = true;
	}
	if ((v = find_header(req, "Transfer-Encoding", &count)) != NULL) {
		if (count > 1 || !span_is(trim(v), "chunked")) {
			export_answer_error(ans, 501, NULL,
			    "unsupported Transfer-Encoding; only chunked is "
			    "implemented");
			ans->close = true;
			return -1;
		}
		if (info->has_length) {
			export_answer_error(ans, 400, NULL,
			    "both Content-Length and Transfer-Encoding");
			ans->close = true;
			return -1;
		}
		info->chunked = true;
	}

	/* Content-Type. */
	if ((v = find_header(req, "Content-Type", &count)) == NULL) {
		export_answer_error(
		    ans, 400, "header-mismatch", "missing Content-Type header");
		return -1;
	}
	if (count > 1) {
		export_answer_error(ans, 400, "header-mismatch",
		    "duplicate Content-Type header");
		return -1;
	}
	if (check_content_type(v, &why) != 0) {
		export_answer_error(ans, 400, "header-mismatch", "%s", why);
		return -1;
	}

	/* Where the CIM headers are: "NN-" prefixed for M-POST. */
	if (!declared_prefix(req, info->prefix) && mpost &&
	    !guess_prefix(req, info->prefix)) {
		export_answer_error(ans, 400, "header-mismatch",
		    "M-POST without a Man: header declaring " EXPORT_MAN_URI);
		return -1;
	}
	for (i = 0; i < 4; i++) {
		hv[i] = find_cim_header(
		    req, info->prefix, cim_header_names[i], &count);
		if (count > 1) {
			export_answer_error(ans, 400, "header-mismatch",
			    "duplicate %s%s header", info->prefix,
			    cim_header_names[i]);
			return -1;
		}
	}

	/* CIMExport. */
	if (hv[0] != NULL && !span_is(trim(hv[0]), "MethodRequest")) {
		sp = trim(hv[0]);
		export_answer_error(ans, 400, "unsupported-operation",
		    "CIMExport header is '%.*s', not MethodRequest",
		    (int)(sp.len > 40 ? 40 : sp.len), sp.p);
		return -1;
	}
	if (req->strict) {
		if (hv[0] == NULL) {
			export_answer_error(ans, 400, "header-mismatch",
			    "missing CIMExport header");
			return -1;
		}
		if (hv[1] == NULL && hv[3] == NULL) {
			export_answer_error(ans, 400, "header-mismatch",
			    "missing CIMExportMethod header");
			return -1;
		}
		if (hv[2] == NULL) {
			export_answer_error(ans, 400, "header-mismatch",
			    "missing CIMProtocolVersion header");
			return -1;
		}
	}

	/* CIMExportMethod, CIMProtocolVersion, CIMExportBatch. */
	if (hv[1] != NULL) {
		sp = trim(hv[1]);
		if (sp.len == 0) {
			export_answer_error(ans, 400, "header-mismatch",
			    "empty CIMExportMethod header");
			return -1;
		}
		info->export_method = xstrndup(sp.p, sp.len);
	}
	if (hv[2] != NULL && (info->protocol_major = parse_major(hv[2])) < 0) {
		sp = trim(hv[2]);
		export_answer_error(ans, 400, "header-mismatch",
		    "malformed CIMProtocolVersion header '%.*s'",
		    (int)(sp.len > 20 ? 20 : sp.len), sp.p);
		export_info_clear(info);
		return -1;
	}
	info->batch = hv[3] != NULL;

	/* Size, when it is known up front. */
	if (info->has_length && req->max_body != 0 &&
	    info->content_length > req->max_body) {
		export_answer_too_large(ans, req->max_body);
		ans->close = true;
		export_info_clear(info);
		return -1;
	}
	return 0;
}

/* Append s with the XML attribute-value escapes. */
static void
xml_escape(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			buf_adds(b, "&amp;");
			break;
		case '<':
			buf_adds(b, "&lt;");
			break;
		case '>':
			buf_adds(b, "&gt;");
			break;
		case '"':
			buf_adds(b, "&quot;");
			break;
		case '\'':
			buf_adds(b, "&apos;");
			break;
		case '\t':
			buf_adds(b, "&#9;");
			break;
		case '\n':
			buf_adds(b, "&#10;");
			break;
		case '\r':
			buf_adds(b, "&#13;");
			break;
		default:
			buf_addc(b, *s);
			break;
		}
	}
}

/* The NAME to answer with: the canonical spelling when it is ours. */
static const char *
response_name(const struct cimxml_export *e)
{
	if (e->method == NULL)
		return "";
	if (strcasecmp(e->method, "ExportIndication") == 0)
		return "ExportIndication";
	return e->method;
}

/*
 * Build the 200 CIM-XML body. With errs (one CIM status code per export,
 * 0 for none) and descs, EXPMETHODRESPONSEs carry ERROR elements.
 */
static void
answer_xml(struct export_answer *ans, const struct cimxml_message *msg,
    const int *errs, const char *const *descs)
{
	struct buf b = BUF_INIT;
	size_t i;
	bool multi = msg->multi || msg->nexports != 1;

	export_answer_free(ans);
	buf_adds(&b, "<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.4\">"
		     "<MESSAGE ID=\"");
	xml_escape(&b, msg->id != NULL ? msg->id : "");
	buf_adds(&b, "\" PROTOCOLVERSION=\"1.4\">");
	if (multi)
		buf_adds(&b, "<MULTIEXPRSP>");
	for (i = 0; i < msg->nexports; i++) {
		buf_adds(&b, "<SIMPLEEXPRSP><EXPMETHODRESPONSE NAME=\"");
		xml_escape(&b, response_name(&msg->exports[i]));
		if (errs == NULL || errs[i] == 0)
			buf_adds(&b, "\"/>");
		else {
			buf_printf(&b, "\"><ERROR CODE=\"%d\" DESCRIPTION=\"",
			    errs[i]);
			xml_escape(&b, descs[i]);
			buf_adds(&b, "\"/></EXPMETHODRESPONSE>");
		}
		buf_adds(&b, "</SIMPLEEXPRSP>");
	}
	if (multi)
		buf_adds(&b, "</MULTIEXPRSP>");
	buf_adds(&b, "</MESSAGE></CIM>");

	ans->status = 200;
	ans->cimexport = true;
	ans->content_type = CT_XML;
	ans->body = buf_steal(&b, &ans->bodylen);
}

void
export_answer_success(
    struct export_answer *ans, const struct cimxml_message *msg)
{
	answer_xml(ans, msg, NULL, NULL);
}

/* The default description of a CIM status code. */
static const char *
cim_error_text(int code)
{
	switch (code) {
	case CIM_ERR_FAILED:
		return "CIM_ERR_FAILED";
	case CIM_ERR_INVALID_PARAMETER:
		return "CIM_ERR_INVALID_PARAMETER";
	case CIM_ERR_NOT_SUPPORTED:
		return "CIM_ERR_NOT_SUPPORTED";
	}
	return "CIM error";
}

/* Answer 200 with an ERROR for every export call (all or nothing). */
static void
answer_method_errors(
    struct export_answer *ans, const struct cimxml_message *msg)
{
	int *errs;
	const char **descs;
	char **owned;
	char *details;
	size_t i, first = msg->nexports;
	const struct cimxml_export *e;

	errs = xcalloc(msg->nexports, sizeof *errs);
	descs = xcalloc(msg->nexports, sizeof *descs);
	owned = xcalloc(msg->nexports, sizeof *owned);
	for (i = 0; i < msg->nexports; i++) {
		e = &msg->exports[i];
		if (e->cim_error == 0)
			continue;
		if (first == msg->nexports)
			first = i;
		errs[i] = e->cim_error;
		descs[i] = e->error_description != NULL &&
				   *e->error_description != '\0'
			       ? e->error_description
			       : cim_error_text(e->cim_error);
	}
	for (i = 0; i < msg->nexports; i++) {
		if (errs[i] != 0)
			continue;
		errs[i] = CIM_ERR_FAILED;
		xasprintf(
		    &owned[i], "batch rejected: request %zu failed", first + 1);
		descs[i] = owned[i];
	}
	answer_xml(ans, msg, errs, descs);
	ans->method_error = true;
	if (msg->multi || msg->nexports != 1) {
		xasprintf(&details, "request %zu: %s", first + 1, descs[first]);
		export_sanitize_details(ans->details, details);
		free(details);
	} else
		export_sanitize_details(ans->details, descs[first]);
	for (i = 0; i < msg->nexports; i++)
		free(owned[i]);
	free(owned);
	free(descs);
	free(errs);
}

enum export_verdict
export_check_message(const struct export_info *info,
    const struct cimxml_message *msg, struct export_answer *ans)
{
	const struct cimxml_export *e;
	size_t i;
	int major;

	if (info->export_method != NULL) {
		for (i = 0; i < msg->nexports; i++) {
			e = &msg->exports[i];
			if (e->method != NULL &&
			    strcasecmp(e->method, info->export_method) == 0)
				continue;
			export_answer_error(ans, 400, "header-mismatch",
			    "CIMExportMethod header '%.40s' does not match "
			    "the body's method '%.40s'",
			    info->export_method,
			    e->method != NULL ? e->method : "");
			return EXPORT_ANSWERED;
		}
	}
	if (info->protocol_major >= 0) {
		major = msg->protocol_version != NULL
			    ? parse_major(msg->protocol_version)
			    : -1;
		if (major != info->protocol_major) {
			export_answer_error(ans, 400, "header-mismatch",
			    "CIMProtocolVersion header (major %d) does not "
			    "match the body's PROTOCOLVERSION '%.20s'",
			    info->protocol_major,
			    msg->protocol_version != NULL
				? msg->protocol_version
				: "");
			return EXPORT_ANSWERED;
		}
	}
	if (info->batch && !msg->multi) {
		export_answer_error(ans, 400, "header-mismatch",
		    "CIMExportBatch header with a SIMPLEEXPREQ body");
		return EXPORT_ANSWERED;
	}
	if (!info->batch && msg->multi) {
		export_answer_error(ans, 400, "header-mismatch",
		    "MULTIEXPREQ body without a CIMExportBatch header");
		return EXPORT_ANSWERED;
	}
	for (i = 0; i < msg->nexports; i++) {
		if (msg->exports[i].cim_error != 0) {
			answer_method_errors(ans, msg);
			return EXPORT_ANSWERED;
		}
	}
	return EXPORT_DISPATCH;
}
