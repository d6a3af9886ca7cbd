/*
 * check_routing.c: black-box test of routing (DESIGN section 6). The real
 * cimlistend runs with four filters over three file sinks; indications made
 * from the bundled samples (class, PerceivedSeverity, the embedded
 * SourceInstance and the request path varied by string replacement) are
 * POSTed with libcurl, and every file must hold exactly the records routed
 * to it, once each, in order, each listing the filters it matched. A
 * config whose where does not compile must keep the daemon from starting,
 * with FILE:LINE:COL on stderr, and fail --check-config the same way.
 */
#include "autoconf.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <json-c/json.h>

#include "testutil.h"

/*
 * The filters, in file order:
 *   critical  PerceivedSeverity >= 6                         -> alerts
 *   fans      a fan whose OperationalStatus has 6 (Error)    -> hw
 *   lab       posted from 127.* to /lab/..., final           -> lab
 *   rest      alerts of severity 3 and up                    -> alerts, hw
 * so "critical" and "rest" overlap on alerts (delivered once), and "lab"
 * hides "rest" from what it matched.
 */
static const char conf_fmt[] =
    "[listener]\n"
    "http_port = %1$u\n"
    "bind = 127.0.0.1\n"
    "[daemon]\n"
    "log_level = debug\n"
    "spool_dir = %2$s/spool\n"
    "control_socket = %2$s/control.sock\n"
    "[sink alerts]\n"
    "type = file\n"
    "path = %2$s/alerts.jsonl\n"
    "[sink hw]\n"
    "type = file\n"
    "path = %2$s/hw.jsonl\n"
    "[sink lab]\n"
    "type = file\n"
    "path = %2$s/lab.jsonl\n"
    "[filter critical]\n"
    "where = PerceivedSeverity >= 6\n"
    "sinks = alerts\n"
    "[filter fans]\n"
    "where = __CLASS = 'CIM_InstModification'\n"
    "    AND SourceInstance.__CLASS = 'Acme_Fan'\n"
    "    AND SourceInstance.OperationalStatus = 6   ; Error\n"
    "sinks = hw\n"
    "[filter lab]\n"
    "where = __SOURCE LIKE '127.%%' AND __PATH LIKE '/lab/%%'\n"
    "sinks = lab\n"
    "final = yes\n"
    "[filter rest]\n"
    "where = __CLASS = 'CIM_AlertIndication' AND PerceivedSeverity >= 3\n"
    "sinks = alerts, hw\n";

#define ALERT "alert-indication.xml"
#define MOD "inst-modification.xml"

/* One indication to send and where it must go. */
struct post {
	const char *id; /* MESSAGE ID (and IndicationIdentifier) */
	const char *sample;
	const char *cls;    /* alert: CLASSNAME; NULL keeps it */
	const char *sev;    /* alert: PerceivedSeverity; NULL keeps 6 */
	const char *fan;    /* mod: SourceInstance class; NULL keeps Acme_Fan */
	const char *status; /* mod: first OperationalStatus; NULL keeps 6 */
	const char *path;   /* request path */
	const char *filters; /* the filters it must match, "a,b" */
	const char *sinks;   /* the files it must land in, "x,y" */
};

