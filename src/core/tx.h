/* SPDX-License-Identifier: Apache-2.0 */
/* tx.h - transactions: the envelope, its canonical encoding and signing.
 *
 * Encoding (see docs/formats.md):
 *   envelope = version u8 | type u8 | author (32) | timestamp_ms u64 |
 *              seq u64 | body (u32 length + bytes)
 *   tx       = envelope | signature (64) | attachment (u32 length + bytes)
 * sign hash = SHA-256("medchain/tx/v1" || chain id (32) || envelope); the
 *             author signs these 32 bytes with Ed25519.
 * tx hash   = SHA-256(envelope || signature).
 * The attachment carries data committed to by the body (a RECORD_PUT body
 * holds the Merkle root of the entries its attachment lists), so a record's
 * proof needs only its entry, a path, and the small signed envelope.
 *
 * Decoded structs borrow from the input buffer: keep it alive.
 */
#ifndef MC_TX_H
#define MC_TX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "crypto.h"
#include "err.h"

#define MC_TX_VERSION 1
#define MC_TX_BODY_MAX (64u * 1024)
#define MC_TX_ATTACH_MAX (64u * 1024 * 1024)
#define MC_NAME_MAX 128
#define MC_REASON_MAX 512
#define MC_CATEGORY_MAX 64
#define MC_CTYPE_MAX 128
#define MC_BATCH_MAX 65536u
#define MC_RECORD_ID_LEN 16

/* The transaction types: the one list a new type is added to. Each row:
 *   X(NAME, number, apply, attach, audited)
 * NAME     gives MC_TX_NAME and the machine name "NAME" (mc_tx_type_name);
 * number   the type byte on the wire: never reused, rows in its order, no gaps;
 * apply    the rule that commit and verify's replay run (mc_chain_apply_tx
 *          dispatches on it): a function of its family's module, declared
 *          in a header chain.c includes (idtx.h, rectx.h, consent.h,
 *          valset.h, anchortx.h, orgrot.h, alerttx.h), an mc_tx_apply_fn:
 *          (struct mc_txn *, const struct mc_apply_ctx *, const struct mc_tx *,
 *           struct mc_err *);
 * attach   whether a tx of this type may carry an attachment after genesis;
 * audited  whether it is on the audit trail (`medchain audit` lists it). */
#define MC_TX_TYPES(X)                                                              \
	X(IDENTITY_ENROLL,  1, mc_idtx_enroll,               false, false)          \
	X(IDENTITY_REVOKE,  2, mc_idtx_revoke,               false, false)          \
	X(RECORD_PUT,       3, mc_rectx_put,                 true,  false)          \
	X(RECORD_ERASE,     4, mc_rectx_erase,               false, false)          \
	X(CONSENT_GRANT,    5, mc_consent_apply_grant,       true,  true)           \
	X(CONSENT_REVOKE,   6, mc_consent_apply_revoke,      false, true)           \
	X(ACCESS,           7, mc_consent_apply_access,      false, true)           \
	X(NODE_ADD,         8, mc_valset_apply_node_add,     false, false)          \
	X(NODE_REMOVE,      9, mc_valset_apply_node_remove,  false, false)          \
	X(VIEW_CHANGE,     10, mc_valset_apply_view_change,  false, false)          \
	X(ANCHOR_COMMIT,   11, mc_anchortx_commit,           false, false)          \
	X(NODE_ROTATE,     12, mc_valset_apply_node_rotate,  false, true)           \
	X(ORG_ROTATE,      13, mc_org_rotate_apply,          true,  true)  /* orgrot.h */ \
	X(IDENTITY_ROTATE, 14, mc_idtx_rotate,               false, true)           \
	X(ALERT_ACK,       15, mc_alerttx_ack,               false, true)

enum mc_tx_type {
#define MC_TX_ENUM(name, number, apply, attach, audited) MC_TX_##name = number,
	MC_TX_TYPES(MC_TX_ENUM)
#undef MC_TX_ENUM
	MC_TX__END  /* one past the last type */
};

/* Machine name of a type ("RECORD_PUT"); never translated. NULL if unknown. */
const char *mc_tx_type_name(unsigned type);
/* Whether a tx of type may carry an attachment (after genesis). */
bool mc_tx_type_attach(unsigned type);
/* Whether type is on the audit trail. */
bool mc_tx_type_audited(unsigned type);

struct mc_tx {
	uint8_t version;
	uint8_t type;
	uint8_t author[MC_PK_LEN];
	uint64_t timestamp_ms;
	uint64_t seq;
	const uint8_t *body;       /* borrowed */
	size_t body_len;
	uint8_t sig[MC_SIG_LEN];
	const uint8_t *attach;     /* borrowed; may be NULL when attach_len is 0 */
	size_t attach_len;
};

