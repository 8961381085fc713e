/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anchor.h"
#include "chain.h"
#include "i18n.h"
#include "proof.h"
#include "valset.h"

struct mc_proof *mc_proof_new(void)
{
	return calloc(1, sizeof(struct mc_proof));
}

void mc_proof_free(struct mc_proof *p)
{
	if (!p)
		return;
	free(p->tx);
	free(p);
}

static int step_fail(struct mc_err *err, const char *step, const char *why)
{
	return mc_err_set(err, EX_DATAERR, _("the proof fails at step '%s': %s"), step, why);
}

/* ---- building from the store --------------------------------------------- */

static int tx_row(struct mc_txn *t, uint64_t height, uint32_t index, struct mc_tx *tx,
		  struct mc_err *err)
{
	uint8_t key[12];
	const void *v;
	size_t vn;
	int rc;

	mc_be64(key, height);
	mc_be32(key + 8, index);
	rc = mc_txn_get(t, MC_DB_TXS, key, sizeof(key), &v, &vn, err);
	if (rc != 0)
		return rc < 0 ? -1 : mc_err_set(err, EX_DATAERR, _("transaction %u of block %llu is missing"),
						index, (unsigned long long)height);
	return mc_tx_decode(v, vn, tx, err);
}

static int entry_paths(struct mc_txn *t, const struct mc_record_state *rs, struct mc_proof *p,
		       struct mc_err *err)
{
	struct mc_tx tx;
	struct mc_put put;
	struct mc_rd r;
	struct mc_buf b;
	uint8_t (*leaves)[MC_HASH_LEN];
	int rc = 0;

	if (tx_row(t, rs->height, rs->tx_index, &tx, err) != 0 ||
	    mc_put_decode(tx.body, tx.body_len, &put, err) != 0)
		return -1;
	if (!(leaves = malloc((size_t)put.count * MC_HASH_LEN)))
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	mc_rd_init(&r, tx.attach, tx.attach_len);
	for (uint32_t i = 0; i < put.count && rc == 0; i++) {
		struct mc_entry e;

		if (mc_entry_read(&r, &e, err) != 0)
			rc = -1;
		else
			mc_entry_leaf(&e, leaves[i]);
	}
	if (rc == 0 && mc_merkle_inclusion((const uint8_t (*)[MC_HASH_LEN])leaves, put.count,
					   rs->entry_index, p->entry_path, &p->entry_path_len) != 0)
		rc = mc_err_set(err, EX_DATAERR, _("cannot compute the entry's path"));
	free(leaves);
	if (rc != 0)
		return -1;
	p->entry_index = rs->entry_index;
	p->entry_count = put.count;
	/* The signed tx without its attachment: the tx hash does not cover it. */
	tx.attach = NULL;
	tx.attach_len = 0;
	mc_buf_init(&b);
	mc_tx_encode(&tx, &b);
	if (mc_buf_failed(&b) || b.len > MC_PROOF_TX_MAX || !(p->tx = malloc(b.len))) {
		mc_buf_release(&b);
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	}
	memcpy(p->tx, b.data, b.len);
	p->tx_len = b.len;
	mc_buf_release(&b);
	return 0;
}

static int block_paths(struct mc_txn *t, uint64_t height, uint32_t tx_index, struct mc_proof *p,
		       struct mc_err *err)
{
	struct mc_header h;
	struct mc_cert c;
	struct mc_buf b;
	uint8_t (*leaves)[MC_HASH_LEN];
	int rc = 0;

	if (mc_chain_block(t, height, &h, &c, err) != 0)
		return -1;
	mc_buf_init(&b);
	mc_header_encode(&h, &b);
	if (!mc_buf_failed(&b) && b.len == MC_HEADER_LEN)
		memcpy(p->header, b.data, b.len);
	b.len = 0;
	mc_cert_encode(&c, &b);
	if (mc_buf_failed(&b) || b.len > sizeof(p->cert)) {
		mc_buf_release(&b);
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	}
	memcpy(p->cert, b.data, b.len);
	p->cert_len = b.len;
	mc_buf_release(&b);
	if (!(leaves = malloc((size_t)h.tx_count * MC_HASH_LEN)))
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	for (uint32_t i = 0; i < h.tx_count && rc == 0; i++) {
		struct mc_tx tx;
		uint8_t th[MC_HASH_LEN];

		if (tx_row(t, height, i, &tx, err) != 0) {
			rc = -1;
			break;
		}
		mc_tx_hash(&tx, th);
		mc_merkle_leaf_hash(th, MC_HASH_LEN, leaves[i]);
	}
	if (rc == 0 && mc_merkle_inclusion((const uint8_t (*)[MC_HASH_LEN])leaves, h.tx_count, tx_index,
					   p->tx_path, &p->tx_path_len) != 0)
		rc = mc_err_set(err, EX_DATAERR, _("cannot compute the transaction's path"));
	free(leaves);
	p->tx_index = tx_index;
	p->tx_count = h.tx_count;
	return rc;
}

