// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshot images: bio-based block devices that show a device as it was at
 * the instant the snapshot was taken. Reads come from the original device,
 * from a preserved chunk in memory or from the difference storage; writes
 * land in the difference storage only.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/highmem.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/xarray.h>
#include <linux/blksnap.h>
#include "blksnap.h"
#include "compat.h"
#include "diff_area.h"
#include "objcount.h"
#include "snapimage.h"

/* Largest piece of a bio the image worker copies at once: its bounce buffer. */
#define SNAPIMAGE_BOUNCE_SECTORS 256
/* Largest bio the image accepts. */
#define SNAPIMAGE_MAX_SECTORS 8192
/* Pieces of image reads in flight (all images) that the pool guarantees. */
#define SNAPIMAGE_POOL_SIZE 64

/**
 * struct snapimage - a snapshot image disk
 * @disk: the disk.
 * @da: copy-on-write state of the original device (reference).
 * @lock: protects @bios.
 * @bios: bios and pieces of reads waiting for @work.
 * @work: processes the bios, one at a time.
 * @bounce: buffer for the data of one bio, plus two pages for alignment.
 * @inflight: pieces not completed yet.
 * @dev_id: device number of the original, key in snapimage_names.
 */
struct snapimage {
	struct gendisk *disk;
	struct diff_area *da;
	spinlock_t lock; /* protects bios */
	struct bio_list bios;
	struct work_struct work;
	struct diff_buffer *bounce;
	atomic_t inflight;
	dev_t dev_id;
};

/**
 * struct snapimage_piece - the part of an image read with one source
 * @image: the image.
 * @parent: the read it is part of.
 * @map: where its data is.
 * @iter: its range in the image, kept for a retry by the worker.
 * @bio: the clone of @parent that reads it; last: the bio set's front pad
 *	is everything before it.
 */
struct snapimage_piece {
	struct snapimage *image;
	struct bio *parent;
	struct diff_area_map map;
	struct bvec_iter iter;
	struct bio bio;
};

/*
 * Image names in use, by the original's device number. An image can
 * outlive its original (removed while the snapshot is held), and a new
 * device may then get the same number: its image must not collide.
 */
static DEFINE_XARRAY(snapimage_names);

/*
 * The pieces of every image's reads. One set for the module, not one per
 * image: destroying a bio set whose bio size nothing else uses destroys
 * its slab cache, and kmem_cache_destroy() waits for every kfree_rcu() in
 * flight in the system; each take would also start a rescuer thread.
 */
static struct bio_set snapimage_pieces;

static void snapimage_bio_copy(struct bio *bio, struct bvec_iter *iter,
			       struct diff_buffer *buf, size_t offset,
			       size_t len, bool to_bio)
{
	while (len) {
		struct bio_vec bv = bio_iter_iovec(bio, *iter);
		size_t l = min_t(size_t, len, bv.bv_len);
		void *p = bvec_kmap_local(&bv);

		diff_buffer_copy(buf, offset, p, l, !to_bio);
		kunmap_local(p);
		bio_advance_iter_single(bio, iter, l);
		offset += l;
		len -= l;
	}
}

static blk_status_t snapimage_rw(struct snapimage *image, struct bio *bio)
{
	struct diff_area *da = image->da;
	bool write = op_is_write(bio_op(bio));
	struct bvec_iter iter = bio->bi_iter;
	sector_t sector = iter.bi_sector;
	unsigned int left = bio_sectors(bio);
	size_t offset;
	int ret;

	while (left) {
		sector_t chunk_end = ((sector >> da->chunk_shift) + 1) <<
				     da->chunk_shift;
		unsigned int n = min_t(sector_t, left, chunk_end - sector);

		n = min_t(unsigned int, n, SNAPIMAGE_BOUNCE_SECTORS);
		if (write) {
			snapimage_bio_copy(bio, &iter, image->bounce, 0,
					   n << SECTOR_SHIFT, false);
			ret = diff_area_image_write(da, sector, n,
						    image->bounce);
		} else {
			ret = diff_area_image_read(da, sector, n,
						   image->bounce, &offset);
			if (!ret)
				snapimage_bio_copy(bio, &iter, image->bounce,
						   offset, n << SECTOR_SHIFT,
						   true);
		}
		if (ret)
			return BLK_STS_IOERR;
		sector += n;
		left -= n;
		cond_resched();
	}
	return BLK_STS_OK;
}

