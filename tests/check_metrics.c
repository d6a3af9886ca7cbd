/*
 * check_metrics.c: the Prometheus endpoint ([metrics] listen) of the real
 * daemon, scraped over HTTP: the exposition format line by line (every
 * sample after its family's HELP and TYPE, names and labels well formed),
 * the values after indications were posted, 404 and 405 for other paths
 * and methods, and a start that fails cleanly when the port is taken.
 *
 * Every wait is on a condition with a bounded timeout.
 */
#include "autoconf.h"

#include <check.h>
#include <ctype.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#include "xmalloc.h"

static bool
metric_name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

/*
 * Check the exposition text and return the value of sample `want`
 * (name with labels, as printed), or -1 if absent.
 */
static long long
check_exposition(const char *text, const char *want)
{
	char *copy = xstrdup(text), *line, *save = NULL, *sp, fam[256] = "";
	bool help = false, type = false;
	long long found = -1;
	size_t n;

	ck_assert_msg(text[strlen(text) - 1] == '\n', "no final newline");
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# HELP ", 7) == 0) {
			sp = strchr(line + 7, ' ');
			ck_assert_msg(sp != NULL && sp[1] != '\0', "%s", line);
			n = (size_t)(sp - (line + 7));
			ck_assert(metric_name_ok(line + 7, n));
			ck_assert_uint_lt(n, sizeof fam);
			memcpy(fam, line + 7, n);
			fam[n] = '\0';
			help = true;
			type = false;
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			ck_assert_msg(help && strncmp(line + 7, fam,
			    strlen(fam)) == 0, "TYPE without HELP: %s", line);
			sp = line + 7 + strlen(fam);
			ck_assert_msg(strcmp(sp, " counter") == 0 ||
			    strcmp(sp, " gauge") == 0 ||
			    strcmp(sp, " histogram") == 0, "%s", line);
			type = true;
			continue;
		}
		ck_assert_msg(line[0] != '#', "unknown comment %s", line);
		/* A sample of the current family: name[{labels}] value */
		ck_assert_msg(type && strncmp(line, fam, strlen(fam)) == 0,
		    "sample outside its family: %s", line);
		n = strcspn(line, "{ ");
		ck_assert(metric_name_ok(line, n));
		if (line[n] == '{') {
			sp = strstr(line + n, "} ");
			ck_assert_msg(sp != NULL, "%s", line);
			sp += 1;
		} else
			sp = line + n;
		ck_assert_msg(*sp == ' ' && strspn(sp + 1, "0123456789.") ==
		    strlen(sp + 1) && sp[1] != '\0', "bad value: %s", line);
		if (strncmp(line, want, strlen(want)) == 0 &&
		    line + strlen(want) == sp)
			found = atoll(sp + 1);
	}
	free(copy);
	return found;
}

static char *
scrape(unsigned port, long *status)
{
	struct tu_response *r = tu_http(port, "GET", "/metrics", NULL, NULL,
	    0);
	char *body;

	*status = r->status;
	body = xstrdup(r->body != NULL ? r->body : "");
	tu_response_free(r);
	return body;
}

