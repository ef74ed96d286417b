// SPDX-License-Identifier: GPL-2.0
/*
 * integrity: data integrity of two devices in one snapshot under a large
 * number of random overwrites.
 *
 *   integrity DEV0 DEV1 STORAGE [WRITES]
 *
 * Every 512-byte sector holds a stamp: (device, sector, sequence number of
 * the write) and a fill derived from them, so a sector is checked with one
 * memcmp against a regenerated stamp. An in-memory model keeps the sequence
 * number each sector of each original must hold; a copy of it taken at the
 * take is what each image must show.
 *
 * One round: take a snapshot of both devices (difference storage STORAGE,
 * ioctls issued directly), run WRITES (default 100000) random overwrites of
 * 512 B - 1 MiB, O_DIRECT and buffered, from several threads that never
 * write the same 4 KiB page at once, while reader threads check random
 * ranges of the images (one with pread(), one with batches of O_DIRECT
 * reads of up to 1 MiB) and of the originals, under the same page locks.
 * Then SNAPSHOTINFO must show no error, every sector of each image must
 * hold its pre-take stamp and every sector of each original the stamp of
 * its last write; then the snapshot is destroyed.
 *
 * BLKSNAP_SEED seeds the choices (printed as "# seed=N"); BLKSNAP_SOAK=S
 * repeats rounds for S seconds. Figures go to stdout as "FIGURE ..." lines.
 * Exit status 0 when nothing mismatched, 1 otherwise.
 *
 * faults.c includes this file with INTEGRITY_NO_MAIN for the common parts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/aio_abi.h>
#include <linux/fs.h>
#include <linux/blk-filter.h>	/* and the BLKFILTER_* ioctl numbers */
#include "../helpers.h"
#include <linux/blksnap.h>


#define SECT 512
#define WORDS (SECT / 8)
#define PAGE_SECTS 8		/* writers own whole 4 KiB pages */
#define MAX_SECTS 2048		/* 1 MiB */
#define STAMP_MAGIC 0x626c6b736e617000ull	/* "blksnap\0" */
#define MAX_REPORTS 10

struct dev {
	const char *path;
	int id;
	int fd_d, fd_b;			/* original: O_DIRECT, buffered */
	int img_d, img_b;		/* image: O_DIRECT, buffered */
	char img[64];
	uint64_t nsect;
	uint32_t *model;		/* seq of the last acknowledged write */
	uint32_t *pre;			/* seq at the take: the image content */
	uint8_t *failed;		/* a write failed since the model's seq */
	uint8_t *busy;			/* page being written or checked */
};

static struct dev devs[2];
static int ndevs;
static pthread_mutex_t busy_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint_fast32_t next_seq = 1;
static atomic_ullong mismatches, bytes_verified, io_errors;
static atomic_int reports;

static const char *ename(int err)
{
	const char *n = strerrorname_np(err);

	return n ? n : "UNKNOWN";
}

static void die(const char *what, int err)
{
	printf("FAIL: %s: %s\n", what, ename(err));
	fflush(stdout);
	exit(1);
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rnd(uint64_t *s, uint64_t n)
{
	return n ? splitmix(s) % n : 0;
}

/* The stamp of one sector: header words, then a xorshift fill. */
static void stamp(uint64_t *w, int dev, uint64_t sector, uint32_t seq)
{
	uint64_t x;
	int i;

	w[0] = STAMP_MAGIC | dev;
	w[1] = sector;
	w[2] = seq;
	x = (sector * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)seq << 32) ^ dev ^
	    STAMP_MAGIC;
	x |= 1;
	for (i = 3; i < WORDS; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		w[i] = x;
	}
}

static void stamp_range(void *buf, int dev, uint64_t sector,
			unsigned int count, uint32_t seq)
{
	for (unsigned int i = 0; i < count; i++)
		stamp((uint64_t *)buf + (size_t)i * WORDS, dev, sector + i, seq);
}

/* Is the sector the complete stamp of some write of (dev, sector)? */
static bool valid_stamp(const uint64_t *w, int dev, uint64_t sector,
			uint32_t *seq)
{
	uint64_t exp[WORDS];

	if (w[0] != (STAMP_MAGIC | (uint64_t)dev) || w[1] != sector ||
	    w[2] > UINT32_MAX)
		return false;
	stamp(exp, dev, sector, w[2]);
	*seq = w[2];
	return !memcmp(exp, w, SECT);
}

