/*
 * check_filter.c: unit tests for the filter language (filter.c, DESIGN
 * section 5). The core is one table of expressions, each evaluated against
 * a record built from one of the four shared samples (or compiled to an
 * expected error at an exact column); around it, the QMF predicate mapping,
 * error printing, limits (nesting, length, long chains) and concurrent use.
 */
#include "autoconf.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cimxml.h"
#include "filter.h"
#include "record.h"
#include "testutil.h"

/* The records expressions are evaluated against. */
enum rec {
	A,     /* alert-indication.xml, from 10.1.2.3 over TLS as bmc4 */
	T,     /* all-types.xml, from 127.0.0.1, no TLS, no user */
	M,     /* inst-modification.xml, from 10.1.2.3 */
	U,     /* null-and-empty.xml, from 127.0.0.1 */
	NOSRC, /* alert-indication.xml without a source or filters */
	NREC
};

static const char *const sample_of[NREC] = {
    "alert-indication.xml",
    "all-types.xml",
    "inst-modification.xml",
    "null-and-empty.xml",
    "alert-indication.xml",
};

static const struct record_source src_bmc4 = {
    "10.1.2.3", 49152, true, "bmc4", "/cimlisten/bmc4"};
static const struct record_source src_local = {
    "127.0.0.1", 40000, false, NULL, "/cimlisten/local"};
static const char *const filters_alert[] = {"critical", "all"};
static const char *const filters_mod[] = {"fans"};

static struct cimxml_message *msgs[NREC];
static struct filter_input inputs[NREC];

static void
records_setup(void)
{
	enum cimxml_status st;
	size_t len;
	char *body, *reason = NULL;
	int i;

	for (i = 0; i < NREC; i++) {
		body = tu_sample(sample_of[i], &len);
		ck_assert_ptr_nonnull(body);
		st = cimxml_parse(body, len, NULL, &msgs[i], &reason);
		ck_assert_msg(st == CIMXML_OK, "%s: %s", sample_of[i],
		    reason != NULL ? reason : "?");
		free(body);
		inputs[i].inst = msgs[i]->exports[0].indication;
	}
	inputs[A].source = &src_bmc4;
	inputs[A].filters = filters_alert;
	inputs[A].nfilters = 2;
	inputs[T].source = &src_local;
	inputs[M].source = &src_bmc4;
	inputs[M].filters = filters_mod;
	inputs[M].nfilters = 1;
	inputs[U].source = &src_local;
}

static void
records_teardown(void)
{
	int i;

	for (i = 0; i < NREC; i++) {
		cimxml_message_free(msgs[i]);
		msgs[i] = NULL;
	}
}

/* One row: match (1), no match (0), or a compile error (-1) at col. */
struct row {
	const char *expr;
	enum rec rec;
	int want;
	unsigned col;
	const char *msg;
};

#define Y(r, e)                                                                \
	{                                                                      \
		e, r, 1, 0, NULL                                               \
	}
#define N(r, e)                                                                \
	{                                                                      \
		e, r, 0, 0, NULL                                               \
	}
#define E(e, c, m)                                                             \
	{                                                                      \
		e, A, -1, c, m                                                 \
	}

