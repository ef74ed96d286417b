// SPDX-License-Identifier: GPL-2.0
/*
 * blksnap: changed-block tracking and snapshots of block devices.
 *
 * Module parameters, the control device /dev/blksnap-control and module
 * initialisation.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/moduleparam.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/stringify.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>
#include <linux/uuid.h>
#include <linux/blksnap.h>
#include "blksnap.h"
#include "diff_area.h"
#include "filter.h"
#include "objcount.h"
#include "snapimage.h"
#include "snapshot.h"

unsigned int tracking_block_minimum_shift = 16;
unsigned int tracking_block_maximum_count = 2097152;
unsigned int tracking_block_maximum_shift = 26;
unsigned int chunk_minimum_shift = 18;
unsigned int chunk_maximum_count_shift = 40;
unsigned int chunk_maximum_shift = 26;
unsigned int chunk_maximum_in_queue = 16;
unsigned int free_diff_buffer_pool_size = 128;
unsigned long diff_storage_minimum = 2097152;

module_param(tracking_block_minimum_shift, uint, 0444);
MODULE_PARM_DESC(tracking_block_minimum_shift,
		 "log2 of the smallest change tracking block (default 16: 64 KiB)");
module_param(tracking_block_maximum_count, uint, 0444);
MODULE_PARM_DESC(tracking_block_maximum_count,
		 "Most change tracking blocks per device (default 2097152)");
module_param(tracking_block_maximum_shift, uint, 0444);
MODULE_PARM_DESC(tracking_block_maximum_shift,
		 "log2 of the largest change tracking block (default 26: 64 MiB)");
module_param(chunk_minimum_shift, uint, 0444);
MODULE_PARM_DESC(chunk_minimum_shift,
		 "log2 of the smallest copy-on-write chunk (default 18: 256 KiB)");
module_param(chunk_maximum_count_shift, uint, 0444);
MODULE_PARM_DESC(chunk_maximum_count_shift,
		 "log2 of the most chunks per device (default 40)");
module_param(chunk_maximum_shift, uint, 0444);
MODULE_PARM_DESC(chunk_maximum_shift,
		 "log2 of the largest copy-on-write chunk (default 26: 64 MiB)");
module_param(chunk_maximum_in_queue, uint, 0444);
MODULE_PARM_DESC(chunk_maximum_in_queue,
		 "Most preserved chunks waiting in memory to be stored (default 16)");
module_param(free_diff_buffer_pool_size, uint, 0444);
MODULE_PARM_DESC(free_diff_buffer_pool_size,
		 "Most free chunk buffers kept for reuse per device (default 128)");
module_param(diff_storage_minimum, ulong, 0444);
MODULE_PARM_DESC(diff_storage_minimum,
		 "Difference storage growth step in sectors (default 2097152: 1 GiB)");

/*
 * Which block-device filter this module uses (section 3.8 of the
 * specification, filter.h): "blkfilter", the kernel's framework, whose
 * BLKFILTER_* ioctls are issued on the block device, or "ftrace", the
 * module's own hook, whose filter commands go through the control device.
 * Fixed when the module is built, read-only; libblksnap reads it to choose
 * how to issue filter commands.
 */
static int filter_backend_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", blksnap_filter_backend);
}

static int filter_backend_set(const char *val, const struct kernel_param *kp)
{
	pr_err("filter_backend is chosen when the module is built (%s)\n",
	       blksnap_filter_backend);
	return -EPERM;
}

static const struct kernel_param_ops filter_backend_ops = {
	.set = filter_backend_set,
	.get = filter_backend_get,
};

module_param_cb(filter_backend, &filter_backend_ops, NULL, 0444);
MODULE_PARM_DESC(filter_backend,
		 "Block-device filter in use, read-only: blkfilter (the kernel's) or ftrace (the module's own)");

struct workqueue_struct *blksnap_wq;
struct workqueue_struct *blksnap_store_wq;
struct dentry *blksnap_debugfs_dir;

static void param_correct_uint(const char *name, unsigned int *val,
			       unsigned int min, unsigned int max)
{
	unsigned int old = *val;

	*val = clamp(old, min, max);
	if (*val != old)
		pr_warn("parameter %s=%u is out of range [%u, %u], using %u\n",
			name, old, min, max, *val);
}

