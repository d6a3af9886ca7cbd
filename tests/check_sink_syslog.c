/*
 * check_sink_syslog.c: the syslog sink (sink_syslog.c) fed from a spool in a
 * temp dir, first against a datagram socket of the test's own (the exact
 * bytes of RFC 5424 and RFC 3164 messages, structured-data escaping,
 * truncation of messages too long for the socket, reconnecting when the
 * socket goes away and comes back, rate_limit pacing, formats), then
 * against a real rsyslogd on its own socket and output file: facility,
 * severity and structured data as rsyslog parsed them, and every record
 * produced while rsyslogd was stopped arriving once it runs again; and the
 * same through the real daemon, indications posted over HTTP.
 *
 * Every wait is on a condition with a bounded timeout.
 */
#include "autoconf.h"


#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <check.h>

#include "testutil.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "format.h"
#include "sink.h"
#include "spool.h"
#include "xmalloc.h"

static char *tmpdir;
static struct spool *spool;
static char *sockpath;

static void
setup(void)
{
	struct spool_params p;
	char *dir, *cause = NULL;

	tmpdir = tu_tmpdir();
	memset(&p, 0, sizeof p);
	xasprintf(&dir, "%s/spool", tmpdir);
	p.dir = dir;
	spool = spool_open(&p, &cause);
	ck_assert_msg(spool != NULL, "spool_open: %s", cause);
	free(dir);
	xasprintf(&sockpath, "%s/log.sock", tmpdir);
}

static void
teardown(void)
{
	spool_close(spool);
	spool = NULL;
	tu_rmtree(tmpdir);
	free(tmpdir);
	free(sockpath);
}

static struct sink_conf
mkconf(enum syslog_protocol proto)
{
	struct sink_conf c;

	memset(&c, 0, sizeof c);
	c.name = (char *)"test";
	c.type = (char *)"syslog";
	c.format = SINK_FORMAT_JSON;
	c.socket = sockpath;
	c.ident = (char *)"cimtest";
	c.facility = LOG_LOCAL3 >> 3;
	c.protocol = proto;
	return c;
}

static struct sink *
mksink(const struct sink_conf *c)
{
	struct sink *s;
	char *cause = NULL;

	s = sink_new(c, &cause);
	ck_assert_msg(s != NULL, "sink_new: %s", cause);
	ck_assert_msg(sink_start(s, spool, &cause) == 0, "sink_start: %s",
	    cause);
	return s;
}

/*
 * Append a CIM_AlertIndication record from 192.0.2.7 with the given
 * PerceivedSeverity (-1: none), MessageID (NULL: none) and Message.
 */
static uint64_t
put(int severity, const char *message_id, const char *message)
{
	struct buf b = BUF_INIT;
	struct spool_entry e;
	const char *route = "test";
	char *cause = NULL;
	uint64_t seq;

	buf_adds(&b, ",\"time\":\"2026-11-22T01:30:00.123456Z\","
	    "\"source\":{\"addr\":\"192.0.2.7\",\"port\":5989,\"tls\":false,"
	    "\"user\":null,\"path\":\"/\"},\"message_id\":");
	if (message_id != NULL)
		record_json_string(&b, message_id);
	else
		buf_adds(&b, "null");
	buf_adds(&b, ",\"class\":\"CIM_AlertIndication\",\"filters\":[],"
	    "\"properties\":{");
	if (severity >= 0)
		buf_printf(&b, "\"PerceivedSeverity\":{\"type\":\"uint16\","
		    "\"value\":%d},", severity);
	buf_adds(&b, "\"Message\":{\"type\":\"string\",\"value\":");
	record_json_string(&b, message);
	buf_adds(&b, "}}}\n");
	e.routes = &route;
	e.nroutes = 1;
	e.tail = b.data;
	e.tail_len = b.len;
	ck_assert_msg(spool_append(spool, &e, 1, &seq, &cause) == 0,
	    "spool_append: %s", cause);
	buf_free(&b);
	return seq;
}

