// SPDX-License-Identifier: GPL-2.0-or-later
/* The tool's argument syntax: numbers, sizes with suffixes, sector ranges. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include "parse.h"
#include "tap.h"

static void size_ok(const char *s, uint64_t want)
{
	uint64_t v = 0;
	int rc = parse_size(s, &v);

	if (rc || v != want)
		tap_diag("parse_size(\"%s\") = %d, %llu", s, rc, (unsigned long long)v);
	ok(!rc && v == want, "parse: size '%s' = %llu", s, (unsigned long long)want);
}

static void size_bad(const char *s, int err)
{
	uint64_t v = 77;
	int rc = parse_size(s, &v);

	ok(rc == err && v == 77, "parse: size '%s' rejected (%s)", s, err == -ERANGE ? "ERANGE" : "EINVAL");
}

static void range_ok(const char *s, uint64_t off, uint64_t count)
{
	struct blksnap_sectors r = { 0, 0 };
	int rc = parse_range(s, &r);

	ok(!rc && r.offset == off && r.count == count, "parse: range '%s' = %llu+%llu", s,
	   (unsigned long long)off, (unsigned long long)count);
}

static void range_bad(const char *s)
{
	struct blksnap_sectors r = { 5, 5 };
	int rc = parse_range(s, &r);

	ok(rc < 0 && r.offset == 5 && r.count == 5, "parse: range '%s' rejected", s);
}

void test_parse(void)
{
	struct range_vec rv = { 0 };
	uint64_t v;
	uint32_t v32;
	unsigned long line = 0;
	FILE *f;

	ok(parse_u64("0", &v) == 0 && v == 0, "parse: u64 0");
	ok(parse_u64("18446744073709551615", &v) == 0 && v == UINT64_MAX, "parse: u64 max");
	ok_eq(parse_u64("18446744073709551616", &v), -ERANGE, "parse: u64 overflow");
	ok(parse_u64("0x1F", &v) == 0 && v == 31, "parse: u64 hex");
	ok_eq(parse_u64("-1", &v), -EINVAL, "parse: u64 negative");
	ok_eq(parse_u64("", &v), -EINVAL, "parse: u64 empty");
	ok_eq(parse_u64("12a", &v), -EINVAL, "parse: u64 trailing garbage");
	ok_eq(parse_u64("0x", &v), -EINVAL, "parse: u64 bare 0x");
	ok_eq(parse_u64(" 1", &v), -EINVAL, "parse: u64 leading blank");
	ok(parse_u32("4294967295", &v32) == 0 && v32 == UINT32_MAX, "parse: u32 max");
	ok_eq(parse_u32("4294967296", &v32), -ERANGE, "parse: u32 overflow");

	size_ok("0", 0);
	size_ok("4096", 4096);
	size_ok("100B", 100);
	size_ok("1K", 1024);
	size_ok("1k", 1024);
	size_ok("1KiB", 1024);
	size_ok("1KB", 1024);
	size_ok("512M", 512ULL << 20);
	size_ok("3G", 3ULL << 30);
	size_ok("2g", 2ULL << 30);
	size_ok("1GiB", 1ULL << 30);
	size_ok("5T", 5ULL << 40);
	size_ok("2P", 2ULL << 50);
	size_ok("8s", 4096);
	size_ok("0x10K", 16384);
	size_ok("16383P", 16383ULL << 50);
	size_bad("", -EINVAL);
	size_bad("G", -EINVAL);
	size_bad("1X", -EINVAL);
	size_bad("1.5G", -EINVAL);
	size_bad("1 G", -EINVAL);
	size_bad("1Gi", -EINVAL);
	size_bad("1GiBx", -EINVAL);
	size_bad("-1G", -EINVAL);
	size_bad("1S", -EINVAL);
	size_bad("1ss", -EINVAL);
	size_bad("16384P", -ERANGE);
	size_bad("16777216T", -ERANGE);
	size_bad("99999999999999999999", -ERANGE);

	range_ok("0+8", 0, 8);
	range_ok("100-199", 100, 100);
	range_ok("7-7", 7, 1);
	range_ok("5", 5, 1);
	range_ok("0x10+0x10", 16, 16);
	range_ok("  2048+8  ", 2048, 8);
	range_ok("18446744073709551614+1", UINT64_MAX - 1, 1);
	range_bad("");
	range_bad("1+0");
	range_bad("5-4");
	range_bad("+5");
	range_bad("1+");
	range_bad("1-");
	range_bad("a");
	range_bad("1+2+3");
	range_bad("1-2x");
	range_bad("1 + 2");
	range_bad("0+8,16+8");
	range_bad("18446744073709551615+1");
	range_bad("0-18446744073709551615");
	range_bad("18446744073709551615");

	ok(parse_range_list("0+8,16+8", &rv) == 0 && rv.n == 2 && rv.v[1].offset == 16,
	   "parse: range list of two");
	ok(parse_range_list(" 32-39 , 40 ", &rv) == 0 && rv.n == 4 && rv.v[2].count == 8 &&
	   rv.v[3].offset == 40 && rv.v[3].count == 1, "parse: range list with blanks appends");
	ok(parse_range_list("0+8,", &rv) < 0 && rv.n == 4, "parse: trailing comma rejected, list unchanged");
	ok(parse_range_list(",0+8", &rv) < 0 && rv.n == 4, "parse: leading comma rejected");
	ok(parse_range_list("0+8;1", &rv) < 0 && rv.n == 4, "parse: semicolon rejected");
	ok(parse_range_list("0+8 16+8", &rv) < 0 && rv.n == 4, "parse: blank-separated rejected");
	range_vec_free(&rv);

	f = tmpfile();
	fputs("# ranges\n\n0+8\n  16-23, 100  # comment\n\t\n2048+2048\r\n", f);
	rewind(f);
	ok(parse_range_file(f, &rv, &line) == 0 && rv.n == 4 && rv.v[3].offset == 2048 &&
	   rv.v[3].count == 2048, "parse: range file with comments and blank lines");
	fclose(f);
	range_vec_free(&rv);
	f = tmpfile();
	fputs("0+8\n\n1+2\nbad\n4+4\n", f);
	rewind(f);
	ok(parse_range_file(f, &rv, &line) == -EINVAL && line == 4, "parse: bad line number reported");
	fclose(f);
	range_vec_free(&rv);
}
