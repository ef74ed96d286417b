// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Error messages that say what went wrong and, where the remedy does not
 * depend on the program, what to do about it. They never name a command of
 * the blksnap tool: the library serves every program, and the tool adds its
 * own advice to the messages it prints (tools/output.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include "internal.h"

static _Thread_local enum blksnap_op last_op = BLKSNAP_OP_NONE;

int blksnap__fail(enum blksnap_op op, int err)
{
	last_op = op;
	return err;
}

BLKSNAP_API enum blksnap_op blksnap_last_op(void)
{
	return last_op;
}

BLKSNAP_API void blksnap_lib_version(unsigned int *major, unsigned int *minor,
				     unsigned int *patch)
{
	if (major)
		*major = BLKSNAP_LIB_VERSION_MAJOR;
	if (minor)
		*minor = BLKSNAP_LIB_VERSION_MINOR;
	if (patch)
		*patch = BLKSNAP_LIB_VERSION_PATCH;
}

static const char *const op_names[BLKSNAP_OP_MAX] = {
	[BLKSNAP_OP_NONE] = "blksnap",
	[BLKSNAP_OP_OPEN_CONTROL] = "open control device",
	[BLKSNAP_OP_OPEN_DEVICE] = "open device",
	[BLKSNAP_OP_VERSION] = "version",
	[BLKSNAP_OP_SNAPSHOT_CREATE] = "snapshot create",
	[BLKSNAP_OP_SNAPSHOT_DESTROY] = "snapshot destroy",
	[BLKSNAP_OP_SNAPSHOT_TAKE] = "snapshot take",
	[BLKSNAP_OP_SNAPSHOT_COLLECT] = "snapshot collect",
	[BLKSNAP_OP_SNAPSHOT_WAIT_EVENT] = "snapshot wait event",
	[BLKSNAP_OP_FILTER_ATTACH] = "attach",
	[BLKSNAP_OP_FILTER_DETACH] = "detach",
	[BLKSNAP_OP_FILTER_CTL] = "filter control",
	[BLKSNAP_OP_CBTINFO] = "cbtinfo",
	[BLKSNAP_OP_CBTMAP] = "cbtmap",
	[BLKSNAP_OP_CBTDIRTY] = "cbtdirty",
	[BLKSNAP_OP_SNAPSHOT_ADD] = "snapshot add",
	[BLKSNAP_OP_SNAPSHOT_INFO] = "snapshot info",
	[BLKSNAP_OP_UUID_PARSE] = "parse UUID",
	[BLKSNAP_OP_CHANGES] = "changes",
};

BLKSNAP_API const char *blksnap_op_name(enum blksnap_op op)
{
	if ((unsigned int)op >= BLKSNAP_OP_MAX)
		return "unknown operation";
	return op_names[op];
}

#define NOT_ROOT "permission denied: run as root (CAP_SYS_ADMIN is required)"
#define NO_SNAPSHOT "no such snapshot"
#define NOT_ATTACHED "the blksnap filter is not attached to this device"
#define NO_BLKFILTER "the kernel does not support block-device filters: " \
	"boot a kernel with the blkfilter patch"

static const char *device_ctl_msg(int e)
{
	switch (e) {
	case ENOENT:
		return NOT_ATTACHED;
	case ENOTTY:
		return "the device's filter does not know this command: " \
			"is the blksnap module too old, or is the kernel unpatched?";
	case EINVAL:
		return "the device rejected the command: does the kernel " \
			"support block-device filters?";
	default:
		return NULL;
	}
}

static const char *context_msg(enum blksnap_op op, int e)
{
	switch (op) {
	case BLKSNAP_OP_OPEN_CONTROL:
		switch (e) {
		case ENOENT: case ENODEV: case ENXIO:
			return "blksnap module is not loaded: load it with 'modprobe blksnap'";
		case EACCES: case EPERM:
			return "permission denied opening " BLKSNAP_CONTROL_PATH ": run as root";
		}
		break;
	case BLKSNAP_OP_OPEN_DEVICE:
		switch (e) {
		case ENOENT:
			return "no such device: check the device path";
		case ENOTBLK:
			return "not a block device: give a disk or partition such as /dev/sdb1";
		case ENXIO: case ENODEV:
			return "the device is not present (disk removed?)";
		case EACCES: case EPERM:
			return "permission denied opening the device: run as root";
		case EINVAL:
			return "no device path given";
		}
		break;
	case BLKSNAP_OP_FILTER_ATTACH:
		switch (e) {
		case ENOENT:
			return "no such filter is registered: blksnap module is not loaded " \
				"(load it with 'modprobe blksnap')";
		case ENODEV:
			return "the disk is gone";
		case EALREADY:
			return "the filter is already attached to this device";
		case EBUSY:
			return "another filter is attached to this device: detach it first";
		case ENOTTY:
			return NO_BLKFILTER;
		case EPERM:
			return "operation not permitted: run as root; devices with inline " \
				"encryption or an integrity profile cannot be filtered";
		case EINVAL:
			return "the device rejected the request: invalid filter name, " \
				"or a kernel without block-device filter support";
		}
		break;
	case BLKSNAP_OP_FILTER_DETACH:
		switch (e) {
		case ENOENT:
			return "no filter is attached to this device";
		case EINVAL:
			return "another filter is attached to this device (or invalid filter name)";
		case ENOTTY:
			return NO_BLKFILTER;
		}
		break;
	case BLKSNAP_OP_FILTER_CTL:
		if (e == ENOENT)
			return "the filter is not attached to this device: attach it first";
		if (e == ENOTTY)
			return "the filter does not know this command, or the kernel " \
				"does not support block-device filters";
		break;
	case BLKSNAP_OP_CBTINFO:
		return device_ctl_msg(e);
	case BLKSNAP_OP_CBTMAP:
		if (e == EINVAL || e == ERANGE || e == EOVERFLOW)
			return "the requested range lies outside the CBT table";
		return device_ctl_msg(e);
	case BLKSNAP_OP_CBTDIRTY:
		if (e == EINVAL || e == ERANGE)
			return "invalid sector range: empty, or beyond the end of the device";
		return device_ctl_msg(e);
	case BLKSNAP_OP_SNAPSHOT_INFO:
		return device_ctl_msg(e);
	case BLKSNAP_OP_SNAPSHOT_ADD:
		switch (e) {
		case EALREADY:
			return "the device is already part of this snapshot";
		case EBUSY:
			return "device is already part of another snapshot, or the snapshot " \
				"has already been taken: destroy that snapshot or create a new one";
		case EINVAL:
			return "the device holds this snapshot's difference storage and " \
				"cannot be part of it: put the difference storage on another device";
		case EPERM:
			return "operation not permitted: run as root; devices with inline " \
				"encryption or an integrity profile cannot be snapshotted";
		}
		return device_ctl_msg(e);
	case BLKSNAP_OP_SNAPSHOT_CREATE:
		switch (e) {
		case EINVAL:
			return "the difference storage must be a block device, a regular " \
				"file or a directory, with a valid size limit";
		case ENOENT:
			return "the difference storage path does not exist";
		case EBUSY:
			return "the difference storage is in use (opened exclusively elsewhere)";
		case ENOSPC:
			return "no space left for the difference storage: choose another " \
				"location or a smaller limit";
		case EOPNOTSUPP:
			return "the file system of the difference storage lacks a needed " \
				"feature (O_TMPFILE, O_DIRECT or fallocate): use another location";
		case EROFS:
			return "the difference storage is on a read-only file system";
		}
		break;
	case BLKSNAP_OP_SNAPSHOT_TAKE:
		switch (e) {
		case ENODEV:
			return "the snapshot has no devices";
		case EALREADY:
			return "the snapshot has already been taken";
		}
		break;
	case BLKSNAP_OP_SNAPSHOT_COLLECT:
		if (e == ENODATA)
			return "more snapshots exist than the array can hold: retry with a bigger one";
		if (e == EAGAIN)
			return "the list of snapshots kept changing: retry";
		break;
	case BLKSNAP_OP_SNAPSHOT_WAIT_EVENT:
		if (e == ENOENT)
			return "timed out: no event arrived";
		if (e == EINTR)
			return "interrupted while waiting for an event";
		break;
	case BLKSNAP_OP_UUID_PARSE:
		if (e == EINVAL)
			return "invalid UUID: expected the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
		break;
	case BLKSNAP_OP_CHANGES:
		if (e == EAGAIN)
			return "the CBT table kept changing while it was read (snapshots " \
				"taken meanwhile): retry";
		if (e == EINVAL)
			return "invalid CBT data or arguments";
		break;
	default:
		break;
	}
	return NULL;
}

static const char *generic_msg(int e)
{
	switch (e) {
	case EPERM: case EACCES:
		return NOT_ROOT;
	case ESRCH:
		return NO_SNAPSHOT;
	case ENOMEM:
		return "out of memory";
	case EFAULT:
		return "bad address passed to the kernel (this is a bug)";
	case EINTR:
		return "interrupted by a signal";
	case EBADF:
		return "invalid file descriptor";
	case ENOTBLK:
		return "not a block device";
	case ENOTTY:
		return "the kernel does not know this command: is the kernel patched " \
			"and the blksnap module up to date?";
	case EINVAL:
		return "invalid argument";
	default:
		return NULL;
	}
}

BLKSNAP_API const char *blksnap_strerror_op(enum blksnap_op op, int err)
{
	const char *msg;
	int e = err < 0 ? -err : err;

	if (err == BLKSNAP_FULL_BACKUP_NEEDED)
		return "full backup needed: the CBT generation differs or the " \
			"change number is newer than the device's";
	if (e == 0)
		return "success";
	msg = context_msg(op, e);
	if (!msg)
		msg = generic_msg(e);
	if (!msg)
		msg = strerrordesc_np(e);
	return msg ? msg : "unknown error";
}

BLKSNAP_API const char *blksnap_strerror(int err)
{
	return blksnap_strerror_op(last_op, err);
}
