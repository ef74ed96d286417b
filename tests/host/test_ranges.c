// SPDX-License-Identifier: GPL-2.0-or-later
/* Changed sector ranges computed from synthetic CBT tables. */
#include <errno.h>
#include <stdlib.h>
#include <blksnap/blksnap.h>
#include "tap.h"

static struct blksnap_uuid gen_a = { { 0xa1, 0xa2, 0xa3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 } };
static struct blksnap_uuid gen_b = { { 0xb1, 0xb2, 0xb3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 } };

static struct blksnap_cbtinfo mkinfo(uint64_t cap, uint32_t bs, uint32_t count, uint8_t changes)
{
	struct blksnap_cbtinfo i;

	memset(&i, 0, sizeof(i));
	i.device_capacity = cap;
	i.block_size = bs;
	i.block_count = count;
	i.generation_id = gen_a;
	i.changes_number = changes;
	return i;
}

/*
 * Check @r/@n against the definition: exactly the sectors of blocks with
 * map[b] > since that lie below the capacity, sorted, merged, non-empty.
 */
static int check_ranges(const struct blksnap_cbtinfo *info, const uint8_t *map,
			unsigned int since, const struct blksnap_sectors *r, size_t n)
{
	uint64_t cap = (info->device_capacity + 511) / 512, bs = info->block_size / 512;
	size_t k = 0;
	uint32_t b;

	for (size_t i = 0; i < n; i++) {
		if (r[i].count == 0 || r[i].offset + r[i].count > cap)
			return 0;
		if (i && r[i - 1].offset + r[i - 1].count >= r[i].offset)
			return 0;	/* unsorted, overlapping or not merged */
	}
	/* Walk the blocks: each sector of a changed block must be covered. */
	for (b = 0; b < info->block_count; b++) {
		uint64_t s = (uint64_t)b * bs, e = s + bs;
		int changed = map[b] > since;

		if (s >= cap)
			break;
		if (e > cap)
			e = cap;
		while (k < n && r[k].offset + r[k].count <= s)
			k++;
		if (changed) {
			if (k == n || r[k].offset > s || r[k].offset + r[k].count < e)
				return 0;
		} else if (k < n && r[k].offset < e) {
			return 0;
		}
	}
	return 1;
}

static void random_tables(void)
{
	unsigned int seed, fails = 0;

	for (seed = 1; seed <= 40; seed++) {
		uint32_t count = 1000 + seed * 97, b;
		uint32_t bs = 512u << (seed % 8);
		uint64_t cap = (uint64_t)count * bs - (seed % 3) * 512 - (seed % 5 == 0 ? bs / 2 : 0);
		struct blksnap_cbtinfo info = mkinfo(cap, bs, count, 5);
		uint8_t *map = malloc(count);
		struct blksnap_sectors *r;
		size_t n;

		srand(seed);
		for (b = 0; b < count; b++)
			map[b] = (uint8_t)(rand() % (seed % 4 == 0 ? 2 : 7));
		for (unsigned int since = 0; since <= 5; since++) {
			if (blksnap_changed_ranges(&info, map, count, &gen_a, since, &r, &n) ||
			    !check_ranges(&info, map, since, r, n))
				fails++;
			free(r);
		}
		free(map);
	}
	ok_eq(fails, 0, "ranges: 40 random tables x 6 change numbers match the definition");
}

