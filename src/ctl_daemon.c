/*
 * ctl_daemon.c: the cimlistenctl commands answered by a running daemon
 * over its control socket (status, stats, sinks, sources, subscribers,
 * reopen, reload, redeliver): one JSON
 * request line, one JSON answer line, shown as text for people or as the
 * answer's result with --json.
 *
 * Exit status: 0 the daemon answered ok, 1 it answered with errors (on
 * stderr; for reload: the new configuration was refused and the old one
 * stays), 2 usage error, 4 the daemon could not be reached or answered
 * something that is not an answer.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "ctl_daemon.h"
#include "xmalloc.h"

#define CTL_TIMEOUT_MS 10000
/* A reload drains changed sinks for up to shutdown_timeout (10m at most). */
#define CTL_RELOAD_TIMEOUT_MS 660000

/* Send the request line and read the answer line; NULL with *err. */
static char *
ctl_request(const char *path, const char *req, int timeout_ms, char **err)
{
	struct sockaddr_un sun;
	struct pollfd pfd;
	struct buf b = BUF_INIT;
	char tmp[65536], *nl;
	ssize_t n;
	size_t off = 0, len;
	int fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		xasprintf(err, "socket path too long: %s", path);
		return NULL;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		xasprintf(err, "cannot reach cimlistend at %s: %s", path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return NULL;
	}
	len = strlen(req);
	while (off < len) {
		n = send(fd, req + off, len - off, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			xasprintf(err, "%s: %s", path, strerror(errno));
			goto fail;
		}
		off += (size_t)n;
	}
	for (;;) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, timeout_ms) == 0) {
			xasprintf(err, "%s: no answer within %d s", path,
			    timeout_ms / 1000);
			goto fail;
		}
		n = read(fd, tmp, sizeof tmp);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			xasprintf(err, "%s: connection closed without an answer",
			    path);
			goto fail;
		}
		buf_add(&b, tmp, (size_t)n);
		if ((nl = memchr(b.data, '\n', b.len)) != NULL) {
			*nl = '\0';
			break;
		}
	}
	close(fd);
	return buf_steal(&b, NULL);
fail:
	buf_free(&b);
	close(fd);
	return NULL;
}

char *
ctl_daemon_request(const char *path, const char *op, char **err)
{
	char *req, *line;

	xasprintf(&req, "{\"op\":\"%s\"}\n", op);
	line = ctl_request(path, req, CTL_TIMEOUT_MS, err);
	free(req);
	return line;
}

static uint64_t
ju(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	return json_object_get_uint64(v);
}

static const char *
js(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return "-";
	return json_object_get_string(v);
}

