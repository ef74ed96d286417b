// SPDX-License-Identifier: GPL-2.0
/* Kbuild probe: mounts have an ID mapping, struct mnt_idmap (6.3 on). */
#include <linux/mount.h>
#include <linux/fs.h>

struct mnt_idmap *blksnap_probe(struct vfsmount *mnt);
struct mnt_idmap *blksnap_probe(struct vfsmount *mnt)
{
	return mnt_idmap(mnt);
}
