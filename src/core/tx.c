/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "i18n.h"
#include "text.h"
#include "tx.h"
#include "util.h"

static const char tx_domain[] = "medchain/tx/v1";

struct tx_type {
	const char *name;
	bool attach;
	bool audited;
};

static const struct tx_type tx_types[MC_TX__END] = {
#define TX_TYPE(name, number, apply, attach, audited) [number] = { #name, attach, audited },
	MC_TX_TYPES(TX_TYPE)
#undef TX_TYPE
};

static const struct tx_type *tx_type(unsigned type)
{
	return type < MC_TX__END && tx_types[type].name ? &tx_types[type] : NULL;
}

const char *mc_tx_type_name(unsigned type)
{
	return tx_type(type) ? tx_type(type)->name : NULL;
}

bool mc_tx_type_attach(unsigned type)
{
	return tx_type(type) && tx_type(type)->attach;
}

bool mc_tx_type_audited(unsigned type)
{
	return tx_type(type) && tx_type(type)->audited;
}

static void envelope_encode(const struct mc_tx *tx, struct mc_buf *b)
{
	mc_put_u8(b, tx->version);
	mc_put_u8(b, tx->type);
	mc_put_raw(b, tx->author, MC_PK_LEN);
	mc_put_u64(b, tx->timestamp_ms);
	mc_put_u64(b, tx->seq);
	mc_put_bytes(b, tx->body, tx->body_len);
}

void mc_tx_encode(const struct mc_tx *tx, struct mc_buf *b)
{
	envelope_encode(tx, b);
	mc_put_raw(b, tx->sig, MC_SIG_LEN);
	mc_put_bytes(b, tx->attach, tx->attach_len);
}

int mc_tx_decode(const uint8_t *p, size_t n, struct mc_tx *tx, struct mc_err *err)
{
	struct mc_rd r;

	memset(tx, 0, sizeof(*tx));
	mc_rd_init(&r, p, n);
	tx->version = mc_get_u8(&r);
	tx->type = mc_get_u8(&r);
	mc_get_raw(&r, tx->author, MC_PK_LEN);
	tx->timestamp_ms = mc_get_u64(&r);
	tx->seq = mc_get_u64(&r);
	tx->body = mc_get_bytes(&r, MC_TX_BODY_MAX, &tx->body_len);
	mc_get_raw(&r, tx->sig, MC_SIG_LEN);
	tx->attach = mc_get_bytes(&r, MC_TX_ATTACH_MAX, &tx->attach_len);
	if (!mc_rd_finish(&r))
		return mc_err_set(err, EX_DATAERR, _("malformed transaction"));
	if (tx->version != MC_TX_VERSION)
		return mc_err_set(err, EX_DATAERR, _("unknown transaction version %u"),
				  (unsigned)tx->version);
	if (!mc_tx_type_name(tx->type))
		return mc_err_set(err, EX_DATAERR, _("unknown transaction type %u"),
				  (unsigned)tx->type);
	return 0;
}

#define ENVELOPE_HEAD_LEN (1 + 1 + MC_PK_LEN + 8 + 8 + 4)

/* The envelope up to the body's bytes: what envelope_encode() writes first. */
static void envelope_head(const struct mc_tx *tx, uint8_t head[ENVELOPE_HEAD_LEN])
{
	head[0] = tx->version;
	head[1] = tx->type;
	memcpy(head + 2, tx->author, MC_PK_LEN);
	mc_be64(head + 2 + MC_PK_LEN, tx->timestamp_ms);
	mc_be64(head + 10 + MC_PK_LEN, tx->seq);
	mc_be32(head + 18 + MC_PK_LEN, (uint32_t)tx->body_len);
}

