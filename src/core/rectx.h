/* SPDX-License-Identifier: Apache-2.0 */
/* rectx.h - the records family on the chain: the rules of RECORD_PUT and
 * RECORD_ERASE and the record state rows they derive (MC_DB_RECORDS, with
 * the subject and duplicate-key indexes). The bodies' codecs are in tx.c;
 * sealing, committing and reading records back is records.c's, above the
 * chain.
 */
#ifndef MC_RECTX_H
#define MC_RECTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "err.h"
#include "rules.h"
#include "store.h"
#include "tx.h"

#define MC_PAYLOAD_MAX (16u * 1024 * 1024)   /* one record's payload */

/* Whether author may store records in the custody of org, by the chain's
 * RECORD_PUT rule of this build: an active admin or clinician whose
 * enrollment org is the name of org, an active organization. 0, or -1 with
 * EX_NOPERM (EX_DATAERR: org is not an active organization). For callers
 * that answer about stored records before any tx is signed (the importer's
 * duplicate lookups): whoever may not store gets no answer. */
int mc_custody_may_store(struct mc_txn *t, const uint8_t author[MC_PK_LEN], const uint8_t org[MC_PK_LEN],
			 struct mc_err *err);

/* The organizations `org` succeeded by key rotations (ORG_ROTATE's rows
 * in MC_DB_ORGSUCC, old org -> new org), its predecessor first, then that
 * one's, and so on: *preds (malloc'd, NULL if none; free it), *n of them.
 * A custodian's duplicate keys stored under those keys are its own
 * (mc_rules_succession_v4). 0 or -1. */
int mc_custody_predecessors(struct mc_txn *t, const uint8_t org[MC_PK_LEN], uint8_t (**preds)[MC_PK_LEN],
			    size_t *n, struct mc_err *err);

/* Record state row (MC_DB_RECORDS, key id || version), small so that
 * random-key inserts touch few pages:
 *   height u64 | tx index u32 | entry index u32 | offset of the entry in
 *   the tx's attachment u32 | erased height u64 (0: live) | entry leaf (32)
 * The entry itself is read from the tx. */
struct mc_record_state {
	uint64_t height;
	uint32_t tx_index;
	uint32_t entry_index;
	uint32_t offset;
	uint64_t erased;            /* height of the RECORD_ERASE, 0 while live */
	uint8_t leaf[MC_HASH_LEN];
	struct mc_entry entry;      /* borrows from the tx row: valid until the
				     * next write or the end of the txn */
};
/* The newest version of a record: 0, MC_NOTFOUND or -1. */
int mc_record_latest(struct mc_txn *t, const uint8_t id[MC_RECORD_ID_LEN],
		     struct mc_record_state *rs, struct mc_err *err);
int mc_record_version(struct mc_txn *t, const uint8_t id[MC_RECORD_ID_LEN], uint32_t version,
		      struct mc_record_state *rs, struct mc_err *err);

/* The tx that stored record version rs, decoded into tx (and, when put is
 * not NULL, its RECORD_PUT body into put): 0; MC_NOTFOUND when the tx row
 * is missing; MC_RECORD_TX_MALFORMED when it does not decode (or is not a
 * RECORD_PUT); -1 on a store error. Borrows from the row. */
#define MC_RECORD_TX_MALFORMED 3
int mc_record_tx(struct mc_txn *t, const struct mc_record_state *rs, struct mc_tx *tx,
		 struct mc_put *put, struct mc_err *err);
/* Organization org's sealed KEK of epoch (MC_DB_KEKS, key org || epoch
 * u32, filled into key): 0, MC_NOTFOUND or -1. v borrows from the store. */
#define MC_KEK_KEY_LEN (MC_PK_LEN + 4)
int mc_kek_get(struct mc_txn *t, const uint8_t org[MC_PK_LEN], uint32_t epoch, uint8_t key[MC_KEK_KEY_LEN],
	       const void **v, size_t *vn, struct mc_err *err);
/* The SHA-256 of organization org's sealed KEK of epoch (MC_DB_KEKS): 0,
 * MC_NOTFOUND or -1. */
int mc_kek_hash(struct mc_txn *t, const uint8_t org[MC_PK_LEN], uint32_t epoch, uint8_t h[MC_HASH_LEN],
		struct mc_err *err);

/* The rules (tx.h's MC_TX_TYPES). */
int mc_rectx_put(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_tx *tx,
		 struct mc_err *err);
int mc_rectx_erase(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_tx *tx,
		   struct mc_err *err);

#endif
