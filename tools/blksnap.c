// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * blksnap - console tool for the blksnap block-device filter: change
 * tracking (CBT) and snapshots. One command per operation; human output by
 * default, --json for scripts.
 *
 * Exit status: 0 success, 1 the operation failed, 2 usage error, 3 a full
 * backup is needed ("changes").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <blksnap/blksnap.h>
#include "parse.h"

#define TOOL_VERSION "1.0.0"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_FULL_BACKUP = 3 };

static const char *cmd_name = "blksnap";	/* for error messages */
static int json;

static void vmsg(const char *fmt, va_list ap)
{
	fprintf(stderr, "blksnap: %s: ", cmd_name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* Operation failed: print one line, return EXIT_FAIL. */
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	return EXIT_FAIL;
}

/* Bad command line: print one line, return EXIT_USAGE. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "blksnap: %s: %s (see 'blksnap %s --help')\n", cmd_name,
		buf, cmd_name);
	return EXIT_USAGE;
}

/* A library error, with its subject (device path, UUID...) if any. */
static int lib_fail(const char *subject, int rc)
{
	if (subject)
		return fail("%s: %s", subject, blksnap_strerror(rc));
	return fail("%s", blksnap_strerror(rc));
}

/* ---- JSON output -------------------------------------------------------- */

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void json_key_str(const char *key, const char *val, int comma)
{
	printf("%s\"%s\":", comma ? "," : "", key);
	json_str(val);
}

static void json_key_u64(const char *key, unsigned long long v, int comma)
{
	printf("%s\"%s\":%llu", comma ? "," : "", key, v);
}

static void json_key_s64(const char *key, long long v, int comma)
{
	printf("%s\"%s\":%lld", comma ? "," : "", key, v);
}

/* ---- option parsing ------------------------------------------------------ */

struct opt {
	const char *name;	/* long name, without "--" */
	char short_name;	/* 0 if none */
	int has_arg;
	const char **value;	/* for options with an argument */
	int *flag;		/* for flags: set to 1 */
};

/*
 * Parse @argv[1..] (argv[0] is the command word): options anywhere, "--"
 * ends them. Every command takes --help/-h and --json. Positional
 * arguments are moved to the front of @argv; returns their count, -1 after
 * printing help, or -2 after a usage error (printed).
 */
static int parse_opts(int argc, char **argv, const struct opt *opts,
		      const char *help)
{
	int i, npos = 0, only_pos = 0;

	for (i = 1; i < argc; i++) {
		char *a = argv[i];
		const struct opt *o = NULL;
		const char *val = NULL;

		if (only_pos || a[0] != '-' || a[1] == 0) {
			argv[npos++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			only_pos = 1;
			continue;
		}
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(help, stdout);
			return -1;
		}
		if (!strcmp(a, "--json")) {
			json = 1;
			continue;
		}
		if (a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);

			for (const struct opt *p = opts; p && p->name; p++)
				if (strlen(p->name) == len && !strncmp(p->name, name, len))
					o = p;
			if (o && eq) {
				if (!o->has_arg) {
					usage_error("option --%s takes no value", o->name);
					return -2;
				}
				val = eq + 1;
			}
		} else if (a[2] == 0) {
			for (const struct opt *p = opts; p && p->name; p++)
				if (p->short_name == a[1])
					o = p;
		}
		if (!o) {
			usage_error("unknown option '%s'", a);
			return -2;
		}
		if (o->has_arg) {
			if (!val) {
				if (i + 1 >= argc) {
					usage_error("option --%s needs a value", o->name);
					return -2;
				}
				val = argv[++i];
			}
			*o->value = val;
		} else {
			*o->flag = 1;
		}
	}
	return npos;
}

/* Parse options and check the number of positional arguments. */
#define PARSE(argc, argv, opts, help, min, max)				\
	do {								\
		n = parse_opts(argc, argv, opts, help);			\
		if (n == -1)						\
			return EXIT_OK;					\
		if (n == -2)						\
			return EXIT_USAGE;				\
		if (n < (min))						\
			return usage_error("missing argument");		\
		if ((max) >= 0 && n > (max))				\
			return usage_error("unexpected argument '%s'", argv[max]); \
	} while (0)

/* ---- helpers --------------------------------------------------------------- */

static int open_control(void)
{
	int fd = blksnap_open_control();

	if (fd < 0)
		lib_fail(BLKSNAP_CONTROL_PATH, fd);
	return fd;
}

static int open_device(const char *path)
{
	int fd = blksnap_open_device(path);

	if (fd < 0)
		lib_fail(path, fd);
	return fd;
}