static void snapimage_work(struct work_struct *work)
{
	struct snapimage *image = container_of(work, struct snapimage, work);
	unsigned int noio = memalloc_noio_save();
	struct bio *bio;

	for (;;) {
		blk_status_t status;

		spin_lock_irq(&image->lock);
		bio = bio_list_pop(&image->bios);
		spin_unlock_irq(&image->lock);
		if (!bio)
			break;

		switch (bio_op(bio)) {
		case REQ_OP_READ:
		case REQ_OP_WRITE:
			status = snapimage_rw(image, bio);
			break;
		case REQ_OP_FLUSH:
			status = READ_ONCE(image->da->error) ? BLK_STS_IOERR :
							       BLK_STS_OK;
			break;
		default:
			status = BLK_STS_NOTSUPP;
			break;
		}
		/*
		 * Only ever set an error: the front part of a split bio may
		 * have failed already and left its error here (bio_chain()).
		 */
		if (status)
			bio->bi_status = status;
		bio_endio(bio);
	}
	memalloc_noio_restore(noio);
}

static void snapimage_queue(struct snapimage *image, struct bio *bio)
{
	unsigned long flags;

	spin_lock_irqsave(&image->lock, flags);
	bio_list_add(&image->bios, bio);
	spin_unlock_irqrestore(&image->lock, flags);
	queue_work(blksnap_wq, &image->work);
}

static void snapimage_piece_endio(struct bio *bio)
{
	struct snapimage_piece *piece = container_of(bio, struct snapimage_piece,
						     bio);
	struct snapimage *image = piece->image;
	struct bio *parent = piece->parent;
	blk_status_t status = bio->bi_status;

	if (piece->map.source == DIFF_AREA_ORIGINAL)
		diff_area_original_read_done(image->da, piece->iter.bi_sector,
					     piece->map.count);
	/*
	 * The worker reads a failed piece of the storage again: it has the
	 * context to mark the snapshot corrupted if the data is lost.
	 */
	if (status && piece->map.source == DIFF_AREA_STORE) {
		piece->map.source = DIFF_AREA_COPY;
		bio->bi_iter = piece->iter;
		bio->bi_status = BLK_STS_OK;
		snapimage_queue(image, bio);
		return;
	}
	/* Data read before the snapshot broke is not trusted either. */
	if (!status && READ_ONCE(image->da->error))
		status = BLK_STS_IOERR;
	if (status)
		parent->bi_status = status;
	bio_put(bio);
	bio_endio(parent);
	if (atomic_dec_and_test(&image->inflight))
		wake_up_var(&image->inflight);
}

/*
 * A read: one piece per source, cloned from the bio. Pieces on the
 * original or on the storage device go there straight away, at any queue
 * depth; the rest waits for the worker.
 */
static void snapimage_read(struct snapimage *image, struct bio *bio)
{
	sector_t sector = bio->bi_iter.bi_sector;
	sector_t done = 0, size = bio_sectors(bio);
	struct snapimage_piece *piece;
	struct diff_area_map map;
	struct bio *clone;

	while (done < size) {
		if (diff_area_image_map(image->da, sector + done, size - done,
					&map)) {
			bio->bi_status = BLK_STS_IOERR;
			break;
		}
		clone = bio_alloc_clone(map.source == DIFF_AREA_COPY ?
					bio->bi_bdev : map.bdev,
					bio, GFP_NOIO, &snapimage_pieces);
		bio_trim(clone, done, map.count);
		piece = container_of(clone, struct snapimage_piece, bio);
		piece->image = image;
		piece->parent = bio;
		piece->map = map;
		piece->iter = clone->bi_iter;
		clone->bi_end_io = snapimage_piece_endio;
		atomic_inc(&image->inflight);
		bio_inc_remaining(bio);
		if (map.source == DIFF_AREA_COPY) {
			snapimage_queue(image, clone);
		} else {
			clone->bi_iter.bi_sector = map.sector;
			submit_bio_noacct(clone);
		}
		done += map.count;
	}
	bio_endio(bio);
}

static void snapimage_submit_bio(struct bio *bio)
{
	struct snapimage *image = bio->bi_bdev->bd_disk->private_data;

	bio = bio_split_to_limits(bio);
	if (!bio)
		return;
	if (bio_op(bio) == REQ_OP_READ && bio_sectors(bio))
		snapimage_read(image, bio);
	else
		snapimage_queue(image, bio);
}

static const struct block_device_operations snapimage_fops = {
	.owner = THIS_MODULE,
	.submit_bio = snapimage_submit_bio,
};

/**
 * snapimage_create() - create the image disk of a device
 * @da: copy-on-write state of the device, just taken.
 *
 * The disk is named blksnap-image_<major>:<minor> after the original, and
 * has its capacity (at the take) and logical and physical block sizes.
 *
 * Return: the image or an ERR_PTR(); -EBUSY while an image of an earlier
 * device with the same number still exists.
 */
