/*
 * sub_reader.c: the socket-sink subscriber of the HTTP benchmark
 * (bench/run-bench). It connects to a socket sink, subscribes to everything
 * from now on, and reads the stream in 256 KiB reads, counting lines and
 * checking that each one is a JSON object, until the daemon closes the
 * connection or it gets SIGTERM/SIGINT; then it prints the number of lines
 * (the "subscribed" line included) and exits 0.
 *
 * What a lean consumer costs, so that the benchmark measures the daemon
 * serving a subscriber rather than the subscriber: the socat | wc pipeline
 * used before spent about 6 us of CPU per indication (an 8 KiB socat buffer,
 * nine system calls per read, then a pipe to wc), more than the daemon's
 * whole socket sink. run-bench reports the subscriber's CPU next to the
 * daemon's either way.
 *
 * Usage: sub_reader SOCKET
 * Prints "ready" on stderr once the subscribed line has arrived.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_SIZE ((size_t)256 << 10)

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int
main(int argc, char **argv)
{
	static const char req[] = "{\"op\":\"subscribe\",\"from\":\"now\"}\n";
	struct sockaddr_un sun;
	struct sigaction sa;
	unsigned long long lines = 0, bad = 0;
	char *buf, *p, *end, *nl;
	int fd, at_start = 1, ready = 0;
	ssize_t n;

	if (argc != 2 || strlen(argv[1]) >= sizeof sun.sun_path) {
		fprintf(stderr, "usage: sub_reader SOCKET\n");
		return 2;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal; /* no SA_RESTART: read returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, argv[1]);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		fprintf(stderr, "sub_reader: %s: %s\n", argv[1],
		    strerror(errno));
		return 1;
	}
	if (write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1)) {
		fprintf(stderr, "sub_reader: write: %s\n", strerror(errno));
		return 1;
	}
	if ((buf = malloc(READ_SIZE)) == NULL)
		return 1;
	while (!stop) {
		n = read(fd, buf, READ_SIZE);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		p = buf;
		end = buf + n;
		while (p < end) {
			if (at_start && *p != '{')
				bad++;
			if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
				at_start = 0;
				break;
			}
			lines++;
			at_start = 1;
			p = nl + 1;
		}
		if (!ready && lines > 0) {
			fprintf(stderr, "ready\n");
			ready = 1;
		}
	}
	printf("%llu\n", lines);
	if (bad != 0)
		fprintf(stderr, "sub_reader: %llu lines are not JSON objects\n",
		    bad);
	return bad != 0;
}
