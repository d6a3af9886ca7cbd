/*
 * check_seqtrack.c: unit tests of seqtrack.c (DSP1054 reliable-indication
 * tracking). Indications are the bundled null-and-empty.xml sample parsed
 * with cimxml_parse, with SequenceNumber, SequenceContext, their TYPE and
 * the MESSAGE ID edited by string replacement, or (for the numeric edge
 * cases and the threads) minimal instances built by hand. "Delivering" is
 * what dispatch does: check, append to the spool unless a duplicate,
 * commit.
 */
#include "autoconf.h"

#include <check.h>

#include "testutil.h"
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "buf.h"
#include "cim.h"
#include "cimxml.h"
#include "log.h"
#include "seqtrack.h"
#include "xmalloc.h"

#define CTX "acme:host-a#20261101120000#20261101115959"

static void
setup(void)
{
	log_init(LOG_ERR, true, "check_seqtrack");
}

/* Replace the first `from` of s by `to` (a new string; s is freed). */
static char *
replace(char *s, const char *from, const char *to)
{
	struct buf b = BUF_INIT;
	char *q;

	q = strstr(s, from);
	ck_assert_msg(q != NULL, "no \"%s\" in the sample", from);
	buf_add(&b, s, (size_t)(q - s));
	buf_adds(&b, to);
	buf_adds(&b, q + strlen(from));
	free(s);
	return buf_steal(&b, NULL);
}

/* Set the text of the first VALUE after property `prop` (a new string). */
static char *
set_value(char *s, const char *prop, const char *value)
{
	struct buf b = BUF_INIT;
	char name[128], *p, *v, *e;

	snprintf(name, sizeof name, "NAME=\"%s\"", prop);
	p = strstr(s, name);
	ck_assert_ptr_nonnull(p);
	v = strstr(p, "<VALUE>");
	ck_assert_ptr_nonnull(v);
	v += strlen("<VALUE>");
	e = strstr(v, "</VALUE>");
	ck_assert_ptr_nonnull(e);
	buf_add(&b, s, (size_t)(v - s));
	buf_adds(&b, value);
	buf_adds(&b, e);
	free(s);
	return buf_steal(&b, NULL);
}

static struct cimxml_message *
parse(const char *body)
{
	struct cimxml_message *msg = NULL;
	char *reason = NULL;
	enum cimxml_status rc;

	rc = cimxml_parse(body, strlen(body), NULL, &msg, &reason);
	ck_assert_msg(rc == CIMXML_OK, "parse: %s", reason ? reason : "?");
	ck_assert_uint_eq(msg->nexports, 1);
	ck_assert_ptr_nonnull(msg->exports[0].indication);
	return msg;
}

/*
 * The null-and-empty sample with SequenceNumber `number` and context `ctx`
 * (NULL: unchanged) and MESSAGE ID `id` (NULL: unchanged), parsed.
 */
static struct cimxml_message *
sample(const char *number, const char *ctx, const char *id)
{
	struct cimxml_message *msg;
	char *s, idattr[64];

	s = tu_sample("null-and-empty.xml", NULL);
	if (number != NULL)
		s = set_value(s, "SequenceNumber", number);
	if (ctx != NULL)
		s = set_value(s, "SequenceContext", ctx);
	if (id != NULL) {
		snprintf(idattr, sizeof idattr, "ID=\"%s\"", id);
		s = replace(s, "ID=\"7\"", idattr);
	}
	msg = parse(s);
	free(s);
	return msg;
}

static const struct cim_instance *
ind(const struct cimxml_message *msg)
{
	return msg->exports[0].indication;
}

/* What dispatch does with one indication; true if it was delivered. */
static bool
deliver(struct seqtrack *st, const char *addr, const struct cim_instance *inst)
{
	enum seqtrack_verdict v;

	v = seqtrack_check(st, addr, inst);
	/* Here dispatch appends to the spool unless v is SEQ_DUPLICATE. */
	seqtrack_commit(st, addr, inst, v);
	return v != SEQ_DUPLICATE;
}

/* Deliver sample number `number` (context unchanged) from addr. */
static enum seqtrack_verdict
deliver_sample(struct seqtrack *st, const char *addr, const char *number)
{
	struct cimxml_message *msg = sample(number, NULL, NULL);
	enum seqtrack_verdict v;

	v = seqtrack_check(st, addr, ind(msg));
	seqtrack_commit(st, addr, ind(msg), v);
	cimxml_message_free(msg);
	return v;
}

/* A hand-built indication with only the two DSP1054 properties. */
struct tinst {
	struct cim_value vctx, vnum;
	struct cim_property props[2];
	struct cim_instance inst;
};

static const struct cim_instance *
mkinst(struct tinst *ti, const char *ctx, uint64_t n)
{
	memset(ti, 0, sizeof *ti);
	ti->vctx.v.str = ctx;
	ti->vnum.v.s = (int64_t)n;
	ti->props[0].name = "SequenceContext";
	ti->props[0].type = CIM_STRING;
	ti->props[0].count = 1;
	ti->props[0].values = &ti->vctx;
	ti->props[1].name = "SequenceNumber";
	ti->props[1].type = CIM_SINT64;
	ti->props[1].count = 1;
	ti->props[1].values = &ti->vnum;
	ti->inst.classname = "CIM_AlertIndication";
	ti->inst.nprops = 2;
	ti->inst.props = ti->props;
	return &ti->inst;
}

static enum seqtrack_verdict
check_n(struct seqtrack *st, const char *addr, const char *ctx, uint64_t n)
{
	struct tinst ti;

	return seqtrack_check(st, addr, mkinst(&ti, ctx, n));
}

