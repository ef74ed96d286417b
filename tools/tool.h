/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internal interfaces of the blksnap tool:
 *
 *   blksnap.c       main(): global options, the command tables, help
 *   cmdline.c       a command's options and arguments (getopt_long)
 *   output.c        error messages, --json output (json-c), opening devices
 *   cmd_cbt.c       attach, detach, cbtinfo, readcbtmap, markdirty, changes
 *   cmd_snapshot.c  snapshot create, add, take, destroy, collect, info, watch
 *   cmd_backup.c    backup, restore, verify, list, prune (on repo.c)
 *   parse.c         numbers, sizes and sector ranges (parse.h)
 *   repo.c          the backup repository: restore points, verify, restore,
 *                   prune (repo.h; format: docs/backup-format.md)
 */
#ifndef BLKSNAP_TOOL_H
#define BLKSNAP_TOOL_H

#include <getopt.h>
#include <stdint.h>
#include <json.h>
#include <blksnap/blksnap.h>

#define TOOL_VERSION "1.0.0"

/* Exit status. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_FULL_BACKUP = 3 };

/* ---- output.c --------------------------------------------------------- */

/* The command being run, for messages ("attach", "snapshot take"). */
extern const char *cmd_name;
/* --json was given. */
extern int json_output;

/* One line "blksnap: COMMAND: MESSAGE" on stderr; returns EXIT_FAIL. */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same with "(see 'blksnap COMMAND --help')"; returns EXIT_USAGE. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * A failed library call: its message, with the tool's advice where one of
 * its commands is the remedy, after @subject (a device path, a UUID...)
 * if not NULL. Returns EXIT_FAIL.
 */
int lib_fail(const char *subject, int err);

/* Open a block device / the control device; on failure say so, return < 0. */
int open_device(const char *path);
int open_control(void);
/*
 * A command whose only argument is a device: parse its command line, open
 * the device, query(fd, result), close it. CMDLINE_GO if @result is set,
 * else the exit status (help printed, or a message).
 */
int query_device(int argc, char **argv, const char *help,
		 int (*query)(int fd, void *result), void *result);

/* Text form of a UUID, in @buf. */
const char *uuid_str(const struct blksnap_uuid *id, char buf[BLKSNAP_UUID_STR_LEN]);
/* The C library's description of errno @code (either sign), never NULL. */
const char *errno_text(int code);

/*
 * --json output. Values are json-c objects; json_print() writes one on a
 * line and releases it. The serialisation is compact and leaves '/'
 * unescaped; json_str() keeps the tool's escaping of the control
 * characters json-c writes differently (\b, \f, \r).
 */
json_object *json_str(const char *s);
static inline json_object *json_u64(uint64_t v)
{
	return json_object_new_uint64(v);
}
static inline json_object *json_s64(int64_t v)
{
	return json_object_new_int64(v);
}
/* An object from KEY, VALUE pairs, in this order; NULL ends the list. */
json_object *json_obj(const char *key, ...) __attribute__((sentinel));
/*
 * An array whose elements are made while it is printed, for tables with
 * millions of rows: next(data, &pos) returns the element at or after
 * position pos (starting at 0) and moves pos past it, or NULL at the end.
 */
typedef json_object *json_next_fn(const void *data, size_t *pos);
json_object *json_lazy_array(json_next_fn *next, const void *data);
/* Print @obj and a newline on stdout and release it; EXIT_OK or EXIT_FAIL. */
int json_print(json_object *obj);

/* ---- cmdline.c --------------------------------------------------------- */

/* Codes of long options without a short form (common, then per command). */
enum { OPT_JSON = 0x100, OPT_LONG_ONLY };

/* cmdline.status while the command goes on. */
#define CMDLINE_GO (-1)
/* Options of one command, besides --help and --json. */
#define CMDLINE_MAX_OPTIONS 8

/* The state of parsing one command line. */
struct cmdline {
	int argc;
	char **argv;		/* argv[0]: the command word */
	const char *help;	/* printed by --help */
	int min_args, max_args;	/* positional arguments; max_args < 0: any */
	int nargs;		/* positional arguments, moved to argv[0..nargs-1] */
	int status;		/* CMDLINE_GO, or the command's exit status */
	const char *arg;	/* the argument of the last option */
	const struct option *opt; /* its description, NULL if unknown */
	char shortopts[24];
	struct option longopts[CMDLINE_MAX_OPTIONS + 3];
};

/*
 * Start parsing @argv: @shortopts and @longopts (NULL-terminated, may be
 * NULL) in getopt_long() form are the command's own options.
 */
void cmdline_init(struct cmdline *cl, int argc, char **argv, const char *help,
		  const char *shortopts, const struct option *longopts,
		  int min_args, int max_args);
/*
 * getopt_long() with the tool's rules: an option's code (optarg set), 1 for
 * a positional argument (optarg), -1 at the end of the options; '?' for an
 * unknown option, ':' for a missing value, '=' for a value given to an
 * option without one (cl->arg and cl->opt tell which).
 */
int cmdline_getopt(struct cmdline *cl);
/*
 * The next option of the command (optarg set), handling --help, --json,
 * positional arguments and errors itself; -1 when done: cl->status is then
 * CMDLINE_GO with cl->nargs arguments in argv[0..], or the exit status
 * after the help or a usage error was printed.
 */
int cmdline_next(struct cmdline *cl);
/* The whole command line of a command without options of its own. */
int cmdline_parse(int argc, char **argv, const char *help, int min_args,
		  int max_args);
/* A UUID argument; EXIT_OK, or EXIT_USAGE after saying why not. */
int get_uuid(const char *text, struct blksnap_uuid *id);

/* ---- commands ----------------------------------------------------------- */

int cmd_attach(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_cbtinfo(int argc, char **argv);
int cmd_readcbtmap(int argc, char **argv);
int cmd_markdirty(int argc, char **argv);
int cmd_changes(int argc, char **argv);

int cmd_snapshot_create(int argc, char **argv);
int cmd_snapshot_add(int argc, char **argv);
int cmd_snapshot_take(int argc, char **argv);
int cmd_snapshot_destroy(int argc, char **argv);
int cmd_snapshot_collect(int argc, char **argv);
int cmd_snapshot_info(int argc, char **argv);
int cmd_snapshot_watch(int argc, char **argv);

int cmd_backup(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_prune(int argc, char **argv);

#endif
