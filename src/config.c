/*
 * config.c: loads cimlistend.conf and its conf.d drop-ins into a fresh
 * struct config, validates it completely and hands it over only when clean.
 *
 * inih drives the parse, but never sees the user's text: its fixed line
 * buffer splits long lines, an indented "key = v" or a repeated key reaches
 * the handler as a silent continuation, and " ;" starts a comment even inside
 * quotes. So the file is lexed here, by the ini_reader given to
 * ini_parse_stream: it reads physical lines of any length, strips comments,
 * joins continuation lines and handles "\;", BOM and CRLF, records every key
 * with its value and the physical line and column of each value byte in a
 * side table, and hands inih short synthetic lines ("[3]", "s=3", "k=4") that
 * refer to that table. The handler looks the real data up.
 *
 * Every key is described once, in keys[] below: section, sink types, type,
 * bounds, default, reloadability, whether this build implements it, help.
 * Defaults are parsed from that table, and config_print_keys prints it.
 *
 * A filter's where is compiled as it is read (filter_compile), and a compile
 * error is placed through the side table at the physical line and column of
 * the byte it blames, continuation lines and "\;" escapes notwithstanding.
 *
 * Errors are collected per file, sorted by line, as "FILE:LINE[:COL]: msg";
 * the checks that need every file (sink references, duplicate sink files)
 * follow. Nothing here touches global state, so reload can run it any time.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <ini.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "acl.h"
#include "auth.h"
#include "buf.h"
#include "config.h"
#include "filter.h"
#include "format.h"
#include "log.h"
#include "tls.h"
#include "xmalloc.h"

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif
#ifndef RUNSTATEDIR
#define RUNSTATEDIR "/run"
#endif

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

#define KEY_NAME_MAX 64
#define SECTION_NAME_MAX 64

enum section_kind {
	SEC_NONE, /* before the first section header */
	SEC_LISTENER,
	SEC_DAEMON,
	SEC_METRICS,
	SEC_SINK,
	SEC_FILTER,
	SEC_IGNORE /* a bad header: its keys are skipped */
};

enum key_type {
	KT_BOOL,
	KT_UINT,
	KT_PORT,
	KT_SIZE,
	KT_DURATION,
	KT_STRING,
	KT_PATH,
	KT_ENUM,
	KT_LIST,
	KT_MODE,
	KT_LOGLEVEL,
	KT_HOSTPORT
};

/* Sink types, as bits for the key table and as words for "type". */
#define ST_FILE 0x01
#define ST_SYSLOG 0x02
#define ST_JOURNAL 0x04
#define ST_SOCKET 0x08
#define ST_EXEC 0x10
#define ST_ALL 0x1f
#define ST_SUPPORTED (ST_FILE | ST_SYSLOG | ST_JOURNAL | ST_SOCKET | ST_EXEC)

#define KF_IMPLEMENTED 0x01 /* this build uses the key */
#define KF_RELOADABLE 0x02  /* a reload applies it without a restart */
#define KF_EMPTY_OK 0x04    /* string, path, list: empty means "unset" */
#define KF_ENUM_STRING 0x08 /* enum stored as a string, not an index */
#define KF_REQUIRED 0x10    /* no default: must be set (for the docs) */

/* One key of the file, as the table below describes it. */
struct key {
	enum section_kind section;
	unsigned sinktypes; /* SEC_SINK: the types it applies to */
	const char *name;
	enum key_type type;
	uint64_t min, max; /* numbers, sizes, durations */
	const char *def;   /* NULL: no default */
	const char *off;   /* not implemented: the value still accepted */
	/* KT_ENUM: the words, those this build handles (0: all), a label. */
	const char *const *words;
	unsigned supported;
	const char *wordlabel;
	/* KT_LIST: a check of each item (NULL or why not), the item's name. */
	const char *(*check)(const char *);
	const char *itemlabel;
	/* Offsets + 1 of the value, its origin, a list's length; 0: none. */
	size_t field;
	size_t ofield;
	size_t nfield;
	int flags;
	const char *unsupported; /* message when set but not implemented */
	const char *help;
};

/* clang-format off */
static const char *const sink_type_words[] = {
	"file", "syslog", "journal", "socket", "exec", NULL
};
static const char *const format_words[] = {
	"json", "mof", "template", NULL
};
static const char *const auth_words[] = { "none", "basic", NULL };
static const char *const fsync_words[] = {
	"none", "batch", "always", NULL
};
static const char *const facility_words[] = {
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "authpriv", "ftp", "local0", "local1", "local2",
	"local3", "local4", "local5", "local6", "local7", NULL
};
static const char *const protocol_words[] = { "rfc3164", "rfc5424", NULL };

static const char *check_address(const char *);

#define LF(f) (offsetof(struct listener_conf, f) + 1)
#define DF(f) (offsetof(struct daemon_conf, f) + 1)
#define MF(f) (offsetof(struct metrics_conf, f) + 1)
#define SF(f) (offsetof(struct sink_conf, f) + 1)
#define FF(f) (offsetof(struct filter_conf, f) + 1)
#define IMPL (KF_IMPLEMENTED | KF_RELOADABLE)
#define LATER KF_RELOADABLE
#define K1 1024ULL
#define M1 (1024ULL * 1024)
#define G1 (1024ULL * 1024 * 1024)

