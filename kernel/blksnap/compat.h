/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel interfaces that changed between the kernels blksnap builds for
 * (6.1 to 6.12): one name each for the rest of the module. Kbuild defines
 * BLKSNAP_HAVE_<NAME> when the kernel compiles probes/<name>.c.
 */
#ifndef __BLKSNAP_COMPAT_H
#define __BLKSNAP_COMPAT_H

#include <linux/blkdev.h>
#include <linux/cred.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/ftrace.h>
#include <linux/mount.h>

/* Where the arch passes only the arguments, a hook still sets the IP. */
#ifdef CONFIG_HAVE_DYNAMIC_FTRACE_WITH_ARGS
#define BLKSNAP_FTRACE_OPS_FL_REGS 0
#else
#define BLKSNAP_FTRACE_OPS_FL_REGS FTRACE_OPS_FL_SAVE_REGS
#endif

/* The old name is a macro (renamed in 6.6). */
#ifdef ftrace_instruction_pointer_set
#define blksnap_ftrace_set_ip(fregs, ip) ftrace_instruction_pointer_set(fregs, ip)
#else
#define blksnap_ftrace_set_ip(fregs, ip) \
	ftrace_regs_set_instruction_pointer(fregs, ip)
#endif

/* Argument N of the hooked function (no accessor before 6.2; x86 then). */
#ifdef ftrace_regs_get_argument
#define blksnap_ftrace_get_arg(fregs, n) ftrace_regs_get_argument(fregs, n)
#else
#define blksnap_ftrace_get_arg(fregs, n) \
	regs_get_kernel_argument(&(fregs)->regs, n)
#endif

/**
 * struct blksnap_bdev_file - a block device the module holds open
 * @bdev: the device; NULL when not open.
 * @file: the open device (kernels with block device files, 6.9 on).
 * @mode: the mode it was opened with (earlier kernels).
 */
struct blksnap_bdev_file {
	struct block_device *bdev;
#ifdef BLKSNAP_HAVE_BDEV_FILE
	struct file *file;
#else
	fmode_t mode;
#endif
};

/**
 * blksnap_bdev_open() - open a block device by number
 * @bf: where to keep it.
 * @dev: the device number.
 * @write: for writing too (else read-only).
 * @holder: exclusive holder, or NULL for a shared open.
 *
 * Return: 0 or a negative error (-ENXIO: no such device).
 */
static inline int blksnap_bdev_open(struct blksnap_bdev_file *bf, dev_t dev,
				    bool write, void *holder)
{
#ifdef BLKSNAP_HAVE_BDEV_FILE
	struct file *file;

	file = bdev_file_open_by_dev(dev, BLK_OPEN_READ |
				     (write ? BLK_OPEN_WRITE : 0), holder, NULL);
	if (IS_ERR(file))
		return PTR_ERR(file);
	bf->file = file;
	bf->bdev = file_bdev(file);
#else
	struct block_device *bdev;
	fmode_t mode = FMODE_READ | (write ? FMODE_WRITE : 0) |
		       (holder ? FMODE_EXCL : 0);

	bdev = blkdev_get_by_dev(dev, mode, holder);
	if (IS_ERR(bdev))
		return PTR_ERR(bdev);
	bf->mode = mode;
	bf->bdev = bdev;
#endif
	return 0;
}

/* Close what blksnap_bdev_open() opened; nothing if it is not open. */
static inline void blksnap_bdev_close(struct blksnap_bdev_file *bf)
{
	if (!bf->bdev)
		return;
#ifdef BLKSNAP_HAVE_BDEV_FILE
	bdev_fput(bf->file);
#else
	blkdev_put(bf->bdev, bf->mode);
#endif
	bf->bdev = NULL;
}

/* Freeze the file system on a device (and write its dirty data back). */
static inline int blksnap_bdev_freeze(struct block_device *bdev)
{
#ifdef BLKSNAP_HAVE_BDEV_FREEZE
	return bdev_freeze(bdev);
#else
	return freeze_bdev(bdev);
#endif
}

static inline int blksnap_bdev_thaw(struct block_device *bdev)
{
#ifdef BLKSNAP_HAVE_BDEV_FREEZE
	return bdev_thaw(bdev);
#else
	return thaw_bdev(bdev);
#endif
}

/*
 * A bio-based disk with the block sizes, largest bio, segments and alignment
 * of @lim (the limits are passed at allocation from 6.9 on).
 * Return: the disk or an ERR_PTR().
 */
static inline struct gendisk *blksnap_alloc_disk(struct queue_limits *lim)
{
#ifdef BLKSNAP_HAVE_DISK_LIMITS
	return blk_alloc_disk(lim, NUMA_NO_NODE);
#else
	struct gendisk *disk = blk_alloc_disk(NUMA_NO_NODE);

	if (!disk)
		return ERR_PTR(-ENOMEM);
	blk_queue_logical_block_size(disk->queue, lim->logical_block_size);
	blk_queue_physical_block_size(disk->queue, lim->physical_block_size);
	blk_queue_max_hw_sectors(disk->queue, lim->max_hw_sectors);
	blk_queue_max_segments(disk->queue, lim->max_segments);
	blk_queue_max_segment_size(disk->queue, lim->max_segment_size);
	blk_queue_dma_alignment(disk->queue, lim->dma_alignment);
	return disk;
#endif
}

/* The mount's ID mapping, for permission checks (user_namespace before 6.3). */
#ifdef BLKSNAP_HAVE_MNT_IDMAP
#define blksnap_mnt_idmap(mnt) mnt_idmap(mnt)
#else
#define blksnap_mnt_idmap(mnt) mnt_user_ns(mnt)
#endif

/* An unnamed temporary file in the folder @dir (renamed in 6.5). */
static inline struct file *blksnap_tmpfile_open(const struct path *dir,
						umode_t mode, int flags)
{
#ifdef BLKSNAP_HAVE_KERNEL_TMPFILE
	return kernel_tmpfile_open(mnt_idmap(dir->mnt), dir, mode, flags,
				   current_cred());
#else
	return vfs_tmpfile_open(blksnap_mnt_idmap(dir->mnt), dir, mode, flags,
				current_cred());
#endif
}

#endif /* __BLKSNAP_COMPAT_H */
