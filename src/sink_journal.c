/*
 * sink_journal.c: `type = journal` sinks, one journal entry per record,
 * sent with sd_journal_sendv to the local systemd-journald.
 *
 * An entry carries MESSAGE (the template with format = template, the MOF
 * instance with format = mof, otherwise a one-line summary), PRIORITY (the
 * sink's severity mapping), SYSLOG_IDENTIFIER (ident) and the structured
 * fields CIM_CLASS, CIM_SEQ, CIM_SOURCE, CIM_MESSAGE_ID, CIM_TIME and one
 * CIM_P_<NAME> per non-NULL scalar property, so that `journalctl
 * CIM_CLASS=CIM_AlertIndication` finds them. The field list is built by
 * journal_fields (sink_journal.h) and the test checks it directly.
 *
 * sd_journal_sendv sends a datagram to /run/systemd/journal/socket by
 * address each time, so a journald that restarts is found again without a
 * reconnect; a failed send is SINK_RETRY and the record goes out with the
 * retry. libsystemd reports success when that socket does not exist (the
 * message is silently gone), so the sink checks that it does before every
 * send and retries when it does not; a stale socket with no journald
 * behind it fails the send itself (ECONNREFUSED). rate_limit paces the writer thread (it sleeps; nothing is
 * dropped); a stop whose deadline passes while it sleeps leaves the rest
 * in the spool.
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/uio.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <systemd/sd-journal.h>

#include "format.h"
#include "log.h"
#include "record.h"
#include "sink.h"
#include "sink_journal.h"
#include "xmalloc.h"

#define JOURNAL_PREFIX "CIM_P_"
#define JOURNAL_DEFAULT_IDENT "cimlistend"
/* Where sd_journal_sendv sends (fixed in libsystemd). */
#define JOURNAL_SOCKET "/run/systemd/journal/socket"

struct journal_sink {
	struct format_ctx *fmt;
	struct journal_fields jf;
	struct timespec next;        /* rate_limit: earliest next send */
};

/* Start a field "NAME=" in jf->data, remembering where it begins. */
static void
field_begin(struct journal_fields *jf, const char *name)
{
	if (jf->n == jf->alloc) {
		jf->alloc = jf->alloc == 0 ? 32 : jf->alloc * 2;
		jf->off = xreallocarray(jf->off, jf->alloc, sizeof *jf->off);
		jf->iov = xreallocarray(jf->iov, jf->alloc, sizeof *jf->iov);
	}
	jf->off[jf->n++] = jf->data.len;
	buf_adds(&jf->data, name);
	buf_addc(&jf->data, '=');
}

/*
 * Append value v[0..len) capped at JOURNAL_VALUE_MAX bytes: a longer one is
 * cut (not inside a UTF-8 character) and ends in JOURNAL_TRUNCATED.
 */
static void
add_capped(struct buf *b, const char *v, size_t len)
{
	size_t cut;

	if (len <= JOURNAL_VALUE_MAX) {
		buf_add(b, v, len);
		return;
	}
	cut = JOURNAL_VALUE_MAX - strlen(JOURNAL_TRUNCATED);
	while (cut > 0 && ((unsigned char)v[cut] & 0xc0) == 0x80)
		cut--;
	buf_add(b, v, cut);
	buf_adds(b, JOURNAL_TRUNCATED);
}

static void
field_str(struct journal_fields *jf, const char *name, const char *v)
{
	field_begin(jf, name);
	buf_adds(&jf->data, v);
}