/* Check and commit number n; returns the verdict. */
static enum seqtrack_verdict
put_n(struct seqtrack *st, const char *addr, const char *ctx, uint64_t n)
{
	struct tinst ti;
	const struct cim_instance *inst = mkinst(&ti, ctx, n);
	enum seqtrack_verdict v;

	v = seqtrack_check(st, addr, inst);
	seqtrack_commit(st, addr, inst, v);
	return v;
}

START_TEST(test_sample_sequence)
{
	struct seqtrack *st = seqtrack_new(NULL);
	struct seqtrack_stats s;
	struct cimxml_message *msg;
	const char *a = "10.1.2.3";
	const char *ctx;
	uint64_t n;

	msg = sample(NULL, NULL, NULL);
	ck_assert(seqtrack_key(ind(msg), &ctx, &n));
	ck_assert_str_eq(ctx, CTX);
	ck_assert_uint_eq(n, 3);
	cimxml_message_free(msg);

	ck_assert_int_eq(deliver_sample(st, a, "3"), SEQ_NEW);
	ck_assert_int_eq(deliver_sample(st, a, "3"), SEQ_DUPLICATE);
	ck_assert_int_eq(deliver_sample(st, a, "4"), SEQ_NEW);
	seqtrack_get_stats(st, &s);
	ck_assert_uint_eq(s.gaps, 0);
	ck_assert_int_eq(deliver_sample(st, a, "7"), SEQ_NEW);
	seqtrack_get_stats(st, &s);
	ck_assert_uint_eq(s.gaps, 1);
	ck_assert_uint_eq(s.missing, 2);
	ck_assert_uint_eq(s.out_of_order, 0);
	ck_assert_int_eq(deliver_sample(st, a, "5"), SEQ_NEW);
	ck_assert_int_eq(deliver_sample(st, a, "5"), SEQ_DUPLICATE);
	ck_assert_int_eq(deliver_sample(st, a, "6"), SEQ_NEW);
	ck_assert_int_eq(deliver_sample(st, a, "+8"), SEQ_NEW);

	seqtrack_get_stats(st, &s);
	ck_assert_uint_eq(s.tracked, 6);
	ck_assert_uint_eq(s.duplicates, 2);
	ck_assert_uint_eq(s.gaps, 1);
	ck_assert_uint_eq(s.missing, 2);
	ck_assert_uint_eq(s.out_of_order, 2);
	ck_assert_uint_eq(s.raced, 0);
	ck_assert_uint_eq(s.restarts, 0);
	ck_assert_uint_eq(s.untracked, 0);
	ck_assert_uint_eq(s.keys, 1);
	ck_assert_uint_eq(s.sources, 1);
	seqtrack_free(st);
}
END_TEST

/* The scenario: same numbers, a new MESSAGE ID each time. */
START_TEST(test_three_times)
{
	struct seqtrack *st = seqtrack_new(NULL);
	struct seqtrack_stats s;
	struct seqtrack_source *src;
	struct cimxml_message *msg;
	const char *ids[] = {"1001", "1002", "1"};
	unsigned i, delivered = 0;

	for (i = 0; i < 3; i++) {
		msg = sample(NULL, NULL, ids[i]);
		ck_assert_str_eq(msg->id, ids[i]);
		if (deliver(st, "192.0.2.7", ind(msg)))
			delivered++;
		cimxml_message_free(msg);
	}
	ck_assert_uint_eq(delivered, 1);
	seqtrack_get_stats(st, &s);
	ck_assert_uint_eq(s.duplicates, 2);
	ck_assert_uint_eq(s.tracked, 1);
	ck_assert_uint_eq(seqtrack_snapshot(st, &src), 1);
	ck_assert_uint_eq(src[0].duplicates, 2);
	ck_assert_uint_eq(src[0].tracked, 1);
	free(src);
	seqtrack_free(st);
}
END_TEST

START_TEST(test_separate_sources_and_contexts)
{
	struct seqtrack *st = seqtrack_new(NULL);
	struct seqtrack_stats s;
	struct cimxml_message *m1, *m2;

	m1 = sample(NULL, NULL, NULL);
	ck_assert(deliver(st, "10.1.2.3", ind(m1)));
	ck_assert(!deliver(st, "10.1.2.3", ind(m1)));
	/* Another address: its own track. */
	ck_assert(deliver(st, "10.1.2.4", ind(m1)));
	ck_assert(deliver(st, "2001:db8::1", ind(m1)));
	ck_assert(!deliver(st, "10.1.2.4", ind(m1)));
	/* A new context (the sender restarted): a new track, from 0. */
	m2 = sample("0", "acme:host-a#20261101130000#20261101115959", NULL);
	ck_assert(deliver(st, "10.1.2.3", ind(m2)));
	ck_assert(!deliver(st, "10.1.2.3", ind(m2)));
	/* The old context is still remembered. */
	ck_assert(!deliver(st, "10.1.2.3", ind(m1)));
	seqtrack_get_stats(st, &s);
	ck_assert_uint_eq(s.keys, 4);
	ck_assert_uint_eq(s.sources, 3);
	ck_assert_uint_eq(s.tracked, 4);
	ck_assert_uint_eq(s.duplicates, 4);
	ck_assert_uint_eq(s.gaps, 0);
	ck_assert_uint_eq(s.restarts, 0);
	cimxml_message_free(m1);
	cimxml_message_free(m2);
	seqtrack_free(st);
}
END_TEST