int mc_proof_build(struct mc_txn *t, const uint8_t id[MC_RECORD_ID_LEN], uint32_t version,
		   struct mc_proof *p, struct mc_err *err)
{
	struct mc_record_state rs;
	struct mc_anchored an;
	struct mc_head head;
	struct mc_buf b;
	int rc;

	rc = version ? mc_record_version(t, id, version, &rs, err) : mc_record_latest(t, id, &rs, err);
	if (rc < 0)
		return -1;
	if (rc == MC_NOTFOUND)
		return mc_err_set(err, EX_NOINPUT, _("no such record or version"));
	if (mc_chain_head(t, &head, err) != 0)
		return -1;
	memcpy(p->chain_id, head.chain_id, MC_HASH_LEN);
	memcpy(p->record, id, MC_RECORD_ID_LEN);
	p->version = rs.entry.version;
	mc_buf_init(&b);
	mc_entry_encode(&rs.entry, &b);
	if (mc_buf_failed(&b) || b.len > sizeof(p->entry)) {
		mc_buf_release(&b);
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	}
	memcpy(p->entry, b.data, b.len);
	p->entry_len = b.len;
	mc_buf_release(&b);

	rc = mc_chain_anchored(t, rs.height + 1, &an, err);
	if (rc < 0)
		return -1;
	if (rc == MC_NOTFOUND)
		return mc_err_set(err, EX_TEMPFAIL,
				  _("block %llu is not covered by a confirmed anchor yet: run 'medchain anchor'"),
				  (unsigned long long)rs.height);
	if (entry_paths(t, &rs, p, err) != 0 || block_paths(t, rs.height, rs.tx_index, p, err) != 0 ||
	    mc_chain_validators_at(t, rs.height, p->validators, &p->nvalidators, err) != 0)
		return -1;
	p->leaf_index = rs.height;
	p->tree_size = an.a.tree_size;
	if (mc_ctree_inclusion(t, rs.height, an.a.tree_size, p->tree_path, &p->tree_path_len, err) != 0)
		return -1;
	memcpy(p->root, an.a.root, MC_HASH_LEN);
	p->public_chain_id = an.a.public_chain_id;
	memcpy(p->anchor_tx, an.a.tx_hash, 32);
	p->anchor_block = an.a.block_number;
	memcpy(p->anchor_block_hash, an.a.block_hash, 32);
	memcpy(p->anchor_address, an.a.address, 20);
	return 0;
}

/* ---- canonical JSON ------------------------------------------------------- */

static void put_str(struct mc_buf *b, const char *s)
{
	mc_put_raw(b, s, strlen(s));
}

static void put_hex(struct mc_buf *b, const char *prefix, const uint8_t *p, size_t n)
{
	char *h = malloc(2 * n + 1);

	if (!h) {
		b->failed = true;
		return;
	}
	mc_hex(p, n, h);
	put_str(b, "\"");
	put_str(b, prefix);
	put_str(b, h);
	put_str(b, "\"");
	free(h);
}

static void put_num(struct mc_buf *b, uint64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%llu", (unsigned long long)v);
	put_str(b, s);
}

static void put_path(struct mc_buf *b, const uint8_t (*path)[MC_HASH_LEN], size_t n)
{
	put_str(b, "[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			put_str(b, ",");
		put_hex(b, "", path[i], MC_HASH_LEN);
	}
	put_str(b, "]");
}

