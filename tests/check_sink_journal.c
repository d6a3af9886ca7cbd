/*
 * check_sink_journal.c: the journal sink (sink_journal.c).
 *
 * Always: the exact field list journal_fields hands to sd_journal_sendv
 * (names, order, values) for records made from the alert-indication sample
 * and for awkward ones (property names in lower case, with dashes, leading
 * digits or underscores, too long; huge values; no source), with each
 * format and ident; a failed sd_journal_sendv is SINK_RETRY.
 *
 * Against a real systemd-journald when one can be had: as root, main()
 * moves the test into a private mount namespace with tmpfs on /run (and
 * /var/log/journal), so that a journald of its own listens on
 * /run/systemd/journal/socket without touching the host's; records go
 * through sink_new + sink_start from a spool and are read back with
 * journalctl -o json. The journald is stopped while records wait and
 * started again: they arrive, each once. Main prints which of the two
 * modes ran: "journal test: real journald" or "journal test: field list
 * only (no journald: <reason>)".
 */
#include "autoconf.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <check.h>

#include "testutil.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cimxml.h"
#include "format.h"
#include "record.h"
#include "sink.h"
#include "sink_journal.h"
#include "spool.h"
#include "xmalloc.h"

#define JOURNALD "/lib/systemd/systemd-journald"
#define JOURNAL_SOCKET "/run/systemd/journal/socket"

/* Set by main: a journald can be started here (private), and how. */
static bool real_journald;
static char *journald_log;
static pid_t journald_pid = -1;

/* The alert-indication sample as a JSON record line: seq 42 from 10.0.0.1. */
static char *
alert_line(bool with_source)
{
	static struct record_source src = { .port = 5988 };
	struct cimxml_message *m = NULL;
	struct record rec = { 0 };
	struct buf b = BUF_INIT;
	char *body, *reason = NULL;
	size_t len;

	body = tu_sample("alert-indication.xml", &len);
	ck_assert_ptr_nonnull(body);
	ck_assert_int_eq(cimxml_parse(body, len, NULL, &m, &reason), CIMXML_OK);
	strcpy(src.addr, "10.0.0.1");
	rec.seq = 42;
	rec.time.tv_sec = 1795311000;
	rec.time.tv_nsec = 123456000;
	rec.source = with_source ? &src : NULL;
	rec.message_id = with_source ? m->id : NULL;
	rec.inst = m->exports[0].indication;
	record_json(&rec, &b);
	cimxml_message_free(m);
	free(body);
	return buf_steal(&b, NULL);
}

static struct sink_conf
mkconf(enum sink_format format, const char *ident)
{
	struct sink_conf c;

	memset(&c, 0, sizeof c);
	c.name = (char *)"test";
	c.type = (char *)"journal";
	c.format = format;
	c.ident = (char *)ident;
	return c;
}

/* The field list as one string, fields separated by "|" (tests' values have none). */
static char *
joined(const struct journal_fields *jf)
{
	struct buf b = BUF_INIT;
	size_t i;

	buf_adds(&b, "");
	for (i = 0; i < jf->n; i++) {
		if (i > 0)
			buf_addc(&b, '|');
		buf_add(&b, jf->iov[i].iov_base, jf->iov[i].iov_len);
	}
	return buf_steal(&b, NULL);
}

/* Build the fields of `line` under conf and compare them with want[]. */
static void
assert_fields(const struct sink_conf *conf, const char *line,
    const char *const *want, size_t nwant)
{
	struct journal_fields jf = { 0 };
	struct format_ctx *fc = format_ctx_new(conf);
	char *cause = NULL, *got;
	size_t i;

	ck_assert_msg(journal_fields(&jf, fc, conf, 1, line, strlen(line),
	    &cause) == 0, "journal_fields: %s", cause);
	got = joined(&jf);
	for (i = 0; i < jf.n && i < nwant; i++) {
		ck_assert_msg(jf.iov[i].iov_len == strlen(want[i]) &&
		    memcmp(jf.iov[i].iov_base, want[i], strlen(want[i])) == 0,
		    "field %zu: want %s\ngot %s", i, want[i], got);
	}
	ck_assert_msg(jf.n == nwant, "%zu fields, want %zu: %s", jf.n, nwant,
	    got);
	free(got);
	journal_fields_free(&jf);
	format_ctx_free(fc);
}

