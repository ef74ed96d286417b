// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshot events: queued by copy-on-write (any context), waited for by
 * IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT.
 */
#include <linux/hrtimer.h>
#include <linux/kdev_t.h>
#include <linux/ktime.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/blksnap.h>
#include "event_queue.h"
#include "objcount.h"

/**
 * struct event - a queued event
 * @link: entry in the queue.
 * @time: when it happened (ktime, ns).
 * @code: &enum blksnap_event_codes.
 * @corrupted: data of %blksnap_event_code_corrupted.
 */
struct event {
	struct list_head link;
	ktime_t time;
	u32 code;
	struct blksnap_event_corrupted corrupted;
};

static void event_free(struct event *event)
{
	kfree(event);
	blksnap_obj_sub(BLKSNAP_OBJ_EVENT, 1);
}

/**
 * event_queue_create() - create an empty event queue
 *
 * Return: the queue or NULL.
 */
struct event_queue *event_queue_create(void)
{
	struct event_queue *eq;

	eq = kzalloc(sizeof(*eq), GFP_KERNEL);
	if (!eq)
		return NULL;
	blksnap_obj_add(BLKSNAP_OBJ_EVENT_QUEUE, 1);
	kref_init(&eq->kref);
	spin_lock_init(&eq->lock);
	INIT_LIST_HEAD(&eq->events);
	init_waitqueue_head(&eq->wq);
	return eq;
}

/**
 * event_queue_get() - take a reference to an event queue
 * @eq: the queue.
 *
 * Return: @eq.
 */
struct event_queue *event_queue_get(struct event_queue *eq)
{
	kref_get(&eq->kref);
	return eq;
}

static void event_queue_release(struct kref *kref)
{
	struct event_queue *eq = container_of(kref, struct event_queue, kref);
	struct event *event, *tmp;

	list_for_each_entry_safe(event, tmp, &eq->events, link)
		event_free(event);
	kfree(eq);
	blksnap_obj_sub(BLKSNAP_OBJ_EVENT_QUEUE, 1);
}

/**
 * event_queue_put() - drop a reference to an event queue
 * @eq: the queue.
 */
void event_queue_put(struct event_queue *eq)
{
	kref_put(&eq->kref, event_queue_release);
}

/**
 * event_queue_close() - wake every waiter for good (snapshot destroyed)
 * @eq: the queue.
 *
 * Events still queued can be collected; then waiting fails with -ESRCH.
 */
void event_queue_close(struct event_queue *eq)
{
	WRITE_ONCE(eq->closed, true);
	wake_up_all(&eq->wq);
}

/**
 * event_queue_corrupted() - queue a "corrupted" event
 * @eq: the queue.
 * @dev_id: the original device whose snapshot is corrupted.
 * @error: the negative error.
 *
 * Callable from any context that may not sleep. Without memory for it the
 * event is lost; the error still shows in SNAPSHOTINFO.
 */
void event_queue_corrupted(struct event_queue *eq, dev_t dev_id, int error)
{
	struct event *event;
	unsigned long flags;

	event = kzalloc(sizeof(*event), GFP_ATOMIC);
	if (!event)
		return;
	blksnap_obj_add(BLKSNAP_OBJ_EVENT, 1);
	event->time = ktime_get();
	event->code = blksnap_event_code_corrupted;
	event->corrupted.dev_id_mj = MAJOR(dev_id);
	event->corrupted.dev_id_mn = MINOR(dev_id);
	event->corrupted.err_code = error;
	spin_lock_irqsave(&eq->lock, flags);
	list_add_tail(&event->link, &eq->events);
	spin_unlock_irqrestore(&eq->lock, flags);
	wake_up_all(&eq->wq);
}

static bool event_queue_ready(struct event_queue *eq)
{
	return !list_empty_careful(&eq->events) || READ_ONCE(eq->closed);
}

/**
 * event_queue_wait() - wait for the next event and hand it to user space
 * @eq: the queue.
 * @timeout_ms: how long to wait, in milliseconds.
 * @ev: the request as copied from user space; the event (code, time label
 *	and data) is filled in.
 * @uarg: where the request came from; the whole of @ev is copied back
 *	there. An event that cannot be copied stays queued.
 *
 * Return: 0; -ESRCH once the queue is closed and empty; -ENOENT on
 * timeout; -EINTR if a signal arrived; -EFAULT.
 */
int event_queue_wait(struct event_queue *eq, u32 timeout_ms,
		     struct blksnap_snapshot_event *ev, void __user *uarg)
{
	struct event *event;
	int ret;

	/*
	 * A high-resolution timeout: a jiffies one may end up to a tick
	 * early, and the caller asked for at least @timeout_ms.
	 */
	ret = wait_event_interruptible_hrtimeout(eq->wq, event_queue_ready(eq),
						 ms_to_ktime(timeout_ms));
	if (ret == -ERESTARTSYS)
		return -EINTR;

	spin_lock_irq(&eq->lock);
	event = list_first_entry_or_null(&eq->events, struct event, link);
	if (event)
		list_del(&event->link);
	spin_unlock_irq(&eq->lock);
	if (!event)
		return READ_ONCE(eq->closed) ? -ESRCH : -ENOENT;

	ev->code = event->code;
	ev->time_label = ktime_to_ns(event->time);
	memcpy(ev->data, &event->corrupted, sizeof(event->corrupted));
	if (copy_to_user(uarg, ev, sizeof(*ev))) {
		/* Not delivered: the next waiter gets it. */
		spin_lock_irq(&eq->lock);
		list_add(&event->link, &eq->events);
		spin_unlock_irq(&eq->lock);
		return -EFAULT;
	}
	event_free(event);
	return 0;
}