static void report(const char *what, struct dev *d, uint64_t sector,
		   uint32_t want, const uint64_t *w)
{
	if (atomic_fetch_add(&reports, 1) >= MAX_REPORTS)
		return;
	printf("MISMATCH %s %s sector %" PRIu64 ": want seq %u, found %016" PRIx64
	       " %" PRIu64 " %" PRIu64 "\n", what, d->path, sector, want, w[0],
	       w[1], w[2]);
}

/*
 * Check sectors against the expected seqs. With @failed, a sector whose
 * last writes failed may also hold the complete stamp of a later write.
 */
static uint64_t check_range(const char *what, struct dev *d, const void *buf,
			    uint64_t sector, unsigned int count,
			    const uint32_t *want, const uint8_t *failed)
{
	uint64_t exp[WORDS], bad = 0;
	uint32_t seq;

	for (unsigned int i = 0; i < count; i++) {
		const uint64_t *w = (const uint64_t *)buf + (size_t)i * WORDS;
		uint64_t s = sector + i;

		stamp(exp, d->id, s, want[s]);
		if (!memcmp(exp, w, SECT))
			continue;
		if (failed && failed[s] && valid_stamp(w, d->id, s, &seq) &&
		    seq > want[s])
			continue;
		report(what, d, s, want[s], w);
		bad++;
	}
	atomic_fetch_add(&mismatches, bad);
	atomic_fetch_add(&bytes_verified, (uint64_t)count * SECT);
	return bad;
}

static int open_or_die(const char *path, int flags)
{
	int fd = open(path, flags);

	if (fd < 0) {
		printf("FAIL: open %s: %s\n", path, ename(errno));
		exit(1);
	}
	return fd;
}

/* Take a range of whole pages for writing or checking; false if busy. */
static bool range_get(struct dev *d, uint64_t sector, unsigned int count)
{
	uint64_t p, first = sector / PAGE_SECTS;
	uint64_t last = (sector + count - 1) / PAGE_SECTS;

	pthread_mutex_lock(&busy_lock);
	for (p = first; p <= last; p++)
		if (d->busy[p])
			break;
	if (p <= last) {
		pthread_mutex_unlock(&busy_lock);
		return false;
	}
	memset(d->busy + first, 1, last - first + 1);
	pthread_mutex_unlock(&busy_lock);
	return true;
}

static void range_put(struct dev *d, uint64_t sector, unsigned int count)
{
	uint64_t first = sector / PAGE_SECTS;
	uint64_t last = (sector + count - 1) / PAGE_SECTS;

	pthread_mutex_lock(&busy_lock);
	memset(d->busy + first, 0, last - first + 1);
	pthread_mutex_unlock(&busy_lock);
}

static void *xalloc(size_t size)
{
	void *p;

	if (posix_memalign(&p, 4096, size))
		die("memory", ENOMEM);
	memset(p, 0, size);
	return p;
}

static void dev_open(struct dev *d, const char *path, int id)
{
	uint64_t bytes;

	d->path = path;
	d->id = id;
	d->fd_d = open_or_die(path, O_RDWR | O_DIRECT);
	d->fd_b = open_or_die(path, O_RDWR);
	if (ioctl(d->fd_d, BLKGETSIZE64, &bytes))
		die("BLKGETSIZE64", errno);
	d->nsect = bytes / SECT;
	d->model = xalloc(d->nsect * sizeof(*d->model));
	d->pre = xalloc(d->nsect * sizeof(*d->pre));
	d->failed = xalloc(d->nsect);
	d->busy = xalloc(d->nsect / PAGE_SECTS + 1);
	d->img_d = d->img_b = -1;
}

/* Write the initial stamps (seq 0) of the whole device. */
static void dev_fill(struct dev *d)
{
	void *buf = xalloc(MAX_SECTS * SECT);
	uint64_t s;

	for (s = 0; s < d->nsect; s += MAX_SECTS) {
		unsigned int n = d->nsect - s < MAX_SECTS ? d->nsect - s :
			MAX_SECTS;

		stamp_range(buf, d->id, s, n, 0);
		if (pwrite(d->fd_d, buf, (size_t)n * SECT, s * SECT) !=
		    (ssize_t)n * SECT)
			die("initial fill", errno);
	}
	memset(d->model, 0, d->nsect * sizeof(*d->model));
	free(buf);
}

