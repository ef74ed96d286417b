/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __BLKSNAP_TRACKER_H
#define __BLKSNAP_TRACKER_H

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/spinlock.h>

struct cbt_map;
struct diff_area;

/**
 * struct tracker - state of the "blksnap" filter on one block device
 * @kref: one reference held by the attachment (the filter backend), one
 *	by the snapshot the device belongs to, short-lived ones while in use.
 * @bdev: the device. Kept alive (device and driver module references)
 *	for as long as the tracker lives.
 * @dev_id: device number of @bdev.
 * @cbt_map: change tracking tables.
 * @lock: protects @diff_area and @detached.
 * @diff_area: copy-on-write state while a snapshot is taken, or NULL. It
 *	holds a reference to the tracker in turn; destroying the snapshot
 *	breaks that cycle by clearing this pointer. Written under @lock;
 *	tracker_submit_bio() reads it under RCU instead, without a reference.
 * @detached: the filter was detached (by user space or because the device
 *	went away); the tracker only lives on for its snapshot.
 *
 * Which snapshot the device belongs to is kept by snapshot.c.
 */
struct tracker {
	struct kref kref;
	struct block_device *bdev;
	dev_t dev_id;
	struct cbt_map *cbt_map;
	spinlock_t lock; /* protects diff_area, detached */
	struct diff_area *diff_area;
	bool detached;
};

/* Called by the filter backend (filter.h). */
struct tracker *tracker_create(struct block_device *bdev);
void tracker_detach(struct tracker *tracker);
int tracker_ctl(struct tracker *tracker, unsigned int cmd, u8 __user *buf,
		u32 *plen);
bool tracker_submit_bio(struct tracker *tracker, struct bio *bio);
bool tracker_submit_bio_atomic(struct tracker *tracker, struct bio *bio);

void tracker_put(struct tracker *tracker);
struct tracker *tracker_get(struct tracker *tracker);
struct diff_area *tracker_get_diff_area(struct tracker *tracker);

#endif /* __BLKSNAP_TRACKER_H */