#define ALERT_MSG "Power supply 2 on chassis rack4-u12 has failed; " \
	"redundancy lost"
#define ALERT_PROPS \
	"CIM_P_INDICATIONIDENTIFIER=ind-000042", \
	"CIM_P_INDICATIONTIME=20261122013000.123456+000", \
	"CIM_P_ALERTTYPE=2", \
	"CIM_P_PERCEIVEDSEVERITY=6", \
	"CIM_P_PROBABLECAUSE=53", \
	"CIM_P_OWNINGENTITY=DMTF", \
	"CIM_P_MESSAGEID=SVPC0123", \
	"CIM_P_MESSAGE=" ALERT_MSG, \
	"CIM_P_ALERTINGMANAGEDELEMENT=//bmc4.example.net/root/cimv2:" \
	    "CIM_PowerSupply.DeviceID=\"PSU2\"", \
	"CIM_P_ALERTINGELEMENTFORMAT=2", \
	"CIM_P_SYSTEMNAME=rack4-u12.example.net", \
	"CIM_P_EVENTID=PSU-0042", \
	"CIM_P_RECOMMENDEDACTIONS=131072"

START_TEST(test_fields_alert)
{
	static const char *const want[] = {
		"MESSAGE=CIM_AlertIndication seq 42 from 10.0.0.1: " ALERT_MSG,
		"PRIORITY=2",
		"SYSLOG_IDENTIFIER=cimlistend",
		"CIM_CLASS=CIM_AlertIndication",
		"CIM_SEQ=42",
		"CIM_SOURCE=10.0.0.1",
		"CIM_MESSAGE_ID=1001",
		"CIM_TIME=2026-11-22T01:30:00.123456Z",
		ALERT_PROPS,
	};
	static const char *const want_nosrc[] = {
		"MESSAGE=CIM_AlertIndication seq 42: " ALERT_MSG,
		"PRIORITY=2",
		"SYSLOG_IDENTIFIER=cimlistend",
		"CIM_CLASS=CIM_AlertIndication",
		"CIM_SEQ=42",
		"CIM_TIME=2026-11-22T01:30:00.123456Z",
		ALERT_PROPS,
	};
	struct sink_conf c = mkconf(SINK_FORMAT_JSON, NULL);
	char *line = alert_line(true), *nosrc = alert_line(false);

	assert_fields(&c, line, want, sizeof want / sizeof want[0]);
	c.ident = (char *)"";
	assert_fields(&c, line, want, sizeof want / sizeof want[0]);
	assert_fields(&c, nosrc, want_nosrc,
	    sizeof want_nosrc / sizeof want_nosrc[0]);
	free(line);
	free(nosrc);
}
END_TEST

START_TEST(test_fields_template)
{
	static const char *const want[] = {
		"MESSAGE=CIM_AlertIndication sev=warning SVPC0123 from "
		    "10.0.0.1",
		"PRIORITY=4",
		"SYSLOG_IDENTIFIER=bmc-alerts",
		"CIM_CLASS=CIM_AlertIndication",
		"CIM_SEQ=42",
		"CIM_SOURCE=10.0.0.1",
		"CIM_MESSAGE_ID=1001",
		"CIM_TIME=2026-11-22T01:30:00.123456Z",
		ALERT_PROPS,
	};
	struct sink_conf c = mkconf(SINK_FORMAT_TEMPLATE, "bmc-alerts");
	struct template_error err;
	char *line = alert_line(true);

	c.tmpl = template_compile("{__CLASS} sev={__SEVERITY} {MessageID} "
	    "from {__SOURCE}", &err);
	ck_assert_msg(c.tmpl != NULL, "template: %s", err.msg);
	c.severity = (char *)"warning";
	assert_fields(&c, line, want, sizeof want / sizeof want[0]);
	template_free(c.tmpl);
	free(line);
}
END_TEST

