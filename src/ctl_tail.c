/*
 * ctl_tail.c: cimlistenctl tail, a subscriber of a socket sink (DESIGN
 * section 8) that prints the indication stream.
 *
 * It subscribes with the given where/from/since/name/format and prints
 * each indication: the record's JSON line (as a file sink writes it) for
 * json, the text for mof and template; with --json every message as it
 * came (indications and gaps). Gaps are reported on stderr. When the
 * connection drops (the daemon restarts) it reconnects with exponential
 * backoff and jitter and resubscribes from the sequence number after the
 * last one it has passed, so the output has no duplicate and no hole; with
 * --name it acknowledges what it has written (after each flush), so that
 * a later `tail --name N` (from "ack") resumes after it.
 *
 * Exit status: 0 on SIGINT/SIGTERM, a closed standard output or --count
 * reached; 1 the daemon refused the subscription (the message on stderr);
 * 2 usage; 3 standard output failed; 4 the socket could not be reached at
 * the start.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "ctl_daemon.h"
#include "ctl_tail.h"
#include "xmalloc.h"

#define TAIL_MAX_LINE ((size_t)64 << 20)

struct tail {
	const char *socket;
	const char *control;
	const char *where;
	const char *from;       /* as given: now, oldest, ack, or a number */
	char since[32];
	const char *name;
	const char *format;
	const char *template;
	unsigned heartbeat;
	double retry_initial, retry_factor, retry_max;
	bool reconnect;
	bool json;
	uint64_t count;         /* stop after this many; 0: never */

	/* State across connections. */
	uint64_t next;          /* next seq wanted; 0: not known yet */
	uint64_t printed;
	uint64_t acked;         /* last seq acked */
	int fd;
	struct buf in;
	struct buf out;         /* output not yet written */
	int out_errno;          /* why standard output failed */
};

static volatile sig_atomic_t tail_signalled;

static void
tail_on_signal(int sig)
{
	(void)sig;
	tail_signalled = 1;
}

static void
tail_usage(FILE *f)
{
	fprintf(f,
	    "usage: cimlistenctl tail [--socket PATH] [--where EXPR]\n"
	    "           [--from SEQ|now|oldest|ack] [--since TIME] [--name NAME]\n"
	    "           [--format json|mof|template] [--template TEXT]\n"
	    "           [--count N] [--heartbeat S] [--retry-initial S]\n"
	    "           [--retry-factor F] [--retry-max S] [--no-reconnect]\n"
	    "           [--control PATH] [--json]\n"
	    "\n"
	    "  --socket PATH     the socket sink's socket (default: the only "
	    "socket sink\n"
	    "                    of the daemon at --control)\n"
	    "  --control PATH    the daemon's control socket (%s)\n"
	    "  --where EXPR      only indications matching the filter "
	    "expression\n"
	    "  --from FROM       where to start: a sequence number "
	    "(inclusive), now\n"
	    "                    (default), oldest, or ack (default with "
	    "--name)\n"
	    "  --since TIME      only records received at or after TIME: "
	    "UTC\n"
	    "                    YYYY-MM-DDTHH:MM:SS[.ffffff]Z, or -N[smhd] "
	    "ago\n"
	    "  --name NAME       a durable subscription: acknowledged as "
	    "written\n"
	    "  --format F        json (the record line), mof or template\n"
	    "  --template TEXT   the template for --format template\n"
	    "  --count N         exit after N indications\n"
	    "  --heartbeat S     ask for a heartbeat after S idle seconds "
	    "(10); no\n"
	    "                    message for 3 S means the connection is "
	    "dead\n"
	    "  --retry-initial S first reconnection delay (0.1)\n"
	    "  --retry-factor F  delay multiplier per failed attempt (2)\n"
	    "  --retry-max S     longest delay (10); each delay +-20%% "
	    "jitter\n"
	    "  --no-reconnect    exit when the connection drops\n"
	    "  --json            print the messages as they came, gaps "
	    "included\n",
	    CTL_DEFAULT_SOCKET);
}