/* Read a whole device and check it against @want; returns mismatches. */
static uint64_t dev_verify(const char *what, struct dev *d, int fd,
			   const uint32_t *want, const uint8_t *failed)
{
	void *buf = xalloc(MAX_SECTS * SECT);
	uint64_t s, bad = 0;

	for (s = 0; s < d->nsect; s += MAX_SECTS) {
		unsigned int n = d->nsect - s < MAX_SECTS ? d->nsect - s :
			MAX_SECTS;
		ssize_t r = pread(fd, buf, (size_t)n * SECT, s * SECT);

		if (r != (ssize_t)n * SECT) {
			printf("FAIL: read %s %s at sector %" PRIu64 ": %zd %s\n",
			       what, d->path, s, r, r < 0 ? ename(errno) : "");
			atomic_fetch_add(&io_errors, 1);
			free(buf);
			return bad + 1;
		}
		bad += check_range(what, d, buf, s, n, want, failed);
	}
	free(buf);
	return bad;
}

/* ---- blksnap ioctls ---- */

static int ctl_fd = -1;

static int filter_ctl(int fd, unsigned int cmd, void *opt, unsigned int len)
{
	struct blkfilter_ctl ctl;

	memset(&ctl, 0, sizeof(ctl));
	memcpy(ctl.name, "blksnap", 7);
	ctl.cmd = cmd;
	ctl.optlen = len;
	ctl.opt = (uintptr_t)opt;
	return bs_filter_ioctl(fd, BLKFILTER_CTL, &ctl) ? errno : 0;
}

static int snap_attach(struct dev *d)
{
	struct blkfilter_name name = { .name = "blksnap" };

	if (bs_filter_ioctl(d->fd_d, BLKFILTER_ATTACH, &name) &&
	    errno != EALREADY)
		return errno;
	return 0;
}

static int snap_create(const char *storage, uint64_t limit,
		       struct blksnap_uuid *id)
{
	struct blksnap_snapshot_create c;

	if (ctl_fd < 0)
		ctl_fd = open_or_die("/dev/" BLKSNAP_CTL, O_RDWR);
	memset(&c, 0, sizeof(c));
	c.diff_storage_limit_sect = limit;
	c.diff_storage_filename = (uintptr_t)storage;
	if (ioctl(ctl_fd, IOCTL_BLKSNAP_SNAPSHOT_CREATE, &c))
		return errno;
	*id = c.id;
	return 0;
}

static int snap_add(struct dev *d, const struct blksnap_uuid *id)
{
	struct blksnap_snapshotadd a = { .id = *id };

	return filter_ctl(d->fd_d, BLKFILTER_CTL_BLKSNAP_SNAPSHOTADD, &a,
			  sizeof(a));
}

static int snap_cmd(unsigned long cmd, const struct blksnap_uuid *id)
{
	struct blksnap_uuid u = *id;

	return ioctl(ctl_fd, cmd, &u) ? errno : 0;
}

/* SNAPSHOTINFO: the error code of the device's snapshot and its image. */
static int snap_info(struct dev *d, int *error, char *image, size_t len)
{
	struct blksnap_snapshotinfo info;
	int err;

	memset(&info, 0, sizeof(info));
	err = filter_ctl(d->fd_d, BLKFILTER_CTL_BLKSNAP_SNAPSHOTINFO, &info,
			 sizeof(info));
	if (err)
		return err;
	*error = info.error_code;
	if (image)
		snprintf(image, len, "/dev/%.*s", IMAGE_DISK_NAME_LEN,
			 (char *)info.image);
	return 0;
}

/* Wait for one event of the snapshot; 0, or the ioctl's errno. */
static int snap_event(const struct blksnap_uuid *id, unsigned int ms,
		      struct blksnap_event_corrupted *cr, unsigned int *code)
{
	static struct blksnap_snapshot_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.id = *id;
	ev.timeout_ms = ms;
	if (ioctl(ctl_fd, IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT, &ev))
		return errno;
	*code = ev.code;
	memcpy(cr, ev.data, sizeof(*cr));
	return 0;
}

static void image_open(struct dev *d)
{
	int err, error;

	err = snap_info(d, &error, d->img, sizeof(d->img));
	if (err)
		die("SNAPSHOTINFO", err);
	d->img_d = open_or_die(d->img, O_RDONLY | O_DIRECT);
	d->img_b = open_or_die(d->img, O_RDONLY);
}