/* A failed spool append (503) commits nothing: the retry is new again. */
START_TEST(test_check_without_commit)
{
	struct seqtrack *st = seqtrack_new(NULL);
	struct seqtrack_stats s;
	struct cimxml_message *msg = sample(NULL, NULL, NULL);
	const char *a = "10.1.2.3";

	ck_assert_int_eq(seqtrack_check(st, a, ind(msg)), SEQ_NEW);
	/* spool_append failed: 503, no commit */
	ck_assert_int_eq(seqtrack_check(st, a, ind(msg)), SEQ_NEW);
	seqtrack_get_stats(st, &s);
	ck_assert_uint_eq(s.keys, 0);
	ck_assert_uint_eq(s.tracked, 0);
	ck_assert_uint_eq(s.duplicates, 0);
	/* The retry succeeds. */
	seqtrack_commit(st, a, ind(msg), SEQ_NEW);
	ck_assert_int_eq(seqtrack_check(st, a, ind(msg)), SEQ_DUPLICATE);
	/* A duplicate in a request that got 503 is not counted either. */
	seqtrack_get_stats(st, &s);
	ck_assert_uint_eq(s.duplicates, 0);
	/* A number near the committed one is not taken for it. */
	ck_assert_int_eq(check_n(st, a, CTX, 2), SEQ_NEW);
	ck_assert_int_eq(check_n(st, a, CTX, 4), SEQ_NEW);
	cimxml_message_free(msg);
	seqtrack_free(st);
}
END_TEST

static enum seqtrack_verdict
check_body(struct seqtrack *st, char *body)
{
	struct cimxml_message *msg = parse(body);
	enum seqtrack_verdict v;

	v = seqtrack_check(st, "10.1.2.3", ind(msg));
	seqtrack_commit(st, "10.1.2.3", ind(msg), v);
	/* Whatever it was, it is never a duplicate of itself. */
	if (v == SEQ_UNTRACKED)
		ck_assert_int_eq(
		    seqtrack_check(st, "10.1.2.3", ind(msg)), SEQ_UNTRACKED);
	cimxml_message_free(msg);
	free(body);
	return v;
}

static char *
body(void)
{
	return tu_sample("null-and-empty.xml", NULL);
}

START_TEST(test_untracked)
{
	struct seqtrack *st = seqtrack_new(NULL);
	struct seqtrack_stats s;
	struct cimxml_message *msg;
	const char *numprop =
	    "<PROPERTY NAME=\"SequenceNumber\" TYPE=\"sint64\">\n"
	    "<VALUE>3</VALUE>\n</PROPERTY>";
	const char *ctxprop =
	    "<PROPERTY NAME=\"SequenceContext\" TYPE=\"string\">\n"
	    "<VALUE>" CTX "</VALUE>\n</PROPERTY>";
	char *b, longctx[SEQTRACK_MAX_CONTEXT_LEN + 2];
	struct tinst ti;

	/* The alert sample carries neither property. */
	b = tu_sample("alert-indication.xml", NULL);
	ck_assert_int_eq(check_body(st, b), SEQ_UNTRACKED);
	/* Only one of them. */
	ck_assert_int_eq(check_body(st, replace(body(), numprop, "")),
	    SEQ_UNTRACKED);
	ck_assert_int_eq(check_body(st, replace(body(), ctxprop, "")),
	    SEQ_UNTRACKED);
	/* NULL values. */
	ck_assert_int_eq(check_body(st, replace(body(), numprop,
	    "<PROPERTY NAME=\"SequenceNumber\" TYPE=\"sint64\"></PROPERTY>")),
	    SEQ_UNTRACKED);
	ck_assert_int_eq(check_body(st, replace(body(), ctxprop,
	    "<PROPERTY NAME=\"SequenceContext\" TYPE=\"string\"></PROPERTY>")),
	    SEQ_UNTRACKED);
	/* Wrong types. */
	ck_assert_int_eq(check_body(st, replace(body(),
	    "\"SequenceNumber\" TYPE=\"sint64\"",
	    "\"SequenceNumber\" TYPE=\"string\"")), SEQ_UNTRACKED);
	ck_assert_int_eq(check_body(st, replace(body(),
	    "\"SequenceNumber\" TYPE=\"sint64\"",
	    "\"SequenceNumber\" TYPE=\"real64\"")), SEQ_UNTRACKED);
	ck_assert_int_eq(check_body(st, set_value(replace(body(),
	    "\"SequenceContext\" TYPE=\"string\"",
	    "\"SequenceContext\" TYPE=\"datetime\""), "SequenceContext",
	    "20261101120501.250000+060")), SEQ_UNTRACKED);
	ck_assert_int_eq(check_body(st, replace(body(), ctxprop,
	    "<PROPERTY.ARRAY NAME=\"SequenceContext\" TYPE=\"string\">"
	    "<VALUE.ARRAY><VALUE>" CTX "</VALUE></VALUE.ARRAY>"
	    "</PROPERTY.ARRAY>")), SEQ_UNTRACKED);
	/* Negative, empty context, over-long context. */
	ck_assert_int_eq(check_body(st, set_value(body(), "SequenceNumber",
	    "-1")), SEQ_UNTRACKED);
	ck_assert_int_eq(check_body(st, replace(body(), "<VALUE>" CTX,
	    "<VALUE>")), SEQ_UNTRACKED);
	memset(longctx, 'x', sizeof longctx - 1);
	longctx[sizeof longctx - 1] = '\0';
	ck_assert_int_eq(check_body(st, set_value(body(), "SequenceContext",
	    longctx)), SEQ_UNTRACKED);
	longctx[sizeof longctx - 2] = '\0';
	ck_assert_int_eq(check_body(st, set_value(body(), "SequenceContext",
	    longctx)), SEQ_NEW);
	/* No address. */
	ck_assert_int_eq(seqtrack_check(st, NULL, mkinst(&ti, CTX, 1)),
	    SEQ_UNTRACKED);
	seqtrack_commit(st, NULL, mkinst(&ti, CTX, 1), SEQ_UNTRACKED);
	seqtrack_get_stats(st, &s);
	ck_assert_uint_eq(s.untracked, 13);
	ck_assert_uint_eq(s.tracked, 1);
	ck_assert_uint_eq(s.keys, 1);

	/* Other integer types and case-insensitive names are tracked. */
	ck_assert_int_eq(check_body(st, replace(body(),
	    "\"SequenceNumber\" TYPE=\"sint64\"",
	    "\"sequencenumber\" TYPE=\"uint32\"")), SEQ_NEW);
	ck_assert_int_eq(check_body(st, replace(replace(body(),
	    "\"SequenceNumber\" TYPE=\"sint64\"",
	    "\"SEQUENCENUMBER\" TYPE=\"uint8\""), "\"SequenceContext\"",
	    "\"sequenceCONTEXT\"")), SEQ_DUPLICATE);
	/* The largest numbers of sint64 and uint64. */
	msg = sample("9223372036854775807", NULL, NULL);
	ck_assert(deliver(st, "10.1.2.3", ind(msg)));
	ck_assert(!deliver(st, "10.1.2.3", ind(msg)));
	cimxml_message_free(msg);
	b = set_value(replace(body(), "\"SequenceNumber\" TYPE=\"sint64\"",
	    "\"SequenceNumber\" TYPE=\"uint64\""), "SequenceNumber",
	    "18446744073709551615");
	ck_assert_int_eq(check_body(st, b), SEQ_NEW);
	seqtrack_free(st);
}
END_TEST

