// SPDX-License-Identifier: GPL-2.0
/*
 * The "ftrace" backend: blksnap's own block-device filter hook, for kernels
 * without the block-device filter framework (section 3.8 of the
 * specification). It gives the core the framework's guarantees:
 *
 * - Every bio: an ftrace hook with FTRACE_OPS_FL_IPMODIFY looks the bio's
 *   device up. The tracker sees the bio of a filtered device right there
 *   if it can without sleeping (reads, and writes while no snapshot is
 *   taken: the common case). Otherwise the hook redirects
 *   submit_bio_noacct() to filter_submit_bio_noacct(), which passes the
 *   bio to the tracker, then calls the real function. The bios of other
 *   devices go on untouched: one lockless lookup each. Partitions have
 *   their own filters, as with the framework.
 * - Exactly once: a bio comes back to submit_bio_noacct() when the block
 *   layer or a bio-based driver (dm, md) splits it and submits the rest
 *   again. That rest is chained to the part sent on (BIO_CHAIN), and it
 *   carries BLKSNAP_BIO_SEEN, set when the filter let the bio go.
 *   BIO_CHAIN is cleared when a bio completes, so a completed bio that is
 *   submitted again is seen again.
 * - Recursion: the hook lets calls from this module through, so the module
 *   reaches the real submit_bio_noacct() by calling it, and the bios it
 *   sends on are not seen again.
 * - Removal: a second hook runs before del_gendisk() and detaches the
 *   filters of the disk while it still accepts the bios they postponed. A
 *   filter holds its device (and an open partition) until it is detached,
 *   so a new disk that gets the same device number is a new device.
 * - Zero idle cost: both hooks are registered at the first attach and
 *   unregistered at the last detach.
 * - Unload: each attached filter holds a reference to the module; the
 *   module goes only once no task runs in the hooks any more
 *   (hook_srcu, then an RCU-tasks grace period for the last instructions).
 *
 * Locking: filter_mutex serialises attaching, detaching, the ctl commands,
 * the hooks' registration and the table of filters. The ftrace callback
 * reads the table and runs tracker_submit_bio_atomic() under RCU-sched (it
 * runs with preemption disabled), the redirected function under
 * filter_srcu, since the tracker may sleep. Detaching waits for both kinds
 * of callers in flight (synchronize_rcu(), synchronize_srcu()), as the
 * framework does with a queue freeze, and frees the entry after an RCU
 * grace period.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bio.h>
#include <linux/blk-filter.h>	/* the UAPI header: BLKFILTER_* */
#include <linux/blkdev.h>
#include <linux/debugfs.h>
#include <linux/file.h>
#include <linux/ftrace.h>
#include <linux/hashtable.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/blksnap.h>
#include "blksnap.h"
#include "compat.h"
#include "filter.h"
#include "objcount.h"
#include "tracker.h"

/* Without these, an ftrace hook cannot change where a function goes. */
#if !defined(CONFIG_DYNAMIC_FTRACE_WITH_ARGS) && \
	!defined(CONFIG_DYNAMIC_FTRACE_WITH_REGS)
#error "the ftrace filter backend needs DYNAMIC_FTRACE_WITH_ARGS or _WITH_REGS"
#endif

const char *const blksnap_filter_backend = "ftrace";

/*
 * A bi_flags bit the block layer does not use: the filter let this bio go.
 * BIO_FLAG_LAST counts the kernel's bits; bi_flags has 16.
 */
#define BLKSNAP_BIO_SEEN 15
static_assert(BIO_FLAG_LAST <= BLKSNAP_BIO_SEEN);
static_assert(BITS_PER_BYTE * sizeof_field(struct bio, bi_flags) >
	      BLKSNAP_BIO_SEEN);

/**
 * struct bdev_filter - blksnap as attached to one device
 * @node: entry in filter_table, keyed by @bdev.
 * @bdev: the device (the tracker holds it).
 * @part: the partition, held open so that it cannot be deleted while
 *	filtered (as with the framework); not open for a whole disk.
 * @tracker: the core's state of the device.
 * @rcu: frees the entry once no ftrace callback can walk over it.
 */
struct bdev_filter {
	struct hlist_node node;
	struct block_device *bdev;
	struct blksnap_bdev_file part;
	struct tracker *tracker;
	struct rcu_head rcu;
};

/**
 * struct deleting_disk - a disk in del_gendisk(), which nothing may attach to
 * @link: entry in deleting_disks.
 * @disk: the disk.
 */
struct deleting_disk {
	struct list_head link;
	struct gendisk *disk;
};