int
journal_field_name(struct buf *b, const char *name)
{
	size_t start = b->len, i;
	char c;

	buf_adds(b, JOURNAL_PREFIX);
	for (i = 0; name[i] != '\0'; i++) {
		if (b->len - start >= JOURNAL_NAME_MAX)
			break;
		c = name[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			c = '_';
		/* Nothing but a letter after the prefix. */
		if (b->len - start == strlen(JOURNAL_PREFIX) &&
		    (c == '_' || (c >= '0' && c <= '9')))
			continue;
		buf_addc(b, c);
	}
	if (b->len - start == strlen(JOURNAL_PREFIX)) {
		b->len = start;
		if (b->data != NULL)
			b->data[start] = '\0';
		return -1;
	}
	return 0;
}

/*
 * A scalar value as text: strings, char16, datetimes and references as
 * they are; integers in decimal; reals in the shortest form, NaN, INF,
 * -INF; booleans true, false. False for what is not sent (NULL, arrays,
 * embedded instances).
 */
static bool
scalar_text(const struct cim_property *p, struct buf *out)
{
	const struct cim_value *v;
	double r;

	if (p->array || p->null || p->count == 0 || p->values == NULL ||
	    p->values[0].null)
		return false;
	v = &p->values[0];
	switch (p->type) {
	case CIM_BOOLEAN:
		buf_adds(out, v->v.b ? "true" : "false");
		return true;
	case CIM_UINT8:
	case CIM_UINT16:
	case CIM_UINT32:
	case CIM_UINT64:
		buf_printf(out, "%llu", (unsigned long long)v->v.u);
		return true;
	case CIM_SINT8:
	case CIM_SINT16:
	case CIM_SINT32:
	case CIM_SINT64:
		buf_printf(out, "%lld", (long long)v->v.s);
		return true;
	case CIM_REAL32:
	case CIM_REAL64:
		r = v->v.r;
		if (isnan(r))
			buf_adds(out, "NaN");
		else if (isinf(r))
			buf_adds(out, r < 0 ? "-INF" : "INF");
		else
			record_json_real(out, r, p->type == CIM_REAL32);
		return true;
	case CIM_CHAR16:
	case CIM_STRING:
	case CIM_DATETIME:
	case CIM_REFERENCE:
		if (v->v.str == NULL)
			return false;
		buf_adds(out, v->v.str);
		return true;
	default:
		return false;
	}
}

/* A non-NULL scalar string property of the instance, or NULL. */
static const char *
string_prop(const struct cim_instance *inst, const char *name)
{
	const struct cim_property *p = cim_instance_get(inst, name);

	if (p == NULL || p->type != CIM_STRING || p->array || p->null ||
	    p->count == 0 || p->values == NULL || p->values[0].null)
		return NULL;
	return p->values[0].v.str;
}

/*
 * The default MESSAGE: "CLASS seq N from ADDR: TEXT" (" from ADDR" only
 * with a source), TEXT being the Message property, else Description, else
 * the class name, control characters made spaces, capped.
 */
static void
summary(const struct record *rec, struct buf *out)
{
	const char *text;
	size_t start, i;

	buf_printf(out, "%s seq %llu", rec->inst->classname,
	    (unsigned long long)rec->seq);
	if (rec->source != NULL && rec->source->addr[0] != '\0')
		buf_printf(out, " from %s", rec->source->addr);
	buf_adds(out, ": ");
	if ((text = string_prop(rec->inst, "Message")) == NULL &&
	    (text = string_prop(rec->inst, "Description")) == NULL)
		text = rec->inst->classname;
	start = out->len;
	add_capped(out, text, strlen(text));
	for (i = start; i < out->len; i++)
		if ((unsigned char)out->data[i] < 0x20 || out->data[i] == 0x7f)
			out->data[i] = ' ';
}

int
journal_fields(struct journal_fields *jf, struct format_ctx *fc,
    const struct sink_conf *conf, uint64_t seq, const char *line,
    size_t len, char **cause)
{
	const struct record *rec;
	const struct cim_property *p;
	struct buf name = BUF_INIT, val = BUF_INIT;
	const char *ident;
	char tbuf[32];
	size_t i, rlen = len;
	int ret = 0;

	buf_reset(&jf->data);
	jf->n = 0;
	ident = conf->ident != NULL && *conf->ident != '\0' ? conf->ident :
	    JOURNAL_DEFAULT_IDENT;
	while (rlen > 0 && (line[rlen - 1] == '\n' || line[rlen - 1] == '\r'))
		rlen--;

	if ((rec = format_decode(fc, line, len, cause)) == NULL) {
		/* Not a record: the line itself, so that nothing is lost. */
		field_begin(jf, "MESSAGE");
		buf_add(&jf->data, line, rlen);
		field_begin(jf, "PRIORITY");
		buf_printf(&jf->data, "%d", LOG_NOTICE);
		field_str(jf, "SYSLOG_IDENTIFIER", ident);
		field_begin(jf, "CIM_SEQ");
		buf_printf(&jf->data, "%llu", (unsigned long long)seq);
		ret = -1;
		goto out;
	}

	field_begin(jf, "MESSAGE");
	if (conf->format == SINK_FORMAT_TEMPLATE ||
	    conf->format == SINK_FORMAT_MOF)
		format_ctx_render(fc, line, rlen, rec, &jf->data);
	else
		summary(rec, &jf->data);
	field_begin(jf, "PRIORITY");
	buf_printf(&jf->data, "%d", format_ctx_severity(fc, rec));
	field_str(jf, "SYSLOG_IDENTIFIER", ident);
	field_str(jf, "CIM_CLASS", rec->inst->classname);
	field_begin(jf, "CIM_SEQ");
	buf_printf(&jf->data, "%llu", (unsigned long long)rec->seq);
	if (rec->source != NULL && rec->source->addr[0] != '\0')
		field_str(jf, "CIM_SOURCE", rec->source->addr);
	if (rec->message_id != NULL)
		field_str(jf, "CIM_MESSAGE_ID", rec->message_id);
	record_format_time(&rec->time, tbuf);
	field_str(jf, "CIM_TIME", tbuf);

	for (i = 0; i < rec->inst->nprops; i++) {
		p = &rec->inst->props[i];
		buf_reset(&val);
		if (!scalar_text(p, &val))
			continue;
		buf_reset(&name);
		if (journal_field_name(&name, p->name) == -1)
			continue;
		field_begin(jf, name.data);
		add_capped(&jf->data, val.data, val.len);
	}

out:
	for (i = 0; i < jf->n; i++) {
		jf->iov[i].iov_base = jf->data.data + jf->off[i];
		jf->iov[i].iov_len = (i + 1 < jf->n ? jf->off[i + 1] :
		    jf->data.len) - jf->off[i];
	}
	buf_free(&name);
	buf_free(&val);
	return ret;
}

void
journal_fields_free(struct journal_fields *jf)
{
	buf_free(&jf->data);
	free(jf->iov);
	free(jf->off);
	memset(jf, 0, sizeof *jf);
}

static int
journal_open(struct sink *s, char **cause)
{
	struct journal_sink *js;

	(void)cause;
	js = xcalloc(1, sizeof *js);
	js->fmt = format_ctx_new(sink_conf(s));
	sink_set_priv(s, js);
	return 0;
}

/*
 * rate_limit: wait for the next send slot (1/rate_limit s after the last).
 * False when the stop deadline came first.
 */
static bool
journal_pace(struct sink *s, struct journal_sink *js)
{
	unsigned rate = sink_conf(s)->rate_limit;
	struct timespec now;
	uint64_t ns;

	if (rate == 0)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec < js->next.tv_sec || (now.tv_sec == js->next.tv_sec &&
	    now.tv_nsec < js->next.tv_nsec)) {
		if (!sink_sleep(s, &js->next))
			return false;
		now = js->next;
	}
	ns = (uint64_t)now.tv_nsec + 1000000000ULL / rate;
	js->next.tv_sec = now.tv_sec + (time_t)(ns / 1000000000ULL);
	js->next.tv_nsec = (long)(ns % 1000000000ULL);
	return true;
}

