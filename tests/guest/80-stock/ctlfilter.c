// SPDX-License-Identifier: GPL-2.0
/*
 * IOCTL_BLKSNAP_BDEV_FILTER with any argument, good or bad, for the tests
 * of the control-device path (80-stock).
 *
 *   ctlfilter DEV|fd:N CMD [NAME]
 *
 * DEV is opened read-only (any file: a regular file, a folder...); fd:N
 * passes the number N as it is (a closed descriptor, say). CMD is attach,
 * detach, cbtinfo (BLKFILTER_CTL with BLKFILTER_CTL_BLKSNAP_CBTINFO) or a
 * number passed as the command. NAME is the filter name (default blksnap).
 * Prints "OK" and exits 0, or prints "ERR <ENAME>" and exits 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/blk-filter.h>
#include <linux/blksnap.h>

static int usage(void)
{
	fprintf(stderr, "usage: ctlfilter DEV|fd:N attach|detach|cbtinfo|NUMBER [NAME]\n");
	return 2;
}

static const char *ename(int e)
{
	switch (e) {
	case EBADF: return "EBADF";
	case ENOTBLK: return "ENOTBLK";
	case EINVAL: return "EINVAL";
	case ENOENT: return "ENOENT";
	case ENODEV: return "ENODEV";
	case EBUSY: return "EBUSY";
	case EALREADY: return "EALREADY";
	case EPERM: return "EPERM";
	case EFAULT: return "EFAULT";
	case ENOTTY: return "ENOTTY";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	default: return strerror(e);
	}
}

int main(int argc, char **argv)
{
	struct blksnap_cbtinfo info;
	struct blkfilter_name name;
	struct blkfilter_ctl ctl;
	struct blksnap_bdev_filter bf;
	const char *fname;
	int ctl_fd;

	if (argc < 3 || argc > 4)
		return usage();
	fname = argc > 3 ? argv[3] : "blksnap";
	memset(&bf, 0, sizeof(bf));
	memset(&name, 0, sizeof(name));
	memset(&ctl, 0, sizeof(ctl));
	strncpy((char *)name.name, fname, sizeof(name.name));
	strncpy((char *)ctl.name, fname, sizeof(ctl.name));

	if (!strncmp(argv[1], "fd:", 3))
		bf.bdev_fd = atoi(argv[1] + 3);
	else if ((bf.bdev_fd = open(argv[1], O_RDONLY)) < 0) {
		perror(argv[1]);
		return 2;
	}
	if (!strcmp(argv[2], "attach")) {
		bf.cmd = BLKFILTER_ATTACH;
		bf.arg = (uintptr_t)&name;
	} else if (!strcmp(argv[2], "detach")) {
		bf.cmd = BLKFILTER_DETACH;
		bf.arg = (uintptr_t)&name;
	} else if (!strcmp(argv[2], "cbtinfo")) {
		bf.cmd = BLKFILTER_CTL;
		ctl.cmd = BLKFILTER_CTL_BLKSNAP_CBTINFO;
		ctl.optlen = sizeof(info);
		ctl.opt = (uintptr_t)&info;
		bf.arg = (uintptr_t)&ctl;
	} else {
		bf.cmd = strtoul(argv[2], NULL, 0);
		bf.arg = (uintptr_t)&name;
	}
	ctl_fd = open("/dev/" BLKSNAP_CTL, O_RDWR);
	if (ctl_fd < 0) {
		perror("/dev/" BLKSNAP_CTL);
		return 2;
	}
	if (ioctl(ctl_fd, IOCTL_BLKSNAP_BDEV_FILTER, &bf)) {
		printf("ERR %s\n", ename(errno));
		return 1;
	}
	printf("OK\n");
	return 0;
}
