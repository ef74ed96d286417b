// SPDX-License-Identifier: GPL-2.0
/*
 * Copy-on-write of one device of a taken snapshot.
 *
 * The device is split into chunks. A write to the original that touches a
 * chunk whose old data is not preserved yet is held and handed to a
 * copy-on-write worker, which reads the chunk's old data into memory
 * (waiting for the read to complete), queues it for storing and only then
 * lets the write go on. Store workers write loaded chunks to the difference
 * storage. Several workers of each kind keep several copies and stores in
 * flight: a device that serves many requests at once is not left at one.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/highmem.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include "blksnap.h"
#include "cbt_map.h"
#include "diff_area.h"
#include "diff_storage.h"
#include "event_queue.h"
#include "filter.h"
#include "objcount.h"
#include "tracker.h"

/**
 * diff_buffer_alloc() - allocate a buffer of pages
 * @size: bytes; rounded up to whole pages.
 *
 * Return: the buffer or NULL.
 */
struct diff_buffer *diff_buffer_alloc(size_t size)
{
	unsigned int i, nr = DIV_ROUND_UP(size, PAGE_SIZE);
	struct diff_buffer *buf;

	buf = kzalloc(struct_size(buf, pages, nr), GFP_KERNEL);
	if (!buf)
		return NULL;
	blksnap_obj_add(BLKSNAP_OBJ_DIFF_BUFFER, 1);
	INIT_LIST_HEAD(&buf->link);
	buf->nr_pages = nr;
	for (i = 0; i < nr; i++) {
		buf->pages[i] = alloc_page(GFP_KERNEL);
		if (!buf->pages[i]) {
			diff_buffer_free(buf);
			return NULL;
		}
		blksnap_obj_add(BLKSNAP_OBJ_BUFFER_PAGE, 1);
	}
	return buf;
}

/**
 * diff_buffer_free() - free a buffer
 * @buf: the buffer, or NULL.
 */
void diff_buffer_free(struct diff_buffer *buf)
{
	unsigned int i;

	if (!buf)
		return;
	for (i = 0; i < buf->nr_pages; i++) {
		if (!buf->pages[i])
			break;
		__free_page(buf->pages[i]);
		blksnap_obj_sub(BLKSNAP_OBJ_BUFFER_PAGE, 1);
	}
	kfree(buf);
	blksnap_obj_sub(BLKSNAP_OBJ_DIFF_BUFFER, 1);
}

/**
 * diff_buffer_copy() - copy between a buffer and linear memory
 * @buf: the buffer.
 * @offset: byte offset in the buffer.
 * @ptr: linear memory.
 * @len: bytes to copy; @offset + @len must lie inside the buffer.
 * @to_buf: copy from @ptr into the buffer, otherwise the other way.
 */
void diff_buffer_copy(struct diff_buffer *buf, size_t offset, void *ptr,
		      size_t len, bool to_buf)
{
	while (len) {
		size_t poff = offset_in_page(offset);
		size_t l = min_t(size_t, PAGE_SIZE - poff, len);
		struct page *page = buf->pages[offset >> PAGE_SHIFT];

		if (to_buf)
			memcpy_to_page(page, poff, ptr, l);
		else
			memcpy_from_page(ptr, page, poff, l);
		offset += l;
		ptr += l;
		len -= l;
	}
}

/* Copy @len bytes from @src at @soff to @dst at @doff, page by page. */
static void diff_buffer_copy_buffer(struct diff_buffer *dst, size_t doff,
				    struct diff_buffer *src, size_t soff,
				    size_t len)
{
	while (len) {
		size_t poff = offset_in_page(soff);
		size_t l = min_t(size_t, PAGE_SIZE - poff, len);
		struct page *page = src->pages[soff >> PAGE_SHIFT];

		diff_buffer_copy(dst, doff, page_address(page) + poff, l, true);
		doff += l;
		soff += l;
		len -= l;
	}
}

static size_t chunk_buffer_size(struct diff_area *da)
{
	return (size_t)1 << (da->chunk_shift + SECTOR_SHIFT);
}

static struct diff_buffer *diff_area_buffer_get(struct diff_area *da)
{
	struct diff_buffer *buf;

	spin_lock(&da->pool_lock);
	buf = list_first_entry_or_null(&da->pool, struct diff_buffer, link);
	if (buf) {
		list_del_init(&buf->link);
		da->pool_count--;
	}
	spin_unlock(&da->pool_lock);
	if (!buf)
		buf = diff_buffer_alloc(chunk_buffer_size(da));
	return buf;
}

static void diff_area_buffer_put(struct diff_area *da, struct diff_buffer *buf)
{
	spin_lock(&da->pool_lock);
	if (da->pool_count < free_diff_buffer_pool_size) {
		list_add(&buf->link, &da->pool);
		da->pool_count++;
		buf = NULL;
	}
	spin_unlock(&da->pool_lock);
	diff_buffer_free(buf);
}

