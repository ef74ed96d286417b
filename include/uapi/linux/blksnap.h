/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * blksnap user-space interface: changed-block tracking and snapshots of
 * block devices.
 *
 * Control-device ioctls are issued on /dev/blksnap-control. Per-device
 * commands are BLKFILTER_CTL commands (see <linux/blk-filter.h>) sent to a
 * block device with the "blksnap" filter attached.
 *
 * The numbers and layouts below are a stable ABI: new capabilities are new
 * commands, never changes to these.
 */
#ifndef _UAPI_LINUX_BLKSNAP_H
#define _UAPI_LINUX_BLKSNAP_H

#include <linux/types.h>

#define BLKSNAP_CTL "blksnap-control"
#define BLKSNAP_IMAGE_NAME "blksnap-image"
#define BLKSNAP 'V'

/**
 * enum blkfilter_ctl_blksnap - BLKFILTER_CTL commands of the "blksnap" filter
 * @BLKFILTER_CTL_BLKSNAP_CBTINFO: get CBT information
 *	(out: &struct blksnap_cbtinfo).
 * @BLKFILTER_CTL_BLKSNAP_CBTMAP: copy part of the readable CBT table
 *	(in: &struct blksnap_cbtmap).
 * @BLKFILTER_CTL_BLKSNAP_CBTDIRTY: mark sector ranges as changed
 *	(in: &struct blksnap_cbtdirty).
 * @BLKFILTER_CTL_BLKSNAP_SNAPSHOTADD: add the device to a snapshot
 *	(in: &struct blksnap_snapshotadd).
 * @BLKFILTER_CTL_BLKSNAP_SNAPSHOTINFO: get the device's snapshot state
 *	(out: &struct blksnap_snapshotinfo).
 */
enum blkfilter_ctl_blksnap {
	BLKFILTER_CTL_BLKSNAP_CBTINFO = 0,
	BLKFILTER_CTL_BLKSNAP_CBTMAP = 1,
	BLKFILTER_CTL_BLKSNAP_CBTDIRTY = 2,
	BLKFILTER_CTL_BLKSNAP_SNAPSHOTADD = 3,
	BLKFILTER_CTL_BLKSNAP_SNAPSHOTINFO = 4,
};

/**
 * struct blksnap_uuid - 128-bit unique identifier
 * @b: the identifier's bytes.
 */
struct blksnap_uuid {
	__u8 b[16];
};

/**
 * struct blksnap_cbtinfo - result of BLKFILTER_CTL_BLKSNAP_CBTINFO
 * @device_capacity: device capacity in bytes.
 * @block_size: CBT block size in bytes.
 * @block_count: number of CBT blocks (bytes in each table).
 * @generation_id: identifier of the current table generation; a new value
 *	means that change numbers of earlier generations are meaningless.
 * @changes_number: number of the last taken snapshot.
 */
struct blksnap_cbtinfo {
	__u64 device_capacity;
	__u32 block_size;
	__u32 block_count;
	struct blksnap_uuid generation_id;
	__u8 changes_number;
};

/**
 * struct blksnap_cbtmap - argument of BLKFILTER_CTL_BLKSNAP_CBTMAP
 * @offset: first byte (block index) of the readable table to copy.
 * @length: number of bytes to copy.
 * @buffer: user-space address of a buffer of at least @length bytes.
 */
struct blksnap_cbtmap {
	__u32 offset;
	__u32 length;
	__u64 buffer;
};

/**
 * struct blksnap_sectors - a range of sectors
 * @offset: first sector.
 * @count: number of sectors.
 */
struct blksnap_sectors {
	__u64 offset;
	__u64 count;
};

/**
 * struct blksnap_cbtdirty - argument of BLKFILTER_CTL_BLKSNAP_CBTDIRTY
 * @count: number of ranges.
 * @dirty_sectors: user-space address of an array of @count
 *	&struct blksnap_sectors.
 */
