/*
 * ctl_send.c: `cimlistenctl send URL`, which posts test indications to a
 * CIM listener as a WBEM server would (DSP0200 ExportIndication), like
 * `pywbemlistener test`, and doubles as a load generator.
 *
 * The body is a CIM_AlertIndication (or --class) with a few properties
 * (replaced or extended by --property NAME=[TYPE:]VALUE), a new MESSAGE ID
 * and IndicationIdentifier for each request; or --file BODY, sent as it
 * is. --count requests go out over --concurrency connections kept alive
 * (libcurl's multi interface, one easy handle a connection, each reused
 * for its next request). The summary counts answers by HTTP status and
 * CIMError header, transport failures by their error text, and gives the
 * rate and latency percentiles.
 *
 * Exit status: 0 every request was answered 200, 1 some were not, 2 usage
 * error, 3 the body file could not be read.
 */
#include "autoconf.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cim.h"
#include "ctl_send.h"
#include "record.h"
#include "xmalloc.h"

#define SEND_EXIT_FAIL 1
#define SEND_EXIT_USAGE 2
#define SEND_EXIT_INPUT 3
#define SEND_MAX_CONCURRENCY 1024

struct send_prop {
	char *name;
	const char *type;              /* DSP0201 TYPE */
	char *value;
};

/* One answer kind and how often it came. */
struct send_count {
	char *key;                     /* "200", "400 request-not-well-formed", "error: ..." */
	unsigned long n;
};

struct send_conn {
	CURL *easy;
	struct curl_slist *headers;
	struct buf body;
	char cimerror[128];            /* CIMError header of the answer */
	struct timespec start;
	bool busy;
};

struct send {
	const char *url;
	const char *classname;
	struct send_prop *props;
	size_t nprops;
	char *file_body;               /* --file, or NULL */
	size_t file_len;
	unsigned long count;
	unsigned concurrency;
	long timeout;
	const char *cacert, *cert, *key, *user;
	bool insecure;
	bool json;

	unsigned long started, done, ok;
	double *latency;               /* ms, one per finished request */
	struct send_count *counts;
	size_t ncounts;
};

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Append s with the five XML escapes. */
static void
xml_escape(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '<': buf_adds(b, "&lt;"); break;
		case '>': buf_adds(b, "&gt;"); break;
		case '&': buf_adds(b, "&amp;"); break;
		case '"': buf_adds(b, "&quot;"); break;
		case '\'': buf_adds(b, "&apos;"); break;
		default: buf_addc(b, *s); break;
		}
	}
}

static void
prop_set(struct send *sd, const char *name, const char *type,
    const char *value)
{
	size_t i;

	for (i = 0; i < sd->nprops; i++) {
		if (strcasecmp(sd->props[i].name, name) == 0)
			break;
	}
	if (i == sd->nprops) {
		sd->props = xreallocarray(sd->props, sd->nprops + 1,
		    sizeof *sd->props);
		sd->props[sd->nprops++].name = xstrdup(name);
	} else
		free(sd->props[i].value);
	sd->props[i].type = type;
	sd->props[i].value = xstrdup(value);
}

/*
 * --property NAME=[TYPE:]VALUE. TYPE is taken when what precedes the
 * first ':' is a CIM type name; otherwise the whole is a string value.
 * Returns NULL or an error message.
 */
static const char *
prop_parse(struct send *sd, const char *spec)
{
	const char *eq = strchr(spec, '='), *colon, *type = "string";
	char *name, *tname;
	enum cim_type t;

	if (eq == NULL || eq == spec)
		return "expected NAME=[TYPE:]VALUE";
	name = xstrndup(spec, (size_t)(eq - spec));
	if (strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_") != strlen(name)) {
		free(name);
		return "property names are letters, digits and _";
	}
	eq++;
	if ((colon = strchr(eq, ':')) != NULL) {
		tname = xstrndup(eq, (size_t)(colon - eq));
		t = cim_type_parse(tname);
		free(tname);
		if (t == CIM_REFERENCE || t == CIM_INSTANCE) {
			free(name);
			return "reference and instance properties cannot be "
			    "given with --property";
		}
		if (t != CIM_NONE) {
			type = cim_type_name(t);
			eq = colon + 1;
		}
	}
	prop_set(sd, name, type, eq);
	free(name);
	return NULL;
}