static sector_t chunk_first_sector(struct diff_area *da, unsigned long idx)
{
	return (sector_t)idx << da->chunk_shift;
}

/* Sectors of data in the chunk: the last chunk may be short. */
static sector_t chunk_sectors(struct diff_area *da, unsigned long idx)
{
	sector_t first = chunk_first_sector(da, idx);

	return min_t(sector_t, 1ull << da->chunk_shift, da->capacity - first);
}

/* Sectors the chunk takes in the difference storage: whole pages. */
static sector_t chunk_stored_sectors(struct diff_area *da, unsigned long idx)
{
	return round_up(chunk_sectors(da, idx), PAGE_SIZE >> SECTOR_SHIFT);
}

static struct mutex *chunk_lock(struct diff_area *da, struct chunk *chunk)
{
	return &da->chunk_locks[chunk->index & (DIFF_AREA_CHUNK_LOCKS - 1)];
}

/* Chunk descriptors: one per changed chunk, the most numerous object. */
static struct kmem_cache *chunk_cache;

static struct chunk *chunk_alloc(unsigned long idx)
{
	struct chunk *chunk;

	chunk = kmem_cache_zalloc(chunk_cache, GFP_KERNEL);
	if (!chunk)
		return NULL;
	blksnap_obj_add(BLKSNAP_OBJ_CHUNK, 1);
	chunk->index = idx;
	chunk->state = CHUNK_NEW;
	return chunk;
}

static void chunk_free(struct chunk *chunk)
{
	if (chunk->state == CHUNK_LOADED)
		diff_buffer_free(chunk->buf);
	kmem_cache_free(chunk_cache, chunk);
	blksnap_obj_sub(BLKSNAP_OBJ_CHUNK, 1);
}

/* The bit of a chunk in its page of &diff_area.released. */
#define DIFF_AREA_RELEASED_BIT(idx) \
	((idx) & ((1ul << DIFF_AREA_RELEASED_SHIFT) - 1))

static unsigned long diff_area_released_pages(struct diff_area *da)
{
	return DIV_ROUND_UP(da->chunk_count, 1ul << DIFF_AREA_RELEASED_SHIFT);
}

static void diff_area_released_free(struct diff_area *da)
{
	unsigned long i;

	for (i = 0; i < diff_area_released_pages(da); i++)
		free_page((unsigned long)da->released[i]);
	kvfree(da->released);
}

/*
 * Writes into the chunk may pass straight through: set its bit, allocating
 * its page of bits first if none of its neighbours was released yet. The
 * bit is only a shortcut to &chunk.released, so a page that cannot be
 * allocated costs a lookup per write and nothing else.
 */
static void diff_area_set_released(struct diff_area *da, unsigned long idx)
{
	unsigned long **slot = &da->released[idx >> DIFF_AREA_RELEASED_SHIFT];
	unsigned long *bits = READ_ONCE(*slot);
	unsigned long *old;

	if (!bits) {
		/* The release worker must not wait for memory. */
		bits = (unsigned long *)get_zeroed_page(GFP_NOWAIT |
							__GFP_NOWARN);
		if (!bits)
			return;
		old = cmpxchg(slot, NULL, bits);
		if (old) {
			free_page((unsigned long)bits);
			bits = old;
		}
	}
	/* Pairs with the acquire in diff_area_chunk_released(). */
	smp_mb__before_atomic();
	set_bit(DIFF_AREA_RELEASED_BIT(idx), bits);
}

/* May a write into the chunk pass straight through? */
static bool diff_area_chunk_released(struct diff_area *da, unsigned long idx)
{
	unsigned long *bits =
		READ_ONCE(da->released[idx >> DIFF_AREA_RELEASED_SHIFT]);
	struct chunk *chunk;

	if (bits && test_bit_acquire(DIFF_AREA_RELEASED_BIT(idx), bits))
		return true;
	chunk = xa_load(&da->chunks, idx);
	/* Pairs with the release in diff_area_release_bio_chunks(). */
	return chunk && smp_load_acquire(&chunk->released);
}

static void diff_area_release(struct kref *kref)
{
	struct diff_area *da = container_of(kref, struct diff_area, kref);
	struct diff_buffer *buf, *tmp;
	struct chunk *chunk;
	unsigned long idx;

	unsigned int i;

	xa_for_each(&da->chunks, idx, chunk)
		chunk_free(chunk);
	xa_destroy(&da->chunks);
	diff_area_released_free(da);
	for (i = 0; i < DIFF_AREA_CHUNK_LOCKS; i++)
		mutex_destroy(&da->chunk_locks[i]);
	list_for_each_entry_safe(buf, tmp, &da->pool, link)
		diff_buffer_free(buf);
	diff_storage_put(da->ds);
	event_queue_put(da->events);
	tracker_put(da->tracker);
	kfree(da);
	blksnap_obj_sub(BLKSNAP_OBJ_DIFF_AREA, 1);
}