void mc_proof_render(const struct mc_proof *p, struct mc_buf *b)
{
	put_str(b, "{\"format\":\"" MC_PROOF_FORMAT "\",\"chain_id\":");
	put_hex(b, "", p->chain_id, MC_HASH_LEN);
	put_str(b, ",\"record\":{\"id\":");
	put_hex(b, "", p->record, MC_RECORD_ID_LEN);
	put_str(b, ",\"version\":");
	put_num(b, p->version);
	put_str(b, ",\"entry\":");
	put_hex(b, "", p->entry, p->entry_len);
	put_str(b, "},\"entry_proof\":{\"index\":");
	put_num(b, p->entry_index);
	put_str(b, ",\"count\":");
	put_num(b, p->entry_count);
	put_str(b, ",\"path\":");
	put_path(b, (const uint8_t (*)[MC_HASH_LEN])p->entry_path, p->entry_path_len);
	put_str(b, "},\"transaction\":{\"tx\":");
	put_hex(b, "", p->tx, p->tx_len);
	put_str(b, ",\"index\":");
	put_num(b, p->tx_index);
	put_str(b, ",\"count\":");
	put_num(b, p->tx_count);
	put_str(b, ",\"path\":");
	put_path(b, (const uint8_t (*)[MC_HASH_LEN])p->tx_path, p->tx_path_len);
	put_str(b, "},\"block\":{\"header\":");
	put_hex(b, "", p->header, MC_HEADER_LEN);
	put_str(b, ",\"certificate\":");
	put_hex(b, "", p->cert, p->cert_len);
	put_str(b, ",\"validators\":");
	put_path(b, (const uint8_t (*)[MC_HASH_LEN])p->validators, p->nvalidators);
	put_str(b, "},\"chain_tree\":{\"leaf_index\":");
	put_num(b, p->leaf_index);
	put_str(b, ",\"tree_size\":");
	put_num(b, p->tree_size);
	put_str(b, ",\"path\":");
	put_path(b, (const uint8_t (*)[MC_HASH_LEN])p->tree_path, p->tree_path_len);
	put_str(b, ",\"root\":");
	put_hex(b, "", p->root, MC_HASH_LEN);
	put_str(b, "},\"anchor\":{\"public_chain_id\":");
	put_num(b, p->public_chain_id);
	put_str(b, ",\"tx_hash\":");
	put_hex(b, "0x", p->anchor_tx, 32);
	put_str(b, ",\"block_number\":");
	put_num(b, p->anchor_block);
	put_str(b, ",\"block_hash\":");
	put_hex(b, "0x", p->anchor_block_hash, 32);
	put_str(b, ",\"address\":");
	put_hex(b, "0x", p->anchor_address, 20);
	put_str(b, "}}\n");
}

/* ---- parsing ------------------------------------------------------------- */

static const cJSON *member(const cJSON *o, const char *name)
{
	return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, name) : NULL;
}

static bool get_u64(const cJSON *o, const char *name, uint64_t max, uint64_t *out)
{
	const cJSON *v = member(o, name);

	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > (double)max ||
	    v->valuedouble != (double)(uint64_t)v->valuedouble)
		return false;
	*out = (uint64_t)v->valuedouble;
	return true;
}

