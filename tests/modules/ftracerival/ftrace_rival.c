// SPDX-License-Identifier: GPL-2.0
/*
 * Test module: another user of an ftrace hook that may modify
 * submit_bio_noacct() (FTRACE_OPS_FL_IPMODIFY), like a livepatch or another
 * block-device filter module. While it is loaded, blksnap's ftrace backend
 * cannot hook the function and its first attach must fail cleanly.
 *
 *   insmod ftrace_rival.ko [func=submit_bio_noacct]
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ftrace.h>
#include <linux/module.h>
#include <linux/string.h>

static char *func = "submit_bio_noacct";
module_param(func, charp, 0444);
MODULE_PARM_DESC(func, "Function to hook (default submit_bio_noacct)");

/* Claims the right to change the IP, never uses it. */
static void notrace rival_hook(unsigned long ip, unsigned long parent_ip,
			       struct ftrace_ops *ops,
			       struct ftrace_regs *fregs)
{
}

static struct ftrace_ops rival_ops = {
	.func = rival_hook,
	.flags = FTRACE_OPS_FL_IPMODIFY | FTRACE_OPS_FL_DYNAMIC
#ifndef CONFIG_HAVE_DYNAMIC_FTRACE_WITH_ARGS
		 | FTRACE_OPS_FL_SAVE_REGS
#endif
};

static int __init rival_init(void)
{
	int ret;

	ret = ftrace_set_filter(&rival_ops, func, strlen(func), 0);
	if (ret)
		return ret;
	ret = register_ftrace_function(&rival_ops);
	if (ret) {
		ftrace_set_filter(&rival_ops, NULL, 0, 1);
		return ret;
	}
	pr_info("hooked %s\n", func);
	return 0;
}

static void __exit rival_exit(void)
{
	unregister_ftrace_function(&rival_ops);
	ftrace_set_filter(&rival_ops, NULL, 0, 1);
}

module_init(rival_init);
module_exit(rival_exit);
MODULE_DESCRIPTION("blksnap test: a rival IPMODIFY ftrace user");
MODULE_LICENSE("GPL");
