// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include "mock.h"

int mock_calls;
unsigned long mock_last_req;
mock_fn mock_handler;

void mock_set(mock_fn fn)
{
	mock_calls = 0;
	mock_last_req = 0;
	mock_handler = fn;
}

int mock_errno(int e)
{
	errno = e;
	return -1;
}

int __wrap_ioctl(int fd, unsigned long req, ...);
int __wrap_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	mock_calls++;
	mock_last_req = req;
	if (!mock_handler)
		return mock_errno(ENOTTY);
	return mock_handler(fd, req, arg);
}