static void image_close(struct dev *d)
{
	if (d->img_d >= 0)
		close(d->img_d);
	if (d->img_b >= 0)
		close(d->img_b);
	d->img_d = d->img_b = -1;
}

/* Pick a free range of a random device; aligned to 4 KiB half the time. */
static struct dev *pick_range(uint64_t *rs, unsigned int n, uint64_t *sector)
{
	struct dev *d;

	for (;;) {
		d = &devs[rnd(rs, ndevs)];
		*sector = rnd(rs, d->nsect - n + 1);
		if (rnd(rs, 2))
			*sector &= ~(uint64_t)(PAGE_SECTS - 1);
		if (range_get(d, *sector, n))
			return d;
	}
}

#ifndef INTEGRITY_NO_MAIN

/* Create a snapshot of every device with @storage and take it. */
static void snap_take_all(const char *storage, uint64_t limit,
			  struct blksnap_uuid *id)
{
	int err, i;

	err = snap_create(storage, limit, id);
	if (err)
		die("SNAPSHOT_CREATE", err);
	for (i = 0; i < ndevs; i++) {
		err = snap_attach(&devs[i]);
		if (err)
			die("BLKFILTER_ATTACH", err);
		err = snap_add(&devs[i], id);
		if (err)
			die("SNAPSHOTADD", err);
	}
	err = snap_cmd(IOCTL_BLKSNAP_SNAPSHOT_TAKE, id);
	if (err)
		die("SNAPSHOT_TAKE", err);
}

/* Size of a random write in sectors: mostly small, up to 1 MiB. */
static unsigned int pick_size(uint64_t *rs)
{
	uint64_t r = rnd(rs, 1000);

	if (r < 900)
		return 1 + rnd(rs, 8);
	if (r < 995)
		return 9 + rnd(rs, 56);
	if (r < 997)
		return MAX_SECTS;
	return 65 + rnd(rs, MAX_SECTS - 64);
}

static atomic_ullong writes_done, writes_direct, bytes_written;
static atomic_ullong image_reads, orig_reads, round_reads;
static atomic_bool stop_readers;
static unsigned long long round_writes;
static double deadline, round_start, round_end, round_secs;
static uint64_t seed;

#define NWRITERS 3
#define NREADERS 2	/* one of pread()s, one of deep batches */
#define WRITES_PER_READ 8	/* readers keep to this pace: CPU is scarce */
#define AIO_BATCH 16

struct worker {
	pthread_t thread;
	uint64_t rs;
};

static bool writes_left(void)
{
	unsigned long long n;

	if ((deadline && now() >= deadline) || now() >= round_end)
		return false;
	n = atomic_fetch_add(&writes_done, 1);
	if (n && n % 10000 == 0 && n < round_writes)
		printf("# %llu writes, %.0f s\n", n, now() - round_start);
	return n < round_writes;
}

struct wop {
	struct dev *d;
	uint64_t sector;
	unsigned int n;
	uint32_t seq;
	void *buf;
};

static void write_done(struct wop *op, ssize_t r, bool direct)
{
	struct dev *d = op->d;

	if (r != (ssize_t)op->n * SECT) {
		printf("FAIL: write %s %u sectors at %" PRIu64 " (%s): %zd %s\n",
		       d->path, op->n, op->sector,
		       direct ? "direct" : "buffered", r,
		       r < 0 ? ename(r == -1 ? errno : (int)-r) : "");
		exit(1);
	}
	for (unsigned int i = 0; i < op->n; i++)
		d->model[op->sector + i] = op->seq;
	range_put(d, op->sector, op->n);
	atomic_fetch_add(&bytes_written, (uint64_t)op->n * SECT);
}

/*
 * Random overwrites. Buffered ones go at once (fdatasync now and then);
 * O_DIRECT ones are submitted in batches with Linux AIO: under emulation
 * each request costs milliseconds of device notification, which a batch
 * shares.
 */
