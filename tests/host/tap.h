/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Minimal TAP producer for the host unit tests. */
#ifndef BLKSNAP_TEST_TAP_H
#define BLKSNAP_TEST_TAP_H

#include <stdio.h>
#include <string.h>

extern int tap_n, tap_failed;

/* ok(COND, "name", ...): one TAP line; a failure also prints where. */
#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
void tap_ok(int pass, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A diagnostic line ("# ..."). */
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define ok_eq(a, b, ...) do {						\
	long long _a = (long long)(a), _b = (long long)(b);		\
	if (_a != _b)							\
		tap_diag("%s = %lld, expected %lld", #a, _a, _b);	\
	ok(_a == _b, __VA_ARGS__);					\
} while (0)

#define ok_contains(s, sub, ...) do {					\
	const char *_s = (s);						\
	int _p = _s && strstr(_s, (sub)) != NULL;			\
	if (!_p)							\
		tap_diag("'%s' does not contain '%s'", _s ? _s : "(null)", (sub)); \
	ok(_p, __VA_ARGS__);						\
} while (0)

/* Suites. */
void test_abi(void);
void test_uuid(void);
void test_ranges(void);
void test_args(void);
void test_wrappers(void);
void test_strerror(void);
void test_parse(void);
void test_repo(void);
void test_tool(const char *tool);
void test_tool_fake(const char *tool);

#endif