#define PARAM_CORRECT(name, min, max) \
	param_correct_uint(#name, &(name), min, max)

/*
 * Correct absurd values instead of refusing to load: each correction is
 * logged and the corrected value shows in /sys/module/blksnap/parameters.
 */
static void blksnap_params_validate(void)
{
	unsigned long old, chunk_sectors;

	PARAM_CORRECT(tracking_block_minimum_shift, SECTOR_SHIFT, 30);
	PARAM_CORRECT(tracking_block_maximum_shift,
		      tracking_block_minimum_shift, 30);
	PARAM_CORRECT(tracking_block_maximum_count, 1, 1U << 30);
	PARAM_CORRECT(chunk_minimum_shift, PAGE_SHIFT, 30);
	PARAM_CORRECT(chunk_maximum_shift, chunk_minimum_shift, 30);
	PARAM_CORRECT(chunk_maximum_count_shift, 1, 48);
	PARAM_CORRECT(chunk_maximum_in_queue, 1, 65536);
	PARAM_CORRECT(free_diff_buffer_pool_size, 0, 65536);

	/* A whole number of smallest chunks, at least two of them. */
	chunk_sectors = 1UL << (chunk_minimum_shift - SECTOR_SHIFT);
	old = diff_storage_minimum;
	diff_storage_minimum = max(round_up(min(old, 1UL << 40),
					    chunk_sectors),
				   2 * chunk_sectors);
	if (diff_storage_minimum != old)
		pr_warn("parameter diff_storage_minimum=%lu corrected to %lu\n",
			old, diff_storage_minimum);
}

static int ctl_version(void __user *uarg)
{
	static const struct blksnap_version version = {
		.major = BLKSNAP_VERSION_MAJOR,
		.minor = BLKSNAP_VERSION_MINOR,
		.revision = BLKSNAP_VERSION_REVISION,
		.build = BLKSNAP_VERSION_BUILD,
	};

	if (copy_to_user(uarg, &version, sizeof(version)))
		return -EFAULT;
	return 0;
}

static int ctl_snapshot_create(void __user *uarg)
{
	struct blksnap_snapshot_create arg;
	struct blksnap_snapshot_create __user *uptr = uarg;
	uuid_t id;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	ret = snapshot_create(&arg);
	if (ret)
		return ret;
	if (copy_to_user(&uptr->id, &arg.id, sizeof(arg.id))) {
		import_uuid(&id, arg.id.b);
		snapshot_destroy(&id);
		return -EFAULT;
	}
	return 0;
}

static int blksnap_get_uuid(void __user *uarg, uuid_t *id)
{
	struct blksnap_uuid arg;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	import_uuid(id, arg.b);
	return 0;
}

static int ctl_snapshot_collect(void __user *uarg)
{
	struct blksnap_snapshot_collect arg;
	struct blksnap_snapshot_collect __user *uptr = uarg;
	uuid_t *ids = NULL;
	u32 count, i;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	count = arg.count;
	/* Without an array the caller only asks for the count. */
	ret = snapshot_collect(&count, arg.ids ? &ids : NULL);
	if (ret && ret != -ENODATA)
		return ret;
	if (arg.ids && !ret) {
		struct blksnap_uuid __user *uids = u64_to_user_ptr(arg.ids);

		for (i = 0; i < count; i++) {
			if (copy_to_user(uids[i].b, &ids[i], sizeof(uids[i]))) {
				kfree(ids);
				return -EFAULT;
			}
		}
		kfree(ids);
	}
	if (put_user(count, &uptr->count))
		return -EFAULT;
	return ret;
}

static int ctl_snapshot_wait_event(void __user *uarg)
{
	struct blksnap_snapshot_event *ev;
	uuid_t id;
	int ret;

	ev = kzalloc(sizeof(*ev), GFP_KERNEL);
	if (!ev)
		return -ENOMEM;
	if (copy_from_user(ev, uarg, offsetof(typeof(*ev), code))) {
		ret = -EFAULT;
		goto out;
	}
	import_uuid(&id, ev->id.b);
	ret = snapshot_wait_event(&id, ev->timeout_ms, ev, uarg);
out:
	kfree(ev);
	return ret;
}

static long blksnap_ctl_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	uuid_t id;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;

	switch (cmd) {
	case IOCTL_BLKSNAP_VERSION:
		return ctl_version(uarg);
	case IOCTL_BLKSNAP_SNAPSHOT_CREATE:
		return ctl_snapshot_create(uarg);
	case IOCTL_BLKSNAP_SNAPSHOT_DESTROY:
		ret = blksnap_get_uuid(uarg, &id);
		return ret ?: snapshot_destroy(&id);
	case IOCTL_BLKSNAP_SNAPSHOT_TAKE:
		ret = blksnap_get_uuid(uarg, &id);
		return ret ?: snapshot_take(&id);
	case IOCTL_BLKSNAP_SNAPSHOT_COLLECT:
		return ctl_snapshot_collect(uarg);
	case IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT:
		return ctl_snapshot_wait_event(uarg);
	case IOCTL_BLKSNAP_BDEV_FILTER:
		return blksnap_filter_ctl_ioctl(uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations blksnap_ctl_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = blksnap_ctl_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice blksnap_ctl_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = BLKSNAP_CTL,
	.fops = &blksnap_ctl_fops,
};

static int __init blksnap_init(void)
{
	int ret;

	blksnap_params_validate();
	/* Without debugfs, everything works but the counts are not shown. */
	blksnap_debugfs_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	blksnap_objcount_init(blksnap_debugfs_dir);

	ret = diff_area_init();
	if (ret)
		goto fail_debugfs;
	ret = snapimage_init();
	if (ret)
		goto fail_cache;
	blksnap_wq = alloc_workqueue("blksnap", WQ_UNBOUND | WQ_MEM_RECLAIM,
				     0);
	if (!blksnap_wq) {
		ret = -ENOMEM;
		goto fail_images;
	}
	/*
	 * Copies wait for stores to make room. Under memory pressure a
	 * workqueue's rescuer takes all of its pending items and runs them
	 * one after another: a store behind a waiting copy would never run.
	 * Stores wait for nothing on blksnap_wq, so they get a rescuer of
	 * their own.
	 */
	blksnap_store_wq = alloc_workqueue("blksnap_store",
					   WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	if (!blksnap_store_wq) {
		ret = -ENOMEM;
		goto fail_wq;
	}
	/*
	 * The control device comes last: it can be opened, and carries the
	 * filter commands on the ftrace backend, as soon as it is registered,
	 * while this function still runs.
	 */
	ret = blksnap_filter_init();
	if (ret)
		goto fail_store_wq;
	ret = misc_register(&blksnap_ctl_dev);
	if (ret)
		goto fail_filter;
	pr_info("version %d.%d.%d.%d loaded\n", BLKSNAP_VERSION_MAJOR,
		BLKSNAP_VERSION_MINOR, BLKSNAP_VERSION_REVISION,
		BLKSNAP_VERSION_BUILD);
	return 0;

fail_filter:
	blksnap_filter_done();
fail_store_wq:
	destroy_workqueue(blksnap_store_wq);
fail_wq:
	destroy_workqueue(blksnap_wq);
fail_images:
	snapimage_done();
fail_cache:
	diff_area_done();
fail_debugfs:
	debugfs_remove_recursive(blksnap_debugfs_dir);
	return ret;
}

static void __exit blksnap_exit(void)
{
	misc_deregister(&blksnap_ctl_dev);
	/* No filter is attached: each attachment holds a module reference. */
	blksnap_filter_done();
	snapshot_done();
	destroy_workqueue(blksnap_store_wq);
	destroy_workqueue(blksnap_wq);
	blksnap_objcount_done();
	snapimage_done();
	diff_area_done();
	debugfs_remove_recursive(blksnap_debugfs_dir);
	pr_info("unloaded\n");
}

module_init(blksnap_init);
module_exit(blksnap_exit);

MODULE_DESCRIPTION("Block device snapshots and changed-block tracking");
MODULE_VERSION(__stringify(BLKSNAP_VERSION_MAJOR) "."
	       __stringify(BLKSNAP_VERSION_MINOR) "."
	       __stringify(BLKSNAP_VERSION_REVISION) "."
	       __stringify(BLKSNAP_VERSION_BUILD));
MODULE_AUTHOR("blksnap project");
MODULE_LICENSE("GPL");
