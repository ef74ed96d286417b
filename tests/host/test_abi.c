// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The UAPI must not drift: every size, offset, constant and ioctl number is
 * compared, at compile time, with a value computed by hand from the
 * specification (natural alignment on x86_64; ioctl number = dir << 30 |
 * size << 16 | type << 8 | nr, dir: 1 = write, 2 = read, 3 = both).
 *
 * <blksnap/blksnap.h> exposes these structures, so they are also the ABI of
 * libblksnap.so.1 (LIBBLKSNAP_1): a change that breaks the build here
 * breaks both (docs/userspace.md, "ABI").
 */
#include <stddef.h>
#include <blksnap/blksnap.h>	/* and the UAPI, BLKFILTER_* ioctls included */
#include "tap.h"

#define IOC(dir, type, nr, size) \
	(((unsigned long)(dir) << 30) | ((unsigned long)(size) << 16) | \
	 ((unsigned long)(type) << 8) | (unsigned long)(nr))
#define W 1
#define R 2
#define RW 3

/*
 * Each fact is known at compile time: a mismatch fails the build
 * (_Static_assert), and the passing check is still counted in the TAP
 * output.
 */
#define FACT(expr, v, what) do { \
		_Static_assert((expr) == (v), what); \
		ok_eq(expr, v, what); \
	} while (0)
#define SIZE(type, n) FACT(sizeof(struct type), n, "sizeof(struct " #type ") == " #n)
#define OFF(type, f, n) FACT(offsetof(struct type, f), n, "offsetof(" #type ", " #f ") == " #n)
#define FSIZE(type, f, n) FACT(sizeof(((struct type *)0)->f), n, "sizeof(" #type "." #f ") == " #n)
#define NUM(name, v) FACT(name, v, #name " == " #v)