START_TEST(test_window_edges)
{
	struct seqtrack *st = seqtrack_new(NULL);
	struct seqtrack_stats s;
	const char *a = "10.0.0.1";
	struct seqtrack_source *src;

	/* Ring clearing when the highest advances. */
	ck_assert_int_eq(put_n(st, a, "c", 10), SEQ_NEW);
	ck_assert_int_eq(put_n(st, a, "c", 11), SEQ_NEW);
	ck_assert_int_eq(put_n(st, a, "c", 1034), SEQ_NEW); /* gap 12..1033 */
	/* 11 is 1023 below: in the window; 10 is 1024 below: out. */
	ck_assert_int_eq(check_n(st, a, "c", 11), SEQ_DUPLICATE);
	ck_assert_int_eq(check_n(st, a, "c", 12), SEQ_NEW);
	ck_assert_int_eq(check_n(st, a, "c", 1033), SEQ_NEW);
	ck_assert_int_eq(check_n(st, a, "c", 1034), SEQ_DUPLICATE);
	ck_assert_int_eq(check_n(st, a, "c", 1035), SEQ_NEW);
	ck_assert_int_eq(check_n(st, a, "c", 10), SEQ_NEW);
	/* One more: 11 leaves the window. */
	ck_assert_int_eq(put_n(st, a, "c", 1035), SEQ_NEW);
	ck_assert_int_eq(check_n(st, a, "c", 11), SEQ_NEW);
	ck_assert_int_eq(check_n(st, a, "c", 1034), SEQ_DUPLICATE);
	/* The slot of 11 now belongs to 1035; 1033 is a late arrival. */
	ck_assert_int_eq(put_n(st, a, "c", 1033), SEQ_NEW);
	ck_assert_int_eq(check_n(st, a, "c", 1033), SEQ_DUPLICATE);
	/* 1023 below, never seen: late. */
	ck_assert_int_eq(put_n(st, a, "c", 12), SEQ_NEW);
	seqtrack_get_stats(st, &s);
	ck_assert_uint_eq(s.gaps, 1);
	ck_assert_uint_eq(s.missing, 1022);
	ck_assert_uint_eq(s.out_of_order, 2);
	ck_assert_uint_eq(s.restarts, 0);

	/*
	 * Slots are reused: 10 shares its slot with 1034. Advancing past
	 * 1034 must clear 10's bit, or 1034 would pass for a duplicate.
	 */
	ck_assert_int_eq(put_n(st, a, "r", 10), SEQ_NEW);
	ck_assert_int_eq(put_n(st, a, "r", 1030), SEQ_NEW);
	ck_assert_int_eq(check_n(st, a, "r", 10), SEQ_DUPLICATE);
	ck_assert_int_eq(put_n(st, a, "r", 1040), SEQ_NEW);
	ck_assert_int_eq(check_n(st, a, "r", 1034), SEQ_NEW);
	ck_assert_int_eq(check_n(st, a, "r", 1030), SEQ_DUPLICATE);
	ck_assert_int_eq(check_n(st, a, "r", 1039), SEQ_NEW);

	/* A jump of more than the window clears everything. */
	ck_assert_int_eq(put_n(st, a, "c", 5000), SEQ_NEW);
	ck_assert_int_eq(check_n(st, a, "c", 5000 - 1024 + 1), SEQ_NEW);
	ck_assert_int_eq(check_n(st, a, "c", 1035), SEQ_NEW);

	/* Far below the window: the track starts over there (a restart). */
	ck_assert_int_eq(put_n(st, a, "c", 0), SEQ_NEW);
	ck_assert_int_eq(check_n(st, a, "c", 0), SEQ_DUPLICATE);
	ck_assert_int_eq(check_n(st, a, "c", 1024), SEQ_NEW);
	ck_assert_int_eq(check_n(st, a, "c", 5000), SEQ_NEW);
	ck_assert_int_eq(put_n(st, a, "c", 1), SEQ_NEW);
	seqtrack_get_stats(st, &s);
	ck_assert_uint_eq(s.restarts, 1);
	ck_assert_uint_eq(s.gaps, 4);
	ck_assert_uint_eq(s.out_of_order, 2);
	ck_assert_uint_eq(seqtrack_snapshot(st, &src), 2);
	ck_assert_str_eq(src[0].context, "c");
	ck_assert_uint_eq(src[0].last, 1);
	ck_assert_uint_eq(src[0].restarts, 1);
	free(src);

	/* The wrap of sint64 back to 0 is a restart, not a duplicate. */
	ck_assert_int_eq(put_n(st, a, "w", INT64_MAX - 1), SEQ_NEW);
	ck_assert_int_eq(put_n(st, a, "w", INT64_MAX), SEQ_NEW);
	ck_assert_int_eq(put_n(st, a, "w", 0), SEQ_NEW);
	ck_assert_int_eq(put_n(st, a, "w", 1), SEQ_NEW);
	ck_assert_int_eq(check_n(st, a, "w", INT64_MAX), SEQ_NEW);
	seqtrack_get_stats(st, &s);
	ck_assert_uint_eq(s.restarts, 2);
	ck_assert_uint_eq(s.gaps, 4);
	seqtrack_free(st);
}
END_TEST