/* format = mof: MESSAGE is the MOF instance, several lines. */
START_TEST(test_fields_mof)
{
	struct sink_conf c = mkconf(SINK_FORMAT_MOF, NULL);
	struct journal_fields jf = { 0 };
	struct format_ctx *fc = format_ctx_new(&c);
	struct buf mof = BUF_INIT;
	const struct record *rec;
	char *line = alert_line(true), *cause = NULL;

	ck_assert_int_eq(journal_fields(&jf, fc, &c, 1, line, strlen(line),
	    &cause), 0);
	buf_adds(&mof, "MESSAGE=");
	rec = format_decode(fc, line, strlen(line), &cause);
	ck_assert_ptr_nonnull(rec);
	format_mof(rec, &mof);
	ck_assert_uint_eq(jf.iov[0].iov_len, mof.len);
	ck_assert(memcmp(jf.iov[0].iov_base, mof.data, mof.len) == 0);
	ck_assert_ptr_nonnull(memchr(mof.data, '\n', mof.len));
	ck_assert_uint_eq(jf.n, 8 + 13);
	buf_free(&mof);
	journal_fields_free(&jf);
	format_ctx_free(fc);
	free(line);
}
END_TEST

/* Property names the journal would refuse, and values too big for it. */
START_TEST(test_fields_awkward)
{
	struct sink_conf c = mkconf(SINK_FORMAT_JSON, "x");
	struct journal_fields jf = { 0 };
	struct format_ctx *fc = format_ctx_new(&c);
	struct buf line = BUF_INIT, huge = BUF_INIT, want = BUF_INIT;
	char *cause = NULL, *got, name70[71];
	size_t i;

	memset(name70, 'n', 70);
	name70[70] = '\0';
	buf_adds(&huge, "");
	for (i = 0; i < 5000; i++)
		buf_addc(&huge, (char)('a' + i % 26));
	buf_printf(&line, "{\"v\":1,\"seq\":7,\"time\":"
	    "\"2026-11-22T01:30:00.000001Z\",\"source\":null,"
	    "\"message_id\":null,\"class\":\"Acme_Event\",\"filters\":[],"
	    "\"properties\":{"
	    "\"Description\":{\"type\":\"string\",\"value\":\"two\\nlines\"},"
	    "\"lower-case\":{\"type\":\"string\",\"value\":\"a\"},"
	    "\"_9Under\":{\"type\":\"uint8\",\"value\":1},"
	    "\"-dash.dot\":{\"type\":\"sint32\",\"value\":-5},"
	    "\"___\":{\"type\":\"boolean\",\"value\":true},"
	    "\"%s\":{\"type\":\"boolean\",\"value\":false},"
	    "\"Huge\":{\"type\":\"string\",\"value\":\"%s\"},"
	    "\"Utf\":{\"type\":\"string\",\"value\":\"%.*s"
	    "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"},"
	    "\"Real\":{\"type\":\"real64\",\"value\":1.5},"
	    "\"Nan\":{\"type\":\"real32\",\"value\":\"NaN\"},"
	    "\"Null\":{\"type\":\"string\",\"value\":null},"
	    "\"Arr\":{\"type\":\"string\",\"array\":true,\"value\":[\"x\"]},"
	    "\"Emb\":{\"type\":\"instance\",\"value\":{\"class\":\"C\","
	    "\"properties\":{}}},"
	    "\"Ctl\":{\"type\":\"string\",\"value\":\"a\\u0001b\"}"
	    "}}\n", name70, huge.data,
	    (int)(JOURNAL_VALUE_MAX - strlen(JOURNAL_TRUNCATED) - 1),
	    huge.data);

	ck_assert_msg(journal_fields(&jf, fc, &c, 7, line.data, line.len,
	    &cause) == 0, "journal_fields: %s", cause);
	got = joined(&jf);
	buf_printf(&want, "MESSAGE=Acme_Event seq 7: two lines|PRIORITY=5|"
	    "SYSLOG_IDENTIFIER=x|CIM_CLASS=Acme_Event|CIM_SEQ=7|"
	    "CIM_TIME=2026-11-22T01:30:00.000001Z|"
	    "CIM_P_DESCRIPTION=two\nlines|CIM_P_LOWER_CASE=a|"
	    "CIM_P_UNDER=1|CIM_P_DASH_DOT=-5|CIM_P_%.58s=false|"
	    "CIM_P_HUGE=%.*s" JOURNAL_TRUNCATED "|"
	    "CIM_P_UTF=%.*s" JOURNAL_TRUNCATED "|"
	    "CIM_P_REAL=1.5|CIM_P_NAN=NaN|CIM_P_CTL=a\001b",
	    "NNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNN",
	    (int)(JOURNAL_VALUE_MAX - strlen(JOURNAL_TRUNCATED)), huge.data,
	    (int)(JOURNAL_VALUE_MAX - strlen(JOURNAL_TRUNCATED) - 1),
	    huge.data);
	ck_assert_msg(strlen(got) <= want.len, "got %s", got);
	ck_assert_uint_eq(jf.n, 16);
	for (i = 0; i < jf.n; i++)
		ck_assert_msg(memchr(jf.iov[i].iov_base, '=',
		    jf.iov[i].iov_len) != NULL, "field %zu", i);
	/* Each name is within the journal's rules. */
	for (i = 0; i < jf.n; i++) {
		const char *f = jf.iov[i].iov_base;
		size_t k, nlen = (size_t)((const char *)memchr(f, '=',
		    jf.iov[i].iov_len) - f);

		ck_assert_uint_le(nlen, JOURNAL_NAME_MAX);
		ck_assert(f[0] >= 'A' && f[0] <= 'Z');
		for (k = 0; k < nlen; k++)
			ck_assert(f[k] == '_' || (f[k] >= 'A' && f[k] <= 'Z') ||
			    (f[k] >= '0' && f[k] <= '9'));
		if (strncmp(f, "CIM_P_", 6) == 0)
			ck_assert(f[6] >= 'A' && f[6] <= 'Z');
	}
	ck_assert_uint_eq(jf.iov[11].iov_len, strlen("CIM_P_HUGE=") +
	    JOURNAL_VALUE_MAX);
	/* Utf: cut before the two-byte character, not inside it. */
	ck_assert_uint_eq(jf.iov[12].iov_len, strlen("CIM_P_UTF=") +
	    JOURNAL_VALUE_MAX - 1);
	{
		/* Joined text vs want, byte for byte (NUL in the last field). */
		struct buf all = BUF_INIT;

		for (i = 0; i < jf.n; i++) {
			if (i > 0)
				buf_addc(&all, '|');
			buf_add(&all, jf.iov[i].iov_base, jf.iov[i].iov_len);
		}
		ck_assert_uint_eq(all.len, want.len);
		ck_assert_msg(memcmp(all.data, want.data, want.len) == 0,
		    "got\n%s\nwant\n%s", all.data, want.data);
		buf_free(&all);
	}
	free(got);
	buf_free(&line);
	buf_free(&huge);
	buf_free(&want);
	journal_fields_free(&jf);
	format_ctx_free(fc);
}
END_TEST

