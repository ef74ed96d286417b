// SPDX-License-Identifier: GPL-2.0
/*
 * Changed-block tracking tables.
 *
 * One byte per tracking block in each of two tables. The write table holds,
 * for every block, the number of the newest snapshot interval in which it
 * was written; the read table is a copy frozen at the last take, which user
 * space reads to find what changed since an earlier snapshot.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/blksnap.h>
#include "blksnap.h"
#include "cbt_map.h"
#include "objcount.h"

/* Numbers are stored in a byte: the interval numbered 256 never exists. */
#define CBT_NUMBER_LIMIT 256

static unsigned long cbt_block_count(sector_t capacity, unsigned int shift)
{
	return DIV_ROUND_UP_SECTOR_T(capacity, 1u << (shift - SECTOR_SHIFT));
}

static int cbt_tables_alloc(sector_t capacity, struct cbt_map_resize *rs)
{
	size_t size;

	rs->device_capacity = capacity;
	rs->blk_size_shift = blksnap_block_shift(capacity,
						 tracking_block_minimum_shift,
						 tracking_block_maximum_shift,
						 tracking_block_maximum_count);
	rs->blk_count = cbt_block_count(capacity, rs->blk_size_shift);
	if (rs->blk_count > U32_MAX)
		return -EFBIG;
	/* An empty device still gets a (one byte) table. */
	size = max(rs->blk_count, 1UL);
	rs->read_map = vzalloc(size);
	rs->write_map = vzalloc(size);
	if (!rs->read_map || !rs->write_map) {
		vfree(rs->read_map);
		vfree(rs->write_map);
		rs->read_map = NULL;
		rs->write_map = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Start a new generation. Called with map->lock held or before publishing. */
static void cbt_map_reset_locked(struct cbt_map *map)
{
	memset(map->write_map, 0, max(map->blk_count, 1UL));
	memset(map->read_map, 0, max(map->blk_count, 1UL));
	map->snap_number_previous = 0;
	map->snap_number_active = 1;
	map->is_corrupted = false;
	uuid_gen(&map->generation_id);
	map->seq++;
}

/**
 * cbt_map_create() - allocate the tables of a device
 * @capacity: device capacity in sectors.
 *
 * Return: the new map, or an ERR_PTR().
 */
struct cbt_map *cbt_map_create(sector_t capacity)
{
	struct cbt_map_resize rs;
	struct cbt_map *map;
	int ret;

	map = kzalloc(sizeof(*map), GFP_KERNEL);
	if (!map)
		return ERR_PTR(-ENOMEM);
	ret = cbt_tables_alloc(capacity, &rs);
	if (ret) {
		kfree(map);
		return ERR_PTR(ret);
	}
	spin_lock_init(&map->lock);
	map->blk_size_shift = rs.blk_size_shift;
	map->blk_count = rs.blk_count;
	map->device_capacity = rs.device_capacity;
	map->read_map = rs.read_map;
	map->write_map = rs.write_map;
	cbt_map_reset_locked(map);
	blksnap_obj_add(BLKSNAP_OBJ_CBT_MAP, 1);
	return map;
}

/**
 * cbt_map_destroy() - free a map and its tables
 * @map: the map, or NULL.
 */
void cbt_map_destroy(struct cbt_map *map)
{
	if (!map)
		return;
	vfree(map->read_map);
	vfree(map->write_map);
	kfree(map);
	blksnap_obj_sub(BLKSNAP_OBJ_CBT_MAP, 1);
}

/**
 * cbt_map_mark() - record a change of a range of sectors
 * @map: the map.
 * @sector: first sector, relative to the start of the device.
 * @count: number of sectors.
 * @both: also mark the read table (changes made through a snapshot image
 *	or declared by user space), so that the next backup copies the range.
 *
 * Never sleeps and never allocates. Parts of the range beyond the table
 * (the device grew) mark the map corrupted: it is reset at the next take.
 */
void cbt_map_mark(struct cbt_map *map, sector_t sector, sector_t count,
		  bool both)
{
	unsigned long flags, first, last, blk;
	sector_t end;

	if (!count)
		return;
	end = sector + count;
	if (end < sector)
		end = (sector_t)-1;

	spin_lock_irqsave(&map->lock, flags);
	if (end > map->device_capacity)
		map->is_corrupted = true;
	if (sector < map->device_capacity && map->blk_count) {
		end = min(end, map->device_capacity);
		first = sector >> (map->blk_size_shift - SECTOR_SHIFT);
		last = (end - 1) >> (map->blk_size_shift - SECTOR_SHIFT);
		if (last >= map->blk_count)
			last = map->blk_count - 1;
		for (blk = first; blk <= last; blk++) {
			if (map->write_map[blk] < map->snap_number_active)
				map->write_map[blk] = map->snap_number_active;
			if (both &&
			    map->read_map[blk] < map->snap_number_previous)
				map->read_map[blk] = map->snap_number_previous;
		}
	}
	spin_unlock_irqrestore(&map->lock, flags);
}

/**
 * cbt_map_switch_prepare() - allocate what the next switch needs
 * @map: the map.
 * @capacity: current capacity of the device in sectors.
 * @rs: out: new tables when the device was resized, otherwise empty.
 *
 * Called before the devices are frozen, so that the switch itself never
 * allocates.
 *
 * Return: 0 or a negative error.
 */
int cbt_map_switch_prepare(struct cbt_map *map, sector_t capacity,
			   struct cbt_map_resize *rs)
{
	memset(rs, 0, sizeof(*rs));
	if (capacity == READ_ONCE(map->device_capacity))
		return 0;
	return cbt_tables_alloc(capacity, rs);
}

/**
 * cbt_map_switch() - start a new change interval (at a snapshot take)
 * @map: the map.
 * @rs: from cbt_map_switch_prepare(); the replaced tables are handed back
 *	in it, to be freed by cbt_map_switch_finish().
 *
 * The read table becomes a copy of the write table and the active number
 * grows. When it would reach 256, or when the device was resized or the
 * map marked corrupted, a new generation starts instead: new identifier,
 * both tables cleared, previous number 0 and active number 1.
 */
void cbt_map_switch(struct cbt_map *map, struct cbt_map_resize *rs)
{
	unsigned long flags;
	u8 *old_read = NULL, *old_write = NULL;

	spin_lock_irqsave(&map->lock, flags);
	if (rs->read_map) {
		old_read = map->read_map;
		old_write = map->write_map;
		map->read_map = rs->read_map;
		map->write_map = rs->write_map;
		map->blk_size_shift = rs->blk_size_shift;
		map->blk_count = rs->blk_count;
		map->device_capacity = rs->device_capacity;
		pr_info("device resized, change tracking restarts\n");
		cbt_map_reset_locked(map);
	} else if (map->is_corrupted) {
		pr_info("change tracking table corrupted, restarting\n");
		cbt_map_reset_locked(map);
	} else if (map->snap_number_active + 1 >= CBT_NUMBER_LIMIT) {
		cbt_map_reset_locked(map);
	} else {
		memcpy(map->read_map, map->write_map, map->blk_count);
		map->snap_number_previous = map->snap_number_active;
		map->snap_number_active++;
		map->seq++;
	}
	spin_unlock_irqrestore(&map->lock, flags);
	rs->read_map = old_read;
	rs->write_map = old_write;
}

/**
 * cbt_map_switch_finish() - free what a switch left over
 * @rs: as handed back by cbt_map_switch(), or as prepared if the switch
 *	did not happen.
 */
void cbt_map_switch_finish(struct cbt_map_resize *rs)
{
	vfree(rs->read_map);
	vfree(rs->write_map);
	rs->read_map = NULL;
	rs->write_map = NULL;
}

/**
 * cbt_map_info() - describe the map for BLKFILTER_CTL_BLKSNAP_CBTINFO
 * @map: the map.
 * @info: out.
 */
void cbt_map_info(struct cbt_map *map, struct blksnap_cbtinfo *info)
{
	unsigned long flags;

	memset(info, 0, sizeof(*info));
	spin_lock_irqsave(&map->lock, flags);
	info->device_capacity = (u64)map->device_capacity << SECTOR_SHIFT;
	info->block_size = 1U << map->blk_size_shift;
	info->block_count = map->blk_count;
	export_uuid(info->generation_id.b, &map->generation_id);
	info->changes_number = map->snap_number_previous;
	spin_unlock_irqrestore(&map->lock, flags);
}

/**
 * cbt_map_read_to_user() - copy part of the read table to user space
 * @map: the map.
 * @offset: first block.
 * @length: number of blocks (bytes).
 * @buf: user buffer of at least @length bytes.
 *
 * The range must lie entirely inside the table. The copy goes through a
 * bounce page, so no spinlock is held while touching user memory; if a take
 * changes the table meanwhile, the copy starts over, so that the result is
 * one consistent table.
 *
 * Return: 0, -EINVAL for a range outside the table, -EFAULT, -ENOMEM, or
 * -EBUSY if takes keep changing the table.
 */
int cbt_map_read_to_user(struct cbt_map *map, u32 offset, u32 length,
			 u8 __user *buf)
{
	unsigned long flags, seq;
	unsigned int tries = 0;
	u32 done;
	u8 *page;
	int ret = 0;

	page = (u8 *)__get_free_page(GFP_KERNEL);
	if (!page)
		return -ENOMEM;
again:
	spin_lock_irqsave(&map->lock, flags);
	seq = map->seq;
	/* Written so that it cannot wrap. */
	if (offset > map->blk_count || length > map->blk_count - offset)
		ret = -EINVAL;
	spin_unlock_irqrestore(&map->lock, flags);
	if (ret)
		goto out;

	for (done = 0; done < length;) {
		u32 n = min_t(u32, length - done, PAGE_SIZE);

		spin_lock_irqsave(&map->lock, flags);
		if (map->seq != seq) {
			spin_unlock_irqrestore(&map->lock, flags);
			if (++tries > 16) {
				ret = -EBUSY;
				goto out;
			}
			goto again;
		}
		memcpy(page, map->read_map + offset + done, n);
		spin_unlock_irqrestore(&map->lock, flags);

		if (copy_to_user(buf + done, page, n)) {
			ret = -EFAULT;
			goto out;
		}
		done += n;
		cond_resched();
	}
out:
	free_page((unsigned long)page);
	return ret;
}
