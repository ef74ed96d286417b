/* SPDX-License-Identifier: GPL-2.0 */
/*
 * blksnap: definitions shared by every part of the module.
 */
#ifndef __BLKSNAP_H
#define __BLKSNAP_H

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/types.h>
#include <linux/workqueue.h>

struct dentry;

#define BLKSNAP_VERSION_MAJOR		2
#define BLKSNAP_VERSION_MINOR		0
#define BLKSNAP_VERSION_REVISION	0
#define BLKSNAP_VERSION_BUILD		0

/* Module parameters, validated once at load time (see main.c). */
extern unsigned int tracking_block_minimum_shift;
extern unsigned int tracking_block_maximum_count;
extern unsigned int tracking_block_maximum_shift;
extern unsigned int chunk_minimum_shift;
extern unsigned int chunk_maximum_count_shift;
extern unsigned int chunk_maximum_shift;
extern unsigned int chunk_maximum_in_queue;
extern unsigned int free_diff_buffer_pool_size;
extern unsigned long diff_storage_minimum;

/* Work queue of the module's deferred jobs (I/O path: reclaim-safe)... */
extern struct workqueue_struct *blksnap_wq;
/* ...but the stores of preserved chunks, which the others may wait for. */
extern struct workqueue_struct *blksnap_store_wq;
/* The module's debugfs folder (an error pointer without debugfs). */
extern struct dentry *blksnap_debugfs_dir;

/**
 * blksnap_block_shift() - size a device's blocks (CBT blocks, chunks)
 * @capacity: device capacity in sectors.
 * @shift: log2 of the smallest block size in bytes (at least SECTOR_SHIFT).
 * @max_shift: log2 of the largest block size in bytes (at most 31).
 * @max_count: most blocks wanted.
 *
 * Return: the smallest shift from @shift on such that the device has at
 * most @max_count blocks, but never more than @max_shift (then the device
 * may have more blocks).
 */
static inline unsigned int blksnap_block_shift(sector_t capacity,
					       unsigned int shift,
					       unsigned int max_shift,
					       u64 max_count)
{
	while (shift < max_shift &&
	       DIV_ROUND_UP_SECTOR_T(capacity, 1u << (shift - SECTOR_SHIFT)) >
		       max_count)
		shift++;
	return shift;
}

/**
 * blksnap_bio_sector() - first sector of a filtered bio relative to its device
 * @bio: a bio as the filter sees it.
 *
 * A bio submitted to a partition is remapped to the whole disk once
 * (BIO_REMAPPED): the kernel's filter framework sees it after that, the
 * module's own hook before it (and after it, for the rest of a split bio).
 * Map it back to the partition either way.
 *
 * Return: the sector.
 */
static inline sector_t blksnap_bio_sector(struct bio *bio)
{
	if (!bio_flagged(bio, BIO_REMAPPED))
		return bio->bi_iter.bi_sector;
	return bio->bi_iter.bi_sector - bio->bi_bdev->bd_start_sect;
}

#endif /* __BLKSNAP_H */
