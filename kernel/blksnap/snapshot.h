/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __BLKSNAP_SNAPSHOT_H
#define __BLKSNAP_SNAPSHOT_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/uuid.h>

struct blksnap_snapshot_collect;
struct blksnap_snapshot_create;
struct blksnap_snapshot_event;
struct blksnap_snapshotinfo;
struct diff_storage;
struct event_queue;
struct tracker;

/**
 * struct snapshot - a set of devices snapshotted at one instant
 * @link: entry in the list of snapshots (global snapshot lock).
 * @kref: held by the list and by waiters for events.
 * @id: identifier.
 * @ds: the difference storage.
 * @events: the snapshot's events.
 * @devices: the devices, &struct snapshot_device (global snapshot lock).
 * @is_taken: the snapshot was taken (global snapshot lock).
 * @is_taking: a take is opening the devices; no device may join (same
 *	lock).
 */
struct snapshot {
	struct list_head link;
	struct kref kref;
	uuid_t id;
	struct diff_storage *ds;
	struct event_queue *events;
	struct list_head devices;
	bool is_taken;
	bool is_taking;
};

int snapshot_create(struct blksnap_snapshot_create *arg);
int snapshot_destroy(const uuid_t *id);
int snapshot_take(const uuid_t *id);
int snapshot_collect(u32 *count, uuid_t **ids);
int snapshot_wait_event(const uuid_t *id, u32 timeout_ms,
			struct blksnap_snapshot_event *ev, void __user *uarg);
int snapshot_add_device(const uuid_t *id, struct tracker *tracker);
void snapshot_device_info(struct tracker *tracker,
			  struct blksnap_snapshotinfo *info);
void snapshot_done(void);

#endif /* __BLKSNAP_SNAPSHOT_H */
