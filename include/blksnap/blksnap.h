/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libblksnap - user-space library for the blksnap block-device filter:
 * changed-block tracking (CBT) and point-in-time snapshots.
 *
 * Every function that talks to the kernel returns 0 (or a non-negative
 * value documented with the function) on success and a negative errno
 * value on failure; errno itself is left unspecified. Arguments are
 * checked before any system call: a NULL pointer or an impossible size
 * gives -EINVAL without touching the kernel.
 *
 * blksnap_strerror() turns an error of the last failed call of the calling
 * thread into a message that says what went wrong (and what to do, where
 * that does not depend on the program: the messages name no command of the
 * blksnap tool).
 *
 * Memory returned through a pointer-to-pointer argument is allocated with
 * malloc() and released by the caller with free().
 */
#ifndef BLKSNAP_BLKSNAP_H
#define BLKSNAP_BLKSNAP_H

#include <stddef.h>
#include <stdint.h>
#include <linux/blk-filter.h>
#include <linux/blksnap.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BLKSNAP_LIB_VERSION_MAJOR 1
#define BLKSNAP_LIB_VERSION_MINOR 0
#define BLKSNAP_LIB_VERSION_PATCH 0

/* Name of the filter registered by the blksnap module. */
#define BLKSNAP_FILTER_NAME "blksnap"
/* Path of the blksnap control device. */
#define BLKSNAP_CONTROL_PATH "/dev/" BLKSNAP_CTL
/*
 * Where the loaded module names its filter backend: "blkfilter" (the
 * kernel's block-device filters, BLKFILTER_* ioctls on the block device) or
 * "ftrace" (the module's own hook on a kernel without them: the same
 * commands through IOCTL_BLKSNAP_BDEV_FILTER on the control device).
 */
#define BLKSNAP_FILTER_BACKEND_PARAM "/sys/module/blksnap/parameters/filter_backend"
/* Size of a buffer for the text form of a UUID, NUL included. */
#define BLKSNAP_UUID_STR_LEN 37
/* Size of a sector: the unit of struct blksnap_sectors. */
#define BLKSNAP_SECTOR_SIZE 512

/*
 * Positive result of blksnap_changed_ranges() and blksnap_changes_since():
 * the CBT data cannot tell what changed since the requested point (other
 * table generation, or a change number the device has not reached), so the
 * caller must copy the whole device.
 */
#define BLKSNAP_FULL_BACKUP_NEEDED 1

/* Version of the library that is running (not the one compiled against). */
void blksnap_lib_version(unsigned int *major, unsigned int *minor,
			 unsigned int *patch);

/*
 * Operations, used as the context of error messages. Each failing library
 * call records its operation for blksnap_strerror(); blksnap_last_op()
 * returns it.
 */
enum blksnap_op {
	BLKSNAP_OP_NONE = 0,
	BLKSNAP_OP_OPEN_CONTROL,	/* opening /dev/blksnap-control */
	BLKSNAP_OP_OPEN_DEVICE,		/* opening a block device */
	BLKSNAP_OP_VERSION,
	BLKSNAP_OP_SNAPSHOT_CREATE,
	BLKSNAP_OP_SNAPSHOT_DESTROY,
	BLKSNAP_OP_SNAPSHOT_TAKE,
	BLKSNAP_OP_SNAPSHOT_COLLECT,
	BLKSNAP_OP_SNAPSHOT_WAIT_EVENT,
	BLKSNAP_OP_FILTER_ATTACH,
	BLKSNAP_OP_FILTER_DETACH,
	BLKSNAP_OP_FILTER_CTL,		/* BLKFILTER_CTL with another command */
	BLKSNAP_OP_CBTINFO,
	BLKSNAP_OP_CBTMAP,
	BLKSNAP_OP_CBTDIRTY,
	BLKSNAP_OP_SNAPSHOT_ADD,
	BLKSNAP_OP_SNAPSHOT_INFO,
	BLKSNAP_OP_UUID_PARSE,
	BLKSNAP_OP_CHANGES,		/* computing changed ranges */
	BLKSNAP_OP_MAX
};