static const struct row rows[] = {
    /* The DESIGN section 5 examples, verbatim. */
    Y(A, "PerceivedSeverity >= 5 AND MessageID LIKE 'SVPC%'"),
    N(M, "__CLASS = 'CIM_InstModification' AND SourceInstance.__CLASS = "
	 "'CIM_Fan'\nAND SourceInstance.OperationalStatus = 6"),
    Y(A, "NOT (__SOURCE LIKE '10.9.%') OR Message MATCHES "
	 "'PSU[0-9]+ failed'"),
    Y(A, "OwningEntity IN ('DMTF', 'SNIA') AND AlertType IS NOT NULL"),
    Y(A, "__FILTERS = 'critical'"),
    Y(M, "__CLASS = 'CIM_InstModification' AND SourceInstance.__CLASS = "
	 "'Acme_Fan'\nAND SourceInstance.OperationalStatus = 6"),
    /* The bench expression. */
    Y(A, "PerceivedSeverity >= 5 AND MessageID LIKE 'SVPC%' AND Message "
	 "MATCHES 'supply [0-9]+' AND OwningEntity IN ('DMTF','SNIA') "
	 "AND AlertType IS NOT NULL"),

    /* Comparison operators on an integer. */
    Y(A, "PerceivedSeverity = 6"),
    N(A, "PerceivedSeverity = 5"),
    Y(A, "PerceivedSeverity <> 5"),
    Y(A, "PerceivedSeverity != 5"),
    N(A, "PerceivedSeverity <> 6"),
    Y(A, "PerceivedSeverity > 5"),
    N(A, "PerceivedSeverity > 6"),
    Y(A, "PerceivedSeverity >= 6"),
    N(A, "PerceivedSeverity >= 7"),
    Y(A, "PerceivedSeverity < 7"),
    N(A, "PerceivedSeverity < 6"),
    Y(A, "PerceivedSeverity <= 6"),
    N(A, "PerceivedSeverity <= 5"),
    Y(A, "6 = PerceivedSeverity"),
    Y(A, "5 < PerceivedSeverity"),
    N(A, "7 <= PerceivedSeverity"),
    Y(A, "PerceivedSeverity = 6.0"),
    Y(A, "PerceivedSeverity < 6.5"),
    Y(A, "PerceivedSeverity > 5.99"),
    N(A, "PerceivedSeverity = 6.000001"),
    Y(A, "PerceivedSeverity = 0x6"),
    Y(A, "PerceivedSeverity = +6"),
    N(A, "PerceivedSeverity = '6'"),
    N(A, "PerceivedSeverity <> '6'"),
    N(A, "PerceivedSeverity = TRUE"),
    Y(A, "ProbableCause > PerceivedSeverity"),
    Y(A, "AlertType = AlertingElementFormat"),
    N(A, "MessageID = OwningEntity"),
    Y(A, "RecommendedActions = 131072"),

    /* Case-insensitive keywords and names. */
    Y(A, "perceivedseverity = 6"),
    Y(A, "PERCEIVEDSEVERITY=6"),
    Y(A, "perceivedSeverity >= 5 and messageid like 'SVPC%'"),
    Y(A, "ownIngEntity In ('DMTF') AnD alerttype iS nOt NuLl"),
    Y(A, "true Or false"),

    /* Strings: byte-wise, case-sensitive. */
    Y(A, "MessageID = 'SVPC0123'"),
    N(A, "MessageID = 'svpc0123'"),
    Y(A, "MessageID > 'SVPB'"),
    Y(A, "MessageID < 'SVPD'"),
    Y(A, "MessageID >= 'SVPC0123'"),
    N(A, "MessageID = 123"),
    N(A, "MessageID <> 123"),
    Y(A, "SystemName = 'rack4-u12.example.net'"),
    Y(U, "IndicationIdentifier = '3'"),
    N(U, "IndicationIdentifier = 3"),

    /* LIKE. */
    Y(A, "MessageID LIKE 'SVPC%'"),
    N(A, "MessageID LIKE 'svpc%'"),
    Y(A, "MessageID LIKE 'SVPC____'"),
    N(A, "MessageID LIKE 'SVPC___'"),
    N(A, "MessageID LIKE 'SVPC'"),
    Y(A, "MessageID LIKE '%0123'"),
    Y(A, "MessageID LIKE '%C01%'"),
    Y(A, "MessageID LIKE '%'"),
    Y(A, "MessageID LIKE 'S%P%3'"),
    N(A, "MessageID LIKE 'S%P%4'"),
    Y(A, "MessageID NOT LIKE 'XYZ%'"),
    N(A, "MessageID NOT LIKE 'SVPC%'"),
    Y(A, "Message LIKE '%redundancy lost'"),
    Y(M, "SourceInstanceModelPath LIKE '%.DeviceID=\"FAN3\"'"),
    Y(A, "'50%' LIKE '50\\%'"),
    N(A, "'500' LIKE '50\\%'"),
    Y(A, "'a_b' LIKE 'a\\_b'"),
    N(A, "'axb' LIKE 'a\\_b'"),
    Y(A, "'it''s' LIKE 'it''_'"),
    Y(T, "Str LIKE 'tab%'"),
    Y(T, "Str LIKE '%quote\"%'"),
    Y(T, "Str LIKE '%backslash\\\\ %'"),
    Y(T, "Str LIKE '%emoji_'"),
    N(T, "Str LIKE '%emoji__'"),
    N(T, "Str LIKE '%emoji'"),
    Y(T, "Str LIKE '%snow_ emoji%'"),
    Y(T, "C16 LIKE '_'"),
    N(T, "C16 LIKE '__'"),
    N(A, "PerceivedSeverity LIKE '6'"),
    N(A, "PerceivedSeverity NOT LIKE 'x'"),

    /* MATCHES. */
    Y(A, "Message MATCHES 'supply [0-9]+'"),
    N(A, "Message MATCHES '^supply'"),
    Y(A, "Message MATCHES '^Power.*lost$'"),
    N(A, "Message MATCHES 'POWER'"),
    Y(A, "Message MATCHES 'PSU[0-9]+ failed|has failed'"),
    Y(A, "Message NOT MATCHES 'PSU[0-9]+ failed'"),
    N(A, "Message NOT MATCHES 'failed'"),
    Y(A, "MessageArguments MATCHES '^rack[0-9]'"),
    Y(A, "Message MATCHES '[0-9]{1,3} on (chassis|rack)+'"),
    Y(A, "Message MATCHES '(([a-z]+-?)+[0-9]+)+ has'"),
    Y(T, "Str MATCHES 'snow.* emoji'"),
    Y(T, "Str MATCHES 'tab\tquote'"),
    N(A, "AlertType MATCHES '2'"),

    /* IN. */
    Y(A, "OwningEntity IN ('DMTF', 'SNIA')"),
    N(A, "OwningEntity IN ('SNIA', 'IETF')"),
    Y(A, "OwningEntity NOT IN ('SNIA', 'IETF')"),
    N(A, "OwningEntity NOT IN ('DMTF')"),
    N(A, "OwningEntity IN ('dmtf')"),
    Y(A, "PerceivedSeverity IN (5, 6, 7)"),
    Y(A, "PerceivedSeverity IN ('x', 6)"),
    Y(A, "PerceivedSeverity IN (6.0)"),
    N(A, "PerceivedSeverity NOT IN (5, 6, 7)"),
    Y(A, "PerceivedSeverity NOT IN (1, 2)"),
    N(A, "PerceivedSeverity NOT IN ('a', 'b')"),
    Y(A, "PerceivedSeverity NOT IN ('a', 2)"),
    Y(A, "MessageArguments IN ('rack4-u12')"),
    Y(A, "MessageArguments NOT IN ('2')"),

    /* IS NULL and absent properties. */
    Y(A, "AlertType IS NOT NULL"),
    N(A, "AlertType IS NULL"),
    Y(A, "NoSuchProperty IS NULL"),
    N(A, "NoSuchProperty IS NOT NULL"),
    N(A, "NoSuchProperty = 1"),
    N(A, "NoSuchProperty <> 1"),
    N(A, "NoSuchProperty NOT LIKE 'x'"),
    N(A, "NoSuchProperty NOT IN (1)"),
    N(A, "NoSuchProperty NOT MATCHES 'x'"),
    N(A, "NoSuchProperty"),
    Y(A, "NOT (NoSuchProperty = 1)"),
    Y(A, "NOT NoSuchProperty"),
    N(A, "NoSuchProperty = PerceivedSeverity"),
    N(A, "PerceivedSeverity <> NoSuchProperty"),
    Y(T, "Nothing IS NULL"),
    N(T, "Nothing IS NOT NULL"),
    N(T, "Nothing = 0"),
    N(T, "Nothing <> 0"),
    N(T, "Nothing NOT IN (1)"),
    Y(T, "NOT (Nothing = 0)"),
    Y(U, "OtherSeverity IS NULL"),
    N(U, "OtherSeverity = ''"),
    N(U, "OtherSeverity <> 'x'"),
    N(U, "OtherSeverity NOT LIKE 'x%'"),
    N(U, "OtherSeverity NOT MATCHES 'x'"),
    Y(U, "PerceivedSeverity IS NULL"),
    N(U, "PerceivedSeverity >= 0"),
    N(U, "PerceivedSeverity < 0"),
    N(U, "PerceivedSeverity NOT IN (1)"),
    Y(U, "NOT (PerceivedSeverity = 1)"),
    Y(U, "NOT (PerceivedSeverity <> 1)"),
    Y(U, "SequenceNumber = 3 AND SequenceNumber IN (3)"),
    Y(U, "MethodName = 'FireTestEvent' AND SequenceContext LIKE 'acme:%'"),
    N(A, "'x' IS NULL"),
    Y(A, "5 IS NOT NULL"),

    /* Arrays. */
    Y(T, "Ports = 22"),
    Y(T, "Ports = 5989"),
    N(T, "Ports = 0"),
    Y(T, "Ports <> 22"),
    Y(T, "Ports > 5000"),
    N(T, "Ports > 6000"),
    Y(T, "Ports IN (1, 22)"),
    Y(T, "Ports NOT IN (22)"),
    N(T, "Ports NOT IN (22, 5989)"),
    Y(T, "NOT (Ports = 7)"),
    N(T, "NOT (Ports = 22)"),
    Y(T, "Ports IS NOT NULL"),
    Y(T, "Flags"),
    Y(T, "Flags = FALSE"),
    Y(T, "Flags <> TRUE"),
    N(T, "Flags = 1"),
    Y(A, "MessageArguments = '2'"),
    Y(A, "MessageArguments <> '2'"),
    Y(A, "MessageArguments LIKE 'rack%'"),
    Y(A, "MessageArguments NOT LIKE 'rack%'"),
    N(A, "NOT (MessageArguments LIKE 'rack%')"),
    N(U, "CorrelatedIndications IS NULL"),
    Y(U, "CorrelatedIndications IS NOT NULL"),
    N(U, "CorrelatedIndications = 'x'"),
    N(U, "CorrelatedIndications <> 'x'"),
    N(U, "CorrelatedIndications LIKE '%'"),
    N(U, "CorrelatedIndications NOT LIKE 'x'"),
    N(U, "CorrelatedIndications NOT IN ('x')"),
    Y(U, "NOT (CorrelatedIndications = 'x')"),

    /* Every CIM type of all-types.xml. */
    Y(T, "B"),
    Y(T, "B = TRUE"),
    N(T, "B = FALSE"),
    Y(T, "B <> FALSE"),
    N(T, "B < TRUE"),
    N(T, "B >= TRUE"),
    N(T, "B = 1"),
    N(T, "B = 'true'"),
    N(T, "NOT B"),
    Y(T, "B = Flags"),
    Y(T, "U8 = 255"),
    Y(T, "S8 = -128"),
    Y(T, "S8 < U8"),
    Y(T, "U16 = 31"),
    Y(T, "U16 = 0x1f"),
    Y(T, "S16 = 12"),
    Y(T, "S16 = +12"),
    Y(T, "U32 = 4294967295"),
    Y(T, "S32 = -2147483648"),
    Y(T, "U64 = 18446744073709551615"),
    Y(T, "U64 = 0xFFFFFFFFFFFFFFFF"),
    N(T, "U64 = 18446744073709551614"),
    Y(T, "U64 > 18446744073709551614"),
    Y(T, "U64 > -9223372036854775808"),
    Y(T, "U64 > S64"),
    Y(T, "S64 < U64"),
    N(T, "U64 = S64"),
    Y(T, "U64 <> S64"),
    N(T, "U64 < S64"),
    Y(T, "S64 = -9223372036854775808"),
    N(T, "S64 > -9223372036854775808"),
    Y(T, "S64 < -9223372036854775807"),
    Y(T, "S64 < 0"),
    Y(T, "S64 < 9223372036854775808"),
    Y(T, "U64 > 1.8e19"),
    N(T, "U64 > 1.8446744073709552e19"),
    Y(T, "U64 < 1.8446744073709552e19"),
    Y(T, "S64 = -9.223372036854775808e18"),
    Y(T, "S64 < -9.2e18"),
    Y(T, "R32 = -1.5e-3"),
    Y(T, "R32 = -0.0015"),
    N(T, "R32 < -0.0015"),
    Y(T, "R32 < 0"),
    Y(T, "R32 > -0.002"),
    Y(T, "R32 < R64"),
    Y(T, "R64 = 25"),
    Y(T, "R64 = 25.0"),
    Y(T, "R64 = 0x19"),
    Y(T, "R64 > 24.9"),
    Y(T, "R64 IN (1, 25)"),
    N(T, "R64 = '25'"),
    Y(T, "R64 < U16"),
    Y(T, "C16 = '\xc3\xa9'"),
    N(T, "C16 = 'e'"),
    Y(T, "C16 > 'e'"),
    Y(T, "Str = 'tab\tquote\" backslash\\ snow\xe2\x98\x83 "
	 "emoji\xf0\x9f\x98\x80'"),
    Y(T, "__CLASS = 'ACME_TYPESINDICATION'"),

    /* Datetimes: chronological, offsets applied, intervals apart. */
    Y(A, "IndicationTime = '20261122013000.123456+000'"),
    Y(A, "IndicationTime > '20261122013000.123455+000'"),
    Y(A, "IndicationTime < '20261122013000.123456-001'"),
    Y(A, "IndicationTime = '20261122023000.123456+060'"),
    N(A, "IndicationTime = 'yesterday'"),
    N(A, "IndicationTime <> 'yesterday'"),
    N(A, "IndicationTime > 20261122"),
    Y(A, "IndicationTime LIKE '2026112201%'"),
    N(A, "IndicationTime = '00000001020304.000000:000'"),
    N(A, "IndicationTime <> '00000001020304.000000:000'"),
    Y(T, "When = '20261122013000.123456-300'"),
    Y(T, "When > '20261122013000.123456+000'"),
    Y(T, "When = '20261122063000.123456+000'"),
    Y(T, "When < '20261122063000.123457+000'"),
    Y(T, "When = '20261122073000.123456+060'"),
    N(T, "When < '20261122013000.123456+000'"),
    N(T, "When = '2026112206300*.******+000'"),
    Y(T, "Span = '00000001020304.000000:000'"),
    Y(T, "Span > '00000001020303.999999:000'"),
    Y(T, "Span < '00000002000000.000000:000'"),
    N(T, "Span > '20261122013000.123456+000'"),
    N(T, "Span < '20261122013000.123456+000'"),
    N(T, "When = Span"),
    N(T, "When <> Span"),
    Y(M, "IndicationTime > '20261122013000.123456+000'"),
    Y(U, "IndicationTime = '20261101110501.250000+000'"),
    Y(A, "'20261122013000.123456+000' = IndicationTime"),

    /* References. */
    Y(T, "Origin LIKE '//bmc7%'"),
    Y(T, "Origin LIKE '%Acme_Chassis%'"),
    Y(T, "Origin MATCHES 'Tag=\"CH-7\"'"),
    N(T, "Origin = 'x'"),

    /* Embedded instances. */
    Y(M, "SourceInstance.OperationalStatus = 6"),
    Y(M, "SourceInstance.OperationalStatus = 11"),
    N(M, "SourceInstance.OperationalStatus = 2"),
    Y(M, "PreviousInstance.OperationalStatus = 2"),
    Y(M, "SourceInstance.__CLASS = 'acme_fan'"),
    Y(M, "sourceinstance.__class = 'ACME_FAN'"),
    Y(M, "SourceInstance.__CLASS <> 'CIM_Fan'"),
    Y(M, "SourceInstance.__CLASS IN ('x', 'ACME_fan')"),
    Y(M, "SourceInstance.__CLASS LIKE 'ACME\\_%'"),
    Y(M, "SourceInstance.__CLASS MATCHES '^ACME_FAN$'"),
    N(M, "SourceInstance.__CLASS NOT MATCHES 'fan'"),
    Y(M, "PreviousInstance.Speed > 4000"),
    N(M, "SourceInstance.Speed > 4000"),
    Y(M, "SourceInstance.Speed < PreviousInstance.Speed"),
    Y(M, "SourceInstance.DeviceID = PreviousInstance.DeviceID"),
    Y(M, "SourceInstance.__CLASS = PreviousInstance.__CLASS"),
    N(M, "SourceInstance.Missing = 1"),
    Y(M, "SourceInstance.Missing IS NULL"),
    N(M, "SourceInstance.DeviceID.X = 1"),
    Y(M, "SourceInstance.DeviceID.X IS NULL"),
    N(M, "NoSuch.X = 1"),
    Y(M, "NoSuch.__CLASS IS NULL"),
    N(M, "SourceInstance = 'x'"),
    Y(M, "SourceInstance IS NOT NULL"),
    N(M, "SourceInstance"),
    N(A, "PerceivedSeverity.X IS NOT NULL"),

    /* Pseudo-properties. */
    Y(A, "__CLASS = 'CIM_AlertIndication'"),
    Y(A, "__CLASS = 'cim_alertindication'"),
    N(A, "__CLASS <> 'cim_alertindication'"),
    Y(A, "__class LIKE 'cim\\_alert%'"),
    Y(A, "__CLASS MATCHES 'alertindication$'"),
    Y(A, "__CLASS IN ('cim_alertindication', 'x')"),
    Y(A, "__CLASS > 'cim_a'"),
    Y(M, "__CLASS = 'CIM_InstModification'"),
    Y(A, "__SOURCE LIKE '10.%'"),
    Y(A, "__SOURCE = '10.1.2.3'"),
    N(T, "__SOURCE LIKE '10.%'"),
    Y(A, "__SOURCE NOT LIKE '10.9.%'"),
    Y(A, "__USER = 'bmc4'"),
    N(A, "__USER IS NULL"),
    Y(T, "__USER IS NULL"),
    N(T, "__USER <> 'bmc4'"),
    Y(A, "__PATH = '/cimlisten/bmc4'"),
    Y(A, "__PATH LIKE '/cimlisten/%'"),
    Y(A, "__TLS"),
    Y(A, "__tls = TRUE"),
    N(A, "NOT __TLS"),
    N(A, "__TLS = FALSE"),
    N(T, "__TLS"),
    Y(T, "__TLS = FALSE"),
    N(A, "__FILTERS = 'fans'"),
    Y(A, "__FILTERS <> 'critical'"),
    Y(A, "__FILTERS IN ('x', 'all')"),
    Y(A, "__FILTERS IS NOT NULL"),
    Y(M, "__FILTERS = 'fans'"),
    N(T, "__FILTERS LIKE '%'"),
    Y(NOSRC, "__SOURCE IS NULL"),
    N(NOSRC, "__TLS"),
    Y(NOSRC, "NOT __TLS"),
    N(NOSRC, "__USER = 'bmc4'"),
    N(NOSRC, "__PATH LIKE '%'"),
    N(NOSRC, "__FILTERS = 'critical'"),
    Y(NOSRC, "__FILTERS IS NOT NULL"),

    /* Precedence, short-circuit, constants. */
    Y(A, "TRUE"),
    N(A, "FALSE"),
    Y(A, "TRUE OR FALSE AND FALSE"),
    N(A, "(TRUE OR FALSE) AND FALSE"),
    Y(A, "NOT FALSE AND TRUE"),
    N(A, "NOT (FALSE OR TRUE)"),
    Y(A, "NOT NOT TRUE"),
    Y(A, "PerceivedSeverity = 1 OR PerceivedSeverity = 6"),
    N(A, "PerceivedSeverity = 6 AND PerceivedSeverity = 1"),
    Y(A, "FALSE AND Message MATCHES 'x' OR TRUE"),
    N(A, "NOT PerceivedSeverity = 6"),
    Y(A, "NOT PerceivedSeverity = 6 OR AlertType = 2"),
    N(A, "NOT (PerceivedSeverity = 6 OR AlertType = 9)"),
    Y(A, "((((PerceivedSeverity = 6))))"),
    Y(A, "AlertType = 1 OR AlertType = 2 AND ProbableCause = 53"),
    N(A, "(AlertType = 1 OR AlertType = 2) AND ProbableCause = 54"),

    /* Literals against literals. */
    Y(A, "1 = 1"),
    N(A, "1 = 2"),
    Y(A, "'a' < 'b'"),
    Y(A, "1 < 1.5"),
    Y(A, "'abc' LIKE 'a%'"),
    Y(A, "'abc' MATCHES 'b'"),
    Y(A, "2 IN (1, 2)"),
    Y(A, "TRUE = TRUE"),
    N(A, "TRUE < FALSE"),
    Y(A, "0x10 = 16"),
    Y(A, "-0 = 0"),
    Y(A, ".5 = 0.5"),
    Y(A, "-2e3 = -2000"),
    Y(A, "18446744073709551615 > -9223372036854775808"),
    Y(A, "'' = ''"),

    /* Compile errors, with their columns. */
    E("", 1, "empty expression"),
    E("  \t ", 1, "empty expression"),
    E("Message = 'abc", 11, "unterminated string literal"),
    E("Message = 'it''s", 11, "unterminated string literal"),
    E("(PerceivedSeverity = 6", 1, "missing ')'"),
    E("((PerceivedSeverity = 6)", 1, "missing ')'"),
    E("x = 1 AND (y = 2", 11, "missing ')'"),
    E("PerceivedSeverity = 6)", 22, "unexpected ')'"),
    E(")", 1, "unexpected ')'"),
    E("(x = 1 AND y = 2 z)", 18, "expected AND, OR or ')'"),
    E("Foo(1)", 1, "unknown function 'Foo'"),
    E("PerceivedSeverity = 6 AND Lower(Message) = 'x'", 27,
	"unknown function 'Lower'"),
    E("x = Upper (y)", 5, "unknown function 'Upper'"),
    E("'abc' > 5", 7, "cannot compare string 'abc' with integer 5"),
    E("5 = 'abc'", 3, "cannot compare integer 5 with string 'abc'"),
    E("TRUE = 1", 6, "cannot compare boolean TRUE with integer 1"),
    E("1.5 <> FALSE", 5, "cannot compare real 1.5 with boolean FALSE"),
    E("'abc' IN (1)", 11, "cannot compare string 'abc' with integer 1"),
    E("Message MATCHES 'a(b'", 17, "bad regular expression"),
    E("x = 'a' AND y MATCHES '[z'", 23, "bad regular expression"),
    E("Message MATCHES 'x{1000}'", 17, "repetition count"),
    E("Message MATCHES '(a{200}){200}'", 17, "too complex"),
    E("Message MATCHES 'x+++++++++++++++++++++++++++++'", 17,
	"adjacent repetition"),
    E("Message MATCHES '(a)\\1'", 17, "back-references"),
    E("Message MATCHES 'a{'", 17, "bad regular expression"),
    E("Message MATCHES 'a*+'", 17, "adjacent repetition operators"),
    E("Message MATCHES '(((((((((a*)+)+)+)+)+)+)+)+)+'", 17, "too complex"),
    E("Message MATCHES '((((((a*){30})+)+)+)+)+)+'", 17, "too complex"),
    E("PerceivedSeverity = 99999999999999999999", 21, "out of range"),
    E("PerceivedSeverity = 18446744073709551616", 21, "out of range"),
    E("PerceivedSeverity = -9223372036854775809", 21, "out of range"),
    E("PerceivedSeverity = 0x10000000000000000", 21, "out of range"),
    E("PerceivedSeverity = 1e999", 21, "out of range"),
    E("PerceivedSeverity = 12abc", 21, "bad number literal '12abc'"),
    E("PerceivedSeverity = 0x", 21, "bad number literal"),
    E("PerceivedSeverity = 1.2.3", 21, "bad number literal"),
    E("PerceivedSeverity = 1e", 21, "bad number literal"),
    E("PerceivedSeverity = 0xZ1", 21, "bad number literal"),
    E("PerceivedSeverity AND", 22, "expected an operand after 'AND'"),
    E("PerceivedSeverity = 6 AND", 26, "expected an operand after 'AND'"),
    E("PerceivedSeverity = 6 OR OR x", 26,
	"expected an operand after 'OR', found 'OR'"),
    E("NOT", 4, "expected an operand after 'NOT'"),
    E("PerceivedSeverity =", 20, "expected an operand after '='"),
    E("= 5", 1, "expected an operand, found '='"),
    E("()", 2, "expected an operand after '('"),
    E("PerceivedSeverity 6", 19, "expected AND, OR or end of expression"),
    E("x = 1 x", 7, "expected AND, OR or end of expression, found 'x'"),
    E("a = 1 = 2", 7, "expected AND, OR or end of expression, found '='"),
    E("PerceivedSeverity IN (1, Foo)", 26, "IN list items must be literals"),
    E("PerceivedSeverity IN ()", 23, "empty IN list"),
    E("PerceivedSeverity IN (1, 2", 22, "missing ')'"),
    E("PerceivedSeverity IN 1", 22, "expected '(' after IN"),
    E("PerceivedSeverity IN (1 2)", 25, "expected ',' or ')'"),
    E("PerceivedSeverity IN (1,)", 25, "expected a literal"),
    E("PerceivedSeverity IN (NULL)", 23, "NULL in an IN list"),
    E("Message LIKE 5", 14, "LIKE needs a string pattern"),
    E("Message LIKE OwningEntity", 14, "must be a string literal"),
    E("Message LIKE", 13, "expected a pattern after LIKE"),
    E("Message MATCHES 5", 17, "MATCHES needs a string pattern"),
    E("5 LIKE '5'", 1, "LIKE applies to strings, not integer 5"),
    E("Message LIKE 'abc\\'", 14, "ends with an escape"),
    E("PerceivedSeverity = NULL", 21, "use IS NULL"),
    E("PerceivedSeverity <> NULL", 22, "use IS NOT NULL"),
    E("NULL IS NULL", 1, "NULL is not a value"),
    E("PerceivedSeverity IS 5", 22, "expected NULL or NOT NULL after 'IS'"),
    E("PerceivedSeverity IS NOT 5", 26, "expected NULL after 'IS NOT'"),
    E("PerceivedSeverity NOT = 5", 23,
	"expected LIKE, MATCHES or IN after NOT"),
    E("__FOO = 1", 1, "unknown pseudo-property '__FOO'"),
    E("__Sources = 'x'", 1, "unknown pseudo-property '__Sources'"),
    E("SourceInstance.__FOO = 1", 16, "unknown pseudo-property '__FOO'"),
    E("SourceInstance.__SOURCE = 'x'", 16, "cannot follow"),
    E("__CLASS.X = 1", 1, "'__CLASS' must be the last name"),
    E("__SOURCE.X = 1", 9, "has no properties"),
    E("SourceInstance. = 1", 16, "expected a property name after '.'"),
    E("SourceInstance.5 = 1", 16, "expected a property name after '.'"),
    E("5", 1, "integer 5 is not a condition"),
    E("'abc' OR TRUE", 1, "string 'abc' is not a condition"),
    E("Message = \"abc\"", 11, "single quotes"),
    E("PerceivedSeverity @ 5", 19, "unexpected character '@'"),
    E("PerceivedSeverity ! 5", 19, "unexpected character '!'"),
    E("x = - 5", 5, "unexpected character '-'"),
    E("x = \xc3\xa9", 5, "unexpected byte 0xc3"),
    E("x\t= 'y", 5, "unterminated string literal"),
    E("x LIKE 'a' AND", 15, "expected an operand after 'AND'"),
};

