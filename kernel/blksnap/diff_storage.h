/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __BLKSNAP_DIFF_STORAGE_H
#define __BLKSNAP_DIFF_STORAGE_H

#include <linux/errseq.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include "compat.h"

struct block_device;
struct file;
struct page;

/**
 * struct diff_storage - where the preserved chunks of a snapshot go
 * @kref: held by the snapshot and by each of its difference areas.
 * @bf: the block device, held open exclusively, when the storage is one
 *	(then @bf.bdev is set).
 * @file: otherwise, the opened regular file or unnamed temporary file.
 * @host_bdev: the block device that holds the storage (the file system's
 *	device for files), NULL if unknown. Valid while it is open.
 * @lock: protects @filled and @capacity.
 * @filled: sectors handed out so far (allocation is linear).
 * @capacity: usable sectors.
 * @limit: never grow beyond this many sectors.
 * @growable: a file that may be extended with fallocate.
 */
struct diff_storage {
	struct kref kref;
	struct blksnap_bdev_file bf;
	struct file *file;
	struct block_device *host_bdev;
	struct mutex lock; /* protects filled, capacity */
	sector_t filled;
	sector_t capacity;
	sector_t limit;
	errseq_t wb_err; /* writeback errors of the file seen at open */
	bool growable;
};

struct diff_storage *diff_storage_open(const char *name, sector_t limit);
struct diff_storage *diff_storage_get(struct diff_storage *ds);
void diff_storage_put(struct diff_storage *ds);
int diff_storage_alloc(struct diff_storage *ds, sector_t count,
		       sector_t *sector);
int diff_storage_rw(struct diff_storage *ds, bool write, sector_t sector,
		    struct page **pages, size_t offset, size_t len);
int blksnap_pages_bdev_rw(struct block_device *bdev, bool write,
			  sector_t sector, struct page **pages, size_t offset,
			  size_t len);

#endif /* __BLKSNAP_DIFF_STORAGE_H */