static void *writer(void *arg)
{
	struct worker *w = arg;
	struct wop ops[AIO_BATCH];
	struct iocb cbs[AIO_BATCH], *cbp[AIO_BATCH];
	struct io_event ev[AIO_BATCH];
	unsigned int nbuffered = 0, nd = 0, want = 1, i;
	aio_context_t ctx = 0;
	long r;

	if (syscall(SYS_io_setup, AIO_BATCH, &ctx))
		die("io_setup", errno);
	for (i = 0; i < AIO_BATCH; i++)
		ops[i].buf = xalloc(MAX_SECTS * SECT);
	for (;;) {
		bool more = writes_left();
		struct wop *op = &ops[nd];

		if (more) {
			bool direct = rnd(&w->rs, 2);

			op->n = pick_size(&w->rs);
			op->d = pick_range(&w->rs, op->n, &op->sector);
			op->seq = atomic_fetch_add(&next_seq, 1);
			stamp_range(op->buf, op->d->id, op->sector, op->n,
				    op->seq);
			if (!direct) {
				r = pwrite(op->d->fd_b, op->buf,
					   (size_t)op->n * SECT,
					   op->sector * SECT);
				write_done(op, r, false);
				if (++nbuffered % 256 == 0 &&
				    fdatasync(op->d->fd_b))
					die("fdatasync", errno);
				continue;
			}
			memset(&cbs[nd], 0, sizeof(cbs[nd]));
			cbs[nd].aio_fildes = op->d->fd_d;
			cbs[nd].aio_lio_opcode = IOCB_CMD_PWRITE;
			cbs[nd].aio_buf = (uintptr_t)op->buf;
			cbs[nd].aio_nbytes = (size_t)op->n * SECT;
			cbs[nd].aio_offset = op->sector * SECT;
			cbs[nd].aio_data = nd;
			cbp[nd] = &cbs[nd];
			nd++;
		}
		if (nd && (nd >= want || !more)) {
			long got = 0;

			r = syscall(SYS_io_submit, ctx, (long)nd, cbp);
			if (r != (long)nd)
				die("io_submit", r < 0 ? errno : EAGAIN);
			while (got < (long)nd) {
				r = syscall(SYS_io_getevents, ctx, 1L,
					    (long)nd - got, ev, NULL);
				if (r < 0 && errno == EINTR)
					continue;
				if (r < 0)
					die("io_getevents", errno);
				for (i = 0; i < r; i++)
					write_done(&ops[ev[i].data], ev[i].res,
						   true);
				got += r;
			}
			atomic_fetch_add(&writes_direct, nd);
			nd = 0;
			want = 1 + rnd(&w->rs, AIO_BATCH);
		}
		if (!more)
			break;
	}
	syscall(SYS_io_destroy, ctx);
	for (i = 0; i < AIO_BATCH; i++)
		free(ops[i].buf);
	return NULL;
}

/* Read random ranges of the images, sometimes check the originals. */
static void *reader(void *arg)
{
	struct worker *w = arg;
	void *buf = xalloc(MAX_SECTS * SECT);

	while (!atomic_load(&stop_readers)) {
		struct dev *d = &devs[rnd(&w->rs, ndevs)];
		unsigned int n = 1 << rnd(&w->rs, 8);	/* 512 B - 64 KiB */
		uint64_t sector;
		ssize_t r;

		if (atomic_fetch_add(&round_reads, 1) * WRITES_PER_READ >
		    writes_done) {
			atomic_fetch_sub(&round_reads, 1);
			usleep(1000);
			continue;
		}

		if (rnd(&w->rs, 8) == 0) {
			/* The original, under the page locks of the writers. */
			d = pick_range(&w->rs, n, &sector);
			r = pread(d->fd_d, buf, (size_t)n * SECT, sector * SECT);
			if (r != (ssize_t)n * SECT)
				die("read of the original", r < 0 ? errno : EIO);
			check_range("original", d, buf, sector, n, d->model,
				    NULL);
			range_put(d, sector, n);
			atomic_fetch_add(&orig_reads, 1);
			continue;
		}
		sector = rnd(&w->rs, d->nsect - n + 1);
		if (rnd(&w->rs, 4))
			sector &= ~(uint64_t)(PAGE_SECTS - 1);
		r = pread(rnd(&w->rs, 4) ? d->img_d : d->img_b, buf,
			  (size_t)n * SECT, sector * SECT);
		if (r != (ssize_t)n * SECT) {
			printf("FAIL: read %s %u sectors at %" PRIu64 ": %zd %s\n",
			       d->img, n, sector, r, r < 0 ? ename(errno) : "");
			exit(1);
		}
		check_range("image", d, buf, sector, n, d->pre, NULL);
		atomic_fetch_add(&image_reads, 1);
	}
	free(buf);
	return NULL;
}