static enum sink_result
journal_deliver(struct sink *s, const struct sink_line *lines, size_t n,
    size_t *done, char **cause)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(1, 5);
	struct journal_sink *js = sink_priv(s);
	struct stat st;
	char *why = NULL;
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		if (!journal_pace(s, js)) {
			xasprintf(cause, "stopping with records still held "
			    "back by rate_limit");
			break;
		}
		if (journal_fields(&js->jf, js->fmt, sink_conf(s),
		    lines[i].seq, lines[i].data, lines[i].len, &why) == -1) {
			log_limited(&rl, LOG_WARNING, "sink %s: record %llu "
			    "sent as its JSON line: %s", sink_name(s),
			    (unsigned long long)lines[i].seq, why);
			free(why);
			why = NULL;
		}
		/* sd_journal_sendv reports success when there is no socket. */
		if (stat(JOURNAL_SOCKET, &st) == -1) {
			xasprintf(cause, "%s: %s", JOURNAL_SOCKET,
			    strerror(errno));
			break;
		}
		r = sd_journal_sendv(js->jf.iov, (int)js->jf.n);
		if (r < 0) {
			xasprintf(cause, "sd_journal_sendv: %s", strerror(-r));
			break;
		}
	}
	*done = i;
	return i == n ? SINK_OK : SINK_RETRY;
}

static void
journal_close(struct sink *s)
{
	struct journal_sink *js = sink_priv(s);

	if (js == NULL)
		return;
	format_ctx_free(js->fmt);
	journal_fields_free(&js->jf);
	free(js);
	sink_set_priv(s, NULL);
}

const struct sink_ops sink_journal_ops = {
	.type = "journal",
	.open = journal_open,
	.deliver = journal_deliver,
	.close = journal_close,
};
