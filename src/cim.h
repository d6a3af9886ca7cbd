/*
 * The typed CIM instance model that the parser produces and everything
 * downstream (record JSON, filters) reads. All memory of an instance tree
 * belongs to the arena of the message it was parsed from; nothing here is
 * freed individually.
 */
#ifndef CL_CIM_H
#define CL_CIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cim_type {
	CIM_NONE = 0,
	CIM_BOOLEAN,
	CIM_CHAR16,
	CIM_STRING,
	CIM_DATETIME,
	CIM_UINT8,
	CIM_SINT8,
	CIM_UINT16,
	CIM_SINT16,
	CIM_UINT32,
	CIM_SINT32,
	CIM_UINT64,
	CIM_SINT64,
	CIM_REAL32,
	CIM_REAL64,
	CIM_REFERENCE, /* value.str is a WBEM URI (DSP0207) without scheme */
	CIM_INSTANCE,  /* an embedded instance (EmbeddedObject) */
};

/* One value: a scalar property's value or one array item. */
struct cim_value {
	bool null; /* a VALUE.NULL array item */
	union {
		bool b;              /* boolean */
		uint64_t u;          /* uint8 .. uint64 */
		int64_t s;           /* sint8 .. sint64 */
		double r;            /* real64; real32 holds the float's value */
		const char *str;     /* string, char16 (one UTF-8 char), datetime, reference */
		struct cim_instance *inst; /* instance */
	} v;
};

struct cim_property {
	const char *name;
	enum cim_type type;
	bool array;          /* PROPERTY.ARRAY (or an array-typed reference) */
	bool null;           /* the whole property is NULL (scalar or array) */
	size_t count;        /* scalar: 1 unless null; array: number of items */
	struct cim_value *values;
};

struct cim_instance {
	const char *classname;
	size_t nprops;
	struct cim_property *props; /* in document order */
};

/* "uint16", "instance", ...; NULL for CIM_NONE. */
const char *cim_type_name(enum cim_type);
/* Parse a DSP0201 TYPE attribute value (case-insensitive); CIM_NONE if unknown. */
enum cim_type cim_type_parse(const char *);
bool cim_type_is_unsigned(enum cim_type);
bool cim_type_is_signed(enum cim_type);
bool cim_type_is_integer(enum cim_type);
bool cim_type_is_real(enum cim_type);
/* Case-insensitive lookup (CIM names are case-insensitive); NULL if absent. */
const struct cim_property *cim_instance_get(const struct cim_instance *, const char *name);

#endif
