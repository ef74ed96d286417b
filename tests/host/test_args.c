// SPDX-License-Identifier: GPL-2.0-or-later
/* Argument validation: bad arguments give -EINVAL (or -EBADF for a
 * negative fd) without any ioctl reaching the kernel. */
#include <errno.h>
#include <stdlib.h>
#include <blksnap/blksnap.h>
#include "mock.h"
#include "tap.h"

#define NO_KERNEL(expr, err, name) do {					\
	mock_set(NULL);							\
	int _rc = (expr);						\
	if (_rc != (err) || mock_calls)					\
		tap_diag("%s: rc %d, %d ioctl calls", #expr, _rc, mock_calls); \
	ok(_rc == (err) && mock_calls == 0, "args: %s", name);		\
} while (0)

void test_args(void)
{
	const int fd = FAKE_FD;
	struct blksnap_uuid id = { { 1 } }, *ids = NULL;
	struct blksnap_sectors rg[2] = { { 0, 8 }, { 16, 0 } }, ovf = { UINT64_MAX - 3, 8 };
	struct blksnap_cbtinfo info;
	struct blksnap_snapshot_event ev;
	struct blksnap_event_corrupted corr;
	char buf[64];
	uint8_t *map = NULL;
	uint32_t len = 4, count = 3;
	size_t n;
	char name32[33];

	memset(name32, 'x', 32);
	name32[32] = 0;
	memset(&ev, 0, sizeof(ev));

	NO_KERNEL(blksnap_filter_attach(fd, NULL), -EINVAL, "attach with NULL filter name");
	NO_KERNEL(blksnap_filter_attach(fd, ""), -EINVAL, "attach with empty filter name");
	NO_KERNEL(blksnap_filter_attach(fd, name32), -EINVAL, "attach with 32-char filter name");
	NO_KERNEL(blksnap_filter_attach(-1, "blksnap"), -EBADF, "attach with fd -1");
	NO_KERNEL(blksnap_filter_detach(fd, NULL), -EINVAL, "detach with NULL filter name");
	NO_KERNEL(blksnap_filter_ctl(fd, "blksnap", 0, buf, NULL), -EINVAL, "ctl with NULL optlen");
	NO_KERNEL(blksnap_filter_ctl(fd, "blksnap", 0, NULL, &len), -EINVAL, "ctl with NULL opt and optlen 4");
	NO_KERNEL(blksnap_filter_ctl(fd, NULL, 0, buf, &len), -EINVAL, "ctl with NULL filter name");
	NO_KERNEL(blksnap_filter_attach_path(NULL, "blksnap"), -EINVAL, "attach_path with NULL path");
	NO_KERNEL(blksnap_filter_attach_path("/dev/null", NULL), -EINVAL, "attach_path with NULL filter");
	NO_KERNEL(blksnap_filter_detach_path("/dev/null", ""), -EINVAL, "detach_path with empty filter");
	NO_KERNEL(blksnap_filter_ctl_path("/dev/null", "blksnap", 0, NULL, &len), -EINVAL,
		  "ctl_path with NULL opt");
	NO_KERNEL(blksnap_filter_attach_path("/dev/null", "blksnap"), -ENOTBLK, "attach_path on a character device");
	NO_KERNEL(blksnap_filter_attach_path("/nonexistent/dev", "blksnap"), -ENOENT, "attach_path on a missing path");
	NO_KERNEL(blksnap_open_device(NULL), -EINVAL, "open_device(NULL)");
	NO_KERNEL(blksnap_open_device("/dev/null"), -ENOTBLK, "open_device on a character device");

	NO_KERNEL(blksnap_cbtinfo(fd, NULL), -EINVAL, "cbtinfo with NULL info");
	NO_KERNEL(blksnap_cbtinfo(-5, &info), -EBADF, "cbtinfo with negative fd");
	NO_KERNEL(blksnap_cbtmap(fd, 0, 0, buf), -EINVAL, "cbtmap with length 0");
	NO_KERNEL(blksnap_cbtmap(fd, 0, 4, NULL), -EINVAL, "cbtmap with NULL buffer");
	NO_KERNEL(blksnap_cbtmap(fd, UINT32_MAX - 3, 8, buf), -EINVAL, "cbtmap with offset+length past 2^32");
	NO_KERNEL(blksnap_cbtdirty(fd, NULL, 1), -EINVAL, "cbtdirty with NULL ranges");
	NO_KERNEL(blksnap_cbtdirty(fd, rg, 0), -EINVAL, "cbtdirty with count 0");
	NO_KERNEL(blksnap_cbtdirty(fd, rg, 2), -EINVAL, "cbtdirty with an empty range");
	NO_KERNEL(blksnap_cbtdirty(fd, &ovf, 1), -EINVAL, "cbtdirty with a wrapping range");
	NO_KERNEL(blksnap_snapshot_add(fd, NULL), -EINVAL, "snapshot_add with NULL id");
	NO_KERNEL(blksnap_snapshot_info(fd, NULL), -EINVAL, "snapshot_info with NULL info");

	NO_KERNEL(blksnap_version(fd, NULL), -EINVAL, "version with NULL");
	NO_KERNEL(blksnap_snapshot_create(fd, NULL, 100, &id), -EINVAL, "create with NULL storage");
	NO_KERNEL(blksnap_snapshot_create(fd, "", 100, &id), -EINVAL, "create with empty storage");
	NO_KERNEL(blksnap_snapshot_create(fd, "/tmp", 100, NULL), -EINVAL, "create with NULL id");
	NO_KERNEL(blksnap_snapshot_create(-1, "/tmp", 100, &id), -EBADF, "create with fd -1");
	NO_KERNEL(blksnap_snapshot_destroy(fd, NULL), -EINVAL, "destroy with NULL id");
	NO_KERNEL(blksnap_snapshot_take(fd, NULL), -EINVAL, "take with NULL id");
	NO_KERNEL(blksnap_snapshot_collect(fd, NULL, NULL), -EINVAL, "collect with NULL count");
	NO_KERNEL(blksnap_snapshot_collect(fd, NULL, &count), -EINVAL, "collect with NULL ids and count 3");
	NO_KERNEL(blksnap_snapshot_collect_all(fd, NULL, &count), -EINVAL, "collect_all with NULL ids");
	NO_KERNEL(blksnap_snapshot_collect_all(fd, &ids, NULL), -EINVAL, "collect_all with NULL count");
	NO_KERNEL(blksnap_snapshot_wait_event(fd, NULL, 10, &ev), -EINVAL, "wait_event with NULL id");
	NO_KERNEL(blksnap_snapshot_wait_event(fd, &id, 10, NULL), -EINVAL, "wait_event with NULL event");
	NO_KERNEL(blksnap_event_corrupted(NULL, &corr), -EINVAL, "event_corrupted with NULL event");
	NO_KERNEL(blksnap_event_corrupted(&ev, NULL), -EINVAL, "event_corrupted with NULL data");
	ev.code = 7;
	NO_KERNEL(blksnap_event_corrupted(&ev, &corr), -EINVAL, "event_corrupted with another code");

	NO_KERNEL(blksnap_read_cbt(fd, NULL, &map), -EINVAL, "read_cbt with NULL info");
	NO_KERNEL(blksnap_read_cbt(fd, &info, NULL), -EINVAL, "read_cbt with NULL map");
	NO_KERNEL(blksnap_changes_since(fd, &id, 0, NULL, NULL, &n), -EINVAL, "changes_since with NULL ranges");
	NO_KERNEL(blksnap_changes_since(fd, &id, 0, NULL, (struct blksnap_sectors **)&map, NULL), -EINVAL,
		  "changes_since with NULL count");
	NO_KERNEL(blksnap_uuid_format(&id, buf, 10), -EINVAL, "uuid_format with a 10-byte buffer");
	mock_set(NULL);
}
