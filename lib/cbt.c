// SPDX-License-Identifier: LGPL-2.1-or-later
/* Reading CBT tables and turning them into changed sector ranges. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

static int same_info(const struct blksnap_cbtinfo *a,
		     const struct blksnap_cbtinfo *b)
{
	return a->device_capacity == b->device_capacity &&
	       a->block_size == b->block_size &&
	       a->block_count == b->block_count &&
	       a->changes_number == b->changes_number &&
	       blksnap_uuid_equal(&a->generation_id, &b->generation_id);
}

BLKSNAP_API int blksnap_read_cbt(int dev_fd, struct blksnap_cbtinfo *info,
				 uint8_t **map)
{
	struct blksnap_cbtinfo after;
	uint8_t *buf = NULL;
	int rc = 0, tries;

	if (!info || !map)
		return blksnap__fail(BLKSNAP_OP_CBTINFO, -EINVAL);
	*map = NULL;
	for (tries = 0; tries < BLKSNAP_READ_CBT_TRIES; tries++) {
		uint32_t off, len;

		rc = blksnap_cbtinfo(dev_fd, info);
		if (rc < 0)
			break;
		free(buf);
		/* Never NULL, even for an empty table. */
		buf = malloc(info->block_count ? info->block_count : 1);
		if (!buf) {
			rc = blksnap__fail(BLKSNAP_OP_CBTMAP, -ENOMEM);
			break;
		}
		for (off = 0; off < info->block_count; off += len) {
			len = info->block_count - off;
			if (len > BLKSNAP_CBTMAP_CHUNK)
				len = BLKSNAP_CBTMAP_CHUNK;
			rc = blksnap_cbtmap(dev_fd, off, len, buf + off);
			if (rc < 0)
				break;
		}
		/* EINVAL from CBTMAP may mean the table shrank: check below. */
		if (rc < 0 && rc != -EINVAL)
			break;
		{
			int rc2 = blksnap_cbtinfo(dev_fd, &after);

			if (rc2 < 0) {
				rc = rc2;
				break;
			}
		}
		if (same_info(info, &after)) {
			if (rc < 0)
				break;
			*map = buf;
			return 0;
		}
		rc = -EAGAIN;
	}
	free(buf);
	return blksnap__fail(rc == -EAGAIN ? BLKSNAP_OP_CHANGES : blksnap_last_op(), rc);
}

BLKSNAP_API int blksnap_changed_ranges(const struct blksnap_cbtinfo *info,
				       const uint8_t *map, size_t map_len,
				       const struct blksnap_uuid *generation,
				       unsigned int since,
				       struct blksnap_sectors **ranges,
				       size_t *count)
{
	struct blksnap_sectors *out = NULL, *tmp;
	size_t n = 0, cap = 0;
	uint64_t cap_sect, blk_sect;
	uint32_t b;

	if (ranges)
		*ranges = NULL;
	if (count)
		*count = 0;
	if (!info || !ranges || !count || (!map && info->block_count) ||
	    map_len < info->block_count || info->block_size == 0 ||
	    info->block_size % BLKSNAP_SECTOR_SIZE)
		return blksnap__fail(BLKSNAP_OP_CHANGES, -EINVAL);
	if ((generation && !blksnap_uuid_equal(generation, &info->generation_id)) ||
	    since > info->changes_number)
		return BLKSNAP_FULL_BACKUP_NEEDED;

	cap_sect = (info->device_capacity + BLKSNAP_SECTOR_SIZE - 1) /
		   BLKSNAP_SECTOR_SIZE;
	blk_sect = info->block_size / BLKSNAP_SECTOR_SIZE;
	for (b = 0; b < info->block_count; b++) {
		uint64_t start = (uint64_t)b * blk_sect, end = start + blk_sect;

		if (map[b] <= since)
			continue;
		if (start >= cap_sect)
			break;
		if (end > cap_sect)
			end = cap_sect;
		if (n && out[n - 1].offset + out[n - 1].count == start) {
			out[n - 1].count += end - start;
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			tmp = realloc(out, cap * sizeof(*out));
			if (!tmp) {
				free(out);
				return blksnap__fail(BLKSNAP_OP_CHANGES, -ENOMEM);
			}
			out = tmp;
		}
		out[n].offset = start;
		out[n].count = end - start;
		n++;
	}
	*ranges = out;
	*count = n;
	return 0;
}

BLKSNAP_API int blksnap_changes_since(int dev_fd,
				      const struct blksnap_uuid *generation,
				      unsigned int since,
				      struct blksnap_cbtinfo *info,
				      struct blksnap_sectors **ranges,
				      size_t *count)
{
	struct blksnap_cbtinfo local;
	uint8_t *map;
	int rc;

	if (ranges)
		*ranges = NULL;
	if (count)
		*count = 0;
	if (!ranges || !count)
		return blksnap__fail(BLKSNAP_OP_CHANGES, -EINVAL);
	if (!info)
		info = &local;
	rc = blksnap_read_cbt(dev_fd, info, &map);
	if (rc < 0)
		return rc;
	rc = blksnap_changed_ranges(info, map, info->block_count, generation,
				    since, ranges, count);
	free(map);
	return rc;
}