static const struct key keys[] = {
	/* [listener] */
	{ .section = SEC_LISTENER, .name = "http_port", .type = KT_PORT,
	  .max = 65535, .def = "5988", .field = LF(http_port), .flags = IMPL,
	  .help = "TCP port for CIM-XML exports over plain HTTP; 0 disables "
	    "HTTP." },
	{ .section = SEC_LISTENER, .name = "https_port", .type = KT_PORT,
	  .max = 65535, .def = "0", .field = LF(https_port),
	  .ofield = LF(https_port_origin), .flags = IMPL,
	  .help = "TCP port for HTTPS (needs certfile); 0 disables HTTPS." },
	{ .section = SEC_LISTENER, .name = "bind", .type = KT_LIST,
	  .def = "::", .check = check_address, .itemlabel = "address",
	  .field = LF(bind), .nfield = LF(nbind), .flags = IMPL,
	  .help = "Addresses to listen on: comma-separated IPv4 or IPv6 "
	    "literals; :: is every address, IPv4 included." },
	{ .section = SEC_LISTENER, .name = "certfile", .type = KT_PATH,
	  .def = "", .field = LF(certfile), .ofield = LF(certfile_origin),
	  .flags = IMPL | KF_EMPTY_OK,
	  .help = "PEM server certificate, then its chain, for HTTPS; may "
	    "hold the key too." },
	{ .section = SEC_LISTENER, .name = "keyfile", .type = KT_PATH,
	  .def = "", .field = LF(keyfile), .flags = IMPL | KF_EMPTY_OK,
	  .help = "PEM private key of certfile; empty: it is in certfile." },
	{ .section = SEC_LISTENER, .name = "trustfile", .type = KT_PATH,
	  .def = "", .field = LF(trustfile), .flags = IMPL | KF_EMPTY_OK,
	  .help = "PEM CA bundle; when set, HTTPS clients must present a "
	    "certificate it verifies (403 otherwise)." },
	{ .section = SEC_LISTENER, .name = "auth", .type = KT_ENUM,
	  .words = auth_words, .def = "none", .field = LF(auth),
	  .flags = IMPL,
	  .help = "Client authentication: none or basic (HTTP Basic against "
	    "users_file)." },
	{ .section = SEC_LISTENER, .name = "users_file", .type = KT_PATH,
	  .def = "", .field = LF(users_file), .ofield = LF(users_file_origin),
	  .flags = IMPL | KF_EMPTY_OK,
	  .help = "user:crypt(3)-hash lines for auth = basic; refused if "
	    "writable by others." },
	{ .section = SEC_LISTENER, .name = "allow", .type = KT_LIST,
	  .def = "", .check = acl_check_item, .itemlabel = "network",
	  .field = LF(allow), .nfield = LF(nallow),
	  .flags = IMPL | KF_EMPTY_OK,
	  .help = "Source addresses or CIDR networks allowed to connect; "
	    "others are closed when accepted; empty allows all." },
	{ .section = SEC_LISTENER, .name = "tls_priorities", .type = KT_STRING,
	  .def = "", .field = LF(tls_priorities), .flags = IMPL | KF_EMPTY_OK,
	  .help = "GnuTLS priority string; empty is TLS 1.2 and 1.3 with "
	    "GnuTLS's NORMAL ciphers." },
	{ .section = SEC_LISTENER, .name = "allowed_clients", .type = KT_LIST,
	  .def = "", .field = LF(allowed_clients),
	  .nfield = LF(nallowed_clients), .flags = IMPL | KF_EMPTY_OK,
	  .help = "Client certificate names (CN, DNS or IP subjectAltName) "
	    "accepted when trustfile is set; empty accepts any it verifies." },
	{ .section = SEC_LISTENER, .name = "allow_basic_over_http",
	  .type = KT_BOOL, .def = "no", .field = LF(allow_basic_over_http),
	  .flags = IMPL,
	  .help = "Accept Basic credentials over plain HTTP (else such "
	    "requests get 401)." },
	{ .section = SEC_LISTENER, .name = "threads", .type = KT_UINT,
	  .max = 256, .def = "0", .field = LF(threads), .flags = IMPL,
	  .help = "Request threads; 0 is one per CPU." },
	{ .section = SEC_LISTENER, .name = "max_body", .type = KT_SIZE,
	  .min = K1, .max = G1, .def = "4M", .field = LF(max_body),
	  .flags = IMPL,
	  .help = "Largest request body accepted; a larger one gets 413." },
	{ .section = SEC_LISTENER, .name = "max_connections", .type = KT_UINT,
	  .min = 1, .max = 65536, .def = "1024",
	  .field = LF(max_connections), .flags = IMPL,
	  .help = "Concurrent connections; more are refused." },
	{ .section = SEC_LISTENER, .name = "max_connections_per_ip",
	  .type = KT_UINT, .max = 65536, .def = "64",
	  .field = LF(max_connections_per_ip), .flags = IMPL,
	  .help = "Concurrent connections from one address; 0 is unlimited." },
	{ .section = SEC_LISTENER, .name = "rate_limit", .type = KT_UINT,
	  .max = 1000000, .def = "0", .field = LF(rate_limit), .flags = IMPL,
	  .help = "Requests a second from one address (a burst of as many "
	    "is allowed); more are answered 503 with Retry-After. 0 is "
	    "unlimited." },
	{ .section = SEC_LISTENER, .name = "timeout", .type = KT_DURATION,
	  .min = 1, .max = 3600, .def = "30s", .field = LF(timeout),
	  .flags = IMPL, .help = "Idle connection timeout." },
	{ .section = SEC_LISTENER, .name = "connection_memory", .type = KT_SIZE,
	  .min = 16 * K1, .max = 16 * M1, .def = "32K",
	  .field = LF(connection_memory), .flags = IMPL,
	  .help = "Memory for each connection's headers and buffers." },
	{ .section = SEC_LISTENER, .name = "strict", .type = KT_BOOL,
	  .def = "no", .field = LF(strict), .flags = IMPL,
	  .help = "Require the CIMExport, CIMExportMethod and "
	    "CIMProtocolVersion headers." },
	{ .section = SEC_LISTENER, .name = "max_xml_depth", .type = KT_UINT,
	  .min = 8, .max = 1024, .def = "64", .field = LF(max_xml_depth),
	  .flags = IMPL, .help = "Deepest XML element nesting accepted." },
	{ .section = SEC_LISTENER, .name = "max_embedding_depth",
	  .type = KT_UINT, .min = 1, .max = 64, .def = "8",
	  .field = LF(max_embedding_depth), .flags = IMPL,
	  .help = "Deepest nesting of embedded instances accepted." },
	{ .section = SEC_LISTENER, .name = "max_elements", .type = KT_UINT,
	  .min = 64, .max = 100000000, .def = "100000",
	  .field = LF(max_elements), .flags = IMPL,
	  .help = "Most XML elements in a request, those of embedded "
	    "instances included." },
	{ .section = SEC_LISTENER, .name = "max_attribute_length",
	  .type = KT_SIZE, .min = 256, .max = 16 * M1, .def = "64K",
	  .field = LF(max_attribute_length), .flags = IMPL,
	  .help = "Longest XML attribute value accepted." },
	{ .section = SEC_LISTENER, .name = "max_text_length",
	  .type = KT_SIZE, .min = K1, .max = G1, .def = "1M",
	  .field = LF(max_text_length), .flags = IMPL,
	  .help = "Longest text of one VALUE (an embedded instance "
	    "included), KEYVALUE or HOST accepted." },
	{ .section = SEC_LISTENER, .name = "max_headers", .type = KT_UINT,
	  .min = 8, .max = 10000, .def = "64", .field = LF(max_headers),
	  .flags = IMPL,
	  .help = "Most request header lines; more get 431." },

	/* [daemon] */
	{ .section = SEC_DAEMON, .name = "log_level", .type = KT_LOGLEVEL,
	  .def = "info", .field = DF(log_level), .flags = IMPL,
	  .help = "Level of the daemon's own diagnostics: debug, info, "
	    "notice, warning, err or crit." },
	{ .section = SEC_DAEMON, .name = "shutdown_timeout",
	  .type = KT_DURATION, .min = 1, .max = 600, .def = "10s",
	  .field = DF(shutdown_timeout), .flags = IMPL,
	  .help = "Time to finish requests and flush sinks on SIGTERM." },
	{ .section = SEC_DAEMON, .name = "spool_dir", .type = KT_PATH,
	  .def = LOCALSTATEDIR "/lib/cimlisten", .field = DF(spool_dir),
	  .flags = KF_IMPLEMENTED,
	  .help = "Directory of the spool and the sink cursors; created if "
	    "missing (not its parents)." },
	{ .section = SEC_DAEMON, .name = "spool_max_size", .type = KT_SIZE,
	  .min = 16 * M1, .max = 1024 * G1, .def = "1G",
	  .field = DF(spool_max_size), .flags = KF_IMPLEMENTED,
	  .help = "Spool retention by size: past it the oldest segments go, "
	    "delivered or not (the loss is counted per sink)." },
	{ .section = SEC_DAEMON, .name = "spool_max_age", .type = KT_DURATION,
	  .min = 60, .max = 3650 * 86400ULL, .def = "7d",
	  .field = DF(spool_max_age), .flags = KF_IMPLEMENTED,
	  .help = "Spool retention by age: older segments go, delivered or "
	    "not." },
	{ .section = SEC_DAEMON, .name = "fsync", .type = KT_ENUM,
	  .words = fsync_words, .def = "none", .field = DF(fsync),
	  .flags = KF_IMPLEMENTED,
	  .help = "Spool durability before the 200: none (survives a crash of "
	    "the daemon), batch or always (also a power loss; batch groups "
	    "concurrent requests into one fsync)." },
	{ .section = SEC_DAEMON, .name = "control_socket", .type = KT_PATH,
	  .def = RUNSTATEDIR "/cimlisten/control.sock", .off = "",
	  .field = DF(control_socket), .flags = KF_IMPLEMENTED | KF_EMPTY_OK,
	  .help = "UNIX socket of cimlistenctl; empty disables it." },
	{ .section = SEC_DAEMON, .name = "control_group", .type = KT_STRING,
	  .def = "", .off = "", .field = DF(control_group),
	  .flags = KF_IMPLEMENTED | KF_EMPTY_OK,
	  .help = "Group allowed to use the control socket." },
	{ .section = SEC_METRICS, .name = "listen", .type = KT_HOSTPORT,
	  .def = "", .off = "", .field = MF(listen),
	  .flags = KF_IMPLEMENTED | KF_EMPTY_OK,
	  .help = "HOST:PORT serving Prometheus metrics at /metrics over "
	    "plain HTTP, apart from the CIM ports; empty disables it." },
	{ .section = SEC_DAEMON, .name = "user", .type = KT_STRING,
	  .def = "", .field = DF(user), .ofield = DF(user_origin),
	  .flags = KF_IMPLEMENTED | KF_EMPTY_OK,
	  .help = "User (name or number) to run as once the sockets are "
	    "bound and the files open, when started as root; empty keeps "
	    "the user." },
	{ .section = SEC_DAEMON, .name = "group", .type = KT_STRING,
	  .def = "", .field = DF(group), .ofield = DF(group_origin),
	  .flags = KF_IMPLEMENTED | KF_EMPTY_OK,
	  .help = "Group to run as; empty is the user's group." },
	{ .section = SEC_DAEMON, .name = "pid_file", .type = KT_PATH,
	  .def = "", .field = DF(pid_file),
	  .flags = KF_IMPLEMENTED | KF_EMPTY_OK,
	  .help = "File the daemon writes its pid to, locked while it runs "
	    "(a second daemon with the same file refuses to start) and "
	    "removed at exit; empty writes none." },
	{ .section = SEC_DAEMON, .name = "reject_dir", .type = KT_PATH,
	  .def = "", .field = DF(reject_dir),
	  .flags = KF_IMPLEMENTED | KF_EMPTY_OK,
	  .help = "Directory keeping every request answered 4xx or 501 "
	    "(reason, sender, headers, the first 64 KiB of the body), one "
	    "file each; empty keeps none." },
	{ .section = SEC_DAEMON, .name = "reject_keep", .type = KT_UINT,
	  .min = 1, .max = 100000, .def = "100", .field = DF(reject_keep),
	  .flags = KF_IMPLEMENTED,
	  .help = "Files kept in reject_dir; the oldest go first." },

	/* [sink NAME] */
	{ .section = SEC_SINK, .sinktypes = ST_ALL, .name = "type",
	  .type = KT_ENUM, .words = sink_type_words,
	  .supported = ST_SUPPORTED,
	  .wordlabel = "sink type", .field = SF(type),
	  .flags = IMPL | KF_ENUM_STRING | KF_REQUIRED,
	  .help = "Kind of sink: file, syslog, journal, socket (local "
	    "subscribers) or exec." },
	{ .section = SEC_SINK, .sinktypes = ST_FILE | ST_SOCKET, .name = "path",
	  .type = KT_PATH, .field = SF(path), .flags = IMPL | KF_REQUIRED,
	  .help = "File written (file) or socket created (socket)." },
	{ .section = SEC_SINK, .sinktypes = ST_ALL, .name = "format",
	  .type = KT_ENUM, .words = format_words, .wordlabel = "format",
	  .def = "json", .field = SF(format), .flags = IMPL,
	  .help = "Record format: json (the canonical record), mof "
	    "(instance of Class { ... };) or template (the template key). "
	    "For syslog and journal it is the message text." },
	{ .section = SEC_SINK, .sinktypes = ST_FILE | ST_SOCKET, .name = "mode",
	  .type = KT_MODE, .max = 07777, .def = "0640", .field = SF(mode),
	  .flags = IMPL, .help = "Permissions of the file or socket created." },
	{ .section = SEC_SINK, .sinktypes = ST_FILE, .name = "owner",
	  .type = KT_STRING, .def = "", .field = SF(owner),
	  .flags = IMPL | KF_EMPTY_OK,
	  .help = "User (name or number) given the file when the daemon "
	    "runs as root; empty keeps the daemon's." },
	{ .section = SEC_SINK, .sinktypes = ST_FILE | ST_SOCKET,
	  .name = "group", .type = KT_STRING, .def = "", .field = SF(group),
	  .flags = IMPL | KF_EMPTY_OK,
	  .help = "Group (name or number) given the file or socket; empty "
	    "keeps the daemon's." },
	{ .section = SEC_SINK, .sinktypes = ST_ALL, .name = "template",
	  .type = KT_STRING, .def = "", .field = SF(template),
	  .flags = IMPL | KF_EMPTY_OK,
	  .help = "Text with {placeholders} for format = template: "
	    "{__CLASS}, {__SEQ}, {__TIME}, {__SOURCE}, {__PATH}, "
	    "{__SEVERITY}, {__USER}, {__MESSAGE_ID}, {__FILTERS}, {Prop}, "
	    "{SourceInstance.Prop}; {{ and }} for braces." },
	{ .section = SEC_SINK, .sinktypes = ST_ALL, .name = "severity",
	  .type = KT_STRING, .def = "", .field = SF(severity),
	  .flags = IMPL | KF_EMPTY_OK,
	  .help = "Syslog level of the records: empty maps "
	    "PerceivedSeverity; a level name (emerg .. debug) fixes it; a "
	    "property name reads it from that property." },
	{ .section = SEC_SINK, .sinktypes = ST_SYSLOG, .name = "facility",
	  .type = KT_ENUM, .words = facility_words, .def = "daemon",
	  .field = SF(facility), .flags = IMPL, .help = "Syslog facility." },
	{ .section = SEC_SINK, .sinktypes = ST_SYSLOG, .name = "socket",
	  .type = KT_PATH, .def = "/dev/log", .field = SF(socket),
	  .flags = IMPL,
	  .help = "UNIX datagram socket of the syslog daemon." },
	{ .section = SEC_SINK, .sinktypes = ST_SYSLOG | ST_JOURNAL,
	  .name = "ident", .type = KT_STRING, .def = "cimlistend",
	  .field = SF(ident), .flags = IMPL,
	  .help = "Syslog identifier (APP-NAME, SYSLOG_IDENTIFIER) of the "
	    "messages." },
	{ .section = SEC_SINK, .sinktypes = ST_SYSLOG, .name = "protocol",
	  .type = KT_ENUM, .words = protocol_words, .def = "rfc5424",
	  .field = SF(protocol), .flags = IMPL,
	  .help = "Syslog message format: rfc5424 (with structured data) or "
	    "rfc3164." },
	{ .section = SEC_SINK, .sinktypes = ST_SYSLOG | ST_JOURNAL,
	  .name = "rate_limit", .type = KT_UINT, .max = 1000000, .def = "0",
	  .field = SF(rate_limit), .flags = IMPL,
	  .help = "Messages a second at most; more wait their turn (none is "
	    "dropped). 0 is unlimited." },
	{ .section = SEC_SINK, .sinktypes = ST_SOCKET, .name = "buffer",
	  .type = KT_UINT, .min = 1, .max = 1000000, .def = "10000",
	  .field = SF(buffer), .flags = IMPL,
	  .help = "Records queued per subscriber before it is told of a "
	    "gap." },
	{ .section = SEC_SINK, .sinktypes = ST_SOCKET,
	  .name = "max_subscribers", .type = KT_UINT, .min = 1, .max = 4096,
	  .def = "64", .field = SF(max_subscribers), .flags = IMPL,
	  .help = "Concurrent subscribers; more are refused with an "
	    "error line." },
	{ .section = SEC_SINK, .sinktypes = ST_EXEC, .name = "command",
	  .type = KT_STRING, .field = SF(command),
	  .flags = IMPL | KF_REQUIRED,
	  .help = "Program run for each record, fed the JSON record on "
	    "standard input; split into words (single and double quotes, "
	    "backslash) without a shell unless shell = yes." },
	{ .section = SEC_SINK, .sinktypes = ST_EXEC, .name = "shell",
	  .type = KT_BOOL, .def = "no", .field = SF(shell), .flags = IMPL,
	  .help = "Run command with /bin/sh -c instead of splitting it." },
	{ .section = SEC_SINK, .sinktypes = ST_EXEC, .name = "concurrency",
	  .type = KT_UINT, .min = 1, .max = 256, .def = "1",
	  .field = SF(concurrency), .flags = IMPL,
	  .help = "Commands running at once." },
	{ .section = SEC_SINK, .sinktypes = ST_EXEC, .name = "timeout",
	  .type = KT_DURATION, .min = 1, .max = 3600, .def = "10s",
	  .field = SF(timeout), .flags = IMPL,
	  .help = "Time a command may run before it is killed and retried." },
	{ .section = SEC_SINK, .sinktypes = ST_FILE, .name = "rotate_size",
	  .type = KT_SIZE, .max = 1024 * G1, .def = "0",
	  .field = SF(rotate_size), .flags = IMPL,
	  .help = "Rotate the file when a write would take it past this "
	    "size (path.1, path.2, ...); 0 leaves rotation to logrotate." },
	{ .section = SEC_SINK, .sinktypes = ST_FILE, .name = "rotate_keep",
	  .type = KT_UINT, .min = 1, .max = 1000, .def = "5",
	  .field = SF(rotate_keep), .flags = IMPL,
	  .help = "Rotated files kept by rotate_size." },

	/* [filter NAME] */
	{ .section = SEC_FILTER, .name = "sinks", .type = KT_LIST,
	  .field = FF(sinks), .nfield = FF(nsinks),
	  .flags = IMPL | KF_REQUIRED,
	  .help = "Sinks a matching indication goes to." },
	{ .section = SEC_FILTER, .name = "where", .type = KT_STRING,
	  .def = "", .field = FF(where), .ofield = FF(where_origin),
	  .flags = IMPL | KF_EMPTY_OK,
	  .help = "WQL-style condition (the filter language of "
	    "cimlistend.conf(5)); empty or absent matches every "
	    "indication." },
	{ .section = SEC_FILTER, .name = "final", .type = KT_BOOL,
	  .def = "no", .field = FF(final), .flags = IMPL,
	  .help = "Stop evaluating later filters after a match." },
};
/* clang-format on */
#define NKEYS nitems(keys)

