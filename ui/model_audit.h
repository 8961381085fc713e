/* SPDX-License-Identifier: Apache-2.0 */
/* model_audit.h - the Audit screen's data: a page of audit events, newest
 * first (or oldest first), filtered by subject, actor, outcome and time,
 * with the cursor to the next page. */
#ifndef MC_MODEL_AUDIT_H
#define MC_MODEL_AUDIT_H

#include <stddef.h>

#include "audit.h"
#include "err.h"
#include "store.h"

#define MC_AUDIT_PAGE_MAX 256

struct mc_audit_rows {
	unsigned n;
	struct mc_audit_page page;          /* the cursor after the last row */
	struct mc_audit_event rows[MC_AUDIT_PAGE_MAX];
};

/* The EVENT cell of an event: what it was, by its type (an access's
 * record, version, purpose and outcome; a grant's or a revocation's grant;
 * an acknowledgement's alert and reason; a rotation's keys), never empty:
 * a type without its own words gives its machine name. */
void mc_audit_event_what(const struct mc_audit_event *e, char *out, size_t n);

/* f->limit is clamped to MC_AUDIT_PAGE_MAX. */
int mc_audit_rows_load(struct mc_store *s, const struct mc_audit_filter *f, struct mc_audit_rows *out,
		       struct mc_err *err);

#endif