struct blksnap_cbtdirty {
	__u32 count;
	__u64 dirty_sectors;
};

/**
 * struct blksnap_snapshotadd - argument of BLKFILTER_CTL_BLKSNAP_SNAPSHOTADD
 * @id: snapshot identifier.
 */
struct blksnap_snapshotadd {
	struct blksnap_uuid id;
};

#define IMAGE_DISK_NAME_LEN 32

/**
 * struct blksnap_snapshotinfo - result of BLKFILTER_CTL_BLKSNAP_SNAPSHOTINFO
 * @error_code: 0, or the negative error that corrupted the device's snapshot.
 * @image: name of the snapshot image disk, or "" when there is none.
 */
struct blksnap_snapshotinfo {
	__s32 error_code;
	__u8 image[IMAGE_DISK_NAME_LEN];
};

/**
 * enum blksnap_ioctl - control-device ioctl numbers
 * @blksnap_ioctl_version: get the module version.
 * @blksnap_ioctl_snapshot_create: create a snapshot.
 * @blksnap_ioctl_snapshot_destroy: destroy a snapshot.
 * @blksnap_ioctl_snapshot_take: take a snapshot.
 * @blksnap_ioctl_snapshot_collect: list snapshot identifiers.
 * @blksnap_ioctl_snapshot_wait_event: wait for a snapshot event.
 * @blksnap_ioctl_bdev_filter: a block-device filter command, on kernels
 *	without block-device filters (section 3.8 of the specification).
 */
enum blksnap_ioctl {
	blksnap_ioctl_version = 0,
	blksnap_ioctl_snapshot_create = 1,
	blksnap_ioctl_snapshot_destroy = 2,
	blksnap_ioctl_snapshot_take = 3,
	blksnap_ioctl_snapshot_collect = 4,
	blksnap_ioctl_snapshot_wait_event = 5,
	blksnap_ioctl_bdev_filter = 6,
};

/**
 * struct blksnap_version - module version
 * @major: major number.
 * @minor: minor number.
 * @revision: revision number.
 * @build: build number.
 */
struct blksnap_version {
	__u16 major;
	__u16 minor;
	__u16 revision;
	__u16 build;
};

/**
 * define IOCTL_BLKSNAP_VERSION - get the module version
 * (out: &struct blksnap_version).
 */
#define IOCTL_BLKSNAP_VERSION							\
	_IOR(BLKSNAP, blksnap_ioctl_version, struct blksnap_version)

/**
 * struct blksnap_snapshot_create - argument of IOCTL_BLKSNAP_SNAPSHOT_CREATE
 * @diff_storage_limit_sect: maximum size of the difference storage, in
 *	sectors.
 * @diff_storage_filename: user-space address of a NUL-terminated path: a
 *	block device, a regular file or a directory (an unnamed temporary file
 *	is created there).
 * @id: out: identifier of the new snapshot.
 */
struct blksnap_snapshot_create {
	__u64 diff_storage_limit_sect;
	__u64 diff_storage_filename;
	struct blksnap_uuid id;
};

/**
 * define IOCTL_BLKSNAP_SNAPSHOT_CREATE - create a snapshot
 * (in/out: &struct blksnap_snapshot_create).
 */
#define IOCTL_BLKSNAP_SNAPSHOT_CREATE						\
	_IOWR(BLKSNAP, blksnap_ioctl_snapshot_create,				\
	      struct blksnap_snapshot_create)

/**
 * define IOCTL_BLKSNAP_SNAPSHOT_DESTROY - destroy a snapshot
 * (in: &struct blksnap_uuid).
 */
#define IOCTL_BLKSNAP_SNAPSHOT_DESTROY						\
	_IOW(BLKSNAP, blksnap_ioctl_snapshot_destroy, struct blksnap_uuid)

/**
 * define IOCTL_BLKSNAP_SNAPSHOT_TAKE - take a snapshot
 * (in: &struct blksnap_uuid).
 */
