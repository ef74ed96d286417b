// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The blksnap tool's snapshot commands: snapshot create, add, take,
 * destroy, collect, info, watch.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "parse.h"
#include "tool.h"

enum { OPT_TAKE = OPT_LONG_ONLY, OPT_NO_ATTACH };

/* Add the device @dev to snapshot @id, attaching the filter first if @attach. */
static int add_device(const struct blksnap_uuid *id, const char *dev, int attach)
{
	int fd, rc = 0;

	fd = open_device(dev);
	if (fd < 0)
		return EXIT_FAIL;
	if (attach)
		rc = blksnap_filter_attach(fd, BLKSNAP_FILTER_NAME);
	if (!rc || rc == -EALREADY)	/* already attached is fine */
		rc = blksnap_snapshot_add(fd, id);
	close(fd);
	return rc < 0 ? lib_fail(dev, rc) : EXIT_OK;
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

int cmd_snapshot_create(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "storage", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'l' },
		{ "take", no_argument, NULL, OPT_TAKE },
		{ NULL, 0, NULL, 0 },
	};
	const char *storage = NULL, *limit_s = NULL;
	struct blksnap_uuid id;
	char u[BLKSNAP_UUID_STR_LEN];
	struct cmdline cl;
	uint64_t limit;
	int c, i, ctl, rc, take = 0;

	cmdline_init(&cl, argc, argv, create_help, "s:l:", longopts, 0, -1);
	while ((c = cmdline_next(&cl)) != -1) {
		switch (c) {
		case 's':
			storage = optarg;
			break;
		case 'l':
			limit_s = optarg;
			break;
		case OPT_TAKE:
			take = 1;
			break;
		}
	}
	if (cl.status != CMDLINE_GO)
		return cl.status;
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
	if (take && cl.nargs == 0)
		return usage_error("--take needs at least one device");
	ctl = open_control();
	if (ctl < 0)
		return EXIT_FAIL;
	rc = blksnap_snapshot_create(ctl, storage,
				     limit / BLKSNAP_SECTOR_SIZE + !!(limit % BLKSNAP_SECTOR_SIZE),
				     &id);
	if (rc < 0) {
		rc = lib_fail(storage, rc);
		goto out;
	}
	uuid_str(&id, u);
	for (i = 0; i < cl.nargs && !rc; i++)
		rc = add_device(&id, argv[i], 1);
	if (!rc && take) {
		rc = blksnap_snapshot_take(ctl, &id);
		if (rc < 0)
			rc = lib_fail(u, rc);
	}
	if (rc) {	/* leave no half-made snapshot behind */
		blksnap_snapshot_destroy(ctl, &id);
		goto out;
	}
	if (json_output)
		rc = json_print(json_obj("id", json_str(u), NULL));
	else
		puts(u);
out:
	close(ctl);
	return rc;
}

static const char add_help[] =
"Usage: blksnap snapshot add UUID DEVICE... [--no-attach]\n"
"\n"
"Add devices to a created snapshot that has not been taken yet. The blksnap\n"
"filter is attached first to each device that does not have it.\n"
"\n"
"Options:\n"
"  --no-attach   do not attach the filter (fail if it is not attached)\n";

int cmd_snapshot_add(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "no-attach", no_argument, NULL, OPT_NO_ATTACH },
		{ NULL, 0, NULL, 0 },
	};
	struct blksnap_uuid id;
	struct cmdline cl;
	int c, i, rc, no_attach = 0;

	cmdline_init(&cl, argc, argv, add_help, "", longopts, 2, -1);
	while ((c = cmdline_next(&cl)) != -1) {
		switch (c) {
		case OPT_NO_ATTACH:
			no_attach = 1;
			break;
		}
	}
	if (cl.status != CMDLINE_GO)
		return cl.status;
	rc = get_uuid(argv[0], &id);
	for (i = 1; i < cl.nargs && !rc; i++)
		rc = add_device(&id, argv[i], !no_attach);
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