static DEFINE_MUTEX(filter_mutex);
static DEFINE_HASHTABLE(filter_table, 6);	/* filter_mutex, filter_srcu */
static LIST_HEAD(deleting_disks);		/* filter_mutex */
static unsigned int filter_count;		/* filter_mutex */
static bool hooks_on;				/* filter_mutex */
/* Error of ftrace_set_filter() at load: the hooks cannot be set. */
static int hooks_error;
DEFINE_STATIC_SRCU(filter_srcu);	/* table lookups and callbacks */
DEFINE_STATIC_SRCU(hook_srcu);		/* tasks in the hooks' functions */

static void filter_submit_bio_noacct(struct bio *bio);
static void filter_del_gendisk(struct gendisk *disk);

static bool notrace filter_bio_seen(struct bio *bio)
{
	return bio_flagged(bio, BLKSNAP_BIO_SEEN) &&
	       bio_flagged(bio, BIO_CHAIN);
}

/* The filter of a device, in the ftrace callback: an RCU-sched reader. */
static struct bdev_filter *notrace filter_lookup(struct block_device *bdev)
{
	struct bdev_filter *f;

	hash_for_each_possible_rcu_notrace(filter_table, f, node,
					   (unsigned long)bdev)
		if (f->bdev == bdev)
			return f;
	return NULL;
}

/*
 * Is the bio seen once the callback returns? Most are: reads, and writes
 * while no snapshot of the device is taken, which only mark the change
 * tracking map. A write that copy-on-write may hold back needs process
 * context, as does anything that takes a spinlock_t on PREEMPT_RT.
 */
static bool notrace filter_bio_done_here(struct bdev_filter *f,
					 struct bio *bio)
{
	if (IS_ENABLED(CONFIG_PREEMPT_RT) ||
	    !tracker_submit_bio_atomic(f->tracker, bio))
		return false;
	bio_set_flag(bio, BLKSNAP_BIO_SEEN);
	return true;
}

/*
 * Calls from this module reach the real functions: the recursion guard.
 * Otherwise a filter sees the bio here, with preemption disabled, or
 * submit_bio_noacct() is redirected to filter_submit_bio_noacct() for it;
 * del_gendisk() is always redirected.
 */
static void notrace filter_submit_hook(unsigned long ip,
				       unsigned long parent_ip,
				       struct ftrace_ops *ops,
				       struct ftrace_regs *fregs)
{
	struct bio *bio = (struct bio *)blksnap_ftrace_get_arg(fregs, 0);
	struct bdev_filter *f;

	if (within_module(parent_ip, THIS_MODULE) || filter_bio_seen(bio))
		return;
	rcu_read_lock_sched_notrace();
	f = filter_lookup(bio->bi_bdev);
	if (f && !filter_bio_done_here(f, bio))
		blksnap_ftrace_set_ip(fregs,
				      (unsigned long)filter_submit_bio_noacct);
	rcu_read_unlock_sched_notrace();
}

static void notrace filter_del_gendisk_hook(unsigned long ip,
					    unsigned long parent_ip,
					    struct ftrace_ops *ops,
					    struct ftrace_regs *fregs)
{
	if (!within_module(parent_ip, THIS_MODULE))
		blksnap_ftrace_set_ip(fregs, (unsigned long)filter_del_gendisk);
}

#define FILTER_OPS_FLAGS (FTRACE_OPS_FL_IPMODIFY | FTRACE_OPS_FL_PERMANENT | \
			  FTRACE_OPS_FL_DYNAMIC | BLKSNAP_FTRACE_OPS_FL_REGS)

static struct ftrace_ops filter_submit_ops = {
	.func = filter_submit_hook,
	.flags = FILTER_OPS_FLAGS,
};

static struct ftrace_ops filter_del_gendisk_ops = {
	.func = filter_del_gendisk_hook,
	.flags = FILTER_OPS_FLAGS,
};

/* Hooked function names, for the kernel log. */
static const char *filter_ops_name(struct ftrace_ops *ops)
{
	return ops == &filter_submit_ops ? "submit_bio_noacct" : "del_gendisk";
}

static int filter_hook_register(struct ftrace_ops *ops)
{
	int ret = register_ftrace_function(ops);

	if (ret == -EBUSY)
		pr_err("cannot hook %s: another module already modifies it through ftrace (a livepatch or another block-device filter such as bdevfilter)\n",
		       filter_ops_name(ops));
	else if (ret)
		pr_err("cannot hook %s: %d\n", filter_ops_name(ops), ret);
	return ret;
}

