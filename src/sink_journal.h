/*
 * The journal sink's field list, built apart from the sending so that tests
 * can check exactly what goes to sd_journal_sendv.
 */
#ifndef CL_SINK_JOURNAL_H
#define CL_SINK_JOURNAL_H

#include <stddef.h>
#include <sys/uio.h>

#include "buf.h"
#include "config.h"
#include "format.h"

/* Longest field name the journal takes, and the cap on a property value. */
#define JOURNAL_NAME_MAX 64
#define JOURNAL_VALUE_MAX 4096
#define JOURNAL_TRUNCATED "...[truncated]"

/*
 * The fields of one entry: iov[0..n) each "NAME=value" (not NUL-terminated,
 * values may hold any byte), pointing into data. Reused from record to
 * record; valid until the next journal_fields call or journal_fields_free.
 */
struct journal_fields {
	struct buf data;
	struct iovec *iov;
	size_t n;
	size_t alloc;
	size_t *off;                 /* start of each field in data */
};

/*
 * Build the entry for one spool line (JSON record, with or without the
 * final '\n'): MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, CIM_CLASS, CIM_SEQ,
 * CIM_SOURCE, CIM_MESSAGE_ID, CIM_TIME and CIM_P_<NAME> per scalar
 * property, in that order (see cimlistend.conf(5)). A line that is not a
 * record gives MESSAGE (the line), PRIORITY, SYSLOG_IDENTIFIER and
 * CIM_SEQ (`seq`) and returns -1 with *cause (caller frees).
 */
int journal_fields(struct journal_fields *, struct format_ctx *,
    const struct sink_conf *, uint64_t seq, const char *line, size_t len,
    char **cause);
void journal_fields_free(struct journal_fields *);
/*
 * Append the journal field name for property `name`: "CIM_P_" and the
 * name upper-cased, every byte not A-Z, 0-9 or '_' made '_', leading '_'
 * and digits after the prefix dropped, cut to JOURNAL_NAME_MAX in all. Returns -1 (nothing
 * appended) when no letter is left.
 */
int journal_field_name(struct buf *, const char *name);

#endif
