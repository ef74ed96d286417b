// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The backup repository (tools/repo.c) on regular files in a temporary
 * directory ($TMPDIR, default /tmp): images equal to their sources and
 * sparse, increments made from their parent, verify catching a flipped
 * byte, restore, crashes that leave the repository as it was, damaged
 * manifests, prune.
 *
 * ioctl() goes to the mock (mock.c); here the mock passes it to the kernel,
 * so that FICLONE does what the file system does, unless clone_errno says
 * it fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/fs.h>
#include "mock.h"
#include "repo.h"
#include "tap.h"

int __real_ioctl(int fd, unsigned long req, ...);

#define BS	(64u << 10)
#define KiB	1024ull
#define MiB	(1024 * KiB)
/* Not a multiple of the block size: the last block is 12 KiB. */
#define SIZE	(8 * MiB + 12 * KiB)

static char top[256];		/* the test's temporary directory */
static char repo_dir[300];
static int clone_errno;		/* FICLONE fails with this if not 0 */
static char msg[REPO_MSG_SIZE];

static int kernel_ioctl(int fd, unsigned long req, void *arg)
{
	if (req == FICLONE && clone_errno)
		return mock_errno(clone_errno);
	return __real_ioctl(fd, req, arg);
}

/* A path in the test's directory (one of a few rotating buffers). */
static const char *path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *path(const char *fmt, ...)
{
	static char bufs[4][512];
	static int next;
	char *b = bufs[next++ % 4];
	int n = snprintf(b, sizeof(bufs[0]), "%s/", top);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b + n, sizeof(bufs[0]) - (size_t)n, fmt, ap);
	va_end(ap);
	return b;
}

/* Patterns of fill(): ZEROES, ONES (0xff bytes), or a seed from 1. */
enum { ZEROES = 0, ONES = 0x100 };

/*
 * @len bytes at @off: zeroes, 0xff, or a pattern of @seed and the offset
 * with no zero byte, so that no block of it is a zero block.
 */
static void fill(int fd, uint64_t off, uint64_t len, unsigned int seed)
{
	static uint8_t buf[64 << 10];
	uint64_t done, i, n;

	for (done = 0; done < len; done += n) {
		n = len - done < sizeof(buf) ? len - done : sizeof(buf);
		for (i = 0; i < n; i++)
			buf[i] = seed == ZEROES ? 0 : seed == ONES ? 0xff :
				 (uint8_t)(((off + done + i) * 2654435761u >> 13) ^ seed) | 1;
		if (pwrite(fd, buf, n, (off_t)(off + done)) != (ssize_t)n)
			abort();
	}
}

/* The first @len bytes of two files are the same (both have them). */
static int same_prefix(const char *a, const char *b, uint64_t len)
{
	static uint8_t ba[64 << 10], bb[64 << 10];
	int fa = open(a, O_RDONLY), fb = open(b, O_RDONLY), same = fa >= 0 && fb >= 0;
	uint64_t off;
	ssize_t n;

	for (off = 0; same && off < len; off += (uint64_t)n) {
		n = (ssize_t)(len - off < sizeof(ba) ? len - off : sizeof(ba));
		same = pread(fa, ba, (size_t)n, (off_t)off) == n &&
		       pread(fb, bb, (size_t)n, (off_t)off) == n && !memcmp(ba, bb, (size_t)n);
	}
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return same;
}

static int64_t file_size(const char *p)
{
	struct stat st;

	return stat(p, &st) ? -1 : (int64_t)st.st_size;
}

static int same_file(const char *a, const char *b)
{
	int64_t sa = file_size(a);

	return sa >= 0 && sa == file_size(b) && same_prefix(a, b, (uint64_t)sa);
}

/* Bytes the file has on disk. */
static int64_t allocated(const char *p)
{
	struct stat st;

	return stat(p, &st) ? -1 : (int64_t)st.st_blocks * 512;
}

/* [off, off + len) of the file reads as a hole (SEEK_DATA goes past it). */
static int is_hole(const char *p, uint64_t off, uint64_t len)
{
	int fd = open(p, O_RDONLY);
	off_t data = fd < 0 ? -1 : lseek(fd, (off_t)off, SEEK_DATA);
	int hole = fd >= 0 && ((data < 0 && errno == ENXIO) || (uint64_t)data >= off + len);

	if (fd >= 0)
		close(fd);
	return hole;
}

