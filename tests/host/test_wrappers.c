// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The wrappers send the right request with the right payload and hand back
 * what the "kernel" (the mock) returned; helpers (whole-table read, collect
 * with a growing list) behave as documented.
 */
#include <errno.h>
#include <stdlib.h>
#include <blksnap/blksnap.h>
#include "internal.h"
#include "mock.h"
#include "tap.h"

/* ---- a fake device with the blksnap filter ---- */

static struct {
	struct blksnap_cbtinfo info;
	uint8_t *table;
	int attached;
	int ctl_errno;			/* fail CTL commands with this */
	int change_after_map;		/* new generation after N CBTMAP calls */
	int maps, max_map_len, infos;
	struct blkfilter_ctl last_ctl;
	uint8_t last_opt[64];
} dev;

static int fake_dev(int fd, unsigned long req, void *arg)
{
	struct blkfilter_ctl *ctl = arg;

	if (fd != FAKE_FD)
		return mock_errno(EBADF);
	if (req == BLKFILTER_ATTACH || req == BLKFILTER_DETACH) {
		struct blkfilter_name *n = arg;

		memcpy(dev.last_ctl.name, n->name, sizeof(n->name));
		if (strcmp((char *)n->name, "blksnap"))
			return mock_errno(req == BLKFILTER_ATTACH ? ENOENT : EINVAL);
		if (req == BLKFILTER_ATTACH && dev.attached)
			return mock_errno(EALREADY);
		if (req == BLKFILTER_DETACH && !dev.attached)
			return mock_errno(ENOENT);
		dev.attached = req == BLKFILTER_ATTACH;
		return 0;
	}
	if (req != BLKFILTER_CTL)
		return mock_errno(ENOTTY);
	dev.last_ctl = *ctl;
	if (ctl->optlen && ctl->optlen <= sizeof(dev.last_opt))
		memcpy(dev.last_opt, (void *)(uintptr_t)ctl->opt, ctl->optlen);
	if (strcmp((char *)ctl->name, "blksnap") || !dev.attached)
		return mock_errno(ENOENT);
	if (dev.ctl_errno)
		return mock_errno(dev.ctl_errno);
	switch (ctl->cmd) {
	case BLKFILTER_CTL_BLKSNAP_CBTINFO:
		if (ctl->optlen < sizeof(dev.info))
			return mock_errno(EINVAL);
		dev.infos++;
		memcpy((void *)(uintptr_t)ctl->opt, &dev.info, sizeof(dev.info));
		ctl->optlen = sizeof(dev.info);
		return 0;
	case BLKFILTER_CTL_BLKSNAP_CBTMAP: {
		struct blksnap_cbtmap *m = (void *)(uintptr_t)ctl->opt;

		if (m->offset > dev.info.block_count ||
		    m->length > dev.info.block_count - m->offset)
			return mock_errno(EINVAL);
		memcpy((void *)(uintptr_t)m->buffer, dev.table + m->offset, m->length);
		dev.maps++;
		if ((int)m->length > dev.max_map_len)
			dev.max_map_len = m->length;
		if (dev.change_after_map && dev.maps == dev.change_after_map) {
			dev.info.generation_id.b[0]++;
			dev.info.changes_number = 1;
		}
		return 0;
	}
	case BLKFILTER_CTL_BLKSNAP_SNAPSHOTINFO: {
		struct blksnap_snapshotinfo *si = (void *)(uintptr_t)ctl->opt;

		si->error_code = -28;
		memset(si->image, 'i', sizeof(si->image));	/* unterminated */
		return 0;
	}
	default:
		return 0;
	}
}

static void setup_dev(uint32_t count)
{
	free(dev.table);
	memset(&dev, 0, sizeof(dev));
	dev.attached = 1;
	dev.info.device_capacity = (uint64_t)count * 65536;
	dev.info.block_size = 65536;
	dev.info.block_count = count;
	dev.info.generation_id.b[0] = 0x42;
	dev.info.changes_number = 7;
	dev.table = malloc(count ? count : 1);
	for (uint32_t i = 0; i < count; i++)
		dev.table[i] = (uint8_t)(i * 13 % 9);
	mock_set(fake_dev);
}