START_TEST(test_window_param)
{
	struct seqtrack_params p = { .window = 100 }; /* rounded up to 128 */
	struct seqtrack *st = seqtrack_new(&p);

	ck_assert_int_eq(put_n(st, "a", "c", 1000), SEQ_NEW);
	ck_assert_int_eq(put_n(st, "a", "c", 1127), SEQ_NEW);
	ck_assert_int_eq(check_n(st, "a", "c", 1000), SEQ_DUPLICATE);
	ck_assert_int_eq(put_n(st, "a", "c", 1128), SEQ_NEW);
	ck_assert_int_eq(check_n(st, "a", "c", 1000), SEQ_NEW);
	ck_assert_int_eq(check_n(st, "a", "c", 1127), SEQ_DUPLICATE);
	seqtrack_free(st);
}
END_TEST

START_TEST(test_lru_eviction)
{
	struct seqtrack_params p = { .max_keys = 4, .max_contexts = 3 };
	struct seqtrack *st = seqtrack_new(&p);
	struct seqtrack_stats s;
	struct seqtrack_source *src;

	ck_assert_int_eq(put_n(st, "10.0.0.1", "a", 1), SEQ_NEW);
	ck_assert_int_eq(put_n(st, "10.0.0.2", "b", 1), SEQ_NEW);
	ck_assert_int_eq(put_n(st, "10.0.0.3", "c", 1), SEQ_NEW);
	ck_assert_int_eq(put_n(st, "10.0.0.4", "d", 1), SEQ_NEW);
	/* A check does not make a key recent; a commit (even a dup) does. */
	ck_assert_int_eq(check_n(st, "10.0.0.2", "b", 1), SEQ_DUPLICATE);
	ck_assert_int_eq(put_n(st, "10.0.0.1", "a", 1), SEQ_DUPLICATE);
	/* A fifth key evicts the least recently committed: b. */
	ck_assert_int_eq(put_n(st, "10.0.0.5", "e", 1), SEQ_NEW);
	ck_assert_int_eq(check_n(st, "10.0.0.2", "b", 1), SEQ_NEW);
	ck_assert_int_eq(check_n(st, "10.0.0.1", "a", 1), SEQ_DUPLICATE);
	ck_assert_int_eq(check_n(st, "10.0.0.3", "c", 1), SEQ_DUPLICATE);
	seqtrack_get_stats(st, &s);
	ck_assert_uint_eq(s.evicted, 1);
	ck_assert_uint_eq(s.keys, 4);
	ck_assert_uint_eq(s.sources, 4);

	/* Per address at most 3 contexts: its own oldest goes first. */
	/* a2 evicts c, a3 evicts d (overall oldest), a4 evicts a. */
	ck_assert_int_eq(put_n(st, "10.0.0.1", "a2", 1), SEQ_NEW);
	ck_assert_int_eq(put_n(st, "10.0.0.1", "a3", 1), SEQ_NEW);
	ck_assert_int_eq(put_n(st, "10.0.0.1", "a4", 1), SEQ_NEW);
	ck_assert_int_eq(check_n(st, "10.0.0.1", "a", 1), SEQ_NEW);
	ck_assert_int_eq(check_n(st, "10.0.0.5", "e", 1), SEQ_DUPLICATE);
	ck_assert_int_eq(check_n(st, "10.0.0.1", "a2", 1), SEQ_DUPLICATE);
	seqtrack_get_stats(st, &s);
	ck_assert_uint_eq(s.evicted, 4);
	ck_assert_uint_eq(s.keys, 4);
	ck_assert_uint_eq(s.sources, 2);
	ck_assert_uint_eq(seqtrack_snapshot(st, &src), 4);
	ck_assert_str_eq(src[0].addr, "10.0.0.1");
	ck_assert_str_eq(src[0].context, "a2");
	ck_assert_str_eq(src[2].context, "a4");
	ck_assert_str_eq(src[3].addr, "10.0.0.5");
	free(src);

	/* max_contexts 1: a new context replaces the old one. */
	seqtrack_free(st);
	p.max_contexts = 1;
	st = seqtrack_new(&p);
	ck_assert_int_eq(put_n(st, "h", "x", 1), SEQ_NEW);
	ck_assert_int_eq(put_n(st, "h", "y", 1), SEQ_NEW);
	ck_assert_int_eq(check_n(st, "h", "x", 1), SEQ_NEW);
	ck_assert_int_eq(check_n(st, "h", "y", 1), SEQ_DUPLICATE);
	seqtrack_get_stats(st, &s);
	ck_assert_uint_eq(s.keys, 1);
	ck_assert_uint_eq(s.sources, 1);
	ck_assert_uint_eq(s.evicted, 1);
	seqtrack_free(st);
}
END_TEST