#define NROWS (sizeof rows / sizeof rows[0])

START_TEST(t_table)
{
	const struct row *r = &rows[_i];
	struct filter_error err;
	struct filter *f;
	bool m;

	f = filter_compile(r->expr, &err);
	if (r->want < 0) {
		ck_assert_msg(f == NULL, "[%d] \"%s\" compiled", _i, r->expr);
		ck_assert_msg(err.col == r->col && strstr(err.msg, r->msg),
		    "[%d] \"%s\": got %u: %s; want %u: ...%s...", _i, r->expr,
		    err.col, err.msg, r->col, r->msg);
		ck_assert_msg(strchr(err.msg, '\n') == NULL, "multi-line");
		return;
	}
	ck_assert_msg(
	    f != NULL, "[%d] \"%s\": %u: %s", _i, r->expr, err.col, err.msg);
	ck_assert_str_eq(filter_text(f), r->expr);
	m = filter_match(f, &inputs[r->rec]);
	ck_assert_msg(m == (r->want == 1), "[%d] \"%s\" on %s: got %s", _i,
	    r->expr, sample_of[r->rec], m ? "match" : "no match");
	filter_free(f);
}
END_TEST

/*
 * The QMF query predicates (eq, ne, lt, le, gt, ge, re_match, exists, true,
 * false, and, or, not) and the expression each one becomes.
 */
