/* SPDX-License-Identifier: Apache-2.0 */
/* orgrot.h - rotating an organization's key (ORG_ROTATE, type 13).
 *
 * A new key takes the organization's place: every KEK epoch the old key
 * holds (its own, and those it holds from organizations it succeeded) is
 * resealed to the new key; the KEKs and the wrapped data keys stay as they
 * are, so no record is rewritten. The old identity is revoked and the new
 * one enrolled under its name in the same tx (see docs/formats.md):
 *
 *   body       = old org pk (32) | new org pk (32) | count u32 |
 *                keks hash (32) | old key's signature (64) |
 *                new key's signature (64)
 *   attachment = count x (origin org pk (32) | epoch u32 | sealed KEK (80)),
 *                (origin, epoch) strictly ascending
 *   keks hash  = SHA-256 over count x (origin | epoch | SHA-256(sealed KEK))
 *   digest     = SHA-256("medchain/org-rotate/v1" || chain id || old || new ||
 *                count u32 || keks hash), signed by both keys
 *
 * Derived state (replayed by verify): MC_DB_ORGKEKS, holder pk || origin
 * pk || epoch u32 -> the KEK of origin's epoch sealed to holder; and
 * MC_DB_ORGSUCC, old org pk -> new org pk || height u64.
 *
 * Decoded structs borrow from the input buffer: keep it alive.
 */
#ifndef MC_ORGROT_H
#define MC_ORGROT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chainstate.h"
#include "rectx.h"
#include "rules.h"
#include "codec.h"
#include "crypto.h"
#include "err.h"
#include "store.h"
#include "tx.h"

#define MC_ORGROT_BODY_LEN (2 * MC_PK_LEN + 4 + MC_HASH_LEN + 2 * MC_SIG_LEN)
#define MC_ORGROT_SEALED_LEN 80            /* a sealed KEK: 32 + crypto_box_SEALBYTES */
#define MC_ORGROT_ITEM_LEN (MC_PK_LEN + 4 + MC_ORGROT_SEALED_LEN)
#define MC_ORGROT_MAX 65536u               /* KEK epochs resealed in one rotation */
#define MC_ORGKEKS_KEY_LEN (2 * MC_PK_LEN + 4)

struct mc_org_rotate {
	uint8_t old_pk[MC_PK_LEN];
	uint8_t new_pk[MC_PK_LEN];
	uint32_t count;
	uint8_t keks_hash[MC_HASH_LEN];
	uint8_t old_sig[MC_SIG_LEN];
	uint8_t new_sig[MC_SIG_LEN];
};
void mc_org_rotate_encode(const struct mc_org_rotate *r, struct mc_buf *b);
/* EX_DATAERR unless exactly one body: the two keys distinct, count <=
 * MC_ORGROT_MAX. */
int mc_org_rotate_decode(const uint8_t *p, size_t n, struct mc_org_rotate *r, struct mc_err *err);

/* The attachment: count items of MC_ORGROT_ITEM_LEN bytes, keys strictly
 * ascending; *items borrows from p. EX_DATAERR otherwise. */
int mc_org_rotate_items(const uint8_t *p, size_t n, uint32_t count, const uint8_t **items,
			struct mc_err *err);
/* keks hash of count items (see above). */
void mc_org_rotate_keks_hash(const uint8_t *items, uint32_t count, uint8_t out[MC_HASH_LEN]);
void mc_org_rotate_digest(const uint8_t chain_id[MC_HASH_LEN], const struct mc_org_rotate *r,
			  uint8_t out[MC_HASH_LEN]);

/* The chain rule (mc_chain_apply_tx, replayed by verify). */
int mc_org_rotate_apply(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_tx *tx,
			struct mc_err *err);

/* The organization that succeeded org (0), MC_NOTFOUND, or -1. */
int mc_org_successor(struct mc_txn *t, const uint8_t org[MC_PK_LEN], uint8_t next[MC_PK_LEN],
		     uint64_t *height, struct mc_err *err);

#endif
