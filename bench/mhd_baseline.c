/*
 * mhd_baseline.c: the yardsticks of the HTTP benchmark (bench/run-bench).
 * A bare libmicrohttpd server with the threading model of cimlistend's
 * listener (http.c: internal polling thread, epoll, a pool of one thread
 * per CPU unless told otherwise, the same connection limits and timeout)
 * that reads each request body and answers the fixed DSP0200
 * ExportIndication success response, with the headers cimlistend sends.
 * With --dom it also collects the body and parses it with libxml2's DOM
 * parser (xmlReadMemory, then xmlFreeDoc) before answering: what a naive
 * listener costs. With --cert/--key it serves HTTPS (GnuTLS through MHD).
 * With --per-cpu it runs, instead of one daemon with a pool, one
 * single-threaded daemon a thread, each on its own listening socket bound
 * with SO_REUSEPORT and SO_INCOMING_CPU set to its index, so that the
 * kernel hands a connection to the daemon of the CPU that handled its SYN
 * (an experiment: cimlistend does not do this yet, see bench/RESULTS.md).
 *
 * Usage: mhd_baseline [--dom] [--threads N] [--per-cpu]
 *                     [--cert FILE --key FILE] PORT
 * Binds 127.0.0.1:PORT, prints "ready" on stdout once listening, and runs
 * until SIGTERM or SIGINT. Bodies that do not parse get 400.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <microhttpd.h>

/* Fixed answer: the body cimlistend sends for a SIMPLEEXPREQ. */
static const char ok_body[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n"
    "<CIM CIMVERSION=\"2.0\" DTDVERSION=\"2.4\"><MESSAGE ID=\"1001\" "
    "PROTOCOLVERSION=\"1.4\"><SIMPLEEXPRSP><EXPMETHODRESPONSE "
    "NAME=\"ExportIndication\"/></SIMPLEEXPRSP></MESSAGE></CIM>\n";
static const char bad_body[] = "request-not-well-formed\n";

static int dom;

#define MAX_PER_CPU 64

/* One request's body, collected only with --dom. */
struct req {
	char *buf;
	size_t len, cap;
};

static enum MHD_Result
answer(struct MHD_Connection *c, unsigned status)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	const char *body = status == 200 ? ok_body : bad_body;

	resp = MHD_create_response_from_buffer(
	    strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    status == 200 ? "application/xml; charset=\"utf-8\""
			  : "text/plain; charset=utf-8");
	if (status == 200)
		MHD_add_response_header(resp, "CIMExport", "MethodResponse");
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
access_cb(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *data, size_t *size,
    void **con_cls)
{
	struct req *r = *con_cls;
	xmlDocPtr doc;
	unsigned status = 200;

	if (r == NULL) {
		if ((r = calloc(1, sizeof *r)) == NULL)
			return MHD_NO;
		*con_cls = r;
		return MHD_YES;
	}
	if (*size != 0) {
		if (dom) {
			if (r->len + *size > r->cap) {
				char *nb;
				size_t cap = r->cap == 0 ? 4096 : r->cap;

				while (cap < r->len + *size)
					cap *= 2;
				if ((nb = realloc(r->buf, cap)) == NULL)
					return MHD_NO;
				r->buf = nb;
				r->cap = cap;
			}
			memcpy(r->buf + r->len, data, *size);
			r->len += *size;
		}
		*size = 0;
		return MHD_YES;
	}
	if (dom) {
		doc = xmlReadMemory(r->buf != NULL ? r->buf : "", (int)r->len,
		    NULL, NULL, XML_PARSE_NONET);
		if (doc == NULL)
			status = 400;
		xmlFreeDoc(doc);
	}
	return answer(c, status);
}

static void
completed_cb(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;

	if (r != NULL) {
		free(r->buf);
		free(r);
		*con_cls = NULL;
	}
}

/* The whole of a (small) file, NUL-terminated, or exit. */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, n;

	if (f == NULL) {
		perror(path);
		exit(2);
	}
	do {
		if ((buf = realloc(buf, len + 65536 + 1)) == NULL)
			exit(2);
		n = fread(buf + len, 1, 65536, f);
		len += n;
	} while (n > 0);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

static void
usage(void)
{
	fprintf(stderr, "usage: mhd_baseline [--dom] [--threads N] [--per-cpu] "
			"[--cert FILE --key FILE] PORT\n");
	exit(2);
}

/* A listening socket on 127.0.0.1:port in a SO_REUSEPORT group, taking
 * the connections whose SYN CPU `cpu` handled; -1 on error (reported). */
static int
per_cpu_socket(unsigned port, int cpu)
{
	struct sockaddr_in sin;
	int fd, one = 1;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_INCOMING_CPU, &cpu, sizeof cpu) != 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
	    listen(fd, SOMAXCONN) != 0) {
		perror("mhd_baseline: per-cpu socket");
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

/* One daemon: on `fd` with one thread if fd >= 0, else a pool on port. */
static struct MHD_Daemon *
start_one(unsigned flags, unsigned port, int fd, unsigned threads,
    struct MHD_OptionItem *extra)
{
	struct sockaddr_in sin;
	struct MHD_OptionItem where[] = {
	    {MHD_OPTION_LISTEN_SOCKET, fd, NULL},
	    {MHD_OPTION_END, 0, NULL},
	    {MHD_OPTION_END, 0, NULL},
	};

	if (fd < 0) {
		memset(&sin, 0, sizeof sin);
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)port);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		where[0] = (struct MHD_OptionItem){
		    MHD_OPTION_SOCK_ADDR, 0, &sin};
		where[1] = (struct MHD_OptionItem){
		    MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)threads, NULL};
	}
	return MHD_start_daemon(flags, fd >= 0 ? 0 : (uint16_t)port, NULL,
	    NULL, access_cb, NULL, MHD_OPTION_ARRAY, where,
	    MHD_OPTION_CONNECTION_LIMIT, 1024u,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, 64u,
	    MHD_OPTION_CONNECTION_TIMEOUT, 30u,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
	    MHD_OPTION_NOTIFY_COMPLETED, completed_cb, NULL,
	    MHD_OPTION_ARRAY, extra, MHD_OPTION_END);
}