static const struct {
	const char *qmf;
	const char *expr;
	bool want;
} qmf[] = {
    {"['eq', 'PerceivedSeverity', 6]", "PerceivedSeverity = 6", true},
    {"['ne', 'PerceivedSeverity', 6]", "PerceivedSeverity <> 6", false},
    {"['lt', 'PerceivedSeverity', 7]", "PerceivedSeverity < 7", true},
    {"['le', 'PerceivedSeverity', 5]", "PerceivedSeverity <= 5", false},
    {"['gt', 'ProbableCause', 50]", "ProbableCause > 50", true},
    {"['ge', 'ProbableCause', 54]", "ProbableCause >= 54", false},
    {"['re_match', 'Message', 'supply [0-9]+']",
	"Message MATCHES 'supply [0-9]+'", true},
    {"['exists', 'AlertType']", "AlertType IS NOT NULL", true},
    {"['exists', 'OtherSeverity']", "OtherSeverity IS NOT NULL", false},
    {"['true']", "TRUE", true},
    {"['false']", "FALSE", false},
    {"['and', ['eq', 'AlertType', 2], ['exists', 'MessageID']]",
	"(AlertType = 2) AND (MessageID IS NOT NULL)", true},
    {"['or', ['eq', 'AlertType', 3], ['false']]", "(AlertType = 3) OR (FALSE)",
	false},
    {"['not', ['eq', 'AlertType', 3]]", "NOT (AlertType = 3)", true},
};

