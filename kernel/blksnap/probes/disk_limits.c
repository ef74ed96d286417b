// SPDX-License-Identifier: GPL-2.0
/* Kbuild probe: a disk gets its queue limits when allocated (6.9 on). */
#include <linux/blkdev.h>

struct gendisk *blksnap_probe(struct queue_limits *lim);
struct gendisk *blksnap_probe(struct queue_limits *lim)
{
	return blk_alloc_disk(lim, NUMA_NO_NODE);
}
