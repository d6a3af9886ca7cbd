/*
 * cimlistend.conf: INI files (main file, then the conf.d drop-ins beside it in
 * name order) loaded into a fresh struct config, validated completely, and
 * only then handed over; start-up, --check-config and reload share the path.
 *
 * Keys are described by one table in config.c (type, bounds, default,
 * reloadable, help). Every problem found is collected as
 * "FILE:LINE[:COL]: message"; a config with any error is never returned.
 */
#ifndef CL_CONFIG_H
#define CL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct filter;

#define CONFIG_DEFAULT_FILE SYSCONFDIR "/cimlisten/cimlistend.conf"

/* Where a value came from, for messages raised after loading. */
struct config_origin {
	const char *file; /* owned by the config */
	unsigned line;    /* physical line of the key */
	unsigned col;     /* 1-based column where the value starts */
};

struct listener_conf {
	unsigned http_port;            /* 0 disables */
	char **bind;                   /* addresses, NULL-terminated; default "::" */
	size_t nbind;
	unsigned threads;              /* 0 = one per CPU */
	uint64_t max_body;             /* bytes */
	unsigned max_connections;
	unsigned max_connections_per_ip;
	unsigned rate_limit;           /* requests/s per address, 0: none */
	unsigned timeout;              /* seconds, idle connection timeout */
	uint64_t connection_memory;    /* bytes per connection (libmicrohttpd) */
	bool strict;                   /* CIMExport/CIMExportMethod/CIMProtocolVersion required */
	unsigned max_xml_depth;
	unsigned max_embedding_depth;
	unsigned max_elements;
	uint64_t max_attribute_length; /* bytes */
	uint64_t max_text_length;      /* bytes */
	unsigned max_headers;
	/* HTTPS and client authentication (issue 8) */
	unsigned https_port;           /* 0 disables */
	char *certfile;                /* PEM chain; "" when unset */
	char *keyfile;                 /* PEM key; "" means in certfile */
	char *trustfile;               /* CA bundle; "" when unset */
	char *tls_priorities;          /* GnuTLS priority string; "" default */
	char **allowed_clients;        /* CN/SAN names, NULL-terminated */
	size_t nallowed_clients;
	int auth;                      /* enum listener_auth */
	char *users_file;
	bool allow_basic_over_http;
	char **allow;                  /* CIDRs, NULL-terminated (see acl.h) */
	size_t nallow;
	struct config_origin https_port_origin;
	struct config_origin certfile_origin;
	struct config_origin users_file_origin;
};

enum listener_auth { LISTENER_AUTH_NONE = 0, LISTENER_AUTH_BASIC };

struct daemon_conf {
	int log_level;                 /* syslog priority */
	unsigned shutdown_timeout;     /* seconds to drain on SIGTERM */
	char *spool_dir;               /* absolute unless given relative with no file */
	uint64_t spool_max_size;       /* bytes */
	unsigned spool_max_age;        /* seconds */
	int fsync;                     /* enum spool_fsync: none, batch, always */
	char *control_socket;          /* NULL or "": no control socket */
	char *control_group;           /* NULL or "": the daemon's group */
	char *reject_dir;              /* NULL or "": rejected requests not kept */
	char *pid_file;                /* NULL or "": none */
	unsigned reject_keep;          /* files kept there */
	char *user;                    /* run as, after binding (root only) */
	char *group;                   /* "" with user: the user's group */
	uid_t uid;                     /* resolved user, (uid_t)-1 when unset */
	gid_t gid;                     /* resolved group, (gid_t)-1 when unset */
	struct config_origin user_origin;
	struct config_origin group_origin;
};

struct metrics_conf {
	char *listen;                  /* "HOST:PORT", NULL or "": off */
};

enum sink_format { SINK_FORMAT_JSON = 0, SINK_FORMAT_MOF, SINK_FORMAT_TEMPLATE };
enum syslog_protocol { SYSLOG_RFC3164 = 0, SYSLOG_RFC5424 };

struct template;

/*
 * One [sink NAME] section. Keys that do not apply to the type keep their
 * defaults. config_sink_conf_copy/clear deep-copy and free one (sinks keep
 * their own copy across reloads).
 */
struct sink_conf {
	char *name;
	char *type;                    /* "file", "syslog", "journal", "socket", "exec" */
	struct config_origin origin;   /* the [sink NAME] line */
	/* every type */
	enum sink_format format;
	char *template;                /* text of `template` ("" when unset) */
	struct template *tmpl;         /* compiled template (a reference), or NULL */
	char *severity;                /* "" maps PerceivedSeverity; level name; property */
	/* file, socket */
	char *path;
	mode_t mode;                   /* default 0640 */
	char *group;                   /* "" keeps the daemon's group */
	gid_t gid;                     /* resolved group, (gid_t)-1 when unset */
	/* file */
	char *owner;                   /* "" keeps the daemon's user */
	uid_t uid;                     /* resolved owner, (uid_t)-1 when unset */
	uint64_t rotate_size;          /* bytes; 0: no built-in rotation */
	unsigned rotate_keep;
	/* syslog, journal */
	char *ident;
	unsigned rate_limit;           /* messages a second, 0 unlimited */
	/* syslog */
	int facility;                  /* facility number (LOG_LOCAL3 >> 3 is 19) */
	char *socket;
	enum syslog_protocol protocol;
	/* socket */
	unsigned buffer;
	unsigned max_subscribers;
	/* exec */
	char *command;
	bool shell;
	unsigned concurrency;
	unsigned timeout;              /* seconds */
};

struct filter_conf {
	char *name;
	struct config_origin origin;   /* the [filter NAME] line */
	char *where;                   /* NULL = matches everything */
	struct config_origin where_origin;
	struct filter *filter;         /* where compiled (owned), or NULL */
	char **sinks;                  /* names, validated to exist */
	size_t nsinks;
	bool final;
};

struct config {
	char *file;                    /* main file as given */
	char **files;                  /* every file read, in order (owned) */
	size_t nfiles;
	struct listener_conf listener;
	struct daemon_conf daemon;
	struct metrics_conf metrics;
	struct sink_conf *sinks;       /* in file order */
	size_t nsinks;
	struct filter_conf *filters;   /* in file order */
	size_t nfilters;
};

/* A list of "FILE:LINE[:COL]: message" strings. */
struct config_errors {
	char **msgs;
	size_t n;
};

/*
 * Load `file` and its conf.d drop-ins. Returns a new config, or NULL with
 * every problem appended to errs. Warnings (nothing fatal) go to the log.
 */
struct config *config_load(const char *file, struct config_errors *errs);
/*
 * Split "HOST:PORT" or "[V6]:PORT" (port 1..65535); host and port may be
 * NULL to only check. -1 if it is not one.
 */
int config_hostport(const char *s, char *host, size_t hostlen, unsigned *port);
void config_free(struct config *);
void config_errors_clear(struct config_errors *);

const struct sink_conf *config_find_sink(const struct config *, const char *name);
/* Deep copy of a sink's settings (template shared by reference). */
void config_sink_conf_copy(struct sink_conf *dst, const struct sink_conf *src);
/* Free what a sink_conf owns (not the struct itself). */
void config_sink_conf_clear(struct sink_conf *);

/* Value parsers shared with other modules; 0 on success, -1 with *cause. */
int config_parse_size(const char *, uint64_t *, const char **cause);
int config_parse_duration(const char *, uint64_t *secs, const char **cause);
int config_parse_bool(const char *, bool *);

/* Print the key table as help text (for --help-config / man page checks). */
void config_print_keys(FILE *);

#endif