START_TEST(t_qmf)
{
	struct filter_error err;
	struct filter *f;
	size_t i;

	for (i = 0; i < sizeof qmf / sizeof qmf[0]; i++) {
		f = filter_compile(qmf[i].expr, &err);
		ck_assert_msg(f != NULL, "%s: %s", qmf[i].qmf, err.msg);
		ck_assert_msg(filter_match(f, &inputs[A]) == qmf[i].want,
		    "%s as %s", qmf[i].qmf, qmf[i].expr);
		filter_free(f);
	}
}
END_TEST

static char *
print_error(const char *text, bool caret)
{
	struct filter_error err;
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	ck_assert_ptr_null(filter_compile(text, &err));
	f = open_memstream(&out, &len);
	ck_assert_ptr_nonnull(f);
	filter_error_print(f, text, &err, caret);
	fclose(f);
	return out;
}

START_TEST(t_error_print)
{
	char *s;

	s = print_error("'abc' > 5", false);
	ck_assert_str_eq(s, "7: cannot compare string 'abc' with integer 5\n");
	free(s);

	s = print_error("'abc' > 5", true);
	ck_assert_str_eq(s, "7: cannot compare string 'abc' with integer 5\n"
			    "  'abc' > 5\n"
			    "        ^\n");
	free(s);

	/* Tabs are kept in the spacer so the caret lines up. */
	s = print_error("x = 1 AND\t(y = 2", true);
	ck_assert_str_eq(s, "11: missing ')'\n"
			    "  x = 1 AND\t(y = 2\n"
			    "           \t^\n");
	free(s);

	/* A multi-byte character is one column on a terminal. */
	s = print_error("'\xc3\xa9t\xc3\xa9' = y AND", true);
	ck_assert_str_eq(s, "16: expected an operand after 'AND'\n"
			    "  '\xc3\xa9t\xc3\xa9' = y AND\n"
			    "               ^\n");
	free(s);

	/* At the end of the expression. */
	s = print_error("Message = 'abc", true);
	ck_assert_str_eq(s, "11: unterminated string literal\n"
			    "  Message = 'abc\n"
			    "            ^\n");
	free(s);

	/* Only the line holding the column of a multi-line expression. */
	s = print_error("x = 1\nAND Foo(y)", true);
	ck_assert_str_eq(s, "11: unknown function 'Foo'\n"
			    "  AND Foo(y)\n"
			    "      ^\n");
	free(s);
}
END_TEST