/* Where one byte of a value came from. */
struct pos {
	unsigned line;
	unsigned col;
};

/* A section header or a key, as lexed; the value with its positions. */
struct ent {
	int is_key;
	unsigned line;
	char *key;	       /* key name */
	enum section_kind sec; /* section: its kind, SEC_IGNORE if bad */
	char *name;	       /* section: sink or filter name */
	struct buf value;
	struct pos *pos; /* one per value byte */
	size_t npos, poscap;
	struct pos vstart; /* where an empty value would start */
};

/* A parsed value. */
struct value {
	uint64_t u;
	char *s;
	char **list;
	size_t n;
	struct pos *ipos; /* list: where each item starts */
};

/* One error of a file, kept until the file is done and sorted by line. */
struct ferr {
	unsigned line;
	size_t seq;
	char *msg;
};

struct sink_aux {
	int type_set; /* a type key was given, valid or not */
	int path_set; /* likewise for path */
	int command_set;
	struct config_origin path_origin;
};

struct filter_aux {
	int sinks_set;
	struct pos *ipos; /* where each sinks item starts */
};

/* One config_load call. */
struct load {
	struct config *cf;
	struct config_errors *errs;
	int failed;
	struct sink_aux *saux;	 /* parallel to cf->sinks */
	struct filter_aux *faux; /* parallel to cf->filters */
};

/* One file: lexer state, side table, current section, its errors. */
struct file_ctx {
	struct load *ld;
	const char *file;
	char *dir; /* absolute directory for relative paths */
	FILE *f;

	char *line;
	size_t linecap;
	size_t linelen;
	size_t lineoff; /* 3 after a BOM on line 1 */
	int linebad;
	unsigned lineno;
	int have_la; /* fc->line is read but not yet consumed */
	int eof;
	int swallow;	 /* drop continuation lines (after an error) */
	ssize_t pending; /* key entry still collecting continuations */
	char queued[32];
	int have_queued;

	struct ent *ents;
	size_t nents;

	enum section_kind sec;
	size_t secidx;	/* sink or filter index */
	unsigned *seen; /* first line of each key in this section */
	unsigned seen_listener[NKEYS];
	unsigned seen_daemon[NKEYS];
	unsigned seen_metrics[NKEYS];
	unsigned seen_section[NKEYS];
	unsigned listener_line;
	unsigned daemon_line;
	unsigned metrics_line;
	size_t *deferred; /* sink keys, applied at the section's end */
	size_t ndeferred;

	struct ferr *errs;
	size_t nerrs;
};

static void ferr_add(struct file_ctx *, unsigned, unsigned, const char *, ...)
    __attribute__((format(printf, 4, 5)));
static void err_add(struct load *, const char *, unsigned, unsigned,
    const char *, ...) __attribute__((format(printf, 5, 6)));

/* Append a message to an error list. */
static void
errors_push(struct config_errors *errs, char *msg)
{
	errs->msgs = xreallocarray(errs->msgs, errs->n + 1, sizeof *errs->msgs);
	errs->msgs[errs->n++] = msg;
}

/* Free every message and empty the list. */
void
config_errors_clear(struct config_errors *errs)
{
	size_t i;

	for (i = 0; i < errs->n; i++)
		free(errs->msgs[i]);
	free(errs->msgs);
	errs->msgs = NULL;
	errs->n = 0;
}

/* Format "FILE[:LINE[:COL]]: " + message. */
static char *
err_vformat(
    const char *file, unsigned line, unsigned col, const char *fmt, va_list ap)
{
	struct buf b = BUF_INIT;

	if (line == 0)
		buf_printf(&b, "%s: ", file);
	else if (col == 0)
		buf_printf(&b, "%s:%u: ", file, line);
	else
		buf_printf(&b, "%s:%u:%u: ", file, line, col);
	buf_vprintf(&b, fmt, ap);
	return buf_steal(&b, NULL);
}

/* Record an error of the file being read (sorted by line when it ends). */
static void
ferr_add(struct file_ctx *fc, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;
	struct ferr *e;

	fc->errs = xreallocarray(fc->errs, fc->nerrs + 1, sizeof *fc->errs);
	e = &fc->errs[fc->nerrs];
	e->line = line;
	e->seq = fc->nerrs++;
	va_start(ap, fmt);
	e->msg = err_vformat(fc->file, line, col, fmt, ap);
	va_end(ap);
	fc->ld->failed = 1;
}

/* Record an error found after every file was read. */
static void
err_add(struct load *ld, const char *file, unsigned line, unsigned col,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errors_push(ld->errs, err_vformat(file, line, col, fmt, ap));
	va_end(ap);
	ld->failed = 1;
}

/* Errors by line, then in the order they were found. */
static int
ferr_cmp(const void *a, const void *b)
{
	const struct ferr *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Hand a file's errors over to the caller's list, in line order. */
static void
ferr_flush(struct file_ctx *fc)
{
	size_t i;

	if (fc->nerrs > 1)
		qsort(fc->errs, fc->nerrs, sizeof *fc->errs, ferr_cmp);
	for (i = 0; i < fc->nerrs; i++)
		errors_push(fc->ld->errs, fc->errs[i].msg);
	free(fc->errs);
	fc->errs = NULL;
	fc->nerrs = 0;
}

/*
 * Value parsers.
 */

/* Parse decimal digits; -1 if not a number, -2 if it overflows. */
static int
parse_u64(const char *s, const char **end, uint64_t *out)
{
	uint64_t v = 0;
	unsigned d;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10) {
			while (*s >= '0' && *s <= '9')
				s++;
			*end = s;
			return -2;
		}
		v = v * 10 + d;
	}
	*end = s;
	*out = v;
	return 0;
}

/* Multiply with an overflow check; -2 on overflow. */
static int
mul_u64(uint64_t v, uint64_t m, uint64_t *out)
{
	if (m != 0 && v > UINT64_MAX / m)
		return -2;
	*out = v * m;
	return 0;
}

/* A size with optional K/M/G (KB, KiB...) suffix: 0, -1 syntax, -2 big. */
static int
size_parse(const char *s, uint64_t *out)
{
	const char *p;
	uint64_t v = 0, m = 1;
	int rc;

	if ((rc = parse_u64(s, &p, &v)) == -1)
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	switch (*p) {
	case 'k':
	case 'K':
		m = K1;
		p++;
		break;
	case 'm':
	case 'M':
		m = M1;
		p++;
		break;
	case 'g':
	case 'G':
		m = G1;
		p++;
		break;
	}
	if (m != 1 && (*p == 'i' || *p == 'I') && (p[1] == 'b' || p[1] == 'B'))
		p += 2;
	else if (*p == 'b' || *p == 'B')
		p++;
	if (*p != '\0')
		return -1;
	if (rc == -2)
		return -2;
	return mul_u64(v, m, out);
}

/* A duration with optional s/m/h/d suffix: 0, -1 syntax, -2 big. */
static int
duration_parse(const char *s, uint64_t *out)
{
	const char *p;
	uint64_t v = 0, m = 1;
	int rc;

	if ((rc = parse_u64(s, &p, &v)) == -1)
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	switch (*p) {
	case '\0':
		break;
	case 's':
	case 'S':
		p++;
		break;
	case 'm':
	case 'M':
		m = 60;
		p++;
		break;
	case 'h':
	case 'H':
		m = 3600;
		p++;
		break;
	case 'd':
	case 'D':
		m = 86400;
		p++;
		break;
	default:
		return -1;
	}
	if (*p != '\0')
		return -1;
	if (rc == -2)
		return -2;
	return mul_u64(v, m, out);
}

/* Public wrapper of size_parse with a reason for people. */
int
config_parse_size(const char *s, uint64_t *out, const char **cause)
{
	switch (size_parse(s, out)) {
	case 0:
		return 0;
	case -2:
		*cause = "number too large";
		return -1;
	default:
		*cause = "expected a number with optional K, M or G";
		return -1;
	}
}

/* Public wrapper of duration_parse with a reason for people. */
int
config_parse_duration(const char *s, uint64_t *secs, const char **cause)
{
	switch (duration_parse(s, secs)) {
	case 0:
		return 0;
	case -2:
		*cause = "number too large";
		return -1;
	default:
		*cause = "expected a number with optional s, m, h or d";
		return -1;
	}
}

/* yes/no, true/false, on/off, 1/0 in any case. */
int
config_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	size_t i;

	for (i = 0; i < nitems(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* List check for bind: an IPv4 or IPv6 literal. */
static const char *
check_address(const char *s)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1 || inet_pton(AF_INET6, s, &a6) == 1)
		return NULL;
	return "expected an IPv4 or IPv6 address";
}

/* Format a size the way a user would write it: 4M, 16K, 1000. */
static void
fmt_size(char *out, size_t len, uint64_t v)
{
	if (v != 0 && v % G1 == 0)
		snprintf(out, len, "%lluG", (unsigned long long)(v / G1));
	else if (v != 0 && v % M1 == 0)
		snprintf(out, len, "%lluM", (unsigned long long)(v / M1));
	else if (v != 0 && v % K1 == 0)
		snprintf(out, len, "%lluK", (unsigned long long)(v / K1));
	else
		snprintf(out, len, "%llu", (unsigned long long)v);
}

/* Format a duration: 30s, 10m, 1h, 7d. */
static void
fmt_duration(char *out, size_t len, uint64_t v)
{
	if (v != 0 && v % 86400 == 0)
		snprintf(out, len, "%llud", (unsigned long long)(v / 86400));
	else if (v != 0 && v % 3600 == 0)
		snprintf(out, len, "%lluh", (unsigned long long)(v / 3600));
	else if (v != 0 && v % 60 == 0)
		snprintf(out, len, "%llum", (unsigned long long)(v / 60));
	else
		snprintf(out, len, "%llus", (unsigned long long)v);
}