/* Appends the tx encoding to b. */
void mc_tx_encode(const struct mc_tx *tx, struct mc_buf *b);
/* Decodes exactly one tx filling n bytes; EX_DATAERR on any malformation,
 * unknown version or type, over-limit lengths or trailing bytes. */
int mc_tx_decode(const uint8_t *p, size_t n, struct mc_tx *tx, struct mc_err *err);

void mc_tx_sign_hash(const struct mc_tx *tx, const uint8_t chain_id[MC_HASH_LEN],
		     uint8_t out[MC_HASH_LEN]);
/* Fills tx->sig with the author's signature. sk must belong to tx->author. */
void mc_tx_sign(struct mc_tx *tx, const uint8_t chain_id[MC_HASH_LEN],
		const uint8_t sk[MC_SK_LEN]);
int mc_tx_verify_sig(const struct mc_tx *tx, const uint8_t chain_id[MC_HASH_LEN])
	__attribute__((warn_unused_result));
void mc_tx_hash(const struct mc_tx *tx, uint8_t out[MC_HASH_LEN]);

/* ---- bodies --------------------------------------------------------- */

enum mc_role {
	MC_ROLE_ADMIN = 1u << 0,
	MC_ROLE_CLINICIAN = 1u << 1,
	MC_ROLE_AUDITOR = 1u << 2,
	MC_ROLE_PATIENT = 1u << 3,
	MC_ROLE_NODE = 1u << 4,
	MC_ROLE_ANCHOR = 1u << 5,
	MC_ROLE_ORG = 1u << 6,  /* an organization: its X25519 key seals KEKs */
	MC_ROLE_REGISTRAR = 1u << 7,  /* records patients' signed consent forms */
};
#define MC_ROLE_ALL 0xffu
/* The roles of people, whose keys IDENTITY_ROTATE moves (node, anchor and
 * organization keys have rotations of their own). */
#define MC_ROLES_PEOPLE (MC_ROLE_ADMIN | MC_ROLE_CLINICIAN | MC_ROLE_AUDITOR | MC_ROLE_PATIENT | \
			 MC_ROLE_REGISTRAR)
/* Who records a consent form on a patient's behalf (a staff grant). */
#define MC_ROLES_CONSENT_STAFF (MC_ROLE_ADMIN | MC_ROLE_REGISTRAR)

struct mc_enroll {
	uint8_t pk[MC_PK_LEN];
	uint32_t roles;
	const uint8_t *name;   size_t name_len;   /* UTF-8, 1..MC_NAME_MAX */
	const uint8_t *org;    size_t org_len;    /* UTF-8, 0..MC_NAME_MAX */
	const uint8_t *subject; size_t subject_len; /* a patient's own subject
						     * pseudonym (32), else empty */
};
void mc_enroll_encode(const struct mc_enroll *e, struct mc_buf *b);
int mc_enroll_decode(const uint8_t *p, size_t n, struct mc_enroll *e, struct mc_err *err);

struct mc_revoke {
	uint8_t pk[MC_PK_LEN];
	const uint8_t *reason; size_t reason_len; /* 0..MC_REASON_MAX */
};
void mc_revoke_encode(const struct mc_revoke *r, struct mc_buf *b);
int mc_revoke_decode(const uint8_t *p, size_t n, struct mc_revoke *r, struct mc_err *err);

/* IDENTITY_ROTATE: a person's identity moves to a new key (docs/formats.md).
 *   old pk (32) | new pk (32) | kind u8 | new-key signature (64) |
 *   old-key signature (u32 length: 64 for MC_ROTATE_HOLDER, 0 for
 *   MC_ROTATE_LOST_KEY) | reason (u32 length, 0..MC_REASON_MAX; at least 1
 *   byte for MC_ROTATE_LOST_KEY)
 * Both holder signatures are over mc_rotate_statement(). */
enum mc_rotate_kind {
	MC_ROTATE_HOLDER = 1,      /* the old key signed too: its holder asked */
	MC_ROTATE_LOST_KEY = 2,    /* the old key is lost or compromised: the
				    * admin's word alone (an alert, lost-key-rotation) */
};
struct mc_rotate {
	uint8_t old_pk[MC_PK_LEN];
	uint8_t new_pk[MC_PK_LEN];
	uint8_t kind;
	uint8_t new_sig[MC_SIG_LEN];
	bool has_old_sig;
	uint8_t old_sig[MC_SIG_LEN];
	const uint8_t *reason; size_t reason_len;
};
void mc_rotate_encode(const struct mc_rotate *r, struct mc_buf *b);
/* EX_DATAERR on malformation: the two keys equal, an unknown kind, an old-key
 * signature present or absent against the kind, a lost-key rotation
 * without a reason, unclean text, trailing bytes. */
