/* SPDX-License-Identifier: Apache-2.0 */
/* util.h - small language helpers shared by every layer. */
#ifndef MC_UTIL_H
#define MC_UTIL_H

/* The number of elements of an array (never a pointer). */
#define MC_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
