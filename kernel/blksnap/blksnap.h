/* SPDX-License-Identifier: GPL-2.0 */
/*
 * blksnap: definitions shared by every part of the module.
 */
#ifndef __BLKSNAP_H
#define __BLKSNAP_H

#include <linux/types.h>
#include <linux/workqueue.h>

#define BLKSNAP_VERSION_MAJOR		2
#define BLKSNAP_VERSION_MINOR		0
#define BLKSNAP_VERSION_REVISION	0
#define BLKSNAP_VERSION_BUILD		0

/* Module parameters, validated once at load time (see main.c). */
extern unsigned int tracking_block_minimum_shift;
extern unsigned int tracking_block_maximum_count;
extern unsigned int tracking_block_maximum_shift;
extern unsigned int chunk_minimum_shift;
extern unsigned int chunk_maximum_count_shift;
extern unsigned int chunk_maximum_shift;
extern unsigned int chunk_maximum_in_queue;
extern unsigned int free_diff_buffer_pool_size;
extern unsigned long diff_storage_minimum;

/* Work queue of every deferred job of the module (I/O path: reclaim-safe). */
extern struct workqueue_struct *blksnap_wq;

#endif /* __BLKSNAP_H */