/* Build "((((x = 1))))" with n parentheses, or n NOTs. */
static char *
nested(unsigned n, bool nots)
{
	size_t i, len = n * 4 + 16;
	char *s = malloc(len), *p = s;

	for (i = 0; i < n; i++)
		p += sprintf(p, nots ? "NOT " : "(");
	p += sprintf(p, "U8 = 255");
	for (i = 0; !nots && i < n; i++)
		*p++ = ')';
	*p = '\0';
	return s;
}

START_TEST(t_limits)
{
	struct filter_error err;
	struct filter *f;
	char *s, *p;
	size_t i;

	s = nested(200, false);
	f = filter_compile(s, &err);
	ck_assert_msg(f != NULL, "%s", err.msg);
	ck_assert(filter_match(f, &inputs[T]));
	filter_free(f);
	free(s);

	s = nested(201, false);
	ck_assert_ptr_null(filter_compile(s, &err));
	ck_assert_uint_eq(err.col, 201);
	ck_assert_str_eq(err.msg, "expression nested too deeply");
	free(s);

	s = nested(200, true);
	f = filter_compile(s, &err);
	ck_assert_msg(f != NULL, "%s", err.msg);
	ck_assert(filter_match(f, &inputs[T]));
	filter_free(f);
	free(s);

	s = nested(5000, true);
	ck_assert_ptr_null(filter_compile(s, &err));
	ck_assert_uint_eq(err.col, 801);
	ck_assert_str_eq(err.msg, "expression nested too deeply");
	free(s);

	s = nested(30000, false);
	ck_assert_ptr_null(filter_compile(s, &err));
	ck_assert_uint_eq(err.col, 201);
	free(s);

	/* 64 KiB is the limit. */
	s = malloc(65536 + 2);
	memset(s, ' ', 65536 + 1);
	memcpy(s, "TRUE", 4);
	s[65536] = '\0';
	f = filter_compile(s, &err);
	ck_assert_msg(f != NULL, "%s", err.msg);
	filter_free(f);
	s[65536] = ' ';
	s[65537] = '\0';
	ck_assert_ptr_null(filter_compile(s, &err));
	ck_assert_uint_eq(err.col, 1);
	ck_assert_ptr_nonnull(strstr(err.msg, "longer than 65536"));
	free(s);

	/* A long flat chain is no recursion. */
	s = malloc(65536);
	p = s + sprintf(s, "U8 = 1");
	while (p - s < 65000)
		p += sprintf(p, " OR U8 = 1");
	sprintf(p, " OR U8=255");
	f = filter_compile(s, &err);
	ck_assert_msg(f != NULL, "%s", err.msg);
	ck_assert(filter_match(f, &inputs[T]));
	filter_free(f);
	free(s);

	/* Paths: 32 names at most. */
	s = malloc(1024);
	p = s + sprintf(s, "A");
	for (i = 1; i < 32; i++)
		p += sprintf(p, ".A");
	sprintf(p, " IS NULL");
	f = filter_compile(s, &err);
	ck_assert_msg(f != NULL, "%s", err.msg);
	ck_assert(filter_match(f, &inputs[T]));
	filter_free(f);
	p += sprintf(p, ".A");
	sprintf(p, " IS NULL");
	ck_assert_ptr_null(filter_compile(s, &err));
	ck_assert_uint_eq(err.col, 1);
	ck_assert_ptr_nonnull(strstr(err.msg, "path too long"));
	free(s);

	/* No error struct is fine; so is NULL text. */
	ck_assert_ptr_null(filter_compile("(", NULL));
	ck_assert_ptr_null(filter_compile(NULL, &err));
	ck_assert_str_eq(err.msg, "empty expression");
	filter_free(NULL);
}
END_TEST