/* At the first attach. */
static int filter_hooks_get(void)
{
	int ret;

	lockdep_assert_held(&filter_mutex);
	if (hooks_on)
		return 0;
	if (hooks_error)
		return hooks_error;
	ret = filter_hook_register(&filter_del_gendisk_ops);
	if (ret)
		return ret;
	ret = filter_hook_register(&filter_submit_ops);
	if (ret) {
		unregister_ftrace_function(&filter_del_gendisk_ops);
		return ret;
	}
	hooks_on = true;
	pr_debug("hooks registered\n");
	return 0;
}

/*
 * At the last detach. Tasks may still run in the hooks' functions: the
 * module waits for them when it is unloaded (blksnap_filter_done()).
 */
static void filter_hooks_put(void)
{
	lockdep_assert_held(&filter_mutex);
	if (filter_count || !hooks_on)
		return;
	unregister_ftrace_function(&filter_submit_ops);
	unregister_ftrace_function(&filter_del_gendisk_ops);
	hooks_on = false;
	pr_debug("hooks unregistered\n");
}

static struct bdev_filter *filter_find(struct block_device *bdev)
{
	struct bdev_filter *f;

	hash_for_each_possible_rcu(filter_table, f, node, (unsigned long)bdev,
				   srcu_read_lock_held(&filter_srcu) ||
				   lockdep_is_held(&filter_mutex))
		if (f->bdev == bdev)
			return f;
	return NULL;
}

/*
 * Call the real submit_bio_noacct(). Not as a tail call: the hook lets the
 * call through because it comes from this module, and a tail call would
 * come from our caller.
 */
static void filter_pass_bio(struct bio *bio)
{
	submit_bio_noacct(bio);
	barrier();
}

/*
 * What submit_bio_noacct() runs for a bio that a filter wanted to see in
 * process context when the hook looked; it may have been detached since.
 */
static void filter_submit_bio_noacct(struct bio *bio)
{
	int hook_idx = srcu_read_lock(&hook_srcu);
	struct bdev_filter *f;
	bool taken = false;
	int idx;

	/* filter_submit_hook() has checked that the bio was not seen yet. */
	idx = srcu_read_lock(&filter_srcu);
	f = filter_find(bio->bi_bdev);
	if (f) {
		taken = tracker_submit_bio(f->tracker, bio);
		if (!taken)
			bio_set_flag(bio, BLKSNAP_BIO_SEEN);
	}
	srcu_read_unlock(&filter_srcu, idx);
	if (!taken)
		filter_pass_bio(bio);
	srcu_read_unlock(&hook_srcu, hook_idx);
}

/**
 * blksnap_filter_resubmit() - send on a bio that tracker_submit_bio() took
 * @bio: the bio; the filter does not see it again.
 */
void blksnap_filter_resubmit(struct bio *bio)
{
	bio_set_flag(bio, BLKSNAP_BIO_SEEN);
	filter_pass_bio(bio);
}

static bool filter_disk_gone(struct gendisk *disk)
{
	struct deleting_disk *dd;

	lockdep_assert_held(&filter_mutex);
	if (!disk_live(disk) || test_bit(GD_DEAD, &disk->state))
		return true;
	list_for_each_entry(dd, &deleting_disks, link)
		if (dd->disk == disk)
			return true;
	return false;
}

/* Free a filter that is no longer in the table. */
static void filter_release(struct bdev_filter *f)
{
	lockdep_assert_held(&filter_mutex);
	/* Wait for the callbacks that may still use the tracker. */
	synchronize_rcu();
	synchronize_srcu(&filter_srcu);
	tracker_detach(f->tracker);
	blksnap_bdev_close(&f->part);
	kfree_rcu(f, rcu);
	blksnap_obj_sub(BLKSNAP_OBJ_FILTER, 1);
	filter_count--;
	filter_hooks_put();
	module_put(THIS_MODULE);
}