/**
 * diff_area_put() - drop a reference to a difference area
 * @da: the area.
 */
void diff_area_put(struct diff_area *da)
{
	kref_put(&da->kref, diff_area_release);
}

/**
 * diff_area_get() - take a reference to a difference area
 * @da: the area.
 *
 * Return: @da.
 */
struct diff_area *diff_area_get(struct diff_area *da)
{
	kref_get(&da->kref);
	return da;
}

static void diff_area_queue_on(struct diff_area *da,
			       struct workqueue_struct *wq,
			       struct work_struct *work)
{
	diff_area_get(da);
	if (!queue_work(wq, work))
		diff_area_put(da);
}

static void diff_area_queue(struct diff_area *da, struct work_struct *work)
{
	diff_area_queue_on(da, blksnap_wq, work);
}

static void diff_area_workers_init(struct diff_area *da,
				   struct diff_area_workers *ws,
				   struct workqueue_struct *wq,
				   spinlock_t *lock, work_func_t fn)
{
	unsigned int i;

	ws->wq = wq;
	ws->lock = lock;
	ws->idle = GENMASK(DIFF_AREA_WORKERS - 1, 0);
	for (i = 0; i < DIFF_AREA_WORKERS; i++) {
		ws->w[i].da = da;
		INIT_WORK(&ws->w[i].work, fn);
	}
}

/*
 * One more item is on the list: put an idle worker on it, if there is one.
 * A busy worker takes items until the list is empty, so an item never
 * waits while every worker is idle.
 */
static void diff_area_workers_kick(struct diff_area *da,
				   struct diff_area_workers *ws)
{
	unsigned int i;

	lockdep_assert_held(ws->lock);
	if (!ws->idle)
		return;
	i = __ffs(ws->idle);
	ws->idle &= ~BIT(i);
	diff_area_queue_on(da, ws->wq, &ws->w[i].work);
}

/* The worker found the list empty and stops taking items. */
static void diff_area_worker_idle(struct diff_area_workers *ws,
				  struct diff_area_worker *w)
{
	lockdep_assert_held(ws->lock);
	ws->idle |= BIT(w - ws->w);
}

static void diff_area_workers_flush(struct diff_area_workers *ws)
{
	unsigned int i;

	for (i = 0; i < DIFF_AREA_WORKERS; i++)
		flush_work(&ws->w[i].work);
}

/**
 * diff_area_set_error() - mark the snapshot of the device corrupted
 * @da: the area.
 * @error: negative error code.
 *
 * Only the first error counts: it is reported with one event. From then
 * on writes to the original pass straight through and image I/O fails.
 */
void diff_area_set_error(struct diff_area *da, int error)
{
	struct tracker *tracker = da->tracker;

	if (cmpxchg(&da->error, 0, error) != 0)
		return;
	pr_err("snapshot of device %u:%u corrupted: error %d\n",
	       MAJOR(tracker->dev_id), MINOR(tracker->dev_id), error);
	event_queue_corrupted(da->events, tracker->dev_id, error);
	/* Loaders waiting for room give up; busy workers release what is held. */
	wake_up_all(&da->store_wq);
}

static bool diff_area_stopped(struct diff_area *da)
{
	return READ_ONCE(da->error) || READ_ONCE(da->closing);
}

static struct chunk *diff_area_get_chunk(struct diff_area *da,
					 unsigned long idx)
{
	struct chunk *chunk, *old;

	chunk = xa_load(&da->chunks, idx);
	if (chunk)
		return chunk;
	chunk = chunk_alloc(idx);
	if (!chunk)
		return ERR_PTR(-ENOMEM);
	old = xa_cmpxchg(&da->chunks, idx, NULL, chunk, GFP_KERNEL);
	if (old) {
		chunk_free(chunk);
		if (xa_is_err(old))
			return ERR_PTR(xa_err(old));
		return old;
	}
	return chunk;
}

/*
 * Take one of the chunk_maximum_in_queue places for a chunk in memory,
 * before it is read: the bound holds however many loaders run at once.
 */
static bool diff_area_reserve_store(struct diff_area *da)
{
	bool room;

	xa_lock(&da->chunks);
	room = da->store_count < chunk_maximum_in_queue;
	if (room)
		da->store_count++;
	xa_unlock(&da->chunks);
	return room;
}

static void diff_area_unreserve_store(struct diff_area *da)
{
	xa_lock(&da->chunks);
	da->store_count--;
	xa_unlock(&da->chunks);
	wake_up_all(&da->store_wq);
}

