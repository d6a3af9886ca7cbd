/*
 * format.c: the MOF and template forms of a record, the severity mapping,
 * and the per-sink context that renders spool lines in a sink's format.
 *
 * MOF follows DSP0221 as pywbem's tomof() prints instances: three spaces
 * of indent per level, strings in double quotes with \b \t \n \f \r \" \'
 * \\ and \xHHHH escapes for other control characters, char16 in single
 * quotes, arrays in braces, NULL for a NULL value or item, booleans true /
 * false, embedded instances nested as "instance of ... { ... }". Reals use
 * the shortest form that reads back; NaN and infinities are written NaN,
 * INF, -INF (MOF has no literal for them).
 *
 * A template is compiled into a list of pieces: literal text and
 * placeholders, each placeholder a pseudo-property or a property path
 * split into names. Rendering walks the pieces; nothing can fail there.
 */
#include "autoconf.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "arena.h"
#include "format.h"
#include "xmalloc.h"

#define MOF_INDENT 3
#define TEMPLATE_MAX_DEPTH 16  /* names in one dotted path */

/* MOF */

/* Append a MOF string literal body (no quotes) with DSP0221 escapes. */
static void
mof_escape(struct buf *b, const char *s, char quote)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '\b': buf_adds(b, "\\b"); break;
		case '\t': buf_adds(b, "\\t"); break;
		case '\n': buf_adds(b, "\\n"); break;
		case '\f': buf_adds(b, "\\f"); break;
		case '\r': buf_adds(b, "\\r"); break;
		case '\\': buf_adds(b, "\\\\"); break;
		case '"':
		case '\'':
			if (*p == (unsigned char)quote)
				buf_addc(b, '\\');
			buf_addc(b, (char)*p);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				buf_printf(b, "\\x%04X", *p);
			else
				buf_addc(b, (char)*p);
			break;
		}
	}
}

/* A real in MOF: shortest round-trip form, NaN, INF, -INF. */
static void
mof_real(struct buf *b, double v, bool is_real32)
{
	size_t start;

	if (isnan(v))
		buf_adds(b, "NaN");
	else if (isinf(v))
		buf_adds(b, v < 0 ? "-INF" : "INF");
	else {
		start = b->len;
		record_json_real(b, v, is_real32);
		/* 25 reads back as an integer in MOF: write 25.0. */
		if (strcspn(b->data + start, ".eE") == b->len - start)
			buf_adds(b, ".0");
	}
}

/*
 * One value of type t. bare: strings, datetimes and references unquoted
 * and unescaped (templates); embedded instances then on one line.
 */
static void
mof_value(struct buf *b, enum cim_type t, const struct cim_value *v,
    unsigned indent, bool bare)
{
	if (v->null) {
		if (!bare)
			buf_adds(b, "NULL");
		return;
	}
	switch (t) {
	case CIM_BOOLEAN:
		buf_adds(b, v->v.b ? "true" : "false");
		break;
	case CIM_UINT8:
	case CIM_UINT16:
	case CIM_UINT32:
	case CIM_UINT64:
		buf_printf(b, "%llu", (unsigned long long)v->v.u);
		break;
	case CIM_SINT8:
	case CIM_SINT16:
	case CIM_SINT32:
	case CIM_SINT64:
		buf_printf(b, "%lld", (long long)v->v.s);
		break;
	case CIM_REAL32:
	case CIM_REAL64:
		mof_real(b, v->v.r, t == CIM_REAL32);
		break;
	case CIM_CHAR16:
		if (bare)
			buf_adds(b, v->v.str);
		else {
			buf_addc(b, '\'');
			mof_escape(b, v->v.str, '\'');
			buf_addc(b, '\'');
		}
		break;
	case CIM_STRING:
	case CIM_DATETIME:
	case CIM_REFERENCE:
		if (bare)
			buf_adds(b, v->v.str);
		else {
			buf_addc(b, '"');
			mof_escape(b, v->v.str, '"');
			buf_addc(b, '"');
		}
		break;
	case CIM_INSTANCE:
		if (v->v.inst == NULL)
			buf_adds(b, "NULL");
		else if (bare)
			format_mof_instance(b, v->v.inst, UINT32_MAX);
		else
			format_mof_instance(b, v->v.inst, indent);
		break;
	default:
		break;
	}
}

/* A property's value: scalar, {a, b} for arrays, NULL. */
static void
mof_property_value(struct buf *b, const struct cim_property *p,
    unsigned indent, bool bare)
{
	size_t i;

	if (p->null || (!p->array && p->count == 0)) {
		if (!bare)
			buf_adds(b, "NULL");
		return;
	}
	if (!p->array) {
		mof_value(b, p->type, &p->values[0], indent, bare);
		return;
	}
	if (!bare)
		buf_adds(b, p->count == 0 ? "{}" : "{ ");
	for (i = 0; i < p->count; i++) {
		if (i > 0)
			buf_adds(b, ", ");
		mof_value(b, p->type, &p->values[i], indent, bare);
	}
	if (!bare && p->count > 0)
		buf_adds(b, " }");
}