START_TEST(test_scrape)
{
	unsigned mport = tu_free_port();
	struct tu_daemon *d;
	struct tu_response *r;
	char *extra, *text, *ctype, *body;
	long status;
	size_t len;
	int i;

	xasprintf(&extra, "[metrics]\nlisten = 127.0.0.1:%u\n", mport);
	d = tu_daemon_start(NULL, extra);
	body = tu_sample("alert-indication.xml", &len);
	for (i = 0; i < 3; i++) {
		r = tu_post(d->port, body, len);
		ck_assert_int_eq(r->status, 200);
		tu_response_free(r);
	}
	ck_assert(tu_wait_lines(d->out, 3, 10000));
	/* The sink counts its delivery just after writing the lines. */
	for (i = 0; i < 1000; i++) {
		text = scrape(mport, &status);
		ck_assert_int_eq(status, 200);
		if (check_exposition(text, "cimlisten_sink_delivered_total"
		    "{sink=\"out\",type=\"file\"}") == 3)
			break;
		free(text);
		text = NULL;
		usleep(10000);
	}
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(check_exposition(text,
	    "cimlisten_indications_accepted_total"), 3);
	ck_assert_int_eq(check_exposition(text,
	    "cimlisten_http_accepted_total"), 3);
	ck_assert_int_eq(check_exposition(text,
	    "cimlisten_sink_lag_records{sink=\"out\",type=\"file\"}"), 0);
	ck_assert_int_eq(check_exposition(text, "cimlisten_spool_next_seq"),
	    4);
	ck_assert_int_eq(check_exposition(text,
	    "cimlisten_build_info{version=\"" PACKAGE_VERSION "\"}"), 1);
	free(text);

	r = tu_http(mport, "GET", "/metrics", NULL, NULL, 0);
	ctype = tu_header(r, "Content-Type");
	ck_assert_str_eq(ctype, "text/plain; version=0.0.4; charset=utf-8");
	free(ctype);
	tu_response_free(r);
	r = tu_http(mport, "GET", "/other", NULL, NULL, 0);
	ck_assert_int_eq(r->status, 404);
	tu_response_free(r);
	r = tu_http(mport, "POST", "/metrics", NULL, "x", 1);
	ck_assert_int_eq(r->status, 405);
	tu_response_free(r);
	/* Scraping did not count as CIM requests. */
	text = scrape(mport, &status);
	ck_assert_int_eq(check_exposition(text,
	    "cimlisten_http_requests_total"), 3);
	free(text);
	free(body);
	free(extra);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/* Run `promtool check metrics` on text; its exit status. */
static int
promtool(const char *text, char **out)
{
	char *dir = tu_tmpdir(), *in, *cmd, *log;
	int rc;

	xasprintf(&in, "%s/metrics.txt", dir);
	xasprintf(&log, "%s/promtool.log", dir);
	tu_write_file(in, text, strlen(text));
	xasprintf(&cmd, "promtool check metrics <'%s' >'%s' 2>&1", in, log);
	rc = system(cmd);
	*out = tu_read_file(log, NULL);
	tu_rmtree(dir);
	free(dir);
	free(in);
	free(log);
	free(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* cimlistenctl send, waited for; its exit status. */
static int
send_n(unsigned port, const char *n, const char *prop)
{
	const char *ctl = getenv("CIMLISTENCTL");
	char *cmd;
	int rc;

	xasprintf(&cmd, "'%s' send -n %s --property %s "
	    "http://127.0.0.1:%u/ >/dev/null 2>&1",
	    ctl != NULL && *ctl != '\0' ? ctl : BUILDDIR "/src/cimlistenctl",
	    n, prop, port);
	rc = system(cmd);
	free(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static long long
jll(json_object *o, const char *path)
{
	json_object *v = tu_jget(o, path);

	return v != NULL ? json_object_get_int64(v) : -1;
}

/* Ask the control socket for stats (its result, to put). */
static json_object *
stats(const struct tu_daemon *d)
{
	char *cmd, *path, *text;
	const char *ctl = getenv("CIMLISTENCTL");
	json_object *o;

	xasprintf(&path, "%s/ctl.out", d->dir);
	xasprintf(&cmd, "'%s' --json stats --socket '%s/control.sock' >'%s'",
	    ctl != NULL && *ctl != '\0' ? ctl : BUILDDIR "/src/cimlistenctl",
	    d->dir, path);
	ck_assert_int_eq(system(cmd), 0);
	text = tu_read_file(path, NULL);
	o = tu_json(text);
	free(text);
	free(cmd);
	free(path);
	return o;
}

/*
 * What a test sent, counted exactly by status, CIMError, filter and sink
 * in stats, and the same in /metrics, which promtool accepts.
 */
START_TEST(test_counts_agree)
{
	unsigned mport = tu_free_port();
	static const char *const get[] = { NULL };
	struct tu_daemon *d;
	struct tu_response *r;
	json_object *st, *f;
	char *extra, *text, *out;
	long status;
	size_t i;
	int k;

	xasprintf(&extra, "[metrics]\nlisten = 127.0.0.1:%u\n"
	    "[filter severe]\nwhere = PerceivedSeverity >= 5\nsinks = out\n",
	    mport);
	d = tu_daemon_start(NULL, extra);
	ck_assert_int_eq(send_n(d->port, "7", "PerceivedSeverity=uint16:6"), 0);
	ck_assert_int_eq(send_n(d->port, "5", "PerceivedSeverity=uint16:2"), 0);
	for (k = 0; k < 3; k++) {
		r = tu_post(d->port, "<<not xml", 9);
		ck_assert_int_eq(r->status, 400);
		tu_response_free(r);
	}
	for (k = 0; k < 2; k++) {
		r = tu_http(d->port, "GET", "/", get, NULL, 0);
		ck_assert_int_eq(r->status, 405);
		tu_response_free(r);
	}
	ck_assert(tu_wait_lines(d->out, 12, 10000));

	/* The sink counts its delivery just after writing the lines. */
	for (k = 0; k < 1000; k++) {
		st = stats(d);
		for (i = 0; i < json_object_array_length(tu_jget(st, "sinks"));
		    i++)
			if (jll(json_object_array_get_idx(tu_jget(st, "sinks"),
			    i), "delivered") == 12)
				break;
		if (i < json_object_array_length(tu_jget(st, "sinks")))
			break;
		json_object_put(st);
		st = NULL;
		usleep(10000);
	}
	ck_assert_ptr_nonnull(st);
	ck_assert_int_eq(jll(st, "http.requests"), 17);
	ck_assert_int_eq(jll(st, "http.by_status.200"), 12);
	ck_assert_int_eq(jll(st, "http.by_status.400"), 3);
	ck_assert_int_eq(jll(st, "http.by_status.405"), 2);
	ck_assert_int_eq(json_object_object_length(tu_jget(st,
	    "http.by_status")), 3);
	ck_assert_int_eq(jll(st, "http.by_cimerror.request-not-well-formed"),
	    3);
	ck_assert_int_eq(jll(st, "http.latency.count"), 17);
	ck_assert_int_eq(jll(st, "indications.accepted"), 12);
	f = tu_jget(st, "filters");
	ck_assert_int_eq(json_object_array_length(f), 2);
	ck_assert_str_eq(json_object_get_string(tu_jget(
	    json_object_array_get_idx(f, 0), "name")), "all");
	ck_assert_int_eq(jll(json_object_array_get_idx(f, 0), "matched"), 12);
	ck_assert_str_eq(json_object_get_string(tu_jget(
	    json_object_array_get_idx(f, 1), "name")), "severe");
	ck_assert_int_eq(jll(json_object_array_get_idx(f, 1), "matched"), 7);
	ck_assert_int_eq(jll(json_object_array_get_idx(tu_jget(st, "sinks"),
	    0), "latency.count"), 12);

	text = scrape(mport, &status);
	ck_assert_int_eq(status, 200);
	ck_assert_msg(promtool(text, &out) == 0, "promtool: %s", out);
	free(out);
	ck_assert_int_eq(check_exposition(text,
	    "cimlisten_http_responses_total{status=\"200\"}"), 12);
	ck_assert_int_eq(check_exposition(text,
	    "cimlisten_http_responses_total{status=\"400\"}"), 3);
	ck_assert_int_eq(check_exposition(text,
	    "cimlisten_http_responses_total{status=\"405\"}"), 2);
	ck_assert_int_eq(check_exposition(text,
	    "cimlisten_http_cimerrors_total{cimerror=\"request-not-well-"
	    "formed\"}"), 3);
	ck_assert_int_eq(check_exposition(text,
	    "cimlisten_filter_matches_total{filter=\"severe\"}"), 7);
	ck_assert_int_eq(check_exposition(text,
	    "cimlisten_filter_matches_total{filter=\"all\"}"), 12);
	ck_assert_int_eq(check_exposition(text,
	    "cimlisten_sink_delivered_total{sink=\"out\",type=\"file\"}"),
	    jll(json_object_array_get_idx(tu_jget(st, "sinks"), 0),
	    "delivered"));
	ck_assert_int_eq(check_exposition(text,
	    "cimlisten_ack_latency_seconds_count"), 17);
	ck_assert_int_eq(check_exposition(text,
	    "cimlisten_ack_latency_seconds_bucket{le=\"+Inf\"}"), 17);
	ck_assert_int_eq(check_exposition(text,
	    "cimlisten_sink_delivery_latency_seconds_count{sink=\"out\"}"),
	    12);
	ck_assert_int_eq(check_exposition(text,
	    "cimlisten_indications_accepted_total"),
	    jll(st, "indications.accepted"));
	json_object_put(st);
	free(text);
	free(extra);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/*
 * reject_dir: each request answered 4xx/501 is kept as one file (reason,
 * sender, headers, body), at most reject_keep of them, counted in stats.
 */
START_TEST(test_reject_store)
{
	static const char *const get[] = { NULL };
	struct tu_daemon *d;
	struct tu_response *r;
	json_object *st;
	char **names, *text, *path, body[64];
	size_t len, n = 0, i;
	int k;
	DIR *dp;
	struct dirent *de;

	d = tu_daemon_start_conf("[listener]\nbind = 127.0.0.1\n"
	    "http_port = %1$u\n[daemon]\nspool_dir = %2$s/spool\n"
	    "control_socket = %2$s/control.sock\n"
	    "reject_dir = %2$s/rejects\nreject_keep = 3\n"
	    "[sink out]\ntype = file\npath = %2$s/out.jsonl\n"
	    "[filter all]\nsinks = out\n");
	text = tu_sample("alert-indication.xml", &len);
	r = tu_post(d->port, text, len);   /* 200: not kept */
	ck_assert_int_eq(r->status, 200);
	tu_response_free(r);
	free(text);
	for (k = 0; k < 4; k++) {
		snprintf(body, sizeof body, "<<not xml %d", k);
		r = tu_post(d->port, body, strlen(body));
		ck_assert_int_eq(r->status, 400);
		tu_response_free(r);
	}
	r = tu_http(d->port, "GET", "/probe", get, NULL, 0);
	ck_assert_int_eq(r->status, 405);
	tu_response_free(r);

	st = stats(d);
	ck_assert_int_eq(jll(st, "http.rejects_kept"), 5);
	json_object_put(st);
	xasprintf(&path, "%s/rejects", d->dir);
	ck_assert_ptr_nonnull(dp = opendir(path));
	names = calloc(16, sizeof *names);
	while ((de = readdir(dp)) != NULL)
		if (de->d_name[0] != '.') {
			ck_assert_uint_lt(n, 16);
			names[n++] = xstrdup(de->d_name);
		}
	closedir(dp);
	ck_assert_uint_eq(n, 3);       /* reject_keep */
	/* The newest: the GET; one of the others: a kept body. */
	for (i = 0; i < n; i++) {
		char *f;

		xasprintf(&f, "%s/%s", path, names[i]);
		text = tu_read_file(f, NULL);
		ck_assert_ptr_nonnull(text);
		ck_assert_ptr_nonnull(strstr(text, "\nfrom: 127.0.0.1 port "));
		if (strstr(text, "status: 405") != NULL)
			ck_assert_ptr_nonnull(strstr(text, "\n\nGET /probe "
			    "HTTP/1.1\n"));
		else {
			ck_assert_ptr_nonnull(strstr(text, "status: 400\n"
			    "cimerror: request-not-well-formed\n"));
			ck_assert_ptr_nonnull(strstr(text, "\n\nPOST / "
			    "HTTP/1.1\n"));
			ck_assert_ptr_nonnull(strstr(text,
			    "CIMExportMethod: ExportIndication\n"));
			ck_assert_msg(strstr(text, "\n\n<<not xml 3") != NULL ||
			    strstr(text, "\n\n<<not xml 2") != NULL,
			    "%s", text);
		}
		free(text);
		free(f);
		free(names[i]);
	}
	free(names);
	free(path);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/* The port is taken: the start fails and says why. */
START_TEST(test_port_taken)
{
	struct tu_daemon *d;
	char *extra, *dir = tu_tmpdir(), *conf, *text, *out = NULL;
	const char *args[4];
	unsigned mport = tu_free_port();

	xasprintf(&extra, "[metrics]\nlisten = 127.0.0.1:%u\n", mport);
	d = tu_daemon_start(NULL, extra);
	xasprintf(&conf, "%s/c.conf", dir);
	xasprintf(&text, "[listener]\nhttp_port = %u\nbind = 127.0.0.1\n"
	    "[daemon]\nspool_dir = %s/spool\ncontrol_socket =\n"
	    "[metrics]\nlisten = 127.0.0.1:%u\n", tu_free_port(), dir, mport);
	tu_write_file(conf, text, strlen(text));
	args[0] = "-f";
	args[1] = "-c";
	args[2] = conf;
	args[3] = NULL;
	ck_assert_int_eq(tu_cimlistend_run(args, &out, 20000), 1);
	ck_assert_msg(strstr(out, "metrics: cannot listen on 127.0.0.1:") !=
	    NULL && strstr(out, "Address already in use") != NULL, "%s", out);
	free(out);
	free(text);
	free(conf);
	free(extra);
	tu_rmtree(dir);
	free(dir);
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_scrape);
	tcase_add_test(tc, test_counts_agree);
	tcase_add_test(tc, test_reject_store);
	tcase_add_test(tc, test_port_taken);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(suite());
}
