/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "ui_text.h"

void mc_ui_copy(char *dst, size_t cap, const char *src)
{
	size_t l = strlen(src);

	if (!cap)
		return;
	if (l >= cap) {
		l = cap - 1;
		while (l > 0 && ((unsigned char)src[l] & 0xc0) == 0x80)
			l--;
	}
	memcpy(dst, src, l);
	dst[l] = '\0';
}
