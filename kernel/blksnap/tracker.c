// SPDX-License-Identifier: GPL-2.0
/*
 * The core of the "blksnap" block-device filter: one tracker per attached
 * device, tracking changed blocks and diverting writes to copy-on-write
 * while a snapshot of the device is taken. Which filter hook calls it (the
 * kernel's framework or the module's own) is the business of the backend
 * (filter.h); the tracker does not know.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uuid.h>
#include <linux/blksnap.h>
#include "blksnap.h"
#include "cbt_map.h"
#include "diff_area.h"
#include "objcount.h"
#include "snapimage.h"
#include "snapshot.h"
#include "tracker.h"

/* Ranges of one CBTDIRTY request copied from user space at a time. */
#define CBTDIRTY_BATCH 64
/* Most ranges one CBTDIRTY request may carry. */
#define CBTDIRTY_MAX_COUNT BIT(20)

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
 * For the control paths; the write path reads the pointer under RCU
 * (tracker_submit_bio()).
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

/**
 * tracker_create() - start tracking a device, when a filter is attached
 * @bdev: the device (whole disk or partition).
 *
 * The new tracker holds a reference to the device and to its driver's
 * module. The backend that attaches the filter holds the tracker's first
 * reference and gives it back with tracker_detach().
 *
 * Return: the tracker, ERR_PTR(-EINVAL) for a snapshot image of this
 * module, or another ERR_PTR().
 */
struct tracker *tracker_create(struct block_device *bdev)
{
	struct module *owner = bdev->bd_disk->fops->owner;
	struct tracker *tracker;
	unsigned int noio;
	int ret;

	/* Filtering our own images would feed their I/O back into us. */
	if (snapimage_is_image(bdev))
		return ERR_PTR(-EINVAL);
	/* The device may be frozen: allocate without I/O. */
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
	kref_init(&tracker->kref);
	tracker->bdev = bdev;
	tracker->dev_id = bdev->bd_dev;
	spin_lock_init(&tracker->lock);
	pr_debug("attached to %pg\n", bdev);
	return tracker;

fail_map:
	cbt_map_destroy(tracker->cbt_map);
fail_free:
	kfree(tracker);
fail:
	memalloc_noio_restore(noio);
	return ERR_PTR(ret);
}

/**
 * tracker_detach() - stop tracking a device, when its filter is detached
 * @tracker: the tracker tracker_create() returned.
 *
 * The backend calls it once no bio can reach tracker_submit_bio() any
 * more. A snapshot that holds the device fails from then on, since its
 * writes are no longer seen; the tracker lives on until that snapshot lets
 * it go. Drops the backend's reference.
 */
void tracker_detach(struct tracker *tracker)
{
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

/**
 * tracker_submit_bio_atomic() - see a bio where the caller cannot sleep
 * @tracker: the device's tracker.
 * @bio: the bio, seen exactly once, before the driver sees it.
 *
 * The part of tracker_submit_bio() that never sleeps, for a backend that
 * sees bios in atomic context: it marks a write's blocks while no snapshot
 * of the device is taken, and lets reads go. A write that copy-on-write
 * may have to hold back is left to tracker_submit_bio().
 *
 * Context: any; the caller keeps the tracker alive.
 * Return: true if the bio was seen and goes on to the driver, false if
 * tracker_submit_bio() must see it instead.
 */
bool tracker_submit_bio_atomic(struct tracker *tracker, struct bio *bio)
{
	sector_t count = bio_sectors(bio);

	if (!op_is_write(bio_op(bio)) || !count)
		return true;
	/* As in tracker_submit_bio(): copy-on-write first, then CBT. */
	if (READ_ONCE(tracker->diff_area))
		return false;
	cbt_map_mark(tracker->cbt_map, blksnap_bio_sector(bio), count, false);
	return true;
}

/**
 * tracker_submit_bio() - see a bio submitted to a tracked device
 * @tracker: the device's tracker.
 * @bio: the bio, seen exactly once, before the driver sees it.
 *
 * Marks the blocks a write changes and, while a snapshot is taken, holds
 * back a write until the data it overwrites is preserved: the bio is then
 * sent on later with blksnap_filter_resubmit().
 *
 * Context: process context; does not sleep.
 * Return: true if the bio was taken, false to let it go on to the driver.
 */
bool tracker_submit_bio(struct tracker *tracker, struct bio *bio)
{
	sector_t count = bio_sectors(bio);
	struct diff_area *da;
	sector_t sector;
	bool taken;

	if (!op_is_write(bio_op(bio)) || !count)
		return false;
	sector = blksnap_bio_sector(bio);
	/*
	 * Copy-on-write before CBT, the reverse of the take's order: a write
	 * that the snapshot holds back is marked with the number after it.
	 * RCU keeps the area alive: snapshot_remove() waits for a grace
	 * period before letting it go.
	 */
	rcu_read_lock();
	/* Pairs with the release after the CBT switch in the take. */
	da = smp_load_acquire(&tracker->diff_area);
	cbt_map_mark(tracker->cbt_map, sector, count, false);
	taken = da && diff_area_cow(da, bio, sector, count);
	rcu_read_unlock();
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

/**
 * tracker_ctl() - a BLKFILTER_CTL command for the tracker of a device
 * @tracker: the tracker.
 * @cmd: BLKFILTER_CTL_BLKSNAP_*.
 * @buf: the command's argument in user memory.
 * @plen: in: the size of @buf; out: the size of the result written to it.
 *
 * Context: the backend serialises the commands of a device with its
 * attaching and detaching.
 * Return: 0 or a negative error; -ENOTTY for an unknown command.
 */
int tracker_ctl(struct tracker *tracker, unsigned int cmd, u8 __user *buf,
		u32 *plen)
{
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
