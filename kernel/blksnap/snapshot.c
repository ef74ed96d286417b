// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshots: sets of devices taken at one instant, their difference
 * storage and their events.
 *
 * snapshots_lock protects the list of snapshots, the membership of devices,
 * the taken state and the trackers' image pointers; it is taken by the
 * filter's ctl callback (under the disk's filter mutex), so nothing that
 * adds or deletes a disk is done under it. snapshots_ctl_lock serialises
 * take and destroy, which create and delete image disks, and is taken
 * before snapshots_lock. Neither is ever taken in the I/O path.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blk-integrity.h>
#include <linux/blkdev.h>
#include <linux/ktime.h>
#include <linux/mutex.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/blksnap.h>
#include "blksnap.h"
#include "cbt_map.h"
#include "diff_area.h"
#include "diff_storage.h"
#include "snapimage.h"
#include "snapshot.h"
#include "tracker.h"

static DEFINE_MUTEX(snapshots_ctl_lock);
static DEFINE_MUTEX(snapshots_lock);
static LIST_HEAD(snapshots);

/**
 * struct snapshot_event - a queued event
 * @link: entry in the snapshot's event list.
 * @time: when it happened (ktime, ns).
 * @code: &enum blksnap_event_codes.
 * @corrupted: data of %blksnap_event_code_corrupted.
 */
struct snapshot_event {
	struct list_head link;
	ktime_t time;
	u32 code;
	struct blksnap_event_corrupted corrupted;
};

/**
 * snapshot_get() - take a reference to a snapshot
 * @snapshot: the snapshot.
 *
 * Return: @snapshot.
 */
struct snapshot *snapshot_get(struct snapshot *snapshot)
{
	kref_get(&snapshot->kref);
	return snapshot;
}

static void snapshot_release(struct kref *kref)
{
	struct snapshot *snapshot = container_of(kref, struct snapshot, kref);
	struct snapshot_event *ev, *tmp;

	list_for_each_entry_safe(ev, tmp, &snapshot->events, link)
		kfree(ev);
	diff_storage_put(snapshot->ds);
	kfree(snapshot);
}

/**
 * snapshot_put() - drop a reference to a snapshot
 * @snapshot: the snapshot.
 */
void snapshot_put(struct snapshot *snapshot)
{
	kref_put(&snapshot->kref, snapshot_release);
}

/**
 * snapshot_diff_storage() - the difference storage of a snapshot
 * @snapshot: the snapshot.
 *
 * Return: the storage; valid while the snapshot is referenced.
 */
struct diff_storage *snapshot_diff_storage(struct snapshot *snapshot)
{
	return snapshot->ds;
}

/**
 * snapshot_event_corrupted() - queue a "corrupted" event
 * @snapshot: the snapshot.
 * @dev_id: the original device whose snapshot is corrupted.
 * @error: the negative error.
 *
 * Callable from any context that may not sleep.
 */
void snapshot_event_corrupted(struct snapshot *snapshot, dev_t dev_id,
			      int error)
{
	struct snapshot_event *ev;
	unsigned long flags;

	ev = kzalloc(sizeof(*ev), GFP_ATOMIC);
	if (!ev)
		return;
	ev->time = ktime_get();
	ev->code = blksnap_event_code_corrupted;
	ev->corrupted.dev_id_mj = MAJOR(dev_id);
	ev->corrupted.dev_id_mn = MINOR(dev_id);
	ev->corrupted.err_code = error;
	spin_lock_irqsave(&snapshot->event_lock, flags);
	list_add_tail(&ev->link, &snapshot->events);
	spin_unlock_irqrestore(&snapshot->event_lock, flags);
	wake_up_all(&snapshot->event_wq);
}

/* Called with snapshots_lock held. */
static struct snapshot *snapshot_find(const uuid_t *id)
{
	struct snapshot *snapshot;

	list_for_each_entry(snapshot, &snapshots, link)
		if (uuid_equal(&snapshot->id, id))
			return snapshot;
	return NULL;
}

/**
 * snapshot_create() - create a snapshot and open its difference storage
 * @arg: the request; its @id is filled in.
 *
 * Return: 0, -EINVAL without a file name or for a file of the wrong kind,
 * or another negative error.
 */