static int filter_add(struct block_device *bdev)
{
	struct gendisk *disk = bdev->bd_disk;
	struct bdev_filter *f;
	int ret;

	lockdep_assert_held(&filter_mutex);
	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	f->bdev = bdev;
	if (bdev_is_partition(bdev)) {
		ret = blksnap_bdev_open(&f->part, bdev->bd_dev, false, NULL);
		if (ret)
			goto fail_free;
	}
	f->tracker = tracker_create(bdev);
	if (IS_ERR(f->tracker)) {
		ret = PTR_ERR(f->tracker);
		goto fail_close;
	}
	ret = filter_hooks_get();
	if (ret)
		goto fail_detach;

	/* Let the file system write back its dirty data and stop. */
	ret = blksnap_bdev_freeze(bdev);
	if (ret)
		goto fail_hooks;
	/* del_gendisk() unhashes the disk under open_mutex. */
	mutex_lock(&disk->open_mutex);
	if (filter_disk_gone(disk))
		ret = -ENODEV;
	else
		hash_add_rcu(filter_table, &f->node, (unsigned long)bdev);
	mutex_unlock(&disk->open_mutex);
	blksnap_bdev_thaw(bdev);
	if (ret)
		goto fail_hooks;

	__module_get(THIS_MODULE);
	filter_count++;
	blksnap_obj_add(BLKSNAP_OBJ_FILTER, 1);
	pr_debug("filter attached to %pg\n", bdev);
	return 0;

fail_hooks:
	filter_hooks_put();
fail_detach:
	tracker_detach(f->tracker);
fail_close:
	blksnap_bdev_close(&f->part);
fail_free:
	kfree(f);
	return ret;
}

static int filter_get_name(struct blkfilter_name __user *uname,
			   struct blkfilter_name *name)
{
	if (copy_from_user(name, uname, sizeof(*name)))
		return -EFAULT;
	if (strnlen((const char *)name->name, BLKFILTER_NAME_LENGTH) ==
	    BLKFILTER_NAME_LENGTH)
		return -EINVAL;
	return 0;
}

static bool filter_is_ours(const __u8 *name)
{
	return strcmp((const char *)name, "blksnap") == 0;
}

/* BLKFILTER_ATTACH: the same checks and errors as the framework's. */
static int filter_ioctl_attach(struct block_device *bdev,
			       struct blkfilter_name __user *uname)
{
	struct blkfilter_name name;
	int ret;

	ret = filter_get_name(uname, &name);
	if (ret)
		return ret;
	if (!filter_is_ours(name.name))
		return -ENOENT;

	mutex_lock(&filter_mutex);
	if (filter_disk_gone(bdev->bd_disk))
		ret = -ENODEV;
	else if (filter_find(bdev))
		ret = -EALREADY;
	else
		ret = filter_add(bdev);
	mutex_unlock(&filter_mutex);
	return ret;
}

/* BLKFILTER_DETACH */
static int filter_ioctl_detach(struct block_device *bdev,
			       struct blkfilter_name __user *uname)
{
	struct blkfilter_name name;
	struct bdev_filter *f;
	bool frozen;
	int ret;

	ret = filter_get_name(uname, &name);
	if (ret)
		return ret;

	mutex_lock(&filter_mutex);
	f = filter_find(bdev);
	if (!f) {
		ret = -ENOENT;
		goto out;
	}
	if (!filter_is_ours(name.name)) {
		ret = -EINVAL;
		goto out;
	}
	/* As the framework: a file system that cannot freeze does not block. */
	frozen = blksnap_bdev_freeze(bdev) == 0;
	hash_del_rcu(&f->node);
	if (frozen)
		blksnap_bdev_thaw(bdev);
	filter_release(f);
out:
	mutex_unlock(&filter_mutex);
	return ret;
}

/* BLKFILTER_CTL */
static int filter_ioctl_ctl(struct block_device *bdev,
			    struct blkfilter_ctl __user *uctl)
{
	struct blkfilter_ctl ctl;
	struct bdev_filter *f;
	u32 optlen;
	int ret;

	if (copy_from_user(&ctl, uctl, sizeof(ctl)))
		return -EFAULT;
	if (strnlen((const char *)ctl.name, BLKFILTER_NAME_LENGTH) ==
	    BLKFILTER_NAME_LENGTH)
		return -EINVAL;

	mutex_lock(&filter_mutex);
	f = filter_find(bdev);
	if (!f || !filter_is_ours(ctl.name)) {
		ret = -ENOENT;
		goto out;
	}
	optlen = ctl.optlen;
	ret = tracker_ctl(f->tracker, ctl.cmd, u64_to_user_ptr(ctl.opt),
			  &optlen);
	if (put_user(optlen, &uctl->optlen) && !ret)
		ret = -EFAULT;
out:
	mutex_unlock(&filter_mutex);
	return ret;
}

/**
 * blksnap_filter_ctl_ioctl() - IOCTL_BLKSNAP_BDEV_FILTER: a filter command
 * @uarg: the user's &struct blksnap_bdev_filter.
 *
 * Runs BLKFILTER_ATTACH, BLKFILTER_DETACH or BLKFILTER_CTL on the block
 * device of @uarg->bdev_fd as the kernel's framework would on the device
 * itself: same checks, same errors.
 *
 * Context: process context, CAP_SYS_ADMIN checked by the caller.
 * Return: 0 or a negative error: also -EBADF for a bad file descriptor,
 * -ENOTBLK if it is not a block device, -EINVAL for an unknown command.
 */