/* Our own syslog daemon: a bound datagram socket at sockpath. */
static int
listen_dgram(void)
{
	struct sockaddr_un sun;
	int fd, big = 1 << 20;

	unlink(sockpath);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(sockpath), sizeof sun.sun_path);
	strcpy(sun.sun_path, sockpath);
	ck_assert_int_ne(fd = socket(AF_UNIX, SOCK_DGRAM, 0), -1);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	return fd;
}

/* Receive one datagram within timeout_ms (NUL-terminated), NULL if none. */
static char *
recv_msg(int fd, unsigned timeout_ms, size_t *lenp)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	static char buf[1 << 20];
	ssize_t n;
	char *m;

	if (poll(&pfd, 1, (int)timeout_ms) != 1)
		return NULL;
	n = recv(fd, buf, sizeof buf, 0);
	ck_assert_int_ge(n, 0);
	m = xmalloc((size_t)n + 1);
	memcpy(m, buf, (size_t)n);
	m[n] = '\0';
	if (lenp != NULL)
		*lenp = (size_t)n;
	return m;
}

/* "<PRI>1 TIME HOST APP PID - " with the host and pid filled in. */
static char *
header5424(int pri)
{
	char host[256], *h;

	if (gethostname(host, sizeof host) != 0 || *host == '\0')
		strcpy(host, "-");
	host[sizeof host - 1] = '\0';
	xasprintf(&h, "<%d>1 2026-11-22T01:30:00.123456Z %s cimtest %ld - ",
	    pri, host, (long)getpid());
	return h;
}

START_TEST(test_rfc5424)
{
	struct sink_conf c = mkconf(SYSLOG_RFC5424);
	struct sink *s;
	char *m, *h, *want;
	uint64_t seq;
	int fd = listen_dgram();

	ck_assert_ptr_eq(sink_ops_find("syslog"), &sink_syslog_ops);
	s = mksink(&c);
	seq = put(6, "ALRT1\"]\\", "fan 2 failed");
	ck_assert_ptr_nonnull(m = recv_msg(fd, 10000, NULL));
	/* local3 (19) * 8 + crit (2): PerceivedSeverity 6 is critical. */
	h = header5424(19 * 8 + LOG_CRIT);
	xasprintf(&want, "%s[cim@32473 class=\"CIM_AlertIndication\" "
	    "seq=\"%llu\" source=\"192.0.2.7\" messageid=\"ALRT1\\\"\\]\\\\\"] "
	    "{\"v\":1,\"seq\":%llu,", h, (unsigned long long)seq,
	    (unsigned long long)seq);
	ck_assert_msg(strncmp(m, want, strlen(want)) == 0, "got %s\nwant %s",
	    m, want);
	ck_assert_msg(strstr(m, "\"value\":\"fan 2 failed\"}}}") != NULL &&
	    m[strlen(m) - 1] == '}', "no JSON record at the end: %s", m);
	free(m);
	free(want);
	free(h);

	/* No PerceivedSeverity: notice; no MessageID: no messageid param. */
	seq = put(-1, NULL, "plain");
	ck_assert_ptr_nonnull(m = recv_msg(fd, 10000, NULL));
	h = header5424(19 * 8 + LOG_NOTICE);
	xasprintf(&want, "%s[cim@32473 class=\"CIM_AlertIndication\" "
	    "seq=\"%llu\" source=\"192.0.2.7\"] {", h,
	    (unsigned long long)seq);
	ck_assert_msg(strncmp(m, want, strlen(want)) == 0, "got %s\nwant %s",
	    m, want);
	free(m);
	free(want);
	free(h);
	sink_stop(s, 5);
	sink_free(s);
	close(fd);
}
END_TEST

