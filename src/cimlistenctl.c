/*
 * cimlistenctl.c: the command-line client of cimlistend (DESIGN section 8).
 *
 * One table of subcommands: each has a name, a function, a usage line and
 * whether it needs a running daemon (reached over the control socket; the
 * commands that need it come with the control socket). The commands here
 * are local: check-config loads a configuration with the daemon's own
 * loader, test-filter compiles a filter expression with the daemon's own
 * compiler and evaluates it against records read back from JSON lines as
 * the file sink writes them.
 *
 * Human-readable output by default, one JSON object per line with --json.
 * Exit status: 0 success (test-filter: some record matched), 1 failure
 * (invalid configuration, no record matched), 2 usage or expression error,
 * 3 an input could not be read or held a line that is not a record (and
 * nothing matched).
 */
#include "autoconf.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "arena.h"
#include "buf.h"
#include "config.h"
#include "ctl_daemon.h"
#include "ctl_send.h"
#include "ctl_tail.h"
#include "filter.h"
#include "log.h"
#include "record.h"

#define EXIT_NOMATCH 1
#define EXIT_USAGE 2
#define EXIT_INPUT 3

/* Options that apply to every command. */
struct ctl {
	bool json; /* --json: one JSON object per line on stdout */
};

struct ctl_cmd {
	const char *name;
	int (*fn)(struct ctl *, const struct ctl_cmd *, int, char **);
	const char *args;  /* usage after the name */
	const char *help;  /* one line for the command list */
	bool needs_daemon; /* talks to cimlistend over the control socket */
};

static int cmd_check_config(struct ctl *, const struct ctl_cmd *, int,
    char **);
static int cmd_test_filter(struct ctl *, const struct ctl_cmd *, int,
    char **);
static int cmd_send(struct ctl *, const struct ctl_cmd *, int, char **);
static int cmd_daemon(struct ctl *, const struct ctl_cmd *, int, char **);
static int cmd_tail(struct ctl *, const struct ctl_cmd *, int, char **);

static const struct ctl_cmd commands[] = {
	{ "check-config", cmd_check_config, "[FILE]",
	  "check a configuration as cimlistend would", false },
	{ "test-filter", cmd_test_filter, "EXPR [RECORD.json ...]",
	  "evaluate an expression against records", false },
	{ "send", cmd_send, "[OPTIONS] URL",
	  "post test indications (a load generator too)", false },
	{ "status", cmd_daemon, "[--socket PATH]",
	  "what the daemon is doing", true },
	{ "stats", cmd_daemon, "[--socket PATH]",
	  "the daemon's counters", true },
	{ "sinks", cmd_daemon, "[--socket PATH]",
	  "sinks with their delivery figures", true },
	{ "sources", cmd_daemon, "[--socket PATH]",
	  "senders seen, with their DSP1054 sequence tracks", true },
	{ "subscribers", cmd_daemon, "[--socket PATH]",
	  "subscribers of socket sinks", true },
	{ "reopen", cmd_daemon, "[--socket PATH]",
	  "reopen sink outputs (log rotation)", true },
	{ "reload", cmd_daemon, "[--socket PATH]",
	  "reload the configuration; errors, old one kept", true },
	{ "redeliver", cmd_daemon, "SINK --from SEQ [--to SEQ]",
	  "send a range of records to a sink again", true },
	{ "tail", cmd_tail, "[OPTIONS]",
	  "print the indication stream of a socket sink", true },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void
usage(FILE *f)
{
	size_t i;
	int w;

	fprintf(f,
	    "usage: cimlistenctl [--json] COMMAND [ARGS]\n"
	    "       cimlistenctl -h | -V\n"
	    "\n"
	    "Client of cimlistend, the CIM indication listener.\n"
	    "\n"
	    "Commands:\n");
	for (i = 0; i < NCOMMANDS; i++) {
		w = (int)(strlen(commands[i].name) + strlen(commands[i].args));
		fprintf(f, "  %s %s%*s  %s\n", commands[i].name,
		    commands[i].args, w < 34 ? 34 - w : 0, "",
		    commands[i].help);
	}
	fprintf(f,
	    "\n"
	    "Options:\n"
	    "      --json     machine-readable output, one JSON object a line\n"
	    "  -h, --help     print this help and exit\n"
	    "  -V, --version  print the version and exit\n"
	    "\n"
	    "'cimlistenctl COMMAND --help' describes one command.\n");
}

/* A usage error for one command: message, its usage line; returns 2. */
static int __attribute__((format(printf, 2, 3)))
cmd_usage_error(const struct ctl_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "cimlistenctl %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: cimlistenctl %s %s\n", cmd->name, cmd->args);
	return EXIT_USAGE;
}