/* Operation of the last failed library call in this thread. */
enum blksnap_op blksnap_last_op(void);
/* Short name of an operation ("snapshot take", "attach", ...). */
const char *blksnap_op_name(enum blksnap_op op);
/*
 * Message for the result @err of operation @op: a negative errno value as
 * returned by the library, or BLKSNAP_FULL_BACKUP_NEEDED (other positive
 * values are taken as errno values). Never NULL; the string is static.
 */
const char *blksnap_strerror_op(enum blksnap_op op, int err);
/* blksnap_strerror_op(blksnap_last_op(), err). */
const char *blksnap_strerror(int err);

/* ---- UUIDs ------------------------------------------------------------ */

/* Parse the canonical 36-character form; -EINVAL if it is not one. */
int blksnap_uuid_parse(const char *text, struct blksnap_uuid *id);
/* Write the lower-case canonical form; @size >= BLKSNAP_UUID_STR_LEN. */
int blksnap_uuid_format(const struct blksnap_uuid *id, char *buf,
			size_t size);
/* 1 if both are equal, 0 if not (or either is NULL). */
int blksnap_uuid_equal(const struct blksnap_uuid *a,
		       const struct blksnap_uuid *b);
/* 1 if all bytes are zero. */
int blksnap_uuid_is_null(const struct blksnap_uuid *id);

/* ---- opening ------------------------------------------------------------ */

/* Open /dev/blksnap-control; returns the fd or -errno. */
int blksnap_open_control(void);
/* Open a block device for filter ioctls; returns the fd or -errno
 * (-ENOTBLK if @path is not a block device). */
int blksnap_open_device(const char *path);

/* ---- block-device filters (any filter name) ------------------------------ */

/*
 * The loaded module's filter backend: sets *@name to "blkfilter" or
 * "ftrace" and returns 0, or returns -ENOENT when no blksnap module is
 * loaded (or one without the parameter), -EPROTO for an unknown name.
 * The filter functions below use it to choose the path of their commands
 * (the block device's own ioctls, or the control device), so callers
 * need not care.
 */
int blksnap_filter_backend(const char **name);

int blksnap_filter_attach(int dev_fd, const char *filter);
int blksnap_filter_detach(int dev_fd, const char *filter);
/*
 * BLKFILTER_CTL: @opt points to @*optlen bytes; on success @*optlen is set
 * to the length the filter wrote back. @opt may be NULL only if @*optlen is 0.
 */
int blksnap_filter_ctl(int dev_fd, const char *filter, uint32_t cmd,
		       void *opt, uint32_t *optlen);
/* The same, opening and closing @dev_path. */
int blksnap_filter_attach_path(const char *dev_path, const char *filter);
int blksnap_filter_detach_path(const char *dev_path, const char *filter);
int blksnap_filter_ctl_path(const char *dev_path, const char *filter,
			    uint32_t cmd, void *opt, uint32_t *optlen);

/* ---- blksnap per-device commands (BLKFILTER_CTL, filter "blksnap") ----- */

/*
 * Each is named after the command it sends (BLKFILTER_CTL_BLKSNAP_CBTDIRTY:
 * blksnap_cbtdirty()); the blksnap tool's names for them are cbtinfo,
 * markdirty (blksnap_cbtdirty), snapshot add and snapshot info, and its
 * readcbtmap is blksnap_read_cbt().
 */

int blksnap_cbtinfo(int dev_fd, struct blksnap_cbtinfo *info);
/* Copy @length bytes of the readable CBT table from block @offset. */
int blksnap_cbtmap(int dev_fd, uint32_t offset, uint32_t length, void *buf);
/* Mark @count sector ranges as changed (count >= 1). */
int blksnap_cbtdirty(int dev_fd, const struct blksnap_sectors *ranges,
		     uint32_t count);