int
main(int argc, char **argv)
{
	struct MHD_Daemon *d[MAX_PER_CPU];
	const char *certfile = NULL, *keyfile = NULL;
	char *cert = NULL, *key = NULL;
	unsigned flags, port, threads = 0, nd = 0, k;
	sigset_t set;
	int i, sig, per_cpu = 0;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--dom") == 0)
			dom = 1;
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			threads = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--per-cpu") == 0)
			per_cpu = 1;
		else if (strcmp(argv[i], "--cert") == 0 && i + 1 < argc)
			certfile = argv[++i];
		else if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
			keyfile = argv[++i];
		else
			usage();
	}
	if (i + 1 != argc || (certfile == NULL) != (keyfile == NULL))
		usage();
	port = (unsigned)atoi(argv[i]);
	if (threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		threads = n > 0 ? (unsigned)n : 1;
	}
	if (per_cpu && threads > MAX_PER_CPU)
		threads = MAX_PER_CPU;
	xmlInitParser();

	/* As http.c: signals are waited for here, not taken by MHD threads. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
		MHD_USE_ITC;
	flags |= MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES
		     ? MHD_USE_EPOLL
		     : MHD_USE_POLL;
	if (certfile != NULL) {
		flags |= MHD_USE_TLS;
		cert = slurp(certfile);
		key = slurp(keyfile);
	}
	{
		struct MHD_OptionItem tls[] = {
		    {MHD_OPTION_HTTPS_MEM_CERT, 0, cert},
		    {MHD_OPTION_HTTPS_MEM_KEY, 0, key},
		    {MHD_OPTION_END, 0, NULL},
		};
		struct MHD_OptionItem none[] = {{MHD_OPTION_END, 0, NULL}};
		struct MHD_OptionItem *extra = cert != NULL ? tls : none;

		if (!per_cpu) {
			if ((d[0] = start_one(flags, port, -1, threads,
				 extra)) != NULL)
				nd = 1;
		} else {
			for (k = 0; k < threads; k++) {
				int fd = per_cpu_socket(port, (int)k);

				if (fd == -1 || (d[k] = start_one(flags, port,
						     fd, 1, extra)) == NULL)
					break;
				nd++;
			}
		}
	}
	if (nd == 0 || (per_cpu && nd != threads)) {
		for (k = 0; k < nd; k++)
			MHD_stop_daemon(d[k]);
		fprintf(stderr, "mhd_baseline: cannot start on port %u\n", port);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	sigwait(&set, &sig);
	for (k = 0; k < nd; k++)
		MHD_stop_daemon(d[k]);
	xmlCleanupParser();
	free(cert);
	free(key);
	return 0;
}