static void copy_file(const char *from, const char *to)
{
	static uint8_t buf[64 << 10];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ssize_t n;

	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			abort();
	close(in);
	close(out);
}

/* Flip the bits of the byte at @off. */
static void flip(const char *p, uint64_t off)
{
	int fd = open(p, O_RDWR);
	uint8_t b = 0;

	if (fd < 0 || pread(fd, &b, 1, (off_t)off) != 1)
		abort();
	b = (uint8_t)~b;
	if (pwrite(fd, &b, 1, (off_t)off) != 1)
		abort();
	close(fd);
}

static void write_text(const char *p, const char *text)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
}

/* A restore target: @size bytes of 0xff (0: a new empty file). */
static void make_target(const char *p, uint64_t size)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0)
		abort();
	fill(fd, 0, size, ONES);
	close(fd);
}

/*
 * The first source: data, a hole, explicit zeroes (which the image must
 * not store), data ending inside a block, data in the short last block.
 */
static void make_source_v1(const char *p)
{
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || ftruncate(fd, SIZE))
		abort();
	fill(fd, 0, 256 * KiB, 1);
	fill(fd, 1 * MiB, 128 * KiB, ZEROES);
	fill(fd, 2 * MiB, 64 * KiB + 100, 2);
	fill(fd, 5 * MiB, 1 * MiB, 3);
	fill(fd, 8 * MiB, 12 * KiB, 4);
	close(fd);
}

/* The changes of v2, and the sector ranges that say so. */
static const struct blksnap_sectors v2_ranges[] = {
	{ .offset = (64 * KiB + 512) / 512, .count = 1 },	/* inside block 1 */
	{ .offset = 5 * MiB / 512, .count = 64 * KiB / 512 },	/* data -> zeroes */
	{ .offset = (8 * MiB + 4 * KiB) / 512, .count = 8 },	/* the short block */
	{ .offset = 7 * MiB / 512, .count = 8 },		/* a hole -> data */
};
/* Blocks 1, 80, 112, whole, and the 12 KiB of the last. */
#define V2_COPIED	(3 * BS + 12 * KiB)

static void make_source_v2(const char *p)
{
	int fd = open(p, O_RDWR);

	if (fd < 0)
		abort();
	fill(fd, 64 * KiB + 512, 512, 5);
	fill(fd, 5 * MiB, 64 * KiB, ZEROES);
	fill(fd, 8 * MiB + 4 * KiB, 4 * KiB, 6);
	fill(fd, 7 * MiB, 4 * KiB, 7);
	close(fd);
}

static struct repo *open_repo(void)
{
	struct repo *r = NULL;

	if (repo_open(repo_dir, &r, msg))
		tap_diag("repo_open: %s", msg);
	return r;
}

/* One point: of @src as device "disk0", with @changes since @parent (NULL: full). */
static int make_point(struct repo *r, const char *parent, const char *src,
		      const struct repo_changes *changes, char id[REPO_ID_SIZE])
{
	struct repo_source s = {
		.name = "disk0", .size = SIZE, .block_size = BS,
		.cbt_generation = "7c6d2b4e-0000-4000-8000-000000000001", .cbt_number = 7,
		.changes = changes,
	};
	struct repo_point *pt;
	int rc = repo_point_begin(r, parent, &pt, msg);

	if (rc)
		return rc;
	snprintf(id, REPO_ID_SIZE, "%s", repo_point_id(pt));
	s.fd = open(src, O_RDONLY);
	rc = repo_point_add_device(pt, &s, msg);
	close(s.fd);
	if (rc) {
		repo_point_abort(pt);
		return rc;
	}
	return repo_point_commit(pt, msg);
}

/* The image file of device "disk0" of point @id (from the list). */
static const char *image_of(struct repo *r, const char *id)
{
	static char p[512];
	struct repo_list l;
	size_t i;

	p[0] = 0;
	if (repo_list(r, &l, msg))
		return p;
	for (i = 0; i < l.count; i++)
		if (!strcmp(l.points[i].id, id) && !l.points[i].err)
			snprintf(p, sizeof(p), "%s/%s/%s", repo_dir, id, l.points[i].devices[0].data_file);
	repo_list_free(&l);
	return p;
}

