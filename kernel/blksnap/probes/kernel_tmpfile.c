// SPDX-License-Identifier: GPL-2.0
/* Kbuild probe: kernel_tmpfile_open() (6.5 on; vfs_tmpfile_open() before). */
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/mount.h>

struct file *blksnap_probe(const struct path *dir);
struct file *blksnap_probe(const struct path *dir)
{
	return kernel_tmpfile_open(mnt_idmap(dir->mnt), dir, S_IFREG | 0600,
				   O_RDWR, current_cred());
}