static void device_commands(void)
{
	struct blksnap_cbtinfo info;
	struct blksnap_snapshotinfo si;
	struct blksnap_uuid id = { { 9, 8, 7 } };
	struct blksnap_sectors rg[2] = { { 0, 8 }, { 100, 50 } };
	uint8_t buf[16], *map;
	uint32_t optlen;
	struct blksnap_sectors *r;
	size_t n;
	int rc;

	setup_dev(16);
	dev.attached = 0;
	ok_eq(blksnap_filter_attach(FAKE_FD, "blksnap"), 0, "wrap: attach");
	ok_eq(mock_last_req, BLKFILTER_ATTACH, "wrap: attach sends BLKFILTER_ATTACH");
	{
		static const uint8_t want[32] = "blksnap";

		ok(!memcmp(dev.last_ctl.name, want, 32), "wrap: filter name NUL-padded to 32 bytes");
	}
	ok_eq(blksnap_filter_attach(FAKE_FD, "blksnap"), -EALREADY, "wrap: attach twice -> -EALREADY");
	ok_eq(blksnap_last_op(), BLKSNAP_OP_FILTER_ATTACH, "wrap: failure records the attach operation");
	ok_eq(blksnap_filter_attach(FAKE_FD, "other"), -ENOENT, "wrap: unknown filter -> -ENOENT");
	ok_eq(blksnap_filter_detach(FAKE_FD, "blksnap"), 0, "wrap: detach");
	ok_eq(mock_last_req, BLKFILTER_DETACH, "wrap: detach sends BLKFILTER_DETACH");
	ok_eq(blksnap_filter_detach(FAKE_FD, "blksnap"), -ENOENT, "wrap: detach when detached -> -ENOENT");

	rc = blksnap_cbtinfo(FAKE_FD, &info);
	ok(rc == -ENOENT && blksnap_last_op() == BLKSNAP_OP_CBTINFO,
	   "wrap: cbtinfo without filter -> -ENOENT, op cbtinfo");
	dev.attached = 1;

	ok_eq(blksnap_cbtinfo(FAKE_FD, &info), 0, "wrap: cbtinfo");
	ok(dev.last_ctl.cmd == 0 && dev.last_ctl.optlen == sizeof(info) &&
	   dev.last_ctl.opt == (uintptr_t)&info, "wrap: cbtinfo sends cmd 0 with the struct");
	ok(!memcmp(&info, &dev.info, sizeof(info)), "wrap: cbtinfo returns the kernel's data");

	memset(buf, 0xee, sizeof(buf));
	ok_eq(blksnap_cbtmap(FAKE_FD, 4, 8, buf), 0, "wrap: cbtmap");
	{
		struct blksnap_cbtmap *m = (void *)dev.last_opt;

		ok(dev.last_ctl.cmd == 1 && dev.last_ctl.optlen == sizeof(*m) && m->offset == 4 &&
		   m->length == 8 && m->buffer == (uintptr_t)buf,
		   "wrap: cbtmap sends cmd 1 with offset, length, buffer");
	}
	ok(!memcmp(buf, dev.table + 4, 8) && buf[8] == 0xee, "wrap: cbtmap copies exactly the range");
	ok_eq(blksnap_cbtmap(FAKE_FD, 10, 8, buf), -EINVAL, "wrap: cbtmap past the table -> -EINVAL");

	ok_eq(blksnap_cbtdirty(FAKE_FD, rg, 2), 0, "wrap: cbtdirty");
	{
		struct blksnap_cbtdirty *d = (void *)dev.last_opt;

		ok(dev.last_ctl.cmd == 2 && d->count == 2 && d->dirty_sectors == (uintptr_t)rg,
		   "wrap: cbtdirty sends cmd 2 with count and array");
	}
	ok_eq(blksnap_snapshot_add(FAKE_FD, &id), 0, "wrap: snapshot add");
	ok(dev.last_ctl.cmd == 3 && dev.last_ctl.optlen == 16 && !memcmp(dev.last_opt, &id, 16),
	   "wrap: snapshot add sends cmd 3 with the UUID");
	ok_eq(blksnap_snapshot_info(FAKE_FD, &si), 0, "wrap: snapshot info");
	ok(dev.last_ctl.cmd == 4 && dev.last_ctl.optlen == sizeof(si) && si.error_code == -28 &&
	   si.image[IMAGE_DISK_NAME_LEN - 1] == 0, "wrap: snapshot info, image name terminated");

	optlen = sizeof(buf);
	ok_eq(blksnap_filter_ctl(FAKE_FD, "blksnap", 77, buf, &optlen), 0, "wrap: generic ctl");
	ok(dev.last_ctl.cmd == 77 && dev.last_ctl.optlen == sizeof(buf), "wrap: generic ctl payload");
	optlen = sizeof(info);
	ok(blksnap_filter_ctl(FAKE_FD, "blksnap", 0, &info, &optlen) == 0 && optlen == sizeof(info),
	   "wrap: generic ctl returns optlen written back");

	dev.ctl_errno = EPERM;
	rc = blksnap_snapshot_add(FAKE_FD, &id);
	ok(rc == -EPERM && blksnap_last_op() == BLKSNAP_OP_SNAPSHOT_ADD, "wrap: errno passed back as -errno");
	dev.ctl_errno = 0;

	/* Whole-table read in chunks. */
	setup_dev(2 * BLKSNAP_CBTMAP_CHUNK + 12345);
	rc = blksnap_read_cbt(FAKE_FD, &info, &map);
	ok(rc == 0 && map && !memcmp(map, dev.table, dev.info.block_count),
	   "read_cbt: whole table of %u blocks", dev.info.block_count);
	ok(dev.maps == 3 && dev.max_map_len == (int)BLKSNAP_CBTMAP_CHUNK,
	   "read_cbt: %d CBTMAP calls of at most %d bytes", dev.maps, dev.max_map_len);
	free(map);

	setup_dev(1000);
	dev.change_after_map = 1;
	rc = blksnap_read_cbt(FAKE_FD, &info, &map);
	ok(rc == 0 && dev.infos == 4 && info.generation_id.b[0] == 0x43 && info.changes_number == 1,
	   "read_cbt: restarts when a take changed the table meanwhile");
	free(map);

	setup_dev(0);
	rc = blksnap_read_cbt(FAKE_FD, &info, &map);
	ok(rc == 0 && map != NULL && dev.maps == 0, "read_cbt: empty table, no CBTMAP call");
	free(map);

	setup_dev(100);
	dev.attached = 0;
	map = (void *)1;
	rc = blksnap_read_cbt(FAKE_FD, &info, &map);
	ok(rc == -ENOENT && map == NULL, "read_cbt: no filter -> -ENOENT, map NULL");
	ok_contains(blksnap_strerror(rc), "not attached", "read_cbt: message says the filter is not attached");

	setup_dev(16);
	memset(dev.table, 0, 16);
	dev.table[3] = 8;
	dev.table[4] = 8;
	rc = blksnap_changes_since(FAKE_FD, &dev.info.generation_id, 7, &info, &r, &n);
	ok(rc == 0 && n == 1 && r[0].offset == 3 * 128 && r[0].count == 256,
	   "changes_since: reads the table and computes ranges");
	free(r);
	{
		struct blksnap_uuid other = dev.info.generation_id;

		other.b[5] ^= 1;
		rc = blksnap_changes_since(FAKE_FD, &other, 0, NULL, &r, &n);
		ok(rc == BLKSNAP_FULL_BACKUP_NEEDED && r == NULL && n == 0,
		   "changes_since: other generation -> full backup needed");
	}
	free(dev.table);
	dev.table = NULL;
}

