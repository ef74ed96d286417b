/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __BLKSNAP_CBT_MAP_H
#define __BLKSNAP_CBT_MAP_H

#include <linux/types.h>
#include <linux/spinlock.h>
#include <linux/uuid.h>

struct blksnap_cbtinfo;

/**
 * struct cbt_map - changed-block tracking tables of one block device
 * @lock: protects every field below; taken with interrupts disabled.
 * @blk_size_shift: log2 of the tracking block size in bytes.
 * @blk_count: number of tracking blocks, i.e. bytes in each table.
 * @device_capacity: capacity of the device in sectors when the tables
 *	were sized.
 * @read_map: table frozen at the last take.
 * @write_map: live table, updated by every write.
 * @snap_number_active: number given to blocks written now.
 * @snap_number_previous: number of the last taken snapshot.
 * @generation_id: identifier of the current generation of numbers.
 * @is_corrupted: the tables missed a change; reset at the next take.
 * @seq: incremented whenever @read_map changes, so that a reader copying
 *	the table in pieces can detect a concurrent take.
 *
 * Both tables are allocated once, when the map is created or reset after a
 * resize; marking a write never allocates.
 */
struct cbt_map {
	spinlock_t lock; /* protects the whole map */
	unsigned int blk_size_shift;
	unsigned long blk_count;
	sector_t device_capacity;
	u8 *read_map;
	u8 *write_map;
	unsigned int snap_number_active;
	unsigned int snap_number_previous;
	uuid_t generation_id;
	bool is_corrupted;
	unsigned long seq;
};

/**
 * struct cbt_map_resize - new tables prepared for a resized device
 * @blk_size_shift: block size of the new tables.
 * @blk_count: number of blocks of the new tables.
 * @device_capacity: new capacity in sectors.
 * @read_map: new read table.
 * @write_map: new write table.
 */
struct cbt_map_resize {
	unsigned int blk_size_shift;
	unsigned long blk_count;
	sector_t device_capacity;
	u8 *read_map;
	u8 *write_map;
};

struct cbt_map *cbt_map_create(sector_t capacity);
void cbt_map_destroy(struct cbt_map *map);
void cbt_map_mark(struct cbt_map *map, sector_t sector, sector_t count,
		  bool both);
int cbt_map_switch_prepare(struct cbt_map *map, sector_t capacity,
			   struct cbt_map_resize *rs);
void cbt_map_switch(struct cbt_map *map, struct cbt_map_resize *rs);
void cbt_map_switch_finish(struct cbt_map_resize *rs);
void cbt_map_info(struct cbt_map *map, struct blksnap_cbtinfo *info);
int cbt_map_read_to_user(struct cbt_map *map, u32 offset, u32 length,
			 u8 __user *buf);

#endif /* __BLKSNAP_CBT_MAP_H */