static const struct post posts[] = {
    {"a-crit", ALERT, NULL, "6", NULL, NULL, "/", "critical,rest", "alerts,hw"},
    {"a-warn", ALERT, NULL, "4", NULL, NULL, "/", "rest", "alerts,hw"},
    {"a-info", ALERT, NULL, "1", NULL, NULL, "/", "", ""},
    {"x-warn", ALERT, "Acme_AlertIndication", "4", NULL, NULL, "/", "", ""},
    {"x-crit", ALERT, "Acme_AlertIndication", "7", NULL, NULL, "/cimom",
	"critical", "alerts"},
    {"m-fan", MOD, NULL, NULL, NULL, NULL, "/", "fans", "hw"},
    {"m-fan-ok", MOD, NULL, NULL, NULL, "2", "/", "", ""},
    {"m-psu", MOD, NULL, NULL, "Acme_PSU", NULL, "/", "", ""},
    {"m-fan-case", MOD, NULL, NULL, "ACME_FAN", NULL, "/", "fans", "hw"},
    {"lab-crit", ALERT, NULL, "6", NULL, NULL, "/lab/rack4", "critical,lab",
	"alerts,lab"},
    {"lab-info", ALERT, NULL, "1", NULL, NULL, "/lab/x", "lab", "lab"},
    {"lab-fan", MOD, NULL, NULL, NULL, NULL, "/lab/fans", "fans,lab", "hw,lab"},
    {"lab-warn", ALERT, NULL, "4", NULL, NULL, "/lab/", "lab", "lab"},
    {"notlab", ALERT, NULL, "2", NULL, NULL, "/laboratory", "", ""},
};
#define NPOSTS (sizeof posts / sizeof posts[0])

static const char *const sink_names[] = {"alerts", "hw", "lab"};
#define NSINKS (sizeof sink_names / sizeof sink_names[0])

/* Replace the one occurrence of `from` in s (which must have it). */
static char *
replace1(char *s, const char *from, const char *to)
{
	char *p, *out;

	p = strstr(s, from);
	ck_assert_msg(p != NULL, "sample lacks '%s'", from);
	ck_assert_ptr_null(strstr(p + 1, from));
	ck_assert_int_gt(
	    asprintf(&out, "%.*s%s%s", (int)(p - s), s, to, p + strlen(from)),
	    0);
	free(s);
	return out;
}

/* The body of a post: its sample with its replacements. */
static char *
post_body(const struct post *p)
{
	char *body, *to;

	body = tu_sample(p->sample, NULL);
	if (strcmp(p->sample, ALERT) == 0) {
		ck_assert_int_gt(asprintf(&to, "MESSAGE ID=\"%s\"", p->id), 0);
		body = replace1(body, "MESSAGE ID=\"1001\"", to);
		free(to);
		ck_assert_int_gt(asprintf(&to, "<VALUE>%s</VALUE>", p->id), 0);
		body = replace1(body, "<VALUE>ind-000042</VALUE>", to);
		free(to);
		ck_assert_int_gt(asprintf(&to,
				     "\"PerceivedSeverity\" "
				     "TYPE=\"uint16\"><VALUE>%s<",
				     p->sev),
		    0);
		body = replace1(body,
		    "\"PerceivedSeverity\" TYPE=\"uint16\">"
		    "<VALUE>6<",
		    to);
		free(to);
		if (p->cls != NULL) {
			ck_assert_int_gt(
			    asprintf(&to, "CLASSNAME=\"%s\"", p->cls), 0);
			body = replace1(
			    body, "CLASSNAME=\"CIM_AlertIndication\"", to);
			free(to);
		}
		return body;
	}
	ck_assert_int_gt(asprintf(&to, "MESSAGE ID=\"%s\"", p->id), 0);
	body = replace1(body, "MESSAGE ID=\"mod-88\"", to);
	free(to);
	if (p->fan != NULL) {
		/* The SourceInstance only (PreviousInstance is CDATA). */
		ck_assert_int_gt(
		    asprintf(&to, "CLASSNAME=&quot;%s&quot;", p->fan), 0);
		body = replace1(body, "CLASSNAME=&quot;Acme_Fan&quot;", to);
		free(to);
	}
	if (p->status != NULL) {
		ck_assert_int_gt(asprintf(&to,
				     "&lt;VALUE&gt;%s&lt;/VALUE&gt;"
				     "&lt;VALUE&gt;11&lt;",
				     p->status),
		    0);
		body = replace1(body,
		    "&lt;VALUE&gt;6&lt;/VALUE&gt;"
		    "&lt;VALUE&gt;11&lt;",
		    to);
		free(to);
	}
	return body;
}