/* Change the generation on every CBTINFO: read_cbt never gets a stable table. */
static int unstable(int fd, unsigned long req, void *arg)
{
	struct blkfilter_ctl *ctl = arg;

	if (req == BLKFILTER_CTL && ctl->cmd == BLKFILTER_CTL_BLKSNAP_CBTINFO)
		dev.info.generation_id.b[1]++;
	return fake_dev(fd, req, arg);
}

/* ---- control device ---- */

static struct {
	uint32_t have;			/* number of snapshots */
	int grow_once;			/* add 3 snapshots after the first query */
	int wait_errno;
	struct blksnap_uuid last_id;
	uint64_t limit;
	char storage[64];
	uint32_t timeout;
	int collects;
} ctl;

static int fake_ctl(int fd, unsigned long req, void *arg)
{
	if (fd != FAKE_FD)
		return mock_errno(EBADF);
	switch (req) {
	case IOCTL_BLKSNAP_VERSION: {
		struct blksnap_version *v = arg;

		v->major = 2;
		v->minor = 0;
		v->revision = 0;
		v->build = 0;
		return 0;
	}
	case IOCTL_BLKSNAP_SNAPSHOT_CREATE: {
		struct blksnap_snapshot_create *c = arg;

		ctl.limit = c->diff_storage_limit_sect;
		snprintf(ctl.storage, sizeof(ctl.storage), "%s",
			 (const char *)(uintptr_t)c->diff_storage_filename);
		memset(c->id.b, 0x5a, 16);
		return 0;
	}
	case IOCTL_BLKSNAP_SNAPSHOT_DESTROY:
	case IOCTL_BLKSNAP_SNAPSHOT_TAKE:
		memcpy(&ctl.last_id, arg, 16);
		return ctl.last_id.b[0] == 0xff ? mock_errno(ESRCH) : 0;
	case IOCTL_BLKSNAP_SNAPSHOT_COLLECT: {
		struct blksnap_snapshot_collect *c = arg;
		struct blksnap_uuid *ids = (void *)(uintptr_t)c->ids;

		ctl.collects++;
		if (ctl.grow_once && ctl.collects == 2)
			ctl.have += 3;
		if (!ids) {
			c->count = ctl.have;
			return 0;
		}
		if (c->count < ctl.have) {
			c->count = ctl.have;
			return mock_errno(ENODATA);
		}
		for (uint32_t i = 0; i < ctl.have; i++) {
			memset(ids[i].b, 0, 16);
			ids[i].b[0] = (uint8_t)i;
		}
		c->count = ctl.have;
		return 0;
	}
	case IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT: {
		struct blksnap_snapshot_event *e = arg;
		struct blksnap_event_corrupted c = { 253, 4, -28 };

		ctl.timeout = e->timeout_ms;
		memcpy(&ctl.last_id, &e->id, 16);
		if (ctl.wait_errno)
			return mock_errno(ctl.wait_errno);
		e->code = blksnap_event_code_corrupted;
		e->time_label = 123456789;
		memcpy(e->data, &c, sizeof(c));
		return 0;
	}
	default:
		return mock_errno(ENOTTY);
	}
}