void mc_tx_sign_hash(const struct mc_tx *tx, const uint8_t chain_id[MC_HASH_LEN],
		     uint8_t out[MC_HASH_LEN])
{
	uint8_t head[ENVELOPE_HEAD_LEN];
	struct mc_sha256 h;

	/* The envelope, streamed so the body is not copied. */
	envelope_head(tx, head);
	mc_sha256_init(&h);
	mc_sha256_update(&h, tx_domain, sizeof(tx_domain) - 1);
	mc_sha256_update(&h, chain_id, MC_HASH_LEN);
	mc_sha256_update(&h, head, sizeof(head));
	mc_sha256_update(&h, tx->body, tx->body_len);
	mc_sha256_final(&h, out);
}

void mc_tx_sign(struct mc_tx *tx, const uint8_t chain_id[MC_HASH_LEN],
		const uint8_t sk[MC_SK_LEN])
{
	uint8_t digest[MC_HASH_LEN];

	mc_tx_sign_hash(tx, chain_id, digest);
	mc_sign(sk, digest, sizeof(digest), tx->sig);
}

int mc_tx_verify_sig(const struct mc_tx *tx, const uint8_t chain_id[MC_HASH_LEN])
{
	uint8_t digest[MC_HASH_LEN];

	mc_tx_sign_hash(tx, chain_id, digest);
	return mc_sign_verify(tx->author, digest, sizeof(digest), tx->sig);
}

void mc_tx_hash(const struct mc_tx *tx, uint8_t out[MC_HASH_LEN])
{
	uint8_t head[ENVELOPE_HEAD_LEN];
	struct mc_sha256 h;

	envelope_head(tx, head);
	mc_sha256_init(&h);
	mc_sha256_update(&h, head, sizeof(head));
	mc_sha256_update(&h, tx->body, tx->body_len);
	mc_sha256_update(&h, tx->sig, MC_SIG_LEN);
	mc_sha256_final(&h, out);
}

/* ---- bodies --------------------------------------------------------- */

static int body_err(struct mc_err *err, const char *what)
{
	return mc_err_set(err, EX_DATAERR, _("malformed %s body"), what);
}

void mc_enroll_encode(const struct mc_enroll *e, struct mc_buf *b)
{
	mc_put_raw(b, e->pk, MC_PK_LEN);
	mc_put_u32(b, e->roles);
	mc_put_bytes(b, e->name, e->name_len);
	mc_put_bytes(b, e->org, e->org_len);
	mc_put_bytes(b, e->subject, e->subject_len);
}

int mc_enroll_decode(const uint8_t *p, size_t n, struct mc_enroll *e, struct mc_err *err)
{
	struct mc_rd r;

	memset(e, 0, sizeof(*e));
	mc_rd_init(&r, p, n);
	mc_get_raw(&r, e->pk, MC_PK_LEN);
	e->roles = mc_get_u32(&r);
	e->name = mc_get_bytes(&r, MC_NAME_MAX, &e->name_len);
	e->org = mc_get_bytes(&r, MC_NAME_MAX, &e->org_len);
	e->subject = mc_get_bytes(&r, MC_HASH_LEN, &e->subject_len);
	if (!mc_rd_finish(&r))
		return body_err(err, "IDENTITY_ENROLL");
	/* A patient identity is bound to its own subject; nobody else is. */
	if ((e->roles & MC_ROLE_PATIENT) ? e->subject_len != MC_HASH_LEN : e->subject_len != 0)
		return mc_err_set(err, EX_DATAERR, _("a patient identity, and only one, names its subject"));
	if (e->roles == 0 || (e->roles & ~MC_ROLE_ALL))
		return mc_err_set(err, EX_DATAERR, _("invalid roles 0x%x"), (unsigned)e->roles);
	if (e->name_len == 0 || !mc_text_clean(e->name, e->name_len) ||
	    !mc_text_clean(e->org, e->org_len))
		return mc_err_set(err, EX_DATAERR, _("identity name or organization is not clean UTF-8"));
	return 0;
}

void mc_revoke_encode(const struct mc_revoke *r, struct mc_buf *b)
{
	mc_put_raw(b, r->pk, MC_PK_LEN);
	mc_put_bytes(b, r->reason, r->reason_len);
}

