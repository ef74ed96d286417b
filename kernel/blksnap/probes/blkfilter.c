// SPDX-License-Identifier: GPL-2.0
/*
 * Kbuild probe: the kernel has the block-device filter framework (our
 * blkfilter series), whose <linux/blk-filter.h> declares
 * resubmit_filtered_bio().
 */
#include <linux/blk-filter.h>

void *blksnap_probe(void);
void *blksnap_probe(void)
{
	return resubmit_filtered_bio;
}
