/* SPDX-License-Identifier: Apache-2.0 */
/* consent.h - consent grants, revocations, access decisions.
 *
 * mc_consent_check() is a pure function: given the grants a subject gave an
 * actor (with their revocations), the actor's standing and the request, it
 * permits (naming the grant), permits as break-glass, or denies (naming the
 * reason). Time is always block time. The validity window of a grant is
 * [not_before, not_after], both ends inclusive; a revoked grant stops
 * permitting at the revoking block's time.
 *
 * Bodies (canonical encoding, see docs/formats.md):
 *   CONSENT_GRANT  = grant id (16) | subject (32) | grantee (32) | purpose u8 |
 *                    not_before u64 | not_after u64 | flags u8 (bit 0: every
 *                    category) | ncat u8 | ncat x category bytes |
 *                    nrec u16 | nrec x record id (16) | attestation kind u8 |
 *                    attestation bytes (1..256)
 *   CONSENT_REVOKE = grant id (16) | reason bytes (1..512)
 *   ACCESS         = record id (16) | version u32 | subject (32) | purpose u8 |
 *                    outcome u8 | grant id (16, zeros if none) | reason u8 |
 *                    break-glass reason bytes (0..512)
 */
#ifndef MC_CONSENT_H
#define MC_CONSENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "crypto.h"
#include "err.h"
#include "rules.h"
#include "store.h"
#include "tx.h"

#define MC_GRANT_ID_LEN 16
#define MC_SCOPE_CATS_MAX 16
#define MC_SCOPE_RECS_MAX 256
#define MC_ATTEST_MAX 256
#define MC_TIME_OPEN UINT64_MAX   /* a grant with no end */

enum mc_purpose {
	MC_PURPOSE_TREATMENT = 1,
	MC_PURPOSE_PAYMENT = 2,
	MC_PURPOSE_OPERATIONS = 3,
	MC_PURPOSE_RESEARCH = 4,
	MC_PURPOSE_PATIENT_REQUEST = 5,
	MC_PURPOSE_EMERGENCY = 6,
};
#define MC_PURPOSE_MAX MC_PURPOSE_EMERGENCY
/* "treatment" ... "emergency" (machine names, never translated); NULL for
 * no purpose. One table in consent.c holds them and their FHIR codes. */
const char *mc_purpose_name(unsigned p);
int mc_purpose_parse(const char *s, uint8_t *p, struct mc_err *err);
/* The FHIR v3-ActReason code of a purpose ("TREAT" ... "ETREAT"; NULL for
 * none) and back (0, or -1 for a code that names no purpose). */
const char *mc_purpose_fhir_code(unsigned p);
int mc_purpose_from_fhir_code(const char *code, uint8_t *p);
/* "a, b, c": name(1) ... name(last) (mc_purpose_name, mc_outcome_name,
 * mc_purpose_fhir_code), for the messages that list them. */
void mc_names_join(char *out, size_t n, const char *(*name)(unsigned), unsigned last);

enum mc_attest {
	MC_ATTEST_PATIENT_SIGNATURE = 1,  /* the patient's identity authored the grant */
	MC_ATTEST_CONSENT_FORM = 2,       /* a staff member references the signed form */
};

struct mc_grant {
	uint8_t id[MC_GRANT_ID_LEN];
	uint8_t subject[MC_HASH_LEN];
	uint8_t grantee[MC_PK_LEN];
	uint8_t purpose;
	uint64_t not_before, not_after;
	bool all_categories;
	uint8_t ncat;
	const uint8_t *cat[MC_SCOPE_CATS_MAX];
	size_t cat_len[MC_SCOPE_CATS_MAX];
	uint16_t nrec;
	const uint8_t *recs;              /* nrec x 16 bytes */
	uint8_t attest_kind;
	const uint8_t *attest;
	size_t attest_len;
	const uint8_t *share;              /* SHA-256 of the tx's share attachment
					    * (another organization's re-wrapped keys), */
	size_t share_len;                  /* 32, or 0 when nothing is shared */
};