/* Write text for a terminal or a log: control characters as '?'. */
static void
put_printable(FILE *f, const char *s)
{
	for (; *s != '\0'; s++)
		putc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

/* stdout flushed and healthy? Otherwise say so; returns 0 or EXIT_INPUT. */
static int
finish_output(void)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "cimlistenctl: write error on standard "
		    "output: %s\n", strerror(errno));
		return EXIT_INPUT;
	}
	return 0;
}

/*
 * Command-local options: --json (also accepted after the command) and
 * --help. Returns the index of the first operand, or -1 (with *status set)
 * when the command is done.
 */
static int
cmd_options(struct ctl *ctl, const struct ctl_cmd *cmd, int argc,
    char **argv, int *status)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	optind = 0; /* full re-initialisation (glibc) */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			ctl->json = true;
			break;
		case 'h':
			printf("usage: cimlistenctl %s %s\n%s\n", cmd->name,
			    cmd->args, cmd->help);
			*status = finish_output();
			return -1;
		default:
			if (optopt != 0 && optopt != 'j' && optopt != 'h')
				*status = cmd_usage_error(cmd,
				    "unknown option '-%c'", optopt);
			else
				*status = cmd_usage_error(cmd,
				    "unknown option '%s'", argv[optind - 1]);
			return -1;
		}
	}
	return optind;
}

/* check-config [FILE]: load it as the daemon would; 0 valid, 1 not. */
static int
cmd_check_config(struct ctl *ctl, const struct ctl_cmd *cmd, int argc,
    char **argv)
{
	struct config_errors errs = { NULL, 0 };
	struct config *conf;
	struct buf b = BUF_INIT;
	const char *file = CONFIG_DEFAULT_FILE;
	int first, status = 0;
	size_t i;

	if ((first = cmd_options(ctl, cmd, argc, argv, &status)) < 0)
		return status;
	if (argc - first > 1)
		return cmd_usage_error(cmd, "unexpected argument '%s'",
		    argv[first + 1]);
	if (argc - first == 1)
		file = argv[first];

	conf = config_load(file, &errs);
	if (ctl->json) {
		buf_adds(&b, "{\"file\":");
		record_json_string(&b, file);
		buf_printf(&b, ",\"ok\":%s,\"errors\":[",
		    conf != NULL ? "true" : "false");
		for (i = 0; i < errs.n; i++) {
			if (i != 0)
				buf_addc(&b, ',');
			record_json_string(&b, errs.msgs[i]);
		}
		buf_adds(&b, "]}\n");
		fputs(b.data, stdout);
		buf_free(&b);
	} else if (conf != NULL)
		printf("%s: configuration OK\n", file);
	/* Errors go to stderr in both forms, as the daemon prints them. */
	for (i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs[i]);
	status = conf != NULL ? 0 : EXIT_NOMATCH;
	config_errors_clear(&errs);
	config_free(conf);
	if (finish_output() != 0)
		return EXIT_INPUT;
	return status;
}

/* What test-filter has seen so far. */
struct tf_state {
	struct ctl *ctl;
	const struct filter *filter;
	unsigned long matched;
	unsigned long unmatched;
	bool input_error; /* a file unreadable or a line not a record */
};