/* "2026-12-02T10:00:00Z" as is; "-30s", "-5m", "-2h", "-1d" from now. */
static bool
tail_parse_since(const char *s, char out[32])
{
	struct timespec now;
	struct tm tm;
	char *end;
	double v, mult;

	if (*s == '-') {
		v = strtod(s + 1, &end);
		if (end == s + 1 || v < 0)
			return false;
		switch (*end) {
		case 's': case '\0': mult = 1; break;
		case 'm': mult = 60; break;
		case 'h': mult = 3600; break;
		case 'd': mult = 86400; break;
		default: return false;
		}
		if (*end != '\0' && end[1] != '\0')
			return false;
		clock_gettime(CLOCK_REALTIME, &now);
		now.tv_sec -= (time_t)(v * mult);
		gmtime_r(&now.tv_sec, &tm);
		strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(out + 19, 13, ".%06dZ", (int)(now.tv_nsec / 1000 % 1000000));
		return true;
	}
	if (strlen(s) >= 32 || strlen(s) < 20 || s[strlen(s) - 1] != 'Z' ||
	    s[10] != 'T')
		return false;
	strcpy(out, s);
	return true;
}

static int
tail_connect(struct tail *t, char **err)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(t->socket) >= sizeof sun.sun_path) {
		xasprintf(err, "socket path too long: %s", t->socket);
		return -1;
	}
	strcpy(sun.sun_path, t->socket);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		xasprintf(err, "cannot connect to %s: %s", t->socket,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

static bool
tail_send(struct tail *t, const char *s, size_t len)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = send(t->fd, s + off, len - off, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		off += (size_t)n;
	}
	return true;
}

static bool
tail_subscribe(struct tail *t)
{
	json_object *o = json_object_new_object();
	const char *s;
	bool ok;
	char *line;

	json_object_object_add(o, "op", json_object_new_string("subscribe"));
	if (t->where != NULL)
		json_object_object_add(o, "where",
		    json_object_new_string(t->where));
	if (t->name != NULL)
		json_object_object_add(o, "name",
		    json_object_new_string(t->name));
	if (t->format != NULL)
		json_object_object_add(o, "format",
		    json_object_new_string(t->format));
	if (t->template != NULL)
		json_object_object_add(o, "template",
		    json_object_new_string(t->template));
	if (t->since[0] != '\0')
		json_object_object_add(o, "since",
		    json_object_new_string(t->since));
	if (t->heartbeat > 0)
		json_object_object_add(o, "heartbeat",
		    json_object_new_int64(t->heartbeat));
	if (t->next > 0)
		json_object_object_add(o, "from",
		    json_object_new_int64((int64_t)t->next));
	else if (t->from != NULL) {
		char *end;
		unsigned long long v = strtoull(t->from, &end, 10);

		if (*end == '\0' && end != t->from)
			json_object_object_add(o, "from",
			    json_object_new_int64((int64_t)v));
		else
			json_object_object_add(o, "from",
			    json_object_new_string(t->from));
	}
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	xasprintf(&line, "%s\n", s);
	json_object_put(o);
	ok = tail_send(t, line, strlen(line));
	free(line);
	return ok;
}

static void
tail_ack(struct tail *t)
{
	char line[64];

	if (t->name == NULL || t->fd == -1 || t->next == 0 ||
	    t->next - 1 <= t->acked)
		return;
	snprintf(line, sizeof line, "{\"op\":\"ack\",\"seq\":%llu}\n",
	    (unsigned long long)(t->next - 1));
	if (tail_send(t, line, strlen(line)))
		t->acked = t->next - 1;
}

static uint64_t
jseq(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	return (uint64_t)json_object_get_int64(v);
}

enum msg_result { MSG_OK, MSG_REFUSED, MSG_BUSY, MSG_DONE };

