// SPDX-License-Identifier: GPL-2.0
/*
 * The "blkfilter" backend: blksnap as a filter of the kernel's block-device
 * filter framework (include/linux/blk-filter.h). The framework attaches,
 * detaches and serialises the filters, passes every bio of a filtered
 * device to it exactly once and detaches it when the disk is deleted; this
 * file only forwards to the tracker.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blk-filter.h>
#include <linux/blkdev.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/blksnap.h>
#include "filter.h"
#include "objcount.h"
#include "tracker.h"

const char *const blksnap_filter_backend = "blkfilter";

/**
 * struct blksnap_blkfilter - blksnap as attached to one device
 * @filter: the framework's part, pointed to by bdev->bd_filter.
 * @tracker: the core's state of the device.
 */
struct blksnap_blkfilter {
	struct blkfilter filter;
	struct tracker *tracker;
};

static struct tracker *blkfilter_tracker(struct blkfilter *flt)
{
	return container_of(flt, struct blksnap_blkfilter, filter)->tracker;
}

static struct blkfilter *blksnap_blkfilter_attach(struct block_device *bdev)
{
	struct blksnap_blkfilter *bf;
	struct tracker *tracker;

	/* The framework may have frozen the device: no I/O to allocate. */
	bf = kzalloc(sizeof(*bf), GFP_NOIO);
	if (!bf)
		return ERR_PTR(-ENOMEM);
	tracker = tracker_create(bdev);
	if (IS_ERR(tracker)) {
		kfree(bf);
		return ERR_CAST(tracker);
	}
	bf->tracker = tracker;
	blksnap_obj_add(BLKSNAP_OBJ_FILTER, 1);
	return &bf->filter;
}

static void blksnap_blkfilter_detach(struct blkfilter *flt)
{
	struct blksnap_blkfilter *bf =
		container_of(flt, struct blksnap_blkfilter, filter);

	tracker_detach(bf->tracker);
	kfree(bf);
	blksnap_obj_sub(BLKSNAP_OBJ_FILTER, 1);
}

static int blksnap_blkfilter_ctl(struct blkfilter *flt, const unsigned int cmd,
				 __u8 __user *buf, __u32 *plen)
{
	return tracker_ctl(blkfilter_tracker(flt), cmd, buf, plen);
}

static bool blksnap_blkfilter_submit_bio(struct bio *bio)
{
	return tracker_submit_bio(blkfilter_tracker(bio->bi_bdev->bd_filter),
				  bio);
}

static struct blkfilter_operations blksnap_blkfilter_ops = {
	.owner = THIS_MODULE,
	.name = "blksnap",
	.attach = blksnap_blkfilter_attach,
	.detach = blksnap_blkfilter_detach,
	.ctl = blksnap_blkfilter_ctl,
	.submit_bio = blksnap_blkfilter_submit_bio,
};

/**
 * blksnap_filter_init() - register the "blksnap" filter with the framework
 *
 * Return: 0 or a negative error.
 */
int blksnap_filter_init(void)
{
	return blkfilter_register(&blksnap_blkfilter_ops);
}

/**
 * blksnap_filter_done() - unregister the "blksnap" filter
 *
 * No filter is attached any more: each attachment holds a reference to the
 * module.
 */
void blksnap_filter_done(void)
{
	blkfilter_unregister(&blksnap_blkfilter_ops);
}

/**
 * blksnap_filter_resubmit() - send on a bio that tracker_submit_bio() took
 * @bio: the bio; the filter does not see it again.
 */
void blksnap_filter_resubmit(struct bio *bio)
{
	resubmit_filtered_bio(bio);
}

/**
 * blksnap_filter_ctl_ioctl() - IOCTL_BLKSNAP_BDEV_FILTER on this backend
 * @uarg: the user's &struct blksnap_bdev_filter.
 *
 * Filter commands through the control device are for kernels without
 * block-device filters. This kernel has them: the block device's own
 * BLKFILTER_* ioctls are the way.
 *
 * Return: -EOPNOTSUPP, or -EFAULT if @uarg cannot be read.
 */
int blksnap_filter_ctl_ioctl(struct blksnap_bdev_filter __user *uarg)
{
	struct blksnap_bdev_filter arg;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	return -EOPNOTSUPP;
}