/* Format a key's number in its own units. */
static void
fmt_number(const struct key *k, char *out, size_t len, uint64_t v)
{
	if (k->type == KT_SIZE)
		fmt_size(out, len, v);
	else if (k->type == KT_DURATION)
		fmt_duration(out, len, v);
	else if (k->type == KT_MODE)
		snprintf(out, len, "%04llo", (unsigned long long)v);
	else
		snprintf(out, len, "%llu", (unsigned long long)v);
}

/* "a, b or c" of an enum's words. */
static char *
words_list(const char *const *w)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; w[i] != NULL; i++) {
		if (i > 0)
			buf_adds(&b, w[i + 1] == NULL ? " or " : ", ");
		buf_adds(&b, w[i]);
	}
	return buf_steal(&b, NULL);
}

int
config_hostport(const char *s, char *host, size_t hostlen, unsigned *port)
{
	const char *colon, *h = s, *end;
	size_t n;
	char *e;
	unsigned long p;

	if (*s == '[') {
		if ((end = strchr(s, ']')) == NULL || end[1] != ':')
			return -1;
		h = s + 1;
		n = (size_t)(end - h);
		colon = end + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL ||
		    memchr(s, ':', (size_t)(colon - s)) != NULL)
			return -1;
		n = (size_t)(colon - s);
	}
	if (n == 0 || colon[1] < '0' || colon[1] > '9')
		return -1;
	errno = 0;
	p = strtoul(colon + 1, &e, 10);
	if (*e != '\0' || errno != 0 || p == 0 || p > 65535)
		return -1;
	if (host != NULL) {
		if (n >= hostlen)
			return -1;
		memcpy(host, h, n);
		host[n] = '\0';
	}
	if (port != NULL)
		*port = (unsigned)p;
	return 0;
}

/* Free what a parsed value owns and clear it. */
static void
value_free(struct value *v)
{
	size_t i;

	free(v->s);
	for (i = 0; i < v->n; i++)
		free(v->list[i]);
	free(v->list);
	free(v->ipos);
	memset(v, 0, sizeof *v);
}

/* Collapse ".", ".." and repeated slashes of an absolute path in place. */
static void
path_normalize(char *path)
{
	char *src = path, *dst = path;
	size_t n;

	while (*src != '\0') {
		while (*src == '/')
			src++;
		n = strcspn(src, "/");
		if (n == 0)
			break;
		if (n == 1 && src[0] == '.') {
			src += n;
			continue;
		}
		if (n == 2 && src[0] == '.' && src[1] == '.') {
			while (dst > path && *--dst != '/')
				;
			src += n;
			continue;
		}
		*dst++ = '/';
		memmove(dst, src, n);
		dst += n;
		src += n;
	}
	if (dst == path)
		*dst++ = '/';
	*dst = '\0';
}

/*
 * Resolve a relative path against dir (absolute), and normalize it, so that
 * two spellings of one file compare equal; returns a new string.
 */
static char *
path_resolve(const char *dir, const char *p)
{
	char *out;

	if (p[0] == '/' || dir == NULL)
		out = xstrdup(p);
	else
		xasprintf(&out, "%s/%s", dir, p);
	if (out[0] == '/')
		path_normalize(out);
	return out;
}

/* Position of byte i of an entry's value (or where an empty one starts). */
static struct pos
ent_pos(const struct ent *e, size_t i)
{
	struct pos p;

	if (e == NULL) {
		struct pos none = {0, 0};
		return none;
	}
	if (i < e->npos)
		return e->pos[i];
	if (e->npos > 0) {
		/* Just past the end of the value. */
		p = e->pos[e->npos - 1];
		p.col++;
		return p;
	}
	return e->vstart;
}

/*
 * Parse s as the value of key k. fc and e give the file (for relative paths
 * and errors) and positions; with fc NULL nothing is reported. Returns 0 and
 * fills v, or -1.
 */
static int
value_parse(struct file_ctx *fc, const struct key *k, const struct ent *e,
    const char *s, struct value *v)
{
	struct pos p0 = ent_pos(e, 0), ip;
	char lo[32], hi[32], *w, *item;
	const char *start, *end, *why, *raw;
	size_t i, n;
	int rc;
	bool b;

	memset(v, 0, sizeof *v);
	switch (k->type) {
	case KT_BOOL:
		if (config_parse_bool(s, &b) == -1) {
			if (fc != NULL)
				ferr_add(fc, p0.line, p0.col,
				    "invalid boolean "
				    "'%s' for key '%s' (expected yes, no, "
				    "true, "
				    "false, on, off, 1 or 0)",
				    s, k->name);
			return -1;
		}
		v->u = b;
		return 0;
	case KT_UINT:
	case KT_PORT:
	case KT_SIZE:
	case KT_DURATION:
		if (k->type == KT_SIZE)
			rc = size_parse(s, &v->u);
		else if (k->type == KT_DURATION)
			rc = duration_parse(s, &v->u);
		else {
			rc = parse_u64(s, &start, &v->u);
			if (rc == 0 && *start != '\0')
				rc = -1;
			if (rc == -2 && *start != '\0')
				rc = -1;
		}
		if (rc == -1 && fc != NULL) {
			if (k->type == KT_SIZE)
				why =
				    "invalid size '%s' for key '%s' (expected "
				    "a number with optional K, M or G)";
			else if (k->type == KT_DURATION)
				why =
				    "invalid duration '%s' for key '%s' "
				    "(expected a number with optional s, m, h "
				    "or d)";
			else if (k->type == KT_PORT)
				why =
				    "invalid port '%s' for key '%s' (expected "
				    "a number from 0 to 65535)";
			else
				why = "invalid number '%s' for key '%s' "
				      "(expected an unsigned integer)";
			ferr_add(fc, p0.line, p0.col, why, s, k->name);
		}
		if (rc == -1)
			return -1;
		if (rc == -2 || v->u < k->min || v->u > k->max) {
			if (fc != NULL) {
				fmt_number(k, lo, sizeof lo, k->min);
				fmt_number(k, hi, sizeof hi, k->max);
				ferr_add(fc, p0.line, p0.col,
				    "value %s for key "
				    "'%s' out of range (%s..%s)",
				    s, k->name, lo, hi);
			}
			return -1;
		}
		return 0;
	case KT_MODE:
		n = strspn(s, "01234567");
		i = strspn(s, "0");
		if (n == 0 || s[n] != '\0' || n - i > 5 ||
		    (v->u = strtoull(s, NULL, 8)) > k->max) {
			if (fc != NULL)
				ferr_add(fc, p0.line, p0.col,
				    "invalid file mode "
				    "'%s' for key '%s' (expected an octal "
				    "number "
				    "up to 07777)",
				    s, k->name);
			return -1;
		}
		return 0;
	case KT_LOGLEVEL:
		if ((rc = log_level_parse(s)) == -1) {
			if (fc != NULL)
				ferr_add(fc, p0.line, p0.col,
				    "invalid log level "
				    "'%s' for key '%s' (expected debug, info, "
				    "notice, warning, err or crit)",
				    s, k->name);
			return -1;
		}
		v->u = (uint64_t)rc;
		return 0;
	case KT_ENUM:
		for (i = 0; k->words[i] != NULL; i++) {
			if (strcmp(s, k->words[i]) == 0) {
				v->u = i;
				return 0;
			}
		}
		if (fc != NULL) {
			w = words_list(k->words);
			ferr_add(fc, p0.line, p0.col,
			    "invalid value '%s' for "
			    "key '%s' (expected %s)",
			    s, k->name, w);
			free(w);
		}
		return -1;
	case KT_HOSTPORT:
		if (*s == '\0' && (k->flags & KF_EMPTY_OK))
			return 0;
		if (config_hostport(s, NULL, 0, NULL) == -1) {
			if (fc != NULL)
				ferr_add(fc, p0.line, p0.col, "invalid address "
				    "'%s' for key '%s' (expected HOST:PORT, as "
				    "in 127.0.0.1:9188 or [::1]:9188)", s,
				    k->name);
			return -1;
		}
		v->s = xstrdup(s);
		return 0;
	case KT_STRING:
	case KT_PATH:
		if (*s == '\0') {
			if (k->flags & KF_EMPTY_OK)
				return 0;
			if (fc != NULL)
				ferr_add(fc, p0.line, p0.col,
				    "empty value for "
				    "key '%s'",
				    k->name);
			return -1;
		}
		if (k->type == KT_PATH)
			v->s = path_resolve(fc != NULL ? fc->dir : NULL, s);
		else
			v->s = xstrdup(s);
		return 0;
	case KT_LIST:
		if (*s == '\0') {
			if (k->flags & KF_EMPTY_OK)
				return 0;
			if (fc != NULL)
				ferr_add(fc, p0.line, p0.col,
				    "empty value for "
				    "key '%s'",
				    k->name);
			return -1;
		}
		rc = 0;
		start = s;
		for (;;) {
			end = start + strcspn(start, ",");
			raw = start;
			while (*start == ' ' || *start == '\t')
				start++;
			n = (size_t)(end - start);
			while (n > 0 &&
			       (start[n - 1] == ' ' || start[n - 1] == '\t'))
				n--;
			ip = ent_pos(e, (size_t)((n == 0 ? raw : start) - s));
			if (n == 0) {
				if (fc != NULL)
					ferr_add(fc, ip.line, ip.col,
					    "empty item "
					    "in key '%s'",
					    k->name);
				rc = -1;
			} else {
				item = xstrndup(start, n);
				if (k->check != NULL &&
				    (why = k->check(item)) != NULL) {
					if (fc != NULL)
						ferr_add(fc, ip.line, ip.col,
						    "invalid %s '%s' in key "
						    "'%s' (%s)",
						    k->itemlabel, item, k->name,
						    why);
					rc = -1;
				}
				v->list = xreallocarray(
				    v->list, v->n + 2, sizeof *v->list);
				v->ipos = xreallocarray(
				    v->ipos, v->n + 1, sizeof *v->ipos);
				v->ipos[v->n] = ip;
				v->list[v->n++] = item;
				v->list[v->n] = NULL;
			}
			if (*end == '\0')
				break;
			start = end + 1;
		}
		if (rc == -1)
			value_free(v);
		return rc;
	}
	return -1;
}

/* Whether two parsed values of key k are the same. */
static int
value_equal(const struct key *k, const struct value *a, const struct value *b)
{
	size_t i;

	switch (k->type) {
	case KT_STRING:
	case KT_PATH:
	case KT_HOSTPORT:
		if (a->s == NULL || b->s == NULL)
			return a->s == b->s;
		return strcmp(a->s, b->s) == 0;
	case KT_LIST:
		if (a->n != b->n)
			return 0;
		for (i = 0; i < a->n; i++)
			if (strcmp(a->list[i], b->list[i]) != 0)
				return 0;
		return 1;
	default:
		return a->u == b->u;
	}
}

/* Whether s is the value that means "off" for an unimplemented key. */
static int
value_is_off(const struct key *k, const struct value *v)
{
	struct value off;
	int eq;

	if (k->off == NULL || value_parse(NULL, k, NULL, k->off, &off) == -1)
		return 0;
	eq = value_equal(k, v, &off);
	value_free(&off);
	return eq;
}

