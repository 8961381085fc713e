/* SPDX-License-Identifier: Apache-2.0 */
/* model_consent.h - the Consent screen's data: grants (all, one subject's,
 * one grantee's, or only the active ones) with their status at a time, and
 * the grants ending within a window. */
#ifndef MC_MODEL_CONSENT_H
#define MC_MODEL_CONSENT_H

#include <stdbool.h>
#include <stdint.h>

#include "consent.h"
#include "err.h"
#include "grants.h"
#include "identity.h"
#include "store.h"

#define MC_CONSENT_ROWS_MAX 512

struct mc_grant_row {
	uint8_t id[MC_GRANT_ID_LEN];
	uint8_t subject[MC_HASH_LEN];
	uint8_t grantee[MC_PK_LEN];
	char grantee_name[MC_NAME_MAX + 1];
	char status[16];
	uint8_t purpose;
	char scope[MC_GRANT_SCOPE_TEXT_MAX];
	uint64_t from_ms, until_ms;          /* until MC_TIME_OPEN: no end */
	uint64_t height;
	bool expiring;                       /* active and ending within the window */
};

struct mc_consent_rows {
	unsigned n;
	bool truncated;                      /* more than MC_CONSENT_ROWS_MAX matched */
	unsigned expiring;
	struct mc_grant_row rows[MC_CONSENT_ROWS_MAX];
};

struct mc_consent_filter {
	const uint8_t *subject;              /* pseudonym or NULL */
	const uint8_t *grantee;              /* pk or NULL */
	bool active_only;
	bool expiring_only;
	uint64_t now_ms;
	uint64_t expiring_window_ms;         /* default 7 days */
};

int mc_consent_rows_load(struct mc_store *s, const struct mc_consent_filter *f,
			 struct mc_consent_rows *out, struct mc_err *err);

#endif