/* The default cap of 4096 keys holds under a flood of contexts. */
START_TEST(test_default_cap)
{
	struct seqtrack *st = seqtrack_new(NULL);
	struct seqtrack_stats s;
	char addr[32], ctx[32];
	unsigned i;

	for (i = 0; i < 5000; i++) {
		snprintf(addr, sizeof addr, "10.%u.%u.1", i / 256, i % 256);
		snprintf(ctx, sizeof ctx, "ctx%u", i);
		ck_assert_int_eq(put_n(st, addr, ctx, i), SEQ_NEW);
	}
	seqtrack_get_stats(st, &s);
	ck_assert_uint_eq(s.keys, SEQTRACK_DEFAULT_MAX_KEYS);
	ck_assert_uint_eq(s.sources, SEQTRACK_DEFAULT_MAX_KEYS);
	ck_assert_uint_eq(s.evicted, 5000 - SEQTRACK_DEFAULT_MAX_KEYS);
	ck_assert_int_eq(check_n(st, "10.0.0.1", "ctx0", 0), SEQ_NEW);
	ck_assert_int_eq(check_n(st, "10.19.135.1", "ctx4999", 4999),
	    SEQ_DUPLICATE);
	for (i = 0; i < 100; i++) {
		snprintf(ctx, sizeof ctx, "many%u", i);
		ck_assert_int_eq(put_n(st, "10.99.99.99", ctx, 1), SEQ_NEW);
	}
	seqtrack_get_stats(st, &s);
	ck_assert_uint_eq(s.keys, SEQTRACK_DEFAULT_MAX_KEYS);
	ck_assert_int_eq(check_n(st, "10.99.99.99", "many35", 1), SEQ_NEW);
	ck_assert_int_eq(check_n(st, "10.99.99.99", "many36", 1),
	    SEQ_DUPLICATE);
	seqtrack_free(st);
}
END_TEST

START_TEST(test_restore)
{
	struct seqtrack *st = seqtrack_new(NULL);
	struct seqtrack_stats s, zero;
	struct seqtrack_source *src;
	struct cimxml_message *msg, *alert;
	const char *a = "10.1.2.3";
	char *b;

	/* Spool order, with a gap, a late one and a repeat (a race). */
	msg = sample(NULL, NULL, NULL);
	seqtrack_restore(st, a, ind(msg), 1700000000);
	seqtrack_restore_key(st, a, CTX, 4, 1700000001);
	seqtrack_restore_key(st, a, CTX, 10, 1700000002);
	seqtrack_restore_key(st, a, CTX, 6, 1700000003);
	seqtrack_restore_key(st, a, CTX, 6, 1700000004);
	seqtrack_restore_key(st, a, "other", 2000, 1700000005);
	seqtrack_restore_key(st, a, "other", 1, 1700000006); /* restart */
	b = tu_sample("alert-indication.xml", NULL);
	alert = parse(b);
	free(b);
	seqtrack_restore(st, a, ind(alert), 0);
	seqtrack_restore(st, NULL, ind(msg), 0);
	seqtrack_restore_key(st, a, "", 1, 0);
	cimxml_message_free(alert);

	memset(&zero, 0, sizeof zero);
	seqtrack_get_stats(st, &s);
	ck_assert_uint_eq(s.keys, 2);
	ck_assert_uint_eq(s.sources, 1);
	s.keys = s.sources = 0;
	ck_assert_int_eq(memcmp(&s, &zero, sizeof s), 0);

	ck_assert_uint_eq(seqtrack_snapshot(st, &src), 2);
	ck_assert_str_eq(src[0].context, CTX);
	ck_assert_uint_eq(src[0].last, 10);
	ck_assert_int_eq(src[0].last_seen, 1700000004);
	ck_assert_uint_eq(src[0].tracked, 0);
	ck_assert_uint_eq(src[0].gaps, 0);
	ck_assert_uint_eq(src[0].out_of_order, 0);
	ck_assert_str_eq(src[1].context, "other");
	ck_assert_uint_eq(src[1].last, 1);
	ck_assert_uint_eq(src[1].restarts, 0);
	free(src);

	/* A retry across the restart is recognised. */
	ck_assert_int_eq(seqtrack_check(st, a, ind(msg)), SEQ_DUPLICATE);
	ck_assert_int_eq(check_n(st, a, CTX, 6), SEQ_DUPLICATE);
	ck_assert_int_eq(check_n(st, a, CTX, 5), SEQ_NEW);
	ck_assert_int_eq(check_n(st, a, "other", 2000), SEQ_NEW);
	/* The next number continues without a gap. */
	ck_assert_int_eq(put_n(st, a, CTX, 11), SEQ_NEW);
	ck_assert_int_eq(put_n(st, a, "other", 2), SEQ_NEW);
	seqtrack_get_stats(st, &s);
	ck_assert_uint_eq(s.tracked, 2);
	ck_assert_uint_eq(s.gaps, 0);
	cimxml_message_free(msg);
	seqtrack_free(st);
}
END_TEST

START_TEST(test_snapshot)
{
	struct seqtrack *st = seqtrack_new(NULL);
	struct seqtrack_source *src;
	time_t before, after;

	ck_assert_uint_eq(seqtrack_snapshot(st, &src), 0);
	ck_assert_ptr_null(src);
	before = time(NULL);
	put_n(st, "10.0.0.9", "zeta", 1);
	put_n(st, "10.0.0.9", "alpha", 5);
	put_n(st, "10.0.0.9", "alpha", 5);
	put_n(st, "10.0.0.9", "alpha", 9);
	put_n(st, "10.0.0.9", "alpha", 7);
	put_n(st, "10.0.0.10", "m", 100);
	put_n(st, "10.0.0.10", "m", 50);
	after = time(NULL);

	ck_assert_uint_eq(seqtrack_snapshot(st, &src), 3);
	ck_assert_str_eq(src[0].addr, "10.0.0.10");
	ck_assert_str_eq(src[0].context, "m");
	ck_assert_uint_eq(src[0].last, 100);
	ck_assert_uint_eq(src[0].restarts, 0);
	ck_assert_uint_eq(src[0].out_of_order, 1);
	ck_assert_uint_eq(src[0].tracked, 2);
	ck_assert_str_eq(src[1].addr, "10.0.0.9");
	ck_assert_str_eq(src[1].context, "alpha");
	ck_assert_uint_eq(src[1].last, 9);
	ck_assert_uint_eq(src[1].tracked, 3);
	ck_assert_uint_eq(src[1].duplicates, 1);
	ck_assert_uint_eq(src[1].gaps, 1);
	ck_assert_uint_eq(src[1].missing, 3);
	ck_assert_uint_eq(src[1].out_of_order, 1);
	ck_assert_uint_eq(src[1].raced, 0);
	ck_assert(src[1].last_seen >= before && src[1].last_seen <= after);
	ck_assert_str_eq(src[2].context, "zeta");
	ck_assert_uint_eq(src[2].last, 1);
	ck_assert_uint_eq(src[2].tracked, 1);
	ck_assert_uint_eq(src[2].gaps, 0);
	free(src);
	seqtrack_free(st);
}
END_TEST