/* Store a parsed value into the struct at base; takes v's memory. */
static void
value_store(const struct key *k, void *base, struct value *v)
{
	char *p = (char *)base + k->field - 1;
	char ***lp;
	size_t i;

	switch (k->type) {
	case KT_BOOL:
		*(bool *)p = v->u != 0;
		break;
	case KT_UINT:
	case KT_PORT:
	case KT_DURATION:
		*(unsigned *)p = (unsigned)v->u;
		break;
	case KT_SIZE:
		*(uint64_t *)p = v->u;
		break;
	case KT_MODE:
		*(mode_t *)p = (mode_t)v->u;
		break;
	case KT_LOGLEVEL:
		*(int *)p = (int)v->u;
		break;
	case KT_ENUM:
		if (k->flags & KF_ENUM_STRING) {
			free(*(char **)p);
			*(char **)p = xstrdup(k->words[v->u]);
		} else
			*(int *)p = (int)v->u;
		break;
	case KT_STRING:
	case KT_PATH:
	case KT_HOSTPORT:
		free(*(char **)p);
		*(char **)p = v->s;
		v->s = NULL;
		break;
	case KT_LIST:
		lp = (char ***)p;
		if (*lp != NULL) {
			for (i = 0; (*lp)[i] != NULL; i++)
				free((*lp)[i]);
			free(*lp);
		}
		if (v->list == NULL) {
			v->list = xcalloc(1, sizeof *v->list);
			v->n = 0;
		}
		*lp = v->list;
		*(size_t *)((char *)base + k->nfield - 1) = v->n;
		v->list = NULL;
		v->n = 0;
		break;
	}
	value_free(v);
}

/* Apply every default of a section kind to the struct at base. */
static void
apply_defaults(enum section_kind sec, void *base)
{
	const struct key *k;
	struct value v;
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		k = &keys[i];
		if (k->section != sec || k->field == 0 || k->def == NULL)
			continue;
		if (value_parse(NULL, k, NULL, k->def, &v) == -1)
			fatalx(
			    "config: bad default '%s' for %s", k->def, k->name);
		value_store(k, base, &v);
	}
}

/*
 * Set key k from entry e into the struct at base, reporting any problem.
 * Returns 0 if the value was accepted.
 */
static int
key_set(
    struct file_ctx *fc, const struct key *k, void *base, const struct ent *e)
{
	const char *s = e->value.data != NULL ? e->value.data : "";
	struct config_origin *o;
	struct value v;
	struct pos p0 = ent_pos(e, 0);
	int rc = 0;

	if (!(k->flags & KF_IMPLEMENTED)) {
		if (value_parse(NULL, k, e, s, &v) == 0) {
			rc = value_is_off(k, &v);
			value_free(&v);
			if (rc)
				return 0;
		}
		ferr_add(fc, e->line, 0,
		    "key '%s' is not supported by this "
		    "build yet",
		    k->name);
		return -1;
	}
	if (value_parse(fc, k, e, s, &v) == -1)
		return -1;
	if (!(k->flags & KF_IMPLEMENTED) && !value_is_off(k, &v)) {
		ferr_add(fc, e->line, 0, "%s", k->unsupported);
		rc = -1;
	}
	if (k->type == KT_ENUM && k->supported != 0 &&
	    !(k->supported & (1U << v.u))) {
		ferr_add(fc, p0.line, p0.col,
		    "%s '%s' is not supported by this "
		    "build yet",
		    k->wordlabel, k->words[v.u]);
		rc = -1;
	}
	if (k->ofield != 0) {
		o = (struct config_origin *)((char *)base + k->ofield - 1);
		o->file = fc->file;
		o->line = p0.line;
		o->col = p0.col;
	}
	value_store(k, base, &v);
	return rc;
}

/* The table entry of a key in a section kind, or NULL. */
static const struct key *
key_find(enum section_kind sec, const char *name, size_t *idx)
{
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		if (keys[i].section == sec && strcmp(keys[i].name, name) == 0) {
			if (idx != NULL)
				*idx = i;
			return &keys[i];
		}
	}
	return NULL;
}

/*
 * The lexer: physical lines in, entries out.
 */

/* Append one value byte and where it came from. */
static void
ent_addc(struct ent *e, char c, unsigned line, unsigned col)
{
	buf_addc(&e->value, c);
	if (e->npos == e->poscap) {
		e->poscap = e->poscap == 0 ? 64 : e->poscap * 2;
		e->pos = xreallocarray(e->pos, e->poscap, sizeof *e->pos);
	}
	e->pos[e->npos].line = line;
	e->pos[e->npos].col = col;
	e->npos++;
}

/* A new entry in the side table; its index. */
static size_t
ent_new(struct file_ctx *fc, int is_key)
{
	struct ent *e;

	fc->ents = xreallocarray(fc->ents, fc->nents + 1, sizeof *fc->ents);
	e = &fc->ents[fc->nents];
	memset(e, 0, sizeof *e);
	e->is_key = is_key;
	e->line = fc->lineno;
	e->sec = SEC_IGNORE;
	return fc->nents++;
}

/* Free the side table of a file. */
static void
ents_free(struct file_ctx *fc)
{
	size_t i;

	for (i = 0; i < fc->nents; i++) {
		free(fc->ents[i].key);
		free(fc->ents[i].name);
		buf_free(&fc->ents[i].value);
		free(fc->ents[i].pos);
	}
	free(fc->ents);
	fc->ents = NULL;
	fc->nents = 0;
}

/* 1-based column (in characters) of byte off of the current line. */
static unsigned
lex_col(const struct file_ctx *fc, size_t off)
{
	unsigned col = 1;
	size_t i;

	for (i = fc->lineoff; i < off; i++)
		if (((unsigned char)fc->line[i] & 0xc0) != 0x80)
			col++;
	return col;
}

/* Read the next physical line; 0 at the end of the file. */
static int
lex_getline(struct file_ctx *fc)
{
	ssize_t n;

	if (fc->eof)
		return 0;
	errno = 0;
	if ((n = getline(&fc->line, &fc->linecap, fc->f)) == -1) {
		if (ferror(fc->f))
			ferr_add(fc, 0, 0, "read error: %s", strerror(errno));
		fc->eof = 1;
		return 0;
	}
	fc->lineno++;
	fc->linebad = memchr(fc->line, '\0', (size_t)n) != NULL;
	if (n > 0 && fc->line[n - 1] == '\n')
		n--;
	if (n > 0 && fc->line[n - 1] == '\r')
		n--;
	fc->line[n] = '\0';
	fc->linelen = (size_t)n;
	fc->lineoff = 0;
	if (fc->lineno == 1 && n >= 3 &&
	    memcmp(fc->line, "\xef\xbb\xbf", 3) == 0)
		fc->lineoff = 3;
	return 1;
}

/*
 * Append the value text of the current line from byte off (its first
 * non-blank) to e: "\;" is a ';', a ';' after a blank starts a comment,
 * trailing blanks go. A continuation is joined with one space.
 */
static void
lex_piece(struct file_ctx *fc, struct ent *e, size_t off)
{
	const char *l = fc->line;
	size_t p = off, mark = e->value.len;
	unsigned col = lex_col(fc, off);
	char c;

	if (e->value.len > 0)
		ent_addc(e, ' ', fc->lineno, col);
	while (p < fc->linelen) {
		c = l[p];
		if (c == ';' && p > fc->lineoff &&
		    (l[p - 1] == ' ' || l[p - 1] == '\t'))
			break;
		if (c == '\\' && l[p + 1] == ';') {
			ent_addc(e, ';', fc->lineno, col);
			p += 2;
			col += 2;
			continue;
		}
		ent_addc(e, c, fc->lineno, col);
		p++;
		if (p < fc->linelen && ((unsigned char)l[p] & 0xc0) != 0x80)
			col++;
	}
	while (e->value.len > mark &&
	       (e->value.data[e->value.len - 1] == ' ' ||
		   e->value.data[e->value.len - 1] == '\t')) {
		e->value.len--;
		e->npos--;
	}
	if (e->value.data != NULL)
		e->value.data[e->value.len] = '\0';
}

/* Whether a sink or filter name is 1-64 of [A-Za-z0-9_.-]. */
static int
valid_name(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= SECTION_NAME_MAX &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789_.-") == n;
}

/* Lex a "[kind NAME]" line into a section entry; its index. */
static size_t
lex_section(struct file_ctx *fc)
{
	const char *l = fc->line + fc->lineoff, *close, *rest;
	char *in, *kind, *name, *whole;
	size_t idx = ent_new(fc, 0), n;
	struct ent *e = &fc->ents[idx];

	if ((close = strchr(l, ']')) == NULL) {
		ferr_add(fc, fc->lineno, 0, "missing ']' in section header");
		return idx;
	}
	rest = close + 1 + strspn(close + 1, " \t");
	if (*rest != '\0' && *rest != ';') {
		ferr_add(fc, fc->lineno, 0,
		    "unexpected text after section "
		    "header");
		return idx;
	}
	in = xstrndup(l + 1, (size_t)(close - l - 1));
	kind = in + strspn(in, " \t");
	n = strlen(kind);
	while (n > 0 && (kind[n - 1] == ' ' || kind[n - 1] == '\t'))
		kind[--n] = '\0';
	whole = xstrdup(kind);
	name = kind + strcspn(kind, " \t");
	if (*name != '\0') {
		*name++ = '\0';
		name += strspn(name, " \t");
	}

	if (strcmp(kind, "listener") == 0 || strcmp(kind, "daemon") == 0 ||
	    strcmp(kind, "metrics") == 0) {
		if (*name != '\0')
			ferr_add(fc, fc->lineno, 0,
			    "section [%s] takes no "
			    "name",
			    kind);
		else
			e->sec = kind[0] == 'l' ? SEC_LISTENER :
			    kind[0] == 'd' ? SEC_DAEMON : SEC_METRICS;
	} else if (strcmp(kind, "sink") == 0 || strcmp(kind, "filter") == 0) {
		if (*name == '\0')
			ferr_add(fc, fc->lineno, 0,
			    "section [%s] needs a "
			    "name, as in [%s NAME]",
			    kind, kind);
		else if (!valid_name(name))
			ferr_add(fc, fc->lineno, 0,
			    "invalid %s name '%s' (1 "
			    "to %d of the characters A-Z a-z 0-9 _ . -)",
			    kind, name, SECTION_NAME_MAX);
		else {
			e->sec = kind[0] == 's' ? SEC_SINK : SEC_FILTER;
			e->name = xstrdup(name);
		}
	} else
		ferr_add(fc, fc->lineno, 0, "unknown section [%s]", whole);
	free(whole);
	free(in);
	return idx;
}