/* A command that takes a snapshot UUID and calls @fn on the control device. */
static int uuid_cmd(int argc, char **argv, const char *help,
		    int (*fn)(int, const struct blksnap_uuid *))
{
	struct blksnap_uuid id;
	int ctl, rc;

	rc = cmdline_parse(argc, argv, help, 1, 1);
	if (rc != CMDLINE_GO)
		return rc;
	rc = get_uuid(argv[0], &id);
	if (rc)
		return rc;
	ctl = open_control();
	if (ctl < 0)
		return EXIT_FAIL;
	rc = fn(ctl, &id);
	close(ctl);
	return rc < 0 ? lib_fail(argv[0], rc) : EXIT_OK;
}

int cmd_snapshot_take(int argc, char **argv)
{
	return uuid_cmd(argc, argv, take_help, blksnap_snapshot_take);
}

int cmd_snapshot_destroy(int argc, char **argv)
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

int cmd_snapshot_collect(int argc, char **argv)
{
	struct blksnap_uuid *ids = NULL;
	char u[BLKSNAP_UUID_STR_LEN];
	json_object *list;
	uint32_t count, i;
	int ctl, rc;

	rc = cmdline_parse(argc, argv, collect_help, 0, 0);
	if (rc != CMDLINE_GO)
		return rc;
	ctl = open_control();
	if (ctl < 0)
		return EXIT_FAIL;
	rc = blksnap_snapshot_collect_all(ctl, &ids, &count);
	close(ctl);
	if (rc < 0)
		return lib_fail(NULL, rc);
	if (json_output) {
		list = json_object_new_array();
		for (i = 0; list && i < count; i++)
			json_object_array_add(list, json_str(uuid_str(&ids[i], u)));
		rc = json_print(json_obj("snapshots", list, NULL));
	} else {
		for (i = 0; i < count; i++)
			puts(uuid_str(&ids[i], u));
	}
	free(ids);
	return rc;
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

static int get_snapshot_info(int fd, void *info)
{
	return blksnap_snapshot_info(fd, info);
}

int cmd_snapshot_info(int argc, char **argv)
{
	struct blksnap_snapshotinfo si;
	char image[64] = "";
	int rc = query_device(argc, argv, info_help, get_snapshot_info, &si);

	if (rc != CMDLINE_GO)
		return rc;
	if (si.image[0])
		snprintf(image, sizeof(image), "/dev/%s", (const char *)si.image);
	if (json_output)
		return json_print(json_obj("device", json_str(argv[0]),
					   "image", json_str(image),
					   "error_code", json_s64(si.error_code), NULL));
	printf("image: %s\n", image[0] ? image : "none");
	if (si.error_code)
		printf("error: %d (%s)\n", si.error_code, errno_text(si.error_code));
	else
		printf("error: 0\n");
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

/* "/dev/vda" for 253:0, from /sys/dev/block; "" if unknown. */
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

static int print_event(const char *u, const struct blksnap_snapshot_event *ev)
{
	struct blksnap_event_corrupted c;
	json_object *obj;
	char dev[256];
	int corrupted = blksnap_event_corrupted(ev, &c) == 0, rc = EXIT_OK;

	if (corrupted)
		dev_name(c.dev_id_mj, c.dev_id_mn, dev, sizeof(dev));
	if (json_output) {
		obj = json_obj("id", json_str(u), "time", json_s64(ev->time_label),
			       "event", json_str(blksnap_event_name(ev->code)),
			       "code", json_u64(ev->code), NULL);
		if (obj && corrupted) {
			json_object_object_add(obj, "major", json_u64(c.dev_id_mj));
			json_object_object_add(obj, "minor", json_u64(c.dev_id_mn));
			json_object_object_add(obj, "device", json_str(dev));
			json_object_object_add(obj, "error_code", json_s64(c.err_code));
		}
		rc = json_print(obj);
	} else if (corrupted) {
		printf("%lld.%09lld corrupted %s %u:%u %d (%s)\n",
		       (long long)(ev->time_label / 1000000000),
		       (long long)(ev->time_label % 1000000000),
		       dev[0] ? dev : "?", c.dev_id_mj, c.dev_id_mn, c.err_code,
		       errno_text(c.err_code));
	} else {
		printf("%lld.%09lld event %u\n",
		       (long long)(ev->time_label / 1000000000),
		       (long long)(ev->time_label % 1000000000), ev->code);
	}
	fflush(stdout);
	return rc;
}

/* A snapshot that does not exist is an error, one that goes away is not. */
static int check_exists(int ctl, const struct blksnap_uuid *id, const char *u)
{
	struct blksnap_uuid *ids;
	uint32_t count, i;
	int rc, found = 0;

	rc = blksnap_snapshot_collect_all(ctl, &ids, &count);
	if (rc < 0)
		return lib_fail(NULL, rc);
	for (i = 0; i < count; i++)
		found |= blksnap_uuid_equal(&ids[i], id);
	free(ids);
	return found ? EXIT_OK : lib_fail(u, -ESRCH);
}

/*
 * Print events until a signal, the snapshot's destruction, the @deadline
 * (now_ms() time; UINT64_MAX: none) or @max_events (0: no limit).
 */
static int watch_events(int ctl, const struct blksnap_uuid *id, const char *u,
			uint64_t deadline, uint32_t max_events)
{
	struct blksnap_snapshot_event *ev = malloc(sizeof(*ev));
	uint32_t events = 0;
	int rc = EXIT_OK;

	if (!ev)
		return fail("out of memory");
	while (!stop_flag && !rc) {
		uint64_t now = now_ms();
		uint32_t slice = 1000;
		int r;

		if (now >= deadline)
			break;
		if (deadline - now < slice)
			slice = (uint32_t)(deadline - now);
		r = blksnap_snapshot_wait_event(ctl, id, slice, ev);
		if (r == -ENOENT || r == -EINTR || r == -EAGAIN)
			continue;
		if (r == -ESRCH) {
			if (json_output)
				rc = json_print(json_obj("id", json_str(u),
							 "event", json_str("gone"), NULL));
			else
				printf("snapshot %s is gone\n", u);
			break;
		}
		if (r < 0) {
			rc = lib_fail(u, r);
			break;
		}
		rc = print_event(u, ev);
		if (max_events && ++events >= max_events)
			break;
	}
	free(ev);
	return rc;
}

int cmd_snapshot_watch(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	const char *timeout_s = NULL, *count_s = NULL;
	struct blksnap_uuid id;
	struct sigaction sa;
	char u[BLKSNAP_UUID_STR_LEN];
	uint32_t timeout = 0, max_events = 0;
	struct cmdline cl;
	int c, ctl, rc;

	cmdline_init(&cl, argc, argv, watch_help, "t:n:", longopts, 1, 1);
	while ((c = cmdline_next(&cl)) != -1) {
		switch (c) {
		case 't':
			timeout_s = optarg;
			break;
		case 'n':
			count_s = optarg;
			break;
		}
	}
	if (cl.status != CMDLINE_GO)
		return cl.status;
	rc = get_uuid(argv[0], &id);
	if (rc)
		return rc;
	if (timeout_s && parse_u32(timeout_s, &timeout))
		return usage_error("invalid timeout '%s' (milliseconds)", timeout_s);
	if (count_s && (parse_u32(count_s, &max_events) || !max_events))
		return usage_error("invalid event count '%s'", count_s);
	uuid_str(&id, u);
	ctl = open_control();
	if (ctl < 0)
		return EXIT_FAIL;
	rc = check_exists(ctl, &id, u);
	if (rc)
		goto out;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: interrupt the wait */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rc = watch_events(ctl, &id, u, timeout_s ? now_ms() + timeout : UINT64_MAX,
			  max_events);
out:
	close(ctl);
	return rc;
}