static int get_uuid(const char *text, struct blksnap_uuid *id)
{
	if (blksnap_uuid_parse(text, id) < 0) {
		usage_error("'%s' is not a UUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
			    text);
		return -1;
	}
	return 0;
}

static const char *uuid_str(const struct blksnap_uuid *id, char buf[BLKSNAP_UUID_STR_LEN])
{
	blksnap_uuid_format(id, buf, BLKSNAP_UUID_STR_LEN);
	return buf;
}

/* Attach the blksnap filter; already attached is fine. */
static int attach_quiet(int fd)
{
	int rc = blksnap_filter_attach(fd, BLKSNAP_FILTER_NAME);

	return rc == -EALREADY ? 0 : rc;
}

/* ---- version ------------------------------------------------------------- */

static const char version_help[] =
"Usage: blksnap version [--json]\n"
"\n"
"Print the versions of the tool, of libblksnap and of the loaded blksnap\n"
"kernel module. Fails if the module is not loaded.\n"
"\n"
"Options:\n"
"  --json     print a JSON object {\"tool\", \"library\", \"module\"}\n";

static int cmd_version(int argc, char **argv)
{
	struct blksnap_version v;
	unsigned int ma, mi, pa;
	char lib[64], mod[64];
	int n, fd, rc;

	PARSE(argc, argv, NULL, version_help, 0, 0);
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
	if (json) {
		putchar('{');
		json_key_str("tool", TOOL_VERSION, 0);
		json_key_str("library", lib, 1);
		json_key_str("module", mod, 1);
		puts("}");
	} else {
		printf("tool:    %s\nlibrary: %s\nmodule:  %s\n", TOOL_VERSION, lib, mod);
	}
	return EXIT_OK;
}

/* ---- attach / detach ------------------------------------------------------ */

static const char attach_help[] =
"Usage: blksnap attach DEVICE [--filter NAME]\n"
"\n"
"Attach the blksnap filter to a block device or partition: change tracking\n"
"starts, and the device can then be added to snapshots.\n"
"\n"
"Options:\n"
"  --filter NAME   attach the filter NAME instead of \"blksnap\"\n";

static const char detach_help[] =
"Usage: blksnap detach DEVICE [--filter NAME]\n"
"\n"
"Detach the blksnap filter from a block device: change tracking stops and\n"
"the CBT data is lost.\n"
"\n"
"Options:\n"
"  --filter NAME   detach the filter NAME instead of \"blksnap\"\n";

static int attach_detach(int argc, char **argv, int attach)
{
	const char *filter = BLKSNAP_FILTER_NAME;
	const struct opt opts[] = {
		{ "filter", 0, 1, &filter, NULL },
		{ NULL, 0, 0, NULL, NULL },
	};
	int n, rc;

	PARSE(argc, argv, opts, attach ? attach_help : detach_help, 1, 1);
	rc = attach ? blksnap_filter_attach_path(argv[0], filter) :
		      blksnap_filter_detach_path(argv[0], filter);
	if (rc < 0)
		return lib_fail(argv[0], rc);
	return EXIT_OK;
}

static int cmd_attach(int argc, char **argv)
{
	return attach_detach(argc, argv, 1);
}

static int cmd_detach(int argc, char **argv)
{
	return attach_detach(argc, argv, 0);
}

/* ---- cbtinfo ----------------------------------------------------------------- */

static const char cbtinfo_help[] =
"Usage: blksnap cbtinfo DEVICE [--json]\n"
"\n"
"Print the change-tracking state of a device: capacity, CBT block size and\n"
"count, table generation UUID and change number (number of the last taken\n"
"snapshot).\n"
"\n"
"Options:\n"
"  --json     print a JSON object with the keys device, capacity (bytes),\n"
"             block_size, block_count, generation, changes_number\n";

static void print_cbtinfo(const char *dev, const struct blksnap_cbtinfo *i)
{
	char u[BLKSNAP_UUID_STR_LEN];

	uuid_str(&i->generation_id, u);
	if (json) {
		putchar('{');
		json_key_str("device", dev, 0);
		json_key_u64("capacity", i->device_capacity, 1);
		json_key_u64("block_size", i->block_size, 1);
		json_key_u64("block_count", i->block_count, 1);
		json_key_str("generation", u, 1);
		json_key_u64("changes_number", i->changes_number, 1);
		puts("}");
	} else {
		printf("device:         %s\n", dev);
		printf("capacity:       %llu bytes (%llu sectors)\n",
		       (unsigned long long)i->device_capacity,
		       (unsigned long long)(i->device_capacity / BLKSNAP_SECTOR_SIZE));
		printf("block size:     %u bytes\n", i->block_size);
		printf("block count:    %u\n", i->block_count);
		printf("generation:     %s\n", u);
		printf("changes number: %u\n", i->changes_number);
	}
}