/* Lex a "key = value" line; the entry index, or -1 if malformed. */
static ssize_t
lex_key(struct file_ctx *fc)
{
	const char *l = fc->line + fc->lineoff, *eq;
	size_t n, idx, off;
	struct ent *e;

	if ((eq = strchr(l, '=')) == NULL) {
		ferr_add(fc, fc->lineno, 0,
		    "expected 'key = value', "
		    "'[section]' or a comment");
		return -1;
	}
	n = (size_t)(eq - l);
	while (n > 0 && (l[n - 1] == ' ' || l[n - 1] == '\t'))
		n--;
	if (n == 0) {
		ferr_add(fc, fc->lineno, 0, "missing key name before '='");
		return -1;
	}
	if (strspn(l, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789_.-") < n) {
		ferr_add(
		    fc, fc->lineno, 0, "invalid key name '%.*s'", (int)n, l);
		return -1;
	}
	if (n > KEY_NAME_MAX) {
		ferr_add(fc, fc->lineno, 0,
		    "key name too long (at most %d "
		    "characters)",
		    KEY_NAME_MAX);
		return -1;
	}
	idx = ent_new(fc, 1);
	e = &fc->ents[idx];
	e->key = xstrndup(l, n);
	off = (size_t)(eq + 1 - fc->line);
	off += strspn(fc->line + off, " \t");
	e->vstart.line = fc->lineno;
	e->vstart.col = lex_col(fc, off);
	lex_piece(fc, e, off);
	return (ssize_t)idx;
}

/*
 * The ini_reader: returns the next synthetic line for inih. "[N]" then
 * "s=N" for a section header, "k=N" for a key once its continuation lines
 * are joined; N indexes fc->ents. Comments, blank lines and malformed lines
 * (recorded as errors) produce nothing.
 */
static char *
lex_reader(char *str, int num, void *stream)
{
	struct file_ctx *fc = stream;
	const char *l;
	size_t i;
	ssize_t idx;

	if (fc->have_queued) {
		fc->have_queued = 0;
		snprintf(str, (size_t)num, "%s", fc->queued);
		return str;
	}
	for (;;) {
		if (!fc->have_la && !lex_getline(fc)) {
			if (fc->pending == -1)
				return NULL;
			snprintf(str, (size_t)num, "k=%zd\n", fc->pending);
			fc->pending = -1;
			return str;
		}
		fc->have_la = 0;
		l = fc->line + fc->lineoff;
		if (fc->linebad) {
			ferr_add(fc, fc->lineno, 0, "NUL byte in line");
			continue;
		}
		i = strspn(l, " \t");
		if (l[i] == '\0' || l[i] == ';' || l[i] == '#')
			continue;
		if (i > 0) {
			if (fc->pending != -1)
				lex_piece(fc, &fc->ents[fc->pending],
				    fc->lineoff + i);
			else if (!fc->swallow) {
				ferr_add(fc, fc->lineno, 0,
				    "continuation line "
				    "without a key");
				fc->swallow = 1;
			}
			continue;
		}
		if (fc->pending != -1) {
			fc->have_la = 1;
			snprintf(str, (size_t)num, "k=%zd\n", fc->pending);
			fc->pending = -1;
			return str;
		}
		fc->swallow = 0;
		if (l[0] == '[') {
			idx = (ssize_t)lex_section(fc);
			snprintf(str, (size_t)num, "[%zd]\n", idx);
			snprintf(fc->queued, sizeof fc->queued, "s=%zd\n", idx);
			fc->have_queued = 1;
			return str;
		}
		if ((fc->pending = lex_key(fc)) == -1)
			fc->swallow = 1;
	}
}

/*
 * The handler: sections and keys, from the side table.
 */

/* Section label for messages: "[listener]", "[sink NAME]". */
static void
section_label(struct file_ctx *fc, char *out, size_t len)
{
	struct config *cf = fc->ld->cf;

	switch (fc->sec) {
	case SEC_LISTENER:
		snprintf(out, len, "[listener]");
		break;
	case SEC_DAEMON:
		snprintf(out, len, "[daemon]");
		break;
	case SEC_METRICS:
		snprintf(out, len, "[metrics]");
		break;
	case SEC_SINK:
		snprintf(out, len, "[sink %s]", cf->sinks[fc->secidx].name);
		break;
	case SEC_FILTER:
		snprintf(out, len, "[filter %s]", cf->filters[fc->secidx].name);
		break;
	default:
		snprintf(out, len, "[]");
		break;
	}
}

/* Bit of a sink type word, 0 if none. */
static unsigned
sink_type_bit(const char *type)
{
	size_t i;

	if (type == NULL)
		return 0;
	for (i = 0; sink_type_words[i] != NULL; i++)
		if (strcmp(type, sink_type_words[i]) == 0)
			return 1U << i;
	return 0;
}

/* Compile a sink's template, placing an error at its physical position. */
static void
template_compile_ent(struct file_ctx *fc, struct sink_conf *s,
    const struct ent *e)
{
	struct template_error terr;
	struct pos p;

	template_free(s->tmpl);
	s->tmpl = NULL;
	if (s->template == NULL || s->template[0] == '\0')
		return;
	memset(&terr, 0, sizeof terr);
	if ((s->tmpl = template_compile(s->template, &terr)) != NULL)
		return;
	p = ent_pos(e, terr.col > 0 ? terr.col - 1 : 0);
	ferr_add(fc, p.line, p.col, "%s", terr.msg);
}

/* Whether s is a property path: names of [A-Za-z0-9_] joined by dots. */
static int
is_property_path(const char *s)
{
	size_t n;

	for (;;) {
		n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
			      "vwxyz0123456789_");
		if (n == 0)
			return 0;
		s += n;
		if (*s == '\0')
			return 1;
		if (*s++ != '.')
			return 0;
	}
}

/* severity: empty, a level name or a property path. */
static void
severity_check(struct file_ctx *fc, struct sink_conf *s, const struct ent *e)
{
	if (s->severity == NULL || s->severity[0] == '\0' ||
	    format_level_parse(s->severity) != -1)
		return;
	if (!is_property_path(s->severity))
		ferr_add(fc, ent_pos(e, 0).line, ent_pos(e, 0).col,
		    "severity '%s' is neither a syslog level (emerg, alert, "
		    "crit, err, warning, notice, info, debug) nor a property "
		    "name", s->severity);
}

/* A decimal id, or -1. */
static long long
parse_id(const char *s)
{
	char *end;
	long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || errno != 0 || v > 0x7fffffffLL)
		return -1;
	return v;
}

/* owner: a user name or number, resolved now. */
static void
owner_resolve(struct file_ctx *fc, struct sink_conf *s, const struct ent *e)
{
	struct passwd *pw;
	long long id;

	s->uid = (uid_t)-1;
	if (s->owner == NULL || s->owner[0] == '\0')
		return;
	if ((id = parse_id(s->owner)) != -1)
		s->uid = (uid_t)id;
	else if ((pw = getpwnam(s->owner)) != NULL)
		s->uid = pw->pw_uid;
	else
		ferr_add(fc, ent_pos(e, 0).line, ent_pos(e, 0).col,
		    "unknown user '%s'", s->owner);
}

/* group: a group name or number, resolved now. */
static void
group_resolve(struct file_ctx *fc, struct sink_conf *s, const struct ent *e)
{
	struct group *gr;
	long long id;

	s->gid = (gid_t)-1;
	if (s->group == NULL || s->group[0] == '\0')
		return;
	if ((id = parse_id(s->group)) != -1)
		s->gid = (gid_t)id;
	else if ((gr = getgrnam(s->group)) != NULL)
		s->gid = gr->gr_gid;
	else
		ferr_add(fc, ent_pos(e, 0).line, ent_pos(e, 0).col,
		    "unknown group '%s'", s->group);
}

/* End of a [sink] section: its type first, then the keys that depend on it. */
static void
sink_finish(struct file_ctx *fc)
{
	struct load *ld = fc->ld;
	struct sink_conf *s = &ld->cf->sinks[fc->secidx];
	struct sink_aux *aux = &ld->saux[fc->secidx];
	const struct key *k;
	struct ent *e;
	const struct ent *tmpl_e = NULL;
	unsigned bit;
	size_t i;

	for (i = 0; i < fc->ndeferred; i++) {
		e = &fc->ents[fc->deferred[i]];
		if (strcmp(e->key, "command") == 0)
			aux->command_set = 1;
		if (strcmp(e->key, "type") == 0) {
			aux->type_set = 1;
			k = key_find(SEC_SINK, e->key, NULL);
			if (key_set(fc, k, s, e) == -1 &&
			    sink_type_bit(s->type) == 0) {
				free(s->type);
				s->type = NULL;
			}
		}
	}
	bit = sink_type_bit(s->type);
	for (i = 0; i < fc->ndeferred; i++) {
		e = &fc->ents[fc->deferred[i]];
		if (strcmp(e->key, "type") == 0)
			continue;
		k = key_find(SEC_SINK, e->key, NULL);
		if (bit != 0 && !(k->sinktypes & bit)) {
			ferr_add(fc, e->line, 0,
			    "key '%s' does not apply to "
			    "sink type '%s'",
			    k->name, s->type);
			continue;
		}
		/* Keys of a type this build lacks wait for that type. */
		if (bit != 0 && !(bit & ST_SUPPORTED) &&
		    !(k->flags & KF_IMPLEMENTED))
			continue;
		if (strcmp(k->name, "path") == 0)
			aux->path_set = 1;
		if (key_set(fc, k, s, e) != 0)
			continue;
		if (strcmp(k->name, "path") == 0) {
			aux->path_origin.file = fc->file;
			aux->path_origin.line = ent_pos(e, 0).line;
			aux->path_origin.col = ent_pos(e, 0).col;
		} else if (strcmp(k->name, "template") == 0) {
			tmpl_e = e;
			template_compile_ent(fc, s, e);
		} else if (strcmp(k->name, "severity") == 0)
			severity_check(fc, s, e);
		else if (strcmp(k->name, "owner") == 0)
			owner_resolve(fc, s, e);
		else if (strcmp(k->name, "group") == 0)
			group_resolve(fc, s, e);
	}
	fc->ndeferred = 0;
	if (bit == 0 || !(bit & ST_SUPPORTED))
		return;

	/* Checks across the section's keys. */
	if (s->format == SINK_FORMAT_TEMPLATE && tmpl_e == NULL)
		ferr_add(fc, s->origin.line, 0,
		    "sink '%s' has format = template but no template",
		    s->name);
	if (s->format != SINK_FORMAT_TEMPLATE && tmpl_e != NULL &&
	    s->template != NULL && s->template[0] != '\0')
		ferr_add(fc, ent_pos(tmpl_e, 0).line, 0,
		    "template is set but format is not template");
	if ((bit & ST_EXEC) && !aux->command_set)
		ferr_add(fc, s->origin.line, 0,
		    "exec sink '%s' has no command", s->name);
	/* The facility word's index to its number: local0 is 16. */
	if (s->facility >= 12)
		s->facility += 4;
}

/* Finish the current section (sinks apply their keys here). */
static void
section_close(struct file_ctx *fc)
{
	if (fc->sec == SEC_SINK)
		sink_finish(fc);
	fc->sec = SEC_NONE;
}

