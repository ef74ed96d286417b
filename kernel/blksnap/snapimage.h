/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __BLKSNAP_SNAPIMAGE_H
#define __BLKSNAP_SNAPIMAGE_H

#include <linux/types.h>

struct block_device;
struct diff_area;
struct snapimage;

int snapimage_init(void);
void snapimage_done(void);
struct snapimage *snapimage_create(struct diff_area *da);
void snapimage_destroy(struct snapimage *image);
bool snapimage_is_image(struct block_device *bdev);
const char *snapimage_name(struct snapimage *image);

#endif /* __BLKSNAP_SNAPIMAGE_H */
