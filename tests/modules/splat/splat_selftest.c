// SPDX-License-Identifier: GPL-2.0
/*
 * Harness self-test: a module that misbehaves on purpose, so that the test
 * runner can prove it notices kernel splats. Never load it outside
 * tests/selftest.
 *
 *   insmod splat_selftest.ko mode=warn|uaf|leak
 */
#include <linux/module.h>
#include <linux/slab.h>

static char *mode = "none";
module_param(mode, charp, 0444);
MODULE_PARM_DESC(mode, "warn: WARN once; uaf: use after free (KASAN); leak: leak 1 KiB (kmemleak)");

/* Out of line, so that the compiler keeps the access after kfree(). */
static noinline u8 read_byte(u8 *p)
{
	return READ_ONCE(*p);
}

/*
 * Outside .init.text, which is freed after loading: kmemleak's backtrace
 * must name this module.
 */
static noinline int splat_leak(void)
{
	u8 *p = kmalloc(1024, GFP_KERNEL);

	if (!p)
		return -ENOMEM;
	memset(p, 0x5a, 1024);
	pr_info("splat_selftest: leaked one object at %p\n", p);
	return 0;
}

static int __init splat_selftest_init(void)
{
	u8 *p;

	if (!strcmp(mode, "warn")) {
		WARN(1, "splat_selftest: deliberate warning\n");
	} else if (!strcmp(mode, "uaf")) {
		p = kmalloc(64, GFP_KERNEL);
		if (!p)
			return -ENOMEM;
		kfree(p);
		pr_info("splat_selftest: read after free: %u\n", read_byte(p + 8));
	} else if (!strcmp(mode, "leak")) {
		return splat_leak();
	} else if (strcmp(mode, "none")) {
		return -EINVAL;
	}
	return 0;
}

static void __exit splat_selftest_exit(void)
{
}

module_init(splat_selftest_init);
module_exit(splat_selftest_exit);
MODULE_DESCRIPTION("blksnap test harness self-test: deliberate splats");
MODULE_LICENSE("GPL");
