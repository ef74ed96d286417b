// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz: a seeded, structure-aware fuzzer of every blksnap control ioctl and
 * every BLKFILTER ioctl / blksnap ctl command.
 *
 *   fuzz [-s SEED] [-n CALLS] [-t SECONDS] [-j THREADS] [-v] [ro:]DEV...
 *
 * Several threads issue calls concurrently on the given block devices
 * ("ro:" marks a device that is only used for ioctls, e.g. the difference
 * storage device, never written). Most calls carry valid-looking structures
 * with one field mutated: lengths, counts, offsets, UUIDs (live snapshots,
 * destroyed ones, random ones), filter names, command numbers, and pointers
 * that are NULL, unmapped, kernel addresses, read-only, or straddle into a
 * guard page. Some direct writes (read back and compared) and snapshot
 * image reads and writes run in between, so that copy-on-write happens.
 *
 * The BLKFILTER ioctls go where the module's filter backend takes them:
 * the block device itself (blkfilter), or the control device, wrapped in
 * IOCTL_BLKSNAP_BDEV_FILTER (ftrace, a stock kernel), where the wrapper
 * itself is fuzzed too: descriptors, commands and argument pointers.
 *
 * Every ioctl result is checked against the errors documented for that
 * call (SPEC.md, docs/design.md, the blkfilter documentation); where the
 * outcome is certain (bad argument pointer, unknown command, stale UUID...)
 * the exact error is required. Any other result prints a "BAD" line and
 * makes the exit status 1. At the end every snapshot the fuzzer created is
 * destroyed, the snapshot list must be empty and the filters are detached.
 *
 * Each thread draws from its own PRNG derived from the seed, so the same
 * seed gives each thread the same sequence of choices (with -j 1 the whole
 * run is reproducible, apart from results that depend on timing: events,
 * EINTR). -n is the total number of ioctls (bounded run); -t runs for that
 * many seconds instead (soak); -v prints every call with its result.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>
#include <linux/blk-filter.h>	/* and the BLKFILTER_* ioctl numbers */
#include "../helpers.h"
#include <linux/blksnap.h>


#define MAX_DEVS	8
#define MAX_THREADS	16
#define MAX_LIVE	6		/* live snapshots the fuzzer keeps */
#define STALE_RING	64
#define BLK		4096
#define REGION_START	(1ULL << 20)	/* written blocks: [1 MiB, 17 MiB) */
#define REGION_BLOCKS	4096
#define BIGBUF		(256 * 1024)	/* valid buffers for tables, arrays */
#define STAMP_MAGIC	0x7a7566667a736e62ULL
#define HANG_SECS	240

/* Errors as bits, so that the allowed results of a call are one mask. */
enum {
	B_OK, B_EPERM, B_ENOENT, B_ESRCH, B_EINTR, B_EIO, B_ENOMEM, B_EFAULT,
	B_EBUSY, B_ENODEV, B_ENOTDIR, B_EINVAL, B_ENOTTY, B_ENOSPC,
	B_ENAMETOOLONG, B_ENODATA, B_EALREADY, B_EAGAIN, B_ENXIO, B_EOPNOTSUPP,
	B_EBADF, B_ENOTBLK, B_OTHER,
};
#define M(x) (1u << B_##x)

static unsigned int ebit(int e)
{
	switch (e) {
	case 0: return B_OK;
	case EPERM: return B_EPERM;
	case ENOENT: return B_ENOENT;
	case ESRCH: return B_ESRCH;
	case EINTR: return B_EINTR;
	case EIO: return B_EIO;
	case ENOMEM: return B_ENOMEM;
	case EFAULT: return B_EFAULT;
	case EBUSY: return B_EBUSY;
	case ENODEV: return B_ENODEV;
	case ENOTDIR: return B_ENOTDIR;
	case EINVAL: return B_EINVAL;
	case ENOTTY: return B_ENOTTY;
	case ENOSPC: return B_ENOSPC;
	case ENAMETOOLONG: return B_ENAMETOOLONG;
	case ENODATA: return B_ENODATA;
	case EALREADY: return B_EALREADY;
	case EAGAIN: return B_EAGAIN;
	case ENXIO: return B_ENXIO;
	case EOPNOTSUPP: return B_EOPNOTSUPP;
	case EBADF: return B_EBADF;
	case ENOTBLK: return B_ENOTBLK;
	default: return B_OTHER;
	}
}

enum op {
	OP_VERSION, OP_CREATE, OP_DESTROY, OP_TAKE, OP_COLLECT, OP_WAIT,
	OP_BADCMD, OP_ATTACH, OP_DETACH, OP_CBTINFO, OP_CBTMAP, OP_CBTDIRTY,
	OP_ADD, OP_INFO, OP_CTLBAD, OP_WRITE, OP_IMAGE, OP_PATH, OP_BDEVFILTER,
	NR_OPS,
};

static const char *const op_name[NR_OPS] = {
	"version", "create", "destroy", "take", "collect", "wait_event",
	"bad_cmd", "attach", "detach", "cbtinfo", "cbtmap", "cbtdirty",
	"snapshotadd", "snapshotinfo", "ctl_bad_cmd", "write", "image_io",
	"random_path", "bdev_filter",
};

/* Relative frequency of each operation (per 1000). */
static const unsigned int op_weight[NR_OPS] = {
	[OP_VERSION] = 40, [OP_CREATE] = 12, [OP_DESTROY] = 6,
	[OP_TAKE] = 4, [OP_COLLECT] = 40, [OP_WAIT] = 20, [OP_BADCMD] = 40,
	[OP_ATTACH] = 8, [OP_DETACH] = 1, [OP_CBTINFO] = 160,
	[OP_CBTMAP] = 180, [OP_CBTDIRTY] = 120, [OP_ADD] = 100,
	[OP_INFO] = 160, [OP_CTLBAD] = 84, [OP_WRITE] = 6, [OP_IMAGE] = 3,
	[OP_PATH] = 6, [OP_BDEVFILTER] = 10,
};

/* How a pointer argument is made. */
enum pkind { P_VALID, P_EDGE, P_STRADDLE, P_NULL, P_UNMAPPED, P_KERNEL,
	     P_RO };
static const char *const pk_name[] = { "valid", "edge", "straddle", "null",
				       "unmapped", "kernel", "ro" };

struct dev {
	const char *path;
	int fd;
	bool writable;
	dev_t rdev;
	uint64_t size;
	uint32_t blk_count;	/* expected CBT table size */
};

struct thr {
	int idx;
	pthread_t th;
	bool done;		/* joined */
	uint64_t rng;
	uint64_t n_calls;	/* ioctls to issue (bounded run) */
	/* valid argument area, big valid buffer, and two areas that end
	 * right before an unmapped guard page */
	char *arg, *buf, *edge_a, *edge_b;
	char *wbuf, *rbuf;	/* O_DIRECT blocks */
	int *wfd;		/* O_DIRECT descriptors of the devices */
	uint64_t seq;
	/* statistics */
	uint64_t calls, bad, writes, image_ios, events, takes, created;
	uint64_t destroyed;
	uint64_t op_calls[NR_OPS], op_ns[NR_OPS];
	uint64_t hist[256];
	/* for the hang watchdog */
	volatile uint64_t call_start;	/* monotonic ns, 0 when not in a call */
	char desc[320];
};

static struct dev devs[MAX_DEVS];
static int ndevs;
static int nthreads = 4;
static bool verbose;		/* -v: print every call and its result */
static int ctl_fd;
static long pagesz;
static char *page_none, *page_ro;
static int null_fd, dir_fd;	/* descriptors of a non-block file */
static bool ftrace;		/* filter backend: see bs_ftrace() */
static volatile int stop;
static uint64_t deadline_ns;
static struct thr threads[MAX_THREADS];

/* Snapshot UUIDs: live (created by us, not destroyed), stale, all. */
static struct {
	pthread_mutex_t lock;
	struct blksnap_uuid live[MAX_LIVE + MAX_THREADS];
	int nlive;
	struct blksnap_uuid stale[STALE_RING];
	unsigned int nstale;
	struct blksnap_uuid *all;
	size_t nall, capall;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rnd64(struct thr *t)
{
	return splitmix(&t->rng);
}

static uint32_t rnd(struct thr *t, uint32_t n)
{
	return n ? rnd64(t) % n : 0;
}

/* true with probability pct % */
static bool chance(struct thr *t, unsigned int pct)
{
	return rnd(t, 100) < pct;
}

static const char *ename(int e)
{
	const char *n = e ? strerrorname_np(e) : "OK";

	return n ? n : "E?";
}

static void describe(struct thr *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->desc, sizeof(t->desc), fmt, ap);
	va_end(ap);
}

static void mask_str(unsigned int mask, char *s, size_t len)
{
	static const int errs[] = { 0, EPERM, ENOENT, ESRCH, EINTR, EIO,
		ENOMEM, EFAULT, EBUSY, ENODEV, ENOTDIR, EINVAL, ENOTTY, ENOSPC,
		ENAMETOOLONG, ENODATA, EALREADY, EAGAIN, ENXIO, EOPNOTSUPP,
		EBADF, ENOTBLK };
	size_t n = 0;

	s[0] = 0;
	for (unsigned int i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
		if (mask & (1u << ebit(errs[i])))
			n += snprintf(s + n, len - n, "%s%s", n ? "," : "",
				      ename(errs[i]));
}

static void bad(struct thr *t, const char *fmt, ...)
{
	va_list ap;

	flockfile(stdout);
	printf("BAD thread=%d call=%" PRIu64 ": ", t->idx, t->calls);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" [%s]\n", t->desc);
	fflush(stdout);
	funlockfile(stdout);
	t->bad++;
}

static bool is_filter_cmd(unsigned long cmd)
{
	return cmd == BLKFILTER_ATTACH || cmd == BLKFILTER_DETACH ||
	       cmd == BLKFILTER_CTL;
}