static int cmd_cbtinfo(int argc, char **argv)
{
	struct blksnap_cbtinfo info;
	int n, fd, rc;

	PARSE(argc, argv, NULL, cbtinfo_help, 1, 1);
	fd = open_device(argv[0]);
	if (fd < 0)
		return EXIT_FAIL;
	rc = blksnap_cbtinfo(fd, &info);
	close(fd);
	if (rc < 0)
		return lib_fail(argv[0], rc);
	print_cbtinfo(argv[0], &info);
	return EXIT_OK;
}

/* ---- readcbtmap ------------------------------------------------------------- */

static const char readcbtmap_help[] =
"Usage: blksnap readcbtmap DEVICE [-o FILE] [--json]\n"
"\n"
"Read the CBT table of a device as of the last taken snapshot: one byte per\n"
"CBT block, the number of the first snapshot that contains the block's last\n"
"write (0 = not written in this generation).\n"
"\n"
"Without -o, print one line per run of equal non-zero values:\n"
"  FIRST_BLOCK+COUNT VALUE\n"
"after a comment line with the generation, change number and block size.\n"
"\n"
"Options:\n"
"  -o, --output FILE   write the raw table (block_count bytes) to FILE\n"
"                      (\"-\" = standard output) instead of the runs\n"
"  --json              print a JSON object: block_size, block_count,\n"
"                      generation, changes_number and, without -o, runs\n"
"                      [{\"block\", \"count\", \"value\"}]\n";

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int cmd_readcbtmap(int argc, char **argv)
{
	const char *out = NULL;
	const struct opt opts[] = {
		{ "output", 'o', 1, &out, NULL },
		{ NULL, 0, 0, NULL, NULL },
	};
	struct blksnap_cbtinfo info;
	char u[BLKSNAP_UUID_STR_LEN];
	uint8_t *map;
	int n, fd, rc, first = 1;
	uint32_t b, e;

	PARSE(argc, argv, opts, readcbtmap_help, 1, 1);
	if (out && json && !strcmp(out, "-"))
		return usage_error("--json and -o - both write to standard output");
	fd = open_device(argv[0]);
	if (fd < 0)
		return EXIT_FAIL;
	rc = blksnap_read_cbt(fd, &info, &map);
	close(fd);
	if (rc < 0)
		return lib_fail(argv[0], rc);
	uuid_str(&info.generation_id, u);
	if (out) {
		int ofd = strcmp(out, "-") ? open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)
					   : STDOUT_FILENO;

		if (ofd < 0) {
			rc = fail("%s: %s", out, strerror(errno));
			free(map);
			return rc;
		}
		rc = write_all(ofd, map, info.block_count);
		if (ofd != STDOUT_FILENO && close(ofd) < 0 && !rc)
			rc = -errno;
		if (rc) {
			free(map);
			return fail("%s: %s", out, strerror(-rc));
		}
	}
	if (json) {
		putchar('{');
		json_key_str("device", argv[0], 0);
		json_key_u64("block_size", info.block_size, 1);
		json_key_u64("block_count", info.block_count, 1);
		json_key_str("generation", u, 1);
		json_key_u64("changes_number", info.changes_number, 1);
		if (!out)
			fputs(",\"runs\":[", stdout);
	} else if (!out) {
		printf("# generation %s changes_number %u block_size %u block_count %u\n",
		       u, info.changes_number, info.block_size, info.block_count);
	}
	if (!out) {
		for (b = 0; b < info.block_count; b = e) {
			for (e = b + 1; e < info.block_count && map[e] == map[b]; e++)
				;
			if (!map[b])
				continue;
			if (json)
				printf("%s{\"block\":%u,\"count\":%u,\"value\":%u}",
				       first ? "" : ",", b, e - b, map[b]);
			else
				printf("%u+%u %u\n", b, e - b, map[b]);
			first = 0;
		}
		if (json)
			putchar(']');
	}
	if (json)
		puts("}");
	free(map);
	return EXIT_OK;
}

/* ---- markdirty --------------------------------------------------------------- */

static const char markdirty_help[] =
"Usage: blksnap markdirty DEVICE RANGES...\n"
"       blksnap markdirty DEVICE --file FILE\n"
"\n"
"Mark sector ranges of a device as changed, so that the next incremental\n"
"backup copies them again (for example after restoring data to them).\n"
"\n"
"RANGES is a comma-separated list (several arguments may be given) of\n"
"ranges in 512-byte sectors, numbers decimal or 0x-hexadecimal:\n"
"  START+COUNT   COUNT sectors from START (COUNT >= 1)\n"
"  START-END     sectors START to END, both included\n"
"  START         the single sector START\n"
"\n"
"Options:\n"
"  -f, --file FILE   read the ranges from FILE (\"-\" = standard input): range\n"
"                    lists one or more per line, '#' starts a comment;\n"
"                    the output of 'blksnap changes' is accepted\n";