/* DSP0201 datetime of now, UTC. */
static void
datetime_now(char out[64])
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(out, 64, "%04d%02d%02d%02d%02d%02d.%06ld+000",
	    (tm.tm_year + 1900) % 10000, tm.tm_mon + 1, tm.tm_mday,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000 % 1000000);
}

/* The ExportIndication body of request number n (from 1). */
static void
body_build(struct send *sd, unsigned long n, struct buf *b)
{
	char id[64], when[64];
	size_t i;

	buf_reset(b);
	if (sd->file_body != NULL) {
		buf_add(b, sd->file_body, sd->file_len);
		return;
	}
	snprintf(id, sizeof id, "cimlistenctl-%ld-%lu", (long)getpid(), n);
	datetime_now(when);
	buf_printf(b, "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n"
	    "<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.4\">"
	    "<MESSAGE ID=\"%lu\" PROTOCOLVERSION=\"1.4\"><SIMPLEEXPREQ>"
	    "<EXPMETHODCALL NAME=\"ExportIndication\">"
	    "<EXPPARAMVALUE NAME=\"NewIndication\"><INSTANCE CLASSNAME=\"", n);
	xml_escape(b, sd->classname);
	buf_adds(b, "\">");
	for (i = 0; i < sd->nprops; i++) {
		const struct send_prop *p = &sd->props[i];
		const char *v = p->value;

		/* Placeholders filled per request. */
		if (strcmp(v, "@ID") == 0)
			v = id;
		else if (strcmp(v, "@NOW") == 0)
			v = when;
		buf_adds(b, "<PROPERTY NAME=\"");
		xml_escape(b, p->name);
		buf_printf(b, "\" TYPE=\"%s\"><VALUE>", p->type);
		xml_escape(b, v);
		buf_adds(b, "</VALUE></PROPERTY>");
	}
	buf_adds(b, "</INSTANCE></EXPPARAMVALUE></EXPMETHODCALL>"
	    "</SIMPLEEXPREQ></MESSAGE></CIM>\n");
}

static void
count_add(struct send *sd, const char *key)
{
	size_t i;

	for (i = 0; i < sd->ncounts; i++) {
		if (strcmp(sd->counts[i].key, key) == 0) {
			sd->counts[i].n++;
			return;
		}
	}
	sd->counts = xreallocarray(sd->counts, sd->ncounts + 1,
	    sizeof *sd->counts);
	sd->counts[sd->ncounts].key = xstrdup(key);
	sd->counts[sd->ncounts++].n = 1;
}

static size_t
on_header(char *data, size_t size, size_t n, void *arg)
{
	struct send_conn *c = arg;
	size_t len = size * n, k;

	if (len > 9 && strncasecmp(data, "CIMError:", 9) == 0) {
		data += 9;
		len -= 9;
		while (len > 0 && (*data == ' ' || *data == '\t')) {
			data++;
			len--;
		}
		while (len > 0 && (data[len - 1] == '\r' ||
		    data[len - 1] == '\n' || data[len - 1] == ' '))
			len--;
		k = len < sizeof c->cimerror - 1 ? len : sizeof c->cimerror - 1;
		memcpy(c->cimerror, data, k);
		c->cimerror[k] = '\0';
	}
	return size * n;
}

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	(void)data;
	(void)arg;
	return size * n;
}

static int
conn_init(struct send *sd, struct send_conn *c)
{
	CURL *e;

	memset(c, 0, sizeof *c);
	if ((c->easy = e = curl_easy_init()) == NULL)
		return -1;
	c->headers = curl_slist_append(c->headers,
	    "Content-Type: application/xml; charset=\"utf-8\"");
	c->headers = curl_slist_append(c->headers, "CIMExport: MethodRequest");
	c->headers = curl_slist_append(c->headers,
	    "CIMExportMethod: ExportIndication");
	c->headers = curl_slist_append(c->headers, "Expect:");
	curl_easy_setopt(e, CURLOPT_URL, sd->url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_PRIVATE, c);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, sd->timeout);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "cimlistenctl/" PACKAGE_VERSION);
	if (sd->cacert != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, sd->cacert);
	if (sd->cert != NULL)
		curl_easy_setopt(e, CURLOPT_SSLCERT, sd->cert);
	if (sd->key != NULL)
		curl_easy_setopt(e, CURLOPT_SSLKEY, sd->key);
	if (sd->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (sd->user != NULL) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERPWD, sd->user);
	}
	return 0;
}

