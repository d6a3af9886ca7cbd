/*
 * fuzz_filter.c: libFuzzer target for the filter compiler. Each input,
 * as a NUL-terminated string, is compiled; an error must carry a column
 * inside the text (or just past it) and a one-line message, and is printed
 * with a caret; a compiled filter must give back its text and is evaluated
 * against three indications (copies of the shared alert, all-types and
 * inst-modification samples) with and without a source, then freed.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cimxml.h"
#include "filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char alert_xml[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n"
    "<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.4\">\n"
    "<MESSAGE ID=\"1001\" PROTOCOLVERSION=\"1.4\">\n"
    "<SIMPLEEXPREQ>\n"
    "<EXPMETHODCALL NAME=\"ExportIndication\">\n"
    "<EXPPARAMVALUE NAME=\"NewIndication\">\n"
    "<INSTANCE CLASSNAME=\"CIM_AlertIndication\">\n"
    "<PROPERTY NAME=\"IndicationIdentifier\" "
    "TYPE=\"string\"><VALUE>ind-000042</VALUE></PROPERTY>\n"
    "<PROPERTY NAME=\"IndicationTime\" "
    "TYPE=\"datetime\"><VALUE>20261122013000.123456+000</VALUE></PROPERTY>\n"
    "<PROPERTY NAME=\"AlertType\" TYPE=\"uint16\"><VALUE>2</VALUE></PROPERTY>\n"
    "<PROPERTY NAME=\"PerceivedSeverity\" "
    "TYPE=\"uint16\"><VALUE>6</VALUE></PROPERTY>\n"
    "<PROPERTY NAME=\"ProbableCause\" "
    "TYPE=\"uint16\"><VALUE>53</VALUE></PROPERTY>\n"
    "<PROPERTY NAME=\"OwningEntity\" "
    "TYPE=\"string\"><VALUE>DMTF</VALUE></PROPERTY>\n"
    "<PROPERTY NAME=\"MessageID\" "
    "TYPE=\"string\"><VALUE>SVPC0123</VALUE></PROPERTY>\n"
    "<PROPERTY NAME=\"Message\" TYPE=\"string\"><VALUE>Power supply 2 on "
    "chassis rack4-u12 has failed; redundancy lost</VALUE></PROPERTY>\n"
    "<PROPERTY.ARRAY NAME=\"MessageArguments\" "
    "TYPE=\"string\"><VALUE.ARRAY><VALUE>2</VALUE><VALUE>rack4-u12</VALUE></"
    "VALUE.ARRAY></PROPERTY.ARRAY>\n"
    "<PROPERTY NAME=\"AlertingManagedElement\" "
    "TYPE=\"string\"><VALUE>//bmc4.example.net/root/"
    "cimv2:CIM_PowerSupply.DeviceID=&quot;PSU2&quot;</VALUE></PROPERTY>\n"
    "<PROPERTY NAME=\"AlertingElementFormat\" "
    "TYPE=\"uint16\"><VALUE>2</VALUE></PROPERTY>\n"
    "<PROPERTY NAME=\"SystemName\" "
    "TYPE=\"string\"><VALUE>rack4-u12.example.net</VALUE></PROPERTY>\n"
    "<PROPERTY NAME=\"EventID\" "
    "TYPE=\"string\"><VALUE>PSU-0042</VALUE></PROPERTY>\n"
    "<PROPERTY NAME=\"RecommendedActions\" "
    "TYPE=\"uint32\"><VALUE>131072</VALUE></PROPERTY>\n"
    "</INSTANCE>\n"
    "</EXPPARAMVALUE>\n"
    "</EXPMETHODCALL>\n"
    "</SIMPLEEXPREQ>\n"
    "</MESSAGE>\n"
    "</CIM>\n";

static const char mod_xml[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n"
    "<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.4\">\n"
    "<MESSAGE ID=\"mod-88\" PROTOCOLVERSION=\"1.4\">\n"
    "<SIMPLEEXPREQ>\n"
    "<EXPMETHODCALL NAME=\"ExportIndication\">\n"
    "<EXPPARAMVALUE NAME=\"NewIndication\">\n"
    "<INSTANCE CLASSNAME=\"CIM_InstModification\" >\n"
    "<PROPERTY NAME=\"IndicationTime\"  "
    "TYPE=\"datetime\"><VALUE>20261122020000.000000+000</VALUE></PROPERTY>\n"
    "<PROPERTY NAME=\"SourceInstanceModelPath\"  "
    "TYPE=\"string\"><VALUE>root/cimv2:Acme_Fan.DeviceID=&quot;FAN3&quot;</"
    "VALUE></PROPERTY>\n"
    "<PROPERTY NAME=\"SourceInstance\" TYPE=\"string\" "
    "EmbeddedObject=\"instance\"><VALUE>&lt;INSTANCE "
    "CLASSNAME=&quot;Acme_Fan&quot;&gt;&lt;PROPERTY NAME=&quot;DeviceID&quot; "
    "TYPE=&quot;string&quot;&gt;&lt;VALUE&gt;FAN3&lt;/VALUE&gt;&lt;/"
    "PROPERTY&gt;&lt;PROPERTY NAME=&quot;Speed&quot; "
    "TYPE=&quot;uint64&quot;&gt;&lt;VALUE&gt;0&lt;/VALUE&gt;&lt;/"
    "PROPERTY&gt;&lt;PROPERTY.ARRAY NAME=&quot;OperationalStatus&quot; "
    "TYPE=&quot;uint16&quot;&gt;&lt;VALUE.ARRAY&gt;&lt;VALUE&gt;6&lt;/"
    "VALUE&gt;&lt;VALUE&gt;11&lt;/VALUE&gt;&lt;/VALUE.ARRAY&gt;&lt;/"
    "PROPERTY.ARRAY&gt;&lt;/INSTANCE&gt;</VALUE></PROPERTY>\n"
    "<PROPERTY NAME=\"PreviousInstance\" TYPE=\"string\" "
    "EMBEDDEDOBJECT=\"object\"><VALUE><![CDATA[<INSTANCE "
    "CLASSNAME=\"Acme_Fan\"><PROPERTY NAME=\"DeviceID\" "
    "TYPE=\"string\"><VALUE>FAN3</VALUE></PROPERTY><PROPERTY NAME=\"Speed\" "
    "TYPE=\"uint64\"><VALUE>4200</VALUE></PROPERTY><PROPERTY.ARRAY "
    "NAME=\"OperationalStatus\" "
    "TYPE=\"uint16\"><VALUE.ARRAY><VALUE>2</VALUE></VALUE.ARRAY></"
    "PROPERTY.ARRAY></INSTANCE>]]></VALUE></PROPERTY>\n"
    "</INSTANCE>\n"
    "</EXPPARAMVALUE>\n"
    "</EXPMETHODCALL>\n"
    "</SIMPLEEXPREQ>\n"
    "</MESSAGE>\n"
    "</CIM>\n";

static const char types_xml[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n"
    "<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.4\">\n"
    "<MESSAGE ID=\"types-1\" PROTOCOLVERSION=\"1.4\">\n"
    "<SIMPLEEXPREQ>\n"
    "<EXPMETHODCALL NAME=\"ExportIndication\">\n"
    "<EXPPARAMVALUE NAME=\"NewIndication\">\n"
    "<INSTANCE CLASSNAME=\"Acme_TypesIndication\">\n"
    "<PROPERTY NAME=\"B\" TYPE=\"boolean\"><VALUE>true</VALUE></PROPERTY>\n"
    "<PROPERTY NAME=\"U8\" TYPE=\"uint8\"><VALUE>255</VALUE></PROPERTY>\n"
    "<PROPERTY NAME=\"S8\" TYPE=\"sint8\"><VALUE>-128</VALUE></PROPERTY>\n"
    "<PROPERTY NAME=\"U16\" TYPE=\"uint16\"><VALUE> 0x1F </VALUE></PROPERTY>\n"
    "<PROPERTY NAME=\"S16\" TYPE=\"sint16\"><VALUE>+12</VALUE></PROPERTY>\n"
    "<PROPERTY NAME=\"U32\" "
    "TYPE=\"uint32\"><VALUE>4294967295</VALUE></PROPERTY>\n"
    "<PROPERTY NAME=\"S32\" "
    "TYPE=\"sint32\"><VALUE>-2147483648</VALUE></PROPERTY>\n"
    "<PROPERTY NAME=\"U64\" "
    "TYPE=\"uint64\"><VALUE>18446744073709551615</VALUE></PROPERTY>\n"
    "<PROPERTY NAME=\"S64\" "
    "TYPE=\"sint64\"><VALUE>-9223372036854775808</VALUE></PROPERTY>\n"
    "<PROPERTY NAME=\"R32\" TYPE=\"real32\"><VALUE>-1.5e-3</VALUE></PROPERTY>\n"
    "<PROPERTY NAME=\"R64\" TYPE=\"real64\"><VALUE>.25E+2</VALUE></PROPERTY>\n"
    "<PROPERTY NAME=\"C16\" TYPE=\"char16\"><VALUE>&#xE9;</VALUE></PROPERTY>\n"
    "<PROPERTY NAME=\"Str\" TYPE=\"string\"><VALUE>tab&#9;quote&quot; "
    "backslash\\ snow&#x2603; emoji&#x1F600;</VALUE></PROPERTY>\n"
    "<PROPERTY NAME=\"When\" "
    "TYPE=\"datetime\"><VALUE>20261122013000.123456-300</VALUE></PROPERTY>\n"
    "<PROPERTY NAME=\"Span\" "
    "TYPE=\"datetime\"><VALUE>00000001020304.000000:000</VALUE></PROPERTY>\n"
    "<PROPERTY NAME=\"Nothing\" TYPE=\"sint32\"></PROPERTY>\n"
    "<PROPERTY.ARRAY NAME=\"Ports\" TYPE=\"uint16\" "
    "ARRAYSIZE=\"3\"><VALUE.ARRAY><VALUE>22</VALUE><VALUE.NULL/><VALUE>5989</"
    "VALUE></VALUE.ARRAY></PROPERTY.ARRAY>\n"
    "<PROPERTY.ARRAY NAME=\"Flags\" "
    "TYPE=\"boolean\"><VALUE.ARRAY><VALUE>FALSE</VALUE><VALUE>TrUe</VALUE></"
    "VALUE.ARRAY></PROPERTY.ARRAY>\n"
    "<PROPERTY.REFERENCE NAME=\"Origin\" "
    "REFERENCECLASS=\"Acme_Chassis\"><VALUE.REFERENCE><INSTANCEPATH><"
    "NAMESPACEPATH><HOST>bmc7.example.net</HOST><LOCALNAMESPACEPATH><NAMESPACE "
    "NAME=\"root\"/><NAMESPACE "
    "NAME=\"cimv2\"/></LOCALNAMESPACEPATH></NAMESPACEPATH><INSTANCENAME "
    "CLASSNAME=\"Acme_Chassis\"><KEYBINDING NAME=\"Tag\"><KEYVALUE "
    "VALUETYPE=\"string\">CH-7</KEYVALUE></KEYBINDING><KEYBINDING "
    "NAME=\"Slot\"><KEYVALUE VALUETYPE=\"numeric\" "
    "TYPE=\"uint8\">4</KEYVALUE></KEYBINDING></INSTANCENAME></INSTANCEPATH></"
    "VALUE.REFERENCE></PROPERTY.REFERENCE>\n"
    "</INSTANCE>\n"
    "</EXPPARAMVALUE>\n"
    "</EXPMETHODCALL>\n"
    "</SIMPLEEXPREQ>\n"
    "</MESSAGE>\n"
    "</CIM>\n";

static const char *const samples[] = {alert_xml, mod_xml, types_xml};
#define NSAMPLES (sizeof samples / sizeof samples[0])

static const struct record_source source = {
    "10.1.2.3", 49152, true, "bmc4", "/cimlisten/bmc4"};
static const char *const filter_names[] = {"critical", "all"};

static struct cimxml_message *msgs[NSAMPLES];
static FILE *devnull;

/* Where results go, so that evaluation is not optimised away. */
volatile unsigned fuzz_filter_sink;

