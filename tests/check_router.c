/*
 * check_router.c: unit tests of router.c. Configs are loaded with
 * config_load from temporary files (so `where` is compiled as the daemon
 * compiles it), sinks are real sink objects over do-nothing ops that are
 * never started, and the indications are the bundled samples parsed with
 * cimxml_parse, optionally edited by string replacement.
 */
#include "autoconf.h"

#include <check.h>

#include "testutil.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "buf.h"
#include "cimxml.h"
#include "config.h"
#include "log.h"
#include "record.h"
#include "router.h"
#include "sink.h"
#include "xmalloc.h"

static char *tmpdir;

static void
setup(void)
{
	tmpdir = tu_tmpdir();
	log_init(LOG_ERR, true, "check_router");
}

static void
teardown(void)
{
	tu_rmtree(tmpdir);
	free(tmpdir);
	tmpdir = NULL;
}

/* Sinks that are only names to the router: never started, never written. */
static int
null_open(struct sink *s, char **cause)
{
	return 0;
}

static void
null_close(struct sink *s)
{
}

static const struct sink_ops null_ops = {
    .type = "file",
    .open = null_open,
    .close = null_close,
};

/* A loaded config, its sinks, the router over them and a route. */
struct fix {
	struct config *conf;
	struct sink **sinks;
	size_t nsinks;
	struct router *router;
	struct route *rt;
};

/*
 * "[sink NAME]\ntype = file\npath = DIR/NAME\n" for each name of a
 * space-separated list, then `filters`; loaded, and a router built.
 */
static struct fix *
fix_new(const char *sinknames, const char *filters)
{
	struct config_errors errs = {NULL, 0};
	struct fix *fx;
	char *text, *path, *names, *name, *save = NULL, *cause = NULL;
	struct buf b = BUF_INIT;
	size_t i;

	names = xstrdup(sinknames);
	for (name = strtok_r(names, " ", &save); name != NULL;
	     name = strtok_r(NULL, " ", &save))
		buf_printf(&b, "[sink %s]\ntype = file\npath = %s/%s\n", name,
		    tmpdir, name);
	free(names);
	buf_adds(&b, filters);
	text = buf_steal(&b, NULL);
	xasprintf(&path, "%s/router.conf", tmpdir);
	tu_write_file(path, text, strlen(text));
	fx = xcalloc(1, sizeof *fx);
	fx->conf = config_load(path, &errs);
	if (fx->conf == NULL)
		ck_abort_msg("config errors: %s\n%s",
		    errs.n > 0 ? errs.msgs[0] : "?", text);
	free(path);
	free(text);
	fx->sinks = xcalloc(fx->conf->nsinks + 1, sizeof *fx->sinks);
	for (i = 0; i < fx->conf->nsinks; i++) {
		fx->sinks[i] =
		    sink_new_with_ops(&fx->conf->sinks[i], &null_ops, &cause);
		ck_assert_ptr_nonnull(fx->sinks[i]);
		fx->nsinks++;
	}
	fx->router = router_new(fx->conf, fx->sinks, fx->nsinks, &cause);
	ck_assert_msg(fx->router != NULL, "router_new: %s", cause);
	ck_assert_uint_eq(router_nfilters(fx->router), fx->conf->nfilters);
	ck_assert_uint_eq(router_nsinks(fx->router), fx->nsinks);
	fx->rt = route_new(fx->router);
	return fx;
}

static void
fix_free(struct fix *fx)
{
	size_t i;

	route_free(fx->rt);
	router_free(fx->router);
	for (i = 0; i < fx->nsinks; i++)
		sink_free(fx->sinks[i]);
	free(fx->sinks);
	config_free(fx->conf);
	free(fx);
}

/* Replace every `from` of s by `to` (a new string; s is freed). */
static char *
replace(char *s, const char *from, const char *to)
{
	struct buf b = BUF_INIT;
	const char *p = s, *q;

	while ((q = strstr(p, from)) != NULL) {
		buf_add(&b, p, (size_t)(q - p));
		buf_adds(&b, to);
		p = q + strlen(from);
	}
	buf_adds(&b, p);
	free(s);
	return buf_steal(&b, NULL);
}