/* Whether a "a,b,c" list has `name` as an item. */
static bool
list_has(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	while ((p = strstr(p, name)) != NULL) {
		if ((p == list || p[-1] == ',') &&
		    (p[n] == ',' || p[n] == '\0'))
			return true;
		p++;
	}
	return false;
}

/* A record line as "ID [filters]", checking the rest of what it says. */
static char *
record_summary(const char *line)
{
	json_object *o, *f, *v;
	char *out = NULL, *list = NULL, *tmp;
	const char *id, *cls;
	size_t i, n;

	o = tu_json(line);
	id = json_object_get_string(tu_jget(o, "message_id"));
	ck_assert_ptr_nonnull(id);
	cls = json_object_get_string(tu_jget(o, "class"));
	ck_assert_ptr_nonnull(cls);
	ck_assert_str_eq(
	    json_object_get_string(tu_jget(o, "source.addr")), "127.0.0.1");
	if (strcmp(cls, "CIM_InstModification") != 0) {
		v = tu_jget(o, "properties.IndicationIdentifier.value");
		ck_assert_str_eq(json_object_get_string(v), id);
	}
	f = tu_jget(o, "filters");
	ck_assert(json_object_is_type(f, json_type_array));
	n = json_object_array_length(f);
	for (i = 0; i < n; i++) {
		ck_assert_int_gt(
		    asprintf(&tmp, "%s%s%s", list ? list : "", i > 0 ? "," : "",
			json_object_get_string(
			    json_object_array_get_idx(f, i))),
		    0);
		free(list);
		list = tmp;
	}
	ck_assert_int_gt(asprintf(&out, "%s [%s]", id, list ? list : ""), 0);
	free(list);
	json_object_put(o);
	return out;
}

/* Every indication lands in exactly the files its filters name, once. */
START_TEST(test_four_filters_three_sinks)
{
	struct tu_daemon *d;
	struct tu_response *r;
	char *body, *path, *want[NSINKS], *got, *tmp, **lines;
	size_t i, j, n, nwant[NSINKS];

	d = tu_daemon_start_conf(conf_fmt);
	memset(nwant, 0, sizeof nwant);
	for (j = 0; j < NSINKS; j++)
		want[j] = strdup("");
	for (i = 0; i < NPOSTS; i++) {
		body = post_body(&posts[i]);
		r = tu_http(d->port, "POST", posts[i].path, tu_sfcb_headers,
		    body, strlen(body));
		ck_assert_msg(r->status == 200, "%s: status %ld: %s",
		    posts[i].id, r->status, r->body);
		tu_response_free(r);
		free(body);
		for (j = 0; j < NSINKS; j++) {
			if (!list_has(posts[i].sinks, sink_names[j]))
				continue;
			ck_assert_int_gt(asprintf(&tmp, "%s%s [%s]\n", want[j],
					     posts[i].id, posts[i].filters),
			    0);
			free(want[j]);
			want[j] = tmp;
			nwant[j]++;
		}
	}
	for (j = 0; j < NSINKS; j++) {
		ck_assert_int_gt(
		    asprintf(&path, "%s/%s.jsonl", d->dir, sink_names[j]), 0);
		ck_assert_msg(tu_wait_lines(path, nwant[j], 10000),
		    "%s: fewer than %zu lines", sink_names[j], nwant[j]);
		free(path);
	}
	/* Stop (sinks drain on SIGTERM) so that nothing can still arrive. */
	kill(d->pid, SIGTERM);
	ck_assert(tu_daemon_wait(d, 30000));
	ck_assert_int_eq(d->status, 0);
	/* Those that matched nothing were accepted and counted. */
	ck_assert_msg(tu_daemon_log_has(d, "stopped: 14 indications accepted, "
	    "5 of them matched no filter"), "totals line missing or wrong");
	for (j = 0; j < NSINKS; j++) {
		ck_assert_int_gt(
		    asprintf(&path, "%s/%s.jsonl", d->dir, sink_names[j]), 0);
		lines = tu_read_lines(path, &n);
		got = strdup("");
		for (i = 0; i < n; i++) {
			body = record_summary(lines[i]);
			ck_assert_int_gt(
			    asprintf(&tmp, "%s%s\n", got, body), 0);
			free(body);
			free(got);
			got = tmp;
		}
		ck_assert_msg(strcmp(got, want[j]) == 0,
		    "sink %s:\n--- want\n%s--- got\n%s", sink_names[j], want[j],
		    got);
		tu_free_lines(lines);
		free(got);
		free(want[j]);
		free(path);
	}
	ck_assert_int_eq(tu_daemon_stop(d), 0);
}
END_TEST