/*
 * indent == UINT32_MAX writes the instance on one line:
 * "instance of C { P = v; Q = w; }".
 */
void
format_mof_instance(struct buf *b, const struct cim_instance *inst,
    unsigned indent)
{
	const struct cim_property *p;
	bool oneline = indent == UINT32_MAX;
	size_t i;

	buf_printf(b, "instance of %s {", inst->classname);
	for (i = 0; i < inst->nprops; i++) {
		p = &inst->props[i];
		if (oneline)
			buf_addc(b, ' ');
		else
			buf_printf(b, "\n%*s", (int)(indent + MOF_INDENT), "");
		buf_printf(b, "%s = ", p->name);
		mof_property_value(b, p, oneline ? indent : indent + MOF_INDENT,
		    false);
		buf_addc(b, ';');
	}
	if (oneline)
		buf_adds(b, inst->nprops > 0 ? " }" : "}");
	else
		buf_printf(b, "\n%*s}", (int)indent, "");
}

void
format_mof(const struct record *rec, struct buf *b)
{
	format_mof_instance(b, rec->inst, 0);
	buf_addc(b, ';');
}

/* Severity */

static const char *const level_names[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"
};

int
format_level_parse(const char *s)
{
	int i;

	if (s == NULL)
		return -1;
	for (i = 0; i < 8; i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return i;
	if (strcasecmp(s, "error") == 0)
		return LOG_ERR;
	if (strcasecmp(s, "warn") == 0)
		return LOG_WARNING;
	return -1;
}

const char *
format_level_name(int level)
{
	return level >= 0 && level < 8 ? level_names[level] : "notice";
}

int
format_severity_map(uint64_t perceived)
{
	switch (perceived) {
	case 0:
	case 1:
	case 2:
		return LOG_INFO;
	case 3:
	case 4:
		return LOG_WARNING;
	case 5:
		return LOG_ERR;
	case 6:
		return LOG_CRIT;
	case 7:
		return LOG_ALERT;
	default:
		return LOG_NOTICE;
	}
}

/*
 * Follow a dotted path ("SourceInstance.PerceivedSeverity") through
 * embedded instances; NULL if any step is missing, NULL or not an
 * instance. names[0..n).
 */
static const struct cim_property *
path_lookup(const struct cim_instance *inst, char *const *names, size_t n)
{
	const struct cim_property *p = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		if (inst == NULL)
			return NULL;
		if ((p = cim_instance_get(inst, names[i])) == NULL)
			return NULL;
		if (i + 1 < n) {
			if (p->type != CIM_INSTANCE || p->array || p->null ||
			    p->count == 0 || p->values[0].null)
				return NULL;
			inst = p->values[0].v.inst;
		}
	}
	return p;
}

/* The level a property value gives, or -1. */
static int
property_level(const struct cim_property *p)
{
	const struct cim_value *v;

	if (p == NULL || p->null || p->array || p->count == 0)
		return -1;
	v = &p->values[0];
	if (v->null)
		return -1;
	if (cim_type_is_unsigned(p->type))
		return format_severity_map(v->v.u);
	if (cim_type_is_signed(p->type))
		return v->v.s < 0 ? LOG_NOTICE :
		    format_severity_map((uint64_t)v->v.s);
	if (p->type == CIM_STRING)
		return format_level_parse(v->v.str);
	return -1;
}

int
format_severity(const struct record *rec, const char *spec)
{
	char *copy, *names[TEMPLATE_MAX_DEPTH], *tok, *save;
	size_t n = 0;
	int level;

	if (spec == NULL || *spec == '\0')
		spec = "PerceivedSeverity";
	else if ((level = format_level_parse(spec)) != -1)
		return level;
	copy = xstrdup(spec);
	for (tok = strtok_r(copy, ".", &save);
	     tok != NULL && n < TEMPLATE_MAX_DEPTH;
	     tok = strtok_r(NULL, ".", &save))
		names[n++] = tok;
	level = property_level(path_lookup(rec->inst, names, n));
	free(copy);
	return level == -1 ? LOG_NOTICE : level;
}

/* Templates */

enum piece_kind {
	PIECE_TEXT,
	PIECE_CLASS,
	PIECE_SEQ,
	PIECE_TIME,
	PIECE_SOURCE,
	PIECE_PATH,
	PIECE_SEVERITY,
	PIECE_USER,
	PIECE_MESSAGE_ID,
	PIECE_FILTERS,
	PIECE_PROPERTY,
};

