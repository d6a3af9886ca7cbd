/*
 * cimxml.c: the CIM-XML (DSP0201) export-message parser, see cimxml.h.
 *
 * libxml2's SAX2 push parser tokenizes; this file is a state machine over
 * the element stack that checks the export grammar and builds the typed
 * model of cim.h in the message's arena as elements close. Text is collected
 * in one reusable buffer; the properties of the instance being parsed, the
 * items of the array being parsed and the exports of the message live in
 * reusable scratch arrays and are copied into the arena once complete, so a
 * parse does no malloc beyond the arena's chunks and libxml2's own context.
 *
 * Embedded instances (EmbeddedObject) are parsed by a child parser on
 * its own libxml2 context that shares the arena, once the property holding
 * them is complete.
 *
 * Creating a libxml2 context costs about as much as parsing a small
 * indication, so each thread keeps a few finished ones and resets them for
 * the next parse (ctxt_get, ctxt_put). One goes back only while what a
 * message can make it keep (names in its dictionary, room for attributes
 * and nesting) is small, so a hostile message cannot make the cache grow.
 *
 * Security: no global state (errors arrive through the per-context
 * structured handler and nothing is ever printed), no DTD is loaded and no
 * entity declared in one is expanded, a DOCTYPE with an internal subset is
 * refused, and the XML declaration is checked here before libxml2 sees it
 * (libxml2 is told to ignore it) so that only UTF-8 is ever decoded.
 */
#include "autoconf.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/xmlerror.h>

#include "arena.h"
#include "buf.h"
#include "cimxml.h"
#include "xmalloc.h"

#define REASON_MAX 200
#define DECL_MAX 512 /* longest XML declaration looked at */
#define CLIP_MAX 40  /* longest piece of input quoted in a reason */
#define FEED_MAX (1 << 30)

/* Elements, as far as the parser cares. */
enum elem {
	E_UNKNOWN = 0,
	E_SKIP, /* inside something skipped (QUALIFIER, ...) */
	E_CIM,
	E_MESSAGE,
	E_SIMPLEEXPREQ,
	E_MULTIEXPREQ,
	E_EXPMETHODCALL,
	E_EXPPARAMVALUE,
	E_CORRELATOR,
	E_INSTANCE,
	E_QUALIFIER,
	E_PROPERTY,
	E_PROPERTY_ARRAY,
	E_PROPERTY_REFERENCE,
	E_PROPERTY_REFARRAY,
	E_VALUE,
	E_VALUE_NULL,
	E_VALUE_ARRAY,
	E_VALUE_REFERENCE,
	E_VALUE_REFARRAY,
	E_CLASSPATH,
	E_LOCALCLASSPATH,
	E_CLASSNAME,
	E_INSTANCEPATH,
	E_LOCALINSTANCEPATH,
	E_INSTANCENAME,
	E_NAMESPACEPATH,
	E_HOST,
	E_LOCALNAMESPACEPATH,
	E_NAMESPACE,
	E_KEYBINDING,
	E_KEYVALUE,
	E_CLASS,
	E_OTHER_MESSAGE, /* SIMPLEREQ, SIMPLERSP, ...: not an export request */
	E_OTHER_PARAM,	 /* other DSP0201 content of a parameter */
};

/* By length: elem_lookup depends on it. */
/* clang-format off */
static const struct {
	const char *name;
	size_t len;
	enum elem kind;
} elem_table[] = {
#define E(s, k) { s, sizeof s - 1, k }
	E("CIM", E_CIM),
	E("HOST", E_HOST),
	E("CLASS", E_CLASS),
	E("VALUE", E_VALUE),
	E("MESSAGE", E_MESSAGE),
	E("INSTANCE", E_INSTANCE),
	E("KEYVALUE", E_KEYVALUE),
	E("MULTIREQ", E_OTHER_MESSAGE),
	E("MULTIRSP", E_OTHER_MESSAGE),
	E("PROPERTY", E_PROPERTY),
	E("CLASSNAME", E_CLASSNAME),
	E("CLASSPATH", E_CLASSPATH),
	E("NAMESPACE", E_NAMESPACE),
	E("QUALIFIER", E_QUALIFIER),
	E("SIMPLEREQ", E_OTHER_MESSAGE),
	E("SIMPLERSP", E_OTHER_MESSAGE),
	E("CORRELATOR", E_CORRELATOR),
	E("KEYBINDING", E_KEYBINDING),
	E("VALUE.NULL", E_VALUE_NULL),
	E("MULTIEXPREQ", E_MULTIEXPREQ),
	E("MULTIEXPRSP", E_OTHER_MESSAGE),
	E("VALUE.ARRAY", E_VALUE_ARRAY),
	E("INSTANCENAME", E_INSTANCENAME),
	E("INSTANCEPATH", E_INSTANCEPATH),
	E("SIMPLEEXPREQ", E_SIMPLEEXPREQ),
	E("SIMPLEEXPRSP", E_OTHER_MESSAGE),
	E("EXPMETHODCALL", E_EXPMETHODCALL),
	E("EXPPARAMVALUE", E_EXPPARAMVALUE),
	E("NAMESPACEPATH", E_NAMESPACEPATH),
	E("LOCALCLASSPATH", E_LOCALCLASSPATH),
	E("METHODRESPONSE", E_OTHER_PARAM),
	E("PROPERTY.ARRAY", E_PROPERTY_ARRAY),
	E("VALUE.REFARRAY", E_VALUE_REFARRAY),
	E("IMETHODRESPONSE", E_OTHER_PARAM),
	E("VALUE.REFERENCE", E_VALUE_REFERENCE),
	E("LOCALINSTANCEPATH", E_LOCALINSTANCEPATH),
	E("PROPERTY.REFARRAY", E_PROPERTY_REFARRAY),
	E("LOCALNAMESPACEPATH", E_LOCALNAMESPACEPATH),
	E("PROPERTY.REFERENCE", E_PROPERTY_REFERENCE),
	E("VALUE.NAMEDINSTANCE", E_OTHER_PARAM),
#undef E
};
/* clang-format on */

_Static_assert(sizeof elem_table / sizeof elem_table[0] < 256,
    "elem_by_len holds indexes into elem_table as unsigned char");

/* Longest name in elem_table, plus one. */
#define ELEM_MAX_LEN (sizeof "VALUE.NAMEDINSTANCE")
/* elem_table's entries of length n are [elem_by_len[n], elem_by_len[n+1]). */
static unsigned char elem_by_len[ELEM_MAX_LEN + 1];

/* One open element. */
struct frame {
	enum elem kind;
	unsigned nchild; /* child elements so far */
	unsigned nval;	 /* value-like children so far */
};

/* A key binding of an instance name being built. */
struct key {
	const char *name;
	const char *value; /* rendered: "quoted", 4, true, ... */
};

enum kvtype { KV_STRING, KV_BOOLEAN, KV_NUMERIC };

/* One VALUE.REFERENCE being built (they nest through key bindings). */
struct refctx {
	const char *host;
	struct buf ns; /* namespace path, "/"-joined */
	const char *classname;
	struct key *keys;
	size_t nkeys;
	size_t keyscap;
	const char *keyname; /* of the open KEYBINDING */
	enum kvtype kvtype;  /* of the open KEYVALUE */
	const char *bare;    /* a KEYVALUE or reference without KEYBINDING */
	const char *uri;     /* the result */
};

/* The property being parsed. */
struct propstate {
	const char *name;
	size_t namelen;
	enum cim_type type;
	bool array;
	bool embedded;
	bool has_value; /* a VALUE, VALUE.ARRAY or VALUE.REFERENCE */
	struct cim_value scalar;
};

struct cimxml_parser {
	xmlParserCtxtPtr ctxt;
	struct cimxml_limits limits;
	enum cimxml_status status;
	char reason[REASON_MAX + 1];
	bool verbatim; /* reason is final: parents copy it unchanged */

	struct arena *arena;
	bool own_arena;
	struct cimxml_message *msg;
	bool finished;
	bool terminated; /* libxml2 was told the input ended */

	unsigned embed_level;	     /* 0: a message; n: an embedded instance */
	unsigned base_depth;	     /* element depth around an embedded text */
	bool is_class;		     /* embedded text is a CLASS */
	struct cim_instance *result; /* the embedded instance */

	/* XML declaration check, before libxml2 sees anything. */
	bool decl_done;
	size_t decl_len;
	char decl[DECL_MAX];

	struct frame *stack;
	unsigned depth;
	unsigned stackcap;
	unsigned *nelements; /* elements so far, shared with embedded parsers */
	unsigned own_nelements;
	bool root_done;

	struct buf text; /* VALUE, KEYVALUE, HOST text */
	int stray_line;	 /* text where only elements may be, not reported yet */
	enum elem stray_in;
	struct buf scratch; /* rendering */

	struct cimxml_export *exports;
	size_t nexports;
	size_t exportscap;
	struct cimxml_export cur; /* the open EXPMETHODCALL */
	size_t nparams;
	const char *param_name; /* the open (or only) EXPPARAMVALUE */
	struct cim_instance *param_inst;
	bool param_bad; /* the only parameter is not NewIndication */

	const char *classname; /* the open INSTANCE */
	struct cim_property *props;
	size_t *propnamelens;
	size_t nprops;
	size_t propscap;

	struct propstate prop;
	struct cim_value *vals;
	size_t nvals;
	size_t valscap;

	struct refctx *refs;
	unsigned nrefs;
	unsigned refscap;
};

static pthread_once_t cimxml_once = PTHREAD_ONCE_INIT;
static locale_t cimxml_c_locale;

/* Contexts kept per thread, and the most a kept one may hold. */
#define CTXT_CACHE 4
#define CTXT_KEEP_NAMES 512 /* dictionary entries */
#define CTXT_KEEP_ATTS 256  /* attribute slots (five per attribute) */
#define CTXT_KEEP_DEPTH 256 /* element and namespace stack slots */

struct ctxt_cache {
	unsigned n;
	xmlParserCtxtPtr v[CTXT_CACHE];
};

static pthread_key_t ctxt_key;
static bool ctxt_key_ok;

static void sax_start(void *, const xmlChar *, const xmlChar *, const xmlChar *,
    int, const xmlChar **, int, int, const xmlChar **);