int blksnap_snapshot_add(int dev_fd, const struct blksnap_uuid *id);
int blksnap_snapshot_info(int dev_fd, struct blksnap_snapshotinfo *info);

/* ---- control-device commands ---------------------------------------------- */

int blksnap_version(int ctl_fd, struct blksnap_version *ver);
/*
 * Create a snapshot whose difference storage is @diff_storage (block
 * device, regular file or directory) limited to @limit_sect sectors.
 */
int blksnap_snapshot_create(int ctl_fd, const char *diff_storage,
			    uint64_t limit_sect, struct blksnap_uuid *id);
int blksnap_snapshot_destroy(int ctl_fd, const struct blksnap_uuid *id);
int blksnap_snapshot_take(int ctl_fd, const struct blksnap_uuid *id);
/*
 * Raw IOCTL_BLKSNAP_SNAPSHOT_COLLECT: @*count is the capacity of @ids on
 * input (@ids may be NULL to ask for the count) and the number of
 * snapshots on output, also when -ENODATA says the array is too small.
 */
int blksnap_snapshot_collect(int ctl_fd, struct blksnap_uuid *ids,
			     uint32_t *count);
/* All snapshot ids in a new array (NULL when there are none). */
int blksnap_snapshot_collect_all(int ctl_fd, struct blksnap_uuid **ids,
				 uint32_t *count);
/*
 * Wait up to @timeout_ms for the next event of snapshot @id. -ENOENT on
 * timeout, -EINTR when interrupted by a signal, -ESRCH if the snapshot
 * does not exist (any more).
 */
int blksnap_snapshot_wait_event(int ctl_fd, const struct blksnap_uuid *id,
				uint32_t timeout_ms,
				struct blksnap_snapshot_event *event);
/*
 * Decode the data of a blksnap_event_code_corrupted event; -EINVAL if
 * @event has another code.
 */
int blksnap_event_corrupted(const struct blksnap_snapshot_event *event,
			    struct blksnap_event_corrupted *data);
/* Name of an event code ("corrupted"), or "unknown". */
const char *blksnap_event_name(uint32_t code);

/* ---- CBT helpers ------------------------------------------------------------ */

/*
 * Read the CBT information and the whole readable table in one call:
 * *@map gets a new array of info->block_count bytes. The information is
 * read again after the table and the read repeated if a snapshot was
 * taken meanwhile, so that @info and @map match.
 */
int blksnap_read_cbt(int dev_fd, struct blksnap_cbtinfo *info,
		     uint8_t **map);

/*
 * Sector ranges changed since snapshot number @since of table generation
 * @generation, computed from a CBT table: blocks whose value is greater
 * than @since, adjacent blocks merged into one range, the last range
 * clipped to the device capacity. @map holds @map_len >= info->block_count
 * bytes. *@ranges gets a new array of *@count ranges (NULL if none).
 *
 * Returns 0, BLKSNAP_FULL_BACKUP_NEEDED (with no ranges) if @generation is
 * not info->generation_id or @since > info->changes_number, or -errno.
 * @generation may be NULL to skip the generation check.
 */
int blksnap_changed_ranges(const struct blksnap_cbtinfo *info,
			   const uint8_t *map, size_t map_len,
			   const struct blksnap_uuid *generation,
			   unsigned int since, struct blksnap_sectors **ranges,
			   size_t *count);

/* blksnap_read_cbt() + blksnap_changed_ranges(); @info may be NULL. */
int blksnap_changes_since(int dev_fd, const struct blksnap_uuid *generation,
			  unsigned int since, struct blksnap_cbtinfo *info,
			  struct blksnap_sectors **ranges, size_t *count);

#ifdef __cplusplus
}
#endif

#endif /* BLKSNAP_BLKSNAP_H */
