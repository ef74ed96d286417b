/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __BLKSNAP_DIFF_AREA_H
#define __BLKSNAP_DIFF_AREA_H

#include <linux/bio.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/atomic.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

struct diff_storage;
struct event_queue;
struct tracker;

/* Counters of image reads of the original in flight; a power of two. */
#define DIFF_AREA_READ_SLOTS 64

/**
 * struct diff_buffer - memory for the data of one chunk
 * @link: entry in the pool of free buffers, or in the store queue.
 * @chunk: the chunk whose data it holds, while in the store queue.
 * @nr_pages: number of pages.
 * @pages: the pages.
 */
struct diff_buffer {
	struct list_head link;
	struct chunk *chunk;
	unsigned int nr_pages;
	struct page *pages[];
};

/**
 * enum chunk_state - where the snapshot's data of a chunk is
 * @CHUNK_NEW: still on the original device only (being preserved if the
 *	chunk's lock is held).
 * @CHUNK_LOADED: read into @buf of the chunk, waiting to be stored.
 * @CHUNK_STORED: in the difference storage.
 */
enum chunk_state {
	CHUNK_NEW = 0,
	CHUNK_LOADED,
	CHUNK_STORED,
};

/**
 * struct chunk - copy-on-write state of one chunk that differs
 * @index: chunk number.
 * @state: &enum chunk_state; only moves forward.
 * @released: writes to the original may pass straight through: the old
 *	data is preserved and no image read of the original is in flight.
 * @buf: the data while %CHUNK_LOADED.
 * @diff_sector: location in the difference storage once %CHUNK_STORED.
 *
 * One per changed chunk, the most numerous object: its lock is one of
 * &diff_area.chunk_locks, chosen by @index.
 */
struct chunk {
	unsigned long index;
	int state;
	bool released;
	union {
		struct diff_buffer *buf;
		sector_t diff_sector;
	};
};

/* Locks of the chunks of a device, shared by index; a power of two. */
#define DIFF_AREA_CHUNK_LOCKS 64

/* Chunks per page of &diff_area.released: one bit each. */
#define DIFF_AREA_RELEASED_SHIFT (PAGE_SHIFT + 3)

/*
 * Workers of each kind (copy-on-write, store) per device: each does its
 * I/O synchronously, so this many chunk reads and as many stores can be in
 * flight at once.
 */
#define DIFF_AREA_WORKERS 8

struct diff_area;

/**
 * struct diff_area_worker - one worker of a &struct diff_area_workers
 * @work: queued on the module's workqueue.
 * @da: the area it works for.
 */
struct diff_area_worker {
	struct work_struct work;
	struct diff_area *da;
};

/**
 * struct diff_area_workers - the workers that take items from one list
 * @wq: the workqueue they run on.
 * @lock: the list's lock; it also protects @idle.
 * @idle: bit i is set while worker i is neither queued nor taking items.
 * @w: the workers.
 */
struct diff_area_workers {
	struct workqueue_struct *wq;
	spinlock_t *lock; /* the list's; protects idle */
	unsigned long idle;
	struct diff_area_worker w[DIFF_AREA_WORKERS];
};

/**
 * struct diff_area - copy-on-write state of one device in a taken snapshot
 * @kref: held by the tracker while copy-on-write is on, by the image and
 *	by queued work; the filter looks at a bio under RCU instead.
 * @tracker: the device's tracker (reference).
 * @ds: the difference storage (reference).
 * @events: the snapshot's events (reference), to report corruption.
 * @bdev: the original device.
 * @capacity: capacity of the device at the take, in sectors.
 * @chunk_shift: log2 of the chunk size in sectors.
 * @chunk_count: number of chunks.
 * @chunks: sparse map of &struct chunk by chunk number; its lock also
 *	protects @store_queue and @store_count.
 * @chunk_locks: serialise loading, storing and image access of a chunk.
 * @released: for each 2^%DIFF_AREA_RELEASED_SHIFT chunks, NULL or a page
 *	of bits, one per chunk, set once &chunk.released is: a write into a
 *	preserved chunk is let through on one bit test, without looking the
 *	chunk up. A page is allocated at the first release among its chunks;
 *	where it cannot be, writes look the chunk up instead.
 * @error: 0, or the error that corrupted the snapshot of the device.
 * @closing: the snapshot is being destroyed.
 * @cow_lock: protects @cow_bios, @cow_workers and @release_bios.
 * @cow_bios: writes to the original held until their chunks are preserved.
 * @cow_workers: preserve the chunks of held writes, one write each at a
 *	time.
 * @release_bios: held writes whose chunks are preserved.
 * @release_work: sends them on.
 * @orig_reads: image reads of the original in flight, counted per chunk in
 *	the slot chunk number modulo %DIFF_AREA_READ_SLOTS; held writes of a
 *	chunk are released only once its slot has drained.
 * @orig_reads_wq: waits for a slot of @orig_reads to drain.
 * @store_bdev: the difference storage's block device, if image reads may
 *	go to it directly (its block size and alignment suit the image).
 * @store_queue: buffers of loaded chunks waiting to be stored.
 * @store_count: chunks being loaded or in memory and not yet stored.
 * @store_workers: write loaded chunks to the difference storage; their
 *	lock is the one of @chunks.
 * @store_wq: waits for @store_count to fall below the limit.
 * @pool_lock: protects @pool and @pool_count.
 * @pool: free buffers.
 * @pool_count: number of free buffers.
 */
