// SPDX-License-Identifier: GPL-2.0
/*
 * Test filter for the blkfilter framework (tests/guest/10-blkfilter).
 *
 * Registers two block device filters:
 *
 *  "testfilter"   counts the bios and sectors it sees by direction and, on
 *                 request (module parameter "mode" for new attachments or
 *                 command TESTFILTER_CTL_MODE), takes the write bios and
 *                 resubmits them from a work queue, and/or submits a read
 *                 of its own to the device for each write it sees, which
 *                 must not come back to it.
 *  "testfilter2"  the same without a ctl callback.
 *
 * The interface is in testfilter.h.
 */
#include <linux/bio.h>
#include <linux/blk-filter.h>
#include <linux/blkdev.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/wait_bit.h>
#include <linux/workqueue.h>

#include "testfilter.h"

static unsigned int mode;
module_param(mode, uint, 0644);
MODULE_PARM_DESC(mode, "TESTFILTER_MODE_* flags of new attachments");

static int attach_error;
module_param(attach_error, int, 0644);
MODULE_PARM_DESC(attach_error, "if not 0, attaching fails with this errno");

#define TF_NR		(sizeof(struct testfilter_counters) / sizeof(__u64))
#define TF_IDX(f)	(offsetof(struct testfilter_counters, f) / sizeof(__u64))

struct tf_dev {
	struct blkfilter flt;
	unsigned int mode;
	atomic64_t c[TF_NR];
	spinlock_t lock;		/* protects pending */
	struct bio_list pending;	/* postponed write bios */
	struct work_struct work;	/* resubmits the pending bios */
	atomic_t own_inflight;		/* own reads not completed yet */
};

static struct workqueue_struct *tf_wq;

static struct tf_dev *to_tf(struct blkfilter *flt)
{
	return container_of(flt, struct tf_dev, flt);
}

static void tf_add(struct tf_dev *tf, size_t idx, u64 val)
{
	atomic64_add(val, &tf->c[idx]);
}

static void tf_work_fn(struct work_struct *work)
{
	struct tf_dev *tf = container_of(work, struct tf_dev, work);
	struct bio_list list;
	struct bio *bio;

	spin_lock(&tf->lock);
	list = tf->pending;
	bio_list_init(&tf->pending);
	spin_unlock(&tf->lock);

	while ((bio = bio_list_pop(&list))) {
		tf_add(tf, TF_IDX(resubmitted), 1);
		resubmit_filtered_bio(bio);
	}
}

static void tf_own_endio(struct bio *bio)
{
	struct tf_dev *tf = bio->bi_private;

	if (bio->bi_status)
		tf_add(tf, TF_IDX(own_errors), 1);
	tf_add(tf, TF_IDX(own_completed), 1);
	__free_page(bio_first_page_all(bio));
	bio_put(bio);
	if (atomic_dec_and_test(&tf->own_inflight))
		wake_up_var(&tf->own_inflight);
}

/* Read the first logical block of @bdev, from the submit_bio callback. */
static void tf_own_read(struct tf_dev *tf, struct block_device *bdev)
{
	unsigned int len = bdev_logical_block_size(bdev);
	struct page *page;
	struct bio *bio;

	page = alloc_page(GFP_NOIO);
	if (!page) {
		tf_add(tf, TF_IDX(own_errors), 1);
		return;
	}
	bio = bio_alloc(bdev, 1, REQ_OP_READ, GFP_NOIO);
	__bio_add_page(bio, page, len, 0);
	bio->bi_iter.bi_sector = 0;
	bio->bi_end_io = tf_own_endio;
	bio->bi_private = tf;

	atomic_inc(&tf->own_inflight);
	tf_add(tf, TF_IDX(own_submitted), 1);
	submit_bio(bio);
}

static bool tf_submit_bio(struct bio *bio)
{
	struct blkfilter *flt = bio->bi_bdev->bd_filter;
	struct tf_dev *tf = to_tf(flt);
	unsigned int m = READ_ONCE(tf->mode);
	int dir;

	if (current->blk_filter != flt)
		tf_add(tf, TF_IDX(bad_context), 1);
	if (bio->bi_end_io == tf_own_endio) {
		tf_add(tf, TF_IDX(own_seen), 1);
		return false;
	}

	switch (bio_op(bio)) {
	case REQ_OP_READ:
		dir = TESTFILTER_READ;
		break;
	case REQ_OP_WRITE:
		dir = bio_sectors(bio) ? TESTFILTER_WRITE : TESTFILTER_OTHER;
		break;
	default:
		dir = TESTFILTER_OTHER;
		break;
	}
	tf_add(tf, TF_IDX(bios[0]) + dir, 1);
	tf_add(tf, TF_IDX(sectors[0]) + dir, bio_sectors(bio));

	if (dir != TESTFILTER_WRITE)
		return false;

	if (m & TESTFILTER_MODE_OWN_READ)
		tf_own_read(tf, bio->bi_bdev);

	if (!(m & TESTFILTER_MODE_POSTPONE))
		return false;

	tf_add(tf, TF_IDX(postponed), 1);
	spin_lock(&tf->lock);
	bio_list_add(&tf->pending, bio);
	spin_unlock(&tf->lock);
	queue_work(tf_wq, &tf->work);
	return true;
}

