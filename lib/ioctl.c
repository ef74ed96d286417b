// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Thin wrappers of every blkfilter and blksnap ioctl. Arguments are checked
 * before the system call; every failure returns -errno and records the
 * operation for blksnap_strerror().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "internal.h"

static int do_ioctl(int fd, unsigned long req, void *arg, enum blksnap_op op)
{
	int rc;

	if (fd < 0)
		return blksnap__fail(op, -EBADF);
	rc = ioctl(fd, req, arg);
	if (rc < 0)
		return blksnap__fail(op, errno ? -errno : -EIO);
	return 0;
}

/* Copy a filter name into its NUL-padded field: 1..31 characters. */
static int set_name(__u8 dst[BLKFILTER_NAME_LENGTH], const char *name)
{
	size_t len;

	if (!name)
		return -EINVAL;
	len = strnlen(name, BLKFILTER_NAME_LENGTH);
	if (len == 0 || len >= BLKFILTER_NAME_LENGTH)
		return -EINVAL;
	memset(dst, 0, BLKFILTER_NAME_LENGTH);
	memcpy(dst, name, len);
	return 0;
}

/* ---- opening ----------------------------------------------------------- */

BLKSNAP_API int blksnap_open_control(void)
{
	int fd = open(BLKSNAP_CONTROL_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return blksnap__fail(BLKSNAP_OP_OPEN_CONTROL, -errno);
	return fd;
}

BLKSNAP_API int blksnap_open_device(const char *path)
{
	struct stat st;
	int fd;

	if (!path || !*path)
		return blksnap__fail(BLKSNAP_OP_OPEN_DEVICE, -EINVAL);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return blksnap__fail(BLKSNAP_OP_OPEN_DEVICE, -errno);
	if (fstat(fd, &st) < 0 || !S_ISBLK(st.st_mode)) {
		close(fd);
		return blksnap__fail(BLKSNAP_OP_OPEN_DEVICE, -ENOTBLK);
	}
	return fd;
}

/* ---- filters ----------------------------------------------------------- */

BLKSNAP_API int blksnap_filter_backend(const char **name)
{
	char buf[32];
	ssize_t n;
	int fd;

	if (!name)
		return -EINVAL;
	fd = open(BLKSNAP_FILTER_BACKEND_PARAM, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (!strcmp(buf, "blkfilter"))
		*name = "blkfilter";
	else if (!strcmp(buf, "ftrace"))
		*name = "ftrace";
	else
		return -EPROTO;
	return 0;
}

/*
 * A BLKFILTER_* command: on the block device itself, or, with the module's
 * own filter hook (a kernel without block-device filters), through the
 * control device. Without a loaded module the block device is asked, and
 * answers as it always did.
 */
static int filter_ioctl(int dev_fd, unsigned long req, void *arg,
			enum blksnap_op op)
{
	struct blksnap_bdev_filter bf;
	const char *backend;
	int ctl_fd, rc;

	if (dev_fd < 0)
		return blksnap__fail(op, -EBADF);
	if (blksnap_filter_backend(&backend) < 0 || strcmp(backend, "ftrace"))
		return do_ioctl(dev_fd, req, arg, op);
	ctl_fd = open(BLKSNAP_CONTROL_PATH, O_RDWR | O_CLOEXEC);
	if (ctl_fd < 0)
		return blksnap__fail(op, -errno);
	memset(&bf, 0, sizeof(bf));
	bf.bdev_fd = dev_fd;
	bf.cmd = (uint32_t)req;
	bf.arg = (uintptr_t)arg;
	rc = do_ioctl(ctl_fd, IOCTL_BLKSNAP_BDEV_FILTER, &bf, op);
	close(ctl_fd);
	return rc;
}

static int filter_name_ioctl(int dev_fd, const char *filter, unsigned long req,
			     enum blksnap_op op)
{
	struct blkfilter_name n;

	if (set_name(n.name, filter))
		return blksnap__fail(op, -EINVAL);
	return filter_ioctl(dev_fd, req, &n, op);
}

BLKSNAP_API int blksnap_filter_attach(int dev_fd, const char *filter)
{
	return filter_name_ioctl(dev_fd, filter, BLKFILTER_ATTACH,
				 BLKSNAP_OP_FILTER_ATTACH);
}

BLKSNAP_API int blksnap_filter_detach(int dev_fd, const char *filter)
{
	return filter_name_ioctl(dev_fd, filter, BLKFILTER_DETACH,
				 BLKSNAP_OP_FILTER_DETACH);
}

static int filter_ctl(int dev_fd, const char *filter, uint32_t cmd, void *opt,
		      uint32_t *optlen, enum blksnap_op op)
{
	struct blkfilter_ctl ctl;
	int rc;

	if (!optlen || (!opt && *optlen))
		return blksnap__fail(op, -EINVAL);
	memset(&ctl, 0, sizeof(ctl));
	if (set_name(ctl.name, filter))
		return blksnap__fail(op, -EINVAL);
	ctl.cmd = cmd;
	ctl.optlen = *optlen;
	ctl.opt = (uintptr_t)opt;
	rc = filter_ioctl(dev_fd, BLKFILTER_CTL, &ctl, op);
	if (rc < 0)
		return rc;
	*optlen = ctl.optlen;
	return 0;
}

BLKSNAP_API int blksnap_filter_ctl(int dev_fd, const char *filter, uint32_t cmd,
				   void *opt, uint32_t *optlen)
{
	return filter_ctl(dev_fd, filter, cmd, opt, optlen,
			  BLKSNAP_OP_FILTER_CTL);
}

/* Open @path, run @fn-like work through a switch, close. */
enum path_call { PATH_ATTACH, PATH_DETACH, PATH_CTL };

static int path_call(enum path_call what, const char *path, const char *filter,
		     uint32_t cmd, void *opt, uint32_t *optlen)
{
	int fd, rc;

	/* Validate everything before opening anything. */
	if (!filter || !*filter || strnlen(filter, BLKFILTER_NAME_LENGTH) >= BLKFILTER_NAME_LENGTH)
		return blksnap__fail(what == PATH_ATTACH ? BLKSNAP_OP_FILTER_ATTACH :
				     what == PATH_DETACH ? BLKSNAP_OP_FILTER_DETACH :
				     BLKSNAP_OP_FILTER_CTL, -EINVAL);
	if (what == PATH_CTL && (!optlen || (!opt && *optlen)))
		return blksnap__fail(BLKSNAP_OP_FILTER_CTL, -EINVAL);
	fd = blksnap_open_device(path);
	if (fd < 0)
		return fd;
	switch (what) {
	case PATH_ATTACH:
		rc = blksnap_filter_attach(fd, filter);
		break;
	case PATH_DETACH:
		rc = blksnap_filter_detach(fd, filter);
		break;
	default:
		rc = blksnap_filter_ctl(fd, filter, cmd, opt, optlen);
		break;
	}
	close(fd);
	return rc;
}

BLKSNAP_API int blksnap_filter_attach_path(const char *dev_path,
					   const char *filter)
{
	return path_call(PATH_ATTACH, dev_path, filter, 0, NULL, NULL);
}

BLKSNAP_API int blksnap_filter_detach_path(const char *dev_path,
					   const char *filter)
{
	return path_call(PATH_DETACH, dev_path, filter, 0, NULL, NULL);
}

BLKSNAP_API int blksnap_filter_ctl_path(const char *dev_path,
					const char *filter, uint32_t cmd,
					void *opt, uint32_t *optlen)
{
	return path_call(PATH_CTL, dev_path, filter, cmd, opt, optlen);
}

/* ---- blksnap per-device commands --------------------------------------- */

static int blksnap_ctl(int dev_fd, uint32_t cmd, void *opt, uint32_t len,
		       enum blksnap_op op)
{
	uint32_t optlen = len;

	return filter_ctl(dev_fd, BLKSNAP_FILTER_NAME, cmd, opt, &optlen, op);
}

BLKSNAP_API int blksnap_cbtinfo(int dev_fd, struct blksnap_cbtinfo *info)
{
	if (!info)
		return blksnap__fail(BLKSNAP_OP_CBTINFO, -EINVAL);
	memset(info, 0, sizeof(*info));
	return blksnap_ctl(dev_fd, BLKFILTER_CTL_BLKSNAP_CBTINFO, info,
			   sizeof(*info), BLKSNAP_OP_CBTINFO);
}

BLKSNAP_API int blksnap_cbtmap(int dev_fd, uint32_t offset, uint32_t length,
			       void *buf)
{
	struct blksnap_cbtmap arg;

	if (!buf || length == 0 || (uint64_t)offset + length > UINT32_MAX + 1ULL)
		return blksnap__fail(BLKSNAP_OP_CBTMAP, -EINVAL);
	memset(&arg, 0, sizeof(arg));
	arg.offset = offset;
	arg.length = length;
	arg.buffer = (uintptr_t)buf;
	return blksnap_ctl(dev_fd, BLKFILTER_CTL_BLKSNAP_CBTMAP, &arg,
			   sizeof(arg), BLKSNAP_OP_CBTMAP);
}

BLKSNAP_API int blksnap_cbtdirty(int dev_fd,
				 const struct blksnap_sectors *ranges,
				 uint32_t count)
{
	struct blksnap_cbtdirty arg;
	uint32_t i;

	if (!ranges || count == 0)
		return blksnap__fail(BLKSNAP_OP_CBTDIRTY, -EINVAL);
	for (i = 0; i < count; i++)
		if (ranges[i].count == 0 ||
		    ranges[i].offset + ranges[i].count < ranges[i].offset)
			return blksnap__fail(BLKSNAP_OP_CBTDIRTY, -EINVAL);
	memset(&arg, 0, sizeof(arg));
	arg.count = count;
	arg.dirty_sectors = (uintptr_t)ranges;
	return blksnap_ctl(dev_fd, BLKFILTER_CTL_BLKSNAP_CBTDIRTY, &arg,
			   sizeof(arg), BLKSNAP_OP_CBTDIRTY);
}

BLKSNAP_API int blksnap_snapshot_add(int dev_fd, const struct blksnap_uuid *id)
{
	struct blksnap_snapshotadd arg;

	if (!id)
		return blksnap__fail(BLKSNAP_OP_SNAPSHOT_ADD, -EINVAL);
	arg.id = *id;
	return blksnap_ctl(dev_fd, BLKFILTER_CTL_BLKSNAP_SNAPSHOTADD, &arg,
			   sizeof(arg), BLKSNAP_OP_SNAPSHOT_ADD);
}

BLKSNAP_API int blksnap_snapshot_info(int dev_fd,
				      struct blksnap_snapshotinfo *info)
{
	int rc;

	if (!info)
		return blksnap__fail(BLKSNAP_OP_SNAPSHOT_INFO, -EINVAL);
	memset(info, 0, sizeof(*info));
	rc = blksnap_ctl(dev_fd, BLKFILTER_CTL_BLKSNAP_SNAPSHOTINFO, info,
			 sizeof(*info), BLKSNAP_OP_SNAPSHOT_INFO);
	/* Never hand out an unterminated image name. */
	info->image[IMAGE_DISK_NAME_LEN - 1] = 0;
	return rc;
}

/* ---- control device ------------------------------------------------------ */

BLKSNAP_API int blksnap_version(int ctl_fd, struct blksnap_version *ver)
{
	if (!ver)
		return blksnap__fail(BLKSNAP_OP_VERSION, -EINVAL);
	memset(ver, 0, sizeof(*ver));
	return do_ioctl(ctl_fd, IOCTL_BLKSNAP_VERSION, ver, BLKSNAP_OP_VERSION);
}

BLKSNAP_API int blksnap_snapshot_create(int ctl_fd, const char *diff_storage,
					uint64_t limit_sect,
					struct blksnap_uuid *id)
{
	struct blksnap_snapshot_create arg;
	int rc;

	if (!diff_storage || !*diff_storage || !id)
		return blksnap__fail(BLKSNAP_OP_SNAPSHOT_CREATE, -EINVAL);
	memset(&arg, 0, sizeof(arg));
	arg.diff_storage_limit_sect = limit_sect;
	arg.diff_storage_filename = (uintptr_t)diff_storage;
	rc = do_ioctl(ctl_fd, IOCTL_BLKSNAP_SNAPSHOT_CREATE, &arg,
		      BLKSNAP_OP_SNAPSHOT_CREATE);
	if (rc < 0)
		return rc;
	*id = arg.id;
	return 0;
}

static int uuid_ioctl(int ctl_fd, unsigned long req,
		      const struct blksnap_uuid *id, enum blksnap_op op)
{
	struct blksnap_uuid arg;

	if (!id)
		return blksnap__fail(op, -EINVAL);
	arg = *id;
	return do_ioctl(ctl_fd, req, &arg, op);
}

BLKSNAP_API int blksnap_snapshot_destroy(int ctl_fd,
					 const struct blksnap_uuid *id)
{
	return uuid_ioctl(ctl_fd, IOCTL_BLKSNAP_SNAPSHOT_DESTROY, id,
			  BLKSNAP_OP_SNAPSHOT_DESTROY);
}

BLKSNAP_API int blksnap_snapshot_take(int ctl_fd, const struct blksnap_uuid *id)
{
	return uuid_ioctl(ctl_fd, IOCTL_BLKSNAP_SNAPSHOT_TAKE, id,
			  BLKSNAP_OP_SNAPSHOT_TAKE);
}

BLKSNAP_API int blksnap_snapshot_collect(int ctl_fd, struct blksnap_uuid *ids,
					 uint32_t *count)
{
	struct blksnap_snapshot_collect arg;
	int rc;

	if (!count || (!ids && *count))
		return blksnap__fail(BLKSNAP_OP_SNAPSHOT_COLLECT, -EINVAL);
	memset(&arg, 0, sizeof(arg));
	arg.count = *count;
	arg.ids = (uintptr_t)ids;
	rc = do_ioctl(ctl_fd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &arg,
		      BLKSNAP_OP_SNAPSHOT_COLLECT);
	if (rc == 0 || rc == -ENODATA)
		*count = arg.count;
	return rc < 0 ? rc : 0;
}

BLKSNAP_API int blksnap_snapshot_collect_all(int ctl_fd,
					     struct blksnap_uuid **ids,
					     uint32_t *count)
{
	struct blksnap_uuid *buf = NULL;
	uint32_t n = 0, cap;
	int rc, tries;

	if (!ids || !count)
		return blksnap__fail(BLKSNAP_OP_SNAPSHOT_COLLECT, -EINVAL);
	*ids = NULL;
	*count = 0;
	rc = blksnap_snapshot_collect(ctl_fd, NULL, &n);
	for (tries = 0; tries < 8; tries++) {
		if (rc < 0 && rc != -ENODATA)
			break;
		if (n == 0) {
			free(buf);
			return 0;
		}
		/* Some slack: snapshots may be created meanwhile. */
		cap = n + 4 < n ? n : n + 4;
		free(buf);
		buf = calloc(cap, sizeof(*buf));
		if (!buf)
			return blksnap__fail(BLKSNAP_OP_SNAPSHOT_COLLECT, -ENOMEM);
		n = cap;
		rc = blksnap_snapshot_collect(ctl_fd, buf, &n);
		if (rc == 0) {
			if (n == 0) {
				free(buf);
				return 0;
			}
			*ids = buf;
			*count = n;
			return 0;
		}
	}
	free(buf);
	if (rc == -ENODATA)
		rc = -EAGAIN;
	return blksnap__fail(BLKSNAP_OP_SNAPSHOT_COLLECT, rc);
}

BLKSNAP_API int blksnap_snapshot_wait_event(int ctl_fd,
					    const struct blksnap_uuid *id,
					    uint32_t timeout_ms,
					    struct blksnap_snapshot_event *event)
{
	if (!id || !event)
		return blksnap__fail(BLKSNAP_OP_SNAPSHOT_WAIT_EVENT, -EINVAL);
	memset(event, 0, sizeof(*event));
	event->id = *id;
	event->timeout_ms = timeout_ms;
	return do_ioctl(ctl_fd, IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT, event,
			BLKSNAP_OP_SNAPSHOT_WAIT_EVENT);
}

BLKSNAP_API int blksnap_event_corrupted(const struct blksnap_snapshot_event *event,
					struct blksnap_event_corrupted *data)
{
	if (!event || !data || event->code != blksnap_event_code_corrupted)
		return blksnap__fail(BLKSNAP_OP_NONE, -EINVAL);
	memcpy(data, event->data, sizeof(*data));
	return 0;
}

BLKSNAP_API const char *blksnap_event_name(uint32_t code)
{
	switch (code) {
	case blksnap_event_code_corrupted:
		return "corrupted";
	default:
		return "unknown";
	}
}
