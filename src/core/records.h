/* SPDX-License-Identifier: Apache-2.0 */
/* records.h - health records: pseudonymous subjects, sealed payloads,
 * wrapped data keys, committing versions, reading them back, erasure.
 *
 * A payload is encrypted with XChaCha20-Poly1305 under a fresh data key,
 * with record id || version || subject as associated data; the stored
 * ciphertext is nonce (24) || ciphertext || tag and lives in the payload
 * store under its SHA-256. The data key is wrapped under the custodian
 * organization's KEK (nonce (24) || wrapped key || tag, associated data
 * record id || version || org key); the KEK is sealed to the organization's
 * X25519 key once per epoch (MC_DB_KEKS). See docs/formats.md.
 */
#ifndef MC_RECORDS_H
#define MC_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain.h"
#include "crypto.h"
#include "err.h"
#include "keystore.h"
#include "rectx.h"        /* MC_PAYLOAD_MAX */
#include "store.h"
#include "tx.h"

#define MC_SUBJECT_MAX 256                   /* a patient identifier, bytes */
#define MC_WRAPPED_LEN (MC_AEAD_NONCE_LEN + MC_AEAD_KEY_LEN + MC_AEAD_TAG_LEN)
#define MC_SEALED_KEK_LEN (MC_AEAD_KEY_LEN + MC_SEALBYTES)

/* BLAKE2b-256 keyed with the organization's pseudonym key over the
 * identifier with surrounding ASCII whitespace removed. The identifier must
 * be clean UTF-8 of 1..MC_SUBJECT_MAX bytes (EX_DATAERR otherwise). */
int mc_subject_pseudonym(const uint8_t key[32], const char *id, size_t n,
			 uint8_t out[MC_HASH_LEN], struct mc_err *err);

/* An organization opened for sealing and reading: its newest KEK, unsealed
 * into guarded memory. */
struct mc_org;
int mc_org_open(struct mc_store *s, const struct mc_key *orgkey, struct mc_org **out,
		struct mc_err *err);
void mc_org_free(struct mc_org *org);
const uint8_t *mc_org_pk(const struct mc_org *org);
/* Pseudonym of a patient identifier under this organization's key. */
int mc_org_subject(const struct mc_org *org, const char *id, size_t n,
		   uint8_t out[MC_HASH_LEN], struct mc_err *err);

/* The duplicate keys of a record: what recognises the same resource, and
 * the same content, when it is imported again, without saying anything
 * about either to whoever lacks the organization's pseudonym key.
 * BLAKE2b-256 keyed with that key over
 *   ckey:   "medchain/dupkey/v1" || 0x02 || subject (32) || category || 0x00 ||
 *           SHA-256(payload)
 *   dupkey: "medchain/dupkey/v1" || 0x01 || subject (32) || ref   (ref: ingest.h)
 *           or, when the record has no ref, ckey itself. */
int mc_org_dupkey(const struct mc_org *org, const uint8_t subject[MC_HASH_LEN], const char *ref,
		  const char *category, const void *payload, size_t n, uint8_t dupkey[MC_HASH_LEN],
		  uint8_t ckey[MC_HASH_LEN], struct mc_err *err);

/* Draws a KEK for (org, epoch), seals it to the org and stores it. */
int mc_kek_create(struct mc_txn *t, const uint8_t org_pk[MC_PK_LEN], uint32_t epoch,
		  struct mc_err *err);

/* One record version, sealed and ready to commit. Owns its ciphertext. */
struct mc_sealed {
	struct mc_entry entry;              /* category/ctype point into the arrays below */
	uint8_t category[MC_CATEGORY_MAX];
	uint8_t ctype[MC_CTYPE_MAX];
	uint8_t *ct;                        /* nonce || ciphertext || tag, malloc'd */
	size_t ct_len;
	uint8_t wrapped[MC_WRAPPED_LEN];
	/* the entry's leaf hash, when its maker computed it after the last
	 * change to the entry (bulk import); mc_batch_prepare uses it instead
	 * of hashing again (a wrong one fails the tx's entries root) */
	bool has_leaf;
	uint8_t leaf[MC_HASH_LEN];
};

/* Seals a payload as version `version` of record `id` (prev: the previous
 * version's leaf hash or NULL for version 1). Validates category, content
 * type and size (EX_DATAERR / EX_USAGE naming what is wrong). */
int mc_record_seal(const struct mc_org *org, const uint8_t id[MC_RECORD_ID_LEN],
		   uint32_t version, const uint8_t prev[MC_HASH_LEN],
		   const uint8_t subject[MC_HASH_LEN], const char *category, const char *ctype,
		   const void *payload, size_t n, struct mc_sealed *out, struct mc_err *err);
/* As mc_record_seal with the randomness given by the caller (bulk import
 * draws it for a whole batch at once): rnd = data key (32) || payload
 * nonce (24) || wrap nonce (24), used once and wiped. */
#define MC_SEAL_RANDOM (MC_AEAD_KEY_LEN + 2 * MC_AEAD_NONCE_LEN)
int mc_record_seal_rnd(const struct mc_org *org, const uint8_t id[MC_RECORD_ID_LEN],
		       uint32_t version, const uint8_t prev[MC_HASH_LEN],
		       const uint8_t subject[MC_HASH_LEN], const char *category, const char *ctype,
		       const void *payload, size_t n, uint8_t rnd[MC_SEAL_RANDOM],
		       struct mc_sealed *out, struct mc_err *err);