static struct blkfilter *tf_attach(struct block_device *bdev)
{
	int err = READ_ONCE(attach_error);
	struct tf_dev *tf;

	if (err)
		return ERR_PTR(-abs(err));

	tf = kzalloc(sizeof(*tf), GFP_KERNEL);
	if (!tf)
		return ERR_PTR(-ENOMEM);
	tf->mode = READ_ONCE(mode);
	spin_lock_init(&tf->lock);
	bio_list_init(&tf->pending);
	INIT_WORK(&tf->work, tf_work_fn);
	atomic_set(&tf->own_inflight, 0);
	pr_debug("blkfilter_test: attach to %pg\n", bdev);
	return &tf->flt;
}

static void tf_detach(struct blkfilter *flt)
{
	struct tf_dev *tf = to_tf(flt);

	/* No new bio can arrive: resubmit the postponed ones. */
	flush_work(&tf->work);
	WARN_ON(!bio_list_empty(&tf->pending));
	wait_var_event(&tf->own_inflight, !atomic_read(&tf->own_inflight));
	kfree(tf);
}

static int tf_ctl(struct blkfilter *flt, const unsigned int cmd,
		  __u8 __user *buf, __u32 *plen)
{
	struct tf_dev *tf = to_tf(flt);
	struct testfilter_counters cnt;
	__u64 *val = (__u64 *)&cnt;
	u32 new_mode;
	size_t i;

	switch (cmd) {
	case TESTFILTER_CTL_GET:
		if (*plen < sizeof(cnt)) {
			*plen = sizeof(cnt);
			return -ENOSPC;
		}
		for (i = 0; i < TF_NR; i++)
			val[i] = atomic64_read(&tf->c[i]);
		cnt.mode = READ_ONCE(tf->mode);
		if (copy_to_user(buf, &cnt, sizeof(cnt)))
			return -EFAULT;
		*plen = sizeof(cnt);
		return 0;
	case TESTFILTER_CTL_RESET:
		for (i = 0; i < TF_NR; i++)
			atomic64_set(&tf->c[i], 0);
		*plen = 0;
		return 0;
	case TESTFILTER_CTL_MODE:
		if (*plen < sizeof(new_mode))
			return -EINVAL;
		if (copy_from_user(&new_mode, buf, sizeof(new_mode)))
			return -EFAULT;
		if (new_mode & ~(TESTFILTER_MODE_POSTPONE |
				 TESTFILTER_MODE_OWN_READ))
			return -EINVAL;
		WRITE_ONCE(tf->mode, new_mode);
		*plen = 0;
		return 0;
	default:
		return -ENOTTY;
	}
}

static struct blkfilter_operations tf_ops = {
	.owner		= THIS_MODULE,
	.name		= TESTFILTER_NAME,
	.attach		= tf_attach,
	.detach		= tf_detach,
	.ctl		= tf_ctl,
	.submit_bio	= tf_submit_bio,
};

static struct blkfilter_operations tf2_ops = {
	.owner		= THIS_MODULE,
	.name		= TESTFILTER2_NAME,
	.attach		= tf_attach,
	.detach		= tf_detach,
	.submit_bio	= tf_submit_bio,
};

/* Registration errors, checked once at load time. */
static int __init tf_check_register(void)
{
	struct blkfilter_operations dup = tf2_ops;
	struct blkfilter_operations bad = tf2_ops;
	int ret;

	ret = blkfilter_register(&dup);
	if (ret != -EBUSY) {
		pr_err("blkfilter_test: duplicate name: %d, not -EBUSY\n", ret);
		if (!ret)
			blkfilter_unregister(&dup);
		return -EINVAL;
	}
	bad.name = "a-filter-name-of-32-characters-x";
	ret = blkfilter_register(&bad);
	if (ret != -EINVAL) {
		pr_err("blkfilter_test: long name: %d, not -EINVAL\n", ret);
		if (!ret)
			blkfilter_unregister(&bad);
		return -EINVAL;
	}
	return 0;
}

static int __init tf_init(void)
{
	int ret;

	tf_wq = alloc_workqueue("blkfilter_test", WQ_MEM_RECLAIM, 0);
	if (!tf_wq)
		return -ENOMEM;
	ret = blkfilter_register(&tf_ops);
	if (ret)
		goto out_wq;
	ret = blkfilter_register(&tf2_ops);
	if (ret)
		goto out_tf;
	ret = tf_check_register();
	if (ret)
		goto out_tf2;
	return 0;

out_tf2:
	blkfilter_unregister(&tf2_ops);
out_tf:
	blkfilter_unregister(&tf_ops);
out_wq:
	destroy_workqueue(tf_wq);
	return ret;
}

static void __exit tf_exit(void)
{
	blkfilter_unregister(&tf2_ops);
	blkfilter_unregister(&tf_ops);
	destroy_workqueue(tf_wq);
}

module_init(tf_init);
module_exit(tf_exit);
MODULE_DESCRIPTION("Test filter for block device filters");
MODULE_LICENSE("GPL");
