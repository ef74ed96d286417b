// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The blksnap tool's backup commands: backup, restore, verify, list, prune.
 * They drive a backup repository (repo.c, docs/backup-format.md) with the
 * module's snapshots and change tracking: a backup takes one snapshot of
 * all its devices, copies their images (only the changed blocks when the
 * previous point's change history can be trusted) and destroys it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <linux/fs.h>
#include "parse.h"
#include "repo.h"
#include "tool.h"

enum {
	OPT_TO = OPT_LONG_ONLY, OPT_FULL, OPT_POINT, OPT_KEEP,
	OPT_BLOCK_SIZE,
};

/* What a backup leaves in the repository while its snapshot exists. */
#define SNAPSHOT_FILE	".backup-snapshot"
#define DEFAULT_BLOCK	(64u << 10)
#define MAX_DEVICES	64

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* SIGINT, SIGTERM, SIGHUP end the command through its own cleanup. */
static void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static int repo_fail(const char *msg)
{
	return fail("%s", msg);
}

/* Open the repository @dir; with @create, make it first if it is new. */
static int open_repo(const char *dir, int create, struct repo **repo)
{
	char msg[REPO_MSG_SIZE], msg2[REPO_MSG_SIZE];
	int rc = repo_open(dir, repo, msg);

	if (rc == -ENOENT && create) {
		if (repo_create(dir, msg2))
			return repo_fail(strstr(msg2, "not empty") ? msg : msg2);
		if (!json_output)
			fprintf(stderr, "blksnap: %s: created the repository %s\n", cmd_name, dir);
		rc = repo_open(dir, repo, msg);
	}
	return rc ? repo_fail(msg) : EXIT_OK;
}

/* One JSON object a line on stderr (progress and notes), released. */
static void json_line_stderr(json_object *obj)
{
	if (!obj)
		return;
	fprintf(stderr, "%s\n", json_object_to_json_string_ext(obj,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(obj);
}

/* ---- progress ------------------------------------------------------------------ */

struct progress {
	const char *device;
	int tty;		/* a human line on stderr */
	int json;		/* JSON lines on stderr */
	uint64_t start_ns, last_ns;
	int halfway;		/* the "copy" test stage was passed */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* "1.5 GiB" */
static const char *human(uint64_t bytes, char *buf, size_t size)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	unsigned int u = 0;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
	return buf;
}

static void progress_init(struct progress *p, const char *device, int quiet)
{
	memset(p, 0, sizeof(*p));
	p->device = device;
	p->json = !quiet && json_output;
	p->tty = !quiet && !json_output && isatty(STDERR_FILENO);
	p->start_ns = now_ns();
}

/* repo_source.progress: a few lines a second; non-zero stops the copy. */
static int progress_cb(void *arg, uint64_t done, uint64_t total)
{
	struct progress *p = arg;
	uint64_t now = now_ns(), el = now - p->start_ns;
	double rate = el ? (double)done * 1e9 / (double)el : 0;
	char a[32], b[32], r[32];
	json_object *obj;

	if (!p->halfway && total && done * 2 >= total && done) {
		p->halfway = 1;
		repo_test_stop("copy");
	}
	if (interrupted)
		return 1;
	if (done != total && now - p->last_ns < 250000000ull)
		return 0;
	p->last_ns = now;
	if (p->json) {
		obj = json_obj("event", json_str("progress"), "device", json_str(p->device),
			       "done", json_u64(done), "total", json_u64(total),
			       "bytes_per_second", json_u64((uint64_t)rate), NULL);
		json_line_stderr(obj);
	} else if (p->tty) {
		uint64_t eta = rate > 0 ? (uint64_t)((double)(total - done) / rate) : 0;

		fprintf(stderr, "\r%s: %s / %s, %s/s, ETA %llu:%02llu\033[K", p->device,
			human(done, a, sizeof(a)), human(total, b, sizeof(b)),
			human((uint64_t)rate, r, sizeof(r)),
			(unsigned long long)(eta / 60), (unsigned long long)(eta % 60));
		if (done == total)
			fputc('\n', stderr);
	}
	return 0;
}

/* ---- backup -------------------------------------------------------------------- */

static const char backup_help[] =
"Usage: blksnap backup DEVICE... --to REPO [--storage PATH] [--limit SIZE]\n"
"                      [--full] [--block-size SIZE] [--quiet] [--json]\n"
"\n"
"Back up the devices into a new restore point of the repository REPO (a\n"
"directory; created if it does not exist or is empty). The blksnap filter\n"
"is attached where it is not; one snapshot of all DEVICEs is taken at one\n"
"instant, their images are copied, and the snapshot is destroyed.\n"
"\n"
"A device's first backup is a full copy. Later ones read only the blocks\n"
"that change tracking reports changed since the newest point, and copy\n"
"the whole device instead, saying why, when that history cannot be\n"
"trusted: a new change-tracking generation (module reloaded, reboot,\n"
"filter re-attached, 255 snapshots since the last full copy), a device\n"
"of another size, a damaged previous point.\n"
"\n"
"If the snapshot is corrupted during the copy (its difference storage\n"
"full or failing), the copy would not be consistent: the backup fails and\n"
"the repository stays as it was. An interrupted backup (killed) leaves its\n"
"snapshot behind; the next backup to the same repository destroys it.\n"
"\n"
"Options:\n"
"  --to REPO            the repository\n"
"  -s, --storage PATH   difference storage of the snapshot: a block device,\n"
"                       a file or a directory (default: REPO; it must not be\n"
"                       on a device being backed up)\n"
"  -l, --limit SIZE     its maximum size (default: a quarter of the devices'\n"
"                       total size, at least 256M)\n"
"  --full               copy every block, whatever the history\n"
"  --block-size SIZE    bytes per checksum in a new full copy (default 64K)\n"
"  -q, --quiet          no progress line\n"
"  --json               print the result as a JSON object; progress, unless\n"
"                       --quiet, as one JSON object a line on stderr\n";

/* A device being backed up. */
struct source {
	const char *path;		/* as given: its name in the repository */
	int fd;				/* the original device */
	dev_t rdev;
	uint64_t size;
	struct blksnap_cbtinfo info;	/* as of the take */
	char generation[BLKSNAP_UUID_STR_LEN];
	const struct repo_device *parent;	/* the device in the parent point */
	struct blksnap_sectors *ranges;	/* changed since the parent, if incremental */
	size_t count;
	int incremental;
	char why[REPO_MSG_SIZE + 64];	/* why a full copy */
	char image[80];
	int image_fd;
	struct progress progress;
};

struct backup {
	struct repo *repo;
	const char *repo_dir;
	int ctl;
	struct blksnap_uuid id;
	int have_snapshot;
	char uuid[BLKSNAP_UUID_STR_LEN];
	struct repo_list points;
	const struct repo_point_info *parent;
	struct source src[MAX_DEVICES];
	int nsrc;
	int full, quiet;
	uint32_t block_size;
	uint64_t limit;			/* of the difference storage; 0: default */
};

/* A one-line message of the backup on stderr (a JSON line with --json). */
static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	char text[REPO_MSG_SIZE + 128];
	json_object *obj;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (!json_output) {
		fprintf(stderr, "blksnap: %s: %s\n", cmd_name, text);
		return;
	}
	obj = json_obj("event", json_str("note"), "message", json_str(text), NULL);
	json_line_stderr(obj);
}

/*
 * A backup killed while its snapshot existed left SNAPSHOT_FILE with the
 * snapshot's UUID (we hold the repository's lock, so it is not another
 * backup's): destroy that snapshot.
 */
static int remove_leftover_snapshot(struct backup *b)
{
	int dirfd = repo_dirfd(b->repo), fd, rc;
	struct blksnap_uuid id;
	char text[64] = "";
	ssize_t n;

	fd = openat(dirfd, SNAPSHOT_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? EXIT_OK : fail("%s/%s: %s", b->repo_dir, SNAPSHOT_FILE,
							 strerror(errno));
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	text[n > 0 ? n : 0] = 0;
	text[strcspn(text, "\n")] = 0;
	if (blksnap_uuid_parse(text, &id) == 0) {
		rc = blksnap_snapshot_destroy(b->ctl, &id);
		if (rc && rc != -ESRCH)
			return fail("destroying the snapshot %s of an interrupted backup: %s "
				    "(try 'blksnap snapshot destroy %s')", text,
				    blksnap_strerror(rc), text);
		if (!rc)
			note("destroyed the snapshot %s left by an interrupted backup", text);
	}
	if (unlinkat(dirfd, SNAPSHOT_FILE, 0) && errno != ENOENT)
		return fail("%s/%s: %s", b->repo_dir, SNAPSHOT_FILE, strerror(errno));
	return EXIT_OK;
}

/* Record the snapshot's UUID durably before it holds any device. */
static int record_snapshot(struct backup *b)
{
	int dirfd = repo_dirfd(b->repo), fd, ok;

	fd = openat(dirfd, SNAPSHOT_FILE, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail("%s/%s: %s", b->repo_dir, SNAPSHOT_FILE, strerror(errno));
	ok = dprintf(fd, "%s\n", b->uuid) > 0 && !fsync(fd);
	close(fd);
	if (!ok || fsync(dirfd))
		return fail("%s/%s: %s", b->repo_dir, SNAPSHOT_FILE, strerror(errno));
	return EXIT_OK;
}

static void destroy_snapshot(struct backup *b)
{
	int rc;

	if (!b->have_snapshot)
		return;
	rc = blksnap_snapshot_destroy(b->ctl, &b->id);
	if (rc && rc != -ESRCH) {
		fail("destroying the snapshot %s: %s (run 'blksnap snapshot destroy %s')",
		     b->uuid, blksnap_strerror(rc), b->uuid);
		return;
	}
	b->have_snapshot = 0;
	unlinkat(repo_dirfd(b->repo), SNAPSHOT_FILE, 0);
}

/* The whole disk that holds the block device @dev (@dev itself if a disk). */
static dev_t disk_of(dev_t dev)
{
	char path[96], text[32];
	unsigned int mj, mn;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/partition", major(dev), minor(dev));
	if (access(path, F_OK))
		return dev;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/../dev", major(dev), minor(dev));
	f = fopen(path, "r");
	if (!f)
		return dev;
	if (!fgets(text, sizeof(text), f) || sscanf(text, "%u:%u", &mj, &mn) != 2) {
		fclose(f);
		return dev;
	}
	fclose(f);
	return makedev(mj, mn);
}

/* Open the devices, attach the filter where it is not, refuse duplicates. */
static int open_sources(struct backup *b, struct stat *repo_st)
{
	struct stat st;
	int i, j, rc;

	for (i = 0; i < b->nsrc; i++) {
		struct source *s = &b->src[i];

		s->fd = open_device(s->path);
		if (s->fd < 0)
			return EXIT_FAIL;
		if (fstat(s->fd, &st) || ioctl(s->fd, BLKGETSIZE64, &s->size))
			return fail("%s: %s", s->path, strerror(errno));
		s->rdev = st.st_rdev;
		for (j = 0; j < i; j++)
			if (b->src[j].rdev == s->rdev)
				return usage_error("%s and %s are the same device", b->src[j].path,
						   s->path);
		if (repo_st->st_dev == s->rdev || disk_of(repo_st->st_dev) == s->rdev)
			return fail("the repository %s is on %s, a device being backed up: "
				    "use a repository on another device", b->repo_dir, s->path);
		rc = blksnap_filter_attach(s->fd, BLKSNAP_FILTER_NAME);
		if (rc && rc != -EALREADY)
			return lib_fail(s->path, rc);
		if (!rc)
			note("%s: attached the blksnap filter: change tracking starts now",
			     s->path);
	}
	return EXIT_OK;
}

/* The newest readable point is the parent of an increment. */
static void find_parent(struct backup *b)
{
	size_t i = b->points.count;

	while (i-- > 0)
		if (!b->points.points[i].err) {
			b->parent = &b->points.points[i];
			return;
		}
}

static const struct repo_device *point_device(const struct repo_point_info *p,
					       const char *name)
{
	size_t i;

	for (i = 0; p && i < p->ndevices; i++)
		if (!strcmp(p->devices[i].name, name))
			return &p->devices[i];
	return NULL;
}

/*
 * After the take: decide whether @s can be an increment of its device in
 * the parent point, and get the changed ranges if so; else say why not.
 */
static int plan_device(struct backup *b, struct source *s)
{
	const struct repo_device *pd = point_device(b->parent, s->path);
	char msg[REPO_MSG_SIZE];
	struct blksnap_uuid gen;
	uint8_t *map = NULL;
	int rc;

	rc = blksnap_read_cbt(s->fd, &s->info, &map);
	if (rc < 0)
		return lib_fail(s->path, rc);
	uuid_str(&s->info.generation_id, s->generation);
	s->parent = pd;
	if (b->full)
		snprintf(s->why, sizeof(s->why), "--full was given");
	else if (!b->parent)
		snprintf(s->why, sizeof(s->why), "the repository has no point yet");
	else if (!pd)
		snprintf(s->why, sizeof(s->why), "point %s has no copy of it", b->parent->id);
	else if (!pd->cbt_generation || blksnap_uuid_parse(pd->cbt_generation, &gen) ||
		 !blksnap_uuid_equal(&gen, &s->info.generation_id))
		snprintf(s->why, sizeof(s->why),
			 pd->cbt_number >= 254 ?
			 "its change numbers ran out (255 snapshots): change tracking restarted" :
			 "change tracking restarted since point %s (module reloaded, reboot or "
			 "filter re-attached)", b->parent->id);
	else if (pd->size != s->size)
		snprintf(s->why, sizeof(s->why), "its size changed since point %s",
			 b->parent->id);
	else if (repo_check_device(b->repo, b->parent->id, pd->name, msg))
		snprintf(s->why, sizeof(s->why), "point %s is damaged: %s", b->parent->id, msg);
	if (!s->why[0]) {
		rc = blksnap_changed_ranges(&s->info, map, s->info.block_count, &gen,
					    pd->cbt_number, &s->ranges, &s->count);
		if (rc < 0) {
			free(map);
			return lib_fail(s->path, rc);
		}
		if (rc == BLKSNAP_FULL_BACKUP_NEEDED)
			snprintf(s->why, sizeof(s->why),
				 "its change number %u is older than point %s's (%u)",
				 s->info.changes_number, b->parent->id, pd->cbt_number);
		else
			s->incremental = 1;
	}
	free(map);
	if (s->why[0])
		note("%s: full copy: %s", s->path, s->why);
	return EXIT_OK;
}

/* Open the image of @s, read-only and past the page cache. */
static int open_image(struct source *s)
{
	struct blksnap_snapshotinfo si;
	int rc = blksnap_snapshot_info(s->fd, &si);

	if (rc < 0)
		return lib_fail(s->path, rc);
	if (!si.image[0])
		return fail("%s: the snapshot has no image", s->path);
	snprintf(s->image, sizeof(s->image), "/dev/%s", (const char *)si.image);
	s->image_fd = open(s->image, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (s->image_fd < 0)
		return fail("%s: %s", s->image, strerror(errno));
	return EXIT_OK;
}

/* The snapshot still holds @s's point in time: it was not corrupted. */
static int check_snapshot(struct source *s)
{
	struct blksnap_snapshotinfo si;
	int rc = blksnap_snapshot_info(s->fd, &si);

	if (rc < 0)
		return lib_fail(s->path, rc);
	if (si.error_code)
		return fail("%s: the snapshot was corrupted during the copy (%s): the copy "
			    "would not be consistent, the repository is left as it was; give "
			    "the difference storage more room (--limit) and back up again",
			    s->path, errno_text(si.error_code));
	return EXIT_OK;
}

static int copy_device(struct backup *b, struct repo_point *pt, struct source *s)
{
	struct repo_changes ch = { s->ranges, s->count };
	struct repo_source rs = {
		.name = s->path,
		.size = s->size,
		.block_size = s->incremental ? s->parent->block_size : b->block_size,
		.cbt_generation = s->generation,
		.cbt_number = s->info.changes_number,
		.fd = s->image_fd,
		.changes = s->incremental ? &ch : NULL,
		.progress = progress_cb,
		.progress_arg = &s->progress,
	};
	char msg[REPO_MSG_SIZE];
	int rc;

	progress_init(&s->progress, s->path, b->quiet);
	rc = repo_point_add_device(pt, &rs, msg);
	if (rc == -ECANCELED && interrupted)
		return fail("interrupted: the repository is left as it was");
	if (rc)
		return repo_fail(msg);
	return check_snapshot(s);
}

/* A quarter of the devices' total size, at least 256 MiB. */
static uint64_t default_limit(const struct backup *b)
{
	uint64_t total = 0;
	int i;

	for (i = 0; i < b->nsrc; i++)
		total += b->src[i].size;
	return total / 4 > (256ull << 20) ? total / 4 : 256ull << 20;
}

static int take_snapshot(struct backup *b, const char *storage, uint64_t limit)
{
	int i, rc;

	rc = blksnap_snapshot_create(b->ctl, storage,
				     (limit + BLKSNAP_SECTOR_SIZE - 1) / BLKSNAP_SECTOR_SIZE, &b->id);
	if (rc < 0)
		return lib_fail(storage, rc);
	b->have_snapshot = 1;
	uuid_str(&b->id, b->uuid);
	rc = record_snapshot(b);
	if (rc)
		return rc;
	repo_test_stop("created");
	for (i = 0; i < b->nsrc; i++) {
		rc = blksnap_snapshot_add(b->src[i].fd, &b->id);
		if (rc < 0)
			return lib_fail(b->src[i].path, rc);
	}
	rc = blksnap_snapshot_take(b->ctl, &b->id);
	if (rc < 0)
		return lib_fail(b->uuid, rc);
	repo_test_stop("taken");
	return EXIT_OK;
}

static int print_backup(const struct backup *b, const char *id, int kind_full)
{
	json_object *devs;
	uint64_t sectors;
	size_t j;
	int i;

	if (!json_output) {
		printf("point %s (%s%s%s): ", id, kind_full ? "full" : "incremental",
		       kind_full ? "" : " of ", kind_full ? "" : b->parent->id);
		for (i = 0; i < b->nsrc; i++) {
			const struct source *s = &b->src[i];
			char h[32];

			printf("%s%s %s", i ? ", " : "", s->path,
			       s->incremental ? "changes" : "full");
			if (s->incremental) {
				for (sectors = 0, j = 0; j < s->count; j++)
					sectors += s->ranges[j].count;
				printf(" (%s)", human(sectors * BLKSNAP_SECTOR_SIZE, h, sizeof(h)));
			}
		}
		putchar('\n');
		return EXIT_OK;
	}
	devs = json_object_new_array();
	for (i = 0; devs && i < b->nsrc; i++) {
		const struct source *s = &b->src[i];

		for (sectors = 0, j = 0; j < s->count; j++)
			sectors += s->ranges[j].count;
		json_object_array_add(devs, json_obj(
			"name", json_str(s->path), "size", json_u64(s->size),
			"copy", json_str(s->incremental ? "incremental" : "full"),
			"reason", s->incremental ? NULL : json_str(s->why),
			"changed_bytes", s->incremental ? json_u64(sectors * BLKSNAP_SECTOR_SIZE) : NULL,
			"changed_ranges", s->incremental ? json_u64(s->count) : NULL,
			"cbt_generation", json_str(s->generation),
			"cbt_number", json_u64(s->info.changes_number), NULL));
	}
	return json_print(json_obj("point", json_str(id),
				   "kind", json_str(kind_full ? "full" : "incremental"),
				   "parent", kind_full ? NULL : json_str(b->parent->id),
				   "snapshot", json_str(b->uuid), "devices", devs, NULL));
}

static int run_backup(struct backup *b, const char *storage)
{
	char msg[REPO_MSG_SIZE], id[REPO_ID_SIZE];
	struct repo_point *pt = NULL;
	struct stat repo_st;
	int i, rc, all_full = 1;

	if (fstat(repo_dirfd(b->repo), &repo_st))
		return fail("%s: %s", b->repo_dir, strerror(errno));
	if (repo_lock(b->repo, msg))
		return repo_fail(msg);
	if (repo_list(b->repo, &b->points, msg))
		return repo_fail(msg);
	find_parent(b);
	rc = remove_leftover_snapshot(b);
	if (!rc)
		rc = open_sources(b, &repo_st);
	if (rc)
		return rc;
	rc = take_snapshot(b, storage ? storage : b->repo_dir,
			   b->limit ? b->limit : default_limit(b));
	for (i = 0; !rc && i < b->nsrc; i++) {
		rc = plan_device(b, &b->src[i]);
		if (!rc)
			rc = open_image(&b->src[i]);
		all_full &= !b->src[i].incremental;
	}
	if (rc)
		return rc;
	if (repo_point_begin(b->repo, all_full ? NULL : b->parent->id, &pt, msg))
		return repo_fail(msg);
	snprintf(id, sizeof(id), "%s", repo_point_id(pt));
	for (i = 0; !rc && i < b->nsrc; i++)
		rc = copy_device(b, pt, &b->src[i]);
	if (rc) {
		repo_point_abort(pt);
		return rc;
	}
	repo_test_stop("commit");
	if (repo_point_commit(pt, msg))
		return repo_fail(msg);
	repo_test_stop("committed");
	return print_backup(b, id, all_full);
}

int cmd_backup(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "to", required_argument, NULL, OPT_TO },
		{ "storage", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'l' },
		{ "full", no_argument, NULL, OPT_FULL },
		{ "block-size", required_argument, NULL, OPT_BLOCK_SIZE },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	const char *storage = NULL, *limit_s = NULL, *bs_s = NULL;
	struct backup *b = calloc(1, sizeof(*b));
	struct cmdline cl;
	uint64_t bs;
	int c, i, rc;

	if (!b)
		return fail("out of memory");
	b->ctl = -1;
	cmdline_init(&cl, argc, argv, backup_help, "s:l:q", longopts, 1, -1);
	while ((c = cmdline_next(&cl)) != -1) {
		switch (c) {
		case OPT_TO:
			b->repo_dir = optarg;
			break;
		case 's':
			storage = optarg;
			break;
		case 'l':
			limit_s = optarg;
			break;
		case OPT_FULL:
			b->full = 1;
			break;
		case OPT_BLOCK_SIZE:
			bs_s = optarg;
			break;
		case 'q':
			b->quiet = 1;
			break;
		}
	}
	rc = cl.status;
	if (rc != CMDLINE_GO)
		goto out;
	rc = EXIT_USAGE;
	if (!b->repo_dir) {
		usage_error("--to is required");
		goto out;
	}
	if (cl.nargs > MAX_DEVICES) {
		usage_error("at most %d devices in one backup", MAX_DEVICES);
		goto out;
	}
	if (limit_s && (parse_size(limit_s, &b->limit) || !b->limit)) {
		usage_error("invalid size '%s'", limit_s);
		goto out;
	}
	b->block_size = DEFAULT_BLOCK;
	if (bs_s) {
		if (parse_size(bs_s, &bs) || bs < REPO_BLOCK_MIN || bs > REPO_BLOCK_MAX ||
		    (bs & (bs - 1))) {
			usage_error("invalid block size '%s' (a power of two from 512 to 1M)", bs_s);
			goto out;
		}
		b->block_size = (uint32_t)bs;
	}
	b->nsrc = cl.nargs;
	for (i = 0; i < b->nsrc; i++) {
		b->src[i].path = argv[i];
		b->src[i].fd = b->src[i].image_fd = -1;
	}
	catch_signals();
	/* Without the module, nothing else is done (no repository made). */
	b->ctl = open_control();
	rc = b->ctl < 0 ? EXIT_FAIL : open_repo(b->repo_dir, 1, &b->repo);
	if (!rc)
		rc = run_backup(b, storage);
	if (b->repo)
		destroy_snapshot(b);
out:
	for (i = 0; i < b->nsrc; i++) {
		if (b->src[i].image_fd >= 0)
			close(b->src[i].image_fd);
		if (b->src[i].fd >= 0)
			close(b->src[i].fd);
		free(b->src[i].ranges);
	}
	if (b->ctl >= 0)
		close(b->ctl);
	repo_list_free(&b->points);
	repo_close(b->repo);
	free(b);
	return rc;
}

/* ---- list ------------------------------------------------------------------------- */

static const char list_help[] =
"Usage: blksnap list REPO [--json]\n"
"\n"
"List the restore points of the repository, oldest first: id, kind (full,\n"
"or incremental and its parent), when it was committed, and per device its\n"
"size, the bytes read from the device for it and how its image was made\n"
"(none: a full copy; reflink: the parent's image shared, only the changes\n"
"stored; copy: the parent's image copied, the file system has no reflinks).\n"
"\n"
"Options:\n"
"  --json     print {\"points\": [...]}, the manifests' members\n";

static void utc(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm))
		strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
	else
		snprintf(buf, size, "?");
}

static json_object *point_json(const struct repo_point_info *p)
{
	json_object *devs;
	char t0[32], t1[32];
	size_t i;

	if (p->err)
		return json_obj("id", json_str(p->id), "error", json_str(p->errmsg), NULL);
	devs = json_object_new_array();
	for (i = 0; devs && i < p->ndevices; i++) {
		const struct repo_device *d = &p->devices[i];

		json_object_array_add(devs, json_obj(
			"name", json_str(d->name), "size", json_u64(d->size),
			"block_size", json_u64(d->block_size),
			"cbt_generation", d->cbt_generation ? json_str(d->cbt_generation) : NULL,
			"cbt_number", json_u64(d->cbt_number),
			"clone", json_str(repo_clone_name(d->clone)),
			"copied_bytes", json_u64(d->copied_bytes),
			"data_file", json_str(d->data_file), NULL));
	}
	utc(p->start_time, t0, sizeof(t0));
	utc(p->end_time, t1, sizeof(t1));
	return json_obj("id", json_str(p->id),
			"kind", json_str(p->parent ? "incremental" : "full"),
			"parent", p->parent ? json_str(p->parent) : NULL,
			"start_time", json_str(t0), "end_time", json_str(t1),
			"tool_version", json_str(p->tool_version), "devices", devs, NULL);
}

static void print_point(const struct repo_point_info *p)
{
	char t[32], a[32], c[32];
	size_t i;

	if (p->err) {
		printf("%s  unreadable: %s\n", p->id, p->errmsg);
		return;
	}
	utc(p->end_time, t, sizeof(t));
	printf("%s  %-11s %-8s %s\n", p->id, p->parent ? "incremental" : "full",
	       p->parent ? p->parent : "-", t);
	for (i = 0; i < p->ndevices; i++) {
		const struct repo_device *d = &p->devices[i];

		printf("          %-20s %10s  copied %10s  image %s\n", d->name,
		       human(d->size, a, sizeof(a)), human(d->copied_bytes, c, sizeof(c)),
		       repo_clone_name(d->clone));
	}
}

int cmd_list(int argc, char **argv)
{
	struct repo_list list = { 0 };
	char msg[REPO_MSG_SIZE];
	struct repo *repo = NULL;
	json_object *arr;
	size_t i;
	int rc;

	rc = cmdline_parse(argc, argv, list_help, 1, 1);
	if (rc != CMDLINE_GO)
		return rc;
	rc = open_repo(argv[0], 0, &repo);
	if (rc)
		return rc;
	if (repo_list(repo, &list, msg)) {
		rc = repo_fail(msg);
		goto out;
	}
	if (json_output) {
		arr = json_object_new_array();
		for (i = 0; arr && i < list.count; i++)
			json_object_array_add(arr, point_json(&list.points[i]));
		rc = json_print(json_obj("repository", json_str(argv[0]), "points", arr, NULL));
		goto out;
	}
	if (list.count)
		printf("POINT     KIND        PARENT   COMMITTED (UTC)\n");
	for (i = 0; i < list.count; i++)
		print_point(&list.points[i]);
out:
	repo_list_free(&list);
	repo_close(repo);
	return rc;
}

/* ---- verify ----------------------------------------------------------------------- */

static const char verify_help[] =
"Usage: blksnap verify REPO [--point ID] [--json]\n"
"\n"
"Re-read every block of a restore point (default: of every point) and\n"
"check it against its checksum. One line per device of each point: \"good\",\n"
"or what is wrong (the first bad block and its byte offset). The exit\n"
"status is 1 if any device is not good.\n"
"\n"
"Options:\n"
"  --point ID   only this point\n"
"  --json       print {\"verdicts\": [{\"point\", \"device\", \"good\",\n"
"               \"bad_blocks\", \"first_bad_block\", \"message\"}]}\n";

int cmd_verify(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "point", required_argument, NULL, OPT_POINT },
		{ NULL, 0, NULL, 0 },
	};
	struct repo_verdict *v = NULL;
	char msg[REPO_MSG_SIZE];
	const char *point = NULL;
	struct repo *repo = NULL;
	struct cmdline cl;
	json_object *arr;
	size_t n = 0, i;
	int c, rc;

	cmdline_init(&cl, argc, argv, verify_help, "", longopts, 1, 1);
	while ((c = cmdline_next(&cl)) != -1)
		if (c == OPT_POINT)
			point = optarg;
	if (cl.status != CMDLINE_GO)
		return cl.status;
	rc = open_repo(argv[0], 0, &repo);
	if (rc)
		return rc;
	rc = repo_verify(repo, point, &v, &n, msg);
	if (rc < 0) {
		rc = repo_fail(msg);
		goto out;
	}
	if (json_output) {
		arr = json_object_new_array();
		for (i = 0; arr && i < n; i++)
			json_object_array_add(arr, json_obj(
				"point", json_str(v[i].point),
				"device", v[i].device ? json_str(v[i].device) : NULL,
				"good", json_object_new_boolean(!v[i].err),
				"bad_blocks", json_u64(v[i].bad_blocks),
				"first_bad_block", json_u64(v[i].first_bad),
				"message", json_str(v[i].err ? v[i].msg : ""), NULL));
		json_print(json_obj("verdicts", arr, NULL));
	} else {
		for (i = 0; i < n; i++)
			if (v[i].err)
				printf("%s\n", v[i].msg);
			else
				printf("point %s, device %s: good\n", v[i].point, v[i].device);
	}
	if (!n && !json_output)
		printf("the repository has no points\n");
	rc = rc ? EXIT_FAIL : EXIT_OK;
out:
	repo_verdicts_free(v, n);
	repo_close(repo);
	return rc;
}

