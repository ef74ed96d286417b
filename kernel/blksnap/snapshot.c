// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshots: sets of devices taken at one instant, their difference
 * storage and their events.
 *
 * snapshots_lock protects the list of snapshots, the membership of devices,
 * the taken state and the devices' image pointers; it is taken by the
 * filter's ctl callback (under the disk's filter mutex), so nothing that
 * adds or deletes a disk is done under it. snapshots_ctl_lock serialises
 * take and destroy, which create and delete image disks, and is taken
 * before snapshots_lock. Neither is ever taken in the I/O path.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blk-integrity.h>
#include <linux/blkdev.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/blksnap.h>
#include "blksnap.h"
#include "cbt_map.h"
#include "compat.h"
#include "diff_area.h"
#include "diff_storage.h"
#include "event_queue.h"
#include "objcount.h"
#include "snapimage.h"
#include "snapshot.h"
#include "tracker.h"

static DEFINE_MUTEX(snapshots_ctl_lock);
static DEFINE_MUTEX(snapshots_lock);
static LIST_HEAD(snapshots);

/**
 * struct snapshot_device - a device's membership in a snapshot
 * @link: entry in the snapshot's list of devices (snapshots_lock).
 * @tracker: the device's tracker (reference).
 * @image: the device's snapshot image once taken, or NULL
 *	(snapshots_lock).
 * @orig: the device held open from the take to the destroy, so that it
 *	cannot go away (a loop device cleared, a dm device removed) while
 *	copy-on-write and image reads use it; not open before the take.
 *
 * Membership lives here rather than in the tracker: the filter knows
 * nothing about snapshots.
 */
struct snapshot_device {
	struct list_head link;
	struct tracker *tracker;
	struct snapimage *image;
	struct blksnap_bdev_file orig;
};

static struct snapshot *snapshot_get(struct snapshot *snapshot)
{
	kref_get(&snapshot->kref);
	return snapshot;
}

static void snapshot_release(struct kref *kref)
{
	struct snapshot *snapshot = container_of(kref, struct snapshot, kref);

	event_queue_put(snapshot->events);
	diff_storage_put(snapshot->ds);
	kfree(snapshot);
	blksnap_obj_sub(BLKSNAP_OBJ_SNAPSHOT, 1);
}

static void snapshot_put(struct snapshot *snapshot)
{
	kref_put(&snapshot->kref, snapshot_release);
}

static struct snapshot *snapshot_find(const uuid_t *id)
{
	struct snapshot *snapshot;

	lockdep_assert_held(&snapshots_lock);

	list_for_each_entry(snapshot, &snapshots, link)
		if (uuid_equal(&snapshot->id, id))
			return snapshot;
	return NULL;
}

/* The membership of a device in a snapshot, or NULL. */
static struct snapshot_device *snapshot_device_find(struct snapshot *snapshot,
						    struct tracker *tracker)
{
	struct snapshot_device *sd;

	lockdep_assert_held(&snapshots_lock);
	list_for_each_entry(sd, &snapshot->devices, link)
		if (sd->tracker == tracker)
			return sd;
	return NULL;
}

/* The snapshot a device belongs to, or NULL; at most one. */
static struct snapshot *snapshot_of_tracker(struct tracker *tracker,
					    struct snapshot_device **psd)
{
	struct snapshot *snapshot;

	lockdep_assert_held(&snapshots_lock);
	list_for_each_entry(snapshot, &snapshots, link) {
		*psd = snapshot_device_find(snapshot, tracker);
		if (*psd)
			return snapshot;
	}
	*psd = NULL;
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
	if (!snapshot)
		goto fail_ds;
	snapshot->events = event_queue_create();
	if (!snapshot->events)
		goto fail_snapshot;
	blksnap_obj_add(BLKSNAP_OBJ_SNAPSHOT, 1);
	kref_init(&snapshot->kref);
	uuid_gen(&snapshot->id);
	snapshot->ds = ds;
	INIT_LIST_HEAD(&snapshot->devices);

	mutex_lock(&snapshots_lock);
	list_add_tail(&snapshot->link, &snapshots);
	mutex_unlock(&snapshots_lock);

	export_uuid(arg->id.b, &snapshot->id);
	pr_debug("snapshot %pUb created\n", &snapshot->id);
	return 0;

fail_snapshot:
	kfree(snapshot);
fail_ds:
	diff_storage_put(ds);
	return -ENOMEM;
}

/*
 * Remove images, stop copy-on-write, let go of the devices, and drop the
 * list's reference, for a snapshot already removed from the list.
 */
