/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __BLKSNAP_OBJCOUNT_H
#define __BLKSNAP_OBJCOUNT_H

#include <linux/atomic.h>

/**
 * enum blksnap_obj - kinds of objects the module counts while they live
 * @BLKSNAP_OBJ_TRACKER: &struct tracker, one per attached device.
 * @BLKSNAP_OBJ_CBT_MAP: &struct cbt_map (its tables are vmalloc'ed).
 * @BLKSNAP_OBJ_SNAPSHOT: &struct snapshot.
 * @BLKSNAP_OBJ_SNAPSHOT_DEVICE: &struct snapshot_device, one per device
 *	added to a snapshot.
 * @BLKSNAP_OBJ_EVENT: queued snapshot events.
 * @BLKSNAP_OBJ_EVENT_QUEUE: &struct event_queue, one per snapshot.
 * @BLKSNAP_OBJ_DIFF_STORAGE: &struct diff_storage.
 * @BLKSNAP_OBJ_DIFF_AREA: &struct diff_area, one per device of a taken
 *	snapshot.
 * @BLKSNAP_OBJ_CHUNK: &struct chunk, one per chunk that differs.
 * @BLKSNAP_OBJ_DIFF_BUFFER: &struct diff_buffer (chunk data, pools and
 *	image bounce buffers).
 * @BLKSNAP_OBJ_BUFFER_PAGE: pages of those buffers.
 * @BLKSNAP_OBJ_IMAGE: &struct snapimage.
 * @BLKSNAP_OBJ_FILTER: the filter backend's state of one attached device.
 * @BLKSNAP_OBJ_COUNT: number of kinds.
 *
 * Every object the module keeps beyond one call is counted, so that a leak
 * shows as an exact number rather than as a trend in the noise of the
 * global slab figures: tests compare the counts with a baseline, and
 * unloading the module warns about any count that is not zero.
 */
enum blksnap_obj {
	BLKSNAP_OBJ_TRACKER,
	BLKSNAP_OBJ_CBT_MAP,
	BLKSNAP_OBJ_SNAPSHOT,
	BLKSNAP_OBJ_SNAPSHOT_DEVICE,
	BLKSNAP_OBJ_EVENT,
	BLKSNAP_OBJ_EVENT_QUEUE,
	BLKSNAP_OBJ_DIFF_STORAGE,
	BLKSNAP_OBJ_DIFF_AREA,
	BLKSNAP_OBJ_CHUNK,
	BLKSNAP_OBJ_DIFF_BUFFER,
	BLKSNAP_OBJ_BUFFER_PAGE,
	BLKSNAP_OBJ_IMAGE,
	BLKSNAP_OBJ_FILTER,
	BLKSNAP_OBJ_COUNT
};

extern atomic_long_t blksnap_objects[BLKSNAP_OBJ_COUNT];

/* An object (or @n pages) of @kind was allocated. */
static inline void blksnap_obj_add(enum blksnap_obj kind, long n)
{
	atomic_long_add(n, &blksnap_objects[kind]);
}

/* An object (or @n pages) of @kind was freed. */
static inline void blksnap_obj_sub(enum blksnap_obj kind, long n)
{
	atomic_long_sub(n, &blksnap_objects[kind]);
}

struct dentry;

void blksnap_objcount_init(struct dentry *dir);
void blksnap_objcount_done(void);

#endif /* __BLKSNAP_OBJCOUNT_H */
