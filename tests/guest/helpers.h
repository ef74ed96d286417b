/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small pieces shared by the guest test helpers (bsctl, fuzz, races,
 * integrity, faults, memcycles). Header-only: each helper is one C file.
 */
#ifndef GUEST_HELPERS_H
#define GUEST_HELPERS_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/blk-filter.h>
#include <linux/blksnap.h>

/* The reference count of a loaded module from sysfs; -1 if unreadable. */
static inline int module_refcnt(const char *module)
{
	char path[128];
	FILE *f;
	int n = -1;

	snprintf(path, sizeof(path), "/sys/module/%s/refcnt", module);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

/* Parse a whole string as a number (0x and 0 prefixes allowed): 0 or -1. */
static inline int parse_ull(const char *s, unsigned long long *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return (!*s || *end || errno) ? -1 : 0;
}

/* BLKSNAP_SEED, or the time; printed as "# seed=N" to reproduce a run. */
static inline uint64_t env_seed(void)
{
	const char *env = getenv("BLKSNAP_SEED");
	uint64_t seed = env && *env ? strtoull(env, NULL, 0) :
				      (uint64_t)time(NULL);

	printf("# seed=%" PRIu64 "\n", seed);
	return seed;
}

/* BLKSNAP_SOAK: seconds to run in a soak, 0 in a bounded run. */
static inline double env_soak(void)
{
	const char *env = getenv("BLKSNAP_SOAK");

	return env && *env ? strtod(env, NULL) : 0;
}

/*
 * Filter commands on both filter backends. The loaded module's read-only
 * parameter filter_backend names the one it runs on: "blkfilter" (the
 * kernel's framework: the BLKFILTER_* ioctls are issued on the block device
 * itself, /sys/block/<disk>[/<part>]/filter names the filter) or "ftrace"
 * (a stock kernel: the control device carries them in
 * IOCTL_BLKSNAP_BDEV_FILTER, with the same results; the module lists the
 * devices it is attached to in debugfs, one "MAJ:MIN NAME" a line).
 */
#define BS_BACKEND_PARAM "/sys/module/blksnap/parameters/filter_backend"
#define BS_CTL_PATH "/dev/" BLKSNAP_CTL
#define BS_FTRACE_FILTERS "/sys/kernel/debug/blksnap/filters"

/*
 * 1 if the loaded module runs on the ftrace backend, 0 on blkfilter or
 * without a loaded module (then the block device answers, as it would for
 * libblksnap). Read once per process: the first answer from a loaded
 * module is kept (a reload of the same module keeps its backend).
 */
static inline int bs_ftrace(void)
{
	static int known = -1;
	int v = __atomic_load_n(&known, __ATOMIC_RELAXED);
	char buf[16];
	ssize_t n;
	int fd;

	if (v >= 0)
		return v;
	fd = open(BS_BACKEND_PARAM, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (strcmp(buf, "ftrace") && strcmp(buf, "blkfilter"))
		return 0;
	v = !strcmp(buf, "ftrace");
	__atomic_store_n(&known, v, __ATOMIC_RELAXED);
	return v;
}

/*
 * bs_filter_ioctl_via() - BLKFILTER_ATTACH, _DETACH or _CTL @cmd with @arg
 * for the block device @bdev_fd: on the device itself (blkfilter), or
 * through the open control device @ctl_fd (ftrace). Returns like ioctl():
 * 0, or -1 with errno.
 */
static inline int bs_filter_ioctl_via(int ctl_fd, int bdev_fd,
				      unsigned long cmd, void *arg)
{
	struct blksnap_bdev_filter bf;

	if (!bs_ftrace())
		return ioctl(bdev_fd, cmd, arg);
	memset(&bf, 0, sizeof(bf));
	bf.bdev_fd = bdev_fd;
	bf.cmd = (__u32)cmd;
	bf.arg = (uintptr_t)arg;
	return ioctl(ctl_fd, IOCTL_BLKSNAP_BDEV_FILTER, &bf);
}

/*
 * bs_filter_ioctl() - the same, opening the control device for this call
 * only: a descriptor kept open would hold a reference to the module, and
 * helpers check its reference count and unload it while they run.
 */
static inline int bs_filter_ioctl(int bdev_fd, unsigned long cmd, void *arg)
{
	int ctl, ret, err;

	if (!bs_ftrace())
		return ioctl(bdev_fd, cmd, arg);
	ctl = open(BS_CTL_PATH, O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -1;
	ret = bs_filter_ioctl_via(ctl, bdev_fd, cmd, arg);
	err = errno;
	close(ctl);
	errno = err;
	return ret;
}

/*
 * bs_filter_of() - the name of the filter attached to block device
 * @major:@minor into @buf ("" when none): sysfs on blkfilter, the module's
 * debugfs list on ftrace. 0, or -1 with errno if that cannot be read.
 */
static inline int bs_filter_of(unsigned int major, unsigned int minor,
			       char *buf, size_t len)
{
	unsigned int ma, mi;
	char path[64], line[128];
	FILE *f;

	buf[0] = '\0';
	if (bs_ftrace()) {
		f = fopen(BS_FTRACE_FILTERS, "re");
		if (!f)
			return -1;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "%u:%u", &ma, &mi) == 2 &&
			    ma == major && mi == minor)
				snprintf(buf, len, "blksnap");
		fclose(f);
		return 0;
	}
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/filter", major,
		 minor);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(buf, len, f))
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
	return 0;
}

#endif
