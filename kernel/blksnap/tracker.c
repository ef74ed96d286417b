// SPDX-License-Identifier: GPL-2.0
/*
 * The "blksnap" block-device filter: one tracker per attached device,
 * tracking changed blocks and diverting writes to copy-on-write while a
 * snapshot of the device is taken.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blk-filter.h>
#include <linux/blkdev.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uuid.h>
#include <linux/blksnap.h>
#include "blksnap.h"
#include "cbt_map.h"
#include "diff_area.h"
#include "objcount.h"
#include "snapshot.h"
#include "tracker.h"

/* Ranges of one CBTDIRTY request copied from user space at a time. */
#define CBTDIRTY_BATCH 64
/* Most ranges one CBTDIRTY request may carry. */
#define CBTDIRTY_MAX_COUNT BIT(20)

static struct blkfilter_operations tracker_ops;

static void tracker_release(struct kref *kref)
{
	struct tracker *tracker = container_of(kref, struct tracker, kref);
	struct module *owner = tracker->bdev->bd_disk->fops->owner;

	WARN_ON_ONCE(tracker->diff_area);
	cbt_map_destroy(tracker->cbt_map);
	put_device(&tracker->bdev->bd_device);
	module_put(owner);
	kfree(tracker);
	blksnap_obj_sub(BLKSNAP_OBJ_TRACKER, 1);
}

/**
 * tracker_put() - drop a reference to a tracker
 * @tracker: the tracker.
 */
void tracker_put(struct tracker *tracker)
{
	kref_put(&tracker->kref, tracker_release);
}

/**
 * tracker_get() - take a reference to a tracker
 * @tracker: the tracker.
 *
 * Return: @tracker.
 */
struct tracker *tracker_get(struct tracker *tracker)
{
	kref_get(&tracker->kref);
	return tracker;
}

/**
 * tracker_get_diff_area() - the copy-on-write state of a device
 * @tracker: the tracker.
 *
 * Return: a reference to the difference area while a snapshot of the device
 * is taken, otherwise NULL.
 */
struct diff_area *tracker_get_diff_area(struct tracker *tracker)
{
	struct diff_area *da;

	spin_lock(&tracker->lock);
	da = tracker->diff_area;
	if (da)
		diff_area_get(da);
	spin_unlock(&tracker->lock);
	return da;
}

static struct blkfilter *tracker_attach(struct block_device *bdev)
{
	struct module *owner = bdev->bd_disk->fops->owner;
	struct tracker *tracker;
	unsigned int noio;
	int ret;

	/* The device is frozen: allocate without I/O. */
	noio = memalloc_noio_save();
	tracker = kzalloc(sizeof(*tracker), GFP_KERNEL);
	if (!tracker) {
		ret = -ENOMEM;
		goto fail;
	}
	tracker->cbt_map = cbt_map_create(bdev_nr_sectors(bdev));
	if (IS_ERR(tracker->cbt_map)) {
		ret = PTR_ERR(tracker->cbt_map);
		goto fail_free;
	}
	if (!try_module_get(owner)) {
		ret = -ENODEV;
		goto fail_map;
	}
	memalloc_noio_restore(noio);

	get_device(&bdev->bd_device);
	blksnap_obj_add(BLKSNAP_OBJ_TRACKER, 1);
	tracker->filter.ops = &tracker_ops;
	kref_init(&tracker->kref);
	tracker->bdev = bdev;
	tracker->dev_id = bdev->bd_dev;
	spin_lock_init(&tracker->lock);
	pr_debug("attached to %pg\n", bdev);
	return &tracker->filter;

fail_map:
	cbt_map_destroy(tracker->cbt_map);
fail_free:
	kfree(tracker);
fail:
	memalloc_noio_restore(noio);
	return ERR_PTR(ret);
}

static void tracker_detach(struct blkfilter *flt)
{
	struct tracker *tracker = container_of(flt, struct tracker, filter);
	struct diff_area *da;

	spin_lock(&tracker->lock);
	WRITE_ONCE(tracker->detached, true);
	da = tracker->diff_area;
	if (da)
		diff_area_get(da);
	spin_unlock(&tracker->lock);

	/* Writes are no longer seen: the snapshot cannot stay correct. */
	if (da) {
		diff_area_set_error(da, -ENODEV);
		diff_area_put(da);
	}
	pr_debug("detached from %pg\n", tracker->bdev);
	tracker_put(tracker);
}

static bool tracker_submit_bio(struct bio *bio)
{
	struct tracker *tracker = container_of(bio->bi_bdev->bd_filter,
					       struct tracker, filter);
	sector_t count = bio_sectors(bio);
	struct diff_area *da;
	sector_t sector;
	bool taken;

	if (!op_is_write(bio_op(bio)) || !count)
		return false;
	sector = blksnap_bio_sector(bio);
	cbt_map_mark(tracker->cbt_map, sector, count, false);

	da = tracker_get_diff_area(tracker);
	if (!da)
		return false;
	taken = diff_area_cow(da, bio, sector, count);
	diff_area_put(da);
	return taken;
}

