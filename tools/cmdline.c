// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Command lines of the blksnap tool, read with getopt_long() in the order
 * given (optstring "-..."): options may come anywhere after the command
 * word, "--" ends them, and every command takes --help/-h and --json.
 *
 * The rules are stricter than getopt_long()'s, as the tool's have always
 * been: a long option is written in full (no abbreviation), and a short
 * option stands alone ("-o FILE", not "-oFILE" or "-ho").
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include "tool.h"

static const struct option common_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, OPT_JSON },
};

void cmdline_init(struct cmdline *cl, int argc, char **argv, const char *help,
		  const char *shortopts, const struct option *longopts,
		  int min_args, int max_args)
{
	size_t n = 0;

	memset(cl, 0, sizeof(*cl));
	cl->argc = argc;
	cl->argv = argv;
	cl->help = help;
	cl->min_args = min_args;
	cl->max_args = max_args;
	cl->status = CMDLINE_GO;
	/* '-': options and arguments in order; ':': report missing values */
	snprintf(cl->shortopts, sizeof(cl->shortopts), "-:h%s", shortopts);
	for (; longopts && longopts[n].name && n < CMDLINE_MAX_OPTIONS; n++)
		cl->longopts[n] = longopts[n];
	memcpy(cl->longopts + n, common_options, sizeof(common_options));
	optind = 0;	/* a new scan (glibc) */
	opterr = 0;	/* the messages are ours */
}

/* The option named exactly by @arg ("--name" or "--name=value"), or NULL. */
static const struct option *long_option(const struct cmdline *cl, const char *arg)
{
	size_t len = strcspn(arg + 2, "=");
	const struct option *o;

	for (o = cl->longopts; o->name; o++)
		if (strlen(o->name) == len && !strncmp(o->name, arg + 2, len))
			return o;
	return NULL;
}

/* The option with the code @val, or NULL. */
static const struct option *option_by_code(const struct cmdline *cl, int val)
{
	const struct option *o;

	for (o = cl->longopts; o->name; o++)
		if (o->val == val)
			return o;
	return NULL;
}

int cmdline_getopt(struct cmdline *cl)
{
	/* The element getopt_long() reads (it starts at 1 after optind = 0). */
	int at = optind ? optind : 1;
	int c = getopt_long(cl->argc, cl->argv, cl->shortopts, cl->longopts, NULL);

	if (c == -1 || c == 1)
		return c;
	cl->arg = cl->argv[at];
	if (cl->arg[1] != '-') {
		cl->opt = option_by_code(cl, c == ':' ? optopt : c);
		return cl->arg[2] || !cl->opt ? '?' : c;
	}
	cl->opt = long_option(cl, cl->arg);
	if (!cl->opt)
		return '?';
	/* "--name=value" for an option without a value (help, json: unknown) */
	if (c == '?' && cl->opt->has_arg == no_argument && strchr(cl->arg, '='))
		return cl->opt->val == 'h' || cl->opt->val == OPT_JSON ? '?' : '=';
	return c;
}

/* util-linux style: the command's help on stdout, exit status 0. */
static int usage(const struct cmdline *cl)
{
	fputs(cl->help, stdout);
	return EXIT_OK;
}

/* The end of the options: the number of positional arguments. */
static int check_args(struct cmdline *cl)
{
	while (optind < cl->argc)	/* after "--" */
		cl->argv[cl->nargs++] = cl->argv[optind++];
	if (cl->nargs < cl->min_args)
		return usage_error("missing argument");
	if (cl->max_args >= 0 && cl->nargs > cl->max_args)
		return usage_error("unexpected argument '%s'", cl->argv[cl->max_args]);
	return CMDLINE_GO;
}

int cmdline_next(struct cmdline *cl)
{
	for (;;) {
		int c = cmdline_getopt(cl);

		switch (c) {
		case 1:
			/* getopt_long() has read past it: no element is lost */
			cl->argv[cl->nargs++] = optarg;
			break;
		case OPT_JSON:
			json_output = 1;
			break;
		case 'h':
			cl->status = usage(cl);
			return -1;
		case -1:
			cl->status = check_args(cl);
			return -1;
		case ':':
			cl->status = usage_error("option --%s needs a value", cl->opt->name);
			return -1;
		case '=':
			cl->status = usage_error("option --%s takes no value", cl->opt->name);
			return -1;
		case '?':
			cl->status = usage_error("unknown option '%s'", cl->arg);
			return -1;
		default:
			return c;
		}
	}
}

int cmdline_parse(int argc, char **argv, const char *help, int min_args,
		  int max_args)
{
	struct cmdline cl;

	cmdline_init(&cl, argc, argv, help, "", NULL, min_args, max_args);
	while (cmdline_next(&cl) != -1)
		;	/* no options of its own: never reached */
	return cl.status;
}

int get_uuid(const char *text, struct blksnap_uuid *id)
{
	if (blksnap_uuid_parse(text, id) < 0)
		return usage_error("'%s' is not a UUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
				   text);
	return EXIT_OK;
}
