// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A stateless fake of the blksnap kernel interface, linked into a test copy
 * of the tool (ld --wrap=open,fstat,ioctl) so that its output can be checked
 * on the host. Paths under /fake/ are block devices with the filter
 * attached; /dev/blksnap-control is the module's control device.
 *
 * FAKE_ERRNO=N   every ioctl fails with errno N
 * FAKE_LOG=FILE  append one line per ioctl received
 * FAKE_FAIL_ADD=N  SNAPSHOTADD fails with errno N
 * FAKE_BACKEND=blkfilter|ftrace|none  the module's filter_backend parameter
 *		(default blkfilter; none: the parameter does not exist). With
 *		ftrace, block devices have no BLKFILTER_* ioctls (ENOTTY): the
 *		commands must come through IOCTL_BLKSNAP_BDEV_FILTER.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <blksnap/blksnap.h>	/* and the UAPI: structures, ioctl numbers */

int __real_open(const char *path, int flags, ...);
int __real_fstat(int fd, struct stat *st);
int __wrap_open(const char *path, int flags, ...);
int __wrap_fstat(int fd, struct stat *st);
int __wrap_ioctl(int fd, unsigned long req, ...);

static int fake_fds[64];	/* 1: block device, 2: control device */

static const char *fake_backend(void)
{
	const char *b = getenv("FAKE_BACKEND");

	return b ? b : "blkfilter";
}

/* The module parameter: a pipe that holds its text. */
static int open_backend_param(void)
{
	const char *b = fake_backend();
	int p[2];

	if (!strcmp(b, "none")) {
		errno = ENOENT;
		return -1;
	}
	if (pipe(p))
		return -1;
	if (write(p[1], b, strlen(b)) < 0 || write(p[1], "\n", 1) < 0) {
		close(p[0]);
		p[0] = -1;
	}
	close(p[1]);
	return p[0];
}

int __wrap_open(const char *path, int flags, ...)
{
	int kind = !strncmp(path, "/fake/", 6) ? 1 :
		   !strcmp(path, BLKSNAP_CONTROL_PATH) ? 2 : 0;
	mode_t mode = 0;
	va_list ap;
	int fd;

	va_start(ap, flags);
	if (flags & O_CREAT)
		mode = va_arg(ap, mode_t);
	va_end(ap);
	if (!strcmp(path, BLKSNAP_FILTER_BACKEND_PARAM))
		return open_backend_param();
	if (!kind)
		return __real_open(path, flags, mode);
	fd = __real_open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && fd < 64)
		fake_fds[fd] = kind;
	return fd;
}

int __wrap_fstat(int fd, struct stat *st)
{
	int rc = __real_fstat(fd, st);

	if (!rc && fd >= 0 && fd < 64 && fake_fds[fd] == 1)
		st->st_mode = S_IFBLK | 0660;
	return rc;
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	const char *path = getenv("FAKE_LOG");
	FILE *f;
	va_list ap;

	if (!path || !(f = fopen(path, "a")))
		return;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fclose(f);
}

static const struct blksnap_uuid gen = { { 0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x33, 0x33,
					   0x44, 0x44, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55 } };
/* 16 blocks of 64 KiB, the last one short (capacity 1 MiB - 4 KiB). */
static const uint8_t table[16] = { 0, 0, 3, 3, 1, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 3 };

static int device_ctl(struct blkfilter_ctl *ctl)
{
	void *opt = (void *)(uintptr_t)ctl->opt;

	if (strcmp((char *)ctl->name, "blksnap")) {
		errno = ENOENT;
		return -1;
	}
	switch (ctl->cmd) {
	case BLKFILTER_CTL_BLKSNAP_CBTINFO: {
		struct blksnap_cbtinfo *i = opt;

		i->device_capacity = (1 << 20) - 4096;
		i->block_size = 65536;
		i->block_count = 16;
		i->generation_id = gen;
		i->changes_number = 3;
		logf_("cbtinfo");
		return 0;
	}
	case BLKFILTER_CTL_BLKSNAP_CBTMAP: {
		struct blksnap_cbtmap *m = opt;

		if (m->offset > 16 || m->length > 16 - m->offset) {
			errno = EINVAL;
			return -1;
		}
		memcpy((void *)(uintptr_t)m->buffer, table + m->offset, m->length);
		logf_("cbtmap %u+%u", m->offset, m->length);
		return 0;
	}
	case BLKFILTER_CTL_BLKSNAP_CBTDIRTY: {
		struct blksnap_cbtdirty *d = opt;
		struct blksnap_sectors *s = (void *)(uintptr_t)d->dirty_sectors;
		char line[1024] = "cbtdirty";
		size_t len = strlen(line);

		for (uint32_t i = 0; i < d->count && len < sizeof(line) - 64; i++)
			len += snprintf(line + len, sizeof(line) - len, " %llu+%llu",
					(unsigned long long)s[i].offset,
					(unsigned long long)s[i].count);
		logf_("%s", line);
		return 0;
	}
	case BLKFILTER_CTL_BLKSNAP_SNAPSHOTADD: {
		char u[BLKSNAP_UUID_STR_LEN];

		blksnap_uuid_format(opt, u, sizeof(u));
		logf_("add %s", u);
		if (getenv("FAKE_FAIL_ADD")) {
			errno = atoi(getenv("FAKE_FAIL_ADD"));
			return -1;
		}
		return 0;
	}
	case BLKFILTER_CTL_BLKSNAP_SNAPSHOTINFO: {
		struct blksnap_snapshotinfo *si = opt;

		si->error_code = -28;
		strcpy((char *)si->image, "blksnap-image_253:0");
		return 0;
	}
	default:
		errno = ENOTTY;
		return -1;
	}
}