/*
 * Batches of O_DIRECT image reads of 4 KiB - 1 MiB at page offsets: at
 * queue depth, larger than a chunk and across chunk ends, racing the first
 * writes into their chunks.
 */
static void *deep_reader(void *arg)
{
	struct worker *w = arg;
	struct rop {
		struct dev *d;
		uint64_t sector;
		unsigned int n;
		void *buf;
	} ops[AIO_BATCH];
	struct iocb cbs[AIO_BATCH], *cbp[AIO_BATCH];
	struct io_event ev[AIO_BATCH];
	aio_context_t ctx = 0;
	long r, got, nd, i;

	if (syscall(SYS_io_setup, AIO_BATCH, &ctx))
		die("io_setup", errno);
	for (i = 0; i < AIO_BATCH; i++)
		ops[i].buf = xalloc(MAX_SECTS * SECT);
	while (!atomic_load(&stop_readers)) {
		nd = 1 + rnd(&w->rs, AIO_BATCH);
		if ((atomic_fetch_add(&round_reads, nd) + nd) * WRITES_PER_READ >
		    writes_done) {
			atomic_fetch_sub(&round_reads, nd);
			usleep(1000);
			continue;
		}
		for (i = 0; i < nd; i++) {
			struct rop *op = &ops[i];

			op->d = &devs[rnd(&w->rs, ndevs)];
			op->n = PAGE_SECTS << rnd(&w->rs, 9);
			op->sector = rnd(&w->rs, op->d->nsect - op->n + 1) &
				     ~(uint64_t)(PAGE_SECTS - 1);
			memset(&cbs[i], 0, sizeof(cbs[i]));
			cbs[i].aio_fildes = op->d->img_d;
			cbs[i].aio_lio_opcode = IOCB_CMD_PREAD;
			cbs[i].aio_buf = (uintptr_t)op->buf;
			cbs[i].aio_nbytes = (size_t)op->n * SECT;
			cbs[i].aio_offset = op->sector * SECT;
			cbs[i].aio_data = i;
			cbp[i] = &cbs[i];
		}
		r = syscall(SYS_io_submit, ctx, nd, cbp);
		if (r != nd)
			die("io_submit", r < 0 ? errno : EAGAIN);
		for (got = 0; got < nd; got += r) {
			r = syscall(SYS_io_getevents, ctx, 1L, nd - got, ev, NULL);
			if (r < 0 && errno == EINTR) {
				r = 0;
				continue;
			}
			if (r < 0)
				die("io_getevents", errno);
			for (i = 0; i < r; i++) {
				struct rop *op = &ops[ev[i].data];

				if (ev[i].res != (long long)op->n * SECT) {
					printf("FAIL: deep read %s %u sectors at %" PRIu64 ": %lld\n",
					       op->d->img, op->n, op->sector,
					       (long long)ev[i].res);
					exit(1);
				}
				check_range("image", op->d, op->buf, op->sector,
					    op->n, op->d->pre, NULL);
				atomic_fetch_add(&image_reads, 1);
			}
		}
	}
	syscall(SYS_io_destroy, ctx);
	for (i = 0; i < AIO_BATCH; i++)
		free(ops[i].buf);
	return NULL;
}

