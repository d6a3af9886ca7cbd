/*
 * CIM-XML (DSP0201) export-message parser on libxml2's SAX2 push interface.
 *
 * Pure: no globals, no I/O, no logging. Feed the request body as it arrives
 * (cimxml_parser_feed), then cimxml_parser_finish; or call cimxml_parse on a
 * whole buffer. The result is a struct cimxml_message owned by the caller
 * (cimxml_message_free), or a status saying which DSP0200 error class the
 * body falls in, with a one-line human-readable reason.
 *
 * Export-method-level problems (an unknown method, parameters other than
 * exactly one NewIndication INSTANCE) are not parse errors: they are
 * reported per export call in cimxml_export.cim_error so that the listener
 * can answer HTTP 200 with an ERROR element, as DSP0200 requires.
 */
#ifndef CL_CIMXML_H
#define CL_CIMXML_H

#include <stdbool.h>
#include <stddef.h>

#include "cim.h"

enum cimxml_status {
	CIMXML_OK = 0,
	CIMXML_NOT_WELL_FORMED,       /* 400 request-not-well-formed */
	CIMXML_NOT_VALID,             /* 400 request-not-valid */
	CIMXML_BAD_PROTOCOL_VERSION,  /* 501 unsupported-protocol-version */
	CIMXML_BAD_CIM_VERSION,       /* 501 unsupported-cim-version */
	CIMXML_BAD_DTD_VERSION,       /* 501 unsupported-dtd-version */
};

/* DSP0200 CIM status codes used at the export-method level. */
#define CIM_ERR_FAILED 1
#define CIM_ERR_INVALID_PARAMETER 4
#define CIM_ERR_NOT_SUPPORTED 7

/*
 * max_xml_depth counts elements from the message root down through embedded
 * instances (an embedded INSTANCE is one level below the VALUE holding it);
 * 0 means the default. The indication itself is at embedding depth 0, an
 * instance embedded in it at 1; max_embedding_depth 0 allows none.
 * max_elements counts the elements of the message, those of the instances
 * embedded in it included.
 */
struct cimxml_limits {
	unsigned max_xml_depth;       /* element nesting, default 64 */
	unsigned max_embedding_depth; /* embedded instances in embedded instances, default 8 */
	unsigned max_elements;	      /* elements in a message, 0: default */
	size_t max_attribute_length;  /* bytes in an attribute value, 0: default */
	size_t max_text_length;	      /* bytes in a VALUE, KEYVALUE or HOST, 0: default */
};
#define CIMXML_DEFAULT_MAX_XML_DEPTH 64
#define CIMXML_DEFAULT_MAX_EMBEDDING_DEPTH 8
#define CIMXML_DEFAULT_MAX_ELEMENTS 100000
#define CIMXML_DEFAULT_MAX_ATTRIBUTE_LENGTH 65536
#define CIMXML_DEFAULT_MAX_TEXT_LENGTH (1024 * 1024)

/* One EXPMETHODCALL. */
struct cimxml_export {
	const char *method;            /* NAME as sent */
	int cim_error;                 /* 0, CIM_ERR_NOT_SUPPORTED or CIM_ERR_INVALID_PARAMETER */
	const char *error_description; /* one line, when cim_error != 0 */
	struct cim_instance *indication; /* the NewIndication, when cim_error == 0 */
};

struct cimxml_message {
	struct arena *arena;           /* owns everything reachable from here */
	const char *id;                /* MESSAGE ID */
	const char *protocol_version;  /* MESSAGE PROTOCOLVERSION, e.g. "1.4" */
	const char *cim_version;       /* CIM CIMVERSION */
	const char *dtd_version;       /* CIM DTDVERSION */
	bool multi;                    /* MULTIEXPREQ */
	size_t nexports;               /* >= 1 (SIMPLEEXPREQ: exactly 1) */
	struct cimxml_export *exports;
};

struct cimxml_parser;

/* limits may be NULL for the defaults. Never returns NULL. */
struct cimxml_parser *cimxml_parser_new(const struct cimxml_limits *limits);
/*
 * Feed the next chunk. Returns CIMXML_OK while the body is acceptable so
 * far; after the first error every further feed is ignored and returns the
 * same status.
 */
enum cimxml_status cimxml_parser_feed(struct cimxml_parser *, const char *data, size_t len);
/*
 * The same for a chunk known to be the last one: libxml2 then parses it
 * straight through instead of looking ahead for the end of every markup
 * (cheaper). Nothing may be fed after it; cimxml_parser_finish follows.
 */
enum cimxml_status cimxml_parser_feed_last(struct cimxml_parser *, const char *data, size_t len);
/*
 * End of body. On CIMXML_OK *msgp receives the message (caller frees);
 * otherwise *msgp is NULL and cimxml_parser_reason() says why.
 */
enum cimxml_status cimxml_parser_finish(struct cimxml_parser *, struct cimxml_message **msgp);
/* One line (no CR/LF), at most 200 bytes; "" when there is no error. */
const char *cimxml_parser_reason(const struct cimxml_parser *);
void cimxml_parser_free(struct cimxml_parser *);

/* One-shot: the whole body at once. *reasonp (if not NULL) gets a malloc'd copy of the reason on error. */
enum cimxml_status cimxml_parse(const char *data, size_t len,
    const struct cimxml_limits *limits, struct cimxml_message **msgp, char **reasonp);

void cimxml_message_free(struct cimxml_message *);

/* "request-not-well-formed" etc. for the CIMError header; NULL for OK. */
const char *cimxml_status_cimerror(enum cimxml_status);
/* 400 or 501 (200 for OK). */
int cimxml_status_http(enum cimxml_status);

#endif