/* ---- restore ---------------------------------------------------------------------- */

static const char restore_help[] =
"Usage: blksnap restore REPO [--point ID] DEVICE=TARGET... [--json]\n"
"\n"
"Write the device DEVICE (its name in the point, as 'blksnap list' shows\n"
"it) of a restore point to TARGET: a block device, or a file (created if\n"
"it does not exist; a new file stays sparse). Every block is checked\n"
"against its checksum before it is written; a bad block stops the restore.\n"
"A target that is mounted or in use, read-only, or smaller than the\n"
"device is refused before anything is written to any target.\n"
"\n"
"Options:\n"
"  --point ID   the restore point (default: the newest)\n"
"  --json       print {\"point\", \"restored\": [{\"device\", \"target\"}]}\n";

struct target {
	char *device;		/* the name in the point */
	const char *path;
	int fd;
};

/* Open @t for writing; refuse what restore must not overwrite. */
static int open_target(struct target *t, uint64_t size)
{
	struct stat st;
	uint64_t tsize;
	int ro = 0;

	if (stat(t->path, &st) == 0 && S_ISBLK(st.st_mode)) {
		t->fd = open(t->path, O_WRONLY | O_EXCL | O_CLOEXEC);
		if (t->fd < 0)
			return fail("%s: %s", t->path,
				    errno == EBUSY ? "the device is mounted or in use: unmount it first" :
				    errno == EROFS || errno == EACCES ? "the device is read-only" :
				    strerror(errno));
		if (ioctl(t->fd, BLKROGET, &ro) == 0 && ro)
			return fail("%s: the device is read-only", t->path);
		if (ioctl(t->fd, BLKGETSIZE64, &tsize))
			return fail("%s: %s", t->path, strerror(errno));
	} else {
		t->fd = open(t->path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (t->fd < 0)
			return fail("%s: %s", t->path, strerror(errno));
		if (fstat(t->fd, &st))
			return fail("%s: %s", t->path, strerror(errno));
		if (!S_ISREG(st.st_mode))
			return fail("%s: neither a block device nor a regular file", t->path);
		tsize = st.st_size ? (uint64_t)st.st_size : UINT64_MAX;	/* empty: sized */
	}
	if (tsize < size)
		return fail("%s: too small: %llu bytes for a device of %llu", t->path,
			    (unsigned long long)tsize, (unsigned long long)size);
	return EXIT_OK;
}

int cmd_restore(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "point", required_argument, NULL, OPT_POINT },
		{ NULL, 0, NULL, 0 },
	};
	struct repo_list list = { 0 };
	const struct repo_point_info *p = NULL;
	const struct repo_device *d;
	struct target *t = NULL;
	char msg[REPO_MSG_SIZE];
	const char *point = NULL;
	struct repo *repo = NULL;
	struct cmdline cl;
	json_object *arr;
	int c, i, j, n = 0, rc;
	size_t k;

	cmdline_init(&cl, argc, argv, restore_help, "", longopts, 2, -1);
	while ((c = cmdline_next(&cl)) != -1)
		if (c == OPT_POINT)
			point = optarg;
	if (cl.status != CMDLINE_GO)
		return cl.status;
	t = calloc((size_t)cl.nargs, sizeof(*t));
	if (!t)
		return fail("out of memory");
	for (i = 1; i < cl.nargs; i++, n++) {
		char *eq = strrchr(argv[i], '=');

		t[n].fd = -1;
		if (!eq || eq == argv[i] || !eq[1]) {
			rc = usage_error("'%s' is not DEVICE=TARGET", argv[i]);
			goto out;
		}
		t[n].device = strndup(argv[i], (size_t)(eq - argv[i]));
		t[n].path = eq + 1;
		if (!t[n].device) {
			rc = fail("out of memory");
			goto out;
		}
	}
	rc = open_repo(argv[0], 0, &repo);
	if (rc)
		goto out;
	if (repo_list(repo, &list, msg)) {
		rc = repo_fail(msg);
		goto out;
	}
	for (k = 0; k < list.count; k++)
		if (point ? !strcmp(list.points[k].id, point) : !list.points[k].err)
			p = &list.points[k];
	rc = EXIT_FAIL;
	if (!p) {
		fail(point ? "%s: no point %s (see 'blksnap list %s')" :
		     "%s: the repository has no point%.0s (run 'blksnap backup' first)%.0s",
		     argv[0], point ? point : "", argv[0]);
		goto out;
	}
	if (p->err) {
		fail("%s", p->errmsg);
		goto out;
	}
	/* Every target is checked before the first is written. */
	for (i = 0; i < n; i++) {
		d = point_device(p, t[i].device);
		if (!d) {
			fail("point %s has no device '%s' (see 'blksnap list %s')", p->id,
			     t[i].device, argv[0]);
			goto out;
		}
		for (j = 0; j < i; j++)
			if (!strcmp(t[j].path, t[i].path)) {
				rc = usage_error("%s is given twice as a target", t[i].path);
				goto out;
			}
		if (open_target(&t[i], d->size))
			goto out;
	}
	for (i = 0; i < n; i++) {
		if (interrupted || repo_restore(repo, p->id, t[i].device, t[i].fd, msg)) {
			fail("%s", interrupted ? "interrupted" : msg);
			goto out;
		}
		if (fsync(t[i].fd)) {
			fail("%s: %s", t[i].path, strerror(errno));
			goto out;
		}
		if (!json_output)
			printf("restored %s of point %s to %s\n", t[i].device, p->id, t[i].path);
	}
	rc = EXIT_OK;
	if (json_output) {
		arr = json_object_new_array();
		for (i = 0; arr && i < n; i++)
			json_object_array_add(arr, json_obj("device", json_str(t[i].device),
							    "target", json_str(t[i].path), NULL));
		rc = json_print(json_obj("point", json_str(p->id), "restored", arr, NULL));
	}