void test_abi(void)
{
	/* blk-filter.h */
	NUM(BLKFILTER_NAME_LENGTH, 32);
	SIZE(blkfilter_name, 32);
	OFF(blkfilter_name, name, 0);
	SIZE(blkfilter_ctl, 48);
	OFF(blkfilter_ctl, name, 0);
	FSIZE(blkfilter_ctl, name, 32);
	OFF(blkfilter_ctl, cmd, 32);
	OFF(blkfilter_ctl, optlen, 36);
	OFF(blkfilter_ctl, opt, 40);
	FSIZE(blkfilter_ctl, opt, 8);
	NUM(BLKFILTER_ATTACH, IOC(RW, 0x12, 140, 32));
	NUM(BLKFILTER_DETACH, IOC(RW, 0x12, 141, 32));
	NUM(BLKFILTER_CTL, IOC(RW, 0x12, 142, 48));
	NUM(BLKFILTER_ATTACH, 0xc020128cUL);
	NUM(BLKFILTER_CTL, 0xc030128eUL);

	/* blksnap.h constants */
	NUM(BLKSNAP, 0x56);
	ok(!strcmp(BLKSNAP_CTL, "blksnap-control"), "BLKSNAP_CTL is \"blksnap-control\"");
	ok(!strcmp(BLKSNAP_CONTROL_PATH, "/dev/blksnap-control"), "control path");
	ok(!strcmp(BLKSNAP_FILTER_NAME, "blksnap"), "filter name is \"blksnap\"");
	NUM(IMAGE_DISK_NAME_LEN, 32);
	NUM(BLKFILTER_CTL_BLKSNAP_CBTINFO, 0);
	NUM(BLKFILTER_CTL_BLKSNAP_CBTMAP, 1);
	NUM(BLKFILTER_CTL_BLKSNAP_CBTDIRTY, 2);
	NUM(BLKFILTER_CTL_BLKSNAP_SNAPSHOTADD, 3);
	NUM(BLKFILTER_CTL_BLKSNAP_SNAPSHOTINFO, 4);
	NUM(blksnap_ioctl_version, 0);
	NUM(blksnap_ioctl_snapshot_create, 1);
	NUM(blksnap_ioctl_snapshot_destroy, 2);
	NUM(blksnap_ioctl_snapshot_take, 3);
	NUM(blksnap_ioctl_snapshot_collect, 4);
	NUM(blksnap_ioctl_snapshot_wait_event, 5);
	NUM(blksnap_ioctl_bdev_filter, 6);
	NUM(blksnap_event_code_corrupted, 0);

	/* structures */
	SIZE(blksnap_uuid, 16);
	OFF(blksnap_uuid, b, 0);

	SIZE(blksnap_cbtinfo, 40);
	OFF(blksnap_cbtinfo, device_capacity, 0);
	FSIZE(blksnap_cbtinfo, device_capacity, 8);
	OFF(blksnap_cbtinfo, block_size, 8);
	FSIZE(blksnap_cbtinfo, block_size, 4);
	OFF(blksnap_cbtinfo, block_count, 12);
	FSIZE(blksnap_cbtinfo, block_count, 4);
	OFF(blksnap_cbtinfo, generation_id, 16);
	OFF(blksnap_cbtinfo, changes_number, 32);
	FSIZE(blksnap_cbtinfo, changes_number, 1);

	SIZE(blksnap_cbtmap, 16);
	OFF(blksnap_cbtmap, offset, 0);
	OFF(blksnap_cbtmap, length, 4);
	OFF(blksnap_cbtmap, buffer, 8);

	SIZE(blksnap_sectors, 16);
	OFF(blksnap_sectors, offset, 0);
	OFF(blksnap_sectors, count, 8);

	SIZE(blksnap_cbtdirty, 16);
	OFF(blksnap_cbtdirty, count, 0);
	OFF(blksnap_cbtdirty, dirty_sectors, 8);

	SIZE(blksnap_snapshotadd, 16);
	OFF(blksnap_snapshotadd, id, 0);

	SIZE(blksnap_snapshotinfo, 36);
	OFF(blksnap_snapshotinfo, error_code, 0);
	OFF(blksnap_snapshotinfo, image, 4);
	FSIZE(blksnap_snapshotinfo, image, 32);

	SIZE(blksnap_version, 8);
	OFF(blksnap_version, major, 0);
	OFF(blksnap_version, minor, 2);
	OFF(blksnap_version, revision, 4);
	OFF(blksnap_version, build, 6);

	SIZE(blksnap_snapshot_create, 32);
	OFF(blksnap_snapshot_create, diff_storage_limit_sect, 0);
	OFF(blksnap_snapshot_create, diff_storage_filename, 8);
	OFF(blksnap_snapshot_create, id, 16);

	SIZE(blksnap_snapshot_collect, 16);
	OFF(blksnap_snapshot_collect, count, 0);
	OFF(blksnap_snapshot_collect, ids, 8);

	SIZE(blksnap_snapshot_event, 4096);
	OFF(blksnap_snapshot_event, id, 0);
	OFF(blksnap_snapshot_event, timeout_ms, 16);
	OFF(blksnap_snapshot_event, code, 20);
	OFF(blksnap_snapshot_event, time_label, 24);
	FSIZE(blksnap_snapshot_event, time_label, 8);
	OFF(blksnap_snapshot_event, data, 32);
	FSIZE(blksnap_snapshot_event, data, 4064);

	SIZE(blksnap_bdev_filter, 16);
	OFF(blksnap_bdev_filter, bdev_fd, 0);
	FSIZE(blksnap_bdev_filter, bdev_fd, 4);
	OFF(blksnap_bdev_filter, cmd, 4);
	OFF(blksnap_bdev_filter, arg, 8);
	FSIZE(blksnap_bdev_filter, arg, 8);

	SIZE(blksnap_event_corrupted, 12);
	OFF(blksnap_event_corrupted, dev_id_mj, 0);
	OFF(blksnap_event_corrupted, dev_id_mn, 4);
	OFF(blksnap_event_corrupted, err_code, 8);

	/* control-device ioctl numbers */
	NUM(IOCTL_BLKSNAP_VERSION, IOC(R, 'V', 0, 8));
	NUM(IOCTL_BLKSNAP_SNAPSHOT_CREATE, IOC(RW, 'V', 1, 32));
	NUM(IOCTL_BLKSNAP_SNAPSHOT_DESTROY, IOC(W, 'V', 2, 16));
	NUM(IOCTL_BLKSNAP_SNAPSHOT_TAKE, IOC(W, 'V', 3, 16));
	NUM(IOCTL_BLKSNAP_SNAPSHOT_COLLECT, IOC(R, 'V', 4, 16));
	NUM(IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT, IOC(R, 'V', 5, 4096));
	NUM(IOCTL_BLKSNAP_BDEV_FILTER, IOC(RW, 'V', 6, 16));
	NUM(IOCTL_BLKSNAP_VERSION, 0x80085600UL);
	NUM(IOCTL_BLKSNAP_BDEV_FILTER, 0xc0105606UL);
	NUM(IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT, 0x90005605UL);
}
