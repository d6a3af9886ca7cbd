/*
 * filter.c: the filter language of DESIGN section 5.
 *
 * filter_compile is a hand-written lexer and recursive-descent parser that
 * builds a tree in one arena. Everything that can be settled before an
 * indication arrives is settled here: keywords, property paths (split, with
 * the first letter of each name folded for a quick reject), pseudo-properties,
 * literals (integers as sign and magnitude, reals, strings with their reading
 * as a DSP0201 datetime), LIKE patterns (split into runs) and regular
 * expressions (compiled, checked first for what glibc handles badly).
 * Predicates whose operands are all literals are evaluated once and become
 * constants; comparisons of literals of incompatible types are errors.
 *
 * filter_match walks the tree without allocating and without writing to it,
 * so one compiled filter serves any number of threads. Recursion is bounded:
 * the parser refuses nesting deeper than FILTER_MAX_DEPTH and paths longer
 * than FILTER_MAX_PATH, which also bounds the depth of the tree.
 *
 * Semantics in short: a predicate on an absent or NULL operand is false
 * (only IS NULL is true); on an array it is true when any non-NULL item
 * satisfies it; a comparison between values of types that cannot compare is
 * false; integers compare exactly over the whole 64-bit signed and unsigned
 * ranges; datetimes compare chronologically (timestamps in UTC, intervals as
 * durations); class names compare case-insensitively.
 */
#include "autoconf.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arena.h"
#include "filter.h"
#include "xmalloc.h"

#define FILTER_MAX_LEN 65536	 /* bytes of expression text */
#define FILTER_MAX_DEPTH 200	 /* nested parentheses and NOTs */
#define FILTER_MAX_PATH 32	 /* names in a dotted path */
#define REGEX_MAX_NEST 32	 /* groups in groups in a MATCHES pattern */
#define REGEX_MAX_DUP 255	 /* a {n,m} bound */
#define REGEX_MAX_LOOPS 6	 /* x+ nested in x+ */
#define REGEX_MAX_COST 10000	 /* estimated size of a pattern once expanded */
#define REGEX_MAX_WORK (1 << 20) /* that size times 4^REGEX_MAX_LOOPS */

enum tok_kind {
	T_END,
	T_NAME, /* an identifier or a dotted path */
	T_STRING,
	T_INT,
	T_REAL,
	T_LPAREN,
	T_RPAREN,
	T_COMMA,
	T_EQ,
	T_NE,
	T_LT,
	T_LE,
	T_GT,
	T_GE,
	T_AND,
	T_OR,
	T_NOT,
	T_LIKE,
	T_MATCHES,
	T_IS,
	T_NULL,
	T_IN,
	T_TRUE,
	T_FALSE,
};

static const struct {
	const char *word;
	enum tok_kind kind;
} keywords[] = {
    {"AND", T_AND},
    {"OR", T_OR},
    {"NOT", T_NOT},
    {"LIKE", T_LIKE},
    {"MATCHES", T_MATCHES},
    {"IS", T_IS},
    {"NULL", T_NULL},
    {"IN", T_IN},
    {"TRUE", T_TRUE},
    {"FALSE", T_FALSE},
};

struct token {
	enum tok_kind kind;
	size_t off;   /* byte offset of the token in the text */
	size_t len;   /* bytes of source text */
	char *str;    /* T_STRING: the unescaped value (arena) */
	bool neg;     /* T_INT: sign; never set for zero */
	uint64_t mag; /* T_INT: magnitude */
	double r;     /* T_REAL */
};

enum cmp_op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };

/* How two values compare. */
enum cmp_res {
	C_NONE, /* types that cannot compare */
	C_LT,
	C_EQ,
	C_GT,
	C_UNORD, /* numbers, one of them NaN */
	C_BEQ,	 /* booleans, equal */
	C_BNE,	 /* booleans, different */
};

enum dt_kind { DT_NONE, DT_STAMP, DT_INTERVAL };

/* A datetime as microseconds: since the epoch in UTC, or a duration. */
struct dt {
	enum dt_kind kind;
	int64_t us;
};

enum val_kind { VK_INT, VK_REAL, VK_STR, VK_DT, VK_BOOL, VK_OTHER };

/* One value as the comparisons see it: a literal or one property item. */
struct val {
	enum val_kind kind;
	bool icase;    /* a class name: compares case-insensitively */
	bool f32;      /* a real32 value */
	bool neg;      /* VK_INT sign (zero is never negative) */
	bool b;	       /* VK_BOOL */
	bool dt_done;  /* dt holds the reading of s as a datetime */
	uint64_t mag;  /* VK_INT magnitude */
	double r;      /* VK_REAL */
	const char *s; /* VK_STR, VK_DT */
	struct dt dt;
};

enum opnd_kind {
	O_LIT,
	O_PATH, /* properties, possibly of embedded instances; or __CLASS */
	O_SOURCE,
	O_USER,
	O_REQPATH, /* __PATH */
	O_TLS,
	O_FILTERS,
};

/* One name of a path. */
struct seg {
	const char *name;
	unsigned char c0; /* name[0] | 0x20, for a quick reject */
};

struct operand {
	enum opnd_kind kind;
	size_t off, len;  /* source text, for messages */
	struct val lit;	  /* O_LIT */
	struct seg *segs; /* O_PATH: property names, outermost first */
	size_t nsegs;
	bool tail_class; /* O_PATH: ends in __CLASS (nsegs may be 0) */
};

enum like_kind { L_LIT, L_ONE, L_ANY };

struct like_el {
	enum like_kind kind;
	size_t len;	 /* L_LIT */
	const char *lit; /* L_LIT */
};

struct like {
	size_t n;
	struct like_el *els;
};

struct regex {
	regex_t re;
	struct regex *next;
};

enum node_kind {
	N_CONST,
	N_AND,
	N_OR,
	N_NOT,
	N_CMP,
	N_LIKE,
	N_MATCH,
	N_IN,
	N_ISNULL,
};

struct node {
	enum node_kind kind;
	bool value;	    /* N_CONST */
	bool neg;	    /* NOT LIKE, NOT MATCHES, NOT IN, IS NOT NULL */
	enum cmp_op op;	    /* N_CMP */
	struct operand a;   /* the operand of a predicate */
	struct operand b;   /* N_CMP: the right side (a literal if either is) */
	struct node **kids; /* N_AND, N_OR, N_NOT */
	size_t nkids;
	struct like like;  /* N_LIKE */
	regex_t *re;	   /* N_MATCH */
	struct val *items; /* N_IN */
	size_t nitems;
};

struct filter {
	char *text;
	struct arena *arena; /* the tree and everything it points to */
	struct regex *regexes;
	struct node *root;
};

struct parser {
	const char *s;
	size_t len;
	size_t pos;	   /* lexer position */
	struct token tok;  /* current token */
	struct token prev; /* the one before, for messages */
	bool have_prev;
	unsigned depth;
	unsigned open; /* parentheses open */
	struct arena *arena;
	struct filter *f;
	struct filter_error *err;
	bool failed;
};

/* The walk over an operand's values. */
struct leaf {
	const struct val *lit; /* a single prepared value */
	const struct cim_value *values;
	enum cim_type type;
	const char *const *strs; /* __FILTERS */
	size_t count;
};

struct evalctx {
	const struct node *n;
	const struct filter_input *in;
	const struct val *left; /* N_CMP between two non-literals */
};

typedef bool leaf_fn(const struct leaf *, const struct evalctx *);