/*
 * Issue one ioctl and check its result against @allowed. Returns the error
 * (0 on success). A BLKFILTER command goes where the backend takes it.
 */
static int call(struct thr *t, enum op op, int fd, unsigned long cmd,
		void *arg, unsigned int allowed)
{
	uint64_t start = now_ns();
	int ret, e;

	t->call_start = start;
	if (is_filter_cmd(cmd))
		ret = bs_filter_ioctl_via(ctl_fd, fd, cmd, arg);
	else
		ret = ioctl(fd, cmd, arg);
	e = ret ? errno : 0;
	t->call_start = 0;
	t->op_ns[op] += now_ns() - start;
	t->op_calls[op]++;
	t->calls++;
	t->hist[e < 256 ? e : 255]++;
	if (verbose)
		printf("call thread=%d %s -> %s\n", t->idx, t->desc, ename(e));
	if (ret && ret != -1) {
		bad(t, "ioctl returned %d", ret);
	} else if (!(allowed & (1u << ebit(e)))) {
		char s[200];

		mask_str(allowed, s, sizeof(s));
		bad(t, "%s returned %s, allowed: %s", op_name[op], ename(e), s);
	}
	return e;
}

/* A pointer kind: mostly valid. */
static enum pkind pick_kind(struct thr *t)
{
	uint32_t r = rnd(t, 100);

	if (r < 80)
		return P_VALID;
	if (r < 86)
		return P_EDGE;
	if (r < 90)
		return P_STRADDLE;
	if (r < 92)
		return P_NULL;
	if (r < 94)
		return P_UNMAPPED;
	if (r < 96)
		return P_KERNEL;
	return P_RO;
}

static bool kind_bad(enum pkind k)
{
	return k == P_STRADDLE || k == P_NULL || k == P_UNMAPPED ||
	       k == P_KERNEL;
}

/*
 * Make a pointer of kind @k to @size bytes with @content. @area is a valid
 * area, @edge an area that ends before a guard page. For P_STRADDLE the
 * first @cut bytes are readable (set *cut; 1..size-1).
 */
static void *mkptr(struct thr *t, enum pkind k, char *area, char *edge,
		   const void *content, size_t size, size_t *cut)
{
	char *p;
	size_t c;

	switch (k) {
	case P_VALID:
		memcpy(area, content, size);
		return area;
	case P_EDGE:
		p = edge + 2 * pagesz - size;
		memcpy(p, content, size);
		return p;
	case P_STRADDLE:
		c = size > 1 ? 1 + rnd(t, size - 1) : 0;
		p = edge + 2 * pagesz - c;
		memcpy(p, content, c);
		if (cut)
			*cut = c;
		return p;
	case P_NULL:
		return NULL;
	case P_UNMAPPED:
		return page_none + rnd(t, pagesz);
	case P_KERNEL:
		return (void *)(uintptr_t)(0xffff888000000000ULL +
					   (rnd64(t) & 0xffffff8ULL));
	case P_RO:
	default:
		return page_ro;
	}
}

/* ---- UUID pool ---- */

enum ukind { U_LIVE, U_STALE, U_RANDOM, U_ZERO, U_FLIP };
static const char *const uk_name[] = { "live", "stale", "random", "zero",
				       "flipped" };

static void pool_add(const struct blksnap_uuid *id)
{
	pthread_mutex_lock(&pool.lock);
	pool.live[pool.nlive++] = *id;
	if (pool.nall == pool.capall) {
		pool.capall = pool.capall ? 2 * pool.capall : 1024;
		pool.all = realloc(pool.all, pool.capall * sizeof(*pool.all));
		if (!pool.all)
			abort();
	}
	pool.all[pool.nall++] = *id;
	pthread_mutex_unlock(&pool.lock);
}