static void control_commands(void)
{
	struct blksnap_version v;
	struct blksnap_uuid id, want = { { 1, 2, 3 } }, *ids;
	struct blksnap_snapshot_event *ev = malloc(sizeof(*ev));
	struct blksnap_event_corrupted c;
	uint32_t count;
	int rc;

	memset(&ctl, 0, sizeof(ctl));
	mock_set(fake_ctl);
	ok(blksnap_version(FAKE_FD, &v) == 0 && v.major == 2 && mock_last_req == IOCTL_BLKSNAP_VERSION,
	   "wrap: version");
	ok(blksnap_snapshot_create(FAKE_FD, "/var/tmp", 2097152, &id) == 0 &&
	   mock_last_req == IOCTL_BLKSNAP_SNAPSHOT_CREATE && ctl.limit == 2097152 &&
	   !strcmp(ctl.storage, "/var/tmp") && id.b[0] == 0x5a && id.b[15] == 0x5a,
	   "wrap: create passes path and limit, returns the UUID");
	ok(blksnap_snapshot_take(FAKE_FD, &want) == 0 && mock_last_req == IOCTL_BLKSNAP_SNAPSHOT_TAKE &&
	   blksnap_uuid_equal(&ctl.last_id, &want), "wrap: take sends the UUID");
	ok(blksnap_snapshot_destroy(FAKE_FD, &want) == 0 &&
	   mock_last_req == IOCTL_BLKSNAP_SNAPSHOT_DESTROY, "wrap: destroy");
	want.b[0] = 0xff;
	rc = blksnap_snapshot_take(FAKE_FD, &want);
	ok(rc == -ESRCH && blksnap_last_op() == BLKSNAP_OP_SNAPSHOT_TAKE, "wrap: take of unknown -> -ESRCH");
	ok_contains(blksnap_strerror(rc), "no such snapshot", "wrap: message for -ESRCH");

	ctl.have = 5;
	count = 0;
	ok(blksnap_snapshot_collect(FAKE_FD, NULL, &count) == 0 && count == 5,
	   "wrap: collect with NULL ids gives the count");
	{
		struct blksnap_uuid two[2];

		count = 2;
		rc = blksnap_snapshot_collect(FAKE_FD, two, &count);
		ok(rc == -ENODATA && count == 5, "wrap: collect into a small array -> -ENODATA and needed count");
	}
	ok(blksnap_snapshot_collect_all(FAKE_FD, &ids, &count) == 0 && count == 5 && ids[4].b[0] == 4,
	   "collect_all: all snapshots");
	free(ids);
	ctl.have = 0;
	ids = (void *)1;
	ok(blksnap_snapshot_collect_all(FAKE_FD, &ids, &count) == 0 && count == 0 && ids == NULL,
	   "collect_all: no snapshots -> NULL, 0");
	ctl.have = 2;
	ctl.grow_once = 1;
	ctl.collects = 0;
	ok(blksnap_snapshot_collect_all(FAKE_FD, &ids, &count) == 0 && count == 5,
	   "collect_all: list growing meanwhile");
	free(ids);

	ok(blksnap_snapshot_wait_event(FAKE_FD, &want, 1500, ev) == 0 && ctl.timeout == 1500 &&
	   blksnap_uuid_equal(&ctl.last_id, &want) && ev->code == 0,
	   "wrap: wait_event passes id and timeout");
	ok(blksnap_event_corrupted(ev, &c) == 0 && c.dev_id_mj == 253 && c.dev_id_mn == 4 &&
	   c.err_code == -28, "event: corrupted data decoded");
	ok(!strcmp(blksnap_event_name(0), "corrupted") && !strcmp(blksnap_event_name(99), "unknown"),
	   "event: names");
	ctl.wait_errno = ENOENT;
	rc = blksnap_snapshot_wait_event(FAKE_FD, &want, 10, ev);
	ok(rc == -ENOENT, "wrap: wait_event timeout -> -ENOENT");
	ok_contains(blksnap_strerror(rc), "timed out", "wrap: message for a wait timeout");
	free(ev);
	mock_set(NULL);
}

void test_wrappers(void)
{
	struct blksnap_cbtinfo info;
	uint8_t *map;
	int rc;

	device_commands();

	setup_dev(1000);
	mock_set(unstable);
	rc = blksnap_read_cbt(FAKE_FD, &info, &map);
	ok(rc == -EAGAIN && map == NULL, "read_cbt: table never stable -> -EAGAIN");
	ok_contains(blksnap_strerror(rc), "retry", "read_cbt: message says retry");
	free(dev.table);
	dev.table = NULL;

	control_commands();
}
