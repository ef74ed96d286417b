// SPDX-License-Identifier: GPL-2.0
/*
 * Difference storage: a block device, a regular file or an unnamed
 * temporary file that receives the preserved chunks of a snapshot.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bio.h>
#include <linux/cred.h>
#include <linux/blkdev.h>
#include <linux/falloc.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mount.h>
#include <linux/namei.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include "blksnap.h"
#include "diff_storage.h"
#include "objcount.h"

/*
 * Open with direct I/O where the file system has it (stores then bypass
 * the page cache), otherwise buffered: @open is called once or twice.
 */
static struct file *diff_storage_open_direct(struct file *(*open)(const struct path *, int),
					     const struct path *path, int flags)
{
	struct file *file;

	file = open(path, flags | O_DIRECT);
	if (IS_ERR(file) && PTR_ERR(file) == -EINVAL)
		file = open(path, flags);
	return file;
}

static struct file *diff_storage_dentry_open(const struct path *path,
					     int flags)
{
	return dentry_open(path, flags, current_cred());
}

static struct file *diff_storage_tmpfile_open(const struct path *path,
					      int flags)
{
	/* A regular file: the type is part of the mode, as open(2) adds it. */
	return blksnap_tmpfile_open(path, S_IFREG | 0600, flags);
}

static struct block_device *diff_storage_host_bdev(struct file *file)
{
	return file_inode(file)->i_sb->s_bdev;
}

/* A block device, opened exclusively and used whole (up to @limit). */
static int diff_storage_open_bdev(struct diff_storage *ds, dev_t dev,
				  sector_t limit)
{
	int ret = blksnap_bdev_open(&ds->bf, dev, true, ds);

	if (ret)
		return ret;
	ds->host_bdev = ds->bf.bdev;
	ds->capacity = bdev_nr_sectors(ds->bf.bdev);
	if (limit && limit < ds->capacity)
		ds->capacity = limit;
	ds->limit = ds->capacity;
	return 0;
}

/*
 * A regular file nobody else has open for writing, used from its current
 * size on and grown up to @limit. The permission checks are those of an
 * open for reading and writing at any offset.
 */
static int diff_storage_open_regular(struct diff_storage *ds,
				     const struct path *path, sector_t limit)
{
	struct inode *inode = d_inode(path->dentry);
	int ret;

	ret = inode_permission(blksnap_mnt_idmap(path->mnt), inode,
			       MAY_READ | MAY_WRITE);
	if (ret)
		return ret;
	if (IS_APPEND(inode))
		return -EPERM;
	ds->file = diff_storage_open_direct(diff_storage_dentry_open, path,
					    O_RDWR | O_LARGEFILE);
	if (IS_ERR(ds->file))
		return PTR_ERR(ds->file);
	if (atomic_read(&inode->i_writecount) != 1) {
		fput(ds->file);
		return -EBUSY;
	}
	ds->host_bdev = diff_storage_host_bdev(ds->file);
	ds->wb_err = filemap_sample_wb_err(ds->file->f_mapping);
	ds->capacity = round_down(i_size_read(inode), PAGE_SIZE) >>
		       SECTOR_SHIFT;
	if (limit && limit < ds->capacity)
		ds->capacity = limit;
	ds->limit = max(limit, ds->capacity);
	ds->growable = true;
	return 0;
}

/*
 * An unnamed temporary file in a directory: nobody else can open it and it
 * vanishes with the snapshot. It starts empty, so it needs a @limit.
 */
static int diff_storage_open_tmpfile(struct diff_storage *ds,
				     const struct path *dir, sector_t limit)
{
	int ret;

	if (!limit)
		return -EINVAL;
	ret = mnt_want_write(dir->mnt);
	if (ret)
		return ret;
	ds->file = diff_storage_open_direct(diff_storage_tmpfile_open, dir,
					    O_RDWR | O_LARGEFILE | O_EXCL);
	mnt_drop_write(dir->mnt);
	if (IS_ERR(ds->file))
		return PTR_ERR(ds->file);
	ds->host_bdev = diff_storage_host_bdev(ds->file);
	ds->wb_err = filemap_sample_wb_err(ds->file->f_mapping);
	ds->limit = limit;
	ds->growable = true;
	return 0;
}

/**
 * diff_storage_open() - open the difference storage of a new snapshot
 * @name: path of a block device, a regular file or a directory.
 * @limit: the storage never grows beyond this many sectors.
 *
 * The name is looked up once, and what it names is opened: a block device
 * exclusively, used whole (up to @limit when @limit is not 0); a regular
 * file that nobody else has open for writing, used from its current size
 * on and grown up to @limit; in a directory, an unnamed temporary file,
 * which needs a non-zero @limit.
 *
 * Return: the storage or an ERR_PTR(): -EINVAL for any other kind of file.
 */
struct diff_storage *diff_storage_open(const char *name, sector_t limit)
{
	struct diff_storage *ds;
	struct inode *inode;
	struct path path;
	int ret;

	ret = kern_path(name, LOOKUP_FOLLOW, &path);
	if (ret)
		return ERR_PTR(ret);
	ds = kzalloc(sizeof(*ds), GFP_KERNEL);
	if (!ds) {
		ret = -ENOMEM;
		goto out_path;
	}
	kref_init(&ds->kref);
	mutex_init(&ds->lock);

	inode = d_inode(path.dentry);
	if (S_ISBLK(inode->i_mode))
		ret = diff_storage_open_bdev(ds, inode->i_rdev, limit);
	else if (S_ISREG(inode->i_mode))
		ret = diff_storage_open_regular(ds, &path, limit);
	else if (S_ISDIR(inode->i_mode))
		ret = diff_storage_open_tmpfile(ds, &path, limit);
	else
		ret = -EINVAL;
	if (ret)
		goto out_free;
	blksnap_obj_add(BLKSNAP_OBJ_DIFF_STORAGE, 1);
	path_put(&path);
	return ds;

out_free:
	mutex_destroy(&ds->lock);
	kfree(ds);
out_path:
	path_put(&path);
	return ERR_PTR(ret);
}

static void diff_storage_release(struct kref *kref)
{
	struct diff_storage *ds = container_of(kref, struct diff_storage, kref);

	if (ds->bf.bdev)
		blksnap_bdev_close(&ds->bf);
	else
		fput(ds->file);
	mutex_destroy(&ds->lock);
	kfree(ds);
	blksnap_obj_sub(BLKSNAP_OBJ_DIFF_STORAGE, 1);
}

/**
 * diff_storage_get() - take a reference to a difference storage
 * @ds: the storage.
 *
 * Return: @ds.
 */
struct diff_storage *diff_storage_get(struct diff_storage *ds)
{
	kref_get(&ds->kref);
	return ds;
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

	if (ds->bf.bdev)
		return blksnap_pages_bdev_rw(ds->bf.bdev, write, sector, pages,
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
