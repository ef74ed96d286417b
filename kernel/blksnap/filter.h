/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The glue between the core of blksnap and the block-device filter hook it
 * runs on. Exactly one backend is built in, chosen by a compile probe in
 * Kbuild:
 *
 * - filter_blkfilter.c: the kernel's block-device filter framework (our
 *   blkfilter series), whose BLKFILTER_* ioctls are issued on the device;
 * - filter_ftrace.c: the module's own hook on submit_bio_noacct(), for
 *   unmodified kernels, with the same ioctls carried by the control device.
 *
 * The backend attaches, detaches and serialises the filters, calls the
 * core (tracker.h: tracker_create(), tracker_detach(), tracker_ctl(),
 * tracker_submit_bio() and, where it cannot sleep,
 * tracker_submit_bio_atomic()) and sends on the bios the core took. The core
 * never knows which backend it runs on.
 */
#ifndef __BLKSNAP_FILTER_H
#define __BLKSNAP_FILTER_H

#include <linux/compiler_types.h>

struct bio;
struct blksnap_bdev_filter;

/* "blkfilter" or "ftrace": the filter_backend module parameter. */
extern const char *const blksnap_filter_backend;

int blksnap_filter_init(void);
void blksnap_filter_done(void);
void blksnap_filter_resubmit(struct bio *bio);
int blksnap_filter_ctl_ioctl(struct blksnap_bdev_filter __user *uarg);

#endif /* __BLKSNAP_FILTER_H */