int snapshot_create(struct blksnap_snapshot_create *arg)
{
	struct snapshot *snapshot;
	struct diff_storage *ds;
	char *name;

	if (!arg->diff_storage_filename)
		return -EINVAL;
	name = strndup_user(u64_to_user_ptr(arg->diff_storage_filename),
			    PATH_MAX);
	if (IS_ERR(name))
		return PTR_ERR(name);
	/* An empty name is no name: kern_path() would resolve it to the cwd. */
	if (!name[0]) {
		kfree(name);
		return -EINVAL;
	}
	ds = diff_storage_open(name, arg->diff_storage_limit_sect);
	kfree(name);
	if (IS_ERR(ds))
		return PTR_ERR(ds);

	snapshot = kzalloc(sizeof(*snapshot), GFP_KERNEL);
	if (!snapshot) {
		diff_storage_put(ds);
		return -ENOMEM;
	}
	kref_init(&snapshot->kref);
	uuid_gen(&snapshot->id);
	snapshot->ds = ds;
	INIT_LIST_HEAD(&snapshot->trackers);
	spin_lock_init(&snapshot->event_lock);
	INIT_LIST_HEAD(&snapshot->events);
	init_waitqueue_head(&snapshot->event_wq);

	mutex_lock(&snapshots_lock);
	list_add_tail(&snapshot->link, &snapshots);
	mutex_unlock(&snapshots_lock);

	export_uuid(arg->id.b, &snapshot->id);
	pr_debug("snapshot %pUb created\n", &snapshot->id);
	return 0;
}

/*
 * Remove images, stop copy-on-write, let go of the devices, and drop the
 * list's reference. Called with snapshots_ctl_lock held, for a snapshot
 * already removed from the list.
 */
static void snapshot_remove(struct snapshot *snapshot)
{
	struct file *orig_file;
	struct snapimage *image;
	struct tracker *tracker;
	struct diff_area *da;

	for (;;) {
		mutex_lock(&snapshots_lock);
		tracker = list_first_entry_or_null(&snapshot->trackers,
						   struct tracker, link);
		if (!tracker) {
			mutex_unlock(&snapshots_lock);
			break;
		}
		list_del_init(&tracker->link);
		tracker->snapshot = NULL;
		image = tracker->image;
		tracker->image = NULL;
		spin_lock(&tracker->lock);
		da = tracker->diff_area;
		tracker->diff_area = NULL;
		spin_unlock(&tracker->lock);
		orig_file = tracker->orig_file;
		tracker->orig_file = NULL;
		mutex_unlock(&snapshots_lock);

		if (image)
			snapimage_destroy(image);
		if (da) {
			diff_area_close(da);
			diff_area_put(da);
		}
		/* Nothing reads the original any more: let it go away. */
		if (orig_file)
			bdev_fput(orig_file);
		tracker_put(tracker);
	}
	WRITE_ONCE(snapshot->is_destroyed, true);
	wake_up_all(&snapshot->event_wq);
	pr_debug("snapshot %pUb destroyed\n", &snapshot->id);
	snapshot_put(snapshot);
}

/**
 * snapshot_destroy() - destroy a snapshot
 * @id: its identifier.
 *
 * Images are removed (even if open or mounted: their I/O fails from then
 * on), copy-on-write stops and the difference storage is released. The
 * devices stay tracked.
 *
 * Return: 0 or -ESRCH.
 */
int snapshot_destroy(const uuid_t *id)
{
	struct snapshot *snapshot;

	mutex_lock(&snapshots_ctl_lock);
	mutex_lock(&snapshots_lock);
	snapshot = snapshot_find(id);
	if (snapshot)
		list_del_init(&snapshot->link);
	mutex_unlock(&snapshots_lock);
	if (snapshot)
		snapshot_remove(snapshot);
	mutex_unlock(&snapshots_ctl_lock);
	return snapshot ? 0 : -ESRCH;
}

/**
 * snapshot_done() - destroy every snapshot (module unload)
 */
void snapshot_done(void)
{
	struct snapshot *snapshot;

	mutex_lock(&snapshots_ctl_lock);
	for (;;) {
		mutex_lock(&snapshots_lock);
		snapshot = list_first_entry_or_null(&snapshots,
						    struct snapshot, link);
		if (snapshot)
			list_del_init(&snapshot->link);
		mutex_unlock(&snapshots_lock);
		if (!snapshot)
			break;
		snapshot_remove(snapshot);
	}
	mutex_unlock(&snapshots_ctl_lock);
}

static bool snapshot_same_storage_device(struct snapshot *snapshot,
					 struct block_device *bdev)
{
	struct block_device *host = snapshot->ds->host_bdev;