void test_ranges(void)
{
	/* 1 MiB device, 64 KiB blocks: 16 blocks of 128 sectors. */
	struct blksnap_cbtinfo info = mkinfo(1 << 20, 65536, 16, 3);
	uint8_t map[16];
	struct blksnap_sectors *r = (void *)1;
	size_t n = 99, i;
	int rc;

	memset(map, 0, sizeof(map));
	rc = blksnap_changed_ranges(&info, map, sizeof(map), &gen_a, 0, &r, &n);
	ok(rc == 0 && n == 0 && r == NULL, "ranges: all-zero table gives no range");

	memset(map, 1, sizeof(map));
	rc = blksnap_changed_ranges(&info, map, sizeof(map), &gen_a, 0, &r, &n);
	ok(rc == 0 && n == 1 && r[0].offset == 0 && r[0].count == 2048,
	   "ranges: all-changed table gives one range of the whole device");
	free(r);

	rc = blksnap_changed_ranges(&info, map, sizeof(map), &gen_a, 1, &r, &n);
	ok(rc == 0 && n == 0, "ranges: values equal to N are not changes since N");
	free(r);

	for (i = 0; i < 16; i++)
		map[i] = i % 2 ? 2 : 0;
	rc = blksnap_changed_ranges(&info, map, sizeof(map), &gen_a, 1, &r, &n);
	ok_eq(n, 8, "ranges: alternating table gives 8 ranges");
	for (i = 0; i < n && r[i].offset == (2 * i + 1) * 128 && r[i].count == 128; i++)
		;
	ok(rc == 0 && i == 8, "ranges: alternating ranges are the odd blocks");
	free(r);

	for (i = 0; i < 16; i++)
		map[i] = (uint8_t)(i / 4);	/* 0 0 0 0 1 1 1 1 2 2 2 2 3 3 3 3 */
	rc = blksnap_changed_ranges(&info, map, sizeof(map), &gen_a, 2, &r, &n);
	ok(rc == 0 && n == 1 && r[0].offset == 12 * 128 && r[0].count == 4 * 128,
	   "ranges: only blocks newer than N, adjacent blocks merged");
	free(r);
	rc = blksnap_changed_ranges(&info, map, sizeof(map), &gen_a, 0, &r, &n);
	ok(rc == 0 && n == 1 && r[0].offset == 4 * 128 && r[0].count == 12 * 128,
	   "ranges: N=0 gives every block written in this generation");
	free(r);

	rc = blksnap_changed_ranges(&info, map, sizeof(map), &gen_a, 3, &r, &n);
	ok(rc == 0 && n == 0 && r == NULL, "ranges: N = changes_number gives no range");

	r = (void *)1;
	n = 5;
	rc = blksnap_changed_ranges(&info, map, sizeof(map), &gen_a, 4, &r, &n);
	ok(rc == BLKSNAP_FULL_BACKUP_NEEDED && n == 0 && r == NULL,
	   "ranges: N newer than changes_number -> full backup needed");
	rc = blksnap_changed_ranges(&info, map, sizeof(map), &gen_a, 300, &r, &n);
	ok_eq(rc, BLKSNAP_FULL_BACKUP_NEEDED, "ranges: N > 255 -> full backup needed");
	rc = blksnap_changed_ranges(&info, map, sizeof(map), &gen_b, 0, &r, &n);
	ok(rc == BLKSNAP_FULL_BACKUP_NEEDED && n == 0 && r == NULL,
	   "ranges: other generation -> full backup needed");
	rc = blksnap_changed_ranges(&info, map, sizeof(map), NULL, 2, &r, &n);
	ok(rc == 0 && n == 1, "ranges: NULL generation skips the generation check");
	free(r);

	/* Last block short: capacity 1 MiB - 4 KiB. */
	info = mkinfo((1 << 20) - 4096, 65536, 16, 1);
	memset(map, 1, sizeof(map));
	rc = blksnap_changed_ranges(&info, map, sizeof(map), &gen_a, 0, &r, &n);
	ok(rc == 0 && n == 1 && r[0].offset == 0 && r[0].count == 2048 - 8,
	   "ranges: last short block clipped to the capacity");
	free(r);
	memset(map, 0, sizeof(map));
	map[15] = 1;
	rc = blksnap_changed_ranges(&info, map, sizeof(map), &gen_a, 0, &r, &n);
	ok(rc == 0 && n == 1 && r[0].offset == 15 * 128 && r[0].count == 120,
	   "ranges: only the short last block");
	free(r);

	/* Table longer than the device: blocks past the end are ignored. */
	info = mkinfo(2 * 65536, 65536, 16, 1);
	memset(map, 1, sizeof(map));
	rc = blksnap_changed_ranges(&info, map, sizeof(map), &gen_a, 0, &r, &n);
	ok(rc == 0 && n == 1 && r[0].count == 256, "ranges: blocks past the capacity ignored");
	free(r);

	/* Capacity not a multiple of 512: the partial sector counts. */
	info = mkinfo(1000, 512, 2, 1);
	rc = blksnap_changed_ranges(&info, map, 2, &gen_a, 0, &r, &n);
	ok(rc == 0 && n == 1 && r[0].count == 2, "ranges: partial last sector included");
	free(r);

	/* 64 MiB blocks, offsets beyond 32 bits. */
	{
		uint32_t count = 70000;
		uint8_t *big = calloc(count, 1);

		info = mkinfo((uint64_t)count << 26, 1u << 26, count, 9);
		big[count - 1] = 9;
		big[40000] = 9;
		big[40001] = 9;
		rc = blksnap_changed_ranges(&info, big, count, &gen_a, 8, &r, &n);
		ok(rc == 0 && n == 2 && r[0].offset == 40000ULL << 17 &&
		   r[0].count == 2ULL << 17 && r[1].offset == (uint64_t)(count - 1) << 17,
		   "ranges: 64 MiB blocks, sector offsets above 2^32");
		free(r);
		free(big);
	}

	/* Empty table. */
	info = mkinfo(0, 65536, 0, 0);
	rc = blksnap_changed_ranges(&info, NULL, 0, &gen_a, 0, &r, &n);
	ok(rc == 0 && n == 0 && r == NULL, "ranges: empty table");

	/* Bad arguments. */
	info = mkinfo(1 << 20, 65536, 16, 3);
	ok_eq(blksnap_changed_ranges(NULL, map, 16, &gen_a, 0, &r, &n), -EINVAL, "ranges: NULL info");
	ok_eq(blksnap_changed_ranges(&info, NULL, 16, &gen_a, 0, &r, &n), -EINVAL, "ranges: NULL map");
	ok_eq(blksnap_changed_ranges(&info, map, 15, &gen_a, 0, &r, &n), -EINVAL, "ranges: map shorter than block_count");
	ok_eq(blksnap_changed_ranges(&info, map, 16, &gen_a, 0, NULL, &n), -EINVAL, "ranges: NULL ranges");
	ok_eq(blksnap_changed_ranges(&info, map, 16, &gen_a, 0, &r, NULL), -EINVAL, "ranges: NULL count");
	info.block_size = 0;
	ok_eq(blksnap_changed_ranges(&info, map, 16, &gen_a, 0, &r, &n), -EINVAL, "ranges: block size 0");
	info.block_size = 1000;
	ok_eq(blksnap_changed_ranges(&info, map, 16, &gen_a, 0, &r, &n), -EINVAL, "ranges: block size not a sector multiple");

	random_tables();
}