int mc_rotate_decode(const uint8_t *p, size_t n, struct mc_rotate *r, struct mc_err *err);
/* What the holder's keys sign: SHA-256("medchain/rotate/v1" || chain id ||
 * old pk || new pk || kind). */
void mc_rotate_statement(const uint8_t chain_id[MC_HASH_LEN], const uint8_t old_pk[MC_PK_LEN],
			 const uint8_t new_pk[MC_PK_LEN], uint8_t kind, uint8_t out[MC_HASH_LEN]);

/* One record version as the chain holds it: no payload, no raw subject. */
struct mc_entry {
	uint8_t id[MC_RECORD_ID_LEN];
	uint32_t version;                       /* 1, 2, ... */
	uint8_t subject[MC_HASH_LEN];           /* pseudonym */
	const uint8_t *category; size_t category_len;
	const uint8_t *ctype; size_t ctype_len;
	uint8_t ct_hash[MC_HASH_LEN];           /* SHA-256 of the stored ciphertext */
	uint64_t ct_size;
	uint8_t prev[MC_HASH_LEN];              /* entry hash of the previous version, or zeros */
	uint8_t wrap_hash[MC_HASH_LEN];         /* SHA-256 of the custodian's wrapped data key */
	bool keyed;                             /* duplicate keys follow (docs/formats.md) */
	uint8_t dupkey[MC_HASH_LEN];            /* keyed hash naming the resource; see records.h */
	uint8_t ckey[MC_HASH_LEN];              /* keyed hash of its content; see records.h */
};
/* The version word's top bit marks an entry carrying a duplicate key: an
 * entry without one encodes exactly as before the key existed. */
#define MC_ENTRY_KEYED 0x80000000u
void mc_entry_encode(const struct mc_entry *e, struct mc_buf *b);
/* Decodes one entry from a reader (used for attachments). */
int mc_entry_read(struct mc_rd *r, struct mc_entry *e, struct mc_err *err);
/* leaf hash of the entry's encoding: its leaf in the batch's entries tree */
void mc_entry_leaf(const struct mc_entry *e, uint8_t out[MC_HASH_LEN]);

struct mc_put {
	uint8_t org[MC_PK_LEN];       /* custodian organization */
	uint32_t epoch;               /* its KEK epoch */
	uint8_t kek_hash[MC_HASH_LEN];/* SHA-256 of the sealed KEK */
	uint32_t count;               /* entries in the attachment, 1..MC_BATCH_MAX */
	uint8_t entries_root[MC_HASH_LEN];
};
void mc_put_encode(const struct mc_put *p, struct mc_buf *b);
int mc_put_decode(const uint8_t *p, size_t n, struct mc_put *out, struct mc_err *err);

struct mc_erase {
	uint8_t id[MC_RECORD_ID_LEN];
	const uint8_t *reason; size_t reason_len; /* 1..MC_REASON_MAX */
};
void mc_erase_encode(const struct mc_erase *e, struct mc_buf *b);
int mc_erase_decode(const uint8_t *p, size_t n, struct mc_erase *e, struct mc_err *err);

/* ANCHOR_COMMIT: an anchor of the chain tree, confirmed on a public chain.
 *   tree size u64 | root (32) | public chain id u64 | signer address (20) |
 *   public tx hash (32) | public block number u64 | public block hash (32) */
#define MC_ANCHOR_COMMIT_LEN (8 + 32 + 8 + 20 + 32 + 8 + 32)
struct mc_anchor_commit {
	uint64_t tree_size;
	uint8_t root[MC_HASH_LEN];
	uint64_t public_chain_id;
	uint8_t address[20];
	uint8_t tx_hash[32];
	uint64_t block_number;
	uint8_t block_hash[32];
};
void mc_anchor_commit_encode(const struct mc_anchor_commit *a, struct mc_buf *b);
int mc_anchor_commit_decode(const uint8_t *p, size_t n, struct mc_anchor_commit *a,
			    struct mc_err *err);

/* ALERT_ACK: an operator acknowledges an alert (alerts.h).
 *   alert kind u8 (not 0) | alert id (8) | reason (u32 length + bytes,
 *   1..MC_REASON_MAX, clean text) */
#define MC_ALERT_ID_LEN 8
struct mc_alert_ack {
	uint8_t kind;
	uint8_t id[MC_ALERT_ID_LEN];
	const uint8_t *reason; size_t reason_len;
};
void mc_alert_ack_encode(const struct mc_alert_ack *a, struct mc_buf *b);
int mc_alert_ack_decode(const uint8_t *p, size_t n, struct mc_alert_ack *a, struct mc_err *err);

#endif