	if (!host)
		return false;
	if (host == bdev)
		return true;
	/* A whole disk overlaps each of its partitions. */
	return host->bd_disk == bdev->bd_disk &&
	       (!bdev_is_partition(host) || !bdev_is_partition(bdev));
}

static bool bdev_has_crypto_or_integrity(struct block_device *bdev)
{
	if (blk_get_integrity(bdev->bd_disk))
		return true;
#ifdef CONFIG_BLK_INLINE_ENCRYPTION
	if (bdev_get_queue(bdev)->crypto_profile)
		return true;
#endif
	return false;
}

/**
 * snapshot_add_device() - add a tracked device to a snapshot
 * @id: identifier of the snapshot.
 * @tracker: the device's tracker.
 *
 * Return: 0; -ESRCH for an unknown snapshot; -EALREADY if the device is in
 * this snapshot already; -EBUSY if it is in another one or the snapshot is
 * taken; -EINVAL for the device of the difference storage; -EPERM for
 * devices with inline encryption or integrity; -ENODEV once detached.
 */
int snapshot_add_device(const uuid_t *id, struct tracker *tracker)
{
	struct snapshot *snapshot;
	struct tracker *t;
	int ret = 0;

	if (bdev_has_crypto_or_integrity(tracker->bdev))
		return -EPERM;

	mutex_lock(&snapshots_lock);
	snapshot = snapshot_find(id);
	if (!snapshot) {
		ret = -ESRCH;
		goto out;
	}
	if (tracker->snapshot) {
		ret = tracker->snapshot == snapshot ? -EALREADY : -EBUSY;
		goto out;
	}
	if (snapshot->is_taken || snapshot->is_taking) {
		ret = -EBUSY;
		goto out;
	}
	list_for_each_entry(t, &snapshot->trackers, link) {
		/* An earlier, detached tracker of the same device. */
		if (t->dev_id == tracker->dev_id) {
			ret = -EBUSY;
			goto out;
		}
	}
	if (snapshot_same_storage_device(snapshot, tracker->bdev)) {
		ret = -EINVAL;
		goto out;
	}
	if (READ_ONCE(tracker->detached)) {
		ret = -ENODEV;
		goto out;
	}
	tracker->snapshot = snapshot;
	list_add_tail(&tracker->link, &snapshot->trackers);
	tracker_get(tracker);
out:
	mutex_unlock(&snapshots_lock);
	return ret;
}

/*
 * Open every device of a snapshot being taken, to hold it until the
 * snapshot is destroyed. Copy-on-write and image reads do I/O to the
 * originals; without an opener of its own, a loop device could be cleared
 * or a dm device removed under that I/O. Called with snapshots_ctl_lock
 * held and without snapshots_lock, since opening takes the disks'
 * open_mutex; @is_taking keeps the list of devices as it is.
 */
static int snapshot_open_originals(struct snapshot *snapshot,
				   struct file **files)
{
	struct tracker *tracker;
	unsigned int i = 0;

	list_for_each_entry(tracker, &snapshot->trackers, link) {
		files[i] = bdev_file_open_by_dev(tracker->dev_id, BLK_OPEN_READ,
						 NULL, NULL);
		if (IS_ERR(files[i])) {
			int ret = PTR_ERR(files[i]);

			files[i] = NULL;
			return ret == -ENXIO ? -ENODEV : ret;
		}
		/* The device number now belongs to another device. */
		if (file_bdev(files[i]) != tracker->bdev)
			return -ENODEV;
		i++;
	}
	return 0;
}

/**
 * snapshot_take() - take a snapshot of all its devices at one instant
 * @id: identifier of the snapshot.
 *
 * Everything that can fail is prepared first, and the devices are opened,
 * to be held until the snapshot is destroyed. Then every device is frozen,
 * copy-on-write is turned on and the change tracking tables are switched
 * on each, and the devices are thawed. Images are created afterwards; a
 * device whose image cannot be created has its snapshot marked corrupted.
 *
 * Return: 0; -ESRCH for an unknown snapshot; -EALREADY if it was taken;
 * -ENODEV without devices or if one was detached or went away; another
 * negative error if preparing or freezing failed (nothing changed then).
 */
