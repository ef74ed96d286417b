// SPDX-License-Identifier: GPL-2.0
/*
 * bsctl: a small test helper that issues the blksnap ioctls directly (no
 * libblksnap) and prints the results. On failure it prints "ERR <ENAME>"
 * on stdout and exits with status 1; usage errors exit with status 2.
 * The filter commands go where the module's backend wants them
 * (bs_filter_ioctl: the block device, or the control device on a stock
 * kernel); "bdev-filter" issues IOCTL_BLKSNAP_BDEV_FILTER itself.
 *
 * Pointer arguments of the fuzz commands take a buffer spec:
 *   null   a NULL pointer
 *   bad    an address that is not mapped
 *   ro     a read-only page (for commands that write back)
 *   edge   a buffer ending right before an unmapped page
 *   ok     a large valid buffer
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <linux/blk-filter.h>	/* and the BLKFILTER_* ioctl numbers */
#include "../helpers.h"
#include <linux/blksnap.h>


static const char *prog;

static void usage(void)
{
	fprintf(stderr,
		"usage: %s COMMAND ARGS\n"
		"  version\n"
		"  attach DEV [NAME] | detach DEV [NAME]\n"
		"  bdev-filter DEV attach|detach|bad   IOCTL_BLKSNAP_BDEV_FILTER\n"
		"  cbtinfo DEV\n"
		"  cbtmap DEV [OFFSET LENGTH]     nonzero entries as 'block value'\n"
		"  cbtmap-raw DEV OFFSET LENGTH BUFSPEC\n"
		"  markdirty DEV OFF:COUNT...\n"
		"  markdirty-raw DEV COUNT BUFSPEC\n"
		"  ctl-raw DEV CMD OPTLEN BUFSPEC [NAME]\n"
		"  create PATH|null LIMIT_SECTORS | create-raw BUFSPEC\n"
		"  add DEV UUID | take UUID | destroy UUID | info DEV\n"
		"  collect [null|N]\n"
		"  wait UUID TIMEOUT_MS [BUFSPEC|ro-filled]\n"
		"  stamp|verify DEV TAG FIRST COUNT [TAG FIRST COUNT]... (4 KiB blocks)\n"
		"  cycles DEV STORAGE N   N create/add/take/destroy rounds, one\n"
		"                         'round changes generation' line each\n"
		"  nowait-write DEV OFFSET LEN  O_DIRECT pwritev2(RWF_NOWAIT) of 0x5a\n"
		"  loadcycles KO DEV N    N rounds of load, attach, write, detach,\n"
		"                         unload, checking the module refcount\n"
		"  takeloop DEV STORAGE N FIRST COUNT STRIDE [SECONDS]\n"
		"                         N checked takes: stamps at FIRST+j*STRIDE\n",
		prog);
	exit(2);
}

static int fail(int err)
{
	const char *name = strerrorname_np(err);

	printf("ERR %s\n", name ? name : "UNKNOWN");
	return 1;
}

static int open_dev(const char *path, int flags)
{
	int fd = open(path, flags);

	if (fd < 0) {
		fprintf(stderr, "%s: cannot open %s: %s\n", prog, path,
			strerror(errno));
		exit(3);
	}
	return fd;
}