/*
 * A sample, edited by pairs of replacements (NULL-terminated), parsed.
 * The message owns the instance.
 */
static struct cimxml_message *
sample(const char *name, ...)
{
	struct cimxml_message *msg = NULL;
	const char *from, *to;
	char *body, *reason = NULL;
	va_list ap;

	body = tu_sample(name, NULL);
	va_start(ap, name);
	while ((from = va_arg(ap, const char *)) != NULL) {
		to = va_arg(ap, const char *);
		body = replace(body, from, to);
	}
	va_end(ap);
	if (cimxml_parse(body, strlen(body), NULL, &msg, &reason) != CIMXML_OK)
		ck_abort_msg("sample %s: %s", name, reason);
	free(body);
	return msg;
}

static const struct record_source src_lab = {.addr = "127.0.0.1",
    .port = 40000,
    .tls = false,
    .user = NULL,
    .path = "/lab/rack4"};
static const struct record_source src_dc = {
    .addr = "10.9.1.4", .port = 40001, .tls = true, .user = "bmc", .path = "/"};

/* Route msg's indication from src; the filters matched, "a,b" style. */
static char *
route(struct fix *fx, const struct cimxml_message *msg,
    const struct record_source *src)
{
	struct record rec;
	struct buf b = BUF_INIT;
	size_t i;

	memset(&rec, 0, sizeof rec);
	rec.seq = 1;
	rec.source = src;
	rec.message_id = msg->id;
	rec.inst = msg->exports[0].indication;
	/* Stale names in the record must not matter. */
	rec.filters = (const char *const[]){"stale"};
	rec.nfilters = 1;
	router_route(fx->router, &rec, fx->rt);
	for (i = 0; i < fx->rt->nfilters; i++)
		buf_printf(&b, "%s%s", i > 0 ? "," : "", fx->rt->filters[i]);
	return buf_steal(&b, NULL);
}

/* The sinks of the last route by name, "x,y" style, in route order. */
static char *
sinks_of(struct fix *fx)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < fx->rt->nsinks; i++) {
		ck_assert_uint_lt(fx->rt->sinks[i], fx->nsinks);
		buf_printf(&b, "%s%s", i > 0 ? "," : "",
		    sink_name(fx->sinks[fx->rt->sinks[i]]));
	}
	return buf_steal(&b, NULL);
}

/* Route and compare both the filters and the sinks. */
static void
expect(struct fix *fx, const struct cimxml_message *msg,
    const struct record_source *src, const char *filters, const char *sinks)
{
	char *f, *s;

	f = route(fx, msg, src);
	s = sinks_of(fx);
	ck_assert_str_eq(f, filters);
	ck_assert_str_eq(s, sinks);
	free(f);
	free(s);
}

START_TEST(test_no_where)
{
	struct fix *fx;
	struct cimxml_message *alert;

	/* Without where a filter matches everything, in file order. */
	fx = fix_new(
	    "x y", "[filter one]\nsinks = x\n[filter two]\nsinks = y, x\n");
	alert = sample("alert-indication.xml", NULL);
	expect(fx, alert, &src_lab, "one,two", "x,y");
	expect(fx, alert, NULL, "one,two", "x,y");
	cimxml_message_free(alert);
	fix_free(fx);
}
END_TEST