static void sax_end(void *, const xmlChar *, const xmlChar *, const xmlChar *);
static void sax_characters(void *, const xmlChar *, int);
static void sax_internal_subset(
    void *, const xmlChar *, const xmlChar *, const xmlChar *);
static void sax_error(void *, xmlErrorPtr);

static const xmlSAXHandler sax_handler = {
    .internalSubset = sax_internal_subset,
    .characters = sax_characters,
    .ignorableWhitespace = sax_characters,
    .cdataBlock = sax_characters,
    .startElementNs = sax_start,
    .endElementNs = sax_end,
    .serror = sax_error,
    .initialized = XML_SAX2_MAGIC,
};

/* A thread ends: free the contexts it kept. */
static void
ctxt_cache_free(void *arg)
{
	struct ctxt_cache *c = arg;

	while (c->n > 0)
		xmlFreeParserCtxt(c->v[--c->n]);
	free(c);
}

/*
 * Process-wide, idempotent set-up: libxml2, a "C" locale for strtod and
 * the per-thread context cache (none if no key can be had).
 */
static void
cimxml_init(void)
{
	size_t i, n = sizeof elem_table / sizeof elem_table[0], k = 0;

	for (i = 0; i <= ELEM_MAX_LEN; i++) {
		while (k < n && elem_table[k].len < i)
			k++;
		elem_by_len[i] = (unsigned char)k;
	}
	xmlInitParser();
	cimxml_c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	ctxt_key_ok = pthread_key_create(&ctxt_key, ctxt_cache_free) == 0;
}

/* A push context for parser p: a kept one reset, or a new one. */
static xmlParserCtxtPtr
ctxt_get(struct cimxml_parser *p)
{
	struct ctxt_cache *c;
	xmlParserCtxtPtr ctxt;

	c = ctxt_key_ok ? pthread_getspecific(ctxt_key) : NULL;
	while (c != NULL && c->n > 0) {
		ctxt = c->v[--c->n];
		if (xmlCtxtResetPush(ctxt, NULL, 0, NULL, NULL) == 0) {
			ctxt->userData = p;
			return ctxt;
		}
		xmlFreeParserCtxt(ctxt);
	}
	return xmlCreatePushParserCtxt(
	    (xmlSAXHandlerPtr)&sax_handler, p, NULL, 0, NULL);
}

/* Keep a context for the next parse on this thread, or free it. */
static void
ctxt_put(xmlParserCtxtPtr ctxt)
{
	struct ctxt_cache *c;

	if (!ctxt_key_ok || xmlDictSize(ctxt->dict) > CTXT_KEEP_NAMES ||
	    ctxt->maxatts > CTXT_KEEP_ATTS || ctxt->nameMax > CTXT_KEEP_DEPTH ||
	    ctxt->nodeMax > CTXT_KEEP_DEPTH ||
	    ctxt->spaceMax > CTXT_KEEP_DEPTH || ctxt->nsMax > CTXT_KEEP_DEPTH)
		goto drop;
	if ((c = pthread_getspecific(ctxt_key)) == NULL) {
		if ((c = calloc(1, sizeof *c)) == NULL)
			goto drop;
		if (pthread_setspecific(ctxt_key, c) != 0) {
			free(c);
			goto drop;
		}
	}
	if (c->n == CTXT_CACHE)
		goto drop;
	ctxt->userData = NULL;
	c->v[c->n++] = ctxt;
	return;
drop:
	xmlFreeParserCtxt(ctxt);
}

static bool
is_xml_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Trim XML white space from both ends. */
static const char *
trim(const char *s, size_t len, size_t *outlen)
{
	while (len > 0 && is_xml_space((unsigned char)s[0]))
		s++, len--;
	while (len > 0 && is_xml_space((unsigned char)s[len - 1]))
		len--;
	*outlen = len;
	return s;
}

/* Length of the UTF-8 sequence starting with byte c (1 for stray bytes). */
static size_t
utf8_len(unsigned char c)
{
	if (c < 0xc0)
		return 1;
	if (c < 0xe0)
		return 2;
	if (c < 0xf0)
		return 3;
	return 4;
}

/*
 * Length of the well-formed UTF-8 sequence at s (at most len bytes), or 0
 * if there is none: reasons quote input that libxml2 may not have checked.
 */
static size_t
utf8_valid(const unsigned char *s, size_t len)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n > len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	}
	return n;
}

/*
 * Copy at most max bytes of s into out (size outsz > max + 3) without
 * cutting a UTF-8 sequence, control characters and bytes that are not
 * UTF-8 as '?', "..." if cut.
 */
