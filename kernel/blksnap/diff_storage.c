// SPDX-License-Identifier: GPL-2.0
/*
 * Difference storage: a block device, a regular file or an unnamed
 * temporary file that receives the preserved chunks of a snapshot.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/falloc.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/namei.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include "blksnap.h"
#include "diff_storage.h"

static struct file *diff_storage_open_file(const char *name, int flags)
{
	struct file *file;

	file = filp_open(name, flags | O_DIRECT, 0600);
	/* Some file systems (tmpfs of old) have no direct I/O. */
	if (IS_ERR(file) && PTR_ERR(file) == -EINVAL)
		file = filp_open(name, flags, 0600);
	return file;
}

static struct block_device *diff_storage_host_bdev(struct file *file)
{
	return file_inode(file)->i_sb->s_bdev;
}

/**
 * diff_storage_open() - open the difference storage of a new snapshot
 * @name: path of a block device, a regular file or a directory.
 * @limit: the storage never grows beyond this many sectors.
 *
 * A block device is opened exclusively and used whole (up to @limit when
 * @limit is not 0). A regular file must not be open for writing by anyone
 * else; it is used from its current size on and grows up to @limit. In a
 * directory an unnamed temporary file is created, which nobody else can
 * open and which vanishes with the snapshot; it needs a non-zero @limit.
 *
 * Return: the storage or an ERR_PTR(): -EINVAL for any other kind of file.
 */
struct diff_storage *diff_storage_open(const char *name, sector_t limit)
{
	struct diff_storage *ds;
	struct path path;
	struct inode *inode;
	umode_t mode;
	dev_t rdev;
	int ret;

	ret = kern_path(name, LOOKUP_FOLLOW, &path);
	if (ret)
		return ERR_PTR(ret);
	mode = d_inode(path.dentry)->i_mode;
	rdev = d_inode(path.dentry)->i_rdev;
	path_put(&path);

	ds = kzalloc(sizeof(*ds), GFP_KERNEL);
	if (!ds)
		return ERR_PTR(-ENOMEM);
	kref_init(&ds->kref);
	mutex_init(&ds->lock);

	if (S_ISBLK(mode)) {
		ds->file = bdev_file_open_by_dev(rdev,
						 BLK_OPEN_READ | BLK_OPEN_WRITE,
						 ds, NULL);
		if (IS_ERR(ds->file)) {
			ret = PTR_ERR(ds->file);
			goto fail;
		}
		ds->bdev = file_bdev(ds->file);
		ds->host_bdev = ds->bdev;
		ds->capacity = bdev_nr_sectors(ds->bdev);
		if (limit && limit < ds->capacity)
			ds->capacity = limit;
		ds->limit = ds->capacity;
	} else if (S_ISREG(mode)) {
		ds->file = diff_storage_open_file(name, O_RDWR | O_LARGEFILE);
		if (IS_ERR(ds->file)) {
			ret = PTR_ERR(ds->file);
			goto fail;
		}
		inode = file_inode(ds->file);
		if (!S_ISREG(inode->i_mode)) {
			ret = -EINVAL;
			goto fail_file;
		}
		/* Exclusive: nobody else may have it open for writing. */
		if (atomic_read(&inode->i_writecount) != 1) {
			ret = -EBUSY;
			goto fail_file;
		}
		ds->host_bdev = diff_storage_host_bdev(ds->file);
		ds->wb_err = filemap_sample_wb_err(ds->file->f_mapping);
		ds->capacity = round_down(i_size_read(inode), PAGE_SIZE) >>
			       SECTOR_SHIFT;
		if (limit && limit < ds->capacity)
			ds->capacity = limit;
		ds->limit = max(limit, ds->capacity);
		ds->growable = true;
	} else if (S_ISDIR(mode)) {
		if (!limit) {
			ret = -EINVAL;
			goto fail;
		}
		ds->file = diff_storage_open_file(name, O_RDWR | O_LARGEFILE |
						  O_TMPFILE | O_EXCL);
		if (IS_ERR(ds->file)) {
			ret = PTR_ERR(ds->file);
			goto fail;
		}
		ds->host_bdev = diff_storage_host_bdev(ds->file);
		ds->wb_err = filemap_sample_wb_err(ds->file->f_mapping);
		ds->limit = limit;
		ds->growable = true;
	} else {
		ret = -EINVAL;
		goto fail;
	}
	return ds;

fail_file:
	fput(ds->file);
fail:
	kfree(ds);
	return ERR_PTR(ret);
}

static void diff_storage_release(struct kref *kref)
{
	struct diff_storage *ds = container_of(kref, struct diff_storage, kref);

	if (ds->bdev)
		bdev_fput(ds->file);
	else
		fput(ds->file);
	mutex_destroy(&ds->lock);
	kfree(ds);
}

/**
 * diff_storage_put() - drop a reference to a difference storage
 * @ds: the storage.
 */
void diff_storage_put(struct diff_storage *ds)
{
	kref_put(&ds->kref, diff_storage_release);
}

/**
 * diff_storage_alloc() - reserve space for a chunk
 * @ds: the storage.
 * @count: sectors needed (a multiple of the page size).
 * @sector: out: first reserved sector.
 *
 * Files are extended with fallocate when the free space falls to half of
 * diff_storage_minimum, by at least diff_storage_minimum sectors, never
 * beyond the limit. May sleep; call from a worker in a memalloc_noio scope.
 *
 * Return: 0, -ENOSPC when the storage is full, or the error that kept it
 * from growing.
 */