/* The share a grant to another organization's identity carries in its tx
 * attachment (committed by mc_grant.share):
 *   org pk (32) | KEK epoch u32 | SHA-256 of the sealed KEK (32) | count u32 |
 *   count x (record id (16) | version u32 | SHA-256 of the stored
 *   re-wrapped key, epoch u32 || wrapped key (32)) */
#define MC_SHARE_ITEM_LEN (16 + 4 + MC_HASH_LEN)
#define MC_SHARE_MAX 65536u
struct mc_share {
	uint8_t org[MC_PK_LEN];
	uint32_t epoch;
	uint8_t kek_hash[MC_HASH_LEN];
	uint32_t count;
	const uint8_t *items;              /* count x MC_SHARE_ITEM_LEN, borrowed */
};
void mc_share_encode(const struct mc_share *s, struct mc_buf *b);
int mc_share_decode(const uint8_t *p, size_t n, struct mc_share *s, struct mc_err *err);
void mc_grant_encode(const struct mc_grant *g, struct mc_buf *b);
/* Borrows from p. EX_DATAERR on malformation or inconsistent fields. */
int mc_grant_decode(const uint8_t *p, size_t n, struct mc_grant *g, struct mc_err *err);

struct mc_consent_revoke {
	uint8_t id[MC_GRANT_ID_LEN];
	const uint8_t *reason;
	size_t reason_len;
};
void mc_consent_revoke_encode(const struct mc_consent_revoke *r, struct mc_buf *b);
int mc_consent_revoke_decode(const uint8_t *p, size_t n, struct mc_consent_revoke *r,
			     struct mc_err *err);

enum mc_outcome {
	MC_OUTCOME_PERMIT = 1,
	MC_OUTCOME_DENY = 2,
	MC_OUTCOME_BREAK_GLASS = 3,
};
#define MC_OUTCOME_MAX MC_OUTCOME_BREAK_GLASS
const char *mc_outcome_name(unsigned o);   /* "permit", "deny", "break-glass" */
int mc_outcome_parse(const char *s, uint8_t *o, struct mc_err *err);

enum mc_deny_reason {
	MC_DENY_NONE = 0,
	MC_DENY_NO_GRANT = 1,
	MC_DENY_NOT_YET = 2,
	MC_DENY_EXPIRED = 3,
	MC_DENY_REVOKED = 4,
	MC_DENY_WRONG_PURPOSE = 5,
	MC_DENY_OUT_OF_SCOPE = 6,
	MC_DENY_ACTOR_INACTIVE = 7,
	MC_DENY_ROLE = 8,
	MC_DENY_BREAK_GLASS_REFUSED = 9,
};
/* Machine name ("no-grant") and a translated sentence for people. */
const char *mc_deny_name(unsigned r);
const char *mc_deny_text(unsigned r);

#define MC_ACCESS_ATTEMPT_LEN 16

struct mc_access {
	uint8_t record[MC_RECORD_ID_LEN];
	uint32_t version;
	uint8_t subject[MC_HASH_LEN];
	uint8_t purpose;
	uint8_t outcome;
	uint8_t grant[MC_GRANT_ID_LEN];
	uint8_t reason;                    /* enum mc_deny_reason */
	const uint8_t *glass;              /* break-glass reason */
	size_t glass_len;
	/* A random id of this read attempt: two attempts by one reader at
	 * the same instant and sequence number (on two nodes) are two txs,
	 * never one. Optional on the wire (absent in older events). */
	bool has_attempt;
	uint8_t attempt[MC_ACCESS_ATTEMPT_LEN];
};
void mc_access_encode(const struct mc_access *a, struct mc_buf *b);
int mc_access_decode(const uint8_t *p, size_t n, struct mc_access *a, struct mc_err *err);

/* A grant as the check sees it: the grant and when (block time) it was
 * revoked, MC_TIME_OPEN if never. */
struct mc_grant_view {
	struct mc_grant g;
	uint64_t granted_at;    /* block time of the grant */
	uint64_t revoked_at;
};

