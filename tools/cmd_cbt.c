// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The blksnap tool's per-device change-tracking commands: attach, detach,
 * cbtinfo, readcbtmap, markdirty, changes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "parse.h"
#include "tool.h"

enum { OPT_FILTER = OPT_LONG_ONLY, OPT_SINCE, OPT_GENERATION };

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

static int attach_detach(int argc, char **argv, const char *help, int attach)
{
	static const struct option longopts[] = {
		{ "filter", required_argument, NULL, OPT_FILTER },
		{ NULL, 0, NULL, 0 },
	};
	const char *filter = BLKSNAP_FILTER_NAME;
	struct cmdline cl;
	int c, rc;

	cmdline_init(&cl, argc, argv, help, "", longopts, 1, 1);
	while ((c = cmdline_next(&cl)) != -1) {
		switch (c) {
		case OPT_FILTER:
			filter = optarg;
			break;
		}
	}
	if (cl.status != CMDLINE_GO)
		return cl.status;
	rc = attach ? blksnap_filter_attach_path(argv[0], filter) :
		      blksnap_filter_detach_path(argv[0], filter);
	return rc < 0 ? lib_fail(argv[0], rc) : EXIT_OK;
}

int cmd_attach(int argc, char **argv)
{
	return attach_detach(argc, argv, attach_help, 1);
}

