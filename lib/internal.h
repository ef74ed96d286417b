/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libblksnap internals: not installed. */
#ifndef BLKSNAP_LIB_INTERNAL_H
#define BLKSNAP_LIB_INTERNAL_H

#include <sys/ioctl.h>
#include <linux/fs.h>
#include <blksnap/blksnap.h>

/* Block-device filter ioctls of the patched <linux/fs.h>. */
#ifndef BLKFILTER_ATTACH
#define BLKFILTER_ATTACH	_IOWR(0x12, 140, struct blkfilter_name)
#define BLKFILTER_DETACH	_IOWR(0x12, 141, struct blkfilter_name)
#define BLKFILTER_CTL		_IOWR(0x12, 142, struct blkfilter_ctl)
#endif

#define BLKSNAP_API __attribute__((visibility("default")))

/* Record @op as the context of the failure @err (< 0) and return @err. */
int blksnap__fail(enum blksnap_op op, int err);

/* Size of one CBTMAP request of blksnap_read_cbt(). */
#define BLKSNAP_CBTMAP_CHUNK (1U << 20)
/* How often blksnap_read_cbt() restarts when a take changes the table. */
#define BLKSNAP_READ_CBT_TRIES 5

#endif