/* The number of points and of points whose manifest reads. */
static size_t count_points(struct repo *r, size_t *good)
{
	struct repo_list l;
	size_t i, n;

	*good = 0;
	if (repo_list(r, &l, msg))
		return (size_t)-1;
	for (i = 0; i < l.count; i++)
		*good += !l.points[i].err;
	n = l.count;
	repo_list_free(&l);
	return n;
}

/* repo_verify() of @id (NULL: all): the number of failed verdicts, or < 0. */
static int verify(struct repo *r, const char *id, struct repo_verdict *first_failed)
{
	struct repo_verdict *v;
	size_t n, i;
	int rc = repo_verify(r, id, &v, &n, msg);

	for (i = 0; rc > 0 && first_failed && i < n; i++)
		if (v[i].err && !first_failed->point[0]) {
			*first_failed = v[i];
			first_failed->device = NULL;
		}
	if (rc >= 0)
		repo_verdicts_free(v, n);
	return rc;
}

/* Restore device @dev of point @id into the file @target. */
static int restore(struct repo *r, const char *id, const char *dev, const char *target)
{
	int fd = open(target, O_RDWR), rc;

	if (fd < 0)
		return -errno;
	rc = repo_restore(r, id, dev, fd, msg);
	close(fd);
	return rc;
}

/* How many of the temporary names these tests make or cause are in the repository. */
static int leftovers(void)
{
	static const char *const names[] = { ".tmp-00000099", ".tmp-pruned-00000001",
					     ".tmp-00000004", ".tmp-00000005" };
	struct stat st;
	char p[600];
	int n = 0, i;

	for (i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s/%s", repo_dir, names[i]);
		n += !stat(p, &st);
	}
	return n;
}

static void test_create_open(void)
{
	struct repo *r = NULL;

	ok_eq(repo_open(path("nothing"), &r, msg), -ENOENT, "repo: open of a missing directory fails");
	ok(!r, "repo: ... and gives no handle");
	if (mkdir(path("plain"), 0700))
		abort();
	ok_eq(repo_open(path("plain"), &r, msg), -ENOENT, "repo: open of a directory that is not a repository fails");
	ok_contains(msg, "not a backup repository", "repo: ... and says so");
	write_text(path("plain/x"), "x");
	ok_eq(repo_create(path("plain"), msg), -ENOTEMPTY, "repo: create in a non-empty directory is refused");
	ok_eq(repo_create(repo_dir, msg), 0, "repo: create a new one");
	ok_eq(repo_create(repo_dir, msg), -ENOTEMPTY, "repo: create it again is refused");
	r = open_repo();
	ok(r != NULL, "repo: open it");
	repo_close(r);
}

static void test_bad_sources(struct repo *r, const char *parent)
{
	struct repo_source s = { .name = "x", .size = SIZE, .block_size = BS };
	static const struct blksnap_sectors past = { .offset = SIZE / 512 + 24, .count = 1 };
	struct repo_changes none = { NULL, 0 }, bad = { &past, 1 };
	struct repo_point *pt;

	s.fd = open(path("src"), O_RDONLY);
	if (repo_point_begin(r, NULL, &pt, msg))
		abort();
	s.changes = &none;
	ok_eq(repo_point_add_device(pt, &s, msg), -EINVAL, "repo: changed ranges in a full point are refused");
	s.changes = NULL;
	s.block_size = 3000;
	ok_eq(repo_point_add_device(pt, &s, msg), -EINVAL, "repo: a block size that is not a power of two is refused");
	s.block_size = BS;
	s.size = 0;
	ok_eq(repo_point_add_device(pt, &s, msg), -EINVAL, "repo: size 0 is refused");
	s.size = SIZE + MiB;
	ok_eq(repo_point_add_device(pt, &s, msg), -ENODATA, "repo: a source smaller than its size fails");
	ok_contains(msg, "ends before", "repo: ... and says so");
	s.size = SIZE;
	s.name = "/dev/disk0";
	ok_eq(repo_point_add_device(pt, &s, msg), 0, "repo: a device after a failed one is added");
	s.name = "/dev/disk0";
	ok_eq(repo_point_add_device(pt, &s, msg), -EEXIST, "repo: the same device twice is refused");
	s.name = "disk0";
	ok_eq(repo_point_add_device(pt, &s, msg), -EEXIST, "repo: two names for one file name are refused");
	repo_point_abort(pt);

	if (repo_point_begin(r, parent, &pt, msg))
		abort();
	s.changes = &bad;
	s.name = "disk0";
	ok_eq(repo_point_add_device(pt, &s, msg), -ERANGE, "repo: a changed range past the end is refused");
	s.changes = &none;
	s.name = "other";
	ok_eq(repo_point_add_device(pt, &s, msg), -ENOENT, "repo: changes of a device not in the parent are refused");
	s.name = "disk0";
	s.size = SIZE - 512;
	ok_eq(repo_point_add_device(pt, &s, msg), -EINVAL, "repo: changes of a device whose size changed are refused");
	ok_eq(repo_point_commit(pt, msg), -EINVAL, "repo: a point without devices is not committed");
	close(s.fd);
}

