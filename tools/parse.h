/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Argument parsing of the blksnap tool (also used by the host tests). */
#ifndef BLKSNAP_TOOL_PARSE_H
#define BLKSNAP_TOOL_PARSE_H

#include <stdint.h>
#include <stdio.h>
#include <stddef.h>
#include <linux/blksnap.h>

/*
 * Unsigned number: decimal, or hexadecimal with a 0x prefix. No sign, no
 * spaces, no trailing characters. -EINVAL if malformed, -ERANGE if too big.
 */
int parse_u64(const char *s, uint64_t *out);
int parse_u32(const char *s, uint32_t *out);

/*
 * Size in bytes: NUMBER[SUFFIX]. SUFFIX is K, M, G, T or P (powers of
 * 1024, case-insensitive, optionally followed by "iB" or "B"), "B" for
 * bytes, or "s" for 512-byte sectors.
 */
int parse_size(const char *s, uint64_t *bytes);

/* A growable array of sector ranges. */
struct range_vec {
	struct blksnap_sectors *v;
	size_t n, cap;
};
void range_vec_free(struct range_vec *rv);

/*
 * One sector range: "START+COUNT" (COUNT >= 1 sectors from START),
 * "START-END" (END inclusive, END >= START) or "START" (one sector).
 * Numbers as parse_u64(). Surrounding blanks are ignored.
 */
int parse_range(const char *s, struct blksnap_sectors *r);
/* A comma-separated list of ranges, appended to @rv. */
int parse_range_list(const char *s, struct range_vec *rv);
/*
 * A file of ranges: each line a range list; '#' starts a comment; blank
 * lines are ignored. On error *@bad_line is the 1-based line number.
 */
int parse_range_file(FILE *f, struct range_vec *rv, unsigned long *bad_line);

#endif
