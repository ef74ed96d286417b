// SPDX-License-Identifier: GPL-2.0-or-later
/* UUID text form: round trip and rejection of bad text. */
#include <errno.h>
#include <blksnap/blksnap.h>
#include "tap.h"

void test_uuid(void)
{
	static const char *const bad[] = {
		"", "0", "not-a-uuid",
		"123e4567-e89b-12d3-a456-42661417400",		/* 35 chars */
		"123e4567-e89b-12d3-a456-4266141740000",	/* 37 chars */
		"123e4567-e89b-12d3-a456_426614174000",		/* wrong separator */
		"123e4567e-89b-12d3-a456-426614174000",		/* misplaced dash */
		"123g4567-e89b-12d3-a456-426614174000",		/* not hex */
		" 23e4567-e89b-12d3-a456-426614174000",		/* blank */
		"123e4567-e89b-12d3-a456-42661417400 ",
		"{23e4567-e89b-12d3-a456-42661417400}",
	};
	const char *text = "123e4567-e89b-12d3-a456-426614174000";
	struct blksnap_uuid id, id2, zero = { { 0 } };
	char buf[BLKSNAP_UUID_STR_LEN], small[BLKSNAP_UUID_STR_LEN - 1];
	unsigned int i;

	ok_eq(blksnap_uuid_parse(text, &id), 0, "uuid: parse canonical text");
	ok(id.b[0] == 0x12 && id.b[1] == 0x3e && id.b[15] == 0x00 && id.b[14] == 0x40,
	   "uuid: bytes in text order");
	ok_eq(blksnap_uuid_format(&id, buf, sizeof(buf)), 0, "uuid: format");
	ok(!strcmp(buf, text), "uuid: round trip gives the same text");
	ok_eq(blksnap_uuid_parse("123E4567-E89B-12D3-A456-426614174000", &id2), 0,
	      "uuid: upper case accepted");
	ok(blksnap_uuid_equal(&id, &id2), "uuid: upper and lower case are equal");
	blksnap_uuid_format(&id2, buf, sizeof(buf));
	ok(!strcmp(buf, text), "uuid: format is lower case");

	for (i = 0; i < 256; i++) {
		struct blksnap_uuid a, b;
		unsigned int j;

		for (j = 0; j < 16; j++)
			a.b[j] = (unsigned char)(i * 7 + j * 31);
		blksnap_uuid_format(&a, buf, sizeof(buf));
		if (blksnap_uuid_parse(buf, &b) || !blksnap_uuid_equal(&a, &b))
			break;
	}
	ok_eq(i, 256, "uuid: 256 byte patterns round trip");

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		id2 = zero;
		ok_eq(blksnap_uuid_parse(bad[i], &id2), -EINVAL, "uuid: reject '%s'", bad[i]);
		ok(blksnap_uuid_is_null(&id2), "uuid: output untouched on error ('%s')", bad[i]);
	}
	ok_eq(blksnap_uuid_parse(NULL, &id), -EINVAL, "uuid: parse NULL text");
	ok_eq(blksnap_uuid_parse(text, NULL), -EINVAL, "uuid: parse into NULL");
	ok_eq(blksnap_uuid_format(&id, small, sizeof(small)), -EINVAL, "uuid: format buffer too small");
	ok_eq(blksnap_uuid_format(NULL, buf, sizeof(buf)), -EINVAL, "uuid: format NULL id");
	ok_eq(blksnap_uuid_format(&id, NULL, 64), -EINVAL, "uuid: format NULL buffer");
	ok(blksnap_uuid_is_null(&zero) && !blksnap_uuid_is_null(&id), "uuid: is_null");
	ok(!blksnap_uuid_equal(NULL, &id) && !blksnap_uuid_equal(&id, NULL), "uuid: equal with NULL is false");
	blksnap_uuid_format(&zero, buf, sizeof(buf));
	ok(!strcmp(buf, "00000000-0000-0000-0000-000000000000"), "uuid: null UUID text");
}