/* Start a section from its header entry. */
static void
section_open(struct file_ctx *fc, struct ent *e)
{
	struct load *ld = fc->ld;
	struct config *cf = ld->cf;
	struct sink_conf *s;
	struct filter_conf *f;
	size_t i;

	section_close(fc);
	fc->sec = SEC_IGNORE;
	switch (e->sec) {
	case SEC_METRICS:
		if (fc->metrics_line != 0)
			ferr_add(fc, e->line, 0, "duplicate section [metrics] "
			    "(first at line %u)", fc->metrics_line);
		else
			fc->metrics_line = e->line;
		fc->seen = fc->seen_metrics;
		fc->sec = e->sec;
		break;
	case SEC_LISTENER:
	case SEC_DAEMON:
		if (e->sec == SEC_LISTENER) {
			if (fc->listener_line != 0)
				ferr_add(fc, e->line, 0,
				    "duplicate section "
				    "[listener] (first at line %u)",
				    fc->listener_line);
			else
				fc->listener_line = e->line;
			fc->seen = fc->seen_listener;
		} else {
			if (fc->daemon_line != 0)
				ferr_add(fc, e->line, 0,
				    "duplicate section "
				    "[daemon] (first at line %u)",
				    fc->daemon_line);
			else
				fc->daemon_line = e->line;
			fc->seen = fc->seen_daemon;
		}
		fc->sec = e->sec;
		break;
	case SEC_SINK:
		for (i = 0; i < cf->nsinks; i++) {
			if (strcmp(cf->sinks[i].name, e->name) == 0) {
				ferr_add(fc, e->line, 0,
				    "sink '%s' is already "
				    "defined at %s:%u",
				    e->name, cf->sinks[i].origin.file,
				    cf->sinks[i].origin.line);
				return;
			}
		}
		cf->sinks =
		    xreallocarray(cf->sinks, cf->nsinks + 1, sizeof *cf->sinks);
		ld->saux =
		    xreallocarray(ld->saux, cf->nsinks + 1, sizeof *ld->saux);
		s = &cf->sinks[cf->nsinks];
		memset(s, 0, sizeof *s);
		memset(&ld->saux[cf->nsinks], 0, sizeof *ld->saux);
		s->name = xstrdup(e->name);
		s->origin.file = fc->file;
		s->origin.line = e->line;
		s->origin.col = 1;
		apply_defaults(SEC_SINK, s);
		s->uid = (uid_t)-1;
		s->gid = (gid_t)-1;
		fc->secidx = cf->nsinks++;
		fc->sec = SEC_SINK;
		fc->seen = fc->seen_section;
		memset(fc->seen_section, 0, sizeof fc->seen_section);
		break;
	case SEC_FILTER:
		for (i = 0; i < cf->nfilters; i++) {
			if (strcmp(cf->filters[i].name, e->name) == 0) {
				ferr_add(fc, e->line, 0,
				    "filter '%s' is "
				    "already defined at %s:%u",
				    e->name, cf->filters[i].origin.file,
				    cf->filters[i].origin.line);
				return;
			}
		}
		cf->filters = xreallocarray(
		    cf->filters, cf->nfilters + 1, sizeof *cf->filters);
		ld->faux =
		    xreallocarray(ld->faux, cf->nfilters + 1, sizeof *ld->faux);
		f = &cf->filters[cf->nfilters];
		memset(f, 0, sizeof *f);
		memset(&ld->faux[cf->nfilters], 0, sizeof *ld->faux);
		f->name = xstrdup(e->name);
		f->origin.file = fc->file;
		f->origin.line = e->line;
		f->origin.col = 1;
		apply_defaults(SEC_FILTER, f);
		fc->secidx = cf->nfilters++;
		fc->sec = SEC_FILTER;
		fc->seen = fc->seen_section;
		memset(fc->seen_section, 0, sizeof fc->seen_section);
		break;
	default:
		break;
	}
}

/*
 * Compile a filter's where expression. A compile error is reported at the
 * physical line and column of the byte it points at, found through the
 * entry's per-byte positions, so continuation lines and "\;" escapes
 * before it do not shift it.
 */
static void
where_compile(struct file_ctx *fc, struct filter_conf *f, const struct ent *e)
{
	struct filter_error ferr;
	struct pos p;

	filter_free(f->filter);
	f->filter = NULL;
	if (f->where == NULL)
		return;
	memset(&ferr, 0, sizeof ferr);
	if ((f->filter = filter_compile(f->where, &ferr)) != NULL)
		return;
	p = ent_pos(e, ferr.col > 0 ? ferr.col - 1 : 0);
	ferr_add(fc, p.line, p.col, "%s", ferr.msg);
}

/* A key entry in the current section. */
static void
key_handle(struct file_ctx *fc, struct ent *e)
{
	struct load *ld = fc->ld;
	const struct key *k;
	struct filter_aux *fa;
	struct filter_conf *fconf;
	struct value v;
	char label[SECTION_NAME_MAX + 16];
	size_t ki;

	if (fc->sec == SEC_IGNORE)
		return;
	if (fc->sec == SEC_NONE) {
		ferr_add(
		    fc, e->line, 0, "key '%s' outside of any section", e->key);
		return;
	}
	if ((k = key_find(fc->sec, e->key, &ki)) == NULL) {
		section_label(fc, label, sizeof label);
		ferr_add(fc, e->line, 0, "unknown key '%s' in section %s",
		    e->key, label);
		return;
	}
	if (fc->seen[ki] != 0) {
		ferr_add(fc, e->line, 0,
		    "duplicate key '%s' (first set at "
		    "line %u)",
		    e->key, fc->seen[ki]);
		return;
	}
	fc->seen[ki] = e->line;

	switch (fc->sec) {
	case SEC_LISTENER:
		key_set(fc, k, &ld->cf->listener, e);
		break;
	case SEC_DAEMON:
		key_set(fc, k, &ld->cf->daemon, e);
		break;
	case SEC_METRICS:
		key_set(fc, k, &ld->cf->metrics, e);
		break;
	case SEC_SINK:
		fc->deferred = xreallocarray(
		    fc->deferred, fc->ndeferred + 1, sizeof *fc->deferred);
		fc->deferred[fc->ndeferred++] = (size_t)(e - fc->ents);
		break;
	case SEC_FILTER:
		fa = &ld->faux[fc->secidx];
		fconf = &ld->cf->filters[fc->secidx];
		if (strcmp(k->name, "where") == 0) {
			if (key_set(fc, k, fconf, e) == 0)
				where_compile(fc, fconf, e);
			break;
		}
		if (strcmp(k->name, "sinks") != 0) {
			key_set(fc, k, fconf, e);
			break;
		}
		fa->sinks_set = 1;
		if (value_parse(fc, k, e,
			e->value.data != NULL ? e->value.data : "", &v) == -1)
			break;
		free(fa->ipos);
		fa->ipos = v.ipos;
		v.ipos = NULL;
		value_store(k, fconf, &v);
		break;
	default:
		break;
	}
}

/* inih's handler: every call names an entry of the side table. */
static int
ini_handler_cb(
    void *user, const char *section, const char *name, const char *value)
{
	struct file_ctx *fc = user;
	char *end;
	unsigned long idx;

	if (name == NULL || value == NULL)
		return 1; /* inih built to report sections or bare names */
	idx = strtoul(value, &end, 10);
	if (*end != '\0' || idx >= fc->nents)
		fatalx("config: bad synthetic line %s=%s", name, value);
	if (strcmp(name, "s") == 0)
		section_open(fc, &fc->ents[idx]);
	else if (strcmp(name, "k") == 0)
		key_handle(fc, &fc->ents[idx]);
	return 1;
}

/* Absolute directory of a file, for relative paths in it. */
static char *
file_dir(const char *file)
{
	char *dir, *slash, *real, cwd[PATH_MAX], *out;

	dir = xstrdup(file);
	if ((slash = strrchr(dir, '/')) == NULL) {
		free(dir);
		dir = xstrdup(".");
	} else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if ((real = realpath(dir, NULL)) != NULL) {
		free(dir);
		out = xstrdup(real);
		free(real);
		return out;
	}
	if (dir[0] == '/')
		return dir;
	if (getcwd(cwd, sizeof cwd) == NULL)
		return dir;
	xasprintf(&out, "%s/%s", cwd, dir);
	free(dir);
	path_normalize(out);
	return out;
}

/*
 * Read one file into the config; all problems go to the error list.
 * Returns -1 if the file could not be opened at all.
 */
static int
load_file(struct load *ld, const char *path)
{
	struct config *cf = ld->cf;
	struct file_ctx *fc;
	struct stat st;
	int rc, opened = 0;

	cf->files = xreallocarray(cf->files, cf->nfiles + 1, sizeof *cf->files);
	cf->files[cf->nfiles] = xstrdup(path);
	fc = xcalloc(1, sizeof *fc);
	fc->ld = ld;
	fc->file = cf->files[cf->nfiles++];
	fc->pending = -1;
	fc->sec = SEC_NONE;

	if ((fc->f = fopen(path, "r")) == NULL) {
		ferr_add(fc, 0, 0, "cannot open: %s", strerror(errno));
		goto out;
	}
	if (fstat(fileno(fc->f), &st) == -1) {
		ferr_add(fc, 0, 0, "cannot open: %s", strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		ferr_add(fc, 0, 0, "cannot open: %s", strerror(EISDIR));
		goto out;
	}
	if (st.st_mode & S_IWOTH) {
		ferr_add(fc, 0, 0, "writable by others: refused");
		goto out;
	}
	opened = 1;
	fc->dir = file_dir(path);
	rc = ini_parse_stream(lex_reader, fc, ini_handler_cb, fc);
	if (rc == -2)
		fatalx("config: inih out of memory");
	section_close(fc);

out:
	ferr_flush(fc);
	if (fc->f != NULL)
		fclose(fc->f);
	ents_free(fc);
	free(fc->line);
	free(fc->deferred);
	free(fc->dir);
	free(fc);
	return opened ? 0 : -1;
}

/* strcmp order of conf.d file names. */
static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read the conf.d drop-ins (*.conf) beside the main file, sorted by name. */
static void
load_dropins(struct load *ld, const char *file)
{
	char *dir, *slash, *path, **names = NULL;
	struct dirent *de;
	size_t n = 0, i, len;
	DIR *d;

	dir = xstrdup(file);
	if ((slash = strrchr(dir, '/')) != NULL) {
		slash[1] = '\0';
		xasprintf(&path, "%sconf.d", dir);
	} else
		path = xstrdup("conf.d");
	free(dir);
	if ((d = opendir(path)) == NULL) {
		if (errno != ENOENT && errno != ENOTDIR)
			err_add(
			    ld, path, 0, 0, "cannot open: %s", strerror(errno));
		free(path);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len <= 5 ||
		    strcmp(de->d_name + len - 5, ".conf") != 0)
			continue;
		names = xreallocarray(names, n + 1, sizeof *names);
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof *names, name_cmp);
	for (i = 0; i < n; i++) {
		xasprintf(&dir, "%s/%s", path, names[i]);
		(void)load_file(ld, dir);
		free(dir);
		free(names[i]);
	}
	free(names);
	free(path);
}

/* Where users-file problems go: the users file's own FILE:LINE. */
struct users_err {
	struct load *ld;
	const char *path;
};

static void
users_err(void *arg, unsigned line, const char *msg)
{
	struct users_err *ue = arg;

	err_add(ue->ld, ue->path, line, 0, "%s", msg);
}

/*
 * HTTPS and authentication: the files are read and checked now (readable,
 * key matches certificate, users file well-formed) so that a config that
 * loads also starts, and a reload with a broken file keeps the old one.
 */
static bool
unset(const char *s)
{
	return s == NULL || *s == '\0';
}

static void
check_listener(struct load *ld)
{
	struct listener_conf *l = &ld->cf->listener;
	const struct config_origin *o;
	struct users_err ue = {ld, NULL};
	struct tls_creds *tc;
	struct auth *a;
	char *cause = NULL;

	if (l->https_port != 0 && unset(l->certfile)) {
		o = &l->https_port_origin;
		err_add(ld, o->file, o->line, o->col,
		    "https_port is set but certfile is not");
	} else if (l->https_port != 0) {
		o = &l->certfile_origin;
		if ((tc = tls_creds_load(l->certfile, l->keyfile, l->trustfile,
		    l->tls_priorities, &cause)) == NULL) {
			err_add(ld, o->file, o->line, 0, "%s", cause);
			free(cause);
		}
		tls_creds_unref(tc);
	} else if (!unset(l->trustfile) || !unset(l->certfile))
		log_warnx("%s: certfile/trustfile set but https_port is 0: "
		    "not used", ld->cf->file);
	if (l->auth != LISTENER_AUTH_BASIC)
		return;
	if (unset(l->users_file)) {
		err_add(ld, ld->cf->file, 0, 0,
		    "auth = basic needs users_file");
		return;
	}
	ue.path = l->users_file;
	if ((a = auth_load(l->users_file, users_err, &ue)) == NULL) {
		o = &l->users_file_origin;
		err_add(ld, o->file, o->line, 0, "users_file %s cannot be used",
		    l->users_file);
	}
	auth_free(a);
	if (l->http_port != 0 && !l->allow_basic_over_http)
		log_warnx("%s: auth = basic: requests over plain HTTP get 401 "
		    "(allow_basic_over_http = no)", ld->cf->file);
}

