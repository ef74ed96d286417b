/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Block device filter user-space interface.
 *
 * A filter is a kernel module that attaches to a block device or partition
 * and sees every bio submitted to it. These structures are the arguments of
 * the BLKFILTER_ATTACH, BLKFILTER_DETACH and BLKFILTER_CTL ioctls, issued on
 * an open file descriptor of the block device.
 */
#ifndef _UAPI_LINUX_BLK_FILTER_H
#define _UAPI_LINUX_BLK_FILTER_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define BLKFILTER_NAME_LENGTH	32

/**
 * struct blkfilter_name - argument of BLKFILTER_ATTACH and BLKFILTER_DETACH
 * @name: name of the filter, NUL-padded.
 */
struct blkfilter_name {
	__u8 name[BLKFILTER_NAME_LENGTH];
};

/**
 * struct blkfilter_ctl - argument of BLKFILTER_CTL
 * @name: name of the filter attached to the device, NUL-padded.
 * @cmd: filter-specific command.
 * @optlen: in: size of the buffer at @opt; out: number of bytes the filter
 *	wrote back (or needs).
 * @opt: user-space address of the command's option buffer.
 */
struct blkfilter_ctl {
	__u8 name[BLKFILTER_NAME_LENGTH];
	__u32 cmd;
	__u32 optlen;
	__u64 opt;
};

/*
 * The ioctl numbers. A patched kernel's <linux/fs.h> defines them too, with
 * the same values and spelling, so either header may come first.
 */
#ifndef BLKFILTER_ATTACH
#define BLKFILTER_ATTACH	_IOWR(0x12, 140, struct blkfilter_name)
#define BLKFILTER_DETACH	_IOWR(0x12, 141, struct blkfilter_name)
#define BLKFILTER_CTL		_IOWR(0x12, 142, struct blkfilter_ctl)
#endif

#endif /* _UAPI_LINUX_BLK_FILTER_H */
