/*
 * testutil.c: black-box test helpers (see testutil.h). Failures abort the
 * current test through Check's ck_abort_msg / ck_assert.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <curl/curl.h>

#include "testutil.h"

#include "buf.h"

const char *const tu_sfcb_headers[] = {
	"Content-type: application/xml; charset=\"utf-8\"",
	"CIMProtocolVersion: 1.0",
	"CIMExport: MethodRequest",
	"CIMExportMethod: ExportIndication",
	NULL,
};

int
tu_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

char *
tu_read_file(const char *path, size_t *lenp)
{
	FILE *f;
	char *data = NULL;
	size_t len = 0, cap = 0, n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	for (;;) {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 131072;
			data = realloc(data, cap + 1);
			ck_assert_ptr_nonnull(data);
		}
		n = fread(data + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	data[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return data;
}

void
tu_write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_msg(f != NULL, "cannot write %s: %s", path, strerror(errno));
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

char *
tu_data(const char *rel, size_t *lenp)
{
	char path[4096];
	char *s;

	snprintf(path, sizeof path, "%s/tests/data/%s", SRCDIR, rel);
	s = tu_read_file(path, lenp);
	ck_assert_msg(s != NULL, "cannot read test data %s", path);
	return s;
}

char *
tu_sample(const char *name, size_t *lenp)
{
	char rel[512];

	snprintf(rel, sizeof rel, "samples/%s", name);
	return tu_data(rel, lenp);
}

char *
tu_tmpdir(void)
{
	const char *t = getenv("TMPDIR");
	char *path;

	if (t == NULL || *t == '\0')
		t = "/tmp";
	ck_assert_int_gt(asprintf(&path, "%s/cimlisten-test.XXXXXX", t), 0);
	ck_assert_msg(mkdtemp(path) != NULL, "mkdtemp: %s", strerror(errno));
	return path;
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
tu_rmtree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

unsigned
tu_free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	int fd;
	unsigned port;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* Can we connect to 127.0.0.1:port? */
static bool
port_open(unsigned port)
{
	struct sockaddr_in sin;
	int fd, rc;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return false;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	rc = connect(fd, (struct sockaddr *)&sin, sizeof sin);
	close(fd);
	return rc == 0;
}

/* Start one daemon instance on `port`; NULL if it exited early. */
static struct tu_daemon *
spawn(struct tu_daemon *d)
{
	const char *bin = getenv("CIMLISTEND");
	long deadline;
	int status, fd;
	size_t i;
	pid_t pid;

	if (bin == NULL)
		bin = BUILDDIR "/src/cimlistend";
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		fd = open(d->errlog, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, STDERR_FILENO);
			dup2(fd, STDOUT_FILENO);
		}
		for (i = 0; d->env != NULL && d->env[i] != NULL; i++)
			putenv(d->env[i]);
		execl(bin, "cimlistend", "-f", "-c", d->conf, (char *)NULL);
		_exit(127);
	}
	d->pid = pid;
	d->exited = false;
	deadline = now_ms() + 20000;
	while (now_ms() < deadline) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return NULL;
		if (port_open(d->port))
			return d;
		sleep_ms(20);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return NULL;
}

struct tu_daemon *
tu_daemon_start(const char *listener_extra, const char *extra)
{
	return tu_daemon_start_env(listener_extra, extra, NULL);
}

