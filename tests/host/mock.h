/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ioctl() of the library is replaced by __wrap_ioctl (linker --wrap): the
 * tests see every request and decide the result. No kernel is touched.
 */
#ifndef BLKSNAP_TEST_MOCK_H
#define BLKSNAP_TEST_MOCK_H

typedef int (*mock_fn)(int fd, unsigned long req, void *arg);

extern int mock_calls;			/* ioctl calls seen */
extern unsigned long mock_last_req;	/* last request number */
extern mock_fn mock_handler;		/* NULL: fail with ENOTTY */

/* Reset the counters and set the handler. */
void mock_set(mock_fn fn);
/* Handler result for "fail with errno e". */
int mock_errno(int e);

#define FAKE_FD 1000	/* never opened: only the mock sees it */

#endif
