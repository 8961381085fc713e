/* SPDX-License-Identifier: Apache-2.0 */
/* ui_text.h - the console's text helpers that need no terminal, so that
 * the models (built and tested without curses) share them with the
 * widgets. Owned by the console (ui/). */
#ifndef MC_UI_TEXT_H
#define MC_UI_TEXT_H

#include <stddef.h>

/* Copies src into dst (cap bytes), cut at a UTF-8 character boundary. */
void mc_ui_copy(char *dst, size_t cap, const char *src);

#endif
