/*
 * The DSP0200 export protocol rules, apart from any HTTP library so that
 * they can be unit-tested: what a request's method and headers allow before
 * the body is read (export_check_request), whether the headers agree with
 * the parsed body (export_check_message), and the answer to send in every
 * case (struct export_answer: status, CIMError, CIMErrorDetails, extra
 * headers and body).
 */
#ifndef CL_EXPORT_H
#define CL_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cimxml.h"

/* CIMErrorDetails is one line of at most this many bytes. */
#define EXPORT_DETAILS_MAX 200
/* Retry-After seconds sent with 503. */
#define EXPORT_RETRY_AFTER 5

/* The DMTF extension URI that M-POST's Man: (or Opt:) header declares. */
#define EXPORT_MAN_URI "http://www.dmtf.org/cim/mapping/http/v1.0"

/* One request header as received (names compare case-insensitively). */
struct export_header {
	const char *name;
	const char *value;
};

/* A request as far as it is known before the body. */
struct export_request {
	const char *method;		     /* "POST", "M-POST", ... */
	const struct export_header *headers; /* every header, in order */
	size_t nheaders;
	bool strict;	   /* CIM headers required */
	uint64_t max_body; /* bytes; 0 for no limit */
	unsigned max_headers; /* header lines; 0 for no limit */
};

/* What the headers said, kept for the checks after the body. */
struct export_info {
	char prefix[8];	     /* "73-" for M-POST's CIM headers, else "" */
	char *export_method; /* CIMExportMethod (malloc'd), NULL if absent */
	int protocol_major;  /* CIMProtocolVersion major, -1 if absent */
	bool batch;	     /* CIMExportBatch present */
	bool has_length;     /* Content-Length present */
	uint64_t content_length;
	bool chunked; /* Transfer-Encoding: chunked */
};

/*
 * What to send back. An answer starts zeroed; each export_answer_* call
 * replaces what it held. The body is owned by the answer.
 */
struct export_answer {
	int status;	      /* HTTP status, 0 while undecided */
	const char *cimerror; /* CIMError header (static), NULL for none */
	char details[EXPORT_DETAILS_MAX + 1]; /* CIMErrorDetails, "" for none */
	const char *allow;	  /* Allow header (static), NULL for none */
	unsigned retry_after;	  /* Retry-After seconds, 0 for none */
	bool method_error;	  /* 200 carrying export-level ERROR elements */
	bool close;		  /* framing unusable or body too large: answer
				     before the body and close the connection */
	bool cimexport;		  /* add "CIMExport: MethodResponse" */
	const char *content_type; /* static */
	char *body;		  /* malloc'd, NUL-terminated */
	size_t bodylen;
};

enum export_verdict {
	EXPORT_DISPATCH, /* accept the message; answer once it is taken */
	EXPORT_ANSWERED, /* the answer is decided; dispatch nothing */
};

/*
 * Check the method and headers before the body. Returns 0 to go on reading
 * the body (info filled; free it with export_info_clear), or -1 with ans
 * filled with the error answer.
 */
int export_check_request(const struct export_request *, struct export_info *,
    struct export_answer *);
void export_info_clear(struct export_info *);

/*
 * Check a parsed message against the headers. EXPORT_DISPATCH when every
 * export call is acceptable (ans untouched: dispatch, then
 * export_answer_success or export_answer_unavailable); otherwise
 * EXPORT_ANSWERED with ans filled: a 400 for a header/body disagreement, or
 * a 200 carrying an ERROR element per export call (all or nothing).
 */
enum export_verdict export_check_message(const struct export_info *,
    const struct cimxml_message *, struct export_answer *);

/* 200 with the SIMPLEEXPRSP/MULTIEXPRSP body echoing the MESSAGE ID. */
void export_answer_success(
    struct export_answer *, const struct cimxml_message *);
/* The answer for a body the parser rejected (400/501 with its CIMError). */
void export_answer_parse_error(
    struct export_answer *, enum cimxml_status, const char *reason);
/* 413: the body is larger than max_body. */
void export_answer_too_large(struct export_answer *, uint64_t max_body);
/* 503 + Retry-After: could not take the message now. */
void export_answer_unavailable(struct export_answer *, const char *cause);
/* Any other error answer; cimerror may be NULL. */
void export_answer_error(struct export_answer *, int status,
    const char *cimerror, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void export_answer_free(struct export_answer *);

/*
 * Make `in` fit a header value: CR, LF and tab become spaces, other control
 * characters are dropped, at most EXPORT_DETAILS_MAX bytes (never cutting a
 * UTF-8 sequence). out must hold EXPORT_DETAILS_MAX + 1 bytes.
 */
void export_sanitize_details(char *out, const char *in);

#endif