START_TEST(test_where)
{
	struct fix *fx;
	struct cimxml_message *alert, *low, *mod;

	fx = fix_new("alerts hw",
	    "[filter critical]\nwhere = PerceivedSeverity >= 6\n"
	    "sinks = alerts\n"
	    "[filter fans]\nsinks = hw\n"
	    "where = __CLASS = 'cim_instmodification' AND\n"
	    "  SourceInstance.__CLASS = 'Acme_Fan' AND\n"
	    "  SourceInstance.OperationalStatus = 6\n");
	alert = sample("alert-indication.xml", NULL);
	low = sample("alert-indication.xml", "<VALUE>6</VALUE>",
	    "<VALUE>5</VALUE>", NULL);
	mod = sample("inst-modification.xml", NULL);
	expect(fx, alert, &src_dc, "critical", "alerts");
	expect(fx, low, &src_dc, "", "");
	expect(fx, mod, &src_dc, "fans", "hw");
	cimxml_message_free(alert);
	cimxml_message_free(low);
	cimxml_message_free(mod);
	fix_free(fx);
}
END_TEST

/* An indication that matches nothing gets an empty route. */
START_TEST(test_no_match)
{
	struct fix *fx;
	struct cimxml_message *alert;

	fx = fix_new("x",
	    "[filter a]\nsinks = x\nwhere = PerceivedSeverity > 6\n"
	    "[filter b]\nsinks = x\nwhere = __CLASS = 'CIM_InstCreation'\n");
	alert = sample("alert-indication.xml", NULL);
	expect(fx, alert, &src_lab, "", "");
	cimxml_message_free(alert);
	fix_free(fx);
}
END_TEST

/* final = yes stops after a match, and only after a match. */
START_TEST(test_final)
{
	struct fix *fx;
	struct cimxml_message *alert, *mod;

	fx = fix_new("x y z",
	    "[filter first]\nsinks = z\nwhere = __CLASS LIKE 'CIM_%'\n"
	    "[filter crit]\nwhere = PerceivedSeverity >= 6\nsinks = x\n"
	    "final = yes\n"
	    "[filter rest]\nsinks = y\n");
	alert = sample("alert-indication.xml", NULL);
	mod = sample("inst-modification.xml", NULL);
	expect(fx, alert, &src_dc, "first,crit", "z,x");
	expect(fx, mod, &src_dc, "first,rest", "z,y");
	cimxml_message_free(alert);
	cimxml_message_free(mod);
	fix_free(fx);

	/* A final filter without where ends everything after it. */
	fx = fix_new("x y", "[filter all]\nsinks = x\nfinal = yes\n[filter "
			    "never]\nsinks = y\n");
	mod = sample("inst-modification.xml", NULL);
	expect(fx, mod, NULL, "all", "x");
	cimxml_message_free(mod);
	fix_free(fx);
}
END_TEST

/* The union of the matched filters' sinks, each sink once. */
START_TEST(test_union_once)
{
	struct fix *fx;
	struct cimxml_message *alert, *mod;

	fx = fix_new("x y z w",
	    "[filter a]\nsinks = y, x\n"
	    "[filter b]\nsinks = x, z, y\nwhere = PerceivedSeverity = 6\n"
	    "[filter c]\nsinks = z, x\n"
	    "[filter d]\nsinks = w\nwhere = __CLASS = 'Nope'\n");
	alert = sample("alert-indication.xml", NULL);
	mod = sample("inst-modification.xml", NULL);
	expect(fx, alert, &src_dc, "a,b,c", "y,x,z");
	expect(fx, mod, &src_dc, "a,c", "y,x,z");
	/* A route is reused: nothing of the previous result remains. */
	fix_free(fx);
	fx = fix_new("x y", "[filter a]\nsinks = x\nwhere = AlertType = 2\n"
			    "[filter b]\nsinks = y\n");
	expect(fx, alert, &src_dc, "a,b", "x,y");
	expect(fx, mod, &src_dc, "b", "y");
	expect(fx, alert, &src_dc, "a,b", "x,y");
	cimxml_message_free(alert);
	cimxml_message_free(mod);
	fix_free(fx);
}
END_TEST