int blksnap_filter_ctl_ioctl(struct blksnap_bdev_filter __user *uarg)
{
	struct blksnap_bdev_filter arg;
	struct block_device *bdev;
	void __user *argp;
	struct file *file;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	file = fget(arg.bdev_fd);
	if (!file)
		return -EBADF;
	if (!S_ISBLK(file_inode(file)->i_mode)) {
		ret = -ENOTBLK;
		goto out;
	}
	bdev = I_BDEV(file->f_mapping->host);
	argp = u64_to_user_ptr(arg.arg);

	switch (arg.cmd) {
	case BLKFILTER_ATTACH:
		ret = filter_ioctl_attach(bdev, argp);
		break;
	case BLKFILTER_DETACH:
		ret = filter_ioctl_detach(bdev, argp);
		break;
	case BLKFILTER_CTL:
		ret = filter_ioctl_ctl(bdev, argp);
		break;
	default:
		ret = -EINVAL;
	}
out:
	fput(file);
	return ret;
}

/* Pass the call on to the real del_gendisk(), not as a tail call. */
static void filter_pass_del_gendisk(struct gendisk *disk)
{
	del_gendisk(disk);
	barrier();
}

/*
 * What del_gendisk() runs while the hooks are on: detach the filters of the
 * disk (and its partitions) first, while the disk still accepts the bios
 * they postponed, and let no new one attach until the disk is gone.
 */
static void filter_del_gendisk(struct gendisk *disk)
{
	int hook_idx = srcu_read_lock(&hook_srcu);
	struct deleting_disk dd = { .disk = disk };
	struct bdev_filter *f;
	struct hlist_node *tmp;
	int bkt;

	mutex_lock(&filter_mutex);
	list_add(&dd.link, &deleting_disks);
	hash_for_each_safe(filter_table, bkt, tmp, f, node) {
		if (f->bdev->bd_disk != disk)
			continue;
		hash_del_rcu(&f->node);
		pr_debug("%pg is deleted: filter detached\n", f->bdev);
		filter_release(f);
	}
	mutex_unlock(&filter_mutex);

	filter_pass_del_gendisk(disk);

	mutex_lock(&filter_mutex);
	list_del(&dd.link);
	mutex_unlock(&filter_mutex);
	srcu_read_unlock(&hook_srcu, hook_idx);
}

/* debugfs blksnap/filters: "MAJ:MIN name" of each filtered device. */
static int filters_show(struct seq_file *m, void *v)
{
	struct bdev_filter *f;
	int bkt;

	mutex_lock(&filter_mutex);
	hash_for_each(filter_table, bkt, f, node)
		seq_printf(m, "%u:%u %pg\n", MAJOR(f->bdev->bd_dev),
			   MINOR(f->bdev->bd_dev), f->bdev);
	mutex_unlock(&filter_mutex);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(filters);

static int filter_set_hook(struct ftrace_ops *ops)
{
	const char *name = filter_ops_name(ops);
	int ret;

	ret = ftrace_set_filter(ops, (unsigned char *)name, strlen(name), 0);
	if (ret)
		pr_err("cannot hook %s, this kernel cannot trace it: %d\n",
		       name, ret);
	return ret;
}

/**
 * blksnap_filter_init() - prepare the hooks, without registering them
 *
 * A kernel that cannot trace the hooked functions still loads the module
 * (the control device answers); attaching a filter fails then.
 *
 * Return: 0.
 */
int blksnap_filter_init(void)
{
	hooks_error = filter_set_hook(&filter_submit_ops) ?:
		      filter_set_hook(&filter_del_gendisk_ops);
	debugfs_create_file("filters", 0400, blksnap_debugfs_dir, NULL,
			    &filters_fops);
	return 0;
}

/**
 * blksnap_filter_done() - forget the hooks (unload)
 *
 * No filter is attached (each holds a reference to the module), so the
 * hooks are unregistered. Wait for the tasks that still run in the hooks'
 * functions, up to their last instruction, before the module's code goes.
 */
void blksnap_filter_done(void)
{
	WARN_ON(filter_count || hooks_on);
	synchronize_srcu(&hook_srcu);
	synchronize_rcu_tasks();
	ftrace_set_filter(&filter_submit_ops, NULL, 0, 1);
	ftrace_set_filter(&filter_del_gendisk_ops, NULL, 0, 1);
}