static int cmd_markdirty(int argc, char **argv)
{
	const char *file = NULL;
	const struct opt opts[] = {
		{ "file", 'f', 1, &file, NULL },
		{ NULL, 0, 0, NULL, NULL },
	};
	struct range_vec rv = { 0 };
	int n, i, fd, rc;

	PARSE(argc, argv, opts, markdirty_help, 1, -1);
	if (file && n > 1)
		return usage_error("give either RANGES or --file, not both");
	if (!file && n < 2)
		return usage_error("missing ranges");
	for (i = 1; i < n; i++) {
		rc = parse_range_list(argv[i], &rv);
		if (rc) {
			range_vec_free(&rv);
			return usage_error("invalid range list '%s'%s", argv[i],
					   rc == -ERANGE ? ": number too big" : "");
		}
	}
	if (file) {
		FILE *f = strcmp(file, "-") ? fopen(file, "re") : stdin;
		unsigned long line = 0;

		if (!f)
			return fail("%s: %s", file, strerror(errno));
		rc = parse_range_file(f, &rv, &line);
		if (f != stdin)
			fclose(f);
		if (rc) {
			range_vec_free(&rv);
			if (rc == -EIO)
				return fail("%s: read error", file);
			return fail("%s:%lu: invalid range list", file, line);
		}
		if (!rv.n)
			return fail("%s: no ranges", file);
	}
	if (rv.n > UINT32_MAX) {
		range_vec_free(&rv);
		return fail("too many ranges");
	}
	fd = open_device(argv[0]);
	if (fd < 0) {
		range_vec_free(&rv);
		return EXIT_FAIL;
	}
	rc = blksnap_cbtdirty(fd, rv.v, (uint32_t)rv.n);
	close(fd);
	range_vec_free(&rv);
	if (rc < 0)
		return lib_fail(argv[0], rc);
	return EXIT_OK;
}

/* ---- changes -------------------------------------------------------------------- */

static const char changes_help[] =
"Usage: blksnap changes DEVICE --since N [--generation UUID] [--json]\n"
"\n"
"List the sector ranges of DEVICE changed since snapshot number N of CBT\n"
"generation UUID, as of the last taken snapshot: what an incremental backup\n"
"of the current snapshot must copy. One range per line, START+COUNT in\n"
"512-byte sectors, adjacent blocks merged, clipped to the device size.\n"
"\n"
"If the generation differs or N is newer than the device's change number,\n"
"nothing is listed, the message \"full backup needed\" is printed and the\n"
"exit status is 3.\n"
"\n"
"Options:\n"
"  --since N           change number of the previous backup (0-255); the\n"
"                      changes_number printed by 'blksnap cbtinfo' then\n"
"  --generation UUID   generation of the previous backup; without it the\n"
"                      generation is not checked (not recommended)\n"
"  --json              print a JSON object: generation, changes_number,\n"
"                      since, full_backup, sectors (total), ranges\n"
"                      [{\"offset\", \"count\"}]\n";

static int cmd_changes(int argc, char **argv)
{
	const char *since_s = NULL, *gen_s = NULL;
	const struct opt opts[] = {
		{ "since", 0, 1, &since_s, NULL },
		{ "generation", 0, 1, &gen_s, NULL },
		{ NULL, 0, 0, NULL, NULL },
	};
	struct blksnap_uuid gen;
	struct blksnap_cbtinfo info;
	struct blksnap_sectors *r;
	char u[BLKSNAP_UUID_STR_LEN];
	unsigned long long total = 0;
	size_t count, i;
	uint32_t since;
	int n, fd, rc;

	PARSE(argc, argv, opts, changes_help, 1, 1);
	if (!since_s)
		return usage_error("--since is required");
	if (parse_u32(since_s, &since) || since > 255)
		return usage_error("invalid change number '%s' (0-255)", since_s);
	if (gen_s && get_uuid(gen_s, &gen))
		return EXIT_USAGE;
	fd = open_device(argv[0]);
	if (fd < 0)
		return EXIT_FAIL;
	rc = blksnap_changes_since(fd, gen_s ? &gen : NULL, since, &info, &r, &count);
	close(fd);
	if (rc < 0)
		return lib_fail(argv[0], rc);
	uuid_str(&info.generation_id, u);
	for (i = 0; i < count; i++)
		total += r[i].count;
	if (json) {
		putchar('{');
		json_key_str("device", argv[0], 0);
		json_key_str("generation", u, 1);
		json_key_u64("changes_number", info.changes_number, 1);
		json_key_u64("since", since, 1);
		printf(",\"full_backup\":%s", rc == BLKSNAP_FULL_BACKUP_NEEDED ? "true" : "false");
		json_key_u64("sectors", total, 1);
		fputs(",\"ranges\":[", stdout);
		for (i = 0; i < count; i++)
			printf("%s{\"offset\":%llu,\"count\":%llu}", i ? "," : "",
			       (unsigned long long)r[i].offset,
			       (unsigned long long)r[i].count);
		puts("]}");
	} else {
		for (i = 0; i < count; i++)
			printf("%llu+%llu\n", (unsigned long long)r[i].offset,
			       (unsigned long long)r[i].count);
	}
	free(r);
	if (rc == BLKSNAP_FULL_BACKUP_NEEDED) {
		fail("%s: full backup needed: the device is at generation %s, change number %u",
		     argv[0], u, info.changes_number);
		return EXIT_FULL_BACKUP;
	}
	return EXIT_OK;
}