/* Handle one message line from the daemon. */
static enum msg_result
tail_message(struct tail *t, const char *line, size_t len)
{
	static const char pre[] = "{\"type\":\"indication\",";
	json_object *o, *v;
	const char *type, *text;
	uint64_t seq, from, to;
	enum msg_result res = MSG_OK;

	if ((o = json_tokener_parse(line)) == NULL ||
	    !json_object_object_get_ex(o, "type", &v)) {
		fprintf(stderr, "cimlistenctl tail: not a message: %.200s\n",
		    line);
		json_object_put(o);
		return MSG_OK;
	}
	type = json_object_get_string(v);
	if (strcmp(type, "indication") == 0) {
		seq = jseq(o, "seq");
		if (seq < t->next)
			goto out; /* seen before the reconnection */
		t->next = seq + 1;
		if (t->json)
			buf_add(&t->out, line, len);
		else if (json_object_object_get_ex(o, "text", &v)) {
			text = json_object_get_string(v);
			buf_adds(&t->out, text);
		} else if (len > sizeof pre - 1 &&
		    memcmp(line, pre, sizeof pre - 1) == 0) {
			buf_adds(&t->out, "{");
			buf_add(&t->out, line + sizeof pre - 1,
			    len - sizeof pre + 1);
		} else
			buf_add(&t->out, line, len);
		buf_adds(&t->out, "\n");
		t->printed++;
		if (t->count > 0 && t->printed >= t->count)
			res = MSG_DONE;
	} else if (strcmp(type, "subscribed") == 0) {
		seq = jseq(o, "next_seq");
		if (seq > t->next)
			t->next = seq;
	} else if (strcmp(type, "heartbeat") == 0) {
		seq = jseq(o, "last_seq");
		if (seq + 1 > t->next)
			t->next = seq + 1;
	} else if (strcmp(type, "gap") == 0) {
		from = jseq(o, "from");
		to = jseq(o, "to");
		v = NULL;
		json_object_object_get_ex(o, "reason", &v);
		fprintf(stderr, "cimlistenctl tail: gap: records %llu to %llu "
		    "lost (%s)\n", (unsigned long long)from,
		    (unsigned long long)to,
		    v != NULL ? json_object_get_string(v) : "?");
		if (t->json) {
			buf_add(&t->out, line, len);
			buf_adds(&t->out, "\n");
		}
		if (to + 1 > t->next)
			t->next = to + 1;
	} else if (strcmp(type, "error") == 0) {
		text = json_object_object_get_ex(o, "message", &v) ?
		    json_object_get_string(v) : line;
		if (strstr(text, "is in use by another connection") != NULL)
			res = MSG_BUSY;
		else {
			fprintf(stderr, "cimlistenctl tail: %s\n", text);
			res = MSG_REFUSED;
		}
	}
out:
	json_object_put(o);
	return res;
}

/*
 * Write the pending output. Not stdio: a signal must be able to end a
 * write that blocks because nobody reads standard output.
 */
static bool
tail_flush(struct tail *t)
{
	size_t off = 0;
	ssize_t n;

	while (off < t->out.len) {
		n = write(STDOUT_FILENO, t->out.data + off, t->out.len - off);
		if (n == -1 && errno == EINTR && !tail_signalled)
			continue;
		if (n <= 0) {
			t->out_errno = n == 0 ? EIO : errno;
			memmove(t->out.data, t->out.data + off,
			    t->out.len - off);
			t->out.len -= off;
			return false;
		}
		off += (size_t)n;
	}
	t->out.len = 0;
	return true;
}

