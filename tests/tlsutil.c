/*
 * tlsutil.c: see tlsutil.h. The PKI is made with certtool from GnuTLS's
 * command-line tools; every wait is bounded.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <curl/curl.h>

#include "testutil.h"
#include "tlsutil.h"

/* Outside a test (no ck_assert): failures are printed and counted. */
static int
sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
sh(const char *fmt, ...)
{
	char *cmd;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return -1;
	if ((rc = system(cmd)) != 0)
		fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
	free(cmd);
	return rc == 0 ? 0 : -1;
}

/* One template file and a certificate signed by ca (or self-signed). */
static int
make_cert(const char *dir, const char *name, const char *tmpl,
    const char *ca)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s.tmpl", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs(tmpl, f);
	fclose(f);
	if (sh("cd '%s' && certtool -p --key-type=ecdsa --outfile %s.key "
	       ">/dev/null 2>&1", dir, name) != 0)
		return -1;
	if (ca == NULL)
		return sh("cd '%s' && certtool -s --load-privkey %s.key "
			  "--template %s.tmpl --outfile %s.crt >/dev/null 2>&1",
		    dir, name, name, name);
	return sh("cd '%s' && certtool -c --load-privkey %s.key "
		  "--load-ca-certificate %s.crt --load-ca-privkey %s.key "
		  "--template %s.tmpl --outfile %s.crt >/dev/null 2>&1",
	    dir, name, ca, ca, name, name);
}

int
tls_make_pki(const char *dir)
{
	int rc = 0;

	rc |= make_cert(dir, "ca", "cn = \"cimlisten test CA\"\nca\n"
	    "cert_signing_key\nexpiration_days = 30\n", NULL);
	rc |= make_cert(dir, "other-ca", "cn = \"someone else's CA\"\nca\n"
	    "cert_signing_key\nexpiration_days = 30\n", NULL);
	rc |= make_cert(dir, "srv", "cn = \"localhost\"\ndns_name = \"localhost\"\n"
	    "ip_address = \"127.0.0.1\"\ntls_www_server\n"
	    "expiration_days = 30\n", "ca");
	rc |= make_cert(dir, "srv2", "cn = \"rotated\"\n"
	    "ip_address = \"127.0.0.1\"\ntls_www_server\n"
	    "expiration_days = 30\n", "ca");
	rc |= make_cert(dir, "cli", "cn = \"sfcb.example.com\"\n"
	    "dns_name = \"sfcb.example.com\"\nip_address = \"192.0.2.7\"\n"
	    "tls_www_client\nexpiration_days = 30\n", "ca");
	rc |= make_cert(dir, "untrusted", "cn = \"sfcb.example.com\"\n"
	    "tls_www_client\nexpiration_days = 30\n", "other-ca");
	rc |= make_cert(dir, "expired", "cn = \"old.example.com\"\n"
	    "tls_www_client\nactivation_date = \"2019-01-01 00:00:00\"\n"
	    "expiration_date = \"2020-01-01 00:00:00\"\n", "ca");
	rc |= sh("cd '%s' && cat srv.crt ca.crt srv.key > srv-chain.pem", dir);
	return rc;
}

char *
tls_pki_dir(void)
{
	const char *t = getenv("TMPDIR");
	char *dir;

	if (asprintf(&dir, "%s/cimlisten-pki.XXXXXX", t != NULL ? t : "/tmp") <
		0 ||
	    mkdtemp(dir) == NULL || tls_make_pki(dir) != 0) {
		fprintf(stderr, "cannot make the test PKI\n");
		exit(1);
	}
	return dir;
}

static size_t
sink_cb(char *p, size_t sz, size_t n, void *arg)
{
	return sz * n;
}

static size_t
header_cb(char *p, size_t sz, size_t n, void *arg)
{
	char **h = arg;
	size_t len = h != NULL && *h != NULL ? strlen(*h) : 0;

	if (h == NULL)
		return sz * n;
	*h = realloc(*h, len + sz * n + 1);
	memcpy(*h + len, p, sz * n);
	(*h)[len + sz * n] = '\0';
	return sz * n;
}