/*
 * Make sure the old data of a chunk is preserved (in memory or in the
 * difference storage). Called by the workers only.
 */
static int diff_area_load_chunk(struct diff_area *da, unsigned long idx,
				struct chunk **pchunk)
{
	struct diff_buffer *buf;
	struct chunk *chunk;
	bool room = false;
	int ret = 0;

	chunk = diff_area_get_chunk(da, idx);
	if (IS_ERR(chunk))
		return PTR_ERR(chunk);
	*pchunk = chunk;
	/* Pairs with the releases below: a loaded chunk's data is visible. */
	if (smp_load_acquire(&chunk->state) != CHUNK_NEW)
		return 0;

	/*
	 * At most chunk_maximum_in_queue chunks are being loaded or wait in
	 * memory. Not under the chunk lock: a store worker may need that
	 * very lock, shared by index, to make room.
	 */
	wait_event(da->store_wq,
		   (room = diff_area_reserve_store(da)) ||
		   diff_area_stopped(da));
	mutex_lock(chunk_lock(da, chunk));
	if (chunk->state != CHUNK_NEW)
		goto out;
	if (diff_area_stopped(da)) {
		ret = READ_ONCE(da->error) ?: -ESHUTDOWN;
		goto out;
	}
	buf = diff_area_buffer_get(da);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	ret = blksnap_pages_bdev_rw(da->bdev, false,
				    chunk_first_sector(da, idx), buf->pages, 0,
				    chunk_sectors(da, idx) << SECTOR_SHIFT);
	if (ret) {
		diff_area_buffer_put(da, buf);
		goto out;
	}
	chunk->buf = buf;
	buf->chunk = chunk;
	xa_lock(&da->chunks);
	/* Publish the state after the data it describes. */
	smp_store_release(&chunk->state, CHUNK_LOADED);
	list_add_tail(&buf->link, &da->store_queue);
	diff_area_workers_kick(da, &da->store_workers);
	xa_unlock(&da->chunks);
	room = false;	/* the store worker gives the place back */
out:
	mutex_unlock(chunk_lock(da, chunk));
	if (room)
		diff_area_unreserve_store(da);
	return ret;
}

static void diff_area_chunk_range(struct diff_area *da, sector_t sector,
				  sector_t count, unsigned long *first,
				  unsigned long *last)
{
	sector_t end = min(sector + count, da->capacity);

	*first = sector >> da->chunk_shift;
	*last = (end - 1) >> da->chunk_shift;
}

static atomic_t *orig_read_slot(struct diff_area *da, unsigned long idx)
{
	return &da->orig_reads[idx & (DIFF_AREA_READ_SLOTS - 1)];
}

/*
 * An image read of the original counts in its chunk's slot before it looks
 * at the chunk's state; copy-on-write publishes the state before it looks at
 * the slot. The full barriers on both sides make sure that either the read
 * sees the chunk preserved, or the write waits for the read.
 */
static void orig_read_begin(struct diff_area *da, unsigned long idx)
{
	atomic_inc(orig_read_slot(da, idx));
	/* The count before the state; pairs with diff_area_cow_work()'s smp_mb(). */
	smp_mb__after_atomic();
}

static void orig_reads_end(struct diff_area *da, unsigned long first,
			   unsigned long last)
{
	bool drained = false;
	unsigned long idx;

	for (idx = first; idx <= last; idx++)
		drained |= atomic_dec_and_test(orig_read_slot(da, idx));
	/* atomic_dec_and_test() is a full barrier. */
	if (drained && waitqueue_active(&da->orig_reads_wq))
		wake_up_all(&da->orig_reads_wq);
}

/* Wait for the image reads of the original that touch a held write. */
static void diff_area_wait_orig_reads(struct diff_area *da, struct bio *bio)
{
	sector_t sector = blksnap_bio_sector(bio);
	sector_t count = bio_sectors(bio);
	unsigned long idx, first, last;

	if (sector >= da->capacity || !count)
		return;
	diff_area_chunk_range(da, sector, count, &first, &last);
	for (idx = first; idx <= last; idx++)
		wait_event(da->orig_reads_wq,
			   !atomic_read(orig_read_slot(da, idx)));
}

/* Preserve every chunk a held write touches. */
static int diff_area_preserve_bio(struct diff_area *da, struct bio *bio)
{
	sector_t sector = blksnap_bio_sector(bio);
	sector_t count = bio_sectors(bio);
	unsigned long idx, first, last;
	struct chunk *chunk;
	int ret;

	if (sector >= da->capacity || !count)
		return 0;
	diff_area_chunk_range(da, sector, count, &first, &last);
	for (idx = first; idx <= last; idx++) {
		ret = diff_area_load_chunk(da, idx, &chunk);
		if (ret)
			return ret;
		cond_resched();
	}
	return 0;
}