static int via_control;	/* inside IOCTL_BLKSNAP_BDEV_FILTER */

/* IOCTL_BLKSNAP_BDEV_FILTER: the command, run as if issued on the device. */
static int bdev_filter(struct blksnap_bdev_filter *bf)
{
	int rc;

	if (strcmp(fake_backend(), "ftrace")) {
		errno = EOPNOTSUPP;
		return -1;
	}
	if (bf->bdev_fd < 0 || bf->bdev_fd >= 64 || !fake_fds[bf->bdev_fd]) {
		errno = EBADF;
		return -1;
	}
	if (fake_fds[bf->bdev_fd] != 1) {
		errno = ENOTBLK;
		return -1;
	}
	if (bf->cmd != BLKFILTER_ATTACH && bf->cmd != BLKFILTER_DETACH &&
	    bf->cmd != BLKFILTER_CTL) {
		errno = EINVAL;
		return -1;
	}
	logf_("bdev_filter");
	via_control = 1;
	rc = __wrap_ioctl(bf->bdev_fd, bf->cmd, (void *)(uintptr_t)bf->arg);
	via_control = 0;
	return rc;
}

int __wrap_ioctl(int fd, unsigned long req, ...)
{
	const char *e = getenv("FAKE_ERRNO");
	static int waits;
	char u[BLKSNAP_UUID_STR_LEN];
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fd < 0 || fd >= 64 || !fake_fds[fd]) {
		errno = ENOTTY;
		return -1;
	}
	if (e) {
		errno = atoi(e);
		return -1;
	}
	/* A stock kernel's block devices know no filter ioctls. */
	if ((req == BLKFILTER_ATTACH || req == BLKFILTER_DETACH ||
	     req == BLKFILTER_CTL) && !via_control &&
	    !strcmp(fake_backend(), "ftrace")) {
		errno = ENOTTY;
		return -1;
	}
	switch (req) {
	case IOCTL_BLKSNAP_BDEV_FILTER:
		return bdev_filter(arg);
	case BLKFILTER_ATTACH:
		logf_("attach %s", (char *)((struct blkfilter_name *)arg)->name);
		return 0;
	case BLKFILTER_DETACH:
		logf_("detach %s", (char *)((struct blkfilter_name *)arg)->name);
		return 0;
	case BLKFILTER_CTL:
		return device_ctl(arg);
	case IOCTL_BLKSNAP_VERSION: {
		struct blksnap_version *v = arg;

		v->major = 2;
		v->minor = v->revision = v->build = 0;
		return 0;
	}
	case IOCTL_BLKSNAP_SNAPSHOT_CREATE: {
		struct blksnap_snapshot_create *c = arg;

		logf_("create %s %llu", (char *)(uintptr_t)c->diff_storage_filename,
		      (unsigned long long)c->diff_storage_limit_sect);
		memset(c->id.b, 0xaa, 16);
		return 0;
	}
	case IOCTL_BLKSNAP_SNAPSHOT_TAKE:
	case IOCTL_BLKSNAP_SNAPSHOT_DESTROY:
		blksnap_uuid_format(arg, u, sizeof(u));
		logf_("%s %s", req == IOCTL_BLKSNAP_SNAPSHOT_TAKE ? "take" : "destroy", u);
		return 0;
	case IOCTL_BLKSNAP_SNAPSHOT_COLLECT: {
		struct blksnap_snapshot_collect *c = arg;
		struct blksnap_uuid *ids = (void *)(uintptr_t)c->ids;

		if (ids && c->count >= 2) {
			memset(ids[0].b, 0xaa, 16);
			memset(ids[1].b, 0xbb, 16);
		} else if (ids) {
			c->count = 2;
			errno = ENODATA;
			return -1;
		}
		c->count = 2;
		return 0;
	}
	case IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT: {
		struct blksnap_snapshot_event *ev = arg;
		struct blksnap_event_corrupted c = { 253, 0, -28 };

		if (++waits > 1) {
			errno = ESRCH;
			return -1;
		}
		ev->code = blksnap_event_code_corrupted;
		ev->time_label = 1500000000LL;
		memcpy(ev->data, &c, sizeof(c));
		return 0;
	}
	default:
		errno = ENOTTY;
		return -1;
	}
}