int mc_revoke_decode(const uint8_t *p, size_t n, struct mc_revoke *out, struct mc_err *err)
{
	struct mc_rd r;

	memset(out, 0, sizeof(*out));
	mc_rd_init(&r, p, n);
	mc_get_raw(&r, out->pk, MC_PK_LEN);
	out->reason = mc_get_bytes(&r, MC_REASON_MAX, &out->reason_len);
	if (!mc_rd_finish(&r) || !mc_text_clean(out->reason, out->reason_len))
		return body_err(err, "IDENTITY_REVOKE");
	return 0;
}

void mc_rotate_encode(const struct mc_rotate *r, struct mc_buf *b)
{
	mc_put_raw(b, r->old_pk, MC_PK_LEN);
	mc_put_raw(b, r->new_pk, MC_PK_LEN);
	mc_put_u8(b, r->kind);
	mc_put_raw(b, r->new_sig, MC_SIG_LEN);
	mc_put_bytes(b, r->old_sig, r->has_old_sig ? MC_SIG_LEN : 0);
	mc_put_bytes(b, r->reason, r->reason_len);
}

int mc_rotate_decode(const uint8_t *p, size_t n, struct mc_rotate *out, struct mc_err *err)
{
	struct mc_rd r;
	const uint8_t *os;
	size_t osl;

	memset(out, 0, sizeof(*out));
	mc_rd_init(&r, p, n);
	mc_get_raw(&r, out->old_pk, MC_PK_LEN);
	mc_get_raw(&r, out->new_pk, MC_PK_LEN);
	out->kind = mc_get_u8(&r);
	mc_get_raw(&r, out->new_sig, MC_SIG_LEN);
	os = mc_get_bytes(&r, MC_SIG_LEN, &osl);
	out->reason = mc_get_bytes(&r, MC_REASON_MAX, &out->reason_len);
	if (!mc_rd_finish(&r) || !mc_text_clean(out->reason, out->reason_len))
		return body_err(err, "IDENTITY_ROTATE");
	if (memcmp(out->old_pk, out->new_pk, MC_PK_LEN) == 0)
		return mc_err_set(err, EX_DATAERR, _("a key rotation names the same key twice"));
	if (out->kind == MC_ROTATE_HOLDER) {
		if (osl != MC_SIG_LEN)
			return mc_err_set(err, EX_DATAERR, _("a key rotation its holder asked for carries the old key's signature"));
		memcpy(out->old_sig, os, MC_SIG_LEN);
		out->has_old_sig = true;
	} else if (out->kind == MC_ROTATE_LOST_KEY) {
		if (osl != 0)
			return mc_err_set(err, EX_DATAERR, _("a lost-key rotation carries no old-key signature"));
		if (out->reason_len == 0)
			return mc_err_set(err, EX_DATAERR, _("a lost-key rotation gives its reason"));
	} else {
		return mc_err_set(err, EX_DATAERR, _("unknown key rotation kind %u"), (unsigned)out->kind);
	}
	return 0;
}

void mc_rotate_statement(const uint8_t chain_id[MC_HASH_LEN], const uint8_t old_pk[MC_PK_LEN],
			 const uint8_t new_pk[MC_PK_LEN], uint8_t kind, uint8_t out[MC_HASH_LEN])
{
	static const char domain[] = "medchain/rotate/v1";
	struct mc_sha256 h;

	mc_sha256_init(&h);
	mc_sha256_update(&h, domain, sizeof(domain) - 1);
	mc_sha256_update(&h, chain_id, MC_HASH_LEN);
	mc_sha256_update(&h, old_pk, MC_PK_LEN);
	mc_sha256_update(&h, new_pk, MC_PK_LEN);
	mc_sha256_update(&h, &kind, 1);
	mc_sha256_final(&h, out);
}