/* Point 1 (full, v1), 2 (v2 changes), 3 (no changes reported). */
static void test_points(struct repo *r, int can_reflink)
{
	struct repo_changes v2 = { v2_ranges, sizeof(v2_ranges) / sizeof(v2_ranges[0]) };
	struct repo_changes none = { NULL, 0 };
	char id1[REPO_ID_SIZE], id2[REPO_ID_SIZE], id3[REPO_ID_SIZE];
	time_t t0 = time(NULL);
	struct repo_list l;
	const char *img;
	int fd;

	make_source_v1(path("src"));
	copy_file(path("src"), path("v1"));
	ok_eq(make_point(r, NULL, path("src"), NULL, id1), 0, "repo: full point");
	ok(!strcmp(id1, "00000001"), "repo: the first point is 00000001");
	img = image_of(r, id1);
	ok(same_file(img, path("v1")), "repo: full image equals the source");
	ok(allocated(img) < (int64_t)SIZE / 2, "repo: full image is sparse (%lld bytes on disk of %llu)",
	   (long long)allocated(img), SIZE);
	ok(is_hole(img, 1 * MiB, 128 * KiB), "repo: zeroes written in the source are a hole in the image");

	test_bad_sources(r, id1);

	make_source_v2(path("src"));
	copy_file(path("src"), path("v2"));
	ok_eq(make_point(r, id1, path("src"), &v2, id2), 0, "repo: incremental point");
	img = image_of(r, id2);
	ok(same_file(img, path("v2")), "repo: incremental image equals the new source");
	ok(is_hole(img, 5 * MiB, 64 * KiB), "repo: a changed block now zero is a hole in the increment");
	ok(is_hole(img, 1 * MiB, 128 * KiB) && allocated(img) < (int64_t)SIZE / 2,
	   "repo: ... and the parent's holes are holes in it too");
	ok(same_file(image_of(r, id1), path("v1")), "repo: the parent's image is unchanged");

	/* A change the list does not report: the increment keeps the parent's data. */
	fd = open(path("src"), O_RDWR);
	fill(fd, 0, 4 * KiB, 9);
	close(fd);
	ok_eq(make_point(r, id2, path("src"), &none, id3), 0, "repo: incremental point with no changes");
	ok(same_file(image_of(r, id3), path("v2")), "repo: unchanged data comes from the parent, not the source");

	if (repo_list(r, &l, msg) || l.count != 3) {
		ok(0, "repo: list shows the three points");
		return;
	}
	ok(!l.points[0].parent && !strcmp(l.points[1].parent, id1) && !strcmp(l.points[2].parent, id2),
	   "repo: list: full, then increments of their parents");
	ok(l.points[1].ndevices == 1 && !strcmp(l.points[1].devices[0].name, "disk0") &&
	   l.points[1].devices[0].size == SIZE && l.points[1].devices[0].block_size == BS &&
	   l.points[1].devices[0].cbt_number == 7 &&
	   !strcmp(l.points[1].devices[0].cbt_generation, "7c6d2b4e-0000-4000-8000-000000000001"),
	   "repo: list: device, size, block size, CBT generation and number");
	ok_eq(l.points[0].devices[0].copied_bytes, SIZE, "repo: list: the full point read the whole device");
	ok_eq(l.points[1].devices[0].copied_bytes, V2_COPIED, "repo: list: the increment read only the changed blocks");
	ok_eq(l.points[1].devices[0].clone, can_reflink ? REPO_CLONE_REFLINK : REPO_CLONE_COPY,
	      "repo: list: increment cloned by %s, as this file system allows",
	      can_reflink ? "reflink" : "copy");
	ok(l.points[0].devices[0].clone == REPO_CLONE_NONE, "repo: list: the full point cloned nothing");
	ok(l.points[2].start_time >= t0 && l.points[2].start_time <= l.points[2].end_time &&
	   l.points[2].end_time <= time(NULL) && !strcmp(l.points[2].tool_version, "1.0.0"),
	   "repo: list: times and tool version");
	repo_list_free(&l);
}