struct tu_daemon *
tu_daemon_start_env(const char *listener_extra, const char *extra,
    const char *const *env)
{
	struct tu_daemon *d;
	char *conf, *log;
	size_t n;
	int attempt;

	d = calloc(1, sizeof *d);
	ck_assert_ptr_nonnull(d);
	for (n = 0; env != NULL && env[n] != NULL; n++)
		;
	if (n > 0) {
		d->env = calloc(n + 1, sizeof *d->env);
		ck_assert_ptr_nonnull(d->env);
		while (n-- > 0)
			ck_assert_ptr_nonnull(d->env[n] = strdup(env[n]));
	}
	d->dir = tu_tmpdir();
	ck_assert_int_gt(asprintf(&d->conf, "%s/cimlistend.conf", d->dir), 0);
	ck_assert_int_gt(asprintf(&d->out, "%s/out.jsonl", d->dir), 0);
	ck_assert_int_gt(asprintf(&d->errlog, "%s/stderr.log", d->dir), 0);
	/* A port can be taken between our probe and the daemon's bind: retry. */
	for (attempt = 0; attempt < 5; attempt++) {
		d->port = tu_free_port();
		ck_assert_int_gt(asprintf(&conf,
		    "[listener]\nhttp_port = %u\n%s%s\n"
		    "[daemon]\nlog_level = debug\nspool_dir = %s/spool\n"
		    "control_socket = %s/control.sock\n"
		    "[sink out]\ntype = file\npath = %s\n"
		    "[filter all]\nsinks = out\n%s\n",
		    d->port,
		    listener_extra && strstr(listener_extra, "bind") ? "" :
		    "bind = 127.0.0.1\n",
		    listener_extra ? listener_extra : "", d->dir, d->dir, d->out,
		    extra ? extra : ""), 0);
		tu_write_file(d->conf, conf, strlen(conf));
		free(conf);
		if (spawn(d) != NULL)
			return d;
	}
	log = tu_read_file(d->errlog, NULL);
	ck_abort_msg("cimlistend did not start: %s", log ? log : "(no log)");
	return NULL;
}

struct tu_daemon *
tu_daemon_start_conf(const char *conf_fmt)
{
	struct tu_daemon *d;
	char *conf, *log;
	int attempt;

	d = calloc(1, sizeof *d);
	ck_assert_ptr_nonnull(d);
	d->dir = tu_tmpdir();
	ck_assert_int_gt(asprintf(&d->conf, "%s/cimlistend.conf", d->dir), 0);
	ck_assert_int_gt(asprintf(&d->errlog, "%s/stderr.log", d->dir), 0);
	for (attempt = 0; attempt < 5; attempt++) {
		d->port = tu_free_port();
		ck_assert_int_gt(asprintf(&conf, conf_fmt, d->port, d->dir), 0);
		tu_write_file(d->conf, conf, strlen(conf));
		free(conf);
		if (spawn(d) != NULL)
			return d;
	}
	log = tu_read_file(d->errlog, NULL);
	ck_abort_msg("cimlistend did not start: %s", log ? log : "(no log)");
	return NULL;
}

int
tu_cimlistend_run(const char *const *args, char **output, unsigned timeout_ms)
{
	const char *bin = getenv("CIMLISTEND");
	const char *argv[32];
	char *dir, *log;
	long deadline;
	int status, fd, rc = -1;
	size_t n;
	pid_t pid;

	if (bin == NULL)
		bin = BUILDDIR "/src/cimlistend";
	argv[0] = "cimlistend";
	for (n = 0; args[n] != NULL; n++) {
		ck_assert_uint_lt(n + 2, sizeof argv / sizeof argv[0]);
		argv[n + 1] = args[n];
	}
	argv[n + 1] = NULL;
	dir = tu_tmpdir();
	ck_assert_int_gt(asprintf(&log, "%s/output", dir), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, STDERR_FILENO);
			dup2(fd, STDOUT_FILENO);
		}
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	deadline = now_ms() + timeout_ms;
	for (;;) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
			break;
		}
		if (now_ms() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		sleep_ms(10);
	}
	*output = tu_read_file(log, NULL);
	if (*output == NULL)
		*output = strdup("");
	tu_rmtree(dir);
	if (strstr(*output, "Sanitizer") != NULL ||
	    strstr(*output, "runtime error:") != NULL) {
		fprintf(stderr, "%s\n", *output);
		ck_abort_msg("sanitizer report in cimlistend output");
	}
	free(log);
	free(dir);
	return rc;
}

void
tu_daemon_restart(struct tu_daemon *d)
{
	char *log;

	ck_assert_msg(d->exited, "tu_daemon_restart: daemon still running");
	if (spawn(d) != NULL)
		return;
	log = tu_read_file(d->errlog, NULL);
	ck_abort_msg("cimlistend did not restart: %s", log ? log : "(no log)");
}