static void *bufspec(const char *spec, size_t len)
{
	static long page;
	char *p;

	if (!page)
		page = sysconf(_SC_PAGESIZE);
	if (!strcmp(spec, "null"))
		return NULL;
	if (!strcmp(spec, "bad")) {
		p = mmap(NULL, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
		munmap(p, page);
		return p;
	}
	if (!strcmp(spec, "ro")) {
		p = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
		return p;
	}
	if (!strcmp(spec, "edge")) {
		size_t sz = (len + page - 1) / page * page;

		p = mmap(NULL, sz + page, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		munmap(p + sz, page);
		return p + sz - len;
	}
	if (!strcmp(spec, "ok")) {
		p = calloc(1, (len < (1 << 20) ? len : (1 << 20)) + 4096);
		return p;
	}
	usage();
	return NULL;
}

static int blkfilter_ctl(int fd, const char *name, unsigned int cmd,
			 void *opt, unsigned int *optlen)
{
	struct blkfilter_ctl ctl;

	memset(&ctl, 0, sizeof(ctl));
	memcpy(ctl.name, name, strnlen(name, sizeof(ctl.name)));
	ctl.cmd = cmd;
	ctl.optlen = *optlen;
	ctl.opt = (uintptr_t)opt;
	if (bs_filter_ioctl(fd, BLKFILTER_CTL, &ctl))
		return errno;
	*optlen = ctl.optlen;
	return 0;
}

static void print_uuid(const struct blksnap_uuid *id)
{
	for (int i = 0; i < 16; i++) {
		printf("%02x", id->b[i]);
		if (i == 3 || i == 5 || i == 7 || i == 9)
			printf("-");
	}
}

static void parse_uuid(const char *s, struct blksnap_uuid *id)
{
	int n = 0;

	for (; *s && n < 16; s++) {
		unsigned int v;

		if (*s == '-')
			continue;
		if (sscanf(s, "%2x", &v) != 1)
			usage();
		id->b[n++] = v;
		s++;
	}
	if (n != 16)
		usage();
}

static int ctl_fd(void)
{
	return open_dev("/dev/" BLKSNAP_CTL, O_RDWR);
}

static unsigned long long num(const char *s)
{
	unsigned long long v;

	if (parse_ull(s, &v))
		usage();
	return v;
}

#define STAMP 4096

static void stamp_block(char *blk, const char *tag, unsigned long long b)
{
	int n = snprintf(blk, STAMP, "%s %llu\n", tag, b);

	memset(blk + n, ' ', STAMP - n);
}

/*
 * stamp|verify DEV TAG FIRST COUNT [TAG FIRST COUNT]...: several ranges in
 * one process, since a process costs about a second in the debug guest.
 */
static int do_stamp(int argc, char **argv, int verify)
{
	unsigned long long first, count, b;
	char *buf, *exp;
	int fd, i;

	if (argc < 6 || (argc - 3) % 3)
		usage();
	fd = open_dev(argv[2], (verify ? O_RDONLY : O_WRONLY) | O_DIRECT);
	if (posix_memalign((void **)&buf, STAMP, STAMP) ||
	    posix_memalign((void **)&exp, STAMP, STAMP))
		return 4;
	for (i = 3; i < argc; i += 3) {
		first = num(argv[i + 1]);
		count = num(argv[i + 2]);
		for (b = first; b < first + count; b++) {
			stamp_block(exp, argv[i], b);
			if (verify) {
				ssize_t r = pread(fd, buf, STAMP, b * STAMP);

				if (r != STAMP) {
					printf("MISMATCH block %llu: read %zd (%s)\n",
					       b, r,
					       r < 0 ? strerrorname_np(errno) : "");
					return 1;
				}
				if (memcmp(buf, exp, STAMP)) {
					buf[64] = 0;
					printf("MISMATCH block %llu: '%.*s' expected '%s'\n",
					       b, (int)strcspn(buf, "\n"), buf,
					       argv[i]);
					return 1;
				}
			} else if (pwrite(fd, exp, STAMP, b * STAMP) != STAMP) {
				return fail(errno);
			}
		}
	}
	if (!verify && fsync(fd))
		return fail(errno);
	close(fd);
	free(buf);
	free(exp);
	return 0;
}

/* Many complete takes of one device, without a process per ioctl. */
static int do_cycles(int argc, char **argv)
{
	struct blksnap_snapshot_create c;
	struct blksnap_snapshotadd a;
	struct blksnap_cbtinfo info;
	unsigned long long i, n;
	unsigned int len;
	int fd, dfd, err;

	if (argc != 5)
		usage();
	n = num(argv[4]);
	fd = ctl_fd();
	dfd = open_dev(argv[2], O_RDONLY);
	for (i = 1; i <= n; i++) {
		memset(&c, 0, sizeof(c));
		c.diff_storage_filename = (uintptr_t)argv[3];
		if (ioctl(fd, IOCTL_BLKSNAP_SNAPSHOT_CREATE, &c))
			return fail(errno);
		memcpy(&a.id, &c.id, sizeof(a.id));
		len = sizeof(a);
		err = blkfilter_ctl(dfd, "blksnap",
				    BLKFILTER_CTL_BLKSNAP_SNAPSHOTADD, &a, &len);
		if (err)
			return fail(err);
		if (ioctl(fd, IOCTL_BLKSNAP_SNAPSHOT_TAKE, &c.id))
			return fail(errno);
		if (ioctl(fd, IOCTL_BLKSNAP_SNAPSHOT_DESTROY, &c.id))
			return fail(errno);
		len = sizeof(info);
		err = blkfilter_ctl(dfd, "blksnap",
				    BLKFILTER_CTL_BLKSNAP_CBTINFO, &info, &len);
		if (err)
			return fail(err);
		printf("%llu %u ", i, info.changes_number);
		print_uuid(&info.generation_id);
		printf("\n");
	}
	return 0;
}

/* Read a 4 KiB block and compare it with the stamp TAG; 0 when it matches. */
static int takeloop_check(int fd, const char *what, const char *tag,
			  unsigned long long b, char *buf, char *exp)
{
	ssize_t r = pread(fd, buf, STAMP, b * STAMP);

	stamp_block(exp, tag, b);
	if (r != STAMP) {
		printf("%s block %llu: read %zd (%s)\n", what, b, r,
		       r < 0 ? strerrorname_np(errno) : "");
		return 1;
	}
	if (memcmp(buf, exp, STAMP)) {
		buf[64] = 0;
		printf("%s block %llu: '%.*s', expected '%s %llu'\n", what, b,
		       (int)strcspn(buf, "\n"), buf, tag, b);
		return 1;
	}
	return 0;
}

/* Phases of a takeloop round, timed separately (where a round's time goes). */
enum { PH_CREATE, PH_ADD, PH_TAKE, PH_OPEN, PH_IO, PH_DESTROY, PH_N };
static const char *const phase_name[PH_N] = {
	"create", "add", "take", "open", "io", "destroy",
};

/* Microseconds from *a to *b. */
static long long us_between(const struct timespec *a, const struct timespec *b)
{
	return (long long)(b->tv_sec - a->tv_sec) * 1000000 +
	       (b->tv_nsec - a->tv_nsec) / 1000;
}

/* Add the time since *t to *acc (microseconds) and restart *t. */
static void lap(struct timespec *t, long long *acc)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	*acc += us_between(t, &now);
	*t = now;
}

/*
 * Rounds of create/add/take/destroy with the point in time checked each
 * round: the stamp blocks FIRST + j * STRIDE (j < COUNT) hold generation
 * i - 1 when round i takes; the round then writes generation i there, and
 * the image must still show i - 1 while the original shows i. The change
 * number must grow by one per take (or restart at 0 with a new
 * generation). Stops after N rounds or SECONDS, whichever comes first.
 * Prints the rounds, the total and each phase's share (PHASE_ms).
 */
static int do_takeloop(int argc, char **argv)
{
	unsigned long long i, j, n, first, count, stride, secs = 0, b;
	struct blksnap_snapshot_create c;
	struct blksnap_snapshotinfo si;
	struct blksnap_cbtinfo info;
	struct blksnap_snapshotadd a;
	struct timespec t0, t1, tp;
	long long phase_us[PH_N] = { 0 };
	unsigned int len, changes, wraps = 0;
	char tag[32], old[32], img[64];
	struct blksnap_uuid gen;
	int fd, dfd, ifd, err;
	char *buf, *exp;
	long long ms;

	if (argc != 8 && argc != 9)
		usage();
	n = num(argv[4]);
	first = num(argv[5]);
	count = num(argv[6]);
	stride = num(argv[7]);
	if (argc == 9)
		secs = num(argv[8]);
	if (posix_memalign((void **)&buf, STAMP, STAMP) ||
	    posix_memalign((void **)&exp, STAMP, STAMP))
		return fail(ENOMEM);
	fd = ctl_fd();
	dfd = open_dev(argv[2], O_RDWR | O_DIRECT);
	len = sizeof(info);
	err = blkfilter_ctl(dfd, "blksnap", BLKFILTER_CTL_BLKSNAP_CBTINFO,
			    &info, &len);
	if (err)
		return fail(err);
	changes = info.changes_number;
	gen = info.generation_id;
	/* Generation 0 before the first take. */
	for (j = 0; j < count; j++) {
		b = first + j * stride;
		stamp_block(exp, "T0", b);
		if (pwrite(dfd, exp, STAMP, b * STAMP) != STAMP)
			return fail(errno);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 1; i <= n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &tp);
		snprintf(old, sizeof(old), "T%llu", i - 1);
		snprintf(tag, sizeof(tag), "T%llu", i);
		memset(&c, 0, sizeof(c));
		c.diff_storage_filename = (uintptr_t)argv[3];
		if (ioctl(fd, IOCTL_BLKSNAP_SNAPSHOT_CREATE, &c)) {
			printf("round %llu: create: ", i);
			return fail(errno);
		}
		lap(&tp, &phase_us[PH_CREATE]);
		memcpy(&a.id, &c.id, sizeof(a.id));
		len = sizeof(a);
		err = blkfilter_ctl(dfd, "blksnap",
				    BLKFILTER_CTL_BLKSNAP_SNAPSHOTADD, &a, &len);
		if (err) {
			printf("round %llu: add: ", i);
			return fail(err);
		}
		lap(&tp, &phase_us[PH_ADD]);
		if (ioctl(fd, IOCTL_BLKSNAP_SNAPSHOT_TAKE, &c.id)) {
			printf("round %llu: take: ", i);
			return fail(errno);
		}
		lap(&tp, &phase_us[PH_TAKE]);
		len = sizeof(si);
		err = blkfilter_ctl(dfd, "blksnap",
				    BLKFILTER_CTL_BLKSNAP_SNAPSHOTINFO, &si,
				    &len);
		if (err) {
			printf("round %llu: info: ", i);
			return fail(err);
		}
		snprintf(img, sizeof(img), "/dev/%.*s", IMAGE_DISK_NAME_LEN,
			 (char *)si.image);
		ifd = open_dev(img, O_RDONLY | O_DIRECT);
		lap(&tp, &phase_us[PH_OPEN]);
		for (j = 0; j < count; j++) {
			b = first + j * stride;
			if (takeloop_check(ifd, "image before write", old, b,
					   buf, exp)) {
				printf("round %llu\n", i);
				return 1;
			}
			stamp_block(exp, tag, b);
			if (pwrite(dfd, exp, STAMP, b * STAMP) != STAMP) {
				printf("round %llu: write: ", i);
				return fail(errno);
			}
		}
		for (j = 0; j < count; j++) {
			b = first + j * stride;
			if (takeloop_check(ifd, "image after write", old, b,
					   buf, exp) ||
			    takeloop_check(dfd, "original", tag, b, buf, exp)) {
				printf("round %llu\n", i);
				return 1;
			}
		}
		close(ifd);
		lap(&tp, &phase_us[PH_IO]);
		if (ioctl(fd, IOCTL_BLKSNAP_SNAPSHOT_DESTROY, &c.id)) {
			printf("round %llu: destroy: ", i);
			return fail(errno);
		}
		lap(&tp, &phase_us[PH_DESTROY]);
		len = sizeof(info);
		err = blkfilter_ctl(dfd, "blksnap",
				    BLKFILTER_CTL_BLKSNAP_CBTINFO, &info, &len);
		if (err) {
			printf("round %llu: cbtinfo: ", i);
			return fail(err);
		}
		if (memcmp(&gen, &info.generation_id, sizeof(gen))) {
			/* The active number would have reached 256. */
			if (info.changes_number != 0 || changes != 254) {
				printf("round %llu: new generation with changes %u after %u\n",
				       i, info.changes_number, changes);
				return 1;
			}
			gen = info.generation_id;
			wraps++;
		} else if (info.changes_number != changes + 1) {
			printf("round %llu: changes %u after %u\n", i,
			       info.changes_number, changes);
			return 1;
		}
		changes = info.changes_number;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (secs && t1.tv_sec - t0.tv_sec >= (time_t)secs) {
			i++;
			break;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = us_between(&t0, &t1) / 1000;
	printf("rounds=%llu ms=%lld changes=%u wraps=%u", i - 1, ms, changes,
	       wraps);
	for (j = 0; j < PH_N; j++)
		printf(" %s_ms=%lld", phase_name[j], phase_us[j] / 1000);
	printf("\n");
	close(dfd);
	free(buf);
	free(exp);
	return 0;
}

/* A write that must not wait: REQ_NOWAIT reaches the filter. */
static int do_nowait_write(int argc, char **argv)
{
	struct iovec iov;
	void *buf;
	int fd;

	if (argc != 5)
		usage();
	iov.iov_len = num(argv[4]);
	if (posix_memalign(&buf, 4096, iov.iov_len ? iov.iov_len : 4096))
		return fail(ENOMEM);
	memset(buf, 0x5a, iov.iov_len);
	iov.iov_base = buf;
	fd = open_dev(argv[2], O_WRONLY | O_DIRECT);
	if (pwritev2(fd, &iov, 1, num(argv[3]), RWF_NOWAIT) !=
	    (ssize_t)iov.iov_len)
		return fail(errno);
	free(buf);
	return 0;
}

/* refcnt: the module's reference count from sysfs, -1 if unreadable */
static int refcnt(void)
{
	return module_refcnt("blksnap");
}

/* filter_of: the filter attached to the device @dev, "" when none */
static void filter_of(const char *dev, char *buf, size_t len)
{
	struct stat st;

	if (stat(dev, &st) ||
	    bs_filter_of(major(st.st_rdev), minor(st.st_rdev), buf, len))
		snprintf(buf, len, "? (%s)", strerror(errno));
}

/*
 * Load/unload rounds without a process per step: under emulation with a
 * debug kernel an exec costs more than the module load itself.
 */
static int do_loadcycles(int argc, char **argv)
{
	struct blkfilter_name name = { .name = "blksnap" };
	unsigned long long i, n;
	char filter[64];
	void *buf;
	int ko, dfd;

	if (argc != 5)
		usage();
	n = num(argv[4]);
	if (posix_memalign(&buf, 4096, 65536))
		return fail(ENOMEM);
	memset(buf, 0xa5, 65536);
	for (i = 1; i <= n; i++) {
		ko = open_dev(argv[2], O_RDONLY | O_CLOEXEC);
		if (syscall(SYS_finit_module, ko, "", 0)) {
			printf("round %llu: load: ", i);
			return fail(errno);
		}
		close(ko);
		dfd = open_dev(argv[3], O_RDWR | O_DIRECT);
		if (bs_filter_ioctl(dfd, BLKFILTER_ATTACH, &name)) {
			printf("round %llu: attach: ", i);
			return fail(errno);
		}
		filter_of(argv[3], filter, sizeof(filter));
		if (strcmp(filter, "blksnap")) {
			printf("round %llu: filter is '%s' after attach\n", i,
			       filter);
			return 1;
		}
		if (pwrite(dfd, buf, 65536, (off_t)(i % 1024) * 65536) != 65536) {
			printf("round %llu: write: ", i);
			return fail(errno);
		}
		if (refcnt() != 1) {
			printf("round %llu: refcnt %d with a tracker\n", i,
			       refcnt());
			return 1;
		}
		if (bs_filter_ioctl(dfd, BLKFILTER_DETACH, &name)) {
			printf("round %llu: detach: ", i);
			return fail(errno);
		}
		close(dfd);
		filter_of(argv[3], filter, sizeof(filter));
		if (filter[0] || refcnt() != 0) {
			printf("round %llu: filter '%s' refcnt %d after detach\n",
			       i, filter, refcnt());
			return 1;
		}
		if (syscall(SYS_delete_module, "blksnap", O_NONBLOCK)) {
			printf("round %llu: unload: ", i);
			return fail(errno);
		}
	}
	free(buf);
	printf("%llu rounds\n", n);
	return 0;
}

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	(void)sig;
	got_signal = 1;
}

int main(int argc, char **argv)
{
	const char *cmd;
	unsigned int len;
	int fd, err;

	prog = argv[0];
	if (argc < 2)
		usage();
	cmd = argv[1];

	if (!strcmp(cmd, "nowait-write"))
		return do_nowait_write(argc, argv);
	if (!strcmp(cmd, "loadcycles"))
		return do_loadcycles(argc, argv);
	if (!strcmp(cmd, "takeloop"))
		return do_takeloop(argc, argv);
	if (!strcmp(cmd, "version")) {
		struct blksnap_version v;

		fd = ctl_fd();
		if (ioctl(fd, IOCTL_BLKSNAP_VERSION, &v))
			return fail(errno);
		printf("%u.%u.%u.%u\n", v.major, v.minor, v.revision, v.build);
		return 0;
	}
	if (!strcmp(cmd, "bdev-filter")) {
		struct blkfilter_name name = { .name = "blksnap" };
		struct blksnap_bdev_filter bf = { .arg = (uintptr_t)&name };

		if (argc != 4)
			usage();
		bf.bdev_fd = open_dev(argv[2], O_RDONLY);
		bf.cmd = !strcmp(argv[3], "attach") ? BLKFILTER_ATTACH :
			 !strcmp(argv[3], "detach") ? BLKFILTER_DETACH : 0;
		if (ioctl(ctl_fd(), IOCTL_BLKSNAP_BDEV_FILTER, &bf))
			return fail(errno);
		return 0;
	}
	if (!strcmp(cmd, "attach") || !strcmp(cmd, "detach")) {
		struct blkfilter_name name;
		const char *fname;

		if (argc < 3)
			usage();
		memset(&name, 0, sizeof(name));
		fname = argc > 3 ? argv[3] : "blksnap";
		memcpy(name.name, fname, strnlen(fname, sizeof(name.name)));
		fd = open_dev(argv[2], O_RDONLY);
		if (bs_filter_ioctl(fd, cmd[0] == 'a' ? BLKFILTER_ATTACH :
				    BLKFILTER_DETACH, &name))
			return fail(errno);
		return 0;
	}
	if (!strcmp(cmd, "cbtinfo")) {
		struct blksnap_cbtinfo info;

		if (argc != 3)
			usage();
		fd = open_dev(argv[2], O_RDONLY);
		len = sizeof(info);
		err = blkfilter_ctl(fd, "blksnap", BLKFILTER_CTL_BLKSNAP_CBTINFO,
				    &info, &len);
		if (err)
			return fail(err);
		printf("capacity=%llu block_size=%u block_count=%u generation=",
		       (unsigned long long)info.device_capacity,
		       info.block_size, info.block_count);
		print_uuid(&info.generation_id);
		printf(" changes=%u optlen=%u\n", info.changes_number, len);
		return 0;
	}
	if (!strcmp(cmd, "cbtmap")) {
		struct blksnap_cbtinfo info;
		struct blksnap_cbtmap map;
		unsigned char *buf;
		unsigned int i;

		if (argc != 3 && argc != 5)
			usage();
		fd = open_dev(argv[2], O_RDONLY);
		len = sizeof(info);
		err = blkfilter_ctl(fd, "blksnap", BLKFILTER_CTL_BLKSNAP_CBTINFO,
				    &info, &len);
		if (err)
			return fail(err);
		map.offset = argc == 5 ? num(argv[3]) : 0;
		map.length = argc == 5 ? num(argv[4]) : info.block_count;
		buf = calloc(1, map.length + 1);
		map.buffer = (uintptr_t)buf;
		len = sizeof(map);
		err = blkfilter_ctl(fd, "blksnap", BLKFILTER_CTL_BLKSNAP_CBTMAP,
				    &map, &len);
		if (err)
			return fail(err);
		for (i = 0; i < map.length; i++)
			if (buf[i])
				printf("%u %u\n", map.offset + i, buf[i]);
		return 0;
	}
	if (!strcmp(cmd, "cbtmap-raw")) {
		struct blksnap_cbtmap map;

		if (argc != 6)
			usage();
		fd = open_dev(argv[2], O_RDONLY);
		map.offset = num(argv[3]);
		map.length = num(argv[4]);
		map.buffer = (uintptr_t)bufspec(argv[5], map.length);
		len = sizeof(map);
		err = blkfilter_ctl(fd, "blksnap", BLKFILTER_CTL_BLKSNAP_CBTMAP,
				    &map, &len);
		if (err)
			return fail(err);
		printf("OK\n");
		return 0;
	}
	if (!strcmp(cmd, "markdirty")) {
		struct blksnap_sectors *r;
		struct blksnap_cbtdirty d;
		int i;

		if (argc < 4)
			usage();
		fd = open_dev(argv[2], O_RDONLY);
		r = calloc(argc - 3, sizeof(*r));
		for (i = 3; i < argc; i++) {
			unsigned long long off, cnt;

			if (sscanf(argv[i], "%llu:%llu", &off, &cnt) != 2)
				usage();
			r[i - 3].offset = off;
			r[i - 3].count = cnt;
		}
		d.count = argc - 3;
		d.dirty_sectors = (uintptr_t)r;
		len = sizeof(d);
		err = blkfilter_ctl(fd, "blksnap", BLKFILTER_CTL_BLKSNAP_CBTDIRTY,
				    &d, &len);
		if (err)
			return fail(err);
		printf("OK\n");
		return 0;
	}
	if (!strcmp(cmd, "markdirty-raw")) {
		struct blksnap_cbtdirty d;

		if (argc != 5)
			usage();
		fd = open_dev(argv[2], O_RDONLY);
		d.count = num(argv[3]);
		d.dirty_sectors = (uintptr_t)bufspec(argv[4],
			(size_t)d.count * sizeof(struct blksnap_sectors));
		len = sizeof(d);
		err = blkfilter_ctl(fd, "blksnap", BLKFILTER_CTL_BLKSNAP_CBTDIRTY,
				    &d, &len);
		if (err)
			return fail(err);
		printf("OK\n");
		return 0;
	}
	if (!strcmp(cmd, "ctl-raw")) {
		void *opt;

		if (argc != 6 && argc != 7)
			usage();
		fd = open_dev(argv[2], O_RDONLY);
		len = num(argv[4]);
		opt = bufspec(argv[5], len);
		err = blkfilter_ctl(fd, argc == 7 ? argv[6] : "blksnap",
				    num(argv[3]), opt, &len);
		if (err)
			return fail(err);
		printf("OK optlen=%u\n", len);
		return 0;
	}
	if (!strcmp(cmd, "create")) {
		struct blksnap_snapshot_create c;

		if (argc != 4)
			usage();
		memset(&c, 0, sizeof(c));
		c.diff_storage_limit_sect = num(argv[3]);
		c.diff_storage_filename = strcmp(argv[2], "null") ?
					  (uintptr_t)argv[2] : 0;
		fd = ctl_fd();
		if (ioctl(fd, IOCTL_BLKSNAP_SNAPSHOT_CREATE, &c))
			return fail(errno);
		print_uuid(&c.id);
		printf("\n");
		return 0;
	}
	if (!strcmp(cmd, "create-raw")) {
		void *p;

		if (argc != 3)
			usage();
		p = bufspec(argv[2], sizeof(struct blksnap_snapshot_create));
		fd = ctl_fd();
		if (ioctl(fd, IOCTL_BLKSNAP_SNAPSHOT_CREATE, p))
			return fail(errno);
		printf("OK\n");
		return 0;
	}
	if (!strcmp(cmd, "add")) {
		struct blksnap_snapshotadd a;

		if (argc != 4)
			usage();
		parse_uuid(argv[3], &a.id);
		fd = open_dev(argv[2], O_RDONLY);
		len = sizeof(a);
		err = blkfilter_ctl(fd, "blksnap",
				    BLKFILTER_CTL_BLKSNAP_SNAPSHOTADD, &a, &len);
		if (err)
			return fail(err);
		return 0;
	}
	if (!strcmp(cmd, "take") || !strcmp(cmd, "destroy")) {
		struct blksnap_uuid id;

		if (argc != 3)
			usage();
		parse_uuid(argv[2], &id);
		fd = ctl_fd();
		if (ioctl(fd, cmd[0] == 't' ? IOCTL_BLKSNAP_SNAPSHOT_TAKE :
			  IOCTL_BLKSNAP_SNAPSHOT_DESTROY, &id))
			return fail(errno);
		return 0;
	}
	if (!strcmp(cmd, "info")) {
		struct blksnap_snapshotinfo info;

		if (argc != 3)
			usage();
		fd = open_dev(argv[2], O_RDONLY);
		len = sizeof(info);
		err = blkfilter_ctl(fd, "blksnap",
				    BLKFILTER_CTL_BLKSNAP_SNAPSHOTINFO, &info,
				    &len);
		if (err)
			return fail(err);
		printf("error=%d image=%.*s\n", info.error_code,
		       IMAGE_DISK_NAME_LEN, (char *)info.image);
		return 0;
	}
	if (!strcmp(cmd, "collect")) {
		struct blksnap_snapshot_collect c;
		struct blksnap_uuid *ids = NULL;
		unsigned int i;

		c.count = 0;
		if (argc == 3 && strcmp(argv[2], "null"))
			c.count = num(argv[2]);
		if (argc < 3 || strcmp(argv[2], "null"))
			ids = calloc(c.count + 1, sizeof(*ids));
		if (argc < 3) {
			c.count = 1024;
			ids = calloc(c.count, sizeof(*ids));
		}
		c.ids = (uintptr_t)ids;
		fd = ctl_fd();
		err = ioctl(fd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &c) ? errno : 0;
		printf("count=%u\n", c.count);
		if (err)
			return fail(err);
		for (i = 0; ids && i < c.count; i++) {
			print_uuid(&ids[i]);
			printf("\n");
		}
		return 0;
	}
	if (!strcmp(cmd, "wait")) {
		struct blksnap_snapshot_event *ev;
		struct blksnap_event_corrupted *cr;
		struct timespec t0, t1;
		struct sigaction sa;
		int ro;

		if (argc != 4 && argc != 5)
			usage();
		/* "ro-filled": a valid request the kernel cannot write back. */
		ro = argc == 5 && !strcmp(argv[4], "ro-filled");
		ev = argc == 5 && !ro ? bufspec(argv[4], sizeof(*ev)) :
			calloc(1, sizeof(*ev));
		if (ro)
			ev = mmap(NULL, sizeof(*ev), PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (ev && (argc == 4 || ro)) {
			parse_uuid(argv[2], &ev->id);
			ev->timeout_ms = num(argv[3]);
		}
		if (ro && mprotect(ev, sizeof(*ev), PROT_READ))
			return fail(errno);
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigaction(SIGUSR1, &sa, NULL);
		fd = ctl_fd();
		clock_gettime(CLOCK_MONOTONIC, &t0);
		err = ioctl(fd, IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT, ev) ? errno :
			0;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		fprintf(stderr, "elapsed_ms=%lld\n",
			us_between(&t0, &t1) / 1000);
		if (err)
			return fail(err);
		cr = (void *)ev->data;
		printf("code=%u dev=%u:%u err=%d\n", ev->code, cr->dev_id_mj,
		       cr->dev_id_mn, cr->err_code);
		return 0;
	}
	if (!strcmp(cmd, "cycles"))
		return do_cycles(argc, argv);
	if (!strcmp(cmd, "stamp"))
		return do_stamp(argc, argv, 0);
	if (!strcmp(cmd, "verify"))
		return do_stamp(argc, argv, 1);
	usage();
	return 2;
}