static void diff_area_release_bio_chunks(struct diff_area *da,
					 struct bio *bio)
{
	sector_t sector = blksnap_bio_sector(bio);
	sector_t count = bio_sectors(bio);
	unsigned long idx, first, last;
	struct chunk *chunk;

	if (sector >= da->capacity || !count)
		return;
	diff_area_chunk_range(da, sector, count, &first, &last);
	for (idx = first; idx <= last; idx++) {
		chunk = xa_load(&da->chunks, idx);
		/* Pairs with the release of the state by the loader. */
		if (!chunk || smp_load_acquire(&chunk->state) == CHUNK_NEW)
			continue;
		/* Pairs with the acquire in diff_area_chunk_released(). */
		smp_store_release(&chunk->released, true);
		diff_area_set_released(da, idx);
	}
}

/*
 * Preserve the chunks of each held write, then hand it to the release
 * worker: the write goes on beside the next copy instead of after it.
 */
static void diff_area_cow_work(struct work_struct *work)
{
	struct diff_area_worker *w = container_of(work, struct diff_area_worker,
						  work);
	struct diff_area *da = w->da;
	unsigned int noio = memalloc_noio_save();
	struct bio *bio;
	int ret;

	for (;;) {
		spin_lock(&da->cow_lock);
		bio = bio_list_pop(&da->cow_bios);
		if (!bio)
			diff_area_worker_idle(&da->cow_workers, w);
		spin_unlock(&da->cow_lock);
		if (!bio)
			break;

		if (!diff_area_stopped(da)) {
			ret = diff_area_preserve_bio(da, bio);
			if (ret && ret != -ESHUTDOWN)
				diff_area_set_error(da, ret);
		}
		/*
		 * Wait for image reads of the original that saw the chunks
		 * before they were preserved. Pairs with orig_read_begin().
		 */
		smp_mb();
		diff_area_wait_orig_reads(da, bio);
		if (!diff_area_stopped(da))
			diff_area_release_bio_chunks(da, bio);

		spin_lock(&da->cow_lock);
		bio_list_add(&da->release_bios, bio);
		spin_unlock(&da->cow_lock);
		diff_area_queue(da, &da->release_work);
	}
	memalloc_noio_restore(noio);
	diff_area_put(da);
}

static void diff_area_release_work(struct work_struct *work)
{
	struct diff_area *da = container_of(work, struct diff_area,
					    release_work);
	unsigned int noio = memalloc_noio_save();
	struct bio *list, *bio;

	for (;;) {
		spin_lock(&da->cow_lock);
		list = bio_list_get(&da->release_bios);
		spin_unlock(&da->cow_lock);
		if (!list)
			break;
		while (list) {
			bio = list;
			list = bio->bi_next;
			bio->bi_next = NULL;
			blksnap_filter_resubmit(bio);
		}
	}
	memalloc_noio_restore(noio);
	diff_area_put(da);
}

static void diff_area_store_work(struct work_struct *work)
{
	struct diff_area_worker *w = container_of(work, struct diff_area_worker,
						  work);
	struct diff_area *da = w->da;
	unsigned int noio = memalloc_noio_save();
	struct diff_buffer *buf;
	struct chunk *chunk;
	sector_t count, sector;
	int ret;

	for (;;) {
		xa_lock(&da->chunks);
		buf = list_first_entry_or_null(&da->store_queue,
					       struct diff_buffer, link);
		if (buf)
			list_del_init(&buf->link);
		else
			diff_area_worker_idle(&da->store_workers, w);
		xa_unlock(&da->chunks);
		if (!buf)
			break;

		chunk = buf->chunk;
		mutex_lock(chunk_lock(da, chunk));
		if (!diff_area_stopped(da)) {
			count = chunk_stored_sectors(da, chunk->index);
			ret = diff_storage_alloc(da->ds, count, &sector);
			if (!ret)
				ret = diff_storage_rw(da->ds, true, sector,
						      buf->pages, 0,
						      count << SECTOR_SHIFT);
			if (ret) {
				diff_area_set_error(da, ret);
			} else {
				chunk->diff_sector = sector;
				/* diff_sector (in place of buf) before the state. */
				smp_store_release(&chunk->state, CHUNK_STORED);
				diff_area_buffer_put(da, buf);
			}
		}
		mutex_unlock(chunk_lock(da, chunk));
		diff_area_unreserve_store(da);
		cond_resched();
	}
	memalloc_noio_restore(noio);
	diff_area_put(da);
}