static void snapshot_remove(struct snapshot *snapshot)
{
	struct snapshot_device *sd;
	struct tracker *tracker;
	struct diff_area *da;

	lockdep_assert_held(&snapshots_ctl_lock);

	for (;;) {
		mutex_lock(&snapshots_lock);
		sd = list_first_entry_or_null(&snapshot->devices,
					      struct snapshot_device, link);
		if (!sd) {
			mutex_unlock(&snapshots_lock);
			break;
		}
		list_del(&sd->link);
		tracker = sd->tracker;
		/*
		 * The tracker and its difference area reference each other
		 * while copy-on-write is on: the cycle is broken here.
		 */
		spin_lock(&tracker->lock);
		da = tracker->diff_area;
		WRITE_ONCE(tracker->diff_area, NULL);
		spin_unlock(&tracker->lock);
		mutex_unlock(&snapshots_lock);
		/* Writers look at the area under RCU (tracker_submit_bio()). */
		if (da)
			synchronize_rcu();

		if (sd->image)
			snapimage_destroy(sd->image);
		if (da) {
			diff_area_close(da);
			diff_area_put(da);
		}
		/* Nothing reads the original any more: let it go away. */
		blksnap_bdev_close(&sd->orig);
		tracker_put(tracker);
		kfree(sd);
		blksnap_obj_sub(BLKSNAP_OBJ_SNAPSHOT_DEVICE, 1);
	}
	event_queue_close(snapshot->events);
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
	struct snapshot *snapshot, *other;
	struct snapshot_device *sd, *t;
	int ret = 0;

	if (bdev_has_crypto_or_integrity(tracker->bdev))
		return -EPERM;
	sd = kzalloc(sizeof(*sd), GFP_KERNEL);
	if (!sd)
		return -ENOMEM;

	mutex_lock(&snapshots_lock);
	snapshot = snapshot_find(id);
	if (!snapshot) {
		ret = -ESRCH;
		goto out;
	}
	other = snapshot_of_tracker(tracker, &t);
	if (other) {
		ret = other == snapshot ? -EALREADY : -EBUSY;
		goto out;
	}
	if (snapshot->is_taken || snapshot->is_taking) {
		ret = -EBUSY;
		goto out;
	}
	list_for_each_entry(t, &snapshot->devices, link) {
		/* An earlier, detached tracker of the same device. */
		if (t->tracker->dev_id == tracker->dev_id) {
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
	sd->tracker = tracker_get(tracker);
	list_add_tail(&sd->link, &snapshot->devices);
	blksnap_obj_add(BLKSNAP_OBJ_SNAPSHOT_DEVICE, 1);
	sd = NULL;
out:
	mutex_unlock(&snapshots_lock);
	kfree(sd);
	return ret;
}

/*
 * Open every device of a snapshot being taken, to hold it until the
 * snapshot is destroyed. Copy-on-write and image reads do I/O to the
 * originals; without an opener of its own, a loop device could be cleared
 * or a dm device removed under that I/O. Called without snapshots_lock,
 * since opening takes the disks' open_mutex; @is_taking keeps the list of
 * devices as it is.
 */
static int snapshot_open_originals(struct snapshot *snapshot,
				   struct blksnap_bdev_file *origs)
{
	struct snapshot_device *sd;
	struct tracker *tracker;
	unsigned int i = 0;
	int ret;

	lockdep_assert_held(&snapshots_ctl_lock);
	lockdep_assert_not_held(&snapshots_lock);

	list_for_each_entry(sd, &snapshot->devices, link) {
		tracker = sd->tracker;
		ret = blksnap_bdev_open(&origs[i], tracker->dev_id, false,
					NULL);
		if (ret)
			return ret == -ENXIO ? -ENODEV : ret;
		/* The device number now belongs to another device. */
		if (origs[i].bdev != tracker->bdev)
			return -ENODEV;
		i++;
	}
	return 0;
}

/**
 * struct take_ctx - what a take prepares before the devices are frozen
 * @n: number of devices.
 * @das: a new difference area per device, handed to its tracker at the
 *	switch (NULL once handed over).
 * @rs: new change tracking tables of each resized device; after the switch,
 *	the tables they replaced.
 * @origs: each original, opened; handed to its device at the switch.
 *
 * Whatever was not handed over is released by take_ctx_free().
 */
struct take_ctx {
	unsigned int n;
	struct diff_area **das;
	struct cbt_map_resize *rs;
	struct blksnap_bdev_file *origs;
};

static void take_ctx_free(struct take_ctx *ctx)
{
	unsigned int i;

	for (i = 0; i < ctx->n; i++) {
		if (ctx->rs)
			cbt_map_switch_finish(&ctx->rs[i]);
		if (ctx->das && ctx->das[i])
			diff_area_put(ctx->das[i]);
		if (ctx->origs)
			blksnap_bdev_close(&ctx->origs[i]);
	}
	kfree(ctx->origs);
	kfree(ctx->rs);
	kfree(ctx->das);
}

/*
 * Find the snapshot, check that it can be taken, count its devices and
 * keep other devices from joining (@is_taking) until snapshot_take_end().
 */
static struct snapshot *snapshot_take_begin(const uuid_t *id,
					    unsigned int *n)
{
	struct snapshot_device *sd;
	struct snapshot *snapshot;
	int ret = 0;

	lockdep_assert_held(&snapshots_ctl_lock);
	*n = 0;
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
	list_for_each_entry(sd, &snapshot->devices, link) {
		if (READ_ONCE(sd->tracker->detached)) {
			ret = -ENODEV;
			goto out;
		}
		(*n)++;
	}
	if (!*n) {
		ret = -ENODEV;
		goto out;
	}
	snapshot->is_taking = true;
out:
	mutex_unlock(&snapshots_lock);
	return ret ? ERR_PTR(ret) : snapshot;
}

static void snapshot_take_end(struct snapshot *snapshot)
{
	mutex_lock(&snapshots_lock);
	snapshot->is_taking = false;
	mutex_unlock(&snapshots_lock);
}

/*
 * Everything that can fail, before the devices are frozen: open the
 * originals, create a difference area for each and new change tracking
 * tables where a device was resized. The list of devices cannot change:
 * @is_taking keeps devices from joining, snapshots_ctl_lock keeps destroy
 * out.
 */
static int snapshot_take_prepare(struct snapshot *snapshot,
				 struct take_ctx *ctx)
{
	struct snapshot_device *sd;
	struct tracker *tracker;
	unsigned int i = 0;
	int ret;

	lockdep_assert_held(&snapshots_ctl_lock);
	ctx->das = kcalloc(ctx->n, sizeof(*ctx->das), GFP_KERNEL);
	ctx->rs = kcalloc(ctx->n, sizeof(*ctx->rs), GFP_KERNEL);
	ctx->origs = kcalloc(ctx->n, sizeof(*ctx->origs), GFP_KERNEL);
	if (!ctx->das || !ctx->rs || !ctx->origs)
		return -ENOMEM;
	ret = snapshot_open_originals(snapshot, ctx->origs);
	if (ret)
		return ret;

	list_for_each_entry(sd, &snapshot->devices, link) {
		tracker = sd->tracker;
		ctx->das[i] = diff_area_create(tracker, snapshot->ds,
					       snapshot->events);
		if (IS_ERR(ctx->das[i])) {
			ret = PTR_ERR(ctx->das[i]);
			ctx->das[i] = NULL;
			return ret;
		}
		ret = cbt_map_switch_prepare(tracker->cbt_map,
					     bdev_nr_sectors(tracker->bdev),
					     &ctx->rs[i]);
		if (ret)
			return ret;
		i++;
	}
	return 0;
}

/*
 * With the device frozen: CBT first, then copy-on-write. A write that
 * reaches the filter meanwhile (a device without a file system does not
 * freeze) looks for copy-on-write before it marks CBT, so a write held
 * for copy-on-write, which the image does not show, is always marked with
 * the new number and copied by the next backup.
 */
static void snapshot_switch_device(struct snapshot_device *sd,
				   struct take_ctx *ctx, unsigned int i)
{
	struct tracker *tracker = sd->tracker;
	bool detached;

	cbt_map_switch(tracker->cbt_map, &ctx->rs[i]);
	spin_lock(&tracker->lock);
	/* Pairs with the acquire in tracker_submit_bio(). */
	smp_store_release(&tracker->diff_area, ctx->das[i]);
	detached = tracker->detached;
	spin_unlock(&tracker->lock);
	/* Detached since the check: its writes were not all seen. */
	if (detached)
		diff_area_set_error(ctx->das[i], -ENODEV);
	ctx->das[i] = NULL;
	sd->orig = ctx->origs[i];
	ctx->origs[i].bdev = NULL;
}

/*
 * The instant of the snapshot: freeze every device, switch each, thaw
 * them. Nothing is switched unless every device froze.
 */
static int snapshot_freeze_and_switch(struct snapshot *snapshot,
				      struct take_ctx *ctx)
{
	struct snapshot_device *sd;
	unsigned int frozen = 0, i = 0;
	int ret = 0;

	lockdep_assert_held(&snapshots_ctl_lock);
	mutex_lock(&snapshots_lock);
	list_for_each_entry(sd, &snapshot->devices, link) {
		ret = blksnap_bdev_freeze(sd->tracker->bdev);
		if (ret) {
			pr_err("cannot freeze %pg: %d\n", sd->tracker->bdev,
			       ret);
			goto thaw;
		}
		frozen++;
	}
	list_for_each_entry(sd, &snapshot->devices, link)
		snapshot_switch_device(sd, ctx, i++);
	snapshot->is_taken = true;
thaw:
	list_for_each_entry(sd, &snapshot->devices, link) {
		if (!frozen--)
			break;
		if (blksnap_bdev_thaw(sd->tracker->bdev))
			pr_warn("cannot thaw %pg\n", sd->tracker->bdev);
	}
	mutex_unlock(&snapshots_lock);
	return ret;
}

/*
 * After the thaw, without snapshots_lock (adding a disk takes locks that
 * the filter's ctl holds when it takes snapshots_lock). A device whose
 * image cannot be created has its snapshot marked corrupted.
 */
static void snapshot_create_images(struct snapshot *snapshot)
{
	struct snapshot_device *sd;
	struct snapimage *image;
	struct diff_area *da;

	lockdep_assert_held(&snapshots_ctl_lock);
	list_for_each_entry(sd, &snapshot->devices, link) {
		da = tracker_get_diff_area(sd->tracker);
		if (!da)
			continue;
		image = snapimage_create(da);
		if (IS_ERR(image)) {
			pr_err("cannot create the image of %pg: %ld\n",
			       sd->tracker->bdev, PTR_ERR(image));
			diff_area_set_error(da, PTR_ERR(image));
		} else {
			mutex_lock(&snapshots_lock);
			sd->image = image;
			mutex_unlock(&snapshots_lock);
		}
		diff_area_put(da);
	}
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
	struct take_ctx ctx = {};
	struct snapshot *snapshot;
	int ret;

	mutex_lock(&snapshots_ctl_lock);
	snapshot = snapshot_take_begin(id, &ctx.n);
	if (IS_ERR(snapshot)) {
		ret = PTR_ERR(snapshot);
		goto out_unlock;
	}
	ret = snapshot_take_prepare(snapshot, &ctx);
	if (ret)
		goto out_end;
	ret = snapshot_freeze_and_switch(snapshot, &ctx);
	if (ret)
		goto out_end;
	snapshot_create_images(snapshot);
	pr_debug("snapshot %pUb taken\n", &snapshot->id);
out_end:
	snapshot_take_end(snapshot);
out_unlock:
	mutex_unlock(&snapshots_ctl_lock);
	/* Unused preparations, replaced tables, originals of a failed take. */
	take_ctx_free(&ctx);
	return ret;
}

/**
 * snapshot_collect() - list the identifiers of all snapshots
 * @count: in: room for identifiers (ignored if @ids is NULL); out: number
 *	of snapshots.
 * @ids: NULL to ask for the count only; otherwise out: a kmalloc'ed array
 *	of *@count identifiers the caller frees (NULL when there are none),
 *	set when 0 is returned.
 *
 * Return: 0, -ENODATA if the room is too small, or -ENOMEM.
 */
int snapshot_collect(u32 *count, uuid_t **ids)
{
	struct snapshot *snapshot;
	bool want_ids = ids;
	uuid_t *arr = NULL;
	u32 n = 0;
	int ret = 0;

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
	if (want_ids)
		*ids = arr;
	return ret;
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
	struct snapshot *snapshot;
	int ret;

	mutex_lock(&snapshots_lock);
	snapshot = snapshot_find(id);
	if (snapshot)
		snapshot_get(snapshot);
	mutex_unlock(&snapshots_lock);
	if (!snapshot)
		return -ESRCH;
	ret = event_queue_wait(snapshot->events, timeout_ms, ev, uarg);
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
	struct snapshot_device *sd;
	struct diff_area *da;

	memset(info, 0, sizeof(*info));
	mutex_lock(&snapshots_lock);
	da = tracker_get_diff_area(tracker);
	if (da) {
		info->error_code = READ_ONCE(da->error);
		diff_area_put(da);
	}
	if (snapshot_of_tracker(tracker, &sd) && sd->image)
		strscpy(info->image, snapimage_name(sd->image),
			sizeof(info->image));
	mutex_unlock(&snapshots_lock);
}