/* A LIKE with many '%' against a long string stays fast. */
START_TEST(t_like_pathological)
{
	struct filter_error err;
	struct filter *f;
	char *s, *expr;
	size_t i;

	s = malloc(20000);
	memset(s, 'a', 19999);
	s[19999] = '\0';
	expr = malloc(20100);
	snprintf(expr, 20100, "'%s' LIKE '%%a%%a%%a%%a%%a%%a%%a%%a%%b'", s);
	f = filter_compile(expr, &err);
	ck_assert_msg(f != NULL, "%s", err.msg);
	ck_assert(!filter_match(f, &inputs[A]));
	filter_free(f);
	/* Many '_' and '%' in turn. */
	expr[0] = '\0';
	strcat(expr, "Message LIKE '");
	for (i = 0; i < 500; i++)
		strcat(expr, "%_");
	strcat(expr, "'");
	f = filter_compile(expr, &err);
	ck_assert_msg(f != NULL, "%s", err.msg);
	ck_assert(!filter_match(f, &inputs[A]));
	filter_free(f);
	free(expr);
	free(s);
}
END_TEST

struct thread_arg {
	const struct filter *f;
	unsigned matches;
};

static void *
thread_main(void *arg)
{
	struct thread_arg *ta = arg;
	unsigned i;

	for (i = 0; i < 20000; i++) {
		ta->matches += filter_match(ta->f, &inputs[A]);
		ta->matches -= filter_match(ta->f, &inputs[T]);
	}
	return NULL;
}