#define IOCTL_BLKSNAP_SNAPSHOT_TAKE						\
	_IOW(BLKSNAP, blksnap_ioctl_snapshot_take, struct blksnap_uuid)

/**
 * struct blksnap_snapshot_collect - argument of IOCTL_BLKSNAP_SNAPSHOT_COLLECT
 * @count: in: number of elements at @ids; out: number of snapshots.
 * @ids: user-space address of an array of &struct blksnap_uuid, or 0 to ask
 *	for the count only.
 */
struct blksnap_snapshot_collect {
	__u32 count;
	__u64 ids;
};

/**
 * define IOCTL_BLKSNAP_SNAPSHOT_COLLECT - list snapshot identifiers
 * (in/out: &struct blksnap_snapshot_collect).
 */
#define IOCTL_BLKSNAP_SNAPSHOT_COLLECT						\
	_IOR(BLKSNAP, blksnap_ioctl_snapshot_collect,				\
	     struct blksnap_snapshot_collect)

/**
 * enum blksnap_event_codes - snapshot event codes
 * @blksnap_event_code_corrupted: the snapshot of a device is corrupted;
 *	data is &struct blksnap_event_corrupted.
 */
enum blksnap_event_codes {
	blksnap_event_code_corrupted = 0,
};

/**
 * struct blksnap_snapshot_event - argument of IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT
 * @id: snapshot identifier.
 * @timeout_ms: in: how long to wait, in milliseconds.
 * @code: out: event code (&enum blksnap_event_codes).
 * @time_label: out: time of the event (ktime, nanoseconds).
 * @data: out: event data, depending on @code.
 */
struct blksnap_snapshot_event {
	struct blksnap_uuid id;
	__u32 timeout_ms;
	__u32 code;
	__s64 time_label;
	__u8 data[4096 - 32];
};

/**
 * define IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT - wait for a snapshot event
 * (in/out: &struct blksnap_snapshot_event).
 */
#define IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT					\
	_IOR(BLKSNAP, blksnap_ioctl_snapshot_wait_event,			\
	     struct blksnap_snapshot_event)

/**
 * struct blksnap_event_corrupted - data of blksnap_event_code_corrupted
 * @dev_id_mj: major number of the original device.
 * @dev_id_mn: minor number of the original device.
 * @err_code: the negative error that corrupted the snapshot.
 */
struct blksnap_event_corrupted {
	__u32 dev_id_mj;
	__u32 dev_id_mn;
	__s32 err_code;
};

/**
 * struct blksnap_bdev_filter - argument of IOCTL_BLKSNAP_BDEV_FILTER
 * @bdev_fd: an open file descriptor of the block device (whole disk or
 *	partition).
 * @cmd: BLKFILTER_ATTACH, BLKFILTER_DETACH or BLKFILTER_CTL.
 * @arg: user pointer to that command's unchanged argument (&struct
 *	blkfilter_name or &struct blkfilter_ctl, whose optlen is written back
 *	as usual).
 *
 * The result is what the block-device ioctl @cmd returns on a kernel with
 * block-device filters. Extra errors: EBADF (bad @bdev_fd), ENOTBLK (not a
 * block device), EINVAL (unknown @cmd), EOPNOTSUPP with the "blkfilter"
 * backend (use the block-device ioctls there), EBUSY at the first attach
 * if another module already modifies submit_bio_noacct through ftrace.
 */
struct blksnap_bdev_filter {
	__s32 bdev_fd;
	__u32 cmd;
	__u64 arg;
};

/**
 * define IOCTL_BLKSNAP_BDEV_FILTER - a block-device filter command through
 * the control device (in/out: &struct blksnap_bdev_filter).
 */
#define IOCTL_BLKSNAP_BDEV_FILTER						\
	_IOWR(BLKSNAP, blksnap_ioctl_bdev_filter, struct blksnap_bdev_filter)

#endif /* _UAPI_LINUX_BLKSNAP_H */
