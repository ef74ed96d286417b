// SPDX-License-Identifier: GPL-2.0
/*
 * races: test helper for 70-reliability/02-races and 05-security.
 *
 *   races run KO PARAMS SEED SECS STORAGE_DIR STORAGE_BDEV DMBASE STATIC...
 *	Worker threads race for SECS seconds: attach/detach (and filter ctl
 *	queries), two snapshot workers (create/add/take/read image/destroy,
 *	and destroying each other's snapshots), image open/read/close, direct
 *	writes to the originals read back at once, removal and re-creation of
 *	two loop devices (backing files in /tmp) and two dm-linear devices
 *	(over DMBASE), and module unload attempts (with a reload when one
 *	succeeds). Every error must be one the spec documents for that call.
 *	At the end: everything stopped, snapshots destroyed, filters detached,
 *	module refcount 0 and the module unloads, devices removed.
 *	Prints FIGURE lines; exit 0 when all is well.
 *
 *   races perm CTLNODE DEVNODE UUID
 *	Every control ioctl, every BLKFILTER_CTL command and ATTACH/DETACH,
 *	through the given (world-accessible) nodes: each must fail with EPERM.
 *	(On the ftrace backend the filter commands go through CTLNODE.)
 *	Refuses to run (exit 4) with CAP_SYS_ADMIN in the effective set.
 *
 *   races security DSDIR DEV
 *	As root: take a snapshot of DEV with its storage an unnamed file in
 *	DSDIR (a file system of its own); the control device and the image
 *	must be 0600 root:root; children as nobody and as root without
 *	CAP_SYS_ADMIN cannot open them and get EPERM everywhere (perm) and
 *	change nothing; the storage holds the preserved data yet has no name
 *	and no process has it open or mapped, and it is gone after destroy.
 *
 *   races tryopen PATH rw|ro [PATH rw|ro]...
 *	Prints "OK" or "ERR <ENAME>" for an open of each PATH.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <limits.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <linux/blk-filter.h>	/* and the BLKFILTER_* ioctl numbers */
#include "../helpers.h"
#include <linux/blksnap.h>
#include <linux/capability.h>
#include <linux/dm-ioctl.h>
#include <linux/fs.h>
#include <linux/loop.h>


#define CTL_PATH "/dev/" BLKSNAP_CTL
#define MAXERR 160
#define NSLOT 5
#define LOOP_BASE 40
#define DEV_SECTORS 131072	/* 64 MiB per removable device */
#define BLK 4096

static const char *ename(int err)
{
	const char *n = strerrorname_np(err);

	return n ? n : "UNKNOWN";
}

/* ---- operation kinds, counters and the errors each may return ---- */

enum op {
	OP_ATTACH, OP_DETACH, OP_CTLQ, OP_CREATE, OP_ADD, OP_TAKE, OP_DESTROY,
	OP_COLLECT, OP_WAIT, OP_IMGOPEN, OP_IMGREAD, OP_DEVOPEN, OP_WRITE,
	OP_READBACK, OP_UNLOAD, OP_LOAD, OP_DEVDEL, OP_DEVADD, OP_CTLOPEN,
	NOP
};

static const char *const op_name[NOP] = {
	"attach", "detach", "ctlquery", "create", "add", "take", "destroy",
	"collect", "wait", "imgopen", "imgread", "devopen", "write",
	"readback", "unload", "load", "devdel", "devadd", "ctlopen",
};

/*
 * Errors a call may return in this race, from SPEC.md (and the plain
 * "device went away" errors of open/read/write on a vanishing device).
 * 0-terminated lists.
 */
static const int op_ok_err[NOP][12] = {
	/* unknown filter (module gone), disk gone, already attached */
	[OP_ATTACH] = { ENOENT, ENODEV, EALREADY },
	[OP_DETACH] = { ENOENT },
	[OP_CTLQ] = { ENOENT },
	/* block storage held by the other worker's snapshot */
	[OP_CREATE] = { EBUSY },
	/* no filter, unknown/destroyed snapshot, membership, taken */
	[OP_ADD] = { ENOENT, ESRCH, EALREADY, EBUSY, ENODEV },
	[OP_TAKE] = { ESRCH, ENODEV, EALREADY },
	[OP_DESTROY] = { ESRCH },
	[OP_COLLECT] = { ENODATA },
	[OP_WAIT] = { ENOENT, ESRCH },
	[OP_IMGOPEN] = { ENOENT, ENXIO, ENODEV },
	/* corrupted (device detached or removed) or destroyed image */
	[OP_IMGREAD] = { EIO, ENXIO, ENODEV },
	[OP_DEVOPEN] = { ENOENT, ENXIO, ENODEV },
	/* the device shrank to nothing (loop cleared) before the open */
	[OP_WRITE] = { ENOSPC, ENXIO, ENODEV },
	[OP_READBACK] = { 0 },
	/* in use */
	[OP_UNLOAD] = { EAGAIN, EBUSY },
	[OP_LOAD] = { 0 },
	/* open or still bound; the loop/dm calls are not ours to judge */
	[OP_DEVDEL] = { EBUSY, ENXIO, ENODEV, ENOENT, ENXIO },
	[OP_DEVADD] = { EBUSY, EEXIST, ENXIO, ENODEV },
	/* module unloaded just now */
	[OP_CTLOPEN] = { ENOENT, ENODEV, ENXIO },
};

static unsigned long n_ops[NOP];
static unsigned long n_err[NOP][MAXERR];
static unsigned long n_bad;
static pthread_mutex_t bad_lock = PTHREAD_MUTEX_INITIALIZER;

/* count: record one call of kind @op that ended with error @err (0: ok) */
static int count(enum op op, int err)
{
	const int *ok = op_ok_err[op];
	int i;

	__atomic_fetch_add(&n_ops[op], 1, __ATOMIC_RELAXED);
	if (!err)
		return 0;
	__atomic_fetch_add(&n_err[op][err < MAXERR ? err : 0], 1,
			   __ATOMIC_RELAXED);
	for (i = 0; i < 12 && ok[i]; i++)
		if (ok[i] == err)
			return err;
	pthread_mutex_lock(&bad_lock);
	n_bad++;
	if (n_bad <= 20)
		printf("UNEXPECTED %s: %s\n", op_name[op], ename(err));
	fflush(stdout);
	pthread_mutex_unlock(&bad_lock);
	return err;
}

static void bad(const char *fmt, const char *a, unsigned long long b)
{
	pthread_mutex_lock(&bad_lock);
	n_bad++;
	printf("FAIL: ");
	printf(fmt, a, b);
	printf("\n");
	fflush(stdout);
	pthread_mutex_unlock(&bad_lock);
}

/* ---- small helpers ---- */