void mc_entry_encode(const struct mc_entry *e, struct mc_buf *b)
{
	mc_put_raw(b, e->id, MC_RECORD_ID_LEN);
	mc_put_u32(b, e->version | (e->keyed ? MC_ENTRY_KEYED : 0));
	mc_put_raw(b, e->subject, MC_HASH_LEN);
	mc_put_bytes(b, e->category, e->category_len);
	mc_put_bytes(b, e->ctype, e->ctype_len);
	mc_put_raw(b, e->ct_hash, MC_HASH_LEN);
	mc_put_u64(b, e->ct_size);
	mc_put_raw(b, e->prev, MC_HASH_LEN);
	mc_put_raw(b, e->wrap_hash, MC_HASH_LEN);
	if (e->keyed) {
		mc_put_raw(b, e->dupkey, MC_HASH_LEN);
		mc_put_raw(b, e->ckey, MC_HASH_LEN);
	}
}

int mc_entry_read(struct mc_rd *r, struct mc_entry *e, struct mc_err *err)
{
	memset(e, 0, sizeof(*e));
	mc_get_raw(r, e->id, MC_RECORD_ID_LEN);
	e->version = mc_get_u32(r);
	e->keyed = (e->version & MC_ENTRY_KEYED) != 0;
	e->version &= ~MC_ENTRY_KEYED;
	mc_get_raw(r, e->subject, MC_HASH_LEN);
	e->category = mc_get_bytes(r, MC_CATEGORY_MAX, &e->category_len);
	e->ctype = mc_get_bytes(r, MC_CTYPE_MAX, &e->ctype_len);
	mc_get_raw(r, e->ct_hash, MC_HASH_LEN);
	e->ct_size = mc_get_u64(r);
	mc_get_raw(r, e->prev, MC_HASH_LEN);
	mc_get_raw(r, e->wrap_hash, MC_HASH_LEN);
	if (e->keyed) {
		mc_get_raw(r, e->dupkey, MC_HASH_LEN);
		mc_get_raw(r, e->ckey, MC_HASH_LEN);
	}
	if (!mc_rd_ok(r))
		return mc_err_set(err, EX_DATAERR, _("malformed record entry"));
	if (e->version == 0 || !mc_token_valid(e->category, e->category_len, MC_CATEGORY_MAX) ||
	    !mc_mime_valid(e->ctype, e->ctype_len, MC_CTYPE_MAX))
		return mc_err_set(err, EX_DATAERR, _("invalid record entry"));
	return 0;
}

void mc_entry_leaf(const struct mc_entry *e, uint8_t out[MC_HASH_LEN])
{
	static const uint8_t leaf_prefix = 0x00;
	uint8_t num[8];
	struct mc_sha256 h;

	/* RFC 9162 leaf hash of the entry's encoding, streamed field by field
	 * in exactly the order of mc_entry_encode(). */
	mc_sha256_init(&h);
	mc_sha256_update(&h, &leaf_prefix, 1);
	mc_sha256_update(&h, e->id, MC_RECORD_ID_LEN);
	mc_be32(num, e->version | (e->keyed ? MC_ENTRY_KEYED : 0));
	mc_sha256_update(&h, num, 4);
	mc_sha256_update(&h, e->subject, MC_HASH_LEN);
	mc_be32(num, (uint32_t)e->category_len);
	mc_sha256_update(&h, num, 4);
	mc_sha256_update(&h, e->category, e->category_len);
	mc_be32(num, (uint32_t)e->ctype_len);
	mc_sha256_update(&h, num, 4);
	mc_sha256_update(&h, e->ctype, e->ctype_len);
	mc_sha256_update(&h, e->ct_hash, MC_HASH_LEN);
	mc_be64(num, e->ct_size);
	mc_sha256_update(&h, num, 8);
	mc_sha256_update(&h, e->prev, MC_HASH_LEN);
	mc_sha256_update(&h, e->wrap_hash, MC_HASH_LEN);
	if (e->keyed) {
		mc_sha256_update(&h, e->dupkey, MC_HASH_LEN);
		mc_sha256_update(&h, e->ckey, MC_HASH_LEN);
	}
	mc_sha256_final(&h, out);
}

void mc_put_encode(const struct mc_put *p, struct mc_buf *b)
{
	mc_put_raw(b, p->org, MC_PK_LEN);
	mc_put_u32(b, p->epoch);
	mc_put_raw(b, p->kek_hash, MC_HASH_LEN);
	mc_put_u32(b, p->count);
	mc_put_raw(b, p->entries_root, MC_HASH_LEN);
}

