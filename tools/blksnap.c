// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * blksnap - console tool for the blksnap block-device filter: change
 * tracking (CBT) and snapshots. One command per operation; human output by
 * default, --json for scripts.
 *
 * This file: the global options, the command tables, the help and the
 * "version" command. Exit status: 0 success, 1 the operation failed,
 * 2 usage error, 3 a full backup is needed ("changes").
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "tool.h"

/* ---- version ------------------------------------------------------------- */

static const char version_help[] =
"Usage: blksnap version [--json]\n"
"\n"
"Print the versions of the tool, of libblksnap and of the loaded blksnap\n"
"kernel module, and the module's filter backend: blkfilter (the kernel's\n"
"block-device filters) or ftrace (the module's own hook, on a kernel\n"
"without them). Fails if the module is not loaded.\n"
"\n"
"Options:\n"
"  --json     print a JSON object {\"tool\", \"library\", \"module\", \"backend\"}\n";

static int cmd_version(int argc, char **argv)
{
	const char *backend = "unknown";
	struct blksnap_version v;
	unsigned int ma, mi, pa;
	char lib[64], mod[64];
	int fd, rc;

	rc = cmdline_parse(argc, argv, version_help, 0, 0);
	if (rc != CMDLINE_GO)
		return rc;
	blksnap_lib_version(&ma, &mi, &pa);
	snprintf(lib, sizeof(lib), "%u.%u.%u", ma, mi, pa);
	fd = open_control();
	if (fd < 0)
		return EXIT_FAIL;
	rc = blksnap_version(fd, &v);
	close(fd);
	if (rc < 0)
		return lib_fail(NULL, rc);
	snprintf(mod, sizeof(mod), "%u.%u.%u.%u", v.major, v.minor, v.revision, v.build);
	/* A module older than the parameter only had the kernel's filters. */
	blksnap_filter_backend(&backend);
	if (json_output)
		return json_print(json_obj("tool", json_str(TOOL_VERSION),
					   "library", json_str(lib),
					   "module", json_str(mod),
					   "backend", json_str(backend), NULL));
	printf("tool:    %s\nlibrary: %s\nmodule:  %s\nbackend: %s\n", TOOL_VERSION,
	       lib, mod, backend);
	return EXIT_OK;
}

/* ---- command tables ------------------------------------------------------- */

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command snapshot_cmds[] = {
	{ "create", cmd_snapshot_create, "create a snapshot (and add devices); prints its UUID" },
	{ "add", cmd_snapshot_add, "add devices to a created snapshot" },
	{ "take", cmd_snapshot_take, "take a snapshot: images appear" },
	{ "destroy", cmd_snapshot_destroy, "destroy a snapshot: images go away" },
	{ "collect", cmd_snapshot_collect, "list snapshot UUIDs" },
	{ "info", cmd_snapshot_info, "image name and error state of a device's snapshot" },
	{ "watch", cmd_snapshot_watch, "print a snapshot's events" },
	{ NULL, NULL, NULL },
};

static int cmd_snapshot(int argc, char **argv);

static const struct command commands[] = {
	{ "version", cmd_version, "versions of the tool, library and module" },
	{ "attach", cmd_attach, "attach the blksnap filter to a device (start CBT)" },
	{ "detach", cmd_detach, "detach the blksnap filter from a device" },
	{ "cbtinfo", cmd_cbtinfo, "change-tracking state of a device" },
	{ "readcbtmap", cmd_readcbtmap, "read a device's CBT table" },
	{ "markdirty", cmd_markdirty, "mark sector ranges of a device as changed" },
	{ "changes", cmd_changes, "list sectors changed since a snapshot number" },
	{ "snapshot", cmd_snapshot, "snapshot commands (see below)" },
	{ "backup", cmd_backup, "back up devices into a repository (full or incremental)" },
	{ "restore", cmd_restore, "write a restore point back to devices or files" },
	{ "verify", cmd_verify, "check every block of a repository's points" },
	{ "list", cmd_list, "list a repository's restore points" },
	{ "prune", cmd_prune, "remove all but the newest restore points" },
	{ NULL, NULL, NULL },
};