static struct node *parse_or(struct parser *);
static bool eval(const struct node *, const struct filter_input *);

/* ASCII only, whatever the locale. */
static bool
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool
is_alnum(int c)
{
	return is_alpha(c) || is_digit(c);
}

static int
hex_value(int c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Length of the UTF-8 character at s (1 for a stray byte), within rem. */
static size_t
u8len(const char *s, size_t rem)
{
	unsigned char c = (unsigned char)s[0];
	size_t n, i;

	if (c < 0xc2)
		return 1;
	n = c < 0xe0 ? 2 : c < 0xf0 ? 3 : c < 0xf5 ? 4 : 1;
	if (n > rem)
		return 1;
	for (i = 1; i < n; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			return 1;
	}
	return n;
}

/*
 * Copy at most 40 bytes of source text into out for a message: whole UTF-8
 * characters, control characters as '?', "..." when cut.
 */
static void
excerpt(char *out, size_t size, const char *s, size_t len)
{
	size_t i = 0, o = 0, n;
	const size_t max = 40;

	while (i < len && o + 8 < size) {
		n = u8len(s + i, len - i);
		if (i + n > max)
			break;
		if (n == 1 &&
		    ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f))
			out[o++] = '?';
		else {
			memcpy(out + o, s + i, n);
			o += n;
		}
		i += n;
	}
	if (i < len) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* Record the first error, at byte offset off. */
static void __attribute__((format(printf, 3, 4)))
perr(struct parser *p, size_t off, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return;
	p->failed = true;
	p->err->col = (unsigned)off + 1;
	va_start(ap, fmt);
	vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
	va_end(ap);
}

/* A token for a message: 'AND', '=', 'Foo', 'abc' or "end of expression". */
static void
tok_desc(const struct parser *p, const struct token *t, char *out, size_t size)
{
	char ex[64];

	if (t->kind == T_END) {
		snprintf(out, size, "end of expression");
		return;
	}
	excerpt(ex, sizeof ex, p->s + t->off, t->len);
	if (t->kind == T_STRING)
		snprintf(out, size, "%s", ex);
	else
		snprintf(out, size, "'%s'", ex);
}

/* "integer 5", "string 'abc'" for a literal operand. */
static void
lit_desc(
    const struct parser *p, const struct operand *o, char *out, size_t size)
{
	static const char *const names[] = {
	    [VK_INT] = "integer",
	    [VK_REAL] = "real",
	    [VK_STR] = "string",
	    [VK_DT] = "datetime",
	    [VK_BOOL] = "boolean",
	    [VK_OTHER] = "value",
	};
	char ex[64];

	excerpt(ex, sizeof ex, p->s + o->off, o->len);
	snprintf(out, size, "%s %s", names[o->lit.kind], ex);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* The decimal number in s[0..n), or -1 if any of it is not a digit. */
static int64_t
digits(const char *s, size_t n)
{
	int64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/*
 * Read a DSP0201 datetime: timestamp yyyymmddhhmmss.mmmmmmsutc (UTC offset
 * in minutes) or interval ddddddddhhmmss.mmmmmm:000. Wildcards ('*') and
 * anything else give DT_NONE: such a value does not compare.
 */
static void
dt_parse(const char *s, struct dt *d)
{
	int64_t y, mo, da, h, mi, se, us, off;
	size_t len;

	d->kind = DT_NONE;
	d->us = 0;
	while (is_space(*s))
		s++;
	len = strlen(s);
	while (len > 0 && is_space(s[len - 1]))
		len--;
	if (len != 25 || s[14] != '.')
		return;
	h = digits(s + 8, 2);
	mi = digits(s + 10, 2);
	se = digits(s + 12, 2);
	us = digits(s + 15, 6);
	if (h < 0 || mi < 0 || se < 0 || us < 0 || h > 23 || mi > 59)
		return;
	if (s[21] == ':') {
		da = digits(s, 8);
		if (da < 0 || se > 59 || memcmp(s + 22, "000", 3) != 0)
			return;
		d->kind = DT_INTERVAL;
		d->us = (((da * 24 + h) * 60 + mi) * 60 + se) * 1000000 + us;
		return;
	}
	if (s[21] != '+' && s[21] != '-')
		return;
	y = digits(s, 4);
	mo = digits(s + 4, 2);
	da = digits(s + 6, 2);
	off = digits(s + 22, 3);
	if (y < 0 || mo < 1 || mo > 12 || da < 1 || da > 31 || se > 60 ||
	    off < 0)
		return;
	if (s[21] == '-')
		off = -off;
	d->kind = DT_STAMP;
	d->us = ((days_from_civil(y, (unsigned)mo, (unsigned)da) * 86400 +
		     h * 3600 + mi * 60 + se - off * 60) *
		    1000000) +
		us;
}

/* Sign-and-magnitude integers. */
static enum cmp_res
int_cmp(bool an, uint64_t am, bool bn, uint64_t bm)
{
	if (an != bn)
		return an ? C_LT : C_GT;
	if (am == bm)
		return C_EQ;
	if (an)
		return am > bm ? C_LT : C_GT;
	return am < bm ? C_LT : C_GT;
}

/* An integer against a double, exactly. */
static enum cmp_res
int_real_cmp(bool neg, uint64_t mag, double d)
{
	double t, frac;
	uint64_t tm;
	bool tn;
	enum cmp_res c;

	if (isnan(d))
		return C_UNORD;
	if (d >= 0x1p64)
		return C_LT;
	if (d < -0x1p63)
		return C_GT;
	t = trunc(d);
	frac = d - t;
	tn = t < 0;
	tm = tn ? (uint64_t)-t : (uint64_t)t;
	c = int_cmp(neg, mag, tn && tm != 0, tm);
	if (c != C_EQ)
		return c;
	return frac > 0 ? C_LT : frac < 0 ? C_GT : C_EQ;
}

static enum cmp_res
flip(enum cmp_res c)
{
	return c == C_LT ? C_GT : c == C_GT ? C_LT : c;
}

/* The datetime reading of a VK_DT or VK_STR value. */
static void
val_dt(const struct val *v, struct dt *d)
{
	if (v->dt_done)
		*d = v->dt;
	else
		dt_parse(v->s, d);
}

/* Compare two values by the typing rules of DESIGN section 5. */
static enum cmp_res
val_cmp(const struct val *a, const struct val *b)
{
	double x, y;
	struct dt da, db;
	int r;

	switch (a->kind) {
	case VK_INT:
		if (b->kind == VK_INT)
			return int_cmp(a->neg, a->mag, b->neg, b->mag);
		if (b->kind == VK_REAL)
			return int_real_cmp(a->neg, a->mag, b->r);
		return C_NONE;
	case VK_REAL:
		if (b->kind == VK_INT)
			return flip(int_real_cmp(b->neg, b->mag, a->r));
		if (b->kind != VK_REAL)
			return C_NONE;
		x = a->r;
		y = b->r;
		/* A real32 compares at its own precision. */
		if (a->f32 && !b->f32)
			y = (float)y;
		else if (b->f32 && !a->f32)
			x = (float)x;
		if (isnan(x) || isnan(y))
			return C_UNORD;
		return x < y ? C_LT : x > y ? C_GT : C_EQ;
	case VK_STR:
		if (b->kind == VK_DT)
			break;
		if (b->kind != VK_STR)
			return C_NONE;
		if (a->icase || b->icase)
			r = strcasecmp(a->s, b->s);
		else
			r = strcmp(a->s, b->s);
		return r < 0 ? C_LT : r > 0 ? C_GT : C_EQ;
	case VK_DT:
		if (b->kind != VK_DT && b->kind != VK_STR)
			return C_NONE;
		break;
	case VK_BOOL:
		if (b->kind != VK_BOOL)
			return C_NONE;
		return a->b == b->b ? C_BEQ : C_BNE;
	default:
		return C_NONE;
	}
	/* A datetime and a datetime or a string that reads as one. */
	val_dt(a, &da);
	val_dt(b, &db);
	if (da.kind == DT_NONE || da.kind != db.kind)
		return C_NONE;
	return da.us < db.us ? C_LT : da.us > db.us ? C_GT : C_EQ;
}

static bool
cmp_apply(enum cmp_op op, enum cmp_res c)
{
	switch (c) {
	case C_NONE:
		return false;
	case C_UNORD:
	case C_BNE:
		return op == OP_NE;
	case C_BEQ:
		return op == OP_EQ;
	case C_LT:
		return op == OP_NE || op == OP_LT || op == OP_LE;
	case C_EQ:
		return op == OP_EQ || op == OP_LE || op == OP_GE;
	case C_GT:
		return op == OP_NE || op == OP_GT || op == OP_GE;
	}
	return false;
}

/* One non-NULL CIM value as a struct val. */
static void
val_from_cim(enum cim_type t, const struct cim_value *cv, struct val *v)
{
	v->icase = false;
	v->f32 = false;
	v->dt_done = false;
	switch (t) {
	case CIM_BOOLEAN:
		v->kind = VK_BOOL;
		v->b = cv->v.b;
		break;
	case CIM_CHAR16:
	case CIM_STRING:
	case CIM_REFERENCE:
		v->kind = VK_STR;
		v->s = cv->v.str;
		break;
	case CIM_DATETIME:
		v->kind = VK_DT;
		v->s = cv->v.str;
		break;
	case CIM_UINT8:
	case CIM_UINT16:
	case CIM_UINT32:
	case CIM_UINT64:
		v->kind = VK_INT;
		v->neg = false;
		v->mag = cv->v.u;
		break;
	case CIM_SINT8:
	case CIM_SINT16:
	case CIM_SINT32:
	case CIM_SINT64:
		v->kind = VK_INT;
		v->neg = cv->v.s < 0;
		v->mag = v->neg ? (uint64_t)0 - (uint64_t)cv->v.s
				: (uint64_t)cv->v.s;
		break;
	case CIM_REAL32:
	case CIM_REAL64:
		v->kind = VK_REAL;
		v->f32 = t == CIM_REAL32;
		v->r = cv->v.r;
		break;
	default:
		v->kind = VK_OTHER;
		break;
	}
	if ((v->kind == VK_STR || v->kind == VK_DT) && v->s == NULL)
		v->kind = VK_OTHER;
}

/* Item i of a leaf, or NULL for a NULL item. */
static const struct val *
leaf_val(const struct leaf *l, size_t i, struct val *tmp)
{
	if (l->lit != NULL)
		return l->lit;
	if (l->strs != NULL) {
		if (l->strs[i] == NULL)
			return NULL;
		tmp->kind = VK_STR;
		tmp->icase = false;
		tmp->dt_done = false;
		tmp->s = l->strs[i];
		return tmp;
	}
	if (l->values[i].null)
		return NULL;
	val_from_cim(l->type, &l->values[i], tmp);
	return tmp;
}

/* Case-insensitive property lookup with a first-letter reject. */
static const struct cim_property *
lookup(const struct cim_instance *inst, const struct seg *sg)
{
	const struct cim_property *p;
	size_t i;

	for (i = 0; i < inst->nprops; i++) {
		p = &inst->props[i];
		if (((unsigned char)p->name[0] | 0x20) == sg->c0 &&
		    strcasecmp(p->name, sg->name) == 0)
			return p;
	}
	return NULL;
}

/*
 * Call fn on each non-NULL property (or class name) the path reaches from
 * inst, segment i on; true as soon as one call is.
 */
static bool
path_walk(const struct operand *o, size_t i, const struct cim_instance *inst,
    leaf_fn *fn, const struct evalctx *ctx)
{
	const struct cim_property *p;
	struct leaf l = {0};
	struct val v = {0};
	size_t j;

	if (i == o->nsegs) {
		/* tail_class */
		if (inst->classname == NULL)
			return false;
		v.kind = VK_STR;
		v.icase = true;
		v.s = inst->classname;
		l.lit = &v;
		l.count = 1;
		return fn(&l, ctx);
	}
	p = lookup(inst, &o->segs[i]);
	if (p == NULL || p->null)
		return false;
	if (i + 1 == o->nsegs && !o->tail_class) {
		l.values = p->values;
		l.type = p->type;
		l.count = p->count;
		return fn(&l, ctx);
	}
	if (p->type != CIM_INSTANCE)
		return false;
	for (j = 0; j < p->count; j++) {
		if (p->values[j].null || p->values[j].v.inst == NULL)
			continue;
		if (path_walk(o, i + 1, p->values[j].v.inst, fn, ctx))
			return true;
	}
	return false;
}

/* Call fn on the operand's value if it is not NULL. */
static bool
operand_walk(const struct operand *o, const struct filter_input *in,
    leaf_fn *fn, const struct evalctx *ctx)
{
	const struct record_source *src;
	struct leaf l = {0};
	struct val v = {0};

	l.count = 1;
	l.lit = &v;
	if (o->kind == O_LIT) {
		l.lit = &o->lit;
		return fn(&l, ctx);
	}
	if (o->kind == O_PATH) {
		if (in->inst == NULL)
			return false;
		return path_walk(o, 0, in->inst, fn, ctx);
	}
	if (o->kind == O_FILTERS) {
		l.lit = NULL;
		l.strs = in->filters;
		l.count = in->filters != NULL ? in->nfilters : 0;
		return fn(&l, ctx);
	}
	src = in->source;
	if (src == NULL)
		return false;
	v.kind = VK_STR;
	switch (o->kind) {
	case O_SOURCE:
		v.s = src->addr;
		break;
	case O_USER:
		v.s = src->user;
		break;
	case O_REQPATH:
		v.s = src->path;
		break;
	case O_TLS:
		v.kind = VK_BOOL;
		v.b = src->tls;
		break;
	default:
		return false;
	}
	if (v.kind == VK_STR && v.s == NULL)
		return false;
	return fn(&l, ctx);
}

/*
 * A LIKE match: greedy, backing up to the last '%' on a mismatch, so time
 * is bounded by the product of the lengths and there is no recursion. '_'
 * takes one UTF-8 character.
 */
static bool
like_match(const struct like *lk, const char *s, bool icase)
{
	const struct like_el *el;
	size_t slen = strlen(s), pi = 0, si = 0, star = SIZE_MAX, star_si = 0;
	size_t k;

	for (;;) {
		if (pi < lk->n) {
			el = &lk->els[pi];
			if (el->kind == L_ANY) {
				star = pi++;
				star_si = si;
				continue;
			}
			if (el->kind == L_ONE && si < slen) {
				si += u8len(s + si, slen - si);
				pi++;
				continue;
			}
			if (el->kind == L_LIT && slen - si >= el->len) {
				if (!icase)
					k = memcmp(s + si, el->lit, el->len);
				else {
					for (k = 0; k < el->len; k++) {
						if (lower(s[si + k]) !=
						    lower(el->lit[k]))
							break;
					}
					k = k != el->len;
				}
				if (k == 0) {
					si += el->len;
					pi++;
					continue;
				}
			}
		} else if (si == slen)
			return true;
		if (star == SIZE_MAX || star_si >= slen)
			return false;
		star_si += u8len(s + star_si, slen - star_si);
		si = star_si;
		pi = star + 1;
	}
}

/* The textual form of a value for LIKE and MATCHES, or NULL. */
static const char *
val_text(const struct val *v)
{
	if (v->kind == VK_STR || v->kind == VK_DT)
		return v->s;
	return NULL;
}

static bool
leaf_cmp_right(const struct leaf *l, const struct evalctx *ctx)
{
	const struct val *w;
	struct val tmp;
	size_t i;

	for (i = 0; i < l->count; i++) {
		w = leaf_val(l, i, &tmp);
		if (w != NULL && cmp_apply(ctx->n->op, val_cmp(ctx->left, w)))
			return true;
	}
	return false;
}

/* Does one value satisfy the predicate n? */
static bool
val_pred(const struct node *n, const struct val *v, const struct evalctx *ctx)
{
	struct evalctx c2;
	const char *s;
	enum cmp_res c;
	bool comparable;
	size_t i;

	switch (n->kind) {
	case N_CMP:
		if (n->b.kind == O_LIT)
			return cmp_apply(n->op, val_cmp(v, &n->b.lit));
		c2 = *ctx;
		c2.left = v;
		return operand_walk(&n->b, ctx->in, leaf_cmp_right, &c2);
	case N_LIKE:
		if ((s = val_text(v)) == NULL)
			return false;
		return like_match(&n->like, s, v->icase) != n->neg;
	case N_MATCH:
		if ((s = val_text(v)) == NULL)
			return false;
		return (regexec(n->re, s, 0, NULL, 0) == 0) != n->neg;
	case N_IN:
		/* NOT IN: comparable with some item and equal to none. */
		comparable = false;
		for (i = 0; i < n->nitems; i++) {
			c = val_cmp(v, &n->items[i]);
			if (c == C_NONE)
				continue;
			if (c == C_EQ || c == C_BEQ)
				return !n->neg;
			comparable = true;
		}
		return n->neg && comparable;
	default:
		return false;
	}
}

static bool
leaf_pred(const struct leaf *l, const struct evalctx *ctx)
{
	const struct val *v;
	struct val tmp;
	size_t i;

	for (i = 0; i < l->count; i++) {
		v = leaf_val(l, i, &tmp);
		if (v != NULL && val_pred(ctx->n, v, ctx))
			return true;
	}
	return false;
}

static bool
leaf_present(const struct leaf *l, const struct evalctx *ctx)
{
	(void)l;
	(void)ctx;
	return true;
}

/* Evaluate a node; `in` may be NULL when every operand is a literal. */
static bool
eval(const struct node *n, const struct filter_input *in)
{
	struct evalctx ctx;
	size_t i;

	switch (n->kind) {
	case N_CONST:
		return n->value;
	case N_AND:
		for (i = 0; i < n->nkids; i++) {
			if (!eval(n->kids[i], in))
				return false;
		}
		return true;
	case N_OR:
		for (i = 0; i < n->nkids; i++) {
			if (eval(n->kids[i], in))
				return true;
		}
		return false;
	case N_NOT:
		return !eval(n->kids[0], in);
	case N_ISNULL:
		ctx.n = n;
		ctx.in = in;
		ctx.left = NULL;
		return operand_walk(&n->a, in, leaf_present, &ctx) == n->neg;
	default:
		ctx.n = n;
		ctx.in = in;
		ctx.left = NULL;
		return operand_walk(&n->a, in, leaf_pred, &ctx);
	}
}

/* Lexer. */

/* A string literal at p->pos (the opening quote); '' is a quote. */
static bool
lex_string(struct parser *p, struct token *t)
{
	size_t i, n = 0, q = p->pos;
	char *out;

	for (i = q + 1;; i++) {
		if (i >= p->len) {
			perr(p, q, "unterminated string literal");
			return false;
		}
		if (p->s[i] == '\'') {
			if (i + 1 < p->len && p->s[i + 1] == '\'') {
				i++;
				n++;
				continue;
			}
			break;
		}
		n++;
	}
	out = arena_alloc(p->arena, n + 1);
	n = 0;
	for (i = q + 1; p->s[i] != '\'' || p->s[i + 1] == '\''; i++) {
		out[n++] = p->s[i];
		if (p->s[i] == '\'')
			i++;
	}
	out[n] = '\0';
	t->kind = T_STRING;
	t->str = out;
	t->len = i + 1 - q;
	p->pos = i + 1;
	return true;
}

/* A number at p->pos: [+-] digits [. digits] [e [+-] digits], .5, 0x1F. */
static bool
lex_number(struct parser *p, struct token *t)
{
	const char *s = p->s;
	size_t start = p->pos, i = p->pos, body;
	bool real = false, bad = false, hex = false, neg = false;
	uint64_t mag = 0;
	unsigned dv, base;
	char ex[64], *tmp, *end;
	locale_t cloc;

	if (s[i] == '+' || s[i] == '-')
		neg = s[i++] == '-';
	body = i;
	if (s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
		hex = true;
		i += 2;
		body = i;
		while (hex_value(s[i]) >= 0)
			i++;
		if (i == body)
			bad = true;
	} else {
		while (is_digit(s[i]))
			i++;
		if (s[i] == '.') {
			real = true;
			i++;
			while (is_digit(s[i]))
				i++;
		}
		if (s[i] == 'e' || s[i] == 'E') {
			real = true;
			i++;
			if (s[i] == '+' || s[i] == '-')
				i++;
			if (!is_digit(s[i]))
				bad = true;
			while (is_digit(s[i]))
				i++;
		}
	}
	if (bad || is_alnum(s[i]) || s[i] == '.') {
		while (is_alnum(s[i]) || s[i] == '.')
			i++;
		excerpt(ex, sizeof ex, s + start, i - start);
		perr(p, start, "bad number literal '%s'", ex);
		return false;
	}
	t->len = i - start;
	p->pos = i;
	if (real) {
		tmp = arena_strndup(p->arena, s + start, i - start);
		cloc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
		if (cloc != (locale_t)0) {
			t->r = strtod_l(tmp, &end, cloc);
			freelocale(cloc);
		} else
			t->r = strtod(tmp, &end);
		if (isinf(t->r) || isnan(t->r)) {
			excerpt(ex, sizeof ex, s + start, i - start);
			perr(p, start, "real literal '%s' is out of range", ex);
			return false;
		}
		t->kind = T_REAL;
		return true;
	}
	base = hex ? 16 : 10;
	for (; body < i; body++) {
		dv = (unsigned)hex_value(s[body]);
		if (mag > (UINT64_MAX - dv) / base)
			goto range;
		mag = mag * base + dv;
	}
	if (neg && mag > (uint64_t)1 << 63)
		goto range;
	t->kind = T_INT;
	t->neg = neg && mag != 0;
	t->mag = mag;
	return true;

range:
	excerpt(ex, sizeof ex, s + start, i - start);
	perr(p, start, "integer literal '%s' is out of range (-2^63 .. 2^64-1)",
	    ex);
	return false;
}

/* A name, a dotted path or a keyword at p->pos. */
static bool
lex_name(struct parser *p, struct token *t)
{
	const char *s = p->s;
	size_t start = p->pos, i = p->pos, k;
	bool dotted = false;

	while (is_alnum(s[i]))
		i++;
	while (s[i] == '.') {
		if (!is_alpha(s[i + 1])) {
			perr(p, i + 1, "expected a property name after '.'");
			return false;
		}
		dotted = true;
		i++;
		while (is_alnum(s[i]))
			i++;
	}
	t->kind = T_NAME;
	t->len = i - start;
	p->pos = i;
	if (dotted)
		return true;
	for (k = 0; k < sizeof keywords / sizeof keywords[0]; k++) {
		if (strlen(keywords[k].word) == t->len &&
		    strncasecmp(keywords[k].word, s + start, t->len) == 0) {
			t->kind = keywords[k].kind;
			break;
		}
	}
	return true;
}

/* The next token into p->tok; false (with the error set) on a bad one. */
static bool
lex(struct parser *p)
{
	struct token *t = &p->tok;
	const char *s = p->s;
	unsigned char c;

	while (p->pos < p->len && is_space(s[p->pos]))
		p->pos++;
	memset(t, 0, sizeof *t);
	t->off = p->pos;
	if (p->pos >= p->len) {
		t->kind = T_END;
		return true;
	}
	c = (unsigned char)s[p->pos];
	t->len = 1;
	switch (c) {
	case '(':
		t->kind = T_LPAREN;
		break;
	case ')':
		t->kind = T_RPAREN;
		break;
	case ',':
		t->kind = T_COMMA;
		break;
	case '=':
		t->kind = T_EQ;
		break;
	case '<':
		t->kind = T_LT;
		if (s[p->pos + 1] == '=' || s[p->pos + 1] == '>') {
			t->kind = s[p->pos + 1] == '=' ? T_LE : T_NE;
			t->len = 2;
		}
		break;
	case '>':
		t->kind = T_GT;
		if (s[p->pos + 1] == '=') {
			t->kind = T_GE;
			t->len = 2;
		}
		break;
	case '!':
		if (s[p->pos + 1] != '=') {
			perr(p, p->pos,
			    "unexpected character '!' (did you "
			    "mean '!=' or NOT?)");
			return false;
		}
		t->kind = T_NE;
		t->len = 2;
		break;
	case '\'':
		return lex_string(p, t);
	default:
		if (is_digit(c) || (c == '.' && is_digit(s[p->pos + 1])) ||
		    ((c == '+' || c == '-') &&
			(is_digit(s[p->pos + 1]) ||
			    (s[p->pos + 1] == '.' && is_digit(s[p->pos + 2])))))
			return lex_number(p, t);
		if (is_alpha(c))
			return lex_name(p, t);
		if (c == '"')
			perr(p, p->pos,
			    "unexpected '\"': string literals "
			    "take single quotes");
		else if (c > 0x20 && c < 0x7f)
			perr(p, p->pos, "unexpected character '%c'", c);
		else
			perr(p, p->pos, "unexpected byte 0x%02x", c);
		return false;
	}
	p->pos += t->len;
	return true;
}

static bool
advance(struct parser *p)
{
	p->prev = p->tok;
	p->have_prev = true;
	return lex(p);
}

/* Parser. */

static struct node *
node_new(struct parser *p, enum node_kind kind)
{
	struct node *n;

	n = arena_calloc(p->arena, 1, sizeof *n);
	n->kind = kind;
	return n;
}

/* Complain that an operand was expected at the current token. */
static void
expected_operand(struct parser *p)
{
	char d1[80], d2[80];

	if (p->tok.kind == T_RPAREN && p->open == 0) {
		perr(p, p->tok.off, "unexpected ')'");
		return;
	}
	tok_desc(p, &p->tok, d2, sizeof d2);
	if (!p->have_prev) {
		perr(p, p->tok.off, "expected an operand, found %s", d2);
		return;
	}
	tok_desc(p, &p->prev, d1, sizeof d1);
	if (p->tok.kind == T_END)
		perr(p, p->tok.off, "expected an operand after %s", d1);
	else
		perr(p, p->tok.off, "expected an operand after %s, found %s",
		    d1, d2);
}

/* Turn a T_NAME token into a path or pseudo-property operand. */
static bool
name_operand(struct parser *p, const struct token *t, struct operand *o)
{
	static const struct {
		const char *name;
		enum opnd_kind kind;
	} pseudo[] = {
	    {"__CLASS", O_PATH},
	    {"__SOURCE", O_SOURCE},
	    {"__USER", O_USER},
	    {"__PATH", O_REQPATH},
	    {"__TLS", O_TLS},
	    {"__FILTERS", O_FILTERS},
	};
	const char *s = p->s + t->off, *seg;
	size_t n = 1, i, k, sl, nk = sizeof pseudo / sizeof pseudo[0];
	char ex[64];

	for (i = 0; i < t->len; i++)
		n += s[i] == '.';
	if (n > FILTER_MAX_PATH) {
		perr(p, t->off, "property path too long (more than %d names)",
		    FILTER_MAX_PATH);
		return false;
	}
	o->kind = O_PATH;
	o->segs = arena_calloc(p->arena, n, sizeof *o->segs);
	o->nsegs = 0;
	for (seg = s, i = 0; i < n; i++, seg += sl + 1) {
		for (sl = 0; seg + sl < s + t->len && seg[sl] != '.'; sl++)
			;
		if (sl < 2 || seg[0] != '_' || seg[1] != '_') {
			o->segs[o->nsegs].name =
			    arena_strndup(p->arena, seg, sl);
			o->segs[o->nsegs++].c0 = (unsigned char)seg[0] | 0x20;
			continue;
		}
		for (k = 0; k < nk; k++) {
			if (strlen(pseudo[k].name) == sl &&
			    strncasecmp(pseudo[k].name, seg, sl) == 0)
				break;
		}
		excerpt(ex, sizeof ex, seg, sl);
		if (k == nk) {
			perr(p, t->off + (size_t)(seg - s),
			    "unknown pseudo-property '%s'", ex);
			return false;
		}
		if (pseudo[k].kind == O_PATH) {
			if (i + 1 != n) {
				perr(p, t->off + (size_t)(seg - s),
				    "'%s' must be the last name of a path", ex);
				return false;
			}
			o->tail_class = true;
			continue;
		}
		if (i > 0) {
			perr(p, t->off + (size_t)(seg - s),
			    "pseudo-property '%s' cannot follow a property "
			    "name (only __CLASS can)",
			    ex);
			return false;
		}
		if (n > 1) {
			perr(p, t->off + sl,
			    "pseudo-property '%s' has no "
			    "properties",
			    ex);
			return false;
		}
		o->kind = pseudo[k].kind;
	}
	return true;
}

/* A literal token into a struct val. */
static void
lit_val(const struct token *t, struct val *v)
{
	memset(v, 0, sizeof *v);
	switch (t->kind) {
	case T_STRING:
		v->kind = VK_STR;
		v->s = t->str;
		dt_parse(t->str, &v->dt);
		v->dt_done = true;
		break;
	case T_INT:
		v->kind = VK_INT;
		v->neg = t->neg;
		v->mag = t->mag;
		break;
	case T_REAL:
		v->kind = VK_REAL;
		v->r = t->r;
		break;
	default:
		v->kind = VK_BOOL;
		v->b = t->kind == T_TRUE;
		break;
	}
}

static bool
is_literal(enum tok_kind k)
{
	return k == T_STRING || k == T_INT || k == T_REAL || k == T_TRUE ||
	       k == T_FALSE;
}

/* An operand at the current token; consumes it. */
static bool
parse_operand(struct parser *p, struct operand *o)
{
	struct token t = p->tok;
	char ex[64];

	memset(o, 0, sizeof *o);
	o->off = t.off;
	o->len = t.len;
	if (is_literal(t.kind)) {
		o->kind = O_LIT;
		lit_val(&t, &o->lit);
		return advance(p);
	}
	if (t.kind == T_NULL) {
		perr(p, t.off,
		    "NULL is not a value; test for it with "
		    "IS NULL or IS NOT NULL");
		return false;
	}
	if (t.kind != T_NAME) {
		expected_operand(p);
		return false;
	}
	if (!name_operand(p, &t, o) || !advance(p))
		return false;
	if (p->tok.kind == T_LPAREN) {
		excerpt(ex, sizeof ex, p->s + t.off, t.len);
		perr(p, t.off, "unknown function '%s'", ex);
		return false;
	}
	return true;
}

/* Can literals of these kinds be compared? */
static bool
lit_compatible(const struct val *a, const struct val *b)
{
	bool an = a->kind == VK_INT || a->kind == VK_REAL;
	bool bn = b->kind == VK_INT || b->kind == VK_REAL;

	return (an && bn) || a->kind == b->kind;
}

static bool
type_error(struct parser *p, size_t off, const struct operand *a,
    const struct operand *b)
{
	char d1[80], d2[80];

	lit_desc(p, a, d1, sizeof d1);
	lit_desc(p, b, d2, sizeof d2);
	perr(p, off, "cannot compare %s with %s", d1, d2);
	return false;
}

/* A predicate on literals only is a constant. */
static struct node *
fold(struct node *n)
{
	bool v;

	if (n->a.kind != O_LIT || (n->kind == N_CMP && n->b.kind != O_LIT))
		return n;
	v = eval(n, NULL);
	memset(n, 0, sizeof *n);
	n->kind = N_CONST;
	n->value = v;
	return n;
}

/* Is the operand a class name (compared case-insensitively)? */
static bool
is_classname(const struct operand *o)
{
	return o->kind == O_PATH && o->tail_class;
}

/*
 * Refuse patterns glibc's regcomp/regexec handle badly: back-references
 * (not ERE, and exponential), deep group nesting, and repetitions that
 * expand to huge automata. regcomp copies the repeated subexpression for
 * x{n,m}, x{n,} and x+, so stacked ones grow geometrically, and its
 * closure computation grows by a factor of four or five with each level of
 * x+ nested in another (so size times 4^levels is bounded); adjacent repetition
 * operators ("a*+", undefined in POSIX EREs) are refused outright. The size
 * estimate is rough on purpose; anything malformed is left for regcomp to
 * report.
 */
static const char *
regex_guard(const char *s)
{
	struct {
		size_t cost;	/* of the enclosing group so far */
		unsigned loops; /* deepest nesting of x+ in it */
	} stack[REGEX_MAX_NEST];
	size_t cost = 0, last = 0, atom, lo, hi, mult, total = 0;
	unsigned depth = 0, loops = 0, last_loops, atom_loops, maxloops = 0;
	bool dup = false, plus;
	const char *q;

	last_loops = 0;
	while (*s != '\0') {
		atom = 1;
		atom_loops = 0;
		switch (*s) {
		case '\\':
			if (s[1] >= '1' && s[1] <= '9')
				return "back-references are not supported";
			s += s[1] != '\0' ? 2 : 1;
			break;
		case '[':
			s++;
			if (*s == '^')
				s++;
			if (*s == ']')
				s++;
			while (*s != '\0' && *s != ']') {
				if (*s == '[' && (s[1] == ':' || s[1] == '.' ||
						     s[1] == '=')) {
					q = strchr(s + 2, ']');
					if (q == NULL)
						return NULL;
					s = q;
				}
				s++;
			}
			if (*s == ']')
				s++;
			break;
		case '(':
			if (depth == REGEX_MAX_NEST)
				return "groups nested too deeply";
			stack[depth].cost = cost;
			stack[depth].loops = loops;
			depth++;
			cost = last = 0;
			loops = last_loops = 0;
			dup = false;
			s++;
			continue;
		case ')':
			s++;
			if (depth == 0)
				break;
			atom = cost + 1;
			atom_loops = loops;
			depth--;
			cost = stack[depth].cost;
			loops = stack[depth].loops;
			break;
		case '{':
		case '+':
		case '*':
		case '?':
			mult = 1;
			plus = *s == '+';
			if (*s == '{') {
				if (!is_digit(s[1])) {
					s++; /* a literal '{' */
					break;
				}
				lo = 0;
				for (q = s + 1; is_digit(*q) && lo <= 100000;
				     q++)
					lo = lo * 10 + (size_t)(*q - '0');
				hi = lo;
				if (*q == ',') {
					q++;
					plus = !is_digit(*q) && lo > 0;
					hi = 0;
					for (; is_digit(*q) && hi <= 100000;
					     q++)
						hi = hi * 10 +
						     (size_t)(*q - '0');
					if (hi < lo)
						hi = lo;
				}
				if (*q != '}') {
					s++;
					break;
				}
				if (hi > REGEX_MAX_DUP)
					return "repetition count above 255";
				mult = hi + 1;
				s = q + 1;
			} else {
				if (plus)
					mult = 2;
				s++;
			}
			if (dup)
				return "adjacent repetition operators";
			dup = true;
			cost -= last;
			last *= mult;
			cost += last;
			if (plus && ++last_loops > loops)
				loops = last_loops;
			if (loops > maxloops)
				maxloops = loops;
			if (loops > REGEX_MAX_LOOPS || cost > REGEX_MAX_COST)
				return "pattern too complex";
			continue;
		case '|':
		case '^':
		case '$':
			dup = false;
			s++;
			continue;
		default:
			s++;
			break;
		}
		dup = false;
		last = atom;
		last_loops = atom_loops;
		if (last_loops > loops)
			loops = last_loops;
		cost += atom;
		if (cost > REGEX_MAX_COST)
			return "pattern too complex";
	}
	/* The whole pattern's size: what is left open counts too. */
	while (depth > 0)
		cost += stack[--depth].cost;
	total = cost;
	if ((total << (2 * maxloops)) > REGEX_MAX_WORK)
		return "pattern too complex";
	return NULL;
}

/* Compile the pattern of a MATCHES at token t. */
static bool
compile_regex(struct parser *p, struct node *n, const struct token *t)
{
	struct regex *rx;
	const char *why;
	char msg[160];
	int flags = REG_EXTENDED | REG_NOSUB, r;

	if ((why = regex_guard(t->str)) != NULL) {
		perr(p, t->off, "bad regular expression: %s", why);
		return false;
	}
	if (is_classname(&n->a))
		flags |= REG_ICASE;
	rx = arena_calloc(p->arena, 1, sizeof *rx);
	r = regcomp(&rx->re, t->str, flags);
	if (r != 0) {
		regerror(r, &rx->re, msg, sizeof msg);
		perr(p, t->off, "bad regular expression: %s", msg);
		return false;
	}
	rx->next = p->f->regexes;
	p->f->regexes = rx;
	n->re = &rx->re;
	return true;
}

/* Split a LIKE pattern into literal runs, '_' and '%'. */
static bool
compile_like(struct parser *p, struct node *n, const struct token *t)
{
	const char *s = t->str;
	size_t len = strlen(s), i, k, nb = 0;
	struct like_el *els, *last = NULL;
	char *buf;

	els = arena_calloc(p->arena, len + 1, sizeof *els);
	buf = arena_alloc(p->arena, len + 1);
	n->like.els = els;
	n->like.n = 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '%') {
			if (last == NULL || last->kind != L_ANY) {
				last = &els[n->like.n++];
				last->kind = L_ANY;
			}
			continue;
		}
		if (s[i] == '_') {
			last = &els[n->like.n++];
			last->kind = L_ONE;
			continue;
		}
		k = 1;
		if (s[i] == '\\') {
			if (++i == len) {
				perr(p, t->off,
				    "LIKE pattern ends with an "
				    "escape character '\\'");
				return false;
			}
			k = u8len(s + i, len - i);
		}
		if (last == NULL || last->kind != L_LIT) {
			last = &els[n->like.n++];
			last->kind = L_LIT;
			last->lit = buf + nb;
			last->len = 0;
		}
		memcpy(buf + nb, s + i, k);
		nb += k;
		last->len += k;
		i += k - 1;
	}
	return true;
}

/* [NOT] LIKE 'pat' / [NOT] MATCHES 'ere' after operand a. */
static struct node *
parse_pattern(struct parser *p, struct operand *a, bool neg)
{
	struct node *n;
	struct token kw = p->tok, t;
	const char *what = kw.kind == T_LIKE ? "LIKE" : "MATCHES";
	char d[80];

	if (!advance(p))
		return NULL;
	t = p->tok;
	if (t.kind != T_STRING) {
		tok_desc(p, &t, d, sizeof d);
		if (t.kind == T_END)
			perr(p, t.off, "expected a pattern after %s", what);
		else if (t.kind == T_NAME)
			perr(p, t.off,
			    "the pattern of %s must be a string "
			    "literal, found %s",
			    what, d);
		else
			perr(p, t.off, "%s needs a string pattern, found %s",
			    what, d);
		return NULL;
	}
	if (a->kind == O_LIT && a->lit.kind != VK_STR) {
		lit_desc(p, a, d, sizeof d);
		perr(p, a->off, "%s applies to strings, not %s", what, d);
		return NULL;
	}
	n = node_new(p, kw.kind == T_LIKE ? N_LIKE : N_MATCH);
	n->a = *a;
	n->neg = neg;
	if (kw.kind == T_LIKE ? !compile_like(p, n, &t)
			      : !compile_regex(p, n, &t))
		return NULL;
	if (!advance(p))
		return NULL;
	return fold(n);
}

/* [NOT] IN (lit, ...) after operand a. */
static struct node *
parse_in(struct parser *p, struct operand *a, bool neg)
{
	struct node *n;
	struct operand item;
	size_t lp, cap = 0;
	struct val *items = NULL;
	char d[80];

	if (!advance(p))
		return NULL;
	if (p->tok.kind != T_LPAREN) {
		tok_desc(p, &p->tok, d, sizeof d);
		perr(p, p->tok.off, "expected '(' after IN, found %s", d);
		return NULL;
	}
	lp = p->tok.off;
	n = node_new(p, N_IN);
	n->a = *a;
	n->neg = neg;
	if (!advance(p))
		return NULL;
	if (p->tok.kind == T_RPAREN) {
		perr(p, p->tok.off, "empty IN list");
		return NULL;
	}
	for (;;) {
		tok_desc(p, &p->tok, d, sizeof d);
		if (p->tok.kind == T_END) {
			perr(p, lp, "missing ')'");
			goto fail;
		}
		if (p->tok.kind == T_NULL) {
			perr(p, p->tok.off,
			    "NULL in an IN list never "
			    "matches; test with IS NULL");
			goto fail;
		}
		if (p->tok.kind == T_NAME) {
			perr(p, p->tok.off,
			    "IN list items must be literals, "
			    "found %s",
			    d);
			goto fail;
		}
		if (!is_literal(p->tok.kind)) {
			perr(p, p->tok.off,
			    "expected a literal in the IN "
			    "list, found %s",
			    d);
			goto fail;
		}
		memset(&item, 0, sizeof item);
		item.kind = O_LIT;
		item.off = p->tok.off;
		item.len = p->tok.len;
		lit_val(&p->tok, &item.lit);
		if (a->kind == O_LIT && !lit_compatible(&a->lit, &item.lit)) {
			type_error(p, item.off, a, &item);
			goto fail;
		}
		if (n->nitems == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			items = xreallocarray(items, cap, sizeof *items);
		}
		items[n->nitems++] = item.lit;
		if (!advance(p))
			goto fail;
		if (p->tok.kind == T_RPAREN)
			break;
		if (p->tok.kind == T_END) {
			perr(p, lp, "missing ')'");
			goto fail;
		}
		if (p->tok.kind != T_COMMA) {
			tok_desc(p, &p->tok, d, sizeof d);
			perr(p, p->tok.off,
			    "expected ',' or ')' in the IN "
			    "list, found %s",
			    d);
			goto fail;
		}
		if (!advance(p))
			goto fail;
	}
	n->items = arena_memdup(p->arena, items, n->nitems * sizeof *items);
	free(items);
	if (!advance(p))
		return NULL;
	return fold(n);

fail:
	free(items);
	return NULL;
}

static enum cmp_op
flip_op(enum cmp_op op)
{
	switch (op) {
	case OP_LT:
		return OP_GT;
	case OP_LE:
		return OP_GE;
	case OP_GT:
		return OP_LT;
	case OP_GE:
		return OP_LE;
	default:
		return op;
	}
}

/* operand op operand, after operand a. */
static struct node *
parse_cmp(struct parser *p, struct operand *a)
{
	struct node *n;
	struct token opt = p->tok;
	struct operand b, tmp;
	enum cmp_op op;
	char ex[64];

	op = (enum cmp_op)(opt.kind - T_EQ);
	if (!advance(p))
		return NULL;
	if (p->tok.kind == T_NULL) {
		excerpt(ex, sizeof ex, p->s + opt.off, opt.len);
		perr(p, p->tok.off,
		    "use IS %sNULL to test for NULL ('%s "
		    "NULL' is never true)",
		    op == OP_NE ? "NOT " : "", ex);
		return NULL;
	}
	if (!parse_operand(p, &b))
		return NULL;
	if (a->kind == O_LIT && b.kind == O_LIT &&
	    !lit_compatible(&a->lit, &b.lit)) {
		type_error(p, opt.off, a, &b);
		return NULL;
	}
	if (a->kind == O_LIT && b.kind != O_LIT) {
		tmp = *a;
		*a = b;
		b = tmp;
		op = flip_op(op);
	}
	n = node_new(p, N_CMP);
	n->op = op;
	n->a = *a;
	n->b = b;
	return fold(n);
}

/* A predicate: ( expr ), or an operand followed by what tests it. */
static struct node *
parse_pred(struct parser *p)
{
	struct node *n;
	struct operand a;
	size_t lp;
	bool neg;
	char d[80];

	if (p->tok.kind == T_LPAREN) {
		lp = p->tok.off;
		if (++p->depth > FILTER_MAX_DEPTH) {
			perr(p, lp, "expression nested too deeply");
			return NULL;
		}
		p->open++;
		if (!advance(p) || (n = parse_or(p)) == NULL)
			return NULL;
		if (p->tok.kind != T_RPAREN) {
			tok_desc(p, &p->tok, d, sizeof d);
			if (p->tok.kind == T_END)
				perr(p, lp, "missing ')'");
			else
				perr(p, p->tok.off,
				    "expected AND, OR or ')', "
				    "found %s",
				    d);
			return NULL;
		}
		p->open--;
		p->depth--;
		if (!advance(p))
			return NULL;
		return n;
	}
	if (!parse_operand(p, &a))
		return NULL;
	switch (p->tok.kind) {
	case T_EQ:
	case T_NE:
	case T_LT:
	case T_LE:
	case T_GT:
	case T_GE:
		return parse_cmp(p, &a);
	case T_NOT:
	case T_LIKE:
	case T_MATCHES:
	case T_IN:
		neg = p->tok.kind == T_NOT;
		if (neg) {
			if (!advance(p))
				return NULL;
			if (p->tok.kind != T_LIKE && p->tok.kind != T_MATCHES &&
			    p->tok.kind != T_IN) {
				tok_desc(p, &p->tok, d, sizeof d);
				perr(p, p->tok.off,
				    "expected LIKE, MATCHES "
				    "or IN after NOT, found %s",
				    d);
				return NULL;
			}
		}
		if (p->tok.kind == T_IN)
			return parse_in(p, &a, neg);
		return parse_pattern(p, &a, neg);
	case T_IS:
		if (!advance(p))
			return NULL;
		neg = p->tok.kind == T_NOT;
		if (neg && !advance(p))
			return NULL;
		if (p->tok.kind != T_NULL) {
			tok_desc(p, &p->tok, d, sizeof d);
			perr(p, p->tok.off,
			    "expected %s after 'IS%s', found "
			    "%s",
			    neg ? "NULL" : "NULL or NOT NULL",
			    neg ? " NOT" : "", d);
			return NULL;
		}
		n = node_new(p, N_ISNULL);
		n->a = a;
		n->neg = neg;
		if (!advance(p))
			return NULL;
		return fold(n);
	default:
		break;
	}
	/* An operand alone is a boolean test: x means x = TRUE. */
	if (a.kind == O_LIT && a.lit.kind != VK_BOOL) {
		lit_desc(p, &a, d, sizeof d);
		perr(p, a.off,
		    "%s is not a condition (expected a comparison "
		    "after it)",
		    d);
		return NULL;
	}
	n = node_new(p, N_CMP);
	n->op = OP_EQ;
	n->a = a;
	n->b.kind = O_LIT;
	n->b.lit.kind = VK_BOOL;
	n->b.lit.b = true;
	return fold(n);
}

static struct node *
parse_not(struct parser *p)
{
	struct node *n, *kid;
	size_t off = p->tok.off;

	if (p->tok.kind != T_NOT)
		return parse_pred(p);
	if (++p->depth > FILTER_MAX_DEPTH) {
		perr(p, off, "expression nested too deeply");
		return NULL;
	}
	if (!advance(p) || (kid = parse_not(p)) == NULL)
		return NULL;
	p->depth--;
	if (kid->kind == N_CONST) {
		kid->value = !kid->value;
		return kid;
	}
	n = node_new(p, N_NOT);
	n->kids = arena_alloc(p->arena, sizeof *n->kids);
	n->kids[0] = kid;
	n->nkids = 1;
	return n;
}

/* A chain of `sub` joined by `op` (AND or OR) as one n-ary node. */
static struct node *
parse_chain(
    struct parser *p, enum tok_kind op, struct node *(*sub)(struct parser *))
{
	struct node *n, **kids = NULL;
	size_t nk = 0, cap = 0;

	if ((n = sub(p)) == NULL)
		return NULL;
	if (p->tok.kind != op)
		return n;
	for (;;) {
		if (nk == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			kids = xreallocarray(kids, cap, sizeof *kids);
		}
		kids[nk++] = n;
		if (p->tok.kind != op)
			break;
		if (!advance(p) || (n = sub(p)) == NULL) {
			free(kids);
			return NULL;
		}
	}
	n = node_new(p, op == T_AND ? N_AND : N_OR);
	n->kids = arena_memdup(p->arena, kids, nk * sizeof *kids);
	n->nkids = nk;
	free(kids);
	return n;
}

static struct node *
parse_and(struct parser *p)
{
	return parse_chain(p, T_AND, parse_not);
}

static struct node *
parse_or(struct parser *p)
{
	return parse_chain(p, T_OR, parse_and);
}

struct filter *
filter_compile(const char *text, struct filter_error *err)
{
	struct filter_error dummy;
	struct filter *f;
	struct parser p;
	struct node *root = NULL;
	size_t len, i;
	char d[80];

	if (err == NULL)
		err = &dummy;
	memset(err, 0, sizeof *err);
	if (text == NULL)
		text = "";
	len = strnlen(text, FILTER_MAX_LEN + 1);
	if (len > FILTER_MAX_LEN) {
		err->col = 1;
		snprintf(err->msg, sizeof err->msg,
		    "expression longer than %d bytes", FILTER_MAX_LEN);
		return NULL;
	}
	for (i = 0; i < len && is_space(text[i]); i++)
		;
	if (i == len) {
		err->col = 1;
		snprintf(err->msg, sizeof err->msg, "empty expression");
		return NULL;
	}

	f = xcalloc(1, sizeof *f);
	f->arena = arena_new();
	memset(&p, 0, sizeof p);
	p.s = text;
	p.len = len;
	p.arena = f->arena;
	p.f = f;
	p.err = err;
	if (lex(&p) && (root = parse_or(&p)) != NULL && p.tok.kind != T_END) {
		tok_desc(&p, &p.tok, d, sizeof d);
		if (p.tok.kind == T_RPAREN)
			perr(&p, p.tok.off, "unexpected ')'");
		else
			perr(&p, p.tok.off,
			    "expected AND, OR or end of "
			    "expression, found %s",
			    d);
	}
	if (p.failed) {
		filter_free(f);
		return NULL;
	}
	f->root = root;
	f->text = xstrdup(text);
	return f;
}

void
filter_free(struct filter *f)
{
	struct regex *rx;

	if (f == NULL)
		return;
	for (rx = f->regexes; rx != NULL; rx = rx->next)
		regfree(&rx->re);
	arena_free(f->arena);
	free(f->text);
	free(f);
}

const char *
filter_text(const struct filter *f)
{
	return f->text;
}

bool
filter_match(const struct filter *f, const struct filter_input *in)
{
	return eval(f->root, in);
}

/*
 * The caret line lines up under the expression on a terminal: tabs are
 * kept, a multi-byte character takes one column, and only the line of a
 * multi-line expression that holds the column is shown.
 */
void
filter_error_print(
    FILE *f, const char *text, const struct filter_error *err, bool caret)
{
	size_t len, off, ls, le, i;

	fprintf(f, "%u: %s\n", err->col, err->msg);
	if (!caret || text == NULL)
		return;
	len = strlen(text);
	off = err->col > 0 ? err->col - 1 : 0;
	if (off > len)
		off = len;
	for (ls = off; ls > 0 && text[ls - 1] != '\n'; ls--)
		;
	for (le = off; le < len && text[le] != '\n'; le++)
		;
	fputs("  ", f);
	fwrite(text + ls, 1, le - ls, f);
	fputs("\n  ", f);
	for (i = ls; i < off; i++) {
		if (text[i] == '\t')
			fputc('\t', f);
		else if (((unsigned char)text[i] & 0xc0) != 0x80)
			fputc(' ', f);
	}
	fputs("^\n", f);
}