/* ---- snapshot create / add / take / destroy ------------------------------------ */

static const char create_help[] =
"Usage: blksnap snapshot create --storage PATH --limit SIZE [--take] [DEVICE...]\n"
"\n"
"Create a snapshot and print its UUID. Each DEVICE given gets the blksnap\n"
"filter attached (if it is not yet) and is added to the snapshot; if that\n"
"fails, the snapshot is destroyed again.\n"
"\n"
"Options:\n"
"  -s, --storage PATH   difference storage: a block device, a regular file\n"
"                       or a directory (an unnamed temporary file is created\n"
"                       there and vanishes with the snapshot)\n"
"  -l, --limit SIZE     maximum size of the difference storage: a number of\n"
"                       bytes with an optional suffix K, M, G, T, P (powers\n"
"                       of 1024, e.g. 512M, 2GiB) or s (512-byte sectors);\n"
"                       rounded up to whole sectors\n"
"  --take               also take the snapshot (needs at least one DEVICE)\n"
"  --json               print {\"id\": UUID}\n";

static int do_add(int ctl, const struct blksnap_uuid *id, const char *dev, int attach)
{
	int fd, rc;

	(void)ctl;
	fd = open_device(dev);
	if (fd < 0)
		return EXIT_FAIL;
	rc = attach ? attach_quiet(fd) : 0;
	if (!rc)
		rc = blksnap_snapshot_add(fd, id);
	close(fd);
	if (rc < 0)
		return lib_fail(dev, rc);
	return EXIT_OK;
}

static int cmd_create(int argc, char **argv)
{
	const char *storage = NULL, *limit_s = NULL;
	int take = 0;
	const struct opt opts[] = {
		{ "storage", 's', 1, &storage, NULL },
		{ "limit", 'l', 1, &limit_s, NULL },
		{ "take", 0, 0, NULL, &take },
		{ NULL, 0, 0, NULL, NULL },
	};
	struct blksnap_uuid id;
	char u[BLKSNAP_UUID_STR_LEN];
	uint64_t limit;
	int n, i, ctl, rc;

	PARSE(argc, argv, opts, create_help, 0, -1);
	if (!storage)
		return usage_error("--storage is required");
	if (!limit_s)
		return usage_error("--limit is required");
	rc = parse_size(limit_s, &limit);
	if (rc)
		return usage_error("invalid size '%s'%s", limit_s,
				   rc == -ERANGE ? ": too big" : "");
	if (limit == 0)
		return usage_error("the limit must not be zero");
	if (take && n == 0)
		return usage_error("--take needs at least one device");
	ctl = open_control();
	if (ctl < 0)
		return EXIT_FAIL;
	rc = blksnap_snapshot_create(ctl, storage,
				     limit / BLKSNAP_SECTOR_SIZE + !!(limit % BLKSNAP_SECTOR_SIZE),
				     &id);
	if (rc < 0) {
		close(ctl);
		return lib_fail(storage, rc);
	}
	uuid_str(&id, u);
	for (i = 0; i < n; i++) {
		rc = do_add(ctl, &id, argv[i], 1);
		if (rc)
			break;
	}
	if (!rc && take) {
		rc = blksnap_snapshot_take(ctl, &id);
		if (rc < 0)
			rc = lib_fail(u, rc);
	}
	if (rc) {
		blksnap_snapshot_destroy(ctl, &id);
		close(ctl);
		return rc;
	}
	close(ctl);
	if (json) {
		putchar('{');
		json_key_str("id", u, 0);
		puts("}");
	} else {
		puts(u);
	}
	return EXIT_OK;
}