struct diff_area {
	struct kref kref;
	struct tracker *tracker;
	struct diff_storage *ds;
	struct event_queue *events;
	struct block_device *bdev;
	sector_t capacity;
	unsigned int chunk_shift;
	unsigned long chunk_count;
	struct xarray chunks;
	struct mutex chunk_locks[DIFF_AREA_CHUNK_LOCKS]; /* by chunk index */
	unsigned long **released;
	int error;
	bool closing;
	spinlock_t cow_lock; /* protects cow_bios, release_bios */
	struct bio_list cow_bios;
	struct diff_area_workers cow_workers;
	struct bio_list release_bios;
	struct work_struct release_work;
	atomic_t orig_reads[DIFF_AREA_READ_SLOTS];
	wait_queue_head_t orig_reads_wq;
	struct block_device *store_bdev;
	struct list_head store_queue;
	unsigned int store_count;
	struct diff_area_workers store_workers;
	wait_queue_head_t store_wq;
	spinlock_t pool_lock; /* protects pool, pool_count */
	struct list_head pool;
	unsigned int pool_count;
};

/**
 * enum diff_area_source - where an image read of a range finds its data
 * @DIFF_AREA_ORIGINAL: on the original device, at the same sector; the
 *	range's chunks count as read until diff_area_original_read_done().
 * @DIFF_AREA_STORE: on the difference storage device, at &diff_area_map.sector.
 * @DIFF_AREA_COPY: anywhere else (memory, a storage file): it takes
 *	diff_area_image_read() with a bounce buffer.
 */
enum diff_area_source {
	DIFF_AREA_ORIGINAL,
	DIFF_AREA_STORE,
	DIFF_AREA_COPY,
};

/**
 * struct diff_area_map - where an image read of a range finds its data
 * @source: &enum diff_area_source.
 * @bdev: the device to read (%DIFF_AREA_ORIGINAL, %DIFF_AREA_STORE).
 * @sector: the first sector to read there.
 * @count: sectors from the start of the range that share the source.
 */
struct diff_area_map {
	enum diff_area_source source;
	struct block_device *bdev;
	sector_t sector;
	sector_t count;
};

struct diff_area *diff_area_create(struct tracker *tracker,
				   struct diff_storage *ds,
				   struct event_queue *events);
void diff_area_put(struct diff_area *da);
struct diff_area *diff_area_get(struct diff_area *da);
void diff_area_close(struct diff_area *da);
void diff_area_set_error(struct diff_area *da, int error);
bool diff_area_cow(struct diff_area *da, struct bio *bio, sector_t sector,
		   sector_t count);
int diff_area_image_read(struct diff_area *da, sector_t sector,
			 unsigned int count, struct diff_buffer *bounce,
			 size_t *offset);
int diff_area_image_map(struct diff_area *da, sector_t sector,
			sector_t count, struct diff_area_map *map);
void diff_area_original_read_done(struct diff_area *da, sector_t sector,
				  sector_t count);
int diff_area_image_write(struct diff_area *da, sector_t sector,
			  unsigned int count, struct diff_buffer *bounce);
int diff_area_init(void);
void diff_area_done(void);
struct diff_buffer *diff_buffer_alloc(size_t size);
void diff_buffer_free(struct diff_buffer *buf);
void diff_buffer_copy(struct diff_buffer *buf, size_t offset, void *ptr,
		      size_t len, bool to_buf);

#endif /* __BLKSNAP_DIFF_AREA_H */