int snapshot_take(const uuid_t *id)
{
	struct cbt_map_resize *rs = NULL;
	struct diff_area **das = NULL;
	struct snapshot *snapshot;
	struct snapimage *image;
	struct tracker *tracker;
	struct file **files = NULL;
	unsigned int n = 0, i, frozen = 0;
	bool detached;
	int ret = 0;

	mutex_lock(&snapshots_ctl_lock);
	mutex_lock(&snapshots_lock);
	snapshot = snapshot_find(id);
	if (!snapshot) {
		ret = -ESRCH;
		goto out;
	}
	if (snapshot->is_taken) {
		ret = -EALREADY;
		goto out;
	}
	list_for_each_entry(tracker, &snapshot->trackers, link) {
		if (READ_ONCE(tracker->detached)) {
			ret = -ENODEV;
			goto out;
		}
		n++;
	}
	if (!n) {
		ret = -ENODEV;
		goto out;
	}
	snapshot->is_taking = true;
	mutex_unlock(&snapshots_lock);

	das = kcalloc(n, sizeof(*das), GFP_KERNEL);
	rs = kcalloc(n, sizeof(*rs), GFP_KERNEL);
	files = kcalloc(n, sizeof(*files), GFP_KERNEL);
	if (!das || !rs || !files)
		ret = -ENOMEM;
	else
		ret = snapshot_open_originals(snapshot, files);
	mutex_lock(&snapshots_lock);
	if (ret)
		goto out;

	i = 0;
	list_for_each_entry(tracker, &snapshot->trackers, link) {
		das[i] = diff_area_create(tracker, snapshot);
		if (IS_ERR(das[i])) {
			ret = PTR_ERR(das[i]);
			das[i] = NULL;
			goto out_unprepare;
		}
		ret = cbt_map_switch_prepare(tracker->cbt_map,
					     bdev_nr_sectors(tracker->bdev),
					     &rs[i]);
		if (ret)
			goto out_unprepare;
		i++;
	}

	list_for_each_entry(tracker, &snapshot->trackers, link) {
		ret = bdev_freeze(tracker->bdev);
		if (ret) {
			pr_err("cannot freeze %pg: %d\n", tracker->bdev, ret);
			goto out_thaw;
		}
		frozen++;
	}

	/* The instant of the snapshot: copy-on-write first, then CBT. */
	i = 0;
	list_for_each_entry(tracker, &snapshot->trackers, link) {
		spin_lock(&tracker->lock);
		tracker->diff_area = das[i];
		detached = tracker->detached;
		spin_unlock(&tracker->lock);
		/* Detached since the check: its writes were not all seen. */
		if (detached)
			diff_area_set_error(das[i], -ENODEV);
		das[i] = NULL;
		cbt_map_switch(tracker->cbt_map, &rs[i]);
		tracker->orig_file = files[i];
		files[i] = NULL;
		i++;
	}
	snapshot->is_taken = true;

out_thaw:
	list_for_each_entry(tracker, &snapshot->trackers, link) {
		if (!frozen--)
			break;
		if (bdev_thaw(tracker->bdev))
			pr_warn("cannot thaw %pg\n", tracker->bdev);
	}
out_unprepare:
	for (i = 0; i < n; i++) {
		cbt_map_switch_finish(&rs[i]);
		if (das[i])
			diff_area_put(das[i]);
	}
	if (ret)
		goto out;
	/*
	 * Taken: no device joins or leaves until destroy, which waits for
	 * snapshots_ctl_lock. Disks are added without snapshots_lock.
	 */
	mutex_unlock(&snapshots_lock);

	list_for_each_entry(tracker, &snapshot->trackers, link) {
		struct diff_area *da = tracker_get_diff_area(tracker);

		if (!da)
			continue;
		image = snapimage_create(da);
		if (IS_ERR(image)) {
			pr_err("cannot create the image of %pg: %ld\n",
			       tracker->bdev, PTR_ERR(image));
			diff_area_set_error(da, PTR_ERR(image));
		} else {
			mutex_lock(&snapshots_lock);
			tracker->image = image;
			mutex_unlock(&snapshots_lock);
		}
		diff_area_put(da);
	}
	pr_debug("snapshot %pUb taken\n", &snapshot->id);
	mutex_lock(&snapshots_lock);
out:
	if (snapshot)
		snapshot->is_taking = false;
	mutex_unlock(&snapshots_lock);
	mutex_unlock(&snapshots_ctl_lock);
	/* Devices of a take that failed. */
	for (i = 0; files && i < n; i++)
		if (files[i])
			bdev_fput(files[i]);
	kfree(files);
	kfree(das);
	kfree(rs);
	return ret;
}

