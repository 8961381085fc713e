/* SPDX-License-Identifier: Apache-2.0 */
/* i18n.h - gettext macros. Every user-facing string goes through _().
 * Machine output (--json, CSV headers, log keys) is never translated. */
#ifndef MC_I18N_H
#define MC_I18N_H

#include <libintl.h>

#define _(s) gettext(s)
#define N_(s) (s)
/* Plurals: the translation for count n. */
#define P_(s, p, n) ngettext(s, p, (unsigned long)(n))

#endif