/* The summary falls back to Description, then to the class name. */
START_TEST(test_fields_summary_fallback)
{
	static const char *const want[] = {
		"MESSAGE=Acme_Event seq 3 from 192.0.2.1: Acme_Event",
		"PRIORITY=5",
		"SYSLOG_IDENTIFIER=cimlistend",
		"CIM_CLASS=Acme_Event",
		"CIM_SEQ=3",
		"CIM_SOURCE=192.0.2.1",
		"CIM_MESSAGE_ID=m-1",
		"CIM_TIME=1970-01-01T00:00:00.000000Z",
		"CIM_P_MESSAGE=1",
	};
	static const char *const want_desc[] = {
		"MESSAGE=Acme_Event seq 3: about it",
		"PRIORITY=3",
		"SYSLOG_IDENTIFIER=cimlistend",
		"CIM_CLASS=Acme_Event",
		"CIM_SEQ=3",
		"CIM_TIME=1970-01-01T00:00:00.000000Z",
		"CIM_P_PERCEIVEDSEVERITY=5",
		"CIM_P_DESCRIPTION=about it",
	};
	struct sink_conf c = mkconf(SINK_FORMAT_JSON, NULL);

	/* Message is not a string: the class name stands in. */
	assert_fields(&c, "{\"v\":1,\"seq\":3,\"time\":"
	    "\"1970-01-01T00:00:00.000000Z\",\"source\":{\"addr\":"
	    "\"192.0.2.1\",\"port\":1,\"tls\":false,\"user\":null,"
	    "\"path\":\"/\"},\"message_id\":\"m-1\",\"class\":\"Acme_Event\","
	    "\"filters\":[],\"properties\":{\"Message\":{\"type\":\"uint8\","
	    "\"value\":1}}}", want, sizeof want / sizeof want[0]);
	/* No Message: Description; no source: no " from", no CIM_SOURCE. */
	assert_fields(&c, "{\"v\":1,\"seq\":3,\"time\":"
	    "\"1970-01-01T00:00:00.000000Z\",\"class\":\"Acme_Event\","
	    "\"properties\":{\"PerceivedSeverity\":{\"type\":\"uint16\","
	    "\"value\":5},\"Description\":{\"type\":\"string\","
	    "\"value\":\"about it\"}}}", want_desc,
	    sizeof want_desc / sizeof want_desc[0]);
}
END_TEST