static volatile int stop;
/* Set by the unload worker: let go of the module so that it can unload. */
static volatile int drain;
static const char *ko_path, *ko_params;
static const char *storage_dir, *storage_bdev;
static unsigned long long seed;

static unsigned int rnd(unsigned int *st, unsigned int n)
{
	return n ? (unsigned int)rand_r(st) % n : 0;
}

static void msleep(unsigned int ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* The control device; -1 (counted) while the module is not loaded. */
static int ctl_open(void)
{
	int fd = open(CTL_PATH, O_RDWR | O_CLOEXEC);

	count(OP_CTLOPEN, fd < 0 ? errno : 0);
	return fd;
}

/* perm: the control node the filter commands go through (ftrace). */
static int perm_ctl = -1;

/*
 * A filter command on the block device @fd; 0 or the errno. On the ftrace
 * backend the control device carries it, opened for this call only (the
 * unload worker must be able to unload the module). While the module is
 * away that open fails (counted as such): the command finds no filter,
 * ENOENT, as the block device itself answers on a blkfilter kernel.
 */
static int filter_ioctl(int fd, unsigned long cmd, void *arg)
{
	int ctl, err;

	if (!bs_ftrace())
		return ioctl(fd, cmd, arg) ? errno : 0;
	if (perm_ctl >= 0)
		return bs_filter_ioctl_via(perm_ctl, fd, cmd, arg) ? errno : 0;
	ctl = ctl_open();
	if (ctl < 0)
		return ENOENT;
	err = bs_filter_ioctl_via(ctl, fd, cmd, arg) ? errno : 0;
	close(ctl);
	return err;
}

static int blkfilter_ctl(int fd, const char *name, unsigned int cmd,
			 void *opt, unsigned int len)
{
	struct blkfilter_ctl ctl;

	memset(&ctl, 0, sizeof(ctl));
	memcpy(ctl.name, name, strnlen(name, sizeof(ctl.name)));
	ctl.cmd = cmd;
	ctl.optlen = len;
	ctl.opt = (uintptr_t)opt;
	return filter_ioctl(fd, BLKFILTER_CTL, &ctl);
}

/* Blocks in the change table of the device, or UINT32_MAX if unknown. */
static uint32_t cbt_blocks(int fd)
{
	struct blksnap_cbtinfo info;

	if (blkfilter_ctl(fd, "blksnap", BLKFILTER_CTL_BLKSNAP_CBTINFO, &info,
			  sizeof(info)))
		return UINT32_MAX;
	return info.block_count;
}

static int filter_op(int fd, unsigned long cmd)
{
	struct blkfilter_name name = { .name = "blksnap" };

	return filter_ioctl(fd, cmd, &name);
}

static int refcnt(void)
{
	return module_refcnt("blksnap");
}

static int module_load(void)
{
	int ko = open(ko_path, O_RDONLY | O_CLOEXEC), err = 0;

	if (ko < 0)
		return errno;
	if (syscall(SYS_finit_module, ko, ko_params, 0))
		err = errno;
	close(ko);
	return err;
}

static int module_unload(void)
{
	return syscall(SYS_delete_module, "blksnap", O_NONBLOCK) ? errno : 0;
}

/* ---- the devices: one static disk, two loops, two dm-linear ---- */

enum { K_STATIC, K_LOOP, K_DM };

struct slot {
	pthread_mutex_t lock;
	int kind, num;
	int present;		/* set up and usable */
	unsigned int downs;	/* times taken down */
	char path[64];		/* the node while present */
	char backing[64];	/* loop: backing file */
};

static struct slot slots[NSLOT];
static int nslot;
static char dm_base[32];	/* "MAJ:MIN" of the disk under the dm devices */

/* slot_path: copy the node of a present device; 0 if absent */
static int slot_path(struct slot *s, char *buf, size_t len)
{
	int ok;

	pthread_mutex_lock(&s->lock);
	ok = s->present;
	if (ok)
		snprintf(buf, len, "%s", s->path);
	pthread_mutex_unlock(&s->lock);
	return ok;
}

static int dm_cmd(unsigned long cmd, const char *name, int table,
		  unsigned int *minor)
{
	union {
		struct dm_ioctl io;
		char buf[4096];
	} u;
	struct dm_target_spec *ts;
	int fd, err = 0;

	memset(&u, 0, sizeof(u));
	u.io.version[0] = DM_VERSION_MAJOR;
	u.io.data_size = sizeof(u);
	u.io.data_start = sizeof(u.io);
	snprintf(u.io.name, sizeof(u.io.name), "%s", name);
	if (table) {
		ts = (void *)(u.buf + sizeof(u.io));
		ts->sector_start = 0;
		ts->length = DEV_SECTORS;
		snprintf(ts->target_type, sizeof(ts->target_type), "linear");
		/* Each dm device maps its own 64 MiB of the base disk. */
		snprintf((char *)(ts + 1), 64, "%s %llu", dm_base,
			 (unsigned long long)table * 2 * DEV_SECTORS);
		u.io.target_count = 1;
	}
	fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno;
	if (ioctl(fd, cmd, &u.io))
		err = errno;
	else if (minor)
		*minor = minor(u.io.dev);
	close(fd);
	return err;
}

static int dm_up(struct slot *s)
{
	char name[32];
	unsigned int minor = 0;
	int err;

	snprintf(name, sizeof(name), "bsrace%d", s->num);
	err = dm_cmd(DM_DEV_CREATE, name, 0, &minor);
	if (err)
		return err;
	err = dm_cmd(DM_TABLE_LOAD, name, s->num + 1, NULL);
	if (!err)
		err = dm_cmd(DM_DEV_SUSPEND, name, 0, &minor);
	if (err) {
		dm_cmd(DM_DEV_REMOVE, name, 0, NULL);
		return err;
	}
	snprintf(s->path, sizeof(s->path), "/dev/dm-%u", minor);
	return 0;
}

static int dm_down(struct slot *s)
{
	char name[32];

	snprintf(name, sizeof(name), "bsrace%d", s->num);
	return dm_cmd(DM_DEV_REMOVE, name, 0, NULL);
}

static int loop_ctl(unsigned long cmd, int num)
{
	int fd = open("/dev/loop-control", O_RDWR | O_CLOEXEC), err = 0;

	if (fd < 0)
		return errno;
	if (ioctl(fd, cmd, num) < 0)
		err = errno;
	close(fd);
	return err;
}

static int loop_up(struct slot *s, int add)
{
	struct loop_config cfg;
	int fd, bf, err = 0;

	if (add) {
		err = loop_ctl(LOOP_CTL_ADD, s->num);
		/* EEXIST: a delete refused while open; configure it again. */
		if (err && err != EEXIST)
			return err;
		err = 0;
	}
	snprintf(s->path, sizeof(s->path), "/dev/loop%d", s->num);
	bf = open(s->backing, O_RDWR | O_CLOEXEC);
	if (bf < 0)
		return errno;
	fd = open(s->path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		close(bf);
		return err;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = bf;
	if (ioctl(fd, LOOP_CONFIGURE, &cfg))
		err = errno;
	/*
	 * Still bound, its clear deferred to the last close (a snapshot's
	 * destroy): usable until then, and writes after it get ENOSPC.
	 */
	if (err == EBUSY)
		err = 0;
	close(fd);
	close(bf);
	return err;
}

/* Clear the backing file; with @del, delete the disk too. */
static int loop_down(struct slot *s, int del)
{
	int fd, err = 0, i;

	fd = open(s->path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno;
	if (ioctl(fd, LOOP_CLR_FD, 0))
		err = errno;
	close(fd);
	/*
	 * ENXIO: not bound. A clear deferred while a snapshot held the loop
	 * happens at its destroy, also after the slot was configured again
	 * (LOOP_CONFIGURE said EBUSY then): delete it all the same.
	 */
	if (err == ENXIO && del)
		err = 0;
	if (err || !del)
		return err;
	/* Deferred while somebody has it open: retry for a moment. */
	for (i = 0; i < 20; i++) {
		err = loop_ctl(LOOP_CTL_REMOVE, s->num);
		if (err != EBUSY)
			break;
		msleep(10);
	}
	return err;
}

static int slot_up(struct slot *s, int add)
{
	if (s->kind == K_LOOP)
		return loop_up(s, add);
	if (s->kind == K_DM)
		return dm_up(s);
	return 0;
}

/* ---- workers ---- */

struct worker {
	pthread_t th;
	const char *name;
	void *(*fn)(void *);
	int idx;
	unsigned int rs;
	unsigned long iters;
	double last;		/* time of the last finished iteration */
};

static void *attach_worker(void *arg)
{
	struct worker *w = arg;
	char path[64];
	unsigned char buf[64];
	struct blksnap_cbtmap map;
	int fd, r;

	while (!stop) {
		struct slot *s = &slots[rnd(&w->rs, nslot)];

		w->iters++;
		w->last = now();
		if (!slot_path(s, path, sizeof(path))) {
			msleep(5);
			continue;
		}
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (count(OP_DEVOPEN, fd < 0 ? errno : 0))
			continue;
		r = drain ? 10 : rnd(&w->rs, 20);
		if (r < 9) {
			count(OP_ATTACH, filter_op(fd, BLKFILTER_ATTACH));
		} else if (r < 16) {
			count(OP_DETACH, filter_op(fd, BLKFILTER_DETACH));
		} else if (r < 18) {
			struct blksnap_cbtinfo info;

			count(OP_CTLQ, blkfilter_ctl(fd, "blksnap",
				BLKFILTER_CTL_BLKSNAP_CBTINFO, &info,
				sizeof(info)));
		} else if (r < 19) {
			struct blksnap_snapshotinfo si;

			count(OP_CTLQ, blkfilter_ctl(fd, "blksnap",
				BLKFILTER_CTL_BLKSNAP_SNAPSHOTINFO, &si,
				sizeof(si)));
		} else {
			int err;

			map.offset = 0;
			map.length = sizeof(buf);
			map.buffer = (uintptr_t)buf;
			err = blkfilter_ctl(fd, "blksnap",
					    BLKFILTER_CTL_BLKSNAP_CBTMAP, &map,
					    sizeof(map));
			/*
			 * A range past the table's end: documented, and the
			 * table of a device attached while it was empty (a
			 * loop device cleared) is that short.
			 */
			if (err == EINVAL && cbt_blocks(fd) < map.length)
				err = 0;
			count(OP_CTLQ, err);
		}
		close(fd);
		msleep(rnd(&w->rs, 30));
	}
	return NULL;
}

/* Read a few pieces of an image; 1 if the image could be opened. */
static int image_read(const char *path, unsigned int *rs)
{
	unsigned long long size = 0;
	void *buf;
	int fd, i;

	fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (count(OP_IMGOPEN, fd < 0 ? errno : 0))
		return 0;
	if (posix_memalign(&buf, BLK, 65536)) {
		close(fd);
		return 0;
	}
	if (ioctl(fd, BLKGETSIZE64, &size))
		size = 0;
	for (i = 0; i < 4 && size >= 65536; i++) {
		off_t off = (off_t)rnd(rs, size / 65536) * 65536;
		ssize_t n = pread(fd, buf, 65536, off);

		/* 0: the disk was deleted meanwhile (capacity 0). */
		count(OP_IMGREAD, n < 0 ? errno : 0);
		if (n <= 0)
			break;
	}
	free(buf);
	close(fd);
	return 1;
}

static void image_name(char *buf, size_t len, const char *dev)
{
	struct stat st;

	buf[0] = 0;
	if (!stat(dev, &st))
		snprintf(buf, len, "/dev/blksnap-image_%u:%u",
			 major(st.st_rdev), minor(st.st_rdev));
}

static void *snap_worker(void *arg)
{
	struct worker *w = arg;
	struct blksnap_snapshot_create c;
	struct blksnap_snapshotadd a;
	char path[64], img[4][64];
	int ctl, fd, i, n, nimg;

	while (!stop) {
		w->last = now();
		if (drain) {
			msleep(20);
			continue;
		}
		w->iters++;
		ctl = ctl_open();
		if (ctl < 0) {
			msleep(50);
			continue;
		}
		memset(&c, 0, sizeof(c));
		/* Worker 0: O_TMPFILE in a directory; 1: a block device. */
		if (w->idx == 0) {
			c.diff_storage_filename = (uintptr_t)storage_dir;
			c.diff_storage_limit_sect = 65536;
		} else {
			c.diff_storage_filename = (uintptr_t)storage_bdev;
		}
		if (count(OP_CREATE, ioctl(ctl, IOCTL_BLKSNAP_SNAPSHOT_CREATE,
					   &c) ? errno : 0)) {
			close(ctl);
			msleep(20);
			continue;
		}
		memcpy(&a.id, &c.id, sizeof(a.id));
		n = 1 + rnd(&w->rs, 3);
		nimg = 0;
		for (i = 0; i < n; i++) {
			struct slot *s = &slots[rnd(&w->rs, nslot)];

			if (!slot_path(s, path, sizeof(path)))
				continue;
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (count(OP_DEVOPEN, fd < 0 ? errno : 0))
				continue;
			count(OP_ATTACH, filter_op(fd, BLKFILTER_ATTACH));
			if (!count(OP_ADD, blkfilter_ctl(fd, "blksnap",
				BLKFILTER_CTL_BLKSNAP_SNAPSHOTADD, &a,
				sizeof(a))))
				image_name(img[nimg++], sizeof(img[0]), path);
			close(fd);
		}
		if (!count(OP_TAKE, ioctl(ctl, IOCTL_BLKSNAP_SNAPSHOT_TAKE,
					  &c.id) ? errno : 0)) {
			struct blksnap_snapshot_event *ev;

			for (i = 0; i < nimg; i++)
				image_read(img[i], &w->rs);
			ev = calloc(1, sizeof(*ev));
			if (ev) {
				memcpy(&ev->id, &c.id, sizeof(ev->id));
				ev->timeout_ms = rnd(&w->rs, 20);
				count(OP_WAIT, ioctl(ctl,
					IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT, ev) ?
					errno : 0);
				free(ev);
			}
			msleep(rnd(&w->rs, 100));
		}
		/* Sometimes destroy the other worker's snapshots as well. */
		if (!rnd(&w->rs, 5)) {
			struct blksnap_uuid ids[16];
			struct blksnap_snapshot_collect cl = {
				.count = 16, .ids = (uintptr_t)ids };

			if (!count(OP_COLLECT, ioctl(ctl,
				IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &cl) ?
				errno : 0))
				for (i = 0; i < (int)cl.count; i++)
					count(OP_DESTROY, ioctl(ctl,
						IOCTL_BLKSNAP_SNAPSHOT_DESTROY,
						&ids[i]) ? errno : 0);
		}
		count(OP_DESTROY, ioctl(ctl, IOCTL_BLKSNAP_SNAPSHOT_DESTROY,
					&c.id) ? errno : 0);
		close(ctl);
	}
	return NULL;
}

static void *image_worker(void *arg)
{
	struct worker *w = arg;
	char names[16][64];
	struct dirent *de;
	DIR *d;
	int n;

	while (!stop) {
		w->iters++;
		w->last = now();
		n = 0;
		d = opendir("/dev");
		while (d && (de = readdir(d)) && n < 16)
			if (!strncmp(de->d_name, "blksnap-image_", 14))
				snprintf(names[n++], sizeof(names[0]),
					 "/dev/%.50s", de->d_name);
		if (d)
			closedir(d);
		if (n)
			image_read(names[rnd(&w->rs, n)], &w->rs);
		else
			msleep(10);
	}
	return NULL;
}

static unsigned int slot_downs(struct slot *s)
{
	unsigned int n;

	pthread_mutex_lock(&s->lock);
	n = s->downs;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/*
 * Before Linux 6.11 ("loop: Fix a race between loop detach and loop
 * open") a loop device in rundown could still be opened, and the loop
 * driver fails its I/O with EIO until the clear is done. That is the loop
 * driver's answer, not the filter's: it is allowed for a loop slot taken
 * down since the path was read, on such kernels only, and counted.
 */
static unsigned long loop_rundown_eio;
static bool loop_open_checks_rundown;

static bool kernel_at_least(unsigned int major, unsigned int minor)
{
	struct utsname u;
	unsigned int ma = 0, mi = 0;

	if (uname(&u) || sscanf(u.release, "%u.%u", &ma, &mi) != 2)
		return true;	/* unknown: allow nothing extra */
	return ma > major || (ma == major && mi >= minor);
}

static int write_err(enum op op, int err, struct slot *s, unsigned int downs)
{
	if (err == EIO && s->kind == K_LOOP && !loop_open_checks_rundown &&
	    slot_downs(s) != downs) {
		__atomic_fetch_add(&loop_rundown_eio, 1, __ATOMIC_RELAXED);
		return err;
	}
	return count(op, err);
}

/* Direct writes to the originals, each read back through the same open. */
static void *write_worker(void *arg)
{
	struct worker *w = arg;
	char path[64], *buf, *chk;
	unsigned long long seq = 0;
	int fd, i;

	if (posix_memalign((void **)&buf, BLK, BLK) ||
	    posix_memalign((void **)&chk, BLK, BLK))
		return NULL;
	while (!stop) {
		int si = rnd(&w->rs, nslot);
		unsigned int downs = slot_downs(&slots[si]);

		w->iters++;
		w->last = now();
		if (!slot_path(&slots[si], path, sizeof(path))) {
			msleep(5);
			continue;
		}
		fd = open(path, O_RDWR | O_DIRECT | O_CLOEXEC);
		if (count(OP_DEVOPEN, fd < 0 ? errno : 0))
			continue;
		for (i = 0; i < 8; i++) {
			off_t off = (off_t)rnd(&w->rs, DEV_SECTORS / 8) * BLK;
			ssize_t n;

			memset(buf, ' ', BLK);
			snprintf(buf, BLK, "races seed %llu slot %d seq %llu\n",
				 seed, si, ++seq);
			n = pwrite(fd, buf, BLK, off);
			if (write_err(OP_WRITE, n < 0 ? errno :
				      n != BLK ? ENOSPC : 0, &slots[si], downs))
				break;
			n = pread(fd, chk, BLK, off);
			if (write_err(OP_READBACK, n < 0 ? errno : 0,
				      &slots[si], downs))
				break;
			if (n != BLK || memcmp(buf, chk, BLK)) {
				bad("%s: block read back differs from the one written (seq %llu)",
				    path, seq);
				break;
			}
		}
		close(fd);
	}
	free(buf);
	free(chk);
	return NULL;
}

static void *remove_worker(void *arg)
{
	struct worker *w = arg;
	int i, err;

	while (!stop) {
		struct slot *s;

		w->iters++;
		w->last = now();
		msleep(100 + rnd(&w->rs, 300));
		s = &slots[rnd(&w->rs, nslot)];
		if (s->kind == K_STATIC)
			continue;
		pthread_mutex_lock(&s->lock);
		i = s->present;
		s->present = 0;
		s->downs += i;
		pthread_mutex_unlock(&s->lock);
		if (i) {
			/* Down: loop clear, loop delete or dm remove. */
			if (s->kind == K_LOOP)
				err = loop_down(s, rnd(&w->rs, 2));
			else
				err = dm_down(s);
			if (count(OP_DEVDEL, err)) {
				/* Still there (busy): keep using it. */
				if (s->kind == K_DM) {
					pthread_mutex_lock(&s->lock);
					s->present = 1;
					pthread_mutex_unlock(&s->lock);
				}
			}
			continue;
		}
		err = slot_up(s, 1);
		if (!count(OP_DEVADD, err)) {
			pthread_mutex_lock(&s->lock);
			s->present = 1;
			pthread_mutex_unlock(&s->lock);
		}
	}
	return NULL;
}

static unsigned long unloads_ok;

static void *unload_worker(void *arg)
{
	struct worker *w = arg;
	int i;

	while (!stop) {
		w->iters++;
		w->last = now();
		msleep(50 + rnd(&w->rs, 200));
		/* Mostly while in use; every eighth try the others let go. */
		drain = !rnd(&w->rs, 8);
		for (i = 0; i < (drain ? 30 : 1) && !stop; i++) {
			if (!count(OP_UNLOAD, module_unload()))
				break;
			if (drain)
				msleep(100);
		}
		if (i == (drain ? 30 : 1) || stop) {
			drain = 0;
			continue;
		}
		unloads_ok++;
		drain = 0;
		/* Workers see the module gone for a moment, then back. */
		msleep(rnd(&w->rs, 300));
		count(OP_LOAD, module_load());
	}
	drain = 0;
	return NULL;
}

/* ---- run ---- */

static int end_checks(void)
{
	struct blksnap_uuid ids[64];
	struct blksnap_snapshot_collect cl = {
		.count = 64, .ids = (uintptr_t)ids };
	char path[64], sys[128], filt[64];
	int ctl, fd, i, err, ret = 0;
	unsigned int u;
	struct dirent *de;
	DIR *d;
	FILE *f;

	if (refcnt() < 0) {
		err = module_load();
		if (err) {
			printf("FAIL: module load at the end: %s\n",
			       ename(err));
			return 1;
		}
	}
	ctl = open(CTL_PATH, O_RDWR | O_CLOEXEC);
	if (ctl < 0 || ioctl(ctl, IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &cl)) {
		printf("FAIL: collect at the end: %s\n", ename(errno));
		return 1;
	}
	printf("# leftover snapshots: %u\n", cl.count);
	for (u = 0; u < cl.count; u++)
		if (ioctl(ctl, IOCTL_BLKSNAP_SNAPSHOT_DESTROY, &ids[u])) {
			printf("FAIL: destroy leftover: %s\n", ename(errno));
			ret = 1;
		}
	close(ctl);
	/* Bring every device back, so that each can be detached. */
	for (i = 0; i < nslot; i++) {
		struct slot *s = &slots[i];

		if (!s->present) {
			err = slot_up(s, 1);
			if (err) {
				printf("FAIL: re-creating %s: %s\n", s->path,
				       ename(err));
				ret = 1;
				continue;
			}
			s->present = 1;
		}
		fd = open(s->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			printf("FAIL: open %s: %s\n", s->path, ename(errno));
			ret = 1;
			continue;
		}
		err = filter_op(fd, BLKFILTER_DETACH);
		if (err && err != ENOENT) {
			printf("FAIL: detach %s: %s\n", s->path, ename(err));
			ret = 1;
		}
		close(fd);
	}
	/* No filter left anywhere, no image, module refcount 0. */
	d = opendir("/sys/block");
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (!strncmp(de->d_name, "blksnap-image_", 14)) {
			printf("FAIL: image %s left\n", de->d_name);
			ret = 1;
		}
		snprintf(sys, sizeof(sys), "/sys/block/%.64s/filter",
			 de->d_name);
		f = bs_ftrace() ? NULL : fopen(sys, "r");
		if (!f)
			continue;
		if (fgets(filt, sizeof(filt), f) && filt[0] != '\n') {
			printf("FAIL: %s still has filter %s", de->d_name,
			       filt);
			ret = 1;
		}
		fclose(f);
	}
	if (d)
		closedir(d);
	/* ftrace: the module lists every device it is attached to. */
	f = bs_ftrace() ? fopen(BS_FTRACE_FILTERS, "r") : NULL;
	if (bs_ftrace() && !f) {
		printf("FAIL: %s: %s\n", BS_FTRACE_FILTERS, strerror(errno));
		ret = 1;
	}
	while (f && fgets(filt, sizeof(filt), f)) {
		printf("FAIL: still attached (%s): %s", BS_FTRACE_FILTERS,
		       filt);
		ret = 1;
	}
	if (f)
		fclose(f);
	if (refcnt() != 0) {
		printf("FAIL: module refcount %d after cleanup\n", refcnt());
		ret = 1;
	}
	err = module_unload();
	if (err) {
		printf("FAIL: unload at the end: %s\n", ename(err));
		ret = 1;
	}
	/* The devices go as well: nobody may hold them any more. */
	for (i = 0; i < nslot; i++) {
		struct slot *s = &slots[i];

		snprintf(path, sizeof(path), "%s", s->path);
		if (s->kind == K_LOOP)
			err = loop_down(s, 1);
		else if (s->kind == K_DM)
			err = dm_down(s);
		else
			err = 0;
		if (err) {
			printf("FAIL: removing %s at the end: %s\n", path,
			       ename(err));
			ret = 1;
		}
	}
	return ret;
}

static int do_run(int argc, char **argv)
{
	static struct worker ws[] = {
		{ .name = "attach", .fn = attach_worker },
		{ .name = "snap0", .fn = snap_worker, .idx = 0 },
		{ .name = "snap1", .fn = snap_worker, .idx = 1 },
		{ .name = "image", .fn = image_worker },
		{ .name = "write", .fn = write_worker },
		{ .name = "remove", .fn = remove_worker },
		{ .name = "unload", .fn = unload_worker },
	};
	const int nw = sizeof(ws) / sizeof(ws[0]);
	double t0, secs, deadline;
	struct stat st;
	int i, j, err, ret = 0;

	if (argc < 10)
		return 2;
	ko_path = argv[2];
	ko_params = argv[3];
	seed = strtoull(argv[4], NULL, 0);
	secs = strtod(argv[5], NULL);
	storage_dir = argv[6];
	storage_bdev = argv[7];
	if (stat(argv[8], &st) || !S_ISBLK(st.st_mode)) {
		printf("FAIL: %s is not a block device\n", argv[8]);
		return 1;
	}
	snprintf(dm_base, sizeof(dm_base), "%u:%u", major(st.st_rdev),
		 minor(st.st_rdev));

	for (i = 9; i < argc && nslot < NSLOT - 4; i++) {
		slots[nslot].kind = K_STATIC;
		snprintf(slots[nslot].path, sizeof(slots[0].path), "%s",
			 argv[i]);
		slots[nslot++].present = 1;
	}
	for (i = 0; i < 2; i++) {
		struct slot *s = &slots[nslot++];

		s->kind = K_LOOP;
		s->num = LOOP_BASE + i;
		snprintf(s->backing, sizeof(s->backing), "/tmp/races-loop%d",
			 i);
		err = open(s->backing, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
		if (err < 0 || ftruncate(err, (off_t)DEV_SECTORS * 512)) {
			printf("FAIL: backing file %s\n", s->backing);
			return 1;
		}
		close(err);
	}
	for (i = 0; i < 2; i++) {
		struct slot *s = &slots[nslot++];

		s->kind = K_DM;
		s->num = i;
	}
	for (i = 0; i < nslot; i++) {
		pthread_mutex_init(&slots[i].lock, NULL);
		if (slots[i].kind == K_STATIC)
			continue;
		err = slot_up(&slots[i], 1);
		if (err) {
			printf("FAIL: setting up device %d: %s\n", i,
			       ename(err));
			return 1;
		}
		slots[i].present = 1;
		printf("# device %d: %s\n", i, slots[i].path);
	}

	loop_open_checks_rundown = kernel_at_least(6, 11);
	/* The backend, read while the module is surely loaded. */
	printf("# filter backend: %s\n", bs_ftrace() ? "ftrace" : "blkfilter");
	t0 = now();
	for (i = 0; i < nw; i++) {
		ws[i].rs = (unsigned int)(seed * 7919 + i);
		ws[i].last = t0;
		if (pthread_create(&ws[i].th, NULL, ws[i].fn, &ws[i])) {
			printf("FAIL: pthread_create\n");
			return 1;
		}
	}
	while (now() - t0 < secs && n_bad < 20)
		msleep(200);
	stop = 1;
	/* No hang: every worker must notice within two minutes. */
	deadline = now() + 120;
	for (i = 0; i < nw; i++) {
		struct timespec ts;
		double left = deadline - now();

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += left > 0 ? (time_t)left : 0;
		if (pthread_timedjoin_np(ws[i].th, NULL, &ts)) {
			printf("FAIL: worker %s did not stop (hung %.0f s after its last iteration)\n",
			       ws[i].name, now() - ws[i].last);
			for (j = i + 1; j < nw; j++)
				if (now() - ws[j].last > 60)
					printf("FAIL: worker %s hung too\n",
					       ws[j].name);
			fflush(stdout);
			/* Leave the stuck state for the kernel's reports. */
			_exit(1);
		}
	}
	secs = now() - t0;

	if (end_checks())
		ret = 1;

	printf("FIGURE races_secs=%.0f seed=%llu unloads_ok=%lu bad=%lu loop_rundown_eio=%lu\n",
	       secs, seed, unloads_ok, n_bad, loop_rundown_eio);
	printf("FIGURE races_iters");
	for (i = 0; i < nw; i++)
		printf(" %s=%lu", ws[i].name, ws[i].iters);
	printf("\nFIGURE races_ops");
	for (i = 0; i < NOP; i++)
		printf(" %s=%lu", op_name[i], n_ops[i]);
	printf("\nFIGURE races_errors");
	for (i = 0; i < NOP; i++)
		for (j = 0; j < MAXERR; j++)
			if (n_err[i][j])
				printf(" %s_%s=%lu", op_name[i],
				       j ? ename(j) : "OTHER", n_err[i][j]);
	printf("\n");
	if (n_bad)
		ret = 1;
	return ret;
}

/* ---- perm ---- */

static int cap_sys_admin_effective(void)
{
	unsigned long long eff = ~0ULL;
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	if (f)
		fclose(f);
	printf("# uid=%u CapEff=%016llx\n", getuid(), eff);
	return !!(eff & (1ULL << 21));
}

static int perm_bad;

static void perm_expect(const char *what, int err)
{
	printf("%s: %s\n", what, err ? ename(err) : "OK");
	if (err != EPERM)
		perm_bad++;
}

static int perm_checks(const char *ctlnode, const char *devnode,
		       const struct blksnap_uuid *idp)
{
	struct blksnap_snapshot_create c;
	struct blksnap_snapshot_collect cl;
	struct blksnap_snapshot_event *ev;
	struct blksnap_uuid id = *idp, ids[4];
	struct blksnap_cbtinfo info;
	struct blksnap_cbtmap map;
	struct blksnap_cbtdirty dirty;
	struct blksnap_sectors range = { 0, 8 };
	struct blksnap_snapshotadd add;
	struct blksnap_snapshotinfo si;
	struct blksnap_version v;
	unsigned char mapbuf[16];
	int ctl, fd;

	if (cap_sys_admin_effective()) {
		printf("FAIL: CAP_SYS_ADMIN is effective: not a test of anything\n");
		return 4;
	}
	perm_bad = 0;
	ctl = open(ctlnode, O_RDWR | O_CLOEXEC);
	fd = open(devnode, O_RDWR | O_CLOEXEC);
	if (ctl < 0 || fd < 0) {
		printf("FAIL: cannot open %s: %s\n", ctl < 0 ? ctlnode :
		       devnode, strerror(errno));
		return 3;
	}
	/* ftrace: the filter commands go through the node given as well. */
	perm_ctl = ctl;
	printf("# filter commands through %s\n", bs_ftrace() ?
	       ctlnode : devnode);

	perm_expect("VERSION", ioctl(ctl, IOCTL_BLKSNAP_VERSION, &v) ?
		    errno : 0);
	memset(&c, 0, sizeof(c));
	c.diff_storage_filename = (uintptr_t)"/tmp";
	c.diff_storage_limit_sect = 65536;
	perm_expect("SNAPSHOT_CREATE", ioctl(ctl,
		    IOCTL_BLKSNAP_SNAPSHOT_CREATE, &c) ? errno : 0);
	perm_expect("SNAPSHOT_TAKE", ioctl(ctl, IOCTL_BLKSNAP_SNAPSHOT_TAKE,
		    &id) ? errno : 0);
	cl.count = 4;
	cl.ids = (uintptr_t)ids;
	perm_expect("SNAPSHOT_COLLECT", ioctl(ctl,
		    IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &cl) ? errno : 0);
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return 1;
	memcpy(&ev->id, &id, sizeof(id));
	ev->timeout_ms = 10;
	perm_expect("SNAPSHOT_WAIT_EVENT", ioctl(ctl,
		    IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT, ev) ? errno : 0);
	free(ev);
	perm_expect("SNAPSHOT_DESTROY", ioctl(ctl,
		    IOCTL_BLKSNAP_SNAPSHOT_DESTROY, &id) ? errno : 0);
	perm_expect("control ioctl nr 99", ioctl(ctl, _IO(BLKSNAP, 99)) ?
		    errno : 0);

	perm_expect("BLKFILTER_CTL CBTINFO", blkfilter_ctl(fd, "blksnap",
		    BLKFILTER_CTL_BLKSNAP_CBTINFO, &info, sizeof(info)));
	map.offset = 0;
	map.length = sizeof(mapbuf);
	map.buffer = (uintptr_t)mapbuf;
	perm_expect("BLKFILTER_CTL CBTMAP", blkfilter_ctl(fd, "blksnap",
		    BLKFILTER_CTL_BLKSNAP_CBTMAP, &map, sizeof(map)));
	dirty.count = 1;
	dirty.dirty_sectors = (uintptr_t)&range;
	perm_expect("BLKFILTER_CTL CBTDIRTY", blkfilter_ctl(fd, "blksnap",
		    BLKFILTER_CTL_BLKSNAP_CBTDIRTY, &dirty, sizeof(dirty)));
	memcpy(&add.id, &id, sizeof(id));
	perm_expect("BLKFILTER_CTL SNAPSHOTADD", blkfilter_ctl(fd, "blksnap",
		    BLKFILTER_CTL_BLKSNAP_SNAPSHOTADD, &add, sizeof(add)));
	perm_expect("BLKFILTER_CTL SNAPSHOTINFO", blkfilter_ctl(fd,
		    "blksnap", BLKFILTER_CTL_BLKSNAP_SNAPSHOTINFO, &si,
		    sizeof(si)));
	perm_expect("BLKFILTER_CTL cmd 99", blkfilter_ctl(fd, "blksnap", 99,
		    &si, sizeof(si)));
	perm_expect("BLKFILTER_CTL other name", blkfilter_ctl(fd, "nosuch",
		    0, &info, sizeof(info)));
	perm_expect("BLKFILTER_ATTACH", filter_op(fd, BLKFILTER_ATTACH));
	perm_expect("BLKFILTER_DETACH", filter_op(fd, BLKFILTER_DETACH));
	perm_ctl = -1;
	close(fd);
	close(ctl);
	printf("%d calls not refused with EPERM\n", perm_bad);
	return perm_bad ? 1 : 0;
}

static int parse_uuid(const char *p, struct blksnap_uuid *id)
{
	int n = 0;

	for (; *p && n < 16; p++) {
		unsigned int b;

		if (*p == '-')
			continue;
		if (sscanf(p, "%2x", &b) != 1)
			return -1;
		id->b[n++] = b;
		p++;
	}
	return n == 16 ? 0 : -1;
}

static int do_perm(int argc, char **argv)
{
	struct blksnap_uuid id;

	if (argc != 5 || parse_uuid(argv[4], &id))
		return 2;
	return perm_checks(argv[2], argv[3], &id);
}

static int do_tryopen(int argc, char **argv)
{
	int fd, i, ret = 0;

	if (argc < 4 || argc % 2)
		return 2;
	for (i = 2; i + 1 < argc; i += 2) {
		fd = open(argv[i], (strcmp(argv[i + 1], "rw") ? O_RDONLY :
				    O_RDWR) | O_CLOEXEC);
		if (fd < 0) {
			printf("ERR %s\n", ename(errno));
			ret = 1;
			continue;
		}
		printf("OK\n");
		close(fd);
	}
	return ret;
}

/* ---- security ---- */

static int sec_fail;

static void sec_bad(const char *what)
{
	printf("FAIL: %s\n", what);
	sec_fail++;
}

/* Run perm_checks() in a child with fewer privileges; its exit status. */
static int perm_child(int nobody, const char *ctlnode, const char *devnode,
		      const struct blksnap_uuid *id, const char *img)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	int status, fd;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid) {
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
			return -1;
		return WEXITSTATUS(status);
	}
	if (nobody) {
		/* All uids non-zero: every capability goes. */
		if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(5);
		/* The real nodes are root-only. */
		fd = open(CTL_PATH, O_RDWR | O_CLOEXEC);
		printf("open %s: %s\n", CTL_PATH, fd < 0 ? ename(errno) : "OK");
		if (fd >= 0 || errno != EACCES)
			_exit(6);
		fd = open(img, O_RDONLY | O_CLOEXEC);
		printf("open %s: %s\n", img, fd < 0 ? ename(errno) : "OK");
		if (fd >= 0 || errno != EACCES)
			_exit(6);
	} else {
		/* Root without CAP_SYS_ADMIN, not even after an exec. */
		if (prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN, 0, 0, 0) ||
		    syscall(SYS_capget, &h, d))
			_exit(5);
		d[0].effective &= ~(1U << CAP_SYS_ADMIN);
		d[0].permitted &= ~(1U << CAP_SYS_ADMIN);
		d[0].inheritable &= ~(1U << CAP_SYS_ADMIN);
		if (syscall(SYS_capset, &h, d))
			_exit(5);
	}
	_exit(perm_checks(ctlnode, devnode, id));
}

static int stamp_dev(const char *dev, char tag, int verify)
{
	char *buf, *exp;
	int fd, b, ret = 0;

	fd = open(dev, (verify ? O_RDONLY : O_WRONLY) | O_DIRECT | O_CLOEXEC);
	if (fd < 0 || posix_memalign((void **)&buf, BLK, BLK) ||
	    posix_memalign((void **)&exp, BLK, BLK))
		return -1;
	for (b = 0; b < 256 && !ret; b++) {
		memset(exp, ' ', BLK);
		snprintf(exp, BLK, "%c %d\n", tag, b);
		if (verify)
			ret = pread(fd, buf, BLK, (off_t)b * BLK) != BLK ||
			      memcmp(buf, exp, BLK);
		else
			ret = pwrite(fd, exp, BLK, (off_t)b * BLK) != BLK;
	}
	if (!verify && fsync(fd))
		ret = 1;
	free(buf);
	free(exp);
	close(fd);
	return ret;
}

static long long used_kib(const char *dir)
{
	struct statfs st;

	if (statfs(dir, &st))
		return -1;
	return (long long)(st.f_blocks - st.f_bfree) * st.f_bsize / 1024;
}

/* Links of any process's open files or mappings into @dir. */
static int links_into(const char *dir)
{
	char path[600], target[PATH_MAX];
	struct dirent *p, *f;
	const char *sub[] = { "fd", "map_files" };
	DIR *pd, *fd;
	int n = 0, i;
	ssize_t len;

	pd = opendir("/proc");
	while (pd && (p = readdir(pd))) {
		if (p->d_name[0] < '0' || p->d_name[0] > '9')
			continue;
		for (i = 0; i < 2; i++) {
			snprintf(path, sizeof(path), "/proc/%.16s/%s",
				 p->d_name, sub[i]);
			fd = opendir(path);
			while (fd && (f = readdir(fd))) {
				snprintf(path, sizeof(path),
					 "/proc/%.16s/%s/%.256s", p->d_name,
					 sub[i], f->d_name);
				len = readlink(path, target,
					       sizeof(target) - 1);
				if (len <= 0)
					continue;
				target[len] = 0;
				if (!strncmp(target, dir, strlen(dir))) {
					printf("# %s -> %s\n", path, target);
					n++;
				}
			}
			if (fd)
				closedir(fd);
		}
	}
	if (pd)
		closedir(pd);
	return n;
}

/*
 * races security DSDIR DEV: with a taken snapshot of DEV whose storage is
 * an unnamed file in DSDIR (a file system of its own, world-writable).
 */
static int do_security(int argc, char **argv)
{
	struct blksnap_snapshot_create c;
	struct blksnap_snapshotadd a;
	struct blksnap_snapshotinfo si;
	struct blksnap_uuid ids[4];
	struct blksnap_snapshot_collect cl = { .count = 4,
					       .ids = (uintptr_t)ids };
	const char *ds, *dev;
	char img[64], filt[64] = "";
	struct stat st, sc, si_st;
	long long used = 0;
	struct dirent *de;
	int ctl, fd, i, rc, names = 0, calls = 0;
	DIR *d;

	if (argc != 4)
		return 2;
	ds = argv[2];
	dev = argv[3];
	if (stat(dev, &st) || stamp_dev(dev, 'A', 0)) {
		printf("FAIL: cannot stamp %s\n", dev);
		return 1;
	}
	ctl = open(CTL_PATH, O_RDWR | O_CLOEXEC);
	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (ctl < 0 || fd < 0)
		return 3;
	memset(&c, 0, sizeof(c));
	c.diff_storage_filename = (uintptr_t)ds;
	c.diff_storage_limit_sect = 131072;
	if (ioctl(ctl, IOCTL_BLKSNAP_SNAPSHOT_CREATE, &c) ||
	    (memcpy(&a.id, &c.id, sizeof(a.id)), 0) ||
	    filter_op(fd, BLKFILTER_ATTACH) ||
	    blkfilter_ctl(fd, "blksnap", BLKFILTER_CTL_BLKSNAP_SNAPSHOTADD,
			  &a, sizeof(a)) ||
	    ioctl(ctl, IOCTL_BLKSNAP_SNAPSHOT_TAKE, &c.id)) {
		printf("FAIL: snapshot setup: %s\n", ename(errno));
		return 1;
	}
	snprintf(img, sizeof(img), "/dev/blksnap-image_%u:%u",
		 major(st.st_rdev), minor(st.st_rdev));

	/* 1. Root-only nodes. */
	if (stat(CTL_PATH, &sc) || stat(img, &si_st)) {
		sec_bad("no control or image node");
		return 1;
	}
	printf("# %s: %o %u:%u, %s: %o %u:%u\n", CTL_PATH,
	       sc.st_mode & 07777, sc.st_uid, sc.st_gid, img,
	       si_st.st_mode & 07777, si_st.st_uid, si_st.st_gid);
	if ((sc.st_mode & 07777) != 0600 || sc.st_uid || sc.st_gid)
		sec_bad("control device is not 0600 root:root");
	if ((si_st.st_mode & 07777) != 0600 || si_st.st_uid || si_st.st_gid)
		sec_bad("image is not 0600 root:root");

	/* 2. EPERM, through copies of the nodes that anyone may open. */
	unlink("/tmp/sec-ctl");
	unlink("/tmp/sec-dev");
	if (mknod("/tmp/sec-ctl", S_IFCHR | 0666, sc.st_rdev) ||
	    mknod("/tmp/sec-dev", S_IFBLK | 0666, st.st_rdev) ||
	    chmod("/tmp/sec-ctl", 0666) || chmod("/tmp/sec-dev", 0666)) {
		sec_bad("mknod");
		return 1;
	}
	for (i = 0; i < 2; i++) {
		printf("# as %s:\n", i ? "root without CAP_SYS_ADMIN" :
		       "nobody");
		rc = perm_child(!i, "/tmp/sec-ctl", "/tmp/sec-dev", &c.id,
				img);
		if (rc)
			sec_bad(i ? "root without CAP_SYS_ADMIN was not refused everywhere" :
				"nobody was not refused everywhere");
		else
			calls += 16;
	}
	unlink("/tmp/sec-ctl");
	unlink("/tmp/sec-dev");
	/* Nothing changed: the snapshot, its image, the filter. */
	if (ioctl(ctl, IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &cl) || cl.count != 1 ||
	    memcmp(&ids[0], &c.id, sizeof(c.id)))
		sec_bad("the snapshot changed after the refused calls");
	if (blkfilter_ctl(fd, "blksnap", BLKFILTER_CTL_BLKSNAP_SNAPSHOTINFO,
			  &si, sizeof(si)) || si.error_code ||
	    strcmp((char *)si.image, img + 5))
		sec_bad("the device's snapshot changed after the refused calls");
	if (bs_filter_of(major(st.st_rdev), minor(st.st_rdev), filt,
			 sizeof(filt)) || strcmp(filt, "blksnap"))
		sec_bad("the filter changed after the refused calls");

	/* 3. The unnamed storage file holds the preserved data... */
	if (stamp_dev(dev, 'B', 0) || stamp_dev(img, 'A', 1))
		sec_bad("the image does not hold the old data");
	for (i = 0; i < 100 && (used = used_kib(ds)) <= 0; i++)
		msleep(100);
	if (used <= 0)
		sec_bad("the difference storage takes no space");
	/* ...yet has no name, and no process has it open or mapped. */
	d = opendir(ds);
	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			printf("# name in the storage folder: %s\n",
			       de->d_name);
			names++;
		}
	if (d)
		closedir(d);
	if (names)
		sec_bad("the storage folder is not empty");
	if (links_into(ds))
		sec_bad("a process has a file of the storage folder");
	/* It vanishes with the snapshot. */
	if (ioctl(ctl, IOCTL_BLKSNAP_SNAPSHOT_DESTROY, &c.id))
		sec_bad("destroy");
	if (used_kib(ds) != 0)
		sec_bad("storage space still used after destroy");
	if (!stat(img, &si_st))
		sec_bad("image node left after destroy");
	if (filter_op(fd, BLKFILTER_DETACH))
		sec_bad("detach");
	close(fd);
	close(ctl);
	printf("FIGURE security_eperm_calls=%d security_identities=2 security_storage_kib=%lld\n",
	       calls, used);
	return sec_fail ? 1 : 0;
}

int main(int argc, char **argv)
{
	int ret = 2;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "run"))
		ret = do_run(argc, argv);
	else if (argc >= 2 && !strcmp(argv[1], "perm"))
		ret = do_perm(argc, argv);
	else if (argc >= 2 && !strcmp(argv[1], "security"))
		ret = do_security(argc, argv);
	else if (argc >= 2 && !strcmp(argv[1], "tryopen"))
		ret = do_tryopen(argc, argv);
	if (ret == 2)
		fprintf(stderr,
			"usage: races run KO PARAMS SEED SECS STORAGE_DIR STORAGE_BDEV DMBASE STATIC...\n"
			"       races perm CTLNODE DEVNODE UUID\n"
			"       races tryopen PATH rw|ro [PATH rw|ro]...\n");
	return ret;
}
