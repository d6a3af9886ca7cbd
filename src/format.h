/*
 * The text forms of a record that sinks and subscribers write (DESIGN
 * section 4): the canonical JSON line, MOF ("instance of Class { ... };",
 * the form pywbem and OpenPegasus users read) and templates (user text
 * with {placeholders}), plus the PerceivedSeverity to syslog level mapping
 * that syslog and journal sinks and {__SEVERITY} share.
 *
 * Templates are compiled once (config load, subscribe) into a shared,
 * reference-counted object; rendering never fails and never allocates
 * beyond the output buffer. A format_ctx turns spool lines (JSON) back
 * into records for the non-JSON forms; it belongs to one thread.
 */
#ifndef CL_FORMAT_H
#define CL_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cim.h"
#include "config.h"
#include "record.h"

/* A compiled template. */
struct template;

struct template_error {
	unsigned col;   /* 1-based byte offset in the text of the blamed byte */
	char msg[160];
};

/*
 * Compile `text`: {__CLASS} {__SEQ} {__TIME} {__SOURCE} {__PATH}
 * {__SEVERITY} {__USER} {__MESSAGE_ID} {__FILTERS}, {Prop} and dotted
 * {Prop.Sub} paths into embedded instances, "{{" and "}}" for braces.
 * NULL with *err filled on a syntax error or an unknown "__" name.
 */
struct template *template_compile(const char *text, struct template_error *err);
/* Another reference; template_free drops one (NULL is fine). */
struct template *template_ref(struct template *);
void template_free(struct template *);
/* The source text. */
const char *template_text(const struct template *);
/*
 * Append the rendering of `rec` (level: the syslog level {__SEVERITY}
 * names). A property the record lacks or a NULL renders as nothing; values
 * as in MOF except that strings, datetimes and references are written
 * bare; array items joined with ", "; embedded instances as one-line MOF.
 */
void template_render(const struct template *, const struct record *,
    int level, struct buf *out);

/*
 * Append the MOF form of an instance: "instance of C {\n   P = v;\n};"
 * with `indent` spaces before every line after the first (3 more per
 * nesting level), no final newline. String and char16 escapes of DSP0221;
 * arrays in braces; NULL as NULL; embedded instances nested.
 */
void format_mof_instance(struct buf *out, const struct cim_instance *,
    unsigned indent);
/* The whole record as MOF (its instance); no final newline. */
void format_mof(const struct record *, struct buf *out);

/* Syslog level (LOG_EMERG..LOG_DEBUG) of a level name; -1 if unknown. */
int format_level_parse(const char *);
/* "emerg" .. "debug". */
const char *format_level_name(int level);
/* DESIGN's mapping of a CIM PerceivedSeverity value to a syslog level. */
int format_severity_map(uint64_t perceived);
/*
 * The syslog level of a record for a sink whose `severity` setting is
 * `spec`: NULL or "" maps PerceivedSeverity (absent: notice); a level name
 * is that level; otherwise a property path whose integer value is mapped
 * like PerceivedSeverity or whose string value is a level name (notice
 * when absent or unusable).
 */
int format_severity(const struct record *, const char *spec);

/*
 * Per-sink rendering state: decodes spool lines and renders them in the
 * sink's format. Not thread-safe.
 */
struct format_ctx;

struct format_ctx *format_ctx_new(const struct sink_conf *);
void format_ctx_free(struct format_ctx *);
/*
 * Decode a JSON record line into a record valid until the next decode.
 * NULL with *cause (caller frees) if the line is not a record.
 */
const struct record *format_decode(struct format_ctx *, const char *line,
    size_t len, char **cause);
/* The record's syslog level under the sink's severity setting. */
int format_ctx_severity(struct format_ctx *, const struct record *);
/*
 * Append the sink's form of the record (json: the line itself; mof;
 * template), without a final newline. `line` is the record's JSON line,
 * `rec` its decoded form (may be NULL for json).
 */
void format_ctx_render(struct format_ctx *, const char *line, size_t len,
    const struct record *rec, struct buf *out);
/*
 * Decode when the format needs it and render, in one call: what the file
 * sink does per line. -1 with *cause if the line cannot be decoded.
 */
int format_line(struct format_ctx *, const char *line, size_t len,
    struct buf *out, char **cause);

#endif
