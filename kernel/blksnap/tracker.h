/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __BLKSNAP_TRACKER_H
#define __BLKSNAP_TRACKER_H

#include <linux/bio.h>
#include <linux/blk-filter.h>
#include <linux/blkdev.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/spinlock.h>

struct cbt_map;
struct diff_area;
struct snapshot;
struct snapimage;

/**
 * struct tracker - state of the "blksnap" filter on one block device
 * @filter: the filter, as attached to the device (bdev->bd_filter).
 * @kref: one reference held by the attachment, one by the snapshot the
 *	device belongs to, and short-lived ones while in use.
 * @bdev: the device. Kept alive (device and driver module references)
 *	for as long as the tracker lives.
 * @dev_id: device number of @bdev.
 * @cbt_map: change tracking tables.
 * @lock: protects @diff_area and @detached.
 * @diff_area: copy-on-write state while a snapshot is taken, or NULL.
 * @detached: the filter was detached (by user space or because the device
 *	went away); the tracker only lives on for its snapshot.
 * @snapshot: the snapshot the device belongs to, or NULL. Protected by
 *	the global snapshot lock.
 * @link: entry in the snapshot's list of devices (same lock).
 * @image: snapshot image of the device, or NULL (same lock).
 * @orig_file: the device held open from the take of its snapshot to the
 *	destroy, so that it cannot go away (a loop device cleared, a dm
 *	device removed) while copy-on-write and image reads use it; NULL
 *	otherwise. Set and cleared under the snapshot control lock.
 */
struct tracker {
	struct blkfilter filter;
	struct kref kref;
	struct block_device *bdev;
	dev_t dev_id;
	struct cbt_map *cbt_map;
	spinlock_t lock; /* protects diff_area, detached */
	struct diff_area *diff_area;
	bool detached;
	struct snapshot *snapshot;
	struct list_head link;
	struct snapimage *image;
	struct file *orig_file;
};

/**
 * blksnap_bio_sector() - first sector of a filtered bio relative to its device
 * @bio: a bio as the filter sees it.
 *
 * The filter sees bios already remapped to the whole disk, also those
 * submitted to a partition; map them back to the partition.
 *
 * Return: the sector.
 */
static inline sector_t blksnap_bio_sector(struct bio *bio)
{
	return bio->bi_iter.bi_sector - bio->bi_bdev->bd_start_sect;
}

void tracker_put(struct tracker *tracker);
struct tracker *tracker_get(struct tracker *tracker);
struct diff_area *tracker_get_diff_area(struct tracker *tracker);
int tracker_init(void);
void tracker_done(void);

#endif /* __BLKSNAP_TRACKER_H */
