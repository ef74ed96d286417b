// SPDX-License-Identifier: LGPL-2.1-or-later
/* UUID text form, through libuuid. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <uuid/uuid.h>
#include "internal.h"

_Static_assert(sizeof(uuid_t) == sizeof(struct blksnap_uuid),
	       "uuid_t and struct blksnap_uuid differ");

BLKSNAP_API int blksnap_uuid_parse(const char *text, struct blksnap_uuid *id)
{
	uuid_t u;

	if (!text || !id || strlen(text) != BLKSNAP_UUID_STR_LEN - 1)
		return blksnap__fail(BLKSNAP_OP_UUID_PARSE, -EINVAL);
	if (uuid_parse(text, u) != 0)
		return blksnap__fail(BLKSNAP_OP_UUID_PARSE, -EINVAL);
	memcpy(id->b, u, sizeof(id->b));
	return 0;
}

BLKSNAP_API int blksnap_uuid_format(const struct blksnap_uuid *id, char *buf,
				    size_t size)
{
	uuid_t u;

	if (!id || !buf || size < BLKSNAP_UUID_STR_LEN)
		return blksnap__fail(BLKSNAP_OP_NONE, -EINVAL);
	memcpy(u, id->b, sizeof(u));
	uuid_unparse_lower(u, buf);
	return 0;
}

BLKSNAP_API int blksnap_uuid_equal(const struct blksnap_uuid *a,
				   const struct blksnap_uuid *b)
{
	if (!a || !b)
		return 0;
	return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

BLKSNAP_API int blksnap_uuid_is_null(const struct blksnap_uuid *id)
{
	static const struct blksnap_uuid zero;

	return blksnap_uuid_equal(id, &zero);
}