bool
tu_daemon_log_has(const struct tu_daemon *d, const char *needle)
{
	char *log = tu_read_file(d->errlog, NULL);
	bool has = log != NULL && strstr(log, needle) != NULL;

	free(log);
	return has;
}

bool
tu_daemon_wait(struct tu_daemon *d, unsigned timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	int status;

	while (!d->exited) {
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->exited = true;
			d->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
			break;
		}
		if (now_ms() >= deadline)
			return false;
		sleep_ms(10);
	}
	return true;
}

int
tu_daemon_stop(struct tu_daemon *d)
{
	int status, rc;
	size_t i;
	char *log;

	if (!d->exited)
		kill(d->pid, SIGTERM);
	if (!tu_daemon_wait(d, 30000)) {
		kill(d->pid, SIGKILL);
		waitpid(d->pid, &status, 0);
		d->status = -1;
	}
	rc = d->status;
	/* Sanitizer reports make the test fail, with the report in the message. */
	log = tu_read_file(d->errlog, NULL);
	if (log != NULL && (strstr(log, "Sanitizer") != NULL ||
	    strstr(log, "runtime error:") != NULL)) {
		fprintf(stderr, "%s\n", log);
		ck_abort_msg("sanitizer report in daemon log");
	}
	free(log);
	tu_rmtree(d->dir);
	free(d->dir);
	free(d->conf);
	free(d->out);
	free(d->errlog);
	for (i = 0; d->env != NULL && d->env[i] != NULL; i++)
		free(d->env[i]);
	free(d->env);
	free(d);
	return rc;
}

/* Number of complete lines in a file. */
static size_t
count_lines(const char *path)
{
	char buf[65536];
	ssize_t n, i;
	size_t lines = 0;
	int fd;

	if ((fd = open(path, O_RDONLY)) < 0)
		return 0;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		for (i = 0; i < n; i++)
			if (buf[i] == '\n')
				lines++;
	close(fd);
	return lines;
}

bool
tu_wait_lines(const char *path, size_t n, unsigned timeout_ms)
{
	long deadline = now_ms() + timeout_ms;

	for (;;) {
		if (count_lines(path) >= n)
			return true;
		if (now_ms() >= deadline)
			return false;
		sleep_ms(5);
	}
}

char **
tu_read_lines(const char *path, size_t *np)
{
	char *data, *p, *nl, **lines = NULL;
	size_t n = 0;

	data = tu_read_file(path, NULL);
	if (data == NULL)
		data = strdup("");
	for (p = data; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		lines = realloc(lines, (n + 2) * sizeof *lines);
		ck_assert_ptr_nonnull(lines);
		lines[n++] = strndup(p, (size_t)(nl - p));
	}
	if (lines == NULL)
		lines = calloc(1, sizeof *lines);
	lines[n] = NULL;
	free(data);
	if (np != NULL)
		*np = n;
	return lines;
}

void
tu_free_lines(char **lines)
{
	size_t i;

	for (i = 0; lines[i] != NULL; i++)
		free(lines[i]);
	free(lines);
}

/* Find header `name` in a raw header block; malloc'd trimmed value. */
static char *
find_header(const char *block, const char *name)
{
	size_t nlen = strlen(name);
	const char *p, *e, *v;

	for (p = block; p != NULL && *p != '\0'; p = e ? e + 1 : NULL) {
		e = strchr(p, '\n');
		if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			v = p + nlen + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			if (e == NULL)
				e = v + strlen(v);
			while (e > v && (e[-1] == '\r' || e[-1] == ' ' ||
			    e[-1] == '\n'))
				e--;
			return strndup(v, (size_t)(e - v));
		}
	}
	return NULL;
}

char *
tu_header(const struct tu_response *r, const char *name)
{
	return find_header(r->headers, name);
}

void
tu_response_free(struct tu_response *r)
{
	if (r == NULL)
		return;
	free(r->headers);
	free(r->body);
	free(r);
}

