// SPDX-License-Identifier: GPL-2.0
/* Kbuild probe: block devices are opened as files (6.9 on). */
#include <linux/blkdev.h>

struct file *blksnap_probe(dev_t dev);
struct file *blksnap_probe(dev_t dev)
{
	return bdev_file_open_by_dev(dev, BLK_OPEN_READ, NULL, NULL);
}
