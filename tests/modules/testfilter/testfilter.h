/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Interface of the blkfilter test module (tests/modules/testfilter), shared
 * by the module and by the test helpers of tests/guest/10-blkfilter.
 */
#ifndef _BLKFILTER_TESTFILTER_H
#define _BLKFILTER_TESTFILTER_H

#include <linux/types.h>

#define TESTFILTER_NAME		"testfilter"	/* has BLKFILTER_CTL commands */
#define TESTFILTER2_NAME	"testfilter2"	/* no ctl callback */

/* BLKFILTER_CTL commands of "testfilter" */
enum {
	TESTFILTER_CTL_GET = 0,		/* out: struct testfilter_counters */
	TESTFILTER_CTL_RESET = 1,	/* zero the counters */
	TESTFILTER_CTL_MODE = 2,	/* in: __u32 mode (TESTFILTER_MODE_*) */
};

/* Take write bios, postpone them to a work queue, resubmit them from there */
#define TESTFILTER_MODE_POSTPONE	0x1u
/* For each write bio, submit a read of one logical block of the device */
#define TESTFILTER_MODE_OWN_READ	0x2u

enum {
	TESTFILTER_READ = 0,
	TESTFILTER_WRITE = 1,	/* REQ_OP_WRITE with data */
	TESTFILTER_OTHER = 2,	/* flushes, discards, write zeroes, ... */
};

struct testfilter_counters {
	__u64 bios[3];		/* bios seen, by TESTFILTER_READ/WRITE/OTHER */
	__u64 sectors[3];	/* their sectors */
	__u64 postponed;	/* bios taken (TESTFILTER_MODE_POSTPONE) */
	__u64 resubmitted;	/* postponed bios resubmitted */
	__u64 own_submitted;	/* reads submitted (TESTFILTER_MODE_OWN_READ) */
	__u64 own_completed;	/* of which completed */
	__u64 own_errors;	/* of which completed with an error */
	__u64 own_seen;		/* own reads passed back to the filter: must be 0 */
	__u64 bad_context;	/* callback run with current->blk_filter wrong */
	__u64 mode;		/* current TESTFILTER_MODE_* */
};

#endif /* _BLKFILTER_TESTFILTER_H */