static const struct command *find(const struct command *c, const char *name)
{
	for (; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

static void list_commands(FILE *f, const char *prefix, const struct command *c)
{
	for (; c->name; c++)
		fprintf(f, "  %s%-*s %s\n", prefix, 20 - (int)strlen(prefix), c->name,
			c->summary);
}

/* ---- help ------------------------------------------------------------------- */

static void main_help(FILE *f)
{
	fputs("Usage: blksnap [--json] COMMAND [ARGS...]\n"
	      "       blksnap COMMAND --help\n"
	      "\n"
	      "Change tracking and snapshots of block devices with the blksnap\n"
	      "kernel module. Commands:\n", f);
	list_commands(f, "", commands);
	list_commands(f, "snapshot ", snapshot_cmds);
	fputs("\n"
	      "Global options:\n"
	      "  --json       machine-readable output (every command that prints data)\n"
	      "  --help, -h   this help; after a command, that command's help\n"
	      "  --version    the tool's version\n"
	      "\n"
	      "Exit status: 0 success, 1 failure, 2 usage error, 3 full backup needed\n"
	      "(changes). Errors are one line on stderr: \"blksnap: COMMAND: message\".\n"
	      "See blksnap(8).\n", f);
}

/* "blksnap snapshot COMMAND ...": @argv[0] is "snapshot". */
static int cmd_snapshot(int argc, char **argv)
{
	static char name[64];
	const struct command *c;

	if (argc < 2)
		return usage_error("missing snapshot command (create, add, take, destroy, "
				   "collect, info, watch)");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs("Usage: blksnap snapshot COMMAND [ARGS...]\n\nCommands:\n", stdout);
		list_commands(stdout, "", snapshot_cmds);
		fputs("\nSee 'blksnap snapshot COMMAND --help'.\n", stdout);
		return EXIT_OK;
	}
	c = find(snapshot_cmds, argv[1]);
	if (!c)
		return usage_error("unknown snapshot command '%s'", argv[1]);
	snprintf(name, sizeof(name), "snapshot %s", c->name);
	cmd_name = name;
	return c->fn(argc - 1, argv + 1);
}

/* "blksnap help [COMMAND [SUBCOMMAND]]": the same as COMMAND [SUBCOMMAND] --help. */
static int cmd_help(int argc, char **argv)
{
	char help_opt[] = "--help";
	char *hargv[] = { argv[0], help_opt, NULL };
	char *sargv[] = { argv[0], argc > 1 ? argv[1] : argv[0], help_opt, NULL };
	const struct command *c;

	if (argc < 1) {
		main_help(stdout);
		return EXIT_OK;
	}
	c = find(commands, argv[0]);
	if (!c) {
		fprintf(stderr, "blksnap: help: unknown command '%s'\n", argv[0]);
		return EXIT_USAGE;
	}
	cmd_name = c->name;
	if (c->fn == cmd_snapshot && argc > 1)
		return cmd_snapshot(3, sargv);
	return c->fn(2, hargv);
}

/* ---- main ---------------------------------------------------------------------- */

enum { OPT_VERSION = OPT_LONG_ONLY };

/* A bad global option or command: one line, exit status 2. */
static int main_usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "blksnap: %s '%s' (see 'blksnap --help')\n", what, arg);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	const struct command *c;
	struct cmdline cl;
	int opt;

	/* Global options, up to the command word. */
	cmdline_init(&cl, argc, argv, NULL, "", longopts, 0, -1);
	while ((opt = cmdline_getopt(&cl)) != 1) {
		switch (opt) {
		case OPT_JSON:
			json_output = 1;
			break;
		case 'h':
			main_help(stdout);
			return EXIT_OK;
		case OPT_VERSION:
			printf("blksnap %s\n", TOOL_VERSION);
			return EXIT_OK;
		case -1:
			/* "--" is not a global option */
			if (optind > 1 && !strcmp(argv[optind - 1], "--"))
				return main_usage_error("unknown option", "--");
			main_help(stderr);
			return EXIT_USAGE;
		default:
			return main_usage_error("unknown option", cl.arg);
		}
	}
	/* optarg is the command word, argv[optind - 1]. */
	if (!strcmp(optarg, "-"))
		return main_usage_error("unknown option", optarg);
	if (!strcmp(optarg, "help"))
		return cmd_help(argc - optind, argv + optind);
	c = find(commands, optarg);
	if (!c)
		return main_usage_error("unknown command", optarg);
	cmd_name = c->name;
	return c->fn(argc - optind + 1, argv + optind - 1);
}