/* Two requests with the same number racing: delivered twice, counted. */
START_TEST(test_race)
{
	struct seqtrack *st = seqtrack_new(NULL);
	struct seqtrack_stats s;
	struct tinst ti;
	const struct cim_instance *inst = mkinst(&ti, "c", 3);
	enum seqtrack_verdict v1, v2;

	v1 = seqtrack_check(st, "a", inst);
	v2 = seqtrack_check(st, "a", inst);
	ck_assert_int_eq(v1, SEQ_NEW);
	ck_assert_int_eq(v2, SEQ_NEW);
	seqtrack_commit(st, "a", inst, v1);
	seqtrack_commit(st, "a", inst, v2);
	seqtrack_get_stats(st, &s);
	ck_assert_uint_eq(s.tracked, 1);
	ck_assert_uint_eq(s.raced, 1);
	ck_assert_uint_eq(s.duplicates, 0);
	ck_assert_int_eq(seqtrack_check(st, "a", inst), SEQ_DUPLICATE);
	/* A duplicate whose key was evicted meanwhile is still counted. */
	seqtrack_commit(st, "b", inst, SEQ_DUPLICATE);
	seqtrack_get_stats(st, &s);
	ck_assert_uint_eq(s.duplicates, 1);
	ck_assert_uint_eq(s.keys, 1);
	seqtrack_free(st);
}
END_TEST

START_TEST(test_gap_log)
{
	struct seqtrack *st;
	char *dir, path[4096], *text;
	int fd, saved;

	dir = tu_tmpdir();
	snprintf(path, sizeof path, "%s/stderr", dir);
	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	dup2(fd, 2);
	close(fd);
	log_init(LOG_NOTICE, true, "check_seqtrack");

	st = seqtrack_new(NULL);
	put_n(st, "10.1.2.3", "X", 4);
	put_n(st, "10.1.2.3", "X", 8);
	put_n(st, "10.1.2.3", "X", 10);
	put_n(st, "10.1.2.3", "X", 9);  /* late: not logged */
	put_n(st, "10.1.2.3", "X", 11); /* in order: not logged */
	put_n(st, "10.1.2.3", "X\n\"y", 1);
	put_n(st, "10.1.2.3", "X\n\"y", 3);
	put_n(st, "10.1.2.3", "X", 1);  /* far below? no: within window */
	put_n(st, "10.1.2.3", "X", 5000);
	put_n(st, "10.1.2.3", "X", 0);
	seqtrack_free(st);

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	log_init(LOG_ERR, true, "check_seqtrack");
	text = tu_read_file(path, NULL);
	ck_assert_ptr_nonnull(text);
	ck_assert_msg(strstr(text, "notice: source 10.1.2.3 context X: "
	    "gap of 3 (numbers 5..7 missing)\n") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "source 10.1.2.3 context X: gap of 1 "
	    "(number 9 missing)\n") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "context X\\x0a\\x22y: gap of 1") != NULL,
	    "%s", text);
	ck_assert_msg(strstr(text, "gap of 4988 (numbers 12..4999 missing)")
	    != NULL, "%s", text);
	ck_assert_msg(strstr(text, "SequenceNumber 0 far below 5000") != NULL,
	    "%s", text);
	/* Exactly five lines: no line for late, in-order or first numbers. */
	{
		size_t lines = 0;
		const char *p;

		for (p = text; *p != '\0'; p++)
			if (*p == '\n')
				lines++;
		ck_assert_uint_eq(lines, 5);
	}
	free(text);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

#define NTHREADS 8
#define NNUM 3000

struct hammer {
	struct seqtrack *st;
	unsigned id;
	atomic_uint *delivered; /* per number of the shared key */
	unsigned long own_new, own_other, shared_new, shared_dup;
};

/* One request thread: its own key in order, and a key all threads share. */
static void *
hammer_run(void *arg)
{
	struct hammer *h = arg;
	struct seqtrack_source *src;
	struct seqtrack_stats s;
	struct tinst ti;
	const struct cim_instance *inst;
	enum seqtrack_verdict v;
	char addr[32];
	unsigned n;

	snprintf(addr, sizeof addr, "10.9.0.%u", h->id);
	for (n = 0; n < NNUM; n++) {
		inst = mkinst(&ti, "own", n);
		v = seqtrack_check(h->st, addr, inst);
		if (v == SEQ_NEW)
			h->own_new++;
		else
			h->own_other++;
		seqtrack_commit(h->st, addr, inst, v);

		inst = mkinst(&ti, "shared", n);
		v = seqtrack_check(h->st, "10.9.9.9", inst);
		if (v == SEQ_DUPLICATE)
			h->shared_dup++;
		else {
			/* "Appended": count the delivery before committing. */
			atomic_fetch_add(&h->delivered[n], 1);
			h->shared_new++;
		}
		seqtrack_commit(h->st, "10.9.9.9", inst, v);

		if (n % 500 == 0) {
			seqtrack_get_stats(h->st, &s);
			seqtrack_snapshot(h->st, &src);
			free(src);
		}
	}
	return NULL;
}