START_TEST(test_rfc3164_template)
{
	struct sink_conf c = mkconf(SYSLOG_RFC3164);
	struct template_error err;
	struct sink *s;
	char *m, *want, ts[32];
	struct tm tm;
	time_t t = 1795311000; /* 2026-11-22T01:30:00Z */
	int fd = listen_dgram();

	c.format = SINK_FORMAT_TEMPLATE;
	c.template = (char *)"{__CLASS} #{__SEQ} {__SEVERITY}: {Message}";
	ck_assert_ptr_nonnull(c.tmpl = template_compile(c.template, &err));
	c.severity = (char *)"warning";
	s = mksink(&c);
	put(6, NULL, "disk {7} gone");
	ck_assert_ptr_nonnull(m = recv_msg(fd, 10000, NULL));
	localtime_r(&t, &tm);
	strftime(ts, sizeof ts, "%b %e %H:%M:%S", &tm);
	/* severity = warning overrides the mapping. */
	xasprintf(&want, "<%d>%s cimtest[%ld]: CIM_AlertIndication #1 "
	    "warning: disk {7} gone", 19 * 8 + LOG_WARNING, ts,
	    (long)getpid());
	ck_assert_str_eq(m, want);
	free(m);
	free(want);
	sink_stop(s, 5);
	sink_free(s);
	template_free(c.tmpl);
	close(fd);
}
END_TEST

START_TEST(test_mof_format)
{
	struct sink_conf c = mkconf(SYSLOG_RFC3164);
	struct sink *s;
	char *m;
	int fd = listen_dgram();

	c.format = SINK_FORMAT_MOF;
	s = mksink(&c);
	put(2, NULL, "a \"quoted\" text");
	ck_assert_ptr_nonnull(m = recv_msg(fd, 10000, NULL));
	ck_assert_msg(strstr(m, "]: instance of CIM_AlertIndication {\n") !=
	    NULL, "%s", m);
	ck_assert_msg(strstr(m, "   Message = \"a \\\"quoted\\\" text\";\n") !=
	    NULL, "%s", m);
	/* PerceivedSeverity 2 (low) is info. */
	ck_assert_msg(strncmp(m, "<158>", 5) == 0, "%s", m);
	free(m);
	sink_stop(s, 5);
	sink_free(s);
	close(fd);
}
END_TEST

/* A message longer than a datagram may be is cut and marked, not lost. */
START_TEST(test_truncate)
{
	struct sink_conf c = mkconf(SYSLOG_RFC5424);
	struct sink *s;
	struct buf big = BUF_INIT;
	size_t i, len;
	char *m;
	uint64_t seq;
	int fd = listen_dgram();

	/* 600 KB of 3-byte UTF-8 characters: too long for any AF_UNIX send. */
	for (i = 0; i < 200000; i++)
		buf_adds(&big, "\xe2\x82\xac");
	buf_addc(&big, '\0');
	s = mksink(&c);
	seq = put(5, NULL, big.data);
	put(5, NULL, "after the big one");
	ck_assert_ptr_nonnull(m = recv_msg(fd, 10000, &len));
	ck_assert_uint_lt(len, 600000);
	ck_assert_uint_gt(len, 1000);
	ck_assert_msg(strstr(m, "seq=\"1\"") != NULL, "%.200s", m);
	ck_assert_uint_eq(seq, 1);
	ck_assert_str_eq(m + len - 14, "...[truncated]");
	/* Cut at a character boundary: what precedes the marker is whole. */
	ck_assert_msg(strncmp(m + len - 17, "\xe2\x82\xac", 3) == 0,
	    "cut inside a character");
	free(m);
	ck_assert_ptr_nonnull(m = recv_msg(fd, 10000, NULL));
	ck_assert_ptr_nonnull(strstr(m, "after the big one"));
	ck_assert_ptr_null(strstr(m, "[truncated]"));
	free(m);
	sink_stop(s, 5);
	sink_free(s);
	buf_free(&big);
	close(fd);
}
END_TEST