static void test_verify(struct repo *r)
{
	struct repo_verdict bad = { 0 };
	const char *img2 = image_of(r, "00000002");
	char sums3[600];

	ok_eq(verify(r, NULL, NULL), 0, "repo: verify all: every device passes");
	flip(img2, 2 * MiB + 10);
	ok_eq(verify(r, NULL, &bad), 1, "repo: verify all after one byte flipped: one device fails");
	ok(!strcmp(bad.point, "00000002") && bad.err == -EBADMSG && bad.bad_blocks == 1 &&
	   bad.first_bad == 2 * MiB / BS, "repo: ... point 2, block 32, and no other");
	ok_contains(bad.msg, "do not match", "repo: ... and says so");
	ok_eq(verify(r, "00000003", NULL), 0, "repo: the child of the damaged point still verifies");
	make_target(path("t-bad"), 0);
	ok_eq(restore(r, "00000002", "disk0", path("t-bad")), -EBADMSG, "repo: restore of a damaged block fails");
	ok_contains(msg, "block 32", "repo: ... naming the block");
	flip(img2, 2 * MiB + 10);
	ok_eq(verify(r, "00000002", NULL), 0, "repo: verify after the byte is restored");

	snprintf(sums3, sizeof(sums3), "%s/00000003/disk0.xxh3", repo_dir);
	flip(sums3, 100);
	memset(&bad, 0, sizeof(bad));
	ok_eq(verify(r, "00000003", &bad), 1, "repo: a damaged checksum file fails verify");
	ok_contains(bad.msg, "checksum file is damaged", "repo: ... and says so");
	flip(sums3, 100);
	ok_eq(verify(r, "00000003", NULL), 0, "repo: verify after the checksum file is restored");
	ok_eq(verify(r, "00000042", NULL), -ENOENT, "repo: verify of a missing point fails");
}

static void test_restore(struct repo *r)
{
	make_target(path("t1"), 0);
	ok_eq(restore(r, "00000001", "disk0", path("t1")), 0, "repo: restore into a new file");
	ok(same_file(path("t1"), path("v1")), "repo: ... equals the source");
	ok(allocated(path("t1")) < (int64_t)SIZE / 2 && is_hole(path("t1"), 1 * MiB, 128 * KiB),
	   "repo: ... and is sparse");
	make_target(path("t2"), SIZE + 4096);
	ok_eq(restore(r, "00000002", "disk0", path("t2")), 0, "repo: restore over old data");
	ok(same_prefix(path("t2"), path("v2"), SIZE) && file_size(path("t2")) == (int64_t)SIZE + 4096,
	   "repo: ... zero blocks written as zeroes, the size kept");
	make_target(path("t3"), SIZE - 1);
	ok_eq(restore(r, "00000002", "disk0", path("t3")), -ENOSPC, "repo: restore into a smaller target is refused");
	ok_contains(msg, "smaller than the device", "repo: ... and says so");
	ok(file_size(path("t3")) == (int64_t)SIZE - 1 && !is_hole(path("t3"), 0, 4096),
	   "repo: ... the target untouched");
	ok_eq(restore(r, "00000002", "nodisk", path("t1")), -ENOENT, "repo: restore of a device not in the point fails");
	ok_eq(restore(r, "00000077", "disk0", path("t1")), -ENOENT, "repo: restore of a missing point fails");
	ok_eq(restore(r, "2", "disk0", path("t1")), -EINVAL, "repo: restore of a malformed id fails");
}

/* A point is written by a child that dies before the commit. */
static void crash_in_child(void)
{
	struct repo_changes none = { NULL, 0 };
	struct repo_source s = { .name = "disk0", .size = SIZE, .block_size = BS, .changes = &none };
	struct repo_point *pt;
	struct repo *r;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		r = open_repo();
		s.fd = open(path("src"), O_RDONLY);
		if (!r || repo_point_begin(r, "00000003", &pt, msg) ||
		    repo_point_add_device(pt, &s, msg))
			_exit(1);
		_exit(0);	/* no commit, no cleanup: a crash */
	}
	waitpid(pid, NULL, 0);
}

