/*
 * fuzz_http.c: libFuzzer target for the request handling path without
 * sockets. The input is a raw HTTP request: its request line and headers
 * (up to the blank line) become the export_request that http.c builds from
 * libmicrohttpd's view, export_check_request decides on them, and when it
 * lets the body in, the rest of the input (de-chunked when the headers say
 * chunked) is fed to the CIM-XML push parser in chunks whose sizes come
 * from the input, then export_check_message and the answer, as http.c does.
 * Every answer must be well-formed: a status, a one-line CIMErrorDetails.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cimxml.h"
#include "export.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define MAX_HEADERS 128

/* The answer is what http.c would send: check its shape. */
static void
check_answer(const struct export_answer *a)
{
	if (a->status < 100 || a->status > 599)
		abort();
	if (strlen(a->details) > EXPORT_DETAILS_MAX ||
	    strpbrk(a->details, "\r\n") != NULL)
		abort();
	if (a->body != NULL && strlen(a->body) != a->bodylen)
		abort();
	if (a->status != 200 && a->cimexport)
		abort();
}

/* Next line of [*p, end): NUL-terminated in place (CRLF or LF); NULL at end. */
static char *
next_line(char **p, char *end)
{
	char *s = *p, *nl;

	if (s >= end)
		return NULL;
	nl = memchr(s, '\n', (size_t)(end - s));
	if (nl == NULL) {
		*p = end;
		return NULL; /* headers never ended */
	}
	*p = nl + 1;
	if (nl > s && nl[-1] == '\r')
		nl[-1] = '\0';
	*nl = '\0';
	return s;
}

/* Chunked framing decoded in place; returns the body length, or -1. */
static long
dechunk(char *s, size_t len)
{
	char *p = s, *end = s + len, *out = s, *e;
	unsigned long n;

	for (;;) {
		n = strtoul(p, &e, 16);
		if (e == p || (e = memchr(e, '\n', (size_t)(end - e))) == NULL)
			return -1;
		p = e + 1;
		if (n == 0)
			return out - s;
		if (n > (size_t)(end - p))
			return -1;
		memmove(out, p, n);
		out += n;
		p += n;
		if (p < end && *p == '\r')
			p++;
		if (p < end && *p == '\n')
			p++;
	}
}

static void
feed_body(const struct export_info *info, const char *body, size_t len,
    const uint8_t *data, size_t size)
{
	struct cimxml_limits lim = { .max_xml_depth = 32,
		.max_embedding_depth = 3, .max_elements = 5000,
		.max_attribute_length = 4096, .max_text_length = 16384 };
	struct export_answer ans = { 0 };
	struct cimxml_message *m;
	struct cimxml_parser *p;
	enum cimxml_status st;
	size_t off, n, i = 0;

	p = cimxml_parser_new(&lim);
	for (off = 0; off < len; off += n) {
		n = 1 + (size > 0 ? data[i++ % size] : 0);
		if (n > len - off)
			n = len - off;
		cimxml_parser_feed(p, body + off, n);
	}
	st = cimxml_parser_finish(p, &m);
	if (st != CIMXML_OK)
		export_answer_parse_error(&ans, st, cimxml_parser_reason(p));
	else if (export_check_message(info, m, &ans) == EXPORT_DISPATCH)
		export_answer_success(&ans, m);
	check_answer(&ans);
	export_answer_free(&ans);
	cimxml_message_free(m);
	cimxml_parser_free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct export_header headers[MAX_HEADERS];
	struct export_request req = { 0 };
	struct export_answer ans = { 0 };
	struct export_info info;
	char *copy, *p, *end, *line, *sp, *colon, *v;
	size_t nh = 0;
	long blen;

	copy = malloc(size + 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	p = copy;
	end = copy + size;

	/* Request line: METHOD SP PATH SP VERSION. */
	line = next_line(&p, end);
	if (line == NULL || (sp = strchr(line, ' ')) == NULL)
		goto out;
	*sp = '\0';
	req.method = line;
	while ((line = next_line(&p, end)) != NULL && *line != '\0') {
		if ((colon = strchr(line, ':')) == NULL || nh == MAX_HEADERS)
			goto out; /* libmicrohttpd answers 400 itself */
		*colon = '\0';
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		headers[nh].name = line;
		headers[nh].value = v;
		nh++;
	}
	if (line == NULL)
		goto out;
	req.headers = headers;
	req.nheaders = nh;
	req.strict = size > 0 && (data[0] & 1);
	req.max_body = 65536;
	req.max_headers = 64;

	memset(&info, 0, sizeof info);
	if (export_check_request(&req, &info, &ans) != 0) {
		check_answer(&ans);
		export_answer_free(&ans);
		goto out;
	}
	blen = end - p;
	if (info.chunked)
		blen = dechunk(p, (size_t)blen);
	else if (info.has_length && info.content_length < (uint64_t)blen)
		blen = (long)info.content_length;
	if (blen >= 0 && (uint64_t)blen <= req.max_body)
		feed_body(&info, p, (size_t)blen, data, size);
	export_info_clear(&info);
out:
	free(copy);
	return 0;
}
