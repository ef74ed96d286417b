/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libblksnap internals: not installed. */
#ifndef BLKSNAP_LIB_INTERNAL_H
#define BLKSNAP_LIB_INTERNAL_H

#include <sys/ioctl.h>
#include <blksnap/blksnap.h>	/* and the UAPI: structures, ioctl numbers */

#define BLKSNAP_API __attribute__((visibility("default")))

/* Record @op as the context of the failure @err (< 0) and return @err. */
int blksnap__fail(enum blksnap_op op, int err);

/* Size of one CBTMAP request of blksnap_read_cbt(). */
#define BLKSNAP_CBTMAP_CHUNK (1U << 20)
/* How often blksnap_read_cbt() restarts when a take changes the table. */
#define BLKSNAP_READ_CBT_TRIES 5

#endif
