/*
 * fuzz_cimxml.c: libFuzzer target for the CIM-XML parser. Each input is
 * parsed one-shot (and the result walked, so that every pointer in it is
 * touched), then fed again through the push interface in chunks whose
 * sizes come from a hash of the input, the last one through
 * cimxml_parser_feed_last for half the inputs; both must give the same
 * status.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cimxml.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static size_t walk_instance(const struct cim_instance *, unsigned);

/* Where checksums go, so that the walks are not optimised away. */
volatile size_t fuzz_cimxml_sink;

/* Touch every byte reachable from a value; returns a checksum. */
static size_t
walk_value(enum cim_type t, const struct cim_value *v, unsigned depth)
{
	if (v->null)
		return 1;
	switch (t) {
	case CIM_BOOLEAN:
		return v->v.b;
	case CIM_REAL32:
	case CIM_REAL64:
		return v->v.r != 0;
	case CIM_INSTANCE:
		if (depth > 64)
			abort();
		return walk_instance(v->v.inst, depth + 1);
	case CIM_CHAR16:
	case CIM_STRING:
	case CIM_DATETIME:
	case CIM_REFERENCE:
		return strlen(v->v.str);
	default:
		if (cim_type_name(t) == NULL)
			abort();
		return (size_t)v->v.u;
	}
}

static size_t
walk_instance(const struct cim_instance *inst, unsigned depth)
{
	size_t i, j, sum = strlen(inst->classname);

	for (i = 0; i < inst->nprops; i++) {
		const struct cim_property *p = &inst->props[i];

		sum += strlen(p->name);
		if (p->null && p->count != 0)
			abort();
		if (!p->array && !p->null && p->count != 1)
			abort();
		for (j = 0; j < p->count; j++)
			sum += walk_value(p->type, &p->values[j], depth);
		if (cim_instance_get(inst, p->name) != p)
			abort(); /* names are unique */
	}
	return sum;
}

static size_t
walk_message(const struct cimxml_message *m)
{
	size_t i, sum;

	sum = strlen(m->id) + strlen(m->protocol_version) +
	      strlen(m->cim_version) + strlen(m->dtd_version);
	if (m->nexports == 0 || (!m->multi && m->nexports != 1))
		abort();
	for (i = 0; i < m->nexports; i++) {
		const struct cimxml_export *e = &m->exports[i];

		sum += strlen(e->method);
		if (e->cim_error != 0) {
			if (e->indication != NULL ||
			    e->error_description == NULL)
				abort();
			sum += strlen(e->error_description);
		} else {
			if (e->indication == NULL)
				abort();
			sum += walk_instance(e->indication, 0);
		}
	}
	return sum;
}

/* A reason is one line of at most 200 bytes of printable UTF-8. */
static void
check_reason(const char *r)
{
	const unsigned char *s = (const unsigned char *)r;
	size_t n, i;

	if (strlen(r) > 200)
		abort();
	while (*s != '\0') {
		if (*s < 0x20 || *s == 0x7f || (*s >= 0x80 && *s < 0xc2) ||
		    *s > 0xf4)
			abort();
		n = *s < 0x80 ? 1 : *s < 0xe0 ? 2 : *s < 0xf0 ? 3 : 4;
		for (i = 1; i < n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				abort();
		}
		s += n;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cimxml_limits lim = {32, 3};
	struct cimxml_message *m, *m2;
	struct cimxml_parser *p;
	enum cimxml_status st, st2;
	uint32_t h = 2166136261u;
	size_t off, n, i;
	char *reason;

	st = cimxml_parse((const char *)data, size, &lim, &m, &reason);
	if (st == CIMXML_OK) {
		if (m == NULL || reason != NULL)
			abort();
		fuzz_cimxml_sink = walk_message(m);
		cimxml_message_free(m);
	} else {
		if (m != NULL || reason == NULL ||
		    cimxml_status_cimerror(st) == NULL)
			abort();
		check_reason(reason);
		free(reason);
	}

	/*
	 * The same input in chunks of 1..64 bytes, on a libxml2 context that
	 * the one-shot parse (and the inputs before) left for reuse.
	 */
	for (i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619u;
	p = cimxml_parser_new(&lim);
	for (off = 0; off < size; off += n) {
		h = h * 1103515245u + 12345u;
		n = 1 + (h >> 16) % 64;
		if (n > size - off)
			n = size - off;
		/* Half the inputs say which chunk is the last one. */
		if (off + n == size && (h & 0x100) != 0)
			cimxml_parser_feed_last(p, (const char *)data + off, n);
		else
			cimxml_parser_feed(p, (const char *)data + off, n);
	}
	st2 = cimxml_parser_finish(p, &m2);
	check_reason(cimxml_parser_reason(p));
	if (st2 != st)
		abort();
	if (m2 != NULL)
		fuzz_cimxml_sink = walk_message(m2);
	cimxml_message_free(m2);
	cimxml_parser_free(p);
	return 0;
}