static void test_crash(struct repo *r)
{
	struct repo_source s = { .name = "disk0", .size = SIZE, .block_size = BS };
	struct repo_changes none = { NULL, 0 };
	struct repo_point *pt = NULL, *other;
	struct repo *r2 = open_repo();
	size_t good;

	s.changes = &none;
	s.fd = open(path("src"), O_RDONLY);
	ok(!repo_point_begin(r, "00000003", &pt, msg) && !repo_point_add_device(pt, &s, msg),
	   "repo: a point with data written");
	ok_eq(repo_point_begin(r2, NULL, &other, msg), -EBUSY, "repo: a second writer is refused");
	ok_eq(repo_prune(r2, 1, &good, msg), -EBUSY, "repo: a prune while a point is written is refused");
	ok_eq(repo_point_begin(r, NULL, &other, msg), -EBUSY, "repo: a second point on one handle is refused");
	repo_point_abort(pt);
	ok(count_points(r, &good) == 3 && good == 3 && !leftovers(),
	   "repo: abort after writing data: the three points, nothing else");

	crash_in_child();
	if (mkdir(path("repo/.tmp-00000099"), 0700))
		abort();
	write_text(path("repo/.tmp-00000099/manifest.json"), "{}");
	ok(leftovers() == 2, "repo: a crash left temporary directories");
	ok(count_points(r, &good) == 3 && good == 3, "repo: list shows only the complete points");
	ok_eq(verify(r, NULL, NULL), 0, "repo: verify ignores them");
	ok_eq(repo_point_begin(r2, "00000003", &pt, msg), 0, "repo: the next writer starts");
	ok(leftovers() == 1 && file_size(path("repo/.tmp-00000004/disk0.img")) < 0,
	   "repo: ... having removed what the crash left");
	repo_point_abort(pt);
	ok(!leftovers(), "repo: abort removes the point's directory");
	repo_close(r2);
	close(s.fd);
}

/* Point 90 with the manifest @text: list, verify and restore refuse it cleanly. */
static void bad_manifest(struct repo *r, const char *text, const char *what, const char *why)
{
	struct repo_list l;
	int listed;

	write_text(path("repo/00000090/manifest.json"), text);
	listed = !repo_list(r, &l, msg) && l.count == 4 && l.points[3].err == -EBADMSG &&
		 !strcmp(l.points[3].id, "00000090") && !l.points[3].ndevices &&
		 strstr(l.points[3].errmsg, why) && !l.points[2].err;
	if (!listed && l.count == 4)
		tap_diag("errmsg: %s", l.points[3].errmsg ? l.points[3].errmsg : "(null)");
	ok(listed, "repo: %s manifest: list marks that point only", what);
	repo_list_free(&l);
	ok_eq(verify(r, NULL, NULL), 1, "repo: %s manifest: verify all fails that point", what);
	ok_eq(verify(r, "00000090", NULL), -EBADMSG, "repo: %s manifest: verify of the point fails", what);
	ok_eq(restore(r, "00000090", "disk0", path("t1")), -EBADMSG, "repo: %s manifest: restore fails", what);
	ok_contains(msg, why, "repo: %s manifest: ... saying why", what);
}

static void test_bad_manifests(struct repo *r)
{
	static char good[8192];
	char half[4096];
	int fd = open(path("repo/00000001/manifest.json"), O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, good, sizeof(good) - 1);
	char *p;

	close(fd);
	if (n <= 0 || mkdir(path("repo/00000090"), 0700))
		abort();
	good[n] = 0;
	snprintf(half, sizeof(half), "%.*s", (int)(n / 2), good);
	bad_manifest(r, half, "a truncated", "truncated");
	bad_manifest(r, "", "an empty", "truncated");
	bad_manifest(r, "not json", "a garbage", "not JSON");
	bad_manifest(r, "[1, 2]", "an array", "not one JSON object");
	/* The point 1 manifest, moved to id 90. */
	p = strstr(good, "\"00000001\"");
	memcpy(p + 1, "00000090", 8);
	write_text(path("repo/00000090/manifest.json"), good);
	ok_eq(verify(r, "00000090", NULL), 1, "repo: a copied manifest without its files does not verify");
	p = strstr(good, "\"size\":");
	memcpy(p, "\"sixe\":", 7);
	bad_manifest(r, good, "a field missing from a", "'size'");
	memcpy(p, "\"size\":", 7);
	p = strstr(good, "\"disk0.img\"");
	memcpy(p, "\"../k0.img\"", 11);
	bad_manifest(r, good, "an outside file in a", "'data_file'");
	unlink(path("repo/00000090/manifest.json"));
	rmdir(path("repo/00000090"));
}