/* A line that is not a record still goes out, as its text. */
START_TEST(test_fields_not_a_record)
{
	struct sink_conf c = mkconf(SINK_FORMAT_TEMPLATE, NULL);
	struct journal_fields jf = { 0 };
	struct format_ctx *fc = format_ctx_new(&c);
	char *cause = NULL, *got;

	ck_assert_int_eq(journal_fields(&jf, fc, &c, 9, "{\"m\":1}\n", 8,
	    &cause), -1);
	ck_assert_ptr_nonnull(cause);
	got = joined(&jf);
	ck_assert_str_eq(got, "MESSAGE={\"m\":1}|PRIORITY=5|"
	    "SYSLOG_IDENTIFIER=cimlistend|CIM_SEQ=9");
	free(got);
	free(cause);
	journal_fields_free(&jf);
	format_ctx_free(fc);
}
END_TEST

START_TEST(test_field_name)
{
	struct buf b = BUF_INIT;

	ck_assert_int_eq(journal_field_name(&b, "PerceivedSeverity"), 0);
	ck_assert_str_eq(b.data, "CIM_P_PERCEIVEDSEVERITY");
	buf_reset(&b);
	ck_assert_int_eq(journal_field_name(&b, "__1_-"), -1);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(journal_field_name(&b, "\xc3\xa9t\xc3\xa9"), 0);
	ck_assert_str_eq(b.data, "CIM_P_T__");
	buf_free(&b);
}
END_TEST

/* Real journald */