static const char add_help[] =
"Usage: blksnap snapshot add UUID DEVICE... [--no-attach]\n"
"\n"
"Add devices to a created snapshot that has not been taken yet. The blksnap\n"
"filter is attached first to each device that does not have it.\n"
"\n"
"Options:\n"
"  --no-attach   do not attach the filter (fail if it is not attached)\n";

static int cmd_add(int argc, char **argv)
{
	int no_attach = 0;
	const struct opt opts[] = {
		{ "no-attach", 0, 0, NULL, &no_attach },
		{ NULL, 0, 0, NULL, NULL },
	};
	struct blksnap_uuid id;
	int n, i, rc = 0;

	PARSE(argc, argv, opts, add_help, 2, -1);
	if (get_uuid(argv[0], &id))
		return EXIT_USAGE;
	for (i = 1; i < n && !rc; i++)
		rc = do_add(-1, &id, argv[i], !no_attach);
	return rc;
}

static const char take_help[] =
"Usage: blksnap snapshot take UUID\n"
"\n"
"Take the snapshot: all its devices are frozen, captured at one instant and\n"
"thawed; then the image devices /dev/blksnap-image_MAJOR:MINOR appear (see\n"
"'blksnap snapshot info DEVICE').\n";

static const char destroy_help[] =
"Usage: blksnap snapshot destroy UUID\n"
"\n"
"Destroy the snapshot: its images disappear and its difference storage is\n"
"released. The filters stay attached and change tracking goes on.\n";

static int uuid_cmd(int argc, char **argv, const char *help,
		    int (*fn)(int, const struct blksnap_uuid *))
{
	struct blksnap_uuid id;
	int n, ctl, rc;

	PARSE(argc, argv, NULL, help, 1, 1);
	if (get_uuid(argv[0], &id))
		return EXIT_USAGE;
	ctl = open_control();
	if (ctl < 0)
		return EXIT_FAIL;
	rc = fn(ctl, &id);
	close(ctl);
	if (rc < 0)
		return lib_fail(argv[0], rc);
	return EXIT_OK;
}

static int cmd_take(int argc, char **argv)
{
	return uuid_cmd(argc, argv, take_help, blksnap_snapshot_take);
}

static int cmd_destroy(int argc, char **argv)
{
	return uuid_cmd(argc, argv, destroy_help, blksnap_snapshot_destroy);
}

/* ---- snapshot collect / info --------------------------------------------------- */

static const char collect_help[] =
"Usage: blksnap snapshot collect [--json]\n"
"\n"
"List the UUIDs of all snapshots, one per line.\n"
"\n"
"Options:\n"
"  --json     print {\"snapshots\": [UUID...]}\n";

static int cmd_collect(int argc, char **argv)
{
	struct blksnap_uuid *ids;
	char u[BLKSNAP_UUID_STR_LEN];
	uint32_t count, i;
	int n, ctl, rc;

	PARSE(argc, argv, NULL, collect_help, 0, 0);
	ctl = open_control();
	if (ctl < 0)
		return EXIT_FAIL;
	rc = blksnap_snapshot_collect_all(ctl, &ids, &count);
	close(ctl);
	if (rc < 0)
		return lib_fail(NULL, rc);
	if (json)
		fputs("{\"snapshots\":[", stdout);
	for (i = 0; i < count; i++) {
		uuid_str(&ids[i], u);
		if (json) {
			if (i)
				putchar(',');
			json_str(u);
		} else {
			puts(u);
		}
	}
	if (json)
		puts("]}");
	free(ids);
	return EXIT_OK;
}

static const char info_help[] =
"Usage: blksnap snapshot info DEVICE [--json]\n"
"\n"
"Print the snapshot state of a device: the image device of its taken\n"
"snapshot (\"none\" if there is none) and the snapshot's error (0, or the\n"
"error that corrupted it, e.g. -28 when the difference storage overflowed).\n"
"\n"
"Options:\n"
"  --json     print {\"device\", \"image\" (path or \"\"), \"error_code\"}\n";

static int cmd_info(int argc, char **argv)
{
	struct blksnap_snapshotinfo si;
	char image[64] = "";
	int n, fd, rc;

	PARSE(argc, argv, NULL, info_help, 1, 1);
	fd = open_device(argv[0]);
	if (fd < 0)
		return EXIT_FAIL;
	rc = blksnap_snapshotinfo(fd, &si);
	close(fd);
	if (rc < 0)
		return lib_fail(argv[0], rc);
	if (si.image[0])
		snprintf(image, sizeof(image), "/dev/%s", (const char *)si.image);
	if (json) {
		putchar('{');
		json_key_str("device", argv[0], 0);
		json_key_str("image", image, 1);
		json_key_s64("error_code", si.error_code, 1);
		puts("}");
	} else {
		printf("image: %s\n", image[0] ? image : "none");
		if (si.error_code) {
			const char *m = strerrordesc_np(si.error_code < 0 ?
							-si.error_code : si.error_code);

			printf("error: %d (%s)\n", si.error_code, m ? m : "unknown error");
		} else {
			printf("error: 0\n");
		}
	}
	return EXIT_OK;
}