int cmd_detach(int argc, char **argv)
{
	return attach_detach(argc, argv, detach_help, 0);
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

static int print_cbtinfo(const char *dev, const struct blksnap_cbtinfo *i)
{
	char u[BLKSNAP_UUID_STR_LEN];

	uuid_str(&i->generation_id, u);
	if (json_output)
		return json_print(json_obj("device", json_str(dev),
					   "capacity", json_u64(i->device_capacity),
					   "block_size", json_u64(i->block_size),
					   "block_count", json_u64(i->block_count),
					   "generation", json_str(u),
					   "changes_number", json_u64(i->changes_number),
					   NULL));
	printf("device:         %s\n", dev);
	printf("capacity:       %llu bytes (%llu sectors)\n",
	       (unsigned long long)i->device_capacity,
	       (unsigned long long)(i->device_capacity / BLKSNAP_SECTOR_SIZE));
	printf("block size:     %u bytes\n", i->block_size);
	printf("block count:    %u\n", i->block_count);
	printf("generation:     %s\n", u);
	printf("changes number: %u\n", i->changes_number);
	return EXIT_OK;
}

static int get_cbtinfo(int fd, void *info)
{
	return blksnap_cbtinfo(fd, info);
}

int cmd_cbtinfo(int argc, char **argv)
{
	struct blksnap_cbtinfo info;
	int rc = query_device(argc, argv, cbtinfo_help, get_cbtinfo, &info);

	return rc != CMDLINE_GO ? rc : print_cbtinfo(argv[0], &info);
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

/* A CBT table, and the end of the run of equal values from block @b. */
struct cbt_table {
	const uint8_t *map;
	uint32_t count;
};

static uint32_t run_end(const struct cbt_table *t, uint32_t b)
{
	uint32_t e;

	for (e = b + 1; e < t->count && t->map[e] == t->map[b]; e++)
		;
	return e;
}

/* json_next_fn: the next run of non-zero values, {"block","count","value"}. */
static json_object *next_run(const void *data, size_t *pos)
{
	const struct cbt_table *t = data;
	uint32_t b, e;

	for (b = (uint32_t)*pos; b < t->count; b = e) {
		e = run_end(t, b);
		if (t->map[b]) {
			*pos = e;
			return json_obj("block", json_u64(b), "count", json_u64(e - b),
					"value", json_u64(t->map[b]), NULL);
		}
	}
	*pos = b;
	return NULL;
}

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

/* The raw table into the file @out ("-": standard output). */
static int write_table(const char *out, const struct cbt_table *t)
{
	int fd = strcmp(out, "-") ? open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) :
				    STDOUT_FILENO;
	int rc;

	if (fd < 0)
		return fail("%s: %s", out, strerror(errno));
	rc = write_all(fd, t->map, t->count);
	if (fd != STDOUT_FILENO && close(fd) < 0 && !rc)
		rc = -errno;
	return rc ? fail("%s: %s", out, strerror(-rc)) : EXIT_OK;
}

/* The information, and the runs unless the table went to a file (@out). */
static int print_table(const char *dev, const struct blksnap_cbtinfo *info,
		       const struct cbt_table *t, const char *out)
{
	char u[BLKSNAP_UUID_STR_LEN];
	json_object *obj;
	uint32_t b, e;

	uuid_str(&info->generation_id, u);
	if (json_output) {
		obj = json_obj("device", json_str(dev),
			       "block_size", json_u64(info->block_size),
			       "block_count", json_u64(info->block_count),
			       "generation", json_str(u),
			       "changes_number", json_u64(info->changes_number), NULL);
		if (obj && !out)
			json_object_object_add(obj, "runs", json_lazy_array(next_run, t));
		return json_print(obj);
	}
	if (out)
		return EXIT_OK;
	printf("# generation %s changes_number %u block_size %u block_count %u\n",
	       u, info->changes_number, info->block_size, info->block_count);
	for (b = 0; b < t->count; b = e) {
		e = run_end(t, b);
		if (t->map[b])
			printf("%u+%u %u\n", b, e - b, t->map[b]);
	}
	return EXIT_OK;
}

int cmd_readcbtmap(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	struct blksnap_cbtinfo info;
	struct cbt_table table;
	uint8_t *map = NULL;
	struct cmdline cl;
	int c, fd, rc;

	cmdline_init(&cl, argc, argv, readcbtmap_help, "o:", longopts, 1, 1);
	while ((c = cmdline_next(&cl)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		}
	}
	if (cl.status != CMDLINE_GO)
		return cl.status;
	if (out && json_output && !strcmp(out, "-"))
		return usage_error("--json and -o - both write to standard output");
	fd = open_device(argv[0]);
	if (fd < 0)
		return EXIT_FAIL;
	rc = blksnap_read_cbt(fd, &info, &map);
	close(fd);
	if (rc < 0) {
		rc = lib_fail(argv[0], rc);
		goto out;
	}
	table.map = map;
	table.count = info.block_count;
	if (out) {
		rc = write_table(out, &table);
		if (rc)
			goto out;
	}
	rc = print_table(argv[0], &info, &table, out);
out:
	free(map);
	return rc;
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

/* Ranges from the file @file ("-": standard input), appended to @rv. */
static int read_range_file(const char *file, struct range_vec *rv)
{
	FILE *f = strcmp(file, "-") ? fopen(file, "re") : stdin;
	unsigned long line = 0;
	int rc;

	if (!f)
		return fail("%s: %s", file, strerror(errno));
	rc = parse_range_file(f, rv, &line);
	if (f != stdin)
		fclose(f);
	if (rc == -EIO)
		return fail("%s: read error", file);
	if (rc)
		return fail("%s:%lu: invalid range list", file, line);
	if (!rv->n)
		return fail("%s: no ranges", file);
	return EXIT_OK;
}

int cmd_markdirty(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = NULL;
	struct range_vec rv = { 0 };
	struct cmdline cl;
	int c, i, fd, rc;

	cmdline_init(&cl, argc, argv, markdirty_help, "f:", longopts, 1, -1);
	while ((c = cmdline_next(&cl)) != -1) {
		switch (c) {
		case 'f':
			file = optarg;
			break;
		}
	}
	if (cl.status != CMDLINE_GO)
		return cl.status;
	if (file && cl.nargs > 1)
		return usage_error("give either RANGES or --file, not both");
	if (!file && cl.nargs < 2)
		return usage_error("missing ranges");
	for (i = 1; i < cl.nargs; i++) {
		rc = parse_range_list(argv[i], &rv);
		if (rc) {
			rc = usage_error("invalid range list '%s'%s", argv[i],
					 rc == -ERANGE ? ": number too big" : "");
			goto out;
		}
	}
	if (file) {
		rc = read_range_file(file, &rv);
		if (rc)
			goto out;
	}
	if (rv.n > UINT32_MAX) {
		rc = fail("too many ranges");
		goto out;
	}
	fd = open_device(argv[0]);
	if (fd < 0) {
		rc = EXIT_FAIL;
		goto out;
	}
	rc = blksnap_cbtdirty(fd, rv.v, (uint32_t)rv.n);
	close(fd);
	rc = rc < 0 ? lib_fail(argv[0], rc) : EXIT_OK;
out:
	range_vec_free(&rv);
	return rc;
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

/* The changed ranges of a device. */
struct changes {
	const struct blksnap_sectors *r;
	size_t count;
};

/* json_next_fn: the next range, {"offset","count"}. */
static json_object *next_range(const void *data, size_t *pos)
{
	const struct changes *ch = data;
	const struct blksnap_sectors *r;

	if (*pos >= ch->count)
		return NULL;
	r = &ch->r[(*pos)++];
	return json_obj("offset", json_u64(r->offset), "count", json_u64(r->count), NULL);
}

static int print_changes(const char *dev, const struct blksnap_cbtinfo *info,
			 const char *gen, uint32_t since, int full,
			 const struct changes *ch)
{
	uint64_t total = 0;
	size_t i;

	if (!json_output) {
		for (i = 0; i < ch->count; i++)
			printf("%llu+%llu\n", (unsigned long long)ch->r[i].offset,
			       (unsigned long long)ch->r[i].count);
		return EXIT_OK;
	}
	for (i = 0; i < ch->count; i++)
		total += ch->r[i].count;
	return json_print(json_obj("device", json_str(dev),
				   "generation", json_str(gen),
				   "changes_number", json_u64(info->changes_number),
				   "since", json_u64(since),
				   "full_backup", json_object_new_boolean(full),
				   "sectors", json_u64(total),
				   "ranges", json_lazy_array(next_range, ch), NULL));
}

int cmd_changes(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "generation", required_argument, NULL, OPT_GENERATION },
		{ NULL, 0, NULL, 0 },
	};
	const char *since_s = NULL, *gen_s = NULL;
	struct blksnap_uuid gen;
	struct blksnap_cbtinfo info;
	struct blksnap_sectors *r = NULL;
	struct changes ch;
	char u[BLKSNAP_UUID_STR_LEN];
	struct cmdline cl;
	uint32_t since;
	int c, fd, rc, full;

	cmdline_init(&cl, argc, argv, changes_help, "", longopts, 1, 1);
	while ((c = cmdline_next(&cl)) != -1) {
		switch (c) {
		case OPT_SINCE:
			since_s = optarg;
			break;
		case OPT_GENERATION:
			gen_s = optarg;
			break;
		}
	}
	if (cl.status != CMDLINE_GO)
		return cl.status;
	if (!since_s)
		return usage_error("--since is required");
	if (parse_u32(since_s, &since) || since > 255)
		return usage_error("invalid change number '%s' (0-255)", since_s);
	if (gen_s) {
		rc = get_uuid(gen_s, &gen);
		if (rc)
			return rc;
	}
	fd = open_device(argv[0]);
	if (fd < 0)
		return EXIT_FAIL;
	rc = blksnap_changes_since(fd, gen_s ? &gen : NULL, since, &info, &r, &ch.count);
	close(fd);
	if (rc < 0)
		return lib_fail(argv[0], rc);
	full = rc == BLKSNAP_FULL_BACKUP_NEEDED;
	ch.r = r;
	uuid_str(&info.generation_id, u);
	rc = print_changes(argv[0], &info, u, since, full, &ch);
	free(r);
	if (!rc && full) {
		fail("%s: full backup needed: the device is at generation %s, change number %u",
		     argv[0], u, info.changes_number);
		rc = EXIT_FULL_BACKUP;
	}
	return rc;
}