/* Start our journald (in the private namespace); wait for its socket. */
static bool
journald_start(void)
{
	struct timespec ms = { 0, 10000000 };
	struct stat st;
	int i, fd;

	unlink(JOURNAL_SOCKET);
	if ((journald_pid = fork()) == -1)
		return false;
	if (journald_pid == 0) {
		fd = open(journald_log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(JOURNALD, JOURNALD, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 1000; i++) {
		if (stat(JOURNAL_SOCKET, &st) == 0 && S_ISSOCK(st.st_mode))
			return true;
		nanosleep(&ms, NULL);
	}
	return false;
}

static void
journald_stop(void)
{
	if (journald_pid <= 0)
		return;
	kill(journald_pid, SIGTERM);
	waitpid(journald_pid, NULL, 0);
	journald_pid = -1;
}

/* journalctl -o json for our entries: one json-c object per entry. */
static json_object **
journal_read(const char *ident, size_t *np)
{
	json_object **v = NULL;
	char cmd[256], *line = NULL;
	size_t cap = 0, n = 0;
	ssize_t len;
	FILE *f;

	snprintf(cmd, sizeof cmd, "journalctl --no-pager --all -o json "
	    "CIM_CLASS=CIM_AlertIndication SYSLOG_IDENTIFIER=%s 2>/dev/null",
	    ident);
	ck_assert_ptr_nonnull(f = popen(cmd, "r"));
	while ((len = getline(&line, &cap, f)) > 0) {
		v = xreallocarray(v, n + 1, sizeof *v);
		v[n++] = tu_json(line);
	}
	free(line);
	pclose(f);
	*np = n;
	return v;
}

static void
journal_read_free(json_object **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		json_object_put(v[i]);
	free(v);
}

static const char *
jstr(json_object *o, const char *key)
{
	json_object *f;

	if (!json_object_object_get_ex(o, key, &f) ||
	    !json_object_is_type(f, json_type_string))
		return NULL;
	return json_object_get_string(f);
}

/* Wait until journalctl shows n entries of ident (bounded). */
static json_object **
journal_wait(const char *ident, size_t n, size_t *np)
{
	struct timespec ms = { 0, 50000000 };
	json_object **v;
	int i;

	for (i = 0; i < 200; i++) {
		v = journal_read(ident, np);
		if (*np >= n)
			return v;
		journal_read_free(v, *np);
		nanosleep(&ms, NULL);
	}
	return journal_read(ident, np);
}

struct spooled {
	char *dir;
	struct spool *sp;
};

static void
spooled_open(struct spooled *t)
{
	struct spool_params p;
	char *cause = NULL;

	memset(&p, 0, sizeof p);
	t->dir = tu_tmpdir();
	p.dir = t->dir;
	t->sp = spool_open(&p, &cause);
	ck_assert_msg(t->sp != NULL, "spool_open: %s", cause);
}

static void
spooled_close(struct spooled *t)
{
	spool_close(t->sp);
	tu_rmtree(t->dir);
	free(t->dir);
}

/* Append the alert sample for sink "test" n times. */
static void
put_alerts(struct spool *sp, size_t n)
{
	static const char *const routes[] = { "test" };
	struct spool_entry e;
	char *line = alert_line(true), *cause = NULL;
	uint64_t seq;
	size_t i;

	/* The spool writes {"v":1,"seq":N itself: hand it the rest. */
	e.tail = strstr(line, ",\"time\":");
	ck_assert_ptr_nonnull(e.tail);
	e.tail_len = strlen(e.tail);
	e.routes = routes;
	e.nroutes = 1;
	for (i = 0; i < n; i++)
		ck_assert_msg(spool_append(sp, &e, 1, &seq, &cause) == 0,
		    "spool_append: %s", cause);
	free(line);
}

START_TEST(test_real_journald)
{
	struct sink_conf c = mkconf(SINK_FORMAT_JSON, "cimtest-real");
	struct spooled t;
	struct sink *s;
	struct sink_stats st;
	json_object **v;
	char *cause = NULL, want[32];
	size_t n, i;

	if (!real_journald)
		return;
	ck_assert_msg(journald_start(), "journald did not come up");
	spooled_open(&t);
	put_alerts(t.sp, 3);
	ck_assert_ptr_nonnull(s = sink_new(&c, &cause));
	ck_assert(sink_start(s, t.sp, &cause) == 0);
	ck_assert(sink_wait_idle(s, 10000));
	sink_get_stats(s, &st);
	ck_assert_uint_eq(st.delivered, 3);
	ck_assert_uint_eq(sink_stop(s, 5), 0);
	sink_free(s);

	v = journal_wait("cimtest-real", 3, &n);
	ck_assert_uint_eq(n, 3);
	for (i = 0; i < n; i++) {
		snprintf(want, sizeof want, "%zu", i + 1);
		ck_assert_str_eq(jstr(v[i], "CIM_SEQ"), want);
		ck_assert_str_eq(jstr(v[i], "CIM_CLASS"),
		    "CIM_AlertIndication");
		ck_assert_str_eq(jstr(v[i], "PRIORITY"), "2");
		ck_assert_str_eq(jstr(v[i], "SYSLOG_IDENTIFIER"),
		    "cimtest-real");
		ck_assert_str_eq(jstr(v[i], "CIM_SOURCE"), "10.0.0.1");
		ck_assert_str_eq(jstr(v[i], "CIM_MESSAGE_ID"), "1001");
		ck_assert_str_eq(jstr(v[i], "CIM_TIME"),
		    "2026-11-22T01:30:00.123456Z");
		ck_assert_str_eq(jstr(v[i], "CIM_P_MESSAGEID"), "SVPC0123");
		ck_assert_str_eq(jstr(v[i], "CIM_P_PERCEIVEDSEVERITY"), "6");
		ck_assert_str_eq(jstr(v[i], "CIM_P_ALERTINGMANAGEDELEMENT"),
		    "//bmc4.example.net/root/cimv2:CIM_PowerSupply."
		    "DeviceID=\"PSU2\"");
		snprintf(want, sizeof want, "seq %zu from", i + 1);
		ck_assert_ptr_nonnull(strstr(jstr(v[i], "MESSAGE"), want));
		ck_assert_ptr_null(jstr(v[i], "CIM_P_MESSAGEARGUMENTS"));
	}
	journal_read_free(v, n);
	spooled_close(&t);
	journald_stop();
}
END_TEST

/*
 * Without a journal socket sd_journal_sendv fails: SINK_RETRY with the
 * errno text, no crash. With our own journald the records then arrive
 * once it is back, each once.
 */
START_TEST(test_no_journald_retry)
{
	struct sink_conf c = mkconf(SINK_FORMAT_JSON, "cimtest-retry");
	struct sink_line l;
	struct stat sb;
	struct spooled t;
	struct sink *s;
	struct sink_stats st;
	struct timespec ms = { 0, 10000000 };
	json_object **v;
	char *line = alert_line(true), *cause = NULL, want[32];
	size_t done = 99, n, i;
	int k;

	if (!real_journald && stat(JOURNAL_SOCKET, &sb) == 0) {
		/* A journald we must not stop: nothing to show here. */
		free(line);
		return;
	}
	unlink(JOURNAL_SOCKET);
	ck_assert_ptr_nonnull(s = sink_new(&c, &cause));
	l.seq = 42;
	l.data = line;
	l.len = strlen(line);
	ck_assert_int_eq(sink_journal_ops.deliver(s, &l, 1, &done, &cause),
	    SINK_RETRY);
	ck_assert_uint_eq(done, 0);
	ck_assert_ptr_nonnull(cause);
	ck_assert_str_eq(cause, JOURNAL_SOCKET ": No such file or directory");
	free(cause);
	cause = NULL;
	if (real_journald) {
		/* A stale socket, nobody behind it: the send itself fails. */
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

		strcpy(sa.sun_path, JOURNAL_SOCKET);
		ck_assert_int_ne(fd, -1);
		ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa),
		    0);
		close(fd);
		ck_assert_int_eq(sink_journal_ops.deliver(s, &l, 1, &done,
		    &cause), SINK_RETRY);
		ck_assert_uint_eq(done, 0);
		ck_assert_str_eq(cause, "sd_journal_sendv: Connection refused");
		free(cause);
		cause = NULL;
		unlink(JOURNAL_SOCKET);
	}
	sink_free(s);
	free(line);
	if (!real_journald)
		return;

	/* Through the writer: failing while journald is away, then back. */
	spooled_open(&t);
	put_alerts(t.sp, 5);
	ck_assert_ptr_nonnull(s = sink_new(&c, &cause));
	ck_assert(sink_start(s, t.sp, &cause) == 0);
	for (k = 0; k < 1000; k++) {
		sink_get_stats(s, &st);
		if (st.failures >= 2)
			break;
		nanosleep(&ms, NULL);
	}
	ck_assert_uint_ge(st.failures, 2);
	ck_assert_uint_eq(st.delivered, 0);
	ck_assert_msg(journald_start(), "journald did not come up");
	ck_assert(sink_wait_idle(s, 60000));
	sink_get_stats(s, &st);
	ck_assert_uint_eq(st.delivered, 5);
	sink_stop(s, 5);
	sink_free(s);
	v = journal_wait("cimtest-retry", 5, &n);
	ck_assert_uint_eq(n, 5);
	for (i = 0; i < n; i++) {
		snprintf(want, sizeof want, "%zu", i + 1);
		ck_assert_str_eq(jstr(v[i], "CIM_SEQ"), want);
	}
	journal_read_free(v, n);
	spooled_close(&t);
	journald_stop();
}
END_TEST