/* One line: read the record, evaluate, print the verdict. */
static void
tf_line(struct tf_state *st, const char *name, unsigned long lineno,
    const char *line, size_t len)
{
	struct arena *a;
	struct record rec;
	struct record_source src;
	struct filter_input in;
	struct buf b = BUF_INIT;
	char *cause = NULL;
	bool match;
	size_t i;

	/* Blank lines separate nothing in JSON Lines: skip them. */
	for (i = 0; i < len && strchr(" \t\r\n", line[i]) != NULL; i++)
		continue;
	if (i == len)
		return;

	a = arena_new();
	if (record_from_json(line, len, a, &rec, &src, &cause) != 0) {
		fprintf(stderr, "%s:%lu: ", name, lineno);
		put_printable(stderr, cause);
		putc('\n', stderr);
		free(cause);
		st->input_error = true;
		st->unmatched++;
		arena_free(a);
		return;
	}
	in.inst = rec.inst;
	in.source = rec.source;
	in.filters = rec.filters;
	in.nfilters = rec.nfilters;
	match = filter_match(st->filter, &in);
	if (match)
		st->matched++;
	else
		st->unmatched++;

	if (st->ctl->json) {
		buf_printf(&b, "{\"seq\":%llu,\"class\":",
		    (unsigned long long)rec.seq);
		record_json_string(&b, rec.inst->classname);
		buf_printf(&b, ",\"match\":%s}\n", match ? "true" : "false");
		fputs(b.data, stdout);
		buf_free(&b);
	} else {
		printf("%s seq=%llu ", match ? "match   " : "no match",
		    (unsigned long long)rec.seq);
		put_printable(stdout, rec.inst->classname);
		putchar('\n');
	}
	arena_free(a);
}

/* Every line of one input ("-" is standard input). */
static void
tf_input(struct tf_state *st, const char *path)
{
	bool is_stdin = strcmp(path, "-") == 0;
	const char *name = is_stdin ? "<stdin>" : path;
	unsigned long lineno = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	if (is_stdin)
		f = stdin;
	else if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "cimlistenctl: %s: %s\n", path,
		    strerror(errno));
		st->input_error = true;
		return;
	}
	/* getline: records can be many kilobytes long. */
	while ((n = getline(&line, &cap, f)) != -1)
		tf_line(st, name, ++lineno, line, (size_t)n);
	if (ferror(f)) {
		fprintf(stderr, "cimlistenctl: %s: read error: %s\n", name,
		    strerror(errno));
		st->input_error = true;
	}
	free(line);
	if (!is_stdin)
		fclose(f);
	else
		clearerr(stdin);
}

/*
 * test-filter EXPR [RECORD.json ...]: 0 if any record matched, 1 if none
 * did, 2 on an expression error, 3 if nothing matched and an input could
 * not be read or held a line that is not a record.
 */
static int
cmd_test_filter(struct ctl *ctl, const struct ctl_cmd *cmd, int argc,
    char **argv)
{
	struct tf_state st = { ctl, NULL, 0, 0, false };
	struct filter_error ferr;
	struct filter *f;
	int first, status = 0, i;

	if ((first = cmd_options(ctl, cmd, argc, argv, &status)) < 0)
		return status;
	if (argc - first < 1)
		return cmd_usage_error(cmd, "missing expression");

	memset(&ferr, 0, sizeof ferr);
	if ((f = filter_compile(argv[first], &ferr)) == NULL) {
		filter_error_print(stderr, argv[first], &ferr,
		    isatty(STDERR_FILENO));
		return EXIT_USAGE;
	}
	st.filter = f;
	if (argc - first == 1)
		tf_input(&st, "-");
	for (i = first + 1; i < argc; i++)
		tf_input(&st, argv[i]);
	filter_free(f);

	if (finish_output() != 0)
		return EXIT_INPUT;
	if (st.matched > 0)
		return 0;
	return st.input_error ? EXIT_INPUT : EXIT_NOMATCH;
}

static int
cmd_send(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	(void)cmd;
	return ctl_send(argc, argv, ctl->json);
}

static int
cmd_daemon(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	return ctl_daemon(cmd->name, argc, argv, ctl->json);
}

static int
cmd_tail(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	(void)cmd;
	return ctl_tail(argc, argv, ctl->json);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl ctl = { false };
	const char *name;
	size_t i;
	int ch;

	/* Messages of shared modules (config warnings) go to stderr. */
	log_init(LOG_WARNING, true, "cimlistenctl");

	/* "+": options up to the command; the command parses the rest. */
	while ((ch = getopt_long(argc, argv, "+hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			ctl.json = true;
			break;
		case 'h':
			usage(stdout);
			return finish_output();
		case 'V':
			printf("cimlistenctl %s\n", PACKAGE_VERSION);
			return finish_output();
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "cimlistenctl: no command given\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	name = argv[optind];
	for (i = 0; i < NCOMMANDS; i++) {
		if (strcmp(commands[i].name, name) == 0)
			return commands[i].fn(&ctl, &commands[i],
			    argc - optind, argv + optind);
	}
	fprintf(stderr, "cimlistenctl: unknown command '%s'\n", name);
	usage(stderr);
	return EXIT_USAGE;
}