static void run_round(const char *storage, int round)
{
	struct worker ws[NWRITERS + NREADERS];
	struct blksnap_event_corrupted cr;
	struct blksnap_uuid id;
	unsigned int code = 0;
	double t = now();
	int i, err, error;

	for (i = 0; i < ndevs; i++)
		memcpy(devs[i].pre, devs[i].model,
		       devs[i].nsect * sizeof(*devs[i].model));
	snap_take_all(storage, 0, &id);
	for (i = 0; i < ndevs; i++)
		image_open(&devs[i]);

	round_start = now();
	round_end = round_secs ? round_start + round_secs : 1e18;
	atomic_store(&writes_done, 0);
	atomic_store(&round_reads, 0);
	atomic_store(&stop_readers, false);
	for (i = 0; i < NWRITERS + NREADERS; i++) {
		ws[i].rs = seed * 1000003 + round * 101 + i;
		if (pthread_create(&ws[i].thread, NULL,
				   i < NWRITERS ? writer :
				   i == NWRITERS ? reader : deep_reader, &ws[i]))
			die("pthread_create", errno);
	}
	for (i = 0; i < NWRITERS; i++)
		pthread_join(ws[i].thread, NULL);
	atomic_store(&stop_readers, true);
	for (; i < NWRITERS + NREADERS; i++)
		pthread_join(ws[i].thread, NULL);
	printf("# round %d: %llu writes in %.0f s%s\n", round,
	       writes_done < round_writes ? writes_done : round_writes,
	       now() - t, writes_done < round_writes ?
	       " (stopped at the time limit)" : "");

	for (i = 0; i < ndevs; i++) {
		struct dev *d = &devs[i];

		if (fdatasync(d->fd_b))
			die("fdatasync", errno);
		err = snap_info(d, &error, NULL, 0);
		if (err)
			die("SNAPSHOTINFO", err);
		if (error) {
			printf("FAIL: snapshot of %s reports error %d\n",
			       d->path, error);
			exit(1);
		}
		dev_verify("image", d, d->img_d, d->pre, NULL);
		dev_verify("original", d, d->fd_d, d->model, NULL);
		image_close(d);
	}
	/* The images must have had something to keep. */
	for (i = 0; i < ndevs; i++) {
		uint64_t s, changed = 0;

		for (s = 0; s < devs[i].nsect; s++)
			changed += devs[i].pre[s] != devs[i].model[s];
		printf("# %s: %" PRIu64 " sectors differ from the image\n",
		       devs[i].path, changed);
		if (!changed) {
			printf("FAIL: nothing was overwritten on %s\n",
			       devs[i].path);
			exit(1);
		}
	}
	/* No corrupted event either. */
	err = snap_event(&id, 0, &cr, &code);
	if (err != ENOENT) {
		printf("FAIL: WAIT_EVENT: %s (code %u)\n", err ? ename(err) : "an event",
		       err ? 0 : code);
		exit(1);
	}
	err = snap_cmd(IOCTL_BLKSNAP_SNAPSHOT_DESTROY, &id);
	if (err)
		die("SNAPSHOT_DESTROY", err);
}

int main(int argc, char **argv)
{
	unsigned long long writes_total = 0;
	const char *env;
	double start, soak = 0;
	int round = 0, i;

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: %s DEV0 DEV1 STORAGE [WRITES]\n",
			argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	round_writes = argc == 5 ? strtoull(argv[4], NULL, 0) : 100000;
	seed = env_seed();
	soak = env_soak();
	/* Bounded runs: at most this long for the writes of a round. */
	env = getenv("BLKSNAP_INTEGRITY_SECS");
	if (!soak)
		round_secs = env && *env ? strtod(env, NULL) : 180;

	start = now();
	for (i = 0; i < 2; i++)
		dev_open(&devs[i], argv[1 + i], i);
	ndevs = 2;
	for (i = 0; i < ndevs; i++) {
		dev_fill(&devs[i]);
		/* Cached pages: buffered writes need no read first. */
		if (dev_verify("original", &devs[i], devs[i].fd_b,
			       devs[i].model, NULL))
			return 1;
	}
	printf("# filled %s and %s: %" PRIu64 " + %" PRIu64 " sectors in %.0f s\n",
	       argv[1], argv[2], devs[0].nsect, devs[1].nsect, now() - start);
	if (soak)
		deadline = start + soak;
	do {
		double t = now();

		run_round(argv[3], ++round);
		writes_total += round_writes < writes_done ? round_writes :
				writes_done;
		printf("# round %d: %llu writes total, %llu mismatches, %.0f s\n",
		       round, writes_total, (unsigned long long)mismatches,
		       now() - t);
	} while (soak && now() < deadline && !mismatches);

	printf("FIGURE writes=%llu writes_direct=%llu bytes_written=%llu image_reads=%llu orig_reads=%llu bytes_verified=%llu mismatches=%llu rounds=%d seed=%" PRIu64 " secs=%.0f\n",
	       writes_total, (unsigned long long)writes_direct,
	       (unsigned long long)bytes_written,
	       (unsigned long long)image_reads,
	       (unsigned long long)orig_reads,
	       (unsigned long long)bytes_verified,
	       (unsigned long long)mismatches, round, seed, now() - start);
	if (mismatches || io_errors) {
		printf("FAIL: %llu mismatches, %llu read errors\n",
		       (unsigned long long)mismatches,
		       (unsigned long long)io_errors);
		return 1;
	}
	return 0;
}
#endif /* INTEGRITY_NO_MAIN */