static int tracker_ctl_cbtinfo(struct tracker *tracker, u8 __user *buf,
			       u32 *plen)
{
	struct blksnap_cbtinfo info;

	if (*plen < sizeof(info))
		return -EINVAL;
	cbt_map_info(tracker->cbt_map, &info);
	if (copy_to_user(buf, &info, sizeof(info)))
		return -EFAULT;
	*plen = sizeof(info);
	return 0;
}

static int tracker_ctl_cbtmap(struct tracker *tracker, u8 __user *buf,
			      u32 *plen)
{
	struct blksnap_cbtmap arg;
	int ret;

	if (*plen < sizeof(arg))
		return -EINVAL;
	if (copy_from_user(&arg, buf, sizeof(arg)))
		return -EFAULT;
	ret = cbt_map_read_to_user(tracker->cbt_map, arg.offset, arg.length,
				   u64_to_user_ptr(arg.buffer));
	if (!ret)
		*plen = 0;
	return ret;
}

/*
 * Each range must lie inside the device. All ranges are checked before any
 * is marked, so that a bad request changes nothing.
 */
static int tracker_ctl_cbtdirty(struct tracker *tracker, u8 __user *buf,
				u32 *plen)
{
	sector_t capacity = bdev_nr_sectors(tracker->bdev);
	struct blksnap_sectors *ranges;
	struct blksnap_sectors __user *uranges;
	struct blksnap_cbtdirty arg;
	unsigned int pass, i, n, done;
	int ret = 0;

	if (*plen < sizeof(arg))
		return -EINVAL;
	if (copy_from_user(&arg, buf, sizeof(arg)))
		return -EFAULT;
	if (!arg.count || arg.count > CBTDIRTY_MAX_COUNT)
		return -EINVAL;
	uranges = u64_to_user_ptr(arg.dirty_sectors);

	ranges = kmalloc_array(CBTDIRTY_BATCH, sizeof(*ranges), GFP_KERNEL);
	if (!ranges)
		return -ENOMEM;
	for (pass = 0; pass < 2 && !ret; pass++) {
		for (done = 0; done < arg.count && !ret; done += n) {
			n = min_t(unsigned int, arg.count - done,
				  CBTDIRTY_BATCH);
			if (copy_from_user(ranges, uranges + done,
					   n * sizeof(*ranges))) {
				ret = -EFAULT;
				break;
			}
			for (i = 0; i < n; i++) {
				u64 off = ranges[i].offset;
				u64 cnt = ranges[i].count;

				if (off > capacity || cnt > capacity - off) {
					ret = -EINVAL;
					break;
				}
				if (pass == 1)
					cbt_map_mark(tracker->cbt_map, off,
						     cnt, true);
			}
			cond_resched();
		}
	}
	kfree(ranges);
	if (!ret)
		*plen = 0;
	return ret;
}

static int tracker_ctl_snapshotadd(struct tracker *tracker, u8 __user *buf,
				   u32 *plen)
{
	struct blksnap_snapshotadd arg;
	uuid_t id;
	int ret;

	if (*plen < sizeof(arg))
		return -EINVAL;
	if (copy_from_user(&arg, buf, sizeof(arg)))
		return -EFAULT;
	import_uuid(&id, arg.id.b);
	ret = snapshot_add_device(&id, tracker);
	if (!ret)
		*plen = 0;
	return ret;
}

static int tracker_ctl_snapshotinfo(struct tracker *tracker, u8 __user *buf,
				    u32 *plen)
{
	struct blksnap_snapshotinfo info;

	if (*plen < sizeof(info))
		return -EINVAL;
	snapshot_device_info(tracker, &info);
	if (copy_to_user(buf, &info, sizeof(info)))
		return -EFAULT;
	*plen = sizeof(info);
	return 0;
}

static int tracker_ctl(struct blkfilter *flt, const unsigned int cmd,
		       __u8 __user *buf, __u32 *plen)
{
	struct tracker *tracker = container_of(flt, struct tracker, filter);

	switch (cmd) {
	case BLKFILTER_CTL_BLKSNAP_CBTINFO:
		return tracker_ctl_cbtinfo(tracker, buf, plen);
	case BLKFILTER_CTL_BLKSNAP_CBTMAP:
		return tracker_ctl_cbtmap(tracker, buf, plen);
	case BLKFILTER_CTL_BLKSNAP_CBTDIRTY:
		return tracker_ctl_cbtdirty(tracker, buf, plen);
	case BLKFILTER_CTL_BLKSNAP_SNAPSHOTADD:
		return tracker_ctl_snapshotadd(tracker, buf, plen);
	case BLKFILTER_CTL_BLKSNAP_SNAPSHOTINFO:
		return tracker_ctl_snapshotinfo(tracker, buf, plen);
	default:
		return -ENOTTY;
	}
}

static struct blkfilter_operations tracker_ops = {
	.owner = THIS_MODULE,
	.name = "blksnap",
	.attach = tracker_attach,
	.detach = tracker_detach,
	.ctl = tracker_ctl,
	.submit_bio = tracker_submit_bio,
};

/**
 * tracker_init() - register the "blksnap" filter
 *
 * Return: 0 or a negative error.
 */
int tracker_init(void)
{
	return blkfilter_register(&tracker_ops);
}

/**
 * tracker_done() - unregister the "blksnap" filter
 */
void tracker_done(void)
{
	blkfilter_unregister(&tracker_ops);
}