static void
conn_free(struct send_conn *c)
{
	if (c->easy != NULL)
		curl_easy_cleanup(c->easy);
	curl_slist_free_all(c->headers);
	buf_free(&c->body);
}

/* Start the next request on c. */
static void
conn_start(struct send *sd, CURLM *multi, struct send_conn *c)
{
	sd->started++;
	body_build(sd, sd->started, &c->body);
	c->cimerror[0] = '\0';
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, c->body.data);
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)c->body.len);
	clock_gettime(CLOCK_MONOTONIC, &c->start);
	c->busy = true;
	curl_multi_add_handle(multi, c->easy);
}

static void
conn_done(struct send *sd, CURLM *multi, struct send_conn *c, CURLcode rc)
{
	struct timespec end;
	char key[192];
	long status = 0;

	clock_gettime(CLOCK_MONOTONIC, &end);
	curl_multi_remove_handle(multi, c->easy);
	c->busy = false;
	sd->latency[sd->done++] = (double)(end.tv_sec - c->start.tv_sec) *
	    1e3 + (double)(end.tv_nsec - c->start.tv_nsec) / 1e6;
	if (rc != CURLE_OK) {
		snprintf(key, sizeof key, "error: %s", curl_easy_strerror(rc));
		count_add(sd, key);
		return;
	}
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status == 200 && c->cimerror[0] == '\0')
		sd->ok++;
	if (c->cimerror[0] != '\0')
		snprintf(key, sizeof key, "%ld %s", status, c->cimerror);
	else
		snprintf(key, sizeof key, "%ld", status);
	count_add(sd, key);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The p-th percentile (0..100) of sorted v[0..n), nearest rank. */
static double
percentile(const double *v, unsigned long n, double p)
{
	unsigned long k;

	if (n == 0)
		return 0;
	k = (unsigned long)ceil(p / 100.0 * (double)n);
	if (k == 0)
		k = 1;
	return v[k - 1];
}

static void
report(struct send *sd, double secs)
{
	double rate = secs > 0 ? (double)sd->done / secs : 0;
	double p50, p90, p99, max;
	size_t i;

	qsort(sd->latency, sd->done, sizeof *sd->latency, cmp_double);
	p50 = percentile(sd->latency, sd->done, 50);
	p90 = percentile(sd->latency, sd->done, 90);
	p99 = percentile(sd->latency, sd->done, 99);
	max = sd->done > 0 ? sd->latency[sd->done - 1] : 0;
	if (sd->json) {
		struct buf b = BUF_INIT;

		buf_printf(&b, "{\"url\":");
		record_json_string(&b, sd->url);
		buf_printf(&b, ",\"sent\":%lu,\"ok\":%lu,\"seconds\":%.6f,"
		    "\"rate\":%.1f,\"answers\":{", sd->done, sd->ok, secs, rate);
		for (i = 0; i < sd->ncounts; i++) {
			if (i > 0)
				buf_addc(&b, ',');
			record_json_string(&b, sd->counts[i].key);
			buf_printf(&b, ":%lu", sd->counts[i].n);
		}
		buf_printf(&b, "},\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,"
		    "\"p99\":%.3f,\"max\":%.3f}}\n", p50, p90, p99, max);
		fputs(b.data, stdout);
		buf_free(&b);
		return;
	}
	printf("sent %lu requests to %s in %.3f s: %.0f/s, "
	    "concurrency %u\n", sd->done, sd->url, secs, rate,
	    sd->concurrency);
	for (i = 0; i < sd->ncounts; i++)
		printf("  %-40s %lu\n", sd->counts[i].key, sd->counts[i].n);
	printf("latency ms: p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n", p50,
	    p90, p99, max);
}