/* Wait until the sink has failed more often than `before` times. */
static bool
wait_failures(struct sink *s, uint64_t before, unsigned timeout_ms)
{
	struct sink_stats st;
	unsigned waited;

	for (waited = 0; waited < timeout_ms; waited += 5) {
		sink_get_stats(s, &st);
		if (st.failures > before)
			return true;
		usleep(5000);
	}
	return false;
}

/* Stop and free the sink, which delivered `n` records and dropped none. */
static void
stop_expect(struct sink *s, uint64_t n)
{
	struct sink_stats st;

	sink_stop(s, 5);
	sink_get_stats(s, &st);
	ck_assert_uint_eq(st.delivered, n);
	ck_assert_uint_eq(st.dropped, 0);
	sink_free(s);
}

/* Seq of a received RFC 5424 message (from the structured data). */
static unsigned long long
msg_seq(const char *m)
{
	const char *p = strstr(m, " seq=\"");

	ck_assert_ptr_nonnull(p);
	return strtoull(p + 6, NULL, 10);
}

/*
 * The socket goes away (no syslog daemon), records keep coming; when it
 * is back every one of them arrives, in order, once.
 */
START_TEST(test_reconnect)
{
	struct sink_conf c = mkconf(SYSLOG_RFC5424);
	struct sink *s;
	struct sink_stats st;
	unsigned long long want = 1;
	char *m;
	int i, fd;

	/* Not there at start: open succeeds, delivery waits. */
	s = mksink(&c);
	put(1, NULL, "before");
	ck_assert(wait_failures(s, 0, 10000));
	fd = listen_dgram();
	ck_assert_ptr_nonnull(m = recv_msg(fd, 10000, NULL));
	ck_assert_uint_eq(msg_seq(m), want++);
	free(m);

	/* Gone while records arrive. */
	close(fd);
	unlink(sockpath);
	sink_get_stats(s, &st);
	for (i = 0; i < 20; i++)
		put(3, NULL, "meanwhile");
	ck_assert(wait_failures(s, st.failures, 10000));
	fd = listen_dgram();
	for (i = 0; i < 20; i++) {
		ck_assert_ptr_nonnull(m = recv_msg(fd, 10000, NULL));
		ck_assert_uint_eq(msg_seq(m), want++);
		free(m);
	}
	ck_assert_ptr_null(recv_msg(fd, 200, NULL));
	stop_expect(s, 21);
	close(fd);
}
END_TEST