/* Sleep up to ms unless a signal comes; false if one came. */
static bool
tail_sleep(double secs)
{
	struct timespec ts;

	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
	while (!tail_signalled && nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
	return !tail_signalled;
}

enum conn_result { CONN_DROPPED, CONN_STOP, CONN_REFUSED, CONN_OUTPUT };

/* Serve one connection until it drops or we are told to stop. */
static enum conn_result
tail_serve(struct tail *t, bool *got_data)
{
	struct pollfd pfd[2];
	char tmp[65536], *nl;
	size_t linelen, off;
	int timeout, r;
	ssize_t n;
	enum msg_result mr;

	timeout = t->heartbeat > 0 ? (int)t->heartbeat * 3000 : -1;
	for (;;) {
		if (tail_signalled)
			return CONN_STOP;
		pfd[0].fd = t->fd;
		pfd[0].events = POLLIN;
		/* Standard output closed by its reader (| head): done. */
		pfd[1].fd = STDOUT_FILENO;
		pfd[1].events = 0;
		pfd[1].revents = 0;
		r = poll(pfd, 2, timeout);
		if (r == -1 && errno == EINTR)
			continue;
		if (r > 0 && (pfd[1].revents & (POLLERR | POLLHUP))) {
			t->out_errno = EPIPE;
			return CONN_OUTPUT;
		}
		if (r == 0) {
			fprintf(stderr, "cimlistenctl tail: nothing from the "
			    "daemon for %u s, reconnecting\n",
			    t->heartbeat * 3);
			return CONN_DROPPED;
		}
		n = read(t->fd, tmp, sizeof tmp);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return CONN_DROPPED;
		buf_add(&t->in, tmp, (size_t)n);
		off = 0;
		while ((nl = memchr(t->in.data + off, '\n', t->in.len - off)) !=
		    NULL) {
			linelen = (size_t)(nl - (t->in.data + off));
			*nl = '\0';
			mr = tail_message(t, t->in.data + off, linelen);
			off += linelen + 1;
			*got_data = true;
			if (mr == MSG_REFUSED)
				return CONN_REFUSED;
			if (mr == MSG_BUSY)
				return CONN_DROPPED;
			if (mr == MSG_DONE) {
				if (!tail_flush(t))
					return CONN_OUTPUT;
				tail_ack(t);
				return CONN_STOP;
			}
		}
		memmove(t->in.data, t->in.data + off, t->in.len - off);
		t->in.len -= off;
		if (t->in.len > TAIL_MAX_LINE) {
			fprintf(stderr, "cimlistenctl tail: a message longer "
			    "than %zu bytes\n", TAIL_MAX_LINE);
			return CONN_REFUSED;
		}
		/* Written out: now acknowledge it. */
		if (!tail_flush(t))
			return CONN_OUTPUT;
		tail_ack(t);
	}
}

/* The only socket sink of the daemon at t->control. */
static char *
tail_find_socket(struct tail *t)
{
	json_object *ans, *res, *s, *v;
	char *line, *err = NULL, *path = NULL;
	struct buf names = BUF_INIT;
	size_t i, n = 0;

	if ((line = ctl_daemon_request(t->control, "sinks", &err)) == NULL) {
		fprintf(stderr, "cimlistenctl tail: %s (give --socket)\n", err);
		free(err);
		return NULL;
	}
	ans = json_tokener_parse(line);
	free(line);
	if (ans == NULL || !json_object_object_get_ex(ans, "result", &res) ||
	    !json_object_is_type(res, json_type_array)) {
		fprintf(stderr, "cimlistenctl tail: the daemon's answer has "
		    "no sinks\n");
		json_object_put(ans);
		return NULL;
	}
	for (i = 0; i < json_object_array_length(res); i++) {
		s = json_object_array_get_idx(res, i);
		if (!json_object_object_get_ex(s, "type", &v) ||
		    strcmp(json_object_get_string(v), "socket") != 0 ||
		    !json_object_object_get_ex(s, "path", &v))
			continue;
		if (n++ == 0)
			path = xstrdup(json_object_get_string(v));
		json_object_object_get_ex(s, "name", &v);
		buf_printf(&names, "%s%s", n > 1 ? ", " : "",
		    json_object_get_string(v));
	}
	json_object_put(ans);
	if (n != 1) {
		fprintf(stderr, "cimlistenctl tail: the daemon has %s socket "
		    "sinks%s%s%s: give --socket\n", n == 0 ? "no" : "several",
		    n > 0 ? " (" : "", n > 0 ? names.data : "", n > 0 ? ")" : "");
		free(path);
		path = NULL;
	}
	buf_free(&names);
	return path;
}

static double
tail_jitter(double d)
{
	return d * (0.8 + 0.4 * ((double)random() / (double)RAND_MAX));
}

int
ctl_tail(int argc, char **argv, bool json)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "control", required_argument, NULL, 'C' },
		{ "where", required_argument, NULL, 'w' },
		{ "from", required_argument, NULL, 'f' },
		{ "since", required_argument, NULL, 'S' },
		{ "name", required_argument, NULL, 'N' },
		{ "format", required_argument, NULL, 'F' },
		{ "template", required_argument, NULL, 'T' },
		{ "count", required_argument, NULL, 'n' },
		{ "heartbeat", required_argument, NULL, 'H' },
		{ "retry-initial", required_argument, NULL, 'i' },
		{ "retry-factor", required_argument, NULL, 'x' },
		{ "retry-max", required_argument, NULL, 'm' },
		{ "no-reconnect", no_argument, NULL, 'R' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct tail t;
	struct sigaction sa;
	char *end, *err = NULL, *found = NULL;
	double delay, v;
	bool got_data;
	enum conn_result cr;
	int ch, status = 0;

	memset(&t, 0, sizeof t);
	t.control = CTL_DEFAULT_SOCKET;
	t.heartbeat = 10;
	t.retry_initial = 0.1;
	t.retry_factor = 2;
	t.retry_max = 10;
	t.reconnect = true;
	t.json = json;
	t.fd = -1;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "+hn:", longopts, NULL)) != -1) {
		switch (ch) {
		case 's': t.socket = optarg; break;
		case 'C': t.control = optarg; break;
		case 'w': t.where = optarg; break;
		case 'f': t.from = optarg; break;
		case 'N': t.name = optarg; break;
		case 'F': t.format = optarg; break;
		case 'T': t.template = optarg; break;
		case 'R': t.reconnect = false; break;
		case 'j': t.json = true; break;
		case 'S':
			if (!tail_parse_since(optarg, t.since)) {
				fprintf(stderr, "cimlistenctl tail: --since: "
				    "not a time: %s\n", optarg);
				return CTL_EXIT_USAGE;
			}
			break;
		case 'n':
		case 'H':
			errno = 0;
			v = strtod(optarg, &end);
			if (*end != '\0' || end == optarg || v < 0 ||
			    v > (ch == 'H' ? 3600 : 1e18) || v != floor(v)) {
				fprintf(stderr, "cimlistenctl tail: --%s: not "
				    "a whole number in range: %s\n",
				    ch == 'n' ? "count" : "heartbeat", optarg);
				return CTL_EXIT_USAGE;
			}
			if (ch == 'n')
				t.count = (uint64_t)v;
			else
				t.heartbeat = (unsigned)v;
			break;
		case 'i':
		case 'x':
		case 'm':
			v = strtod(optarg, &end);
			if (*end != '\0' || end == optarg || !(v > 0) ||
			    v > 86400 || (ch == 'x' && v < 1)) {
				fprintf(stderr, "cimlistenctl tail: bad retry "
				    "setting: %s\n", optarg);
				return CTL_EXIT_USAGE;
			}
			if (ch == 'i')
				t.retry_initial = v;
			else if (ch == 'x')
				t.retry_factor = v;
			else
				t.retry_max = v;
			break;
		case 'h':
			tail_usage(stdout);
			return 0;
		default:
			tail_usage(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "cimlistenctl tail: unexpected argument '%s'\n",
		    argv[optind]);
		tail_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (t.template != NULL && t.format == NULL)
		t.format = "template";
	if (t.socket == NULL) {
		if ((found = tail_find_socket(&t)) == NULL)
			return CTL_EXIT_UNREACHABLE;
		t.socket = found;
	}

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = tail_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());

	if ((t.fd = tail_connect(&t, &err)) == -1) {
		fprintf(stderr, "cimlistenctl tail: %s\n", err);
		free(err);
		free(found);
		return CTL_EXIT_UNREACHABLE;
	}
	delay = t.retry_initial;
	for (;;) {
		got_data = false;
		t.in.len = 0;
		cr = tail_subscribe(&t) ? tail_serve(&t, &got_data) :
		    CONN_DROPPED;
		if (cr != CONN_OUTPUT && !tail_flush(&t))
			cr = CONN_OUTPUT;
		if (cr == CONN_STOP)
			tail_ack(&t);
		close(t.fd);
		t.fd = -1;
		if (cr == CONN_REFUSED) {
			status = CTL_EXIT_ERRORS;
			break;
		}
		if (cr == CONN_OUTPUT) {
			/* A closed pipe (| head) or a signal is a normal end. */
			if (t.out_errno != EPIPE && !tail_signalled) {
				fprintf(stderr, "cimlistenctl tail: standard "
				    "output: %s\n", strerror(t.out_errno));
				status = CTL_EXIT_OUTPUT;
			}
			break;
		}
		if (cr == CONN_STOP || !t.reconnect || tail_signalled)
			break;
		if (got_data)
			delay = t.retry_initial;
		fprintf(stderr, "cimlistenctl tail: connection lost, "
		    "reconnecting%s\n", t.next > 0 ? "" : " (from the start)");
		for (;;) {
			if (!tail_sleep(tail_jitter(delay)))
				break;
			delay = delay * t.retry_factor;
			if (delay > t.retry_max)
				delay = t.retry_max;
			free(err);
			err = NULL;
			if ((t.fd = tail_connect(&t, &err)) != -1)
				break;
		}
		free(err);
		err = NULL;
		if (t.fd == -1)
			break; /* signalled while waiting */
	}
	buf_free(&t.in);
	buf_free(&t.out);
	free(found);
	return status;
}