/* ---- snapshot watch ---------------------------------------------------------------- */

static const char watch_help[] =
"Usage: blksnap snapshot watch UUID [--timeout MS] [--count N] [--json]\n"
"\n"
"Print the events of a snapshot as they arrive, one per line:\n"
"  SECONDS corrupted DEVICE MAJOR:MINOR ERROR (MESSAGE)\n"
"until interrupted (Ctrl-C), until the snapshot is destroyed, or until a\n"
"limit below is reached; all of these end with exit status 0.\n"
"\n"
"Options:\n"
"  -t, --timeout MS   stop after MS milliseconds (default: no limit)\n"
"  -n, --count N      stop after N events\n"
"  --json             one JSON object per line: {\"id\", \"time\" (ns),\n"
"                     \"event\", \"code\"} plus \"major\", \"minor\",\n"
"                     \"device\", \"error_code\" for corrupted events; the last\n"
"                     line is {\"id\", \"event\":\"gone\"} if the snapshot\n"
"                     was destroyed\n";

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* "vda" for 253:0, from /sys/dev/block; "" if unknown. */
static void dev_name(unsigned int mj, unsigned int mn, char *buf, size_t size)
{
	char path[64], link[PATH_MAX];
	ssize_t len;
	const char *base;

	buf[0] = 0;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u", mj, mn);
	len = readlink(path, link, sizeof(link) - 1);
	if (len <= 0)
		return;
	link[len] = 0;
	base = strrchr(link, '/');
	snprintf(buf, size, "/dev/%.200s", base ? base + 1 : link);
}

static void print_event(const char *u, const struct blksnap_snapshot_event *ev)
{
	struct blksnap_event_corrupted c;
	char dev[256];
	int corrupted = blksnap_event_corrupted(ev, &c) == 0;

	if (corrupted)
		dev_name(c.dev_id_mj, c.dev_id_mn, dev, sizeof(dev));
	if (json) {
		putchar('{');
		json_key_str("id", u, 0);
		json_key_s64("time", ev->time_label, 1);
		json_key_str("event", blksnap_event_name(ev->code), 1);
		json_key_u64("code", ev->code, 1);
		if (corrupted) {
			json_key_u64("major", c.dev_id_mj, 1);
			json_key_u64("minor", c.dev_id_mn, 1);
			json_key_str("device", dev, 1);
			json_key_s64("error_code", c.err_code, 1);
		}
		puts("}");
	} else if (corrupted) {
		const char *m = strerrordesc_np(c.err_code < 0 ? -c.err_code : c.err_code);

		printf("%lld.%09lld corrupted %s %u:%u %d (%s)\n",
		       (long long)(ev->time_label / 1000000000),
		       (long long)(ev->time_label % 1000000000),
		       dev[0] ? dev : "?", c.dev_id_mj, c.dev_id_mn, c.err_code,
		       m ? m : "unknown error");
	} else {
		printf("%lld.%09lld event %u\n",
		       (long long)(ev->time_label / 1000000000),
		       (long long)(ev->time_label % 1000000000), ev->code);
	}
	fflush(stdout);
}

