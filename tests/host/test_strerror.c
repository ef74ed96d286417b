// SPDX-License-Identifier: GPL-2.0-or-later
/* Error messages: context-aware, never NULL. */
#include <errno.h>
#include <pthread.h>
#include <blksnap/blksnap.h>
#include "tap.h"

#define MSG(op, err, sub) \
	ok_contains(blksnap_strerror_op(op, err), sub, "strerror: %s %s -> '%s'", \
		    blksnap_op_name(op), #err, sub)

static void *other_thread(void *arg)
{
	struct blksnap_uuid id;

	(void)arg;
	blksnap_uuid_parse("bad", &id);	/* fails: op UUID_PARSE in that thread */
	return NULL;
}

void test_strerror(void)
{
	struct blksnap_uuid id;
	pthread_t t;
	int op, bad = 0;

	MSG(BLKSNAP_OP_OPEN_CONTROL, -ENOENT, "blksnap module is not loaded");
	MSG(BLKSNAP_OP_OPEN_CONTROL, -EACCES, "run as root");
	MSG(BLKSNAP_OP_OPEN_DEVICE, -ENOENT, "no such device");
	MSG(BLKSNAP_OP_OPEN_DEVICE, -ENOTBLK, "not a block device");
	MSG(BLKSNAP_OP_FILTER_ATTACH, -ENOENT, "module is not loaded");
	MSG(BLKSNAP_OP_FILTER_ATTACH, -EALREADY, "already attached");
	MSG(BLKSNAP_OP_FILTER_ATTACH, -EBUSY, "another filter");
	MSG(BLKSNAP_OP_FILTER_ATTACH, -ENOTTY, "block-device filters");
	MSG(BLKSNAP_OP_FILTER_ATTACH, -ENODEV, "disk is gone");
	MSG(BLKSNAP_OP_FILTER_DETACH, -ENOENT, "no filter is attached");
	MSG(BLKSNAP_OP_FILTER_DETACH, -EINVAL, "another filter");
	MSG(BLKSNAP_OP_CBTINFO, -ENOENT, "filter is not attached");
	MSG(BLKSNAP_OP_SNAPSHOT_INFO, -ENOENT, "not attached");
	MSG(BLKSNAP_OP_CBTMAP, -EINVAL, "outside the CBT table");
	MSG(BLKSNAP_OP_SNAPSHOT_ADD, -EBUSY, "device is already part of another snapshot");
	MSG(BLKSNAP_OP_SNAPSHOT_ADD, -EALREADY, "already part of this snapshot");
	MSG(BLKSNAP_OP_SNAPSHOT_ADD, -EINVAL, "difference storage");
	MSG(BLKSNAP_OP_SNAPSHOT_ADD, -ESRCH, "no such snapshot");
	MSG(BLKSNAP_OP_SNAPSHOT_ADD, -ENOENT, "not attached");
	MSG(BLKSNAP_OP_SNAPSHOT_TAKE, -ESRCH, "no such snapshot");
	MSG(BLKSNAP_OP_SNAPSHOT_TAKE, -ENODEV, "no devices");
	MSG(BLKSNAP_OP_SNAPSHOT_TAKE, -EALREADY, "already been taken");
	MSG(BLKSNAP_OP_SNAPSHOT_DESTROY, -ESRCH, "no such snapshot");
	MSG(BLKSNAP_OP_SNAPSHOT_CREATE, -EINVAL, "block device, a regular file or a directory");
	MSG(BLKSNAP_OP_SNAPSHOT_CREATE, -ENOENT, "does not exist");
	MSG(BLKSNAP_OP_SNAPSHOT_COLLECT, -ENODATA, "bigger");
	MSG(BLKSNAP_OP_SNAPSHOT_WAIT_EVENT, -ENOENT, "timed out");
	MSG(BLKSNAP_OP_SNAPSHOT_WAIT_EVENT, -EINTR, "interrupted");
	MSG(BLKSNAP_OP_SNAPSHOT_WAIT_EVENT, -ESRCH, "no such snapshot");
	MSG(BLKSNAP_OP_VERSION, -EPERM, "run as root");
	MSG(BLKSNAP_OP_UUID_PARSE, -EINVAL, "xxxxxxxx-xxxx");
	MSG(BLKSNAP_OP_CHANGES, BLKSNAP_FULL_BACKUP_NEEDED, "full backup needed");
	MSG(BLKSNAP_OP_NONE, -ENOMEM, "out of memory");
	MSG(BLKSNAP_OP_NONE, -EXDEV, "link");	/* fallback: the C library's text */
	MSG(BLKSNAP_OP_NONE, -99999, "unknown error");
	ok(!strcmp(blksnap_strerror_op(BLKSNAP_OP_SNAPSHOT_TAKE, ESRCH),
		   blksnap_strerror_op(BLKSNAP_OP_SNAPSHOT_TAKE, -ESRCH)),
	   "strerror: positive errno accepted");

	for (op = 0; op < BLKSNAP_OP_MAX + 3; op++)
		for (int e = -140; e <= 1; e++)
			if (!blksnap_strerror_op((enum blksnap_op)op, e) ||
			    !*blksnap_strerror_op((enum blksnap_op)op, e))
				bad++;
	ok_eq(bad, 0, "strerror: every operation x errno gives a non-empty message");
	/* The library serves every program: the tool adds its own advice. */
	for (bad = 0, op = 0; op < BLKSNAP_OP_MAX; op++)
		for (int e = -140; e <= 1; e++)
			if (strstr(blksnap_strerror_op((enum blksnap_op)op, e), "'blksnap "))
				bad++;
	ok_eq(bad, 0, "strerror: no message names a command of the blksnap tool");
	ok(!strcmp(blksnap_op_name(BLKSNAP_OP_SNAPSHOT_TAKE), "snapshot take") &&
	   !strcmp(blksnap_op_name((enum blksnap_op)1000), "unknown operation"),
	   "strerror: operation names");

	/* blksnap_strerror() uses the last failed operation of this thread. */
	ok_eq(blksnap_uuid_parse("nope", &id), -EINVAL, "strerror: a failing call");
	ok_contains(blksnap_strerror(-EINVAL), "invalid UUID", "strerror: context from the last failed call");
	blksnap_open_device("/dev/null");
	ok_contains(blksnap_strerror(-ENOTBLK), "not a block device", "strerror: context follows the last failure");
	pthread_create(&t, NULL, other_thread, NULL);
	pthread_join(t, NULL);
	ok_eq(blksnap_last_op(), BLKSNAP_OP_OPEN_DEVICE, "strerror: last operation is per thread");
}