/**
 * diff_area_create() - prepare copy-on-write of a device for a take
 * @tracker: the device's tracker.
 * @ds: the snapshot's difference storage.
 * @events: the snapshot's events.
 *
 * The chunk size is the smallest power of two, at least
 * 2^chunk_minimum_shift and the device's minimum I/O size, such that the
 * number of chunks does not exceed 2^chunk_maximum_count_shift; it never
 * exceeds 2^chunk_maximum_shift.
 *
 * Return: the area or an ERR_PTR().
 */
struct diff_area *diff_area_create(struct tracker *tracker,
				   struct diff_storage *ds,
				   struct event_queue *events)
{
	struct diff_area *da;
	unsigned int shift, i;

	da = kzalloc(sizeof(*da), GFP_KERNEL);
	if (!da)
		return ERR_PTR(-ENOMEM);
	blksnap_obj_add(BLKSNAP_OBJ_DIFF_AREA, 1);
	kref_init(&da->kref);
	da->bdev = tracker->bdev;
	da->capacity = bdev_nr_sectors(da->bdev);

	shift = max_t(unsigned int, chunk_minimum_shift, PAGE_SHIFT);
	while (shift < chunk_maximum_shift &&
	       (1u << shift) < bdev_io_min(da->bdev))
		shift++;
	shift = blksnap_block_shift(da->capacity, shift, chunk_maximum_shift,
				    1ull << chunk_maximum_count_shift);
	da->chunk_shift = shift - SECTOR_SHIFT;
	da->chunk_count = DIV_ROUND_UP_SECTOR_T(da->capacity,
						1ull << da->chunk_shift);
	da->released = kvcalloc(diff_area_released_pages(da),
				sizeof(*da->released), GFP_KERNEL);
	if (!da->released) {
		kfree(da);
		blksnap_obj_sub(BLKSNAP_OBJ_DIFF_AREA, 1);
		return ERR_PTR(-ENOMEM);
	}

	xa_init(&da->chunks);
	for (i = 0; i < DIFF_AREA_CHUNK_LOCKS; i++)
		mutex_init(&da->chunk_locks[i]);
	spin_lock_init(&da->cow_lock);
	bio_list_init(&da->cow_bios);
	diff_area_workers_init(da, &da->cow_workers, blksnap_wq, &da->cow_lock,
			       diff_area_cow_work);
	bio_list_init(&da->release_bios);
	INIT_WORK(&da->release_work, diff_area_release_work);
	init_waitqueue_head(&da->orig_reads_wq);
	INIT_LIST_HEAD(&da->store_queue);
	diff_area_workers_init(da, &da->store_workers, blksnap_store_wq,
			       &da->chunks.xa_lock, diff_area_store_work);
	init_waitqueue_head(&da->store_wq);
	spin_lock_init(&da->pool_lock);
	INIT_LIST_HEAD(&da->pool);

	/* Image reads go to a storage device that takes what the image does. */
	if (ds->bf.bdev &&
	    bdev_logical_block_size(ds->bf.bdev) <=
		    bdev_logical_block_size(da->bdev) &&
	    bdev_dma_alignment(ds->bf.bdev) <= bdev_dma_alignment(da->bdev))
		da->store_bdev = ds->bf.bdev;

	da->tracker = tracker_get(tracker);
	da->ds = diff_storage_get(ds);
	da->events = event_queue_get(events);
	return da;
}

/**
 * diff_area_close() - stop copy-on-write before the area goes away
 * @da: the area, already unlinked from its tracker and image.
 *
 * Held writes are released at once (a busy copy-on-write worker takes the
 * rest of them without copying), nothing more is stored, and the workers
 * are waited for, so that the difference storage is idle when this
 * returns.
 */
void diff_area_close(struct diff_area *da)
{
	WRITE_ONCE(da->closing, true);
	wake_up_all(&da->store_wq);
	diff_area_workers_flush(&da->cow_workers);
	flush_work(&da->release_work);
	diff_area_workers_flush(&da->store_workers);
}

/**
 * diff_area_cow() - filter a write to the original device
 * @da: the area.
 * @bio: the write.
 * @sector: its first sector, relative to the device.
 * @count: its size in sectors.
 *
 * Called from the filter, in the submitter's context.
 *
 * Return: true if the bio was taken (held for copy-on-write, or failed
 * with %BLK_STS_AGAIN for %REQ_NOWAIT), false if it may proceed.
 */
bool diff_area_cow(struct diff_area *da, struct bio *bio, sector_t sector,
		   sector_t count)
{
	unsigned long idx, first, last;

	if (diff_area_stopped(da) || sector >= da->capacity || !count)
		return false;
	diff_area_chunk_range(da, sector, count, &first, &last);
	for (idx = first; idx <= last; idx++)
		if (!diff_area_chunk_released(da, idx))
			break;
	if (idx > last)
		return false;
	if (bio->bi_opf & REQ_NOWAIT) {
		bio_wouldblock_error(bio);
		return true;
	}
	spin_lock(&da->cow_lock);
	bio_list_add(&da->cow_bios, bio);
	diff_area_workers_kick(da, &da->cow_workers);
	spin_unlock(&da->cow_lock);
	return true;
}