/* rate_limit: 20 a second, 10 records take at least 0.45 s, none dropped. */
START_TEST(test_rate_limit)
{
	struct sink_conf c = mkconf(SINK_FORMAT_JSON, "cimtest-rate");
	struct spooled t;
	struct sink *s;
	struct sink_stats st;
	struct timespec t0, t1;
	json_object **v;
	char *cause = NULL;
	double el;
	size_t n;

	if (!real_journald)
		return;
	ck_assert_msg(journald_start(), "journald did not come up");
	spooled_open(&t);
	c.rate_limit = 20;
	ck_assert_ptr_nonnull(s = sink_new(&c, &cause));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	put_alerts(t.sp, 10);
	ck_assert(sink_start(s, t.sp, &cause) == 0);
	ck_assert(sink_wait_idle(s, 20000));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	el = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	sink_get_stats(s, &st);
	ck_assert_uint_eq(st.delivered, 10);
	ck_assert_uint_eq(st.failures, 0);
	ck_assert_msg(el >= 0.45, "10 records in %.3fs at 20/s", el);
	sink_stop(s, 5);
	sink_free(s);
	v = journal_wait("cimtest-rate", 10, &n);
	ck_assert_uint_eq(n, 10);
	journal_read_free(v, n);
	spooled_close(&t);
	journald_stop();
}
END_TEST

