// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Host unit tests of libblksnap and the blksnap tool: no kernel needed.
 *
 *   host-tests [TOOL [FAKE_TOOL]]
 *
 * TOOL: the blksnap binary; FAKE_TOOL: the same linked with fake_kernel.c.
 *
 * Prints TAP; exits 1 if any test failed.
 */
#include <stdarg.h>
#include <stdlib.h>
#include "tap.h"

int tap_n, tap_failed;

void tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("%sok %d - ", pass ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!pass) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
}

void tap_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_abi();
	test_uuid();
	test_ranges();
	test_args();
	test_wrappers();
	test_strerror();
	test_parse();
	test_repo();
	if (argc > 1)
		test_tool(argv[1]);
	if (argc > 2)
		test_tool_fake(argv[2]);
	printf("1..%d\n", tap_n);
	if (tap_failed)
		printf("# %d of %d tests failed\n", tap_failed, tap_n);
	return tap_failed ? 1 : 0;
}