struct snapimage *snapimage_create(struct diff_area *da)
{
	struct block_device *bdev = da->bdev;
	struct queue_limits lim = {
		.logical_block_size = bdev_logical_block_size(bdev),
		.physical_block_size = bdev_physical_block_size(bdev),
		.max_hw_sectors = SNAPIMAGE_MAX_SECTORS,
		.max_segments = USHRT_MAX,
		.max_segment_size = UINT_MAX,
		/* What the original needs: reads go to it as they are. */
		.dma_alignment = bdev_dma_alignment(bdev),
	};
	struct snapimage *image;
	struct gendisk *disk;
	int ret;

	image = kzalloc(sizeof(*image), GFP_KERNEL);
	if (!image)
		return ERR_PTR(-ENOMEM);
	image->dev_id = da->bdev->bd_dev;
	ret = xa_insert(&snapimage_names, image->dev_id, image, GFP_KERNEL);
	if (ret) {
		kfree(image);
		return ERR_PTR(ret);
	}
	spin_lock_init(&image->lock);
	bio_list_init(&image->bios);
	INIT_WORK(&image->work, snapimage_work);
	atomic_set(&image->inflight, 0);
	image->bounce = diff_buffer_alloc((SNAPIMAGE_BOUNCE_SECTORS <<
					   SECTOR_SHIFT) + 2 * PAGE_SIZE);
	if (!image->bounce) {
		ret = -ENOMEM;
		goto fail;
	}
	disk = blksnap_alloc_disk(&lim);
	if (IS_ERR(disk)) {
		ret = PTR_ERR(disk);
		goto fail_bounce;
	}
	disk->fops = &snapimage_fops;
	disk->private_data = image;
	disk->flags |= GENHD_FL_NO_PART;
	snprintf(disk->disk_name, DISK_NAME_LEN, "%s_%u:%u",
		 BLKSNAP_IMAGE_NAME, MAJOR(da->bdev->bd_dev),
		 MINOR(da->bdev->bd_dev));
	set_capacity(disk, da->capacity);
	image->disk = disk;
	image->da = diff_area_get(da);

	ret = add_disk(disk);
	if (ret) {
		diff_area_put(image->da);
		put_disk(disk);
		goto fail_bounce;
	}
	blksnap_obj_add(BLKSNAP_OBJ_IMAGE, 1);
	return image;

fail_bounce:
	diff_buffer_free(image->bounce);
fail:
	xa_erase(&snapimage_names, image->dev_id);
	kfree(image);
	return ERR_PTR(ret);
}

/**
 * snapimage_destroy() - remove an image disk
 * @image: the image.
 *
 * Works while the disk is open or mounted: once it is deleted no new bio
 * reaches the driver, and those already queued are completed here.
 */
void snapimage_destroy(struct snapimage *image)
{
	del_gendisk(image->disk);
	xa_erase(&snapimage_names, image->dev_id);
	/* Pieces still reading; a failed one may still queue the work. */
	wait_var_event(&image->inflight, !atomic_read(&image->inflight));
	flush_work(&image->work);
	put_disk(image->disk);
	diff_area_put(image->da);
	diff_buffer_free(image->bounce);
	kfree(image);
	blksnap_obj_sub(BLKSNAP_OBJ_IMAGE, 1);
}

/**
 * snapimage_is_image() - whether a device is a snapshot image of this module
 * @bdev: the device.
 *
 * Return: true for an image disk.
 */
bool snapimage_is_image(struct block_device *bdev)
{
	return bdev->bd_disk->fops == &snapimage_fops;
}

/**
 * snapimage_name() - name of an image disk
 * @image: the image.
 *
 * Return: the name.
 */
const char *snapimage_name(struct snapimage *image)
{
	return image->disk->disk_name;
}

/**
 * snapimage_init() - set up what every image shares (module load)
 *
 * Return: 0 or -ENOMEM.
 */
int snapimage_init(void)
{
	/* The rescuer: pieces are allocated inside submit_bio(). */
	return bioset_init(&snapimage_pieces, SNAPIMAGE_POOL_SIZE,
			   offsetof(struct snapimage_piece, bio),
			   BIOSET_NEED_RESCUER);
}

/**
 * snapimage_done() - release what every image shares (module unload)
 *
 * Called once no image is left: each one waits for its pieces when it is
 * destroyed.
 */
void snapimage_done(void)
{
	bioset_exit(&snapimage_pieces);
}
