/*
 * filter_bench.c: what a filter costs next to the parse of the indication
 * it is evaluated against. Parses the alert sample N times with
 * cimxml_parse (ns/parse), evaluates the five-clause expression below
 * against it N times (ns/eval), and prints both, the ratio, and PASS when
 * evaluation stays under 5% of the parse (the target of issue 3).
 *
 * Usage: filter_bench [SAMPLE.xml [N]]; the sample defaults to
 * tests/data/samples/alert-indication.xml under SRCDIR (or ".").
 * Each figure is the best of several rounds after a warm-up, on
 * CLOCK_MONOTONIC.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cimxml.h"
#include "filter.h"
#include "record.h"

#ifndef SRCDIR
#define SRCDIR "."
#endif

#define ROUNDS 7
#define TARGET_PERCENT 5.0

static const char expr[] =
    "PerceivedSeverity >= 5 AND MessageID LIKE 'SVPC%' AND "
    "Message MATCHES 'supply [0-9]+' AND OwningEntity IN ('DMTF','SNIA') "
    "AND AlertType IS NOT NULL";

/* Where results go, so that the loops are not optimised away. */
volatile unsigned bench_sink;

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static char *
read_file(const char *path, size_t *lenp)
{
	FILE *f;
	char *data;
	long n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return NULL;
	}
	data = malloc((size_t)n + 1);
	if (data == NULL || fread(data, 1, (size_t)n, f) != (size_t)n) {
		free(data);
		fclose(f);
		return NULL;
	}
	data[n] = '\0';
	fclose(f);
	*lenp = (size_t)n;
	return data;
}

/* Best ns per parse over ROUNDS rounds of n parses. */
static double
bench_parse(const char *body, size_t len, unsigned n)
{
	struct cimxml_message *m;
	double best = 0, t;
	unsigned r, i;

	for (r = 0; r <= ROUNDS; r++) {
		t = now_ns();
		for (i = 0; i < n; i++) {
			if (cimxml_parse(body, len, NULL, &m, NULL) !=
			    CIMXML_OK) {
				fprintf(stderr, "parse failed\n");
				exit(2);
			}
			bench_sink += (unsigned)m->nexports;
			cimxml_message_free(m);
		}
		t = (now_ns() - t) / n;
		if (r > 0 && (best == 0 || t < best)) /* round 0 warms up */
			best = t;
	}
	return best;
}

/* Best ns per evaluation over ROUNDS rounds of n evaluations. */
static double
bench_eval(const struct filter *f, const struct filter_input *in, unsigned n)
{
	double best = 0, t;
	unsigned r, i;

	for (r = 0; r <= ROUNDS; r++) {
		t = now_ns();
		for (i = 0; i < n; i++)
			bench_sink += filter_match(f, in);
		t = (now_ns() - t) / n;
		if (r > 0 && (best == 0 || t < best))
			best = t;
	}
	return best;
}

int
main(int argc, char **argv)
{
	const char *path = SRCDIR "/tests/data/samples/alert-indication.xml";
	static const struct record_source src = {
	    "10.1.2.3", 49152, true, "bmc4", "/cimlisten/bmc4"};
	struct filter_input in = {NULL, &src, NULL, 0};
	struct cimxml_message *m;
	struct filter_error err;
	struct filter *f;
	double parse_ns, eval_ns, pct;
	unsigned n = 20000;
	size_t len;
	char *body;

	if (argc > 1)
		path = argv[1];
	if (argc > 2 && (n = (unsigned)strtoul(argv[2], NULL, 10)) == 0)
		n = 20000;
	if ((body = read_file(path, &len)) == NULL) {
		perror(path);
		return 2;
	}
	if ((f = filter_compile(expr, &err)) == NULL) {
		filter_error_print(stderr, expr, &err, true);
		return 2;
	}
	if (cimxml_parse(body, len, NULL, &m, NULL) != CIMXML_OK) {
		fprintf(stderr, "%s: does not parse\n", path);
		return 2;
	}
	in.inst = m->exports[0].indication;
	if (!filter_match(f, &in)) {
		fprintf(stderr, "the expression does not match %s\n", path);
		return 2;
	}

	parse_ns = bench_parse(body, len, n);
	eval_ns = bench_eval(f, &in, n * 20);
	pct = 100.0 * eval_ns / parse_ns;
	printf("sample:     %s (%zu bytes)\n", path, len);
	printf("expression: %s\n", expr);
	printf("parse:      %.0f ns/parse\n", parse_ns);
	printf("eval:       %.1f ns/eval\n", eval_ns);
	printf("ratio:      %.2f%% (target < %.0f%%)\n", pct, TARGET_PERCENT);
	printf("%s\n", pct < TARGET_PERCENT ? "PASS" : "FAIL");

	cimxml_message_free(m);
	filter_free(f);
	free(body);
	return pct < TARGET_PERCENT ? 0 : 1;
}
