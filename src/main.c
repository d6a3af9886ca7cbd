/*
 * main.c: cimlistend's command line. Everything else lives in the
 * convenience library so that the tests link the same code.
 */
#include "autoconf.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "daemon.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: cimlistend [-f] [-c FILE]\n"
	    "       cimlistend --check-config [-c FILE]\n"
	    "\n"
	    "CIM indication listener daemon (DMTF DSP0200 CIM-XML export).\n"
	    "\n"
	    "  -c, --config FILE   configuration file (default %s)\n"
	    "  -f, --foreground    stay in the foreground, log to stderr\n"
	    "  -n, --check-config  validate the configuration and exit 0 (valid) or 1\n"
	    "      --help-config   list every configuration key with its default\n"
	    "  -V, --version       print the version and exit\n"
	    "  -h, --help          print this help and exit\n",
	    CONFIG_DEFAULT_FILE);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "check-config", no_argument, NULL, 'n' },
		{ "help-config", no_argument, NULL, 'K' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = CONFIG_DEFAULT_FILE;
	bool foreground = false, check = false;
	int ch;

	while ((ch = getopt_long(argc, argv, "c:fnVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			file = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'n':
			check = true;
			break;
		case 'K':
			config_print_keys(stdout);
			return 0;
		case 'V':
			printf("cimlistend %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "cimlistend: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		return 2;
	}
	if (check) {
		if (daemon_check_config(file) != 0)
			return 1;
		printf("%s: configuration OK\n", file);
		return 0;
	}
	/* Under systemd (NOTIFY_SOCKET set) stay in the foreground. */
	if (getenv("NOTIFY_SOCKET") != NULL)
		foreground = true;
	return daemon_run(file, foreground);
}