static const struct {
	const char *name;
	enum piece_kind kind;
} pseudo[] = {
	{ "__CLASS", PIECE_CLASS },
	{ "__SEQ", PIECE_SEQ },
	{ "__TIME", PIECE_TIME },
	{ "__SOURCE", PIECE_SOURCE },
	{ "__PATH", PIECE_PATH },
	{ "__SEVERITY", PIECE_SEVERITY },
	{ "__USER", PIECE_USER },
	{ "__MESSAGE_ID", PIECE_MESSAGE_ID },
	{ "__FILTERS", PIECE_FILTERS },
};

struct piece {
	enum piece_kind kind;
	char *text;        /* PIECE_TEXT */
	char **names;      /* PIECE_PROPERTY: the path */
	size_t nnames;
};

struct template {
	int refs;
	char *text;
	struct piece *pieces;
	size_t npieces;
};

static void
template_error(struct template_error *err, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
template_error(struct template_error *err, size_t off, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	err->col = (unsigned)off + 1;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
}

static struct piece *
piece_add(struct template *t, enum piece_kind kind)
{
	struct piece *p;

	t->pieces = xreallocarray(t->pieces, t->npieces + 1,
	    sizeof *t->pieces);
	p = &t->pieces[t->npieces++];
	memset(p, 0, sizeof *p);
	p->kind = kind;
	return p;
}

/* Flush pending literal text as a piece. */
static void
piece_text(struct template *t, struct buf *lit)
{
	if (lit->len == 0)
		return;
	piece_add(t, PIECE_TEXT)->text = buf_steal(lit, NULL);
}

static bool
is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/*
 * Parse the placeholder name s[0..n) starting at byte off of the text.
 * Returns 0, or -1 with err.
 */
static int
placeholder(struct template *t, const char *s, size_t n, size_t off,
    struct template_error *err)
{
	struct piece *p;
	size_t i, start;

	if (n == 0) {
		template_error(err, off, "empty placeholder {}");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (!is_name_char(s[i]) && s[i] != '.') {
			template_error(err, off + i, "unexpected character "
			    "'%c' in placeholder (write {{ and }} for braces)",
			    isprint((unsigned char)s[i]) ? s[i] : '?');
			return -1;
		}
	}
	if (n >= 2 && s[0] == '_' && s[1] == '_') {
		for (i = 0; i < sizeof pseudo / sizeof pseudo[0]; i++)
			if (strlen(pseudo[i].name) == n &&
			    strncasecmp(pseudo[i].name, s, n) == 0) {
				piece_add(t, pseudo[i].kind);
				return 0;
			}
		template_error(err, off, "unknown placeholder {%.*s}: the "
		    "__ names are __CLASS, __SEQ, __TIME, __SOURCE, __PATH, "
		    "__SEVERITY, __USER, __MESSAGE_ID, __FILTERS", (int)n, s);
		return -1;
	}
	p = piece_add(t, PIECE_PROPERTY);
	for (start = 0, i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (i == start) {
			template_error(err, off + i, "empty name in "
			    "placeholder {%.*s}", (int)n, s);
			return -1;
		}
		if (p->nnames == TEMPLATE_MAX_DEPTH) {
			template_error(err, off, "placeholder path deeper than "
			    "%d names", TEMPLATE_MAX_DEPTH);
			return -1;
		}
		p->names = xreallocarray(p->names, p->nnames + 1,
		    sizeof *p->names);
		p->names[p->nnames++] = xstrndup(s + start, i - start);
		start = i + 1;
	}
	return 0;
}

struct template *
template_compile(const char *text, struct template_error *err)
{
	struct template *t;
	struct buf lit = BUF_INIT;
	const char *p = text, *close;

	t = xcalloc(1, sizeof *t);
	t->refs = 1;
	t->text = xstrdup(text);
	while (*p != '\0') {
		if (p[0] == '{' && p[1] == '{') {
			buf_addc(&lit, '{');
			p += 2;
		} else if (p[0] == '}' && p[1] == '}') {
			buf_addc(&lit, '}');
			p += 2;
		} else if (*p == '}') {
			template_error(err, (size_t)(p - text),
			    "single '}' (write }} for a brace)");
			goto fail;
		} else if (*p == '{') {
			if ((close = strchr(p, '}')) == NULL) {
				template_error(err, (size_t)(p - text),
				    "unclosed '{' (write {{ for a brace)");
				goto fail;
			}
			piece_text(t, &lit);
			if (placeholder(t, p + 1, (size_t)(close - p - 1),
			    (size_t)(p + 1 - text), err) == -1)
				goto fail;
			p = close + 1;
		} else
			buf_addc(&lit, *p++);
	}
	piece_text(t, &lit);
	buf_free(&lit);
	return t;

fail:
	buf_free(&lit);
	template_free(t);
	return NULL;
}

struct template *
template_ref(struct template *t)
{
	__atomic_add_fetch(&t->refs, 1, __ATOMIC_RELAXED);
	return t;
}

void
template_free(struct template *t)
{
	size_t i, j;

	if (t == NULL || __atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	for (i = 0; i < t->npieces; i++) {
		free(t->pieces[i].text);
		for (j = 0; j < t->pieces[i].nnames; j++)
			free(t->pieces[i].names[j]);
		free(t->pieces[i].names);
	}
	free(t->pieces);
	free(t->text);
	free(t);
}

const char *
template_text(const struct template *t)
{
	return t->text;
}

void
template_render(const struct template *t, const struct record *rec,
    int level, struct buf *out)
{
	const struct piece *p;
	const struct cim_property *prop;
	char tbuf[32];
	size_t i, j;

	for (i = 0; i < t->npieces; i++) {
		p = &t->pieces[i];
		switch (p->kind) {
		case PIECE_TEXT:
			buf_adds(out, p->text);
			break;
		case PIECE_CLASS:
			buf_adds(out, rec->inst->classname);
			break;
		case PIECE_SEQ:
			buf_printf(out, "%llu", (unsigned long long)rec->seq);
			break;
		case PIECE_TIME:
			record_format_time(&rec->time, tbuf);
			buf_adds(out, tbuf);
			break;
		case PIECE_SOURCE:
			if (rec->source != NULL)
				buf_adds(out, rec->source->addr);
			break;
		case PIECE_PATH:
			if (rec->source != NULL && rec->source->path != NULL)
				buf_adds(out, rec->source->path);
			break;
		case PIECE_SEVERITY:
			buf_adds(out, format_level_name(level));
			break;
		case PIECE_USER:
			if (rec->source != NULL && rec->source->user != NULL)
				buf_adds(out, rec->source->user);
			break;
		case PIECE_MESSAGE_ID:
			if (rec->message_id != NULL)
				buf_adds(out, rec->message_id);
			break;
		case PIECE_FILTERS:
			for (j = 0; j < rec->nfilters; j++) {
				if (j > 0)
					buf_adds(out, ", ");
				buf_adds(out, rec->filters[j]);
			}
			break;
		case PIECE_PROPERTY:
			prop = path_lookup(rec->inst, p->names, p->nnames);
			if (prop != NULL)
				mof_property_value(out, prop, UINT32_MAX, true);
			break;
		}
	}
	if (out->data == NULL)
		buf_adds(out, "");
}

/* Per-sink context */

struct format_ctx {
	enum sink_format format;
	struct template *tmpl;
	char *severity;
	struct arena *arena;
	struct record rec;
	struct record_source src;
};

struct format_ctx *
format_ctx_new(const struct sink_conf *conf)
{
	struct format_ctx *fc;

	fc = xcalloc(1, sizeof *fc);
	fc->format = conf->format;
	fc->tmpl = conf->tmpl != NULL ? template_ref(conf->tmpl) : NULL;
	fc->severity = xstrdup(conf->severity != NULL ? conf->severity : "");
	return fc;
}

void
format_ctx_free(struct format_ctx *fc)
{
	if (fc == NULL)
		return;
	template_free(fc->tmpl);
	free(fc->severity);
	if (fc->arena != NULL)
		arena_free(fc->arena);
	free(fc);
}

const struct record *
format_decode(struct format_ctx *fc, const char *line, size_t len,
    char **cause)
{
	if (fc->arena != NULL)
		arena_free(fc->arena);
	fc->arena = arena_new();
	memset(&fc->rec, 0, sizeof fc->rec);
	memset(&fc->src, 0, sizeof fc->src);
	if (record_from_json(line, len, fc->arena, &fc->rec, &fc->src,
	    cause) == -1)
		return NULL;
	return &fc->rec;
}

int
format_ctx_severity(struct format_ctx *fc, const struct record *rec)
{
	return format_severity(rec, fc->severity);
}

void
format_ctx_render(struct format_ctx *fc, const char *line, size_t len,
    const struct record *rec, struct buf *out)
{
	switch (fc->format) {
	case SINK_FORMAT_MOF:
		if (rec != NULL) {
			format_mof(rec, out);
			return;
		}
		break;
	case SINK_FORMAT_TEMPLATE:
		if (rec != NULL && fc->tmpl != NULL) {
			template_render(fc->tmpl, rec,
			    format_ctx_severity(fc, rec), out);
			return;
		}
		break;
	default:
		break;
	}
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	buf_add(out, line, len);
}

int
format_line(struct format_ctx *fc, const char *line, size_t len,
    struct buf *out, char **cause)
{
	const struct record *rec = NULL;

	if (fc->format != SINK_FORMAT_JSON &&
	    (rec = format_decode(fc, line, len, cause)) == NULL)
		return -1;
	format_ctx_render(fc, line, len, rec, out);
	return 0;
}
