/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The blkfilter ioctl numbers for the guest test helpers. The kernel
 * defines them in its <linux/fs.h>, which the host's headers (used to build
 * the helpers) predate.
 */
#ifndef BLKFILTER_IOCTLS_H
#define BLKFILTER_IOCTLS_H

#include <sys/ioctl.h>
#include <linux/blk-filter.h>

#ifndef BLKFILTER_ATTACH
#define BLKFILTER_ATTACH _IOWR(0x12, 140, struct blkfilter_name)
#define BLKFILTER_DETACH _IOWR(0x12, 141, struct blkfilter_name)
#define BLKFILTER_CTL _IOWR(0x12, 142, struct blkfilter_ctl)
#endif

#endif