struct growbuf {
	char *data;
	size_t len;
};

static size_t
collect(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct growbuf *g = arg;
	size_t n = size * nmemb;

	g->data = realloc(g->data, g->len + n + 1);
	memcpy(g->data + g->len, ptr, n);
	g->len += n;
	g->data[g->len] = '\0';
	return n;
}

struct tu_response *
tu_http(unsigned port, const char *method, const char *path,
    const char *const *headers, const char *body, size_t len)
{
	struct growbuf hb = { NULL, 0 }, bb = { NULL, 0 };
	struct curl_slist *hl = NULL;
	struct tu_response *r;
	char url[512];
	CURL *c;
	CURLcode rc;
	size_t i;

	c = curl_easy_init();
	ck_assert_ptr_nonnull(c);
	if (strncmp(path, "http://", 7) == 0)
		snprintf(url, sizeof url, path, port);
	else
		snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	for (i = 0; headers != NULL && headers[i] != NULL; i++)
		hl = curl_slist_append(hl, headers[i]);
	/* No 100-continue round trip unless a test asks for it. */
	hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &hb);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &bb);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	rc = curl_easy_perform(c);
	ck_assert_msg(rc == CURLE_OK, "curl %s %s: %s", method, url,
	    curl_easy_strerror(rc));
	r = calloc(1, sizeof *r);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	r->headers = hb.data ? hb.data : strdup("");
	r->body = bb.data ? bb.data : strdup("");
	r->body_len = bb.len;
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	return r;
}

struct tu_response *
tu_post(unsigned port, const char *body, size_t len)
{
	return tu_http(port, "POST", "/", tu_sfcb_headers, body, len);
}

int
tu_connect_from(const char *from, unsigned port)
{
	struct sockaddr_in src, dst;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	if (from != NULL) {
		memset(&src, 0, sizeof src);
		src.sin_family = AF_INET;
		ck_assert_int_eq(inet_pton(AF_INET, from, &src.sin_addr), 1);
		ck_assert_msg(bind(fd, (struct sockaddr *)&src, sizeof src) == 0,
		    "bind %s: %s", from, strerror(errno));
	}
	memset(&dst, 0, sizeof dst);
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)port);
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_msg(connect(fd, (struct sockaddr *)&dst, sizeof dst) == 0,
	    "connect: %s", strerror(errno));
	return fd;
}

/* Connect to 127.0.0.1:port; aborts the test on failure. */
static int
raw_connect(unsigned port)
{
	return tu_connect_from(NULL, port);
}

/* Is `data` a complete HTTP response (headers plus Content-Length body)? */
static bool
response_complete(const char *data, size_t len)
{
	const char *end = strstr(data, "\r\n\r\n");
	char *cl;
	size_t want;

	if (end == NULL)
		return false;
	/* 1xx interim answers are followed by the real one. */
	if (strncmp(data, "HTTP/1.1 1", 10) == 0)
		return response_complete(end + 4, len - (size_t)(end + 4 - data));
	cl = find_header(data, "Content-Length");
	if (cl == NULL)
		return false;
	want = (size_t)strtoul(cl, NULL, 10);
	free(cl);
	return len - (size_t)(end + 4 - data) >= want;
}

char *
tu_read_response(int fd, unsigned timeout_ms)
{
	struct pollfd pfd;
	struct growbuf g = { NULL, 0 };
	long deadline = now_ms() + timeout_ms;
	char tmp[16384];
	ssize_t n;

	g.data = strdup("");
	for (;;) {
		long left = deadline - now_ms();

		if (left <= 0 || response_complete(g.data, g.len))
			break;
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)left) <= 0)
			break;
		n = recv(fd, tmp, sizeof tmp, 0);
		if (n <= 0)
			break;
		collect(tmp, 1, (size_t)n, &g);
	}
	return g.data;
}