/*
 * Can we run a journald of our own? Root, the journald binary, a private
 * mount namespace with tmpfs on /run (and /var/log/journal), and a working
 * journalctl. Returns NULL, or why not (static text).
 */
static const char *
journald_setup(char *reason, size_t len)
{
	struct stat st;
	int rc;

	if (getenv("CIMLISTEN_NO_JOURNALD") != NULL)
		return "CIMLISTEN_NO_JOURNALD is set";
	if (geteuid() != 0)
		return "not root, cannot run a private journald";
	if (access(JOURNALD, X_OK) != 0)
		return JOURNALD " not installed (Debian package systemd)";
	if (system("journalctl --version >/dev/null 2>&1") != 0)
		return "journalctl does not run";
	if (unshare(CLONE_NEWNS) == -1) {
		snprintf(reason, len, "unshare(CLONE_NEWNS): %s",
		    strerror(errno));
		return reason;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1 ||
	    mount("tmpfs", "/run", "tmpfs", 0, "mode=0755") == -1 ||
	    (stat("/var/log/journal", &st) == 0 &&
	    mount("tmpfs", "/var/log/journal", "tmpfs", 0, "mode=0755") ==
	    -1)) {
		snprintf(reason, len, "mount: %s", strerror(errno));
		return reason;
	}
	journald_log = xstrdup("/run/journald.log");
	if (!journald_start()) {
		journald_stop();
		return "systemd-journald did not come up (see its log)";
	}
	rc = system("journalctl --no-pager -n 1 >/dev/null 2>&1");
	journald_stop();
	if (rc != 0)
		return "journalctl cannot read the private journal";
	return NULL;
}

static Suite *
journal_suite(void)
{
	Suite *s = suite_create("sink_journal");
	TCase *tc;

	tc = tcase_create("fields");
	tcase_add_test(tc, test_fields_alert);
	tcase_add_test(tc, test_fields_template);
	tcase_add_test(tc, test_fields_mof);
	tcase_add_test(tc, test_fields_awkward);
	tcase_add_test(tc, test_fields_summary_fallback);
	tcase_add_test(tc, test_fields_not_a_record);
	tcase_add_test(tc, test_field_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("journald");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_real_journald);
	tcase_add_test(tc, test_no_journald_retry);
	tcase_add_test(tc, test_rate_limit);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	char buf[256];
	const char *why;
	int rc;

	why = journald_setup(buf, sizeof buf);
	real_journald = why == NULL;
	if (real_journald)
		printf("journal test: real journald\n");
	else
		printf("journal test: field list only (no journald: %s)\n",
		    why);
	fflush(stdout);
	rc = tu_run(journal_suite());
	free(journald_log);
	return rc;
}
