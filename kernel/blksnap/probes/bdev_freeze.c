// SPDX-License-Identifier: GPL-2.0
/* Kbuild probe: bdev_freeze() and bdev_thaw() (6.8 on). */
#include <linux/blkdev.h>

int blksnap_probe(struct block_device *bdev);
int blksnap_probe(struct block_device *bdev)
{
	return bdev_freeze(bdev) ?: bdev_thaw(bdev);
}