char *
tu_raw(unsigned port, const char *req, size_t len, unsigned timeout_ms)
{
	size_t off = 0;
	ssize_t n;
	char *resp;
	int fd;

	fd = raw_connect(port);
	while (off < len) {
		n = send(fd, req + off, len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;  /* the server may close early (413) */
		off += (size_t)n;
	}
	resp = tu_read_response(fd, timeout_ms);
	close(fd);
	return resp;
}

int
tu_connect_send(unsigned port, const char *req, size_t len)
{
	int fd = raw_connect(port);

	ck_assert_int_eq(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
	return fd;
}

bool
tu_wait_closed(int fd, unsigned timeout_ms)
{
	struct pollfd pfd;
	long deadline = now_ms() + timeout_ms;
	char tmp[4096];
	ssize_t n;

	for (;;) {
		long left = deadline - now_ms();

		if (left <= 0)
			return false;
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = recv(fd, tmp, sizeof tmp, 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
	}
}

int
tu_raw_status(const char *resp)
{
	const char *p = resp;

	/* Skip 100 Continue. */
	while (strncmp(p, "HTTP/1.", 7) == 0 && p[9] == '1') {
		p = strstr(p, "\r\n\r\n");
		if (p == NULL)
			return -1;
		p += 4;
	}
	if (strncmp(p, "HTTP/1.", 7) != 0 || strlen(p) < 12)
		return -1;
	return atoi(p + 9);
}

char *
tu_raw_header(const char *resp, const char *name)
{
	return find_header(resp, name);
}

json_object *
tu_json(const char *line)
{
	json_object *o = json_tokener_parse(line);

	ck_assert_msg(o != NULL && json_object_is_type(o, json_type_object),
	    "not a JSON object: %s", line);
	return o;
}

json_object *
tu_jget(json_object *o, const char *dotted)
{
	char *copy = strdup(dotted), *save = NULL, *key;
	json_object *cur = o;

	for (key = strtok_r(copy, ".", &save); key != NULL && cur != NULL;
	    key = strtok_r(NULL, ".", &save)) {
		if (!json_object_object_get_ex(cur, key, &cur))
			cur = NULL;
	}
	free(copy);
	return cur;
}

/* A connection to a daemon's control socket. */
int
tu_ctl_connect(const struct tu_daemon *d)
{
	struct sockaddr_un sun;
	int fd, tries;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s/control.sock", d->dir);
	/* The socket comes up just after the HTTP port the start waits on. */
	for (tries = 0;; tries++) {
		ck_assert_int_ne(fd = socket(AF_UNIX, SOCK_STREAM, 0), -1);
		if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0)
			return fd;
		ck_assert_msg((errno == ENOENT || errno == ECONNREFUSED) &&
		    tries < 1000, "connect %s: %s", sun.sun_path,
		    strerror(errno));
		close(fd);
		usleep(10000);
	}
}

/* Send one request line, read one answer line (bounded wait). */
json_object *
tu_ctl_ask(int fd, const char *req)
{
	struct buf b = BUF_INIT;
	struct pollfd pfd = { fd, POLLIN, 0 };
	char tmp[4096];
	json_object *o;
	ssize_t n;

	ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	for (;;) {
		ck_assert_msg(poll(&pfd, 1, 60000) == 1, "no answer to %s", req);
		n = read(fd, tmp, sizeof tmp);
		ck_assert_msg(n > 0, "connection closed on %s", req);
		buf_add(&b, tmp, (size_t)n);
		if (b.data[b.len - 1] == '\n')
			break;
	}
	ck_assert_ptr_eq(memchr(b.data, '\n', b.len), b.data + b.len - 1);
	o = tu_json(b.data);
	buf_free(&b);
	return o;
}

int
tu_listen_tcp(unsigned *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	int fd;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ne(fd = socket(AF_INET, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

bool
tu_port_refuses(unsigned port)
{
	struct sockaddr_in sin;
	int fd, rc;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	ck_assert_int_ne(fd = socket(AF_INET, SOCK_STREAM, 0), -1);
	rc = connect(fd, (struct sockaddr *)&sin, sizeof sin);
	close(fd);
	return rc == -1;
}