int diff_storage_alloc(struct diff_storage *ds, sector_t count,
		       sector_t *sector)
{
	sector_t free, grow, new_capacity;
	int ret = 0;

	mutex_lock(&ds->lock);
	free = ds->capacity - ds->filled;
	if (ds->growable && ds->capacity < ds->limit &&
	    (free < count || free - count < diff_storage_minimum / 2)) {
		grow = max_t(sector_t, diff_storage_minimum, count);
		new_capacity = ds->capacity + min(grow,
						  ds->limit - ds->capacity);
		ret = vfs_fallocate(ds->file, 0,
				    (loff_t)ds->capacity << SECTOR_SHIFT,
				    (loff_t)(new_capacity - ds->capacity)
					    << SECTOR_SHIFT);
		if (ret) {
			pr_warn("cannot extend the difference storage to %llu sectors: %d\n",
				(unsigned long long)new_capacity, ret);
		} else {
			ds->capacity = new_capacity;
			free = ds->capacity - ds->filled;
		}
	}
	if (free < count) {
		if (!ret || ret == -EFBIG)
			ret = -ENOSPC;
	} else {
		*sector = ds->filled;
		ds->filled += count;
		ret = 0;
	}
	mutex_unlock(&ds->lock);
	return ret;
}

/**
 * blksnap_pages_bdev_rw() - synchronous I/O between pages and a device
 * @bdev: the device.
 * @write: write to the device, otherwise read from it.
 * @sector: first sector on the device.
 * @pages: the buffer's pages.
 * @offset: byte offset in the buffer (multiple of the sector size).
 * @len: bytes to transfer (multiple of the sector size).
 *
 * Return: 0 or a negative error.
 */
int blksnap_pages_bdev_rw(struct block_device *bdev, bool write,
			  sector_t sector, struct page **pages, size_t offset,
			  size_t len)
{
	struct bio *bio;
	unsigned int nr;
	size_t done;
	int ret;

	while (len) {
		nr = min_t(size_t, BIO_MAX_VECS,
			   DIV_ROUND_UP(offset_in_page(offset) + len,
					PAGE_SIZE));
		bio = bio_alloc(bdev, nr, write ? REQ_OP_WRITE : REQ_OP_READ,
				GFP_NOIO);
		bio->bi_iter.bi_sector = sector;
		done = 0;
		while (len) {
			size_t poff = offset_in_page(offset);
			size_t l = min_t(size_t, PAGE_SIZE - poff, len);

			if (bio_add_page(bio, pages[offset >> PAGE_SHIFT], l,
					 poff) != l)
				break;
			offset += l;
			len -= l;
			done += l;
		}
		if (!done) {
			bio_put(bio);
			return -EIO;
		}
		ret = submit_bio_wait(bio);
		bio_put(bio);
		if (ret)
			return ret;
		sector += done >> SECTOR_SHIFT;
	}
	return 0;
}

static int diff_storage_file_rw(struct file *file, bool write, loff_t pos,
				struct page **pages, size_t offset, size_t len)
{
	unsigned int nr, i;
	struct bio_vec *bv;
	struct iov_iter iter;
	size_t left = len;
	ssize_t ret;

	nr = DIV_ROUND_UP(offset_in_page(offset) + len, PAGE_SIZE);
	bv = kvmalloc_array(nr, sizeof(*bv), GFP_KERNEL);
	if (!bv)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		size_t poff = offset_in_page(offset);
		size_t l = min_t(size_t, PAGE_SIZE - poff, left);

		bvec_set_page(&bv[i], pages[offset >> PAGE_SHIFT], l, poff);
		offset += l;
		left -= l;
	}
	iov_iter_bvec(&iter, write ? ITER_SOURCE : ITER_DEST, bv, nr, len);
	if (write)
		ret = vfs_iter_write(file, &iter, &pos, 0);
	else
		ret = vfs_iter_read(file, &iter, &pos, 0);
	kvfree(bv);
	if (ret < 0)
		return ret;
	return ret == len ? 0 : -EIO;
}

/**
 * diff_storage_rw() - synchronous I/O on the difference storage
 * @ds: the storage.
 * @write: write to the storage, otherwise read from it.
 * @sector: first sector in the storage.
 * @pages: the buffer's pages.
 * @offset: byte offset in the buffer (multiple of the sector size).
 * @len: bytes to transfer (multiple of the sector size).
 *
 * Call from a worker in a memalloc_noio scope.
 *
 * Return: 0 or a negative error.
 */
int diff_storage_rw(struct diff_storage *ds, bool write, sector_t sector,
		    struct page **pages, size_t offset, size_t len)
{
	int ret;

	if (ds->bdev)
		return blksnap_pages_bdev_rw(ds->bdev, write, sector, pages,
					     offset, len);
	ret = diff_storage_file_rw(ds->file, write,
				   (loff_t)sector << SECTOR_SHIFT, pages, offset,
				   len);
	/*
	 * Stores are buffered: a failed writeback only shows in the mapping,
	 * and once the page is evicted a read returns whatever the blocks
	 * held before. Any writeback error since open fails the storage.
	 */
	return ret ?: filemap_check_wb_err(ds->file->f_mapping, ds->wb_err);
}
