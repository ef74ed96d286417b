/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small pieces shared by the guest test helpers (bsctl, races, integrity,
 * faults, memcycles). Header-only: each helper is one C file.
 */
#ifndef GUEST_HELPERS_H
#define GUEST_HELPERS_H

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* The reference count of a loaded module from sysfs; -1 if unreadable. */
static inline int module_refcnt(const char *module)
{
	char path[128];
	FILE *f;
	int n = -1;

	snprintf(path, sizeof(path), "/sys/module/%s/refcnt", module);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

/* Parse a whole string as a number (0x and 0 prefixes allowed): 0 or -1. */
static inline int parse_ull(const char *s, unsigned long long *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return (!*s || *end || errno) ? -1 : 0;
}

/* BLKSNAP_SEED, or the time; printed as "# seed=N" to reproduce a run. */
static inline uint64_t env_seed(void)
{
	const char *env = getenv("BLKSNAP_SEED");
	uint64_t seed = env && *env ? strtoull(env, NULL, 0) :
				      (uint64_t)time(NULL);

	printf("# seed=%" PRIu64 "\n", seed);
	return seed;
}

/* BLKSNAP_SOAK: seconds to run in a soak, 0 in a bounded run. */
static inline double env_soak(void)
{
	const char *env = getenv("BLKSNAP_SOAK");

	return env && *env ? strtod(env, NULL) : 0;
}

#endif