struct mc_access_req {
	uint32_t actor_roles;
	bool actor_active;          /* enrolled and not revoked */
	uint8_t record[MC_RECORD_ID_LEN];
	const uint8_t *category;
	size_t category_len;
	uint8_t purpose;
	uint64_t time_ms;           /* block time */
	bool break_glass;           /* asked for, with a reason */
	bool actor_is_author;       /* the actor stored this record version */
};

struct mc_decision {
	uint8_t outcome;            /* enum mc_outcome */
	uint8_t reason;             /* enum mc_deny_reason, MC_DENY_NONE unless denied */
	uint8_t grant[MC_GRANT_ID_LEN];
};

/* Whether a grant's scope covers a record (its id and category). */
bool mc_grant_covers(const struct mc_grant *g, const uint8_t id[MC_RECORD_ID_LEN],
		     const uint8_t *category, size_t category_len);

/* The pure decision. grants: those the subject gave this actor. The
 * identity that stored a record version may read that version back (it
 * held the plaintext when it stored it): a permit with no grant. A denial
 * names the closest miss: a grant that failed only on its time window or a
 * revocation (the most recently granted of those) before one out of scope,
 * before one for another purpose. */
void mc_consent_check(const struct mc_grant_view *grants, size_t n,
		      const struct mc_access_req *req, struct mc_decision *out);

/* ---- on the chain --------------------------------------------------------
 * The rules of CONSENT_GRANT, CONSENT_REVOKE and ACCESS (tx.h's
 * MC_TX_TYPES), the grant rows they derive, and the access decision read
 * from them. */

/* Grant state row (MC_DB_GRANTS, key grant id):
 *   granted height u64 | granted at u64 (block time) | revoked height u64 |
 *   revoked at u64 (MC_TIME_OPEN while active) | grantor pk (32) | grant body */
struct mc_grant_state {
	uint64_t height, granted_at, revoked_height, revoked_at;
	uint8_t grantor[MC_PK_LEN];
	const uint8_t *body;         /* borrowed from the row */
	size_t body_len;
};
int mc_grant_state_get(struct mc_txn *t, const uint8_t id[16], struct mc_grant_state *gs,
		       struct mc_err *err);
/* Writes the row; gs->body may point into the row it replaces. */
int mc_grant_state_put(struct mc_txn *t, const uint8_t id[16], const struct mc_grant_state *gs,
		       struct mc_err *err);
#define MC_GRANTS_PER_PAIR_MAX 256

/* The grants a subject gave one grantee, as mc_consent_check() wants them.
 * views: room for max. Borrowed from the store: valid until the next write. */
int mc_consent_load(struct mc_txn *t, const uint8_t subject[MC_HASH_LEN],
		    const uint8_t grantee[MC_PK_LEN], struct mc_grant_view *views, size_t max,
		    size_t *n, struct mc_err *err);
/* The decision for actor reading record/version for purpose at time_ms,
 * from the chain state in t (also gives the record's subject). */
int mc_access_decide(struct mc_txn *t, const uint8_t actor[MC_PK_LEN],
		     const uint8_t record[MC_RECORD_ID_LEN], uint32_t version, uint8_t purpose,
		     bool break_glass, uint64_t time_ms, uint8_t subject_out[MC_HASH_LEN],
		     struct mc_decision *d, struct mc_err *err);
/* An identity moved to a new key (IDENTITY_ROTATE): every grant to old
 * that is not revoked and has not ended by the block's time names new_pk
 * from now on. */
int mc_consent_move_grants(struct mc_txn *t, const struct mc_apply_ctx *ax, const uint8_t old[MC_PK_LEN],
			   const uint8_t new_pk[MC_PK_LEN], struct mc_err *err);

int mc_consent_apply_grant(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_tx *tx,
			   struct mc_err *err);
int mc_consent_apply_revoke(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_tx *tx,
			    struct mc_err *err);
int mc_consent_apply_access(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_tx *tx,
			    struct mc_err *err);

#endif