/**
 * diff_area_image_read() - read snapshot data of a range inside one chunk
 * @da: the area.
 * @sector: first sector.
 * @count: number of sectors, all in the same chunk.
 * @bounce: buffer for the data; at least @count sectors plus two pages.
 * @offset: out: byte offset of the data in @bounce.
 *
 * Called from the image worker.
 *
 * Return: 0 or a negative error (-EIO once the snapshot is corrupted).
 */
int diff_area_image_read(struct diff_area *da, sector_t sector,
			 unsigned int count, struct diff_buffer *bounce,
			 size_t *offset)
{
	unsigned long idx = sector >> da->chunk_shift;
	size_t pos = (sector - chunk_first_sector(da, idx)) << SECTOR_SHIFT;
	size_t len = (size_t)count << SECTOR_SHIFT;
	size_t start, end;
	struct chunk *chunk;
	int state, ret;

	if (READ_ONCE(da->error))
		return -EIO;
	*offset = 0;

	orig_read_begin(da, idx);
	chunk = xa_load(&da->chunks, idx);
	/* Pairs with the releases of the state by the workers. */
	state = chunk ? smp_load_acquire(&chunk->state) : CHUNK_NEW;
	if (state == CHUNK_NEW) {
		ret = blksnap_pages_bdev_rw(da->bdev, false, sector,
					    bounce->pages, 0, len);
		orig_reads_end(da, idx, idx);
		goto out;
	}
	orig_reads_end(da, idx, idx);

	mutex_lock(chunk_lock(da, chunk));
	if (chunk->state == CHUNK_LOADED) {
		diff_buffer_copy_buffer(bounce, 0, chunk->buf, pos, len);
		ret = 0;
	} else {
		/* Whole pages: the storage may have large logical blocks. */
		start = round_down(pos, PAGE_SIZE);
		end = round_up(pos + len, PAGE_SIZE);
		ret = diff_storage_rw(da->ds, false,
				      chunk->diff_sector +
					      (start >> SECTOR_SHIFT),
				      bounce->pages, 0, end - start);
		*offset = pos - start;
	}
	mutex_unlock(chunk_lock(da, chunk));
	/* The preserved data is unreadable: the snapshot is lost. */
	if (ret && ret != -ESHUTDOWN)
		diff_area_set_error(da, ret);
out:
	if (!ret && READ_ONCE(da->error))
		ret = -EIO;
	return ret;
}

/* The chunk's state, and the chunk if it has one. */
static int chunk_state(struct diff_area *da, unsigned long idx,
		       struct chunk **pchunk)
{
	struct chunk *chunk = xa_load(&da->chunks, idx);

	*pchunk = chunk;
	/* Pairs with the releases of the state by the workers. */
	return chunk ? smp_load_acquire(&chunk->state) : CHUNK_NEW;
}

/*
 * The chunks from @idx on whose data is still on the original only, up to
 * @end: each one counted as read, so that no write to it gets through
 * before diff_area_original_read_done(). Return: sectors from @sector.
 */
static sector_t diff_area_map_original(struct diff_area *da, sector_t sector,
				       sector_t end)
{
	unsigned long idx = sector >> da->chunk_shift;
	struct chunk *chunk;
	sector_t pos = sector;

	while (pos < end) {
		orig_read_begin(da, idx);
		if (chunk_state(da, idx, &chunk) != CHUNK_NEW) {
			orig_reads_end(da, idx, idx);
			break;
		}
		pos = min(chunk_first_sector(da, ++idx), end);
	}
	return pos - sector;
}

/**
 * diff_area_image_map() - where an image read finds the data of a range
 * @da: the area.
 * @sector: first sector of the range.
 * @count: its size in sectors, inside the image.
 * @map: out: the source of the data of the range's first sectors.
 *
 * A range on the original covers as many whole chunks as it can; any other
 * stops at the end of its chunk. The data of a chunk only moves from the
 * original to memory and on to the difference storage, and a chunk is
 * never written on the original while an image read of it is counted, so
 * the answer holds until the caller's read completes. Any context.
 *
 * Return: 0, or -EIO once the snapshot is corrupted.
 */
