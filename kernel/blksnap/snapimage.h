/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __BLKSNAP_SNAPIMAGE_H
#define __BLKSNAP_SNAPIMAGE_H

struct diff_area;
struct snapimage;

struct snapimage *snapimage_create(struct diff_area *da);
void snapimage_destroy(struct snapimage *image);
const char *snapimage_name(struct snapimage *image);

#endif /* __BLKSNAP_SNAPIMAGE_H */