/* A where that does not compile: no start, FILE:LINE:COL on stderr. */
START_TEST(test_bad_where)
{
	const char *conf_text =
	    "[listener]\n"
	    "http_port = 0\n"
	    "[sink alerts]\n"
	    "type = file\n"
	    "path = alerts.jsonl\n"
	    "[filter critical]\n"
	    "sinks = alerts\n"
	    "where = PerceivedSeverity >= 6 AND\n"
	    "    (AlertType = 2 OR )\n"
	    "[filter quoted]\n"
	    "sinks = alerts\n"
	    "where = Message = 'a\\;b' AND AlertType = = 2\n"
	    "[filter fine]\n"
	    "sinks = alerts\n"
	    "where = AlertType = 2\n";
	const char *args[5];
	char *dir, *conf, *out, *want1, *want2;
	int rc;

	dir = tu_tmpdir();
	ck_assert_int_gt(asprintf(&conf, "%s/bad.conf", dir), 0);
	tu_write_file(conf, conf_text, strlen(conf_text));
	/* The ')' of line 9, the second '=' of line 12 (after a "\;"). */
	ck_assert_int_gt(asprintf(&want1, "%s:9:23: ", conf), 0);
	ck_assert_int_gt(asprintf(&want2, "%s:12:42: ", conf), 0);

	args[0] = "-f";
	args[1] = "-c";
	args[2] = conf;
	args[3] = NULL;
	rc = tu_cimlistend_run(args, &out, 20000);
	ck_assert_msg(rc == 1, "exit %d: %s", rc, out);
	ck_assert_msg(
	    strstr(out, want1) != NULL, "no '%s' in:\n%s", want1, out);
	ck_assert_msg(
	    strstr(out, want2) != NULL, "no '%s' in:\n%s", want2, out);
	ck_assert(strstr(out, want1) < strstr(out, want2));
	free(out);

	args[0] = "--check-config";
	rc = tu_cimlistend_run(args, &out, 20000);
	ck_assert_msg(rc == 1, "exit %d: %s", rc, out);
	ck_assert_msg(
	    strstr(out, want1) != NULL, "no '%s' in:\n%s", want1, out);
	ck_assert_msg(
	    strstr(out, want2) != NULL, "no '%s' in:\n%s", want2, out);
	free(out);

	/* The routing config of the other test passes --check-config. */
	free(conf);
	ck_assert_int_gt(asprintf(&conf, "%s/good.conf", dir), 0);
	ck_assert_int_gt(asprintf(&out, conf_fmt, 5988u, dir), 0);
	tu_write_file(conf, out, strlen(out));
	free(out);
	args[2] = conf;
	rc = tu_cimlistend_run(args, &out, 20000);
	ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
	free(out);

	free(want1);
	free(want2);
	free(conf);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

static Suite *
routing_suite(void)
{
	Suite *s = suite_create("routing");
	TCase *tc = tcase_create("routing");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_four_filters_three_sinks);
	tcase_add_test(tc, test_bad_where);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(routing_suite());
}
