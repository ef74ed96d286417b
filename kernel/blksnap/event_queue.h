/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __BLKSNAP_EVENT_QUEUE_H
#define __BLKSNAP_EVENT_QUEUE_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>

struct blksnap_snapshot_event;

/**
 * struct event_queue - the events of one snapshot
 * @kref: held by the snapshot and by each of its difference areas, which
 *	report corruption through it without knowing the snapshot.
 * @lock: protects @events.
 * @events: queued events, oldest first.
 * @wq: waiters for an event or for @closed.
 * @closed: the snapshot was destroyed; waiters leave.
 */
struct event_queue {
	struct kref kref;
	spinlock_t lock; /* protects events */
	struct list_head events;
	wait_queue_head_t wq;
	bool closed;
};

struct event_queue *event_queue_create(void);
struct event_queue *event_queue_get(struct event_queue *eq);
void event_queue_put(struct event_queue *eq);
void event_queue_close(struct event_queue *eq);
void event_queue_corrupted(struct event_queue *eq, dev_t dev_id, int error);
int event_queue_wait(struct event_queue *eq, u32 timeout_ms,
		     struct blksnap_snapshot_event *ev, void __user *uarg);

#endif /* __BLKSNAP_EVENT_QUEUE_H */