void mc_sealed_release(struct mc_sealed *s);

/* A batch prepared for one RECORD_PUT tx: the entries attachment and root,
 * computed outside the write transaction. */
struct mc_batch {
	struct mc_sealed *recs;   /* borrowed */
	size_t n;
	struct mc_buf attach;
	uint8_t root[MC_HASH_LEN];
};
int mc_batch_prepare(struct mc_batch *b, struct mc_sealed *recs, size_t n, struct mc_err *err);
void mc_batch_release(struct mc_batch *b);
/* Adds the batch to a block being built: stores ciphertexts and wrapped
 * keys and adds one RECORD_PUT tx signed by author. */
int mc_batch_add(struct mc_txn *t, struct mc_builder *bld, const struct mc_batch *b,
		 const struct mc_org *org, const struct mc_key *author, struct mc_err *err);

/* Commits one batch as one block. */
int mc_records_commit(struct mc_store *s, const struct mc_key *node, const struct mc_key *author,
		      const struct mc_org *org, struct mc_sealed *recs, size_t n,
		      struct mc_produced *out, struct mc_err *err);

/* What the CLI shows about a record version: never the payload. */
struct mc_record_info {
	uint8_t id[MC_RECORD_ID_LEN];
	uint32_t version;
	uint8_t subject[MC_HASH_LEN];
	char category[MC_CATEGORY_MAX + 1];
	char ctype[MC_CTYPE_MAX + 1];
	uint64_t size;                    /* plaintext bytes */
	uint64_t height;
	uint64_t erased;                  /* 0 while live */
	uint8_t leaf[MC_HASH_LEN];
};
void mc_record_info_from_state(const struct mc_record_state *rs, struct mc_record_info *info);

/* Parses a 32-hex record id. EX_USAGE if malformed. */
int mc_record_id_parse(const char *s, uint8_t id[MC_RECORD_ID_LEN], struct mc_err *err);

/* Decrypts a record version (0: the newest). *payload is malloc'd; wipe and
 * free it with mc_payload_free(). Unknown record: EX_NOINPUT; erased:
 * EX_NOINPUT naming the erasure; failed authentication: EX_DATAERR. */
int mc_record_read(struct mc_store *s, const struct mc_org *org,
		   const uint8_t id[MC_RECORD_ID_LEN], uint32_t version,
		   uint8_t **payload, size_t *n, struct mc_record_info *info, struct mc_err *err);
void mc_payload_free(uint8_t *p, size_t n);

/* Visits record versions. Listing: the newest version of each record, in
 * record id order, optionally only one subject's (through the subject
 * index) and one category. History: every version of one record. The
 * callback returns 0 to go on, 1 to stop, -1 on error. */
typedef int (*mc_record_visit_fn)(const struct mc_record_info *info, void *ctx);
int mc_records_list(struct mc_txn *t, const uint8_t *subject, const char *category,
		    mc_record_visit_fn fn, void *ctx, struct mc_err *err);
/* The same, starting after record id `after` (a page's last; NULL: from
 * the start). */
int mc_records_list_after(struct mc_txn *t, const uint8_t *subject, const char *category,
			  const uint8_t *after, mc_record_visit_fn fn, void *ctx, struct mc_err *err);
int mc_record_history(struct mc_txn *t, const uint8_t id[MC_RECORD_ID_LEN],
		      mc_record_visit_fn fn, void *ctx, struct mc_err *err);

/* Sharing a subject's records with another organization: every live
 * version in scope (all categories, some, or some record ids) gets its data
 * key re-wrapped under a fresh KEK sealed to that organization. Prepared
 * in a read transaction; mc_share_store() writes the sealed KEK and the
 * wrapped keys inside the grant's write transaction and fills in the
 * attachment the grant commits to. */
struct mc_share_prep {
	uint8_t org[MC_PK_LEN];
	uint8_t sealed_kek[MC_SEALED_KEK_LEN];
	size_t n, cap;
	struct mc_share_item {
		uint8_t id[MC_RECORD_ID_LEN];
		uint32_t version;
		uint64_t height;
		uint32_t tx_index, entry_index;
		uint8_t wrapped[MC_WRAPPED_LEN];
	} *items;
};
struct mc_grant;
int mc_share_prepare(struct mc_store *s, const struct mc_org *custodian,
		     const uint8_t other_org[MC_PK_LEN], const struct mc_grant *scope,
		     struct mc_share_prep *out, struct mc_err *err);
int mc_share_store(struct mc_txn *t, const struct mc_share_prep *p, struct mc_buf *attach,
		   struct mc_err *err);
void mc_share_release(struct mc_share_prep *p);

/* Erases every version of a record: one RECORD_ERASE tx in one block. */
int mc_record_erase(struct mc_store *s, const struct mc_key *node, const struct mc_key *author,
		    const uint8_t id[MC_RECORD_ID_LEN], const char *reason,
		    struct mc_produced *out, struct mc_err *err);

#endif