out:
	for (i = 0; i < n; i++) {
		if (t[i].fd >= 0)
			close(t[i].fd);
		free(t[i].device);
	}
	free(t);
	repo_list_free(&list);
	repo_close(repo);
	return rc;
}

/* ---- prune ------------------------------------------------------------------------ */

static const char prune_help[] =
"Usage: blksnap prune REPO --keep N [--json]\n"
"\n"
"Remove all but the newest N restore points (N >= 1). The points kept stay\n"
"restorable and later backups go on from the newest: every point holds\n"
"complete images, none needs an older one.\n"
"\n"
"Options:\n"
"  --keep N   how many points to keep\n"
"  --json     print {\"removed\": COUNT}\n";

int cmd_prune(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "keep", required_argument, NULL, OPT_KEEP },
		{ NULL, 0, NULL, 0 },
	};
	const char *keep_s = NULL;
	char msg[REPO_MSG_SIZE];
	struct repo *repo = NULL;
	struct cmdline cl;
	uint32_t keep;
	size_t removed = 0;
	int c, rc;

	cmdline_init(&cl, argc, argv, prune_help, "", longopts, 1, 1);
	while ((c = cmdline_next(&cl)) != -1)
		if (c == OPT_KEEP)
			keep_s = optarg;
	if (cl.status != CMDLINE_GO)
		return cl.status;
	if (!keep_s)
		return usage_error("--keep is required");
	if (parse_u32(keep_s, &keep) || !keep)
		return usage_error("invalid count '%s' (at least 1)", keep_s);
	rc = open_repo(argv[0], 0, &repo);
	if (rc)
		return rc;
	if (repo_prune(repo, keep, &removed, msg))
		rc = repo_fail(msg);
	else if (json_output)
		rc = json_print(json_obj("removed", json_u64(removed), NULL));
	else
		printf("removed %zu point%s\n", removed, removed == 1 ? "" : "s");
	repo_close(repo);
	return rc;
}