static const char *
clip(char *out, size_t outsz, const char *s, size_t len, size_t max)
{
	size_t i = 0, o = 0, n;
	unsigned char c;

	if (max + 4 > outsz)
		max = outsz - 4;
	while (i < len) {
		c = (unsigned char)s[i];
		n = utf8_valid((const unsigned char *)s + i, len - i);
		if (o + (n == 0 ? 1 : n) > max) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (n == 0 || c < 0x20 || c == 0x7f) {
			out[o++] = '?';
			i++;
			continue;
		}
		memcpy(out + o, s + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	return out;
}

/*
 * Make msg one line of at most max bytes into out: control characters
 * become spaces, runs of spaces collapse, no UTF-8 sequence is cut and
 * bytes that are not UTF-8 become '?'.
 */
static void
one_line(char *out, size_t max, const char *msg)
{
	size_t i = 0, o = 0, n, len = strlen(msg);
	unsigned char c;
	bool space = false;

	while (i < len) {
		c = (unsigned char)msg[i];
		if (c < 0x20 || c == 0x7f || c == ' ') {
			space = o > 0;
			i++;
			continue;
		}
		n = utf8_valid((const unsigned char *)msg + i, len - i);
		if (o + (space ? 1 : 0) + (n == 0 ? 1 : n) > max)
			break;
		if (space)
			out[o++] = ' ';
		space = false;
		if (n == 0) {
			out[o++] = '?';
			i++;
			continue;
		}
		memcpy(out + o, msg + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
}

static int
cur_line(struct cimxml_parser *p)
{
	if (p->ctxt == NULL || p->ctxt->input == NULL)
		return 1;
	return xmlSAX2GetLineNumber(p->ctxt);
}

/* Record the first error and stop the parser. */
static void __attribute__((format(printf, 3, 4)))
fail(struct cimxml_parser *p, enum cimxml_status st, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;

	if (p->status != CIMXML_OK)
		return;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	p->status = st;
	one_line(p->reason, REASON_MAX, tmp);
	if (p->ctxt != NULL)
		xmlStopParser(p->ctxt);
}

/*
 * Is this libxml2 error one of its size limits (a token of more than
 * XML_MAX_TEXT_LENGTH or XML_MAX_LOOKUP_LIMIT bytes, without
 * XML_PARSE_HUGE)? Ours are lower, but a token is only seen by the SAX
 * handlers once it is complete, so a token over libxml2's limit is refused
 * by libxml2 first. It is then a size limit, as ours are, not bad XML.
 */
static bool
libxml_size_limit(const xmlError *err)
{
	static const char *const msgs[] = { "Huge input lookup",
		"AttValue length too long", "Name too long",
		"buffer error: text too long", NULL };
	size_t i;

	if (err->domain != XML_FROM_PARSER || err->message == NULL)
		return false;
	for (i = 0; msgs[i] != NULL; i++)
		if (strstr(err->message, msgs[i]) != NULL)
			return true;
	return false;
}

/* libxml2's structured error handler: the first error is the reason. */
static void
sax_error(void *ctx, xmlErrorPtr err)
{
	struct cimxml_parser *p = ctx;
	char tmp[REASON_MAX + 64];

	if (err == NULL || err->level < XML_ERR_ERROR || p->status != CIMXML_OK)
		return;
	if (libxml_size_limit(err)) {
		/* Over a limit of libxml2's own, which is above ours. */
		snprintf(tmp, sizeof tmp, "line %d: an XML token (attribute "
		    "value, text or name) longer than %d bytes",
		    err->line > 0 ? err->line : cur_line(p), XML_MAX_TEXT_LENGTH);
		p->status = CIMXML_NOT_VALID;
	} else {
		snprintf(tmp, sizeof tmp, "line %d: %s",
		    err->line > 0 ? err->line : cur_line(p),
		    err->message != NULL ? err->message : "not well-formed");
		p->status = CIMXML_NOT_WELL_FORMED;
	}
	one_line(p->reason, REASON_MAX, tmp);
}

/*
 * A DOCTYPE: refuse an internal subset; nothing is ever loaded. Also refuse
 * a '>' in its identifiers: libxml2's push parser finds the end of a DOCTYPE
 * by the first '>', so whether such a DOCTYPE parses would depend on where
 * the chunks of the body end.
 */
static void
sax_internal_subset(
    void *ctx, const xmlChar *name, const xmlChar *eid, const xmlChar *sid)
{
	struct cimxml_parser *p = ctx;
	xmlParserInputPtr in = p->ctxt->input;

	if (p->status != CIMXML_OK)
		return;
	if (in != NULL && in->cur != NULL && in->cur < in->end &&
	    *in->cur == '[') {
		fail(p, CIMXML_NOT_WELL_FORMED,
		    "line %d: DOCTYPE with an internal subset is not allowed",
		    cur_line(p));
	} else if ((eid != NULL && strchr((const char *)eid, '>') != NULL) ||
		   (sid != NULL && strchr((const char *)sid, '>') != NULL)) {
		fail(p, CIMXML_NOT_WELL_FORMED,
		    "line %d: '>' in a DOCTYPE identifier is not allowed",
		    cur_line(p));
	}
}

/*
 * Element kind by name (CIM-XML names are unprefixed and case-sensitive).
 * The table is sorted by length and elem_by_len says where each length
 * starts, so only names of the right length and first letter are compared.
 */
static enum elem
elem_lookup(const xmlChar *prefix, const xmlChar *name)
{
	size_t len, i;

	if (prefix != NULL)
		return E_UNKNOWN;
	len = strlen((const char *)name);
	if (len >= ELEM_MAX_LEN)
		return E_UNKNOWN;
	for (i = elem_by_len[len]; i < elem_by_len[len + 1]; i++) {
		if (elem_table[i].name[0] == (char)name[0] &&
		    memcmp(elem_table[i].name, name, len) == 0)
			return elem_table[i].kind;
	}
	return E_UNKNOWN;
}

/* An attribute's value by exact name; false if absent. */
static inline bool
attr_get(const xmlChar **attrs, int nattrs, const char *name, const char **v,
    size_t *len)
{
	size_t nl = strlen(name); /* constant-folded: names are literals */
	int i;

	for (i = 0; i < nattrs; i++) {
		const xmlChar **a = attrs + 5 * i;

		if (a[1] == NULL && a[0][0] == (xmlChar)name[0] &&
		    strncmp((const char *)a[0], name, nl) == 0 &&
		    a[0][nl] == '\0') {
			*v = (const char *)a[3];
			*len = (size_t)(a[4] - a[3]);
			return true;
		}
	}
	return false;
}

/* Same, name compared case-insensitively (EmbeddedObject). */
static bool
attr_get_ci(const xmlChar **attrs, int nattrs, const char *name, const char **v,
    size_t *len)
{
	int i;

	for (i = 0; i < nattrs; i++) {
		const xmlChar **a = attrs + 5 * i;

		if (a[1] == NULL && strcasecmp((const char *)a[0], name) == 0) {
			*v = (const char *)a[3];
			*len = (size_t)(a[4] - a[3]);
			return true;
		}
	}
	return false;
}

/* A required attribute, copied to the arena; NULL (and failed) if absent. */
static const char *
attr_need(struct cimxml_parser *p, const xmlChar **attrs, int nattrs,
    const char *elem, const char *name, size_t *lenp)
{
	const char *v;
	size_t len;

	if (!attr_get(attrs, nattrs, name, &v, &len)) {
		fail(p, CIMXML_NOT_VALID, "line %d: %s without %s attribute",
		    cur_line(p), elem, name);
		return NULL;
	}
	if (lenp != NULL)
		*lenp = len;
	return arena_strndup(p->arena, v, len);
}

/* Like attr_need, and the value must not be empty. */
static const char *
attr_need_name(struct cimxml_parser *p, const xmlChar **attrs, int nattrs,
    const char *elem, const char *name, size_t *lenp)
{
	const char *v;
	size_t len;

	v = attr_need(p, attrs, nattrs, elem, name, &len);
	if (v != NULL && len == 0) {
		fail(p, CIMXML_NOT_VALID, "line %d: %s with an empty %s",
		    cur_line(p), elem, name);
		return NULL;
	}
	if (lenp != NULL)
		*lenp = len;
	return v;
}

/* "2", "2.0", "2.4.1" for major 2: digits and dots after the major number. */
static bool
version_major_is(const char *v, char major)
{
	size_t i;

	if (v[0] != major || (v[1] != '\0' && v[1] != '.'))
		return false;
	if (v[1] == '\0')
		return true;
	if (v[2] < '0' || v[2] > '9')
		return false;
	for (i = 2; v[i] != '\0'; i++) {
		if ((v[i] < '0' || v[i] > '9') && v[i] != '.')
			return false;
	}
	return true;
}

/* Integers: [+-] then decimal digits or 0x hex digits. */
static int
parse_integer(const char *s, size_t len, bool *neg, uint64_t *mag)
{
	uint64_t v = 0;
	unsigned d;
	bool hex = false;
	size_t i = 0;

	s = trim(s, len, &len);
	*neg = false;
	if (len > 0 && (s[0] == '+' || s[0] == '-')) {
		*neg = s[0] == '-';
		i++;
	}
	if (len - i > 2 && s[i] == '0' &&
	    (s[i + 1] == 'x' || s[i + 1] == 'X')) {
		hex = true;
		i += 2;
	}
	if (i == len)
		return -1;
	for (; i < len; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (hex && c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (hex && c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return -1;
		if (hex) {
			if (v > UINT64_MAX >> 4)
				return -2;
			v = v << 4 | d;
		} else {
			if (v > (UINT64_MAX - d) / 10)
				return -2;
			v = v * 10 + d;
		}
	}
	*mag = v;
	return 0;
}

/* DSP0201 real: [+-](digits[.digits]|.digits)[e[+-]digits], INF, NaN. */
static int
parse_real(const char *s, size_t len, bool single, double *out)
{
	char tmp[128];
	char *end;
	size_t i = 0, nd = 0;
	bool neg = false;

	s = trim(s, len, &len);
	if (len == 0 || len >= sizeof tmp)
		return -1;
	if (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-';
		i++;
	}
	if (len - i == 3 && strncasecmp(s + i, "INF", 3) == 0) {
		*out = neg ? -INFINITY : INFINITY;
		return 0;
	}
	if (len - i == 3 && strncasecmp(s + i, "NaN", 3) == 0) {
		*out = NAN;
		return 0;
	}
	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++, nd++;
	if (i < len && s[i] == '.') {
		i++;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++, nd++;
	}
	if (nd == 0)
		return -1;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		nd = 0;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++, nd++;
		if (nd == 0)
			return -1;
	}
	if (i != len)
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	errno = 0;
	if (single) {
		float f;

		if (cimxml_c_locale != (locale_t)0)
			f = strtof_l(tmp, &end, cimxml_c_locale);
		else
			f = strtof(tmp, &end);
		if (isinf(f))
			return -2;
		*out = (double)f;
	} else {
		double d;

		if (cimxml_c_locale != (locale_t)0)
			d = strtod_l(tmp, &end, cimxml_c_locale);
		else
			d = strtod(tmp, &end);
		if (isinf(d))
			return -2;
		*out = d;
	}
	if (*end != '\0')
		return -1;
	return 0;
}

/* Two characters that are digits (or '*' wildcards) and at most max. */
static bool
dt_field(const char *s, size_t n, unsigned min, unsigned max)
{
	unsigned v = 0;
	size_t i;
	bool wild = false;

	for (i = 0; i < n; i++) {
		if (s[i] == '*')
			wild = true;
		else if (s[i] >= '0' && s[i] <= '9')
			v = v * 10 + (unsigned)(s[i] - '0');
		else
			return false;
	}
	return wild || (v >= min && v <= max);
}

/*
 * DSP0201/DSP0004 datetime: timestamp yyyymmddhhmmss.mmmmmmsutc or
 * interval ddddddddhhmmss.mmmmmm:000; '*' wildcards in the digit fields.
 */
static bool
datetime_valid(const char *s, size_t len)
{
	if (len != 25 || s[14] != '.')
		return false;
	if (!dt_field(s + 15, 6, 0, 999999))
		return false;
	if (s[21] == ':') {
		/* Interval. */
		return dt_field(s, 8, 0, 99999999) &&
		       dt_field(s + 8, 2, 0, 23) &&
		       dt_field(s + 10, 2, 0, 59) &&
		       dt_field(s + 12, 2, 0, 59) &&
		       memcmp(s + 22, "000", 3) == 0;
	}
	if (s[21] != '+' && s[21] != '-')
		return false;
	if (!dt_field(s, 4, 0, 9999) || !dt_field(s + 8, 2, 0, 23) ||
	    !dt_field(s + 10, 2, 0, 59) || !dt_field(s + 12, 2, 0, 60))
		return false;
	/* An all-zero date is sent for "unknown"; otherwise a real one. */
	if (memcmp(s + 4, "0000", 4) != 0 &&
	    (!dt_field(s + 4, 2, 1, 12) || !dt_field(s + 6, 2, 1, 31)))
		return false;
	return s[22] >= '0' && s[22] <= '9' && s[23] >= '0' && s[23] <= '9' &&
	       s[24] >= '0' && s[24] <= '9';
}

/* Convert a VALUE's text to the current property's type. */
static int
value_convert(
    struct cimxml_parser *p, const char *s, size_t len, struct cim_value *v)
{
	enum cim_type t = p->prop.type;
	char c1[CLIP_MAX + 4], c2[CLIP_MAX + 4];
	const char *tname = cim_type_name(t);
	const char *tr;
	size_t tl;
	uint64_t mag, max = 0;
	bool neg;
	int r;

	memset(v, 0, sizeof *v);
	switch (t) {
	case CIM_STRING:
		v->v.str = arena_strndup(p->arena, s, len);
		return 0;
	case CIM_CHAR16:
		if (len == 0 || utf8_len((unsigned char)s[0]) != len)
			goto bad;
		v->v.str = arena_strndup(p->arena, s, len);
		return 0;
	case CIM_DATETIME:
		tr = trim(s, len, &tl);
		if (!datetime_valid(tr, tl))
			goto bad;
		v->v.str = arena_strndup(p->arena, tr, tl);
		return 0;
	case CIM_BOOLEAN:
		tr = trim(s, len, &tl);
		if (tl == 4 && strncasecmp(tr, "true", 4) == 0)
			v->v.b = true;
		else if (tl == 5 && strncasecmp(tr, "false", 5) == 0)
			v->v.b = false;
		else
			goto bad;
		return 0;
	case CIM_REAL32:
	case CIM_REAL64:
		r = parse_real(s, len, t == CIM_REAL32, &v->v.r);
		if (r == -1)
			goto bad;
		if (r == -2)
			goto range;
		return 0;
	case CIM_UINT8:
	case CIM_SINT8:
		max = 0x7f;
		break;
	case CIM_UINT16:
	case CIM_SINT16:
		max = 0x7fff;
		break;
	case CIM_UINT32:
	case CIM_SINT32:
		max = 0x7fffffff;
		break;
	case CIM_UINT64:
	case CIM_SINT64:
		max = INT64_MAX;
		break;
	default:
		goto bad;
	}
	r = parse_integer(s, len, &neg, &mag);
	if (r == -1)
		goto bad;
	if (r == -2)
		goto range;
	if (cim_type_is_unsigned(t)) {
		max = max * 2 + 1;
		if ((neg && mag != 0) || mag > max)
			goto range;
		v->v.u = mag;
	} else {
		if (mag > max + (neg ? 1 : 0))
			goto range;
		if (!neg)
			v->v.s = (int64_t)mag;
		else if (mag == (uint64_t)INT64_MAX + 1)
			v->v.s = INT64_MIN;
		else
			v->v.s = -(int64_t)mag;
	}
	return 0;

bad:
	tr = trim(s, len, &tl);
	fail(p, CIMXML_NOT_VALID,
	    "line %d: property \"%s\": value \"%s\" is not a valid %s",
	    cur_line(p),
	    clip(c1, sizeof c1, p->prop.name, p->prop.namelen, CLIP_MAX),
	    clip(c2, sizeof c2, tr, tl, CLIP_MAX), tname);
	return -1;
range:
	tr = trim(s, len, &tl);
	fail(p, CIMXML_NOT_VALID,
	    "line %d: property \"%s\": value \"%s\" out of range for %s",
	    cur_line(p),
	    clip(c1, sizeof c1, p->prop.name, p->prop.namelen, CLIP_MAX),
	    clip(c2, sizeof c2, tr, tl, CLIP_MAX), tname);
	return -1;
}

/* Append a quoted string with '\' and '"' escaped. */
static void
add_quoted(struct buf *b, const char *s, size_t len)
{
	size_t i, start = 0;

	buf_addc(b, '"');
	for (i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\') {
			buf_add(b, s + start, i - start);
			buf_addc(b, '\\');
			start = i;
		}
	}
	buf_add(b, s + start, len - start);
	buf_addc(b, '"');
}

/* Render a reference as a WBEM URI (DSP0207) without the scheme. */
static const char *
ref_render(struct cimxml_parser *p, struct refctx *r)
{
	struct buf *b = &p->scratch;
	struct key k;
	size_t i, j;

	/* Keys by name, case-insensitively; insertion sort, stable. */
	for (i = 1; i < r->nkeys; i++) {
		k = r->keys[i];
		for (j = i;
		     j > 0 && strcasecmp(r->keys[j - 1].name, k.name) > 0; j--)
			r->keys[j] = r->keys[j - 1];
		r->keys[j] = k;
	}
	buf_reset(b);
	if (r->host != NULL) {
		buf_add(b, "//", 2);
		buf_adds(b, r->host);
	}
	if (r->ns.len > 0) {
		buf_addc(b, '/');
		buf_add(b, r->ns.data, r->ns.len);
	}
	if (r->host != NULL || r->ns.len > 0)
		buf_addc(b, ':');
	if (r->classname != NULL)
		buf_adds(b, r->classname);
	if (r->bare != NULL) {
		buf_addc(b, '=');
		buf_adds(b, r->bare);
	}
	for (i = 0; i < r->nkeys; i++) {
		buf_addc(b, i == 0 ? '.' : ',');
		buf_adds(b, r->keys[i].name);
		buf_addc(b, '=');
		buf_adds(b, r->keys[i].value);
	}
	return arena_strndup(p->arena, b->data != NULL ? b->data : "", b->len);
}

/* Start a VALUE.REFERENCE. */
static void
ref_push(struct cimxml_parser *p)
{
	struct refctx *r;

	if (p->nrefs == p->refscap) {
		p->refscap = p->refscap == 0 ? 4 : p->refscap * 2;
		p->refs = xreallocarray(p->refs, p->refscap, sizeof *p->refs);
		memset(p->refs + p->nrefs, 0,
		    (p->refscap - p->nrefs) * sizeof *p->refs);
	}
	r = &p->refs[p->nrefs++];
	r->host = r->classname = r->keyname = r->bare = r->uri = NULL;
	buf_reset(&r->ns);
	r->nkeys = 0;
	r->kvtype = KV_STRING;
}

/* Add a rendered key binding to the innermost open reference. */
static void
ref_add_key(struct cimxml_parser *p, struct refctx *r, const char *value)
{
	if (r->keyname == NULL) {
		r->bare = value;
		return;
	}
	if (r->nkeys == r->keyscap) {
		r->keyscap = r->keyscap == 0 ? 4 : r->keyscap * 2;
		r->keys = xreallocarray(r->keys, r->keyscap, sizeof *r->keys);
	}
	r->keys[r->nkeys].name = r->keyname;
	r->keys[r->nkeys].value = value;
	r->nkeys++;
}

/* A KEYVALUE is complete: render it per VALUETYPE. */
static void
keyvalue_end(struct cimxml_parser *p)
{
	struct refctx *r = &p->refs[p->nrefs - 1];
	char c1[CLIP_MAX + 4];
	const char *s = p->text.data != NULL ? p->text.data : "";
	const char *tr;
	size_t len = p->text.len, tl;
	uint64_t mag;
	double d;
	bool neg;

	switch (r->kvtype) {
	case KV_STRING:
		buf_reset(&p->scratch);
		add_quoted(&p->scratch, s, len);
		ref_add_key(p, r,
		    arena_strndup(p->arena, p->scratch.data, p->scratch.len));
		return;
	case KV_BOOLEAN:
		tr = trim(s, len, &tl);
		if (tl == 4 && strncasecmp(tr, "true", 4) == 0)
			ref_add_key(p, r, "true");
		else if (tl == 5 && strncasecmp(tr, "false", 5) == 0)
			ref_add_key(p, r, "false");
		else
			break;
		return;
	case KV_NUMERIC:
		tr = trim(s, len, &tl);
		if (parse_integer(tr, tl, &neg, &mag) != 0 &&
		    parse_real(tr, tl, false, &d) != 0)
			break;
		ref_add_key(p, r, arena_strndup(p->arena, tr, tl));
		return;
	}
	tr = trim(s, len, &tl);
	fail(p, CIMXML_NOT_VALID, "line %d: KEYVALUE \"%s\" is not a valid %s",
	    cur_line(p), clip(c1, sizeof c1, tr, tl, CLIP_MAX),
	    r->kvtype == KV_BOOLEAN ? "boolean" : "number");
}

/* Room for one more value in the array being built. */
static struct cim_value *
val_next(struct cimxml_parser *p)
{
	if (p->nvals == p->valscap) {
		p->valscap = p->valscap == 0 ? 16 : p->valscap * 2;
		p->vals = xreallocarray(p->vals, p->valscap, sizeof *p->vals);
	}
	return &p->vals[p->nvals++];
}

/* A completed reference: the property's value or a key of its parent. */
static void
ref_done(struct cimxml_parser *p)
{
	struct refctx *r = &p->refs[p->nrefs - 1];
	const char *uri = ref_render(p, r);
	enum elem parent;

	p->nrefs--;
	parent = p->stack[p->depth - 2].kind;
	if (parent == E_KEYBINDING || parent == E_INSTANCENAME) {
		buf_reset(&p->scratch);
		add_quoted(&p->scratch, uri, strlen(uri));
		ref_add_key(p, &p->refs[p->nrefs - 1],
		    arena_strndup(p->arena, p->scratch.data, p->scratch.len));
	} else if (parent == E_VALUE_REFARRAY) {
		struct cim_value *v = val_next(p);

		memset(v, 0, sizeof *v);
		v->v.str = uri;
	} else {
		p->prop.scalar.v.str = uri;
		p->prop.has_value = true;
	}
}

static void parse_embedded(
    struct cimxml_parser *, const char *, size_t, struct cim_value *, bool *);

/* Replace the raw texts of an EmbeddedObject property by instances. */
static void
property_embed(struct cimxml_parser *p, struct cim_property *pr)
{
	struct cim_value *conv;
	size_t i, len;
	bool is_class = false;

	conv = arena_calloc(p->arena, pr->count, sizeof *conv);
	for (i = 0; i < pr->count && p->status == CIMXML_OK; i++) {
		if (pr->values[i].null) {
			conv[i].null = true;
			continue;
		}
		trim(pr->values[i].v.str, strlen(pr->values[i].v.str), &len);
		if (len == 0) {
			conv[i].null = true;
			continue;
		}
		parse_embedded(p, pr->values[i].v.str,
		    strlen(pr->values[i].v.str), &conv[i], &is_class);
		if (is_class)
			return; /* an embedded class: keep the strings */
	}
	if (p->status != CIMXML_OK)
		return;
	pr->type = CIM_INSTANCE;
	pr->values = conv;
	if (!pr->array && conv[0].null) {
		pr->null = true;
		pr->count = 0;
		pr->values = NULL;
	}
}

/* A property element is complete: add it to the open instance. */
static void
property_end(struct cimxml_parser *p)
{
	struct cim_property *pr;
	char c1[CLIP_MAX + 4];
	size_t i;

	for (i = 0; i < p->nprops; i++) {
		if (p->propnamelens[i] == p->prop.namelen &&
		    strcasecmp(p->props[i].name, p->prop.name) == 0) {
			fail(p, CIMXML_NOT_VALID,
			    "line %d: duplicate property \"%s\" in %s",
			    cur_line(p),
			    clip(c1, sizeof c1, p->prop.name, p->prop.namelen,
				CLIP_MAX),
			    p->classname);
			return;
		}
	}
	if (p->nprops == p->propscap) {
		p->propscap = p->propscap == 0 ? 32 : p->propscap * 2;
		p->props =
		    xreallocarray(p->props, p->propscap, sizeof *p->props);
		p->propnamelens = xreallocarray(
		    p->propnamelens, p->propscap, sizeof *p->propnamelens);
	}
	pr = &p->props[p->nprops];
	p->propnamelens[p->nprops] = p->prop.namelen;
	p->nprops++;
	pr->name = p->prop.name;
	pr->type = p->prop.type;
	pr->array = p->prop.array;
	if (!p->prop.has_value) {
		pr->null = true;
		pr->count = 0;
		pr->values = NULL;
	} else if (pr->array) {
		pr->null = false;
		pr->count = p->nvals;
		pr->values = p->nvals == 0 ? NULL
					   : arena_memdup(p->arena, p->vals,
						 p->nvals * sizeof *p->vals);
	} else {
		pr->null = false;
		pr->count = 1;
		pr->values = arena_memdup(
		    p->arena, &p->prop.scalar, sizeof p->prop.scalar);
	}
	if (p->prop.embedded && pr->count > 0)
		property_embed(p, pr);
}

/* An INSTANCE is complete. */
static void
instance_end(struct cimxml_parser *p)
{
	struct cim_instance *inst;

	inst = arena_alloc(p->arena, sizeof *inst);
	inst->classname = p->classname;
	inst->nprops = p->nprops;
	inst->props = p->nprops == 0 ? NULL
				     : arena_memdup(p->arena, p->props,
					   p->nprops * sizeof *p->props);
	if (p->depth >= 2 && p->stack[p->depth - 2].kind == E_EXPPARAMVALUE)
		p->param_inst = inst;
	else
		p->result = inst;
}

/* One-line description of an export-level error, in the arena. */
static const char *
describe(struct cimxml_parser *p, const char *fmt, ...)
{
	char tmp[512], line[REASON_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	one_line(line, REASON_MAX, tmp);
	return arena_strdup(p->arena, line);
}

/* An EXPMETHODCALL is complete: decide its export-level status. */
static void
export_end(struct cimxml_parser *p)
{
	struct cimxml_export *e = &p->cur;
	char c1[CLIP_MAX + 4];

	if (strcasecmp(e->method, "ExportIndication") != 0) {
		e->cim_error = CIM_ERR_NOT_SUPPORTED;
		e->error_description =
		    describe(p, "export method \"%s\" is not supported",
			clip(c1, sizeof c1, e->method, strlen(e->method),
			    CLIP_MAX));
	} else if (p->nparams != 1) {
		e->cim_error = CIM_ERR_INVALID_PARAMETER;
		e->error_description = describe(p,
		    "ExportIndication has %zu "
		    "parameters; exactly one NewIndication expected",
		    p->nparams);
	} else if (p->param_bad) {
		e->cim_error = CIM_ERR_INVALID_PARAMETER;
		e->error_description = describe(p,
		    "unexpected parameter "
		    "\"%s\"; exactly one NewIndication expected",
		    clip(c1, sizeof c1, p->param_name, strlen(p->param_name),
			CLIP_MAX));
	} else if (p->param_inst == NULL) {
		e->cim_error = CIM_ERR_INVALID_PARAMETER;
		e->error_description =
		    describe(p, "NewIndication is not an INSTANCE");
	} else {
		e->cim_error = 0;
		e->indication = p->param_inst;
	}
	if (e->cim_error != 0)
		e->indication = NULL;
	if (p->nexports == p->exportscap) {
		p->exportscap = p->exportscap == 0 ? 2 : p->exportscap * 2;
		p->exports = xreallocarray(
		    p->exports, p->exportscap, sizeof *p->exports);
	}
	p->exports[p->nexports++] = *e;
}

/* The name of a kind, for reasons. */
static const char *
elem_name(enum elem k)
{
	size_t i;

	for (i = 0; i < sizeof elem_table / sizeof elem_table[0]; i++) {
		if (elem_table[i].kind == k)
			return elem_table[i].name;
	}
	return "?";
}

/* Is child allowed as the next child of the open element f? */
static bool
child_allowed(const struct frame *f, enum elem c)
{
	switch (f->kind) {
	case E_CIM:
		return c == E_MESSAGE && f->nchild == 0;
	case E_MESSAGE:
		return (c == E_SIMPLEEXPREQ || c == E_MULTIEXPREQ) &&
		       f->nchild == 0;
	case E_MULTIEXPREQ:
		return c == E_SIMPLEEXPREQ;
	case E_SIMPLEEXPREQ:
		return c == E_CORRELATOR ||
		       (c == E_EXPMETHODCALL && f->nval == 0);
	case E_EXPMETHODCALL:
		return c == E_EXPPARAMVALUE;
	case E_EXPPARAMVALUE:
		return (c == E_INSTANCE || c == E_OTHER_PARAM || c == E_VALUE ||
			   c == E_VALUE_ARRAY || c == E_VALUE_REFERENCE ||
			   c == E_VALUE_REFARRAY || c == E_INSTANCENAME ||
			   c == E_CLASSNAME || c == E_CLASS) &&
		       f->nchild == 0;
	case E_INSTANCE:
		return c == E_QUALIFIER || c == E_PROPERTY ||
		       c == E_PROPERTY_ARRAY || c == E_PROPERTY_REFERENCE ||
		       c == E_PROPERTY_REFARRAY;
	case E_PROPERTY:
		return c == E_QUALIFIER ||
		       ((c == E_VALUE || c == E_VALUE_NULL) && f->nval == 0);
	case E_PROPERTY_ARRAY:
		return c == E_QUALIFIER ||
		       ((c == E_VALUE_ARRAY || c == E_VALUE_NULL) &&
			   f->nval == 0);
	case E_PROPERTY_REFERENCE:
		return c == E_QUALIFIER ||
		       ((c == E_VALUE_REFERENCE || c == E_VALUE_NULL) &&
			   f->nval == 0);
	case E_PROPERTY_REFARRAY:
		return c == E_QUALIFIER ||
		       ((c == E_VALUE_REFARRAY || c == E_VALUE_NULL) &&
			   f->nval == 0);
	case E_VALUE_ARRAY:
		return c == E_VALUE || c == E_VALUE_NULL;
	case E_VALUE_REFARRAY:
		return c == E_VALUE_REFERENCE || c == E_VALUE_NULL;
	case E_VALUE_REFERENCE:
		return (c == E_CLASSPATH || c == E_LOCALCLASSPATH ||
			   c == E_CLASSNAME || c == E_INSTANCEPATH ||
			   c == E_LOCALINSTANCEPATH || c == E_INSTANCENAME) &&
		       f->nchild == 0;
	case E_CLASSPATH:
		return f->nchild == 0 ? c == E_NAMESPACEPATH
				      : f->nchild == 1 && c == E_CLASSNAME;
	case E_LOCALCLASSPATH:
		return f->nchild == 0 ? c == E_LOCALNAMESPACEPATH
				      : f->nchild == 1 && c == E_CLASSNAME;
	case E_INSTANCEPATH:
		return f->nchild == 0 ? c == E_NAMESPACEPATH
				      : f->nchild == 1 && c == E_INSTANCENAME;
	case E_LOCALINSTANCEPATH:
		return f->nchild == 0 ? c == E_LOCALNAMESPACEPATH
				      : f->nchild == 1 && c == E_INSTANCENAME;
	case E_NAMESPACEPATH:
		return f->nchild == 0
			   ? c == E_HOST
			   : f->nchild == 1 && c == E_LOCALNAMESPACEPATH;
	case E_LOCALNAMESPACEPATH:
		return c == E_NAMESPACE;
	case E_INSTANCENAME:
		if (c == E_KEYBINDING)
			return f->nval == 0;
		return (c == E_KEYVALUE || c == E_VALUE_REFERENCE) &&
		       f->nchild == 0;
	case E_KEYBINDING:
		return (c == E_KEYVALUE || c == E_VALUE_REFERENCE) &&
		       f->nchild == 0;
	default:
		return false;
	}
}

/*
 * A DSP0201 property TYPE (any case, as cim_type_parse) without a string
 * compare per type: by length and letters. CIM_NONE if not a property type.
 */
static enum cim_type
type_lookup(const char *v, size_t len)
{
	char t[8];
	size_t i;

	if (len < 5 || len > 8)
		return CIM_NONE;
	for (i = 0; i < len; i++)
		t[i] = (char)(v[i] >= 'A' && v[i] <= 'Z' ? v[i] + 32 : v[i]);
	if (len == 5 && memcmp(t, "uint8", 5) == 0)
		return CIM_UINT8;
	if (len == 5 && memcmp(t, "sint8", 5) == 0)
		return CIM_SINT8;
	if (len == 6) {
		if (memcmp(t + 1, "int", 3) == 0 &&
		    (t[0] == 'u' || t[0] == 's')) {
			static const struct {
				char bits[3];
				enum cim_type u, s;
			} w[] = {
			    {"16", CIM_UINT16, CIM_SINT16},
			    {"32", CIM_UINT32, CIM_SINT32},
			    {"64", CIM_UINT64, CIM_SINT64},
			};
			for (i = 0; i < 3; i++) {
				if (memcmp(t + 4, w[i].bits, 2) == 0)
					return t[0] == 'u' ? w[i].u : w[i].s;
			}
			return CIM_NONE;
		}
		if (memcmp(t, "string", 6) == 0)
			return CIM_STRING;
		if (memcmp(t, "char16", 6) == 0)
			return CIM_CHAR16;
		if (memcmp(t, "real32", 6) == 0)
			return CIM_REAL32;
		if (memcmp(t, "real64", 6) == 0)
			return CIM_REAL64;
		return CIM_NONE;
	}
	if (len == 7 && memcmp(t, "boolean", 7) == 0)
		return CIM_BOOLEAN;
	if (len == 8 && memcmp(t, "datetime", 8) == 0)
		return CIM_DATETIME;
	return CIM_NONE;
}

/* Start a property element: NAME, TYPE, EmbeddedObject. */
static void
property_start(
    struct cimxml_parser *p, enum elem kind, const xmlChar **attrs, int nattrs)
{
	const char *elem = elem_name(kind), *v;
	char c1[CLIP_MAX + 4], tbuf[16];
	size_t len;

	memset(&p->prop, 0, sizeof p->prop);
	p->nvals = 0;
	p->prop.name =
	    attr_need_name(p, attrs, nattrs, elem, "NAME", &p->prop.namelen);
	if (p->prop.name == NULL)
		return;
	p->prop.array = kind == E_PROPERTY_ARRAY || kind == E_PROPERTY_REFARRAY;
	if (kind == E_PROPERTY_REFERENCE || kind == E_PROPERTY_REFARRAY) {
		p->prop.type = CIM_REFERENCE;
		return;
	}
	if (!attr_get(attrs, nattrs, "TYPE", &v, &len)) {
		fail(p, CIMXML_NOT_VALID, "line %d: %s \"%s\" without TYPE",
		    cur_line(p), elem,
		    clip(c1, sizeof c1, p->prop.name, p->prop.namelen,
			CLIP_MAX));
		return;
	}
	p->prop.type = type_lookup(v, len);
	if (p->prop.type == CIM_NONE) {
		fail(p, CIMXML_NOT_VALID,
		    "line %d: property \"%s\": unknown TYPE \"%s\"",
		    cur_line(p),
		    clip(
			c1, sizeof c1, p->prop.name, p->prop.namelen, CLIP_MAX),
		    clip(tbuf, sizeof tbuf, v, len, sizeof tbuf - 4));
		return;
	}
	if (attr_get_ci(attrs, nattrs, "EmbeddedObject", &v, &len)) {
		if (!((len == 8 && strncasecmp(v, "instance", 8) == 0) ||
			(len == 6 && strncasecmp(v, "object", 6) == 0))) {
			fail(p, CIMXML_NOT_VALID,
			    "line %d: property \"%s\": "
			    "EmbeddedObject must be \"instance\" or \"object\"",
			    cur_line(p),
			    clip(c1, sizeof c1, p->prop.name, p->prop.namelen,
				CLIP_MAX));
			return;
		}
		if (p->prop.type != CIM_STRING) {
			fail(p, CIMXML_NOT_VALID,
			    "line %d: property \"%s\": "
			    "EmbeddedObject on a %s property",
			    cur_line(p),
			    clip(c1, sizeof c1, p->prop.name, p->prop.namelen,
				CLIP_MAX),
			    cim_type_name(p->prop.type));
			return;
		}
		p->prop.embedded = true;
	}
}

/* Element-specific work when an element opens. */
static void
elem_start(
    struct cimxml_parser *p, enum elem kind, const xmlChar **attrs, int nattrs)
{
	struct cimxml_message *m;
	struct refctx *r;
	const char *v;
	char c1[CLIP_MAX + 4];
	size_t len;

	switch (kind) {
	case E_CIM:
		m = p->msg = arena_calloc(p->arena, 1, sizeof *p->msg);
		m->arena = p->arena;
		m->cim_version =
		    attr_need(p, attrs, nattrs, "CIM", "CIMVERSION", NULL);
		if (m->cim_version == NULL)
			return;
		m->dtd_version =
		    attr_need(p, attrs, nattrs, "CIM", "DTDVERSION", NULL);
		if (m->dtd_version == NULL)
			return;
		if (!version_major_is(m->cim_version, '2')) {
			fail(p, CIMXML_BAD_CIM_VERSION,
			    "line %d: CIMVERSION "
			    "\"%s\" is not supported (2.x expected)",
			    cur_line(p),
			    clip(c1, sizeof c1, m->cim_version,
				strlen(m->cim_version), CLIP_MAX));
		} else if (!version_major_is(m->dtd_version, '2')) {
			fail(p, CIMXML_BAD_DTD_VERSION,
			    "line %d: DTDVERSION "
			    "\"%s\" is not supported (2.x expected)",
			    cur_line(p),
			    clip(c1, sizeof c1, m->dtd_version,
				strlen(m->dtd_version), CLIP_MAX));
		}
		return;
	case E_MESSAGE:
		m = p->msg;
		m->id = attr_need(p, attrs, nattrs, "MESSAGE", "ID", NULL);
		if (m->id == NULL)
			return;
		m->protocol_version = attr_need(
		    p, attrs, nattrs, "MESSAGE", "PROTOCOLVERSION", NULL);
		if (m->protocol_version == NULL)
			return;
		if (!version_major_is(m->protocol_version, '1')) {
			fail(p, CIMXML_BAD_PROTOCOL_VERSION,
			    "line %d: "
			    "PROTOCOLVERSION \"%s\" is not supported (1.x "
			    "expected)",
			    cur_line(p),
			    clip(c1, sizeof c1, m->protocol_version,
				strlen(m->protocol_version), CLIP_MAX));
		}
		return;
	case E_MULTIEXPREQ:
		p->msg->multi = true;
		return;
	case E_EXPMETHODCALL:
		memset(&p->cur, 0, sizeof p->cur);
		p->cur.method =
		    attr_need(p, attrs, nattrs, "EXPMETHODCALL", "NAME", NULL);
		p->nparams = 0;
		p->param_inst = NULL;
		p->param_bad = false;
		p->param_name = NULL;
		return;
	case E_EXPPARAMVALUE:
		v = attr_need(p, attrs, nattrs, "EXPPARAMVALUE", "NAME", NULL);
		if (v == NULL)
			return;
		if (++p->nparams == 1) {
			p->param_name = v;
			p->param_bad = strcasecmp(v, "NewIndication") != 0;
		}
		return;
	case E_INSTANCE:
		p->classname = attr_need_name(
		    p, attrs, nattrs, "INSTANCE", "CLASSNAME", NULL);
		p->nprops = 0;
		return;
	case E_PROPERTY:
	case E_PROPERTY_ARRAY:
	case E_PROPERTY_REFERENCE:
	case E_PROPERTY_REFARRAY:
		property_start(p, kind, attrs, nattrs);
		return;
	case E_VALUE:
	case E_HOST:
		buf_reset(&p->text);
		return;
	case E_VALUE_ARRAY:
	case E_VALUE_REFARRAY:
		p->prop.has_value = true;
		p->nvals = 0;
		return;
	case E_VALUE_REFERENCE:
		ref_push(p);
		return;
	case E_CLASSNAME:
		v = attr_need_name(p, attrs, nattrs, "CLASSNAME", "NAME", NULL);
		if (v != NULL && p->nrefs > 0)
			p->refs[p->nrefs - 1].classname = v;
		return;
	case E_INSTANCENAME:
		v = attr_need_name(
		    p, attrs, nattrs, "INSTANCENAME", "CLASSNAME", NULL);
		if (v != NULL && p->nrefs > 0)
			p->refs[p->nrefs - 1].classname = v;
		return;
	case E_NAMESPACE:
		if (!attr_get(attrs, nattrs, "NAME", &v, &len) || len == 0) {
			fail(p, CIMXML_NOT_VALID,
			    "line %d: NAMESPACE without NAME", cur_line(p));
			return;
		}
		r = &p->refs[p->nrefs - 1];
		if (r->ns.len > 0)
			buf_addc(&r->ns, '/');
		buf_add(&r->ns, v, len);
		return;
	case E_KEYBINDING:
		p->refs[p->nrefs - 1].keyname = attr_need_name(
		    p, attrs, nattrs, "KEYBINDING", "NAME", NULL);
		return;
	case E_KEYVALUE:
		buf_reset(&p->text);
		r = &p->refs[p->nrefs - 1];
		r->kvtype = KV_STRING;
		if (attr_get(attrs, nattrs, "VALUETYPE", &v, &len)) {
			if (len == 7 && strncasecmp(v, "boolean", 7) == 0)
				r->kvtype = KV_BOOLEAN;
			else if (len == 7 && strncasecmp(v, "numeric", 7) == 0)
				r->kvtype = KV_NUMERIC;
			else if (!(len == 6 &&
				     strncasecmp(v, "string", 6) == 0))
				fail(p, CIMXML_NOT_VALID,
				    "line %d: KEYVALUE "
				    "with VALUETYPE \"%s\"",
				    cur_line(p),
				    clip(c1, sizeof c1, v, len, CLIP_MAX));
		}
		return;
	default:
		return;
	}
}

/* Element-specific work when an element closes (its frame still on top). */
static void
elem_end(struct cimxml_parser *p, struct frame *f)
{
	struct cim_value *v;
	struct refctx *r;
	const char *s;
	size_t len;

	switch (f->kind) {
	case E_CIM:
		if (f->nchild == 0)
			fail(p, CIMXML_NOT_VALID,
			    "line %d: CIM without MESSAGE", cur_line(p));
		return;
	case E_MESSAGE:
		if (f->nchild == 0) {
			fail(p, CIMXML_NOT_VALID,
			    "line %d: MESSAGE without "
			    "SIMPLEEXPREQ or MULTIEXPREQ",
			    cur_line(p));
			return;
		}
		p->msg->nexports = p->nexports;
		p->msg->exports = arena_memdup(
		    p->arena, p->exports, p->nexports * sizeof *p->exports);
		return;
	case E_MULTIEXPREQ:
		if (f->nchild == 0)
			fail(p, CIMXML_NOT_VALID,
			    "line %d: MULTIEXPREQ without "
			    "SIMPLEEXPREQ",
			    cur_line(p));
		return;
	case E_SIMPLEEXPREQ:
		if (f->nval == 0)
			fail(p, CIMXML_NOT_VALID,
			    "line %d: SIMPLEEXPREQ without "
			    "EXPMETHODCALL",
			    cur_line(p));
		return;
	case E_EXPMETHODCALL:
		export_end(p);
		return;
	case E_INSTANCE:
		instance_end(p);
		return;
	case E_PROPERTY:
	case E_PROPERTY_ARRAY:
	case E_PROPERTY_REFERENCE:
	case E_PROPERTY_REFARRAY:
		property_end(p);
		return;
	case E_VALUE:
		s = p->text.data != NULL ? p->text.data : "";
		len = p->text.len;
		if (p->stack[p->depth - 2].kind == E_VALUE_ARRAY)
			v = val_next(p);
		else {
			v = &p->prop.scalar;
			p->prop.has_value = true;
		}
		if (p->prop.embedded) {
			memset(v, 0, sizeof *v);
			v->v.str = arena_strndup(p->arena, s, len);
		} else
			value_convert(p, s, len, v);
		return;
	case E_VALUE_NULL:
		if (p->stack[p->depth - 2].kind == E_VALUE_ARRAY ||
		    p->stack[p->depth - 2].kind == E_VALUE_REFARRAY) {
			v = val_next(p);
			memset(v, 0, sizeof *v);
			v->null = true;
		}
		return;
	case E_VALUE_REFERENCE:
		if (f->nchild == 0) {
			fail(p, CIMXML_NOT_VALID,
			    "line %d: empty VALUE.REFERENCE", cur_line(p));
			return;
		}
		ref_done(p);
		return;
	case E_CLASSPATH:
	case E_LOCALCLASSPATH:
	case E_INSTANCEPATH:
	case E_LOCALINSTANCEPATH:
	case E_NAMESPACEPATH:
		if (f->nchild != 2)
			fail(p, CIMXML_NOT_VALID, "line %d: incomplete %s",
			    cur_line(p), elem_name(f->kind));
		return;
	case E_LOCALNAMESPACEPATH:
		if (f->nchild == 0)
			fail(p, CIMXML_NOT_VALID,
			    "line %d: LOCALNAMESPACEPATH "
			    "without NAMESPACE",
			    cur_line(p));
		return;
	case E_KEYBINDING:
		if (f->nchild == 0)
			fail(p, CIMXML_NOT_VALID,
			    "line %d: KEYBINDING without a value", cur_line(p));
		p->refs[p->nrefs - 1].keyname = NULL;
		return;
	case E_HOST:
		r = &p->refs[p->nrefs - 1];
		s = trim(p->text.data != NULL ? p->text.data : "", p->text.len,
		    &len);
		if (len == 0) {
			fail(p, CIMXML_NOT_VALID, "line %d: empty HOST",
			    cur_line(p));
			return;
		}
		r->host = arena_strndup(p->arena, s, len);
		return;
	case E_KEYVALUE:
		keyvalue_end(p);
		return;
	default:
		return;
	}
}

/* Explain a misplaced element. */
static void
fail_child(struct cimxml_parser *p, const struct frame *f, enum elem kind,
    const xmlChar *name)
{
	char c1[CLIP_MAX + 4];
	const char *n;

	n = clip(c1, sizeof c1, (const char *)name, strlen((const char *)name),
	    CLIP_MAX);
	if (f == NULL) {
		fail(p, CIMXML_NOT_VALID, "line %d: root element is %s, not %s",
		    cur_line(p), n, p->embed_level > 0 ? "INSTANCE" : "CIM");
	} else if (f->kind == E_MESSAGE && kind == E_OTHER_MESSAGE) {
		fail(p, CIMXML_NOT_VALID,
		    "line %d: MESSAGE holds %s, not an "
		    "export request",
		    cur_line(p), n);
	} else if (f->kind == E_MESSAGE && f->nchild == 0) {
		fail(p, CIMXML_NOT_VALID,
		    "line %d: unexpected element %s in "
		    "MESSAGE (SIMPLEEXPREQ or MULTIEXPREQ expected)",
		    cur_line(p), n);
	} else {
		fail(p, CIMXML_NOT_VALID,
		    "line %d: unexpected element %s in %s", cur_line(p), n,
		    elem_name(f->kind));
	}
}

/* Report text seen where only elements may be, now that it has ended. */
static bool
stray_check(struct cimxml_parser *p)
{
	if (p->stray_line == 0)
		return true;
	fail(p, CIMXML_NOT_VALID, "line %d: text in %s", p->stray_line,
	    elem_name(p->stray_in));
	return false;
}

/* An element opens: check it belongs here, push it, read its attributes. */
static void
sax_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
    const xmlChar *uri, int nns, const xmlChar **ns, int nattrs, int ndefaulted,
    const xmlChar **attrs)
{
	struct cimxml_parser *p = ctx;
	struct frame *f = NULL;
	xmlParserInputPtr in;
	char c1[CLIP_MAX + 4];
	enum elem kind;

	(void)uri;
	(void)nns;
	(void)ns;
	(void)ndefaulted;
	if (p->status != CIMXML_OK || !stray_check(p))
		return;
	/*
	 * At the end of the input libxml2 reports a start tag before it finds
	 * that its '>' is missing: that is a well-formedness error, first.
	 */
	in = p->ctxt->input;
	if (in == NULL || in->cur == NULL || in->cur >= in->end ||
	    (in->cur[0] != '>' &&
		(in->cur[0] != '/' || in->cur + 1 >= in->end ||
		    in->cur[1] != '>'))) {
		fail(p, CIMXML_NOT_WELL_FORMED,
		    "line %d: start tag %s is not closed", cur_line(p),
		    clip(c1, sizeof c1, (const char *)localname,
			strlen((const char *)localname), CLIP_MAX));
		return;
	}
	if (p->base_depth + p->depth >= p->limits.max_xml_depth) {
		fail(p, CIMXML_NOT_VALID,
		    "line %d: XML elements nested deeper than %u", cur_line(p),
		    p->limits.max_xml_depth);
		return;
	}
	if (++*p->nelements > p->limits.max_elements) {
		fail(p, CIMXML_NOT_VALID, "line %d: more than %u XML elements",
		    cur_line(p), p->limits.max_elements);
		return;
	}
	for (int i = 0; i < nattrs; i++) {
		if ((size_t)(attrs[i * 5 + 4] - attrs[i * 5 + 3]) >
		    p->limits.max_attribute_length) {
			fail(p, CIMXML_NOT_VALID, "line %d: attribute %s of %s "
			    "longer than %zu bytes", cur_line(p),
			    clip(c1, sizeof c1, (const char *)attrs[i * 5],
				strlen((const char *)attrs[i * 5]), CLIP_MAX),
			    (const char *)localname,
			    p->limits.max_attribute_length);
			return;
		}
	}
	if (p->depth > 0)
		f = &p->stack[p->depth - 1];
	if (f != NULL && (f->kind == E_SKIP || f->kind == E_QUALIFIER ||
			     f->kind == E_CORRELATOR ||
			     f->kind == E_OTHER_PARAM || f->kind == E_CLASS)) {
		kind = E_SKIP;
	} else {
		kind = elem_lookup(prefix, localname);
		if (f == NULL) {
			if (p->root_done) {
				fail_child(p, f, kind, localname);
				return;
			}
			if (p->embed_level > 0 && kind == E_CLASS) {
				/* An embedded class is kept as text. */
				p->is_class = true;
				xmlStopParser(p->ctxt);
				return;
			}
			if (kind != (p->embed_level > 0 ? E_INSTANCE : E_CIM)) {
				fail_child(p, f, kind, localname);
				return;
			}
		} else if (!child_allowed(f, kind)) {
			fail_child(p, f, kind, localname);
			return;
		}
		if (f != NULL) {
			f->nchild++;
			if (kind != E_QUALIFIER && kind != E_CORRELATOR &&
			    kind != E_KEYBINDING)
				f->nval++;
			if (f->kind == E_EXPPARAMVALUE && kind != E_INSTANCE)
				kind = E_OTHER_PARAM;
		}
	}
	if (p->depth == p->stackcap) {
		p->stackcap = p->stackcap == 0 ? 16 : p->stackcap * 2;
		p->stack =
		    xreallocarray(p->stack, p->stackcap, sizeof *p->stack);
	}
	p->stack[p->depth].kind = kind;
	p->stack[p->depth].nchild = 0;
	p->stack[p->depth].nval = 0;
	p->depth++;
	if (kind != E_SKIP)
		elem_start(p, kind, attrs, nattrs);
}

/* An element closes (libxml2 has checked the name matches): complete it. */
static void
sax_end(void *ctx, const xmlChar *localname, const xmlChar *prefix,
    const xmlChar *uri)
{
	struct cimxml_parser *p = ctx;

	(void)localname;
	(void)prefix;
	(void)uri;
	if (p->status != CIMXML_OK || p->depth == 0 || !stray_check(p))
		return;
	elem_end(p, &p->stack[p->depth - 1]);
	p->depth--;
	if (p->depth == 0)
		p->root_done = true;
}

/* Text and CDATA: collected for VALUE/KEYVALUE/HOST, else only blanks. */
static void
sax_characters(void *ctx, const xmlChar *ch, int len)
{
	struct cimxml_parser *p = ctx;
	enum elem k;
	int i;

	if (p->status != CIMXML_OK || p->depth == 0 || len <= 0)
		return;
	k = p->stack[p->depth - 1].kind;
	switch (k) {
	case E_VALUE:
	case E_KEYVALUE:
	case E_HOST:
		if (p->text.len + (size_t)len > p->limits.max_text_length) {
			fail(p, CIMXML_NOT_VALID, "line %d: text of %s longer "
			    "than %zu bytes", cur_line(p), elem_name(k),
			    p->limits.max_text_length);
			return;
		}
		buf_add(&p->text, ch, (size_t)len);
		return;
	case E_SKIP:
	case E_QUALIFIER:
	case E_CORRELATOR:
	case E_OTHER_PARAM:
		return;
	default:
		/*
		 * Reported when the text ends (stray_check): libxml2 hands
		 * text over in pieces that depend on the chunks, and a later
		 * byte of the same text may be a well-formedness error.
		 */
		for (i = 0; i < len && p->stray_line == 0; i++) {
			if (!is_xml_space(ch[i])) {
				p->stray_line = cur_line(p);
				p->stray_in = k;
			}
		}
	}
}

/* Create a parser; arena NULL for a new one that the message will own. */
static struct cimxml_parser *
parser_create(const struct cimxml_limits *limits, struct arena *arena,
    unsigned embed_level, unsigned base_depth)
{
	struct cimxml_parser *p;

	pthread_once(&cimxml_once, cimxml_init);
	p = xcalloc(1, sizeof *p);
	if (limits != NULL)
		p->limits = *limits;
	if (p->limits.max_xml_depth == 0)
		p->limits.max_xml_depth = CIMXML_DEFAULT_MAX_XML_DEPTH;
	if (limits == NULL)
		p->limits.max_embedding_depth =
		    CIMXML_DEFAULT_MAX_EMBEDDING_DEPTH;
	if (p->limits.max_elements == 0)
		p->limits.max_elements = CIMXML_DEFAULT_MAX_ELEMENTS;
	if (p->limits.max_attribute_length == 0)
		p->limits.max_attribute_length =
		    CIMXML_DEFAULT_MAX_ATTRIBUTE_LENGTH;
	if (p->limits.max_text_length == 0)
		p->limits.max_text_length = CIMXML_DEFAULT_MAX_TEXT_LENGTH;
	p->nelements = &p->own_nelements;
	p->embed_level = embed_level;
	p->base_depth = base_depth;
	if (arena == NULL) {
		p->arena = arena_new();
		p->own_arena = true;
	} else
		p->arena = arena;
	p->ctxt = ctxt_get(p);
	if (p->ctxt == NULL) {
		p->status = CIMXML_NOT_WELL_FORMED;
		snprintf(p->reason, sizeof p->reason, "out of memory");
		return p;
	}
	/*
	 * NOENT only makes libxml2 hand over attribute values with the
	 * predefined entities and character references resolved (without it
	 * SAX2 reports "&amp;" in an attribute as "&#38;"). No other entity
	 * can exist: internal subsets are refused before their declarations
	 * are read, and no external DTD is ever loaded (no DTDLOAD, NONET).
	 */
	xmlCtxtUseOptions(p->ctxt, XML_PARSE_NONET | XML_PARSE_NOENT |
	    XML_PARSE_IGNORE_ENC | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	/* UTF-8 only: no detection from the first bytes. */
	xmlSwitchEncoding(p->ctxt, XML_CHAR_ENCODING_UTF8);
	return p;
}

struct cimxml_parser *
cimxml_parser_new(const struct cimxml_limits *limits)
{
	return parser_create(limits, NULL, 0, 0);
}

/* Hand bytes to libxml2 in int-sized pieces, stopping at the first error. */
static void
xml_feed(struct cimxml_parser *p, const char *data, size_t len, int terminate)
{
	size_t n;

	if (terminate)
		p->terminated = true;
	if (len == 0) {
		xmlParseChunk(p->ctxt, "", 0, terminate);
		return;
	}
	while (len > 0 && p->status == CIMXML_OK && !p->is_class) {
		n = len > FEED_MAX ? FEED_MAX : len;
		xmlParseChunk(p->ctxt, data, (int)n, terminate && n == len);
		data += n;
		len -= n;
	}
}

/*
 * Check the XML declaration (and a UTF-8 byte order mark) in the buffered
 * start of the document. Returns 1 when decided and acceptable, 0 when more
 * bytes are needed, -1 on error (recorded).
 */
static int
decl_check(struct cimxml_parser *p, bool at_end)
{
	const char *d = p->decl, *e, *q, *name, *val;
	size_t n = p->decl_len, off = 0, i, nl, vl;
	char c1[CLIP_MAX + 4];
	char quote;

	if (n > 0 && (d[0] == '\0' || (unsigned char)d[0] == 0xfe ||
			 (unsigned char)d[0] == 0xff)) {
		fail(p, CIMXML_NOT_WELL_FORMED,
		    "line 1: encoding must be UTF-8 "
		    "(UTF-16 or UCS-4 input)");
		return -1;
	}
	if (n > 0 && (unsigned char)d[0] == 0xef) {
		if (n < 3)
			return at_end ? 1 : 0;
		if (memcmp(d, "\xef\xbb\xbf", 3) == 0)
			off = 3;
	}
	for (i = 0; i < 6 && off + i < n; i++) {
		if (i < 5 && d[off + i] != "<?xml"[i])
			return 1;
		if (i == 5 && !is_xml_space((unsigned char)d[off + i]))
			return 1;
	}
	if (off + 6 > n)
		return at_end ? 1 : 0;
	e = memmem(d + off, n - off, "?>", 2);
	if (e == NULL) {
		if (at_end)
			return 1; /* libxml2 says what is wrong */
		if (n < DECL_MAX)
			return 0;
		fail(p, CIMXML_NOT_WELL_FORMED,
		    "line 1: XML declaration too long");
		return -1;
	}
	/* Pseudo-attributes: name = "value" ...; libxml2 checks the syntax. */
	q = d + off + 6;
	for (;;) {
		while (q < e && is_xml_space((unsigned char)*q))
			q++;
		name = q;
		while (q < e && !is_xml_space((unsigned char)*q) && *q != '=')
			q++;
		nl = (size_t)(q - name);
		while (q < e && is_xml_space((unsigned char)*q))
			q++;
		if (nl == 0 || q >= e || *q != '=')
			return 1;
		q++;
		while (q < e && is_xml_space((unsigned char)*q))
			q++;
		if (q >= e || (*q != '"' && *q != '\''))
			return 1;
		quote = *q++;
		val = q;
		while (q < e && *q != quote)
			q++;
		if (q >= e)
			return 1;
		vl = (size_t)(q - val);
		q++;
		if (nl != 8 || memcmp(name, "encoding", 8) != 0)
			continue;
		if ((vl == 5 && strncasecmp(val, "UTF-8", 5) == 0) ||
		    (vl == 4 && strncasecmp(val, "UTF8", 4) == 0))
			return 1;
		fail(p, CIMXML_NOT_WELL_FORMED,
		    "line 1: encoding must be "
		    "UTF-8, not \"%s\"",
		    clip(c1, sizeof c1, val, vl, CLIP_MAX));
		return -1;
	}
}

/* Feed bytes, holding back the start of the document until it is checked. */
static enum cimxml_status
parser_feed(
    struct cimxml_parser *p, const char *data, size_t len, bool terminate)
{
	size_t n, off;
	int r;

	if (p->status != CIMXML_OK || p->is_class || p->finished)
		return p->status;
	if (!p->decl_done) {
		n = DECL_MAX - p->decl_len;
		if (n > len)
			n = len;
		memcpy(p->decl + p->decl_len, data, n);
		p->decl_len += n;
		data += n;
		len -= n;
		if (terminate && p->decl_len == 0) {
			fail(p, CIMXML_NOT_WELL_FORMED,
			    "line 1: document is empty");
			return p->status;
		}
		r = decl_check(p, terminate);
		if (r < 0)
			return p->status;
		if (r == 0)
			return CIMXML_OK;
		p->decl_done = true;
		off = 0;
		if (p->decl_len >= 3 && memcmp(p->decl, "\xef\xbb\xbf", 3) == 0)
			off = 3;
		xml_feed(
		    p, p->decl + off, p->decl_len - off, terminate && len == 0);
		if (len == 0 || p->status != CIMXML_OK || p->is_class)
			return p->status;
	}
	xml_feed(p, data, len, terminate);
	return p->status;
}

enum cimxml_status
cimxml_parser_feed(struct cimxml_parser *p, const char *data, size_t len)
{
	if (len == 0)
		return p->status;
	return parser_feed(p, data, len, false);
}

enum cimxml_status
cimxml_parser_feed_last(struct cimxml_parser *p, const char *data, size_t len)
{
	return parser_feed(p, data, len, true);
}

/* End of input: the status of the whole document. */
static enum cimxml_status
parser_end(struct cimxml_parser *p)
{
	if (p->finished)
		return p->status;
	if (p->status == CIMXML_OK && !p->is_class && !p->terminated) {
		if (!p->decl_done)
			parser_feed(p, "", 0, true);
		else
			xml_feed(p, "", 0, 1);
	}
	p->finished = true;
	if (p->status != CIMXML_OK || p->is_class)
		return p->status;
	if (!p->ctxt->wellFormed) {
		p->status = CIMXML_NOT_WELL_FORMED;
		snprintf(p->reason, sizeof p->reason,
		    "line %d: not well-formed", cur_line(p));
	} else if (!p->root_done) {
		p->status = CIMXML_NOT_WELL_FORMED;
		snprintf(p->reason, sizeof p->reason, "line %d: %s",
		    cur_line(p),
		    p->depth > 0 ? "document is incomplete"
				 : "document is empty");
	}
	return p->status;
}

enum cimxml_status
cimxml_parser_finish(struct cimxml_parser *p, struct cimxml_message **msgp)
{
	bool was_finished = p->finished;

	*msgp = NULL;
	if (parser_end(p) != CIMXML_OK || was_finished || p->msg == NULL)
		return p->status;
	*msgp = p->msg;
	p->own_arena = false; /* the message owns it now */
	return p->status;
}

const char *
cimxml_parser_reason(const struct cimxml_parser *p)
{
	return p->reason;
}

void
cimxml_parser_free(struct cimxml_parser *p)
{
	unsigned i;

	if (p == NULL)
		return;
	if (p->ctxt != NULL)
		ctxt_put(p->ctxt);
	if (p->own_arena)
		arena_free(p->arena);
	for (i = 0; i < p->refscap; i++) {
		buf_free(&p->refs[i].ns);
		free(p->refs[i].keys);
	}
	free(p->refs);
	free(p->stack);
	buf_free(&p->text);
	buf_free(&p->scratch);
	free(p->exports);
	free(p->props);
	free(p->propnamelens);
	free(p->vals);
	free(p);
}

/*
 * Parse the text of an EmbeddedObject value into *out (an instance), or set
 * *is_class if it is a CLASS; on error fail p with the child's reason.
 */
static void
parse_embedded(struct cimxml_parser *p, const char *text, size_t len,
    struct cim_value *out, bool *is_class)
{
	struct cimxml_parser *sub;
	char c1[CLIP_MAX + 4];

	if (p->embed_level >= p->limits.max_embedding_depth) {
		fail(p, CIMXML_NOT_VALID,
		    "line %d: property \"%s\": embedded "
		    "instances nested deeper than %u",
		    cur_line(p),
		    clip(
			c1, sizeof c1, p->prop.name, p->prop.namelen, CLIP_MAX),
		    p->limits.max_embedding_depth);
		p->verbatim = true;
		return;
	}
	sub = parser_create(&p->limits, p->arena, p->embed_level + 1,
	    p->base_depth + p->depth + 1);
	sub->nelements = p->nelements;
	if (sub->status == CIMXML_OK)
		parser_feed(sub, text, len, true);
	parser_end(sub);
	if (sub->is_class)
		*is_class = true;
	else if (sub->status != CIMXML_OK) {
		if (sub->verbatim) {
			fail(p, CIMXML_NOT_VALID, "%s", sub->reason);
			p->verbatim = true;
		} else {
			fail(p, CIMXML_NOT_VALID,
			    "line %d: property \"%s\": "
			    "embedded instance: %s",
			    cur_line(p),
			    clip(c1, sizeof c1, p->prop.name, p->prop.namelen,
				CLIP_MAX),
			    sub->reason);
		}
	} else {
		memset(out, 0, sizeof *out);
		out->v.inst = sub->result;
	}
	cimxml_parser_free(sub);
}

enum cimxml_status
cimxml_parse(const char *data, size_t len, const struct cimxml_limits *limits,
    struct cimxml_message **msgp, char **reasonp)
{
	struct cimxml_parser *p;
	enum cimxml_status st;

	p = cimxml_parser_new(limits);
	parser_feed(p, data, len, true);
	st = cimxml_parser_finish(p, msgp);
	if (reasonp != NULL)
		*reasonp = st == CIMXML_OK ? NULL : xstrdup(p->reason);
	cimxml_parser_free(p);
	return st;
}

void
cimxml_message_free(struct cimxml_message *msg)
{
	if (msg != NULL)
		arena_free(msg->arena);
}

const char *
cimxml_status_cimerror(enum cimxml_status st)
{
	switch (st) {
	case CIMXML_OK:
		return NULL;
	case CIMXML_NOT_WELL_FORMED:
		return "request-not-well-formed";
	case CIMXML_NOT_VALID:
		return "request-not-valid";
	case CIMXML_BAD_PROTOCOL_VERSION:
		return "unsupported-protocol-version";
	case CIMXML_BAD_CIM_VERSION:
		return "unsupported-cim-version";
	case CIMXML_BAD_DTD_VERSION:
		return "unsupported-dtd-version";
	}
	return "request-not-valid";
}

int
cimxml_status_http(enum cimxml_status st)
{
	switch (st) {
	case CIMXML_OK:
		return 200;
	case CIMXML_NOT_WELL_FORMED:
	case CIMXML_NOT_VALID:
		return 400;
	case CIMXML_BAD_PROTOCOL_VERSION:
	case CIMXML_BAD_CIM_VERSION:
	case CIMXML_BAD_DTD_VERSION:
		return 501;
	}
	return 400;
}
