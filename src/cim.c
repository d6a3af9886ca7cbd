/*
 * cim.c: names and small predicates for the CIM type model (cim.h).
 */
#include "autoconf.h"

#include <strings.h>

#include "cim.h"

static const char *const type_names[] = {
	[CIM_NONE] = NULL,
	[CIM_BOOLEAN] = "boolean",
	[CIM_CHAR16] = "char16",
	[CIM_STRING] = "string",
	[CIM_DATETIME] = "datetime",
	[CIM_UINT8] = "uint8",
	[CIM_SINT8] = "sint8",
	[CIM_UINT16] = "uint16",
	[CIM_SINT16] = "sint16",
	[CIM_UINT32] = "uint32",
	[CIM_SINT32] = "sint32",
	[CIM_UINT64] = "uint64",
	[CIM_SINT64] = "sint64",
	[CIM_REAL32] = "real32",
	[CIM_REAL64] = "real64",
	[CIM_REFERENCE] = "reference",
	[CIM_INSTANCE] = "instance",
};

const char *
cim_type_name(enum cim_type t)
{
	if ((unsigned)t >= sizeof type_names / sizeof type_names[0])
		return NULL;
	return type_names[t];
}

enum cim_type
cim_type_parse(const char *s)
{
	unsigned t;

	for (t = CIM_BOOLEAN; t <= CIM_INSTANCE; t++)
		if (strcasecmp(s, type_names[t]) == 0)
			return (enum cim_type)t;
	return CIM_NONE;
}

bool
cim_type_is_unsigned(enum cim_type t)
{
	return t == CIM_UINT8 || t == CIM_UINT16 || t == CIM_UINT32 ||
	    t == CIM_UINT64;
}

bool
cim_type_is_signed(enum cim_type t)
{
	return t == CIM_SINT8 || t == CIM_SINT16 || t == CIM_SINT32 ||
	    t == CIM_SINT64;
}

bool
cim_type_is_integer(enum cim_type t)
{
	return cim_type_is_unsigned(t) || cim_type_is_signed(t);
}

bool
cim_type_is_real(enum cim_type t)
{
	return t == CIM_REAL32 || t == CIM_REAL64;
}

const struct cim_property *
cim_instance_get(const struct cim_instance *inst, const char *name)
{
	size_t i;

	for (i = 0; i < inst->nprops; i++)
		if (strcasecmp(inst->props[i].name, name) == 0)
			return &inst->props[i];
	return NULL;
}
