/* SPDX-License-Identifier: Apache-2.0 */
/* grants.h - consent grants as a list: every grant (or one subject's, or
 * one grantee's) with its state, its status at a time, and its scope as
 * text. Used by `consent list`, `consent export` and the console. */
#ifndef MC_GRANTS_H
#define MC_GRANTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain.h"
#include "consent.h"
#include "err.h"
#include "identity.h"
#include "store.h"

/* fn returns 0 to go on, 1 to stop, -1 on error (err set). */
typedef int (*mc_grant_each_fn)(struct mc_txn *t, const struct mc_grant_state *gs,
				const struct mc_grant *g, void *ctx, struct mc_err *err);
/* In grant id order; subject and grantee may be NULL (any). */
int mc_grants_each(struct mc_txn *t, const uint8_t *subject, const uint8_t *grantee,
		   mc_grant_each_fn fn, void *ctx, struct mc_err *err);

/* "active", "revoked", "grantee-revoked", "expired" or "not-yet-valid" at
 * now (machine names). grantee_active: the grantee's identity is enrolled
 * and not revoked (mc_access_decide's actor_active). A grant revoked
 * itself is "revoked"; else one whose grantee's identity was revoked since
 * (IDENTITY_REVOKE, or a rotation that left an ended grant on the old key)
 * is "grantee-revoked" whatever its dates, as every read by that identity
 * is refused (actor-inactive) before any grant is looked at
 * (docs/decisions.md, "A grant to a revoked identity"). */
const char *mc_grant_status(const struct mc_grant_state *gs, const struct mc_grant *g, bool grantee_active,
			    uint64_t now);
/* Whether the grantee of g is an enrolled identity not revoked: who is
 * filled with its row (name "?" when it has none). 0 or -1. */
int mc_grant_grantee(struct mc_txn *t, const struct mc_grant *g, struct mc_identity *who, bool *active,
		     struct mc_err *err);

/* The scope as text: "*" for every category, or "lab,imaging", plus
 * "N record(s)" for record-scoped grants. */
void mc_grant_scope_text(const struct mc_grant *g, char *out, size_t n);
/* Parses "*" (every category) or "lab, note" (spaces around commas are
 * fine) into g; the category bytes go to store (cap bytes). An empty
 * string gives no category. EX_USAGE naming what a scope is. */
int mc_grant_scope_parse(const char *s, struct mc_grant *g, char *store, size_t cap, struct mc_err *err);
#define MC_GRANT_SCOPE_TEXT_MAX (MC_SCOPE_CATS_MAX * (MC_CATEGORY_MAX + 1) + 32)

#endif