/* Drive every request to its end. */
static void
run(struct send *sd, struct send_conn *conns, CURLM *multi)
{
	struct CURLMsg *msg;
	unsigned i;
	int running, left;

	for (i = 0; i < sd->concurrency && sd->started < sd->count; i++)
		conn_start(sd, multi, &conns[i]);
	while (sd->done < sd->count) {
		curl_multi_perform(multi, &running);
		while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
			struct send_conn *c;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
			    (char **)&c);
			conn_done(sd, multi, c, msg->data.result);
			if (sd->started < sd->count)
				conn_start(sd, multi, c);
		}
		if (sd->done < sd->count)
			curl_multi_poll(multi, NULL, 0, 1000, NULL);
	}
}

static void
send_usage(FILE *f)
{
	fprintf(f,
	    "usage: cimlistenctl send [options] URL\n"
	    "\n"
	    "Post test indications (DSP0200 ExportIndication) to URL.\n"
	    "\n"
	    "  --class NAME             indication class (CIM_AlertIndication)\n"
	    "  --property NAME=[TYPE:]VALUE\n"
	    "                           add or replace a property (repeatable)\n"
	    "  --file BODY.xml          send this body instead\n"
	    "  -n, --count N            requests to send (1)\n"
	    "  -c, --concurrency C      connections, kept alive (1)\n"
	    "  --timeout SECONDS        per request (30)\n"
	    "  --cacert FILE            CA certificates for https\n"
	    "  --cert FILE, --key FILE  client certificate and key\n"
	    "  -k, --insecure           do not verify the server certificate\n"
	    "  -u, --user USER:PASSWORD basic authentication\n"
	    "  --json                   summary as one JSON object\n");
}

/* A positive number within [1, max]; false if it is not one. */
static bool
parse_count(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	if (*s < '0' || *s > '9')
		return false;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > max)
		return false;
	*out = v;
	return true;
}

static void
send_free(struct send *sd)
{
	size_t i;

	for (i = 0; i < sd->nprops; i++) {
		free(sd->props[i].name);
		free(sd->props[i].value);
	}
	free(sd->props);
	for (i = 0; i < sd->ncounts; i++)
		free(sd->counts[i].key);
	free(sd->counts);
	free(sd->latency);
	free(sd->file_body);
}

static int __attribute__((format(printf, 3, 4)))
send_error(struct send *sd, int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "cimlistenctl send: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	if (status == SEND_EXIT_USAGE)
		fprintf(stderr, "'cimlistenctl send --help' lists the "
		    "options\n");
	send_free(sd);
	return status;
}

static int
read_body(struct send *sd, const char *path)
{
	struct buf b = BUF_INIT;
	char tmp[65536];
	size_t n;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		buf_add(&b, tmp, n);
	if (ferror(f)) {
		fclose(f);
		buf_free(&b);
		return -1;
	}
	fclose(f);
	sd->file_len = b.len;
	sd->file_body = buf_steal(&b, NULL);
	return 0;
}

