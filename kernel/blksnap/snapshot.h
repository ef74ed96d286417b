/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __BLKSNAP_SNAPSHOT_H
#define __BLKSNAP_SNAPSHOT_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/uuid.h>
#include <linux/wait.h>

struct blksnap_snapshot_collect;
struct blksnap_snapshot_create;
struct blksnap_snapshot_event;
struct blksnap_snapshotinfo;
struct diff_storage;
struct tracker;

/**
 * struct snapshot - a set of devices snapshotted at one instant
 * @link: entry in the list of snapshots (global snapshot lock).
 * @kref: held by the list, by the difference areas and by waiters.
 * @id: identifier.
 * @ds: the difference storage.
 * @trackers: the devices (global snapshot lock).
 * @is_taken: the snapshot was taken (global snapshot lock).
 * @is_taking: a take is opening the devices; no device may join (same
 *	lock).
 * @is_destroyed: the snapshot was destroyed; waiters leave.
 * @event_lock: protects @events.
 * @events: queued events.
 * @event_wq: waiters for events.
 */
struct snapshot {
	struct list_head link;
	struct kref kref;
	uuid_t id;
	struct diff_storage *ds;
	struct list_head trackers;
	bool is_taken;
	bool is_taking;
	bool is_destroyed;
	spinlock_t event_lock; /* protects events */
	struct list_head events;
	wait_queue_head_t event_wq;
};

struct snapshot *snapshot_get(struct snapshot *snapshot);
void snapshot_put(struct snapshot *snapshot);
struct diff_storage *snapshot_diff_storage(struct snapshot *snapshot);
void snapshot_event_corrupted(struct snapshot *snapshot, dev_t dev_id,
			      int error);

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