static int cmd_watch(int argc, char **argv)
{
	const char *timeout_s = NULL, *count_s = NULL;
	const struct opt opts[] = {
		{ "timeout", 't', 1, &timeout_s, NULL },
		{ "count", 'n', 1, &count_s, NULL },
		{ NULL, 0, 0, NULL, NULL },
	};
	struct blksnap_snapshot_event *ev;
	struct blksnap_uuid id, *ids;
	struct sigaction sa;
	char u[BLKSNAP_UUID_STR_LEN];
	uint32_t timeout = 0, max_events = 0, events = 0, count, i;
	uint64_t deadline = 0;
	int n, ctl, rc, found = 0;

	PARSE(argc, argv, opts, watch_help, 1, 1);
	if (get_uuid(argv[0], &id))
		return EXIT_USAGE;
	if (timeout_s && parse_u32(timeout_s, &timeout))
		return usage_error("invalid timeout '%s' (milliseconds)", timeout_s);
	if (count_s && (parse_u32(count_s, &max_events) || !max_events))
		return usage_error("invalid event count '%s'", count_s);
	uuid_str(&id, u);
	ctl = open_control();
	if (ctl < 0)
		return EXIT_FAIL;
	/* A snapshot that does not exist is an error, one that goes away is not. */
	rc = blksnap_snapshot_collect_all(ctl, &ids, &count);
	if (rc < 0) {
		close(ctl);
		return lib_fail(NULL, rc);
	}
	for (i = 0; i < count; i++)
		found |= blksnap_uuid_equal(&ids[i], &id);
	free(ids);
	if (!found) {
		close(ctl);
		return lib_fail(u, -ESRCH);
	}
	ev = malloc(sizeof(*ev));
	if (!ev) {
		close(ctl);
		return fail("out of memory");
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: interrupt the wait */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (timeout_s)
		deadline = now_ms() + timeout;
	rc = EXIT_OK;
	while (!stop_flag) {
		uint32_t slice = 1000;
		int r;

		if (timeout_s) {
			uint64_t now = now_ms();

			if (now >= deadline)
				break;
			if (deadline - now < slice)
				slice = (uint32_t)(deadline - now);
		}
		r = blksnap_snapshot_wait_event(ctl, &id, slice, ev);
		if (r == -ENOENT || r == -EINTR || r == -EAGAIN)
			continue;
		if (r == -ESRCH) {
			if (json) {
				putchar('{');
				json_key_str("id", u, 0);
				json_key_str("event", "gone", 1);
				puts("}");
			} else {
				printf("snapshot %s is gone\n", u);
			}
			break;
		}
		if (r < 0) {
			rc = lib_fail(u, r);
			break;
		}
		print_event(u, ev);
		if (max_events && ++events >= max_events)
			break;
	}
	free(ev);
	close(ctl);
	return rc;
}

/* ---- command table ------------------------------------------------------------- */

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command snapshot_cmds[] = {
	{ "create", cmd_create, "create a snapshot (and add devices); prints its UUID" },
	{ "add", cmd_add, "add devices to a created snapshot" },
	{ "take", cmd_take, "take a snapshot: images appear" },
	{ "destroy", cmd_destroy, "destroy a snapshot: images go away" },
	{ "collect", cmd_collect, "list snapshot UUIDs" },
	{ "info", cmd_info, "image name and error state of a device's snapshot" },
	{ "watch", cmd_watch, "print a snapshot's events" },
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
	{ NULL, NULL, NULL },
};

static void list_commands(FILE *f, const char *prefix, const struct command *c)
{
	for (; c->name; c++)
		fprintf(f, "  %s%-*s %s\n", prefix, 20 - (int)strlen(prefix), c->name,
			c->summary);
}

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

static const struct command *find(const struct command *c, const char *name)
{
	for (; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

static char snap_name[64];

static int cmd_snapshot(int argc, char **argv)
{
	const struct command *c;

	if (argc < 2) {
		return usage_error("missing snapshot command (create, add, take, destroy, "
				   "collect, info, watch)");
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs("Usage: blksnap snapshot COMMAND [ARGS...]\n\nCommands:\n", stdout);
		list_commands(stdout, "", snapshot_cmds);
		fputs("\nSee 'blksnap snapshot COMMAND --help'.\n", stdout);
		return EXIT_OK;
	}
	c = find(snapshot_cmds, argv[1]);
	if (!c)
		return usage_error("unknown snapshot command '%s'", argv[1]);
	snprintf(snap_name, sizeof(snap_name), "snapshot %s", c->name);
	cmd_name = snap_name;
	return c->fn(argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
	const struct command *c;
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			main_help(stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--version")) {
			printf("blksnap %s\n", TOOL_VERSION);
			return EXIT_OK;
		} else {
			fprintf(stderr, "blksnap: unknown option '%s' (see 'blksnap --help')\n",
				argv[i]);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		main_help(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[i], "help")) {
		if (i + 1 < argc) {
			char *hargv[] = { argv[i + 1], (char *)"--help", NULL };
			char *sargv[] = { argv[i + 1], argv[i + 2 < argc ? i + 2 : i + 1],
					  (char *)"--help", NULL };

			c = find(commands, argv[i + 1]);
			if (!c) {
				fprintf(stderr, "blksnap: help: unknown command '%s'\n", argv[i + 1]);
				return EXIT_USAGE;
			}
			cmd_name = c->name;
			if (c->fn == cmd_snapshot && i + 2 < argc)
				return cmd_snapshot(3, sargv);
			return c->fn(2, hargv);
		}
		main_help(stdout);
		return EXIT_OK;
	}
	c = find(commands, argv[i]);
	if (!c) {
		fprintf(stderr, "blksnap: unknown command '%s' (see 'blksnap --help')\n", argv[i]);
		return EXIT_USAGE;
	}
	cmd_name = c->name;
	return c->fn(argc - i, argv + i);
}