int mc_put_decode(const uint8_t *p, size_t n, struct mc_put *out, struct mc_err *err)
{
	struct mc_rd r;

	memset(out, 0, sizeof(*out));
	mc_rd_init(&r, p, n);
	mc_get_raw(&r, out->org, MC_PK_LEN);
	out->epoch = mc_get_u32(&r);
	mc_get_raw(&r, out->kek_hash, MC_HASH_LEN);
	out->count = mc_get_u32(&r);
	mc_get_raw(&r, out->entries_root, MC_HASH_LEN);
	if (!mc_rd_finish(&r) || out->count == 0 || out->count > MC_BATCH_MAX)
		return body_err(err, "RECORD_PUT");
	return 0;
}

void mc_erase_encode(const struct mc_erase *e, struct mc_buf *b)
{
	mc_put_raw(b, e->id, MC_RECORD_ID_LEN);
	mc_put_bytes(b, e->reason, e->reason_len);
}

int mc_erase_decode(const uint8_t *p, size_t n, struct mc_erase *e, struct mc_err *err)
{
	struct mc_rd r;

	memset(e, 0, sizeof(*e));
	mc_rd_init(&r, p, n);
	mc_get_raw(&r, e->id, MC_RECORD_ID_LEN);
	e->reason = mc_get_bytes(&r, MC_REASON_MAX, &e->reason_len);
	if (!mc_rd_finish(&r) || e->reason_len == 0 || !mc_text_clean(e->reason, e->reason_len))
		return body_err(err, "RECORD_ERASE");
	return 0;
}

void mc_anchor_commit_encode(const struct mc_anchor_commit *a, struct mc_buf *b)
{
	mc_put_u64(b, a->tree_size);
	mc_put_raw(b, a->root, MC_HASH_LEN);
	mc_put_u64(b, a->public_chain_id);
	mc_put_raw(b, a->address, 20);
	mc_put_raw(b, a->tx_hash, 32);
	mc_put_u64(b, a->block_number);
	mc_put_raw(b, a->block_hash, 32);
}

int mc_anchor_commit_decode(const uint8_t *p, size_t n, struct mc_anchor_commit *a,
			    struct mc_err *err)
{
	struct mc_rd r;

	memset(a, 0, sizeof(*a));
	mc_rd_init(&r, p, n);
	a->tree_size = mc_get_u64(&r);
	mc_get_raw(&r, a->root, MC_HASH_LEN);
	a->public_chain_id = mc_get_u64(&r);
	mc_get_raw(&r, a->address, 20);
	mc_get_raw(&r, a->tx_hash, 32);
	a->block_number = mc_get_u64(&r);
	mc_get_raw(&r, a->block_hash, 32);
	if (!mc_rd_finish(&r) || a->tree_size == 0 || a->public_chain_id == 0)
		return body_err(err, "ANCHOR_COMMIT");
	return 0;
}

void mc_alert_ack_encode(const struct mc_alert_ack *a, struct mc_buf *b)
{
	mc_put_u8(b, a->kind);
	mc_put_raw(b, a->id, MC_ALERT_ID_LEN);
	mc_put_bytes(b, a->reason, a->reason_len);
}

int mc_alert_ack_decode(const uint8_t *p, size_t n, struct mc_alert_ack *a, struct mc_err *err)
{
	struct mc_rd r;

	memset(a, 0, sizeof(*a));
	mc_rd_init(&r, p, n);
	a->kind = mc_get_u8(&r);
	mc_get_raw(&r, a->id, MC_ALERT_ID_LEN);
	a->reason = mc_get_bytes(&r, MC_REASON_MAX, &a->reason_len);
	if (!mc_rd_finish(&r) || a->kind == 0 || a->reason_len == 0 || !mc_text_clean(a->reason, a->reason_len))
		return body_err(err, "ALERT_ACK");
	return 0;
}