/* Parse the samples once; they live as long as the process. */
static void
init(void)
{
	size_t i;

	if (devnull != NULL)
		return;
	for (i = 0; i < NSAMPLES; i++) {
		if (cimxml_parse(samples[i], strlen(samples[i]), NULL, &msgs[i],
			NULL) != CIMXML_OK)
			abort();
	}
	devnull = fopen("/dev/null", "w");
	if (devnull == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct filter_input in;
	struct filter_error err;
	struct filter *f;
	char *text;
	size_t i, len;

	init();
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	len = strlen(text);

	f = filter_compile(text, &err);
	if (f == NULL) {
		if (err.col < 1 || err.col > len + 1 || err.msg[0] == '\0' ||
		    strchr(err.msg, '\n') != NULL ||
		    strlen(err.msg) >= sizeof err.msg)
			abort();
		filter_error_print(devnull, text, &err, true);
		free(text);
		return 0;
	}
	if (strcmp(filter_text(f), text) != 0)
		abort();
	for (i = 0; i < NSAMPLES; i++) {
		memset(&in, 0, sizeof in);
		in.inst = msgs[i]->exports[0].indication;
		fuzz_filter_sink += filter_match(f, &in);
		in.source = &source;
		in.filters = filter_names;
		in.nfilters = 2;
		fuzz_filter_sink += filter_match(f, &in);
	}
	filter_free(f);
	free(text);
	return 0;
}
