/* SPDX-License-Identifier: Apache-2.0 */
/* identity.h - enrolled identities as chain state, and role names. */
#ifndef MC_IDENTITY_H
#define MC_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "err.h"
#include "store.h"
#include "tx.h"

#define MC_NOT_REVOKED UINT64_MAX

/* Identity state row (MC_DB_IDENTITIES):
 * roles u32 | enrolled height u64 | revoked height u64 | name | org |
 * subject (0 or 32 bytes) */
struct mc_identity {
	uint8_t pk[MC_PK_LEN];
	uint32_t roles;
	uint64_t enrolled;
	uint64_t revoked;          /* MC_NOT_REVOKED while active */
	char name[MC_NAME_MAX + 1];
	char org[MC_NAME_MAX + 1];
	bool has_subject;                  /* a patient: its own subject */
	uint8_t subject[MC_HASH_LEN];
};

void mc_identity_encode(const struct mc_identity *id, struct mc_buf *b);
int mc_identity_decode(const uint8_t pk[MC_PK_LEN], const void *p, size_t n,
		       struct mc_identity *id, struct mc_err *err);

/* Writes the identity's state row (key id->pk) and keeps the identity
 * index (MC_DB_IDINDEX) in step: 0 or -1. Every writer of an identity row
 * goes through it. The index holds, for each active identity, its name and,
 * for an active patient identity with a subject, its subject; a store older
 * than the index gets it whole in the first call (in the caller's write
 * transaction: a crash leaves no index or a whole one) unless it was given
 * it when the engine started (mc_identity_index_ensure). */
int mc_identity_put(struct mc_txn *t, const struct mc_identity *id, struct mc_err *err);
/* Builds the identity index of a store older than it, in a write
 * transaction of its own that commits (nothing when it is built): called
 * by the engine before its first round, so that no transaction aborted by
 * design (a proposal's build or check) pays for the build, once per round,
 * on a large store. 0 when it was built, 1 when it was built now, -1. */
int mc_identity_index_ensure(struct mc_store *s, struct mc_err *err);
/* 1 and, in holder, the key (the lowest, as a scan in key order finds it)
 * of an active identity whose name is the len bytes at name; 0 when none
 * is; -1 on error. From the index, O(log n); by a scan of the identities
 * while the store has not built it yet. */
int mc_identity_named(struct mc_txn *t, const void *name, size_t len, uint8_t holder[MC_PK_LEN],
		      struct mc_err *err);
/* 1 when an active patient identity has this subject, 0 when none has,
 * -1 on error. As mc_identity_named. */
int mc_identity_patient_of(struct mc_txn *t, const uint8_t subject[MC_HASH_LEN], struct mc_err *err);
/* 0, MC_NOTFOUND or -1. */
int mc_identity_get(struct mc_txn *t, const uint8_t pk[MC_PK_LEN], struct mc_identity *id,
		    struct mc_err *err);
/* Calls fn for every identity, in key order; fn returns 0 to go on, 1 to
 * stop, -1 on error (err set). Returns what stopped it (0 or 1), or -1
 * (a malformed row: EX_DATAERR). */
typedef int (*mc_identity_fn)(const struct mc_identity *id, void *ctx, struct mc_err *err);
int mc_identities_each(struct mc_txn *t, mc_identity_fn fn, void *ctx, struct mc_err *err);
/* Finds an identity by 64-hex key, unique hex prefix (>= 8 digits), or
 * exact name. EX_NOUSER when none, EX_USAGE when ambiguous. An active
 * identity is found through the index (O(log n)); a name or prefix no
 * active identity has is looked for among all identities (a scan). */
int mc_identity_find(struct mc_txn *t, const char *what, struct mc_identity *id,
		     struct mc_err *err);

/* An identity as shown to an operator: its display name and its key's
 * first MC_WHO_PREFIX hex digits, "Dr A (fdd1d306)". A revoked identity's
 * name may be taken again (and older chains may hold two active ones), so
 * a name is never shown alone (docs/decisions.md, "A name is never
 * shown alone"). name NULL or "": "?". */
#define MC_WHO_PREFIX 8
#define MC_WHO_MAX (MC_NAME_MAX + MC_WHO_PREFIX + 4)
void mc_identity_who(const char *name, const uint8_t pk[MC_PK_LEN], char *out, size_t n);

/* "admin,clinician" <-> bits. Unknown role: EX_USAGE naming it. */
int mc_roles_parse(const char *s, uint32_t *roles, struct mc_err *err);
/* Writes the comma-separated machine names (never translated). */
void mc_roles_format(uint32_t roles, char *out, size_t outlen);

#endif
