// SPDX-License-Identifier: GPL-2.0-or-later
/* Argument parsing of the blksnap tool: numbers, sizes, sector ranges. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "parse.h"

/* Parse the digits at *@s, advancing *@s past them. */
static int parse_digits(const char **s, uint64_t *out)
{
	const char *p = *s;
	unsigned int base = 10;
	uint64_t v = 0;
	int any = 0;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	for (;; p++) {
		unsigned int d;

		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
		any = 1;
	}
	if (!any)
		return -EINVAL;
	*s = p;
	*out = v;
	return 0;
}

int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v;
	int rc;

	if (!s || !out)
		return -EINVAL;
	rc = parse_digits(&s, &v);
	if (rc)
		return rc;
	if (*s)
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_u32(const char *s, uint32_t *out)
{
	uint64_t v;
	int rc;

	if (!out)
		return -EINVAL;
	rc = parse_u64(s, &v);
	if (rc)
		return rc;
	if (v > UINT32_MAX)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

int parse_size(const char *s, uint64_t *bytes)
{
	static const char units[] = "KMGTP";
	const char *u;
	uint64_t v, mul = 1;
	int rc;

	if (!s || !bytes)
		return -EINVAL;
	rc = parse_digits(&s, &v);
	if (rc)
		return rc;
	if (*s == 's' && s[1] == 0) {
		mul = 512;
	} else if (*s && (u = strchr(units, toupper((unsigned char)*s)))) {
		int shift = 10 * (int)(u - units + 1);

		mul = 1ULL << shift;
		s++;
		if (strcmp(s, "iB") && strcmp(s, "B") && *s)
			return -EINVAL;
	} else if (*s && strcmp(s, "B")) {
		return -EINVAL;
	}
	if (v > UINT64_MAX / mul)
		return -ERANGE;
	*bytes = v * mul;
	return 0;
}

void range_vec_free(struct range_vec *rv)
{
	free(rv->v);
	rv->v = NULL;
	rv->n = rv->cap = 0;
}

static int range_vec_add(struct range_vec *rv, const struct blksnap_sectors *r)
{
	if (rv->n == rv->cap) {
		size_t cap = rv->cap ? rv->cap * 2 : 16;
		struct blksnap_sectors *v = realloc(rv->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		rv->v = v;
		rv->cap = cap;
	}
	rv->v[rv->n++] = *r;
	return 0;
}

static const char *skip_blanks(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Parse one range at *@s, stopping at a comma, blank or the end. */
static int parse_range_at(const char **s, struct blksnap_sectors *r)
{
	const char *p = skip_blanks(*s);
	uint64_t a, b;
	int rc;

	rc = parse_digits(&p, &a);
	if (rc)
		return rc;
	if (*p == '+' || *p == '-') {
		char op = *p++;

		rc = parse_digits(&p, &b);
		if (rc)
			return rc;
		if (op == '+') {
			if (b == 0)
				return -EINVAL;
			if (a + b < a)
				return -ERANGE;
			r->offset = a;
			r->count = b;
		} else {
			if (b < a)
				return -EINVAL;
			if (b - a == UINT64_MAX)
				return -ERANGE;
			r->offset = a;
			r->count = b - a + 1;
		}
	} else {
		if (a == UINT64_MAX)
			return -ERANGE;
		r->offset = a;
		r->count = 1;
	}
	p = skip_blanks(p);
	if (*p && *p != ',' && *p != '\n' && *p != '\r')
		return -EINVAL;
	*s = p;
	return 0;
}

int parse_range(const char *s, struct blksnap_sectors *r)
{
	struct blksnap_sectors tmp;
	int rc;

	if (!s || !r)
		return -EINVAL;
	rc = parse_range_at(&s, &tmp);
	if (rc)
		return rc;
	if (*s)
		return -EINVAL;
	*r = tmp;
	return 0;
}

int parse_range_list(const char *s, struct range_vec *rv)
{
	struct blksnap_sectors r;
	size_t n0;
	int rc;

	if (!s || !rv)
		return -EINVAL;
	n0 = rv->n;
	for (;;) {
		rc = parse_range_at(&s, &r);
		if (!rc)
			rc = range_vec_add(rv, &r);
		if (rc) {
			rv->n = n0;
			return rc;
		}
		if (*s != ',')
			break;
		s++;
	}
	if (*s && *s != '\n' && *s != '\r') {
		rv->n = n0;
		return -EINVAL;
	}
	return 0;
}

int parse_range_file(FILE *f, struct range_vec *rv, unsigned long *bad_line)
{
	char *line = NULL;
	size_t size = 0;
	unsigned long no = 0;
	int rc = 0;

	if (!f || !rv)
		return -EINVAL;
	while (getline(&line, &size, f) >= 0) {
		char *hash = strchr(line, '#');
		const char *p;

		no++;
		if (hash)
			*hash = 0;
		p = line;
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			continue;
		rc = parse_range_list(p, rv);
		if (rc)
			break;
	}
	if (!rc && ferror(f))
		rc = -EIO;
	if (rc && bad_line)
		*bad_line = no;
	free(line);
	return rc;
}