/**
 * snapshot_collect() - list the identifiers of all snapshots
 * @count: in: room at *@ids (ignored if @ids is NULL); out: number of
 *	snapshots.
 * @ids: in: NULL to ask for the count only; out: a kmalloc'ed array of
 *	*@count identifiers the caller frees.
 *
 * Return: 0, -ENODATA if the room is too small, or -ENOMEM.
 */
int snapshot_collect(u32 *count, uuid_t **ids)
{
	struct snapshot *snapshot;
	bool want_ids = !!*ids;
	uuid_t *arr = NULL;
	u32 n = 0;
	int ret = 0;

	*ids = NULL;
	mutex_lock(&snapshots_lock);
	list_for_each_entry(snapshot, &snapshots, link)
		n++;
	if (want_ids && n > *count) {
		ret = -ENODATA;
	} else if (want_ids && n) {
		arr = kcalloc(n, sizeof(*arr), GFP_KERNEL);
		if (!arr) {
			ret = -ENOMEM;
		} else {
			u32 i = 0;

			list_for_each_entry(snapshot, &snapshots, link)
				uuid_copy(&arr[i++], &snapshot->id);
		}
	}
	mutex_unlock(&snapshots_lock);
	*count = n;
	*ids = arr;
	return ret;
}

static bool snapshot_has_event(struct snapshot *snapshot)
{
	return !list_empty_careful(&snapshot->events) ||
	       READ_ONCE(snapshot->is_destroyed);
}

/**
 * snapshot_wait_event() - wait for the next event of a snapshot
 * @id: identifier of the snapshot.
 * @timeout_ms: how long to wait, in milliseconds.
 * @ev: the request as copied from user space; the event (code, time label
 *	and data) is filled in.
 * @uarg: where the request came from; the whole of @ev is copied back
 *	there. An event that cannot be copied stays queued.
 *
 * Return: 0; -ESRCH for an unknown (or meanwhile destroyed) snapshot;
 * -ENOENT on timeout; -EINTR if a signal arrived; -EFAULT.
 */
int snapshot_wait_event(const uuid_t *id, u32 timeout_ms,
			struct blksnap_snapshot_event *ev, void __user *uarg)
{
	struct snapshot_event *event;
	struct snapshot *snapshot;
	long ret;

	mutex_lock(&snapshots_lock);
	snapshot = snapshot_find(id);
	if (snapshot)
		snapshot_get(snapshot);
	mutex_unlock(&snapshots_lock);
	if (!snapshot)
		return -ESRCH;

	ret = wait_event_interruptible_timeout(snapshot->event_wq,
					       snapshot_has_event(snapshot),
					       msecs_to_jiffies(timeout_ms));
	if (ret < 0) {
		ret = -EINTR;
		goto out;
	}

	spin_lock_irq(&snapshot->event_lock);
	event = list_first_entry_or_null(&snapshot->events,
					 struct snapshot_event, link);
	if (event)
		list_del(&event->link);
	spin_unlock_irq(&snapshot->event_lock);

	if (!event) {
		ret = READ_ONCE(snapshot->is_destroyed) ? -ESRCH : -ENOENT;
		goto out;
	}
	ev->code = event->code;
	ev->time_label = ktime_to_ns(event->time);
	memcpy(ev->data, &event->corrupted, sizeof(event->corrupted));
	if (copy_to_user(uarg, ev, sizeof(*ev))) {
		/* Not delivered: the next waiter gets it. */
		spin_lock_irq(&snapshot->event_lock);
		list_add(&event->link, &snapshot->events);
		spin_unlock_irq(&snapshot->event_lock);
		ret = -EFAULT;
		goto out;
	}
	kfree(event);
	ret = 0;
out:
	snapshot_put(snapshot);
	return ret;
}

/**
 * snapshot_device_info() - snapshot state of a device
 * @tracker: the device's tracker.
 * @info: out: error code of the device's snapshot and its image name.
 */
void snapshot_device_info(struct tracker *tracker,
			  struct blksnap_snapshotinfo *info)
{
	struct diff_area *da;

	memset(info, 0, sizeof(*info));
	mutex_lock(&snapshots_lock);
	da = tracker_get_diff_area(tracker);
	if (da) {
		info->error_code = READ_ONCE(da->error);
		diff_area_put(da);
	}
	if (tracker->image)
		strscpy(info->image, snapimage_name(tracker->image),
			sizeof(info->image));
	mutex_unlock(&snapshots_lock);
}