int diff_area_image_map(struct diff_area *da, sector_t sector,
			sector_t count, struct diff_area_map *map)
{
	unsigned long idx = sector >> da->chunk_shift;
	sector_t end = sector + count;
	sector_t in_chunk = sector - chunk_first_sector(da, idx);
	struct chunk *chunk;

	if (READ_ONCE(da->error))
		return -EIO;
	map->count = diff_area_map_original(da, sector, end);
	if (map->count) {
		map->source = DIFF_AREA_ORIGINAL;
		map->bdev = da->bdev;
		map->sector = sector;
		return 0;
	}

	map->count = min(chunk_first_sector(da, idx + 1), end) - sector;
	map->source = DIFF_AREA_COPY;
	/* store_bdev's blocks are no larger than the image's: no RMW. */
	if (!da->store_bdev || chunk_state(da, idx, &chunk) != CHUNK_STORED)
		return 0;
	map->source = DIFF_AREA_STORE;
	map->bdev = da->store_bdev;
	map->sector = chunk->diff_sector + in_chunk;
	return 0;
}

/**
 * diff_area_original_read_done() - an image read of the original completed
 * @da: the area.
 * @sector: the range diff_area_image_map() gave for %DIFF_AREA_ORIGINAL.
 * @count: its size.
 *
 * Writes to the range's chunks held for copy-on-write may go on. Any
 * context.
 */
void diff_area_original_read_done(struct diff_area *da, sector_t sector,
				  sector_t count)
{
	unsigned long first, last;

	diff_area_chunk_range(da, sector, count, &first, &last);
	orig_reads_end(da, first, last);
}

static int diff_area_store_write(struct diff_area *da, struct chunk *chunk,
				 size_t pos, size_t len,
				 struct diff_buffer *bounce)
{
	size_t start = round_down(pos, PAGE_SIZE);
	size_t end = round_up(pos + len, PAGE_SIZE);
	struct diff_buffer *tmp;
	int ret;

	if (start == pos && end == pos + len)
		return diff_storage_rw(da->ds, true,
				       chunk->diff_sector + (pos >> SECTOR_SHIFT),
				       bounce->pages, 0, len);

	/* Read, modify and write whole pages. */
	tmp = diff_buffer_alloc(end - start);
	if (!tmp)
		return -ENOMEM;
	ret = diff_storage_rw(da->ds, false,
			      chunk->diff_sector + (start >> SECTOR_SHIFT),
			      tmp->pages, 0, end - start);
	if (!ret) {
		diff_buffer_copy_buffer(tmp, pos - start, bounce, 0, len);
		ret = diff_storage_rw(da->ds, true,
				      chunk->diff_sector +
					      (start >> SECTOR_SHIFT),
				      tmp->pages, 0, end - start);
	}
	diff_buffer_free(tmp);
	return ret;
}

/**
 * diff_area_image_write() - write to the snapshot image inside one chunk
 * @da: the area.
 * @sector: first sector.
 * @count: number of sectors, all in the same chunk.
 * @bounce: the data, from offset 0.
 *
 * The chunk is preserved first; the data then lands in memory or in the
 * difference storage, never on the original device. Both CBT tables of
 * the original are marked, so that the next backup copies the range.
 *
 * Return: 0 or a negative error (-EIO once the snapshot is corrupted).
 */
int diff_area_image_write(struct diff_area *da, sector_t sector,
			  unsigned int count, struct diff_buffer *bounce)
{
	unsigned long idx = sector >> da->chunk_shift;
	size_t pos = (sector - chunk_first_sector(da, idx)) << SECTOR_SHIFT;
	size_t len = (size_t)count << SECTOR_SHIFT;
	struct chunk *chunk;
	int ret;

	if (READ_ONCE(da->error))
		return -EIO;
	ret = diff_area_load_chunk(da, idx, &chunk);
	if (ret) {
		if (ret != -ESHUTDOWN)
			diff_area_set_error(da, ret);
		return -EIO;
	}
	mutex_lock(chunk_lock(da, chunk));
	if (chunk->state == CHUNK_LOADED)
		diff_buffer_copy_buffer(chunk->buf, pos, bounce, 0, len);
	else
		ret = diff_area_store_write(da, chunk, pos, len, bounce);
	mutex_unlock(chunk_lock(da, chunk));
	if (ret)
		diff_area_set_error(da, ret);
	if (!ret && READ_ONCE(da->error))
		ret = -EIO;
	if (!ret)
		cbt_map_mark(da->tracker->cbt_map, sector, count, true);
	return ret ? -EIO : 0;
}

/**
 * diff_area_init() - create the cache of chunk descriptors (module load)
 *
 * Return: 0 or -ENOMEM.
 */
int diff_area_init(void)
{
	chunk_cache = KMEM_CACHE(chunk, 0);
	return chunk_cache ? 0 : -ENOMEM;
}

/**
 * diff_area_done() - destroy the cache of chunk descriptors (module unload)
 */
void diff_area_done(void)
{
	kmem_cache_destroy(chunk_cache);
}