long
tls_post(unsigned port, const struct tls_req *q, char **headers)
{
	struct curl_slist *hl = NULL;
	char url[128];
	char *body;
	size_t len;
	long status = 0;
	CURL *c;
	size_t i;

	if (headers != NULL)
		*headers = NULL;
	body = tu_sample("alert-indication.xml", &len);
	snprintf(url, sizeof url, "%s://127.0.0.1:%u/tls",
	    q->https ? "https" : "http", port);
	c = curl_easy_init();
	ck_assert_ptr_nonnull(c);
	for (i = 0; tu_sfcb_headers[i] != NULL; i++)
		hl = curl_slist_append(hl, tu_sfcb_headers[i]);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_cb);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, headers);
	if (q->cacert != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, q->cacert);
	else {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (q->cert != NULL) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, q->cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, q->key);
	}
	if (q->userpwd != NULL) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERPWD, q->userpwd);
	}
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	free(body);
	return status;
}

static long
ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 +
	       (now.tv_nsec - t0->tv_nsec) / 1000000;
}

char *
tls_run_client(const char *const *argv, const char *input, const char *until,
    unsigned timeout_ms)
{
	int in[2], out[2], st;
	char *buf = calloc(1, 1), chunk[4096];
	size_t len = 0;
	struct timespec t0;
	struct pollfd pfd;
	ssize_t r;
	pid_t pid;

	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(pipe(out), 0);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		close(in[1]);
		close(out[0]);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	signal(SIGPIPE, SIG_IGN);
	/* The client may be gone already: its output says why. */
	(void)!write(in[1], input, strlen(input));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pfd.fd = out[0];
	pfd.events = POLLIN;
	while (ms_since(&t0) < (long)timeout_ms) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if ((r = read(out[0], chunk, sizeof chunk)) <= 0)
			break;
		buf = realloc(buf, len + (size_t)r + 1);
		memcpy(buf + len, chunk, (size_t)r);
		len += (size_t)r;
		buf[len] = '\0';
		if (until != NULL && strstr(buf, until) != NULL)
			break;
	}
	close(in[1]);
	close(out[0]);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return buf;
}

bool
tls_wait_port(unsigned port, unsigned timeout_ms)
{
	struct sockaddr_in sin;
	struct timespec t0;
	int fd, ok;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	do {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ok = connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0;
		close(fd);
		if (ok)
			return true;
		usleep(20000);
	} while (ms_since(&t0) < (long)timeout_ms);
	return false;
}

char *
tls_check_config(const char *text, unsigned mode, int want_rc)
{
	char *dir = tu_tmpdir(), *conf, *out = NULL;
	const char *args[] = {"--check-config", "-c", NULL, NULL};
	int rc;

	ck_assert_int_gt(asprintf(&conf, "%s/c.conf", dir), 0);
	tu_write_file(conf, text, strlen(text));
	ck_assert_int_eq(chmod(conf, (mode_t)mode), 0);
	args[2] = conf;
	rc = tu_cimlistend_run(args, &out, 20000);
	ck_assert_msg(rc == want_rc, "rc %d: %s", rc, out);
	tu_rmtree(dir);
	free(dir);
	free(conf);
	return out;
}

char *
tls_raw_request(void)
{
	char *body, *req;
	size_t len, i;
	char hdrs[1024] = "";

	body = tu_sample("alert-indication.xml", &len);
	for (i = 0; tu_sfcb_headers[i] != NULL; i++) {
		strncat(hdrs, tu_sfcb_headers[i], sizeof hdrs - strlen(hdrs) - 3);
		strcat(hdrs, "\r\n");
	}
	ck_assert_int_gt(asprintf(&req, "POST /tls HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "%sContent-Length: %zu\r\nConnection: close\r\n\r\n%s", hdrs, len,
	    body), 0);
	free(body);
	return req;
}