/* rate_limit spaces messages out: n messages take at least (n-1)/rate. */
START_TEST(test_rate_limit)
{
	struct sink_conf c = mkconf(SYSLOG_RFC5424);
	struct sink *s;
	struct timespec t0, t1;
	double took;
	char *m;
	int i, fd = listen_dgram();

	c.rate_limit = 20;
	for (i = 0; i < 11; i++)
		put(2, NULL, "paced");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	s = mksink(&c);
	for (i = 0; i < 11; i++) {
		ck_assert_ptr_nonnull(m = recv_msg(fd, 10000, NULL));
		free(m);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	took = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ck_assert_msg(took >= 0.5 - 0.001, "11 messages at 20/s took %.3f s",
	    took);
	sink_stop(s, 5);
	sink_free(s);
	close(fd);
}
END_TEST

static bool
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A real rsyslogd with its own socket, work dir and output file. */
struct rsyslogd {
	pid_t pid;
	char *conf;
	char *out;
	char *pidfile;
};

static void
rsyslogd_start(struct rsyslogd *r)
{
	unsigned waited;
	struct stat st;

	unlink(r->pidfile);
	r->pid = fork();
	ck_assert_int_ne(r->pid, -1);
	if (r->pid == 0) {
		execlp("rsyslogd", "rsyslogd", "-n", "-f", r->conf, "-i",
		    r->pidfile, (char *)NULL);
		_exit(127);
	}
	for (waited = 0; waited < 20000; waited += 10) {
		if (stat(sockpath, &st) == 0 && S_ISSOCK(st.st_mode) &&
		    access(r->pidfile, F_OK) == 0)
			return;
		ck_assert_msg(waitpid(r->pid, NULL, WNOHANG) == 0,
		    "rsyslogd exited at start");
		usleep(10000);
	}
	ck_abort_msg("rsyslogd did not create %s", sockpath);
}

static void
rsyslogd_stop(struct rsyslogd *r)
{
	int status;

	ck_assert_int_eq(kill(r->pid, SIGTERM), 0);
	ck_assert_int_eq(waitpid(r->pid, &status, 0), r->pid);
	r->pid = -1;
}

static struct rsyslogd *
rsyslogd_new(void)
{
	struct rsyslogd *r = xcalloc(1, sizeof *r);
	char *work, *text;

	xasprintf(&work, "%s/rsyslog-work", tmpdir);
	ck_assert_int_eq(mkdir(work, 0700), 0);
	xasprintf(&r->conf, "%s/rsyslog.conf", tmpdir);
	xasprintf(&r->out, "%s/rsyslog.out", tmpdir);
	xasprintf(&r->pidfile, "%s/rsyslog.pid", tmpdir);
	xasprintf(&text,
	    "global(workDirectory=\"%s\")\n"
	    "module(load=\"imuxsock\" SysSock.Use=\"off\")\n"
	    "input(type=\"imuxsock\" Socket=\"%s\" UseSpecialParser=\"off\" "
	    "ParseHostname=\"on\" RateLimit.Interval=\"0\")\n"
	    "template(name=\"t\" type=\"string\" string=\"%%syslogfacility-"
	    "text%% %%syslogseverity-text%% %%app-name%% %%structured-data%% "
	    "%%msg%%\\n\")\n"
	    "*.* action(type=\"omfile\" file=\"%s\" template=\"t\")\n",
	    work, sockpath, r->out);
	tu_write_file(r->conf, text, strlen(text));
	free(text);
	free(work);
	r->pid = -1;
	return r;
}

static void
rsyslogd_free(struct rsyslogd *r)
{
	if (r->pid != -1)
		rsyslogd_stop(r);
	free(r->conf);
	free(r->out);
	free(r->pidfile);
	free(r);
}

START_TEST(test_rsyslogd)
{
	struct sink_conf c = mkconf(SYSLOG_RFC5424);
	struct rsyslogd *r;
	struct sink *s;
	struct sink_stats st;
	char **lines, *want;
	size_t n, i;

	if (access("/usr/sbin/rsyslogd", X_OK) != 0) {
		/* scripts/deps installs it; say loudly if it is missing. */
		ck_abort_msg("rsyslogd not installed (apt-get install rsyslog)");
	}
	r = rsyslogd_new();
	rsyslogd_start(r);
	s = mksink(&c);
	put(6, "PWR1", "power supply 2 lost input");
	put(2, NULL, "fan speed low");
	put(-1, NULL, "no severity");
	ck_assert_msg(tu_wait_lines(r->out, 3, 20000), "rsyslogd wrote "
	    "nothing to %s", r->out);
	lines = tu_read_lines(r->out, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_msg(starts(lines[0], "local3 crit cimtest [cim@32473 "
	    "class=\"CIM_AlertIndication\" seq=\"1\" source=\"192.0.2.7\" "
	    "messageid=\"PWR1\"] {\"v\":1,\"seq\":1,"), "%s", lines[0]);
	ck_assert_msg(strstr(lines[0], "power supply 2 lost input") != NULL,
	    "%s", lines[0]);
	ck_assert_msg(starts(lines[1], "local3 info cimtest [cim@32473 "
	    "class=\"CIM_AlertIndication\" seq=\"2\" source=\"192.0.2.7\"] {"),
	    "%s", lines[1]);
	ck_assert_msg(starts(lines[2], "local3 notice cimtest [cim@32473 "
	    "class=\"CIM_AlertIndication\" seq=\"3\""), "%s", lines[2]);
	tu_free_lines(lines);

	/* rsyslogd stops; records keep arriving and wait in the spool. */
	rsyslogd_stop(r);
	sink_get_stats(s, &st);
	ck_assert_uint_eq(st.delivered, 3);
	for (i = 0; i < 50; i++)
		put(4, NULL, "while rsyslogd was away");
	ck_assert(wait_failures(s, st.failures, 20000));
	sink_get_stats(s, &st);
	ck_assert_uint_lt(st.delivered, 53);

	/* Back: every record produced meanwhile arrives, once, in order. */
	rsyslogd_start(r);
	ck_assert_msg(tu_wait_lines(r->out, 53, 30000), "not all records "
	    "arrived after the restart");
	ck_assert(sink_wait_idle(s, 10000));
	lines = tu_read_lines(r->out, &n);
	ck_assert_uint_eq(n, 53);
	for (i = 3; i < n; i++) {
		xasprintf(&want, "local3 warning cimtest [cim@32473 "
		    "class=\"CIM_AlertIndication\" seq=\"%zu\"", i + 1);
		ck_assert_msg(strncmp(lines[i], want, strlen(want)) == 0,
		    "line %zu: %s", i, lines[i]);
		free(want);
	}
	tu_free_lines(lines);
	stop_expect(s, 53);
	rsyslogd_free(r);
}
END_TEST

/*
 * Through the real daemon: indications posted over HTTP reach rsyslogd
 * through a syslog sink behind a filter, and a mof file sink beside it
 * holds exactly the hand-written MOF of the sample.
 */
START_TEST(test_daemon_rsyslogd)
{
	struct rsyslogd *r;
	struct tu_daemon *d;
	struct tu_response *resp;
	char *extra, *body, *mofpath, *got, *want, **lines;
	size_t len, n;

	r = rsyslogd_new();
	rsyslogd_start(r);
	xasprintf(&mofpath, "%s/out.mof", tmpdir);
	xasprintf(&extra,
	    "[sink sys]\ntype = syslog\nsocket = %s\nfacility = local3\n"
	    "ident = cimtest\n"
	    "[sink mof]\ntype = file\npath = %s\nformat = mof\n"
	    "[filter serious]\nwhere = PerceivedSeverity >= 5\nsinks = sys\n"
	    "[filter everything]\nsinks = mof\n", sockpath, mofpath);
	d = tu_daemon_start(NULL, extra);
	body = tu_sample("alert-indication.xml", &len);
	resp = tu_post(d->port, body, len);
	ck_assert_int_eq(resp->status, 200);
	tu_response_free(resp);
	ck_assert_msg(tu_wait_lines(r->out, 1, 20000), "nothing reached "
	    "rsyslogd");
	lines = tu_read_lines(r->out, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_msg(starts(lines[0], "local3 crit cimtest [cim@32473 "
	    "class=\"CIM_AlertIndication\" seq=\"1\" source=\"127.0.0.1\" "
	    "messageid=\"1001\"] {\"v\":1,\"seq\":1,"), "%s", lines[0]);
	ck_assert_ptr_nonnull(strstr(lines[0], "redundancy lost"));
	tu_free_lines(lines);
	ck_assert(tu_wait_lines(mofpath, 16, 20000));
	got = tu_read_file(mofpath, NULL);
	want = tu_data("mof/alert-indication.mof", NULL);
	ck_assert_str_eq(got, want);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
	rsyslogd_free(r);
	free(got);
	free(want);
	free(body);
	free(extra);
	free(mofpath);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("sink_syslog");
	TCase *tc = tcase_create("syslog");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_rfc5424);
	tcase_add_test(tc, test_rfc3164_template);
	tcase_add_test(tc, test_mof_format);
	tcase_add_test(tc, test_truncate);
	tcase_add_test(tc, test_reconnect);
	tcase_add_test(tc, test_rate_limit);
	tcase_add_test(tc, test_rsyslogd);
	tcase_add_test(tc, test_daemon_rsyslogd);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(suite());
}
