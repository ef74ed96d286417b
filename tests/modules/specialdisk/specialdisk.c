// SPDX-License-Identifier: GPL-2.0
/*
 * specialdisk: test-only RAM-less disks with the properties blksnap must
 * refuse to snapshot: one advertises an integrity profile, one an inline
 * encryption profile. No test machine has such hardware, so this module
 * fakes the queue properties; reads return zeroes, writes are dropped.
 */
#include <linux/blkdev.h>
#include <linux/blk-crypto-profile.h>
#include <linux/module.h>

#define SPECIALDISK_SECTORS (64 * 2048)	/* 64 MiB */

static int major;
static struct gendisk *integrity_disk, *crypto_disk;
/* Allocated: lockdep refuses keys in static module data. */
static struct blk_crypto_profile *crypto_profile;

static void specialdisk_submit_bio(struct bio *bio)
{
	if (bio_op(bio) == REQ_OP_READ)
		zero_fill_bio(bio);
	bio_endio(bio);
}

static const struct block_device_operations specialdisk_fops = {
	.owner = THIS_MODULE,
	.submit_bio = specialdisk_submit_bio,
};

static struct gendisk *specialdisk_add(struct queue_limits *lim, int minor,
				       const char *name,
				       struct blk_crypto_profile *profile)
{
	struct gendisk *disk;
	int ret;

	disk = blk_alloc_disk(lim, NUMA_NO_NODE);
	if (IS_ERR(disk))
		return disk;
	disk->major = major;
	disk->first_minor = minor;
	disk->minors = 1;
	disk->fops = &specialdisk_fops;
	strscpy(disk->disk_name, name, sizeof(disk->disk_name));
	set_capacity(disk, SPECIALDISK_SECTORS);
	if (profile && !blk_crypto_register(profile, disk->queue)) {
		put_disk(disk);
		return ERR_PTR(-EINVAL);
	}
	ret = add_disk(disk);
	if (ret) {
		put_disk(disk);
		return ERR_PTR(ret);
	}
	return disk;
}

static void specialdisk_del(struct gendisk *disk)
{
	del_gendisk(disk);
	put_disk(disk);
}

static int __init specialdisk_init(void)
{
	struct queue_limits lim = { };
	int ret;

	major = register_blkdev(0, "specialdisk");
	if (major < 0)
		return major;

	/* Tags without a checksum: an integrity profile, nothing to compute. */
	lim.integrity.tuple_size = 8;
	lim.integrity.tag_size = 8;
	lim.integrity.csum_type = BLK_INTEGRITY_CSUM_NONE;
	integrity_disk = specialdisk_add(&lim, 0, "sd_integrity", NULL);
	if (IS_ERR(integrity_disk)) {
		ret = PTR_ERR(integrity_disk);
		goto fail_blkdev;
	}

	/* A pass-through profile (no keyslots) is enough to be refused. */
	crypto_profile = kzalloc(sizeof(*crypto_profile), GFP_KERNEL);
	if (!crypto_profile) {
		ret = -ENOMEM;
		goto fail_integrity;
	}
	ret = blk_crypto_profile_init(crypto_profile, 0);
	if (ret)
		goto fail_alloc;
	crypto_profile->modes_supported[BLK_ENCRYPTION_MODE_AES_256_XTS] = 4096;
	crypto_profile->max_dun_bytes_supported = 8;
	memset(&lim, 0, sizeof(lim));
	crypto_disk = specialdisk_add(&lim, 1, "sd_crypto", crypto_profile);
	if (IS_ERR(crypto_disk)) {
		ret = PTR_ERR(crypto_disk);
		goto fail_profile;
	}
	return 0;

fail_profile:
	blk_crypto_profile_destroy(crypto_profile);
fail_alloc:
	kfree(crypto_profile);
fail_integrity:
	specialdisk_del(integrity_disk);
fail_blkdev:
	unregister_blkdev(major, "specialdisk");
	return ret;
}

static void __exit specialdisk_exit(void)
{
	specialdisk_del(crypto_disk);
	blk_crypto_profile_destroy(crypto_profile);
	kfree(crypto_profile);
	specialdisk_del(integrity_disk);
	unregister_blkdev(major, "specialdisk");
}

module_init(specialdisk_init);
module_exit(specialdisk_exit);
MODULE_DESCRIPTION("Test disks with integrity and inline-encryption profiles");
MODULE_LICENSE("GPL");