/* Move a destroyed snapshot from live to stale; false if not live. */
static bool pool_remove(const struct blksnap_uuid *id)
{
	bool found = false;

	pthread_mutex_lock(&pool.lock);
	for (int i = 0; i < pool.nlive; i++) {
		if (!memcmp(&pool.live[i], id, sizeof(*id))) {
			pool.live[i] = pool.live[--pool.nlive];
			pool.stale[pool.nstale++ % STALE_RING] = *id;
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&pool.lock);
	return found;
}

static int pool_nlive(void)
{
	int n;

	pthread_mutex_lock(&pool.lock);
	n = pool.nlive;
	pthread_mutex_unlock(&pool.lock);
	return n;
}

/*
 * Another thread may have created it and not yet recorded it: give the
 * creator up to a second.
 */
static bool pool_ever_created(const struct blksnap_uuid *id)
{
	bool found = false;

	for (int tries = 0; !found && tries < 50; tries++) {
		struct timespec ts = { 0, 20 * 1000000 };

		if (tries)
			nanosleep(&ts, NULL);
		pthread_mutex_lock(&pool.lock);
		for (size_t i = pool.nall; i-- > 0;) {
			if (!memcmp(&pool.all[i], id, sizeof(*id))) {
				found = true;
				break;
			}
		}
		pthread_mutex_unlock(&pool.lock);
	}
	return found;
}

/* Choose a UUID; falls back to a random one if the pool is empty. */
static enum ukind pick_uuid(struct thr *t, struct blksnap_uuid *id,
			    unsigned int live_pct)
{
	uint32_t r = rnd(t, 100);
	enum ukind k;
	uint32_t pick = rnd(t, 1 << 16);

	if (r < live_pct)
		k = U_LIVE;
	else if (r < live_pct + (100 - live_pct) / 2)
		k = U_STALE;
	else if (r < live_pct + 3 * (100 - live_pct) / 4)
		k = U_RANDOM;
	else if (r < live_pct + 7 * (100 - live_pct) / 8)
		k = U_FLIP;
	else
		k = U_ZERO;

	pthread_mutex_lock(&pool.lock);
	if ((k == U_LIVE || k == U_FLIP) && !pool.nlive)
		k = U_RANDOM;
	if (k == U_STALE && !pool.nstale)
		k = U_RANDOM;
	if (k == U_LIVE || k == U_FLIP)
		*id = pool.live[pick % pool.nlive];
	else if (k == U_STALE)
		*id = pool.stale[pick % (pool.nstale < STALE_RING ?
					 pool.nstale : STALE_RING)];
	pthread_mutex_unlock(&pool.lock);

	if (k == U_RANDOM) {
		uint64_t a = rnd64(t), b = rnd64(t);

		memcpy(id->b, &a, 8);
		memcpy(id->b + 8, &b, 8);
	} else if (k == U_ZERO) {
		memset(id, 0, sizeof(*id));
	} else if (k == U_FLIP) {
		uint32_t bit = rnd(t, 128);

		id->b[bit / 8] ^= 1 << (bit % 8);
	}
	return k;
}

static void uuid_str(const struct blksnap_uuid *id, char *s)
{
	for (int i = 0; i < 16; i++)
		sprintf(s + 2 * i, "%02x", id->b[i]);
}

/* ---- control device ---- */

static void op_version(struct thr *t)
{
	struct blksnap_version v = { 0 };
	enum pkind k = pick_kind(t);
	struct blksnap_version *p = mkptr(t, k, t->arg, t->edge_a, &v,
					  sizeof(v), NULL);
	unsigned int allowed = M(OK);
	int e;

	if (kind_bad(k) || k == P_RO)
		allowed = M(EFAULT);
	describe(t, "VERSION arg=%s", pk_name[k]);
	e = call(t, OP_VERSION, ctl_fd, IOCTL_BLKSNAP_VERSION, p, allowed);
	if (!e && (k == P_VALID || k == P_EDGE) &&
	    (p->major != 2 || p->minor != 0 || p->revision != 0 || p->build))
		bad(t, "VERSION is %u.%u.%u.%u, expected 2.0.0.0", p->major,
		    p->minor, p->revision, p->build);
}

static void op_destroy_live(struct thr *t);

enum path_kind { PK_DIR, PK_BDEV, PK_FILE, PK_TMP, PK_FIFO, PK_NULLDEV,
		 PK_CTLDEV, PK_NOENT, PK_EMPTY, PK_NOTDIR, PK_LONGCOMP,
		 PK_TOOLONG, PK_STRADDLE, PK_NULL, PK_UNMAPPED, PK_KERNEL,
		 NR_PK };

static void op_create(struct thr *t)
{
	static const char *const fixed[] = {
		[PK_DIR] = "/tmp/fuzz-ds", [PK_BDEV] = "/dev/vda",
		[PK_FILE] = "/tmp/fuzz-ds.img", [PK_TMP] = "/tmp/fuzz-ds/",
		[PK_FIFO] = "/tmp/fuzz-fifo", [PK_NULLDEV] = "/dev/null",
		[PK_CTLDEV] = "/dev/blksnap-control",
		[PK_NOENT] = "/nonexistent/fuzz", [PK_EMPTY] = "",
		[PK_NOTDIR] = "/tmp/fuzz-ds.img/x",
	};
	struct blksnap_snapshot_create c = { 0 }, *p;
	uint32_t r = rnd(t, 100);
	enum path_kind pk;
	unsigned int allowed;
	enum pkind k;
	char *name = t->buf;
	bool valid_storage;
	int e;

	/* Mostly storage that works, then every kind of nonsense. */
	if (r < 35)
		pk = PK_DIR;
	else if (r < 45)
		pk = PK_BDEV;
	else if (r < 52)
		pk = PK_FILE;
	else if (r < 57)
		pk = PK_TMP;
	else
		pk = PK_FIFO + rnd(t, NR_PK - PK_FIFO);

	switch (rnd(t, 10)) {
	case 0: case 1:
		c.diff_storage_limit_sect = 0;
		break;
	case 2:
		c.diff_storage_limit_sect = 1 + rnd(t, 64);
		break;
	case 3:
		c.diff_storage_limit_sect = rnd64(t);
		break;
	case 4:
		c.diff_storage_limit_sect = 1ULL << 63;
		break;
	default:
		c.diff_storage_limit_sect = 2048 + rnd(t, 128 * 1024);
		break;
	}
	valid_storage = pk == PK_BDEV || pk == PK_FILE ||
			((pk == PK_DIR || pk == PK_TMP) &&
			 c.diff_storage_limit_sect);
	if (valid_storage && pool_nlive() >= MAX_LIVE) {
		/* Keep memory bounded: make room instead. */
		op_destroy_live(t);
		return;
	}

	if (pk < NR_PK && pk <= PK_NOTDIR) {
		strcpy(name, fixed[pk]);
		c.diff_storage_filename = (uintptr_t)name;
	} else if (pk == PK_LONGCOMP) {
		strcpy(name, "/tmp/");
		memset(name + 5, 'x', 300);
		name[305] = 0;
		c.diff_storage_filename = (uintptr_t)name;
	} else if (pk == PK_TOOLONG) {
		memset(name, '/', 5000);
		name[5000] = 0;
		c.diff_storage_filename = (uintptr_t)name;
	} else if (pk == PK_STRADDLE) {
		/* "/tmp/fuzz-ds" without its NUL, up to the guard page */
		char *s = t->edge_b + 2 * pagesz - 12;

		memcpy(s, "/tmp/fuzz-ds", 12);
		c.diff_storage_filename = (uintptr_t)s;
	} else if (pk == PK_NULL) {
		c.diff_storage_filename = 0;
	} else if (pk == PK_UNMAPPED) {
		c.diff_storage_filename = (uintptr_t)page_none;
	} else {
		c.diff_storage_filename = 0xffff888000001000ULL;
	}

	switch (pk) {
	case PK_DIR: case PK_TMP:
		allowed = c.diff_storage_limit_sect ? M(OK) | M(ENOMEM) :
						      M(EINVAL);
		break;
	case PK_BDEV: case PK_FILE:
		/* opened exclusively: busy while another snapshot has it */
		allowed = M(OK) | M(EBUSY) | M(ENOMEM);
		break;
	case PK_FIFO: case PK_NULLDEV: case PK_CTLDEV: case PK_TOOLONG:
	case PK_NULL:
		allowed = M(EINVAL);
		break;
	case PK_EMPTY:
		allowed = M(EINVAL);	/* no file name */
		break;
	case PK_NOENT:
		allowed = M(ENOENT);
		break;
	case PK_NOTDIR:
		allowed = M(ENOTDIR);
		break;
	case PK_LONGCOMP:
		allowed = M(ENAMETOOLONG);
		break;
	default:
		allowed = M(EFAULT);
		break;
	}

	k = pick_kind(t);
	p = mkptr(t, k, t->arg, t->edge_a, &c, sizeof(c), NULL);
	if (kind_bad(k))
		allowed = M(EFAULT);
	else if (k == P_RO)
		allowed = M(EINVAL);	/* zeros: no file name */
	describe(t, "CREATE arg=%s path_kind=%d limit=%" PRIu64, pk_name[k],
		 pk, (uint64_t)c.diff_storage_limit_sect);
	e = call(t, OP_CREATE, ctl_fd, IOCTL_BLKSNAP_SNAPSHOT_CREATE, p,
		 allowed);
	if (!e) {
		if (k != P_VALID && k != P_EDGE) {
			bad(t, "CREATE succeeded with a %s argument",
			    pk_name[k]);
			return;
		}
		pool_add(&p->id);
		t->created++;
	}
}

static void op_destroy_live(struct thr *t)
{
	struct blksnap_uuid id;
	int e;

	if (pick_uuid(t, &id, 100) != U_LIVE)
		return;
	describe(t, "DESTROY (make room) live");
	e = call(t, OP_DESTROY, ctl_fd, IOCTL_BLKSNAP_SNAPSHOT_DESTROY, &id,
		 M(OK) | M(ESRCH));
	if (!e) {
		pool_remove(&id);
		t->destroyed++;
	}
}

/* DESTROY and TAKE: a UUID argument. */
static void op_uuid_cmd(struct thr *t, enum op op)
{
	struct blksnap_uuid id, *p;
	enum ukind uk = pick_uuid(t, &id, 60);
	enum pkind k = pick_kind(t);
	unsigned int allowed;
	bool take = op == OP_TAKE;
	char s[40];
	int e;

	if (uk != U_LIVE)
		allowed = M(ESRCH);
	else if (take)
		allowed = M(OK) | M(ESRCH) | M(EALREADY) | M(ENODEV) |
			  M(ENOMEM);
	else
		allowed = M(OK) | M(ESRCH);
	p = mkptr(t, k, t->arg, t->edge_a, &id, sizeof(id), NULL);
	if (kind_bad(k))
		allowed = M(EFAULT);
	else if (k == P_RO)
		allowed = M(ESRCH);	/* all-zero UUID */
	uuid_str(&id, s);
	describe(t, "%s arg=%s uuid=%s(%s)", take ? "TAKE" : "DESTROY",
		 pk_name[k], uk_name[uk], s);
	e = call(t, op, ctl_fd, take ? IOCTL_BLKSNAP_SNAPSHOT_TAKE :
		 IOCTL_BLKSNAP_SNAPSHOT_DESTROY, p, allowed);
	if (e)
		return;
	if (take) {
		t->takes++;
	} else {
		if (!pool_remove(&id))
			bad(t, "DESTROY succeeded for a snapshot not live");
		t->destroyed++;
	}
}

static void op_collect(struct thr *t)
{
	static const uint32_t counts[] = { 0, 1, 2, 3, 6, 64, 0xffffffff };
	struct blksnap_snapshot_collect c, *p;
	enum pkind k = pick_kind(t), ik;
	struct blksnap_uuid *ids = NULL;
	unsigned int allowed, room = 0;
	uint32_t r = rnd(t, 100);
	int e;

	c.count = counts[rnd(t, 7)];
	if (r < 20) {
		ik = P_NULL;
	} else if (r < 70) {
		ik = P_VALID;
		ids = (void *)t->buf;
		room = BIGBUF / sizeof(*ids);
	} else if (r < 80) {
		/* room for a few identifiers, then the guard page */
		ik = P_EDGE;
		room = rnd(t, 4);
		ids = (void *)(t->edge_b + 2 * pagesz - room * sizeof(*ids));
	} else {
		ik = (enum pkind[]){ P_UNMAPPED, P_KERNEL, P_RO,
				     P_RO }[rnd(t, 4)];
		ids = mkptr(t, ik, NULL, NULL, NULL, 0, NULL);
	}
	c.ids = (uintptr_t)ids;

	if (ik == P_NULL)
		allowed = M(OK);
	else if (ik == P_VALID)
		allowed = M(OK) | M(ENODATA) | M(ENOMEM);
	else
		allowed = M(OK) | M(ENODATA) | M(EFAULT) | M(ENOMEM);
	p = mkptr(t, k, t->arg, t->edge_a, &c, sizeof(c), NULL);
	if (kind_bad(k) || k == P_RO)
		allowed = M(EFAULT);
	describe(t, "COLLECT arg=%s count=%u ids=%s room=%u", pk_name[k],
		 c.count, pk_name[ik], room);
	e = call(t, OP_COLLECT, ctl_fd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT, p,
		 allowed);
	if (k != P_VALID && k != P_EDGE)
		return;
	if (p->count > MAX_LIVE + MAX_THREADS && (!e || e == ENODATA))
		bad(t, "COLLECT: %u snapshots, the fuzzer keeps at most %d",
		    p->count, MAX_LIVE + MAX_THREADS);
	if (e == ENODATA && p->count <= c.count)
		bad(t, "COLLECT: ENODATA but count %u fits in %u", p->count,
		    c.count);
	if (!e && ik != P_NULL && p->count > c.count)
		bad(t, "COLLECT: %u identifiers written, room for %u",
		    p->count, c.count);
	if (!e && (ik == P_VALID || ik == P_EDGE))
		for (uint32_t i = 0; i < p->count && i < room; i++)
			if (!pool_ever_created(&ids[i]))
				bad(t, "COLLECT: identifier %u is not one the fuzzer created",
				    i);
}

static void op_wait(struct thr *t)
{
	struct blksnap_snapshot_event *ev = (void *)t->buf, *p;
	enum ukind uk = pick_uuid(t, &ev->id, 70);
	enum pkind k = pick_kind(t);
	unsigned int allowed;
	size_t cut = 0;
	int e;

	/* Small timeouts: threads must not stall. */
	ev->timeout_ms = (uint32_t[]){ 0, 0, 0, 1, 2, 5, 10 }[rnd(t, 7)];
	ev->code = 0xdead;
	if (uk != U_LIVE)
		allowed = M(ESRCH);
	else
		allowed = M(OK) | M(ESRCH) | M(ENOENT) | M(EINTR) | M(ENOMEM);
	if (k == P_VALID)
		p = ev;
	else	/* P_EDGE: a whole event right before the guard page */
		p = mkptr(t, k, t->arg, t->edge_a, ev,
			  k == P_EDGE ? sizeof(*ev) : 32, &cut);
	if (k == P_NULL || k == P_UNMAPPED || k == P_KERNEL)
		allowed = M(EFAULT);
	else if (k == P_RO)
		allowed = M(ESRCH);	/* all-zero UUID */
	else if (k == P_STRADDLE && cut < offsetof(struct blksnap_snapshot_event, code))
		allowed = M(EFAULT);	/* id and timeout not readable */
	else if (k == P_STRADDLE)
		allowed = (allowed & ~M(OK)) | M(EFAULT);
	describe(t, "WAIT_EVENT arg=%s cut=%zu uuid=%s timeout_ms=%u",
		 pk_name[k], cut, uk_name[uk], ev->timeout_ms);
	e = call(t, OP_WAIT, ctl_fd, IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT, p,
		 allowed);
	if (!e && (k == P_VALID || k == P_EDGE)) {
		struct blksnap_event_corrupted cor;

		t->events++;
		memcpy(&cor, p->data, sizeof(cor));
		if (p->code != blksnap_event_code_corrupted ||
		    cor.err_code >= 0 || cor.err_code < -4095 ||
		    p->time_label <= 0)
			bad(t, "WAIT_EVENT: event code=%u err=%d time=%lld",
			    p->code, cor.err_code, (long long)p->time_label);
	}
}

/* Unknown control-device commands: magic 'V', wrong number/size/dir. */
static void op_badcmd(struct thr *t)
{
	static const unsigned long valid[] = { IOCTL_BLKSNAP_VERSION,
		IOCTL_BLKSNAP_SNAPSHOT_CREATE, IOCTL_BLKSNAP_SNAPSHOT_DESTROY,
		IOCTL_BLKSNAP_SNAPSHOT_TAKE, IOCTL_BLKSNAP_SNAPSHOT_COLLECT,
		IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT, IOCTL_BLKSNAP_BDEV_FILTER };
	enum pkind k = pick_kind(t);
	unsigned long cmd;
	unsigned int nr;
	char zero[64] = { 0 };
	void *p;

	do {
		nr = chance(t, 60) ? rnd(t, 6) : 6 + rnd(t, 250);
		cmd = _IOC(rnd(t, 4), BLKSNAP, nr, rnd(t, 1 << 14));
		for (unsigned int i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
			if (cmd == valid[i])
				cmd = 0;
	} while (!cmd);
	p = mkptr(t, k, t->arg, t->edge_a, zero, sizeof(zero), NULL);
	describe(t, "control ioctl cmd=%#lx arg=%s", cmd, pk_name[k]);
	call(t, OP_BADCMD, ctl_fd, cmd, p, M(ENOTTY));
}

/* ---- BLKFILTER ioctls ---- */

enum nkind { N_BLKSNAP, N_BLKSNAP_JUNK, N_EMPTY, N_OTHER, N_NONUL };

static enum nkind fill_name(struct thr *t, __u8 *name, unsigned int pct)
{
	enum nkind nk = chance(t, pct) ? N_BLKSNAP : 1 + rnd(t, 4);

	memset(name, 0, BLKFILTER_NAME_LENGTH);
	switch (nk) {
	case N_BLKSNAP:
		strcpy((char *)name, "blksnap");
		break;
	case N_BLKSNAP_JUNK:
		/* what follows the NUL does not matter */
		strcpy((char *)name, "blksnap");
		for (int i = 8; i < BLKFILTER_NAME_LENGTH; i++)
			name[i] = rnd(t, 256);
		nk = N_BLKSNAP;
		break;
	case N_EMPTY:
		break;
	case N_OTHER:
		strcpy((char *)name, (const char *[]){ "blksnaP", "blksna",
			"blksnap2", "nosuchfilter", "BLKSNAP" }[rnd(t, 5)]);
		break;
	case N_NONUL:
		for (int i = 0; i < BLKFILTER_NAME_LENGTH; i++)
			name[i] = 'a' + rnd(t, 26);
		break;
	}
	return nk;
}

/*
 * BDEV_FILTER: the filter commands through the control device. On a kernel
 * with block-device filters (blkfilter) the module refuses them with
 * EOPNOTSUPP once the argument is read.
 *
 * On the ftrace backend they are the way (every ATTACH, DETACH and CTL
 * call of this fuzzer goes there already, valid arguments mostly); here
 * the wrapper itself gets nonsense: descriptors that are closed or absurd
 * (EBADF) or not a block device (ENOTBLK), commands that are none of the
 * three (EINVAL), argument pointers that are bad (EFAULT) or point to a
 * read-only page of zeros (an empty filter name). Which of several wrong
 * fields is reported first is not specified: any of theirs is accepted.
 * A valid wrapper gets what the block-device ioctl would answer.
 */
static unsigned int op_bdev_filter_ftrace(struct thr *t,
					  struct blksnap_bdev_filter *bf,
					  enum pkind k)
{
	static const unsigned int badcmds[] = { 0, 0xffffffff,
		_IOWR(0x12, 139, struct blkfilter_name),
		_IOWR(0x12, 143, struct blkfilter_name),
		_IOWR(0x12, 140, struct blkfilter_ctl),
		_IOR(0x12, 140, struct blkfilter_name),
		_IOW(0x12, 142, struct blkfilter_ctl),
		_IOWR(BLKSNAP, blksnap_ioctl_bdev_filter,
		      struct blksnap_bdev_filter),
		IOCTL_BLKSNAP_VERSION };
	static const unsigned int cmds[] = { BLKFILTER_ATTACH,
		BLKFILTER_DETACH, BLKFILTER_CTL };
	union {
		struct blkfilter_name n;
		struct blkfilter_ctl c;
	} a;
	unsigned int allowed = 0, env = 0, r = rnd(t, 100);
	enum pkind ak = pick_kind(t);
	enum nkind nk = N_BLKSNAP;
	const char *fdk;
	bool cmd_ok;
	size_t asize;
	void *arg;
	int fd;

	/* the descriptor */
	if (r < 55) {
		fd = devs[rnd(t, ndevs)].fd;
		fdk = "device";
	} else if (r < 65) {
		fd = ctl_fd;
		fdk = "control";
		env |= M(ENOTBLK);
	} else if (r < 72) {
		fd = chance(t, 50) ? null_fd : dir_fd;
		fdk = "file";
		env |= M(ENOTBLK);
	} else {
		/* never open: negative, or above any descriptor limit */
		switch (rnd(t, 4)) {
		case 0: fd = -1; break;
		case 1: fd = INT_MIN; break;
		case 2: fd = INT_MAX; break;
		default: fd = (1 << 20) + (int)rnd(t, 1 << 20); break;
		}
		fdk = "bad";
		env |= M(EBADF);
	}

	/* the command */
	if (chance(t, 80)) {
		bf->cmd = cmds[rnd(t, 3)];
	} else if (chance(t, 70)) {
		bf->cmd = badcmds[rnd(t, sizeof(badcmds) / sizeof(badcmds[0]))];
	} else {
		bf->cmd = (uint32_t)rnd64(t);
		if (is_filter_cmd(bf->cmd))
			bf->cmd = 0;
	}
	cmd_ok = is_filter_cmd(bf->cmd);
	if (!cmd_ok)
		env |= M(EINVAL);

	/* the argument: what the command wants, or nonsense */
	memset(&a, 0, sizeof(a));
	if (bf->cmd == BLKFILTER_CTL) {
		nk = fill_name(t, a.c.name, 90);
		if (chance(t, 50)) {
			a.c.cmd = BLKFILTER_CTL_BLKSNAP_CBTINFO;
			a.c.optlen = sizeof(struct blksnap_cbtinfo);
		} else {
			a.c.cmd = BLKFILTER_CTL_BLKSNAP_SNAPSHOTINFO;
			a.c.optlen = sizeof(struct blksnap_snapshotinfo);
		}
		a.c.opt = (uintptr_t)t->buf;
		asize = sizeof(a.c);
	} else {
		nk = fill_name(t, a.n.name, 85);
		asize = sizeof(a.n);
	}
	if (chance(t, 10)) {
		/* a random address the kernel cannot read: EFAULT */
		ak = P_KERNEL;
		arg = (void *)(uintptr_t)(rnd64(t) | (1ULL << 63));
	} else {
		arg = mkptr(t, ak, t->buf + BIGBUF, t->edge_b, &a, asize, NULL);
	}
	bf->arg = (uintptr_t)arg;
	bf->bdev_fd = fd;

	if (env) {
		/* a valid command may read its argument before the checks */
		allowed = env;
		if (cmd_ok && kind_bad(ak))
			allowed |= M(EFAULT);
	} else if (kind_bad(ak)) {
		allowed = M(EFAULT);
	} else if (ak == P_RO) {
		/* zeros: an empty name */
		allowed = bf->cmd == BLKFILTER_DETACH ? M(ENOENT) | M(EINVAL) :
							 M(ENOENT);
	} else if (nk == N_NONUL) {
		allowed = M(EINVAL);
	} else if (bf->cmd == BLKFILTER_ATTACH) {
		allowed = nk != N_BLKSNAP ? M(ENOENT) :
			  M(OK) | M(EALREADY) | M(ENODEV) | M(ENOMEM);
	} else if (bf->cmd == BLKFILTER_DETACH) {
		allowed = nk != N_BLKSNAP ? M(ENOENT) | M(EINVAL) :
			  M(OK) | M(ENOENT);
	} else {
		/* CTL: another thread may detach the filter at any time */
		allowed = nk != N_BLKSNAP ? M(ENOENT) :
			  M(OK) | M(ENOENT) | M(ENOMEM);
	}
	/* the wrapper itself unreadable: nothing else is looked at */
	if (kind_bad(k))
		allowed = M(EFAULT);
	else if (k == P_RO)	/* zeros: descriptor 0, command 0 */
		allowed = M(EINVAL) | M(EBADF) | M(ENOTBLK);
	describe(t, "BDEV_FILTER arg=%s fd=%d(%s) cmd=%#x cmd_arg=%s name_kind=%d",
		 pk_name[k], fd, fdk, bf->cmd, pk_name[ak], nk);
	return allowed;
}

static void op_bdev_filter(struct thr *t)
{
	static const unsigned int cmds[] = { BLKFILTER_ATTACH, BLKFILTER_DETACH,
					     BLKFILTER_CTL, 0, 0xffffffff };
	struct blksnap_bdev_filter bf = {
		.bdev_fd = chance(t, 50) ? devs[rnd(t, ndevs)].fd :
					    (int)rnd(t, 1024) - 1,
		.cmd = cmds[rnd(t, 5)],
		.arg = rnd64(t),
	};
	enum pkind k = pick_kind(t);
	unsigned int allowed;
	void *p;

	if (ftrace) {
		allowed = op_bdev_filter_ftrace(t, &bf, k);
	} else {
		allowed = kind_bad(k) ? M(EFAULT) : M(EOPNOTSUPP);
		describe(t, "BDEV_FILTER arg=%s fd=%d cmd=%#x", pk_name[k],
			 bf.bdev_fd, bf.cmd);
	}
	p = mkptr(t, k, t->arg, t->edge_a, &bf, sizeof(bf), NULL);
	call(t, OP_BDEVFILTER, ctl_fd, IOCTL_BLKSNAP_BDEV_FILTER, p, allowed);
}

/*
 * ATTACH or DETACH on @fd (@isblk: a block device; @isimg: one of the
 * module's snapshot images, which it refuses to filter: EINVAL).
 */
static void op_attach_detach(struct thr *t, int fd, bool isblk, bool isimg,
			     bool attach, const char *what)
{
	struct blkfilter_name n, *p;
	enum nkind nk = fill_name(t, n.name, 85);
	enum pkind k = pick_kind(t);
	unsigned int allowed;

	if (nk == N_NONUL)
		allowed = M(EINVAL);
	else if (attach && nk != N_BLKSNAP)
		allowed = M(ENOENT);	/* no such filter */
	else if (attach && isimg)	/* ENODEV: destroyed meanwhile */
		allowed = M(EINVAL) | M(ENODEV) | M(ENOMEM);
	else if (attach)
		allowed = M(OK) | M(EALREADY) | M(ENODEV) | M(ENOMEM);
	else if (nk != N_BLKSNAP)
		allowed = M(ENOENT) | M(EINVAL);	/* other name */
	else
		allowed = M(OK) | M(ENOENT);
	p = mkptr(t, k, t->arg, t->edge_a, &n, sizeof(n), NULL);
	if (kind_bad(k))
		allowed = M(EFAULT);
	else if (k == P_RO)
		allowed = attach ? M(ENOENT) : M(ENOENT) | M(EINVAL);
	if (!isblk)	/* no such ioctl; not a block device (ftrace) */
		allowed = ftrace ? M(ENOTBLK) : M(ENOTTY);
	describe(t, "%s %s arg=%s name_kind=%d", attach ? "ATTACH" : "DETACH",
		 what, pk_name[k], nk);
	call(t, attach ? OP_ATTACH : OP_DETACH, fd,
	     attach ? BLKFILTER_ATTACH : BLKFILTER_DETACH, p, allowed);
}

/* Choose a CBTMAP range: mostly inside the table, sometimes not. */
static void cbtmap_range(struct thr *t, uint32_t n, uint32_t *off,
			 uint32_t *len)
{
	switch (rnd(t, 12)) {
	case 0: *off = 0; *len = n; break;
	case 1: *off = n; *len = 0; break;
	case 2: *off = 0; *len = n + 1; break;
	case 3: *off = 1; *len = n; break;
	case 4: *off = n + 1; *len = 0; break;
	case 5: *off = 0xffffffff; *len = 1 + rnd(t, 2); break;
	case 6: *off = 1 + rnd(t, 8); *len = 0xffffffff; break;
	case 7: *off = rnd64(t); *len = rnd64(t); break;
	default:
		*off = rnd(t, n + 1);
		*len = rnd(t, n - *off + 1);
		if (*len > 4096 && chance(t, 80))
			*len = rnd(t, 4096);
		break;
	}
}

static void cbtdirty_ranges(struct thr *t, struct blksnap_sectors *r,
			    uint32_t count, uint64_t cap, bool *valid)
{
	*valid = true;
	for (uint32_t i = 0; i < count; i++) {
		switch (rnd(t, 16)) {
		case 0:
			r[i].offset = cap;
			r[i].count = 0;
			break;
		case 1:
			r[i].offset = cap - 1;
			r[i].count = 1;
			break;
		case 2:
			r[i].offset = cap;
			r[i].count = 1;
			*valid = false;
			break;
		case 3:
			r[i].offset = ~0ULL;
			r[i].count = 2;
			*valid = false;
			break;
		case 4:
			r[i].offset = 8;
			r[i].count = ~0ULL - 4;
			*valid = false;
			break;
		case 5:
			r[i].offset = 0;
			r[i].count = cap + 1;
			*valid = false;
			break;
		default:
			r[i].offset = rnd64(t) % cap;
			r[i].count = rnd64(t) % (cap - r[i].offset + 1);
			if (chance(t, 70))
				r[i].count %= 1024;
			break;
		}
	}
}

static bool pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

/*
 * BLKFILTER_CTL on @fd, a block device of @size bytes (CBT table of
 * @blk_count entries), number @rdev, or not a block device (!@isblk).
 * @op selects the command (OP_CTLBAD: a wrong one).
 */
static void op_ctl(struct thr *t, enum op op, int fd, bool isblk,
		   uint64_t size, uint32_t blk_count, dev_t rdev,
		   const char *what)
{
	static const uint32_t badcmds[] = { 5, 6, 7, 255, 256, 0x80000000,
					    0xffffffff };
	struct blkfilter_ctl c, *p;
	union {
		struct blksnap_cbtinfo info;
		struct blksnap_cbtmap map;
		struct blksnap_cbtdirty dirty;
		struct blksnap_snapshotadd add;
		struct blksnap_snapshotinfo sinfo;
		char raw[64];
	} o;
	enum nkind nk = fill_name(t, c.name, 92);
	enum pkind k = pick_kind(t), ok = pick_kind(t);
	uint32_t osize, r, map_off = 0, map_len = 0, map_room = 0;
	unsigned int allowed, cmd_allowed = 0;
	enum pkind mk = P_VALID;
	enum ukind uk = U_ZERO;
	bool in_valid = true;
	char *obuf, *mbuf = NULL;
	int e;

	memset(&o, 0, sizeof(o));
	switch (op) {
	case OP_CBTINFO:
		c.cmd = BLKFILTER_CTL_BLKSNAP_CBTINFO;
		osize = sizeof(o.info);
		cmd_allowed = M(OK);
		break;
	case OP_CBTMAP:
		c.cmd = BLKFILTER_CTL_BLKSNAP_CBTMAP;
		osize = sizeof(o.map);
		cbtmap_range(t, blk_count, &map_off, &map_len);
		o.map.offset = map_off;
		o.map.length = map_len;
		in_valid = map_off <= blk_count &&
			   map_len <= blk_count - map_off;
		r = rnd(t, 100);
		if (r < 75) {
			mk = P_VALID;
			mbuf = t->buf;
			map_room = BIGBUF;
		} else if (r < 85) {
			/* exactly the length, then the guard page */
			mk = P_EDGE;
			map_room = map_len <= 2 * pagesz ? map_len : 0;
			mbuf = t->edge_b + 2 * pagesz - map_room;
		} else {
			mk = (enum pkind[]){ P_NULL, P_UNMAPPED, P_KERNEL,
					     P_RO, P_STRADDLE }[rnd(t, 5)];
			if (mk == P_STRADDLE) {
				/* one byte short */
				map_room = map_len && map_len <= 2 * pagesz ?
					   map_len - 1 : 0;
				mbuf = t->edge_b + 2 * pagesz - map_room;
			} else {
				mbuf = mkptr(t, mk, NULL, NULL, NULL, 0, NULL);
			}
		}
		o.map.buffer = (uintptr_t)mbuf;
		if (!in_valid)
			cmd_allowed = M(EINVAL);
		else if (!map_len)
			cmd_allowed = M(OK) | M(ENOMEM);
		else if (mk == P_VALID ||
			 (mk == P_EDGE && map_room == map_len))
			cmd_allowed = M(OK) | M(EBUSY) | M(ENOMEM);
		else
			cmd_allowed = M(EFAULT) | M(EBUSY) | M(ENOMEM);
		/* canary after the copied range */
		if (mk == P_VALID && in_valid)
			memset(mbuf + map_len, 0xa5, 16);
		break;
	case OP_CBTDIRTY: {
		struct blksnap_sectors *rs = (void *)t->buf;
		uint64_t cap = size >> 9 ?: 1;	/* not a block device: 0 */
		uint32_t cnt;

		c.cmd = BLKFILTER_CTL_BLKSNAP_CBTDIRTY;
		osize = sizeof(o.dirty);
		r = rnd(t, 100);
		if (r < 5)
			cnt = 0;
		else if (r < 8)
			cnt = (1U << 20) + 1 + rnd(t, 1000);
		else if (r < 10)
			cnt = 0xffffffff;
		else if (r < 15)
			cnt = 65 + rnd(t, 200);	/* more than one batch */
		else
			cnt = 1 + rnd(t, 8);
		o.dirty.count = cnt;
		if (cnt && cnt <= 1024)
			cbtdirty_ranges(t, rs, cnt, cap, &in_valid);
		r = rnd(t, 100);
		if (r < 85) {
			mk = P_VALID;
		} else if (r < 92 && cnt && cnt <= 64) {
			/* the last range straddles the guard page */
			mk = P_STRADDLE;
			rs = memcpy(t->edge_b + 2 * pagesz -
				    cnt * sizeof(*rs) + 8, rs,
				    cnt * sizeof(*rs) - 8);
		} else {
			mk = (enum pkind[]){ P_NULL, P_UNMAPPED, P_KERNEL,
					     P_RO }[rnd(t, 4)];
			rs = mkptr(t, mk, NULL, NULL, NULL, 0, NULL);
		}
		o.dirty.dirty_sectors = (uintptr_t)rs;
		if (!cnt || cnt > (1U << 20))
			cmd_allowed = M(EINVAL);
		else if (mk == P_VALID && cnt <= 1024)
			cmd_allowed = in_valid ? M(OK) : M(EINVAL);
		else if (mk == P_RO)
			/* zeros (empty ranges at sector 0), then what
			 * follows the page */
			cmd_allowed = M(OK) | M(EFAULT) | M(EINVAL);
		else if (mk == P_VALID)
			/* uninitialised tail of the buffer or beyond it */
			cmd_allowed = M(OK) | M(EINVAL) | M(EFAULT);
		else if (cnt <= 64 && mk == P_STRADDLE)
			cmd_allowed = M(EFAULT);
		else
			cmd_allowed = M(EFAULT) | M(EINVAL);
		cmd_allowed |= M(ENOMEM);
		break;
	}
	case OP_ADD:
		c.cmd = BLKFILTER_CTL_BLKSNAP_SNAPSHOTADD;
		osize = sizeof(o.add);
		uk = pick_uuid(t, &o.add.id, 75);
		if (uk == U_LIVE)
			cmd_allowed = M(OK) | M(ESRCH) | M(EALREADY) |
				      M(EBUSY) | M(EINVAL) | M(ENODEV);
		else
			cmd_allowed = M(ESRCH);
		break;
	case OP_INFO:
		c.cmd = BLKFILTER_CTL_BLKSNAP_SNAPSHOTINFO;
		osize = sizeof(o.sinfo);
		cmd_allowed = M(OK);
		break;
	default:
		c.cmd = chance(t, 50) ? badcmds[rnd(t, 7)] : 5 + rnd(t, 1000);
		osize = sizeof(o.raw);
		cmd_allowed = M(ENOTTY);
		break;
	}

	/* option length: mostly right */
	r = rnd(t, 100);
	if (r < 80)
		c.optlen = osize;
	else if (r < 85)
		c.optlen = 0;
	else if (r < 90)
		c.optlen = osize - 1;
	else if (r < 95)
		c.optlen = 0xffffffff;
	else
		c.optlen = rnd(t, 128);
	if (op != OP_CTLBAD && c.optlen < osize)
		cmd_allowed = M(EINVAL);

	/* The buffer the option points to may use edge_b already. */
	if ((op == OP_CBTMAP || op == OP_CBTDIRTY) &&
	    (mk == P_EDGE || mk == P_STRADDLE) &&
	    (ok == P_EDGE || ok == P_STRADDLE))
		ok = P_VALID;
	obuf = mkptr(t, ok, t->buf + BIGBUF, t->edge_b, &o, osize, NULL);
	c.opt = (uintptr_t)obuf;
	if (op != OP_CTLBAD && c.optlen >= osize && ok != P_VALID &&
	    ok != P_EDGE) {
		if (ok == P_RO && (op == OP_CBTINFO || op == OP_INFO))
			cmd_allowed = M(EFAULT);
		else if (ok == P_RO && op == OP_CBTMAP)
			/* zeros: offset 0 length 0 */
			cmd_allowed = M(OK);
		else if (ok == P_RO && op == OP_CBTDIRTY)
			cmd_allowed = M(EINVAL);	/* count 0 */
		else if (ok == P_RO && op == OP_ADD)
			cmd_allowed = M(ESRCH);		/* zero UUID */
		else if (ok != P_RO)
			cmd_allowed = M(EFAULT);
	}

	/* The filter may be detached by another thread at any time. */
	allowed = cmd_allowed | M(ENOENT);
	if (nk == N_NONUL)
		allowed = M(EINVAL);
	else if (nk != N_BLKSNAP)
		allowed = M(ENOENT);
	p = mkptr(t, k, t->arg, t->edge_a, &c, sizeof(c), NULL);
	if (kind_bad(k))
		allowed = M(EFAULT);
	else if (k == P_RO)
		allowed = M(ENOENT);		/* empty name */
	if (!isblk)	/* no such ioctl; not a block device (ftrace) */
		allowed = ftrace ? M(ENOTBLK) : M(ENOTTY);
	describe(t, "CTL %s cmd=%u name_kind=%d arg=%s optlen=%u opt=%s map=%u+%u buf=%s room=%u uuid=%s",
		 what, c.cmd, nk, pk_name[k], c.optlen, pk_name[ok], map_off,
		 map_len, pk_name[mk], map_room, uk_name[uk]);
	e = call(t, op, fd, BLKFILTER_CTL, p, allowed);
	if (e || (k != P_VALID && k != P_EDGE) ||
	    (ok != P_VALID && ok != P_EDGE))
		return;

	/* Success: check what came back. */
	switch (op) {
	case OP_CBTINFO: {
		struct blksnap_cbtinfo *i = (void *)obuf;

		if (p->optlen != sizeof(*i) || i->device_capacity != size ||
		    !pow2(i->block_size) || i->block_size < 512 ||
		    (uint64_t)i->block_count * i->block_size < size ||
		    (uint64_t)(i->block_count - 1) * i->block_size >= size ||
		    (blk_count && i->block_count != blk_count))
			bad(t, "CBTINFO: optlen=%u capacity=%llu (device %" PRIu64 ") block_size=%u block_count=%u (expected %u)",
			    p->optlen,
			    (unsigned long long)i->device_capacity, size,
			    i->block_size, i->block_count, blk_count);
		break;
	}
	case OP_CBTMAP:
		if (p->optlen)
			bad(t, "CBTMAP: optlen %u written back", p->optlen);
		if (mk == P_VALID)
			for (int j = 0; j < 16; j++)
				if ((uint8_t)mbuf[map_len + j] != 0xa5) {
					bad(t, "CBTMAP wrote past the length");
					break;
				}
		break;
	case OP_INFO: {
		struct blksnap_snapshotinfo *i = (void *)obuf;
		char want[IMAGE_DISK_NAME_LEN];

		snprintf(want, sizeof(want), "blksnap-image_%u:%u",
			 major(rdev), minor(rdev));
		if (p->optlen != sizeof(*i) || i->error_code > 0 ||
		    i->error_code < -4095 ||
		    !memchr(i->image, 0, sizeof(i->image)) ||
		    (i->image[0] && strcmp((char *)i->image, want)))
			bad(t, "SNAPSHOTINFO: optlen=%u error=%d image='%.32s'",
			    p->optlen, i->error_code, i->image);
		break;
	}
	case OP_CBTDIRTY:
	case OP_ADD:
		if (p->optlen)
			bad(t, "%s: optlen %u written back", op_name[op],
			    p->optlen);
		break;
	default:
		bad(t, "an unknown ctl command succeeded");
		break;
	}
}

/* ---- I/O ---- */

struct stamp {
	uint64_t magic;
	uint32_t dev, thread;
	uint64_t block, seq;
	uint32_t image;
};

/* A block of the region that only this thread writes. */
static uint64_t own_block(struct thr *t)
{
	uint64_t b = rnd(t, REGION_BLOCKS / nthreads) * nthreads + t->idx;

	return REGION_START / BLK + b;
}

static void make_stamp(struct thr *t, int d, uint64_t b, bool image)
{
	struct stamp *s = (void *)t->wbuf;

	memset(t->wbuf, 0, BLK);
	s->magic = STAMP_MAGIC;
	s->dev = d;
	s->thread = t->idx;
	s->block = b;
	s->seq = ++t->seq;
	s->image = image;
	memset(t->wbuf + 64, (int)(s->seq & 0xff), 64);
}

static int pick_writable(struct thr *t)
{
	int d, tries = 0;

	do {
		d = rnd(t, ndevs);
	} while (!devs[d].writable && ++tries < 16);
	return devs[d].writable ? d : -1;
}

/* Write to the original device, read back: must always work. */
static void op_write(struct thr *t)
{
	int d = pick_writable(t);
	uint64_t b = own_block(t), start = now_ns();
	ssize_t r;

	if (d < 0)
		return;
	make_stamp(t, d, b, false);
	describe(t, "write %s block %" PRIu64, devs[d].path, b);
	t->call_start = start;
	r = pwrite(t->wfd[d], t->wbuf, BLK, b * BLK);
	if (r != BLK)
		bad(t, "write to the original failed: %zd %s", r,
		    ename(errno));
	r = pread(t->wfd[d], t->rbuf, BLK, b * BLK);
	if (r != BLK || memcmp(t->rbuf, t->wbuf, BLK))
		bad(t, "read back from the original: %zd %s, %s", r,
		    r < 0 ? ename(errno) : "", r == BLK ? "differs" : "");
	t->call_start = 0;
	t->op_calls[OP_WRITE]++;
	t->op_ns[OP_WRITE] += now_ns() - start;
	t->writes++;
}

/* A block of an image holds zeros or a stamp of this block. */
static bool stamp_ok(struct thr *t, int d, uint64_t b)
{
	struct stamp *s = (void *)t->rbuf;

	if (!s->magic) {
		for (int i = 0; i < BLK; i++)
			if (t->rbuf[i])
				return false;
		return true;
	}
	return s->magic == STAMP_MAGIC && s->dev == (uint32_t)d &&
	       s->thread == (uint32_t)t->idx && s->block == b &&
	       s->seq <= t->seq;
}

/*
 * The kernel's name of the disk @fd is open on (the last part of its
 * /sys/dev/block link, in @link of @len bytes), or NULL when it has none
 * (deleted meanwhile).
 */
static const char *disk_name_of(int fd, char *link, size_t len)
{
	char sys[64];
	struct stat st;
	const char *base;
	ssize_t n;

	if (fstat(fd, &st))
		return NULL;
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u",
		 major(st.st_rdev), minor(st.st_rdev));
	n = readlink(sys, link, len - 1);
	if (n <= 0)
		return NULL;
	link[n] = 0;
	base = strrchr(link, '/');
	return base ? base + 1 : link;
}

/*
 * Whether @fd is the image of device @rdev. Image minors are dynamic and
 * reused at once: between the path lookup of an image destroyed meanwhile
 * and the open, its minor can go to the image of another device. While
 * @fd holds its disk the minor cannot change hands, so sysfs names it.
 */
static bool image_is(int fd, dev_t rdev)
{
	char link[PATH_MAX], want[64];
	const char *name = disk_name_of(fd, link, sizeof(link));

	if (!name)
		return false;	/* deleted meanwhile: nothing to check */
	snprintf(want, sizeof(want), "blksnap-image_%u:%u", major(rdev),
		 minor(rdev));
	return !strcmp(name, want);
}

/*
 * Whether the disk of @fd, opened by an image's path, is not an image
 * after all: sysfs names it, and the name is not blksnap-image_*. (An
 * image destroyed meanwhile has no sysfs entry: still an image.)
 */
static bool fd_is_other_disk(int fd)
{
	char link[PATH_MAX];
	const char *name = disk_name_of(fd, link, sizeof(link));

	return name && strncmp(name, "blksnap-image_", 14) != 0;
}

/* Read (or write and read back) a block of a device's snapshot image. */
static void op_image(struct thr *t)
{
	int d = pick_writable(t), fd;
	uint64_t b = own_block(t), start = now_ns();
	bool wr = chance(t, 40);
	char path[64];
	ssize_t r;

	if (d < 0)
		return;
	snprintf(path, sizeof(path), "/dev/blksnap-image_%u:%u",
		 major(devs[d].rdev), minor(devs[d].rdev));
	describe(t, "image %s %s block %" PRIu64, wr ? "write" : "read", path,
		 b);
	t->call_start = start;
	fd = open(path, O_RDWR | O_DIRECT);
	if (fd < 0) {
		/* no image now, or it is being removed */
		if (errno != ENOENT && errno != ENXIO && errno != ENODEV)
			bad(t, "open %s: %s", path, ename(errno));
		t->call_start = 0;
		return;
	}
	if (!image_is(fd, devs[d].rdev)) {
		close(fd);
		t->call_start = 0;
		return;
	}
	if (wr) {
		make_stamp(t, d, b, true);
		r = pwrite(fd, t->wbuf, BLK, b * BLK);
		/* EIO: corrupted; ENOSPC: deleted (capacity 0) */
		if (r != BLK && !(r < 0 && (errno == EIO || errno == ENXIO ||
					    errno == ENOSPC)))
			bad(t, "image write: %zd %s", r, ename(errno));
		wr = r == BLK;
	}
	r = pread(fd, t->rbuf, BLK, b * BLK);
	if (r == BLK) {
		/* same image (the descriptor holds it): our data */
		if (wr && memcmp(t->rbuf, t->wbuf, BLK))
			bad(t, "image block %" PRIu64 " does not hold the data just written",
			    b);
		else if (!wr && !stamp_ok(t, d, b))
			bad(t, "image block %" PRIu64 " holds foreign data: magic=%" PRIx64 " dev=%u thread=%u block=%" PRIu64 " seq=%" PRIu64 "/%" PRIu64 " image=%u",
			    b, ((struct stamp *)t->rbuf)->magic,
			    ((struct stamp *)t->rbuf)->dev,
			    ((struct stamp *)t->rbuf)->thread,
			    ((struct stamp *)t->rbuf)->block,
			    ((struct stamp *)t->rbuf)->seq, t->seq,
			    ((struct stamp *)t->rbuf)->image);
	} else if (r && !(r < 0 && (errno == EIO || errno == ENXIO))) {
		/* 0: end of a deleted image */
		bad(t, "image read: %zd %s", r, r < 0 ? ename(errno) : "");
	}
	close(fd);
	t->call_start = 0;
	t->op_calls[OP_IMAGE]++;
	t->op_ns[OP_IMAGE] += now_ns() - start;
	t->image_ios++;
}

/* CBT table size with the default parameters (64 KiB .. 64 MiB blocks). */
static uint32_t cbt_blocks(uint64_t size)
{
	uint64_t bs = 1 << 16;

	while ((size + bs - 1) / bs > 2097152 && bs < (1 << 26))
		bs <<= 1;
	return (size + bs - 1) / bs;
}

/* BLKFILTER ioctls on a random path: devices, images, non-devices. */
static void op_path(struct thr *t)
{
	static const char *const others[] = { "/dev/null",
		"/dev/blksnap-control", "/tmp", "/tmp/fuzz-ds.img",
		"/nonexistent" };
	char path[64];
	struct stat st;
	uint64_t size = 0;
	uint32_t r = rnd(t, 100), sel = rnd(t, 100);
	int d = rnd(t, ndevs), fd;
	bool isblk, isimg;

	if (r < 25) {
		snprintf(path, sizeof(path), "%s", devs[d].path);
	} else if (r < 70) {
		snprintf(path, sizeof(path), "/dev/blksnap-image_%u:%u",
			 major(devs[d].rdev), minor(devs[d].rdev));
	} else {
		snprintf(path, sizeof(path), "%s", others[rnd(t, 5)]);
	}
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	isblk = !fstat(fd, &st) && S_ISBLK(st.st_mode);
	if (isblk && ioctl(fd, BLKGETSIZE64, &size))
		isblk = false;
	if (!isblk)
		st.st_rdev = 0;
	isimg = isblk && r >= 25 && r < 70 && !fd_is_other_disk(fd);
	if (sel < 15)
		op_attach_detach(t, fd, isblk, isimg, true, path);
	else if (sel < 20)
		op_attach_detach(t, fd, isblk, isimg, false, path);
	else
		op_ctl(t, OP_CBTINFO + rnd(t, OP_CTLBAD - OP_CBTINFO + 1), fd,
		       isblk, size, cbt_blocks(size), st.st_rdev, path);
	close(fd);
}

static void one_op(struct thr *t)
{
	uint32_t r = rnd(t, 1000), acc = 0;
	enum op op;
	int d;

	for (op = 0; op < NR_OPS - 1; op++) {
		acc += op_weight[op];
		if (r < acc)
			break;
	}
	d = rnd(t, ndevs);
	switch (op) {
	case OP_VERSION: op_version(t); break;
	case OP_CREATE: op_create(t); break;
	case OP_DESTROY: case OP_TAKE: op_uuid_cmd(t, op); break;
	case OP_COLLECT: op_collect(t); break;
	case OP_WAIT: op_wait(t); break;
	case OP_BADCMD: op_badcmd(t); break;
	case OP_ATTACH: case OP_DETACH:
		op_attach_detach(t, devs[d].fd, true, false, op == OP_ATTACH,
				 devs[d].path);
		break;
	case OP_WRITE: op_write(t); break;
	case OP_IMAGE: op_image(t); break;
	case OP_PATH: op_path(t); break;
	case OP_BDEVFILTER: op_bdev_filter(t); break;
	default:
		op_ctl(t, op, devs[d].fd, true, devs[d].size,
		       devs[d].blk_count, devs[d].rdev, devs[d].path);
		break;
	}
}

static void *thread_main(void *arg)
{
	struct thr *t = arg;
	uint64_t n = 0;

	while (!stop) {
		if (deadline_ns) {
			if (!(n++ & 63) && now_ns() >= deadline_ns)
				break;
		} else if (t->calls >= t->n_calls) {
			break;
		}
		one_op(t);
	}
	return NULL;
}

static void on_signal(int sig)
{
	(void)sig;
}

static void *map(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	return p;
}

/*
 * Two writable pages followed by an inaccessible guard page (mprotect, not
 * munmap: a later mmap could fill the hole).
 */
static char *edge_area(void)
{
	char *p = map(3 * pagesz, PROT_READ | PROT_WRITE);

	mprotect(p + 2 * pagesz, pagesz, PROT_NONE);
	return p;
}

static void setup_thread(struct thr *t, int idx, uint64_t seed)
{
	uint64_t s = seed + 0x1000193ULL * (idx + 1);

	t->idx = idx;
	t->rng = splitmix(&s);
	t->arg = map(2 * pagesz, PROT_READ | PROT_WRITE);
	t->buf = map(BIGBUF + 2 * pagesz, PROT_READ | PROT_WRITE);
	t->edge_a = edge_area();
	t->edge_b = edge_area();
	t->wbuf = map(BLK, PROT_READ | PROT_WRITE);
	t->rbuf = map(BLK, PROT_READ | PROT_WRITE);
	t->wfd = calloc(ndevs, sizeof(int));
	for (int d = 0; d < ndevs; d++) {
		t->wfd[d] = open(devs[d].path, O_RDWR | O_DIRECT);
		if (t->wfd[d] < 0) {
			perror(devs[d].path);
			exit(2);
		}
	}
}

static void open_devices(int argc, char **argv)
{
	char *zero = map(1 << 20, PROT_READ | PROT_WRITE);

	for (int i = 0; i < argc; i++) {
		struct dev *d = &devs[ndevs];
		const char *path = argv[i];
		struct stat st;
		int wfd;

		if (ndevs == MAX_DEVS) {
			fprintf(stderr, "too many devices\n");
			exit(2);
		}
		d->writable = strncmp(path, "ro:", 3) != 0;
		if (!d->writable)
			path += 3;
		d->path = path;
		d->fd = open(path, O_RDWR);
		if (d->fd < 0 || fstat(d->fd, &st) || !S_ISBLK(st.st_mode) ||
		    ioctl(d->fd, BLKGETSIZE64, &d->size)) {
			fprintf(stderr, "%s: not a usable block device\n",
				path);
			exit(2);
		}
		d->rdev = st.st_rdev;
		d->blk_count = cbt_blocks(d->size);
		if (d->writable && d->size < REGION_START + REGION_BLOCKS *
		    (uint64_t)BLK) {
			fprintf(stderr, "%s: too small\n", path);
			exit(2);
		}
		/* The written region starts out zeroed. */
		if (d->writable) {
			wfd = open(path, O_RDWR | O_DIRECT);
			for (uint64_t off = 0; off < REGION_BLOCKS * BLK;
			     off += 1 << 20)
				if (wfd < 0 || pwrite(wfd, zero, 1 << 20,
						      REGION_START + off) !=
					       1 << 20) {
					fprintf(stderr, "%s: cannot zero\n",
						path);
					exit(2);
				}
			close(wfd);
		}
		ndevs++;
	}
	munmap(zero, 1 << 20);
}

/* Single-threaded, after the run: nothing may be left behind. */
static int final_checks(struct thr *t)
{
	struct blksnap_snapshot_collect c = { 0 };
	struct blksnap_uuid *ids = (void *)t->buf;
	struct blksnap_version v;
	struct blkfilter_name n = { .name = "blksnap" };
	int e, nlive = pool_nlive();

	describe(t, "final checks");
	e = call(t, OP_COLLECT, ctl_fd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &c,
		 M(OK));
	if (!e && (int)c.count != nlive)
		bad(t, "COLLECT: %u snapshots, the fuzzer holds %d", c.count,
		    nlive);
	c.count = 64;
	c.ids = (uintptr_t)ids;
	e = call(t, OP_COLLECT, ctl_fd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &c,
		 M(OK));
	for (uint32_t i = 0; !e && i < c.count; i++) {
		pthread_mutex_lock(&pool.lock);
		bool live = false;

		for (int j = 0; j < pool.nlive; j++)
			live |= !memcmp(&pool.live[j], &ids[i], 16);
		pthread_mutex_unlock(&pool.lock);
		if (!live)
			bad(t, "COLLECT lists a snapshot that is not live");
	}
	/* Every snapshot we created and did not destroy can be destroyed. */
	while (pool_nlive()) {
		struct blksnap_uuid id = pool.live[0];

		e = call(t, OP_DESTROY, ctl_fd, IOCTL_BLKSNAP_SNAPSHOT_DESTROY,
			 &id, M(OK));
		pool_remove(&id);
		if (!e)
			t->destroyed++;
	}
	c.count = 0;
	c.ids = 0;
	e = call(t, OP_COLLECT, ctl_fd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &c,
		 M(OK));
	if (!e && c.count)
		bad(t, "COLLECT: %u snapshots left after destroying all",
		    c.count);
	e = call(t, OP_VERSION, ctl_fd, IOCTL_BLKSNAP_VERSION, &v, M(OK));
	if (!e && (v.major != 2 || v.minor || v.revision || v.build))
		bad(t, "VERSION is %u.%u.%u.%u", v.major, v.minor, v.revision,
		    v.build);
	for (int d = 0; d < ndevs; d++)
		call(t, OP_DETACH, devs[d].fd, BLKFILTER_DETACH, &n,
		     M(OK) | M(ENOENT));
	return 0;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-s SEED] [-n CALLS] [-t SECONDS] [-j THREADS] [-v] [ro:]DEV...\n",
		prog);
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t seed = 0, ncalls = 100000, soak = 0, start, last_report;
	uint64_t sum[NR_OPS] = { 0 }, sum_ns[NR_OPS] = { 0 }, hist[256] = { 0 };
	uint64_t calls = 0, nbad = 0, writes = 0, image_ios = 0, events = 0;
	uint64_t takes = 0, created = 0, destroyed = 0, sig_seed;
	bool have_seed = false;
	struct sigaction sa;
	struct thr final;
	int opt;

	while ((opt = getopt(argc, argv, "s:n:t:j:v")) != -1) {
		switch (opt) {
		case 's': seed = strtoull(optarg, NULL, 0); have_seed = true;
			break;
		case 'n': ncalls = strtoull(optarg, NULL, 0); break;
		case 't': soak = strtoull(optarg, NULL, 0); break;
		case 'j': nthreads = atoi(optarg); break;
		case 'v': verbose = true; break;
		default: usage(argv[0]);
		}
	}
	if (optind >= argc || nthreads < 1 || nthreads > MAX_THREADS)
		usage(argv[0]);
	if (!have_seed)
		seed = now_ns() ^ ((uint64_t)getpid() << 32);
	seed &= 0xffffffffffffULL;
	printf("# seed=%" PRIu64 "\n", seed);
	fflush(stdout);
	setvbuf(stdout, NULL, _IOLBF, 0);

	pagesz = sysconf(_SC_PAGESIZE);
	page_none = map(pagesz, PROT_NONE);
	page_ro = map(pagesz, PROT_READ);
	ctl_fd = open("/dev/" BLKSNAP_CTL, O_RDWR);
	if (ctl_fd < 0) {
		perror("/dev/" BLKSNAP_CTL);
		return 2;
	}
	/* The module is loaded (it holds ctl_fd): its backend is known. */
	ftrace = bs_ftrace();
	printf("# filter backend: %s\n", ftrace ? "ftrace" : "blkfilter");
	null_fd = open("/dev/null", O_RDONLY);
	dir_fd = open("/tmp", O_RDONLY | O_DIRECTORY);
	if (null_fd < 0 || dir_fd < 0) {
		perror("/dev/null or /tmp");
		return 2;
	}
	open_devices(argc - optind, argv + optind);

	/* No SA_RESTART: signals make WAIT_EVENT return EINTR. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGUSR1, &sa, NULL);

	for (int i = 0; i < nthreads; i++) {
		setup_thread(&threads[i], i, seed);
		threads[i].n_calls = ncalls / nthreads +
				     (i == 0 ? ncalls % nthreads : 0);
	}
	/* Start with every device tracked so that ctl calls go deep. */
	for (int d = 0; d < ndevs; d++) {
		struct blkfilter_name n = { .name = "blksnap" };

		describe(&threads[0], "initial ATTACH %s", devs[d].path);
		call(&threads[0], OP_ATTACH, devs[d].fd, BLKFILTER_ATTACH, &n,
		     M(OK));
	}
	start = last_report = now_ns();
	if (soak)
		deadline_ns = start + soak * 1000000000ULL;
	printf("# %d threads, %s %" PRIu64 ", devices:", nthreads,
	       soak ? "seconds" : "calls", soak ? soak : ncalls);
	for (int d = 0; d < ndevs; d++)
		printf(" %s%s", devs[d].path, devs[d].writable ? "" : "(ro)");
	printf("\n");
	for (int i = 0; i < nthreads; i++)
		pthread_create(&threads[i].th, NULL, thread_main, &threads[i]);

	/* Watchdog and signal source; the threads' own work is seeded. */
	sig_seed = seed;
	for (;;) {
		struct timespec ts = { 0, 20 * 1000000 };
		bool running = false;
		uint64_t now;

		nanosleep(&ts, NULL);
		now = now_ns();
		for (int i = 0; i < nthreads; i++) {
			struct thr *t = &threads[i];
			uint64_t cs = t->call_start;

			if (!t->done && pthread_tryjoin_np(t->th, NULL))
				running = true;
			else
				t->done = true;
			if (cs && cs < now && now - cs > HANG_SECS * 1000000000ULL) {
				printf("HANG thread=%d stuck for %" PRIu64 " s in [%s]\n",
				       i, (now - cs) / 1000000000U,
				       t->desc);
				fflush(stdout);
				_exit(3);
			}
		}
		if (!running)
			break;
		if (splitmix(&sig_seed) % 4 == 0) {
			int i = splitmix(&sig_seed) % nthreads;

			if (!threads[i].done)
				pthread_kill(threads[i].th, SIGUSR1);
		}
		if (now - last_report > 30000000000ULL) {
			uint64_t c = 0;

			for (int i = 0; i < nthreads; i++)
				c += threads[i].calls;
			printf("# progress: %" PRIu64 " s, %" PRIu64 " calls\n",
			       (now - start) / 1000000000U, c);
			last_report = now;
		}
	}
	start = now_ns() - start;

	memset(&final, 0, sizeof(final));
	final.idx = -1;
	final.buf = map(BIGBUF, PROT_READ | PROT_WRITE);
	final_checks(&final);

	for (int i = -1; i < nthreads; i++) {
		struct thr *t = i < 0 ? &final : &threads[i];

		calls += t->calls;
		nbad += t->bad;
		writes += t->writes;
		image_ios += t->image_ios;
		events += t->events;
		takes += t->takes;
		created += t->created;
		destroyed += t->destroyed;
		for (int o = 0; o < NR_OPS; o++) {
			sum[o] += t->op_calls[o];
			sum_ns[o] += t->op_ns[o];
		}
		for (int e = 0; e < 256; e++)
			hist[e] += t->hist[e];
	}
	printf("# %-14s %9s %9s\n", "operation", "count", "avg_us");
	for (int o = 0; o < NR_OPS; o++)
		if (sum[o])
			printf("# %-14s %9" PRIu64 " %9" PRIu64 "\n",
			       op_name[o], sum[o], sum_ns[o] / sum[o] / 1000);
	printf("FIGURE calls=%" PRIu64 " threads=%d seed=%" PRIu64
	       " secs=%" PRIu64 " snapshots_created=%" PRIu64
	       " snapshots_destroyed=%" PRIu64 " takes=%" PRIu64
	       " events=%" PRIu64 " writes_verified=%" PRIu64
	       " image_ios=%" PRIu64 " bad_results=%" PRIu64 "\n",
	       calls, nthreads, seed, start / 1000000000U, created,
	       destroyed, takes, events, writes, image_ios, nbad);
	printf("FIGURE");
	for (int e = 0; e < 256; e++)
		if (hist[e])
			printf(" errno_%s=%" PRIu64, e == 255 ? "OTHER" :
			       ename(e), hist[e]);
	printf("\n");
	if (nbad) {
		printf("FAIL: %" PRIu64 " calls with undocumented results or broken invariants (seed=%" PRIu64 ")\n",
		       nbad, seed);
		return 1;
	}
	return 0;
}