int
ctl_send(int argc, char **argv, bool json)
{
	enum { O_CLASS = 256, O_PROPERTY, O_FILE, O_TIMEOUT, O_CACERT,
	    O_CERT, O_KEY, O_JSON };
	static const struct option longopts[] = {
		{ "class", required_argument, NULL, O_CLASS },
		{ "property", required_argument, NULL, O_PROPERTY },
		{ "file", required_argument, NULL, O_FILE },
		{ "count", required_argument, NULL, 'n' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "cacert", required_argument, NULL, O_CACERT },
		{ "cert", required_argument, NULL, O_CERT },
		{ "key", required_argument, NULL, O_KEY },
		{ "insecure", no_argument, NULL, 'k' },
		{ "user", required_argument, NULL, 'u' },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct send sd;
	struct send_conn *conns;
	CURLM *multi;
	const char *err;
	unsigned long v;
	double t0, secs;
	unsigned i;
	int ch, status;

	memset(&sd, 0, sizeof sd);
	sd.json = json;
	sd.classname = "CIM_AlertIndication";
	sd.count = 1;
	sd.concurrency = 1;
	sd.timeout = 30;
	/* As pywbemlistener test sends, give or take. */
	prop_set(&sd, "IndicationIdentifier", "string", "@ID");
	prop_set(&sd, "IndicationTime", "datetime", "@NOW");
	prop_set(&sd, "AlertType", "uint16", "1");
	prop_set(&sd, "OtherAlertType", "string", "cimlistenctl test");
	prop_set(&sd, "PerceivedSeverity", "uint16", "2");
	prop_set(&sd, "Description", "string",
	    "Test indication sent by cimlistenctl");

	optind = 0; /* full re-initialisation (glibc) */
	while ((ch = getopt_long(argc, argv, "+n:c:ku:h", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case O_CLASS:
			if (*optarg == '\0' || strspn(optarg, "ABCDEFGHIJKLM"
			    "NOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
			    != strlen(optarg))
				return send_error(&sd, SEND_EXIT_USAGE,
				    "bad class name '%s'", optarg);
			sd.classname = optarg;
			break;
		case O_PROPERTY:
			if ((err = prop_parse(&sd, optarg)) != NULL)
				return send_error(&sd, SEND_EXIT_USAGE,
				    "--property %s: %s", optarg, err);
			break;
		case O_FILE:
			if (read_body(&sd, optarg) == -1)
				return send_error(&sd, SEND_EXIT_INPUT,
				    "%s: %s", optarg, strerror(errno));
			break;
		case 'n':
			if (!parse_count(optarg, 1000000000UL, &sd.count))
				return send_error(&sd, SEND_EXIT_USAGE,
				    "bad --count '%s'", optarg);
			break;
		case 'c':
			if (!parse_count(optarg, SEND_MAX_CONCURRENCY, &v))
				return send_error(&sd, SEND_EXIT_USAGE,
				    "bad --concurrency '%s' (1-1024)", optarg);
			sd.concurrency = (unsigned)v;
			break;
		case O_TIMEOUT:
			if (!parse_count(optarg, 86400, &v))
				return send_error(&sd, SEND_EXIT_USAGE,
				    "bad --timeout '%s'", optarg);
			sd.timeout = (long)v;
			break;
		case O_CACERT: sd.cacert = optarg; break;
		case O_CERT: sd.cert = optarg; break;
		case O_KEY: sd.key = optarg; break;
		case 'k': sd.insecure = true; break;
		case 'u': sd.user = optarg; break;
		case O_JSON: sd.json = true; break;
		case 'h':
			send_usage(stdout);
			send_free(&sd);
			return 0;
		default:
			send_free(&sd);
			send_usage(stderr);
			return SEND_EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		return send_error(&sd, SEND_EXIT_USAGE, "%s",
		    optind == argc ? "no URL given" : "one URL only");
	sd.url = argv[optind];
	if (strncasecmp(sd.url, "http://", 7) != 0 &&
	    strncasecmp(sd.url, "https://", 8) != 0)
		return send_error(&sd, SEND_EXIT_USAGE,
		    "URL must start with http:// or https://: %s", sd.url);
	if (sd.concurrency > sd.count)
		sd.concurrency = (unsigned)sd.count;
	sd.latency = xreallocarray(NULL, sd.count, sizeof *sd.latency);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 ||
	    (multi = curl_multi_init()) == NULL)
		return send_error(&sd, SEND_EXIT_FAIL,
		    "cannot initialise libcurl");
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)sd.concurrency);
	conns = xcalloc(sd.concurrency, sizeof *conns);
	for (i = 0; i < sd.concurrency; i++) {
		if (conn_init(&sd, &conns[i]) == -1) {
			fprintf(stderr, "cimlistenctl send: cannot create a "
			    "libcurl handle\n");
			status = SEND_EXIT_FAIL;
			goto out;
		}
	}
	t0 = now_sec();
	run(&sd, conns, multi);
	secs = now_sec() - t0;
	report(&sd, secs);
	status = sd.ok == sd.count ? 0 : SEND_EXIT_FAIL;
	if (fflush(stdout) != 0 || ferror(stdout))
		status = SEND_EXIT_INPUT;
out:
	for (i = 0; i < sd.concurrency; i++)
		conn_free(&conns[i]);
	free(conns);
	curl_multi_cleanup(multi);
	curl_global_cleanup();
	send_free(&sd);
	return status;
}
