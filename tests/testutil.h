/*
 * Helpers for the black-box tests: temp dirs, free loopback ports, starting
 * and stopping the real cimlistend, HTTP through libcurl and raw sockets,
 * and waiting on conditions with bounded timeouts (never on luck).
 */
#ifndef CL_TESTUTIL_H
#define CL_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <json-c/json.h>

#include <check.h>

/* Run a suite (CK_NORMAL output, counted by scripts/test-summary); frees it. Exit status for main. */
int tu_run(Suite *);

/* Read a whole file (NUL-terminated); NULL if it cannot be read. */
char *tu_read_file(const char *path, size_t *lenp);
/* Write a whole file; aborts the test on failure. */
void tu_write_file(const char *path, const char *data, size_t len);
/* A file under tests/data (caller frees). */
char *tu_data(const char *rel, size_t *lenp);
/* One of the DMTF-style sample bodies bundled in tests/data/samples. */
char *tu_sample(const char *name, size_t *lenp);
/* A new private directory under $TMPDIR (caller frees the string). */
char *tu_tmpdir(void);
void tu_rmtree(const char *dir);
/* A TCP port free on 127.0.0.1 right now. */
unsigned tu_free_port(void);

struct tu_daemon {
	pid_t pid;
	unsigned port;
	char *dir;       /* temp dir holding conf, outputs and stderr.log */
	char *conf;      /* path of the config file */
	char *out;       /* path of the JSON Lines file sink */
	char *errlog;    /* the daemon's stderr */
	bool exited;     /* reaped by tu_daemon_wait */
	int status;      /* exit status once exited, -1 if killed by a signal */
	char **env;      /* NAME=value added to its environment, or NULL */
};

/*
 * Start cimlistend -f on a config made of a [listener] section on
 * 127.0.0.1:<free port> (unless listener_extra sets bind, which must
 * include 127.0.0.1), one file sink "out" at dir/out.jsonl routed by a
 * filter "all", plus `extra` appended verbatim (may be NULL; it may add
 * keys to [listener] through `listener_extra`). Waits (bounded) until the
 * port accepts connections. Aborts the test if the daemon does not come up.
 */
struct tu_daemon *tu_daemon_start(const char *listener_extra, const char *extra);
/*
 * The same with `env` (NULL-terminated "NAME=value" strings, may be NULL)
 * added to the daemon's environment, for this start and every restart.
 * The config sets spool_dir to dir/spool.
 */
struct tu_daemon *tu_daemon_start_env(const char *listener_extra,
    const char *extra, const char *const *env);
/*
 * Start the daemon again on the same config, port, spool and environment
 * once it has exited (tu_daemon_wait returned true); aborts the test if it
 * does not come up.
 */
void tu_daemon_restart(struct tu_daemon *d);
/*
 * Start cimlistend -f on a config entirely of the caller's: `conf_fmt` is a
 * printf format given the port and the daemon's temp dir, which it must
 * both use, as %1$u and %2$s ("http_port = %1$u", "path = %2$s/a.jsonl"),
 * and it must bind 127.0.0.1 and set spool_dir inside the temp dir
 * ("spool_dir = %2$s/spool"). Retries ports and aborts as tu_daemon_start
 * does; d->out is NULL.
 */
struct tu_daemon *tu_daemon_start_conf(const char *conf_fmt);
/*
 * Run cimlistend (as tu_daemon_start finds it) with `args` (NULL-terminated,
 * argv[0] not included) and wait at most timeout_ms for it to exit. Its
 * stdout and stderr together go to *output (malloc'd). Returns the exit
 * status, or -1 if it was killed by a signal or timed out (then killed).
 * A sanitizer report in the output fails the test.
 */
int tu_cimlistend_run(
    const char *const *args, char **output, unsigned timeout_ms);
/* Wait (bounded) for the daemon to exit by itself; false on timeout. */
bool tu_daemon_wait(struct tu_daemon *d, unsigned timeout_ms);
/* SIGTERM and wait (bounded); returns the exit status (or -1); frees d. */
int tu_daemon_stop(struct tu_daemon *d);
/* Does the daemon's stderr contain `needle`? */
bool tu_daemon_log_has(const struct tu_daemon *d, const char *needle);
/* Wait until `path` holds at least n complete lines; false on timeout. */
bool tu_wait_lines(const char *path, size_t n, unsigned timeout_ms);
/* The complete lines of a file (NULL-terminated array of malloc'd strings). */
char **tu_read_lines(const char *path, size_t *np);
void tu_free_lines(char **);

/* An HTTP answer. Header lookup is case-insensitive. */
struct tu_response {
	long status;
	char *headers;   /* raw header block */
	char *body;
	size_t body_len;
};
/* The value of header `name` (malloc'd, trimmed), or NULL. */
char *tu_header(const struct tu_response *, const char *name);
void tu_response_free(struct tu_response *);

/*
 * POST (or `method`) `body` to http://127.0.0.1:port/path with extra header
 * lines (NULL-terminated array, may be NULL). Uses libcurl. A `path`
 * starting with "http://" is a URL format with one %u for the port.
 */
struct tu_response *tu_http(unsigned port, const char *method,
    const char *path, const char *const *headers, const char *body, size_t len);
/* The usual SFCB-style export headers. */
extern const char *const tu_sfcb_headers[];
/* POST a body with SFCB-style headers to "/". */
struct tu_response *tu_post(unsigned port, const char *body, size_t len);

/*
 * Send raw bytes on a new connection and read one HTTP response (headers and
 * a Content-Length body) or until the peer closes; bounded by timeout_ms.
 * Returns the raw response text (malloc'd), "" if the peer closed without one.
 */
char *tu_raw(unsigned port, const char *req, size_t len, unsigned timeout_ms);
/* Read one HTTP response from `fd` as tu_raw does. */
char *tu_read_response(int fd, unsigned timeout_ms);
/*
 * Connect to 127.0.0.1:port from the local address `from` (such as
 * "127.0.0.2"; NULL: the kernel's choice); aborts the test on failure.
 */
int tu_connect_from(const char *from, unsigned port);
/* Connect and send `req`, leaving the connection open; returns the fd. */
int tu_connect_send(unsigned port, const char *req, size_t len);
/* Wait until the peer closes `fd` (reading and discarding); false on timeout. */
bool tu_wait_closed(int fd, unsigned timeout_ms);
/* Parse a raw response's status code; -1 if none. */
int tu_raw_status(const char *resp);
/* Header value out of a raw response (malloc'd) or NULL. */
char *tu_raw_header(const char *resp, const char *name);

/*
 * A connection to the daemon's control socket (d->dir/control.sock),
 * retried (bounded) while it is not there yet.
 */
int tu_ctl_connect(const struct tu_daemon *d);
/* Send one request line, read one answer line (bounded wait); parsed. */
json_object *tu_ctl_ask(int fd, const char *req);
/* A socket listening on 127.0.0.1 at a port of the kernel's (*port). */
int tu_listen_tcp(unsigned *port);
/* Is a connection to 127.0.0.1:port refused? */
bool tu_port_refuses(unsigned port);

/* Parse one JSON line, aborting the test if it is not a JSON object. */
json_object *tu_json(const char *line);
/* Dig into a JSON object: "properties.PerceivedSeverity.value" style path. */
json_object *tu_jget(json_object *o, const char *dotted);

#endif