static json_object *
jo(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static void
print_uptime(uint64_t s)
{
	if (s >= 86400)
		printf("%llud%02lluh", (unsigned long long)(s / 86400),
		    (unsigned long long)(s % 86400 / 3600));
	else if (s >= 3600)
		printf("%lluh%02llum", (unsigned long long)(s / 3600),
		    (unsigned long long)(s % 3600 / 60));
	else
		printf("%llum%02llus", (unsigned long long)(s / 60),
		    (unsigned long long)(s % 60));
}

static void
print_sinks(json_object *a)
{
	json_object *s;
	size_t i;

	printf("%-16s %-8s %-8s %12s %9s %8s %8s %12s %10s\n", "SINK", "TYPE",
	    "FORMAT", "DELIVERED", "FAILURES", "DROPPED", "LOST", "LAST_SEQ",
	    "LAG");
	for (i = 0; a != NULL && i < json_object_array_length(a); i++) {
		s = json_object_array_get_idx(a, i);
		printf("%-16s %-8s %-8s %12llu %9llu %8llu %8llu %12llu %10llu\n",
		    js(s, "name"), js(s, "type"), js(s, "format"),
		    (unsigned long long)ju(s, "delivered"),
		    (unsigned long long)ju(s, "failures"),
		    (unsigned long long)ju(s, "dropped"),
		    (unsigned long long)ju(s, "lost"),
		    (unsigned long long)ju(s, "last_seq"),
		    (unsigned long long)ju(s, "lag"));
	}
}

static void
print_subscribers(json_object *a)
{
	json_object *s;
	size_t i;

	printf("%-12s %4s %-14s %7s %-8s %10s %10s %8s %6s %8s  %s\n", "SINK",
	    "ID", "NAME", "PID", "STATE", "SENT", "POSITION", "QUEUED",
	    "GAPS", "LOST", "WHERE");
	for (i = 0; a != NULL && i < json_object_array_length(a); i++) {
		s = json_object_array_get_idx(a, i);
		printf("%-12s %4llu %-14s %7lld %-8s %10llu %10llu %8llu %6llu "
		    "%8llu  %s\n", js(s, "sink"),
		    (unsigned long long)ju(s, "id"),
		    js(s, "name"),
		    (long long)json_object_get_int64(jo(s, "pid")),
		    js(s, "state"), (unsigned long long)ju(s, "sent"),
		    (unsigned long long)ju(s, "position"),
		    (unsigned long long)ju(s, "queued"),
		    (unsigned long long)ju(s, "gaps"),
		    (unsigned long long)ju(s, "lost"),
		    jo(s, "where") != NULL ? js(s, "where") : "*");
	}
}

static void
print_status(json_object *r)
{
	json_object *ls = jo(r, "listeners"), *sp = jo(r, "spool"), *l, *s;
	json_object *sinks = jo(r, "sinks");
	size_t i;

	printf("cimlistend %s, pid %llu, up ", js(r, "version"),
	    (unsigned long long)ju(r, "pid"));
	print_uptime(ju(r, "uptime"));
	printf("\nconfig    %s\n", js(r, "config"));
	for (i = 0; ls != NULL && i < json_object_array_length(ls); i++) {
		l = json_object_array_get_idx(ls, i);
		printf("listener  %s port %llu (%s)\n", js(l, "address"),
		    (unsigned long long)ju(l, "port"),
		    json_object_get_boolean(jo(l, "tls")) ? "https" : "http");
	}
	if (ls == NULL || json_object_array_length(ls) == 0)
		printf("listener  none\n");
	printf("spool     %s: %llu segments, %llu bytes, seq %llu..%llu, "
	    "next %llu\n", js(sp, "dir"),
	    (unsigned long long)ju(sp, "segments"),
	    (unsigned long long)ju(sp, "bytes"),
	    (unsigned long long)ju(sp, "oldest_seq"),
	    (unsigned long long)ju(sp, "newest_seq"),
	    (unsigned long long)ju(sp, "next_seq"));
	for (i = 0; sinks != NULL && i < json_object_array_length(sinks);
	    i++) {
		s = json_object_array_get_idx(sinks, i);
		printf("sink      %s (%s): %llu delivered, %llu failures, lag "
		    "%llu\n", js(s, "name"), js(s, "type"),
		    (unsigned long long)ju(s, "delivered"),
		    (unsigned long long)ju(s, "failures"),
		    (unsigned long long)ju(s, "lag"));
	}
}

static void
print_sources(json_object *a)
{
	json_object *s, *tracks, *t;
	size_t i, k;

	printf("%-39s %9s %12s %-27s %s\n", "SOURCE", "REQUESTS",
	    "INDICATIONS", "LAST_SEEN", "LAST_CLASS");
	for (i = 0; a != NULL && i < json_object_array_length(a); i++) {
		s = json_object_array_get_idx(a, i);
		printf("%-39s %9llu %12llu %-27s %s\n", js(s, "addr"),
		    (unsigned long long)ju(s, "requests"),
		    (unsigned long long)ju(s, "indications"),
		    js(s, "last_seen"), js(s, "last_class"));
		tracks = jo(s, "tracks");
		for (k = 0; tracks != NULL &&
		    k < json_object_array_length(tracks); k++) {
			t = json_object_array_get_idx(tracks, k);
			printf("  context %s: last %llu, %llu gaps (%llu "
			    "missing), %llu duplicates, %llu out of order, "
			    "%llu restarts\n", js(t, "context"),
			    (unsigned long long)ju(t, "last"),
			    (unsigned long long)ju(t, "gaps"),
			    (unsigned long long)ju(t, "missing"),
			    (unsigned long long)ju(t, "duplicates"),
			    (unsigned long long)ju(t, "out_of_order"),
			    (unsigned long long)ju(t, "restarts"));
		}
	}
}

/* Every scalar of a two-level object as "group.key value" lines. */
/* "prefix.key value" for every scalar under o. */
static void
print_flat(const char *prefix, json_object *o)
{
	char *name;

	json_object_object_foreach(o, key, v) {
		xasprintf(&name, "%s.%s", prefix, key);
		if (json_object_is_type(v, json_type_object))
			print_flat(name, v);
		else if (!json_object_is_type(v, json_type_array))
			printf("%s %s\n", name, json_object_get_string(v));
		free(name);
	}
}

static void
print_filters(json_object *a)
{
	json_object *f;
	size_t i;

	printf("%-24s %12s\n", "FILTER", "MATCHED");
	for (i = 0; a != NULL && i < json_object_array_length(a); i++) {
		f = json_object_array_get_idx(a, i);
		printf("%-24s %12llu\n", js(f, "name"),
		    (unsigned long long)ju(f, "matched"));
	}
}

static void
print_stats(json_object *r)
{
	json_object_object_foreach(r, group, g) {
		if (json_object_is_type(g, json_type_object))
			print_flat(group, g);
		/* else sinks, filters, subscribers: tables below */
	}
	printf("\n");
	print_sinks(jo(r, "sinks"));
	if (jo(r, "filters") != NULL) {
		printf("\n");
		print_filters(jo(r, "filters"));
	}
	if (jo(r, "subscribers") != NULL &&
	    json_object_array_length(jo(r, "subscribers")) > 0) {
		printf("\n");
		print_subscribers(jo(r, "subscribers"));
	}
}

/* "a, b" out of a JSON array of strings ("-" when empty). */
static void
print_names(const char *label, json_object *a)
{
	size_t i, n = a != NULL ? json_object_array_length(a) : 0;

	printf("%-10s", label);
	for (i = 0; i < n; i++)
		printf("%s%s", i > 0 ? ", " : " ",
		    json_object_get_string(json_object_array_get_idx(a, i)));
	printf("%s\n", n == 0 ? " -" : "");
}

static void
print_reload(json_object *r)
{
	json_object *s = jo(r, "sinks"), *notes = jo(r, "notes");
	size_t i;

	printf("reloaded: %llu filters, listener %s\n",
	    (unsigned long long)ju(r, "filters"), js(r, "listener"));
	print_names("added", jo(s, "added"));
	print_names("changed", jo(s, "changed"));
	print_names("removed", jo(s, "removed"));
	print_names("unchanged", jo(s, "unchanged"));
	for (i = 0; notes != NULL && i < json_object_array_length(notes); i++)
		printf("%s\n", json_object_get_string(
		    json_object_array_get_idx(notes, i)));
}

static void
ctl_daemon_usage(FILE *f, const char *op)
{
	if (strcmp(op, "redeliver") == 0)
		fprintf(f, "usage: cimlistenctl redeliver [--json] [--socket "
		    "PATH] SINK --from SEQ [--to SEQ]\n"
		    "\n"
		    "  --from SEQ     first record to send again\n"
		    "  --to SEQ       last one (default: up to where the sink "
		    "is)\n");
	else
		fprintf(f, "usage: cimlistenctl %s [--json] [--socket PATH]\n"
		    "\n", op);
	fprintf(f, "  --socket PATH  the daemon's control socket (%s)\n"
	    "  --json         the answer's result as one JSON object\n",
	    CTL_DEFAULT_SOCKET);
}

/* A sequence number argument: digits only, 1 or more. */
static int
parse_seq(const char *s, unsigned long long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return *end != '\0' || errno != 0 || *out == 0 ? -1 : 0;
}

int
ctl_daemon(const char *op, int argc, char **argv, bool json)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = CTL_DEFAULT_SOCKET, *sink = NULL;
	json_object *ans, *ok, *errs, *res, *req;
	unsigned long long from = 0, to = 0;
	bool redeliver = strcmp(op, "redeliver") == 0;
	char *line, *reqline, *err = NULL;
	size_t i;
	int ch, status = 0;

	optind = 0; /* full re-initialisation (glibc) */
	/* redeliver: SINK may come before or after the options. */
	while ((ch = getopt_long(argc, argv, redeliver ? "h" : "+h", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 's': path = optarg; break;
		case 'j': json = true; break;
		case 'f':
		case 't':
			if (!redeliver)
				goto usage;
			if (parse_seq(optarg, ch == 'f' ? &from : &to) == -1) {
				fprintf(stderr, "cimlistenctl %s: --%s: not a "
				    "sequence number: '%s'\n", op,
				    ch == 'f' ? "from" : "to", optarg);
				return CTL_EXIT_USAGE;
			}
			break;
		case 'h':
			ctl_daemon_usage(stdout, op);
			return 0;
		default:
		usage:
			ctl_daemon_usage(stderr, op);
			return CTL_EXIT_USAGE;
		}
	}
	if (redeliver) {
		if (optind < argc)
			sink = argv[optind++];
		if (sink == NULL || from == 0) {
			fprintf(stderr, "cimlistenctl redeliver: a SINK and "
			    "--from SEQ are needed\n");
			ctl_daemon_usage(stderr, op);
			return CTL_EXIT_USAGE;
		}
		if (to != 0 && to < from) {
			fprintf(stderr, "cimlistenctl redeliver: --to %llu is "
			    "before --from %llu\n", to, from);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "cimlistenctl %s: unexpected argument '%s'\n",
		    op, argv[optind]);
		ctl_daemon_usage(stderr, op);
		return CTL_EXIT_USAGE;
	}
	req = json_object_new_object();
	json_object_object_add(req, "op", json_object_new_string(op));
	if (redeliver) {
		json_object_object_add(req, "sink",
		    json_object_new_string(sink));
		json_object_object_add(req, "from",
		    json_object_new_uint64(from));
		if (to != 0)
			json_object_object_add(req, "to",
			    json_object_new_uint64(to));
	}
	xasprintf(&reqline, "%s\n", json_object_to_json_string_ext(req,
	    JSON_C_TO_STRING_PLAIN));
	json_object_put(req);
	line = ctl_request(path, reqline, strcmp(op, "reload") == 0 ?
	    CTL_RELOAD_TIMEOUT_MS : CTL_TIMEOUT_MS, &err);
	free(reqline);
	if (line == NULL) {
		fprintf(stderr, "cimlistenctl %s: %s\n", op, err);
		free(err);
		return CTL_EXIT_UNREACHABLE;
	}
	ans = json_tokener_parse(line);
	if (ans == NULL || !json_object_object_get_ex(ans, "ok", &ok)) {
		fprintf(stderr, "cimlistenctl %s: not an answer: %.200s\n", op,
		    line);
		json_object_put(ans);
		free(line);
		return CTL_EXIT_UNREACHABLE;
	}
	if (!json_object_get_boolean(ok)) {
		errs = jo(ans, "errors");
		for (i = 0; errs != NULL && i < json_object_array_length(errs);
		    i++)
			fprintf(stderr, "cimlistenctl %s: %s\n", op,
			    json_object_get_string(
			    json_object_array_get_idx(errs, i)));
		status = CTL_EXIT_ERRORS;
	} else {
		res = jo(ans, "result");
		if (json)
			printf("%s\n", json_object_to_json_string_ext(res,
			    JSON_C_TO_STRING_PLAIN |
			    JSON_C_TO_STRING_NOSLASHESCAPE));
		else if (strcmp(op, "status") == 0)
			print_status(res);
		else if (strcmp(op, "stats") == 0)
			print_stats(res);
		else if (strcmp(op, "sinks") == 0)
			print_sinks(res);
		else if (strcmp(op, "sources") == 0)
			print_sources(res);
		else if (strcmp(op, "subscribers") == 0)
			print_subscribers(res);
		else if (strcmp(op, "reopen") == 0)
			printf("reopened %llu sinks\n",
			    (unsigned long long)ju(res, "reopened"));
		else if (strcmp(op, "reload") == 0)
			print_reload(res);
		else if (redeliver)
			printf("sink %s: sending records %llu to %llu again, "
			    "then going on from %llu\n", js(res, "sink"),
			    (unsigned long long)ju(res, "from"),
			    (unsigned long long)ju(res, "to"),
			    (unsigned long long)ju(res, "resume"));
	}
	json_object_put(ans);
	free(line);
	if (fflush(stdout) != 0 || ferror(stdout))
		status = 3;
	return status;
}