/* One compiled filter, several threads at once. */
START_TEST(t_threads)
{
	struct filter_error err;
	struct thread_arg ta[4];
	pthread_t th[4];
	struct filter *f;
	int i;

	f = filter_compile("Message MATCHES 'supply [0-9]+' AND "
			   "MessageID LIKE 'SVPC%' AND __CLASS MATCHES 'alert'",
	    &err);
	ck_assert_ptr_nonnull(f);
	for (i = 0; i < 4; i++) {
		ta[i].f = f;
		ta[i].matches = 0;
		ck_assert_int_eq(
		    pthread_create(&th[i], NULL, thread_main, &ta[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ck_assert_uint_eq(ta[i].matches, 20000);
	}
	filter_free(f);
}
END_TEST

/* Without an instance, paths are absent; pseudo-properties still work. */
START_TEST(t_no_instance)
{
	struct filter_input in = {NULL, &src_bmc4, NULL, 0};
	struct filter_error err;
	struct filter *f;

	f = filter_compile("__CLASS IS NULL AND X IS NULL AND __TLS", &err);
	ck_assert_ptr_nonnull(f);
	ck_assert(filter_match(f, &in));
	filter_free(f);
}
END_TEST

static Suite *
filter_suite(void)
{
	Suite *s = suite_create("filter");
	TCase *tc;

	tc = tcase_create("table");
	tcase_add_unchecked_fixture(tc, records_setup, records_teardown);
	tcase_add_loop_test(tc, t_table, 0, (int)NROWS);
	tcase_add_test(tc, t_qmf);
	tcase_add_test(tc, t_limits);
	tcase_add_test(tc, t_like_pathological);
	tcase_add_test(tc, t_threads);
	tcase_add_test(tc, t_no_instance);
	suite_add_tcase(s, tc);

	tc = tcase_create("print");
	tcase_add_test(tc, t_error_print);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(filter_suite());
}