/* __FILTERS sees the filters matched so far, and only those. */
START_TEST(test_filters_pseudo)
{
	struct fix *fx;
	struct cimxml_message *alert, *low;

	fx = fix_new("x y z w",
	    "[filter early]\nsinks = w\nwhere = __FILTERS = 'critical'\n"
	    "[filter critical]\nsinks = x\nwhere = PerceivedSeverity >= 6\n"
	    "[filter page]\nsinks = y\nwhere = __FILTERS = 'critical'\n"
	    "[filter quiet]\nsinks = z\n"
	    "where = NOT (__FILTERS = 'critical' OR __FILTERS = 'page')\n"
	    "[filter self]\nsinks = w\nwhere = __FILTERS = 'self'\n"
	    "[filter many]\nsinks = w\n"
	    "where = __FILTERS = 'page' AND __FILTERS = 'critical'\n");
	alert = sample("alert-indication.xml", NULL);
	low = sample("alert-indication.xml", "<VALUE>6</VALUE>",
	    "<VALUE>2</VALUE>", NULL);
	expect(fx, alert, &src_dc, "critical,page,many", "x,y,w");
	expect(fx, low, &src_dc, "quiet", "z");
	cimxml_message_free(alert);
	cimxml_message_free(low);
	fix_free(fx);
}
END_TEST

/* __SOURCE, __PATH and __USER come from the record's source. */
START_TEST(test_source)
{
	struct fix *fx;
	struct cimxml_message *alert;

	fx = fix_new("lab dc anon",
	    "[filter lab]\nsinks = lab\n"
	    "where = __SOURCE LIKE '127.%' AND __PATH LIKE '/lab/%'\n"
	    "[filter dc]\nsinks = dc\nwhere = __SOURCE LIKE '10.9.%'\n"
	    "[filter anon]\nsinks = anon\nwhere = __USER IS NULL\n");
	alert = sample("alert-indication.xml", NULL);
	expect(fx, alert, &src_lab, "lab,anon", "lab,anon");
	expect(fx, alert, &src_dc, "dc", "dc");
	cimxml_message_free(alert);
	fix_free(fx);
}
END_TEST

/* Many filters, all matching: the route has room for every one. */
START_TEST(test_capacity)
{
	struct fix *fx;
	struct cimxml_message *alert;
	struct buf b = BUF_INIT, want = BUF_INIT;
	char *conf;
	int i;

	for (i = 0; i < 40; i++) {
		buf_printf(&b, "[filter f%d]\nsinks = s%d, s0\n%s", i, i % 7,
		    i % 2 ? "where = AlertType = 2\n" : "");
		buf_printf(&want, "%sf%d", i > 0 ? "," : "", i);
	}
	conf = buf_steal(&b, NULL);
	fx = fix_new("s0 s1 s2 s3 s4 s5 s6", conf);
	alert = sample("alert-indication.xml", NULL);
	expect(fx, alert, &src_dc, want.data, "s0,s1,s2,s3,s4,s5,s6");
	cimxml_message_free(alert);
	fix_free(fx);
	free(conf);
	buf_free(&want);
}
END_TEST

/* A filter naming a sink the daemon did not create: router_new refuses. */
START_TEST(test_unknown_sink)
{
	struct fix *fx;
	struct router *r;
	char *cause = NULL;

	fx = fix_new("x y", "[filter a]\nsinks = x\n[filter b]\nsinks = y\n");
	r = router_new(fx->conf, fx->sinks, 1, &cause);
	ck_assert_ptr_null(r);
	ck_assert_str_eq(cause, "filter b: unknown sink 'y'");
	free(cause);
	fix_free(fx);
}
END_TEST

static Suite *
router_suite(void)
{
	Suite *s = suite_create("router");
	TCase *tc = tcase_create("router");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_no_where);
	tcase_add_test(tc, test_where);
	tcase_add_test(tc, test_no_match);
	tcase_add_test(tc, test_final);
	tcase_add_test(tc, test_union_once);
	tcase_add_test(tc, test_filters_pseudo);
	tcase_add_test(tc, test_source);
	tcase_add_test(tc, test_capacity);
	tcase_add_test(tc, test_unknown_sink);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(router_suite());
}