static bool get_u32(const cJSON *o, const char *name, uint32_t *out)
{
	uint64_t v;

	if (!get_u64(o, name, UINT32_MAX, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Hex string (after an optional required prefix) of exactly n bytes, or of
 * at most n bytes when len is non-NULL. */
static bool get_hex(const cJSON *o, const char *name, const char *prefix, uint8_t *out, size_t n,
		    size_t *len)
{
	const cJSON *v = member(o, name);
	const char *s;
	size_t sl, pl = strlen(prefix);

	if (!cJSON_IsString(v))
		return false;
	s = v->valuestring;
	if (strncmp(s, prefix, pl) != 0)
		return false;
	s += pl;
	sl = strlen(s);
	if (sl % 2 || (len ? sl / 2 > n : sl / 2 != n))
		return false;
	if (len)
		*len = sl / 2;
	return mc_unhex(s, out, sl / 2) == 0;
}

static bool get_path(const cJSON *o, const char *name, uint8_t (*path)[MC_HASH_LEN], size_t max,
		     size_t *n)
{
	const cJSON *a = member(o, name), *it;
	size_t i = 0;

	if (!cJSON_IsArray(a) || (size_t)cJSON_GetArraySize(a) > max)
		return false;
	cJSON_ArrayForEach(it, a) {
		if (!cJSON_IsString(it) || strlen(it->valuestring) != 2 * MC_HASH_LEN ||
		    mc_unhex(it->valuestring, path[i], MC_HASH_LEN) != 0)
			return false;
		i++;
	}
	*n = i;
	return true;
}

int mc_proof_parse(const char *text, size_t n, struct mc_proof *p, struct mc_err *err)
{
	cJSON *root;
	const cJSON *rec, *ep, *tx, *blk, *ct, *an, *fmt;
	uint64_t v = 0;
	struct mc_buf b;
	bool ok;

	free(p->tx);
	memset(p, 0, sizeof(*p));
	if (n > MC_PROOF_MAX)
		return step_fail(err, "format", _("the bundle is too large"));
	root = cJSON_ParseWithLength(text, n);
	if (!root)
		return step_fail(err, "format", _("not JSON"));
	fmt = member(root, "format");
	rec = member(root, "record");
	ep = member(root, "entry_proof");
	tx = member(root, "transaction");
	blk = member(root, "block");
	ct = member(root, "chain_tree");
	an = member(root, "anchor");
	ok = cJSON_IsString(fmt) && strcmp(fmt->valuestring, MC_PROOF_FORMAT) == 0 &&
	     get_hex(root, "chain_id", "", p->chain_id, MC_HASH_LEN, NULL) &&
	     get_hex(rec, "id", "", p->record, MC_RECORD_ID_LEN, NULL) &&
	     get_u32(rec, "version", &p->version) &&
	     get_hex(rec, "entry", "", p->entry, sizeof(p->entry), &p->entry_len) &&
	     get_u32(ep, "index", &p->entry_index) && get_u32(ep, "count", &p->entry_count) &&
	     get_path(ep, "path", p->entry_path, MC_MERKLE_MAX_PROOF, &p->entry_path_len) &&
	     get_u32(tx, "index", &p->tx_index) && get_u32(tx, "count", &p->tx_count) &&
	     get_path(tx, "path", p->tx_path, MC_MERKLE_MAX_PROOF, &p->tx_path_len) &&
	     get_hex(blk, "header", "", p->header, MC_HEADER_LEN, NULL) &&
	     get_hex(blk, "certificate", "", p->cert, sizeof(p->cert), &p->cert_len) &&
	     get_path(blk, "validators", p->validators, MC_MAX_VALIDATORS, &p->nvalidators) &&
	     get_u64(ct, "leaf_index", UINT64_C(1) << 53, &p->leaf_index) &&
	     get_u64(ct, "tree_size", UINT64_C(1) << 53, &p->tree_size) &&
	     get_path(ct, "path", p->tree_path, MC_MERKLE_MAX_PROOF, &p->tree_path_len) &&
	     get_hex(ct, "root", "", p->root, MC_HASH_LEN, NULL) &&
	     get_u64(an, "public_chain_id", UINT64_C(1) << 53, &p->public_chain_id) &&
	     get_hex(an, "tx_hash", "0x", p->anchor_tx, 32, NULL) &&
	     get_u64(an, "block_number", UINT64_C(1) << 53, &v) &&
	     get_hex(an, "block_hash", "0x", p->anchor_block_hash, 32, NULL) &&
	     get_hex(an, "address", "0x", p->anchor_address, 20, NULL);
	p->anchor_block = v;
	if (ok) {
		const cJSON *t = member(tx, "tx");

		ok = cJSON_IsString(t) && strlen(t->valuestring) % 2 == 0 &&
		     strlen(t->valuestring) / 2 <= MC_PROOF_TX_MAX && strlen(t->valuestring) > 0 &&
		     (p->tx = malloc(strlen(t->valuestring) / 2)) != NULL &&
		     mc_unhex(t->valuestring, p->tx, strlen(t->valuestring) / 2) == 0;
		if (p->tx)
			p->tx_len = strlen(t->valuestring) / 2;
	}
	cJSON_Delete(root);
	if (!ok)
		return step_fail(err, "format", _("a field is missing or malformed"));
	/* Only the canonical rendering is a bundle: any other byte fails. */
	mc_buf_init(&b);
	mc_proof_render(p, &b);
	ok = !mc_buf_failed(&b) && b.len == n && memcmp(b.data, text, n) == 0;
	mc_buf_release(&b);
	if (!ok)
		return step_fail(err, "format", _("not the canonical encoding of a bundle"));
	return 0;
}

/* ---- checks -------------------------------------------------------------- */

void mc_proof_payload(const struct mc_proof *p, uint8_t *out)
{
	mc_anchor_payload(p->chain_id, p->tree_size, p->root, out);
}

int mc_proof_check(const struct mc_proof *p, struct mc_err *err)
{
	struct mc_entry e;
	struct mc_tx tx;
	struct mc_put put;
	struct mc_header h;
	struct mc_cert c;
	struct mc_rd r;
	struct mc_err sub = { 0 };
	uint8_t leaf[MC_HASH_LEN], th[MC_HASH_LEN], bh[MC_HASH_LEN], vh[MC_HASH_LEN];

	mc_rd_init(&r, p->entry, p->entry_len);
	if (mc_entry_read(&r, &e, &sub) != 0 || !mc_rd_finish(&r))
		return step_fail(err, "entry", _("not a record entry"));
	if (memcmp(e.id, p->record, MC_RECORD_ID_LEN) != 0 || e.version != p->version)
		return step_fail(err, "entry", _("the entry is another record or version"));
	if (mc_tx_decode(p->tx, p->tx_len, &tx, &sub) != 0 || tx.type != MC_TX_RECORD_PUT ||
	    tx.attach_len != 0 || mc_put_decode(tx.body, tx.body_len, &put, &sub) != 0)
		return step_fail(err, "transaction", _("not a signed RECORD_PUT"));
	if (put.count != p->entry_count)
		return step_fail(err, "transaction", _("the entry count differs from the signed one"));
	mc_entry_leaf(&e, leaf);
	if (mc_merkle_verify_inclusion(leaf, p->entry_index, p->entry_count,
				       (const uint8_t (*)[MC_HASH_LEN])p->entry_path, p->entry_path_len,
				       put.entries_root) != 0)
		return step_fail(err, "entry path", _("the entry does not lead to the signed entries root"));
	if (mc_tx_verify_sig(&tx, p->chain_id) != 0)
		return step_fail(err, "transaction signature", _("the author's signature does not hold"));
	mc_rd_init(&r, p->header, MC_HEADER_LEN);
	if (mc_header_decode(&r, &h, &sub) != 0 || !mc_rd_finish(&r))
		return step_fail(err, "block header", _("not a block header"));
	if (memcmp(h.chain_id, p->chain_id, MC_HASH_LEN) != 0 || h.height != p->leaf_index ||
	    h.tx_count != p->tx_count || h.height == 0)
		return step_fail(err, "block header", _("the header is of another chain, height or size"));
	mc_tx_hash(&tx, th);
	mc_merkle_leaf_hash(th, MC_HASH_LEN, leaf);
	if (mc_merkle_verify_inclusion(leaf, p->tx_index, p->tx_count,
				       (const uint8_t (*)[MC_HASH_LEN])p->tx_path, p->tx_path_len,
				       h.tx_root) != 0)
		return step_fail(err, "transaction path", _("the transaction does not lead to the block's tx root"));
	mc_block_hash(&h, bh);
	mc_rd_init(&r, p->cert, p->cert_len);
	if (mc_cert_decode(&r, &c, &sub) != 0 || !mc_rd_finish(&r))
		return step_fail(err, "block certificate", _("not a certificate"));
	mc_valset_hash((const uint8_t (*)[MC_PK_LEN])p->validators, p->nvalidators, vh);
	if (memcmp(vh, h.valset_hash, MC_HASH_LEN) != 0)
		return step_fail(err, "block certificate", _("the validators are not the block's validator set"));
	if (mc_cert_check(&c, bh, (const uint8_t (*)[MC_PK_LEN])p->validators, p->nvalidators, &sub) != 0)
		return step_fail(err, "block certificate", sub.msg);
	mc_merkle_leaf_hash(bh, MC_HASH_LEN, leaf);
	if (mc_merkle_verify_inclusion(leaf, p->leaf_index, p->tree_size,
				       (const uint8_t (*)[MC_HASH_LEN])p->tree_path, p->tree_path_len,
				       p->root) != 0)
		return step_fail(err, "chain tree path", _("the block does not lead to the anchored root"));
	return 0;
}
