// SPDX-License-Identifier: GPL-2.0
/*
 * Counts of the module's live objects, shown in debugfs as
 * blksnap/objects ("<kind> <count>" per line) and checked at unload.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include "objcount.h"

atomic_long_t blksnap_objects[BLKSNAP_OBJ_COUNT];

static const char *const blksnap_obj_names[BLKSNAP_OBJ_COUNT] = {
	[BLKSNAP_OBJ_TRACKER] = "tracker",
	[BLKSNAP_OBJ_CBT_MAP] = "cbt_map",
	[BLKSNAP_OBJ_SNAPSHOT] = "snapshot",
	[BLKSNAP_OBJ_SNAPSHOT_DEVICE] = "snapshot_device",
	[BLKSNAP_OBJ_EVENT] = "event",
	[BLKSNAP_OBJ_EVENT_QUEUE] = "event_queue",
	[BLKSNAP_OBJ_DIFF_STORAGE] = "diff_storage",
	[BLKSNAP_OBJ_DIFF_AREA] = "diff_area",
	[BLKSNAP_OBJ_CHUNK] = "chunk",
	[BLKSNAP_OBJ_DIFF_BUFFER] = "diff_buffer",
	[BLKSNAP_OBJ_BUFFER_PAGE] = "buffer_page",
	[BLKSNAP_OBJ_IMAGE] = "image",
	[BLKSNAP_OBJ_FILTER] = "filter",
};

static int objects_show(struct seq_file *m, void *v)
{
	int i;

	for (i = 0; i < BLKSNAP_OBJ_COUNT; i++)
		seq_printf(m, "%s %ld\n", blksnap_obj_names[i],
			   atomic_long_read(&blksnap_objects[i]));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(objects);

/**
 * blksnap_objcount_init() - publish the counts in debugfs
 * @dir: the module's debugfs folder.
 *
 * Without debugfs the counts are still kept and checked at unload.
 */
void blksnap_objcount_init(struct dentry *dir)
{
	debugfs_create_file("objects", 0400, dir, NULL, &objects_fops);
}

/**
 * blksnap_objcount_done() - check that every object was freed (unload)
 *
 * Called last, when no work of the module can run any more: a count that
 * is not zero is a leak.
 */
void blksnap_objcount_done(void)
{
	bool leaked = false;
	long n;
	int i;

	for (i = 0; i < BLKSNAP_OBJ_COUNT; i++) {
		n = atomic_long_read(&blksnap_objects[i]);
		if (n) {
			pr_err("%ld objects of kind %s not freed\n", n,
			       blksnap_obj_names[i]);
			leaked = true;
		}
	}
	WARN_ON(leaked);
}