/* user and group: resolved now, by name or number. */
static void
check_daemon(struct load *ld)
{
	struct daemon_conf *d = &ld->cf->daemon;
	const struct config_origin *o;
	struct passwd *pw = NULL;
	struct group *gr;
	long long id;

	d->uid = (uid_t)-1;
	d->gid = (gid_t)-1;
	if (!unset(d->user)) {
		o = &d->user_origin;
		if ((id = parse_id(d->user)) != -1)
			d->uid = (uid_t)id;
		else if ((pw = getpwnam(d->user)) != NULL)
			d->uid = pw->pw_uid;
		else
			err_add(ld, o->file, o->line, o->col,
			    "unknown user '%s'", d->user);
		if (pw == NULL && d->uid != (uid_t)-1)
			pw = getpwuid(d->uid);
		if (pw != NULL)
			d->gid = pw->pw_gid;
	}
	if (!unset(d->group)) {
		o = &d->group_origin;
		if ((id = parse_id(d->group)) != -1)
			d->gid = (gid_t)id;
		else if ((gr = getgrnam(d->group)) != NULL)
			d->gid = gr->gr_gid;
		else
			err_add(ld, o->file, o->line, o->col,
			    "unknown group '%s'", d->group);
	} else if (!unset(d->user) && pw == NULL && d->uid != (uid_t)-1) {
		o = &d->user_origin;
		err_add(ld, o->file, o->line, o->col,
		    "user %s has no passwd entry: set group", d->user);
	}
}

/* The checks that need every file: types, paths, references, routing. */
static void
cross_check(struct load *ld)
{
	struct config *cf = ld->cf;
	struct sink_conf *s, *t;
	struct filter_conf *f;
	struct filter_aux *fa;
	struct pos p;
	size_t i, j;
	int *used;

	check_listener(ld);
	check_daemon(ld);
	used = xcalloc(cf->nsinks + 1, sizeof *used);
	for (i = 0; i < cf->nsinks; i++) {
		s = &cf->sinks[i];
		if (s->type == NULL) {
			if (!ld->saux[i].type_set)
				err_add(ld, s->origin.file, s->origin.line, 0,
				    "sink '%s' has no type", s->name);
			continue;
		}
		if (strcmp(s->type, "file") != 0)
			continue;
		if (s->path == NULL) {
			if (!ld->saux[i].path_set)
				err_add(ld, s->origin.file, s->origin.line, 0,
				    "file sink '%s' has no path", s->name);
			continue;
		}
		for (j = 0; j < i; j++) {
			t = &cf->sinks[j];
			if (t->type == NULL || strcmp(t->type, "file") != 0 ||
			    t->path == NULL || strcmp(t->path, s->path) != 0)
				continue;
			err_add(ld, ld->saux[i].path_origin.file,
			    ld->saux[i].path_origin.line,
			    ld->saux[i].path_origin.col,
			    "sink '%s' writes to "
			    "the same file as sink '%s' (%s:%u)",
			    s->name, t->name, t->origin.file, t->origin.line);
			break;
		}
	}
	for (i = 0; i < cf->nfilters; i++) {
		f = &cf->filters[i];
		fa = &ld->faux[i];
		if (f->sinks == NULL) {
			if (!fa->sinks_set)
				err_add(ld, f->origin.file, f->origin.line, 0,
				    "filter '%s' has no sinks", f->name);
			continue;
		}
		for (j = 0; j < f->nsinks; j++) {
			s = (struct sink_conf *)config_find_sink(
			    cf, f->sinks[j]);
			if (s != NULL) {
				used[s - cf->sinks] = 1;
				continue;
			}
			p = fa->ipos[j];
			err_add(ld, f->origin.file, p.line, p.col,
			    "unknown sink '%s'", f->sinks[j]);
		}
	}
	for (i = 0; i < cf->nsinks; i++) {
		if (!used[i])
			log_warnx("%s:%u: sink '%s' is not used by any filter",
			    cf->sinks[i].origin.file, cf->sinks[i].origin.line,
			    cf->sinks[i].name);
	}
	if (cf->nfilters == 0 && !ld->failed)
		log_warnx("%s: no filters: indications are spooled but "
			  "delivered nowhere",
		    cf->file);
	free(used);
}

/*
 * Defaults first, then the main file, the drop-ins and the checks across
 * files; the config is handed over only if nothing at all went wrong.
 */
struct config *
config_load(const char *file, struct config_errors *errs)
{
	struct load ld;
	struct config *cf;
	size_t i;

	memset(&ld, 0, sizeof ld);
	cf = xcalloc(1, sizeof *cf);
	cf->file = xstrdup(file);
	apply_defaults(SEC_LISTENER, &cf->listener);
	apply_defaults(SEC_DAEMON, &cf->daemon);
	apply_defaults(SEC_METRICS, &cf->metrics);
	ld.cf = cf;
	ld.errs = errs;

	if (load_file(&ld, file) == -1)
		goto out;
	load_dropins(&ld, file);
	cross_check(&ld);

out:
	for (i = 0; i < cf->nfilters; i++)
		free(ld.faux[i].ipos);
	free(ld.faux);
	free(ld.saux);
	if (ld.failed) {
		config_free(cf);
		return NULL;
	}
	return cf;
}

static char *
dup_or_null(const char *s)
{
	return s == NULL ? NULL : xstrdup(s);
}

void
config_sink_conf_copy(struct sink_conf *dst, const struct sink_conf *src)
{
	*dst = *src;
	dst->name = dup_or_null(src->name);
	dst->type = dup_or_null(src->type);
	dst->origin.file = dup_or_null(src->origin.file);
	dst->template = dup_or_null(src->template);
	dst->tmpl = src->tmpl != NULL ? template_ref(src->tmpl) : NULL;
	dst->severity = dup_or_null(src->severity);
	dst->path = dup_or_null(src->path);
	dst->group = dup_or_null(src->group);
	dst->owner = dup_or_null(src->owner);
	dst->ident = dup_or_null(src->ident);
	dst->socket = dup_or_null(src->socket);
	dst->command = dup_or_null(src->command);
}

/*
 * Free what a sink_conf owns but origin.file, which in a loaded config
 * points into cf->files and in a copy is the copy's own.
 */
static void
sink_conf_strings_free(struct sink_conf *c)
{
	free(c->name);
	free(c->type);
	free(c->template);
	template_free(c->tmpl);
	free(c->severity);
	free(c->path);
	free(c->group);
	free(c->owner);
	free(c->ident);
	free(c->socket);
	free(c->command);
}

void
config_sink_conf_clear(struct sink_conf *c)
{
	sink_conf_strings_free(c);
	free((char *)c->origin.file);
	memset(c, 0, sizeof *c);
}

/* Free a NULL-terminated string vector. */
static void
strv_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* Free a config and everything it owns (NULL is fine). */
void
config_free(struct config *cf)
{
	size_t i;

	if (cf == NULL)
		return;
	strv_free(cf->listener.bind);
	free(cf->listener.certfile);
	free(cf->listener.keyfile);
	free(cf->listener.trustfile);
	free(cf->listener.tls_priorities);
	free(cf->listener.users_file);
	strv_free(cf->listener.allowed_clients);
	strv_free(cf->listener.allow);
	free(cf->daemon.spool_dir);
	free(cf->daemon.control_socket);
	free(cf->daemon.reject_dir);
	free(cf->daemon.pid_file);
	free(cf->metrics.listen);
	free(cf->daemon.control_group);
	free(cf->daemon.user);
	free(cf->daemon.group);
	for (i = 0; i < cf->nsinks; i++)
		sink_conf_strings_free(&cf->sinks[i]); /* origin.file: cf->files */
	free(cf->sinks);
	for (i = 0; i < cf->nfilters; i++) {
		free(cf->filters[i].name);
		free(cf->filters[i].where);
		filter_free(cf->filters[i].filter);
		strv_free(cf->filters[i].sinks);
	}
	free(cf->filters);
	for (i = 0; i < cf->nfiles; i++)
		free(cf->files[i]);
	free(cf->files);
	free(cf->file);
	free(cf);
}

/* A sink by name, or NULL. */
const struct sink_conf *
config_find_sink(const struct config *cf, const char *name)
{
	size_t i;

	for (i = 0; i < cf->nsinks; i++)
		if (strcmp(cf->sinks[i].name, name) == 0)
			return &cf->sinks[i];
	return NULL;
}

static const char *const type_names[] = {"boolean", "number", "port", "size",
    "duration", "string", "path", "word", "list", "file mode", "log level",
    "host:port"};

/* Print text wrapped at 72 columns, each line indented by `indent`. */
static void
print_wrapped(FILE *f, const char *text, int indent)
{
	const char *p = text, *sp;
	int col = 0;
	size_t n;

	while (*p != '\0') {
		sp = strchr(p, ' ');
		n = sp == NULL ? strlen(p) : (size_t)(sp - p);
		if (col > 0 && col + 1 + (int)n > 72) {
			fputc('\n', f);
			col = 0;
		}
		if (col == 0)
			col = fprintf(f, "%*s", indent, "");
		else
			col += fprintf(f, " ");
		col += fprintf(f, "%.*s", (int)n, p);
		p += n;
		while (*p == ' ')
			p++;
	}
	fputc('\n', f);
}

/* Print one key of the table. */
static void
print_key(FILE *f, const struct key *k)
{
	struct buf b = BUF_INIT;
	char lo[32], hi[32], *w;
	unsigned i;
	int n;

	fprintf(f, "  %s = %s\n", k->name,
	    k->def == NULL ? (k->flags & KF_REQUIRED ? "(required)" : "(none)")
	    : k->def[0] == '\0' ? "(empty)"
				: k->def);
	buf_adds(&b, type_names[k->type]);
	switch (k->type) {
	case KT_UINT:
	case KT_PORT:
	case KT_SIZE:
	case KT_DURATION:
		fmt_number(k, lo, sizeof lo, k->min);
		fmt_number(k, hi, sizeof hi, k->max);
		buf_printf(&b, ", %s..%s", lo, hi);
		break;
	case KT_ENUM:
		w = words_list(k->words);
		buf_printf(&b, ": %s", w);
		free(w);
		break;
	default:
		break;
	}
	if (k->section == SEC_SINK && k->sinktypes != ST_ALL) {
		buf_adds(&b, "; sink type");
		for (i = 0, n = 0; sink_type_words[i] != NULL; i++)
			if (k->sinktypes & (1U << i))
				buf_printf(&b, "%s%s", n++ ? ", " : " ",
				    sink_type_words[i]);
	}
	if (!(k->flags & KF_RELOADABLE))
		buf_adds(&b, "; needs a restart");
	if (!(k->flags & KF_IMPLEMENTED))
		buf_printf(&b, "; not supported by this build yet%s%s%s",
		    k->off != NULL ? " (only " : "",
		    k->off == NULL	? ""
		    : k->off[0] == '\0' ? "empty"
					: k->off,
		    k->off != NULL ? " accepted)" : "");
	print_wrapped(f, b.data, 6);
	print_wrapped(f, k->help, 6);
	buf_free(&b);
}

/* Every key of the table, section by section, for --help-config. */
void
config_print_keys(FILE *f)
{
	static const struct {
		enum section_kind sec;
		const char *title;
	} secs[] = {
	    {SEC_LISTENER, "[listener]"},
	    {SEC_DAEMON, "[daemon]"},
	    {SEC_METRICS, "[metrics]"},
	    {SEC_SINK, "[sink NAME]"},
	    {SEC_FILTER, "[filter NAME]"},
	};
	size_t i, j;

	for (i = 0; i < nitems(secs); i++) {
		fprintf(f, "%s%s\n", i > 0 ? "\n" : "", secs[i].title);
		for (j = 0; j < NKEYS; j++)
			if (keys[j].section == secs[i].sec)
				print_key(f, &keys[j]);
	}
}