static void test_clone_errors(struct repo *r)
{
	struct repo_changes none = { NULL, 0 };
	struct repo_source s = { .name = "disk0", .size = SIZE, .block_size = BS, .changes = &none };
	struct repo_point *pt;
	char id[REPO_ID_SIZE];
	struct repo_list l;

	clone_errno = EXDEV;
	ok_eq(make_point(r, "00000003", path("src"), &none, id), 0, "repo: FICLONE fails with EXDEV: point made");
	ok(!repo_list(r, &l, msg) && l.count == 4 && l.points[3].devices[0].clone == REPO_CLONE_COPY,
	   "repo: ... by copying, and list says so");
	repo_list_free(&l);
	ok(same_file(image_of(r, id), path("v2")), "repo: ... the copy equals its parent");
	clone_errno = EIO;
	s.fd = open(path("src"), O_RDONLY);
	if (repo_point_begin(r, id, &pt, msg))
		abort();
	ok_eq(repo_point_add_device(pt, &s, msg), -EIO, "repo: FICLONE fails with EIO: the device fails");
	ok_contains(msg, "cloning", "repo: ... saying so");
	repo_point_abort(pt);
	close(s.fd);
	clone_errno = 0;
}

static void test_prune(struct repo *r)
{
	struct repo_changes none = { NULL, 0 };
	char id[REPO_ID_SIZE];
	size_t removed = 0, good;

	ok_eq(repo_prune(r, 0, &removed, msg), -EINVAL, "repo: prune keeping nothing is refused");
	if (mkdir(path("repo/.tmp-pruned-00000001"), 0700))
		abort();
	ok_eq(repo_prune(r, 2, &removed, msg), 0, "repo: prune --keep 2");
	ok(removed == 2 && count_points(r, &good) == 2 && good == 2 && !leftovers(),
	   "repo: ... two points removed, two left, nothing else");
	ok(file_size(path("repo/00000001")) < 0 && file_size(path("repo/00000003")) >= 0,
	   "repo: ... the oldest ones");
	ok_eq(verify(r, NULL, NULL), 0, "repo: the points left verify");
	make_target(path("t4"), 0);
	ok(!restore(r, "00000003", "disk0", path("t4")) && same_file(path("t4"), path("v2")),
	   "repo: a point whose parent is gone restores");
	make_target(path("t5"), 0);
	ok(!restore(r, "00000004", "disk0", path("t5")) && same_file(path("t5"), path("v2")),
	   "repo: the newest restores");
	ok_eq(make_point(r, "00000004", path("src"), &none, id), 0, "repo: an increment after prune");
	ok(!strcmp(id, "00000005") && same_file(image_of(r, id), path("v2")),
	   "repo: ... gets the next id and its parent's data");
	ok_eq(repo_prune(r, 5, &removed, msg), 0, "repo: prune keeping more than there are");
	ok(!removed && count_points(r, &good) == 3, "repo: ... removes nothing");
}

/* Whether FICLONE works in the test's directory. */
static int reflink_works(void)
{
	int a = open(path("probe-a"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	int b = open(path("probe-b"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	int works;

	fill(a, 0, 64 * KiB, 1);
	works = !__real_ioctl(b, FICLONE, a);
	close(a);
	close(b);
	unlink(path("probe-a"));
	unlink(path("probe-b"));
	return works;
}

static int remove_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

void test_repo(void)
{
	const char *tmp = getenv("TMPDIR");
	struct repo *r;
	int reflink;

	snprintf(top, sizeof(top), "%s/blksnap-repo-test.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(top)) {
		ok(0, "repo: temporary directory %s: %s", top, strerror(errno));
		return;
	}
	snprintf(repo_dir, sizeof(repo_dir), "%s/repo", top);
	mock_set(kernel_ioctl);
	reflink = reflink_works();
	test_create_open();
	r = open_repo();
	if (r) {
		test_points(r, reflink);
		test_verify(r);
		test_restore(r);
		test_crash(r);
		test_bad_manifests(r);
		test_clone_errors(r);
		test_prune(r);
		repo_close(r);
	}
	mock_set(NULL);
	nftw(top, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}
