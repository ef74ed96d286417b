// SPDX-License-Identifier: GPL-2.0
/* The same helper as the CBT suite: see ../20-cbt/bsctl.c. */
#include "../20-cbt/bsctl.c"