START_TEST(test_threads)
{
	struct seqtrack *st = seqtrack_new(NULL);
	struct hammer h[NTHREADS];
	pthread_t tid[NTHREADS];
	atomic_uint *delivered;
	struct seqtrack_stats s;
	struct seqtrack_source *src;
	unsigned long shared_new = 0, shared_dup = 0;
	size_t i, n;

	delivered = xcalloc(NNUM, sizeof *delivered);
	for (i = 0; i < NTHREADS; i++) {
		memset(&h[i], 0, sizeof h[i]);
		h[i].st = st;
		h[i].id = (unsigned)i;
		h[i].delivered = delivered;
		ck_assert_int_eq(
		    pthread_create(&tid[i], NULL, hammer_run, &h[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_join(tid[i], NULL), 0);

	for (i = 0; i < NTHREADS; i++) {
		ck_assert_uint_eq(h[i].own_new, NNUM);
		ck_assert_uint_eq(h[i].own_other, 0);
		shared_new += h[i].shared_new;
		shared_dup += h[i].shared_dup;
	}
	/* Never lost: every shared number was delivered at least once. */
	for (i = 0; i < NNUM; i++)
		ck_assert_msg(atomic_load(&delivered[i]) >= 1,
		    "number %zu never delivered", i);
	ck_assert_uint_eq(shared_new + shared_dup, NTHREADS * NNUM);

	seqtrack_get_stats(st, &s);
	ck_assert_uint_eq(s.keys, NTHREADS + 1);
	ck_assert_uint_eq(s.sources, NTHREADS + 1);
	ck_assert_uint_eq(s.duplicates, shared_dup);
	ck_assert_uint_eq(s.tracked + s.raced, NTHREADS * NNUM + shared_new);
	ck_assert_uint_eq(s.untracked, 0);
	n = seqtrack_snapshot(st, &src);
	ck_assert_uint_eq(n, NTHREADS + 1);
	for (i = 0; i < n; i++) {
		if (strcmp(src[i].context, "own") != 0)
			continue;
		ck_assert_uint_eq(src[i].tracked, NNUM);
		ck_assert_uint_eq(src[i].last, NNUM - 1);
		ck_assert_uint_eq(src[i].gaps, 0);
		ck_assert_uint_eq(src[i].duplicates, 0);
		ck_assert_uint_eq(src[i].out_of_order, 0);
		ck_assert_uint_eq(src[i].restarts, 0);
	}
	free(src);
	free(delivered);
	seqtrack_free(st);
}
END_TEST

struct churn {
	struct seqtrack *st;
	unsigned id;
	unsigned long lost;
};

/* Many keys over a tiny table: eviction under contention. */
static void *
churn_run(void *arg)
{
	struct churn *c = arg;
	struct tinst ti;
	const struct cim_instance *inst;
	enum seqtrack_verdict v;
	char addr[32], ctx[32];
	unsigned i, k;

	for (i = 0; i < 4000; i++) {
		k = (i * 7 + c->id) % 40;
		snprintf(addr, sizeof addr, "10.8.0.%u", k % 5);
		snprintf(ctx, sizeof ctx, "t%u-c%u", c->id, k);
		inst = mkinst(&ti, ctx, i);
		v = seqtrack_check(c->st, addr, inst);
		/* Each (thread, key, number) is sent once: never a dup. */
		if (v != SEQ_NEW)
			c->lost++;
		seqtrack_commit(c->st, addr, inst, v);
		if (i % 3 == 0)
			seqtrack_restore_key(c->st, addr, "restored", i, 0);
	}
	return NULL;
}

START_TEST(test_threads_eviction)
{
	struct seqtrack_params p = { .max_keys = 16, .max_contexts = 4,
	    .window = 64 };
	struct seqtrack *st = seqtrack_new(&p);
	struct churn c[NTHREADS];
	pthread_t tid[NTHREADS];
	struct seqtrack_stats s;
	struct seqtrack_source *src;
	size_t i, n, run;

	for (i = 0; i < NTHREADS; i++) {
		memset(&c[i], 0, sizeof c[i]);
		c[i].st = st;
		c[i].id = (unsigned)i;
		ck_assert_int_eq(
		    pthread_create(&tid[i], NULL, churn_run, &c[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++) {
		ck_assert_int_eq(pthread_join(tid[i], NULL), 0);
		ck_assert_uint_eq(c[i].lost, 0);
	}
	seqtrack_get_stats(st, &s);
	ck_assert_uint_le(s.keys, 16);
	ck_assert_uint_gt(s.evicted, 0);
	ck_assert_uint_eq(s.tracked, NTHREADS * 4000);
	n = seqtrack_snapshot(st, &src);
	ck_assert_uint_eq(n, s.keys);
	/* Sorted by address: at most 4 contexts in each run of one. */
	for (i = 0, run = 1; i < n; i++) {
		if (i > 0 && strcmp(src[i].addr, src[i - 1].addr) == 0)
			run++;
		else
			run = 1;
		ck_assert_uint_le(run, 4);
	}
	free(src);
	seqtrack_free(st);
}
END_TEST

static Suite *
seqtrack_suite(void)
{
	Suite *s = suite_create("seqtrack");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_sample_sequence);
	tcase_add_test(tc, test_three_times);
	tcase_add_test(tc, test_separate_sources_and_contexts);
	tcase_add_test(tc, test_check_without_commit);
	tcase_add_test(tc, test_untracked);
	tcase_add_test(tc, test_window_edges);
	tcase_add_test(tc, test_window_param);
	tcase_add_test(tc, test_lru_eviction);
	tcase_add_test(tc, test_default_cap);
	tcase_add_test(tc, test_restore);
	tcase_add_test(tc, test_snapshot);
	tcase_add_test(tc, test_race);
	tcase_add_test(tc, test_gap_log);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_threads_eviction);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(seqtrack_suite());
}
